/* gpo.c and the pure parts of gpo_directory.c: gPLink parsing, the
 * MS-GPOL precedence rules as a table, GPO filtering, SYSVOL paths; the
 * AEPolicy bit table (aepolicy.c). */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aepolicy.h"
#include "gpo.h"
#include "gpo_directory.h"
#include "sd.h"
#include "sddl.h"

#define DOM "DC=example,DC=test"
#define G_DOM "{31B2F340-016D-11D2-945F-00C04FB984F9}"
#define G_A "{AAAAAAAA-0000-0000-0000-000000000001}"
#define G_B "{BBBBBBBB-0000-0000-0000-000000000002}"
#define G_C "{CCCCCCCC-0000-0000-0000-000000000003}"
#define G_S "{DDDDDDDD-0000-0000-0000-000000000004}"
#define LINK(g, n) "[LDAP://cn=" g ",cn=policies,cn=system," DOM ";" #n "]"

/* GPMC's default: Authenticated Users may Read and Apply */
#define SD_DEFAULT "O:DAG:DAD:PAI(A;;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)(A;CI;RPLCLORC;;;AU)"
/* security filtering: Domain Computers are denied Apply Group Policy */
#define SD_DENY_DC "O:DAG:DAD:PAI(OD;;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;DC)(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)(A;CI;RPLCLORC;;;AU)"
/* Apply without Read */
#define SD_NO_READ "O:DAG:DAD:PAI(OA;CI;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;AU)"

static struct sid token[4];
static size_t n_token;

static int setup_token(void **state)
{
	(void)state;
	n_token = 0;
	sid_from_string(SDDL_TEST_DOMAIN "-1105", &token[n_token++]);
	sid_from_string(SDDL_TEST_DOMAIN "-515", &token[n_token++]);
	sid_from_string("S-1-5-11", &token[n_token++]);
	sid_from_string("S-1-1-0", &token[n_token++]);
	return 0;
}

static struct sd *make_sd(const char *sddl)
{
	uint8_t buf[4096];
	size_t n = sddl_to_sd(sddl, buf, sizeof(buf));
	struct sd *sd = NULL;
	char err[128];

	if (n == 0 || sd_parse(buf, n, &sd, err, sizeof(err)) != 0)
		fail_msg("bad test SDDL %s", sddl);
	return sd;
}

static void test_gplink_parse(void **state)
{
	struct gpo_link *l = NULL;
	size_t n = 0;
	char err[256];

	(void)state;
	assert_int_equal(gpo_parse_gplink(LINK("{aaaaaaaa-0000-0000-0000-000000000001}", 0) LINK(G_B, 2)
					  "[LDAP://CN=notagpo,DC=x;0]" LINK(G_C, 1),
					  &l, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(l[0].guid, G_A); /* upper-cased */
	assert_int_equal(l[1].options, GPO_LINK_ENFORCED);
	assert_int_equal(l[2].options, GPO_LINK_DISABLED);
	assert_non_null(strstr(err, "does not name a GPO"));
	gpo_links_free(l, n);
	/* AD writes a single blank for "no links" */
	assert_int_equal(gpo_parse_gplink(" ", &l, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	gpo_links_free(l, n);
	{
		static const char *const bad[] = { "x", "[LDAP://cn=" G_A ",cn=p;0", "[LDAP://cn=" G_A ";x]",
						   "[ldap:/cn=" G_A ";0]", "[LDAP://cn=" G_A ";1x]" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (gpo_parse_gplink(bad[i], &l, &n, err, sizeof(err)) != -1)
				fail_msg("'%s' parsed", bad[i]);
			assert_null(l);
		}
	}
}

/* One precedence case: SOMs top down (site optional), what applies, in order. */
struct som_spec {
	enum gpo_som_kind kind;
	const char *dn;
	uint32_t options;
	const char *gplink;
};

struct gpo_spec {
	const char *guid;
	uint32_t flags;
	long fv;
	const char *sddl;
	const char *wql;
};

struct resolve_case {
	const char *name;
	enum adenroll_mode mode;
	struct som_spec soms[4];
	struct gpo_spec gpos[5];
	const char *applied;      /* GUIDs in application order, last wins, separated by ' ' */
	const char *skipped_why;  /* a verdict name expected among the skipped, or NULL */
};

static const struct resolve_case cases[] = {
	{ "domain then OU: the OU applies last", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_DOM, 0) LINK(G_A, 0) }, { GPO_SOM_OU, "OU=Linux," DOM, 0, LINK(G_B, 0) } },
	  { { G_DOM, 0, 2, SD_DEFAULT, NULL }, { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_DOM " " G_A " " G_B, NULL },
	{ "site first, then domain, OUs top down", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_SITE, "CN=Default-First-Site-Name,CN=Sites,CN=Configuration," DOM, 0, LINK(G_S, 0) },
	    { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) },
	    { GPO_SOM_OU, "OU=Servers," DOM, 0, LINK(G_B, 0) },
	    { GPO_SOM_OU, "OU=Linux,OU=Servers," DOM, 0, LINK(G_C, 0) } },
	  { { G_S, 0, 2, SD_DEFAULT, NULL }, { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL },
	    { G_C, 0, 2, SD_DEFAULT, NULL } },
	  G_S " " G_A " " G_B " " G_C, NULL },
	{ "enforced domain link beats the OU", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 2) }, { GPO_SOM_OU, "OU=Linux," DOM, 0, LINK(G_B, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_B " " G_A, NULL },
	{ "two enforced: the highest in the tree wins", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 2) }, { GPO_SOM_OU, "OU=Linux," DOM, 0, LINK(G_B, 2) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_B " " G_A, NULL },
	{ "within a gPLink the last entry has precedence", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_OU, "OU=Linux," DOM, 0, LINK(G_A, 0) LINK(G_B, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_A " " G_B, NULL },
	{ "block inheritance stops domain links", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) }, { GPO_SOM_OU, "OU=Linux," DOM, GPO_SOM_BLOCK_INHERITANCE, LINK(G_B, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_B, "blocked by inheritance" },
	{ "block inheritance does not stop enforced links", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 2) }, { GPO_SOM_OU, "OU=Linux," DOM, GPO_SOM_BLOCK_INHERITANCE, LINK(G_B, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_B " " G_A, NULL },
	{ "a lower OU's block stops the upper OU too", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) }, { GPO_SOM_OU, "OU=Servers," DOM, 0, LINK(G_B, 0) },
	    { GPO_SOM_OU, "OU=Linux,OU=Servers," DOM, GPO_SOM_BLOCK_INHERITANCE, LINK(G_C, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL }, { G_C, 0, 2, SD_DEFAULT, NULL } },
	  G_C, "blocked by inheritance" },
	{ "disabled link", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) }, { GPO_SOM_OU, "OU=Linux," DOM, 0, LINK(G_B, 1) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_A, "link disabled" },
	{ "disabled enforced link", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 3) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL } },
	  "", "link disabled" },
	{ "computer part disabled", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) LINK(G_B, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, GPO_FLAG_MACHINE_DISABLED, 2, SD_DEFAULT, NULL } },
	  G_A, "settings disabled" },
	{ "computer part disabled does not matter to users", ADENROLL_MODE_USER,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) } },
	  { { G_A, GPO_FLAG_MACHINE_DISABLED, 2, SD_DEFAULT, NULL } },
	  G_A, NULL },
	{ "user part disabled", ADENROLL_MODE_USER,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) } },
	  { { G_A, GPO_FLAG_USER_DISABLED, 2, SD_DEFAULT, NULL } },
	  "", "settings disabled" },
	{ "security filtering denies Domain Computers", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) LINK(G_B, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DENY_DC, NULL } },
	  G_A, "denied by security filtering" },
	{ "Apply without Read does not apply", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) } },
	  { { G_A, 0, 2, SD_NO_READ, NULL } },
	  "", "denied by security filtering" },
	{ "gPCFunctionalityVersion other than 2", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) } },
	  { { G_A, 0, 1, SD_DEFAULT, NULL } },
	  "", "unsupported gPCFunctionalityVersion" },
	{ "link to a missing GPO", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) LINK(G_C, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL } },
	  G_A, "not found" },
	{ "WMI filter: applied, reported", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, "[example.test;{11111111-2222-3333-4444-555555555555};0]" } },
	  G_A, NULL },
	{ "linked twice: counted at the higher place", ADENROLL_MODE_MACHINE,
	  { { GPO_SOM_DOMAIN, DOM, 0, LINK(G_A, 0) LINK(G_B, 0) }, { GPO_SOM_OU, "OU=Linux," DOM, 0, LINK(G_A, 0) } },
	  { { G_A, 0, 2, SD_DEFAULT, NULL }, { G_B, 0, 2, SD_DEFAULT, NULL } },
	  G_B " " G_A, "linked again with higher precedence" },
};

static void test_resolve_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct resolve_case *k = &cases[c];
		struct gpo_som soms[4];
		struct gpo_object gpos[5];
		size_t n_soms = 0, n_gpos = 0;
		struct gpo_result r;
		char got[512] = "", err[256];
		bool found_skip = k->skipped_why == NULL;

		memset(soms, 0, sizeof(soms));
		memset(gpos, 0, sizeof(gpos));
		for (; n_soms < 4 && k->soms[n_soms].dn; n_soms++) {
			soms[n_soms].kind = k->soms[n_soms].kind;
			soms[n_soms].dn = xstrdup(k->soms[n_soms].dn);
			soms[n_soms].options = k->soms[n_soms].options;
			if (gpo_parse_gplink(k->soms[n_soms].gplink, &soms[n_soms].links, &soms[n_soms].n_links, err,
					     sizeof(err)) != 0)
				fail_msg("%s: %s", k->name, err);
		}
		for (; n_gpos < 5 && k->gpos[n_gpos].guid; n_gpos++) {
			snprintf(gpos[n_gpos].guid, sizeof(gpos[n_gpos].guid), "%s", k->gpos[n_gpos].guid);
			gpos[n_gpos].flags = k->gpos[n_gpos].flags;
			gpos[n_gpos].functionality_version = k->gpos[n_gpos].fv;
			gpos[n_gpos].sd = make_sd(k->gpos[n_gpos].sddl);
			gpos[n_gpos].wql_filter = k->gpos[n_gpos].wql ? xstrdup(k->gpos[n_gpos].wql) : NULL;
		}
		gpo_resolve(soms, n_soms, gpos, n_gpos, k->mode, token, n_token, &r);
		for (size_t i = 0; i < r.n_applied; i++) {
			assert_int_equal(r.applied[i].verdict, GPO_APPLIED);
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", r.applied[i].gpo->guid);
			if (r.applied[i].gpo->wql_filter)
				assert_non_null(strstr(r.applied[i].reason, "not evaluated"));
		}
		for (size_t i = 0; i < r.n_skipped; i++) {
			assert_true(r.skipped[i].reason[0] != '\0');
			if (k->skipped_why && strcmp(gpo_verdict_name(r.skipped[i].verdict), k->skipped_why) == 0)
				found_skip = true;
		}
		if (strcmp(got, k->applied) != 0)
			fail_msg("%s: applied '%s', want '%s'", k->name, got, k->applied);
		if (!found_skip)
			fail_msg("%s: no link skipped as '%s'", k->name, k->skipped_why);
		gpo_result_free(&r);
		for (size_t i = 0; i < n_soms; i++)
			gpo_som_free(&soms[i]);
		for (size_t i = 0; i < n_gpos; i++)
			gpo_object_free(&gpos[i]);
	}
}

static void test_side_version(void **state)
{
	(void)state;
	assert_int_equal(gpo_side_version(0x00030007, ADENROLL_MODE_MACHINE), 7);
	assert_int_equal(gpo_side_version(0x00030007, ADENROLL_MODE_USER), 3);
}

static void test_registry_pol_path(void **state)
{
	static const struct {
		const char *fsp;
		enum adenroll_mode mode;
		const char *want; /* NULL = refused */
	} paths[] = {
		{ "\\\\example.test\\SysVol\\example.test\\Policies\\" G_A, ADENROLL_MODE_MACHINE,
		  "example.test/Policies/" G_A "/Machine/Registry.pol" },
		{ "\\\\example.test\\sysvol\\example.test\\Policies\\" G_A "\\", ADENROLL_MODE_USER,
		  "example.test/Policies/" G_A "/User/Registry.pol" },
		{ "\\\\example.test\\SysVol\\example.test\\..\\..\\etc", ADENROLL_MODE_MACHINE, NULL },
		{ "\\\\example.test\\SysVol\\.\\x", ADENROLL_MODE_MACHINE, NULL },
		{ "\\\\example.test\\SysVol\\a\\\\b", ADENROLL_MODE_MACHINE, NULL },
		{ "\\\\example.test\\SysVol\\a/../b", ADENROLL_MODE_MACHINE, NULL },
		{ "\\\\example.test\\SysVol\\C:\\x", ADENROLL_MODE_MACHINE, NULL },
		{ "\\\\example.test\\NETLOGON\\x", ADENROLL_MODE_MACHINE, NULL },
		{ "/etc/passwd", ADENROLL_MODE_MACHINE, NULL },
		{ "\\\\example.test\\SysVol\\", ADENROLL_MODE_MACHINE, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char err[256] = "";
		char *p = gpo_registry_pol_path(paths[i].fsp, paths[i].mode, err, sizeof(err));

		if (paths[i].want == NULL) {
			if (p != NULL)
				fail_msg("'%s' gave '%s'", paths[i].fsp, p);
			assert_true(err[0] != '\0');
		} else {
			if (p == NULL)
				fail_msg("'%s' refused: %s", paths[i].fsp, err);
			assert_string_equal(p, paths[i].want);
		}
		free(p);
	}
}

static void test_ou_chain(void **state)
{
	char **v = NULL;
	size_t n;

	(void)state;
	n = gpo_ou_chain("CN=CLIENT,OU=Linux,OU=Servers," DOM, DOM, &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "OU=Servers," DOM);
	assert_string_equal(v[1], "OU=Linux,OU=Servers," DOM);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	/* CN= containers are not SOMs; escaped commas are part of an RDN */
	n = gpo_ou_chain("CN=alice\\, jr,CN=Users," DOM, DOM, &v);
	assert_int_equal(n, 0);
	free(v);
	n = gpo_ou_chain("CN=x,OU=a\\,b," DOM, DOM, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "OU=a\\,b," DOM);
	free(v[0]);
	free(v);
	/* not under the domain */
	assert_int_equal(gpo_ou_chain("CN=x,DC=other", DOM, &v), 0);
}

static void test_aepolicy_bits(void **state)
{
	struct config cfg;
	struct ae_policy p;
	char buf[256];

	(void)state;
	config_defaults(&cfg);
	ae_policy_local(&p, &cfg);
	assert_int_equal(p.aepolicy, 7);
	assert_true(ae_update_templates(&p) && ae_renew(&p) && ae_retrieve_pending(&p));
	assert_false(ae_disabled(&p));
	cfg.renew_expiring = false;
	ae_policy_local(&p, &cfg);
	assert_int_equal(p.aepolicy, 5);
	assert_false(ae_renew(&p));
	/* 0x8000 switches everything off whatever else is set */
	p.aepolicy = 0x8007;
	p.origin = AE_FROM_GPO;
	snprintf(p.setter.name, sizeof(p.setter.name), "AE off");
	snprintf(p.setter.guid, sizeof(p.setter.guid), G_B);
	snprintf(p.setter.som, sizeof(p.setter.som), "OU=Linux," DOM);
	assert_true(ae_disabled(&p));
	assert_false(ae_update_templates(&p) || ae_renew(&p) || ae_retrieve_pending(&p));
	ae_disabled_text(&p, buf, sizeof(buf));
	assert_string_equal(buf, "autoenrollment is disabled by GPO AE off (" G_B ") linked at OU=Linux," DOM);
	ae_bits_text(7, buf, sizeof(buf));
	assert_string_equal(buf, "0x7 (update_templates, renew_and_remove_revoked, retrieve_pending)");
	ae_bits_text(0, buf, sizeof(buf));
	assert_string_equal(buf, "0x0 (none)");
	/* nothing readable and nothing cached: nothing is done */
	p.aepolicy = 7;
	p.origin = AE_FROM_NOTHING;
	assert_true(ae_disabled(&p));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gplink_parse),
		cmocka_unit_test_setup(test_resolve_table, setup_token),
		cmocka_unit_test(test_side_version),
		cmocka_unit_test(test_registry_pol_path),
		cmocka_unit_test(test_ou_chain),
		cmocka_unit_test(test_aepolicy_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
