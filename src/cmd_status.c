/* adenroll status: the certificates adenroll manages, when each expires and
 * when it will be renewed, pending requests and the last run.  Offline: no
 * Kerberos, no LDAP.  Renewal dates use the template values recorded at
 * install time (the directory's current values are what `explain` shows). */
#include "adenroll-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "commands.h"
#include "json.h"
#include "log.h"
#include "plan.h"
#include "policy.h"
#include "safetext.h"
#include "aepolicy.h"
#include "gpo_policy.h"
#include "state.h"
#include "store.h"
#include "template.h"
#include "util.h"

struct status_row {
	const struct store_item *it;
	struct template t;            /* as recorded at install time */
	struct plan plan;
	time_t not_before, not_after;
	char serial[96];
};

/* The template as it was when the certificate was installed. */
static void recorded_template(const struct store_item *it, struct template *t)
{
	memset(t, 0, sizeof(*t));
	t->cn = it->template_cn;
	t->oid = it->template_oid;
	t->major_version = it->template_major;
	t->has_renewal = it->has_renewal;
	t->renewal_seconds = it->renewal_seconds;
	t->enrollment_flag = it->enrollment_flag;
}

static void format_span(int64_t seconds, char *out, size_t outlen)
{
	int64_t a = seconds < 0 ? -seconds : seconds;

	if (a >= 86400)
		snprintf(out, outlen, "%s%lldd", seconds < 0 ? "-" : "", (long long)(a / 86400));
	else if (a >= 3600)
		snprintf(out, outlen, "%s%lldh", seconds < 0 ? "-" : "", (long long)(a / 3600));
	else
		snprintf(out, outlen, "%s%lldm", seconds < 0 ? "-" : "", (long long)(a / 60));
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

static void print_json(const struct cli_options *opt, const struct config *cfg, time_t now,
		       const struct status_row *rows, size_t n, const struct pending_request *p,
		       size_t np, const struct last_run *lr, int have_lr, const struct ae_policy *aep)
{
	struct json_writer w;
	size_t i;

	json_init(&w, stdout);
	json_begin_object(&w, NULL);
	json_string(&w, "mode", opt->mode == ADENROLL_MODE_USER ? "user" : "machine");
	json_string(&w, "pem_dir", cfg->pem_dir);
	json_time(&w, "now", now);
	json_string(&w, "renewal_values", "recorded at install");
	json_begin_array(&w, "certificates");
	for (i = 0; i < n; i++) {
		const struct store_item *it = rows[i].it;

		json_begin_object(&w, NULL);
		json_string(&w, "template", it->template_cn);
		json_string(&w, "template_oid", it->template_oid);
		if (it->has_version)
			json_uint(&w, "major", it->major);
		else
			json_null(&w, "major");
		json_uint(&w, "minor", it->minor);
		json_string(&w, "store", it->store_name);
		json_string(&w, "serial", rows[i].serial);
		json_time(&w, "not_before", rows[i].not_before);
		json_time(&w, "not_after", rows[i].not_after);
		json_int(&w, "seconds_to_expiry", (int64_t)rows[i].not_after - (int64_t)now);
		json_time(&w, "renew_at", rows[i].plan.d.renew_at);
		json_string(&w, "renew_basis", policy_renew_basis_name(rows[i].plan.d.renew_basis));
		json_time(&w, "renew_by_period", rows[i].plan.d.renew_by_period);
		json_time(&w, "renew_by_80pct", rows[i].plan.d.renew_by_80pct);
		json_string(&w, "action", policy_action_name(rows[i].plan.d.action));
		json_string(&w, "rule", rows[i].plan.d.rule);
		json_string(&w, "note", rows[i].plan.d.note[0] ? rows[i].plan.d.note : NULL);
		json_string(&w, "ca", it->ca_name);
		json_int(&w, "request_id", it->request_id);
		json_time(&w, "installed", it->installed);
		json_string(&w, "cert_path", it->cert_path);
		json_string(&w, "key_path", it->key_path);
		json_string(&w, "chain_path", it->chain_path);
		plan_json(&w, "plan", &rows[i].plan);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_begin_array(&w, "pending");
	for (i = 0; i < np; i++) {
		json_begin_object(&w, NULL);
		json_string(&w, "template", p[i].template_cn);
		json_string(&w, "ca", p[i].ca_name);
		json_string(&w, "ca_host", p[i].ca_host);
		json_int(&w, "request_id", p[i].request_id);
		json_time(&w, "submitted", p[i].submitted);
		json_end_object(&w);
	}
	json_end_array(&w);
	if (have_lr == 1) {
		json_begin_object(&w, "last_run");
		json_time(&w, "finished", lr->finished);
		json_int(&w, "exit_code", lr->exit_code);
		json_uint(&w, "enrolled", lr->enrolled);
		json_uint(&w, "renewed", lr->renewed);
		json_uint(&w, "pending", lr->pending);
		json_uint(&w, "failed", lr->failed);
		json_end_object(&w);
	} else {
		json_null(&w, "last_run");
	}
	gpo_policy_json(&w, "policy", aep);
	json_end_object(&w);
	json_finish(&w);
}

static void print_text(const struct cli_options *opt, const struct config *cfg, time_t now,
		       const struct status_row *rows, size_t n, const struct pending_request *p,
		       size_t np, const struct last_run *lr, int have_lr, const struct ae_policy *aep, bool have_policy)
{
	size_t i, wt = strlen("TEMPLATE");
	char na[32], ra[32], left[32];

	printf("adenroll %s certificates in %s\n", opt->mode == ADENROLL_MODE_USER ? "user" : "machine",
	       safetext(cfg->pem_dir));
	if (n == 0) {
		printf("\nNo managed certificates.\n");
	} else {
		for (i = 0; i < n; i++)
			if (strlen(safetext(rows[i].it->template_cn)) > wt)
				wt = strlen(safetext(rows[i].it->template_cn));
		printf("\n%-*s  %-20s  %-8s  %-20s  %-16s  %-12s  %s\n", (int)wt, "TEMPLATE", "NOT AFTER",
		       "EXPIRES", "NEXT RENEWAL", "RENEWAL RULE", "ACTION", "CERTIFICATE");
		for (i = 0; i < n; i++) {
			const struct status_row *r = &rows[i];

			policy_format_time(r->not_after, na, sizeof(na));
			policy_format_time(r->plan.d.renew_at, ra, sizeof(ra));
			if (r->not_after <= now)
				snprintf(left, sizeof(left), "expired");
			else
				format_span((int64_t)r->not_after - (int64_t)now, left, sizeof(left));
			printf("%-*s  %-20s  %-8s  %-20s  %-16s  %-12s  %s\n", (int)wt, safetext(r->it->template_cn),
			       na, left, ra, policy_renew_basis_name(r->plan.d.renew_basis),
			       policy_action_name(r->plan.d.action), safetext(r->it->cert_path));
		}
		printf("\n");
		for (i = 0; i < n; i++)
			printf("%s: serial %s, %s%s%s\n", safetext(rows[i].it->template_cn), rows[i].serial,
			       safetext(rows[i].plan.d.rule), rows[i].plan.d.note[0] ? "; " : "", safetext(rows[i].plan.d.note));
		printf("\nRenewal dates use the template values recorded at install time;\n"
		       "`adenroll explain` checks the directory's current values.\n");
	}
	if (np > 0) {
		printf("\nPending requests:\n");
		for (i = 0; i < np; i++) {
			policy_format_time(p[i].submitted, na, sizeof(na));
			printf("  %s: request %ld at %s (%s), submitted %s\n", safetext(p[i].template_cn),
			       p[i].request_id, p[i].ca_name ? safetext(p[i].ca_name) : "?",
			       p[i].ca_host ? safetext(p[i].ca_host) : "?", na);
		}
	}
	if (have_lr == 1) {
		policy_format_time(lr->finished, na, sizeof(na));
		printf("\nLast run: %s, exit code %d (%u enrolled, %u renewed, %u pending, %u failed)\n", na,
		       lr->exit_code, lr->enrolled, lr->renewed, lr->pending, lr->failed);
	} else if (have_lr == 0) {
		printf("\nLast run: never\n");
	}
	printf("\n");
	if (have_policy)
		gpo_policy_print(stdout, cfg, aep, NULL);
	else
		printf("Autoenrollment policy: not read yet (the next pulse reads Group Policy)\n");
}

int cmd_status(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	struct store *s = NULL;
	struct store_item *items = NULL;
	struct pending_request *pending = NULL;
	struct status_row *rows = NULL;
	struct last_run lr;
	size_t n = 0, np = 0, i;
	time_t now = time(NULL);
	int have_lr, ret = ADENROLL_EXIT_FAILURE;
	struct ae_policy aep;
	struct plan_context pctx;
	bool have_policy;

	if (argc > 0) {
		fprintf(stderr, "adenroll status: unexpected argument \"%s\"\n"
			"usage: adenroll [--user] [--json] status\n", argv[0]);
		return ADENROLL_EXIT_USAGE;
	}
	if (store_open(cfg, opt->mode, &s) != 0 || store_list_indexed(s, &items, &n) != 0)
		goto out;
	if (state_pending_list(cfg, opt->mode, &pending, &np) != 0)
		goto out;
	have_lr = state_last_run_load(cfg, opt->mode, &lr);
	/* offline: the policy the last pulse read (its cache), or the local switches */
	have_policy = gpo_policy_cached(cfg, opt->mode, &aep) == 0;
	rows = xcalloc(n ? n : 1, sizeof(*rows));
	/* the plan pulse would make, from what is recorded (no directory, no CRL) */
	pctx = (struct plan_context){ .cfg = cfg, .mode = opt->mode, .now = now, .aep = &aep,
				      .items = items, .n_items = n };
	for (i = 0; i < n; i++) {
		recorded_template(&items[i], &rows[i].t);
		plan_held_item(&pctx, &rows[i].t, &items[i], &rows[i].plan);
		rows[i].it = &items[i];
		rows[i].not_before = rows[i].plan.not_before;
		rows[i].not_after = rows[i].plan.not_after;
		if (snprintf(rows[i].serial, sizeof(rows[i].serial), "%s", items[i].serial) <= 0)
			snprintf(rows[i].serial, sizeof(rows[i].serial), "?");
	}
	if (opt->json)
		print_json(opt, cfg, now, rows, n, pending, np, &lr, have_lr, &aep);
	else
		print_text(opt, cfg, now, rows, n, pending, np, &lr, have_lr, &aep, have_policy);
	ret = ADENROLL_EXIT_OK;
	ae_policy_free(&aep);
	for (i = 0; i < n; i++)
		plan_free(&rows[i].plan);
out:
	free(rows);
	state_pending_list_free(pending, np);
	store_items_free(items, n);
	store_close(s);
	return ret;
}
