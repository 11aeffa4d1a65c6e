/* adenroll.conf(5) parser: defaults, every key, and a table of bad inputs
 * whose error must name file:line and say what is wrong. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static int parse(const char *text, struct config *cfg, char *err, size_t errlen)
{
	return config_parse_buffer("t.conf", text, strlen(text), cfg, err, errlen);
}

static void test_defaults(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse("", &cfg, err, sizeof(err)), 0);
	assert_null(cfg.path);
	assert_null(cfg.realm);
	assert_null(cfg.domain);
	assert_int_equal(cfg.dcs.n, 0);
	assert_null(cfg.site);
	assert_string_equal(cfg.keytab, "/etc/krb5.keytab");
	assert_null(cfg.principal);
	assert_null(cfg.host_fqdn);
	assert_int_equal(cfg.cas.n, 0);
	assert_int_equal(cfg.min_rsa_bits, 2048);
	assert_false(cfg.reuse_key);
	assert_false(cfg.allow_v1_templates);
	assert_true(cfg.renew_expiring);
	assert_true(cfg.update_templates);
	assert_int_equal(cfg.http_timeout, 60);
	assert_int_equal(cfg.transport, CONFIG_TRANSPORT_AUTO);
	assert_int_equal(cfg.store_types, STORE_PEM);
	assert_string_equal(cfg.pem_dir, LOCALSTATEDIR "/lib/adenroll/certs");
	assert_string_equal(cfg.nss_db, "sql:" LOCALSTATEDIR "/lib/adenroll/nssdb");
	assert_string_equal(cfg.archive_dir, LOCALSTATEDIR "/lib/adenroll/archive");
	assert_int_equal(cfg.archive_retention_days, 0);
	assert_null(cfg.anchors_dir);
	assert_string_equal(cfg.state_dir, LOCALSTATEDIR "/lib/adenroll");
	assert_string_equal(cfg.hooks_dir, SYSCONFDIR "/adenroll/hooks.d");
	assert_null(cfg.metrics_file);
	assert_string_equal(cfg.lock_file, "/run/adenroll/adenroll.lock");
	assert_int_equal(cfg.log_level, LOG_LVL_INFO);
	assert_int_equal(cfg.journal, CONFIG_JOURNAL_AUTO);
	config_free(&cfg);
}

static void test_every_key(void **state)
{
	static const char text[] =
		"[general]\n"
		"hooks_dir = /etc/x/hooks\n"
		"metrics_file = /var/lib/node_exporter/adenroll.prom\n"
		"lock_file = /run/x.lock\n"
		"log_level = debug\n"
		"journal = no\n"
		"[domain]\n"
		"realm = EXAMPLE.COM\n"
		"domain = example.com\n"
		"dcs = dc1.example.com dc2.example.com\n"
		"site = Berlin\n"
		"[machine]\n"
		"keytab = /etc/other.keytab\n"
		"principal = HOST1$@EXAMPLE.COM\n"
		"host_fqdn = host1.example.com\n"
		"[enroll]\n"
		"cas = example-CA1, ca2.example.com\n"
		"min_rsa_bits = 3072\n"
		"reuse_key = yes\n"
		"allow_v1_templates = true\n"
		"renew_expiring = no\n"
		"update_templates = 0\n"
		"http_timeout = 120\n"
		"transport = CES\n"
		"[store]\n"
		"types = pem\n"
		"pem_dir = /etc/pki/adenroll\n"
		"nss_db = dbm:/etc/pki/legacydb\n"
		"archive_dir = /srv/archive\n"
		"archive_retention_days = 400\n"
		"anchors_dir = /etc/pki/ca-trust/source/anchors\n"
		"state_dir = /srv/state\n"
		"[user]\n"
		"types = pem\n"
		"pem_dir = ~/certs\n"
		"nss_db = sql:~/.pki/nssdb\n"
		"archive_dir = ~/archive\n"
		"state_dir = /tmp/%u\n";
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.hooks_dir, "/etc/x/hooks");
	assert_string_equal(cfg.metrics_file, "/var/lib/node_exporter/adenroll.prom");
	assert_string_equal(cfg.lock_file, "/run/x.lock");
	assert_int_equal(cfg.log_level, LOG_LVL_DEBUG);
	assert_int_equal(cfg.journal, CONFIG_JOURNAL_NO);
	assert_string_equal(cfg.realm, "EXAMPLE.COM");
	assert_string_equal(cfg.domain, "example.com");
	assert_int_equal(cfg.dcs.n, 2);
	assert_string_equal(cfg.dcs.v[0], "dc1.example.com");
	assert_string_equal(cfg.dcs.v[1], "dc2.example.com");
	assert_null(cfg.dcs.v[2]);
	assert_string_equal(cfg.site, "Berlin");
	assert_string_equal(cfg.keytab, "/etc/other.keytab");
	assert_string_equal(cfg.principal, "HOST1$@EXAMPLE.COM");
	assert_string_equal(cfg.host_fqdn, "host1.example.com");
	assert_int_equal(cfg.cas.n, 2);
	assert_string_equal(cfg.cas.v[0], "example-CA1");
	assert_string_equal(cfg.cas.v[1], "ca2.example.com");
	assert_int_equal(cfg.min_rsa_bits, 3072);
	assert_true(cfg.reuse_key);
	assert_true(cfg.allow_v1_templates);
	assert_false(cfg.renew_expiring);
	assert_false(cfg.update_templates);
	assert_int_equal(cfg.http_timeout, 120);
	assert_int_equal(cfg.transport, CONFIG_TRANSPORT_CES);
	assert_int_equal(cfg.store_types, STORE_PEM);
	assert_string_equal(cfg.pem_dir, "/etc/pki/adenroll");
	assert_string_equal(cfg.nss_db, "dbm:/etc/pki/legacydb");
	assert_string_equal(cfg.archive_dir, "/srv/archive");
	assert_int_equal(cfg.archive_retention_days, 400);
	assert_string_equal(cfg.anchors_dir, "/etc/pki/ca-trust/source/anchors");
	assert_string_equal(cfg.state_dir, "/srv/state");
	assert_int_equal(cfg.user.store_types, STORE_PEM);
	assert_string_equal(cfg.user.pem_dir, "~/certs");
	assert_string_equal(cfg.user.nss_db, "sql:~/.pki/nssdb");
	assert_string_equal(cfg.user.archive_dir, "~/archive");
	assert_string_equal(cfg.user.state_dir, "/tmp/%u");
	config_free(&cfg);
}

/* ---------------------------------------------------------------- bad input */

struct bad_case {
	const char *what;
	const char *text;
	size_t len;         /* 0: strlen(text) */
	const char *error;  /* expected prefix of the message */
};

static const struct bad_case bad_cases[] = {
	{ "unknown key names the section and lists the known keys",
	  "[store]\nfoo = 1\n", 0,
	  "t.conf:2: unknown key 'foo' in [store]; known keys: types, pem_dir, nss_db, archive_dir, "
	  "archive_retention_days, anchors_dir, update_system_trust, state_dir, pinned_dcs, root_fingerprints, cert_owner, cert_group, "
	  "cert_mode, key_owner, key_group, key_mode, chain_owner, chain_group, chain_mode, trust_update_timeout" },
	{ "unknown section lists the known ones",
	  "# c\n[bogus]\n", 0,
	  "t.conf:2: unknown section [bogus]; known sections: [general], [domain], [machine], [enroll], "
	  "[store], [user], [policy], [template NAME]" },
	{ "key before any section", "realm = X\n", 0, "t.conf:1: key 'realm' is outside any section" },
	{ "bad boolean", "[enroll]\nreuse_key = maybe\n", 0,
	  "t.conf:2: 'reuse_key' must be yes or no (also true/false, on/off, 1/0), got 'maybe'" },
	{ "integer with letters", "[enroll]\nmin_rsa_bits = 4k\n", 0,
	  "t.conf:2: 'min_rsa_bits' must be a whole number from 2048 to 16384, got '4k'" },
	{ "integer below range", "[enroll]\nmin_rsa_bits = 1024\n", 0,
	  "t.conf:2: 'min_rsa_bits' must be a whole number from 2048 to 16384, got '1024'" },
	{ "integer above range", "[enroll]\nhttp_timeout = 3601\n", 0,
	  "t.conf:2: 'http_timeout' must be a whole number from 1 to 3600, got '3601'" },
	{ "unknown transport", "[enroll]\ntransport = soap\n", 0,
	  "t.conf:2: 'transport' must be auto, certsrv or ces; got 'soap'" },
	{ "zero timeout", "[enroll]\nhttp_timeout = 0\n", 0,
	  "t.conf:2: 'http_timeout' must be a whole number from 1 to 3600" },
	{ "negative number", "[store]\narchive_retention_days = -1\n", 0,
	  "t.conf:2: 'archive_retention_days' must be a whole number from 0 to 36500, got '-1'" },
	{ "integer overflow", "[store]\narchive_retention_days = 99999999999999999999999999\n", 0,
	  "t.conf:2: 'archive_retention_days' must be a whole number" },
	{ "trailing comment on a number is not a comment", "[enroll]\nhttp_timeout = 30 # s\n", 0,
	  "t.conf:2: 'http_timeout' must be a whole number from 1 to 3600, got '30 # s'" },
	{ "duplicate key names the first line",
	  "[domain]\nrealm = A.COM\n\n[domain]\nrealm = B.COM\n", 0,
	  "t.conf:5: duplicate key 'realm' in [domain] (first set on line 2)" },
	{ "duplicate key differing in case", "[enroll]\nreuse_key = no\nREUSE_KEY = yes\n", 0,
	  "t.conf:3: duplicate key 'reuse_key' in [enroll] (first set on line 2)" },
	{ "relative path", "[store]\npem_dir = certs\n", 0,
	  "t.conf:2: 'pem_dir' must be an absolute path (starting with /), got 'certs'" },
	{ "tilde outside [user]", "[store]\npem_dir = ~/certs\n", 0,
	  "t.conf:2: 'pem_dir' must be an absolute path" },
	{ "bad NSS database", "[store]\nnss_db = sql:nssdb\n", 0,
	  "t.conf:2: 'nss_db' must be an NSS database directory such as sql:/etc/pki/nssdb, got 'sql:nssdb'" },
	{ "unknown store type", "[store]\ntypes = pem, p12\n", 0,
	  "t.conf:2: unknown store type 'p12' in 'types'; known types: pem, nss" },
	{ "no store type", "[store]\ntypes = ,\n", 0, "t.conf:2: 'types' needs at least one store type" },
	{ "empty value", "[domain]\nrealm =\n", 0,
	  "t.conf:2: 'realm' has an empty value; remove the line to get the default" },
	{ "blank in a single-word value", "[domain]\nrealm = EXAMPLE COM\n", 0,
	  "t.conf:2: 'realm' takes a single value without blanks, got 'EXAMPLE COM'" },
	{ "no equals sign", "[domain]\nrealm EXAMPLE.COM\n", 0,
	  "t.conf:2: expected 'key = value', '[section]' or a # comment, got 'realm EXAMPLE.COM'" },
	{ "missing key", "[domain]\n= x\n", 0, "t.conf:2: missing key name before '='" },
	{ "unterminated section", "[general\n", 0, "t.conf:1: a section header must be '[name]' alone" },
	{ "junk after section", "[general] x\n", 0, "t.conf:1: a section header must be '[name]' alone" },
	{ "NUL byte", "[domain]\nrealm = A\0B\n", 21, "t.conf:2: NUL byte in line" },
	{ "control character", "[domain]\nrealm = A\033[31mB\n", 0, "t.conf:2: control character 0x1b at column 10" },
	{ "bare CR inside a line", "[domain]\nrealm = A\rB\n", 0, "t.conf:2: control character 0x0d" },
	{ "CRLF keeps line numbers", "[domain]\r\n\r\nbogus = 1\r\n", 0, "t.conf:3: unknown key 'bogus' in [domain]" },
	{ "error on a last line without newline", "[domain]\nbogus = 1", 0, "t.conf:2: unknown key 'bogus'" },
	{ "bad log level", "[general]\nlog_level = loud\n", 0,
	  "t.conf:2: 'log_level' must be one of error, warning, info, debug; got 'loud'" },
	{ "bad journal", "[general]\njournal = sometimes\n", 0,
	  "t.conf:2: 'journal' must be auto, yes or no; got 'sometimes'" },
	{ "relative [user] path", "[user]\npem_dir = certs\n", 0,
	  "t.conf:2: 'pem_dir' in [user] must be an absolute path or start with ~/, got 'certs'" },
	{ "~user is not supported", "[user]\npem_dir = ~bob/certs\n", 0,
	  "t.conf:2: 'pem_dir' in [user] must be an absolute path or start with ~/" },
	{ "unknown expansion", "[user]\nstate_dir = /tmp/%h\n", 0,
	  "t.conf:2: 'state_dir': unknown expansion '%h' in '/tmp/%h'; only %u (user name) and %% are known" },
	{ "percent at the end", "[user]\nstate_dir = /tmp/%\n", 0, "t.conf:2: 'state_dir': unknown expansion" },
	{ "[user] has no machine keys", "[user]\nkeytab = /etc/krb5.keytab\n", 0,
	  "t.conf:2: unknown key 'keytab' in [user]; known keys: types, pem_dir, nss_db, archive_dir, state_dir" },
	{ "key mode others can read", "[store]\nkey_mode = 0644\n", 0,
	  "t.conf:2: 'key_mode' = 0644 would let every user read the private key; use 0600, or 0640 with key_group" },
	{ "mode not octal", "[store]\ncert_mode = 0x1a4\n", 0,
	  "t.conf:2: 'cert_mode' must be an octal file mode such as 0644" },
	{ "setuid mode", "[store]\ncert_mode = 4644\n", 0, "t.conf:2: 'cert_mode' must be an octal file mode" },
	{ "mode the owner cannot read", "[store]\nchain_mode = 0244\n", 0,
	  "t.conf:2: 'chain_mode' = 0244 leaves the file unreadable for its owner" },
	{ "owner with a colon", "[store]\nkey_owner = www-data:www-data\n", 0,
	  "t.conf:2: 'key_owner' must be a user or group name or a number, got 'www-data:www-data'" },
	{ "[template] without a name", "[template]\n", 0,
	  "t.conf:1: [template] needs the template name: [template WebServer]" },
	{ "[template] twice", "[template Web]\nkey_mode = 0600\n[template web]\n", 0,
	  "t.conf:3: [template web] appears twice; merge the two sections" },
	{ "[template] takes only ownership keys", "[template Web]\npem_dir = /x\n", 0,
	  "t.conf:2: unknown key 'pem_dir' in [template Web]; known keys: cert_owner, cert_group, cert_mode, "
	  "key_owner, key_group, key_mode, chain_owner, chain_group, chain_mode" },
	{ "duplicate key in [template]", "[template Web]\nkey_owner = a\nkey_owner = b\n", 0,
	  "t.conf:3: duplicate key 'key_owner' in [template Web] (first set on line 2)" },
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		char err[1024] = "";
		struct config cfg;
		int r = config_parse_buffer("t.conf", c->text, len, &cfg, err, sizeof(err));

		if (r != -1 || strncmp(err, c->error, strlen(c->error)) != 0)
			fail_msg("case '%s': got %d '%s', want -1 '%s...'", c->what, r, err, c->error);
		config_free(&cfg);
	}
}

static void test_long_line(void **state)
{
	size_t n = 10000;
	char *text = malloc(n + 32);
	struct config cfg;
	char err[256];

	(void)state;
	assert_non_null(text);
	strcpy(text, "[domain]\nrealm = ");
	memset(text + strlen(text), 'A', n);
	text[17 + n] = '\0';
	assert_int_equal(config_parse_buffer("t.conf", text, strlen(text), &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: line is longer than 4096 bytes");
	config_free(&cfg);
	free(text);
}

static void test_small_error_buffer(void **state)
{
	struct config cfg;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(parse("[nope]\n", &cfg, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	config_free(&cfg);
	assert_int_equal(parse("[nope]\n", &cfg, NULL, 0), -1);
	config_free(&cfg);
}

/* ---------------------------------------------------------------- syntax */

static void test_lists(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse("[domain]\ndcs = a.example.com,b.example.com  c.example.com ,, d\n"
			       "[enroll]\ncas =\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.dcs.n, 4);
	assert_string_equal(cfg.dcs.v[0], "a.example.com");
	assert_string_equal(cfg.dcs.v[1], "b.example.com");
	assert_string_equal(cfg.dcs.v[2], "c.example.com");
	assert_string_equal(cfg.dcs.v[3], "d");
	assert_int_equal(cfg.cas.n, 0);
	config_free(&cfg);
}

static void test_comments_and_blanks(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse("# top\n; also a comment\n\n   \t\n[domain]\n  # indented\n"
			       "\tsite\t=\tx#y  \n[ Enroll ]\nReuse_Key = On\n", &cfg, err, sizeof(err)), 0);
	/* Only whole lines are comments: '#' inside a value is data. */
	assert_string_equal(cfg.site, "x#y");
	assert_true(cfg.reuse_key);
	config_free(&cfg);
}

static void test_line_endings(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse("[domain]\r\nrealm = EXAMPLE.COM\r\nsite = S\r\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.realm, "EXAMPLE.COM");
	assert_string_equal(cfg.site, "S");
	config_free(&cfg);

	assert_int_equal(parse("[domain]\nrealm = NOEOL.COM", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.realm, "NOEOL.COM");
	config_free(&cfg);

	assert_int_equal(parse("\xef\xbb\xbf[domain]\nrealm = BOM.COM\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.realm, "BOM.COM");
	config_free(&cfg);
}

static void test_booleans(void **state)
{
	static const struct {
		const char *v;
		bool want;
	} cases[] = {
		{ "yes", true }, { "YES", true }, { "true", true }, { "1", true }, { "on", true },
		{ "no", false }, { "No", false }, { "false", false }, { "0", false }, { "off", false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		char err[256];
		struct config cfg;

		snprintf(text, sizeof(text), "[enroll]\nrenew_expiring = %s\n", cases[i].v);
		assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
		if (cfg.renew_expiring != cases[i].want)
			fail_msg("'%s' parsed as %d", cases[i].v, cfg.renew_expiring);
		config_free(&cfg);
	}
}

static void test_store_types(void **state)
{
	struct config cfg;
	char err[256];
	int r;

	(void)state;
	r = parse("[store]\ntypes = pem, nss\n", &cfg, err, sizeof(err));
#ifdef HAVE_NSS
	assert_int_equal(r, 0);
	assert_int_equal(cfg.store_types, STORE_PEM | STORE_NSS);
#else
	assert_int_equal(r, -1);
	assert_non_null(strstr(err, "t.conf:2: store type 'nss' is not available"));
#endif
	config_free(&cfg);
	assert_int_equal(parse("[store]\ntypes = PEM\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.store_types, STORE_PEM);
	config_free(&cfg);
}

/* ---------------------------------------------------------------- user mode */

static const char *my_name(void)
{
	const struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : getenv("USER");
}

static void test_user_mode_defaults(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	setenv("HOME", "/home/alice", 1);
	unsetenv("XDG_DATA_HOME");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(parse("[store]\ntypes = pem\nanchors_dir = /etc/anchors\n[general]\n"
			       "metrics_file = /m.prom\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_apply_user_mode(&cfg), 0);
	assert_string_equal(cfg.pem_dir, "/home/alice/.local/share/adenroll/certs");
	assert_string_equal(cfg.archive_dir, "/home/alice/.local/share/adenroll/archive");
	assert_string_equal(cfg.state_dir, "/home/alice/.local/share/adenroll");
	assert_string_equal(cfg.nss_db, "sql:/home/alice/.pki/nssdb");
	assert_string_equal(cfg.lock_file, "/run/user/1000/adenroll.lock");
	assert_int_equal(cfg.store_types, STORE_PEM);
	assert_null(cfg.anchors_dir);
	assert_null(cfg.metrics_file);
	config_free(&cfg);

	/* XDG_DATA_HOME when absolute; relative values are ignored (XDG spec). */
	setenv("XDG_DATA_HOME", "/data/alice", 1);
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(parse("", &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_apply_user_mode(&cfg), 0);
	assert_string_equal(cfg.pem_dir, "/data/alice/adenroll/certs");
	assert_string_equal(cfg.lock_file, "/data/alice/adenroll/run.lock");
	config_free(&cfg);

	setenv("XDG_DATA_HOME", "relative/data", 1);
	assert_int_equal(parse("", &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_apply_user_mode(&cfg), 0);
	assert_string_equal(cfg.pem_dir, "/home/alice/.local/share/adenroll/certs");
	config_free(&cfg);
	unsetenv("XDG_DATA_HOME");
}

static void test_user_mode_expansion(void **state)
{
	struct config cfg;
	char err[256];
	char want[512];
	const char *name = my_name();

	(void)state;
	assert_non_null(name);
	setenv("HOME", "/home/alice", 1);
	assert_int_equal(parse("[user]\npem_dir = ~/certs/%u\nnss_db = sql:~/.pki/nssdb-%u\n"
			       "archive_dir = /srv/%u/100%%\nstate_dir = ~\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(config_apply_user_mode(&cfg), 0);
	snprintf(want, sizeof(want), "/home/alice/certs/%s", name);
	assert_string_equal(cfg.pem_dir, want);
	snprintf(want, sizeof(want), "sql:/home/alice/.pki/nssdb-%s", name);
	assert_string_equal(cfg.nss_db, want);
	snprintf(want, sizeof(want), "/srv/%s/100%%", name);
	assert_string_equal(cfg.archive_dir, want);
	assert_string_equal(cfg.state_dir, "/home/alice");
	config_free(&cfg);

#ifdef HAVE_NSS
	/* [user] types is independent of [store] types. */
	assert_int_equal(parse("[store]\ntypes = pem\n[user]\ntypes = nss, pem\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.store_types, STORE_PEM);
	assert_int_equal(config_apply_user_mode(&cfg), 0);
	assert_int_equal(cfg.store_types, STORE_PEM | STORE_NSS);
	config_free(&cfg);
#endif
}

/* ---------------------------------------------------------------- files */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* anchors_dir = system: RHEL's anchor directory where it exists, else a
 * directory of adenroll's own under Debian's /usr/local/share/ca-certificates. */
static void test_system_anchors(void **state)
{
	char root[] = "/tmp/adenroll-test-anchors-XXXXXX";
	char p[600];
	struct config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse("[store]\nanchors_dir = system\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.anchors_dir, "system");
	config_free(&cfg);
	assert_int_equal(parse("[store]\nanchors_dir = systemx\n", &cfg, err, sizeof(err)), -1);
	config_free(&cfg);
	assert_non_null(mkdtemp(root));
	assert_null(config_system_anchors_dir(root));
	snprintf(p, sizeof(p), "mkdir -p %s/usr/local/share/ca-certificates", root);
	assert_int_equal(system(p), 0);
	assert_string_equal(config_system_anchors_dir(root), "/usr/local/share/ca-certificates/adenroll");
	snprintf(p, sizeof(p), "mkdir -p %s/etc/pki/ca-trust/source/anchors", root);
	assert_int_equal(system(p), 0);
	assert_string_equal(config_system_anchors_dir(root), "/etc/pki/ca-trust/source/anchors");
	snprintf(p, sizeof(p), "rm -rf %s", root);
	assert_int_equal(system(p), 0);
}

/* adenroll.conf.d/\*.conf: read after the file, in name order, each on top of
 * the others; other names are ignored; an error names the drop-in. */
static void test_dropins(void **state)
{
	char dir[] = "/tmp/adenroll-test-dropin-XXXXXX";
	char path[600], d[700], f[800], err[1024];
	struct config cfg;
	struct file_perms fp;

	(void)state;
	(void)err;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/adenroll.conf", dir);
	snprintf(d, sizeof(d), "%s.d", path);
	assert_int_equal(mkdir(d, 0755), 0);
	write_file(path, "[domain]\nrealm = FILE.COM\n[store]\npem_dir = /main\n[template Web]\nkey_mode = 0640\n");
	snprintf(f, sizeof(f), "%s/20-late.conf", d);
	write_file(f, "[store]\npem_dir = /late\n");
	snprintf(f, sizeof(f), "%s/10-early.conf", d);
	write_file(f, "[store]\npem_dir = /early\narchive_dir = /early-archive\n[template web]\nkey_owner = www-data\n");
	snprintf(f, sizeof(f), "%s/30-off.conf.dpkg-old", d);
	write_file(f, "[store]\nbogus = 1\n");
	assert_int_equal(config_load(path, false, &cfg), 0);
	assert_string_equal(cfg.realm, "FILE.COM");
	assert_string_equal(cfg.pem_dir, "/late");
	assert_string_equal(cfg.archive_dir, "/early-archive");
	assert_int_equal(cfg.n_tmpl_perms, 1);
	fp = config_file_perms(&cfg, "Web", STORE_FILE_KEY);
	assert_string_equal(fp.owner, "www-data");
	assert_int_equal(fp.mode, 0640);
	/* What the key process is handed: the texts read, which give the same
	 * configuration after the files changed. */
	assert_int_equal(cfg.source_names.n, 3);
	assert_string_equal(cfg.source_names.v[0], path);
	write_file(path, "[store]\npem_dir = /changed\n");
	struct config again;
	assert_int_equal(config_load_texts(&cfg.source_names, &cfg.source_texts, &again), 0);
	assert_string_equal(again.realm, "FILE.COM");
	assert_string_equal(again.pem_dir, "/late");
	assert_string_equal(again.archive_dir, "/early-archive");
	fp = config_file_perms(&again, "Web", STORE_FILE_KEY);
	assert_string_equal(fp.owner, "www-data");
	assert_int_equal(fp.mode, 0640);
	assert_int_equal(again.source_names.n, 3);
	config_free(&again);
	config_free(&cfg);
	/* Also without the main file. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(config_load(path, true, &cfg), 0);
	assert_string_equal(cfg.pem_dir, "/late");
	config_free(&cfg);
	snprintf(f, sizeof(f), "%s/40-bad.conf", d);
	write_file(f, "[store]\nbogus = 1\n");
	assert_int_equal(config_load(path, true, &cfg), -1);
	config_free(&cfg);
	unlink(f);
	snprintf(f, sizeof(f), "%s/10-early.conf", d);
	unlink(f);
	snprintf(f, sizeof(f), "%s/20-late.conf", d);
	unlink(f);
	snprintf(f, sizeof(f), "%s/30-off.conf.dpkg-old", d);
	unlink(f);
	rmdir(d);
	rmdir(dir);
}

static void test_load_files(void **state)
{
	char dir[] = "/tmp/adenroll-test-config-XXXXXX";
	char path[600];
	struct config cfg;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_int_equal(config_load(path, true, &cfg), 0);
	assert_null(cfg.path);
	assert_string_equal(cfg.keytab, "/etc/krb5.keytab");
	config_free(&cfg);
	assert_int_equal(config_load(path, false, &cfg), -1);
	config_free(&cfg);
	/* A directory is never a config file, optional or not. */
	assert_int_equal(config_load(dir, true, &cfg), -1);
	config_free(&cfg);

	snprintf(path, sizeof(path), "%s/adenroll.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[domain]\nrealm = FILE.COM\n", f);
	fclose(f);
	assert_int_equal(config_load(path, false, &cfg), 0);
	assert_string_equal(cfg.path, path);
	assert_string_equal(cfg.realm, "FILE.COM");
	config_free(&cfg);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[domain]\nrealm = FILE.COM\n[nope]\n", f);
	fclose(f);
	assert_int_equal(config_load(path, true, &cfg), -1);
	config_free(&cfg);
	unlink(path);
	rmdir(dir);
}


/* ---------------------------------------------------------------- shipped files */

static char *slurp(const char *rel, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	char *buf;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (set top_srcdir)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The keys a section knows, as the parser itself reports them. */
static void section_keys(const char *section, char *out, size_t outlen)
{
	char text[64], err[1024];
	struct config cfg;
	const char *list;

	snprintf(text, sizeof(text), "[%s]\nno_such_key = 1\n", section);
	assert_int_equal(parse(text, &cfg, err, sizeof(err)), -1);
	config_free(&cfg);
	list = strstr(err, "known keys: ");
	assert_non_null(list);
	snprintf(out, outlen, "%s", list + strlen("known keys: "));
}

/* etc/adenroll.conf shows every key commented out with its default, and
 * adenroll.conf(5) documents every key: uncommented, the file must parse. */
static void test_shipped_config_and_man_page(void **state)
{
	static const char *const sections[] = { "general", "domain", "machine", "enroll", "store", "user" };
	size_t len, manlen;
	char *conf = slurp("etc/adenroll.conf", &len);
	char *man = slurp("docs/adenroll.conf.5", &manlen);
	char *uncommented = malloc(len + 1);
	char err[1024];
	struct config cfg, def;
	size_t o = 0;

	(void)state;
	assert_non_null(uncommented);
	/* "#key = value" -> "key = value"; prose comments ("# ...") stay. */
	for (size_t i = 0; i < len; i++) {
		if (conf[i] == '#' && (i == 0 || conf[i - 1] == '\n') && conf[i + 1] >= 'a' && conf[i + 1] <= 'z')
			continue;
		uncommented[o++] = conf[i];
	}
	if (config_parse_buffer("etc/adenroll.conf", uncommented, o, &cfg, err, sizeof(err)) != 0)
		fail_msg("uncommented etc/adenroll.conf does not parse: %s", err);
	config_defaults(&def);
	assert_int_equal(cfg.min_rsa_bits, def.min_rsa_bits);
	assert_int_equal(cfg.reuse_key, def.reuse_key);
	assert_int_equal(cfg.allow_v1_templates, def.allow_v1_templates);
	assert_int_equal(cfg.renew_expiring, def.renew_expiring);
	assert_int_equal(cfg.update_templates, def.update_templates);
	assert_int_equal(cfg.http_timeout, def.http_timeout);
	assert_int_equal(cfg.archive_retention_days, def.archive_retention_days);
	assert_int_equal(cfg.store_types, def.store_types);
	assert_int_equal(cfg.log_level, def.log_level);
	assert_int_equal(cfg.journal, def.journal);
	assert_string_equal(cfg.keytab, def.keytab);
	/* like pem_dir, the default follows --localstatedir; the file shows /var */
	assert_string_equal(cfg.nss_db, "sql:/var/lib/adenroll/nssdb");
	assert_non_null(strstr(def.nss_db, "/lib/adenroll/nssdb"));
	assert_string_equal(cfg.lock_file, def.lock_file);
	config_free(&cfg);
	config_free(&def);

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		char keys[1024], header[64];
		char *save = NULL;
		const char *sec;

		section_keys(sections[i], keys, sizeof(keys));
		snprintf(header, sizeof(header), "\n.SH [%s]\n", sections[i]);
		sec = strstr(man, header);
		if (!sec)
			fail_msg("adenroll.conf.5 has no section %s", header + 1);
		for (char *k = strtok_r(keys, ", ", &save); k; k = strtok_r(NULL, ", ", &save)) {
			char want[128];
			const char *next = strstr(sec + 1, "\n.SH ");
			const char *hit;

			snprintf(want, sizeof(want), "\n#%s =", k);
			if (!strstr(conf, want))
				fail_msg("etc/adenroll.conf does not show [%s] %s", sections[i], k);
			snprintf(want, sizeof(want), "\n.BI %s \" = \"", k);
			hit = strstr(sec, want);
			if (!hit) {
				snprintf(want, sizeof(want), "\n.BR %s \" = \"", k);
				hit = strstr(sec, want);
			}
			if (!hit || (next && hit > next))
				fail_msg("adenroll.conf.5 does not document [%s] %s", sections[i], k);
		}
	}
	free(uncommented);
	free(conf);
	free(man);
}

/* [store] sets the defaults of every template, [template NAME] overrides
 * them field by field; unset fields fall back to the built-in modes. */
static void test_file_perms(void **state)
{
	struct config cfg;
	struct file_perms f;
	char err[256];

	(void)state;
	assert_int_equal(parse("", &cfg, err, sizeof(err)), 0);
	f = config_file_perms(&cfg, "WebServer", STORE_FILE_KEY);
	assert_null(f.owner);
	assert_null(f.group);
	assert_int_equal(f.mode, 0600);
	assert_int_equal(config_file_perms(&cfg, "WebServer", STORE_FILE_CERT).mode, 0644);
	assert_int_equal(config_file_perms(&cfg, NULL, STORE_FILE_CHAIN).mode, 0644);
	config_free(&cfg);

	assert_int_equal(parse("[store]\nkey_group = ssl-cert\nkey_mode = 0640\ncert_mode = 0444\n"
			       "[template \"Web Server\"]\nkey_owner = www-data\nkey_mode = 0400\n"
			       "chain_owner = 33\n[TEMPLATE Other]\ncert_group = staff\n",
			       &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_tmpl_perms, 2);
	f = config_file_perms(&cfg, "web server", STORE_FILE_KEY);
	assert_string_equal(f.owner, "www-data");
	assert_string_equal(f.group, "ssl-cert");
	assert_int_equal(f.mode, 0400);
	f = config_file_perms(&cfg, "Web Server", STORE_FILE_CHAIN);
	assert_string_equal(f.owner, "33");
	assert_int_equal(f.mode, 0644);
	f = config_file_perms(&cfg, "Other", STORE_FILE_CERT);
	assert_null(f.owner);
	assert_string_equal(f.group, "staff");
	assert_int_equal(f.mode, 0444);
	f = config_file_perms(&cfg, "Machine", STORE_FILE_KEY);
	assert_null(f.owner);
	assert_string_equal(f.group, "ssl-cert");
	assert_int_equal(f.mode, 0640);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_perms),
		cmocka_unit_test(test_dropins),
		cmocka_unit_test(test_system_anchors),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_store_types),
		cmocka_unit_test(test_user_mode_defaults),
		cmocka_unit_test(test_user_mode_expansion),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_shipped_config_and_man_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
