/* What pulse will do for one template, decided once: the plan.  pulse
 * executes it, pulse --dry-run and explain print it, status shows it from
 * what is recorded offline, so "explain says what pulse will do" holds by
 * construction.  The plan joins the facts of the run -- the template, the
 * certificate held (or one of a template it supersedes), a request recorded
 * as pending, the held certificate's revocation status, the autoenrollment
 * policy in force (Group Policy or the [policy] switches) and --force -- and
 * turns them into an action with its rule and dates (policy.h, docs/protocol.md
 * 5.3, 5.4), the request to send, the key it carries, the transport and the
 * order of the CAs.
 *
 * A plan is data.  Making one loads no private key and sends nothing to a
 * CA; the only reads are the pending request's record under state_dir
 * (never its key) and, when the decision depends on it, the revocation
 * check of the held certificate through ctx->rev (CRL cache or the run's
 * LDAP session). */
#ifndef ADENROLL_PLAN_H
#define ADENROLL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "adenroll.h"
#include "aepolicy.h"
#include "config.h"
#include "directory.h"
#include "enroll.h"
#include "json.h"
#include "policy.h"
#include "revocation.h"
#include "state.h"
#include "store.h"
#include "template.h"

/* The request the plan sends (MS-WCCE 3.1.1.4.3). */
enum plan_request {
	PLAN_REQUEST_NONE = 0,   /* keep or skip: nothing is sent */
	PLAN_REQUEST_POLL,       /* ask the CA about the recorded request; nothing new is submitted */
	PLAN_REQUEST_NEW,        /* a new enrollment: an unsigned PKCS#10 */
	PLAN_REQUEST_RENEWAL,    /* the PKCS#10 in CMS SignedData signed by the held certificate
				    and key (MS-WCCE 3.1.1.4.3.2.1) */
};

/* Which private key the request carries.  The plan only says which; the
 * key is generated or read by whoever executes the plan. */
enum plan_key {
	PLAN_KEY_NONE = 0,
	PLAN_KEY_NEW,            /* generated for this request */
	PLAN_KEY_HELD,           /* the held certificate's key: a renewal of the same template with
				    [enroll] reuse_key or CT_FLAG_REQUIRE_SAME_KEY_RENEWAL */
	PLAN_KEY_PENDING,        /* the key recorded with the pending request */
};

/* The facts every template of one run shares.  Borrowed; must outlive the
 * plans made from it. */
struct plan_context {
	const struct config *cfg;
	enum adenroll_mode mode;
	time_t now;
	const struct ae_policy *aep;       /* the AEPolicy bits in force (gpo_policy.h) */
	/* NULL offline (status): no supersedence through the directory, no
	 * userCertificate check, no renewal-only rule, no CA order. */
	const struct directory *dir;
	struct revocation_ctx *rev;        /* NULL: revocation is not checked */
	const struct store_item *items;    /* what the stores hold (store_list or store_list_indexed) */
	size_t n_items;
	/* store_lookup_new over items and dir: hash lookups, so planning every
	 * template is linear in templates + certificates.  NULL: plan_template
	 * builds one for its call (a caller planning one template). */
	const struct store_lookup *lookup;
	bool force;                        /* --force: a valid certificate is replaced */
	/* Work the route out (plan_route) while planning: explain and pulse
	 * --dry-run show it.  A pulse works it out only for the plans that send
	 * a request, once it is about to (after asking Group Policy's
	 * enrollment policy servers), and enroll_routed walks it. */
	bool with_route;
	/* plan_route logs the endpoints it leaves out (enroll_endpoints'
	 * log_skipped): pulse does, explain prints them instead. */
	bool log_route;
};

struct plan {
	const struct template *t;
	/* The action and its rule (d.action, d.rule), the renewal dates and the
	 * note.  POLICY_WAIT_PENDING: the recorded request is polled. */
	struct policy_decision d;
	const struct store_item *held;     /* NULL: none held */
	const char *superseded_cn;         /* held is of this template, which t supersedes */
	time_t not_before, not_after;      /* of held; 0 without */
	bool pending;                      /* a request is recorded for t */
	bool pending_unreadable;           /* ... but its record cannot be read */
	struct pending_request pending_req;  /* when pending and readable (key_path only names the file) */
	enum revocation_status revocation;
	char revocation_detail[512];
	enum plan_request request;
	enum plan_key key;
	/* routed: "ces" or "certsrv", the transport of the first endpoint tried
	 * (enroll_route_transport), "none" when the first CA has no endpoint
	 * for [enroll] transport; else NULL (pulse reports the endpoint it used
	 * in its enroll_report) */
	const char *transport;
	bool forced;                       /* --force turned keep into reenroll */
	/* A fact policy_decide does not see changed the action or its reason
	 * (enroll_final_action: userCertificate, renewal-only template); the
	 * rule says why. */
	bool adjusted;
	/* Less than OfflineExpirationPercent of the lifetime is left (a warning). */
	bool offline_expiring;
	/* A request to submit and the route worked out (with_route, or
	 * plan_route): the CAs in the order tried, each with its endpoints in
	 * order.  route.cas is NULL otherwise. */
	struct enroll_route route;
};

/* The plan for template t (renewal_only: eligibility's renewal_only).
 * The held certificate is found with store_lookup_held (ctx->lookup, else
 * a lookup over ctx->items built for this call).  A held certificate is
 * parsed (store_item_cert) only when its revocation is checked. */
void plan_template(const struct plan_context *ctx, const struct template *t, bool renewal_only,
		   struct plan *out);
/* The plan for one held item, with t the template it was recorded for
 * (status: offline, ctx->dir NULL). */
void plan_held_item(const struct plan_context *ctx, const struct template *t,
		    const struct store_item *held, struct plan *out);
void plan_free(struct plan *p);   /* contents only; NULL is fine */

/* Works out p's route when p submits a request and it is not yet worked
 * out (enroll_route_make; ctx->dir needed): once per plan.  Returns
 * whether p has a route. */
bool plan_route(const struct plan_context *ctx, struct plan *p);

/* "keep", "enroll", "renew", "reenroll", "poll", "skip": what pulse prints. */
const char *plan_action_name(const struct plan *p);
const char *plan_request_name(enum plan_request r);   /* "none", "poll", "new", "renewal" */
const char *plan_key_name(enum plan_key k);           /* "none", "new", "held", "pending" */
/* One line on the request, for explain: "renewal: PKCS#10 with ...". */
const char *plan_request_text(const struct plan *p);

/* The plan as one JSON object under key (the same in explain, pulse and
 * status output): action, rule, note, dates (ISO 8601 UTC, null when
 * none), request, key, transport, CA order, forced, revocation. */
void plan_json(struct json_writer *w, const char *key, const struct plan *p);

#endif
