/*
 * engine_test.c - the request pipeline driven directly through cse_handle()
 * on an in-memory store: addressing forms, attribute validation rules and
 * access-control evaluation, each as a table of cases from TS-0004/TS-0001.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/transport.h"
#include "cse/config.h"
#include "cse/cse.h"
#include "cse/log.h"
#include "cse/rsc.h"
#include "tests/unit/unit_call.h"

static cse_config cfg;
static cse *C;

/* One request; returns rsc, *out (if given) receives pc. */
static int call(int op, const char *to, const char *fr, int ty, const char *pc, const char *rvi, json_t **out)
{
	return unit_call_rvi(C, op, to, fr, ty, pc, rvi, out);
}

#define CREATE(to, fr, ty, pc) call(M2M_OP_CREATE, to, fr, ty, pc, "4", NULL)
#define GET(to, fr) call(M2M_OP_RETRIEVE, to, fr, -1, NULL, "4", NULL)

static int setup(void **state)
{
	(void)state;
	log_level = LOG_ERROR;
	config_init(&cfg);
	free(cfg.db_path);
	cfg.db_path = m2m_strdup(":memory:");
	assert_int_equal(transport_global_init(), 0);
	assert_int_equal(cse_open(&C, &cfg), 0);
	/* fixture: AE Cown with container c1 holding one instance */
	assert_int_equal(CREATE("cse-in", "Cown", 2, "{\"m2m:ae\":{\"rn\":\"own\",\"api\":\"Nx\",\"rr\":false,\"srv\":[\"4\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(CREATE("cse-in/own", "Cown", 3, "{\"m2m:cnt\":{\"rn\":\"c1\"}}"), RSC_CREATED);
	assert_int_equal(CREATE("cse-in/own/c1", "Cown", 4, "{\"m2m:cin\":{\"rn\":\"i1\",\"con\":\"x\"}}"), RSC_CREATED);
	assert_int_equal(CREATE("cse-in", "Cother", 2, "{\"m2m:ae\":{\"rn\":\"other\",\"api\":\"Nx\",\"rr\":false,\"srv\":[\"4\"]}}"),
	                 RSC_CREATED);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cse_close(&C);
	transport_global_cleanup();
	config_clear(&cfg);
	return 0;
}

static char *ri_of(const char *path)
{
	json_t *pc = NULL;
	assert_int_equal(call(M2M_OP_RETRIEVE, path, "CAdmin", -1, NULL, "4", &pc), RSC_OK);
	const char *k = json_object_iter_key(json_object_iter(pc));
	char *ri = m2m_strdup(json_string_value(json_object_get(json_object_get(pc, k), "ri")));
	json_decref(pc);
	return ri;
}

static void test_addressing(void **state)
{
	(void)state;
	char *cnt = ri_of("cse-in/own/c1");
	char unstructured[128], sp_unstr[160], abs_unstr[200], la_unstr[160];
	snprintf(unstructured, sizeof(unstructured), "%s", cnt);
	snprintf(sp_unstr, sizeof(sp_unstr), "/id-in/%s", cnt);
	snprintf(abs_unstr, sizeof(abs_unstr), "//hearth.example.com/id-in/%s", cnt);
	snprintf(la_unstr, sizeof(la_unstr), "%s/la", cnt);
	const struct { const char *to; int rsc; } cases[] = {
		{ "cse-in", RSC_OK },
		{ "-", RSC_OK },
		{ "id-in", RSC_OK },
		{ "/id-in", RSC_OK },
		{ "/id-in/cse-in", RSC_OK },
		{ "//hearth.example.com/id-in/cse-in", RSC_OK },
		{ "cse-in/own/c1", RSC_OK },
		{ "-/own/c1", RSC_OK },
		{ "/id-in/cse-in/own/c1", RSC_OK },
		{ "/id-in/-/own/c1", RSC_OK },
		{ "//hearth.example.com/id-in/cse-in/own/c1", RSC_OK },
		{ unstructured, RSC_OK },
		{ sp_unstr, RSC_OK },
		{ abs_unstr, RSC_OK },
		{ la_unstr, RSC_OK },
		{ "cse-in/own/c1/la", RSC_OK },
		{ "cse-in/own/c1/ol", RSC_OK },
		{ "cse-in/own/c1/i1", RSC_OK },
		{ "cse-in/own/c1#cni", RSC_OK },
		{ "cse-in/own/nope", RSC_NOT_FOUND },
		{ "nosuchri", RSC_NOT_FOUND },
		{ "/id-other/cse-in", RSC_NOT_FOUND },
		{ "//other.example.com/id-in/cse-in", RSC_NOT_FOUND },
		{ "///x", RSC_BAD_REQUEST },
		{ "cse-in/own/c1#nosuchattr", RSC_BAD_REQUEST },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rsc = GET(cases[i].to, "CAdmin");
		if (rsc != cases[i].rsc)
			fail_msg("to=%s: expected %d, got %d", cases[i].to, cases[i].rsc, rsc);
	}
	free(cnt);
}

static void test_attribute_rules(void **state)
{
	(void)state;
	const struct { int ty; const char *pc; int rsc; } cases[] = {
		{ 3, "{\"m2m:cnt\":{\"mni\":5}}", RSC_CREATED },
		{ 3, "{\"m2m:cnt\":{\"mni\":-1}}", RSC_BAD_REQUEST },          /* wrong value */
		{ 3, "{\"m2m:cnt\":{\"mni\":\"5\"}}", RSC_BAD_REQUEST },       /* wrong type */
		{ 3, "{\"m2m:cnt\":{\"cni\":1}}", RSC_BAD_REQUEST },           /* NP at create */
		{ 3, "{\"m2m:cnt\":{\"xyz\":1}}", RSC_BAD_REQUEST },           /* unknown */
		{ 3, "{\"m2m:cnt\":{\"cr\":\"Cown\"}}", RSC_BAD_REQUEST },     /* cr must be null */
		{ 3, "{\"m2m:cnt\":{\"cr\":null}}", RSC_CREATED },
		{ 3, "{\"m2m:cnt\":{\"et\":\"20000101T000000\"}}", RSC_BAD_REQUEST },
		{ 3, "{\"m2m:cnt\":{\"rn\":\"bad name\"}}", RSC_BAD_REQUEST },
		{ 3, "{\"m2m:cnt\":{\"rn\":\"la\"}}", RSC_BAD_REQUEST },
		{ 3, "{\"m2m:cnt\":{\"rn\":\"c1\"}}", RSC_CONFLICT },
		{ 3, "{\"m2m:cin\":{\"con\":\"x\"}}", RSC_BAD_REQUEST },       /* root does not match ty */
		{ 3, "{\"m2m:cnt\":{},\"m2m:x\":{}}", RSC_BAD_REQUEST },       /* two roots */
		{ 4, "{\"m2m:cin\":{\"con\":\"x\"}}", RSC_INVALID_CHILD_RESOURCE_TYPE },
		{ 2, "{\"m2m:ae\":{\"api\":\"Nx\",\"rr\":true}}", RSC_INVALID_CHILD_RESOURCE_TYPE },
		{ 5, "{\"m2m:cb\":{}}", RSC_OPERATION_NOT_ALLOWED },
		{ 999, "{\"m2m:x\":{}}", RSC_BAD_REQUEST },
		{ 29, "{\"m2m:ts\":{}}", RSC_NOT_IMPLEMENTED },
		{ 23, "{\"m2m:sub\":{}}", RSC_BAD_REQUEST },                   /* nu missing */
		{ 1, "{\"m2m:acp\":{\"pv\":{\"acr\":[]},\"pvs\":{\"acr\":[]}}}", RSC_BAD_REQUEST },
		{ 1, "{\"m2m:acp\":{\"pv\":{\"acr\":[]},\"pvs\":{\"acr\":[{\"acor\":[\"Cown\"],\"acop\":63}]}}}", RSC_CREATED },
		{ 9, "{\"m2m:grp\":{\"mnm\":1,\"mid\":[\"cse-in/own/c1\",\"cse-in/own\"]}}", RSC_MAX_NUMBER_OF_MEMBER_EXCEEDED },
		{ 9, "{\"m2m:grp\":{\"mt\":3,\"csy\":2,\"mnm\":5,\"mid\":[\"cse-in/own\"]}}", RSC_GROUP_MEMBER_TYPE_INCONSISTENT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rsc = CREATE("cse-in/own", "Cown", cases[i].ty, cases[i].pc);
		if (rsc != cases[i].rsc)
			fail_msg("case %zu ty=%d %s: expected %d, got %d", i, cases[i].ty, cases[i].pc, cases[i].rsc, rsc);
	}
	/* update rules */
	const struct { const char *to; const char *pc; int rsc; } upd[] = {
		{ "cse-in/own/c1", "{\"m2m:cnt\":{\"lbl\":[\"a\"]}}", RSC_UPDATED },
		{ "cse-in/own/c1", "{\"m2m:cnt\":{\"rn\":\"x\"}}", RSC_BAD_REQUEST },
		{ "cse-in/own/c1", "{\"m2m:cnt\":{\"cni\":3}}", RSC_BAD_REQUEST },
		{ "cse-in/own/c1", "{\"m2m:cnt\":{\"lbl\":null}}", RSC_UPDATED },
		{ "cse-in/own/c1", "{\"m2m:cnt\":{\"acpi\":[],\"lbl\":[]}}", RSC_BAD_REQUEST },
		{ "cse-in/own", "{\"m2m:ae\":{\"api\":\"Ny\"}}", RSC_BAD_REQUEST },
		{ "cse-in/own", "{\"m2m:ae\":{\"rr\":null}}", RSC_BAD_REQUEST },
		{ "cse-in/own/c1/i1", "{\"m2m:cin\":{\"lbl\":[\"a\"]}}", RSC_OPERATION_NOT_ALLOWED },
		{ "cse-in/own/c1/la", "{\"m2m:cin\":{\"lbl\":[\"a\"]}}", RSC_OPERATION_NOT_ALLOWED },
		{ "cse-in", "{\"m2m:cb\":{\"lbl\":[\"a\"]}}", RSC_OPERATION_NOT_ALLOWED },
	};
	for (size_t i = 0; i < sizeof(upd) / sizeof(upd[0]); i++) {
		int rsc = call(M2M_OP_UPDATE, upd[i].to, "Cown", -1, upd[i].pc, "4", NULL);
		if (rsc != upd[i].rsc)
			fail_msg("update %s %s: expected %d, got %d", upd[i].to, upd[i].pc, upd[i].rsc, rsc);
	}
}

static void test_primitive_rules(void **state)
{
	(void)state;
	const char *ae = "{\"m2m:ae\":{\"api\":\"Nx\",\"rr\":false}}";
	/* no rvi: an older client; srv not required */
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "Cold1", 2, ae, NULL, NULL), RSC_CREATED);
	/* rvi 4: srv mandatory */
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "Cnew1", 2, ae, "4", NULL), RSC_BAD_REQUEST);
	assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in", "CAdmin", -1, NULL, "9", NULL), RSC_RELEASE_VERSION_NOT_SUPPORTED);
	assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in", NULL, -1, NULL, "4", NULL), RSC_BAD_REQUEST);
	assert_int_equal(call(0, "cse-in", "CAdmin", -1, NULL, "4", NULL), RSC_BAD_REQUEST);
	assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in", "CAdmin", 3, NULL, "4", NULL), RSC_BAD_REQUEST);
	/* registration: lower-case r only before release 4; re-registration 4117 */
	const char *r_ae = "{\"m2m:ae\":{\"api\":\"rx.y\",\"rr\":false,\"srv\":[\"3\"]}}";
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "Crlow4", 2, r_ae, "4", NULL), RSC_BAD_REQUEST);
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "Crlow3", 2, r_ae, "3", NULL), RSC_CREATED);
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "Crlow3", 2, r_ae, "3", NULL), RSC_ORIGINATOR_HAS_ALREADY_REGISTERED);
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "xyz", 2, r_ae, "3", NULL), RSC_APP_RULE_VALIDATION_FAILED);
	json_t *pc = NULL;
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", "", 2, r_ae, "3", &pc), RSC_CREATED);
	const char *aei = json_string_value(json_object_get(json_object_get(pc, "m2m:ae"), "aei"));
	assert_non_null(aei);
	assert_int_equal(aei[0], 'C');
	json_decref(pc);
}

static void test_acp(void **state)
{
	(void)state;
	/* a container of Cown guarded by a policy: Cother may retrieve, not update */
	assert_int_equal(CREATE("cse-in/own", "Cown", 1,
	                        "{\"m2m:acp\":{\"rn\":\"p1\",\"pv\":{\"acr\":[{\"acor\":[\"Cown\"],\"acop\":63},"
	                        "{\"acor\":[\"Cother\"],\"acop\":2},{\"acor\":[\"Cw*\"],\"acop\":34}]},"
	                        "\"pvs\":{\"acr\":[{\"acor\":[\"Cown\"],\"acop\":63}]}}}"),
	                 RSC_CREATED);
	assert_int_equal(CREATE("cse-in/own", "Cown", 3, "{\"m2m:cnt\":{\"rn\":\"g\",\"acpi\":[\"cse-in/own/p1\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(CREATE("cse-in/own/g", "Cown", 4, "{\"m2m:cin\":{\"con\":\"1\"}}"), RSC_CREATED);
	const struct { int op; const char *to; const char *fr; int ty; const char *pc; int rsc; } cases[] = {
		{ M2M_OP_RETRIEVE, "cse-in/own/g", "Cother", -1, NULL, RSC_OK },
		{ M2M_OP_RETRIEVE, "cse-in/own/g/la", "Cother", -1, NULL, RSC_OK },        /* cin: parent's policy */
		{ M2M_OP_RETRIEVE, "cse-in/own/g", "Cwild", -1, NULL, RSC_OK },            /* wildcard */
		{ M2M_OP_RETRIEVE, "cse-in/own/g", "Cstranger", -1, NULL, RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_UPDATE, "cse-in/own/g", "Cother", -1, "{\"m2m:cnt\":{\"lbl\":[\"x\"]}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_CREATE, "cse-in/own/g", "Cother", 4, "{\"m2m:cin\":{\"con\":\"1\"}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_DELETE, "cse-in/own/g", "Cother", -1, NULL, RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_UPDATE, "cse-in/own/g", "Cown", -1, "{\"m2m:cnt\":{\"lbl\":[\"x\"]}}", RSC_UPDATED },
		/* default policy: no acpi, only the creator (and the admin) */
		{ M2M_OP_RETRIEVE, "cse-in/own/c1", "Cother", -1, NULL, RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_RETRIEVE, "cse-in/own/c1", "Cown", -1, NULL, RSC_OK },
		{ M2M_OP_RETRIEVE, "cse-in/own/c1", "CAdmin", -1, NULL, RSC_OK },
		/* the policy itself: pvs */
		{ M2M_OP_RETRIEVE, "cse-in/own/p1", "Cother", -1, NULL, RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		/* acpi update needs UPDATE in the current policies' pvs */
		{ M2M_OP_UPDATE, "cse-in/own/g", "Cother", -1, "{\"m2m:cnt\":{\"acpi\":[]}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		/* subscription create needs RETRIEVE on the target */
		{ M2M_OP_CREATE, "cse-in/own/c1", "Cother", 23, "{\"m2m:sub\":{\"nu\":[\"Cother\"]}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_CREATE, "cse-in/own/g", "Cother", 23, "{\"m2m:sub\":{\"nu\":[\"Cother\"]}}", RSC_CREATED },
		/* CSEBase: registered AEs may retrieve it */
		{ M2M_OP_RETRIEVE, "cse-in", "Cother", -1, NULL, RSC_OK },
		{ M2M_OP_RETRIEVE, "cse-in", "Cstranger", -1, NULL, RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ M2M_OP_CREATE, "cse-in", "Cother", 3, "{\"m2m:cnt\":{}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rsc = call(cases[i].op, cases[i].to, cases[i].fr, cases[i].ty, cases[i].pc, "4", NULL);
		if (rsc != cases[i].rsc)
			fail_msg("case %zu op=%d %s by %s: expected %d, got %d", i, cases[i].op, cases[i].to, cases[i].fr,
			         cases[i].rsc, rsc);
	}
	/* discovery shows Cother only what it may discover (acop 2 lacks 32) */
	json_t *pc = NULL;
	m2m_request req;
	m2m_response rsp;
	m2m_request_init(&req);
	m2m_response_init(&rsp);
	req.op = M2M_OP_RETRIEVE;
	req.to = m2m_strdup("cse-in/own");
	req.fr = m2m_strdup("Cwild");
	req.rqi = m2m_strdup("d1");
	req.rvi = m2m_strdup("4");
	req.fc = json_pack("{s:i,s:[i]}", "fu", 1, "ty", 3);
	cse_handle(C, &req, &rsp);
	assert_int_equal(rsp.rsc, RSC_OK);
	pc = json_object_get(rsp.pc, "m2m:uril");
	assert_int_equal(json_array_size(pc), 1);
	assert_string_equal(json_string_value(json_array_get(pc, 0)), "cse-in/own/g");
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addressing),
		cmocka_unit_test(test_attribute_rules),
		cmocka_unit_test(test_primitive_rules),
		cmocka_unit_test(test_acp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
