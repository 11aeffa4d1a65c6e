/* libFuzzer target: a certificate as a CA returns it (certnew.cer, PEM or
 * DER) or as the directory holds it (cACertificate).  Parses it and, when it
 * parses, reads every fact adenroll reads (template extensions, serial,
 * dates, fingerprint, subject) and checks:
 *   - PEM and DER written back parse to the same certificate;
 *   - the subject, once escaped for a terminal (safetext.h), is safe;
 *   - the template extensions keep the invariants of template_invariants.h. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "template_invariants.h"
#include "safetext.h"
#include "template.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *x = cert_from_buffer(data, size), *back = NULL;
	struct blob der = { NULL, 0 };
	char buf[128], why[160];
	char *pem = NULL, *subj = NULL, *shown = NULL;

	if (x == NULL)
		return 0;
	cert_serial_hex(x, buf, sizeof(buf));
	cert_sha256_hex(x, buf, sizeof(buf));
	cert_not_before(x);
	cert_not_after(x);
	subj = cert_subject_text(x);
	if (subj != NULL) {
		shown = safetext_dup(subj);
		if (safetext_check(shown, strlen(shown), why, sizeof(why)) != 0)
			abort();
	}
	check_template_info(x);
	pem = cert_to_pem(x);
	if (pem != NULL) {
		back = cert_from_buffer(pem, strlen(pem));
		if (back == NULL || X509_cmp(back, x) != 0)
			abort();
	}
	if (cert_to_der(x, &der) == 0) {
		X509_free(back);
		back = cert_from_der(der.data, der.len);
		if (back == NULL || X509_cmp(back, x) != 0)
			abort();
	}
	free(der.data);
	free(pem);
	free(subj);
	free(shown);
	X509_free(back);
	X509_free(x);
	return 0;
}
