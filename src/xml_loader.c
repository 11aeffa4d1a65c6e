/* libxml2 through dlopen(3): see xml_loader.h for why and for what callers
 * get when the library is missing.  Only this file and the forwarding below
 * know that libxml2 is not linked. */
#include "adenroll-build.h"

#include "xml_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dl_loader.h"

static struct {
	void (*init_parser)(void);
	xmlDocPtr (*new_doc)(const xmlChar *);
	void (*free_doc)(xmlDocPtr);
	xmlNodePtr (*new_doc_node)(xmlDocPtr, xmlNsPtr, const xmlChar *, const xmlChar *);
	xmlNodePtr (*doc_set_root)(xmlDocPtr, xmlNodePtr);
	xmlNodePtr (*doc_get_root)(const xmlDoc *);
	xmlNodePtr (*new_child)(xmlNodePtr, xmlNsPtr, const xmlChar *, const xmlChar *);
	xmlNodePtr (*new_text_child)(xmlNodePtr, xmlNsPtr, const xmlChar *, const xmlChar *);
	xmlNsPtr (*new_ns)(xmlNodePtr, const xmlChar *, const xmlChar *);
	void (*set_ns)(xmlNodePtr, xmlNsPtr);
	xmlAttrPtr (*new_prop)(xmlNodePtr, const xmlChar *, const xmlChar *);
	xmlAttrPtr (*new_ns_prop)(xmlNodePtr, xmlNsPtr, const xmlChar *, const xmlChar *);
	xmlChar *(*get_no_ns_prop)(const xmlNode *, const xmlChar *);
	xmlChar *(*get_ns_prop)(const xmlNode *, const xmlChar *, const xmlChar *);
	xmlChar *(*node_get_content)(const xmlNode *);
	void (*dump_format_memory_enc)(xmlDocPtr, xmlChar **, int *, const char *, int);
	xmlDocPtr (*read_memory)(const char *, int, const char *, const char *, int);
	xmlFreeFunc *lib_free;  /* the loaded library's xmlFree (see free_forward below) */
} fn;

/* name -> slot of fn; every one of them is in libxml2 since 2.6. */
#define SLOT(name, member) DL_SYMBOL(name, fn.member)
static const struct dl_symbol symbols[] = {
	SLOT("xmlInitParser", init_parser),
	SLOT("xmlNewDoc", new_doc),
	SLOT("xmlFreeDoc", free_doc),
	SLOT("xmlNewDocNode", new_doc_node),
	SLOT("xmlDocSetRootElement", doc_set_root),
	SLOT("xmlDocGetRootElement", doc_get_root),
	SLOT("xmlNewChild", new_child),
	SLOT("xmlNewTextChild", new_text_child),
	SLOT("xmlNewNs", new_ns),
	SLOT("xmlSetNs", set_ns),
	SLOT("xmlNewProp", new_prop),
	SLOT("xmlNewNsProp", new_ns_prop),
	SLOT("xmlGetNoNsProp", get_no_ns_prop),
	SLOT("xmlGetNsProp", get_ns_prop),
	SLOT("xmlNodeGetContent", node_get_content),
	SLOT("xmlDocDumpFormatMemoryEnc", dump_format_memory_enc),
	SLOT("xmlReadMemory", read_memory),
};

/* xmlFree: not a function of the library but its variable (see below) */
static bool find_free(void *handle, const char *soname, char *err, size_t errlen)
{
#ifdef LIBXML_THREAD_ALLOC_ENABLED
	xmlFreeFunc *(*slot)(void);
	void *sp = dlsym(handle, "__xmlFree");
	if (!sp) {
		snprintf(err, errlen, "%s has no __xmlFree", soname);
		return false;
	}
	memcpy(&slot, &sp, sizeof sp);
	fn.lib_free = slot();
#else
	fn.lib_free = dlsym(handle, "xmlFree");
	if (!fn.lib_free) {
		snprintf(err, errlen, "%s has no xmlFree", soname);
		return false;
	}
#endif
	return true;
}

static struct dl_lib lib = {
	.name = "libxml2",
	.purpose = ", which enrollment web services (CES, CEP) need: install libxml2 (Debian, Ubuntu, RHEL, Fedora)",
	.default_soname = XML_LOADER_SONAME,
	.syms = symbols,
	.n_syms = sizeof symbols / sizeof symbols[0],
	.table = &fn,
	.table_size = sizeof fn,
	.more = find_free,
};

static bool load(void)
{
	return dl_lib_load(&lib);
}

bool xml_loader_ready(char *err, size_t errlen)
{
	return dl_lib_ready(&lib, err, errlen);
}

void xml_loader_reset(const char *name)
{
	dl_lib_reset(&lib, name);
}

/* ------------------------------------------------------------ the API */

void xmlInitParser(void)
{
	if (load())
		fn.init_parser();
}

/* xmlFree, the library's deallocator for what it returns, is a variable
 * of libxml2 (a function returning its address when the library was built
 * with per-thread allocators).  Ours forwards to the loaded library's,
 * whose default is free(3); nothing the library allocated exists before it
 * is loaded. */
static void free_forward(void *p)
{
	if (fn.lib_free && *fn.lib_free && *fn.lib_free != free_forward)
		(*fn.lib_free)(p);
	else
		free(p);
}
#ifdef LIBXML_THREAD_ALLOC_ENABLED
static xmlFreeFunc free_slot = free_forward;
xmlFreeFunc *__xmlFree(void)
{
	return &free_slot;
}
#else
xmlFreeFunc xmlFree = free_forward;
#endif

xmlDocPtr xmlNewDoc(const xmlChar *version)
{
	return load() ? fn.new_doc(version) : NULL;
}

void xmlFreeDoc(xmlDocPtr doc)
{
	if (dl_lib_loaded(&lib))
		fn.free_doc(doc);
}

xmlNodePtr xmlNewDocNode(xmlDocPtr doc, xmlNsPtr ns, const xmlChar *name, const xmlChar *content)
{
	return load() ? fn.new_doc_node(doc, ns, name, content) : NULL;
}

xmlNodePtr xmlDocSetRootElement(xmlDocPtr doc, xmlNodePtr root)
{
	return load() ? fn.doc_set_root(doc, root) : NULL;
}

xmlNodePtr xmlDocGetRootElement(const xmlDoc *doc)
{
	return load() ? fn.doc_get_root(doc) : NULL;
}

xmlNodePtr xmlNewChild(xmlNodePtr parent, xmlNsPtr ns, const xmlChar *name, const xmlChar *content)
{
	return load() ? fn.new_child(parent, ns, name, content) : NULL;
}

xmlNodePtr xmlNewTextChild(xmlNodePtr parent, xmlNsPtr ns, const xmlChar *name, const xmlChar *content)
{
	return load() ? fn.new_text_child(parent, ns, name, content) : NULL;
}

xmlNsPtr xmlNewNs(xmlNodePtr node, const xmlChar *href, const xmlChar *prefix)
{
	return load() ? fn.new_ns(node, href, prefix) : NULL;
}

void xmlSetNs(xmlNodePtr node, xmlNsPtr ns)
{
	if (load())
		fn.set_ns(node, ns);
}

xmlAttrPtr xmlNewProp(xmlNodePtr node, const xmlChar *name, const xmlChar *value)
{
	return load() ? fn.new_prop(node, name, value) : NULL;
}

xmlAttrPtr xmlNewNsProp(xmlNodePtr node, xmlNsPtr ns, const xmlChar *name, const xmlChar *value)
{
	return load() ? fn.new_ns_prop(node, ns, name, value) : NULL;
}

xmlChar *xmlGetNoNsProp(const xmlNode *node, const xmlChar *name)
{
	return load() ? fn.get_no_ns_prop(node, name) : NULL;
}

xmlChar *xmlGetNsProp(const xmlNode *node, const xmlChar *name, const xmlChar *ns)
{
	return load() ? fn.get_ns_prop(node, name, ns) : NULL;
}

xmlChar *xmlNodeGetContent(const xmlNode *node)
{
	return load() ? fn.node_get_content(node) : NULL;
}

void xmlDocDumpFormatMemoryEnc(xmlDocPtr doc, xmlChar **mem, int *size, const char *encoding, int format)
{
	if (load()) {
		fn.dump_format_memory_enc(doc, mem, size, encoding, format);
		return;
	}
	if (mem)
		*mem = NULL;
	if (size)
		*size = 0;
}

xmlDocPtr xmlReadMemory(const char *buffer, int size, const char *url, const char *encoding, int options)
{
	return load() ? fn.read_memory(buffer, size, url, encoding, options) : NULL;
}
