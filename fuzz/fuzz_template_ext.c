/* libFuzzer target: the AD CS template extensions of an issued certificate,
 * 1.3.6.1.4.1.311.21.7 (SEQUENCE { templateID, major, minor }) and
 * 1.3.6.1.4.1.311.20.2 (the template name: BMPString, UTF8String or a
 * SEQUENCE around it), which decide whether a certificate belongs to a
 * template (cert.h).  Byte 0 picks where the rest goes: bit 0 the 21.7
 * value, bit 1 the 20.2 value (both: split at byte 1's value).  Besides
 * memory safety: the invariants of template_invariants.h. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "cert.h"
#include "template_invariants.h"
#include "template.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add_ext(X509 *x, const char *oid, const uint8_t *p, size_t n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	if (obj == NULL || os == NULL || !ASN1_OCTET_STRING_set(os, p, (int)n))
		abort();
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		abort();
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *x;

	if (size < 2 || size > 65536)
		return 0;
	x = X509_new();
	if (x == NULL)
		abort();
	const uint8_t *p = data + 2;
	size_t n = size - 2, cut = data[1] < n ? data[1] : n;
	switch (data[0] & 3) {
	case 1:
		add_ext(x, "1.3.6.1.4.1.311.21.7", p, n);
		break;
	case 2:
		add_ext(x, "1.3.6.1.4.1.311.20.2", p, n);
		break;
	case 3:
		add_ext(x, "1.3.6.1.4.1.311.21.7", p, cut);
		add_ext(x, "1.3.6.1.4.1.311.20.2", p + cut, n - cut);
		break;
	default:
		break;
	}
	check_template_info(x);
	X509_free(x);
	return 0;
}
