/* Which directory roots may be trusted beyond adenroll's own use: see
 * trust_policy.h for the rule and adenroll.conf(5) for the keys. */
#include "adenroll-build.h"

#include "trust_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "directory.h"
#include "log.h"
#include "openssl_loader.h"
#include "safetext.h"

static char *run_dc;

void trust_policy_set_dc(const char *dc)
{
	free(run_dc);
	run_dc = dc ? xstrdup(dc) : NULL;
}

const char *trust_policy_dc(void)
{
	return run_dc;
}

/* Host names compare without case and without a trailing root dot. */
static bool same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	if (la != lb)
		return false;
	for (size_t i = 0; i < la; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

bool trust_policy_dc_is_pinned(const struct config *cfg, const char *dc)
{
	if (dc == NULL || *dc == '\0')
		return false;
	for (size_t i = 0; i < cfg->pinned_dcs.n; i++)
		if (same_host(cfg->pinned_dcs.v[i], dc))
			return true;
	return false;
}

int trust_policy_parse_fingerprint(const char *text, char out[65])
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n == 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

static bool fingerprint_listed(const struct config *cfg, const char *fp)
{
	for (size_t i = 0; i < cfg->root_fingerprints.n; i++)
		if (strcmp(cfg->root_fingerprints.v[i], fp) == 0)
			return true;
	return false;
}

void trust_policy_decide(const struct config *cfg, const char *dc, X509 *root, struct trust_verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (root == NULL || cert_sha256_hex(root, out->fingerprint, sizeof(out->fingerprint)) != 0) {
		snprintf(out->why, sizeof(out->why), "the certificate does not parse");
		return;
	}
	if (fingerprint_listed(cfg, out->fingerprint)) {
		out->allowed = true;
		out->by_fingerprint = true;
		snprintf(out->why, sizeof(out->why), "its SHA-256 fingerprint is listed in root_fingerprints");
		return;
	}
	if (trust_policy_dc_is_pinned(cfg, dc)) {
		out->allowed = true;
		snprintf(out->why, sizeof(out->why), "the directory was read from %s, listed in pinned_dcs",
			 safetext(dc));
		return;
	}
	if (cfg->pinned_dcs.n == 0 && cfg->root_fingerprints.n == 0)
		snprintf(out->why, sizeof(out->why),
			 "neither pinned_dcs nor root_fingerprints is set in [store]: roots from a DC found "
			 "through DNS are not trusted on their own; to trust this one add "
			 "root_fingerprints = %s", out->fingerprint);
	else
		snprintf(out->why, sizeof(out->why),
			 "its fingerprint is not in root_fingerprints and the directory was read from %s, "
			 "which is not in pinned_dcs; if this root is the domain's, add root_fingerprints = %s",
			 dc ? safetext(dc) : "an unknown DC", out->fingerprint);
}

size_t trust_policy_filter_roots(const struct config *cfg, const struct bloblist *in, struct bloblist *out)
{
	size_t dropped = 0;

	for (size_t i = 0; i < in->n; i++) {
		X509 *x = cert_from_der(in->v[i].data, in->v[i].len);
		char fp[65];

		if (cfg->root_fingerprints.n > 0) {
			if (x == NULL || cert_sha256_hex(x, fp, sizeof(fp)) != 0 || !fingerprint_listed(cfg, fp)) {
				char *subj = x ? cert_subject_text(x) : NULL;

				log_warn("root CA %s (SHA-256 %s) from the directory is not in root_fingerprints: "
					 "not trusted for anything", subj ? subj : "(unparsable)", x ? fp : "-");
				free(subj);
				X509_free(x);
				dropped++;
				continue;
			}
		}
		X509_free(x);
		bloblist_add(out, in->v[i].data, in->v[i].len);
	}
	return dropped;
}

const struct bloblist *trust_policy_ca_https(const struct directory *dir, const struct enrollment_service *ca,
					     struct bloblist *intermediates)
{
	const struct bloblist *src[] = { &dir->aia_cas, ca ? &ca->ca_certs : NULL };
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; src[s] && i < src[s]->n; i++)
			bloblist_add(intermediates, src[s]->v[i].data, src[s]->v[i].len);
	return &dir->root_cas;
}
