/* The held-certificate index file (store_index.h).  One line per pair, the
 * fields separated by TABs; text fields are "-" (none) or "=" followed by
 * the text, which never holds a control character:
 *
 *   # adenroll held-certificate index v1<TAB><scope>
 *   key cert_id meta_id serial sha256 not_before not_after template_cn
 *   ext_template_cn template_oid major minor has_version ext_malformed
 *   ca_name request_id installed has_renewal renewal_seconds
 *   enrollment_flag template_major issuer crl_urls
 *
 * A file id is "dev:ino:size:mtime_s.mtime_ns:ctime_s.ctime_ns", or "-"
 * for a file that was absent.  crl_urls is "=" followed by the CRL
 * distribution point URLs separated by spaces (nothing after "=": none),
 * "!" when the extension is malformed, "?" when not known (the
 * certificate is parsed to check its revocation).  An index of version 1
 * (without crl_urls) is of another version: read no more, rebuilt once. */
#include "adenroll-build.h"

#include "store_index.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "util.h"

#define INDEX_MAGIC "# adenroll held-certificate index v2\t"
#define INDEX_FIELDS 23
/* 10000 pairs take about 4 MiB */
#define INDEX_MAX (256u << 20)

int file_id_of(const char *path, struct file_id *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	/* stat, not lstat: the identity of what a read of path gets */
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	out->present = true;
	out->dev = (unsigned long long)st.st_dev;
	out->ino = (unsigned long long)st.st_ino;
	out->size = (long long)st.st_size;
	out->mtime_s = (long long)st.st_mtim.tv_sec;
	out->mtime_ns = (long long)st.st_mtim.tv_nsec;
	out->ctime_s = (long long)st.st_ctim.tv_sec;
	out->ctime_ns = (long long)st.st_ctim.tv_nsec;
	return 0;
}

bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	if (!a->present || !b->present)
		return a->present == b->present;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_s == b->mtime_s &&
	       a->mtime_ns == b->mtime_ns && a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

void store_index_init(struct store_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	strmap_init(&ix->by_key, false);
}

static void entry_free(struct store_index_entry *e)
{
	free(e->key);
	store_item_free_contents(&e->facts);
}

void store_index_free(struct store_index *ix)
{
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->n; i++)
		entry_free(&ix->v[i]);
	free(ix->v);
	strmap_free(&ix->by_key);
	store_index_init(ix);
}

const struct store_index_entry *store_index_get(const struct store_index *ix, const char *key)
{
	size_t i = strmap_get(&ix->by_key, key);

	return i == STRMAP_NONE ? NULL : &ix->v[i];
}

static struct store_index_entry *append_slot(struct store_index *ix)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? ix->cap * 2 : 16;
		ix->v = xrealloc(ix->v, ix->cap * sizeof(*ix->v));
	}
	return &ix->v[ix->n];
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The facts worth keeping: everything a listing fills but the X509, the
 * paths and the generation, which the back-end sets from its layout. */
static void copy_facts(const struct store_item *from, struct store_item *to)
{
	memset(to, 0, sizeof(*to));
	to->template_cn = dup_or_null(from->template_cn);
	to->ext_template_cn = dup_or_null(from->ext_template_cn);
	to->template_oid = dup_or_null(from->template_oid);
	to->major = from->major;
	to->minor = from->minor;
	to->has_version = from->has_version;
	to->ca_name = dup_or_null(from->ca_name);
	to->request_id = from->request_id;
	to->installed = from->installed;
	to->has_renewal = from->has_renewal;
	to->renewal_seconds = from->renewal_seconds;
	to->enrollment_flag = from->enrollment_flag;
	to->template_major = from->template_major;
	to->has_facts = from->has_facts;
	to->ext_malformed = from->ext_malformed;
	memcpy(to->serial, from->serial, sizeof(to->serial));
	memcpy(to->sha256, from->sha256, sizeof(to->sha256));
	to->issuer = dup_or_null(from->issuer);
	to->not_before = from->not_before;
	to->not_after = from->not_after;
	to->has_crl_facts = from->has_crl_facts;
	to->cdp_malformed = from->cdp_malformed;
	to->crl_urls = dup_or_null(from->crl_urls);
}

void store_index_entry_facts(const struct store_index_entry *e, struct store_item *it)
{
	copy_facts(&e->facts, it);
}

static bool text_ok(const char *s)
{
	return s == NULL || (store_text_is_clean(s) && strchr(s, '\t') == NULL);
}

bool store_index_put(struct store_index *ix, const char *key, const struct file_id *cert_id,
		     const struct file_id *meta_id, const struct store_item *it)
{
	struct store_index_entry *e;

	if (!it->has_facts || !text_ok(key) || !text_ok(it->template_cn) || !text_ok(it->ext_template_cn) ||
	    !text_ok(it->template_oid) || !text_ok(it->ca_name) || !text_ok(it->issuer) ||
	    !text_ok(it->serial) || !text_ok(it->sha256) || !text_ok(it->crl_urls) ||
	    store_index_get(ix, key) != NULL)
		return false;
	e = append_slot(ix);
	e->key = xstrdup(key);
	e->cert_id = *cert_id;
	e->meta_id = *meta_id;
	copy_facts(it, &e->facts);
	/* the map borrows the key string, which stays put when v moves */
	strmap_add_first(&ix->by_key, e->key, ix->n);
	ix->n++;
	return true;
}

/* ---- text form ---- */

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < o->cap - o->len)
			break;
		o->cap = o->cap * 2 + (n > 0 ? (size_t)n : 0) + 256;
		o->buf = xrealloc(o->buf, o->cap);
	}
	o->len += (size_t)n;
}

void file_id_text(const struct file_id *id, char *buf, size_t len)
{
	if (!id->present)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%llu:%llu:%lld:%lld.%lld:%lld.%lld", id->dev, id->ino, id->size, id->mtime_s,
			 id->mtime_ns, id->ctime_s, id->ctime_ns);
}

static void put_id(struct out *o, const struct file_id *id)
{
	char buf[FILE_ID_TEXT_MAX];

	file_id_text(id, buf, sizeof(buf));
	put(o, "\t%s", buf);
}

static void put_text(struct out *o, const char *s)
{
	if (s == NULL)
		put(o, "\t-");
	else
		put(o, "\t=%s", s);
}

char *store_index_text(const char *scope, const struct store_index *ix, size_t *len)
{
	struct out o = { .buf = xmalloc(4096), .len = 0, .cap = 4096 };

	if (!text_ok(scope)) {
		free(o.buf);
		return NULL;
	}
	put(&o, INDEX_MAGIC "%s\n", scope);
	for (size_t i = 0; i < ix->n; i++) {
		const struct store_index_entry *e = &ix->v[i];
		const struct store_item *f = &e->facts;

		put(&o, "%s", e->key);
		put_id(&o, &e->cert_id);
		put_id(&o, &e->meta_id);
		put(&o, "\t%s\t%s\t%lld\t%lld", f->serial, f->sha256, (long long)f->not_before,
		    (long long)f->not_after);
		put_text(&o, f->template_cn);
		put_text(&o, f->ext_template_cn);
		put_text(&o, f->template_oid);
		put(&o, "\t%" PRIu32 "\t%" PRIu32 "\t%d\t%d", f->major, f->minor, f->has_version ? 1 : 0,
		    f->ext_malformed ? 1 : 0);
		put_text(&o, f->ca_name);
		put(&o, "\t%ld\t%lld\t%d\t%" PRId64 "\t%" PRIu32 "\t%" PRIu32, f->request_id,
		    (long long)f->installed, f->has_renewal ? 1 : 0, f->renewal_seconds, f->enrollment_flag,
		    f->template_major);
		put_text(&o, f->issuer);
		if (!f->has_crl_facts || f->crl_urls == NULL)
			put(&o, "\t?\n");
		else if (f->cdp_malformed)
			put(&o, "\t!\n");
		else
			put(&o, "\t=%s\n", f->crl_urls);
	}
	*len = o.len;
	return o.buf;
}

int store_index_save(const char *path, const char *scope, const struct store_index *ix)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	size_t len = 0;
	char *text = store_index_text(scope, ix, &len);
	int ret = -1;

	if (text == NULL) {
		log_debug("not writing the held-certificate index %s: the store's path has control characters",
			  path);
		goto out;
	}
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (fs_mkdir_p(dir, 0755) != 0)
			goto out;
	}
	ret = fs_write_atomic(path, text, len, 0644, (uid_t)-1);
out:
	free(dir);
	free(text);
	return ret;
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;

	if (*s == '\0')
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_ull(const char *s, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;

	if (!parse_ull(s, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return false;
	*out = s[0] == '1';
	return true;
}

static bool parse_text(const char *s, char **out)
{
	if (strcmp(s, "-") == 0) {
		*out = NULL;
		return true;
	}
	if (s[0] != '=')
		return false;
	*out = xstrdup(s + 1);
	return true;
}

/* "dev:ino:size:ms.mns:cs.cns" or "-" */
static bool parse_id(char *s, struct file_id *id)
{
	char *part[7], *save = NULL, *p;
	long long v[5];
	size_t n = 0;

	memset(id, 0, sizeof(*id));
	if (strcmp(s, "-") == 0)
		return true;
	for (p = strtok_r(s, ":.", &save); p != NULL && n < 7; p = strtok_r(NULL, ":.", &save))
		part[n++] = p;
	if (n != 7 || p != NULL || !parse_ull(part[0], &id->dev) || !parse_ull(part[1], &id->ino))
		return false;
	for (size_t i = 0; i < 5; i++)
		if (!parse_ll(part[2 + i], &v[i]))
			return false;
	id->present = true;
	id->size = v[0];
	id->mtime_s = v[1];
	id->mtime_ns = v[2];
	id->ctime_s = v[3];
	id->ctime_ns = v[4];
	return true;
}

static bool hex_ok(const char *s, size_t max, bool exact)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max || (exact && n != max - 1))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

/* One line into e; false when anything in it is not what store_index_save writes. */
static bool parse_line(char *line, struct store_index_entry *e)
{
	char *f[INDEX_FIELDS], *p = line;
	size_t n = 0;
	long long ll;
	struct store_item *it = &e->facts;

	memset(e, 0, sizeof(*e));
	for (;;) {
		char *tab = strchr(p, '\t');

		if (n == INDEX_FIELDS)
			return false;
		f[n++] = p;
		if (tab == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n != INDEX_FIELDS || f[0][0] == '\0' || !parse_id(f[1], &e->cert_id) || !e->cert_id.present ||
	    !parse_id(f[2], &e->meta_id) || !hex_ok(f[3], sizeof(it->serial), false) ||
	    !hex_ok(f[4], sizeof(it->sha256), true))
		return false;
	e->key = xstrdup(f[0]);
	snprintf(it->serial, sizeof(it->serial), "%s", f[3]);
	snprintf(it->sha256, sizeof(it->sha256), "%s", f[4]);
	if (!parse_ll(f[5], &ll))
		return false;
	it->not_before = (time_t)ll;
	if (!parse_ll(f[6], &ll))
		return false;
	it->not_after = (time_t)ll;
	if (!parse_text(f[7], &it->template_cn) || !parse_text(f[8], &it->ext_template_cn) ||
	    !parse_text(f[9], &it->template_oid) || !parse_u32(f[10], &it->major) ||
	    !parse_u32(f[11], &it->minor) || !parse_bool(f[12], &it->has_version) ||
	    !parse_bool(f[13], &it->ext_malformed) || !parse_text(f[14], &it->ca_name) ||
	    !parse_ll(f[15], &ll))
		return false;
	if (ll < LONG_MIN || ll > LONG_MAX)
		return false;
	it->request_id = (long)ll;
	if (!parse_ll(f[16], &ll))
		return false;
	it->installed = (time_t)ll;
	if (!parse_bool(f[17], &it->has_renewal) || !parse_ll(f[18], &ll))
		return false;
	it->renewal_seconds = ll;
	if (!parse_u32(f[19], &it->enrollment_flag) || !parse_u32(f[20], &it->template_major) ||
	    !parse_text(f[21], &it->issuer))
		return false;
	if (strcmp(f[22], "!") == 0) {
		it->has_crl_facts = it->cdp_malformed = true;
		it->crl_urls = xstrdup("");
	} else if (f[22][0] == '=') {
		it->has_crl_facts = true;
		it->crl_urls = xstrdup(f[22] + 1);
	} else if (strcmp(f[22], "?") != 0) {
		return false;
	}
	it->has_facts = true;
	return true;
}

/* A planted index could otherwise make a due renewal look far off. */
unsigned char *file_read_own(const char *path, size_t max, size_t *len, const char *what)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	unsigned char *buf = NULL;
	size_t used = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			log_debug("%s %s not read: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || (unsigned long long)st.st_size > max) {
		log_debug("%s %s not used: not a regular file of this user that only it can write, or too "
			  "large (it is rebuilt)", what, path);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (used < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + used, (size_t)st.st_size - used);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		used += (size_t)r;
	}
	buf[used] = '\0';
	close(fd);
	*len = used;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int store_index_parse(char *buf, size_t len, const char *scope, struct store_index *ix)
{
	size_t lineno = 1;
	char *line, *nl, *end = buf + len;
	char *head = xasprintf(INDEX_MAGIC "%s\n", scope);
	int ret = -1;

	store_index_init(ix);
	if (memchr(buf, '\0', len) != NULL)
		goto out;
	if (len < strlen(head) || memcmp(buf, head, strlen(head)) != 0) {
		lineno = 0;   /* another version or store */
		goto out;
	}
	for (line = buf + strlen(head); line < end; line = nl + 1) {
		struct store_index_entry e;

		lineno++;
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			goto out;   /* cut short: a torn write cannot happen (rename), a bad disk can */
		*nl = '\0';
		if (!parse_line(line, &e) || store_index_get(ix, e.key) != NULL) {
			entry_free(&e);
			goto out;
		}
		*append_slot(ix) = e;
		strmap_add_first(&ix->by_key, e.key, ix->n);
		ix->n++;
	}
	ret = 0;
out:
	if (ret != 0) {
		store_index_free(ix);
		ret = (int)lineno;
		if (ret <= 0)
			ret = -1;
	}
	free(head);
	return ret;
}

void store_index_load(const char *path, const char *scope, struct store_index *ix)
{
	size_t len = 0;
	unsigned char *buf;
	int r;

	store_index_init(ix);
	if (path == NULL || (buf = file_read_own(path, INDEX_MAX, &len, "held-certificate index")) == NULL)
		return;
	r = store_index_parse((char *)buf, len, scope, ix);
	if (r == -1)
		log_debug("held-certificate index %s is of another version or store; rebuilding it", path);
	else if (r != 0)
		log_debug("held-certificate index %s is malformed at line %d; rebuilding it from the certificates",
			  path, r);
	free(buf);
}
