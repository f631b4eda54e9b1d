/* Running another program from a subcommand and waiting for it. */
#include "run_prog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *run_prog_find(const char *prog)
{
	static char found[PATH_MAX];
	const char *path = getenv("PATH");
	char *dirs, *d, *save = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? prog : NULL;
	dirs = malloc(strlen(path ? path : "") + sizeof(":/usr/sbin:/sbin"));
	if (!dirs)
		return NULL;
	sprintf(dirs, "%s:/usr/sbin:/sbin", path ? path : "");
	for (d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (snprintf(found, sizeof(found), "%s/%s", d, prog) <
			    (int)sizeof(found) &&
		    access(found, X_OK) == 0) {
			free(dirs);
			return found;
		}
	}
	free(dirs);
	return NULL;
}

/* In the child: stdin from /dev/null, stdout and stderr to FD. */
static void __attribute__((noreturn))
child(const char *file, const char *const argv[], int fd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execv(file, (char *const *)argv);
	_exit(127);
}

int run_prog(const char *const argv[], char *out, size_t n)
{
	const char *file = run_prog_find(argv[0]);
	int p[2] = { -1, -1 }, status;
	char sink[256];
	size_t len = 0;
	ssize_t r;
	pid_t pid;

	if (out && n)
		out[0] = '\0';
	if (!file)
		return 127;
	fflush(NULL);
	if (out ? pipe2(p, O_CLOEXEC) < 0 :
		  (p[1] = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return 127;
	pid = fork();
	if (pid == 0)
		child(file, argv, p[1]);
	close(p[1]);
	/* read to EOF even past N, so the child never blocks on a pipe */
	while (out) {
		size_t room = n > len + 1 ? n - 1 - len : 0;

		r = read(p[0], room ? out + len : sink,
			 room ? room : sizeof(sink));
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
		if (r > 0 && room)
			len += (size_t)r;
	}
	if (out && n)
		out[len] = '\0';
	if (out)
		close(p[0]);
	if (pid < 0)
		return 127;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
