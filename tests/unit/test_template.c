/* Decoding of template LDAP values (MS-CRTD section 2), checked against the
 * real default-template values in $SAMPLES/templates. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"

/* ------------------------------------------------------------------ helpers */

static char *read_sample(const char *rel)
{
	const char *dir = getenv("SAMPLES");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	if (dir == NULL)
		dir = "tests/samples";
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (set SAMPLES to tests/samples)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t unhex(const char *s, size_t n, uint8_t *out, size_t outlen)
{
	size_t k = 0;

	assert_true(n % 2 == 0);
	for (size_t i = 0; i + 1 < n; i += 2) {
		assert_true(k < outlen);
		assert_true(hexval(s[i]) >= 0 && hexval(s[i + 1]) >= 0);
		out[k++] = (uint8_t)(hexval(s[i]) << 4 | hexval(s[i + 1]));
	}
	return k;
}

static size_t unbase64(const char *s, uint8_t *out, size_t outlen)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t k = 0;

	for (; *s && *s != '='; s++) {
		const char *p = strchr(alphabet, *s);

		assert_non_null(p);
		acc = acc << 6 | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(k < outlen);
			out[k++] = (uint8_t)(acc >> bits);
		}
	}
	return k;
}

/* The text after `"key": ` inside [from, to), or NULL. */
static const char *json_value(const char *from, const char *to, const char *key)
{
	char pat[128];
	size_t n;

	n = (size_t)snprintf(pat, sizeof(pat), "\"%s\": ", key);
	for (const char *p = from; p + n <= to; p++)
		if (memcmp(p, pat, n) == 0)
			return p + n;
	return NULL;
}

/* ------------------------------------------------------------------ periods */

/* Every pKIExpirationPeriod / pKIOverlapPeriod of the 33 default templates
 * (MS-CRTD <42>) decodes to the seconds the sample file lists. */
static void test_period_default_templates(void **state)
{
	char *json = read_sample("templates/mscrtd-42-default-templates-ws2008plus.json");
	const char *end = json + strlen(json);
	const char *p = json;
	size_t templates = 0;

	(void)state;
	while ((p = strstr(p, "\"cn\": \"")) != NULL) {
		const char *next = strstr(p + 1, "\"cn\": \"");
		const char *stop = next ? next : end;
		char cn[64] = "";
		static const char *const attrs[] = { "pKIExpirationPeriod", "pKIOverlapPeriod" };

		sscanf(p + 7, "%63[^\"]", cn);
		for (size_t a = 0; a < 2; a++) {
			char key[64];
			const char *hex = json_value(p, stop, attrs[a]);
			const char *want;
			uint8_t bytes[16];
			size_t n;
			int64_t secs = 0;
			char err[128];

			snprintf(key, sizeof(key), "%s_seconds", attrs[a]);
			want = json_value(p, stop, key);
			if (hex == NULL || want == NULL)
				fail_msg("%s: %s or its decoded value missing in the sample", cn, attrs[a]);
			n = unhex(hex + 1, (size_t)(strchr(hex + 1, '"') - hex - 1), bytes, sizeof(bytes));
			if (template_parse_period(bytes, n, &secs, err, sizeof(err)) != 0)
				fail_msg("%s: %s rejected: %s", cn, attrs[a], err);
			if (secs != strtoll(want, NULL, 10))
				fail_msg("%s: %s decoded to %lld, sample says %s", cn, attrs[a],
					 (long long)secs, want);
		}
		templates++;
		p = stop;
	}
	assert_int_equal(templates, 33);
	free(json);
}

static void test_period_ldif_values(void **state)
{
	static const struct {
		const char *b64;
		int64_t seconds;
		const char *text;
	} cases[] = {
		{ "AEA5hy7h/v8=", 31536000, "1 year" },     /* User, Machine ... */
		{ "AICmCv/e//8=", 3628800, "6 weeks" },     /* every overlap but three */
		{ "AIByDl3C/f8=", 63072000, "2 years" },    /* WebServer (HTB LDIF) */
		{ "AEAepOhl+v8=", 157680000, "5 years" },   /* CA, SubCA */
		{ "AMAb13/6//8=", 604800, "1 week" },       /* CAExchange */
		{ "AECW1Tb///8=", 86400, "1 day" },         /* CAExchange overlap */
		{ "AIA3rv/0//8=", 1209600, "2 weeks" },     /* OCSPResponseSigning */
		{ "AIAsq23+//8=", 172800, "2 days" },       /* OCSPResponseSigning overlap */
		{ "AERfmv7///8=", 600, "10 minutes" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[16];
		size_t n = unbase64(cases[i].b64, b, sizeof(b));
		int64_t secs = 0;
		char err[128], text[64];

		if (template_parse_period(b, n, &secs, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].b64, err);
		if (secs != cases[i].seconds)
			fail_msg("%s: got %lld, want %lld", cases[i].b64, (long long)secs,
				 (long long)cases[i].seconds);
		template_format_period(secs, text, sizeof(text));
		assert_string_equal(text, cases[i].text);
	}
}

static void test_period_rejects(void **state)
{
	static const struct {
		const char *hex;
		const char *err_has;
	} cases[] = {
		{ "", "0 bytes, expected 8" },
		{ "004039872ee1fe", "7 bytes, expected 8" },
		{ "004039872ee1feff00", "9 bytes, expected 8" },
		{ "0000000000000000", "zero" },
		{ "00c0c678d11e0100", "positive" },           /* +1 year */
		{ "0100000000000000", "positive" },
		{ "ffffffffffffffff", "shorter than one second" }, /* -100 ns */
		{ "8169670000000000", "positive" },
		{ "0000000000000080", "longer than 1000 years" },  /* INT64_MIN */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[16];
		size_t n = unhex(cases[i].hex, strlen(cases[i].hex), b, sizeof(b));
		int64_t secs = 42;
		char err[128] = "";
		int ret = template_parse_period(n ? b : (const uint8_t *)"", n, &secs, err, sizeof(err));

		if (ret == 0)
			fail_msg("%s: accepted as %lld seconds", cases[i].hex, (long long)secs);
		assert_int_equal(secs, 42);
		if (strstr(err, cases[i].err_has) == NULL)
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].hex, err, cases[i].err_has);
	}
	/* 2 years and 1234.5 microseconds: the fraction of a second is dropped */
	{
		uint8_t b[8];
		int64_t secs = 0;

		assert_int_equal(unhex("c74f720e5dc2fdff", 16, b, sizeof(b)), 8);
		assert_int_equal(template_parse_period(b, 8, &secs, NULL, 0), 0);
		assert_int_equal(secs, 63072000);
	}
	/* the limit itself: 1000 years passes, one second more does not */
	{
		int64_t hundred_ns = -(INT64_C(1000) * 365 * 86400) * 10000000;
		uint64_t u = (uint64_t)hundred_ns;
		uint8_t b[8];
		int64_t secs;

		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(u >> (8 * i));
		assert_int_equal(template_parse_period(b, 8, &secs, NULL, 0), 0);
		assert_int_equal(secs, INT64_C(1000) * 365 * 86400);
		u -= 10000000;
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(u >> (8 * i));
		assert_int_equal(template_parse_period(b, 8, &secs, NULL, 0), -1);
	}
	assert_int_equal(template_parse_period(NULL, 8, NULL, NULL, 0), -1);
}

/* ------------------------------------------------------------------ integers */

static void test_parse_u32(void **state)
{
	static const struct {
		const char *text;
		int ok;
		uint32_t value;
	} cases[] = {
		{ "-1509949440", 1, 0xA6000000u },
		{ "-2113929216", 1, 0x82000000u },
		{ "402653184", 1, 0x18000000u },
		{ "66106", 1, 0x1023Au },
		{ "0", 1, 0 },
		{ "-0", 1, 0 },
		{ "-1", 1, 0xFFFFFFFFu },
		{ "2147483647", 1, 0x7FFFFFFFu },
		{ "-2147483648", 1, 0x80000000u },
		{ "4294967295", 1, 0xFFFFFFFFu },   /* the unsigned spelling of -1 */
		{ "007", 1, 7 },
		{ "-2147483649", 0, 0 },
		{ "4294967296", 0, 0 },
		{ "99999999999999999999999", 0, 0 },
		{ "", 0, 0 },
		{ "-", 0, 0 },
		{ "+5", 0, 0 },
		{ " 5", 0, 0 },
		{ "5 ", 0, 0 },
		{ "0x20", 0, 0 },
		{ "1e3", 0, 0 },
		{ "--1", 0, 0 },
		{ "12a", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t v = 0x5a5a5a5a;
		char err[128] = "";
		int ret = template_parse_u32(cases[i].text, strlen(cases[i].text), &v, err, sizeof(err));

		if (cases[i].ok) {
			if (ret != 0 || v != cases[i].value)
				fail_msg("\"%s\": ret %d value 0x%x (%s)", cases[i].text, ret, v, err);
		} else {
			if (ret == 0)
				fail_msg("\"%s\" accepted as 0x%x", cases[i].text, v);
			assert_true(err[0] != '\0');
			assert_int_equal(v, 0x5a5a5a5a);
		}
	}
	/* the length bounds the parse: no NUL needed, nothing read past it */
	{
		uint32_t v;
		char *exact = malloc(3);

		assert_non_null(exact);
		memcpy(exact, "-12", 3);
		assert_int_equal(template_parse_u32(exact, 3, &v, NULL, 0), 0);
		assert_int_equal(v, (uint32_t)-12);
		assert_int_equal(template_parse_u32(exact, 2, &v, NULL, 0), 0);
		assert_int_equal(v, (uint32_t)-1);
		free(exact);
	}
}

/* The signed integers of every default template, and the flag names the
 * sample decodes them to. */
static void join_decoded(const char *array, const char *stop, char *out, size_t outlen)
{
	const char *p = array;
	size_t off = 0;

	out[0] = '\0';
	assert_true(*p == '[');
	while (p < stop && *p != ']') {
		const char *q = strchr(p, '"');
		const char *e;

		if (q == NULL || q > strchr(p, ']'))
			break;
		e = strchr(q + 1, '"');
		/* drop the CT_FLAG_ prefix our formatter leaves out */
		if (strncmp(q + 1, "CT_FLAG_", 8) == 0)
			q += 8;
		off += (size_t)snprintf(out + off, outlen - off, "%s%.*s", off ? "," : "",
					(int)(e - q - 1), q + 1);
		p = e + 1;
	}
	if (off == 0)
		snprintf(out, outlen, "none");
}

static void test_default_template_integers(void **state)
{
	char *json = read_sample("templates/mscrtd-42-default-templates-ws2008plus.json");
	const char *end = json + strlen(json);
	const char *p = json;
	size_t templates = 0;

	(void)state;
	while ((p = strstr(p, "\"cn\": \"")) != NULL) {
		const char *next = strstr(p + 1, "\"cn\": \"");
		const char *stop = next ? next : end;
		const char *decoded = json_value(p, stop, "_decoded");
		static const char *const attrs[] = { "msPKI-Enrollment-Flag",
						     "msPKI-Certificate-Name-Flag" };
		char cn[64] = "";

		sscanf(p + 7, "%63[^\"]", cn);
		assert_non_null(decoded);
		for (size_t a = 0; a < 2; a++) {
			const char *num = json_value(p, decoded, attrs[a]);
			const char *names = json_value(decoded, stop, attrs[a]);
			size_t n = strspn(num, "-0123456789");
			uint32_t v;
			char got[1024], want[1024], err[128];

			assert_non_null(num);
			assert_non_null(names);
			if (template_parse_u32(num, n, &v, err, sizeof(err)) != 0)
				fail_msg("%s: %s %.*s: %s", cn, attrs[a], (int)n, num, err);
			if (a == 0)
				template_format_enrollment_flag(v, got, sizeof(got));
			else
				template_format_name_flag(v, got, sizeof(got));
			join_decoded(names, stop, want, sizeof(want));
			if (strcmp(got, want) != 0)
				fail_msg("%s: %s 0x%x formats as %s, sample decodes %s", cn, attrs[a],
					 v, got, want);
			if (a == 1) {
				const char *hex = json_value(decoded, stop, "msPKI-Certificate-Name-Flag_hex");

				assert_non_null(hex);
				assert_int_equal(v, (uint32_t)strtoul(hex + 1, NULL, 16));
			}
		}
		templates++;
		p = stop;
	}
	assert_int_equal(templates, 33);
	free(json);
}

/* ------------------------------------------------------------------ display */

static void test_format_period(void **state)
{
	static const struct {
		int64_t s;
		const char *text;
	} cases[] = {
		{ 31536000, "1 year" }, { 157680000, "5 years" }, { 3628800, "6 weeks" },
		{ 604800, "1 week" }, { 172800, "2 days" }, { 86400, "1 day" },
		{ 31622400, "366 days" }, { 7200, "2 hours" }, { 3600, "1 hour" },
		{ 600, "10 minutes" }, { 60, "1 minute" }, { 90, "90 seconds" },
		{ 1, "1 second" }, { 0, "0 seconds" }, { -5, "0 seconds" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		template_format_period(cases[i].s, out, sizeof(out));
		assert_string_equal(out, cases[i].text);
	}
	template_format_period(31536000, out, 4);
	assert_string_equal(out, "1 y");
}

static void test_format_flags(void **state)
{
	char out[512];
	char tiny[12];

	(void)state;
	template_format_enrollment_flag(0, out, sizeof(out));
	assert_string_equal(out, "none");
	template_format_enrollment_flag(0x29, out, sizeof(out));
	assert_string_equal(out, "INCLUDE_SYMMETRIC_ALGORITHMS,PUBLISH_TO_DS,AUTO_ENROLLMENT");
	template_format_enrollment_flag(0x80000020u, out, sizeof(out));
	assert_string_equal(out, "AUTO_ENROLLMENT,0x80000000");
	template_format_enrollment_flag(0x40100u, out, sizeof(out));
	assert_string_equal(out, "USER_INTERACTION_REQUIRED,SKIP_AUTO_RENEWAL");
	template_format_name_flag(0x18000000u, out, sizeof(out));
	assert_string_equal(out, "SUBJECT_ALT_REQUIRE_DNS,SUBJECT_REQUIRE_DNS_AS_CN");
	template_format_name_flag(0x10001u, out, sizeof(out));
	assert_string_equal(out, "ENROLLEE_SUPPLIES_SUBJECT,ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME");
	/* a short buffer is cut, terminated, never overrun */
	memset(tiny, 'X', sizeof(tiny));
	template_format_name_flag(0xA6000000u, tiny, sizeof(tiny) - 1);
	assert_int_equal(tiny[sizeof(tiny) - 1], 'X');
	assert_true(strlen(tiny) < sizeof(tiny) - 1);
}

/* ------------------------------------------------------------------ key algorithm */

/* msPKI-Hash-Algorithm and friends: whole field names only, up to the next backquote. */
static void test_ra_value(void **state)
{
	static const char ra[] = "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDSA_P521`msPKI-Hash-Algorithm`PZPWSTR`SHA512`"
				 "msPKI-Key-Usage`DWORD`16777215`";
	char v[32];

	(void)state;
	assert_true(template_ra_value(ra, "msPKI-Hash-Algorithm", v, sizeof(v)));
	assert_string_equal(v, "SHA512");
	assert_true(template_ra_value(ra, "msPKI-Asymmetric-Algorithm", v, sizeof(v)));
	assert_string_equal(v, "ECDSA_P521");
	assert_false(template_ra_value(ra, "Hash-Algorithm", v, sizeof(v)));
	assert_false(template_ra_value(ra, "msPKI-Symmetric-Algorithm", v, sizeof(v)));
	assert_false(template_ra_value(NULL, "msPKI-Hash-Algorithm", v, sizeof(v)));
	assert_false(template_ra_value("1.3.6.1.4.1.311.10.3.10", "msPKI-Hash-Algorithm", v, sizeof(v)));
	/* truncated to the buffer, never overrun */
	assert_true(template_ra_value("msPKI-Hash-Algorithm`PZPWSTR`SHA256", "msPKI-Hash-Algorithm", v, 4));
	assert_string_equal(v, "SHA");
}

static void test_key_alg(void **state)
{
	static const struct {
		const char *csps[4];
		const char *ra;
		enum template_key_alg want;
	} cases[] = {
		{ { NULL }, NULL, TEMPLATE_KEY_RSA },
		{ { "1,Microsoft RSA SChannel Cryptographic Provider" }, NULL, TEMPLATE_KEY_RSA },
		{ { "2,Microsoft Base Cryptographic Provider v1.0",
		    "1,Microsoft Enhanced Cryptographic Provider v1.0" }, NULL, TEMPLATE_KEY_RSA },
		{ { "2,Microsoft DH SChannel Cryptographic Provider",
		    "1,Microsoft RSA SChannel Cryptographic Provider" }, NULL, TEMPLATE_KEY_RSA },
		{ { "3,Microsoft Base DSS Cryptographic Provider",
		    "2,Microsoft Base Cryptographic Provider v1.0" }, NULL, TEMPLATE_KEY_RSA },
		{ { "1,Microsoft Software Key Storage Provider" }, NULL, TEMPLATE_KEY_RSA },
		{ { "1,Microsoft Platform Crypto Provider" }, NULL, TEMPLATE_KEY_RSA },
		{ { "Microsoft Strong Cryptographic Provider" }, NULL, TEMPLATE_KEY_RSA },
		{ { "1,Microsoft Base DSS Cryptographic Provider" }, NULL, TEMPLATE_KEY_UNSUPPORTED },
		{ { "1,Microsoft DH SChannel Cryptographic Provider",
		    "2,Microsoft Enhanced DSS and Diffie-Hellman Cryptographic Provider" }, NULL,
		  TEMPLATE_KEY_UNSUPPORTED },
		/* OCSPResponseSigning, MS-CRTD <42> */
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`RSA`msPKI-Hash-Algorithm`PZPWSTR`SHA1`"
		  "msPKI-Key-Security-Descriptor`PZPWSTR`D:(A;;FA;;;BA)(A;;FA;;;SY)`msPKI-Key-Usage`DWORD`2`",
		  TEMPLATE_KEY_RSA },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDH_P256`msPKI-Hash-Algorithm`PZPWSTR`SHA256`",
		  TEMPLATE_KEY_EC_P256 },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDSA_P256`", TEMPLATE_KEY_EC_P256 },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDSA_P384`", TEMPLATE_KEY_EC_P384 },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDH_P384", TEMPLATE_KEY_EC_P384 },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDSA_P521`", TEMPLATE_KEY_EC_P521 },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDH_P521`", TEMPLATE_KEY_EC_P521 },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`DSA`", TEMPLATE_KEY_UNSUPPORTED },
		{ { NULL }, "msPKI-Asymmetric-Algorithm`PZPWSTR`", TEMPLATE_KEY_UNSUPPORTED },
		/* the CNG setting wins over a legacy CSP list */
		{ { "1,Microsoft RSA SChannel Cryptographic Provider" },
		  "msPKI-Asymmetric-Algorithm`PZPWSTR`ECDSA_P256`", TEMPLATE_KEY_EC_P256 },
		/* v2 form: a plain OID list says nothing about the key */
		{ { "1,Microsoft RSA SChannel Cryptographic Provider" }, "1.3.6.1.4.1.311.10.3.10",
		  TEMPLATE_KEY_RSA },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strlist l = { 0 };
		enum template_key_alg got;

		for (size_t j = 0; j < 4 && cases[i].csps[j]; j++)
			strlist_add(&l, cases[i].csps[j]);
		got = template_key_alg_from(&l, cases[i].ra);
		if (got != cases[i].want)
			fail_msg("case %zu (%s / %s): got %d want %d", i,
				 cases[i].csps[0] ? cases[i].csps[0] : "-",
				 cases[i].ra ? cases[i].ra : "-", got, cases[i].want);
		strlist_free(&l);
	}
	assert_int_equal(template_key_alg_from(NULL, NULL), TEMPLATE_KEY_RSA);
}

static void test_machine_and_free(void **state)
{
	struct template t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.flags = 66144; /* Machine */
	assert_true(template_is_machine(&t));
	t.flags = 66106; /* User */
	assert_false(template_is_machine(&t));
	t.cn = xstrdup("User");
	t.dn = xstrdup("CN=User,CN=Certificate Templates");
	t.display_name = xstrdup("User");
	t.oid = xstrdup("1.3.6.1.4.1.311.21.8.1.1");
	strlist_add(&t.ekus, "1.3.6.1.5.5.7.3.2");
	strlist_add(&t.supersedes, "Old");
	strlist_add(&t.csps, "1,Microsoft Enhanced Cryptographic Provider v1.0");
	strlist_add(&t.app_policies, "1.3.6.1.5.5.7.3.2");
	strlist_add(&t.critical_extensions, "2.5.29.15");
	t.ra_app_policies = xstrdup("x");
	t.security_descriptor.data = xmalloc(4);
	t.security_descriptor.len = 4;
	t.invalid_reason = xstrdup("bad");
	template_free_contents(&t);
	assert_null(t.cn);
	assert_int_equal(t.ekus.n, 0);
	template_free_contents(&t); /* idempotent */
	template_free_contents(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_default_templates),
		cmocka_unit_test(test_period_ldif_values),
		cmocka_unit_test(test_period_rejects),
		cmocka_unit_test(test_parse_u32),
		cmocka_unit_test(test_default_template_integers),
		cmocka_unit_test(test_format_period),
		cmocka_unit_test(test_format_flags),
		cmocka_unit_test(test_key_alg),
		cmocka_unit_test(test_ra_value),
		cmocka_unit_test(test_machine_and_free),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
