/* Test helper: turns the SDDL (MS-DTYP 2.5.1) that documentation and
 * captures print into the binary self-relative security descriptor LDAP
 * returns, so tests can use real template ACLs.  Only the subset templates
 * use; anything else makes sddl_to_sd() return 0. */
#ifndef ADENROLL_TEST_SDDL_H
#define ADENROLL_TEST_SDDL_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sid.h"

/* DOMAIN is the domain SID that DA/DU/DC/... expand with. */
#define SDDL_TEST_DOMAIN "S-1-5-21-1047456448-2337630968-2720937775"

static inline size_t sddl_put_sid(const struct sid *s, uint8_t *out)
{
	out[0] = s->revision;
	out[1] = s->sub_count;
	memcpy(out + 2, s->authority, 6);
	for (size_t i = 0; i < s->sub_count; i++) {
		out[8 + 4 * i] = (uint8_t)s->sub[i];
		out[9 + 4 * i] = (uint8_t)(s->sub[i] >> 8);
		out[10 + 4 * i] = (uint8_t)(s->sub[i] >> 16);
		out[11 + 4 * i] = (uint8_t)(s->sub[i] >> 24);
	}
	return 8 + 4u * s->sub_count;
}

static inline int sddl_sid(const char *text, size_t n, struct sid *out)
{
	static const struct {
		const char *alias, *sid;
	} aliases[] = {
		{ "WD", "S-1-1-0" }, { "AU", "S-1-5-11" }, { "SY", "S-1-5-18" },
		{ "ED", "S-1-5-9" }, { "NU", "S-1-5-2" }, { "BA", "S-1-5-32-544" },
		{ "DA", SDDL_TEST_DOMAIN "-512" }, { "DU", SDDL_TEST_DOMAIN "-513" },
		{ "DC", SDDL_TEST_DOMAIN "-515" }, { "DD", SDDL_TEST_DOMAIN "-516" },
		{ "CA", SDDL_TEST_DOMAIN "-517" }, { "EA", SDDL_TEST_DOMAIN "-519" },
		{ "RO", SDDL_TEST_DOMAIN "-498" },
	};
	char buf[SID_STRING_MAX];

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(buf, aliases[i].alias) == 0)
			return sid_from_string(aliases[i].sid, out);
	return sid_from_string(buf, out);
}

static inline int sddl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "0e10c968-78fb-11d2-90d4-00c04f79dc55" -> wire bytes (Data1-3 little-endian). */
static inline int sddl_guid(const char *text, size_t n, uint8_t out[16])
{
	uint8_t be[16];
	size_t k = 0;

	if (n != 36)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return -1;
			continue;
		}
		hi = sddl_hexval(text[i]);
		lo = sddl_hexval(text[i + 1]);
		if (hi < 0 || lo < 0 || k >= 16)
			return -1;
		be[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (k != 16)
		return -1;
	out[0] = be[3]; out[1] = be[2]; out[2] = be[1]; out[3] = be[0];
	out[4] = be[5]; out[5] = be[4];
	out[6] = be[7]; out[7] = be[6];
	memcpy(out + 8, be + 8, 8);
	return 0;
}

static inline int sddl_rights(const char *text, size_t n, uint32_t *mask)
{
	static const struct {
		const char *code;
		uint32_t bits;
	} codes[] = {
		{ "CC", 0x1 }, { "DC", 0x2 }, { "LC", 0x4 }, { "SW", 0x8 }, { "RP", 0x10 },
		{ "WP", 0x20 }, { "DT", 0x40 }, { "LO", 0x80 }, { "CR", 0x100 }, { "SD", 0x10000 },
		{ "RC", 0x20000 }, { "WD", 0x40000 }, { "WO", 0x80000 }, { "GA", 0x10000000 },
		{ "GX", 0x20000000 }, { "GW", 0x40000000 }, { "GR", 0x80000000u }, { "FA", 0x1f01ff },
	};

	*mask = 0;
	if (n > 2 && text[0] == '0' && text[1] == 'x') {
		char buf[16];

		if (n >= sizeof(buf))
			return -1;
		memcpy(buf, text, n);
		buf[n] = '\0';
		*mask = (uint32_t)strtoul(buf, NULL, 16);
		return 0;
	}
	if (n % 2)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		size_t j;

		for (j = 0; j < sizeof(codes) / sizeof(codes[0]); j++)
			if (strncmp(text + i, codes[j].code, 2) == 0)
				break;
		if (j == sizeof(codes) / sizeof(codes[0]))
			return -1;
		*mask |= codes[j].bits;
	}
	return 0;
}

/* One "(type;flags;rights;object;inherited;sid)" at p (without the
 * parentheses, n bytes) into out; returns the ACE size or 0. */
static inline size_t sddl_ace(const char *p, size_t n, uint8_t *out, size_t outlen)
{
	const char *field[6];
	size_t flen[6], k = 0, pos = 4;
	uint8_t type, flags = 0;
	uint32_t mask, oflags = 0;
	uint8_t guid[16], iguid[16];
	struct sid sid;
	const char *s = p;

	for (size_t i = 0; i <= n && k < 6; i++) {
		if (i == n || p[i] == ';') {
			field[k] = s;
			flen[k] = (size_t)(p + i - s);
			k++;
			s = p + i + 1;
		}
	}
	if (k != 6 || outlen < 128)
		return 0;
	if (flen[0] == 1 && field[0][0] == 'A')
		type = 0x00;
	else if (flen[0] == 1 && field[0][0] == 'D')
		type = 0x01;
	else if (flen[0] == 2 && strncmp(field[0], "OA", 2) == 0)
		type = 0x05;
	else if (flen[0] == 2 && strncmp(field[0], "OD", 2) == 0)
		type = 0x06;
	else if (flen[0] == 2 && strncmp(field[0], "AU", 2) == 0)
		type = 0x02;
	else if (flen[0] == 4 && field[0][0] == '0' && field[0][1] == 'x')
		type = (uint8_t)(sddl_hexval(field[0][2]) << 4 | sddl_hexval(field[0][3]));
	else
		return 0;
	if (flen[1] % 2)
		return 0;
	for (size_t i = 0; i + 2 <= flen[1]; i += 2) {
		if (strncmp(field[1] + i, "OI", 2) == 0) flags |= 0x01;
		else if (strncmp(field[1] + i, "CI", 2) == 0) flags |= 0x02;
		else if (strncmp(field[1] + i, "NP", 2) == 0) flags |= 0x04;
		else if (strncmp(field[1] + i, "IO", 2) == 0) flags |= 0x08;
		else if (strncmp(field[1] + i, "ID", 2) == 0) flags |= 0x10;
		else if (strncmp(field[1] + i, "SA", 2) == 0) flags |= 0x40;
		else return 0;
	}
	if (sddl_rights(field[2], flen[2], &mask) < 0)
		return 0;
	if (flen[3] && sddl_guid(field[3], flen[3], guid) < 0)
		return 0;
	if (flen[4] && sddl_guid(field[4], flen[4], iguid) < 0)
		return 0;
	if (sddl_sid(field[5], flen[5], &sid) < 0)
		return 0;
	out[0] = type;
	out[1] = flags;
	out[pos++] = (uint8_t)mask;
	out[pos++] = (uint8_t)(mask >> 8);
	out[pos++] = (uint8_t)(mask >> 16);
	out[pos++] = (uint8_t)(mask >> 24);
	if (type == 0x05 || type == 0x06) {
		oflags = (flen[3] ? 1u : 0u) | (flen[4] ? 2u : 0u);
		out[pos++] = (uint8_t)oflags;
		out[pos++] = 0;
		out[pos++] = 0;
		out[pos++] = 0;
		if (flen[3]) {
			memcpy(out + pos, guid, 16);
			pos += 16;
		}
		if (flen[4]) {
			memcpy(out + pos, iguid, 16);
			pos += 16;
		}
	}
	pos += sddl_put_sid(&sid, out + pos);
	out[2] = (uint8_t)pos;
	out[3] = (uint8_t)(pos >> 8);
	return pos;
}

/* "O:..G:..D:PAI(..)(..)" -> self-relative SD in out; returns its length, or
 * 0 when the text is outside the supported subset.  Layout: header, DACL,
 * owner, group (the order AD uses for the parts we read). "D:NO_ACCESS_CONTROL"
 * or no "D:" gives a descriptor without DACL. */
static inline size_t sddl_to_sd(const char *sddl, uint8_t *out, size_t outlen)
{
	struct sid owner, group;
	bool has_owner = false, has_group = false, has_dacl = false;
	uint8_t acl[4096];
	size_t acl_len = 8, n_aces = 0, pos = 20;
	uint16_t control = 0x8000;
	const char *p = sddl;

	while (*p) {
		if (p[0] == 'O' && p[1] == ':') {
			size_t n = strcspn(p + 2, ":");

			/* the next part starts one letter before its ':' */
			n = *(p + 2 + n) ? n - 1 : n;
			if (sddl_sid(p + 2, n, &owner) < 0)
				return 0;
			has_owner = true;
			p += 2 + n;
		} else if (p[0] == 'G' && p[1] == ':') {
			size_t n = strcspn(p + 2, ":");

			n = *(p + 2 + n) ? n - 1 : n;
			if (sddl_sid(p + 2, n, &group) < 0)
				return 0;
			has_group = true;
			p += 2 + n;
		} else if (p[0] == 'D' && p[1] == ':') {
			p += 2;
			if (strncmp(p, "NO_ACCESS_CONTROL", 17) == 0) {
				p += 17;
				continue;
			}
			has_dacl = true;
			while (*p && *p != '(' && *p != ':') {
				if (p[0] == 'P')
					control |= 0x1000, p++;
				else if (p[0] == 'A' && p[1] == 'I')
					control |= 0x0400, p += 2;
				else if (p[0] == 'A' && p[1] == 'R')
					control |= 0x0100, p += 2;
				else
					return 0;
			}
			while (*p == '(') {
				const char *end = strchr(p, ')');
				size_t sz;

				if (end == NULL)
					return 0;
				sz = sddl_ace(p + 1, (size_t)(end - p - 1), acl + acl_len,
					      sizeof(acl) - acl_len);
				if (sz == 0)
					return 0;
				acl_len += sz;
				n_aces++;
				p = end + 1;
			}
		} else {
			return 0;
		}
	}
	if (outlen < 20 + acl_len + 2 * 68)
		return 0;
	memset(out, 0, 20);
	out[0] = 1;
	if (has_dacl) {
		control |= 0x0004;
		acl[0] = 4;
		acl[1] = 0;
		acl[2] = (uint8_t)acl_len;
		acl[3] = (uint8_t)(acl_len >> 8);
		acl[4] = (uint8_t)n_aces;
		acl[5] = (uint8_t)(n_aces >> 8);
		acl[6] = acl[7] = 0;
		memcpy(out + pos, acl, acl_len);
		out[16] = (uint8_t)pos;
		out[17] = (uint8_t)(pos >> 8);
		pos += acl_len;
	}
	if (has_owner) {
		out[4] = (uint8_t)pos;
		out[5] = (uint8_t)(pos >> 8);
		pos += sddl_put_sid(&owner, out + pos);
	}
	if (has_group) {
		out[8] = (uint8_t)pos;
		out[9] = (uint8_t)(pos >> 8);
		pos += sddl_put_sid(&group, out + pos);
	}
	out[2] = (uint8_t)control;
	out[3] = (uint8_t)(control >> 8);
	return pos;
}

#endif
