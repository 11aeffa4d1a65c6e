/* Typed configuration, loaded from an INI file (adenroll.conf(5)). */
#ifndef ADENROLL_CONFIG_H
#define ADENROLL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "adenroll.h"
#include "log.h"
#include "util.h"

#define ADENROLL_DEFAULT_CONFIG SYSCONFDIR "/adenroll/adenroll.conf"

enum store_type { STORE_PEM = 1u << 0, STORE_NSS = 1u << 1 };

/* Owner, group and mode of one file the PEM store writes ([store] defaults,
 * [template NAME] overrides; adenroll.conf(5), FILE OWNERSHIP).  Names (or
 * numbers) are resolved at install time, so a service user created after
 * the config is fine.  NULL / 0 = not set. */
struct file_perms {
	char *owner;
	char *group;
	unsigned mode;
};
struct store_perms {
	struct file_perms cert, key, chain;
};
struct template_perms {
	char *template_cn;          /* as written in [template NAME], compared case-insensitively */
	struct store_perms p;
};
enum store_file { STORE_FILE_CERT, STORE_FILE_KEY, STORE_FILE_CHAIN };

/* [general] journal: where log records go besides stderr (see adenroll(8), LOGGING). */
enum config_journal {
	CONFIG_JOURNAL_AUTO = 0,    /* when stderr is not a terminal (timer, cron) */
	CONFIG_JOURNAL_YES,
	CONFIG_JOURNAL_NO,
};

/* [policy] source: where the autoenrollment policy (AEPolicy) comes from. */
enum config_policy_source {
	CONFIG_POLICY_GPO = 0,      /* Group Policy; the local switches where no GPO sets it */
	CONFIG_POLICY_LOCAL,        /* the local switches only; no GPO is read */
};

/* [enroll] transport: how requests reach a CA (docs/admin-guide.md "Which
 * transport"). */
enum config_transport {
	CONFIG_TRANSPORT_AUTO = 0,  /* the CA's Kerberos CES endpoints by priority, then web enrollment */
	CONFIG_TRANSPORT_CERTSRV,   /* web enrollment (/certsrv) only */
	CONFIG_TRANSPORT_CES,       /* CES (MS-WSTEP) only */
};

struct config {
	char *path;                 /* file it came from, NULL when defaults only */
	/* [domain] */
	char *realm;                /* default: from the keytab principal / krb5 default realm */
	char *domain;               /* DNS domain for SRV; default: realm lower-cased */
	struct strlist dcs;         /* DC override, in order; empty => DNS SRV */
	char *site;                 /* optional AD site for site-local SRV first */
	/* [machine] */
	char *keytab;               /* default /etc/krb5.keytab */
	char *principal;            /* default: HOST$@REALM picked from the keytab */
	char *host_fqdn;            /* default: this host's FQDN */
	/* [enroll] */
	struct strlist cas;         /* CA override: CA names (cn) or host names, in order */
	unsigned min_rsa_bits;      /* default 2048 */
	bool reuse_key;             /* default no */
	bool allow_v1_templates;    /* default no */
	/* The local AEPolicy switches ([policy]; the first two also under their
	 * older [enroll] names renew_expiring and update_templates). */
	bool renew_expiring;        /* AEPolicy 0x2 renew_and_remove_revoked: default yes */
	bool update_templates;      /* AEPolicy 0x1 update_templates: default yes */
	long http_timeout;          /* seconds, default 60 */
	enum config_transport transport; /* [enroll] transport, default auto */
	/* [store] (machine) and [user] (user mode overrides, ~ and %u expanded) */
	unsigned store_types;       /* enum store_type bits, default STORE_PEM */
	char *pem_dir;              /* default LOCALSTATEDIR/lib/adenroll/certs */
	char *nss_db;               /* default sql:LOCALSTATEDIR/lib/adenroll/nssdb */
	char *archive_dir;          /* default LOCALSTATEDIR/lib/adenroll/archive */
	long archive_retention_days;/* 0 = keep forever (default) */
	char *anchors_dir;          /* optional: roots/NTAuth from LDAP written here; "system" resolved by config_load */
	bool update_system_trust;   /* run update-ca-trust/update-ca-certificates when anchors change: default no */
	long trust_update_timeout;  /* seconds it may take before it is killed (runner.h), default 120 */
	/* Which directory roots may be trusted beyond adenroll (trust_policy.h); both empty by default */
	struct strlist pinned_dcs;        /* DCs whose directory's roots may be trusted */
	struct strlist root_fingerprints; /* SHA-256, 64 lowercase hex digits each */
	char *state_dir;            /* default LOCALSTATEDIR/lib/adenroll */
	/* [general] */
	char *hooks_dir;            /* default SYSCONFDIR/adenroll/hooks.d */
	char *metrics_file;         /* optional Prometheus textfile */
	char *lock_file;            /* default /run/adenroll/adenroll.lock; --user: $XDG_RUNTIME_DIR/adenroll.lock */
	long run_timeout;           /* seconds a run may take (runlimit.h), default 1800 */
	/* [domain] bounds on what one run reads over LDAP (ldap_conn.h) */
	long ldap_max_entries;      /* default 50000 */
	long ldap_max_bytes;        /* default 128 MiB */
	enum log_level log_level;   /* default info; -v raises it, -q lowers it to errors */
	enum config_journal journal;/* default auto */
	/* [policy] */
	enum config_policy_source policy_source; /* default gpo */
	bool ae_disabled;           /* AEPolicy 0x8000 disabled: default no */
	bool retrieve_pending;      /* AEPolicy 0x4 retrieve_pending: default yes */
	unsigned offline_expiration_percent; /* OfflineExpirationPercent: default 10, 0 = no warning */
	/* [user] as written (~ and %u unexpanded; store_types 0 = not set).
	 * Private to config.c: config_apply_user_mode() copies them into the
	 * fields above, which are the only ones commands read. */
	struct {
		unsigned store_types;
		char *pem_dir, *nss_db, *archive_dir, *state_dir;
	} user;
	/* [store] cert_owner ... chain_mode, and every [template NAME] section. */
	struct store_perms perms;
	struct template_perms *tmpl_perms;
	size_t n_tmpl_perms;
	/* The files config_load parsed, in order: names and texts.  The key
	 * process is a fresh image started when a key is first needed; it is
	 * handed these and parses exactly what this run parsed
	 * (config_load_texts), whatever happened to the files since. */
	struct strlist source_names;
	struct bloblist source_texts;
};

/* Fills cfg with defaults, then applies path (which must exist unless
 * optional is true).  Errors are printed as "FILE:LINE: message" and give -1. */
int config_load(const char *path, bool optional, struct config *cfg);
/* The same parser over a buffer (for tests and fuzzing); name is used in messages.
 * cfg is set to the defaults first.  On error, err receives "NAME:LINE: message"
 * and cfg holds what was parsed before the bad line.  Either way the caller
 * owns cfg and calls config_free(). */
int config_parse_buffer(const char *name, const char *buf, size_t len, struct config *cfg,
			char *err, size_t errlen);
void config_defaults(struct config *cfg);
/* config_load from the texts another process's config_load read
 * (cfg->source_names/source_texts), in that order; the defaults first.
 * Errors as config_load's. */
int config_load_texts(const struct strlist *names, const struct bloblist *texts, struct config *cfg);
/* Applies [user] and XDG defaults for --user (stores under the user's home):
 * pem_dir, archive_dir, state_dir default to $XDG_DATA_HOME/adenroll/... (or
 * ~/.local/share/adenroll), nss_db to sql:$HOME/.pki/nssdb, lock_file to
 * $XDG_RUNTIME_DIR/adenroll.lock; anchors_dir and metrics_file are cleared
 * (system-wide files are root's).  -1 with a message when there is no home. */
int config_apply_user_mode(struct config *cfg);
void config_free(struct config *cfg);
/* The distribution's directory for local trust anchors: RHEL's
 * /etc/pki/ca-trust/source/anchors, else Debian's
 * /usr/local/share/ca-certificates/adenroll; NULL when neither store exists.
 * root prefixes the probes (tests); NULL = "/". */
const char *config_system_anchors_dir(const char *root);
/* The owner, group and mode for file `which` of template_cn: its
 * [template] section, else [store], else the built-in (caller's owner and
 * group; 0644 certificate and chain, 0600 key).  Strings point into cfg. */
struct file_perms config_file_perms(const struct config *cfg, const char *template_cn,
				    enum store_file which);

#endif
