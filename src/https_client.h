/* HTTPS with Kerberos for the enrollment transports (certsrv, CES): the only
 * file that talks to libcurl.  TLS is anchored ONLY at the root CAs read from
 * LDAP (never the system store, never an intermediate: no partial chain),
 * hostname verification on.  Authentication is our own Negotiate token
 * (gss_spnego) bound to the certificate of the very connection it is sent on
 * (RFC 5929 tls-server-end-point, channel_binding), and the server must
 * complete mutual authentication (docs/protocol.md 6.7). */
#ifndef ADENROLL_HTTPS_CLIENT_H
#define ADENROLL_HTTPS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct https_client;

/* Maximum accepted response body (bytes); larger answers abort the transfer. */
#define HTTPS_MAX_RESPONSE (1024 * 1024)

/* prefix: "https://host[:port]/path/"; request paths are appended to it.
 * The Kerberos service is HTTP@host (the port plays no part).  trust_ders:
 * the DER roots the server's chain must end in (the only anchors);
 * intermediate_ders (may be NULL): chain material, never trusted itself.
 * timeout_seconds bounds each request.  user_agent may be NULL.  Uses the
 * process's Kerberos ccache.  NULL with a logged reason on failure (a URL
 * that is not https, user information or blanks in it, no root). */
struct https_client *https_client_new(const char *prefix, const struct bloblist *trust_ders,
				      const struct bloblist *intermediate_ders, long timeout_seconds,
				      const char *user_agent);
void https_client_free(struct https_client *c);

/* Kerberos on (the default) or off (probe without credentials); bindings
 * false sends the token without channel bindings (probe of EPA "Required"). */
void https_client_set_auth(struct https_client *c, bool kerberos, bool bindings);

/* One request (GET when body is NULL, else POST of body_len bytes with
 * content_type, default application/x-www-form-urlencoded), authenticated
 * as above; extra_header (may be NULL) is one more "Name: value" line.
 * 0 when an HTTP answer arrived (any status: a 401 to our token and an
 * error status without the server's token are returned for the caller to
 * classify; anything else needed mutual authentication over the bound
 * certificate), -1 with a sentence in msg otherwise (transport, TLS,
 * timeout, too big, answer over another certificate). */
int https_client_request(struct https_client *c, const char *path, const char *content_type,
			 const char *body, size_t body_len, const char *extra_header, char *msg, size_t msglen);

/* The last answer: valid until the next request or free. */
struct https_response {
	long status;
	const char *content_type;   /* "" when none */
	const char *data;           /* NUL-terminated, may hold NULs before len */
	size_t len;
	const char *auth_schemes;   /* WWW-Authenticate schemes: "Negotiate, NTLM" */
};
void https_client_response(const struct https_client *c, struct https_response *out);

/* How the Kerberos authentication of the last request went. */
struct https_auth {
	bool token_sent;          /* a Negotiate token was sent */
	bool binding_sent;        /* ... with channel bindings */
	char binding_hash[16];    /* their hash: "SHA256", "SHA384", "SHA512" */
	bool binding_undefined;   /* the certificate's algorithm has none (Ed25519) */
	bool accepted;            /* the server authenticated us and proved its own identity */
	bool refused;             /* the server answered 401 to the token */
};
const struct https_auth *https_client_auth(const struct https_client *c);
/* Why no token could answer the last 401 ("" when one did). */
const char *https_client_token_error(const struct https_client *c);
/* The host name of the prefix (the Kerberos service host). */
const char *https_client_host(const struct https_client *c);

/* "Negotiate" in a "Negotiate, NTLM" list, without case. */
bool https_offers_scheme(const char *schemes, const char *scheme);

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
char *https_form_escape(const char *s);

/* The host of an https URL (caller frees); NULL when the URL is not
 * https://host[:port][/...] with a plain host name or address. */
char *https_url_host(const char *url);

/* Process-wide counters (all clients) for tests and benchmarks. */
struct https_stats {
	unsigned long requests;   /* HTTP requests sent (including 401 legs) */
	unsigned long bytes_in;   /* response body bytes */
	unsigned long connections; /* TCP+TLS connections opened */
	double seconds;           /* wall time spent in requests */
};
void https_get_stats(struct https_stats *out);

/* The libraries the transports run on, for `adenroll doctor`. */
struct https_library_info {
	char curl_version[32];
	char tls_library[64];
	bool curl_gssapi, curl_spnego;
	bool openssl;
	bool gss_forwards_bindings;
};
void https_library_info(struct https_library_info *out);

#endif
