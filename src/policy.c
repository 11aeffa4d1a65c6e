/* Renewal decisions: docs/protocol.md 5.3 (ordering) and 5.4 (timing). */
#include "adenroll-build.h"

#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "template.h"

void policy_format_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(out, outlen, "-");
		return;
	}
	if (strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && outlen > 0)
		out[0] = '\0';
}

void policy_renewal_dates(time_t not_before, time_t not_after, bool has_renewal,
			  int64_t renewal_seconds, time_t *renew_at, time_t *by_period,
			  time_t *by_80pct, enum policy_renew_basis *basis)
{
	int64_t lifetime = (int64_t)not_after - (int64_t)not_before;
	int64_t at80, atp = 0;

	if (lifetime < 0)
		lifetime = 0;
	/* 5.4: "80 percent of the certificate lifetime or [the renewal period],
	 * whichever is greater" -- a CA-truncated cert shorter than the period
	 * must not renew on every run. */
	at80 = (int64_t)not_before + lifetime / 5 * 4 + (lifetime % 5) * 4 / 5;
	*by_80pct = (time_t)at80;
	if (has_renewal && renewal_seconds > 0) {
		atp = (int64_t)not_after - renewal_seconds;
		*by_period = (time_t)atp;
	} else {
		*by_period = 0;
	}
	if (has_renewal && renewal_seconds > 0 && atp > at80) {
		*renew_at = (time_t)atp;
		*basis = RENEW_BASIS_PERIOD;
	} else {
		*renew_at = (time_t)at80;
		*basis = RENEW_BASIS_80PCT;
	}
}

const char *policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_KEEP: return "keep";
	case POLICY_ENROLL: return "enroll";
	case POLICY_RENEW: return "renew";
	case POLICY_REENROLL: return "reenroll";
	case POLICY_WAIT_PENDING: return "wait-pending";
	case POLICY_SKIP: return "skip";
	}
	return "?";
}

const char *policy_renew_basis_name(enum policy_renew_basis b)
{
	switch (b) {
	case RENEW_BASIS_NONE: return "none";
	case RENEW_BASIS_PERIOD: return "renewal period";
	case RENEW_BASIS_80PCT: return "80% of lifetime";
	}
	return "?";
}

static void set(struct policy_decision *out, enum policy_action a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set(struct policy_decision *out, enum policy_action a, const char *fmt, ...)
{
	va_list ap;

	out->action = a;
	va_start(ap, fmt);
	vsnprintf(out->rule, sizeof(out->rule), fmt, ap);
	va_end(ap);
}

/* A SKIP because one of the caller's AEPolicy switches is off. */
static void set_switch_off(struct policy_decision *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_switch_off(struct policy_decision *out, const char *fmt, ...)
{
	va_list ap;

	out->action = POLICY_SKIP;
	out->switch_off = true;
	va_start(ap, fmt);
	vsnprintf(out->rule, sizeof(out->rule), fmt, ap);
	va_end(ap);
}

static void note_add(struct policy_decision *out, const char *text)
{
	size_t used = strlen(out->note);

	if (used > 0 && used + 2 < sizeof(out->note)) {
		out->note[used++] = ';';
		out->note[used++] = ' ';
		out->note[used] = '\0';
	}
	snprintf(out->note + used, sizeof(out->note) - used, "%s", text);
}

void policy_decide(const struct policy_input *in, struct policy_decision *out)
{
	const struct template *t = in->t;
	char when[32], buf[64];
	bool has_renewal = t != NULL && t->has_renewal;
	int64_t renewal = t != NULL ? t->renewal_seconds : 0;
	uint32_t enrollment_flag = t != NULL ? t->enrollment_flag : 0;

	memset(out, 0, sizeof(*out));
	if (in->has_cert)
		policy_renewal_dates(in->not_before, in->not_after, has_renewal, renewal,
				     &out->renew_at, &out->renew_by_period, &out->renew_by_80pct,
				     &out->renew_basis);
	if (in->has_cert && in->revocation == REVOCATION_UNKNOWN)
		note_add(out, "revocation status unknown (not treated as revoked)");
	if (in->has_cert && in->now < in->not_before)
		note_add(out, "certificate not yet valid");

	/* 5.3 step 2: never a second request while one is pending. */
	if (in->pending) {
		set(out, POLICY_WAIT_PENDING, "a request is pending at the CA: poll it");
		return;
	}
	/* The AEPolicy bits (aepolicy.h): 0x1 governs enrolling by template
	 * (new, superseded, new major version), 0x2 keeping what is held
	 * (renewal, expired, revoked). */
	if (!in->has_cert) {
		if (in->update_templates)
			set(out, POLICY_ENROLL, "no certificate held: enroll");
		else
			set_switch_off(out, "no certificate held, but update_templates (AEPolicy 0x1) is off");
		return;
	}
	if (in->now >= in->not_after) {
		policy_format_time(in->not_after, when, sizeof(when));
		/* 5.3 step 5: an expired cert cannot sign its renewal. */
		if (in->renew_expiring)
			set(out, POLICY_ENROLL, "expired at %s: new enrollment (an expired certificate cannot be renewed)",
			    when);
		else
			set_switch_off(out, "expired at %s, but renew_and_remove_revoked (AEPolicy 0x2) is off", when);
		return;
	}
	if (in->revocation == REVOCATION_REVOKED) {
		if (in->renew_expiring) {
			set(out, POLICY_REENROLL, "certificate revoked: re-enroll");
			/* MS-WCCE 3.1.1.4.3.2: a revoked certificate cannot sign its renewal */
			note_add(out, "a revoked certificate cannot sign a renewal: new enrollment");
		}
		else
			set_switch_off(out, "certificate revoked, but renew_and_remove_revoked (AEPolicy 0x2) is off");
		return;
	}
	if (in->superseded_cn != NULL) {
		if (in->update_templates)
			set(out, POLICY_REENROLL, "held certificate is of template %s, superseded by %s: re-enroll",
			    in->superseded_cn, t != NULL ? t->cn : "?");
		else
			set_switch_off(out, "held certificate is of superseded template %s, but update_templates "
			    "(AEPolicy 0x1) is off", in->superseded_cn);
		return;
	}
	/* 5.3 step 4: only the major version ("Reenroll All Certificate Holders") counts. */
	if (t != NULL && in->cert_has_major && t->major_version > in->cert_major) {
		snprintf(buf, sizeof(buf), "%u > certificate's %u", t->major_version, in->cert_major);
		if (in->update_templates)
			set(out, POLICY_REENROLL, "template major version %s: re-enroll", buf);
		else
			set_switch_off(out, "template major version %s, but update_templates (AEPolicy 0x1) is off", buf);
		return;
	}
	policy_format_time(out->renew_at, when, sizeof(when));
	if (in->now >= out->renew_at) {
		const char *basis = policy_renew_basis_name(out->renew_basis);

		if (enrollment_flag & CT_EF_SKIP_AUTO_RENEWAL)
			set(out, POLICY_SKIP, "renewal due since %s (%s), but the template sets CT_FLAG_SKIP_AUTO_RENEWAL",
			    when, basis);
		else if (!in->renew_expiring)
			set_switch_off(out, "renewal due since %s (%s), but renew_and_remove_revoked (AEPolicy 0x2) is off",
			    when, basis);
		else
			set(out, POLICY_RENEW, "renewal due since %s (%s): renew with a request signed by the held "
			    "certificate", when, basis);
		return;
	}
	set(out, POLICY_KEEP, "certificate good; renewal at %s (%s)", when,
	    policy_renew_basis_name(out->renew_basis));
}
