/* The autoenrollment policy of a run when [policy] source = gpo: the GPOs
 * that apply (gpo_directory + gpo_resolve), their Registry.pol files
 * (cached per GPO version in state_dir/gpo/, fetched from SYSVOL by the
 * helper adenroll-gpo-fetch only when a version is not cached), merged in
 * precedence order, and the last good policy cached for the days SYSVOL
 * cannot be read.  Also the cheap "has policy changed?" check. */
#ifndef ADENROLL_GPO_POLICY_H
#define ADENROLL_GPO_POLICY_H

#include <stdbool.h>
#include <stdio.h>

#include "aepolicy.h"
#include "config.h"
#include "gpo.h"
#include "gpo_directory.h"

struct discovery;
struct json_writer;

enum gpo_file_state {
	GPO_FILE_NONE = 0,       /* this side's version is 0: nothing to read */
	GPO_FILE_CACHED,         /* this version was read before */
	GPO_FILE_FETCHED,        /* read from SYSVOL in this run */
	GPO_FILE_ABSENT,         /* SYSVOL has no Registry.pol for this side */
	GPO_FILE_FAILED,         /* could not be read (or parsed) */
};

struct gpo_eval {
	struct gpo_directory dir;
	struct gpo_result res;
	enum gpo_file_state *files;  /* per res.applied[i] */
	char **file_notes;           /* per res.applied[i]: error text or NULL */
	bool smb_used;               /* the helper ran */
	bool read_ok;                /* every applied GPO's settings are known */
	char error[512];             /* why not, when !read_ok */
};

/* Fills policy for this run.  source = local: the [policy] switches.  source
 * = gpo: as above; when no applied GPO sets AEPolicy, the local switches
 * (MS-CAESO: "not configured" leaves the client's own setting); when a
 * needed file cannot be read, the last good policy from the cache (degraded),
 * or, without one, nothing at all (degraded, origin AE_FROM_NOTHING).  ev
 * (may be NULL) receives the details for explain/doctor.  A successful read
 * replaces the cache, unless dry_run.  Returns 0; -1 only when the directory
 * part failed (logged): then policy is the cache or nothing, degraded. */
int gpo_policy_evaluate(const struct config *cfg, struct discovery *disc, bool dry_run, struct ae_policy *policy,
			struct gpo_eval *ev);
void gpo_eval_free(struct gpo_eval *ev);

/* The policy-change check: bind, then the SOM and GPO searches only (no
 * security descriptors, no SYSVOL), and compare with the fingerprint of the
 * last full evaluation.  *changed is true when anything differs or nothing
 * was cached.  0, or -1 (logged) when the directory could not be asked. */
int gpo_policy_check(const struct config *cfg, enum adenroll_mode mode, bool *changed, char *why, size_t whylen);

/* "Autoenrollment policy: ..." and, with ev, every GPO link considered and
 * why it did or did not apply (explain, doctor). */
void gpo_policy_print(FILE *f, const struct config *cfg, const struct ae_policy *p, const struct gpo_eval *ev);
/* The policy's origin as a JSON object under key (--json of every command). */
void gpo_policy_json(struct json_writer *w, const char *key, const struct ae_policy *p);
/* Without the network (status): the last good policy from the cache, or the
 * local switches when source = local.  -1 when nothing is cached (p then
 * holds the local switches). */
int gpo_policy_cached(const struct config *cfg, enum adenroll_mode mode, struct ae_policy *p);

/* doctor: reads the GPT.INI of the first applied (or linked) GPO through the
 * helper, which insists on Kerberos, SMB3 signing and encryption.  0 ok, 1
 * nothing to read, -1 failed; msg says what happened. */
int gpo_policy_probe(const struct config *cfg, struct discovery *disc, const struct gpo_eval *ev, char *msg,
		     size_t msglen);

/* The helper's path: $ADENROLL_GPO_FETCH (tests, build trees) or the
 * installed pkglibexecdir/adenroll-gpo-fetch. */
const char *gpo_fetch_helper_path(void);

#endif
