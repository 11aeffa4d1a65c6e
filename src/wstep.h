/* MS-WSTEP messages (WS-Trust X.509v3 Token Enrollment Extensions) for CES
 * enrollment, built and parsed with libxml2 (the only file that talks to
 * libxml2).  Pure: strings in, strings out (docs/protocol.md 10).
 *
 * Parsing is strict: the SOAP 1.2 envelope, WS-Trust 1.3, WS-Security and
 * MS-WSTEP namespaces are checked on every element used, a document type
 * declaration is refused (no entities, no DTD, no network), and sizes are
 * bounded. */
#ifndef ADENROLL_WSTEP_H
#define ADENROLL_WSTEP_H

#include <stdbool.h>
#include <stddef.h>

#include "certsrv_page.h"

#define WSTEP_NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define WSTEP_NS_ADDRESSING "http://www.w3.org/2005/08/addressing"
#define WSTEP_NS_TRUST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define WSTEP_NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WSTEP_NS_ENROLL "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
#define WSTEP_NS_AUTH "http://schemas.xmlsoap.org/ws/2006/12/authorization"
#define WSTEP_ACTION_RST "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep"
#define WSTEP_ACTION_RSTRC "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep"
#define WSTEP_REQUEST_ISSUE "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
#define WSTEP_REQUEST_QUERY "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/QueryTokenStatus"
#define WSTEP_TOKEN_X509 "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
#define WSTEP_VALUE_PKCS10 "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10"
#define WSTEP_VALUE_PKCS7 "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS7"
#define WSTEP_ENCODING_BASE64 \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary"

/* Largest response parsed (bytes), and largest token (certificate, chain). */
#define WSTEP_MAX_RESPONSE (1024 * 1024)
#define WSTEP_MAX_TOKEN (256 * 1024)

/* The request: RequestSecurityToken, RequestType Issue, the request as a
 * BinarySecurityToken (request_b64: base64 DER, blanks allowed; pkcs7 true
 * for a CMS renewal request, else PKCS#10), the template name and, when not
 * NULL, the machine name ("ccm") in AdditionalContext.  to: the endpoint URL
 * (WS-Addressing To); message_id: "urn:uuid:...".  NULL when an argument
 * cannot be sent (characters outside base64, control characters in a name). */
char *wstep_build_issue(const char *to, const char *message_id, const char *request_b64, bool pkcs7,
			const char *template_cn, const char *machine_name);

/* The status query of request request_id (RequestType QueryTokenStatus). */
char *wstep_build_query(const char *to, const char *message_id, long request_id);

/* What an answer says.  The result uses the dispositions of web enrollment
 * so both transports are acted on alike: ISSUED with the certificate,
 * PENDING with the request id, DENIED (a fault whose HRESULT is a verdict,
 * hresult.h), UNKNOWN_REQUEST (0x80094004 to a query), UNAVAILABLE (a fault
 * with a transient HRESULT), ERROR (anything else: not SOAP, wrong
 * namespaces, too big, a fault without a code). */
struct wstep_answer {
	struct certsrv_result result;
	unsigned char *cert_der;     /* ISSUED: the certificate (malloc'd), else NULL */
	size_t cert_len;
	unsigned char *chain_der;    /* PKCS#7 bundle when the answer carried one, else NULL */
	size_t chain_len;
	bool cert_in_pkcs7;          /* the certificate token itself is a PKCS#7 bundle */
};

/* Always fills out (zeroed first); 0 when the answer was understood
 * (ISSUED, PENDING, DENIED, UNKNOWN_REQUEST), -1 otherwise. */
int wstep_parse_response(long http_status, const char *body, size_t len, struct wstep_answer *out);
void wstep_answer_free(struct wstep_answer *a);  /* contents only */

#endif
