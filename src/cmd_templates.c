/* adenroll templates: every template in the directory, and whether this
 * account (machine or --user) would autoenroll it, with the reason. */
#include "adenroll-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "discovery.h"
#include "eligibility.h"
#include "aepolicy.h"
#include "gpo_policy.h"
#include "json.h"
#include "ldap_conn.h"
#include "log.h"
#include "safetext.h"
#include "template.h"
#include "util.h"

static const char *strip_verdict(const char *reason)
{
	static const char *const prefixes[] = { "not eligible: ", "eligible: " };
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(reason, prefixes[i], n) == 0)
			return reason + n;
	}
	return reason;
}

static const char *key_alg_name(enum template_key_alg a)
{
	switch (a) {
	case TEMPLATE_KEY_RSA: return "rsa";
	case TEMPLATE_KEY_EC_P256: return "ec-p256";
	case TEMPLATE_KEY_EC_P384: return "ec-p384";
	case TEMPLATE_KEY_EC_P521: return "ec-p521";
	default: return "unsupported";
	}
}

static void print_json(const struct discovery *d, const struct eligibility *el, const struct ae_policy *aep)
{
	struct json_writer w;
	json_init(&w, stdout);
	json_begin_array(&w, NULL);
	for (size_t i = 0; i < d->dir.n_templates; i++) {
		const struct eligibility *e = &el[i];
		const struct template *t = e->template;
		json_begin_object(&w, NULL);
		json_string(&w, "cn", t->cn);
		json_string(&w, "display_name", t->display_name);
		json_string(&w, "oid", t->oid);
		json_uint(&w, "schema_version", t->schema_version);
		json_uint(&w, "major", t->major_version);
		json_uint(&w, "minor", t->minor_version);
		json_bool(&w, "machine", template_is_machine(t));
		json_bool(&w, "eligible", e->code == ELIG_OK);
		json_string(&w, "code", eligibility_code_name(e->code));
		json_string(&w, "reason", e->reason);
		/* eligible is the template's side; whether pulse acts is the policy's */
		gpo_policy_json(&w, "policy", aep);
		json_begin_array(&w, "cas");
		for (size_t k = 0; k < e->n_cas; k++)
			json_string(&w, NULL, e->cas[k]->cn);
		json_end_array(&w);
		/* the Enroll verdict of each CA's own security descriptor (same order) */
		json_begin_array(&w, "ca_access");
		for (size_t k = 0; k < e->n_cas; k++) {
			json_begin_object(&w, NULL);
			json_string(&w, "name", e->cas[k]->cn);
			json_bool(&w, "enroll_granted", e->ca_enroll[k].granted);
			json_string(&w, "reason", e->ca_enroll[k].reason);
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
		json_uint(&w, "flags", t->flags);
		json_uint(&w, "enrollment_flag", t->enrollment_flag);
		json_uint(&w, "private_key_flag", t->private_key_flag);
		json_uint(&w, "name_flag", t->name_flag);
		json_uint(&w, "minimal_key_size", t->minimal_key_size);
		json_string(&w, "key_algorithm", key_alg_name(t->key_alg));
		json_begin_array(&w, "ekus");
		for (size_t k = 0; k < t->ekus.n; k++)
			json_string(&w, NULL, t->ekus.v[k]);
		json_end_array(&w);
		json_string(&w, "superseded_by", e->superseded_by);
		json_string(&w, "invalid_reason", t->invalid_reason);
		if (e->acl_evaluated) {
			json_begin_object(&w, "enroll");
			json_bool(&w, "granted", e->enroll.granted);
			json_string(&w, "reason", e->enroll.reason);
			json_end_object(&w);
			json_begin_object(&w, "autoenroll");
			json_bool(&w, "granted", e->autoenroll.granted);
			json_string(&w, "reason", e->autoenroll.reason);
			json_end_object(&w);
		}
		json_end_object(&w);
	}
	json_end_array(&w);
	json_finish(&w);
}

/* Names reach the terminal escaped (safetext.h): widths are of what is shown. */
static size_t width(const char *s)
{
	return s ? strlen(safetext(s)) : 0;
}

static void print_table(const struct discovery *d, const struct eligibility *el)
{
	size_t wcn = strlen("TEMPLATE"), wdn = strlen("DISPLAY NAME");
	for (size_t i = 0; i < d->dir.n_templates; i++) {
		const struct template *t = el[i].template;
		if (width(t->cn) > wcn)
			wcn = width(t->cn);
		if (width(t->display_name) > wdn)
			wdn = width(t->display_name);
	}
	printf("%s %s on %s (domain %s, %zu templates, %zu enrollment services)\n\n",
	       d->mode == ADENROLL_MODE_MACHINE ? "Machine account" : "User",
	       safetext(d->dir.account.sam_account_name), safetext(d->dir.dc), safetext(d->domain),
	       d->dir.n_templates, d->dir.n_cas);
	printf("%-*s  %-*s  %-2s  %-7s  %-12s  %s\n", (int)wcn, "TEMPLATE", (int)wdn, "DISPLAY NAME", "V",
	       "CONTEXT", "STATUS", "REASON");
	for (size_t i = 0; i < d->dir.n_templates; i++) {
		const struct eligibility *e = &el[i];
		const struct template *t = e->template;
		printf("%-*s  %-*s  %-2u  %-7s  %-12s  %s\n", (int)wcn, safetext(t->cn), (int)wdn,
		       t->display_name ? safetext(t->display_name) : "-", t->schema_version,
		       template_is_machine(t) ? "machine" : "user",
		       e->code == ELIG_OK ? "ELIGIBLE" : "not eligible", safetext(strip_verdict(e->reason)));
	}
}

int cmd_templates(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	struct discovery d;
	struct eligibility *el = NULL;

	if (argc > 0) {
		fprintf(stderr, "adenroll templates: unexpected argument \"%s\"\n"
			"usage: adenroll [--user] [--json] templates\n", argv[0]);
		return ADENROLL_EXIT_USAGE;
	}
	if (discovery_run(cfg, opt->mode, &d) != 0)
		return ADENROLL_EXIT_FAILURE;

	struct eligibility_options eo = { .mode = opt->mode, .allow_v1_templates = cfg->allow_v1_templates };
	el = xcalloc(d.dir.n_templates ? d.dir.n_templates : 1, sizeof(*el));
	eligibility_evaluate_all(&d.dir, &eo, el);
	/* what pulse would follow (no cache written) */
	struct ae_policy aep;
	gpo_policy_evaluate(cfg, &d, true, &aep, NULL);
	if (opt->json) {
		print_json(&d, el, &aep);
	} else {
		print_table(&d, el);
		printf("\n");
		gpo_policy_print(stdout, cfg, &aep, NULL);
	}
	ae_policy_free(&aep);
	log_debug("templates: %lu LDAP operations", ldap_conn_op_count(d.ldap));
	free(el);
	discovery_free(&d);
	return ADENROLL_EXIT_OK;
}
