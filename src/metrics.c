/* Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/
 * exposition_formats): "# HELP", "# TYPE", then samples of that family; label
 * values escape backslash, double quote and newline. */
#include "adenroll-build.h"

#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "fsutil.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/* The file is read by node_exporter (its own user): world-readable, it holds
 * nothing secret (template names, dates, exit codes). */
#define METRICS_FILE_MODE 0644
#define LAST_SUCCESS_FILE "last-success"

static void label_value(FILE *f, const char *v)
{
	fputc('"', f);
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void cert_labels(FILE *f, const struct store_item *it)
{
	fputs("{template=", f);
	label_value(f, it->template_cn);
	fputs(",store=", f);
	label_value(f, it->store_name);
	fputc('}', f);
}

static int item_cmp(const struct store_item *a, const struct store_item *b)
{
	int c = strcmp(a->template_cn ? a->template_cn : "", b->template_cn ? b->template_cn : "");
	if (c)
		return c;
	return strcmp(a->store_name ? a->store_name : "", b->store_name ? b->store_name : "");
}

/* Indexes of the items to report, sorted, each (template, store) once: the
 * first one listed wins.  qsort of pointers into items on (key, position),
 * so a thousand certificates cost n log n, not n squared. */
static int ptr_cmp(const void *pa, const void *pb)
{
	const struct store_item *a = *(const struct store_item *const *)pa, *b = *(const struct store_item *const *)pb;
	int c = item_cmp(a, b);
	return c ? c : (a > b) - (a < b);
}

static size_t sorted_unique(const struct store_item *items, size_t n, size_t *idx)
{
	const struct store_item **p = xcalloc(n + 1, sizeof *p);
	size_t m = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].template_cn && (items[i].cert || items[i].has_facts))
			p[m++] = &items[i];
	qsort(p, m, sizeof *p, ptr_cmp);
	for (size_t i = 0; i < m; i++)
		if (k == 0 || item_cmp(&items[idx[k - 1]], p[i]) != 0)
			idx[k++] = (size_t)(p[i] - items);
	free(p);
	return k;
}

/* The listing's facts when it has them (store.h): the held-certificate
 * index spares the parse; items built by hand carry only the certificate. */
static time_t item_not_after(const struct store_item *it)
{
	return it->has_facts ? it->not_after : cert_not_after(it->cert);
}

static time_t item_renew_at(const struct store_item *it)
{
	time_t nb = it->has_facts ? it->not_before : cert_not_before(it->cert);
	time_t na = item_not_after(it);
	time_t at, by_p, by_80;
	enum policy_renew_basis basis;
	if (nb == (time_t)-1 || na == (time_t)-1)
		return 0;
	policy_renewal_dates(nb, na, it->has_renewal, it->renewal_seconds, &at, &by_p, &by_80, &basis);
	return at;
}

char *metrics_format(const struct store_item *items, size_t n, const time_t *renew_at,
		     const struct pending_request *pending, size_t n_pending, const struct metrics_run *run)
{
	char *buf = NULL;
	size_t len = 0;
	size_t *idx = xcalloc(n + 1, sizeof *idx);
	size_t k = sorted_unique(items, n, idx);
	time_t now = run->finished;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		free(idx);
		return NULL;
	}

	family(f, "adenroll_certificates_managed", "gauge",
	       "Certificates adenroll manages (one per template and store).");
	fprintf(f, "adenroll_certificates_managed %zu\n", k);

	if (k > 0) {
		family(f, "adenroll_certificate_info", "gauge",
		       "Always 1; labels name the issuing CA and the certificate's serial number.");
		for (size_t i = 0; i < k; i++) {
			const struct store_item *it = &items[idx[i]];
			char serial[sizeof it->serial] = "";
			if (it->has_facts)
				snprintf(serial, sizeof serial, "%s", it->serial);
			else if (cert_serial_hex(it->cert, serial, sizeof serial) < 0)
				serial[0] = '\0';
			fputs("adenroll_certificate_info{template=", f);
			label_value(f, it->template_cn);
			fputs(",store=", f);
			label_value(f, it->store_name);
			fputs(",ca=", f);
			label_value(f, it->ca_name);
			fputs(",serial=", f);
			label_value(f, serial);
			fputs("} 1\n", f);
		}
		family(f, "adenroll_certificate_not_after_seconds", "gauge",
		       "Expiry (notAfter) of the certificate, Unix time.");
		for (size_t i = 0; i < k; i++) {
			fputs("adenroll_certificate_not_after_seconds", f);
			cert_labels(f, &items[idx[i]]);
			fprintf(f, " %" PRId64 "\n", (int64_t)item_not_after(&items[idx[i]]));
		}
		family(f, "adenroll_certificate_seconds_to_expiry", "gauge",
		       "Seconds from the last run until the certificate expires (negative: expired).");
		for (size_t i = 0; i < k; i++) {
			fputs("adenroll_certificate_seconds_to_expiry", f);
			cert_labels(f, &items[idx[i]]);
			fprintf(f, " %" PRId64 "\n", (int64_t)item_not_after(&items[idx[i]]) - (int64_t)now);
		}
		family(f, "adenroll_certificate_next_renewal_seconds", "gauge",
		       "When the certificate is due for renewal (renewal period or 80% of its lifetime), Unix time.");
		for (size_t i = 0; i < k; i++) {
			time_t at = renew_at ? renew_at[idx[i]] : item_renew_at(&items[idx[i]]);
			if (at <= 0)
				continue;
			fputs("adenroll_certificate_next_renewal_seconds", f);
			cert_labels(f, &items[idx[i]]);
			fprintf(f, " %" PRId64 "\n", (int64_t)at);
		}
	}

	family(f, "adenroll_pending_requests", "gauge",
	       "Certificate requests waiting for a CA manager's approval.");
	fprintf(f, "adenroll_pending_requests %zu\n", n_pending);
	if (n_pending > 0) {
		family(f, "adenroll_pending_request_age_seconds", "gauge",
		       "Seconds since the pending request was submitted.");
		/* one series per template: state keeps one request per template */
		for (size_t i = 0; i < n_pending; i++) {
			bool dup = false;
			for (size_t j = 0; j < i; j++)
				dup = dup || strcmp(pending[j].template_cn ? pending[j].template_cn : "",
						    pending[i].template_cn ? pending[i].template_cn : "") == 0;
			if (dup)
				continue;
			fputs("adenroll_pending_request_age_seconds{template=", f);
			label_value(f, pending[i].template_cn);
			fputs(",ca=", f);
			label_value(f, pending[i].ca_name);
			fprintf(f, "} %" PRId64 "\n",
				pending[i].submitted > 0 ? (int64_t)now - (int64_t)pending[i].submitted : (int64_t)0);
		}
	}

	family(f, "adenroll_last_run_timestamp_seconds", "gauge", "When the last run ended, Unix time.");
	fprintf(f, "adenroll_last_run_timestamp_seconds %" PRId64 "\n", (int64_t)run->finished);
	family(f, "adenroll_last_run_start_timestamp_seconds", "gauge", "When the last run started, Unix time.");
	fprintf(f, "adenroll_last_run_start_timestamp_seconds %" PRId64 "\n", (int64_t)run->started);
	family(f, "adenroll_last_run_exit_code", "gauge",
	       "Exit status of the last run: 0 nothing to do, 3 changed, 1 failed, 4 partial (adenroll(8)).");
	fprintf(f, "adenroll_last_run_exit_code %d\n", run->exit_code);
	family(f, "adenroll_last_run_success", "gauge", "1 when the last run succeeded (exit status 0 or 3), else 0.");
	fprintf(f, "adenroll_last_run_success %d\n", METRICS_EXIT_IS_SUCCESS(run->exit_code) ? 1 : 0);
	family(f, "adenroll_last_run_duration_seconds", "gauge", "How long the last run took.");
	fprintf(f, "adenroll_last_run_duration_seconds %.3f\n",
		run->duration_seconds > 0 ? run->duration_seconds : 0.0);
	family(f, "adenroll_last_run_certificates", "gauge",
	       "Templates by outcome in the last run.");
	static const char *const results[] = { "enrolled", "renewed", "pending", "denied", "failed" };
	const unsigned counts[] = { run->enrolled, run->renewed, run->pending, run->denied, run->failed };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		fprintf(f, "adenroll_last_run_certificates{result=\"%s\"} %u\n", results[i], counts[i]);
	family(f, "adenroll_last_run_offline_expiring_certificates", "gauge",
	       "Certificates with less than OfflineExpirationPercent of their lifetime left in the last run.");
	fprintf(f, "adenroll_last_run_offline_expiring_certificates %u\n", run->offline_expiring);
	family(f, "adenroll_autoenrollment_disabled", "gauge",
	       "1 when the autoenrollment policy (AEPolicy 0x8000, or no readable policy) stopped the last run.");
	fprintf(f, "adenroll_autoenrollment_disabled %d\n", run->policy_disabled ? 1 : 0);
	family(f, "adenroll_policy_degraded", "gauge",
	       "1 when Group Policy could not be read in the last run (cached policy used, exit status 5).");
	fprintf(f, "adenroll_policy_degraded %d\n", run->policy_degraded ? 1 : 0);
	if (run->last_success > 0) {
		family(f, "adenroll_last_success_timestamp_seconds", "gauge",
		       "When a run last succeeded (exit status 0 or 3), Unix time.");
		fprintf(f, "adenroll_last_success_timestamp_seconds %" PRId64 "\n", (int64_t)run->last_success);
	}

	free(idx);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int metrics_write(const char *path, const struct store_item *items, size_t n, const time_t *renew_at,
		  const struct pending_request *pending, size_t n_pending, const struct metrics_run *run)
{
	char *text = metrics_format(items, n, renew_at, pending, n_pending, run);
	if (!text) {
		log_error("cannot format the metrics for %s: out of memory", path);
		return -1;
	}
	int rc = fs_write_atomic(path, text, strlen(text), METRICS_FILE_MODE, (uid_t)-1);
	if (rc < 0)
		log_error("cannot write the metrics file %s (metrics_file in [general]); the run itself is "
			  "unaffected", path);
	else
		log_debug("metrics written to %s", path);
	free(text);
	return rc;
}

/* state_dir/last-success holds the Unix time of the last successful run, so
 * the metric survives failing runs (the alert that matters: "no success for
 * a day"). */
static time_t last_success_update(const struct config *cfg, const struct metrics_run *run)
{
	time_t t = 0;
	char *path = fs_path_join(cfg->state_dir, LAST_SUCCESS_FILE);
	if (METRICS_EXIT_IS_SUCCESS(run->exit_code)) {
		char buf[32];
		int len = snprintf(buf, sizeof buf, "%" PRId64 "\n", (int64_t)run->finished);
		t = run->finished;
		if (fs_mkdir_p(cfg->state_dir, 0755) < 0 ||
		    fs_write_atomic(path, buf, (size_t)len, 0644, (uid_t)-1) < 0)
			log_warn("cannot record the last successful run in %s", path);
	} else {
		unsigned char *data = NULL;
		if (fs_read_file(path, 64, &data, NULL) == 0) {
			char *end = NULL;
			errno = 0;
			long long v = strtoll((const char *)data, &end, 10);
			if (errno == 0 && end != (char *)data && v > 0)
				t = (time_t)v;
		}
		free(data);
	}
	free(path);
	return t;
}

int metrics_write_for_run(const struct config *cfg, enum adenroll_mode mode, struct metrics_run *run)
{
	struct store *s = NULL;
	struct store_item *items = NULL;
	size_t n = 0, n_pending = 0;
	struct pending_request *pending = NULL;
	int ret = -1;

	if (!cfg->metrics_file || !*cfg->metrics_file)
		return 0;
	if (cfg->state_dir && *cfg->state_dir)
		run->last_success = last_success_update(cfg, run);
	/* A store that cannot be read still gets the run's result out: that is
	 * what the alert is about. */
	if (store_open(cfg, mode, &s) < 0 || store_list_indexed(s, &items, &n) < 0) {
		log_warn("metrics: cannot read the certificate store; writing run metrics only");
		store_items_free(items, n);
		items = NULL;
		n = 0;
	}
	if (state_pending_list(cfg, mode, &pending, &n_pending) < 0) {
		pending = NULL;
		n_pending = 0;
	}
	/* the textfile collector's directory may not exist yet on a fresh host */
	char *dir = xstrdup(cfg->metrics_file);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (fs_mkdir_p(dir, 0755) < 0)
			log_warn("cannot create %s for the metrics file", dir);
	}
	free(dir);
	ret = metrics_write(cfg->metrics_file, items, n, NULL, pending, n_pending, run);
	state_pending_list_free(pending, n_pending);
	store_items_free(items, n);
	store_close(s);
	return ret;
}
