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

/* ---- MS-XCEP (the enrollment policy web service, CEP) ----
 * Only what the CES transport needs: the GetPolicies request and, from its
 * answer, the CAs with their enrollment URIs (MS-XCEP 3.1.4.1.1.1,
 * 3.1.4.1.3.2 CA, 3.1.4.1.3.3 CAURI).  The templates of the answer are not
 * used: they come from the directory. */
#define XCEP_NS "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
#define XCEP_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define XCEP_ACTION_GETPOLICIES XCEP_NS "/IPolicy/GetPolicies"

/* Bounds of an answer: CAs, URIs per CA, URL length (larger: refused). */
#define XCEP_MAX_CAS 64
#define XCEP_MAX_URIS 32
#define XCEP_MAX_URL 2048

struct xcep_uri {
	unsigned auth;           /* clientAuthentication (X509EnrollmentAuthFlags: 2 = Kerberos) */
	unsigned priority;       /* nil: lowest (UINT_MAX) */
	bool renewal_only;       /* nil: false */
	char *url;               /* as sent; https:// and printable checked */
};

struct xcep_ca {
	long reference_id;       /* cAReferenceID */
	unsigned char *cert_der; /* the CA's certificate */
	size_t cert_len;
	struct xcep_uri *uris;
	size_t n_uris;
};

struct xcep_policy {
	struct xcep_ca *cas;     /* nil cAs: none */
	size_t n_cas;
	char message[512];       /* why the answer was refused */
};

/* GetPolicies with no last update, no language and no filter: the whole
 * policy.  NULL when to or message_id cannot be sent. */
char *xcep_build_get_policies(const char *to, const char *message_id);

/* 0 with out filled (zeroed first), or -1 with out->message saying why (not
 * SOAP, a fault, wrong namespaces, a CA without certificate or URIs, a
 * number that is not one, too big). */
int xcep_parse_response(long http_status, const char *body, size_t len, struct xcep_policy *out);
void xcep_policy_free(struct xcep_policy *p);  /* contents only */

#endif
