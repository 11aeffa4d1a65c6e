/* libxml2 loaded at run time.  xml_loader.c DEFINES the xml* functions
 * wstep.c calls (same names, same prototypes as <libxml/tree.h> and
 * <libxml/parser.h>) and forwards each to libxml2.so.2, opened with
 * dlopen(3) on the first call.  The binary is not linked with -lxml2, so a
 * run that sends no CES or enrollment policy request (a no-op pulse,
 * status, check-policy) never maps libxml2 and what it pulls in (ICU and
 * with it libstdc++, liblzma, zlib: about 2 MiB of a run's memory).
 *
 * When the library cannot be loaded, the first call logs why and what to
 * install; then every builder returns NULL (xmlDocDumpFormatMemoryEnc an
 * empty result) and xmlReadMemory NULL, so callers fail as they do on a
 * message they cannot build or parse, never crash. */
#ifndef ADENROLL_XML_LOADER_H
#define ADENROLL_XML_LOADER_H

#include <stdbool.h>
#include <stddef.h>

/* "libxml2.so.2": the soname of every libxml2 2.x (Debian's libxml2, RHEL's libxml2). */
#define XML_LOADER_SONAME "libxml2.so.2"

/* Load the library now (it is loaded on the first xml* call anyway).
 * true when it is usable; false with why in err (also logged, once). */
bool xml_loader_ready(char *err, size_t errlen);

/* Tests: forget the loaded library and load `soname` instead next time
 * (NULL: the default).  Not for the product. */
void xml_loader_reset(const char *soname);

#endif
