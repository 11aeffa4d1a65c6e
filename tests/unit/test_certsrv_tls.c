/* certsrv.c against a local TLS server (a forked child): the server's
 * certificate must chain to a CA we were given, never to the system store
 * (Samba CVE-2026-3012), the host name must match, answers over 1 MiB and
 * answers slower than the timeout are refused with a clear message. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "certsrv.h"
#include "util.h"

enum mode { MODE_CERT, MODE_HUGE, MODE_SLOW, MODE_401 };

struct pki {
	EVP_PKEY *ca_key, *srv_key, *other_key;
	X509 *ca, *other_ca, *srv_localhost, *srv_wrongname;
	/* a root that is NOT published as a root, an
	 * intermediate it issued (published in AIA), a server cert from that
	 * intermediate; and an intermediate under the published root */
	EVP_PKEY *hidden_key, *inter_key, *good_inter_key;
	X509 *hidden_root, *inter, *srv_via_inter, *good_inter, *srv_via_good_inter;
};
static struct pki pki;

static X509 *make(const char *cn, const char *dns, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	static long serial = 100;
	X509 *c = X509_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
				   -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c));
	X509_set_pubkey(c, key);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : c, c, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
						dns ? "critical,CA:FALSE" : "critical,CA:TRUE");
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	if (dns) {
		char san[128];
		snprintf(san, sizeof san, "DNS:%s", dns);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		X509_add_ext(c, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(c, ikey ? ikey : key, EVP_sha256()) > 0);
	return c;
}

static int setup(void **state)
{
	(void)state;
	pki.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.srv_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.ca = make("Test Issuing CA", NULL, pki.ca_key, NULL, NULL);
	pki.other_ca = make("Some Other CA", NULL, pki.other_key, NULL, NULL);
	pki.srv_localhost = make("localhost", "localhost", pki.srv_key, pki.ca, pki.ca_key);
	pki.srv_wrongname = make("ca.example.test", "ca.example.test", pki.srv_key, pki.ca, pki.ca_key);
	pki.hidden_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.inter_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.good_inter_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	pki.hidden_root = make("Unpublished Root", NULL, pki.hidden_key, NULL, NULL);
	pki.inter = make("Cross Intermediate", NULL, pki.inter_key, pki.hidden_root, pki.hidden_key);
	pki.srv_via_inter = make("localhost", "localhost", pki.srv_key, pki.inter, pki.inter_key);
	pki.good_inter = make("Issuing Intermediate", NULL, pki.good_inter_key, pki.ca, pki.ca_key);
	pki.srv_via_good_inter = make("localhost", "localhost", pki.srv_key, pki.good_inter, pki.good_inter_key);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(pki.ca);
	X509_free(pki.other_ca);
	X509_free(pki.srv_localhost);
	X509_free(pki.srv_wrongname);
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.srv_key);
	EVP_PKEY_free(pki.other_key);
	X509_free(pki.hidden_root);
	X509_free(pki.inter);
	X509_free(pki.srv_via_inter);
	X509_free(pki.good_inter);
	X509_free(pki.srv_via_good_inter);
	EVP_PKEY_free(pki.hidden_key);
	EVP_PKEY_free(pki.inter_key);
	EVP_PKEY_free(pki.good_inter_key);
	return 0;
}

struct server {
	pid_t pid;
	int port;
};

static void serve_one(SSL *ssl, enum mode mode)
{
	char req[8192];
	size_t n = 0;
	while (n < sizeof req - 1) {
		int r = SSL_read(ssl, req + n, (int)(sizeof req - 1 - n));
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (mode == MODE_SLOW) {
		sleep(10);
		return;
	}
	char head[256];
	if (mode == MODE_401) {
		const char *a = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nContent-Type: text/html\r\n"
				"Content-Length: 12\r\nConnection: close\r\n\r\n401 - denied";
		SSL_write(ssl, a, (int)strlen(a));
		return;
	}
	if (mode == MODE_HUGE) {
		size_t total = 3u * 1024 * 1024;
		snprintf(head, sizeof head,
			 "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n");
		SSL_write(ssl, head, (int)strlen(head));
		char chunk[16384];
		memset(chunk, 'x', sizeof chunk);
		for (size_t sent = 0; sent < total; sent += sizeof chunk)
			if (SSL_write(ssl, chunk, sizeof chunk) <= 0)
				return;
		return;
	}
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, pki.ca);
	char *pem;
	long plen = BIO_get_mem_data(b, &pem);
	snprintf(head, sizeof head,
		 "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: %ld\r\n"
		 "Connection: close\r\n\r\n", plen);
	SSL_write(ssl, head, (int)strlen(head));
	SSL_write(ssl, pem, (int)plen);
	BIO_free(b);
}

static struct server start_server(X509 *cert, enum mode mode)
{
	struct server s = { -1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 8), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	s.port = ntohs(a.sin_port);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pki.srv_key), 1);
	fflush(NULL);
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0) {
		for (;;) {
			int c = accept(fd, NULL, NULL);
			if (c < 0)
				_exit(0);
			SSL *ssl = SSL_new(ctx);
			SSL_set_fd(ssl, c);
			if (SSL_accept(ssl) == 1)
				serve_one(ssl, mode);
			SSL_shutdown(ssl);
			SSL_free(ssl);
			close(c);
		}
	}
	SSL_CTX_free(ctx);
	close(fd);
	return s;
}

static void stop_server(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
}

static struct certsrv_client *client_for(const struct server *s, X509 *trust, long timeout)
{
	struct bloblist l = { NULL, 0 };
	struct blob der;
	assert_int_equal(cert_to_der(trust, &der), 0);
	bloblist_add(&l, der.data, der.len);
	free(der.data);
	char host[64];
	snprintf(host, sizeof host, "localhost:%d", s->port);
	struct certsrv_client *c = certsrv_client_new(host, &l, NULL, timeout);
	bloblist_free(&l);
	assert_non_null(c);
	return c;
}

static void test_trusted_server(void **state)
{
	(void)state;
	struct server s = start_server(pki.srv_localhost, MODE_CERT);
	struct certsrv_client *c = client_for(&s, pki.ca, 10);
	struct certsrv_result r;
	struct certsrv_stats before, after;
	char *pem = NULL;
	certsrv_get_stats(&before);
	assert_int_equal(certsrv_retrieve(c, 7, &r, &pem), 0);
	certsrv_get_stats(&after);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
	assert_int_equal(r.request_id, 7);
	assert_non_null(pem);
	X509 *x = cert_from_buffer(pem, strlen(pem));
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, pki.ca), 0);
	assert_int_equal(after.requests, before.requests + 1);
	assert_true(after.bytes_in > before.bytes_in);
	X509_free(x);
	free(pem);
	certsrv_client_free(c);
	stop_server(&s);
}

static void test_untrusted_server_ignores_system_store(void **state)
{
	(void)state;
	/* OpenSSL's default store (SSL_CERT_FILE) and curl's bundle variable
	 * both name the server's CA: only the CA we pass may count. */
	char path[] = "/tmp/adenroll-test-ca-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	PEM_write_X509(f, pki.ca);
	fclose(f);
	setenv("SSL_CERT_FILE", path, 1);
	setenv("CURL_CA_BUNDLE", path, 1);

	struct server s = start_server(pki.srv_localhost, MODE_CERT);
	struct certsrv_client *c = client_for(&s, pki.other_ca, 10);
	struct certsrv_result r;
	char *pem = NULL;
	assert_int_equal(certsrv_retrieve(c, 7, &r, &pem), -1);
	assert_null(pem);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_non_null(strstr(r.message, "TLS verification of localhost"));
	certsrv_client_free(c);
	stop_server(&s);
	unsetenv("SSL_CERT_FILE");
	unsetenv("CURL_CA_BUNDLE");
	unlink(path);
}

static void test_wrong_host_name(void **state)
{
	(void)state;
	struct server s = start_server(pki.srv_wrongname, MODE_CERT);
	struct certsrv_client *c = client_for(&s, pki.ca, 10);
	struct certsrv_result r;
	char *pem = NULL;
	assert_int_equal(certsrv_retrieve(c, 7, &r, &pem), -1);
	assert_non_null(strstr(r.message, "TLS verification"));
	certsrv_client_free(c);
	stop_server(&s);
}

static void test_huge_answer(void **state)
{
	(void)state;
	struct server s = start_server(pki.srv_localhost, MODE_HUGE);
	struct certsrv_client *c = client_for(&s, pki.ca, 10);
	struct certsrv_result r;
	char *pem = NULL;
	assert_int_equal(certsrv_submit(c, "-----BEGIN CERTIFICATE REQUEST-----\n", "T", &r, &pem), -1);
	assert_null(pem);
	assert_non_null(strstr(r.message, "larger than 1048576 bytes"));
	certsrv_client_free(c);
	stop_server(&s);
}

static void test_timeout(void **state)
{
	(void)state;
	struct server s = start_server(pki.srv_localhost, MODE_SLOW);
	struct certsrv_client *c = client_for(&s, pki.ca, 2);
	struct certsrv_result r;
	char *pem = NULL;
	time_t t0 = time(NULL);
	assert_int_equal(certsrv_retrieve(c, 7, &r, &pem), -1);
	assert_true(time(NULL) - t0 <= 6);
	assert_non_null(strstr(r.message, "within 2 s"));
	certsrv_client_free(c);
	stop_server(&s);
}

static void test_unauthorized(void **state)
{
	(void)state;
	/* No Kerberos ticket can be had for HTTP/localhost here: the 401 stays. */
	setenv("KRB5CCNAME", "MEMORY:adenroll-test-empty", 1);
	struct server s = start_server(pki.srv_localhost, MODE_401);
	struct certsrv_client *c = client_for(&s, pki.ca, 10);
	struct certsrv_result r;
	char *pem = NULL;
	assert_int_equal(certsrv_submit(c, "csr", "LinuxWorkstation", &r, &pem), -1);
	assert_int_equal(r.disposition, CERTSRV_UNAUTHORIZED);
	assert_int_equal(r.http_status, 401);
	assert_non_null(strstr(r.message, "HTTP 401 from localhost"));
	assert_non_null(strstr(r.message, "Kerberos"));
	/* the 401 offered Negotiate, but GSS-API could make no token: its reason */
	assert_non_null(strstr(r.message, "no Kerberos token to answer it: cannot get a Kerberos ticket for HTTP/localhost"));
	certsrv_client_free(c);
	stop_server(&s);
	unsetenv("KRB5CCNAME");
}

/* Issue 16, finding 7: the directory publishes pki.ca as its root (CN=Certification
 * Authorities) and, in AIA, an intermediate whose own root is not published.
 * A server certificate issued by that intermediate must be refused: only the
 * roots are anchors, intermediates are untrusted chain material (libcurl's
 * partial-chain default made every given certificate an anchor). */
static void add_der(struct bloblist *l, X509 *x)
{
	struct blob der;
	assert_int_equal(cert_to_der(x, &der), 0);
	bloblist_add(l, der.data, der.len);
	free(der.data);
}

static int retrieve_with(X509 *server_cert, X509 *root, X509 *intermediate, struct certsrv_result *r)
{
	struct server s = start_server(server_cert, MODE_CERT);
	struct bloblist roots = { NULL, 0 }, inter = { NULL, 0 };
	char host[64], *pem = NULL;
	add_der(&roots, root);
	add_der(&inter, intermediate);
	snprintf(host, sizeof host, "localhost:%d", s.port);
	struct certsrv_client *c = certsrv_client_new(host, &roots, &inter, 10);
	assert_non_null(c);
	int rc = certsrv_retrieve(c, 7, r, &pem);
	free(pem);
	certsrv_client_free(c);
	bloblist_free(&roots);
	bloblist_free(&inter);
	stop_server(&s);
	return rc;
}

static void test_intermediate_is_not_an_anchor(void **state)
{
	struct certsrv_result r;
	(void)state;
	/* the server sends only its own certificate; the intermediate comes
	 * from the directory (AIA), its root is not a published root */
	assert_int_equal(retrieve_with(pki.srv_via_inter, pki.ca, pki.inter, &r), -1);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_non_null(strstr(r.message, "TLS verification of localhost"));
	/* nor is an intermediate that is listed among the roots (no partial
	 * chain); its real root is, which shows the setup itself works */
	assert_int_equal(retrieve_with(pki.srv_via_inter, pki.inter, pki.ca, &r), -1);
	assert_int_equal(retrieve_with(pki.srv_via_inter, pki.hidden_root, pki.inter, &r), 0);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
}

static void test_intermediate_completes_the_chain(void **state)
{
	struct certsrv_result r;
	(void)state;
	/* an intermediate under a published root, from the directory only
	 * (the server does not send it): the chain is complete, accepted */
	assert_int_equal(retrieve_with(pki.srv_via_good_inter, pki.ca, pki.good_inter, &r), 0);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
	/* without it the chain cannot be built */
	assert_int_equal(retrieve_with(pki.srv_via_good_inter, pki.ca, pki.other_ca, &r), -1);
}

static void test_client_args(void **state)
{
	(void)state;
	struct bloblist none = { NULL, 0 };
	struct bloblist one = { NULL, 0 };
	bloblist_add(&one, "x", 1);
	assert_null(certsrv_client_new("ca.example.test", &none, NULL, 5));
	assert_null(certsrv_client_new("ca.example.test/evil", &one, NULL, 5));
	assert_null(certsrv_client_new("user@ca.example.test", &one, NULL, 5));
	bloblist_free(&one);
	struct certsrv_library_info li;
	certsrv_library_info(&li);
	assert_true(li.curl_version[0] != '\0');
	assert_true(li.openssl);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trusted_server),
		cmocka_unit_test(test_untrusted_server_ignores_system_store),
		cmocka_unit_test(test_wrong_host_name),
		cmocka_unit_test(test_huge_answer),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_client_args),
		cmocka_unit_test(test_intermediate_is_not_an_anchor),
		cmocka_unit_test(test_intermediate_completes_the_chain),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
