/*
 * 05_group_test.c - <group>: member validation (mnm, mt, csy, duplicates),
 * fan-out through fopt (retrieve, create, update, relative path), empty
 * group, update and delete. Digest sections 7.9, 8.9, 5 (4109, 4110, 6010).
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()

typedef struct grp_env {
	const char *ae;
	const char *m[3];  /* container ris */
	const char *mrn[3];
} grp_env;

static const char *at(const char *ae, const char *rest)
{
	return rest ? hfmt("%s/%s/%s", CSE, ae, rest) : hfmt("%s/%s", CSE, ae);
}

static void env_make(grp_env *e)
{
	e->ae = harness_register("grp");
	for (int i = 0; i < 3; i++) {
		e->mrn[i] = harness_name("m");
		e->m[i] = harness_create_cnt(at(e->ae, NULL), e->ae, e->mrn[i], NULL);
	}
}

static void grp_create(m2m_result *r, const grp_env *e, const char *rn, json_t *attrs)
{
	json_object_set_new(attrs, "rn", json_string(rn));
	harness_req(r, M2M_OP_CREATE, at(e->ae, NULL), e->ae, 9, json_pack("{s:o}", "m2m:grp", attrs), NULL);
}

static json_t *mids(const grp_env *e, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(e->m[i]));
	return a;
}

/* The m2m:rsp list of an aggregated response (array, or a lone object). */
static json_t *agr_list(const m2m_result *r)
{
	json_t *rsp = json_object_get(harness_res(r, "m2m:agr"), "m2m:rsp");
	if (json_is_object(rsp)) {
		json_t *a = json_array();
		json_array_append(a, rsp);
		return a;
	}
	if (json_is_array(rsp))
		json_incref(rsp);
	return rsp;
}

static void expect_agr(const m2m_result *r, size_t n, int member_rsc, const char *root)
{
	json_t *list = agr_list(r);
	EXPECT_TRUE(json_is_array(list) && json_array_size(list) == n, r->body);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		EXPECT_INT(v, "rsc", member_rsc);
		if (root)
			EXPECT_TRUE(json_is_object(json_object_get(json_object_get(v, "pc"), root)), v);
	}
	json_decref(list);
}

static void test_group_create(void **state)
{
	(void)state;
	grp_env e;
	env_make(&e);
	m2m_result r;
	harness_case("group of 3 containers, mnm 10");
	grp_create(&r, &e, "g", json_pack("{s:i,s:o,s:i}", "mt", 3, "mid", mids(&e, 3), "mnm", 10));
	EXPECT_RSC(&r, 2001);
	json_t *g = harness_res(&r, "m2m:grp");
	EXPECT_INT(g, "ty", 9);
	EXPECT_INT(g, "cnm", 3);
	EXPECT_INT(g, "mnm", 10);
	EXPECT_INT(g, "mt", 3);
	for (int i = 0; i < 3; i++)
		EXPECT_TRUE(harness_list_has_str(json_object_get(g, "mid"), e.m[i]), g);
	m2m_result_clear(&r);
	json_t *g2 = harness_get(at(e.ae, "g"), e.ae, "m2m:grp");
	EXPECT_INT(g2, "cnm", 3);
	json_decref(g2);

	harness_case("duplicates in mid are removed");
	json_t *dup = mids(&e, 2);
	json_array_append_new(dup, json_string(e.m[0]));
	grp_create(&r, &e, "gdup", json_pack("{s:i,s:o,s:i}", "mt", 3, "mid", dup, "mnm", 10));
	EXPECT_RSC(&r, 2001);
	EXPECT_INT(harness_res(&r, "m2m:grp"), "cnm", 2);
	EXPECT_TRUE(json_array_size(json_object_get(harness_res(&r, "m2m:grp"), "mid")) == 2, r.body);
	m2m_result_clear(&r);
}

static void test_group_validation(void **state)
{
	(void)state;
	grp_env e;
	env_make(&e);
	m2m_result r;
	harness_case("mid longer than mnm");
	grp_create(&r, &e, "big", json_pack("{s:i,s:o,s:i}", "mt", 3, "mid", mids(&e, 3), "mnm", 2));
	EXPECT_RSC(&r, 6010);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, at(e.ae, "big"), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);

	static const struct { const char *name; int csy; } abandon[] = {
		{"mt=3 with an AE member, csy=1 (ABANDON_MEMBER)", 1},
		{"mt=3 with an AE member, csy absent (default ABANDON_MEMBER)", 0},
	};
	for (size_t k = 0; k < 2; k++) {
		harness_case("%s", abandon[k].name);
		json_t *mid = mids(&e, 2);
		json_array_append_new(mid, json_string(e.ae)); /* the AE's ri is its AE-ID */
		json_t *attrs = json_pack("{s:i,s:o,s:i}", "mt", 3, "mid", mid, "mnm", 10);
		if (abandon[k].csy)
			json_object_set_new(attrs, "csy", json_integer(abandon[k].csy));
		const char *rn = harness_name("mixed");
		grp_create(&r, &e, rn, attrs);
		EXPECT_RSC(&r, 2001);
		json_t *g = harness_res(&r, "m2m:grp");
		EXPECT_INT(g, "cnm", 2);
		EXPECT_TRUE(!harness_list_has_str(json_object_get(g, "mid"), e.ae), g);
		EXPECT_TRUE(harness_list_has_str(json_object_get(g, "mid"), e.m[0]), g);
		m2m_result_clear(&r);
	}

	harness_case("mt=3 with an AE member, csy=2 (ABANDON_GROUP)");
	json_t *mid = mids(&e, 2);
	json_array_append_new(mid, json_string(e.ae));
	grp_create(&r, &e, "strict", json_pack("{s:i,s:o,s:i,s:i}", "mt", 3, "mid", mid, "mnm", 10, "csy", 2));
	EXPECT_RSC(&r, 4110);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, at(e.ae, "strict"), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);

	static const struct { const char *name, *body; } bad[] = {
		{"missing mnm", "{\"mid\":[]}"},
		{"missing mid", "{\"mnm\":3}"},
		{"mnm 0", "{\"mid\":[],\"mnm\":0}"},
		{"cnm given", "{\"mid\":[],\"mnm\":3,\"cnm\":0}"},
		{"mid not a list", "{\"mid\":\"x\",\"mnm\":3}"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		harness_case("group create: %s", bad[i].name);
		grp_create(&r, &e, harness_name("bad"), json_loads(bad[i].body, 0, NULL));
		EXPECT_RSC(&r, 4000);
		m2m_result_clear(&r);
	}
}

static void test_fanout(void **state)
{
	(void)state;
	grp_env e;
	env_make(&e);
	m2m_result r;
	grp_create(&r, &e, "g", json_pack("{s:i,s:o,s:i}", "mt", 3, "mid", mids(&e, 3), "mnm", 10));
	EXPECT_RSC(&r, 2001);
	char gri[256];
	snprintf(gri, sizeof(gri), "%s", harness_jstr(harness_res(&r, "m2m:grp"), "ri"));
	m2m_result_clear(&r);

	harness_case("retrieve through fopt");
	harness_req(&r, M2M_OP_RETRIEVE, at(e.ae, "g/fopt"), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	expect_agr(&r, 3, 2000, "m2m:cnt");
	m2m_result_clear(&r);

	harness_case("create a cin through fopt");
	harness_req(&r, M2M_OP_CREATE, at(e.ae, "g/fopt"), e.ae, 4,
	            json_pack("{s:{s:s}}", "m2m:cin", "con", "fan"), NULL);
	EXPECT_RSC(&r, 2000);
	expect_agr(&r, 3, 2001, "m2m:cin");
	m2m_result_clear(&r);
	for (int i = 0; i < 3; i++) {
		harness_case("member %d got the cin", i);
		json_t *c = harness_get(e.m[i], e.ae, "m2m:cnt");
		EXPECT_INT(c, "cni", 1);
		json_decref(c);
		json_t *la = harness_get(hfmt("%s/la", e.m[i]), e.ae, "m2m:cin");
		EXPECT_STR(la, "con", "fan");
		json_decref(la);
	}

	harness_case("retrieve fopt/la (relative path appended to each member)");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/fopt/la", gri), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	expect_agr(&r, 3, 2000, "m2m:cin");
	m2m_result_clear(&r);

	harness_case("update through fopt");
	harness_req(&r, M2M_OP_UPDATE, at(e.ae, "g/fopt"), e.ae, -1,
	            json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", "fanned"), NULL);
	EXPECT_RSC(&r, 2000);
	expect_agr(&r, 3, 2004, NULL);
	m2m_result_clear(&r);
	for (int i = 0; i < 3; i++) {
		json_t *c = harness_get(e.m[i], e.ae, "m2m:cnt");
		EXPECT_TRUE(harness_list_has_str(json_object_get(c, "lbl"), "fanned"), c);
		json_decref(c);
	}
}

static void test_empty_group(void **state)
{
	(void)state;
	grp_env e;
	env_make(&e);
	m2m_result r;
	grp_create(&r, &e, "empty", json_pack("{s:[],s:i}", "mid", "mnm", 5));
	EXPECT_RSC(&r, 2001);
	EXPECT_INT(harness_res(&r, "m2m:grp"), "cnm", 0);
	m2m_result_clear(&r);
	harness_case("retrieve through fopt of an empty group");
	harness_req(&r, M2M_OP_RETRIEVE, at(e.ae, "empty/fopt"), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 4109);
	m2m_result_clear(&r);
	harness_case("create through fopt of an empty group");
	harness_req(&r, M2M_OP_CREATE, at(e.ae, "empty/fopt"), e.ae, 4,
	            json_pack("{s:{s:s}}", "m2m:cin", "con", "x"), NULL);
	EXPECT_RSC(&r, 4109);
	m2m_result_clear(&r);
}

static void test_update_delete(void **state)
{
	(void)state;
	grp_env e;
	env_make(&e);
	m2m_result r;
	grp_create(&r, &e, "g", json_pack("{s:i,s:o,s:i}", "mt", 3, "mid", mids(&e, 3), "mnm", 10));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	harness_case("update mid to two members");
	harness_req(&r, M2M_OP_UPDATE, at(e.ae, "g"), e.ae, -1, json_pack("{s:{s:o}}", "m2m:grp", "mid", mids(&e, 2)), NULL);
	EXPECT_RSC(&r, 2004);
	EXPECT_INT(harness_res(&r, "m2m:grp"), "cnm", 2);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, at(e.ae, "g/fopt"), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	expect_agr(&r, 2, 2000, "m2m:cnt");
	m2m_result_clear(&r);
	harness_case("update mnm below cnm");
	harness_req(&r, M2M_OP_UPDATE, at(e.ae, "g"), e.ae, -1, json_pack("{s:{s:i}}", "m2m:grp", "mnm", 1), NULL);
	EXPECT_RSC(&r, 6010);
	m2m_result_clear(&r);
	harness_case("update mid beyond mnm");
	harness_req(&r, M2M_OP_UPDATE, at(e.ae, "g"), e.ae, -1,
	            json_pack("{s:{s:o,s:i}}", "m2m:grp", "mid", mids(&e, 3), "mnm", 2), NULL);
	EXPECT_RSC(&r, 6010);
	m2m_result_clear(&r);
	harness_case("update of mt (write-once)");
	harness_req(&r, M2M_OP_UPDATE, at(e.ae, "g"), e.ae, -1, json_pack("{s:{s:i}}", "m2m:grp", "mt", 0), NULL);
	EXPECT_RSC(&r, 4000);
	m2m_result_clear(&r);
	json_t *g = harness_get(at(e.ae, "g"), e.ae, "m2m:grp");
	EXPECT_INT(g, "cnm", 2);
	EXPECT_INT(g, "mnm", 10);
	EXPECT_INT(g, "mt", 3);
	json_decref(g);
	harness_case("delete group; members remain");
	harness_delete(at(e.ae, "g"), e.ae);
	harness_req(&r, M2M_OP_RETRIEVE, at(e.ae, "g"), e.ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	for (int i = 0; i < 3; i++) {
		json_t *c = harness_get(e.m[i], e.ae, "m2m:cnt");
		json_decref(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_group_create),
		HTEST(test_group_validation),
		HTEST(test_fanout),
		HTEST(test_empty_group),
		HTEST(test_update_delete),
	};
	return cmocka_run_group_tests_name("05_group", tests, harness_group_setup,
	                                   harness_group_teardown);
}
