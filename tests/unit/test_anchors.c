/* anchors_write: roots, AIA and NTAuth certificates from the directory into
 * anchors_dir; the roots bundle verifies a leaf; nothing rewritten when
 * nothing changed; files of CAs that left the directory removed; files
 * adenroll did not write never touched. */
#include "adenroll-build.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "anchors.h"
#include "cert.h"
#include "config.h"
#include "directory.h"
#include "fsutil.h"
#include "util.h"

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static char *tmpdir, *anchors;

static int setup(void **state)
{
	char tpl[] = "/tmp/adenroll-anchors-XXXXXX";

	(void)state;
	if (mkdtemp(tpl) == NULL)
		return -1;
	tmpdir = xstrdup(tpl);
	anchors = fs_path_join(tmpdir, "anchors");
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	free(tmpdir);
	free(anchors);
	return 0;
}

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};

static X509 *make_cert(const char *cn, EVP_PKEY *key, const struct ca *issuer, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->cert) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, key);
	if (issuer == NULL) {
		static const unsigned char bc[] = { 0x30, 0x03, 0x01, 0x01, 0xff };   /* CA:TRUE */
		ASN1_OBJECT *obj = OBJ_txt2obj("2.5.29.19", 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *ext;

		ASN1_OCTET_STRING_set(os, bc, sizeof(bc));
		ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	assert_true(X509_sign(x, issuer != NULL ? issuer->key : key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static struct ca make_ca(const char *cn, long serial)
{
	struct ca c;

	c.key = EVP_EC_gen("P-256");
	assert_non_null(c.key);
	c.cert = make_cert(cn, c.key, NULL, serial);
	return c;
}

static void ca_free(struct ca *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
}

static void add_der(struct bloblist *l, X509 *x)
{
	struct blob b;

	assert_int_equal(cert_to_der(x, &b), 0);
	bloblist_add(l, b.data, b.len);
	free(b.data);
}

static void make_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->anchors_dir = xstrdup(anchors);
	cfg->state_dir = fs_path_join(tmpdir, "state");
	strlist_add(&cfg->pinned_dcs, "dc.example.test");
}

static void free_config(struct config *cfg)
{
	strlist_free(&cfg->pinned_dcs);
	free(cfg->anchors_dir);
	free(cfg->state_dir);
}

static void free_dir(struct directory *d)
{
	bloblist_free(&d->root_cas);
	bloblist_free(&d->aia_cas);
	bloblist_free(&d->ntauth_cas);
}

/* Files (not directories) directly in dir. */
static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *p = fs_path_join(dir, de->d_name);
		struct stat st;

		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			n++;
		free(p);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static bool bundle_verifies(X509 *leaf)
{
	char *bundle = fs_path_join(anchors, "adenroll-roots.pem");
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = X509_STORE_load_file(st, bundle) == 1 &&
		  X509_STORE_CTX_init(ctx, st, leaf, NULL) == 1 && X509_verify_cert(ctx) == 1;

	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	free(bundle);
	return ok;
}

static void test_writes_updates_and_removes(void **state)
{
	struct config cfg;
	struct directory d;
	struct ca r1 = make_ca("Corp Root CA", 1), r2 = make_ca("Corp Root CA 2", 2),
		  issuing = make_ca("Corp Issuing CA", 3);
	EVP_PKEY *lk = EVP_EC_gen("P-256");
	X509 *leaf1 = make_cert("host.corp.test", lk, &r1, 10), *leaf2 = make_cert("host2", lk, &r2, 11);
	char *sub, *foreign = fs_path_join(anchors, "other-vendor.crt");
	bool changed;

	(void)state;
	make_config(&cfg);
	memset(&d, 0, sizeof(d));
	d.dc = (char *)"dc.example.test";   /* in pinned_dcs: its roots may be written */
	add_der(&d.root_cas, r1.cert);
	add_der(&d.root_cas, r2.cert);
	add_der(&d.root_cas, r1.cert);            /* duplicates are written once */
	add_der(&d.aia_cas, issuing.cert);
	add_der(&d.ntauth_cas, r1.cert);
	assert_int_equal(fs_mkdir_p(anchors, 0755), 0);
	assert_int_equal(fs_write_atomic(foreign, "not ours\n", 9, 0644, (uid_t)-1), 0);

	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_true(changed);
	/* 2 roots + bundle + the foreign file at the top; one AIA, one NTAuth below */
	assert_int_equal(count_files(anchors), 4);
	sub = fs_path_join(anchors, "adenroll-intermediates");
	assert_int_equal(count_files(sub), 1);
	free(sub);
	sub = fs_path_join(anchors, "adenroll-ntauth");
	assert_int_equal(count_files(sub), 1);
	free(sub);
	assert_true(bundle_verifies(leaf1));
	assert_true(bundle_verifies(leaf2));

	/* Nothing new: nothing written. */
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_false(changed);

	/* Root 2 and the AIA certificate leave the directory. */
	free_dir(&d);
	add_der(&d.root_cas, r1.cert);
	add_der(&d.ntauth_cas, r1.cert);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_true(changed);
	assert_int_equal(count_files(anchors), 3);
	assert_true(bundle_verifies(leaf1));
	assert_false(bundle_verifies(leaf2));
	sub = fs_path_join(anchors, "adenroll-intermediates");
	assert_int_not_equal(access(sub, F_OK), 0);   /* emptied and removed */
	free(sub);
	assert_int_equal(access(foreign, F_OK), 0);

	/* An empty root list (a bad read) leaves everything as it is. */
	free_dir(&d);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_false(changed);
	assert_int_equal(count_files(anchors), 3);

	free_dir(&d);
	free(foreign);
	X509_free(leaf1);
	X509_free(leaf2);
	EVP_PKEY_free(lk);
	ca_free(&r1);
	ca_free(&r2);
	ca_free(&issuing);
	free_config(&cfg);
}

/* A file under one of our names that adenroll did not write stays as it is. */
static void test_foreign_file_under_our_name_is_kept(void **state)
{
	struct config cfg;
	struct directory d;
	struct ca r1 = make_ca("Corp Root CA", 1), other = make_ca("Other Root", 5);
	char *bundle = fs_path_join(anchors, "adenroll-roots.pem");
	unsigned char *buf;
	bool changed;

	(void)state;
	make_config(&cfg);
	memset(&d, 0, sizeof(d));
	d.dc = (char *)"dc.example.test";   /* in pinned_dcs: its roots may be written */
	add_der(&d.root_cas, r1.cert);
	assert_int_equal(fs_mkdir_p(anchors, 0755), 0);
	assert_int_equal(fs_write_atomic(bundle, "admin's\n", 8, 0644, (uid_t)-1), 0);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_true(changed);   /* the per-root file */
	assert_int_equal(fs_read_file(bundle, 100, &buf, NULL), 0);
	assert_string_equal((char *)buf, "admin's\n");
	free(buf);
	/* and it is not removed when the roots go either */
	free_dir(&d);
	add_der(&d.root_cas, other.cert);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(fs_read_file(bundle, 100, &buf, NULL), 0);
	assert_string_equal((char *)buf, "admin's\n");
	free(buf);
	free_dir(&d);
	free(bundle);
	ca_free(&r1);
	ca_free(&other);
	free_config(&cfg);
}

static void test_no_anchors_dir_is_a_noop(void **state)
{
	struct config cfg;
	struct directory d;
	bool changed = true;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&d, 0, sizeof(d));
	d.dc = (char *)"dc.example.test";   /* in pinned_dcs: its roots may be written */
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_false(changed);
}

/* Issue 16, finding 4: roots from a DC that is not pinned are written only
 * when root_fingerprints lists them (trust_policy.h). */
static void fingerprint_of(X509 *x, char fp[65])
{
	assert_int_equal(cert_sha256_hex(x, fp, 65), 0);
}

static void test_unpinned_dc_root_needs_a_fingerprint(void **state)
{
	struct config cfg;
	struct directory d;
	struct ca r1 = make_ca("Corp Root CA", 1), rogue = make_ca("Rogue Root", 6), issuing = make_ca("Issuing", 7);
	EVP_PKEY *lk = EVP_EC_gen("P-256");
	X509 *leaf1 = make_cert("host.corp.test", lk, &r1, 10), *leaf_rogue = make_cert("evil", lk, &rogue, 11);
	char fp[65], *sub;
	bool changed;

	(void)state;
	make_config(&cfg);
	strlist_free(&cfg.pinned_dcs);   /* the default: nothing pinned, no fingerprint */
	memset(&d, 0, sizeof(d));
	d.dc = (char *)"rogue.example.test";
	add_der(&d.root_cas, r1.cert);
	add_der(&d.root_cas, rogue.cert);
	add_der(&d.aia_cas, issuing.cert);

	/* no policy: no root file, no bundle; the AIA file (not an anchor) is written */
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 0);
	sub = fs_path_join(anchors, "adenroll-intermediates");
	assert_int_equal(count_files(sub), 1);
	free(sub);

	/* pinned_dcs names another DC: still nothing */
	strlist_add(&cfg.pinned_dcs, "dc.example.test");
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 0);

	/* the domain's root allowed by fingerprint: that one only */
	fingerprint_of(r1.cert, fp);
	strlist_add(&cfg.root_fingerprints, fp);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_true(changed);
	assert_int_equal(count_files(anchors), 2);   /* r1 + bundle */
	assert_true(bundle_verifies(leaf1));
	assert_false(bundle_verifies(leaf_rogue));

	/* the same directory from the pinned DC: both */
	d.dc = (char *)"DC.example.test.";
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 3);
	assert_true(bundle_verifies(leaf_rogue));

	strlist_free(&cfg.root_fingerprints);
	free_dir(&d);
	X509_free(leaf1);
	X509_free(leaf_rogue);
	EVP_PKEY_free(lk);
	ca_free(&r1);
	ca_free(&rogue);
	ca_free(&issuing);
	free_config(&cfg);
}

/* A DC found through DNS cannot take a listed root out of the trust store
 * by leaving it out of its directory; a pinned DC's directory can. */
static void test_unpinned_dc_cannot_remove_a_listed_root(void **state)
{
	struct config cfg;
	struct directory d;
	struct ca r1 = make_ca("Corp Root CA", 1), r2 = make_ca("Corp Root CA 2", 2);
	EVP_PKEY *lk = EVP_EC_gen("P-256");
	X509 *leaf1 = make_cert("host.corp.test", lk, &r1, 10), *leaf2 = make_cert("host2", lk, &r2, 11);
	char fp[65];
	bool changed;

	(void)state;
	make_config(&cfg);
	fingerprint_of(r1.cert, fp);
	strlist_add(&cfg.root_fingerprints, fp);
	fingerprint_of(r2.cert, fp);
	strlist_add(&cfg.root_fingerprints, fp);
	memset(&d, 0, sizeof(d));
	d.dc = (char *)"dc2.example.test";   /* not pinned */
	add_der(&d.root_cas, r1.cert);
	add_der(&d.root_cas, r2.cert);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 3);

	free_dir(&d);
	add_der(&d.root_cas, r2.cert);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 3);   /* r1 kept */
	assert_true(bundle_verifies(leaf1));
	assert_true(bundle_verifies(leaf2));

	/* no policy at all (an upgrade): roots written before stay */
	strlist_free(&cfg.root_fingerprints);
	strlist_free(&cfg.pinned_dcs);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 3);
	assert_true(bundle_verifies(leaf1));

	/* root_fingerprints names only r2: r1 goes */
	fingerprint_of(r2.cert, fp);
	strlist_add(&cfg.root_fingerprints, fp);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 2);
	assert_false(bundle_verifies(leaf1));

	/* a pinned DC listing r1 has it written again ... */
	strlist_add(&cfg.pinned_dcs, "dc.example.test");
	d.dc = (char *)"dc.example.test";
	free_dir(&d);
	add_der(&d.root_cas, r1.cert);
	add_der(&d.root_cas, r2.cert);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_int_equal(count_files(anchors), 3);
	/* ... and removed when the pinned DC's directory drops it */
	free_dir(&d);
	add_der(&d.root_cas, r2.cert);
	assert_int_equal(anchors_write(&cfg, &d, &changed), 0);
	assert_true(changed);
	assert_int_equal(count_files(anchors), 2);
	assert_false(bundle_verifies(leaf1));
	assert_true(bundle_verifies(leaf2));

	strlist_free(&cfg.root_fingerprints);
	free_dir(&d);
	X509_free(leaf1);
	X509_free(leaf2);
	EVP_PKEY_free(lk);
	ca_free(&r1);
	ca_free(&r2);
	free_config(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_writes_updates_and_removes),
		T(test_foreign_file_under_our_name_is_kept),
		T(test_no_anchors_dir_is_a_noop),
		T(test_unpinned_dc_root_needs_a_fingerprint),
		T(test_unpinned_dc_cannot_remove_a_listed_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
