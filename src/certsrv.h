/* AD CS web enrollment over HTTPS with SPNEGO/Kerberos (docs/protocol.md 6).
 * HTTPS, TLS trust and Kerberos are https_client's (one layer for both
 * transports).  TLS is anchored ONLY at the root CAs read from
 * LDAP (never the system store, never certnew.cer?ReqID=CACert, never an
 * intermediate: no partial chain). */
#ifndef ADENROLL_CERTSRV_H
#define ADENROLL_CERTSRV_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "certsrv_page.h"
#include "https_client.h"
#include "util.h"

struct certsrv_client;

/* https://<ca_host>/certsrv/ with one reused connection.  trust_ders: the DER
 * root CAs (CN=Certification Authorities) that the server's TLS chain must
 * end in: the only anchors, and a self-signed one at that.
 * intermediate_ders (may be NULL): DER CA certificates (AIA, the enrollment
 * service's cACertificate) used only to build the path from the server's
 * certificate to such a root, never trusted themselves.  Hostname
 * verification is on.
 * timeout_seconds bounds each request (connect, total, low-speed).
 * Uses the process's Kerberos ccache (KRB5CCNAME) for Negotiate.
 * NULL with a logged reason on failure. */
struct certsrv_client *certsrv_client_new(const char *ca_host, const struct bloblist *trust_ders,
					  const struct bloblist *intermediate_ders, long timeout_seconds);
void certsrv_client_free(struct certsrv_client *c);

/* POST certfnsh.asp (Mode=newreq, CertAttrib=CertificateTemplate:<cn>).  On
 * ISSUED *cert_pem_out receives the certificate PEM (fetched from
 * certnew.cer?ReqID=N&Enc=b64 unless the answer was the certificate itself).
 * Returns 0 when the CA decided (ISSUED with the certificate, PENDING,
 * DENIED), -1 otherwise: transport failure, timeout, HTTP 401/5xx, oversized
 * or unrecognised answer (out->disposition ERROR or UNAUTHORIZED and
 * out->message says why) — the caller may fail over to another CA. */
int certsrv_submit(struct certsrv_client *c, const char *csr_pem, const char *template_cn,
		   struct certsrv_result *out, char **cert_pem_out);

/* GET certnew.cer?ReqID=N&Enc=b64 for a pending request; never resubmits.
 * Same return rule as certsrv_submit (UNKNOWN_REQUEST also returns 0). */
int certsrv_retrieve(struct certsrv_client *c, long req_id, struct certsrv_result *out,
		     char **cert_pem_out);

/* GET certnew.p7b?ReqID=N&Enc=b64: the issued certificate and its chain. */
int certsrv_fetch_chain(struct certsrv_client *c, long req_id, STACK_OF(X509) **chain);

/* How the Kerberos authentication of a request went.  Every
 * token is bound (RFC 5929 tls-server-end-point) to the certificate of the
 * TLS connection it is sent on, unless that certificate's signature algorithm
 * defines no binding; an answer is only used when it comes over a connection
 * with that same certificate and its token completes mutual authentication
 * (otherwise the request fails with the reason). */
struct certsrv_auth {
	bool token_sent;          /* a Negotiate token was sent */
	bool binding_sent;        /* ... with channel bindings */
	char binding_hash[16];    /* their hash: "SHA256", "SHA384", "SHA512" */
	bool binding_undefined;   /* the certificate's algorithm has none (Ed25519) */
	bool accepted;            /* the server authenticated us and proved its own identity */
	bool refused;             /* the server answered 401 to the token */
};

/* `adenroll doctor`: one GET of https://<ca_host>/certsrv/ without
 * credentials (which authentication schemes the server offers), with a
 * Kerberos token bound to the TLS certificate (what enrollment sends), or
 * with one without channel bindings (whether the server requires them:
 * Extended Protection "Required" refuses it).  Same TLS trust rule as
 * certsrv_client_new.  0 when an HTTP answer arrived (the TLS handshake
 * verified; with Kerberos, a 200 also had its mutual authentication
 * verified), -1 otherwise with out->message saying why. */
enum certsrv_probe_auth {
	CERTSRV_PROBE_ANONYMOUS = 0,
	CERTSRV_PROBE_KERBEROS = 1,
	CERTSRV_PROBE_KERBEROS_UNBOUND = 2,
};
struct certsrv_probe {
	long http_status;
	bool negotiate_offered, ntlm_offered;
	char auth_schemes[128];   /* WWW-Authenticate schemes of the last answer: "Negotiate, NTLM" */
	struct certsrv_auth auth;
	char message[512];
};
int certsrv_probe(const char *ca_host, const struct bloblist *trust_ders,
		  const struct bloblist *intermediate_ders, long timeout_seconds, enum certsrv_probe_auth auth,
		  struct certsrv_probe *out);

/* Process-wide counters (all clients) for tests and benchmarks. */
struct certsrv_stats {
	unsigned long requests;   /* HTTP requests sent (including 401 legs) */
	unsigned long bytes_in;   /* response body bytes */
	unsigned long connections; /* TCP+TLS connections opened (CURLINFO_NUM_CONNECTS) */
	double seconds;           /* wall time spent in requests */
};
void certsrv_get_stats(struct certsrv_stats *out);

/* The libraries web enrollment runs on, for `adenroll doctor`.  libcurl's
 * own GSS-API/SPNEGO are not used (the token is made with GSS-API directly),
 * but its TLS must be OpenSSL: the connection's certificate is read there. */
struct certsrv_library_info {
	char curl_version[32];
	char tls_library[64];        /* "OpenSSL/3.0.19" */
	bool curl_gssapi, curl_spnego;
	bool openssl;
	bool gss_forwards_bindings;  /* GSS-API passes channel bindings through SPNEGO */
};
void certsrv_library_info(struct certsrv_library_info *out);

/* Maximum accepted response body (bytes); larger answers abort the transfer. */
#define CERTSRV_MAX_RESPONSE HTTPS_MAX_RESPONSE

#endif
