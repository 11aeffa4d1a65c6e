/* RFC 2782 SRV target ordering with an injected random source, and the
 * RFC 4515 filter escaping and JSON escaping used by the discovery front end. */
#include "adenroll-build.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"
#include "json.h"
#include "ldap_conn.h"

/* A scripted random source: returns start, start+1, ... and counts calls. */
struct counter {
	unsigned next;
	unsigned calls;
};

static unsigned counter_rnd(void *ctx)
{
	struct counter *c = ctx;
	c->calls++;
	return c->next++;
}

static unsigned constant_rnd(void *ctx)
{
	return *(unsigned *)ctx;
}

/* xorshift32: a fixed pseudo-random sequence for the distribution test. */
static unsigned xorshift_rnd(void *ctx)
{
	uint32_t *s = ctx;
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

#define T(h, p, w) { (char *)(h), 389, (p), (w) }

static void test_priority_ascending(void **state)
{
	(void)state;
	struct srv_target v[] = { T("c", 30, 0), T("a", 10, 5), T("b", 20, 1), T("a2", 10, 5), T("d", 65535, 0) };
	struct counter c = { 0, 0 };
	dns_srv_order(v, 5, counter_rnd, &c);
	assert_int_equal(v[0].priority, 10);
	assert_int_equal(v[1].priority, 10);
	assert_string_equal(v[2].host, "b");
	assert_string_equal(v[3].host, "c");
	assert_string_equal(v[4].host, "d");
	/* The two priority-10 targets are both kept, in some order. */
	assert_true((strcmp(v[0].host, "a") == 0 && strcmp(v[1].host, "a2") == 0) ||
		    (strcmp(v[0].host, "a2") == 0 && strcmp(v[1].host, "a") == 0));
	/* Only the group with two members needs a random choice. */
	assert_int_equal(c.calls, 1);
}

static void test_single_target(void **state)
{
	(void)state;
	struct srv_target v[] = { T("only", 0, 0) };
	struct counter c = { 0, 0 };
	dns_srv_order(v, 1, counter_rnd, &c);
	assert_string_equal(v[0].host, "only");
	assert_int_equal(c.calls, 0);
	dns_srv_order(NULL, 0, counter_rnd, &c);
	assert_int_equal(c.calls, 0);
}

/* Every pick value 0..sum is tried once: the first position is then taken by
 * each target exactly (weight) times, plus once for pick 0 by the first. */
static void test_weight_distribution_exact(void **state)
{
	(void)state;
	unsigned first[3] = { 0, 0, 0 };
	for (unsigned k = 0; k <= 100; k++) {
		struct srv_target v[] = { T("w60", 0, 60), T("w30", 0, 30), T("w10", 0, 10) };
		struct counter c = { k, 0 };
		dns_srv_order(v, 3, counter_rnd, &c);
		if (strcmp(v[0].host, "w60") == 0)
			first[0]++;
		else if (strcmp(v[0].host, "w30") == 0)
			first[1]++;
		else
			first[2]++;
	}
	assert_int_equal(first[0], 61);
	assert_int_equal(first[1], 30);
	assert_int_equal(first[2], 10);
}

static void test_weight_distribution_random(void **state)
{
	(void)state;
	uint32_t seed = 2463534242u;
	unsigned first_heavy = 0, trials = 20000;
	for (unsigned i = 0; i < trials; i++) {
		struct srv_target v[] = { T("light", 0, 1), T("heavy", 0, 3) };
		dns_srv_order(v, 2, xorshift_rnd, &seed);
		if (strcmp(v[0].host, "heavy") == 0)
			first_heavy++;
	}
	/* RFC 2782 picks uniformly in 0..sum (5 values); running sums light=1,
	 * heavy=4, so picks 0-1 choose light and 2-4 heavy: 60 %. */
	assert_in_range(first_heavy, trials * 55 / 100, trials * 65 / 100);
}

static void test_zero_weights(void **state)
{
	(void)state;
	/* All zero: the order is kept (pick is always 0). */
	struct srv_target a[] = { T("z1", 5, 0), T("z2", 5, 0), T("z3", 5, 0) };
	unsigned r = 12345;
	dns_srv_order(a, 3, constant_rnd, &r);
	assert_string_equal(a[0].host, "z1");
	assert_string_equal(a[1].host, "z2");
	assert_string_equal(a[2].host, "z3");

	/* A zero-weight target goes first only when the pick is 0 ... */
	struct srv_target b[] = { T("heavy", 5, 10), T("zero", 5, 0) };
	r = 0;
	dns_srv_order(b, 2, constant_rnd, &r);
	assert_string_equal(b[0].host, "zero");
	assert_string_equal(b[1].host, "heavy");
	/* ... and last for every other pick. */
	for (r = 1; r <= 10; r++) {
		struct srv_target c[] = { T("zero", 5, 0), T("heavy", 5, 10) };
		dns_srv_order(c, 2, constant_rnd, &r);
		assert_string_equal(c[0].host, "heavy");
		assert_string_equal(c[1].host, "zero");
	}
}

static void test_filter_escape(void **state)
{
	(void)state;
	char *e = ldap_filter_escape("CLIENT$");
	assert_string_equal(e, "CLIENT$");
	free(e);
	e = ldap_filter_escape("a*(b)\\c");
	assert_string_equal(e, "a\\2a\\28b\\29\\5cc");
	free(e);
	e = ldap_filter_escape("x\x01y");
	assert_string_equal(e, "x\\01y");
	free(e);
}

static void test_json_escape(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	json_write_escaped(f, "q\"b\\n\n\x01 \xc3\xa9 \xff end");
	fclose(f);
	assert_string_equal(buf, "\"q\\\"b\\\\n\\n\\u0001 \xc3\xa9 \\ufffd end\"");
	free(buf);

	f = open_memstream(&buf, &len);
	struct json_writer w;
	json_init(&w, f);
	json_begin_array(&w, NULL);
	json_begin_object(&w, NULL);
	json_string(&w, "cn", "A");
	json_null(&w, "oid");
	json_begin_array(&w, "cas");
	json_string(&w, NULL, "CA1");
	json_string(&w, NULL, "CA2");
	json_end_array(&w);
	json_int(&w, "v", -5);
	json_bool(&w, "ok", true);
	json_end_object(&w);
	json_begin_object(&w, NULL);
	json_end_object(&w);
	json_end_array(&w);
	json_finish(&w);
	fclose(f);
	assert_string_equal(buf, "[{\"cn\":\"A\",\"oid\":null,\"cas\":[\"CA1\",\"CA2\"],\"v\":-5,\"ok\":true},{}]\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_ascending),
		cmocka_unit_test(test_single_target),
		cmocka_unit_test(test_weight_distribution_exact),
		cmocka_unit_test(test_weight_distribution_random),
		cmocka_unit_test(test_zero_weights),
		cmocka_unit_test(test_filter_escape),
		cmocka_unit_test(test_json_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
