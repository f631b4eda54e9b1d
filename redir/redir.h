/* Linux transparent interception: the original destination of a
 * connection redirected by iptables/nft REDIRECT, and sockets for UDP
 * taken by TPROXY. Only the
 * platform calls live here; the flows they feed are the client's. */
#ifndef REDIR_REDIR_H
#define REDIR_REDIR_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../common/addr.h"

/* The destination a redirected connection was meant for. 0 or -errno. */
int redir_original_dst(int fd, struct sockaddr_storage *dst);

/* A non-blocking UDP socket for TPROXY (IP_TRANSPARENT, original
 * destination reported with each datagram); -1 with err set. */
int redir_listen_udp(const struct addr *a, char *err, size_t n);
/* One datagram with its source and original destination; bytes, or -1
 * with errno (EAGAIN when drained). */
ssize_t redir_recv_udp(int fd, void *buf, size_t len,
		       struct sockaddr_storage *src,
		       struct sockaddr_storage *dst);
/* A UDP socket bound to a foreign address, to send replies from it
 * (IP_TRANSPARENT); -1 with errno. */
int redir_reply_socket(const struct sockaddr_storage *from);

#endif
