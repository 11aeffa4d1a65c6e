/* Self-relative security descriptor parser (MS-DTYP 2.4.6, 2.4.5, 2.4.4) and
 * the single-right access check MS-CRTD 2.5.1/2.5.2 asks for.  Input comes
 * from the directory and is untrusted: every read is bounds-checked. */
#include "adenroll-build.h"

#include "sd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SD_HEADER_LEN 20
#define ACL_HEADER_LEN 8
#define ACE_HEADER_LEN 4

/* SECURITY_DESCRIPTOR Control bits (MS-DTYP 2.4.6) */
#define SE_DACL_PRESENT 0x0004u
#define SE_SACL_PRESENT 0x0010u
#define SE_SELF_RELATIVE 0x8000u

/* ACE types (MS-DTYP 2.4.4.1) */
#define ACCESS_ALLOWED_ACE_TYPE 0x00
#define ACCESS_DENIED_ACE_TYPE 0x01
#define ACCESS_ALLOWED_OBJECT_ACE_TYPE 0x05
#define ACCESS_DENIED_OBJECT_ACE_TYPE 0x06

#define INHERIT_ONLY_ACE 0x08
#define ACE_OBJECT_TYPE_PRESENT 0x1u
#define ACE_INHERITED_OBJECT_TYPE_PRESENT 0x2u

/* ADS_RIGHT_DS_CONTROL_ACCESS: all extended rights when no ObjectType narrows it. */
#define ADS_RIGHT_DS_CONTROL_ACCESS 0x00000100u
/* Directory objects map GENERIC_ALL to every right, control access included
 * (MS-ADTS 5.1.3.1). */
#define GENERIC_ALL 0x10000000u

struct sd_ace {
	uint8_t type;
	uint8_t flags;
	bool known;            /* one of the four types we evaluate */
	uint32_t mask;
	bool has_object_type;
	uint8_t object_type[16]; /* wire layout */
	struct sid sid;
};

struct sd {
	bool has_dacl;
	size_t n_aces;
	struct sd_ace *aces;
};

/* Extended-right GUIDs in their wire layout (Data1..3 little-endian). */
static const uint8_t guid_enroll[16] = {
	/* 0e10c968-78fb-11d2-90d4-00c04f79dc55 */
	0x68, 0xc9, 0x10, 0x0e, 0xfb, 0x78, 0xd2, 0x11,
	0x90, 0xd4, 0x00, 0xc0, 0x4f, 0x79, 0xdc, 0x55,
};
static const uint8_t guid_autoenroll[16] = {
	/* a05b8cc2-17bc-4802-a710-e7c15ab866a2 */
	0xc2, 0x8c, 0x5b, 0xa0, 0xbc, 0x17, 0x02, 0x48,
	0xa7, 0x10, 0xe7, 0xc1, 0x5a, 0xb8, 0x66, 0xa2,
};

static const uint8_t guid_apply_group_policy[16] = {
	/* edacfd8f-ffb3-11d1-b41d-00a0c968f939 */
	0x8f, 0xfd, 0xac, 0xed, 0xb3, 0xff, 0xd1, 0x11,
	0xb4, 0x1d, 0x00, 0xa0, 0xc9, 0x68, 0xf9, 0x39,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

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

const char *sd_right_name(enum sd_right right)
{
	switch (right) {
	case SD_RIGHT_AUTOENROLL:
		return "AutoEnroll";
	case SD_RIGHT_APPLY_GROUP_POLICY:
		return "Apply Group Policy";
	case SD_RIGHT_ENROLL:
		break;
	}
	return "Enroll";
}

/* Owner and group are not used by the check, but a descriptor whose offsets
 * point outside itself is corrupt and must not be trusted for the DACL either. */
static int check_sid_at(const uint8_t *buf, size_t len, uint32_t off, const char *what,
			char *err, size_t errlen)
{
	struct sid sid;

	if (off == 0)
		return 0;
	if (off < SD_HEADER_LEN || off >= len) {
		seterr(err, errlen, "%s offset %lu is outside the %zu-byte security descriptor",
		       what, (unsigned long)off, len);
		return -1;
	}
	if (sid_from_bytes(buf + off, len - off, &sid, NULL) < 0) {
		seterr(err, errlen, "%s SID at offset %lu is truncated or malformed", what,
		       (unsigned long)off);
		return -1;
	}
	return 0;
}

/* Validates the ACL header at off; *acl_size gets AclSize. */
static int check_acl_header(const uint8_t *buf, size_t len, uint32_t off, const char *what,
			    size_t *acl_size, size_t *ace_count, char *err, size_t errlen)
{
	const uint8_t *acl;
	size_t size;

	if (off < SD_HEADER_LEN || off >= len || len - off < ACL_HEADER_LEN) {
		seterr(err, errlen, "%s offset %lu leaves no room for an ACL header in the %zu-byte "
		       "security descriptor", what, (unsigned long)off, len);
		return -1;
	}
	acl = buf + off;
	/* MS-DTYP 2.4.5: ACL_REVISION (2) or ACL_REVISION_DS (4, object ACEs). */
	if (acl[0] != 2 && acl[0] != 4) {
		seterr(err, errlen, "%s has unknown revision %u (expected 2 or 4)", what,
		       (unsigned)acl[0]);
		return -1;
	}
	size = rd16(acl + 2);
	if (size < ACL_HEADER_LEN || size > len - off) {
		seterr(err, errlen, "%s size %zu is invalid: %zu bytes are left in the security "
		       "descriptor", what, size, len - off);
		return -1;
	}
	*acl_size = size;
	*ace_count = rd16(acl + 4);
	return 0;
}

/* Parses one ACE of a known type from body (the bytes after the ACE header,
 * AceSize - 4 of them). */
static int parse_known_ace(const uint8_t *body, size_t n, struct sd_ace *ace, size_t index,
			   char *err, size_t errlen)
{
	size_t pos = 4;
	bool object = ace->type == ACCESS_ALLOWED_OBJECT_ACE_TYPE ||
		      ace->type == ACCESS_DENIED_OBJECT_ACE_TYPE;

	if (n < 4)
		goto truncated;
	ace->mask = rd32(body);
	if (object) {
		uint32_t oflags;

		if (n - pos < 4)
			goto truncated;
		oflags = rd32(body + pos);
		pos += 4;
		if (oflags & ACE_OBJECT_TYPE_PRESENT) {
			if (n - pos < 16)
				goto truncated;
			memcpy(ace->object_type, body + pos, 16);
			ace->has_object_type = true;
			pos += 16;
		}
		if (oflags & ACE_INHERITED_OBJECT_TYPE_PRESENT) {
			if (n - pos < 16)
				goto truncated;
			pos += 16;
		}
	}
	if (sid_from_bytes(body + pos, n - pos, &ace->sid, NULL) < 0) {
		seterr(err, errlen, "ACE #%zu: trustee SID is truncated or malformed", index + 1);
		return -1;
	}
	return 0;
truncated:
	seterr(err, errlen, "ACE #%zu: AceSize %zu is too small for an ACE of type 0x%02x",
	       index + 1, n + ACE_HEADER_LEN, (unsigned)ace->type);
	return -1;
}

int sd_parse(const uint8_t *buf, size_t len, struct sd **out, char *err, size_t errlen)
{
	struct sd *sd = NULL;
	uint16_t control;
	uint32_t off_owner, off_group, off_sacl, off_dacl;
	size_t acl_size, ace_count, pos;
	int ret = -1;

	*out = NULL;
	if (buf == NULL || len < SD_HEADER_LEN) {
		seterr(err, errlen, "security descriptor is %zu bytes, shorter than its %d-byte header",
		       buf == NULL ? 0 : len, SD_HEADER_LEN);
		goto out;
	}
	if (buf[0] != 1) {
		seterr(err, errlen, "security descriptor has revision %u (expected 1)",
		       (unsigned)buf[0]);
		goto out;
	}
	control = rd16(buf + 2);
	if (!(control & SE_SELF_RELATIVE)) {
		seterr(err, errlen, "security descriptor is not self-relative (control 0x%04x)",
		       (unsigned)control);
		goto out;
	}
	off_owner = rd32(buf + 4);
	off_group = rd32(buf + 8);
	off_sacl = rd32(buf + 12);
	off_dacl = rd32(buf + 16);
	if (check_sid_at(buf, len, off_owner, "owner", err, errlen) < 0 ||
	    check_sid_at(buf, len, off_group, "group", err, errlen) < 0)
		goto out;
	if ((control & SE_SACL_PRESENT) && off_sacl != 0 &&
	    check_acl_header(buf, len, off_sacl, "SACL", &acl_size, &ace_count, err, errlen) < 0)
		goto out;

	sd = xcalloc(1, sizeof(*sd));
	/* MS-DTYP 2.4.6: without SE_DACL_PRESENT, or with a zero offset, the
	 * descriptor has a NULL DACL, which grants everything. */
	if (!(control & SE_DACL_PRESENT) || off_dacl == 0) {
		sd->has_dacl = false;
		ret = 0;
		goto out;
	}
	sd->has_dacl = true;
	if (check_acl_header(buf, len, off_dacl, "DACL", &acl_size, &ace_count, err, errlen) < 0)
		goto out;
	/* Every ACE takes at least its 4-byte header: a count the size cannot
	 * hold is a lie, and refusing it bounds the allocation. */
	if (ace_count > (acl_size - ACL_HEADER_LEN) / ACE_HEADER_LEN) {
		seterr(err, errlen, "DACL claims %zu ACEs but its %zu bytes hold at most %zu",
		       ace_count, acl_size, (acl_size - ACL_HEADER_LEN) / ACE_HEADER_LEN);
		goto out;
	}
	sd->aces = ace_count ? xcalloc(ace_count, sizeof(*sd->aces)) : NULL;
	sd->n_aces = ace_count;
	pos = ACL_HEADER_LEN;
	for (size_t i = 0; i < ace_count; i++) {
		const uint8_t *ace = buf + off_dacl + pos;
		struct sd_ace *a = &sd->aces[i];
		size_t ace_size;

		if (acl_size - pos < ACE_HEADER_LEN) {
			seterr(err, errlen, "ACE #%zu starts past the end of the %zu-byte DACL",
			       i + 1, acl_size);
			goto out;
		}
		ace_size = rd16(ace + 2);
		if (ace_size < ACE_HEADER_LEN || ace_size > acl_size - pos) {
			seterr(err, errlen, "ACE #%zu has AceSize %zu, but %zu bytes are left in the DACL",
			       i + 1, ace_size, acl_size - pos);
			goto out;
		}
		a->type = ace[0];
		a->flags = ace[1];
		switch (a->type) {
		case ACCESS_ALLOWED_ACE_TYPE:
		case ACCESS_DENIED_ACE_TYPE:
		case ACCESS_ALLOWED_OBJECT_ACE_TYPE:
		case ACCESS_DENIED_OBJECT_ACE_TYPE:
			a->known = true;
			if (parse_known_ace(ace + ACE_HEADER_LEN, ace_size - ACE_HEADER_LEN, a, i,
					    err, errlen) < 0)
				goto out;
			break;
		default:
			/* Audit, alarm, callback, label ... ACEs never grant or deny
			 * (MS-DTYP 2.4.4.1): skip them by their size. */
			a->known = false;
			break;
		}
		pos += ace_size;
	}
	ret = 0;
out:
	if (ret < 0) {
		sd_free(sd);
		return -1;
	}
	*out = sd;
	return 0;
}

void sd_free(struct sd *sd)
{
	if (sd == NULL)
		return;
	free(sd->aces);
	free(sd);
}

size_t sd_ace_count(const struct sd *sd)
{
	return sd == NULL ? 0 : sd->n_aces;
}

bool sd_has_dacl(const struct sd *sd)
{
	return sd != NULL && sd->has_dacl;
}

static bool token_has(const struct sid *token, size_t n_token, const struct sid *sid)
{
	for (size_t i = 0; i < n_token; i++)
		if (sid_equal(&token[i], sid))
			return true;
	return false;
}

/* "allow object ACE Enroll for S-1-5-21-1-2-3-515 (Domain Computers)" */
static void describe_ace(const struct sd_ace *a, enum sd_right right, char *out, size_t outlen)
{
	char sidstr[SID_STRING_MAX];
	const char *name = sid_wellknown_name(&a->sid);
	bool deny = a->type == ACCESS_DENIED_ACE_TYPE || a->type == ACCESS_DENIED_OBJECT_ACE_TYPE;
	bool object = a->type == ACCESS_ALLOWED_OBJECT_ACE_TYPE ||
		      a->type == ACCESS_DENIED_OBJECT_ACE_TYPE;
	const char *what;

	sid_to_string(&a->sid, sidstr, sizeof(sidstr));
	if (object && a->has_object_type)
		what = sd_right_name(right);
	else if (!(a->mask & ADS_RIGHT_DS_CONTROL_ACCESS))
		what = "GENERIC_ALL";
	else
		what = "all extended rights";
	if (snprintf(out, outlen, "%s %s %s for %s%s%s%s", deny ? "deny" : "allow",
		     object ? "object ACE" : "ACE", what, sidstr, name ? " (" : "",
		     name ? name : "", name ? ")" : "") < 0)
		out[0] = '\0';
}

/* No descriptor denies, a NULL DACL grants: true when that decided (out filled). */
static bool verdict_without_aces(const struct sd *sd, const char *rname, struct sd_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->ace_index = -1;
	if (sd == NULL) {
		snprintf(out->reason, sizeof(out->reason), "%s not granted: no security descriptor",
			 rname);
		return true;
	}
	if (!sd->has_dacl) {
		out->granted = true;
		snprintf(out->reason, sizeof(out->reason),
			 "%s granted: the security descriptor has a NULL DACL, which allows everyone",
			 rname);
		return true;
	}
	return false;
}

void sd_check_right(const struct sd *sd, const struct sid *token, size_t n_token,
		    enum sd_right right, struct sd_verdict *out)
{
	const uint8_t *guid = right == SD_RIGHT_AUTOENROLL ? guid_autoenroll
			      : right == SD_RIGHT_APPLY_GROUP_POLICY ? guid_apply_group_policy
								     : guid_enroll;
	const char *rname = sd_right_name(right);
	char desc[160];

	if (verdict_without_aces(sd, rname, out))
		return;
	/* MS-DTYP 2.5.3.2: ACEs are evaluated in order and the first one that
	 * speaks about the requested right for a SID of the token decides.  AD
	 * stores DACLs in canonical order (explicit deny first). */
	for (size_t i = 0; i < sd->n_aces; i++) {
		const struct sd_ace *a = &sd->aces[i];
		bool object, deny;

		if (!a->known || (a->flags & INHERIT_ONLY_ACE))
			continue;
		if (!(a->mask & (ADS_RIGHT_DS_CONTROL_ACCESS | GENERIC_ALL)))
			continue;
		object = a->type == ACCESS_ALLOWED_OBJECT_ACE_TYPE ||
			 a->type == ACCESS_DENIED_OBJECT_ACE_TYPE;
		if (object && a->has_object_type && memcmp(a->object_type, guid, 16) != 0)
			continue;
		if (!token_has(token, n_token, &a->sid))
			continue;
		deny = a->type == ACCESS_DENIED_ACE_TYPE || a->type == ACCESS_DENIED_OBJECT_ACE_TYPE;
		out->granted = !deny;
		out->by_deny = deny;
		out->ace_index = (int)i;
		out->sid = a->sid;
		describe_ace(a, right, desc, sizeof(desc));
		snprintf(out->reason, sizeof(out->reason), "%s %s by ACE #%zu (%s)", rname,
			 deny ? "denied" : "granted", i + 1, desc);
		return;
	}
	snprintf(out->reason, sizeof(out->reason),
		 "no ACE grants %s to any of the account's %zu SIDs (%zu ACEs checked)", rname,
		 n_token, sd->n_aces);
}

/* ADS_RIGHT_DS_READ_PROPERTY and GENERIC_READ (MS-ADTS 5.1.3.2) */
#define ADS_RIGHT_DS_READ_PROPERTY 0x00000010u
#define GENERIC_READ 0x80000000u

void sd_check_read(const struct sd *sd, const struct sid *token, size_t n_token,
		   struct sd_verdict *out)
{
	char sidstr[SID_STRING_MAX];

	if (verdict_without_aces(sd, "Read", out))
		return;
	for (size_t i = 0; i < sd->n_aces; i++) {
		const struct sd_ace *a = &sd->aces[i];
		bool object, deny;
		const char *name;

		if (!a->known || (a->flags & INHERIT_ONLY_ACE))
			continue;
		if (!(a->mask & (ADS_RIGHT_DS_READ_PROPERTY | GENERIC_READ | GENERIC_ALL)))
			continue;
		object = a->type == ACCESS_ALLOWED_OBJECT_ACE_TYPE ||
			 a->type == ACCESS_DENIED_OBJECT_ACE_TYPE;
		if (object && a->has_object_type)
			continue;
		if (!token_has(token, n_token, &a->sid))
			continue;
		deny = a->type == ACCESS_DENIED_ACE_TYPE || a->type == ACCESS_DENIED_OBJECT_ACE_TYPE;
		out->granted = !deny;
		out->by_deny = deny;
		out->ace_index = (int)i;
		out->sid = a->sid;
		sid_to_string(&a->sid, sidstr, sizeof(sidstr));
		name = sid_wellknown_name(&a->sid);
		snprintf(out->reason, sizeof(out->reason), "Read %s by ACE #%zu (%s for %s%s%s%s)",
			 deny ? "denied" : "granted", i + 1, deny ? "deny" : "allow", sidstr,
			 name ? " (" : "", name ? name : "", name ? ")" : "");
		return;
	}
	snprintf(out->reason, sizeof(out->reason),
		 "no ACE grants Read to any of the account's %zu SIDs (%zu ACEs checked)", n_token,
		 sd->n_aces);
}
