/* The autoenrollment policy in force for one run: the AEPolicy bits and
 * where they came from (a GPO, the policy cache, or the local switches).
 * Pure: gpo_policy.h fills it from the directory and SYSVOL. */
#ifndef ADENROLL_AEPOLICY_H
#define ADENROLL_AEPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "gpo.h"

/* Registry key and values of "Certificate Services Client - Auto-Enrollment"
 * (MS-CAESO 4.4.5.1; in Registry.pol of the Machine or User side). */
#define AE_KEY "Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment"
#define AE_VALUE_POLICY "AEPolicy"
#define AE_VALUE_OFFLINE_PCT "OfflineExpirationPercent"
#define AE_KEY_POLICY_SERVERS "Software\\Policies\\Microsoft\\Cryptography\\PolicyServers"

/* AEPolicy bits.  The meaning of each, and the [policy] switch that stands
 * for it when no GPO sets AEPolicy, is the table ae_bits[] in aepolicy.c;
 * nothing else in adenroll tests these bits. */
#define AE_BIT_UPDATE_TEMPLATES 0x1u
#define AE_BIT_RENEW_AND_REMOVE 0x2u
#define AE_BIT_RETRIEVE_PENDING 0x4u
#define AE_BIT_DISABLED 0x8000u

struct ae_bit {
	uint32_t bit;
	const char *name;        /* the [policy] switch */
	const char *gpmc;        /* the GPMC wording */
	const char *effect;      /* what adenroll does with it */
};
extern const struct ae_bit ae_bits[];
extern const size_t n_ae_bits;

enum ae_origin {
	AE_FROM_LOCAL = 0,       /* [policy] switches: source = local, or no GPO sets AEPolicy */
	AE_FROM_GPO,             /* read from SYSVOL in this run */
	AE_FROM_CACHE,           /* SYSVOL unreachable: the last good policy */
	AE_FROM_NOTHING,         /* no policy could be read and none is cached: nothing is done */
};

/* Which GPO set a value. */
struct ae_setter {
	char name[256];          /* displayName, or the GUID when it has none */
	char guid[GPO_GUID_LEN + 1];
	char som[512];           /* DN of the SOM the link is at */
	bool enforced;
};

struct ae_policy_server {
	char *id, *url, *friendly_name, *policy_id;
	uint32_t flags, auth_flags, cost;
};

struct ae_policy {
	uint32_t aepolicy;       /* the effective bits (local switches turned into bits too) */
	enum ae_origin origin;
	struct ae_setter setter; /* origin GPO/CACHE: the GPO that set AEPolicy */
	uint32_t offline_pct;    /* 0 = no warning */
	bool offline_pct_from_gpo;
	struct ae_setter offline_setter;
	struct ae_policy_server *servers; /* PolicyServers (CEP list), kept for the CES transport */
	size_t n_servers;
	time_t cached_at;        /* origin CACHE: when that policy was read */
	bool degraded;           /* GPO source, but SYSVOL or the directory could not be read */
	char degraded_reason[512];
};

/* The local switches as bits ([policy] disabled, update_templates, ...). */
uint32_t ae_bits_from_config(const struct config *cfg);
void ae_policy_local(struct ae_policy *p, const struct config *cfg);

bool ae_disabled(const struct ae_policy *p);
bool ae_update_templates(const struct ae_policy *p);   /* enroll, supersedence, template version */
bool ae_renew(const struct ae_policy *p);              /* renew due/expired, replace revoked */
bool ae_retrieve_pending(const struct ae_policy *p);

/* "GPO Autoenroll ({GUID}) linked at OU=Linux,DC=example,DC=test" or
 * "the local configuration ([policy] in adenroll.conf)". */
void ae_origin_text(const struct ae_policy *p, char *out, size_t outlen);
/* The line every command prints when disabled:
 * "autoenrollment is disabled by GPO <name> ({GUID}) linked at <SOM>" */
void ae_disabled_text(const struct ae_policy *p, char *out, size_t outlen);
/* "0x7 (update_templates, renew_and_remove_revoked, retrieve_pending)" */
void ae_bits_text(uint32_t bits, char *out, size_t outlen);
const char *ae_origin_name(enum ae_origin o);   /* "local", "gpo", "cache", "none" */

void ae_policy_free(struct ae_policy *p);

#endif
