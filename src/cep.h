/* CES endpoints from Group Policy: the enrollment policy servers of the
 * PolicyServers key (aepolicy.h) are asked for their policy (MS-XCEP
 * GetPolicies over https_client: Kerberos, channel binding, TLS anchored at
 * the directory's roots), and the Kerberos URIs of each CA in the answer
 * are added to the CES endpoints of the directory's enrollment service that
 * is that CA (docs/protocol.md 10.4).  A server that does not answer is
 * logged and skipped: it never stops a run. */
#ifndef ADENROLL_CEP_H
#define ADENROLL_CEP_H

#include <stddef.h>

#include "aepolicy.h"
#include "config.h"
#include "directory.h"
#include "https_client.h"
#include "util.h"
#include "wstep.h"

/* One GetPolicies exchange with the policy server at url.  0 with out
 * filled, or -1 with out->message saying why. */
int cep_get_policies(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
		     long timeout_seconds, struct xcep_policy *out);
/* The same, and how the Kerberos authentication went (doctor); auth may be NULL. */
int cep_get_policies_auth(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
			  long timeout_seconds, struct xcep_policy *out, struct https_auth *auth);

/* Pure: the CAs of policy (from server_url) matched to dir's enrollment
 * services, by the CA certificate (one of its cACertificate values), else
 * by the host of a URI (the service's dNSHostName) or the CA name a CES
 * URI starts with ("/<CA name>_CES_..."); their URIs with
 * clientAuthentication 2 (Kerberos) added to the service's endpoints
 * unless the URL is there already (case-insensitive), in priority order
 * after those of equal priority.  Returns how many were added. */
size_t cep_merge(struct directory *dir, const struct xcep_policy *policy, const char *server_url);

/* What the servers are asked for: autoenrollment (pulse, explain) asks
 * only those whose Flags carry AutoEnrollmentEnabled; a manual enrollment
 * (adenroll enroll) asks every usable one, as certmgr does on Windows. */
enum cep_use { CEP_USE_AUTOENROLLMENT, CEP_USE_MANUAL };

/* The PolicyServers Flags bit (PolicyServerUrlFlags) adenroll acts on;
 * AuthFlags are the CES_AUTH_* values (directory.h); docs/protocol.md 10.4. */
#define CEP_FLAG_AUTOENROLLMENT_ENABLED 0x10u

enum cep_verdict {
	CEP_ASK = 0,             /* asked, in this order */
	CEP_NOT_HTTPS,           /* "LDAP:" (the directory itself) or not an https:// URL */
	CEP_NOT_KERBEROS,        /* AuthFlags other than Kerberos (2) or unset */
	CEP_NOT_AUTOENROLLMENT,  /* CEP_USE_AUTOENROLLMENT and Flags without AutoEnrollmentEnabled */
};

struct cep_choice {
	const struct ae_policy_server *server;
	size_t group;            /* its PolicyID group, numbered in asking order */
	enum cep_verdict verdict;
};

/* Pure: p's servers in the order they are asked ([MS-CAESO] 4.4.5.3.2.3):
 * grouped by PolicyID (without one, a server is a group of its own; case
 * ignored), groups in the order of their cheapest member, each group by
 * Cost (lower first), equal Cost Kerberos before anonymous before the
 * rest, then in Group Policy order.  Servers of one group serve the same
 * policy: the first of a group that answers is used, the others are its
 * stand-ins.  *out (caller frees) holds every server, those not asked with
 * their verdict.  Returns p->n_servers. */
size_t cep_order(const struct ae_policy *p, enum cep_use use, struct cep_choice **out);
const char *cep_verdict_text(enum cep_verdict v);

/* The directory's enrollment service policy CA ca is (see cep_merge), or
 * NULL; *how says how it was matched ("certificate", "host or name"). */
struct enrollment_service *cep_match_ca(struct directory *dir, const struct xcep_ca *ca, const char **how);

/* cep_order's servers to ask, group after group: cep_get_policies, then
 * cep_merge; a group whose server answered asks none of its other
 * servers.  Does nothing with [enroll] transport = certsrv. */
void cep_add_endpoints_for(const struct config *cfg, struct directory *dir, const struct ae_policy *p,
			   enum cep_use use);
/* cep_add_endpoints_for(..., CEP_USE_AUTOENROLLMENT): pulse and explain. */
void cep_add_endpoints(const struct config *cfg, struct directory *dir, const struct ae_policy *p);

#endif
