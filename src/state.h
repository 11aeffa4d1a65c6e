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
	long request_id;
	time_t submitted;
	char *key_path;      /* filled by load/save: where the key is kept */
	char *csr_path;
};

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

struct last_run {
	time_t finished;
	int exit_code;                /* enum adenroll_exit */
	unsigned enrolled, renewed, pending, failed;
};
int state_last_run_save(const struct config *cfg, enum adenroll_mode mode, const struct last_run *r);
/* 1 found, 0 never ran, -1 error. */
int state_last_run_load(const struct config *cfg, enum adenroll_mode mode, struct last_run *r);

#endif
