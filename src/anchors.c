/* Trust anchors from LDAP into files.  Layout (docs/stores.md, "Trust anchors"):
 *
 *   <anchors_dir>/adenroll-<ca cn>-<sha256 prefix>.crt   one per root (CN=Certification Authorities)
 *   <anchors_dir>/adenroll-roots.pem                     all roots, one bundle
 *   <anchors_dir>/adenroll-intermediates/<ca cn>-<sha256 prefix>.pem   CN=AIA
 *   <anchors_dir>/adenroll-ntauth/<ca cn>-<sha256 prefix>.pem          CN=NTAuthCertificates
 *   <state_dir>/anchors.manifest                         what adenroll wrote (absolute paths)
 *
 * anchors_dir may be the distribution's anchor directory: only roots sit at
 * its top level.  update-ca-certificates takes *.crt (recursively) and
 * update-ca-trust takes the files of the directory itself, so the AIA and
 * NTAuth certificates, which are not trust anchors, are .pem files in
 * subdirectories.  The manifest lives in state_dir, not among the
 * anchors, so trust tools never try to parse it. */
#include "adenroll-build.h"

#include "anchors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert.h"
#include "fsutil.h"
#include "log.h"
#include "openssl_loader.h"
#include "runner.h"
#include "trust_policy.h"
#include "util.h"

#define MANIFEST "anchors.manifest"
#define MANIFEST_HEADER "# files adenroll wrote from the directory's CA certificates (do not edit)\n"
#define BUNDLE "adenroll-roots.pem"
#define DIR_AIA "adenroll-intermediates"
#define DIR_NTAUTH "adenroll-ntauth"
#define MAX_FILE (4u << 20)

struct wanted {
	char *path;
	char *pem;
};
struct wanted_set {
	struct wanted *v;
	size_t n;
	struct strlist fps;   /* "<kind>:<sha256>" seen, to skip duplicates */
};

static void wanted_add(struct wanted_set *w, char *path, char *pem)
{
	w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n].path = path;
	w->v[w->n].pem = pem;
	w->n++;
}

static void wanted_free(struct wanted_set *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		free(w->v[i].path);
		free(w->v[i].pem);
	}
	free(w->v);
	strlist_free(&w->fps);
	memset(w, 0, sizeof(*w));
}

/* The subject CN (else the whole subject) made safe for a file name. */
static char *name_of(X509 *x)
{
	X509_NAME *subj = X509_get_subject_name(x);
	int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	char *s;
	size_t i;
	int len = -1;

	if (idx >= 0)
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
	s = len > 0 ? xstrndup((char *)utf8, (size_t)len > 80 ? 80 : (size_t)len) : xstrdup("ca");
	OPENSSL_free(utf8);
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			s[i] = '_';
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

static void bundle_append(char **bundle, const char *pem)
{
	char *b = xasprintf("%s%s", *bundle != NULL ? *bundle : "", pem);

	free(*bundle);
	*bundle = b;
}

/* Adds one file per certificate of l; roots also go into *bundle, and only
 * the roots the trust policy allows (trust_policy.h): the others are named
 * with what to set. */
static void add_kind(const struct config *cfg, const char *dc, struct wanted_set *w,
		     const struct bloblist *l, const char *kind, const char *dir, const char *prefix,
		     const char *ext, char **bundle)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		X509 *x = cert_from_der(l->v[i].data, l->v[i].len);
		char fp[65], *key, *name, *pem;

		if (x == NULL || cert_sha256_hex(x, fp, sizeof(fp)) != 0) {
			log_warn("ignoring a %s certificate from the directory that does not parse", kind);
			X509_free(x);
			continue;
		}
		if (bundle != NULL) {
			struct trust_verdict v;

			trust_policy_decide(cfg, dc, x, &v);
			if (!v.allowed) {
				char *subj = cert_subject_text(x);

				log_warn("not adding the root CA %s from the directory to %s: %s", subj ? subj : "?",
					 cfg->anchors_dir, v.why);
				free(subj);
				X509_free(x);
				continue;
			}
		}
		key = xasprintf("%s:%s", kind, fp);
		if (strlist_contains_ci(&w->fps, key) || (pem = cert_to_pem(x)) == NULL) {
			free(key);
			X509_free(x);
			continue;
		}
		strlist_add(&w->fps, key);
		free(key);
		name = name_of(x);
		wanted_add(w, xasprintf("%s/%s%s-%.16s.%s", dir, prefix, name, fp, ext), xstrdup(pem));
		if (bundle != NULL)
			bundle_append(bundle, pem);
		free(name);
		free(pem);
		X509_free(x);
	}
}

static int manifest_load(const char *path, struct strlist *out)
{
	unsigned char *buf = NULL;
	char *line, *save = NULL;

	memset(out, 0, sizeof(*out));
	if (fs_read_file(path, MAX_FILE, &buf, NULL) != 0)
		return errno == ENOENT ? 0 : -1;
	for (line = strtok_r((char *)buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '/')
			strlist_add(out, line);
	free(buf);
	return 0;
}

static int manifest_save(const char *path, const struct strlist *l)
{
	size_t cap = sizeof(MANIFEST_HEADER), used, i;
	char *buf;
	int ret;

	for (i = 0; i < l->n; i++)
		cap += strlen(l->v[i]) + 1;
	buf = xmalloc(cap);
	used = (size_t)snprintf(buf, cap, "%s", MANIFEST_HEADER);
	for (i = 0; i < l->n; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s\n", l->v[i]);
	ret = fs_write_atomic(path, buf, used, 0644, (uid_t)-1);
	free(buf);
	return ret;
}

static bool strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* 1 when path holds exactly content, 0 when it differs or is missing, -1 unreadable. */
static int same_content(const char *path, const char *content)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int r;

	if (fs_read_file(path, MAX_FILE, &buf, &len) != 0)
		return errno == ENOENT ? 0 : -1;
	r = len == strlen(content) && memcmp(buf, content, len) == 0;
	free(buf);
	return r;
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return xstrndup(path, slash != NULL && slash != path ? (size_t)(slash - path) : 1);
}

/* A root file of ours the directory no longer lists, read from a DC that is
 * not pinned: that DC must not be able to take it out of the trust store by
 * leaving it out (a denial of service any rogue DC could mount).  It goes
 * only when root_fingerprints is set and does not list it (the admin named
 * the complete list), or when a pinned DC's directory drops it.  With
 * neither key set, roots written before stay (only new ones need them).
 * 1 kept (its PEM appended to *bundle), 0 not kept. */
static int keep_listed_root(const struct config *cfg, const char *path, char **bundle)
{
	const char *base = strrchr(path, '/');
	unsigned char *buf = NULL;
	size_t len = 0, blen;
	char *dir = parent_of(path), *pem = NULL;
	X509 *x = NULL;
	struct trust_verdict v;
	int kept = 0;

	blen = base ? strlen(base + 1) : 0;
	if (base == NULL || strcmp(dir, cfg->anchors_dir) != 0 || strncmp(base + 1, "adenroll-", 9) != 0 ||
	    blen < 4 || strcmp(base + 1 + blen - 4, ".crt") != 0)
		goto out;
	if (fs_read_file(path, MAX_FILE, &buf, &len) != 0 || (x = cert_from_buffer(buf, len)) == NULL)
		goto out;
	trust_policy_decide(cfg, NULL, x, &v);
	if ((cfg->root_fingerprints.n > 0 && !v.by_fingerprint) || (pem = cert_to_pem(x)) == NULL)
		goto out;
	log_warn("keeping %s: the directory no longer lists this root CA, but the DC that answered is not in "
		 "pinned_dcs%s", path, v.by_fingerprint ? " and root_fingerprints lists it"
						 : "; set pinned_dcs or root_fingerprints to let it be removed");
	bundle_append(bundle, pem);
	kept = 1;
out:
	free(dir);
	free(buf);
	free(pem);
	X509_free(x);
	return kept;
}

/* Removes a file the manifest lists: 0 removed, 1 nothing to remove (gone,
 * or no longer a regular file: left alone with a warning), -1 error (logged). */
static int remove_owned(const char *path, const char *why)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 1;
	if (!S_ISREG(st.st_mode)) {
		log_warn("%s is no longer a regular file; not removing it", path);
		return 1;
	}
	if (unlink(path) != 0) {
		log_error("cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	log_info("removed %s: %s", path, why);
	fs_fsync_parent(path);
	return 0;
}

int anchors_write(const struct config *cfg, const struct directory *d, bool *changed)
{
	struct wanted_set w;
	struct strlist owned, next = { NULL, 0 }, all = { NULL, 0 }, kept = { NULL, 0 };
	char *manifest = NULL, *bundle = NULL, *sub = NULL;
	struct stat st;
	size_t i;
	int ret = -1;

	*changed = false;
	memset(&w, 0, sizeof(w));
	memset(&owned, 0, sizeof(owned));
	if (cfg->anchors_dir == NULL)
		return 0;
	if (cfg->state_dir == NULL) {
		log_error("anchors_dir needs state_dir (where adenroll records which anchor files it wrote)");
		return -1;
	}
	/* An empty root list is more likely a directory read gone wrong than a
	 * forest without CAs: keep what is there. */
	if (d->root_cas.n == 0) {
		log_warn("the directory lists no root CA (CN=Certification Authorities); leaving %s as it is",
			 cfg->anchors_dir);
		return 0;
	}
	manifest = fs_path_join(cfg->state_dir, MANIFEST);
	if (manifest_load(manifest, &owned) != 0)
		goto out;

	add_kind(cfg, d->dc, &w, &d->root_cas, "root", cfg->anchors_dir, "adenroll-", "crt", &bundle);
	if (!trust_policy_dc_is_pinned(cfg, d->dc))
		for (i = 0; i < owned.n; i++) {
			bool wanted = false;

			for (size_t j = 0; j < w.n && !wanted; j++)
				wanted = strcmp(w.v[j].path, owned.v[i]) == 0;
			if (!wanted && keep_listed_root(cfg, owned.v[i], &bundle))
				strlist_add(&kept, owned.v[i]);
		}
	if (bundle != NULL) {
		wanted_add(&w, fs_path_join(cfg->anchors_dir, BUNDLE), bundle);
		bundle = NULL;
	}
	sub = fs_path_join(cfg->anchors_dir, DIR_AIA);
	add_kind(cfg, d->dc, &w, &d->aia_cas, "AIA", sub, "", "pem", NULL);
	free(sub);
	sub = fs_path_join(cfg->anchors_dir, DIR_NTAUTH);
	add_kind(cfg, d->dc, &w, &d->ntauth_cas, "NTAuth", sub, "", "pem", NULL);
	for (i = 0; i < kept.n; i++)
		strlist_add(&next, kept.v[i]);

	/* Files someone else put under one of our names stay theirs. */
	for (i = 0; i < w.n; i++) {
		int same;

		if (strlist_has(&owned, w.v[i].path) || lstat(w.v[i].path, &st) != 0) {
			strlist_add(&next, w.v[i].path);
			continue;
		}
		same = same_content(w.v[i].path, w.v[i].pem);
		if (same == 1 && S_ISREG(st.st_mode)) {
			strlist_add(&next, w.v[i].path);   /* identical: ours from now on */
		} else {
			log_warn("%s exists and was not written by adenroll; leaving it alone", w.v[i].path);
			free(w.v[i].pem);
			w.v[i].pem = NULL;
		}
	}
	/* Record first what may exist after this run, so a crash never leaves
	 * a file of ours unrecorded. */
	for (i = 0; i < owned.n; i++)
		strlist_add(&all, owned.v[i]);
	for (i = 0; i < next.n; i++)
		if (!strlist_has(&all, next.v[i]))
			strlist_add(&all, next.v[i]);
	if (fs_mkdir_p(cfg->state_dir, 0755) != 0 || manifest_save(manifest, &all) != 0)
		goto out;

	for (i = 0; i < w.n; i++) {
		char *dir;
		int same;

		if (w.v[i].pem == NULL)
			continue;
		same = same_content(w.v[i].path, w.v[i].pem);
		if (same == 1)
			continue;
		dir = parent_of(w.v[i].path);
		if (fs_mkdir_p(dir, 0755) != 0 ||
		    fs_write_atomic(w.v[i].path, w.v[i].pem, strlen(w.v[i].pem), 0644, (uid_t)-1) != 0) {
			free(dir);
			goto out;
		}
		free(dir);
		log_info("wrote trust anchor file %s", w.v[i].path);
		*changed = true;
	}
	for (i = 0; i < owned.n; i++) {
		char *dir;

		if (strlist_has(&next, owned.v[i]))
			continue;
		switch (remove_owned(owned.v[i], "its CA is no longer in the directory")) {
		case -1:
			goto out;
		case 0:
			*changed = true;
			break;
		default:
			break;
		}
		dir = parent_of(owned.v[i]);
		if (strcmp(dir, cfg->anchors_dir) != 0)
			rmdir(dir);   /* our subdirectory, once empty; fails harmlessly otherwise */
		free(dir);
	}
	if (manifest_save(manifest, &next) != 0)
		goto out;
	ret = 0;
	if (*changed && cfg->update_system_trust && anchors_update_system_trust(cfg) != 0)
		ret = -1;
out:
	wanted_free(&w);
	strlist_free(&owned);
	strlist_free(&next);
	strlist_free(&all);
	strlist_free(&kept);
	free(manifest);
	free(bundle);
	free(sub);
	return ret;
}

/* Through the runner (runner.h): a hung tool is killed at the timeout
 * instead of stalling the run that holds the lock, its output (progress on
 * stdout, errors on stderr) is logged, and it gets none of our
 * environment or descriptors. */
static int run_tool(const char *path, const char *arg, unsigned timeout)
{
	const char *argv[] = { path, arg, NULL };
	const char *slash = strrchr(path, '/');
	struct runner_cmd cmd = {
		.argv = argv,
		.timeout_seconds = timeout,
		.log_name = slash ? slash + 1 : path,
	};
	struct runner_result res;
	char how[256];

	if (runner_run(&cmd, &res) != 0) {
		runner_describe(&res, timeout, how, sizeof how);
		log_error("%s %s; the system trust store may not list the directory's roots yet%s", path, how,
			  res.end == RUNNER_TIMED_OUT ? " (raise trust_update_timeout in [store] if it needs longer)"
						      : "");
		return -1;
	}
	log_info("updated the system trust store with %s", path);
	return 0;
}

int anchors_update_system_trust(const struct config *cfg)
{
	static const char *const trust[] = { "/usr/bin/update-ca-trust", "/usr/sbin/update-ca-trust",
					     "/bin/update-ca-trust" };
	static const char *const certs[] = { "/usr/sbin/update-ca-certificates",
					     "/usr/bin/update-ca-certificates", "/sbin/update-ca-certificates" };
	unsigned timeout = cfg->trust_update_timeout > 0 ? (unsigned)cfg->trust_update_timeout
							 : ANCHORS_TRUST_UPDATE_TIMEOUT_DEFAULT;
	size_t i;

	for (i = 0; i < sizeof(trust) / sizeof(trust[0]); i++)
		if (access(trust[i], X_OK) == 0)
			return run_tool(trust[i], "extract", timeout);
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		if (access(certs[i], X_OK) == 0)
			return run_tool(certs[i], NULL, timeout);
	log_error("neither update-ca-trust nor update-ca-certificates is installed; "
		  "cannot update the system trust store (install ca-certificates)");
	return -1;
}

int anchors_remove_all(const struct config *cfg, unsigned *removed)
{
	struct strlist owned, kept = { NULL, 0 };
	char *manifest;
	int ret = -1;

	*removed = 0;
	if (cfg->state_dir == NULL)
		return 0;
	manifest = fs_path_join(cfg->state_dir, MANIFEST);
	if (manifest_load(manifest, &owned) != 0)
		goto out;
	for (size_t i = 0; i < owned.n; i++) {
		char *dir;

		switch (remove_owned(owned.v[i], "adenroll manages no certificate any more")) {
		case -1:
			strlist_add(&kept, owned.v[i]);
			continue;
		case 0:
			(*removed)++;
			break;
		default:
			break;
		}
		dir = parent_of(owned.v[i]);
		{
			const char *base = strrchr(dir, '/');

			/* only our own subdirectories (adenroll-ntauth/ ...), once empty */
			if (base && strncmp(base + 1, "adenroll-", 9) == 0)
				rmdir(dir);
		}
		free(dir);
	}
	/* What could not be removed stays recorded as ours. */
	if (owned.n > 0 && manifest_save(manifest, &kept) != 0)
		goto out;
	ret = kept.n == 0 ? 0 : -1;
	if (*removed > 0 && cfg->update_system_trust && anchors_update_system_trust(cfg) != 0)
		ret = -1;
out:
	strlist_free(&owned);
	strlist_free(&kept);
	free(manifest);
	return ret;
}
