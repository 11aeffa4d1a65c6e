/* util.h: string and blob lists, case-insensitive compare, and the run lock
 * that keeps two pulses from running at once. */
#include "adenroll-build.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static void test_strings(void **state)
{
	char *s;

	(void)state;
	s = xasprintf("%s-%d", "a", 42);
	assert_string_equal(s, "a-42");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	assert_true(str_eq_ci("Machine", "mACHINE"));
	assert_false(str_eq_ci("Machine", "Machines"));
	assert_false(str_eq_ci("a", NULL));
	assert_true(str_eq_ci(NULL, NULL));
}

static void test_strlist(void **state)
{
	struct strlist l = { 0 };

	(void)state;
	assert_false(strlist_contains_ci(&l, "x"));
	for (int i = 0; i < 100; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "Item%d", i);
		strlist_add(&l, buf);
	}
	assert_int_equal(l.n, 100);
	assert_string_equal(l.v[99], "Item99");
	assert_null(l.v[100]);
	assert_true(strlist_contains_ci(&l, "ITEM42"));
	assert_false(strlist_contains_ci(&l, "Item100"));
	strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	strlist_free(&l);
	strlist_free(NULL);
}

static void test_bloblist(void **state)
{
	struct bloblist l = { 0 };
	const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };

	(void)state;
	bloblist_add(&l, der, sizeof(der));
	bloblist_add(&l, NULL, 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[0].len, sizeof(der));
	assert_memory_equal(l.v[0].data, der, sizeof(der));
	assert_int_equal(l.v[1].len, 0);
	assert_null(l.v[2].data);
	bloblist_free(&l);
	assert_int_equal(l.n, 0);
	bloblist_free(NULL);
}

static void test_run_lock(void **state)
{
	char dir[] = "/tmp/adenroll-test-lock-XXXXXX";
	char path[600], content[64];
	int ready[2], go[2];
	int fd, fd2, status;
	pid_t child;
	FILE *f;
	char c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* A missing parent directory (first --user run) is created. */
	snprintf(path, sizeof(path), "%s/sub/run.lock", dir);
	fd = run_lock_acquire(path, 0);
	assert_true(fd >= 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(content, sizeof(content), f));
	fclose(f);
	assert_int_equal(atol(content), (long)getpid());
	/* Taking it again in the same process is counted, not a deadlock. */
	fd2 = run_lock_acquire(path, 0);
	assert_int_equal(fd2, fd);
	run_lock_release(fd2);
	run_lock_release(fd);
	run_lock_release(-1);

	/* Another process holds it: no wait fails with EWOULDBLOCK; a wait
	 * long enough for the holder to finish succeeds. */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int l = run_lock_acquire(path, 0);

		if (l < 0 || write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		sleep(1);
		run_lock_release(l);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	errno = 0;
	assert_int_equal(run_lock_acquire(path, 0), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(write(go[1], "g", 1), 1);
	fd = run_lock_acquire(path, 10);
	assert_true(fd >= 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	run_lock_release(fd);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);

	/* A path that cannot be created is an error, not a silent no-lock. */
	assert_int_equal(run_lock_acquire("/proc/adenroll-no-such/run.lock", 0), -1);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_strlist),
		cmocka_unit_test(test_bloblist),
		cmocka_unit_test(test_run_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
