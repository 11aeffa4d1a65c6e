/* adenroll check-policy: the Group Policy refresh of adenroll-policy.timer.
 * Asks the directory whether the links or versions of the GPOs that apply
 * changed since the last pulse read them (no SYSVOL, no libsmbclient), and
 * runs a pulse only when they did. */
#include "adenroll-build.h"

#include <stdio.h>

#include "commands.h"
#include "gpo_policy.h"
#include "log.h"

int cmd_check_policy(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	bool changed = false;
	char why[1024];

	if (cfg->policy_source == CONFIG_POLICY_LOCAL) {
		printf("[policy] source = local: Group Policy is not read, nothing to check\n");
		return ADENROLL_EXIT_OK;
	}
	if (gpo_policy_check(cfg, opt->mode, &changed, why, sizeof(why)) != 0) {
		log_error("the policy-change check could not ask the directory; the next pulse reads the policy anyway");
		return ADENROLL_EXIT_FAILURE;
	}
	if (!changed) {
		printf("policy unchanged: %s\n", why);
		return ADENROLL_EXIT_OK;
	}
	printf("%s: running a pulse\n", why);
	log_info("%s: running a pulse", why);
	fflush(stdout);
	return cmd_pulse(opt, cfg, argc, argv);
}
