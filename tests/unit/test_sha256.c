/* sha256.c: the FIPS 180-4 examples, and the same digest as OpenSSL's for
 * every length across the block and padding boundaries, fed whole and in
 * pieces. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sha256.h"

static void hex_of(const void *data, size_t len, char out[65])
{
	unsigned char d[SHA256_LEN];

	sha256(data, len, d);
	sha256_hex(d, SHA256_LEN, out);
}

static void test_fips_examples(void **state)
{
	char out[65];
	char *million = malloc(1000000);

	(void)state;
	hex_of("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	hex_of("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_non_null(million);
	memset(million, 'a', 1000000);
	hex_of(million, 1000000, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

static void test_same_as_openssl(void **state)
{
	unsigned char buf[300], ours[SHA256_LEN], theirs[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	for (len = 0; len <= sizeof(buf); len++) {
		struct sha256 c;
		size_t cut = len / 3;

		assert_int_equal(EVP_Digest(buf, len, theirs, &n, EVP_sha256(), NULL), 1);
		assert_int_equal(n, SHA256_LEN);
		sha256(buf, len, ours);
		assert_memory_equal(ours, theirs, SHA256_LEN);
		sha256_init(&c);
		sha256_update(&c, buf, cut);
		sha256_update(&c, buf + cut, 0);
		sha256_update(&c, buf + cut, len - cut);
		sha256_final(&c, ours);
		assert_memory_equal(ours, theirs, SHA256_LEN);
	}
}

static void test_hex_prefix(void **state)
{
	unsigned char d[SHA256_LEN];
	char out[65];

	(void)state;
	sha256("abc", 3, d);
	sha256_hex(d, 16, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_examples),
		cmocka_unit_test(test_same_as_openssl),
		cmocka_unit_test(test_hex_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
