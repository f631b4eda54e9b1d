/* Linux transparent interception: the original destination of a
 * connection redirected by iptables/nft REDIRECT, and sockets for UDP
 * taken by TPROXY. Only the
 * platform calls live here; the flows they feed are the client's. */
#ifndef REDIR_REDIR_H
#define REDIR_REDIR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../common/addr.h"

/* The destination a redirected connection was meant for. 0 or -errno. */
int redir_original_dst(int fd, struct sockaddr_storage *dst);

/* A non-blocking UDP socket for TPROXY (IP_TRANSPARENT, original
 * destination reported with each datagram); -1 with err set. */
int redir_listen_udp(const struct addr *a, char *err, size_t n);
/* Room for the control message that carries a datagram's original
 * destination. */
#define REDIR_UDP_CTL_LEN CMSG_SPACE(sizeof(struct sockaddr_in6))
/* The original destination of a datagram that fd received with msg. */
void redir_udp_dst(int fd, const struct msghdr *msg,
		   struct sockaddr_storage *dst);
/* A UDP socket bound to a foreign address, to send replies from it
 * (IP_TRANSPARENT); -1 with errno. */
int redir_reply_socket(const struct sockaddr_storage *from);

#endif
