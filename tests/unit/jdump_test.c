/*
 * jdump_test.c - jdump() against json_dumps(JSON_COMPACT | JSON_ENCODE_ANY):
 * the same bytes for every value, or NULL from both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cse/jdump.h"

static void same(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len = 0;
	char *got = jdump(v, &len);

	if (!want || !got) {
		if (want || got)
			fail_msg("jdump %s, json_dumps %s", got ? got : "NULL", want ? want : "NULL");
		return;
	}
	if (strcmp(want, got) != 0)
		fail_msg("jdump  %s\njansson %s", got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
}

static void same_text(const char *json)
{
	json_error_t e;
	json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v)
		fail_msg("test input %s: %s", json, e.text);
	same(v);
	json_decref(v);
}

static void test_documents(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"{}", "[]", "null", "true", "false", "0", "-1", "\"\"",
		"9223372036854775807", "-9223372036854775808",
		"{\"m2m:cin\":{\"rn\":\"cin_1\",\"ty\":4,\"con\":\"v1\",\"cnf\":\"text/plain:0\",\"st\":0,\"cs\":2}}",
		"{\"a\":[1,[2,[3,{}]],{\"b\":null}],\"c\":{\"d\":{\"e\":[]}}}",
		"\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\"",
		"\"controls \\u0001\\u001f\\u000b\\u007f\"",
		"\"nul \\u0000 inside\"",
		"{\"key\":1,\"\\u00e9t\\u00e9\":\"\\u20ac \\ud83d\\ude00\"}",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"",
		"[1.5,-0.0,1e300,0.1,3.0,-2.5e-7,123456789.125]",
		"{\"z\":1,\"a\":2,\"m\":3}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		same_text(docs[i]);
}

/* Strings jansson never validated (made with *_nocheck): invalid UTF-8
   must make both fail, valid sequences must pass through. */
static void test_unchecked_strings(void **state)
{
	(void)state;
	static const char *const bytes[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xef\xbf\xbf", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "ok\xe2\x82", "\xc2\xa0", "\xe0\xa0\x80",
		"\xf0\x90\x80\x80", "\xee\x80\x80",
	};
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		json_t *s = json_stringn_nocheck(bytes[i], strlen(bytes[i]));
		same(s);
		/* as a key: jansson writes broken text (it ignores the failure of
		   a key), jdump() refuses */
		json_t *o = json_object();
		json_object_setn_new_nocheck(o, bytes[i], strlen(bytes[i]), json_integer(1));
		json_t *valid = json_stringn(bytes[i], strlen(bytes[i]));
		if (valid) {
			same(o);
		} else {
			char *got = jdump(o, NULL);
			if (got)
				fail_msg("key %zu: jdump wrote %s", i, got);
		}
		json_decref(valid);
		json_decref(o);
		json_decref(s);
	}
}

/* Random documents, strings of arbitrary bytes included. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void rnd_bytes(char *buf, size_t *len)
{
	static const char pool[] = "a\"\\/\b\f\n\r\t\x01\x1f\x7f";
	*len = rnd(12);
	for (size_t i = 0; i < *len; i++) {
		switch (rnd(4)) {
		case 0: buf[i] = pool[rnd(sizeof(pool) - 1)]; break;
		case 1: buf[i] = (char)(0x80 + rnd(0x80)); break;
		case 2: buf[i] = (char)rnd(0x20); break;
		default: buf[i] = (char)(' ' + rnd(0x5f));
		}
	}
}

static json_t *rnd_value(int depth)
{
	char buf[16];
	size_t len;

	switch (depth > 4 ? rnd(5) : rnd(7)) {
	case 0: {
		static const json_int_t ints[] = { 0, 1, -1, 10, 99, -100, INT64_MAX, INT64_MIN, 1234567890123LL };
		return json_integer(rnd(2) ? ints[rnd(9)] : (json_int_t)rnd(1u << 31) - (1 << 30));
	}
	case 1: {
		static const double reals[] = { 0.5, -0.0, 1e300, 0.1, 2.0, -3.25e-9, 1.0 / 3.0 };
		return json_real(reals[rnd(7)]);
	}
	case 2: rnd_bytes(buf, &len); return json_stringn_nocheck(buf, len);
	case 3: return rnd(3) == 0 ? json_null() : json_boolean(rnd(2));
	case 4: {
		const char *ascii[] = { "rn", "ty", "con", "lbl", "" };
		return json_string(ascii[rnd(5)]);
	}
	case 5: {
		json_t *a = json_array();
		for (uint32_t i = rnd(5); i > 0; i--)
			json_array_append_new(a, rnd_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (uint32_t i = rnd(6); i > 0; i--) {
			json_t *valid;
			if (rnd(3) == 0) { /* a key of any valid UTF-8, NUL included */
				rnd_bytes(buf, &len);
				if ((valid = json_stringn(buf, len)) != NULL)
					json_object_setn_new_nocheck(o, buf, len, rnd_value(depth + 1));
				json_decref(valid);
			} else {
				char k[8];
				snprintf(k, sizeof(k), "k%u", rnd(10));
				json_object_set_new(o, k, rnd_value(depth + 1));
			}
		}
		return o;
	}
	}
}

static void test_random(void **state)
{
	(void)state;
	int both_null = 0;
	for (int i = 0; i < 20000; i++) {
		json_t *v = rnd_value(0);
		char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		both_null += !want;
		free(want);
		same(v);
		json_decref(v);
	}
	/* both outcomes were exercised: some documents held invalid UTF-8 */
	assert_true(both_null > 100);
	assert_true(both_null < 19000);
}

/* Deeper than the bound: NULL, not a stack overflow; at the bound: text. */
static void test_depth(void **state)
{
	(void)state;
	json_t *root = json_array(), *cur = root;
	for (int i = 0; i < JDUMP_MAX_DEPTH; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	char *s = jdump(root, NULL);
	assert_non_null(s);
	assert_int_equal(strlen(s), 2 * (JDUMP_MAX_DEPTH + 1));
	free(s);
	json_array_append_new(cur, json_array());
	assert_null(jdump(root, NULL));
	json_decref(root);
	assert_null(jdump(NULL, NULL));
}

/* A long string grows the buffer many times over. */
static void test_long(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)("ab\"\n\xc3\xa9"[i % 6]);
	big[n] = 0;
	json_t *o = json_pack("{s:s%,s:[s%]}", "con", big, n, "x", big, n);
	assert_non_null(o);
	same(o);
	json_decref(o);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_unchecked_strings),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
