/* certsrv page classification (PROTOCOL 6.3, 6.4) over every sample page in
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
