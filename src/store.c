/* The store front: opens the back-ends the configuration selects and fans
 * calls out to them, so enrollment code never names a back-end. */
#include "adenroll-build.h"

#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "directory.h"
#include "keyproc.h"
#include "log.h"
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

int store_list(struct store *s, struct store_item **items, size_t *n)
{
	struct store_item *all = NULL, *part;
	size_t total = 0, np, i, j;

	*items = NULL;
	*n = 0;
	for (i = 0; i < s->n; i++) {
		if (s->b[i]->ops->list(s->b[i], &part, &np) != 0) {
			store_items_free(all, total);
			return -1;
		}
		if (np > 0) {
			all = xrealloc(all, (total + np) * sizeof(*all));
			for (j = 0; j < np; j++) {
				part[j].store_name = s->b[i]->ops->name;
				all[total++] = part[j];
			}
		}
		free(part);
	}
	*items = all;
	*n = total;
	return 0;
}

const struct store_item *store_find(const struct store_item *items, size_t n,
				    const struct template *t)
{
	size_t i;

	/* docs/protocol.md 2.7: the 21.7 templateID decides when present; the v1
	 * 20.2 name otherwise.  The recorded name is a last resort for CAs that
	 * put neither extension in the certificate. */
	for (i = 0; i < n; i++) {
		const struct store_item *it = &items[i];

		if (it->template_oid != NULL && t->oid != NULL) {
			if (strcmp(it->template_oid, t->oid) == 0)
				return it;
		} else if (it->ext_template_cn != NULL) {
			if (str_eq_ci(it->ext_template_cn, t->cn))
				return it;
		} else if (it->template_cn != NULL && str_eq_ci(it->template_cn, t->cn)) {
			return it;
		}
	}
	return NULL;
}

const struct store_item *store_find_cn(const struct store_item *items, size_t n, const char *cn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((items[i].ext_template_cn != NULL && str_eq_ci(items[i].ext_template_cn, cn)) ||
		    (items[i].template_cn != NULL && str_eq_ci(items[i].template_cn, cn)))
			return &items[i];
	return NULL;
}

const struct store_item *store_find_held(const struct store_item *items, size_t n,
					 const struct template *t, const struct directory *d,
					 const char **superseded_cn)
{
	const struct store_item *it = store_find(items, n, t);
	size_t i, k;

	*superseded_cn = NULL;
	if (it != NULL)
		return it;
	for (i = 0; i < t->supersedes.n; i++) {
		const char *cn = t->supersedes.v[i];
		const struct template *old = NULL;

		for (k = 0; d != NULL && k < d->n_templates; k++)
			if (str_eq_ci(d->templates[k].cn, cn))
				old = &d->templates[k];
		it = old != NULL ? store_find(items, n, old) : store_find_cn(items, n, cn);
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
	/* Revocation (CRL/OCSP) is not checked yet: reported as such. */
	in->revocation = REVOCATION_NOT_CHECKED;
	if (held == NULL)
		return;
	in->has_cert = true;
	in->not_before = cert_not_before(held->cert);
	in->not_after = cert_not_after(held->cert);
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
	X509_free(it->cert);
	free(it->cert_path);
	free(it->key_path);
	free(it->chain_path);
	free(it->generation);
	free(it->ca_name);
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
