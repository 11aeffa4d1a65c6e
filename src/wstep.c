/* MS-WSTEP requests and answers (docs/protocol.md 10): SOAP 1.2 with
 * WS-Addressing, WS-Trust 1.3 RequestSecurityToken / ...ResponseCollection,
 * the MS-WSTEP extensions (RequestID, DispositionMessage,
 * CertificateEnrollmentWSDetail). */
#include "adenroll-build.h"

#include "wstep.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hresult.h"
#include "util.h"

static void xml_init(void)
{
	static bool done;
	if (!done) {
		xmlInitParser();
		done = true;
	}
}

static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* base64 DER with blanks removed; NULL when something else is in it. */
static char *clean_base64(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *out = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		      ch == '/' || ch == '=')) {
			free(out);
			return NULL;
		}
		out[k++] = ch;
	}
	out[k] = '\0';
	/* padding only at the end: at most two '=' */
	const char *pad = strchr(out, '=');
	if (k == 0 || k % 4 != 0 || (pad && (out + k - pad > 2 || strspn(pad, "=") != (size_t)(out + k - pad)))) {
		free(out);
		return NULL;
	}
	return out;
}

/* Envelope, Header (Action, MessageID, To), Body; returns the Body. */
static xmlNodePtr envelope_action(xmlDocPtr doc, const char *action, const char *to, const char *message_id)
{
	xmlNodePtr env = xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL);
	xmlDocSetRootElement(doc, env);
	xmlNsPtr s = xmlNewNs(env, BAD_CAST WSTEP_NS_SOAP, BAD_CAST "s");
	xmlNsPtr a = xmlNewNs(env, BAD_CAST WSTEP_NS_ADDRESSING, BAD_CAST "a");
	xmlSetNs(env, s);
	xmlNodePtr hdr = xmlNewChild(env, s, BAD_CAST "Header", NULL);
	xmlNodePtr act = xmlNewTextChild(hdr, a, BAD_CAST "Action", BAD_CAST action);
	xmlNewNsProp(act, s, BAD_CAST "mustUnderstand", BAD_CAST "1");
	xmlNewTextChild(hdr, a, BAD_CAST "MessageID", BAD_CAST message_id);
	xmlNodePtr dest = xmlNewTextChild(hdr, a, BAD_CAST "To", BAD_CAST to);
	xmlNewNsProp(dest, s, BAD_CAST "mustUnderstand", BAD_CAST "1");
	return xmlNewChild(env, s, BAD_CAST "Body", NULL);
}

static xmlNodePtr envelope(xmlDocPtr doc, const char *to, const char *message_id)
{
	return envelope_action(doc, WSTEP_ACTION_RST, to, message_id);
}

static xmlNodePtr rst(xmlNodePtr body, const char *request_type)
{
	xmlNodePtr r = xmlNewChild(body, NULL, BAD_CAST "RequestSecurityToken", NULL);
	xmlNsPtr wst = xmlNewNs(r, BAD_CAST WSTEP_NS_TRUST, NULL);
	xmlSetNs(r, wst);
	xmlNewProp(r, BAD_CAST "PreferredLanguage", BAD_CAST "en-US");
	xmlNewTextChild(r, wst, BAD_CAST "TokenType", BAD_CAST WSTEP_TOKEN_X509);
	xmlNewTextChild(r, wst, BAD_CAST "RequestType", BAD_CAST request_type);
	return r;
}

static char *dump(xmlDocPtr doc)
{
	xmlChar *mem = NULL;
	int n = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &n, "UTF-8", 0);
	char *out = mem && n > 0 ? xstrndup((const char *)mem, (size_t)n) : NULL;
	xmlFree(mem);
	xmlFreeDoc(doc);
	return out;
}

static void context_item(xmlNodePtr ctx, xmlNsPtr auth, const char *name, const char *value)
{
	xmlNodePtr item = xmlNewChild(ctx, auth, BAD_CAST "ContextItem", NULL);
	xmlNewProp(item, BAD_CAST "Name", BAD_CAST name);
	xmlNewTextChild(item, auth, BAD_CAST "Value", BAD_CAST value);
}

char *wstep_build_issue(const char *to, const char *message_id, const char *request_b64, bool pkcs7,
			const char *template_cn, const char *machine_name)
{
	if (!to || !message_id || !request_b64 || !template_cn || !printable(to) || !printable(message_id) ||
	    !*template_cn || !printable(template_cn) || (machine_name && !printable(machine_name)))
		return NULL;
	char *b64 = clean_base64(request_b64);
	if (!b64)
		return NULL;
	xml_init();
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr r = rst(envelope(doc, to, message_id), WSTEP_REQUEST_ISSUE);
	xmlNodePtr bst = xmlNewTextChild(r, NULL, BAD_CAST "BinarySecurityToken", BAD_CAST b64);
	xmlSetNs(bst, xmlNewNs(bst, BAD_CAST WSTEP_NS_WSSE, NULL));
	xmlNewProp(bst, BAD_CAST "ValueType", BAD_CAST(pkcs7 ? WSTEP_VALUE_PKCS7 : WSTEP_VALUE_PKCS10));
	xmlNewProp(bst, BAD_CAST "EncodingType", BAD_CAST WSTEP_ENCODING_BASE64);
	xmlNodePtr ctx = xmlNewChild(r, NULL, BAD_CAST "AdditionalContext", NULL);
	xmlNsPtr auth = xmlNewNs(ctx, BAD_CAST WSTEP_NS_AUTH, NULL);
	xmlSetNs(ctx, auth);
	/* MS-WSTEP 3.1.4.1.3.3: the CA reads the template from the request
	 * itself; the name here helps a CA that looks for it (as certfnsh.asp's
	 * CertAttrib does). */
	context_item(ctx, auth, "CertificateTemplate", template_cn);
	if (machine_name && *machine_name)
		context_item(ctx, auth, "ccm", machine_name);
	free(b64);
	return dump(doc);
}

char *wstep_build_query(const char *to, const char *message_id, long request_id)
{
	if (!to || !message_id || !printable(to) || !printable(message_id) || request_id < 0)
		return NULL;
	xml_init();
	char id[32];
	snprintf(id, sizeof id, "%ld", request_id);
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr r = rst(envelope(doc, to, message_id), WSTEP_REQUEST_QUERY);
	xmlNodePtr rid = xmlNewTextChild(r, NULL, BAD_CAST "RequestID", BAD_CAST id);
	xmlSetNs(rid, xmlNewNs(rid, BAD_CAST WSTEP_NS_ENROLL, NULL));
	return dump(doc);
}

/* ---- parsing ---- */

static bool is_el(const xmlNode *n, const char *ns, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr first_el(xmlNodePtr n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (is_el(c, ns, name))
			return c;
	return NULL;
}

/* The text of an element that holds only text (NULL otherwise; caller
 * frees), blanks at both ends removed. */
static char *text_of(xmlNodePtr n)
{
	if (!n)
		return NULL;
	for (xmlNodePtr c = n->children; c; c = c->next)
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return NULL;
	xmlChar *t = xmlNodeGetContent(n);
	if (!t)
		return xstrdup("");
	const char *s = (const char *)t;
	size_t len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	while (len && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		len--;
	}
	char *out = xstrndup(s, len);
	xmlFree(t);
	return out;
}

/* base64 (blanks allowed) into malloc'd bytes; -1 when it is not base64 or
 * decodes to more than WSTEP_MAX_TOKEN bytes. */
static int decode_b64(const char *s, unsigned char **out, size_t *outlen)
{
	char *b = clean_base64(s);
	int ret = -1;
	*out = NULL;
	*outlen = 0;
	if (b && strlen(b) / 4 * 3 <= WSTEP_MAX_TOKEN &&
	    certsrv_base64_decode(b, strlen(b), out, outlen) == 0 && *outlen > 0)
		ret = 0;
	if (ret < 0) {
		free(*out);
		*out = NULL;
		*outlen = 0;
	}
	free(b);
	return ret;
}

/* wstep:RequestID: a decimal number (CES passes the CA's request id). */
static int parse_request_id(xmlNodePtr n, long *id)
{
	char *t = text_of(n);
	int ret = -1;
	if (t && *t && strlen(t) <= 10 && strspn(t, "0123456789") == strlen(t)) {
		long v = strtol(t, NULL, 10);
		if (v >= 0 && v <= INT_MAX) {
			*id = v;
			ret = 0;
		}
	}
	free(t);
	return ret;
}

/* wstep:ErrorCode: xs:int, so an HRESULT arrives as a negative number
 * (-2146877420 = 0x80094014); 0x-prefixed hex accepted too. */
static int parse_error_code(xmlNodePtr n, uint32_t *hr)
{
	char *t = text_of(n), *end = NULL;
	int ret = -1;
	if (t && *t) {
		errno = 0;
		if ((t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) && t[2]) {
			unsigned long long v = strtoull(t + 2, &end, 16);
			if (!errno && *end == '\0' && v <= 0xffffffffULL) {
				*hr = (uint32_t)v;
				ret = 0;
			}
		} else {
			long long v = strtoll(t, &end, 10);
			if (!errno && *end == '\0' && v >= INT32_MIN && v <= (long long)UINT32_MAX) {
				*hr = (uint32_t)(v < 0 ? (uint32_t)(int32_t)v : (uint32_t)v);
				ret = 0;
			}
		}
	}
	free(t);
	return ret;
}

/* A message from the server: control characters become blanks (it is
 * logged and printed). */
static void copy_text(char *dst, size_t dstlen, const char *src)
{
	size_t k = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && k + 1 < dstlen; p++)
		dst[k++] = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
	dst[k] = '\0';
}

static int parse_fault(xmlNodePtr fault, struct wstep_answer *out)
{
	struct certsrv_result *r = &out->result;
	xmlNodePtr reason = child(child(fault, WSTEP_NS_SOAP, "Reason"), WSTEP_NS_SOAP, "Text");
	xmlNodePtr code = child(child(fault, WSTEP_NS_SOAP, "Code"), WSTEP_NS_SOAP, "Value");
	xmlNodePtr detail = child(child(fault, WSTEP_NS_SOAP, "Detail"), WSTEP_NS_ENROLL, "CertificateEnrollmentWSDetail");
	char *why = text_of(reason), *codev = text_of(code);
	if (why && *why)
		copy_text(r->message, sizeof r->message, why);
	else
		snprintf(r->message, sizeof r->message, "SOAP fault %.200s without a reason", codev ? codev : "");
	free(why);
	free(codev);
	if (detail) {
		xmlNodePtr rid = child(detail, WSTEP_NS_ENROLL, "RequestID");
		long id;
		if (rid && parse_request_id(rid, &id) == 0)
			r->request_id = id;
		xmlNodePtr ec = child(detail, WSTEP_NS_ENROLL, "ErrorCode");
		uint32_t hr;
		if (ec && parse_error_code(ec, &hr) == 0 && hr != 0) {
			r->has_hresult = true;
			r->hresult = hr;
		}
	}
	if (!r->has_hresult) {
		r->disposition = CERTSRV_ERROR; /* no code: cannot tell a verdict, never lose a request */
		return -1;
	}
	if (r->hresult == HRESULT_PROPERTY_EMPTY) {
		r->disposition = CERTSRV_UNKNOWN_REQUEST;
		return 0;
	}
	switch (hresult_classify(r->hresult)) {
	case HRESULT_VERDICT:
		r->disposition = CERTSRV_DENIED;
		return 0;
	case HRESULT_SUCCESS:
		r->disposition = CERTSRV_ERROR;
		return -1;
	case HRESULT_TRANSIENT:
		break;
	}
	r->disposition = CERTSRV_UNAVAILABLE;
	return -1;
}

/* A BinarySecurityToken: an X.509v3 certificate or a PKCS#7 bundle, base64. */
static int take_token(xmlNodePtr bst, unsigned char **der, size_t *len, bool *pkcs7, struct certsrv_result *r)
{
	xmlChar *vt = xmlGetNoNsProp(bst, BAD_CAST "ValueType");
	xmlChar *enc = xmlGetNoNsProp(bst, BAD_CAST "EncodingType");
	int ret = -1;
	if (enc && strcmp((const char *)enc, WSTEP_ENCODING_BASE64) != 0) {
		snprintf(r->message, sizeof r->message, "a BinarySecurityToken in an encoding other than base64 "
			 "(%.200s)", (const char *)enc);
		goto out;
	}
	if (vt && strcmp((const char *)vt, WSTEP_TOKEN_X509) == 0) {
		*pkcs7 = false;
	} else if (vt && strcmp((const char *)vt, WSTEP_VALUE_PKCS7) == 0) {
		*pkcs7 = true;
	} else {
		snprintf(r->message, sizeof r->message, "a BinarySecurityToken of unknown ValueType %.200s",
			 vt ? (const char *)vt : "(none)");
		goto out;
	}
	char *t = text_of(bst);
	if (!t || decode_b64(t, der, len) < 0) {
		free(t);
		snprintf(r->message, sizeof r->message, "a BinarySecurityToken that is not base64 of at most %d bytes",
			 WSTEP_MAX_TOKEN);
		goto out;
	}
	free(t);
	ret = 0;
out:
	xmlFree(vt);
	xmlFree(enc);
	return ret;
}

static int parse_rstr(xmlNodePtr rstr, struct wstep_answer *out)
{
	struct certsrv_result *r = &out->result;
	bool pkcs7 = false;
	char *disp = text_of(child(rstr, WSTEP_NS_ENROLL, "DispositionMessage"));
	if (disp)
		copy_text(r->message, sizeof r->message, disp);
	free(disp);
	xmlNodePtr rid = child(rstr, WSTEP_NS_ENROLL, "RequestID");
	long id;
	if (rid && parse_request_id(rid, &id) < 0) {
		snprintf(r->message, sizeof r->message, "the answer's RequestID is not a number");
		return -1;
	}
	if (rid)
		r->request_id = id;
	/* the chain: a PKCS#7 token directly in the response */
	for (xmlNodePtr c = rstr->children; c; c = c->next) {
		if (!is_el(c, WSTEP_NS_WSSE, "BinarySecurityToken"))
			continue;
		if (out->chain_der) {
			snprintf(r->message, sizeof r->message, "more than one chain in the answer");
			return -1;
		}
		if (take_token(c, &out->chain_der, &out->chain_len, &pkcs7, r) < 0)
			return -1;
		if (!pkcs7) {
			snprintf(r->message, sizeof r->message, "a certificate where the PKCS#7 chain belongs");
			return -1;
		}
	}
	xmlNodePtr rst_tok = child(rstr, WSTEP_NS_TRUST, "RequestedSecurityToken");
	xmlNodePtr bst = child(rst_tok, WSTEP_NS_WSSE, "BinarySecurityToken");
	if (bst) {
		if (take_token(bst, &out->cert_der, &out->cert_len, &pkcs7, r) < 0)
			return -1;
		out->cert_in_pkcs7 = pkcs7;
		r->disposition = CERTSRV_ISSUED;
		r->body_is_cert = true;
		return 0;
	}
	if (r->request_id >= 0) {
		/* MS-WSTEP 3.1.4.2.1.1: a pending answer names the request and
		 * carries no certificate. */
		r->disposition = CERTSRV_PENDING;
		return 0;
	}
	if (!r->message[0])
		snprintf(r->message, sizeof r->message, "an answer with neither a certificate nor a RequestID");
	r->disposition = CERTSRV_ERROR;
	return -1;
}

/* The first element of the SOAP 1.2 Body of an answer, with *doc set (the
 * caller frees it); NULL with why filled when the answer is empty, too
 * large, carries a document type, is not well-formed or not SOAP 1.2. */
static xmlNodePtr read_envelope(long http_status, const char *body, size_t len, xmlDocPtr *docp, char *why,
				size_t whylen)
{
	*docp = NULL;
	if (!body || len == 0) {
		snprintf(why, whylen, "an empty answer (HTTP %ld)", http_status);
		return NULL;
	}
	if (len > WSTEP_MAX_RESPONSE || len > INT_MAX) {
		snprintf(why, whylen, "an answer larger than %d bytes: refused", WSTEP_MAX_RESPONSE);
		return NULL;
	}
	/* No document type: no entities to expand, nothing to fetch. */
	for (size_t i = 0; i + 9 <= len; i++) {
		if (body[i] == '<' && body[i + 1] == '!' && memcmp(body + i, "<!DOCTYPE", 9) == 0) {
			snprintf(why, whylen, "an answer with a document type declaration: refused");
			return NULL;
		}
	}
	xml_init();
	xmlDocPtr doc = xmlReadMemory(body, (int)len, "wstep-response.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	*docp = doc;
	if (!doc || doc->intSubset || doc->extSubset) {
		snprintf(why, whylen, "the answer (HTTP %ld) is not well-formed XML", http_status);
		return NULL;
	}
	xmlNodePtr env = xmlDocGetRootElement(doc);
	if (!is_el(env, WSTEP_NS_SOAP, "Envelope")) {
		snprintf(why, whylen, "the answer (HTTP %ld) is not a SOAP 1.2 envelope", http_status);
		return NULL;
	}
	xmlNodePtr body_el = child(env, WSTEP_NS_SOAP, "Body");
	xmlNodePtr content = body_el ? first_el(body_el->children) : NULL;
	if (!content)
		snprintf(why, whylen, "the SOAP answer (HTTP %ld) has an empty Body", http_status);
	return content;
}

int wstep_parse_response(long http_status, const char *body, size_t len, struct wstep_answer *out)
{
	memset(out, 0, sizeof *out);
	struct certsrv_result *r = &out->result;
	r->disposition = CERTSRV_ERROR;
	r->request_id = -1;
	r->http_status = http_status;
	xmlDocPtr doc = NULL;
	int ret = -1;

	xmlNodePtr content = read_envelope(http_status, body, len, &doc, r->message, sizeof r->message);
	if (!content)
		goto out;
	if (is_el(content, WSTEP_NS_SOAP, "Fault")) {
		ret = parse_fault(content, out);
		goto out;
	}
	if (!is_el(content, WSTEP_NS_TRUST, "RequestSecurityTokenResponseCollection")) {
		snprintf(r->message, sizeof r->message, "the SOAP Body holds {%.150s}%.100s, not a WS-Trust "
			 "RequestSecurityTokenResponseCollection", content->ns && content->ns->href ?
			 (const char *)content->ns->href : "", (const char *)content->name);
		goto out;
	}
	xmlNodePtr rstr = first_el(content->children);
	if (!is_el(rstr, WSTEP_NS_TRUST, "RequestSecurityTokenResponse")) {
		snprintf(r->message, sizeof r->message, "the response collection holds no RequestSecurityTokenResponse");
		goto out;
	}
	if (http_status != 200) {
		snprintf(r->message, sizeof r->message, "a response collection with HTTP %ld", http_status);
		goto out;
	}
	ret = parse_rstr(rstr, out);
out:
	xmlFreeDoc(doc);
	if (ret < 0) {
		free(out->cert_der);
		free(out->chain_der);
		out->cert_der = out->chain_der = NULL;
		out->cert_len = out->chain_len = 0;
		if (r->disposition == CERTSRV_ISSUED || r->disposition == CERTSRV_PENDING)
			r->disposition = CERTSRV_ERROR;
	}
	return ret;
}

void wstep_answer_free(struct wstep_answer *a)
{
	if (!a)
		return;
	free(a->cert_der);
	free(a->chain_der);
	a->cert_der = a->chain_der = NULL;
}

/* ---- MS-XCEP: GetPolicies ---- */

char *xcep_build_get_policies(const char *to, const char *message_id)
{
	if (!to || !message_id || !printable(to) || !printable(message_id))
		return NULL;
	xml_init();
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr body = envelope_action(doc, XCEP_ACTION_GETPOLICIES, to, message_id);
	xmlNodePtr gp = xmlNewChild(body, NULL, BAD_CAST "GetPolicies", NULL);
	xmlNsPtr x = xmlNewNs(gp, BAD_CAST XCEP_NS, NULL);
	xmlNsPtr xsi = xmlNewNs(gp, BAD_CAST XCEP_NS_XSI, BAD_CAST "xsi");
	xmlSetNs(gp, x);
	/* MS-XCEP 3.1.4.1.3.1 Client: no cached policy (lastUpdate nil) and no
	 * language preference; a nil requestFilter asks for every policy. */
	xmlNodePtr client = xmlNewChild(gp, x, BAD_CAST "client", NULL);
	xmlNewNsProp(xmlNewChild(client, x, BAD_CAST "lastUpdate", NULL), xsi, BAD_CAST "nil", BAD_CAST "true");
	xmlNewNsProp(xmlNewChild(client, x, BAD_CAST "preferredLanguage", NULL), xsi, BAD_CAST "nil",
		     BAD_CAST "true");
	xmlNewNsProp(xmlNewChild(gp, x, BAD_CAST "requestFilter", NULL), xsi, BAD_CAST "nil", BAD_CAST "true");
	return dump(doc);
}

static bool is_nil(xmlNodePtr n)
{
	xmlChar *v = xmlGetNsProp(n, BAD_CAST "nil", BAD_CAST XCEP_NS_XSI);
	bool nil = v && (strcmp((const char *)v, "true") == 0 || strcmp((const char *)v, "1") == 0);
	xmlFree(v);
	return nil;
}

/* xs:unsignedInt / xs:int at most max: decimal digits only. */
static int xcep_number(xmlNodePtr n, unsigned long max, unsigned long *v)
{
	char *t = text_of(n);
	int ret = -1;
	if (t && *t && strlen(t) <= 10 && strspn(t, "0123456789") == strlen(t)) {
		unsigned long long x = strtoull(t, NULL, 10);
		if (x <= max) {
			*v = (unsigned long)x;
			ret = 0;
		}
	}
	free(t);
	return ret;
}

static int xcep_bool(xmlNodePtr n, bool *v)
{
	char *t = text_of(n);
	int ret = 0;
	if (t && (strcmp(t, "true") == 0 || strcmp(t, "1") == 0))
		*v = true;
	else if (t && (strcmp(t, "false") == 0 || strcmp(t, "0") == 0))
		*v = false;
	else
		ret = -1;
	free(t);
	return ret;
}

/* One cAURI (MS-XCEP 3.1.4.1.3.3). */
static int xcep_uri(xmlNodePtr n, struct xcep_uri *u, char *why, size_t whylen)
{
	unsigned long v;
	xmlNodePtr auth = child(n, XCEP_NS, "clientAuthentication");
	xmlNodePtr uri = child(n, XCEP_NS, "uri");
	xmlNodePtr prio = child(n, XCEP_NS, "priority");
	xmlNodePtr ro = child(n, XCEP_NS, "renewalOnly");
	if (!auth || xcep_number(auth, UINT32_MAX, &v) < 0) {
		snprintf(why, whylen, "a cAURI without a clientAuthentication number");
		return -1;
	}
	u->auth = (unsigned)v;
	u->priority = UINT_MAX;
	if (prio && !is_nil(prio)) {
		if (xcep_number(prio, UINT_MAX - 1, &v) < 0) {
			snprintf(why, whylen, "a cAURI priority that is not a number");
			return -1;
		}
		u->priority = (unsigned)v;
	}
	if (ro && !is_nil(ro) && xcep_bool(ro, &u->renewal_only) < 0) {
		snprintf(why, whylen, "a cAURI renewalOnly that is not a boolean");
		return -1;
	}
	char *url = uri ? text_of(uri) : NULL;
	if (!url || strlen(url) > XCEP_MAX_URL || strncasecmp(url, "https://", 8) != 0 || !printable(url) ||
	    strpbrk(url, " \t\"<>\\")) {
		snprintf(why, whylen, "a cAURI uri that is not an https:// address of at most %d characters",
			 XCEP_MAX_URL);
		free(url);
		return -1;
	}
	u->url = url;
	return 0;
}

/* One cA (MS-XCEP 3.1.4.1.3.2). */
static int xcep_ca(xmlNodePtr n, struct xcep_ca *ca, char *why, size_t whylen)
{
	unsigned long v;
	xmlNodePtr uris = child(n, XCEP_NS, "uris");
	xmlNodePtr cert = child(n, XCEP_NS, "certificate");
	xmlNodePtr ref = child(n, XCEP_NS, "cAReferenceID");
	if (!ref || xcep_number(ref, INT_MAX, &v) < 0) {
		snprintf(why, whylen, "a cA without a cAReferenceID number");
		return -1;
	}
	ca->reference_id = (long)v;
	char *t = cert ? text_of(cert) : NULL;
	if (!t || decode_b64(t, &ca->cert_der, &ca->cert_len) < 0) {
		free(t);
		snprintf(why, whylen, "cA %ld: its certificate is not base64 of at most %d bytes", ca->reference_id,
			 WSTEP_MAX_TOKEN);
		return -1;
	}
	free(t);
	if (!uris || is_nil(uris)) {
		snprintf(why, whylen, "cA %ld has no uris", ca->reference_id);
		return -1;
	}
	for (xmlNodePtr c = first_el(uris->children); c; c = first_el(c->next)) {
		if (!is_el(c, XCEP_NS, "cAURI")) {
			snprintf(why, whylen, "cA %ld: uris holds %.100s, not cAURI", ca->reference_id,
				 (const char *)c->name);
			return -1;
		}
		if (ca->n_uris == XCEP_MAX_URIS) {
			snprintf(why, whylen, "cA %ld: more than %d URIs: refused", ca->reference_id, XCEP_MAX_URIS);
			return -1;
		}
		ca->uris = xrealloc(ca->uris, (ca->n_uris + 1) * sizeof *ca->uris);
		memset(&ca->uris[ca->n_uris], 0, sizeof *ca->uris);
		if (xcep_uri(c, &ca->uris[ca->n_uris], why, whylen) < 0)
			return -1;
		ca->n_uris++;
	}
	if (ca->n_uris == 0) {
		snprintf(why, whylen, "cA %ld has no cAURI", ca->reference_id);
		return -1;
	}
	return 0;
}

int xcep_parse_response(long http_status, const char *body, size_t len, struct xcep_policy *out)
{
	memset(out, 0, sizeof *out);
	xmlDocPtr doc = NULL;
	int ret = -1;
	xmlNodePtr content = read_envelope(http_status, body, len, &doc, out->message, sizeof out->message);
	if (!content)
		goto out;
	if (is_el(content, WSTEP_NS_SOAP, "Fault")) {
		char *why = text_of(child(child(content, WSTEP_NS_SOAP, "Reason"), WSTEP_NS_SOAP, "Text"));
		char clean[400];
		copy_text(clean, sizeof clean, why ? why : "");
		snprintf(out->message, sizeof out->message, "a SOAP fault (HTTP %ld): %s", http_status,
			 clean[0] ? clean : "without a reason");
		free(why);
		goto out;
	}
	if (!is_el(content, XCEP_NS, "GetPoliciesResponse")) {
		snprintf(out->message, sizeof out->message, "the SOAP Body holds {%.150s}%.100s, not an MS-XCEP "
			 "GetPoliciesResponse", content->ns && content->ns->href ? (const char *)content->ns->href : "",
			 (const char *)content->name);
		goto out;
	}
	if (http_status != 200) {
		snprintf(out->message, sizeof out->message, "a GetPoliciesResponse with HTTP %ld", http_status);
		goto out;
	}
	xmlNodePtr cas = child(content, XCEP_NS, "cAs");
	if (!cas) {
		snprintf(out->message, sizeof out->message, "a GetPoliciesResponse without cAs");
		goto out;
	}
	if (!is_nil(cas)) {
		for (xmlNodePtr c = first_el(cas->children); c; c = first_el(c->next)) {
			if (!is_el(c, XCEP_NS, "cA")) {
				snprintf(out->message, sizeof out->message, "cAs holds %.100s, not cA", (const char *)c->name);
				goto out;
			}
			if (out->n_cas == XCEP_MAX_CAS) {
				snprintf(out->message, sizeof out->message, "more than %d CAs: refused", XCEP_MAX_CAS);
				goto out;
			}
			out->cas = xrealloc(out->cas, (out->n_cas + 1) * sizeof *out->cas);
			memset(&out->cas[out->n_cas], 0, sizeof *out->cas);
			out->n_cas++;
			if (xcep_ca(c, &out->cas[out->n_cas - 1], out->message, sizeof out->message) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	xmlFreeDoc(doc);
	if (ret < 0) {
		char keep[sizeof out->message];
		memcpy(keep, out->message, sizeof keep);
		xcep_policy_free(out);
		memcpy(out->message, keep, sizeof keep);
	}
	return ret;
}

void xcep_policy_free(struct xcep_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_cas; i++) {
		for (size_t k = 0; k < p->cas[i].n_uris; k++)
			free(p->cas[i].uris[k].url);
		free(p->cas[i].uris);
		free(p->cas[i].cert_der);
	}
	free(p->cas);
	memset(p, 0, sizeof *p);
}
