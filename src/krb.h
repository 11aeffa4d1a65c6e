/* Kerberos credentials for one run: the machine account from a keytab into
 * the machine ccache adenroll keeps between runs (a private MEMORY: ccache
 * when that cannot be), or the calling user's existing ccache.  The default
 * ccache is never written. */
#ifndef ADENROLL_KRB_H
#define ADENROLL_KRB_H

#include <stdbool.h>

#include "adenroll.h"
#include "config.h"
#include "util.h"

struct krb_session;

/* Which keytab entry a machine run authenticates as, as typed facts: runs
 * log the sentence krb_keytab_choice_text makes of it, `adenroll doctor`
 * reports it, and both get it from the one function that decides. */
enum krb_keytab_verdict {
	KRB_KT_MATCH,             /* the configured principal, or <SHORTHOST>$@REALM */
	KRB_KT_ONLY_ACCOUNT,      /* no entry for this host: the keytab's only computer account */
	KRB_KT_NO_KRB5,           /* the Kerberos library cannot be initialised (krb5.conf) */
	KRB_KT_MISSING,           /* the file does not exist */
	KRB_KT_UNREADABLE,        /* open(2) failed otherwise (error) */
	KRB_KT_INVALID,           /* not a keytab libkrb5 can read */
	KRB_KT_BAD_PRINCIPAL,     /* the configured principal does not parse */
	KRB_KT_NO_SUCH_PRINCIPAL, /* the configured principal has no key in the keytab */
	KRB_KT_SEVERAL_ACCOUNTS,  /* several computer accounts, none for this host */
	KRB_KT_NO_ACCOUNT,        /* no computer account at all (principals.n == 0: empty) */
};

struct krb_keytab_choice {
	enum krb_keytab_verdict verdict;
	char *path;                 /* the keytab file */
	char *principal;            /* the entry a run uses (MATCH, ONLY_ACCOUNT), else NULL */
	char *wanted;               /* the configured principal (realm added), else NULL */
	char *host;                 /* the short host name looked for without one, else NULL */
	const char *realm;          /* cfg->realm (borrowed), NULL when not configured */
	struct strlist principals;  /* every distinct principal the keytab holds */
	unsigned keys;              /* its entries */
	int error;                  /* errno of UNREADABLE / MISSING, else 0 */
};

/* The keytab's entry for this machine: cfg->principal (a case-insensitive
 * match wins over its spelling: keytab lookup is case-sensitive, the KDC is
 * not), else "<SHORTHOST>$@REALM" (cfg->host_fqdn or the host name, cut to
 * the NetBIOS length, realm cfg->realm when set), else the keytab's only
 * computer account.  0 when a run can use it (MATCH, ONLY_ACCOUNT), -1
 * otherwise; nothing is logged.  Free with krb_keytab_choice_free. */
int krb_keytab_choose(const struct config *cfg, struct krb_keytab_choice *out);
void krb_keytab_choice_free(struct krb_keytab_choice *c);
/* The sentence a run logs for a choice it cannot use (what failed and what
 * to do); for a usable one, which entry is used. */
void krb_keytab_choice_text(const struct krb_keytab_choice *c, char *buf, size_t len);

/* Why a session could not be had: from the krb5 error codes, so callers
 * decide on the reason, never on the wording of the logged message. */
enum krb_failure {
	KRB_FAIL_NONE = 0,
	KRB_FAIL_LIBRARY,           /* libkrb5 cannot be initialised, or the ccache cannot be written */
	KRB_FAIL_KEYTAB,            /* krb_keytab_choose refused (machine mode) */
	KRB_FAIL_CLOCK_SKEW,        /* the KDC says the clocks differ by more than the allowed skew */
	KRB_FAIL_PRINCIPAL_UNKNOWN, /* the KDC does not know the principal */
	KRB_FAIL_KEY_REJECTED,      /* the keytab's key is not the account's (machine password changed) */
	KRB_FAIL_NO_KDC,            /* no KDC for the realm could be found or reached */
	KRB_FAIL_NO_TICKET,         /* user mode: no valid ticket-granting ticket */
	KRB_FAIL_OTHER,
};

/* krb_session_machine or krb_session_user by mode; *why (may be NULL)
 * receives the reason of a failure (KRB_FAIL_NONE on success). */
int krb_session_open(const struct config *cfg, enum adenroll_mode mode, struct krb_session **out,
		     enum krb_failure *why);
/* The same, but a machine session always asks the KDC (an AS exchange with
 * the keytab's key) instead of reusing the machine ccache, and stores the
 * new ticket there: `adenroll doctor` checks the key is still the account's. */
int krb_session_open_fresh(const struct config *cfg, enum adenroll_mode mode, struct krb_session **out,
			   enum krb_failure *why);

/* Kerberos' default maximum clock skew (krb5.conf clockskew, AD "Maximum
 * tolerance for computer clock synchronization"): 5 minutes. */
#define KRB_MAX_SKEW_SECONDS 300

/* Whether a message from GSS-API or libkrb5 (a failed SASL/GSSAPI bind's
 * diagnostic) says a ticket was refused for the time: clock skew
 * (KRB5KRB_AP_ERR_SKEW), ticket expired or not yet valid.  Compared with
 * libkrb5's own wording of those codes (the GSS minor status text), so in
 * the locale the message was made in. */
bool krb_message_is_clock_error(const char *text);

/* Whether the session's tickets came from the machine ccache an earlier
 * run left (no AS exchange in this run): then a ticket the DC refuses for
 * the time may be replaced from the keytab (krb_session_open_fresh). */
bool krb_session_from_cache(const struct krb_session *s);

/* The realm of krb5.conf's [libdefaults] default_realm, NULL when none. */
char *krb_default_realm(void);

/* Machine mode: keytab cfg->keytab (default /etc/krb5.keytab), the entry
 * krb_keytab_choose picks.  The machine ccache, FILE:<directory of
 * cfg->lock_file>/machine.ccache (0600, in a directory only the effective
 * user may write), is reused while it is a private file for that principal,
 * made from the same keytab file (device, inode, size, times), and its TGT
 * stays valid for longer than a run may take (run_timeout, at most an hour,
 * plus a minute); otherwise a TGT is got from the keytab and the ccache
 * replaced (temp file + rename).  When the directory is not trustworthy or
 * cannot be written: a new MEMORY:adenroll-<pid> ccache, as before.  Points
 * KRB5CCNAME (this process only) and GSSAPI at the ccache, so libsasl2 and
 * libcurl use it (their service tickets land in it too).  Logs the reason,
 * returns -1. */
int krb_session_machine(const struct config *cfg, struct krb_session **out);

/* User mode: the ccache named by KRB5CCNAME or the default one; fails with
 * "no valid Kerberos ticket for <user>: run kinit" when absent or expired. */
int krb_session_user(const struct config *cfg, struct krb_session **out);

const char *krb_session_principal(const struct krb_session *s);      /* "CLIENT$@EXAMPLE.TEST" */
const char *krb_session_realm(const struct krb_session *s);          /* "EXAMPLE.TEST" */
const char *krb_session_sam_account_name(const struct krb_session *s); /* "CLIENT$" / "alice" */
const char *krb_session_ccache_name(const struct krb_session *s);    /* "FILE:/run/adenroll/machine.ccache" */

/* Copies the session's credentials into a new FILE: ccache at path (created
 * 0600 with O_EXCL): for a helper process whose Kerberos library cannot read
 * an MIT MEMORY: ccache (libsmbclient's Heimdal).  The caller removes it. */
int krb_session_export_file(const struct krb_session *s, const char *path);

/* Destroys a MEMORY ccache this module created (the machine ccache stays)
 * and restores KRB5CCNAME. */
void krb_session_free(struct krb_session *s);

#endif
