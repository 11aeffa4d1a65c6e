/* Which Group Policy objects apply to an account, and in what order
 * (MS-GPOL 3.2.5.1: SOM list, gPLink, block inheritance, enforced links,
 * GPO filtering).  Pure: the directory objects are inputs (gpo_directory.h
 * reads them), the result is the ordered list plus a verdict for every link
 * seen, so `explain` can say why a GPO did or did not apply. */
#ifndef ADENROLL_GPO_H
#define ADENROLL_GPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adenroll.h"
#include "sid.h"

struct sd;

/* gPLink option bits (MS-GPOL 2.2.2) */
#define GPO_LINK_DISABLED 0x1u
#define GPO_LINK_ENFORCED 0x2u
/* gPOptions on a SOM */
#define GPO_SOM_BLOCK_INHERITANCE 0x1u
/* groupPolicyContainer flags (MS-GPOL 2.2.4) */
#define GPO_FLAG_USER_DISABLED 0x1u
#define GPO_FLAG_MACHINE_DISABLED 0x2u

#define GPO_GUID_LEN 38 /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" */

enum gpo_som_kind { GPO_SOM_SITE, GPO_SOM_DOMAIN, GPO_SOM_OU };

struct gpo_link {
	char *gpo_dn;                 /* as written in gPLink, without "LDAP://" */
	char guid[GPO_GUID_LEN + 1];  /* upper case, with braces */
	uint32_t options;             /* GPO_LINK_* */
};

/* A scope of management: the site, the domain or one OU. */
struct gpo_som {
	enum gpo_som_kind kind;
	char *dn;
	uint32_t options;             /* gPOptions */
	struct gpo_link *links;       /* in gPLink order */
	size_t n_links;
};

/* A groupPolicyContainer as read from the directory. */
struct gpo_object {
	char guid[GPO_GUID_LEN + 1];  /* from cn, upper case */
	char *dn;
	char *name;                   /* displayName, may be NULL */
	uint32_t flags;
	uint32_t version;             /* versionNumber */
	long functionality_version;   /* gPCFunctionalityVersion, -1 when absent */
	char *file_sys_path;          /* gPCFileSysPath */
	char *wql_filter;             /* gPCWQLFilter, may be NULL */
	struct sd *sd;                /* nTSecurityDescriptor, NULL when unreadable */
};

/* Parses a gPLink value: "[LDAP://cn={GUID},cn=policies,...;N][...]".  Links
 * whose DN does not start with cn={GUID} are skipped with a warning in err
 * (the rest still count).  0, or -1 when the value is malformed. */
int gpo_parse_gplink(const char *s, struct gpo_link **out, size_t *n, char *err, size_t errlen);
void gpo_links_free(struct gpo_link *l, size_t n);
void gpo_som_free(struct gpo_som *s);
void gpo_object_free(struct gpo_object *g);

/* The part of versionNumber for this side: low 16 bits computer, high 16 user. */
uint32_t gpo_side_version(uint32_t version, enum adenroll_mode mode);

enum gpo_verdict {
	GPO_APPLIED = 0,
	GPO_LINK_IS_DISABLED,
	GPO_BLOCKED,                /* non-enforced link above a SOM that blocks inheritance */
	GPO_NOT_FOUND,              /* the link names a GPO the directory does not have */
	GPO_SIDE_DISABLED,          /* flags: computer (or user) settings disabled */
	GPO_BAD_FUNCTIONALITY,      /* gPCFunctionalityVersion is not 2 */
	GPO_DENIED,                 /* security filtering: no Read or no Apply Group Policy */
	GPO_DUPLICATE,              /* linked again at a place of higher precedence */
};

/* One link considered, in application order for the applied ones. */
struct gpo_entry {
	const struct gpo_object *gpo; /* NULL for GPO_NOT_FOUND */
	const struct gpo_som *som;
	const struct gpo_link *link;
	enum gpo_verdict verdict;
	bool enforced;
	char reason[320];             /* why (for explain); filter notes for applied ones */
};

struct gpo_result {
	struct gpo_entry *applied;    /* lowest precedence first: the last one wins */
	size_t n_applied;
	struct gpo_entry *skipped;
	size_t n_skipped;
};

/* soms: site (optional), domain, then OUs from the top down to the account's
 * parent.  Non-enforced links apply from the site down to the nearest OU, in
 * gPLink order within a SOM (the last entry of a gPLink has link order 1 and
 * is applied last); a SOM with block inheritance stops non-enforced links of
 * every SOM above it.  Enforced links apply after all of them, from the
 * nearest SOM up, so that the one highest in the tree wins.  A GPO applies
 * when it exists, its side is not disabled, its gPCFunctionalityVersion is 2
 * and the token has Read and Apply Group Policy on it; a WMI filter cannot be
 * evaluated here and is reported, not enforced (MS-GPOL 3.2.5.1.7: a filter
 * that cannot be evaluated does not stop the GPO). */
void gpo_resolve(const struct gpo_som *soms, size_t n_soms, const struct gpo_object *gpos,
		 size_t n_gpos, enum adenroll_mode mode, const struct sid *token, size_t n_token,
		 struct gpo_result *out);
void gpo_result_free(struct gpo_result *r);

const char *gpo_verdict_name(enum gpo_verdict v);
/* "the domain example.test" / "OU=Linux,DC=example,DC=test" / "site Default-First-Site-Name" */
const char *gpo_som_kind_name(enum gpo_som_kind k);

/* The SYSVOL share path of a GPO's Registry.pol on this side, with '/'
 * separators and without the share ("example.test/Policies/{GUID}/Machine/Registry.pol"),
 * from gPCFileSysPath "\\example.test\SysVol\example.test\Policies\{GUID}".
 * NULL with a reason when the path is not under a SysVol share or has an
 * empty, "." or ".." component. */
char *gpo_registry_pol_path(const char *file_sys_path, enum adenroll_mode mode, char *err, size_t errlen);
/* The same for another file of the GPO ("GPT.INI"). */
char *gpo_sysvol_path(const char *file_sys_path, const char *leaf, char *err, size_t errlen);

#endif
