/* SHA-256 (FIPS 180-4) of non-secret data: certificate fingerprints and the
 * names of cache and state files.
 *
 * Why not OpenSSL: a run where nothing changed parses no certificate, and
 * its only OpenSSL calls would be these digests: they would load OpenSSL
 * (openssl_loader.h), and OpenSSL 3 sets up its configuration and providers
 * on the first one, which costs more memory (over 2 MiB resident) than the
 * rest of such a run's own work.  Keys,
 * signatures and anything secret stay with OpenSSL.  tests/unit/test_sha256
 * checks this against the FIPS 180-4 examples and against OpenSSL. */
#ifndef ADENROLL_SHA256_H
#define ADENROLL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;         /* hashed so far */
	unsigned char block[64];
	size_t used;            /* bytes waiting in block */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);

/* One call: the digest of data. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);

/* The lowercase hex form of digest's first n bytes into out (2n + 1 bytes). */
void sha256_hex(const unsigned char digest[SHA256_LEN], size_t n, char *out);

#endif
