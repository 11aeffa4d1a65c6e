/* Group Policy -> the run's autoenrollment policy (see gpo_policy.h). */
#include "adenroll-build.h"

#include "gpo_policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "fsutil.h"
#include "json.h"
#include "krb.h"
#include "ldap_conn.h"
#include "log.h"
#include "preg.h"
#include "util.h"

#ifndef PKGLIBEXECDIR
#define PKGLIBEXECDIR "/usr/libexec/adenroll"
#endif

#define CACHE_MAGIC "adenroll-gpo-policy 1"
#define CACHE_MAX (1024 * 1024)
/* The client's site, as a DC's netlogon ping named it, is asked again after
 * this long (a machine moved to another site's subnet sees that site's
 * GPOs within it); in between the cached name saves the ping.  [policy]
 * site pins it and no ping is ever made. */
#define GPO_SITE_RECHECK (8 * 60 * 60)
/* the helper is killed after this long: a DC that accepts the connection
 * and then says nothing must not hold the run (or the run lock) forever */
#define FETCH_TIMEOUT_SECONDS 120

const char *gpo_fetch_helper_path(void)
{
	const char *p = getenv("ADENROLL_GPO_FETCH");

	return p && *p ? p : PKGLIBEXECDIR "/adenroll-gpo-fetch";
}

static const char *side_name(enum adenroll_mode mode)
{
	return mode == ADENROLL_MODE_USER ? "user" : "machine";
}

static char *gpo_dir(const struct config *cfg)
{
	return fs_path_join(cfg->state_dir, "gpo");
}

static char *pol_cache_path(const struct config *cfg, const char *guid, enum adenroll_mode mode, uint32_t v,
			    bool absent)
{
	char *d = gpo_dir(cfg);
	char *p = xasprintf("%s/%s.%s.%lu.%s", d, guid, side_name(mode), (unsigned long)v, absent ? "absent" : "pol");

	free(d);
	return p;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ------------------------------------------------------------ last good policy */

struct cached_policy {
	bool have;
	time_t read_at;
	bool ae_set;
	uint32_t aepolicy;
	struct ae_setter setter;
	bool pct_set;
	uint32_t pct;
	struct ae_setter pct_setter;
	char *default_nc, *config_nc, *site, *account_dn;
	time_t site_checked;      /* when the site was last asked of a DC (0: never) */
	char *linked_gpos;        /* GUIDs linked at the last read, space-separated */
	char *fingerprint;
	struct ae_policy_server *servers;
	size_t n_servers;
};

static void cached_free(struct cached_policy *c)
{
	free(c->default_nc);
	free(c->config_nc);
	free(c->site);
	free(c->account_dn);
	free(c->linked_gpos);
	free(c->fingerprint);
	for (size_t i = 0; i < c->n_servers; i++) {
		free(c->servers[i].id);
		free(c->servers[i].url);
		free(c->servers[i].friendly_name);
		free(c->servers[i].policy_id);
	}
	free(c->servers);
	memset(c, 0, sizeof(*c));
}

static char *policy_cache_path(const struct config *cfg, enum adenroll_mode mode)
{
	char *d = gpo_dir(cfg);
	char *p = xasprintf("%s/policy.%s", d, side_name(mode));

	free(d);
	return p;
}

/* values are written on one line; a newline in directory data would end it */
static void put(char **s, const char *key, const char *val)
{
	char *clean = xstrdup(val ? val : "");
	char *n;

	for (char *p = clean; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	n = xasprintf("%s%s\t%s\n", *s, key, clean);
	free(*s);
	free(clean);
	*s = n;
}

static void put_setter(char **s, const char *prefix, const struct ae_setter *st)
{
	char k[32];

	snprintf(k, sizeof(k), "%s_guid", prefix);
	put(s, k, st->guid);
	snprintf(k, sizeof(k), "%s_name", prefix);
	put(s, k, st->name);
	snprintf(k, sizeof(k), "%s_som", prefix);
	put(s, k, st->som);
	snprintf(k, sizeof(k), "%s_enforced", prefix);
	put(s, k, st->enforced ? "1" : "0");
}

static int cache_save(const struct config *cfg, enum adenroll_mode mode, const struct cached_policy *c)
{
	char *s = xstrdup(CACHE_MAGIC "\n"), buf[64], *path = policy_cache_path(cfg, mode), *dir = gpo_dir(cfg);
	int ret;

	snprintf(buf, sizeof(buf), "%lld", (long long)c->read_at);
	put(&s, "read_at", buf);
	snprintf(buf, sizeof(buf), "%lu", (unsigned long)c->aepolicy);
	put(&s, "aepolicy", c->ae_set ? buf : "none");
	put_setter(&s, "ae", &c->setter);
	snprintf(buf, sizeof(buf), "%lu", (unsigned long)c->pct);
	put(&s, "offline_pct", c->pct_set ? buf : "none");
	put_setter(&s, "pct", &c->pct_setter);
	put(&s, "default_nc", c->default_nc);
	put(&s, "config_nc", c->config_nc);
	put(&s, "site", c->site);
	snprintf(buf, sizeof(buf), "%lld", (long long)c->site_checked);
	put(&s, "site_checked", buf);
	put(&s, "linked_gpos", c->linked_gpos);
	put(&s, "account_dn", c->account_dn);
	for (size_t i = 0; i < c->n_servers; i++) {
		const struct ae_policy_server *v = &c->servers[i];
		char *line = xasprintf("%s|%s|%s|%s|%lu|%lu|%lu", v->id, v->url ? v->url : "",
				       v->friendly_name ? v->friendly_name : "", v->policy_id ? v->policy_id : "",
				       (unsigned long)v->flags, (unsigned long)v->auth_flags, (unsigned long)v->cost);
		put(&s, "policy_server", line);
		free(line);
	}
	/* the fingerprint is the last thing in the file, one line per entry */
	{
		char *n = xasprintf("%sfingerprint\n%s", s, c->fingerprint ? c->fingerprint : "");
		free(s);
		s = n;
	}
	ret = fs_mkdir_p(dir, 0700) == 0 ? fs_write_atomic(path, s, strlen(s), 0600, (uid_t)-1) : -1;
	free(s);
	free(path);
	free(dir);
	return ret;
}

static void take_setter(struct ae_setter *st, const char *k, const char *v)
{
	if (strcmp(k, "guid") == 0)
		snprintf(st->guid, sizeof(st->guid), "%s", v);
	else if (strcmp(k, "name") == 0)
		snprintf(st->name, sizeof(st->name), "%s", v);
	else if (strcmp(k, "som") == 0)
		snprintf(st->som, sizeof(st->som), "%s", v);
	else if (strcmp(k, "enforced") == 0)
		st->enforced = strcmp(v, "1") == 0;
}

static void take_server(struct cached_policy *c, const char *v)
{
	char *copy = xstrdup(v), *f[7];
	size_t n = 0;
	char *p = copy;
	struct ae_policy_server s;

	while (n < 7) {
		f[n++] = p;
		p = strchr(p, '|');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n == 7) {
		memset(&s, 0, sizeof(s));
		s.id = xstrdup(f[0]);
		s.url = xstrdup(f[1]);
		s.friendly_name = xstrdup(f[2]);
		s.policy_id = xstrdup(f[3]);
		s.flags = (uint32_t)strtoul(f[4], NULL, 10);
		s.auth_flags = (uint32_t)strtoul(f[5], NULL, 10);
		s.cost = (uint32_t)strtoul(f[6], NULL, 10);
		c->servers = xrealloc(c->servers, (c->n_servers + 1) * sizeof(*c->servers));
		c->servers[c->n_servers++] = s;
	}
	free(copy);
}

static int cache_load(const struct config *cfg, enum adenroll_mode mode, struct cached_policy *c)
{
	char *path = policy_cache_path(cfg, mode);
	unsigned char *buf = NULL;
	size_t len = 0;
	char *line, *save = NULL, *fp;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	if (fs_read_file(path, CACHE_MAX, &buf, &len) != 0)
		goto out;
	if (strncmp((char *)buf, CACHE_MAGIC "\n", strlen(CACHE_MAGIC) + 1) != 0) {
		log_warn("%s is not a policy cache this version writes; ignored", path);
		goto out;
	}
	fp = strstr((char *)buf, "\nfingerprint\n");
	if (!fp) {
		log_warn("%s is incomplete; ignored", path);
		goto out;
	}
	c->fingerprint = xstrdup(fp + strlen("\nfingerprint\n"));
	fp[1] = '\0';
	for (line = strtok_r((char *)buf + strlen(CACHE_MAGIC) + 1, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '\t');

		if (!v)
			continue;
		*v++ = '\0';
		if (strcmp(line, "read_at") == 0)
			c->read_at = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(line, "aepolicy") == 0) {
			c->ae_set = strcmp(v, "none") != 0;
			c->aepolicy = (uint32_t)strtoul(v, NULL, 10);
		} else if (strcmp(line, "offline_pct") == 0) {
			c->pct_set = strcmp(v, "none") != 0;
			c->pct = (uint32_t)strtoul(v, NULL, 10);
		} else if (strncmp(line, "ae_", 3) == 0)
			take_setter(&c->setter, line + 3, v);
		else if (strncmp(line, "pct_", 4) == 0)
			take_setter(&c->pct_setter, line + 4, v);
		else if (strcmp(line, "default_nc") == 0)
			c->default_nc = xstrdup(v);
		else if (strcmp(line, "config_nc") == 0)
			c->config_nc = xstrdup(v);
		else if (strcmp(line, "site") == 0)
			c->site = xstrdup(v);
		else if (strcmp(line, "site_checked") == 0)
			c->site_checked = (time_t)strtoll(v, NULL, 10);
		else if (strcmp(line, "linked_gpos") == 0)
			c->linked_gpos = xstrdup(v);
		else if (strcmp(line, "account_dn") == 0)
			c->account_dn = xstrdup(v);
		else if (strcmp(line, "policy_server") == 0)
			take_server(c, v);
	}
	c->have = true;
	ret = 0;
out:
	if (ret != 0)
		cached_free(c);
	free(buf);
	free(path);
	return ret;
}

/* The cached values over the local switches in p (what a GPO did not set stays local). */
static void take_cached(struct ae_policy *p, const struct cached_policy *c)
{
	p->cached_at = c->read_at;
	if (c->ae_set) {
		p->aepolicy = c->aepolicy;
		p->setter = c->setter;
	}
	if (c->pct_set) {
		p->offline_pct = c->pct;
		p->offline_pct_from_gpo = true;
		p->offline_setter = c->pct_setter;
	}
}

/* Policy from the cache when SYSVOL (or the GPO objects) could not be read. */
static void use_cache(const struct config *cfg, enum adenroll_mode mode, struct ae_policy *p, const char *why)
{
	struct cached_policy c;

	ae_policy_local(p, cfg);
	p->degraded = true;
	snprintf(p->degraded_reason, sizeof(p->degraded_reason), "%s", why);
	if (cache_load(cfg, mode, &c) != 0) {
		p->origin = AE_FROM_NOTHING;
		log_warn("Group Policy could not be read (%s) and no earlier policy is cached: nothing is enrolled, "
			 "renewed or collected in this run", why);
		return;
	}
	p->origin = AE_FROM_CACHE;
	take_cached(p, &c);
	p->servers = c.servers;
	p->n_servers = c.n_servers;
	c.servers = NULL;
	c.n_servers = 0;
	{
		char origin[1200];
		ae_origin_text(p, origin, sizeof(origin));
		log_warn("Group Policy could not be read (%s): using the cached policy from %s", why, origin);
	}
	cached_free(&c);
}

/* ------------------------------------------------------------ the SYSVOL helper */

struct fetch_item {
	size_t applied_index;
	char *share_path;
	char *tmp_file;
};

static int run_helper(const struct config *cfg, struct discovery *disc, struct fetch_item *items, size_t n,
		      struct gpo_eval *ev)
{
	char *dir = gpo_dir(cfg), *tmpl = NULL, *ccache = NULL;
	const char *helper = gpo_fetch_helper_path();
	char **argv = NULL;
	int pipefd[2] = { -1, -1 }, ret = -1, status = 0;
	pid_t pid = -1;
	FILE *out = NULL;
	char line[1024];
	size_t answered = 0;

	if (access(helper, X_OK) != 0) {
		snprintf(ev->error, sizeof(ev->error), "the SYSVOL reader %s is not installed (%s)", helper,
			 strerror(errno));
		goto out;
	}
	if (fs_mkdir_p(dir, 0700) != 0) {
		snprintf(ev->error, sizeof(ev->error), "cannot create %s", dir);
		goto out;
	}
	tmpl = xasprintf("%s/fetch.XXXXXX", dir);
	if (!mkdtemp(tmpl)) {
		snprintf(ev->error, sizeof(ev->error), "cannot create a directory in %s: %s", dir, strerror(errno));
		free(tmpl);
		tmpl = NULL;
		goto out;
	}
	ccache = xasprintf("%s/ccache", tmpl);
	if (krb_session_export_file(disc->krb, ccache) != 0) {
		snprintf(ev->error, sizeof(ev->error), "cannot hand the Kerberos credentials to the SYSVOL reader");
		goto out;
	}
	argv = xcalloc(2 * n + 4, sizeof(*argv));
	argv[0] = (char *)helper;
	argv[1] = disc->dir.dc;
	argv[2] = disc->dir.account.sam_account_name;
	for (size_t i = 0; i < n; i++) {
		items[i].tmp_file = xasprintf("%s/%zu.pol", tmpl, i);
		argv[3 + 2 * i] = items[i].share_path;
		argv[4 + 2 * i] = items[i].tmp_file;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(ev->error, sizeof(ev->error), "pipe: %s", strerror(errno));
		goto out;
	}
	ev->smb_used = true;
	log_debug("reading %zu Registry.pol file(s) from SYSVOL on %s", n, disc->dir.dc);
	pid = fork();
	if (pid < 0) {
		snprintf(ev->error, sizeof(ev->error), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		char *env = xasprintf("FILE:%s", ccache);
		int devnull = open("/dev/null", O_RDWR);

		setenv("KRB5CCNAME", env, 1);
		/* set at adenroll's start (main.c) for libldap's GnuTLS;
		 * libsmbclient relies on the implicit initialisation */
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
		dup2(pipefd[1], STDOUT_FILENO);
		if (devnull >= 0 && log_get_level() < LOG_LVL_DEBUG)
			dup2(devnull, STDERR_FILENO);
		alarm(FETCH_TIMEOUT_SECONDS);
		execv(helper, argv);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	out = fdopen(pipefd[0], "r");
	pipefd[0] = -1;
	while (out && fgets(line, sizeof(line), out)) {
		char *nl = strchr(line, '\n'), *path, *rest;

		if (nl)
			*nl = '\0';
		path = strchr(line, ' ');
		if (!path)
			continue;
		*path++ = '\0';
		rest = strchr(path, ' ');
		if (rest)
			*rest++ = '\0';
		for (size_t i = 0; i < n; i++) {
			size_t a = items[i].applied_index;

			if (strcmp(items[i].share_path, path) != 0 || ev->files[a] != GPO_FILE_NONE)
				continue;
			answered++;
			if (strcmp(line, "ok") == 0)
				ev->files[a] = GPO_FILE_FETCHED;
			else if (strcmp(line, "absent") == 0)
				ev->files[a] = GPO_FILE_ABSENT;
			else {
				ev->files[a] = GPO_FILE_FAILED;
				ev->file_notes[a] = xstrdup(rest ? rest : "failed");
			}
			break;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 1) || answered < n) {
		snprintf(ev->error, sizeof(ev->error), "the SYSVOL reader %s %s %d", helper,
			 WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		for (size_t i = 0; i < n; i++)
			if (ev->files[items[i].applied_index] == GPO_FILE_NONE)
				ev->files[items[i].applied_index] = GPO_FILE_FAILED;
	}
	ret = 0;
out:
	if (out)
		fclose(out);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (ccache)
		unlink(ccache);
	free(ccache);
	free(argv);
	free(dir);
	if (ret != 0)
		for (size_t i = 0; i < n; i++)
			ev->files[items[i].applied_index] = GPO_FILE_FAILED;
	/* the temp directory is removed by the caller after moving the files */
	free(tmpl);
	return ret;
}

/* ------------------------------------------------------------ evaluation */

static void setter_from(struct ae_setter *s, const struct gpo_entry *e)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", e->gpo->name && *e->gpo->name ? e->gpo->name : e->gpo->guid);
	snprintf(s->guid, sizeof(s->guid), "%s", e->gpo->guid);
	snprintf(s->som, sizeof(s->som), "%s", e->som->dn ? e->som->dn : "?");
	s->enforced = e->enforced;
}

static void read_servers(const struct preg_view *v, struct ae_policy *p)
{
	char **ids = NULL;
	size_t n = preg_view_subkeys(v, AE_KEY_POLICY_SERVERS, &ids);

	for (size_t i = 0; i < n; i++) {
		char *key = xasprintf("%s\\%s", AE_KEY_POLICY_SERVERS, ids[i]);
		struct ae_policy_server s;
		uint32_t d;

		memset(&s, 0, sizeof(s));
		s.id = ids[i];
		s.url = preg_value_string(preg_view_get(v, key, "URL"));
		s.friendly_name = preg_value_string(preg_view_get(v, key, "FriendlyName"));
		s.policy_id = preg_value_string(preg_view_get(v, key, "PolicyID"));
		if (preg_view_get_dword(v, key, "Flags", &d, NULL) == 0)
			s.flags = d;
		if (preg_view_get_dword(v, key, "AuthFlags", &d, NULL) == 0)
			s.auth_flags = d;
		if (preg_view_get_dword(v, key, "Cost", &d, NULL) == 0)
			s.cost = d;
		p->servers = xrealloc(p->servers, (p->n_servers + 1) * sizeof(*p->servers));
		p->servers[p->n_servers++] = s;
		free(key);
	}
	free(ids);
}

static int load_pol(const char *path, struct preg_file *f, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int r;

	if (fs_read_file(path, PREG_MAX_FILE, &buf, &len) != 0) {
		snprintf(err, errlen, "cannot read %s", path);
		return -1;
	}
	r = preg_parse(buf, len, f, err, errlen);
	free(buf);
	return r;
}

/* The GUIDs of the cache's linked_gpos line. */
static void known_gpos(const struct cached_policy *c, struct strlist *out)
{
	char *copy, *tok, *save = NULL;

	if (!c->linked_gpos)
		return;
	copy = xstrdup(c->linked_gpos);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strlist_add(out, tok);
	free(copy);
}

static char *linked_line(const struct gpo_directory *d)
{
	struct strlist l = { 0 };
	char *s = xstrdup("");

	gpo_directory_linked(d, &l);
	for (size_t i = 0; i < l.n; i++) {
		char *n = xasprintf("%s%s%s", s, i ? " " : "", l.v[i]);
		free(s);
		s = n;
	}
	strlist_free(&l);
	return s;
}

int gpo_policy_evaluate(const struct config *cfg, struct discovery *disc, bool dry_run, struct ae_policy *p,
			struct gpo_eval *ev_out)
{
	struct cached_policy prev;
	struct strlist known = { 0 };
	const char *site = cfg->site;
	time_t now = time(NULL), site_checked = now;
	unsigned long ops_before;
	struct gpo_eval local_ev, *ev = ev_out ? ev_out : &local_ev;
	enum adenroll_mode mode = disc->mode;
	struct fetch_item *items = NULL;
	size_t n_items = 0;
	struct preg_view view = { 0 };
	char *tmpdir = NULL;
	int ret = 0;

	memset(ev, 0, sizeof(*ev));
	memset(&prev, 0, sizeof(prev));
	ae_policy_local(p, cfg);
	if (cfg->policy_source == CONFIG_POLICY_LOCAL)
		goto out;

	/* What the last read found (same domain): the GPOs it saw linked are
	 * read with the SOMs, and the site the DC named is asked again only
	 * after GPO_SITE_RECHECK (each ask is a netlogon ping). */
	if (cache_load(cfg, mode, &prev) == 0 && prev.default_nc && disc->dir.default_nc &&
	    strcasecmp(prev.default_nc, disc->dir.default_nc) == 0) {
		known_gpos(&prev, &known);
		if (!site && prev.site && prev.site_checked > 0 && prev.site_checked <= now &&
		    now - prev.site_checked < GPO_SITE_RECHECK) {
			site = prev.site;
			site_checked = prev.site_checked;
		}
	}
	ops_before = ldap_conn_op_count(disc->ldap);
	if (gpo_directory_read(disc->ldap, disc->dir.default_nc, disc->dir.config_nc,
			       disc->dir.account.sam_account_name, disc->dir.account.dn, site, true, &known,
			       &ev->dir) != 0) {
		snprintf(ev->error, sizeof(ev->error), "the Group Policy objects could not be read from %s",
			 disc->dir.dc);
		use_cache(cfg, mode, p, ev->error);
		ret = -1;
		goto out;
	}
	log_debug("Group Policy objects read with %lu LDAP operations (site %s)",
		  ldap_conn_op_count(disc->ldap) - ops_before,
		  site == cfg->site && site ? "configured" : site ? "cached" : "asked of the DC");
	gpo_resolve(ev->dir.soms, ev->dir.n_soms, ev->dir.gpos, ev->dir.n_gpos, mode, disc->dir.account.token,
		    disc->dir.account.n_token, &ev->res);
	ev->files = xcalloc(ev->res.n_applied + 1, sizeof(*ev->files));
	ev->file_notes = xcalloc(ev->res.n_applied + 1, sizeof(*ev->file_notes));

	/* which files are needed, and which of them are cached */
	items = xcalloc(ev->res.n_applied + 1, sizeof(*items));
	for (size_t i = 0; i < ev->res.n_applied; i++) {
		const struct gpo_object *g = ev->res.applied[i].gpo;
		uint32_t v = gpo_side_version(g->version, mode);
		char err[256], *pol, *absent, *share;

		if (v == 0)
			continue; /* no settings on this side: nothing to read (MS-GPOL 3.2.5.1.9) */
		pol = pol_cache_path(cfg, g->guid, mode, v, false);
		absent = pol_cache_path(cfg, g->guid, mode, v, true);
		if (exists(pol))
			ev->files[i] = GPO_FILE_CACHED;
		else if (exists(absent))
			ev->files[i] = GPO_FILE_ABSENT;
		free(pol);
		free(absent);
		if (ev->files[i] != GPO_FILE_NONE)
			continue;
		share = gpo_registry_pol_path(g->file_sys_path, mode, err, sizeof(err));
		if (!share) {
			ev->files[i] = GPO_FILE_FAILED;
			ev->file_notes[i] = xstrdup(err);
			continue;
		}
		items[n_items].applied_index = i;
		items[n_items++].share_path = share;
	}
	if (n_items > 0) {
		run_helper(cfg, disc, items, n_items, ev);
		/* move what arrived into the per-version cache */
		for (size_t k = 0; k < n_items; k++) {
			size_t i = items[k].applied_index;
			const struct gpo_object *g = ev->res.applied[i].gpo;
			uint32_t v = gpo_side_version(g->version, mode);

			if (ev->files[i] == GPO_FILE_FETCHED && items[k].tmp_file) {
				struct preg_file f;
				char err[256];

				if (load_pol(items[k].tmp_file, &f, err, sizeof(err)) != 0) {
					ev->files[i] = GPO_FILE_FAILED;
					ev->file_notes[i] = xasprintf("Registry.pol of %s does not parse: %s", g->guid, err);
				} else if (!dry_run) {
					char *dst = pol_cache_path(cfg, g->guid, mode, v, false);
					if (rename(items[k].tmp_file, dst) != 0)
						log_warn("cannot keep %s as %s: %s", items[k].tmp_file, dst, strerror(errno));
					free(dst);
				}
				preg_file_free(&f);
			} else if (ev->files[i] == GPO_FILE_ABSENT && !dry_run) {
				char *dst = pol_cache_path(cfg, g->guid, mode, v, true);
				fs_write_atomic(dst, "", 0, 0600, (uid_t)-1);
				free(dst);
			}
		}
		if (items[0].tmp_file) {
			char *slash = strrchr(items[0].tmp_file, '/');
			tmpdir = xstrndup(items[0].tmp_file, (size_t)(slash - items[0].tmp_file));
		}
	}

	ev->read_ok = true;
	for (size_t i = 0; i < ev->res.n_applied; i++)
		if (ev->files[i] == GPO_FILE_FAILED) {
			ev->read_ok = false;
			if (!ev->error[0] || ev->file_notes[i])
				snprintf(ev->error, sizeof(ev->error), "Registry.pol of GPO %s could not be read: %s",
					 ev->res.applied[i].gpo->guid, ev->file_notes[i] ? ev->file_notes[i] : "failed");
		}
	if (!ev->read_ok) {
		use_cache(cfg, mode, p, ev->error);
		goto out;
	}

	/* merge, lowest precedence first */
	for (size_t i = 0; i < ev->res.n_applied; i++) {
		const struct gpo_object *g = ev->res.applied[i].gpo;
		uint32_t v = gpo_side_version(g->version, mode);
		struct preg_file f;
		char err[256], *path = NULL;

		if (ev->files[i] != GPO_FILE_CACHED && ev->files[i] != GPO_FILE_FETCHED)
			continue;
		path = pol_cache_path(cfg, g->guid, mode, v, false);
		if (dry_run && ev->files[i] == GPO_FILE_FETCHED) {
			for (size_t k = 0; k < n_items; k++)
				if (items[k].applied_index == i) {
					free(path);
					path = xstrdup(items[k].tmp_file);
				}
		}
		if (load_pol(path, &f, err, sizeof(err)) != 0) {
			log_warn("cached %s: %s; it is read again next time", path, err);
			unlink(path);
			snprintf(ev->error, sizeof(ev->error), "Registry.pol of GPO %s: %s", g->guid, err);
			free(path);
			preg_view_free(&view);
			use_cache(cfg, mode, p, ev->error);
			ev->read_ok = false;
			goto out;
		}
		preg_view_apply(&view, &f, (int)i);
		preg_file_free(&f);
		free(path);
	}
	{
		uint32_t d;
		int src;
		struct cached_policy c;

		memset(&c, 0, sizeof(c));
		if (preg_view_get_dword(&view, AE_KEY, AE_VALUE_POLICY, &d, &src) == 0) {
			p->aepolicy = d;
			p->origin = AE_FROM_GPO;
			setter_from(&p->setter, &ev->res.applied[src]);
			c.ae_set = true;
			c.aepolicy = d;
			c.setter = p->setter;
		}
		if (preg_view_get_dword(&view, AE_KEY, AE_VALUE_OFFLINE_PCT, &d, &src) == 0 && d < 100) {
			p->offline_pct = d;
			p->offline_pct_from_gpo = true;
			setter_from(&p->offline_setter, &ev->res.applied[src]);
			c.pct_set = true;
			c.pct = d;
			c.pct_setter = p->offline_setter;
		}
		read_servers(&view, p);
		if (!dry_run) {
			c.read_at = time(NULL);
			c.default_nc = disc->dir.default_nc;
			c.config_nc = disc->dir.config_nc;
			c.site = ev->dir.site ? ev->dir.site : "";
			c.site_checked = site_checked;
			c.linked_gpos = linked_line(&ev->dir);
			c.account_dn = ev->dir.account_dn;
			c.fingerprint = gpo_directory_fingerprint(&ev->dir);
			c.servers = p->servers;
			c.n_servers = p->n_servers;
			if (cache_save(cfg, mode, &c) != 0)
				log_warn("the policy could not be cached in %s; if SYSVOL is unreachable later, nothing "
					 "will be done", cfg->state_dir);
			free(c.fingerprint);
			free(c.linked_gpos);
		}
	}
out:
	cached_free(&prev);
	strlist_free(&known);
	preg_view_free(&view);
	for (size_t k = 0; k < n_items; k++) {
		if (items[k].tmp_file)
			unlink(items[k].tmp_file);
		free(items[k].tmp_file);
		free(items[k].share_path);
	}
	free(items);
	if (tmpdir) {
		rmdir(tmpdir);
		free(tmpdir);
	}
	if (!ev_out)
		gpo_eval_free(ev);
	return ret;
}

void gpo_eval_free(struct gpo_eval *ev)
{
	if (!ev)
		return;
	for (size_t i = 0; ev->file_notes && i < ev->res.n_applied; i++)
		free(ev->file_notes[i]);
	free(ev->file_notes);
	free(ev->files);
	gpo_result_free(&ev->res);
	gpo_directory_free(&ev->dir);
	memset(ev, 0, sizeof(*ev));
}

/* ------------------------------------------------------------ change check */

int gpo_policy_check(const struct config *cfg, enum adenroll_mode mode, bool *changed, char *why, size_t whylen)
{
	struct krb_session *krb = NULL;
	struct ldap_conn *conn = NULL;
	struct cached_policy c;
	struct gpo_directory d;
	struct strlist known = { 0 };
	char *domain = NULL, *fp = NULL;
	char *dnc = NULL, *cnc = NULL;
	int ret = -1;

	*changed = true;
	snprintf(why, whylen, "no policy cached yet");
	memset(&d, 0, sizeof(d));
	if (cache_load(cfg, mode, &c) != 0 || !c.fingerprint || !c.account_dn || !c.default_nc) {
		/* nothing to compare with: the pulse that follows makes the cache */
		memset(&c, 0, sizeof(c));
		ret = 0;
		goto out;
	}
	if (krb_session_open(cfg, mode, &krb, NULL) != 0)
		goto out;
	domain = discovery_domain(cfg, krb_session_realm(krb));
	if (ldap_conn_open(cfg, domain, &conn) != 0)
		goto out;
	dnc = c.default_nc;
	cnc = c.config_nc ? c.config_nc : "";
	/* the site as the last full read found it ("" = none): no netlogon ping here */
	known_gpos(&c, &known);
	if (gpo_directory_read(conn, dnc, cnc, krb_session_sam_account_name(krb), c.account_dn,
			       cfg->site && *cfg->site ? cfg->site : (c.site ? c.site : ""), false, &known, &d) != 0)
		goto out;
	fp = gpo_directory_fingerprint(&d);
	*changed = strcmp(fp, c.fingerprint) != 0;
	if (*changed) {
		/* name the first line that differs */
		const char *a = fp, *b = c.fingerprint;
		while (*a && *a == *b) {
			a++;
			b++;
		}
		while (a > fp && a[-1] != '\n')
			a--;
		{
			const char *e = strchr(a, '\n');
			snprintf(why, whylen, "Group Policy changed at: %.*s", (int)(e ? e - a : (long)strlen(a)), a);
		}
	} else {
		snprintf(why, whylen, "no change in the links or versions of %zu GPO(s)", d.n_gpos);
	}
	log_debug("policy check cost: %lu LDAP operations (bind included) in %.3f s", ldap_conn_op_count(conn),
		  ldap_conn_seconds(conn));
	ret = 0;
out:
	free(fp);
	strlist_free(&known);
	gpo_directory_free(&d);
	cached_free(&c);
	ldap_conn_close(conn);
	krb_session_free(krb);
	free(domain);
	return ret;
}

/* ------------------------------------------------------------ reporting */

static const char *file_state_name(enum gpo_file_state s)
{
	switch (s) {
	case GPO_FILE_NONE: return "no settings on this side (version 0)";
	case GPO_FILE_CACHED: return "Registry.pol cached";
	case GPO_FILE_FETCHED: return "Registry.pol read from SYSVOL";
	case GPO_FILE_ABSENT: return "no Registry.pol";
	case GPO_FILE_FAILED: return "Registry.pol could not be read";
	}
	return "?";
}

static void print_entry(FILE *f, const struct gpo_entry *e, const char *state)
{
	const char *name = e->gpo && e->gpo->name ? e->gpo->name : NULL;

	fprintf(f, "  %s%s%s%s at %s %s%s: %s", name ? "GPO " : "GPO ", name ? name : e->link->guid, name ? " (" : "",
		name ? e->link->guid : "", gpo_som_kind_name(e->som->kind), e->som->dn ? e->som->dn : "?",
		name ? ")" : "", gpo_verdict_name(e->verdict));
	if (e->enforced)
		fprintf(f, ", enforced");
	if (state)
		fprintf(f, ", %s", state);
	fprintf(f, "\n    %s\n", e->reason);
}

void gpo_policy_print(FILE *f, const struct config *cfg, const struct ae_policy *p, const struct gpo_eval *ev)
{
	char origin[1200], bits[160];

	ae_origin_text(p, origin, sizeof(origin));
	ae_bits_text(p->aepolicy, bits, sizeof(bits));
	if (ae_disabled(p)) {
		char text[1400];
		ae_disabled_text(p, text, sizeof(text));
		fprintf(f, "Autoenrollment policy: %s\n", text);
	} else {
		fprintf(f, "Autoenrollment policy: AEPolicy %s from %s\n", bits, origin);
	}
	if (p->degraded)
		fprintf(f, "  degraded: %s\n", p->degraded_reason);
	if (p->offline_pct)
		fprintf(f, "  expiry warning below %u%% of the lifetime left (OfflineExpirationPercent, from %s)\n",
			p->offline_pct, p->offline_pct_from_gpo ? p->offline_setter.name : "the local configuration");
	if (cfg->policy_source == CONFIG_POLICY_LOCAL) {
		fprintf(f, "  Group Policy is not read ([policy] source = local)\n");
		return;
	}
	if (!ev)
		return;
	if (ev->dir.account_dn)
		fprintf(f, "  account %s, site %s\n", ev->dir.account_dn, ev->dir.site ? ev->dir.site : "(unknown)");
	for (size_t i = 0; i < ev->res.n_applied; i++)
		print_entry(f, &ev->res.applied[i], ev->files ? file_state_name(ev->files[i]) : NULL);
	for (size_t i = 0; i < ev->res.n_skipped; i++)
		print_entry(f, &ev->res.skipped[i], NULL);
	if (ev->res.n_applied == 0 && ev->res.n_skipped == 0)
		fprintf(f, "  no GPO is linked to the site, the domain or the account's OUs\n");
	if (p->origin == AE_FROM_LOCAL && !p->degraded)
		fprintf(f, "  no applied GPO sets AEPolicy (\"not configured\"): the [policy] switches apply\n");
	for (size_t i = 0; i < p->n_servers; i++)
		fprintf(f, "  enrollment policy server %s: %s (%s), flags 0x%lx, auth 0x%lx, cost %lu\n", p->servers[i].id,
			p->servers[i].url ? p->servers[i].url : "?",
			p->servers[i].friendly_name ? p->servers[i].friendly_name : "",
			(unsigned long)p->servers[i].flags, (unsigned long)p->servers[i].auth_flags,
			(unsigned long)p->servers[i].cost);
}

void gpo_policy_json(struct json_writer *w, const char *key, const struct ae_policy *p)
{
	char origin[1200], bits[160];

	ae_origin_text(p, origin, sizeof(origin));
	ae_bits_text(p->aepolicy, bits, sizeof(bits));
	json_begin_object(w, key);
	json_string(w, "source", ae_origin_name(p->origin));
	json_string(w, "origin", origin);
	json_uint(w, "aepolicy", p->aepolicy);
	json_string(w, "aepolicy_bits", bits);
	json_bool(w, "disabled", ae_disabled(p));
	if (p->setter.guid[0]) {
		json_string(w, "gpo_name", p->setter.name);
		json_string(w, "gpo_guid", p->setter.guid);
		json_string(w, "som", p->setter.som);
		json_bool(w, "enforced", p->setter.enforced);
	}
	json_bool(w, "degraded", p->degraded);
	json_string(w, "degraded_reason", p->degraded ? p->degraded_reason : NULL);
	json_uint(w, "offline_expiration_percent", p->offline_pct);
	json_end_object(w);
}

int gpo_policy_cached(const struct config *cfg, enum adenroll_mode mode, struct ae_policy *p)
{
	struct cached_policy c;

	ae_policy_local(p, cfg);
	if (cfg->policy_source == CONFIG_POLICY_LOCAL)
		return 0;
	if (cache_load(cfg, mode, &c) != 0)
		return -1;
	if (c.ae_set)
		p->origin = AE_FROM_CACHE;
	take_cached(p, &c);
	cached_free(&c);
	return 0;
}

int gpo_policy_probe(const struct config *cfg, struct discovery *disc, const struct gpo_eval *ev, char *msg,
		     size_t msglen)
{
	const struct gpo_object *g = NULL;
	struct gpo_eval tmp;
	struct fetch_item item;
	enum gpo_file_state state = GPO_FILE_NONE;
	char *note = NULL, err[256], *tmpdir = NULL;
	int ret = -1;

	if (ev->res.n_applied > 0)
		g = ev->res.applied[0].gpo;
	else if (ev->dir.n_gpos > 0)
		g = &ev->dir.gpos[0];
	if (!g) {
		snprintf(msg, msglen, "no GPO is linked where this account is: nothing to read from SYSVOL");
		return 1;
	}
	memset(&item, 0, sizeof(item));
	item.share_path = gpo_sysvol_path(g->file_sys_path, "GPT.INI", err, sizeof(err));
	if (!item.share_path) {
		snprintf(msg, msglen, "GPO %s: %s", g->guid, err);
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.files = &state;
	tmp.file_notes = &note;
	run_helper(cfg, disc, &item, 1, &tmp);
	if (state == GPO_FILE_FETCHED) {
		snprintf(msg, msglen, "read %s from \\\\%s\\sysvol with Kerberos over SMB3, signing and encryption "
			 "required", item.share_path, disc->dir.dc);
		ret = 0;
	} else if (state == GPO_FILE_ABSENT) {
		snprintf(msg, msglen, "connected to \\\\%s\\sysvol (Kerberos, SMB3, signed and encrypted) but %s "
			 "is missing: SYSVOL is not replicated on this DC?", disc->dir.dc, item.share_path);
	} else {
		snprintf(msg, msglen, "%s", note ? note : tmp.error[0] ? tmp.error : "the SYSVOL reader failed");
	}
	if (item.tmp_file) {
		char *slash = strrchr(item.tmp_file, '/');
		unlink(item.tmp_file);
		tmpdir = xstrndup(item.tmp_file, (size_t)(slash - item.tmp_file));
		rmdir(tmpdir);
	}
	free(tmpdir);
	free(note);
	free(item.tmp_file);
	free(item.share_path);
	return ret;
}
