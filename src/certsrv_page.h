/* Classification of AD CS web-enrollment (/certsrv) answers.  Pure: bytes in,
 * verdict out.  The body is untrusted and not NUL-terminated; nothing past len
 * is read.
 *
 * Pages are served in the CA's or the browser's language (all prose
 * translated), in UTF-8 or, behind a transcoding proxy, Shift_JIS.  So the
 * verdict comes from structure, which is ASCII in every language and charset:
 * certificate bytes, certnew.cer?ReqID=<digits>& links and location= lines,
 * HRESULTs (0x8009xxxx) in any field, element IDs (locDenied, locInfoNewReq,
 * locReqID, locDispLabel ...), the numeric disposition and the request id
 * digits.  English prose only ever decides towards "pending" or "not
 * answering", never towards a denial or a forgotten request (see
 * docs/web-enrollment.md). */
#ifndef ADENROLL_CERTSRV_PAGE_H
#define ADENROLL_CERTSRV_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum certsrv_disposition {
	CERTSRV_ISSUED,          /* certificate available (body or ReqID link) */
	CERTSRV_PENDING,         /* taken under submission: poll later with the ReqID */
	CERTSRV_DENIED,          /* the CA's verdict on this request (CERTSRV_E_*, CRYPT_E_*) */
	CERTSRV_ERROR,           /* HTTP error or a page we cannot classify: transient */
	CERTSRV_UNAUTHORIZED,    /* HTTP 401: Kerberos/SPNEGO did not authenticate us */
	CERTSRV_UNKNOWN_REQUEST, /* certnew.cer: the CA has no such ReqID (0x80094004) */
	CERTSRV_UNAVAILABLE,     /* the CA is not answering (RPC, service, access): transient */
};

struct certsrv_result {
	enum certsrv_disposition disposition;
	long request_id;          /* -1 when the page carries none */
	bool has_hresult;
	uint32_t hresult;         /* the HRESULT that decided (or the first one seen) */
	bool body_is_cert;        /* the body is the certificate (by its bytes) */
	long http_status;
	char message[512];        /* the CA's message as plain UTF-8 text, "" if none */
};

/* The answer to POST certfnsh.asp (Mode=newreq).  content_type may be NULL.
 * Always fills out and returns 0 (an unclassifiable page is CERTSRV_ERROR
 * with a short excerpt in message); -1 only for NULL out. */
int certsrv_parse_submit(long http_status, const char *content_type, const char *body, size_t len,
			 struct certsrv_result *out);

/* The answer to GET certnew.cer?ReqID=N: a certificate => issued; the HTML
 * "Error" page => pending, denied, unknown request (0x80094004), the CA not
 * answering, or error.  request_id is left at -1 (the caller knows it).
 * Same return rule. */
int certsrv_parse_retrieve(long http_status, const char *content_type, const char *body, size_t len,
			   struct certsrv_result *out);

/* ERROR, UNAVAILABLE and UNAUTHORIZED: the CA did not decide.  A pending
 * request is kept, a submission may try the next CA. */
bool certsrv_disposition_is_transient(enum certsrv_disposition d);

/* "issued", "pending", "denied", "error", "unauthorized", "unknown request",
 * "CA not answering" */
const char *certsrv_disposition_name(enum certsrv_disposition d);

/* A certificate recognised by its bytes, whatever the Content-Type says
 * (servers and proxies use application/pkix-cert, application/x-x509-*-cert,
 * application/octet-stream, text/plain): DER, PEM armour or bare base64. */
enum certsrv_cert_form { CERTSRV_CERT_NONE, CERTSRV_CERT_DER, CERTSRV_CERT_PEM, CERTSRV_CERT_BASE64 };
enum certsrv_cert_form certsrv_cert_form(const char *body, size_t len);

/* The DER of such a body in *der (malloc'd, caller frees): PEM and base64
 * decoded, DER cut to its declared length.  0, or -1 when the body is not a
 * certificate (or out of memory). */
int certsrv_cert_der(const char *body, size_t len, unsigned char **der, size_t *der_len);

/* Base64 of [p, p + len) into *out (malloc'd): whitespace skipped, stops at
 * '=' or '-'.  0, or -1 for a character outside base64 (or out of memory).
 * Also used for the tokens of CES answers (wstep.c). */
int certsrv_base64_decode(const char *p, size_t len, unsigned char **out, size_t *out_len);

#endif
