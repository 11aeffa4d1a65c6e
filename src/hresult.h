/* The one table of HRESULTs adenroll meets at a CA, and how each one is
 * acted on.  Pure.
 *
 * An HRESULT either is the CA's verdict on this very request (CERTSRV_E_*
 * 0x80094xxx, CRYPT_E_* 0x80092xxx, the ASN.1 errors 0x80093xxx, and the NTE_*
 * codes about what the request carries: a bad signature, key, algorithm or
 * data; resubmitting the same request gets the same answer), or says that the CA could not be
 * asked (RPC 0x800706xx, Win32 0x8007xxxx such as access denied to the CA
 * service or "service not started", anything else): transient.  A transient
 * answer never drops a pending request, never causes a second submission of
 * one, and lets a new submission try the next CA. */
#ifndef ADENROLL_HRESULT_H
#define ADENROLL_HRESULT_H

#include <stdbool.h>
#include <stdint.h>

enum hresult_class {
	HRESULT_SUCCESS,    /* severity bit clear: 0x0 "The operation completed successfully" */
	HRESULT_VERDICT,    /* the CA decided about this request */
	HRESULT_TRANSIENT,  /* the CA is not answering; ask again later */
};

/* Every failure code not known to be a verdict is transient: an answer that
 * cannot be classified must never lose a request. */
enum hresult_class hresult_classify(uint32_t hr);
/* "verdict", "transient", "success" */
const char *hresult_class_name(enum hresult_class c);
/* "CERTSRV_E_TEMPLATE_DENIED" for 0x80094012; NULL when not in the table. */
const char *hresult_name(uint32_t hr);
/* What it means and what to do, in plain words; NULL when not in the table. */
const char *hresult_explain(uint32_t hr);
/* A refusal about the CA that gave it, not about the request or the
 * template, so another CA publishing the template may issue: its own
 * permissions (0x80094011), the template not on it (0x80094800), its
 * template cache behind (0x80094807), its service down or not ready
 * (0x800706BA, 0x80070015).  False for anything else. */
bool hresult_is_about_ca(uint32_t hr);

#define HRESULT_PROPERTY_EMPTY 0x80094004u        /* certnew.cer: the CA has no such request */
#define HRESULT_UNSUPPORTED_CERT_TYPE 0x80094800u /* template not issued by this CA */

#endif
