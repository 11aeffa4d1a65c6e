/* Registry.pol parser and merge (MS-GPREG 2.2.1).  The file is a header
 * ("PReg", version 1) and records [key;value;type;size;data] whose brackets,
 * semicolons and names are UTF-16LE; type and size are little-endian uint32. */
#include "adenroll-build.h"

#include "preg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "util.h"

#define PREG_SIGNATURE 0x67655250u /* "PReg" read little-endian */
#define PREG_VERSION 1u

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* UTF-16LE (n code units at p) to UTF-8; NULL on an unpaired surrogate or an
 * embedded NUL. */
static char *utf16_to_utf8(const uint8_t *p, size_t n)
{
	char *out = xmalloc(n * 3 + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t c = rd16(p + 2 * i);

		if (c == 0)
			goto bad;
		if (c >= 0xd800 && c <= 0xdbff) {
			uint32_t lo;

			if (i + 1 >= n)
				goto bad;
			lo = rd16(p + 2 * (i + 1));
			if (lo < 0xdc00 || lo > 0xdfff)
				goto bad;
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		} else if (c >= 0xdc00 && c <= 0xdfff) {
			goto bad;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			/* 4 bytes: fits, since this took 2 code units (6 bytes reserved) */
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Expects the UTF-16 character ch at *pos. */
static int expect(const uint8_t *buf, size_t len, size_t *pos, uint16_t ch, const char *what,
		  char *err, size_t errlen)
{
	if (len - *pos < 2 || rd16(buf + *pos) != ch) {
		seterr(err, errlen, "offset %zu: expected '%c' %s", *pos, (char)ch, what);
		return -1;
	}
	*pos += 2;
	return 0;
}

/* A NUL-terminated UTF-16LE name starting at *pos; *pos ends after the NUL. */
static int read_name(const uint8_t *buf, size_t len, size_t *pos, const char *what, char **out,
		     char *err, size_t errlen)
{
	size_t start = *pos, n = 0;

	for (;;) {
		if (len - *pos < 2) {
			seterr(err, errlen, "offset %zu: %s name runs past the end of the file", start, what);
			return -1;
		}
		if (rd16(buf + *pos) == 0)
			break;
		if (++n > PREG_MAX_NAME) {
			seterr(err, errlen, "offset %zu: %s name is longer than %u characters", start, what,
			       PREG_MAX_NAME);
			return -1;
		}
		*pos += 2;
	}
	*out = utf16_to_utf8(buf + start, n);
	*pos += 2;
	if (*out == NULL) {
		seterr(err, errlen, "offset %zu: %s name is not valid UTF-16", start, what);
		return -1;
	}
	return 0;
}

static void record_free(struct preg_record *r)
{
	free(r->key);
	free(r->value);
	free(r->data);
}

int preg_parse(const uint8_t *buf, size_t len, struct preg_file *out, char *err, size_t errlen)
{
	size_t pos = 8, cap = 0;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < 8) {
		seterr(err, errlen, "offset 0: %zu bytes are too few for the 8-byte PReg header",
		       buf == NULL ? 0 : len);
		return -1;
	}
	if (len > PREG_MAX_FILE) {
		seterr(err, errlen, "offset 0: %zu bytes is more than the %u a policy file may have", len,
		       PREG_MAX_FILE);
		return -1;
	}
	if (rd32(buf) != PREG_SIGNATURE) {
		seterr(err, errlen, "offset 0: no PReg signature: not a Registry.pol file");
		return -1;
	}
	if (rd32(buf + 4) != PREG_VERSION) {
		seterr(err, errlen, "offset 4: PReg version %lu, only version 1 is defined",
		       (unsigned long)rd32(buf + 4));
		return -1;
	}
	while (pos < len) {
		struct preg_record r;
		size_t start = pos;

		memset(&r, 0, sizeof(r));
		if (expect(buf, len, &pos, '[', "at the start of a record", err, errlen) < 0 ||
		    read_name(buf, len, &pos, "key", &r.key, err, errlen) < 0 ||
		    expect(buf, len, &pos, ';', "after the key name", err, errlen) < 0 ||
		    read_name(buf, len, &pos, "value", &r.value, err, errlen) < 0 ||
		    expect(buf, len, &pos, ';', "after the value name", err, errlen) < 0)
			goto bad;
		if (len - pos < 4) {
			seterr(err, errlen, "offset %zu: record type is truncated", pos);
			goto bad;
		}
		r.type = rd32(buf + pos);
		pos += 4;
		if (expect(buf, len, &pos, ';', "after the type", err, errlen) < 0)
			goto bad;
		if (len - pos < 4) {
			seterr(err, errlen, "offset %zu: record size is truncated", pos);
			goto bad;
		}
		r.size = rd32(buf + pos);
		pos += 4;
		if (expect(buf, len, &pos, ';', "after the size", err, errlen) < 0)
			goto bad;
		if (r.size > len - pos) {
			seterr(err, errlen, "offset %zu: data size %lu runs past the end of the file (%zu bytes left)",
			       pos, (unsigned long)r.size, len - pos);
			goto bad;
		}
		if (r.size > 0) {
			r.data = xmalloc(r.size);
			memcpy(r.data, buf + pos, r.size);
		}
		pos += r.size;
		if (expect(buf, len, &pos, ']', "at the end of a record", err, errlen) < 0)
			goto bad;
		if (r.key[0] == '\0') {
			seterr(err, errlen, "offset %zu: record has an empty key name", start);
			goto bad;
		}
		if (out->n_records == cap) {
			cap = cap ? cap * 2 : 16;
			out->records = xrealloc(out->records, cap * sizeof(*out->records));
		}
		out->records[out->n_records++] = r;
		continue;
bad:
		record_free(&r);
		preg_file_free(out);
		return -1;
	}
	return 0;
}

void preg_file_free(struct preg_file *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n_records; i++)
		record_free(&f->records[i]);
	free(f->records);
	memset(f, 0, sizeof(*f));
}

static void value_free(struct preg_value *v)
{
	free(v->key);
	free(v->value);
	free(v->data);
}

void preg_view_free(struct preg_view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n_values; i++)
		value_free(&v->values[i]);
	free(v->values);
	memset(v, 0, sizeof(*v));
}

static ssize_t find(const struct preg_view *v, const char *key, const char *value)
{
	for (size_t i = 0; i < v->n_values; i++)
		if (strcasecmp(v->values[i].key, key) == 0 && strcasecmp(v->values[i].value, value) == 0)
			return (ssize_t)i;
	return -1;
}

static void remove_at(struct preg_view *v, size_t i)
{
	value_free(&v->values[i]);
	memmove(&v->values[i], &v->values[i + 1], (v->n_values - i - 1) * sizeof(*v->values));
	v->n_values--;
}

static void delete_value(struct preg_view *v, const char *key, const char *value)
{
	ssize_t i = find(v, key, value);

	if (i >= 0)
		remove_at(v, (size_t)i);
}

/* key itself and every key below it (key\...) */
static bool under(const char *k, const char *key)
{
	size_t n = strlen(key);

	return strncasecmp(k, key, n) == 0 && (k[n] == '\0' || k[n] == '\\');
}

static void delete_key_tree(struct preg_view *v, const char *key)
{
	for (size_t i = v->n_values; i-- > 0;)
		if (under(v->values[i].key, key))
			remove_at(v, i);
}

static void delete_all_values(struct preg_view *v, const char *key)
{
	for (size_t i = v->n_values; i-- > 0;)
		if (strcasecmp(v->values[i].key, key) == 0)
			remove_at(v, i);
}

static void set_value(struct preg_view *v, const struct preg_record *r, const char *name, int source)
{
	ssize_t i = find(v, r->key, name);
	struct preg_value *pv;

	if (i >= 0) {
		pv = &v->values[i];
		free(pv->data);
	} else {
		v->values = xrealloc(v->values, (v->n_values + 1) * sizeof(*v->values));
		pv = &v->values[v->n_values++];
		pv->key = xstrdup(r->key);
		pv->value = xstrdup(name);
	}
	pv->type = r->type;
	pv->size = r->size;
	pv->data = NULL;
	if (r->size) {
		pv->data = xmalloc(r->size);
		memcpy(pv->data, r->data, r->size);
	}
	pv->source = source;
}

/* A REG_SZ directive argument ("a;b;c") as UTF-8, NULL when not a string. */
static char *record_string(const struct preg_record *r)
{
	struct preg_value pv = { .type = r->type, .data = r->data, .size = r->size };

	return preg_value_string(&pv);
}

static void delete_list(struct preg_view *v, const struct preg_record *r, bool keys)
{
	char *list = record_string(r), *save = NULL;

	if (list == NULL)
		return;
	for (char *tok = strtok_r(list, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		if (*tok == '\0')
			continue;
		if (keys) {
			char *sub = xasprintf("%s\\%s", r->key, tok);
			delete_key_tree(v, sub);
			free(sub);
		} else {
			delete_value(v, r->key, tok);
		}
	}
	free(list);
}

void preg_view_apply(struct preg_view *v, const struct preg_file *f, int source)
{
	for (size_t i = 0; i < f->n_records; i++) {
		const struct preg_record *r = &f->records[i];
		const char *name = r->value;

		if (strncmp(name, "**", 2) != 0) {
			set_value(v, r, name, source);
			continue;
		}
		if (strncasecmp(name, "**del.", 6) == 0)
			delete_value(v, r->key, name + 6);
		else if (strncasecmp(name, "**delvals.", 10) == 0)
			delete_all_values(v, r->key);
		else if (strcasecmp(name, "**DeleteValues") == 0)
			delete_list(v, r, false);
		else if (strcasecmp(name, "**DeleteKeys") == 0)
			delete_list(v, r, true);
		else if (strncasecmp(name, "**soft.", 7) == 0) {
			if (find(v, r->key, name + 7) < 0)
				set_value(v, r, name + 7, source);
		}
		/* "**SecureKey" sets the key's ACL, and "**" names this client
		 * does not know change no value either: both are skipped. */
	}
}

const struct preg_value *preg_view_get(const struct preg_view *v, const char *key, const char *value)
{
	ssize_t i = find(v, key, value);

	return i < 0 ? NULL : &v->values[i];
}

int preg_view_get_dword(const struct preg_view *v, const char *key, const char *value, uint32_t *out,
			int *source)
{
	const struct preg_value *pv = preg_view_get(v, key, value);

	if (pv == NULL || pv->type != PREG_REG_DWORD || pv->size != 4)
		return -1;
	*out = rd32(pv->data);
	if (source)
		*source = pv->source;
	return 0;
}

char *preg_value_string(const struct preg_value *pv)
{
	size_t n;

	if (pv == NULL || (pv->type != PREG_REG_SZ && pv->type != PREG_REG_EXPAND_SZ) || pv->size % 2)
		return NULL;
	n = pv->size / 2;
	/* the stored string normally carries its terminating NUL */
	while (n > 0 && rd16(pv->data + 2 * (n - 1)) == 0)
		n--;
	return utf16_to_utf8(pv->data, n);
}

size_t preg_view_subkeys(const struct preg_view *v, const char *key, char ***out)
{
	size_t n = 0, klen = strlen(key);
	char **names = NULL;

	for (size_t i = 0; i < v->n_values; i++) {
		const char *k = v->values[i].key, *rest;
		bool seen = false;

		if (strncasecmp(k, key, klen) != 0 || k[klen] != '\\' || k[klen + 1] == '\0')
			continue;
		rest = k + klen + 1;
		if (strchr(rest, '\\'))
			continue;
		for (size_t j = 0; j < n; j++)
			if (strcasecmp(names[j], rest) == 0)
				seen = true;
		if (seen)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(rest);
	}
	*out = names;
	return n;
}
