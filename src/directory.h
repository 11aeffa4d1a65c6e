/* A snapshot of what the directory says, read once per run over the bound
 * LDAP connection: the account and its token, templates, CAs, trust anchors. */
#ifndef ADENROLL_DIRECTORY_H
#define ADENROLL_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "sid.h"
#include "template.h"
#include "util.h"

struct ldap_conn;

/* One msPKI-Enrollment-Servers value: a CES endpoint of the CA (MS-ADA2
 * 2.612; docs/protocol.md 10): "<priority>\n<authentication>\n<renewal
 * only 0|1>\n<URL>" (CRLF accepted, a final line end optional).
 * authentication is an X509EnrollmentAuthFlags value: 1 anonymous, 2
 * Kerberos, 4 user name and password, 8 client certificate. */
#define CES_AUTH_ANONYMOUS 1u
#define CES_AUTH_KERBEROS 2u
#define CES_AUTH_PASSWORD 4u
#define CES_AUTH_CERTIFICATE 8u
struct ces_endpoint {
	unsigned priority;        /* lower first */
	unsigned auth;
	bool renewal_only;
	char *url;                /* https://host[:port]/path, checked */
	char *policy_server;      /* NULL: msPKI-Enrollment-Servers; else the enrollment policy
				   * server (Group Policy) that named it (cep.h) */
};
/* 0, or -1 with the reason in why (the value is then left out). */
int directory_parse_ces_endpoint(const char *value, struct ces_endpoint *out, char *why, size_t whylen);

struct enrollment_service {
	char *cn;                 /* CA name */
	char *dn;
	char *dns_host_name;      /* certsrv host, HTTP/<this> SPN */
	struct strlist templates; /* certificateTemplates: published template cns */
	struct bloblist ca_certs; /* cACertificate, DER */
	struct blob security_descriptor; /* nTSecurityDescriptor (SD flags control), may be empty */
	struct ces_endpoint *ces; /* msPKI-Enrollment-Servers, sorted by priority (stable) */
	size_t n_ces;
};
/* ep (its strings now owned by s) into s->ces by priority, after those of
 * equal priority. */
void directory_add_ces_endpoint(struct enrollment_service *s, const struct ces_endpoint *ep);

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
