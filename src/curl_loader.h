/* libcurl loaded at run time.  curl_loader.c DEFINES the curl_* functions
 * adenroll calls (same names, same prototypes as <curl/curl.h>) and forwards
 * each to libcurl.so.4, opened with dlopen(3) on the first call.  The binary
 * is not linked with -lcurl, so a run that sends no HTTP request (a no-op
 * pulse, status, check-policy) never maps libcurl and what it pulls in
 * (nghttp2, libssh2, libpsl, librtmp, ...).  Callers include <curl/curl.h>
 * as usual and need not know.
 *
 * When the library cannot be loaded, the first call logs why and what to
 * install; then curl_global_init returns CURLE_FAILED_INIT, curl_easy_init
 * and curl_slist_append NULL, curl_easy_* CURLE_FAILED_INIT, and
 * curl_version_info a description whose version says libcurl is missing (no
 * features, no TLS library), so callers that check their results fail with
 * a clear message rather than crash. */
#ifndef ADENROLL_CURL_LOADER_H
#define ADENROLL_CURL_LOADER_H

#include <stdbool.h>
#include <stddef.h>

/* The library curl_loader_ready() opens: "libcurl.so.4" (the soname of
 * every libcurl since 7.16; Debian's libcurl4 and RHEL's libcurl). */
#define CURL_LOADER_SONAME "libcurl.so.4"

/* Load the library now (it is loaded on the first curl_* call anyway).
 * true when it is usable; false with why in err (also logged, once). */
bool curl_loader_ready(char *err, size_t errlen);

/* Tests: forget the loaded library and load `soname` instead next time
 * (NULL: the default).  Not for the product. */
void curl_loader_reset(const char *soname);

#endif
