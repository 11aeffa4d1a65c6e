/* One template's enrollment (docs/protocol.md 5.3, 6.2-6.5): key, request, the CAs in
 * order with failover, checks of what came back, then the store or the
 * pending state. */
#include "adenroll-build.h"

#include "enroll.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cert.h"
#include "ces.h"
#include "certsrv.h"
#include "csr.h"
#include "discovery.h"
#include "ds_certificate.h"
#include "eligibility.h"
#include "fsutil.h"
#include "hooks.h"
#include "hresult.h"
#include "keyproc.h"
#include "log.h"
#include "openssl_loader.h"
#include "policy.h"
#include "safetext.h"
#include "state.h"
#include "store.h"
#include "trust_policy.h"

const char *enroll_outcome_name(enum enroll_outcome o)
{
	switch (o) {
	case ENROLL_ISSUED: return "issued";
	case ENROLL_PENDING: return "pending";
	case ENROLL_DENIED: return "denied";
	case ENROLL_FAILED: return "failed";
	case ENROLL_DRY_RUN: return "dry-run";
	}
	return "?";
}

static bool publishes(const struct enrollment_service *ca, const struct template *t)
{
	return ca->dns_host_name && *ca->dns_host_name && strlist_contains_ci(&ca->templates, t->cn);
}

/* Windows asks only CAs whose enrollment service grants the account
 * Enroll; a CA that refuses would answer 0x80094011 anyway. */
static bool grants_enroll(const struct directory *dir, const struct enrollment_service *ca,
			  const struct template *t)
{
	struct sd_verdict v;
	eligibility_ca_enroll(ca, &dir->account, &v);
	if (!v.granted)
		log_info("%s: not asking %s: %s", t->cn, ca->cn, v.reason);
	return v.granted;
}

/* AD compares names without case; eligibility.c lists the publishing CAs
 * in this same order, so `templates` and explain show the order tried. */
static int by_cn(const void *a, const void *b)
{
	const struct enrollment_service *x = *(const struct enrollment_service *const *)a;
	const struct enrollment_service *y = *(const struct enrollment_service *const *)b;
	return strcasecmp(x->cn ? x->cn : "", y->cn ? y->cn : "");
}

size_t enroll_ca_order(const struct directory *dir, const struct config *cfg, const struct template *t,
		       const struct enrollment_service ***out)
{
	const struct enrollment_service **v = xcalloc(dir->n_cas + 1, sizeof *v);
	size_t n = 0;
	if (cfg && cfg->cas.n > 0) {
		/* The administrator's order; a name that is not a publishing CA
		 * in the directory is skipped (we would have no trust for it). */
		for (size_t i = 0; i < cfg->cas.n; i++) {
			for (size_t j = 0; j < dir->n_cas; j++) {
				const struct enrollment_service *ca = &dir->cas[j];
				bool named = (ca->cn && str_eq_ci(ca->cn, cfg->cas.v[i])) ||
					     (ca->dns_host_name && str_eq_ci(ca->dns_host_name, cfg->cas.v[i]));
				bool dup = false;
				for (size_t k = 0; k < n; k++)
					dup = dup || v[k] == ca;
				if (named && !dup && publishes(ca, t) && grants_enroll(dir, ca, t))
					v[n++] = ca;
			}
		}
	} else {
		for (size_t j = 0; j < dir->n_cas; j++)
			if (publishes(&dir->cas[j], t) && grants_enroll(dir, &dir->cas[j], t))
				v[n++] = &dir->cas[j];
		qsort(v, n, sizeof *v, by_cn);
	}
	*out = v;
	return n;
}

/* Chain material for a CA's certificates: the trust policy's
 * (trust_policy_ca_https), whose anchors are dir->root_cas. */
static void intermediates_for(const struct directory *dir, const struct enrollment_service *ca,
			      struct bloblist *out)
{
	trust_policy_ca_https(dir, ca, out);
}

const char *enroll_transport_name(enum config_transport t)
{
	switch (t) {
	case CONFIG_TRANSPORT_AUTO: return "auto";
	case CONFIG_TRANSPORT_CERTSRV: return "certsrv";
	case CONFIG_TRANSPORT_CES: return "ces";
	}
	return "?";
}

static const char *ces_auth_name(unsigned auth)
{
	switch (auth) {
	case CES_AUTH_ANONYMOUS: return "anonymous";
	case CES_AUTH_KERBEROS: return "Kerberos";
	case CES_AUTH_PASSWORD: return "user name and password";
	case CES_AUTH_CERTIFICATE: return "client certificate";
	}
	return "unknown";
}

size_t enroll_endpoints(const struct enrollment_service *ca, enum config_transport transport, bool renewal,
			bool log_skipped, struct enroll_endpoint **out)
{
	struct enroll_endpoint *v = xcalloc(ca->n_ces + 1, sizeof *v);
	size_t n = 0;
	if (transport != CONFIG_TRANSPORT_CERTSRV) {
		for (size_t i = 0; i < ca->n_ces; i++) {
			const struct ces_endpoint *e = &ca->ces[i];
			if (e->auth != CES_AUTH_KERBEROS) {
				if (log_skipped)
					log_info("%s: CES endpoint %s not used: its authentication is %s (%u); adenroll "
						 "authenticates with Kerberos only", ca->cn, e->url, ces_auth_name(e->auth),
						 e->auth);
				continue;
			}
			if (e->renewal_only && !renewal) {
				if (log_skipped)
					log_info("%s: CES endpoint %s not used: it takes renewals only", ca->cn, e->url);
				continue;
			}
			v[n].ces = true;
			v[n].url = e->url;
			v[n].priority = e->priority;
			v[n].renewal_only = e->renewal_only;
			if (e->policy_server)
				snprintf(v[n].why, sizeof v[n].why, "CES endpoint of priority %u from an enrollment policy "
					 "server of Group Policy (Kerberos%s), [enroll] transport = %s", e->priority,
					 e->renewal_only ? ", renewals only" : "", enroll_transport_name(transport));
			else
				snprintf(v[n].why, sizeof v[n].why, "CES endpoint of priority %u in msPKI-Enrollment-Servers "
					 "(Kerberos%s), [enroll] transport = %s", e->priority,
					 e->renewal_only ? ", renewals only" : "", enroll_transport_name(transport));
			n++;
		}
	}
	if (transport == CONFIG_TRANSPORT_AUTO && n == 0 && log_skipped)
		log_info("%s: no CES endpoint with Kerberos%s in msPKI-Enrollment-Servers nor from an enrollment policy "
			 "server of Group Policy: web enrollment only", ca->cn, renewal ? "" : " for new requests");
	if (transport != CONFIG_TRANSPORT_CES && ca->dns_host_name && *ca->dns_host_name) {
		v[n].ces = false;
		v[n].url = NULL;
		snprintf(v[n].why, sizeof v[n].why, "web enrollment at the CA's dNSHostName, [enroll] transport = %s%s",
			 enroll_transport_name(transport), n ? " (after its CES endpoints)" : "");
		n++;
	}
	*out = v;
	return n;
}

void enroll_route_make(const struct directory *dir, const struct config *cfg, const struct template *t,
		       bool renewal, bool log_skipped, struct enroll_route *out)
{
	const struct enrollment_service **cas = NULL;

	memset(out, 0, sizeof *out);
	out->renewal = renewal;
	out->n = enroll_ca_order(dir, cfg, t, &cas);
	out->cas = xcalloc(out->n + 1, sizeof *out->cas);
	for (size_t i = 0; i < out->n; i++) {
		out->cas[i].ca = cas[i];
		out->cas[i].n_eps = enroll_endpoints(cas[i], cfg->transport, renewal, log_skipped, &out->cas[i].eps);
	}
	free(cas);
}

void enroll_route_free(struct enroll_route *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->cas != NULL && i < r->n; i++)
		free(r->cas[i].eps);
	free(r->cas);
	r->cas = NULL;
	r->n = 0;
}

const char *enroll_route_transport(const struct enroll_route *r)
{
	if (r->n == 0)
		return NULL;
	if (r->cas[0].n_eps == 0)
		return "none";
	return r->cas[0].eps[0].ces ? "ces" : "certsrv";
}

/* The enrollment interface both transports sit behind: submit, retrieve a
 * pending request, fetch the chain of an issued one. */
struct transport {
	struct certsrv_client *certsrv;
	struct ces_client *ces;
	char where[512];              /* the URL, for messages and the report */
};

static int tx_open(struct discovery *disc, const struct config *cfg, const struct enrollment_service *ca,
		   const char *host, const char *ces_url, struct transport *tx)
{
	struct bloblist inter = { NULL, 0 };
	memset(tx, 0, sizeof *tx);
	intermediates_for(&disc->dir, ca, &inter);
	if (ces_url) {
		snprintf(tx->where, sizeof tx->where, "%s", ces_url);
		tx->ces = ces_client_new(ces_url, &disc->dir.root_cas, &inter, cfg->http_timeout);
	} else {
		snprintf(tx->where, sizeof tx->where, "https://%s/certsrv/", host ? host : "?");
		tx->certsrv = host ? certsrv_client_new(host, &disc->dir.root_cas, &inter, cfg->http_timeout) : NULL;
	}
	bloblist_free(&inter);
	return tx->ces || tx->certsrv ? 0 : -1;
}

static void tx_close(struct transport *tx)
{
	certsrv_client_free(tx->certsrv);
	ces_client_free(tx->ces);
	tx->certsrv = NULL;
	tx->ces = NULL;
}

static int tx_submit(struct transport *tx, const char *csr, bool cms, const struct template *t,
		     const char *machine_name, struct certsrv_result *r, char **pem)
{
	if (tx->ces)
		return ces_submit(tx->ces, csr, cms, t->cn, machine_name, r, pem);
	return certsrv_submit(tx->certsrv, csr, t->cn, r, pem);
}

static int tx_retrieve(struct transport *tx, long req_id, struct certsrv_result *r, char **pem)
{
	if (tx->ces)
		return ces_retrieve(tx->ces, req_id, r, pem);
	return certsrv_retrieve(tx->certsrv, req_id, r, pem);
}

static int tx_fetch_chain(struct transport *tx, long req_id, STACK_OF(X509) **chain)
{
	if (tx->ces)
		return ces_fetch_chain(tx->ces, chain);
	return req_id >= 0 ? certsrv_fetch_chain(tx->certsrv, req_id, chain) : -1;
}

/* "(0x80094812 CERTSRV_E_SUBJECT_EMAIL_REQUIRED: the account has no e-mail ...)" */
static void hresult_words(const struct certsrv_result *r, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!r->has_hresult || r->hresult == 0)
		return;
	const char *name = hresult_name(r->hresult);
	const char *why = hresult_explain(r->hresult);
	snprintf(out, outlen, " (0x%08X%s%s%s%s)", (unsigned)r->hresult, name ? " " : "", name ? name : "",
		 why ? ": " : "", why ? why : "");
}

static void set_message(struct enroll_report *rep, const struct certsrv_result *r)
{
	char hr[320];
	hresult_words(r, hr, sizeof hr);
	snprintf(rep->message, sizeof rep->message, "%s%s", r->message[0] ? r->message : "no message", hr);
	rep->has_hresult = r->has_hresult;
	rep->hresult = r->hresult;
}

/* The enrolled/renewed hooks this install will owe, recorded before the
 * store's commit point: a run killed between the commit and the hooks
 * leaves the record, and the next pulse runs them (hooks_run_owed).  A
 * record that cannot be written does not stop the install (the certificate
 * matters more than its hooks). */
static void record_hooks_owed(const struct config *cfg, enum adenroll_mode mode, const struct template *t,
			      bool renewal, const char *ca_name, long req_id, X509 *cert)
{
	char serial[80];
	struct hooks_owed h = {
		.template_cn = t->cn, .event = renewal ? HOOK_EVENT_RENEWED : HOOK_EVENT_ENROLLED,
		.serial = serial, .ca_name = (char *)ca_name, .request_id = req_id,
		.not_after = cert_not_after(cert), .recorded = time(NULL),
	};

	if (!cfg->hooks_dir || !*cfg->hooks_dir)
		return;
	if (cert_serial_hex(cert, serial, sizeof serial) < 0 || state_hooks_owed_save(cfg, mode, &h) < 0)
		log_warn("%s: cannot record the hooks this install owes; if the run is interrupted before they "
			 "run, they will not run later", t->cn);
}

/* Checks what the CA returned before anything is stored, then has the key
 * process install it: our key (pubkey_sha256, from the key process), a
 * chain to a CA the directory trusts, the template we asked for. */
static int install_issued(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
			  const struct template *t, bool renewal, const struct enrollment_service *ca,
			  const char *ca_name, struct transport *tx, const char *pubkey_sha256,
			  const char *pem, long req_id, struct enroll_report *rep)
{
	int ret = -1;
	X509 *cert = cert_from_buffer(pem, strlen(pem));
	STACK_OF(X509) *chain = NULL;
	struct bloblist inter = { NULL, 0 };
	char *archived = NULL;
	char err[512], hash[KEYPROC_HASH_HEX];

	if (!cert) {
		snprintf(rep->message, sizeof rep->message, "%s returned a certificate that does not parse", ca_name);
		goto out;
	}
	if (keyproc_cert_pubkey_sha256(cert, hash) < 0 || strcmp(hash, pubkey_sha256) != 0) {
		snprintf(rep->message, sizeof rep->message,
			 "the certificate from %s does not carry our public key: not installed", ca_name);
		goto out;
	}
	time_t now = time(NULL), nb = cert_not_before(cert);
	if (nb != (time_t)-1 && nb > now) {
		/* A CA stamps its own "now" (or earlier): a start in our future
		 * means the two clocks disagree, which chain verification would
		 * only call "not yet valid". */
		char when[32];
		policy_format_time(nb, when, sizeof when);
		snprintf(rep->message, sizeof rep->message,
			 "the certificate from %s is valid only from %s, %lld s after this host's clock: clock "
			 "skew; sync the time with the domain (chrony/ntpd/timedatectl); not installed", ca_name,
			 when, (long long)(nb - now));
		goto out;
	}
	tx_fetch_chain(tx, req_id, &chain); /* optional: AIA and LDAP may suffice */
	intermediates_for(&disc->dir, ca, &inter);
	if (cert_verify_chain(cert, &disc->dir.root_cas, &inter, chain, err, sizeof err) < 0) {
		snprintf(rep->message, sizeof rep->message,
			 "the certificate from %.60s does not chain to a CA published in the directory: %.360s; not installed",
			 ca_name, err);
		goto out;
	}
	if (!cert_is_from_template(cert, t)) {
		snprintf(rep->message, sizeof rep->message,
			 "the certificate from %s is not of template %s (no matching 1.3.6.1.4.1.311.21.7 OID or "
			 "1.3.6.1.4.1.311.20.2 name): not installed", ca_name, t->cn);
		goto out;
	}
	record_hooks_owed(cfg, mode, t, renewal, ca_name, req_id, cert);
	if (keyproc_install(t, cert, chain, ca_name, req_id, &archived, err, sizeof err) < 0) {
		snprintf(rep->message, sizeof rep->message, "cannot store the certificate issued by %.60s: %.400s",
			 ca_name, err);
		goto out;
	}
	rep->outcome = ENROLL_ISSUED;
	rep->request_id = req_id;
	snprintf(rep->archived, sizeof rep->archived, "%s", archived ? archived : "");
	rep->not_after = cert_not_after(cert);
	if (cert_serial_hex(cert, rep->serial, sizeof rep->serial) < 0)
		rep->serial[0] = '\0';
	snprintf(rep->message, sizeof rep->message, "serial %s%s%s", rep->serial, archived ? ", previous archived to " : "",
		 archived ? archived : "");
	log_event_facts(renewal ? LOG_EV_RENEWED : LOG_EV_ENROLLED, t->cn,
			&(struct log_event_facts){ ca_name, rep->serial, req_id, rep->not_after },
			"%s: %s by %s (request %ld, serial %s)", t->cn, renewal ? "renewed" : "enrolled", ca_name,
			req_id, rep->serial);
	ret = 0;
out:
	free(archived);
	bloblist_free(&inter);
	sk_X509_pop_free(chain, X509_free);
	X509_free(cert);
	return ret;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* An issued certificate that cannot be stored is lost (and its key with
 * it), so the directories an install or a pending request writes are
 * checked before asking a CA: a read-only or full file system fails the
 * template without a request.  The free space: a key, a certificate, a
 * chain, meta and the index in 4 KiB blocks, with room. */
#define STORE_MIN_FREE_BYTES (32u * 1024u)

static int stores_writable(const struct config *cfg, char *why, size_t whylen)
{
	const char *dirs[5];
	size_t n = 0;

	if (cfg->store_types & STORE_PEM) {
		dirs[n++] = cfg->pem_dir;
		dirs[n++] = cfg->archive_dir;
	}
	if (cfg->store_types & STORE_NSS) {
		dirs[n++] = cfg->archive_dir;
		/* "sql:/var/lib/adenroll/nssdb" */
		const char *colon = cfg->nss_db ? strchr(cfg->nss_db, ':') : NULL;
		dirs[n++] = colon && colon[1] == '/' ? colon + 1 : cfg->nss_db;
		/* the store refuses a database others can read: know it before the CA issues */
		if (dirs[n - 1] && fs_keys_private(dirs[n - 1], strncmp(cfg->nss_db, "dbm:", 4) == 0 ? "key3.db" :
						   "key4.db", why, whylen) < 0)
			return -1;
	}
	dirs[n++] = cfg->state_dir;   /* pending requests */
	for (size_t i = 0; i < n; i++)
		if (dirs[i] && *dirs[i] && fs_dir_writable(dirs[i], STORE_MIN_FREE_BYTES, why, whylen) < 0)
			return -1;
	/* StrictModes: a directory another account controls could swap the key */
	for (size_t i = 0; i < n; i++)
		if (dirs[i] && *dirs[i] && fs_dir_trusted(dirs[i], why, whylen) < 0)
			return -1;
	return state_dirs_trusted(cfg, why, whylen);
}

/* Records request r->request_id at ca as pending for t, with its key and
 * request (written by the key process), so later runs poll it and never
 * submit again. */
static void record_pending(const struct template *t, const struct enrollment_service *ca,
			   const struct transport *tx, const struct certsrv_result *r, struct enroll_report *rep)
{
	struct pending_request pr = { 0 };
	char err[512] = "";
	pr.template_cn = t->cn;
	pr.ca_name = ca->cn;
	pr.ca_host = ca->dns_host_name;
	/* polled where it was sent: QueryTokenStatus at this very endpoint */
	pr.transport = tx->ces ? "ces" : NULL;
	pr.endpoint = tx->ces ? (char *)tx->where : NULL;
	pr.request_id = r->request_id;
	pr.submitted = time(NULL);
	if (r->request_id < 0 || keyproc_save_pending(&pr, err, sizeof err) < 0) {
		rep->outcome = ENROLL_FAILED;
		snprintf(rep->message, sizeof rep->message,
			 "request%s is pending at %.60s but cannot be recorded%s%.300s: it will be submitted again",
			 r->request_id < 0 ? " (without a request id)" : "", ca->cn, err[0] ? ": " : "", err);
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
		return;
	}
	rep->outcome = ENROLL_PENDING;
	set_message(rep, r);
	log_event_facts(LOG_EV_PENDING, t->cn, &(struct log_event_facts){ ca->cn, NULL, r->request_id, 0 },
			"%s: request %ld pending at %s%s%s: %s", t->cn, r->request_id, ca->cn, tx->ces ? " via CES " : "",
			tx->ces ? tx->where : "", rep->message);
}

static int enroll_run(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
		      const struct template *t, const struct enroll_route *route, bool renewal, X509 *held_cert,
		      bool sign_with_held, bool keep_key, bool dry_run, struct enroll_report *rep);

int enroll_routed(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
		  const struct template *t, const struct enroll_route *route, bool renewal, X509 *held_cert,
		  bool keep_key, bool dry_run, struct enroll_report *rep)
{
	return enroll_run(disc, cfg, mode, t, route, renewal, held_cert, held_cert != NULL,
			  held_cert != NULL && keep_key, dry_run, rep);
}

/* The request from the key process: it reads the held key when the
 * request is signed with it or keeps it (and says when it could not). */
static int make_request(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
			const struct template *t, X509 *held_cert, bool sign_with_held, bool keep_key,
			struct keyproc_made *made, char *err, size_t errlen)
{
	struct keyproc_request rq = {
		.t = t, .acct = &disc->dir.account, .host_fqdn = disc->host_fqdn, .held_cert = held_cert,
		.sign_with_held = sign_with_held, .keep_key = keep_key,
	};

	if (!keyproc_running() && keyproc_start(cfg, mode) < 0) {
		snprintf(err, errlen, "the key process cannot be started (see above)");
		return -1;
	}
	if (keyproc_make_request(&rq, made, err, errlen) < 0)
		return -1;
	if (made->note[0]) {
		/* MS-WCCE 3.1.1.4.3.2: only a valid certificate signs its
		 * renewal; anything else is a new enrollment, as on Windows. */
		log_warn("%s: %s: %s; enrolling anew with a new key", t->cn, made->note,
			 sign_with_held ? "cannot sign a renewal with it" : "cannot reuse it");
	} else if (made->signed_by_held) {
		log_info("%s: renewal request signed by the held certificate", t->cn);
	}
	if (made->kept_key)
		log_info("%s: renewing with the held key (%s)", t->cn,
			 cfg->reuse_key ? "[enroll] reuse_key" : "the template requires the same key on renewal");
	return 0;
}

/* Endpoint e of rc, unless it takes renewals only and the request is not
 * one (a renewal the held certificate could not sign); NULL then. */
static const struct enroll_endpoint *usable(const struct enroll_route_ca *rc, size_t e, bool signed_by_held)
{
	return rc->eps[e].renewal_only && !signed_by_held ? NULL : &rc->eps[e];
}

static size_t n_usable(const struct enroll_route_ca *rc, bool signed_by_held)
{
	size_t k = 0;
	for (size_t e = 0; e < rc->n_eps; e++)
		k += usable(rc, e, signed_by_held) != NULL;
	return k;
}

static int enroll_run(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
		      const struct template *t, const struct enroll_route *route, bool renewal, X509 *held_cert,
		      bool sign_with_held, bool keep_key, bool dry_run, struct enroll_report *rep)
{
	struct keyproc_made made = { 0 };
	char *csr = NULL;
	char err[512];
	int ret = -1;

	memset(rep, 0, sizeof *rep);
	rep->outcome = ENROLL_FAILED;
	rep->request_id = -1;

	/* Discovery refuses such names already (directory.c); the name becomes
	 * a CertAttrib line, so check again right where it matters. */
	if (t->invalid_reason || !safetext_is_clean(t->cn) || !safetext_is_clean(t->oid)) {
		snprintf(rep->message, sizeof rep->message, "template %s is invalid: %s; no request was sent",
			 safetext(t->cn), t->invalid_reason ? t->invalid_reason : "unsafe characters in its name");
		log_event(LOG_EV_FAILED, t->cn, "%s", rep->message);
		goto out;
	}
	size_t n = route->n;
	if (n == 0) {
		snprintf(rep->message, sizeof rep->message, "no enrollment service%s publishes template %s",
			 cfg->cas.n ? " named in [enroll] cas" : "", t->cn);
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
		goto out;
	}
	if (!dry_run && stores_writable(cfg, err, sizeof err) < 0) {
		snprintf(rep->message, sizeof rep->message,
			 "cannot store a new certificate: %.400s; no request was sent to %s", err, route->cas[0].ca->cn);
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
		goto out;
	}
	/* key and request come from the key process: this process never holds the key */
	if (make_request(disc, cfg, mode, t, held_cert, sign_with_held, keep_key, &made, err, sizeof err) < 0) {
		snprintf(rep->message, sizeof rep->message, "%s", err);
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, err);
		goto out;
	}
	csr = made.request;
	made.request = NULL;
	ret = 0;
	if (dry_run) {
		const struct enrollment_service *ca = route->cas[0].ca;
		const struct enroll_endpoint *first = NULL;
		for (size_t e = 0; e < route->cas[0].n_eps && first == NULL; e++)
			first = usable(&route->cas[0], e, made.signed_by_held);
		bool ces = first != NULL && first->ces;
		rep->outcome = ENROLL_DRY_RUN;
		snprintf(rep->ca, sizeof rep->ca, "%s", ca->cn);
		unsigned bits = csr_key_bits(t, cfg);
		char alg[32];
		if (bits)
			snprintf(alg, sizeof alg, "RSA %u", bits);
		else
			snprintf(alg, sizeof alg, "%s", t->key_alg == TEMPLATE_KEY_EC_P384 ? "EC P-384" :
					 t->key_alg == TEMPLATE_KEY_EC_P521 ? "EC P-521" : "EC P-256");
		if (ces)
			snprintf(rep->endpoint, sizeof rep->endpoint, "%s", first->url);
		else
			snprintf(rep->endpoint, sizeof rep->endpoint, "https://%s/certsrv/", ca->dns_host_name);
		snprintf(rep->message, sizeof rep->message, "would submit a %s (%s key) to %s (%s)%s%.300s",
			 made.signed_by_held ? "renewal request signed by the held certificate" : "request", alg,
			 ca->cn, ca->dns_host_name, ces ? " via CES " : "", ces ? first->url : "");
		goto out;
	}

	const char *machine_name = mode == ADENROLL_MODE_MACHINE ? disc->host_fqdn : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct enroll_route_ca *rc = &route->cas[i];
		const struct enrollment_service *ca = rc->ca;
		/* renewal-only endpoints take only a request signed by the held certificate */
		size_t n_eps = n_usable(rc, made.signed_by_held), tried = 0;
		bool next_ca = false;
		snprintf(rep->ca, sizeof rep->ca, "%s", ca->cn);
		if (n_eps == 0) {
			snprintf(rep->message, sizeof rep->message, "%s has no CES endpoint with Kerberos authentication in "
				 "msPKI-Enrollment-Servers nor from an enrollment policy server%s ([enroll] transport = %s)", ca->cn,
				 renewal ? "" : " for new requests", enroll_transport_name(cfg->transport));
			log_warn("%s: %s%s", t->cn, rep->message, i + 1 < n ? "; trying the next CA" : "");
		}
		for (size_t e = 0; e < rc->n_eps && !next_ca; e++) {
			const struct enroll_endpoint *ep = usable(rc, e, made.signed_by_held);
			struct transport tx;
			struct certsrv_result r;
			char *pem = NULL;
			if (ep == NULL) {
				if (route->renewal)
					log_info("%s: %s: CES endpoint %s not used: it takes renewals only", t->cn, ca->cn,
						 rc->eps[e].url);
				continue;
			}
			bool more = ++tried < n_eps || i + 1 < n;
			if (tx_open(disc, cfg, ca, ca->dns_host_name, ep->url, &tx) < 0) {
				snprintf(rep->message, sizeof rep->message, "cannot set up a client for %.200s (%.280s)",
					 ca->cn, tx.where);
				snprintf(rep->endpoint, sizeof rep->endpoint, "%s", tx.where);
				tx_close(&tx);
				continue;
			}
			snprintf(rep->endpoint, sizeof rep->endpoint, "%s", tx.where);
			/* web enrollment names the host, CES the endpoint and why it was chosen */
			const char *at = tx.ces ? tx.where : ca->dns_host_name;
			if (tx.ces)
				log_info("%s: submitting a request to %s (%s; %s)", t->cn, ca->cn, at, ep->why);
			else
				log_info("%s: submitting a request to %s (%s)", t->cn, ca->cn, at);
			tx_submit(&tx, csr, made.signed_by_held, t, machine_name, &r, &pem);
			rep->request_id = r.request_id;
			bool next = false;
			switch (r.disposition) {
			case CERTSRV_ISSUED:
				if (install_issued(disc, cfg, mode, t, renewal, ca, ca->cn, &tx, made.pubkey_sha256, pem,
						   r.request_id, rep) < 0) {
					rep->outcome = ENROLL_FAILED;
					log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
				}
				break;
			case CERTSRV_PENDING:
				record_pending(t, ca, &tx, &r, rep);
				break;
			case CERTSRV_DENIED:
				set_message(rep, &r);
				if (r.has_hresult && hresult_is_about_ca(r.hresult) && i + 1 < n) {
					/* About this CA (its permissions, its state), not the
					 * request: another CA publishing the template may issue. */
					log_warn("%s: %s refused: %s; trying the next CA", t->cn, ca->cn, rep->message);
					next = next_ca = true;
					break;
				}
				rep->outcome = ENROLL_DENIED;
				log_event_facts(LOG_EV_DENIED, t->cn,
						&(struct log_event_facts){ ca->cn, NULL, r.request_id, 0 },
						"%s: denied by %s: %s", t->cn, ca->cn, rep->message);
				break;
			default:
				if (r.request_id >= 0) {
					/* The CA holds request N (issued, or taken in) but its
					 * answer could not be read: collect that one on the next
					 * run rather than submit a second request here or at
					 * another CA or endpoint. */
					log_warn("%s: %s (%s) holds request %ld but its answer could not be read: %s; "
						 "asking about it on the next run", t->cn, ca->cn, at, r.request_id,
						 r.message);
					record_pending(t, ca, &tx, &r, rep);
					break;
				}
				/* Not the CA's decision: the next endpoint, then the next CA. */
				set_message(rep, &r);
				log_warn("%s: %s (%s): %s%s", t->cn, ca->cn, at, rep->message,
					 !more ? "" : tried < n_eps ? "; trying the next endpoint of this CA" :
					 "; trying the next CA");
				next = true;
				break;
			}
			free(pem);
			tx_close(&tx);
			if (!next)
				goto out;
		}
	}
	rep->outcome = ENROLL_FAILED;
	log_event(LOG_EV_FAILED, t->cn, "%s: no CA issued it; last error from %s: %s", t->cn, rep->ca, rep->message);
out:
	wipe_free(csr);
	free(made.request);
	return ret;
}

enum policy_action enroll_final_action(const struct directory *dir, enum adenroll_mode mode,
				      const struct template *t, bool renewal_only, bool held,
				      enum policy_action a, time_t now, char *rule, size_t rulelen)
{
	char why[200];

	if (a == POLICY_ENROLL && !held && mode == ADENROLL_MODE_USER &&
	    (t->enrollment_flag & CT_EF_CHECK_USER_DS_CERTIFICATE) &&
	    ds_certificate_valid(dir, t, now, why, sizeof why)) {
		/* MS-CRTD 2.26: the user already has one (enrolled on another host) */
		snprintf(rule, rulelen, "a valid certificate of this template is in the user's userCertificate "
			 "(%.100s; CT_FLAG_AUTO_ENROLLMENT_CHECK_USER_DS_CERTIFICATE): not enrolled", why);
		return POLICY_KEEP;
	}
	if (renewal_only && a != POLICY_RENEW && a != POLICY_KEEP && a != POLICY_WAIT_PENDING) {
		/* msPKI-RA-Signature = 1: only a renewal signed by a valid
		 * certificate of the template carries the signature the CA needs. */
		snprintf(rule, rulelen, "the template requires 1 enrollment-agent signature (msPKI-RA-Signature) "
			 "and %s: only a renewal signed by a valid certificate of it provides that; have an "
			 "enrollment agent enroll this %s first", !held ? "no certificate of it is held" :
			 "the held certificate cannot sign a renewal", mode == ADENROLL_MODE_USER ? "user" : "host");
		return POLICY_SKIP;
	}
	return a;
}

int enroll_poll_pending(struct discovery *disc, const struct config *cfg, enum adenroll_mode mode,
			const struct template *t, bool dry_run, bool *had_pending, struct enroll_report *rep)
{
	struct pending_request pr;
	char hash[KEYPROC_HASH_HEX], err[512] = "";
	struct transport tx = { 0 };
	char *pem = NULL;
	int ret = 0;

	*had_pending = false;
	memset(&pr, 0, sizeof pr);
	int found = state_pending_load(cfg, mode, t->cn, &pr, NULL);
	if (found == 0)
		return 0;
	*had_pending = true;
	memset(rep, 0, sizeof *rep);
	rep->outcome = ENROLL_FAILED;
	rep->request_id = found > 0 ? pr.request_id : -1;
	/* the key stays in the key process; it hands back the public-key hash */
	if (found > 0 && !dry_run && !keyproc_running() && keyproc_start(cfg, mode) < 0)
		snprintf(err, sizeof err, "the key process cannot be started");
	if (found < 0 || (!dry_run && (err[0] || keyproc_load_pending(t->cn, hash, err, sizeof err) < 0))) {
		snprintf(rep->message, sizeof rep->message,
			 "the pending request's state or key under %.200s cannot be read%s%.250s", cfg->state_dir,
			 err[0] ? ": " : "", err);
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
		ret = -1;
		goto out;
	}
	snprintf(rep->ca, sizeof rep->ca, "%s", pr.ca_name ? pr.ca_name : "?");

	const struct enrollment_service *ca = NULL;
	for (size_t i = 0; i < disc->dir.n_cas; i++)
		if (pr.ca_name && disc->dir.cas[i].cn && str_eq_ci(disc->dir.cas[i].cn, pr.ca_name))
			ca = &disc->dir.cas[i];
	const char *host = ca && ca->dns_host_name ? ca->dns_host_name : pr.ca_host;
	/* State files without a transport predate CES: web enrollment. */
	bool ces = pr.transport && strcmp(pr.transport, "ces") == 0;
	if (pr.transport && !ces && strcmp(pr.transport, "certsrv") != 0) {
		snprintf(rep->message, sizeof rep->message, "the pending request's transport \"%.40s\" is unknown to "
			 "this version; the request is kept", pr.transport);
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
		goto out;
	}
	if (ces && !pr.endpoint) {
		snprintf(rep->message, sizeof rep->message, "the pending request was sent over CES but its endpoint "
			 "is not recorded; the request is kept");
		log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
		goto out;
	}
	if (ces)
		snprintf(rep->endpoint, sizeof rep->endpoint, "%s", pr.endpoint);
	else
		snprintf(rep->endpoint, sizeof rep->endpoint, "https://%s/certsrv/", host ? host : "?");
	if (dry_run) {
		rep->outcome = ENROLL_PENDING;
		snprintf(rep->message, sizeof rep->message, "would ask %.200s (%.280s) about request %ld", rep->ca,
			 ces ? pr.endpoint : host ? host : "?", pr.request_id);
		goto out;
	}
	if (!ces && !host) {
		snprintf(rep->message, sizeof rep->message, "no host name recorded for CA %s", rep->ca);
		goto out;
	}
	if (tx_open(disc, cfg, ca, host, ces ? pr.endpoint : NULL, &tx) < 0) {
		snprintf(rep->message, sizeof rep->message, "cannot set up a client for %.200s (%.280s)", rep->ca,
			 tx.where);
		goto out;
	}
	struct certsrv_result r;
	log_info("%s: asking %s about pending request %ld (%s)", t->cn, rep->ca, pr.request_id, tx.where);
	tx_retrieve(&tx, pr.request_id, &r, &pem);
	switch (r.disposition) {
	case CERTSRV_ISSUED:
		if (install_issued(disc, cfg, mode, t, false, ca, rep->ca, &tx, hash, pem, pr.request_id, rep) < 0) {
			log_event(LOG_EV_FAILED, t->cn, "%s: %s", t->cn, rep->message);
			break;
		}
		state_pending_remove(cfg, mode, t->cn);
		break;
	case CERTSRV_PENDING:
		rep->outcome = ENROLL_PENDING;
		set_message(rep, &r);
		log_info("%s: request %ld at %s is still pending", t->cn, pr.request_id, rep->ca);
		break;
	case CERTSRV_DENIED:
		rep->outcome = ENROLL_DENIED;
		set_message(rep, &r);
		log_event_facts(LOG_EV_DENIED, t->cn, &(struct log_event_facts){ rep->ca, NULL, pr.request_id, 0 },
				"%s: request %ld denied by %s: %s", t->cn, pr.request_id, rep->ca, rep->message);
		state_pending_remove(cfg, mode, t->cn);
		break;
	case CERTSRV_UNKNOWN_REQUEST:
		/* The CA forgot it (database reset): forget it too and let the
		 * next decision enroll anew (docs/protocol.md 6.5). */
		set_message(rep, &r);
		snprintf(rep->message, sizeof rep->message, "%s no longer knows request %ld; it was forgotten",
			 rep->ca, pr.request_id);
		log_warn("%s: %s", t->cn, rep->message);
		state_pending_remove(cfg, mode, t->cn);
		*had_pending = false; /* the caller enrolls anew */
		break;
	default: {
		/* Transient (the CA not answering, an HTTP error, a page we cannot
		 * classify): the request stays recorded and is asked about again;
		 * it is never dropped nor submitted a second time. */
		char why[sizeof rep->message];
		set_message(rep, &r);
		snprintf(why, sizeof why, "%s", rep->message);
		int k = snprintf(rep->message, sizeof rep->message,
				 "request %ld at %.60s is kept and asked about again on the next run: ", pr.request_id,
				 rep->ca);
		if (k > 0 && (size_t)k < sizeof rep->message)
			memcpy(rep->message + k, why, strnlen(why, sizeof rep->message - (size_t)k - 1) + 1);
		rep->message[sizeof rep->message - 1] = '\0';
		log_event(LOG_EV_FAILED, t->cn, "%s: cannot ask %s about request %ld: %s", t->cn, rep->ca,
			  pr.request_id, why);
		break;
	}
	}
out:
	free(pem);
	tx_close(&tx);
	state_pending_free(&pr);
	return ret;
}
