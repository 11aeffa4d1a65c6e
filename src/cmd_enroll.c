/* adenroll enroll TEMPLATE: one enrollment by hand.  It executes the plan a
 * pulse makes for the certificate held for the template (plan.h), as a
 * pulse does: a certificate a pulse would keep is kept unless --force
 * (adenroll(8)); one it would replace is replaced by the same request (a
 * renewal signed by the held certificate when it can sign, MS-WCCE
 * 3.1.1.4.3.2.1), over the same route, with the same events, archive and
 * hooks.  --force on a valid certificate is such a renewal too, as
 * Windows' `certreq -renew`.  Manual enrollment needs what a Windows user
 * needs in certmgr: the Enroll right and a CA publishing the template;
 * the AutoEnroll right and the template's autoenrollment flag are not
 * required.  A request pending for the template is polled instead of
 * submitting a second one. */
#include "adenroll-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aepolicy.h"
#include "cep.h"
#include "cert.h"
#include "commands.h"
#include "discovery.h"
#include "eligibility.h"
#include "enroll.h"
#include "gpo_policy.h"
#include "hooks.h"
#include "keyproc.h"
#include "json.h"
#include "log.h"
#include "plan.h"
#include "policy.h"
#include "revocation.h"
#include "sd.h"
#include "store.h"

/* The checks eligibility.c stops short of when it refuses a template for
 * autoenrollment reasons only (ELIG_NOT_AUTOENROLL, ELIG_V1_TEMPLATE): run the
 * rest of the list for a manual request.  Whether a CA publishing it grants
 * Enroll is the route's to say (route_checked), so each CA not asked is
 * logged once.  0 allowed, -1 with why. */
static int manual_checks(const struct discovery *disc, const struct template *t, char *why, size_t whylen)
{
	struct sd *sd = NULL;
	char err[256];
	int ret = -1;

	if (t->flags & (CT_FLAG_IS_CA | CT_FLAG_IS_CROSS_CA)) {
		snprintf(why, whylen, "it is a CA certificate template");
		goto out;
	}
	if (t->ra_signatures > 0) {
		snprintf(why, whylen, "it requires %u enrollment-agent signature(s)", t->ra_signatures);
		goto out;
	}
	if (t->private_key_flag & CT_PK_REQUIRE_KEY_ARCHIVAL) {
		snprintf(why, whylen, "it requires private key archival at the CA");
		goto out;
	}
	if (t->private_key_flag & CT_PK_ATTEST_REQUIRED) {
		snprintf(why, whylen, "it requires TPM key attestation");
		goto out;
	}
	if (t->key_alg == TEMPLATE_KEY_UNSUPPORTED) {
		snprintf(why, whylen, "it asks for a key algorithm adenroll cannot generate");
		goto out;
	}
	if (sd_parse(t->security_descriptor.data, t->security_descriptor.len, &sd, err, sizeof err) < 0) {
		snprintf(why, whylen, "its security descriptor cannot be read: %s", err);
		goto out;
	}
	struct sd_verdict v;
	sd_check_right(sd, disc->dir.account.token, disc->dir.account.n_token, SD_RIGHT_ENROLL, &v);
	if (!v.granted) {
		snprintf(why, whylen, "%s", v.reason);
		goto out;
	}
	ret = 0;
out:
	sd_free(sd);
	return ret;
}

/* The CES endpoints Group Policy's enrollment policy servers name join the
 * CAs' own, as in a pulse (cep.h), asked only now that a request is about
 * to be sent.  Manual enrollment asks every usable server, also one not
 * enabled for autoenrollment, and also while AEPolicy disables
 * autoenrollment (docs/protocol.md 10.4).  The policy cache is a pulse's:
 * read, never replaced here. */
static void ask_policy_servers(const struct config *cfg, struct discovery *disc)
{
	struct ae_policy aep;

	if (cfg->transport == CONFIG_TRANSPORT_CERTSRV || cfg->policy_source == CONFIG_POLICY_LOCAL)
		return;
	gpo_policy_evaluate(cfg, disc, true, &aep, NULL);
	cep_add_endpoints_for(cfg, &disc->dir, &aep, CEP_USE_MANUAL);
	ae_policy_free(&aep);
}

/* What the plan must still show before a request is sent (cmd_enroll). */
struct manual_terms {
	bool route_checked;     /* no CA granting Enroll is a refusal (manual_checks) */
	bool renewal_only;      /* only a renewal signed by the held certificate (eligibility.h) */
};

static int allowed(const struct discovery *disc, const struct eligibility *e, struct manual_terms *terms,
		   char *why, size_t whylen)
{
	memset(terms, 0, sizeof *terms);
	switch (e->code) {
	case ELIG_OK:
	case ELIG_NO_AUTOENROLL_RIGHT: /* Enroll was granted: checked first */
	case ELIG_SUPERSEDED:
		return 0;
	case ELIG_NOT_AUTOENROLL:
	case ELIG_V1_TEMPLATE:
		terms->route_checked = true;
		return manual_checks(disc, e->template, why, whylen);
	case ELIG_RA_SIGNATURES:
		/* msPKI-RA-Signature = 1 that a renewal's signature provides:
		 * allowed when the plan renews, as in a pulse */
		if (e->renewal_only) {
			terms->renewal_only = true;
			return 0;
		}
		/* fall through */
	default:
		snprintf(why, whylen, "%s", e->reason);
		return -1;
	}
}

/* --json: one object per run; denied and failed carry the error object
 * every --json command prints on failure (adenroll(8), JSON OUTPUT). */
static void print_json(const char *cn, const char *outcome, const struct enroll_report *rep,
		       const char *serial, time_t not_after, bool already_pending, int exit_status)
{
	struct json_writer w;
	char when[32];

	json_init(&w, stdout);
	json_begin_object(&w, NULL);
	json_string(&w, "template", cn);
	json_string(&w, "outcome", outcome);
	json_string(&w, "serial", serial && *serial ? serial : NULL);
	if (not_after > 0) {
		policy_format_time(not_after, when, sizeof when);
		json_string(&w, "not_after", when);
	} else {
		json_null(&w, "not_after");
	}
	json_string(&w, "ca", rep && rep->ca[0] ? rep->ca : NULL);
	if (rep && rep->request_id >= 0)
		json_int(&w, "request_id", rep->request_id);
	else
		json_null(&w, "request_id");
	json_bool(&w, "already_pending", already_pending);
	json_string(&w, "archived", rep && rep->archived[0] ? rep->archived : NULL);
	json_string(&w, "message", rep && rep->message[0] ? rep->message : NULL);
	if (exit_status == ADENROLL_EXIT_FAILURE) {
		json_begin_object(&w, "error");
		json_string(&w, "code", outcome);
		json_string(&w, "message", rep && rep->message[0] ? rep->message : outcome);
		json_int(&w, "exit_status", exit_status);
		json_end_object(&w);
	}
	json_end_object(&w);
	json_finish(&w);
}

/* What a pulse would do with the certificate held for t (plan.h), for a
 * manual request: the autoenrollment switches do not apply to it (all on,
 * whatever Group Policy or [policy] say), nor what the plan adds from the
 * directory (userCertificate, renewal-only templates, supersedence): a
 * certificate of t that a pulse would keep is kept, unless --force.  Its
 * revocation is checked through rev as in a pulse: a revoked certificate
 * is replaced by a new enrollment, never renewed with its key.
 * CT_FLAG_SKIP_AUTO_RENEWAL is about autoenrollment too: a due certificate
 * is renewed by hand (as certmgr's "Renew Certificate"), so the plan is
 * made for manual_t, t without that flag (manual_t must outlive out). */
static void held_plan(const struct config *cfg, const struct cli_options *opt, const struct template *t,
		      struct template *manual_t, struct revocation_ctx *rev, const struct store_item *items,
		      size_t n, struct plan *out)
{
	struct ae_policy aep;
	struct store_lookup *lk = store_lookup_new(items, n, NULL);
	struct plan_context ctx = { .cfg = cfg, .mode = opt->mode, .now = time(NULL), .aep = &aep, .rev = rev,
				    .items = items, .n_items = n, .lookup = lk, .force = opt->force };

	*manual_t = *t;
	manual_t->enrollment_flag &= ~(uint32_t)CT_EF_SKIP_AUTO_RENEWAL;
	ae_policy_local(&aep, cfg);
	aep.aepolicy = AE_BIT_UPDATE_TEMPLATES | AE_BIT_RENEW_AND_REMOVE | AE_BIT_RETRIEVE_PENDING;
	plan_held_item(&ctx, manual_t, store_lookup_find(lk, t), out);
	store_lookup_free(lk);
	ae_policy_free(&aep);
}

/* The event of replacing the held certificate: "renewed" when the plan
 * renews it (due, or --force: a renewal signed by it), else "enrolled" (a
 * new request: expired, revoked, a new major version), as in a pulse. */
static bool renews(const struct plan *p)
{
	return p->d.action == POLICY_RENEW || p->request == PLAN_REQUEST_RENEWAL;
}

/* Executes p, a plan that sends a request, as a pulse does (cmd_pulse.c
 * process()): the CAs and endpoints worked out once (every CA not asked is
 * logged once), the request signed by the held certificate when the plan
 * renews, the held key when it keeps it.  -1 (logged, nothing sent) when
 * terms refuse what the plan would send. */
static int execute(struct discovery *disc, const struct cli_options *opt, const struct config *cfg,
		   const struct template *t, const struct manual_terms *terms, struct plan *p,
		   struct enroll_report *rep)
{
	const char *who = disc->dir.account.sam_account_name ? disc->dir.account.sam_account_name : "this account";
	struct plan_context rctx = { .cfg = cfg, .mode = opt->mode, .dir = &disc->dir, .log_route = true };

	if (terms->renewal_only && p->request != PLAN_REQUEST_RENEWAL) {
		log_error("cannot enroll for %s as %s: it requires 1 enrollment-agent signature (msPKI-RA-Signature), "
			  "which only a renewal signed by a valid certificate of it provides, and %s; have an "
			  "enrollment agent enroll this %s first", t->cn, who,
			  p->held ? "the held certificate cannot sign a renewal" : "no certificate of it is held",
			  opt->mode == ADENROLL_MODE_USER ? "user" : "host");
		return -1;
	}
	log_info("%s: %s: %s", t->cn, plan_action_name(p), p->d.rule);
	ask_policy_servers(cfg, disc);
	plan_route(&rctx, p);
	if (terms->route_checked && p->route.n == 0) {
		log_error("cannot enroll for %s as %s: no enrollment service publishes it%s", t->cn, who,
			  cfg->cas.n ? " among [enroll] cas" : " and grants Enroll");
		return -1;
	}
	/* the index spared the parse until now (store_item_cert); a file that
	 * changed since the listing makes it a new request, as in a pulse */
	X509 *held_cert = p->request == PLAN_REQUEST_RENEWAL ? store_item_cert(p->held) : NULL;
	enroll_routed(disc, cfg, opt->mode, t, &p->route, renews(p), held_cert,
		      p->key == PLAN_KEY_HELD, opt->dry_run, rep);
	return 0;
}

int cmd_enroll(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	struct discovery disc;
	struct eligibility *el = NULL;
	struct store_item *items = NULL;
	size_t n_items = 0;
	struct template manual_t;
	struct plan p;
	struct revocation_ctx *rev = NULL;
	int ret = ADENROLL_EXIT_FAILURE;
	char why[600];

	memset(&p, 0, sizeof p);

	if (argc != 1) {
		fprintf(stderr, "usage: adenroll enroll TEMPLATE\n");
		return ADENROLL_EXIT_USAGE;
	}
	/* before anything reads the network (keyproc.h) */
	if (keyproc_start(cfg, opt->mode) < 0)
		return ADENROLL_EXIT_FAILURE;
	if (discovery_run(cfg, opt->mode, &disc) < 0) {
		keyproc_stop();
		return ADENROLL_EXIT_FAILURE;
	}

	const struct template *t = directory_find_template(&disc.dir, argv[0]);
	if (!t) {
		log_error("no certificate template named \"%s\" in the directory (see `adenroll templates`)", argv[0]);
		ret = ADENROLL_EXIT_USAGE;
		goto out;
	}
	el = xcalloc(disc.dir.n_templates + 1, sizeof *el);
	struct eligibility_options eopt;
	memset(&eopt, 0, sizeof eopt);
	eopt.mode = opt->mode;
	eopt.allow_v1_templates = cfg->allow_v1_templates;
	eligibility_evaluate_all(&disc.dir, &eopt, el);
	const struct eligibility *e = NULL;
	for (size_t i = 0; i < disc.dir.n_templates; i++)
		if (el[i].template == t)
			e = &el[i];
	struct manual_terms terms;
	if (!e || allowed(&disc, e, &terms, why, sizeof why) < 0) {
		log_error("cannot enroll for %s as %s: %s", t->cn,
			  disc.dir.account.sam_account_name ? disc.dir.account.sam_account_name : "this account",
			  e ? why : "not evaluated");
		goto out;
	}

	struct enroll_report rep;
	bool had_pending = false;
	enroll_poll_pending(&disc, cfg, opt->mode, t, opt->dry_run, &had_pending, &rep);
	if (!had_pending) {
		struct store *s = NULL;
		if (store_open(cfg, opt->mode, &s) == 0)
			store_list_indexed(s, &items, &n_items);
		store_close(s);
		/* CRLs over this run's LDAP session, cached as a pulse caches them */
		rev = revocation_ctx_for_run(disc.ldap, &disc.dir, cfg->state_dir, !opt->dry_run);
		held_plan(cfg, opt, t, &manual_t, rev, items, n_items, &p);
		if (p.d.action == POLICY_KEEP) {
			char until[32];
			ret = ADENROLL_EXIT_OK;
			policy_format_time(p.not_after, until, sizeof until);
			if (opt->json)
				print_json(t->cn, "kept", NULL, p.held->serial, p.not_after, false, ret);
			else
				printf("%s: a valid certificate is held (serial %s, expires %s): kept; --force "
				       "replaces it\n", t->cn, p.held->serial, until);
			goto out;
		}
		if (execute(&disc, opt, cfg, t, &terms, &p, &rep) < 0)
			goto out;
	}
	/* A request still pending from an earlier run is no new event; the
	 * hooks' event is the logged one (renews), with the archived copy. */
	if (!opt->dry_run && !(had_pending && rep.outcome == ENROLL_PENDING))
		hooks_run_for_report(cfg, opt->mode, t->cn, &rep, !had_pending && renews(&p),
				     rep.archived[0] ? rep.archived : NULL);

	char when[32];
	if (opt->json) {
		switch (rep.outcome) {
		case ENROLL_ISSUED:
			ret = ADENROLL_EXIT_CHANGED;
			break;
		case ENROLL_PENDING:
			ret = had_pending ? ADENROLL_EXIT_OK : ADENROLL_EXIT_CHANGED;
			break;
		case ENROLL_DENIED:
		case ENROLL_FAILED:
			ret = ADENROLL_EXIT_FAILURE;
			break;
		case ENROLL_DRY_RUN:
			ret = ADENROLL_EXIT_OK;
			break;
		}
		print_json(t->cn, enroll_outcome_name(rep.outcome), &rep, rep.serial,
			   rep.outcome == ENROLL_ISSUED ? rep.not_after : 0, had_pending, ret);
		goto out;
	}
	switch (rep.outcome) {
	case ENROLL_ISSUED:
		policy_format_time(rep.not_after, when, sizeof when);
		printf("%s: enrolled (serial %s, expires %s)\n", t->cn, rep.serial, when);
		ret = ADENROLL_EXIT_CHANGED;
		break;
	case ENROLL_PENDING:
		printf("%s: pending (request %ld at %s)%s\n", t->cn, rep.request_id, rep.ca,
		       had_pending ? ": already submitted, not submitted again" : "");
		ret = had_pending ? ADENROLL_EXIT_OK : ADENROLL_EXIT_CHANGED;
		break;
	case ENROLL_DENIED:
		printf("%s: denied by %s: %s\n", t->cn, rep.ca, rep.message);
		ret = ADENROLL_EXIT_FAILURE;
		break;
	case ENROLL_FAILED:
		printf("%s: failed: %s\n", t->cn, rep.message);
		ret = ADENROLL_EXIT_FAILURE;
		break;
	case ENROLL_DRY_RUN:
		printf("%s: %s\n", t->cn, rep.message);
		ret = ADENROLL_EXIT_OK;
		break;
	}
out:
	keyproc_stop();
	plan_free(&p);
	revocation_ctx_free(rev);
	store_items_free(items, n_items);
	free(el);
	discovery_free(&disc);
	return ret;
}
