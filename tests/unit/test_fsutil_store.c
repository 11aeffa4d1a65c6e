/* fsutil durable writes, the PEM store (install, replace, archive, index,
 * modes, concurrent readers, SIGKILL at every install step) and run state. */
#include "adenroll-build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "cert.h"
#include "commands.h"
#include "config.h"
#include "directory.h"
#include "policy.h"
#include "fsutil.h"
#include "hooks.h"
#include "state.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define OID_MACHINE "1.3.6.1.4.1.311.21.8.1.2.3.4.5.6.7.14"
#define OID_OTHER "1.3.6.1.4.1.311.21.8.1.2.3.4.5.6.7.99"

static char *tmpdir;

static int setup(void **state)
{
	char tpl[] = "/tmp/adenroll-store-XXXXXX";

	(void)state;
	tmpdir = xstrdup(mkdtemp(tpl));
	return tmpdir[0] == '/' ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	free(tmpdir);
	tmpdir = NULL;
	return 0;
}

static char *tpath(const char *leaf)
{
	return fs_path_join(tmpdir, leaf);
}

static size_t count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    (prefix == NULL || strncmp(de->d_name, prefix, strlen(prefix)) == 0))
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------ fsutil */

static void test_write_atomic_sets_exact_mode_and_content(void **state)
{
	char *p = tpath("f.key");
	unsigned char *data;
	size_t len;
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	assert_int_equal(fs_write_atomic(p, "secret", 6, 0600, (uid_t)-1), 0);
	umask(old);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fs_write_atomic(p, "second", 6, 0640, (uid_t)-1), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(fs_read_file(p, 100, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal((char *)data, "second");
	free(data);
	/* Nothing but the target is left in the directory. */
	assert_int_equal(count_entries(tmpdir, NULL), 1);
	free(p);
}

static void test_write_atomic_replaces_symlink_never_follows(void **state)
{
	char *victim = tpath("victim"), *link = tpath("link");
	unsigned char *data;
	struct stat st;

	(void)state;
	assert_int_equal(fs_write_atomic(victim, "keep", 4, 0644, (uid_t)-1), 0);
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(fs_write_atomic(link, "new", 3, 0644, (uid_t)-1), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fs_read_file(victim, 100, &data, NULL), 0);
	assert_string_equal((char *)data, "keep");
	free(data);
	free(victim);
	free(link);
}

static void test_write_atomic_failure_leaves_no_temp_and_keeps_target(void **state)
{
	char *p = tpath("adir");

	(void)state;
	/* rename(2) of a file over a directory fails: the temp must go. */
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(fs_write_atomic(p, "x", 1, 0644, (uid_t)-1), -1);
	assert_int_equal(count_entries(tmpdir, "."), 0);
	assert_int_equal(count_entries(tmpdir, NULL), 1);
	free(p);
}

static void test_write_atomic_ignores_planted_temp_names(void **state)
{
	char *p = tpath("f"), *planted;
	int i;

	(void)state;
	/* Leftover temp files from a crash (or planted by someone) never block
	 * a write and are never written through. */
	for (i = 0; i < 20; i++) {
		planted = xasprintf("%s/.f.tmp-%d", tmpdir, i);
		assert_int_equal(symlink("/nonexistent/target", planted), 0);
		free(planted);
	}
	assert_int_equal(fs_write_atomic(p, "ok", 2, 0644, (uid_t)-1), 0);
	assert_int_equal(count_entries(tmpdir, ".f.tmp-"), 20);
	free(p);
}

static void test_mkdir_p_and_read_limits(void **state)
{
	char *deep = tpath("a/b/c"), *f = tpath("a/b/c/big");
	unsigned char *data = NULL;
	char big[100];

	(void)state;
	assert_int_equal(fs_mkdir_p(deep, 0700), 0);
	assert_int_equal(fs_mkdir_p(deep, 0700), 0);
	memset(big, 'x', sizeof(big));
	assert_int_equal(fs_write_atomic(f, big, sizeof(big), 0644, (uid_t)-1), 0);
	assert_int_equal(fs_read_file(f, 99, &data, NULL), -1);
	assert_null(data);
	assert_int_equal(fs_read_file(f, 100, &data, NULL), 0);
	free(data);
	free(f);
	f = tpath("missing");
	assert_int_equal(fs_read_file(f, 100, &data, NULL), -1);
	assert_int_equal(errno, ENOENT);
	free(f);
	free(deep);
}

/* ------------------------------------------------------------ test PKI */

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* 1.3.6.1.4.1.311.21.7 { templateID, major, minor } (docs/protocol.md 2.7). */
static void add_template_ext(X509 *x, const char *oid, uint32_t major, uint32_t minor)
{
	unsigned char der[256], *p;
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1), *ext_obj = OBJ_txt2obj("1.3.6.1.4.1.311.21.7", 1);
	ASN1_INTEGER *ma = ASN1_INTEGER_new(), *mi = ASN1_INTEGER_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	int len;

	ASN1_INTEGER_set_uint64(ma, major);
	ASN1_INTEGER_set_uint64(mi, minor);
	p = der + 2;
	len = i2d_ASN1_OBJECT(obj, &p);
	len += i2d_ASN1_INTEGER(ma, &p);
	len += i2d_ASN1_INTEGER(mi, &p);
	assert_true(len < 120);
	der[0] = 0x30;
	der[1] = (unsigned char)len;
	ASN1_OCTET_STRING_set(os, der, len + 2);
	ext = X509_EXTENSION_create_by_OBJ(NULL, ext_obj, 0, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_INTEGER_free(ma);
	ASN1_INTEGER_free(mi);
	ASN1_OBJECT_free(obj);
	ASN1_OBJECT_free(ext_obj);
}

static X509 *new_cert(EVP_PKEY *key, const char *oid, uint32_t major, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"client.example", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, key);
	if (oid != NULL)
		add_template_ext(x, oid, major, 0);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* One lookup per question, as a command that asks once builds it. */
static const struct store_item *find(const struct store_item *items, size_t n, const struct template *t)
{
	struct store_lookup *lk = store_lookup_new(items, n, NULL);
	const struct store_item *it = store_lookup_find(lk, t);

	store_lookup_free(lk);
	return it;
}

static const struct store_item *find_cn(const struct store_item *items, size_t n, const char *cn)
{
	struct store_lookup *lk = store_lookup_new(items, n, NULL);
	const struct store_item *it = store_lookup_find_cn(lk, cn);

	store_lookup_free(lk);
	return it;
}

static const struct store_item *find_held(const struct store_item *items, size_t n, const struct template *t,
					  const struct directory *d, const char **superseded_cn)
{
	struct store_lookup *lk = store_lookup_new(items, n, d);
	const struct store_item *it = store_lookup_held(lk, t, superseded_cn);

	store_lookup_free(lk);
	return it;
}

struct pair {
	EVP_PKEY *key;
	X509 *cert;
};

static struct pair new_pair(const char *oid, uint32_t major, long serial)
{
	struct pair p;

	p.key = new_key();
	p.cert = new_cert(p.key, oid, major, serial);
	return p;
}

static void pair_free(struct pair *p)
{
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
}

static void make_template(struct template *t, const char *cn, const char *oid, uint32_t major)
{
	memset(t, 0, sizeof(*t));
	t->cn = (char *)cn;
	t->oid = (char *)oid;
	t->major_version = major;
	t->has_renewal = true;
	t->renewal_seconds = 42L * 86400;
}

static void make_config(struct config *cfg, long retention_days)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->store_types = STORE_PEM;
	cfg->pem_dir = tpath("certs");
	cfg->archive_dir = tpath("archive");
	cfg->state_dir = tpath("state");
	cfg->archive_retention_days = retention_days;
}

static void free_config(struct config *cfg)
{
	free(cfg->pem_dir);
	free(cfg->archive_dir);
	free(cfg->state_dir);
}

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

/* The live pair as a reader sees it through the stable paths. */
static X509 *live_cert_checked(const struct store_item *it)
{
	EVP_PKEY *k = load_key(it->key_path);
	X509 *c = cert_load_file(it->cert_path);

	assert_non_null(k);
	assert_non_null(c);
	assert_true(cert_matches_key(c, k));
	assert_int_equal(X509_cmp(c, it->cert), 0);
	EVP_PKEY_free(k);
	return c;
}

static bool dir_holds_cert(const char *dir, X509 *want)
{
	char *p = fs_path_join(dir, "cert.pem"), *kp = fs_path_join(dir, "key.pem");
	X509 *c = cert_load_file(p);
	EVP_PKEY *k = load_key(kp);
	bool ok = c != NULL && k != NULL && X509_cmp(c, want) == 0 && cert_matches_key(c, k);

	X509_free(c);
	EVP_PKEY_free(k);
	free(p);
	free(kp);
	return ok;
}

/* Whether some archive entry of <name> holds want (with its key). */
static bool archive_holds(const char *name, X509 *want)
{
	char *adir = xasprintf("%s/archive/%s", tmpdir, name);
	DIR *d = opendir(adir);
	struct dirent *de;
	bool found = false;

	while (d != NULL && (de = readdir(d)) != NULL && !found) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = fs_path_join(adir, de->d_name);
		found = dir_holds_cert(p, want);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	free(adir);
	return found;
}

/* ------------------------------------------------------------ store */

static void test_install_list_find(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t, other_oid, v1name;
	struct pair a = new_pair(OID_MACHINE, 2, 100);
	struct store_item *items;
	size_t n;
	char *archived = (char *)"unset", *p;
	unsigned char *index;
	struct stat st;
	X509 *c;
	char target[256];
	ssize_t tl;

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, "Test CA", 7, &archived), 0);
	assert_null(archived);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].template_cn, "Machine");
	assert_string_equal(items[0].template_oid, OID_MACHINE);
	assert_true(items[0].has_version);
	assert_int_equal(items[0].major, 2);
	assert_string_equal(items[0].ca_name, "Test CA");
	assert_int_equal(items[0].request_id, 7);
	assert_true(items[0].has_renewal);
	assert_int_equal(items[0].renewal_seconds, 42L * 86400);
	assert_string_equal(items[0].store_name, "pem");
	c = live_cert_checked(&items[0]);
	X509_free(c);
	/* Key 0600, cert world-readable, stable paths are symlinks through `current`. */
	assert_int_equal(stat(items[0].key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(items[0].cert_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	tl = readlink(items[0].cert_path, target, sizeof(target) - 1);
	assert_true(tl > 0);
	target[tl] = '\0';
	assert_string_equal(target, "Machine.d/current/cert.pem");
	assert_non_null(strstr(items[0].chain_path, "Machine-chain.pem"));
	assert_int_equal(stat(items[0].chain_path, &st), 0);
	/* The index says what adenroll manages. */
	p = tpath("certs/index");
	assert_int_equal(fs_read_file(p, 4096, &index, NULL), 0);
	assert_non_null(strstr((char *)index, "Machine\tMachine\n"));
	free(index);
	free(p);

	/* Identified by the certificate's extension, not the name. */
	assert_ptr_equal(find(items, n, &t), &items[0]);
	make_template(&other_oid, "Machine", OID_OTHER, 2);
	assert_null(find(items, n, &other_oid));
	make_template(&v1name, "Renamed", OID_MACHINE, 2);
	assert_ptr_equal(find(items, n, &v1name), &items[0]);
	assert_ptr_equal(find_cn(items, n, "machine"), &items[0]);
	store_items_free(items, n);
	store_close(s);
	pair_free(&a);
	free_config(&cfg);
}

/* [store] and [template NAME] ownership: each file gets its owner, group
 * and mode before it is renamed into place; a user that does not exist fails
 * the install before anything is written. */
static void test_install_applies_owner_group_mode(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t, other;
	struct pair a = new_pair(OID_MACHINE, 2, 300), b = new_pair(OID_OTHER, 1, 301);
	struct store_item *items;
	size_t n;
	struct stat st;
	char gid[32], *p;
	bool root = geteuid() == 0;

	(void)state;
	make_config(&cfg, 0);
	snprintf(gid, sizeof(gid), "%ld", (long)getegid());
	cfg.perms.cert.mode = 0444;
	cfg.perms.key.group = gid;
	cfg.perms.key.mode = 0640;
	cfg.tmpl_perms = calloc(1, sizeof(*cfg.tmpl_perms));
	assert_non_null(cfg.tmpl_perms);
	cfg.n_tmpl_perms = 1;
	cfg.tmpl_perms[0].template_cn = (char *)"machine";
	cfg.tmpl_perms[0].p.key.owner = (char *)(root ? "65534" : NULL);
	cfg.tmpl_perms[0].p.chain.mode = 0640;
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, "Test CA", 7, NULL), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(stat(items[0].key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, getegid());
	assert_int_equal(st.st_uid, root ? 65534 : geteuid());
	assert_int_equal(stat(items[0].cert_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_int_equal(stat(items[0].chain_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* Services reach the files through directories they may traverse. */
	p = tpath("certs/Machine.d/current");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0005, 0005);
	free(p);
	store_items_free(items, n);

	/* An unknown owner: refused with nothing written for that template. */
	cfg.perms.key.owner = (char *)"adenroll-no-such-user";
	make_template(&other, "Other", OID_OTHER, 1);
	assert_int_equal(store_install(s, &other, b.key, b.cert, NULL, "Test CA", 8, NULL), -1);
	p = tpath("certs/Other.d");
	assert_int_equal(lstat(p, &st), -1);
	free(p);
	store_close(s);
	free(cfg.tmpl_perms);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

static void test_replace_archives_previous_pair(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1), b = new_pair(OID_MACHINE, 3, 2);
	struct store_item *items;
	size_t n;
	char *archived = NULL;
	X509 *c;

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 3);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, "CA", 1, NULL), 0);
	assert_int_equal(store_install(s, &t, b.key, b.cert, NULL, "CA", 2, &archived), 0);
	assert_non_null(archived);
	assert_true(dir_holds_cert(archived, a.cert));
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(items[0].major, 3);
	c = live_cert_checked(&items[0]);
	assert_int_equal(X509_cmp(c, b.cert), 0);
	X509_free(c);
	/* Only the live generation is left beside `current`. */
	{
		char *d = tpath("certs/Machine.d");

		assert_int_equal(count_entries(d, NULL), 2);
		free(d);
	}
	/* A mismatching key is refused before anything is written. */
	assert_int_equal(store_install(s, &t, a.key, b.cert, NULL, "CA", 3, NULL), -1);
	store_items_free(items, n);
	assert_int_equal(store_list(s, &items, &n), 0);
	c = live_cert_checked(&items[0]);
	assert_int_equal(X509_cmp(c, b.cert), 0);
	X509_free(c);
	store_items_free(items, n);
	free(archived);
	store_close(s);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

/* --user: the user's store is private to the user. */
static void test_user_mode_directories_are_private(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	char *d1 = tpath("certs"), *d2 = tpath("certs/UserCert.d"), *d3 = tpath("archive/UserCert");
	struct stat st;

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "UserCert", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_USER, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 2, NULL), 0);
	assert_int_equal(stat(d1, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(d2, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(d3, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	store_close(s);
	pair_free(&a);
	free(d1);
	free(d2);
	free(d3);
	free_config(&cfg);
}

static void test_unsafe_template_names_get_safe_files(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t1, t2;
	struct pair a = new_pair(NULL, 0, 1), b = new_pair(NULL, 0, 2);
	struct store_item *items;
	size_t n;

	(void)state;
	make_config(&cfg, 0);
	make_template(&t1, "Copy of Web/Server", NULL, 1);
	make_template(&t2, "Copy of Web_Server", NULL, 1);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t1, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_install(s, &t2, b.key, b.cert, NULL, NULL, 2, NULL), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 2);
	assert_non_null(strstr(items[0].cert_path, "/Copy_of_Web_Server.crt"));
	assert_non_null(strstr(items[1].cert_path, "/Copy_of_Web_Server-2.crt"));
	/* No extension in these certs: the recorded template name decides. */
	assert_null(items[0].template_oid);
	assert_ptr_equal(find(items, n, &t1), &items[0]);
	assert_ptr_equal(find(items, n, &t2), &items[1]);
	store_items_free(items, n);
	store_close(s);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

/* issue 16 finding 3, the PEM side: any cn, 100 CJK characters (300
 * bytes) included, gets a bounded file name, and two long names that differ
 * only at the end keep apart (the index maps names back to cns). */
static void test_long_non_ascii_template_names_fit(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t1, t2;
	struct pair a = new_pair(NULL, 0, 1), b = new_pair(NULL, 0, 2);
	struct store_item *items;
	char n1[512] = "", n2[512];
	size_t n, i;

	(void)state;
	for (i = 0; i < 100; i++)
		strcat(n1, "\xe8\xaf\x81");
	snprintf(n2, sizeof(n2), "%s", n1);
	n2[strlen(n2) - 1] = '\x82';
	make_config(&cfg, 0);
	make_template(&t1, n1, NULL, 1);
	make_template(&t2, n2, NULL, 1);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t1, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_install(s, &t2, b.key, b.cert, NULL, NULL, 2, NULL), 0);
	assert_int_equal(store_install(s, &t1, a.key, a.cert, NULL, NULL, 3, NULL), 0);   /* and a renewal */
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(find(items, n, &t1), &items[0]);
	assert_ptr_equal(find(items, n, &t2), &items[1]);
	assert_int_equal(X509_cmp(items[1].cert, b.cert), 0);
	for (i = 0; i < n; i++)
		assert_true(strlen(strrchr(items[i].chain_path, '/')) < 200);
	store_items_free(items, n);
	store_close(s);
	pair_free(&a);
	pair_free(&b);
	free_config(&cfg);
}

static void test_archive_retention(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	char *old_entry = tpath("archive/Machine/20000101T000000Z--20000101T000000Z-01");
	char *odd_entry = tpath("archive/Machine/not-a-date");

	(void)state;
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(fs_mkdir_p(old_entry, 0700), 0);
	assert_int_equal(fs_mkdir_p(odd_entry, 0700), 0);
	/* 0 = forever: nothing archived is removed. */
	make_config(&cfg, 0);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 2, NULL), 0);
	assert_int_equal(access(old_entry, F_OK), 0);
	store_close(s);
	free_config(&cfg);
	/* 30 days: the year-2000 entry goes, the fresh one and the unparsable stay. */
	make_config(&cfg, 30);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 3, NULL), 0);
	assert_int_equal(access(old_entry, F_OK), -1);
	assert_int_equal(access(odd_entry, F_OK), 0);
	assert_true(archive_holds("Machine", a.cert));
	store_close(s);
	free_config(&cfg);
	pair_free(&a);
	free(old_entry);
	free(odd_entry);
}

static void test_retire_archives_and_unmanages(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	struct store_item *items;
	size_t n;
	char *archived = NULL, *crt = tpath("certs/Old.crt");

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Old", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_retire(s, "Old", &archived), 0);
	assert_non_null(archived);
	assert_true(dir_holds_cert(archived, a.cert));
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(access(crt, F_OK), -1);
	assert_int_equal(store_retire(s, "Old", NULL), 0);
	store_items_free(items, n);
	store_close(s);
	free(archived);
	free(crt);
	pair_free(&a);
	free_config(&cfg);
}

static void test_preexisting_file_is_archived_not_overwritten(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	char *dir = tpath("certs"), *crt = tpath("certs/Machine.crt");

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(fs_mkdir_p(dir, 0755), 0);
	assert_int_equal(fs_write_atomic(crt, "someone else's", 14, 0644, (uid_t)-1), 0);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	{
		char *adir = tpath("archive/Machine");

		assert_int_equal(count_entries(adir, NULL), 1);
		free(adir);
	}
	store_close(s);
	free(dir);
	free(crt);
	pair_free(&a);
	free_config(&cfg);
}

/* A reader that resolves `current` once always gets a matching key and
 * certificate while installs keep switching generations. */
static void test_reader_never_sees_mixed_pair(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair pairs[4];
	pid_t reader;
	int status, i, pipefd[2];
	char *current = tpath("certs/Machine.d/current");

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 2);
	for (i = 0; i < 4; i++)
		pairs[i] = new_pair(OID_MACHINE, 2, 10 + i);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, pairs[0].key, pairs[0].cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(pipe(pipefd), 0);
	reader = fork();
	assert_true(reader >= 0);
	if (reader == 0) {
		unsigned checks = 0, bad = 0;
		char stop;

		close(pipefd[1]);
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
		while (read(pipefd[0], &stop, 1) != 0 || checks == 0) {
			int dfd = open(current, O_RDONLY | O_DIRECTORY);
			int cfd, kfd;
			FILE *cf, *kf;
			X509 *c = NULL;
			EVP_PKEY *k = NULL;

			if (dfd < 0)
				continue;
			cfd = openat(dfd, "cert.pem", O_RDONLY);
			kfd = openat(dfd, "key.pem", O_RDONLY);
			close(dfd);
			if (cfd < 0 || kfd < 0) {
				bad++;
				continue;
			}
			cf = fdopen(cfd, "r");
			kf = fdopen(kfd, "r");
			c = PEM_read_X509(cf, NULL, NULL, NULL);
			k = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
			fclose(cf);
			fclose(kf);
			if (!cert_matches_key(c, k))
				bad++;
			checks++;
			X509_free(c);
			EVP_PKEY_free(k);
		}
		_exit(bad == 0 && checks > 0 ? 0 : 1);
	}
	close(pipefd[0]);
	for (i = 0; i < 40; i++)
		assert_int_equal(store_install(s, &t, pairs[i % 4].key, pairs[i % 4].cert, NULL, NULL, i, NULL), 0);
	close(pipefd[1]);
	assert_int_equal(waitpid(reader, &status, 0), reader);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	store_close(s);
	for (i = 0; i < 4; i++)
		pair_free(&pairs[i]);
	free(current);
	free_config(&cfg);
}

static const char *const crash_steps[] = {
	"index", "key", "cert", "chain", "meta", "generation", "switched", "linked", "archived",
};

/* SIGKILL at every install step: the store then holds the old or the new
 * pair, intact and matching, and the next install tidies up without losing
 * the old pair. */
static void crash_at(const char *step, bool with_old)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1), b = new_pair(OID_MACHINE, 2, 2),
		    c = new_pair(OID_MACHINE, 2, 3);
	struct store_item *items;
	size_t n;
	pid_t child;
	int status;
	X509 *live;
	char *cmd;

	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	if (with_old)
		assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		setenv("ADENROLL_TEST_CRASH_AT", step, 1);
		store_install(s, &t, b.key, b.cert, NULL, NULL, 2, NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	/* What the next pulse does first: every step after the commit point
	 * (the stable links of a first install included) is completed. */
	store_tidy(s, time(NULL));
	assert_int_equal(store_list(s, &items, &n), 0);
	if (n == 0) {
		/* Only possible before the first pair was ever live. */
		assert_false(with_old);
	} else {
		assert_int_equal(n, 1);
		assert_true(X509_cmp(items[0].cert, a.cert) == 0 || X509_cmp(items[0].cert, b.cert) == 0);
		/* The generation `current` names is complete and matching. */
		{
			char *gdir = xasprintf("%s/certs/Machine.d/%s", tmpdir, items[0].generation);

			assert_true(dir_holds_cert(gdir, items[0].cert));
			free(gdir);
		}
		/* After the tidy the stable paths are there and consistent. */
		live = live_cert_checked(&items[0]);
		X509_free(live);
	}
	store_items_free(items, n);

	/* Recovery: the next install succeeds and the old pair is archived, not lost. */
	assert_int_equal(store_install(s, &t, c.key, c.cert, NULL, NULL, 3, NULL), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	live = live_cert_checked(&items[0]);
	assert_int_equal(X509_cmp(live, c.cert), 0);
	X509_free(live);
	store_items_free(items, n);
	if (with_old)
		assert_true(archive_holds("Machine", a.cert));
	{
		char *d = tpath("certs/Machine.d");

		assert_int_equal(count_entries(d, NULL), 2);   /* current + its generation */
		free(d);
	}
	store_close(s);
	pair_free(&a);
	pair_free(&b);
	pair_free(&c);
	free_config(&cfg);
	cmd = xasprintf("rm -rf '%s/certs' '%s/archive'", tmpdir, tmpdir);
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

/* A cert of a superseded template is what the superseding template holds;
 * pulse/explain/status then decide re-enroll from the same input. */
static void test_find_held_superseded_and_decide(void **state)
{
	struct config cfg;
	struct store *s;
	struct template old_t, new_t, dir_templates[1];
	struct directory d;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	struct store_item *items;
	const struct store_item *held;
	const char *sup = NULL;
	struct policy_input in;
	struct policy_decision dec;
	size_t n;

	(void)state;
	make_config(&cfg, 0);
	cfg.renew_expiring = cfg.update_templates = true;
	make_template(&old_t, "Machine", OID_MACHINE, 2);
	make_template(&new_t, "Machine2", OID_OTHER, 1);
	strlist_add(&new_t.supersedes, "Machine");
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &old_t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_null(find(items, n, &new_t));
	memset(&d, 0, sizeof(d));
	dir_templates[0] = old_t;
	d.templates = dir_templates;
	d.n_templates = 1;
	held = find_held(items, n, &new_t, &d, &sup);
	assert_ptr_equal(held, &items[0]);
	assert_string_equal(sup, "Machine");
	held = find_held(items, n, &new_t, NULL, &sup);
	assert_ptr_equal(held, &items[0]);
	store_policy_input(&in, time(NULL), &cfg, &new_t, held, sup, false);
	assert_true(in.has_cert);
	assert_int_equal(in.not_after - in.not_before, 365L * 86400);
	policy_decide(&in, &dec);
	assert_int_equal(dec.action, POLICY_REENROLL);
	/* Its own template keeps it (fresh cert, same major). */
	held = find_held(items, n, &old_t, &d, &sup);
	assert_null(sup);
	store_policy_input(&in, time(NULL), &cfg, &old_t, held, sup, false);
	policy_decide(&in, &dec);
	assert_int_equal(dec.action, POLICY_KEEP);
	store_items_free(items, n);
	store_close(s);
	strlist_free(&new_t.supersedes);
	pair_free(&a);
	free_config(&cfg);
}

/* status works offline from the store and state alone. */
static void test_status_json_offline(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 0x1234);
	struct pending_request pr = { .template_cn = (char *)"User", .ca_name = (char *)"Test CA",
				      .request_id = 9, .submitted = 1700000000 };
	struct cli_options opt;
	char *out = tpath("status.json");
	unsigned char *text;
	int saved, fd;

	(void)state;
	make_config(&cfg, 0);
	cfg.renew_expiring = cfg.update_templates = true;
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, "Test CA", 5, NULL), 0);
	store_close(s);
	assert_int_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, a.key, NULL), 0);
	memset(&opt, 0, sizeof(opt));
	opt.json = true;
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 1);
	close(fd);
	assert_int_equal(cmd_status(&opt, &cfg, 0, NULL), ADENROLL_EXIT_OK);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(fs_read_file(out, 1u << 20, &text, NULL), 0);
	assert_non_null(strstr((char *)text, "\"template\":\"Machine\""));
	assert_non_null(strstr((char *)text, "\"serial\":\"1234\""));
	assert_non_null(strstr((char *)text, "\"renew_basis\":\"renewal period\""));
	assert_non_null(strstr((char *)text, "\"action\":\"keep\""));
	assert_non_null(strstr((char *)text, "\"request_id\":9"));
	assert_non_null(strstr((char *)text, "\"last_run\":null"));
	free(text);
	free(out);
	pair_free(&a);
	free_config(&cfg);
}

/* issue 16 finding 8: the key a renewal reuses is read from the held
 * generation without following any symlink: not <name>.key (which another
 * tool may have re-pointed), not a generation or key.pem replaced by one. */
static void test_held_key_read_without_following_symlinks(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1), other = new_pair(OID_MACHINE, 2, 2);
	struct store_item *items;
	EVP_PKEY *k = NULL;
	char *link = tpath("certs/Machine.key"), *decoy = tpath("decoy.pem"), *gdir, *moved, *kp, *cmd;
	size_t n;

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	/* <name>.key re-pointed at another key: the held key is still a's */
	{
		FILE *f = fopen(decoy, "w");

		assert_non_null(f);
		assert_true(PEM_write_PrivateKey(f, other.key, NULL, NULL, 0, NULL, NULL));
		fclose(f);
	}
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(decoy, link), 0);
	assert_int_equal(store_load_key(s, &items[0], &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, a.key), 1);
	EVP_PKEY_free(k);
	k = NULL;
	/* key.pem replaced by a symlink to the same key: refused */
	gdir = xasprintf("%s/certs/Machine.d/%s", tmpdir, items[0].generation);
	kp = fs_path_join(gdir, "key.pem");
	moved = tpath("moved-key.pem");
	assert_int_equal(rename(kp, moved), 0);
	assert_int_equal(symlink(moved, kp), 0);
	assert_int_equal(store_load_key(s, &items[0], &k), -1);
	assert_null(k);
	assert_int_equal(unlink(kp), 0);
	assert_int_equal(rename(moved, kp), 0);
	/* a key others could have written: refused */
	assert_int_equal(chmod(kp, 0602), 0);
	assert_int_equal(store_load_key(s, &items[0], &k), -1);
	assert_int_equal(chmod(kp, 0600), 0);
	/* the generation directory replaced by a symlink: refused */
	free(moved);
	moved = tpath("moved-generation");
	assert_int_equal(rename(gdir, moved), 0);
	assert_int_equal(symlink(moved, gdir), 0);
	assert_int_equal(store_load_key(s, &items[0], &k), -1);
	assert_null(k);
	cmd = xasprintf("rm -f '%s' && mv '%s' '%s'", gdir, moved, gdir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_load_key(s, &items[0], &k), 0);
	EVP_PKEY_free(k);
	store_items_free(items, n);
	store_close(s);
	free(cmd);
	free(gdir);
	free(kp);
	free(moved);
	free(link);
	free(decoy);
	pair_free(&a);
	pair_free(&other);
	free_config(&cfg);
}

/* issue 16 finding 8: archive pruning deletes only real directories of
 * the archive; a symlink named like an old entry is not followed. */
static void test_archive_pruning_never_follows_symlinks(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	char *outside = tpath("outside"), *victim = tpath("outside/precious");
	char *planted = tpath("archive/Machine/20000101T000000Z--planted");

	(void)state;
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(fs_mkdir_p(outside, 0700), 0);
	assert_int_equal(fs_write_atomic(victim, "x", 1, 0600, (uid_t)-1), 0);
	{
		char *adir = tpath("archive/Machine");

		assert_int_equal(fs_mkdir_p(adir, 0700), 0);
		free(adir);
	}
	assert_int_equal(symlink(outside, planted), 0);
	make_config(&cfg, 30);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(access(victim, F_OK), 0);
	store_close(s);
	assert_int_equal(fs_remove_flat_dir(planted), -1);
	assert_int_equal(access(victim, F_OK), 0);
	free_config(&cfg);
	pair_free(&a);
	free(outside);
	free(victim);
	free(planted);
}

/* issue 16 finding 8 (StrictModes): no key goes into an existing directory
 * that group or others may write. */
static void test_untrusted_directories_are_refused(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 1);
	struct pending_request pr = { .template_cn = (char *)"Machine", .ca_name = (char *)"Test CA",
				      .request_id = 3, .submitted = 1700000000 };
	char *certs = tpath("certs"), *st = tpath("state"), why[512];

	(void)state;
	make_config(&cfg, 0);
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(fs_dir_trusted(certs, why, sizeof(why)), 0);   /* missing: created private */
	assert_int_equal(fs_mkdir_p(certs, 0755), 0);
	assert_int_equal(chmod(certs, 0777), 0);
	assert_int_equal(fs_dir_trusted(certs, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "chmod go-w"));
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_not_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	assert_int_equal(chmod(certs, 0755), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 1, NULL), 0);
	store_close(s);
	if (geteuid() == 0) {
		assert_int_equal(chown(certs, 1, (gid_t)-1), 0);
		assert_int_equal(fs_dir_trusted(certs, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "chown 0"));
		assert_int_equal(chown(certs, 0, (gid_t)-1), 0);
	}
	assert_int_equal(fs_mkdir_p(st, 0700), 0);
	assert_int_equal(chmod(st, 0770), 0);
	assert_int_not_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, a.key, NULL), 0);
	assert_int_equal(chmod(st, 0700), 0);
	assert_int_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, a.key, NULL), 0);
	pair_free(&a);
	free(certs);
	free(st);
	free_config(&cfg);
}

/* issue 16 finding 2b: the hooks an install owed run at the next pulse
 * when its certificate is live, once; a record for a certificate that
 * never became live runs nothing.  Either way the record goes. */
static void test_owed_hooks_run_once_when_live(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 0x51);
	struct store_item *items;
	struct hooks_owed h = { .template_cn = (char *)"Machine", .event = (char *)HOOK_EVENT_ENROLLED,
				.serial = (char *)"51", .ca_name = (char *)"Test CA", .request_id = 4 }, *v;
	char *hooks = tpath("hooks"), *script = tpath("hooks/10-record"), *log = tpath("hooks.log");
	char *body = xasprintf("#!/bin/sh\necho \"$ADENROLL_EVENT|$ADENROLL_TEMPLATE|$ADENROLL_SERIAL|"
			       "$ADENROLL_CERT\" >> '%s'\n", log);
	unsigned char *text = NULL;
	size_t n, nv;

	(void)state;
	make_config(&cfg, 0);
	cfg.hooks_dir = hooks;
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(fs_mkdir_p(hooks, 0755), 0);
	assert_int_equal(fs_write_atomic(script, body, strlen(body), 0755, (uid_t)-1), 0);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, NULL, 4, NULL), 0);
	assert_int_equal(store_list(s, &items, &n), 0);
	store_close(s);
	assert_int_equal(state_hooks_owed_save(&cfg, ADENROLL_MODE_MACHINE, &h), 0);
	assert_int_equal(hooks_run_owed(&cfg, ADENROLL_MODE_MACHINE, items, n), 0);
	assert_int_equal(fs_read_file(log, 4096, &text, NULL), 0);
	{
		char *want = xasprintf("enrolled|Machine|51|%s/certs/Machine.crt\n", tmpdir);

		assert_string_equal((char *)text, want);
		free(want);
	}
	free(text);
	assert_int_equal(state_hooks_owed_list(&cfg, ADENROLL_MODE_MACHINE, &v, &nv), 0);
	assert_int_equal(nv, 0);
	/* again: nothing owed, nothing runs */
	assert_int_equal(hooks_run_owed(&cfg, ADENROLL_MODE_MACHINE, items, n), 0);
	/* owed for a certificate that never became live */
	h.serial = (char *)"99";
	assert_int_equal(state_hooks_owed_save(&cfg, ADENROLL_MODE_MACHINE, &h), 0);
	assert_int_equal(hooks_run_owed(&cfg, ADENROLL_MODE_MACHINE, items, n), 0);
	assert_int_equal(fs_read_file(log, 4096, &text, NULL), 0);
	assert_null(strstr((char *)text, "|99|"));
	free(text);
	assert_int_equal(state_hooks_owed_list(&cfg, ADENROLL_MODE_MACHINE, &v, &nv), 0);
	assert_int_equal(nv, 0);
	store_items_free(items, n);
	cfg.hooks_dir = NULL;
	free(hooks);
	free(script);
	free(log);
	free(body);
	pair_free(&a);
	free_config(&cfg);
}

/* ------------------------------------------------------------ state */

/* issue 16 finding 8: a kill inside state_pending_save leaves a temp copy
 * of the key; the next pulse's state_tidy removes it, but never a temp
 * whose writer still runs. */
static void test_state_tidy_removes_stale_temps(void **state)
{
	struct config cfg;
	pid_t dead = fork();
	char *pending = tpath("state/pending"), *stale, *alive, *mine, *other;
	int status;

	(void)state;
	if (dead == 0)
		_exit(0);
	assert_true(dead > 0);
	assert_int_equal(waitpid(dead, &status, 0), dead);
	make_config(&cfg, 0);
	assert_int_equal(fs_mkdir_p(pending, 0700), 0);
	stale = xasprintf("%s/.Machine-0123.key.tmp-%ld-0-1f2e", pending, (long)dead);
	alive = xasprintf("%s/.Machine-0123.key.tmp-1-0-1f2e", pending);   /* init runs */
	mine = xasprintf("%s/state/.last-run.tmp-%ld-3-ab", tmpdir, (long)getpid());
	other = xasprintf("%s/Machine-0123.key", pending);
	assert_int_equal(fs_write_atomic(stale, "KEY", 3, 0600, (uid_t)-1), 0);
	assert_int_equal(fs_write_atomic(alive, "KEY", 3, 0600, (uid_t)-1), 0);
	assert_int_equal(fs_write_atomic(mine, "x", 1, 0600, (uid_t)-1), 0);
	assert_int_equal(fs_write_atomic(other, "KEY", 3, 0600, (uid_t)-1), 0);
	state_tidy(&cfg, ADENROLL_MODE_MACHINE);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(alive, F_OK), 0);
	assert_int_equal(access(mine, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	free(pending);
	free(stale);
	free(alive);
	free(mine);
	free(other);
	free_config(&cfg);
}

static pid_t dead_pid(void)
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

/* The machine ccache's temp files (krb.c): exactly "<prefix><pid>" of a
 * process that is gone, a regular file; nothing else. */
static void test_remove_stale_pid_files(void **state)
{
	const char *prefix = ".machine.ccache.tmp-";
	pid_t dead = dead_pid(), dead2 = dead_pid();
	char *stale = xasprintf("%s/%s%ld", tmpdir, prefix, (long)dead);
	char *init = xasprintf("%s/%s1", tmpdir, prefix);
	char *mine = xasprintf("%s/%s%ld", tmpdir, prefix, (long)getpid());
	char *longer = xasprintf("%s/%s%ld-0-1f", tmpdir, prefix, (long)dead);
	char *zero = xasprintf("%s/%s0%ld", tmpdir, prefix, (long)dead);
	char *link = xasprintf("%s/%s%ld", tmpdir, prefix, (long)dead2);
	char *target = xasprintf("%s/target", tmpdir);
	const char *const keep[] = { init, mine, longer, zero, target };

	(void)state;
	assert_int_equal(fs_write_atomic(stale, "x", 1, 0600, (uid_t)-1), 0);
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		assert_int_equal(fs_write_atomic(keep[i], "x", 1, 0600, (uid_t)-1), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(fs_remove_stale_pid_files(tmpdir, prefix), 1);
	assert_int_equal(access(stale, F_OK), -1);
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		assert_int_equal(access(keep[i], F_OK), 0);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_int_equal(fs_remove_stale_pid_files(tmpdir, prefix), 0);
	char *missing = xasprintf("%s/missing", tmpdir);
	assert_int_equal(fs_remove_stale_pid_files(missing, prefix), 0);
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		unlink(keep[i]);
	unlink(link);
	free(missing);
	free(stale);
	free(init);
	free(mine);
	free(longer);
	free(zero);
	free(link);
	free(target);
}

static void test_pending_roundtrip(void **state)
{
	struct config cfg;
	struct pending_request pr = {
		.template_cn = (char *)"Web Server", .ca_name = (char *)"Test CA",
		.ca_host = (char *)"ca.example", .request_id = 42, .submitted = 1700000000,
	}, got, *list;
	EVP_PKEY *key = new_key(), *loaded = NULL;
	struct stat st;
	size_t n;

	(void)state;
	make_config(&cfg, 0);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, "Web Server", &got, NULL), 0);
	assert_int_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, key, "CSR\n"), 0);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, "Web Server", &got, &loaded), 1);
	assert_string_equal(got.template_cn, "Web Server");
	assert_string_equal(got.ca_name, "Test CA");
	assert_string_equal(got.ca_host, "ca.example");
	assert_int_equal(got.request_id, 42);
	assert_int_equal(got.submitted, 1700000000);
	assert_non_null(loaded);
	assert_int_equal(EVP_PKEY_eq(key, loaded), 1);
	assert_int_equal(stat(got.key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	state_pending_free(&got);
	/* "Web Server" and "Web_Server" never share files. */
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, "Web_Server", &got, NULL), 0);
	assert_int_equal(state_pending_list(&cfg, ADENROLL_MODE_MACHINE, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].template_cn, "Web Server");
	state_pending_list_free(list, n);
	assert_int_equal(state_pending_remove(&cfg, ADENROLL_MODE_MACHINE, "Web Server"), 0);
	assert_int_equal(state_pending_remove(&cfg, ADENROLL_MODE_MACHINE, "Web Server"), 0);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, "Web Server", &got, NULL), 0);
	EVP_PKEY_free(key);
	EVP_PKEY_free(loaded);
	free_config(&cfg);
}

/* issue 16 finding 3: a long non-ASCII cn (30 CJK characters, 90 bytes;
 * 270 once every byte is %XX-encoded) must still get its pending state, and
 * two such names that differ only at the end must not share files. */
static void test_pending_long_non_ascii_names(void **state)
{
	struct config cfg;
	char a[256] = "", b[256];
	struct pending_request pr = { .ca_name = (char *)"Test CA", .ca_host = (char *)"ca.example",
				      .submitted = 1700000000 }, got, *list;
	EVP_PKEY *key = new_key(), *loaded = NULL;
	size_t n, i;

	(void)state;
	make_config(&cfg, 0);
	for (i = 0; i < 30; i++)
		strcat(a, "\xe8\xaf\x81");   /* U+8BC1 */
	snprintf(b, sizeof(b), "%s", a);
	b[strlen(b) - 1] = '\x82';          /* the last character differs */
	pr.template_cn = a;
	pr.request_id = 7;
	assert_int_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, key, "CSR A\n"), 0);
	pr.template_cn = b;
	pr.request_id = 8;
	assert_int_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, key, "CSR B\n"), 0);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, a, &got, &loaded), 1);
	assert_string_equal(got.template_cn, a);
	assert_int_equal(got.request_id, 7);
	assert_non_null(loaded);
	assert_int_equal(EVP_PKEY_eq(key, loaded), 1);
	state_pending_free(&got);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, b, &got, NULL), 1);
	assert_int_equal(got.request_id, 8);
	state_pending_free(&got);
	assert_int_equal(state_pending_list(&cfg, ADENROLL_MODE_MACHINE, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_true((strcmp(list[0].template_cn, a) == 0 && strcmp(list[1].template_cn, b) == 0) ||
		    (strcmp(list[0].template_cn, b) == 0 && strcmp(list[1].template_cn, a) == 0));
	state_pending_list_free(list, n);
	assert_int_equal(state_pending_remove(&cfg, ADENROLL_MODE_MACHINE, a), 0);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, a, &got, NULL), 0);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, b, &got, NULL), 1);
	state_pending_free(&got);
	EVP_PKEY_free(key);
	EVP_PKEY_free(loaded);
	free_config(&cfg);
}

/* A request an earlier version recorded under the %XX name is still found,
 * polled with its key, listed, and removed. */
static void test_pending_recorded_by_earlier_version(void **state)
{
	struct config cfg;
	struct pending_request got, *list;
	EVP_PKEY *key = new_key(), *loaded = NULL;
	char *dir = tpath("state/pending"), *req = xasprintf("%s/Web%%20Server.req", dir);
	char *kp = xasprintf("%s/Web%%20Server.key", dir);
	const char *text = "template_cn=Web Server\nca_name=Test CA\nca_host=ca.example\nrequest_id=5\n"
			   "submitted=1700000000\n";
	FILE *f;
	size_t n;

	(void)state;
	make_config(&cfg, 0);
	assert_int_equal(fs_mkdir_p(dir, 0700), 0);
	assert_int_equal(fs_write_atomic(req, text, strlen(text), 0600, (uid_t)-1), 0);
	f = fopen(kp, "w");
	assert_non_null(f);
	assert_true(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, "Web Server", &got, &loaded), 1);
	assert_int_equal(got.request_id, 5);
	assert_string_equal(got.key_path, kp);
	assert_int_equal(EVP_PKEY_eq(key, loaded), 1);
	state_pending_free(&got);
	assert_int_equal(state_pending_list(&cfg, ADENROLL_MODE_MACHINE, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].key_path, kp);
	state_pending_list_free(list, n);
	assert_int_equal(state_pending_remove(&cfg, ADENROLL_MODE_MACHINE, "Web Server"), 0);
	assert_int_equal(access(req, F_OK), -1);
	assert_int_equal(access(kp, F_OK), -1);
	EVP_PKEY_free(key);
	EVP_PKEY_free(loaded);
	free(dir);
	free(req);
	free(kp);
	free_config(&cfg);
}

static void test_last_run_roundtrip(void **state)
{
	struct config cfg;
	struct last_run r = { .finished = 1700000000, .exit_code = 3, .enrolled = 1, .renewed = 2,
			      .pending = 0, .failed = 1 }, got;

	(void)state;
	make_config(&cfg, 0);
	assert_int_equal(state_last_run_load(&cfg, ADENROLL_MODE_MACHINE, &got), 0);
	assert_int_equal(state_last_run_save(&cfg, ADENROLL_MODE_MACHINE, &r), 0);
	assert_int_equal(state_last_run_load(&cfg, ADENROLL_MODE_MACHINE, &got), 1);
	assert_int_equal(got.finished, r.finished);
	assert_int_equal(got.exit_code, 3);
	assert_int_equal(got.enrolled, 1);
	assert_int_equal(got.renewed, 2);
	assert_int_equal(got.pending, 0);
	assert_int_equal(got.failed, 1);
	free_config(&cfg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Runs cmd_forget with stdout in a file; returns its exit status, *text the output. */
static int run_forget(const struct cli_options *opt, struct config *cfg, const char *cn, unsigned char **text)
{
	char *out = tpath("forget.out");
	char *argv[] = { (char *)cn, NULL };
	int saved, fd, ret;

	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 1);
	close(fd);
	ret = cmd_forget(opt, cfg, 1, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(fs_read_file(out, 1u << 20, text, NULL), 0);
	free(out);
	return ret;
}

/* forget: the pair goes to the archive (with its key) and out of the index,
 * the pending request of another template stays until that one is
 * forgotten too; then the anchor files adenroll wrote (and only those) go. */
static void test_forget_archives_drops_pending_and_anchors(void **state)
{
	struct config cfg;
	struct store *s;
	struct template t;
	struct pair a = new_pair(OID_MACHINE, 2, 0x4242);
	struct pending_request pr = { .template_cn = (char *)"User", .ca_name = (char *)"Test CA",
				      .request_id = 9, .submitted = 1700000000 }, got;
	struct store_item *items;
	struct cli_options opt;
	unsigned char *text;
	char *anchors = tpath("anchors"), *mine = tpath("anchors/adenroll-root.crt");
	char *theirs = tpath("anchors/other.crt"), *manifest = tpath("state/anchors.manifest");
	char *mtext;
	size_t n;

	(void)state;
	make_config(&cfg, 0);
	cfg.anchors_dir = anchors;
	make_template(&t, "Machine", OID_MACHINE, 2);
	assert_int_equal(store_open(&cfg, ADENROLL_MODE_MACHINE, &s), 0);
	assert_int_equal(store_install(s, &t, a.key, a.cert, NULL, "Test CA", 5, NULL), 0);
	assert_int_equal(state_pending_save(&cfg, ADENROLL_MODE_MACHINE, &pr, a.key, NULL), 0);
	assert_int_equal(fs_mkdir_p(anchors, 0755), 0);
	assert_int_equal(fs_write_atomic(mine, "x", 1, 0644, (uid_t)-1), 0);
	assert_int_equal(fs_write_atomic(theirs, "y", 1, 0644, (uid_t)-1), 0);
	mtext = xasprintf("# files adenroll wrote\n%s\n", mine);
	assert_int_equal(fs_write_atomic(manifest, mtext, strlen(mtext), 0644, (uid_t)-1), 0);
	free(mtext);
	memset(&opt, 0, sizeof(opt));

	/* Not managed: an error, nothing touched. */
	opt.json = true;
	assert_int_equal(run_forget(&opt, &cfg, "Nothing", &text), ADENROLL_EXIT_FAILURE);
	assert_non_null(strstr((char *)text, "\"code\":\"not_managed\""));
	free(text);
	/* --dry-run changes nothing. */
	opt.dry_run = true;
	assert_int_equal(run_forget(&opt, &cfg, "machine", &text), ADENROLL_EXIT_OK);
	free(text);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 1);
	store_items_free(items, n);
	opt.dry_run = false;

	assert_int_equal(run_forget(&opt, &cfg, "machine", &text), ADENROLL_EXIT_OK);
	assert_non_null(strstr((char *)text, "\"template\":\"Machine\""));
	assert_non_null(strstr((char *)text, "\"certificate_archived\":true"));
	assert_non_null(strstr((char *)text, "\"anchors_removed\":0"));
	free(text);
	assert_int_equal(store_list(s, &items, &n), 0);
	assert_int_equal(n, 0);
	assert_true(archive_holds("Machine", a.cert));
	/* The pending request of "User" keeps the anchors. */
	assert_int_equal(access(mine, F_OK), 0);

	assert_int_equal(run_forget(&opt, &cfg, "User", &text), ADENROLL_EXIT_OK);
	assert_non_null(strstr((char *)text, "\"request_id\":9"));
	assert_non_null(strstr((char *)text, "\"anchors_removed\":1"));
	free(text);
	assert_int_equal(state_pending_load(&cfg, ADENROLL_MODE_MACHINE, "User", &got, NULL), 0);
	assert_int_equal(access(mine, F_OK), -1);
	assert_int_equal(access(theirs, F_OK), 0);   /* not adenroll's: stays */
	store_close(s);
	free(mine);
	free(theirs);
	free(manifest);
	free(anchors);
	cfg.anchors_dir = NULL;
	pair_free(&a);
	free_config(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_atomic_sets_exact_mode_and_content),
		T(test_write_atomic_replaces_symlink_never_follows),
		T(test_write_atomic_failure_leaves_no_temp_and_keeps_target),
		T(test_write_atomic_ignores_planted_temp_names),
		T(test_mkdir_p_and_read_limits),
		T(test_install_list_find),
		T(test_install_applies_owner_group_mode),
		T(test_replace_archives_previous_pair),
		T(test_user_mode_directories_are_private),
		T(test_unsafe_template_names_get_safe_files),
		T(test_long_non_ascii_template_names_fit),
		T(test_archive_retention),
		T(test_retire_archives_and_unmanages),
		T(test_preexisting_file_is_archived_not_overwritten),
		T(test_reader_never_sees_mixed_pair),
		T(test_sigkill_at_each_install_step),
		T(test_find_held_superseded_and_decide),
		T(test_status_json_offline),
		T(test_forget_archives_drops_pending_and_anchors),
		T(test_pending_roundtrip),
		T(test_pending_long_non_ascii_names),
		T(test_pending_recorded_by_earlier_version),
		T(test_held_key_read_without_following_symlinks),
		T(test_archive_pruning_never_follows_symlinks),
		T(test_untrusted_directories_are_refused),
		T(test_owed_hooks_run_once_when_live),
		T(test_state_tidy_removes_stale_temps),
		T(test_remove_stale_pid_files),
		T(test_last_run_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
