/* Small helpers every module uses: checked allocation, string lists, byte blobs. */
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

#endif
