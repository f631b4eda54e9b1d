/* The tunnel's result codes (PROTO_*, the SOCKS5 REP values) for what
 * connect() or sendto() said. */
#ifndef COMMON_ERRCODE_H
#define COMMON_ERRCODE_H

#include <stdint.h>

/* A SOCKS5 REP code for an errno from connect(). */
uint8_t errno_to_code(int err);
/* The enum proto_reason that goes with it (REASON_NONE: the code says
 * it all). */
uint8_t errno_to_reason(int err);

#endif
