/* NSS through dlopen(3): see nss_loader.h for why and for what callers get
 * when the library is missing.  Only this file and the forwarding below
 * know that NSS is not linked. */
#include "adenroll-build.h"

#include "nss_loader.h"

#include <stdio.h>
#include <time.h>

/* src/cert.h shadows NSS's <cert.h> on the include path; pkcs12t.h includes
 * NSS's as "cert.h", resolved next to itself (as in store_nss.c). */
#include <pkcs12t.h>
#include <certdb.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <prtime.h>
#include <secasn1.h>
#include <secerr.h>
#include <secitem.h>
#include <secport.h>

#include "dl_loader.h"

/* Every function adenroll calls, by name: the slots below take their types
 * from NSS's own declarations, so a prototype that changes breaks the build
 * here rather than the call at run time. */
#define NSS_FUNCTIONS(X) \
	X(CERT_ChangeCertTrust) X(CERT_DecodeTrustString) X(CERT_DestroyCertList) \
	X(CERT_DestroyCertificate) X(CERT_DupCertificate) X(CERT_ExtractPublicKey) \
	X(CERT_GetCertTimes) X(CERT_GetDefaultCertDB) X(CERT_MakeCANickname) \
	X(CERT_NewTempCertificate) \
	X(NSS_GetVersion) X(NSS_InitContext) X(NSS_ShutdownContext) \
	X(NSS_Get_SECKEY_EncryptedPrivateKeyInfoTemplate) \
	X(PK11_CheckUserPassword) X(PK11_DeleteTokenPrivateKey) X(PK11_DestroyTokenObject) \
	X(PK11_ExportEncryptedPrivKeyInfoV2) X(PK11_FindCertFromDERCertItem) \
	X(PK11_FindKeyByAnyCert) X(PK11_FreeSlot) X(PK11_GetCertFromPrivateKey) \
	X(PK11_GetInternalKeySlot) X(PK11_GetLowLevelKeyIDForCert) \
	X(PK11_GetPrivateKeyNickname) X(PK11_ImportCert) \
	X(PK11_ImportDERPrivateKeyInfoAndReturnKey) X(PK11_InitPin) X(PK11_IsLoggedIn) \
	X(PK11_ListCertsInSlot) X(PK11_ListPrivKeysInSlot) X(PK11_NeedLogin) \
	X(PK11_NeedUserInit) \
	X(PORT_Free) X(PORT_GetError) \
	X(PR_ErrorToName) X(PR_ErrorToString) X(PR_Now) \
	X(SECITEM_DupItem) X(SECITEM_FreeItem) X(SECITEM_ItemsAreEqual) X(SECITEM_ZfreeItem) \
	X(SECKEY_DestroyEncryptedPrivateKeyInfo) X(SECKEY_DestroyPrivateKey) \
	X(SECKEY_DestroyPrivateKeyList) X(SECKEY_DestroyPublicKey) \
	X(SEC_ASN1EncodeItem) X(SEC_DeletePermCertificate)

#define DECLARE_SLOT(name) __typeof__(name) *name;
static struct {
	NSS_FUNCTIONS(DECLARE_SLOT)
} fn;

#define NAME_SLOT(name) { #name, (dl_any_fn *)(void *)&fn.name },
static const struct dl_symbol symbols[] = { NSS_FUNCTIONS(NAME_SLOT) };

/* PR_* are found through libnss3's dependency on the libnspr4 it was built
 * against; the handle is never closed (see the header) */
static struct dl_lib lib = {
	.name = "NSS",
	.purpose = ", which the NSS database store needs: install libnss3 (Debian, Ubuntu) or nss (RHEL, "
		   "Fedora), or set types = pem in the [store] section",
	.default_soname = NSS_LOADER_SONAME,
	.syms = symbols,
	.n_syms = sizeof symbols / sizeof symbols[0],
	.table = &fn,
	.table_size = sizeof fn,
	.never_close = true,
};

static bool load(void)
{
	return dl_lib_load(&lib);
}

bool nss_loader_ready(char *err, size_t errlen)
{
	return dl_lib_ready(&lib, err, errlen);
}

bool nss_loader_loaded(void)
{
	return dl_lib_loaded(&lib);
}

void nss_loader_reset(const char *name)
{
	dl_lib_reset(&lib, name);
}

/* ------------------------------------------------------------ the API
 * Objects (certificates, keys, slots, lists, contexts) exist only when the
 * library was loaded, so their destroy functions do nothing otherwise. */

SECStatus CERT_ChangeCertTrust(CERTCertDBHandle *h, CERTCertificate *cert, CERTCertTrust *trust)
{
	return load() ? fn.CERT_ChangeCertTrust(h, cert, trust) : SECFailure;
}

SECStatus CERT_DecodeTrustString(CERTCertTrust *trust, const char *trusts)
{
	return load() ? fn.CERT_DecodeTrustString(trust, trusts) : SECFailure;
}

void CERT_DestroyCertList(CERTCertList *certs)
{
	if (certs && dl_lib_loaded(&lib))
		fn.CERT_DestroyCertList(certs);
}

void CERT_DestroyCertificate(CERTCertificate *cert)
{
	if (cert && dl_lib_loaded(&lib))
		fn.CERT_DestroyCertificate(cert);
}

CERTCertificate *CERT_DupCertificate(CERTCertificate *c)
{
	return load() ? fn.CERT_DupCertificate(c) : NULL;
}

SECKEYPublicKey *CERT_ExtractPublicKey(CERTCertificate *cert)
{
	return load() ? fn.CERT_ExtractPublicKey(cert) : NULL;
}

SECStatus CERT_GetCertTimes(const CERTCertificate *c, PRTime *not_before, PRTime *not_after)
{
	return load() ? fn.CERT_GetCertTimes(c, not_before, not_after) : SECFailure;
}

CERTCertDBHandle *CERT_GetDefaultCertDB(void)
{
	return load() ? fn.CERT_GetDefaultCertDB() : NULL;
}

char *CERT_MakeCANickname(CERTCertificate *cert)
{
	return load() ? fn.CERT_MakeCANickname(cert) : NULL;
}

CERTCertificate *CERT_NewTempCertificate(CERTCertDBHandle *h, SECItem *der, char *nickname,
					 PRBool isperm, PRBool copy_der)
{
	return load() ? fn.CERT_NewTempCertificate(h, der, nickname, isperm, copy_der) : NULL;
}

const char *NSS_GetVersion(void)
{
	return load() ? fn.NSS_GetVersion() : "(" NSS_LOADER_SONAME " could not be loaded)";
}

NSSInitContext *NSS_InitContext(const char *configdir, const char *cert_prefix, const char *key_prefix,
				const char *secmod_name, NSSInitParameters *params, PRUint32 flags)
{
	return load() ? fn.NSS_InitContext(configdir, cert_prefix, key_prefix, secmod_name, params, flags) : NULL;
}

SECStatus NSS_ShutdownContext(NSSInitContext *ctx)
{
	return load() ? fn.NSS_ShutdownContext(ctx) : SECFailure;
}

const SEC_ASN1Template *NSS_Get_SECKEY_EncryptedPrivateKeyInfoTemplate(void *arg, PRBool enc)
{
	return load() ? fn.NSS_Get_SECKEY_EncryptedPrivateKeyInfoTemplate(arg, enc) : NULL;
}

SECStatus PK11_CheckUserPassword(PK11SlotInfo *slot, const char *pw)
{
	return load() ? fn.PK11_CheckUserPassword(slot, pw) : SECFailure;
}

SECStatus PK11_DeleteTokenPrivateKey(SECKEYPrivateKey *key, PRBool force)
{
	return load() ? fn.PK11_DeleteTokenPrivateKey(key, force) : SECFailure;
}

SECStatus PK11_DestroyTokenObject(PK11SlotInfo *slot, CK_OBJECT_HANDLE object)
{
	return load() ? fn.PK11_DestroyTokenObject(slot, object) : SECFailure;
}

SECKEYEncryptedPrivateKeyInfo *PK11_ExportEncryptedPrivKeyInfoV2(PK11SlotInfo *slot, SECOidTag pbe,
								SECOidTag enc, SECOidTag prf,
								SECItem *pw, SECKEYPrivateKey *pk,
								int iterations, void *pwarg)
{
	return load() ? fn.PK11_ExportEncryptedPrivKeyInfoV2(slot, pbe, enc, prf, pw, pk, iterations, pwarg) : NULL;
}

CERTCertificate *PK11_FindCertFromDERCertItem(PK11SlotInfo *slot, const SECItem *der, void *wincx)
{
	return load() ? fn.PK11_FindCertFromDERCertItem(slot, der, wincx) : NULL;
}

SECKEYPrivateKey *PK11_FindKeyByAnyCert(CERTCertificate *cert, void *wincx)
{
	return load() ? fn.PK11_FindKeyByAnyCert(cert, wincx) : NULL;
}

void PK11_FreeSlot(PK11SlotInfo *slot)
{
	if (slot && dl_lib_loaded(&lib))
		fn.PK11_FreeSlot(slot);
}

CERTCertificate *PK11_GetCertFromPrivateKey(SECKEYPrivateKey *key)
{
	return load() ? fn.PK11_GetCertFromPrivateKey(key) : NULL;
}

PK11SlotInfo *PK11_GetInternalKeySlot(void)
{
	return load() ? fn.PK11_GetInternalKeySlot() : NULL;
}

SECItem *PK11_GetLowLevelKeyIDForCert(PK11SlotInfo *slot, CERTCertificate *cert, void *pwarg)
{
	return load() ? fn.PK11_GetLowLevelKeyIDForCert(slot, cert, pwarg) : NULL;
}

char *PK11_GetPrivateKeyNickname(SECKEYPrivateKey *key)
{
	return load() ? fn.PK11_GetPrivateKeyNickname(key) : NULL;
}

SECStatus PK11_ImportCert(PK11SlotInfo *slot, CERTCertificate *cert, CK_OBJECT_HANDLE key,
			  const char *nickname, PRBool include_trust)
{
	return load() ? fn.PK11_ImportCert(slot, cert, key, nickname, include_trust) : SECFailure;
}

SECStatus PK11_ImportDERPrivateKeyInfoAndReturnKey(PK11SlotInfo *slot, SECItem *der, SECItem *nickname,
						   SECItem *public_value, PRBool is_perm,
						   PRBool is_private, unsigned int usage,
						   SECKEYPrivateKey **key, void *wincx)
{
	if (!load())
		return SECFailure;
	return fn.PK11_ImportDERPrivateKeyInfoAndReturnKey(slot, der, nickname, public_value, is_perm,
							   is_private, usage, key, wincx);
}

SECStatus PK11_InitPin(PK11SlotInfo *slot, const char *ssopw, const char *userpw)
{
	return load() ? fn.PK11_InitPin(slot, ssopw, userpw) : SECFailure;
}

PRBool PK11_IsLoggedIn(PK11SlotInfo *slot, void *wincx)
{
	return load() ? fn.PK11_IsLoggedIn(slot, wincx) : PR_FALSE;
}

CERTCertList *PK11_ListCertsInSlot(PK11SlotInfo *slot)
{
	return load() ? fn.PK11_ListCertsInSlot(slot) : NULL;
}

SECKEYPrivateKeyList *PK11_ListPrivKeysInSlot(PK11SlotInfo *slot, char *nickname, void *wincx)
{
	return load() ? fn.PK11_ListPrivKeysInSlot(slot, nickname, wincx) : NULL;
}

PRBool PK11_NeedLogin(PK11SlotInfo *slot)
{
	return load() ? fn.PK11_NeedLogin(slot) : PR_FALSE;
}

PRBool PK11_NeedUserInit(PK11SlotInfo *slot)
{
	return load() ? fn.PK11_NeedUserInit(slot) : PR_FALSE;
}

void PORT_Free(void *p)
{
	/* only NSS's own allocations come here */
	if (p && dl_lib_loaded(&lib))
		fn.PORT_Free(p);
}

int PORT_GetError(void)
{
	return load() ? fn.PORT_GetError() : SEC_ERROR_LIBRARY_FAILURE;
}

const char *PR_ErrorToName(PRErrorCode code)
{
	return load() ? fn.PR_ErrorToName(code) : NULL;
}

const char *PR_ErrorToString(PRErrorCode code, PRLanguageCode language)
{
	return load() ? fn.PR_ErrorToString(code, language) : "NSS (" NSS_LOADER_SONAME ") could not be loaded";
}

PRTime PR_Now(void)
{
	struct timespec ts;

	if (load())
		return fn.PR_Now();
	/* the same clock and unit: microseconds since the epoch */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (PRTime)ts.tv_sec * PR_USEC_PER_SEC + ts.tv_nsec / 1000;
}

SECItem *SECITEM_DupItem(const SECItem *from)
{
	return load() ? fn.SECITEM_DupItem(from) : NULL;
}

void SECITEM_FreeItem(SECItem *zap, PRBool freeit)
{
	if (zap && dl_lib_loaded(&lib))
		fn.SECITEM_FreeItem(zap, freeit);
}

PRBool SECITEM_ItemsAreEqual(const SECItem *a, const SECItem *b)
{
	return load() ? fn.SECITEM_ItemsAreEqual(a, b) : PR_FALSE;
}

void SECITEM_ZfreeItem(SECItem *zap, PRBool freeit)
{
	if (zap && dl_lib_loaded(&lib))
		fn.SECITEM_ZfreeItem(zap, freeit);
}

void SECKEY_DestroyEncryptedPrivateKeyInfo(SECKEYEncryptedPrivateKeyInfo *epki, PRBool freeit)
{
	if (epki && dl_lib_loaded(&lib))
		fn.SECKEY_DestroyEncryptedPrivateKeyInfo(epki, freeit);
}

void SECKEY_DestroyPrivateKey(SECKEYPrivateKey *key)
{
	if (key && dl_lib_loaded(&lib))
		fn.SECKEY_DestroyPrivateKey(key);
}

void SECKEY_DestroyPrivateKeyList(SECKEYPrivateKeyList *keys)
{
	if (keys && dl_lib_loaded(&lib))
		fn.SECKEY_DestroyPrivateKeyList(keys);
}

void SECKEY_DestroyPublicKey(SECKEYPublicKey *key)
{
	if (key && dl_lib_loaded(&lib))
		fn.SECKEY_DestroyPublicKey(key);
}

SECItem *SEC_ASN1EncodeItem(PLArenaPool *pool, SECItem *dest, const void *src, const SEC_ASN1Template *t)
{
	return load() ? fn.SEC_ASN1EncodeItem(pool, dest, src, t) : NULL;
}

SECStatus SEC_DeletePermCertificate(CERTCertificate *cert)
{
	return load() ? fn.SEC_DeletePermCertificate(cert) : SECFailure;
}
