/* libFuzzer target: the MS-WSTEP answer parser and the MS-XCEP
 * GetPoliciesResponse parser (src/wstep.c) over arbitrary bytes, with the
 * HTTP status taken from the first input byte, and the endpoint parser of
 * msPKI-Enrollment-Servers over the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"
#include "hresult.h"
#include "wstep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 500, 400, 401, 202 };
	long status = 200;
	if (size >= 1 && data[0] < 0x20) {
		status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
		data++;
		size--;
	}
	struct wstep_answer a;
	int rc = wstep_parse_response(status, (const char *)data, size, &a);
	const struct certsrv_result *r = &a.result;
	if (memchr(r->message, '\0', sizeof r->message) == NULL)
		__builtin_trap();
	for (const char *p = r->message; *p; p++)
		if ((unsigned char)*p < 0x20)
			__builtin_trap(); /* a server's message never brings control characters into a log */
	if (rc == 0 && r->disposition != CERTSRV_ISSUED && r->disposition != CERTSRV_PENDING &&
	    r->disposition != CERTSRV_DENIED && r->disposition != CERTSRV_UNKNOWN_REQUEST)
		__builtin_trap();
	if ((r->disposition == CERTSRV_ISSUED) != (a.cert_der != NULL))
		__builtin_trap();
	if (r->disposition == CERTSRV_PENDING && r->request_id < 0)
		__builtin_trap();
	if (r->disposition == CERTSRV_DENIED && (!r->has_hresult || hresult_classify(r->hresult) != HRESULT_VERDICT))
		__builtin_trap(); /* a CA that is not answering never denies */
	if (a.cert_der && (a.cert_len == 0 || a.cert_len > WSTEP_MAX_TOKEN))
		__builtin_trap();
	if (a.chain_der && (a.chain_len == 0 || a.chain_len > WSTEP_MAX_TOKEN))
		__builtin_trap();
	wstep_answer_free(&a);

	struct xcep_policy pol;
	rc = xcep_parse_response(status, (const char *)data, size, &pol);
	if (memchr(pol.message, '\0', sizeof pol.message) == NULL)
		__builtin_trap();
	if (rc < 0 && (pol.cas || pol.n_cas))
		__builtin_trap();
	if (pol.n_cas > XCEP_MAX_CAS)
		__builtin_trap();
	for (size_t i = 0; i < pol.n_cas; i++) {
		const struct xcep_ca *ca = &pol.cas[i];
		if (!ca->cert_der || ca->cert_len == 0 || ca->cert_len > WSTEP_MAX_TOKEN || ca->n_uris == 0 ||
		    ca->n_uris > XCEP_MAX_URIS)
			__builtin_trap();
		for (size_t k = 0; k < ca->n_uris; k++)
			if (!ca->uris[k].url || strncasecmp(ca->uris[k].url, "https://", 8) != 0 ||
			    strlen(ca->uris[k].url) > XCEP_MAX_URL)
				__builtin_trap();
	}
	xcep_policy_free(&pol);

	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct ces_endpoint e;
	char why[200];
	if (directory_parse_ces_endpoint(s, &e, why, sizeof why) == 0) {
		/* the bounds the parser promises (renewal_only is a bool: nothing to check) */
		if (!e.url || strncasecmp(e.url, "https://", 8) != 0 || strlen(e.url) > 2048 || e.priority > 1000000 ||
		    e.auth > 0xffff || e.policy_server != NULL)
			__builtin_trap();
		free(e.url);
	} else if (e.url) {
		__builtin_trap();
	}
	free(s);
	return 0;
}
