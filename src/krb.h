/* Kerberos credentials for one run: the machine account from a keytab into a
 * private MEMORY: ccache, or the calling user's existing ccache.  The default
 * ccache is never written. */
#ifndef ADENROLL_KRB_H
#define ADENROLL_KRB_H

#include "config.h"

struct krb_session;

/* Machine mode: keytab cfg->keytab (default /etc/krb5.keytab), principal
 * cfg->principal or the keytab entry matching "<SHORTHOST>$@REALM"
 * case-insensitively (the entry's own spelling is used: keytab lookup is
 * case-sensitive), preferring cfg->realm.  Gets a TGT into a new
 * MEMORY:adenroll-<pid> ccache and points KRB5CCNAME (this process only) and
 * GSSAPI at it, so libsasl2 and libcurl use it.  Logs the reason, returns -1. */
int krb_session_machine(const struct config *cfg, struct krb_session **out);

/* User mode: the ccache named by KRB5CCNAME or the default one; fails with
 * "no valid Kerberos ticket for <user>: run kinit" when absent or expired. */
int krb_session_user(const struct config *cfg, struct krb_session **out);

const char *krb_session_principal(const struct krb_session *s);      /* "CLIENT$@EXAMPLE.TEST" */
const char *krb_session_realm(const struct krb_session *s);          /* "EXAMPLE.TEST" */
const char *krb_session_sam_account_name(const struct krb_session *s); /* "CLIENT$" / "alice" */
const char *krb_session_ccache_name(const struct krb_session *s);    /* "MEMORY:adenroll-123" */

/* Copies the session's credentials into a new FILE: ccache at path (created
 * 0600 with O_EXCL): for a helper process whose Kerberos library cannot read
 * an MIT MEMORY: ccache (libsmbclient's Heimdal).  The caller removes it. */
int krb_session_export_file(const struct krb_session *s, const char *path);

/* Destroys a MEMORY ccache this module created and restores KRB5CCNAME. */
void krb_session_free(struct krb_session *s);

#endif
