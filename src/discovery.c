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

int discovery_run(const struct config *cfg, enum adenroll_mode mode, struct discovery *out)
{
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->mode = mode;
	if (krb_session_open(cfg, mode, &out->krb, NULL) != 0)
		goto out;
	out->domain = discovery_domain(cfg, krb_session_realm(out->krb));
	if (ldap_conn_open(cfg, out->domain, &out->ldap) != 0)
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
