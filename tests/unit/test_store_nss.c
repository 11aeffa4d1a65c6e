/* The NSS database store (store_nss.c): install, list, replace with the old
 * pair archived, retire, key reuse, certificates of two templates with one
 * subject, a password-protected database, and SIGKILL at every install step
 * and at random moments: NSS readers then get the old or the new pair,
 * intact and matching.  "Matching" is proved the way a reader would: the
 * key NSS finds for the certificate it picks signs, and the certificate
 * verifies the signature.  certutil (libnss3-tools) checks are skipped when
 * it is not installed. */
#include "adenroll-build.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* NSS's cert.h comes through pkcs12t.h: src/cert.h shadows <cert.h>. */
#include <cryptohi.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <pkcs12t.h>

#include "cert.h"
#include "config.h"
#include "fsutil.h"
#include "state.h"
#include "store.h"
#include "trust_policy.h"
#include "template.h"
#include "util.h"

#define OID_MACHINE "1.3.6.1.4.1.311.21.8.1.2.3.4.5.6.7.14"
#define OID_OTHER "1.3.6.1.4.1.311.21.8.1.2.3.4.5.6.7.99"
#define NICK "adenroll-Machine"

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static char *tmpdir, *dbdir, *db;
static bool have_certutil;

static int setup(void **state)
{
	char tpl[] = "/tmp/adenroll-nss-XXXXXX";

	(void)state;
	if (mkdtemp(tpl) == NULL)
		return -1;
	tmpdir = xstrdup(tpl);
	dbdir = xasprintf("%s/nssdb", tmpdir);
	db = xasprintf("sql:%s", dbdir);
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
	free(dbdir);
	free(db);
	tmpdir = dbdir = db = NULL;
	return 0;
}

/* ------------------------------------------------------------ test PKI */

static void add_raw_ext(X509 *x, const char *oid, int critical, const unsigned char *der, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	ASN1_OCTET_STRING_set(os, der, len);
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

/* 1.3.6.1.4.1.311.21.7 { templateID, major, minor } (docs/protocol.md 2.7). */
static void add_template_ext(X509 *x, const char *oid, uint32_t major)
{
	unsigned char der[256], *p;
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_INTEGER *ma = ASN1_INTEGER_new(), *mi = ASN1_INTEGER_new();
	int len;

	ASN1_INTEGER_set_uint64(ma, major);
	ASN1_INTEGER_set_uint64(mi, 0);
	p = der + 2;
	len = i2d_ASN1_OBJECT(obj, &p);
	len += i2d_ASN1_INTEGER(ma, &p);
	len += i2d_ASN1_INTEGER(mi, &p);
	assert_true(len < 120);
	der[0] = 0x30;
	der[1] = (unsigned char)len;
	add_raw_ext(x, "1.3.6.1.4.1.311.21.7", 0, der, len + 2);
	ASN1_INTEGER_free(ma);
	ASN1_INTEGER_free(mi);
	ASN1_OBJECT_free(obj);
}

struct ca {
	EVP_PKEY *key;
	X509 *cert;
};
static struct ca root;

static X509_NAME *cn_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static void make_root(void)
{
	static const unsigned char bc[] = { 0x30, 0x03, 0x01, 0x01, 0xff };   /* CA:TRUE */
	static const unsigned char ku[] = { 0x03, 0x02, 0x01, 0x06 };         /* keyCertSign, cRLSign */
	X509_NAME *n;

	if (root.cert != NULL)
		return;
	n = cn_name("Test Root CA");
	root.key = EVP_EC_gen("P-256");
	assert_non_null(root.key);
	root.cert = X509_new();
	X509_set_version(root.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(root.cert), 1000);
	X509_set_subject_name(root.cert, n);
	X509_set_issuer_name(root.cert, n);
	X509_gmtime_adj(X509_getm_notBefore(root.cert), -86400);
	X509_gmtime_adj(X509_getm_notAfter(root.cert), 3650L * 86400);
	X509_set_pubkey(root.cert, root.key);
	add_raw_ext(root.cert, "2.5.29.19", 1, bc, sizeof(bc));
	add_raw_ext(root.cert, "2.5.29.15", 1, ku, sizeof(ku));
	assert_true(X509_sign(root.cert, root.key, EVP_sha256()) > 0);
	X509_NAME_free(n);
}

/* A leaf issued by the test root; a higher serial gets a later notBefore,
 * so "newest" is well defined. */
static X509 *new_cert(EVP_PKEY *key, const char *subject, const char *oid, long serial)
{
	static const unsigned char ku[] = { 0x03, 0x02, 0x07, 0x80 };   /* digitalSignature */
	static const unsigned char eku[] = { 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05,
					     0x05, 0x07, 0x03, 0x02 };        /* clientAuth */
	X509 *x = X509_new();
	X509_NAME *n = cn_name(subject);

	make_root();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(root.cert));
	X509_gmtime_adj(X509_getm_notBefore(x), -7200 + serial * 60);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, key);
	add_raw_ext(x, "2.5.29.15", 1, ku, sizeof(ku));
	add_raw_ext(x, "2.5.29.37", 0, eku, sizeof(eku));
	if (oid != NULL)
		add_template_ext(x, oid, 100);
	assert_true(X509_sign(x, root.key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

struct pair {
	EVP_PKEY *key;
	X509 *cert;
};

static struct pair new_pair(const char *oid, long serial, bool rsa)
{
	struct pair p;

	p.key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	assert_non_null(p.key);
	p.cert = new_cert(p.key, "client.example.test", oid, serial);
	return p;
}

static void pair_free(struct pair *p)
{
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
}

static STACK_OF(X509) *chain(void)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	make_root();
	X509_up_ref(root.cert);
	sk_X509_push(sk, root.cert);
	return sk;
}

static void make_template(struct template *t, const char *cn, const char *oid)
{
	memset(t, 0, sizeof(*t));
	t->cn = (char *)cn;
	t->oid = (char *)oid;
	t->major_version = 100;
	t->has_renewal = true;
	t->renewal_seconds = 42L * 86400;
}

static void make_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->store_types = STORE_NSS;
	cfg->nss_db = xstrdup(db);
	cfg->archive_dir = fs_path_join(tmpdir, "archive");
	cfg->state_dir = fs_path_join(tmpdir, "state");
	/* the chain's root may be marked trusted (trust_policy.h) */
	strlist_add(&cfg->pinned_dcs, "dc.example.test");
	trust_policy_set_dc("dc.example.test");
}

static void free_config(struct config *cfg)
{
	strlist_free(&cfg->pinned_dcs);
	free(cfg->nss_db);
	free(cfg->pem_dir);
	free(cfg->archive_dir);
	free(cfg->state_dir);
}

static int install(const struct config *cfg, const char *cn, const char *oid, struct pair *p,
		   char **archived)
{
	struct store *s;
	struct template t;
	STACK_OF(X509) *sk = chain();
	int r;

	make_template(&t, cn, oid);
	assert_int_equal(store_open(cfg, ADENROLL_MODE_MACHINE, &s), 0);
	r = store_install(s, &t, p->key, p->cert, sk, "Test CA", 7, archived);
	store_close(s);
	sk_X509_pop_free(sk, X509_free);
	return r;
}

static void list(const struct config *cfg, struct store_item **items, size_t *n)
{
	struct store *s;

	assert_int_equal(store_open(cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_list(s, items, n), 0);
	store_close(s);
}

/* ------------------------------------------------------------ the reader's view */

struct view {
	X509 *cert;          /* what PK11_FindCertFromNickname picks, NULL when none */
	bool key_signs;      /* its key signs and the certificate verifies */
	int n_certs;         /* certificates under the nickname */
	int n_keys;          /* private keys labelled with the nickname */
	int n_all_keys;      /* private keys in the database */
};

static bool openssl_verifies(X509 *x, const unsigned char *data, size_t len, const SECItem *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(x)) == 1 &&
		  EVP_DigestVerify(md, sig->data, sig->len, data, len) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

static struct view reader_view(const char *nick)
{
	static const unsigned char data[] = "adenroll reader check";
	NSSInitContext *ctx = NSS_InitContext(db, "", "", "", NULL, NSS_INIT_NOROOTINIT);
	PK11SlotInfo *slot;
	CERTCertificate *c;
	CERTCertList *certs;
	CERTCertListNode *node;
	SECKEYPrivateKeyList *keys;
	SECKEYPrivateKeyListNode *kn;
	struct view v;

	memset(&v, 0, sizeof(v));
	assert_non_null(ctx);
	slot = PK11_GetInternalKeySlot();
	c = PK11_FindCertFromNickname(nick, NULL);
	if (c != NULL) {
		SECKEYPrivateKey *k = PK11_FindKeyByAnyCert(c, NULL);
		SECItem sig = { siBuffer, NULL, 0 };

		v.cert = cert_from_der(c->derCert.data, c->derCert.len);
		if (k != NULL &&
		    SEC_SignData(&sig, data, sizeof(data), k,
				 SEC_GetSignatureAlgorithmOidTag(k->keyType, SEC_OID_SHA256)) == SECSuccess) {
			v.key_signs = openssl_verifies(v.cert, data, sizeof(data), &sig);
			SECITEM_FreeItem(&sig, PR_FALSE);
		}
		if (k != NULL)
			SECKEY_DestroyPrivateKey(k);
		CERT_DestroyCertificate(c);
	}
	certs = PK11_ListCertsInSlot(slot);
	for (node = certs != NULL ? CERT_LIST_HEAD(certs) : NULL; certs != NULL && !CERT_LIST_END(node, certs);
	     node = CERT_LIST_NEXT(node))
		if (node->cert->nickname != NULL && strcmp(node->cert->nickname, nick) == 0)
			v.n_certs++;
	if (certs != NULL)
		CERT_DestroyCertList(certs);
	keys = PK11_ListPrivKeysInSlot(slot, NULL, NULL);
	for (kn = keys != NULL ? PRIVKEY_LIST_HEAD(keys) : NULL; keys != NULL && !PRIVKEY_LIST_END(kn, keys);
	     kn = PRIVKEY_LIST_NEXT(kn)) {
		char *label = PK11_GetPrivateKeyNickname(kn->key);

		v.n_all_keys++;
		if (label != NULL && strcmp(label, nick) == 0)
			v.n_keys++;
		PORT_Free(label);
	}
	if (keys != NULL)
		SECKEY_DestroyPrivateKeyList(keys);
	PK11_FreeSlot(slot);
	assert_int_equal(NSS_ShutdownContext(ctx), SECSuccess);
	return v;
}

/* ------------------------------------------------------------ archive, certutil */

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static bool dir_holds_pair(const char *dir, X509 *want)
{
	char *p = fs_path_join(dir, "cert.pem"), *kp = fs_path_join(dir, "key.pem");
	X509 *c = cert_load_file(p);
	EVP_PKEY *k = load_key(kp);
	struct stat st;
	bool ok = c != NULL && k != NULL && X509_cmp(c, want) == 0 && cert_matches_key(c, k) &&
		  stat(kp, &st) == 0 && (st.st_mode & 077) == 0;

	X509_free(c);
	EVP_PKEY_free(k);
	free(p);
	free(kp);
	return ok;
}

/* Entries in the archive of template dir name holding want (with its key). */
static int archive_count(const char *name, X509 *want)
{
	char *adir = xasprintf("%s/archive/nss/%s", tmpdir, name);
	DIR *d = opendir(adir);
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = fs_path_join(adir, de->d_name);
		if (want == NULL || dir_holds_pair(p, want))
			n++;
		free(p);
	}
	if (d != NULL)
		closedir(d);
	free(adir);
	return n;
}

/* Output of a command (stderr included) and its exit status. */
static char *run(const char *cmd, int *status)
{
	char *full = xasprintf("%s 2>&1", cmd), *out = xcalloc(1, 1);
	FILE *f = popen(full, "r");
	char buf[4096];
	size_t len = 0, n;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		out = xrealloc(out, len + n + 1);
		memcpy(out + len, buf, n);
		len += n;
		out[len] = '\0';
	}
	*status = pclose(f);
	free(full);
	return out;
}

/* ------------------------------------------------------------ tests */

static void test_install_list_and_reader_pair(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false);
	struct store_item *items;
	size_t n;
	struct view v;
	struct stat st;

	(void)state;
	make_config(&cfg);
	/* Listing a database that does not exist lists nothing and creates nothing. */
	list(&cfg, &items, &n);
	assert_int_equal(n, 0);
	assert_int_not_equal(stat(dbdir, &st), 0);

	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(stat(dbdir, &st), 0);
	list(&cfg, &items, &n);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].store_name, "nss");
	assert_string_equal(items[0].template_cn, "Machine");
	assert_string_equal(items[0].template_oid, OID_MACHINE);
	assert_true(items[0].has_version);
	assert_int_equal(items[0].major, 100);
	assert_true(items[0].has_renewal);
	assert_int_equal(items[0].renewal_seconds, 42L * 86400);
	assert_string_equal(items[0].ca_name, "Test CA");
	assert_int_equal(items[0].request_id, 7);
	assert_int_equal(X509_cmp(items[0].cert, a.cert), 0);
	assert_non_null(strstr(items[0].cert_path, NICK));
	store_items_free(items, n);

	v = reader_view(NICK);
	assert_non_null(v.cert);
	assert_int_equal(X509_cmp(v.cert, a.cert), 0);
	assert_true(v.key_signs);
	assert_int_equal(v.n_certs, 1);
	assert_int_equal(v.n_keys, 1);
	X509_free(v.cert);
	pair_free(&a);
	free_config(&cfg);
}

static void test_certutil_sees_nickname_trust_and_validates(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, true);
	char *cmd, *out;
	int status;

	(void)state;
	if (!have_certutil) {
		skip();
		return;
	}
	make_config(&cfg);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	cmd = xasprintf("certutil -L -d '%s'", db);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, NICK));
	/* the user cert (with key) u,u,u; the root from the chain trusted for TLS etc. */
	assert_non_null(strstr(out, "u,u,u"));
	assert_non_null(strstr(out, "CT,C,C"));
	free(cmd);
	free(out);
	/* No password was set: listing keys needs none. */
	cmd = xasprintf("certutil -K -d '%s' < /dev/null", db);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, NICK));
	free(cmd);
	free(out);
	cmd = xasprintf("certutil -V -u C -n %s -d '%s'", NICK, db);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "certificate is valid"));
	free(cmd);
	free(out);
	pair_free(&a);
	free_config(&cfg);
}

static void test_replace_archives_old_pair(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false), b = new_pair(OID_MACHINE, 2, false);
	struct store_item *items;
	size_t n;
	struct view v;
	char *archived = NULL;

	(void)state;
	make_config(&cfg);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &b, &archived), 0);
	assert_non_null(archived);
	assert_true(dir_holds_pair(archived, a.cert));
	free(archived);
	assert_int_equal(archive_count("Machine", a.cert), 1);

	list(&cfg, &items, &n);
	assert_int_equal(n, 1);
	assert_int_equal(X509_cmp(items[0].cert, b.cert), 0);
	store_items_free(items, n);
	v = reader_view(NICK);
	assert_int_equal(X509_cmp(v.cert, b.cert), 0);
	assert_true(v.key_signs);
	assert_int_equal(v.n_certs, 1);
	assert_int_equal(v.n_keys, 1);   /* the old key left the database (it is archived) */
	X509_free(v.cert);
	/* The same certificate again changes nothing. */
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &b, NULL), 0);
	assert_int_equal(archive_count("Machine", NULL), 1);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

static void test_reused_key_survives_replacement(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, true), b;
	struct view v;

	(void)state;
	make_config(&cfg);
	b.key = a.key;
	b.cert = new_cert(a.key, "client.example.test", OID_MACHINE, 2);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &b, NULL), 0);
	v = reader_view(NICK);
	assert_int_equal(X509_cmp(v.cert, b.cert), 0);
	assert_true(v.key_signs);
	assert_int_equal(v.n_certs, 1);
	assert_int_equal(v.n_keys, 1);
	X509_free(v.cert);
	assert_int_equal(archive_count("Machine", a.cert), 1);
	X509_free(b.cert);
	pair_free(&a);
	free_config(&cfg);
}

/* issue 16 finding 9: a renewal that keeps the key works with an NSS-only
 * store: the held key comes out of the database (store_load_key) and the
 * renewed certificate is installed with it. */
static void test_reuse_key_from_nss_only_store(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, true), b;
	struct store *s;
	struct store_item *items;
	EVP_PKEY *held = NULL;
	struct view v;
	size_t n;

	(void)state;
	make_config(&cfg);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_load_key(s, &items[0], &held), 0);
	assert_non_null(held);
	assert_int_equal(EVP_PKEY_eq(held, a.key), 1);
	store_items_free(items, n);
	store_close(s);
	b.key = held;
	b.cert = new_cert(held, "client.example.test", OID_MACHINE, 2);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &b, NULL), 0);
	v = reader_view(NICK);
	assert_int_equal(X509_cmp(v.cert, b.cert), 0);
	assert_true(v.key_signs);
	assert_int_equal(v.n_keys, 1);
	X509_free(v.cert);
	pair_free(&b);
	pair_free(&a);
	free_config(&cfg);
}

/* Machine and Other both issued to the host's name: NSS keeps one nickname
 * per subject, so the second must not silently land under the first's. */
static void test_two_templates_one_subject(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false), b = new_pair(OID_OTHER, 2, false);
	struct store_item *items;
	size_t n, i;
	struct view v;
	bool seen_a = false, seen_b = false;

	(void)state;
	make_config(&cfg);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(install(&cfg, "Other", OID_OTHER, &b, NULL), 0);
	list(&cfg, &items, &n);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		if (strcmp(items[i].template_cn, "Machine") == 0) {
			assert_int_equal(X509_cmp(items[i].cert, a.cert), 0);
			seen_a = true;
		} else if (strcmp(items[i].template_cn, "Other") == 0) {
			assert_int_equal(X509_cmp(items[i].cert, b.cert), 0);
			seen_b = true;
		}
	}
	assert_true(seen_a && seen_b);
	store_items_free(items, n);
	v = reader_view("adenroll-Other");
	assert_int_equal(X509_cmp(v.cert, b.cert), 0);
	assert_true(v.key_signs);
	X509_free(v.cert);
	v = reader_view(NICK);
	assert_int_equal(X509_cmp(v.cert, a.cert), 0);
	assert_true(v.key_signs);
	X509_free(v.cert);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

/* issue 16 finding 6: "Web:Server" and "Web_Server" are two templates and
 * keep two nicknames; installing one never archives the other. */
static void test_colon_and_underscore_names_keep_apart(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false), b = new_pair(OID_OTHER, 2, false);
	struct store_item *items;
	size_t n, i, round;
	bool seen_a, seen_b;

	(void)state;
	make_config(&cfg);
	for (round = 0; round < 2; round++) {
		assert_int_equal(install(&cfg, "Web:Server", OID_MACHINE, &a, NULL), 0);
		assert_int_equal(install(&cfg, "Web_Server", OID_OTHER, &b, NULL), 0);
		list(&cfg, &items, &n);
		assert_int_equal(n, 2);
		seen_a = seen_b = false;
		for (i = 0; i < n; i++) {
			if (strcmp(items[i].template_cn, "Web:Server") == 0) {
				assert_int_equal(X509_cmp(items[i].cert, a.cert), 0);
				seen_a = true;
			} else if (strcmp(items[i].template_cn, "Web_Server") == 0) {
				assert_int_equal(X509_cmp(items[i].cert, b.cert), 0);
				seen_b = true;
			}
		}
		assert_true(seen_a && seen_b);
		store_items_free(items, n);
	}
	assert_int_equal(archive_count("Web_Server", a.cert), 0);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

/* An earlier version filed "Web:Server" under "adenroll-Web_Server": the
 * first install under the escaped nickname archives that pair (known by its
 * meta record), and leaves a real "Web_Server" template's pair alone. */
static void test_legacy_colon_nickname_is_retired(void **state)
{
	struct config cfg;
	struct pair old = new_pair(OID_MACHINE, 1, false), mine = new_pair(OID_MACHINE, 2, false);
	struct store_item *items;
	char hex[65], *mp, *meta;
	unsigned char *text;
	size_t n, len;

	(void)state;
	make_config(&cfg);
	/* what the earlier version left: the pair under the '_' nickname, meta naming "Web:Server" */
	assert_int_equal(install(&cfg, "Web_Server", OID_MACHINE, &old, NULL), 0);
	assert_int_equal(cert_sha256_hex(old.cert, hex, sizeof(hex)), 0);
	mp = xasprintf("%s/state/nss/%s.meta", tmpdir, hex);
	assert_int_equal(fs_read_file(mp, 1u << 20, &text, &len), 0);
	assert_non_null(strstr((char *)text, "template_cn=Web_Server\n"));
	meta = xasprintf("template_cn=Web:Server\n%s", strstr((char *)text, "\n") + 1);
	assert_int_equal(fs_write_atomic(mp, meta, strlen(meta), 0600, (uid_t)-1), 0);
	free(text);
	assert_int_equal(install(&cfg, "Web:Server", OID_MACHINE, &mine, NULL), 0);
	list(&cfg, &items, &n);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].template_cn, "Web:Server");
	assert_int_equal(X509_cmp(items[0].cert, mine.cert), 0);
	store_items_free(items, n);
	{
		char *stem = state_file_stem("Web:Server");

		assert_int_equal(archive_count(stem, old.cert), 1);
		free(stem);
	}
	free(mp);
	free(meta);
	pair_free(&old);
	pair_free(&mine);
	free_config(&cfg);
}

/* issue 16 finding 1: no key goes into a database that group or others can
 * read (key4.db 0644, as RHEL ships /etc/pki/nssdb) or whose directory they
 * can read; made private, the same database takes it. */
static void test_world_readable_db_is_refused(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false);
	char *key4 = fs_path_join(dbdir, "key4.db"), *cmd, *out;
	struct view v;
	struct stat st;
	int status;

	(void)state;
	if (!have_certutil) {
		skip();
		return;
	}
	assert_int_equal(fs_mkdir_p(dbdir, 0755), 0);
	assert_int_equal(chmod(dbdir, 0755), 0);
	cmd = xasprintf("certutil -N -d '%s' --empty-password", db);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	free(out);
	free(cmd);
	assert_int_equal(chmod(key4, 0644), 0);
	make_config(&cfg);
	assert_int_not_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	v = reader_view(NICK);
	assert_int_equal(v.n_all_keys, 0);
	X509_free(v.cert);
	/* key file private, directory still readable by others: refused too */
	assert_int_equal(chmod(key4, 0600), 0);
	assert_int_not_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(chmod(dbdir, 0700), 0);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	v = reader_view(NICK);
	assert_true(v.key_signs);
	X509_free(v.cert);
	/* a database adenroll creates is private */
	out = xasprintf("rm -rf '%s'", dbdir);
	assert_int_equal(system(out), 0);
	free(out);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(stat(dbdir, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(stat(key4, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	free(key4);
	pair_free(&a);
	free_config(&cfg);
}

static void test_retire_archives_and_removes(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false);
	struct store *s;
	struct store_item *items;
	size_t n;
	struct view v;
	char *archived = NULL;

	(void)state;
	make_config(&cfg);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_retire(s, "Machine", &archived), 0);
	store_close(s);
	assert_non_null(archived);
	assert_true(dir_holds_pair(archived, a.cert));
	free(archived);
	list(&cfg, &items, &n);
	assert_int_equal(n, 0);
	v = reader_view(NICK);
	assert_null(v.cert);
	assert_int_equal(v.n_keys, 0);
	/* the CA certificate stays; no key is left behind */
	assert_int_equal(v.n_all_keys, 0);
	pair_free(&a);
	free_config(&cfg);
}

static void test_password_protected_db_is_refused(void **state)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false);
	char *pw = fs_path_join(tmpdir, "pw"), *cmd, *out;
	int status;

	(void)state;
	if (!have_certutil) {
		skip();
		return;
	}
	assert_int_equal(fs_mkdir_p(dbdir, 0700), 0);
	assert_int_equal(fs_write_atomic(pw, "secret\n", 7, 0600, (uid_t)-1), 0);
	cmd = xasprintf("certutil -N -d '%s' -f '%s'", db, pw);
	out = run(cmd, &status);
	assert_int_equal(status, 0);
	free(out);
	free(cmd);
	make_config(&cfg);
	assert_int_not_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	pair_free(&a);
	free(pw);
	free_config(&cfg);
}

static const char *const crash_steps[] = {
	"nss-meta", "nss-key", "nss-cert", "nss-chain", "nss-archived", "nss-cert-removed",
	"nss-key-removed",
};

/* After a crash: the reader gets a (old) or b (new), with its key; or, when
 * there was no old pair, possibly nothing. */
static void assert_old_or_new(X509 *old, X509 *new)
{
	struct view v = reader_view(NICK);

	if (v.cert == NULL) {
		assert_null(old);
	} else {
		assert_true((old != NULL && X509_cmp(v.cert, old) == 0) || X509_cmp(v.cert, new) == 0);
		assert_true(v.key_signs);
	}
	X509_free(v.cert);
}

/* Recovery: the next install succeeds, leaves one pair, and the old pair is archived. */
static void assert_recovers(const struct config *cfg, struct pair *c, X509 *old)
{
	struct view v;
	struct store_item *items;
	size_t n;

	assert_int_equal(install(cfg, "Machine", OID_MACHINE, c, NULL), 0);
	v = reader_view(NICK);
	assert_int_equal(X509_cmp(v.cert, c->cert), 0);
	assert_true(v.key_signs);
	assert_int_equal(v.n_certs, 1);
	assert_int_equal(v.n_keys, 1);
	assert_int_equal(v.n_all_keys, 1);
	X509_free(v.cert);
	if (old != NULL)
		assert_true(archive_count("Machine", old) >= 1);
	list(cfg, &items, &n);
	assert_int_equal(n, 1);
	assert_int_equal(X509_cmp(items[0].cert, c->cert), 0);
	store_items_free(items, n);
}

static void crash_at(const char *step, bool with_old)
{
	struct config cfg;
	struct pair a = new_pair(OID_MACHINE, 1, false), b = new_pair(OID_MACHINE, 2, false),
		    c = new_pair(OID_MACHINE, 3, false);
	pid_t child;
	int status;
	char *cmd;

	make_config(&cfg);
	if (with_old)
		assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &a, NULL), 0);
	/* NSS must not be open across fork(): install() closes it. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		setenv("ADENROLL_TEST_CRASH_AT", step, 1);
		install(&cfg, "Machine", OID_MACHINE, &b, NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	if (!with_old && (strcmp(step, "nss-archived") == 0 || strncmp(step, "nss-key-", 8) == 0 ||
			  strncmp(step, "nss-cert-", 9) == 0)) {
		/* without an old pair there is nothing to archive or remove */
		assert_true(WIFEXITED(status));
	} else {
		if (!WIFSIGNALED(status))
			fail_msg("install did not reach step %s", step);
		assert_int_equal(WTERMSIG(status), SIGKILL);
	}
	assert_old_or_new(with_old ? a.cert : NULL, b.cert);
	assert_recovers(&cfg, &c, with_old ? a.cert : NULL);

	pair_free(&a);
	pair_free(&b);
	pair_free(&c);
	free_config(&cfg);
	cmd = xasprintf("rm -rf '%s' '%s/archive' '%s/state'", dbdir, tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void test_sigkill_at_each_install_step(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(crash_steps) / sizeof(crash_steps[0]); i++) {
		crash_at(crash_steps[i], true);
		crash_at(crash_steps[i], false);
	}
}

/* SIGKILL at arbitrary moments, including inside NSS's SQLite writes. */
static void test_sigkill_at_random_moments(void **state)
{
	struct config cfg;
	struct pair p[4];
	unsigned seed = (unsigned)time(NULL), round;
	X509 *live = NULL;
	int i;

	(void)state;
	fprintf(stderr, "# random seed %u\n", seed);
	srand(seed);
	make_config(&cfg);
	for (i = 0; i < 4; i++)
		p[i] = new_pair(OID_MACHINE, i + 1, i % 2 == 0);
	assert_int_equal(install(&cfg, "Machine", OID_MACHINE, &p[0], NULL), 0);
	live = p[0].cert;
	for (round = 0; round < 12; round++) {
		struct pair *next = &p[1 + round % 3];
		pid_t child = fork();
		int status;
		struct view v;

		assert_true(child >= 0);
		if (child == 0) {
			install(&cfg, "Machine", OID_MACHINE, next, NULL);
			_exit(0);
		}
		usleep((useconds_t)(rand() % 60000));
		kill(child, SIGKILL);
		assert_int_equal(waitpid(child, &status, 0), child);
		v = reader_view(NICK);
		assert_non_null(v.cert);
		assert_true(X509_cmp(v.cert, live) == 0 || X509_cmp(v.cert, next->cert) == 0);
		assert_true(v.key_signs);
		if (X509_cmp(v.cert, next->cert) == 0)
			live = next->cert;
		X509_free(v.cert);
	}
	for (i = 0; i < 4; i++)
		pair_free(&p[i]);
	free_config(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_install_list_and_reader_pair),
		T(test_certutil_sees_nickname_trust_and_validates),
		T(test_replace_archives_old_pair),
		T(test_reused_key_survives_replacement),
		T(test_reuse_key_from_nss_only_store),
		T(test_two_templates_one_subject),
		T(test_colon_and_underscore_names_keep_apart),
		T(test_legacy_colon_nickname_is_retired),
		T(test_world_readable_db_is_refused),
		T(test_retire_archives_and_removes),
		T(test_password_protected_db_is_refused),
		T(test_sigkill_at_each_install_step),
		T(test_sigkill_at_random_moments),
	};
	int r;

	have_certutil = system("command -v certutil > /dev/null 2>&1") == 0;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	EVP_PKEY_free(root.key);
	X509_free(root.cert);
	return r;
}
