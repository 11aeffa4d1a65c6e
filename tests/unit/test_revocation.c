/* Revocation from CRLs (revocation.h): CRLs built here with OpenSSL and
 * handed out by an injected fetch function that counts its calls. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "policy.h"
#include "revocation.h"
#include "util.h"

#define CDP_URL "ldap:///CN=Test%20CA,CN=ca,CN=CDP,CN=Public%20Key%20Services,CN=Services," \
		"CN=Configuration,DC=example,DC=test?certificateRevocationList?base?objectClass=cRLDistributionPoint"

struct fixture {
	EVP_PKEY *ca_key, *rogue_key, *leaf_key;
	X509 *ca, *rogue, *leaf, *leaf_no_cdp;
	struct bloblist ca_ders;
	char cache_dir[64];
};

/* what the fake fetcher hands out */
struct fake_fetch {
	struct blob answer;     /* NULL data: fail */
	unsigned calls;
	char last_url[512];
};

static int fake_fetch(void *arg, const char *url, struct blob *out, char *err, size_t errlen)
{
	struct fake_fetch *f = arg;

	f->calls++;
	snprintf(f->last_url, sizeof(f->last_url), "%s", url);
	if (f->answer.data == NULL) {
		snprintf(err, errlen, "connection refused (test)");
		return -1;
	}
	out->data = xmalloc(f->answer.len);
	memcpy(out->data, f->answer.data, f->answer.len);
	out->len = f->answer.len;
	return 0;
}

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	return k;
}

static void add_ext(X509 *c, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(c, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* (the config-string form would split the URL at its commas) */
static void add_cdp(X509 *c, const char *url)
{
	STACK_OF(DIST_POINT) *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *u = ASN1_IA5STRING_new();

	assert_non_null(dps);
	assert_non_null(dp);
	assert_non_null(gn);
	assert_int_equal(ASN1_STRING_set(u, url, (int)strlen(url)), 1);
	GENERAL_NAME_set0_value(gn, GEN_URI, u);
	dp->distpoint = DIST_POINT_NAME_new();
	dp->distpoint->type = 0;
	dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
	sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn);
	sk_DIST_POINT_push(dps, dp);
	assert_int_equal(X509_add1_ext_i2d(c, NID_crl_distribution_points, dps, 0, 0), 1);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
		       const char *cdp)
{
	X509 *c = X509_new();
	X509_NAME *n;

	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 365L * 86400);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(c, key);
	if (issuer == NULL) {
		add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(c, c, NID_subject_key_identifier, "hash");
	} else {
		add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c, issuer, NID_authority_key_identifier, "keyid");
		if (cdp != NULL)
			add_cdp(c, cdp);
	}
	assert_true(X509_sign(c, issuer_key, EVP_sha256()) > 0);
	return c;
}

struct revoked_spec {
	long serial;
	long when;       /* seconds relative to now */
	int reason;      /* -1: no reason code */
};

/* when set, make_crl adds this issuingDistributionPoint (config syntax) */
static const char *crl_idp;

/* A DER CRL issued in the name of issuer, signed with key, valid from
 * now+this_s to now+next_s, listing revoked. */
static struct blob make_crl(X509 *issuer, EVP_PKEY *key, long this_s, long next_s,
			    const struct revoked_spec *revoked, size_t n)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	struct blob b = { NULL, 0 };
	unsigned char *p;
	size_t i;
	int len;

	assert_non_null(crl);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_gmtime_adj(t, this_s);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, next_s);
	X509_CRL_set1_nextUpdate(crl, t);
	for (i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, revoked[i].serial);
		X509_REVOKED_set_serialNumber(r, s);
		X509_gmtime_adj(t, revoked[i].when);
		X509_REVOKED_set_revocationDate(r, t);
		if (revoked[i].reason >= 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

			ASN1_ENUMERATED_set(e, revoked[i].reason);
			assert_int_equal(X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0), 1);
			ASN1_ENUMERATED_free(e);
		}
		assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
		ASN1_INTEGER_free(s);
	}
	if (crl_idp != NULL) {
		X509V3_CTX v3;
		X509_EXTENSION *e;

		X509V3_set_ctx(&v3, issuer, NULL, NULL, crl, 0);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_issuing_distribution_point, crl_idp);
		assert_non_null(e);
		assert_int_equal(X509_CRL_add_ext(crl, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	len = i2d_X509_CRL(crl, NULL);
	assert_true(len > 0);
	b.data = xmalloc((size_t)len);
	b.len = (size_t)len;
	p = b.data;
	i2d_X509_CRL(crl, &p);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return b;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct blob der = { NULL, 0 };

	f->ca_key = ec_key();
	f->rogue_key = ec_key();
	f->leaf_key = ec_key();
	f->ca = make_cert("Test CA", f->ca_key, NULL, f->ca_key, 1, NULL);
	f->rogue = make_cert("Test CA", f->rogue_key, NULL, f->rogue_key, 1, NULL);
	f->leaf = make_cert("client.example.test", f->leaf_key, f->ca, f->ca_key, 0x6101, CDP_URL);
	f->leaf_no_cdp = make_cert("client.example.test", f->leaf_key, f->ca, f->ca_key, 0x6102, NULL);
	/* the directory lists the rogue CA (same name, other key) first */
	assert_int_equal(cert_to_der(f->rogue, &der), 0);
	bloblist_add(&f->ca_ders, der.data, der.len);
	free(der.data);
	assert_int_equal(cert_to_der(f->ca, &der), 0);
	bloblist_add(&f->ca_ders, der.data, der.len);
	free(der.data);
	snprintf(f->cache_dir, sizeof(f->cache_dir), "/tmp/test_revocation.XXXXXX");
	assert_non_null(mkdtemp(f->cache_dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->cache_dir);
	assert_int_equal(system(cmd), 0);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->rogue_key);
	EVP_PKEY_free(f->leaf_key);
	X509_free(f->ca);
	X509_free(f->rogue);
	X509_free(f->leaf);
	X509_free(f->leaf_no_cdp);
	bloblist_free(&f->ca_ders);
	free(f);
	return 0;
}

/* A context over the fixture's CAs, no cache, answering with ff. */
static struct revocation_ctx *ctx_for(struct fixture *f, struct fake_fetch *ff, const char *cache_dir)
{
	struct revocation_ctx *ctx = revocation_ctx_new(NULL, cache_dir, true);

	revocation_ctx_add_cas(ctx, &f->ca_ders);
	revocation_ctx_set_fetch(ctx, fake_fetch, ff);
	return ctx;
}

static enum revocation_status check_with(struct fixture *f, struct blob crl, char *detail, size_t len,
					 unsigned *calls)
{
	struct fake_fetch ff = { crl, 0, "" };
	struct revocation_ctx *ctx = ctx_for(f, &ff, NULL);
	enum revocation_status st = revocation_check(ctx, f->leaf, NULL, detail, len);

	if (calls != NULL)
		*calls = ff.calls;
	if (ff.calls > 0)
		assert_string_equal(ff.last_url, CDP_URL);
	revocation_ctx_free(ctx);
	return st;
}

/* ------------------------------------------------------------ tests */

static void test_listed_is_revoked(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x5000, -7200, 4 }, { 0x6101, -3600, 1 } };
	struct blob crl = make_crl(f->ca, f->ca_key, -600, 86400, rv, 2);
	char detail[512], when[32];
	time_t rdate = time(NULL) - 3600;

	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_REVOKED);
	assert_non_null(strstr(detail, "revoked on "));
	assert_non_null(strstr(detail, "(keyCompromise)"));
	assert_non_null(strstr(detail, CDP_URL));
	/* the revocation date, to the second (allow the clock to tick once) */
	policy_format_time(rdate, when, sizeof(when));
	if (strstr(detail, when) == NULL) {
		policy_format_time(rdate + 1, when, sizeof(when));
		assert_non_null(strstr(detail, when));
	}
	free(crl.data);
}

static void test_listed_without_reason(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x6101, -60, -1 } };
	struct blob crl = make_crl(f->ca, f->ca_key, -600, 86400, rv, 1);
	char detail[512];

	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_REVOKED);
	assert_non_null(strstr(detail, "revoked on "));
	assert_null(strstr(detail, "("));
	free(crl.data);
}

static void test_not_listed_is_good(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x6100, -60, 1 }, { 0x61010, -60, 1 } };
	struct blob crl = make_crl(f->ca, f->ca_key, -600, 86400, rv, 2);
	char detail[512];

	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_GOOD);
	assert_non_null(strstr(detail, "CRL from " CDP_URL ", next update "));
	free(crl.data);
}

static void test_remove_from_crl_is_good(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x6101, -60, 8 } };   /* removeFromCRL: a hold lifted */
	struct blob crl = make_crl(f->ca, f->ca_key, -600, 86400, rv, 1);
	char detail[512];

	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_GOOD);
	free(crl.data);
}

static void test_bad_signature_is_unknown(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x6101, -60, 1 } };
	/* same issuer name, signed by the rogue key: must not count, not even as "revoked" */
	struct blob crl = make_crl(f->rogue, f->rogue_key, -600, 86400, rv, 1);
	char detail[512];

	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "signature does not verify"));
	free(crl.data);

	/* a flipped byte in the signature of a genuine CRL */
	crl = make_crl(f->ca, f->ca_key, -600, 86400, rv, 1);
	crl.data[crl.len - 3] ^= 0x01;
	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	free(crl.data);
}

static void test_stale_is_unknown(void **state)
{
	struct fixture *f = *state;
	struct blob crl = make_crl(f->ca, f->ca_key, -10 * 86400, -2 * 86400, NULL, 0);
	char detail[512];

	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "stale"));
	free(crl.data);

	/* past nextUpdate, within the grace: still used */
	crl = make_crl(f->ca, f->ca_key, -86400, -(REVOCATION_STALE_GRACE / 2), NULL, 0);
	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_GOOD);
	free(crl.data);

	/* thisUpdate in the future (beyond the clock-skew allowance) */
	crl = make_crl(f->ca, f->ca_key, 2 * REVOCATION_CLOCK_SKEW, 86400, NULL, 0);
	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "not valid before"));
	free(crl.data);
}

static void test_scoped_crl_is_unknown(void **state)
{
	struct fixture *f = *state;
	struct blob crl;
	char detail[512];

	/* a CRL of CA certificates only does not clear an end-entity certificate */
	crl_idp = "critical,onlyCA:TRUE";
	crl = make_crl(f->ca, f->ca_key, -600, 86400, NULL, 0);
	crl_idp = NULL;
	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "issuing distribution point"));
	free(crl.data);
	/* onlyUser: ours is a user or machine certificate, so it counts */
	crl_idp = "critical,onlyuser:TRUE";
	crl = make_crl(f->ca, f->ca_key, -600, 86400, NULL, 0);
	crl_idp = NULL;
	assert_int_equal(check_with(f, crl, detail, sizeof(detail), NULL), REVOCATION_GOOD);
	free(crl.data);
}

static void test_garbage_is_unknown(void **state)
{
	struct fixture *f = *state;
	unsigned char junk[64];
	struct blob b = { junk, sizeof(junk) };
	struct revoked_spec rv[] = { { 0x6101, -60, 1 } };
	struct blob crl = make_crl(f->ca, f->ca_key, -600, 86400, rv, 1);
	unsigned char *longer = xmalloc(crl.len + 1);
	char detail[512];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	assert_int_equal(check_with(f, b, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "not a DER CRL"));
	/* the AD placeholder value: a single 0x00 */
	junk[0] = 0;
	b.len = 1;
	assert_int_equal(check_with(f, b, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	/* every truncation of a CRL that would say "revoked" */
	for (i = 1; i < crl.len; i += 7) {
		b.data = crl.data;
		b.len = i;
		assert_int_equal(check_with(f, b, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	}
	/* trailing bytes after the CRL */
	memcpy(longer, crl.data, crl.len);
	longer[crl.len] = 0;
	b.data = longer;
	b.len = crl.len + 1;
	assert_int_equal(check_with(f, b, detail, sizeof(detail), NULL), REVOCATION_UNKNOWN);
	free(longer);
	free(crl.data);
}

static void test_fetch_failure_is_unknown(void **state)
{
	struct fixture *f = *state;
	struct blob none = { NULL, 0 };
	char detail[512];
	unsigned calls = 0;

	assert_int_equal(check_with(f, none, detail, sizeof(detail), &calls), REVOCATION_UNKNOWN);
	assert_int_equal(calls, 1);
	assert_non_null(strstr(detail, "cannot fetch it: connection refused (test)"));
	assert_non_null(strstr(detail, CDP_URL));
}

static void test_no_cdp_or_issuer_is_unknown(void **state)
{
	struct fixture *f = *state;
	struct fake_fetch ff = { { NULL, 0 }, 0, "" };
	struct revocation_ctx *ctx = ctx_for(f, &ff, NULL);
	struct revocation_ctx *bare = revocation_ctx_new(NULL, NULL, false);
	char detail[512];

	assert_int_equal(revocation_check(ctx, f->leaf_no_cdp, NULL, detail, sizeof(detail)), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "no CRL distribution point"));
	assert_int_equal(ff.calls, 0);
	/* no CA certificates: the issuer cannot be found */
	revocation_ctx_set_fetch(bare, fake_fetch, &ff);
	assert_int_equal(revocation_check(bare, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "not among the CA certificates"));
	assert_int_equal(ff.calls, 0);
	revocation_ctx_free(bare);
	/* no fetcher and no LDAP connection */
	bare = revocation_ctx_new(NULL, NULL, false);
	revocation_ctx_add_cas(bare, &f->ca_ders);
	assert_int_equal(revocation_check(bare, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_UNKNOWN);
	assert_non_null(strstr(detail, "no LDAP connection"));
	revocation_ctx_free(bare);
	revocation_ctx_free(ctx);
}

/* Without an injected fetch, ldap:// URLs are parsed, then need the LDAP session. */
static void test_ldap_urls(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ CDP_URL, "no LDAP connection" },
		{ "LDAP://dc.example.test/CN=CA,CN=CDP?certificateRevocationList;binary", "no LDAP connection" },
		{ "ldap:///CN=CA,CN=CDP", "no LDAP connection" },
		{ "ldap:///CN=CA%2", "bad percent-encoding" },
		{ "ldap:///CN=CA%00x?certificateRevocationList", "bad percent-encoding" },
		{ "ldap:///CN=CA%zz", "bad percent-encoding" },
		{ "ldap:///CN=CA?cACertificate?base", "not a CRL attribute" },
		{ "ldap://dc.example.test", "names no DN" },
		{ "ldap:///?certificateRevocationList", "names no DN" },
		{ "http://pki.example.test/ca.crl", "only ldap:// distribution points" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *leaf = make_cert("client", f->leaf_key, f->ca, f->ca_key, 0x7000 + (long)i, cases[i].url);
		struct revocation_ctx *ctx = revocation_ctx_new(NULL, NULL, false);
		char detail[512];

		revocation_ctx_add_cas(ctx, &f->ca_ders);
		assert_int_equal(revocation_check(ctx, leaf, NULL, detail, sizeof(detail)), REVOCATION_UNKNOWN);
		if (strstr(detail, cases[i].want) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].url, detail, cases[i].want);
		revocation_ctx_free(ctx);
		X509_free(leaf);
	}
}

static void test_cache_reuse(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x6101, -60, 1 } };
	struct blob good = make_crl(f->ca, f->ca_key, -600, 86400, NULL, 0);
	struct blob revoked = make_crl(f->ca, f->ca_key, -60, 2 * 86400, rv, 1);
	struct fake_fetch ff = { good, 0, "" };
	struct revocation_ctx *ctx;
	char detail[512];

	/* run 1: one fetch, however many certificates name the URL */
	ctx = ctx_for(f, &ff, f->cache_dir);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_GOOD);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_GOOD);
	assert_int_equal(ff.calls, 1);
	assert_int_equal(revocation_ctx_fetch_count(ctx), 1);
	revocation_ctx_free(ctx);

	/* run 2: the cached CRL is fresh, no fetch (even though the CA now lists the cert) */
	ff.answer = revoked;
	ctx = ctx_for(f, &ff, f->cache_dir);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_GOOD);
	assert_int_equal(ff.calls, 1);
	revocation_ctx_free(ctx);

	/* run 3, two days later: the cached CRL is past its nextUpdate: fetched again */
	ctx = ctx_for(f, &ff, f->cache_dir);
	revocation_ctx_set_time(ctx, time(NULL) + 86400 + 600);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_REVOKED);
	assert_int_equal(ff.calls, 2);
	revocation_ctx_free(ctx);

	/* run 4: the new CRL was cached */
	ctx = ctx_for(f, &ff, f->cache_dir);
	revocation_ctx_set_time(ctx, time(NULL) + 86400 + 600);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_REVOKED);
	assert_int_equal(ff.calls, 2);
	revocation_ctx_free(ctx);

	/* a failed fetch is not retried within the run */
	ff.answer.data = NULL;
	ctx = ctx_for(f, &ff, NULL);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_UNKNOWN);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_UNKNOWN);
	assert_int_equal(ff.calls, 3);
	revocation_ctx_free(ctx);
	free(good.data);
	free(revoked.data);
}

static void test_cache_not_written_read_only(void **state)
{
	struct fixture *f = *state;
	struct blob good = make_crl(f->ca, f->ca_key, -600, 86400, NULL, 0);
	struct fake_fetch ff = { good, 0, "" };
	struct revocation_ctx *ctx = revocation_ctx_new(NULL, f->cache_dir, false);
	char detail[512], sub[128];
	struct stat stbuf;

	snprintf(sub, sizeof(sub), "%s/ro", f->cache_dir);
	revocation_ctx_free(ctx);
	ctx = revocation_ctx_new(NULL, sub, false);
	revocation_ctx_add_cas(ctx, &f->ca_ders);
	revocation_ctx_set_fetch(ctx, fake_fetch, &ff);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_GOOD);
	assert_int_not_equal(stat(sub, &stbuf), 0);   /* --dry-run writes nothing */
	revocation_ctx_free(ctx);
	free(good.data);
}

static void test_cache_garbage_is_refetched(void **state)
{
	struct fixture *f = *state;
	struct blob good = make_crl(f->ca, f->ca_key, -600, 86400, NULL, 0);
	struct fake_fetch ff = { good, 0, "" };
	struct revocation_ctx *ctx;
	char detail[512], sub[128], cmd[256];

	snprintf(sub, sizeof(sub), "%s/g", f->cache_dir);
	ctx = ctx_for(f, &ff, sub);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_GOOD);
	revocation_ctx_free(ctx);
	/* corrupt every cached file */
	snprintf(cmd, sizeof(cmd), "for x in '%s'/*.crl; do printf garbage > \"$x\"; done", sub);
	assert_int_equal(system(cmd), 0);
	ctx = ctx_for(f, &ff, sub);
	assert_int_equal(revocation_check(ctx, f->leaf, NULL, detail, sizeof(detail)), REVOCATION_GOOD);
	assert_int_equal(ff.calls, 2);
	revocation_ctx_free(ctx);
	free(good.data);
}

/* ------------------------------------------------------------ the facts path */

/* What the held-certificate index keeps of x (store_item_set_facts). */
struct cert_facts {
	char sha256[65], serial[84];
	char *urls;
	bool malformed;
	struct revocation_cert_facts f;
};

static void facts_of(X509 *x, struct cert_facts *cf)
{
	memset(cf, 0, sizeof(*cf));
	assert_int_equal(cert_sha256_hex(x, cf->sha256, sizeof(cf->sha256)), 0);
	assert_int_equal(cert_serial_hex(x, cf->serial, sizeof(cf->serial)), 0);
	cf->urls = revocation_cert_urls_text(x, &cf->malformed);
	assert_non_null(cf->urls);
	cf->f.sha256 = cf->sha256;
	cf->f.serial = cf->serial;
	cf->f.crl_urls = cf->urls;
	cf->f.cdp_malformed = cf->malformed;
}

/* One run of each kind over cache dir sub at time now (0: the clock),
 * the fetcher answering crl: the verdict with the certificate (a
 * context of its own, cache read only, so that it leaves nothing), then
 * with the facts only (the cache as a pulse leaves it).  Both must agree;
 * *stats receives the facts run's counters. */
static enum revocation_status both_ways(struct fixture *f, X509 *leaf, const char *sub, time_t now,
					struct blob crl, bool *answered, struct revocation_stats *stats)
{
	struct fake_fetch ff = { crl, 0, "" };
	struct revocation_ctx *ctx = revocation_ctx_new(NULL, sub, false);
	char d1[512], d2[512];
	enum revocation_status s1, s2;
	struct cert_facts cf;

	revocation_ctx_add_cas(ctx, &f->ca_ders);
	revocation_ctx_set_fetch(ctx, fake_fetch, &ff);
	revocation_ctx_set_time(ctx, now);
	s1 = revocation_check(ctx, leaf, NULL, d1, sizeof(d1));
	revocation_ctx_free(ctx);

	facts_of(leaf, &cf);
	ctx = ctx_for(f, &ff, sub);
	revocation_ctx_set_time(ctx, now);
	*answered = revocation_check_facts(ctx, &cf.f, &s2, d2, sizeof(d2));
	revocation_ctx_stats(ctx, stats);
	revocation_ctx_free(ctx);
	free(cf.urls);
	if (*answered) {
		assert_int_equal(s2, s1);
		assert_string_equal(d2, d1);
	}
	return s1;
}

/* A pulse with the certificate: it learns the issuer and caches the CRL
 * and its facts. */
static void pulse_with_cert(struct fixture *f, X509 *leaf, const char *sub, time_t now, struct blob crl,
			    enum revocation_status want)
{
	struct fake_fetch ff = { crl, 0, "" };
	struct revocation_ctx *ctx = ctx_for(f, &ff, sub);
	char detail[512];

	revocation_ctx_set_time(ctx, now);
	assert_int_equal(revocation_check(ctx, leaf, NULL, detail, sizeof(detail)), want);
	revocation_ctx_free(ctx);
}

static void test_facts_answer_like_the_certificate(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv_reason[] = { { 0x5000, -7200, 4 }, { 0x6101, -3600, 1 } };
	struct revoked_spec rv_plain[] = { { 0x6101, -60, -1 } };
	struct revoked_spec rv_lifted[] = { { 0x6101, -60, 8 } };
	struct revoked_spec rv_other[] = { { 0x7000, -60, 1 } };
	struct {
		const char *name;
		const struct revoked_spec *rv;
		size_t n;
		enum revocation_status want;
	} cases[] = {
		{ "good", rv_other, 1, REVOCATION_GOOD },
		{ "revoked with a reason", rv_reason, 2, REVOCATION_REVOKED },
		{ "revoked without a reason", rv_plain, 1, REVOCATION_REVOKED },
		{ "hold lifted", rv_lifted, 1, REVOCATION_GOOD },
		{ "empty CRL", NULL, 0, REVOCATION_GOOD },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct blob crl = make_crl(f->ca, f->ca_key, -600, 86400, cases[i].rv, cases[i].n);
		struct revocation_stats st;
		bool answered;
		char sub[128];

		snprintf(sub, sizeof(sub), "%s/case%zu", f->cache_dir, i);
		/* before any check with the certificate, the issuer is not known */
		assert_int_equal(both_ways(f, f->leaf, sub, 0, crl, &answered, &st), cases[i].want);
		assert_false(answered);
		pulse_with_cert(f, f->leaf, sub, 0, crl, cases[i].want);
		/* the no-op pulse: same verdict, nothing parsed, nothing fetched */
		assert_int_equal(both_ways(f, f->leaf, sub, 0, crl, &answered, &st), cases[i].want);
		if (!answered)
			fail_msg("case %s: the facts did not answer", cases[i].name);
		assert_int_equal(st.fact_checks, 1);
		assert_int_equal(st.cert_checks, 0);
		assert_int_equal(st.crl_parses, 0);
		assert_int_equal(st.fetches, 0);
		free(crl.data);
	}
}

/* Stale, missing and changed CRLs, a changed clock and another set of CA
 * certificates: the facts path gives the certificate's verdict or asks
 * for the certificate, never a verdict of its own. */
static void test_facts_follow_changes(void **state)
{
	struct fixture *f = *state;
	struct revoked_spec rv[] = { { 0x6101, -60, 1 } };
	struct blob good = make_crl(f->ca, f->ca_key, -600, 86400, NULL, 0);
	struct blob revoked = make_crl(f->ca, f->ca_key, -300, 2 * 86400, rv, 1);
	struct blob stale = make_crl(f->ca, f->ca_key, -10 * 86400, -5 * 86400, NULL, 0);
	struct blob none = { NULL, 0 };
	struct revocation_stats st;
	struct cert_facts cf;
	bool answered;
	char sub[128], cmd[512], detail[512];
	enum revocation_status s;
	struct revocation_ctx *ctx;
	struct bloblist only_ca = { NULL, 0 };
	struct blob der = { NULL, 0 };
	FILE *fp;

	snprintf(sub, sizeof(sub), "%s/changes", f->cache_dir);
	pulse_with_cert(f, f->leaf, sub, 0, good, REVOCATION_GOOD);
	assert_int_equal(both_ways(f, f->leaf, sub, 0, none, &answered, &st), REVOCATION_GOOD);
	assert_true(answered);
	assert_int_equal(st.crl_parses, 0);

	/* a new CRL (revoking the certificate) replaced the cached one: the
	 * facts no longer stand for the file, the CRL is read */
	snprintf(cmd, sizeof(cmd), "%s/new.der", sub);
	fp = fopen(cmd, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(revoked.data, 1, revoked.len, fp), revoked.len);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "for x in '%s'/*.crl; do mv '%s/new.der' \"$x\"; done", sub, sub);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(both_ways(f, f->leaf, sub, 0, none, &answered, &st), REVOCATION_REVOKED);
	assert_true(answered);
	assert_true(st.crl_parses > 0);
	/* that run wrote the new facts: the next one parses nothing again */
	pulse_with_cert(f, f->leaf, sub, 0, none, REVOCATION_REVOKED);
	assert_int_equal(both_ways(f, f->leaf, sub, 0, none, &answered, &st), REVOCATION_REVOKED);
	assert_true(answered);
	assert_int_equal(st.crl_parses, 0);

	/* past the cached CRL's nextUpdate: fetched again, as with the
	 * certificate; the fetch fails, the cached copy is stale: unknown */
	s = both_ways(f, f->leaf, sub, time(NULL) + 3 * 86400, none, &answered, &st);
	assert_int_equal(s, REVOCATION_UNKNOWN);
	assert_true(answered);
	assert_int_equal(st.fetches, 1);
	/* ... and a stale CRL fetched is unknown both ways too */
	s = both_ways(f, f->leaf, sub, time(NULL) + 3 * 86400, stale, &answered, &st);
	assert_int_equal(s, REVOCATION_UNKNOWN);
	assert_true(answered);

	/* the cached CRL removed: fetched (missing and failing: unknown) */
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.crl", sub);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(both_ways(f, f->leaf, sub, 0, none, &answered, &st), REVOCATION_UNKNOWN);
	assert_true(answered);
	assert_int_equal(st.fetches, 1);

	/* facts that are not root-only are not trusted */
	pulse_with_cert(f, f->leaf, sub, 0, good, REVOCATION_GOOD);
	snprintf(cmd, sizeof(cmd), "chmod 0666 '%s'/*.facts", sub);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(both_ways(f, f->leaf, sub, 0, none, &answered, &st), REVOCATION_GOOD);
	assert_true(answered);
	assert_true(st.crl_parses > 0);

	/* another set of CA certificates: the issuer is verified again */
	assert_int_equal(cert_to_der(f->ca, &der), 0);
	bloblist_add(&only_ca, der.data, der.len);
	free(der.data);
	facts_of(f->leaf, &cf);
	ctx = revocation_ctx_new(NULL, sub, true);
	revocation_ctx_add_cas(ctx, &only_ca);
	assert_false(revocation_check_facts(ctx, &cf.f, &s, detail, sizeof(detail)));
	revocation_ctx_free(ctx);
	free(cf.urls);
	bloblist_free(&only_ca);

	/* a certificate without distribution points needs no issuer */
	facts_of(f->leaf_no_cdp, &cf);
	ctx = revocation_ctx_new(NULL, NULL, false);
	assert_true(revocation_check_facts(ctx, &cf.f, &s, detail, sizeof(detail)));
	assert_int_equal(s, REVOCATION_UNKNOWN);
	assert_string_equal(detail, "the certificate names no CRL distribution point");
	revocation_ctx_free(ctx);
	free(cf.urls);

	/* the cache files are root-only */
	snprintf(cmd, sizeof(cmd), "test \"$(stat -c %%a '%s/issuers')\" = 600", sub);
	assert_int_equal(system(cmd), 0);
	free(good.data);
	free(revoked.data);
	free(stale.data);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(revocation_status_name(REVOCATION_GOOD), "good");
	assert_string_equal(revocation_status_name(REVOCATION_REVOKED), "revoked");
	assert_string_equal(revocation_status_name(REVOCATION_UNKNOWN), "unknown");
	assert_string_equal(revocation_reason_name(1), "keyCompromise");
	assert_string_equal(revocation_reason_name(6), "certificateHold");
	assert_string_equal(revocation_reason_name(7), "reason 7");
	assert_string_equal(revocation_reason_name(-3), "reason -3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listed_is_revoked),
		cmocka_unit_test(test_listed_without_reason),
		cmocka_unit_test(test_not_listed_is_good),
		cmocka_unit_test(test_remove_from_crl_is_good),
		cmocka_unit_test(test_bad_signature_is_unknown),
		cmocka_unit_test(test_stale_is_unknown),
		cmocka_unit_test(test_scoped_crl_is_unknown),
		cmocka_unit_test(test_garbage_is_unknown),
		cmocka_unit_test(test_fetch_failure_is_unknown),
		cmocka_unit_test(test_no_cdp_or_issuer_is_unknown),
		cmocka_unit_test(test_ldap_urls),
		cmocka_unit_test(test_cache_reuse),
		cmocka_unit_test(test_cache_not_written_read_only),
		cmocka_unit_test(test_cache_garbage_is_refetched),
		cmocka_unit_test(test_facts_answer_like_the_certificate),
		cmocka_unit_test(test_facts_follow_changes),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
