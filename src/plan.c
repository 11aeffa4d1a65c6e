/* One plan per template (plan.h): docs/protocol.md 5.3 (what is done) and
 * 5.4 (when), with the facts policy_decide does not see. */
#include "adenroll-build.h"

#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "enroll.h"
#include "util.h"

/* OfflineExpirationPercent (MS-CAESO 4.4.5.1): less than that share of the
 * lifetime left is worth a warning (renewal should have replaced it by now). */
static bool offline_expiring(const struct ae_policy *aep, const struct plan *p, time_t now)
{
	time_t nb = p->not_before, na = p->not_after;

	if (p->held == NULL || aep->offline_pct == 0 || na <= nb || now >= na)
		return false;
	return (double)(na - now) * 100.0 < (double)(na - nb) * (double)aep->offline_pct;
}

/* The request and key of an action that sends something.  Only a due
 * renewal of the same template, held and valid, is signed by the held
 * certificate and may keep its key: never a revoked (possibly
 * compromised) key, nor another template's.  --force replacing a valid
 * certificate is such a renewal too, as Windows' `certreq -renew` and
 * the MMC's "Renew Certificate" sign with the certificate they replace. */
static void request_and_key(const struct plan_context *ctx, struct plan *p)
{
	const struct template *t = p->t;
	bool renewal = (p->d.action == POLICY_RENEW || (p->forced && p->d.action == POLICY_REENROLL)) &&
		       p->held != NULL && p->superseded_cn == NULL;

	switch (p->d.action) {
	case POLICY_WAIT_PENDING:
		p->request = PLAN_REQUEST_POLL;
		p->key = PLAN_KEY_PENDING;
		return;
	case POLICY_ENROLL:
	case POLICY_RENEW:
	case POLICY_REENROLL:
		break;
	case POLICY_KEEP:
	case POLICY_SKIP:
		return;
	}
	p->request = renewal ? PLAN_REQUEST_RENEWAL : PLAN_REQUEST_NEW;
	p->key = renewal && p->held->key_path != NULL &&
		 (ctx->cfg->reuse_key || (t->private_key_flag & CT_PK_REQUIRE_SAME_KEY_RENEWAL)) ?
		 PLAN_KEY_HELD : PLAN_KEY_NEW;
	if (ctx->with_route)
		plan_route(ctx, p);
}

bool plan_route(const struct plan_context *ctx, struct plan *p)
{
	if (p->route.cas != NULL)
		return true;
	if (ctx->dir == NULL || (p->request != PLAN_REQUEST_NEW && p->request != PLAN_REQUEST_RENEWAL))
		return false;
	enroll_route_make(ctx->dir, ctx->cfg, p->t, p->request == PLAN_REQUEST_RENEWAL, ctx->log_route, &p->route);
	/* the first endpoint of the first CA ([enroll] transport, enroll.h) */
	p->transport = enroll_route_transport(&p->route);
	return true;
}

/* The decision once the pending record and the revocation status are
 * known; the order of the overrides is that of a pulse: policy switched
 * off, then a recorded request, then the certificate. */
static void decide(const struct plan_context *ctx, bool renewal_only, struct plan *p)
{
	const struct ae_policy *aep = ctx->aep;
	const struct template *t = p->t;
	struct policy_input in;
	char origin[1200];

	store_policy_input(&in, ctx->now, ctx->cfg, t, p->held, p->superseded_cn, p->pending);
	in.renew_expiring = ae_renew(aep);
	in.update_templates = ae_update_templates(aep);
	in.revocation = p->revocation;
	policy_decide(&in, &p->d);
	ae_origin_text(aep, origin, sizeof origin);

	/* AEPolicy 0x8000: nothing is enrolled, renewed or collected; what is held stays */
	if (ae_disabled(aep)) {
		p->d.action = POLICY_SKIP;
		ae_disabled_text(aep, p->d.rule, sizeof p->d.rule);
		return;
	}
	p->offline_expiring = offline_expiring(aep, p, ctx->now);
	if (p->pending) {
		/* never a second request while one is recorded (5.3 rule 2) */
		if (!ae_retrieve_pending(aep)) {
			p->d.action = POLICY_SKIP;
			snprintf(p->d.rule, sizeof p->d.rule, "a request is pending at the CA, but retrieve_pending "
				 "(AEPolicy 0x4) is off: %.170s", origin);
		} else if (p->pending_unreadable) {
			snprintf(p->d.rule, sizeof p->d.rule, "a request is recorded as pending, but its record under "
				 "%.150s cannot be read: nothing new is submitted", ctx->cfg->state_dir);
		}
		return;
	}
	if (p->revocation == REVOCATION_REVOKED) {
		char rule[sizeof p->d.rule];

		snprintf(rule, sizeof rule, "%.70s; %.180s", p->d.rule, p->revocation_detail);
		memcpy(p->d.rule, rule, sizeof rule);
	}
	if (p->d.action == POLICY_KEEP && ctx->force) {
		char rule[sizeof p->d.rule];

		snprintf(rule, sizeof rule, "--force, although: %.200s", p->d.rule);
		memcpy(p->d.rule, rule, sizeof rule);
		p->d.action = POLICY_REENROLL;
		p->forced = true;
	}
	if (ctx->dir != NULL) {
		char before[sizeof p->d.rule];

		memcpy(before, p->d.rule, sizeof before);
		enum policy_action a = enroll_final_action(ctx->dir, ctx->mode, t, renewal_only, p->held != NULL,
							   p->d.action, ctx->now, p->d.rule, sizeof p->d.rule);
		p->adjusted = a != p->d.action || strcmp(before, p->d.rule) != 0;
		p->d.action = a;
	}
	if (p->d.action == POLICY_SKIP && p->d.switch_off && !p->adjusted) {
		size_t used = strlen(p->d.rule);

		/* say whose switch it was */
		snprintf(p->d.rule + used, sizeof p->d.rule - used, " (%s)", origin);
	}
}

static void make(const struct plan_context *ctx, const struct template *t, bool renewal_only,
		 const struct store_item *held, const char *superseded_cn, struct plan *p)
{
	int found;

	memset(p, 0, sizeof *p);
	p->t = t;
	p->held = held;
	p->superseded_cn = superseded_cn;
	if (held != NULL) {
		/* the listing's facts (the index spares the parse); an item
		 * built by hand carries only its certificate */
		p->not_before = held->has_facts ? held->not_before : cert_not_before(held->cert);
		p->not_after = held->has_facts ? held->not_after : cert_not_after(held->cert);
	}
	/* The record only, never the key; one that cannot be read still counts
	 * as a request (polling it then says why), never as none. */
	found = state_pending_load(ctx->cfg, ctx->mode, t->cn, &p->pending_req, NULL);
	p->pending = found != 0;
	p->pending_unreadable = found < 0;
	if (found < 0)
		memset(&p->pending_req, 0, sizeof p->pending_req);
	/* 5.3 step 3: only a held, unexpired certificate that renewal would
	 * replace is checked, and only when the decision depends on it */
	p->revocation = REVOCATION_NOT_CHECKED;
	if (held != NULL && ctx->rev != NULL && !ae_disabled(ctx->aep) && !p->pending && ae_renew(ctx->aep) &&
	    ctx->now < p->not_after) {
		/* from the index's facts when they are enough: no parse */
		struct revocation_cert_facts f = { held->sha256, held->serial, held->crl_urls, held->cdp_malformed };
		bool answered = held->has_facts && held->has_crl_facts &&
				revocation_check_facts(ctx->rev, &f, &p->revocation, p->revocation_detail,
						       sizeof p->revocation_detail);
		X509 *x = answered ? NULL : store_item_cert(held);

		if (x != NULL)
			p->revocation = revocation_check(ctx->rev, x, NULL, p->revocation_detail,
							 sizeof p->revocation_detail);
		else if (!answered) {
			p->revocation = REVOCATION_UNKNOWN;
			snprintf(p->revocation_detail, sizeof p->revocation_detail,
				 "the certificate file could not be read again");
		}
	}
	decide(ctx, renewal_only, p);
	request_and_key(ctx, p);
}

void plan_template(const struct plan_context *ctx, const struct template *t, bool renewal_only,
		   struct plan *out)
{
	const char *superseded_cn = NULL;
	struct store_lookup *own = ctx->lookup != NULL ? NULL : store_lookup_new(ctx->items, ctx->n_items, ctx->dir);
	const struct store_item *held = store_lookup_held(ctx->lookup != NULL ? ctx->lookup : own, t, &superseded_cn);

	make(ctx, t, renewal_only, held, superseded_cn, out);
	store_lookup_free(own);
}

void plan_held_item(const struct plan_context *ctx, const struct template *t,
		    const struct store_item *held, struct plan *out)
{
	make(ctx, t, false, held, NULL, out);
}

void plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	state_pending_free(&p->pending_req);
	enroll_route_free(&p->route);
	p->transport = NULL;
}

const char *plan_action_name(const struct plan *p)
{
	return p->d.action == POLICY_WAIT_PENDING ? "poll" : policy_action_name(p->d.action);
}

const char *plan_request_name(enum plan_request r)
{
	switch (r) {
	case PLAN_REQUEST_NONE: return "none";
	case PLAN_REQUEST_POLL: return "poll";
	case PLAN_REQUEST_NEW: return "new";
	case PLAN_REQUEST_RENEWAL: return "renewal";
	}
	return "?";
}

const char *plan_key_name(enum plan_key k)
{
	switch (k) {
	case PLAN_KEY_NONE: return "none";
	case PLAN_KEY_NEW: return "new";
	case PLAN_KEY_HELD: return "held";
	case PLAN_KEY_PENDING: return "pending";
	}
	return "?";
}

const char *plan_request_text(const struct plan *p)
{
	switch (p->request) {
	case PLAN_REQUEST_NONE:
		return NULL;
	case PLAN_REQUEST_POLL:
		return "ask the CA about the pending request (nothing new is submitted)";
	case PLAN_REQUEST_RENEWAL:
		return p->key == PLAN_KEY_HELD ?
		       "renewal: PKCS#10 with the held certificate in szOID_RENEWAL_CERTIFICATE, in CMS "
		       "signed by the held certificate and key; the held key is kept" :
		       "renewal: PKCS#10 with the held certificate in szOID_RENEWAL_CERTIFICATE, in CMS "
		       "signed by the held certificate and key";
	case PLAN_REQUEST_NEW:
		break;
	}
	if (p->d.action == POLICY_RENEW)
		return "new enrollment (the held certificate is of another template)";
	if (p->d.action == POLICY_ENROLL)
		return p->held ? "new enrollment: an expired certificate cannot sign a renewal" :
				 "new enrollment: no certificate held";
	return p->revocation == REVOCATION_REVOKED ? "new enrollment: a revoked certificate cannot sign a renewal" :
	       "new enrollment (unsigned PKCS#10)";
}

static void json_time(struct json_writer *w, const char *key, time_t t)
{
	char buf[32];

	if (t == 0) {
		json_null(w, key);
		return;
	}
	policy_format_time(t, buf, sizeof buf);
	json_string(w, key, buf);
}

void plan_json(struct json_writer *w, const char *key, const struct plan *p)
{
	json_begin_object(w, key);
	json_string(w, "action", plan_action_name(p));
	json_string(w, "rule", p->d.rule);
	json_string(w, "note", p->d.note[0] ? p->d.note : NULL);
	json_time(w, "not_before", p->not_before);
	json_time(w, "not_after", p->not_after);
	json_time(w, "renew_at", p->d.renew_at);
	json_string(w, "renew_basis", policy_renew_basis_name(p->d.renew_basis));
	json_time(w, "renew_by_period", p->d.renew_by_period);
	json_time(w, "renew_by_80pct", p->d.renew_by_80pct);
	json_string(w, "superseded_template", p->superseded_cn);
	json_bool(w, "pending", p->pending);
	json_string(w, "revocation", revocation_status_name(p->revocation));
	json_string(w, "request", plan_request_name(p->request));
	json_string(w, "key", plan_key_name(p->key));
	json_string(w, "transport", p->request == PLAN_REQUEST_NONE ? NULL : p->transport);
	json_bool(w, "forced", p->forced);
	json_begin_array(w, "ca_order");
	for (size_t i = 0; i < p->route.n; i++)
		json_string(w, NULL, p->route.cas[i].ca->cn);
	json_end_array(w);
	json_end_object(w);
}
