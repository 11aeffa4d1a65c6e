/* One template's enrollment: key -> CSR -> certsrv at each CA publishing it ->
 * checks -> store, or a pending request recorded for later runs (docs/protocol.md 5.3, 6.5). */
#ifndef ADENROLL_ENROLL_H
#define ADENROLL_ENROLL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "adenroll.h"
#include "config.h"
#include "directory.h"
#include "template.h"

struct discovery;

enum enroll_outcome { ENROLL_ISSUED, ENROLL_PENDING, ENROLL_DENIED, ENROLL_FAILED,
		      ENROLL_DRY_RUN /* would submit: nothing sent or written */ };

struct enroll_report {
	enum enroll_outcome outcome;
	char ca[256];             /* CA cn that answered (or was tried last) */
	long request_id;          /* -1 when none */
	char serial[80];          /* issued certificate serial, hex */
	time_t not_after;
	bool has_hresult;
	uint32_t hresult;
	char message[512];        /* plain-words reason for denied/failed/pending */
	char archived[4096];      /* ISSUED: where the replaced certificate was archived, "" if none */
};

/* CAs (enrollment services) publishing t, in the order they are tried:
 * cfg->cas (by cn or host name) when set, else all publishers sorted by cn
 * without case (the order eligibility lists them in).
 * Returns the count; *out (caller frees the array only) points into dir. */
size_t enroll_ca_order(const struct directory *dir, const struct config *cfg, const struct template *t,
		       const struct enrollment_service ***out);

/* New enrollment (also used for renewal, with renewal true: a new request;
 * only the logged event differs).  The key is fresh unless reuse_key is
 * the held key (store_load_key) to sign the new request with (renewal with
 * [enroll] reuse_key or CT_FLAG_REQUIRE_SAME_KEY_RENEWAL; borrowed).  Tries each CA of
 * enroll_ca_order: transient answers (transport errors, 5xx, 401, a CA not
 * answering such as RPC 0x800706BA, unclassifiable pages; see hresult.h) and
 * 0x80094800 (template not on that CA) fail over to the next; issued, pending
 * and denied end the loop, and so does a transient answer that names a
 * request id (issued, but certnew.cer could not be read): that request is
 * recorded as pending and collected by a later run, never submitted twice.  An issued certificate is installed only when it
 * carries our key, chains to a directory root and is of template t.  Logs
 * the lifecycle event.  Returns 0 when rep says what happened (any outcome),
 * -1 on a local error before anything was sent (rep->outcome FAILED). */
int enroll_template(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
		    const struct template *t, bool renewal, EVP_PKEY *reuse_key, bool dry_run,
		    struct enroll_report *rep);

/* A pending request recorded for t by an earlier run: poll it with
 * certnew.cer (never resubmits).  Issued => the same checks, install, forget
 * the state; still pending => rep PENDING; denied => rep DENIED, forget;
 * unknown to the CA (0x80094004) => forget and set *had_pending false so the
 * caller enrolls anew in the same run; anything transient (transport errors,
 * the CA not answering, an unclassifiable page) => rep FAILED, state kept, so
 * the next run asks again and nothing is submitted twice.  *had_pending is false when no request was recorded for t (rep
 * untouched).  Returns -1 only when the recorded state cannot be read. */
int enroll_poll_pending(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
			const struct template *t, bool dry_run, bool *had_pending, struct enroll_report *rep);

const char *enroll_outcome_name(enum enroll_outcome o);

#endif
