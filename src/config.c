/* adenroll.conf(5): an INI file of `key = value` lines in sections.  Every
 * key is declared once in the table below (section, name, type, field), so
 * the parser, the "known keys" hints and the man page stay in step. */
#include "adenroll-build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "trust_policy.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

/* A config file is a few hundred bytes; anything near these limits is not one. */
#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_FILE (1024 * 1024)

enum key_type {
	K_WORD,      /* one token without blanks: realm, host names, principals */
	K_PATH,      /* absolute path */
	K_NSSDB,     /* [sql:|dbm:]absolute path */
	K_USER_PATH, /* absolute, or ~/...; %u and %% expanded in user mode */
	K_USER_NSSDB,
	K_LIST,      /* items separated by blanks and/or commas */
	K_BOOL,
	K_UINT,
	K_LONG,
	K_TYPES,     /* store types: pem, nss */
	K_LEVEL,     /* log level */
	K_JOURNAL,   /* auto, yes, no */
	K_SHA256_LIST, /* K_LIST of SHA-256 fingerprints, kept as 64 lowercase hex digits */
	K_POLICY_SOURCE, /* gpo, local */
	K_TRANSPORT,     /* auto, certsrv, ces */
	K_OWNER,     /* user or group name, or a number (file ownership) */
	K_MODE,      /* octal file mode (file ownership) */
};

struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	long min, max; /* K_UINT, K_LONG */
};

#define F(field) offsetof(struct config, field)
static const struct key_def keys[] = {
	{ "general", "hooks_dir", K_PATH, F(hooks_dir), 0, 0 },
	{ "general", "metrics_file", K_PATH, F(metrics_file), 0, 0 },
	{ "general", "lock_file", K_PATH, F(lock_file), 0, 0 },
	{ "general", "log_level", K_LEVEL, F(log_level), 0, 0 },
	{ "general", "journal", K_JOURNAL, F(journal), 0, 0 },
	{ "domain", "realm", K_WORD, F(realm), 0, 0 },
	{ "domain", "domain", K_WORD, F(domain), 0, 0 },
	{ "domain", "dcs", K_LIST, F(dcs), 0, 0 },
	{ "domain", "site", K_WORD, F(site), 0, 0 },
	{ "machine", "keytab", K_PATH, F(keytab), 0, 0 },
	{ "machine", "principal", K_WORD, F(principal), 0, 0 },
	{ "machine", "host_fqdn", K_WORD, F(host_fqdn), 0, 0 },
	{ "enroll", "cas", K_LIST, F(cas), 0, 0 },
	{ "enroll", "min_rsa_bits", K_UINT, F(min_rsa_bits), 2048, 16384 },
	{ "enroll", "reuse_key", K_BOOL, F(reuse_key), 0, 0 },
	{ "enroll", "allow_v1_templates", K_BOOL, F(allow_v1_templates), 0, 0 },
	{ "enroll", "renew_expiring", K_BOOL, F(renew_expiring), 0, 0 },
	{ "enroll", "update_templates", K_BOOL, F(update_templates), 0, 0 },
	{ "enroll", "http_timeout", K_LONG, F(http_timeout), 1, 3600 },
	{ "enroll", "transport", K_TRANSPORT, F(transport), 0, 0 },
	{ "store", "types", K_TYPES, F(store_types), 0, 0 },
	{ "store", "pem_dir", K_PATH, F(pem_dir), 0, 0 },
	{ "store", "nss_db", K_NSSDB, F(nss_db), 0, 0 },
	{ "store", "archive_dir", K_PATH, F(archive_dir), 0, 0 },
	{ "store", "archive_retention_days", K_LONG, F(archive_retention_days), 0, 36500 },
	{ "store", "anchors_dir", K_PATH, F(anchors_dir), 0, 0 },
	{ "store", "update_system_trust", K_BOOL, F(update_system_trust), 0, 0 },
	{ "store", "state_dir", K_PATH, F(state_dir), 0, 0 },
	/* trust of directory roots, run and LDAP bounds */
	{ "store", "pinned_dcs", K_LIST, F(pinned_dcs), 0, 0 },
	{ "store", "root_fingerprints", K_SHA256_LIST, F(root_fingerprints), 0, 0 },
	{ "general", "run_timeout", K_LONG, F(run_timeout), 10, 86400 },
	{ "domain", "ldap_max_entries", K_LONG, F(ldap_max_entries), 10, 100000000 },
	{ "domain", "ldap_max_bytes", K_LONG, F(ldap_max_bytes), 4096, 2147483647 },
	/* File ownership: also valid in [template NAME] (see parse_template_key). */
	{ "store", "cert_owner", K_OWNER, F(perms.cert.owner), 0, 0 },
	{ "store", "cert_group", K_OWNER, F(perms.cert.group), 0, 0 },
	{ "store", "cert_mode", K_MODE, F(perms.cert.mode), 0, 0777 },
	{ "store", "key_owner", K_OWNER, F(perms.key.owner), 0, 0 },
	{ "store", "key_group", K_OWNER, F(perms.key.group), 0, 0 },
	{ "store", "key_mode", K_MODE, F(perms.key.mode), 0, 0770 },
	{ "store", "chain_owner", K_OWNER, F(perms.chain.owner), 0, 0 },
	{ "store", "chain_group", K_OWNER, F(perms.chain.group), 0, 0 },
	{ "store", "chain_mode", K_MODE, F(perms.chain.mode), 0, 0777 },
	{ "user", "types", K_TYPES, F(user.store_types), 0, 0 },
	{ "user", "pem_dir", K_USER_PATH, F(user.pem_dir), 0, 0 },
	{ "user", "nss_db", K_USER_NSSDB, F(user.nss_db), 0, 0 },
	{ "user", "archive_dir", K_USER_PATH, F(user.archive_dir), 0, 0 },
	{ "user", "state_dir", K_USER_PATH, F(user.state_dir), 0, 0 },
	/* [policy]: where the autoenrollment policy comes from, and the local
	 * switches that mirror the AEPolicy bits (aepolicy.h).  The [enroll]
	 * renew_expiring and update_templates above are older names of two of them. */
	{ "policy", "source", K_POLICY_SOURCE, F(policy_source), 0, 0 },
	{ "policy", "disabled", K_BOOL, F(ae_disabled), 0, 0 },
	{ "policy", "update_templates", K_BOOL, F(update_templates), 0, 0 },
	{ "policy", "renew_and_remove_revoked", K_BOOL, F(renew_expiring), 0, 0 },
	{ "policy", "retrieve_pending", K_BOOL, F(retrieve_pending), 0, 0 },
	{ "policy", "offline_expiration_percent", K_UINT, F(offline_expiration_percent), 0, 99 },
	/* the system trust update runs with a timeout (runner.h) */
	{ "store", "trust_update_timeout", K_LONG, F(trust_update_timeout), 1, 3600 },
};
#undef F
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = { "general", "domain", "machine", "enroll", "store", "user", "policy" };
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error", [LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

struct parser {
	const char *name;
	unsigned line;
	const char *section; /* NULL before the first [section] */
	unsigned seen[N_KEYS];
	char *err;
	size_t errlen;
	/* inside [template NAME]: which cfg->tmpl_perms entry, and its keys seen */
	size_t tmpl;
	unsigned tmpl_seen[N_KEYS];
	size_t tmpl_first;   /* entries before it came from an earlier file (drop-ins) */
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void *field(struct config *cfg, const struct key_def *k)
{
	return (char *)cfg + k->offset;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->keytab = xstrdup("/etc/krb5.keytab");
	cfg->min_rsa_bits = 2048;
	cfg->reuse_key = false;
	cfg->allow_v1_templates = false;
	cfg->renew_expiring = true;
	cfg->update_templates = true;
	cfg->http_timeout = 60;
	cfg->transport = CONFIG_TRANSPORT_AUTO;
	cfg->store_types = STORE_PEM;
	cfg->pem_dir = xstrdup(LOCALSTATEDIR "/lib/adenroll/certs");
	cfg->nss_db = xstrdup("sql:" LOCALSTATEDIR "/lib/adenroll/nssdb");
	cfg->archive_dir = xstrdup(LOCALSTATEDIR "/lib/adenroll/archive");
	cfg->archive_retention_days = 0;
	cfg->state_dir = xstrdup(LOCALSTATEDIR "/lib/adenroll");
	cfg->hooks_dir = xstrdup(SYSCONFDIR "/adenroll/hooks.d");
	cfg->lock_file = xstrdup("/run/adenroll/adenroll.lock");
	cfg->log_level = LOG_LVL_INFO;
	cfg->journal = CONFIG_JOURNAL_AUTO;
	cfg->run_timeout = 1800;
	cfg->ldap_max_entries = 50000;
	cfg->ldap_max_bytes = 128L * 1024 * 1024;
	cfg->policy_source = CONFIG_POLICY_GPO;
	cfg->ae_disabled = false;
	cfg->retrieve_pending = true;
	cfg->offline_expiration_percent = 10;
	cfg->trust_update_timeout = 120;
}

/* ---------------------------------------------------------------- file ownership */

static void store_perms_free(struct store_perms *p)
{
	free(p->cert.owner);
	free(p->cert.group);
	free(p->key.owner);
	free(p->key.group);
	free(p->chain.owner);
	free(p->chain.group);
}

static void config_free_perms(struct config *cfg)
{
	store_perms_free(&cfg->perms);
	for (size_t i = 0; i < cfg->n_tmpl_perms; i++) {
		free(cfg->tmpl_perms[i].template_cn);
		store_perms_free(&cfg->tmpl_perms[i].p);
	}
	free(cfg->tmpl_perms);
}

static const struct file_perms *perms_of(const struct store_perms *p, enum store_file which)
{
	return which == STORE_FILE_KEY ? &p->key : which == STORE_FILE_CHAIN ? &p->chain : &p->cert;
}

struct file_perms config_file_perms(const struct config *cfg, const char *template_cn,
				    enum store_file which)
{
	const struct file_perms *dflt = perms_of(&cfg->perms, which), *t = NULL;
	struct file_perms out;

	for (size_t i = 0; template_cn && i < cfg->n_tmpl_perms; i++)
		if (str_eq_ci(cfg->tmpl_perms[i].template_cn, template_cn))
			t = perms_of(&cfg->tmpl_perms[i].p, which);
	out.owner = t && t->owner ? t->owner : dflt->owner;
	out.group = t && t->group ? t->group : dflt->group;
	out.mode = t && t->mode ? t->mode : dflt->mode;
	if (!out.mode)
		out.mode = which == STORE_FILE_KEY ? 0600 : 0644;
	return out;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->realm);
	free(cfg->domain);
	strlist_free(&cfg->dcs);
	free(cfg->site);
	free(cfg->keytab);
	free(cfg->principal);
	free(cfg->host_fqdn);
	strlist_free(&cfg->cas);
	strlist_free(&cfg->pinned_dcs);
	strlist_free(&cfg->root_fingerprints);
	free(cfg->pem_dir);
	free(cfg->nss_db);
	free(cfg->archive_dir);
	free(cfg->anchors_dir);
	free(cfg->state_dir);
	free(cfg->hooks_dir);
	free(cfg->metrics_file);
	free(cfg->lock_file);
	free(cfg->user.pem_dir);
	free(cfg->user.nss_db);
	free(cfg->user.archive_dir);
	free(cfg->user.state_dir);
	config_free_perms(cfg);
	strlist_free(&cfg->source_names);
	bloblist_free(&cfg->source_texts);
	memset(cfg, 0, sizeof(*cfg));
}

static void keep_source(struct config *cfg, const char *name, const char *text, size_t len)
{
	strlist_add(&cfg->source_names, name);
	bloblist_add(&cfg->source_texts, text, len);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks in place; returns the start. */
static char *trim(char *s)
{
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static const char *known_keys(const char *section, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_KEYS; i++) {
		int n;

		if (strcmp(keys[i].section, section) != 0)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

static int set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
	return 0;
}

static int parse_word(struct parser *p, const struct key_def *k, const char *v, char **dst)
{
	for (const char *c = v; *c; c++)
		if (is_blank(*c))
			return fail(p, "'%s' takes a single value without blanks, got '%s'", k->name, v);
	return set_string(dst, v);
}

static int parse_path(struct parser *p, const struct key_def *k, const char *v, char **dst)
{
	/* anchors_dir = system: the distribution's anchor directory, found at
	 * load time (config_system_anchors_dir). */
	if (strcmp(k->name, "anchors_dir") == 0 && strcmp(v, "system") == 0)
		return set_string(dst, v);
	if (v[0] != '/')
		return fail(p, "'%s' must be an absolute path (starting with /), got '%s'", k->name, v);
	return set_string(dst, v);
}

/* NSS database names: "sql:/dir" (the default format since NSS 3.35), "dbm:/dir" or "/dir". */
static const char *nss_strip_prefix(const char *v)
{
	if (strncmp(v, "sql:", 4) == 0 || strncmp(v, "dbm:", 4) == 0)
		return v + 4;
	return v;
}

static int parse_nssdb(struct parser *p, const struct key_def *k, const char *v, char **dst)
{
	if (nss_strip_prefix(v)[0] != '/')
		return fail(p, "'%s' must be an NSS database directory such as sql:/etc/pki/nssdb, got '%s'",
			    k->name, v);
	return set_string(dst, v);
}

/* [user] paths are expanded per user: ~ at the start, %u (user name), %%. */
static int check_user_path(struct parser *p, const struct key_def *k, const char *v, const char *path)
{
	if (!(path[0] == '/' || (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))))
		return fail(p, "'%s' in [user] must be an absolute path or start with ~/, got '%s'", k->name, v);
	for (const char *c = path; *c; c++) {
		if (*c != '%')
			continue;
		if (c[1] != 'u' && c[1] != '%')
			return fail(p, "'%s': unknown expansion '%%%c' in '%s'; only %%u (user name) and %%%% are known",
				    k->name, c[1] ? c[1] : ' ', v);
		c++;
	}
	return 0;
}

static int parse_bool(struct parser *p, const struct key_def *k, const char *v, bool *dst)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (str_eq_ci(v, yes[i])) {
			*dst = true;
			return 0;
		}
		if (str_eq_ci(v, no[i])) {
			*dst = false;
			return 0;
		}
	}
	return fail(p, "'%s' must be yes or no (also true/false, on/off, 1/0), got '%s'", k->name, v);
}

static int parse_number(struct parser *p, const struct key_def *k, const char *v, long *out)
{
	long n = 0;
	const char *c = v;

	if (!*c)
		goto bad;
	for (; *c; c++) {
		if (*c < '0' || *c > '9')
			goto bad;
		n = n * 10 + (*c - '0');
		if (n > k->max)
			goto bad;
	}
	if (n < k->min)
		goto bad;
	*out = n;
	return 0;
bad:
	return fail(p, "'%s' must be a whole number from %ld to %ld, got '%s'", k->name, k->min, k->max, v);
}

/* Splits on blanks and commas, skipping empty items. */
static void split_list(const char *v, struct strlist *out)
{
	const char *c = v;

	while (*c) {
		size_t n;
		char *item;

		while (*c == ',' || is_blank(*c))
			c++;
		n = strcspn(c, ", \t");
		if (n == 0)
			break;
		item = xstrndup(c, n);
		strlist_add(out, item);
		free(item);
		c += n;
	}
}

static int parse_types(struct parser *p, const struct key_def *k, const char *v, unsigned *dst)
{
	struct strlist items = { 0 };
	unsigned types = 0;
	int ret = -1;

	split_list(v, &items);
	for (size_t i = 0; i < items.n; i++) {
		if (str_eq_ci(items.v[i], "pem")) {
			types |= STORE_PEM;
		} else if (str_eq_ci(items.v[i], "nss")) {
#ifdef HAVE_NSS
			types |= STORE_NSS;
#else
			fail(p, "store type 'nss' is not available: this adenroll was built without NSS "
				"support; use 'types = pem' or a build configured --with-nss");
			goto out;
#endif
		} else {
			fail(p, "unknown store type '%s' in '%s'; known types: pem, nss", items.v[i], k->name);
			goto out;
		}
	}
	if (!types) {
		fail(p, "'%s' needs at least one store type: pem, nss", k->name);
		goto out;
	}
	*dst = types;
	ret = 0;
out:
	strlist_free(&items);
	return ret;
}

/* SHA-256 fingerprints as openssl and certutil print them (AB:CD:...) or
 * plain hex, normalised so trust_policy.c compares strings. */
static int parse_fingerprints(struct parser *p, const struct key_def *k, const char *v, struct strlist *dst)
{
	struct strlist items = { NULL, 0 };
	int ret = -1;

	split_list(v, &items);
	strlist_free(dst);
	for (size_t i = 0; i < items.n; i++) {
		char fp[65];

		if (trust_policy_parse_fingerprint(items.v[i], fp) != 0) {
			fail(p, "'%s': '%s' is not a SHA-256 fingerprint (64 hex digits, colons allowed: "
				"openssl x509 -noout -fingerprint -sha256 -in root.crt)", k->name, items.v[i]);
			strlist_free(dst);
			goto out;
		}
		strlist_add(dst, fp);
	}
	ret = 0;
out:
	strlist_free(&items);
	return ret;
}

/* A user or group: a name as useradd(8) allows it, or a number. */
static int parse_owner(struct parser *p, const struct key_def *k, const char *v, char **dst)
{
	for (const char *c = v; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '-' || *c == '.' || (*c == '$' && c[1] == '\0')))
			return fail(p, "'%s' must be a user or group name or a number, got '%s'", k->name, v);
	if (v[0] == '-')
		return fail(p, "'%s' must be a user or group name or a number, got '%s'", k->name, v);
	return set_string(dst, v);
}

static int parse_mode(struct parser *p, const struct key_def *k, const char *v, unsigned *dst)
{
	unsigned m = 0;
	size_t n = strlen(v);

	if (n < 3 || n > 4)
		goto bad;
	for (const char *c = v; *c; c++) {
		if (*c < '0' || *c > '7')
			goto bad;
		m = m * 8 + (unsigned)(*c - '0');
	}
	if (m > 0777)
		goto bad;
	/* A key others can read is no longer a secret. */
	if ((m & ~(unsigned)k->max) != 0)
		return fail(p, "'%s' = %s would let every user read the private key; use 0600, or "
			       "0640 with key_group", k->name, v);
	if ((m & 0400) == 0)
		return fail(p, "'%s' = %s leaves the file unreadable for its owner; give the owner read (4xx)",
			    k->name, v);
	*dst = m;
	return 0;
bad:
	return fail(p, "'%s' must be an octal file mode such as 0644 (no setuid, setgid or sticky "
		       "bits), got '%s'", k->name, v);
}

/* "[template NAME]": NAME is a template cn (quotes optional). */
static int parse_template_section(struct parser *p, struct config *cfg, char *name)
{
	size_t n;

	name = trim(name);
	n = strlen(name);
	if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
		name[n - 1] = '\0';
		name++;
	}
	if (!*name)
		return fail(p, "[template] needs the template name: [template WebServer]");
	for (size_t i = 0; i < cfg->n_tmpl_perms; i++) {
		if (!str_eq_ci(cfg->tmpl_perms[i].template_cn, name))
			continue;
		if (i >= p->tmpl_first)
			return fail(p, "[template %s] appears twice; merge the two sections", name);
		/* A drop-in adds to or overrides a section of an earlier file. */
		p->tmpl = i;
		memset(p->tmpl_seen, 0, sizeof(p->tmpl_seen));
		p->section = "template";
		return 0;
	}
	cfg->tmpl_perms = xrealloc(cfg->tmpl_perms, (cfg->n_tmpl_perms + 1) * sizeof(*cfg->tmpl_perms));
	memset(&cfg->tmpl_perms[cfg->n_tmpl_perms], 0, sizeof(*cfg->tmpl_perms));
	cfg->tmpl_perms[cfg->n_tmpl_perms].template_cn = xstrdup(name);
	p->tmpl = cfg->n_tmpl_perms++;
	memset(p->tmpl_seen, 0, sizeof(p->tmpl_seen));
	p->section = "template";
	return 0;
}

static int parse_value(struct parser *p, struct config *cfg, const struct key_def *k, const char *v);

/* In [template NAME] only the ownership keys of [store] are known. */
static int parse_template_key(struct parser *p, struct config *cfg, const char *key, const char *value)
{
	struct template_perms *tp = &cfg->tmpl_perms[p->tmpl];
	char hint[256];
	size_t i, used = 0;

	hint[0] = '\0';
	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].type != K_OWNER && keys[i].type != K_MODE)
			continue;
		if (str_eq_ci(keys[i].name, key))
			break;
		used += (size_t)snprintf(hint + used, sizeof(hint) - used, "%s%s", used ? ", " : "",
					 keys[i].name);
		if (used >= sizeof(hint))
			used = sizeof(hint) - 1;
	}
	if (i == N_KEYS)
		return fail(p, "unknown key '%s' in [template %s]; known keys: %s", key, tp->template_cn, hint);
	if (p->tmpl_seen[i])
		return fail(p, "duplicate key '%s' in [template %s] (first set on line %u); keep only one",
			    keys[i].name, tp->template_cn, p->tmpl_seen[i]);
	p->tmpl_seen[i] = p->line;
	{
		/* The same key def, pointed at this template's copy of the fields. */
		struct key_def k = keys[i];

		k.offset = k.offset - offsetof(struct config, perms) +
			   (size_t)((char *)&tp->p - (char *)cfg);
		return parse_value(p, cfg, &k, value);
	}
}

static int parse_value(struct parser *p, struct config *cfg, const struct key_def *k, const char *v)
{
	void *f = field(cfg, k);
	long n;

	if (!*v && k->type != K_LIST && k->type != K_SHA256_LIST)
		return fail(p, "'%s' has an empty value; remove the line to get the default", k->name);
	switch (k->type) {
	case K_WORD:
		return parse_word(p, k, v, f);
	case K_PATH:
		return parse_path(p, k, v, f);
	case K_NSSDB:
		return parse_nssdb(p, k, v, f);
	case K_USER_PATH:
		if (check_user_path(p, k, v, v) < 0)
			return -1;
		return set_string(f, v);
	case K_USER_NSSDB:
		if (check_user_path(p, k, v, nss_strip_prefix(v)) < 0)
			return -1;
		return set_string(f, v);
	case K_LIST:
		strlist_free(f);
		split_list(v, f);
		return 0;
	case K_SHA256_LIST:
		return parse_fingerprints(p, k, v, f);
	case K_BOOL:
		return parse_bool(p, k, v, f);
	case K_UINT:
		if (parse_number(p, k, v, &n) < 0)
			return -1;
		*(unsigned *)f = (unsigned)n;
		return 0;
	case K_LONG:
		return parse_number(p, k, v, f);
	case K_TYPES:
		return parse_types(p, k, v, f);
	case K_OWNER:
		return parse_owner(p, k, v, f);
	case K_MODE:
		return parse_mode(p, k, v, f);
	case K_LEVEL:
		for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
			if (str_eq_ci(v, level_names[i])) {
				*(enum log_level *)f = (enum log_level)i;
				return 0;
			}
		}
		return fail(p, "'%s' must be one of error, warning, info, debug; got '%s'", k->name, v);
	case K_JOURNAL:
		if (str_eq_ci(v, "auto")) {
			*(enum config_journal *)f = CONFIG_JOURNAL_AUTO;
			return 0;
		}
		{
			bool b;

			if (parse_bool(p, k, v, &b) < 0)
				return fail(p, "'%s' must be auto, yes or no; got '%s'", k->name, v);
			*(enum config_journal *)f = b ? CONFIG_JOURNAL_YES : CONFIG_JOURNAL_NO;
		}
		return 0;
	case K_POLICY_SOURCE:
		if (str_eq_ci(v, "gpo"))
			*(enum config_policy_source *)f = CONFIG_POLICY_GPO;
		else if (str_eq_ci(v, "local"))
			*(enum config_policy_source *)f = CONFIG_POLICY_LOCAL;
		else
			return fail(p, "'%s' must be gpo or local; got '%s'", k->name, v);
		return 0;
	case K_TRANSPORT:
		if (str_eq_ci(v, "auto"))
			*(enum config_transport *)f = CONFIG_TRANSPORT_AUTO;
		else if (str_eq_ci(v, "certsrv"))
			*(enum config_transport *)f = CONFIG_TRANSPORT_CERTSRV;
		else if (str_eq_ci(v, "ces"))
			*(enum config_transport *)f = CONFIG_TRANSPORT_CES;
		else
			return fail(p, "'%s' must be auto, certsrv or ces; got '%s'", k->name, v);
		return 0;
	}
	return fail(p, "internal error: key '%s' has no parser", k->name);
}

static int parse_section(struct parser *p, struct config *cfg, char *line)
{
	size_t n = strlen(line);
	char *name;
	char list[128];
	size_t used = 0;

	if (line[n - 1] != ']')
		return fail(p, "a section header must be '[name]' alone on its line, got '%s'", line);
	line[n - 1] = '\0';
	name = trim(line + 1);
	if (strncasecmp(name, "template", 8) == 0 && (is_blank(name[8]) || name[8] == '\0'))
		return parse_template_section(p, cfg, name + 8);
	for (size_t i = 0; i < N_SECTIONS; i++) {
		if (str_eq_ci(name, sections[i])) {
			p->section = sections[i];
			return 0;
		}
	}
	list[0] = '\0';
	for (size_t i = 0; i < N_SECTIONS; i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s[%s]", i ? ", " : "", sections[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
	}
	return fail(p, "unknown section [%s]; known sections: %s, [template NAME]", name, list);
}

static int parse_assignment(struct parser *p, struct config *cfg, char *line)
{
	char *eq = strchr(line, '=');
	char *key, *value;
	char hint[512];
	size_t i;

	if (!eq)
		return fail(p, "expected 'key = value', '[section]' or a # comment, got '%s'", line);
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key)
		return fail(p, "missing key name before '='");
	if (!p->section)
		return fail(p, "key '%s' is outside any section; put it under one of [general], [domain], "
			       "[machine], [enroll], [store], [user]", key);
	if (strcmp(p->section, "template") == 0)
		return parse_template_key(p, cfg, key, value);
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, p->section) == 0 && str_eq_ci(keys[i].name, key))
			break;
	if (i == N_KEYS)
		return fail(p, "unknown key '%s' in [%s]; known keys: %s", key, p->section,
			    known_keys(p->section, hint, sizeof(hint)));
	if (p->seen[i])
		return fail(p, "duplicate key '%s' in [%s] (first set on line %u); keep only one",
			    keys[i].name, p->section, p->seen[i]);
	p->seen[i] = p->line;
	return parse_value(p, cfg, &keys[i], value);
}

static int parse_line(struct parser *p, struct config *cfg, const char *raw, size_t len)
{
	char line[CONFIG_MAX_LINE + 1];
	char *s;

	if (len > 0 && raw[len - 1] == '\r')
		len--;
	if (len > CONFIG_MAX_LINE)
		return fail(p, "line is longer than %d bytes", CONFIG_MAX_LINE);
	if (memchr(raw, '\0', len))
		return fail(p, "NUL byte in line; is this a text file?");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, "control character 0x%02x at column %zu", c, i + 1);
	}
	memcpy(line, raw, len);
	line[len] = '\0';
	s = trim(line);
	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return parse_section(p, cfg, s);
	return parse_assignment(p, cfg, s);
}

/* Applies one file's text on top of cfg (config_parse_buffer starts from
 * the defaults; drop-ins start from what the files before them set). */
static int parse_into(const char *name, const char *buf, size_t len, struct config *cfg, char *err,
		      size_t errlen)
{
	struct parser p = { .name = name ? name : "(config)", .err = err, .errlen = errlen,
			    .tmpl_first = cfg->n_tmpl_perms };
	size_t pos = 0;

	if (err && errlen)
		err[0] = '\0';
	/* Editors on Windows start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		p.line++;
		if (parse_line(&p, cfg, start, n) < 0)
			return -1;
		pos += n + (nl ? 1 : 0);
	}
	return 0;
}

int config_parse_buffer(const char *name, const char *buf, size_t len, struct config *cfg,
			char *err, size_t errlen)
{
	config_defaults(cfg);
	if (parse_into(name, buf, len, cfg, err, errlen) < 0)
		return -1;
	keep_source(cfg, name ? name : "(config)", buf, len);
	return 0;
}

/* ---------------------------------------------------------------- drop-ins */

static int read_config_file(const char *path, bool optional, char **out, size_t *outlen, bool *missing);

/* ---------------------------------------------------------------- anchors_dir = system */

const char *config_system_anchors_dir(const char *root)
{
	/* RHEL/Fedora (update-ca-trust) read source/anchors/ itself; Debian and
	 * Ubuntu (update-ca-certificates) take *.crt below
	 * /usr/local/share/ca-certificates/, where a subdirectory of our own
	 * keeps adenroll's files apart. */
	char buf[512];
	struct stat st;

	snprintf(buf, sizeof(buf), "%s/etc/pki/ca-trust/source/anchors", root ? root : "");
	if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		return "/etc/pki/ca-trust/source/anchors";
	snprintf(buf, sizeof(buf), "%s/usr/local/share/ca-certificates", root ? root : "");
	if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		return "/usr/local/share/ca-certificates/adenroll";
	return NULL;
}

static int resolve_system_anchors(struct config *cfg)
{
	const char *dir;

	if (!cfg->anchors_dir || strcmp(cfg->anchors_dir, "system") != 0)
		return 0;
	dir = config_system_anchors_dir(NULL);
	if (!dir) {
		log_error("anchors_dir = system: this host has no known system trust store "
			  "(/etc/pki/ca-trust/source/anchors or /usr/local/share/ca-certificates); "
			  "install ca-certificates, or set anchors_dir to a directory");
		return -1;
	}
	free(cfg->anchors_dir);
	cfg->anchors_dir = xstrdup(dir);
	return 0;
}

static int dropin_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".conf") == 0;
}

static int dropin_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* <path>.d/\*.conf in byte order of their names, each on top of the
 * configuration so far: a later file's value wins, within a file a key is
 * set once.  A missing directory is no error. */
static int load_dropins(const char *path, struct config *cfg)
{
	char *dir = xasprintf("%s.d", path);
	struct dirent **names = NULL;
	char err[1024];
	int n, ret = 0;

	n = scandir(dir, &names, dropin_filter, dropin_order);
	if (n < 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			log_error("cannot read the drop-in directory %s: %s", dir, strerror(errno));
			ret = -1;
		}
		free(dir);
		return ret;
	}
	for (int i = 0; i < n; i++) {
		char *file = xasprintf("%s/%s", dir, names[i]->d_name);
		char *buf = NULL;
		size_t len = 0;
		bool missing;

		if (ret == 0 && read_config_file(file, true, &buf, &len, &missing) < 0) {
			ret = -1;
		} else if (ret == 0 && !missing && parse_into(file, buf, len, cfg, err, sizeof(err)) < 0) {
			log_error("%s", err);
			ret = -1;
		} else if (ret == 0 && !missing) {
			keep_source(cfg, file, buf, len);
			log_debug("read drop-in %s", file);
		}
		free(buf);
		free(file);
		free(names[i]);
	}
	free(names);
	free(dir);
	return ret;
}

static int read_config_file(const char *path, bool optional, char **out, size_t *outlen, bool *missing)
{
	struct stat st;
	char *buf = NULL;
	size_t used = 0;
	int fd, ret = -1;

	*missing = false;
	/* O_NONBLOCK: a FIFO given as --config must not hang the run; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && optional) {
			*missing = true;
			return 0;
		}
		log_error("cannot read configuration %s: %s%s", path, strerror(errno),
			  errno == ENOENT ? "; check the --config path" :
			  errno == EACCES ? "; run as root or make it readable" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("configuration %s is not a regular file", path);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_FILE) {
		log_error("configuration %s is larger than %d bytes; is it the right file?", path, CONFIG_MAX_FILE);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t r = read(fd, buf + used, (size_t)st.st_size + 1 - used);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("cannot read configuration %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used > (size_t)st.st_size) {
			log_error("configuration %s changed while being read; try again", path);
			goto out;
		}
	}
	*out = buf;
	*outlen = used;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int config_load(const char *path, bool optional, struct config *cfg)
{
	char err[1024];
	char *buf = NULL;
	size_t len = 0;
	bool missing;

	config_defaults(cfg);
	if (!path)
		return 0;
	if (read_config_file(path, optional, &buf, &len, &missing) < 0)
		return -1;
	if (missing) {
		log_debug("no configuration file %s: using the defaults", path);
		if (load_dropins(path, cfg) < 0)
			return -1;
		return resolve_system_anchors(cfg);
	}
	config_free(cfg);
	if (config_parse_buffer(path, buf, len, cfg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		free(buf);
		return -1;
	}
	free(buf);
	cfg->path = xstrdup(path);
	if (load_dropins(path, cfg) < 0)
		return -1;
	return resolve_system_anchors(cfg);
}

int config_load_texts(const struct strlist *names, const struct bloblist *texts, struct config *cfg)
{
	char err[1024];

	config_defaults(cfg);
	for (size_t i = 0; i < names->n && i < texts->n; i++) {
		const char *text = (const char *)texts->v[i].data;

		if (parse_into(names->v[i], text, texts->v[i].len, cfg, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return -1;
		}
		keep_source(cfg, names->v[i], text, texts->v[i].len);
	}
	return resolve_system_anchors(cfg);
}

/* ---------------------------------------------------------------- user mode */

static char *expand_user_path(const char *tmpl, const char *home, const char *user)
{
	size_t cap = strlen(tmpl) + strlen(home) + 1;
	size_t used = 0;
	char *out;

	for (const char *c = tmpl; *c; c++)
		if (c[0] == '%' && c[1] == 'u')
			cap += strlen(user);
	out = xmalloc(cap);
	if (tmpl[0] == '~') {
		used = strlen(home);
		memcpy(out, home, used);
		tmpl++;
	}
	for (const char *c = tmpl; *c; c++) {
		if (c[0] == '%' && c[1] == 'u') {
			memcpy(out + used, user, strlen(user));
			used += strlen(user);
			c++;
		} else if (c[0] == '%' && c[1] == '%') {
			out[used++] = '%';
			c++;
		} else {
			out[used++] = *c;
		}
	}
	out[used] = '\0';
	return out;
}

static void replace(char **dst, char *value)
{
	free(*dst);
	*dst = value;
}

int config_apply_user_mode(struct config *cfg)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *home = getenv("HOME");
	const char *user = pw ? pw->pw_name : getenv("USER");
	const char *data = getenv("XDG_DATA_HOME");
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	char uidbuf[32];
	char *base;

	if (!home || home[0] != '/')
		home = pw ? pw->pw_dir : NULL;
	if (!home || home[0] != '/') {
		log_error("--user: cannot find your home directory (HOME is not set and uid %ld has no "
			  "passwd entry); set HOME", (long)getuid());
		return -1;
	}
	if (!user || !*user) {
		snprintf(uidbuf, sizeof(uidbuf), "%ld", (long)getuid());
		user = uidbuf;
	}
	/* XDG Base Directory: relative values are invalid and must be ignored. */
	if (data && data[0] == '/')
		base = xasprintf("%s/adenroll", data);
	else
		base = xasprintf("%s/.local/share/adenroll", home);

	replace(&cfg->pem_dir, cfg->user.pem_dir ? expand_user_path(cfg->user.pem_dir, home, user)
						 : xasprintf("%s/certs", base));
	replace(&cfg->archive_dir, cfg->user.archive_dir ? expand_user_path(cfg->user.archive_dir, home, user)
							 : xasprintf("%s/archive", base));
	replace(&cfg->state_dir, cfg->user.state_dir ? expand_user_path(cfg->user.state_dir, home, user)
						     : xstrdup(base));
	if (cfg->user.nss_db) {
		const char *path = nss_strip_prefix(cfg->user.nss_db);
		char *expanded = expand_user_path(path, home, user);

		replace(&cfg->nss_db, xasprintf("%.*s%s", (int)(path - cfg->user.nss_db), cfg->user.nss_db,
						expanded));
		free(expanded);
	} else {
		replace(&cfg->nss_db, xasprintf("sql:%s/.pki/nssdb", home));
	}
	cfg->store_types = cfg->user.store_types ? cfg->user.store_types : STORE_PEM;
	if (runtime && runtime[0] == '/')
		replace(&cfg->lock_file, xasprintf("%s/adenroll.lock", runtime));
	else
		replace(&cfg->lock_file, xasprintf("%s/run.lock", cfg->state_dir));
	replace(&cfg->anchors_dir, NULL);
	replace(&cfg->metrics_file, NULL);
	free(base);
	return 0;
}
