/* Reads the directory snapshot: naming contexts, the account and its token,
 * certificate templates, enrollment services and trust anchors
 * (docs/protocol.md 1.1, 1.4, 2, 3). */
#include "adenroll-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"
#include "ldap_conn.h"
#include "log.h"
#include "safetext.h"
#include "util.h"

#define PKS_RDN "CN=Public Key Services,CN=Services"

/* ---------------------------------------------------------------- account */

struct dn_ctx {
	struct strlist dns;
};

static int collect_dn_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct dn_ctx *d = ctx;
	char *dn = ldap_entry_dn(e);
	(void)c;
	if (dn)
		strlist_add(&d->dns, dn);
	free(dn);
	return 0;
}

static void token_add(struct account *a, const struct sid *s)
{
	for (size_t i = 0; i < a->n_token; i++)
		if (sid_equal(&a->token[i], s))
			return;
	a->token = xrealloc(a->token, (a->n_token + 1) * sizeof(*a->token));
	a->token[a->n_token++] = *s;
}

static void token_add_blobs(struct account *a, const struct bloblist *l, const char *attr)
{
	for (size_t i = 0; i < l->n; i++) {
		struct sid s;
		size_t used;
		if (sid_from_bytes(l->v[i].data, l->v[i].len, &s, &used) != 0 || used != l->v[i].len) {
			log_warn("%s of %s: value %zu is not a valid SID; ignored", attr, a->dn, i + 1);
			continue;
		}
		token_add(a, &s);
	}
}

struct account_ctx {
	struct account *a;
	bool found;
	int failed;
	struct bloblist token_groups, sid_history;
	char *primary_group_id;
};

static int account_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct account_ctx *x = ctx;
	struct account *a = x->a;
	struct bloblist sid = { 0 };
	(void)c;
	x->found = true;
	free(a->dns_host_name);
	free(a->user_principal_name);
	free(a->mail);
	free(x->primary_group_id);
	a->dns_host_name = ldap_entry_string(e, "dNSHostName");
	a->user_principal_name = ldap_entry_string(e, "userPrincipalName");
	a->mail = ldap_entry_string(e, "mail");
	x->primary_group_id = ldap_entry_string(e, "primaryGroupID");
	char *sam = ldap_entry_string(e, "sAMAccountName");
	if (sam) {
		free(a->sam_account_name);
		a->sam_account_name = sam;
	}
	bloblist_free(&a->user_certificates);
	ldap_entry_blobs(e, "userCertificate", &a->user_certificates);
	ldap_entry_blobs(e, "tokenGroups", &x->token_groups);
	ldap_entry_blobs(e, "sIDHistory", &x->sid_history);
	ldap_entry_blobs(e, "objectSid", &sid);
	size_t used;
	if (sid.n != 1 || sid_from_bytes(sid.v[0].data, sid.v[0].len, &a->sid, &used) != 0) {
		log_error("account %s has no valid objectSid", a->dn);
		x->failed = 1;
	}
	bloblist_free(&sid);
	return 0;
}

static int token_groups_no_gc_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct account_ctx *x = ctx;
	(void)c;
	ldap_entry_blobs(e, "tokenGroupsNoGCAcceptable", &x->token_groups);
	return 0;
}

static int read_account(struct ldap_conn *conn, const char *default_nc, const char *sam,
			struct account *a)
{
	static const char *const dn_attrs[] = { "1.1", NULL };
	static const char *const attrs[] = { "objectSid", "tokenGroups", "primaryGroupID", "sIDHistory",
		"dNSHostName", "userPrincipalName", "mail", "sAMAccountName", "userCertificate", NULL };
	static const char *const nogc_attrs[] = { "tokenGroupsNoGCAcceptable", NULL };
	struct dn_ctx dns = { { 0 } };
	struct account_ctx x = { .a = a };
	char *esc = ldap_filter_escape(sam);
	/* objectClass=user matches computers too (computer is a subclass of user). */
	char *filter = xasprintf("(&(objectClass=user)(sAMAccountName=%s))", esc);
	int ret = -1;

	if (ldap_conn_search(conn, default_nc, LDAP_CONN_SUB, filter, dn_attrs, 0, collect_dn_cb, &dns,
			     NULL) != 0)
		goto out;
	if (dns.dns.n == 0) {
		log_error("account %s not found under %s on %s: is this host (or user) joined to this domain?",
			  sam, default_nc, ldap_conn_dc(conn));
		goto out;
	}
	if (dns.dns.n > 1) {
		log_error("sAMAccountName %s matches %zu objects under %s; refusing to guess", sam, dns.dns.n,
			  default_nc);
		goto out;
	}
	a->dn = xstrdup(dns.dns.v[0]);
	a->sam_account_name = xstrdup(sam);
	/* tokenGroups is constructed and only returned on a BASE search (MS-ADTS 3.1.1.4.5.19). */
	if (ldap_conn_search(conn, a->dn, LDAP_CONN_BASE, "(objectClass=*)", attrs, LDAP_CONN_NO_PAGING,
			     account_cb, &x, NULL) != 0)
		goto out;
	if (!x.found) {
		log_error("cannot read account %s on %s", a->dn, ldap_conn_dc(conn));
		goto out;
	}
	if (x.failed)
		goto out;
	if (x.token_groups.n == 0) {
		/* tokenGroups needs a global catalog; the no-GC variant is a degraded fallback. */
		log_warn("tokenGroups of %s is empty (no global catalog reachable?); using "
			 "tokenGroupsNoGCAcceptable", a->dn);
		if (ldap_conn_search(conn, a->dn, LDAP_CONN_BASE, "(objectClass=*)", nogc_attrs,
				     LDAP_CONN_NO_PAGING, token_groups_no_gc_cb, &x, NULL) != 0)
			goto out;
	}
	token_add(a, &a->sid);
	token_add_blobs(a, &x.token_groups, "tokenGroups");
	if (x.primary_group_id && a->sid.sub_count > 0) {
		char *end = NULL;
		unsigned long rid = strtoul(x.primary_group_id, &end, 10);
		if (end && *end == '\0' && rid <= 0xffffffffUL) {
			struct sid pg = a->sid;
			pg.sub[pg.sub_count - 1] = (uint32_t)rid;
			token_add(a, &pg);
		} else {
			log_warn("primaryGroupID \"%s\" of %s is not a number; ignored", x.primary_group_id, a->dn);
		}
	}
	token_add_blobs(a, &x.sid_history, "sIDHistory");
	/* Well-known SIDs every network logon carries; not in tokenGroups (NOTES 4.A):
	 * Everyone, Authenticated Users, Network, This Organization. */
	static const char *const wellknown[] = { "S-1-1-0", "S-1-5-11", "S-1-5-2", "S-1-5-15" };
	for (size_t i = 0; i < sizeof(wellknown) / sizeof(wellknown[0]); i++) {
		struct sid s;
		if (sid_from_string(wellknown[i], &s) == 0)
			token_add(a, &s);
	}
	if (log_get_level() >= LOG_LVL_DEBUG) {
		for (size_t i = 0; i < a->n_token; i++) {
			char buf[SID_STRING_MAX];
			sid_to_string(&a->token[i], buf, sizeof(buf));
			const char *name = sid_wellknown_name(&a->token[i]);
			log_debug("token of %s: %s%s%s%s", a->sam_account_name, buf, name ? " (" : "",
				  name ? name : "", name ? ")" : "");
		}
	}
	ret = 0;
out:
	strlist_free(&dns.dns);
	bloblist_free(&x.token_groups);
	bloblist_free(&x.sid_history);
	free(x.primary_group_id);
	free(filter);
	free(esc);
	return ret;
}

/* ---------------------------------------------------------------- templates */

/* A template's attributes, then what enrollment services and CA objects add
 * (one search reads them all: pks_cb). */
static const char *const pks_attrs[] = {
	"cn", "displayName", "flags", "revision", "msPKI-Template-Minor-Revision",
	"msPKI-Template-Schema-Version", "msPKI-Cert-Template-OID", "pKIExpirationPeriod",
	"pKIOverlapPeriod", "pKIExtendedKeyUsage", "pKIKeyUsage", "pKIDefaultKeySpec",
	"pKIMaxIssuingDepth", "pKIDefaultCSPs", "pKICriticalExtensions", "msPKI-Minimal-Key-Size",
	"msPKI-RA-Signature", "msPKI-RA-Application-Policies", "msPKI-RA-Policies",
	"msPKI-Certificate-Policy", "msPKI-Certificate-Application-Policy",
	"msPKI-Supersede-Templates", "msPKI-Enrollment-Flag", "msPKI-Private-Key-Flag",
	"msPKI-Certificate-Name-Flag", "nTSecurityDescriptor",
	"dNSHostName", "certificateTemplates", "cACertificate", "msPKI-Enrollment-Servers", NULL
};

struct templates_ctx {
	struct template *v;
	size_t n;
};

static void set_invalid(struct template *t, const char *attr, const char *why)
{
	if (t->invalid_reason)
		return; /* the first problem is the one reported */
	t->invalid_reason = xasprintf("%s: %s", attr, why);
}

/* Reads an optional single-valued integer attribute. */
static void get_u32(const struct ldap_entry *e, struct template *t, const char *attr, uint32_t *out,
		    bool *present)
{
	struct bloblist v = { 0 };
	char err[160];
	if (present)
		*present = false;
	ldap_entry_blobs(e, attr, &v);
	if (v.n == 0)
		goto out;
	if (v.n > 1) {
		set_invalid(t, attr, "more than one value");
		goto out;
	}
	err[0] = '\0';
	if (template_parse_u32((const char *)v.v[0].data, v.v[0].len, out, err, sizeof(err)) != 0) {
		set_invalid(t, attr, err[0] ? err : "not an integer");
		goto out;
	}
	if (present)
		*present = true;
out:
	bloblist_free(&v);
}

static void get_period(const struct ldap_entry *e, struct template *t, const char *attr,
		       int64_t *seconds, bool *has)
{
	struct bloblist v = { 0 };
	char err[160];
	*has = false;
	ldap_entry_blobs(e, attr, &v);
	if (v.n == 0)
		goto out;
	err[0] = '\0';
	if (v.n > 1 || template_parse_period(v.v[0].data, v.v[0].len, seconds, err, sizeof(err)) != 0) {
		set_invalid(t, attr, v.n > 1 ? "more than one value" : err[0] ? err : "not a period");
		goto out;
	}
	*has = true;
out:
	bloblist_free(&v);
}

/* Names and OIDs end up in the request (CertAttrib lines), file names, NSS
 * nicknames, hooks' environment and on terminals: a value with a control
 * character or invalid UTF-8 (CR/LF would add CertAttrib lines; ESC would
 * drive a terminal) makes the template invalid, and the value is kept only
 * escaped, so nothing downstream ever holds the raw bytes.  Read as raw
 * values so that a NUL inside is seen too.  NULL when absent. */
static char *get_checked(const struct ldap_entry *e, struct template *t, const char *attr, bool oid)
{
	struct bloblist v = { 0 };
	char why[160], *out = NULL;

	ldap_entry_blobs(e, attr, &v);
	if (v.n == 0)
		goto out;
	if (safetext_check(v.v[0].data, v.v[0].len, why, sizeof(why)) != 0 ||
	    (oid && template_check_oid((const char *)v.v[0].data, v.v[0].len, why, sizeof(why)) != 0)) {
		set_invalid(t, attr, why);
		out = xmalloc(v.v[0].len * 8 + 1);
		safetext_escape(v.v[0].data, v.v[0].len, out, v.v[0].len * 8 + 1);
		goto out;
	}
	out = xstrndup((const char *)v.v[0].data, v.v[0].len);
out:
	bloblist_free(&v);
	return out;
}

/* Every value of a multi-valued name or OID attribute passes the same check. */
static void check_values(struct template *t, const char *attr, const struct strlist *l, bool oid)
{
	char why[200];

	for (size_t i = 0; i < l->n; i++) {
		size_t len = strlen(l->v[i]);
		if (safetext_check(l->v[i], len, why, sizeof(why)) != 0 ||
		    (oid && template_check_oid(l->v[i], len, why, sizeof(why)) != 0)) {
			char shown[96];
			char *what = xasprintf("value \"%s\": %s", safetext_escape(l->v[i], len, shown, sizeof(shown)),
					       why);
			set_invalid(t, attr, what);
			free(what);
			return;
		}
	}
}

static int template_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct templates_ctx *x = ctx;
	struct template *t;
	struct bloblist v = { 0 };
	bool present;
	(void)c;

	x->v = xrealloc(x->v, (x->n + 1) * sizeof(*x->v));
	t = &x->v[x->n++];
	memset(t, 0, sizeof(*t));
	t->dn = ldap_entry_dn(e);
	t->cn = get_checked(e, t, "cn", false);
	if (!t->cn) {
		t->cn = safetext_dup(t->dn ? t->dn : "(no name)");
		set_invalid(t, "cn", "missing");
	} else if (t->cn[0] == '\0') {
		set_invalid(t, "cn", "empty");
	}
	t->display_name = get_checked(e, t, "displayName", false);
	t->oid = get_checked(e, t, "msPKI-Cert-Template-OID", true);
	get_u32(e, t, "flags", &t->flags, NULL);
	get_u32(e, t, "msPKI-Enrollment-Flag", &t->enrollment_flag, NULL);
	get_u32(e, t, "msPKI-Private-Key-Flag", &t->private_key_flag, NULL);
	get_u32(e, t, "msPKI-Certificate-Name-Flag", &t->name_flag, NULL);
	get_u32(e, t, "msPKI-Template-Schema-Version", &t->schema_version, &present);
	if (!present)
		t->schema_version = 1; /* MS-CRTD 2.16: absent means a version 1 template */
	else if (t->schema_version < 1 || t->schema_version > 4) {
		char why[64];
		snprintf(why, sizeof(why), "unsupported schema version %u", t->schema_version);
		set_invalid(t, "msPKI-Template-Schema-Version", why);
	}
	get_u32(e, t, "revision", &t->major_version, NULL);
	get_u32(e, t, "msPKI-Template-Minor-Revision", &t->minor_version, NULL);
	get_u32(e, t, "msPKI-Minimal-Key-Size", &t->minimal_key_size, NULL);
	get_u32(e, t, "pKIDefaultKeySpec", &t->key_spec, NULL);
	get_u32(e, t, "msPKI-RA-Signature", &t->ra_signatures, NULL);
	get_period(e, t, "pKIExpirationPeriod", &t->validity_seconds, &t->has_validity);
	get_period(e, t, "pKIOverlapPeriod", &t->renewal_seconds, &t->has_renewal);

	ldap_entry_blobs(e, "pKIKeyUsage", &v);
	if (v.n == 1 && v.v[0].len >= 1 && v.v[0].len <= 2) {
		memcpy(t->key_usage, v.v[0].data, v.v[0].len);
		t->key_usage_len = v.v[0].len;
	} else if (v.n > 0) {
		set_invalid(t, "pKIKeyUsage", "expected one value of 1 or 2 bytes");
	}
	bloblist_free(&v);

	ldap_entry_strings(e, "pKIExtendedKeyUsage", &t->ekus);
	ldap_entry_strings(e, "msPKI-Certificate-Application-Policy", &t->app_policies);
	ldap_entry_strings(e, "pKIDefaultCSPs", &t->csps);
	ldap_entry_strings(e, "msPKI-Supersede-Templates", &t->supersedes);
	ldap_entry_strings(e, "pKICriticalExtensions", &t->critical_extensions);
	/* v1/v2 store OIDs (multi-valued), v3/v4 one triplet string (MS-CRTD 2.23):
	 * kept raw, values joined with newlines. */
	struct strlist ra = { 0 };
	if (ldap_entry_strings(e, "msPKI-RA-Application-Policies", &ra) > 0) {
		size_t len = 1;
		for (size_t i = 0; i < ra.n; i++)
			len += strlen(ra.v[i]) + 1;
		t->ra_app_policies = xcalloc(1, len);
		for (size_t i = 0; i < ra.n; i++) {
			if (i)
				strcat(t->ra_app_policies, "\n");
			strcat(t->ra_app_policies, ra.v[i]);
		}
	}
	strlist_free(&ra);
	t->key_alg = template_key_alg_from(&t->csps, t->ra_app_policies);
	check_values(t, "pKIExtendedKeyUsage", &t->ekus, true);
	check_values(t, "msPKI-Certificate-Application-Policy", &t->app_policies, true);
	check_values(t, "pKICriticalExtensions", &t->critical_extensions, true);
	check_values(t, "msPKI-Supersede-Templates", &t->supersedes, false);

	ldap_entry_blobs(e, "nTSecurityDescriptor", &v);
	if (v.n == 1) {
		t->security_descriptor.data = v.v[0].data;
		t->security_descriptor.len = v.v[0].len;
		v.v[0].data = NULL;
		v.v[0].len = 0;
	} else {
		log_debug("template %s: no nTSecurityDescriptor returned", t->cn);
	}
	bloblist_free(&v);
	if (t->invalid_reason)
		log_warn("template %s: invalid value: %s", t->cn, t->invalid_reason);
	return 0;
}

static int cmp_template(const void *a, const void *b)
{
	const struct template *x = a, *y = b;
	int r = strcasecmp(x->cn, y->cn);
	return r ? r : strcmp(x->cn, y->cn);
}

/* ---------------------------------------------------------------- CAs and anchors */

struct cas_ctx {
	struct enrollment_service *v;
	size_t n;
};

static int enrollment_service_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct cas_ctx *x = ctx;
	(void)c;
	x->v = xrealloc(x->v, (x->n + 1) * sizeof(*x->v));
	struct enrollment_service *s = &x->v[x->n++];
	memset(s, 0, sizeof(*s));
	s->dn = ldap_entry_dn(e);
	s->cn = ldap_entry_string(e, "cn");
	if (!s->cn)
		s->cn = xstrdup(s->dn ? s->dn : "(no name)");
	s->dns_host_name = ldap_entry_string(e, "dNSHostName");
	ldap_entry_strings(e, "certificateTemplates", &s->templates);
	ldap_entry_blobs(e, "cACertificate", &s->ca_certs);
	/* The CA's own Enroll permission (MS-CRTD 2.5.1 rules on the service
	 * object): same SD flags control as the templates' search. */
	struct bloblist sd = { NULL, 0 };
	ldap_entry_blobs(e, "nTSecurityDescriptor", &sd);
	if (sd.n == 1) {
		s->security_descriptor = sd.v[0];
		sd.v[0].data = NULL;
		sd.v[0].len = 0;
	}
	bloblist_free(&sd);
	if (!s->dns_host_name)
		log_warn("enrollment service %s has no dNSHostName: it cannot be used", s->cn);
	struct strlist servers = { NULL, 0 };
	ldap_entry_strings(e, "msPKI-Enrollment-Servers", &servers);
	for (size_t i = 0; i < servers.n; i++) {
		struct ces_endpoint ep;
		char why[200];
		if (directory_parse_ces_endpoint(servers.v[i], &ep, why, sizeof why) < 0) {
			log_warn("enrollment service %s: msPKI-Enrollment-Servers value %zu left out: %s", s->cn,
				 i + 1, why);
			continue;
		}
		directory_add_ces_endpoint(s, &ep);
	}
	strlist_free(&servers);
	return 0;
}

static bool read_uint_line(const char **p, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned long v = 0;
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9' && n < 10) {
		v = v * 10 + (unsigned long)(s[n] - '0');
		n++;
	}
	if (n == 0 || v > max)
		return false;
	s += n;
	if (s[0] == '\r')
		s++;
	if (s[0] != '\n')
		return false;
	*p = s + 1;
	*out = (unsigned)v;
	return true;
}

void directory_add_ces_endpoint(struct enrollment_service *s, const struct ces_endpoint *ep)
{
	s->ces = xrealloc(s->ces, (s->n_ces + 1) * sizeof *s->ces);
	/* insertion keeps equal priorities in the order they came */
	size_t k = s->n_ces++;
	while (k > 0 && s->ces[k - 1].priority > ep->priority) {
		s->ces[k] = s->ces[k - 1];
		k--;
	}
	s->ces[k] = *ep;
}

int directory_parse_ces_endpoint(const char *value, struct ces_endpoint *out, char *why, size_t whylen)
{
	const char *p = value;
	unsigned prio, auth, renew;
	memset(out, 0, sizeof *out);
	if (!p || !read_uint_line(&p, 1000000, &prio) || !read_uint_line(&p, 0xffff, &auth) ||
	    !read_uint_line(&p, 1, &renew)) {
		snprintf(why, whylen, "not \"<priority>, <authentication>, <renewal only 0|1>, <URL>\" on separate lines");
		return -1;
	}
	size_t n = strcspn(p, "\r\n");
	const char *rest = p + n;
	if (*rest == '\r')
		rest++;
	if (*rest == '\n')
		rest++;
	if (*rest != '\0') {
		snprintf(why, whylen, "text after the URL");
		return -1;
	}
	char *url = xstrndup(p, n);
	if (strncasecmp(url, "https://", 8) != 0 || !safetext_is_clean(url) || strpbrk(url, " \t\"<>\\") ||
	    n > 2048) {
		snprintf(why, whylen, "the URL \"%.100s\" is not an https:// address", safetext(url));
		free(url);
		return -1;
	}
	out->priority = prio;
	out->auth = auth;
	out->renewal_only = renew == 1;
	out->url = url;
	return 0;
}

static int cmp_ca(const void *a, const void *b)
{
	const struct enrollment_service *x = a, *y = b;
	int r = strcasecmp(x->cn, y->cn);
	return r ? r : strcmp(x->cn, y->cn);
}

static int certs_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	(void)c;
	ldap_entry_blobs(e, "cACertificate", ctx);
	return 0;
}

/* Everything under Public Key Services comes from one paged subtree search
 * (docs/protocol.md 2, 3): one round trip instead of one per container on every
 * pulse.  Each entry is routed by its container, so what is kept is what
 * one-level searches of those containers (and a base read of
 * NTAuthCertificates) would return. */
struct pks_ctx {
	char *templates_dn, *services_dn, *roots_dn, *aia_dn, *ntauth_dn;
	struct templates_ctx tx;
	struct cas_ctx cx;
	struct directory *out;
};

/* The DN after the first RDN (which may contain escaped commas), or NULL. */
static const char *parent_dn(const char *dn)
{
	for (const char *p = dn; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == ',')
			return p + 1;
	}
	return NULL;
}

static int pks_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct pks_ctx *x = ctx;
	char *dn = ldap_entry_dn(e);
	const char *parent = dn ? parent_dn(dn) : NULL;
	int ret = 0;

	if (!parent)
		goto out;
	if (str_eq_ci(dn, x->ntauth_dn))
		ret = certs_cb(c, e, &x->out->ntauth_cas);
	else if (str_eq_ci(parent, x->templates_dn))
		ret = template_cb(c, e, &x->tx);
	else if (str_eq_ci(parent, x->services_dn))
		ret = enrollment_service_cb(c, e, &x->cx);
	else if (str_eq_ci(parent, x->roots_dn))
		ret = certs_cb(c, e, &x->out->root_cas);
	else if (str_eq_ci(parent, x->aia_dn))
		ret = certs_cb(c, e, &x->out->aia_cas);
out:
	free(dn);
	return ret;
}

/* ---------------------------------------------------------------- entry */

int directory_read(struct ldap_conn *conn, const char *sam_account_name, struct directory *out)
{
	static const char *const filter = "(|(objectClass=pKICertificateTemplate)"
		"(objectClass=pKIEnrollmentService)(objectClass=certificationAuthority))";
	struct pks_ctx px;
	char *base = NULL;
	bool nf;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&px, 0, sizeof(px));
	out->dc = xstrdup(ldap_conn_dc(conn));
	if (ldap_conn_root_dse(conn, &out->default_nc, &out->config_nc) != 0)
		goto out;
	log_debug("naming contexts: default %s, configuration %s", out->default_nc, out->config_nc);
	if (read_account(conn, out->default_nc, sam_account_name, &out->account) != 0)
		goto out;

	base = xasprintf(PKS_RDN ",%s", out->config_nc);
	px.templates_dn = xasprintf("CN=Certificate Templates,%s", base);
	px.services_dn = xasprintf("CN=Enrollment Services,%s", base);
	px.roots_dn = xasprintf("CN=Certification Authorities,%s", base);
	px.aia_dn = xasprintf("CN=AIA,%s", base);
	px.ntauth_dn = xasprintf("CN=NTAuthCertificates,%s", base);
	px.out = out;
	/* A missing container is normal (no CA installed yet): it reads as empty. */
	if (ldap_conn_search(conn, base, LDAP_CONN_SUB, filter, pks_attrs, LDAP_CONN_SD_FLAGS, pks_cb, &px, &nf) != 0 &&
	    !nf)
		goto out;
	if (px.tx.n)
		qsort(px.tx.v, px.tx.n, sizeof(*px.tx.v), cmp_template);
	out->templates = px.tx.v;
	out->n_templates = px.tx.n;
	px.tx.v = NULL;
	px.tx.n = 0;
	if (px.cx.n)
		qsort(px.cx.v, px.cx.n, sizeof(*px.cx.v), cmp_ca);
	out->cas = px.cx.v;
	out->n_cas = px.cx.n;
	px.cx.v = NULL;
	px.cx.n = 0;
	log_info("directory: %zu templates, %zu enrollment services, %zu root / %zu AIA / %zu NTAuth "
		 "certificates (from %s, %lu LDAP operations)", out->n_templates, out->n_cas, out->root_cas.n,
		 out->aia_cas.n, out->ntauth_cas.n, out->dc, ldap_conn_op_count(conn));
	ret = 0;
out:
	free(base);
	free(px.templates_dn);
	free(px.services_dn);
	free(px.roots_dn);
	free(px.aia_dn);
	free(px.ntauth_dn);
	for (size_t i = 0; i < px.tx.n; i++)
		template_free_contents(&px.tx.v[i]);
	free(px.tx.v);
	for (size_t i = 0; i < px.cx.n; i++) {
		free(px.cx.v[i].cn);
		free(px.cx.v[i].dn);
		free(px.cx.v[i].dns_host_name);
		strlist_free(&px.cx.v[i].templates);
		bloblist_free(&px.cx.v[i].ca_certs);
		free(px.cx.v[i].security_descriptor.data);
	}
	free(px.cx.v);
	if (ret != 0)
		directory_free(out);
	return ret;
}

void directory_free(struct directory *d)
{
	if (!d)
		return;
	free(d->dc);
	free(d->default_nc);
	free(d->config_nc);
	free(d->account.dn);
	free(d->account.sam_account_name);
	free(d->account.dns_host_name);
	free(d->account.user_principal_name);
	free(d->account.mail);
	free(d->account.token);
	bloblist_free(&d->account.user_certificates);
	for (size_t i = 0; i < d->n_templates; i++)
		template_free_contents(&d->templates[i]);
	free(d->templates);
	for (size_t i = 0; i < d->n_cas; i++) {
		free(d->cas[i].cn);
		free(d->cas[i].dn);
		free(d->cas[i].dns_host_name);
		strlist_free(&d->cas[i].templates);
		bloblist_free(&d->cas[i].ca_certs);
		free(d->cas[i].security_descriptor.data);
		for (size_t k = 0; k < d->cas[i].n_ces; k++) {
			free(d->cas[i].ces[k].url);
			free(d->cas[i].ces[k].policy_server);
		}
		free(d->cas[i].ces);
	}
	free(d->cas);
	bloblist_free(&d->root_cas);
	bloblist_free(&d->aia_cas);
	bloblist_free(&d->ntauth_cas);
	memset(d, 0, sizeof(*d));
}

const struct template *directory_find_template(const struct directory *d, const char *cn)
{
	for (size_t i = 0; i < d->n_templates; i++)
		if (str_eq_ci(d->templates[i].cn, cn))
			return &d->templates[i];
	return NULL;
}
