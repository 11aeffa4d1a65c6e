/* Windows security identifiers (MS-DTYP 2.4.2). */
#ifndef ADENROLL_SID_H
#define ADENROLL_SID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SID_MAX_SUB_AUTHORITIES 15
#define SID_STRING_MAX 192

struct sid {
	uint8_t revision;
	uint8_t sub_count;
	uint8_t authority[6];               /* big-endian on the wire */
	uint32_t sub[SID_MAX_SUB_AUTHORITIES];
};

/* Parses a binary SID from buf (at most len bytes); *used gets its size.
 * Returns 0, or -1 when truncated or malformed (revision != 1, >15 subs). */
int sid_from_bytes(const uint8_t *buf, size_t len, struct sid *out, size_t *used);
/* "S-1-5-21-..." into out (SID_STRING_MAX bytes). */
void sid_to_string(const struct sid *sid, char *out, size_t outlen);
/* Parses "S-1-..." text; 0 or -1. */
int sid_from_string(const char *s, struct sid *out);
bool sid_equal(const struct sid *a, const struct sid *b);
/* Well-known name for display ("Everyone", "Domain Computers" by RID 515, ...), or NULL. */
const char *sid_wellknown_name(const struct sid *sid);

#endif
