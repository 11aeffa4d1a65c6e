/* RFC 5929 "tls-server-end-point" channel binding data for the Negotiate
 * token sent to a CA whose web server enforces Extended Protection (EPA):
 * the hash of the server's TLS certificate, so a token captured on one TLS
 * connection cannot be relayed to another server (the binding travels in
 * the Kerberos authenticator checksum, RFC 4121 4.1.1; KB5005413).  OpenSSL
 * does the hashing; GSS-API is gss_spnego's. */
#ifndef ADENROLL_CHANNEL_BINDING_H
#define ADENROLL_CHANNEL_BINDING_H

#include <stddef.h>

#include <openssl/x509.h>

#define CHANNEL_BINDING_PREFIX "tls-server-end-point:"

struct channel_binding {
	/* "tls-server-end-point:" || hash(DER of the certificate): the
	 * application data of the GSS-API channel bindings */
	unsigned char data[sizeof CHANNEL_BINDING_PREFIX - 1 + 64];
	size_t len;
	char hash_name[16];           /* "SHA256", "SHA384", "SHA512" */
};

enum channel_binding_status {
	CHANNEL_BINDING_ERROR = -1,   /* signature algorithm not understood: err says which */
	CHANNEL_BINDING_OK = 0,
	CHANNEL_BINDING_UNDEFINED = 1 /* no binding is defined for the algorithm (Ed25519, Ed448) */
};

/* The hash is the one of the certificate's signature algorithm (the PSS
 * parameters' hash for RSASSA-PSS), SHA-256 when that is MD5 or SHA-1 (RFC
 * 5929 section 4.1).  An algorithm without a single hash (Ed25519) has no
 * binding.  err (may be NULL) receives the reason on ERROR and UNDEFINED. */
enum channel_binding_status channel_binding_from_cert(X509 *cert, struct channel_binding *out, char *err,
						      size_t errlen);

#endif
