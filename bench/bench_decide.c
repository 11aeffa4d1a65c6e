/* Decision time at scale (bench/run.sh): how long pulse's pure part takes
 * with N templates in the directory and N certificates in the store.
 *
 *   bench_decide [-r REPEATS] N...
 *
 * For each N: a directory snapshot in memory as directory_read() would
 * leave it (N schema-2 machine templates published by one CA, each with a
 * real-shaped DACL granting Enroll and AutoEnroll to Domain Computers, and
 * the machine's token), and a real PEM store on disk holding one valid
 * certificate per template (installed with store_install).  Then, REPEATS
 * times each, measured with CLOCK_PROCESS_CPUTIME_ID:
 *   cold     store_open + store_list_indexed + store_close with no
 *            held-certificate index (every certificate parsed, as before
 *            the index existed), then the decision
 *   warm     the same with the index store_tidy wrote (nothing parsed)
 *   decide   eligibility_evaluate_all + store_lookup_new + for every
 *            eligible template store_lookup_held + store_policy_input +
 *            policy_decide
 *   rev      the decision with revocation checking on, as plan.c does it
 *            (revocation_check_facts, else the certificate parsed and
 *            revocation_check): every certificate names one CRL
 *            distribution point whose CRL (fresh, listing 100 other
 *            serials) an injected fetch hands out; cold is the first run
 *            (no verified issuers, no CRL cached), warm the next ones
 * and prints one line per N with the median CPU milliseconds:
 *   n= store_ms= decide_ms= total_ms=   the warm store read, the decision, their sum
 *   cold_store_ms= cold_total_ms=       the same without an index
 *   cold_parses= warm_parses=           certificates parsed per read
 *   rev_decide_ms= rev_total_ms=        the warm decision with revocation on, + the warm store read
 *   rev_cold_decide_ms=                 the first decision with revocation on
 *   rev_cold_parses= rev_cold_crls=     certificates and CRLs parsed by that first decision
 *   rev_warm_parses= rev_warm_crls=     the same for each warm one (must be 0 and 0)
 * Every decision must come out "keep" (each certificate is valid) and the
 * warm read must parse nothing, otherwise the run fails: the bench measures
 * the no-op case. */
#include "adenroll-build.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "config.h"
#include "directory.h"
#include "fsutil.h"
#include "eligibility.h"
#include "log.h"
#include "policy.h"
#include "revocation.h"
#include "sddl.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define ENROLL_GUID "0e10c968-78fb-11d2-90d4-00c04f79dc55"
#define AUTOENROLL_GUID "a05b8cc2-17bc-4802-a710-e7c15ab866a2"
/* the test domain's LinuxWorkstation ACL (tests/testenv/domain.sh) */
#define ACL "O:DAG:DAD:PAI(OA;;RPWPCR;" ENROLL_GUID ";;DC)(OA;;RPWPCR;" AUTOENROLL_GUID ";;DC)" \
	"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;LCRPLORC;;;AU)"
#define OID_ARC "1.3.6.1.4.1.311.21.8.4216373.7459528.13350455.14937417.1185641.212"
#define MAX_REPEATS 101
#define CA_NAME "Bench CA"
#define CDP_URL "ldap:///CN=Bench%20CA,CN=bench,CN=CDP?certificateRevocationList?base"
#define CRL_OTHERS 100

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* 1.3.6.1.4.1.311.21.7: SEQUENCE { templateID OID, major INTEGER, minor INTEGER } */
static int add_template_ext(X509 *x, const char *oid, uint32_t major)
{
	unsigned char der[256], *p = der + 2;
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1), *ext_obj = OBJ_txt2obj("1.3.6.1.4.1.311.21.7", 1);
	ASN1_INTEGER *ma = ASN1_INTEGER_new(), *mi = ASN1_INTEGER_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int len, ret = -1;

	if (!obj || !ext_obj || !ma || !mi || !os || i2d_ASN1_OBJECT(obj, NULL) > 100)
		goto out;
	ASN1_INTEGER_set_uint64(ma, major);
	ASN1_INTEGER_set_uint64(mi, 3);
	len = i2d_ASN1_OBJECT(obj, &p);
	len += i2d_ASN1_INTEGER(ma, &p);
	len += i2d_ASN1_INTEGER(mi, &p);
	der[0] = 0x30;
	der[1] = (unsigned char)len;
	if (!ASN1_OCTET_STRING_set(os, der, len + 2))
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, ext_obj, 0, os);
	if (ext && X509_add_ext(x, ext, -1) == 1)
		ret = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_INTEGER_free(ma);
	ASN1_INTEGER_free(mi);
	ASN1_OBJECT_free(obj);
	ASN1_OBJECT_free(ext_obj);
	return ret;
}

/* The CDP extension by hand (the config-string form splits at commas). */
static int add_cdp(X509 *x)
{
	STACK_OF(DIST_POINT) *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *u = ASN1_IA5STRING_new();
	int ok = dps && dp && gn && u && ASN1_STRING_set(u, CDP_URL, (int)strlen(CDP_URL)) == 1;

	if (ok) {
		GENERAL_NAME_set0_value(gn, GEN_URI, u);
		u = NULL;
		dp->distpoint = DIST_POINT_NAME_new();
		ok = dp->distpoint != NULL;
	}
	if (ok) {
		dp->distpoint->type = 0;
		dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
		ok = dp->distpoint->name.fullname != NULL && sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) > 0;
		if (ok)
			gn = NULL;
	}
	ok = ok && sk_DIST_POINT_push(dps, dp) > 0;
	if (ok)
		dp = NULL;
	ok = ok && X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, 0) == 1;
	ASN1_IA5STRING_free(u);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return ok ? 0 : -1;
}

/* Issued yesterday for a year by the CA (ca_key; NULL: the bench CA
 * itself, self-signed with key): far from renewal. */
static X509 *new_cert(EVP_PKEY *key, EVP_PKEY *ca_key, const char *oid, uint32_t major, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new(), *ca = X509_NAME_new();
	int ok = x && n && ca;

	ok = ok && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)(ca_key ? "client.example.test" : CA_NAME), -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(ca, "CN", MBSTRING_ASC, (const unsigned char *)CA_NAME, -1, -1, 0) &&
	     X509_set_subject_name(x, n) && X509_set_issuer_name(x, ca) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -86400L) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 364L * 86400) && X509_set_pubkey(x, key) &&
	     (ca_key == NULL || (add_template_ext(x, oid, major) == 0 && add_cdp(x) == 0)) &&
	     X509_sign(x, ca_key ? ca_key : key, EVP_sha256()) > 0;
	X509_NAME_free(n);
	X509_NAME_free(ca);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The bench CA's certificate (DER) and its CRL: fresh for a week, listing
 * CRL_OTHERS serials that are none of the store's. */
struct bench_ca {
	EVP_PKEY *key;
	struct bloblist cert;
	struct blob crl;
};

static int bench_ca_init(struct bench_ca *b)
{
	X509 *x = NULL;
	X509_CRL *crl = X509_CRL_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_TIME *t = ASN1_TIME_new();
	struct blob der = { NULL, 0 };
	unsigned char *p;
	int len, ret = -1;

	memset(b, 0, sizeof *b);
	b->key = EVP_EC_gen("P-256");
	if (!b->key || !crl || !n || !t || !(x = new_cert(b->key, NULL, NULL, 0, 1)) || cert_to_der(x, &der) != 0)
		goto out;
	bloblist_add(&b->cert, der.data, der.len);
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)CA_NAME, -1, -1, 0) ||
	    !X509_CRL_set_version(crl, 1) || !X509_CRL_set_issuer_name(crl, n) || !X509_gmtime_adj(t, -600) ||
	    !X509_CRL_set1_lastUpdate(crl, t) || !X509_gmtime_adj(t, 7L * 86400) || !X509_CRL_set1_nextUpdate(crl, t))
		goto out;
	for (long i = 0; i < CRL_OTHERS; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		int ok = r && s && ASN1_INTEGER_set(s, 1000000 + i) && X509_REVOKED_set_serialNumber(r, s) &&
			 X509_gmtime_adj(t, -3600) && X509_REVOKED_set_revocationDate(r, t) &&
			 X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
		if (!ok) {
			X509_REVOKED_free(r);
			goto out;
		}
	}
	if (!X509_CRL_sort(crl) || X509_CRL_sign(crl, b->key, EVP_sha256()) <= 0 || (len = i2d_X509_CRL(crl, NULL)) <= 0)
		goto out;
	b->crl.data = xmalloc((size_t)len);
	b->crl.len = (size_t)len;
	p = b->crl.data;
	i2d_X509_CRL(crl, &p);
	ret = 0;
out:
	free(der.data);
	X509_free(x);
	X509_CRL_free(crl);
	X509_NAME_free(n);
	ASN1_TIME_free(t);
	return ret;
}

static void bench_ca_free(struct bench_ca *b)
{
	EVP_PKEY_free(b->key);
	bloblist_free(&b->cert);
	free(b->crl.data);
}

static int fetch_crl(void *arg, const char *url, struct blob *out, char *err, size_t errlen)
{
	const struct bench_ca *b = arg;

	(void)url;
	(void)err;
	(void)errlen;
	out->data = xmalloc(b->crl.len);
	memcpy(out->data, b->crl.data, b->crl.len);
	out->len = b->crl.len;
	return 0;
}

static void build_directory(size_t n, struct directory *d)
{
	static const char *const token[] = { SDDL_TEST_DOMAIN "-1105", "DC", "AU", "WD", "NU", NULL };
	uint8_t sd[4096];
	size_t sd_len = sddl_to_sd(ACL, sd, sizeof sd);

	if (sd_len == 0) {
		fprintf(stderr, "bench_decide: the built-in SDDL does not convert\n");
		exit(1);
	}
	memset(d, 0, sizeof *d);
	d->n_cas = 1;
	d->cas = xcalloc(1, sizeof *d->cas);
	d->cas[0].cn = xstrdup("EXAMPLE-CA");
	d->cas[0].dns_host_name = xstrdup("ca.example.test");
	d->n_templates = n;
	d->templates = xcalloc(n, sizeof *d->templates);
	for (size_t i = 0; i < n; i++) {
		struct template *t = &d->templates[i];
		t->cn = xasprintf("BenchTemplate%04zu", i);
		t->display_name = xstrdup(t->cn);
		t->oid = xasprintf(OID_ARC ".%zu", 1000 + i);
		t->flags = 0x20260;                 /* like the test domain's machine templates */
		t->enrollment_flag = 0x20;
		t->name_flag = 0x18000000u;
		t->schema_version = 2;
		t->major_version = 100;
		t->minor_version = 3;
		t->has_validity = t->has_renewal = true;
		t->validity_seconds = 365L * 86400;
		t->renewal_seconds = 42L * 86400;
		t->minimal_key_size = 2048;
		t->key_spec = 1;
		t->key_alg = TEMPLATE_KEY_RSA;
		strlist_add(&t->ekus, "1.3.6.1.5.5.7.3.2");
		strlist_add(&t->app_policies, "1.3.6.1.5.5.7.3.2");
		strlist_add(&t->csps, "1,Microsoft RSA SChannel Cryptographic Provider");
		t->security_descriptor.data = xmalloc(sd_len);
		memcpy(t->security_descriptor.data, sd, sd_len);
		t->security_descriptor.len = sd_len;
		strlist_add(&d->cas[0].templates, t->cn);
	}
	while (token[d->account.n_token])
		d->account.n_token++;
	d->account.token = xcalloc(d->account.n_token, sizeof *d->account.token);
	for (size_t i = 0; i < d->account.n_token; i++)
		if (sddl_sid(token[i], strlen(token[i]), &d->account.token[i]) < 0)
			exit(1);
	d->account.sam_account_name = xstrdup("CLIENT$");
}

static int fill_store(const struct config *cfg, const struct directory *d, const struct bench_ca *ca)
{
	struct store *s = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");   /* one key for all: the bench is not about keygen */
	int ret = -1;

	if (!key || store_open(cfg, ADENROLL_MODE_MACHINE, &s) < 0)
		goto out;
	for (size_t i = 0; i < d->n_templates; i++) {
		const struct template *t = &d->templates[i];
		X509 *x = new_cert(key, ca->key, t->oid, t->major_version, (long)i + 2);
		if (!x || store_install(s, t, key, x, NULL, "EXAMPLE-CA", (long)i + 2, NULL) < 0) {
			X509_free(x);
			goto out;
		}
		X509_free(x);
	}
	ret = 0;
out:
	store_close(s);
	EVP_PKEY_free(key);
	return ret;
}

/* One pass over what pulse decides; returns how many templates were kept.
 * rev: check revocation as plan.c does. */
static size_t decide(const struct directory *d, const struct config *cfg, const struct store_item *items,
		     size_t n_items, struct eligibility *el, struct revocation_ctx *rev)
{
	struct eligibility_options eopt;
	time_t now = time(NULL);
	size_t kept = 0;
	struct store_lookup *lk;

	memset(&eopt, 0, sizeof eopt);
	eopt.mode = ADENROLL_MODE_MACHINE;
	eligibility_evaluate_all(d, &eopt, el);
	lk = store_lookup_new(items, n_items, d);
	for (size_t i = 0; i < d->n_templates; i++) {
		const char *superseded_cn = NULL;
		struct policy_input in;
		struct policy_decision dec;
		if (el[i].code != ELIG_OK)
			continue;
		const struct store_item *held = store_lookup_held(lk, el[i].template, &superseded_cn);
		store_policy_input(&in, now, cfg, el[i].template, held, superseded_cn, false);
		if (rev != NULL && held != NULL) {
			struct revocation_cert_facts f = { held->sha256, held->serial, held->crl_urls,
							   held->cdp_malformed };
			char detail[512];
			X509 *x;

			if (!(held->has_crl_facts &&
			      revocation_check_facts(rev, &f, &in.revocation, detail, sizeof detail)) &&
			    (x = store_item_cert(held)) != NULL)
				in.revocation = revocation_check(rev, x, NULL, detail, sizeof detail);
			if (in.revocation != REVOCATION_GOOD)
				continue;   /* counted as not kept */
		}
		policy_decide(&in, &dec);
		if (dec.action == POLICY_KEEP)
			kept++;
	}
	store_lookup_free(lk);
	return kept;
}

/* One store read as pulse does it (index written by store_tidy when asked). */
static int read_store(const struct config *cfg, bool tidy, struct store_item **items, size_t *n_items)
{
	struct store *s = NULL;

	if (store_open(cfg, ADENROLL_MODE_MACHINE, &s) < 0 || store_list_indexed(s, items, n_items) < 0) {
		store_close(s);
		fprintf(stderr, "bench_decide: cannot read the store back\n");
		return -1;
	}
	if (tidy)
		store_tidy(s, time(NULL));
	store_close(s);
	return 0;
}

/* Reads the store and decides REPEATS times; medians into the out arrays. */
static int measure(const struct config *cfg, const struct directory *d, size_t n, int repeats, bool cold,
		   struct eligibility *el, double *store_ms, double *decide_ms,
		   unsigned long *parses)
{
	char *index = fs_path_join(cfg->state_dir, "pem-index");
	int ret = -1;

	for (int r = 0; r < repeats; r++) {
		struct store_item *items = NULL;
		size_t n_items = 0, kept;
		unsigned long p0;

		if (cold && unlink(index) != 0 && errno != ENOENT) {
			perror("bench_decide: unlink index");
			goto out;
		}
		p0 = cert_parse_count();
		double t0 = cpu_now();
		if (read_store(cfg, false, &items, &n_items) < 0)
			goto out;
		double t1 = cpu_now();
		kept = decide(d, cfg, items, n_items, el, NULL);
		double t2 = cpu_now();
		*parses = cert_parse_count() - p0;
		store_items_free(items, n_items);
		if (n_items != n || kept != n) {
			fprintf(stderr, "bench_decide: N=%zu: store holds %zu, %zu kept (expected all kept)\n",
				n, n_items, kept);
			goto out;
		}
		store_ms[r] = t1 - t0;
		decide_ms[r] = t2 - t1;
	}
	ret = 0;
out:
	free(index);
	return ret;
}

/* The decision with revocation on, REPEATS times after a first run that
 * learns the issuers and caches the CRL: CPU medians and parse counts. */
static int measure_rev(const struct config *cfg, const struct directory *d, size_t n, int repeats,
		       struct eligibility *el, struct bench_ca *ca, double *cold_ms, double *warm_ms,
		       unsigned long cold_counts[2], unsigned long warm_counts[2])
{
	char *cache = fs_path_join(cfg->state_dir, "crl");
	int ret = -1;

	warm_counts[0] = warm_counts[1] = 0;
	for (int r = -1; r < repeats; r++) {
		struct store_item *items = NULL;
		size_t n_items = 0, kept;
		struct revocation_ctx *rev;
		struct revocation_stats st;
		unsigned long p0;

		if (read_store(cfg, false, &items, &n_items) < 0)
			goto out;
		p0 = cert_parse_count();
		double t0 = cpu_now();
		rev = revocation_ctx_new(NULL, cache, true);
		revocation_ctx_add_cas(rev, &ca->cert);
		revocation_ctx_set_fetch(rev, fetch_crl, ca);
		kept = decide(d, cfg, items, n_items, el, rev);
		revocation_ctx_stats(rev, &st);
		revocation_ctx_free(rev);
		double t1 = cpu_now();
		store_items_free(items, n_items);
		if (kept != n) {
			fprintf(stderr, "bench_decide: N=%zu: %zu kept with revocation on (expected all)\n", n, kept);
			goto out;
		}
		/* the CA certificate is parsed only to check a signature, by the
		 * first decision: not a held one */
		unsigned long parses = cert_parse_count() - p0;
		unsigned long counts[2] = { r < 0 && parses > 0 ? parses - 1 : parses, st.crl_parses };
		if (r < 0) {
			*cold_ms = t1 - t0;
			memcpy(cold_counts, counts, sizeof counts);
		} else {
			warm_ms[r] = t1 - t0;
			warm_counts[0] += counts[0];
			warm_counts[1] += counts[1];
		}
	}
	ret = 0;
out:
	free(cache);
	return ret;
}

static int run(size_t n, int repeats)
{
	char dir[] = "/tmp/adenroll-bench-decide.XXXXXX";
	bool made = false;
	struct config cfg;
	struct directory d;
	struct eligibility *el = NULL;
	double cold_store[MAX_REPEATS], cold_decide[MAX_REPEATS], store_ms[MAX_REPEATS], decide_ms[MAX_REPEATS];
	double cold_total[MAX_REPEATS], total[MAX_REPEATS];
	unsigned long cold_parses = 0, warm_parses = 0, rev_cold[2] = { 0, 0 }, rev_warm[2] = { 0, 0 };
	double rev_cold_ms = 0, rev_ms[MAX_REPEATS], rev_total[MAX_REPEATS];
	struct bench_ca ca;
	struct store_item *items = NULL;
	size_t n_items = 0;
	int ret = -1;

	config_defaults(&cfg);
	build_directory(n, &d);
	if (bench_ca_init(&ca) < 0) {
		fprintf(stderr, "bench_decide: cannot make the bench CA and its CRL\n");
		goto out;
	}
	if (!mkdtemp(dir)) {
		perror("bench_decide: mkdtemp");
		goto out;
	}
	made = true;
	free(cfg.pem_dir);
	free(cfg.archive_dir);
	free(cfg.state_dir);
	cfg.pem_dir = xasprintf("%s/certs", dir);
	cfg.archive_dir = xasprintf("%s/archive", dir);
	cfg.state_dir = xasprintf("%s/state", dir);
	if (fill_store(&cfg, &d, &ca) < 0) {
		fprintf(stderr, "bench_decide: cannot fill the PEM store in %s\n", dir);
		goto out;
	}
	el = xcalloc(n + 1, sizeof *el);
	if (measure(&cfg, &d, n, repeats, true, el, cold_store, cold_decide, &cold_parses) < 0)
		goto out;
	/* what the first pulse after an upgrade leaves: the index written by its tidy */
	if (read_store(&cfg, true, &items, &n_items) < 0)
		goto out;
	store_items_free(items, n_items);
	if (measure(&cfg, &d, n, repeats, false, el, store_ms, decide_ms, &warm_parses) < 0)
		goto out;
	if (cold_parses != n || warm_parses != 0) {
		fprintf(stderr, "bench_decide: N=%zu: %lu certificates parsed without the index, %lu with it "
			"(expected %zu and 0)\n", n, cold_parses, warm_parses, n);
		goto out;
	}
	if (measure_rev(&cfg, &d, n, repeats, el, &ca, &rev_cold_ms, rev_ms, rev_cold, rev_warm) < 0)
		goto out;
	if (rev_cold[0] != n || rev_cold[1] != 1 || rev_warm[0] != 0 || rev_warm[1] != 0) {
		fprintf(stderr, "bench_decide: N=%zu: with revocation on, the first decision parsed %lu certificates "
			"and %lu CRLs (expected %zu and 1), the next ones %lu and %lu (expected 0 and 0)\n", n,
			rev_cold[0], rev_cold[1], n, rev_warm[0], rev_warm[1]);
		goto out;
	}
	for (int r = 0; r < repeats; r++) {
		cold_total[r] = cold_store[r] + cold_decide[r];
		total[r] = store_ms[r] + decide_ms[r];
		rev_total[r] = store_ms[r] + rev_ms[r];
	}
	printf("n=%zu store_ms=%.3f decide_ms=%.3f total_ms=%.3f cold_store_ms=%.3f cold_total_ms=%.3f "
	       "cold_parses=%lu warm_parses=%lu repeats=%d "
	       "rev_decide_ms=%.3f rev_total_ms=%.3f rev_cold_decide_ms=%.3f rev_cold_parses=%lu rev_cold_crls=%lu "
	       "rev_warm_parses=%lu rev_warm_crls=%lu\n", n,
	       median(store_ms, (size_t)repeats), median(decide_ms, (size_t)repeats), median(total, (size_t)repeats),
	       median(cold_store, (size_t)repeats), median(cold_total, (size_t)repeats),
	       cold_parses, warm_parses, repeats,
	       median(rev_ms, (size_t)repeats), median(rev_total, (size_t)repeats), rev_cold_ms, rev_cold[0],
	       rev_cold[1], rev_warm[0], rev_warm[1]);
	fflush(stdout);
	ret = 0;
out:
	if (made) {
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_decide: could not remove %s\n", dir);
		free(cmd);
	}
	free(el);
	bench_ca_free(&ca);
	directory_free(&d);
	config_free(&cfg);
	return ret;
}

int main(int argc, char **argv)
{
	int repeats = 7, opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt == 'r' && atoi(optarg) > 0 && atoi(optarg) <= MAX_REPEATS) {
			repeats = atoi(optarg);
		} else {
			fprintf(stderr, "usage: bench_decide [-r REPEATS(1-%d)] N...\n", MAX_REPEATS);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: bench_decide [-r REPEATS(1-%d)] N...\n", MAX_REPEATS);
		return 2;
	}
	log_init(LOG_LVL_WARN, false);
	for (int i = optind; i < argc; i++) {
		long n = atol(argv[i]);
		if (n <= 0 || n > 100000) {
			fprintf(stderr, "bench_decide: N must be 1..100000, not %s\n", argv[i]);
			return 2;
		}
		if (run((size_t)n, repeats) < 0)
			return 1;
	}
	return 0;
}
