/* Renewal requests signed by the certificate they renew (MS-WCCE 3.1.1.4.3.2.1). */
#include "adenroll-build.h"

#include "renewal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "csr.h"
#include "openssl_loader.h"
#include "util.h"

const char *renewal_signer_problem(X509 *old_cert, EVP_PKEY *old_key, time_t now)
{
	if (!old_cert)
		return "no certificate held";
	if (!old_key)
		return "the held key cannot be read";
	if (X509_cmp_time(X509_get0_notAfter(old_cert), &now) <= 0)
		return "the held certificate has expired";
	if (X509_cmp_time(X509_get0_notBefore(old_cert), &now) > 0)
		return "the held certificate is not yet valid";
	if (X509_check_private_key(old_cert, old_key) != 1) {
		ERR_clear_error();
		return "the held key does not belong to the held certificate";
	}
	return NULL;
}

int renewal_wrap(const char *csr_pem, X509 *old_cert, EVP_PKEY *old_key, const EVP_MD *md, char **b64_out,
		 char *err, size_t errlen)
{
	int ret = -1;
	BIO *in = NULL, *content = NULL, *out = NULL, *b64 = NULL;
	X509_REQ *req = NULL;
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	int der_len;
	/* Binary content, no S/MIME capabilities attribute: the signed
	 * attributes are content type, signing time and message digest. */
	const unsigned int flags = CMS_BINARY | CMS_NOSMIMECAP;

	*b64_out = NULL;
	if (!csr_pem || !old_cert || !old_key || !md) {
		snprintf(err, errlen, "a renewal needs the request, the held certificate and its key");
		return -1;
	}
	in = BIO_new_mem_buf(csr_pem, -1);
	if (!in || !(req = PEM_read_bio_X509_REQ(in, NULL, NULL, NULL))) {
		csr_openssl_error(err, errlen, "the renewal's request does not parse");
		goto out;
	}
	if ((der_len = i2d_X509_REQ(req, &der)) <= 0 || !(content = BIO_new_mem_buf(der, der_len))) {
		csr_openssl_error(err, errlen, "cannot encode the renewal's request");
		goto out;
	}
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	if (!cms || !CMS_add1_signer(cms, old_cert, old_key, md, flags) || CMS_final(cms, content, NULL, flags) != 1) {
		csr_openssl_error(err, errlen, "cannot sign the renewal with the held key");
		goto out;
	}
	out = BIO_new(BIO_s_mem());
	b64 = BIO_new(BIO_f_base64());
	if (!out || !b64) {
		csr_openssl_error(err, errlen, "out of memory");
		goto out;
	}
	BIO *chain = BIO_push(b64, out);
	b64 = NULL;
	if (i2d_CMS_bio(chain, cms) != 1 || BIO_flush(chain) != 1) {
		BIO_pop(chain);
		BIO_free(chain);
		csr_openssl_error(err, errlen, "cannot encode the renewal");
		goto out;
	}
	BIO_pop(chain);
	BIO_free(chain);
	char *p;
	long n = BIO_get_mem_data(out, &p);
	*b64_out = xstrndup(p, (size_t)n);
	ret = 0;
out:
	BIO_free(b64);
	BIO_free(out);
	BIO_free(content);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	X509_REQ_free(req);
	BIO_free(in);
	return ret;
}
