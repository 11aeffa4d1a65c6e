/* libFuzzer target: both certsrv page classifiers and the certificate-bytes
 * recognition over arbitrary bytes, with the HTTP status and Content-Type
 * taken from the first two input bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certsrv_page.h"
#include "hresult.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 401, 500, 302 };
	static const char *const types[] = { "text/html", "application/pkix-cert", NULL,
					     "text/html; charset=utf-8", "text/html; charset=shift_jis",
					     "application/octet-stream", "text/plain", "application/x-x509-user-cert" };
	long status = 200;
	const char *ct = "text/html";
	if (size >= 2 && data[0] == 0xff) {
		status = statuses[data[1] % (sizeof statuses / sizeof statuses[0])];
		ct = types[(data[1] >> 4) % (sizeof types / sizeof types[0])];
		data += 2;
		size -= 2;
	}
	struct certsrv_result r;
	certsrv_parse_submit(status, ct, (const char *)data, size, &r);
	if (r.message[sizeof r.message - 1] != '\0' || memchr(r.message, '\0', sizeof r.message) == NULL)
		__builtin_trap();
	if (r.disposition == CERTSRV_ISSUED && !r.body_is_cert && r.request_id < 0)
		__builtin_trap();
	certsrv_parse_retrieve(status, ct, (const char *)data, size, &r);
	if (memchr(r.message, '\0', sizeof r.message) == NULL)
		__builtin_trap();
	(void)hresult_name(r.hresult);
	if (r.disposition == CERTSRV_DENIED && r.has_hresult && hresult_classify(r.hresult) == HRESULT_TRANSIENT)
		__builtin_trap(); /* a CA that is not answering never denies */
	unsigned char *der = NULL;
	size_t n = 0;
	int rc = certsrv_cert_der((const char *)data, size, &der, &n);
	if ((rc == 0) != (certsrv_cert_form((const char *)data, size) != CERTSRV_CERT_NONE && der != NULL))
		__builtin_trap();
	if (rc == 0 && (n < 4 || der[0] != 0x30))
		__builtin_trap();
	free(der);
	return 0;
}
