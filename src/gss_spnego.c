/* SPNEGO initiator for HTTP Negotiate.  Built by hand rather than through
 * libcurl because libcurl sends channel bindings only from 8.10 (and then
 * not for every certificate signature algorithm), while the distributions we
 * target ship older ones; a CA with Extended Protection "Required" refuses a
 * token without them. */
#include "adenroll-build.h"

#include "gss_spnego.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "util.h"

/* 1.3.6.1.5.5.2 (RFC 4178) */
static gss_OID_desc spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };

/* Negotiate tokens are at most a few kB (a ticket with a PAC); anything far
 * larger in a header is not one. */
#define MAX_TOKEN (64 * 1024)

struct gss_spnego {
	gss_ctx_id_t ctx;
	gss_name_t target;
	struct gss_channel_bindings_struct cb;
	unsigned char *cb_data;
	bool have_cb;
	char *host;
};

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Strict base64 (padding optional); -1 on any other character. */
static int base64_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n > MAX_TOKEN || n % 4 == 1)
		return -1;
	unsigned char *buf = xmalloc(n * 3 / 4 + 3);
	size_t len = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *c = s[i] ? strchr(b64chars, s[i]) : NULL;
		if (!c) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (unsigned char)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* "what: major text: minor text" from gss_display_status. */
static void gss_error(char *err, size_t errlen, const char *what, OM_uint32 major, OM_uint32 minor,
		      const gss_OID mech)
{
	size_t used = (size_t)snprintf(err, errlen, "%s", what);
	const struct {
		OM_uint32 code;
		int type;
	} parts[] = { { major, GSS_C_GSS_CODE }, { minor, GSS_C_MECH_CODE } };
	for (size_t i = 0; i < 2; i++) {
		if (i == 1 && minor == 0)
			break;
		OM_uint32 ctx = 0, min2;
		do {
			gss_buffer_desc text = GSS_C_EMPTY_BUFFER;
			if (GSS_ERROR(gss_display_status(&min2, parts[i].code, parts[i].type, mech, &ctx, &text)))
				break;
			if (used < errlen)
				used += (size_t)snprintf(err + used, errlen - used, ": %.*s", (int)text.length,
							 (const char *)text.value);
			gss_release_buffer(&min2, &text);
		} while (ctx != 0);
	}
}

void gss_spnego_free(struct gss_spnego *g)
{
	if (!g)
		return;
	OM_uint32 minor;
	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
	if (g->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &g->target);
	free(g->cb_data);
	free(g->host);
	free(g);
}

/* One gss_init_sec_context step; the first with in == NULL. */
static OM_uint32 step(struct gss_spnego *g, gss_buffer_t in, gss_buffer_t out, OM_uint32 *ret_flags,
		      OM_uint32 *minor)
{
	return gss_init_sec_context(minor, GSS_C_NO_CREDENTIAL, &g->ctx, g->target, &spnego_oid,
				    GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG, GSS_C_INDEFINITE,
				    g->have_cb ? &g->cb : GSS_C_NO_CHANNEL_BINDINGS, in, NULL, out, ret_flags, NULL);
}

int gss_spnego_start(const char *host, const void *binding, size_t binding_len, struct gss_spnego **out,
		     char **token_b64, char *err, size_t errlen)
{
	*out = NULL;
	*token_b64 = NULL;
	struct gss_spnego *g = xcalloc(1, sizeof *g);
	g->ctx = GSS_C_NO_CONTEXT;
	g->target = GSS_C_NO_NAME;
	g->host = xstrdup(host);
	OM_uint32 major, minor = 0;
	char *service = xasprintf("HTTP@%s", host);
	gss_buffer_desc name = { strlen(service), service };
	major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &g->target);
	free(service);
	if (GSS_ERROR(major)) {
		char what[300];
		snprintf(what, sizeof what, "cannot name the service HTTP@%s", host);
		gss_error(err, errlen, what, major, minor, GSS_C_NO_OID);
		gss_spnego_free(g);
		return -1;
	}
	if (binding && binding_len > 0) {
		/* Addresses stay empty (GSS_C_AF_UNSPEC): IIS and RFC 5929 bind the
		 * TLS channel only. */
		g->cb_data = xmalloc(binding_len);
		memcpy(g->cb_data, binding, binding_len);
		g->cb.application_data.length = binding_len;
		g->cb.application_data.value = g->cb_data;
		g->have_cb = true;
	}
	gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
	OM_uint32 flags = 0;
	major = step(g, GSS_C_NO_BUFFER, &tok, &flags, &minor);
	if (GSS_ERROR(major) || tok.length == 0) {
		char what[300];
		snprintf(what, sizeof what, "cannot get a Kerberos ticket for HTTP/%s", host);
		if (GSS_ERROR(major))
			gss_error(err, errlen, what, major, minor, GSS_C_NO_OID);
		else
			snprintf(err, errlen, "%s: GSS-API returned no token", what);
		gss_release_buffer(&minor, &tok);
		gss_spnego_free(g);
		return -1;
	}
	*token_b64 = base64_encode(tok.value, tok.length);
	gss_release_buffer(&minor, &tok);
	*out = g;
	return 0;
}

int gss_spnego_finish(struct gss_spnego *g, const char *token_b64, char *err, size_t errlen)
{
	if (!token_b64 || !*token_b64) {
		snprintf(err, errlen, "%s answered without a Negotiate token: it did not prove it is HTTP/%s "
			 "(mutual authentication)", g->host, g->host);
		return -1;
	}
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	if (base64_decode(token_b64, &raw, &rawlen) < 0 || rawlen == 0) {
		snprintf(err, errlen, "%s answered with a Negotiate token that is not base64", g->host);
		return -1;
	}
	gss_buffer_desc in = { rawlen, raw }, out = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor = 0, flags = 0;
	OM_uint32 major = step(g, &in, &out, &flags, &minor);
	free(raw);
	bool extra = out.length > 0;
	OM_uint32 min2;
	gss_release_buffer(&min2, &out);
	if (GSS_ERROR(major)) {
		char what[300];
		snprintf(what, sizeof what, "the Negotiate token from %s does not prove it is HTTP/%s", g->host,
			 g->host);
		gss_error(err, errlen, what, major, minor, GSS_C_NO_OID);
		return -1;
	}
	if (major != GSS_S_COMPLETE || extra) {
		snprintf(err, errlen, "the Negotiate exchange with %s did not complete in one round trip (GSS-API "
			 "wants more legs): mutual authentication is not established", g->host);
		return -1;
	}
	if (!(flags & GSS_C_MUTUAL_FLAG)) {
		snprintf(err, errlen, "the Negotiate exchange with %s completed without mutual authentication",
			 g->host);
		return -1;
	}
	return 0;
}

bool gss_spnego_forwards_bindings(void)
{
#ifdef GSS_C_CHANNEL_BOUND_FLAG
	/* the flag and SPNEGO's forwarding of bindings came with MIT krb5 1.19 */
	return true;
#else
	return false;
#endif
}
