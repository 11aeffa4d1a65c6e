/* dlopen(3) + dlsym(3) for the forwarding loaders (dl_loader.h). */
#include "adenroll-build.h"

#include "dl_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *dl_loader_open(const char *soname, const struct dl_symbol *syms, size_t n, char *err, size_t errlen)
{
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : soname);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		void *p;

		dlerror();
		p = dlsym(handle, syms[i].name);
		if (!p) {
			snprintf(err, errlen, "%s has no %s", soname, syms[i].name);
			dlclose(handle);
			return NULL;
		}
		/* POSIX guarantees a data pointer from dlsym converts to a function pointer */
		memcpy(syms[i].slot, &p, sizeof p);
	}
	return handle;
}
