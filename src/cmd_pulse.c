/* adenroll pulse: one autoenrollment run (docs/protocol.md 5.2, 5.3): for every
 * template this account may autoenroll, poll a pending request or decide
 * (policy.h) and enroll, renew or keep; one summary line per template. */
#include "adenroll-build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "certsrv.h"
#include "certsrv_page.h"
#include "commands.h"
#include "csr.h"
#include "discovery.h"
#include "eligibility.h"
#include "enroll.h"
#include "hresult.h"
#include "json.h"
#include "keyproc.h"
#include "ldap_conn.h"
#include "log.h"
#include "plan.h"
#include "policy.h"
#include "revocation.h"
#include "runlimit.h"
#include "safetext.h"
#include "state.h"
#include "store.h"
#include "anchors.h"
#include "hooks.h"
#include "metrics.h"
#include "aepolicy.h"
#include "cep.h"
#include "gpo_policy.h"

struct pulse_line {
	const char *template_cn;
	const char *action;          /* "poll", "keep", "skip", "enroll", "renew", "reenroll" */
	char rule[256];
	bool acted;                  /* rep is meaningful */
	bool new_pending;            /* a request was submitted and is now pending */
	struct enroll_report rep;
	time_t not_after, renew_at;  /* for kept certificates */
	bool offline_expiring;       /* less than OfflineExpirationPercent of the lifetime left */
	enum revocation_status revocation;   /* of the held certificate */
	char revocation_detail[512];
	struct plan plan;            /* what was decided (plan.h) */
};

struct pulse_totals {
	unsigned enrolled, renewed, pending, failed, denied, offline_expiring;
	bool changed;
};

/* One line of text output: its pieces come from the directory and the CA,
 * so the whole line is escaped (safetext.h) before it reaches a terminal. */
__attribute__((format(printf, 1, 2)))
static void line_out(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	safetext_sanitize(buf, sizeof buf);
	printf("%s\n", buf);
}

static void print_line(const struct pulse_line *l, bool dry_run)
{
	char when[32], renew[32];
	const struct enroll_report *r = &l->rep;
	if (!l->acted) {
		policy_format_time(l->not_after, when, sizeof when);
		policy_format_time(l->renew_at, renew, sizeof renew);
		if (l->not_after == 0) /* none held: kept or skipped for the reason given */
			line_out("%s: not enrolled: %s\n", l->template_cn, l->rule);
		else if (strcmp(l->action, "skip") == 0)
			line_out("%s: not renewed: %s\n", l->template_cn, l->rule);
		else
			line_out("%s: valid until %s, renewal from %s\n", l->template_cn, when, renew);
		return;
	}
	switch (r->outcome) {
	case ENROLL_ISSUED:
		policy_format_time(r->not_after, when, sizeof when);
		if (l->revocation == REVOCATION_REVOKED) {
			line_out("%s: certificate revoked, re-enrolled (serial %s, expires %s)\n", l->template_cn,
			       r->serial, when);
			break;
		}
		line_out("%s: %s (serial %s, expires %s)\n", l->template_cn,
		       strcmp(l->action, "renew") == 0 ? "renewed" : "enrolled", r->serial, when);
		break;
	case ENROLL_PENDING:
		if (dry_run && strcmp(l->action, "poll") == 0)
			line_out("%s: pending: %s\n", l->template_cn, r->message);
		else
			line_out("%s: pending (request %ld at %s)\n", l->template_cn, r->request_id, r->ca);
		break;
	case ENROLL_DENIED:
		line_out("%s: denied by %s: %s\n", l->template_cn, r->ca, r->message);
		break;
	case ENROLL_FAILED:
		line_out("%s: failed: %s\n", l->template_cn, r->message);
		break;
	case ENROLL_DRY_RUN:
		line_out("%s: would %s (%s): %s\n", l->template_cn, l->action, l->rule, r->message);
		break;
	}
}

static void print_json(const struct pulse_line *lines, size_t n, const struct ae_policy *aep)
{
	struct json_writer w;
	char origin[1200], bits[160];
	ae_origin_text(aep, origin, sizeof origin);
	ae_bits_text(aep->aepolicy, bits, sizeof bits);
	json_init(&w, stdout);
	json_begin_array(&w, NULL);
	for (size_t i = 0; i < n; i++) {
		const struct pulse_line *l = &lines[i];
		json_begin_object(&w, NULL);
		json_string(&w, "template", l->template_cn);
		json_string(&w, "action", l->action);
		json_string(&w, "rule", l->rule[0] ? l->rule : NULL);
		/* where the AEPolicy bits that decided came from */
		json_string(&w, "policy_source", ae_origin_name(aep->origin));
		json_string(&w, "policy_origin", origin);
		json_string(&w, "aepolicy", bits);
		json_bool(&w, "policy_degraded", aep->degraded);
		if (l->offline_expiring)
			json_bool(&w, "offline_expiring", true);
		if (l->revocation != REVOCATION_NOT_CHECKED) {
			json_string(&w, "revocation", revocation_status_name(l->revocation));
			json_string(&w, "revocation_detail", l->revocation_detail);
		}
		if (l->acted) {
			json_string(&w, "outcome", enroll_outcome_name(l->rep.outcome));
			json_string(&w, "ca", l->rep.ca[0] ? l->rep.ca : NULL);
			if (l->rep.request_id >= 0)
				json_int(&w, "request_id", l->rep.request_id);
			else
				json_null(&w, "request_id");
			json_string(&w, "serial", l->rep.serial[0] ? l->rep.serial : NULL);
			if (l->rep.not_after > 0)
				json_int(&w, "not_after", (int64_t)l->rep.not_after);
			if (l->rep.has_hresult) {
				char hex[16];
				snprintf(hex, sizeof hex, "0x%08X", (unsigned)l->rep.hresult);
				json_string(&w, "hresult", hex);
				json_string(&w, "hresult_name", hresult_name(l->rep.hresult));
			}
			json_string(&w, "message", l->rep.message);
		} else {
			json_string(&w, "outcome", "kept");
			json_int(&w, "not_after", (int64_t)l->not_after);
			json_int(&w, "renew_at", (int64_t)l->renew_at);
		}
		plan_json(&w, "plan", &l->plan);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_finish(&w);
}

static void count(struct pulse_totals *tot, const struct pulse_line *l)
{
	if (!l->acted)
		return;
	switch (l->rep.outcome) {
	case ENROLL_ISSUED:
		if (strcmp(l->action, "renew") == 0)
			tot->renewed++;
		else
			tot->enrolled++;
		tot->changed = true;
		break;
	case ENROLL_PENDING:
		tot->pending++;
		if (l->new_pending)
			tot->changed = true;
		break;
	case ENROLL_DENIED:
		tot->denied++;
		break;
	case ENROLL_FAILED:
		tot->failed++;
		break;
	case ENROLL_DRY_RUN:
		break;
	}
}

static void retire_superseded(const struct config *cfg, enum adenroll_mode mode, const char *cn)
{
	struct store *s = NULL;
	char *archived = NULL;
	if (store_open(cfg, mode, &s) == 0 && store_retire(s, cn, &archived) == 0) {
		log_info("%s: superseded certificate archived to %s", cn, archived ? archived : "the archive");
		struct hook_env env = { .template_cn = cn, .archived_path = archived, .request_id = -1,
					.mode = mode == ADENROLL_MODE_USER ? "user" : "machine" };
		hooks_run(cfg->hooks_dir, HOOK_EVENT_ARCHIVED, &env);
	}
	free(archived);
	store_close(s);
}

/* The revocation status the plan found, in the log (the plan itself logs
 * nothing): unknown is reported, not acted on (docs/protocol.md 5.3 step 3). */
static void log_revocation(const struct template *t, const struct plan *p)
{
	char serial[96];

	if (p->revocation == REVOCATION_NOT_CHECKED)
		return;
	snprintf(serial, sizeof serial, "%s", p->held->serial[0] ? p->held->serial : "?");
	if (p->revocation == REVOCATION_REVOKED)
		log_warn("%s: the certificate (serial %s) is %s", t->cn, serial, p->revocation_detail);
	else if (p->revocation == REVOCATION_UNKNOWN)
		log_warn("%s: revocation status of the certificate (serial %s) unknown, not treated as revoked: %s",
			 t->cn, serial, p->revocation_detail);
	else
		log_debug("%s: not revoked: %s", t->cn, p->revocation_detail);
}

/* OfflineExpirationPercent: the plan says the certificate has less than
 * that share of its lifetime left; the event says so. */
static void log_offline_expiring(const struct ae_policy *aep, const struct template *t, const struct plan *p)
{
	char when[32], origin[1200];

	policy_format_time(p->not_after, when, sizeof when);
	ae_origin_text(aep, origin, sizeof origin);
	log_event(LOG_EV_EXPIRING, t->cn, "%s: the certificate expires at %s, less than %u%% of its lifetime "
		  "left (OfflineExpirationPercent from %s)", t->cn, when, aep->offline_pct, origin);
}

static void line_from_plan(struct pulse_line *l, const struct plan *p)
{
	l->action = plan_action_name(p);
	snprintf(l->rule, sizeof l->rule, "%s", p->d.rule);
	l->not_after = p->not_after;
	l->renew_at = p->d.renew_at;
	l->offline_expiring = p->offline_expiring;
	l->revocation = p->revocation;
	snprintf(l->revocation_detail, sizeof l->revocation_detail, "%s", p->revocation_detail);
}

/* CES endpoints named by Group Policy's enrollment policy servers join
 * those the CAs advertise (cep.h), once per run and only when a request is
 * about to be sent: a run that sends nothing asks no policy server. */
static void ask_policy_servers(const struct config *cfg, struct discovery *disc, const struct ae_policy *aep)
{
	if (disc->policy_servers_asked)
		return;
	disc->policy_servers_asked = true;
	if (!ae_disabled(aep))
		cep_add_endpoints(cfg, &disc->dir, aep);
}

/* Executes the plan (plan.h) for t; everything decided is decided there. */
static void process(struct discovery *disc, const struct cli_options *opt, const struct config *cfg,
		    const struct plan_context *pctx, const struct template *t, bool renewal_only, struct pulse_line *l)
{
	struct plan *p = &l->plan;
	bool had_pending = false;

	memset(l, 0, sizeof *l);
	l->template_cn = t->cn;
	plan_template(pctx, t, renewal_only, p);
	if (p->offline_expiring)
		log_offline_expiring(pctx->aep, t, p);
	line_from_plan(l, p);
	if (p->request == PLAN_REQUEST_POLL) {
		/* A pending request is polled, never resubmitted (docs/protocol.md 5.3 rule 2). */
		enroll_poll_pending(disc, cfg, opt->mode, t, opt->dry_run, &had_pending, &l->rep);
		if (had_pending) {
			l->acted = true;
			/* a superseded certificate stays live until its successor is
			 * issued, which for a pending request is now (5.2 step 7) */
			if (l->rep.outcome == ENROLL_ISSUED && p->superseded_cn)
				retire_superseded(cfg, opt->mode,
						  p->held->template_cn ? p->held->template_cn : p->superseded_cn);
			return;
		}
		/* the CA does not know the request and it was forgotten: the
		 * plan without it (enroll anew in this run) */
		plan_free(p);
		plan_template(pctx, t, renewal_only, p);
		line_from_plan(l, p);
		if (p->request == PLAN_REQUEST_POLL) {
			l->action = "skip";
			snprintf(l->rule, sizeof l->rule, "the CA does not know the recorded request, and its record "
				 "could not be removed (see above): nothing new is submitted");
			return;
		}
	}
	log_revocation(t, p);
	if (p->adjusted && p->d.action == POLICY_SKIP)
		log_warn("%s: %s", t->cn, p->d.rule);
	else if (p->adjusted)
		log_info("%s: %s", t->cn, p->d.rule);
	if (p->request == PLAN_REQUEST_NONE)
		return;
	log_info("%s: %s: %s", t->cn, l->action, l->rule);
	l->acted = true;
	ask_policy_servers(cfg, disc, pctx->aep);
	/* the index spared the parse until now (store_item_cert); a file that
	 * changed since the listing makes it a new request, as an unusable
	 * held certificate does */
	X509 *held_cert = p->request == PLAN_REQUEST_RENEWAL ? store_item_cert(p->held) : NULL;
	/* the CAs and endpoints, worked out once (--dry-run's plan has them
	 * already); the held key signs a renewal (MS-WCCE 3.1.1.4.3.2.1), and
	 * is its key when kept: the key process reads it, never this one */
	plan_route(pctx, p);
	enroll_routed(disc, cfg, opt->mode, t, &p->route, p->d.action == POLICY_RENEW, held_cert,
		      p->key == PLAN_KEY_HELD, opt->dry_run, &l->rep);
	l->new_pending = l->rep.outcome == ENROLL_PENDING;
	if (l->rep.outcome == ENROLL_ISSUED && p->superseded_cn)
		retire_superseded(cfg, opt->mode, p->held->template_cn ? p->held->template_cn : p->superseded_cn);
}

int cmd_pulse(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct discovery disc;
	struct eligibility *el = NULL;
	struct store *store = NULL;
	struct store_item *items = NULL;
	size_t n_items = 0, n_lines = 0;
	struct store_lookup *lookup = NULL;
	struct pulse_line *lines = NULL;
	struct pulse_totals tot;
	struct revocation_ctx *rev = NULL;
	int ret = ADENROLL_EXIT_FAILURE;
	struct timespec t0;
	time_t started = time(NULL);
	struct ae_policy aep;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&tot, 0, sizeof tot);
	memset(&aep, 0, sizeof aep);
	memset(&disc, 0, sizeof disc);
	/* Private keys live in the key process, a fresh image started when a
	 * key is first needed; from here on this process may hold none
	 * (keyproc.h). */
	if (keyproc_start(cfg, opt->mode) < 0)
		goto out;
	/* discovery_run leaves disc zeroed on failure: out: frees nothing twice */
	if (discovery_run(cfg, opt->mode, &disc) < 0)
		goto out;
	/* Trust comes only from the signed and sealed LDAP session (Samba
	 * CVE-2026-3012); a failure here must not stop enrollment. */
	if (!opt->dry_run) {
		bool anchors_changed;
		if (anchors_write(cfg, &disc.dir, &anchors_changed) < 0)
			log_warn("the trust anchors in %s could not be updated", cfg->anchors_dir);
	}

	/* The autoenrollment policy (AEPolicy) of this run: Group Policy, its
	 * cache, or the local switches (gpo_policy.h). */
	gpo_policy_evaluate(cfg, &disc, opt->dry_run, &aep, NULL);
	{
		char origin[1200], bits[160];
		ae_origin_text(&aep, origin, sizeof origin);
		ae_bits_text(aep.aepolicy, bits, sizeof bits);
		log_info("autoenrollment policy %s from %s", bits, origin);
		if (ae_disabled(&aep)) {
			char text[1400];
			ae_disabled_text(&aep, text, sizeof text);
			log_info("%s: nothing is enrolled, renewed or collected; held certificates are kept", text);
			if (!opt->json)
				printf("%s\n", text);
		} else if (aep.degraded && !opt->json) {
			printf("Group Policy could not be read (%s): this run follows %s\n", aep.degraded_reason, origin);
		}
	}
	/* --dry-run's plans name the transport: they need every endpoint now */
	if (opt->dry_run)
		ask_policy_servers(cfg, &disc, &aep);

	el = xcalloc(disc.dir.n_templates + 1, sizeof *el);
	struct eligibility_options eopt;
	memset(&eopt, 0, sizeof eopt);
	eopt.mode = opt->mode;
	eopt.allow_v1_templates = cfg->allow_v1_templates;
	eligibility_evaluate_all(&disc.dir, &eopt, el);

	/* The store is read once; installs open their own handle so that no
	 * stale index is ever written back. */
	if (store_open(cfg, opt->mode, &store) < 0 || store_list_indexed(store, &items, &n_items) < 0) {
		log_error("cannot read the certificate store: nothing was changed");
		goto out;
	}
	/* what a run killed while storing left behind (docs/stores.md): the
	 * steps after the commit point, its stable links and hooks included */
	if (!opt->dry_run) {
		store_tidy(store, time(NULL));
		state_tidy(cfg, opt->mode);
		hooks_run_owed(cfg, opt->mode, items, n_items);
	}
	store_close(store);
	store = NULL;

	/* CRLs are read over this run's LDAP session and cached until their
	 * nextUpdate; --dry-run reads the cache but writes nothing. */
	rev = revocation_ctx_for_run(disc.ldap, &disc.dir, cfg->state_dir, !opt->dry_run);
	lookup = store_lookup_new(items, n_items, &disc.dir);
	struct plan_context pctx = {
		.cfg = cfg, .mode = opt->mode, .now = time(NULL), .aep = &aep, .dir = &disc.dir, .rev = rev,
		.items = items, .n_items = n_items, .lookup = lookup, .force = opt->force,
		.with_route = opt->dry_run, .log_route = true,
	};
	lines = xcalloc(disc.dir.n_templates + 1, sizeof *lines);
	bool timed_out = false;
	for (size_t i = 0; i < disc.dir.n_templates; i++) {
		if (el[i].code != ELIG_OK && !el[i].renewal_only) {
			log_debug("%s: %s", el[i].template->cn, el[i].reason);
			continue;
		}
		/* run_timeout: stop between templates, never inside one (runlimit.h) */
		if (runlimit_expired()) {
			log_error("run_timeout (%ld s) reached: stopping before template %s", runlimit_seconds(),
				  el[i].template->cn);
			timed_out = true;
			break;
		}
		struct pulse_line *l = &lines[n_lines++];
		/* a slow CA must not date the decisions of the templates after it */
		pctx.now = time(NULL);
		process(&disc, opt, cfg, &pctx, el[i].template, el[i].renewal_only, l);
		count(&tot, l);
		tot.offline_expiring += l->offline_expiring;
		/* hooks after a change or a verdict; a request still pending is neither */
		if (!opt->dry_run && l->acted && !(l->rep.outcome == ENROLL_PENDING && !l->new_pending))
			hooks_run_for_report(cfg, opt->mode, l->template_cn, &l->rep, strcmp(l->action, "renew") == 0,
					     l->rep.archived[0] ? l->rep.archived : NULL);
		if (!opt->json)
			print_line(l, opt->dry_run);
	}
	if (n_lines == 0 && !opt->json)
		printf("no template to autoenroll for %s (see `adenroll templates`)\n",
		       disc.dir.account.sam_account_name ? safetext(disc.dir.account.sam_account_name) : "this account");
	if (opt->json)
		print_json(lines, n_lines, &aep);

	if (timed_out || runlimit_expired())
		ret = ADENROLL_EXIT_FAILURE;
	else if (tot.failed || tot.denied)
		ret = ADENROLL_EXIT_PARTIAL;
	else if (aep.degraded)
		ret = ADENROLL_EXIT_DEGRADED;
	else if (tot.changed)
		ret = ADENROLL_EXIT_CHANGED;
	else
		ret = ADENROLL_EXIT_OK;

	if (!opt->dry_run) {
		struct last_run lr;
		memset(&lr, 0, sizeof lr);
		lr.finished = time(NULL);
		lr.exit_code = ret;
		lr.enrolled = tot.enrolled;
		lr.renewed = tot.renewed;
		lr.pending = tot.pending;
		lr.failed = tot.failed + tot.denied;
		state_last_run_save(cfg, opt->mode, &lr);
	}
out:
	keyproc_stop();
	if (!opt->dry_run) {
		/* also after a failed discovery: "the last run failed" is what monitoring needs */
		struct metrics_run mr;
		struct timespec t1;
		memset(&mr, 0, sizeof mr);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		mr.started = started;
		mr.finished = time(NULL);
		mr.duration_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		mr.exit_code = ret;
		mr.enrolled = tot.enrolled;
		mr.renewed = tot.renewed;
		mr.pending = tot.pending;
		mr.denied = tot.denied;
		mr.failed = tot.failed;
		mr.offline_expiring = tot.offline_expiring;
		mr.policy_disabled = ae_disabled(&aep);
		mr.policy_degraded = aep.degraded;
		metrics_write_for_run(cfg, opt->mode, &mr);
	}
	/* What the run cost on the wire and where the time went (bench/run.sh parses this line). */
	struct certsrv_stats hs;
	struct csr_stats ks;
	certsrv_get_stats(&hs);
	csr_get_stats(&ks);   /* keys made in this process: none while the key process runs */
	unsigned long kp_keys;
	double kp_seconds;
	keyproc_get_stats(&kp_keys, &kp_seconds);
	ks.keys += kp_keys;
	ks.seconds += kp_seconds;
	log_debug("pulse cost: %lu LDAP operations (bind included) in %.3f s; %lu HTTP requests on %lu "
		  "connections, %lu body bytes received, in %.3f s; %lu keys generated in %.3f s",
		  ldap_conn_op_count(disc.ldap), ldap_conn_seconds(disc.ldap), hs.requests, hs.connections,
		  hs.bytes_in, hs.seconds, ks.keys, ks.seconds);
	revocation_ctx_free(rev);
	ae_policy_free(&aep);
	for (size_t i = 0; lines && i < n_lines; i++)
		plan_free(&lines[i].plan);
	free(lines);
	store_lookup_free(lookup);
	store_items_free(items, n_items);
	store_close(store);
	free(el);
	discovery_free(&disc);
	return ret;
}
