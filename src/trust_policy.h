/* Which of the directory's root CAs may become trusted beyond adenroll's
 * own connections: written to anchors_dir (and so, with update_system_trust
 * or a distribution anchor directory, to the system trust store) or marked
 * trusted in an NSS database.
 *
 * The directory comes from whatever DC answered, and DNS SRV picks it: any
 * computer account can hold an ldap/<its name> key, so a DC reached through
 * SRV proves only that it is some account of the domain.  A root is
 * therefore allowed only when the administrator said so (adenroll.conf(5)):
 *   - its SHA-256 fingerprint is in [store] root_fingerprints, or
 *   - the directory was read from a DC named in [store] pinned_dcs (the
 *     Kerberos bind proved that host holds the ldap/<name> key).
 * With neither key set, no root is ever written or marked trusted.
 * Pure but for the run's DC, which discovery records (trust_policy_set_dc). */
#ifndef ADENROLL_TRUST_POLICY_H
#define ADENROLL_TRUST_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "config.h"
#include "util.h"

struct trust_verdict {
	bool allowed;
	bool by_fingerprint;   /* allowed because root_fingerprints lists it */
	char fingerprint[65];  /* SHA-256, lowercase hex */
	char why[400];         /* one sentence, with what to set when refused */
};

/* The verdict for root, read from the directory of DC dc (NULL: unknown). */
void trust_policy_decide(const struct config *cfg, const char *dc, X509 *root, struct trust_verdict *out);

/* The DC this run's directory snapshot came from (discovery_run sets it),
 * for code that sees only a certificate (the NSS store).  NULL clears. */
void trust_policy_set_dc(const char *dc);
const char *trust_policy_dc(void);

/* True when dc is in cfg->pinned_dcs (case-insensitive, a trailing dot ignored). */
bool trust_policy_dc_is_pinned(const struct config *cfg, const char *dc);

/* "AB:CD:..." or "abcd..." (64 hex digits, colons and case ignored) into
 * 64 lowercase hex digits.  0 or -1. */
int trust_policy_parse_fingerprint(const char *text, char out[65]);

/* With root_fingerprints set it is the complete list of roots adenroll
 * trusts, for its own TLS and chain checks too: out receives the roots of
 * in that it lists (all of in when it is empty); each one left out is
 * logged once.  Returns how many were left out. */
size_t trust_policy_filter_roots(const struct config *cfg, const struct bloblist *in, struct bloblist *out);

/* What a CA's HTTPS (and the chains of what it issues) is verified against,
 * for enrollment and `adenroll doctor` alike: the returned anchors are the
 * directory's roots as discovery left them (root_fingerprints applied),
 * never the system store; intermediates receives the chain material, never
 * trusted itself: the AIA certificates and, with ca, the enrollment
 * service's cACertificate. */
struct directory;
struct enrollment_service;
const struct bloblist *trust_policy_ca_https(const struct directory *dir, const struct enrollment_service *ca,
					     struct bloblist *intermediates);

#endif
