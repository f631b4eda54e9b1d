/* Datagrams read in batches: see dgram.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "dgram.h"
#include "util.h"

struct dgram_batch {
	size_t room, max_len, ctl_len, slot;
	struct mmsghdr msg[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	struct sockaddr_storage from[DGRAM_BATCH];
	uint8_t *ctl;
	uint8_t *mem;        /* DGRAM_BATCH slots of room + max_len bytes */
	unsigned too_long;   /* in the last dgram_each() */
	size_t too_long_len; /* the first one's real length */
};

struct dgram_batch *dgram_batch_new(size_t room, size_t max_len, size_t ctl_len)
{
	struct dgram_batch *b = xcalloc(1, sizeof(*b));

	/* each slot: room bytes, then the datagram; 8-byte multiples */
	b->slot = (room + max_len + 7) & ~(size_t)7;
	b->room = room;
	b->max_len = max_len;
	b->ctl_len = ctl_len;
	/* malloc, not calloc: pages nobody writes stay out of the RSS */
	b->mem = xmalloc(b->slot * DGRAM_BATCH);
	if (ctl_len)
		b->ctl = xmalloc(ctl_len * DGRAM_BATCH);
	for (int i = 0; i < DGRAM_BATCH; i++) {
		b->iov[i].iov_base = b->mem + i * b->slot + room;
		b->iov[i].iov_len = max_len;
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
	}
	return b;
}

void dgram_batch_free(struct dgram_batch *b)
{
	if (!b)
		return;
	free(b->ctl);
	free(b->mem);
	free(b);
}

int dgram_recv(struct dgram_batch *b, int fd)
{
	int n;

	/* the kernel writes the lengths back: set them for every call */
	for (int i = 0; i < DGRAM_BATCH; i++) {
		struct msghdr *m = &b->msg[i].msg_hdr;

		m->msg_name = &b->from[i];
		m->msg_namelen = sizeof(b->from[i]);
		m->msg_control = b->ctl ? b->ctl + i * b->ctl_len : NULL;
		m->msg_controllen = b->ctl_len;
		m->msg_flags = 0;
	}
	/* MSG_TRUNC: a datagram longer than max_len reports its real
	 * length, for the log line that says why it was dropped */
	do {
		n = recvmmsg(fd, b->msg, DGRAM_BATCH, MSG_DONTWAIT | MSG_TRUNC,
			     NULL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? 0 : n;
}

void dgram_each(struct dgram_batch *b, int fd, dgram_fn fn, void *arg)
{
	int n = DGRAM_BATCH;

	b->too_long = 0;
	for (int round = 0; round < DGRAM_ROUNDS && n == DGRAM_BATCH; round++) {
		n = dgram_recv(b, fd);
		for (int i = 0; i < n; i++) {
			struct dgram d;

			if (dgram_get(b, i, &d)) {
				if (!b->too_long++)
					b->too_long_len = b->msg[i].msg_len;
				continue;
			}
			if (fn(arg, &d))
				return;
		}
	}
}

unsigned dgram_too_long(const struct dgram_batch *b, size_t *len)
{
	*len = b->too_long ? b->too_long_len : 0;
	return b->too_long;
}

int dgram_get(const struct dgram_batch *b, int i, struct dgram *d)
{
	const struct mmsghdr *m = &b->msg[i];

	if (m->msg_hdr.msg_flags & MSG_TRUNC)
		return -1;
	d->data = b->iov[i].iov_base;
	d->len = m->msg_len;
	d->from = &b->from[i];
	d->from_len = m->msg_hdr.msg_namelen;
	d->msg = &m->msg_hdr;
	return 0;
}
