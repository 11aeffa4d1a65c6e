/* Key choice, CSR subject/SAN per msPKI-Certificate-Name-Flag (docs/protocol.md 2.5),
 * template extensions 21.7 / 20.2 (docs/protocol.md 2.7), key match, chain checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "config.h"
#include "csr.h"
#include "directory.h"
#include "template.h"

/* ------------------------------------------------------------ fixtures */

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	return k;
}

static void add_raw_ext(X509 *c, const char *oid, const unsigned char *der, size_t len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	assert_non_null(obj);
	assert_non_null(os);
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)len), 1);
	X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(c, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

/* A certificate for subj_key, signed by issuer_key (self-signed when
 * issuer is NULL), valid from now+from_s to now+to_s. */
static X509 *make_cert(const char *cn, EVP_PKEY *subj_key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
		       long from_s, long to_s)
{
	static long serial = 1;
	X509 *c = X509_new();
	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
	X509_gmtime_adj(X509_getm_notBefore(c), from_s);
	X509_gmtime_adj(X509_getm_notAfter(c), to_s);
	X509_NAME *n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(c, subj_key);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : c, c, NULL, NULL, 0);
	X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
						 ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	assert_non_null(bc);
	X509_add_ext(c, bc, -1);
	X509_EXTENSION_free(bc);
	if (ca) {
		X509_EXTENSION *ku = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
		X509_add_ext(c, ku, -1);
		X509_EXTENSION_free(ku);
	}
	assert_true(X509_sign(c, issuer_key, EVP_sha256()) > 0);
	return c;
}

static struct blob der_of(X509 *c)
{
	struct blob b = { NULL, 0 };
	assert_int_equal(cert_to_der(c, &b), 0);
	return b;
}

static void bloblist_add_cert(struct bloblist *l, X509 *c)
{
	struct blob b = der_of(c);
	bloblist_add(l, b.data, b.len);
	free(b.data);
}

/* ------------------------------------------------------------ key choice */

static void test_key_bits(void **state)
{
	(void)state;
	struct template t;
	struct config cfg;
	memset(&t, 0, sizeof t);
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(csr_key_bits(&t, &cfg), 2048);       /* floor */
	t.minimal_key_size = 1024;
	assert_int_equal(csr_key_bits(&t, &cfg), 2048);       /* never below 2048 */
	t.minimal_key_size = 4096;
	assert_int_equal(csr_key_bits(&t, &cfg), 4096);       /* template minimum */
	cfg.min_rsa_bits = 3072;
	t.minimal_key_size = 2048;
	assert_int_equal(csr_key_bits(&t, &cfg), 3072);       /* site policy */
	t.key_alg = TEMPLATE_KEY_EC_P256;
	assert_int_equal(csr_key_bits(&t, &cfg), 0);
}

static void test_generate_rsa_sizes(void **state)
{
	(void)state;
	struct template t;
	struct config cfg;
	char err[256];
	memset(&t, 0, sizeof t);
	memset(&cfg, 0, sizeof cfg);
	t.cn = "Machine";
	EVP_PKEY *k = csr_generate_key(&t, &cfg, err, sizeof err);
	assert_non_null(k);
	assert_true(EVP_PKEY_is_a(k, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);
	t.minimal_key_size = 4096;
	k = csr_generate_key(&t, &cfg, err, sizeof err);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bits(k), 4096);
	EVP_PKEY_free(k);
	t.minimal_key_size = 100000;
	assert_null(csr_generate_key(&t, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "maximum"));
}

static void test_generate_ec(void **state)
{
	(void)state;
	struct template t;
	struct config cfg;
	char err[256], group[64];
	size_t glen;
	memset(&t, 0, sizeof t);
	memset(&cfg, 0, sizeof cfg);
	t.cn = "EcTemplate";
	t.key_alg = TEMPLATE_KEY_EC_P256;
	EVP_PKEY *k = csr_generate_key(&t, &cfg, err, sizeof err);
	assert_non_null(k);
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_int_equal(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen), 1);
	assert_string_equal(group, "prime256v1");
	EVP_PKEY_free(k);
	t.key_alg = TEMPLATE_KEY_EC_P384;
	k = csr_generate_key(&t, &cfg, err, sizeof err);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bits(k), 384);
	EVP_PKEY_free(k);
	t.key_alg = TEMPLATE_KEY_UNSUPPORTED;
	assert_null(csr_generate_key(&t, &cfg, err, sizeof err));
	assert_non_null(strstr(err, "EcTemplate"));
}

static void test_key_pem_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	char *pem = csr_key_to_pem(k);
	assert_non_null(pem);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	EVP_PKEY *k2 = csr_key_from_pem(pem, strlen(pem));
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k, k2), 1);
	assert_null(csr_key_from_pem("garbage", 7));
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ CSR */

static X509_REQ *parse_req(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(r);
	return r;
}

static char *subject_of(X509_REQ *r)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, X509_REQ_get_subject_name(r), 0, XN_FLAG_RFC2253);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = xstrndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

/* The SAN entries as "DNS:x", "email:x", "UPN:x" joined by ", ". */
static void sans_of(X509_REQ *r, char *out, size_t outlen)
{
	out[0] = '\0';
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(r);
	GENERAL_NAMES *g = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
	for (int i = 0; g && i < sk_GENERAL_NAME_num(g); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
		char one[256] = "";
		if (gn->type == GEN_DNS)
			snprintf(one, sizeof one, "DNS:%s", (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
		else if (gn->type == GEN_EMAIL)
			snprintf(one, sizeof one, "email:%s", (const char *)ASN1_STRING_get0_data(gn->d.rfc822Name));
		else if (gn->type == GEN_OTHERNAME) {
			char oid[64];
			OBJ_obj2txt(oid, sizeof oid, gn->d.otherName->type_id, 1);
			assert_string_equal(oid, "1.3.6.1.4.1.311.20.2.3");
			assert_int_equal(gn->d.otherName->value->type, V_ASN1_UTF8STRING);
			snprintf(one, sizeof one, "UPN:%s",
				 (const char *)ASN1_STRING_get0_data(gn->d.otherName->value->value.utf8string));
		}
		if (out[0])
			strncat(out, ", ", outlen - strlen(out) - 1);
		strncat(out, one, outlen - strlen(out) - 1);
	}
	GENERAL_NAMES_free(g);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void test_csr_machine(void **state)
{
	(void)state;
	struct template t;
	struct account a;
	char err[256], sans[512];
	memset(&t, 0, sizeof t);
	memset(&a, 0, sizeof a);
	t.cn = "Machine";
	t.name_flag = CT_NF_SAN_REQUIRE_DNS | CT_NF_SUBJECT_REQUIRE_DNS_AS_CN; /* 0x18000000 */
	a.dn = "CN=CLIENT,CN=Computers,DC=example,DC=test";
	a.sam_account_name = "CLIENT$";
	a.dns_host_name = "client.example.test";
	EVP_PKEY *k = ec_key();
	char *pem = NULL;
	assert_int_equal(csr_build(k, &t, &a, "host.example.test", ADENROLL_MODE_MACHINE, &pem, err, sizeof err), 0);
	X509_REQ *r = parse_req(pem);
	assert_int_equal(X509_REQ_verify(r, k), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(r), k), 1);
	char *s = subject_of(r);
	assert_string_equal(s, "CN=host.example.test"); /* the configured FQDN wins */
	free(s);
	sans_of(r, sans, sizeof sans);
	assert_string_equal(sans, "DNS:host.example.test");
	assert_int_equal(X509_REQ_get_signature_nid(r), NID_ecdsa_with_SHA256);
	X509_REQ_free(r);
	free(pem);

	/* No configured FQDN: the account's dNSHostName. */
	assert_int_equal(csr_build(k, &t, &a, NULL, ADENROLL_MODE_MACHINE, &pem, err, sizeof err), 0);
	r = parse_req(pem);
	s = subject_of(r);
	assert_string_equal(s, "CN=client.example.test");
	free(s);
	X509_REQ_free(r);
	free(pem);

	/* Neither: a clear error, nothing built. */
	a.dns_host_name = NULL;
	assert_int_equal(csr_build(k, &t, &a, NULL, ADENROLL_MODE_MACHINE, &pem, err, sizeof err), -1);
	assert_null(pem);
	assert_non_null(strstr(err, "dNSHostName"));
	EVP_PKEY_free(k);
}

static void test_csr_user_directory_path(void **state)
{
	(void)state;
	struct template t;
	struct account a;
	char err[256], sans[512];
	memset(&t, 0, sizeof t);
	memset(&a, 0, sizeof a);
	t.cn = "User";
	t.name_flag = 0xA6000000u; /* DirPath + email subject + UPN SAN + email SAN */
	a.dn = "CN=Alice Smith\\, Jr.,CN=Users,DC=example,DC=test";
	a.sam_account_name = "alice";
	a.user_principal_name = "alice@example.test";
	a.mail = "alice@example.test";
	EVP_PKEY *k = ec_key();
	char *pem = NULL;
	assert_int_equal(csr_build(k, &t, &a, "host.example.test", ADENROLL_MODE_USER, &pem, err, sizeof err), 0);
	X509_REQ *r = parse_req(pem);
	assert_int_equal(X509_REQ_verify(r, k), 1);
	char *s = subject_of(r);
	/* RFC 2253 prints the most specific RDN first: the DN round-trips. */
	assert_string_equal(s, "emailAddress=alice@example.test,CN=Alice Smith\\, Jr.,CN=Users,DC=example,DC=test");
	free(s);
	X509_NAME *n = X509_REQ_get_subject_name(r);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))), NID_domainComponent);
	sans_of(r, sans, sizeof sans);
	assert_string_equal(sans, "UPN:alice@example.test, email:alice@example.test");
	X509_REQ_free(r);
	free(pem);

	/* Flags without the AD value: the SAN entry is left out (the CA will
	 * answer with ..._REQUIRED), no DNS SAN in user mode. */
	a.mail = NULL;
	t.name_flag = CT_NF_SAN_REQUIRE_EMAIL | CT_NF_SAN_REQUIRE_UPN;
	assert_int_equal(csr_build(k, &t, &a, "host.example.test", ADENROLL_MODE_USER, &pem, err, sizeof err), 0);
	r = parse_req(pem);
	s = subject_of(r);
	assert_string_equal(s, "CN=alice");
	free(s);
	sans_of(r, sans, sizeof sans);
	assert_string_equal(sans, "UPN:alice@example.test");
	X509_REQ_free(r);
	free(pem);

	/* A DN we cannot represent is refused. */
	t.name_flag = CT_NF_SUBJECT_REQUIRE_DIRECTORY_PATH;
	a.dn = "NOSUCHATTR=x,DC=example";
	assert_int_equal(csr_build(k, &t, &a, NULL, ADENROLL_MODE_USER, &pem, err, sizeof err), -1);
	assert_non_null(strstr(err, "NOSUCHATTR"));
	EVP_PKEY_free(k);
}

static void test_csr_rsa_sha256(void **state)
{
	(void)state;
	struct template t;
	struct config cfg;
	struct account a;
	char err[256];
	memset(&t, 0, sizeof t);
	memset(&cfg, 0, sizeof cfg);
	memset(&a, 0, sizeof a);
	t.cn = "LinuxWorkstation";
	EVP_PKEY *k = csr_generate_key(&t, &cfg, err, sizeof err);
	assert_non_null(k);
	char *pem = NULL;
	assert_int_equal(csr_build(k, &t, &a, "c.example.test", ADENROLL_MODE_MACHINE, &pem, err, sizeof err), 0);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	X509_REQ *r = parse_req(pem);
	assert_int_equal(X509_REQ_get_signature_nid(r), NID_sha256WithRSAEncryption);
	assert_int_equal(X509_REQ_get_version(r), 0);
	X509_REQ_free(r);
	free(pem);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ template extensions */

static X509 *plain_cert(EVP_PKEY *k)
{
	return make_cert("leaf", k, NULL, k, false, 0, 3600);
}

static void test_ext_v2(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	/* SEQUENCE { OID 1.3.6.1.4.1.311.21.8.1.2, INTEGER 100, INTEGER 4 } */
	static const unsigned char v2[] = { 0x30, 0x12, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					    0x15, 0x08, 0x01, 0x02, 0x01, 0x64, 0x02, 0x01, 0x04 };
	X509 *c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.21.7", v2, sizeof v2);
	struct cert_template_info info;
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_string_equal(info.oid, "1.3.6.1.4.1.311.21.8.1");
	assert_true(info.has_major);
	assert_int_equal(info.major, 100);
	assert_true(info.has_minor);
	assert_int_equal(info.minor, 4);
	assert_null(info.name);
	cert_template_info_free(&info);

	struct template t;
	memset(&t, 0, sizeof t);
	t.cn = "Whatever";
	t.oid = "1.3.6.1.4.1.311.21.8.1";
	assert_true(cert_is_from_template(c, &t));
	t.oid = "1.3.6.1.4.1.311.21.8.2";
	assert_false(cert_is_from_template(c, &t));
	X509_free(c);

	/* OID only; a major version above 2^31 (unsigned 32-bit). */
	static const unsigned char v2b[] = { 0x30, 0x13, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					     0x15, 0x08, 0x05, 0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff };
	c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.21.7", v2b, sizeof v2b);
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_string_equal(info.oid, "1.3.6.1.4.1.311.21.8.5");
	assert_int_equal(info.major, 4294967295u);
	assert_false(info.has_minor);
	cert_template_info_free(&info);
	X509_free(c);

	/* Malformed: trailing garbage, negative integer, wrong outer tag. */
	static const unsigned char bad1[] = { 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					      0x15, 0x08, 0x05, 0x00 };
	static const unsigned char bad2[] = { 0x30, 0x0f, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					      0x15, 0x08, 0x05, 0x02, 0x01, 0x80 };
	static const unsigned char bad3[] = { 0x31, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					      0x15, 0x08, 0x05 };
	const unsigned char *bads[] = { bad1, bad2, bad3 };
	size_t badlen[] = { sizeof bad1, sizeof bad2, sizeof bad3 };
	for (size_t i = 0; i < 3; i++) {
		c = plain_cert(k);
		add_raw_ext(c, "1.3.6.1.4.1.311.21.7", bads[i], badlen[i]);
		assert_int_equal(cert_template_info(c, &info), -1);
		assert_null(info.oid);
		assert_false(cert_is_from_template(c, &t));
		X509_free(c);
	}
	EVP_PKEY_free(k);
}

static void test_ext_v1_name(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	struct template t;
	struct cert_template_info info;
	memset(&t, 0, sizeof t);

	/* Bare BMPString "User" as real certificates carry it. */
	static const unsigned char bmp[] = { 0x1e, 0x08, 0x00, 'U', 0x00, 's', 0x00, 'e', 0x00, 'r' };
	X509 *c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.20.2", bmp, sizeof bmp);
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_null(info.oid);
	assert_string_equal(info.name, "User");
	cert_template_info_free(&info);
	t.cn = "user"; /* case-insensitive */
	t.oid = "1.2.3"; /* no 21.7 in the cert: the name decides */
	assert_true(cert_is_from_template(c, &t));
	t.cn = "Users";
	assert_false(cert_is_from_template(c, &t));
	X509_free(c);

	/* UTF8String and the spec's SEQUENCE { UTF8String }. */
	static const unsigned char utf8[] = { 0x0c, 0x07, 'M', 'a', 'c', 'h', 'i', 'n', 'e' };
	static const unsigned char seq[] = { 0x30, 0x09, 0x0c, 0x07, 'M', 'a', 'c', 'h', 'i', 'n', 'e' };
	static const unsigned char bmp_nonascii[] = { 0x1e, 0x04, 0x00, 0xe9, 0x20, 0xac }; /* "é€" */
	c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.20.2", utf8, sizeof utf8);
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_string_equal(info.name, "Machine");
	cert_template_info_free(&info);
	X509_free(c);
	c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.20.2", seq, sizeof seq);
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_string_equal(info.name, "Machine");
	cert_template_info_free(&info);
	X509_free(c);
	c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.20.2", bmp_nonascii, sizeof bmp_nonascii);
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_string_equal(info.name, "\xc3\xa9\xe2\x82\xac");
	cert_template_info_free(&info);
	X509_free(c);

	/* Both present: 21.7 decides even when the name matches. */
	static const unsigned char v2[] = { 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
					    0x15, 0x08, 0x07 };
	c = plain_cert(k);
	add_raw_ext(c, "1.3.6.1.4.1.311.20.2", bmp, sizeof bmp);
	add_raw_ext(c, "1.3.6.1.4.1.311.21.7", v2, sizeof v2);
	t.cn = "User";
	t.oid = "1.3.6.1.4.1.311.21.8.8";
	assert_false(cert_is_from_template(c, &t));
	t.oid = "1.3.6.1.4.1.311.21.8.7";
	assert_true(cert_is_from_template(c, &t));
	X509_free(c);

	/* Odd-length BMPString, lone surrogate, embedded NUL, an empty BMPString
	 * in a SEQUENCE (found by fuzz_template_ext): malformed. */
	static const unsigned char odd[] = { 0x1e, 0x03, 0x00, 'U', 0x00 };
	static const unsigned char sur[] = { 0x1e, 0x02, 0xd8, 0x00 };
	static const unsigned char nul[] = { 0x0c, 0x03, 'a', 0x00, 'b' };
	static const unsigned char empty[] = { 0x30, 0x02, 0x1e, 0x00 };
	const unsigned char *bads[] = { odd, sur, nul, empty };
	size_t badlen[] = { sizeof odd, sizeof sur, sizeof nul, sizeof empty };
	for (size_t i = 0; i < 4; i++) {
		c = plain_cert(k);
		add_raw_ext(c, "1.3.6.1.4.1.311.20.2", bads[i], badlen[i]);
		assert_int_equal(cert_template_info(c, &info), -1);
		X509_free(c);
	}

	/* No extension at all: parsed, nothing found, matches nothing. */
	c = plain_cert(k);
	assert_int_equal(cert_template_info(c, &info), 0);
	assert_null(info.oid);
	assert_null(info.name);
	assert_false(cert_is_from_template(c, &t));
	X509_free(c);
	EVP_PKEY_free(k);
}

/* ------------------------------------------------------------ key match, chain */

static void test_key_match(void **state)
{
	(void)state;
	EVP_PKEY *a = ec_key(), *b = ec_key();
	X509 *c = make_cert("leaf", a, NULL, b, false, 0, 3600); /* key a, signed by b */
	assert_true(cert_matches_key(c, a));
	assert_false(cert_matches_key(c, b));
	assert_false(cert_matches_key(NULL, a));
	X509_free(c);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_chain(void **state)
{
	(void)state;
	EVP_PKEY *rk = ec_key(), *ik = ec_key(), *lk = ec_key(), *ok = ec_key();
	X509 *root = make_cert("Root CA", rk, NULL, rk, true, -60, 86400);
	X509 *inter = make_cert("Issuing CA", ik, root, rk, true, -60, 86400);
	X509 *leaf = make_cert("client.example.test", lk, inter, ik, false, -60, 3600);
	X509 *other = make_cert("Other Root", ok, NULL, ok, true, -60, 86400);
	X509 *expired = make_cert("old.example.test", lk, inter, ik, false, -7200, -3600);
	struct bloblist roots = { NULL, 0 }, inters = { NULL, 0 }, wrong = { NULL, 0 };
	char err[512];
	bloblist_add_cert(&roots, root);
	bloblist_add_cert(&inters, inter);
	bloblist_add_cert(&wrong, other);

	assert_int_equal(cert_verify_chain(leaf, &roots, &inters, NULL, err, sizeof err), 0);
	/* The intermediate from the p7b chain (untrusted helper) works too. */
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509_up_ref(inter);
	sk_X509_push(extra, inter);
	assert_int_equal(cert_verify_chain(leaf, &roots, NULL, extra, err, sizeof err), 0);
	/* ...but an untrusted root in the p7b does not make it trusted. */
	X509_up_ref(other);
	sk_X509_push(extra, other);
	assert_int_equal(cert_verify_chain(leaf, &wrong, NULL, extra, err, sizeof err), -1);
	assert_non_null(strstr(err, "issuer"));
	/* Missing intermediate, empty roots, expired leaf. */
	assert_int_equal(cert_verify_chain(leaf, &roots, NULL, NULL, err, sizeof err), -1);
	struct bloblist none = { NULL, 0 };
	assert_int_equal(cert_verify_chain(leaf, &none, &inters, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "root CA"));
	assert_int_equal(cert_verify_chain(expired, &roots, &inters, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "expired"));
	/* A garbage DER in the directory is skipped, not fatal. */
	bloblist_add(&roots, "junk", 4);
	assert_int_equal(cert_verify_chain(leaf, &roots, &inters, NULL, err, sizeof err), 0);

	sk_X509_pop_free(extra, X509_free);
	bloblist_free(&roots);
	bloblist_free(&inters);
	bloblist_free(&wrong);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	X509_free(other);
	X509_free(expired);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(ok);
}

/* ------------------------------------------------------------ parsing */

static void test_parse_and_facts(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	X509 *c = make_cert("client.example.test", k, NULL, k, false, 0, 7200);
	char *pem = cert_to_pem(c);
	assert_non_null(pem);
	X509 *c2 = cert_from_buffer(pem, strlen(pem));
	assert_non_null(c2);
	assert_int_equal(X509_cmp(c, c2), 0);
	X509_free(c2);
	/* CRLF PEM as certsrv sends it. */
	size_t n = strlen(pem), o = 0;
	char *crlf = malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		if (pem[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = pem[i];
	}
	c2 = cert_from_buffer(crlf, o);
	assert_non_null(c2);
	X509_free(c2);
	free(crlf);
	struct blob der = der_of(c);
	c2 = cert_from_buffer(der.data, der.len);
	assert_non_null(c2);
	X509_free(c2);
	assert_null(cert_from_der(der.data, der.len - 1));
	assert_null(cert_from_buffer("-----BEGIN CERTIFICATE-----\nAAAA\n", 34));
	free(der.data);

	char serial[80], fp[65];
	assert_int_equal(cert_serial_hex(c, serial, sizeof serial), 0);
	assert_true(strlen(serial) > 0);
	assert_int_equal(cert_sha256_hex(c, fp, sizeof fp), 0);
	assert_int_equal(strlen(fp), 64);
	time_t now = time(NULL);
	time_t na = cert_not_after(c), nb = cert_not_before(c);
	assert_true(na - now >= 7190 && na - now <= 7210);
	assert_true(nb - now >= -10 && nb - now <= 10);
	char *subj = cert_subject_text(c);
	assert_string_equal(subj, "CN=client.example.test");
	free(subj);
	free(pem);
	X509_free(c);
	EVP_PKEY_free(k);
}

static void test_pkcs7(void **state)
{
	(void)state;
	EVP_PKEY *k = ec_key();
	X509 *a = make_cert("a", k, NULL, k, false, 0, 60), *b = make_cert("b", k, NULL, k, true, 0, 60);
	PKCS7 *p7 = PKCS7_new();
	PKCS7_set_type(p7, NID_pkcs7_signed);
	PKCS7_content_new(p7, NID_pkcs7_data);
	PKCS7_add_certificate(p7, a);
	PKCS7_add_certificate(p7, b);
	unsigned char *der = NULL;
	int dl = i2d_PKCS7(p7, &der);
	assert_true(dl > 0);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PKCS7(bio, p7);
	char *pem;
	long pl = BIO_get_mem_data(bio, &pem);

	STACK_OF(X509) *sk = cert_stack_from_pkcs7(der, (size_t)dl);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	sk = cert_stack_from_pkcs7(pem, (size_t)pl);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), a), 0);
	sk_X509_pop_free(sk, X509_free);
	/* Mislabelled armour ("CERTIFICATE" around a PKCS#7). */
	BIO *b2 = BIO_new(BIO_s_mem());
	PEM_write_bio(b2, "CERTIFICATE", "", der, dl);
	char *p2;
	long l2 = BIO_get_mem_data(b2, &p2);
	sk = cert_stack_from_pkcs7(p2, (size_t)l2);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	assert_null(cert_stack_from_pkcs7("nonsense", 8));
	assert_null(cert_stack_from_pkcs7(der, (size_t)dl / 2));

	BIO_free(b2);
	BIO_free(bio);
	OPENSSL_free(der);
	PKCS7_free(p7);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_bits),
		cmocka_unit_test(test_generate_rsa_sizes),
		cmocka_unit_test(test_generate_ec),
		cmocka_unit_test(test_key_pem_roundtrip),
		cmocka_unit_test(test_csr_machine),
		cmocka_unit_test(test_csr_user_directory_path),
		cmocka_unit_test(test_csr_rsa_sha256),
		cmocka_unit_test(test_ext_v2),
		cmocka_unit_test(test_ext_v1_name),
		cmocka_unit_test(test_key_match),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_parse_and_facts),
		cmocka_unit_test(test_pkcs7),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
