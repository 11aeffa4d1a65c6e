/* adenroll doctor: the prerequisites in pipeline order (as the run needs them), each
 * an independent check printed as "ok|warn|fail|skip  CHECK: DETAIL" with
 * "  fix: ..." under warn and fail.  A check whose input is missing (no
 * ticket => no LDAP) is skipped, never guessed.  Exit 0 without a fail, 1
 * with one.  Nothing is written anywhere.
 *
 * Each step runs the code a pulse runs (krb_keytab_choose and
 * krb_session_open, discovery_domain, ldap_conn_dc_list and
 * ldap_conn_open_list, discovery_read_directory, trust_policy_ca_https,
 * certsrv_probe) one at a time, so the report is about what a pulse would
 * do; verdicts come from the typed results these return, and the modules'
 * logged sentences are shown only as details. */
#include "adenroll-build.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cep.h"
#include "cert.h"
#include "ces.h"
#include "certsrv.h"
#include "enroll.h"
#include "commands.h"
#include "directory.h"
#include "dns.h"
#include "eligibility.h"
#include "json.h"
#include "krb.h"
#include "ldap_conn.h"
#include "log.h"
#include "runner.h"
#include "safetext.h"
#include "trust_policy.h"
#include "util.h"
#include "aepolicy.h"
#include "discovery.h"
#include "gpo_policy.h"
#include "openssl_loader.h"

#define SKEW_FAIL_SECONDS KRB_MAX_SKEW_SECONDS
#define SKEW_WARN_SECONDS 60
#define TCP_TIMEOUT_MS 5000
#define DOCTOR_HTTP_TIMEOUT 15
#define PKS_RDN "CN=Public Key Services,CN=Services,"

enum status { ST_OK, ST_WARN, ST_FAIL, ST_SKIP };
static const char *const status_name[] = { "ok", "warn", "fail", "skip" };

/* What the channel binding check found, for --json (typed, so scripts need
 * not read the sentence). */
struct binding_facts {
	bool present;             /* this check is a channel binding check */
	bool sent, accepted;
	char hash[16];
	const char *required;     /* "yes", "no" or "unknown": does the CA refuse a token without? */
};

struct check {
	enum status st;
	char *name, *detail, *fix;
	struct binding_facts binding;
};

struct doctor {
	bool json;
	struct check *v;
	size_t n;
	unsigned fails, warns;
	char captured[2048];     /* the module's own message for the last step (log_capture) */
	/* what later checks need: the state of a pulse's discovery (discovery.h), step by step */
	struct discovery disc;
	bool have_dir;
	struct bloblist roots_left_out;   /* the directory's roots root_fingerprints does not list */
	struct ldap_dc_list dcs;          /* the DCs a pulse would try */
	bool skew_reported;
	bool keytab_failed;
	struct ae_policy aep;             /* check_group_policy's policy: its PolicyServers */
	bool have_aep;
};

__attribute__((format(printf, 5, 6)))
static void report(struct doctor *d, enum status st, const char *name, const char *fix, const char *fmt, ...)
{
	va_list ap;
	char detail[2048];
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	/* messages from the directory or a server: escaped (safetext.h) */
	safetext_sanitize(detail, sizeof detail);
	d->v = xrealloc(d->v, (d->n + 1) * sizeof *d->v);
	struct check *c = &d->v[d->n++];
	c->st = st;
	c->name = safetext_dup(name);
	c->detail = xstrdup(detail);
	c->fix = (st == ST_WARN || st == ST_FAIL) && fix ? safetext_dup(fix) : NULL;
	memset(&c->binding, 0, sizeof c->binding);
	if (st == ST_FAIL)
		d->fails++;
	if (st == ST_WARN)
		d->warns++;
	if (d->json)
		return;
	printf("%-4s  %s: %s\n", status_name[st], c->name, detail);
	if (c->fix)
		printf("      fix: %s\n", c->fix);
	fflush(stdout);
}

/* The message a module logged while the check ran, or a fallback. */
static const char *why(struct doctor *d, const char *fallback)
{
	return d->captured[0] ? d->captured : fallback;
}

static void begin(struct doctor *d)
{
	log_capture(d->captured, sizeof d->captured);
}

static void end(void)
{
	log_capture(NULL, 0);
}

/* ------------------------------------------------------------------ config */

static void check_config(struct doctor *d, const struct config *cfg, enum adenroll_mode mode)
{
	const char *m = mode == ADENROLL_MODE_USER ? "user" : "machine";
	if (cfg->path)
		report(d, ST_OK, "config", NULL, "%s loaded (%s mode)", cfg->path, m);
	else
		report(d, ST_OK, "config", NULL, "no configuration file, built-in defaults (%s mode)", m);
}

/* ------------------------------------------------------------------ keytab */

/* krb_keytab_choose is what a pulse's krb_session_machine decides with: a
 * choice it refuses fails here with the same sentence. */
static void check_keytab(struct doctor *d, const struct config *cfg)
{
	struct krb_keytab_choice c;
	char text[1024], list[1024] = "";
	size_t ll = 0;

	krb_keytab_choose(cfg, &c);
	krb_keytab_choice_text(&c, text, sizeof text);
	for (size_t i = 0; i < c.principals.n && ll < sizeof list; i++)
		ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "", c.principals.v[i]);
	switch (c.verdict) {
	case KRB_KT_MATCH:
		report(d, ST_OK, "keytab", NULL, "%s has %s (%u keys for %zu principals)", c.path, c.principal, c.keys,
		       c.principals.n);
		break;
	case KRB_KT_ONLY_ACCOUNT: {
		char *fix = xasprintf("set host_fqdn = or principal = in [machine] if %s is this machine's account",
				      c.principal);
		report(d, ST_WARN, "keytab", fix, "%s has no %s$%s%s; adenroll uses its only computer account %s "
		       "(it holds: %s)", c.path, c.host ? c.host : "?", cfg->realm ? "@" : "",
		       cfg->realm ? cfg->realm : "", c.principal, list);
		free(fix);
		break;
	}
	case KRB_KT_MISSING:
	case KRB_KT_UNREADABLE:
		report(d, ST_FAIL, "keytab", c.error == EACCES ? "run adenroll as root (the keytab is root's)"
				   : "join the domain (adcli join / realm join), or set keytab = in [machine]",
		       "cannot read %s: %s", c.path, strerror(c.error));
		break;
	case KRB_KT_NO_KRB5:
		report(d, ST_FAIL, "keytab", "check KRB5_CONFIG and /etc/krb5.conf", "%s", text);
		break;
	case KRB_KT_INVALID:
		report(d, ST_FAIL, "keytab", "re-join the domain to write a new keytab", "%s is not a keytab", c.path);
		break;
	case KRB_KT_NO_ACCOUNT:
		if (c.principals.n == 0) {
			report(d, ST_FAIL, "keytab", "join the domain (adcli join / realm join)", "%s is empty", c.path);
			break;
		}
		/* fall through */
	case KRB_KT_BAD_PRINCIPAL:
	case KRB_KT_NO_SUCH_PRINCIPAL:
	case KRB_KT_SEVERAL_ACCOUNTS: {
		char *fix = xasprintf("set principal = in [machine] to this machine's account, one of the keytab's "
				      "principals (klist -k %s), or re-join the domain", c.path);
		report(d, ST_FAIL, "keytab", fix, "%s; it holds: %s", text, list[0] ? list : "nothing");
		free(fix);
		break;
	}
	}
	krb_keytab_choice_free(&c);
}

/* ------------------------------------------------------------------ Kerberos */

static void check_kerberos(struct doctor *d, const struct config *cfg, enum adenroll_mode mode)
{
	enum krb_failure kf;
	begin(d);
	/* fresh: a cached ticket would hide a keytab whose key the KDC no longer accepts */
	int rc = krb_session_open_fresh(cfg, mode, &d->disc.krb, &kf);
	end();
	if (rc == 0) {
		report(d, ST_OK, "kerberos", NULL, "ticket for %s (%s%s)", krb_session_principal(d->disc.krb),
		       mode == ADENROLL_MODE_USER ? "your credential cache" : "from the keytab, in ",
		       mode == ADENROLL_MODE_USER ? "" : krb_session_ccache_name(d->disc.krb));
		return;
	}
	d->disc.krb = NULL;
	const char *w = why(d, "cannot get a Kerberos ticket");
	switch (kf) {
	case KRB_FAIL_CLOCK_SKEW:
		report(d, ST_FAIL, "kerberos", "sync the clock with the domain (chronyc makestep, timedatectl "
					     "set-ntp true) and retry", "%s", w);
		report(d, ST_FAIL, "clock", "point chrony/ntpd/systemd-timesyncd at the domain controllers",
		       "the KDC rejects this host's time: more than the allowed skew (%d s by default)",
		       SKEW_FAIL_SECONDS);
		d->skew_reported = true;
		break;
	case KRB_FAIL_NO_TICKET:
		report(d, ST_FAIL, "kerberos", "run kinit (or log in through SSSD/pam_krb5)", "%s", w);
		break;
	case KRB_FAIL_NO_KDC:
		report(d, ST_FAIL, "kerberos", "check that DNS has _kerberos._tcp SRV records for the realm, or "
					     "list kdc = in krb5.conf [realms]", "%s", w);
		break;
	case KRB_FAIL_KEYTAB:
		report(d, ST_FAIL, "kerberos", "fix the keytab first (see above)", "%s", w);
		break;
	case KRB_FAIL_LIBRARY:
		report(d, ST_FAIL, "kerberos", "check KRB5_CONFIG and /etc/krb5.conf", "%s", w);
		break;
	case KRB_FAIL_PRINCIPAL_UNKNOWN:
	case KRB_FAIL_KEY_REJECTED:
	case KRB_FAIL_OTHER:
	case KRB_FAIL_NONE:
		if (mode == ADENROLL_MODE_USER)
			report(d, ST_FAIL, "kerberos", "run kinit (or log in through SSSD/pam_krb5)", "%s", w);
		else if (d->keytab_failed)
			report(d, ST_FAIL, "kerberos", "fix the keytab first (see above)", "%s", w);
		else
			report(d, ST_FAIL, "kerberos", "check the keytab (klist -k) and re-join the domain if the key "
						     "is stale (adcli join / realm join)", "%s", w);
		break;
	}
}

/* The domain a pulse looks its DCs up in (discovery_domain).  Without a
 * ticket a pulse stops earlier; doctor goes on with the realm the keytab's
 * entry, the configuration or krb5.conf names, to check DNS anyway. */
static void choose_domain(struct doctor *d, const struct config *cfg)
{
	char *realm = NULL;
	if (d->disc.krb) {
		realm = xstrdup(krb_session_realm(d->disc.krb));
	} else if (cfg->realm && *cfg->realm) {
		realm = xstrdup(cfg->realm);
	} else {
		if (d->disc.mode == ADENROLL_MODE_MACHINE) {
			struct krb_keytab_choice c;
			if (krb_keytab_choose(cfg, &c) == 0 && c.principal && strchr(c.principal, '@'))
				realm = xstrdup(strchr(c.principal, '@') + 1);
			krb_keytab_choice_free(&c);
		}
		if (!realm)
			realm = krb_default_realm();
	}
	d->disc.domain = discovery_domain(cfg, realm);
	free(realm);
}

/* ------------------------------------------------------------------ DNS */

static bool resolves(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return false;
	freeaddrinfo(ai);
	return true;
}

/* The DCs ldap_conn_open would try (ldap_conn_dc_list), then whether
 * each name has an address. */
static void check_dns(struct doctor *d, const struct config *cfg)
{
	char list[1024] = "", bad[1024] = "";
	size_t ll = 0, bl = 0;

	if (!cfg->dcs.n && !d->disc.domain) {
		report(d, ST_FAIL, "dns", "set domain = (or realm =) in [domain]",
		       "no DNS domain known: no domain/realm configured and no Kerberos realm");
		return;
	}
	begin(d);
	ldap_conn_dc_list(cfg, d->disc.domain, &d->dcs);
	end();
	for (size_t i = 0; i < d->dcs.n; i++) {
		if (ll < sizeof list)
			ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s:%u", i ? ", " : "", d->dcs.v[i].host,
					       d->dcs.v[i].port);
		if (!resolves(d->dcs.v[i].host) && bl < sizeof bad)
			bl += (size_t)snprintf(bad + bl, sizeof bad - bl, "%s%s", bl ? ", " : "", d->dcs.v[i].host);
	}
	if (d->dcs.configured) {
		if (bad[0])
			report(d, ST_FAIL, "dns", "fix the names in dcs = ([domain]) or DNS", "DC override %s: %s do%s not "
			       "resolve", list, bad, strchr(bad, ',') ? "" : "es");
		else
			report(d, ST_OK, "dns", NULL, "DC override in the configuration: %s (SRV records not used)", list);
		return;
	}
	if (d->dcs.site_srv && d->dcs.n_site == 0)
		report(d, ST_WARN, "dns", "check site = in [domain] (the AD site name)",
		       "no site-local DCs: %s has no SRV records", d->dcs.site_srv);
	if (d->dcs.n == 0) {
		report(d, ST_FAIL, "dns", "point /etc/resolv.conf at the domain's DNS servers, or set dcs = in [domain]",
		       "%s: no SRV records", d->dcs.domain_srv);
		return;
	}
	const char *name = d->dcs.n_site ? d->dcs.site_srv : d->dcs.domain_srv;
	if (bad[0])
		report(d, ST_WARN, "dns", "add A/AAAA records for the DCs the SRV records name",
		       "%s: %s; no address for %s", name, list, bad);
	else
		report(d, ST_OK, "dns", NULL, "%s: %s", name, list);
}

/* ------------------------------------------------------------------ LDAP */

static void check_ldap(struct doctor *d, const struct config *cfg)
{
	if (!d->disc.krb) {
		report(d, ST_SKIP, "ldap", NULL, "needs a Kerberos ticket (see above)");
		return;
	}
	if (d->dcs.n == 0) {
		report(d, ST_SKIP, "ldap", NULL, "no domain controller to try (see the dns check)");
		return;
	}
	begin(d);
	int rc = ldap_conn_open_list(cfg, &d->dcs, &d->disc.ldap);
	end();
	if (rc != 0) {
		d->disc.ldap = NULL;
		report(d, ST_FAIL, "ldap", cfg->dcs.n ? "check dcs = in [domain] names live domain controllers "
							"(or remove it to use DNS SRV)"
						      : "check that the DCs are reachable on port 389 and that the "
							"host's clock is in sync",
		       "%s", why(d, "cannot bind to any domain controller"));
		return;
	}
	int ssf = ldap_conn_ssf(d->disc.ldap);
	const char *prot = ssf >= 56 ? "sign and seal" : ssf > 0 ? "sign only" : "none";
	if (ssf < 56)
		report(d, ST_WARN, "ldap", "the DC should negotiate SASL confidentiality (minssf=56 was asked)",
		       "bound to %s with SASL GSSAPI, security layer %s (SSF %d)", ldap_conn_dc(d->disc.ldap), prot, ssf);
	else
		report(d, ST_OK, "ldap", NULL, "bound to %s with SASL GSSAPI, security layer %s (SSF %d)",
		       ldap_conn_dc(d->disc.ldap), prot, ssf);
}

static void check_clock(struct doctor *d)
{
	if (d->skew_reported)
		return;
	if (!d->disc.ldap) {
		report(d, ST_SKIP, "clock", NULL, "needs an LDAP connection to read the DC's time");
		return;
	}
	double skew;
	char *err = NULL, text[512];
	begin(d);
	int rc = ldap_conn_clock_offset(d->disc.ldap, NULL, 0, &skew, &err);
	end();
	if (rc != 0) {
		report(d, ST_WARN, "clock", "compare `date -u` with the DC's time by hand",
		       "cannot read the DC's currentTime from the rootDSE: %s", err ? err : why(d, "no value"));
		free(err);
		return;
	}
	double a = skew < 0 ? -skew : skew;
	const char *dir = skew > 0 ? "ahead of" : "behind";
	if (a > SKEW_FAIL_SECONDS) {
		discovery_clock_text(skew, ldap_conn_dc(d->disc.ldap), text, sizeof text);
		report(d, ST_FAIL, "clock", "sync the time with the domain (chrony/ntpd/systemd-timesyncd against the DCs)",
		       "%s", text);
	} else if (a > SKEW_WARN_SECONDS)
		report(d, ST_WARN, "clock", "sync the time with the domain (chrony/ntpd/systemd-timesyncd against the DCs)",
		       "this host is %.0f s %s %s (Kerberos fails beyond %d s)", a, dir, ldap_conn_dc(d->disc.ldap),
		       SKEW_FAIL_SECONDS);
	else
		report(d, ST_OK, "clock", NULL, "within %.0f s of %s", a < 1 ? 1.0 : a, ldap_conn_dc(d->disc.ldap));
}

struct count_ctx {
	size_t n;
};

static int count_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	(void)c;
	(void)e;
	((struct count_ctx *)ctx)->n++;
	return 0;
}

static void check_directory(struct doctor *d, const struct config *cfg)
{
	if (!d->disc.ldap) {
		report(d, ST_SKIP, "directory", NULL, "needs an LDAP connection");
		report(d, ST_SKIP, "enrollment services", NULL, "needs an LDAP connection");
		return;
	}
	char *default_nc = NULL, *config_nc = NULL;
	begin(d);
	int rc = ldap_conn_root_dse(d->disc.ldap, &default_nc, &config_nc);
	end();
	if (rc != 0 || !config_nc) {
		report(d, ST_FAIL, "directory", "check the DC answers rootDSE queries (ldapsearch -Y GSSAPI -b '' -s base)",
		       "cannot read the rootDSE of %s: %s", ldap_conn_dc(d->disc.ldap), why(d, "no configurationNamingContext"));
		report(d, ST_SKIP, "enrollment services", NULL, "needs the configuration naming context");
		free(default_nc);
		free(config_nc);
		return;
	}
	char *pks = xasprintf(PKS_RDN "%s", config_nc);
	static const char *const attrs[] = { "cn", NULL };
	struct count_ctx cc = { 0 };
	bool not_found = false;
	begin(d);
	rc = ldap_conn_search(d->disc.ldap, pks, LDAP_CONN_ONE, "(objectClass=*)", attrs, 0, count_cb, &cc, &not_found);
	end();
	if (rc != 0) {
		report(d, ST_FAIL, "directory", not_found ? "install an enterprise CA (AD CS) in this forest"
							  : "check this account may read the configuration partition",
		       "%s: %s", pks, not_found ? "does not exist: no AD CS in this forest" : why(d, "cannot be read"));
		report(d, ST_SKIP, "enrollment services", NULL, "needs Public Key Services");
		goto out;
	}
	report(d, ST_OK, "directory", NULL, "configuration NC %s; Public Key Services readable (%zu containers)",
	       config_nc, cc.n);

	begin(d);
	rc = discovery_read_directory(cfg, &d->disc, &d->roots_left_out);
	end();
	if (rc != 0) {
		report(d, ST_FAIL, "account", "check the account exists in this domain (re-join the host if it was deleted)",
		       "%s", why(d, "cannot read the account and PKI objects"));
		report(d, ST_SKIP, "enrollment services", NULL, "needs the directory snapshot");
		goto out;
	}
	d->have_dir = true;
	struct eligibility *el = xcalloc(d->disc.dir.n_templates + 1, sizeof *el);
	struct eligibility_options eopt;
	memset(&eopt, 0, sizeof eopt);
	eopt.mode = d->disc.mode;
	eopt.allow_v1_templates = cfg->allow_v1_templates;
	eligibility_evaluate_all(&d->disc.dir, &eopt, el);
	size_t eligible = 0;
	for (size_t i = 0; i < d->disc.dir.n_templates; i++)
		eligible += el[i].code == ELIG_OK;
	free(el);
	report(d, eligible ? ST_OK : ST_WARN, "account",
	       "grant this account (or a group it is in) Enroll and Autoenroll on a published template; "
	       "`adenroll templates` and `adenroll explain` say why each is not eligible",
	       "%s: %zu group SIDs in the token; %zu templates, %zu this account may autoenroll",
	       d->disc.dir.account.sam_account_name ? d->disc.dir.account.sam_account_name : "?", d->disc.dir.account.n_token,
	       d->disc.dir.n_templates, eligible);

	if (d->disc.dir.n_cas == 0) {
		report(d, ST_FAIL, "enrollment services", "install an enterprise CA, or check that its "
							  "pKIEnrollmentService object is readable",
		       "no pKIEnrollmentService under CN=Enrollment Services,%s", pks);
		goto out;
	}
	char list[1024] = "";
	size_t ll = 0;
	for (size_t i = 0; i < d->disc.dir.n_cas && ll < sizeof list; i++)
		ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s on %s (%zu templates)", i ? ", " : "",
				       d->disc.dir.cas[i].cn, d->disc.dir.cas[i].dns_host_name ? d->disc.dir.cas[i].dns_host_name : "no host",
				       d->disc.dir.cas[i].templates.n);
	size_t roots = d->disc.dir.root_cas.n + d->roots_left_out.n;
	report(d, ST_OK, "enrollment services", NULL, "%s; %zu root CA certificates", list, roots);
	if (roots == 0)
		report(d, ST_FAIL, "trust", "publish the root CA in CN=Certification Authorities (certutil -dspublish -f root.cer RootCA)",
		       "no root CA certificate in CN=Certification Authorities: HTTPS to the CA cannot be verified");
out:
	free(pks);
	free(default_nc);
	free(config_nc);
}

/* ------------------------------------------------------------------ trust of roots */

/* What a pulse would do with each root of the directory (trust_policy.h):
 * add it to anchors_dir / the system store / an NSS database, or not, and
 * why.  The roots root_fingerprints leaves out were already set aside by
 * discovery_read_directory, as in a pulse: the TLS checks of the CAs below
 * do not use them. */
static void check_trust_roots(struct doctor *d, const struct config *cfg)
{
	const char *dc = d->disc.dir.dc;
	char dest[300];
	size_t n = 0;

	dest[0] = '\0';
	if (cfg->anchors_dir && *cfg->anchors_dir)
		n += (size_t)snprintf(dest + n, sizeof dest - n, "%s%s", cfg->anchors_dir,
				      cfg->update_system_trust ? " and the system trust store" : "");
	if ((cfg->store_types & STORE_NSS) && n < sizeof dest)
		n += (size_t)snprintf(dest + n, sizeof dest - n, "%strusted in %s", n ? ", " : "", cfg->nss_db);
	report(d, ST_OK, "trust policy", NULL, "directory read from %s (%s); pinned_dcs: %zu, root_fingerprints: %zu%s",
	       dc ? dc : "?", cfg->dcs.n ? "named in [domain] dcs" : "found through DNS SRV", cfg->pinned_dcs.n,
	       cfg->root_fingerprints.n,
	       cfg->pinned_dcs.n || cfg->root_fingerprints.n ? "" : " (no root is ever written or trusted)");
	const struct bloblist *lists[] = { &d->disc.dir.root_cas, &d->roots_left_out };
	for (size_t l = 0; l < 2; l++)
	for (size_t i = 0; i < lists[l]->n; i++) {
		X509 *x = cert_from_der(lists[l]->v[i].data, lists[l]->v[i].len);
		struct trust_verdict v;
		char name[300];
		char *subj = x ? cert_subject_text(x) : NULL;

		trust_policy_decide(cfg, dc, x, &v);
		snprintf(name, sizeof name, "root %s", subj ? subj : "(unparsable)");
		if (dest[0] == '\0')
			report(d, ST_OK, name, NULL, "SHA-256 %s: used only by adenroll (no anchors_dir, no NSS store); "
			       "would be %s: %s", v.fingerprint, v.allowed ? "allowed" : "refused", v.why);
		else if (v.allowed)
			report(d, ST_OK, name, NULL, "SHA-256 %s: would be added to %s: %s", v.fingerprint, dest, v.why);
		else {
			char *fix = xasprintf("if the CA administrator confirms this fingerprint, add root_fingerprints = %s "
					      "to [store]%s%s", v.fingerprint, dc ? ", or pinned_dcs = " : "", dc ? dc : "");
			report(d, ST_WARN, name, fix, "SHA-256 %s: would NOT be added to %s: %s", v.fingerprint, dest,
			       v.why);
			free(fix);
		}
		if (lists[l] == &d->roots_left_out)
			report(d, ST_WARN, name, "add its fingerprint to root_fingerprints if adenroll should trust it",
			       "not in root_fingerprints: adenroll does not trust it for anything, its CAs' "
			       "HTTPS and certificates included");
		free(subj);
		X509_free(x);
	}
}

/* ------------------------------------------------------------------ Group Policy */

static void check_group_policy(struct doctor *d, const struct config *cfg)
{
	if (cfg->policy_source == CONFIG_POLICY_LOCAL) {
		report(d, ST_OK, "group policy", NULL, "not read ([policy] source = local): the [policy] switches apply");
		return;
	}
	if (!d->have_dir || !d->disc.krb) {
		report(d, ST_SKIP, "group policy", NULL, "needs the directory snapshot");
		report(d, ST_SKIP, "sysvol", NULL, "needs the directory snapshot");
		return;
	}
	struct ae_policy p;
	struct gpo_eval ev;
	char origin[1200], bits[160], msg[1024];
	begin(d);
	gpo_policy_evaluate(cfg, &d->disc, true, &p, &ev);
	end();
	ae_origin_text(&p, origin, sizeof origin);
	ae_bits_text(p.aepolicy, bits, sizeof bits);
	if (ev.dir.account_dn == NULL)
		report(d, ST_FAIL, "group policy", "check the account may read gPLink of its OUs and the groupPolicyContainer objects",
		       "the GPO links and objects could not be read: %s", why(d, ev.error));
	else if (p.degraded)
		report(d, ST_WARN, "group policy", "see the sysvol check; until SYSVOL can be read the cached policy (or none) is used",
		       "%zu GPO(s) apply, %zu link(s) do not; %s", ev.res.n_applied, ev.res.n_skipped, p.degraded_reason);
	else if (ae_disabled(&p)) {
		char text[1400];
		ae_disabled_text(&p, text, sizeof text);
		report(d, ST_WARN, "group policy", "nothing is autoenrolled while this holds; `adenroll explain` lists the GPOs",
		       "%s", text);
	} else
		report(d, ST_OK, "group policy", NULL, "%zu GPO(s) apply, %zu link(s) do not (see `adenroll explain`); AEPolicy %s from %s",
		       ev.res.n_applied, ev.res.n_skipped, bits, origin);
	if (ev.dir.account_dn) {
		begin(d);
		int rc = gpo_policy_probe(cfg, &d->disc, &ev, msg, sizeof msg);
		end();
		report(d, rc == 0 ? ST_OK : rc == 1 ? ST_SKIP : ST_FAIL, "sysvol",
		       "the DC must serve SYSVOL over SMB3 with encryption (Samba: keep s3fs in \"server services\"); "
		       "the account needs a cifs/ ticket for the DC; install adenroll-gpo-fetch",
		       "%s", msg);
	} else {
		report(d, ST_SKIP, "sysvol", NULL, "needs the GPO objects");
	}
	gpo_eval_free(&ev);
	d->aep = p;   /* check_policy_servers asks its PolicyServers; freed at the end */
	d->have_aep = true;
}

/* ------------------------------------------------------------------ CA hosts */

static int tcp_connect(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
		return -1;
	}
	int ret = -1;
	snprintf(err, errlen, "no address");
	for (struct addrinfo *a = ai; a && ret < 0; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ret = 0;
		} else if (errno == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int so = 0;
			socklen_t sl = sizeof so;
			int pr = poll(&p, 1, TCP_TIMEOUT_MS);
			if (pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0)
				ret = 0;
			else if (pr == 0)
				snprintf(err, errlen, "no answer within %d s", TCP_TIMEOUT_MS / 1000);
			else
				snprintf(err, errlen, "%s", strerror(so ? so : errno));
		} else {
			snprintf(err, errlen, "%s", strerror(errno));
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return ret;
}

/* Extended Protection (KB5005413): was the token bound to the TLS
 * certificate, did the CA accept it, and does the CA refuse one without?
 * bound is the answer to the token enrollment sends; unbound, the answer to
 * the same without bindings, tells "Required" from "Accept/Off" and a
 * binding mismatch (the CA sees another certificate: TLS terminated before
 * it) from a Kerberos failure. */
static void check_channel_binding(struct doctor *d, const struct enrollment_service *ca,
				  const struct certsrv_probe *bound, int unbound_rc, const struct certsrv_probe *unbound)
{
	char name[300];
	const char *host = ca->dns_host_name;
	snprintf(name, sizeof name, "ca %s channel binding", ca->cn);
	struct binding_facts f = { true, bound->auth.binding_sent, false, "", "unknown" };
	snprintf(f.hash, sizeof f.hash, "%s", bound->auth.binding_hash);
	if (!bound->auth.token_sent) {
		report(d, ST_SKIP, name, NULL, "no Kerberos token was sent (see the kerberos check)");
		d->v[d->n - 1].binding = f;
		return;
	}
	if (bound->auth.binding_undefined) {
		report(d, ST_WARN, name, "give the web server a certificate signed with RSA or ECDSA",
		       "https://%s/ has a certificate whose signature algorithm (such as Ed25519) defines no "
		       "tls-server-end-point binding: the token went without one, and a CA with Extended Protection "
		       "Required refuses it", host);
		d->v[d->n - 1].binding = f;
		return;
	}
	bool unbound_ok = unbound_rc == 0 && unbound->http_status == 200;
	bool unbound_refused = unbound_rc == 0 && unbound->http_status == 401;
	if (unbound_ok)
		f.required = "no";
	else if (unbound_refused)
		f.required = "yes";
	if (bound->http_status == 200 && bound->auth.accepted) {
		f.accepted = true;
		report(d, ST_OK, name, NULL, "sent (tls-server-end-point, %s of the TLS certificate) and accepted by the "
		       "CA; %s", f.hash,
		       unbound_refused ? "the CA requires it (Extended Protection Required: a token without "
					 "channel binding is refused)"
		       : unbound_ok ? "the CA does not require it (a token without channel binding is accepted "
				      "too: Extended Protection Off or Accept)"
				    : "whether the CA requires it is unknown (the request without channel binding "
				      "got no clear answer)");
	} else if (bound->http_status == 401 && unbound_ok) {
		report(d, ST_FAIL, name, "terminate TLS on the CA's web server itself, or make the proxy, load balancer "
					 "or TLS-inspecting firewall in front of it pass TLS through; if TLS must end on "
					 "that device, configure IIS Extended Protection for a proxy (flags \"Proxy\" with "
					 "the device's HTTP/ name in its SPN list: service binding instead of channel binding)",
		       "sent (tls-server-end-point, %s) but refused by the CA (HTTP 401), which accepts the same "
		       "ticket without channel binding: the CA sees another TLS certificate than this host does",
		       f.hash);
	} else if (bound->http_status == 401) {
		report(d, ST_SKIP, name, NULL, "sent (tls-server-end-point, %s); the CA refuses the ticket with and "
		       "without channel binding (see the kerberos check)", f.hash);
	} else {
		report(d, ST_SKIP, name, NULL, "sent (tls-server-end-point, %s); GET /certsrv/ answered HTTP %ld",
		       f.hash, bound->http_status);
	}
	d->v[d->n - 1].binding = f;
}

static void check_ca(struct doctor *d, const struct config *cfg, const struct enrollment_service *ca)
{
	char name[300], err[512];
	const char *host = ca->dns_host_name;
	snprintf(name, sizeof name, "ca %s", ca->cn);
	if (!host || !*host) {
		report(d, ST_FAIL, name, "set dNSHostName on the enrollment service object",
		       "the enrollment service has no dNSHostName");
		return;
	}
	if (tcp_connect(host, "443", err, sizeof err) != 0) {
		report(d, ST_FAIL, name, "check that IIS Web Enrollment (/certsrv) is installed and HTTPS (443) is open "
					 "from this host", "https://%s/: cannot connect to port 443: %s", host, err);
		return;
	}
	report(d, ST_OK, name, NULL, "%s:443 accepts connections", host);

	long timeout = cfg->http_timeout > 0 && cfg->http_timeout < DOCTOR_HTTP_TIMEOUT ? cfg->http_timeout
											: DOCTOR_HTTP_TIMEOUT;
	struct bloblist inter = { NULL, 0 };
	/* what enrollment verifies this CA's HTTPS against */
	const struct bloblist *anchors = trust_policy_ca_https(&d->disc.dir, ca, &inter);
	struct certsrv_probe p;
	begin(d);
	int rc = certsrv_probe(host, anchors, &inter, timeout, CERTSRV_PROBE_ANONYMOUS, &p);
	end();
	snprintf(name, sizeof name, "ca %s tls", ca->cn);
	if (rc != 0) {
		report(d, ST_FAIL, name, "give the web server a certificate for this host name that chains to a root "
					 "CA the directory publishes (CN=Certification Authorities; intermediates may "
					 "come from the server, AIA or the enrollment service)",
		       "%s", p.message[0] ? p.message : why(d, "no HTTP answer"));
		bloblist_free(&inter);
		return;
	}
	report(d, ST_OK, name, NULL, "https://%s/ certificate verifies against the directory's root CAs and names the host",
	       host);

	snprintf(name, sizeof name, "ca %s negotiate", ca->cn);
	if (p.http_status != 401)
		report(d, ST_WARN, name, "require Windows Authentication on /certsrv (anonymous access is an ESC8 risk "
					 "and adenroll needs Kerberos)",
		       "GET /certsrv/ without credentials answered HTTP %ld, not 401", p.http_status);
	else if (p.negotiate_offered)
		report(d, ST_OK, name, NULL, "/certsrv/ offers %s", p.auth_schemes);
	else if (p.ntlm_offered)
		report(d, ST_WARN, name, "enable the Negotiate provider of Windows Authentication on /certsrv (IIS) "
					 "and register SPN HTTP/<host>: adenroll authenticates with Kerberos only",
		       "/certsrv/ offers only %s: NTLM cannot be used with a keytab", p.auth_schemes);
	else
		report(d, ST_FAIL, name, "enable Windows Authentication (Negotiate) on /certsrv",
		       "/certsrv/ does not offer Negotiate (offers: %s)", p.auth_schemes[0] ? p.auth_schemes : "nothing");

	snprintf(name, sizeof name, "ca %s kerberos", ca->cn);
	if (!d->disc.krb) {
		report(d, ST_SKIP, name, NULL, "needs a Kerberos ticket");
		bloblist_free(&inter);
		return;
	}
	begin(d);
	rc = certsrv_probe(host, anchors, &inter, timeout, CERTSRV_PROBE_KERBEROS, &p);
	end();
	struct certsrv_probe u;
	int urc = -1;
	memset(&u, 0, sizeof u);
	if (rc == 0 && p.auth.binding_sent && (p.http_status == 200 || p.http_status == 401)) {
		begin(d);
		urc = certsrv_probe(host, anchors, &inter, timeout, CERTSRV_PROBE_KERBEROS_UNBOUND, &u);
		end();
	}
	if (rc != 0)
		report(d, ST_FAIL, name, "see the message; retry with -v for libcurl's details", "%s",
		       p.message[0] ? p.message : why(d, "no HTTP answer"));
	else if (p.http_status == 200)
		report(d, ST_OK, name, NULL, "GET /certsrv/ with a ticket for HTTP/%s: HTTP 200, mutual authentication "
		       "verified", host);
	else if (p.http_status == 401 && urc == 0 && u.http_status == 200)
		report(d, ST_FAIL, name, "see the channel binding check",
		       "GET /certsrv/ with a Kerberos ticket bound to the TLS certificate was refused (HTTP 401); "
		       "the same ticket without channel binding is accepted");
	else if (p.http_status == 401) {
		char *fix = xasprintf("check the SPN HTTP/%s (setspn -Q HTTP/%s) and that the web server's key is "
				      "current; if Extended Protection is Required, TLS must end on that web server (not on a "
				      "proxy or load balancer before it), or the channel binding cannot match", host, host);
		report(d, ST_FAIL, name, fix, "GET /certsrv/ with a Kerberos ticket was refused (HTTP 401)");
		free(fix);
	} else
		report(d, ST_WARN, name, "check the /certsrv application on the web server",
		       "GET /certsrv/ with a Kerberos ticket answered HTTP %ld", p.http_status);
	if (rc == 0)
		check_channel_binding(d, ca, &p, urc, &u);
	bloblist_free(&inter);
}

/* ---- Group Policy's enrollment policy servers (PolicyServers): each
 * asked with GetPolicies as a run asks it (cep.h: TLS against the
 * directory's roots, Kerberos bound to the TLS certificate, mutual
 * authentication), in the order a run asks them, its CAs matched to the
 * directory's enrollment services, their endpoints added to those check_ces
 * then probes.  Doctor asks every server, also the stand-ins a run asks
 * only when the cheaper server of the same policy fails. */
static void report_policy_cas(struct doctor *d, const char *server_name, const char *url,
			      const struct xcep_policy *pol)
{
	char name[300];
	if (pol->n_cas == 0) {
		report(d, ST_WARN, server_name, "check the CAs of the enrollment policy on the policy server",
		       "%s: its policy names no CA: no CES endpoint comes from it", url);
		return;
	}
	for (size_t c = 0; c < pol->n_cas; c++) {
		const struct xcep_ca *ca = &pol->cas[c];
		const char *how;
		struct enrollment_service *s = cep_match_ca(&d->disc.dir, ca, &how);
		char list[1536] = "";
		size_t k = 0, used = 0;
		for (size_t u = 0; u < ca->n_uris && k < sizeof list; u++) {
			const struct xcep_uri *e = &ca->uris[u];
			bool kerb = e->auth == CES_AUTH_KERBEROS;
			int w = snprintf(list + k, sizeof list - k, "%s%s (priority %u%s%s)", u ? ", " : "", e->url,
					 e->priority, e->renewal_only ? ", renewals only" : "",
					 kerb ? "" : ", not Kerberos: not used");
			if (w < 0)
				break;
			k += (size_t)w;
			used += kerb;
		}
		snprintf(name, sizeof name, "%s ca %ld", server_name, ca->reference_id);
		if (!s)
			report(d, ST_WARN, name, "publish the CA in the directory (an enrollment service under "
			       "CN=Enrollment Services), or remove it from the enrollment policy",
			       "matches none of the directory's enrollment services (neither its certificate nor a "
			       "URI's host or CA name): its endpoints are not used: %s", list);
		else if (used == 0)
			report(d, ST_WARN, name, "add a CES endpoint with Kerberos authentication for this CA on the "
			       "policy server", "enrollment service %s (matched by %s): no Kerberos endpoint: %s",
			       s->cn, how, list);
		else
			report(d, ST_OK, name, NULL, "enrollment service %s (matched by %s): %s", s->cn, how, list);
	}
}

static void check_policy_servers(struct doctor *d, const struct config *cfg)
{
	const char *name0 = "policy servers";
	if (!d->have_aep) {
		if (cfg->policy_source != CONFIG_POLICY_LOCAL)
			report(d, ST_SKIP, name0, NULL, "needs the Group Policy check");
		return;
	}
	if (d->aep.n_servers == 0) {
		report(d, ST_OK, name0, NULL, "none in Group Policy (PolicyServers): CES endpoints come from "
		       "msPKI-Enrollment-Servers only");
		return;
	}
	if (cfg->transport == CONFIG_TRANSPORT_CERTSRV) {
		report(d, ST_SKIP, name0, NULL, "%zu in Group Policy, not asked ([enroll] transport = certsrv)",
		       d->aep.n_servers);
		return;
	}
	struct cep_choice *c = NULL, *ca = NULL;
	size_t n = cep_order(&d->aep, CEP_USE_MANUAL, &c);
	cep_order(&d->aep, CEP_USE_AUTOENROLLMENT, &ca);
	long timeout = cfg->http_timeout > 0 && cfg->http_timeout < DOCTOR_HTTP_TIMEOUT ? cfg->http_timeout
											: DOCTOR_HTTP_TIMEOUT;
	const char *first_of_group = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct ae_policy_server *sv = c[i].server;
		const char *url = sv->url ? sv->url : "";
		char name[64], role[640];
		snprintf(name, sizeof name, "policy server %zu", i + 1);
		if (i == 0 || c[i].group != c[i - 1].group)
			first_of_group = NULL;
		if (c[i].verdict == CEP_NOT_HTTPS) {
			if (strcasecmp(url, "LDAP:") == 0)
				report(d, ST_OK, name, NULL, "LDAP: (cost %lu): the directory's own enrollment policy, "
				       "read with the directory", (unsigned long)sv->cost);
			else
				report(d, ST_WARN, name, "give the server's https:// URL in the GPO (Certificate Services "
				       "Client - Certificate Enrollment Policy)", "%s: %s: never asked", url,
				       cep_verdict_text(c[i].verdict));
			continue;
		}
		if (c[i].verdict != CEP_ASK) {
			report(d, ST_WARN, name, "set the server's authentication type to Kerberos in the GPO "
			       "(Certificate Services Client - Certificate Enrollment Policy)",
			       "%s (AuthFlags %lu): %s: never asked", url, (unsigned long)sv->auth_flags,
			       cep_verdict_text(c[i].verdict));
			continue;
		}
		int w = snprintf(role, sizeof role, "cost %lu, %s%s", (unsigned long)sv->cost,
				 ca[i].verdict == CEP_ASK ? "used by pulse and enroll" :
				 "used by `adenroll enroll` only (Flags without AutoEnrollmentEnabled 0x10)",
				 first_of_group ? "; asked by a run only when " : "");
		if (first_of_group && w > 0 && (size_t)w < sizeof role)
			snprintf(role + w, sizeof role - (size_t)w, "%s of the same PolicyID fails", first_of_group);
		if (!first_of_group)
			first_of_group = url;
		if (!d->disc.krb) {
			report(d, ST_SKIP, name, NULL, "%s (%s): needs a Kerberos ticket", url, role);
			continue;
		}
		struct xcep_policy pol;
		struct https_auth auth;
		begin(d);
		int rc = cep_get_policies_auth(url, &d->disc.dir.root_cas, &d->disc.dir.aia_cas, timeout, &pol, &auth);
		end();
		if (rc < 0) {
			const char *fix = auth.refused ?
				"check the SPN HTTP/<host> of the policy server's application pool account and that "
				"Windows Authentication (Negotiate) is enabled on it; with Extended Protection Required, "
				"TLS must end on the server itself" :
				"check that the enrollment policy web service is installed with Kerberos authentication "
				"at this URL, reachable from this host, and that its TLS certificate chains to a root CA "
				"the directory publishes";
			report(d, ST_FAIL, name, fix, "%s (%s): GetPolicies failed: %s; a run does without its "
			       "endpoints", url, role, pol.message[0] ? pol.message : why(d, "no answer"));
			xcep_policy_free(&pol);
			continue;
		}
		report(d, ST_OK, name, NULL, "%s (%s): GetPolicies answered over TLS verified against the "
		       "directory's roots, Kerberos accepted%s%s%s and mutual authentication verified; %zu CA(s)",
		       url, role, auth.binding_sent ? " with channel binding (tls-server-end-point, " : " without channel binding",
		       auth.binding_sent ? auth.binding_hash : "", auth.binding_sent ? ")" : "", pol.n_cas);
		report_policy_cas(d, name, url, &pol);
		begin(d);
		cep_merge(&d->disc.dir, &pol, url);
		end();
		xcep_policy_free(&pol);
	}
	free(c);
	free(ca);
}

/* ---- CES: the CA's CES endpoints (msPKI-Enrollment-Servers),
 * each probed like /certsrv (TLS against the directory's roots, a Kerberos
 * token bound to the TLS certificate, mutual authentication), and which
 * transport enrollment would use for this CA and why. */
static void check_ces(struct doctor *d, const struct config *cfg, const struct enrollment_service *ca)
{
	char name[300];
	struct enroll_endpoint *eps = NULL;
	size_t n_eps = enroll_endpoints(ca, cfg->transport, false, false, &eps);
	snprintf(name, sizeof name, "ca %s transport", ca->cn);
	if (n_eps == 0)
		report(d, ST_FAIL, name, cfg->transport == CONFIG_TRANSPORT_CES ?
		       "add a CES endpoint with Kerberos authentication to the CA (Install-AdcsEnrollmentWebService "
		       "-AuthenticationType Kerberos), or set [enroll] transport = auto" :
		       "set dNSHostName on the enrollment service", "no way to send a request to this CA "
		       "([enroll] transport = %s)", enroll_transport_name(cfg->transport));
	else {
		/* the whole order: "A (why), then B, then https://host/certsrv/" */
		char order[1024];
		size_t k = 0;
		for (size_t i = 0; i < n_eps && k < sizeof order; i++) {
			int w = snprintf(order + k, sizeof order - k, "%s%s%s%s", i ? ", then " : "",
					 eps[i].ces ? eps[i].url : "https://", eps[i].ces ? "" : ca->dns_host_name,
					 eps[i].ces ? "" : "/certsrv/");
			if (w < 0)
				break;
			k += (size_t)w;
		}
		report(d, ST_OK, name, NULL, "new requests go to %s (first: %s)", order, eps[0].why);
	}
	free(eps);

	long timeout = cfg->http_timeout > 0 && cfg->http_timeout < DOCTOR_HTTP_TIMEOUT ? cfg->http_timeout
											: DOCTOR_HTTP_TIMEOUT;
	for (size_t i = 0; i < ca->n_ces; i++) {
		const struct ces_endpoint *e = &ca->ces[i];
		snprintf(name, sizeof name, "ca %s ces %zu", ca->cn, i + 1);
		if (cfg->transport == CONFIG_TRANSPORT_CERTSRV) {
			report(d, ST_SKIP, name, NULL, "%s: not used ([enroll] transport = certsrv)", e->url);
			continue;
		}
		if (e->auth != CES_AUTH_KERBEROS) {
			report(d, ST_SKIP, name, NULL, "%s: not used: its authentication type is %u, adenroll uses only "
			       "Kerberos (2)", e->url, e->auth);
			continue;
		}
		if (!d->disc.krb) {
			report(d, ST_SKIP, name, NULL, "%s: needs a Kerberos ticket", e->url);
			continue;
		}
		/* the anchors enrollment uses (trust_policy.h), as for /certsrv */
		struct bloblist inter = { NULL, 0 };
		const struct bloblist *anchors = trust_policy_ca_https(&d->disc.dir, ca, &inter);
		struct certsrv_probe p;
		begin(d);
		int rc = ces_probe(e->url, anchors, &inter, timeout, CERTSRV_PROBE_KERBEROS, &p);
		end();
		bloblist_free(&inter);
		char role[600];
		snprintf(role, sizeof role, "%s%s%s%s", e->renewal_only ? " (renewals only)" : "",
			 e->policy_server ? " (from enrollment policy server " : "",
			 e->policy_server ? e->policy_server : "", e->policy_server ? ")" : "");
		if (rc != 0)
			report(d, ST_FAIL, name, "check that the CES site is installed with Kerberos authentication, "
						 "reachable from this host, and that its TLS certificate chains to a root CA "
						 "the directory publishes", "%s%s: %s", e->url, role,
			       p.message[0] ? p.message : why(d, "no HTTP answer"));
		else if (p.http_status == 401)
			report(d, ST_FAIL, name, "check the SPN HTTP/<host> of the CES application pool account and "
						 "that Windows Authentication (Negotiate) is enabled on the CES site; with "
						 "Extended Protection Required, TLS must end on the CES server itself",
			       "%s%s: a Kerberos ticket%s was refused (HTTP 401)", e->url, role,
			       p.auth.binding_sent ? " bound to the TLS certificate" : "");
		else if (p.http_status == 404)
			report(d, ST_FAIL, name, e->policy_server ? "fix the CA's endpoints on the enrollment policy "
				"server, or install CES at that address" : "fix msPKI-Enrollment-Servers on the enrollment "
				"service, or install CES at that address", "%s%s: HTTP 404: no CES at this address", e->url,
				role);
		else if (p.auth.accepted)
			report(d, ST_OK, name, NULL, "%s%s: TLS verified against the directory's roots, Kerberos "
			       "accepted%s%s%s and mutual authentication verified (HTTP %ld)", e->url, role,
			       p.auth.binding_sent ? " with channel binding (tls-server-end-point, " : "",
			       p.auth.binding_sent ? p.auth.binding_hash : "", p.auth.binding_sent ? ")" : "",
			       p.http_status);
		else
			report(d, ST_WARN, name, "check the CES application on the web server",
			       "%s%s: HTTP %ld without Kerberos authentication", e->url, role, p.http_status);
	}
}

static void check_curl(struct doctor *d)
{
	struct certsrv_library_info li;
	certsrv_library_info(&li);
	char *s = xasprintf("libcurl %s (%s%s%s)", li.curl_version, li.tls_library[0] ? li.tls_library : "no TLS",
			    li.curl_gssapi ? ", GSS-API" : ", no GSS-API", li.curl_spnego ? ", SPNEGO" : ", no SPNEGO");
	if (!li.openssl)
		report(d, ST_FAIL, "libcurl", "install a libcurl built with OpenSSL (Debian: libcurl4, RHEL: libcurl)",
		       "%s: adenroll reads the CA's TLS certificate from OpenSSL to bind its Kerberos token to it",
		       s);
	else if (!li.gss_forwards_bindings)
		report(d, ST_WARN, "libcurl", "build adenroll against MIT Kerberos >= 1.19, or set the CA's Extended "
					      "Protection for Authentication to Accept (not Required)",
		       "%s; this GSS-API library drops channel bindings inside SPNEGO, so a CA with Extended "
		       "Protection (EPA) Required refuses the token (KB5005413)", s);
	else
		report(d, ST_OK, "libcurl", NULL, "%s; Kerberos tokens are made with GSS-API and bound to the CA's TLS "
		       "certificate (channel binding for Extended Protection) whatever the libcurl version", s);
	free(s);
}

/* ------------------------------------------------------------------ stores */

static void check_writable_dir(struct doctor *d, const char *what, const char *path)
{
	char name[64];
	snprintf(name, sizeof name, "store %s", what);
	if (!path || !*path) {
		report(d, ST_OK, name, NULL, "not configured");
		return;
	}
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			report(d, ST_FAIL, name, "point it at a directory", "%s is not a directory", path);
		else if (access(path, W_OK | X_OK) != 0)
			report(d, ST_FAIL, name, "run as root, or fix the directory's owner/mode", "%s is not writable: %s",
			       path, strerror(errno));
		else
			report(d, ST_OK, name, NULL, "%s is writable", path);
		return;
	}
	/* it will be created: the closest existing ancestor must be writable */
	char *p = xstrdup(path);
	char *slash;
	while ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		const char *q = *p ? p : "/";
		if (stat(q, &st) == 0) {
			if (S_ISDIR(st.st_mode) && access(q, W_OK | X_OK) == 0)
				report(d, ST_OK, name, NULL, "%s will be created (in %s, writable)", path, q);
			else
				report(d, ST_FAIL, name, "create it, or run as root", "%s does not exist and %s is not "
				       "writable", path, q);
			free(p);
			return;
		}
	}
	report(d, ST_FAIL, name, "use an absolute path", "%s: no existing parent directory", path);
	free(p);
}

/* ------------------------------------------------------ the service's sandbox */

#define SANDBOX_UNIT "adenroll.service"

#define SANDBOX_TIMEOUT_SECONDS 60

/* Runs argv through the runner (runner.h), its stdout into out
 * (NUL-terminated, truncated).  The exit status, or -1 when it could not
 * run or took longer than SANDBOX_TIMEOUT_SECONDS (then it is killed). */
static int run_capture(char *const argv[], char *out, size_t outlen)
{
	struct runner_cmd cmd = {
		.argv = (const char *const *)argv,
		.timeout_seconds = SANDBOX_TIMEOUT_SECONDS,
		.log_name = argv[0],
		.capture = out,
		.capture_len = outlen,
	};
	struct runner_result res;

	runner_run(&cmd, &res);
	return res.end == RUNNER_EXITED ? res.code : -1;
}

static void add_dir_of(struct strlist *dirs, const char *path)
{
	char *dir;
	const char *slash;

	if (!path || path[0] != '/')
		return;
	slash = strrchr(path, '/');
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	strlist_add(dirs, dir);
	free(dir);
}

/* What the timer's runs write, checked from inside adenroll.service's own
 * sandbox: a transient unit with the unit's file-system properties (drop-ins
 * included, as systemctl show reports them) tests each directory, so a
 * ReadWritePaths= the unit lacks shows here and not at 3 a.m. */
static void check_service_sandbox(struct doctor *d, const struct config *cfg)
{
	static const char *const props[] = {
		"ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths",
		"PrivateTmp", "StateDirectory", "RuntimeDirectory", "RuntimeDirectoryPreserve",
	};
	static const char probe[] =
		"for d; do a=$d; while [ ! -e \"$a\" ]; do a=${a%/*}; [ -n \"$a\" ] || a=/; done; "
		"if [ -d \"$a\" ] && [ -w \"$a\" ]; then echo \"ok $d\"; else echo \"ro $d\"; fi; done";
	struct strlist dirs = { 0 }, args = { 0 };
	char out[8192], *line, *save = NULL, **argv = NULL;
	char failed[1024] = "", fix[1200];
	unsigned n_ok = 0, n_ro = 0;
	bool loaded = false;
	int st;

	if (geteuid() != 0) {
		report(d, ST_SKIP, "sandbox", NULL, "run as root to check what %s may write", SANDBOX_UNIT);
		return;
	}
	if (access("/run/systemd/system", F_OK) != 0) {
		report(d, ST_SKIP, "sandbox", NULL, "systemd is not the init system here: could not check what the "
		       "timer's runs may write inside %s; the store checks above ran outside it", SANDBOX_UNIT);
		return;
	}
	/* systemctl show -p A -p B ... adenroll.service */
	strlist_add(&args, "systemctl");
	strlist_add(&args, "show");
	strlist_add(&args, "-p");
	strlist_add(&args, "LoadState");
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
		strlist_add(&args, "-p");
		strlist_add(&args, props[i]);
	}
	strlist_add(&args, SANDBOX_UNIT);
	argv = xcalloc(args.n + 1, sizeof *argv);
	for (size_t i = 0; i < args.n; i++)
		argv[i] = args.v[i];
	st = run_capture(argv, out, sizeof out);
	free(argv);
	argv = NULL;
	strlist_free(&args);
	if (st != 0) {
		report(d, ST_WARN, "sandbox", "check that systemctl works", "systemctl show %s failed: could not "
		       "check what the timer's runs may write", SANDBOX_UNIT);
		return;
	}
	strlist_add(&args, "systemd-run");
	strlist_add(&args, "--wait");
	strlist_add(&args, "--pipe");
	strlist_add(&args, "--quiet");
	strlist_add(&args, "--collect");
	strlist_add(&args, "--service-type=exec");
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq || !eq[1])
			continue;
		if (strncmp(line, "LoadState=", 10) == 0) {
			loaded = strcmp(eq + 1, "loaded") == 0;
			continue;
		}
		strlist_add(&args, "-p");
		strlist_add(&args, line);
	}
	if (!loaded) {
		report(d, ST_SKIP, "sandbox", NULL, "%s is not installed: no sandbox to check", SANDBOX_UNIT);
		strlist_free(&args);
		return;
	}
	strlist_add(&args, "--");
	strlist_add(&args, "/bin/sh");
	strlist_add(&args, "-c");
	strlist_add(&args, probe);
	strlist_add(&args, "sh");
	if (cfg->store_types & STORE_PEM)
		strlist_add(&dirs, cfg->pem_dir);
	strlist_add(&dirs, cfg->archive_dir);
	strlist_add(&dirs, cfg->state_dir);
	if ((cfg->store_types & STORE_NSS) && cfg->nss_db) {
		const char *db = cfg->nss_db;

		db = strncmp(db, "sql:", 4) == 0 || strncmp(db, "dbm:", 4) == 0 ? db + 4 : db;
		strlist_add(&dirs, db);
	}
	if (cfg->anchors_dir)
		strlist_add(&dirs, cfg->anchors_dir);
	add_dir_of(&dirs, cfg->metrics_file);
	add_dir_of(&dirs, cfg->lock_file);
	for (size_t i = 0; i < dirs.n; i++)
		if (dirs.v[i] && dirs.v[i][0] == '/')
			strlist_add(&args, dirs.v[i]);
	argv = xcalloc(args.n + 1, sizeof *argv);
	for (size_t i = 0; i < args.n; i++)
		argv[i] = args.v[i];
	st = run_capture(argv, out, sizeof out);
	if (st != 0) {
		report(d, ST_WARN, "sandbox", "see journalctl -n 20 for the transient unit",
		       "could not start a probe in %s's sandbox (systemd-run: %s): could not check what the "
		       "timer's runs may write", SANDBOX_UNIT, st < 0 ? "did not finish" : "failed");
		goto out;
	}
	save = NULL;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "ok ", 3) == 0) {
			n_ok++;
		} else if (strncmp(line, "ro ", 3) == 0) {
			size_t used = strlen(failed);

			n_ro++;
			snprintf(failed + used, sizeof failed - used, "%s%s", used ? " " : "", line + 3);
		}
	}
	if (n_ro) {
		snprintf(fix, sizeof fix, "systemctl edit %s, and add under [Service]: ReadWritePaths=%s",
			 SANDBOX_UNIT, failed);
		report(d, ST_FAIL, "sandbox", fix, "inside %s's sandbox the timer's runs cannot write: %s",
		       SANDBOX_UNIT, failed);
	} else if (n_ok) {
		report(d, ST_OK, "sandbox", NULL, "inside %s's sandbox the timer's runs can write all %u "
		       "directories they need", SANDBOX_UNIT, n_ok);
	} else {
		report(d, ST_WARN, "sandbox", NULL, "the probe in %s's sandbox said nothing: could not check",
		       SANDBOX_UNIT);
	}
out:
	free(argv);
	strlist_free(&args);
	strlist_free(&dirs);
}

static void check_hooks_dir(struct doctor *d, const char *dir)
{
	struct stat st;
	if (!dir || !*dir || stat(dir, &st) != 0) {
		report(d, ST_OK, "hooks", NULL, "%s: none (the directory does not exist)", dir ? dir : "-");
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		report(d, ST_WARN, "hooks", "remove it or set hooks_dir = in [general]", "%s is not a directory", dir);
		return;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		char *fix = xasprintf("chown root %s && chmod go-w %s", dir, dir);
		report(d, ST_WARN, "hooks", fix, "%s is writable by others or not owned by root: its hooks will not run",
		       dir);
		free(fix);
		return;
	}
	report(d, ST_OK, "hooks", NULL, "%s: owned by uid %ld, not writable by others", dir, (long)st.st_uid);
}

/* ------------------------------------------------------------------ main */

static void print_json(const struct doctor *d)
{
	struct json_writer w;
	json_init(&w, stdout);
	json_begin_object(&w, NULL);
	json_string(&w, "result", d->fails ? "fail" : d->warns ? "warn" : "ok");
	json_begin_array(&w, "checks");
	for (size_t i = 0; i < d->n; i++) {
		json_begin_object(&w, NULL);
		json_string(&w, "check", d->v[i].name);
		json_string(&w, "status", status_name[d->v[i].st]);
		json_string(&w, "detail", d->v[i].detail);
		json_string(&w, "fix", d->v[i].fix);
		const struct binding_facts *b = &d->v[i].binding;
		if (b->present) {
			json_begin_object(&w, "channel_binding");
			json_bool(&w, "sent", b->sent);
			json_string(&w, "hash", b->hash[0] ? b->hash : NULL);
			json_bool(&w, "accepted", b->accepted);
			json_string(&w, "required_by_ca", b->required);
			json_end_object(&w);
		}
		json_end_object(&w);
	}
	json_end_array(&w);
	/* The error object every --json command prints on failure: the first
	 * failed check, which is the one to fix first. */
	for (size_t i = 0; d->fails && i < d->n; i++) {
		if (d->v[i].st != ST_FAIL)
			continue;
		json_begin_object(&w, "error");
		json_string(&w, "code", "doctor");
		json_string(&w, "message", d->v[i].detail);
		json_string(&w, "check", d->v[i].name);
		json_int(&w, "exit_status", ADENROLL_EXIT_FAILURE);
		json_end_object(&w);
		break;
	}
	json_end_object(&w);
	json_finish(&w);
}

int cmd_doctor(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct doctor d;
	memset(&d, 0, sizeof d);
	d.json = opt->json;
	d.disc.mode = opt->mode;
	/* Every finding is a check line; progress messages would only repeat them. */
	if (opt->verbosity == 0 && log_get_level() > LOG_LVL_WARN)
		log_init(LOG_LVL_WARN, false);

	check_config(&d, cfg, opt->mode);
	if (opt->mode == ADENROLL_MODE_MACHINE) {
		unsigned before = d.fails;
		check_keytab(&d, cfg);
		d.keytab_failed = d.fails > before;
	}
	check_kerberos(&d, cfg, opt->mode);
	choose_domain(&d, cfg);
	check_dns(&d, cfg);
	check_ldap(&d, cfg);
	check_clock(&d);
	check_directory(&d, cfg);
	if (d.have_dir)
		check_trust_roots(&d, cfg);
	check_group_policy(&d, cfg);
	check_curl(&d);
	check_policy_servers(&d, cfg);
	if (d.have_dir)
		for (size_t i = 0; i < d.disc.dir.n_cas; i++) {
			check_ca(&d, cfg, &d.disc.dir.cas[i]);
			check_ces(&d, cfg, &d.disc.dir.cas[i]);
		}
	check_writable_dir(&d, "pem_dir", cfg->pem_dir);
	check_writable_dir(&d, "archive_dir", cfg->archive_dir);
	check_writable_dir(&d, "state_dir", cfg->state_dir);
	if (cfg->metrics_file && *cfg->metrics_file) {
		char *dir = xstrdup(cfg->metrics_file);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		check_writable_dir(&d, "metrics_file", slash ? dir : ".");
		free(dir);
	}
	check_hooks_dir(&d, cfg->hooks_dir);
	if (opt->mode == ADENROLL_MODE_MACHINE)
		check_service_sandbox(&d, cfg);

	if (d.json)
		print_json(&d);
	else
		printf("%s: %u failed, %u warnings, %zu checks\n", d.fails ? "FAIL" : "OK", d.fails, d.warns, d.n);

	for (size_t i = 0; i < d.n; i++) {
		free(d.v[i].name);
		free(d.v[i].detail);
		free(d.v[i].fix);
	}
	free(d.v);
	discovery_free(&d.disc);
	if (d.have_aep)
		ae_policy_free(&d.aep);
	bloblist_free(&d.roots_left_out);
	ldap_conn_dc_list_free(&d.dcs);
	return d.fails ? ADENROLL_EXIT_FAILURE : ADENROLL_EXIT_OK;
}
