/* Which templates this account autoenrolls, and the one reason why or why
 * not (docs/protocol.md 5.2; MS-CRTD 2.4, 2.5, 2.26-2.28; MS-WCCE 3.1.2.4.2.2.2.8). */
#include "adenroll-build.h"

#include "eligibility.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sd.h"
#include "strmap.h"
#include "util.h"

/* MS-WCCE 3.1.2.1: Client_Current_Version "MUST be set equal to 4" by a
 * client that implements CT_FLAG_REQUIRE_SAME_KEY_RENEWAL "and 15 otherwise".
 * We always renew with a fresh key, so we declare 15, which means the
 * client-version bits of msPKI-Private-Key-Flag never exclude a template by
 * themselves; the features those versions introduced (attestation, key
 * archival, CNG algorithms) are each checked on their own below. */
#define DECLARED_CLIENT_VERSION(opt) \
	((opt)->client_version ? (opt)->client_version : ELIG_CLIENT_VERSION_DEFAULT)

static const char *const code_names[] = {
	[ELIG_OK] = "ok",
	[ELIG_INVALID_TEMPLATE] = "invalid_template",
	[ELIG_WRONG_CONTEXT] = "wrong_context",
	[ELIG_V1_TEMPLATE] = "v1_template",
	[ELIG_NOT_AUTOENROLL] = "not_autoenroll",
	[ELIG_CA_TEMPLATE] = "ca_template",
	[ELIG_USER_INTERACTION] = "user_interaction",
	[ELIG_RA_SIGNATURES] = "ra_signatures",
	[ELIG_KEY_ARCHIVAL] = "key_archival",
	[ELIG_ATTESTATION] = "attestation",
	[ELIG_SUPPLIES_SUBJECT] = "supplies_subject",
	[ELIG_CLIENT_VERSION] = "client_version",
	[ELIG_KEY_ALGORITHM] = "key_algorithm",
	[ELIG_NOT_PUBLISHED] = "not_published",
	[ELIG_BAD_SD] = "bad_security_descriptor",
	[ELIG_NO_ENROLL_RIGHT] = "no_enroll_right",
	[ELIG_NO_CA_ENROLL_RIGHT] = "no_ca_enroll_right",
	[ELIG_NO_AUTOENROLL_RIGHT] = "no_autoenroll_right",
	[ELIG_SUPERSEDED] = "superseded",
};

const char *eligibility_code_name(enum elig_code c)
{
	if ((size_t)c >= sizeof(code_names) / sizeof(code_names[0]) || code_names[c] == NULL)
		return "unknown";
	return code_names[c];
}

/* Appends to a fixed buffer; output that does not fit is cut, never overrun. */
static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t off = strnlen(buf, size);
	va_list ap;
	int n;

	if (off + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + off, size - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[off] = '\0';
}

static void set_reason(struct eligibility *e, enum elig_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_reason(struct eligibility *e, enum elig_code code, const char *fmt, ...)
{
	va_list ap;
	int n;

	e->code = code;
	n = snprintf(e->reason, sizeof(e->reason), "not eligible: ");
	if (n < 0 || (size_t)n >= sizeof(e->reason))
		return;
	va_start(ap, fmt);
	if (vsnprintf(e->reason + n, sizeof(e->reason) - (size_t)n, fmt, ap) < 0)
		e->reason[n] = '\0';
	va_end(ap);
}

/* Lists of indices (CAs publishing a name, templates superseding a name)
 * reached through a name: built once per evaluation, so each template costs
 * a lookup instead of a scan of every CA's or template's list (MS-CRTD 2.21
 * supersedence and publication stay linear in templates + names). */
struct name_lists {
	struct strmap ids;     /* name -> list id */
	size_t *head, *tail;   /* per list id: first and last node, STRMAP_NONE when empty */
	size_t n_lists, cap_lists;
	size_t *node_val, *node_next;
	size_t n_nodes, cap_nodes;
};

static void name_lists_init(struct name_lists *l)
{
	memset(l, 0, sizeof(*l));
	strmap_init(&l->ids, true);
}

/* Appends val to name's list; a val equal to the list's last is not repeated,
 * so callers that add in ascending order get sorted lists without duplicates. */
static void name_lists_add(struct name_lists *l, const char *name, size_t val)
{
	size_t id = strmap_get(&l->ids, name), node;

	if (name == NULL)
		return;
	if (id == STRMAP_NONE) {
		if (l->n_lists == l->cap_lists) {
			l->cap_lists = l->cap_lists ? l->cap_lists * 2 : 16;
			l->head = xrealloc(l->head, l->cap_lists * sizeof(*l->head));
			l->tail = xrealloc(l->tail, l->cap_lists * sizeof(*l->tail));
		}
		id = l->n_lists++;
		l->head[id] = l->tail[id] = STRMAP_NONE;
		strmap_add_first(&l->ids, name, id);
	}
	if (l->tail[id] != STRMAP_NONE && l->node_val[l->tail[id]] == val)
		return;
	if (l->n_nodes == l->cap_nodes) {
		l->cap_nodes = l->cap_nodes ? l->cap_nodes * 2 : 16;
		l->node_val = xrealloc(l->node_val, l->cap_nodes * sizeof(*l->node_val));
		l->node_next = xrealloc(l->node_next, l->cap_nodes * sizeof(*l->node_next));
	}
	node = l->n_nodes++;
	l->node_val[node] = val;
	l->node_next[node] = STRMAP_NONE;
	if (l->tail[id] == STRMAP_NONE)
		l->head[id] = node;
	else
		l->node_next[l->tail[id]] = node;
	l->tail[id] = node;
}

/* The first node of name's list, STRMAP_NONE when none. */
static size_t name_lists_first(const struct name_lists *l, const char *name)
{
	size_t id = strmap_get(&l->ids, name);

	return id == STRMAP_NONE ? STRMAP_NONE : l->head[id];
}

static void name_lists_free(struct name_lists *l)
{
	strmap_free(&l->ids);
	free(l->head);
	free(l->tail);
	free(l->node_val);
	free(l->node_next);
}

/* template cn -> the CAs listing it in certificateTemplates, in d->cas order. */
static void publication_lists(const struct directory *d, struct name_lists *pub)
{
	name_lists_init(pub);
	for (size_t i = 0; i < d->n_cas; i++) {
		if (d->cas[i].cn == NULL)
			continue;
		for (size_t k = 0; k < d->cas[i].templates.n; k++)
			name_lists_add(pub, d->cas[i].templates.v[k], i);
	}
}

static void find_cas(const struct directory *d, const struct name_lists *pub, const struct template *t,
		     struct eligibility *e)
{
	e->n_cas = 0;
	if (t->cn == NULL)
		return;
	for (size_t node = name_lists_first(pub, t->cn); node != STRMAP_NONE; node = pub->node_next[node]) {
		const struct enrollment_service *ca = &d->cas[pub->node_val[node]];
		size_t j;

		if (e->n_cas == ELIG_MAX_CAS)
			break;
		/* Insertion by cn keeps the order independent of LDAP's. */
		for (j = e->n_cas; j > 0 && strcasecmp(e->cas[j - 1]->cn, ca->cn) > 0; j--)
			e->cas[j] = e->cas[j - 1];
		e->cas[j] = ca;
		e->n_cas++;
	}
}

void eligibility_ca_enroll(const struct enrollment_service *ca, const struct account *acct,
			   struct sd_verdict *out)
{
	struct sd *sd = NULL;
	char err[200];

	memset(out, 0, sizeof(*out));
	out->ace_index = -1;
	if (ca->security_descriptor.data == NULL || ca->security_descriptor.len == 0) {
		out->granted = true;
		snprintf(out->reason, sizeof(out->reason), "no nTSecurityDescriptor returned: tried, the CA decides");
		return;
	}
	if (sd_parse(ca->security_descriptor.data, ca->security_descriptor.len, &sd, err, sizeof(err)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "its nTSecurityDescriptor does not parse: %s", err);
		return;
	}
	sd_check_right(sd, acct->token, acct->n_token, SD_RIGHT_ENROLL, out);
	sd_free(sd);
}

static void evaluate_cas(const struct directory *d, struct eligibility *e)
{
	e->n_cas_granted = 0;
	for (size_t i = 0; i < e->n_cas; i++) {
		eligibility_ca_enroll(e->cas[i], &d->account, &e->ca_enroll[i]);
		if (e->ca_enroll[i].granted)
			e->n_cas_granted++;
	}
}

/* "EXAMPLE-CA, OTHER-CA (skipped: Enroll denied by ACE #1 (...))" */
static void append_cas(struct eligibility *e)
{
	for (size_t i = 0; i < e->n_cas; i++) {
		append(e->reason, sizeof(e->reason), "%s%s", i ? ", " : "", e->cas[i]->cn);
		if (!e->ca_enroll[i].granted)
			append(e->reason, sizeof(e->reason), " (skipped: %s)", e->ca_enroll[i].reason);
	}
}

/* Fills e->enroll / e->autoenroll; returns -1 with the reason set when the
 * descriptor cannot be used. */
static int evaluate_acl(const struct directory *d, const struct template *t, struct eligibility *e,
			char *err, size_t errlen)
{
	struct sd *sd = NULL;

	if (t->security_descriptor.data == NULL || t->security_descriptor.len == 0) {
		snprintf(err, errlen, "nTSecurityDescriptor was not returned (empty); the LDAP "
			 "search must send the SD_FLAGS control asking for the DACL");
		return -1;
	}
	if (sd_parse(t->security_descriptor.data, t->security_descriptor.len, &sd, err, errlen) < 0)
		return -1;
	sd_check_right(sd, d->account.token, d->account.n_token, SD_RIGHT_ENROLL, &e->enroll);
	sd_check_right(sd, d->account.token, d->account.n_token, SD_RIGHT_AUTOENROLL, &e->autoenroll);
	e->acl_evaluated = true;
	sd_free(sd);
	return 0;
}

static void evaluate_one(const struct directory *d, const struct eligibility_options *opt,
			 const struct name_lists *pub, const struct template *t, struct eligibility *e)
{
	char sd_err[256] = "";
	bool sd_ok;
	bool machine_mode = opt->mode == ADENROLL_MODE_MACHINE;
	uint32_t client_version;

	bool ra_renewal = false;

	memset(e, 0, sizeof(*e));
	e->template = t;
	find_cas(d, pub, t, e);
	evaluate_cas(d, e);
	if (t->invalid_reason != NULL) {
		set_reason(e, ELIG_INVALID_TEMPLATE, "template is invalid: %s", t->invalid_reason);
		return;
	}
	/* Evaluated for every valid template so "explain" can show the ACL even
	 * when another rule decides. */
	sd_ok = evaluate_acl(d, t, e, sd_err, sizeof(sd_err)) == 0;

	/* MS-CRTD 2.4: CT_FLAG_MACHINE_TYPE selects the context. */
	if (template_is_machine(t) && !machine_mode) {
		set_reason(e, ELIG_WRONG_CONTEXT, "machine template (CT_FLAG_MACHINE_TYPE is set "
			   "in flags), this run is for a user");
		return;
	}
	if (!template_is_machine(t) && machine_mode) {
		set_reason(e, ELIG_WRONG_CONTEXT, "user template (CT_FLAG_MACHINE_TYPE is not set "
			   "in flags), this run is for the machine");
		return;
	}
	if (t->schema_version <= 1) {
		/* Schema 1 keeps the autoenrollment bit in flags; such templates
		 * cannot hold the AutoEnroll permission in the template editor. */
		if (!(t->flags & CT_FLAG_AUTO_ENROLLMENT)) {
			set_reason(e, ELIG_NOT_AUTOENROLL, "autoenrollment is not enabled "
				   "(CT_FLAG_AUTO_ENROLLMENT 0x20 is not set in flags of this "
				   "schema version 1 template)");
			return;
		}
		if (!opt->allow_v1_templates) {
			set_reason(e, ELIG_V1_TEMPLATE, "schema version 1 template: v1 templates "
				   "cannot carry the AutoEnroll permission; duplicate it as a v2+ "
				   "template, or set allow_v1_templates = yes in [enroll]");
			return;
		}
	} else if (!(t->enrollment_flag & CT_EF_AUTO_ENROLLMENT)) {
		set_reason(e, ELIG_NOT_AUTOENROLL, "autoenrollment is not enabled "
			   "(CT_FLAG_AUTO_ENROLLMENT 0x20 is not set in msPKI-Enrollment-Flag 0x%x)",
			   (unsigned)t->enrollment_flag);
		return;
	}
	if (t->flags & (CT_FLAG_IS_CA | CT_FLAG_IS_CROSS_CA)) {
		set_reason(e, ELIG_CA_TEMPLATE, "CA certificate template (%s is set in flags)",
			   (t->flags & CT_FLAG_IS_CA) ? "CT_FLAG_IS_CA" : "CT_FLAG_IS_CROSS_CA");
		return;
	}
	if (t->enrollment_flag & CT_EF_USER_INTERACTION_REQUIRED) {
		set_reason(e, ELIG_USER_INTERACTION, "requires user consent "
			   "(CT_FLAG_USER_INTERACTION_REQUIRED in msPKI-Enrollment-Flag); "
			   "adenroll runs unattended");
		return;
	}
	/* One signature with "valid existing certificate" for reenrollment
	 * (CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT): a renewal signed
	 * by a held certificate of the template provides it (MS-WCCE
	 * 3.2.2.6.2.1.4.8); the other checks still decide. */
	ra_renewal = t->ra_signatures == 1 && (t->enrollment_flag & CT_EF_PREVIOUS_APPROVAL_VALIDATE);
	if (t->ra_signatures > 0 && !ra_renewal) {
		set_reason(e, ELIG_RA_SIGNATURES, "requires %u enrollment-agent signature%s "
			   "(msPKI-RA-Signature)%s", (unsigned)t->ra_signatures, t->ra_signatures == 1 ? "" : "s",
			   t->ra_signatures == 1 ? " and does not accept a valid existing certificate for "
			   "reenrollment (CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT)" : "");
		return;
	}
	if (t->private_key_flag & CT_PK_REQUIRE_KEY_ARCHIVAL) {
		set_reason(e, ELIG_KEY_ARCHIVAL, "requires private key archival at the CA "
			   "(CT_FLAG_REQUIRE_PRIVATE_KEY_ARCHIVAL), which adenroll does not support");
		return;
	}
	if (t->private_key_flag & CT_PK_ATTEST_REQUIRED) {
		set_reason(e, ELIG_ATTESTATION, "requires TPM key attestation "
			   "(CT_FLAG_ATTEST_REQUIRED), which adenroll does not support");
		return;
	}
	if (t->name_flag & (CT_NF_ENROLLEE_SUPPLIES_SUBJECT | CT_NF_ENROLLEE_SUPPLIES_SAN)) {
		set_reason(e, ELIG_SUPPLIES_SUBJECT, "the enrollee must supply the %s (%s); "
			   "autoenrollment only requests certificates whose names the CA builds "
			   "from the directory",
			   (t->name_flag & CT_NF_ENROLLEE_SUPPLIES_SUBJECT) ? "subject" : "subject alternative name",
			   (t->name_flag & CT_NF_ENROLLEE_SUPPLIES_SUBJECT) ?
			   "CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT" : "CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME");
		return;
	}
	client_version = (t->private_key_flag & CT_PK_CLIENT_VERSION_MASK) >> CT_PK_CLIENT_VERSION_SHIFT;
	if (client_version > DECLARED_CLIENT_VERSION(opt)) {
		set_reason(e, ELIG_CLIENT_VERSION, "requires client version %u "
			   "(msPKI-Private-Key-Flag bits 24-27), adenroll declares %u",
			   (unsigned)client_version, DECLARED_CLIENT_VERSION(opt));
		return;
	}
	if (t->key_alg == TEMPLATE_KEY_UNSUPPORTED) {
		set_reason(e, ELIG_KEY_ALGORITHM, "no key algorithm adenroll can generate: %s",
			   t->ra_app_policies && strstr(t->ra_app_policies, "msPKI-Asymmetric-Algorithm") ?
			   "msPKI-Asymmetric-Algorithm in msPKI-RA-Application-Policies is not RSA, "
			   "ECDH/ECDSA P-256, P-384 or P-521" :
			   "pKIDefaultCSPs lists only DSS / Diffie-Hellman providers");
		return;
	}
	if (e->n_cas == 0) {
		set_reason(e, ELIG_NOT_PUBLISHED, "not published by any enrollment service "
			   "(no CA lists it in certificateTemplates)");
		return;
	}
	if (!sd_ok) {
		set_reason(e, ELIG_BAD_SD, "cannot check Enroll/AutoEnroll: %s", sd_err);
		return;
	}
	/* MS-CRTD 2.5.2: autoenrollment needs both rights. */
	if (!e->enroll.granted) {
		set_reason(e, ELIG_NO_ENROLL_RIGHT, "%s%s", e->enroll.reason, e->enroll.by_deny ? "" :
			   "; allow Enroll for one of its groups on the template's Security tab");
		return;
	}
	if (!e->autoenroll.granted) {
		set_reason(e, ELIG_NO_AUTOENROLL_RIGHT, "%s%s", e->autoenroll.reason,
			   e->autoenroll.by_deny ? "" :
			   "; allow Autoenroll for one of its groups on the template's Security tab");
		return;
	}
	if (e->n_cas_granted == 0) {
		set_reason(e, ELIG_NO_CA_ENROLL_RIGHT, "no enrollment service publishing it grants Enroll "
			   "(\"Request Certificates\" on the CA's Security tab): ");
		append_cas(e);
		return;
	}
	if (ra_renewal) {
		set_reason(e, ELIG_RA_SIGNATURES, "requires 1 enrollment-agent signature (msPKI-RA-Signature): "
			   "no first enrollment; a held valid certificate of this template is renewed (the "
			   "renewal's signature counts); published by ");
		append_cas(e);
		e->renewal_only = true;
		return;
	}
	e->code = ELIG_OK;
	e->reason[0] = '\0';
	append(e->reason, sizeof(e->reason), "eligible: %s, %s; published by ", e->enroll.reason,
	       e->autoenroll.reason);
	append_cas(e);
}

static bool names_template(const struct template *by, const struct template *t)
{
	return by->cn != NULL && t->cn != NULL && strcasecmp(by->cn, t->cn) != 0 &&
	       strlist_contains_ci(&by->supersedes, t->cn);
}

/* name -> the templates naming it in msPKI-Supersede-Templates, in template order. */
static void supersedence_lists(const struct directory *d, struct name_lists *by)
{
	name_lists_init(by);
	for (size_t j = 0; j < d->n_templates; j++) {
		if (d->templates[j].cn == NULL)
			continue;
		for (size_t k = 0; k < d->templates[j].supersedes.n; k++)
			name_lists_add(by, d->templates[j].supersedes.v[k], j);
	}
}

/* MS-CRTD 2.21: an eligible template replaces the templates it names in
 * msPKI-Supersede-Templates.  Chains (A supersedes B supersedes C) end at an
 * eligible template that no eligible template supersedes; the members of a
 * cycle with no such end keep each other, so a misconfiguration never leaves
 * the account without any certificate. */
static bool is_superseded_by_eligible(const struct directory *d, const struct name_lists *by,
				      const struct eligibility *out, size_t i)
{
	const struct template *t = &d->templates[i];

	if (t->cn == NULL)
		return false;
	for (size_t node = name_lists_first(by, t->cn); node != STRMAP_NONE; node = by->node_next[node]) {
		size_t j = by->node_val[node];

		if (j != i && out[j].code == ELIG_OK && names_template(&d->templates[j], t))
			return true;
	}
	return false;
}

static void apply_supersedence(const struct directory *d, struct eligibility *out)
{
	size_t n = d->n_templates;
	size_t *queue;
	bool *seen, *final;
	struct name_lists by;

	if (n == 0)
		return;
	supersedence_lists(d, &by);
	queue = xcalloc(n, sizeof(*queue));
	seen = xcalloc(n, sizeof(*seen));
	final = xcalloc(n, sizeof(*final));
	for (size_t i = 0; i < n; i++)
		final[i] = out[i].code == ELIG_OK && !is_superseded_by_eligible(d, &by, out, i);
	for (size_t i = 0; i < n; i++) {
		size_t head = 0, tail = 0, n_seen = 0;

		if (final[i])
			continue;
		/* Breadth-first over "is superseded by", in template order, so the
		 * nearest end wins and the result does not depend on luck.  Only
		 * the templates marked are cleared again (queue[0..tail)). */
		seen[i] = true;
		queue[tail++] = i;
		while (head < tail && out[i].superseded_by == NULL) {
			size_t cur = queue[head++];
			const struct template *ct = &d->templates[cur];

			if (ct->cn == NULL)
				continue;
			for (size_t node = name_lists_first(&by, ct->cn); node != STRMAP_NONE;
			     node = by.node_next[node]) {
				size_t j = by.node_val[node];

				if (seen[j] || out[j].code != ELIG_OK || !names_template(&d->templates[j], ct))
					continue;
				if (final[j]) {
					out[i].superseded_by = d->templates[j].cn;
					break;
				}
				seen[j] = true;
				queue[tail++] = j;
			}
		}
		for (n_seen = 0; n_seen < tail; n_seen++)
			seen[queue[n_seen]] = false;
	}
	for (size_t i = 0; i < n; i++) {
		if (out[i].superseded_by == NULL || out[i].code != ELIG_OK)
			continue;
		out[i].code = ELIG_SUPERSEDED;
		snprintf(out[i].reason, sizeof(out[i].reason),
			 "not eligible: superseded by eligible template %s (msPKI-Supersede-Templates)",
			 out[i].superseded_by);
	}
	free(queue);
	free(seen);
	free(final);
	name_lists_free(&by);
}

void eligibility_evaluate_all(const struct directory *d, const struct eligibility_options *opt,
			      struct eligibility *out)
{
	struct name_lists pub;

	publication_lists(d, &pub);
	for (size_t i = 0; i < d->n_templates; i++)
		evaluate_one(d, opt, &pub, &d->templates[i], &out[i]);
	name_lists_free(&pub);
	apply_supersedence(d, out);
}
