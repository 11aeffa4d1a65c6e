/* Runs a command once and reports what it cost, for bench/run.sh:
 *
 *   bench_rusage OUTFILE CMD [ARG...]
 *
 * prints one line "wall_ms=... cpu_ms=... user_ms=... sys_ms=... rss_kib=...
 * lo_bytes=... rc=...":
 *   wall_ms   monotonic time from fork to the end of wait4
 *   cpu_ms    user + system CPU of the command and the children it waited
 *             for (wait4's rusage, microseconds; /usr/bin/time rounds to 10 ms)
 *   rss_kib   peak resident set size (ru_maxrss)
 *   lo_bytes  bytes received on the loopback interface meanwhile: inside the
 *             bench's private network namespace every packet between the
 *             client and the DC/CA crosses it once, headers included
 * The command's stdout and stderr go to OUTFILE.  A small C launcher and
 * not a script: a child forked from an interpreter starts with the
 * interpreter's pages resident, and ru_maxrss would report those. */
#include "adenroll-build.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long lo_rx_bytes(void)
{
	char line[512];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/net/dev", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':'), *p = line;
		if (!colon)
			continue;
		while (*p == ' ')
			p++;
		if (colon - p == 2 && strncmp(p, "lo", 2) == 0) {
			v = strtoull(colon + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static double ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, fd;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_rusage OUTFILE CMD [ARG...]\n");
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	unsigned long long b0 = lo_rx_bytes();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsigned long long b1 = lo_rx_bytes();
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("wall_ms=%.2f cpu_ms=%.2f user_ms=%.2f sys_ms=%.2f rss_kib=%ld lo_bytes=%llu rc=%d\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       ms(ru.ru_utime) + ms(ru.ru_stime), ms(ru.ru_utime), ms(ru.ru_stime), ru.ru_maxrss, b1 - b0, rc);
	return 0;
}
