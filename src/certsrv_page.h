/* Classification of AD CS web-enrollment (/certsrv) answers (docs/protocol.md 6.3, 6.4).
 * Pure: bytes in, verdict out.  The body is untrusted and not NUL-terminated;
 * nothing past len is read.  Structural markers (Content-Type, ReqID digits,
 * HRESULT hex) win over English prose, which is localised on real servers. */
#ifndef ADENROLL_CERTSRV_PAGE_H
#define ADENROLL_CERTSRV_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum certsrv_disposition {
	CERTSRV_ISSUED,          /* certificate available (body or ReqID link) */
	CERTSRV_PENDING,         /* taken under submission: poll later with the ReqID */
	CERTSRV_DENIED,          /* the CA refused this request (policy, ACL, CA manager) */
	CERTSRV_ERROR,           /* HTTP error, error page, or a page we do not understand */
	CERTSRV_UNAUTHORIZED,    /* HTTP 401: Kerberos/SPNEGO did not authenticate us */
	CERTSRV_UNKNOWN_REQUEST, /* certnew.cer: the CA has no such ReqID (0x80094004) */
};

struct certsrv_result {
	enum certsrv_disposition disposition;
	long request_id;          /* -1 when the page carries none */
	bool has_hresult;
	uint32_t hresult;
	bool body_is_cert;        /* application/pkix-cert: the body is the certificate */
	long http_status;
	char message[512];        /* the CA's disposition message as plain text, "" if none */
};

/* The answer to POST certfnsh.asp (Mode=newreq).  content_type may be NULL.
 * Always fills out and returns 0 (an unrecognised page is CERTSRV_ERROR with a
 * short excerpt in message); -1 only for NULL out. */
int certsrv_parse_submit(long http_status, const char *content_type, const char *body, size_t len,
			 struct certsrv_result *out);

/* The answer to GET certnew.cer?ReqID=N: application/pkix-cert => issued;
 * the HTML "Error" page => pending ("Taken Under Submission"), denied
 * ("Denied by"), unknown request (0x80094004 / "property value is empty") or
 * error.  request_id is left at -1 (the caller knows it). Same return rule. */
int certsrv_parse_retrieve(long http_status, const char *content_type, const char *body, size_t len,
			   struct certsrv_result *out);

/* "CERTSRV_E_TEMPLATE_DENIED" for 0x80094012 (docs/protocol.md 6.6); NULL when unknown. */
const char *certsrv_hresult_name(uint32_t hresult);
/* What the HRESULT means and what to do, in plain words; NULL when unknown. */
const char *certsrv_hresult_explain(uint32_t hresult);
/* "issued", "pending", "denied", "error", "unauthorized", "unknown request" */
const char *certsrv_disposition_name(enum certsrv_disposition d);

#endif
