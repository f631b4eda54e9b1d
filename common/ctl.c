#include "ctl.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "status.h"
#include "util.h"

#define CMD_MAX 256
#define REPLY_MAX (64u << 20)
#define CONN_TIMEOUT 5.0

struct ctl {
	struct ev_loop *loop;
	ev_io io;
	ctl_status_fn fn;
	void *arg;
	char *path;
	int janitor; /* write end of the janitor's pipe, or -1 */
	pid_t janitor_pid;
	struct ctl_conn *conns;
};

struct ctl_conn {
	struct ctl *ctl;
	ev_io io;
	ev_timer timer;
	char cmd[CMD_MAX];
	size_t len;
	struct buf out;
	struct ctl_conn *next, **pprev;
};

static void conn_free(struct ctl_conn *c)
{
	ev_io_stop(c->ctl->loop, &c->io);
	ev_timer_stop(c->ctl->loop, &c->timer);
	close(c->io.fd);
	buf_release(&c->out);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	free(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *c = container_of(w, struct ctl_conn, io);
	ssize_t n = write(w->fd, buf_peek(&c->out), buf_len(&c->out));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		buf_consume(&c->out, (size_t)n);
	if (n <= 0 || !buf_len(&c->out))
		conn_free(c);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *c = container_of(w, struct ctl_conn, io);
	ssize_t n = read(w->fd, c->cmd + c->len, sizeof(c->cmd) - 1 - c->len);
	char *nl;
	int json;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	c->len += (size_t)n;
	c->cmd[c->len] = 0;
	nl = strchr(c->cmd, '\n');
	if (!nl && c->len < sizeof(c->cmd) - 1)
		return;
	if (nl)
		*nl = 0;
	json = !strcmp(c->cmd, "status json");
	if (json || !strcmp(c->cmd, "status"))
		c->ctl->fn(c->ctl->arg, &c->out, json);
	else
		status_printf(&c->out,
			      "unknown command '%s' (status, status "
			      "json)\n",
			      c->cmd);
	ev_io_stop(loop, w);
	ev_io_init(w, write_cb, w->fd, EV_WRITE);
	ev_io_start(loop, w);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	conn_free(container_of(w, struct ctl_conn, timer));
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl *ctl = container_of(w, struct ctl, io);
	struct ctl_conn *c;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	buf_init(&c->out, REPLY_MAX);
	c->next = ctl->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &ctl->conns;
	ctl->conns = c;
	ev_io_init(&c->io, read_cb, fd, EV_READ);
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timer, timeout_cb, CONN_TIMEOUT, 0.);
	ev_timer_start(loop, &c->timer);
}

static int fill_addr(const char *path, struct sockaddr_un *sun, char *err,
		     size_t n)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, n, "%s: path too long for a socket", path);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/* Whether a live daemon answers on the socket at path. */
static int in_use(const char *path)
{
	struct sockaddr_un sun;
	char err[256];
	int fd, rc;

	if (fill_addr(path, &sun, err, sizeof(err)))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = !connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc;
}

int ctl_check_free(const char *path, const char *conf_path, int named,
		   const char *prog, char *err, size_t n)
{
	const char *base = strrchr(conf_path, '/');

	if (!path[0] || !in_use(path))
		return 0;
	if (named) {
		snprintf(err, n,
			 "%s: control socket %s: another running "
			 "daemon answers there; give this one its own path "
			 "('control PATH', or 'control none')",
			 conf_path, path);
		return -1;
	}
	snprintf(err, n,
		 "%s: the default control socket %s is taken by "
		 "another running %s whose config has the same file name "
		 "(%s); give this one its own: add 'control PATH' (or "
		 "'control none') to %s",
		 conf_path, path, prog, base ? base + 1 : conf_path, conf_path);
	return -1;
}

struct ctl *ctl_open(struct ev_loop *loop, const char *path, ctl_status_fn fn,
		     void *arg, char *err, size_t n)
{
	struct sockaddr_un sun;
	struct ctl *c;
	mode_t old;
	int fd;

	if (fill_addr(path, &sun, err, n))
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "control socket: %s", strerror(errno));
		return NULL;
	}
	/* A live daemon keeps its socket; a stale file is ours to take. */
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		snprintf(err, n, "%s: another daemon answers there", path);
		close(fd);
		return NULL;
	}
	close(fd);
	unlink(path);
	old = umask(0177); /* 0600: status shows who goes where */
	fd = socket_bound(SOCK_STREAM, (struct sockaddr *)&sun, sizeof(sun), 0);
	umask(old);
	if (fd < 0 || listen(fd, 16)) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->fn = fn;
	c->arg = arg;
	c->path = xstrdup(path);
	c->janitor = -1;
	ev_io_init(&c->io, accept_cb, fd, EV_READ);
	ev_io_start(loop, &c->io);
	return c;
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_free(c->conns);
	ev_io_stop(c->loop, &c->io);
	close(c->io.fd);
	if (c->janitor >= 0) {
		/* it removes the socket now; reaped here, not left to init */
		close(c->janitor);
		while (waitpid(c->janitor_pid, NULL, 0) < 0 && errno == EINTR)
			;
	} else {
		unlink(c->path);
	}
	free(c->path);
	free(c);
}

/* Waits for every write end of the pipe to close (the daemon is gone,
 * however it went), then removes the socket if the name is still the
 * one the daemon bound: a successor may have bound it anew. */
static void __attribute__((noreturn))
janitor(int pipe_rd, int dir, const char *name, const struct stat *sock)
{
	struct stat st;
	long fd, max = sysconf(_SC_OPEN_MAX);
	char b;

	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (fd = 0; fd < (max > 0 ? max : 1024); fd++)
		if (fd != pipe_rd && fd != dir)
			close((int)fd);
	while (read(pipe_rd, &b, 1) < 0 && errno == EINTR)
		;
	if (!fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) &&
	    st.st_dev == sock->st_dev && st.st_ino == sock->st_ino)
		unlinkat(dir, name, 0);
	_exit(0);
}

int ctl_keep_removable(struct ctl *c, char *err, size_t n)
{
	const char *slash = strrchr(c->path, '/');
	const char *name = slash ? slash + 1 : c->path;
	char *dir = slash ? xstrdup(c->path) : NULL;
	struct stat sock;
	int p[2] = { -1, -1 }, dfd;
	pid_t pid = -1;

	if (dir)
		dir[slash == c->path ? 1 : slash - c->path] = 0;
	dfd = open(dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd >= 0 && !fstatat(dfd, name, &sock, AT_SYMLINK_NOFOLLOW) &&
	    !pipe2(p, O_CLOEXEC))
		pid = fork();
	if (pid == 0) {
		close(p[1]);
		janitor(p[0], dfd, name, &sock);
	}
	if (pid < 0)
		snprintf(err, n, "%s: no helper to remove it at exit: %s",
			 c->path, strerror(errno));
	if (p[0] >= 0)
		close(p[0]);
	if (dfd >= 0)
		close(dfd);
	if (pid < 0) {
		if (p[1] >= 0)
			close(p[1]);
		return -1;
	}
	c->janitor = p[1];
	c->janitor_pid = pid;
	return 0;
}

int ctl_query(const char *path, const char *cmd, char *err, size_t n)
{
	struct sockaddr_un sun;
	char buf[65536];
	ssize_t r;
	int fd;

	if (fill_addr(path, &sun, err, n))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		snprintf(err, n, "%s: %s (is the daemon running?)", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) < 0 || write(fd, "\n", 1) < 0) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, stdout);
	close(fd);
	return 0;
}

int ctl_status_main(const char *prog, ctl_path_fn path_of, int argc,
		    char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *control = NULL;
	char *path, err[CONF_ERR_MAX];
	int json = 0, c, rc;

	while ((c = getopt_long(argc, argv, "c:j", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			control = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			fprintf(stderr,
				"usage: %s status [-c FILE | --control "
				"PATH] [--json]\n",
				prog);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s status: unexpected '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (!control && !config) {
		fprintf(stderr,
			"%s status: give the config file (-c FILE) or "
			"the socket (--control PATH)\n",
			prog);
		return 2;
	}
	path = control ? xstrdup(control) : path_of(config, err, sizeof(err));
	if (!path) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	if (!path[0]) {
		fprintf(stderr, "%s status: %s has 'control none'\n", prog,
			config);
		free(path);
		return 1;
	}
	rc = ctl_query(path, json ? "status json" : "status", err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s status: %s\n", prog, err);
	free(path);
	return rc ? 1 : 0;
}

void ctl_default_path(const char *prog, const char *conf_path, char *out,
		      size_t n)
{
	const char *base = strrchr(conf_path, '/');
	const char *dir = getenv("XDG_RUNTIME_DIR");
	size_t len;
	char name[128];

	base = base ? base + 1 : conf_path;
	/* alice.conf -> alice; my.profile.conf -> my.profile */
	len = strrchr(base, '.') && strrchr(base, '.') != base ?
		      (size_t)(strrchr(base, '.') - base) :
		      strlen(base);
	snprintf(name, sizeof(name), "%s-%.*s.sock", prog, (int)MIN(len, 64),
		 base);
	if (!geteuid()) {
		mkdir("/run/proxy", 0700);
		snprintf(out, n, "/run/proxy/%s", name);
	} else if (dir && dir[0]) {
		snprintf(out, n, "%s/%s", dir, name);
	} else {
		snprintf(out, n, "/tmp/%u-%s", (unsigned)geteuid(), name);
	}
}
