/* dlopen(3) and a table of dlsym(3) lookups: see dl_symbols.h. */
#include "adenroll-build.h"

#include "dl_symbols.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *dl_open_symbols(const char *soname, const struct dl_symbol *symbols, size_t n, char *err,
		      size_t errlen)
{
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!handle) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : soname);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		void *p;

		/* a handle's lookup covers the library's own dependencies too */
		dlerror();
		p = dlsym(handle, symbols[i].name);
		if (!p) {
			snprintf(err, errlen, "%s has no %s", soname, symbols[i].name);
			dlclose(handle);
			return NULL;
		}
		/* POSIX guarantees a data pointer from dlsym converts to a function pointer */
		memcpy(symbols[i].slot, &p, sizeof p);
	}
	return handle;
}
