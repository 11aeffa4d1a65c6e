/* NSS database store (libnss3, "sql:" format: cert9.db + key4.db).
 *
 * Each managed template is one nickname, "adenroll-<template cn>" (nickname_for), holding a
 * user certificate whose private key (same CKA_ID, label = the nickname) is
 * in the same database.  The chain's CA certificates are added under NSS's
 * own CA nicknames; only the self-signed root that the leaf's issuer path
 * ends in is trusted (CT,C,C): enroll.c installs nothing that does not
 * chain to a root published in CN=Certification Authorities, so that root
 * is one the domain distributes to its members (docs/protocol.md 3.2).
 * Intermediates get no trust.  Certificates already in the database are
 * never touched (an administrator's trust settings win).
 *
 * Replacement, and why a SIGKILL at any step leaves the old or the new pair,
 * intact and matching (docs/stores.md, "NSS databases"): every PKCS#11
 * object creation or deletion in softoken is one SQLite transaction, so
 * each step below either happened or did not; the steps are ordered so that
 * every certificate under the nickname always has its key:
 *
 *   1. meta       <state_dir>/nss/<sha256 of the cert>.meta (a side file;
 *                 keyed by the certificate, so it never describes another one)
 *   2. key        the new private key, label = nickname (skipped when the key
 *                 is already there: reuse_key)
 *   3. cert       the new certificate under the same nickname.  Now two
 *                 complete pairs share it; NSS readers (PK11_FindCertFromNickname,
 *                 certutil -n) pick the valid one with the newest notBefore
 *   4. chain      CA certificates not yet in the database
 *   5. archived   the old certificate, its key and meta written to
 *                 <archive_dir>/nss/<name>/<archived-at>--<serial>/ (built
 *                 aside and renamed: complete or absent)
 *   6. the old certificate is deleted, then
 *   7. its key (unless the new certificate uses the same key).
 *
 * The next install (or retire) finishes an interrupted one: extra
 * certificates under the nickname other than the live one are archived and
 * removed, keys labelled with the nickname that no certificate uses (a new key
 * whose certificate never arrived, or an old key already archived in step 5)
 * are deleted, and meta files of certificates no longer in the database
 * are removed. */
#include "adenroll-build.h"

#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Our src/cert.h shadows NSS's <cert.h> on the include path; pkcs12t.h
 * includes NSS's as "cert.h", resolved next to itself. */
#include <pkcs12t.h>
#include <certdb.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <prerror.h>
#include <secasn1.h>
#include <secerr.h>

#include "cert.h"
#include "fsutil.h"
#include "keyproc.h"
#include "log.h"
#include "nss_loader.h"
#include "openssl_loader.h"
#include "state.h"
#include "trust_policy.h"
#include "util.h"

#define NICK_PREFIX "adenroll-"
#define ROOT_TRUST "CT,C,C"
#define NEW_PREFIX ".new-"
#define MAX_FILE (1u << 20)
/* The machine default of nss_db (config.c), named in messages. */
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define NSS_DB_DEFAULT_HINT "sql:" LOCALSTATEDIR "/lib/adenroll/nssdb"

struct nss_store {
	struct store_backend base;
	char *db;          /* as configured: "sql:/dir" (or "dbm:", or a bare dir) */
	char *dir;         /* the directory */
	char *archive;     /* <archive_dir>/nss */
	char *meta_dir;    /* <state_dir>/nss, NULL without a state_dir */
	long retention_days;
	mode_t dir_mode;
	NSSInitContext *ctx;
	PK11SlotInfo *slot;
	bool read_only;
	bool checked_private;   /* db_is_private passed since the database was opened */
	bool user_mode;
	const struct config *cfg;   /* for the trust policy of roots */
};

/* TEST ONLY: ADENROLL_TEST_CRASH_AT=<step> kills the run (key process and
 * network side) with SIGKILL when an NSS install reaches <step> (same convention as store_pem.c; the
 * steps are prefixed so a pem+nss configuration can target either):
 * nss-meta, nss-key, nss-cert, nss-chain, nss-archived, nss-cert-removed,
 * nss-key-removed. */
static void crash_point(const char *step)
{
	const char *at = getenv("ADENROLL_TEST_CRASH_AT");

	if (at != NULL && strcmp(at, step) == 0)
		keyproc_crash_run();   /* the key process and the run it serves */
}

static const char *nss_err(void)
{
	PRErrorCode e = PORT_GetError();
	const char *s = PR_ErrorToString(e, PR_LANGUAGE_I_DEFAULT);
	const char *name = PR_ErrorToName(e);

	if (s != NULL && s[0] != '\0')
		return s;
	return name != NULL ? name : "unknown NSS error";
}

/* File-name stem of a template's archive directory: a cn of file-name-safe
 * bytes is its own stem (as always); any other cn gets state_file_stem's
 * bounded prefix-and-hash, so "Web:Server" and "Web_Server" never share an
 * archive (and its retention), and a long non-ASCII cn still fits NAME_MAX. */
static char *safe_name(const char *cn)
{
	size_t i;

	for (i = 0; cn[i] != '\0'; i++)
		if (!((cn[i] >= 'a' && cn[i] <= 'z') || (cn[i] >= 'A' && cn[i] <= 'Z') ||
		      (cn[i] >= '0' && cn[i] <= '9') || cn[i] == '.' || cn[i] == '_' || cn[i] == '-'))
			break;
	if (cn[i] == '\0' && i > 0 && i < 180 && cn[0] != '.')
		return xstrdup(cn);
	return state_file_stem(cn);
}

static const char *strip_prefix(const char *db)
{
	if (strncmp(db, "sql:", 4) == 0 || strncmp(db, "dbm:", 4) == 0)
		return db + 4;
	return db;
}

/* ------------------------------------------------------------ NSS session */

/* A private key imported into softoken is protected by the database
 * password only, and adenroll's databases have none: whoever can read
 * key4.db can export the key (pk12util -o).  So adenroll puts keys only in
 * a database whose directory and key file belong to the running user and
 * are neither readable nor writable by group or others (RHEL ships
 * /etc/pki/nssdb/key4.db 0644).  0 private (or no key file yet), -1 logged. */
static int db_is_private(const struct nss_store *ns)
{
	char why[1024];

	if (fs_keys_private(ns->dir, strncmp(ns->db, "dbm:", 4) == 0 ? "key3.db" : "key4.db", why,
			    sizeof(why)) == 0)
		return 0;
	log_error("refusing to put a private key into the NSS database %s: %s; or use a private "
		  "database (nss_db = %s is created 0700)", ns->db, why,
		  ns->user_mode ? "sql:~/.pki/nssdb" : NSS_DB_DEFAULT_HINT);
	return -1;
}

/* Opens the database on first use.  create: make the directory and an empty
 * database (no password, like certutil -N --empty-password) when missing.
 * Returns 0, 1 when !create and there is no database, -1 on error. */
static int nss_ensure(struct nss_store *ns, bool create)
{
	char *probe;
	struct stat st;
	bool exists;
	const PRUint32 flags = NSS_INIT_NOROOTINIT | NSS_INIT_OPTIMIZESPACE;

	if (ns->ctx != NULL) {
		if (create && ns->read_only) {
			log_error("the NSS database %s is open read-only (no write access); cannot change it",
				  ns->db);
			return -1;
		}
		/* opened for reading (list) first: check before the first write */
		if (create && !ns->checked_private) {
			if (db_is_private(ns) != 0)
				return -1;
			ns->checked_private = true;
		}
		return 0;
	}
	probe = fs_path_join(ns->dir, strncmp(ns->db, "dbm:", 4) == 0 ? "cert8.db" : "cert9.db");
	exists = stat(probe, &st) == 0;
	free(probe);
	if (!exists && !create)
		return 1;
	/* the first NSS call of the run: say what to install if NSS is missing */
	if (!nss_loader_ready(NULL, 0))
		return -1;
	if (create && (fs_mkdir_p(ns->dir, ns->dir_mode) != 0 || db_is_private(ns) != 0))
		return -1;

	ns->ctx = NSS_InitContext(ns->db, "", "", "", NULL, flags);
	if (ns->ctx == NULL && !create && access(ns->dir, W_OK) != 0) {
		ns->ctx = NSS_InitContext(ns->db, "", "", "", NULL, flags | NSS_INIT_READONLY);
		ns->read_only = ns->ctx != NULL;
	}
	if (ns->ctx == NULL) {
		log_error("cannot open the NSS database %s: %s; check that the directory is writable "
			  "and holds an NSS database (certutil -L -d %s)", ns->db, nss_err(), ns->db);
		return -1;
	}
	ns->slot = PK11_GetInternalKeySlot();
	if (ns->slot == NULL) {
		log_error("the NSS database %s has no key slot: %s", ns->db, nss_err());
		return -1;
	}
	/* key4.db exists now: the same check on what NSS created or found. */
	if (create) {
		if (db_is_private(ns) != 0)
			return -1;
		ns->checked_private = true;
	}
	if (!ns->read_only && PK11_NeedUserInit(ns->slot)) {
		if (PK11_InitPin(ns->slot, NULL, "") != SECSuccess) {
			log_error("cannot initialise the NSS database %s with an empty password: %s",
				  ns->db, nss_err());
			return -1;
		}
	}
	if (PK11_NeedLogin(ns->slot) && !PK11_IsLoggedIn(ns->slot, NULL) &&
	    PK11_CheckUserPassword(ns->slot, "") != SECSuccess) {
		if (!ns->read_only || create) {
			log_error("the NSS database %s is protected by a password; adenroll needs one with "
				  "an empty password (certutil -W -d %s, then an empty new password)",
				  ns->db, ns->db);
			return -1;
		}
	}
	return 0;
}

static void nss_shutdown(struct nss_store *ns)
{
	if (ns->slot != NULL)
		PK11_FreeSlot(ns->slot);
	ns->slot = NULL;
	if (ns->ctx != NULL && NSS_ShutdownContext(ns->ctx) != SECSuccess)
		log_warn("closing the NSS database %s: %s", ns->db, nss_err());
	ns->ctx = NULL;
}

/* ------------------------------------------------------------ conversions */

static X509 *x509_of(const CERTCertificate *c)
{
	return cert_from_der(c->derCert.data, c->derCert.len);
}

static CERTCertificate *nss_cert_of(X509 *x)
{
	struct blob der = { NULL, 0 };
	SECItem item;
	CERTCertificate *c;

	if (cert_to_der(x, &der) != 0)
		return NULL;
	item.type = siDERCertBuffer;
	item.data = der.data;
	item.len = (unsigned)der.len;
	c = CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL, PR_FALSE, PR_TRUE);
	free(der.data);
	return c;
}

static char *fingerprint(const CERTCertificate *c)
{
	X509 *x = x509_of(c);
	char hex[65];
	int r = x != NULL ? cert_sha256_hex(x, hex, sizeof(hex)) : -1;

	X509_free(x);
	return r == 0 ? xstrdup(hex) : NULL;
}

/* ------------------------------------------------------------ meta side files */

static char *meta_path(const struct nss_store *ns, const CERTCertificate *c)
{
	char *fp, *p;

	if (ns->meta_dir == NULL || (fp = fingerprint(c)) == NULL)
		return NULL;
	p = xasprintf("%s/%s.meta", ns->meta_dir, fp);
	free(fp);
	return p;
}

/* ------------------------------------------------------------ finding our objects */

/* "adenroll-<cn>", with '%' and ':' written as %25 and %3A: a ':' would read
 * as "token:nickname" to NSS readers, and escaping (rather than replacing)
 * keeps two cns such as "Web:Server" and "Web_Server" on two nicknames.  Any
 * other cn is its own nickname, as before. */
static char *nickname_for(const char *cn)
{
	size_t n = strlen(cn), o = 0, i;
	char *nick = xmalloc(strlen(NICK_PREFIX) + 3 * n + 1);

	o = (size_t)sprintf(nick, "%s", NICK_PREFIX);
	for (i = 0; i < n; i++) {
		if (cn[i] == '%' || cn[i] == ':')
			o += (size_t)sprintf(nick + o, "%%%02X", (unsigned char)cn[i]);
		else
			nick[o++] = cn[i];
	}
	nick[o] = '\0';
	return nick;
}

/* The cn back from a nickname of ours (after the prefix). */
static char *cn_of_nickname(const char *rest)
{
	char *cn = xmalloc(strlen(rest) + 1);
	size_t o = 0;

	for (; *rest != '\0'; rest++) {
		if (strncmp(rest, "%25", 3) == 0 || strncmp(rest, "%3A", 3) == 0) {
			cn[o++] = rest[2] == '5' ? '%' : ':';
			rest += 2;
		} else {
			cn[o++] = *rest;
		}
	}
	cn[o] = '\0';
	return cn;
}

/* The nickname of a certificate of the internal database, without a token prefix. */
static const char *bare_nickname(const CERTCertificate *c)
{
	const char *n = c->nickname, *colon;

	if (n == NULL)
		return NULL;
	colon = strchr(n, ':');
	if (colon != NULL && strncmp(n, NICK_PREFIX, strlen(NICK_PREFIX)) != 0)
		return colon + 1;
	return n;
}

/* Every certificate of the slot under nickname (an array of references). */
static size_t certs_with_nickname(struct nss_store *ns, const char *nick, CERTCertificate ***out)
{
	CERTCertList *list = PK11_ListCertsInSlot(ns->slot);
	CERTCertListNode *node;
	CERTCertificate **v = NULL;
	size_t n = 0;

	*out = NULL;
	if (list == NULL)
		return 0;
	for (node = CERT_LIST_HEAD(list); !CERT_LIST_END(node, list); node = CERT_LIST_NEXT(node)) {
		const char *bn = bare_nickname(node->cert);

		if (bn == NULL || strcmp(bn, nick) != 0)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = CERT_DupCertificate(node->cert);
	}
	CERT_DestroyCertList(list);
	*out = v;
	return n;
}

static void certs_free(CERTCertificate **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		CERT_DestroyCertificate(v[i]);
	free(v);
}

/* What NSS readers take for a nickname with several certificates
 * (nssCertificateArray_FindBestCertificate): a certificate valid now beats
 * one that is not; among those, the newest notBefore. */
static size_t best_index(CERTCertificate **v, size_t n)
{
	PRTime now = PR_Now();
	size_t best = 0, i;

	for (i = 1; i < n; i++) {
		PRTime nb_i, na_i, nb_b, na_b;
		bool vi, vb;

		if (CERT_GetCertTimes(v[i], &nb_i, &na_i) != SECSuccess)
			continue;
		if (CERT_GetCertTimes(v[best], &nb_b, &na_b) != SECSuccess) {
			best = i;
			continue;
		}
		vi = nb_i <= now && now <= na_i;
		vb = nb_b <= now && now <= na_b;
		if ((vi && !vb) || (vi == vb && nb_i > nb_b))
			best = i;
	}
	return best;
}

static bool same_cert(const CERTCertificate *a, const CERTCertificate *b)
{
	return SECITEM_ItemsAreEqual(&a->derCert, &b->derCert);
}

/* True when another certificate in the slot uses the key of c. */
static bool key_used_elsewhere(struct nss_store *ns, const CERTCertificate *c)
{
	CERTCertList *list = PK11_ListCertsInSlot(ns->slot);
	CERTCertListNode *node;
	SECItem *id = PK11_GetLowLevelKeyIDForCert(ns->slot, (CERTCertificate *)c, NULL);
	bool used = false;

	if (list == NULL || id == NULL) {
		used = true;   /* when in doubt, keep the key */
		goto out;
	}
	for (node = CERT_LIST_HEAD(list); !CERT_LIST_END(node, list); node = CERT_LIST_NEXT(node)) {
		SECItem *other;

		if (same_cert(node->cert, c))
			continue;
		other = PK11_GetLowLevelKeyIDForCert(ns->slot, node->cert, NULL);
		if (other != NULL && SECITEM_ItemsAreEqual(id, other))
			used = true;
		SECITEM_FreeItem(other, PR_TRUE);
		if (used)
			break;
	}
out:
	SECITEM_FreeItem(id, PR_TRUE);
	if (list != NULL)
		CERT_DestroyCertList(list);
	return used;
}

/* ------------------------------------------------------------ archive */

/* The private key as PKCS#8 PEM in secure memory.  Softoken keys are
 * sensitive: NSS hands them out only encrypted (as pk12util does), so the
 * key leaves NSS under a one-time random password (PBES2, AES-256) and
 * OpenSSL decrypts it in memory. */
static BIO *export_key_pem(struct nss_store *ns, SECKEYPrivateKey *key)
{
	unsigned char rnd[24];
	char pass[sizeof(rnd) * 2 + 1];
	SECItem pw, *der = NULL;
	SECKEYEncryptedPrivateKeyInfo *epki = NULL;
	const unsigned char *p;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto fail;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(pass + 2 * i, 3, "%02x", rnd[i]);
	pw.type = siBuffer;
	pw.data = (unsigned char *)pass;
	pw.len = (unsigned)strlen(pass);
	epki = PK11_ExportEncryptedPrivKeyInfoV2(ns->slot, SEC_OID_PKCS5_PBES2, SEC_OID_AES_256_CBC,
						 SEC_OID_HMAC_SHA256, &pw, key, 1000, NULL);
	if (epki == NULL)
		goto fail;
	/* the template through its accessor: NSS is opened with dlopen
	 * (nss_loader.h), and data cannot be forwarded */
	der = SEC_ASN1EncodeItem(NULL, NULL, epki,
				 NSS_Get_SECKEY_EncryptedPrivateKeyInfoTemplate(NULL, PR_FALSE));
	if (der == NULL)
		goto fail;
	p = der->data;
	sig = d2i_X509_SIG(NULL, &p, (long)der->len);
	if (sig == NULL || (p8 = PKCS8_decrypt(sig, pass, (int)strlen(pass))) == NULL ||
	    (pkey = EVP_PKCS82PKEY(p8)) == NULL)
		goto fail;
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		bio = NULL;
		goto fail;
	}
	goto out;
fail:
	log_error("cannot export a private key from %s to archive it: %s", ns->db,
		  epki == NULL ? nss_err() : "the exported key does not decode");
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	if (epki != NULL)
		SECKEY_DestroyEncryptedPrivateKeyInfo(epki, PR_TRUE);
	if (der != NULL)
		SECITEM_ZfreeItem(der, PR_TRUE);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(pkey);
	return bio;
}

/* Writes cert.pem, key.pem (0600, PKCS#8) and meta of c into
 * <archive>/<name>/<now>--<serial>/, built under a .new- name and renamed,
 * so an entry is complete or absent.  Fails (and nothing may be deleted)
 * when the key cannot be exported. */
static int archive_pair(struct nss_store *ns, const char *cn, CERTCertificate *c, time_t now,
			char **archived_to)
{
	char *name = safe_name(cn), *adir = xasprintf("%s/%s", ns->archive, name);
	char *ts = store_format_utc(now), *leaf = NULL, *build = NULL, *dst = NULL, *p = NULL, *pem = NULL;
	char *mp = NULL, serial[80];
	X509 *x = x509_of(c);
	SECKEYPrivateKey *key = PK11_FindKeyByAnyCert(c, NULL);
	BIO *bio = NULL;
	unsigned char *meta = NULL;
	size_t meta_len = 0;
	struct stat st;
	long n;
	unsigned k;
	int ret = -1;

	if (x == NULL || cert_serial_hex(x, serial, sizeof(serial)) != 0)
		snprintf(serial, sizeof(serial), "0");
	if (fs_mkdir_p(adir, 0700) != 0)
		goto out;
	leaf = xasprintf("%s--%.40s", ts, serial);
	dst = fs_path_join(adir, leaf);
	for (k = 2; lstat(dst, &st) == 0; k++) {
		free(leaf);
		free(dst);
		leaf = xasprintf("%s--%.40s-%u", ts, serial, k);
		dst = fs_path_join(adir, leaf);
	}
	build = xasprintf("%s/%s%s", adir, NEW_PREFIX, leaf);
	if (mkdir(build, 0700) != 0) {
		log_error("cannot create %s: %s", build, strerror(errno));
		goto out;
	}
	if (key != NULL) {
		bio = export_key_pem(ns, key);
		if (bio == NULL)
			goto out;
		n = BIO_get_mem_data(bio, &pem);
		p = fs_path_join(build, "key.pem");
		if (n < 0 || fs_write_atomic(p, pem, (size_t)n, 0600, (uid_t)-1) != 0)
			goto out;
		free(p);
		p = NULL;
	}
	pem = x != NULL ? cert_to_pem(x) : NULL;
	p = fs_path_join(build, "cert.pem");
	if (pem == NULL || fs_write_atomic(p, pem, strlen(pem), 0644, (uid_t)-1) != 0) {
		free(pem);
		goto out;
	}
	free(pem);
	mp = meta_path(ns, c);
	if (mp != NULL && fs_read_file(mp, MAX_FILE, &meta, &meta_len) == 0) {
		free(p);
		p = fs_path_join(build, "meta");
		if (fs_write_atomic(p, meta, meta_len, 0644, (uid_t)-1) != 0)
			goto out;
	}
	if (rename(build, dst) != 0) {
		log_error("cannot rename %s to %s: %s", build, dst, strerror(errno));
		goto out;
	}
	if (fs_fsync_dir(adir) != 0)
		goto out;
	log_info("archived %s from %s to %s", bare_nickname(c) != NULL ? bare_nickname(c) : cn, ns->db, dst);
	if (archived_to != NULL) {
		free(*archived_to);
		*archived_to = dst;
		dst = NULL;
	}
	ret = 0;
out:
	if (ret != 0 && build != NULL && lstat(build, &st) == 0)
		fs_remove_flat_dir(build);
	BIO_free(bio);
	if (key != NULL)
		SECKEY_DestroyPrivateKey(key);
	X509_free(x);
	free(meta);
	free(mp);
	free(name);
	free(adir);
	free(ts);
	free(leaf);
	free(build);
	free(dst);
	free(p);
	return ret;
}

/* Deletes c, then its key unless another certificate (the new one, with
 * reuse_key) uses it, then its meta.  Cert first: a key without a
 * certificate is harmless (and tidied later), a certificate without its key is not. */
static int remove_pair(struct nss_store *ns, CERTCertificate *c)
{
	SECKEYPrivateKey *key = PK11_FindKeyByAnyCert(c, NULL);
	bool keep = key_used_elsewhere(ns, c);
	char *mp = meta_path(ns, c);
	int ret = -1;

	if (SEC_DeletePermCertificate(c) != SECSuccess) {
		log_error("cannot delete %s from %s: %s", bare_nickname(c) != NULL ? bare_nickname(c) : "a certificate",
			  ns->db, nss_err());
		goto out;
	}
	crash_point("nss-cert-removed");
	if (key != NULL && !keep) {
		SECKEYPrivateKey *k = key;

		key = NULL;
		/* Destroys the key handle too. */
		if (PK11_DeleteTokenPrivateKey(k, PR_FALSE) != SECSuccess) {
			log_warn("cannot delete the private key of a replaced certificate from %s: %s; "
				 "the next install removes it", ns->db, nss_err());
		}
	}
	crash_point("nss-key-removed");
	if (mp != NULL && unlink(mp) != 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", mp, strerror(errno));
	ret = 0;
out:
	if (key != NULL)
		SECKEY_DestroyPrivateKey(key);
	free(mp);
	return ret;
}

/* Removes never-complete .new- entries; with a retention, entries archived
 * longer ago than that. */
static void prune_archive(const struct nss_store *ns, const char *cn, time_t now)
{
	char *name = safe_name(cn), *adir = xasprintf("%s/%s", ns->archive, name);
	DIR *d = fs_opendir_nofollow(adir);   /* never through a symlink: pruning deletes */
	struct dirent *de;
	time_t when;

	free(name);
	if (d == NULL) {
		free(adir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *p;
		bool drop = false;

		if (strncmp(de->d_name, NEW_PREFIX, strlen(NEW_PREFIX)) == 0)
			drop = true;
		else if (ns->retention_days > 0 && de->d_name[0] != '.' &&
			 store_time_from_name(de->d_name, &when) &&
			 now - when > (time_t)ns->retention_days * 86400)
			drop = true;
		if (!drop || !fs_is_real_dir_at(d, de->d_name))
			continue;
		p = fs_path_join(adir, de->d_name);
		log_info("removing archived NSS entry %s", p);
		fs_remove_flat_dir(p);
		free(p);
	}
	closedir(d);
	free(adir);
}

/* ------------------------------------------------------------ recovery */

/* Finishes an interrupted install for nick: all certificates but the live
 * one are archived and removed; keys labelled nick that no certificate uses
 * are deleted.  *live receives the live certificate (a reference) or NULL. */
static int recover(struct nss_store *ns, const char *cn, const char *nick, time_t now,
		   CERTCertificate **live)
{
	CERTCertificate **v;
	size_t n = certs_with_nickname(ns, nick, &v), best = 0, i;
	SECKEYPrivateKeyList *keys;
	SECKEYPrivateKeyListNode *kn;
	int ret = 0;

	*live = NULL;
	if (n > 0) {
		best = best_index(v, n);
		for (i = 0; i < n; i++) {
			if (i == best)
				continue;
			log_info("finishing an interrupted install: archiving an older certificate of %s in %s",
				 nick, ns->db);
			if (archive_pair(ns, cn, v[i], now, NULL) != 0 || remove_pair(ns, v[i]) != 0)
				ret = -1;
		}
		*live = CERT_DupCertificate(v[best]);
	}
	certs_free(v, n);

	keys = PK11_ListPrivKeysInSlot(ns->slot, (char *)nick, NULL);
	if (keys == NULL)
		return ret;
	for (kn = PRIVKEY_LIST_HEAD(keys); !PRIVKEY_LIST_END(kn, keys); kn = PRIVKEY_LIST_NEXT(kn)) {
		CERTCertificate *c = PK11_GetCertFromPrivateKey(kn->key);
		char *label;

		if (c != NULL) {
			CERT_DestroyCertificate(c);
			continue;
		}
		/* PK11_ListPrivKeysInSlot matches the label by prefix in some versions. */
		label = PK11_GetPrivateKeyNickname(kn->key);
		if (label != NULL && strcmp(label, nick) == 0) {
			log_info("removing a private key labelled %s without a certificate from %s "
				 "(left by an interrupted install)", nick, ns->db);
			if (PK11_DestroyTokenObject(ns->slot, kn->key->pkcs11ID) != SECSuccess)
				ret = -1;
		}
		PORT_Free(label);
	}
	SECKEY_DestroyPrivateKeyList(keys);
	return ret;
}

/* Meta files of certificates that are not in the database any more. */
static void tidy_meta(struct nss_store *ns)
{
	CERTCertList *list;
	CERTCertListNode *node;
	struct strlist live = { NULL, 0 };
	DIR *d;
	struct dirent *de;

	if (ns->meta_dir == NULL || (d = opendir(ns->meta_dir)) == NULL)
		return;
	list = PK11_ListCertsInSlot(ns->slot);
	if (list == NULL) {
		closedir(d);
		return;
	}
	for (node = CERT_LIST_HEAD(list); !CERT_LIST_END(node, list); node = CERT_LIST_NEXT(node)) {
		char *fp = fingerprint(node->cert);

		if (fp != NULL) {
			char *leaf = xasprintf("%s.meta", fp);

			strlist_add(&live, leaf);
			free(leaf);
		}
		free(fp);
	}
	CERT_DestroyCertList(list);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char *p;

		if (len != 64 + 5 || strcmp(de->d_name + 64, ".meta") != 0 ||
		    strlist_contains_ci(&live, de->d_name))
			continue;
		p = fs_path_join(ns->meta_dir, de->d_name);
		if (unlink(p) != 0)
			log_warn("cannot remove %s: %s", p, strerror(errno));
		free(p);
	}
	closedir(d);
	strlist_free(&live);
}

/* Before nicknames were escaped, a ':' in the cn became '_'.  The pairs of
 * such a template still under that old nickname (known by the template cn
 * of their meta record, so those of a template really named with '_' stay)
 * are archived and removed once the template's certificate is installed
 * under its own nickname. */
static void retire_legacy_nickname(struct nss_store *ns, const char *cn, const char *nick, time_t now)
{
	char *legacy = xasprintf("%s%s", NICK_PREFIX, cn), *c;
	CERTCertificate **v = NULL;
	size_t n = 0, i;

	for (c = legacy; *c != '\0'; c++)
		if (*c == ':')
			*c = '_';
	if (strcmp(legacy, nick) != 0)
		n = certs_with_nickname(ns, legacy, &v);
	for (i = 0; i < n; i++) {
		struct store_item it;
		char *mp = meta_path(ns, v[i]);
		unsigned char *buf = NULL;

		memset(&it, 0, sizeof(it));
		if (mp != NULL && fs_read_file(mp, MAX_FILE, &buf, NULL) == 0)
			store_meta_parse((char *)buf, &it);
		if (it.template_cn != NULL && strcmp(it.template_cn, cn) == 0) {
			log_info("moving the earlier certificate of template %s away from its old nickname %s",
				 cn, legacy);
			if (archive_pair(ns, cn, v[i], now, NULL) != 0 || remove_pair(ns, v[i]) != 0)
				log_warn("the earlier certificate of template %s stays in %s as %s", cn, ns->db,
					 legacy);
		}
		store_item_free_contents(&it);
		free(buf);
		free(mp);
	}
	certs_free(v, n);
	free(legacy);
}

/* ------------------------------------------------------------ operations */

static int nss_list(struct store_backend *b, struct store_item **items, size_t *n)
{
	struct nss_store *ns = (struct nss_store *)b;
	CERTCertList *list;
	CERTCertListNode *node;
	struct strlist nicks = { NULL, 0 };
	struct store_item *v = NULL;
	size_t count = 0, i;
	int r;

	*items = NULL;
	*n = 0;
	r = nss_ensure(ns, false);
	if (r != 0)
		return r > 0 ? 0 : -1;
	list = PK11_ListCertsInSlot(ns->slot);
	if (list == NULL)
		return 0;
	for (node = CERT_LIST_HEAD(list); !CERT_LIST_END(node, list); node = CERT_LIST_NEXT(node)) {
		const char *bn = bare_nickname(node->cert);

		if (bn != NULL && strncmp(bn, NICK_PREFIX, strlen(NICK_PREFIX)) == 0 &&
		    bn[strlen(NICK_PREFIX)] != '\0' && !strlist_contains_ci(&nicks, bn))
			strlist_add(&nicks, bn);
	}
	CERT_DestroyCertList(list);

	for (i = 0; i < nicks.n; i++) {
		CERTCertificate **cv;
		size_t nc = certs_with_nickname(ns, nicks.v[i], &cv), best;
		struct store_item it;
		struct cert_template_info info;
		SECKEYPrivateKey *key;
		unsigned char *buf = NULL;
		char *mp;

		memset(&it, 0, sizeof(it));
		if (nc == 0)
			goto next;
		best = best_index(cv, nc);
		/* Only pairs: a certificate under our prefix without its key is not ours to report. */
		key = ns->read_only ? NULL : PK11_FindKeyByAnyCert(cv[best], NULL);
		if (key == NULL && !ns->read_only) {
			log_warn("%s in %s has no private key; leaving it out", nicks.v[i], ns->db);
			goto next;
		}
		SECKEY_DestroyPrivateKey(key);
		it.cert = x509_of(cv[best]);
		if (it.cert == NULL) {
			log_warn("cannot parse the certificate %s in %s; leaving it out", nicks.v[i], ns->db);
			goto next;
		}
		mp = meta_path(ns, cv[best]);
		if (mp != NULL && fs_read_file(mp, MAX_FILE, &buf, NULL) == 0)
			store_meta_parse((char *)buf, &it);
		free(buf);
		free(mp);
		if (it.template_cn == NULL)
			it.template_cn = cn_of_nickname(nicks.v[i] + strlen(NICK_PREFIX));
		if (cert_template_info(it.cert, &info) == 0) {
			it.template_oid = info.oid;
			it.ext_template_cn = info.name;
			info.oid = info.name = NULL;
			it.has_version = info.has_major;
			it.major = info.major;
			it.minor = info.minor;
			cert_template_info_free(&info);
		} else {
			log_warn("the certificate %s in %s has a malformed template extension",
				 nicks.v[i], ns->db);
		}
		it.cert_path = xasprintf("%s:%s", ns->db, nicks.v[i]);
		it.key_path = xasprintf("%s:%s", ns->db, nicks.v[i]);
		it.generation = fingerprint(cv[best]);
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count++] = it;
		memset(&it, 0, sizeof(it));
next:
		store_item_free_contents(&it);
		certs_free(cv, nc);
	}
	strlist_free(&nicks);
	*items = v;
	*n = count;
	return 0;
}

/* The public value NSS derives a key's CKA_ID from (RSA modulus, EC point),
 * taken from the certificate so key and certificate get the same ID. */
static SECItem *public_value(CERTCertificate *c)
{
	SECKEYPublicKey *pub = CERT_ExtractPublicKey(c);
	SECItem *v = NULL;

	if (pub == NULL)
		return NULL;
	if (pub->keyType == rsaKey)
		v = SECITEM_DupItem(&pub->u.rsa.modulus);
	else if (pub->keyType == ecKey)
		v = SECITEM_DupItem(&pub->u.ec.publicValue);
	SECKEY_DestroyPublicKey(pub);
	return v;
}

static int import_key(struct nss_store *ns, EVP_PKEY *key, CERTCertificate *c, const char *nick)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *der = NULL;
	int len = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	SECItem item, nickitem, *pubv = public_value(c);
	SECKEYPrivateKey *pk = NULL;
	int ret = -1;

	if (len <= 0 || pubv == NULL) {
		log_error("cannot encode the private key for %s (unsupported key type?)", nick);
		goto out;
	}
	item.type = siBuffer;
	item.data = der;
	item.len = (unsigned)len;
	nickitem.type = siAsciiString;
	nickitem.data = (unsigned char *)nick;
	nickitem.len = (unsigned)strlen(nick);
	if (PK11_ImportDERPrivateKeyInfoAndReturnKey(ns->slot, &item, &nickitem, pubv, PR_TRUE, PR_TRUE,
						     KU_ALL, &pk, NULL) != SECSuccess) {
		log_error("cannot import the private key for %s into %s: %s", nick, ns->db, nss_err());
		goto out;
	}
	ret = 0;
out:
	if (pk != NULL)
		SECKEY_DestroyPrivateKey(pk);
	if (pubv != NULL)
		SECITEM_FreeItem(pubv, PR_TRUE);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return ret;
}

/* True when issuer's key signed subject under issuer's name. */
static bool issued_by(X509 *subject, X509 *issuer)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);

	return X509_NAME_cmp(X509_get_issuer_name(subject), X509_get_subject_name(issuer)) == 0 &&
	       pk != NULL && X509_verify(subject, pk) == 1;
}

/* The self-signed certificate the leaf's issuer path through chain ends in, or NULL. */
static X509 *path_root(X509 *leaf, STACK_OF(X509) *chain)
{
	X509 *cur = leaf;
	int depth, i;

	for (depth = 0; depth < 10; depth++) {
		X509 *issuer = NULL;

		if (depth > 0 && issued_by(cur, cur))
			return cur;
		for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
			X509 *c = sk_X509_value(chain, i);

			if (c != cur && issued_by(cur, c)) {
				issuer = c;
				break;
			}
		}
		if (issuer == NULL)
			return NULL;
		cur = issuer;
	}
	return NULL;
}

/* Marking a root trusted is up to the trust policy (trust_policy.h): the
 * root came from whatever DC answered. */
static bool root_trust_allowed(const struct nss_store *ns, X509 *root)
{
	struct trust_verdict v;

	trust_policy_decide(ns->cfg, trust_policy_dc(), root, &v);
	if (!v.allowed)
		log_warn("not marking the root CA (SHA-256 %s) trusted in %s: %s", v.fingerprint, ns->db, v.why);
	return v.allowed;
}

/* CA certificates of the chain that the database does not have yet. */
static int import_chain(struct nss_store *ns, X509 *leaf, STACK_OF(X509) *chain)
{
	X509 *root = path_root(leaf, chain);
	int i, ret = 0;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		CERTCertificate *c = nss_cert_of(x), *have;
		char *nick = NULL;

		if (c == NULL) {
			log_warn("cannot parse a chain certificate for %s", ns->db);
			ret = -1;
			continue;
		}
		have = PK11_FindCertFromDERCertItem(ns->slot, &c->derCert, NULL);
		if (have != NULL) {
			CERT_DestroyCertificate(have);
			CERT_DestroyCertificate(c);
			continue;
		}
		/* Not added untrusted either: once allowed, the next install adds
		 * and trusts it (certificates already present are never touched). */
		if (x == root && !root_trust_allowed(ns, x)) {
			CERT_DestroyCertificate(c);
			continue;
		}
		nick = CERT_MakeCANickname(c);
		if (PK11_ImportCert(ns->slot, c, CK_INVALID_HANDLE, nick, PR_FALSE) != SECSuccess) {
			log_warn("cannot add the CA certificate %s to %s: %s", nick != NULL ? nick : "",
				 ns->db, nss_err());
			ret = -1;
		} else if (x == root) {
			CERTCertTrust trust;

			if (CERT_DecodeTrustString(&trust, ROOT_TRUST) != SECSuccess ||
			    CERT_ChangeCertTrust(CERT_GetDefaultCertDB(), c, &trust) != SECSuccess) {
				log_warn("cannot trust the root CA %s in %s: %s", nick != NULL ? nick : "",
					 ns->db, nss_err());
				ret = -1;
			} else {
				log_info("added the root CA %s to %s, trusted %s", nick != NULL ? nick : "",
					 ns->db, ROOT_TRUST);
			}
		}
		PORT_Free(nick);
		CERT_DestroyCertificate(c);
	}
	return ret;
}

static int nss_install(struct store_backend *b, const struct store_install_args *a,
		       char **archived_to)
{
	struct nss_store *ns = (struct nss_store *)b;
	const char *cn = a->t->cn;
	char *nick = NULL, *mp = NULL, *meta = NULL;
	CERTCertificate *newc = NULL, *old = NULL, *have = NULL, *check = NULL;
	SECKEYPrivateKey *k = NULL;
	char why[768];
	int ret = -1;

	if (cn == NULL || cn[0] == '\0' || !store_text_is_clean(cn)) {
		log_error("refusing to install a certificate for a template with an unprintable name");
		return -1;
	}
	if (nss_ensure(ns, true) != 0)
		return -1;
	if (fs_dir_trusted(ns->archive, why, sizeof(why)) != 0 ||
	    (ns->meta_dir != NULL && fs_dir_trusted(ns->meta_dir, why, sizeof(why)) != 0)) {
		log_error("not storing a key for template %s: %s", cn, why);
		return -1;
	}
	nick = nickname_for(cn);
	newc = nss_cert_of(a->cert);
	if (newc == NULL) {
		log_error("cannot hand the certificate for template %s to NSS: %s", cn, nss_err());
		goto out;
	}
	if (recover(ns, cn, nick, a->now, &old) != 0)
		log_warn("could not tidy everything an earlier interrupted install left in %s", ns->db);
	tidy_meta(ns);
	if (old != NULL && same_cert(old, newc)) {
		log_info("%s already holds this certificate for template %s", ns->db, cn);
		ret = 0;
		goto out;
	}

	if (ns->meta_dir != NULL) {
		if (fs_mkdir_p(ns->meta_dir, 0700) != 0)
			goto out;
		mp = meta_path(ns, newc);
		meta = store_meta_text(a);
		if (mp == NULL || fs_write_atomic(mp, meta, strlen(meta), 0600, (uid_t)-1) != 0)
			goto out;
	}
	crash_point("nss-meta");

	/* The key before the certificate: a certificate is never without its key. */
	k = PK11_FindKeyByAnyCert(newc, NULL);
	if (k == NULL && import_key(ns, a->key, newc, nick) != 0)
		goto out;
	crash_point("nss-key");
	have = PK11_FindCertFromDERCertItem(ns->slot, &newc->derCert, NULL);
	if (have == NULL && PK11_ImportCert(ns->slot, newc, CK_INVALID_HANDLE, nick, PR_FALSE) != SECSuccess) {
		log_error("cannot import the certificate for template %s into %s as %s: %s", cn, ns->db,
			  nick, nss_err());
		goto out;
	}
	crash_point("nss-cert");
	/* A certificate that was already in the database (imported by hand
	 * under another nickname) keeps that nickname: readers of ours would
	 * not find it, so the install is a failure. */
	check = PK11_FindCertFromDERCertItem(ns->slot, &newc->derCert, NULL);
	if (check == NULL || bare_nickname(check) == NULL || strcmp(bare_nickname(check), nick) != 0) {
		log_error("the certificate for template %s is in %s under the nickname '%s', not %s; "
			  "remove that entry (certutil -D) and run again",
			  cn, ns->db, check != NULL && check->nickname != NULL ? check->nickname : "?", nick);
		goto out;
	}
	if (import_chain(ns, a->cert, a->chain) != 0)
		log_warn("not every CA certificate of the chain of template %s could be added to %s",
			 cn, ns->db);
	crash_point("nss-chain");
	log_info("installed the certificate for template %s in %s as %s", cn, ns->db, nick);

	if (old != NULL) {
		if (archive_pair(ns, cn, old, a->now, archived_to) != 0) {
			/* The new pair is live (newest); the old one stays until an install can archive it. */
			log_warn("the previous certificate of template %s stays in %s", cn, ns->db);
		} else {
			crash_point("nss-archived");
			if (remove_pair(ns, old) != 0)
				log_warn("the previous certificate of template %s stays in %s "
					 "(archived; the next install removes it)", cn, ns->db);
		}
	}
	retire_legacy_nickname(ns, cn, nick, a->now);
	prune_archive(ns, cn, a->now);
	ret = 0;
out:
	if (k != NULL)
		SECKEY_DestroyPrivateKey(k);
	if (have != NULL)
		CERT_DestroyCertificate(have);
	if (check != NULL)
		CERT_DestroyCertificate(check);
	if (old != NULL)
		CERT_DestroyCertificate(old);
	if (newc != NULL)
		CERT_DestroyCertificate(newc);
	free(nick);
	free(mp);
	free(meta);
	return ret;
}

static int nss_retire(struct store_backend *b, const char *template_cn, char **archived_to)
{
	struct nss_store *ns = (struct nss_store *)b;
	char *nick;
	CERTCertificate *live = NULL;
	int r, ret = -1;

	r = nss_ensure(ns, false);
	if (r != 0)
		return r > 0 ? 0 : -1;
	if (nss_ensure(ns, true) != 0)
		return -1;
	nick = nickname_for(template_cn);
	if (recover(ns, template_cn, nick, time(NULL), &live) != 0)
		goto out;
	if (live == NULL) {
		ret = 0;
		goto out;
	}
	if (archive_pair(ns, template_cn, live, time(NULL), archived_to) != 0 ||
	    remove_pair(ns, live) != 0)
		goto out;
	log_info("template %s is no longer managed in %s", template_cn, ns->db);
	ret = 0;
out:
	if (live != NULL)
		CERT_DestroyCertificate(live);
	free(nick);
	return ret;
}

/* The key of a held certificate, exported as archive_pair does (softoken
 * keys leave NSS only encrypted): what makes reuse_key work with an
 * NSS-only store. */
static int nss_load_key(struct store_backend *b, const struct store_item *it, EVP_PKEY **key)
{
	struct nss_store *ns = (struct nss_store *)b;
	CERTCertificate *c = NULL, *have = NULL;
	SECKEYPrivateKey *k = NULL;
	BIO *bio = NULL;
	int r, ret = -1;

	*key = NULL;
	r = nss_ensure(ns, false);
	if (r != 0) {
		if (r > 0)
			log_error("there is no NSS database %s to take the key of template %s from", ns->db,
				  it->template_cn);
		return -1;
	}
	c = nss_cert_of(it->cert);
	if (c != NULL)
		have = PK11_FindCertFromDERCertItem(ns->slot, &c->derCert, NULL);
	if (have != NULL)
		k = PK11_FindKeyByAnyCert(have, NULL);
	if (k == NULL) {
		log_error("the NSS database %s holds no private key for the certificate of template %s",
			  ns->db, it->template_cn);
		goto out;
	}
	bio = export_key_pem(ns, k);
	if (bio == NULL || (*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		log_error("cannot take the key of template %s out of %s", it->template_cn, ns->db);
		goto out;
	}
	ret = 0;
out:
	BIO_free(bio);
	if (k != NULL)
		SECKEY_DestroyPrivateKey(k);
	if (have != NULL)
		CERT_DestroyCertificate(have);
	if (c != NULL)
		CERT_DestroyCertificate(c);
	return ret;
}

static void nss_close(struct store_backend *b)
{
	struct nss_store *ns = (struct nss_store *)b;

	if (ns == NULL)
		return;
	nss_shutdown(ns);
	free(ns->db);
	free(ns->dir);
	free(ns->archive);
	free(ns->meta_dir);
	free(ns);
}

static const struct store_backend_ops nss_ops = {
	.name = "nss",
	.list = nss_list,
	.install = nss_install,
	.retire = nss_retire,
	.load_key = nss_load_key,
	.close = nss_close,
};

int store_nss_open(const struct config *cfg, enum adenroll_mode mode, struct store_backend **out)
{
	struct nss_store *ns;
	const char *dir;

	*out = NULL;
	if (cfg->nss_db == NULL || cfg->archive_dir == NULL) {
		log_error("nss_db and archive_dir must be set for the NSS store");
		return -1;
	}
	dir = strip_prefix(cfg->nss_db);
	if (dir[0] != '/') {
		log_error("nss_db must name a directory by absolute path, e.g. sql:/var/lib/adenroll/nssdb; got '%s'",
			  cfg->nss_db);
		return -1;
	}
	ns = xcalloc(1, sizeof(*ns));
	ns->base.ops = &nss_ops;
	/* A bare directory means the sql: format (NSS's default since 3.35). */
	ns->db = dir == cfg->nss_db ? xasprintf("sql:%s", dir) : xstrdup(cfg->nss_db);
	ns->cfg = cfg;
	ns->dir = xstrdup(dir);
	ns->archive = fs_path_join(cfg->archive_dir, "nss");
	ns->meta_dir = cfg->state_dir != NULL ? fs_path_join(cfg->state_dir, "nss") : NULL;
	ns->retention_days = cfg->archive_retention_days;
	/* private in both modes: the database holds keys readable by whoever reads key4.db */
	ns->dir_mode = 0700;
	ns->user_mode = mode == ADENROLL_MODE_USER;
	*out = &ns->base;
	return 0;
}
