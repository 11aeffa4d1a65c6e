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
 * is fetched at most once.  Beside each CRL, its facts (issuer, times, the
 * revoked serials; 0600), valid while the CRL file and the CA certificate
 * that verified it are the same; and "issuers" (0600), which CA
 * certificate verified which held certificate among which set of CA
 * certificates.  With both, revocation_check_facts checks a held
 * certificate from the held-certificate index without parsing it or the
 * CRL (docs/stores.md). */
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
/* What the context did so far, for tests, bench/ and the debug line free
 * logs: checks answered from the facts, checks given the certificate, CRLs
 * parsed (network, cache), fetches. */
struct revocation_stats {
	unsigned long fact_checks, cert_checks, crl_parses, fetches;
};
void revocation_ctx_stats(const struct revocation_ctx *ctx, struct revocation_stats *out);
/* Writes the verified issuers learned (when write_cache) and frees. */
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

/* What the held-certificate index keeps of a certificate for
 * revocation_check_facts (store.h): its fingerprint (lowercase hex
 * SHA-256), serial (hex, as cert_serial_hex) and
 * revocation_cert_urls_text's answer. */
struct revocation_cert_facts {
	const char *sha256, *serial, *crl_urls;
	bool cdp_malformed;
};
/* The CRL distribution point URLs revocation_check reads for cert,
 * space-separated ("" for none, and when the extension is malformed: then
 * *malformed); NULL when a URL holds a space or a control character. */
char *revocation_cert_urls_text(X509 *cert, bool *malformed);
/* revocation_check(ctx, cert, NULL, ...) for the certificate the facts
 * describe, without it: true with the same *st and detail; false when the
 * facts are not enough (its issuer among ctx's CA certificates was not
 * verified by an earlier check with the certificate): the caller then calls
 * revocation_check with the certificate. */
bool revocation_check_facts(struct revocation_ctx *ctx, const struct revocation_cert_facts *f,
			    enum revocation_status *st, char *detail, size_t detail_len);

/* "not checked", "good", "revoked", "unknown". */
const char *revocation_status_name(enum revocation_status s);
/* RFC 5280 5.3.1 CRLReason name ("keyCompromise"), "reason N" otherwise. */
const char *revocation_reason_name(int reason);

#endif
