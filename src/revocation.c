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

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "directory.h"
#include "fsutil.h"
#include "ldap_conn.h"
#include "log.h"

/* A URL already tried in this run: the verified CRL or why there is none. */
struct crl_memo {
	char *url;
	X509_CRL *crl;          /* NULL when it failed */
	X509 *issuer;           /* the CA whose key verified crl (owned reference) */
	char err[384];
};

struct revocation_ctx {
	struct ldap_conn *ldap;
	char *cache_dir;
	bool write_cache;
	STACK_OF(X509) *cas;
	revocation_fetch_fn fetch;
	void *fetch_arg;
	time_t now;
	unsigned long fetches;
	struct crl_memo *memo;
	size_t n_memo;
};

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
	ctx->cas = sk_X509_new_null();
	if (ctx->cas == NULL) {
		fprintf(stderr, "adenroll: out of memory\n");
		abort();
	}
	return ctx;
}

void revocation_ctx_add_cas(struct revocation_ctx *ctx, const struct bloblist *ders)
{
	size_t i;

	for (i = 0; ders != NULL && i < ders->n; i++) {
		X509 *x = cert_from_der(ders->v[i].data, ders->v[i].len);

		if (x == NULL)
			continue;   /* a bad directory value must not hide the good ones */
		if (!sk_X509_push(ctx->cas, x))
			X509_free(x);
	}
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

void revocation_ctx_free(struct revocation_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->n_memo; i++) {
		free(ctx->memo[i].url);
		X509_CRL_free(ctx->memo[i].crl);
		X509_free(ctx->memo[i].issuer);
	}
	free(ctx->memo);
	sk_X509_pop_free(ctx->cas, X509_free);
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

static X509_CRL *crl_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl;

	if (der == NULL || len == 0 || len > REVOCATION_MAX_CRL || len > LONG_MAX)
		return NULL;
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

/* The CA among ctx->cas that issued cert: name/key-identifier match and a
 * signature that verifies (a CA with the same name but another key does
 * not count). */
static X509 *find_issuer(struct revocation_ctx *ctx, X509 *cert)
{
	int i;

	for (i = 0; i < sk_X509_num(ctx->cas); i++) {
		X509 *ca = sk_X509_value(ctx->cas, i);
		EVP_PKEY *pk = X509_get0_pubkey(ca);

		if (X509_check_issued(ca, cert) == X509_V_OK && pk != NULL && X509_verify(cert, pk) == 1)
			return ca;
	}
	return NULL;
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
		X509_CRL *crl = crl_from_der(f.values.v[i].data, f.values.v[i].len);

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

/* Signature, issuer name, kind and times of crl against issuer at now. */
static enum crl_fitness crl_check(X509_CRL *crl, X509 *issuer, time_t now, char *err, size_t errlen)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
	time_t tu = asn1_time(X509_CRL_get0_lastUpdate(crl)), tn;
	char when[32];
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
	if (tu > now + REVOCATION_CLOCK_SKEW) {
		policy_format_time(tu, when, sizeof(when));
		snprintf(err, errlen, "the CRL is not valid before %s (thisUpdate; is the clock right?)", when);
		return CRL_UNUSABLE;
	}
	if (nu == NULL)
		return CRL_PAST_NEXT_UPDATE;   /* no promise of freshness: never reused from the cache */
	tn = asn1_time(nu);
	if (tn == (time_t)-1) {
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

/* cache_dir/<first 32 hex digits of SHA-256(url)>.crl */
static char *cache_path(const struct revocation_ctx *ctx, const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char name[40];
	int i;

	if (ctx->cache_dir == NULL || EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 16)
		return NULL;
	for (i = 0; i < 16; i++)
		snprintf(name + 2 * i, 3, "%02x", md[i]);
	snprintf(name + 32, sizeof(name) - 32, ".crl");
	return fs_path_join(ctx->cache_dir, name);
}

static X509_CRL *cache_load(const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	X509_CRL *crl;

	if (path == NULL || fs_read_file(path, REVOCATION_MAX_CRL, &buf, &len) != 0)
		return NULL;
	crl = crl_from_der(buf, len);
	if (crl == NULL)
		log_warn("ignoring the cached CRL %s: it is not a DER CRL", path);
	free(buf);
	return crl;
}

static void cache_store(const struct revocation_ctx *ctx, const char *path, const struct blob *der)
{
	if (path == NULL || !ctx->write_cache)
		return;
	if (fs_mkdir_p(ctx->cache_dir, 0755) != 0 ||
	    fs_write_atomic(path, der->data, der->len, 0644, (uid_t)-1) != 0)
		log_warn("could not cache the CRL in %s: it will be fetched again next run", ctx->cache_dir);
}

static struct crl_memo *memo_add(struct revocation_ctx *ctx, const char *url, X509_CRL *crl, X509 *issuer,
				 const char *err)
{
	struct crl_memo *m;

	ctx->memo = xrealloc(ctx->memo, (ctx->n_memo + 1) * sizeof(*ctx->memo));
	m = &ctx->memo[ctx->n_memo++];
	memset(m, 0, sizeof(*m));
	m->url = xstrdup(url);
	m->crl = crl;
	if (issuer != NULL && X509_up_ref(issuer) == 1)
		m->issuer = issuer;
	snprintf(m->err, sizeof(m->err), "%s", err != NULL ? err : "");
	return m;
}

/* The usable CRL behind url for issuer: from this run's memo, the cache
 * while fresh, else fetched (and cached).  NULL with the reason in err. */
static X509_CRL *crl_for(struct revocation_ctx *ctx, const char *url, X509 *issuer, char *err, size_t errlen)
{
	time_t now = ctx_now(ctx);
	char *path = NULL;
	X509_CRL *cached = NULL, *crl = NULL;
	enum crl_fitness cached_fit = CRL_UNUSABLE, fit;
	struct blob der = { NULL, 0 };
	char why[384], ferr[256];
	size_t i;

	for (i = 0; i < ctx->n_memo; i++) {
		struct crl_memo *m = &ctx->memo[i];

		if (strcmp(m->url, url) != 0)
			continue;
		if (m->crl == NULL) {
			snprintf(err, errlen, "%s", m->err);
			return NULL;
		}
		if (m->issuer != NULL && X509_cmp(m->issuer, issuer) == 0)
			return m->crl;
		/* another issuer names the same URL: judge the CRL against it */
		if (crl_check(m->crl, issuer, now, err, errlen) == CRL_UNUSABLE)
			return NULL;
		return m->crl;
	}

	path = cache_path(ctx, url);
	cached = cache_load(path);
	if (cached != NULL) {
		cached_fit = crl_check(cached, issuer, now, why, sizeof(why));
		if (cached_fit == CRL_FRESH) {
			log_debug("CRL for %s: cached copy %s is fresh", url, path);
			crl = cached;
			cached = NULL;
			goto done;
		}
	}
	ferr[0] = '\0';
	if (fetch(ctx, url, &der, ferr, sizeof(ferr)) != 0) {
		snprintf(why, sizeof(why), "cannot fetch it: %s", ferr[0] ? ferr : "unknown error");
	} else if ((crl = crl_from_der(der.data, der.len)) == NULL) {
		snprintf(why, sizeof(why), "what it returned is not a DER CRL");
	} else if ((fit = crl_check(crl, issuer, now, why, sizeof(why))) == CRL_UNUSABLE) {
		X509_CRL_free(crl);
		crl = NULL;
	} else {
		log_debug("CRL for %s: fetched, %zu bytes", url, der.len);
		if (fit == CRL_FRESH)
			cache_store(ctx, path, &der);
		goto done;
	}
	/* The fetch gave nothing usable: a cached copy still within its grace does. */
	if (cached != NULL && cached_fit == CRL_PAST_NEXT_UPDATE) {
		log_warn("CRL %s: %s; using the cached copy, past its nextUpdate", url, why);
		crl = cached;
		cached = NULL;
		goto done;
	}
	snprintf(err, errlen, "%s", why);
	memo_add(ctx, url, NULL, NULL, why);
	crl = NULL;
	goto out;
done:
	memo_add(ctx, url, crl, issuer, NULL);
out:
	X509_CRL_free(cached);
	free(der.data);
	free(path);
	return crl;
}

/* ---------------------------------------------------------------- the check */

enum revocation_status revocation_check(struct revocation_ctx *ctx, X509 *cert, X509 *issuer,
					char *detail, size_t detail_len)
{
	struct strlist urls = { NULL, 0 };
	enum revocation_status st = REVOCATION_UNKNOWN;
	char err[384], when[32];
	size_t i;

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
	if (issuer == NULL)
		issuer = find_issuer(ctx, cert);
	if (issuer == NULL) {
		char *n = name_text(X509_get_issuer_name(cert));

		snprintf(detail, detail_len,
			 "its issuer %s is not among the CA certificates published in the directory", n);
		free(n);
		goto out;
	}
	for (i = 0; i < urls.n; i++) {
		X509_CRL *crl = crl_for(ctx, urls.v[i], issuer, err, sizeof(err));
		X509_REVOKED *rev = NULL;
		int found;

		if (crl == NULL) {
			/* the first reason is the one reported when no URL works */
			if (i == 0 || detail[0] == '\0')
				snprintf(detail, detail_len, "CRL from %s: %s", urls.v[i], err);
			continue;
		}
		found = X509_CRL_get0_by_serial(crl, &rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert));
		/* 2: listed with removeFromCRL (a hold lifted), i.e. not revoked */
		if (found == 1 && rev != NULL) {
			int crit = -1, reason = -1;
			ASN1_ENUMERATED *r = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);

			if (r != NULL)
				reason = (int)ASN1_ENUMERATED_get(r);
			ASN1_ENUMERATED_free(r);
			policy_format_time(asn1_time(X509_REVOKED_get0_revocationDate(rev)), when, sizeof(when));
			if (reason >= 0)
				snprintf(detail, detail_len, "revoked on %s (%s); CRL from %s", when,
					 revocation_reason_name(reason), urls.v[i]);
			else
				snprintf(detail, detail_len, "revoked on %s; CRL from %s", when, urls.v[i]);
			st = REVOCATION_REVOKED;
			goto out;
		}
		if (X509_CRL_get0_nextUpdate(crl) != NULL)
			policy_format_time(asn1_time(X509_CRL_get0_nextUpdate(crl)), when, sizeof(when));
		else
			snprintf(when, sizeof(when), "not given");
		snprintf(detail, detail_len, "CRL from %s, next update %s", urls.v[i], when);
		st = REVOCATION_GOOD;
		goto out;
	}
out:
	strlist_free(&urls);
	return st;
}
