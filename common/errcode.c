#include "errcode.h"

#include <errno.h>

#include "frame.h"

uint8_t errno_to_code(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return PROTO_CONN_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return PROTO_NET_UNREACHABLE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return PROTO_HOST_UNREACHABLE;
	case ETIMEDOUT:
		return PROTO_TTL_EXPIRED;
	case EACCES:
	case EPERM:
		return PROTO_NOT_ALLOWED;
	case EAFNOSUPPORT:
		return PROTO_ATYP_UNSUPPORTED;
	default:
		return PROTO_GENERAL_FAILURE;
	}
}

uint8_t errno_to_reason(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		return REASON_FIREWALL;
	case ETIMEDOUT:
		return REASON_TIMEOUT;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return REASON_LIMIT;
	default:
		return REASON_NONE;
	}
}
