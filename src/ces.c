/* CES enrollment (MS-WSTEP over HTTPS with Kerberos; docs/protocol.md 10). */
#include "adenroll-build.h"

#include "ces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "https_client.h"
#include "log.h"
#include "openssl_loader.h"
#include "wstep.h"

#define CES_USER_AGENT "adenroll/" PACKAGE_VERSION
#define SOAP_CONTENT_TYPE "application/soap+xml; charset=utf-8"

struct ces_client {
	struct https_client *https;
	char *url;
	STACK_OF(X509) *chain;      /* from the last issued answer */
};

struct ces_client *ces_client_new(const char *url, const struct bloblist *trust_ders,
				  const struct bloblist *intermediate_ders, long timeout_seconds)
{
	struct https_client *h = https_client_new(url, trust_ders, intermediate_ders, timeout_seconds, CES_USER_AGENT);
	if (!h)
		return NULL;
	struct ces_client *c = xcalloc(1, sizeof *c);
	c->https = h;
	c->url = xstrdup(url);
	return c;
}

void ces_client_free(struct ces_client *c)
{
	if (!c)
		return;
	https_client_free(c->https);
	sk_X509_pop_free(c->chain, X509_free);
	free(c->url);
	free(c);
}

void ces_message_id(char out[64])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1)
		memset(b, 0, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 64, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The base64 of a PEM request (armour lines dropped) or of bare base64. */
static char *request_base64(const char *request)
{
	size_t n = strlen(request);
	char *out = xmalloc(n + 1), *o = out;
	const char *p = request;
	while (*p) {
		size_t l = strcspn(p, "\n");
		if (!(l >= 5 && strncmp(p, "-----", 5) == 0)) {
			memcpy(o, p, l);
			o += l;
		}
		p += l;
		if (*p == '\n')
			p++;
	}
	*o = '\0';
	return out;
}

static void fail(struct certsrv_result *out, const char *msg)
{
	memset(out, 0, sizeof *out);
	out->disposition = CERTSRV_ERROR;
	out->request_id = -1;
	snprintf(out->message, sizeof out->message, "%s", msg);
}

/* The issued certificate as PEM: the token itself, or the end-entity
 * certificate of a PKCS#7 token. */
static char *issued_pem(const struct wstep_answer *a)
{
	if (!a->cert_in_pkcs7) {
		X509 *x = cert_from_der(a->cert_der, a->cert_len);
		char *pem = x ? cert_to_pem(x) : NULL;
		X509_free(x);
		return pem;
	}
	STACK_OF(X509) *st = cert_stack_from_pkcs7(a->cert_der, a->cert_len);
	char *pem = NULL;
	for (int i = 0; st && !pem && i < sk_X509_num(st); i++)
		if (X509_check_ca(sk_X509_value(st, i)) == 0)
			pem = cert_to_pem(sk_X509_value(st, i));
	sk_X509_pop_free(st, X509_free);
	return pem;
}

static void explain_unauthorized(const struct ces_client *c, struct certsrv_result *out)
{
	const struct https_auth *auth = https_client_auth(c->https);
	const char *token_error = https_client_token_error(c->https);
	const char *host = https_client_host(c->https);
	out->disposition = CERTSRV_UNAUTHORIZED;
	if (token_error[0])
		snprintf(out->message, sizeof out->message, "HTTP 401 from %s and no Kerberos token to answer it: %s",
			 c->url, token_error);
	else
		snprintf(out->message, sizeof out->message,
			 "HTTP 401 from %s: Kerberos authentication%s was refused (the key of HTTP/%s is not "
			 "current, a clock skew, Kerberos not enabled on the CES site, or the server requires channel "
			 "binding; run `adenroll doctor`)", c->url, auth->binding_sent ? " with channel binding" : "",
			 host);
}

/* One SOAP exchange; fills out and the certificate. */
static int exchange(struct ces_client *c, const char *envelope, const char *what, struct certsrv_result *out,
		    char **cert_pem_out)
{
	char msg[512];
	struct https_response resp;
	struct wstep_answer a;

	*cert_pem_out = NULL;
	if (https_client_request(c->https, "", SOAP_CONTENT_TYPE, envelope, strlen(envelope),
				 "SOAPAction: \"" WSTEP_ACTION_RST "\"", msg, sizeof msg) < 0) {
		fail(out, msg);
		return -1;
	}
	https_client_response(c->https, &resp);
	if (resp.status == 401) {
		memset(out, 0, sizeof *out);
		out->request_id = -1;
		out->http_status = 401;
		explain_unauthorized(c, out);
		return -1;
	}
	int rc = wstep_parse_response(resp.status, resp.data, resp.len, &a);
	*out = a.result;
	if (rc < 0) {
		char why[sizeof out->message];
		snprintf(why, sizeof why, "%s", out->message);
		snprintf(out->message, sizeof out->message, "%.60s to %.200s (HTTP %ld): %.230s", what, c->url,
			 resp.status, why);
		wstep_answer_free(&a);
		return -1;
	}
	if (out->disposition == CERTSRV_ISSUED) {
		*cert_pem_out = issued_pem(&a);
		if (!*cert_pem_out) {
			out->disposition = CERTSRV_ERROR;
			snprintf(out->message, sizeof out->message, "the certificate in the answer from %.300s does not parse",
				 c->url);
			wstep_answer_free(&a);
			return -1;
		}
		sk_X509_pop_free(c->chain, X509_free);
		c->chain = NULL;
		if (a.chain_der)
			c->chain = cert_stack_from_pkcs7(a.chain_der, a.chain_len);
		else if (a.cert_in_pkcs7)
			c->chain = cert_stack_from_pkcs7(a.cert_der, a.cert_len);
	}
	wstep_answer_free(&a);
	return 0;
}

int ces_submit(struct ces_client *c, const char *request, bool cms, const char *template_cn,
	       const char *machine_name, struct certsrv_result *out, char **cert_pem_out)
{
	char id[64];
	ces_message_id(id);
	char *b64 = request_base64(request);
	char *env = wstep_build_issue(c->url, id, b64, cms, template_cn, machine_name);
	free(b64);
	*cert_pem_out = NULL;
	if (!env) {
		fail(out, "cannot build the CES request (a template name or request that cannot be sent)");
		return -1;
	}
	int rc = exchange(c, env, "RequestSecurityToken", out, cert_pem_out);
	free(env);
	return rc;
}

int ces_retrieve(struct ces_client *c, long req_id, struct certsrv_result *out, char **cert_pem_out)
{
	char id[64];
	ces_message_id(id);
	char *env = wstep_build_query(c->url, id, req_id);
	*cert_pem_out = NULL;
	if (!env) {
		fail(out, "cannot build the CES status query");
		return -1;
	}
	int rc = exchange(c, env, "QueryTokenStatus", out, cert_pem_out);
	free(env);
	if (out->request_id < 0)
		out->request_id = req_id;
	if (rc == 0 || out->disposition == CERTSRV_UNKNOWN_REQUEST)
		return 0;
	return -1;
}

int ces_fetch_chain(struct ces_client *c, STACK_OF(X509) **chain)
{
	*chain = NULL;
	if (!c->chain)
		return -1;
	*chain = sk_X509_deep_copy(c->chain, X509_dup, X509_free);
	return *chain ? 0 : -1;
}

int ces_probe(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
	      long timeout_seconds, enum certsrv_probe_auth auth, struct certsrv_probe *out)
{
	memset(out, 0, sizeof *out);
	struct https_client *h = https_client_new(url, trust_ders, intermediate_ders, timeout_seconds, CES_USER_AGENT);
	if (!h) {
		snprintf(out->message, sizeof out->message, "cannot set up HTTPS to %s (see the message above)",
			 url ? url : "");
		return -1;
	}
	https_client_set_auth(h, auth != CERTSRV_PROBE_ANONYMOUS, auth != CERTSRV_PROBE_KERBEROS_UNBOUND);
	int rc = https_client_request(h, "", NULL, NULL, 0, NULL, out->message, sizeof out->message);
	const struct https_auth *a = https_client_auth(h);
	out->auth.token_sent = a->token_sent;
	out->auth.binding_sent = a->binding_sent;
	snprintf(out->auth.binding_hash, sizeof out->auth.binding_hash, "%s", a->binding_hash);
	out->auth.binding_undefined = a->binding_undefined;
	out->auth.accepted = a->accepted;
	out->auth.refused = a->refused;
	if (rc == 0) {
		struct https_response resp;
		https_client_response(h, &resp);
		out->http_status = resp.status;
		snprintf(out->auth_schemes, sizeof out->auth_schemes, "%s", resp.auth_schemes);
		out->negotiate_offered = https_offers_scheme(resp.auth_schemes, "Negotiate");
		out->ntlm_offered = https_offers_scheme(resp.auth_schemes, "NTLM");
	}
	https_client_free(h);
	return rc;
}
