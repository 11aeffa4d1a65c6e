/* Run state.  Layout under cfg->state_dir (already per user in --user mode,
 * see config_apply_user_mode):
 *   pending/<name>.req   template_cn, ca_name, ca_host, request_id, submitted
 *                        (+ transport=ces, endpoint=URL for CES; absent = certsrv)
 *   pending/<name>.key   the key waiting for its certificate (0600)
 *   pending/<name>.csr   the request as submitted
 *   last-run             facts about the last pulse, for metrics
 * <name> is state_file_stem(cn): the cn itself when it is short and made of
 * [A-Za-z0-9_-], else a short readable prefix, '~' and a hash of the whole
 * cn, so it fits NAME_MAX for any cn and two cns never share files; the
 * full cn is recorded inside the .req file.  Earlier versions named
 * the files with every byte outside [A-Za-z0-9_-] as %XX; such files are
 * still read and removed.  The .req file is written last and removed first:
 * it is what makes a request pending. */
#include "adenroll-build.h"

#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "keyproc.h"
#include "log.h"
#include "openssl_loader.h"
#include "sha256.h"
#include "util.h"

#define MAX_STATE_FILE (1u << 20)

/* The name earlier versions used: unbounded (3 bytes per non-ASCII byte),
 * kept to find what they recorded. */
static char *legacy_name(const char *cn)
{
	size_t n = strlen(cn), i, o = 0;
	char *out = xmalloc(n * 3 + 1);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)cn[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 4, "%%%02X", c);
	}
	out[o] = '\0';
	return out;
}

char *state_file_stem(const char *cn)
{
	unsigned char md[SHA256_LEN];
	char prefix[STATE_STEM_PREFIX_MAX + 1], hex[2 * 16 + 1];
	size_t o = 0, len = strlen(cn);
	bool plain = len > 0 && len <= STATE_STEM_PLAIN_MAX;
	const char *p;

	for (p = cn; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '_' || c == '-';

		plain = plain && safe;
		if (o < STATE_STEM_PREFIX_MAX && (safe || c < 0x80))
			prefix[o++] = safe ? (char)c : '_';
		/* bytes of non-ASCII characters leave no trace in the prefix */
	}
	if (plain)
		return xstrdup(cn);
	prefix[o] = '\0';
	sha256(cn, len, md);
	sha256_hex(md, 16, hex);
	/* '~' is never in a plain stem: a hashed stem cannot equal another cn's plain one */
	return xasprintf("%s~%s", prefix, hex);
}

static char *pending_dir(const struct config *cfg)
{
	return fs_path_join(cfg->state_dir, "pending");
}

static char *pending_path(const struct config *cfg, const char *cn, const char *ext)
{
	char *dir = pending_dir(cfg), *name = state_file_stem(cn);
	char *p = xasprintf("%s/%s.%s", dir, name, ext);

	free(dir);
	free(name);
	return p;
}

/* Where an older version kept the file, NULL when that name could not exist. */
static char *legacy_pending_path(const struct config *cfg, const char *cn, const char *ext)
{
	char *name = legacy_name(cn), *dir, *p = NULL;

	if (strlen(name) + 1 + strlen(ext) <= NAME_MAX) {
		dir = pending_dir(cfg);
		p = xasprintf("%s/%s.%s", dir, name, ext);
		free(dir);
	}
	free(name);
	return p;
}

/* "<dir>/<name>.req" -> "<dir>/<name>.<ext>" */
static char *sibling_path(const char *req_path, const char *ext)
{
	size_t n = strlen(req_path);

	return xasprintf("%.*s.%s", (int)(n - 4), req_path, ext);
}

static bool text_is_clean(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int state_pending_save(const struct config *cfg, enum adenroll_mode mode,
		       const struct pending_request *pr, EVP_PKEY *key, const char *csr_pem)
{
	char *dir = pending_dir(cfg), *kp = NULL, *cp = NULL, *rp = NULL, *req = NULL, *data;
	char why[512];
	BIO *bio = NULL;
	long len;
	int ret = -1;

	(void)mode;   /* state_dir is already per mode */
	keyproc_assert_key_side("recording a pending private key");
	if (!text_is_clean(pr->template_cn) || !text_is_clean(pr->ca_name) || !text_is_clean(pr->ca_host) ||
	    !text_is_clean(pr->transport) || !text_is_clean(pr->endpoint)) {
		log_error("refusing to record a pending request with control characters in its names");
		goto out;
	}
	if (fs_mkdir_p(dir, 0700) != 0)
		goto out;
	if (state_dirs_trusted(cfg, why, sizeof(why)) != 0) {
		log_error("not recording the pending request for template %s with its key: %s",
			  pr->template_cn, why);
		goto out;
	}
	kp = pending_path(cfg, pr->template_cn, "key");
	cp = pending_path(cfg, pr->template_cn, "csr");
	rp = pending_path(cfg, pr->template_cn, "req");
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(bio, &data)) < 0) {
		log_error("cannot encode the private key of the pending request for template %s",
			  pr->template_cn);
		goto out;
	}
	if (fs_write_atomic(kp, data, (size_t)len, 0600, (uid_t)-1) != 0)
		goto out;
	if (csr_pem != NULL && fs_write_atomic(cp, csr_pem, strlen(csr_pem), 0644, (uid_t)-1) != 0)
		goto out;
	req = xasprintf("template_cn=%s\nca_name=%s\nca_host=%s\nrequest_id=%ld\nsubmitted=%lld\n",
			pr->template_cn, pr->ca_name ? pr->ca_name : "", pr->ca_host ? pr->ca_host : "",
			pr->request_id, (long long)pr->submitted);
	if (pr->transport && pr->endpoint) {
		char *more = xasprintf("%stransport=%s\nendpoint=%s\n", req, pr->transport, pr->endpoint);
		free(req);
		req = more;
	}
	if (fs_write_atomic(rp, req, strlen(req), 0600, (uid_t)-1) != 0)
		goto out;
	ret = 0;
out:
	BIO_free(bio);
	free(dir);
	free(kp);
	free(cp);
	free(rp);
	free(req);
	return ret;
}

static void parse_req(char *text, struct pending_request *out)
{
	char *line, *save = NULL, *eq;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "template_cn") == 0 && out->template_cn == NULL)
			out->template_cn = xstrdup(eq);
		else if (strcmp(line, "ca_name") == 0 && out->ca_name == NULL && *eq != '\0')
			out->ca_name = xstrdup(eq);
		else if (strcmp(line, "ca_host") == 0 && out->ca_host == NULL && *eq != '\0')
			out->ca_host = xstrdup(eq);
		else if (strcmp(line, "request_id") == 0)
			out->request_id = strtol(eq, NULL, 10);
		else if (strcmp(line, "submitted") == 0)
			out->submitted = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "transport") == 0 && out->transport == NULL && *eq != '\0')
			out->transport = xstrdup(eq);
		else if (strcmp(line, "endpoint") == 0 && out->endpoint == NULL && *eq != '\0')
			out->endpoint = xstrdup(eq);
	}
}

/* Loads <path> (a .req file) into out, with the paths of its key and
 * request beside it; 1, 0 when missing, -1. */
static int load_req(const char *path, struct pending_request *out)
{
	unsigned char *buf = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (fs_read_file(path, MAX_STATE_FILE, &buf, &len) != 0)
		return errno == ENOENT ? 0 : -1;
	parse_req((char *)buf, out);
	free(buf);
	if (out->template_cn == NULL || out->request_id <= 0) {
		log_error("%s is incomplete (no template or request id); remove it to forget the request",
			  path);
		state_pending_free(out);
		return -1;
	}
	out->key_path = sibling_path(path, "key");
	out->csr_path = sibling_path(path, "csr");
	return 1;
}

int state_pending_load(const struct config *cfg, enum adenroll_mode mode,
		       const char *template_cn, struct pending_request *out, EVP_PKEY **key)
{
	char *rp = pending_path(cfg, template_cn, "req");
	BIO *bio = NULL;
	int ret;

	(void)mode;
	if (key != NULL) {
		keyproc_assert_key_side("reading a pending private key");
		*key = NULL;
	}
	ret = load_req(rp, out);
	if (ret == 0) {
		free(rp);
		rp = legacy_pending_path(cfg, template_cn, "req");
		if (rp != NULL)
			ret = load_req(rp, out);
	}
	if (ret != 1)
		goto out;
	if (key != NULL) {
		bio = BIO_new_file(out->key_path, "r");
		if (bio != NULL)
			*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		if (*key == NULL) {
			log_error("cannot load the private key of the pending request for template %s from %s",
				  template_cn, out->key_path);
			state_pending_free(out);
			ret = -1;
		}
	}
out:
	if (bio)   /* even with NULL, a call loads OpenSSL */
		BIO_free(bio);
	free(rp);
	return ret;
}

/* Calls take(path, arg) for each file of the state directory dir whose
 * name ends with suffix ("" for any) and does not start with a dot
 * (temporary files).  0, also when dir does not exist (nothing recorded),
 * or -1 logged. */
static int each_file(const char *dir, const char *suffix, void (*take)(const char *path, void *arg), void *arg)
{
	size_t sl = strlen(suffix), len;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		log_error("cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *p;

		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= sl || strcmp(de->d_name + len - sl, suffix) != 0)
			continue;
		p = fs_path_join(dir, de->d_name);
		take(p, arg);
		free(p);
	}
	closedir(d);
	return 0;
}

struct pending_found {
	struct pending_request *v;
	size_t n;
};

static void take_pending(const char *path, void *arg)
{
	struct pending_found *f = arg;
	struct pending_request pr;

	if (load_req(path, &pr) != 1)
		return;
	f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
	f->v[f->n++] = pr;
}

int state_pending_list(const struct config *cfg, enum adenroll_mode mode,
		       struct pending_request **out, size_t *n)
{
	char *dir = pending_dir(cfg);
	struct pending_found f = { NULL, 0 };
	int r;

	(void)mode;
	r = each_file(dir, ".req", take_pending, &f);
	free(dir);
	*out = f.v;
	*n = f.n;
	return r;
}

static int remove_set(char *const paths[3])
{
	int ret = 0;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (unlink(paths[i]) != 0 && errno != ENOENT) {
			log_error("cannot remove %s: %s", paths[i], strerror(errno));
			ret = -1;
		}
		if (i == 0 && ret == 0 && fs_fsync_parent(paths[i]) != 0)
			ret = -1;
		if (ret != 0)
			break;
	}
	return ret;
}

int state_pending_remove(const struct config *cfg, enum adenroll_mode mode, const char *template_cn)
{
	const char *exts[3] = { "req", "key", "csr" };
	char *cur[3], *old[3];
	int ret = 0;
	size_t i;

	(void)mode;
	for (i = 0; i < 3; i++) {
		cur[i] = pending_path(cfg, template_cn, exts[i]);
		old[i] = legacy_pending_path(cfg, template_cn, exts[i]);
	}
	if (remove_set(cur) != 0 || (old[0] != NULL && remove_set(old) != 0))
		ret = -1;
	for (i = 0; i < 3; i++) {
		free(cur[i]);
		free(old[i]);
	}
	return ret;
}

void state_pending_free(struct pending_request *pr)
{
	if (pr == NULL)
		return;
	free(pr->template_cn);
	free(pr->ca_name);
	free(pr->ca_host);
	free(pr->transport);
	free(pr->endpoint);
	free(pr->key_path);
	free(pr->csr_path);
	memset(pr, 0, sizeof(*pr));
}

void state_pending_list_free(struct pending_request *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		state_pending_free(&v[i]);
	free(v);
}

/* ---- hooks owed ---- */

static char *owed_path(const struct config *cfg, const char *cn)
{
	char *stem = state_file_stem(cn), *p = xasprintf("%s/hooks-owed/%s", cfg->state_dir, stem);

	free(stem);
	return p;
}

int state_hooks_owed_save(const struct config *cfg, enum adenroll_mode mode, const struct hooks_owed *h)
{
	char *dir = fs_path_join(cfg->state_dir, "hooks-owed"), *p = NULL, *text = NULL;
	int ret = -1;

	(void)mode;
	if (!text_is_clean(h->template_cn) || !text_is_clean(h->event) || !text_is_clean(h->serial) ||
	    !text_is_clean(h->ca_name)) {
		log_error("refusing to record hooks owed with control characters in their names");
		goto out;
	}
	if (fs_mkdir_p(dir, 0700) != 0)
		goto out;
	p = owed_path(cfg, h->template_cn);
	text = xasprintf("template_cn=%s\nevent=%s\nserial=%s\nca_name=%s\nrequest_id=%ld\n"
			 "not_after=%lld\nrecorded=%lld\n",
			 h->template_cn, h->event, h->serial ? h->serial : "", h->ca_name ? h->ca_name : "",
			 h->request_id, (long long)h->not_after, (long long)h->recorded);
	ret = fs_write_atomic(p, text, strlen(text), 0600, (uid_t)-1);
out:
	free(dir);
	free(p);
	free(text);
	return ret;
}

static void owed_free(struct hooks_owed *h)
{
	free(h->template_cn);
	free(h->event);
	free(h->serial);
	free(h->ca_name);
	memset(h, 0, sizeof(*h));
}

static int owed_parse(char *text, struct hooks_owed *h)
{
	char *line, *save = NULL, *eq;

	memset(h, 0, sizeof(*h));
	h->request_id = -1;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "template_cn") == 0 && h->template_cn == NULL && *eq != '\0')
			h->template_cn = xstrdup(eq);
		else if (strcmp(line, "event") == 0 && h->event == NULL && *eq != '\0')
			h->event = xstrdup(eq);
		else if (strcmp(line, "serial") == 0 && h->serial == NULL && *eq != '\0')
			h->serial = xstrdup(eq);
		else if (strcmp(line, "ca_name") == 0 && h->ca_name == NULL && *eq != '\0')
			h->ca_name = xstrdup(eq);
		else if (strcmp(line, "request_id") == 0)
			h->request_id = strtol(eq, NULL, 10);
		else if (strcmp(line, "not_after") == 0)
			h->not_after = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "recorded") == 0)
			h->recorded = (time_t)strtoll(eq, NULL, 10);
	}
	if (h->template_cn == NULL || h->event == NULL || h->serial == NULL) {
		owed_free(h);
		return -1;
	}
	return 0;
}

struct owed_found {
	struct hooks_owed *v;
	size_t n;
};

static void take_owed(const char *path, void *arg)
{
	struct owed_found *f = arg;
	unsigned char *buf = NULL;
	struct hooks_owed h;

	if (fs_read_file(path, MAX_STATE_FILE, &buf, NULL) == 0) {
		if (owed_parse((char *)buf, &h) == 0) {
			f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
			f->v[f->n++] = h;
		} else {
			log_warn("%s is incomplete (no template, event or serial); ignoring it", path);
		}
	}
	free(buf);
}

int state_hooks_owed_list(const struct config *cfg, enum adenroll_mode mode,
			  struct hooks_owed **out, size_t *n)
{
	char *dir = fs_path_join(cfg->state_dir, "hooks-owed");
	struct owed_found f = { NULL, 0 };
	int r;

	(void)mode;
	r = each_file(dir, "", take_owed, &f);
	free(dir);
	*out = f.v;
	*n = f.n;
	return r;
}

int state_hooks_owed_remove(const struct config *cfg, enum adenroll_mode mode, const char *template_cn)
{
	char *p = owed_path(cfg, template_cn);
	int ret = 0;

	(void)mode;
	if (unlink(p) != 0) {
		if (errno != ENOENT) {
			log_error("cannot remove %s: %s", p, strerror(errno));
			ret = -1;
		}
	} else if (fs_fsync_parent(p) != 0) {
		ret = -1;
	}
	free(p);
	return ret;
}

void state_hooks_owed_list_free(struct hooks_owed *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		owed_free(&v[i]);
	free(v);
}

void state_tidy(const struct config *cfg, enum adenroll_mode mode)
{
	int fd;
	DIR *d;
	struct dirent *de;
	struct stat st;

	(void)mode;
	if (cfg->state_dir == NULL || fs_remove_stale_temps(cfg->state_dir) < 0)
		return;
	fd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		sub = fs_path_join(cfg->state_dir, de->d_name);
		if (fs_remove_stale_temps(sub) < 0)
			log_warn("cannot look for leftovers of interrupted runs in %s: %s", sub, strerror(errno));
		free(sub);
	}
	closedir(d);
}

int state_dirs_trusted(const struct config *cfg, char *why, size_t whylen)
{
	char *pending;
	int ret;

	if (cfg->state_dir == NULL)
		return 0;
	if (fs_dir_trusted(cfg->state_dir, why, whylen) != 0)
		return -1;
	pending = pending_dir(cfg);
	ret = fs_dir_trusted(pending, why, whylen);
	free(pending);
	return ret;
}

int state_last_run_save(const struct config *cfg, enum adenroll_mode mode, const struct last_run *r)
{
	char *p = fs_path_join(cfg->state_dir, "last-run");
	char *text = xasprintf("finished=%lld\nexit_code=%d\nenrolled=%u\nrenewed=%u\npending=%u\nfailed=%u\n",
			       (long long)r->finished, r->exit_code, r->enrolled, r->renewed,
			       r->pending, r->failed);
	int ret = -1;

	(void)mode;
	if (fs_mkdir_p(cfg->state_dir, 0755) == 0)
		ret = fs_write_atomic(p, text, strlen(text), 0644, (uid_t)-1);
	free(p);
	free(text);
	return ret;
}

int state_last_run_load(const struct config *cfg, enum adenroll_mode mode, struct last_run *r)
{
	char *p = fs_path_join(cfg->state_dir, "last-run"), *line, *save = NULL, *eq;
	unsigned char *buf = NULL;
	int ret;

	(void)mode;
	memset(r, 0, sizeof(*r));
	if (fs_read_file(p, MAX_STATE_FILE, &buf, NULL) != 0) {
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	for (line = strtok_r((char *)buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "finished") == 0)
			r->finished = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "exit_code") == 0)
			r->exit_code = (int)strtol(eq, NULL, 10);
		else if (strcmp(line, "enrolled") == 0)
			r->enrolled = (unsigned)strtoul(eq, NULL, 10);
		else if (strcmp(line, "renewed") == 0)
			r->renewed = (unsigned)strtoul(eq, NULL, 10);
		else if (strcmp(line, "pending") == 0)
			r->pending = (unsigned)strtoul(eq, NULL, 10);
		else if (strcmp(line, "failed") == 0)
			r->failed = (unsigned)strtoul(eq, NULL, 10);
	}
	ret = 1;
out:
	free(buf);
	free(p);
	return ret;
}
