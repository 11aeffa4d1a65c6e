/* Hooks: admin-supplied executables run after a certificate changes, so
 * services can reload (certbot-style hook directories; adenroll-hooks(5)).
 *
 * For event E, hooks_run runs every executable regular file directly in
 * hooks_dir (hooks for all events), then every one in hooks_dir/E.d/ (hooks
 * for E only), each set in byte order of the file names.  Skipped: names
 * starting with '.', ending in '~', containing ".dpkg-" or ".rpm" (package
 * manager leftovers, editor backups), and files without an execute bit.
 * Refused (logged, counted as failures): a directory or file that is group-
 * or world-writable or owned by neither root nor the effective user; symlinks
 * are followed and the target is what is checked.
 *
 * Each hook runs through the process runner (runner.h): stdin /dev/null,
 * stdout and stderr logged line by line, no other inherited descriptor, in
 * its own process group, with a clean environment: PATH and the ADENROLL_*
 * variables below (empty when not applicable).  A hook that runs longer
 * than the timeout has its process group killed.  A failing hook is
 * logged with its exit status; it never stops the others or the run. */
#ifndef ADENROLL_HOOKS_H
#define ADENROLL_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "adenroll.h"
#include "config.h"

#define HOOKS_TIMEOUT_DEFAULT 60

/* Events: the lifecycle events of log.h plus "archived" (a certificate was
 * moved to the archive: superseded or retired). */
#define HOOK_EVENT_ENROLLED "enrolled"
#define HOOK_EVENT_RENEWED "renewed"
#define HOOK_EVENT_PENDING "pending"
#define HOOK_EVENT_DENIED "denied"
#define HOOK_EVENT_FAILED "failed"
#define HOOK_EVENT_ARCHIVED "archived"

/* Any field may be NULL / 0 / -1 (then the variable is set but empty). */
struct hook_env {
	const char *template_cn;   /* ADENROLL_TEMPLATE */
	const char *cert_path;     /* ADENROLL_CERT */
	const char *key_path;      /* ADENROLL_KEY */
	const char *chain_path;    /* ADENROLL_CHAIN */
	const char *archived_path; /* ADENROLL_ARCHIVED: where the previous certificate went */
	const char *ca_name;       /* ADENROLL_CA */
	const char *serial;        /* ADENROLL_SERIAL (hex) */
	time_t not_after;          /* ADENROLL_NOT_AFTER, UTC ISO 8601 ("2026-11-25T17:00:00Z") */
	long request_id;           /* ADENROLL_REQUEST_ID; -1 none */
	const char *message;       /* ADENROLL_MESSAGE: the reason for pending/denied/failed */
	const char *mode;          /* ADENROLL_MODE: "machine" or "user" */
};

/* Runs the hooks for event (one of HOOK_EVENT_*).  Returns the number of
 * hooks that failed, timed out or were refused (an unsafe directory counts
 * once); 0 also when hooks_dir is NULL or does not exist. */
int hooks_run(const char *hooks_dir, const char *event, const struct hook_env *env);
/* The same with the timeout in seconds (tests). */
int hooks_run_timeout(const char *hooks_dir, const char *event, const struct hook_env *env,
		      unsigned timeout_seconds);

/* For pulse and enroll: the hooks for one template's outcome, with paths
 * from the store as it is now (after the install).  ISSUED runs "renewed"
 * when renewal is true, else "enrolled"; PENDING "pending"; DENIED "denied";
 * FAILED "failed"; DRY_RUN nothing.  archived_path: where store_install moved
 * the previous certificate (NULL if none).  rep is a struct enroll_report
 * (enroll.h).  Returns hooks_run's count. */
struct enroll_report;
int hooks_run_for_report(const struct config *cfg, enum adenroll_mode mode, const char *template_cn,
			 const struct enroll_report *rep, bool renewal, const char *archived_path);

/* For pulse, at the start of a run (under the run lock, after store_tidy):
 * the enrolled/renewed hooks recorded as owed (state.h) by a run killed
 * between the store's commit and its hooks.  A record whose certificate
 * (by serial) is live in items runs its hooks; one whose certificate never
 * became live is dropped.  Every record is removed after.  Returns
 * hooks_run's count of failures. */
struct store_item;
int hooks_run_owed(const struct config *cfg, enum adenroll_mode mode, const struct store_item *items,
		   size_t n_items);

#endif
