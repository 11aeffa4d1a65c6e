/* Names and OIDs from the directory (issue: a template cn with CR/LF added
 * CertAttrib lines, ESC reached the terminal): what safetext_check refuses,
 * how safetext escapes it, and the OID syntax template_check_oid accepts. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "safetext.h"
#include "template.h"
#include "util.h"

struct text_case {
	const char *bytes;
	size_t len;
	bool safe;
	const char *why;      /* substring of the reason (unsafe cases) */
	const char *escaped;  /* safetext_escape of the bytes */
};

#define C(s, safe, why, esc) { s, sizeof(s) - 1, safe, why, esc }
static const struct text_case text_cases[] = {
	C("LinuxWorkstation", true, NULL, "LinuxWorkstation"),
	C("Web Server (2)", true, NULL, "Web Server (2)"),
	C("Zertifikat f\xc3\xbcr Server", true, NULL, "Zertifikat f\xc3\xbcr Server"),
	C("\xe8\xaf\x81\xe4\xb9\xa6\xe6\xa8\xa1\xe6\x9d\xbf", true, NULL, "\xe8\xaf\x81\xe4\xb9\xa6\xe6\xa8\xa1\xe6\x9d\xbf"),
	C("emoji \xf0\x9f\x94\x91", true, NULL, "emoji \xf0\x9f\x94\x91"),
	C("Evil\r\nSAN:dns=x", false, "U+000D (CR) at offset 4", "Evil\\x0d\\x0aSAN:dns=x"),
	C("Evil\nX", false, "U+000A (LF)", "Evil\\x0aX"),
	C("Esc\x1b[2J", false, "U+001B (ESC)", "Esc\\x1b[2J"),
	C("Nul\0Hidden", false, "U+0000 (NUL)", "Nul\\x00Hidden"),
	C("Tab\tX", false, "TAB", "Tab\\x09X"),
	C("Del\x7f", false, "U+007F (DEL)", "Del\\x7f"),
	C("Csi\xc2\x9b" "31m", false, "U+009B (C1 control)", "Csi\\u{009b}31m"),
	C("Rlo\xe2\x80\xae" "txt.exe", false, "U+202E (bidirectional", "Rlo\\u{202e}txt.exe"),
	C("Lsep\xe2\x80\xa8X", false, "U+2028", "Lsep\\u{2028}X"),
	C("Latin1 f\xfcr", false, "not valid UTF-8 (byte 0xfc at offset 8)", "Latin1 f\\xfcr"),
	C("Overlong \xc0\xaf", false, "not valid UTF-8", "Overlong \\xc0\\xaf"),
	C("Surrogate \xed\xa0\x80", false, "not valid UTF-8", "Surrogate \\xed\\xa0\\x80"),
	C("Cut \xe2\x82", false, "not valid UTF-8", "Cut \\xe2\\x82"),
};

static void test_check_and_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		char why[200] = "", out[256];
		int rc = safetext_check(c->bytes, c->len, why, sizeof(why));

		if (c->safe) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			if (strstr(why, c->why) == NULL)
				fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, why, c->why);
		}
		safetext_escape(c->bytes, c->len, out, sizeof(out));
		assert_string_equal(out, c->escaped);
		/* what is shown is always safe itself */
		assert_int_equal(safetext_check(out, strlen(out), NULL, 0), 0);
	}
}

static void test_escape_cuts_cleanly(void **state)
{
	char out[12];
	(void)state;
	/* never half an escape, never half a UTF-8 sequence, "..." when cut */
	safetext_escape("abcdefgh\x1bxyz", 12, out, sizeof(out));
	assert_string_equal(out, "abcdefgh...");
	safetext_escape("ab\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", 12, out, sizeof(out));
	assert_string_equal(out, "ab\xc3\xbc\xc3\xbc\xc3\xbc...");
	safetext_escape("short", 5, out, sizeof(out));
	assert_string_equal(out, "short");
	/* exactly fitting */
	safetext_escape("12345678901", 11, out, sizeof(out));
	assert_string_equal(out, "12345678901");
}

static void test_slots_and_sanitize(void **state)
{
	char buf[32];
	char *dup;
	(void)state;
	assert_null(safetext(NULL));
	const char *a = safetext("A\x1b");
	const char *b = safetext("B\r");
	assert_string_equal(a, "A\\x1b");
	assert_string_equal(b, "B\\x0d");
	dup = safetext_dup("\xc2\x85next line");
	assert_string_equal(dup, "\\u{0085}next line");
	free(dup);
	snprintf(buf, sizeof(buf), "template %s: x", "E\x1b]0;pwn\x07");
	safetext_sanitize(buf, sizeof(buf));
	assert_string_equal(buf, "template E\\x1b]0;pwn\\x07: x");
	snprintf(buf, sizeof(buf), "all clean");
	safetext_sanitize(buf, sizeof(buf));
	assert_string_equal(buf, "all clean");
	assert_true(safetext_is_clean("ok"));
	assert_false(safetext_is_clean("no\n"));
}

static void test_template_oids(void **state)
{
	static const char *const good[] = {
		"1.3.6.1.4.1.311.21.8.1.2.3", "2.5.29.15", "1.3.6.1.5.5.7.3.2", "0.9.2342.19200300.100.1.1",
		"1.3.6.1.4.1.311.21.8.16187918.14945684.15749023.11519519.4925321.197.13392998.8282280",
	};
	static const char *const bad[] = {
		"", "1", "1.", ".1.2", "1..2", "3.1", "1.3.6.1.01", "1.3.6.1.4\r\n", "1.3 .6", "OID",
		"1.3.6.1.4.1.311.21.8.1\x1b", "12.3",
	};
	char why[160];
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (template_check_oid(good[i], strlen(good[i]), why, sizeof(why)) != 0)
			fail_msg("\"%s\" refused: %s", good[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (template_check_oid(bad[i], strlen(bad[i]), why, sizeof(why)) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
	char longoid[300];
	memset(longoid, '1', sizeof(longoid));
	longoid[1] = '.';
	assert_int_equal(template_check_oid(longoid, sizeof(longoid), why, sizeof(why)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_and_escape),
		cmocka_unit_test(test_escape_cuts_cleanly),
		cmocka_unit_test(test_slots_and_sanitize),
		cmocka_unit_test(test_template_oids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
