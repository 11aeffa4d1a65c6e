/* Renewal requests (MS-WCCE 3.1.1.4.3.2.1: CMS SignedData over a PKCS#10
 * carrying szOID_RENEWAL_CERTIFICATE, signed by the held certificate), the
 * request hash (msPKI-Hash-Algorithm), and the CA access check (Enroll on an
 * enrollment service's own nTSecurityDescriptor) with the CA-refusal rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr.h"
#include "eligibility.h"
#include "enroll.h"
#include "renewal.h"
#include "sddl.h"
#include "template.h"

#define DOM SDDL_TEST_DOMAIN

static X509 *self_signed(EVP_PKEY *key, long from_s, long to_s)
{
	X509 *c = X509_new();
	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 4242);
	X509_gmtime_adj(X509_getm_notBefore(c), from_s);
	X509_gmtime_adj(X509_getm_notAfter(c), to_s);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"client.example.test", -1, -1, 0);
	X509_set_issuer_name(c, X509_get_subject_name(c));
	X509_set_pubkey(c, key);
	assert_true(X509_sign(c, key, EVP_sha256()) > 0);
	return c;
}

static void machine_account(struct account *a)
{
	static const char *const tok[] = { DOM "-1105", "DC", "AU", "WD", "NU" };
	memset(a, 0, sizeof(*a));
	a->dn = "CN=CLIENT,CN=Computers,DC=example,DC=test";
	a->dns_host_name = "client.example.test";
	a->sam_account_name = "CLIENT$";
	a->n_token = sizeof(tok) / sizeof(tok[0]);
	a->token = calloc(a->n_token, sizeof(struct sid));
	assert_non_null(a->token);
	for (size_t i = 0; i < a->n_token; i++)
		assert_int_equal(sddl_sid(tok[i], strlen(tok[i]), &a->token[i]), 0);
}

/* base64 text -> CMS_ContentInfo */
static CMS_ContentInfo *cms_from_b64(const char *b64)
{
	BIO *mem = BIO_new_mem_buf(b64, -1), *b = BIO_new(BIO_f_base64());
	assert_non_null(mem);
	assert_non_null(b);
	BIO *chain = BIO_push(b, mem);
	CMS_ContentInfo *cms = d2i_CMS_bio(chain, NULL);
	BIO_free_all(chain);
	return cms;
}

/* The whole request: the CMS verifies with the old certificate only, its
 * content is a PKCS#10 with the new key whose renewal attribute is the old
 * certificate, the signer is the old certificate, and the old certificate
 * travels in the CMS. */
static void test_wrap_round_trip(void **state)
{
	(void)state;
	EVP_PKEY *old_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *new_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *old = self_signed(old_key, -3600, 3600);
	struct template t;
	struct account a;
	char *csr = NULL, *b64 = NULL, err[256];

	memset(&t, 0, sizeof(t));
	t.cn = "Tmpl";
	t.name_flag = CT_NF_SAN_REQUIRE_DNS | CT_NF_SUBJECT_REQUIRE_DNS_AS_CN;
	machine_account(&a);
	assert_int_equal(csr_build_renewal(new_key, &t, &a, NULL, ADENROLL_MODE_MACHINE, old, &csr, err, sizeof(err)), 0);
	assert_int_equal(renewal_wrap(csr, old, old_key, EVP_sha256(), &b64, err, sizeof(err)), 0);
	assert_null(strstr(b64, "-----"));        /* bare base64, as certfnsh.asp takes it */

	CMS_ContentInfo *cms = cms_from_b64(b64);
	assert_non_null(cms);
	assert_string_equal(OBJ_obj2txt(err, sizeof(err), CMS_get0_type(cms), 1) > 0 ? err : "", "1.2.840.113549.1.7.2");
	assert_string_equal(OBJ_obj2txt(err, sizeof(err), CMS_get0_eContentType(cms), 1) > 0 ? err : "",
			    "1.2.840.113549.1.7.1");
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), old), 0);
	sk_X509_pop_free(certs, X509_free);

	BIO *content = BIO_new(BIO_s_mem());
	assert_int_equal(CMS_verify(cms, NULL, NULL, NULL, content, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1);
	STACK_OF(X509) *signers = CMS_get0_signers(cms);
	assert_int_equal(sk_X509_num(signers), 1);
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), old), 0);
	sk_X509_free(signers);

	X509_REQ *req = d2i_X509_REQ_bio(content, NULL);
	assert_non_null(req);
	EVP_PKEY *req_key = X509_REQ_get0_pubkey(req);
	assert_int_equal(EVP_PKEY_eq(req_key, new_key), 1);
	assert_int_equal(X509_REQ_verify(req, new_key), 1);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.13.1", 1);
	int loc = X509_REQ_get_attr_by_OBJ(req, oid, -1);
	assert_true(loc >= 0);
	ASN1_TYPE *v = X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(req, loc), 0);
	assert_non_null(v);
	assert_int_equal(v->type, V_ASN1_SEQUENCE);
	const unsigned char *p = v->value.sequence->data;
	X509 *inside = d2i_X509(NULL, &p, v->value.sequence->length);
	assert_non_null(inside);
	assert_int_equal(X509_cmp(inside, old), 0);

	/* a changed byte anywhere in the signed content fails verification */
	CMS_ContentInfo *cms2 = cms_from_b64(b64);
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms2);
	assert_non_null(pos);
	assert_non_null(*pos);
	(*pos)->data[(*pos)->length / 2] ^= 1;
	BIO *sink = BIO_new(BIO_s_mem());
	assert_int_not_equal(CMS_verify(cms2, NULL, NULL, NULL, sink, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1);

	BIO_free(sink);
	CMS_ContentInfo_free(cms2);
	X509_free(inside);
	ASN1_OBJECT_free(oid);
	X509_REQ_free(req);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	free(b64);
	free(csr);
	free(a.token);
	X509_free(old);
	EVP_PKEY_free(new_key);
	EVP_PKEY_free(old_key);
}

/* A plain request carries no renewal attribute; a renewal without its
 * certificate, or wrapped with a key that is not the certificate's, fails. */
static void test_wrap_refuses(void **state)
{
	(void)state;
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *old = self_signed(k1, -3600, 3600);
	struct template t;
	struct account a;
	char *csr = NULL, *b64 = NULL, err[256];

	memset(&t, 0, sizeof(t));
	t.cn = "Tmpl";
	machine_account(&a);
	assert_int_equal(csr_build_renewal(k2, &t, &a, NULL, ADENROLL_MODE_MACHINE, NULL, &csr, err, sizeof(err)), -1);
	assert_null(csr);
	assert_int_equal(csr_build(k2, &t, &a, NULL, ADENROLL_MODE_MACHINE, &csr, err, sizeof(err)), 0);
	BIO *b = BIO_new_mem_buf(csr, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(req);
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.13.1", 1);
	assert_true(X509_REQ_get_attr_by_OBJ(req, oid, -1) < 0);
	/* k2 is not old's key: CMS refuses to sign */
	assert_int_equal(renewal_wrap(csr, old, k2, EVP_sha256(), &b64, err, sizeof(err)), -1);
	assert_null(b64);
	assert_int_equal(renewal_wrap("not a request", old, k1, EVP_sha256(), &b64, err, sizeof(err)), -1);
	ASN1_OBJECT_free(oid);
	X509_REQ_free(req);
	BIO_free(b);
	free(csr);
	free(a.token);
	X509_free(old);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* Only a valid certificate with its own key can sign a renewal. */
static void test_signer_problem(void **state)
{
	(void)state;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	time_t now = time(NULL);
	X509 *good = self_signed(k, -3600, 3600), *expired = self_signed(k, -7200, -60),
	     *future = self_signed(k, 600, 7200);

	assert_null(renewal_signer_problem(good, k, now));
	assert_non_null(strstr(renewal_signer_problem(expired, k, now), "expired"));
	assert_non_null(strstr(renewal_signer_problem(future, k, now), "not yet valid"));
	assert_non_null(strstr(renewal_signer_problem(good, other, now), "does not belong"));
	assert_non_null(renewal_signer_problem(good, NULL, now));
	assert_non_null(renewal_signer_problem(NULL, k, now));
	X509_free(good);
	X509_free(expired);
	X509_free(future);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* msPKI-Hash-Algorithm decides the request's hash; otherwise the curve's. */
static void test_signature_md(void **state)
{
	(void)state;
	struct template t;
	char err[256];

	memset(&t, 0, sizeof(t));
	t.cn = "Tmpl";
	assert_ptr_equal(csr_signature_md(&t, err, sizeof(err)), EVP_sha256());
	t.key_alg = TEMPLATE_KEY_EC_P384;
	assert_ptr_equal(csr_signature_md(&t, err, sizeof(err)), EVP_sha384());
	t.key_alg = TEMPLATE_KEY_EC_P521;
	assert_ptr_equal(csr_signature_md(&t, err, sizeof(err)), EVP_sha512());
	t.ra_app_policies = "msPKI-Asymmetric-Algorithm`PZPWSTR`RSA`msPKI-Hash-Algorithm`PZPWSTR`SHA384`";
	t.key_alg = TEMPLATE_KEY_RSA;
	assert_ptr_equal(csr_signature_md(&t, err, sizeof(err)), EVP_sha384());
	t.ra_app_policies = "msPKI-Hash-Algorithm`PZPWSTR`MD5`";
	assert_null(csr_signature_md(&t, err, sizeof(err)));
	assert_non_null(strstr(err, "MD5"));

	/* a P-521 key and a SHA-512 signature end to end */
	struct config cfg;
	struct account a;
	char *csr = NULL;
	memset(&cfg, 0, sizeof(cfg));
	t.ra_app_policies = "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDSA_P521`msPKI-Hash-Algorithm`PZPWSTR`SHA512`";
	t.key_alg = template_key_alg_from(NULL, t.ra_app_policies);
	assert_int_equal(t.key_alg, TEMPLATE_KEY_EC_P521);
	EVP_PKEY *k = csr_generate_key(&t, &cfg, err, sizeof(err));
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_get_bits(k), 521);
	machine_account(&a);
	assert_int_equal(csr_build(k, &t, &a, NULL, ADENROLL_MODE_MACHINE, &csr, err, sizeof(err)), 0);
	BIO *b = BIO_new_mem_buf(csr, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA512);
	X509_REQ_free(req);
	BIO_free(b);
	free(csr);
	free(a.token);
	EVP_PKEY_free(k);
}

/* Enroll on the enrollment service's own descriptor, first applicable ACE wins. */
static void test_ca_access(void **state)
{
	(void)state;
	static const struct {
		const char *sddl;   /* NULL: no descriptor returned */
		bool granted;
		const char *reason_has;
	} cases[] = {
		/* the AD CS default: Enroll for Authenticated Users */
		{ "O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;AU)(A;;LCRPLORC;;;AU)", true, "#1" },
		/* an explicit deny for Domain Computers before the allow */
		{ "O:EAG:EAD:PAI(OD;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DC)"
		  "(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;AU)", false, "#1" },
		/* only users may enroll there */
		{ "O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DU)(A;;LCRPLORC;;;AU)", false, NULL },
		/* AutoEnroll is not Enroll */
		{ "O:EAG:EAD:PAI(OA;;CR;a05b8cc2-17bc-4802-a710-e7c15ab866a2;;AU)", false, NULL },
		/* full control for the group */
		{ "O:EAG:EAD:PAI(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;DC)", true, NULL },
		{ NULL, true, "the CA decides" },
	};
	struct account a;
	machine_account(&a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct enrollment_service ca;
		uint8_t sd[1024];
		struct sd_verdict v;
		memset(&ca, 0, sizeof(ca));
		ca.cn = "EXAMPLE-CA";
		if (cases[i].sddl) {
			ca.security_descriptor.len = sddl_to_sd(cases[i].sddl, sd, sizeof(sd));
			assert_true(ca.security_descriptor.len > 0);
			ca.security_descriptor.data = sd;
		}
		eligibility_ca_enroll(&ca, &a, &v);
		if (v.granted != cases[i].granted ||
		    (cases[i].reason_has && !strstr(v.reason, cases[i].reason_has)))
			fail_msg("case %zu: granted %d (%s)", i, v.granted, v.reason);
	}
	/* a descriptor that does not parse refuses, with the reason */
	struct enrollment_service bad;
	struct sd_verdict v;
	uint8_t junk[6] = { 1, 0, 4, 0x80, 9, 9 };
	memset(&bad, 0, sizeof(bad));
	bad.cn = "BROKEN-CA";
	bad.security_descriptor.data = junk;
	bad.security_descriptor.len = sizeof(junk);
	eligibility_ca_enroll(&bad, &a, &v);
	assert_false(v.granted);
	assert_non_null(strstr(v.reason, "does not parse"));
	free(a.token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_round_trip),
		cmocka_unit_test(test_wrap_refuses),
		cmocka_unit_test(test_signer_problem),
		cmocka_unit_test(test_signature_md),
		cmocka_unit_test(test_ca_access),
	};
	return cmocka_run_group_tests_name("renewal", tests, NULL, NULL);
}
