/* Small helpers shared by every module. */
#ifndef COMMON_UTIL_H
#define COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* Aborts with a message on allocation failure: a proxy that cannot get
 * a few hundred bytes has no sane way to continue. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A word after the program name that names a command of its own. */
struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
};

/* Runs the command argv[1] names with argv + 1, whose argv[0] then
 * reads "PROG NAME": getopt starts its messages with it, and is set to
 * start at the command's own argv[1]. The command's exit status, or -1
 * when no command has that name. */
int subcommand_run(const char *prog, const struct subcommand *cmds, size_t n,
		   int argc, char **argv);

/* Daemons: keep freed buffer memory for the next burst (see util.c). */
void malloc_keep_buffers(void);

/* A whole file of at most max bytes, NUL-terminated, in one allocation
 * (no stray copy of a key is left in freed memory; the caller wipes it);
 * *lenp gets its length. NULL with errno set: EFBIG when it is larger
 * than max. */
char *read_file(const char *path, size_t max, size_t *lenp);

/* A non-blocking, close-on-exec socket of that type bound to sa (with
 * SO_REUSEADDR first when reuse is set). -1 with errno set when either
 * step failed; nothing is left open then. */
int socket_bound(int type, const struct sockaddr *sa, socklen_t len, int reuse);

#endif
