/* Key generation and the PKCS#10 request for a template (docs/protocol.md 2.5, 5.5). */
#ifndef ADENROLL_CSR_H
#define ADENROLL_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "adenroll.h"
#include "config.h"
#include "directory.h"
#include "template.h"

/* RSA of max(2048, t->minimal_key_size, cfg->min_rsa_bits) bits, or EC P-256 /
 * P-384 / P-521 when t->key_alg says so.  NULL with the reason in err. */
EVP_PKEY *csr_generate_key(const struct template *t, const struct config *cfg, char *err, size_t errlen);
/* Process-wide key generation counters (benchmarks). */
struct csr_stats {
	unsigned long keys;       /* csr_generate_key calls that generated */
	double seconds;           /* wall time spent generating */
};
void csr_get_stats(struct csr_stats *out);
/* The RSA size csr_generate_key would use (0 for EC), for --dry-run output. */
unsigned csr_key_bits(const struct template *t, const struct config *cfg);

/* A PKCS#10 in PEM signed with csr_signature_md's hash (caller frees *pem_out).  Subject/SAN
 * follow t->name_flag: DNS SAN and CN from host_fqdn (or acct->dns_host_name)
 * in machine mode, UPN otherName (1.3.6.1.4.1.311.20.2.3) / rfc822 e-mail in
 * user mode, the account DN as the subject for SUBJECT_REQUIRE_DIRECTORY_PATH.
 * Key usage and EKU are left to the CA (it applies the template's).
 * 0, or -1 with the reason in err. */
int csr_build(EVP_PKEY *key, const struct template *t, const struct account *acct,
	      const char *host_fqdn, enum adenroll_mode mode, char **pem_out, char *err, size_t errlen);

/* The same request for a renewal (MS-WCCE 3.1.1.4.3.2.1): it also carries
 * old_cert, the certificate being renewed, in the szOID_RENEWAL_CERTIFICATE
 * (1.3.6.1.4.1.311.13.1) attribute.  It is still signed with key (the new
 * key, or the held one when the key is kept); renewal_wrap then signs the
 * whole with the held key. */
int csr_build_renewal(EVP_PKEY *key, const struct template *t, const struct account *acct,
		      const char *host_fqdn, enum adenroll_mode mode, X509 *old_cert, char **pem_out,
		      char *err, size_t errlen);

/* The hash for request signatures: the template's msPKI-Hash-Algorithm
 * (v3+ templates, in msPKI-RA-Application-Policies: SHA256, SHA384, SHA512,
 * SHA1), else SHA-512 for P-521, SHA-384 for P-384, SHA-256 otherwise.
 * NULL with the reason in err for a hash adenroll does not support. */
const EVP_MD *csr_signature_md(const struct template *t, char *err, size_t errlen);

/* "what: <OpenSSL's first queued error>" into err; clears the queue. */
void csr_openssl_error(char *err, size_t errlen, const char *what);

/* PEM private key (PKCS#8, unencrypted) for the store/state (caller frees; the
 * caller wipes it with OPENSSL_cleanse(p, strlen(p)) before free()). NULL on failure. */
char *csr_key_to_pem(EVP_PKEY *key);
EVP_PKEY *csr_key_from_pem(const char *pem, size_t len);

#endif
