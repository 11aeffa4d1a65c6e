/* Kerberos credentials: keytab -> the machine ccache kept between runs (or a
 * private MEMORY ccache), or the caller's ccache (user).  The only file that talks to libkrb5. */
#include "adenroll-build.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "krb.h"
#include "log.h"
#include "util.h"

#define DEFAULT_KEYTAB "/etc/krb5.keytab"
/* NetBIOS names, and so sAMAccountNames of computers, are at most 15 characters. */
#define NETBIOS_NAME_MAX 15

struct krb_session {
	krb5_context ctx;
	krb5_ccache cc;
	bool owns_ccache;       /* a MEMORY ccache we created: destroy it */
	bool from_cache;        /* the machine ccache of an earlier run, reused */
	bool env_changed;
	char *old_ccname;       /* KRB5CCNAME before we changed it, NULL if unset */
	char *ccname;
	char *principal;
	char *realm;
	char *sam;
};

const char *krb_session_principal(const struct krb_session *s) { return s->principal; }
const char *krb_session_realm(const struct krb_session *s) { return s->realm; }
const char *krb_session_sam_account_name(const struct krb_session *s) { return s->sam; }
const char *krb_session_ccache_name(const struct krb_session *s) { return s->ccname; }
bool krb_session_from_cache(const struct krb_session *s) { return s && s->from_cache; }

void krb_session_free(struct krb_session *s)
{
	if (!s)
		return;
	if (s->env_changed) {
		OM_uint32 minor;
		gss_krb5_ccache_name(&minor, NULL, NULL);
		if (s->old_ccname)
			setenv("KRB5CCNAME", s->old_ccname, 1);
		else
			unsetenv("KRB5CCNAME");
	}
	if (s->cc) {
		if (s->owns_ccache)
			krb5_cc_destroy(s->ctx, s->cc);
		else
			krb5_cc_close(s->ctx, s->cc);
	}
	if (s->ctx)
		krb5_free_context(s->ctx);
	free(s->old_ccname);
	free(s->ccname);
	free(s->principal);
	free(s->realm);
	free(s->sam);
	free(s);
}

static char *krb_error(krb5_context ctx, krb5_error_code code)
{
	const char *m = krb5_get_error_message(ctx, code);
	char *r = xstrdup(m ? m : "unknown Kerberos error");
	krb5_free_error_message(ctx, m);
	return r;
}

/* Fills principal/realm/sam from the parsed principal. */
static int session_set_principal(struct krb_session *s, krb5_principal p)
{
	char *name = NULL;
	krb5_error_code kr = krb5_unparse_name(s->ctx, p, &name);
	if (kr) {
		char *m = krb_error(s->ctx, kr);
		log_error("cannot format Kerberos principal: %s", m);
		free(m);
		return -1;
	}
	s->principal = xstrdup(name);
	krb5_free_unparsed_name(s->ctx, name);
	s->realm = xstrndup(p->realm.data, p->realm.length);
	if (krb5_princ_size(s->ctx, p) < 1) {
		log_error("Kerberos principal %s has no name component", s->principal);
		return -1;
	}
	const krb5_data *c0 = krb5_princ_component(s->ctx, p, 0);
	s->sam = xstrndup(c0->data, c0->length);
	return 0;
}

static bool data_eq_ci(const krb5_data *d, const char *s)
{
	size_t n = strlen(s);
	return d->length == n && strncasecmp(d->data, s, n) == 0;
}

/* The short host name the computer account is named after, upper-cased and cut
 * to the NetBIOS length. */
static char *short_host_name(const struct config *cfg)
{
	char buf[256];
	const char *src = cfg->host_fqdn;
	if (!src) {
		if (gethostname(buf, sizeof(buf)) != 0)
			return NULL;
		buf[sizeof(buf) - 1] = '\0';
		src = buf;
	}
	size_t n = strcspn(src, ".");
	if (n > NETBIOS_NAME_MAX)
		n = NETBIOS_NAME_MAX;
	char *r = xstrndup(src, n);
	for (char *p = r; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return r;
}

/* Walks the keytab once: every distinct principal (c->principals), the
 * entry count, and the choice of krb_keytab_choose (krb.h).  *out receives
 * the chosen principal when the verdict is usable.  Nothing is logged. */
static void choose_principal(krb5_context ctx, krb5_keytab kt, const struct config *cfg,
			     struct krb_keytab_choice *c, krb5_principal *out)
{
	krb5_kt_cursor cursor;
	krb5_keytab_entry entry;
	krb5_principal wanted = NULL, exact = NULL, only = NULL;
	bool several = false;
	struct strlist accounts = { 0 };

	*out = NULL;
	if (cfg->principal) {
		c->wanted = (!strchr(cfg->principal, '@') && cfg->realm)
			? xasprintf("%s@%s", cfg->principal, cfg->realm) : xstrdup(cfg->principal);
		if (krb5_parse_name(ctx, c->wanted, &wanted) != 0) {
			c->verdict = KRB_KT_BAD_PRINCIPAL;
			return;
		}
	} else {
		c->host = short_host_name(cfg);
	}

	if (krb5_kt_start_seq_get(ctx, kt, &cursor) != 0) {
		c->verdict = KRB_KT_INVALID;
		goto out;
	}
	while (krb5_kt_next_entry(ctx, kt, &entry, &cursor) == 0) {
		krb5_principal p = entry.principal;
		bool realm_ok = !cfg->realm || data_eq_ci(&p->realm, cfg->realm);
		char *full = NULL;

		c->keys++;
		if (krb5_unparse_name(ctx, p, &full) == 0) {
			if (!strlist_contains_ci(&c->principals, full))
				strlist_add(&c->principals, full);
		}
		if (wanted) {
			if (!exact && krb5_principal_compare(ctx, p, wanted))
				krb5_copy_principal(ctx, p, &exact);
			else if (!exact && !only && krb5_princ_size(ctx, p) == krb5_princ_size(ctx, wanted)) {
				/* case-insensitive comparison of realm and every component */
				bool same = p->realm.length == wanted->realm.length &&
					strncasecmp(p->realm.data, wanted->realm.data, p->realm.length) == 0;
				for (krb5_int32 i = 0; same && i < krb5_princ_size(ctx, p); i++) {
					const krb5_data *a = krb5_princ_component(ctx, p, i);
					const krb5_data *b = krb5_princ_component(ctx, wanted, i);
					same = a->length == b->length && strncasecmp(a->data, b->data, a->length) == 0;
				}
				if (same)
					krb5_copy_principal(ctx, p, &only);
			}
		} else if (realm_ok && krb5_princ_size(ctx, p) == 1) {
			const krb5_data *c0 = krb5_princ_component(ctx, p, 0);
			if (c0->length > 1 && c0->data[c0->length - 1] == '$') {
				char *hn = c->host ? xasprintf("%s$", c->host) : NULL;
				if (hn && !exact && data_eq_ci(c0, hn))
					krb5_copy_principal(ctx, p, &exact);
				free(hn);
				if (full && !strlist_contains_ci(&accounts, full)) {
					strlist_add(&accounts, full);
					if (!only)
						krb5_copy_principal(ctx, p, &only);
					else
						several = true;
				}
			}
		}
		krb5_free_unparsed_name(ctx, full);
		krb5_free_keytab_entry_contents(ctx, &entry);
	}
	krb5_kt_end_seq_get(ctx, kt, &cursor);

	if (exact) {
		c->verdict = KRB_KT_MATCH;
		*out = exact;
		exact = NULL;
	} else if (wanted) {
		if (only) {
			c->verdict = KRB_KT_MATCH;
			*out = only;
			only = NULL;
		} else {
			c->verdict = KRB_KT_NO_SUCH_PRINCIPAL;
		}
	} else if (only && !several) {
		c->verdict = KRB_KT_ONLY_ACCOUNT;
		*out = only;
		only = NULL;
	} else {
		c->verdict = several ? KRB_KT_SEVERAL_ACCOUNTS : KRB_KT_NO_ACCOUNT;
	}
	if (*out) {
		char *name = NULL;
		if (krb5_unparse_name(ctx, *out, &name) == 0)
			c->principal = xstrdup(name);
		krb5_free_unparsed_name(ctx, name);
	}
out:
	if (exact)
		krb5_free_principal(ctx, exact);
	if (only)
		krb5_free_principal(ctx, only);
	if (wanted)
		krb5_free_principal(ctx, wanted);
	strlist_free(&accounts);
}

/* The file check (libkrb5 reports a missing or unreadable keytab late and
 * vaguely), then the choice.  *kt and *princ are the caller's when it
 * returns 0. */
static int keytab_open_choose(krb5_context ctx, const struct config *cfg, struct krb_keytab_choice *c,
			      krb5_keytab *kt, krb5_principal *princ)
{
	char *kt_name;

	*kt = NULL;
	*princ = NULL;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		c->error = errno;
		c->verdict = errno == ENOENT ? KRB_KT_MISSING : KRB_KT_UNREADABLE;
		return -1;
	}
	close(fd);
	kt_name = xasprintf("FILE:%s", c->path);
	if (krb5_kt_resolve(ctx, kt_name, kt) != 0) {
		*kt = NULL;
		c->verdict = KRB_KT_INVALID;
	} else {
		choose_principal(ctx, *kt, cfg, c, princ);
	}
	free(kt_name);
	if (c->verdict == KRB_KT_MATCH || c->verdict == KRB_KT_ONLY_ACCOUNT)
		return 0;
	if (*kt)
		krb5_kt_close(ctx, *kt);
	*kt = NULL;
	return -1;
}

static void choice_init(const struct config *cfg, struct krb_keytab_choice *c)
{
	memset(c, 0, sizeof(*c));
	c->path = xstrdup(cfg->keytab ? cfg->keytab : DEFAULT_KEYTAB);
	c->realm = cfg->realm;
	c->verdict = KRB_KT_INVALID;
}

int krb_keytab_choose(const struct config *cfg, struct krb_keytab_choice *out)
{
	krb5_context ctx = NULL;
	krb5_keytab kt = NULL;
	krb5_principal princ = NULL;

	choice_init(cfg, out);
	if (krb5_init_context(&ctx) != 0) {
		out->verdict = KRB_KT_NO_KRB5;
		return -1;
	}
	int ret = keytab_open_choose(ctx, cfg, out, &kt, &princ);
	if (princ)
		krb5_free_principal(ctx, princ);
	if (kt)
		krb5_kt_close(ctx, kt);
	krb5_free_context(ctx);
	return ret;
}

void krb_keytab_choice_free(struct krb_keytab_choice *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->principal);
	free(c->wanted);
	free(c->host);
	strlist_free(&c->principals);
	memset(c, 0, sizeof(*c));
}

void krb_keytab_choice_text(const struct krb_keytab_choice *c, char *buf, size_t len)
{
	const char *p = c->path;
	const char *realm = c->realm ? c->realm : "REALM";

	switch (c->verdict) {
	case KRB_KT_MATCH:
		snprintf(buf, len, "keytab %s: using %s", p, c->principal ? c->principal : "?");
		break;
	case KRB_KT_ONLY_ACCOUNT:
		snprintf(buf, len, "keytab %s has no entry for %s$; using its only computer account %s", p,
			 c->host ? c->host : "?", c->principal ? c->principal : "?");
		break;
	case KRB_KT_NO_KRB5:
		snprintf(buf, len, "cannot initialise Kerberos: check KRB5_CONFIG / /etc/krb5.conf");
		break;
	case KRB_KT_MISSING:
		snprintf(buf, len, "keytab %s does not exist: join the domain (adcli join / realm join) or set "
			 "\"keytab\" in [machine]", p);
		break;
	case KRB_KT_UNREADABLE:
		if (c->error == EACCES)
			snprintf(buf, len, "cannot read keytab %s: permission denied; run as root", p);
		else
			snprintf(buf, len, "cannot read keytab %s: %s", p, strerror(c->error));
		break;
	case KRB_KT_INVALID:
		snprintf(buf, len, "cannot read keytab %s: not a keytab libkrb5 can read; re-join the domain to "
			 "write a new one", p);
		break;
	case KRB_KT_BAD_PRINCIPAL:
		snprintf(buf, len, "invalid principal \"%s\" in the configuration: set \"principal\" in [machine] "
			 "to a name like HOST$@REALM", c->wanted ? c->wanted : "?");
		break;
	case KRB_KT_NO_SUCH_PRINCIPAL:
		snprintf(buf, len, "keytab %s has no key for principal %s: check \"principal\" in the "
			 "configuration (klist -k %s lists the keytab)", p, c->wanted ? c->wanted : "?", p);
		break;
	case KRB_KT_SEVERAL_ACCOUNTS:
		snprintf(buf, len, "keytab %s has several computer accounts and none matches this host (%s$%s%s): "
			 "set \"principal\" in [machine]", p, c->host ? c->host : "?", c->realm ? "@" : "",
			 c->realm ? c->realm : "");
		break;
	case KRB_KT_NO_ACCOUNT:
		snprintf(buf, len, "keytab %s has no computer account key (<HOST>$@%s): join the domain "
			 "(adcli join / realm join) or set \"principal\" in [machine]", p, realm);
		break;
	}
}

/* Logs why no ticket could be had and returns the reason. */
static enum krb_failure log_initial_creds_error(krb5_context ctx, krb5_error_code kr, const char *princ,
						const char *realm, const char *kt_path)
{
	char *m = krb_error(ctx, kr);
	enum krb_failure why = KRB_FAIL_OTHER;
	switch (kr) {
	case KRB5KRB_AP_ERR_SKEW:
		log_error("cannot get a Kerberos ticket for %s: the clock of this host is off from the "
			  "KDC's by more than the allowed skew (%s): sync the time (chrony/ntpd/timedatectl) "
			  "and retry", princ, m);
		why = KRB_FAIL_CLOCK_SKEW;
		break;
	case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
		log_error("cannot get a Kerberos ticket for %s: the KDC does not know this principal (%s): "
			  "check \"principal\" or re-join the domain", princ, m);
		why = KRB_FAIL_PRINCIPAL_UNKNOWN;
		break;
	case KRB5KDC_ERR_PREAUTH_FAILED:
	case KRB5KRB_AP_ERR_BAD_INTEGRITY:
		log_error("cannot get a Kerberos ticket for %s: the keytab %s key is not accepted by the "
			  "KDC (%s): the machine password changed? re-join the domain", princ, kt_path, m);
		why = KRB_FAIL_KEY_REJECTED;
		break;
	case KRB5_KDC_UNREACH:
	case KRB5_REALM_CANT_RESOLVE:
	case KRB5_REALM_UNKNOWN:
		log_error("cannot get a Kerberos ticket for %s: no KDC for realm %s reachable (%s): check "
			  "DNS (_kerberos._tcp.%s) or krb5.conf", princ, realm, m, realm);
		why = KRB_FAIL_NO_KDC;
		break;
	default:
		log_error("cannot get a Kerberos ticket for %s from keytab %s: %s", princ, kt_path, m);
		break;
	}
	free(m);
	return why;
}

/* The machine ccache: a FILE ccache beside the run lock (cfg->lock_file's
 * directory, /run/adenroll by default: a runtime directory, so tickets do
 * not outlive a reboot), so that a run whose ticket-granting ticket is still
 * valid does no AS exchange and reuses the service tickets earlier runs
 * stored (docs/admin-guide.md, "Kerberos").  A cached ticket is used only
 * when every check below holds; anything else is replaced from the keytab,
 * never trusted. */
#define MACHINE_CCACHE_LEAF "machine.ccache"
/* The temp file machine_ccache_write renames over it: "<this><pid>".  A
 * run killed in between leaves it; the next run removes it (its process
 * gone), or /run would collect one per killed run until a reboot. */
#define MACHINE_CCACHE_TMP_PREFIX "." MACHINE_CCACHE_LEAF ".tmp-"
/* The ccache config entry naming the keytab file (and its identity) the
 * tickets came from: a re-join or a rotated machine password rewrites the
 * keytab, and the next run then asks the KDC again. */
#define MACHINE_CCACHE_KEYTAB_KEY "adenroll-keytab"

static char *machine_ccache_path(const struct config *cfg)
{
	const char *lock = cfg->lock_file ? cfg->lock_file : "/run/adenroll/adenroll.lock";
	const char *slash = strrchr(lock, '/');
	if (!slash)
		return xstrdup(MACHINE_CCACHE_LEAF);
	if (slash == lock)
		return xstrdup("/" MACHINE_CCACHE_LEAF);
	return xasprintf("%.*s/%s", (int)(slash - lock), lock, MACHINE_CCACHE_LEAF);
}

/* "<path> <dev>:<inode>:<size>:<mtime>:<ctime>" of the keytab, NULL when it
 * cannot be stat'ed (then nothing is cached). */
static char *keytab_identity(const char *kt_path)
{
	struct stat st;
	if (stat(kt_path, &st) != 0)
		return NULL;
	return xasprintf("%s %llu:%llu:%lld:%lld.%09ld:%lld.%09ld", kt_path, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* Seconds a reused ticket-granting ticket must still be valid: a run must
 * not see it expire half-way (run_timeout bounds a run), capped at an hour
 * so a long run_timeout does not make every run ask the KDC. */
static krb5_timestamp reuse_margin(const struct config *cfg)
{
	long t = cfg->run_timeout > 0 && cfg->run_timeout < 3600 ? cfg->run_timeout : 3600;
	return (krb5_timestamp)(t + 60);
}

/* 0 when the ccache at path may be reused for princ: a regular file of ours,
 * mode 0600 or stricter, one link; its principal is princ; it was made from
 * the keytab whose identity is kt_id; it holds the realm's TGT, started
 * (5 minutes of skew allowed) and valid for reuse_margin more seconds.
 * Otherwise -1 and *why says which check failed (for the debug log). */
static int machine_ccache_usable(const char *path, krb5_principal princ, const char *kt_id, krb5_timestamp margin,
				 const char **why)
{
	struct stat st;
	krb5_context ctx = NULL;
	krb5_ccache cc = NULL;
	krb5_principal ccp = NULL, tgs = NULL;
	krb5_data conf = { 0 };
	krb5_cc_cursor cursor;
	krb5_creds c;
	char *name = NULL;
	bool have_conf = false, tgt_ok = false, seen_tgt = false;
	int ret = -1;

	if (lstat(path, &st) != 0) {
		*why = errno == ENOENT ? "none yet" : "cannot be examined";
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 || st.st_nlink != 1) {
		*why = "not a private regular file of this user";
		return -1;
	}
	/* A context of its own: reading a FILE ccache loads the KDC time
	 * offset recorded in it into the context. */
	*why = "cannot be examined";
	if (krb5_init_context(&ctx) != 0) {
		ctx = NULL;
		goto out;
	}
	name = xasprintf("FILE:%s", path);
	*why = "unreadable (corrupt?)";
	if (krb5_cc_resolve(ctx, name, &cc) != 0)
		goto out;
	if (krb5_cc_get_principal(ctx, cc, &ccp) != 0)
		goto out;
	if (!krb5_principal_compare(ctx, ccp, princ)) {
		*why = "for another principal";
		goto out;
	}
	/* With kdc_timesync, libkrb5 records how far this host's clock was
	 * from the KDC's when the ticket was got, and applies it to every
	 * later request from this ccache: a clock corrected (or gone wrong)
	 * since then needs a new exchange, which measures it again. */
	krb5_int32 off_s = 0, off_us = 0;
	if (krb5_get_time_offsets(ctx, &off_s, &off_us) == 0 && (off_s > 60 || off_s < -60)) {
		*why = "got while this host's clock was off from the KDC's";
		goto out;
	}
	if (krb5_cc_get_config(ctx, cc, NULL, MACHINE_CCACHE_KEYTAB_KEY, &conf) != 0) {
		*why = "not made by adenroll";
		goto out;
	}
	have_conf = true;
	if (conf.length != strlen(kt_id) || memcmp(conf.data, kt_id, conf.length) != 0) {
		*why = "from another keytab, or the keytab changed";
		goto out;
	}
	if (krb5_build_principal_ext(ctx, &tgs, princ->realm.length, princ->realm.data, KRB5_TGS_NAME_SIZE,
				     KRB5_TGS_NAME, princ->realm.length, princ->realm.data, 0) != 0)
		goto out;
	krb5_timestamp now = (krb5_timestamp)time(NULL);
	if (krb5_cc_start_seq_get(ctx, cc, &cursor) != 0)
		goto out;
	krb5_error_code kr;
	while ((kr = krb5_cc_next_cred(ctx, cc, &cursor, &c)) == 0) {
		if (krb5_principal_compare(ctx, c.client, princ) && krb5_principal_compare(ctx, c.server, tgs)) {
			krb5_timestamp start = c.times.starttime ? c.times.starttime : c.times.authtime;
			seen_tgt = true;
			/* krb5_timestamp is 32 bits and wraps in 2106: compare differences */
			if ((int32_t)(c.times.endtime - now) >= margin && (int32_t)(start - now) <= 300)
				tgt_ok = true;
		}
		krb5_free_cred_contents(ctx, &c);
	}
	krb5_cc_end_seq_get(ctx, cc, &cursor);
	if (kr != KRB5_CC_END)
		goto out;
	if (!tgt_ok) {
		*why = seen_tgt ? "its ticket-granting ticket expires soon (or starts later)"
				: "no ticket-granting ticket";
		goto out;
	}
	ret = 0;
out:
	if (have_conf)
		krb5_free_data_contents(ctx, &conf);
	if (ccp)
		krb5_free_principal(ctx, ccp);
	if (tgs)
		krb5_free_principal(ctx, tgs);
	if (cc)
		krb5_cc_close(ctx, cc);
	if (ctx)
		krb5_free_context(ctx);
	free(name);
	return ret;
}

/* Writes creds (and the keytab identity) to a private temp file in the
 * ccache's directory and renames it over path: a reader sees the old
 * ccache or the new one, never a half-written one.  -1 logged (debug: the
 * run goes on with a MEMORY ccache). */
static int machine_ccache_write(krb5_context ctx, const char *path, krb5_principal princ, krb5_creds *creds,
				const char *kt_id)
{
	char *tmp = NULL, *name = NULL, *m = NULL;
	krb5_ccache cc = NULL;
	krb5_error_code kr;
	int ret = -1;

	const char *slash = strrchr(path, '/');
	tmp = slash ? xasprintf("%.*s/" MACHINE_CCACHE_TMP_PREFIX "%ld", (int)(slash - path), path, (long)getpid())
		    : xasprintf(MACHINE_CCACHE_TMP_PREFIX "%ld", (long)getpid());
	/* A leftover of a killed run with our pid: ours to remove. */
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto fail_errno;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail_errno;
	close(fd);
	name = xasprintf("FILE:%s", tmp);
	krb5_data id = { .magic = KV5M_DATA, .length = (unsigned)strlen(kt_id), .data = (char *)kt_id };
	if ((kr = krb5_cc_resolve(ctx, name, &cc)) != 0 || (kr = krb5_cc_initialize(ctx, cc, princ)) != 0
	    || (kr = krb5_cc_store_cred(ctx, cc, creds)) != 0
	    || (kr = krb5_cc_set_config(ctx, cc, NULL, MACHINE_CCACHE_KEYTAB_KEY, &id)) != 0) {
		m = krb_error(ctx, kr);
		log_debug("cannot write the machine credential cache %s: %s", tmp, m);
		goto out;
	}
	if (rename(tmp, path) != 0)
		goto fail_errno;
	ret = 0;
	goto out;
fail_errno:
	log_debug("cannot write the machine credential cache %s: %s", path, strerror(errno));
out:
	if (cc)
		krb5_cc_close(ctx, cc);
	if (ret != 0)
		unlink(tmp);
	free(m);
	free(name);
	free(tmp);
	return ret;
}

/* Points this process (only) at the session's ccache: libsasl2's GSSAPI
 * plugin and libcurl's SPNEGO acquire default credentials. */
static int session_select_ccache(struct krb_session *s)
{
	const char *old = getenv("KRB5CCNAME");
	s->old_ccname = old ? xstrdup(old) : NULL;
	s->env_changed = true;
	if (setenv("KRB5CCNAME", s->ccname, 1) != 0) {
		log_error("cannot set KRB5CCNAME: %s", strerror(errno));
		return -1;
	}
	OM_uint32 minor;
	if (gss_krb5_ccache_name(&minor, s->ccname, NULL) != GSS_S_COMPLETE) {
		log_error("cannot select the Kerberos ccache %s for GSSAPI", s->ccname);
		return -1;
	}
	return 0;
}

/* The machine ccache's directory, created private when missing; false (and
 * a debug line: the run uses a MEMORY ccache) when it is not trustworthy.
 * A trusted one is rid of the temp files of killed runs. */
static bool machine_ccache_dir_ok(const char *path)
{
	char why[512];
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	bool ok = true;
	if (slash && slash != dir) {
		*slash = '\0';
		/* mkdir(2), not fs_mkdir_p: a run that may not create it (not
		 * root) goes on quietly with a MEMORY ccache */
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(why, sizeof why, "cannot create %s: %s", dir, strerror(errno));
			ok = false;
		} else if (fs_dir_trusted(dir, why, sizeof why) != 0) {
			ok = false;
		}
		if (!ok)
			log_debug("not keeping the machine's tickets in %s: %s", path, why);
		else
			fs_remove_stale_pid_files(dir, MACHINE_CCACHE_TMP_PREFIX);
	}
	free(dir);
	return ok;
}

static int session_machine(const struct config *cfg, bool fresh, struct krb_session **out, enum krb_failure *why)
{
	struct krb_session *s = xcalloc(1, sizeof(*s));
	const char *kt_path = cfg->keytab ? cfg->keytab : DEFAULT_KEYTAB;
	struct krb_keytab_choice choice;
	krb5_keytab kt = NULL;
	krb5_principal princ = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_creds creds;
	bool have_creds = false, cached = false;
	char *m = NULL, *cc_path = NULL, *kt_id = NULL, text[1024];
	const char *unusable = "not asked for";
	krb5_error_code kr;
	int ret = -1;

	*out = NULL;
	*why = KRB_FAIL_LIBRARY;
	memset(&creds, 0, sizeof(creds));
	choice_init(cfg, &choice);
	kr = krb5_init_context(&s->ctx);
	if (kr) {
		s->ctx = NULL;
		log_error("cannot initialise Kerberos (error %ld): check KRB5_CONFIG / /etc/krb5.conf", (long)kr);
		goto out;
	}
	if (keytab_open_choose(s->ctx, cfg, &choice, &kt, &princ) != 0) {
		krb_keytab_choice_text(&choice, text, sizeof text);
		log_error("%s", text);
		*why = KRB_FAIL_KEYTAB;
		goto out;
	}
	if (choice.verdict == KRB_KT_ONLY_ACCOUNT) {
		krb_keytab_choice_text(&choice, text, sizeof text);
		log_debug("%s", text);
	}
	if (session_set_principal(s, princ) != 0)
		goto out;
	log_debug("machine principal %s from keytab %s", s->principal, kt_path);

	cc_path = machine_ccache_path(cfg);
	kt_id = keytab_identity(kt_path);
	if (!kt_id || !machine_ccache_dir_ok(cc_path)) {
		free(cc_path);
		cc_path = NULL;
	} else if (!fresh && machine_ccache_usable(cc_path, princ, kt_id, reuse_margin(cfg), &unusable) == 0) {
		cached = true;
	} else {
		log_debug("machine credential cache %s: %s; asking the KDC", cc_path, unusable);
	}

	if (!cached) {
		kr = krb5_get_init_creds_opt_alloc(s->ctx, &opt);
		if (kr)
			goto kerr;
		kr = krb5_get_init_creds_keytab(s->ctx, &creds, princ, kt, 0, NULL, opt);
		if (kr) {
			*why = log_initial_creds_error(s->ctx, kr, s->principal, s->realm, kt_path);
			goto out;
		}
		have_creds = true;
	}
	if (cached || (cc_path && machine_ccache_write(s->ctx, cc_path, princ, &creds, kt_id) == 0)) {
		s->ccname = xasprintf("FILE:%s", cc_path);
		kr = krb5_cc_resolve(s->ctx, s->ccname, &s->cc);
		if (kr)
			goto kerr;
	} else {
		s->ccname = xasprintf("MEMORY:adenroll-%ld", (long)getpid());
		kr = krb5_cc_resolve(s->ctx, s->ccname, &s->cc);
		if (kr)
			goto kerr;
		s->owns_ccache = true;
		kr = krb5_cc_initialize(s->ctx, s->cc, princ);
		if (kr)
			goto kerr;
		kr = krb5_cc_store_cred(s->ctx, s->cc, &creds);
		if (kr)
			goto kerr;
	}
	if (session_select_ccache(s) != 0)
		goto out;
	s->from_cache = cached;
	if (cached)
		log_info("Kerberos: using the cached ticket of %s (%s)", s->principal, cc_path);
	else
		log_info("Kerberos: got a ticket for %s from keytab %s", s->principal, kt_path);
	*why = KRB_FAIL_NONE;
	ret = 0;
	goto out;
kerr:
	m = krb_error(s->ctx, kr);
	log_error("cannot store Kerberos credentials for %s in %s: %s", s->principal ? s->principal : "?",
		  s->ccname ? s->ccname : "a credential cache", m);
out:
	if (s->ctx) {
		if (have_creds)
			krb5_free_cred_contents(s->ctx, &creds);
		if (opt)
			krb5_get_init_creds_opt_free(s->ctx, opt);
		if (princ)
			krb5_free_principal(s->ctx, princ);
		if (kt)
			krb5_kt_close(s->ctx, kt);
	}
	if (ret == 0)
		*out = s;
	else
		krb_session_free(s);
	krb_keytab_choice_free(&choice);
	free(cc_path);
	free(kt_id);
	free(m);
	return ret;
}

int krb_session_machine(const struct config *cfg, struct krb_session **out)
{
	enum krb_failure why;
	return session_machine(cfg, false, out, &why);
}

static int session_user(const struct config *cfg, struct krb_session **out, enum krb_failure *why)
{
	struct krb_session *s = xcalloc(1, sizeof(*s));
	krb5_principal princ = NULL, tgs = NULL;
	krb5_cc_cursor cursor;
	krb5_creds c;
	char *m = NULL, *ccfull = NULL;
	krb5_error_code kr;
	int ret = -1;
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw && pw->pw_name ? pw->pw_name : "the current user";

	(void)cfg;
	*out = NULL;
	*why = KRB_FAIL_LIBRARY;
	kr = krb5_init_context(&s->ctx);
	if (kr) {
		s->ctx = NULL;
		log_error("cannot initialise Kerberos (error %ld): check KRB5_CONFIG / /etc/krb5.conf", (long)kr);
		goto out;
	}
	kr = krb5_cc_default(s->ctx, &s->cc);
	if (kr) {
		m = krb_error(s->ctx, kr);
		log_error("no valid Kerberos ticket for %s: run kinit (%s)", user, m);
		*why = KRB_FAIL_NO_TICKET;
		goto out;
	}
	if (krb5_cc_get_full_name(s->ctx, s->cc, &ccfull) == 0) {
		s->ccname = xstrdup(ccfull);
		krb5_free_string(s->ctx, ccfull);
	} else {
		s->ccname = xstrdup(krb5_cc_get_name(s->ctx, s->cc));
	}
	kr = krb5_cc_get_principal(s->ctx, s->cc, &princ);
	if (kr) {
		log_error("no valid Kerberos ticket for %s: run kinit (credential cache %s is empty or missing)",
			  user, s->ccname);
		*why = KRB_FAIL_NO_TICKET;
		goto out;
	}
	if (session_set_principal(s, princ) != 0)
		goto out;
	kr = krb5_build_principal_ext(s->ctx, &tgs, (unsigned)strlen(s->realm), s->realm,
				      KRB5_TGS_NAME_SIZE, KRB5_TGS_NAME, (unsigned)strlen(s->realm), s->realm, 0);
	if (kr) {
		m = krb_error(s->ctx, kr);
		log_error("cannot check the Kerberos ticket of %s: %s", s->principal, m);
		goto out;
	}
	bool valid = false, seen_tgt = false;
	time_t now = time(NULL);
	if (krb5_cc_start_seq_get(s->ctx, s->cc, &cursor) == 0) {
		while (krb5_cc_next_cred(s->ctx, s->cc, &cursor, &c) == 0) {
			if (krb5_principal_compare(s->ctx, c.server, tgs)) {
				seen_tgt = true;
				if ((time_t)c.times.endtime > now)
					valid = true;
			}
			krb5_free_cred_contents(s->ctx, &c);
		}
		krb5_cc_end_seq_get(s->ctx, s->cc, &cursor);
	}
	if (!valid) {
		log_error("no valid Kerberos ticket for %s: %s in %s; run kinit", s->principal,
			  seen_tgt ? "the ticket-granting ticket has expired" : "there is no ticket-granting ticket",
			  s->ccname);
		*why = KRB_FAIL_NO_TICKET;
		goto out;
	}
	log_info("Kerberos: using the ticket of %s from %s", s->principal, s->ccname);
	*why = KRB_FAIL_NONE;
	ret = 0;
out:
	if (s->ctx) {
		if (princ)
			krb5_free_principal(s->ctx, princ);
		if (tgs)
			krb5_free_principal(s->ctx, tgs);
	}
	if (ret == 0)
		*out = s;
	else
		krb_session_free(s);
	free(m);
	return ret;
}

int krb_session_user(const struct config *cfg, struct krb_session **out)
{
	enum krb_failure why;
	return session_user(cfg, out, &why);
}

static int session_open(const struct config *cfg, enum adenroll_mode mode, bool fresh, struct krb_session **out,
			enum krb_failure *why)
{
	enum krb_failure ignored;
	if (!why)
		why = &ignored;
	return mode == ADENROLL_MODE_MACHINE ? session_machine(cfg, fresh, out, why) : session_user(cfg, out, why);
}

int krb_session_open(const struct config *cfg, enum adenroll_mode mode, struct krb_session **out,
		     enum krb_failure *why)
{
	return session_open(cfg, mode, false, out, why);
}

int krb_session_open_fresh(const struct config *cfg, enum adenroll_mode mode, struct krb_session **out,
			   enum krb_failure *why)
{
	return session_open(cfg, mode, true, out, why);
}

bool krb_message_is_clock_error(const char *text)
{
	static const krb5_error_code codes[] = {
		KRB5KRB_AP_ERR_SKEW, KRB5KRB_AP_ERR_TKT_EXPIRED, KRB5KRB_AP_ERR_TKT_NYV,
	};
	krb5_context ctx;
	bool found = false;

	if (!text || !*text || krb5_init_context(&ctx) != 0)
		return false;
	for (size_t i = 0; !found && i < sizeof codes / sizeof codes[0]; i++) {
		const char *m = krb5_get_error_message(ctx, codes[i]);
		found = m && *m && strstr(text, m) != NULL;
		krb5_free_error_message(ctx, m);
	}
	krb5_free_context(ctx);
	return found;
}

char *krb_default_realm(void)
{
	krb5_context ctx;
	char *r = NULL, *ret = NULL;

	if (krb5_init_context(&ctx) != 0)
		return NULL;
	if (krb5_get_default_realm(ctx, &r) == 0) {
		ret = xstrdup(r);
		krb5_free_default_realm(ctx, r);
	}
	krb5_free_context(ctx);
	return ret;
}

int krb_session_export_file(const struct krb_session *s, const char *path)
{
	krb5_ccache dst = NULL;
	krb5_error_code kr;
	char *name = NULL, *msg = NULL;
	int fd, ret = -1;

	/* Created 0600 and empty by us first, so the ccache library writes
	 * into a file nobody else could have prepared. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("cannot create the credential cache %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	name = xasprintf("FILE:%s", path);
	kr = krb5_cc_resolve(s->ctx, name, &dst);
	if (kr == 0) {
		krb5_principal p = NULL;
		kr = krb5_cc_get_principal(s->ctx, s->cc, &p);
		if (kr == 0)
			kr = krb5_cc_initialize(s->ctx, dst, p);
		krb5_free_principal(s->ctx, p);
	}
	if (kr == 0)
		kr = krb5_cc_copy_creds(s->ctx, s->cc, dst);
	if (kr != 0) {
		msg = krb_error(s->ctx, kr);
		log_error("cannot copy the Kerberos credentials to %s: %s", path, msg);
		unlink(path);
		goto out;
	}
	ret = 0;
out:
	if (dst)
		krb5_cc_close(s->ctx, dst);
	free(msg);
	free(name);
	return ret;
}
