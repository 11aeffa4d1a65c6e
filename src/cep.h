/* CES endpoints from Group Policy: the enrollment policy servers of the
 * PolicyServers key (aepolicy.h) are asked for their policy (MS-XCEP
 * GetPolicies over https_client: Kerberos, channel binding, TLS anchored at
 * the directory's roots), and the Kerberos URIs of each CA in the answer
 * are added to the CES endpoints of the directory's enrollment service that
 * is that CA (docs/protocol.md 10).  A server that does not answer is
 * logged and skipped: it never stops a run. */
#ifndef ADENROLL_CEP_H
#define ADENROLL_CEP_H

#include <stddef.h>

#include "aepolicy.h"
#include "config.h"
#include "directory.h"
#include "util.h"
#include "wstep.h"

/* One GetPolicies exchange with the policy server at url.  0 with out
 * filled, or -1 with out->message saying why. */
int cep_get_policies(const char *url, const struct bloblist *trust_ders, const struct bloblist *intermediate_ders,
		     long timeout_seconds, struct xcep_policy *out);

/* Pure: the CAs of policy (from server_url) matched to dir's enrollment
 * services, by the CA certificate (one of its cACertificate values), else
 * by the host of a URI (the service's dNSHostName) or the CA name a CES
 * URI starts with ("/<CA name>_CES_..."); their URIs with
 * clientAuthentication 2 (Kerberos) added to the service's endpoints
 * unless the URL is there already (case-insensitive), in priority order
 * after those of equal priority.  Returns how many were added. */
size_t cep_merge(struct directory *dir, const struct xcep_policy *policy, const char *server_url);

/* Every policy server of p (https URL, AuthFlags Kerberos or unset), in
 * the order the policy lists them: cep_get_policies, then cep_merge.
 * Does nothing with [enroll] transport = certsrv. */
void cep_add_endpoints(const struct config *cfg, struct directory *dir, const struct ae_policy *p);

#endif
