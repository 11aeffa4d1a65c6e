/* The store front: opens the back-ends the configuration selects and fans
 * calls out to them, so enrollment code never names a back-end. */
#include "adenroll-build.h"

#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "directory.h"
#include "fsutil.h"
#include "keyproc.h"
#include "log.h"
#include "openssl_loader.h"
#include "revocation.h"
#include "strmap.h"
#include "util.h"

#define STORE_MAX_BACKENDS 2

struct store {
	struct store_backend *b[STORE_MAX_BACKENDS];
	size_t n;
};

int store_open(const struct config *cfg, enum adenroll_mode mode, struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));

	*out = NULL;
	if (cfg->store_types & STORE_PEM) {
		if (store_pem_open(cfg, mode, &s->b[s->n]) != 0)
			goto fail;
		s->n++;
	}
	if (cfg->store_types & STORE_NSS) {
#ifdef HAVE_NSS
		if (store_nss_open(cfg, mode, &s->b[s->n]) != 0)
			goto fail;
		s->n++;
#else
		log_error("store type nss is not available: this adenroll was built without NSS support; "
			  "set types = pem in %s", cfg->path ? cfg->path : "the configuration");
		goto fail;
#endif
	}
	if (s->n == 0) {
		log_error("no certificate store configured; set store = pem in %s",
			  cfg->path ? cfg->path : "the configuration");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		s->b[i]->ops->close(s->b[i]);
	free(s);
}

static int list_from(struct store *s, bool indexed, struct store_item **items, size_t *n)
{
	struct store_item *all = NULL, *part;
	size_t total = 0, np, i, j;

	*items = NULL;
	*n = 0;
	for (i = 0; i < s->n; i++) {
		const struct store_backend_ops *ops = s->b[i]->ops;
		int r = ops->list_indexed != NULL ? ops->list_indexed(s->b[i], &part, &np)
						  : ops->list(s->b[i], &part, &np);

		if (r != 0) {
			store_items_free(all, total);
			return -1;
		}
		for (j = 0; j < np; j++) {
			struct store_item *it = &part[j];

			it->store_name = ops->name;
			if (it->cert == NULL && !indexed && store_item_cert(it) == NULL) {
				/* as an unreadable certificate always was: logged and left out */
				store_item_free_contents(it);
				continue;
			}
			if (!it->has_facts)
				store_item_set_facts(it);
			if (total % 16 == 0)
				all = xrealloc(all, (total + 16) * sizeof(*all));
			all[total++] = *it;
		}
		free(part);
	}
	*items = all;
	*n = total;
	return 0;
}

int store_list(struct store *s, struct store_item **items, size_t *n)
{
	return list_from(s, false, items, n);
}

int store_list_indexed(struct store *s, struct store_item **items, size_t *n)
{
	return list_from(s, true, items, n);
}

X509 *store_item_cert(const struct store_item *it)
{
	/* The X509 is a lazily filled part of the item: callers hold it const. */
	struct store_item *mut = (struct store_item *)it;
	unsigned char *buf = NULL;
	size_t len = 0;
	X509 *x = NULL;
	char fp[65];

	if (it->cert != NULL || it->cert_file == NULL)
		return it->cert;
	if (fs_read_file(it->cert_file, STORE_MAX_CERT_FILE, &buf, &len) != 0 ||
	    (x = cert_from_buffer(buf, len)) == NULL) {
		log_warn("cannot load the certificate of template %s from %s; leaving it out",
			 it->template_cn ? it->template_cn : "?", it->cert_file);
		goto out;
	}
	if (it->has_facts && (cert_sha256_hex(x, fp, sizeof(fp)) != 0 || strcmp(fp, it->sha256) != 0)) {
		log_warn("the certificate of template %s in %s changed while this run read the store; "
			 "leaving it out until the next run", it->template_cn ? it->template_cn : "?",
			 it->cert_file);
		X509_free(x);
		x = NULL;
		goto out;
	}
	mut->cert = x;
out:
	free(buf);
	return x;
}

void store_item_set_facts(struct store_item *it)
{
	if (it->cert == NULL)
		return;
	if (cert_serial_hex(it->cert, it->serial, sizeof(it->serial)) != 0)
		it->serial[0] = '\0';
	if (cert_sha256_hex(it->cert, it->sha256, sizeof(it->sha256)) != 0)
		it->sha256[0] = '\0';
	free(it->issuer);
	it->issuer = cert_issuer_text(it->cert);
	it->not_before = cert_not_before(it->cert);
	it->not_after = cert_not_after(it->cert);
	it->has_facts = true;
	free(it->crl_urls);
	it->crl_urls = revocation_cert_urls_text(it->cert, &it->cdp_malformed);
	it->has_crl_facts = it->crl_urls != NULL;
}

/* docs/protocol.md 2.7: the 21.7 templateID decides when both sides have
 * one; the v1 20.2 name otherwise; the recorded name is a last resort for
 * CAs that put neither extension in the certificate.  The first item in
 * list order that matches wins.  One table per branch of that rule, each
 * keeping the first item that takes the branch, so that the smallest index
 * among the branches a template can match is the first match. */
struct store_lookup {
	const struct store_item *items;
	struct strmap by_oid;      /* 21.7 templateID (exact) */
	struct strmap ext_nooid;   /* 20.2 name of items without 21.7 */
	struct strmap ext_all;     /* 20.2 name of any item */
	struct strmap cn_bare;     /* recorded cn of items with neither extension */
	struct strmap cn_noext;    /* recorded cn of items without 20.2 */
	struct strmap cn_all;      /* recorded cn of any item */
	struct strmap templates;   /* cn -> the last template of d with that cn */
	const struct directory *d;
};

struct store_lookup *store_lookup_new(const struct store_item *items, size_t n, const struct directory *d)
{
	struct store_lookup *lk = xcalloc(1, sizeof(*lk));
	size_t i;

	lk->items = items;
	lk->d = d;
	strmap_init(&lk->by_oid, false);
	strmap_init(&lk->ext_nooid, true);
	strmap_init(&lk->ext_all, true);
	strmap_init(&lk->cn_bare, true);
	strmap_init(&lk->cn_noext, true);
	strmap_init(&lk->cn_all, true);
	strmap_init(&lk->templates, true);
	for (i = 0; i < n; i++) {
		const struct store_item *it = &items[i];

		strmap_add_first(&lk->by_oid, it->template_oid, i);
		strmap_add_first(&lk->ext_all, it->ext_template_cn, i);
		strmap_add_first(&lk->cn_all, it->template_cn, i);
		if (it->template_oid == NULL)
			strmap_add_first(&lk->ext_nooid, it->ext_template_cn, i);
		if (it->ext_template_cn == NULL)
			strmap_add_first(&lk->cn_noext, it->template_cn, i);
		if (it->template_oid == NULL && it->ext_template_cn == NULL)
			strmap_add_first(&lk->cn_bare, it->template_cn, i);
	}
	for (i = 0; d != NULL && i < d->n_templates; i++)
		strmap_set(&lk->templates, d->templates[i].cn, i);
	return lk;
}

void store_lookup_free(struct store_lookup *lk)
{
	if (lk == NULL)
		return;
	strmap_free(&lk->by_oid);
	strmap_free(&lk->ext_nooid);
	strmap_free(&lk->ext_all);
	strmap_free(&lk->cn_bare);
	strmap_free(&lk->cn_noext);
	strmap_free(&lk->cn_all);
	strmap_free(&lk->templates);
	free(lk);
}

static size_t min_index(size_t a, size_t b)
{
	/* STRMAP_NONE is the largest size_t */
	return a < b ? a : b;
}

static const struct store_item *item_at(const struct store_lookup *lk, size_t i)
{
	return i == STRMAP_NONE ? NULL : &lk->items[i];
}

const struct store_item *store_lookup_find(const struct store_lookup *lk, const struct template *t)
{
	size_t i;

	if (t->oid != NULL)
		i = min_index(strmap_get(&lk->by_oid, t->oid),
			      min_index(strmap_get(&lk->ext_nooid, t->cn), strmap_get(&lk->cn_bare, t->cn)));
	else
		i = min_index(strmap_get(&lk->ext_all, t->cn), strmap_get(&lk->cn_noext, t->cn));
	return item_at(lk, i);
}

const struct store_item *store_lookup_find_cn(const struct store_lookup *lk, const char *cn)
{
	return item_at(lk, min_index(strmap_get(&lk->ext_all, cn), strmap_get(&lk->cn_all, cn)));
}

const struct store_item *store_lookup_held(const struct store_lookup *lk, const struct template *t,
					   const char **superseded_cn)
{
	const struct store_item *it = store_lookup_find(lk, t);
	size_t i, k;

	*superseded_cn = NULL;
	if (it != NULL)
		return it;
	for (i = 0; i < t->supersedes.n; i++) {
		const char *cn = t->supersedes.v[i];

		k = lk->d != NULL ? strmap_get(&lk->templates, cn) : STRMAP_NONE;
		it = k != STRMAP_NONE ? store_lookup_find(lk, &lk->d->templates[k]) : store_lookup_find_cn(lk, cn);
		if (it != NULL) {
			*superseded_cn = cn;
			return it;
		}
	}
	return NULL;
}

void store_policy_input(struct policy_input *in, time_t now, const struct config *cfg,
			const struct template *t, const struct store_item *held,
			const char *superseded_cn, bool pending)
{
	memset(in, 0, sizeof(*in));
	in->now = now;
	in->t = t;
	in->pending = pending;
	in->renew_expiring = cfg->renew_expiring;
	in->update_templates = cfg->update_templates;
	in->superseded_cn = superseded_cn;
	/* the plan (plan.c) fills in the revocation status when it checks it */
	in->revocation = REVOCATION_NOT_CHECKED;
	if (held == NULL)
		return;
	in->has_cert = true;
	in->not_before = held->has_facts ? held->not_before : cert_not_before(held->cert);
	in->not_after = held->has_facts ? held->not_after : cert_not_after(held->cert);
	in->cert_has_major = held->has_version;
	in->cert_major = held->major;
}

int store_install(struct store *s, const struct template *t, EVP_PKEY *key, X509 *cert,
		  STACK_OF(X509) *chain, const char *ca_name, long request_id,
		  char **archived_to)
{
	struct store_install_args a = {
		.t = t, .key = key, .cert = cert, .chain = chain, .ca_name = ca_name,
		.request_id = request_id, .now = time(NULL),
	};
	char *arch = NULL;
	size_t i;
	int ret = 0;

	keyproc_assert_key_side("installing a private key");
	if (archived_to != NULL)
		*archived_to = NULL;
	if (!cert_matches_key(cert, key)) {
		log_error("not installing the certificate for template %s: it does not match the private key",
			  t->cn);
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		if (s->b[i]->ops->install(s->b[i], &a, &arch) != 0) {
			log_error("installing the certificate for template %s into the %s store failed",
				  t->cn, s->b[i]->ops->name);
			ret = -1;
		}
		if (arch != NULL && archived_to != NULL && *archived_to == NULL)
			*archived_to = arch;
		else
			free(arch);
		arch = NULL;
	}
	return ret;
}

int store_load_key(struct store *s, const struct store_item *it, EVP_PKEY **key)
{
	size_t i;

	keyproc_assert_key_side("reading a held private key");
	*key = NULL;
	for (i = 0; i < s->n; i++) {
		if (it->store_name == NULL || strcmp(s->b[i]->ops->name, it->store_name) != 0)
			continue;
		if (s->b[i]->ops->load_key == NULL || s->b[i]->ops->load_key(s->b[i], it, key) != 0)
			break;
		if (!cert_matches_key(it->cert, *key)) {
			log_error("the held key of template %s in the %s store does not match its certificate",
				  it->template_cn, it->store_name);
			EVP_PKEY_free(*key);
			*key = NULL;
			return -1;
		}
		return 0;
	}
	if (i == s->n)
		log_error("no open %s store holds the certificate of template %s",
			  it->store_name ? it->store_name : "?", it->template_cn);
	return -1;
}

int store_retire(struct store *s, const char *template_cn, char **archived_to)
{
	char *arch = NULL;
	size_t i;
	int ret = 0;

	if (archived_to != NULL)
		*archived_to = NULL;
	for (i = 0; i < s->n; i++) {
		if (s->b[i]->ops->retire(s->b[i], template_cn, &arch) != 0)
			ret = -1;
		if (arch != NULL && archived_to != NULL && *archived_to == NULL)
			*archived_to = arch;
		else
			free(arch);
		arch = NULL;
	}
	return ret;
}

void store_tidy(struct store *s, time_t now)
{
	size_t i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (s->b[i]->ops->tidy != NULL)
			s->b[i]->ops->tidy(s->b[i], now);
}

void store_item_free_contents(struct store_item *it)
{
	if (it == NULL)
		return;
	free(it->template_cn);
	free(it->ext_template_cn);
	free(it->template_oid);
	free(it->crl_urls);
	if (it->cert)   /* none from the index; even with NULL, a call loads OpenSSL */
		X509_free(it->cert);
	free(it->cert_path);
	free(it->key_path);
	free(it->chain_path);
	free(it->generation);
	free(it->ca_name);
	free(it->issuer);
	free(it->cert_file);
	memset(it, 0, sizeof(*it));
}

void store_items_free(struct store_item *items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		store_item_free_contents(&items[i]);
	free(items);
}

/* ---- shared by the back-ends: the per-certificate meta record ---- */

bool store_text_is_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

char *store_meta_text(const struct store_install_args *a)
{
	const struct template *t = a->t;
	const char *ca = a->ca_name != NULL && store_text_is_clean(a->ca_name) ? a->ca_name : "";

	return xasprintf("template_cn=%s\ntemplate_oid=%s\ntemplate_major=%u\ntemplate_minor=%u\n"
			 "ca_name=%s\nrequest_id=%ld\ninstalled=%lld\nhas_renewal=%d\n"
			 "renewal_seconds=%lld\nenrollment_flag=%u\n",
			 t->cn, t->oid != NULL ? t->oid : "", t->major_version, t->minor_version,
			 ca, a->request_id, (long long)a->now, t->has_renewal ? 1 : 0,
			 (long long)t->renewal_seconds, t->enrollment_flag);
}

void store_meta_parse(char *text, struct store_item *it)
{
	char *line, *save = NULL, *eq;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "template_cn") == 0 && it->template_cn == NULL && *eq != '\0')
			it->template_cn = xstrdup(eq);
		else if (strcmp(line, "ca_name") == 0 && *eq != '\0' && it->ca_name == NULL)
			it->ca_name = xstrdup(eq);
		else if (strcmp(line, "request_id") == 0)
			it->request_id = strtol(eq, NULL, 10);
		else if (strcmp(line, "installed") == 0)
			it->installed = (time_t)strtoll(eq, NULL, 10);
		else if (strcmp(line, "has_renewal") == 0)
			it->has_renewal = strcmp(eq, "1") == 0;
		else if (strcmp(line, "renewal_seconds") == 0)
			it->renewal_seconds = strtoll(eq, NULL, 10);
		else if (strcmp(line, "enrollment_flag") == 0)
			it->enrollment_flag = (uint32_t)strtoul(eq, NULL, 10);
		else if (strcmp(line, "template_major") == 0)
			it->template_major = (uint32_t)strtoul(eq, NULL, 10);
	}
}

/* Archive entries and generations are named by this UTC time, so that
 * retention can read the age back from the name. */
#define STORE_TIME_FMT "%Y%m%dT%H%M%SZ"
#define STORE_TIME_LEN 16   /* 20250101T000000Z */

char *store_format_utc(time_t t)
{
	struct tm tm;
	char buf[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), STORE_TIME_FMT, &tm) == 0)
		snprintf(buf, sizeof(buf), "00000000T000000Z");
	return xstrdup(buf);
}

bool store_time_from_name(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, STORE_TIME_FMT, &tm);
	if (end == NULL || end != s + STORE_TIME_LEN)
		return false;
	*out = timegm(&tm);
	return true;
}
