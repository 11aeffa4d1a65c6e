/* PEM directory store.  Layout (docs/stores.md):
 *
 *   <pem_dir>/index                      managed templates: "<name>\t<template cn>"
 *   <pem_dir>/<name>.crt  -> <name>.d/current/cert.pem   (stable paths for services)
 *   <pem_dir>/<name>.key  -> <name>.d/current/key.pem
 *   <pem_dir>/<name>-chain.pem -> <name>.d/current/chain.pem
 *   <pem_dir>/<name>.d/current -> <generation>            (THE commit point)
 *   <pem_dir>/<name>.d/<generation>/{key.pem,cert.pem,chain.pem,meta}
 *   <archive_dir>/<name>/<archived-at>--<generation>/...  (replaced pairs)
 *
 * Why generations: key and cert are two files, and no file system renames
 * two files at once.  A complete generation is built aside, and one
 * rename(2) of the `current` symlink switches key, cert, chain and meta
 * together; a reader that resolves `current` once sees one generation.  The
 * index is written before the generation, so anything live is indexed; the
 * old generation is moved to the archive only after the switch.  A crash
 * at any step leaves `current` at the old or the new complete generation;
 * leftovers are tidied at the next pulse or install (never-live .new-* directories
 * removed, once-live generations archived, never deleted). */
#include "adenroll-build.h"

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert.h"
#include "fsutil.h"
#include "keyproc.h"
#include "log.h"
#include "openssl_loader.h"
#include "store_index.h"
#include "util.h"

#define INDEX_FILE "index"
#define HELD_INDEX_FILE "pem-index"   /* in state_dir (store_index.h) */
#define INDEX_HEADER "# adenroll PEM store index v1: <file name><TAB><template cn>\n"
#define CURRENT "current"
#define NEW_PREFIX ".new-"
#define MAX_FILE (1u << 20)

struct pem_store {
	struct store_backend base;
	char *dir;
	char *archive;
	long retention_days;
	mode_t dir_mode;   /* 0755 machine (services read certs), 0700 user */
	const struct config *cfg;   /* owner, group and mode per template (outlives the store) */
	/* The held-certificate index (store_index.h): its file, what the last
	 * listing found (fresh), and whether that differs from the file. */
	char *held_path;            /* NULL without a state_dir: no index */
	struct store_index fresh;
	bool listed, fresh_differs;
};

struct index_entry {
	char *name;   /* file-name stem */
	char *cn;
};
struct index {
	struct index_entry *v;
	size_t n;
};

/* TEST ONLY: ADENROLL_TEST_CRASH_AT=<step> kills the run (the key process
 * installing and the process it serves) with SIGKILL when an install
 * reaches <step>, so tests can prove every crash point
 * leaves a complete old or new pair.  Steps, in order: index, key, cert,
 * chain, meta, generation, switched, linked, archived. */
static void crash_point(const char *step)
{
	const char *at = getenv("ADENROLL_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		keyproc_crash_run();   /* the key process and the run it serves */
}

static void index_free(struct index *ix)
{
	size_t i;

	for (i = 0; i < ix->n; i++) {
		free(ix->v[i].name);
		free(ix->v[i].cn);
	}
	free(ix->v);
	ix->v = NULL;
	ix->n = 0;
}

static bool name_is_safe(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return i < 200;
}

static void index_add(struct index *ix, const char *name, const char *cn)
{
	ix->v = xrealloc(ix->v, (ix->n + 1) * sizeof(*ix->v));
	ix->v[ix->n].name = xstrdup(name);
	ix->v[ix->n].cn = xstrdup(cn);
	ix->n++;
}

static int index_load(const struct pem_store *ps, struct index *ix)
{
	char *path = fs_path_join(ps->dir, INDEX_FILE), *line, *save = NULL, *tab;
	unsigned char *buf = NULL;
	unsigned lineno = 0;
	int ret = -1;

	memset(ix, 0, sizeof(*ix));
	if (fs_read_file(path, MAX_FILE, &buf, NULL) != 0) {
		if (errno == ENOENT)
			ret = 0;   /* nothing installed yet */
		goto out;
	}
	for (line = strtok_r((char *)buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		tab = strchr(line, '\t');
		if (tab == NULL) {
			log_warn("%s:%u: ignoring malformed line", path, lineno);
			continue;
		}
		*tab = '\0';
		if (!name_is_safe(line) || !store_text_is_clean(tab + 1) || tab[1] == '\0') {
			log_warn("%s:%u: ignoring entry with an unsafe name", path, lineno);
			continue;
		}
		index_add(ix, line, tab + 1);
	}
	ret = 0;
out:
	free(buf);
	free(path);
	return ret;
}

static int index_save(const struct pem_store *ps, const struct index *ix)
{
	char *path = fs_path_join(ps->dir, INDEX_FILE);
	size_t cap = sizeof(INDEX_HEADER), used, i;
	char *buf;
	int ret;

	for (i = 0; i < ix->n; i++)
		cap += strlen(ix->v[i].name) + strlen(ix->v[i].cn) + 2;
	buf = xmalloc(cap);
	used = (size_t)snprintf(buf, cap, "%s", INDEX_HEADER);
	for (i = 0; i < ix->n; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s\t%s\n", ix->v[i].name, ix->v[i].cn);
	ret = fs_write_atomic(path, buf, used, 0644, (uid_t)-1);
	free(buf);
	free(path);
	return ret;
}

static const struct index_entry *index_find(const struct index *ix, const char *cn)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (str_eq_ci(ix->v[i].cn, cn))
			return &ix->v[i];
	return NULL;
}

static bool index_name_taken(const struct index *ix, const char *name)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (strcmp(ix->v[i].name, name) == 0)
			return true;
	return false;
}

/* A file-name stem for a template cn: cns may hold spaces or worse. */
static char *name_for_cn(const struct index *ix, const char *cn)
{
	char *base = xstrdup(cn), *name;
	size_t i;
	unsigned k;

	for (i = 0; base[i] != '\0'; i++) {
		char c = base[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			base[i] = '_';
	}
	if (base[0] == '.' || base[0] == '\0' || i >= 180) {
		char *b2 = xasprintf("t%.*s", 150, base);

		free(base);
		base = b2;
	}
	name = xstrdup(base);
	for (k = 2; index_name_taken(ix, name); k++) {
		free(name);
		name = xasprintf("%s-%u", base, k);
	}
	free(base);
	return name;
}

static char *serial_hex(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL, *ret;

	ret = xasprintf("%.40s", hex ? hex : "0");
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

/* Serializes with a BIO in the secure heap when it holds a key. */
static int pem_to_buffer(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, char **out, size_t *len)
{
	BIO *bio = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem());
	char *data;
	long n;
	int ret = -1, i;

	*out = NULL;
	if (bio == NULL)
		goto out;
	if (key != NULL && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		goto out;
	if (cert != NULL && !PEM_write_bio_X509(bio, cert))
		goto out;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (!PEM_write_bio_X509(bio, sk_X509_value(chain, i)))
			goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n < 0)
		goto out;
	*out = xmalloc((size_t)n + 1);
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	ret = 0;
out:
	if (ret != 0)
		log_error("cannot encode %s as PEM", key != NULL ? "the private key" : "certificates");
	BIO_free(bio);
	return ret;
}

/* ---- file ownership ([store] / [template NAME] cert_owner ... chain_mode) ---- */

struct resolved_perms {
	uid_t uid;     /* (uid_t)-1: the caller's */
	gid_t gid;     /* (gid_t)-1: the caller's */
	mode_t mode;
};
struct install_perms {
	struct resolved_perms cert, key, chain;
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int resolve_one(const char *cn, const char *file, const struct file_perms *fp,
		       struct resolved_perms *out)
{
	out->uid = (uid_t)-1;
	out->gid = (gid_t)-1;
	out->mode = (mode_t)fp->mode;
	if (fp->owner && all_digits(fp->owner)) {
		out->uid = (uid_t)strtoul(fp->owner, NULL, 10);
	} else if (fp->owner) {
		const struct passwd *pw = getpwnam(fp->owner);

		if (!pw) {
			log_error("template %s: %s_owner '%s' is not a user on this host; create it (adduser "
				  "--system, useradd -r) or change adenroll.conf", cn, file, fp->owner);
			return -1;
		}
		out->uid = pw->pw_uid;
	}
	if (fp->group && all_digits(fp->group)) {
		out->gid = (gid_t)strtoul(fp->group, NULL, 10);
	} else if (fp->group) {
		const struct group *gr = getgrnam(fp->group);

		if (!gr) {
			log_error("template %s: %s_group '%s' is not a group on this host; create it (addgroup "
				  "--system, groupadd -r) or change adenroll.conf", cn, file, fp->group);
			return -1;
		}
		out->gid = gr->gr_gid;
	}
	return 0;
}

/* Resolved before anything is written: a missing service user fails the
 * install cleanly instead of leaving a generation half owned. */
static int resolve_install_perms(const struct pem_store *ps, const char *cn, struct install_perms *out)
{
	struct file_perms c = config_file_perms(ps->cfg, cn, STORE_FILE_CERT);
	struct file_perms k = config_file_perms(ps->cfg, cn, STORE_FILE_KEY);
	struct file_perms ch = config_file_perms(ps->cfg, cn, STORE_FILE_CHAIN);

	if (resolve_one(cn, "cert", &c, &out->cert) != 0 || resolve_one(cn, "key", &k, &out->key) != 0 ||
	    resolve_one(cn, "chain", &ch, &out->chain) != 0)
		return -1;
	return 0;
}

static int write_pem_file(const char *path, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain,
			  const struct resolved_perms *perm)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (pem_to_buffer(key, cert, chain, &buf, &len) != 0)
		return -1;
	ret = fs_write_atomic_owned(path, buf, len, perm->mode, perm->uid, perm->gid);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return ret;
}

/* The generation `current` points to, NULL (errno ENOENT) when none. */
static char *read_current(const char *name_dir)
{
	char *link = fs_path_join(name_dir, CURRENT), buf[256];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	int saved = errno;

	free(link);
	if (n < 0) {
		errno = saved;
		return NULL;
	}
	buf[n] = '\0';
	if (!name_is_safe(buf)) {
		log_error("%s/%s points to an unexpected place (%s); not touching it", name_dir, CURRENT, buf);
		errno = EINVAL;
		return NULL;
	}
	return xstrdup(buf);
}

/* The facts of a generation read from its files: cert.pem parsed (kept in
 * it->cert), meta, the template extensions. */
static int read_generation(const char *cert_file, const char *meta_file, const char *cn, struct store_item *it)
{
	struct cert_template_info info;
	unsigned char *buf = NULL;
	size_t len = 0;

	if (fs_read_file(cert_file, MAX_FILE, &buf, &len) != 0 || (it->cert = cert_from_buffer(buf, len)) == NULL) {
		log_warn("cannot load the certificate of template %s from %s; leaving it out", cn, cert_file);
		free(buf);
		return -1;
	}
	free(buf);
	buf = NULL;
	if (fs_read_file(meta_file, MAX_FILE, &buf, &len) == 0)
		store_meta_parse((char *)buf, it);
	free(buf);
	if (cert_template_info(it->cert, &info) == 0) {
		it->template_oid = info.oid;
		it->ext_template_cn = info.name;
		info.oid = info.name = NULL;
		it->has_version = info.has_major;
		it->major = info.major;
		it->minor = info.minor;
		cert_template_info_free(&info);
	} else {
		it->ext_malformed = true;
	}
	store_item_set_facts(it);
	return 0;
}

/* Every managed template's live generation.  A generation the index knows
 * with unchanged files is not parsed (it->cert NULL, cert_file set); the
 * others are, and what was found becomes ps->fresh for pem_tidy to write. */
static int pem_list_indexed(struct store_backend *b, struct store_item **items, size_t *n)
{
	struct pem_store *ps = (struct pem_store *)b;
	struct index ix;
	struct store_index old;
	struct store_item *v = NULL, it;
	size_t count = 0, i, reused = 0;

	*items = NULL;
	*n = 0;
	if (index_load(ps, &ix) != 0)
		return -1;
	store_index_load(ps->held_path, ps->dir, &old);
	store_index_free(&ps->fresh);
	ps->fresh_differs = false;
	for (i = 0; i < ix.n; i++) {
		char *name_dir = xasprintf("%s/%s.d", ps->dir, ix.v[i].name);
		char *gen = read_current(name_dir), *cert_file = NULL, *meta_file = NULL, *key = NULL;
		const struct store_index_entry *e;
		struct file_id cert_id, meta_id;

		memset(&it, 0, sizeof(it));
		if (gen == NULL) {
			if (errno != ENOENT)
				log_warn("cannot read %s/%s: %s", name_dir, CURRENT, strerror(errno));
			goto next;
		}
		cert_file = xasprintf("%s/%s/cert.pem", name_dir, gen);
		meta_file = xasprintf("%s/%s/meta", name_dir, gen);
		key = xasprintf("%s/%s", ix.v[i].name, gen);
		if (file_id_of(cert_file, &cert_id) != 0 || !cert_id.present || file_id_of(meta_file, &meta_id) != 0) {
			log_warn("cannot load the certificate of template %s from %s; leaving it out",
				 ix.v[i].cn, cert_file);
			goto next;
		}
		e = store_index_get(&old, key);
		if (e != NULL && file_id_eq(&e->cert_id, &cert_id) && file_id_eq(&e->meta_id, &meta_id)) {
			store_index_entry_facts(e, &it);
			reused++;
		} else if (read_generation(cert_file, meta_file, ix.v[i].cn, &it) != 0) {
			goto next;
		}
		/* a pair that cannot be indexed (control characters) is parsed each run */
		if (store_index_put(&ps->fresh, key, &cert_id, &meta_id, &it) && (e == NULL || it.cert != NULL))
			ps->fresh_differs = true;
		if (it.ext_malformed)
			log_warn("the certificate of template %s has a malformed template extension",
				 ix.v[i].cn);
		if (it.template_cn == NULL)
			it.template_cn = xstrdup(ix.v[i].cn);
		it.cert_file = cert_file;
		cert_file = NULL;
		it.cert_path = xasprintf("%s/%s.crt", ps->dir, ix.v[i].name);
		it.key_path = xasprintf("%s/%s.key", ps->dir, ix.v[i].name);
		it.chain_path = xasprintf("%s/%s-chain.pem", ps->dir, ix.v[i].name);
		it.generation = gen;
		gen = NULL;
		if (count % 16 == 0)
			v = xrealloc(v, (count + 16) * sizeof(*v));
		v[count++] = it;
		memset(&it, 0, sizeof(it));
next:
		store_item_free_contents(&it);
		free(gen);
		free(name_dir);
		free(cert_file);
		free(meta_file);
		free(key);
	}
	/* an index entry no longer live (replaced or retired pair) is dropped */
	if (old.n != reused)
		ps->fresh_differs = true;
	ps->listed = true;
	log_debug("PEM store %s: %zu certificates, %zu from the held-certificate index", ps->dir, count, reused);
	store_index_free(&old);
	index_free(&ix);
	*items = v;
	*n = count;
	return 0;
}

/* The index as the last listing found it, written when it differs from
 * the file (under the run lock, by pulse's tidy). */
static void held_index_update(struct pem_store *ps)
{
	struct store_item *items = NULL;
	size_t n = 0;

	if (ps->held_path == NULL)
		return;
	if (!ps->listed) {
		if (pem_list_indexed(&ps->base, &items, &n) != 0)
			return;
		store_items_free(items, n);
	}
	if (!ps->fresh_differs)
		return;
	if (store_index_save(ps->held_path, ps->dir, &ps->fresh) != 0)
		log_warn("cannot write the held-certificate index %s; the next run reads every certificate "
			 "again", ps->held_path);
	else
		ps->fresh_differs = false;
}

/* Archives are pruned by the time they were archived (encoded in the entry
 * name), and only when a retention is configured. */
static void prune_archive(const struct pem_store *ps, const char *name, time_t now)
{
	char *adir = xasprintf("%s/%s", ps->archive, name);
	DIR *d;
	struct dirent *de;
	time_t when;

	if (ps->retention_days <= 0)
		goto out;
	/* never through a symlink: pruning deletes */
	d = fs_opendir_nofollow(adir);
	if (d == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.' || !store_time_from_name(de->d_name, &when) ||
		    !fs_is_real_dir_at(d, de->d_name))
			continue;
		if (now - when <= (time_t)ps->retention_days * 86400)
			continue;
		p = fs_path_join(adir, de->d_name);
		log_info("removing archived certificate %s (archived more than %ld days ago)", p,
			 ps->retention_days);
		fs_remove_flat_dir(p);
		free(p);
	}
	closedir(d);
out:
	free(adir);
}

/* Moves src (a generation or a stray file) to <archive>/<name>/<now>--<leaf>. */
static int archive_move(const struct pem_store *ps, const char *name, const char *src,
			const char *leaf, time_t now, char **archived_to)
{
	char *adir = xasprintf("%s/%s", ps->archive, name), *ts = store_format_utc(now), *dst = NULL;
	struct stat st;
	unsigned k;
	int ret = -1;

	if (fs_mkdir_p(adir, 0700) != 0)
		goto out;
	dst = xasprintf("%s/%s--%s", adir, ts, leaf);
	for (k = 2; lstat(dst, &st) == 0; k++) {
		free(dst);
		dst = xasprintf("%s/%s--%s-%u", adir, ts, leaf, k);
	}
	if (fs_move(src, dst) != 0)
		goto out;
	log_info("archived %s to %s", src, dst);
	if (archived_to != NULL) {
		*archived_to = dst;
		dst = NULL;
	}
	ret = 0;
out:
	free(dst);
	free(ts);
	free(adir);
	return ret;
}

/* Leftovers of an interrupted install: never-live .new-* directories and
 * temp files are removed; complete generations that are not current were
 * live before the crash (or issued and never switched to): archived. */
static int recover(const struct pem_store *ps, const char *name, const char *name_dir,
		   const char *current, time_t now)
{
	DIR *d = fs_opendir_nofollow(name_dir);
	struct dirent *de;
	int ret = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, CURRENT) == 0 ||
		    (current != NULL && strcmp(de->d_name, current) == 0))
			continue;
		p = fs_path_join(name_dir, de->d_name);
		if (strncmp(de->d_name, NEW_PREFIX, strlen(NEW_PREFIX)) == 0) {
			log_info("removing %s left by an interrupted install", p);
			if (fs_remove_flat_dir(p) != 0)
				ret = -1;
		} else if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp-") != NULL) {
			if (unlink(p) != 0)
				ret = -1;
		} else if (name_is_safe(de->d_name)) {
			if (archive_move(ps, name, p, de->d_name, now, NULL) != 0)
				ret = -1;
		}
		free(p);
	}
	closedir(d);
	return ret;
}

/* <name>.crt etc. are symlinks through `current`, created once; a file a
 * previous tool left there is archived first, never overwritten. */
static int ensure_link(const struct pem_store *ps, const char *name, const char *link_leaf,
		       const char *file, time_t now)
{
	char *link = fs_path_join(ps->dir, link_leaf);
	char *target = xasprintf("%s.d/%s/%s", name, CURRENT, file);
	char buf[PATH_MAX];
	struct stat st;
	ssize_t n;
	int ret = -1;

	n = readlink(link, buf, sizeof(buf) - 1);
	if (n >= 0) {
		buf[n] = '\0';
		if (strcmp(buf, target) == 0) {
			ret = 0;
			goto out;
		}
	} else if (lstat(link, &st) == 0) {
		if (archive_move(ps, name, link, link_leaf, now, NULL) != 0)
			goto out;
	}
	ret = fs_symlink_atomic(target, link);
out:
	free(target);
	free(link);
	return ret;
}

/* StrictModes for pem_dir and archive_dir (fs_dir_trusted). */
static int dirs_trusted(const struct pem_store *ps)
{
	char why[768];

	if (fs_dir_trusted(ps->dir, why, sizeof(why)) != 0 ||
	    fs_dir_trusted(ps->archive, why, sizeof(why)) != 0) {
		log_error("not storing a key there: %s", why);
		return -1;
	}
	return 0;
}

static int pem_install(struct store_backend *b, const struct store_install_args *a,
		       char **archived_to)
{
	struct pem_store *ps = (struct pem_store *)b;
	const struct template *t = a->t;
	struct index ix;
	const struct index_entry *e;
	char *name = NULL, *name_dir = NULL, *old = NULL, *gen = NULL, *ts = NULL, *serial = NULL;
	char *build = NULL, *final = NULL, *p = NULL, *meta = NULL, *leaf = NULL;
	struct stat st;
	struct install_perms perms;
	unsigned k;
	int ret = -1;

	memset(&ix, 0, sizeof(ix));
	if (!store_text_is_clean(t->cn) || t->cn[0] == '\0') {
		log_error("refusing to install a certificate for a template with an unprintable name");
		return -1;
	}
	if (resolve_install_perms(ps, t->cn, &perms) != 0)
		return -1;
	if (fs_mkdir_p(ps->dir, ps->dir_mode) != 0 || dirs_trusted(ps) != 0 || index_load(ps, &ix) != 0)
		goto out;
	/* The index first: whatever becomes live below is then always listed. */
	e = index_find(&ix, t->cn);
	if (e != NULL) {
		name = xstrdup(e->name);
	} else {
		name = name_for_cn(&ix, t->cn);
		index_add(&ix, name, t->cn);
		if (index_save(ps, &ix) != 0)
			goto out;
	}
	crash_point("index");

	name_dir = xasprintf("%s/%s.d", ps->dir, name);
	if (fs_mkdir_p(name_dir, ps->dir_mode) != 0)
		goto out;
	old = read_current(name_dir);
	if (old == NULL && errno != ENOENT) {
		log_error("cannot read %s/%s: %s", name_dir, CURRENT, strerror(errno));
		goto out;
	}
	if (recover(ps, name, name_dir, old, a->now) != 0)
		log_warn("could not tidy everything left in %s by an earlier interrupted install", name_dir);

	ts = store_format_utc(a->now);
	serial = serial_hex(a->cert);
	gen = xasprintf("%s-%s", ts, serial);
	for (k = 2; ; k++) {
		free(build);
		free(final);
		final = fs_path_join(name_dir, gen);
		build = xasprintf("%s/%s%s", name_dir, NEW_PREFIX, gen);
		if (lstat(final, &st) != 0 && lstat(build, &st) != 0)
			break;
		free(gen);
		gen = xasprintf("%s-%s-%u", ts, serial, k);
	}
	if (mkdir(build, ps->dir_mode) != 0) {
		log_error("cannot create %s: %s", build, strerror(errno));
		goto out;
	}
	p = fs_path_join(build, "key.pem");
	if (write_pem_file(p, a->key, NULL, NULL, &perms.key) != 0)
		goto out;
	crash_point("key");
	free(p);
	p = fs_path_join(build, "cert.pem");
	if (write_pem_file(p, NULL, a->cert, NULL, &perms.cert) != 0)
		goto out;
	crash_point("cert");
	free(p);
	p = fs_path_join(build, "chain.pem");
	if (a->chain != NULL && sk_X509_num(a->chain) > 0) {
		if (write_pem_file(p, NULL, NULL, a->chain, &perms.chain) != 0)
			goto out;
	} else if (fs_write_atomic_owned(p, "", 0, perms.chain.mode, perms.chain.uid, perms.chain.gid) != 0) {
		goto out;
	}
	crash_point("chain");
	free(p);
	p = fs_path_join(build, "meta");
	meta = store_meta_text(a);
	if (fs_write_atomic(p, meta, strlen(meta), 0644, (uid_t)-1) != 0)
		goto out;
	crash_point("meta");
	if (rename(build, final) != 0) {
		log_error("cannot rename %s to %s: %s", build, final, strerror(errno));
		goto out;
	}
	if (fs_fsync_dir(name_dir) != 0)
		goto out;
	crash_point("generation");

	/* The commit: one rename switches key, cert, chain and meta together. */
	free(p);
	p = fs_path_join(name_dir, CURRENT);
	if (fs_symlink_atomic(gen, p) != 0)
		goto out;
	crash_point("switched");

	leaf = xasprintf("%s.crt", name);
	if (ensure_link(ps, name, leaf, "cert.pem", a->now) != 0)
		goto out;
	free(leaf);
	leaf = xasprintf("%s.key", name);
	if (ensure_link(ps, name, leaf, "key.pem", a->now) != 0)
		goto out;
	free(leaf);
	leaf = xasprintf("%s-chain.pem", name);
	if (ensure_link(ps, name, leaf, "chain.pem", a->now) != 0)
		goto out;
	crash_point("linked");
	log_info("installed the certificate for template %s in %s/%s.crt (generation %s)",
		 t->cn, ps->dir, name, gen);

	if (old != NULL) {
		free(p);
		p = fs_path_join(name_dir, old);
		if (archive_move(ps, name, p, old, a->now, archived_to) != 0) {
			/* The new pair is live; the old one stays and is archived by the next install. */
			log_warn("the previous certificate of template %s stays in %s", t->cn, p);
		}
	}
	crash_point("archived");
	prune_archive(ps, name, a->now);
	ret = 0;
out:
	if (ret != 0 && build != NULL && lstat(build, &st) == 0)
		fs_remove_flat_dir(build);
	index_free(&ix);
	free(name);
	free(name_dir);
	free(old);
	free(gen);
	free(ts);
	free(serial);
	free(build);
	free(final);
	free(p);
	free(meta);
	free(leaf);
	return ret;
}

static int pem_retire(struct store_backend *b, const char *template_cn, char **archived_to)
{
	struct pem_store *ps = (struct pem_store *)b;
	struct index ix, kept;
	const struct index_entry *e;
	char *name_dir = NULL, *gen = NULL, *p = NULL;
	const char *links[3] = { ".crt", ".key", "-chain.pem" };
	size_t i;
	int ret = -1;

	memset(&kept, 0, sizeof(kept));
	if (index_load(ps, &ix) != 0)
		return -1;
	e = index_find(&ix, template_cn);
	if (e == NULL) {
		ret = 0;
		goto out;
	}
	name_dir = xasprintf("%s/%s.d", ps->dir, e->name);
	/* Stable paths first: a reader then sees the pair or nothing. */
	for (i = 0; i < 3; i++) {
		p = xasprintf("%s/%s%s", ps->dir, e->name, links[i]);
		if (unlink(p) != 0 && errno != ENOENT) {
			log_error("cannot remove %s: %s", p, strerror(errno));
			goto out;
		}
		free(p);
		p = NULL;
	}
	gen = read_current(name_dir);
	if (gen != NULL) {
		p = fs_path_join(name_dir, gen);
		if (access(p, F_OK) == 0 &&
		    archive_move(ps, e->name, p, gen, time(NULL), archived_to) != 0)
			goto out;
		free(p);
		p = fs_path_join(name_dir, CURRENT);
		if (unlink(p) != 0 && errno != ENOENT) {
			log_error("cannot remove %s: %s", p, strerror(errno));
			goto out;
		}
	}
	if (recover(ps, e->name, name_dir, NULL, time(NULL)) != 0 || rmdir(name_dir) != 0)
		log_warn("%s is not empty; leaving it", name_dir);
	for (i = 0; i < ix.n; i++)
		if (&ix.v[i] != e)
			index_add(&kept, ix.v[i].name, ix.v[i].cn);
	if (index_save(ps, &kept) != 0)
		goto out;
	log_info("template %s is no longer managed in %s", template_cn, ps->dir);
	ret = 0;
out:
	index_free(&ix);
	index_free(&kept);
	free(name_dir);
	free(gen);
	free(p);
	return ret;
}

/* The stable links of a live generation, for the ones that are missing: an
 * install killed between the switch and its links (the first one for a
 * template has no links yet) is completed here.  A path something else
 * occupies is left to the next install, which archives it first. */
static int links_if_missing(const struct pem_store *ps, const char *name, time_t now)
{
	static const char *const leaves[3][2] = {
		{ ".crt", "cert.pem" }, { ".key", "key.pem" }, { "-chain.pem", "chain.pem" },
	};
	struct stat st;
	size_t i;
	int ret = 0;

	for (i = 0; i < 3; i++) {
		char *leaf = xasprintf("%s%s", name, leaves[i][0]), *link = fs_path_join(ps->dir, leaf);

		if (lstat(link, &st) != 0 && errno == ENOENT) {
			log_info("creating %s, left out by an interrupted install", link);
			if (ensure_link(ps, name, leaf, leaves[i][1], now) != 0)
				ret = -1;
		}
		free(link);
		free(leaf);
	}
	return ret;
}

/* recover() for every managed template, without installing anything: a
 * pair that stays valid for months is otherwise tidied only at its renewal.
 * A live generation without its stable links gets them. */
static void pem_tidy(struct store_backend *b, time_t now)
{
	struct pem_store *ps = (struct pem_store *)b;
	struct index ix;
	size_t i;

	if (index_load(ps, &ix) != 0)
		return;
	for (i = 0; i < ix.n; i++) {
		char *name_dir = xasprintf("%s/%s.d", ps->dir, ix.v[i].name);
		char *cur = read_current(name_dir);

		if ((cur != NULL || errno == ENOENT) && recover(ps, ix.v[i].name, name_dir, cur, now) != 0)
			log_warn("could not tidy everything left in %s by an earlier interrupted install",
				 name_dir);
		if (cur != NULL && links_if_missing(ps, ix.v[i].name, now) != 0)
			log_warn("could not create the stable links of template %s in %s", ix.v[i].cn,
				 ps->dir);
		free(cur);
		free(name_dir);
	}
	index_free(&ix);
	held_index_update(ps);
}

/* key.pem of the item's generation: <name>.d, the generation and the file
 * each opened with O_NOFOLLOW relative to the one before, so no symlink
 * (the stable <name>.key, or one planted in place of a generation) is
 * followed; a key that group or others could have written is refused (its
 * owner and read bits may be a service's, set per template). */
static int pem_load_key(struct store_backend *b, const struct store_item *it, EVP_PKEY **key)
{
	struct pem_store *ps = (struct pem_store *)b;
	struct index ix;
	const struct index_entry *e;
	char *name_dir = NULL, *p = NULL;
	int dfd = -1, gfd = -1, kfd = -1, ret = -1;
	unsigned char *buf = NULL;
	size_t used = 0;
	struct stat st;
	BIO *bio = NULL;

	*key = NULL;
	if (index_load(ps, &ix) != 0)
		return -1;
	e = index_find(&ix, it->template_cn);
	if (e == NULL || it->generation == NULL || !name_is_safe(it->generation)) {
		log_error("template %s has no generation in %s to take the key from", it->template_cn, ps->dir);
		goto out;
	}
	name_dir = xasprintf("%s/%s.d", ps->dir, e->name);
	p = xasprintf("%s/%s/key.pem", name_dir, it->generation);
	dfd = open(name_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		gfd = openat(dfd, it->generation, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (gfd >= 0)
		kfd = openat(gfd, "key.pem", O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (kfd < 0) {
		log_error("cannot open %s (no symlink is followed): %s", p, strerror(errno));
		goto out;
	}
	if (fstat(kfd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    st.st_size > (off_t)MAX_FILE) {
		log_error("not using %s: it must be a regular file of at most 1 MiB that group and others "
			  "cannot write (chmod go-w %s, or remove the template's certificate from the store "
			  "to enroll a new key)", p, p);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (used < (size_t)st.st_size) {
		ssize_t r = read(kfd, buf + used, (size_t)st.st_size - used);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_error("cannot read %s: %s", p, r < 0 ? strerror(errno) : "short read");
			goto out;
		}
		used += (size_t)r;
	}
	bio = BIO_new_mem_buf(buf, (int)used);
	if (bio == NULL || (*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		log_error("%s does not hold a private key", p);
		goto out;
	}
	ret = 0;
out:
	BIO_free(bio);
	if (buf != NULL)
		OPENSSL_clear_free(buf, used);
	if (kfd >= 0)
		close(kfd);
	if (gfd >= 0)
		close(gfd);
	if (dfd >= 0)
		close(dfd);
	index_free(&ix);
	free(name_dir);
	free(p);
	return ret;
}

static void pem_close(struct store_backend *b)
{
	struct pem_store *ps = (struct pem_store *)b;

	if (ps == NULL)
		return;
	free(ps->dir);
	free(ps->archive);
	free(ps->held_path);
	store_index_free(&ps->fresh);
	free(ps);
}

static const struct store_backend_ops pem_ops = {
	.name = "pem",
	.list = NULL,
	.list_indexed = pem_list_indexed,
	.install = pem_install,
	.retire = pem_retire,
	.tidy = pem_tidy,
	.load_key = pem_load_key,
	.close = pem_close,
};

int store_pem_open(const struct config *cfg, enum adenroll_mode mode, struct store_backend **out)
{
	struct pem_store *ps;

	*out = NULL;
	if (cfg->pem_dir == NULL || cfg->archive_dir == NULL) {
		log_error("pem_dir and archive_dir must be set for the PEM store");
		return -1;
	}
	ps = xcalloc(1, sizeof(*ps));
	ps->base.ops = &pem_ops;
	ps->dir = xstrdup(cfg->pem_dir);
	ps->archive = xstrdup(cfg->archive_dir);
	ps->retention_days = cfg->archive_retention_days;
	ps->dir_mode = mode == ADENROLL_MODE_USER ? 0700 : 0755;
	ps->cfg = cfg;
	if (cfg->state_dir != NULL)
		ps->held_path = fs_path_join(cfg->state_dir, HELD_INDEX_FILE);
	store_index_init(&ps->fresh);
	*out = &ps->base;
	return 0;
}
