/*
 * 04_discovery_test.c - discovery (Retrieve with fu=1): result forms
 * (uril structured / unstructured, rrl), every basic filter condition,
 * lim / ofst / lvl, fo, access control of results, bad filter values.
 * Digest sections 2.1 (defaults), 3 (fu, fo, drt), 8.6, 11.1 (query form).
 *
 * Tree (built once, by AE A):
 *   A/c1 lbl room:1 kind:temp   cin a0..a5: con "vN" (2 bytes), text/plain,
 *                               et now+1 day, lbl "even" on a0 a2 a4
 *   (1.1 s pause, timestamp T taken, 1.1 s pause)
 *   A/c2 lbl room:2             cin b0..b3: con {"val":10N} (11 bytes),
 *                               application/json, et now+3 days, lbl "even"
 *                               on b0 b2
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()

static struct {
	bool built;
	const char *ae;
	const char *c1, *c2;    /* rn */
	const char *ris[10];
	char ribuf[10][256];
	int nri;
	char t[32];             /* between the two batches */
	char et2d[32];
} T;

static const char *at(const char *rest)
{
	return rest ? hfmt("%s/%s/%s", CSE, T.ae, rest) : hfmt("%s/%s", CSE, T.ae);
}

static const char *mk_cin(const char *parent, const char *rn, const char *con, const char *cnf,
                          const char *et, bool even)
{
	json_t *cin = json_pack("{s:s,s:s,s:s,s:s}", "rn", rn, "con", con, "cnf", cnf, "et", et);
	if (even)
		json_object_set_new(cin, "lbl", json_pack("[s]", "even"));
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, parent, T.ae, 4, json_pack("{s:o}", "m2m:cin", cin), NULL);
	EXPECT_RSC(&r, 2001);
	const char *ri = harness_jstr(harness_res(&r, "m2m:cin"), "ri");
	EXPECT_TRUE(ri != NULL, r.body);
	char *dst = T.ribuf[T.nri++ % 10];
	snprintf(dst, sizeof(T.ribuf[0]), "%s", ri);
	m2m_result_clear(&r);
	return dst;
}

static void build_tree(void)
{
	if (T.built)
		return;
	T.ae = harness_register("disc");
	T.c1 = harness_name("c1x");
	T.c2 = harness_name("c2x");
	harness_create_cnt(at(NULL), T.ae, T.c1, json_pack("{s:[s,s]}", "lbl", "room:1", "kind:temp"));
	harness_create_cnt(at(NULL), T.ae, T.c2, json_pack("{s:[s]}", "lbl", "room:2"));
	char et1[32], et3[32];
	snprintf(et1, sizeof(et1), "%s", harness_ts(86400));
	snprintf(et3, sizeof(et3), "%s", harness_ts(3 * 86400));
	snprintf(T.et2d, sizeof(T.et2d), "%s", harness_ts(2 * 86400));
	for (int i = 0; i < 6; i++)
		T.ris[i] = mk_cin(at(T.c1), hfmt("a%d", i), hfmt("v%d", i), "text/plain:0", et1, i % 2 == 0);
	harness_sleep_ms(1100);
	snprintf(T.t, sizeof(T.t), "%s", harness_ts(0));
	harness_sleep_ms(1100);
	for (int i = 0; i < 4; i++)
		T.ris[6 + i] = mk_cin(at(T.c2), hfmt("b%d", i), hfmt("{\"val\":10%d}", i), "application/json:0",
		                      et3, i % 2 == 0);
	T.built = true;
}

/* Discovery; returns the uril array (new reference) after checking 2000. */
static json_t *discover(const char *to, const char *fr, const char *query)
{
	m2m_result r;
	harness_case("discovery %s?%s as %s", to, query, fr);
	harness_req(&r, M2M_OP_RETRIEVE, to, fr, -1, NULL, query);
	EXPECT_RSC(&r, 2000);
	json_t *u = harness_res(&r, "m2m:uril");
	if (!json_is_array(u)) {
		print_error("discovery result has no m2m:uril array\n");
		harness_dump(&r);
		fail();
	}
	json_incref(u);
	m2m_result_clear(&r);
	return u;
}

static void expect_count(const char *query, size_t want, const char *to)
{
	json_t *u = discover(to ? to : at(NULL), T.ae, query);
	if (json_array_size(u) != want) {
		print_error("discovery ?%s: want %zu results, got %zu\n", query, want, json_array_size(u));
		harness_check_true(false, u, "result count", __FILE__, __LINE__);
		json_decref(u);
		fail();
	}
	json_decref(u);
}

static void test_structured_result(void **state)
{
	(void)state;
	build_tree();
	json_t *u = discover(at(NULL), T.ae, "fu=1&ty=4");
	EXPECT_TRUE(json_array_size(u) == 10, u);
	const char *prefix = hfmt("%s/%s/", CSE, T.ae);
	size_t i;
	json_t *v;
	json_array_foreach(u, i, v) {
		const char *s = json_string_value(v);
		EXPECT_TRUE(s && strncmp(s, prefix, strlen(prefix)) == 0, u); /* CSE-relative structured */
	}
	EXPECT_TRUE(harness_list_has_str(u, hfmt("%s/%s/%s/a0", CSE, T.ae, T.c1)), u);
	EXPECT_TRUE(harness_list_has_str(u, hfmt("%s/%s/%s/b3", CSE, T.ae, T.c2)), u);
	json_decref(u);
	harness_case("rcn=11 (R4 discovery default) gives the same list");
	u = discover(at(NULL), T.ae, "fu=1&ty=4&rcn=11");
	EXPECT_TRUE(json_array_size(u) == 10, u);
	json_decref(u);
}

static void test_unstructured_result(void **state)
{
	(void)state;
	build_tree();
	json_t *u = discover(at(NULL), T.ae, "fu=1&ty=4&drt=2");
	EXPECT_TRUE(json_array_size(u) == 10, u);
	for (int k = 0; k < 10; k++) {
		bool found = false;
		size_t i;
		json_t *v;
		json_array_foreach(u, i, v) if (harness_id_matches(json_string_value(v), T.ris[k], NULL)) found = true;
		harness_case("drt=2 result contains the ri %s", T.ris[k]);
		EXPECT_TRUE(found, u);
	}
	json_decref(u);
}

static void test_filters(void **state)
{
	(void)state;
	build_tree();
	struct { const char *q; size_t n; } cases[] = {
		{"fu=1&lbl=room:1", 1},
		{"fu=1&ty=4&lbl=even", 5},
		{"fu=1&lbl=even&lbl=room:1", 6},          /* same tag repeated: OR */
		{"fu=1&ty=4&lim=3", 3},
		{"fu=1&lvl=1", 2},                          /* direct children only */
		{hfmt("fu=1&ty=4&cra=%s", T.t), 4},
		{hfmt("fu=1&ty=4&crb=%s", T.t), 6},
		{hfmt("fu=1&ty=4&ms=%s", T.t), 4},
		{hfmt("fu=1&ty=4&us=%s", T.t), 6},
		{"fu=1&ty=4&sts=3", 4},                     /* st < 3 */
		{"fu=1&ty=4&stb=5", 2},                     /* st >= 5 */
		{"fu=1&ty=4&sza=10", 4},
		{"fu=1&ty=4&szb=10", 6},
		{"fu=1&ty=4&cty=application/json", 4},
		{"fu=1&ty=4&cty=text/plain", 6},
		{hfmt("fu=1&rn=%s", T.c1), 1},              /* atr condition */
		{hfmt("fu=1&ty=3&_o=%s", T.ae), 0},         /* hidden (the creator): never matched */
		{"fu=1&ty=3&_o=*", 0},
		{"fu=1&ty=4&rn=a3", 1},
		{hfmt("fu=1&ty=4&exb=%s", T.et2d), 6},
		{hfmt("fu=1&ty=4&exa=%s", T.et2d), 4},
		{"fu=1&ty=3+4", 12},
		{"fu=1&ty=3&ty=4", 12},
		{"fu=1&ty=3", 2},
		{"fu=1&fo=2&lbl=room:1&ty=4", 11},          /* OR across tags */
		{"fu=1&ty=4&lbl=even&cty=application/json", 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_count(cases[i].q, cases[i].n, NULL);
	harness_case("ofst=3 under c1 skips the first two children");
	expect_count("fu=1&ty=4&ofst=3", 4, at(T.c1));
}

static void test_rrl_result(void **state)
{
	(void)state;
	build_tree();
	m2m_result r;
	harness_case("discovery with rcn=6");
	harness_req(&r, M2M_OP_RETRIEVE, at(NULL), T.ae, -1, NULL, "fu=1&ty=4&rcn=6");
	EXPECT_RSC(&r, 2000);
	json_t *rrf = json_object_get(harness_res(&r, "m2m:rrl"), "rrf");
	EXPECT_TRUE(json_is_array(rrf) && json_array_size(rrf) == 10, r.body);
	size_t i;
	json_t *v;
	json_array_foreach(rrf, i, v) {
		EXPECT_INT(v, "typ", 4);
		EXPECT_TRUE(harness_jstr(v, "nm") && harness_jstr(v, "val"), v);
	}
	m2m_result_clear(&r);
}

static void test_no_match(void **state)
{
	(void)state;
	build_tree();
	m2m_result r;
	harness_case("discovery without any match");
	harness_req(&r, M2M_OP_RETRIEVE, at(NULL), T.ae, -1, NULL, "fu=1&lbl=no-such-label-anywhere");
	EXPECT_RSC(&r, 2000, 4004);
	if (r.rsc == 2000) {
		json_t *u = harness_res(&r, "m2m:uril");
		EXPECT_TRUE(u == NULL || json_array_size(u) == 0, r.body);
	}
	m2m_result_clear(&r);
}

static void test_access(void **state)
{
	(void)state;
	build_tree();
	const char *b = harness_register("nosy");
	m2m_result r;
	harness_case("another AE discovers under A (no privileges anywhere)");
	harness_req(&r, M2M_OP_RETRIEVE, at(NULL), b, -1, NULL, "fu=1&ty=4");
	EXPECT_RSC(&r, 2000, 4103, 4004);
	if (r.rsc == 2000) {
		json_t *u = harness_res(&r, "m2m:uril");
		EXPECT_TRUE(u == NULL || json_array_size(u) == 0, r.body);
	}
	m2m_result_clear(&r);
	harness_case("another AE discovers from the CSEBase: none of A's resources");
	harness_req(&r, M2M_OP_RETRIEVE, CSE, b, -1, NULL, "fu=1&ty=3+4");
	EXPECT_RSC(&r, 2000, 4103, 4004);
	if (r.rsc == 2000) {
		json_t *u = harness_res(&r, "m2m:uril");
		size_t i;
		json_t *v;
		json_array_foreach(u, i, v) {
			const char *s = json_string_value(v);
			EXPECT_TRUE(s && !strstr(s, T.ae), u);
		}
	}
	m2m_result_clear(&r);
	harness_case("the admin sees everything");
	json_t *u = discover(at(NULL), ADMIN, "fu=1&ty=4");
	EXPECT_TRUE(json_array_size(u) == 10, u);
	json_decref(u);
	u = discover(CSE, ADMIN, "fu=1&ty=2");
	EXPECT_TRUE(harness_list_has_str(u, hfmt("%s/%s", CSE, T.ae)), u);
	json_decref(u);
}

static void test_bad_filters(void **state)
{
	(void)state;
	build_tree();
	static const char *const bad[] = {
		"fu=1&lim=-1", "fu=1&lim=abc", "fu=1&crb=notatime", "fu=1&cra=2024", "fu=9",
		"fu=1&ty=abc", "fu=1&lvl=-1", "fu=1&sts=x", "fu=1&fo=7", "fu=1&drt=5",
		"fu=1&ofst=-2", "fu=1&sza=-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m2m_result r;
		harness_case("bad filter ?%s", bad[i]);
		const char *why;
		if (!harness_query_carried(bad[i], &why)) {
			print_message("[  SKIP    ] %s: case \"%s\": %s\n", harness_mode(), bad[i], why);
			continue;
		}
		harness_req(&r, M2M_OP_RETRIEVE, at(NULL), T.ae, -1, NULL, bad[i]);
		EXPECT_RSC(&r, 4000);
		m2m_result_clear(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_structured_result),
		HTEST(test_unstructured_result),
		HTEST(test_filters),
		HTEST(test_rrl_result),
		HTEST(test_no_match),
		HTEST(test_access),
		HTEST(test_bad_filters),
	};
	return cmocka_run_group_tests_name("04_discovery", tests, harness_group_setup,
	                                   harness_group_teardown);
}
