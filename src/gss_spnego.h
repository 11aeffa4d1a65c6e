/* HTTP Negotiate (RFC 4559) tokens built with GSS-API: SPNEGO (RFC 4178)
 * for the service HTTP@<host>, mutual authentication, optional channel
 * bindings.  The only file that calls GSS-API for web enrollment; it uses the
 * process's default Kerberos credentials (krb.c points them at adenroll's
 * ccache).  Tokens cross this interface as base64 text, as in the
 * Authorization and WWW-Authenticate headers. */
#ifndef ADENROLL_GSS_SPNEGO_H
#define ADENROLL_GSS_SPNEGO_H

#include <stdbool.h>
#include <stddef.h>

struct gss_spnego;

/* Starts a security context with HTTP@host.  binding/binding_len: the
 * application data of the channel bindings (RFC 5929 tls-server-end-point,
 * see channel_binding.h; addresses are left empty as Windows expects), or
 * NULL/0 for none.  *token_b64 receives the first token (caller frees).
 * 0, or -1 with a sentence in err (no ticket, unknown SPN, clock skew...). */
int gss_spnego_start(const char *host, const void *binding, size_t binding_len, struct gss_spnego **out,
		     char **token_b64, char *err, size_t errlen);

/* The server's answer token (base64, from "WWW-Authenticate: Negotiate
 * <token>") must complete the context: GSS_S_COMPLETE with mutual
 * authentication, i.e. the server proved it holds the key of HTTP/host.
 * Anything else (no token, a token asking for more legs, a bad token) is -1
 * with err saying why. */
int gss_spnego_finish(struct gss_spnego *g, const char *token_b64, char *err, size_t errlen);

void gss_spnego_free(struct gss_spnego *g);

/* True when this GSS-API library passes channel bindings through SPNEGO
 * to Kerberos (MIT krb5 >= 1.19; older ones drop them silently). */
bool gss_spnego_forwards_bindings(void);

#endif
