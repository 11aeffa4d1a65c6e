/* Small helpers every module uses: checked allocation, string lists, byte
 * blobs, case-insensitive comparison, and the run lock. */
#ifndef ADENROLL_UTIL_H
#define ADENROLL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation failure is not recoverable in a short-lived CLI: these abort
 * with a message instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A NULL-terminated, owned array of owned strings. */
struct strlist {
	char **v;
	size_t n;
};
void strlist_add(struct strlist *l, const char *s);
bool strlist_contains_ci(const struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/* An owned byte buffer (DER certificates, security descriptors). */
struct blob {
	unsigned char *data;
	size_t len;
};
struct bloblist {
	struct blob *v;
	size_t n;
};
void bloblist_add(struct bloblist *l, const void *data, size_t len);
void bloblist_free(struct bloblist *l);

/* Case-insensitive ASCII compare; true when equal. */
bool str_eq_ci(const char *a, const char *b);

/* The run lock that keeps two runs that change stores (pulse, enroll) from
 * overlapping: an exclusive flock(2) on path, created 0600 if missing; the
 * holder's pid is written into it so the next run can name it.  Waits up to
 * wait_seconds (0: do not wait) for another holder to finish.  Returns the
 * lock descriptor, or -1 with the reason logged (errno EWOULDBLOCK when
 * another process still holds it).  Taking the lock again in the same
 * process succeeds and is counted; the kernel drops it when the process
 * exits, so a crashed run never leaves a stale lock. */
int run_lock_acquire(const char *path, int wait_seconds);
/* Releases one acquisition; accepts -1. */
void run_lock_release(int fd);

/* CLOCK_MONOTONIC in seconds, for the time counters benchmarks read
 * (certsrv_get_stats, ldap_conn_seconds, csr_get_stats). */
double monotonic_seconds(void);

#endif
