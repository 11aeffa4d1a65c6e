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
 * and prints one line per N with the median CPU milliseconds:
 *   n= store_ms= decide_ms= total_ms=   the warm store read, the decision, their sum
 *   cold_store_ms= cold_total_ms=       the same without an index
 *   cold_parses= warm_parses=           certificates parsed per read
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

/* Issued yesterday for a year: far from renewal. */
static X509 *new_cert(EVP_PKEY *key, const char *oid, uint32_t major, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	int ok = x && n;

	ok = ok && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"client.example.test", -1,
					-1, 0) &&
	     X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -86400L) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 364L * 86400) && X509_set_pubkey(x, key) &&
	     add_template_ext(x, oid, major) == 0 && X509_sign(x, key, EVP_sha256()) > 0;
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
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

static int fill_store(const struct config *cfg, const struct directory *d)
{
	struct store *s = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");   /* one key for all: the bench is not about keygen */
	int ret = -1;

	if (!key || store_open(cfg, ADENROLL_MODE_MACHINE, &s) < 0)
		goto out;
	for (size_t i = 0; i < d->n_templates; i++) {
		const struct template *t = &d->templates[i];
		X509 *x = new_cert(key, t->oid, t->major_version, (long)i + 2);
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

/* One pass over what pulse decides; returns how many templates were kept. */
static size_t decide(const struct directory *d, const struct config *cfg, const struct store_item *items,
		     size_t n_items, struct eligibility *el)
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
		   struct eligibility *el, double *store_ms, double *decide_ms, unsigned long *parses)
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
		kept = decide(d, cfg, items, n_items, el);
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

static int run(size_t n, int repeats)
{
	char dir[] = "/tmp/adenroll-bench-decide.XXXXXX";
	bool made = false;
	struct config cfg;
	struct directory d;
	struct eligibility *el = NULL;
	double cold_store[MAX_REPEATS], cold_decide[MAX_REPEATS], store_ms[MAX_REPEATS], decide_ms[MAX_REPEATS];
	double cold_total[MAX_REPEATS], total[MAX_REPEATS];
	unsigned long cold_parses = 0, warm_parses = 0;
	struct store_item *items = NULL;
	size_t n_items = 0;
	int ret = -1;

	config_defaults(&cfg);
	build_directory(n, &d);
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
	if (fill_store(&cfg, &d) < 0) {
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
	for (int r = 0; r < repeats; r++) {
		cold_total[r] = cold_store[r] + cold_decide[r];
		total[r] = store_ms[r] + decide_ms[r];
	}
	printf("n=%zu store_ms=%.3f decide_ms=%.3f total_ms=%.3f cold_store_ms=%.3f cold_total_ms=%.3f "
	       "cold_parses=%lu warm_parses=%lu repeats=%d\n", n,
	       median(store_ms, (size_t)repeats), median(decide_ms, (size_t)repeats), median(total, (size_t)repeats),
	       median(cold_store, (size_t)repeats), median(cold_total, (size_t)repeats),
	       cold_parses, warm_parses, repeats);
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
