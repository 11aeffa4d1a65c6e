/* Certificate stores: where issued certificates and their keys live.  One
 * interface, back-ends behind it (a PEM directory, store_pem.c; an NSS
 * database, store_nss.c); store_open opens every back-end
 * cfg->store_types selects and the calls fan out.  Layout and guarantees
 * of each back-end: docs/stores.md. */
#ifndef ADENROLL_STORE_H
#define ADENROLL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "adenroll.h"
#include "config.h"
#include "policy.h"
#include "template.h"

struct directory;

/* A certificate adenroll manages.  The template is identified by the
 * certificate's own extensions (docs/protocol.md 2.7), not by a file name:
 * template_oid/major/minor from 1.3.6.1.4.1.311.21.7, ext_template_cn from
 * 1.3.6.1.4.1.311.20.2.  template_cn is the name it was installed for. */
struct store_item {
	const char *store_name;     /* "pem", "nss" (static) */
	char *template_cn;
	char *ext_template_cn;      /* v1 name extension, NULL if absent */
	char *template_oid;         /* NULL if the cert has no 21.7 extension */
	uint32_t major, minor;
	bool has_version;           /* 21.7 carried the major version */
	X509 *cert;
	char *cert_path, *key_path, *chain_path;   /* stable paths (PEM: the symlinks) */
	char *generation;           /* back-end specific id of the live pair */
	char *ca_name;
	long request_id;
	time_t installed;
	/* The template's values when installed, so status can compute renewal
	 * dates offline (without LDAP). */
	bool has_renewal;
	int64_t renewal_seconds;
	uint32_t enrollment_flag;
	uint32_t template_major;
	/* Facts of the certificate, set for every listed item, from the
	 * held-certificate index (store_index.h) or the certificate itself,
	 * so decisions need no parse.  cert may be NULL in what
	 * store_list_indexed returns: store_item_cert() reads it then. */
	bool has_facts;
	bool ext_malformed;         /* a template extension did not parse */
	char serial[84];            /* hex, as cert_serial_hex */
	char sha256[65];            /* lowercase hex fingerprint of the DER */
	char *issuer;               /* RFC 2253 one-line issuer name */
	time_t not_before, not_after;
	char *cert_file;            /* the file store_item_cert reads (PEM: the generation's cert.pem) */
	/* What revocation_check_facts needs besides serial and sha256, so
	 * that checking a held certificate needs no parse either: its CRL
	 * distribution point URLs (revocation_cert_urls_text), space-separated
	 * ("" for none).  has_crl_facts false: unknown (a URL with a space or
	 * control character), the certificate is then parsed to check it. */
	bool has_crl_facts;
	bool cdp_malformed;
	char *crl_urls;
};

struct store;

int store_open(const struct config *cfg, enum adenroll_mode mode, struct store **out);
/* What adenroll manages, read from the index and the live files.  An entry
 * whose files cannot be read is logged and left out. */
int store_list(struct store *s, struct store_item **items, size_t *n);
/* The same list, but a certificate the held-certificate index answers for
 * is not parsed: its item has the facts (serial, fingerprint, issuer,
 * dates, template extensions, meta) and cert NULL.  What decides without
 * the X509 (store_policy_input, store_lookup_*) works on these items. */
int store_list_indexed(struct store *s, struct store_item **items, size_t *n);
/* it->cert, parsed from it->cert_file on first use when store_list_indexed
 * left it out (the item caches it: it is logically part of the item).  The
 * file must still hold the certificate whose fingerprint was listed.  NULL
 * (logged) when it cannot be read or changed since. */
X509 *store_item_cert(const struct store_item *it);
/* The held certificates by template, through hash tables built once over
 * items (borrowed: keep them alive and unchanged while the lookup lives),
 * so looking up every template is linear in templates + certificates.
 * d may be NULL (offline). */
struct store_lookup;
struct store_lookup *store_lookup_new(const struct store_item *items, size_t n, const struct directory *d);
/* The first item holding a cert of template t: 21.7 templateID == t->oid,
 * else 20.2 name == t->cn; a cert with neither extension matches by the
 * recorded template_cn.  NULL when none. */
const struct store_item *store_lookup_find(const struct store_lookup *lk, const struct template *t);
/* By template cn only (20.2 name or recorded cn): superseded templates that
 * are no longer in the directory, forget, hooks. */
const struct store_item *store_lookup_find_cn(const struct store_lookup *lk, const char *cn);
/* The certificate held for eligible template t: its own (store_lookup_find),
 * else one of a template t supersedes (msPKI-Supersede-Templates,
 * docs/protocol.md 5.2 step 7), matched through d's template object when d
 * has it, else by cn; then *superseded_cn is that cn. */
const struct store_item *store_lookup_held(const struct store_lookup *lk, const struct template *t,
					   const char **superseded_cn);
void store_lookup_free(struct store_lookup *lk);
/* policy_decide()'s input from what is held (plan.c, the one caller besides
 * bench/, turns it into the plan pulse, explain and status share).  The
 * policy bits come from cfg's local switches; the plan replaces them with
 * the run's AEPolicy.  held may be NULL. */
void store_policy_input(struct policy_input *in, time_t now, const struct config *cfg,
			const struct template *t, const struct store_item *held,
			const char *superseded_cn, bool pending);

/* Callers hold the run lock (main.c takes cfg->lock_file for commands that
 * change stores): back-ends assume one writer.
 * Installs key+cert(+chain) for t atomically: readers see the old pair or the
 * new pair, never a mix.  The previous pair, if any, is moved to the archive
 * after the new pair is live; *archived_to (may be NULL) receives its archive
 * path or NULL.  Nothing is ever deleted, except archive entries older than
 * cfg->archive_retention_days when that is > 0. */
int store_install(struct store *s, const struct template *t, EVP_PKEY *key, X509 *cert,
		  STACK_OF(X509) *chain, const char *ca_name, long request_id,
		  char **archived_to);
/* The private key of held item it (from store_list), for a renewal that
 * keeps it (reuse_key, CT_FLAG_REQUIRE_SAME_KEY_RENEWAL).  PEM reads key.pem
 * of the item's generation relative to <name>.d with O_NOFOLLOW at every
 * step (never through the <name>.key symlink) and wants a regular file that
 * group and others cannot write; NSS exports it from the database.  The key must
 * match it->cert.  0 and *key (caller frees), or -1 logged. */
int store_load_key(struct store *s, const struct store_item *it, EVP_PKEY **key);
/* Moves the live pair of template_cn to the archive and stops managing it
 * (a superseded template once its successor is installed; a revoked cert
 * with CT_FLAG_REMOVE_INVALID_CERTIFICATE_FROM_PERSONAL_STORE). */
int store_retire(struct store *s, const char *template_cn, char **archived_to);
/* Tidies what a run killed while storing left (PEM: never-live .new-*
 * generations and temp files removed, complete generations that are not
 * current archived), as the next install would.  For runs that change
 * stores, under the run lock; failures are logged, never fatal. */
void store_tidy(struct store *s, time_t now);
void store_items_free(struct store_item *items, size_t n);
void store_close(struct store *s);

/* ---- for back-ends (store_pem.c, store_nss.c) and store.c only ---- */
struct store_install_args {
	const struct template *t;
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;
	const char *ca_name;
	long request_id;
	time_t now;
};
struct store_backend;
struct store_backend_ops {
	const char *name;
	int (*list)(struct store_backend *b, struct store_item **items, size_t *n);
	/* optional: list without parsing what an index answers for (cert NULL,
	 * cert_file and the facts set); list may then be NULL */
	int (*list_indexed)(struct store_backend *b, struct store_item **items, size_t *n);
	int (*install)(struct store_backend *b, const struct store_install_args *a,
		       char **archived_to);
	int (*retire)(struct store_backend *b, const char *template_cn, char **archived_to);
	void (*tidy)(struct store_backend *b, time_t now);   /* optional */
	int (*load_key)(struct store_backend *b, const struct store_item *it, EVP_PKEY **key);
	void (*close)(struct store_backend *b);
};
struct store_backend {
	const struct store_backend_ops *ops;
};
int store_pem_open(const struct config *cfg, enum adenroll_mode mode, struct store_backend **out);
/* store_nss.c, built only --with-nss (HAVE_NSS). */
int store_nss_open(const struct config *cfg, enum adenroll_mode mode, struct store_backend **out);
void store_item_free_contents(struct store_item *item);
/* Largest certificate file a back-end reads. */
#define STORE_MAX_CERT_FILE (1u << 20)
/* Sets the facts (serial, fingerprint, issuer, dates) from item->cert. */
void store_item_set_facts(struct store_item *item);
/* No control characters: safe in a line-based meta record or index. */
bool store_text_is_clean(const char *s);
/* The meta record of an install ("key=value" lines: template, CA, request,
 * the template's renewal values), and its parser filling it. */
char *store_meta_text(const struct store_install_args *a);
void store_meta_parse(char *text, struct store_item *it);
/* "20250101T000000Z": how back-ends name archive entries and generations by
 * time, and the parse back (false unless s starts with exactly that form). */
char *store_format_utc(time_t t);
bool store_time_from_name(const char *s, time_t *out);

#endif
