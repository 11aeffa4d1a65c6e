/* adenroll check-policy: the Group Policy refresh of adenroll-policy.timer.
 * Asks the directory whether the links or versions of the GPOs that apply
 * changed since the last pulse read them (no SYSVOL, no libsmbclient), and
 * runs a pulse only when they did. */
#include "adenroll-build.h"

#include <stdio.h>

#include "commands.h"
#include "gpo_policy.h"
#include "json.h"
#include "log.h"

/* --json: {"policy_changed": false, "reason": "..."}; a change prints the
 * pulse's own document instead. */
static void print_unchanged(const struct cli_options *opt, const char *reason)
{
	struct json_writer w;

	if (!opt->json) {
		printf("%s\n", reason);
		return;
	}
	json_init(&w, stdout);
	json_begin_object(&w, NULL);
	json_bool(&w, "policy_changed", false);
	json_string(&w, "reason", reason);
	json_end_object(&w);
	json_finish(&w);
}

int cmd_check_policy(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	bool changed = false;
	char why[1024];

	if (cfg->policy_source == CONFIG_POLICY_LOCAL) {
		print_unchanged(opt, "[policy] source = local: Group Policy is not read, nothing to check");
		return ADENROLL_EXIT_OK;
	}
	if (gpo_policy_check(cfg, opt->mode, &changed, why, sizeof(why)) != 0) {
		log_error("the policy-change check could not ask the directory; the next pulse reads the policy anyway");
		return ADENROLL_EXIT_FAILURE;
	}
	if (!changed) {
		char reason[1100];

		snprintf(reason, sizeof(reason), "policy unchanged: %s", why);
		print_unchanged(opt, reason);
		return ADENROLL_EXIT_OK;
	}
	if (!opt->json)
		printf("%s: running a pulse\n", why);
	log_info("%s: running a pulse", why);
	fflush(stdout);
	return cmd_pulse(opt, cfg, argc, argv);
}
