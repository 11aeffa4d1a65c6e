/* libcurl through dlopen(3): see curl_loader.h for why and for what callers
 * get when the library is missing.  Only this file and the forwarding below
 * know that libcurl is not linked. */
#include "adenroll-build.h"

/* The type-checking macros of <curl/curl.h> would rewrite the definitions
 * of curl_easy_setopt/curl_easy_getinfo below. */
#define CURL_DISABLE_TYPECHECK 1

#include "curl_loader.h"

#include <stdarg.h>
#include <stdio.h>

#include <curl/curl.h>

#include "dl_loader.h"

static struct {
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	char *(*easy_unescape)(CURL *, const char *, int, int *);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	char *(*version)(void);
	curl_version_info_data *(*version_info)(CURLversion);
} fn;

/* name -> slot of fn; every one of them is in libcurl since 7.16. */
#define SLOT(name, member) DL_SYMBOL(name, fn.member)
static const struct dl_symbol symbols[] = {
	SLOT("curl_global_init", global_init),
	SLOT("curl_global_cleanup", global_cleanup),
	SLOT("curl_easy_init", easy_init),
	SLOT("curl_easy_cleanup", easy_cleanup),
	SLOT("curl_easy_reset", easy_reset),
	SLOT("curl_easy_perform", easy_perform),
	SLOT("curl_easy_setopt", easy_setopt),
	SLOT("curl_easy_getinfo", easy_getinfo),
	SLOT("curl_easy_strerror", easy_strerror),
	SLOT("curl_easy_escape", easy_escape),
	SLOT("curl_easy_unescape", easy_unescape),
	SLOT("curl_free", free),
	SLOT("curl_slist_append", slist_append),
	SLOT("curl_slist_free_all", slist_free_all),
	SLOT("curl_version", version),
	SLOT("curl_version_info", version_info),
};

static struct dl_lib lib = {
	.name = "libcurl",
	.purpose = ", which web enrollment needs: install libcurl4 (Debian, Ubuntu) or libcurl (RHEL, Fedora)",
	.default_soname = CURL_LOADER_SONAME,
	.syms = symbols,
	.n_syms = sizeof symbols / sizeof symbols[0],
	.table = &fn,
	.table_size = sizeof fn,
};

static bool load(void)
{
	return dl_lib_load(&lib);
}

bool curl_loader_ready(char *err, size_t errlen)
{
	return dl_lib_ready(&lib, err, errlen);
}

void curl_loader_reset(const char *name)
{
	dl_lib_reset(&lib, name);
}

/* ------------------------------------------------------------ the API */

CURLcode curl_global_init(long flags)
{
	return load() ? fn.global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
	if (dl_lib_loaded(&lib))
		fn.global_cleanup();
}

CURL *curl_easy_init(void)
{
	return load() ? fn.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *h)
{
	/* a handle exists only if the library was loaded */
	if (h && dl_lib_loaded(&lib))
		fn.easy_cleanup(h);
}

void curl_easy_reset(CURL *h)
{
	if (h && dl_lib_loaded(&lib))
		fn.easy_reset(h);
}

CURLcode curl_easy_perform(CURL *h)
{
	return load() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

/* The option number says the argument's type (CURLOPTTYPE_* in
 * <curl/curl.h>): fetch it as that type and pass it on unchanged. */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode r;

	if (!load())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		long v = va_arg(ap, long);
		r = fn.easy_setopt(h, opt, v);
	} else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
		void *v = va_arg(ap, void *);
		r = fn.easy_setopt(h, opt, v);
	} else if (opt < CURLOPTTYPE_OFF_T) {
		dl_any_fn v = va_arg(ap, dl_any_fn);
		r = fn.easy_setopt(h, opt, v);
	} else if (opt < CURLOPTTYPE_BLOB) {
		curl_off_t v = va_arg(ap, curl_off_t);
		r = fn.easy_setopt(h, opt, v);
	} else {
		void *v = va_arg(ap, void *); /* struct curl_blob * */
		r = fn.easy_setopt(h, opt, v);
	}
	va_end(ap);
	return r;
}

/* Every CURLINFO_* type (string, long, double, slist/ptr, socket, off_t)
 * is answered through a pointer to it. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	void *out;

	if (!load())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	out = va_arg(ap, void *);
	va_end(ap);
	switch (info & CURLINFO_TYPEMASK) {
	case CURLINFO_STRING:
	case CURLINFO_LONG:
	case CURLINFO_DOUBLE:
	case CURLINFO_SLIST:
	case CURLINFO_SOCKET:
	case CURLINFO_OFF_T:
		return fn.easy_getinfo(h, info, out);
	default:
		return CURLE_UNKNOWN_OPTION;
	}
}

const char *curl_easy_strerror(CURLcode code)
{
	if (!load())
		return "libcurl could not be loaded";
	return fn.easy_strerror(code);
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
	return load() ? fn.easy_escape(h, s, len) : NULL;
}

char *curl_easy_unescape(CURL *h, const char *s, int len, int *outlen)
{
	return load() ? fn.easy_unescape(h, s, len, outlen) : NULL;
}

void curl_free(void *p)
{
	/* only libcurl's own allocations come here */
	if (p && dl_lib_loaded(&lib))
		fn.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return load() ? fn.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (list && dl_lib_loaded(&lib))
		fn.slist_free_all(list);
}

char *curl_version(void)
{
	static char missing[] = "libcurl not loaded";

	return load() ? fn.version() : missing;
}

curl_version_info_data *curl_version_info(CURLversion age)
{
	/* what callers print and test when the library is missing: no TLS, no
	 * GSS-API, no SPNEGO, and a version that says so */
	static const char *const no_protocols[] = { NULL };
	static curl_version_info_data missing = {
		.age = CURLVERSION_FIRST,
		.version = "(" CURL_LOADER_SONAME " could not be loaded)",
		.host = "",
		.protocols = no_protocols,
	};

	return load() ? fn.version_info(age) : &missing;
}
