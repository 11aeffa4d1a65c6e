/* SIDs, the security descriptor parser and the Enroll/AutoEnroll check
 * (MS-DTYP 2.4.2, 2.4.6; MS-CRTD 2.5).  Descriptors are written as SDDL and
 * converted to the binary form LDAP returns; every parse runs on an
 * exact-size heap copy so the sanitizers see any read past the end. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sd.h"
#include "sddl.h"
#include "sid.h"

#define DOM SDDL_TEST_DOMAIN
#define ENROLL "0e10c968-78fb-11d2-90d4-00c04f79dc55"
#define AUTOENROLL "a05b8cc2-17bc-4802-a710-e7c15ab866a2"
#define OTHER_GUID "bf9679c0-0de6-11d0-a285-00aa003049e2"

/* The real WS2016 default ACLs (tests/samples/templates/ws2016-adcs-install-livediff-excerpt.txt). */
#define SDDL_MACHINE "O:" DOM "-519G:" DOM "-519D:PAI(A;;LCRPLORC;;;AU)" \
	"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;" DOM "-519)" \
	"(OA;;RPWPCR;" ENROLL ";;DA)(OA;;RPWPCR;" ENROLL ";;DC)(OA;;RPWPCR;" ENROLL ";;" DOM "-519)"
#define SDDL_DOMAIN_CONTROLLER "O:" DOM "-519G:" DOM "-519D:PAI(A;;LCRPLORC;;;AU)" \
	"(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;" DOM "-519)" \
	"(OA;;RPWPCR;" ENROLL ";;ED)(OA;;RPCR;" ENROLL ";;" DOM "-498)(OA;;RPWPCR;" ENROLL ";;DA)" \
	"(OA;;RPWPCR;" ENROLL ";;DD)(OA;;RPWPCR;" ENROLL ";;" DOM "-519)"

/* ------------------------------------------------------------------ helpers */

static uint8_t *sd_bytes(const char *sddl, size_t *len)
{
	uint8_t tmp[8192];
	size_t n = sddl_to_sd(sddl, tmp, sizeof(tmp));
	uint8_t *copy;

	if (n == 0)
		fail_msg("test SDDL not understood: %s", sddl);
	copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, tmp, n);
	*len = n;
	return copy;
}

/* Parses an exact-size copy of buf[0..len). */
static int parse_copy(const uint8_t *buf, size_t len, struct sd **sd, char *err, size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	ret = sd_parse(copy, len, sd, err, errlen);
	free(copy);
	return ret;
}

static size_t token_of(const char *const *sids, struct sid *token)
{
	size_t n = 0;

	for (; sids[n] != NULL; n++)
		assert_int_equal(sddl_sid(sids[n], strlen(sids[n]), &token[n]), 0);
	return n;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* ------------------------------------------------------------------ SIDs */

static void test_sid_string_roundtrip(void **state)
{
	static const char *const good[] = {
		"S-1-1-0", "S-1-5-11", "S-1-5-21-1047456448-2337630968-2720937775-515",
		"S-1-5-32-544", "S-1-0", "S-1-5-21-4294967295-0-1",
		"S-1-0x123456789ABC-1",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
	};
	char out[SID_STRING_MAX];
	struct sid sid;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(sid_from_string(good[i], &sid), 0);
		sid_to_string(&sid, out, sizeof(out));
		assert_string_equal(out, good[i]);
	}
}

static void test_sid_string_rejects(void **state)
{
	static const char *const bad[] = {
		"", "S", "S-", "S-1", "S-1-", "S-2-5-11", "S-1-5-", "S-1-5--1", "S-1-5-x",
		"S-1-5-11 ", " S-1-5-11", "S-1-+5-11", "S-1-5-+11", "S-1-5-4294967296",
		"S-1-281474976710656", "X-1-5", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
		"S-1-0x", "S-1-5-0x10",
	};
	struct sid sid;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sid_from_string(bad[i], &sid) == 0)
			fail_msg("sid_from_string accepted \"%s\"", bad[i]);
}

static void test_sid_bytes(void **state)
{
	/* S-1-5-21-1-2-3-515 */
	static const uint8_t good[] = { 1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0,
					2, 0, 0, 0, 3, 0, 0, 0, 0x03, 0x02, 0, 0, 0xee };
	uint8_t big[8 + 4 * 16] = { 1, 16, 0, 0, 0, 0, 0, 5 };
	struct sid sid;
	size_t used = 0;
	char out[SID_STRING_MAX];

	(void)state;
	assert_int_equal(sid_from_bytes(good, sizeof(good), &sid, &used), 0);
	assert_int_equal(used, 28);
	sid_to_string(&sid, out, sizeof(out));
	assert_string_equal(out, "S-1-5-21-1-2-3-515");
	assert_string_equal(sid_wellknown_name(&sid), "Domain Computers");
	/* every shorter prefix is truncated */
	for (size_t n = 0; n < 28; n++)
		assert_int_equal(sid_from_bytes(good, n, &sid, &used), -1);
	/* 16 sub-authorities exceed MS-DTYP's 15 even when the bytes are there */
	assert_int_equal(sid_from_bytes(big, sizeof(big), &sid, &used), -1);
	big[1] = 15;
	assert_int_equal(sid_from_bytes(big, sizeof(big), &sid, &used), 0);
	assert_int_equal(used, 68);
	big[0] = 2;
	assert_int_equal(sid_from_bytes(big, sizeof(big), &sid, &used), -1);
}

static void test_sid_wellknown(void **state)
{
	static const struct {
		const char *sid, *name;
	} cases[] = {
		{ "S-1-1-0", "Everyone" },
		{ "S-1-5-11", "Authenticated Users" },
		{ "S-1-5-2", "Network" },
		{ "S-1-5-15", "This Organization" },
		{ "S-1-5-18", "SYSTEM" },
		{ "S-1-5-9", "Enterprise Domain Controllers" },
		{ DOM "-512", "Domain Admins" },
		{ DOM "-513", "Domain Users" },
		{ DOM "-515", "Domain Computers" },
		{ DOM "-516", "Domain Controllers" },
		{ DOM "-517", "Cert Publishers" },
		{ DOM "-519", "Enterprise Admins" },
		{ DOM "-498", "Enterprise Read-only Domain Controllers" },
		{ DOM "-1109", NULL },
		{ "S-1-5-21-1-2-515", NULL },      /* not domain-SID shaped */
		{ "S-1-5-32-515", NULL },
		{ "S-1-5-11-1", NULL },
		{ "S-1-2-0", NULL },
	};
	struct sid sid;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got;

		assert_int_equal(sid_from_string(cases[i].sid, &sid), 0);
		got = sid_wellknown_name(&sid);
		if (cases[i].name == NULL) {
			if (got != NULL)
				fail_msg("%s: expected no name, got %s", cases[i].sid, got);
		} else {
			if (got == NULL || strcmp(got, cases[i].name) != 0)
				fail_msg("%s: expected %s, got %s", cases[i].sid, cases[i].name,
					 got ? got : "(null)");
		}
	}
}

/* ------------------------------------------------------------------ access check table */

struct access_case {
	const char *name;
	const char *sddl;
	const char *token[6];
	enum sd_right right;
	bool granted;
	int ace_index;           /* 0-based, -1: none */
	bool by_deny;
	const char *reason_has;  /* substring of the verdict reason */
};

static const struct access_case access_cases[] = {
	{ "object ACE grants Enroll", "D:(OA;;RPWPCR;" ENROLL ";;DC)",
	  { "DC", "AU" }, SD_RIGHT_ENROLL, true, 0, false,
	  "Enroll granted by ACE #1 (allow object ACE Enroll for " DOM "-515 (Domain Computers))" },
	{ "Enroll ACE does not grant AutoEnroll", "D:(OA;;RPWPCR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_AUTOENROLL, false, -1, false,
	  "no ACE grants AutoEnroll to any of the account's 1 SIDs (1 ACEs checked)" },
	{ "RPCR mask grants", "D:(OA;;RPCR;" AUTOENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_AUTOENROLL, true, 0, false, "AutoEnroll granted by ACE #1" },
	{ "SID not in token", "D:(OA;;RPWPCR;" ENROLL ";;DU)",
	  { "DC", "AU", "WD" }, SD_RIGHT_ENROLL, false, -1, false, "no ACE grants Enroll" },
	{ "deny before allow", "D:(OD;;CR;" AUTOENROLL ";;DC)(OA;;CR;" AUTOENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_AUTOENROLL, false, 0, true,
	  "AutoEnroll denied by ACE #1 (deny object ACE AutoEnroll for " DOM "-515 (Domain Computers))" },
	{ "allow before deny: first match wins", "D:(OA;;CR;" AUTOENROLL ";;AU)(OD;;CR;" AUTOENROLL ";;DC)",
	  { "DC", "AU" }, SD_RIGHT_AUTOENROLL, true, 0, false, "ACE #1" },
	{ "deny for another SID is ignored", "D:(OD;;CR;" ENROLL ";;DU)(OA;;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, true, 1, false, "granted by ACE #2" },
	{ "deny of the other right is ignored", "D:(OD;;CR;" AUTOENROLL ";;DC)(OA;;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, true, 1, false, "granted by ACE #2" },
	{ "inherit-only allow is ignored", "D:(OA;CIIO;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, false, -1, false, "no ACE grants Enroll" },
	{ "inherit-only deny is ignored", "D:(OD;IO;CR;" ENROLL ";;DC)(OA;;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, true, 1, false, "granted by ACE #2" },
	{ "inherited (not inherit-only) ACE applies", "D:(OA;ID;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, true, 0, false, "granted by ACE #1" },
	{ "object ACE for another extended right", "D:(OA;;CR;" OTHER_GUID ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, false, -1, false, "no ACE grants Enroll" },
	{ "object ACE without ObjectType grants every extended right", "D:(OA;;CR;;;DC)",
	  { "DC" }, SD_RIGHT_AUTOENROLL, true, 0, false,
	  "AutoEnroll granted by ACE #1 (allow object ACE all extended rights for" },
	{ "object deny without ObjectType denies", "D:(OD;;CR;;;DC)(OA;;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, false, 0, true, "Enroll denied by ACE #1" },
	{ "object ACE with only InheritedObjectType is not narrowed", "D:(OA;;CR;;" OTHER_GUID ";DC)",
	  { "DC" }, SD_RIGHT_ENROLL, true, 0, false, "granted by ACE #1" },
	{ "plain allow ACE with control access", "D:(A;;CR;;;DC)",
	  { "DC" }, SD_RIGHT_AUTOENROLL, true, 0, false,
	  "AutoEnroll granted by ACE #1 (allow ACE all extended rights for " DOM "-515 (Domain Computers))" },
	{ "plain deny ACE with control access", "D:(D;;CR;;;WD)(A;;CR;;;DC)",
	  { "DC", "WD" }, SD_RIGHT_ENROLL, false, 0, true, "Enroll denied by ACE #1 (deny ACE all extended rights for S-1-1-0 (Everyone))" },
	{ "GENERIC_ALL implies control access", "D:(A;;GA;;;DA)",
	  { "DA" }, SD_RIGHT_AUTOENROLL, true, 0, false, "(allow ACE GENERIC_ALL for " DOM "-512 (Domain Admins))" },
	{ "full control mask includes control access", "D:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;DA)",
	  { "DA" }, SD_RIGHT_ENROLL, true, 0, false, "granted by ACE #1" },
	{ "read/write without CR grants nothing", "D:(A;;LCRPLORC;;;AU)(OA;;RPWP;" ENROLL ";;DC)(A;;0x0fffeff;;;DC)",
	  { "DC", "AU" }, SD_RIGHT_ENROLL, false, -1, false, "no ACE grants Enroll" },
	{ "unknown and audit ACE types are skipped but counted",
	  "D:(0x11;;CR;;;DC)(AU;SA;CR;;;DC)(0x07;;CR;;;DC)(0x09;;CR;;;DC)(OA;;CR;" ENROLL ";;DC)",
	  { "DC" }, SD_RIGHT_ENROLL, true, 4, false, "granted by ACE #5" },
	{ "empty DACL grants nothing", "D:P",
	  { "DC", "WD", "AU" }, SD_RIGHT_ENROLL, false, -1, false, "(0 ACEs checked)" },
	{ "NULL DACL allows everything", "O:DAG:DAD:NO_ACCESS_CONTROL",
	  { "DC" }, SD_RIGHT_AUTOENROLL, true, -1, false, "NULL DACL" },
	{ "real Machine ACL: computers may Enroll", SDDL_MACHINE,
	  { DOM "-1105", "DC", "AU", "WD", "NU" }, SD_RIGHT_ENROLL, true, 4, false,
	  "Enroll granted by ACE #5 (allow object ACE Enroll for " DOM "-515 (Domain Computers))" },
	{ "real Machine ACL: no AutoEnroll by default", SDDL_MACHINE,
	  { DOM "-1105", "DC", "AU", "WD", "NU" }, SD_RIGHT_AUTOENROLL, false, -1, false,
	  "no ACE grants AutoEnroll to any of the account's 5 SIDs (6 ACEs checked)" },
	{ "real Machine ACL: admin full control lacks CR", SDDL_MACHINE,
	  { DOM "-500", "DA", "AU" }, SD_RIGHT_AUTOENROLL, false, -1, false, "no ACE grants AutoEnroll" },
	{ "real DomainController ACL: RODC enrolls with RPCR", SDDL_DOMAIN_CONTROLLER,
	  { DOM "-1200", "RO", "AU" }, SD_RIGHT_ENROLL, true, 4, false,
	  "Enroll granted by ACE #5 (allow object ACE Enroll for " DOM "-498 (Enterprise Read-only Domain Controllers))" },
};

static void run_access_case(void **state)
{
	const struct access_case *c = *state;
	struct sid token[8];
	size_t n_token = token_of(c->token, token);
	struct sd_verdict v;
	struct sd *sd = NULL;
	char err[256] = "";
	size_t len;
	uint8_t *buf = sd_bytes(c->sddl, &len);

	if (parse_copy(buf, len, &sd, err, sizeof(err)) != 0)
		fail_msg("%s: parse failed: %s", c->name, err);
	sd_check_right(sd, token, n_token, c->right, &v);
	if (v.granted != c->granted || v.ace_index != c->ace_index || v.by_deny != c->by_deny)
		fail_msg("%s: got granted=%d ace=%d deny=%d (%s)", c->name, v.granted, v.ace_index,
			 v.by_deny, v.reason);
	if (strstr(v.reason, c->reason_has) == NULL)
		fail_msg("%s: reason \"%s\" lacks \"%s\"", c->name, v.reason, c->reason_has);
	if (c->ace_index >= 0) {
		char s[SID_STRING_MAX];

		sid_to_string(&v.sid, s, sizeof(s));
		assert_non_null(strstr(v.reason, s));
	}
	sd_free(sd);
	free(buf);
}

static void test_null_dacl_forms(void **state)
{
	uint8_t sd_hdr[20] = { 1, 0, 0x04, 0x80 }; /* DACL present, offset 0 */
	struct sd *sd = NULL;
	struct sd_verdict v;
	struct sid token[1];
	char err[128];

	(void)state;
	assert_int_equal(sid_from_string("S-1-5-11", &token[0]), 0);
	assert_int_equal(parse_copy(sd_hdr, sizeof(sd_hdr), &sd, err, sizeof(err)), 0);
	assert_false(sd_has_dacl(sd));
	sd_check_right(sd, token, 1, SD_RIGHT_ENROLL, &v);
	assert_true(v.granted);
	assert_int_equal(v.ace_index, -1);
	sd_free(sd);
	/* DACL not present although an offset is set: still NULL DACL */
	sd_hdr[2] = 0;
	put32(sd_hdr + 16, 4000);
	assert_int_equal(parse_copy(sd_hdr, sizeof(sd_hdr), &sd, err, sizeof(err)), 0);
	sd_check_right(sd, token, 1, SD_RIGHT_AUTOENROLL, &v);
	assert_true(v.granted);
	sd_free(sd);
	/* a missing descriptor grants nothing */
	sd_check_right(NULL, token, 1, SD_RIGHT_AUTOENROLL, &v);
	assert_false(v.granted);
	sd_free(NULL);
}

/* ------------------------------------------------------------------ malformed input */

static void test_truncated_everywhere(void **state)
{
	static const char *const sddls[] = {
		SDDL_MACHINE, SDDL_DOMAIN_CONTROLLER,
		"O:DAG:DAD:(0x11;;CR;;;DC)(OA;;CR;;" OTHER_GUID ";DC)(D;;CR;;;WD)",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(sddls) / sizeof(sddls[0]); k++) {
		size_t len;
		uint8_t *buf = sd_bytes(sddls[k], &len);
		struct sd *sd = NULL;
		char err[256];

		assert_int_equal(parse_copy(buf, len, &sd, err, sizeof(err)), 0);
		sd_free(sd);
		for (size_t n = 0; n < len; n++) {
			err[0] = '\0';
			sd = (struct sd *)&err; /* must be reset to NULL on failure */
			if (parse_copy(buf, n, &sd, err, sizeof(err)) == 0)
				fail_msg("SD %zu truncated to %zu of %zu bytes was accepted", k, n, len);
			assert_null(sd);
			assert_true(err[0] != '\0');
		}
		free(buf);
	}
}

/* Offsets of the parts sddl_to_sd() lays out: header, DACL at 20, owner, group. */
#define DACL_OFF 20

struct corrupt_case {
	const char *name;
	const char *sddl;
	size_t at;        /* byte offset to patch */
	int width;        /* 1, 2 or 4 */
	uint32_t value;
	const char *err_has;
	size_t at2;       /* optional second patch (width2 0: none) */
	int width2;
	uint32_t value2;
};

static const struct corrupt_case corrupt_cases[] = {
	{ "SD revision", SDDL_MACHINE, 0, 1, 2, "revision 2", 0, 0, 0 },
	{ "not self-relative", SDDL_MACHINE, 2, 2, 0x0004, "not self-relative", 0, 0, 0 },
	{ "owner offset past end", SDDL_MACHINE, 4, 4, 0xfffffff0u, "owner offset", 0, 0, 0 },
	{ "owner offset inside header", SDDL_MACHINE, 4, 4, 8, "owner offset 8", 0, 0, 0 },
	{ "group offset at end", SDDL_MACHINE, 8, 4, 0xffffffffu, "group offset", 0, 0, 0 },
	{ "DACL offset past end", SDDL_MACHINE, 16, 4, 0x7fffffff, "DACL offset", 0, 0, 0 },
	{ "SACL present with bad offset", SDDL_MACHINE, 2, 2, 0x8014, "SACL offset 65535", 12, 4, 0xffff },
	{ "SACL offset ignored when not present", SDDL_MACHINE, 12, 4, 0xffff, NULL, 0, 0, 0 },
	{ "ACL revision", SDDL_MACHINE, DACL_OFF, 1, 3, "unknown revision 3", 0, 0, 0 },
	{ "AclSize larger than the descriptor", SDDL_MACHINE, DACL_OFF + 2, 2, 0xfff0, "DACL size", 0, 0, 0 },
	{ "AclSize smaller than its header", SDDL_MACHINE, DACL_OFF + 2, 2, 4, "DACL size 4", 0, 0, 0 },
	{ "AceCount impossible for AclSize", SDDL_MACHINE, DACL_OFF + 4, 2, 0xffff, "claims 65535 ACEs", 0, 0, 0 },
	{ "AceCount larger than present", "O:DAG:DAD:(A;;CR;;;DC)(A;;CR;;;DU)", DACL_OFF + 4, 2, 3,
	  "ACE #3 starts past the end", 0, 0, 0 },
	{ "AceSize larger than the ACL", SDDL_MACHINE, DACL_OFF + 8 + 2, 2, 0x4000, "ACE #1 has AceSize 16384", 0, 0, 0 },
	{ "AceSize below the ACE header", SDDL_MACHINE, DACL_OFF + 8 + 2, 2, 3, "ACE #1 has AceSize 3", 0, 0, 0 },
	{ "AceSize too small for the mask", "D:(A;;CR;;;WD)(A;;CR;;;DC)", DACL_OFF + 8 + 2, 2, 4,
	  "ACE #1: AceSize 4 is too small", 0, 0, 0 },
	{ "AceSize cuts the SID", "D:(A;;CR;;;WD)(0x11;;CR;;;DC)", DACL_OFF + 8 + 2, 2, 12,
	  "ACE #1: trustee SID is truncated", 0, 0, 0 },
	{ "object ACE claims a GUID it lacks", "D:(OA;;CR;;;WD)", DACL_OFF + 8 + 8, 1, 3,
	  "ACE #1: AceSize 24 is too small", 0, 0, 0 },
	{ "ACE SID with 16 sub-authorities", "D:(A;;CR;;;S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15)",
	  DACL_OFF + 8 + 8 + 1, 1, 16, "ACE #1: trustee SID is truncated or malformed", 0, 0, 0 },
	{ "owner SID with 16 sub-authorities", "O:S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15D:",
	  DACL_OFF + 8 + 1, 1, 16, "owner SID", 0, 0, 0 },
};

static void patch(uint8_t *buf, size_t len, size_t at, int width, uint32_t value)
{
	assert_true(at + (size_t)width <= len);
	if (width == 1)
		buf[at] = (uint8_t)value;
	else if (width == 2)
		put16(buf + at, value);
	else if (width == 4)
		put32(buf + at, value);
}

static void run_corrupt_case(void **state)
{
	const struct corrupt_case *c = *state;
	size_t len;
	uint8_t *buf = sd_bytes(c->sddl, &len);
	struct sd *sd = NULL;
	char err[256] = "";

	/* the unpatched descriptor is fine */
	assert_int_equal(parse_copy(buf, len, &sd, err, sizeof(err)), 0);
	sd_free(sd);
	sd = NULL;
	patch(buf, len, c->at, c->width, c->value);
	patch(buf, len, c->at2, c->width2, c->value2);
	if (c->err_has == NULL) {
		/* a harmless patch: still parses */
		assert_int_equal(parse_copy(buf, len, &sd, err, sizeof(err)), 0);
		sd_free(sd);
		free(buf);
		return;
	}
	if (parse_copy(buf, len, &sd, err, sizeof(err)) == 0)
		fail_msg("%s: corrupted descriptor accepted", c->name);
	assert_null(sd);
	if (strstr(err, c->err_has) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, err, c->err_has);
	free(buf);
}

static void test_sd_parse_edges(void **state)
{
	size_t len;
	uint8_t *buf;
	struct sd *sd = NULL;
	char err[256];

	(void)state;
	/* NULL and tiny buffers */
	assert_int_equal(sd_parse(NULL, 0, &sd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "shorter than its 20-byte header"));
	assert_int_equal(sd_parse(NULL, 0, &sd, NULL, 0), -1);
	/* an AclSize larger than its ACEs (slack at the end) is fine */
	buf = sd_bytes("D:(OA;;CR;" ENROLL ";;DC)", &len);
	{
		uint8_t big[256];
		struct sid token;
		struct sd_verdict v;

		memcpy(big, buf, len);
		memset(big + len, 0xAA, 40);
		put16(big + DACL_OFF + 2, (unsigned)(len - DACL_OFF + 40));
		assert_int_equal(parse_copy(big, len + 40, &sd, err, sizeof(err)), 0);
		assert_int_equal(sd_ace_count(sd), 1);
		assert_true(sd_has_dacl(sd));
		assert_int_equal(sddl_sid("DC", 2, &token), 0);
		sd_check_right(sd, &token, 1, SD_RIGHT_ENROLL, &v);
		assert_true(v.granted);
		sd_free(sd);
	}
	free(buf);
	/* a 15-sub-authority trustee is the maximum and parses */
	buf = sd_bytes("D:(A;;CR;;;S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15)", &len);
	assert_int_equal(parse_copy(buf, len, &sd, err, sizeof(err)), 0);
	sd_free(sd);
	free(buf);
	assert_string_equal(sd_right_name(SD_RIGHT_ENROLL), "Enroll");
	assert_string_equal(sd_right_name(SD_RIGHT_AUTOENROLL), "AutoEnroll");
}

/* The GUID wire layout is mixed-endian: check the helper and the parser agree
 * with the bytes docs/protocol.md 4.2 spells out. */
static void test_guid_wire_layout(void **state)
{
	static const uint8_t want[16] = { 0x68, 0xc9, 0x10, 0x0e, 0xfb, 0x78, 0xd2, 0x11,
					  0x90, 0xd4, 0x00, 0xc0, 0x4f, 0x79, 0xdc, 0x55 };
	uint8_t got[16];
	/* hand-built: header, ACL, one object ACE for S-1-5-11 with the literal bytes */
	static const uint8_t au_bytes[12] = { 1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0 }; /* S-1-5-11 */
	uint8_t sd[20 + 8 + 4 + 4 + 4 + 16 + 12] = { 1, 0, 0x04, 0x80 };
	struct sd *parsed = NULL;
	struct sd_verdict v;
	struct sid au;
	char err[128];
	uint8_t *ace = sd + 28;

	(void)state;
	assert_int_equal(sddl_guid(ENROLL, strlen(ENROLL), got), 0);
	assert_memory_equal(got, want, 16);
	put32(sd + 16, 20);
	sd[20] = 4;
	put16(sd + 22, 8 + 4 + 4 + 4 + 16 + 12);
	put16(sd + 24, 1);
	ace[0] = 0x05;
	put16(ace + 2, 4 + 4 + 4 + 16 + 12);
	put32(ace + 4, 0x100);
	put32(ace + 8, 1);
	memcpy(ace + 12, want, 16);
	assert_int_equal(sid_from_string("S-1-5-11", &au), 0);
	memcpy(ace + 28, au_bytes, sizeof(au_bytes));
	assert_int_equal(parse_copy(sd, sizeof(sd), &parsed, err, sizeof(err)), 0);
	sd_check_right(parsed, &au, 1, SD_RIGHT_ENROLL, &v);
	assert_true(v.granted);
	sd_check_right(parsed, &au, 1, SD_RIGHT_AUTOENROLL, &v);
	assert_false(v.granted);
	sd_free(parsed);
}

int main(void)
{
	struct CMUnitTest tests[8 + sizeof(access_cases) / sizeof(access_cases[0]) +
				sizeof(corrupt_cases) / sizeof(corrupt_cases[0])];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sid_string_roundtrip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sid_string_rejects);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sid_bytes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sid_wellknown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_null_dacl_forms);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_truncated_everywhere);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sd_parse_edges);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_guid_wire_layout);
	for (size_t i = 0; i < sizeof(access_cases) / sizeof(access_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ access_cases[i].name, run_access_case, NULL, NULL,
						  (void *)&access_cases[i] };
	for (size_t i = 0; i < sizeof(corrupt_cases) / sizeof(corrupt_cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ corrupt_cases[i].name, run_corrupt_case, NULL, NULL,
						  (void *)&corrupt_cases[i] };
	return _cmocka_run_group_tests("sid_sd", tests, n, NULL, NULL);
}
