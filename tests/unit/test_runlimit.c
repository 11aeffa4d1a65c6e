/* run_timeout (runlimit.h, issue 16 finding 10): the deadline is seen by
 * runlimit_expired(); a run that does not stop within the grace period is
 * ended with a message and exit status 1; a stopped limit never fires. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "adenroll.h"
#include "runlimit.h"

/* Runs fn in a child with stderr into a pipe; its exit status and stderr. */
static int in_child(void (*fn)(void), char *err, size_t errlen)
{
	int p[2], status = -1;
	size_t n = 0;
	ssize_t r;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (n + 1 < errlen && (r = read(p[0], err + n, errlen - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void stops_cleanly(void)
{
	assert_int_equal(runlimit_start(1, 5), 0);
	if (runlimit_expired())
		_exit(10);
	time_t t0 = time(NULL);
	while (!runlimit_expired() && time(NULL) - t0 < 5)
		usleep(10000);
	runlimit_stop();
	/* stopped in time: the grace alarm is gone */
	sleep(6);
	_exit(runlimit_expired() && runlimit_seconds() == 1 ? 0 : 11);
}

static void never_stops(void)
{
	assert_int_equal(runlimit_start(1, 1), 0);
	for (;;)
		pause();
}

static void unlimited(void)
{
	assert_int_equal(runlimit_start(0, 1), 0);
	sleep(2);
	_exit(runlimit_expired() ? 12 : 0);
}

static void test_expires_and_stops_cleanly(void **state)
{
	char err[512];
	(void)state;
	int st = in_child(stops_cleanly, err, sizeof err);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_null(strstr(err, "run_timeout"));
}

static void test_hard_stop_after_grace(void **state)
{
	char err[512];
	(void)state;
	time_t t0 = time(NULL);
	int st = in_child(never_stops, err, sizeof err);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), ADENROLL_EXIT_FAILURE);
	assert_true(time(NULL) - t0 <= 5);
	assert_non_null(strstr(err, "run_timeout (1 s) reached and the run did not stop within 1 s more"));
}

static void test_zero_is_unlimited(void **state)
{
	char err[512];
	(void)state;
	int st = in_child(unlimited, err, sizeof err);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expires_and_stops_cleanly),
		cmocka_unit_test(test_hard_stop_after_grace),
		cmocka_unit_test(test_zero_is_unlimited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
