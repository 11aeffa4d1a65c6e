/* Open addressing with linear probing, FNV-1a over the (folded) bytes; the
 * table stays at most half full. */
#include "adenroll-build.h"

#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static unsigned char fold(unsigned char c, bool ci)
{
	return ci && c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static uint64_t hash(const char *s, bool ci)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++) {
		h ^= fold((unsigned char)*s, ci);
		h *= 1099511628211ull;
	}
	return h;
}

static bool same(const char *a, const char *b, bool ci)
{
	return ci ? str_eq_ci(a, b) : strcmp(a, b) == 0;
}

void strmap_init(struct strmap *m, bool case_insensitive)
{
	memset(m, 0, sizeof(*m));
	m->ci = case_insensitive;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot(const struct strmap *m, const char *key)
{
	size_t i = (size_t)hash(key, m->ci) & (m->cap - 1);

	while (m->keys[i] != NULL && !same(m->keys[i], key, m->ci))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct strmap *m)
{
	struct strmap big = { .ci = m->ci };
	size_t i, s;

	big.cap = m->cap ? m->cap * 2 : 16;
	big.keys = xcalloc(big.cap, sizeof(*big.keys));
	big.vals = xcalloc(big.cap, sizeof(*big.vals));
	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] == NULL)
			continue;
		s = slot(&big, m->keys[i]);
		big.keys[s] = m->keys[i];
		big.vals[s] = m->vals[i];
	}
	big.n = m->n;
	free(m->keys);
	free(m->vals);
	*m = big;
}

static size_t insert_slot(struct strmap *m, const char *key, bool *added)
{
	size_t s;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	s = slot(m, key);
	*added = m->keys[s] == NULL;
	if (*added) {
		m->keys[s] = key;
		m->n++;
	}
	return s;
}

bool strmap_add_first(struct strmap *m, const char *key, size_t val)
{
	bool added;
	size_t s;

	if (key == NULL)
		return false;
	s = insert_slot(m, key, &added);
	if (added)
		m->vals[s] = val;
	return added;
}

void strmap_set(struct strmap *m, const char *key, size_t val)
{
	bool added;
	size_t s;

	if (key == NULL)
		return;
	s = insert_slot(m, key, &added);   /* may move m->vals */
	m->vals[s] = val;
}

size_t strmap_get(const struct strmap *m, const char *key)
{
	size_t s;

	if (key == NULL || m->cap == 0)
		return STRMAP_NONE;
	s = slot(m, key);
	return m->keys[s] != NULL ? m->vals[s] : STRMAP_NONE;
}

void strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
