/* Certificate Enrollment Web Service (CES) client: MS-WSTEP requests over the
 * HTTPS+Kerberos layer of https_client (the same TLS trust, channel binding
 * and mutual authentication as web enrollment; docs/protocol.md 10).
 * Results use the dispositions of web enrollment (certsrv_page.h) so
 * enroll.c acts on both transports alike. */
#ifndef ADENROLL_CES_H
#define ADENROLL_CES_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "certsrv.h"
#include "util.h"

struct ces_client;

/* A WS-Addressing MessageID: "urn:uuid:" and a random (version 4) UUID. */
void ces_message_id(char out[64]);

/* url: the endpoint as advertised (https://host[:port]/<CA>_CES_Kerberos/service.svc/CES).
 * Same trust arguments as certsrv_client_new.  NULL with a logged reason. */
struct ces_client *ces_client_new(const char *url, const struct bloblist *trust_ders,
				  const struct bloblist *intermediate_ders, long timeout_seconds);
void ces_client_free(struct ces_client *c);

/* RequestSecurityToken (Issue).  request: a PKCS#10 (PEM, or base64 DER),
 * or with cms true the base64 CMS renewal request of renewal_wrap (sent as
 * PKCS#7).  machine_name: the host's FQDN in machine mode (the "ccm" context
 * item), NULL for users.  Same return rule as certsrv_submit: 0 when the CA
 * decided (ISSUED with *cert_pem_out, PENDING with the request id,
 * DENIED), -1 otherwise (out says why; a request id in it means the CA holds
 * the request). */
int ces_submit(struct ces_client *c, const char *request, bool cms, const char *template_cn,
	       const char *machine_name, struct certsrv_result *out, char **cert_pem_out);

/* RequestSecurityToken (QueryTokenStatus) for a pending request: never
 * resubmits.  UNKNOWN_REQUEST also returns 0. */
int ces_retrieve(struct ces_client *c, long req_id, struct certsrv_result *out, char **cert_pem_out);

/* The chain that came with the last issued answer (CES sends it with the
 * certificate; nothing is asked again).  -1 when there was none. */
int ces_fetch_chain(struct ces_client *c, STACK_OF(X509) **chain);

/* `adenroll doctor`: one GET of the endpoint URL, as certsrv_probe does for
 * /certsrv/ (the TLS trust, the schemes offered, a bound Kerberos token and
 * the mutual authentication).  Any HTTP answer is 0. */
int ces_probe(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
	      long timeout_seconds, enum certsrv_probe_auth auth, struct certsrv_probe *out);

#endif
