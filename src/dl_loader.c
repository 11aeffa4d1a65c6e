/* dlopen(3) + dlsym(3) for the forwarding loaders (dl_loader.h). */
#include "adenroll-build.h"

#include "dl_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

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

bool dl_lib_load(struct dl_lib *l)
{
	const char *so = l->soname ? l->soname : l->default_soname;

	if (l->state != DL_NOT_TRIED)
		return l->state == DL_LOADED;
	l->state = DL_FAILED;
	l->handle = dl_loader_open(so, l->syms, l->n_syms, l->error, sizeof l->error);
	if (l->handle && l->more && !l->more(l->handle, so, l->error, sizeof l->error)) {
		dlclose(l->handle);
		l->handle = NULL;
	}
	if (!l->handle) {
		memset(l->table, 0, l->table_size);
		log_error("cannot load %s (%s)%s", l->name, l->error, l->purpose);
		return false;
	}
	l->state = DL_LOADED;
	return true;
}

bool dl_lib_ready(struct dl_lib *l, char *err, size_t errlen)
{
	bool ok = dl_lib_load(l);

	if (err && errlen)
		snprintf(err, errlen, "%s", ok ? "" : l->error);
	return ok;
}

bool dl_lib_loaded(const struct dl_lib *l)
{
	return l->state == DL_LOADED;
}

void dl_lib_reset(struct dl_lib *l, const char *soname)
{
	if (l->handle && !l->never_close)
		dlclose(l->handle);
	l->handle = NULL;
	memset(l->table, 0, l->table_size);
	l->state = DL_NOT_TRIED;
	l->error[0] = '\0';
	l->soname = soname;
}
