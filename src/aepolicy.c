/* The AEPolicy bit table and the effective autoenrollment policy.  Pure. */
#include "adenroll-build.h"

#include "aepolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MS-CAESO 4.4.5.1 names the AEPolicy value; which GPMC check box sets 0x2
 * and which 0x4 is not written down by Microsoft: "Enabled" with both boxes
 * is 7 and with neither 0, so the "Renew expired certificates, update
 * pending certificates, and remove revoked certificates" box is 0x2|0x4, and
 * the split below follows Samba's client (0x2 manage the store, 0x4 fetch
 * pending).  Keep every use of a bit behind this table. */
const struct ae_bit ae_bits[] = {
	{ AE_BIT_UPDATE_TEMPLATES, "update_templates",
	  "Update certificates that use certificate templates",
	  "enroll for templates the account may autoenroll; re-enroll when a template is superseded or its "
	  "major version changes" },
	{ AE_BIT_RENEW_AND_REMOVE, "renew_and_remove_revoked",
	  "Renew expired certificates, update pending certificates, and remove revoked certificates",
	  "renew certificates that are due, replace expired ones, replace and archive revoked ones" },
	{ AE_BIT_RETRIEVE_PENDING, "retrieve_pending",
	  "Renew expired certificates, update pending certificates, and remove revoked certificates",
	  "collect requests pending at the CA" },
	{ AE_BIT_DISABLED, "disabled", "Configuration Model: Disabled",
	  "nothing is enrolled, renewed or collected; held certificates are kept" },
};
const size_t n_ae_bits = sizeof(ae_bits) / sizeof(ae_bits[0]);

uint32_t ae_bits_from_config(const struct config *cfg)
{
	uint32_t b = 0;

	if (cfg->update_templates)
		b |= AE_BIT_UPDATE_TEMPLATES;
	if (cfg->renew_expiring)
		b |= AE_BIT_RENEW_AND_REMOVE;
	if (cfg->retrieve_pending)
		b |= AE_BIT_RETRIEVE_PENDING;
	if (cfg->ae_disabled)
		b |= AE_BIT_DISABLED;
	return b;
}

void ae_policy_local(struct ae_policy *p, const struct config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->aepolicy = ae_bits_from_config(cfg);
	p->origin = AE_FROM_LOCAL;
	p->offline_pct = cfg->offline_expiration_percent;
}

bool ae_disabled(const struct ae_policy *p)
{
	return p->origin == AE_FROM_NOTHING || (p->aepolicy & AE_BIT_DISABLED);
}

bool ae_update_templates(const struct ae_policy *p)
{
	return !ae_disabled(p) && (p->aepolicy & AE_BIT_UPDATE_TEMPLATES);
}

bool ae_renew(const struct ae_policy *p)
{
	return !ae_disabled(p) && (p->aepolicy & AE_BIT_RENEW_AND_REMOVE);
}

bool ae_retrieve_pending(const struct ae_policy *p)
{
	return !ae_disabled(p) && (p->aepolicy & AE_BIT_RETRIEVE_PENDING);
}

const char *ae_origin_name(enum ae_origin o)
{
	switch (o) {
	case AE_FROM_LOCAL: return "local";
	case AE_FROM_GPO: return "gpo";
	case AE_FROM_CACHE: return "cache";
	case AE_FROM_NOTHING: return "none";
	}
	return "?";
}

static void setter_text(const struct ae_setter *s, char *out, size_t outlen)
{
	snprintf(out, outlen, "GPO %s (%s) linked at %s%s", s->name, s->guid, s->som,
		 s->enforced ? " (enforced)" : "");
}

void ae_origin_text(const struct ae_policy *p, char *out, size_t outlen)
{
	char s[900], when[32];
	struct tm tm;

	switch (p->origin) {
	case AE_FROM_LOCAL:
		snprintf(out, outlen, "the local configuration ([policy] in adenroll.conf)");
		return;
	case AE_FROM_GPO:
		setter_text(&p->setter, s, sizeof(s));
		snprintf(out, outlen, "%s", s);
		return;
	case AE_FROM_CACHE:
		when[0] = '\0';
		if (p->cached_at > 0 && gmtime_r(&p->cached_at, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (p->setter.guid[0]) {
			setter_text(&p->setter, s, sizeof(s));
			snprintf(out, outlen, "%s, as cached at %s", s, when);
		} else {
			snprintf(out, outlen, "the local configuration, as the policy cached at %s says (no GPO set "
				 "AEPolicy then)", when);
		}
		return;
	case AE_FROM_NOTHING:
		snprintf(out, outlen, "nothing: Group Policy could not be read and no policy is cached");
		return;
	}
	out[0] = '\0';
}

void ae_disabled_text(const struct ae_policy *p, char *out, size_t outlen)
{
	char s[900];

	if (p->origin == AE_FROM_NOTHING) {
		snprintf(out, outlen, "autoenrollment is off for this run: Group Policy could not be read (%s) "
			 "and no policy is cached", p->degraded_reason[0] ? p->degraded_reason : "unknown reason");
		return;
	}
	if (p->origin == AE_FROM_LOCAL) {
		snprintf(out, outlen, "autoenrollment is disabled by the local configuration ([policy] disabled = yes)");
		return;
	}
	setter_text(&p->setter, s, sizeof(s));
	snprintf(out, outlen, "autoenrollment is disabled by %s%s", s,
		 p->origin == AE_FROM_CACHE ? " (cached policy)" : "");
}

void ae_bits_text(uint32_t bits, char *out, size_t outlen)
{
	size_t used;
	bool first = true;

	snprintf(out, outlen, "0x%lx (", (unsigned long)bits);
	for (size_t i = 0; i < n_ae_bits; i++) {
		if (!(bits & ae_bits[i].bit))
			continue;
		used = strlen(out);
		snprintf(out + used, outlen - used, "%s%s", first ? "" : ", ", ae_bits[i].name);
		first = false;
	}
	used = strlen(out);
	snprintf(out + used, outlen - used, "%s)", first ? "none" : "");
}

void ae_policy_free(struct ae_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_servers; i++) {
		free(p->servers[i].id);
		free(p->servers[i].url);
		free(p->servers[i].friendly_name);
		free(p->servers[i].policy_id);
	}
	free(p->servers);
	memset(p, 0, sizeof(*p));
}
