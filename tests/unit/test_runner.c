/* The process runner (runner.h): exit status, signals and programs that do
 * not start are told apart; output is logged line by line (or captured);
 * the environment is only what is given; no descriptor beyond 2 is
 * inherited; a program that hangs is killed with its process group at the
 * timeout. */
#include "adenroll-build.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "runner.h"
#include "util.h"

static int run_sh(const char *script, unsigned timeout, char *capture, size_t capture_len,
		  struct runner_result *res)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct runner_cmd cmd = {
		.argv = argv,
		.timeout_seconds = timeout,
		.log_name = "test-program",
		.capture = capture,
		.capture_len = capture_len,
	};
	return runner_run(&cmd, res);
}

/* Runs script with this process's stderr (where log.c writes) in a file;
 * the logged text into log. */
static int run_logged(const char *script, unsigned timeout, struct runner_result *res, char *log, size_t loglen)
{
	char path[] = "/tmp/test_runner_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	int rc = run_sh(script, timeout, NULL, 0, res);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, log, loglen - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

static void test_exit_status(void **state)
{
	(void)state;
	struct runner_result res;
	char text[256];

	assert_int_equal(run_sh("exit 0", 10, NULL, 0, &res), 0);
	assert_int_equal(res.end, RUNNER_EXITED);
	assert_int_equal(res.code, 0);

	assert_int_equal(run_sh("exit 7", 10, NULL, 0, &res), -1);
	assert_int_equal(res.end, RUNNER_EXITED);
	assert_int_equal(res.code, 7);
	runner_describe(&res, 10, text, sizeof text);
	assert_string_equal(text, "exited with status 7");

	assert_int_equal(run_sh("kill -KILL $$", 10, NULL, 0, &res), -1);
	assert_int_equal(res.end, RUNNER_SIGNALED);
	assert_int_equal(res.code, SIGKILL);

	/* a program that cannot be executed is not mistaken for one that exited 127 */
	const char *argv[] = { "/nonexistent/program", NULL };
	struct runner_cmd cmd = { .argv = argv, .timeout_seconds = 10 };
	assert_int_equal(runner_run(&cmd, &res), -1);
	assert_int_equal(res.end, RUNNER_NOT_STARTED);
	assert_int_equal(res.code, ENOENT);
	const char *bare[] = { "adenroll-no-such-program", NULL };
	cmd.argv = bare;
	assert_int_equal(runner_run(&cmd, &res), -1);
	assert_int_equal(res.end, RUNNER_NOT_STARTED);
	assert_int_equal(res.code, ENOENT);
	/* a bare name is found in RUNNER_PATH */
	const char *tru[] = { "true", NULL };
	cmd.argv = tru;
	assert_int_equal(runner_run(&cmd, &res), 0);
}

static void test_output_logged(void **state)
{
	(void)state;
	struct runner_result res;
	static char log[256 * 1024];

	log_init(LOG_LVL_INFO, false);
	assert_int_equal(run_logged("echo first; echo second >&2; printf 'no newline'; exit 3", 10, &res, log,
				    sizeof log), -1);
	assert_int_equal(res.code, 3);
	assert_non_null(strstr(log, "test-program: first\n"));
	assert_non_null(strstr(log, "test-program: second\n"));
	assert_non_null(strstr(log, "test-program: no newline\n"));

	/* a flood is cut, and said to be */
	assert_int_equal(run_logged("i=0; while [ $i -lt 3000 ]; do echo 'a line of forty characters or so......'; "
				    "i=$((i+1)); done", 30, &res, log, sizeof log), 0);
	assert_non_null(strstr(log, "test-program: (more output not logged)"));
	log_init(LOG_LVL_WARN, false);
}

static void test_capture(void **state)
{
	(void)state;
	struct runner_result res;
	char out[16];

	assert_int_equal(run_sh("echo captured; echo not-this >&2", 10, out, sizeof out, &res), 0);
	assert_string_equal(out, "captured\n");
	/* cut to the buffer, never past it */
	assert_int_equal(run_sh("echo 0123456789abcdefghij", 10, out, sizeof out, &res), 0);
	assert_string_equal(out, "0123456789abcde");
}

static void test_clean_environment_and_fds(void **state)
{
	(void)state;
	struct runner_result res;
	char out[1024];

	/* descriptors of ours without close-on-exec: the program must not get them */
	int leak = open("/dev/null", O_RDONLY), high = dup2(leak, 200);
	assert_true(leak > 2 && high == 200);
	setenv("KRB5CCNAME", "MEMORY:secret", 1);
	char *script = xasprintf("n=0; while [ $n -le %d ]; do [ -e /proc/$$/fd/$n ] && echo \"fd $n\"; n=$((n+1)); done; "
				 "[ -e /proc/$$/fd/200 ] && echo 'fd 200'; env | sort; pwd", leak + 8);
	assert_int_equal(run_sh(script, 10, out, sizeof out, &res), 0);
	free(script);
	close(leak);
	close(high);
	unsetenv("KRB5CCNAME");
	assert_string_equal(out, "fd 0\nfd 1\nfd 2\nPATH=" RUNNER_PATH "\nPWD=/\n/\n");

	/* the given environment, and only it */
	const char *argv[] = { "/usr/bin/env", NULL };
	const char *envp[] = { "PATH=/bin", "ADENROLL_EVENT=test", NULL };
	struct runner_cmd cmd = { .argv = argv, .envp = envp, .timeout_seconds = 10, .capture = out,
				  .capture_len = sizeof out };
	assert_int_equal(runner_run(&cmd, &res), 0);
	assert_string_equal(out, "PATH=/bin\nADENROLL_EVENT=test\n");
}

static void test_timeout_kills_group(void **state)
{
	(void)state;
	struct runner_result res;
	char script[256], text[256];
	char pidfile[] = "/tmp/test_runner_pid.XXXXXX";
	int fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);

	/* ignores SIGTERM, and leaves a child behind */
	snprintf(script, sizeof script, "trap '' TERM; sleep 300 & echo $! > %s; while :; do sleep 1; done", pidfile);
	time_t t0 = time(NULL);
	assert_int_equal(run_sh(script, 1, NULL, 0, &res), -1);
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(res.end, RUNNER_TIMED_OUT);
	runner_describe(&res, 1, text, sizeof text);
	assert_string_equal(text, "did not finish within 1 s: killed it and its process group");

	char buf[32] = "";
	FILE *f = fopen(pidfile, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	unlink(pidfile);
	long bg = strtol(buf, NULL, 10);
	assert_true(bg > 1);
	/* the background child went with it (gone, or a zombie for init) */
	bool dead = false;
	for (int i = 0; i < 50 && !dead; i++) {
		char *st = xasprintf("/proc/%ld/stat", bg);
		FILE *p = fopen(st, "r");
		if (!p) {
			dead = true;
		} else {
			char s[512] = "";
			if (fgets(s, sizeof s, p)) {
				char *rp = strrchr(s, ')');
				dead = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
			}
			fclose(p);
		}
		free(st);
		if (!dead)
			usleep(100000);
	}
	assert_true(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_output_logged),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_clean_environment_and_fds),
		cmocka_unit_test(test_timeout_kills_group),
	};
	log_init(LOG_LVL_WARN, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
