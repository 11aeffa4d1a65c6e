/* Template eligibility (docs/protocol.md 5.2): one table row per reason code,
 * then supersedence across templates.  Directories are built in memory with
 * real-shaped values; ACLs are SDDL turned into binary descriptors. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "directory.h"
#include "eligibility.h"
#include "sddl.h"
#include "template.h"
#include "util.h"

#define DOM SDDL_TEST_DOMAIN
#define ENROLL "0e10c968-78fb-11d2-90d4-00c04f79dc55"
#define AUTOENROLL "a05b8cc2-17bc-4802-a710-e7c15ab866a2"

/* Enroll + AutoEnroll for Domain Computers / Domain Users, read for everyone. */
#define ACL_DC "D:PAI(A;;LCRPLORC;;;AU)(OA;;RPWPCR;" ENROLL ";;DC)(OA;;RPWPCR;" AUTOENROLL ";;DC)"
#define ACL_DU "D:PAI(A;;LCRPLORC;;;AU)(OA;;RPWPCR;" ENROLL ";;DU)(OA;;RPWPCR;" AUTOENROLL ";;DU)"
#define ACL_EMPTY_SD "-"
#define ACL_CORRUPT "!"

static const char *const machine_token[] = { DOM "-1105", "DC", "AU", "WD", "NU", NULL };
static const char *const user_token[] = { DOM "-1106", "DU", "AU", "WD", "NU", NULL };

struct tmpl_spec {
	const char *cn;
	uint32_t schema;          /* 0: 2 */
	uint32_t flags_set, flags_clear;
	uint32_t ef_set, ef_clear;
	uint32_t pkf_set, nf_set;
	uint32_t ra_signatures;
	enum template_key_alg key_alg;
	const char *invalid;
	const char *acl;          /* NULL: ACL_DC (machine) / ACL_DU (user) */
	bool unpublished;
	const char *supersedes[3];
};

static void build_template(const struct tmpl_spec *s, bool user, struct template *t)
{
	uint8_t sd[4096];
	const char *acl = s->acl ? s->acl : user ? ACL_DU : ACL_DC;

	memset(t, 0, sizeof(*t));
	t->cn = xstrdup(s->cn ? s->cn : "Tmpl");
	t->schema_version = s->schema ? s->schema : 2;
	/* Workstation (machine) / a v2 User clone as the baseline, MS-CRTD <42> */
	t->flags = user ? 0x1023a : 0x10260;
	t->flags = (t->flags | s->flags_set) & ~s->flags_clear;
	t->enrollment_flag = (0x20u | s->ef_set) & ~s->ef_clear;
	t->private_key_flag = s->pkf_set;
	t->name_flag = s->nf_set ? s->nf_set : user ? 0xA6000000u : 0x08000000u;
	t->ra_signatures = s->ra_signatures;
	t->key_alg = s->key_alg;
	if (s->invalid)
		t->invalid_reason = xstrdup(s->invalid);
	for (size_t i = 0; i < 3 && s->supersedes[i]; i++)
		strlist_add(&t->supersedes, s->supersedes[i]);
	if (strcmp(acl, ACL_EMPTY_SD) == 0)
		return;
	if (strcmp(acl, ACL_CORRUPT) == 0) {
		size_t n = sddl_to_sd(ACL_DC, sd, sizeof(sd));

		assert_true(n > 0);
		sd[20 + 4] = 0x7f; /* AceCount far beyond the ACL */
		t->security_descriptor.data = xmalloc(n);
		memcpy(t->security_descriptor.data, sd, n);
		t->security_descriptor.len = n;
		return;
	}
	t->security_descriptor.len = sddl_to_sd(acl, sd, sizeof(sd));
	if (t->security_descriptor.len == 0)
		fail_msg("test SDDL not understood: %s", acl);
	t->security_descriptor.data = xmalloc(t->security_descriptor.len);
	memcpy(t->security_descriptor.data, sd, t->security_descriptor.len);
}

/* Two CAs listed out of name order, to check the sorted CA list. */
static void build_directory(const struct tmpl_spec *specs, size_t n, bool user, struct directory *d)
{
	const char *const *tok = user ? user_token : machine_token;

	memset(d, 0, sizeof(*d));
	d->n_cas = 3;
	d->cas = xcalloc(3, sizeof(*d->cas));
	d->cas[0].cn = xstrdup("EXAMPLE-CA");
	d->cas[1].cn = xstrdup("ANOTHER-CA");
	d->cas[2].cn = xstrdup("UNRELATED-CA");
	strlist_add(&d->cas[2].templates, "SomethingElse");
	d->n_templates = n;
	d->templates = xcalloc(n, sizeof(*d->templates));
	for (size_t i = 0; i < n; i++) {
		build_template(&specs[i], user, &d->templates[i]);
		if (!specs[i].unpublished) {
			/* certificateTemplates values are compared case-insensitively */
			strlist_add(&d->cas[0].templates, d->templates[i].cn);
			strlist_add(&d->cas[1].templates, "somethingelse");
			if (i == 0)
				strlist_add(&d->cas[1].templates, "TMPL");
		}
	}
	while (tok[d->account.n_token])
		d->account.n_token++;
	d->account.token = xcalloc(d->account.n_token, sizeof(struct sid));
	for (size_t i = 0; i < d->account.n_token; i++)
		assert_int_equal(sddl_sid(tok[i], strlen(tok[i]), &d->account.token[i]), 0);
}

static void free_directory(struct directory *d)
{
	for (size_t i = 0; i < d->n_templates; i++)
		template_free_contents(&d->templates[i]);
	free(d->templates);
	for (size_t i = 0; i < d->n_cas; i++) {
		free(d->cas[i].cn);
		strlist_free(&d->cas[i].templates);
	}
	free(d->cas);
	free(d->account.token);
}

/* ------------------------------------------------------------------ one template, one reason */

struct elig_case {
	const char *name;
	bool user;
	bool allow_v1;
	unsigned client_version;
	struct tmpl_spec t;
	enum elig_code want;
	const char *reason_has;
	const char *reason_has2;
};

static const struct elig_case cases[] = {
	{ "machine v2 template with Enroll and AutoEnroll is eligible", false, false, 0,
	  { .cn = "Tmpl" }, ELIG_OK,
	  "eligible: Enroll granted by ACE #2 (allow object ACE Enroll for " DOM "-515 (Domain Computers)), "
	  "AutoEnroll granted by ACE #3 (allow object ACE AutoEnroll for " DOM "-515 (Domain Computers)); "
	  "published by ANOTHER-CA, EXAMPLE-CA", NULL },
	{ "user v2 template in user mode is eligible", true, false, 0,
	  { .cn = "Tmpl" }, ELIG_OK, "AutoEnroll granted by ACE #3 (allow object ACE AutoEnroll for "
	  DOM "-513 (Domain Users))", NULL },
	{ "invalid template", false, false, 0,
	  { .invalid = "pKIExpirationPeriod: period is zero" }, ELIG_INVALID_TEMPLATE,
	  "not eligible: template is invalid: pKIExpirationPeriod: period is zero", NULL },
	{ "user template in machine mode", false, false, 0,
	  { .flags_clear = CT_FLAG_MACHINE_TYPE }, ELIG_WRONG_CONTEXT,
	  "not eligible: user template (CT_FLAG_MACHINE_TYPE is not set in flags), this run is for the machine", NULL },
	{ "machine template in user mode", true, false, 0,
	  { .flags_set = CT_FLAG_MACHINE_TYPE }, ELIG_WRONG_CONTEXT,
	  "machine template (CT_FLAG_MACHINE_TYPE is set in flags), this run is for a user", NULL },
	{ "v2 template without the autoenrollment flag", false, false, 0,
	  { .ef_clear = CT_EF_AUTO_ENROLLMENT, .ef_set = 0x8 }, ELIG_NOT_AUTOENROLL,
	  "CT_FLAG_AUTO_ENROLLMENT 0x20 is not set in msPKI-Enrollment-Flag 0x8", NULL },
	{ "v2 template: flags bit alone does not enable it", false, false, 0,
	  { .ef_clear = CT_EF_AUTO_ENROLLMENT, .flags_set = CT_FLAG_AUTO_ENROLLMENT }, ELIG_NOT_AUTOENROLL,
	  "msPKI-Enrollment-Flag", NULL },
	{ "v1 template with CT_FLAG_AUTO_ENROLLMENT is refused by default", false, false, 0,
	  { .schema = 1, .flags_set = CT_FLAG_AUTO_ENROLLMENT }, ELIG_V1_TEMPLATE,
	  "v1 templates cannot carry the AutoEnroll permission", "allow_v1_templates" },
	{ "v1 template allowed by option", false, true, 0,
	  { .schema = 1, .flags_set = CT_FLAG_AUTO_ENROLLMENT }, ELIG_OK, "eligible: ", NULL },
	{ "v1 template without CT_FLAG_AUTO_ENROLLMENT in flags (WebServer)", false, true, 0,
	  { .schema = 1, .flags_clear = CT_FLAG_AUTO_ENROLLMENT }, ELIG_NOT_AUTOENROLL,
	  "not set in flags of this schema version 1 template", NULL },
	{ "CA template", false, false, 0,
	  { .flags_set = CT_FLAG_IS_CA }, ELIG_CA_TEMPLATE, "CA certificate template (CT_FLAG_IS_CA", NULL },
	{ "cross-CA template", false, false, 0,
	  { .flags_set = CT_FLAG_IS_CROSS_CA }, ELIG_CA_TEMPLATE, "CT_FLAG_IS_CROSS_CA", NULL },
	{ "user interaction required", false, false, 0,
	  { .ef_set = CT_EF_USER_INTERACTION_REQUIRED }, ELIG_USER_INTERACTION,
	  "CT_FLAG_USER_INTERACTION_REQUIRED", NULL },
	{ "enrollment-agent signature required", false, false, 0,
	  { .ra_signatures = 1 }, ELIG_RA_SIGNATURES, "requires 1 enrollment-agent signature (msPKI-RA-Signature)", NULL },
	{ "key archival required", false, false, 0,
	  { .pkf_set = CT_PK_REQUIRE_KEY_ARCHIVAL | CT_PK_EXPORTABLE_KEY }, ELIG_KEY_ARCHIVAL,
	  "CT_FLAG_REQUIRE_PRIVATE_KEY_ARCHIVAL", NULL },
	{ "attestation required", false, false, 0,
	  { .pkf_set = CT_PK_ATTEST_REQUIRED }, ELIG_ATTESTATION, "CT_FLAG_ATTEST_REQUIRED", NULL },
	{ "attestation preferred is fine", false, false, 0,
	  { .pkf_set = 0x1000 }, ELIG_OK, "eligible", NULL },
	{ "enrollee supplies subject", false, false, 0,
	  { .nf_set = CT_NF_ENROLLEE_SUPPLIES_SUBJECT }, ELIG_SUPPLIES_SUBJECT,
	  "must supply the subject (CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT)", NULL },
	{ "enrollee supplies SAN", false, false, 0,
	  { .nf_set = CT_NF_ENROLLEE_SUPPLIES_SAN | CT_NF_SUBJECT_REQUIRE_DNS_AS_CN }, ELIG_SUPPLIES_SUBJECT,
	  "CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME", NULL },
	{ "client version above the declared one", false, false, 4,
	  { .pkf_set = 0x05000000 }, ELIG_CLIENT_VERSION,
	  "requires client version 5 (msPKI-Private-Key-Flag bits 24-27), adenroll declares 4", NULL },
	{ "client version within the default declaration", false, false, 0,
	  { .pkf_set = 0x0F0F0000 | CT_PK_REQUIRE_SAME_KEY_RENEWAL }, ELIG_OK, "eligible", NULL },
	{ "DSS/DH-only providers", false, false, 0,
	  { .key_alg = TEMPLATE_KEY_UNSUPPORTED }, ELIG_KEY_ALGORITHM,
	  "pKIDefaultCSPs lists only DSS / Diffie-Hellman providers", NULL },
	{ "EC P-384 is supported", false, false, 0,
	  { .key_alg = TEMPLATE_KEY_EC_P384 }, ELIG_OK, "eligible", NULL },
	{ "not published by any CA", false, false, 0,
	  { .unpublished = true }, ELIG_NOT_PUBLISHED, "not eligible: not published by any enrollment service", NULL },
	{ "security descriptor not returned", false, false, 0,
	  { .acl = ACL_EMPTY_SD }, ELIG_BAD_SD, "nTSecurityDescriptor was not returned", NULL },
	{ "security descriptor corrupt", false, false, 0,
	  { .acl = ACL_CORRUPT }, ELIG_BAD_SD, "cannot check Enroll/AutoEnroll: DACL claims 127 ACEs", NULL },
	{ "no Enroll right", false, false, 0,
	  { .acl = "D:(A;;LCRPLORC;;;AU)(OA;;CR;" AUTOENROLL ";;DC)" }, ELIG_NO_ENROLL_RIGHT,
	  "not eligible: no ACE grants Enroll to any of the account's 5 SIDs (2 ACEs checked)", NULL },
	{ "default Machine ACL: Enroll but no AutoEnroll", false, false, 0,
	  { .acl = "D:PAI(A;;LCRPLORC;;;AU)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(OA;;RPWPCR;" ENROLL ";;DC)" },
	  ELIG_NO_AUTOENROLL_RIGHT, "not eligible: no ACE grants AutoEnroll to any of the account's 5 SIDs", NULL },
	{ "AutoEnroll denied by a deny ACE", false, false, 0,
	  { .acl = "D:(OD;;CR;" AUTOENROLL ";;DC)(OA;;CR;" ENROLL ";;AU)(OA;;CR;" AUTOENROLL ";;AU)" },
	  ELIG_NO_AUTOENROLL_RIGHT,
	  "not eligible: AutoEnroll denied by ACE #1 (deny object ACE AutoEnroll for " DOM "-515 (Domain Computers))", NULL },
	{ "Enroll through Authenticated Users, AutoEnroll through Everyone", false, false, 0,
	  { .acl = "D:(OA;;CR;" ENROLL ";;AU)(OA;;CR;" AUTOENROLL ";;WD)" }, ELIG_OK,
	  "Enroll granted by ACE #1 (allow object ACE Enroll for S-1-5-11 (Authenticated Users))",
	  "AutoEnroll granted by ACE #2 (allow object ACE AutoEnroll for S-1-1-0 (Everyone))" },
	{ "NULL DACL", false, false, 0,
	  { .acl = "O:DAD:NO_ACCESS_CONTROL" }, ELIG_OK, "NULL DACL", NULL },
	{ "first failing rule decides: context before ACL", true, false, 0,
	  { .flags_set = CT_FLAG_MACHINE_TYPE, .acl = ACL_CORRUPT }, ELIG_WRONG_CONTEXT, "machine template", NULL },
	{ "template rules before publication", false, false, 0,
	  { .unpublished = true, .ra_signatures = 2 }, ELIG_RA_SIGNATURES, "2 enrollment-agent signatures", NULL },
};

static void run_case(void **state)
{
	const struct elig_case *c = *state;
	struct directory d;
	struct eligibility out[1];
	struct eligibility_options opt = { c->user ? ADENROLL_MODE_USER : ADENROLL_MODE_MACHINE,
					   c->allow_v1, c->client_version };

	build_directory(&c->t, 1, c->user, &d);
	memset(out, 0xA5, sizeof(out));
	eligibility_evaluate_all(&d, &opt, out);
	if (out[0].code != c->want)
		fail_msg("%s: got %s, want %s (%s)", c->name, eligibility_code_name(out[0].code),
			 eligibility_code_name(c->want), out[0].reason);
	if (strstr(out[0].reason, c->reason_has) == NULL)
		fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name, out[0].reason, c->reason_has);
	if (c->reason_has2 && strstr(out[0].reason, c->reason_has2) == NULL)
		fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name, out[0].reason, c->reason_has2);
	assert_ptr_equal(out[0].template, &d.templates[0]);
	assert_null(out[0].superseded_by);
	if (c->want == ELIG_OK) {
		assert_true(out[0].acl_evaluated);
		assert_true(out[0].enroll.granted && out[0].autoenroll.granted);
		assert_int_equal(out[0].n_cas, 2);
		assert_string_equal(out[0].cas[0]->cn, "ANOTHER-CA");
		assert_string_equal(out[0].cas[1]->cn, "EXAMPLE-CA");
		assert_true(strncmp(out[0].reason, "eligible: ", 10) == 0);
	} else {
		assert_true(strncmp(out[0].reason, "not eligible: ", 14) == 0);
	}
	free_directory(&d);
}

/* The ACL verdicts are filled even when an earlier rule decides, so
 * "explain" can show them. */
static void test_acl_reported_when_other_rule_decides(void **state)
{
	struct tmpl_spec s = { .cn = "Tmpl", .ra_signatures = 1,
			       .acl = "D:(OD;;CR;" AUTOENROLL ";;DC)(OA;;CR;" ENROLL ";;DC)" };
	struct directory d;
	struct eligibility out[1];
	struct eligibility_options opt = { ADENROLL_MODE_MACHINE, false, 0 };

	(void)state;
	build_directory(&s, 1, false, &d);
	eligibility_evaluate_all(&d, &opt, out);
	assert_int_equal(out[0].code, ELIG_RA_SIGNATURES);
	assert_true(out[0].acl_evaluated);
	assert_true(out[0].enroll.granted);
	assert_int_equal(out[0].enroll.ace_index, 1);
	assert_false(out[0].autoenroll.granted);
	assert_true(out[0].autoenroll.by_deny);
	assert_int_equal(out[0].autoenroll.ace_index, 0);
	assert_int_equal(out[0].autoenroll.sid.sub[4], 515);
	free_directory(&d);
}

/* msPKI-RA-Signature = 1 with PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT (0x40):
 * renewal only (no first enrollment), still ELIG_RA_SIGNATURES; without 0x40,
 * or with 2 signatures, not even that. */
static void test_ra_signature_renewal_only(void **state)
{
	struct tmpl_spec s[3] = { { .cn = "A", .ra_signatures = 1, .ef_set = 0x40 },
				  { .cn = "B", .ra_signatures = 1 },
				  { .cn = "C", .ra_signatures = 2, .ef_set = 0x40 } };
	struct directory d;
	struct eligibility out[3];
	struct eligibility_options opt = { ADENROLL_MODE_MACHINE, false, 0 };

	(void)state;
	build_directory(s, 3, false, &d);
	eligibility_evaluate_all(&d, &opt, out);
	assert_int_equal(out[0].code, ELIG_RA_SIGNATURES);
	assert_true(out[0].renewal_only);
	assert_non_null(strstr(out[0].reason, "renewed"));
	assert_int_equal(out[1].code, ELIG_RA_SIGNATURES);
	assert_false(out[1].renewal_only);
	assert_non_null(strstr(out[1].reason, "CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT"));
	assert_int_equal(out[2].code, ELIG_RA_SIGNATURES);
	assert_false(out[2].renewal_only);
	free_directory(&d);
}

/* The CAs' own descriptors: one denying CA is listed as skipped; when every
 * publishing CA denies, the template is not eligible. */
static void test_ca_enroll_rights(void **state)
{
	struct tmpl_spec s = { .cn = "Tmpl" };
	struct directory d;
	struct eligibility out[1];
	struct eligibility_options opt = { ADENROLL_MODE_MACHINE, false, 0 };
	uint8_t deny[512], allow[512];
	size_t nd = sddl_to_sd("D:(OD;;CR;" ENROLL ";;DC)(OA;;CR;" ENROLL ";;AU)", deny, sizeof(deny));
	size_t na = sddl_to_sd("D:(OA;;CR;" ENROLL ";;AU)", allow, sizeof(allow));

	(void)state;
	assert_true(nd > 0 && na > 0);
	build_directory(&s, 1, false, &d);
	/* cas[1] ANOTHER-CA sorts first: it denies; EXAMPLE-CA grants */
	d.cas[1].security_descriptor.data = deny;
	d.cas[1].security_descriptor.len = nd;
	d.cas[0].security_descriptor.data = allow;
	d.cas[0].security_descriptor.len = na;
	eligibility_evaluate_all(&d, &opt, out);
	assert_int_equal(out[0].code, ELIG_OK);
	assert_int_equal(out[0].n_cas, 2);
	assert_int_equal(out[0].n_cas_granted, 1);
	assert_string_equal(out[0].cas[0]->cn, "ANOTHER-CA");
	assert_false(out[0].ca_enroll[0].granted);
	assert_true(out[0].ca_enroll[0].by_deny);
	assert_true(out[0].ca_enroll[1].granted);
	assert_non_null(strstr(out[0].reason, "ANOTHER-CA (skipped: Enroll denied by ACE #1"));
	d.cas[0].security_descriptor.data = deny;
	d.cas[0].security_descriptor.len = nd;
	eligibility_evaluate_all(&d, &opt, out);
	assert_int_equal(out[0].code, ELIG_NO_CA_ENROLL_RIGHT);
	assert_string_equal(eligibility_code_name(out[0].code), "no_ca_enroll_right");
	d.cas[0].security_descriptor.data = NULL;
	d.cas[1].security_descriptor.data = NULL;
	free_directory(&d);
}

/* ------------------------------------------------------------------ supersedence */

static void evaluate(const struct tmpl_spec *specs, size_t n, struct eligibility *out,
		     struct directory *d)
{
	struct eligibility_options opt = { ADENROLL_MODE_MACHINE, false, 0 };

	build_directory(specs, n, false, d);
	eligibility_evaluate_all(d, &opt, out);
}

static void test_superseded_by_eligible(void **state)
{
	/* DomainControllerAuthentication supersedes DomainController (MS-CRTD <42>) */
	const struct tmpl_spec specs[] = {
		{ .cn = "DomainController" },
		{ .cn = "DomainControllerAuthentication", .supersedes = { "domaincontroller" } },
	};
	struct eligibility out[2];
	struct directory d;

	(void)state;
	evaluate(specs, 2, out, &d);
	assert_int_equal(out[0].code, ELIG_SUPERSEDED);
	assert_string_equal(out[0].superseded_by, "DomainControllerAuthentication");
	assert_string_equal(out[0].reason,
			    "not eligible: superseded by eligible template DomainControllerAuthentication "
			    "(msPKI-Supersede-Templates)");
	/* the verdicts that made it eligible before stay visible */
	assert_true(out[0].enroll.granted && out[0].autoenroll.granted);
	assert_int_equal(out[1].code, ELIG_OK);
	assert_null(out[1].superseded_by);
	free_directory(&d);
}

static void test_superseder_not_eligible(void **state)
{
	const struct tmpl_spec specs[] = {
		{ .cn = "Old" },
		{ .cn = "New", .supersedes = { "Old" }, .unpublished = true },
	};
	struct eligibility out[2];
	struct directory d;

	(void)state;
	evaluate(specs, 2, out, &d);
	assert_int_equal(out[0].code, ELIG_OK);
	assert_null(out[0].superseded_by);
	assert_int_equal(out[1].code, ELIG_NOT_PUBLISHED);
	free_directory(&d);
}

static void test_superseded_keeps_own_reason(void **state)
{
	const struct tmpl_spec specs[] = {
		{ .cn = "New", .supersedes = { "Other", "Old" } },
		{ .cn = "Old", .unpublished = true },
	};
	struct eligibility out[2];
	struct directory d;

	(void)state;
	evaluate(specs, 2, out, &d);
	assert_int_equal(out[0].code, ELIG_OK);
	assert_int_equal(out[1].code, ELIG_NOT_PUBLISHED);
	/* policy still learns that a held Old certificate is replaced by New */
	assert_string_equal(out[1].superseded_by, "New");
	free_directory(&d);
}

static void test_supersede_chain_and_cycle(void **state)
{
	/* A > B > C; X <> Y with Z > X; P <> Q alone; S names itself */
	const struct tmpl_spec specs[] = {
		{ .cn = "C" },
		{ .cn = "B", .supersedes = { "C" } },
		{ .cn = "A", .supersedes = { "B" } },
		{ .cn = "X", .supersedes = { "Y" } },
		{ .cn = "Y", .supersedes = { "X" } },
		{ .cn = "Z", .supersedes = { "X" } },
		{ .cn = "P", .supersedes = { "Q" } },
		{ .cn = "Q", .supersedes = { "P" } },
		{ .cn = "S", .supersedes = { "S" } },
	};
	static const struct {
		enum elig_code code;
		const char *by;
	} want[] = {
		{ ELIG_SUPERSEDED, "A" }, { ELIG_SUPERSEDED, "A" }, { ELIG_OK, NULL },
		{ ELIG_SUPERSEDED, "Z" }, { ELIG_SUPERSEDED, "Z" }, { ELIG_OK, NULL },
		{ ELIG_OK, NULL }, { ELIG_OK, NULL }, { ELIG_OK, NULL },
	};
	struct eligibility out[9];
	struct directory d;

	(void)state;
	evaluate(specs, 9, out, &d);
	for (size_t i = 0; i < 9; i++) {
		if (out[i].code != want[i].code)
			fail_msg("%s: got %s (%s)", specs[i].cn, eligibility_code_name(out[i].code),
				 out[i].reason);
		if (want[i].by == NULL)
			assert_null(out[i].superseded_by);
		else
			assert_string_equal(out[i].superseded_by, want[i].by);
	}
	free_directory(&d);
}

static void test_code_names(void **state)
{
	(void)state;
	assert_string_equal(eligibility_code_name(ELIG_OK), "ok");
	assert_string_equal(eligibility_code_name(ELIG_NO_AUTOENROLL_RIGHT), "no_autoenroll_right");
	assert_string_equal(eligibility_code_name(ELIG_SUPERSEDED), "superseded");
	assert_string_equal(eligibility_code_name((enum elig_code)999), "unknown");
	for (int a = ELIG_OK; a <= ELIG_SUPERSEDED; a++) {
		const char *na = eligibility_code_name((enum elig_code)a);

		assert_string_not_equal(na, "unknown");
		for (const char *p = na; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
		for (int b = a + 1; b <= ELIG_SUPERSEDED; b++)
			assert_string_not_equal(na, eligibility_code_name((enum elig_code)b));
	}
}

static void test_every_code_reachable(void **state)
{
	bool seen[ELIG_SUPERSEDED + 1] = { false };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		seen[cases[i].want] = true;
	seen[ELIG_SUPERSEDED] = true; /* test_superseded_by_eligible */
	for (int c = ELIG_OK; c <= ELIG_SUPERSEDED; c++)
		if (!seen[c])
			fail_msg("no test reaches %s", eligibility_code_name((enum elig_code)c));
}

int main(void)
{
	struct CMUnitTest tests[9 + sizeof(cases) / sizeof(cases[0])];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_acl_reported_when_other_rule_decides);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_superseded_by_eligible);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_superseder_not_eligible);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_superseded_keeps_own_reason);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_supersede_chain_and_cycle);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_code_names);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_code_reachable);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ra_signature_renewal_only);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ca_enroll_rights);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, run_case, NULL, NULL, (void *)&cases[i] };
	return _cmocka_run_group_tests("eligibility", tests, n, NULL, NULL);
}
