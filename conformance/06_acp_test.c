/*
 * 06_acp_test.c - <accessControlPolicy> and access decisions: pv / pvs,
 * acop bits, acor forms ("all", wildcard), acpi update rules, default
 * policy without acpi, admin override, contentInstance governed by its
 * parent, subscription create needing RETRIEVE.
 * Digest sections 6 (acpi), 7.8, 8.7, 9.3, 10.
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()

static const char *at(const char *ae, const char *rest)
{
	return rest ? hfmt("%s/%s/%s", CSE, ae, rest) : hfmt("%s/%s", CSE, ae);
}

static json_t *rule(const char *who, int acop)
{
	return json_pack("{s:[s],s:i}", "acor", who, "acop", acop);
}

static json_t *rules2(const char *w1, int op1, const char *w2, int op2)
{
	return json_pack("[o,o]", rule(w1, op1), rule(w2, op2));
}

/* Create an ACP under the owner's AE; pv/pvs are acr arrays (stolen). */
static const char *acp_make(const char *owner, const char *rn, json_t *pv, json_t *pvs)
{
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, at(owner, NULL), owner, 1,
	            json_pack("{s:{s:s,s:{s:o},s:{s:o}}}", "m2m:acp", "rn", rn, "pv", "acr", pv, "pvs", "acr", pvs),
	            NULL);
	EXPECT_RSC(&r, 2001);
	const char *ri = harness_jstr(harness_res(&r, "m2m:acp"), "ri");
	EXPECT_TRUE(ri != NULL, r.body);
	static char store[64][256];
	static int n;
	char *dst = store[n++ % 64];
	snprintf(dst, sizeof(store[0]), "%s", ri);
	m2m_result_clear(&r);
	return dst;
}

static void acp_set_pv(const char *owner, const char *acp_rn, json_t *pv)
{
	m2m_result r;
	harness_req(&r, M2M_OP_UPDATE, at(owner, acp_rn), owner, -1,
	            json_pack("{s:{s:{s:o}}}", "m2m:acp", "pv", "acr", pv), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
}

static void expect(m2m_op op, const char *to, const char *fr, int ty, json_t *content, int rsc)
{
	m2m_result r;
	harness_req(&r, op, to, fr, ty, content, NULL);
	EXPECT_RSC(&r, rsc);
	m2m_result_clear(&r);
}

static json_t *cnt_lbl(const char *l)
{
	return json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", l);
}

static json_t *a_cin(void)
{
	return json_pack("{s:{s:s}}", "m2m:cin", "con", "x");
}

static void test_acp_create(void **state)
{
	(void)state;
	const char *a = harness_register("acpA");
	m2m_result r;
	harness_case("create an ACP");
	harness_req(&r, M2M_OP_CREATE, at(a, NULL), a, 1,
	            json_pack("{s:{s:s,s:{s:[o]},s:{s:[o]}}}", "m2m:acp", "rn", "p", "pv", "acr", rule(a, 63),
	                      "pvs", "acr", rule(a, 63)), NULL);
	EXPECT_RSC(&r, 2001);
	json_t *p = harness_res(&r, "m2m:acp");
	EXPECT_INT(p, "ty", 1);
	json_t *r0 = json_array_get(json_object_get(json_object_get(p, "pv"), "acr"), 0);
	EXPECT_INT(r0, "acop", 63);
	EXPECT_TRUE(harness_list_has_str(json_object_get(r0, "acor"), a), p);
	EXPECT_TRUE(json_is_object(json_object_get(p, "pvs")), p);
	m2m_result_clear(&r);
	static const struct { const char *name, *body; } bad[] = {
		{"pvs with no rule", "{\"pv\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":63}]},\"pvs\":{\"acr\":[]}}"},
		{"pvs missing", "{\"pv\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":63}]}}"},
		{"pv missing", "{\"pvs\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":63}]}}"},
		{"acop not a number", "{\"pv\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":\"all\"}]},\"pvs\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":63}]}}"},
		{"acor not a list", "{\"pv\":{\"acr\":[{\"acor\":\"%1$s\",\"acop\":63}]},\"pvs\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":63}]}}"},
		{"acpi on an ACP", "{\"pv\":{\"acr\":[]},\"pvs\":{\"acr\":[{\"acor\":[\"%1$s\"],\"acop\":63}]},\"acpi\":[\"x\"]}"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		harness_case("ACP create: %s", bad[i].name);
		json_t *in = json_loads(hfmt(bad[i].body, a), 0, NULL);
		assert_non_null(in);
		json_object_set_new(in, "rn", json_string(harness_name("bad")));
		expect(M2M_OP_CREATE, at(a, NULL), a, 1, json_pack("{s:o}", "m2m:acp", in), 4000);
	}
	harness_case("updating pvs to no rule");
	expect(M2M_OP_UPDATE, at(a, "p"), a, -1, json_pack("{s:{s:{s:[]}}}", "m2m:acp", "pvs", "acr"), 4000);
}

static void test_acp_guards_container(void **state)
{
	(void)state;
	const char *a = harness_register("gA");
	const char *b = harness_register("gB");
	const char *p = acp_make(a, "p", json_pack("[o]", rule(a, 63)), json_pack("[o]", rule(a, 63)));
	harness_create_cnt(at(a, NULL), a, "k", json_pack("{s:[s]}", "acpi", p));
	harness_create_cin(at(a, "k"), a, "ci", "secret");
	harness_case("B is not in acor");
	expect(M2M_OP_RETRIEVE, at(a, "k"), b, -1, NULL, 4103);
	expect(M2M_OP_RETRIEVE, at(a, "k/ci"), b, -1, NULL, 4103);
	expect(M2M_OP_RETRIEVE, at(a, "k/la"), b, -1, NULL, 4103);
	harness_case("A (in acor) has access");
	expect(M2M_OP_RETRIEVE, at(a, "k"), a, -1, NULL, 2000);

	acp_set_pv(a, "p", rules2(a, 63, b, 2));
	harness_case("B with RETRIEVE only");
	expect(M2M_OP_RETRIEVE, at(a, "k"), b, -1, NULL, 2000);
	expect(M2M_OP_RETRIEVE, at(a, "k/ci"), b, -1, NULL, 2000); /* cin governed by the parent */
	expect(M2M_OP_RETRIEVE, at(a, "k/la"), b, -1, NULL, 2000);
	expect(M2M_OP_UPDATE, at(a, "k"), b, -1, cnt_lbl("b"), 4103);
	expect(M2M_OP_CREATE, at(a, "k"), b, 4, a_cin(), 4103);
	expect(M2M_OP_DELETE, at(a, "k/ci"), b, -1, NULL, 4103);
	expect(M2M_OP_DELETE, at(a, "k"), b, -1, NULL, 4103);
	json_t *c = harness_get(at(a, "k"), a, "m2m:cnt");
	EXPECT_INT(c, "cni", 1);
	json_decref(c);
}

static void test_acop_bits(void **state)
{
	(void)state;
	const char *a = harness_register("bitA");
	const char *b = harness_register("bitB");
	static const struct { int acop; int create, retrieve, update, del; } cases[] = {
		{1, 2001, 4103, 4103, 4103},
		{2, 4103, 2000, 4103, 4103},
		{4, 4103, 4103, 2004, 4103},
		{8, 4103, 4103, 4103, 2002},
		{1 | 2 | 4 | 8, 2001, 2000, 2004, 2002},
		{16 | 32, 4103, 4103, 4103, 4103},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *prn = harness_name("p");
		const char *p = acp_make(a, prn, rules2(a, 63, b, cases[i].acop), json_pack("[o]", rule(a, 63)));
		const char *krn = harness_name("k");
		harness_create_cnt(at(a, NULL), a, krn, json_pack("{s:[s]}", "acpi", p));
		harness_case("acop %d: create cin", cases[i].acop);
		expect(M2M_OP_CREATE, at(a, krn), b, 4, a_cin(), cases[i].create);
		harness_case("acop %d: retrieve", cases[i].acop);
		expect(M2M_OP_RETRIEVE, at(a, krn), b, -1, NULL, cases[i].retrieve);
		harness_case("acop %d: update", cases[i].acop);
		expect(M2M_OP_UPDATE, at(a, krn), b, -1, cnt_lbl("u"), cases[i].update);
		harness_case("acop %d: delete", cases[i].acop);
		expect(M2M_OP_DELETE, at(a, krn), b, -1, NULL, cases[i].del);
	}
}

static void test_discovery_bit(void **state)
{
	(void)state;
	const char *a = harness_register("dA");
	const char *b = harness_register("dB");
	const char *pd = acp_make(a, "pd", rules2(a, 63, b, 32 | 2), json_pack("[o]", rule(a, 63)));
	const char *pn = acp_make(a, "pn", json_pack("[o]", rule(a, 63)), json_pack("[o]", rule(a, 63)));
	harness_create_cnt(at(a, NULL), a, "top", json_pack("{s:[s]}", "acpi", pd));
	harness_create_cnt(at(a, "top"), a, "seen", json_pack("{s:[s]}", "acpi", pd));
	harness_create_cnt(at(a, "top"), a, "hidden", json_pack("{s:[s]}", "acpi", pn));
	m2m_result r;
	harness_case("B discovers under top: only resources with DISCOVERY for B");
	harness_req(&r, M2M_OP_RETRIEVE, at(a, "top"), b, -1, NULL, "fu=1&ty=3");
	EXPECT_RSC(&r, 2000);
	json_t *u = harness_res(&r, "m2m:uril");
	EXPECT_TRUE(harness_list_has_str(u, at(a, "top/seen")), r.body);
	EXPECT_TRUE(!harness_list_has_str(u, at(a, "top/hidden")), r.body);
	m2m_result_clear(&r);
	harness_case("A discovers both");
	harness_req(&r, M2M_OP_RETRIEVE, at(a, "top"), a, -1, NULL, "fu=1&ty=3");
	EXPECT_RSC(&r, 2000);
	u = harness_res(&r, "m2m:uril");
	EXPECT_TRUE(harness_list_has_str(u, at(a, "top/seen")) && harness_list_has_str(u, at(a, "top/hidden")), r.body);
	m2m_result_clear(&r);
}

static void test_acor_forms(void **state)
{
	(void)state;
	const char *a = harness_register("fA");
	const char *b = harness_register("fB");
	const char *pall = acp_make(a, "pall", rules2(a, 63, "all", 2), json_pack("[o]", rule(a, 63)));
	harness_create_cnt(at(a, NULL), a, "open", json_pack("{s:[s]}", "acpi", pall));
	harness_case("acor all: any originator may retrieve");
	expect(M2M_OP_RETRIEVE, at(a, "open"), b, -1, NULL, 2000);
	expect(M2M_OP_UPDATE, at(a, "open"), b, -1, cnt_lbl("x"), 4103);

	const char *prefix = harness_name("Cwild");
	const char *w = harness_create_ae(hfmt("%sx", prefix), NULL, NULL);
	const char *pw = acp_make(a, "pw", rules2(a, 63, hfmt("%s*", prefix), 2), json_pack("[o]", rule(a, 63)));
	harness_create_cnt(at(a, NULL), a, "wild", json_pack("{s:[s]}", "acpi", pw));
	harness_case("wildcard acor %s* matches %s", prefix, w);
	expect(M2M_OP_RETRIEVE, at(a, "wild"), w, -1, NULL, 2000);
	harness_case("wildcard acor %s* does not match %s", prefix, b);
	expect(M2M_OP_RETRIEVE, at(a, "wild"), b, -1, NULL, 4103);
}

static void test_acpi_update_rules(void **state)
{
	(void)state;
	const char *a = harness_register("uA");
	/* pv gives A everything, pvs gives A no UPDATE */
	const char *px = acp_make(a, "px", json_pack("[o]", rule(a, 63)), json_pack("[o]", rule(a, 2 | 8)));
	const char *py = acp_make(a, "py", json_pack("[o]", rule(a, 63)), json_pack("[o]", rule(a, 63)));
	harness_create_cnt(at(a, NULL), a, "kx", json_pack("{s:[s]}", "acpi", px));
	harness_create_cnt(at(a, NULL), a, "ky", json_pack("{s:[s]}", "acpi", py));
	harness_case("acpi together with another attribute");
	expect(M2M_OP_UPDATE, at(a, "ky"), a, -1, json_pack("{s:{s:[s],s:[s]}}", "m2m:cnt", "acpi", px, "lbl", "z"), 4000);
	harness_case("acpi update needs UPDATE in the pvs of the current ACPs");
	expect(M2M_OP_UPDATE, at(a, "kx"), a, -1, json_pack("{s:{s:[s]}}", "m2m:cnt", "acpi", py), 4103);
	harness_case("ordinary update allowed by pv");
	expect(M2M_OP_UPDATE, at(a, "kx"), a, -1, cnt_lbl("ok"), 2004);
	harness_case("acpi update allowed when pvs grants UPDATE");
	expect(M2M_OP_UPDATE, at(a, "ky"), a, -1, json_pack("{s:{s:[s]}}", "m2m:cnt", "acpi", px), 2004);
	json_t *c = harness_get(at(a, "ky"), a, "m2m:cnt");
	EXPECT_TRUE(harness_list_has_str(json_object_get(c, "acpi"), px), c);
	json_decref(c);
}

static void test_default_policy_and_admin(void **state)
{
	(void)state;
	const char *a = harness_register("defA");
	const char *b = harness_register("defB");
	harness_create_cnt(at(a, NULL), a, "plain", NULL);
	harness_create_cin(at(a, "plain"), a, "ci", "x");
	harness_case("no acpi: another AE has no access");
	expect(M2M_OP_RETRIEVE, at(a, "plain"), b, -1, NULL, 4103);
	expect(M2M_OP_RETRIEVE, at(a, "plain/ci"), b, -1, NULL, 4103);
	expect(M2M_OP_CREATE, at(a, "plain"), b, 4, a_cin(), 4103);
	harness_case("no acpi: the creator has access");
	expect(M2M_OP_RETRIEVE, at(a, "plain/ci"), a, -1, NULL, 2000);
	harness_case("no acpi: the admin has access");
	expect(M2M_OP_RETRIEVE, at(a, "plain"), ADMIN, -1, NULL, 2000);

	const char *p = acp_make(a, "only", json_pack("[o]", rule(a, 63)), json_pack("[o]", rule(a, 63)));
	harness_create_cnt(at(a, NULL), a, "locked", json_pack("{s:[s]}", "acpi", p));
	harness_case("the admin overrides any ACP");
	expect(M2M_OP_RETRIEVE, at(a, "locked"), ADMIN, -1, NULL, 2000);
	expect(M2M_OP_CREATE, at(a, "locked"), ADMIN, 4, a_cin(), 2001);
	expect(M2M_OP_UPDATE, at(a, "locked"), ADMIN, -1, cnt_lbl("adm"), 2004);
	expect(M2M_OP_RETRIEVE, at(a, "only"), ADMIN, -1, NULL, 2000);
	expect(M2M_OP_DELETE, at(a, "locked"), ADMIN, -1, NULL, 2002);
}

static void test_acp_self_privileges(void **state)
{
	(void)state;
	const char *a = harness_register("sA");
	const char *b = harness_register("sB");
	acp_make(a, "p", rules2(a, 63, b, 63), json_pack("[o]", rule(a, 63)));
	harness_case("ACP access follows pvs, not pv");
	expect(M2M_OP_RETRIEVE, at(a, "p"), b, -1, NULL, 4103);
	expect(M2M_OP_UPDATE, at(a, "p"), b, -1, json_pack("{s:{s:{s:[]}}}", "m2m:acp", "pv", "acr"), 4103);
	expect(M2M_OP_DELETE, at(a, "p"), b, -1, NULL, 4103);
	expect(M2M_OP_RETRIEVE, at(a, "p"), a, -1, NULL, 2000);
	harness_case("delete the ACP");
	expect(M2M_OP_DELETE, at(a, "p"), a, -1, NULL, 2002);
	expect(M2M_OP_RETRIEVE, at(a, "p"), a, -1, NULL, 4004);
}

static void test_subscription_needs_retrieve(void **state)
{
	(void)state;
	const char *a = harness_register("subA");
	const char *b = harness_register("subB");
	acp_make(a, "p", rules2(a, 63, b, 1 | 4 | 8 | 16 | 32), json_pack("[o]", rule(a, 63)));
	json_t *c = harness_get(at(a, "p"), a, "m2m:acp");
	char pri[256];
	snprintf(pri, sizeof(pri), "%s", harness_jstr(c, "ri"));
	json_decref(c);
	harness_create_cnt(at(a, NULL), a, "k", json_pack("{s:[s]}", "acpi", pri));
	harness_case("subscription by B without RETRIEVE on the target");
	expect(M2M_OP_CREATE, at(a, "k"), b, 23, json_pack("{s:{s:s,s:[s]}}", "m2m:sub", "rn", "sb", "nu", b), 4103);
	acp_set_pv(a, "p", rules2(a, 63, b, 2));
	harness_case("subscription by B with RETRIEVE on the target");
	expect(M2M_OP_CREATE, at(a, "k"), b, 23, json_pack("{s:{s:s,s:[s]}}", "m2m:sub", "rn", "sb", "nu", b), 2001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_acp_create),
		HTEST(test_acp_guards_container),
		HTEST(test_acop_bits),
		HTEST(test_discovery_bit),
		HTEST(test_acor_forms),
		HTEST(test_acpi_update_rules),
		HTEST(test_default_policy_and_admin),
		HTEST(test_acp_self_privileges),
		HTEST(test_subscription_needs_retrieve),
	};
	return cmocka_run_group_tests_name("06_acp", tests, harness_group_setup,
	                                   harness_group_teardown);
}
