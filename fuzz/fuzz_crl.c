/* libFuzzer target: CRL bytes as a distribution point returns them, and
 * CDP URLs as a certificate carries them (revocation.h).  Besides memory
 * safety: bytes nobody signed with the CA key never give REVOCATION_GOOD
 * or REVOCATION_REVOKED.
 *
 * Input: byte 0 selects the mode.  Even: the rest is the CRL the (injected)
 * fetch returns for a fixed ldap:/// URL.  Odd: the rest is the certificate's
 * CDP URL, read with the built-in LDAP fetch (no connection: the URL is
 * parsed, then reported as unreadable). */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "revocation.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define URL "ldap:///CN=CA,CN=ca,CN=CDP,CN=Public%20Key%20Services,CN=Services,CN=Configuration," \
	    "DC=example,DC=test?certificateRevocationList?base?objectClass=cRLDistributionPoint"

static EVP_PKEY *key;
static X509 *ca;

struct bytes {
	const uint8_t *p;
	size_t n;
};

static int fetch_bytes(void *arg, const char *url, struct blob *out, char *err, size_t errlen)
{
	const struct bytes *b = arg;

	(void)url;
	(void)err;
	(void)errlen;
	out->data = xmalloc(b->n ? b->n : 1);
	memcpy(out->data, b->p, b->n);
	out->len = b->n;
	return 0;
}

static X509 *cert(const char *cn, X509 *issuer, const uint8_t *url, size_t url_len)
{
	X509 *c = X509_new();
	X509_NAME *n;

	if (c == NULL)
		abort();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 0x61);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(c, key);
	if (url != NULL) {
		STACK_OF(DIST_POINT) *dps = sk_DIST_POINT_new_null();
		DIST_POINT *dp = DIST_POINT_new();
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *u = ASN1_IA5STRING_new();

		ASN1_STRING_set(u, url, (int)url_len);
		GENERAL_NAME_set0_value(gn, GEN_URI, u);
		dp->distpoint = DIST_POINT_NAME_new();
		dp->distpoint->type = 0;
		dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
		sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn);
		sk_DIST_POINT_push(dps, dp);
		X509_add1_ext_i2d(c, NID_crl_distribution_points, dps, 0, 0);
		sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	}
	/* the leaf need not be signed: its issuer is passed explicitly */
	if (issuer == NULL && X509_sign(c, key, EVP_sha256()) <= 0)
		abort();
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct revocation_ctx *ctx;
	struct bytes b;
	X509 *leaf;
	char detail[512];
	enum revocation_status st;

	if (key == NULL) {
		log_init(LOG_LVL_ERROR, false);
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (key == NULL)
			abort();
		ca = cert("CA", NULL, NULL, 0);
	}
	if (size < 1 || size > 1 << 20)
		return 0;
	b.p = data + 1;
	b.n = size - 1;
	ctx = revocation_ctx_new(NULL, NULL, false);
	if (data[0] & 1) {
		leaf = cert("leaf", ca, b.p, b.n);
	} else {
		leaf = cert("leaf", ca, (const uint8_t *)URL, strlen(URL));
		revocation_ctx_set_fetch(ctx, fetch_bytes, &b);
	}
	st = revocation_check(ctx, leaf, ca, detail, sizeof(detail));
	/* only the CA key makes a CRL count, and the fuzzer does not have it */
	if (st != REVOCATION_UNKNOWN || memchr(detail, '\0', sizeof(detail)) == NULL)
		abort();
	X509_free(leaf);
	revocation_ctx_free(ctx);
	return 0;
}
