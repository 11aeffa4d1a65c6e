/* AD CS web enrollment over HTTPS with SPNEGO/Kerberos (docs/protocol.md 6).  The only
 * file that talks to libcurl.  TLS is anchored ONLY at the root CAs read from
 * LDAP (never the system store, never certnew.cer?ReqID=CACert, never an
 * intermediate: no partial chain). */
#ifndef ADENROLL_CERTSRV_H
#define ADENROLL_CERTSRV_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "certsrv_page.h"
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

/* `adenroll doctor`: one GET of https://<ca_host>/certsrv/, either without
 * credentials (with_kerberos false: which authentication schemes the server
 * offers) or with SPNEGO from the process's ccache.  Same TLS trust rule as
 * certsrv_client_new.  0 when an HTTP answer arrived (the TLS handshake
 * verified), -1 otherwise with out->message saying why. */
struct certsrv_probe {
	long http_status;
	bool negotiate_offered, ntlm_offered;
	char auth_schemes[128];   /* WWW-Authenticate schemes of the last answer: "Negotiate, NTLM" */
	char message[512];
};
int certsrv_probe(const char *ca_host, const struct bloblist *trust_ders,
		  const struct bloblist *intermediate_ders, long timeout_seconds, bool with_kerberos,
		  struct certsrv_probe *out);

/* Process-wide counters (all clients) for tests and benchmarks. */
struct certsrv_stats {
	unsigned long requests;   /* HTTP requests sent (including 401 legs) */
	unsigned long bytes_in;   /* response body bytes */
	unsigned long connections; /* TCP+TLS connections opened (CURLINFO_NUM_CONNECTS) */
	double seconds;           /* wall time spent in requests */
};
void certsrv_get_stats(struct certsrv_stats *out);

/* Whether this libcurl can send GSS channel bindings (EPA, docs/protocol.md 6.7):
 * a sentence for `adenroll doctor`. */
const char *certsrv_curl_channel_binding_support(void);

/* Maximum accepted response body (bytes); larger answers abort the transfer. */
#define CERTSRV_MAX_RESPONSE (1024 * 1024)

#endif
