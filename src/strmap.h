/* A string -> index map (open addressing), so that matching templates,
 * certificates and CAs by name or OID is a lookup, not a scan: decisions
 * stay linear in templates + certificates.  Keys are borrowed (the caller
 * keeps them alive while the map lives); case-insensitive maps fold ASCII
 * only, as str_eq_ci() compares. */
#ifndef ADENROLL_STRMAP_H
#define ADENROLL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#define STRMAP_NONE ((size_t)-1)

struct strmap {
	const char **keys;
	size_t *vals;
	size_t cap, n;
	bool ci;     /* compare like str_eq_ci */
};

void strmap_init(struct strmap *m, bool case_insensitive);
/* Maps key to val unless key is there already (the first value stays);
 * true when added.  A NULL key is ignored. */
bool strmap_add_first(struct strmap *m, const char *key, size_t val);
/* Maps key to val, replacing an earlier value (the last one wins). */
void strmap_set(struct strmap *m, const char *key, size_t val);
/* The value of key, STRMAP_NONE when absent or key is NULL. */
size_t strmap_get(const struct strmap *m, const char *key);
void strmap_free(struct strmap *m);

#endif
