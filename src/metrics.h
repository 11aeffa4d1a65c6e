/* A Prometheus textfile (node_exporter textfile collector) written after each
 * pulse: what adenroll manages, when it expires and renews, and how the last
 * run went.  The names and labels are an interface: admins
 * alert on them (listed in adenroll-hooks(5), METRICS). */
#ifndef ADENROLL_METRICS_H
#define ADENROLL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "adenroll.h"
#include "config.h"
#include "state.h"
#include "store.h"

/* One run of pulse, as the metrics report it. */
struct metrics_run {
	time_t started;            /* wall-clock start of the run */
	time_t finished;           /* end of the run: adenroll_last_run_timestamp_seconds */
	double duration_seconds;   /* monotonic duration */
	int exit_code;             /* enum adenroll_exit */
	time_t last_success;       /* last run ending 0 or 3 (this one included); 0 = never */
	unsigned enrolled, renewed, pending, denied, failed;   /* outcomes of this run */
	/* Group Policy (aepolicy.h): certificates with less than
	 * OfflineExpirationPercent of their lifetime left, the policy
	 * switched autoenrollment off, Group Policy could not be read */
	unsigned offline_expiring;
	bool policy_disabled, policy_degraded;
};

/* Pure formatter (exposition format 0.0.4): one family per metric with HELP
 * and TYPE first, samples sorted by template then store, label values
 * escaped, one series per (template, store) (a repeated pair is dropped).
 * renew_at[i] is when items[i] is due for renewal (0: unknown); renew_at may
 * be NULL, then it is computed from the template values recorded at install
 * time (policy_renewal_dates).  pending: requests waiting at a CA (may be
 * NULL when n_pending is 0).  Returns a malloc'ed NUL-terminated text. */
char *metrics_format(const struct store_item *items, size_t n, const time_t *renew_at,
		     const struct pending_request *pending, size_t n_pending, const struct metrics_run *run);

/* metrics_format written to path atomically (fs_write_atomic, mode 0644), so
 * the collector never reads half a file.  0 or -1 (logged). */
int metrics_write(const char *path, const struct store_item *items, size_t n, const time_t *renew_at,
		  const struct pending_request *pending, size_t n_pending, const struct metrics_run *run);

/* What pulse calls at its end, whatever the outcome: does nothing (0) when
 * cfg->metrics_file is unset; else reads the store and the pending requests
 * afresh (the run may have changed them), carries the last-success time in
 * cfg->state_dir/last-success, fills run->last_success and writes the file.
 * Errors are logged and returned (-1); they never change the run's exit code. */
int metrics_write_for_run(const struct config *cfg, enum adenroll_mode mode, struct metrics_run *run);

/* Exit codes a timer treats as success (adenroll.h). */
#define METRICS_EXIT_IS_SUCCESS(c) ((c) == ADENROLL_EXIT_OK || (c) == ADENROLL_EXIT_CHANGED)

#endif
