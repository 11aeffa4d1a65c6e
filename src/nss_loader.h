/* NSS loaded at run time.  nss_loader.c DEFINES the NSS and NSPR functions
 * adenroll calls (same names, same prototypes as NSS's headers) and
 * forwards each to libnss3.so, opened with dlopen(3) on the first call; the
 * NSPR ones (PR_*) are found among libnss3's own dependencies.  The binary
 * is not linked with NSS, so a run that never opens an NSS database (a PEM
 * store, or an NSS store whose database does not exist yet) never maps
 * libnss3, libnspr4, libnssutil3, libplc4, libplds4 or softokn.  store_nss.c
 * includes NSS's headers as usual and need not know, with one exception: the
 * ASN.1 template SECKEY_EncryptedPrivateKeyInfoTemplate is data, which
 * cannot be forwarded, so it is asked for through its exported accessor
 * NSS_Get_SECKEY_EncryptedPrivateKeyInfoTemplate (forwarded like the rest).
 * A function added to store_nss.c must be added here too: the link fails
 * (undefined reference) until it is.
 *
 * When the library cannot be loaded, the first call logs why and what to
 * install; functions returning a pointer return NULL, SECStatus ones
 * SECFailure, PRBool ones PR_FALSE, the destroy/free ones do nothing,
 * NSS_GetVersion and PR_ErrorToString say the library is missing, PR_Now
 * reads the clock itself.  Callers that check results fail cleanly. */
#ifndef ADENROLL_NSS_LOADER_H
#define ADENROLL_NSS_LOADER_H

#include <stdbool.h>
#include <stddef.h>

/* The library nss_loader_ready() opens: the unversioned soname NSS has
 * always used (Debian's libnss3, RHEL's nss). */
#define NSS_LOADER_SONAME "libnss3.so"

/* Load the library now (it is loaded on the first NSS call anyway).  true
 * when it is usable; false with why in err (also logged, once). */
bool nss_loader_ready(char *err, size_t errlen);

/* Whether this process has loaded it (tests: a PEM-only run must not). */
bool nss_loader_loaded(void);

/* Tests: forget the outcome of the last load and try `soname` on the next
 * call (NULL: the default).  A loaded NSS is never unloaded (it keeps
 * threads and atexit handlers); loading it again finds it mapped.  Not for
 * the product. */
void nss_loader_reset(const char *soname);

#endif
