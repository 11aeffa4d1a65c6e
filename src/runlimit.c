/* The run's time limit: see runlimit.h. */
#include "adenroll-build.h"

#include "runlimit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adenroll.h"
#include "log.h"

static volatile sig_atomic_t expired, armed;
static long limit_seconds, grace;
static char hard_stop_msg[200];
static size_t hard_stop_len;

static void on_alarm(int sig)
{
	(void)sig;
	if (!armed)
		return;
	if (!expired) {
		/* first: ask the run to stop; alarm() is async-signal-safe */
		expired = 1;
		alarm((unsigned)grace);
		return;
	}
	/* second: the run did not stop in time */
	if (write(STDERR_FILENO, hard_stop_msg, hard_stop_len) < 0) {
		/* nothing more can be done from a signal handler */
	}
	_exit(ADENROLL_EXIT_FAILURE);
}

int runlimit_start(long seconds, long grace_seconds)
{
	struct sigaction sa;

	if (seconds <= 0)
		return 0;
	limit_seconds = seconds;
	grace = grace_seconds > 0 ? grace_seconds : 1;
	hard_stop_len = (size_t)snprintf(hard_stop_msg, sizeof hard_stop_msg,
					 "adenroll: error: run_timeout (%ld s) reached and the run did not stop "
					 "within %ld s more: exiting now; the next run completes what was left\n",
					 seconds, grace);
	if (hard_stop_len >= sizeof hard_stop_msg)
		hard_stop_len = sizeof hard_stop_msg - 1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART; /* blocking calls go on; the waits poll runlimit_expired() */
	if (sigaction(SIGALRM, &sa, NULL) != 0) {
		log_error("cannot arm run_timeout: %s", strerror(errno));
		return -1;
	}
	expired = 0;
	armed = 1;
	alarm((unsigned)seconds);
	return 0;
}

bool runlimit_expired(void)
{
	return expired != 0;
}

long runlimit_seconds(void)
{
	return limit_seconds;
}

void runlimit_stop(void)
{
	armed = 0;
	alarm(0);
}
