/* Project-wide contract: exit codes and the run mode. */
#ifndef ADENROLL_H
#define ADENROLL_H

/* Exit codes (documented in adenroll(8)).  A timer run treats 0 and
 * ADENROLL_EXIT_CHANGED as success (SuccessExitStatus=3 in the unit). */
enum adenroll_exit {
	ADENROLL_EXIT_OK = 0,        /* nothing to do, or nothing needed doing */
	ADENROLL_EXIT_FAILURE = 1,   /* the run failed: nothing was changed */
	ADENROLL_EXIT_USAGE = 2,     /* bad command line or configuration */
	ADENROLL_EXIT_CHANGED = 3,   /* certificates were enrolled or renewed, no failure */
	ADENROLL_EXIT_PARTIAL = 4,   /* some templates failed or were denied */
	ADENROLL_EXIT_DEGRADED = 5,  /* Group Policy could not be read: the run used the cached
					policy, or did nothing when none was cached */
};

/* Whose certificates: the machine account (keytab) or the calling user (ccache). */
enum adenroll_mode {
	ADENROLL_MODE_MACHINE = 0,
	ADENROLL_MODE_USER = 1,
};

#endif
