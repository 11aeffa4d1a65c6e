/* Credentials -> DC -> directory snapshot: the front half of every command. */
#include "adenroll-build.h"

#include <ctype.h>
#include <netdb.h>
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

int discovery_run(const struct config *cfg, enum adenroll_mode mode, struct discovery *out)
{
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->mode = mode;
	if ((mode == ADENROLL_MODE_MACHINE ? krb_session_machine(cfg, &out->krb)
					    : krb_session_user(cfg, &out->krb)) != 0)
		goto out;
	if (cfg->domain && *cfg->domain) {
		out->domain = xstrdup(cfg->domain);
	} else {
		out->domain = xstrdup(krb_session_realm(out->krb));
		for (char *p = out->domain; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	if (ldap_conn_open(cfg, out->domain, &out->ldap) != 0)
		goto out;
	if (directory_read(out->ldap, krb_session_sam_account_name(out->krb), &out->dir) != 0)
		goto out;
	/* Which roots may be trusted depends on the DC that answered and on
	 * root_fingerprints (trust_policy.h); with a fingerprint list, roots it
	 * does not name are not even used for this run's own TLS and chains. */
	trust_policy_set_dc(out->dir.dc);
	if (cfg->root_fingerprints.n > 0) {
		struct bloblist kept = { NULL, 0 };
		trust_policy_filter_roots(cfg, &out->dir.root_cas, &kept);
		bloblist_free(&out->dir.root_cas);
		out->dir.root_cas = kept;
	}
	if (cfg->host_fqdn && *cfg->host_fqdn)
		out->host_fqdn = xstrdup(cfg->host_fqdn);
	else if (mode == ADENROLL_MODE_MACHINE && out->dir.account.dns_host_name)
		out->host_fqdn = xstrdup(out->dir.account.dns_host_name);
	else
		out->host_fqdn = system_fqdn();
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
