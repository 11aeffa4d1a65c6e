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
	return cep_get_policies_auth(url, trust_ders, intermediate_ders, timeout_seconds, out, NULL);
}

int cep_get_policies_auth(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
			  long timeout_seconds, struct xcep_policy *out, struct https_auth *auth)
{
	memset(out, 0, sizeof *out);
	if (auth)
		memset(auth, 0, sizeof *auth);
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
	int sent = https_client_request(h, "", SOAP_CONTENT_TYPE, env, strlen(env),
					"SOAPAction: \"" XCEP_ACTION_GETPOLICIES "\"", msg, sizeof msg);
	if (auth)
		*auth = *https_client_auth(h);
	if (sent < 0) {
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

struct enrollment_service *cep_match_ca(struct directory *dir, const struct xcep_ca *ca, const char **how)
{
	*how = "certificate";
	for (size_t i = 0; i < dir->n_cas; i++)
		if (ca_is(&dir->cas[i], ca))
			return &dir->cas[i];
	*how = "host or name";
	for (size_t i = 0; i < dir->n_cas; i++)
		if (uri_names(&dir->cas[i], ca))
			return &dir->cas[i];
	*how = "";
	return NULL;
}

size_t cep_merge(struct directory *dir, const struct xcep_policy *policy, const char *server_url)
{
	size_t added = 0;
	for (size_t c = 0; c < policy->n_cas; c++) {
		const struct xcep_ca *ca = &policy->cas[c];
		const char *how;
		struct enrollment_service *s = cep_match_ca(dir, ca, &how);
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

const char *cep_verdict_text(enum cep_verdict v)
{
	switch (v) {
	case CEP_ASK:
		return "asked";
	case CEP_NOT_HTTPS:
		return "not an https:// URL (\"LDAP:\" is the directory itself, read anyway)";
	case CEP_NOT_KERBEROS:
		return "its authentication (AuthFlags) is not Kerberos, the only one adenroll uses";
	case CEP_NOT_AUTOENROLLMENT:
		return "not enabled for automatic enrollment (Flags without AutoEnrollmentEnabled 0x10): "
		       "`adenroll enroll` asks it, a pulse does not";
	}
	return "?";
}

static enum cep_verdict verdict(const struct ae_policy_server *sv, enum cep_use use)
{
	if (!sv->url || strncasecmp(sv->url, "https://", 8) != 0 || !safetext_is_clean(sv->url))
		return CEP_NOT_HTTPS;
	if (sv->auth_flags != 0 && sv->auth_flags != CES_AUTH_KERBEROS)
		return CEP_NOT_KERBEROS;
	if (use == CEP_USE_AUTOENROLLMENT && !(sv->flags & CEP_FLAG_AUTOENROLLMENT_ENABLED))
		return CEP_NOT_AUTOENROLLMENT;
	return CEP_ASK;
}

/* Kerberos, then anonymous, then the rest ([MS-CAESO] 4.4.5.3.2.3); unset
 * AuthFlags is taken as Kerberos, as it is asked with Kerberos. */
static int auth_rank(uint32_t auth)
{
	return auth == CES_AUTH_KERBEROS || auth == 0 ? 0 : auth == CES_AUTH_ANONYMOUS ? 1 : 2;
}

static bool same_group(const struct ae_policy_server *a, const struct ae_policy_server *b)
{
	return a->policy_id && *a->policy_id && b->policy_id && strcasecmp(a->policy_id, b->policy_id) == 0;
}

/* a before b inside a group (index order breaks ties: the sort is stable) */
static bool before(const struct ae_policy_server *a, size_t ia, const struct ae_policy_server *b, size_t ib)
{
	if (a->cost != b->cost)
		return a->cost < b->cost;
	if (auth_rank(a->auth_flags) != auth_rank(b->auth_flags))
		return auth_rank(a->auth_flags) < auth_rank(b->auth_flags);
	return ia < ib;
}

size_t cep_order(const struct ae_policy *p, enum cep_use use, struct cep_choice **out)
{
	size_t n = p->n_servers;
	size_t *idx = xcalloc(n + 1, sizeof *idx);
	size_t *lead = xcalloc(n + 1, sizeof *lead);   /* the cheapest server of i's group */
	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		lead[i] = i;
		for (size_t j = 0; j < n; j++)
			if (same_group(&p->servers[i], &p->servers[j]) &&
			    before(&p->servers[j], j, &p->servers[lead[i]], lead[i]))
				lead[i] = j;
	}
	/* insertion sort: groups by their lead, a group's servers together and in order */
	for (size_t i = 1; i < n; i++) {
		size_t k = idx[i], j = i;
		for (; j > 0; j--) {
			size_t m = idx[j - 1];
			bool k_first = lead[k] == lead[m] ? before(&p->servers[k], k, &p->servers[m], m)
							  : before(&p->servers[lead[k]], lead[k], &p->servers[lead[m]], lead[m]);
			if (!k_first)
				break;
			idx[j] = m;
		}
		idx[j] = k;
	}
	struct cep_choice *c = xcalloc(n + 1, sizeof *c);
	size_t group = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && lead[idx[i]] != lead[idx[i - 1]])
			group++;
		c[i].server = &p->servers[idx[i]];
		c[i].group = group;
		c[i].verdict = verdict(c[i].server, use);
	}
	free(idx);
	free(lead);
	*out = c;
	return n;
}

void cep_add_endpoints_for(const struct config *cfg, struct directory *dir, const struct ae_policy *p,
			   enum cep_use use)
{
	if (cfg->transport == CONFIG_TRANSPORT_CERTSRV)
		return;
	struct cep_choice *c = NULL;
	size_t n = cep_order(p, use, &c);
	const char *answered = NULL;   /* the server that answered for the current group */
	for (size_t i = 0; i < n; i++) {
		const struct ae_policy_server *sv = c[i].server;
		const char *url = sv->url ? sv->url : "";
		if (i > 0 && c[i].group != c[i - 1].group)
			answered = NULL;
		if (c[i].verdict == CEP_NOT_HTTPS) {
			log_debug("enrollment policy server %s: %s, not asked", safetext(url), cep_verdict_text(c[i].verdict));
			continue;
		}
		if (c[i].verdict != CEP_ASK) {
			log_info("enrollment policy server %s not asked: %s", safetext(url), cep_verdict_text(c[i].verdict));
			continue;
		}
		if (answered) {
			log_debug("enrollment policy server %s not asked: %s, asked before it, answered for the same policy %s",
				  safetext(url), safetext(answered), safetext(sv->policy_id));
			continue;
		}
		struct xcep_policy pol;
		if (cep_get_policies(url, &dir->root_cas, &dir->aia_cas, cfg->http_timeout, &pol) < 0) {
			bool standby = false;
			for (size_t j = i + 1; j < n && c[j].group == c[i].group; j++)
				standby = standby || c[j].verdict == CEP_ASK;
			log_warn("enrollment policy server %s (Group Policy PolicyServers) did not answer GetPolicies: "
				 "%s; its CES endpoints are not used in this run%s", safetext(url), pol.message,
				 standby ? " (the next server of its policy is asked)" : "");
			xcep_policy_free(&pol);
			continue;
		}
		answered = url;
		size_t added = cep_merge(dir, &pol, url);
		log_info("enrollment policy server %s (cost %lu): %zu CA(s), %zu CES endpoint(s) added", safetext(url),
			 (unsigned long)sv->cost, pol.n_cas, added);
		xcep_policy_free(&pol);
	}
	free(c);
}

void cep_add_endpoints(const struct config *cfg, struct directory *dir, const struct ae_policy *p)
{
	cep_add_endpoints_for(cfg, dir, p, CEP_USE_AUTOENROLLMENT);
}
