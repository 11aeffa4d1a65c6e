/* The subcommands.  main.c parses the command line and the config, then
 * calls exactly one of these; each returns an enum adenroll_exit value. */
#ifndef ADENROLL_COMMANDS_H
#define ADENROLL_COMMANDS_H

#include <stdbool.h>

#include "adenroll.h"
#include "config.h"

struct cli_options {
	const char *config_path;
	enum adenroll_mode mode;   /* --user selects ADENROLL_MODE_USER */
	bool dry_run;              /* decide and build requests, never submit or write */
	bool json;                 /* machine-readable output on stdout */
	bool force;                /* enroll/renew even when the decision says keep */
	int verbosity;             /* count of -v */
};

/* argv/argc are the arguments after the subcommand name. */
int cmd_pulse(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_status(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_explain(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_templates(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_enroll(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_doctor(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_check_policy(const struct cli_options *opt, struct config *cfg, int argc, char **argv);
int cmd_forget(const struct cli_options *opt, struct config *cfg, int argc, char **argv);

#endif
