/* The Prometheus textfile (exact text, a format validator, atomic write,
 * last-success carried over failing runs) and hook directories (order,
 * skipped names, clean environment, permission refusals, failures and
 * timeouts that do not stop the run). */
#include "adenroll-build.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "fsutil.h"
#include "hooks.h"
#include "metrics.h"
#include "state.h"
#include "store.h"
#include "util.h"

static char *tmpdir;

static int setup(void **state)
{
	char tpl[] = "/tmp/adenroll-mh-XXXXXX";
	(void)state;
	char *d = mkdtemp(tpl);
	if (!d)
		return -1;
	tmpdir = xstrdup(d);
	return chmod(tmpdir, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tmpdir, tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	free(tmpdir);
	tmpdir = NULL;
	return 0;
}

/* ------------------------------------------------------------------ a validator
 * for the text exposition format 0.0.4, strict where our output must be. */

static bool name_ok(const char *s, size_t n, bool label)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return !(label && n >= 2 && s[0] == '_' && s[1] == '_');
}

static bool value_ok(const char *s)
{
	if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0)
		return true;
	char *end = NULL;
	errno = 0;
	strtod(s, &end);
	return *s && errno == 0 && end && *end == '\0';
}

static int label_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* NULL when valid, else a static sentence naming the bad line. */
static const char *prom_validate(const char *text)
{
	static char why[512];
	struct strlist typed = { 0 }, helped = { 0 }, closed = { 0 }, series = { 0 };
	char current[256] = "";
	const char *ret = NULL;
	int lineno = 0;
	char *copy = xstrdup(text);
	size_t tl = strlen(text);

#define BAD(...) do { snprintf(why, sizeof why, __VA_ARGS__); ret = why; goto out; } while (0)
	if (tl == 0 || text[tl - 1] != '\n')
		BAD("text does not end in a newline");
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#') {
			char kw[8], name[256];
			int off = 0;
			if (sscanf(line, "# %7s %255s %n", kw, name, &off) < 2 ||
			    (strcmp(kw, "HELP") != 0 && strcmp(kw, "TYPE") != 0))
				continue; /* a plain comment */
			if (!name_ok(name, strlen(name), false))
				BAD("line %d: bad metric name in %s", lineno, kw);
			if (strlist_contains_ci(&closed, name) || (current[0] && strcmp(current, name) != 0 &&
								   strlist_contains_ci(&typed, name)))
				BAD("line %d: %s for %s after its samples", lineno, kw, name);
			if (strcmp(kw, "TYPE") == 0) {
				const char *t = line + off;
				if (strcmp(t, "gauge") && strcmp(t, "counter") && strcmp(t, "untyped") &&
				    strcmp(t, "histogram") && strcmp(t, "summary"))
					BAD("line %d: bad type '%s'", lineno, t);
				if (strlist_contains_ci(&typed, name))
					BAD("line %d: second TYPE for %s", lineno, name);
				strlist_add(&typed, name);
			} else {
				if (strlist_contains_ci(&helped, name))
					BAD("line %d: second HELP for %s", lineno, name);
				strlist_add(&helped, name);
			}
			if (strcmp(current, name) != 0) {
				if (current[0])
					strlist_add(&closed, current);
				snprintf(current, sizeof current, "%s", name);
			}
			continue;
		}
		/* sample: name[{labels}] value */
		char *p = line;
		size_t nl = strcspn(p, "{ ");
		if (!name_ok(p, nl, false))
			BAD("line %d: bad metric name", lineno);
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)nl, p);
		if (strcmp(name, current) != 0 || !strlist_contains_ci(&typed, name) ||
		    !strlist_contains_ci(&helped, name))
			BAD("line %d: sample of %s without HELP and TYPE just before its family", lineno, name);
		p += nl;
		struct strlist labels = { 0 };
		char key[1024] = "";
		if (*p == '{') {
			p++;
			while (*p != '}') {
				size_t ln = strcspn(p, "=");
				if (!name_ok(p, ln, true) || p[ln] != '=' || p[ln + 1] != '"') {
					strlist_free(&labels);
					BAD("line %d: bad label syntax", lineno);
				}
				char lab[1024];
				size_t k = (size_t)snprintf(lab, sizeof lab, "%.*s=", (int)ln, p);
				p += ln + 2;
				while (*p && *p != '"') {
					if (*p == '\\') {
						if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
							strlist_free(&labels);
							BAD("line %d: bad escape in a label value", lineno);
						}
						if (k + 2 < sizeof lab) {
							lab[k++] = p[0];
							lab[k++] = p[1];
						}
						p += 2;
						continue;
					}
					if (k + 1 < sizeof lab)
						lab[k++] = *p;
					p++;
				}
				lab[k] = '\0';
				if (*p != '"') {
					strlist_free(&labels);
					BAD("line %d: unterminated label value", lineno);
				}
				p++;
				for (size_t i = 0; i < labels.n; i++)
					if (strncmp(labels.v[i], lab, ln + 1) == 0) {
						strlist_free(&labels);
						BAD("line %d: label repeated", lineno);
					}
				strlist_add(&labels, lab);
				if (*p == ',')
					p++;
				else if (*p != '}') {
					strlist_free(&labels);
					BAD("line %d: expected , or }", lineno);
				}
			}
			p++;
		}
		if (*p != ' ') {
			strlist_free(&labels);
			BAD("line %d: expected a space before the value", lineno);
		}
		p++;
		char val[64];
		snprintf(val, sizeof val, "%.*s", (int)strcspn(p, " "), p);
		if (!value_ok(val)) {
			strlist_free(&labels);
			BAD("line %d: bad value '%s'", lineno, val);
		}
		if (labels.n > 1)
			qsort(labels.v, labels.n, sizeof *labels.v, label_name_cmp);
		size_t kl = (size_t)snprintf(key, sizeof key, "%s", name);
		for (size_t i = 0; i < labels.n && kl < sizeof key; i++)
			kl += (size_t)snprintf(key + kl, sizeof key - kl, "|%s", labels.v[i]);
		strlist_free(&labels);
		for (size_t i = 0; i < series.n; i++)
			if (strcmp(series.v[i], key) == 0)
				BAD("line %d: duplicate series %s", lineno, key);
		strlist_add(&series, key);
	}
out:
#undef BAD
	strlist_free(&typed);
	strlist_free(&helped);
	strlist_free(&closed);
	strlist_free(&series);
	free(copy);
	return ret;
}

static void test_validator_rejects(void **state)
{
	(void)state;
	const char *good = "# HELP a_b x\n# TYPE a_b gauge\na_b{l=\"q\\\"\\\\\\n\"} 1\na_b{l=\"r\"} -2.5e3\n";
	assert_null(prom_validate(good));
	/* each of these must be caught, or the validator proves nothing */
	const char *bad[] = {
		"a 1\n",                                                   /* no HELP/TYPE */
		"# HELP a x\n# TYPE a gauge\na 1\na 2\n",                  /* duplicate series */
		"# HELP a x\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",      /* repeated label */
		"# HELP a x\n# TYPE a gauge\na{x=\"\\t\"} 1\n",            /* bad escape */
		"# HELP a x\n# TYPE a gauge\na{x=\"1} 1\n",                /* unterminated */
		"# HELP a x\n# TYPE a gauge\na one\n",                     /* bad value */
		"# HELP 1a x\n# TYPE 1a gauge\n1a 1\n",                    /* bad name */
		"# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na{y=\"1\"} 1\n",
		"# HELP a x\n# TYPE a gauge\na 1",                         /* no final newline */
		"# HELP a x\n# TYPE a flux\na 1\n",                        /* bad type */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (prom_validate(bad[i]) == NULL)
			fail_msg("validator accepted bad input %zu: %s", i, bad[i]);
	}
}

/* ------------------------------------------------------------------ metrics */

static X509 *make_cert(long serial, time_t nb, time_t na)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *c = X509_new();
	assert_non_null(k);
	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	ASN1_TIME_set(X509_getm_notBefore(c), nb);
	ASN1_TIME_set(X509_getm_notAfter(c), na);
	X509_NAME *n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, k);
	assert_true(X509_sign(c, k, EVP_sha256()) > 0);
	EVP_PKEY_free(k);
	return c;
}

#define NB 1700000000
#define DAY 86400
#define NOW 1710000000

static void item_init(struct store_item *it, const char *cn, long serial, long days, bool renewal)
{
	memset(it, 0, sizeof *it);
	it->store_name = "pem";
	it->template_cn = xstrdup(cn);
	it->ca_name = xstrdup("EXAMPLE-CA");
	it->cert = make_cert(serial, NB, NB + days * DAY);
	it->has_renewal = renewal;
	it->renewal_seconds = 42 * DAY;
	it->request_id = -1;
}

static void items_free(struct store_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].template_cn);
		free(v[i].ca_name);
		X509_free(v[i].cert);
	}
}

static void run_init(struct metrics_run *r, int exit_code)
{
	memset(r, 0, sizeof *r);
	r->started = NOW - 2;
	r->finished = NOW;
	r->duration_seconds = 1.5;
	r->exit_code = exit_code;
}

static void test_metrics_exact(void **state)
{
	(void)state;
	struct store_item items[2];
	/* out of order on purpose: the file is sorted by template */
	item_init(&items[0], "WebServer", 0x1B, 365, true);  /* period wins: notAfter - 42 d */
	item_init(&items[1], "Machine", 0x1A, 100, true);    /* 80 % wins */
	struct pending_request pr = { .template_cn = "Pend\"ing", .ca_name = "EXAMPLE-CA",
				      .submitted = NOW - 600, .request_id = 7 };
	struct metrics_run run;
	run_init(&run, ADENROLL_EXIT_CHANGED);
	run.enrolled = 1;
	run.pending = 1;
	run.last_success = NOW;

	char *text = metrics_format(items, 2, NULL, &pr, 1, &run);
	assert_non_null(text);
	const char *want =
		"# HELP adenroll_certificates_managed Certificates adenroll manages (one per template and store).\n"
		"# TYPE adenroll_certificates_managed gauge\n"
		"adenroll_certificates_managed 2\n"
		"# HELP adenroll_certificate_info Always 1; labels name the issuing CA and the certificate's serial number.\n"
		"# TYPE adenroll_certificate_info gauge\n"
		"adenroll_certificate_info{template=\"Machine\",store=\"pem\",ca=\"EXAMPLE-CA\",serial=\"1A\"} 1\n"
		"adenroll_certificate_info{template=\"WebServer\",store=\"pem\",ca=\"EXAMPLE-CA\",serial=\"1B\"} 1\n"
		"# HELP adenroll_certificate_not_after_seconds Expiry (notAfter) of the certificate, Unix time.\n"
		"# TYPE adenroll_certificate_not_after_seconds gauge\n"
		"adenroll_certificate_not_after_seconds{template=\"Machine\",store=\"pem\"} 1708640000\n"
		"adenroll_certificate_not_after_seconds{template=\"WebServer\",store=\"pem\"} 1731536000\n"
		"# HELP adenroll_certificate_seconds_to_expiry Seconds from the last run until the certificate expires (negative: expired).\n"
		"# TYPE adenroll_certificate_seconds_to_expiry gauge\n"
		"adenroll_certificate_seconds_to_expiry{template=\"Machine\",store=\"pem\"} -1360000\n"
		"adenroll_certificate_seconds_to_expiry{template=\"WebServer\",store=\"pem\"} 21536000\n"
		"# HELP adenroll_certificate_next_renewal_seconds When the certificate is due for renewal (renewal period or 80% of its lifetime), Unix time.\n"
		"# TYPE adenroll_certificate_next_renewal_seconds gauge\n"
		"adenroll_certificate_next_renewal_seconds{template=\"Machine\",store=\"pem\"} 1706912000\n"
		"adenroll_certificate_next_renewal_seconds{template=\"WebServer\",store=\"pem\"} 1727907200\n"
		"# HELP adenroll_pending_requests Certificate requests waiting for a CA manager's approval.\n"
		"# TYPE adenroll_pending_requests gauge\n"
		"adenroll_pending_requests 1\n"
		"# HELP adenroll_pending_request_age_seconds Seconds since the pending request was submitted.\n"
		"# TYPE adenroll_pending_request_age_seconds gauge\n"
		"adenroll_pending_request_age_seconds{template=\"Pend\\\"ing\",ca=\"EXAMPLE-CA\"} 600\n"
		"# HELP adenroll_last_run_timestamp_seconds When the last run ended, Unix time.\n"
		"# TYPE adenroll_last_run_timestamp_seconds gauge\n"
		"adenroll_last_run_timestamp_seconds 1710000000\n"
		"# HELP adenroll_last_run_start_timestamp_seconds When the last run started, Unix time.\n"
		"# TYPE adenroll_last_run_start_timestamp_seconds gauge\n"
		"adenroll_last_run_start_timestamp_seconds 1709999998\n"
		"# HELP adenroll_last_run_exit_code Exit status of the last run: 0 nothing to do, 3 changed, 1 failed, 4 partial (adenroll(8)).\n"
		"# TYPE adenroll_last_run_exit_code gauge\n"
		"adenroll_last_run_exit_code 3\n"
		"# HELP adenroll_last_run_success 1 when the last run succeeded (exit status 0 or 3), else 0.\n"
		"# TYPE adenroll_last_run_success gauge\n"
		"adenroll_last_run_success 1\n"
		"# HELP adenroll_last_run_duration_seconds How long the last run took.\n"
		"# TYPE adenroll_last_run_duration_seconds gauge\n"
		"adenroll_last_run_duration_seconds 1.500\n"
		"# HELP adenroll_last_run_certificates Templates by outcome in the last run.\n"
		"# TYPE adenroll_last_run_certificates gauge\n"
		"adenroll_last_run_certificates{result=\"enrolled\"} 1\n"
		"adenroll_last_run_certificates{result=\"renewed\"} 0\n"
		"adenroll_last_run_certificates{result=\"pending\"} 1\n"
		"adenroll_last_run_certificates{result=\"denied\"} 0\n"
		"adenroll_last_run_certificates{result=\"failed\"} 0\n"
		"# HELP adenroll_last_run_offline_expiring_certificates Certificates with less than "
		"OfflineExpirationPercent of their lifetime left in the last run.\n"
		"# TYPE adenroll_last_run_offline_expiring_certificates gauge\n"
		"adenroll_last_run_offline_expiring_certificates 0\n"
		"# HELP adenroll_autoenrollment_disabled 1 when the autoenrollment policy (AEPolicy 0x8000, or no "
		"readable policy) stopped the last run.\n"
		"# TYPE adenroll_autoenrollment_disabled gauge\n"
		"adenroll_autoenrollment_disabled 0\n"
		"# HELP adenroll_policy_degraded 1 when Group Policy could not be read in the last run (cached policy "
		"used, exit status 5).\n"
		"# TYPE adenroll_policy_degraded gauge\n"
		"adenroll_policy_degraded 0\n"
		"# HELP adenroll_last_success_timestamp_seconds When a run last succeeded (exit status 0 or 3), Unix time.\n"
		"# TYPE adenroll_last_success_timestamp_seconds gauge\n"
		"adenroll_last_success_timestamp_seconds 1710000000\n";
	assert_string_equal(text, want);
	assert_null(prom_validate(text));
	free(text);

	/* renew_at given by the caller (policy decisions) wins; 0 omits the series */
	time_t at[2] = { 1720000000, 0 };
	text = metrics_format(items, 2, at, NULL, 0, &run);
	assert_non_null(strstr(text, "adenroll_certificate_next_renewal_seconds{template=\"WebServer\",store=\"pem\"} 1720000000\n"));
	assert_null(strstr(text, "adenroll_certificate_next_renewal_seconds{template=\"Machine\""));
	assert_null(strstr(text, "adenroll_pending_request_age_seconds"));
	assert_non_null(strstr(text, "adenroll_pending_requests 0\n"));
	assert_null(prom_validate(text));
	free(text);
	items_free(items, 2);
}

static void test_metrics_escaping_duplicates_empty(void **state)
{
	(void)state;
	struct store_item items[3];
	item_init(&items[0], "We\"ird\\Name\nX", 1, 30, false);
	item_init(&items[1], "Same", 2, 30, false);
	item_init(&items[2], "Same", 3, 30, false);   /* the same series again: dropped */
	struct metrics_run run;
	run_init(&run, ADENROLL_EXIT_FAILURE);
	char *text = metrics_format(items, 3, NULL, NULL, 0, &run);
	const char *why = prom_validate(text);
	if (why)
		fail_msg("%s\n%s", why, text);
	assert_non_null(strstr(text, "{template=\"We\\\"ird\\\\Name\\nX\",store=\"pem\"}"));
	assert_non_null(strstr(text, "adenroll_certificates_managed 2\n"));
	assert_non_null(strstr(text, "serial=\"02\"} 1\n"));   /* BN_bn2hex: whole bytes */
	assert_null(strstr(text, "serial=\"03\""));
	assert_non_null(strstr(text, "adenroll_last_run_success 0\n"));
	assert_non_null(strstr(text, "adenroll_last_run_exit_code 1\n"));
	assert_null(strstr(text, "adenroll_last_success_timestamp_seconds"));   /* never succeeded */
	free(text);

	text = metrics_format(NULL, 0, NULL, NULL, 0, &run);
	assert_null(prom_validate(text));
	assert_non_null(strstr(text, "adenroll_certificates_managed 0\n"));
	assert_null(strstr(text, "adenroll_certificate_not_after_seconds"));
	free(text);
	items_free(items, 3);
}

static void test_metrics_write_atomic(void **state)
{
	(void)state;
	struct metrics_run run;
	run_init(&run, ADENROLL_EXIT_OK);
	char *path = fs_path_join(tmpdir, "adenroll.prom");
	char *other = fs_path_join(tmpdir, "other");
	/* a symlink at the path is replaced, never followed */
	assert_int_equal(fs_write_atomic(other, "keep\n", 5, 0600, (uid_t)-1), 0);
	assert_int_equal(symlink(other, path), 0);
	mode_t old = umask(077);
	assert_int_equal(metrics_write(path, NULL, 0, NULL, NULL, 0, &run), 0);
	umask(old);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	unsigned char *data = NULL, *orig = NULL;
	assert_int_equal(fs_read_file(path, 1 << 20, &data, NULL), 0);
	char *want = metrics_format(NULL, 0, NULL, NULL, 0, &run);
	assert_string_equal((char *)data, want);
	assert_int_equal(fs_read_file(other, 100, &orig, NULL), 0);
	assert_string_equal((char *)orig, "keep\n");
	free(want);
	free(data);
	free(orig);
	/* an unwritable place fails with -1, it does not crash */
	assert_int_equal(metrics_write("/nonexistent-dir/x.prom", NULL, 0, NULL, NULL, 0, &run), -1);
	free(path);
	free(other);
}

static void test_metrics_for_run_last_success(void **state)
{
	(void)state;
	struct config cfg;
	config_defaults(&cfg);
	struct metrics_run run;
	run_init(&run, ADENROLL_EXIT_OK);
	/* unset metrics_file: nothing written, success */
	free(cfg.metrics_file);
	cfg.metrics_file = NULL;
	assert_int_equal(metrics_write_for_run(&cfg, ADENROLL_MODE_MACHINE, &run), 0);

	free(cfg.pem_dir);
	free(cfg.archive_dir);
	free(cfg.state_dir);
	cfg.pem_dir = fs_path_join(tmpdir, "certs");
	cfg.archive_dir = fs_path_join(tmpdir, "archive");
	cfg.state_dir = fs_path_join(tmpdir, "state");
	cfg.metrics_file = fs_path_join(tmpdir, "m.prom");
	assert_int_equal(metrics_write_for_run(&cfg, ADENROLL_MODE_MACHINE, &run), 0);
	assert_int_equal(run.last_success, NOW);
	unsigned char *data = NULL;
	assert_int_equal(fs_read_file(cfg.metrics_file, 1 << 20, &data, NULL), 0);
	assert_null(prom_validate((char *)data));
	assert_non_null(strstr((char *)data, "adenroll_last_success_timestamp_seconds 1710000000\n"));
	free(data);

	/* a failing run later: the last success stays what it was */
	run_init(&run, ADENROLL_EXIT_FAILURE);
	run.finished = NOW + 3600;
	assert_int_equal(metrics_write_for_run(&cfg, ADENROLL_MODE_MACHINE, &run), 0);
	assert_int_equal(run.last_success, NOW);
	assert_int_equal(fs_read_file(cfg.metrics_file, 1 << 20, &data, NULL), 0);
	assert_non_null(strstr((char *)data, "adenroll_last_success_timestamp_seconds 1710000000\n"));
	assert_non_null(strstr((char *)data, "adenroll_last_run_timestamp_seconds 1710003600\n"));
	assert_non_null(strstr((char *)data, "adenroll_last_run_success 0\n"));
	free(data);
	config_free(&cfg);
}

/* ------------------------------------------------------------------ hooks */

static char *hookdir;

static int hooks_setup(void **state)
{
	if (setup(state) != 0)
		return -1;
	hookdir = fs_path_join(tmpdir, "hooks.d");
	return mkdir(hookdir, 0755);
}

static int hooks_teardown(void **state)
{
	free(hookdir);
	hookdir = NULL;
	return teardown(state);
}

/* A shell hook that appends "<name> <arg1> <event> <template>" to tmpdir/log. */
static void write_hook(const char *dir, const char *name, mode_t mode, const char *extra)
{
	char *path = fs_path_join(dir, name);
	char *body = xasprintf("#!/bin/sh\necho \"%s $1 $ADENROLL_EVENT $ADENROLL_TEMPLATE\" >> '%s/log'\n%s\n",
			       name, tmpdir, extra ? extra : "");
	assert_int_equal(fs_write_atomic(path, body, strlen(body), mode, (uid_t)-1), 0);
	free(body);
	free(path);
}

static char *read_log(void)
{
	char *path = fs_path_join(tmpdir, "log");
	unsigned char *data = NULL;
	if (fs_read_file(path, 1 << 20, &data, NULL) < 0)
		data = (unsigned char *)xstrdup("");
	unlink(path);
	free(path);
	return (char *)data;
}

static void test_hooks_order_and_skips(void **state)
{
	(void)state;
	struct hook_env env = { .template_cn = "Machine", .request_id = -1 };
	write_hook(hookdir, "20-b", 0755, NULL);
	write_hook(hookdir, "10-a", 0700, NULL);
	write_hook(hookdir, "B-upper", 0755, NULL);          /* 'B' < 'a' in byte order */
	write_hook(hookdir, "05-noexec", 0644, NULL);
	write_hook(hookdir, ".hidden", 0755, NULL);
	write_hook(hookdir, "30-backup~", 0755, NULL);
	write_hook(hookdir, "40-x.dpkg-old", 0755, NULL);
	write_hook(hookdir, "41-x.rpmnew", 0755, NULL);
	char *ren = fs_path_join(hookdir, "renewed.d"), *enr = fs_path_join(hookdir, "enrolled.d");
	assert_int_equal(mkdir(ren, 0755), 0);
	assert_int_equal(mkdir(enr, 0755), 0);
	write_hook(ren, "00-renewed-only", 0755, NULL);
	write_hook(enr, "00-enrolled-only", 0755, NULL);

	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_RENEWED, &env), 0);
	char *log = read_log();
	assert_string_equal(log, "10-a renewed renewed Machine\n"
				 "20-b renewed renewed Machine\n"
				 "B-upper renewed renewed Machine\n"
				 "00-renewed-only renewed renewed Machine\n");
	free(log);
	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_ENROLLED, &env), 0);
	log = read_log();
	assert_string_equal(log, "10-a enrolled enrolled Machine\n"
				 "20-b enrolled enrolled Machine\n"
				 "B-upper enrolled enrolled Machine\n"
				 "00-enrolled-only enrolled enrolled Machine\n");
	free(log);

	/* nothing to run is not a failure; a bad event name is */
	char *missing = fs_path_join(tmpdir, "no-such-dir");
	assert_int_equal(hooks_run(missing, HOOK_EVENT_FAILED, &env), 0);
	assert_int_equal(hooks_run(NULL, HOOK_EVENT_FAILED, &env), 0);
	assert_int_equal(hooks_run(hookdir, "../../bin", &env), 1);
	log = read_log();
	assert_string_equal(log, "");
	free(log);
	free(missing);
	free(ren);
	free(enr);
}

static void test_hooks_environment(void **state)
{
	(void)state;
	char *envfile = fs_path_join(tmpdir, "env");
	char *extra = xasprintf("env | grep -v -E '^(PWD|SHLVL|_|OLDPWD)=' | LC_ALL=C sort > '%s'\n"
				"readlink /proc/$$/fd/0 >> '%s'\npwd >> '%s'", envfile, envfile, envfile);
	write_hook(hookdir, "10-env", 0755, extra);
	setenv("ADENROLL_LEAK", "secret", 1);
	setenv("KRB5CCNAME", "MEMORY:adenroll-1", 1);
	struct hook_env env = {
		.template_cn = "Web Server", .cert_path = "/c/Web.crt", .key_path = "/c/Web.key",
		.chain_path = "/c/Web.chain", .archived_path = "/a/Web-1", .ca_name = "EXAMPLE-CA",
		.serial = "1A2B", .not_after = 1710000000, .request_id = 42, .message = NULL,
		.mode = "machine",
	};
	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_RENEWED, &env), 0);
	unsetenv("ADENROLL_LEAK");
	unsetenv("KRB5CCNAME");
	unsigned char *data = NULL;
	assert_int_equal(fs_read_file(envfile, 1 << 16, &data, NULL), 0);
	assert_string_equal((char *)data,
			    "ADENROLL_ARCHIVED=/a/Web-1\n"
			    "ADENROLL_CA=EXAMPLE-CA\n"
			    "ADENROLL_CERT=/c/Web.crt\n"
			    "ADENROLL_CHAIN=/c/Web.chain\n"
			    "ADENROLL_EVENT=renewed\n"
			    "ADENROLL_KEY=/c/Web.key\n"
			    "ADENROLL_MESSAGE=\n"
			    "ADENROLL_MODE=machine\n"
			    "ADENROLL_NOT_AFTER=2024-03-09T16:00:00Z\n"
			    "ADENROLL_REQUEST_ID=42\n"
			    "ADENROLL_SERIAL=1A2B\n"
			    "ADENROLL_TEMPLATE=Web Server\n"
			    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
			    "/dev/null\n"
			    "/\n");
	free(data);
	free(envfile);
	free(extra);
	free(read_log());
}

static void test_hooks_unsafe_refused(void **state)
{
	(void)state;
	struct hook_env env = { .template_cn = "Machine", .request_id = -1 };
	char *gw = fs_path_join(hookdir, "10-group-writable");
	write_hook(hookdir, "10-group-writable", 0755, NULL);
	assert_int_equal(chmod(gw, 0775), 0);
	write_hook(hookdir, "20-world-writable", 0755, NULL);
	char *ww = fs_path_join(hookdir, "20-world-writable");
	assert_int_equal(chmod(ww, 0757), 0);
	write_hook(hookdir, "30-fine", 0755, NULL);
	int expected = 2;
	if (geteuid() == 0) {
		/* owned by someone else (neither root nor us) */
		write_hook(hookdir, "25-foreign", 0755, NULL);
		char *fo = fs_path_join(hookdir, "25-foreign");
		assert_int_equal(chown(fo, 4242, 4242), 0);
		expected = 3;
		free(fo);
	}
	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_ENROLLED, &env), expected);
	char *log = read_log();
	assert_string_equal(log, "30-fine enrolled enrolled Machine\n");
	free(log);

	/* an unsafe directory: nothing in it runs (nor its event directory), counted once */
	assert_int_equal(chmod(hookdir, 0777), 0);
	char *sub = fs_path_join(hookdir, "enrolled.d");
	assert_int_equal(mkdir(sub, 0755), 0);
	write_hook(sub, "10-sub", 0755, NULL);
	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_ENROLLED, &env), 1);
	log = read_log();
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(chmod(hookdir, 0755), 0);
	/* an unsafe event directory alone */
	assert_int_equal(chmod(sub, 0770), 0);
	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_ENROLLED, &env), expected + 1);
	log = read_log();
	assert_string_equal(log, "30-fine enrolled enrolled Machine\n");
	free(log);
	free(sub);
	free(gw);
	free(ww);
}

static void test_hooks_failure_not_fatal(void **state)
{
	(void)state;
	struct hook_env env = { .template_cn = "Machine", .request_id = -1 };
	write_hook(hookdir, "10-fails", 0755, "echo 'reload failed' >&2; exit 3");
	write_hook(hookdir, "20-signal", 0755, "kill -KILL $$");
	write_hook(hookdir, "30-ok", 0755, "echo fine");
	char *bad = fs_path_join(hookdir, "15-bad-interp");
	assert_int_equal(fs_write_atomic(bad, "#!/nonexistent/sh\n", 18, 0755, (uid_t)-1), 0);
	assert_int_equal(hooks_run(hookdir, HOOK_EVENT_FAILED, &env), 3);
	char *log = read_log();
	assert_string_equal(log, "10-fails failed failed Machine\n"
				 "20-signal failed failed Machine\n"
				 "30-ok failed failed Machine\n");
	free(log);
	free(bad);
}

static void test_hooks_timeout_kills_group(void **state)
{
	(void)state;
	struct hook_env env = { .template_cn = "Machine", .request_id = -1 };
	char *pidfile = fs_path_join(tmpdir, "bgpid");
	char *extra = xasprintf("sleep 300 &\necho $! > '%s'\nwait", pidfile);
	write_hook(hookdir, "10-hangs", 0755, extra);
	write_hook(hookdir, "20-after", 0755, NULL);
	time_t t0 = time(NULL);
	assert_int_equal(hooks_run_timeout(hookdir, HOOK_EVENT_PENDING, &env, 1), 1);
	assert_true(time(NULL) - t0 < 10);
	char *log = read_log();
	assert_string_equal(log, "10-hangs pending pending Machine\n20-after pending pending Machine\n");
	free(log);
	/* the hook's background child went with it (gone, or a zombie for init) */
	unsigned char *data = NULL;
	assert_int_equal(fs_read_file(pidfile, 64, &data, NULL), 0);
	long bg = strtol((char *)data, NULL, 10);
	assert_true(bg > 1);
	bool dead = false;
	for (int i = 0; i < 50 && !dead; i++) {
		char *st = xasprintf("/proc/%ld/stat", bg);
		FILE *f = fopen(st, "r");
		if (!f) {
			dead = true;
		} else {
			char s[512] = "";
			if (fgets(s, sizeof s, f)) {
				char *rp = strrchr(s, ')');
				dead = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
			}
			fclose(f);
		}
		free(st);
		if (!dead)
			usleep(100000);
	}
	assert_true(dead);
	free(data);
	free(extra);
	free(pidfile);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_rejects),
		cmocka_unit_test(test_metrics_exact),
		cmocka_unit_test(test_metrics_escaping_duplicates_empty),
		cmocka_unit_test_setup_teardown(test_metrics_write_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_for_run_last_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hooks_order_and_skips, hooks_setup, hooks_teardown),
		cmocka_unit_test_setup_teardown(test_hooks_environment, hooks_setup, hooks_teardown),
		cmocka_unit_test_setup_teardown(test_hooks_unsafe_refused, hooks_setup, hooks_teardown),
		cmocka_unit_test_setup_teardown(test_hooks_failure_not_fatal, hooks_setup, hooks_teardown),
		cmocka_unit_test_setup_teardown(test_hooks_timeout_kills_group, hooks_setup, hooks_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
