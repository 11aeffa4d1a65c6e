/* Windows security identifiers: binary form (MS-DTYP 2.4.2.2), string form
 * (MS-DTYP 2.4.2.1) and the names of the SIDs a template ACL usually names. */
#include "adenroll-build.h"

#include "sid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID_HEADER_LEN 8

static uint64_t sid_authority(const struct sid *sid)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 6; i++)
		v = (v << 8) | sid->authority[i];
	return v;
}

int sid_from_bytes(const uint8_t *buf, size_t len, struct sid *out, size_t *used)
{
	size_t need;

	if (buf == NULL || len < SID_HEADER_LEN)
		return -1;
	if (buf[0] != 1 || buf[1] > SID_MAX_SUB_AUTHORITIES)
		return -1;
	need = SID_HEADER_LEN + 4u * buf[1];
	if (len < need)
		return -1;
	memset(out, 0, sizeof(*out));
	out->revision = buf[0];
	out->sub_count = buf[1];
	memcpy(out->authority, buf + 2, 6);
	for (size_t i = 0; i < out->sub_count; i++) {
		const uint8_t *p = buf + SID_HEADER_LEN + 4 * i;

		out->sub[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			      (uint32_t)p[3] << 24;
	}
	if (used != NULL)
		*used = need;
	return 0;
}

void sid_to_string(const struct sid *sid, char *out, size_t outlen)
{
	uint64_t auth = sid_authority(sid);
	size_t off;
	int n;

	if (outlen == 0)
		return;
	/* MS-DTYP 2.4.2.1: authorities of 2^32 and above are written in hex. */
	if (auth >= (UINT64_C(1) << 32))
		n = snprintf(out, outlen, "S-%u-0x%012llX", (unsigned)sid->revision,
			     (unsigned long long)auth);
	else
		n = snprintf(out, outlen, "S-%u-%llu", (unsigned)sid->revision,
			     (unsigned long long)auth);
	if (n < 0 || (size_t)n >= outlen)
		return;
	off = (size_t)n;
	for (size_t i = 0; i < sid->sub_count && i < SID_MAX_SUB_AUTHORITIES; i++) {
		n = snprintf(out + off, outlen - off, "-%lu", (unsigned long)sid->sub[i]);
		if (n < 0 || (size_t)n >= outlen - off)
			return;
		off += (size_t)n;
	}
}

/* Parses one unsigned number at *p (decimal, or hex after "0x" when allow_hex),
 * ending at '-' or NUL.  Leading signs and blanks are rejected (strtoull
 * would accept them). */
static int parse_number(const char **p, uint64_t max, bool allow_hex, uint64_t *out)
{
	const char *s = *p;
	int base = 10;
	char *end;
	unsigned long long v;

	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!(s[0] >= '0' && s[0] <= '9') && !(base == 16 && ((s[0] >= 'a' && s[0] <= 'f') ||
							  (s[0] >= 'A' && s[0] <= 'F'))))
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || v > max || (*end != '-' && *end != '\0'))
		return -1;
	*out = v;
	*p = end;
	return 0;
}

int sid_from_string(const char *s, struct sid *out)
{
	struct sid sid;
	uint64_t v;

	if (s == NULL || (s[0] != 'S' && s[0] != 's') || s[1] != '-')
		return -1;
	s += 2;
	memset(&sid, 0, sizeof(sid));
	if (parse_number(&s, 255, false, &v) < 0 || v != 1 || *s != '-')
		return -1;
	sid.revision = 1;
	s++;
	if (parse_number(&s, (UINT64_C(1) << 48) - 1, true, &v) < 0)
		return -1;
	for (int i = 5; i >= 0; i--) {
		sid.authority[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	while (*s == '-') {
		s++;
		if (sid.sub_count >= SID_MAX_SUB_AUTHORITIES)
			return -1;
		if (parse_number(&s, UINT32_MAX, false, &v) < 0)
			return -1;
		sid.sub[sid.sub_count++] = (uint32_t)v;
	}
	if (*s != '\0')
		return -1;
	*out = sid;
	return 0;
}

bool sid_equal(const struct sid *a, const struct sid *b)
{
	if (a->revision != b->revision || a->sub_count != b->sub_count ||
	    memcmp(a->authority, b->authority, 6) != 0)
		return false;
	for (size_t i = 0; i < a->sub_count && i < SID_MAX_SUB_AUTHORITIES; i++)
		if (a->sub[i] != b->sub[i])
			return false;
	return true;
}

struct wellknown {
	uint64_t authority;
	uint8_t sub_count;
	uint32_t sub[2];
	const char *name;
};

/* MS-DTYP 2.4.2.4: the fixed SIDs that appear in template and CA ACLs or in
 * the token we build (docs/protocol.md 1.4). */
static const struct wellknown wellknown[] = {
	{ 1, 1, { 0, 0 }, "Everyone" },
	{ 3, 1, { 0, 0 }, "Creator Owner" },
	{ 5, 1, { 2, 0 }, "Network" },
	{ 5, 1, { 4, 0 }, "Interactive" },
	{ 5, 1, { 9, 0 }, "Enterprise Domain Controllers" },
	{ 5, 1, { 10, 0 }, "Principal Self" },
	{ 5, 1, { 11, 0 }, "Authenticated Users" },
	{ 5, 1, { 15, 0 }, "This Organization" },
	{ 5, 1, { 18, 0 }, "SYSTEM" },
	{ 5, 2, { 32, 544 }, "Administrators" },
	{ 5, 2, { 32, 545 }, "Users" },
};

/* Domain-relative RIDs (MS-DTYP 2.4.2.4), recognised in S-1-5-21-a-b-c-RID. */
static const struct {
	uint32_t rid;
	const char *name;
} domain_rids[] = {
	{ 498, "Enterprise Read-only Domain Controllers" },
	{ 500, "Administrator" },
	{ 512, "Domain Admins" },
	{ 513, "Domain Users" },
	{ 514, "Domain Guests" },
	{ 515, "Domain Computers" },
	{ 516, "Domain Controllers" },
	{ 517, "Cert Publishers" },
	{ 518, "Schema Admins" },
	{ 519, "Enterprise Admins" },
	{ 521, "Read-only Domain Controllers" },
};

const char *sid_wellknown_name(const struct sid *sid)
{
	uint64_t auth;

	if (sid == NULL || sid->revision != 1)
		return NULL;
	auth = sid_authority(sid);
	for (size_t i = 0; i < sizeof(wellknown) / sizeof(wellknown[0]); i++) {
		const struct wellknown *w = &wellknown[i];

		if (w->authority == auth && w->sub_count == sid->sub_count &&
		    w->sub[0] == sid->sub[0] && (w->sub_count < 2 || w->sub[1] == sid->sub[1]))
			return w->name;
	}
	if (auth == 5 && sid->sub_count == 5 && sid->sub[0] == 21) {
		for (size_t i = 0; i < sizeof(domain_rids) / sizeof(domain_rids[0]); i++)
			if (domain_rids[i].rid == sid->sub[4])
				return domain_rids[i].name;
	}
	return NULL;
}
