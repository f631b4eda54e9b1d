/* Datagrams read in batches.
 *
 * One recvmmsg() takes up to DGRAM_BATCH datagrams: a wake-up costs one
 * system call, and none goes to a read that only says "nothing left" (a
 * batch that came back short emptied the socket; epoll is level-triggered
 * and calls again if more arrived since). That read was on the path of
 * every datagram of a game or a DNS query, in both relays.
 *
 * Each datagram lands behind `room` free bytes, where the caller writes
 * its frame header in place: the payload is copied only by the kernel. */
#ifndef COMMON_DGRAM_H
#define COMMON_DGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DGRAM_BATCH 8

struct dgram_batch;

struct dgram {
	uint8_t *data; /* room bytes free before it */
	size_t len;
	const struct sockaddr_storage *from;
	socklen_t from_len;
	const struct msghdr *msg; /* for its control messages */
};

/* A batch for datagrams of up to max_len bytes (longer ones are dropped),
 * each with room bytes in front; ctl_len bytes of control messages per
 * datagram (0: none asked for). */
struct dgram_batch *dgram_batch_new(size_t room, size_t max_len,
				    size_t ctl_len);
void dgram_batch_free(struct dgram_batch *b);

/* Reads what fd holds, up to DGRAM_BATCH datagrams: how many (0 when
 * there were none, or on an error). When it returns DGRAM_BATCH, more
 * may be waiting. */
int dgram_recv(struct dgram_batch *b, int fd);

/* Datagram i of the last dgram_recv(): 0, or -1 if it was too long. */
int dgram_get(const struct dgram_batch *b, int i, struct dgram *d);

/* The callback of dgram_each(): 0 to go on, anything else to stop. */
typedef int (*dgram_fn)(void *arg, const struct dgram *d);

/* What a readable socket holds, batch after batch, each datagram that
 * fits to fn; at most DGRAM_ROUNDS batches, so that the other sockets
 * of the event loop get their turn. */
#define DGRAM_ROUNDS 8
void dgram_each(struct dgram_batch *b, int fd, dgram_fn fn, void *arg);
/* How many datagrams the last dgram_each() dropped for being longer
 * than max_len, and in *len the real length of the first of them. */
unsigned dgram_too_long(const struct dgram_batch *b, size_t *len);

#endif
