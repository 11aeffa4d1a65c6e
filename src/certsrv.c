/* AD CS web enrollment over libcurl (docs/protocol.md 6.1, 6.2, 6.7): SPNEGO with the
 * process's Kerberos ccache, TLS trusting only the directory's CA certificates.
 * The Negotiate token is made here (gss_spnego) rather than by libcurl so it
 * carries channel bindings for the certificate of the very connection it is
 * sent on (Extended Protection), whatever the libcurl version. */
#include "adenroll-build.h"

#include "certsrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cert.h"
#include "channel_binding.h"
#include "gss_spnego.h"
#include "log.h"
#include "runlimit.h"

/* certsrv answers with a different Content-Type unless it believes we are a
 * browser (docs/protocol.md 6.2). */
#define CERTSRV_USER_AGENT "Mozilla/5.0 (X11; Linux x86_64; compatible) adenroll/" PACKAGE_VERSION

struct response {
	char *data;
	size_t len, cap;
	bool too_big;
	long status;
	char content_type[128];
	char auth[128];               /* WWW-Authenticate schemes (certsrv_probe) */
	char *negotiate;              /* token of "WWW-Authenticate: Negotiate <token>" */
	X509 *peer;                   /* TLS certificate of the connection the answer came over */
	CURL *curl;                   /* to read that certificate while the connection is live */
};

struct certsrv_client {
	CURL *curl;
	char *host;
	char *base;                   /* https://host/certsrv/ */
	struct bloblist trust;        /* DER copies of the roots, loaded into each new SSL_CTX */
	STACK_OF(X509) *intermediates;/* untrusted chain material (verify_chain) */
	long timeout;
	char errbuf[CURL_ERROR_SIZE];
	struct response resp;
	bool kerberos;                /* authenticate (certsrv_probe can do without) */
	bool no_binding;              /* certsrv_probe: a token without channel bindings */
	X509 *bound;                  /* the certificate the next token is bound to */
	char token_error[300];        /* why no token could be made for the last 401 */
	struct certsrv_auth auth;     /* how the last authenticated request went */
};

static struct certsrv_stats stats;
static bool curl_ready;

void certsrv_get_stats(struct certsrv_stats *out)
{
	*out = stats;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct response *r = userdata;
	size_t n = size * nmemb;
	if (n > CERTSRV_MAX_RESPONSE || r->len + n > CERTSRV_MAX_RESPONSE) {
		r->too_big = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		while (cap < r->len + n + 1)
			cap *= 2;
		r->data = xrealloc(r->data, cap);
		r->cap = cap;
	}
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	stats.bytes_in += n;
	return n;
}

static void capture_peer_certificate(struct response *r)
{
	/* CURLINFO_TLS_SSL_PTR is only valid while the transfer runs: after
	 * curl_easy_perform the connection may already be gone. */
	X509_free(r->peer);
	r->peer = NULL;
	const struct curl_tlssessioninfo *ti = NULL;
	if (curl_easy_getinfo(r->curl, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || !ti ||
	    ti->backend != CURLSSLBACKEND_OPENSSL || !ti->internals)
		return;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	r->peer = SSL_get1_peer_certificate((SSL *)ti->internals);
#else
	r->peer = SSL_get_peer_certificate((SSL *)ti->internals);
#endif
}

/* The token of a "Negotiate <base64>" challenge (RFC 4559 section 5). */
static void capture_negotiate_token(struct response *r, const char *v, size_t n)
{
	size_t i = 0;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (n - i < 10 || strncasecmp(v + i, "Negotiate", 9) != 0 || (v[i + 9] != ' ' && v[i + 9] != '\t'))
		return;
	i += 9;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	size_t k = i;
	while (k < n && v[k] != ' ' && v[k] != '\t' && v[k] != '\r' && v[k] != '\n' && v[k] != ',')
		k++;
	if (k > i) {
		free(r->negotiate);
		r->negotiate = xstrndup(v + i, k - i);
	}
}

/* Each status line starts a response (the 401 leg of SPNEGO included): count
 * it and drop the previous response's body so only the final one is kept. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct response *r = userdata;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		stats.requests++;
		r->len = 0;
		if (r->data)
			r->data[0] = '\0';
		r->auth[0] = '\0';
		free(r->negotiate);
		r->negotiate = NULL;
		capture_peer_certificate(r);
	} else if (n > 17 && strncasecmp(ptr, "WWW-Authenticate:", 17) == 0) {
		capture_negotiate_token(r, ptr + 17, n - 17);
		/* the scheme is the first token of the value */
		size_t i = 17, len = strlen(r->auth);
		while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
			i++;
		size_t k = i;
		while (k < n && ptr[k] != ' ' && ptr[k] != '\t' && ptr[k] != '\r' && ptr[k] != '\n' && ptr[k] != ',')
			k++;
		if (k > i && len + (k - i) + 3 < sizeof r->auth)
			snprintf(r->auth + len, sizeof r->auth - len, "%s%.*s", len ? ", " : "", (int)(k - i), ptr + i);
	}
	return n;
}

/* OpenSSL's chain check with the directory's intermediates added to what the
 * server sent: both are only material to build a path from; the path must
 * still end in a root of the store (no partial chain). */
static int verify_chain(X509_STORE_CTX *sctx, void *arg)
{
	struct certsrv_client *c = arg;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(sctx);
	STACK_OF(X509) *all = sent ? sk_X509_dup(sent) : sk_X509_new_null();
	int ok;

	if (!all)
		return 0;
	for (int i = 0; c->intermediates && i < sk_X509_num(c->intermediates); i++)
		sk_X509_push(all, sk_X509_value(c->intermediates, i));
	X509_STORE_CTX_set0_untrusted(sctx, all);
	X509_VERIFY_PARAM_clear_flags(X509_STORE_CTX_get0_param(sctx), X509_V_FLAG_PARTIAL_CHAIN);
	ok = X509_verify_cert(sctx);
	X509_STORE_CTX_set0_untrusted(sctx, sent);
	sk_X509_free(all);
	return ok;
}

/* Replaces whatever CA store curl prepared with exactly the directory's root
 * CAs (CN=Certification Authorities): the certsrv TLS certificate must chain
 * to a root the directory publishes (Samba CVE-2026-3012: never trust what
 * the server itself hands out).  Intermediates, AIA and cross certificates
 * included, are never anchors: libcurl turns X509_V_FLAG_PARTIAL_CHAIN on
 * by default, which would make every certificate in the store one. */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *userdata)
{
	(void)curl;
	struct certsrv_client *c = userdata;
	X509_STORE *store = X509_STORE_new();
	if (!store)
		return CURLE_OUT_OF_MEMORY;
	X509_VERIFY_PARAM_clear_flags(X509_STORE_get0_param(store), X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_clear_flags(SSL_CTX_get0_param((SSL_CTX *)ssl_ctx), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_cert_verify_callback((SSL_CTX *)ssl_ctx, verify_chain, c);
	size_t added = 0;
	for (size_t i = 0; i < c->trust.n; i++) {
		X509 *x = cert_from_der(c->trust.v[i].data, c->trust.v[i].len);
		if (!x)
			continue;
		if (X509_STORE_add_cert(store, x) == 1)
			added++;
		X509_free(x);
	}
	SSL_CTX_set_cert_store((SSL_CTX *)ssl_ctx, store);
	return added ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

/* run_timeout (runlimit.h): end the request in progress so the run can stop. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)userdata;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return runlimit_expired() ? 1 : 0;
}

static void curl_init_once(void)
{
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
}

struct certsrv_client *certsrv_client_new(const char *ca_host, const struct bloblist *trust_ders,
					  const struct bloblist *intermediate_ders, long timeout_seconds)
{
	if (!ca_host || !*ca_host || strpbrk(ca_host, "/?#@ \t\r\n")) {
		log_error("invalid CA host name \"%s\"", ca_host ? ca_host : "");
		return NULL;
	}
	if (!trust_ders || trust_ders->n == 0) {
		log_error("no root CA from the directory (CN=Certification Authorities) to verify https://%s/ against", ca_host);
		return NULL;
	}
	curl_init_once();
	struct certsrv_client *c = xcalloc(1, sizeof *c);
	c->curl = curl_easy_init();
	if (!c->curl) {
		log_error("cannot initialise libcurl");
		free(c);
		return NULL;
	}
	c->host = xstrdup(ca_host);
	c->base = xasprintf("https://%s/certsrv/", ca_host);
	for (size_t i = 0; i < trust_ders->n; i++)
		bloblist_add(&c->trust, trust_ders->v[i].data, trust_ders->v[i].len);
	c->intermediates = sk_X509_new_null();
	for (size_t i = 0; c->intermediates && intermediate_ders && i < intermediate_ders->n; i++) {
		X509 *x = cert_from_der(intermediate_ders->v[i].data, intermediate_ders->v[i].len);
		if (x && !sk_X509_push(c->intermediates, x))
			X509_free(x);
	}
	c->timeout = timeout_seconds > 0 ? timeout_seconds : 60;
	c->kerberos = true;
	c->resp.curl = c->curl;

	CURL *h = c->curl;
	CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_USERAGENT, CERTSRV_USER_AGENT);
	/* No HTTP authentication by libcurl: perform() sends our own Negotiate
	 * token; never NTLM or Basic. */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NO_PARTIALCHAIN);
	SET(CURLOPT_CAINFO, (char *)NULL);
	SET(CURLOPT_CAPATH, (char *)NULL);
	SET(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	SET(CURLOPT_SSL_CTX_DATA, c);
	SET(CURLOPT_TIMEOUT, c->timeout);
	SET(CURLOPT_CONNECTTIMEOUT, c->timeout < 30 ? c->timeout : 30L);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, c->timeout);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CERTSRV_MAX_RESPONSE);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, &c->resp);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, &c->resp);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_NOPROGRESS, 0L);
#undef SET
	if (rc != CURLE_OK) {
		log_error("cannot configure libcurl for https://%s/: %s", ca_host, curl_easy_strerror(rc));
		certsrv_client_free(c);
		return NULL;
	}
	return c;
}

void certsrv_client_free(struct certsrv_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->host);
	free(c->base);
	bloblist_free(&c->trust);
	sk_X509_pop_free(c->intermediates, X509_free);
	free(c->resp.data);
	free(c->resp.negotiate);
	X509_free(c->resp.peer);
	X509_free(c->bound);
	free(c);
}

/* One request on the shared handle, with "Authorization: Negotiate <token>"
 * when token is not NULL.  0 when an HTTP answer arrived (any status), -1
 * with a sentence in msg otherwise. */
static int perform_once(struct certsrv_client *c, const char *path, const char *post, const char *token,
			char *msg, size_t msglen)
{
	char *url = xasprintf("%s%s", c->base, path);
	struct response *r = &c->resp;
	r->len = 0;
	r->too_big = false;
	r->status = 0;
	r->content_type[0] = '\0';
	r->auth[0] = '\0';
	free(r->negotiate);
	r->negotiate = NULL;
	X509_free(r->peer);
	r->peer = NULL;
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (post) {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	/* no "Expect: 100-continue": the first leg of a POST is answered 401 */
	struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
	char *authz = token ? xasprintf("Authorization: Negotiate %s", token) : NULL;
	if (authz)
		headers = curl_slist_append(headers, authz);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	double t0 = monotonic_seconds();
	CURLcode rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_slist_free_all(headers);
	free(authz);
	long connects = 0;
	stats.seconds += monotonic_seconds() - t0;
	if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
		stats.connections += (unsigned long)connects;
	int ret = -1;
	if (rc == CURLE_OK) {
		char *ct = NULL;
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct);
		snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
		log_debug("%s %s -> HTTP %ld, %s, %zu bytes", post ? "POST" : "GET", url, r->status,
			  r->content_type[0] ? r->content_type : "no Content-Type", r->len);
		ret = 0;
		goto out;
	}
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(msg, msglen, "the answer from %s is larger than %d bytes: refused", url,
				 CERTSRV_MAX_RESPONSE);
			break;
		}
		snprintf(msg, msglen, "%s: %s", url, detail);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(msg, msglen, "%s: stopped, run_timeout (%ld s) reached", url, runlimit_seconds());
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(msg, msglen, "no complete answer from %s within %ld s (http_timeout in [enroll])", url,
			 c->timeout);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE: {
		long vr = X509_V_OK;
		curl_easy_getinfo(c->curl, CURLINFO_SSL_VERIFYRESULT, &vr);
		if (vr == X509_V_ERR_CERT_NOT_YET_VALID || vr == X509_V_ERR_CERT_HAS_EXPIRED) {
			/* A valid server certificate out of its dates is usually our clock. */
			snprintf(msg, msglen,
				 "TLS verification of %s failed: %s (by this host's clock): if the clock is "
				 "wrong (clock skew), sync it with the domain (chrony/ntpd/timedatectl); "
				 "otherwise the web server's certificate must be renewed", c->host, detail);
			break;
		}
		snprintf(msg, msglen,
			 "TLS verification of %s failed: %s; its certificate must be issued by a CA published "
			 "in the directory and name this host", c->host, detail);
		break;
	}
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		snprintf(msg, msglen, "cannot connect to %s: %s", c->host, detail);
		break;
	default:
		snprintf(msg, msglen, "%s: %s", url, detail);
		break;
	}
out:
	free(url);
	return ret;
}

static bool offers_scheme(const char *schemes, const char *scheme)
{
	size_t sl = strlen(scheme);
	for (const char *p = schemes; *p;) {
		size_t l = strcspn(p, ",");
		if (l == sl && strncasecmp(p, scheme, l) == 0)
			return true;
		p += l;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

/* A Negotiate token for the certificate c->bound: with channel bindings
 * unless its signature algorithm defines none (or the probe asks for none). */
static int make_token(struct certsrv_client *c, struct gss_spnego **g, char **token, char *msg, size_t msglen)
{
	struct channel_binding cb;
	char why[256];
	bool bind = false;
	memset(&c->auth, 0, sizeof c->auth);
	if (!c->no_binding) {
		switch (channel_binding_from_cert(c->bound, &cb, why, sizeof why)) {
		case CHANNEL_BINDING_OK:
			bind = true;
			break;
		case CHANNEL_BINDING_UNDEFINED:
			c->auth.binding_undefined = true;
			log_debug("https://%s/: %s; sending the Negotiate token without channel binding", c->host, why);
			break;
		case CHANNEL_BINDING_ERROR:
			snprintf(msg, msglen, "https://%s/: %s", c->host, why);
			return -1;
		}
	}
	if (gss_spnego_start(c->host, bind ? cb.data : NULL, bind ? cb.len : 0, g, token, msg, msglen) < 0)
		return -1;
	c->auth.token_sent = true;
	c->auth.binding_sent = bind;
	if (bind) {
		snprintf(c->auth.binding_hash, sizeof c->auth.binding_hash, "%s", cb.hash_name);
		log_debug("https://%s/: Negotiate token bound to the TLS certificate (tls-server-end-point, %s)",
			  c->host, cb.hash_name);
	}
	return 0;
}

/* A request authenticated with our own Negotiate token (RFC 4559; RFC 5929):
 * the first request of a client goes without a token; its 401 shows the
 * certificate of the connection, and the token, bound to that certificate,
 * goes on the same connection.  Later requests send a token bound to the
 * known certificate at once.  The answer must come over a connection with
 * that certificate and carry the server's token that completes mutual
 * authentication; otherwise the answer is not trusted (-1).  A 401 to our
 * token, and an error status without a token, are returned (0) for the
 * caller to report. */
static int perform(struct certsrv_client *c, const char *path, const char *post, char *msg, size_t msglen)
{
	if (!c->kerberos)
		return perform_once(c, path, post, NULL, msg, msglen);
	struct response *r = &c->resp;
	int ret = -1;
	memset(&c->auth, 0, sizeof c->auth);
	c->token_error[0] = '\0';
	for (int leg = 0; leg < 3; leg++) {
		struct gss_spnego *g = NULL;
		char *token = NULL;
		if (c->bound && make_token(c, &g, &token, msg, msglen) < 0) {
			if (leg == 0)
				return -1;
			/* no ticket for HTTP/host: the server's 401 is the answer */
			snprintf(c->token_error, sizeof c->token_error, "%s", msg);
			return 0;
		}
		int rc = perform_once(c, path, post, token, msg, msglen);
		free(token);
		if (rc < 0) {
			gss_spnego_free(g);
			return -1;
		}
		bool negotiate = r->status == 401 && offers_scheme(r->auth, "Negotiate");
		if (!g) {
			/* the 401 that shows the connection's certificate */
			if (negotiate && r->peer) {
				X509_up_ref(r->peer);
				c->bound = r->peer;
				continue;
			}
			if (negotiate) {
				snprintf(msg, msglen, "cannot read the TLS certificate of the connection to %s from "
					 "libcurl (a libcurl built with OpenSSL is needed)", c->host);
				return -1;
			}
			return 0; /* an answer without authentication (a 401 without Negotiate included) */
		}
		bool same_cert = r->peer && X509_cmp(r->peer, c->bound) == 0;
		if (!same_cert && negotiate && leg < 2) {
			/* a new connection with a renewed certificate: bind to that one */
			log_debug("https://%s/: the server certificate changed; binding the next token to the new one",
				  c->host);
			X509_free(c->bound);
			c->bound = NULL;
			if (r->peer) {
				X509_up_ref(r->peer);
				c->bound = r->peer;
			}
			gss_spnego_free(g);
			continue;
		}
		if (!same_cert) {
			snprintf(msg, msglen, "https://%s/ answered over a connection whose certificate is not the one "
				 "the Kerberos token was bound to: answer discarded", c->host);
		} else if (r->status == 401) {
			c->auth.refused = true;
			ret = 0;
		} else if (r->status >= 300 && !r->negotiate) {
			/* an error page without the server's token: it can only be
			 * classified as an error, so it needs no proof of origin */
			ret = 0;
		} else if (gss_spnego_finish(g, r->negotiate, msg, msglen) == 0) {
			c->auth.accepted = true;
			ret = 0;
		}
		gss_spnego_free(g);
		return ret;
	}
	snprintf(msg, msglen, "https://%s/ kept asking for authentication with another certificate", c->host);
	return -1;
}

/* 401 after the Negotiate exchange: say what usually causes it (docs/protocol.md 6.7). */
static void explain_unauthorized(const struct certsrv_client *c, struct certsrv_result *out)
{
	if (out->disposition != CERTSRV_UNAUTHORIZED)
		return;
	if (c->token_error[0])
		snprintf(out->message, sizeof out->message, "HTTP 401 from %s and no Kerberos token to answer it: %s",
			 c->host, c->token_error);
	else if (c->auth.binding_sent)
		snprintf(out->message, sizeof out->message,
			 "HTTP 401 from %s: Kerberos authentication with channel binding (tls-server-end-point, %s) "
			 "was refused (the web server's key for HTTP/%s is not current, a clock skew, or TLS is "
			 "terminated before the CA so the binding names another certificate; run `adenroll doctor`)",
			 c->host, c->auth.binding_hash, c->host);
	else
		snprintf(out->message, sizeof out->message,
			 "HTTP 401 from %s: Kerberos authentication was refused (the web server's key for HTTP/%s "
			 "is not current, a clock skew, or the server requires Extended Protection / channel "
			 "binding%s; run `adenroll doctor`)",
			 c->host, c->host, c->auth.binding_undefined ? ", which its certificate's signature "
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
static char *body_to_pem(const struct response *r)
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

static char *form_escape(CURL *h, const char *s)
{
	char *e = curl_easy_escape(h, s, 0);
	char *out = xstrdup(e ? e : "");
	curl_free(e);
	return out;
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
	char *e_csr = form_escape(c->curl, csr_pem);
	char *e_attrib = form_escape(c->curl, attrib);
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
	memset(out, 0, sizeof *out);
	curl_init_once();
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	snprintf(out->curl_version, sizeof out->curl_version, "%s", v->version);
	snprintf(out->tls_library, sizeof out->tls_library, "%s", v->ssl_version ? v->ssl_version : "");
	out->curl_gssapi = v->features & CURL_VERSION_GSSAPI;
	out->curl_spnego = v->features & CURL_VERSION_SPNEGO;
	/* the connection's certificate is read from OpenSSL's SSL object */
	out->openssl = v->ssl_version && strncmp(v->ssl_version, "OpenSSL", 7) == 0;
	out->gss_forwards_bindings = gss_spnego_forwards_bindings();
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
	c->kerberos = auth != CERTSRV_PROBE_ANONYMOUS;
	c->no_binding = auth == CERTSRV_PROBE_KERBEROS_UNBOUND;
	int rc = perform(c, "", NULL, out->message, sizeof out->message);
	out->auth = c->auth;
	if (rc == 0) {
		out->http_status = c->resp.status;
		snprintf(out->auth_schemes, sizeof out->auth_schemes, "%s", c->resp.auth);
		out->negotiate_offered = offers_scheme(c->resp.auth, "Negotiate");
		out->ntlm_offered = offers_scheme(c->resp.auth, "NTLM");
	}
	certsrv_client_free(c);
	return rc;
}
