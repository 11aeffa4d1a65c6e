/* OpenSSL through dlopen(3): see openssl_loader.h for why and for what a
 * caller gets when the library is missing. */
#include "adenroll-build.h"

#include "openssl_loader.h"

#include <stdio.h>
#include <stdlib.h>

#include "adenroll.h"
#include "log.h"

static dl_any_fn table[OPENSSL_FN_COUNT];

/* The # operator does not expand its operand, so the names stay OpenSSL's. */
static const struct dl_symbol symbols[] = {
#define OPENSSL_LOADER_SYMBOL(name) { #name, &table[OPENSSL_FN_##name] },
	OPENSSL_LOADER_FUNCTIONS(OPENSSL_LOADER_SYMBOL)
#undef OPENSSL_LOADER_SYMBOL
};

static struct dl_lib lib = {
	.name = "OpenSSL",
	.purpose = ", which certificates and keys need: install libssl3 (Debian, Ubuntu) or openssl-libs (RHEL, Fedora)",
	.default_soname = OPENSSL_LOADER_SONAME,
	.syms = symbols,
	.n_syms = sizeof symbols / sizeof symbols[0],
	.table = table,
	.table_size = sizeof table,
	/* libcrypto and libssl are NODELETE: dlclose would not unmap them */
	.never_close = true,
};

bool openssl_loader_ready(char *err, size_t errlen)
{
	return dl_lib_ready(&lib, err, errlen);
}

bool openssl_loader_loaded(void)
{
	return dl_lib_loaded(&lib);
}

void openssl_loader_reset(const char *soname)
{
	dl_lib_reset(&lib, soname);
}

dl_any_fn openssl_loader_fn(enum openssl_loader_fn id)
{
	if (!dl_lib_load(&lib)) {
		/* dl_lib_load said why and what to install */
		log_error("stopping: this run cannot go on without OpenSSL");
		exit(ADENROLL_EXIT_FAILURE);
	}
	return table[id];
}
