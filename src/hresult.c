/* HRESULT names, meanings and classes (MS-WCCE 2.2.2.x and winerror.h values;
 * see hresult.h for what the classes mean to a caller). */
#include "hresult.h"

#include <stdbool.h>
#include <stddef.h>

static const struct {
	uint32_t code;
	const char *name;
	const char *explain;
} table[] = {
	/* CERTSRV_E_*: the CA's policy module or a CA manager decided */
	{ 0x80094001u, "CERTSRV_E_BAD_REQUESTSUBJECT", "the request's subject is invalid or too long" },
	{ 0x80094004u, "CERTSRV_E_PROPERTY_EMPTY", "the CA has no such request (its database may have been reset)" },
	{ 0x8009400Eu, "CERTSRV_E_BAD_RENEWAL_CERT_ATTRIBUTE", "the renewal certificate attribute in the request is invalid" },
	{ 0x80094011u, "CERTSRV_E_ENROLL_DENIED", "the CA's own permissions do not allow this account to enroll" },
	{ 0x80094012u, "CERTSRV_E_TEMPLATE_DENIED",
	  "the template's permissions do not allow this account to enroll; ask an administrator to grant Enroll" },
	{ 0x80094014u, "CERTSRV_E_ADMIN_DENIED_REQUEST", "a CA manager or administrator denied the request" },
	{ 0x80094800u, "CERTSRV_E_UNSUPPORTED_CERT_TYPE", "this CA does not issue the template (not published on it)" },
	{ 0x80094801u, "CERTSRV_E_NO_CERT_TYPE", "the request named no certificate template" },
	{ 0x80094802u, "CERTSRV_E_TEMPLATE_CONFLICT", "the request carries conflicting template information" },
	{ 0x80094803u, "CERTSRV_E_SUBJECT_ALT_NAME_REQUIRED",
	  "the template requires a subject alternative name the request lacks" },
	{ 0x80094804u, "CERTSRV_E_ARCHIVED_KEY_REQUIRED",
	  "the template requires private key archival, which adenroll does not do" },
	{ 0x80094806u, "CERTSRV_E_BAD_RENEWAL_SUBJECT", "a renewal was made on behalf of another subject" },
	{ 0x80094807u, "CERTSRV_E_BAD_TEMPLATE_VERSION",
	  "the template changed and the CA has not refreshed its cache yet; retry later" },
	{ 0x8009480Au, "CERTSRV_E_SIGNATURE_COUNT", "the template requires enrollment agent signatures" },
	{ 0x8009480Du, "CERTSRV_E_SUBJECT_UPN_REQUIRED",
	  "the account has no userPrincipalName in the directory, which the template requires" },
	{ 0x8009480Eu, "CERTSRV_E_SUBJECT_DIRECTORY_GUID_REQUIRED", "the account's objectGUID is required by the template" },
	{ 0x8009480Fu, "CERTSRV_E_SUBJECT_DNS_REQUIRED",
	  "the account has no dNSHostName in the directory, which the template requires" },
	{ 0x80094810u, "CERTSRV_E_ARCHIVED_KEY_UNEXPECTED", "the request contains an archived key the template does not expect" },
	{ 0x80094811u, "CERTSRV_E_KEY_LENGTH", "the key is shorter than the template's minimum key size" },
	{ 0x80094812u, "CERTSRV_E_SUBJECT_EMAIL_REQUIRED",
	  "the account has no e-mail address (mail) in the directory, which the template requires" },
	{ 0x80094814u, "CERTSRV_E_CERT_TYPE_OVERLAP", "the template's renewal period is longer than the certificate's validity" },
	{ 0x80094816u, "CERTSRV_E_RENEWAL_BAD_PUBLIC_KEY",
	  "the renewal request's key does not match the certificate being renewed" },
	/* CRYPT_E_*: the CA could not process this request */
	{ 0x80092002u, "CRYPT_E_BAD_ENCODE", "the CA found an encoding error in the request" },
	{ 0x80092004u, "CRYPT_E_NOT_FOUND", "the CA could not find an object the request refers to" },
	{ 0x80092013u, "CRYPT_E_REVOCATION_OFFLINE",
	  "the CA could not check revocation (its CRL is not reachable or expired); the CA administrator must fix it" },
	{ 0x8009310Bu, "CRYPT_E_ASN1_BADTAG", "the CA could not parse the request (bad ASN.1)" },
	/* NTE_*: the CA's cryptographic provider rejected what the request carries */
	{ 0x80090003u, "NTE_BAD_KEY", "the CA rejected the request's key" },
	{ 0x80090005u, "NTE_BAD_DATA", "the CA found the request's signed data invalid" },
	{ 0x80090006u, "NTE_BAD_SIGNATURE", "a signature in the request does not verify (changed on the way, or the wrong key)" },
	{ 0x80090008u, "NTE_BAD_ALGID", "the CA does not accept an algorithm the request uses" },
	/* the CA service is not answering the web enrollment server */
	{ 0x800706BAu, "RPC_S_SERVER_UNAVAILABLE",
	  "the CA service does not answer the web enrollment server (stopped or unreachable); the next run tries again" },
	{ 0x800706BBu, "RPC_S_SERVER_TOO_BUSY", "the CA service is too busy; the next run tries again" },
	{ 0x800706BEu, "RPC_S_CALL_FAILED", "the call to the CA service failed; the next run tries again" },
	{ 0x800706BFu, "RPC_S_CALL_FAILED_DNE", "the call to the CA service failed; the next run tries again" },
	{ 0x800706D9u, "EPT_S_NOT_REGISTERED",
	  "the CA service is not registered with the RPC endpoint mapper (not running); the next run tries again" },
	{ 0x80070005u, "E_ACCESSDENIED",
	  "the web enrollment server was denied access to the CA service (its account or delegation); the next "
	  "run tries again" },
	{ 0x8007000Eu, "E_OUTOFMEMORY", "the CA server ran out of memory; the next run tries again" },
	{ 0x80070422u, "ERROR_SERVICE_DISABLED", "the Certification Authority service is disabled" },
	{ 0x80070426u, "ERROR_SERVICE_NOT_ACTIVE",
	  "the Certification Authority service has not been started; the next run tries again" },
	{ 0x800705B4u, "ERROR_TIMEOUT", "the CA service did not answer in time; the next run tries again" },
	{ 0x80070015u, "ERROR_NOT_READY", "the CA service is starting or paused; the next run tries again" },
};

static int find(uint32_t hr)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (table[i].code == hr)
			return (int)i;
	return -1;
}

enum hresult_class hresult_classify(uint32_t hr)
{
	if (!(hr & 0x80000000u))
		return HRESULT_SUCCESS;
	switch (hr) {
	/* NTE_* about what the request carries; the rest of NTE_* (the CA's
	 * own keys and provider) stays transient */
	case 0x80090003u: /* NTE_BAD_KEY */
	case 0x80090005u: /* NTE_BAD_DATA */
	case 0x80090006u: /* NTE_BAD_SIGNATURE */
	case 0x80090008u: /* NTE_BAD_ALGID */
		return HRESULT_VERDICT;
	}
	switch (hr & 0xFFFFF000u) {
	case 0x80094000u: /* CERTSRV_E_* */
	case 0x80092000u: /* CRYPT_E_* */
	case 0x80093000u: /* CRYPT_E_ASN1_* */
		return HRESULT_VERDICT;
	}
	return HRESULT_TRANSIENT;
}

const char *hresult_class_name(enum hresult_class c)
{
	switch (c) {
	case HRESULT_SUCCESS: return "success";
	case HRESULT_VERDICT: return "verdict";
	case HRESULT_TRANSIENT: return "transient";
	}
	return "?";
}

const char *hresult_name(uint32_t hr)
{
	int i = find(hr);
	return i < 0 ? NULL : table[i].name;
}

const char *hresult_explain(uint32_t hr)
{
	int i = find(hr);
	return i < 0 ? NULL : table[i].explain;
}

bool hresult_is_about_ca(uint32_t hr)
{
	switch (hr) {
	case 0x80094011u: /* CERTSRV_E_ENROLL_DENIED: this CA's own permissions */
	case 0x80094800u: /* CERTSRV_E_UNSUPPORTED_CERT_TYPE: not issued by this CA (stale publication) */
	case 0x80094807u: /* CERTSRV_E_BAD_TEMPLATE_VERSION: this CA's template cache is behind */
	case 0x800706BAu: /* RPC_S_SERVER_UNAVAILABLE: the CA service behind the web pages is down */
	case 0x80070015u: /* ERROR_NOT_READY: the CA service is starting or paused */
		return true;
	}
	return false;
}
