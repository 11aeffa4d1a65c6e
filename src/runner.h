/* The one way adenroll runs another program: hooks (hooks.h), the system
 * trust update (anchors.h), doctor's systemctl probes.  A program runs as
 * the caller's user but with none of the run's state: a clean environment
 * (nothing of ours, KRB5CCNAME with the machine's ticket least of all), no
 * descriptor beyond stdin/stdout/stderr (the run lock, LDAP and HTTPS
 * sockets, key files stay ours), stdin /dev/null, working directory /,
 * default signal handling, and its own process group, so that a timeout
 * stops it and everything it started.  Its output is read here and logged
 * line by line, so nothing reaches our stdout (--json) and nothing is lost.
 * The run lock is held while it runs: hence a timeout for every program. */
#ifndef ADENROLL_RUNNER_H
#define ADENROLL_RUNNER_H

#include <stddef.h>

/* The PATH a program gets, and where a bare argv[0] is looked up. */
#define RUNNER_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* After SIGTERM at the timeout, how long the group has before SIGKILL. */
#define RUNNER_KILL_GRACE_MS 2000
/* Output logged per program; the rest is read and dropped. */
#define RUNNER_MAX_LOGGED 65536

struct runner_cmd {
	const char *const *argv;   /* argv[0]: an absolute path, or a name looked up in RUNNER_PATH */
	const char *const *envp;   /* the whole environment; NULL: PATH=RUNNER_PATH alone */
	unsigned timeout_seconds;  /* > 0: then SIGTERM to its process group, SIGKILL after the grace */
	const char *log_name;      /* output lines are logged (info) as "<log_name>: <line>" */
	char *capture;             /* when set: stdout goes here (NUL-terminated, cut at capture_len - 1) */
	size_t capture_len;        /* instead of the log; stderr is logged either way */
};

enum runner_end {
	RUNNER_EXITED,          /* code: its exit status */
	RUNNER_SIGNALED,        /* code: the signal that ended it */
	RUNNER_TIMED_OUT,       /* killed with its process group at the timeout */
	RUNNER_NOT_STARTED,     /* code: errno (fork, pipe, or exec: ENOENT, EACCES, ...) */
};

struct runner_result {
	enum runner_end end;
	int code;
};

/* Runs cmd to its end (or its timeout).  0 when it exited with status 0,
 * -1 otherwise; nothing about the outcome is logged (the caller knows what
 * the program was for; runner_describe words it). */
int runner_run(const struct runner_cmd *cmd, struct runner_result *res);

/* "exited with status 3", "was killed by signal 9 (Killed)", "did not
 * finish within 60 s: killed it and its process group", "could not be
 * started: No such file or directory". */
void runner_describe(const struct runner_result *res, unsigned timeout_seconds, char *buf, size_t len);

#endif
