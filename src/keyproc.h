/* The key process: the one place private keys exist.  It is a fresh image
 * of this binary (posix_spawn of /proc/self/exe, KEYPROC_CHILD_ARG), started
 * when the run first needs a key, so it shares no memory with the process
 * that has read the network, and a run that needs no key (a no-op pulse)
 * starts none.  It is handed the run's mode and the configuration texts the
 * run parsed (config.h), and talks only over its socketpair.  It generates or loads keys, builds and
 * signs the requests (the PKCS#10, and the CMS renewal signature with the
 * held key), writes keys into the store or the pending state, and checks
 * that an issued certificate carries its key before installing it.  The
 * process that talks to the network asks over a socketpair and receives
 * only requests, public-key hashes, paths and messages (docs/HACKING.md,
 * "Process split").
 *
 * Wire format (both ways): a frame is a 4-byte big-endian length (1 ..
 * KEYPROC_MAX_FRAME) and that many bytes.  A request's body is an op byte
 * and its fields; an answer's is a status byte (0 ok, 1 error) and its
 * fields (an error: one field, the message).  A field is a 4-byte
 * big-endian length and its bytes: text holds no NUL (empty = absent),
 * numbers are 8 bytes big-endian.  Any other shape is answered with an
 * error and changes nothing. */
#ifndef ADENROLL_KEYPROC_H
#define ADENROLL_KEYPROC_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "adenroll.h"
#include "config.h"
#include "directory.h"
#include "state.h"
#include "template.h"

#define KEYPROC_MAX_FRAME (4u * 1024u * 1024u)   /* a certificate with its chain fits many times */
#define KEYPROC_MAX_TEXT (64u * 1024u)           /* one text field */
#define KEYPROC_MAX_CHAIN 32                     /* certificates in an installed chain */
#define KEYPROC_HASH_HEX 65                      /* SHA-256 in hex, with the NUL */

/* Makes this process the network side of a run (cfg and mode are the
 * run's; cfg must outlive the run): keyproc_assert_key_side aborts in it
 * from now on, and the key process is started by the first request below.
 * Call before anything reads the network.  Again while armed or running:
 * nothing.  After the key process died or could not start in this run
 * (until keyproc_stop) it is refused: a key process that crashed may have
 * been made to.  0, or -1 logged. */
int keyproc_start(const struct config *cfg, enum adenroll_mode mode);
/* Armed by keyproc_start, or running. */
bool keyproc_running(void);
/* Ends the key process (it forgets its key and exits) and waits for it.
 * TEST ONLY: with ADENROLL_TEST_HOLD_AT_EXIT=<dir> set, both processes
 * write their pid to <dir>/network.pid and <dir>/key.pid (the key process
 * still holding its last key; network.pid last, and key.pid only when the
 * run started a key process) and wait until <dir>/go exists (at most
 * 120 s), so a test can read their memory (tests/integration/t_keyproc_*). */
void keyproc_stop(void);

/* A new request for template t.  held_cert: the certificate being renewed
 * (the key process finds it in the store and reads its key), or NULL.
 * sign_with_held: wrap the request in CMS SignedData signed by the held key
 * (MS-WCCE 3.1.1.4.3.2.1); keep_key: the request keeps the held key.  When
 * the held key cannot be read or cannot sign (renewal_signer_problem), the
 * request is a new one with a fresh key and note says why. */
struct keyproc_request {
	const struct template *t;
	const struct account *acct;
	const char *host_fqdn;
	X509 *held_cert;
	bool sign_with_held;
	bool keep_key;
};
struct keyproc_made {
	char *request;                       /* PKCS#10 PEM, or base64 CMS when signed_by_held; caller frees */
	char pubkey_sha256[KEYPROC_HASH_HEX];
	bool signed_by_held, kept_key;
	char note[512];                      /* why the held key was not used, "" */
};
/* The key process holds the new key until the next request; nothing is
 * written.  0, or -1 with the reason in err. */
int keyproc_make_request(const struct keyproc_request *rq, struct keyproc_made *out, char *err,
			 size_t errlen);
/* The new keys keyproc_make_request got from the key process in this
 * process and the wall time those requests took (generation and signing
 * included): pulse's cost line, since no key is made in this process. */
void keyproc_get_stats(unsigned long *keys, double *seconds);

/* Records pr in the pending state with the held key and its request
 * (state_pending_save).  0, or -1 with the reason in err. */
int keyproc_save_pending(const struct pending_request *pr, char *err, size_t errlen);
/* Reads the key of the request pending for template_cn (state_pending_load)
 * and holds it for keyproc_install.  0 and its public-key hash, or -1. */
int keyproc_load_pending(const char *template_cn, char pubkey_sha256[KEYPROC_HASH_HEX], char *err,
			 size_t errlen);
/* store_install of cert (+chain) with the held key, after checking the
 * certificate carries it.  The key process is told trust_policy_dc() (the
 * NSS store decides root trust by it).  *archived_to (may be NULL): see store_install.
 * 0, or -1 with the reason in err. */
int keyproc_install(const struct template *t, X509 *cert, STACK_OF(X509) *chain, const char *ca_name,
		    long request_id, char **archived_to, char *err, size_t errlen);

/* Hex SHA-256 of cert's SubjectPublicKeyInfo (DER), as the key process
 * hashes its key.  0, or -1. */
int keyproc_cert_pubkey_sha256(X509 *cert, char out[KEYPROC_HASH_HEX]);

/* The argument main() hands to keyproc_child_main: a process started with
 * exactly argv[1] == KEYPROC_CHILD_ARG is a key process. */
#define KEYPROC_CHILD_ARG "--key-process"
/* The key process's main: it checks that its socket (descriptor 3) comes
 * from its parent, reads the hello (mode, log level, configuration texts),
 * serves requests until the end of stream, forgets its key.  The exit
 * status. */
int keyproc_child_main(void);
/* TEST ONLY: the binary the key process is started from (NULL: this
 * process's own, /proc/self/exe); unit tests are not adenroll. */
void keyproc_set_program(const char *path);

/* Called where a private key is created, read or written: aborts (after a
 * log line naming what) in the network side of a run.  A programming error,
 * never an input error. */
void keyproc_assert_key_side(const char *what);

/* TEST ONLY (ADENROLL_TEST_CRASH_AT, store_pem.c, store_nss.c): kills the
 * run at a store step as a power loss would: the network side and the key
 * process, with SIGKILL. */
void keyproc_crash_run(void);

/* ---- the wire, exposed for tests/unit/test_keyproc ---- */
/* One frame from fd: 1 and *buf (caller frees), 0 at a clean end of
 * stream, -1 on a short read or a length outside 1 .. KEYPROC_MAX_FRAME. */
int keyproc_frame_read(int fd, unsigned char **buf, size_t *len);
int keyproc_frame_write(int fd, const unsigned char *buf, size_t len);
/* What the key process does with one request body (its dispatcher, run in
 * the calling process): *answer is always set (caller frees).  cfg and mode
 * as for keyproc_start. */
void keyproc_serve(const struct config *cfg, enum adenroll_mode mode, const unsigned char *msg, size_t len,
		   unsigned char **answer, size_t *answer_len);
/* Frees the key keyproc_serve holds (the child does this at exit). */
void keyproc_serve_reset(void);

#endif
