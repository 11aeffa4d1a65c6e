/* Key generation and PKCS#10 requests (docs/protocol.md 2.5, 5.5).  OpenSSL 3 EVP only. */
#include "csr.h"
#include "keyproc.h"
#include "openssl_loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OID_NT_PRINCIPAL_NAME "1.3.6.1.4.1.311.20.2.3"
/* Far above any real template minimum; refuses absurd directory values
 * that would make key generation run for hours. */
#define CSR_MAX_RSA_BITS 16384u

void csr_openssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
	ERR_clear_error();
}

unsigned csr_key_bits(const struct template *t, const struct config *cfg)
{
	if (t && (t->key_alg == TEMPLATE_KEY_EC_P256 || t->key_alg == TEMPLATE_KEY_EC_P384 ||
		  t->key_alg == TEMPLATE_KEY_EC_P521))
		return 0;
	unsigned bits = 2048;
	if (t && t->minimal_key_size > bits)
		bits = t->minimal_key_size;
	if (cfg && cfg->min_rsa_bits > bits)
		bits = cfg->min_rsa_bits;
	return bits;
}

static struct csr_stats stats;

void csr_get_stats(struct csr_stats *out)
{
	*out = stats;
}

EVP_PKEY *csr_generate_key(const struct template *t, const struct config *cfg, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	double t0 = monotonic_seconds();

	keyproc_assert_key_side("generating a private key");
	if (t && t->key_alg == TEMPLATE_KEY_UNSUPPORTED) {
		snprintf(err, errlen, "template %s asks for a key algorithm adenroll cannot generate", t->cn);
		return NULL;
	}
	if (t && t->key_alg == TEMPLATE_KEY_EC_P256) {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	} else if (t && t->key_alg == TEMPLATE_KEY_EC_P384) {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	} else if (t && t->key_alg == TEMPLATE_KEY_EC_P521) {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	} else {
		unsigned bits = csr_key_bits(t, cfg);
		if (bits > CSR_MAX_RSA_BITS) {
			snprintf(err, errlen, "RSA key size %u is above the supported maximum %u", bits,
				 CSR_MAX_RSA_BITS);
			return NULL;
		}
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	}
	stats.keys++;
	stats.seconds += monotonic_seconds() - t0;
	if (!key)
		csr_openssl_error(err, errlen, "key generation failed");
	return key;
}

/* RFC 4514 DN text ("CN=alice,CN=Users,DC=example,DC=test") into an X509
 * name in X.500 order (most significant RDN first).  Multi-valued RDNs ('+')
 * are taken as separate RDNs; unknown attribute types are refused. */
static int name_from_dn(const char *dn, X509_NAME *name)
{
	struct rdn {
		char *type, *value;
	} rdns[64];
	size_t n = 0;
	int ret = -1;
	const char *p = dn;
	while (*p) {
		if (n == sizeof rdns / sizeof rdns[0])
			goto out;
		while (*p == ' ')
			p++;
		const char *eq = strchr(p, '=');
		if (!eq || eq == p)
			goto out;
		char *type = xstrndup(p, (size_t)(eq - p));
		char *val = xmalloc(strlen(eq) + 1);
		size_t o = 0;
		p = eq + 1;
		while (*p && *p != ',' && *p != '+' && *p != ';') {
			if (*p == '\\' && p[1]) {
				int h1 = -1, h2 = -1;
				char a = p[1], b = p[2];
				if (a >= '0' && a <= '9') h1 = a - '0';
				else if ((a | 32) >= 'a' && (a | 32) <= 'f') h1 = (a | 32) - 'a' + 10;
				if (b >= '0' && b <= '9') h2 = b - '0';
				else if ((b | 32) >= 'a' && (b | 32) <= 'f') h2 = (b | 32) - 'a' + 10;
				if (h1 >= 0 && h2 >= 0) {
					val[o++] = (char)(h1 * 16 + h2);
					p += 3;
				} else {
					val[o++] = p[1];
					p += 2;
				}
				continue;
			}
			val[o++] = *p++;
		}
		val[o] = '\0';
		rdns[n].type = type;
		rdns[n].value = val;
		n++;
		if (*p)
			p++;
	}
	for (size_t i = n; i-- > 0;) {
		int nid = OBJ_txt2nid(rdns[i].type);
		if (nid == NID_undef || rdns[i].value[0] == '\0')
			goto out;
		if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)rdns[i].value,
					       -1, -1, 0) != 1)
			goto out;
	}
	ret = n > 0 ? 0 : -1;
out:
	for (size_t i = 0; i < n; i++) {
		free(rdns[i].type);
		free(rdns[i].value);
	}
	ERR_clear_error();
	return ret;
}

static int add_name_text(X509_NAME *name, int nid, const char *value)
{
	return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0) == 1
		       ? 0
		       : -1;
}

static int san_add_string(GENERAL_NAMES *sans, int type, const char *value)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	if (!gn || !s || ASN1_STRING_set(s, value, -1) != 1 || !sk_GENERAL_NAME_push(sans, gn)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return -1;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	return 0;
}

/* otherName { 1.3.6.1.4.1.311.20.2.3, [0] UTF8String upn } (MS UPN SAN). */
static int san_add_upn(GENERAL_NAMES *sans, const char *upn)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(OID_NT_PRINCIPAL_NAME, 1);
	ASN1_TYPE *val = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	if (!gn || !oid || !val || !s || ASN1_STRING_set(s, upn, -1) != 1)
		goto bad;
	ASN1_TYPE_set(val, V_ASN1_UTF8STRING, s);
	s = NULL;
	if (GENERAL_NAME_set0_othername(gn, oid, val) != 1)
		goto bad;
	oid = NULL;
	val = NULL;
	if (!sk_GENERAL_NAME_push(sans, gn))
		goto bad;
	return 0;
bad:
	GENERAL_NAME_free(gn);
	ASN1_OBJECT_free(oid);
	ASN1_TYPE_free(val);
	ASN1_UTF8STRING_free(s);
	return -1;
}

const EVP_MD *csr_signature_md(const struct template *t, char *err, size_t errlen)
{
	char name[32];
	/* not static: OpenSSL's functions are addresses known only at run
	 * time (openssl_loader.h) */
	const struct {
		const char *cng;
		const EVP_MD *(*md)(void);
	} known[] = { { "SHA256", EVP_sha256 }, { "SHA384", EVP_sha384 }, { "SHA512", EVP_sha512 },
		      { "SHA1", EVP_sha1 } };

	if (t && template_ra_value(t->ra_app_policies, "msPKI-Hash-Algorithm", name, sizeof name) && name[0]) {
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			if (strcasecmp(name, known[i].cng) == 0)
				return known[i].md();
		snprintf(err, errlen, "template %s asks for hash algorithm %s (msPKI-Hash-Algorithm), which "
			 "adenroll does not support (SHA256, SHA384, SHA512, SHA1)", t->cn, name);
		return NULL;
	}
	/* No template choice: the hash matching the curve's strength (NIST
	 * SP 800-57), SHA-256 for RSA as Windows clients send. */
	if (t && t->key_alg == TEMPLATE_KEY_EC_P384)
		return EVP_sha384();
	if (t && t->key_alg == TEMPLATE_KEY_EC_P521)
		return EVP_sha512();
	return EVP_sha256();
}

/* szOID_RENEWAL_CERTIFICATE (MS-WCCE 2.2.2.7.1): the certificate being
 * renewed, as the value of a PKCS#10 attribute. */
#define OID_RENEWAL_CERTIFICATE "1.3.6.1.4.1.311.13.1"

static int add_renewal_attribute(X509_REQ *req, X509 *old_cert)
{
	unsigned char *der = NULL;
	int len = i2d_X509(old_cert, &der);
	ASN1_OBJECT *oid = OBJ_txt2obj(OID_RENEWAL_CERTIFICATE, 1);
	int ok = len > 0 && oid &&
		 X509_REQ_add1_attr_by_OBJ(req, oid, V_ASN1_SEQUENCE, der, len) == 1;
	OPENSSL_free(der);
	ASN1_OBJECT_free(oid);
	return ok ? 0 : -1;
}

static int build_request(EVP_PKEY *key, const struct template *t, const struct account *acct,
			 const char *host_fqdn, enum adenroll_mode mode, X509 *old_cert, char **pem_out,
			 char *err, size_t errlen);

int csr_build(EVP_PKEY *key, const struct template *t, const struct account *acct,
	      const char *host_fqdn, enum adenroll_mode mode, char **pem_out, char *err, size_t errlen)
{
	return build_request(key, t, acct, host_fqdn, mode, NULL, pem_out, err, errlen);
}

int csr_build_renewal(EVP_PKEY *key, const struct template *t, const struct account *acct,
		      const char *host_fqdn, enum adenroll_mode mode, X509 *old_cert, char **pem_out,
		      char *err, size_t errlen)
{
	if (!old_cert) {
		*pem_out = NULL;
		snprintf(err, errlen, "a renewal request needs the certificate it renews");
		return -1;
	}
	return build_request(key, t, acct, host_fqdn, mode, old_cert, pem_out, err, errlen);
}

static int build_request(EVP_PKEY *key, const struct template *t, const struct account *acct,
			 const char *host_fqdn, enum adenroll_mode mode, X509 *old_cert, char **pem_out,
			 char *err, size_t errlen)
{
	int ret = -1;
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	GENERAL_NAMES *sans = sk_GENERAL_NAME_new_null();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	BIO *bio = NULL;
	uint32_t nf = t ? t->name_flag : 0;
	const char *fqdn = host_fqdn && *host_fqdn ? host_fqdn : (acct ? acct->dns_host_name : NULL);
	const char *upn = acct ? acct->user_principal_name : NULL;
	const char *mail = acct ? acct->mail : NULL;

	*pem_out = NULL;
	if (!key || !t || !req || !name || !sans || !exts) {
		snprintf(err, errlen, "cannot build a request: missing key or template");
		goto out;
	}
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_pubkey(req, key) != 1) {
		csr_openssl_error(err, errlen, "cannot set the request's key");
		goto out;
	}

	/* Subject.  For templates where the CA builds the subject it ignores
	 * ours, so we send what it would build anyway (docs/protocol.md 2.5). */
	if ((nf & CT_NF_SUBJECT_REQUIRE_DIRECTORY_PATH) && acct && acct->dn) {
		if (name_from_dn(acct->dn, name) < 0) {
			snprintf(err, errlen, "cannot turn the account DN \"%s\" into a subject", acct->dn);
			goto out;
		}
	} else if (mode == ADENROLL_MODE_MACHINE) {
		if (!fqdn) {
			snprintf(err, errlen, "no host name for the request: set host_fqdn in [machine] or "
					      "dNSHostName on the computer account");
			goto out;
		}
		if (add_name_text(name, NID_commonName, fqdn) < 0)
			goto name_err;
	} else if (acct && acct->sam_account_name) {
		if (add_name_text(name, NID_commonName, acct->sam_account_name) < 0)
			goto name_err;
	}
	if ((nf & CT_NF_SUBJECT_REQUIRE_EMAIL) && mail && add_name_text(name, NID_pkcs9_emailAddress, mail) < 0)
		goto name_err;
	if (X509_REQ_set_subject_name(req, name) != 1)
		goto name_err;

	/* SAN. */
	if (mode == ADENROLL_MODE_MACHINE && fqdn && san_add_string(sans, GEN_DNS, fqdn) < 0)
		goto name_err;
	if ((nf & (CT_NF_SAN_REQUIRE_UPN | CT_NF_SAN_REQUIRE_SPN)) && upn && san_add_upn(sans, upn) < 0)
		goto name_err;
	if ((nf & CT_NF_SAN_REQUIRE_EMAIL) && mail && san_add_string(sans, GEN_EMAIL, mail) < 0)
		goto name_err;
	if (sk_GENERAL_NAME_num(sans) > 0) {
		X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans);
		if (!ext || !sk_X509_EXTENSION_push(exts, ext)) {
			X509_EXTENSION_free(ext);
			goto name_err;
		}
		if (X509_REQ_add_extensions(req, exts) != 1)
			goto name_err;
	}

	if (old_cert && add_renewal_attribute(req, old_cert) < 0) {
		csr_openssl_error(err, errlen, "cannot add the renewal certificate attribute");
		goto out;
	}
	const EVP_MD *md = csr_signature_md(t, err, errlen);
	if (!md)
		goto out;
	if (X509_REQ_sign(req, key, md) <= 0) {
		csr_openssl_error(err, errlen, "cannot sign the request");
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_X509_REQ(bio, req) != 1) {
		csr_openssl_error(err, errlen, "cannot encode the request");
		goto out;
	}
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	*pem_out = xstrndup(p, (size_t)n);
	ret = 0;
	goto out;
name_err:
	csr_openssl_error(err, errlen, "cannot build the request's subject or subject alternative name");
out:
	BIO_free(bio);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(sans);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return ret;
}

char *csr_key_to_pem(EVP_PKEY *key)
{
	keyproc_assert_key_side("encoding a private key");
	BIO *b = BIO_new(BIO_s_secmem());
	char *out = NULL;
	if (!b)
		b = BIO_new(BIO_s_mem());
	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		if (n > 0) {
			out = xmalloc((size_t)n + 1);
			memcpy(out, p, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

EVP_PKEY *csr_key_from_pem(const char *pem, size_t len)
{
	keyproc_assert_key_side("decoding a private key");
	if (!pem || len == 0 || len > 1024 * 1024)
		return NULL;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	return k;
}
