/* The domain connection: DC candidates and failover, SASL/GSSAPI bind with
 * sign+seal, rootDSE, paged searches.  The only file that talks to libldap. */
#include "adenroll-build.h"

#include <ctype.h>
#include <lber.h>
#include <ldap.h>
#include <netdb.h>
#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "dns.h"
#include "krb.h"
#include "ldap_conn.h"
#include "log.h"
#include "runlimit.h"
#include "sasl_plugins.h"
#include "util.h"

#define LDAP_PORT_DEFAULT 389
#define NETWORK_TIMEOUT_SECONDS 10
#define OPERATION_TIMEOUT_SECONDS 60
/* RFC 2696 page size; AD's MaxPageSize is 1000 (docs/protocol.md 1.3). */
#define PAGE_SIZE 200
/* MS-ADTS 3.1.1.3.4.1.11: LDAP_SERVER_SD_FLAGS_OID. */
#define OID_SD_FLAGS "1.2.840.113556.1.4.801"

struct ldap_conn {
	LDAP *ld;
	char *dc;
	unsigned long ops;
	double seconds;    /* wall time in name lookup, connect, bind and searches */
	/* What this connection has read, and may read ([domain] ldap_max_*) */
	unsigned long entries, pages;
	unsigned long long bytes;
	unsigned long max_entries, max_pages;
	unsigned long long max_bytes;
};

struct ldap_entry {
	LDAP *ld;
	LDAPMessage *msg;
};

const char *ldap_conn_dc(const struct ldap_conn *c) { return c->dc; }
unsigned long ldap_conn_op_count(const struct ldap_conn *c) { return c ? c->ops : 0; }
double ldap_conn_seconds(const struct ldap_conn *c) { return c ? c->seconds : 0; }

int ldap_conn_ssf(const struct ldap_conn *c)
{
	ber_len_t ssf = 0;
	if (!c || !c->ld || ldap_get_option(c->ld, LDAP_OPT_X_SASL_SSF, &ssf) != LDAP_OPT_SUCCESS)
		return -1;
	return (int)ssf;
}

void ldap_conn_close(struct ldap_conn *c)
{
	if (!c)
		return;
	if (c->ld)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	free(c->dc);
	free(c);
}

static void add_candidate(struct ldap_dc **v, size_t *n, const char *host, unsigned port)
{
	for (size_t i = 0; i < *n; i++)
		if (str_eq_ci((*v)[i].host, host) && (*v)[i].port == port)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].host = xstrdup(host);
	(*v)[*n].port = port;
	(*n)++;
}

static void free_candidates(struct ldap_dc *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].host);
	free(v);
}

/* "host" or "host:port" from the dc = override. */
static void add_configured(struct ldap_dc **v, size_t *n, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	if (colon && colon != spec && strspn(colon + 1, "0123456789") == strlen(colon + 1) && colon[1]) {
		char *h = xstrndup(spec, (size_t)(colon - spec));
		unsigned long p = strtoul(colon + 1, NULL, 10);
		add_candidate(v, n, h, p > 0 && p < 65536 ? (unsigned)p : LDAP_PORT_DEFAULT);
		free(h);
	} else {
		add_candidate(v, n, spec, LDAP_PORT_DEFAULT);
	}
}

static void add_srv(struct ldap_dc **v, size_t *n, const char *name)
{
	struct srv_target *t = NULL;
	size_t nt = 0;
	if (dns_srv_lookup(name, &t, &nt) != 0) {
		log_debug("no DC found through SRV %s", name);
		return;
	}
	for (size_t i = 0; i < nt; i++) {
		log_debug("SRV %s: %s:%u (priority %u, weight %u)", name, t[i].host, t[i].port,
			  t[i].priority, t[i].weight);
		add_candidate(v, n, t[i].host, t[i].port ? t[i].port : LDAP_PORT_DEFAULT);
	}
	dns_srv_free(t, nt);
}

static int sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	sasl_interact_t *i = in;
	(void)ld;
	(void)flags;
	(void)defaults;
	for (; i->id != SASL_CB_LIST_END; i++) {
		i->result = i->defresult ? i->defresult : "";
		i->len = (unsigned)strlen(i->result);
	}
	return LDAP_SUCCESS;
}

static char *diagnostic(LDAP *ld, int rc)
{
	char *diag = NULL;
	char *r;
	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag && *diag)
		r = xasprintf("%s (%s)", ldap_err2string(rc), diag);
	else
		r = xstrdup(ldap_err2string(rc));
	ldap_memfree(diag);
	return r;
}

/* Adds advice for the failures a sysadmin can fix. */
static char *explain_bind_failure(const char *host, int rc, const char *why)
{
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR)
		return xasprintf("cannot connect (refused, unreachable or no answer within %d s): %s",
				 NETWORK_TIMEOUT_SECONDS, why);
	if (strstr(why, "Clock skew") || strstr(why, "clock skew"))
		return xasprintf("%s: the clock of this host is off from the DC's; sync the time "
				 "(chrony/ntpd/timedatectl) and retry", why);
	if (strstr(why, "not found in Kerberos database"))
		return xasprintf("%s: the KDC has no ldap/%s service principal; use the DC's "
				 "host name as registered in AD (not an IP or alias)", why, host);
	if (strstr(why, "No Kerberos credentials") || strstr(why, "No credentials"))
		return xasprintf("%s: no usable Kerberos ticket", why);
	return xstrdup(why);
}

/* Connects and binds to one DC; 0, or -1 with *why set and *clock true
 * when the DC refused our ticket for the time. */
static int try_dc(const struct ldap_dc *dc, struct ldap_conn *c, char **why, bool *clock)
{
	LDAP *ld = NULL;
	char *uri = xasprintf("ldap://%s:%u", dc->host, dc->port);
	int rc, ver = LDAP_VERSION3;
	struct timeval net_to = { NETWORK_TIMEOUT_SECONDS, 0 };
	struct timeval op_to = { OPERATION_TIMEOUT_SECONDS, 0 };
	int ret = -1;
	double t0 = monotonic_seconds();

	/* libldap reports an unresolvable name and a dead host alike ("Can't
	 * contact LDAP server"); tell them apart for the operator. */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int gai = getaddrinfo(dc->host, NULL, &hints, &ai);
	if (gai != 0) {
		*why = xasprintf("cannot resolve host name: %s", gai_strerror(gai));
		goto out;
	}
	freeaddrinfo(ai);
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		*why = xasprintf("invalid LDAP URI %s: %s", uri, ldap_err2string(rc));
		goto out;
	}
	/* Continuation references point at other partitions (NOTES 4.A); never chase them. */
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &ver) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net_to) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op_to) != LDAP_OPT_SUCCESS ||
	    /* The SPN must be ldap/<the name we were given>, not a reverse-DNS answer. */
	    ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    /* Sealing on plain 389 (docs/protocol.md 1.2): DCs may require
	     * signing, and everything we read must be integrity protected. */
	    ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS, "minssf=56") != LDAP_OPT_SUCCESS) {
		*why = xstrdup("cannot set LDAP options");
		goto out;
	}
	c->ops++;
	rc = ldap_sasl_interactive_bind_s(ld, NULL, "GSSAPI", NULL, NULL, LDAP_SASL_QUIET,
					  sasl_interact, NULL);
	if (rc != LDAP_SUCCESS) {
		char *d = diagnostic(ld, rc);
		*why = explain_bind_failure(dc->host, rc, d);
		*clock = krb_message_is_clock_error(d);
		free(d);
		goto out;
	}
	/* One message may not be larger than what the whole run may read:
	 * libldap buffers a message completely before handing it over. */
	Sockbuf *sb = NULL;
	ber_len_t max_in = (ber_len_t)c->max_bytes + 65536;
	if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb)
		ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max_in);
	c->ld = ld;
	ld = NULL;
	c->dc = xstrdup(dc->host);
	ret = 0;
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(uri);
	c->seconds += monotonic_seconds() - t0;
	return ret;
}

int ldap_conn_dc_list(const struct config *cfg, const char *domain, struct ldap_dc_list *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg->dcs.n > 0) {
		out->configured = true;
		for (size_t i = 0; i < cfg->dcs.n; i++)
			add_configured(&out->v, &out->n, cfg->dcs.v[i]);
		return out->n > 0 ? 0 : -1;
	}
	if (!domain || !*domain) {
		log_error("no domain to look up domain controllers for: set \"domain\" or \"dc\" in [domain]");
		return -1;
	}
	if (cfg->site && *cfg->site) {
		out->site_srv = xasprintf("_ldap._tcp.%s._sites.dc._msdcs.%s", cfg->site, domain);
		add_srv(&out->v, &out->n, out->site_srv);
		out->n_site = out->n;
	}
	out->domain_srv = xasprintf("_ldap._tcp.dc._msdcs.%s", domain);
	add_srv(&out->v, &out->n, out->domain_srv);
	if (out->n == 0) {
		log_error("no domain controller found: DNS has no SRV records for %s; check "
			  "/etc/resolv.conf points at the domain's DNS, or set \"dc\" in [domain]", out->domain_srv);
		return -1;
	}
	return 0;
}

void ldap_conn_dc_list_free(struct ldap_dc_list *l)
{
	if (!l)
		return;
	free_candidates(l->v, l->n);
	free(l->site_srv);
	free(l->domain_srv);
	memset(l, 0, sizeof(*l));
}

int ldap_conn_open_list(const struct config *cfg, const struct ldap_dc_list *dcs, struct ldap_conn **out)
{
	return ldap_conn_open_list_ex(cfg, dcs, 0, out, NULL);
}

int ldap_conn_open_list_ex(const struct config *cfg, const struct ldap_dc_list *dcs, unsigned flags,
			   struct ldap_conn **out, struct ldap_dc *clock_dc)
{
	const struct ldap_dc *cands = dcs->v;
	size_t n = dcs->n;
	struct ldap_conn *c = xcalloc(1, sizeof(*c));
	char *report = NULL;
	const struct ldap_dc *refused = NULL;   /* the first DC that refused our ticket for the time */
	const bool quiet = (flags & LDAP_CONN_QUIET_CLOCK) != 0;
	int ret = -1;

	*out = NULL;
	if (clock_dc)
		memset(clock_dc, 0, sizeof(*clock_dc));
	/* before libldap starts libsasl2: GSSAPI is the only mechanism used */
	sasl_plugins_gssapi_only();
	c->max_entries = cfg->ldap_max_entries > 0 ? (unsigned long)cfg->ldap_max_entries : 50000;
	c->max_bytes = cfg->ldap_max_bytes > 0 ? (unsigned long long)cfg->ldap_max_bytes : 128ull << 20;
	/* Full pages can only hold max_entries; the slack covers the last,
	 * partial page of each search and the empty pages AD may send. */
	c->max_pages = c->max_entries / PAGE_SIZE + 64;
	if (n == 0) {
		log_error("no domain controller to try: set \"dc\" in [domain] or fix DNS");
		goto out;
	}

	report = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char *why = NULL;
		bool clock = false;
		log_debug("trying domain controller %s:%u", cands[i].host, cands[i].port);
		if (try_dc(&cands[i], c, &why, &clock) == 0) {
			if (i > 0)
				log_info("LDAP: bound to %s after %zu failed domain controller%s",
					 c->dc, i, i > 1 ? "s" : "");
			else
				log_info("LDAP: bound to %s (SASL GSSAPI, sealed)", c->dc);
			*out = c;
			c = NULL;
			ret = 0;
			goto out;
		}
		if (clock && !refused)
			refused = &cands[i];
		if (clock && quiet)
			log_debug("domain controller %s:%u refused our Kerberos ticket for the time: %s%s",
				  cands[i].host, cands[i].port, why, i + 1 < n ? "; trying the next one" : "");
		else
			log_warn("domain controller %s:%u failed: %s%s", cands[i].host, cands[i].port, why,
				 i + 1 < n ? "; trying the next one" : "");
		/* one line: log lines never carry a newline (safetext.h) */
		char *r = xasprintf("%s%s  %s:%u: %s", report, i ? ";" : "", cands[i].host, cands[i].port, why);
		free(report);
		report = r;
		free(why);
	}
	if (refused && quiet)
		log_debug("cannot bind to any domain controller (SASL GSSAPI):%s", report);
	else
		log_error("cannot bind to any domain controller (SASL GSSAPI):%s", report);
	if (refused && clock_dc) {
		clock_dc->host = xstrdup(refused->host);
		clock_dc->port = refused->port;
	}
out:
	ldap_conn_close(c);
	free(report);
	return ret;
}

int ldap_conn_open_ex(const struct config *cfg, const char *domain, unsigned flags, struct ldap_conn **out,
		      struct ldap_dc *clock_dc)
{
	struct ldap_dc_list dcs;
	int ret = -1;

	*out = NULL;
	if (clock_dc)
		memset(clock_dc, 0, sizeof(*clock_dc));
	if (ldap_conn_dc_list(cfg, domain, &dcs) == 0)
		ret = ldap_conn_open_list_ex(cfg, &dcs, flags, out, clock_dc);
	ldap_conn_dc_list_free(&dcs);
	return ret;
}

int ldap_conn_open(const struct config *cfg, const char *domain, struct ldap_conn **out)
{
	return ldap_conn_open_ex(cfg, domain, 0, out, NULL);
}

/* A GeneralizedTime "YYYYMMDDHHMMSS[.f]Z" (the rootDSE's currentTime). */
static int parse_gentime(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!s || strlen(s) < 15 || strspn(s, "0123456789") < 14)
		return -1;
	if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

int ldap_conn_clock_offset(struct ldap_conn *c, const char *host, unsigned port, double *offset, char **why)
{
	static char *attrs[] = { "currentTime", NULL };
	struct timeval net_to = { NETWORK_TIMEOUT_SECONDS, 0 };
	struct timeval op_to = { OPERATION_TIMEOUT_SECONDS, 0 };
	struct timeval before, after;
	LDAP *own = NULL, *ld = c ? c->ld : NULL;
	LDAPMessage *res = NULL;
	char *uri = NULL, *current = NULL, *err = NULL;
	int ver = LDAP_VERSION3, rc;
	time_t dc;

	if (!ld) {
		uri = xasprintf("ldap://%s:%u", host, port ? port : LDAP_PORT_DEFAULT);
		if (ldap_initialize(&own, uri) != LDAP_SUCCESS) {
			err = xasprintf("invalid LDAP URI %s", uri);
			goto out;
		}
		ldap_set_option(own, LDAP_OPT_PROTOCOL_VERSION, &ver);
		ldap_set_option(own, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
		ldap_set_option(own, LDAP_OPT_NETWORK_TIMEOUT, &net_to);
		ld = own;
	}
	gettimeofday(&before, NULL);
	rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &op_to, 1, &res);
	gettimeofday(&after, NULL);
	if (c)
		c->ops++;
	if (rc != LDAP_SUCCESS) {
		err = diagnostic(ld, rc);
		goto out;
	}
	LDAPMessage *e = ldap_first_entry(ld, res);
	struct berval **v = e ? ldap_get_values_len(ld, e, "currentTime") : NULL;
	if (v && v[0] && v[0]->bv_val)
		current = xstrndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	if (parse_gentime(current, &dc) != 0) {
		err = current ? xasprintf("currentTime \"%s\" is not a time", current) : xstrdup("no currentTime");
		goto out;
	}
	/* the DC's second lies within the round trip; compare with its middle */
	double local = ((double)before.tv_sec + (double)after.tv_sec) / 2.0 +
		       ((double)before.tv_usec + (double)after.tv_usec) / 2e6;
	*offset = local - ((double)dc + 0.5);
out:
	if (res)
		ldap_msgfree(res);
	if (own)
		ldap_unbind_ext_s(own, NULL, NULL);
	free(uri);
	free(current);
	if (why)
		*why = err;
	else
		free(err);
	return err ? -1 : 0;
}

char *ldap_entry_dn(const struct ldap_entry *e)
{
	char *dn = ldap_get_dn(e->ld, e->msg);
	char *r = dn ? xstrdup(dn) : NULL;
	ldap_memfree(dn);
	return r;
}

char *ldap_entry_string(const struct ldap_entry *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(e->ld, e->msg, attr);
	char *r = NULL;
	if (v && v[0])
		r = xstrndup(v[0]->bv_val ? v[0]->bv_val : "", v[0]->bv_len);
	ldap_value_free_len(v);
	return r;
}

size_t ldap_entry_blobs(const struct ldap_entry *e, const char *attr, struct bloblist *out)
{
	struct berval **v = ldap_get_values_len(e->ld, e->msg, attr);
	size_t n = 0;
	for (; v && v[n]; n++)
		bloblist_add(out, v[n]->bv_val, v[n]->bv_len);
	ldap_value_free_len(v);
	return n;
}

size_t ldap_entry_strings(const struct ldap_entry *e, const char *attr, struct strlist *out)
{
	struct berval **v = ldap_get_values_len(e->ld, e->msg, attr);
	size_t n = 0;
	for (; v && v[n]; n++) {
		char *s = xstrndup(v[n]->bv_val ? v[n]->bv_val : "", v[n]->bv_len);
		strlist_add(out, s);
		free(s);
	}
	ldap_value_free_len(v);
	return n;
}

char *ldap_filter_escape(const char *value)
{
	/* RFC 4515 section 3: '*', '(', ')', '\' and NUL as \XX; we also escape
	 * non-printable bytes so the filter stays plain ASCII-safe. */
	size_t len = strlen(value);
	char *r = xmalloc(len * 3 + 1), *p = r;
	for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
		if (*s == '*' || *s == '(' || *s == ')' || *s == '\\' || *s < 0x20 || *s == 0x7f) {
			snprintf(p, 4, "\\%02x", *s);
			p += 3;
		} else {
			*p++ = (char)*s;
		}
	}
	*p = '\0';
	return r;
}

static const char *scope_name(enum ldap_conn_scope s)
{
	return s == LDAP_CONN_BASE ? "base" : s == LDAP_CONN_ONE ? "one-level" : "subtree";
}

/* What an entry weighs against ldap_max_bytes: its DN, attribute names and values. */
static unsigned long long entry_bytes(LDAP *ld, LDAPMessage *m)
{
	unsigned long long n = 0;
	BerElement *ber = NULL;
	char *dn = ldap_get_dn(ld, m);

	if (dn) {
		n += strlen(dn);
		ldap_memfree(dn);
	}
	for (char *a = ldap_first_attribute(ld, m, &ber); a; a = ldap_next_attribute(ld, m, ber)) {
		struct berval **v = ldap_get_values_len(ld, m, a);
		n += strlen(a);
		for (size_t i = 0; v && v[i]; i++)
			n += v[i]->bv_len;
		ldap_value_free_len(v);
		ldap_memfree(a);
	}
	if (ber)
		ber_free(ber, 0);
	return n;
}

int ldap_conn_search(struct ldap_conn *c, const char *base, enum ldap_conn_scope scope,
		     const char *filter, const char *const *attrs, unsigned flags,
		     ldap_conn_entry_cb cb, void *ctx, bool *not_found)
{
	/* BER SEQUENCE { INTEGER 7 }: OWNER|GROUP|DACL, no SACL (needs SeSecurityPrivilege). */
	static char sd_value[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	LDAPControl sd_ctrl = { OID_SD_FLAGS, { sizeof(sd_value), sd_value }, 1 };
	struct berval *cookie = NULL;
	LDAPControl *page_ctrl = NULL;
	LDAPControl **resp_ctrls = NULL;
	int lscope = scope == LDAP_CONN_BASE ? LDAP_SCOPE_BASE
		   : scope == LDAP_CONN_ONE ? LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_SUBTREE;
	bool paged = !(flags & LDAP_CONN_NO_PAGING);
	struct timeval to = { OPERATION_TIMEOUT_SECONDS, 0 };
	int ret = -1, rc;

	if (not_found)
		*not_found = false;
	for (;;) {
		LDAPControl *ctrls[3];
		size_t nc = 0;
		if (flags & LDAP_CONN_SD_FLAGS)
			ctrls[nc++] = &sd_ctrl;
		if (paged) {
			rc = ldap_create_page_control(c->ld, PAGE_SIZE, cookie, 0, &page_ctrl);
			if (rc != LDAP_SUCCESS) {
				log_error("cannot build the paged-results control: %s", ldap_err2string(rc));
				goto out;
			}
			ctrls[nc++] = page_ctrl;
		}
		ctrls[nc] = NULL;
		c->ops++;
		double t0 = monotonic_seconds();
		int msgid = -1;
		rc = ldap_search_ext(c->ld, base, lscope, filter, (char **)attrs, 0, ctrls, NULL, &to,
				     LDAP_NO_LIMIT, &msgid);
		if (rc != LDAP_SUCCESS) {
			char *d = diagnostic(c->ld, rc);
			log_error("LDAP %s search of \"%s\" %s on %s failed: %s", scope_name(scope), base, filter,
				  c->dc, d);
			free(d);
			goto out;
		}
		if (paged && ++c->pages > c->max_pages) {
			ldap_abandon_ext(c->ld, msgid, NULL, NULL);
			log_error("LDAP search of \"%s\" on %s: more than %lu pages in this run; the domain "
				  "controller does not end its paged results (ldap_max_entries in [domain] "
				  "bounds them); check the DC", base, c->dc, c->max_pages);
			goto out;
		}
		/* Entries one by one, so the bounds hold before more is read, and the
		 * wait ends early when run_timeout is reached (runlimit.h). */
		bool done = false;
		while (!done) {
			struct timeval tick = { 1, 0 };
			LDAPMessage *m = NULL;
			rc = ldap_result(c->ld, msgid, LDAP_MSG_ONE, &tick, &m);
			if (rc == 0) {
				const char *why = runlimit_expired() ? "run_timeout reached"
					: monotonic_seconds() - t0 > OPERATION_TIMEOUT_SECONDS ? "no answer in time" : NULL;
				if (!why)
					continue;
				ldap_abandon_ext(c->ld, msgid, NULL, NULL);
				log_error("LDAP %s search of \"%s\" on %s stopped: %s (%d s per operation)",
					  scope_name(scope), base, c->dc, why, OPERATION_TIMEOUT_SECONDS);
				c->seconds += monotonic_seconds() - t0;
				goto out;
			}
			if (rc < 0) {
				int err = LDAP_SERVER_DOWN;
				ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
				char *d = diagnostic(c->ld, err);
				log_error("LDAP %s search of \"%s\" %s on %s failed: %s", scope_name(scope), base,
					  filter, c->dc, d);
				free(d);
				c->seconds += monotonic_seconds() - t0;
				goto out;
			}
			int type = ldap_msgtype(m);
			if (type == LDAP_RES_SEARCH_ENTRY) {
				c->entries++;
				c->bytes += entry_bytes(c->ld, m);
				if (c->entries > c->max_entries || c->bytes > c->max_bytes) {
					bool by_count = c->entries > c->max_entries;
					ldap_msgfree(m);
					ldap_abandon_ext(c->ld, msgid, NULL, NULL);
					log_error("LDAP search of \"%s\" on %s: this run read more than %llu %s from the "
						  "directory (%s in [domain]); a directory this large is unusual: raise "
						  "the limit if it is real, otherwise check the domain controller",
						  base, c->dc, by_count ? (unsigned long long)c->max_entries : c->max_bytes,
						  by_count ? "entries" : "bytes",
						  by_count ? "ldap_max_entries" : "ldap_max_bytes");
					c->seconds += monotonic_seconds() - t0;
					goto out;
				}
				struct ldap_entry e = { c->ld, m };
				if (cb(c, &e, ctx) != 0) {
					ldap_msgfree(m);
					ldap_abandon_ext(c->ld, msgid, NULL, NULL);
					c->seconds += monotonic_seconds() - t0;
					goto out;
				}
			} else if (type == LDAP_RES_SEARCH_RESULT) {
				int err = LDAP_SUCCESS;
				char *matched = NULL, *text = NULL;
				done = true;
				rc = ldap_parse_result(c->ld, m, &err, &matched, &text, NULL, &resp_ctrls, 0);
				ldap_memfree(matched);
				if (rc == LDAP_SUCCESS && err != LDAP_SUCCESS) {
					if (err == LDAP_NO_SUCH_OBJECT && not_found) {
						*not_found = true;
						log_debug("LDAP %s search of \"%s\" on %s: %s", scope_name(scope), base,
							  c->dc, ldap_err2string(err));
					} else {
						log_error("LDAP %s search of \"%s\" on %s failed: %s%s%s%s",
							  scope_name(scope), base, c->dc, ldap_err2string(err),
							  text && *text ? " (" : "", text ? text : "", text && *text ? ")" : "");
					}
					ldap_memfree(text);
					ldap_msgfree(m);
					c->seconds += monotonic_seconds() - t0;
					goto out;
				}
				ldap_memfree(text);
			}
			/* LDAP_RES_SEARCH_REFERENCE: continuation into another partition; ignored. */
			ldap_msgfree(m);
		}
		c->seconds += monotonic_seconds() - t0;
		if (page_ctrl) {
			ldap_control_free(page_ctrl);
			page_ctrl = NULL;
		}
		if (!paged)
			break;
		if (cookie) {
			ber_bvfree(cookie);
			cookie = NULL;
		}
		LDAPControl *pr = resp_ctrls ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, resp_ctrls, NULL) : NULL;
		if (!pr)
			break;
		ber_int_t estimate;
		struct berval next = { 0, NULL };
		rc = ldap_parse_pageresponse_control(c->ld, pr, &estimate, &next);
		ldap_controls_free(resp_ctrls);
		resp_ctrls = NULL;
		if (rc != LDAP_SUCCESS) {
			log_error("LDAP search of \"%s\" on %s: bad paged-results response: %s", base, c->dc,
				  ldap_err2string(rc));
			goto out;
		}
		if (next.bv_len == 0) {
			ber_memfree(next.bv_val);
			break;
		}
		cookie = ber_bvdup(&next);
		ber_memfree(next.bv_val);
	}
	ret = 0;
out:
	if (page_ctrl)
		ldap_control_free(page_ctrl);
	if (resp_ctrls)
		ldap_controls_free(resp_ctrls);
	if (cookie)
		ber_bvfree(cookie);
	return ret;
}

struct root_dse_ctx {
	char *default_nc, *config_nc;
};

static int root_dse_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct root_dse_ctx *r = ctx;
	(void)c;
	free(r->default_nc);
	free(r->config_nc);
	r->default_nc = ldap_entry_string(e, "defaultNamingContext");
	r->config_nc = ldap_entry_string(e, "configurationNamingContext");
	return 0;
}

int ldap_conn_root_dse(struct ldap_conn *c, char **default_nc, char **config_nc)
{
	static const char *const attrs[] = { "defaultNamingContext", "configurationNamingContext", NULL };
	struct root_dse_ctx r = { NULL, NULL };
	*default_nc = *config_nc = NULL;
	if (ldap_conn_search(c, "", LDAP_CONN_BASE, "(objectClass=*)", attrs, LDAP_CONN_NO_PAGING,
			     root_dse_cb, &r, NULL) != 0)
		goto fail;
	if (!r.default_nc || !r.config_nc) {
		log_error("the rootDSE of %s has no %s: is it an Active Directory domain controller?", c->dc,
			  !r.default_nc ? "defaultNamingContext" : "configurationNamingContext");
		goto fail;
	}
	*default_nc = r.default_nc;
	*config_nc = r.config_nc;
	return 0;
fail:
	free(r.default_nc);
	free(r.config_nc);
	return -1;
}
