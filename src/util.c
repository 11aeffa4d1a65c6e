/* Checked allocation, string and blob lists, the run lock. */
#include "adenroll-build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "util.h"

static void out_of_memory(size_t n)
{
	/* No allocation here: the message must get out when memory is gone. */
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "adenroll: fatal: out of memory (allocating %zu bytes)\n", n);

	if (len > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		out_of_memory(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p;

	if (len == SIZE_MAX)
		out_of_memory(len);
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	int len;
	char *p;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0) {
		/* Only an invalid format or wide conversion can get here: a programming error. */
		fprintf(stderr, "adenroll: fatal: cannot format string \"%s\"\n", fmt);
		abort();
	}
	p = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Grows a NULL-terminated vector of elem-sized items to hold n + 1 entries. */
static void *grow(void *v, size_t n, size_t elem)
{
	if (n + 2 > SIZE_MAX / elem)
		out_of_memory(SIZE_MAX);
	return xrealloc(v, (n + 2) * elem);
}

void strlist_add(struct strlist *l, const char *s)
{
	l->v = grow(l->v, l->n, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
	l->v[l->n] = NULL;
}

bool strlist_contains_ci(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (str_eq_ci(l->v[i], s))
			return true;
	return false;
}

void strlist_free(struct strlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void bloblist_add(struct bloblist *l, const void *data, size_t len)
{
	struct blob *b;

	l->v = grow(l->v, l->n, sizeof(*l->v));
	b = &l->v[l->n++];
	b->data = xmalloc(len);
	if (len)
		memcpy(b->data, data, len);
	b->len = len;
	l->v[l->n] = (struct blob){ NULL, 0 };
}

void bloblist_free(struct bloblist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

bool str_eq_ci(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	for (; *a && *b; a++, b++)
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* ---------------------------------------------------------------- run lock */

static int held_fd = -1;
static unsigned held_count;
static char *held_path;

static void lock_holder(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	size_t i;

	if (n <= 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	buf[n] = '\0';
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++)
		;
	buf[i] = '\0';
	if (i == 0)
		snprintf(buf, len, "unknown");
}

int run_lock_acquire(const char *path, int wait_seconds)
{
	struct stat st;
	char pid[32];
	int fd = -1, waited = 0, len;

	if (held_fd >= 0 && held_path && strcmp(held_path, path) == 0) {
		held_count++;
		return held_fd;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* The --user fallback lives under the state dir, which a first run has not made yet. */
		char *slash = strrchr(path, '/');

		if (slash && slash != path) {
			char *dir = xstrndup(path, (size_t)(slash - path));

			if (fs_mkdir_p(dir, 0700) == 0)
				fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
			else
				errno = ENOENT;
			free(dir);
		}
	}
	if (fd < 0) {
		int e = errno;
		log_error("cannot open run lock %s: %s%s", path, strerror(e),
			  e == EACCES || e == EROFS ? "; run as root, or use --user for your own certificates" :
			  e == ENOENT ? "; create its directory or set lock_file in adenroll.conf" : "");
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("run lock %s is not a regular file; remove it or set lock_file elsewhere", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		if (e != EWOULDBLOCK) {
			log_error("cannot lock %s: %s", path, strerror(e));
			close(fd);
			errno = e;
			return -1;
		}
		if (waited >= wait_seconds) {
			char holder[32];

			lock_holder(fd, holder, sizeof(holder));
			log_error("another adenroll run (pid %s) holds %s%s; try again when it has finished",
				  holder, path, wait_seconds > 0 ? " and did not finish in time" : "");
			close(fd);
			errno = EWOULDBLOCK;
			return -1;
		}
		if (waited == 0)
			log_info("waiting up to %d s for another adenroll run to finish (%s)", wait_seconds, path);
		sleep(1);
		waited++;
	}
	/* The pid is informational only; flock is the lock. */
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && len > 0)
		(void)!pwrite(fd, pid, (size_t)len, 0);
	held_fd = fd;
	held_count = 1;
	free(held_path);
	held_path = xstrdup(path);
	return fd;
}

void run_lock_release(int fd)
{
	if (fd < 0 || fd != held_fd)
		return;
	if (--held_count > 0)
		return;
	/* Truncate first so a reader never sees our pid after we let go. */
	(void)!ftruncate(fd, 0);
	flock(fd, LOCK_UN);
	close(fd);
	held_fd = -1;
	free(held_path);
	held_path = NULL;
}

double monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
