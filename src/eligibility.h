/* May this account autoenroll this template, and why (docs/protocol.md 5.2;
 * MS-CRTD 2.4, 2.5, 2.21, 2.26-2.28).  Pure: no I/O.  What the local store
 * holds (CHECK_USER_DS_CERTIFICATE, renewal, revocation) is policy.c's. */
#ifndef ADENROLL_ELIGIBILITY_H
#define ADENROLL_ELIGIBILITY_H

#include <stdbool.h>
#include <stddef.h>

#include "adenroll.h"
#include "directory.h"
#include "sd.h"
#include "template.h"

/* The first failing check decides the code; checks run in this order. */
enum elig_code {
	ELIG_OK = 0,
	ELIG_INVALID_TEMPLATE,    /* a value did not parse (template->invalid_reason) */
	ELIG_WRONG_CONTEXT,       /* machine template in user mode or vice versa */
	ELIG_NOT_AUTOENROLL,      /* autoenrollment flag not set */
	ELIG_V1_TEMPLATE,         /* schema version 1 and v1 templates not allowed */
	ELIG_CA_TEMPLATE,         /* CT_FLAG_IS_CA / IS_CROSS_CA */
	ELIG_USER_INTERACTION,    /* CT_FLAG_USER_INTERACTION_REQUIRED */
	ELIG_RA_SIGNATURES,       /* msPKI-RA-Signature > 0 */
	ELIG_KEY_ARCHIVAL,        /* CT_FLAG_REQUIRE_PRIVATE_KEY_ARCHIVAL */
	ELIG_ATTESTATION,         /* CT_FLAG_ATTEST_REQUIRED */
	ELIG_SUPPLIES_SUBJECT,    /* enrollee supplies subject or SAN */
	ELIG_CLIENT_VERSION,      /* needs a newer client than we declare */
	ELIG_KEY_ALGORITHM,       /* key algorithm we cannot generate */
	ELIG_NOT_PUBLISHED,       /* no enrollment service publishes it */
	ELIG_BAD_SD,              /* nTSecurityDescriptor does not parse */
	ELIG_NO_ENROLL_RIGHT,
	ELIG_NO_AUTOENROLL_RIGHT,
	ELIG_SUPERSEDED,          /* an eligible template supersedes it */
	ELIG_NO_CA_ENROLL_RIGHT,  /* no publishing CA grants Enroll in its nTSecurityDescriptor */
};

/* The client version we declare against msPKI-Private-Key-Flag bits 24-27
 * (MS-WCCE 3.1.2.1 Client_Current_Version; see eligibility.c for why 15). */
#define ELIG_CLIENT_VERSION_DEFAULT 15u

#define ELIG_MAX_CAS 16

struct eligibility_options {
	enum adenroll_mode mode;
	bool allow_v1_templates;  /* autoenroll schema-1 templates carrying CT_FLAG_AUTO_ENROLLMENT */
	unsigned client_version;  /* 0 = ELIG_CLIENT_VERSION_DEFAULT */
};

struct eligibility {
	const struct template *template;
	enum elig_code code;        /* ELIG_OK: autoenroll this template */
	/* "eligible: Enroll granted by ACE #2 (...), AutoEnroll granted by ACE #3 (...);
	 * published by EXAMPLE-CA" or "not eligible: ..." */
	char reason[512];
	bool acl_evaluated;         /* enroll/autoenroll below are meaningful */
	struct sd_verdict enroll, autoenroll;
	const struct enrollment_service *cas[ELIG_MAX_CAS]; /* publishing CAs, sorted by cn */
	size_t n_cas;
	/* Enroll on each CA's enrollment service object (same index as cas):
	 * only CAs that grant it are tried (eligibility_ca_enroll). */
	struct sd_verdict ca_enroll[ELIG_MAX_CAS];
	size_t n_cas_granted;
	/* msPKI-RA-Signature = 1 with CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT
	 * and every other check passed: a renewal signed
	 * by a held, valid certificate of the template is the one signature the
	 * CA needs (MS-WCCE 3.2.2.6.2.1.4.8), so pulse renews such a
	 * certificate; code stays ELIG_RA_SIGNATURES (no first enrollment). */
	bool renewal_only;
	const char *superseded_by;  /* cn of the eligible template superseding this one */
};

/* Enroll ("Request Certificates") on an enrollment service's own
 * nTSecurityDescriptor for the account's token, with the template rule
 * (MS-CRTD 2.5.1 evaluation, sd_check_right).  A descriptor that was not
 * returned grants (the CA then decides, 0x80094011 if it refuses); one that
 * does not parse refuses.  out->reason says which ACE decided. */
void eligibility_ca_enroll(const struct enrollment_service *ca, const struct account *acct,
			   struct sd_verdict *out);

/* Stable snake_case name for --json: "ok", "no_autoenroll_right", ... */
const char *eligibility_code_name(enum elig_code c);

/* Evaluates every template of d into out (d->n_templates entries, same
 * order).  Supersedence is applied across templates afterwards: a template
 * that would be ELIG_OK but is named in msPKI-Supersede-Templates of another
 * ELIG_OK template becomes ELIG_SUPERSEDED.  out points into d: keep d alive. */
void eligibility_evaluate_all(const struct directory *d, const struct eligibility_options *opt,
			      struct eligibility *out);

#endif
