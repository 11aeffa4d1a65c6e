/* plan_template / plan_held_item (plan.h): the facts of a run built in
 * memory (config, local policy switches, certificates, a state directory
 * with pending records) and the plan each gives: action, rule, dates,
 * request, key, --force, the policy switches, pending requests. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "aepolicy.h"
#include "config.h"
#include "fsutil.h"
#include "json.h"
#include "plan.h"
#include "state.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define DAY 86400
#define NB ((time_t)1700000000)   /* notBefore of every held certificate */

struct fixture {
	char dir[64];
	struct config cfg;
	struct ae_policy aep;
	struct template t;               /* 1 year, renewal period 6 weeks, major 2 */
	EVP_PKEY *key;
	struct store_item item;          /* a certificate of t, NB .. NB + 365 days */
	struct plan_context ctx;
	struct plan p;
};

static X509 *cert_for(EVP_PKEY *key, time_t nb, time_t na)
{
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_plan.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	config_defaults(&f->cfg);
	free(f->cfg.state_dir);
	f->cfg.state_dir = xstrdup(f->dir);
	ae_policy_local(&f->aep, &f->cfg);
	f->t.cn = "Workstation";
	f->t.oid = "1.2.3.4.5";
	f->t.major_version = 2;
	f->t.has_validity = true;
	f->t.validity_seconds = 365 * DAY;
	f->t.has_renewal = true;
	f->t.renewal_seconds = 42 * DAY;
	f->key = EVP_EC_gen("P-256");
	assert_non_null(f->key);
	f->item.store_name = "pem";
	f->item.template_cn = "Workstation";
	f->item.template_oid = "1.2.3.4.5";
	f->item.major = 2;
	f->item.has_version = true;
	f->item.key_path = "/nonexistent/Workstation.key";   /* named, never read */
	f->item.cert = cert_for(f->key, NB, NB + 365 * DAY);
	f->ctx.cfg = &f->cfg;
	f->ctx.mode = ADENROLL_MODE_MACHINE;
	f->ctx.now = NB + 10 * DAY;
	f->ctx.aep = &f->aep;
	f->ctx.items = &f->item;
	f->ctx.n_items = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	plan_free(&f->p);
	X509_free(f->item.cert);
	EVP_PKEY_free(f->key);
	strlist_free(&f->t.supersedes);
	config_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The local switches as the run's policy (after changing cfg). */
static void policy_from_cfg(struct fixture *f)
{
	ae_policy_local(&f->aep, &f->cfg);
}

static void plan(struct fixture *f)
{
	plan_free(&f->p);
	plan_template(&f->ctx, &f->t, false, &f->p);
}

static void record_pending(struct fixture *f)
{
	struct pending_request pr = { .template_cn = "Workstation", .ca_name = "CA", .ca_host = "ca.example",
				      .request_id = 42, .submitted = NB };

	assert_int_equal(state_pending_save(&f->cfg, ADENROLL_MODE_MACHINE, &pr, f->key, "CSR"), 0);
}

static void test_nothing_held_enrolls_with_a_new_key(void **state)
{
	struct fixture *f = *state;

	f->ctx.n_items = 0;
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_ENROLL);
	assert_string_equal(plan_action_name(&f->p), "enroll");
	assert_null(f->p.held);
	assert_int_equal(f->p.request, PLAN_REQUEST_NEW);
	assert_int_equal(f->p.key, PLAN_KEY_NEW);
	assert_null(f->p.transport);   /* no CA order asked for: no transport named */
	assert_int_equal(f->p.not_after, 0);
	assert_int_equal(f->p.d.renew_at, 0);
	assert_string_equal(plan_request_text(&f->p), "new enrollment: no certificate held");
	assert_false(f->p.pending);
}

static void test_valid_keeps_with_dates(void **state)
{
	struct fixture *f = *state;

	plan(f);
	assert_int_equal(f->p.d.action, POLICY_KEEP);
	assert_ptr_equal(f->p.held, &f->item);
	assert_int_equal(f->p.not_before, NB);
	assert_int_equal(f->p.not_after, NB + 365 * DAY);
	assert_int_equal(f->p.d.renew_at, NB + 323 * DAY);   /* the period rule dominates */
	assert_int_equal(f->p.d.renew_by_period, NB + 323 * DAY);
	assert_int_equal(f->p.d.renew_basis, RENEW_BASIS_PERIOD);
	assert_int_equal(f->p.request, PLAN_REQUEST_NONE);
	assert_int_equal(f->p.key, PLAN_KEY_NONE);
	assert_null(plan_request_text(&f->p));
	assert_false(f->p.forced);
}

static void test_due_renews_signed_by_the_held_certificate(void **state)
{
	struct fixture *f = *state;

	f->ctx.now = NB + 330 * DAY;
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_RENEW);
	assert_int_equal(f->p.request, PLAN_REQUEST_RENEWAL);
	assert_int_equal(f->p.key, PLAN_KEY_NEW);
	assert_non_null(strstr(f->p.d.rule, "renewal due since"));
}

static void test_key_reuse_by_config_or_template_flag(void **state)
{
	struct fixture *f = *state;

	f->ctx.now = NB + 330 * DAY;
	f->cfg.reuse_key = true;
	plan(f);
	assert_int_equal(f->p.key, PLAN_KEY_HELD);
	assert_non_null(strstr(plan_request_text(&f->p), "the held key is kept"));

	f->cfg.reuse_key = false;
	f->t.private_key_flag = CT_PK_REQUIRE_SAME_KEY_RENEWAL;
	plan(f);
	assert_int_equal(f->p.key, PLAN_KEY_HELD);

	/* a held certificate without a key file of its own: a new key */
	f->item.key_path = NULL;
	plan(f);
	assert_int_equal(f->p.request, PLAN_REQUEST_RENEWAL);
	assert_int_equal(f->p.key, PLAN_KEY_NEW);
}

static void test_expired_is_a_new_enrollment(void **state)
{
	struct fixture *f = *state;

	f->ctx.now = NB + 366 * DAY;
	f->cfg.reuse_key = true;
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_ENROLL);
	assert_int_equal(f->p.request, PLAN_REQUEST_NEW);
	assert_int_equal(f->p.key, PLAN_KEY_NEW);   /* never the key of a certificate that is not renewed */
	assert_string_equal(plan_request_text(&f->p), "new enrollment: an expired certificate cannot sign a renewal");
	assert_int_equal(f->p.not_after, NB + 365 * DAY);
}

static void test_force_replaces_only_what_is_kept(void **state)
{
	struct fixture *f = *state;

	f->ctx.force = true;
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_REENROLL);
	assert_true(f->p.forced);
	/* signed by the certificate it replaces, as certreq -renew */
	assert_int_equal(f->p.request, PLAN_REQUEST_RENEWAL);
	assert_int_equal(f->p.key, PLAN_KEY_NEW);
	assert_non_null(strstr(f->p.d.rule, "--force, although: certificate good"));
	f->cfg.reuse_key = true;
	plan(f);
	assert_int_equal(f->p.request, PLAN_REQUEST_RENEWAL);
	assert_int_equal(f->p.key, PLAN_KEY_HELD);
	f->cfg.reuse_key = false;

	f->ctx.now = NB + 330 * DAY;
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_RENEW);
	assert_false(f->p.forced);
}

static void test_superseded_held_certificate_reenrolls_unsigned(void **state)
{
	struct fixture *f = *state;
	struct template next = { .cn = "Workstation2", .oid = "1.2.3.4.6", .major_version = 1,
				 .has_renewal = true, .renewal_seconds = 42 * DAY };

	strlist_add(&next.supersedes, "Workstation");
	f->ctx.now = NB + 330 * DAY;   /* due, yet not a renewal: another template */
	f->cfg.reuse_key = true;
	plan_free(&f->p);
	plan_template(&f->ctx, &next, false, &f->p);
	assert_int_equal(f->p.d.action, POLICY_REENROLL);
	assert_string_equal(f->p.superseded_cn, "Workstation");
	assert_ptr_equal(f->p.held, &f->item);
	assert_int_equal(f->p.request, PLAN_REQUEST_NEW);
	assert_int_equal(f->p.key, PLAN_KEY_NEW);
	strlist_free(&next.supersedes);
}

static void test_pending_is_polled_never_resubmitted(void **state)
{
	struct fixture *f = *state;

	f->ctx.n_items = 0;
	f->ctx.force = true;
	record_pending(f);
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_WAIT_PENDING);
	assert_string_equal(plan_action_name(&f->p), "poll");
	assert_true(f->p.pending);
	assert_false(f->p.pending_unreadable);
	assert_int_equal(f->p.pending_req.request_id, 42);
	assert_int_equal(f->p.request, PLAN_REQUEST_POLL);
	assert_int_equal(f->p.key, PLAN_KEY_PENDING);
	assert_false(f->p.forced);

	/* retrieve_pending (AEPolicy 0x4) off: neither polled nor a second request */
	f->cfg.retrieve_pending = false;
	policy_from_cfg(f);
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_int_equal(f->p.request, PLAN_REQUEST_NONE);
	assert_non_null(strstr(f->p.d.rule, "retrieve_pending (AEPolicy 0x4) is off: the local configuration"));
}

static void test_unreadable_pending_record_still_blocks_a_new_request(void **state)
{
	struct fixture *f = *state;
	char *dir = fs_path_join(f->dir, "pending"), *stem = state_file_stem("Workstation");
	char *path = xasprintf("%s/%s.req", dir, stem);
	FILE *fp;

	f->ctx.n_items = 0;
	assert_int_equal(fs_mkdir_p(dir, 0700), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("garbage without a request id\n", fp);
	fclose(fp);
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_WAIT_PENDING);
	assert_true(f->p.pending_unreadable);
	assert_int_equal(f->p.request, PLAN_REQUEST_POLL);
	assert_non_null(strstr(f->p.d.rule, "cannot be read"));
	free(path);
	free(stem);
	free(dir);
}

static void test_disabled_skips_everything_and_keeps_dates(void **state)
{
	struct fixture *f = *state;

	f->cfg.ae_disabled = true;
	f->cfg.offline_expiration_percent = 99;
	policy_from_cfg(f);
	f->ctx.force = true;
	f->ctx.now = NB + 364 * DAY;
	record_pending(f);
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_false(f->p.forced);
	assert_int_equal(f->p.request, PLAN_REQUEST_NONE);
	assert_false(f->p.offline_expiring);
	assert_string_equal(f->p.d.rule,
			    "autoenrollment is disabled by the local configuration ([policy] disabled = yes)");
	assert_int_equal(f->p.d.renew_at, NB + 323 * DAY);
	assert_int_equal(f->p.not_after, NB + 365 * DAY);
}

static void test_switch_off_names_its_origin(void **state)
{
	struct fixture *f = *state;

	f->ctx.now = NB + 330 * DAY;
	f->cfg.renew_expiring = false;
	policy_from_cfg(f);
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_non_null(strstr(f->p.d.rule, "renew_and_remove_revoked (AEPolicy 0x2) is off "
			       "(the local configuration ([policy] in adenroll.conf))"));

	f->ctx.n_items = 0;
	f->cfg.update_templates = false;
	policy_from_cfg(f);
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_non_null(strstr(f->p.d.rule, "update_templates (AEPolicy 0x1) is off (the local configuration"));

	/* a template flag is not a switch: no origin */
	f->ctx.n_items = 1;
	f->cfg.renew_expiring = true;
	f->cfg.update_templates = true;
	policy_from_cfg(f);
	f->t.enrollment_flag = CT_EF_SKIP_AUTO_RENEWAL;
	plan(f);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_null(strstr(f->p.d.rule, "local configuration"));
}

static void test_renewal_only_template_is_never_enrolled_anew(void **state)
{
	struct fixture *f = *state;
	struct directory dir;

	memset(&dir, 0, sizeof(dir));
	f->ctx.dir = &dir;
	f->ctx.n_items = 0;
	plan_free(&f->p);
	plan_template(&f->ctx, &f->t, true, &f->p);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_true(f->p.adjusted);
	assert_int_equal(f->p.request, PLAN_REQUEST_NONE);
	assert_non_null(strstr(f->p.d.rule, "msPKI-RA-Signature"));

	/* its reason replaces a switch's, and names no policy origin */
	f->cfg.update_templates = false;
	policy_from_cfg(f);
	plan_free(&f->p);
	plan_template(&f->ctx, &f->t, true, &f->p);
	assert_int_equal(f->p.d.action, POLICY_SKIP);
	assert_true(f->p.adjusted);
	assert_non_null(strstr(f->p.d.rule, "msPKI-RA-Signature"));
	assert_null(strstr(f->p.d.rule, "local configuration"));
	f->cfg.update_templates = true;
	policy_from_cfg(f);

	/* ... and renewed when held and due */
	f->ctx.n_items = 1;
	f->ctx.now = NB + 330 * DAY;
	plan_free(&f->p);
	plan_template(&f->ctx, &f->t, true, &f->p);
	assert_int_equal(f->p.d.action, POLICY_RENEW);
	assert_false(f->p.adjusted);
}

static void test_offline_expiring_below_the_percentage(void **state)
{
	struct fixture *f = *state;

	f->cfg.offline_expiration_percent = 10;
	policy_from_cfg(f);
	f->ctx.now = NB + 300 * DAY;
	plan(f);
	assert_false(f->p.offline_expiring);
	f->ctx.now = NB + 330 * DAY;   /* 35 of 365 days left: < 10% */
	plan(f);
	assert_true(f->p.offline_expiring);
}

/* Revocation is asked only when the decision depends on it; a certificate
 * without a CRL distribution point gives "unknown", noted, not acted on. */
static void test_revocation_checked_only_when_it_decides(void **state)
{
	struct fixture *f = *state;
	struct revocation_ctx *rev = revocation_ctx_new(NULL, NULL, false);

	f->ctx.rev = rev;
	plan(f);
	assert_int_equal(f->p.revocation, REVOCATION_UNKNOWN);
	assert_int_equal(f->p.d.action, POLICY_KEEP);
	assert_non_null(strstr(f->p.d.note, "revocation status unknown"));

	f->ctx.now = NB + 366 * DAY;   /* expired */
	plan(f);
	assert_int_equal(f->p.revocation, REVOCATION_NOT_CHECKED);

	f->ctx.now = NB + 10 * DAY;
	f->cfg.renew_expiring = false;
	policy_from_cfg(f);
	plan(f);
	assert_int_equal(f->p.revocation, REVOCATION_NOT_CHECKED);

	f->cfg.renew_expiring = true;
	policy_from_cfg(f);
	record_pending(f);
	plan(f);
	assert_int_equal(f->p.revocation, REVOCATION_NOT_CHECKED);
	revocation_ctx_free(rev);
}

/* An item from the held-certificate index (no X509) is checked from its
 * facts when they are enough; the certificate is read only when not. */
static void test_revocation_from_the_index_facts(void **state)
{
	struct fixture *f = *state;
	struct revocation_ctx *rev = revocation_ctx_new(NULL, NULL, false);
	struct store_item saved = f->item;
	char no_urls[] = "";

	f->ctx.rev = rev;
	f->item.cert = NULL;
	f->item.cert_file = "/nonexistent/cert.pem";   /* reading it fails */
	f->item.has_facts = true;
	f->item.not_before = NB;
	f->item.not_after = NB + 365 * DAY;
	snprintf(f->item.serial, sizeof(f->item.serial), "6101");
	memset(f->item.sha256, 'a', 64);
	f->item.has_crl_facts = true;
	f->item.crl_urls = no_urls;
	plan(f);
	assert_int_equal(f->p.revocation, REVOCATION_UNKNOWN);
	assert_string_equal(f->p.revocation_detail, "the certificate names no CRL distribution point");

	f->item.has_crl_facts = false;
	plan(f);
	assert_int_equal(f->p.revocation, REVOCATION_UNKNOWN);
	assert_string_equal(f->p.revocation_detail, "the certificate file could not be read again");
	f->item = saved;
	revocation_ctx_free(rev);
}

/* status: the item itself, the template as recorded, no directory. */
static void test_held_item_plan_matches_template_plan(void **state)
{
	struct fixture *f = *state;
	struct plan q;

	f->ctx.now = NB + 330 * DAY;
	plan(f);
	plan_held_item(&f->ctx, &f->t, &f->item, &q);
	assert_int_equal(q.d.action, f->p.d.action);
	assert_string_equal(q.d.rule, f->p.d.rule);
	assert_int_equal(q.d.renew_at, f->p.d.renew_at);
	assert_int_equal(q.request, f->p.request);
	assert_int_equal(q.key, f->p.key);
	plan_free(&q);
}

static void test_json_has_every_field(void **state)
{
	struct fixture *f = *state;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct json_writer w;

	f->ctx.now = NB + 330 * DAY;
	f->cfg.reuse_key = true;
	plan(f);
	json_init(&w, mem);
	plan_json(&w, NULL, &f->p);
	json_finish(&w);
	fclose(mem);
	assert_non_null(strstr(buf, "\"action\":\"renew\""));
	assert_non_null(strstr(buf, "\"not_after\":\"2024-11-13T22:13:20Z\""));
	assert_non_null(strstr(buf, "\"renew_at\":\"2024-10-02T22:13:20Z\""));
	assert_non_null(strstr(buf, "\"renew_basis\":\"renewal period\""));
	assert_non_null(strstr(buf, "\"request\":\"renewal\""));
	assert_non_null(strstr(buf, "\"key\":\"held\""));
	assert_non_null(strstr(buf, "\"transport\":null"));
	assert_non_null(strstr(buf, "\"forced\":false"));
	assert_non_null(strstr(buf, "\"pending\":false"));
	assert_non_null(strstr(buf, "\"ca_order\":[]"));
	assert_non_null(strstr(buf, "\"superseded_template\":null"));
	free(buf);
}

/* Two CAs publishing the template, by cn without case: a-ca (web
 * enrollment only), B-CA (a renewal-only CES endpoint of priority 1, one
 * for every request of priority 2, then web enrollment). */
static void two_cas(struct directory *dir, struct enrollment_service cas[2], struct ces_endpoint ces[2])
{
	memset(dir, 0, sizeof(*dir));
	memset(cas, 0, 2 * sizeof(*cas));
	memset(ces, 0, 2 * sizeof(*ces));
	ces[0] = (struct ces_endpoint){ .priority = 1, .auth = CES_AUTH_KERBEROS, .renewal_only = true,
					.url = "https://b.example/B-CA_CES_Kerberos_Renewal/service.svc/CES" };
	ces[1] = (struct ces_endpoint){ .priority = 2, .auth = CES_AUTH_KERBEROS,
					.url = "https://b.example/B-CA_CES_Kerberos/service.svc/CES" };
	cas[0] = (struct enrollment_service){ .cn = "B-CA", .dns_host_name = "b.example", .ces = ces, .n_ces = 2 };
	cas[1] = (struct enrollment_service){ .cn = "a-ca", .dns_host_name = "a.example" };
	for (int i = 0; i < 2; i++)
		strlist_add(&cas[i].templates, "Workstation");
	dir->cas = cas;
	dir->n_cas = 2;
}

static void test_route_is_worked_out_once_per_plan(void **state)
{
	struct fixture *f = *state;
	struct directory dir;
	struct enrollment_service cas[2];
	struct ces_endpoint ces[2];

	two_cas(&dir, cas, ces);
	f->ctx.dir = &dir;
	f->ctx.with_route = true;

	/* a new request: both CAs in order, B-CA without its renewal-only endpoint */
	f->ctx.n_items = 0;
	plan(f);
	assert_int_equal(f->p.request, PLAN_REQUEST_NEW);
	assert_non_null(f->p.route.cas);
	assert_false(f->p.route.renewal);
	assert_int_equal(f->p.route.n, 2);
	assert_string_equal(f->p.route.cas[0].ca->cn, "a-ca");
	assert_int_equal(f->p.route.cas[0].n_eps, 1);
	assert_false(f->p.route.cas[0].eps[0].ces);
	assert_string_equal(f->p.route.cas[1].ca->cn, "B-CA");
	assert_int_equal(f->p.route.cas[1].n_eps, 2);
	assert_string_equal(f->p.route.cas[1].eps[0].url, ces[1].url);
	assert_false(f->p.route.cas[1].eps[1].ces);
	assert_string_equal(f->p.transport, "certsrv");
	/* asked again (pulse, before it sends): the same route, not a second one */
	struct enroll_route_ca *first = f->p.route.cas;
	assert_true(plan_route(&f->ctx, &f->p));
	assert_ptr_equal(f->p.route.cas, first);

	/* a renewal: the renewal-only endpoint first */
	f->ctx.n_items = 1;
	f->ctx.now = NB + 330 * DAY;
	plan(f);
	assert_int_equal(f->p.request, PLAN_REQUEST_RENEWAL);
	assert_true(f->p.route.renewal);
	assert_int_equal(f->p.route.cas[1].n_eps, 3);
	assert_true(f->p.route.cas[1].eps[0].renewal_only);
	assert_string_equal(f->p.route.cas[1].eps[0].url, ces[0].url);

	/* [enroll] cas: only the CAs named, in that order */
	strlist_add(&f->cfg.cas, "b-ca");
	plan(f);
	assert_int_equal(f->p.route.n, 1);
	assert_string_equal(f->p.route.cas[0].ca->cn, "B-CA");
	assert_string_equal(f->p.transport, "ces");

	/* kept: nothing to send, no route */
	f->ctx.now = NB + 10 * DAY;
	plan(f);
	assert_int_equal(f->p.request, PLAN_REQUEST_NONE);
	assert_null(f->p.route.cas);
	assert_false(plan_route(&f->ctx, &f->p));
	assert_null(f->p.transport);

	/* a pulse plans without it, and works it out when it sends */
	f->ctx.with_route = false;
	f->ctx.now = NB + 330 * DAY;
	plan(f);
	assert_null(f->p.route.cas);
	assert_null(f->p.transport);
	assert_true(plan_route(&f->ctx, &f->p));
	assert_int_equal(f->p.route.n, 1);
	assert_string_equal(f->p.transport, "ces");
	plan_free(&f->p);
	assert_null(f->p.route.cas);
	assert_int_equal(f->p.route.n, 0);

	for (int i = 0; i < 2; i++)
		strlist_free(&cas[i].templates);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(plan_request_name(PLAN_REQUEST_NONE), "none");
	assert_string_equal(plan_request_name(PLAN_REQUEST_POLL), "poll");
	assert_string_equal(plan_request_name(PLAN_REQUEST_NEW), "new");
	assert_string_equal(plan_request_name(PLAN_REQUEST_RENEWAL), "renewal");
	assert_string_equal(plan_key_name(PLAN_KEY_NONE), "none");
	assert_string_equal(plan_key_name(PLAN_KEY_NEW), "new");
	assert_string_equal(plan_key_name(PLAN_KEY_HELD), "held");
	assert_string_equal(plan_key_name(PLAN_KEY_PENDING), "pending");
	plan_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nothing_held_enrolls_with_a_new_key),
		T(test_valid_keeps_with_dates),
		T(test_due_renews_signed_by_the_held_certificate),
		T(test_key_reuse_by_config_or_template_flag),
		T(test_expired_is_a_new_enrollment),
		T(test_force_replaces_only_what_is_kept),
		T(test_superseded_held_certificate_reenrolls_unsigned),
		T(test_pending_is_polled_never_resubmitted),
		T(test_unreadable_pending_record_still_blocks_a_new_request),
		T(test_disabled_skips_everything_and_keeps_dates),
		T(test_switch_off_names_its_origin),
		T(test_renewal_only_template_is_never_enrolled_anew),
		T(test_offline_expiring_below_the_percentage),
		T(test_revocation_checked_only_when_it_decides),
		T(test_revocation_from_the_index_facts),
		T(test_held_item_plan_matches_template_plan),
		T(test_json_has_every_field),
		T(test_route_is_worked_out_once_per_plan),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
