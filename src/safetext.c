/* Safe text: see safetext.h for what is unsafe and why. */
#include "adenroll-build.h"

#include "safetext.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) with its code point in *cp,
 * or 0 when the bytes there are not one. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		if (len < 2 || (s[1] & 0xc0) != 0x80)
			return 0;
		*cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		*cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
		      ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return 4;
	}
	return 0;
}

static bool unsafe_char(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static const char *char_name(uint32_t cp)
{
	static const char *const c0[0x20] = {
		"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF", "CR",
		"SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC",
		"FS", "GS", "RS", "US",
	};
	if (cp < 0x20)
		return c0[cp];
	if (cp == 0x7f)
		return "DEL";
	if (cp >= 0x80 && cp <= 0x9f)
		return "C1 control";
	if (cp == 0x2028 || cp == 0x2029)
		return "line/paragraph separator";
	return "bidirectional control";
}

int safetext_check(const void *s, size_t len, char *why, size_t whylen)
{
	const unsigned char *p = s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_next(p + i, len - i, &cp);

		if (n == 0) {
			if (why && whylen)
				snprintf(why, whylen, "not valid UTF-8 (byte 0x%02x at offset %zu)", p[i], i);
			return -1;
		}
		if (unsafe_char(cp)) {
			if (why && whylen)
				snprintf(why, whylen, "control character U+%04X (%s) at offset %zu", (unsigned)cp,
					 char_name(cp), i);
			return -1;
		}
		i += n;
	}
	return 0;
}

bool safetext_is_clean(const char *s)
{
	return s == NULL || safetext_check(s, strlen(s), NULL, 0) == 0;
}

/* One input position as output: the bytes themselves or their escape. */
static size_t piece_at(const unsigned char *p, size_t len, char piece[16], size_t *consumed)
{
	uint32_t cp = 0;
	size_t n = utf8_next(p, len, &cp);

	if (n == 0) {
		*consumed = 1;
		return (size_t)snprintf(piece, 16, "\\x%02x", p[0]);
	}
	*consumed = n;
	if (unsafe_char(cp))
		return cp < 0x80 ? (size_t)snprintf(piece, 16, "\\x%02x", (unsigned)cp)
				 : (size_t)snprintf(piece, 16, "\\u{%04x}", (unsigned)cp);
	memcpy(piece, p, n);
	return n;
}

char *safetext_escape(const void *s, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = s;
	char piece[16];
	size_t i, o = 0, n, plen, total = 0;

	if (outlen == 0)
		return out;
	for (i = 0; i < len; i += n)
		total += piece_at(p + i, len - i, piece, &n);
	/* Whole, or cut at a piece boundary with room left for "...". */
	size_t limit = total < outlen ? outlen - 1 : (outlen > 4 ? outlen - 4 : 0);
	for (i = 0; i < len; i += n) {
		plen = piece_at(p + i, len - i, piece, &n);
		if (o + plen > limit)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
	}
	if (i < len && outlen > 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *safetext_dup(const char *s)
{
	size_t len, cap;
	char *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	cap = len * 8 + 1; /* worst case: every byte becomes \u{HHHH} (8) or \xHH (4) */
	out = xmalloc(cap);
	return safetext_escape(s, len, out, cap);
}

const char *safetext(const char *s)
{
	static char slots[SAFETEXT_SLOTS][SAFETEXT_SLOT_SIZE];
	static unsigned next;
	char *out;

	if (s == NULL)
		return NULL;
	out = slots[next++ % SAFETEXT_SLOTS];
	return safetext_escape(s, strlen(s), out, SAFETEXT_SLOT_SIZE);
}

void safetext_sanitize(char *buf, size_t cap)
{
	size_t len;
	char *copy;

	if (buf == NULL || cap == 0)
		return;
	len = strnlen(buf, cap - 1);
	if (safetext_check(buf, len, NULL, 0) == 0)
		return;
	copy = xmalloc(len + 1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	safetext_escape(copy, len, buf, cap);
	free(copy);
}
