/* A snapshot of what the directory says, read once per run over the bound
 * LDAP connection: the account and its token, templates, CAs, trust anchors. */
#ifndef ADENROLL_DIRECTORY_H
#define ADENROLL_DIRECTORY_H

#include <stddef.h>

#include "sid.h"
#include "template.h"
#include "util.h"

struct ldap_conn;

struct enrollment_service {
	char *cn;                 /* CA name */
	char *dn;
	char *dns_host_name;      /* certsrv host, HTTP/<this> SPN */
	struct strlist templates; /* certificateTemplates: published template cns */
	struct bloblist ca_certs; /* cACertificate, DER */
	struct blob security_descriptor; /* nTSecurityDescriptor (SD flags control), may be empty */
};

struct account {
	char *dn;
	char *sam_account_name;   /* "CLIENT$" or "alice" */
	char *dns_host_name;      /* computers */
	char *user_principal_name;
	char *mail;
	struct sid sid;
	struct sid *token;        /* objectSid, tokenGroups, primary group, well-known SIDs */
	size_t n_token;
	struct bloblist user_certificates; /* userCertificate (DER): what CAs published to DS */
};

struct directory {
	char *dc;                 /* the DC that answered */
	char *default_nc;
	char *config_nc;
	struct account account;
	struct template *templates;
	size_t n_templates;
	struct enrollment_service *cas;
	size_t n_cas;
	struct bloblist root_cas;   /* CN=Certification Authorities */
	struct bloblist aia_cas;    /* CN=AIA */
	struct bloblist ntauth_cas; /* CN=NTAuthCertificates */
};

/* Reads everything above.  sam_account_name selects the account ("HOST$" in
 * machine mode, the user name in user mode).  Logs the reason and returns -1
 * on failure; a template whose values do not parse is kept with invalid_reason set. */
int directory_read(struct ldap_conn *conn, const char *sam_account_name, struct directory *out);
void directory_free(struct directory *d);

const struct template *directory_find_template(const struct directory *d, const char *cn);

#endif
