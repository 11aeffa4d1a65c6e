/* policy_decide(): docs/protocol.md 5.3 ordering and 5.4 timing, as a table. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "template.h"

#define DAY 86400
#define NB ((time_t)1700000000)   /* notBefore of every case */
#define NONE (-1)

struct policy_case {
	const char *name;
	int lifetime_days;       /* notAfter - notBefore */
	int renewal_days;        /* pKIOverlapPeriod; NONE = template has none */
	double now_day;          /* now - notBefore, in days */
	bool has_cert, pending;
	enum revocation_status revocation;
	uint32_t template_major;
	int cert_major;          /* NONE = no 21.7 major in the cert */
	const char *superseded;
	uint32_t enrollment_flag;
	bool renew_expiring, update_templates;
	enum policy_action want;
	const char *rule_has;    /* substring the rule must contain */
	const char *note_has;
};

static const struct policy_case cases[] = {
	{ "1y/6w: day 322 keeps", 365, 42, 322, true, false, REVOCATION_GOOD, 2, 2, NULL, 0, true, true,
	  POLICY_KEEP, "renewal period", NULL },
	{ "1y/6w: day 323 renews (period dominates)", 365, 42, 323, true, false, REVOCATION_GOOD, 2, 2, NULL, 0,
	  true, true, POLICY_RENEW, "renewal period", NULL },
	{ "60d/6w: day 18 keeps (not period-only)", 60, 42, 18, true, false, REVOCATION_GOOD, 2, 2, NULL, 0,
	  true, true, POLICY_KEEP, "80% of lifetime", NULL },
	{ "60d/6w: day 47.9 keeps", 60, 42, 47.9, true, false, REVOCATION_GOOD, 2, 2, NULL, 0, true, true,
	  POLICY_KEEP, NULL, NULL },
	{ "60d/6w: day 48 renews (80% dominates)", 60, 42, 48, true, false, REVOCATION_GOOD, 2, 2, NULL, 0,
	  true, true, POLICY_RENEW, "80% of lifetime", NULL },
	{ "renewal period longer than lifetime: 80% floor", 30, 42, 23.9, true, false, REVOCATION_GOOD, 2, 2, NULL,
	  0, true, true, POLICY_KEEP, "80% of lifetime", NULL },
	{ "renewal period longer than lifetime: renews at 80%", 30, 42, 24, true, false, REVOCATION_GOOD, 2, 2,
	  NULL, 0, true, true, POLICY_RENEW, NULL, NULL },
	{ "no renewal period: 80% rule alone", 100, NONE, 80, true, false, REVOCATION_GOOD, 2, 2, NULL, 0, true,
	  true, POLICY_RENEW, "80% of lifetime", NULL },
	{ "no certificate: enroll", 365, 42, 0, false, false, REVOCATION_NOT_CHECKED, 2, NONE, NULL, 0, true,
	  true, POLICY_ENROLL, "no certificate", NULL },
	{ "expired: new enrollment, not renewal", 365, 42, 365, true, false, REVOCATION_GOOD, 2, 2, NULL, 0,
	  true, true, POLICY_ENROLL, "expired", NULL },
	/* AEPolicy 0x2 governs expired certificates too: with it off nothing held
	 * is replaced (renew_expiring = no used to re-enroll expired ones) */
	{ "expired with 0x2 off: skip", 365, 42, 400, true, false, REVOCATION_GOOD, 2, 2, NULL, 0,
	  false, true, POLICY_SKIP, "renew_and_remove_revoked (AEPolicy 0x2) is off", NULL },
	{ "expired with only 0x2 on: enroll", 365, 42, 400, true, false, REVOCATION_GOOD, 2, 2, NULL, 0,
	  true, false, POLICY_ENROLL, "expired", NULL },
	{ "no certificate, 0x1 off: skip", 365, 42, 0, false, false, REVOCATION_NOT_CHECKED, 2, NONE, NULL, 0,
	  true, false, POLICY_SKIP, "update_templates (AEPolicy 0x1) is off", NULL },
	{ "not yet valid: keep with a note", 365, 42, -1, true, false, REVOCATION_GOOD, 2, 2, NULL, 0, true, true,
	  POLICY_KEEP, NULL, "not yet valid" },
	{ "revoked: re-enroll", 365, 42, 10, true, false, REVOCATION_REVOKED, 2, 2, NULL, 0, true, true,
	  POLICY_REENROLL, "revoked", NULL },
	{ "revoked, renew_expiring off: skip", 365, 42, 10, true, false, REVOCATION_REVOKED, 2, 2, NULL, 0, false,
	  true, POLICY_SKIP, "renew_and_remove_revoked", NULL },
	{ "revocation unknown: reported, not guessed", 365, 42, 10, true, false, REVOCATION_UNKNOWN, 2, 2, NULL, 0,
	  true, true, POLICY_KEEP, NULL, "revocation status unknown" },
	{ "template major bumped: re-enroll", 365, 42, 10, true, false, REVOCATION_GOOD, 3, 2, NULL, 0, true, true,
	  POLICY_REENROLL, "major version 3 > certificate's 2", NULL },
	{ "template major bumped, update_templates off: skip", 365, 42, 10, true, false, REVOCATION_GOOD, 3, 2,
	  NULL, 0, true, false, POLICY_SKIP, "update_templates", NULL },
	{ "cert major newer than template: keep", 365, 42, 10, true, false, REVOCATION_GOOD, 2, 3, NULL, 0, true,
	  true, POLICY_KEEP, NULL, NULL },
	{ "cert without major: version rule not applied", 365, 42, 10, true, false, REVOCATION_GOOD, 9, NONE,
	  NULL, 0, true, true, POLICY_KEEP, NULL, NULL },
	{ "superseded template: re-enroll", 365, 42, 10, true, false, REVOCATION_GOOD, 2, 2, "OldMachine", 0,
	  true, true, POLICY_REENROLL, "OldMachine", NULL },
	{ "superseded, update_templates off: skip", 365, 42, 10, true, false, REVOCATION_GOOD, 2, 2, "OldMachine",
	  0, true, false, POLICY_SKIP, "update_templates", NULL },
	{ "CT_FLAG_SKIP_AUTO_RENEWAL and due: skip", 365, 42, 330, true, false, REVOCATION_GOOD, 2, 2, NULL,
	  CT_EF_SKIP_AUTO_RENEWAL, true, true, POLICY_SKIP, "SKIP_AUTO_RENEWAL", NULL },
	{ "CT_FLAG_SKIP_AUTO_RENEWAL, not due: keep", 365, 42, 10, true, false, REVOCATION_GOOD, 2, 2, NULL,
	  CT_EF_SKIP_AUTO_RENEWAL, true, true, POLICY_KEEP, NULL, NULL },
	{ "renew_expiring off and due: skip", 365, 42, 330, true, false, REVOCATION_GOOD, 2, 2, NULL, 0, false,
	  true, POLICY_SKIP, "renew_and_remove_revoked", NULL },
	{ "switches off, nothing due: keep", 365, 42, 10, true, false, REVOCATION_GOOD, 2, 2, NULL, 0, false,
	  false, POLICY_KEEP, NULL, NULL },
	{ "pending request: wait, even with a cert due", 365, 42, 330, true, true, REVOCATION_GOOD, 2, 2, NULL, 0,
	  true, true, POLICY_WAIT_PENDING, "pending", NULL },
	{ "pending request, no cert: wait", 365, 42, 0, false, true, REVOCATION_NOT_CHECKED, 2, NONE, NULL, 0,
	  true, true, POLICY_WAIT_PENDING, NULL, NULL },
};

static void decide(const struct policy_case *c, struct template *t, struct policy_decision *d)
{
	struct policy_input in;

	memset(t, 0, sizeof(*t));
	t->cn = (char *)"Machine2";
	t->major_version = c->template_major;
	t->enrollment_flag = c->enrollment_flag;
	t->has_renewal = c->renewal_days != NONE;
	t->renewal_seconds = c->renewal_days == NONE ? 0 : (int64_t)c->renewal_days * DAY;
	memset(&in, 0, sizeof(in));
	in.now = NB + (time_t)(c->now_day * DAY);
	in.t = t;
	in.has_cert = c->has_cert;
	in.not_before = NB;
	in.not_after = NB + (time_t)c->lifetime_days * DAY;
	in.cert_has_major = c->cert_major != NONE;
	in.cert_major = c->cert_major == NONE ? 0 : (uint32_t)c->cert_major;
	in.revocation = c->revocation;
	in.pending = c->pending;
	in.renew_expiring = c->renew_expiring;
	in.update_templates = c->update_templates;
	in.superseded_cn = c->superseded;
	policy_decide(&in, d);
}

static void test_table(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct policy_case *c = &cases[i];
		struct template t;
		struct policy_decision d;
		bool ok;

		decide(c, &t, &d);
		ok = d.action == c->want && (c->rule_has == NULL || strstr(d.rule, c->rule_has) != NULL) &&
		     (c->note_has == NULL || strstr(d.note, c->note_has) != NULL);
		if (!ok) {
			print_error("case \"%s\": got %s (rule \"%s\", note \"%s\"), want %s with \"%s\"/\"%s\"\n",
				    c->name, policy_action_name(d.action), d.rule, d.note,
				    policy_action_name(c->want), c->rule_has ? c->rule_has : "",
				    c->note_has ? c->note_has : "");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The two examples of the issue, date by date. */
static void test_one_year_six_weeks_renews_at_day_323(void **state)
{
	time_t at, by_period, by_80;
	enum policy_renew_basis basis;

	(void)state;
	policy_renewal_dates(NB, NB + 365 * DAY, true, 42 * DAY, &at, &by_period, &by_80, &basis);
	assert_int_equal(by_period, NB + 323 * DAY);
	assert_int_equal(by_80, NB + 292 * DAY);
	assert_int_equal(at, NB + 323 * DAY);
	assert_int_equal(basis, RENEW_BASIS_PERIOD);
}

static void test_sixty_days_six_weeks_renews_at_day_48_not_18(void **state)
{
	time_t at, by_period, by_80;
	enum policy_renew_basis basis;

	(void)state;
	policy_renewal_dates(NB, NB + 60 * DAY, true, 42 * DAY, &at, &by_period, &by_80, &basis);
	assert_int_equal(by_period, NB + 18 * DAY);
	assert_int_equal(by_80, NB + 48 * DAY);
	assert_int_equal(at, NB + 48 * DAY);
	assert_int_equal(basis, RENEW_BASIS_80PCT);
}

static void test_period_longer_than_lifetime_uses_80_percent(void **state)
{
	time_t at, by_period, by_80;
	enum policy_renew_basis basis;

	(void)state;
	policy_renewal_dates(NB, NB + 30 * DAY, true, 42 * DAY, &at, &by_period, &by_80, &basis);
	assert_true(by_period < NB);
	assert_int_equal(at, NB + 24 * DAY);
	assert_int_equal(basis, RENEW_BASIS_80PCT);
}

static void test_no_period_gives_no_period_date(void **state)
{
	time_t at, by_period, by_80;
	enum policy_renew_basis basis;

	(void)state;
	policy_renewal_dates(NB, NB + 10 * DAY, false, 0, &at, &by_period, &by_80, &basis);
	assert_int_equal(by_period, 0);
	assert_int_equal(at, NB + 8 * DAY);
	assert_int_equal(basis, RENEW_BASIS_80PCT);
}

/* Odd lifetimes: 80% is floored to the second, never past notAfter. */
static void test_80_percent_exact_for_odd_lifetimes(void **state)
{
	time_t at, by_period, by_80;
	enum policy_renew_basis basis;

	(void)state;
	policy_renewal_dates(NB, NB + 7, false, 0, &at, &by_period, &by_80, &basis);
	assert_int_equal(by_80, NB + 5);   /* 5.6 */
	policy_renewal_dates(0, (time_t)INT64_C(0x7fffffff00), false, 0, &at, &by_period, &by_80, &basis);
	assert_true(by_80 > 0 && by_80 < (time_t)INT64_C(0x7fffffff00));
}

static void test_decision_reports_both_dates(void **state)
{
	struct template t;
	struct policy_decision d;

	(void)state;
	decide(&cases[2], &t, &d);   /* 60d/6w at day 18 */
	assert_int_equal(d.renew_by_period, NB + 18 * DAY);
	assert_int_equal(d.renew_by_80pct, NB + 48 * DAY);
	assert_int_equal(d.renew_at, NB + 48 * DAY);
	assert_int_equal(d.renew_basis, RENEW_BASIS_80PCT);
}

static void test_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(policy_action_name(POLICY_REENROLL), "reenroll");
	assert_string_equal(policy_action_name(POLICY_WAIT_PENDING), "wait-pending");
	policy_format_time(NB, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:20Z");
	policy_format_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_one_year_six_weeks_renews_at_day_323),
		cmocka_unit_test(test_sixty_days_six_weeks_renews_at_day_48_not_18),
		cmocka_unit_test(test_period_longer_than_lifetime_uses_80_percent),
		cmocka_unit_test(test_no_period_gives_no_period_date),
		cmocka_unit_test(test_80_percent_exact_for_odd_lifetimes),
		cmocka_unit_test(test_decision_reports_both_dates),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
