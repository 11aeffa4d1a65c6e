/* The certificate template model (MS-CRTD section 2) and the decoding of its
 * LDAP values.  Pure: no I/O. */
#ifndef ADENROLL_TEMPLATE_H
#define ADENROLL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* flags (MS-CRTD 2.4) */
#define CT_FLAG_AUTO_ENROLLMENT            0x00000020u
#define CT_FLAG_MACHINE_TYPE               0x00000040u
#define CT_FLAG_IS_CA                      0x00000080u
#define CT_FLAG_IS_CROSS_CA                0x00000800u
/* msPKI-Enrollment-Flag (MS-CRTD 2.26) */
#define CT_EF_PEND_ALL_REQUESTS            0x00000002u
#define CT_EF_CHECK_USER_DS_CERTIFICATE    0x00000010u
#define CT_EF_AUTO_ENROLLMENT              0x00000020u
#define CT_EF_PREVIOUS_APPROVAL_VALIDATE   0x00000040u
#define CT_EF_USER_INTERACTION_REQUIRED    0x00000100u
#define CT_EF_REMOVE_INVALID_CERTIFICATE   0x00000400u
#define CT_EF_SKIP_AUTO_RENEWAL            0x00040000u
/* msPKI-Private-Key-Flag (MS-CRTD 2.27) */
#define CT_PK_REQUIRE_KEY_ARCHIVAL         0x00000001u
#define CT_PK_EXPORTABLE_KEY               0x00000010u
#define CT_PK_REQUIRE_SAME_KEY_RENEWAL     0x00000080u
#define CT_PK_ATTEST_REQUIRED              0x00002000u
#define CT_PK_CLIENT_VERSION_MASK          0x0F000000u
#define CT_PK_CLIENT_VERSION_SHIFT         24
/* msPKI-Certificate-Name-Flag (MS-CRTD 2.28) */
#define CT_NF_ENROLLEE_SUPPLIES_SUBJECT    0x00000001u
#define CT_NF_OLD_CERT_SUPPLIES_SUBJECT    0x00000008u
#define CT_NF_ENROLLEE_SUPPLIES_SAN        0x00010000u
#define CT_NF_SAN_REQUIRE_DOMAIN_DNS       0x00400000u
#define CT_NF_SAN_REQUIRE_SPN              0x00800000u
#define CT_NF_SAN_REQUIRE_DIRECTORY_GUID   0x01000000u
#define CT_NF_SAN_REQUIRE_UPN              0x02000000u
#define CT_NF_SAN_REQUIRE_EMAIL            0x04000000u
#define CT_NF_SAN_REQUIRE_DNS              0x08000000u
#define CT_NF_SUBJECT_REQUIRE_DNS_AS_CN    0x10000000u
#define CT_NF_SUBJECT_REQUIRE_EMAIL        0x20000000u
#define CT_NF_SUBJECT_REQUIRE_COMMON_NAME  0x40000000u
#define CT_NF_SUBJECT_REQUIRE_DIRECTORY_PATH 0x80000000u

/* Key algorithm a template asks for, derived from pKIDefaultCSPs and (v3+)
 * msPKI-RA-Application-Policies' msPKI-Asymmetric-Algorithm. */
enum template_key_alg { TEMPLATE_KEY_RSA = 0, TEMPLATE_KEY_EC_P256, TEMPLATE_KEY_EC_P384,
			TEMPLATE_KEY_UNSUPPORTED, TEMPLATE_KEY_EC_P521 };

struct template {
	char *dn;
	char *cn;                  /* the template name used everywhere on the wire */
	char *display_name;
	char *oid;                 /* msPKI-Cert-Template-OID, may be NULL (v1) */
	uint32_t flags;
	uint32_t enrollment_flag;  /* msPKI-Enrollment-Flag */
	uint32_t private_key_flag; /* msPKI-Private-Key-Flag */
	uint32_t name_flag;        /* msPKI-Certificate-Name-Flag */
	uint32_t schema_version;   /* 1..4; absent => 1 */
	uint32_t major_version;    /* revision */
	uint32_t minor_version;    /* msPKI-Template-Minor-Revision */
	bool has_validity, has_renewal;
	int64_t validity_seconds;  /* pKIExpirationPeriod */
	int64_t renewal_seconds;   /* pKIOverlapPeriod */
	uint32_t minimal_key_size; /* msPKI-Minimal-Key-Size, 0 if absent */
	uint32_t key_spec;         /* pKIDefaultKeySpec */
	uint32_t ra_signatures;    /* msPKI-RA-Signature */
	uint8_t key_usage[2];      /* pKIKeyUsage */
	size_t key_usage_len;
	enum template_key_alg key_alg;
	struct strlist ekus;              /* pKIExtendedKeyUsage */
	struct strlist app_policies;      /* msPKI-Certificate-Application-Policy */
	struct strlist csps;              /* pKIDefaultCSPs, "prio,name" as read */
	struct strlist supersedes;        /* msPKI-Supersede-Templates (cns) */
	struct strlist critical_extensions;
	char *ra_app_policies;            /* msPKI-RA-Application-Policies (raw) */
	struct blob security_descriptor;  /* nTSecurityDescriptor, self-relative */
	/* Non-NULL when a value did not parse: the template is still listed
	 * (with this reason) but never enrolled. */
	char *invalid_reason;
};

void template_free_contents(struct template *t);

/* pKIExpirationPeriod / pKIOverlapPeriod: 8 bytes, little-endian negative
 * count of 100 ns intervals.  0, or -1 with a message in err. */
int template_parse_period(const unsigned char *val, size_t len, int64_t *seconds,
			  char *err, size_t errlen);
/* LDAP INTEGER text ("-1509949440") into its 32-bit two's-complement bits. */
int template_parse_u32(const char *val, size_t len, uint32_t *out, char *err, size_t errlen);
/* Picks the key algorithm from pKIDefaultCSPs and msPKI-RA-Application-Policies. */
enum template_key_alg template_key_alg_from(const struct strlist *csps, const char *ra_app_policies);
/* MS-CRTD 2.23.2: the value of one "name`PZPWSTR`value`" field of a v3+
 * template's msPKI-RA-Application-Policies (msPKI-Hash-Algorithm,
 * msPKI-Asymmetric-Algorithm ...).  False when absent. */
bool template_ra_value(const char *ra_app_policies, const char *name, char *out, size_t outlen);
/* "1 year", "6 weeks", "5 minutes" ... for display. */
void template_format_period(int64_t seconds, char *out, size_t outlen);
/* Comma-separated flag names for display ("PUBLISH_TO_DS,AUTO_ENROLLMENT"),
 * unknown bits as one trailing hex number, "none" for 0. */
void template_format_enrollment_flag(uint32_t v, char *out, size_t outlen);
void template_format_name_flag(uint32_t v, char *out, size_t outlen);
bool template_is_machine(const struct template *t);

/* A template OID value (msPKI-Cert-Template-OID, EKUs, policies) as the
 * directory holds it: dotted decimal, first arc 0-2, no leading zeros, at
 * most TEMPLATE_OID_MAX characters.  0, or -1 with why filled. */
#define TEMPLATE_OID_MAX 255
int template_check_oid(const char *s, size_t len, char *why, size_t whylen);

#endif
