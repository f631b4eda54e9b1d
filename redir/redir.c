#include "redir.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "rules.h"

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>,
 * which clash with the libc headers when included together. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static int open_bound(const struct addr *a, int type, int transparent,
		      char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, off = 0;
	char name[ADDR_STR_MAX];

	addr_str(a, name, sizeof(name));
	if (addr_to_sockaddr(a, &ss, &len)) {
		snprintf(err, n, "%s: not an IP address", name);
		return -1;
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (transparent) {
		/* TPROXY hands us datagrams for other hosts' addresses;
		 * both families, as a [::] socket takes IPv4 too. */
		if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) ||
		    setsockopt(fd, SOL_IP, IP_RECVORIGDSTADDR, &one,
			       sizeof(one)))
			goto fail;
		if (ss.ss_family == AF_INET6 &&
		    (setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one,
				sizeof(one)) ||
		     setsockopt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, &one,
				sizeof(one))))
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len))
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 1024))
		goto fail;
	return fd;
fail:
	snprintf(err, n, "%s: %s%s", name, strerror(errno),
		 errno == EPERM ? " (TPROXY needs root or CAP_NET_ADMIN)" : "");
	if (fd >= 0)
		close(fd);
	return -1;
}

int redir_listen_udp(const struct addr *a, char *err, size_t n)
{
	return open_bound(a, SOCK_DGRAM, 1, err, n);
}

int redir_original_dst(int fd, struct sockaddr_storage *dst)
{
	socklen_t len = sizeof(struct sockaddr_in6);
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &ll))
		return -errno;
	memset(dst, 0, sizeof(*dst));
	/* An IPv4 connection on a dual-stack socket was redirected by the
	 * IPv4 table: ask that one first. */
	len = sizeof(struct sockaddr_in);
	if (!getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &len))
		return 0;
	len = sizeof(struct sockaddr_in6);
	if (local.ss_family == AF_INET6 &&
	    !getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, &len))
		return 0;
	return -errno;
}

void redir_udp_dst(int fd, const struct msghdr *msg,
		   struct sockaddr_storage *dst)
{
	struct cmsghdr *cm;

	memset(dst, 0, sizeof(*dst));
	for (cm = CMSG_FIRSTHDR(msg); cm;
	     cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_ORIGDSTADDR)
			memcpy(dst, CMSG_DATA(cm), sizeof(struct sockaddr_in));
		else if (cm->cmsg_level == SOL_IPV6 &&
			 cm->cmsg_type == IPV6_ORIGDSTADDR)
			memcpy(dst, CMSG_DATA(cm), sizeof(struct sockaddr_in6));
	}
	if (!dst->ss_family) {
		/* not a TPROXY datagram (sent to us directly): its own
		 * local address is where it was going */
		socklen_t sl = sizeof(*dst);

		getsockname(fd, (struct sockaddr *)dst, &sl);
	}
}

int redir_reply_socket(const struct sockaddr_storage *from)
{
	int fd, one = 1, err;

	unsigned mark = REDIR_BYPASS_MARK;

	fd = socket(from->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	/* replies must not be caught by our own rules again */
	setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	/* Several local sources may get replies from the same peer, and
	 * the listener may share the address: allow the duplicate binds. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((from->ss_family == AF_INET ?
		     setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) :
		     setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one,
				sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)from,
		 sockaddr_len(from->ss_family))) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
