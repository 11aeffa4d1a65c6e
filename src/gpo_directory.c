/* Reads SOMs and GPOs for gpo_resolve() (MS-GPOL 3.2.5.1.1 - 3.2.5.1.5). */
#include "adenroll-build.h"

#include "gpo_directory.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ldap_conn.h"
#include "log.h"
#include "sd.h"
#include "util.h"

/* ------------------------------------------------------------ DN chain */

/* Next unescaped ',' at or after p, or the terminating NUL. */
static const char *next_comma(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == ',')
			return p;
	}
	return p;
}

size_t gpo_ou_chain(const char *dn, const char *domain_nc, char ***out)
{
	char **v = NULL;
	size_t n = 0;
	size_t dlen = strlen(domain_nc), len = strlen(dn);
	const char *p;

	*out = NULL;
	if (len <= dlen || strcasecmp(dn + len - dlen, domain_nc) != 0)
		return 0;
	/* the account's own RDN is not a SOM: start at its parent */
	p = next_comma(dn);
	while (*p == ',') {
		const char *parent = p + 1;

		if ((size_t)(dn + len - parent) <= dlen)
			break;
		if (strncasecmp(parent, "OU=", 3) == 0) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = xstrdup(parent);
		}
		p = next_comma(parent);
	}
	/* collected nearest first; SOM order is top down */
	for (size_t i = 0; i < n / 2; i++) {
		char *t = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*out = v;
	return n;
}

/* ------------------------------------------------------------ netlogon ping */

/* One RFC 1035 name (compression allowed) at *pos of buf into out (dotted). */
static int read_dns_name(const uint8_t *buf, size_t len, size_t *pos, char *out, size_t outlen)
{
	size_t p = *pos, o = 0;
	bool jumped = false;
	int hops = 0;

	out[0] = '\0';
	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = buf[p];
		if (l == 0) {
			if (!jumped)
				*pos = p + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++hops > 16)
				return -1;
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = (size_t)(l & 0x3f) << 8 | buf[p + 1];
			continue;
		}
		if ((l & 0xc0) != 0 || p + 1 + l > len || o + l + 2 > outlen)
			return -1;
		if (o)
			out[o++] = '.';
		memcpy(out + o, buf + p + 1, l);
		o += l;
		out[o] = '\0';
		p += 1 + l;
	}
	return 0;
}

struct blob_ctx {
	struct bloblist v;
};

static int blob_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	(void)c;
	ldap_entry_blobs(e, "Netlogon", &((struct blob_ctx *)ctx)->v);
	return 0;
}

/* ClientSiteName from NETLOGON_SAM_LOGON_RESPONSE_EX (MS-ADTS 6.3.1.9). */
static char *netlogon_client_site(struct ldap_conn *c, const char *dns_domain)
{
	static const char *const attrs[] = { "Netlogon", NULL };
	struct blob_ctx x = { { 0 } };
	char *esc = ldap_filter_escape(dns_domain);
	/* NtVer = NETLOGON_NT_VERSION_5EX (0x4) | 0x2: ask for the EX response */
	char *filter = xasprintf("(&(DnsDomain=%s)(NtVer=\\06\\00\\00\\00))", esc);
	char *site = NULL;
	char name[256];
	size_t pos = 24;

	free(esc);
	if (ldap_conn_search(c, "", LDAP_CONN_BASE, filter, attrs, LDAP_CONN_NO_PAGING, blob_cb, &x, NULL) != 0 ||
	    x.v.n == 0)
		goto out;
	{
		const uint8_t *b = x.v.v[0].data;
		size_t len = x.v.v[0].len;

		/* Opcode 23 = LOGON_SAM_LOGON_RESPONSE_EX; then Sbz, Flags, DomainGuid */
		if (len < 24 || (b[0] | b[1] << 8) != 23)
			goto out;
		/* DnsForestName, DnsDomainName, DnsHostName, NetbiosDomainName,
		 * NetbiosComputerName, UserName, DcSiteName, ClientSiteName */
		for (int i = 0; i < 8; i++)
			if (read_dns_name(b, len, &pos, name, sizeof(name)) < 0)
				goto out;
		if (name[0])
			site = xstrdup(name);
	}
out:
	if (!site)
		log_debug("the netlogon ping on %s did not name this client's site", ldap_conn_dc(c));
	bloblist_free(&x.v);
	free(filter);
	return site;
}

/* ------------------------------------------------------------ SOMs */

struct gpo_ctx {
	struct gpo_directory *d;
	bool with_sd;
	const char *policies_dn;      /* CN=Policies,CN=System,<domain>: where GPOs live */
};

struct som_ctx {
	struct gpo_directory *d;
	const char *sam;
	char *found_account_dn;
	struct gpo_ctx *gpos;         /* GPO entries the same search returns */
	int failed;
};

static int gpo_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx);

static struct gpo_som *som_by_dn(struct gpo_directory *d, const char *dn)
{
	for (size_t i = 0; i < d->n_soms; i++)
		if (d->soms[i].dn && strcasecmp(d->soms[i].dn, dn) == 0)
			return &d->soms[i];
	return NULL;
}

static void som_fill(struct gpo_som *s, const struct ldap_entry *e)
{
	char *link = ldap_entry_string(e, "gPLink");
	char *opt = ldap_entry_string(e, "gPOptions");
	char err[256];

	s->options = opt ? (uint32_t)strtoul(opt, NULL, 10) : 0;
	if (link && gpo_parse_gplink(link, &s->links, &s->n_links, err, sizeof(err)) < 0)
		log_warn("%s: %s; its links are ignored", s->dn, err);
	else if (link && err[0])
		log_warn("%s: %s", s->dn, err);
	free(link);
	free(opt);
}

/* A groupPolicyContainer counts only where GPOs live: one level under
 * CN=Policies,CN=System of the domain (MS-GPOL 2.3). */
static bool is_policies_child(const char *dn, const char *policies_dn)
{
	const char *p = next_comma(dn);
	return *p == ',' && strcasecmp(p + 1, policies_dn) == 0;
}

static int som_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct som_ctx *x = ctx;
	char *dn = ldap_entry_dn(e);
	char *sam = ldap_entry_string(e, "sAMAccountName");
	struct gpo_som *s;

	if (dn && sam && strcasecmp(sam, x->sam) == 0) {
		free(x->found_account_dn);
		x->found_account_dn = xstrdup(dn);
	} else if (dn && (s = som_by_dn(x->d, dn)) != NULL) {
		som_fill(s, e);
	} else if (dn && x->gpos && is_policies_child(dn, x->gpos->policies_dn)) {
		gpo_cb(c, e, x->gpos);
	}
	free(dn);
	free(sam);
	return 0;
}

static void soms_init(struct gpo_directory *d, const char *default_nc, const char *account_dn)
{
	char **ous = NULL;
	size_t n_ous = gpo_ou_chain(account_dn, default_nc, &ous);

	for (size_t i = 0; i < d->n_soms; i++)
		gpo_som_free(&d->soms[i]);
	free(d->soms);
	d->soms = xcalloc(n_ous + 2, sizeof(*d->soms));
	d->n_soms = 0;
	/* the site SOM, when known, is filled by its own search */
	if (d->site) {
		d->soms[d->n_soms].kind = GPO_SOM_SITE;
		d->n_soms++;
	}
	d->soms[d->n_soms].kind = GPO_SOM_DOMAIN;
	d->soms[d->n_soms++].dn = xstrdup(default_nc);
	for (size_t i = 0; i < n_ous; i++) {
		d->soms[d->n_soms].kind = GPO_SOM_OU;
		d->soms[d->n_soms++].dn = ous[i];
	}
	free(ous);
}

/* One subtree search for the account, its SOMs and, when ask is not empty,
 * the groupPolicyContainers named in it: on an unchanged directory that is
 * all the domain part of Group Policy costs. */
static int read_soms(struct ldap_conn *c, const char *default_nc, struct som_ctx *x, const struct strlist *ask)
{
	/* nTSecurityDescriptor last: left out when not asked for */
	static const char *const attrs[] = { "gPLink", "gPOptions", "sAMAccountName", "cn", "displayName", "flags",
		"versionNumber", "gPCFunctionalityVersion", "gPCFileSysPath", "gPCWQLFilter", "nTSecurityDescriptor",
		NULL };
	static const char *const attrs_no_sd[] = { "gPLink", "gPOptions", "sAMAccountName", "cn", "displayName",
		"flags", "versionNumber", "gPCFunctionalityVersion", "gPCFileSysPath", "gPCWQLFilter", NULL };
	struct gpo_directory *d = x->d;
	char *esc = ldap_filter_escape(x->sam);
	char *filter = xasprintf("(|(sAMAccountName=%s)", esc);
	size_t used = strlen(filter);
	bool sd = x->gpos && x->gpos->with_sd && ask && ask->n > 0;
	int ret;

	free(esc);
	for (size_t i = 0; i < d->n_soms + (ask && ask->n ? ask->n + 1 : 0); i++) {
		char *e, *part;

		if (i < d->n_soms) {
			if (d->soms[i].kind == GPO_SOM_SITE)
				continue;
			e = ldap_filter_escape(d->soms[i].dn);
			part = xasprintf("(distinguishedName=%s)", e);
		} else if (i == d->n_soms) {
			e = NULL;
			part = xstrdup("(&(objectClass=groupPolicyContainer)(|");
		} else {
			e = ldap_filter_escape(ask->v[i - d->n_soms - 1]);
			part = xasprintf("(cn=%s)%s", e, i + 1 == d->n_soms + ask->n + 1 ? "))" : "");
		}
		free(e);
		filter = xrealloc(filter, used + strlen(part) + 2);
		strcpy(filter + used, part);
		used += strlen(part);
		free(part);
	}
	strcpy(filter + used, ")");
	ret = ldap_conn_search(c, default_nc, LDAP_CONN_SUB, filter, sd ? attrs : attrs_no_sd,
			       sd ? LDAP_CONN_SD_FLAGS : 0, som_cb, x, NULL);
	free(filter);
	return ret;
}

static int site_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct gpo_som *s = ctx;

	(void)c;
	som_fill(s, e);
	return 0;
}

/* ------------------------------------------------------------ GPOs */

static int gpo_cb(struct ldap_conn *c, const struct ldap_entry *e, void *ctx)
{
	struct gpo_ctx *x = ctx;
	struct gpo_object g;
	char *cn = ldap_entry_string(e, "cn"), *v;
	struct bloblist sd = { 0 };
	char err[256];

	(void)c;
	memset(&g, 0, sizeof(g));
	if (!cn || strlen(cn) != GPO_GUID_LEN) {
		free(cn);
		return 0;
	}
	for (size_t i = 0; i < GPO_GUID_LEN; i++)
		g.guid[i] = (char)toupper((unsigned char)cn[i]);
	free(cn);
	for (size_t i = 0; i < x->d->n_gpos; i++)
		if (strcmp(x->d->gpos[i].guid, g.guid) == 0)
			return 0;
	g.dn = ldap_entry_dn(e);
	g.name = ldap_entry_string(e, "displayName");
	v = ldap_entry_string(e, "flags");
	g.flags = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
	free(v);
	v = ldap_entry_string(e, "versionNumber");
	/* a signed INTEGER in LDAP: take its 32 bits */
	g.version = v ? (uint32_t)strtoll(v, NULL, 10) : 0;
	free(v);
	v = ldap_entry_string(e, "gPCFunctionalityVersion");
	g.functionality_version = v ? strtol(v, NULL, 10) : -1;
	free(v);
	g.file_sys_path = ldap_entry_string(e, "gPCFileSysPath");
	g.wql_filter = ldap_entry_string(e, "gPCWQLFilter");
	if (x->with_sd) {
		ldap_entry_blobs(e, "nTSecurityDescriptor", &sd);
		if (sd.n == 0)
			log_warn("GPO %s: no nTSecurityDescriptor was returned; security filtering denies it", g.guid);
		else if (sd_parse(sd.v[0].data, sd.v[0].len, &g.sd, err, sizeof(err)) < 0)
			log_warn("GPO %s: nTSecurityDescriptor does not parse (%s); security filtering denies it",
				 g.guid, err);
		bloblist_free(&sd);
	}
	x->d->gpos = xrealloc(x->d->gpos, (x->d->n_gpos + 1) * sizeof(*x->d->gpos));
	x->d->gpos[x->d->n_gpos++] = g;
	return 0;
}

static int cmp_gpo(const void *a, const void *b)
{
	return strcmp(((const struct gpo_object *)a)->guid, ((const struct gpo_object *)b)->guid);
}

/* The linked GPOs the SOM search did not already ask for (asked). */
static int read_gpos(struct ldap_conn *c, struct gpo_ctx *x, const struct strlist *asked)
{
	static const char *const attrs[] = { "cn", "displayName", "flags", "versionNumber",
		"gPCFunctionalityVersion", "gPCFileSysPath", "gPCWQLFilter", "nTSecurityDescriptor", NULL };
	struct gpo_directory *d = x->d;
	struct strlist seen = { 0 };
	char *filter = xstrdup("(&(objectClass=groupPolicyContainer)(|");
	bool not_found = false;
	int ret = 0;

	for (size_t i = 0; i < d->n_soms; i++)
		for (size_t j = 0; j < d->soms[i].n_links; j++) {
			const char *g = d->soms[i].links[j].guid;
			char *f;

			if (strlist_contains_ci(&seen, g) || (asked && strlist_contains_ci(asked, g)))
				continue;
			strlist_add(&seen, g);
			f = xasprintf("%s(cn=%s)", filter, g);
			free(filter);
			filter = f;
		}
	if (seen.n > 0) {
		char *f = xasprintf("%s))", filter);
		free(filter);
		filter = f;
		ret = ldap_conn_search(c, x->policies_dn, LDAP_CONN_ONE, filter, attrs,
				       x->with_sd ? LDAP_CONN_SD_FLAGS : 0, gpo_cb, x, &not_found);
		if (ret != 0 && not_found)
			ret = 0;
	}
	/* the fingerprint must not depend on the order the DC returns them in */
	if (d->n_gpos > 1)
		qsort(d->gpos, d->n_gpos, sizeof(*d->gpos), cmp_gpo);
	strlist_free(&seen);
	free(filter);
	return ret;
}

static void gpos_clear(struct gpo_directory *d)
{
	for (size_t i = 0; i < d->n_gpos; i++)
		gpo_object_free(&d->gpos[i]);
	free(d->gpos);
	d->gpos = NULL;
	d->n_gpos = 0;
}

/* ------------------------------------------------------------ entry points */

int gpo_directory_read(struct ldap_conn *c, const char *default_nc, const char *config_nc, const char *sam,
		       const char *account_dn, const char *site, bool with_sd, const struct strlist *known_gpos,
		       struct gpo_directory *out)
{
	struct som_ctx x;
	struct gpo_ctx g;
	struct gpo_som site_som;
	struct strlist ask = { 0 };
	char *policies_dn = xasprintf("CN=Policies,CN=System,%s", default_nc);
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	memset(&site_som, 0, sizeof(site_som));
	g.d = out;
	g.with_sd = with_sd;
	g.policies_dn = policies_dn;
	x.d = out;
	x.sam = sam;
	x.gpos = &g;
	if (site) {
		if (*site)
			out->site = xstrdup(site);
	} else {
		/* the DNS domain is the default NC's DC= components */
		char dom[256] = "";
		size_t o = 0;

		for (const char *p = default_nc; *p && o + 1 < sizeof(dom);) {
			const char *e = next_comma(p);

			if (strncasecmp(p, "DC=", 3) == 0) {
				size_t l = (size_t)(e - p - 3);

				if (o + l + 2 >= sizeof(dom))
					break;
				if (o)
					dom[o++] = '.';
				memcpy(dom + o, p + 3, l);
				o += l;
				dom[o] = '\0';
			}
			p = *e ? e + 1 : e;
		}
		out->site = netlogon_client_site(c, dom);
	}
	/* the site first: the GPOs it links join those the SOM search asks for */
	if (out->site) {
		static const char *const attrs[] = { "gPLink", "gPOptions", NULL };
		bool nf = false;

		site_som.kind = GPO_SOM_SITE;
		site_som.dn = xasprintf("CN=%s,CN=Sites,%s", out->site, config_nc);
		if (ldap_conn_search(c, site_som.dn, LDAP_CONN_BASE, "(objectClass=*)", attrs, LDAP_CONN_NO_PAGING,
				     site_cb, &site_som, &nf) != 0 && !nf)
			goto out;
		for (size_t j = 0; j < site_som.n_links; j++)
			if (!strlist_contains_ci(&ask, site_som.links[j].guid))
				strlist_add(&ask, site_som.links[j].guid);
	}
	for (size_t i = 0; known_gpos && i < known_gpos->n; i++)
		if (strlen(known_gpos->v[i]) == GPO_GUID_LEN && !strpbrk(known_gpos->v[i], "()*\\") &&
		    !strlist_contains_ci(&ask, known_gpos->v[i]))
			strlist_add(&ask, known_gpos->v[i]);
	soms_init(out, default_nc, account_dn ? account_dn : default_nc);
	if (read_soms(c, default_nc, &x, &ask) != 0)
		goto out;
	if (x.found_account_dn && (!account_dn || strcasecmp(x.found_account_dn, account_dn) != 0)) {
		/* the account moved (or the caller did not know): its OUs differ */
		log_debug("account %s is at %s", sam, x.found_account_dn);
		soms_init(out, default_nc, x.found_account_dn);
		gpos_clear(out);
		if (read_soms(c, default_nc, &x, &ask) != 0)
			goto out;
	}
	if (!x.found_account_dn) {
		log_error("account %s not found under %s: cannot tell which GPOs apply", sam, default_nc);
		goto out;
	}
	out->account_dn = x.found_account_dn;
	x.found_account_dn = NULL;
	if (out->site) {
		gpo_som_free(&out->soms[0]);
		out->soms[0] = site_som;
		memset(&site_som, 0, sizeof(site_som));
	}
	/* a GPO linked since the last read: one more search */
	if (read_gpos(c, &g, &ask) != 0)
		goto out;
	ret = 0;
out:
	free(x.found_account_dn);
	gpo_som_free(&site_som);
	strlist_free(&ask);
	free(policies_dn);
	if (ret != 0)
		gpo_directory_free(out);
	return ret;
}

size_t gpo_directory_linked(const struct gpo_directory *d, struct strlist *out)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_soms; i++)
		for (size_t j = 0; j < d->soms[i].n_links; j++)
			if (!strlist_contains_ci(out, d->soms[i].links[j].guid)) {
				strlist_add(out, d->soms[i].links[j].guid);
				n++;
			}
	return n;
}

void gpo_directory_free(struct gpo_directory *d)
{
	if (!d)
		return;
	free(d->account_dn);
	free(d->site);
	for (size_t i = 0; i < d->n_soms; i++)
		gpo_som_free(&d->soms[i]);
	free(d->soms);
	for (size_t i = 0; i < d->n_gpos; i++)
		gpo_object_free(&d->gpos[i]);
	free(d->gpos);
	memset(d, 0, sizeof(*d));
}

static void append(char **s, size_t *len, const char *add)
{
	size_t n = strlen(add);

	*s = xrealloc(*s, *len + n + 1);
	memcpy(*s + *len, add, n + 1);
	*len += n;
}

char *gpo_directory_fingerprint(const struct gpo_directory *d)
{
	char *s = xstrdup(""), *line;
	size_t len = 0;

	line = xasprintf("account %s\n", d->account_dn ? d->account_dn : "-");
	append(&s, &len, line);
	free(line);
	for (size_t i = 0; i < d->n_soms; i++) {
		const struct gpo_som *m = &d->soms[i];

		line = xasprintf("som %s %lu", m->dn ? m->dn : "-", (unsigned long)m->options);
		append(&s, &len, line);
		free(line);
		for (size_t j = 0; j < m->n_links; j++) {
			line = xasprintf(" %s;%lu", m->links[j].guid, (unsigned long)m->links[j].options);
			append(&s, &len, line);
			free(line);
		}
		append(&s, &len, "\n");
	}
	for (size_t i = 0; i < d->n_gpos; i++) {
		const struct gpo_object *g = &d->gpos[i];

		line = xasprintf("gpo %s %lu %lu %ld\n", g->guid, (unsigned long)g->version, (unsigned long)g->flags,
				 g->functionality_version);
		append(&s, &len, line);
		free(line);
	}
	return s;
}
