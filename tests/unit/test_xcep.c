/* MS-XCEP GetPolicies (src/wstep.c) and the merge of its CAs into the
 * directory's enrollment services (src/cep.c).  Answers written from the
 * specification (MS-XCEP 3.1.4.1.1.2 GetPoliciesResponse, 3.1.4.1.3.2 CA,
 * 3.1.4.1.3.3 CAURI): Kerberos and other URIs, nil priority and
 * renewalOnly, nil cAs, faults, wrong namespaces, missing or malformed
 * fields, a document type, too many CAs.  The order policy servers are
 * asked in (cep_order). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cep.h"
#include "directory.h"
#include "util.h"
#include "wstep.h"

#define ENV_OPEN "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" " \
	"xmlns:a=\"http://www.w3.org/2005/08/addressing\"><s:Header><a:Action s:mustUnderstand=\"1\">" \
	XCEP_NS "/IPolicy/GetPoliciesResponse</a:Action></s:Header><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>"
#define GPR_OPEN "<GetPoliciesResponse xmlns=\"" XCEP_NS "\" xmlns:xsi=\"" XCEP_NS_XSI "\">" \
	"<response><policyID>{A}</policyID><policyFriendlyName>AD</policyFriendlyName>" \
	"<nextUpdateHours>8</nextUpdateHours><policiesNotChanged xsi:nil=\"true\"/>" \
	"<policies xsi:nil=\"true\"/></response>"
#define GPR_CLOSE "<oIDs xsi:nil=\"true\"/></GetPoliciesResponse>"
#define URI(auth, url, prio, ro) "<cAURI><clientAuthentication>" auth "</clientAuthentication><uri>" url \
	"</uri>" prio ro "</cAURI>"
#define PRIO(p) "<priority>" p "</priority>"
#define RO(r) "<renewalOnly>" r "</renewalOnly>"
#define CA(uris, cert, ref) "<cA><uris>" uris "</uris><certificate>" cert "</certificate>" \
	"<enrollPermission>true</enrollPermission><cAReferenceID>" ref "</cAReferenceID></cA>"
#define KERB_URL "https://ca.example.test/Example%20CA_CES_Kerberos/service.svc/CES"
#define RENEW_URL "https://ca.example.test/Example%20CA_CES_Kerberos_Renewal/service.svc/CES"
#define PW_URL "https://ca.example.test/Example%20CA_CES_UsernamePassword/service.svc/CES"
/* "CA1" and "CA2" stand for the DER of two CA certificates */
#define CERT1 "Q0Ex"
#define CERT2 "Q0Ey"

static int parse(long status, const char *xml, struct xcep_policy *p)
{
	return xcep_parse_response(status, xml, strlen(xml), p);
}

static void test_build(void **state)
{
	(void)state;
	char *x = xcep_build_get_policies("https://ca.example.test/ADPolicyProvider_CEP_Kerberos/service.svc/CEP",
					  "urn:uuid:00000000-0000-4000-8000-000000000000");
	assert_non_null(x);
	assert_non_null(strstr(x, ">" XCEP_ACTION_GETPOLICIES "</a:Action>"));
	assert_non_null(strstr(x, "<GetPolicies xmlns=\"" XCEP_NS "\""));
	assert_non_null(strstr(x, "<lastUpdate xsi:nil=\"true\"/>"));
	assert_non_null(strstr(x, "<preferredLanguage xsi:nil=\"true\"/>"));
	assert_non_null(strstr(x, "<requestFilter xsi:nil=\"true\"/>"));
	assert_non_null(strstr(x, ">https://ca.example.test/ADPolicyProvider_CEP_Kerberos/service.svc/CEP</a:To>"));
	free(x);
	assert_null(xcep_build_get_policies("https://h/CEP\n", "urn:uuid:1"));
	assert_null(xcep_build_get_policies(NULL, "urn:uuid:1"));
}

static void test_parse(void **state)
{
	(void)state;
	struct xcep_policy p;
	const char *xml = ENV_OPEN GPR_OPEN "<cAs>"
		CA(URI("2", KERB_URL, PRIO("2"), RO("false")) URI("2", RENEW_URL, PRIO("1"), RO("true"))
		   URI("4", PW_URL, "<priority xsi:nil=\"true\"/>", "<renewalOnly xsi:nil=\"true\"/>"), CERT1, "0")
		CA(URI("2", "https://other.example.test/Other_CES_Kerberos/service.svc/CES", PRIO("1"), RO("0")),
		   "Q0Ey\n", "7")
		"</cAs>" GPR_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &p), 0);
	assert_int_equal(p.n_cas, 2);
	assert_int_equal(p.cas[0].reference_id, 0);
	assert_int_equal(p.cas[0].cert_len, 3);
	assert_memory_equal(p.cas[0].cert_der, "CA1", 3);
	assert_int_equal(p.cas[0].n_uris, 3);
	assert_int_equal(p.cas[0].uris[0].auth, 2);
	assert_string_equal(p.cas[0].uris[0].url, KERB_URL);
	assert_int_equal(p.cas[0].uris[0].priority, 2);
	assert_false(p.cas[0].uris[0].renewal_only);
	assert_true(p.cas[0].uris[1].renewal_only);
	assert_int_equal(p.cas[0].uris[2].auth, 4);
	assert_int_equal(p.cas[0].uris[2].priority, UINT_MAX);   /* nil: last */
	assert_false(p.cas[0].uris[2].renewal_only);
	assert_int_equal(p.cas[1].reference_id, 7);
	assert_memory_equal(p.cas[1].cert_der, "CA2", 3);
	xcep_policy_free(&p);

	/* nil cAs: a policy without CAs is an answer, with nothing in it */
	assert_int_equal(parse(200, ENV_OPEN GPR_OPEN "<cAs xsi:nil=\"true\"/>" GPR_CLOSE ENV_CLOSE, &p), 0);
	assert_int_equal(p.n_cas, 0);
	xcep_policy_free(&p);
}

static void refused(const char *xml, long status, const char *why)
{
	struct xcep_policy p;
	assert_int_equal(xcep_parse_response(status, xml, strlen(xml), &p), -1);
	assert_null(p.cas);
	assert_int_equal(p.n_cas, 0);
	if (!strstr(p.message, why))
		fail_msg("message \"%s\" lacks \"%s\"", p.message, why);
	xcep_policy_free(&p);
}

static void test_malformed(void **state)
{
	(void)state;
	const char *ok_ca = CA(URI("2", KERB_URL, PRIO("1"), RO("false")), CERT1, "0");
	refused("", 200, "empty");
	refused("<s:Envelope", 200, "not well-formed");
	refused("<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY x \"y\">]>" ENV_OPEN ENV_CLOSE, 200, "document type");
	refused("<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><Body/></Envelope>", 200, "SOAP 1.2");
	refused(ENV_OPEN ENV_CLOSE, 200, "empty Body");
	refused(ENV_OPEN "<s:Fault><s:Code><s:Value>s:Receiver</s:Value></s:Code><s:Reason><s:Text xml:lang=\"en\">"
		"Access\ris denied.</s:Text></s:Reason></s:Fault>" ENV_CLOSE, 500, "Access is denied.");
	/* the right element in another namespace (the WSTEP one) */
	refused(ENV_OPEN "<GetPoliciesResponse xmlns=\"" WSTEP_NS_ENROLL "\"/>" ENV_CLOSE, 200, "not an MS-XCEP");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", KERB_URL, PRIO("1"), RO("false")), CERT1, "0") "</cAs>"
		GPR_CLOSE ENV_CLOSE, 500, "HTTP 500");
	refused(ENV_OPEN GPR_OPEN GPR_CLOSE ENV_CLOSE, 200, "without cAs");
	refused(ENV_OPEN GPR_OPEN "<cAs><cA xmlns=\"urn:other\"/></cAs>" GPR_CLOSE ENV_CLOSE, 200, "not cA");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", KERB_URL, PRIO("1"), RO("false")), "not base64!", "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "certificate is not base64");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", KERB_URL, PRIO("1"), RO("false")), "", "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "certificate is not base64");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", KERB_URL, PRIO("1"), RO("false")), CERT1, "-1")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "cAReferenceID");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA("", CERT1, "0") "</cAs>" GPR_CLOSE ENV_CLOSE, 200, "no cAURI");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", "http://ca.example.test/CES", PRIO("1"), RO("false")), CERT1, "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "https://");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", "https://ca.example.test/a b", PRIO("1"), RO("false")), CERT1, "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "https://");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("kerberos", KERB_URL, PRIO("1"), RO("false")), CERT1, "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "clientAuthentication");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", KERB_URL, PRIO("-1"), RO("false")), CERT1, "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "priority");
	refused(ENV_OPEN GPR_OPEN "<cAs>" CA(URI("2", KERB_URL, PRIO("1"), RO("maybe")), CERT1, "0")
		"</cAs>" GPR_CLOSE ENV_CLOSE, 200, "renewalOnly");
	/* a cAURI in the WSTEP namespace is not an MS-XCEP one */
	refused(ENV_OPEN GPR_OPEN "<cAs><cA><uris><cAURI xmlns=\"" WSTEP_NS_ENROLL "\"/></uris><certificate>"
		CERT1 "</certificate><cAReferenceID>0</cAReferenceID></cA></cAs>" GPR_CLOSE ENV_CLOSE, 200, "not cAURI");

	/* more CAs than XCEP_MAX_CAS */
	size_t n = XCEP_MAX_CAS + 1, one = strlen(ok_ca);
	char *big = xmalloc(strlen(ENV_OPEN GPR_OPEN "<cAs>") + n * one + strlen("</cAs>" GPR_CLOSE ENV_CLOSE) + 1);
	strcpy(big, ENV_OPEN GPR_OPEN "<cAs>");
	for (size_t i = 0; i < n; i++)
		strcat(big, ok_ca);
	strcat(big, "</cAs>" GPR_CLOSE ENV_CLOSE);
	refused(big, 200, "more than");
	free(big);
}

static void service(struct enrollment_service *s, const char *cn, const char *host, const char *cert)
{
	memset(s, 0, sizeof *s);
	s->cn = xstrdup(cn);
	s->dns_host_name = xstrdup(host);
	bloblist_add(&s->ca_certs, (const unsigned char *)cert, strlen(cert));
}

static void test_merge(void **state)
{
	(void)state;
	struct directory d;
	memset(&d, 0, sizeof d);
	d.n_cas = 3;
	d.cas = xcalloc(3, sizeof *d.cas);
	service(&d.cas[0], "Example CA", "ca.example.test", "CA1");
	service(&d.cas[1], "Other", "other.example.test", "XX9");
	service(&d.cas[2], "Third", "third.example.test", "XX8");
	/* Example CA already advertises the Kerberos endpoint (priority 1) */
	d.cas[0].ces = xcalloc(1, sizeof *d.cas[0].ces);
	d.cas[0].n_ces = 1;
	d.cas[0].ces[0].priority = 1;
	d.cas[0].ces[0].auth = CES_AUTH_KERBEROS;
	d.cas[0].ces[0].url = xstrdup("HTTPS://ca.example.test/Example%20CA_CES_Kerberos/service.svc/CES");

	struct xcep_policy p;
	const char *xml = ENV_OPEN GPR_OPEN "<cAs>"
		/* by certificate: the Kerberos one is there already, the password one is not used */
		CA(URI("2", KERB_URL, PRIO("1"), RO("false")) URI("2", RENEW_URL, PRIO("1"), RO("true"))
		   URI("4", PW_URL, PRIO("0"), RO("false")), CERT1, "0")
		/* by the host of its URI (a certificate the directory does not hold) */
		CA(URI("2", "https://other.example.test/X_CES_Kerberos/service.svc/CES", PRIO("3"), RO("false")),
		   "WFgx", "1")
		/* by the CA name in the URI, on another host */
		CA(URI("2", "https://ces.example.test/Third_CES_Kerberos/service.svc/CES", "<priority xsi:nil=\"true\"/>",
		       RO("false")), "WFgy", "2")
		/* nothing matches: left out */
		CA(URI("2", "https://nowhere.example.test/Nobody_CES_Kerberos/service.svc/CES", PRIO("1"), RO("false")),
		   "WFgz", "3")
		"</cAs>" GPR_CLOSE ENV_CLOSE;
	assert_int_equal(parse(200, xml, &p), 0);
	assert_int_equal(cep_merge(&d, &p, "https://cep.example.test/CEP"), 3);
	assert_int_equal(d.cas[0].n_ces, 2);
	assert_null(d.cas[0].ces[0].policy_server);           /* the directory's first at equal priority */
	assert_string_equal(d.cas[0].ces[1].url, RENEW_URL);
	assert_true(d.cas[0].ces[1].renewal_only);
	assert_string_equal(d.cas[0].ces[1].policy_server, "https://cep.example.test/CEP");
	assert_int_equal(d.cas[1].n_ces, 1);
	assert_int_equal(d.cas[1].ces[0].priority, 3);
	assert_int_equal(d.cas[2].n_ces, 1);
	assert_int_equal(d.cas[2].ces[0].priority, UINT_MAX);
	/* asked again (a second policy server with the same CAs): nothing twice */
	assert_int_equal(cep_merge(&d, &p, "https://cep2.example.test/CEP"), 0);
	xcep_policy_free(&p);
	directory_free(&d);
}

static void server(struct ae_policy_server *s, const char *url, const char *policy_id, uint32_t cost,
		   uint32_t auth, uint32_t flags)
{
	memset(s, 0, sizeof *s);
	s->url = (char *)url;
	s->policy_id = (char *)policy_id;
	s->cost = cost;
	s->auth_flags = auth;
	s->flags = flags;
}

/* [MS-CAESO] 4.4.5.3.2.3: grouped by PolicyID, Cost ascending, equal Cost
 * Kerberos then anonymous then the rest; groups by their cheapest member;
 * Group Policy order breaks the remaining ties. */
static void test_order(void **state)
{
	(void)state;
	struct ae_policy_server sv[8];
	struct ae_policy p;
	memset(&p, 0, sizeof p);
	p.servers = sv;
	p.n_servers = 8;
	server(&sv[0], "https://b2/CEP", "{B}", 20, 2, 0x10);     /* group B, second */
	server(&sv[1], "https://a-pw/CEP", "{A}", 5, 4, 0x10);     /* group A, cost 5, password: after anonymous */
	server(&sv[2], "https://b1/CEP", "{b}", 10, 2, 0x10);      /* group B (case ignored), cheapest of B */
	server(&sv[3], "https://a-anon/CEP", "{A}", 5, 1, 0x10);   /* group A, cost 5, anonymous */
	server(&sv[4], "https://a-kerb/CEP", "{A}", 5, 2, 0x14);   /* group A, cost 5, Kerberos: first of A */
	server(&sv[5], "LDAP:", "{C}", 0x7ffffffd, 0, 0x10);      /* the directory itself */
	server(&sv[6], "https://solo/CEP", NULL, 7, 0, 0x4);      /* no PolicyID: its own group; not autoenrollment */
	server(&sv[7], "https://a-kerb2/CEP", "{A}", 5, 0, 0x10); /* unset AuthFlags ranks as Kerberos, after a-kerb */
	struct cep_choice *c = NULL;
	assert_int_equal(cep_order(&p, CEP_USE_AUTOENROLLMENT, &c), 8);
	const char *want[] = { "https://a-kerb/CEP", "https://a-kerb2/CEP", "https://a-anon/CEP", "https://a-pw/CEP",
			       "https://solo/CEP", "https://b1/CEP", "https://b2/CEP", "LDAP:" };
	const size_t groups[] = { 0, 0, 0, 0, 1, 2, 2, 3 };
	const enum cep_verdict verdicts[] = { CEP_ASK, CEP_ASK, CEP_NOT_KERBEROS, CEP_NOT_KERBEROS,
					      CEP_NOT_AUTOENROLLMENT, CEP_ASK, CEP_ASK, CEP_NOT_HTTPS };
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(c[i].server->url, want[i]);
		assert_int_equal(c[i].group, groups[i]);
		assert_int_equal(c[i].verdict, verdicts[i]);
	}
	free(c);
	/* a manual enrollment asks a server not enabled for autoenrollment; the order is the same */
	assert_int_equal(cep_order(&p, CEP_USE_MANUAL, &c), 8);
	assert_string_equal(c[4].server->url, "https://solo/CEP");
	assert_int_equal(c[4].verdict, CEP_ASK);
	free(c);
	/* Cost decides, whatever the Group Policy order: swapping the costs swaps the servers */
	sv[0].cost = 10;
	sv[2].cost = 20;
	assert_int_equal(cep_order(&p, CEP_USE_MANUAL, &c), 8);
	assert_string_equal(c[5].server->url, "https://b2/CEP");
	assert_string_equal(c[6].server->url, "https://b1/CEP");
	free(c);
	/* equal everything: Group Policy order */
	sv[2].cost = 10;
	assert_int_equal(cep_order(&p, CEP_USE_MANUAL, &c), 8);
	assert_string_equal(c[5].server->url, "https://b2/CEP");
	assert_string_equal(c[6].server->url, "https://b1/CEP");
	free(c);
	/* no server */
	p.n_servers = 0;
	assert_int_equal(cep_order(&p, CEP_USE_MANUAL, &c), 0);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
