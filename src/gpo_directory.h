/* The Group Policy part of the directory, read over the run's LDAP
 * connection: the account's scopes of management (site, domain, OUs) with
 * their gPLink/gPOptions, and the linked groupPolicyContainer objects.
 * When the links did not change since the last read (known_gpos), one
 * search returns the SOMs and the GPOs, plus one for the site object: two
 * LDAP operations; a GPO newly linked costs one more search. */
#ifndef ADENROLL_GPO_DIRECTORY_H
#define ADENROLL_GPO_DIRECTORY_H

#include <stddef.h>

#include "gpo.h"
#include "util.h"

struct ldap_conn;

struct gpo_directory {
	char *account_dn;         /* as the directory has it now */
	char *site;               /* NULL: none configured and the DC did not say */
	struct gpo_som *soms;     /* site, domain, OUs top down (gpo_resolve order) */
	size_t n_soms;
	struct gpo_object *gpos;  /* every linked GPO found under CN=Policies,CN=System */
	size_t n_gpos;
};

/* sam: the account's sAMAccountName.  account_dn: where the caller believes
 * it is (from the snapshot, or the policy cache); when the directory says
 * otherwise (the account moved) the SOMs are read again for the real DN.
 * site: the AD site name, "" for none, or NULL to ask the DC with a netlogon
 * LDAP ping (MS-ADTS 6.3.3; site policy is skipped when the DC does not say).
 * with_sd: also read nTSecurityDescriptor (security filtering); the
 * change check does not need it.  known_gpos (may be NULL): the GUIDs the
 * last read found linked (gpo_directory_linked); they are read with the
 * SOMs, and only GPOs linked besides them need a search of their own.
 * Whatever known_gpos says, the result is what the directory holds now.
 * 0, or -1 with the reason logged. */
int gpo_directory_read(struct ldap_conn *c, const char *default_nc, const char *config_nc, const char *sam,
		       const char *account_dn, const char *site, bool with_sd, const struct strlist *known_gpos,
		       struct gpo_directory *out);
/* Adds the GUIDs linked at any SOM of d to out (once each); how many were added. */
size_t gpo_directory_linked(const struct gpo_directory *d, struct strlist *out);
void gpo_directory_free(struct gpo_directory *d);

/* Text that changes whenever a link, a link option, block inheritance, the
 * account's place, or a linked GPO's versionNumber/flags changes: the
 * policy-change check compares it with the one the last full read cached.
 * Lines "som <dn> <gPOptions> <gPLink>" and "gpo <GUID> <version> <flags> <fv>". */
char *gpo_directory_fingerprint(const struct gpo_directory *d);

/* The parent DNs of dn that are OUs, nearest last ("OU=a,OU=b,DC=x" for
 * "CN=h,OU=a,OU=b,DC=x" gives "OU=b,DC=x", "OU=a,OU=b,DC=x").  Pure. */
size_t gpo_ou_chain(const char *dn, const char *domain_nc, char ***out);

#endif
