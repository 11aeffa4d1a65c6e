/* libFuzzer target: the chain a CA returns (certnew.p7b?ReqID=N&Enc=b64: PEM
 * of any label, bare base64 or DER PKCS#7).  Parses it and verifies its first
 * certificate against a fixed root, with the rest as untrusted helpers, as
 * enroll.c does before anything is stored.  Besides memory safety: nothing
 * in the input was signed with the fixed root's key, so the only input that
 * may verify is the root certificate itself. */
#include "adenroll-build.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *root;
static struct bloblist roots;

static void make_root(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_NAME *n;
	struct blob der;

	root = X509_new();
	if (key == NULL || root == NULL)
		abort();
	X509_set_version(root, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(root), 1);
	X509_gmtime_adj(X509_getm_notBefore(root), -3600);
	X509_gmtime_adj(X509_getm_notAfter(root), 86400L * 365);
	n = X509_get_subject_name(root);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Fuzz Root", -1, -1, 0);
	X509_set_issuer_name(root, n);
	X509_set_pubkey(root, key);
	if (X509_sign(root, key, EVP_sha256()) <= 0 || cert_to_der(root, &der) != 0)
		abort();
	bloblist_add(&roots, der.data, der.len);
	free(der.data);
	EVP_PKEY_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *chain;
	char err[512], fp[65];

	if (root == NULL)
		make_root();
	chain = cert_stack_from_pkcs7(data, size);
	if (chain == NULL)
		return 0;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		struct cert_template_info info;

		cert_sha256_hex(sk_X509_value(chain, i), fp, sizeof(fp));
		if (cert_template_info(sk_X509_value(chain, i), &info) == 0)
			cert_template_info_free(&info);
	}
	if (sk_X509_num(chain) > 0) {
		X509 *leaf = sk_X509_value(chain, 0);

		if (cert_verify_chain(leaf, &roots, NULL, chain, err, sizeof(err)) == 0 && X509_cmp(leaf, root) != 0)
			abort();
	}
	sk_X509_pop_free(chain, X509_free);
	return 0;
}
