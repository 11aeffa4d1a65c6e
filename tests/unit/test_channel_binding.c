/* RFC 5929 tls-server-end-point: the hash follows the certificate's
 * signature algorithm (RSASSA-PSS: its parameters), MD5 and SHA-1 become
 * SHA-256, and Ed25519 has no binding.  Each expected value is computed here
 * from the DER with the hash the table names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "channel_binding.h"

static EVP_PKEY *rsa_key, *ec_key, *ed_key;

static int setup(void **state)
{
	(void)state;
	rsa_key = EVP_RSA_gen(2048);
	ec_key = EVP_EC_gen("P-384");
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return rsa_key && ec_key && ed_key ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ed_key);
	return 0;
}

/* A self-signed certificate; pss_md: sign with RSASSA-PSS over that hash. */
static X509 *make_cert(EVP_PKEY *key, const EVP_MD *md, const EVP_MD *pss_md)
{
	X509 *c = X509_new();
	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 42);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"ca.example.test", -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(c));
	X509_set_pubkey(c, key);
	if (pss_md) {
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;
		assert_int_equal(EVP_DigestSignInit(mctx, &pctx, pss_md, NULL, key), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
		assert_true(X509_sign_ctx(c, mctx) > 0);
		EVP_MD_CTX_free(mctx);
	} else {
		assert_true(X509_sign(c, key, md) > 0);
	}
	return c;
}

static void expect_binding(X509 *c, const EVP_MD *want_md, const char *want_name)
{
	struct channel_binding cb;
	char err[256];
	assert_int_equal(channel_binding_from_cert(c, &cb, err, sizeof err), CHANNEL_BINDING_OK);
	unsigned char *der = NULL;
	int dlen = i2d_X509(c, &der);
	assert_true(dlen > 0);
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned int wlen = 0;
	assert_int_equal(EVP_Digest(der, (size_t)dlen, want, &wlen, want_md, NULL), 1);
	OPENSSL_free(der);
	const size_t plen = strlen("tls-server-end-point:");
	assert_int_equal(cb.len, plen + wlen);
	assert_memory_equal(cb.data, "tls-server-end-point:", plen);
	assert_memory_equal(cb.data + plen, want, wlen);
	assert_string_equal(cb.hash_name, want_name);
}

static void test_rsa_pkcs1(void **state)
{
	(void)state;
	const struct {
		const EVP_MD *(*sign)(void);
		const EVP_MD *(*bind)(void);
		const char *name;
	} cases[] = {
		{ EVP_sha256, EVP_sha256, "SHA256" },
		{ EVP_sha384, EVP_sha384, "SHA384" },
		{ EVP_sha512, EVP_sha512, "SHA512" },
		/* RFC 5929 4.1: MD5 and SHA-1 are replaced by SHA-256 */
		{ EVP_sha1, EVP_sha256, "SHA256" },
		{ EVP_md5, EVP_sha256, "SHA256" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		X509 *c = make_cert(rsa_key, cases[i].sign(), NULL);
		expect_binding(c, cases[i].bind(), cases[i].name);
		X509_free(c);
	}
}

static void test_rsa_pss(void **state)
{
	(void)state;
	/* the hash is in the PSS parameters, not in the algorithm OID */
	X509 *c = make_cert(rsa_key, NULL, EVP_sha384());
	expect_binding(c, EVP_sha384(), "SHA384");
	X509_free(c);
	c = make_cert(rsa_key, NULL, EVP_sha512());
	expect_binding(c, EVP_sha512(), "SHA512");
	X509_free(c);
	c = make_cert(rsa_key, NULL, EVP_sha256());
	expect_binding(c, EVP_sha256(), "SHA256");
	X509_free(c);
}

static void test_ecdsa(void **state)
{
	(void)state;
	X509 *c = make_cert(ec_key, EVP_sha384(), NULL);
	expect_binding(c, EVP_sha384(), "SHA384");
	X509_free(c);
	c = make_cert(ec_key, EVP_sha256(), NULL);
	expect_binding(c, EVP_sha256(), "SHA256");
	X509_free(c);
}

static void test_ed25519_has_none(void **state)
{
	(void)state;
	X509 *c = make_cert(ed_key, NULL, NULL);
	struct channel_binding cb;
	char err[256];
	assert_int_equal(channel_binding_from_cert(c, &cb, err, sizeof err), CHANNEL_BINDING_UNDEFINED);
	assert_int_equal(cb.len, 0);
	assert_non_null(strstr(err, "ED25519"));
	X509_free(c);
}

/* An outer signature algorithm OpenSSL does not know: an error that says
 * which, never a guessed hash. */
static void test_unknown_algorithm(void **state)
{
	(void)state;
	X509 *c = make_cert(rsa_key, EVP_sha256(), NULL);
	unsigned char *der = NULL;
	int dlen = i2d_X509(c, &der);
	X509_free(c);
	/* sha256WithRSAEncryption 1.2.840.113549.1.1.11; the last occurrence is
	 * the outer signatureAlgorithm: make it 1.2.840.113549.1.1.127 */
	static const unsigned char oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b };
	unsigned char *last = NULL;
	for (int i = 0; i + (int)sizeof oid <= dlen; i++)
		if (memcmp(der + i, oid, sizeof oid) == 0)
			last = der + i;
	assert_non_null(last);
	last[sizeof oid - 1] = 0x7f;
	const unsigned char *p = der;
	c = d2i_X509(NULL, &p, dlen);
	OPENSSL_free(der);
	assert_non_null(c);
	struct channel_binding cb;
	char err[256];
	assert_int_equal(channel_binding_from_cert(c, &cb, err, sizeof err), CHANNEL_BINDING_ERROR);
	assert_non_null(strstr(err, "1.2.840.113549.1.1.127"));
	assert_int_equal(cb.len, 0);
	X509_free(c);
	assert_int_equal(channel_binding_from_cert(NULL, &cb, NULL, 0), CHANNEL_BINDING_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_pkcs1),
		cmocka_unit_test(test_rsa_pss),
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_ed25519_has_none),
		cmocka_unit_test(test_unknown_algorithm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
