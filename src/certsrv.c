/* AD CS web enrollment (docs/protocol.md 6.1, 6.2, 6.7): the /certsrv pages over
 * the HTTPS+Kerberos layer of https_client (TLS trusting only the directory's
 * CA certificates, our own Negotiate token with channel bindings). */
#include "adenroll-build.h"

#include "certsrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert.h"
#include "https_client.h"
#include "log.h"
#include "openssl_loader.h"

/* certsrv answers with a different Content-Type unless it believes we are a
 * browser (docs/protocol.md 6.2). */
#define CERTSRV_USER_AGENT "Mozilla/5.0 (X11; Linux x86_64; compatible) adenroll/" PACKAGE_VERSION

struct certsrv_client {
	struct https_client *https;
	char *host;
	struct https_response resp;   /* the last answer (https_client_response) */
};

void certsrv_get_stats(struct certsrv_stats *out)
{
	struct https_stats s;
	https_get_stats(&s);
	out->requests = s.requests;
	out->bytes_in = s.bytes_in;
	out->connections = s.connections;
	out->seconds = s.seconds;
}

static void copy_auth(struct certsrv_auth *to, const struct https_auth *from)
{
	to->token_sent = from->token_sent;
	to->binding_sent = from->binding_sent;
	snprintf(to->binding_hash, sizeof to->binding_hash, "%s", from->binding_hash);
	to->binding_undefined = from->binding_undefined;
	to->accepted = from->accepted;
	to->refused = from->refused;
}

struct certsrv_client *certsrv_client_new(const char *ca_host, const struct bloblist *trust_ders,
					  const struct bloblist *intermediate_ders, long timeout_seconds)
{
	if (!ca_host || !*ca_host || strpbrk(ca_host, "/?#@ \t\r\n")) {
		log_error("invalid CA host name \"%s\"", ca_host ? ca_host : "");
		return NULL;
	}
	char *prefix = xasprintf("https://%s/certsrv/", ca_host);
	struct https_client *h = https_client_new(prefix, trust_ders, intermediate_ders, timeout_seconds,
						  CERTSRV_USER_AGENT);
	free(prefix);
	if (!h)
		return NULL;
	struct certsrv_client *c = xcalloc(1, sizeof *c);
	c->https = h;
	c->host = xstrdup(ca_host);
	return c;
}

void certsrv_client_free(struct certsrv_client *c)
{
	if (!c)
		return;
	https_client_free(c->https);
	free(c->host);
	free(c);
}

static int perform(struct certsrv_client *c, const char *path, const char *post, char *msg, size_t msglen)
{
	int rc = https_client_request(c->https, path, NULL, post, post ? strlen(post) : 0, NULL, msg, msglen);
	https_client_response(c->https, &c->resp);
	return rc;
}

/* 401 after the Negotiate exchange: say what usually causes it (docs/protocol.md 6.7). */
static void explain_unauthorized(const struct certsrv_client *c, struct certsrv_result *out)
{
	if (out->disposition != CERTSRV_UNAUTHORIZED)
		return;
	const struct https_auth *auth = https_client_auth(c->https);
	const char *token_error = https_client_token_error(c->https);
	if (token_error[0])
		snprintf(out->message, sizeof out->message, "HTTP 401 from %s and no Kerberos token to answer it: %s",
			 c->host, token_error);
	else if (auth->binding_sent)
		snprintf(out->message, sizeof out->message,
			 "HTTP 401 from %s: Kerberos authentication with channel binding (tls-server-end-point, %s) "
			 "was refused (the web server's key for HTTP/%s is not current, a clock skew, or TLS is "
			 "terminated before the CA so the binding names another certificate; run `adenroll doctor`)",
			 c->host, auth->binding_hash, c->host);
	else
		snprintf(out->message, sizeof out->message,
			 "HTTP 401 from %s: Kerberos authentication was refused (the web server's key for HTTP/%s "
			 "is not current, a clock skew, or the server requires Extended Protection / channel "
			 "binding%s; run `adenroll doctor`)",
			 c->host, c->host, auth->binding_undefined ? ", which its certificate's signature "
								 "algorithm does not allow" : "");
}

static void fail_result(struct certsrv_result *out, long status, const char *msg)
{
	memset(out, 0, sizeof *out);
	out->disposition = CERTSRV_ERROR;
	out->request_id = -1;
	out->http_status = status;
	snprintf(out->message, sizeof out->message, "%s", msg);
}

/* A certificate answer as canonical PEM, recognised by its bytes (DER, PEM or
 * bare base64 under whatever Content-Type); NULL when it is not one. */
static char *body_to_pem(const struct https_response *r)
{
	unsigned char *der = NULL;
	size_t n = 0;
	X509 *x = certsrv_cert_der(r->data, r->len, &der, &n) == 0 ? cert_from_der(der, n) : NULL;
	char *pem = x ? cert_to_pem(x) : NULL;
	X509_free(x);
	free(der);
	return pem;
}

static bool is_answer(enum certsrv_disposition d)
{
	return d == CERTSRV_ISSUED || d == CERTSRV_PENDING || d == CERTSRV_DENIED || d == CERTSRV_UNKNOWN_REQUEST;
}

int certsrv_retrieve(struct certsrv_client *c, long req_id, struct certsrv_result *out, char **cert_pem_out)
{
	char msg[512];
	*cert_pem_out = NULL;
	char *path = xasprintf("certnew.cer?ReqID=%ld&Enc=b64", req_id);
	int rc = perform(c, path, NULL, msg, sizeof msg);
	free(path);
	if (rc < 0) {
		fail_result(out, 0, msg);
		return -1;
	}
	certsrv_parse_retrieve(c->resp.status, c->resp.content_type, c->resp.data, c->resp.len, out);
	explain_unauthorized(c, out);
	out->request_id = req_id;
	if (out->disposition == CERTSRV_ISSUED) {
		*cert_pem_out = body_to_pem(&c->resp);
		if (!*cert_pem_out) {
			fail_result(out, c->resp.status, "");
			snprintf(out->message, sizeof out->message,
				 "certnew.cer?ReqID=%ld from %s is not a certificate", req_id, c->host);
			out->request_id = req_id;
			return -1;
		}
	}
	return is_answer(out->disposition) ? 0 : -1;
}

int certsrv_submit(struct certsrv_client *c, const char *csr_pem, const char *template_cn,
		   struct certsrv_result *out, char **cert_pem_out)
{
	char msg[512];
	*cert_pem_out = NULL;
	/* CertAttrib lines end in CRLF, also the last one (docs/protocol.md 6.2). */
	char *attrib = xasprintf("CertificateTemplate:%s\r\n", template_cn);
	char *e_csr = https_form_escape(csr_pem);
	char *e_attrib = https_form_escape(attrib);
	char *body = xasprintf("Mode=newreq&CertRequest=%s&CertAttrib=%s&TargetStoreFlags=0&SaveCert=yes"
			       "&FriendlyType=Saved-Request%%20Certificate&ThumbPrint=",
			       e_csr, e_attrib);
	int rc = perform(c, "certfnsh.asp", body, msg, sizeof msg);
	free(attrib);
	free(e_csr);
	free(e_attrib);
	free(body);
	if (rc < 0) {
		fail_result(out, 0, msg);
		return -1;
	}
	certsrv_parse_submit(c->resp.status, c->resp.content_type, c->resp.data, c->resp.len, out);
	explain_unauthorized(c, out);
	if (out->disposition == CERTSRV_ERROR && out->http_status >= 500)
		snprintf(out->message, sizeof out->message, "%s answered HTTP %ld to certfnsh.asp", c->host,
			 out->http_status);
	if (out->disposition != CERTSRV_ISSUED)
		return is_answer(out->disposition) ? 0 : -1;
	if (out->body_is_cert) {
		*cert_pem_out = body_to_pem(&c->resp);
		if (!*cert_pem_out) {
			fail_result(out, c->resp.status, "certfnsh.asp answered with a certificate that does not parse");
			return -1;
		}
		return 0;
	}
	/* Issued: the page only links the certificate (docs/protocol.md 6.3 step 3). */
	long id = out->request_id;
	struct certsrv_result r2;
	if (certsrv_retrieve(c, id, &r2, cert_pem_out) < 0 || r2.disposition != CERTSRV_ISSUED) {
		free(*cert_pem_out);
		*cert_pem_out = NULL;
		fail_result(out, r2.http_status, "");
		out->request_id = id;
		snprintf(out->message, sizeof out->message,
			 "request %ld was issued but certnew.cer did not return it: %.400s", id, r2.message);
		return -1;
	}
	return 0;
}

int certsrv_fetch_chain(struct certsrv_client *c, long req_id, STACK_OF(X509) **chain)
{
	char msg[512];
	*chain = NULL;
	char *path = xasprintf("certnew.p7b?ReqID=%ld&Enc=b64", req_id);
	int rc = perform(c, path, NULL, msg, sizeof msg);
	free(path);
	if (rc < 0) {
		log_warn("cannot fetch the certificate chain of request %ld: %s", req_id, msg);
		return -1;
	}
	if (c->resp.status != 200 || c->resp.len == 0) {
		log_warn("cannot fetch the certificate chain of request %ld from %s: HTTP %ld", req_id, c->host,
			 c->resp.status);
		return -1;
	}
	*chain = cert_stack_from_pkcs7(c->resp.data, c->resp.len);
	if (!*chain) {
		log_warn("the chain of request %ld from %s is not a PKCS#7 certificate bundle", req_id, c->host);
		return -1;
	}
	return 0;
}

void certsrv_library_info(struct certsrv_library_info *out)
{
	struct https_library_info l;
	https_library_info(&l);
	memset(out, 0, sizeof *out);
	snprintf(out->curl_version, sizeof out->curl_version, "%s", l.curl_version);
	snprintf(out->tls_library, sizeof out->tls_library, "%s", l.tls_library);
	out->curl_gssapi = l.curl_gssapi;
	out->curl_spnego = l.curl_spnego;
	out->openssl = l.openssl;
	out->gss_forwards_bindings = l.gss_forwards_bindings;
}

int certsrv_probe(const char *ca_host, const struct bloblist *trust_ders,
		  const struct bloblist *intermediate_ders, long timeout_seconds, enum certsrv_probe_auth auth,
		  struct certsrv_probe *out)
{
	memset(out, 0, sizeof *out);
	struct certsrv_client *c = certsrv_client_new(ca_host, trust_ders, intermediate_ders, timeout_seconds);
	if (!c) {
		snprintf(out->message, sizeof out->message, "cannot set up HTTPS to %s (see the message above)",
			 ca_host ? ca_host : "");
		return -1;
	}
	/* without credentials the server's 401 lists what it would accept */
	https_client_set_auth(c->https, auth != CERTSRV_PROBE_ANONYMOUS, auth != CERTSRV_PROBE_KERBEROS_UNBOUND);
	int rc = perform(c, "", NULL, out->message, sizeof out->message);
	copy_auth(&out->auth, https_client_auth(c->https));
	if (rc == 0) {
		out->http_status = c->resp.status;
		snprintf(out->auth_schemes, sizeof out->auth_schemes, "%s", c->resp.auth_schemes);
		out->negotiate_offered = https_offers_scheme(c->resp.auth_schemes, "Negotiate");
		out->ntlm_offered = https_offers_scheme(c->resp.auth_schemes, "NTLM");
	}
	certsrv_client_free(c);
	return rc;
}
