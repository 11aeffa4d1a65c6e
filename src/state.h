/* Run state under cfg->state_dir: requests pending at a CA (docs/protocol.md 6.5)
 * with the private key waiting for their certificate, and facts about the
 * last run (for metrics).  Files are written with fs_write_atomic; keys 0600. */
#ifndef ADENROLL_STATE_H
#define ADENROLL_STATE_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "adenroll.h"
#include "config.h"

struct pending_request {
	char *template_cn;
	char *ca_name;
	char *ca_host;
	char *transport;     /* "ces" with endpoint = the CES URL it was submitted to;
			      * NULL (files without the field) = web enrollment (certsrv) */
	char *endpoint;
	long request_id;
	time_t submitted;
	char *key_path;      /* filled by load/save: where the key is kept */
	char *csr_path;
};

/* The file-name stem for state kept per template cn: the cn itself when it
 * is at most STATE_STEM_PLAIN_MAX bytes of ASCII letters, digits, '-' and
 * '_' (the name earlier versions gave it too); otherwise at most
 * STATE_STEM_PREFIX_MAX bytes of those (other ASCII as '_', non-ASCII left
 * out), '~' and 32 hex digits of the SHA-256 of the whole cn.  Bounded (fits
 * NAME_MAX with any extension and temp suffix) and, for any two cns,
 * different; the cn itself is recorded inside the file.  Caller frees. */
#define STATE_STEM_PLAIN_MAX 64
#define STATE_STEM_PREFIX_MAX 40
char *state_file_stem(const char *cn);

/* Saves pr and its key/CSR (replacing an earlier one for the same template). */
int state_pending_save(const struct config *cfg, enum adenroll_mode mode,
		       const struct pending_request *pr, EVP_PKEY *key, const char *csr_pem);
/* 1 found (out and *key filled; key may be NULL to skip loading it), 0 none, -1 error. */
int state_pending_load(const struct config *cfg, enum adenroll_mode mode,
		       const char *template_cn, struct pending_request *out, EVP_PKEY **key);
/* Every pending request (without keys). */
int state_pending_list(const struct config *cfg, enum adenroll_mode mode,
		       struct pending_request **out, size_t *n);
/* Forgets it (issued or denied).  Removing nothing is not an error. */
int state_pending_remove(const struct config *cfg, enum adenroll_mode mode,
			 const char *template_cn);
void state_pending_free(struct pending_request *pr);   /* contents only */
void state_pending_list_free(struct pending_request *v, size_t n);

/* Hooks owed for a certificate being installed.  Recorded (durably) before
 * the store's commit point and removed once the hooks ran, so a run killed
 * in between leaves the record and the next pulse runs the hooks
 * (hooks_run_owed).  One per template: <state_dir>/hooks-owed/<stem>. */
struct hooks_owed {
	char *template_cn;
	char *event;        /* HOOK_EVENT_ENROLLED or HOOK_EVENT_RENEWED */
	char *serial;       /* of the certificate being installed, hex */
	char *ca_name;
	long request_id;
	time_t not_after;
	time_t recorded;
};
int state_hooks_owed_save(const struct config *cfg, enum adenroll_mode mode, const struct hooks_owed *h);
/* Every record (a file that does not parse is logged and left out). */
int state_hooks_owed_list(const struct config *cfg, enum adenroll_mode mode,
			  struct hooks_owed **out, size_t *n);
/* Removing nothing is not an error. */
int state_hooks_owed_remove(const struct config *cfg, enum adenroll_mode mode, const char *template_cn);
void state_hooks_owed_list_free(struct hooks_owed *v, size_t n);

/* Removes the temp files a run killed while writing left in state_dir and
 * its subdirectories (a kill inside state_pending_save would otherwise leave
 * a 0600 copy of a private key there for ever).  For runs under the run
 * lock; temps of a process that still runs are kept; failures are logged. */
void state_tidy(const struct config *cfg, enum adenroll_mode mode);
/* fs_dir_trusted for state_dir and pending/ (those that exist). */
int state_dirs_trusted(const struct config *cfg, char *why, size_t whylen);

struct last_run {
	time_t finished;
	int exit_code;                /* enum adenroll_exit */
	unsigned enrolled, renewed, pending, failed;
};
int state_last_run_save(const struct config *cfg, enum adenroll_mode mode, const struct last_run *r);
/* 1 found, 0 never ran, -1 error. */
int state_last_run_load(const struct config *cfg, enum adenroll_mode mode, struct last_run *r);

#endif
