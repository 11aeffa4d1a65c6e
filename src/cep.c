/* Enrollment policy servers -> CES endpoints (docs/protocol.md 10). */
#include "adenroll-build.h"

#include "cep.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ces.h"
#include "https_client.h"
#include "log.h"
#include "safetext.h"

#define CEP_USER_AGENT "adenroll/" PACKAGE_VERSION
#define SOAP_CONTENT_TYPE "application/soap+xml; charset=utf-8"

int cep_get_policies(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
		     long timeout_seconds, struct xcep_policy *out)
{
	memset(out, 0, sizeof *out);
	char id[64];
	ces_message_id(id);
	char *env = xcep_build_get_policies(url, id);
	struct https_client *h = NULL;
	int rc = -1;
	if (!env) {
		snprintf(out->message, sizeof out->message, "cannot build a GetPolicies request for this URL");
		goto out;
	}
	h = https_client_new(url, trust_ders, intermediate_ders, timeout_seconds, CEP_USER_AGENT);
	if (!h) {
		snprintf(out->message, sizeof out->message, "cannot set up HTTPS to it (see the message above)");
		goto out;
	}
	char msg[sizeof out->message];
	if (https_client_request(h, "", SOAP_CONTENT_TYPE, env, strlen(env),
				 "SOAPAction: \"" XCEP_ACTION_GETPOLICIES "\"", msg, sizeof msg) < 0) {
		snprintf(out->message, sizeof out->message, "%s", msg);
		goto out;
	}
	struct https_response resp;
	https_client_response(h, &resp);
	if (resp.status == 401) {
		const char *te = https_client_token_error(h);
		snprintf(out->message, sizeof out->message, "HTTP 401: %s%s", te[0] ? "no Kerberos token: " :
			 "Kerberos authentication was refused (run `adenroll doctor`)", te);
		goto out;
	}
	rc = xcep_parse_response(resp.status, resp.data, resp.len, out);
out:
	https_client_free(h);
	free(env);
	return rc;
}

/* The CA name a CES URI names: "/<name>_CES_<auth>/..." (%XX decoded);
 * NULL when the path does not look like that. */
static char *ces_uri_ca_name(const char *url)
{
	const char *p = strchr(url + 8, '/');
	if (!p)
		return NULL;
	p++;
	const char *end = strstr(p, "_CES_");
	const char *slash = strchr(p, '/');
	if (!end || (slash && slash < end) || end == p)
		return NULL;
	char *out = xmalloc((size_t)(end - p) + 1);
	size_t k = 0;
	for (const char *s = p; s < end; s++) {
		if (*s == '%' && s + 2 < end && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = { s[1], s[2], '\0' };
			out[k++] = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			out[k++] = *s;
		}
	}
	out[k] = '\0';
	return out;
}

static bool ca_is(const struct enrollment_service *s, const struct xcep_ca *ca)
{
	for (size_t i = 0; i < s->ca_certs.n; i++)
		if (s->ca_certs.v[i].len == ca->cert_len && memcmp(s->ca_certs.v[i].data, ca->cert_der, ca->cert_len) == 0)
			return true;
	return false;
}

static bool uri_names(const struct enrollment_service *s, const struct xcep_ca *ca)
{
	for (size_t k = 0; k < ca->n_uris; k++) {
		char *host = https_url_host(ca->uris[k].url);
		char *name = ces_uri_ca_name(ca->uris[k].url);
		bool match = (host && s->dns_host_name && strcasecmp(host, s->dns_host_name) == 0) ||
			     (name && s->cn && strcasecmp(name, s->cn) == 0);
		free(host);
		free(name);
		if (match)
			return true;
	}
	return false;
}

static bool has_url(const struct enrollment_service *s, const char *url)
{
	for (size_t i = 0; i < s->n_ces; i++)
		if (strcasecmp(s->ces[i].url, url) == 0)
			return true;
	return false;
}

static void add_endpoint(struct enrollment_service *s, const struct xcep_uri *u, const char *server_url)
{
	struct ces_endpoint ep = { u->priority, u->auth, u->renewal_only, xstrdup(u->url), xstrdup(server_url) };
	directory_add_ces_endpoint(s, &ep);
}

size_t cep_merge(struct directory *dir, const struct xcep_policy *policy, const char *server_url)
{
	size_t added = 0;
	for (size_t c = 0; c < policy->n_cas; c++) {
		const struct xcep_ca *ca = &policy->cas[c];
		struct enrollment_service *s = NULL;
		for (size_t i = 0; i < dir->n_cas && !s; i++)
			if (ca_is(&dir->cas[i], ca))
				s = &dir->cas[i];
		for (size_t i = 0; i < dir->n_cas && !s; i++)
			if (uri_names(&dir->cas[i], ca))
				s = &dir->cas[i];
		if (!s) {
			log_info("enrollment policy server %s: its CA %ld is none of the directory's enrollment "
				 "services (neither its certificate nor a URI host or name matches): left out",
				 server_url, ca->reference_id);
			continue;
		}
		for (size_t k = 0; k < ca->n_uris; k++) {
			const struct xcep_uri *u = &ca->uris[k];
			if (u->auth != CES_AUTH_KERBEROS) {
				log_debug("enrollment policy server %s: %s of %s not used: its authentication is %u, "
					  "adenroll authenticates with Kerberos only", server_url, u->url, s->cn, u->auth);
				continue;
			}
			if (has_url(s, u->url))
				continue;
			add_endpoint(s, u, server_url);
			log_info("%s: CES endpoint %s (priority %u%s) from enrollment policy server %s", s->cn, u->url,
				 u->priority, u->renewal_only ? ", renewals only" : "", server_url);
			added++;
		}
	}
	return added;
}

void cep_add_endpoints(const struct config *cfg, struct directory *dir, const struct ae_policy *p)
{
	if (cfg->transport == CONFIG_TRANSPORT_CERTSRV)
		return;
	for (size_t i = 0; i < p->n_servers; i++) {
		const struct ae_policy_server *sv = &p->servers[i];
		if (!sv->url || strncasecmp(sv->url, "https://", 8) != 0 || !safetext_is_clean(sv->url)) {
			/* the Active Directory policy itself ("LDAP:") is what the directory snapshot holds */
			log_debug("enrollment policy server %s: not an https:// URL, not asked", safetext(sv->url ? sv->url : ""));
			continue;
		}
		if (sv->auth_flags != 0 && sv->auth_flags != CES_AUTH_KERBEROS) {
			log_info("enrollment policy server %s not asked: its authentication is %u, adenroll "
				 "authenticates with Kerberos only", safetext(sv->url), (unsigned)sv->auth_flags);
			continue;
		}
		struct xcep_policy pol;
		if (cep_get_policies(sv->url, &dir->root_cas, &dir->aia_cas, cfg->http_timeout, &pol) < 0) {
			log_warn("enrollment policy server %s (Group Policy PolicyServers) did not answer GetPolicies: "
				 "%s; its CES endpoints are not used in this run", safetext(sv->url), pol.message);
			xcep_policy_free(&pol);
			continue;
		}
		size_t n = cep_merge(dir, &pol, sv->url);
		log_info("enrollment policy server %s: %zu CA(s), %zu CES endpoint(s) added", safetext(sv->url),
			 pol.n_cas, n);
		xcep_policy_free(&pol);
	}
}
