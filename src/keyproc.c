/* The key process (keyproc.h): a child, a fresh image of this binary, that
 * alone holds private keys, and the bounded protocol the network side uses
 * to ask it for key work.
 * Separation as in acme-client (keyproc/netproc) and certmonger (key and
 * request work in children): a flaw in a parser of LDAP values, CA pages or
 * CRLs runs where no key is. */
#include "adenroll-build.h"

#include "keyproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "csr.h"
#include "fsutil.h"
#include "log.h"
#include "openssl_loader.h"
#include "renewal.h"
#include "store.h"
#include "trust_policy.h"
#include "util.h"

enum kp_op { KP_OP_REQUEST = 1, KP_OP_SAVE_PENDING = 2, KP_OP_LOAD_PENDING = 3, KP_OP_INSTALL = 4 };
/* The first frame to a new key process: what it needs to be this run's */
#define KP_HELLO 0x4b   /* 'K' */
/* where the key process finds its end of the socketpair */
#define KP_CHILD_FD 3
enum kp_status { KP_OK = 0, KP_ERROR = 1 };

#define KP_FLAG_SIGN 1u
#define KP_FLAG_KEEP 2u

/* ---------------------------------------------------------------- the wire */

static void be32_put(unsigned char h[4], size_t v)
{
	h[0] = (unsigned char)(v >> 24);
	h[1] = (unsigned char)(v >> 16);
	h[2] = (unsigned char)(v >> 8);
	h[3] = (unsigned char)v;
}

static size_t be32_get(const unsigned char h[4])
{
	return ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
}

struct kp_buf {
	unsigned char *v;
	size_t n, cap;
	bool too_long;
};

static void buf_put(struct kp_buf *b, const void *p, size_t len)
{
	if (b->too_long || len > KEYPROC_MAX_FRAME - b->n) {
		b->too_long = true;
		return;
	}
	if (b->n + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + len)
			cap *= 2;
		b->v = xrealloc(b->v, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->v + b->n, p, len);
	b->n += len;
}

static void put_u8(struct kp_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	buf_put(b, &c, 1);
}

static void put_len(struct kp_buf *b, size_t len)
{
	unsigned char h[4];
	be32_put(h, len);
	buf_put(b, h, 4);
}

static void put_bytes(struct kp_buf *b, const void *p, size_t len)
{
	if (len > KEYPROC_MAX_FRAME) {
		b->too_long = true;
		return;
	}
	put_len(b, len);
	buf_put(b, p, len);
}

static void put_text(struct kp_buf *b, const char *s)
{
	put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

static void put_num(struct kp_buf *b, int64_t v)
{
	uint64_t u = (uint64_t)v;
	unsigned char h[8];
	for (int i = 7; i >= 0; i--) {
		h[i] = (unsigned char)u;
		u >>= 8;
	}
	put_bytes(b, h, 8);
}

static void put_der(struct kp_buf *b, X509 *x)
{
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : 0;
	if (len < 0) {
		b->too_long = true;   /* reported as "cannot encode" by the caller */
		len = 0;
	}
	put_bytes(b, der, (size_t)len);
	OPENSSL_free(der);
}

struct kp_reader {
	const unsigned char *p;
	size_t left;
	bool bad;
	const char *why;   /* the first problem, for the error answer */
};

static void rd_fail(struct kp_reader *r, const char *why)
{
	if (!r->bad)
		r->why = why;
	r->bad = true;
}

static const unsigned char *rd_field(struct kp_reader *r, size_t *len)
{
	*len = 0;
	if (r->bad)
		return NULL;
	if (r->left < 4) {
		rd_fail(r, "a field is cut short");
		return NULL;
	}
	size_t n = be32_get(r->p);
	if (n > r->left - 4) {
		rd_fail(r, "a field is longer than the message");
		return NULL;
	}
	const unsigned char *v = r->p + 4;
	r->p += 4 + n;
	r->left -= 4 + n;
	*len = n;
	return v;
}

/* NULL when empty; the reader turns bad on a NUL or an oversized text. */
static char *rd_text(struct kp_reader *r)
{
	size_t n;
	const unsigned char *v = rd_field(r, &n);
	if (!v || n == 0)
		return NULL;
	if (n > KEYPROC_MAX_TEXT || memchr(v, '\0', n)) {
		rd_fail(r, n > KEYPROC_MAX_TEXT ? "a text field is too long" : "a text field holds a NUL");
		return NULL;
	}
	return xstrndup((const char *)v, n);
}

static int64_t rd_num(struct kp_reader *r)
{
	size_t n;
	const unsigned char *v = rd_field(r, &n);
	uint64_t u = 0;
	if (!v)
		return 0;
	if (n != 8) {
		rd_fail(r, "a number field is not 8 bytes");
		return 0;
	}
	for (size_t i = 0; i < 8; i++)
		u = (u << 8) | v[i];
	return (int64_t)u;
}

/* NULL when empty (absent) or, with the reader bad, when it does not parse. */
static X509 *rd_cert(struct kp_reader *r)
{
	size_t n;
	const unsigned char *v = rd_field(r, &n);
	if (!v || n == 0)
		return NULL;
	const unsigned char *q = v;
	X509 *x = d2i_X509(NULL, &q, (long)n);
	if (!x || q != v + n) {
		X509_free(x);
		rd_fail(r, "a certificate field does not parse");
		return NULL;
	}
	return x;
}

static bool rd_done(struct kp_reader *r)
{
	if (!r->bad && r->left != 0)
		rd_fail(r, "bytes after the last field");
	return !r->bad;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, len);
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* 1 all read, 0 end of stream before the first byte, -1 otherwise. */
static int read_all(int fd, unsigned char *p, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, p + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

int keyproc_frame_write(int fd, const unsigned char *buf, size_t len)
{
	unsigned char h[4];
	if (len == 0 || len > KEYPROC_MAX_FRAME)
		return -1;
	be32_put(h, len);
	if (write_all(fd, h, 4) < 0 || write_all(fd, buf, len) < 0)
		return -1;
	return 0;
}

int keyproc_frame_read(int fd, unsigned char **buf, size_t *len)
{
	unsigned char h[4];
	*buf = NULL;
	*len = 0;
	int r = read_all(fd, h, 4);
	if (r <= 0)
		return r;
	size_t n = be32_get(h);
	if (n == 0 || n > KEYPROC_MAX_FRAME)
		return -1;
	unsigned char *b = xmalloc(n);
	if (read_all(fd, b, n) != 1) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 1;
}

/* The fields of a template key work uses (csr.c, renewal.c, the store's
 * meta record); the others stay on the network side. */
static void put_template(struct kp_buf *b, const struct template *t)
{
	put_text(b, t->cn);
	put_text(b, t->oid);
	put_text(b, t->ra_app_policies);
	put_num(b, t->key_alg);
	put_num(b, t->minimal_key_size);
	put_num(b, t->name_flag);
	put_num(b, t->flags);
	put_num(b, t->enrollment_flag);
	put_num(b, t->private_key_flag);
	put_num(b, t->schema_version);
	put_num(b, t->major_version);
	put_num(b, t->minor_version);
	put_num(b, t->has_renewal);
	put_num(b, t->renewal_seconds);
}

static uint32_t rd_u32(struct kp_reader *r)
{
	int64_t v = rd_num(r);
	if (v < 0 || v > (int64_t)UINT32_MAX)
		rd_fail(r, "a number is out of range");
	return (uint32_t)v;
}

static void rd_template(struct kp_reader *r, struct template *t)
{
	memset(t, 0, sizeof *t);
	t->cn = rd_text(r);
	t->oid = rd_text(r);
	t->ra_app_policies = rd_text(r);
	uint32_t alg = rd_u32(r);
	if (alg > TEMPLATE_KEY_EC_P521)
		rd_fail(r, "unknown key algorithm");
	t->key_alg = (enum template_key_alg)alg;
	t->minimal_key_size = rd_u32(r);
	t->name_flag = rd_u32(r);
	t->flags = rd_u32(r);
	t->enrollment_flag = rd_u32(r);
	t->private_key_flag = rd_u32(r);
	t->schema_version = rd_u32(r);
	t->major_version = rd_u32(r);
	t->minor_version = rd_u32(r);
	t->has_renewal = rd_num(r) != 0;
	t->renewal_seconds = rd_num(r);
	if (!r->bad && !t->cn)
		rd_fail(r, "no template name");
}

static void put_account(struct kp_buf *b, const struct account *a)
{
	put_text(b, a ? a->dn : NULL);
	put_text(b, a ? a->sam_account_name : NULL);
	put_text(b, a ? a->dns_host_name : NULL);
	put_text(b, a ? a->user_principal_name : NULL);
	put_text(b, a ? a->mail : NULL);
}

static void rd_account(struct kp_reader *r, struct account *a)
{
	memset(a, 0, sizeof *a);
	a->dn = rd_text(r);
	a->sam_account_name = rd_text(r);
	a->dns_host_name = rd_text(r);
	a->user_principal_name = rd_text(r);
	a->mail = rd_text(r);
}

static void account_clear(struct account *a)
{
	free(a->dn);
	free(a->sam_account_name);
	free(a->dns_host_name);
	free(a->user_principal_name);
	free(a->mail);
}

static void hex(const unsigned char *v, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[v[i] >> 4];
		out[2 * i + 1] = digits[v[i] & 15];
	}
	out[2 * n] = '\0';
}

static int spki_sha256(const unsigned char *der, int len, char out[KEYPROC_HASH_HEX])
{
	unsigned char md[32];
	unsigned mdlen = 0;
	if (len <= 0 || EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	hex(md, 32, out);
	return 0;
}

int keyproc_cert_pubkey_sha256(X509 *cert, char out[KEYPROC_HASH_HEX])
{
	unsigned char *der = NULL;
	int len = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
	int ret = spki_sha256(der, len, out);
	OPENSSL_free(der);
	return ret;
}

static int key_pubkey_sha256(EVP_PKEY *key, char out[KEYPROC_HASH_HEX])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	int ret = spki_sha256(der, len, out);
	OPENSSL_free(der);
	return ret;
}

/* ------------------------------------------------------- the key process side */

/* The key of the template being worked on and the request made with it
 * (for the pending state), until the next request or the end. */
static struct {
	EVP_PKEY *key;
	char *request;
} slot;

void keyproc_serve_reset(void)
{
	if (slot.key)   /* even with NULL, a call loads OpenSSL */
		EVP_PKEY_free(slot.key);
	slot.key = NULL;
	if (slot.request) {
		OPENSSL_cleanse(slot.request, strlen(slot.request));
		free(slot.request);
	}
	slot.request = NULL;
}

static void answer_error(struct kp_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void answer_error(struct kp_buf *a, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	a->n = 0;
	a->too_long = false;
	put_u8(a, KP_ERROR);
	put_text(a, msg);
}

/* The held key of the certificate being renewed: the store item whose
 * certificate is held_cert, read the way store_load_key reads it. */
static EVP_PKEY *load_held_key(const struct config *cfg, enum adenroll_mode mode, const char *cn, X509 *held_cert)
{
	struct store *s = NULL;
	struct store_item *items = NULL;
	size_t n = 0;
	EVP_PKEY *key = NULL;

	if (store_open(cfg, mode, &s) == 0 && store_list(s, &items, &n) == 0) {
		const struct store_item *it = NULL;
		for (size_t i = 0; i < n && !it; i++)
			if (items[i].cert && X509_cmp(items[i].cert, held_cert) == 0)
				it = &items[i];
		if (!it)
			log_error("%s: the certificate being renewed is not in the store", cn);
		else if (store_load_key(s, it, &key) < 0)
			key = NULL;
	}
	store_items_free(items, n);
	store_close(s);
	return key;
}

static void serve_request(const struct config *cfg, enum adenroll_mode mode, struct kp_reader *r, struct kp_buf *a)
{
	struct template t;
	struct account acct;
	char *host = NULL, *inner = NULL, *req = NULL;
	X509 *held = NULL;
	EVP_PKEY *held_key = NULL, *key = NULL;
	char err[512], hash[KEYPROC_HASH_HEX], note[512] = "";
	bool sign, keep;

	rd_template(r, &t);
	rd_account(r, &acct);
	host = rd_text(r);
	held = rd_cert(r);
	int64_t flags = rd_num(r);
	if (!rd_done(r)) {
		answer_error(a, "malformed request to the key process: %s", r->why);
		goto out;
	}
	keyproc_serve_reset();
	sign = held && (flags & KP_FLAG_SIGN);
	keep = held && (flags & KP_FLAG_KEEP);
	if (sign || keep) {
		held_key = load_held_key(cfg, mode, t.cn, held);
		if (!held_key)
			snprintf(note, sizeof note, "the held key cannot be read (see above)");
	}
	if (sign && held_key) {
		const char *why = renewal_signer_problem(held, held_key, time(NULL));
		if (why)
			snprintf(note, sizeof note, "%s", why);
	}
	if (note[0]) {
		/* MS-WCCE 3.1.1.4.3.2: only a valid certificate with its key signs
		 * its renewal; anything else is a new request with a new key. */
		sign = keep = false;
	}
	if (keep && EVP_PKEY_up_ref(held_key) == 1)
		key = held_key;
	else
		key = csr_generate_key(&t, cfg, err, sizeof err);
	if (!key) {
		answer_error(a, "%s", err);
		goto out;
	}
	if (sign) {
		const EVP_MD *md = csr_signature_md(&t, err, sizeof err);
		int rc = md ? csr_build_renewal(key, &t, &acct, host, mode, held, &inner, err, sizeof err) : -1;
		if (rc == 0)
			rc = renewal_wrap(inner, held, held_key, md, &req, err, sizeof err);
		if (rc < 0) {
			answer_error(a, "cannot build the renewal request: %.400s", err);
			goto out;
		}
	} else if (csr_build(key, &t, &acct, host, mode, &req, err, sizeof err) < 0) {
		answer_error(a, "cannot build the request: %.400s", err);
		goto out;
	}
	if (key_pubkey_sha256(key, hash) < 0) {
		answer_error(a, "cannot hash the public key");
		goto out;
	}
	put_u8(a, KP_OK);
	put_text(a, req);
	put_text(a, hash);
	put_num(a, (sign ? KP_FLAG_SIGN : 0) | (keep ? KP_FLAG_KEEP : 0));
	put_text(a, note);
	slot.key = key;
	slot.request = req;
	key = NULL;
	req = NULL;
out:
	if (inner) {
		OPENSSL_cleanse(inner, strlen(inner));
		free(inner);
	}
	free(req);
	EVP_PKEY_free(key);
	EVP_PKEY_free(held_key);
	X509_free(held);
	free(host);
	account_clear(&acct);
	free(t.cn);
	free(t.oid);
	free(t.ra_app_policies);
}

static void serve_save_pending(const struct config *cfg, enum adenroll_mode mode, struct kp_reader *r,
			       struct kp_buf *a)
{
	struct pending_request pr = { 0 };
	pr.template_cn = rd_text(r);
	pr.ca_name = rd_text(r);
	pr.ca_host = rd_text(r);
	pr.request_id = (long)rd_num(r);
	pr.submitted = (time_t)rd_num(r);
	pr.transport = rd_text(r);
	pr.endpoint = rd_text(r);
	if (!rd_done(r) || !pr.template_cn)
		answer_error(a, "malformed request to the key process: %s", r->why ? r->why : "no template name");
	else if (!slot.key)
		answer_error(a, "the key process holds no key to record as pending");
	else if (state_pending_save(cfg, mode, &pr, slot.key, slot.request) < 0)
		answer_error(a, "cannot record the pending request for template %s under %s (see above)",
			     pr.template_cn, cfg->state_dir);
	else
		put_u8(a, KP_OK);
	state_pending_free(&pr);
}

static void serve_load_pending(const struct config *cfg, enum adenroll_mode mode, struct kp_reader *r,
			       struct kp_buf *a)
{
	struct pending_request pr = { 0 };
	EVP_PKEY *key = NULL;
	char hash[KEYPROC_HASH_HEX];
	char *cn = rd_text(r);

	if (!rd_done(r) || !cn) {
		answer_error(a, "malformed request to the key process: %s", r->why ? r->why : "no template name");
		goto out;
	}
	keyproc_serve_reset();
	int found = state_pending_load(cfg, mode, cn, &pr, &key);
	if (found == 1)
		state_pending_free(&pr);
	if (found != 1 || !key || key_pubkey_sha256(key, hash) < 0) {
		answer_error(a, "the key of the request pending for template %s under %s cannot be read", cn,
			     cfg->state_dir);
		goto out;
	}
	put_u8(a, KP_OK);
	put_text(a, hash);
	slot.key = key;
	key = NULL;
out:
	EVP_PKEY_free(key);
	free(cn);
}

static void serve_install(const struct config *cfg, enum adenroll_mode mode, struct kp_reader *r, struct kp_buf *a)
{
	struct template t;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	char *ca = NULL, *archived = NULL, *dc = NULL;
	struct store *s = NULL;

	rd_template(r, &t);
	cert = rd_cert(r);
	int64_t n = rd_num(r);
	if (!r->bad && (n < 0 || n > KEYPROC_MAX_CHAIN))
		rd_fail(r, "too many chain certificates");
	for (int64_t i = 0; !r->bad && i < n; i++) {
		X509 *c = rd_cert(r);
		if (!c) {
			rd_fail(r, "an empty chain certificate");
			break;
		}
		if (!chain)
			chain = sk_X509_new_null();
		if (!chain || !sk_X509_push(chain, c)) {
			X509_free(c);
			rd_fail(r, "out of memory");
		}
	}
	ca = rd_text(r);
	long req_id = (long)rd_num(r);
	dc = rd_text(r);
	if (!rd_done(r) || !cert) {
		answer_error(a, "malformed request to the key process: %s", r->why ? r->why : "no certificate");
		goto out;
	}
	if (!slot.key || !cert_matches_key(cert, slot.key)) {
		answer_error(a, "the certificate does not carry the key the key process holds for template %s: "
			     "not installed", t.cn);
		goto out;
	}
	/* the NSS store trusts a root by where this run's directory came from */
	trust_policy_set_dc(dc);
	if (store_open(cfg, mode, &s) < 0 ||
	    store_install(s, &t, slot.key, cert, chain, ca, req_id, &archived) < 0) {
		answer_error(a, "cannot store the certificate for template %s (see above)", t.cn);
		goto out;
	}
	put_u8(a, KP_OK);
	put_text(a, archived);
out:
	store_close(s);
	free(archived);
	free(ca);
	free(dc);
	sk_X509_pop_free(chain, X509_free);
	X509_free(cert);
	free(t.cn);
	free(t.oid);
	free(t.ra_app_policies);
}

void keyproc_serve(const struct config *cfg, enum adenroll_mode mode, const unsigned char *msg, size_t len,
		   unsigned char **answer, size_t *answer_len)
{
	struct kp_buf a = { 0 };
	struct kp_reader r = { msg ? msg + 1 : NULL, len ? len - 1 : 0, false, NULL };

	if (!msg || len == 0)
		answer_error(&a, "empty request to the key process");
	else if (msg[0] == KP_OP_REQUEST)
		serve_request(cfg, mode, &r, &a);
	else if (msg[0] == KP_OP_SAVE_PENDING)
		serve_save_pending(cfg, mode, &r, &a);
	else if (msg[0] == KP_OP_LOAD_PENDING)
		serve_load_pending(cfg, mode, &r, &a);
	else if (msg[0] == KP_OP_INSTALL)
		serve_install(cfg, mode, &r, &a);
	else
		answer_error(&a, "unknown request %u to the key process", msg[0]);
	if (a.too_long)
		answer_error(&a, "the key process's answer would exceed %u bytes", KEYPROC_MAX_FRAME);
	*answer = a.v;
	*answer_len = a.n;
}

/* ------------------------------------------------------------- both sides */

static struct {
	pid_t pid;          /* the key process, in the network side */
	int fd;
	pid_t parent;       /* the network side, in the key process */
	bool network_side;
	bool lost;          /* this run's key process died: no second one in this run */
	/* network side: what the key process is started with, when first needed */
	const struct config *cfg;
	enum adenroll_mode mode;
	const char *program;   /* NULL: this process's own binary */
} kp = { 0, -1, 0, false, false, NULL, ADENROLL_MODE_MACHINE, NULL };

static void write_pid(const char *dir, const char *leaf)
{
	char *p = xasprintf("%s/%s", dir, leaf), *v = xasprintf("%ld\n", (long)getpid());
	if (fs_write_atomic(p, v, strlen(v), 0644, (uid_t)-1) < 0)
		log_warn("ADENROLL_TEST_HOLD_AT_EXIT: cannot write %s", p);
	free(p);
	free(v);
}

static void wait_for_file(const char *dir, const char *leaf)
{
	char *p = xasprintf("%s/%s", dir, leaf);
	struct stat st;

	for (int i = 0; i < 1200 && stat(p, &st) != 0; i++)
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	free(p);
}

/* TEST ONLY (keyproc.h): wait, with the memory as the run left it.  The
 * network side writes its pid after the key process, if the run started
 * one, wrote its own: a test that sees network.pid knows both. */
static void test_hold(const char *leaf, bool after_key_process)
{
	const char *dir = getenv("ADENROLL_TEST_HOLD_AT_EXIT");
	if (!dir || !*dir)
		return;
	if (after_key_process)
		wait_for_file(dir, "key.pid");
	write_pid(dir, leaf);
	wait_for_file(dir, "go");
}

/* The hello: the mode, how to log, and the configuration files' texts this
 * run parsed (config.h), so that the key process's configuration is this
 * run's even if a file changed since. */
static void put_hello(struct kp_buf *b, const struct config *cfg, enum adenroll_mode mode)
{
	put_u8(b, KP_HELLO);
	put_num(b, mode);
	put_num(b, log_get_level());
	put_num(b, log_get_journal());
	put_num(b, (int64_t)cfg->source_names.n);
	for (size_t i = 0; i < cfg->source_names.n && i < cfg->source_texts.n; i++) {
		put_text(b, cfg->source_names.v[i]);
		put_bytes(b, cfg->source_texts.v[i].data, cfg->source_texts.v[i].len);
	}
}

/* The other end of fd must be our parent: a socketpair it made. */
static bool peer_is_parent(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof cred)
		return false;
	return cred.pid == getppid() && cred.uid == getuid();
}

static int read_hello(int fd, struct config *cfg, enum adenroll_mode *mode)
{
	struct strlist names = { 0 };
	struct bloblist texts = { 0 };
	struct kp_reader r = { 0 };
	unsigned char *msg = NULL;
	size_t len;
	int64_t m, level, journal, n;
	int ret = -1;

	if (keyproc_frame_read(fd, &msg, &len) != 1 || msg[0] != KP_HELLO)
		goto out;
	r.p = msg + 1;
	r.left = len - 1;
	m = rd_num(&r);
	level = rd_num(&r);
	journal = rd_num(&r);
	n = rd_num(&r);
	if (r.bad || (m != ADENROLL_MODE_MACHINE && m != ADENROLL_MODE_USER) || level < LOG_LVL_ERROR ||
	    level > LOG_LVL_DEBUG || n < 0 || n > 1024)
		goto out;
	log_init((enum log_level)level, journal != 0);
	for (int64_t i = 0; i < n; i++) {
		char *name = rd_text(&r);
		size_t tlen;
		const unsigned char *text = rd_field(&r, &tlen);

		if (!name || !text) {
			free(name);
			goto out;
		}
		strlist_add(&names, name);
		bloblist_add(&texts, text, tlen);
		free(name);
	}
	if (!rd_done(&r))
		goto out;
	*mode = (enum adenroll_mode)m;
	if (config_load_texts(&names, &texts, cfg) < 0 ||
	    (*mode == ADENROLL_MODE_USER && config_apply_user_mode(cfg) < 0))
		goto out;
	ret = 0;
out:
	strlist_free(&names);
	bloblist_free(&texts);
	free(msg);
	return ret;
}

int keyproc_child_main(void)
{
	struct config cfg = { 0 };
	enum adenroll_mode mode = ADENROLL_MODE_MACHINE;
	unsigned char *msg, *ans;
	size_t len, alen;
	int fd = KP_CHILD_FD;

	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "adenroll-key", 0, 0, 0);
	/* no core file with a key in it */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!peer_is_parent(fd)) {
		fprintf(stderr, "adenroll: %s is started by adenroll itself, on a socket from its parent\n",
			KEYPROC_CHILD_ARG);
		return ADENROLL_EXIT_USAGE;
	}
	kp.parent = getppid();
	if (read_hello(fd, &cfg, &mode) < 0) {
		log_error("the key process did not get a usable configuration from the run that started it");
		close(fd);
		config_free(&cfg);
		return ADENROLL_EXIT_FAILURE;
	}
	for (;;) {
		int rc = keyproc_frame_read(fd, &msg, &len);
		if (rc <= 0)
			break;   /* the network side ended (or sent a broken frame): so do we */
		keyproc_serve(&cfg, mode, msg, len, &ans, &alen);
		free(msg);
		rc = keyproc_frame_write(fd, ans, alen);
		free(ans);
		if (rc < 0)
			break;
	}
	test_hold("key.pid", false);
	keyproc_serve_reset();
	close(fd);
	config_free(&cfg);
	return 0;
}

void keyproc_set_program(const char *path)
{
	kp.program = path;
}

int keyproc_start(const struct config *cfg, enum adenroll_mode mode)
{
	if (kp.pid > 0 || kp.cfg)
		return 0;
	if (kp.lost) {
		log_error("the key process of this run ended (see above); another is not started in this run");
		return -1;
	}
	kp.cfg = cfg;
	kp.mode = mode;
	kp.network_side = true;
	return 0;
}

/* posix_spawn (no copy of this process's memory, which by now holds what
 * the network sent) of a fresh image, its end of the socketpair on
 * KP_CHILD_FD and nothing else open but stdin/out/err. */
static int spawn(char *err, size_t errlen)
{
	char *argv[] = { (char *)"adenroll-key", (char *)KEYPROC_CHILD_ARG, NULL };
	const char *program = kp.program ? kp.program : "/proc/self/exe";
	posix_spawn_file_actions_t fa;
	struct kp_buf hello = { 0 };
	extern char **environ;
	int sv[2], rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "cannot start the key process: socketpair: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	/* dup2 onto its own number still clears FD_CLOEXEC (POSIX 2024) */
	posix_spawn_file_actions_adddup2(&fa, sv[1], KP_CHILD_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, KP_CHILD_FD + 1);
	rc = posix_spawn(&pid, program, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the key process (%s): %s", program, strerror(rc));
		close(sv[0]);
		return -1;
	}
	kp.pid = pid;
	kp.fd = sv[0];
	put_hello(&hello, kp.cfg, kp.mode);
	if (hello.too_long || keyproc_frame_write(kp.fd, hello.v, hello.n) < 0) {
		snprintf(err, errlen, "cannot hand the key process its configuration");
		free(hello.v);
		return -1;
	}
	free(hello.v);
	log_debug("key process %ld started", (long)pid);
	return 0;
}

bool keyproc_running(void)
{
	return kp.pid > 0 || kp.cfg != NULL;
}

static void reap(bool report)
{
	int status = 0;
	pid_t pid = kp.pid;

	if (kp.fd >= 0)
		close(kp.fd);
	kp.fd = -1;
	kp.pid = 0;
	if (pid <= 0)
		return;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (report && WIFSIGNALED(status))
		log_error("the key process was killed by signal %d", WTERMSIG(status));
	else if (report && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_error("the key process exited with status %d", WEXITSTATUS(status));
}

void keyproc_stop(void)
{
	if (kp.fd >= 0)
		close(kp.fd);   /* the end of stream tells it to finish */
	kp.fd = -1;
	test_hold("network.pid", kp.pid > 0);
	reap(false);
	kp.network_side = false;
	kp.lost = false;
	kp.cfg = NULL;
}

void keyproc_assert_key_side(const char *what)
{
	if (!kp.network_side)
		return;
	log_error("internal error: %s in the process that talks to the network; private keys belong to the key "
		  "process", what);
	abort();
}

void keyproc_crash_run(void)
{
	if (kp.parent > 0)
		kill(kp.parent, SIGKILL);
	raise(SIGKILL);
}

/* One exchange; a NULL result with err set when the key process is gone or
 * answered an error.  On success the reader is positioned after the status. */
static unsigned char *exchange(struct kp_buf *q, struct kp_reader *r, size_t *alen, char *err, size_t errlen)
{
	unsigned char *ans = NULL;

	if (q->too_long) {
		snprintf(err, errlen, "the request to the key process would exceed %u bytes", KEYPROC_MAX_FRAME);
		goto fail;
	}
	if (kp.pid <= 0 && kp.cfg && spawn(err, errlen) < 0) {
		reap(true);
		kp.lost = true;
		kp.cfg = NULL;
		goto fail;
	}
	if (kp.pid <= 0 || kp.fd < 0) {
		snprintf(err, errlen, "the key process is not running");
		goto fail;
	}
	if (keyproc_frame_write(kp.fd, q->v, q->n) < 0 || keyproc_frame_read(kp.fd, &ans, alen) != 1) {
		snprintf(err, errlen, "the key process ended without answering (see above)");
		reap(true);
		kp.lost = true;
		kp.cfg = NULL;
		goto fail;
	}
	r->p = ans + 1;
	r->left = *alen - 1;
	r->bad = false;
	r->why = NULL;
	if (ans[0] != KP_OK) {
		char *msg = rd_text(r);
		snprintf(err, errlen, "%s", msg ? msg : "the key process failed without a message");
		free(msg);
		goto fail;
	}
	free(q->v);
	q->v = NULL;
	return ans;
fail:
	free(ans);
	free(q->v);
	q->v = NULL;
	return NULL;
}

/* The answer of the key process is trusted for its shape (it is our own
 * code) but still read with bounds. */
static int answer_hash(struct kp_reader *r, char out[KEYPROC_HASH_HEX])
{
	char *h = rd_text(r);
	int ret = h && strlen(h) == KEYPROC_HASH_HEX - 1 ? 0 : -1;
	if (ret == 0)
		memcpy(out, h, KEYPROC_HASH_HEX);
	free(h);
	return ret;
}

static unsigned long made_keys;
static double made_seconds;

void keyproc_get_stats(unsigned long *keys, double *seconds)
{
	*keys = made_keys;
	*seconds = made_seconds;
}

int keyproc_make_request(const struct keyproc_request *rq, struct keyproc_made *out, char *err, size_t errlen)
{
	struct kp_buf q = { 0 };
	struct kp_reader r;
	size_t alen;
	unsigned char *ans;
	double t0 = monotonic_seconds();

	memset(out, 0, sizeof *out);
	put_u8(&q, KP_OP_REQUEST);
	put_template(&q, rq->t);
	put_account(&q, rq->acct);
	put_text(&q, rq->host_fqdn);
	put_der(&q, rq->held_cert);
	put_num(&q, (rq->sign_with_held ? KP_FLAG_SIGN : 0) | (rq->keep_key ? KP_FLAG_KEEP : 0));
	if (!(ans = exchange(&q, &r, &alen, err, errlen)))
		return -1;
	out->request = rd_text(&r);
	int hash_ok = answer_hash(&r, out->pubkey_sha256);
	int64_t flags = rd_num(&r);
	char *note = rd_text(&r);
	out->signed_by_held = flags & KP_FLAG_SIGN;
	out->kept_key = flags & KP_FLAG_KEEP;
	snprintf(out->note, sizeof out->note, "%s", note ? note : "");
	free(note);
	free(ans);
	if (!rd_done(&r) || hash_ok < 0 || !out->request) {
		snprintf(err, errlen, "the key process answered a request it was asked for in a shape it never sends");
		free(out->request);
		out->request = NULL;
		return -1;
	}
	if (!out->kept_key) {
		made_keys++;
		made_seconds += monotonic_seconds() - t0;
	}
	return 0;
}

int keyproc_save_pending(const struct pending_request *pr, char *err, size_t errlen)
{
	struct kp_buf q = { 0 };
	struct kp_reader r;
	size_t alen;
	unsigned char *ans;

	put_u8(&q, KP_OP_SAVE_PENDING);
	put_text(&q, pr->template_cn);
	put_text(&q, pr->ca_name);
	put_text(&q, pr->ca_host);
	put_num(&q, pr->request_id);
	put_num(&q, pr->submitted);
	put_text(&q, pr->transport);   /* CES: polled at the endpoint it was sent to */
	put_text(&q, pr->endpoint);
	if (!(ans = exchange(&q, &r, &alen, err, errlen)))
		return -1;
	free(ans);
	return 0;
}

int keyproc_load_pending(const char *template_cn, char pubkey_sha256[KEYPROC_HASH_HEX], char *err, size_t errlen)
{
	struct kp_buf q = { 0 };
	struct kp_reader r;
	size_t alen;
	unsigned char *ans;

	put_u8(&q, KP_OP_LOAD_PENDING);
	put_text(&q, template_cn);
	if (!(ans = exchange(&q, &r, &alen, err, errlen)))
		return -1;
	int ret = answer_hash(&r, pubkey_sha256);
	free(ans);
	if (ret < 0)
		snprintf(err, errlen, "the key process answered without a public-key hash");
	return ret;
}

int keyproc_install(const struct template *t, X509 *cert, STACK_OF(X509) *chain, const char *ca_name,
		    long request_id, char **archived_to, char *err, size_t errlen)
{
	struct kp_buf q = { 0 };
	struct kp_reader r;
	size_t alen;
	unsigned char *ans;
	int n = chain ? sk_X509_num(chain) : 0;

	if (archived_to)
		*archived_to = NULL;
	if (n > KEYPROC_MAX_CHAIN) {
		snprintf(err, errlen, "the chain has %d certificates, more than the %d the key process takes", n,
			 KEYPROC_MAX_CHAIN);
		return -1;
	}
	put_u8(&q, KP_OP_INSTALL);
	put_template(&q, t);
	put_der(&q, cert);
	put_num(&q, n);
	for (int i = 0; i < n; i++)
		put_der(&q, sk_X509_value(chain, i));
	put_text(&q, ca_name);
	put_num(&q, request_id);
	put_text(&q, trust_policy_dc());
	if (!(ans = exchange(&q, &r, &alen, err, errlen)))
		return -1;
	char *archived = rd_text(&r);
	free(ans);
	if (archived_to)
		*archived_to = archived;
	else
		free(archived);
	return 0;
}
