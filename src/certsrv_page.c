/* Classification of /certsrv answers (docs/protocol.md 6.3, 6.4).  Every scan is
 * bounded by [body, body+len): the body is untrusted and not NUL-terminated. */
#include "certsrv_page.h"

#include <stdio.h>
#include <string.h>

struct span {
	const char *p;
	const char *end;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Matches pat at p: letters case-insensitively, a space in pat matches one or
 * more whitespace characters (servers differ in CRLF/LF/tabs/indentation).
 * Returns the position after the match, NULL when it does not match. */
static const char *match_at(const char *p, const char *end, const char *pat)
{
	while (*pat) {
		if (*pat == ' ') {
			if (p >= end || !is_ws(*p))
				return NULL;
			while (p < end && is_ws(*p))
				p++;
			while (*pat == ' ')
				pat++;
			continue;
		}
		if (p >= end || lower(*p) != lower(*pat))
			return NULL;
		p++;
		pat++;
	}
	return p;
}

/* First occurrence of pat in [p, end); *after receives the end of the match.
 * With skip_comments, text inside <!-- --> is ignored: pages (and our
 * samples) carry comments quoting the very markers we look for. */
static const char *find_in(const char *p, const char *end, const char *pat, const char **after,
			   bool skip_comments)
{
	for (; p < end; p++) {
		if (skip_comments && *p == '<') {
			const char *c = match_at(p, end, "<!--");
			if (c) {
				const char *close = find_in(c, end, "-->", &p, false);
				if (!close)
					return NULL;
				p--; /* the loop increment lands right after "-->" */
				continue;
			}
		}
		const char *a = match_at(p, end, pat);
		if (a) {
			if (after)
				*after = a;
			return p;
		}
	}
	return NULL;
}

static const char *find(const char *p, const char *end, const char *pat, const char **after)
{
	return find_in(p, end, pat, after, true);
}

static bool contains(struct span s, const char *pat)
{
	return find(s.p, s.end, pat, NULL) != NULL;
}

/* 1..18 decimal digits at p (ReqIDs are positive 32-bit on real CAs). */
static bool parse_digits(const char *p, const char *end, long *out, const char **after)
{
	long v = 0;
	int n = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (++n > 18)
			return false;
		v = v * 10 + (*p - '0');
		p++;
	}
	if (n == 0)
		return false;
	*out = v;
	if (after)
		*after = p;
	return true;
}

/* "0x" followed by 1..8 hex digits and no ninth one. */
static bool parse_hresult(const char *p, const char *end, uint32_t *out)
{
	uint32_t v = 0;
	int n = 0;
	if (end - p < 3 || p[0] != '0' || lower(p[1]) != 'x')
		return false;
	p += 2;
	while (p < end && hexval(*p) >= 0) {
		if (++n > 8)
			return false;
		v = (v << 4) | (uint32_t)hexval(*p);
		p++;
	}
	if (n == 0)
		return false;
	*out = v;
	return true;
}

/* The first well-formed 0x... in [p, end) that is not part of a longer word. */
static bool find_hresult(const char *p, const char *end, uint32_t *out)
{
	for (const char *q = p; q + 2 < end; q++) {
		if (q[0] != '0' || lower(q[1]) != 'x')
			continue;
		if (q > p && ((q[-1] >= '0' && q[-1] <= '9') || hexval(q[-1]) >= 0 || q[-1] == '_'))
			continue;
		if (parse_hresult(q, end, out))
			return true;
	}
	return false;
}

/* Appends the text of [p, end) to out as plain text: tags dropped, the common
 * entities decoded, runs of whitespace collapsed, control bytes dropped. */
static void plain_text(const char *p, const char *end, char *out, size_t outlen)
{
	size_t o = 0;
	bool space = true; /* suppress leading whitespace */
	if (outlen == 0)
		return;
	while (p < end && o + 1 < outlen) {
		char c = *p;
		if (c == '<') {
			while (p < end && *p != '>')
				p++;
			if (p < end)
				p++;
			if (!space) {
				out[o++] = ' ';
				space = true;
			}
			continue;
		}
		if (c == '&') {
			static const struct { const char *name; char ch; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
				{ "&#39;", '\'' }, { "&apos;", '\'' }, { "&nbsp;", ' ' },
			};
			const char *a = NULL;
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				a = match_at(p, end, ents[i].name);
				if (a) {
					c = ents[i].ch;
					break;
				}
			}
			if (a)
				p = a;
			else
				p++;
		} else {
			p++;
		}
		if (is_ws(c) || c == '\0') {
			if (!space) {
				out[o++] = ' ';
				space = true;
			}
			continue;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f)
			continue;
		out[o++] = c;
		space = false;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* The disposition message of a certfnsh.asp page: `The disposition message
 * is "..."` (docs/protocol.md 6.3 step 5).  The message itself contains no quote; it
 * ends at the closing quote, a tag or the end of the body. */
static bool submit_message(struct span b, char *out, size_t outlen)
{
	const char *a;
	if (!find(b.p, b.end, "disposition message is \"", &a))
		return false;
	const char *e = a;
	while (e < b.end && *e != '"' && *e != '<')
		e++;
	plain_text(a, e, out, outlen);
	return true;
}

/* A `<label>` field of the certnew.cer Error page: the label is followed by
 * closing tags and whitespace (`</B></Font></DT><DD>\n\t\t`), then the value
 * up to the end of its line or the next tag (docs/protocol.md 6.4). */
static bool field_value(struct span b, const char *label, struct span *val)
{
	const char *a;
	if (!find(b.p, b.end, label, &a))
		return false;
	const char *p = a;
	for (;;) {
		while (p < b.end && is_ws(*p))
			p++;
		if (p < b.end && *p == '<') {
			while (p < b.end && *p != '>')
				p++;
			if (p < b.end)
				p++;
			continue;
		}
		break;
	}
	const char *e = p;
	while (e < b.end && *e != '\r' && *e != '\n' && *e != '<')
		e++;
	val->p = p;
	val->end = e;
	return true;
}

static bool content_type_is(const char *ct, const char *want)
{
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen(want);
	for (size_t i = 0; i < n; i++)
		if (lower(ct[i]) != lower(want[i]))
			return false; /* ct[i] == '\0' also ends here */
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* The answer is the certificate itself: Content-Type application/pkix-cert,
 * or (Certipy's check) a PEM certificate body. */
static bool body_is_certificate(const char *content_type, struct span b)
{
	if (content_type_is(content_type, "application/pkix-cert") ||
	    content_type_is(content_type, "application/x-x509-user-cert") ||
	    content_type_is(content_type, "application/x-x509-ca-cert"))
		return true;
	const char *p = b.p;
	while (p < b.end && is_ws(*p))
		p++;
	return match_at(p, b.end, "-----BEGIN CERTIFICATE-----") != NULL;
}

static void init_result(struct certsrv_result *out, long http_status)
{
	memset(out, 0, sizeof *out);
	out->disposition = CERTSRV_ERROR;
	out->request_id = -1;
	out->http_status = http_status;
}

/* Shared first steps (docs/protocol.md 6.3 steps 1-2, 6.4 first bullet).  True when
 * out is decided. */
static bool classify_transport(long http_status, const char *content_type, struct span b,
			       struct certsrv_result *out)
{
	if (http_status == 401) {
		out->disposition = CERTSRV_UNAUTHORIZED;
		snprintf(out->message, sizeof out->message,
			 "HTTP 401: the CA web server did not accept our Kerberos credentials");
		return true;
	}
	if (http_status != 200) {
		out->disposition = CERTSRV_ERROR;
		snprintf(out->message, sizeof out->message, "HTTP status %ld", http_status);
		return true;
	}
	if (body_is_certificate(content_type, b)) {
		out->disposition = CERTSRV_ISSUED;
		out->body_is_cert = true;
		return true;
	}
	return false;
}

/* certnew.cer?ReqID=<digits> followed by & or &amp; anywhere in the page:
 * the CACert install link that may come first is skipped (docs/protocol.md 6.3 step 3). */
static bool find_issued_reqid(struct span b, long *id)
{
	const char *p = b.p, *a;
	/* Not comment-blind: old pages wrap their scripts in <!-- -->. */
	while (find_in(p, b.end, "certnew.cer?ReqID=", &a, false)) {
		long v;
		const char *d;
		if (parse_digits(a, b.end, &v, &d) && d < b.end && *d == '&') {
			*id = v;
			return true;
		}
		p = a;
	}
	return false;
}

static bool find_request_id_text(struct span b, long *id)
{
	const char *p = b.p, *a;
	while (find(p, b.end, "Request Id is", &a)) {
		while (a < b.end && is_ws(*a))
			a++;
		/* The digits must be followed by something ("." on real pages):
		 * a body cut inside the number must not yield a shorter ReqID. */
		const char *d;
		if (parse_digits(a, b.end, id, &d) && d < b.end)
			return true;
		p = a;
	}
	return false;
}

static void excerpt(struct span b, char *out, size_t outlen)
{
	if (b.p == b.end) {
		snprintf(out, outlen, "empty body");
		return;
	}
	/* The title tells an admin most about an unexpected page. */
	const char *a, *e;
	if (find(b.p, b.end, "<title>", &a) && (e = find(a, b.end, "</title>", NULL)) != NULL) {
		plain_text(a, e, out, outlen);
		if (out[0])
			return;
	}
	const char *end = b.end - b.p > 200 ? b.p + 200 : b.end;
	plain_text(b.p, end, out, outlen);
}

int certsrv_parse_submit(long http_status, const char *content_type, const char *body, size_t len,
			 struct certsrv_result *out)
{
	if (!out)
		return -1;
	init_result(out, http_status);
	struct span b = { body ? body : "", body ? body + len : "" };

	if (classify_transport(http_status, content_type, b, out))
		return 0;

	long id = -1;
	if (find_issued_reqid(b, &id)) {
		out->disposition = CERTSRV_ISSUED;
		out->request_id = id;
		return 0;
	}

	bool has_id = find_request_id_text(b, &id);
	if (has_id)
		out->request_id = id;
	bool has_msg = submit_message(b, out->message, sizeof out->message) && out->message[0];

	/* HRESULT: in the disposition message ("Denied by Policy Module  0x...,"),
	 * "Error Number: 0x...", or a LastStatus-style " 0x... (". */
	if (has_msg && find_hresult(out->message, out->message + strlen(out->message), &out->hresult))
		out->has_hresult = true;
	else {
		const char *a;
		if (find(b.p, b.end, "Error Number:", &a)) {
			while (a < b.end && is_ws(*a))
				a++;
			out->has_hresult = parse_hresult(a, b.end, &out->hresult);
		}
	}

	bool pending = contains(b, "Certificate Pending") || contains(b, "Taken Under Submission") ||
		       contains(b, "wait for an administrator");
	bool denied = contains(b, "Denied by") || contains(b, "request was denied") ||
		      contains(b, "Request Denied") || contains(b, "template that is not supported");
	bool parse_error = contains(b, "Error Parsing Request");

	if (pending && !denied) {
		out->disposition = CERTSRV_PENDING;
		if (!has_msg)
			snprintf(out->message, sizeof out->message,
				 "taken under submission: a CA manager must approve the request");
		return 0;
	}
	if (parse_error) {
		out->disposition = CERTSRV_ERROR;
		if (!has_msg)
			snprintf(out->message, sizeof out->message, "Error Parsing Request");
		return 0;
	}
	if (denied || (out->has_hresult && out->hresult != 0)) {
		out->disposition = CERTSRV_DENIED;
		if (!out->message[0])
			snprintf(out->message, sizeof out->message, "the CA denied the request");
		return 0;
	}
	if (has_id) {
		/* A ReqID without a marker we know (localised page): the caller
		 * confirms with certnew.cer (docs/protocol.md 6.3 "Localisation"). */
		out->disposition = CERTSRV_PENDING;
		if (!has_msg)
			snprintf(out->message, sizeof out->message,
				 "the CA answered with request %ld but no certificate", id);
		return 0;
	}
	out->disposition = CERTSRV_ERROR;
	char ex[200];
	excerpt(b, ex, sizeof ex);
	if (!out->message[0])
		snprintf(out->message, sizeof out->message, "unrecognised answer from certfnsh.asp%s%s",
			 ex[0] ? ": " : "", ex);
	return 0;
}

int certsrv_parse_retrieve(long http_status, const char *content_type, const char *body, size_t len,
			   struct certsrv_result *out)
{
	if (!out)
		return -1;
	init_result(out, http_status);
	struct span b = { body ? body : "", body ? body + len : "" };

	if (classify_transport(http_status, content_type, b, out))
		return 0;

	struct span msg = { NULL, NULL }, last = { NULL, NULL };
	bool has_msg = field_value(b, "Disposition message:", &msg);
	bool has_last = field_value(b, "LastStatus:", &last);
	if (has_msg)
		plain_text(msg.p, msg.end, out->message, sizeof out->message);
	has_msg = has_msg && out->message[0];

	/* LastStatus "<text> 0x80094014 (-2146877420 CERTSRV_E_ADMIN_DENIED_REQUEST)". */
	if (has_last && find_hresult(last.p, last.end, &out->hresult))
		out->has_hresult = true;
	else if (has_msg && find_hresult(msg.p, msg.end, &out->hresult))
		out->has_hresult = true;

	struct span m = has_msg ? msg : (struct span){ b.p, b.p };
	if (contains(m, "Taken Under Submission")) {
		out->disposition = CERTSRV_PENDING;
		return 0;
	}
	if (contains(m, "Denied by") || contains(m, "denied")) {
		out->disposition = CERTSRV_DENIED;
		return 0;
	}
	if (contains(b, "The requested property value is empty") ||
	    (out->has_hresult && out->hresult == 0x80094004u) ||
	    contains(m, "request ID is invalid") || contains(m, "Invalid ReqID")) {
		out->disposition = CERTSRV_UNKNOWN_REQUEST;
		if (!out->message[0])
			snprintf(out->message, sizeof out->message,
				 "The requested property value is empty (the CA has no such request)");
		return 0;
	}
	if (out->has_hresult && out->hresult != 0) {
		out->disposition = CERTSRV_DENIED;
		return 0;
	}
	/* Localised page: the numeric disposition (CR_DISP_*) still tells. */
	struct span d;
	long n;
	if (field_value(b, "Disposition:", &d) && parse_digits(d.p, d.end, &n, NULL)) {
		if (n == 5) {
			out->disposition = CERTSRV_PENDING;
			return 0;
		}
		if (n == 2) {
			out->disposition = CERTSRV_DENIED;
			return 0;
		}
	}
	out->disposition = CERTSRV_ERROR;
	if (!out->message[0]) {
		char ex[200];
		excerpt(b, ex, sizeof ex);
		snprintf(out->message, sizeof out->message, "unrecognised answer from certnew.cer%s%s",
			 ex[0] ? ": " : "", ex);
	}
	return 0;
}

static const struct {
	uint32_t code;
	const char *name;
	const char *explain;
} hresults[] = {
	{ 0x80094001u, "CERTSRV_E_BAD_REQUESTSUBJECT",
	  "the request's subject is invalid or too long" },
	{ 0x80094004u, "CERTSRV_E_PROPERTY_EMPTY",
	  "the CA has no such request (its database may have been reset)" },
	{ 0x8009400Eu, "CERTSRV_E_BAD_RENEWAL_CERT_ATTRIBUTE",
	  "the renewal certificate attribute in the request is invalid" },
	{ 0x80094011u, "CERTSRV_E_ENROLL_DENIED",
	  "the CA's own permissions do not allow this account to enroll" },
	{ 0x80094012u, "CERTSRV_E_TEMPLATE_DENIED",
	  "the template's permissions do not allow this account to enroll; ask an administrator to grant Enroll" },
	{ 0x80094014u, "CERTSRV_E_ADMIN_DENIED_REQUEST",
	  "a CA manager or administrator denied the request" },
	{ 0x80094800u, "CERTSRV_E_UNSUPPORTED_CERT_TYPE",
	  "this CA does not issue the template (not published on it)" },
	{ 0x80094801u, "CERTSRV_E_NO_CERT_TYPE",
	  "the request named no certificate template" },
	{ 0x80094802u, "CERTSRV_E_TEMPLATE_CONFLICT",
	  "the request carries conflicting template information" },
	{ 0x80094803u, "CERTSRV_E_SUBJECT_ALT_NAME_REQUIRED",
	  "the template requires a subject alternative name the request lacks" },
	{ 0x80094804u, "CERTSRV_E_ARCHIVED_KEY_REQUIRED",
	  "the template requires private key archival, which adenroll does not do" },
	{ 0x80094806u, "CERTSRV_E_BAD_RENEWAL_SUBJECT",
	  "a renewal was made on behalf of another subject" },
	{ 0x80094807u, "CERTSRV_E_BAD_TEMPLATE_VERSION",
	  "the template changed and the CA has not refreshed its cache yet; retry later" },
	{ 0x8009480Au, "CERTSRV_E_SIGNATURE_COUNT",
	  "the template requires enrollment agent signatures" },
	{ 0x8009480Du, "CERTSRV_E_SUBJECT_UPN_REQUIRED",
	  "the account has no userPrincipalName in the directory, which the template requires" },
	{ 0x8009480Eu, "CERTSRV_E_SUBJECT_DIRECTORY_GUID_REQUIRED",
	  "the account's objectGUID is required by the template" },
	{ 0x8009480Fu, "CERTSRV_E_SUBJECT_DNS_REQUIRED",
	  "the account has no dNSHostName in the directory, which the template requires" },
	{ 0x80094810u, "CERTSRV_E_ARCHIVED_KEY_UNEXPECTED",
	  "the request contains an archived key the template does not expect" },
	{ 0x80094811u, "CERTSRV_E_KEY_LENGTH",
	  "the key is shorter than the template's minimum key size" },
	{ 0x80094812u, "CERTSRV_E_SUBJECT_EMAIL_REQUIRED",
	  "the account has no e-mail address (mail) in the directory, which the template requires" },
	{ 0x80094814u, "CERTSRV_E_CERT_TYPE_OVERLAP",
	  "the template's renewal period is longer than the certificate's validity" },
	{ 0x80094816u, "CERTSRV_E_RENEWAL_BAD_PUBLIC_KEY",
	  "the renewal request's key does not match the certificate being renewed" },
	{ 0x8009310Bu, "CRYPT_E_ASN1_BADTAG",
	  "the CA could not parse the request (bad ASN.1)" },
};

const char *certsrv_hresult_name(uint32_t hresult)
{
	for (size_t i = 0; i < sizeof hresults / sizeof hresults[0]; i++)
		if (hresults[i].code == hresult)
			return hresults[i].name;
	return NULL;
}

const char *certsrv_hresult_explain(uint32_t hresult)
{
	for (size_t i = 0; i < sizeof hresults / sizeof hresults[0]; i++)
		if (hresults[i].code == hresult)
			return hresults[i].explain;
	return NULL;
}

const char *certsrv_disposition_name(enum certsrv_disposition d)
{
	switch (d) {
	case CERTSRV_ISSUED: return "issued";
	case CERTSRV_PENDING: return "pending";
	case CERTSRV_DENIED: return "denied";
	case CERTSRV_ERROR: return "error";
	case CERTSRV_UNAUTHORIZED: return "unauthorized";
	case CERTSRV_UNKNOWN_REQUEST: return "unknown request";
	}
	return "?";
}
