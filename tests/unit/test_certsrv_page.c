/* certsrv page classification (docs/protocol.md 6.3, 6.4) over every sample page in
 * tests/samples/certsrv plus variants built here: line endings, whitespace,
 * case, truncation, NUL bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certsrv_page.h"
#include "hresult.h"

struct buf {
	char *p;
	size_t n;
};

static struct buf read_sample(const char *rel)
{
	const char *dir = getenv("SAMPLES");
	char path[1024];
	struct buf b = { NULL, 0 };
	snprintf(path, sizeof path, "%s/certsrv/%s", dir ? dir : "tests/samples", rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open sample %s (set SAMPLES)", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc((size_t)n + 1);
	assert_non_null(b.p);
	assert_int_equal(fread(b.p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b.n = (size_t)n;
	/* A guard that is not NUL: the parser must not rely on termination. */
	b.p[b.n] = 'X';
	return b;
}

/* Replaces every occurrence of from with to. */
static struct buf replace(struct buf in, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), cap = in.n * (tl > fl ? tl : 1) + tl + 1;
	struct buf out = { malloc(cap), 0 };
	assert_non_null(out.p);
	for (size_t i = 0; i < in.n;) {
		if (i + fl <= in.n && memcmp(in.p + i, from, fl) == 0) {
			memcpy(out.p + out.n, to, tl);
			out.n += tl;
			i += fl;
		} else {
			out.p[out.n++] = in.p[i++];
		}
	}
	return out;
}

static struct buf upper_tags(struct buf in)
{
	struct buf out = { malloc(in.n + 1), in.n };
	bool tag = false;
	assert_non_null(out.p);
	for (size_t i = 0; i < in.n; i++) {
		char c = in.p[i];
		if (c == '<')
			tag = true;
		else if (c == '>')
			tag = false;
		else if (tag && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		out.p[i] = c;
	}
	return out;
}

/* Parses body in an exactly-sized heap buffer so ASan catches over-reads. */
static void parse_exact(bool submit, long status, const char *ct, const char *body, size_t n,
			struct certsrv_result *r)
{
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, body, n);
	if (submit)
		assert_int_equal(certsrv_parse_submit(status, ct, copy, n, r), 0);
	else
		assert_int_equal(certsrv_parse_retrieve(status, ct, copy, n, r), 0);
	free(copy);
}

/* Variants of one page that must all classify the same. */
static void check_variants(bool submit, struct buf page, enum certsrv_disposition disp, long reqid,
			   bool has_hr, uint32_t hr, const char *msg_substr)
{
	struct buf v[6];
	size_t nv = 0;
	v[nv++] = (struct buf){ page.p, page.n };
	v[nv++] = replace(page, "\n", "\r\n");
	v[nv++] = replace(page, " ", " \t  ");
	v[nv++] = upper_tags(page);
	v[nv++] = replace(page, "\t", "    ");
	for (size_t i = 0; i < nv; i++) {
		struct certsrv_result r;
		/* The tab-free variant breaks only the tab-dependent regexes other
		 * clients use; we must still read the message. */
		parse_exact(submit, 200, "text/html", v[i].p, v[i].n, &r);
		assert_int_equal(r.disposition, disp);
		assert_int_equal(r.request_id, reqid);
		assert_int_equal(r.has_hresult, has_hr);
		if (has_hr)
			assert_int_equal(r.hresult, hr);
		if (msg_substr && !strstr(r.message, msg_substr))
			fail_msg("variant %zu: message \"%s\" lacks \"%s\"", i, r.message, msg_substr);
		if (i > 0)
			free(v[i].p);
	}
}

static void test_submit_issued_synthetic(void **state)
{
	(void)state;
	struct buf b = read_sample("synthetic/certfnsh_issued.SYNTHETIC.html");
	check_variants(true, b, CERTSRV_ISSUED, 1234, false, 0, NULL);
	free(b.p);
}

static void test_submit_pending_synthetic(void **state)
{
	(void)state;
	struct buf b = read_sample("synthetic/certfnsh_pending.SYNTHETIC.html");
	check_variants(true, b, CERTSRV_PENDING, 13, false, 0, NULL);
	free(b.p);
}

static void test_submit_denied_synthetic(void **state)
{
	(void)state;
	struct buf b = read_sample("synthetic/certfnsh_denied.SYNTHETIC.html");
	check_variants(true, b, CERTSRV_DENIED, 14, true, 0x80094012u,
		       "The permissions on the certificate template do not allow the current user");
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", b.p, b.n, &r);
	assert_string_equal(r.message,
			    "Denied by Policy Module 0x80094012, The permissions on the certificate template "
			    "do not allow the current user to enroll for this type of certificate.");
	free(b.p);
}

static void test_submit_unsupported_template(void **state)
{
	(void)state;
	struct buf b = read_sample("synthetic/certfnsh_error-unsupported-template.SYNTHETIC.html");
	check_variants(true, b, CERTSRV_DENIED, -1, true, 0x80094800u,
		       "The request was for a certificate template that is not supported.");
	free(b.p);
}

static void test_submit_nokia_synthetic(void **state)
{
	(void)state;
	struct buf t = read_sample("nokia-adcs-sim_certfnsh.asp.SYNTHETIC.tmpl.html");
	struct buf b = replace(t, "{{ .ReqID }}", "77");
	check_variants(true, b, CERTSRV_ISSUED, 77, false, 0, NULL);
	/* Unfilled placeholder: no digits, so no ReqID and not issued. */
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", t.p, t.n, &r);
	assert_int_not_equal(r.disposition, CERTSRV_ISSUED);
	assert_int_equal(r.request_id, -1);
	free(b.p);
	free(t.p);
}

static void test_submit_401(void **state)
{
	(void)state;
	struct buf b = read_sample("nokia-adcs-sim_unauth-401.html");
	struct certsrv_result r;
	parse_exact(true, 401, "text/html", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_UNAUTHORIZED);
	parse_exact(false, 401, "text/html", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_UNAUTHORIZED);
	/* The same page with 200 (misconfigured server) is not understood. */
	parse_exact(true, 200, "text/html", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_non_null(strstr(r.message, "401 - Unauthorized"));
	free(b.p);
}

static void test_submit_cacert_link_only(void **state)
{
	(void)state;
	/* The CA-certificate page links certnew.cer?ReqID=CACert only: it must
	 * never be taken for an issued request. */
	struct buf b = read_sample("nokia-adcs-sim_certcarc.asp.tmpl.html");
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_int_equal(r.request_id, -1);
	const char *only = "<A Href=\"certnew.cer?ReqID=CACert&amp;Renewal=0&amp;Mode=inst&amp;Enc=b64\">x</A>";
	parse_exact(true, 200, "text/html", only, strlen(only), &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_int_equal(r.request_id, -1);
	free(b.p);
}

static void test_submit_cert_body(void **state)
{
	(void)state;
	const char *pem = "-----BEGIN CERTIFICATE-----\r\nMIIB\r\n-----END CERTIFICATE-----\r\n";
	struct certsrv_result r;
	parse_exact(true, 200, "application/pkix-cert", pem, strlen(pem), &r);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
	assert_true(r.body_is_cert);
	/* DER is recognised by its bytes: a SEQUENCE holding a SEQUENCE whose
	 * declared length fits the body. */
	static const char der[] = "\x30\x82\x00\x03\x30\x01\x00";
	parse_exact(true, 200, "Application/PKIX-Cert; charset=binary", der, sizeof der - 1, &r);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
	assert_true(r.body_is_cert);
	/* Two bytes labelled as a certificate are not one (and not a page). */
	parse_exact(true, 200, "Application/PKIX-Cert; charset=binary", "\x30\x82", 2, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_false(r.body_is_cert);
	parse_exact(false, 200, NULL, pem, strlen(pem), &r);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
}

static void test_submit_http_errors(void **state)
{
	(void)state;
	struct certsrv_result r;
	parse_exact(true, 500, "text/html", "oops", 4, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_int_equal(r.http_status, 500);
	assert_non_null(strstr(r.message, "500"));
	parse_exact(true, 200, "text/html", "", 0, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_int_equal(certsrv_parse_submit(200, NULL, NULL, 0, &r), 0);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_int_equal(certsrv_parse_submit(200, NULL, "x", 1, NULL), -1);
}

static void test_submit_emulator_pages(void **state)
{
	(void)state;
	/* The shapes the test domain's emulator sends (single line, CRLF end). */
	const char *issued = "<HTML><Body><P>Certificate Issued</P><A Href=\"certnew.cer?ReqID=5&amp;Enc=b64\">"
			     "Download</A><Script>function handleGetCert() { location=\"certnew.cer?ReqID=5&\"+"
			     "getEncoding(); }</Script></Body></HTML>\r\n";
	const char *parse_err = "<P>The disposition message is \"Error Parsing Request The request is invalid\"</P>";
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", issued, strlen(issued), &r);
	assert_int_equal(r.disposition, CERTSRV_ISSUED);
	assert_int_equal(r.request_id, 5);
	parse_exact(true, 200, "text/html", parse_err, strlen(parse_err), &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_string_equal(r.message, "Error Parsing Request The request is invalid");
	/* ReqID digits must be followed by '&': "ReqID=12x" is not a link. */
	const char *bad = "certnew.cer?ReqID=12x&";
	parse_exact(true, 200, "text/html", bad, strlen(bad), &r);
	assert_int_not_equal(r.disposition, CERTSRV_ISSUED);
	/* Overlong digit runs are refused rather than overflowing. */
	const char *huge = "certnew.cer?ReqID=123456789012345678901234567890&";
	parse_exact(true, 200, "text/html", huge, strlen(huge), &r);
	assert_int_not_equal(r.disposition, CERTSRV_ISSUED);
	/* A localised page: ReqID but no English marker => pending, to be
	 * confirmed with certnew.cer. */
	const char *loc = "<P>Ihre Anforderungs-ID ist 42. Your Request Id is 42.</P>";
	parse_exact(true, 200, "text/html", loc, strlen(loc), &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	assert_int_equal(r.request_id, 42);
}

static void test_submit_fault_pages(void **state)
{
	(void)state;
	/* The test CA's "garbage" fault: every marker present but empty, and
	 * all 256 byte values. */
	char page[512];
	size_t n = 0;
	const char *head = "<html><body><p>certnew.cer?ReqID=&amp;Enc= Your Request Id is .</p>";
	const char *tail = "\r\n<p>The disposition message is \"</body>\r\n";
	memcpy(page, head, strlen(head));
	n = strlen(head);
	for (int i = 0; i < 256; i++)
		page[n++] = (char)i;
	memcpy(page + n, tail, strlen(tail));
	n += strlen(tail);
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", page, n, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_int_equal(r.request_id, -1);
	assert_non_null(strstr(r.message, "unrecognised answer"));
	parse_exact(false, 200, "text/html", page, n, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	/* Empty body. */
	parse_exact(true, 200, "text/html", "", 0, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_non_null(strstr(r.message, "empty body"));
}

static struct buf disposition_page(const char *msg, const char *last)
{
	struct buf t = read_sample("nokia-adcs-sim_certnew.cer-disposition.tmpl.html");
	struct buf a = replace(t, "{{ .DispositionMessage }}", msg);
	struct buf b = replace(a, "{{ .LastStatus }}", last);
	free(t.p);
	free(a.p);
	return b;
}

static void test_retrieve_pending(void **state)
{
	(void)state;
	struct buf b = disposition_page("Taken Under Submission",
					"The operation completed successfully. 0x0 (WIN32: 0)");
	check_variants(false, b, CERTSRV_PENDING, -1, true, 0, "Taken Under Submission");
	free(b.p);
}

static void test_retrieve_denied_by_admin(void **state)
{
	(void)state;
	struct buf b = disposition_page("Denied by CS simulator",
					"The request was denied by a certificate manager or CA administrator. "
					"0x80094014 (-2146877420 CERTSRV_E_ADMIN_DENIED_REQUEST)");
	check_variants(false, b, CERTSRV_DENIED, -1, true, 0x80094014u, "Denied by CS simulator");
	struct certsrv_result r;
	parse_exact(false, 200, "text/html", b.p, b.n, &r);
	assert_string_equal(r.message, "Denied by CS simulator");
	free(b.p);
}

static void test_retrieve_denied_template(void **state)
{
	(void)state;
	struct buf b = disposition_page("Denied by Policy Module",
					"The permissions on the certificate template do not allow the current user to "
					"enroll for this type of certificate. 0x80094012 (-2146877422 "
					"CERTSRV_E_TEMPLATE_DENIED)");
	check_variants(false, b, CERTSRV_DENIED, -1, true, 0x80094012u, "Denied by Policy Module");
	free(b.p);
}

static void test_retrieve_unknown_request(void **state)
{
	(void)state;
	struct buf b = disposition_page("The requested property value is empty.",
					"The requested property value is empty. 0x80094004 (-2146877436 "
					"CERTSRV_E_PROPERTY_EMPTY)");
	check_variants(false, b, CERTSRV_UNKNOWN_REQUEST, -1, true, 0x80094004u, NULL);
	free(b.p);
}

static void test_retrieve_localised(void **state)
{
	(void)state;
	/* No English marker: the LastStatus HRESULT decides, then the numeric
	 * disposition (the template's static "5"). */
	struct buf b = disposition_page("Abgelehnt vom Richtlinienmodul",
					"Zugriff verweigert. 0x80094012 (-2146877422 CERTSRV_E_TEMPLATE_DENIED)");
	check_variants(false, b, CERTSRV_DENIED, -1, true, 0x80094012u, "Abgelehnt");
	free(b.p);
	b = disposition_page("Zur Bearbeitung angenommen", "Vorgang erfolgreich. 0x0 (WIN32: 0)");
	check_variants(false, b, CERTSRV_PENDING, -1, true, 0, NULL);
	free(b.p);
}

static void test_retrieve_emulator_lines(void **state)
{
	(void)state;
	struct certsrv_result r;
	const char *p = "<HTML><Body><P>Disposition message:\t\tTaken Under Submission</P></Body></HTML>\r\n";
	parse_exact(false, 200, "text/html", p, strlen(p), &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	assert_string_equal(r.message, "Taken Under Submission");
	/* English prose alone never denies nor forgets a request: without an
	 * HRESULT, a disposition number or an element ID it is transient. */
	const char *d = "<P>Disposition message:\t\tDenied by Policy Module</P>";
	parse_exact(false, 200, "text/html", d, strlen(d), &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_true(certsrv_disposition_is_transient(r.disposition));
	const char *u = "<P>Disposition message:\t\tThe request ID is invalid</P>";
	parse_exact(false, 200, "text/html", u, strlen(u), &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	parse_exact(false, 200, "text/html", "garbage", 7, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	parse_exact(false, 503, "text/html", "", 0, &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
}

/* Every prefix of a page: never crash, never read past the prefix, and a
 * ReqID is either absent or exactly the true one (truncation inside the
 * digits is guarded by the required '&'). */
static void truncate_all(const char *rel, bool submit, long true_id)
{
	struct buf b = read_sample(rel);
	for (size_t n = 0; n <= b.n; n++) {
		struct certsrv_result r;
		parse_exact(submit, 200, "text/html", b.p, n, &r);
		if (r.request_id != -1 && r.request_id != true_id)
			fail_msg("%s truncated at %zu: ReqID %ld, expected %ld or none", rel, n, r.request_id,
				 true_id);
		if (r.disposition == CERTSRV_ISSUED && r.request_id != true_id)
			fail_msg("%s truncated at %zu: issued without the true ReqID", rel, n);
	}
	free(b.p);
}

static void test_truncation(void **state)
{
	(void)state;
	truncate_all("synthetic/certfnsh_issued.SYNTHETIC.html", true, 1234);
	/* "Your Request Id is 13." truncated to "...is 1" would read ReqID 1:
	 * without the closing '.', a text ReqID is not trusted. */
	truncate_all("synthetic/certfnsh_pending.SYNTHETIC.html", true, 13);
	truncate_all("synthetic/certfnsh_denied.SYNTHETIC.html", true, 14);
	truncate_all("synthetic/certfnsh_error-unsupported-template.SYNTHETIC.html", true, -1);
	truncate_all("nokia-adcs-sim_certnew.cer-disposition.tmpl.html", false, -1);
	truncate_all("nokia-adcs-sim_unauth-401.html", true, -1);
}

static void test_nul_bytes(void **state)
{
	(void)state;
	struct buf b = read_sample("synthetic/certfnsh_denied.SYNTHETIC.html");
	/* A NUL early in the page must not end parsing (no str* on the body). */
	size_t off = 0;
	while (off + 6 <= b.n && memcmp(b.p + off, "<Body>", 6) != 0)
		off++;
	assert_true(off + 6 <= b.n);
	off += 6;
	struct buf z = { malloc(b.n + 2), b.n + 2 };
	assert_non_null(z.p);
	memcpy(z.p, b.p, off);
	z.p[off] = '\0';
	z.p[off + 1] = '\0';
	memcpy(z.p + off + 2, b.p + off, b.n - off);
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", z.p, z.n, &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	assert_int_equal(r.request_id, 14);
	assert_int_equal(r.hresult, 0x80094012u);
	/* NULs inside the message are dropped from the plain text. */
	static const char m[] = "The disposition message is \"Denied\0 by Policy Module  0x80094011,\"";
	parse_exact(true, 200, "text/html", m, sizeof m - 1, &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	assert_int_equal(r.hresult, 0x80094011u);
	assert_null(memchr(r.message, '\0', strlen(r.message)));
	free(z.p);
	free(b.p);
}

static void test_entities_and_case(void **state)
{
	(void)state;
	const char *p = "<p>THE DISPOSITION MESSAGE IS \"Denied by Policy Module&nbsp;&nbsp;0X80094812, "
			"E-mail &amp; name &lt;required&gt;.\"</p><p>YOUR REQUEST ID IS 9.</p>";
	struct certsrv_result r;
	parse_exact(true, 200, "text/html", p, strlen(p), &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	assert_int_equal(r.request_id, 9);
	assert_int_equal(r.hresult, 0x80094812u);
	assert_string_equal(r.message, "Denied by Policy Module 0X80094812, E-mail & name <required>.");
	/* A message longer than the buffer is cut, still terminated. */
	char big[4096];
	int n = snprintf(big, sizeof big, "The disposition message is \"Denied by Policy Module 0x80094012, ");
	memset(big + n, 'a', sizeof big - (size_t)n);
	parse_exact(true, 200, "text/html", big, sizeof big, &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	assert_int_equal(strlen(r.message), sizeof r.message - 1);
}

static void test_hresult_names(void **state)
{
	(void)state;
	assert_string_equal(hresult_name(0x80094812u), "CERTSRV_E_SUBJECT_EMAIL_REQUIRED");
	assert_string_equal(hresult_name(0x80094012u), "CERTSRV_E_TEMPLATE_DENIED");
	assert_string_equal(hresult_name(0x80094800u), "CERTSRV_E_UNSUPPORTED_CERT_TYPE");
	assert_string_equal(hresult_name(0x80094004u), "CERTSRV_E_PROPERTY_EMPTY");
	assert_non_null(strstr(hresult_explain(0x80094812u), "e-mail"));
	assert_null(hresult_name(0x12345678u));
	assert_null(hresult_explain(0));
	assert_string_equal(certsrv_disposition_name(CERTSRV_PENDING), "pending");
	assert_string_equal(certsrv_disposition_name(CERTSRV_UNKNOWN_REQUEST), "unknown request");
}
/* ---------------------------------------------------------------- localized pages
 * tests/samples/certsrv/localized: the test domain's pages in Japanese,
 * German, French and Chinese (UTF-8) and Japanese through a transcoding proxy
 * (Shift_JIS).  No English marker is left in them. */

static const char *const langs[] = { "ja", "de", "fr", "zh", "ja.sjis" };

static bool have_lang_page(const char *kind, const char *lang, char *rel, size_t rellen)
{
	snprintf(rel, rellen, "localized/%s.%s.html", kind, lang);
	const char *dir = getenv("SAMPLES");
	char path[1024];
	snprintf(path, sizeof path, "%s/certsrv/%s", dir ? dir : "tests/samples", rel);
	FILE *f = fopen(path, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

/* One localized page: its variants, and the Shift_JIS ones also with the
 * charset named by the header. */
static void check_lang(bool submit, const char *kind, enum certsrv_disposition disp, long reqid, bool has_hr,
		       uint32_t hr, const char *msg_substr)
{
	int seen = 0;
	for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
		char rel[256];
		if (!have_lang_page(kind, langs[i], rel, sizeof rel))
			continue;
		seen++;
		struct buf b = read_sample(rel);
		check_variants(submit, b, disp, reqid, has_hr, hr, msg_substr);
		struct certsrv_result r;
		parse_exact(submit, 200, strstr(langs[i], "sjis") ? "text/html; charset=Shift_JIS" : "text/html; charset=utf-8",
			    b.p, b.n, &r);
		if (r.disposition != disp || r.request_id != reqid)
			fail_msg("%s: %s, request %ld", rel, certsrv_disposition_name(r.disposition), r.request_id);
		free(b.p);
	}
	if (seen < 4)
		fail_msg("only %d localized samples of %s", seen, kind);
}

static void test_l10n_submit(void **state)
{
	(void)state;
	check_lang(true, "certfnsh_issued", CERTSRV_ISSUED, 1234, false, 0, NULL);
	check_lang(true, "certfnsh_pending", CERTSRV_PENDING, 13, false, 0, NULL);
	check_lang(true, "certfnsh_denied", CERTSRV_DENIED, 14, true, 0x80094812u, "0x80094812");
	check_lang(true, "certfnsh_error", CERTSRV_DENIED, -1, true, 0x80094800u, "not supported");
	check_lang(true, "certfnsh_rpc", CERTSRV_UNAVAILABLE, -1, true, 0x800706BAu, "0x800706ba");
	struct certsrv_result r;
	/* The CA's own message, in its language, as UTF-8 (from Shift_JIS too). */
	struct buf b = read_sample("localized/certfnsh_denied.ja.sjis.html");
	parse_exact(true, 200, "text/html", b.p, b.n, &r);
	assert_non_null(strstr(r.message, "\xE3\x83\x9D\xE3\x83\xAA\xE3\x82\xB7\xE3\x83\xBC")); /* "policy" in katakana */
	assert_non_null(strstr(r.message, "The email name is unavailable"));
	assert_null(strstr(r.message, "\"")); /* only the quoted message */
	free(b.p);
	b = read_sample("localized/certfnsh_denied.fr.html");
	parse_exact(true, 200, "text/html", b.p, b.n, &r);
	assert_string_equal(r.message, "Refus\xC3\xA9 par le module de strat\xC3\xA9gie 0x80094812, The email name is "
				       "unavailable and cannot be added to the Subject or Subject Alternate name.");
	free(b.p);
}

static void test_l10n_retrieve(void **state)
{
	(void)state;
	check_lang(false, "certnew_pending", CERTSRV_PENDING, -1, true, 0, NULL);
	check_lang(false, "certnew_denied", CERTSRV_DENIED, -1, true, 0x80094014u, NULL);
	check_lang(false, "certnew_unknown", CERTSRV_UNKNOWN_REQUEST, -1, true, 0x80094004u, NULL);
	check_lang(false, "certnew_rpc", CERTSRV_UNAVAILABLE, -1, true, 0x800706BAu, "RPC_S_SERVER_UNAVAILABLE");
	struct certsrv_result r;
	struct buf b = read_sample("localized/certnew_denied.de.html");
	parse_exact(false, 200, "text/html", b.p, b.n, &r);
	assert_string_equal(r.message, "Vom Zertifizierungsstellenadministrator verweigert");
	free(b.p);
	b = read_sample("localized/certfnsh_notstarted.de.html");
	parse_exact(true, 200, "text/html", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_UNAVAILABLE);
	assert_int_equal(r.hresult, 0x80070426u);
	assert_true(certsrv_disposition_is_transient(r.disposition));
	free(b.p);
	b = read_sample("localized/certnew_busy.de.html");
	parse_exact(false, 200, "text/html", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_UNAVAILABLE);
	assert_int_equal(r.hresult, 0x800706BBu);
	free(b.p);
}

/* Every prefix of a page that keeps a request (pending, CA not answering)
 * keeps it: a truncated answer never denies, forgets or issues. */
static void truncate_keeps(const char *rel, bool submit)
{
	struct buf b = read_sample(rel);
	for (size_t n = 0; n <= b.n; n++) {
		struct certsrv_result r;
		parse_exact(submit, 200, "text/html", b.p, n, &r);
		if (r.disposition == CERTSRV_DENIED || r.disposition == CERTSRV_UNKNOWN_REQUEST ||
		    r.disposition == CERTSRV_ISSUED)
			fail_msg("%s truncated at %zu: %s", rel, n, certsrv_disposition_name(r.disposition));
		if (r.request_id != -1 && r.request_id != 13)
			fail_msg("%s truncated at %zu: request %ld", rel, n, r.request_id);
	}
	free(b.p);
}

static void test_l10n_truncation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
		char rel[256];
		static const char *const keep[] = { "certnew_pending", "certnew_rpc", "certfnsh_pending", "certfnsh_rpc" };
		for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
			if (have_lang_page(keep[k], langs[i], rel, sizeof rel))
				truncate_keeps(rel, keep[k][7] == 'f' /* certfnsh */);
		if (have_lang_page("certfnsh_issued", langs[i], rel, sizeof rel))
			truncate_all(rel, true, 1234);
		if (have_lang_page("certfnsh_denied", langs[i], rel, sizeof rel))
			truncate_all(rel, true, 14);
	}
}

static struct buf concat(struct buf a, struct buf b)
{
	struct buf out = { malloc(a.n + b.n + 1), a.n + b.n };
	assert_non_null(out.p);
	memcpy(out.p, a.p, a.n);
	memcpy(out.p + a.n, b.p, b.n);
	return out;
}

static void test_l10n_mixed(void **state)
{
	(void)state;
	struct certsrv_result r;
	/* A pending page with English words of a denial: prose never denies. */
	struct buf p = read_sample("localized/certfnsh_pending.de.html");
	struct buf m = replace(p, "</Body>", "<P>Denied by Policy Module. Your certificate request was denied.</P></Body>");
	parse_exact(true, 200, "text/html", m.p, m.n, &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	assert_int_equal(r.request_id, 13);
	free(m.p);
	/* A verdict and the CA not answering on one page: transient wins. */
	struct buf d = read_sample("localized/certnew_denied.ja.html");
	m = replace(d, "0x0 (WIN32: 0)", "0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)");
	parse_exact(false, 200, "text/html", m.p, m.n, &r);
	assert_int_equal(r.disposition, CERTSRV_UNAVAILABLE);
	assert_int_equal(r.hresult, 0x800706BAu);
	free(m.p);
	free(d.p);
	/* UTF-8 Japanese followed by Shift_JIS bytes (a proxy that re-encoded
	 * half a page): read as Shift_JIS, the structure still decides. */
	struct buf s = read_sample("localized/certfnsh_denied.ja.sjis.html");
	struct buf u = read_sample("localized/certfnsh_pending.ja.html");
	m = concat(u, s);
	parse_exact(true, 200, "text/html", m.p, m.n, &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	assert_int_equal(r.hresult, 0x80094812u);
	free(m.p);
	/* The same under a header naming UTF-8: the bytes, not the header, decide. */
	m = concat(s, u);
	parse_exact(true, 200, "text/html; charset=utf-8", m.p, m.n, &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	free(m.p);
	free(s.p);
	free(u.p);
	/* English chrome, French message: the French request id sentence. */
	const char *fr = "<HTML><Body><P ID=locPageTitle> <B> Certificate Pending </B><P>Votre ID de demande est 77.</P>"
			 "</Body></HTML>";
	parse_exact(true, 200, "text/html", fr, strlen(fr), &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	assert_int_equal(r.request_id, 77);
	/* A request id sentence alone (no pending marker at all) is pending, to be
	 * polled; "ID" inside a word or an HRESULT after "ID" is no request id. */
	const char *zh = "<P>\xE4\xBD\xA0\xE7\x9A\x84\xE7\x94\xB3\xE8\xAF\xB7 ID \xE4\xB8\xBA 42\xE3\x80\x82</P>";
	parse_exact(true, 200, "text/html", zh, strlen(zh), &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	assert_int_equal(r.request_id, 42);
	const char *guid = "<P>GUID 42.</P><P>ID: 0x80094004.</P>";
	parse_exact(true, 200, "text/html", guid, strlen(guid), &r);
	assert_int_equal(r.request_id, -1);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	/* An element ID alone: locDenied with no HRESULT is still a denial. */
	const char *den = "<P ID=\"locDenied\"> \xE6\x8B\x92\xE5\x90\xA6</P>";
	parse_exact(true, 200, "text/html", den, strlen(den), &r);
	assert_int_equal(r.disposition, CERTSRV_DENIED);
	/* "Service not started" prose without an HRESULT: transient. */
	const char *ns = "<P>The Certification Authority Service has not been started.</P>";
	parse_exact(true, 200, "text/html", ns, strlen(ns), &r);
	assert_int_equal(r.disposition, CERTSRV_UNAVAILABLE);
	free(p.p);
}

/* ---------------------------------------------------------------- certificates by their bytes */

static void test_cert_by_bytes(void **state)
{
	(void)state;
	/* A minimal certificate-shaped DER: SEQUENCE { SEQUENCE { INTEGER 1 } ... } */
	static const unsigned char der[] = { 0x30, 0x82, 0x00, 0x07, 0x30, 0x03, 0x02, 0x01, 0x01, 0x05, 0x00 };
	const char *b64 = "MIIAB zADAgEBBQA=\r\n"; /* base64 of der, with a line break inside */
	char pem[256];
	snprintf(pem, sizeof pem, "-----BEGIN CERTIFICATE-----\r\nMIIABzADAgEBBQA=\r\n-----END CERTIFICATE-----\r\n");
	static const char *const types[] = { "application/pkix-cert", "application/x-x509-ca-cert",
					     "application/x-x509-user-cert", "application/octet-stream",
					     "text/plain", "text/plain; charset=us-ascii", NULL };
	struct { const char *body; size_t n; enum certsrv_cert_form form; } bodies[] = {
		{ (const char *)der, sizeof der, CERTSRV_CERT_DER },
		{ pem, strlen(pem), CERTSRV_CERT_PEM },
		{ b64, strlen(b64), CERTSRV_CERT_BASE64 },
	};
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
			struct certsrv_result r;
			assert_int_equal(certsrv_cert_form(bodies[i].body, bodies[i].n), bodies[i].form);
			parse_exact(false, 200, types[t], bodies[i].body, bodies[i].n, &r);
			assert_int_equal(r.disposition, CERTSRV_ISSUED);
			assert_true(r.body_is_cert);
			parse_exact(true, 200, types[t], bodies[i].body, bodies[i].n, &r);
			assert_int_equal(r.disposition, CERTSRV_ISSUED);
			unsigned char *out = NULL;
			size_t n = 0;
			assert_int_equal(certsrv_cert_der(bodies[i].body, bodies[i].n, &out, &n), 0);
			assert_int_equal(n, sizeof der);
			assert_memory_equal(out, der, sizeof der);
			free(out);
		}
	}
	/* DER with a trailing CRLF from a proxy: cut to its declared length. */
	unsigned char crlf[sizeof der + 2];
	memcpy(crlf, der, sizeof der);
	crlf[sizeof der] = '\r';
	crlf[sizeof der + 1] = '\n';
	unsigned char *out = NULL;
	size_t n = 0;
	assert_int_equal(certsrv_cert_der((const char *)crlf, sizeof crlf, &out, &n), 0);
	assert_int_equal(n, sizeof der);
	free(out);
	/* Labelled a certificate, but an HTML page: no certificate. */
	struct certsrv_result r;
	const char *html = "<HTML><Body>Error</Body></HTML>";
	parse_exact(false, 200, "application/pkix-cert", html, strlen(html), &r);
	assert_int_equal(r.disposition, CERTSRV_ERROR);
	assert_false(r.body_is_cert);
	assert_int_equal(certsrv_cert_der(html, strlen(html), &out, &n), -1);
	/* A page under text/plain or octet-stream is still read as a page. */
	struct buf b = read_sample("localized/certnew_pending.fr.html");
	parse_exact(false, 200, "text/plain", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	parse_exact(false, 200, "application/octet-stream", b.p, b.n, &r);
	assert_int_equal(r.disposition, CERTSRV_PENDING);
	free(b.p);
	/* Truncated DER and base64 that is not a certificate. */
	assert_int_equal(certsrv_cert_form((const char *)der, sizeof der - 1), CERTSRV_CERT_NONE);
	assert_int_equal(certsrv_cert_der("MIIxyz", 6, &out, &n), -1);
	assert_int_equal(certsrv_cert_form("MIIA<b>", 7), CERTSRV_CERT_NONE);
}

/* ---------------------------------------------------------------- the HRESULT table */

/* Refusals about the CA move on to the next CA; those about the request do not. */
static void test_hresult_about_ca(void **state)
{
	(void)state;
	assert_true(hresult_is_about_ca(0x80094011u));   /* CA permissions */
	assert_true(hresult_is_about_ca(0x80094800u));   /* template not on this CA */
	assert_true(hresult_is_about_ca(0x80094807u));   /* CA's template cache behind */
	assert_true(hresult_is_about_ca(0x800706BAu));   /* CA service down */
	assert_true(hresult_is_about_ca(0x80070015u));   /* CA service not ready */
	assert_string_equal(hresult_name(0x80070015u), "ERROR_NOT_READY");
	assert_false(hresult_is_about_ca(0x80094012u));  /* template permissions */
	assert_false(hresult_is_about_ca(0x80094812u));  /* the account's e-mail */
	assert_false(hresult_is_about_ca(0x8009480Au));  /* signatures missing */
	assert_false(hresult_is_about_ca(0x80090006u));  /* bad renewal signature */
	assert_false(hresult_is_about_ca(0x80094014u));  /* denied by the manager */
	assert_false(hresult_is_about_ca(0x800706BBu));  /* busy: transient, not a refusal */
	assert_false(hresult_is_about_ca(0x12345678u));  /* not in the table */
	assert_false(hresult_is_about_ca(0));
}

static void test_hresult_classes(void **state)
{
	(void)state;
	/* verdicts: CERTSRV_E_*, CRYPT_E_*, ASN.1, NTE_* about the request */
	static const uint32_t verdict[] = { 0x80094012u, 0x80094014u, 0x80094800u, 0x80094812u, 0x80094004u,
					    0x80092013u, 0x80092004u, 0x8009310Bu, 0x80094FFFu, 0x80090006u,
					    0x80090003u };
	/* the CA not answering: RPC, Win32, and anything unknown */
	static const uint32_t transient[] = { 0x800706BAu, 0x800706BBu, 0x800706BEu, 0x800706D9u, 0x80070005u,
					      0x80070426u, 0x8007000Eu, 0x80004005u, 0x80090016u, 0xFFFFFFFFu };
	for (size_t i = 0; i < sizeof verdict / sizeof verdict[0]; i++)
		assert_int_equal(hresult_classify(verdict[i]), HRESULT_VERDICT);
	for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
		assert_int_equal(hresult_classify(transient[i]), HRESULT_TRANSIENT);
	assert_int_equal(hresult_classify(0), HRESULT_SUCCESS);
	assert_int_equal(hresult_classify(1), HRESULT_SUCCESS);
	assert_string_equal(hresult_name(0x800706BAu), "RPC_S_SERVER_UNAVAILABLE");
	assert_string_equal(hresult_name(0x80090006u), "NTE_BAD_SIGNATURE");
	assert_string_equal(hresult_name(0x800706BBu), "RPC_S_SERVER_TOO_BUSY");
	assert_string_equal(hresult_name(0x80070005u), "E_ACCESSDENIED");
	assert_string_equal(hresult_name(0x80070426u), "ERROR_SERVICE_NOT_ACTIVE");
	assert_non_null(strstr(hresult_explain(0x800706BAu), "next run"));
	assert_string_equal(hresult_class_name(HRESULT_TRANSIENT), "transient");
	assert_string_equal(hresult_class_name(HRESULT_VERDICT), "verdict");
	/* every named code has words, and a known code of each range is named */
	for (uint32_t hr = 0x80094000u; hr < 0x80095000u; hr++)
		if (hresult_name(hr))
			assert_non_null(hresult_explain(hr));
	assert_string_equal(certsrv_disposition_name(CERTSRV_UNAVAILABLE), "CA not answering");
	assert_false(certsrv_disposition_is_transient(CERTSRV_DENIED));
	assert_false(certsrv_disposition_is_transient(CERTSRV_PENDING));
	assert_true(certsrv_disposition_is_transient(CERTSRV_UNAUTHORIZED));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_issued_synthetic),
		cmocka_unit_test(test_submit_pending_synthetic),
		cmocka_unit_test(test_submit_denied_synthetic),
		cmocka_unit_test(test_submit_unsupported_template),
		cmocka_unit_test(test_submit_nokia_synthetic),
		cmocka_unit_test(test_submit_401),
		cmocka_unit_test(test_submit_cacert_link_only),
		cmocka_unit_test(test_submit_cert_body),
		cmocka_unit_test(test_submit_http_errors),
		cmocka_unit_test(test_submit_emulator_pages),
		cmocka_unit_test(test_submit_fault_pages),
		cmocka_unit_test(test_retrieve_pending),
		cmocka_unit_test(test_retrieve_denied_by_admin),
		cmocka_unit_test(test_retrieve_denied_template),
		cmocka_unit_test(test_retrieve_unknown_request),
		cmocka_unit_test(test_retrieve_localised),
		cmocka_unit_test(test_retrieve_emulator_lines),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_entities_and_case),
		cmocka_unit_test(test_hresult_names),
		cmocka_unit_test(test_l10n_submit),
		cmocka_unit_test(test_l10n_retrieve),
		cmocka_unit_test(test_l10n_truncation),
		cmocka_unit_test(test_l10n_mixed),
		cmocka_unit_test(test_cert_by_bytes),
		cmocka_unit_test(test_hresult_classes),
		cmocka_unit_test(test_hresult_about_ca),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
