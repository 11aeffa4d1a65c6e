/* MS-WSTEP messages (src/wstep.c) and CES endpoints (msPKI-Enrollment-Servers):
 * answers written from the specification (MS-WSTEP 3.1.4.1.1.2, 3.1.4.2.1,
 * the CertificateEnrollmentWSDetail schema): issued, pending, denied with a
 * fault and its HRESULT, transient faults, malformed, wrong namespaces, a
 * document type, oversized. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "directory.h"
#include "log.h"
#include "wstep.h"
#include "xml_loader.h"

#define ENV_OPEN "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" " \
	"xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action s:mustUnderstand=\"1\">" \
	WSTEP_ACTION_RSTRC "</a:Action></s:Header><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>"
#define RSTRC_OPEN "<RequestSecurityTokenResponseCollection xmlns=\"" WSTEP_NS_TRUST "\">" \
	"<RequestSecurityTokenResponse><TokenType>" WSTEP_TOKEN_X509 "</TokenType>"
#define RSTRC_CLOSE "</RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection>"
#define BST(vt, text) "<BinarySecurityToken ValueType=\"" vt "\" EncodingType=\"" WSTEP_ENCODING_BASE64 \
	"\" xmlns=\"" WSTEP_NS_WSSE "\">" text "</BinarySecurityToken>"
#define DISP(text) "<DispositionMessage xml:lang=\"en-US\" xmlns=\"" WSTEP_NS_ENROLL "\">" text "</DispositionMessage>"
#define REQID(text) "<RequestID xmlns=\"" WSTEP_NS_ENROLL "\">" text "</RequestID>"

#define FAULT(reason, detail) "<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason>" \
	"<s:Text xml:lang=\"en-US\">" reason "</s:Text></s:Reason><s:Detail>" detail "</s:Detail></s:Fault>"
#define WSDETAIL(code, reqid) "<CertificateEnrollmentWSDetail xmlns=\"" WSTEP_NS_ENROLL "\" " \
	"xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><BinaryResponse i:nil=\"true\"/>" \
	"<ErrorCode>" code "</ErrorCode><InvalidRequest>true</InvalidRequest>" reqid "</CertificateEnrollmentWSDetail>"

static int parse(long status, const char *xml, struct wstep_answer *a)
{
	return wstep_parse_response(status, xml, strlen(xml), a);
}

static void test_build_issue(void **state)
{
	(void)state;
	char *x = wstep_build_issue("https://ca.example.test/Example%20CA_CES_Kerberos/service.svc/CES",
				    "urn:uuid:00000000-0000-4000-8000-000000000000", "MIIB\nAAEC\r\nAw==\n", false,
				    "Machine<&>", "host.example.test");
	assert_non_null(x);
	assert_non_null(strstr(x, "http://www.w3.org/2003/05/soap-envelope"));
	assert_non_null(strstr(x, ">" WSTEP_ACTION_RST "</a:Action>"));
	assert_non_null(strstr(x, ">" WSTEP_REQUEST_ISSUE "<"));
	assert_non_null(strstr(x, "ValueType=\"" WSTEP_VALUE_PKCS10 "\""));
	assert_non_null(strstr(x, ">MIIBAAECAw==</BinarySecurityToken>"));   /* blanks removed */
	assert_non_null(strstr(x, "Machine&lt;&amp;&gt;"));                   /* escaped */
	assert_non_null(strstr(x, "Name=\"ccm\""));
	assert_non_null(strstr(x, ">https://ca.example.test/Example%20CA_CES_Kerberos/service.svc/CES</a:To>"));
	free(x);

	x = wstep_build_issue("https://h/CES", "urn:uuid:1", "AAAA", true, "User", NULL);
	assert_non_null(x);
	assert_non_null(strstr(x, "ValueType=\"" WSTEP_VALUE_PKCS7 "\""));
	assert_null(strstr(x, "ccm"));
	free(x);

	/* what cannot be sent is refused, not mangled */
	assert_null(wstep_build_issue("https://h/CES", "urn:uuid:1", "AA A<", false, "User", NULL));
	assert_null(wstep_build_issue("https://h/CES", "urn:uuid:1", "AAA", false, "User", NULL));
	assert_null(wstep_build_issue("https://h/CES", "urn:uuid:1", "AAAA", false, "Us\ner", NULL));
	assert_null(wstep_build_issue("https://h/CES", "urn:uuid:1", "AAAA", false, "", NULL));
}

static void test_build_query(void **state)
{
	(void)state;
	char *x = wstep_build_query("https://h/CES", "urn:uuid:2", 42);
	assert_non_null(x);
	assert_non_null(strstr(x, ">" WSTEP_REQUEST_QUERY "<"));
	assert_non_null(strstr(x, "<RequestID xmlns=\"" WSTEP_NS_ENROLL "\">42</RequestID>"));
	assert_null(strstr(x, "BinarySecurityToken"));
	free(x);
	assert_null(wstep_build_query("https://h/CES", "urn:uuid:2", -1));
}

static void test_issued(void **state)
{
	(void)state;
	struct wstep_answer a;
	const char *xml = ENV_OPEN RSTRC_OPEN DISP("Issued")
		BST(WSTEP_VALUE_PKCS7, "BQYH")
		"<RequestedSecurityToken>" BST(WSTEP_TOKEN_X509, "AAEC\nAw==") "</RequestedSecurityToken>"
		REQID("1234") RSTRC_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &a), 0);
	assert_int_equal(a.result.disposition, CERTSRV_ISSUED);
	assert_int_equal(a.result.request_id, 1234);
	assert_string_equal(a.result.message, "Issued");
	assert_int_equal(a.cert_len, 4);
	assert_memory_equal(a.cert_der, "\x00\x01\x02\x03", 4);
	assert_false(a.cert_in_pkcs7);
	assert_int_equal(a.chain_len, 3);
	assert_memory_equal(a.chain_der, "\x05\x06\x07", 3);
	wstep_answer_free(&a);

	/* the certificate as a PKCS#7 bundle, no separate chain, prefixes of any name */
	xml = "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body>"
	      "<t:RequestSecurityTokenResponseCollection xmlns:t=\"" WSTEP_NS_TRUST "\"><t:RequestSecurityTokenResponse>"
	      "<t:RequestedSecurityToken><o:BinarySecurityToken xmlns:o=\"" WSTEP_NS_WSSE "\" ValueType=\""
	      WSTEP_VALUE_PKCS7 "\">CAkK</o:BinarySecurityToken></t:RequestedSecurityToken>"
	      "</t:RequestSecurityTokenResponse></t:RequestSecurityTokenResponseCollection></env:Body></env:Envelope>";
	assert_int_equal(parse(200, xml, &a), 0);
	assert_int_equal(a.result.disposition, CERTSRV_ISSUED);
	assert_int_equal(a.result.request_id, -1);
	assert_true(a.cert_in_pkcs7);
	wstep_answer_free(&a);
}

static void test_pending(void **state)
{
	(void)state;
	struct wstep_answer a;
	const char *xml = ENV_OPEN RSTRC_OPEN DISP("Taken Under Submission") REQID(" 17 ") RSTRC_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &a), 0);
	assert_int_equal(a.result.disposition, CERTSRV_PENDING);
	assert_int_equal(a.result.request_id, 17);
	assert_string_equal(a.result.message, "Taken Under Submission");
	assert_null(a.cert_der);
	wstep_answer_free(&a);

	/* neither a certificate nor a request id: nothing to act on */
	xml = ENV_OPEN RSTRC_OPEN DISP("Issued") RSTRC_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &a), -1);
	assert_int_equal(a.result.disposition, CERTSRV_ERROR);

	/* a request id that is not a number */
	xml = ENV_OPEN RSTRC_OPEN REQID("17a") RSTRC_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &a), -1);
	assert_int_equal(a.result.disposition, CERTSRV_ERROR);
	xml = ENV_OPEN RSTRC_OPEN REQID("99999999999") RSTRC_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &a), -1);
}

static void test_faults(void **state)
{
	(void)state;
	struct wstep_answer a;
	/* the CA's verdict: denied with its message and HRESULT (signed xs:int) */
	const char *xml = ENV_OPEN FAULT("Denied by Policy Module  The permissions on the certificate template do "
					 "not allow the current user to enroll for this type of certificate.",
					 WSDETAIL("-2146877422", REQID("88"))) ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), 0);
	assert_int_equal(a.result.disposition, CERTSRV_DENIED);
	assert_true(a.result.has_hresult);
	assert_int_equal(a.result.hresult, 0x80094012u);
	assert_int_equal(a.result.request_id, 88);
	assert_non_null(strstr(a.result.message, "Denied by Policy Module"));
	assert_null(a.cert_der);

	/* hex accepted too */
	xml = ENV_OPEN FAULT("denied", WSDETAIL("0x80094012", "")) ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), 0);
	assert_int_equal(a.result.hresult, 0x80094012u);
	assert_int_equal(a.result.request_id, -1);

	/* a query about a request the CA does not know */
	xml = ENV_OPEN FAULT("Cannot find object or property.", WSDETAIL("-2146877436", "")) ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), 0);
	assert_int_equal(a.result.disposition, CERTSRV_UNKNOWN_REQUEST);

	/* the CA not answering: transient, never a verdict */
	xml = ENV_OPEN FAULT("The RPC server is unavailable.", WSDETAIL("-2147023174", "")) ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), -1);
	assert_int_equal(a.result.disposition, CERTSRV_UNAVAILABLE);
	assert_int_equal(a.result.hresult, 0x800706BAu);

	/* a fault without a code cannot be a verdict */
	xml = ENV_OPEN FAULT("Something went wrong", "") ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), -1);
	assert_int_equal(a.result.disposition, CERTSRV_ERROR);
	assert_string_equal(a.result.message, "Something went wrong");

	/* control characters of the reason do not reach the log */
	xml = ENV_OPEN FAULT("line one&#10;line two", WSDETAIL("-2146877422", "")) ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), 0);
	assert_string_equal(a.result.message, "line one line two");

	/* ErrorCode in another namespace is not the WSTEP one */
	xml = ENV_OPEN FAULT("denied", "<CertificateEnrollmentWSDetail xmlns=\"urn:other\"><ErrorCode>-2146877422"
			     "</ErrorCode></CertificateEnrollmentWSDetail>") ENV_CLOSE;
	assert_int_equal(parse(500, xml, &a), -1);
	assert_int_equal(a.result.disposition, CERTSRV_ERROR);
	assert_false(a.result.has_hresult);
}

static void test_malformed(void **state)
{
	(void)state;
	struct wstep_answer a;
	const char *bad[] = {
		"",
		"not xml at all",
		"<html><body>Service Unavailable</body></html>",
		ENV_OPEN RSTRC_OPEN REQID("1"),                                    /* truncated */
		/* SOAP 1.1 envelope */
		"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>" RSTRC_OPEN REQID("1")
		RSTRC_CLOSE "</s:Body></s:Envelope>",
		/* WS-Trust 2005/02 instead of 1.3 */
		ENV_OPEN "<RequestSecurityTokenResponseCollection xmlns=\"http://schemas.xmlsoap.org/ws/2005/02/trust\">"
		"<RequestSecurityTokenResponse>" REQID("1") RSTRC_CLOSE ENV_CLOSE,
		/* RequestID in no namespace: not the WSTEP element */
		ENV_OPEN RSTRC_OPEN "<RequestID xmlns=\"\">1</RequestID>" RSTRC_CLOSE ENV_CLOSE,
		/* token of an unknown value type, and a non-base64 one */
		ENV_OPEN RSTRC_OPEN "<RequestedSecurityToken>" BST("urn:x", "AAAA") "</RequestedSecurityToken>"
		RSTRC_CLOSE ENV_CLOSE,
		ENV_OPEN RSTRC_OPEN "<RequestedSecurityToken>" BST(WSTEP_TOKEN_X509, "AA*A") "</RequestedSecurityToken>"
		RSTRC_CLOSE ENV_CLOSE,
		/* padding in the middle */
		ENV_OPEN RSTRC_OPEN "<RequestedSecurityToken>" BST(WSTEP_TOKEN_X509, "AA==AAAA") "</RequestedSecurityToken>"
		RSTRC_CLOSE ENV_CLOSE,
		/* a document type: entities are never expanded */
		"<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY x \"xx\">]>" ENV_OPEN RSTRC_OPEN REQID("1") RSTRC_CLOSE
		ENV_CLOSE,
		/* an empty body */
		ENV_OPEN ENV_CLOSE,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse(200, bad[i], &a), -1);
		assert_int_equal(a.result.disposition, CERTSRV_ERROR);
		assert_null(a.cert_der);
		assert_true(a.result.message[0] != '\0');
	}
	/* a collection answered with an HTTP error is not trusted */
	assert_int_equal(parse(500, ENV_OPEN RSTRC_OPEN REQID("1") RSTRC_CLOSE ENV_CLOSE, &a), -1);
	/* NULL body */
	assert_int_equal(wstep_parse_response(200, NULL, 0, &a), -1);
}

static void test_huge(void **state)
{
	(void)state;
	struct wstep_answer a;
	/* an answer over the size limit is refused before parsing */
	size_t n = WSTEP_MAX_RESPONSE + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[n] = '\0';
	memcpy(big, "<a>", 3);
	assert_int_equal(wstep_parse_response(200, big, n, &a), -1);
	assert_non_null(strstr(a.result.message, "larger than"));
	free(big);

	/* a token over its own limit inside an answer that fits */
	size_t tok = (WSTEP_MAX_TOKEN / 3) * 4 + 8;
	const char *pre = ENV_OPEN RSTRC_OPEN "<RequestedSecurityToken>" "<BinarySecurityToken ValueType=\""
		WSTEP_TOKEN_X509 "\" xmlns=\"" WSTEP_NS_WSSE "\">";
	const char *post = "</BinarySecurityToken></RequestedSecurityToken>" RSTRC_CLOSE ENV_CLOSE;
	big = malloc(strlen(pre) + tok + strlen(post) + 1);
	assert_non_null(big);
	strcpy(big, pre);
	memset(big + strlen(pre), 'A', tok);
	strcpy(big + strlen(pre) + tok, post);
	assert_int_equal(parse(200, big, &a), -1);
	assert_int_equal(a.result.disposition, CERTSRV_ERROR);
	assert_null(a.cert_der);
	free(big);

	/* deep nesting is libxml2's to refuse; it must not crash */
	size_t depth = 5000;
	big = malloc(depth * 7 + 64);
	assert_non_null(big);
	char *p = big;
	for (size_t i = 0; i < depth; i++)
		p += sprintf(p, "<a>");
	*p = '\0';
	assert_int_equal(parse(200, big, &a), -1);
	free(big);
}

static void test_endpoints(void **state)
{
	(void)state;
	struct ces_endpoint e;
	char why[200];
	assert_int_equal(directory_parse_ces_endpoint("1\n2\n0\nhttps://ca.example.test/CA_CES_Kerberos/service.svc/CES\n",
						      &e, why, sizeof why), 0);
	assert_int_equal(e.priority, 1);
	assert_int_equal(e.auth, CES_AUTH_KERBEROS);
	assert_false(e.renewal_only);
	assert_string_equal(e.url, "https://ca.example.test/CA_CES_Kerberos/service.svc/CES");
	free(e.url);
	assert_int_equal(directory_parse_ces_endpoint("20\r\n8\r\n1\r\nhttps://ca:8443/x/CES", &e, why, sizeof why), 0);
	assert_int_equal(e.priority, 20);
	assert_int_equal(e.auth, CES_AUTH_CERTIFICATE);
	assert_true(e.renewal_only);
	free(e.url);
	const char *bad[] = {
		"", "1\n2\n0\n", "1\n2\nhttps://x/CES\n", "x\n2\n0\nhttps://x/CES", "1\n2\n2\nhttps://x/CES",
		"1\n2\n0\nhttp://x/CES", "1\n2\n0\nhttps://x/CES\nmore", "1\n2\n0\nhttps://x/C ES",
		"-1\n2\n0\nhttps://x/CES", "1 \n2\n0\nhttps://x/CES",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(directory_parse_ces_endpoint(bad[i], &e, why, sizeof why), -1);
		assert_null(e.url);
		assert_true(why[0] != '\0');
	}
}

/* libxml2 is opened on first use (xml_loader.h): without it, no message is
 * built, no answer parsed, and the error says what to install.  Last: the
 * other tests use the real library. */
static void test_libxml2_missing(void **state)
{
	(void)state;
	char err[256];
	struct wstep_answer a;
	xml_loader_reset("libadenroll-test-no-such-xml.so.2");
	assert_false(xml_loader_ready(err, sizeof err));
	assert_non_null(strstr(err, "libadenroll-test-no-such-xml.so.2"));
	assert_non_null(strstr(log_last_error(), "install libxml2"));
	assert_null(wstep_build_query("https://ca.example.test/CES", "urn:uuid:1", 7));
	assert_null(xcep_build_get_policies("https://ca.example.test/CEP", "urn:uuid:2"));
	const char *body = ENV_OPEN RSTRC_OPEN REQID("7") RSTRC_CLOSE ENV_CLOSE;
	assert_int_equal(wstep_parse_response(200, body, strlen(body), &a), -1);
	wstep_answer_free(&a);
	xml_loader_reset(NULL);
	char *q = wstep_build_query("https://ca.example.test/CES", "urn:uuid:1", 7);
	assert_non_null(q);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_issue),
		cmocka_unit_test(test_build_query),
		cmocka_unit_test(test_issued),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_libxml2_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
