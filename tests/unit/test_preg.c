/* preg.c: Registry.pol files written by Samba's PReg encoder
 * (tests/unit/gen_preg.py), merged in precedence order, and broken files. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "preg.h"

#define AE "Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment"
#define PS "Software\\Policies\\Microsoft\\Cryptography\\PolicyServers"

static uint8_t *slurp(const char *name, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	FILE *f;
	uint8_t *buf = malloc(1 << 16);

	snprintf(path, sizeof path, "%s/tests/unit/data/preg/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (set top_srcdir)", path);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static void load(const char *name, struct preg_file *pf)
{
	size_t len;
	uint8_t *buf = slurp(name, &len);
	char err[256] = "";

	if (preg_parse(buf, len, pf, err, sizeof err) != 0)
		fail_msg("%s: %s", name, err);
	free(buf);
}

static void test_enabled7(void **state)
{
	struct preg_file f;
	struct preg_view v = { 0 };
	uint32_t d = 0;
	int src = -1;
	char *s;

	(void)state;
	load("ae_enabled7.pol", &f);
	assert_int_equal(f.n_records, 3);
	assert_string_equal(f.records[0].key, AE);
	assert_string_equal(f.records[0].value, "AEPolicy");
	preg_view_apply(&v, &f, 4);
	assert_int_equal(preg_view_get_dword(&v, AE, "AEPolicy", &d, &src), 0);
	assert_int_equal(d, 7);
	assert_int_equal(src, 4);
	/* registry names are case-insensitive */
	assert_int_equal(preg_view_get_dword(&v, "software\\policies\\microsoft\\cryptography\\autoenrollment",
					     "aepolicy", &d, NULL), 0);
	assert_int_equal(preg_view_get_dword(&v, AE, "OfflineExpirationPercent", &d, NULL), 0);
	assert_int_equal(d, 10);
	/* a string is not a DWORD */
	assert_int_equal(preg_view_get_dword(&v, AE, "OfflineExpirationStoreNames", &d, NULL), -1);
	s = preg_value_string(preg_view_get(&v, AE, "OfflineExpirationStoreNames"));
	assert_non_null(s);
	assert_string_equal(s, "MY");
	free(s);
	preg_view_free(&v);
	preg_file_free(&f);
}

/* lower precedence first: the later file wins and its directives delete */
static void test_merge_and_delete(void **state)
{
	struct preg_file a, b, c;
	struct preg_view v = { 0 };
	uint32_t d = 0;
	int src = -1;

	(void)state;
	load("ae_enabled7.pol", &a);
	load("ae_disabled.pol", &b);
	load("ae_delete.pol", &c);
	preg_view_apply(&v, &a, 0);
	preg_view_apply(&v, &b, 1);
	assert_int_equal(preg_view_get_dword(&v, AE, "AEPolicy", &d, &src), 0);
	assert_int_equal(d, 0x8000);
	assert_int_equal(src, 1);
	assert_int_equal(v.n_values, 3);
	preg_view_apply(&v, &c, 2);
	/* **del.OfflineExpirationPercent and **DeleteValues took two values away */
	assert_null(preg_view_get(&v, AE, "OfflineExpirationPercent"));
	assert_null(preg_view_get(&v, AE, "OfflineExpirationStoreNames"));
	assert_int_equal(v.n_values, 1);
	/* directives are not values */
	assert_null(preg_view_get(&v, AE, "**del.OfflineExpirationPercent"));
	preg_view_free(&v);
	preg_file_free(&a);
	preg_file_free(&b);
	preg_file_free(&c);
}

static void test_delvals(void **state)
{
	struct preg_file a, b;
	struct preg_view v = { 0 };
	uint32_t d = 0;

	(void)state;
	load("ae_enabled7.pol", &a);
	load("ae_delvals.pol", &b);
	preg_view_apply(&v, &a, 0);
	preg_view_apply(&v, &b, 1);
	assert_int_equal(v.n_values, 1);
	assert_int_equal(preg_view_get_dword(&v, AE, "AEPolicy", &d, NULL), 0);
	assert_int_equal(d, 1);
	preg_view_free(&v);
	preg_file_free(&a);
	preg_file_free(&b);
}

static void test_policy_servers_and_delete_keys(void **state)
{
	struct preg_file a, b;
	struct preg_view v = { 0 };
	char **names = NULL;
	size_t n;
	char *url;
	char sub[256];

	(void)state;
	load("policy_servers.pol", &a);
	load("drop_policy_servers.pol", &b);
	preg_view_apply(&v, &a, 0);
	n = preg_view_subkeys(&v, PS, &names);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "37c9dc30f207f27f61a2f7c3aed598a6e2920b54");
	snprintf(sub, sizeof sub, "%s\\%s", PS, names[0]);
	url = preg_value_string(preg_view_get(&v, sub, "URL"));
	assert_string_equal(url, "LDAP:");
	free(url);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	/* **DeleteKeys removes the subkey with all its values, not the parent's */
	preg_view_apply(&v, &b, 1);
	assert_int_equal(preg_view_subkeys(&v, PS, &names), 0);
	free(names);
	assert_non_null(preg_view_get(&v, PS, "Flags"));
	preg_view_free(&v);
	preg_file_free(&a);
	preg_file_free(&b);
}

static void test_empty_file(void **state)
{
	struct preg_file f;

	(void)state;
	load("empty.pol", &f);
	assert_int_equal(f.n_records, 0);
	preg_file_free(&f);
}

struct bad_case {
	const char *name;
	const uint8_t *buf;
	size_t len;
	const char *err_contains;
};

static const uint8_t hdr_only_bad_sig[] = { 'P', 'R', 'e', 'x', 1, 0, 0, 0 };
static const uint8_t bad_version[] = { 'P', 'R', 'e', 'g', 2, 0, 0, 0 };
static const uint8_t no_bracket[] = { 'P', 'R', 'e', 'g', 1, 0, 0, 0, 'x', 0 };
/* [k;v;type;size=0xffffffff;... */
static const uint8_t huge_size[] = {
	'P', 'R', 'e', 'g', 1, 0, 0, 0, '[', 0, 'k', 0, 0, 0, ';', 0, 'v', 0, 0, 0, ';', 0,
	4, 0, 0, 0, ';', 0, 0xff, 0xff, 0xff, 0xff, ';', 0, 1, 2, 3, 4, ']', 0,
};
/* unterminated key */
static const uint8_t open_name[] = { 'P', 'R', 'e', 'g', 1, 0, 0, 0, '[', 0, 'k', 0, 'k', 0 };
/* lone low surrogate in the key */
static const uint8_t bad_utf16[] = {
	'P', 'R', 'e', 'g', 1, 0, 0, 0, '[', 0, 0x00, 0xdc, 0, 0, ';', 0, 0, 0, ';', 0,
	4, 0, 0, 0, ';', 0, 0, 0, 0, 0, ';', 0, ']', 0,
};
/* empty key name */
static const uint8_t empty_key[] = {
	'P', 'R', 'e', 'g', 1, 0, 0, 0, '[', 0, 0, 0, ';', 0, 0, 0, ';', 0,
	4, 0, 0, 0, ';', 0, 0, 0, 0, 0, ';', 0, ']', 0,
};

static void test_bad_files(void **state)
{
	static const struct bad_case cases[] = {
		{ "short", hdr_only_bad_sig, 4, "too few" },
		{ "signature", hdr_only_bad_sig, sizeof hdr_only_bad_sig, "no PReg signature" },
		{ "version", bad_version, sizeof bad_version, "version 2" },
		{ "no bracket", no_bracket, sizeof no_bracket, "expected '['" },
		{ "huge size", huge_size, sizeof huge_size, "runs past the end" },
		{ "open name", open_name, sizeof open_name, "runs past the end" },
		{ "bad utf16", bad_utf16, sizeof bad_utf16, "not valid UTF-16" },
		{ "empty key", empty_key, sizeof empty_key, "empty key" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct preg_file f;
		char err[256] = "";

		if (preg_parse(cases[i].buf, cases[i].len, &f, err, sizeof err) != -1)
			fail_msg("%s: parsed", cases[i].name);
		if (!strstr(err, cases[i].err_contains))
			fail_msg("%s: error '%s' lacks '%s'", cases[i].name, err, cases[i].err_contains);
		assert_int_equal(f.n_records, 0);
		assert_null(f.records);
	}
	/* a real file cut short */
	{
		size_t len;
		uint8_t *buf = slurp("truncated.pol", &len);
		struct preg_file f;
		char err[256] = "";

		assert_int_equal(preg_parse(buf, len, &f, err, sizeof err), -1);
		assert_non_null(strstr(err, "offset"));
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enabled7),
		cmocka_unit_test(test_merge_and_delete),
		cmocka_unit_test(test_delvals),
		cmocka_unit_test(test_policy_servers_and_delete_keys),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
