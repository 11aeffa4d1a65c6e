/* adenroll explain [TEMPLATE]: for each template, why it is or is not
 * enrolled: eligibility (docs/protocol.md 5.2), the certificate held, both
 * renewal dates with the rule that dominates (5.4) and the decision (5.3):
 * the plan (plan.h) pulse executes, so explain says what pulse will do
 * (with --force, what pulse --force will do). */
#include "adenroll-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "commands.h"
#include "discovery.h"
#include "eligibility.h"
#include "aepolicy.h"
#include "cep.h"
#include "gpo_policy.h"
#include "enroll.h"
#include "json.h"
#include "log.h"
#include "plan.h"
#include "policy.h"
#include "revocation.h"
#include "safetext.h"
#include "state.h"
#include "store.h"
#include "template.h"
#include "util.h"

struct explained {
	const struct eligibility *e;
	const struct store_item *held;
	const char *superseded_cn;
	const struct pending_request *pending;
	bool decided;                 /* eligible: a plan was made */
	struct plan plan;             /* zero unless decided */
	/* the held certificate's dates when no plan was made (the plan's otherwise) */
	time_t undecided_not_before, undecided_not_after;
	enum config_transport transport;  /* [enroll] transport: which endpoints print_cas names */
};

static time_t held_not_before(const struct explained *x)
{
	return x->decided ? x->plan.not_before : x->undecided_not_before;
}

static time_t held_not_after(const struct explained *x)
{
	return x->decided ? x->plan.not_after : x->undecided_not_after;
}

static const struct pending_request *find_pending(const struct pending_request *p, size_t np,
						  const char *cn)
{
	size_t i;

	for (i = 0; i < np; i++)
		if (str_eq_ci(p[i].template_cn, cn))
			return &p[i];
	return NULL;
}

static void explain_one(const struct plan_context *pctx, const struct eligibility *e,
			const struct pending_request *p, size_t np, struct explained *x)
{
	const struct template *t = e->template;

	memset(x, 0, sizeof(*x));
	x->e = e;
	x->transport = pctx->cfg->transport;
	x->pending = find_pending(p, np, t->cn);
	if (e->code == ELIG_OK || e->renewal_only) {
		plan_template(pctx, t, e->renewal_only, &x->plan);
		x->decided = true;
		x->held = x->plan.held;
		x->superseded_cn = x->plan.superseded_cn;
	} else {
		x->held = store_lookup_find(pctx->lookup, t);
		if (x->held != NULL) {
			x->undecided_not_before = x->held->not_before;
			x->undecided_not_after = x->held->not_after;
		}
	}
}

/* The plan's route entry for ca, NULL when the route leaves it out */
static const struct enroll_route_ca *routed_ca(const struct enroll_route *r, const struct enrollment_service *ca)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->cas[i].ca == ca)
			return &r->cas[i];
	return NULL;
}

static void print_endpoints(const struct enrollment_service *ca, const struct enroll_endpoint *eps, size_t n,
			    enum config_transport transport)
{
	for (size_t k = 0; k < n; k++) {
		char *web = eps[k].ces ? NULL : xasprintf("https://%s/certsrv/", ca->dns_host_name);
		printf("                   %s %s (%s)\n", k == 0 ? "via" : "then", eps[k].ces ? safetext(eps[k].url) :
		       safetext(web), eps[k].why);
		free(web);
	}
	if (n == 0)
		printf("                   no endpoint: no Kerberos CES endpoint in msPKI-Enrollment-Servers nor "
		       "from an enrollment policy server ([enroll] transport = %s)\n", enroll_transport_name(transport));
}

/* Each CA publishing the template, and where requests to it go, in order,
 * and why: from the plan's route when the plan sends a request (what pulse
 * walks), else what a new request would use. */
static void print_cas(const struct explained *x)
{
	const struct eligibility *e = x->e;
	const struct enroll_route *route = x->decided && x->plan.route.cas != NULL ? &x->plan.route : NULL;
	for (size_t i = 0; i < e->n_cas; i++) {
		printf("  %s %s: %s: %s\n", i == 0 ? "CAs:          " : "              ", e->cas[i]->cn,
		       e->ca_enroll[i].granted ? "tried" : "skipped", e->ca_enroll[i].reason);
		if (!e->ca_enroll[i].granted)
			continue;
		if (route != NULL) {
			const struct enroll_route_ca *rc = routed_ca(route, e->cas[i]);
			if (rc != NULL)
				print_endpoints(rc->ca, rc->eps, rc->n_eps, x->transport);
			else
				printf("                   not in the order tried ([enroll] cas names other CAs, "
				       "or no dNSHostName)\n");
			continue;
		}
		struct enroll_endpoint *eps = NULL;
		size_t n = enroll_endpoints(e->cas[i], x->transport, false, false, &eps);
		print_endpoints(e->cas[i], eps, n, x->transport);
		free(eps);
	}
}

static void json_time(struct json_writer *w, const char *key, time_t t)
{
	char buf[32];

	if (t == 0) {
		json_null(w, key);
		return;
	}
	policy_format_time(t, buf, sizeof(buf));
	json_string(w, key, buf);
}

static void print_json(const struct explained *xs, size_t nx, const struct ae_policy *aep)
{
	struct json_writer w;
	size_t i;
	char serial[96];

	json_init(&w, stdout);
	json_begin_array(&w, NULL);
	for (i = 0; i < nx; i++) {
		const struct explained *x = &xs[i];
		const struct template *t = x->e->template;

		json_begin_object(&w, NULL);
		json_string(&w, "template", t->cn);
		json_string(&w, "display_name", t->display_name);
		json_string(&w, "oid", t->oid);
		json_uint(&w, "major", t->major_version);
		json_uint(&w, "minor", t->minor_version);
		json_bool(&w, "eligible", x->e->code == ELIG_OK);
		json_string(&w, "eligibility_code", eligibility_code_name(x->e->code));
		json_string(&w, "eligibility_reason", x->e->reason);
		gpo_policy_json(&w, "policy", aep);
		json_begin_array(&w, "cas");
		for (size_t k = 0; k < x->e->n_cas; k++) {
			json_begin_object(&w, NULL);
			json_string(&w, "name", x->e->cas[k]->cn);
			json_bool(&w, "enroll_granted", x->e->ca_enroll[k].granted);
			json_string(&w, "reason", x->e->ca_enroll[k].reason);
			json_end_object(&w);
		}
		json_end_array(&w);
		if (t->has_validity)
			json_int(&w, "validity_seconds", t->validity_seconds);
		else
			json_null(&w, "validity_seconds");
		if (t->has_renewal)
			json_int(&w, "renewal_seconds", t->renewal_seconds);
		else
			json_null(&w, "renewal_seconds");
		if (x->held != NULL) {
			json_begin_object(&w, "held");
			json_string(&w, "cert_path", x->held->cert_path);
			if (snprintf(serial, sizeof(serial), "%s", x->held->serial) > 0)
				json_string(&w, "serial", serial);
			json_string(&w, "template_oid", x->held->template_oid);
			json_string(&w, "template_name", x->held->ext_template_cn);
			if (x->held->has_version)
				json_uint(&w, "major", x->held->major);
			else
				json_null(&w, "major");
			json_uint(&w, "minor", x->held->minor);
			json_time(&w, "not_before", held_not_before(x));
			json_time(&w, "not_after", held_not_after(x));
			json_string(&w, "superseded_template", x->superseded_cn);
			json_string(&w, "revocation", revocation_status_name(x->plan.revocation));
			json_string(&w, "revocation_detail",
				    x->plan.revocation_detail[0] ? x->plan.revocation_detail : NULL);
			json_end_object(&w);
		} else {
			json_null(&w, "held");
		}
		if (x->pending != NULL) {
			json_begin_object(&w, "pending");
			json_int(&w, "request_id", x->pending->request_id);
			json_string(&w, "ca", x->pending->ca_name);
			json_string(&w, "transport", x->pending->transport ? x->pending->transport : "certsrv");
			json_string(&w, "endpoint", x->pending->endpoint);
			json_time(&w, "submitted", x->pending->submitted);
			json_end_object(&w);
		} else {
			json_null(&w, "pending");
		}
		if (x->decided) {
			json_begin_object(&w, "decision");
			json_string(&w, "action", policy_action_name(x->plan.d.action));
			json_string(&w, "rule", x->plan.d.rule);
			json_string(&w, "request", plan_request_text(&x->plan));
			json_string(&w, "note", x->plan.d.note[0] ? x->plan.d.note : NULL);
			json_time(&w, "renew_at", x->plan.d.renew_at);
			json_string(&w, "renew_basis", policy_renew_basis_name(x->plan.d.renew_basis));
			json_time(&w, "renew_by_period", x->plan.d.renew_by_period);
			json_time(&w, "renew_by_80pct", x->plan.d.renew_by_80pct);
			json_end_object(&w);
		} else {
			json_null(&w, "decision");
		}
		if (x->decided)
			plan_json(&w, "plan", &x->plan);
		else
			json_null(&w, "plan");
		json_end_object(&w);
	}
	json_end_array(&w);
	json_finish(&w);
}

static void print_dates(const struct explained *x)
{
	const struct template *t = x->e->template;
	char a[32], b[32], period[48], life[48];

	time_t nb = held_not_before(x), na = held_not_after(x);

	policy_format_time(nb, a, sizeof(a));
	policy_format_time(na, b, sizeof(b));
	printf("  notBefore:     %s\n  notAfter:      %s\n", a, b);
	if (!x->decided)
		return;
	template_format_period((int64_t)na - (int64_t)nb, life, sizeof(life));
	if (t->has_renewal && t->renewal_seconds > 0) {
		template_format_period(t->renewal_seconds, period, sizeof(period));
		policy_format_time(x->plan.d.renew_by_period, a, sizeof(a));
		printf("  period rule:   %s = notAfter - renewal period (%s)%s\n", a, period,
		       x->plan.d.renew_basis == RENEW_BASIS_PERIOD ? "   <- dominates" : "");
	} else {
		printf("  period rule:   - (the template has no renewal period)\n");
	}
	policy_format_time(x->plan.d.renew_by_80pct, a, sizeof(a));
	printf("  80%% rule:      %s = notBefore + 80%% of the lifetime (%s)%s\n", a, life,
	       x->plan.d.renew_basis == RENEW_BASIS_80PCT ? "   <- dominates" : "");
	policy_format_time(x->plan.d.renew_at, a, sizeof(a));
	printf("  renew at:      %s (the later of the two, docs/protocol.md 5.4)\n", a);
}

static void print_revocation(const struct explained *x)
{
	switch (x->plan.revocation) {
	case REVOCATION_NOT_CHECKED:
		if (x->decided)
			printf("  revocation:    not checked (expired, renew_and_remove_revoked off, autoenrollment "
			       "disabled, or a request pending)\n");
		break;
	case REVOCATION_GOOD:
		printf("  revocation:    good (%s)\n", safetext(x->plan.revocation_detail));
		break;
	case REVOCATION_REVOKED:
		printf("  revocation:    %s\n", safetext(x->plan.revocation_detail));
		break;
	case REVOCATION_UNKNOWN:
		printf("  revocation:    unknown: %s\n", safetext(x->plan.revocation_detail));
		break;
	}
}

static void print_plan_key(const struct plan *p)
{
	switch (p->key) {
	case PLAN_KEY_NONE:
		return;
	case PLAN_KEY_NEW:
		printf("  key:           a new key\n");
		break;
	case PLAN_KEY_HELD:
		printf("  key:           the held key (%s)\n", p->t->private_key_flag & CT_PK_REQUIRE_SAME_KEY_RENEWAL ?
		       "CT_FLAG_REQUIRE_SAME_KEY_RENEWAL" : "[enroll] reuse_key");
		break;
	case PLAN_KEY_PENDING:
		printf("  key:           the one recorded with the pending request\n");
		break;
	}
	if (p->request == PLAN_REQUEST_POLL)
		return;
	/* NULL: no CA publishing the template grants Enroll */
	printf("  transport:     %s", p->transport ? p->transport : "none");
	for (size_t i = 0; i < p->route.n; i++)
		printf("%s%s", i == 0 ? "; CAs in order: " : ", ", safetext(p->route.cas[i].ca->cn));
	printf("\n");
}

static void print_text(const struct explained *xs, size_t nx, bool verbose_ineligible)
{
	size_t i;
	char serial[96], when[32], period[48];

	for (i = 0; i < nx; i++) {
		const struct explained *x = &xs[i];
		const struct template *t = x->e->template;

		if (x->e->code != ELIG_OK && x->held == NULL && !verbose_ineligible) {
			printf("%s: %s\n", safetext(t->cn), safetext(x->e->reason));
			continue;
		}
		printf("%s%s", i > 0 ? "\n" : "", safetext(t->cn));
		if (t->display_name != NULL)
			printf(" (\"%s\")", safetext(t->display_name));
		printf(": OID %s, version %u.%u\n", t->oid ? safetext(t->oid) : "-", t->major_version,
		       t->minor_version);
		printf("  eligibility:   %s\n", safetext(x->e->reason));
		if (t->has_validity) {
			template_format_period(t->validity_seconds, period, sizeof(period));
			printf("  validity:      %s", period);
			if (t->has_renewal) {
				template_format_period(t->renewal_seconds, period, sizeof(period));
				printf(", renewal period %s", period);
			}
			printf("\n");
		}
		if (x->held != NULL) {
			if (snprintf(serial, sizeof(serial), "%s", x->held->serial) <= 0)
				snprintf(serial, sizeof(serial), "?");
			printf("  held:          %s (serial %s)\n", safetext(x->held->cert_path), serial);
			if (x->held->template_oid != NULL)
				printf("  identified by: template extension %s", safetext(x->held->template_oid));
			else if (x->held->ext_template_cn != NULL)
				printf("  identified by: template name extension \"%s\"",
				       safetext(x->held->ext_template_cn));
			else
				printf("  identified by: the template it was installed for (no template extension)");
			if (x->held->has_version)
				printf(", major %u minor %u", x->held->major, x->held->minor);
			printf("\n");
			if (x->superseded_cn != NULL)
				printf("  superseded:    the held certificate is of template %s, which %s supersedes\n",
				       safetext(x->superseded_cn), safetext(t->cn));
			print_dates(x);
			print_revocation(x);
		} else {
			printf("  held:          none\n");
		}
		if (x->pending != NULL) {
			policy_format_time(x->pending->submitted, when, sizeof(when));
			printf("  pending:       request %ld at %s, submitted %s\n", x->pending->request_id,
			       x->pending->ca_name ? safetext(x->pending->ca_name) : "?", when);
			if (x->pending->endpoint)
				printf("                 asked about at %s (CES, where it was sent)\n",
				       safetext(x->pending->endpoint));
		}
		print_cas(x);
		if (x->decided) {
			printf("  decision:      %s: %s\n", policy_action_name(x->plan.d.action), safetext(x->plan.d.rule));
			if (plan_request_text(&x->plan)) {
				printf("  request:       %s\n", plan_request_text(&x->plan));
				print_plan_key(&x->plan);
			}
			if (x->plan.d.note[0] != '\0')
				printf("  note:          %s\n", safetext(x->plan.d.note));
		} else {
			printf("  decision:      none (not eligible)\n");
		}
	}
}

int cmd_explain(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	const char *only = argc > 0 ? argv[0] : NULL;
	struct discovery disc;
	struct eligibility *el = NULL;
	struct explained *xs = NULL;
	struct store *s = NULL;
	struct store_item *items = NULL;
	struct pending_request *pending = NULL;
	struct revocation_ctx *rev = NULL;
	size_t n = 0, np = 0, nx = 0, i;
	time_t now = time(NULL);
	int ret = ADENROLL_EXIT_FAILURE;
	struct ae_policy aep;
	struct gpo_eval gev;
	struct plan_context pctx;
	struct store_lookup *lookup = NULL;

	memset(&aep, 0, sizeof(aep));
	memset(&gev, 0, sizeof(gev));
	if (argc > 1) {
		fprintf(stderr, "adenroll explain: too many arguments\n"
			"usage: adenroll [--user] [--json] explain [TEMPLATE]\n");
		return ADENROLL_EXIT_USAGE;
	}
	if (discovery_run(cfg, opt->mode, &disc) != 0)
		return ADENROLL_EXIT_FAILURE;
	/* what pulse would follow; explain writes no cache */
	gpo_policy_evaluate(cfg, &disc, true, &aep, &gev);
	if (!ae_disabled(&aep))
		cep_add_endpoints(cfg, &disc.dir, &aep);
	rev = revocation_ctx_for_run(disc.ldap, &disc.dir, cfg->state_dir, true);
	if (store_open(cfg, opt->mode, &s) != 0 || store_list_indexed(s, &items, &n) != 0)
		goto out;
	lookup = store_lookup_new(items, n, &disc.dir);
	if (state_pending_list(cfg, opt->mode, &pending, &np) != 0)
		goto out;
	{
		struct eligibility_options eo = { .mode = opt->mode,
						  .allow_v1_templates = cfg->allow_v1_templates };

		el = xcalloc(disc.dir.n_templates ? disc.dir.n_templates : 1, sizeof(*el));
		eligibility_evaluate_all(&disc.dir, &eo, el);
	}
	xs = xcalloc(disc.dir.n_templates ? disc.dir.n_templates : 1, sizeof(*xs));
	pctx = (struct plan_context){
		.cfg = cfg, .mode = opt->mode, .now = now, .aep = &aep, .dir = &disc.dir, .rev = rev,
		.items = items, .n_items = n, .lookup = lookup, .force = opt->force, .with_route = true,
	};
	for (i = 0; i < disc.dir.n_templates; i++) {
		const struct template *t = el[i].template;

		if (only != NULL && !str_eq_ci(t->cn, only) &&
		    !(t->display_name != NULL && str_eq_ci(t->display_name, only)))
			continue;
		explain_one(&pctx, &el[i], pending, np, &xs[nx++]);
	}
	if (only != NULL && nx == 0) {
		log_error("no template named \"%s\" in the directory (%s); `adenroll templates` lists them",
			  only, disc.dir.dc ? disc.dir.dc : "?");
		goto out;
	}
	if (opt->json) {
		print_json(xs, nx, &aep);
	} else {
		gpo_policy_print(stdout, cfg, &aep, &gev);
		printf("\n");
		print_text(xs, nx, only != NULL);
	}
	ret = ADENROLL_EXIT_OK;
out:
	for (i = 0; xs != NULL && i < nx; i++)
		plan_free(&xs[i].plan);
	revocation_ctx_free(rev);
	gpo_eval_free(&gev);
	ae_policy_free(&aep);
	free(xs);
	free(el);
	state_pending_list_free(pending, np);
	store_lookup_free(lookup);
	store_items_free(items, n);
	store_close(s);
	discovery_free(&disc);
	return ret;
}
