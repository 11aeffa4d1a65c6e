/* Running other programs (runner.h). */
#include "adenroll-build.h"

#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LINE_MAX_LOGGED 1024

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Output of one pipe, logged line by line (or kept, for capture). */
struct sink {
	int fd;                 /* -1 once at EOF */
	const char *name;
	char line[LINE_MAX_LOGGED];
	size_t len;
	size_t *logged;         /* shared by both pipes of one program */
	bool *truncated;
	char *capture;          /* NULL: log */
	size_t capture_len, captured;
};

static void sink_flush(struct sink *s)
{
	if (s->len == 0)
		return;
	s->line[s->len] = '\0';
	if (*s->logged < RUNNER_MAX_LOGGED)
		log_info("%s: %s", s->name, s->line);
	else if (!*s->truncated) {
		log_info("%s: (more output not logged)", s->name);
		*s->truncated = true;
	}
	*s->logged += s->len;
	s->len = 0;
}

static void sink_feed(struct sink *s, const char *data, size_t n)
{
	if (s->capture) {
		size_t room = s->capture_len - 1 - s->captured;
		size_t k = n < room ? n : room;
		memcpy(s->capture + s->captured, data, k);
		s->captured += k;
		s->capture[s->captured] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			sink_flush(s);
			continue;
		}
		s->line[s->len++] = data[i];
		if (s->len == sizeof s->line - 1)
			sink_flush(s);
	}
}

/* Reads what is there (non-blocking); closes the pipe at EOF or error. */
static void sink_drain(struct sink *s)
{
	char buf[4096];
	while (s->fd >= 0) {
		ssize_t r = read(s->fd, buf, sizeof buf);
		if (r > 0) {
			sink_feed(s, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(s->fd);
		s->fd = -1;
	}
}

/* A bare name is looked up in RUNNER_PATH here, before the fork. */
static char *resolve(const char *name)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	const char *p = RUNNER_PATH;
	while (*p) {
		size_t n = strcspn(p, ":");
		char *cand = xasprintf("%.*s/%s", (int)n, p, name);
		if (access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* Every descriptor from lowest up (async-signal-safe: no allocation). */
static void close_from(int lowest, long max_fd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowest, ~0u, 0) == 0)
		return;
#endif
	for (long fd = lowest; fd < max_fd; fd++)
		close((int)fd);
}

/* In the child: only async-signal-safe calls.  An exec failure's errno goes
 * back through err_fd (close-on-exec: a successful exec closes it). */
static void child(const char *path, char *const argv[], char *const envp[], int out_fd, int err_out_fd,
		  int err_fd, long max_fd)
{
	sigset_t none;
	int nul, e;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(err_out_fd, STDERR_FILENO) < 0 || dup2(err_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	close_from(4, max_fd);
	if (chdir("/") != 0)
		goto fail;
	execve(path, argv, envp);
fail:
	e = errno;
	if (write(3, &e, sizeof e) < 0) {
		/* nobody to tell */
	}
	_exit(127);
}

int runner_run(const struct runner_cmd *cmd, struct runner_result *res)
{
	static const char *const clean_env[] = { "PATH=" RUNNER_PATH, NULL };
	int out[2] = { -1, -1 }, err_out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct sink sinks[2];
	size_t logged = 0;
	bool truncated = false, exited = false;
	int status = 0, ret = -1;
	char *path = NULL;
	long long deadline;
	long max_fd = sysconf(_SC_OPEN_MAX);
	const char *name = cmd->log_name ? cmd->log_name : cmd->argv[0];

	res->end = RUNNER_NOT_STARTED;
	res->code = 0;
	if (max_fd < 0 || max_fd > 65536)
		max_fd = 65536;
	path = resolve(cmd->argv[0]);
	if (!path) {
		res->code = ENOENT;
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (cmd->capture && pipe2(err_out, O_CLOEXEC) < 0)) {
		res->code = errno;
		goto out;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		res->code = errno;
		goto out;
	}
	if (pid == 0)
		child(path, (char *const *)cmd->argv, (char *const *)(cmd->envp ? cmd->envp : clean_env), out[1],
		      cmd->capture ? err_out[1] : out[1], errp[1], max_fd);
	/* Also here, so that a kill at the timeout cannot race the child's setpgid. */
	setpgid(pid, pid);
	close(out[1]);
	out[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (err_out[1] >= 0) {
		close(err_out[1]);
		err_out[1] = -1;
	}
	log_debug("running %s", path);

	memset(sinks, 0, sizeof sinks);
	for (int i = 0; i < 2; i++) {
		sinks[i].name = name;
		sinks[i].logged = &logged;
		sinks[i].truncated = &truncated;
	}
	sinks[0].fd = out[0];
	out[0] = -1;
	sinks[0].capture = cmd->capture;
	sinks[0].capture_len = cmd->capture_len;
	if (cmd->capture && cmd->capture_len)
		cmd->capture[0] = '\0';
	if (cmd->capture && cmd->capture_len < 1)
		sinks[0].capture = NULL;
	sinks[1].fd = err_out[0];
	err_out[0] = -1;
	for (int i = 0; i < 2; i++)
		if (sinks[i].fd >= 0)
			fcntl(sinks[i].fd, F_SETFL, O_NONBLOCK);

	deadline = cmd->timeout_seconds ? now_ms() + (long long)cmd->timeout_seconds * 1000 : 0;
	res->end = RUNNER_EXITED;
	while (!exited) {
		long long left = deadline ? deadline - now_ms() : 100;
		if (left <= 0) {
			res->end = RUNNER_TIMED_OUT;
			break;
		}
		struct pollfd p[2];
		nfds_t np = 0;
		for (int i = 0; i < 2; i++)
			if (sinks[i].fd >= 0)
				p[np++] = (struct pollfd){ .fd = sinks[i].fd, .events = POLLIN };
		poll(np ? p : NULL, np, left < 100 ? (int)left : 100);
		for (int i = 0; i < 2; i++)
			sink_drain(&sinks[i]);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			exited = true;
		else if (w < 0 && errno != EINTR) {
			res->end = RUNNER_NOT_STARTED;
			res->code = errno;
			break;
		}
	}
	if (!exited) {
		kill(-pid, SIGTERM);
		long long grace = now_ms() + RUNNER_KILL_GRACE_MS;
		while (!exited && now_ms() < grace) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				exited = true;
			else
				poll(NULL, 0, 50);
		}
		/* The whole group: a "sleep &" it started must not outlive it. */
		kill(-pid, SIGKILL);
		if (!exited && waitpid(pid, &status, 0) == pid)
			exited = true;
	}
	/* What it wrote before it ended; children still holding a pipe are
	 * not waited for. */
	for (int i = 0; i < 2; i++) {
		sink_drain(&sinks[i]);
		if (sinks[i].fd >= 0)
			close(sinks[i].fd);
		if (!sinks[i].capture)
			sink_flush(&sinks[i]);
	}
	if (res->end == RUNNER_EXITED) {
		int e = 0;
		if (read(errp[0], &e, sizeof e) == (ssize_t)sizeof e) {
			res->end = RUNNER_NOT_STARTED;
			res->code = e;
		} else if (WIFEXITED(status)) {
			res->code = WEXITSTATUS(status);
			ret = res->code == 0 ? 0 : -1;
		} else if (WIFSIGNALED(status)) {
			res->end = RUNNER_SIGNALED;
			res->code = WTERMSIG(status);
		}
	}
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err_out[i] >= 0)
			close(err_out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(path);
	return ret;
}

void runner_describe(const struct runner_result *res, unsigned timeout_seconds, char *buf, size_t len)
{
	switch (res->end) {
	case RUNNER_EXITED:
		snprintf(buf, len, "exited with status %d", res->code);
		break;
	case RUNNER_SIGNALED:
		snprintf(buf, len, "was killed by signal %d (%s)", res->code, strsignal(res->code));
		break;
	case RUNNER_TIMED_OUT:
		snprintf(buf, len, "did not finish within %u s: killed it and its process group", timeout_seconds);
		break;
	case RUNNER_NOT_STARTED:
		snprintf(buf, len, "could not be started: %s", strerror(res->code));
		break;
	}
}
