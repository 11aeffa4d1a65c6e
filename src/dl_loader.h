/* The one way a library is opened at run time (curl_loader.c, xml_loader.c,
 * nss_loader.c): dlopen(3) and every symbol the forwarding needs, or
 * nothing; once, on first use. */
#ifndef ADENROLL_DL_LOADER_H
#define ADENROLL_DL_LOADER_H

#include <stdbool.h>
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

/* A library a forwarding loader opens once, on first use, and what it tells
 * the administrator when it cannot.  Each loader keeps one, static, with
 * the first block filled in; the rest is dl_lib's. */
struct dl_lib {
	const char *name;               /* for the log: "libcurl" */
	const char *purpose;            /* ", which ... needs: install ..." */
	const char *default_soname;
	const struct dl_symbol *syms;
	size_t n_syms;
	void *table;                    /* what syms fill, cleared when loading fails */
	size_t table_size;
	/* what else the loader takes from the handle (NULL: nothing); false
	 * with why in err */
	bool (*more)(void *handle, const char *soname, char *err, size_t errlen);
	bool never_close;               /* stays mapped once loaded (see nss_loader.h) */

	enum { DL_NOT_TRIED, DL_LOADED, DL_FAILED } state;
	const char *soname;             /* NULL: default_soname */
	void *handle;
	char error[512];
};

/* Loads l on the first call (the failure logged once, with name and
 * purpose); whether it is loaded. */
bool dl_lib_load(struct dl_lib *l);

/* dl_lib_load, and why not in err ("" when loaded). */
bool dl_lib_ready(struct dl_lib *l, char *err, size_t errlen);

/* Loaded by now (an object of the library can exist only then). */
bool dl_lib_loaded(const struct dl_lib *l);

/* Forgets the library (closed unless never_close) so the next call opens
 * soname (NULL: default_soname): for tests. */
void dl_lib_reset(struct dl_lib *l, const char *soname);

#endif
