/* Hook directories (hooks.h).  Hooks run as the invoking user with root's
 * trust: hence the ownership and write-permission checks before each exec,
 * and a clean environment so nothing of ours (KRB5CCNAME: the machine's
 * ticket) leaks into them. */
#include "adenroll-build.h"

#include "hooks.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "enroll.h"
#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "runner.h"
#include "state.h"
#include "store.h"
#include "util.h"


static const char *const known_events[] = {
	HOOK_EVENT_ENROLLED, HOOK_EVENT_RENEWED, HOOK_EVENT_PENDING,
	HOOK_EVENT_DENIED, HOOK_EVENT_FAILED, HOOK_EVENT_ARCHIVED,
};

static bool event_known(const char *event)
{
	for (size_t i = 0; event && i < sizeof known_events / sizeof known_events[0]; i++)
		if (strcmp(event, known_events[i]) == 0)
			return true;
	return false;
}

/* Package managers and editors leave copies next to the real hook; running
 * "reload.dpkg-old" after "reload" would be a surprise. */
static bool name_skipped(const char *name)
{
	size_t len = strlen(name);
	return name[0] == '.' || len == 0 || name[len - 1] == '~' || strstr(name, ".dpkg-") ||
	       strstr(name, ".rpmnew") || strstr(name, ".rpmsave") || strstr(name, ".rpmorig") ||
	       strstr(name, ".ucf-");
}

/* A file others may change could run anything as us.  what: "hook" or
 * "hooks from directory"; NULL: only the verdict, nothing logged. */
static bool safe(const struct stat *st, const char *path, const char *what)
{
	uid_t me = geteuid();
	if (!what)
		return (st->st_uid == 0 || st->st_uid == me) && !(st->st_mode & (S_IWGRP | S_IWOTH));
	if (st->st_uid != 0 && st->st_uid != me) {
		char also[48] = "";
		if (me != 0)
			snprintf(also, sizeof also, " or uid %ld (us)", (long)me);
		log_warn("refusing to run %s %s: it is owned by uid %ld, not by root%s; chown root %s", what, path,
			 (long)st->st_uid, also, path);
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		log_warn("refusing to run %s %s: it is writable by %s (mode %04o); chmod go-w %s", what, path,
			 (st->st_mode & S_IWOTH) ? "everyone" : "its group", (unsigned)(st->st_mode & 07777), path);
		return false;
	}
	return true;
}

static int byte_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* 0 when the hook ran and exited 0, -1 otherwise (logged).  runner.h: clean
 * environment (envp), no inherited descriptors, own process group, output
 * logged, killed with its group at the timeout. */
static int run_one(const char *path, const char *name, const char *event, char **envp,
		   const char *template_cn, unsigned timeout)
{
	const char *argv[] = { path, event, NULL };
	char *log_name = xasprintf("hook %s", name);
	struct runner_cmd cmd = {
		.argv = argv,
		.envp = (const char *const *)envp,
		.timeout_seconds = timeout,
		.log_name = log_name,
	};
	struct runner_result res;
	const char *tmpl = template_cn ? template_cn : "-";
	char how[256];

	log_debug("running hook %s for event %s", path, event);
	int rc = runner_run(&cmd, &res);
	free(log_name);
	if (rc == 0) {
		log_info("hook %s (event %s, template %s): done", name, event, tmpl);
		return 0;
	}
	runner_describe(&res, timeout, how, sizeof how);
	if (res.end == RUNNER_EXITED && res.code != 0)
		log_warn("hook %s (event %s, template %s) failed with exit status %d%s", path, event, tmpl, res.code,
			 res.code == 126   ? " (not executable?)"
			 : res.code == 127 ? " (its interpreter or a command was not found?)"
					   : "");
	else
		log_warn("hook %s (event %s, template %s) %s", path, event, tmpl, how);
	return -1;
}

/* *usable: the directory exists and may be run from.  envp NULL: a dry
 * walk that runs and logs nothing and returns how many hooks would run
 * (hooks_will_run). */
static int run_dir(const char *dir, const char *event, char **envp, const char *template_cn,
		   unsigned timeout, bool *usable)
{
	struct stat st;
	struct dirent **names = NULL;
	int failures = 0, runnable = 0;
	const bool dry = envp == NULL;

	*usable = false;
	if (dry) {
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !safe(&st, dir, NULL))
			return 0;
	} else if (stat(dir, &st) < 0) {
		if (errno == ENOENT) {
			log_debug("no hook directory %s", dir);
			return 0;
		}
		log_warn("cannot use hook directory %s: %s", dir, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warn("hook directory %s is not a directory; no hooks run from it", dir);
		return 1;
	}
	if (!dry && !safe(&st, dir, "hooks from directory"))
		return 1;
	*usable = true;
	int n = scandir(dir, &names, NULL, byte_order);
	if (n < 0) {
		if (dry)
			return 0;
		log_warn("cannot list hook directory %s: %s", dir, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (name_skipped(name)) {
			if (!dry)
				log_debug("hook %s/%s: skipped (hidden, backup or package leftover)", dir, name);
			continue;
		}
		char *path = fs_path_join(dir, name);
		if (dry) {
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))
			    && safe(&st, path, NULL))
				runnable++;
		} else if (stat(path, &st) < 0) {
			log_warn("hook %s: %s; skipped", path, strerror(errno));
			failures++;
		} else if (S_ISDIR(st.st_mode)) {
			/* event directories are visited by hooks_run */
		} else if (!S_ISREG(st.st_mode)) {
			log_debug("hook %s: not a regular file, skipped", path);
		} else if (!(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
			log_debug("hook %s: not executable, skipped", path);
		} else if (!safe(&st, path, "hook")) {
			failures++;
		} else if (run_one(path, name, event, envp, template_cn, timeout) < 0) {
			failures++;
		}
		free(path);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return dry ? runnable : failures;
}

/* Whether hooks_run(hooks_dir, event) would run a hook: the same walk, dry. */
static bool hooks_will_run(const char *hooks_dir, const char *event)
{
	bool usable, sub_usable;
	if (!hooks_dir || !*hooks_dir)
		return false;
	if (run_dir(hooks_dir, event, NULL, NULL, 0, &usable) > 0)
		return true;
	if (!usable)
		return false;
	char *sub = xasprintf("%s/%s.d", hooks_dir, event);
	int n = run_dir(sub, event, NULL, NULL, 0, &sub_usable);
	free(sub);
	return n > 0;
}

int hooks_run_timeout(const char *hooks_dir, const char *event, const struct hook_env *env,
		      unsigned timeout_seconds)
{
	static const struct hook_env none = { .request_id = -1 };
	char *envp[16];
	size_t ne = 0;
	char when[32] = "", reqid[32] = "";
	int failures = 0;

	if (!hooks_dir || !*hooks_dir)
		return 0;
	if (!event_known(event)) {
		log_error("internal error: unknown hook event \"%s\"", event ? event : "(null)");
		return 1;
	}
	if (!env)
		env = &none;
	if (env->not_after > 0)
		policy_format_time(env->not_after, when, sizeof when);
	if (env->request_id >= 0)
		snprintf(reqid, sizeof reqid, "%ld", env->request_id);
#define S(v) ((v) ? (v) : "")
	envp[ne++] = xasprintf("PATH=%s", RUNNER_PATH);
	envp[ne++] = xasprintf("ADENROLL_EVENT=%s", event);
	envp[ne++] = xasprintf("ADENROLL_TEMPLATE=%s", S(env->template_cn));
	envp[ne++] = xasprintf("ADENROLL_CERT=%s", S(env->cert_path));
	envp[ne++] = xasprintf("ADENROLL_KEY=%s", S(env->key_path));
	envp[ne++] = xasprintf("ADENROLL_CHAIN=%s", S(env->chain_path));
	envp[ne++] = xasprintf("ADENROLL_ARCHIVED=%s", S(env->archived_path));
	envp[ne++] = xasprintf("ADENROLL_CA=%s", S(env->ca_name));
	envp[ne++] = xasprintf("ADENROLL_SERIAL=%s", S(env->serial));
	envp[ne++] = xasprintf("ADENROLL_NOT_AFTER=%s", when);
	envp[ne++] = xasprintf("ADENROLL_REQUEST_ID=%s", reqid);
	envp[ne++] = xasprintf("ADENROLL_MESSAGE=%s", S(env->message));
	envp[ne++] = xasprintf("ADENROLL_MODE=%s", S(env->mode));
#undef S
	envp[ne] = NULL;

	if (timeout_seconds == 0)
		timeout_seconds = HOOKS_TIMEOUT_DEFAULT;
	bool usable, sub_usable;
	failures += run_dir(hooks_dir, event, envp, env->template_cn, timeout_seconds, &usable);
	/* The event directory is only looked at inside a usable hooks_dir. */
	if (usable) {
		char *sub = xasprintf("%s/%s.d", hooks_dir, event);
		failures += run_dir(sub, event, envp, env->template_cn, timeout_seconds, &sub_usable);
		free(sub);
	}
	for (size_t i = 0; i < ne; i++)
		free(envp[i]);
	return failures;
}

int hooks_run(const char *hooks_dir, const char *event, const struct hook_env *env)
{
	return hooks_run_timeout(hooks_dir, event, env, HOOKS_TIMEOUT_DEFAULT);
}

int hooks_run_for_report(const struct config *cfg, enum adenroll_mode mode, const char *template_cn,
			 const struct enroll_report *rep, bool renewal, const char *archived_path)
{
	struct hook_env env;
	const char *event;
	struct store *s = NULL;
	struct store_item *items = NULL;
	size_t n = 0;

	if (!cfg->hooks_dir || !*cfg->hooks_dir)
		return 0;
	switch (rep->outcome) {
	case ENROLL_ISSUED:
		event = renewal ? HOOK_EVENT_RENEWED : HOOK_EVENT_ENROLLED;
		break;
	case ENROLL_PENDING:
		event = HOOK_EVENT_PENDING;
		break;
	case ENROLL_DENIED:
		event = HOOK_EVENT_DENIED;
		break;
	case ENROLL_FAILED:
		event = HOOK_EVENT_FAILED;
		break;
	default:
		return 0;
	}
	memset(&env, 0, sizeof env);
	env.template_cn = template_cn;
	env.ca_name = rep->ca[0] ? rep->ca : NULL;
	env.request_id = rep->request_id;
	env.mode = mode == ADENROLL_MODE_USER ? "user" : "machine";
	env.archived_path = archived_path;
	if (rep->outcome == ENROLL_ISSUED) {
		env.serial = rep->serial[0] ? rep->serial : NULL;
		env.not_after = rep->not_after;
		/* the live paths as a hook should use them (PEM: the stable
		 * symlinks); listing the stores is work (an NSS database
		 * opened in this process): only for a hook that will run */
		if (!hooks_will_run(cfg->hooks_dir, event))
			log_debug("%s: no %s hook to run; the stores are not listed", template_cn, event);
		else if (store_open(cfg, mode, &s) == 0 && store_list(s, &items, &n) == 0) {
			log_debug("%s: listing the stores for the paths the %s hooks get", template_cn, event);
			struct store_lookup *lk = store_lookup_new(items, n, NULL);
			const struct store_item *it = store_lookup_find_cn(lk, template_cn);
			store_lookup_free(lk);
			if (it) {
				env.cert_path = it->cert_path;
				env.key_path = it->key_path;
				env.chain_path = it->chain_path;
			}
		}
	} else {
		env.message = rep->message[0] ? rep->message : NULL;
	}
	int failures = hooks_run(cfg->hooks_dir, event, &env);
	/* the hooks recorded as owed before the install's commit have run */
	if (rep->outcome == ENROLL_ISSUED)
		state_hooks_owed_remove(cfg, mode, template_cn);
	store_items_free(items, n);
	store_close(s);
	return failures;
}

int hooks_run_owed(const struct config *cfg, enum adenroll_mode mode, const struct store_item *items,
		   size_t n_items)
{
	struct hooks_owed *owed = NULL;
	size_t n = 0;
	int failures = 0;

	if (state_hooks_owed_list(cfg, mode, &owed, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct hooks_owed *h = &owed[i];
		const struct store_item *live = NULL;

		/* the listing's serial (store.h): the index spares the parse */
		for (size_t k = 0; k < n_items && !live; k++)
			if (items[k].template_cn && str_eq_ci(items[k].template_cn, h->template_cn) &&
			    items[k].serial[0] && strcasecmp(items[k].serial, h->serial) == 0)
				live = &items[k];
		if (live && cfg->hooks_dir && *cfg->hooks_dir &&
		    (strcmp(h->event, HOOK_EVENT_ENROLLED) == 0 || strcmp(h->event, HOOK_EVENT_RENEWED) == 0)) {
			struct hook_env env;

			log_info("%s: running the %s hooks an interrupted run owed (serial %s)", h->template_cn,
				 h->event, h->serial);
			memset(&env, 0, sizeof env);
			env.template_cn = h->template_cn;
			env.cert_path = live->cert_path;
			env.key_path = live->key_path;
			env.chain_path = live->chain_path;
			env.ca_name = h->ca_name;
			env.serial = h->serial;
			env.not_after = h->not_after;
			env.request_id = h->request_id;
			env.mode = mode == ADENROLL_MODE_USER ? "user" : "machine";
			failures += hooks_run(cfg->hooks_dir, h->event, &env);
		} else if (!live) {
			log_debug("%s: the certificate (serial %s) whose hooks were owed never became live; "
				  "nothing to run", h->template_cn, h->serial);
		}
		state_hooks_owed_remove(cfg, mode, h->template_cn);
	}
	state_hooks_owed_list_free(owed, n);
	return failures;
}
