/* The front half of every command: credentials, the DC, and the directory
 * snapshot.  `adenroll doctor` runs the same steps one at a time. */
#ifndef ADENROLL_DISCOVERY_H
#define ADENROLL_DISCOVERY_H

#include "adenroll.h"
#include "config.h"
#include "directory.h"

struct krb_session;
struct ldap_conn;

struct discovery {
	struct krb_session *krb;
	struct ldap_conn *ldap;
	struct directory dir;
	char *host_fqdn;      /* cfg->host_fqdn, else the account's dNSHostName, else the system FQDN */
	char *domain;         /* DNS domain used for SRV: cfg->domain or the realm lower-cased */
	enum adenroll_mode mode;
	bool policy_servers_asked;   /* dir has the policy servers' CES endpoints (cep.h): ask once a run */
};

/* krb session by mode (krb_session_open) -> domain (discovery_domain) ->
 * ldap_conn_open -> discovery_read_directory.  When a DC refuses the
 * machine ccache's cached ticket for the time (clock skew, expired or not
 * yet valid), the ticket is replaced from the keytab and the bind tried
 * once more; a bind still refused so (or a user's ticket refused so) is
 * logged with how far this host's clock is from the DC's.  The reason is logged on
 * failure; out is zeroed/freed and -1 returned. */
int discovery_run(const struct config *cfg, enum adenroll_mode mode, struct discovery *out);
void discovery_free(struct discovery *d);

/* The steps discovery_run takes, for `adenroll doctor`, which reports each
 * one and so runs them one by one. */

/* The DNS domain the DCs are looked up in: cfg->domain, else realm (the
 * session's) lower-cased; NULL when neither is known.  Owned by the caller. */
char *discovery_domain(const struct config *cfg, const char *realm);

/* With d->krb and d->ldap set: directory_read for the session's account,
 * then the trust policy (trust_policy.h) for this directory: its DC is
 * recorded, and with root_fingerprints set the roots it does not list are
 * moved out of d->dir.root_cas (into *left_out when not NULL, else
 * dropped), so nothing of this run trusts them; then d->host_fqdn.  0 or -1
 * (logged). */
int discovery_read_directory(const struct config *cfg, struct discovery *d, struct bloblist *left_out);

/* What a run and `adenroll doctor` say of a clock ldap_conn_clock_offset
 * measured: "this host is 3600 s ahead of dc1.example.test: Kerberos
 * allows 300 s". */
void discovery_clock_text(double offset, const char *dc, char *buf, size_t len);

#endif
