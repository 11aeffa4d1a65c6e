/* Helpers over OpenSSL X509 certificates: parsing, the AD CS template
 * extensions (docs/protocol.md 2.7), key match and chain verification. */
#ifndef ADENROLL_CERT_H
#define ADENROLL_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "template.h"
#include "util.h"

/* 1.3.6.1.4.1.311.21.7 szOID_CERTIFICATE_TEMPLATE and 1.3.6.1.4.1.311.20.2
 * szOID_ENROLL_CERTTYPE_EXTENSION as found in a certificate. */
struct cert_template_info {
	char *oid;              /* 21.7 templateID, NULL when the extension is absent */
	bool has_major, has_minor;
	uint32_t major, minor;  /* 21.7 templateMajorVersion / templateMinorVersion */
	char *name;             /* 20.2 template cn (UTF-8), NULL when absent */
};

/* 0 when parsed (either extension may be absent: fields stay NULL/false);
 * -1 when an extension is present but malformed. */
int cert_template_info(X509 *cert, struct cert_template_info *out);
void cert_template_info_free(struct cert_template_info *info);

/* docs/protocol.md 2.7 match rule: 21.7 templateID == t->oid, else (no 21.7) 20.2
 * name == t->cn case-insensitively. */
bool cert_is_from_template(X509 *cert, const struct template *t);

/* True when the certificate's public key is key's public key. */
bool cert_matches_key(X509 *cert, EVP_PKEY *key);

/* Verifies leaf up to one of roots (DER, the directory's trusted CAs), using
 * intermediates (DER, e.g. AIA + enrollment service cACertificate) and extra
 * (e.g. the certnew.p7b chain) only as untrusted helpers.  Checks validity
 * times at "now".  0 or -1 with the reason in err. */
int cert_verify_chain(X509 *leaf, const struct bloblist *roots, const struct bloblist *intermediates,
		      STACK_OF(X509) *extra, char *err, size_t errlen);

/* Parsing.  cert_from_buffer accepts PEM or DER. NULL on failure. */
X509 *cert_from_buffer(const void *data, size_t len);
X509 *cert_from_der(const unsigned char *der, size_t len);
X509 *cert_load_file(const char *path);
/* Certificates decoded by cert_from_der/cert_from_buffer (cert_load_file
 * included) since the process started: how tests and benchmarks see that
 * the held-certificate index spared a parse. */
unsigned long cert_parse_count(void);
/* A certnew.p7b answer (PEM "PKCS7" or DER) into its certificates; NULL on failure. */
STACK_OF(X509) *cert_stack_from_pkcs7(const void *data, size_t len);
/* PEM text of cert (caller frees), NULL on failure. */
char *cert_to_pem(X509 *cert);
/* DER of cert in a blob (caller frees blob.data); -1 on failure. */
int cert_to_der(X509 *cert, struct blob *out);

/* Facts for display and state. */
int cert_serial_hex(X509 *cert, char *out, size_t outlen);     /* "1A2B..." */
time_t cert_not_before(X509 *cert);                             /* (time_t)-1 on error */
time_t cert_not_after(X509 *cert);
/* SHA-256 fingerprint as lowercase hex (64 chars + NUL needs outlen >= 65). */
int cert_sha256_hex(X509 *cert, char *out, size_t outlen);
/* The same fingerprint from the DER bytes, without OpenSSL (sha256.h):
 * what a run that parses nothing uses. */
int cert_der_sha256_hex(const unsigned char *der, size_t len, char *out, size_t outlen);
/* One-line subject, e.g. "CN=client.example.test" (caller frees). */
char *cert_subject_text(X509 *cert);
/* The same for the issuer. */
char *cert_issuer_text(X509 *cert);

#endif
