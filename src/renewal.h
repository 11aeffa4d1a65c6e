/* Renewal requests as Windows sends them (MS-WCCE 3.1.1.4.3.2.1): the new
 * PKCS#10 (with the szOID_RENEWAL_CERTIFICATE attribute, csr_build_renewal)
 * wrapped in CMS SignedData, signed with the key of the certificate being
 * renewed and carrying that certificate.  A CA checks that signature to
 * honour CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT and msPKI-RA-Signature
 * (MS-WCCE 3.2.2.6.2.1.4.8).  OpenSSL CMS only. */
#ifndef ADENROLL_RENEWAL_H
#define ADENROLL_RENEWAL_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* SignedData { eContentType id-data, eContent = the DER of csr_pem's
 * request, certificates = old_cert, one SignerInfo by old_cert/old_key with
 * digest md } as base64 in 64-column lines without armour, which is what
 * certfnsh.asp's CertRequest field takes (the CA detects PKCS#10, PKCS#7 and
 * CMC by content).  old_key must be old_cert's key.  Caller frees *b64_out.
 * 0, or -1 with the reason in err. */
int renewal_wrap(const char *csr_pem, X509 *old_cert, EVP_PKEY *old_key, const EVP_MD *md, char **b64_out,
		 char *err, size_t errlen);

/* Why old_cert cannot sign a renewal at now, or NULL when it can: expired,
 * not yet valid, or its key is not old_key (MS-WCCE 3.1.1.4.3.2: only a
 * valid certificate renews; otherwise the client enrolls anew). */
const char *renewal_signer_problem(X509 *old_cert, EVP_PKEY *old_key, time_t now);

#endif
