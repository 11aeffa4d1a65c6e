/* Decoding of certificate template values as LDAP returns them (MS-CRTD
 * section 2) and their display forms. */
#include "adenroll-build.h"

#include "template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Periods longer than this are not a template anyone configured: refusing
 * them keeps later time arithmetic far from overflow. */
#define PERIOD_MAX_SECONDS (INT64_C(1000) * 365 * 86400)
#define HUNDRED_NS_PER_SECOND INT64_C(10000000)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void template_free_contents(struct template *t)
{
	if (t == NULL)
		return;
	free(t->dn);
	free(t->cn);
	free(t->display_name);
	free(t->oid);
	strlist_free(&t->ekus);
	strlist_free(&t->app_policies);
	strlist_free(&t->csps);
	strlist_free(&t->supersedes);
	strlist_free(&t->critical_extensions);
	free(t->ra_app_policies);
	free(t->security_descriptor.data);
	free(t->invalid_reason);
	memset(t, 0, sizeof(*t));
}

int template_parse_period(const unsigned char *val, size_t len, int64_t *seconds,
			  char *err, size_t errlen)
{
	uint64_t u = 0;
	int64_t v;

	/* MS-CRTD 2.11/2.15: an 8-byte little-endian two's-complement count of
	 * 100 ns intervals, negative like a relative FILETIME. */
	if (val == NULL || len != 8) {
		seterr(err, errlen, "period value is %zu bytes, expected 8", val == NULL ? 0 : len);
		return -1;
	}
	for (int i = 7; i >= 0; i--)
		u = (u << 8) | val[i];
	if (u == 0) {
		seterr(err, errlen, "period is zero");
		return -1;
	}
	if (!(u & UINT64_C(0x8000000000000000))) {
		seterr(err, errlen, "period is positive (%llu x 100ns); AD stores periods as "
		       "negative intervals", (unsigned long long)u);
		return -1;
	}
	/* Two's-complement magnitude, computed unsigned so INT64_MIN is safe. */
	u = ~u + 1;
	if (u / HUNDRED_NS_PER_SECOND > (uint64_t)PERIOD_MAX_SECONDS) {
		seterr(err, errlen, "period of %llu seconds is longer than 1000 years",
		       (unsigned long long)(u / HUNDRED_NS_PER_SECOND));
		return -1;
	}
	v = (int64_t)(u / HUNDRED_NS_PER_SECOND);
	if (v == 0) {
		seterr(err, errlen, "period is shorter than one second (%llu x 100ns)",
		       (unsigned long long)u);
		return -1;
	}
	*seconds = v;
	return 0;
}

int template_parse_u32(const char *val, size_t len, uint32_t *out, char *err, size_t errlen)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;

	if (val == NULL || len == 0) {
		seterr(err, errlen, "empty integer value");
		return -1;
	}
	if (val[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len)
		goto junk;
	for (; i < len; i++) {
		if (val[i] < '0' || val[i] > '9')
			goto junk;
		v = v * 10 + (uint64_t)(val[i] - '0');
		/* Above any 32-bit reading; stop before v itself can overflow. */
		if (v > UINT32_MAX)
			goto range;
	}
	/* AD INTEGER is a signed 32-bit value; accept the unsigned spelling of the
	 * same bits as well, since some tools write flags that way. */
	if (neg) {
		if (v > UINT64_C(0x80000000))
			goto range;
		*out = (uint32_t)(UINT64_C(0x100000000) - v);
	} else {
		*out = (uint32_t)v;
	}
	return 0;
junk:
	seterr(err, errlen, "'%.*s' is not a decimal integer", (int)(len > 40 ? 40 : len), val);
	return -1;
range:
	seterr(err, errlen, "'%.*s' does not fit in 32 bits", (int)(len > 40 ? 40 : len), val);
	return -1;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* CSPs that cannot hold an RSA key: the DSS and Diffie-Hellman families
 * ("Microsoft Base DSS Cryptographic Provider", "Microsoft DH SChannel
 * Cryptographic Provider", "... DSS and Diffie-Hellman ..."). */
static bool csp_is_non_rsa(const char *name)
{
	return contains_ci(name, "DSS") || contains_ci(name, "Diffie-Hellman") ||
	       contains_ci(name, " DH ");
}

/* MS-CRTD 2.23.2: v3+ templates keep their CNG algorithm in
 * msPKI-RA-Application-Policies as "msPKI-Asymmetric-Algorithm`PZPWSTR`<alg>`". */
static bool asymmetric_algorithm(const char *ra, char *out, size_t outlen)
{
	static const char key[] = "msPKI-Asymmetric-Algorithm`PZPWSTR`";
	const char *p, *end;
	size_t n;

	if (ra == NULL)
		return false;
	for (p = ra; *p != '\0'; p++)
		if (strncasecmp(p, key, sizeof(key) - 1) == 0)
			break;
	if (*p == '\0')
		return false;
	p += sizeof(key) - 1;
	end = strchr(p, '`');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

bool template_ra_value(const char *ra, const char *name, char *out, size_t outlen)
{
	size_t kl = name ? strlen(name) : 0;

	if (ra == NULL || kl == 0 || outlen == 0)
		return false;
	for (const char *p = ra; *p != '\0'; p++) {
		if (strncasecmp(p, name, kl) != 0 || strncmp(p + kl, "`PZPWSTR`", 9) != 0)
			continue;
		/* a whole field name: at the start or after a separator */
		if (p != ra && p[-1] != '`' && p[-1] != '\n')
			continue;
		p += kl + 9;
		const char *end = strchr(p, '`');
		size_t n = end ? (size_t)(end - p) : strcspn(p, "\n");
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, p, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

enum template_key_alg template_key_alg_from(const struct strlist *csps, const char *ra_app_policies)
{
	char alg[64];
	bool any_rsa = false;

	if (asymmetric_algorithm(ra_app_policies, alg, sizeof(alg))) {
		if (strcasecmp(alg, "RSA") == 0)
			return TEMPLATE_KEY_RSA;
		if (strcasecmp(alg, "ECDH_P256") == 0 || strcasecmp(alg, "ECDSA_P256") == 0)
			return TEMPLATE_KEY_EC_P256;
		if (strcasecmp(alg, "ECDH_P384") == 0 || strcasecmp(alg, "ECDSA_P384") == 0)
			return TEMPLATE_KEY_EC_P384;
		if (strcasecmp(alg, "ECDH_P521") == 0 || strcasecmp(alg, "ECDSA_P521") == 0)
			return TEMPLATE_KEY_EC_P521;
		return TEMPLATE_KEY_UNSUPPORTED;
	}
	/* No CSP list means "any provider": we choose RSA. */
	if (csps == NULL || csps->n == 0)
		return TEMPLATE_KEY_RSA;
	/* Any listed provider other than the DSS/DH ones (RSA CSPs, the base and
	 * enhanced providers, the software and platform KSPs) can make RSA keys. */
	for (size_t i = 0; i < csps->n; i++) {
		const char *name = strchr(csps->v[i], ',');

		name = name ? name + 1 : csps->v[i];
		if (!csp_is_non_rsa(name))
			any_rsa = true;
	}
	return any_rsa ? TEMPLATE_KEY_RSA : TEMPLATE_KEY_UNSUPPORTED;
}

void template_format_period(int64_t seconds, char *out, size_t outlen)
{
	static const struct {
		int64_t seconds;
		const char *one, *many;
	} units[] = {
		{ INT64_C(365) * 86400, "year", "years" },
		{ INT64_C(7) * 86400, "week", "weeks" },
		{ 86400, "day", "days" },
		{ 3600, "hour", "hours" },
		{ 60, "minute", "minutes" },
		{ 1, "second", "seconds" },
	};

	if (outlen == 0)
		return;
	if (seconds <= 0) {
		snprintf(out, outlen, "0 seconds");
		return;
	}
	/* The largest unit that divides exactly, as the template editor shows it. */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (seconds % units[i].seconds == 0) {
			int64_t n = seconds / units[i].seconds;

			snprintf(out, outlen, "%lld %s", (long long)n,
				 n == 1 ? units[i].one : units[i].many);
			return;
		}
	}
}

struct flag_name {
	uint32_t bit;
	const char *name;
};

static void format_flags(uint32_t v, const struct flag_name *names, size_t n, char *out,
			 size_t outlen)
{
	size_t off = 0;
	uint32_t rest = v;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (v == 0) {
		snprintf(out, outlen, "none");
		return;
	}
	for (size_t i = 0; i <= n; i++) {
		char hex[16];
		const char *name;
		int w;

		if (i < n) {
			if (!(v & names[i].bit))
				continue;
			rest &= ~names[i].bit;
			name = names[i].name;
		} else {
			if (rest == 0)
				break;
			snprintf(hex, sizeof(hex), "0x%x", (unsigned)rest);
			name = hex;
		}
		w = snprintf(out + off, outlen - off, "%s%s", off ? "," : "", name);
		if (w < 0 || (size_t)w >= outlen - off)
			return;
		off += (size_t)w;
	}
}

void template_format_enrollment_flag(uint32_t v, char *out, size_t outlen)
{
	/* MS-CRTD 2.26 */
	static const struct flag_name names[] = {
		{ 0x00000001, "INCLUDE_SYMMETRIC_ALGORITHMS" },
		{ 0x00000002, "PEND_ALL_REQUESTS" },
		{ 0x00000004, "PUBLISH_TO_KRA_CONTAINER" },
		{ 0x00000008, "PUBLISH_TO_DS" },
		{ 0x00000010, "AUTO_ENROLLMENT_CHECK_USER_DS_CERTIFICATE" },
		{ 0x00000020, "AUTO_ENROLLMENT" },
		{ 0x00000040, "PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT" },
		{ 0x00000100, "USER_INTERACTION_REQUIRED" },
		{ 0x00000400, "REMOVE_INVALID_CERTIFICATE_FROM_PERSONAL_STORE" },
		{ 0x00000800, "ALLOW_ENROLL_ON_BEHALF_OF" },
		{ 0x00001000, "ADD_OCSP_NOCHECK" },
		{ 0x00002000, "ENABLE_KEY_REUSE_ON_NT_TOKEN_KEYSET_STORAGE_FULL" },
		{ 0x00004000, "NOREVOCATIONINFOINISSUEDCERTS" },
		{ 0x00008000, "INCLUDE_BASIC_CONSTRAINTS_FOR_EE_CERTS" },
		{ 0x00010000, "ALLOW_PREVIOUS_APPROVAL_KEYBASEDRENEWAL_VALIDATE_REENROLLMENT" },
		{ 0x00020000, "ISSUANCE_POLICIES_FROM_REQUEST" },
		{ 0x00040000, "SKIP_AUTO_RENEWAL" },
		{ 0x00080000, "NO_SECURITY_EXTENSION" },
	};

	format_flags(v, names, sizeof(names) / sizeof(names[0]), out, outlen);
}

void template_format_name_flag(uint32_t v, char *out, size_t outlen)
{
	/* MS-CRTD 2.28 */
	static const struct flag_name names[] = {
		{ 0x00000001, "ENROLLEE_SUPPLIES_SUBJECT" },
		{ 0x00000008, "OLD_CERT_SUPPLIES_SUBJECT_AND_ALT_NAME" },
		{ 0x00010000, "ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME" },
		{ 0x00400000, "SUBJECT_ALT_REQUIRE_DOMAIN_DNS" },
		{ 0x00800000, "SUBJECT_ALT_REQUIRE_SPN" },
		{ 0x01000000, "SUBJECT_ALT_REQUIRE_DIRECTORY_GUID" },
		{ 0x02000000, "SUBJECT_ALT_REQUIRE_UPN" },
		{ 0x04000000, "SUBJECT_ALT_REQUIRE_EMAIL" },
		{ 0x08000000, "SUBJECT_ALT_REQUIRE_DNS" },
		{ 0x10000000, "SUBJECT_REQUIRE_DNS_AS_CN" },
		{ 0x20000000, "SUBJECT_REQUIRE_EMAIL" },
		{ 0x40000000, "SUBJECT_REQUIRE_COMMON_NAME" },
		{ 0x80000000, "SUBJECT_REQUIRE_DIRECTORY_PATH" },
	};

	format_flags(v, names, sizeof(names) / sizeof(names[0]), out, outlen);
}

bool template_is_machine(const struct template *t)
{
	return (t->flags & CT_FLAG_MACHINE_TYPE) != 0;
}

int template_check_oid(const char *s, size_t len, char *why, size_t whylen)
{
	size_t i, arcs = 0, digits = 0;

	if (len == 0 || len > TEMPLATE_OID_MAX) {
		snprintf(why, whylen, "an OID of %zu characters (1 to %d expected)", len, TEMPLATE_OID_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '0' && c <= '9') {
			/* no leading zeros (X.690 8.19: each arc is one minimal number) */
			if (digits == 1 && s[i - 1] == '0') {
				snprintf(why, whylen, "not a dotted-decimal OID (leading zero at offset %zu)", i);
				return -1;
			}
			digits++;
			continue;
		}
		if (c == '.' && digits > 0) {
			arcs++;
			digits = 0;
			continue;
		}
		snprintf(why, whylen, "not a dotted-decimal OID (byte 0x%02x at offset %zu)", c, i);
		return -1;
	}
	if (digits == 0 || arcs == 0 || s[0] > '2' || s[1] != '.') {
		snprintf(why, whylen, "not a dotted-decimal OID (it must look like 1.3.6.1.4.1.311.21.8.x)");
		return -1;
	}
	return 0;
}
