/* HTTPS with Kerberos over libcurl for both enrollment transports (docs/protocol.md
 * 6.1, 6.7): SPNEGO with the process's Kerberos ccache, TLS trusting only the
 * directory's CA certificates.  The Negotiate token is made here (gss_spnego)
 * rather than by libcurl so it carries channel bindings for the certificate
 * of the very connection it is sent on (Extended Protection), whatever the
 * libcurl version. */
#include "adenroll-build.h"

#include "https_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cert.h"
#include "channel_binding.h"
#include "gss_spnego.h"
#include "log.h"
#include "openssl_loader.h"
#include "runlimit.h"

struct response {
	char *data;
	size_t len, cap;
	bool too_big;
	long status;
	char content_type[128];
	char auth[128];               /* WWW-Authenticate schemes (probes) */
	char *negotiate;              /* token of "WWW-Authenticate: Negotiate <token>" */
	X509 *peer;                   /* TLS certificate of the connection the answer came over */
	CURL *curl;                   /* to read that certificate while the connection is live */
};

struct https_client {
	CURL *curl;
	char *host;
	char *base;                   /* https://host[:port]/path/ */
	struct bloblist trust;        /* DER copies of the roots, loaded into each new SSL_CTX */
	STACK_OF(X509) *intermediates;/* untrusted chain material (verify_chain) */
	long timeout;
	char errbuf[CURL_ERROR_SIZE];
	struct response resp;
	bool kerberos;                /* authenticate (a probe can do without) */
	bool no_binding;              /* a probe: a token without channel bindings */
	X509 *bound;                  /* the certificate the next token is bound to */
	char token_error[300];        /* why no token could be made for the last 401 */
	/* The token made once the connection is up, before the request goes
	 * (on_connected): bound to the certificate of that very connection, so
	 * no unauthenticated request is needed to learn it.  False when libcurl
	 * has no CURLOPT_PREREQFUNCTION (older than 7.80): then the first
	 * request goes without a token and its 401 shows the certificate. */
	bool token_at_connect;
	struct curl_slist *authz_node;/* the request's "Authorization:" placeholder, while it runs */
	char *authz_placeholder;      /* the node's own string, put back before the list is freed */
	char *authz_line;             /* "Authorization: Negotiate <token>" put in the node */
	struct gss_spnego *connect_g; /* the GSS-API context of that token */
	struct https_auth auth;     /* how the last authenticated request went */
};

static struct https_stats stats;
static bool curl_ready;

void https_get_stats(struct https_stats *out)
{
	*out = stats;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct response *r = userdata;
	size_t n = size * nmemb;
	if (n > HTTPS_MAX_RESPONSE || r->len + n > HTTPS_MAX_RESPONSE) {
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

/* The TLS certificate of the connection of the transfer in progress (a
 * reference), NULL when libcurl does not run on OpenSSL.  CURLINFO_TLS_SSL_PTR
 * is only valid while the transfer runs: after curl_easy_perform the
 * connection may already be gone. */
static X509 *connection_certificate(CURL *curl)
{
	const struct curl_tlssessioninfo *ti = NULL;
	if (curl_easy_getinfo(curl, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || !ti ||
	    ti->backend != CURLSSLBACKEND_OPENSSL || !ti->internals)
		return NULL;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return SSL_get1_peer_certificate((SSL *)ti->internals);
#else
	return SSL_get_peer_certificate((SSL *)ti->internals);
#endif
}

static void capture_peer_certificate(struct response *r)
{
	X509_free(r->peer);
	r->peer = connection_certificate(r->curl);
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
	struct https_client *c = arg;
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
 * CAs (CN=Certification Authorities): the server's TLS certificate must chain
 * to a root the directory publishes (Samba CVE-2026-3012: never trust what
 * the server itself hands out).  Intermediates, AIA and cross certificates
 * included, are never anchors: libcurl turns X509_V_FLAG_PARTIAL_CHAIN on
 * by default, which would make every certificate in the store one. */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *userdata)
{
	(void)curl;
	struct https_client *c = userdata;
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

char *https_url_host(const char *url)
{
	if (!url || strncasecmp(url, "https://", 8) != 0)
		return NULL;
	const char *h = url + 8;
	size_t n = strcspn(h, ":/?#");
	if (n == 0 || n > 253)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.' || ch == '_'))
			return NULL; /* user information, blanks, IPv6 literals, percent-escapes */
	}
	const char *p = h + n;
	if (*p == ':') {
		size_t d = strspn(p + 1, "0123456789");
		if (d == 0 || d > 5 || (p[1 + d] != '\0' && p[1 + d] != '/'))
			return NULL;
		p += 1 + d;
	}
	if (*p != '\0' && *p != '/')
		return NULL;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f || *q == '#')
			return NULL;
	return xstrndup(h, n);
}

static int on_connected(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port);

struct https_client *https_client_new(const char *prefix, const struct bloblist *trust_ders,
				      const struct bloblist *intermediate_ders, long timeout_seconds,
				      const char *user_agent)
{
	char *host = https_url_host(prefix);
	if (!host) {
		log_error("invalid HTTPS address \"%s\": https://host[:port]/path is needed", prefix ? prefix : "");
		return NULL;
	}
	if (!trust_ders || trust_ders->n == 0) {
		log_error("no root CA from the directory (CN=Certification Authorities) to verify https://%s/ against", host);
		free(host);
		return NULL;
	}
	curl_init_once();
	struct https_client *c = xcalloc(1, sizeof *c);
	c->curl = curl_easy_init();
	if (!c->curl) {
		log_error("cannot initialise libcurl");
		free(host);
		free(c);
		return NULL;
	}
	c->host = host;
	c->base = xstrdup(prefix);
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
	if (user_agent)
		SET(CURLOPT_USERAGENT, user_agent);
	/* No HTTP authentication by libcurl: https_client_request() sends our own Negotiate
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
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTPS_MAX_RESPONSE);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, &c->resp);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, &c->resp);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_NOPROGRESS, 0L);
#undef SET
	if (rc != CURLE_OK) {
		log_error("cannot configure libcurl for %s: %s", prefix, curl_easy_strerror(rc));
		https_client_free(c);
		return NULL;
	}
#if LIBCURL_VERSION_NUM >= 0x075000
	/* the libcurl loaded may be older than the one built against */
	c->token_at_connect = curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_connected) == CURLE_OK &&
			      curl_easy_setopt(h, CURLOPT_PREREQDATA, c) == CURLE_OK;
#endif
	return c;
}

void https_client_free(struct https_client *c)
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
	gss_spnego_free(c->connect_g);
	free(c);
}

/* One request on the shared handle, with "Authorization: Negotiate <token>"
 * when token is not NULL.  0 when an HTTP answer arrived (any status), -1
 * with a sentence in msg otherwise. */
static int perform_once(struct https_client *c, const char *path, const char *post, size_t post_len,
			const char *content_type, const char *extra_header, bool token_at_connect, const char *token,
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
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)post_len);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	/* no "Expect: 100-continue": the first leg of a POST is answered 401 */
	struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
	char *authz = token ? xasprintf("Authorization: Negotiate %s", token) : NULL;
	char *ctype = post && content_type ? xasprintf("Content-Type: %s", content_type) : NULL;
	if (authz)
		headers = curl_slist_append(headers, authz);
	if (ctype)
		headers = curl_slist_append(headers, ctype);
	if (extra_header)
		headers = curl_slist_append(headers, extra_header);
	if (token_at_connect) {
		/* "Name:" without a value sends nothing until on_connected fills it */
		headers = curl_slist_append(headers, "Authorization:");
		for (c->authz_node = headers; c->authz_node && c->authz_node->next; c->authz_node = c->authz_node->next)
			;
		c->authz_placeholder = c->authz_node ? c->authz_node->data : NULL;
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	double t0 = monotonic_seconds();
	CURLcode rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	if (c->authz_node) {
		c->authz_node->data = c->authz_placeholder;
		c->authz_node = NULL;
	}
	free(c->authz_line);
	c->authz_line = NULL;
	curl_slist_free_all(headers);
	free(authz);
	free(ctype);
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
				 HTTPS_MAX_RESPONSE);
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

bool https_offers_scheme(const char *schemes, const char *scheme)
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
static int make_token(struct https_client *c, struct gss_spnego **g, char **token, char *msg, size_t msglen)
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

/* CURLOPT_PREREQFUNCTION: the connection is up (TLS handshake done, the
 * chain verified) and the request not yet sent.  The Negotiate token,
 * bound to this connection's certificate, goes in the request's
 * Authorization placeholder.  No certificate to bind to, or no token
 * (token_error says why): the request goes without one and the answer
 * tells what follows. */
static int on_connected(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	struct https_client *c = userdata;
	char *token = NULL;
	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (c->authz_node == NULL)
		return CURL_PREREQFUNC_OK;
	/* called again (a new connection): the token of the earlier one is void */
	c->token_error[0] = '\0';
	c->authz_node->data = c->authz_placeholder;
	free(c->authz_line);
	c->authz_line = NULL;
	gss_spnego_free(c->connect_g);
	c->connect_g = NULL;
	X509 *peer = connection_certificate(c->curl);
	if (peer == NULL)
		return CURL_PREREQFUNC_OK;
	X509_free(c->bound);
	c->bound = peer;
	if (make_token(c, &c->connect_g, &token, c->token_error, sizeof c->token_error) < 0) {
		c->connect_g = NULL;
		return CURL_PREREQFUNC_OK;
	}
	c->authz_line = xasprintf("Authorization: Negotiate %s", token);
	free(token);
	c->authz_node->data = c->authz_line;
	return CURL_PREREQFUNC_OK;
}

/* A request authenticated with our own Negotiate token (RFC 4559; RFC 5929)
 * bound to the certificate of the connection it goes on: made once the
 * connection is up, before the request is sent (on_connected), so the
 * first request of a client is authenticated like the others.  Without
 * that callback (libcurl < 7.80), the first request goes without a token,
 * its 401 shows the certificate, and the token goes on the same
 * connection; later requests send a token bound to the known certificate
 * at once.  The answer must come over a connection with that certificate
 * and carry the server's token that completes mutual authentication;
 * otherwise the answer is not trusted (-1).  A 401 to our token, a 401
 * when no token could be made (https_client_token_error), and an error
 * status without a token are returned (0) for the caller to report. */
int https_client_request(struct https_client *c, const char *path, const char *content_type,
			 const char *body, size_t body_len, const char *extra_header, char *msg, size_t msglen)
{
	if (!c->kerberos)
		return perform_once(c, path, body, body_len, content_type, extra_header, false, NULL, msg, msglen);
	struct response *r = &c->resp;
	int ret = -1;
	memset(&c->auth, 0, sizeof c->auth);
	c->token_error[0] = '\0';
	for (int leg = 0; leg < 3; leg++) {
		struct gss_spnego *g = NULL;
		char *token = NULL;
		bool at_connect = c->token_at_connect && leg == 0;
		if (!at_connect && c->bound && make_token(c, &g, &token, msg, msglen) < 0) {
			if (leg == 0)
				return -1;
			/* no ticket for HTTP/host: the server's 401 is the answer */
			snprintf(c->token_error, sizeof c->token_error, "%s", msg);
			return 0;
		}
		int rc = perform_once(c, path, body, body_len, content_type, extra_header, at_connect, token, msg,
				      msglen);
		free(token);
		if (at_connect) {
			g = c->connect_g;
			c->connect_g = NULL;
		}
		if (rc < 0) {
			gss_spnego_free(g);
			return -1;
		}
		bool negotiate = r->status == 401 && https_offers_scheme(r->auth, "Negotiate");
		if (!g && c->token_error[0])
			return 0; /* no ticket for HTTP/host: the server's 401 is the answer */
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

void https_client_set_auth(struct https_client *c, bool kerberos, bool bindings)
{
	c->kerberos = kerberos;
	c->no_binding = !bindings;
}

void https_client_response(const struct https_client *c, struct https_response *out)
{
	out->status = c->resp.status;
	out->content_type = c->resp.content_type;
	out->data = c->resp.data ? c->resp.data : "";
	out->len = c->resp.len;
	out->auth_schemes = c->resp.auth;
}

const struct https_auth *https_client_auth(const struct https_client *c)
{
	return &c->auth;
}

const char *https_client_token_error(const struct https_client *c)
{
	return c->token_error;
}

const char *https_client_host(const struct https_client *c)
{
	return c->host;
}

char *https_form_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '.' || ch == '_' || ch == '~') {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}

void https_library_info(struct https_library_info *out)
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
