/* One template's enrollment: key -> CSR -> each CA publishing it, over web
 * enrollment (certsrv) or CES (ces) per enroll_endpoints ->
 * checks -> store, or a pending request recorded for later runs (docs/protocol.md 5.3, 6.5). */
#ifndef ADENROLL_ENROLL_H
#define ADENROLL_ENROLL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "adenroll.h"
#include "config.h"
#include "directory.h"
#include "policy.h"
#include "template.h"

#include <openssl/x509.h>

struct discovery;

enum enroll_outcome { ENROLL_ISSUED, ENROLL_PENDING, ENROLL_DENIED, ENROLL_FAILED,
		      ENROLL_DRY_RUN /* would submit: nothing sent or written */ };

struct enroll_report {
	enum enroll_outcome outcome;
	char ca[256];             /* CA cn that answered (or was tried last) */
	char endpoint[512];       /* where: "https://host/certsrv/" or the CES URL */
	long request_id;          /* -1 when none */
	char serial[80];          /* issued certificate serial, hex */
	time_t not_after;
	bool has_hresult;
	uint32_t hresult;
	char message[512];        /* plain-words reason for denied/failed/pending */
	char archived[4096];      /* ISSUED: where the replaced certificate was archived, "" if none */
};

/* CAs (enrollment services) publishing t whose nTSecurityDescriptor grants
 * the account Enroll (eligibility_ca_enroll; the others are logged and
 * skipped), in the order they are tried: cfg->cas (by cn or host name) when
 * set, else sorted by cn without case (the order eligibility lists them in).
 * Returns the count; *out (caller frees the array only) points into dir. */
size_t enroll_ca_order(const struct directory *dir, const struct config *cfg, const struct template *t,
		       const struct enrollment_service ***out);

/* Where requests to one CA go ([enroll] transport; docs/admin-guide.md
 * "Which transport").  auto: the CA's CES endpoints (msPKI-Enrollment-Servers)
 * with Kerberos authentication, lowest priority number first (renewal-only
 * ones only for a renewal), then web enrollment at its dNSHostName; ces: the
 * endpoints alone; certsrv: web enrollment alone.  Endpoints with another
 * authentication are never used (log_skipped logs each one with the reason,
 * once per call). */
struct enroll_endpoint {
	bool ces;
	const char *url;          /* the CES URL (borrowed from ca), NULL for web enrollment */
	unsigned priority;        /* CES */
	bool renewal_only;        /* CES: takes only a request signed by the held certificate */
	char why[200];            /* why this one, in this place */
};
/* Returns the count; *out (caller frees the array) is in the order tried. */
size_t enroll_endpoints(const struct enrollment_service *ca, enum config_transport transport, bool renewal,
			bool log_skipped, struct enroll_endpoint **out);
const char *enroll_transport_name(enum config_transport t);

/* Where one template's request goes: the CAs of enroll_ca_order, each with
 * its endpoints (enroll_endpoints), both in the order tried.  Worked out
 * once per template and run -- the plan keeps it (plan.h), explain and
 * pulse --dry-run print it, enroll_routed walks it -- so a CA that is not
 * asked, or an endpoint that is not used, is logged once. */
struct enroll_route_ca {
	const struct enrollment_service *ca;   /* borrowed from the directory */
	struct enroll_endpoint *eps;
	size_t n_eps;
};
struct enroll_route {
	struct enroll_route_ca *cas;   /* NULL: not worked out */
	size_t n;
	bool renewal;                  /* the endpoints of a renewal signed by the held certificate */
};
/* renewal: for a request signed by the held certificate (renewal-only CES
 * endpoints included).  log_skipped as enroll_endpoints; CAs that do not
 * grant Enroll are always logged (enroll_ca_order). */
void enroll_route_make(const struct directory *dir, const struct config *cfg, const struct template *t,
		       bool renewal, bool log_skipped, struct enroll_route *out);
void enroll_route_free(struct enroll_route *r);   /* contents only; NULL is fine */
/* "ces", "certsrv" for the first endpoint of the first CA, "none" when that
 * CA has none, NULL when there is no CA. */
const char *enroll_route_transport(const struct enroll_route *r);

/* What pulse and enroll execute from a plan (plan.h): one request over
 * route (enroll_route_make, made for a renewal when held_cert is given),
 * walked as it is, so the CAs and endpoints are worked out once per
 * template and run.  Key and request come from the key process
 * (keyproc.h); this process never holds a private key.
 *
 * held_cert given: a renewal as Windows sends it (MS-WCCE 3.1.1.4.3.2.1),
 * a PKCS#10 carrying held_cert in szOID_RENEWAL_CERTIFICATE, wrapped in
 * CMS SignedData signed with the held key and carrying held_cert; the key
 * process reads the held key from the store and signs.  The request has a
 * new key unless keep_key (then the held key).  A held certificate that
 * cannot sign (expired, not yet valid, key unreadable or not its key) makes
 * it a new enrollment, logged with the reason, which skips the route's
 * renewal-only endpoints.  held_cert NULL: a new enrollment, an unsigned
 * PKCS#10 with a new key.
 *
 * Tries each CA of the route: transient answers (transport errors, 5xx,
 * 401, a CA not answering such as RPC 0x800706BA, unclassifiable pages; see
 * hresult.h) and refusals about that CA (hresult_is_about_ca) fail over to
 * the next; issued, pending and denied end the loop, and so does a
 * transient answer that names a request id (issued, but certnew.cer could
 * not be read): that request is recorded as pending and collected by a
 * later run, never submitted twice.  An issued certificate is installed
 * only when it carries our key, chains to a directory root and is of
 * template t.  Logs the lifecycle event: "renewed" when renewal, else
 * "enrolled".  Returns 0 when rep says what happened (any outcome), -1 on
 * a local error before anything was sent (rep->outcome FAILED). */
int enroll_routed(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
		  const struct template *t, const struct enroll_route *route, bool renewal, X509 *held_cert,
		  bool keep_key, bool dry_run, struct enroll_report *rep);

/* What pulse (and explain) do beyond policy_decide's action a, for the
 * facts policy.c does not see: in user mode a template with
 * CT_FLAG_AUTO_ENROLLMENT_CHECK_USER_DS_CERTIFICATE and a valid certificate
 * of it in userCertificate is not enrolled (KEEP); a renewal-only template
 * (eligibility renewal_only: msPKI-RA-Signature = 1) is never enrolled anew
 * (SKIP).  held: a certificate of t is held locally.  When the action
 * changes, rule receives the reason. */
enum policy_action enroll_final_action(const struct directory *dir, enum adenroll_mode mode,
				      const struct template *t, bool renewal_only, bool held,
				      enum policy_action a, time_t now, char *rule, size_t rulelen);

/* A pending request recorded for t by an earlier run: poll it where it was
 * sent (certnew.cer, or QueryTokenStatus at the recorded CES endpoint; a
 * state without a transport is web enrollment; never resubmits).  Issued => the same checks, install, forget
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
