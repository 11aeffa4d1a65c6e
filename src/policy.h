/* Per-template renewal decisions (docs/protocol.md 5.3, 5.4).  Pure: no I/O, the
 * current time is an input.  Called through plan.h, which pulse, explain and
 * status share, so that what explain prints is what pulse does. */
#ifndef ADENROLL_POLICY_H
#define ADENROLL_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "template.h"

enum revocation_status {
	REVOCATION_NOT_CHECKED = 0,
	REVOCATION_GOOD,
	REVOCATION_REVOKED,
	REVOCATION_UNKNOWN,   /* checked, no answer: reported, never guessed */
};

enum policy_action {
	POLICY_KEEP = 0,      /* the held certificate is good */
	POLICY_ENROLL,        /* none held, or only an expired one (which cannot sign a
				 renewal): new enrollment, an unsigned PKCS#10 */
	POLICY_RENEW,         /* renewal due, the held certificate valid and not revoked: a
				 PKCS#10 carrying the held certificate (szOID_RENEWAL_CERTIFICATE)
				 in CMS SignedData signed by the held certificate and key
				 (MS-WCCE 3.1.1.4.3.2.1; enroll_routed); a new key
				 unless reuse_key or CT_FLAG_REQUIRE_SAME_KEY_RENEWAL */
	POLICY_REENROLL,      /* revoked (cannot sign a renewal), template major version bumped,
				 or superseded: new enrollment, an unsigned PKCS#10; --force
				 on a valid certificate: a renewal (plan.h) */
	POLICY_WAIT_PENDING,  /* a request is pending at the CA: poll it, submit nothing new */
	POLICY_SKIP,          /* an action is due but a switch or template flag forbids it
				 (an AEPolicy bit off, CT_FLAG_SKIP_AUTO_RENEWAL) */
};

/* Which rule set renew_at (5.4). */
enum policy_renew_basis {
	RENEW_BASIS_NONE = 0,   /* no certificate */
	RENEW_BASIS_PERIOD,     /* notAfter - renewal period (pKIOverlapPeriod) */
	RENEW_BASIS_80PCT,      /* notBefore + 80% of the lifetime */
};

struct policy_input {
	time_t now;
	/* The template: renewal period (has_renewal/renewal_seconds), major_version,
	 * enrollment_flag (CT_EF_SKIP_AUTO_RENEWAL).  status builds one from the
	 * values recorded at install time. */
	const struct template *t;
	bool has_cert;                  /* a cert of t (or of a template t supersedes) is held */
	time_t not_before, not_after;
	uint32_t cert_major;            /* from the cert's 1.3.6.1.4.1.311.21.7 extension */
	bool cert_has_major;
	enum revocation_status revocation;
	bool pending;                   /* a request for t is pending at the CA */
	/* AEPolicy 0x2 (renew due, replace expired and revoked) and 0x1 (enroll,
	 * superseded, new major version), from Group Policy or the [policy] switches */
	bool renew_expiring, update_templates;
	const char *superseded_cn;      /* non-NULL: the held cert is of this template, which t supersedes */
};

struct policy_decision {
	enum policy_action action;
	time_t renew_at;                /* max(renew_by_period, renew_by_80pct); 0 without a cert */
	time_t renew_by_period;         /* notAfter - renewal period; 0 when the template has none */
	time_t renew_by_80pct;          /* notBefore + 0.8 * (notAfter - notBefore) */
	enum policy_renew_basis renew_basis;
	char rule[256];                 /* the rule that produced the action, for explain/logs */
	char note[256];                 /* extra facts (revocation unknown, not yet valid), may be "" */
	/* SKIP because renew_expiring or update_templates is off: the rule
	 * names the AEPolicy bit, the caller adds whose switch it is */
	bool switch_off;
};

void policy_decide(const struct policy_input *in, struct policy_decision *out);
/* The two renewal dates and their maximum (5.4).  A renewal period at least
 * as long as the lifetime puts renew_by_period at or before notBefore, so the
 * 80% floor dominates. */
void policy_renewal_dates(time_t not_before, time_t not_after, bool has_renewal,
			  int64_t renewal_seconds, time_t *renew_at, time_t *by_period,
			  time_t *by_80pct, enum policy_renew_basis *basis);
const char *policy_action_name(enum policy_action a);      /* "keep", "enroll", ... */
const char *policy_renew_basis_name(enum policy_renew_basis b);
/* UTC ISO-8601 ("2025-11-19T10:00:00Z") into out (>= 21 bytes); "-" for 0. */
void policy_format_time(time_t t, char *out, size_t outlen);

#endif
