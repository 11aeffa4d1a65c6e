/* The front half of every command: credentials, the DC, and the directory snapshot. */
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
};

/* krb session by mode -> domain -> ldap_conn_open -> directory_read.
 * The reason is logged on failure; out is zeroed/freed and -1 returned. */
int discovery_run(const struct config *cfg, enum adenroll_mode mode, struct discovery *out);
void discovery_free(struct discovery *d);

#endif
