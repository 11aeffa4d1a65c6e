/* A library opened with dlopen(3) and a table of its functions resolved:
 * what curl_loader.c and nss_loader.c share.  Each loader keeps its own
 * state, messages and fallbacks. */
#ifndef ADENROLL_DL_SYMBOLS_H
#define ADENROLL_DL_SYMBOLS_H

#include <stddef.h>

typedef void (*dl_any_fn)(void);

/* One function: its name in the library and where its address goes. */
struct dl_symbol {
	const char *name;
	dl_any_fn *slot;
};

/* Opens soname (RTLD_NOW | RTLD_LOCAL: nothing it defines becomes visible
 * to other libraries) and stores the address of every symbol in its slot.
 * The handle; or NULL with why in err (dlerror's text, or which symbol is
 * missing), the library closed again and the slots to be ignored. */
void *dl_open_symbols(const char *soname, const struct dl_symbol *symbols, size_t n, char *err,
		      size_t errlen);

#endif
