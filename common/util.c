#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void oom(size_t n)
{
	fprintf(stderr, "out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *read_file(const char *path, size_t max, size_t *lenp)
{
	size_t len = 0, size;
	struct stat st;
	ssize_t n = 1;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	e = fstat(fd, &st) < 0 ? errno : (size_t)st.st_size > max ? EFBIG : 0;
	size = e ? 0 : (size_t)st.st_size;
	buf = xmalloc(size + 1);
	while (!e && len < size && n != 0) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno != EINTR)
			e = errno;
		len += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	if (e) {
		explicit_bzero(buf, size + 1);
		free(buf);
		errno = e;
		return NULL;
	}
	return buf;
}

void malloc_keep_buffers(void)
{
#ifdef __GLIBC__
	/* A flow's buffer (128 KiB up to max-window) comes and goes with
	 * every burst. glibc would give such memory back to the kernel at
	 * once (munmap, or trimming the heap) and take it again for the
	 * next burst, each page a fault that zeroes it: with 8 downloads at
	 * once that halved the client's speed. Blocks below 4 MiB stay in
	 * the heap, and up to 8 MiB of free heap is kept for reuse. */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

int subcommand_run(const char *prog, const struct subcommand *cmds, size_t n,
		   int argc, char **argv)
{
	static char name[64];

	for (size_t i = 0; argc > 1 && i < n; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		snprintf(name, sizeof(name), "%s %s", prog, argv[1]);
		argv[1] = name;
		optind = 1; /* the command's getopt starts at its own argv[1] */
		return cmds[i].run(argc - 1, argv + 1);
	}
	return -1;
}

int socket_bound(int type, const struct sockaddr *sa, socklen_t len, int reuse)
{
	int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, err;

	if (fd < 0)
		return -1;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
