/* adenroll [global options] COMMAND [args]: parse the command line, load the
 * configuration, set up logging and call exactly one cmd_* (commands.h). */
#include "adenroll-build.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ldap.h>
#include <sasl/sasl.h>
#ifdef HAVE_NSS
#include <nss.h>
#endif

#include "adenroll.h"
#include "commands.h"
#include "config.h"
#include "json.h"
#include "keyproc.h"
#include "log.h"
#include "openssl_loader.h"
#include "runlimit.h"
#include "util.h"

/* libldap links GnuTLS, whose library constructor initialises it in every
 * run (CPU features, its crypto back-end, p11-kit: about 0.8 MiB resident)
 * although adenroll's LDAP uses no TLS (SASL GSSAPI seals it), and libldap
 * calls gnutls_global_init itself before any TLS.  GnuTLS's documented
 * switch must be in the environment before its constructor runs: a
 * DT_PREINIT_ARRAY entry of the executable runs before any library's.  An
 * administrator's own value wins; adenroll-gpo-fetch (libsmbclient relies on
 * the implicit initialisation) is started without it (gpo_policy.c). */
static void skip_gnutls_implicit_init(void)
{
	setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
}
__attribute__((section(".preinit_array"), used)) static void (*const preinit_gnutls)(void) = skip_gnutls_implicit_init;

/* How long pulse/enroll wait for a run already in progress (a timer pulse
 * meeting a manual enroll) before giving up with ADENROLL_EXIT_FAILURE. */
#define RUN_LOCK_WAIT_SECONDS 60

typedef int (*command_fn)(const struct cli_options *, struct config *, int, char **);

static const struct command {
	const char *name;
	command_fn fn;
	int min_args, max_args;
	bool changes_stores; /* takes the run lock unless --dry-run */
	const char *args;
	const char *help;
} commands[] = {
	{ "pulse", cmd_pulse, 0, 0, true, "",
	  "Do what Windows autoenrollment does: find the templates this machine\n"
	  "      (or, with --user, you) may autoenroll for, enroll missing certificates,\n"
	  "      renew those due, re-enroll superseded or outdated ones and collect\n"
	  "      pending requests.  This is what the systemd timer runs." },
	{ "status", cmd_status, 0, 0, false, "",
	  "Show the certificates adenroll manages: template, expiry, renewal time,\n"
	  "      pending requests and the outcome of the last run." },
	{ "explain", cmd_explain, 0, 1, false, " [TEMPLATE]",
	  "Explain, for every template or just TEMPLATE, why it is or is not\n"
	  "      enrolled: publishing CAs, flags, the access check, key policy, the\n"
	  "      current certificate and the decision with its reason." },
	{ "templates", cmd_templates, 0, 0, false, "",
	  "List the certificate templates the enterprise CAs publish and whether\n"
	  "      this machine (or you) may autoenroll for each." },
	{ "enroll", cmd_enroll, 1, 1, true, " TEMPLATE",
	  "Enroll for TEMPLATE now, whether or not it is set for autoenrollment\n"
	  "      (the Enroll right is enough); --force replaces a valid certificate." },
	{ "doctor", cmd_doctor, 0, 0, false, "",
	  "Check the prerequisites in order (credentials, clock, DNS, LDAP,\n"
	  "      enrollment services, HTTPS and Kerberos to /certsrv) and say how to\n"
	  "      fix the first thing that is wrong." },
	{ "check-policy", cmd_check_policy, 0, 0, true, "",
	  "Ask the directory whether the Group Policy that applies changed (links,\n"
	  "      versions; no SYSVOL read) and run a pulse only if it did.  This is\n"
	  "      what adenroll-policy.timer runs." },
	{ "forget", cmd_forget, 1, 1, true, " TEMPLATE",
	  "Stop managing TEMPLATE's certificate: archive the certificate and key,\n"
	  "      drop a request pending for it, and remove the trust anchors adenroll\n"
	  "      wrote once it manages nothing else.  Needs no network." },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *f)
{
	fprintf(f, "Usage: adenroll [--config FILE] [--user] [--dry-run] [--json] [--force] [-v|-q] COMMAND [ARGS]\n"
		   "Commands:");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, " %s%s%s", commands[i].name, commands[i].args, i + 1 < N_COMMANDS ? "," : "\n");
	fprintf(f, "Try 'adenroll --help' for more information.\n");
}

static void print_help(void)
{
	printf("Usage: adenroll [OPTIONS] COMMAND [ARGS]\n"
	       "Certificate autoenrollment from Active Directory Certificate Services for\n"
	       "domain-joined Linux machines and their users.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  %s%s\n      %s\n", commands[i].name, commands[i].args, commands[i].help);
	printf("\nOptions (before or after the command):\n"
	       "  --config FILE   read FILE instead of " ADENROLL_DEFAULT_CONFIG "\n"
	       "  --user          act for the calling user (Kerberos credential cache,\n"
	       "                  stores under ~/.local/share/adenroll) instead of the machine\n"
	       "  --dry-run       discover and decide, build requests, but submit and write nothing\n"
	       "  --json          machine-readable output on stdout\n"
	       "  --force         enroll or renew even when the decision is to keep\n"
	       "  -v, --verbose   more detail (repeat for even more)\n"
	       "  -q, --quiet     errors only\n"
	       "  -h, --help      show this help\n"
	       "  --version       show versions of adenroll and the libraries it uses\n"
	       "\nExit status:\n"
	       "  %d  success, nothing needed changing\n"
	       "  %d  failure: nothing was changed\n"
	       "  %d  bad command line or configuration\n"
	       "  %d  certificates were enrolled or renewed (success)\n"
	       "  %d  partial: some templates failed or were denied\n"
	       "\nSee adenroll(8) and adenroll.conf(5).\n",
	       ADENROLL_EXIT_OK, ADENROLL_EXIT_FAILURE, ADENROLL_EXIT_USAGE, ADENROLL_EXIT_CHANGED,
	       ADENROLL_EXIT_PARTIAL);
}

static void print_version(void)
{
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
	LDAPAPIInfo api = { .ldapai_info_version = LDAP_API_INFO_VERSION };
	const char *sasl_impl = NULL, *sasl_version = NULL;

	printf("adenroll %s\n", PACKAGE_VERSION);
	printf("  %s\n", OpenSSL_version(OPENSSL_VERSION));
	if (curl)
		/* Kerberos web enrollment needs libcurl's GSS-API and SPNEGO. */
		printf("  libcurl %s (%s): GSS-API %s, SPNEGO %s\n", curl->version,
		       curl->ssl_version ? curl->ssl_version : "no TLS",
		       (curl->features & CURL_VERSION_GSSAPI) ? "yes" : "no",
		       (curl->features & CURL_VERSION_SPNEGO) ? "yes" : "no");
	if (ldap_get_option(NULL, LDAP_OPT_API_INFO, &api) == LDAP_OPT_SUCCESS) {
		printf("  %s %d.%d.%d\n", api.ldapai_vendor_name ? api.ldapai_vendor_name : "LDAP",
		       api.ldapai_vendor_version / 10000, api.ldapai_vendor_version / 100 % 100,
		       api.ldapai_vendor_version % 100);
		ldap_memfree(api.ldapai_vendor_name);
		ber_memvfree((void **)api.ldapai_extensions);
	}
	sasl_version_info(&sasl_impl, &sasl_version, NULL, NULL, NULL, NULL);
	if (sasl_impl && sasl_version)
		printf("  %s %s\n", sasl_impl, sasl_version);
#ifdef HAVE_NSS
	printf("  NSS %s (NSS database stores: yes)\n", NSS_GetVersion());
#else
	printf("  NSS database stores: no (built without NSS)\n");
#endif
#ifdef HAVE_SYSTEMD
	printf("  journald logging: yes\n");
#else
	printf("  journald logging: no (syslog)\n");
#endif
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* --json anywhere on the command line: errors found before (or while)
 * parsing it are JSON documents too, so a script never gets a parse error. */
static bool json_errors;

/* What a --json error document's "code" says, by exit status. */
static const char *json_error_code(int ret)
{
	switch (ret) {
	case ADENROLL_EXIT_USAGE:
		return "usage";
	case ADENROLL_EXIT_PARTIAL:
		return "partial";
	default:
		return "failed";
	}
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "adenroll: error: %s\n", msg);
	print_usage(stderr);
	if (json_errors)
		json_print_error(stdout, "usage", msg, ADENROLL_EXIT_USAGE);
	return ADENROLL_EXIT_USAGE;
}

static enum log_level effective_level(const struct config *cfg, int verbosity, bool quiet)
{
	int level = (int)cfg->log_level + verbosity;

	if (quiet)
		return LOG_LVL_ERROR;
	return level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : (enum log_level)level;
}

static bool journal_wanted(const struct config *cfg)
{
	switch (cfg->journal) {
	case CONFIG_JOURNAL_YES:
		return true;
	case CONFIG_JOURNAL_NO:
		return false;
	case CONFIG_JOURNAL_AUTO:
		break;
	}
	/* An interactive run shows everything on the terminal; timer, cron and
	 * scripts leave a record in the journal. */
	return !isatty(STDERR_FILENO);
}

enum { OPT_CONFIG = 256, OPT_USER, OPT_DRY_RUN, OPT_JSON, OPT_FORCE, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "user", no_argument, NULL, OPT_USER },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_options opt = { .mode = ADENROLL_MODE_MACHINE };
	struct config cfg = { 0 };
	const struct command *cmd;
	bool quiet = false, help = false, version = false;
	int c, ret = ADENROLL_EXIT_USAGE, lock = -1;

	/* a run's key process, started by that run (keyproc.h) */
	if (argc == 2 && strcmp(argv[1], KEYPROC_CHILD_ARG) == 0)
		return keyproc_child_main();
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			json_errors = true;
	opterr = 0;
	/* Leading ':' reports a missing option argument as ':' rather than '?'. */
	while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			opt.config_path = optarg;
			break;
		case OPT_USER:
			opt.mode = ADENROLL_MODE_USER;
			break;
		case OPT_DRY_RUN:
			opt.dry_run = true;
			break;
		case OPT_JSON:
			opt.json = true;
			break;
		case OPT_FORCE:
			opt.force = true;
			break;
		case 'v':
			opt.verbosity++;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			help = true;
			break;
		case OPT_VERSION:
			version = true;
			break;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256) {
				char o[3] = { '-', (char)optopt, '\0' };

				return usage_error("unknown option '%s'", o);
			}
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (help) {
		print_help();
		return ADENROLL_EXIT_OK;
	}
	if (version) {
		print_version();
		return ADENROLL_EXIT_OK;
	}
	if (quiet && opt.verbosity)
		return usage_error("%s", "-q and -v contradict each other; give one");
	if (optind >= argc)
		return usage_error("%s", "no command given");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	optind++;
	if (argc - optind < cmd->min_args || argc - optind > cmd->max_args) {
		fprintf(stderr, "adenroll: error: wrong number of arguments for '%s'\n"
				"Usage: adenroll [OPTIONS] %s%s\n",
			cmd->name, cmd->name, cmd->args);
		if (json_errors) {
			char msg[256];

			snprintf(msg, sizeof(msg), "wrong number of arguments for '%s'; usage: adenroll [OPTIONS] %s%s",
				 cmd->name, cmd->name, cmd->args);
			json_print_error(stdout, "usage", msg, ADENROLL_EXIT_USAGE);
		}
		return ADENROLL_EXIT_USAGE;
	}

	/* Without --config the installed file is optional: the defaults work on
	 * a host joined with realmd/adcli.  An explicit file must exist. */
	if (config_load(opt.config_path ? opt.config_path : ADENROLL_DEFAULT_CONFIG, !opt.config_path,
			&cfg) < 0) {
		ret = ADENROLL_EXIT_USAGE;
		if (opt.json)
			json_print_error(stdout, "config", log_last_error(), ret);
		goto out;
	}
	if (opt.mode == ADENROLL_MODE_USER && config_apply_user_mode(&cfg) < 0) {
		ret = ADENROLL_EXIT_FAILURE;
		if (opt.json)
			json_print_error(stdout, "config", log_last_error(), ret);
		goto out;
	}
	log_init(effective_level(&cfg, opt.verbosity, quiet), journal_wanted(&cfg));

	/* Two runs that write the same stores must never interleave (a timer
	 * pulse and a manual enroll): one lock for both, held until exit. */
	if (cmd->changes_stores && !opt.dry_run) {
		lock = run_lock_acquire(cfg.lock_file, RUN_LOCK_WAIT_SECONDS);
		if (lock < 0) {
			ret = ADENROLL_EXIT_FAILURE;
			if (opt.json)
				json_print_error(stdout, "busy", log_last_error(), ret);
			goto out;
		}
	}
	/* A slow or silent DC or CA must not hold the run (and the lock) for ever. */
	if (runlimit_start(cfg.run_timeout, RUNLIMIT_GRACE_SECONDS) < 0) {
		ret = ADENROLL_EXIT_FAILURE;
		goto out;
	}
	ret = cmd->fn(&opt, &cfg, argc - optind, argv + optind);
	runlimit_stop();
	if (runlimit_expired()) {
		log_error("run_timeout (%ld s) reached: the run was stopped; what it did not do waits for the "
			  "next run (raise run_timeout in [general], and TimeoutStartSec= of the unit, if runs "
			  "legitimately take this long)", cfg.run_timeout);
		ret = ADENROLL_EXIT_FAILURE;
	}
	/* A command that failed before its document: the error as one. */
	if (opt.json && ret != ADENROLL_EXIT_OK && ret != ADENROLL_EXIT_CHANGED && !json_stdout_written())
		json_print_error(stdout, json_error_code(ret), log_last_error(), ret);
out:
	run_lock_release(lock);
	config_free(&cfg);
	return ret;
}
