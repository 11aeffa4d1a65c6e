/* Self-relative security descriptors (MS-DTYP 2.4.6) and the Enroll /
 * AutoEnroll access check on a certificate template (MS-CRTD 2.5.1, 2.5.2).
 * Pure: no I/O. */
#ifndef ADENROLL_SD_H
#define ADENROLL_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sid.h"

enum sd_right {
	SD_RIGHT_ENROLL,
	SD_RIGHT_AUTOENROLL,
	/* groupPolicyContainer security filtering (MS-GPOL 3.2.5.1.6):
	 * extended right edacfd8f-ffb3-11d1-b41d-00a0c968f939 */
	SD_RIGHT_APPLY_GROUP_POLICY,
};

struct sd; /* opaque parsed descriptor */

/* Parses nTSecurityDescriptor bytes.  Every offset, size and count is checked
 * against len.  Returns 0, or -1 with a message in err (the descriptor is
 * then unusable and *out is NULL). */
int sd_parse(const uint8_t *buf, size_t len, struct sd **out, char *err, size_t errlen);
void sd_free(struct sd *sd);

/* Number of ACEs in the DACL (all types, including skipped ones); 0 for a
 * NULL DACL.  has_dacl is false for a NULL DACL (everything is allowed). */
size_t sd_ace_count(const struct sd *sd);
bool sd_has_dacl(const struct sd *sd);

struct sd_verdict {
	bool granted;
	int ace_index;        /* the deciding ACE (0-based in the DACL), -1 when none */
	bool by_deny;         /* decided by a deny ACE */
	struct sid sid;       /* trustee of the deciding ACE (zeroed when none) */
	/* "allowed by ACE #3 (object ACE Enroll for S-1-5-21-..-515 Domain Computers)"
	 * or "no ACE grants AutoEnroll to this account".  ACE numbers are 1-based. */
	char reason[256];
};

/* Walks the DACL in order (MS-DTYP 2.5.3.2): the first applicable deny or
 * allow ACE decides.  An ACE applies when its trustee is in token, it is not
 * INHERIT_ONLY, its mask has control access (or GENERIC_ALL), and, for object
 * ACEs, its ObjectType is absent or is the right's extended-right GUID. */
void sd_check_right(const struct sd *sd, const struct sid *token, size_t n_token,
		    enum sd_right right, struct sd_verdict *out);

const char *sd_right_name(enum sd_right right); /* "Enroll", "AutoEnroll", "Apply Group Policy" */

/* The same ordered walk for reading the object's properties (GPO security
 * filtering needs Read besides Apply Group Policy): an ACE applies when its
 * mask has READ_PROPERTY, GENERIC_READ or GENERIC_ALL and it is not an object
 * ACE narrowed to one property or property set. */
void sd_check_read(const struct sd *sd, const struct sid *token, size_t n_token,
		   struct sd_verdict *out);

#endif
