/* Which Cyrus SASL plugins the process loads.  libsasl2 loads every plugin
 * in its plugin directory when it starts (ANONYMOUS, CRAM-MD5, DIGEST-MD5,
 * GS2, GSSAPI, LOGIN, NTLM, PLAIN, SCRAM, the sasldb auxprop with Berkeley
 * DB: on Debian 12 about 0.75 MiB and 10 ms of CPU), while adenroll binds
 * with GSSAPI only.  sasl_plugins_gssapi_only() starts the SASL client
 * library first, with an empty plugin path, and adds just the GSSAPI plugin
 * (SASL_GSSAPI_PLUGIN, found by configure); libldap's own initialisation
 * later finds the library started.  Call it before the first bind. */
#ifndef ADENROLL_SASL_PLUGINS_H
#define ADENROLL_SASL_PLUGINS_H

#include <stdbool.h>

/* true when libsasl2 was started with GSSAPI only.  Does nothing (false)
 * when SASL_PATH is set (the administrator chose the plugins) or when the
 * plugin cannot be loaded (libsasl2 then loads its directory as usual).
 * Must come before anything starts libsasl2 (libldap's first SASL bind,
 * libcurl's start-up); after that it only adds GSSAPI again.  Idempotent. */
bool sasl_plugins_gssapi_only(void);

#endif
