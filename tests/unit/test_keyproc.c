/* The key process (keyproc.h): its wire (bounded frames, malformed requests
 * answered with an error), and a forked key process doing a request, an
 * install, a renewal signed with the held key and a pending record while
 * the calling process never holds a key (it aborts if it tries). */
#include "adenroll-build.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cert.h"
#include "config.h"
#include "csr.h"
#include "directory.h"
#include "keyproc.h"
#include "state.h"
#include "store.h"
#include "template.h"
#include "util.h"

static char *tmpdir;
static struct config test_cfg;

static int setup(void **state)
{
	char tpl[] = "/tmp/adenroll-keyproc-XXXXXX";

	(void)state;
	tmpdir = xstrdup(mkdtemp(tpl));
	return tmpdir[0] == '/' ? 0 : -1;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	keyproc_stop();
	keyproc_serve_reset();
	config_free(&test_cfg);
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	free(tmpdir);
	return 0;
}

/* ---------------------------------------------------------------- frames */

static void test_frame_round_trip_and_bounds(void **state)
{
	int sv[2];
	unsigned char *buf;
	size_t len;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(keyproc_frame_write(sv[0], (const unsigned char *)"hello", 5), 0);
	assert_int_equal(keyproc_frame_read(sv[1], &buf, &len), 1);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	free(buf);

	/* a writer never sends an empty or oversized frame */
	assert_int_equal(keyproc_frame_write(sv[0], (const unsigned char *)"", 0), -1);
	assert_int_equal(keyproc_frame_write(sv[0], (const unsigned char *)"x", KEYPROC_MAX_FRAME + 1), -1);

	/* a reader refuses them without allocating or waiting for the body */
	const unsigned char zero[4] = { 0, 0, 0, 0 }, huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	assert_int_equal(write(sv[0], zero, 4), 4);
	assert_int_equal(keyproc_frame_read(sv[1], &buf, &len), -1);
	assert_null(buf);
	assert_int_equal(write(sv[0], huge, 4), 4);
	assert_int_equal(keyproc_frame_read(sv[1], &buf, &len), -1);
	assert_null(buf);

	/* a frame cut short by the end of the stream */
	const unsigned char cut[6] = { 0, 0, 0, 9, 'a', 'b' };
	assert_int_equal(write(sv[0], cut, 6), 6);
	close(sv[0]);
	assert_int_equal(keyproc_frame_read(sv[1], &buf, &len), -1);
	assert_null(buf);
	/* and a clean end of stream */
	assert_int_equal(keyproc_frame_read(sv[1], &buf, &len), 0);
	close(sv[1]);
}

/* ------------------------------------------------- malformed requests, served */

struct msg {
	unsigned char v[8192];
	size_t n;
};

static void m_raw(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof m->v);
	memcpy(m->v + m->n, p, n);
	m->n += n;
}

static void m_len(struct msg *m, uint32_t n)
{
	unsigned char h[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			       (unsigned char)n };
	m_raw(m, h, 4);
}

static void m_text(struct msg *m, const char *s)
{
	m_len(m, (uint32_t)strlen(s));
	m_raw(m, s, strlen(s));
}

static void m_num(struct msg *m, int64_t v)
{
	unsigned char h[8];
	for (int i = 7; i >= 0; i--) {
		h[i] = (unsigned char)v;
		v = (int64_t)((uint64_t)v >> 8);
	}
	m_len(m, 8);
	m_raw(m, h, 8);
}

/* the template fields of the wire, for a P-256 template */
static void m_template(struct msg *m, const char *cn)
{
	m_text(m, cn);
	m_text(m, "1.3.6.1.4.1.311.21.8.1.2.3");
	m_text(m, "");
	m_num(m, TEMPLATE_KEY_EC_P256);
	for (int i = 0; i < 8; i++)
		m_num(m, 0);
	m_num(m, 1);
	m_num(m, 86400);
}

static void m_request(struct msg *m, const char *cn)
{
	m->n = 0;
	m_raw(m, "\x01", 1);
	m_template(m, cn);
	for (int i = 0; i < 5; i++)
		m_text(m, "");
	m_text(m, "client.example");
	m_text(m, "");   /* no held certificate */
	m_num(m, 0);
}

/* Parsed from a text, as a run's configuration is: the key process is
 * handed the text (config.h, source_texts). */
static void make_config(void)
{
	char err[512];
	char *text = xasprintf("[store]\ntypes = pem\npem_dir = %s/certs\narchive_dir = %s/archive\n"
			       "state_dir = %s/state\n", tmpdir, tmpdir, tmpdir);

	memset(&test_cfg, 0, sizeof test_cfg);
	assert_int_equal(config_parse_buffer("test_keyproc.conf", text, strlen(text), &test_cfg, err, sizeof err), 0);
	free(text);
	mkdir(test_cfg.pem_dir, 0755);
	mkdir(test_cfg.archive_dir, 0700);
	mkdir(test_cfg.state_dir, 0700);
}

/* The key process is a fresh image of adenroll, which this test is not. */
static void use_adenroll_binary(void)
{
	static char path[4096];
	const char *top = getenv("top_builddir");

	snprintf(path, sizeof path, "%s/adenroll", top && *top ? top : ".");
	if (access(path, X_OK) != 0)
		skip();
	keyproc_set_program(path);
}

/* 0 ok, 1 error (*why set, caller frees) */
static int serve(const struct msg *m, char **why)
{
	unsigned char *ans;
	size_t alen;
	keyproc_serve(&test_cfg, ADENROLL_MODE_MACHINE, m->v, m->n, &ans, &alen);
	assert_non_null(ans);
	assert_true(alen >= 1);
	int status = ans[0];
	*why = NULL;
	if (status == 1) {
		assert_true(alen >= 5);
		uint32_t n = ((uint32_t)ans[1] << 24) | ((uint32_t)ans[2] << 16) | ((uint32_t)ans[3] << 8) | ans[4];
		assert_int_equal(alen, 5 + n);
		*why = xstrndup((const char *)ans + 5, n);
	}
	free(ans);
	return status;
}

static void expect_error(const struct msg *m, const char *contains)
{
	char *why;
	assert_int_equal(serve(m, &why), 1);
	if (!strstr(why, contains))
		fail_msg("\"%s\" does not say \"%s\"", why, contains);
	free(why);
}

static void test_malformed_requests_get_errors(void **state)
{
	struct msg m = { .n = 0 };
	char *why;

	(void)state;
	make_config();
	expect_error(&m, "empty request");
	m_raw(&m, "\x63", 1);
	expect_error(&m, "unknown request 99");

	/* the well-formed request works: the malformed variants below differ from it only where they say */
	m_request(&m, "Machine");
	assert_int_equal(serve(&m, &why), 0);

	m_request(&m, "Machine");
	m.n -= 3;   /* the flags field cut short */
	expect_error(&m, "longer than the message");
	m_request(&m, "Machine");
	m.n -= 12;  /* the flags field gone entirely, its length cut */
	expect_error(&m, "cut short");
	m_request(&m, "Machine");
	m_raw(&m, "\0", 1);
	expect_error(&m, "bytes after the last field");

	m.n = 0;    /* a field length beyond the message */
	m_raw(&m, "\x01", 1);
	m_len(&m, 0xfffffff0u);
	expect_error(&m, "longer than the message");

	m.n = 0;    /* a NUL inside the template name */
	m_raw(&m, "\x01", 1);
	m_len(&m, 3);
	m_raw(&m, "a\0b", 3);
	expect_error(&m, "NUL");

	m.n = 0;    /* a number of the wrong width */
	m_raw(&m, "\x01", 1);
	m_text(&m, "Machine");
	m_text(&m, "");
	m_text(&m, "");
	m_len(&m, 4);
	m_raw(&m, "\0\0\0\1", 4);
	expect_error(&m, "not 8 bytes");

	m.n = 0;    /* an unknown key algorithm */
	m_raw(&m, "\x01", 1);
	m_text(&m, "Machine");
	m_text(&m, "");
	m_text(&m, "");
	m_num(&m, 77);
	expect_error(&m, "key algorithm");

	m.n = 0;    /* a held certificate that is not DER */
	m_raw(&m, "\x01", 1);
	m_template(&m, "Machine");
	for (int i = 0; i < 6; i++)
		m_text(&m, "");
	m_text(&m, "garbage");
	m_num(&m, 3);
	expect_error(&m, "does not parse");

	/* install: too long a chain, then no certificate at all */
	m.n = 0;
	m_raw(&m, "\x04", 1);
	m_template(&m, "Machine");
	m_text(&m, "");
	m_num(&m, 100000);
	expect_error(&m, "too many chain certificates");
	m.n = 0;
	m_raw(&m, "\x04", 1);
	m_template(&m, "Machine");
	m_text(&m, "");
	m_num(&m, 0);
	m_text(&m, "CA");
	m_num(&m, 1);
	m_text(&m, "dc.example");
	expect_error(&m, "no certificate");

	/* a pending record without a template name; then one with no key held */
	m.n = 0;
	m_raw(&m, "\x02", 1);
	m_text(&m, "");
	m_text(&m, "CA");
	m_text(&m, "ca.example");
	m_num(&m, 5);
	m_num(&m, 0);
	m_text(&m, "");   /* transport: web enrollment */
	m_text(&m, "");   /* endpoint */
	expect_error(&m, "no template name");
	keyproc_serve_reset();
	m.n = 0;
	m_raw(&m, "\x02", 1);
	m_text(&m, "Machine");
	m_text(&m, "CA");
	m_text(&m, "ca.example");
	m_num(&m, 5);
	m_num(&m, 0);
	m_text(&m, "");   /* transport: web enrollment */
	m_text(&m, "");   /* endpoint */
	expect_error(&m, "holds no key");
	/* and nothing was written */
	char *pend = xasprintf("%s/pending", test_cfg.state_dir);
	struct stat st;
	assert_int_not_equal(stat(pend, &st), 0);
	free(pend);
}

/* ----------------------------------------------- a forked key process at work */

static EVP_PKEY *ca_key;

/* A certificate for pub (the CA's side). */
static X509 *issue_for(EVP_PKEY *pub, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Test CA", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_subject_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_set_pubkey(x, pub);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

/* What a CA does with the request: a certificate for its public key. */
static X509 *issue(const char *csr_pem, long serial)
{
	BIO *b = BIO_new_mem_buf(csr_pem, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(req);
	X509 *x = issue_for(X509_REQ_get0_pubkey(req), serial);
	X509_REQ_free(req);
	return x;
}

static void make_template(struct template *t)
{
	memset(t, 0, sizeof *t);
	t->cn = "Machine";
	t->oid = "1.3.6.1.4.1.311.21.8.1.2.3";
	t->key_alg = TEMPLATE_KEY_EC_P256;
	t->major_version = 100;
	t->has_renewal = true;
	t->renewal_seconds = 7L * 86400;
}

static void key_of_file_hash(const char *path, char out[KEYPROC_HASH_HEX])
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	X509 *x = X509_new();
	X509_set_pubkey(x, k);
	assert_int_equal(keyproc_cert_pubkey_sha256(x, out), 0);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The key process of this run, from /proc (the test's only child then). */
static pid_t only_child(void)
{
	char *p = xasprintf("/proc/%ld/task/%ld/children", (long)getpid(), (long)getpid());
	FILE *f = fopen(p, "r");
	long pid = -1;
	free(p);
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

static void test_key_process(void **state)
{
	struct template t;
	struct account acct = { .dn = "CN=CLIENT,CN=Computers,DC=example", .sam_account_name = "CLIENT$",
				.dns_host_name = "client.example" };
	struct keyproc_made made, again;
	char err[512], hash[KEYPROC_HASH_HEX], *archived = NULL;

	(void)state;
	make_config();
	make_template(&t);
	ca_key = EVP_EC_gen("P-256");
	assert_non_null(ca_key);
	use_adenroll_binary();
	assert_int_equal(keyproc_start(&test_cfg, ADENROLL_MODE_MACHINE), 0);
	assert_true(keyproc_running());
	/* started by the first request, not before */
	assert_true(only_child() <= 0);

	/* this process is now the network side: making a key here aborts */
	pid_t pid = fork();
	if (pid == 0) {
		char e[64];
		signal(SIGABRT, SIG_DFL);
		csr_generate_key(&t, &test_cfg, e, sizeof e);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	/* a request: the key process makes key and PKCS#10, we get the hash */
	struct keyproc_request rq = { .t = &t, .acct = &acct, .host_fqdn = "client.example" };
	assert_int_equal(keyproc_make_request(&rq, &made, err, sizeof err), 0);
	assert_non_null(strstr(made.request, "BEGIN CERTIFICATE REQUEST"));
	assert_false(made.signed_by_held);
	X509 *cert = issue(made.request, 1);
	assert_int_equal(keyproc_cert_pubkey_sha256(cert, hash), 0);
	assert_string_equal(hash, made.pubkey_sha256);

	/* a certificate for another key is refused and nothing is stored */
	EVP_PKEY *other = EVP_EC_gen("P-256");
	X509 *wrong = issue_for(other, 9);
	assert_int_equal(keyproc_install(&t, wrong, NULL, "CA", 1, &archived, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not carry the key"));
	char *keylink = xasprintf("%s/Machine.key", test_cfg.pem_dir);
	struct stat st;
	assert_int_not_equal(lstat(keylink, &st), 0);

	/* the right one is installed by the key process, key 0600 */
	assert_int_equal(keyproc_install(&t, cert, NULL, "CA", 1, &archived, err, sizeof err), 0);
	assert_null(archived);
	assert_int_equal(stat(keylink, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	char fhash[KEYPROC_HASH_HEX];
	key_of_file_hash(keylink, fhash);
	assert_string_equal(fhash, made.pubkey_sha256);

	/* a renewal signed with the held key, keeping it: the same public key, CMS */
	struct keyproc_request rn = { .t = &t, .acct = &acct, .host_fqdn = "client.example", .held_cert = cert,
				      .sign_with_held = true, .keep_key = true };
	assert_int_equal(keyproc_make_request(&rn, &again, err, sizeof err), 0);
	assert_true(again.signed_by_held);
	assert_true(again.kept_key);
	assert_string_equal(again.note, "");
	assert_string_equal(again.pubkey_sha256, made.pubkey_sha256);
	assert_null(strstr(again.request, "BEGIN"));   /* base64 CMS without armour */
	free(again.request);

	/* signed but with a new key */
	rn.keep_key = false;
	assert_int_equal(keyproc_make_request(&rn, &again, err, sizeof err), 0);
	assert_true(again.signed_by_held);
	assert_false(again.kept_key);
	assert_string_not_equal(again.pubkey_sha256, made.pubkey_sha256);
	free(again.request);

	/* a new request that goes pending: recorded with its key by the key process */
	assert_int_equal(keyproc_make_request(&rq, &again, err, sizeof err), 0);
	struct pending_request pr = { .template_cn = "Machine", .ca_name = "CA", .ca_host = "ca.example",
				      .transport = "ces", .endpoint = "https://ca.example/CA_CES_Kerberos/service.svc/CES",
				      .request_id = 42, .submitted = 1000 };
	assert_int_equal(keyproc_save_pending(&pr, err, sizeof err), 0);
	char *pkey = xasprintf("%s/pending/Machine.key", test_cfg.state_dir);
	assert_int_equal(stat(pkey, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	key_of_file_hash(pkey, fhash);
	assert_string_equal(fhash, again.pubkey_sha256);
	struct pending_request back;
	assert_int_equal(state_pending_load(&test_cfg, ADENROLL_MODE_MACHINE, "Machine", &back, NULL), 1);
	assert_int_equal(back.request_id, 42);
	/* a CES request is polled where it was sent */
	assert_string_equal(back.transport, "ces");
	assert_string_equal(back.endpoint, "https://ca.example/CA_CES_Kerberos/service.svc/CES");
	state_pending_free(&back);

	/* a later run loads it: the same hash, and its certificate installs */
	assert_int_equal(keyproc_load_pending("Machine", hash, err, sizeof err), 0);
	assert_string_equal(hash, again.pubkey_sha256);
	X509 *cert2 = issue(again.request, 2);
	assert_int_equal(keyproc_install(&t, cert2, NULL, "CA", 42, &archived, err, sizeof err), 0);
	assert_non_null(archived);   /* the first pair went to the archive */
	free(archived);
	key_of_file_hash(keylink, fhash);
	assert_string_equal(fhash, again.pubkey_sha256);
	assert_int_equal(keyproc_load_pending("Nothing", hash, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot be read"));

	/* a held certificate the store does not have: a new request, and why */
	free(made.request);
	free(again.request);
	rn.held_cert = wrong;
	rn.keep_key = true;
	assert_int_equal(keyproc_make_request(&rn, &made, err, sizeof err), 0);
	assert_false(made.signed_by_held);
	assert_false(made.kept_key);
	assert_string_not_equal(made.note, "");

	/* a key process that is gone is an error, not a hang or a crash */
	keyproc_stop();
	assert_false(keyproc_running());
	assert_int_equal(keyproc_make_request(&rq, &again, err, sizeof err), -1);
	assert_non_null(strstr(err, "not running"));

	free(made.request);
	free(pkey);
	free(keylink);
	X509_free(cert);
	X509_free(cert2);
	X509_free(wrong);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ca_key);
}

/* A key process that dies mid-run (killed, out of memory) fails the request
 * cleanly, and no second one is started in that run (a crash may have been
 * provoked); the next run (after keyproc_stop) starts one again. */
static void test_key_process_lost(void **state)
{
	struct template t;
	struct keyproc_made made;
	char err[512];

	(void)state;
	make_config();
	make_template(&t);
	use_adenroll_binary();
	assert_int_equal(keyproc_start(&test_cfg, ADENROLL_MODE_MACHINE), 0);
	struct keyproc_request rq = { .t = &t, .host_fqdn = "client.example" };
	assert_int_equal(keyproc_make_request(&rq, &made, err, sizeof err), 0);
	free(made.request);
	pid_t child = only_child();
	assert_true(child > 0);
	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(keyproc_make_request(&rq, &made, err, sizeof err), -1);
	assert_non_null(strstr(err, "ended without answering"));
	assert_null(made.request);
	assert_false(keyproc_running());
	assert_int_equal(keyproc_start(&test_cfg, ADENROLL_MODE_MACHINE), -1);
	keyproc_stop();
	assert_int_equal(keyproc_start(&test_cfg, ADENROLL_MODE_MACHINE), 0);
	assert_int_equal(keyproc_make_request(&rq, &made, err, sizeof err), 0);
	free(made.request);
	keyproc_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_round_trip_and_bounds),
		cmocka_unit_test_setup_teardown(test_malformed_requests_get_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_process_lost, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
