/* Credentials -> DC -> directory snapshot: the front half of every command. */
#include "adenroll-build.h"

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery.h"
#include "krb.h"
#include "ldap_conn.h"
#include "log.h"
#include "trust_policy.h"
#include "util.h"

/* gethostname() plus the resolver's canonical name when it has a domain part. */
static char *system_fqdn(void)
{
	char host[256];
	struct addrinfo hints, *ai = NULL;
	char *r = NULL;

	if (gethostname(host, sizeof(host)) != 0)
		return NULL;
	host[sizeof(host) - 1] = '\0';
	if (strchr(host, '.'))
		return xstrdup(host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname)
		r = xstrdup(ai->ai_canonname);
	if (ai)
		freeaddrinfo(ai);
	return r ? r : xstrdup(host);
}

char *discovery_domain(const struct config *cfg, const char *realm)
{
	char *r;

	if (cfg->domain && *cfg->domain)
		return xstrdup(cfg->domain);
	if (!realm || !*realm)
		return NULL;
	r = xstrdup(realm);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

int discovery_read_directory(const struct config *cfg, struct discovery *d, struct bloblist *left_out)
{
	if (directory_read(d->ldap, krb_session_sam_account_name(d->krb), &d->dir) != 0)
		return -1;
	/* Which roots may be trusted depends on the DC that answered and on
	 * root_fingerprints (trust_policy.h); with a fingerprint list, roots it
	 * does not name are not even used for this run's own TLS and chains. */
	trust_policy_set_dc(d->dir.dc);
	if (cfg->root_fingerprints.n > 0) {
		struct bloblist kept = { NULL, 0 };
		trust_policy_filter_roots(cfg, &d->dir.root_cas, &kept);
		for (size_t i = 0; left_out && i < d->dir.root_cas.n; i++) {
			bool listed = false;
			for (size_t k = 0; k < kept.n && !listed; k++)
				listed = kept.v[k].len == d->dir.root_cas.v[i].len &&
					 memcmp(kept.v[k].data, d->dir.root_cas.v[i].data, kept.v[k].len) == 0;
			if (!listed)
				bloblist_add(left_out, d->dir.root_cas.v[i].data, d->dir.root_cas.v[i].len);
		}
		bloblist_free(&d->dir.root_cas);
		d->dir.root_cas = kept;
	}
	free(d->host_fqdn);
	if (cfg->host_fqdn && *cfg->host_fqdn)
		d->host_fqdn = xstrdup(cfg->host_fqdn);
	else if (d->mode == ADENROLL_MODE_MACHINE && d->dir.account.dns_host_name)
		d->host_fqdn = xstrdup(d->dir.account.dns_host_name);
	else
		d->host_fqdn = system_fqdn();
	return 0;
}

void discovery_clock_text(double offset, const char *dc, char *buf, size_t len)
{
	double a = offset < 0 ? -offset : offset;
	snprintf(buf, len, "this host is %.0f s %s %s: Kerberos allows %d s", a, offset > 0 ? "ahead of" : "behind",
		 dc, KRB_MAX_SKEW_SECONDS);
}

/* The error of a bind the DC refused for the time: how far the clocks are
 * apart (its rootDSE's currentTime, read without a bind) and what to do. */
static void log_clock_refusal(const struct ldap_dc *dc)
{
	double off;
	char *why = NULL, text[512];

	if (ldap_conn_clock_offset(NULL, dc->host, dc->port, &off, &why) != 0)
		snprintf(text, sizeof text, "its time cannot be read to say by how much (%s)", why);
	else if (off > KRB_MAX_SKEW_SECONDS || off < -KRB_MAX_SKEW_SECONDS)
		discovery_clock_text(off, dc->host, text, sizeof text);
	else
		snprintf(text, sizeof text, "this host is within %.0f s of %s, but the ticket's times do not fit "
			 "the domain's clock (the KDC's clock is off?)", off < 0 ? -off : off, dc->host);
	log_error("cannot bind to domain controller %s: it refused the Kerberos ticket for the time (clock skew): "
		  "%s; sync the time with the domain (chrony/ntpd/systemd-timesyncd against the DCs), then check "
		  "with `adenroll doctor`", dc->host, text);
	free(why);
}

/* The bind.  A DC that refuses the ticket for the time (this host's clock
 * went wrong after the machine ccache was written, or the KDC's moved)
 * makes a machine run whose ticket came from that ccache replace it from
 * the keytab once and bind once more; what still fails is explained with
 * the clocks' difference, never with GSS-API's words.  A user's ccache is
 * never rewritten: only the explanation. */
static int discovery_bind(const struct config *cfg, struct discovery *d)
{
	struct ldap_dc refused;
	enum krb_failure kf;
	int ret = ldap_conn_open_ex(cfg, d->domain, LDAP_CONN_QUIET_CLOCK, &d->ldap, &refused);

	if (ret == 0 || !refused.host)
		return ret;
	if (d->mode == ADENROLL_MODE_MACHINE && krb_session_from_cache(d->krb)) {
		log_info("LDAP: %s refused the cached Kerberos ticket for the time (clock skew, or expired or not "
			 "yet valid by its clock); replacing the machine's ticket from the keytab", refused.host);
		krb_session_free(d->krb);
		if (krb_session_open_fresh(cfg, d->mode, &d->krb, &kf) != 0) {
			if (kf == KRB_FAIL_CLOCK_SKEW)
				log_clock_refusal(&refused);
			goto out;
		}
		free(refused.host);
		ret = ldap_conn_open_ex(cfg, d->domain, LDAP_CONN_QUIET_CLOCK, &d->ldap, &refused);
		if (ret == 0 || !refused.host)
			goto out;
	}
	log_clock_refusal(&refused);
out:
	free(refused.host);
	return ret;
}

int discovery_run(const struct config *cfg, enum adenroll_mode mode, struct discovery *out)
{
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->mode = mode;
	if (krb_session_open(cfg, mode, &out->krb, NULL) != 0)
		goto out;
	out->domain = discovery_domain(cfg, krb_session_realm(out->krb));
	if (discovery_bind(cfg, out) != 0)
		goto out;
	if (discovery_read_directory(cfg, out, NULL) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		discovery_free(out);
	return ret;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	directory_free(&d->dir);
	ldap_conn_close(d->ldap);
	krb_session_free(d->krb);
	free(d->host_fqdn);
	free(d->domain);
	memset(d, 0, sizeof(*d));
}
