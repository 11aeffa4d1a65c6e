/* Trust anchors from the directory written to files (docs/stores.md,
 * "Trust anchors"): the enterprise roots of CN=Certification Authorities,
 * the CN=AIA CA certificates and CN=NTAuthCertificates. */
#ifndef ADENROLL_ANCHORS_H
#define ADENROLL_ANCHORS_H

#include <stdbool.h>

#include "config.h"
#include "directory.h"

/* When cfg->anchors_dir is set: writes one PEM file per certificate plus
 * the adenroll-roots.pem bundle (atomically, only what differs) and removes
 * files adenroll wrote earlier for CAs no longer in d.  Roots are written
 * only when the trust policy allows them (trust_policy.h: root_fingerprints
 * or a DC in pinned_dcs); the others are logged with what to set.  A root
 * file written earlier is kept when d no longer has it, unless d came from
 * a DC in pinned_dcs or root_fingerprints is set without it: a DC found
 * through DNS cannot take a root out of the trust store.  Ownership is kept in
 * <state_dir>/anchors.manifest: a file adenroll did not write is never
 * changed or removed.  *changed: whether any file was written or removed.
 * With cfg->update_system_trust, a change also runs the system trust
 * update tool (anchors_update_system_trust).  No-op (0, *changed false)
 * without anchors_dir.  0 or -1 (logged). */
int anchors_write(const struct config *cfg, const struct directory *d, bool *changed);

/* Runs update-ca-trust extract (RHEL/Fedora) or, failing that,
 * update-ca-certificates (Debian/Ubuntu) through the runner (runner.h):
 * clean environment, output logged, killed with its process group after
 * cfg->trust_update_timeout seconds.  0 or -1 (logged). */
#define ANCHORS_TRUST_UPDATE_TIMEOUT_DEFAULT 120
int anchors_update_system_trust(const struct config *cfg);

/* Removes every file the manifest lists (regular files only; adenroll's
 * subdirectories once empty) and empties the manifest: `adenroll forget`
 * when nothing is managed any more.  *removed: how many files went.  With
 * cfg->update_system_trust and a removal, runs the trust update.  0 or -1. */
int anchors_remove_all(const struct config *cfg, unsigned *removed);

#endif
