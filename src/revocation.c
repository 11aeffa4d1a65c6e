/* Revocation status from the CRL distribution points (RFC 5280 4.2.1.13,
 * 5; docs/protocol.md 3.2 for the AD CS CDP objects, 5.3 step 3 for the use). */
#include "adenroll-build.h"

#include "revocation.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert.h"
#include "directory.h"
#include "fsutil.h"
#include "ldap_conn.h"
#include "log.h"
#include "openssl_loader.h"
#include "sha256.h"
#include "store_index.h"
#include "strmap.h"

/* One entry of a CRL, as the check needs it. */
struct revoked {
	char *serial;           /* hex, as serial_hex */
	int reason;             /* CRLReason, -1 when the entry has none */
	time_t date;
};

/* What a verified CRL says (crl_facts_of), kept in the cache beside the
 * CRL so that a run where nothing changed parses no CRL. */
struct crl_facts {
	char ca_sha256[65];     /* the CA certificate whose key verified it */
	time_t this_update, next_update;
	bool has_next;
	struct revoked *v;      /* sorted by serial (strcmp) */
	size_t n;
};

/* A URL already tried in this run: the verified CRL's facts or why there
 * are none.  crl is NULL when the facts came from the cache. */
struct crl_memo {
	char *url;
	struct crl_facts *facts;    /* NULL when it failed */
	X509_CRL *crl;
	char err[384];
};

/* "The certificate with this fingerprint was issued by this CA
 * certificate among this set of CA certificates" (find_issuer's answer,
 * a signature verified once): state_dir/crl/issuers. */
struct issuer_rec {
	char *cert;             /* SHA-256 of the certificate, lowercase hex */
	char set[65], ca[65];   /* ca_set_digest, the issuer's SHA-256 */
	bool used;              /* looked up or learned by this run */
};

/* A CA certificate of the directory.  Parsed only when a signature must be
 * checked: a run where nothing changed compares fingerprints only. */
struct ca_cert {
	unsigned char *der;
	size_t len;
	char sha256[65];        /* of der, "" when it cannot be computed */
	X509 *x;                /* once parsed; NULL when der is not a certificate */
	bool parsed;
};

struct revocation_ctx {
	struct ldap_conn *ldap;
	char *cache_dir;
	bool write_cache;
	struct ca_cert *cas;    /* in the directory's order */
	size_t n_cas;
	char set_digest[65];    /* "" until computed */
	revocation_fetch_fn fetch;
	void *fetch_arg;
	time_t now;
	unsigned long fetches, fact_checks, cert_checks, crl_parses;
	struct crl_memo *memo;
	size_t n_memo;
	struct issuer_rec *issuers;
	size_t n_issuers, cap_issuers;
	struct strmap issuer_by_cert;
	bool issuers_loaded, issuers_dirty;
};

static void crl_facts_free(struct crl_facts *f);
static void issuers_save(struct revocation_ctx *ctx);

/* ---------------------------------------------------------------- names */

const char *revocation_status_name(enum revocation_status s)
{
	switch (s) {
	case REVOCATION_NOT_CHECKED:
		return "not checked";
	case REVOCATION_GOOD:
		return "good";
	case REVOCATION_REVOKED:
		return "revoked";
	case REVOCATION_UNKNOWN:
		return "unknown";
	}
	return "?";
}

const char *revocation_reason_name(int reason)
{
	/* RFC 5280 5.3.1; 7 is unused. */
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", NULL, "removeFromCRL", "privilegeWithdrawn",
		"aACompromise",
	};
	static char buf[32];

	if (reason >= 0 && (size_t)reason < sizeof(names) / sizeof(names[0]) && names[reason] != NULL)
		return names[reason];
	snprintf(buf, sizeof(buf), "reason %d", reason);
	return buf;
}

/* ---------------------------------------------------------------- context */

struct revocation_ctx *revocation_ctx_new(struct ldap_conn *ldap, const char *cache_dir, bool write_cache)
{
	struct revocation_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->ldap = ldap;
	ctx->cache_dir = cache_dir != NULL ? xstrdup(cache_dir) : NULL;
	ctx->write_cache = write_cache && cache_dir != NULL;
	strmap_init(&ctx->issuer_by_cert, false);
	return ctx;
}

void revocation_ctx_add_cas(struct revocation_ctx *ctx, const struct bloblist *ders)
{
	size_t i;

	for (i = 0; ders != NULL && i < ders->n; i++) {
		struct ca_cert *c;

		if (ders->v[i].len == 0)
			continue;
		ctx->cas = xrealloc(ctx->cas, (ctx->n_cas + 1) * sizeof(*ctx->cas));
		c = &ctx->cas[ctx->n_cas++];
		memset(c, 0, sizeof(*c));
		c->der = xmalloc(ders->v[i].len);
		memcpy(c->der, ders->v[i].data, ders->v[i].len);
		c->len = ders->v[i].len;
		if (cert_der_sha256_hex(c->der, c->len, c->sha256, sizeof(c->sha256)) != 0)
			c->sha256[0] = '\0';
	}
	ctx->set_digest[0] = '\0';
}

struct revocation_ctx *revocation_ctx_for_run(struct ldap_conn *ldap, const struct directory *dir,
					      const char *state_dir, bool write_cache)
{
	char *cache = state_dir != NULL ? fs_path_join(state_dir, "crl") : NULL;
	struct revocation_ctx *ctx = revocation_ctx_new(ldap, cache, write_cache);
	size_t i;

	free(cache);
	revocation_ctx_add_cas(ctx, &dir->root_cas);
	revocation_ctx_add_cas(ctx, &dir->aia_cas);
	for (i = 0; i < dir->n_cas; i++)
		revocation_ctx_add_cas(ctx, &dir->cas[i].ca_certs);
	return ctx;
}

void revocation_ctx_set_fetch(struct revocation_ctx *ctx, revocation_fetch_fn fn, void *arg)
{
	ctx->fetch = fn;
	ctx->fetch_arg = arg;
}

void revocation_ctx_set_time(struct revocation_ctx *ctx, time_t now)
{
	ctx->now = now;
}

unsigned long revocation_ctx_fetch_count(const struct revocation_ctx *ctx)
{
	return ctx != NULL ? ctx->fetches : 0;
}

void revocation_ctx_stats(const struct revocation_ctx *ctx, struct revocation_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ctx == NULL)
		return;
	out->fact_checks = ctx->fact_checks;
	out->cert_checks = ctx->cert_checks;
	out->crl_parses = ctx->crl_parses;
	out->fetches = ctx->fetches;
}

void revocation_ctx_free(struct revocation_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	if (ctx->fact_checks + ctx->cert_checks > 0)
		log_debug("revocation: %lu certificates checked from the held-certificate index, %lu parsed to "
			  "be checked; %lu CRLs parsed, %lu fetched", ctx->fact_checks, ctx->cert_checks,
			  ctx->crl_parses, ctx->fetches);
	issuers_save(ctx);
	for (i = 0; i < ctx->n_memo; i++) {
		free(ctx->memo[i].url);
		crl_facts_free(ctx->memo[i].facts);
		if (ctx->memo[i].crl)   /* even with NULL, a call loads OpenSSL */
			X509_CRL_free(ctx->memo[i].crl);
	}
	free(ctx->memo);
	for (i = 0; i < ctx->n_issuers; i++)
		free(ctx->issuers[i].cert);
	free(ctx->issuers);
	strmap_free(&ctx->issuer_by_cert);
	for (i = 0; i < ctx->n_cas; i++) {
		free(ctx->cas[i].der);
		if (ctx->cas[i].x)   /* parsed only to check a signature */
			X509_free(ctx->cas[i].x);
	}
	free(ctx->cas);
	free(ctx->cache_dir);
	free(ctx);
}

static time_t ctx_now(const struct revocation_ctx *ctx)
{
	return ctx->now != 0 ? ctx->now : time(NULL);
}

/* ---------------------------------------------------------------- helpers */

/* Seconds since the epoch without timegm(): the difference to 1970-01-01. */
static time_t asn1_time(const ASN1_TIME *t)
{
	int days, secs;
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	time_t r = (time_t)-1;

	if (epoch != NULL && t != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1)
		r = (time_t)days * 86400 + secs;
	ASN1_TIME_free(epoch);
	return r;
}

static X509_CRL *crl_from_der(struct revocation_ctx *ctx, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl;

	if (der == NULL || len == 0 || len > REVOCATION_MAX_CRL || len > LONG_MAX)
		return NULL;
	ctx->crl_parses++;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	/* trailing bytes mean this is not (only) a CRL */
	if (crl != NULL && p != der + len) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

static char *name_text(const X509_NAME *n)
{
	char buf[256];

	if (n == NULL || X509_NAME_oneline(n, buf, sizeof(buf)) == NULL)
		return xstrdup("?");
	return xstrdup(buf);
}

/* CA certificate i parsed; NULL when its value is not a certificate (a bad
 * directory value must not hide the good ones). */
static X509 *ca_x509(struct revocation_ctx *ctx, int i)
{
	struct ca_cert *c = &ctx->cas[i];

	if (!c->parsed) {
		c->parsed = true;
		c->x = cert_from_der(c->der, c->len);
	}
	return c->x;
}

/* The index in ctx->cas of the CA that issued cert: name/key-identifier
 * match and a signature that verifies (a CA with the same name but another
 * key does not count).  -1 when none. */
static int find_issuer(struct revocation_ctx *ctx, X509 *cert)
{
	int i;

	for (i = 0; i < (int)ctx->n_cas; i++) {
		X509 *ca = ca_x509(ctx, i);
		EVP_PKEY *pk = ca != NULL ? X509_get0_pubkey(ca) : NULL;

		if (pk != NULL && X509_check_issued(ca, cert) == X509_V_OK && X509_verify(cert, pk) == 1)
			return i;
	}
	return -1;
}

/* The URIs of the distribution points that name the full CRL for every
 * reason (no reasons subset, no indirect CRL issuer).  -1 when the
 * extension is present but malformed. */
static int cdp_urls(X509 *cert, struct strlist *out)
{
	int crit = -1, i, j;
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, &crit, NULL);

	if (dps == NULL)
		return crit == -1 ? 0 : -1;
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0 || dp->reasons != NULL || dp->CRLissuer != NULL)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			const unsigned char *d;
			int len;

			if (gn->type != GEN_URI)
				continue;
			d = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (d == NULL || len <= 0 || memchr(d, '\0', (size_t)len) != NULL)
				continue;
			char *u = xstrndup((const char *)d, (size_t)len);
			strlist_add(out, u);
			free(u);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4516: ldap://[host]/dn[?attributes[?scope[?filter]]], the DN
 * percent-encoded (AD CS writes spaces as %20).  Only the DN and the
 * attribute matter: the object is read with a base search on our own
 * signed+sealed session, whatever host the URL names. */
static int ldap_url_parse(const char *url, char **dn_out, char **attr_out, char *err, size_t errlen)
{
	const char *p, *dn_end, *a, *a_end;
	char *dn = NULL, *attr = NULL;
	size_t i, o = 0;

	*dn_out = *attr_out = NULL;
	if (strncasecmp(url, "ldap://", 7) != 0) {
		snprintf(err, errlen, "not an ldap:// URL");
		return -1;
	}
	p = strchr(url + 7, '/');
	if (p == NULL || p[1] == '\0' || p[1] == '?') {
		snprintf(err, errlen, "the LDAP URL names no DN");
		return -1;
	}
	p++;
	dn_end = p + strcspn(p, "?");
	dn = xmalloc((size_t)(dn_end - p) + 1);
	for (i = 0; p + i < dn_end; i++) {
		if (p[i] == '%') {
			int hi = p + i + 2 < dn_end ? hexval(p[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(p[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				snprintf(err, errlen, "bad percent-encoding in the LDAP URL's DN");
				free(dn);
				return -1;
			}
			dn[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dn[o++] = p[i];
		}
	}
	dn[o] = '\0';
	a = *dn_end == '?' ? dn_end + 1 : dn_end;
	a_end = a + strcspn(a, "?,;");
	if (a_end == a)
		attr = xstrdup("certificateRevocationList");
	else
		attr = xstrndup(a, (size_t)(a_end - a));
	if (!str_eq_ci(attr, "certificateRevocationList") && !str_eq_ci(attr, "authorityRevocationList")) {
		snprintf(err, errlen, "the LDAP URL names attribute \"%.64s\", not a CRL attribute", attr);
		free(dn);
		free(attr);
		return -1;
	}
	*dn_out = dn;
	*attr_out = attr;
	return 0;
}

struct ldap_fetch {
	const char *attr;
	struct bloblist values;
};

static int ldap_fetch_cb(struct ldap_conn *c, const struct ldap_entry *e, void *arg)
{
	struct ldap_fetch *f = arg;

	(void)c;
	ldap_entry_blobs(e, f->attr, &f->values);
	return 0;
}

static int fetch_ldap(struct revocation_ctx *ctx, const char *url, struct blob *out, char *err, size_t errlen)
{
	char *dn = NULL, *attr = NULL;
	struct ldap_fetch f;
	bool not_found = false;
	int ret = -1;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (ldap_url_parse(url, &dn, &attr, err, errlen) != 0)
		return -1;
	if (ctx->ldap == NULL) {
		snprintf(err, errlen, "no LDAP connection to read it over");
		goto out;
	}
	{
		const char *attrs[] = { attr, NULL };

		f.attr = attr;
		ctx->fetches++;
		if (ldap_conn_search(ctx->ldap, dn, LDAP_CONN_BASE, "(objectClass=*)", attrs, LDAP_CONN_NO_PAGING,
				     ldap_fetch_cb, &f, &not_found) != 0) {
			snprintf(err, errlen, not_found ? "no such object in the directory"
							: "the LDAP read failed (see the error above)");
			goto out;
		}
	}
	/* AD CS keeps one value; a placeholder (a lone 0x00, as in freshly
	 * created objects) is skipped like any other value that is no CRL. */
	for (i = 0; i < f.values.n; i++) {
		X509_CRL *crl = crl_from_der(ctx, f.values.v[i].data, f.values.v[i].len);

		if (crl == NULL)
			continue;
		X509_CRL_free(crl);
		out->data = f.values.v[i].data;
		out->len = f.values.v[i].len;
		f.values.v[i].data = NULL;
		f.values.v[i].len = 0;
		ret = 0;
		goto out;
	}
	snprintf(err, errlen, f.values.n == 0 ? "the object has no %s value" : "its %s value is not a DER CRL",
		 attr);
out:
	bloblist_free(&f.values);
	free(dn);
	free(attr);
	return ret;
}

static int fetch(struct revocation_ctx *ctx, const char *url, struct blob *out, char *err, size_t errlen)
{
	out->data = NULL;
	out->len = 0;
	if (ctx->fetch != NULL) {
		ctx->fetches++;
		return ctx->fetch(ctx->fetch_arg, url, out, err, errlen);
	}
	if (strncasecmp(url, "ldap://", 7) == 0)
		return fetch_ldap(ctx, url, out, err, errlen);
	snprintf(err, errlen, "only ldap:// distribution points are read");
	return -1;
}

/* Which CRL extensions we understand; an unknown critical one makes the
 * CRL unusable (RFC 5280 5.2). */
static bool crl_ext_known(int nid)
{
	return nid == NID_authority_key_identifier || nid == NID_crl_number || nid == NID_freshest_crl ||
	       nid == NID_issuing_distribution_point;
}

enum crl_fitness { CRL_FRESH, CRL_PAST_NEXT_UPDATE, CRL_UNUSABLE };

/* The times of a CRL at now: thisUpdate tu (readable), nextUpdate tn when
 * next is 1 (0: absent, -1: unreadable). */
static enum crl_fitness crl_times_fit(time_t tu, int next, time_t tn, time_t now, char *err, size_t errlen)
{
	char when[32];

	if (tu > now + REVOCATION_CLOCK_SKEW) {
		policy_format_time(tu, when, sizeof(when));
		snprintf(err, errlen, "the CRL is not valid before %s (thisUpdate; is the clock right?)", when);
		return CRL_UNUSABLE;
	}
	if (next == 0)
		return CRL_PAST_NEXT_UPDATE;   /* no promise of freshness: never reused from the cache */
	if (next < 0) {
		snprintf(err, errlen, "the CRL's nextUpdate cannot be read");
		return CRL_UNUSABLE;
	}
	if (now > tn + REVOCATION_STALE_GRACE) {
		policy_format_time(tn, when, sizeof(when));
		snprintf(err, errlen, "the CRL is stale: its nextUpdate was %s and no newer one is published", when);
		return CRL_UNUSABLE;
	}
	return now < tn ? CRL_FRESH : CRL_PAST_NEXT_UPDATE;
}

/* Signature, issuer name, kind and times of crl against issuer at now. */
static enum crl_fitness crl_check(X509_CRL *crl, X509 *issuer, time_t now, char *err, size_t errlen)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
	time_t tu = asn1_time(X509_CRL_get0_lastUpdate(crl)), tn = 0;
	int i;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		char *a = name_text(X509_CRL_get_issuer(crl)), *b = name_text(X509_get_subject_name(issuer));

		snprintf(err, errlen, "the CRL is issued by %s, not by the certificate's issuer %s", a, b);
		free(a);
		free(b);
		return CRL_UNUSABLE;
	}
	if (pk == NULL || X509_CRL_verify(crl, pk) != 1) {
		snprintf(err, errlen, "the CRL's signature does not verify with the issuing CA's key");
		return CRL_UNUSABLE;
	}
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		snprintf(err, errlen, "it is a delta CRL, not a base CRL");
		return CRL_UNUSABLE;
	}
	for (i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);

		if (X509_EXTENSION_get_critical(ext) &&
		    !crl_ext_known(OBJ_obj2nid(X509_EXTENSION_get_object(ext)))) {
			snprintf(err, errlen, "the CRL has a critical extension adenroll does not understand");
			return CRL_UNUSABLE;
		}
	}
	{
		/* RFC 5280 5.2.5: a CRL scoped to CA certificates, some reasons
		 * or another issuer's certificates says nothing about ours. */
		int c = -1;
		ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &c, NULL);
		bool partial = idp != NULL && (idp->onlyCA > 0 || idp->onlyattr > 0 || idp->indirectCRL > 0 ||
					       idp->onlysomereasons != NULL);

		ISSUING_DIST_POINT_free(idp);
		if (partial || (idp == NULL && c != -1)) {
			snprintf(err, errlen, "the CRL's issuing distribution point limits it to some "
				 "certificates or reasons, or is malformed");
			return CRL_UNUSABLE;
		}
	}
	if (tu == (time_t)-1) {
		snprintf(err, errlen, "the CRL's thisUpdate cannot be read");
		return CRL_UNUSABLE;
	}
	if (nu != NULL)
		tn = asn1_time(nu);
	return crl_times_fit(tu, nu == NULL ? 0 : tn == (time_t)-1 ? -1 : 1, tn, now, err, errlen);
}

/* cache_dir/<first 32 hex digits of SHA-256(url)>.crl */
static char *cache_path(const struct revocation_ctx *ctx, const char *url)
{
	unsigned char md[SHA256_LEN];
	char name[40];

	if (ctx->cache_dir == NULL)
		return NULL;
	sha256(url, strlen(url), md);
	sha256_hex(md, 16, name);
	snprintf(name + 32, sizeof(name) - 32, ".crl");
	return fs_path_join(ctx->cache_dir, name);
}

static X509_CRL *cache_load(struct revocation_ctx *ctx, const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	X509_CRL *crl;

	if (path == NULL || fs_read_file(path, REVOCATION_MAX_CRL, &buf, &len) != 0)
		return NULL;
	crl = crl_from_der(ctx, buf, len);
	if (crl == NULL)
		log_warn("ignoring the cached CRL %s: it is not a DER CRL", path);
	free(buf);
	return crl;
}

static int cache_store(const struct revocation_ctx *ctx, const char *path, const struct blob *der)
{
	if (path == NULL || !ctx->write_cache)
		return -1;
	if (fs_mkdir_p(ctx->cache_dir, 0755) != 0 ||
	    fs_write_atomic(path, der->data, der->len, 0644, (uid_t)-1) != 0) {
		log_warn("could not cache the CRL in %s: it will be fetched again next run", ctx->cache_dir);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- CRL facts */

static char *serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, *r = hex != NULL ? xstrdup(hex) : NULL;

	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

static int revoked_cmp(const void *a, const void *b)
{
	return strcmp(((const struct revoked *)a)->serial, ((const struct revoked *)b)->serial);
}

static void crl_facts_free(struct crl_facts *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++)
		free(f->v[i].serial);
	free(f->v);
	free(f);
}

/* The facts of crl, which crl_check found usable with the CA whose
 * SHA-256 is ca_sha256.  OpenSSL has already refused a CRL whose entry
 * reasons do not parse.  NULL when a serial cannot be converted. */
static struct crl_facts *crl_facts_of(X509_CRL *crl, const char *ca_sha256)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	struct crl_facts *f = xcalloc(1, sizeof(*f));
	int i, n = revs != NULL ? sk_X509_REVOKED_num(revs) : 0;

	snprintf(f->ca_sha256, sizeof(f->ca_sha256), "%s", ca_sha256);
	f->this_update = asn1_time(X509_CRL_get0_lastUpdate(crl));
	f->has_next = X509_CRL_get0_nextUpdate(crl) != NULL;
	f->next_update = f->has_next ? asn1_time(X509_CRL_get0_nextUpdate(crl)) : 0;
	f->v = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*f->v));
	for (i = 0; i < n; i++) {
		X509_REVOKED *rev = sk_X509_REVOKED_value(revs, i);
		struct revoked *r = &f->v[f->n];
		int crit = -1;
		ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);

		r->reason = reason != NULL ? (int)ASN1_ENUMERATED_get(reason) : -1;
		ASN1_ENUMERATED_free(reason);
		r->date = asn1_time(X509_REVOKED_get0_revocationDate(rev));
		if ((r->serial = serial_hex(X509_REVOKED_get0_serialNumber(rev))) == NULL) {
			crl_facts_free(f);
			return NULL;
		}
		f->n++;
	}
	qsort(f->v, f->n, sizeof(*f->v), revoked_cmp);
	return f;
}

/* X509_CRL_get0_by_serial on the facts: the entry for serial, NULL when
 * none.  An entry with reason removeFromCRL (a hold lifted) is returned:
 * the caller treats it as not revoked, as OpenSSL's answer 2. */
static const struct revoked *crl_facts_find(const struct crl_facts *f, const char *serial)
{
	struct revoked key = { (char *)serial, 0, 0 };

	return f->n == 0 ? NULL : bsearch(&key, f->v, f->n, sizeof(*f->v), revoked_cmp);
}

/* The facts file beside cache_dir/<hash>.crl: <hash>.facts, 0600.
 *
 *   # adenroll CRL facts v1
 *   url<TAB><the URL>
 *   crl<TAB><file_id_text of the .crl it was read from>
 *   ca<TAB><SHA-256 of the CA certificate that verified it>
 *   this<TAB><thisUpdate, seconds>
 *   next<TAB><nextUpdate, seconds, or ->
 *   r<TAB><serial hex><TAB><reason or -1><TAB><revocation date>   (sorted by serial)
 *
 * Valid only while the .crl is the file it was read from and the issuer
 * is the same certificate; anything else goes the way of the CRL itself. */
#define FACTS_MAGIC "# adenroll CRL facts v1\n"
#define FACTS_MAX (64u << 20)

static char *facts_path_of(const char *crl_path)
{
	size_t n = strlen(crl_path);

	return xasprintf("%.*s.facts", (int)(n > 4 ? n - 4 : n), crl_path);
}

static char *facts_text(const char *url, const char *crl_id, const struct crl_facts *f, size_t *len)
{
	size_t cap = 512 + strlen(url) + f->n * 128, used = 0, i;
	char *buf = xmalloc(cap);
	int w;

	w = snprintf(buf, cap, FACTS_MAGIC "url\t%s\ncrl\t%s\nca\t%s\nthis\t%lld\n", url, crl_id, f->ca_sha256,
		     (long long)f->this_update);
	used = (size_t)w;
	if (f->has_next)
		used += (size_t)snprintf(buf + used, cap - used, "next\t%lld\n", (long long)f->next_update);
	else
		used += (size_t)snprintf(buf + used, cap - used, "next\t-\n");
	for (i = 0; i < f->n; i++) {
		size_t need = strlen(f->v[i].serial) + 64;

		if (cap - used < need) {
			cap = cap * 2 + need;
			buf = xrealloc(buf, cap);
		}
		used += (size_t)snprintf(buf + used, cap - used, "r\t%s\t%d\t%lld\n", f->v[i].serial, f->v[i].reason,
					 (long long)f->v[i].date);
	}
	*len = used;
	return buf;
}

static void facts_store(const struct revocation_ctx *ctx, const char *crl_path, const struct file_id *id,
			const char *url, const struct crl_facts *f)
{
	char idtext[FILE_ID_TEXT_MAX], *path, *text;
	size_t len = 0;

	if (!ctx->write_cache || strchr(url, '\n') != NULL || strchr(url, '\t') != NULL)
		return;
	file_id_text(id, idtext, sizeof(idtext));
	path = facts_path_of(crl_path);
	text = facts_text(url, idtext, f, &len);
	/* root-only: decisions trust it as much as the CRL it stands for */
	if (fs_write_atomic(path, text, len, 0600, (uid_t)-1) != 0)
		log_warn("could not write %s: the CRL is parsed again next run", path);
	free(text);
	free(path);
}

static bool parse_time(const char *s, time_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (time_t)v;
	return true;
}

/* "<key>\t<value>" at *p: the value, *p moved past the line. */
static char *facts_field(char **p, const char *key)
{
	char *line = *p, *nl = strchr(line, '\n');
	size_t k = strlen(key);

	if (nl == NULL || strncmp(line, key, k) != 0 || line[k] != '\t')
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return line + k + 1;
}

/* The facts for url and issuer ca_sha256 while the cached CRL file is the
 * one they were read from; NULL otherwise (logged at debug level). */
static struct crl_facts *facts_load(const char *crl_path, const char *url, const char *ca_sha256)
{
	char *path = facts_path_of(crl_path), *p, *v, idtext[FILE_ID_TEXT_MAX];
	unsigned char *buf;
	size_t len = 0, cap = 0;
	struct file_id id;
	struct crl_facts *f = NULL;
	bool ok = false;

	buf = file_read_own(path, FACTS_MAX, &len, "CRL facts");
	if (buf == NULL)
		goto out;
	if (file_id_of(crl_path, &id) != 0 || !id.present)
		goto out;
	file_id_text(&id, idtext, sizeof(idtext));
	p = (char *)buf;
	if (strlen(p) != len || strncmp(p, FACTS_MAGIC, strlen(FACTS_MAGIC)) != 0)
		goto out;
	p += strlen(FACTS_MAGIC);
	if ((v = facts_field(&p, "url")) == NULL || strcmp(v, url) != 0 ||
	    (v = facts_field(&p, "crl")) == NULL || strcmp(v, idtext) != 0 ||
	    (v = facts_field(&p, "ca")) == NULL || strcmp(v, ca_sha256) != 0)
		goto out;
	f = xcalloc(1, sizeof(*f));
	snprintf(f->ca_sha256, sizeof(f->ca_sha256), "%s", ca_sha256);
	if ((v = facts_field(&p, "this")) == NULL || !parse_time(v, &f->this_update) ||
	    (v = facts_field(&p, "next")) == NULL)
		goto out;
	f->has_next = strcmp(v, "-") != 0;
	if (f->has_next && !parse_time(v, &f->next_update))
		goto out;
	while (*p != '\0') {
		char *serial, *reason, *date, *end;
		struct revoked *r;
		long rv;

		if ((v = facts_field(&p, "r")) == NULL)
			goto out;
		serial = v;
		if ((reason = strchr(serial, '\t')) == NULL || (date = strchr(reason + 1, '\t')) == NULL)
			goto out;
		*reason++ = '\0';
		*date++ = '\0';
		errno = 0;
		rv = strtol(reason, &end, 10);
		if (*serial == '\0' || strchr(serial, '\t') != NULL || errno != 0 || *end != '\0' || end == reason ||
		    rv < -1 || rv > INT_MAX)
			goto out;
		if (f->n == cap) {
			cap = cap ? cap * 2 : 16;
			f->v = xrealloc(f->v, cap * sizeof(*f->v));
		}
		r = &f->v[f->n];
		r->serial = xstrdup(serial);
		r->reason = (int)rv;
		f->n++;
		if (!parse_time(date, &r->date) || (f->n > 1 && strcmp(f->v[f->n - 2].serial, serial) > 0))
			goto out;   /* not in the order the search needs */
	}
	ok = true;
out:
	if (!ok) {
		if (buf != NULL)
			log_debug("CRL facts %s are not for the cached CRL and its issuer (or malformed): "
				  "reading the CRL", path);
		crl_facts_free(f);
		f = NULL;
	}
	free(buf);
	free(path);
	return f;
}

/* ---------------------------------------------------------------- the CRL for a URL */

static struct crl_memo *memo_add(struct revocation_ctx *ctx, const char *url, X509_CRL *crl,
				 struct crl_facts *facts, const char *err)
{
	struct crl_memo *m;

	ctx->memo = xrealloc(ctx->memo, (ctx->n_memo + 1) * sizeof(*ctx->memo));
	m = &ctx->memo[ctx->n_memo++];
	memset(m, 0, sizeof(*m));
	m->url = xstrdup(url);
	m->crl = crl;
	m->facts = facts;
	snprintf(m->err, sizeof(m->err), "%s", err != NULL ? err : "");
	return m;
}

/* The usable CRL behind url for issuer: the cache while fresh, else
 * fetched (and cached).  *cached_id is the identity of the cache file it
 * is (present false when it is in none).  NULL with the reason in err. */
static X509_CRL *crl_for(struct revocation_ctx *ctx, const char *url, const char *path, X509 *issuer,
			 struct file_id *cached_id, char *err, size_t errlen)
{
	time_t now = ctx_now(ctx);
	X509_CRL *cached = NULL, *crl = NULL;
	enum crl_fitness cached_fit = CRL_UNUSABLE, fit;
	struct blob der = { NULL, 0 };
	struct file_id before, after;
	char why[384], ferr[256];

	memset(cached_id, 0, sizeof(*cached_id));
	if (path == NULL || file_id_of(path, &before) != 0)
		memset(&before, 0, sizeof(before));
	cached = cache_load(ctx, path);
	if (cached != NULL) {
		cached_fit = crl_check(cached, issuer, now, why, sizeof(why));
		if (cached_fit == CRL_FRESH) {
			log_debug("CRL for %s: cached copy %s is fresh", url, path);
			/* the file read is the one stat saw before and after */
			if (file_id_of(path, &after) == 0 && file_id_eq(&before, &after))
				*cached_id = after;
			crl = cached;
			cached = NULL;
			goto out;
		}
	}
	ferr[0] = '\0';
	if (fetch(ctx, url, &der, ferr, sizeof(ferr)) != 0) {
		snprintf(why, sizeof(why), "cannot fetch it: %s", ferr[0] ? ferr : "unknown error");
	} else if ((crl = crl_from_der(ctx, der.data, der.len)) == NULL) {
		snprintf(why, sizeof(why), "what it returned is not a DER CRL");
	} else if ((fit = crl_check(crl, issuer, now, why, sizeof(why))) == CRL_UNUSABLE) {
		X509_CRL_free(crl);
		crl = NULL;
	} else {
		log_debug("CRL for %s: fetched, %zu bytes", url, der.len);
		if (fit == CRL_FRESH && cache_store(ctx, path, &der) == 0 && file_id_of(path, &after) == 0)
			*cached_id = after;
		goto out;
	}
	/* The fetch gave nothing usable: a cached copy still within its grace does. */
	if (cached != NULL && cached_fit == CRL_PAST_NEXT_UPDATE) {
		log_warn("CRL %s: %s; using the cached copy, past its nextUpdate", url, why);
		crl = cached;
		cached = NULL;
		goto out;
	}
	snprintf(err, errlen, "%s", why);
	crl = NULL;
out:
	X509_CRL_free(cached);
	free(der.data);
	return crl;
}

/* The facts of the usable CRL behind url for issuer, or CA certificate ca
 * when issuer is NULL (ca_sha256 its SHA-256): from this run's memo, the
 * cached facts while they stand for the cached CRL and it is fresh, else
 * through crl_for.  NULL with the reason in err. */
static const struct crl_facts *crl_facts_for(struct revocation_ctx *ctx, const char *url, X509 *issuer, int ca,
					     const char *ca_sha256, char *err, size_t errlen)
{
	time_t now = ctx_now(ctx);
	char *path = NULL, why[384];
	struct crl_facts *f = NULL;
	struct file_id id;
	X509_CRL *crl;
	size_t i;

	for (i = 0; i < ctx->n_memo; i++) {
		struct crl_memo *m = &ctx->memo[i];

		if (strcmp(m->url, url) != 0)
			continue;
		if (m->facts == NULL) {
			snprintf(err, errlen, "%s", m->err);
			return NULL;
		}
		if (strcmp(m->facts->ca_sha256, ca_sha256) == 0)
			return m->facts;
		/* another issuer names the same URL: judge the CRL against it */
		if (m->crl == NULL) {
			path = cache_path(ctx, url);
			m->crl = cache_load(ctx, path);
			free(path);
			if (m->crl == NULL) {
				snprintf(err, errlen, "the cached CRL cannot be read again");
				return NULL;
			}
		}
		if (issuer == NULL && (issuer = ca_x509(ctx, ca)) == NULL) {
			snprintf(err, errlen, "the issuing CA certificate in the directory cannot be read");
			return NULL;
		}
		if (crl_check(m->crl, issuer, now, err, errlen) == CRL_UNUSABLE)
			return NULL;
		return m->facts;
	}

	path = cache_path(ctx, url);
	if (path != NULL && (f = facts_load(path, url, ca_sha256)) != NULL) {
		if (crl_times_fit(f->this_update, f->has_next ? 1 : 0, f->next_update, now, why, sizeof(why)) ==
		    CRL_FRESH) {
			log_debug("CRL for %s: the facts of the cached copy %s are fresh", url, path);
			memo_add(ctx, url, NULL, f, NULL);
			goto out;
		}
		/* past nextUpdate: fetched again, as without the facts */
		crl_facts_free(f);
		f = NULL;
	}
	if (issuer == NULL && (issuer = ca_x509(ctx, ca)) == NULL) {
		snprintf(err, errlen, "the issuing CA certificate in the directory cannot be read");
		goto out;
	}
	crl = crl_for(ctx, url, path, issuer, &id, why, sizeof(why));
	if (crl != NULL && (f = crl_facts_of(crl, ca_sha256)) == NULL)
		snprintf(why, sizeof(why), "a serial number in the CRL cannot be read");
	if (f == NULL) {
		X509_CRL_free(crl);
		snprintf(err, errlen, "%s", why);
		memo_add(ctx, url, NULL, NULL, why);
		goto out;
	}
	if (id.present)
		facts_store(ctx, path, &id, url, f);
	memo_add(ctx, url, crl, f, NULL);
out:
	free(path);
	return f;
}

/* ---------------------------------------------------------------- verified issuers */

#define ISSUERS_MAGIC "# adenroll verified issuers v1\n"
#define ISSUERS_MAX (64u << 20)

/* SHA-256 over the fingerprints of ctx->cas in their order: find_issuer's
 * answer for a certificate holds while this is the same. */
static const char *ca_set_digest(struct revocation_ctx *ctx)
{
	unsigned char md[SHA256_LEN];
	struct sha256 c;
	size_t j;

	if (ctx->set_digest[0] != '\0')
		return ctx->set_digest;
	sha256_init(&c);
	for (j = 0; j < ctx->n_cas; j++)
		sha256_update(&c, ctx->cas[j].sha256, 65);
	sha256_final(&c, md);
	sha256_hex(md, SHA256_LEN, ctx->set_digest);
	return ctx->set_digest;
}

static bool sha_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

static void issuer_put(struct revocation_ctx *ctx, const char *cert, const char *set, const char *ca)
{
	size_t i = strmap_get(&ctx->issuer_by_cert, cert);
	struct issuer_rec *r;

	if (i == STRMAP_NONE) {
		if (ctx->n_issuers == ctx->cap_issuers) {
			ctx->cap_issuers = ctx->cap_issuers ? 2 * ctx->cap_issuers : 16;
			ctx->issuers = xrealloc(ctx->issuers, ctx->cap_issuers * sizeof(*ctx->issuers));
		}
		i = ctx->n_issuers++;
		ctx->issuers[i].cert = xstrdup(cert);
		/* the map borrows the key string, which stays put when issuers moves */
		strmap_add_first(&ctx->issuer_by_cert, ctx->issuers[i].cert, i);
	}
	r = &ctx->issuers[i];
	r->used = false;
	snprintf(r->set, sizeof(r->set), "%s", set);
	snprintf(r->ca, sizeof(r->ca), "%s", ca);
}

static void issuers_load(struct revocation_ctx *ctx)
{
	char *path, *p, *nl;
	unsigned char *buf;
	size_t len = 0;

	if (ctx->issuers_loaded)
		return;
	ctx->issuers_loaded = true;
	if (ctx->cache_dir == NULL)
		return;
	path = fs_path_join(ctx->cache_dir, "issuers");
	buf = file_read_own(path, ISSUERS_MAX, &len, "verified issuers");
	if (buf == NULL || strlen((char *)buf) != len || strncmp((char *)buf, ISSUERS_MAGIC, strlen(ISSUERS_MAGIC)) != 0)
		goto out;
	for (p = (char *)buf + strlen(ISSUERS_MAGIC); *p != '\0'; p = nl + 1) {
		/* "<cert>\t<set>\t<ca>": three fingerprints */
		if ((nl = strchr(p, '\n')) == NULL || nl - p != 3 * 64 + 2 || p[64] != '\t' || p[129] != '\t')
			break;
		p[64] = p[129] = *nl = '\0';
		if (!sha_ok(p) || !sha_ok(p + 65) || !sha_ok(p + 130))
			break;
		issuer_put(ctx, p, p + 65, p + 130);
	}
	if (*p != '\0')
		log_debug("%s is malformed after its first %zu lines: the rest is verified again", path,
			  ctx->n_issuers);
out:
	free(buf);
	free(path);
}

/* Written by runs that write the cache, when they learned something:
 * the records of the current set of CA certificates, those this run used
 * first; of the others (certificates no longer held, or another command's
 * run that looked at a few) only as many as keep the file within twice
 * what was used plus 1024, so that it does not grow with every renewal. */
static void issuers_save(struct revocation_ctx *ctx)
{
	const char *set;
	char *path, *text;
	size_t i, used = 0, n_used = 0, kept = 0;
	int pass;

	if (!ctx->issuers_dirty || !ctx->write_cache)
		return;
	set = ca_set_digest(ctx);
	for (i = 0; i < ctx->n_issuers; i++)
		n_used += ctx->issuers[i].used;
	text = xmalloc(strlen(ISSUERS_MAGIC) + ctx->n_issuers * (3 * 65) + 1);
	used = (size_t)sprintf(text, "%s", ISSUERS_MAGIC);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < ctx->n_issuers; i++) {
			const struct issuer_rec *r = &ctx->issuers[i];

			if (r->used != (pass == 0) || strcmp(r->set, set) != 0 ||
			    (pass == 1 && kept >= 2 * n_used + 1024))
				continue;
			used += (size_t)sprintf(text + used, "%s\t%s\t%s\n", r->cert, r->set, r->ca);
			kept++;
		}
	path = fs_path_join(ctx->cache_dir, "issuers");
	if (fs_mkdir_p(ctx->cache_dir, 0755) != 0 || fs_write_atomic(path, text, used, 0600, (uid_t)-1) != 0)
		log_warn("could not write %s: the held certificates are parsed again next run to be checked", path);
	free(path);
	free(text);
}

/* The index in ctx->cas of the issuer find_issuer found for the
 * certificate with fingerprint cert_sha256 among the same CA certificates;
 * -1 when not known. */
static int known_issuer(struct revocation_ctx *ctx, const char *cert_sha256)
{
	const struct issuer_rec *r;
	size_t i;
	int j;

	issuers_load(ctx);
	i = strmap_get(&ctx->issuer_by_cert, cert_sha256);
	if (i == STRMAP_NONE)
		return -1;
	r = &ctx->issuers[i];
	if (strcmp(r->set, ca_set_digest(ctx)) != 0)
		return -1;
	ctx->issuers[i].used = true;
	for (j = 0; j < (int)ctx->n_cas; j++)
		if (strcmp(ctx->cas[j].sha256, r->ca) == 0)
			return j;
	return -1;
}

static void remember_issuer(struct revocation_ctx *ctx, X509 *cert, int ca)
{
	char fp[65];
	const char *set = ca_set_digest(ctx);

	if (ctx->cache_dir == NULL || cert_sha256_hex(cert, fp, sizeof(fp)) != 0 || !sha_ok(fp) ||
	    !sha_ok(set) || !sha_ok(ctx->cas[ca].sha256))
		return;
	if (known_issuer(ctx, fp) == ca)
		return;
	issuer_put(ctx, fp, set, ctx->cas[ca].sha256);
	ctx->issuers[strmap_get(&ctx->issuer_by_cert, fp)].used = true;
	ctx->issuers_dirty = true;
}

/* ---------------------------------------------------------------- the check */

/* The verdict of the first usable CRL among urls for the certificate with
 * serial (serial_hex) issued by issuer, or by CA certificate ca when issuer
 * is NULL (parsed only if a CRL must be verified). */
static enum revocation_status check_urls(struct revocation_ctx *ctx, const struct strlist *urls,
					 const char *serial, X509 *issuer, int ca, const char *ca_sha256,
					 char *detail, size_t detail_len)
{
	char err[384], when[32];
	size_t i;

	for (i = 0; i < urls->n; i++) {
		const struct crl_facts *f = crl_facts_for(ctx, urls->v[i], issuer, ca, ca_sha256, err, sizeof(err));
		const struct revoked *rev;

		if (f == NULL) {
			/* the first reason is the one reported when no URL works */
			if (i == 0 || detail[0] == '\0')
				snprintf(detail, detail_len, "CRL from %s: %s", urls->v[i], err);
			continue;
		}
		rev = crl_facts_find(f, serial);
		/* removeFromCRL: a hold lifted, i.e. not revoked */
		if (rev != NULL && rev->reason != 8) {
			policy_format_time(rev->date, when, sizeof(when));
			if (rev->reason >= 0)
				snprintf(detail, detail_len, "revoked on %s (%s); CRL from %s", when,
					 revocation_reason_name(rev->reason), urls->v[i]);
			else
				snprintf(detail, detail_len, "revoked on %s; CRL from %s", when, urls->v[i]);
			return REVOCATION_REVOKED;
		}
		if (f->has_next)
			policy_format_time(f->next_update, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "not given");
		snprintf(detail, detail_len, "CRL from %s, next update %s", urls->v[i], when);
		return REVOCATION_GOOD;
	}
	return REVOCATION_UNKNOWN;
}

enum revocation_status revocation_check(struct revocation_ctx *ctx, X509 *cert, X509 *issuer,
					char *detail, size_t detail_len)
{
	struct strlist urls = { NULL, 0 };
	enum revocation_status st = REVOCATION_UNKNOWN;
	char issuer_sha[65], *serial = NULL;
	int ca = -1;

	ctx->cert_checks++;
	if (detail_len > 0)
		detail[0] = '\0';
	if (cdp_urls(cert, &urls) != 0) {
		snprintf(detail, detail_len, "the certificate's CRL distribution points extension is malformed");
		goto out;
	}
	if (urls.n == 0) {
		snprintf(detail, detail_len, "the certificate names no CRL distribution point");
		goto out;
	}
	if (issuer == NULL && (ca = find_issuer(ctx, cert)) >= 0) {
		issuer = ca_x509(ctx, ca);
		remember_issuer(ctx, cert, ca);
	}
	if (issuer == NULL) {
		char *n = name_text(X509_get_issuer_name(cert));

		snprintf(detail, detail_len,
			 "its issuer %s is not among the CA certificates published in the directory", n);
		free(n);
		goto out;
	}
	if (ca >= 0)
		snprintf(issuer_sha, sizeof(issuer_sha), "%s", ctx->cas[ca].sha256);
	else if (cert_sha256_hex(issuer, issuer_sha, sizeof(issuer_sha)) != 0)
		issuer_sha[0] = '\0';
	if ((serial = serial_hex(X509_get0_serialNumber(cert))) == NULL) {
		snprintf(detail, detail_len, "the certificate's serial number cannot be read");
		goto out;
	}
	st = check_urls(ctx, &urls, serial, issuer, -1, issuer_sha, detail, detail_len);
out:
	free(serial);
	strlist_free(&urls);
	return st;
}

char *revocation_cert_urls_text(X509 *cert, bool *malformed)
{
	struct strlist urls = { NULL, 0 };
	size_t i, len = 1;
	char *text;

	*malformed = false;
	if (cdp_urls(cert, &urls) != 0) {
		*malformed = true;
		return xstrdup("");
	}
	for (i = 0; i < urls.n; i++) {
		const char *c;

		for (c = urls.v[i]; *c != '\0'; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f) {
				strlist_free(&urls);
				return NULL;   /* cannot be kept space-separated on one line */
			}
		len += strlen(urls.v[i]) + 1;
	}
	text = xcalloc(1, len);
	for (i = 0; i < urls.n; i++) {
		if (i > 0)
			strcat(text, " ");
		strcat(text, urls.v[i]);
	}
	strlist_free(&urls);
	return text;
}

bool revocation_check_facts(struct revocation_ctx *ctx, const struct revocation_cert_facts *f,
			    enum revocation_status *st, char *detail, size_t detail_len)
{
	struct strlist urls = { NULL, 0 };
	char *copy, *tok, *save = NULL;
	int ca;

	if (detail_len > 0)
		detail[0] = '\0';
	*st = REVOCATION_UNKNOWN;
	if (f->crl_urls == NULL || f->sha256 == NULL || f->serial == NULL)
		return false;
	if (f->cdp_malformed) {
		snprintf(detail, detail_len, "the certificate's CRL distribution points extension is malformed");
		ctx->fact_checks++;
		return true;
	}
	copy = xstrdup(f->crl_urls);
	for (tok = strtok_r(copy, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		strlist_add(&urls, tok);
	free(copy);
	if (urls.n == 0) {
		snprintf(detail, detail_len, "the certificate names no CRL distribution point");
		ctx->fact_checks++;
		strlist_free(&urls);
		return true;
	}
	if (f->serial[0] == '\0' || (ca = known_issuer(ctx, f->sha256)) < 0) {
		strlist_free(&urls);
		return false;
	}
	ctx->fact_checks++;
	*st = check_urls(ctx, &urls, f->serial, NULL, ca, ctx->cas[ca].sha256, detail, detail_len);
	strlist_free(&urls);
	return true;
}
