/* GPO list computation (MS-GPOL 3.2.5.1.x).  Pure: see gpo.h. */
#include "adenroll-build.h"

#include "gpo.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sd.h"
#include "util.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "{8-4-4-4-12 hex}" at s (exactly GPO_GUID_LEN characters), upper-cased into out. */
static bool take_guid(const char *s, char *out)
{
	static const int dash[] = { 9, 14, 19, 24 };

	if (s[0] != '{')
		return false;
	for (int i = 1; i < GPO_GUID_LEN - 1; i++) {
		bool want_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];

		if (want_dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	if (s[GPO_GUID_LEN - 1] != '}')
		return false;
	for (int i = 0; i < GPO_GUID_LEN; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[GPO_GUID_LEN] = '\0';
	return true;
}

void gpo_links_free(struct gpo_link *l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		free(l[i].gpo_dn);
	free(l);
}

int gpo_parse_gplink(const char *s, struct gpo_link **out, size_t *n, char *err, size_t errlen)
{
	struct gpo_link *links = NULL;
	size_t count = 0;
	const char *p = s;

	*out = NULL;
	*n = 0;
	if (err && errlen)
		err[0] = '\0';
	while (*p) {
		const char *end, *semi, *dn;
		char *num_end;
		unsigned long opt;
		struct gpo_link l;

		/* blanks between entries (a single space is what AD writes for "none") */
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p != '[') {
			seterr(err, errlen, "gPLink: expected '[' at character %zu", (size_t)(p - s) + 1);
			goto bad;
		}
		end = strchr(p, ']');
		if (!end) {
			seterr(err, errlen, "gPLink: entry at character %zu has no closing ']'", (size_t)(p - s) + 1);
			goto bad;
		}
		semi = NULL;
		for (const char *q = end; q > p; q--)
			if (*q == ';') {
				semi = q;
				break;
			}
		if (!semi || strncasecmp(p + 1, "LDAP://", 7) != 0) {
			seterr(err, errlen, "gPLink: entry at character %zu is not [LDAP://<dn>;<options>]",
			       (size_t)(p - s) + 1);
			goto bad;
		}
		opt = strtoul(semi + 1, &num_end, 10);
		if (num_end == semi + 1 || num_end != end || opt > 0xffffffffUL) {
			seterr(err, errlen, "gPLink: entry at character %zu has options '%.*s', not a number",
			       (size_t)(p - s) + 1, (int)(end - semi - 1), semi + 1);
			goto bad;
		}
		dn = p + 8;
		memset(&l, 0, sizeof(l));
		if ((size_t)(semi - dn) < 3 + GPO_GUID_LEN || strncasecmp(dn, "cn=", 3) != 0 ||
		    !take_guid(dn + 3, l.guid)) {
			/* one foreign entry must not hide the others */
			seterr(err, errlen, "gPLink: entry '%.*s' does not name a GPO (cn={GUID},...); skipped",
			       (int)(semi - dn), dn);
			p = end + 1;
			continue;
		}
		l.gpo_dn = xstrndup(dn, (size_t)(semi - dn));
		l.options = (uint32_t)opt;
		links = xrealloc(links, (count + 1) * sizeof(*links));
		links[count++] = l;
		p = end + 1;
	}
	*out = links;
	*n = count;
	return 0;
bad:
	gpo_links_free(links, count);
	return -1;
}

void gpo_som_free(struct gpo_som *s)
{
	if (!s)
		return;
	free(s->dn);
	gpo_links_free(s->links, s->n_links);
	memset(s, 0, sizeof(*s));
}

void gpo_object_free(struct gpo_object *g)
{
	if (!g)
		return;
	free(g->dn);
	free(g->name);
	free(g->file_sys_path);
	free(g->wql_filter);
	sd_free(g->sd);
	memset(g, 0, sizeof(*g));
}

uint32_t gpo_side_version(uint32_t version, enum adenroll_mode mode)
{
	return mode == ADENROLL_MODE_USER ? version >> 16 : version & 0xffffu;
}

const char *gpo_verdict_name(enum gpo_verdict v)
{
	switch (v) {
	case GPO_APPLIED: return "applied";
	case GPO_LINK_IS_DISABLED: return "link disabled";
	case GPO_BLOCKED: return "blocked by inheritance";
	case GPO_NOT_FOUND: return "not found";
	case GPO_SIDE_DISABLED: return "settings disabled";
	case GPO_BAD_FUNCTIONALITY: return "unsupported gPCFunctionalityVersion";
	case GPO_DENIED: return "denied by security filtering";
	case GPO_DUPLICATE: return "linked again with higher precedence";
	}
	return "?";
}

const char *gpo_som_kind_name(enum gpo_som_kind k)
{
	switch (k) {
	case GPO_SOM_SITE: return "site";
	case GPO_SOM_DOMAIN: return "domain";
	case GPO_SOM_OU: return "OU";
	}
	return "?";
}

static const struct gpo_object *find_gpo(const struct gpo_object *gpos, size_t n, const char *guid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(gpos[i].guid, guid) == 0)
			return &gpos[i];
	return NULL;
}

static void push(struct gpo_entry **v, size_t *n, const struct gpo_entry *e)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = *e;
}

/* GPO filtering (MS-GPOL 3.2.5.1.6 - 3.2.5.1.8) for one link that is in scope. */
static void judge(struct gpo_entry *e, size_t n_gpos, const struct gpo_object *gpos, enum adenroll_mode mode,
		  const struct sid *token, size_t n_token)
{
	struct sd_verdict rd, ap;
	uint32_t off = mode == ADENROLL_MODE_USER ? GPO_FLAG_USER_DISABLED : GPO_FLAG_MACHINE_DISABLED;

	e->gpo = find_gpo(gpos, n_gpos, e->link->guid);
	if (!e->gpo) {
		e->verdict = GPO_NOT_FOUND;
		snprintf(e->reason, sizeof(e->reason), "the link names %s, which is not in the directory "
			 "(deleted, or not readable by this account)", e->link->guid);
		return;
	}
	if (e->gpo->flags & off) {
		e->verdict = GPO_SIDE_DISABLED;
		snprintf(e->reason, sizeof(e->reason), "%s settings of the GPO are disabled (flags %lu)",
			 mode == ADENROLL_MODE_USER ? "user" : "computer", (unsigned long)e->gpo->flags);
		return;
	}
	if (e->gpo->functionality_version != 2) {
		e->verdict = GPO_BAD_FUNCTIONALITY;
		snprintf(e->reason, sizeof(e->reason), "gPCFunctionalityVersion is %ld, only 2 is defined",
			 e->gpo->functionality_version);
		return;
	}
	sd_check_read(e->gpo->sd, token, n_token, &rd);
	sd_check_right(e->gpo->sd, token, n_token, SD_RIGHT_APPLY_GROUP_POLICY, &ap);
	if (!rd.granted || !ap.granted) {
		e->verdict = GPO_DENIED;
		snprintf(e->reason, sizeof(e->reason), "%.300s", !rd.granted ? rd.reason : ap.reason);
		return;
	}
	e->verdict = GPO_APPLIED;
	if (e->gpo->wql_filter && *e->gpo->wql_filter)
		snprintf(e->reason, sizeof(e->reason), "%.120s; WMI filter %.60s not evaluated (applied, as "
			 "for a filter that cannot be evaluated)", ap.reason, e->gpo->wql_filter);
	else
		snprintf(e->reason, sizeof(e->reason), "%.300s", ap.reason);
}

void gpo_resolve(const struct gpo_som *soms, size_t n_soms, const struct gpo_object *gpos, size_t n_gpos,
		 enum adenroll_mode mode, const struct sid *token, size_t n_token, struct gpo_result *out)
{
	struct gpo_entry *order = NULL;
	size_t n_order = 0;
	size_t block_at = 0; /* SOMs before this index only contribute enforced links */

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n_soms; i++)
		if (soms[i].options & GPO_SOM_BLOCK_INHERITANCE)
			block_at = i;

	/* Non-enforced links: site, domain, OUs down; within a SOM in gPLink order. */
	for (size_t i = 0; i < n_soms; i++) {
		for (size_t j = 0; j < soms[i].n_links; j++) {
			const struct gpo_link *l = &soms[i].links[j];
			struct gpo_entry e;

			if (l->options & GPO_LINK_ENFORCED)
				continue;
			memset(&e, 0, sizeof(e));
			e.som = &soms[i];
			e.link = l;
			if (l->options & GPO_LINK_DISABLED) {
				e.verdict = GPO_LINK_IS_DISABLED;
				snprintf(e.reason, sizeof(e.reason), "the link at %.250s is disabled", soms[i].dn);
				push(&out->skipped, &out->n_skipped, &e);
				continue;
			}
			if (i < block_at) {
				e.verdict = GPO_BLOCKED;
				snprintf(e.reason, sizeof(e.reason), "%.250s blocks inheritance and the link is not enforced",
					 soms[block_at].dn);
				push(&out->skipped, &out->n_skipped, &e);
				continue;
			}
			push(&order, &n_order, &e);
		}
	}
	/* Enforced links: nearest SOM first, so the highest one is applied last and wins. */
	for (size_t i = n_soms; i-- > 0;) {
		for (size_t j = 0; j < soms[i].n_links; j++) {
			const struct gpo_link *l = &soms[i].links[j];
			struct gpo_entry e;

			if (!(l->options & GPO_LINK_ENFORCED))
				continue;
			memset(&e, 0, sizeof(e));
			e.som = &soms[i];
			e.link = l;
			e.enforced = true;
			if (l->options & GPO_LINK_DISABLED) {
				e.verdict = GPO_LINK_IS_DISABLED;
				snprintf(e.reason, sizeof(e.reason), "the link at %.250s is disabled", soms[i].dn);
				push(&out->skipped, &out->n_skipped, &e);
				continue;
			}
			push(&order, &n_order, &e);
		}
	}
	/* A GPO linked twice counts once, at its place of highest precedence (the later one). */
	for (size_t i = 0; i < n_order; i++) {
		struct gpo_entry *e = &order[i];
		bool later = false;

		for (size_t k = i + 1; k < n_order; k++)
			if (strcmp(order[k].link->guid, e->link->guid) == 0)
				later = true;
		if (later) {
			e->verdict = GPO_DUPLICATE;
			snprintf(e->reason, sizeof(e->reason), "also linked with higher precedence");
			push(&out->skipped, &out->n_skipped, e);
			continue;
		}
		judge(e, n_gpos, gpos, mode, token, n_token);
		if (e->verdict == GPO_APPLIED)
			push(&out->applied, &out->n_applied, e);
		else
			push(&out->skipped, &out->n_skipped, e);
	}
	free(order);
}

void gpo_result_free(struct gpo_result *r)
{
	if (!r)
		return;
	free(r->applied);
	free(r->skipped);
	memset(r, 0, sizeof(*r));
}

char *gpo_registry_pol_path(const char *fsp, enum adenroll_mode mode, char *err, size_t errlen)
{
	return gpo_sysvol_path(fsp, mode == ADENROLL_MODE_USER ? "User/Registry.pol" : "Machine/Registry.pol", err,
			       errlen);
}

char *gpo_sysvol_path(const char *fsp, const char *leaf, char *err, size_t errlen)
{
	const char *p, *rest = NULL;
	char *out;
	size_t o = 0;

	if (fsp == NULL || strncmp(fsp, "\\\\", 2) != 0) {
		seterr(err, errlen, "gPCFileSysPath '%s' is not a \\\\server\\share path", fsp ? fsp : "");
		return NULL;
	}
	/* \\<server>\SysVol\<rest> */
	p = strchr(fsp + 2, '\\');
	if (p && strncasecmp(p, "\\sysvol\\", 8) == 0)
		rest = p + 8;
	if (!rest || !*rest) {
		seterr(err, errlen, "gPCFileSysPath '%s' is not on a SysVol share", fsp);
		return NULL;
	}
	out = xmalloc(strlen(rest) + strlen(leaf) + 2);
	for (const char *c = rest; *c;) {
		const char *e = strchr(c, '\\');
		size_t len = e ? (size_t)(e - c) : strlen(c);

		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.') ||
		    memchr(c, '/', len) || memchr(c, ':', len)) {
			seterr(err, errlen, "gPCFileSysPath '%s' has an empty, '.', '..' or '/' component; refused",
			       fsp);
			free(out);
			return NULL;
		}
		memcpy(out + o, c, len);
		o += len;
		out[o++] = '/';
		c += len;
		if (*c == '\\')
			c++;
	}
	strcpy(out + o, leaf);
	return out;
}
