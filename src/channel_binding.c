/* RFC 5929 section 4 tls-server-end-point, with the digest rule OpenSSL
 * derives from the signature algorithm (X509_get_signature_info also reads
 * RSASSA-PSS parameters, which a lookup of the algorithm OID cannot). */
#include "adenroll-build.h"

#include "channel_binding.h"
#include "openssl_loader.h"

#include <stdio.h>
#include <string.h>

enum channel_binding_status channel_binding_from_cert(X509 *cert, struct channel_binding *out, char *err,
						      size_t errlen)
{
	char dummy[1];
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof dummy;
	}
	memset(out, 0, sizeof *out);
	err[0] = '\0';
	int mdnid = NID_undef, pknid = NID_undef;
	uint32_t flags = 0;
	if (!cert || !X509_get_signature_info(cert, &mdnid, &pknid, NULL, &flags)) {
		const X509_ALGOR *alg = NULL;
		char oid[80] = "?";
		if (cert) {
			X509_get0_signature(NULL, &alg, cert);
			const ASN1_OBJECT *obj = NULL;
			if (alg) {
				X509_ALGOR_get0(&obj, NULL, NULL, alg);
				OBJ_obj2txt(oid, sizeof oid, obj, 0);
			}
		}
		snprintf(err, errlen, "the server certificate's signature algorithm (%s) is not one this OpenSSL "
			 "knows: no channel binding can be computed", oid);
		return CHANNEL_BINDING_ERROR;
	}
	if (mdnid == NID_undef) {
		snprintf(err, errlen, "the server certificate is signed with %s, which has no single hash: RFC 5929 "
			 "defines no tls-server-end-point binding for it", OBJ_nid2sn(pknid));
		return CHANNEL_BINDING_UNDEFINED;
	}
	if (mdnid == NID_md5 || mdnid == NID_sha1)
		mdnid = NID_sha256;
	const EVP_MD *md = EVP_get_digestbynid(mdnid);
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;
	const size_t plen = sizeof CHANNEL_BINDING_PREFIX - 1;
	if (!md || !X509_digest(cert, md, hash, &hlen) || hlen > sizeof out->data - plen) {
		snprintf(err, errlen, "cannot hash the server certificate with %s for the channel binding",
			 OBJ_nid2sn(mdnid));
		return CHANNEL_BINDING_ERROR;
	}
	memcpy(out->data, CHANNEL_BINDING_PREFIX, plen);
	memcpy(out->data + plen, hash, hlen);
	out->len = plen + hlen;
	snprintf(out->hash_name, sizeof out->hash_name, "%s", OBJ_nid2sn(mdnid));
	return CHANNEL_BINDING_OK;
}
