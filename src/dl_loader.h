/* The one way a library is opened at run time (curl_loader.c, xml_loader.c):
 * dlopen(3) and every symbol the forwarding needs, or nothing. */
#ifndef ADENROLL_DL_LOADER_H
#define ADENROLL_DL_LOADER_H

#include <stddef.h>

typedef void (*dl_any_fn)(void);

/* A symbol and the function pointer it fills. */
struct dl_symbol {
	const char *name;
	dl_any_fn *slot;
};
#define DL_SYMBOL(name, fnptr) { name, (dl_any_fn *)(void *)&(fnptr) }

/* Opens soname (RTLD_NOW | RTLD_LOCAL) and fills every slot.  The handle,
 * or NULL with why in err ("<dlerror>" or "<soname> has no <symbol>"), the
 * library closed and the slots filled so far left for the caller to clear.
 * Logs nothing: the caller says what the library is for. */
void *dl_loader_open(const char *soname, const struct dl_symbol *syms, size_t n, char *err, size_t errlen);

#endif
