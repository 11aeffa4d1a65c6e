/* Only the GSSAPI SASL plugin in the process: see sasl_plugins.h. */
#include "adenroll-build.h"

#include "sasl_plugins.h"

#include <dlfcn.h>
#include <stdlib.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "log.h"

/* The plugin path libsasl2 asks for when it starts: a path that is no
 * directory, so it loads no plugin from disk (an empty one would mean its
 * default directory); the one needed is added below. */
static int empty_plugin_path(void *context, const char **path)
{
	(void)context;
	*path = "/dev/null";
	return SASL_OK;
}

bool sasl_plugins_gssapi_only(void)
{
	static int done = -1;
	static const sasl_callback_t callbacks[] = {
		{ SASL_CB_GETPATH, (int (*)(void))(void (*)(void))empty_plugin_path, NULL },
		{ SASL_CB_LIST_END, NULL, NULL },
	};
	void *plugin, *sym;
	sasl_client_plug_init_t *init;
	int rc;

	if (done >= 0)
		return done == 1;
	done = 0;
	if (getenv("SASL_PATH")) {
		log_debug("SASL_PATH is set: libsasl2 loads the plugins found there");
		return false;
	}
	/* the plugin stays loaded for the life of the process, as libsasl2's would */
	plugin = dlopen(SASL_GSSAPI_PLUGIN, RTLD_NOW | RTLD_LOCAL);
	sym = plugin ? dlsym(plugin, "sasl_client_plug_init") : NULL;
	if (!sym) {
		log_debug("cannot load the SASL GSSAPI plugin %s (%s): libsasl2 loads its plugin directory",
			  SASL_GSSAPI_PLUGIN, dlerror());
		if (plugin)
			dlclose(plugin);
		return false;
	}
	/* callbacks given here are the library's global ones: only the path */
	rc = sasl_client_init(callbacks);
	if (rc != SASL_OK) {
		log_debug("SASL client library: %s", sasl_errstring(rc, NULL, NULL));
		return false;
	}
	init = (sasl_client_plug_init_t *)(void (*)(void))sym;
	rc = sasl_client_add_plugin("GSSAPI", init);
	if (rc != SASL_OK) {
		log_debug("SASL GSSAPI plugin %s: %s", SASL_GSSAPI_PLUGIN, sasl_errstring(rc, NULL, NULL));
		return false;
	}
	done = 1;
	return true;
}
