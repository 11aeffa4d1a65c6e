/* The held-certificate index (store_index.h): used when valid (no parse),
 * a changed, replaced or removed file read again, a corrupt, foreign or
 * untrusted index rebuilt, never trusted over the files; and the hash
 * lookups (store_lookup_*) giving what the rule of store.h, applied to one
 * item after the other, gives. */
#include "adenroll-build.h"

#include <errno.h>
#include <fcntl.h>
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

#include "cert.h"
#include "config.h"
#include "directory.h"
#include "fsutil.h"
#include "policy.h"
#include "revocation.h"
#include "store.h"
#include "store_index.h"
#include "strmap.h"
#include "template.h"
#include "util.h"
#include "util.h"

#define OID_BASE "1.3.6.1.4.1.311.21.8.1.2.3.4.5.6.7"
#define N_TEMPLATES 4

static char *tmpdir;
static EVP_PKEY *key;
static struct template templates[N_TEMPLATES];
static char cns[N_TEMPLATES][32], oids[N_TEMPLATES][64];

static int setup(void **state)
{
	char tpl[] = "/tmp/adenroll-index-XXXXXX";

	(void)state;
	tmpdir = xstrdup(mkdtemp(tpl));
	key = EVP_EC_gen("P-256");
	for (size_t i = 0; i < N_TEMPLATES; i++) {
		snprintf(cns[i], sizeof(cns[i]), "Template%zu", i);
		snprintf(oids[i], sizeof(oids[i]), OID_BASE ".%zu", 100 + i);
		memset(&templates[i], 0, sizeof(templates[i]));
		templates[i].cn = cns[i];
		templates[i].oid = oids[i];
		templates[i].major_version = 3;
		templates[i].has_renewal = true;
		templates[i].renewal_seconds = 42L * 86400;
	}
	return tmpdir[0] == '/' && key != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	free(tmpdir);
	EVP_PKEY_free(key);
	return 0;
}

/* 1.3.6.1.4.1.311.21.7 { templateID, major } through OpenSSL's own encoders. */
static X509 *new_cert(const char *oid, uint32_t major, long serial, long days)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1), *ext_obj = OBJ_txt2obj("1.3.6.1.4.1.311.21.7", 1);
	unsigned char der[128], *p = der + 2;
	ASN1_INTEGER *ma = ASN1_INTEGER_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	int len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Index Test CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
	X509_set_pubkey(x, key);
	ASN1_INTEGER_set_uint64(ma, major);
	len = i2d_ASN1_OBJECT(obj, &p);
	len += i2d_ASN1_INTEGER(ma, &p);
	der[0] = 0x30;
	der[1] = (unsigned char)len;
	ASN1_OCTET_STRING_set(os, der, len + 2);
	ext = X509_EXTENSION_create_by_OBJ(NULL, ext_obj, 0, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_INTEGER_free(ma);
	ASN1_OBJECT_free(obj);
	ASN1_OBJECT_free(ext_obj);
	X509_NAME_free(n);
	return x;
}

static void make_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->store_types = STORE_PEM;
	cfg->pem_dir = fs_path_join(tmpdir, "certs");
	cfg->archive_dir = fs_path_join(tmpdir, "archive");
	cfg->state_dir = fs_path_join(tmpdir, "state");
	cfg->renew_expiring = cfg->update_templates = true;
}

static void free_config(struct config *cfg)
{
	free(cfg->pem_dir);
	free(cfg->archive_dir);
	free(cfg->state_dir);
}

static void install_all(const struct config *cfg)
{
	struct store *s;

	assert_int_equal(store_open(cfg, ADENROLL_MODE_MACHINE, &s), 0);
	for (size_t i = 0; i < N_TEMPLATES; i++) {
		X509 *x = new_cert(templates[i].oid, 3, (long)i + 10, 365);

		assert_int_equal(store_install(s, &templates[i], key, x, NULL, "INDEX-CA", (long)i + 10, NULL), 0);
		X509_free(x);
	}
	store_close(s);
}

/* store_list_indexed on a fresh handle; *parses receives how many
 * certificates that took. */
static void list_indexed(const struct config *cfg, struct store_item **items, size_t *n, unsigned long *parses)
{
	struct store *s;
	unsigned long before = cert_parse_count();

	assert_int_equal(store_open(cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_list_indexed(s, items, n), 0);
	*parses = cert_parse_count() - before;
	store_close(s);
}

/* What pulse does once per run: list, then tidy (which writes the index). */
static void list_and_tidy(const struct config *cfg)
{
	struct store *s;
	struct store_item *items;
	size_t n;

	assert_int_equal(store_open(cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	store_tidy(s, time(NULL));
	store_items_free(items, n);
	store_close(s);
}

/* An indexed item says what the certificate itself says. */
static void assert_facts_match_cert(const struct store_item *it)
{
	X509 *x = store_item_cert(it);
	char serial[84], fp[65];
	char *issuer;
	struct cert_template_info info;

	assert_non_null(x);
	assert_ptr_equal(x, it->cert);
	assert_true(it->has_facts);
	assert_int_equal(cert_serial_hex(x, serial, sizeof(serial)), 0);
	assert_string_equal(it->serial, serial);
	assert_int_equal(cert_sha256_hex(x, fp, sizeof(fp)), 0);
	assert_string_equal(it->sha256, fp);
	issuer = cert_issuer_text(x);
	assert_string_equal(it->issuer, issuer);
	free(issuer);
	{
		/* what revocation_check_facts needs (revocation.h) */
		bool malformed;
		char *urls = revocation_cert_urls_text(x, &malformed);

		assert_true(it->has_crl_facts);
		assert_non_null(urls);
		assert_string_equal(it->crl_urls, urls);
		assert_int_equal(it->cdp_malformed, malformed);
		free(urls);
	}
	assert_int_equal(it->not_before, cert_not_before(x));
	assert_int_equal(it->not_after, cert_not_after(x));
	assert_int_equal(cert_template_info(x, &info), 0);
	assert_string_equal(it->template_oid, info.oid);
	assert_true(it->has_version);
	assert_int_equal(it->major, info.major);
	cert_template_info_free(&info);
	assert_string_equal(it->ca_name, "INDEX-CA");
	assert_true(it->has_renewal);
	assert_int_equal(it->renewal_seconds, 42L * 86400);
}

static void test_index_used_when_valid(void **state)
{
	struct config cfg;
	struct store_item *items;
	size_t n;
	unsigned long parses;
	char *path;
	struct stat st;
	struct policy_input in;
	struct policy_decision dec;

	(void)state;
	make_config(&cfg);
	install_all(&cfg);
	path = fs_path_join(cfg.state_dir, "pem-index");
	/* no index yet: every certificate is parsed */
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(n, N_TEMPLATES);
	assert_int_equal(parses, N_TEMPLATES);
	store_items_free(items, n);
	assert_int_equal(lstat(path, &st), -1);
	/* pulse's tidy writes it: ours, 0644 */
	list_and_tidy(&cfg);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, geteuid());
	/* valid: nothing is parsed, the facts are there, the X509 on demand */
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(n, N_TEMPLATES);
	assert_int_equal(parses, 0);
	for (size_t i = 0; i < n; i++) {
		assert_null(items[i].cert);
		assert_non_null(items[i].cert_file);
		store_policy_input(&in, time(NULL), &cfg, &templates[i], &items[i], NULL, false);
		policy_decide(&in, &dec);
		assert_int_equal(dec.action, POLICY_KEEP);
		assert_int_equal(in.not_after - in.not_before, 365L * 86400);
	}
	for (size_t i = 0; i < n; i++)
		assert_facts_match_cert(&items[i]);
	store_items_free(items, n);
	free(path);
	free_config(&cfg);
}

static char *live_cert_file(const struct config *cfg, size_t i)
{
	struct store *s;
	struct store_item *items;
	size_t n;
	char *p;

	assert_int_equal(store_open(cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_list_indexed(s, &items, &n), 0);
	assert_true(i < n);
	p = xstrdup(items[i].cert_file);
	store_items_free(items, n);
	store_close(s);
	return p;
}

static void test_changed_file_is_read_again(void **state)
{
	struct config cfg;
	struct store_item *items;
	size_t n;
	unsigned long parses;
	char *file, *pem;
	X509 *other;
	struct timespec ts[2];

	(void)state;
	make_config(&cfg);
	install_all(&cfg);
	list_and_tidy(&cfg);
	/* replaced content (another certificate, same key): read again, and
	 * what is listed is the new certificate, not the indexed one */
	file = live_cert_file(&cfg, 1);
	other = new_cert(templates[1].oid, 4, 777, 30);
	pem = cert_to_pem(other);
	assert_int_equal(fs_write_atomic(file, pem, strlen(pem), 0644, (uid_t)-1), 0);
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(n, N_TEMPLATES);
	assert_int_equal(parses, 1);
	assert_non_null(items[1].cert);
	assert_int_equal(X509_cmp(items[1].cert, other), 0);
	assert_string_equal(items[1].serial, "0309");
	assert_int_equal(items[1].major, 4);
	assert_int_equal(items[1].not_after - items[1].not_before, 30L * 86400);
	store_items_free(items, n);
	/* the next tidy records it; then only a touch (mtime alone) counts */
	list_and_tidy(&cfg);
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(parses, 0);
	store_items_free(items, n);
	ts[0].tv_sec = ts[1].tv_sec = 1700000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 5;
	assert_int_equal(utimensat(AT_FDCWD, file, ts, AT_SYMLINK_NOFOLLOW), 0);
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(parses, 1);
	assert_int_equal(X509_cmp(items[1].cert, other), 0);
	store_items_free(items, n);
	/* a certificate changed between listing and use is refused, not mixed up */
	list_and_tidy(&cfg);
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(parses, 0);
	X509_free(other);
	free(pem);
	other = new_cert(templates[1].oid, 5, 778, 30);
	pem = cert_to_pem(other);
	assert_int_equal(fs_write_atomic(file, pem, strlen(pem), 0644, (uid_t)-1), 0);
	assert_null(store_item_cert(&items[1]));
	store_items_free(items, n);
	X509_free(other);
	free(pem);
	free(file);
	free_config(&cfg);
}

static void write_index(const struct config *cfg, const char *text, mode_t mode)
{
	char *path = fs_path_join(cfg->state_dir, "pem-index");

	assert_int_equal(fs_write_atomic(path, text, strlen(text), mode, (uid_t)-1), 0);
	free(path);
}

static char *read_index(const struct config *cfg)
{
	char *path = fs_path_join(cfg->state_dir, "pem-index");
	unsigned char *buf = NULL;

	assert_int_equal(fs_read_file(path, 1u << 24, &buf, NULL), 0);
	free(path);
	return (char *)buf;
}

/* The index as version 1 wrote it: without the last field (crl_urls). */
static char *v1_of(const char *v2)
{
	char *out = xstrdup(v2), *line, *nl, *tab, *w;

	assert_non_null(strstr(out, "index v2\t"));
	strstr(out, "index v2\t")[7] = '1';
	/* the header as it is, then each line cut at its last TAB */
	w = strchr(out, '\n') + 1;
	for (line = w; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		tab = strrchr(line, '\t');
		*tab = '\0';
		memmove(w, line, strlen(line));
		w += strlen(line);
		*w++ = '\n';
	}
	*w = '\0';
	return out;
}

/* Each way an index can be wrong makes the listing read every certificate
 * (never trusting it), gives the right items, and the next tidy rewrites it. */
static void test_bad_index_is_rebuilt(void **state)
{
	struct config cfg;
	struct store_item *items;
	size_t n;
	unsigned long parses;
	char *good, *bad;
	size_t k;

	(void)state;
	make_config(&cfg);
	install_all(&cfg);
	list_and_tidy(&cfg);
	good = read_index(&cfg);
	for (k = 0; k < 9; k++) {
		char *tab;

		switch (k) {
		case 0: bad = xstrdup("garbage\n"); break;
		case 1: bad = xstrdup(""); break;
		case 2: bad = xstrndup(good, strlen(good) - 7); break;   /* torn last line */
		case 3: bad = xasprintf("# adenroll held-certificate index v9%s", strchr(good, '\t')); break;
		case 4: bad = xasprintf("%.*s\t/elsewhere%s", (int)(strchr(good, '\t') - good), good,
					strchr(good, '\n')); break;                    /* another store */
		case 5:                                                           /* a date that is not a number */
			bad = xstrdup(good);
			tab = strchr(strchr(bad, '\n') + 1, '\t');
			for (int f = 0; f < 5; f++)
				tab = strchr(tab + 1, '\t');
			tab[1] = 'x';
			break;
		case 6: bad = xasprintf("%s%s", good, strchr(good, '\n') + 1); break;   /* duplicate entries */
		case 8: bad = v1_of(good); break;          /* what the version before crl_urls wrote */
		default: bad = xstrdup(good); break;                                    /* group-writable */
		}
		write_index(&cfg, bad, k == 7 ? 0664 : 0644);
		list_indexed(&cfg, &items, &n, &parses);
		assert_int_equal(n, N_TEMPLATES);
		assert_int_equal(parses, N_TEMPLATES);
		for (size_t i = 0; i < n; i++)
			assert_facts_match_cert(&items[i]);
		store_items_free(items, n);
		list_and_tidy(&cfg);
		list_indexed(&cfg, &items, &n, &parses);
		assert_int_equal(parses, 0);
		store_items_free(items, n);
		free(bad);
	}
	/* an index that is a directory is not read, and never breaks a listing */
	{
		char *path = fs_path_join(cfg.state_dir, "pem-index");

		assert_int_equal(unlink(path), 0);
		assert_int_equal(mkdir(path, 0755), 0);
		list_indexed(&cfg, &items, &n, &parses);
		assert_int_equal(n, N_TEMPLATES);
		assert_int_equal(parses, N_TEMPLATES);
		store_items_free(items, n);
		list_and_tidy(&cfg);
		assert_int_equal(rmdir(path), 0);
		free(path);
	}
	free(good);
	free_config(&cfg);
}

static void test_removed_certificate_disappears(void **state)
{
	struct config cfg;
	struct store *s;
	struct store_item *items;
	size_t n;
	unsigned long parses;
	char *file, *text;

	(void)state;
	make_config(&cfg);
	install_all(&cfg);
	list_and_tidy(&cfg);
	/* retired: gone from the listing at once, and from the index at the next tidy */
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_retire(s, templates[0].cn, NULL), 0);
	store_close(s);
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(n, N_TEMPLATES - 1);
	assert_int_equal(parses, 0);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(items[i].template_cn, templates[0].cn);
	store_items_free(items, n);
	list_and_tidy(&cfg);
	text = read_index(&cfg);
	assert_null(strstr(text, "=Template0\t"));
	assert_non_null(strstr(text, "=Template1\t"));
	free(text);
	/* a live cert.pem removed by hand: left out, never served from the index */
	file = live_cert_file(&cfg, 0);
	assert_int_equal(unlink(file), 0);
	list_indexed(&cfg, &items, &n, &parses);
	assert_int_equal(n, N_TEMPLATES - 2);
	assert_int_equal(parses, 0);
	store_items_free(items, n);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, N_TEMPLATES - 2);
	store_items_free(items, n);
	store_close(s);
	free(file);
	free_config(&cfg);
}

/* ------------------------------------------------------------ lookups */

static void item(struct store_item *it, const char *oid, const char *ext_cn, const char *cn)
{
	memset(it, 0, sizeof(*it));
	it->template_oid = (char *)oid;
	it->ext_template_cn = (char *)ext_cn;
	it->template_cn = (char *)cn;
}

/* The reference: store.h's rule written item by item, as plainly as it reads. */
static bool item_is_of(const struct store_item *it, const struct template *t)
{
	if (it->template_oid != NULL && t->oid != NULL)
		return strcmp(it->template_oid, t->oid) == 0;
	if (it->ext_template_cn != NULL)
		return str_eq_ci(it->ext_template_cn, t->cn);
	return it->template_cn != NULL && str_eq_ci(it->template_cn, t->cn);
}

static const struct store_item *ref_find(const struct store_item *items, size_t n, const struct template *t)
{
	for (size_t i = 0; i < n; i++)
		if (item_is_of(&items[i], t))
			return &items[i];
	return NULL;
}

static const struct store_item *ref_find_cn(const struct store_item *items, size_t n, const char *cn)
{
	for (size_t i = 0; i < n; i++)
		if ((items[i].ext_template_cn != NULL && str_eq_ci(items[i].ext_template_cn, cn)) ||
		    (items[i].template_cn != NULL && str_eq_ci(items[i].template_cn, cn)))
			return &items[i];
	return NULL;
}

static const struct store_item *ref_held(const struct store_item *items, size_t n, const struct template *t,
					 const struct directory *d, const char **superseded_cn)
{
	const struct store_item *it = ref_find(items, n, t);

	*superseded_cn = NULL;
	for (size_t i = 0; it == NULL && i < t->supersedes.n; i++) {
		const struct template *old = NULL;

		for (size_t k = 0; d != NULL && k < d->n_templates; k++)
			if (str_eq_ci(d->templates[k].cn, t->supersedes.v[i]))
				old = &d->templates[k];
		it = old != NULL ? ref_find(items, n, old) : ref_find_cn(items, n, t->supersedes.v[i]);
		if (it != NULL)
			*superseded_cn = t->supersedes.v[i];
	}
	return it;
}

/* Every branch of the rule, first-match order and case folding: the lookups
 * answer what the reference answers, for every template and name. */
static void test_lookups_answer_like_the_rule(void **state)
{
	static const char *const names[] = { "Alpha", "alpha", "Beta", "Gamma", "Delta", "Omega", "Nope", NULL };
	static const char *const oidv[] = { "1.1", "1.2", "1.3", NULL };
	struct store_item items[10];
	struct template t[12];
	struct directory d;
	size_t nt = 0, i, k;

	(void)state;
	item(&items[0], "1.1", "Alpha", "Alpha");
	item(&items[1], NULL, "BETA", "Beta");
	item(&items[2], NULL, NULL, "gamma");
	item(&items[3], "1.2", NULL, "Delta");
	item(&items[4], "1.1", "Other", "Other");       /* second item with 1.1: never first */
	item(&items[5], NULL, "alpha", "x");
	item(&items[6], "1.3", "Omega", NULL);
	item(&items[7], NULL, NULL, NULL);
	item(&items[8], NULL, "Gamma", "y");
	item(&items[9], "1.2", "Delta", "Delta");
	memset(t, 0, sizeof(t));
	for (i = 0; names[i] != NULL; i++) {
		for (k = 0; k < 4 && nt < 12; k++) {
			if (k % 2 == 1 && i % 2 == 0)
				continue;
			t[nt].cn = (char *)names[i];
			t[nt].oid = (char *)oidv[k];
			nt++;
		}
	}
	strlist_add(&t[nt - 1].supersedes, "Nope");
	strlist_add(&t[nt - 1].supersedes, "gamma");
	strlist_add(&t[nt - 2].supersedes, "delta");
	memset(&d, 0, sizeof(d));
	d.templates = t;
	d.n_templates = nt;
	for (size_t n = 0; n <= 10; n++) {
		struct store_lookup *lk = store_lookup_new(items, n, &d), *lk0 = store_lookup_new(items, n, NULL);

		for (i = 0; i < nt; i++) {
			const char *s1 = NULL, *s2 = NULL;

			assert_ptr_equal(store_lookup_find(lk, &t[i]), ref_find(items, n, &t[i]));
			assert_ptr_equal(store_lookup_held(lk, &t[i], &s1), ref_held(items, n, &t[i], &d, &s2));
			assert_ptr_equal(s1, s2);
			assert_ptr_equal(store_lookup_held(lk0, &t[i], &s1), ref_held(items, n, &t[i], NULL, &s2));
			assert_ptr_equal(s1, s2);
		}
		for (i = 0; names[i] != NULL; i++)
			assert_ptr_equal(store_lookup_find_cn(lk, names[i]), ref_find_cn(items, n, names[i]));
		store_lookup_free(lk);
		store_lookup_free(lk0);
	}
	strlist_free(&t[nt - 1].supersedes);
	strlist_free(&t[nt - 2].supersedes);
}

static void test_strmap(void **state)
{
	struct strmap m, ci;
	char keys[500][16];

	(void)state;
	strmap_init(&m, false);
	strmap_init(&ci, true);
	assert_int_equal(strmap_get(&m, "x"), STRMAP_NONE);
	for (size_t i = 0; i < 500; i++) {
		snprintf(keys[i], sizeof(keys[i]), "Key%zu", i);
		assert_true(strmap_add_first(&m, keys[i], i));
		assert_true(strmap_add_first(&ci, keys[i], i));
	}
	assert_false(strmap_add_first(&m, "Key7", 9));
	assert_false(strmap_add_first(&ci, "KEY7", 9));
	assert_false(strmap_add_first(&m, NULL, 1));
	for (size_t i = 0; i < 500; i++) {
		char up[16];

		snprintf(up, sizeof(up), "KEY%zu", i);
		assert_int_equal(strmap_get(&m, keys[i]), i);
		assert_int_equal(strmap_get(&m, up), STRMAP_NONE);
		assert_int_equal(strmap_get(&ci, up), i);
	}
	strmap_set(&ci, "key3", 42);
	assert_int_equal(strmap_get(&ci, "Key3"), 42);
	assert_int_equal(strmap_get(&ci, NULL), STRMAP_NONE);
	strmap_free(&m);
	strmap_free(&ci);
	strmap_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_index_used_when_valid),
		T(test_changed_file_is_read_again),
		T(test_bad_index_is_rebuilt),
		T(test_removed_certificate_disappears),
		T(test_lookups_answer_like_the_rule),
		T(test_strmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
