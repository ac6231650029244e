/*
 * consent_test.c - the consent policy document and consent requests of
 * hearth-consent (ae/lib/consent_doc.c): tables of good and bad
 * documents, the decision rules (a refusal is final), round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ae/lib/consent.h"

static const char GOOD[] = "{\"v\":1,\"critical\":\"ask\",\"auto_after_hours\":0,\"other\":\"auto\","
                           "\"decisions\":{\"abc\":\"granted\",\"d-e_f=\":\"refused\"}}";

static void test_policy_good(void **state)
{
	(void)state;
	char err[CS_ERR_MAX];
	struct cs_policy p;
	assert_int_equal(cs_policy_parse(GOOD, &p, err, sizeof(err)), 0);
	assert_int_equal(p.critical, CS_ASK);
	assert_int_equal(p.other, CS_AUTO);
	assert_int_equal(p.auto_after_hours, 0);
	assert_string_equal(cs_decision(&p, "abc"), "granted");
	assert_string_equal(cs_decision(&p, "d-e_f="), "refused");
	assert_string_equal(cs_decision(&p, "zzz"), "none");
	/* round trip */
	char *s = cs_policy_dump(&p);
	assert_non_null(s);
	struct cs_policy q;
	assert_int_equal(cs_policy_parse(s, &q, err, sizeof(err)), 0);
	char *t = cs_policy_dump(&q);
	assert_string_equal(s, t);
	free(s);
	free(t);
	cs_policy_clear(&p);
	cs_policy_clear(&q);
	cs_policy_clear(&q); /* twice is fine */
}

static void test_policy_bad(void **state)
{
	(void)state;
	static const struct {
		const char *doc, *why;
	} cases[] = {
		{ "", "not JSON" },
		{ "[1]", "not a JSON object" },
		{ "{\"v\":2,\"critical\":\"auto\",\"auto_after_hours\":1,\"other\":\"ask\",\"decisions\":{}}", "\"v\" is not 1" },
		{ "{\"v\":1,\"critical\":\"maybe\",\"auto_after_hours\":1,\"other\":\"ask\",\"decisions\":{}}", "\"critical\"" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":1,\"decisions\":{}}", "\"other\"" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":-1,\"other\":\"ask\",\"decisions\":{}}", "auto_after_hours" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":8761,\"other\":\"ask\",\"decisions\":{}}", "auto_after_hours" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":\"1\",\"other\":\"ask\",\"decisions\":{}}", "auto_after_hours" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":1,\"other\":\"ask\",\"decisions\":[]}", "\"decisions\"" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":1,\"other\":\"ask\",\"decisions\":{\"a b\":\"granted\"}}",
		  "manifest hash" },
		{ "{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":1,\"other\":\"ask\",\"decisions\":{\"ab\":\"maybe\"}}",
		  "\"granted\" or \"refused\"" },
		{ "{\"v\":1,\"v\":1}", "not JSON" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[CS_ERR_MAX] = "";
		struct cs_policy p;
		if (cs_policy_parse(cases[i].doc, &p, err, sizeof(err)) != -1 || !strstr(err, cases[i].why))
			fail_msg("case %zu (%s): got '%s', want '%s'", i, cases[i].doc, err, cases[i].why);
		assert_null(p.decisions);
	}
	char err[CS_ERR_MAX];
	struct cs_policy p;
	assert_int_equal(cs_policy_parse(NULL, &p, err, sizeof(err)), -1);
	/* larger than the bound */
	size_t n = CS_DOC_MAX + 16;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	big[n] = '\0';
	assert_int_equal(cs_policy_parse(big, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "256 KiB"));
	free(big);
}

static void test_decide(void **state)
{
	(void)state;
	char err[CS_ERR_MAX];
	struct cs_policy p;
	assert_int_equal(cs_policy_default(&p), 0);
	assert_int_equal(p.critical, CS_AUTO);
	assert_int_equal(p.auto_after_hours, 24);
	assert_int_equal(p.other, CS_ASK);
	assert_int_equal(cs_decide(&p, "h1", true, err, sizeof(err)), 0);
	assert_int_equal(cs_decide(&p, "h1", true, err, sizeof(err)), 1);
	assert_int_equal(cs_decide(&p, "h1", false, err, sizeof(err)), 0);
	assert_string_equal(cs_decision(&p, "h1"), "refused");
	assert_int_equal(cs_decide(&p, "h1", false, err, sizeof(err)), 1);
	assert_int_equal(cs_decide(&p, "h1", true, err, sizeof(err)), -1);
	assert_string_equal(err, "refusal is final for that manifest");
	assert_string_equal(cs_decision(&p, "h1"), "refused");
	cs_policy_clear(&p);
}

static void test_hash(void **state)
{
	(void)state;
	assert_true(cs_hash_ok("Qx3bX0aTSuC8qgfo1pN3nB3yVg3GQq6xV3K6pUqg-_="));
	assert_false(cs_hash_ok(""));
	assert_false(cs_hash_ok(NULL));
	assert_false(cs_hash_ok("a b"));
	assert_false(cs_hash_ok("a\"b"));
	char longer[CS_HASH_MAX + 2];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_false(cs_hash_ok(longer));
	longer[CS_HASH_MAX] = '\0';
	assert_true(cs_hash_ok(longer));
}

#define REQ(extra)                                                                                       \
	"{\"v\":1,\"kind\":\"consent\",\"campaign\":\"spring\",\"device\":\"urn:dev:Acme:lamp:2\","         \
	"\"manufacturer\":\"Acme\",\"model\":\"lamp\",\"from\":\"1.0\",\"to\":\"2.0\",\"manifest\":\"abc\"," \
	"\"criticality\":\"high\",\"advisories\":[\"HSA-1\"],\"asked\":5" extra "}"

static void test_request(void **state)
{
	(void)state;
	char err[CS_ERR_MAX] = "";
	json_t *q = cs_request_parse(REQ(",\"auto_at\":9,\"extra\":true"), err, sizeof(err));
	assert_non_null(q);
	assert_string_equal(json_string_value(json_object_get(q, "device")), "urn:dev:Acme:lamp:2");
	assert_int_equal(json_integer_value(json_object_get(q, "auto_at")), 9);
	assert_null(json_object_get(q, "extra")); /* only the checked members */
	json_decref(q);
	q = cs_request_parse(REQ(""), err, sizeof(err));
	assert_non_null(q);
	assert_true(json_is_null(json_object_get(q, "auto_at")));
	json_decref(q);
	static const struct {
		const char *doc, *why;
	} bad[] = {
		{ "nope", "not JSON" },
		{ "{\"v\":1,\"kind\":\"bogus\"}", "\"kind\"" },
		{ "{\"v\":1,\"kind\":\"inform\",\"criticality\":\"extreme\"}", "\"criticality\"" },
		{ "{\"v\":1,\"kind\":\"inform\",\"criticality\":\"low\",\"manifest\":\"a b\"}", "\"manifest\"" },
		{ "{\"v\":1,\"kind\":\"inform\",\"criticality\":\"low\",\"manifest\":\"ab\"}", "\"device\"" },
		{ REQ(",\"auto_at\":\"soon\""), "\"auto_at\"" },
		{ "{\"v\":1,\"kind\":\"inform\",\"criticality\":\"low\",\"manifest\":\"ab\",\"device\":\"d\",\"asked\":-1}",
		  "\"asked\"" },
		{ "{\"v\":1,\"kind\":\"inform\",\"criticality\":\"low\",\"manifest\":\"ab\",\"device\":\"d\",\"advisories\":[1]}",
		  "advisory id" },
		{ "{\"v\":1,\"kind\":\"inform\",\"criticality\":\"low\",\"manifest\":\"ab\",\"device\":\"d\",\"model\":7}",
		  "\"model\"" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		q = cs_request_parse(bad[i].doc, err, sizeof(err));
		if (q || !strstr(err, bad[i].why))
			fail_msg("case %zu (%s): got '%s', want '%s'", i, bad[i].doc, err, bad[i].why);
	}
	assert_null(cs_request_parse(NULL, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_good), cmocka_unit_test(test_policy_bad), cmocka_unit_test(test_decide),
		cmocka_unit_test(test_hash),        cmocka_unit_test(test_request),
	};
	return cmocka_run_group_tests_name("consent", tests, NULL, NULL);
}
