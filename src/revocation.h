/* Is a held certificate revoked?  (docs/protocol.md 5.3 step 3.)  The CRL named
 * by the certificate's CRL distribution points: ldap:/// URLs are read over
 * the run's signed+sealed LDAP session (base read of the URL's DN,
 * certificateRevocationList) -- what AD CS puts first; other schemes (http)
 * are skipped and, when nothing else is left, give UNKNOWN.  A CRL
 * counts only when its signature verifies with the issuing CA's key (the CA
 * certificates read from LDAP), thisUpdate is not in the future and
 * nextUpdate is not more than REVOCATION_STALE_GRACE past.  Anything else is
 * REVOCATION_UNKNOWN with the reason: reported, never treated as revoked.
 *
 * Cache: verified CRLs are kept under cache_dir (one file per URL) and
 * reused until their nextUpdate without any fetch; within one run each URL
 * is fetched at most once. */
#ifndef ADENROLL_REVOCATION_H
#define ADENROLL_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "policy.h"
#include "util.h"

struct directory;
struct ldap_conn;
struct revocation_ctx;

/* A CRL past its nextUpdate by more than this is stale (UNKNOWN); less is
 * tolerated for publication delays and clock skew. */
#define REVOCATION_STALE_GRACE (3600)
/* thisUpdate may be this far in the future (clock skew). */
#define REVOCATION_CLOCK_SKEW (600)
/* Largest CRL accepted from the network or the cache. */
#define REVOCATION_MAX_CRL (32 * 1024 * 1024)

/* Fetches the bytes behind url (one value: DER).  0, or -1 with the reason
 * in err.  Replaces the built-in LDAP/HTTP fetch (tests). */
typedef int (*revocation_fetch_fn)(void *arg, const char *url, struct blob *out, char *err,
				   size_t errlen);

/* ldap: the bound connection for ldap:/// URLs (NULL: those are UNKNOWN).
 * cache_dir: where verified CRLs are kept (NULL: no cache); write_cache
 * false reads the cache but never writes it (--dry-run). */
struct revocation_ctx *revocation_ctx_new(struct ldap_conn *ldap, const char *cache_dir, bool write_cache);
/* CA certificates (DER) to find issuers among; copied. */
void revocation_ctx_add_cas(struct revocation_ctx *ctx, const struct bloblist *ders);
void revocation_ctx_set_fetch(struct revocation_ctx *ctx, revocation_fetch_fn fn, void *arg);
/* Overrides the current time (tests); 0 = time(NULL). */
void revocation_ctx_set_time(struct revocation_ctx *ctx, time_t now);
/* Fetches performed (network or injected), for tests and logs. */
unsigned long revocation_ctx_fetch_count(const struct revocation_ctx *ctx);
void revocation_ctx_free(struct revocation_ctx *ctx);
/* What pulse and explain use: ldap, every CA certificate of dir (roots, AIA,
 * enrollment services) and the cache state_dir/crl. */
struct revocation_ctx *revocation_ctx_for_run(struct ldap_conn *ldap, const struct directory *dir,
					      const char *state_dir, bool write_cache);

/* The status of cert.  issuer may be NULL: it is then looked up among the
 * CA certificates (name match and a verifying signature).  detail receives
 * one line for explain/logs: "CRL from URL, next update T" (good),
 * "revoked on T (reason)" (revoked), the reason (unknown). */
enum revocation_status revocation_check(struct revocation_ctx *ctx, X509 *cert, X509 *issuer,
					char *detail, size_t detail_len);

/* "not checked", "good", "revoked", "unknown". */
const char *revocation_status_name(enum revocation_status s);
/* RFC 5280 5.3.1 CRLReason name ("keyCompromise"), "reason N" otherwise. */
const char *revocation_reason_name(int reason);

#endif
