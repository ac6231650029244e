/*
 * mgmtobj_test.c - device management through cse_handle() on an in-memory
 * store: the registry of <mgmtObj> specializations, the create/update
 * rules of <node> and of each specialization (tables from digest 7.10 and
 * 7.11), and the life cycle of a management operation (mgmtobj/README.md):
 * start, 4005 while in process, the device's report, mgmt_report(), the
 * timeout, and an operation found in process when the CSE opens again.
 *
 * The device AE has no poa here: the native adapter cannot deliver and
 * keeps trying in the background, which these tests do not depend on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bindings/transport.h"
#include "cse/config.h"
#include "cse/cse.h"
#include "cse/log.h"
#include "cse/restype.h"
#include "cse/rsc.h"
#include "mgmtobj/adapter.h"
#include "tests/unit/unit_call.h"

#define TIMEOUT_S 2

static cse_config cfg;
static cse *C;

static int call_on(cse *c, int op, const char *to, const char *fr, int ty, const char *pc, json_t **out)
{
	return unit_call(c, op, to, fr, ty, pc, out);
}

static int call(int op, const char *to, const char *fr, int ty, const char *pc, json_t **out)
{
	return call_on(C, op, to, fr, ty, pc, out);
}

#define CREATE(to, fr, ty, pc) call(M2M_OP_CREATE, to, fr, ty, pc, NULL)
#define UPDATE(to, fr, pc) call(M2M_OP_UPDATE, to, fr, -1, pc, NULL)

/* The attributes of the resource at `to` (a new reference), read as admin. */
static json_t *get_on(cse *c, const char *to, const char *root)
{
	json_t *pc = NULL;
	int rsc = call_on(c, M2M_OP_RETRIEVE, to, "CAdmin", -1, NULL, &pc);
	if (rsc != RSC_OK)
		fail_msg("retrieve %s: %d", to, rsc);
	json_t *a = json_incref(json_object_get(pc, root));
	json_decref(pc);
	if (!a)
		fail_msg("retrieve %s: no %s root", to, root);
	return a;
}

static json_t *get(const char *to, const char *root)
{
	return get_on(C, to, root);
}

static const char *sget(const json_t *a, const char *k)
{
	return json_string_value(json_object_get(a, k));
}

/* The fixture: device AE Cdev (no poa), manager Cmgr and a policy of Cdev
   letting both do everything; node n1 of Cdev with hael [Cdev]. */
static void make_fixture(cse *c, const char *node)
{
	static const char *const steps[][4] = {
		{ "cse-in", "Cdev", "2", "{\"m2m:ae\":{\"rn\":\"dev\",\"api\":\"Ndev\",\"rr\":false,\"srv\":[\"4\"]}}" },
		{ "cse-in", "Cmgr", "2", "{\"m2m:ae\":{\"rn\":\"mgr\",\"api\":\"Nmgr\",\"rr\":false,\"srv\":[\"4\"]}}" },
		{ "cse-in/dev", "Cdev", "1", "{\"m2m:acp\":{\"rn\":\"p\",\"pv\":{\"acr\":[{\"acor\":[\"Cdev\",\"Cmgr\"],"
		  "\"acop\":63}]},\"pvs\":{\"acr\":[{\"acor\":[\"Cdev\"],\"acop\":63}]}}}" },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		assert_int_equal(call_on(c, M2M_OP_CREATE, steps[i][0], steps[i][1], atoi(steps[i][2]), steps[i][3], NULL),
		                 RSC_CREATED);
	char pc[256];
	snprintf(pc, sizeof(pc), "{\"m2m:nod\":{\"rn\":\"%s\",\"ni\":\"urn:dev:%s\",\"hael\":[\"Cdev\"],"
	         "\"acpi\":[\"cse-in/dev/p\"]}}", node, node);
	assert_int_equal(call_on(c, M2M_OP_CREATE, "cse-in", "Cdev", 14, pc, NULL), RSC_CREATED);
}

static int setup(void **state)
{
	(void)state;
	log_level = LOG_ERROR;
	config_init(&cfg);
	free(cfg.db_path);
	cfg.db_path = m2m_strdup(":memory:");
	cfg.mgmt_timeout_s = TIMEOUT_S;
	assert_int_equal(transport_global_init(), 0);
	assert_int_equal(cse_open(&C, &cfg), 0);
	make_fixture(C, "n1");
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

/* ---- the registry ---- */

static const struct spec {
	const char *root;
	int mgd;
	const char *min;            /* members of a minimal valid Create */
	const char *mandatory[6];   /* digest 7.11: C = M */
} specs[] = {
	{ "m2m:fwr", 1001, "\"vr\":\"1.0\",\"fwn\":\"fw\",\"url\":\"http://gw/fw.bin\",\"ud\":false",
	  { "vr", "fwn", "url", "ud" } },
	{ "m2m:swr", 1002, "\"vr\":\"1.0\",\"swn\":\"app\",\"url\":\"http://gw/app.pkg\"", { "vr", "swn", "url" } },
	{ "m2m:mem", 1003, "\"mma\":1024,\"mmt\":4096", { "mma", "mmt" } },
	{ "m2m:ani", 1004, "\"ant\":\"zigbee\"", { "ant" } },
	{ "m2m:bat", 1006, "\"btl\":80,\"bts\":1", { "btl", "bts" } },
	{ "m2m:dvi", 1007, "\"dlb\":\"lamp\",\"man\":\"ACME\",\"mod\":\"L1\",\"dty\":\"light\"",
	  { "dlb", "man", "mod", "dty" } },
	{ "m2m:dvc", 1008, "\"can\":\"dimming\",\"att\":true,\"cas\":{\"acn\":\"x\",\"sus\":0},\"cus\":false",
	  { "can", "att", "cas", "cus" } },
	{ "m2m:rbo", 1009, "\"rbo\":false,\"far\":false", { NULL } },
	{ "m2m:evl", 1010, "\"lgt\":1,\"lgd\":\"boot\",\"lgst\":1", { "lgt", "lgd", "lgst" } },
};

static void test_registry(void **state)
{
	(void)state;
	assert_null(restype_get(TY_MGMTOBJ));
	assert_non_null(restype_get(TY_NODE));
	assert_string_equal(restype_get(TY_NODE)->root, "m2m:nod");
	assert_null(restype_mgd(0));
	assert_null(restype_mgd(1005)); /* areaNwkDeviceInfo: no table */
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const res_type *t = restype_by_root(specs[i].root);
		assert_non_null(t);
		assert_int_equal(t->ty, TY_MGMTOBJ);
		assert_int_equal(t->mgd, specs[i].mgd);
		assert_ptr_equal(restype_mgd(specs[i].mgd), t);
		assert_true(restype_parent_ok(t, TY_NODE));
		assert_false(restype_parent_ok(t, TY_CB));
		assert_false(restype_parent_ok(t, TY_AE));
		/* the common mgmtObj attributes and their rules */
		const attr_def *mgd = restype_attr(t, "mgd"), *dc = restype_attr(t, "dc");
		assert_non_null(mgd);
		assert_int_equal(mgd->u, AP_NP);
		assert_non_null(dc);
		assert_int_equal(dc->u, AP_O);
		static const char *const write_once[] = { "obis", "obps", "mgs" };
		for (size_t k = 0; k < sizeof(write_once) / sizeof(write_once[0]); k++)
			assert_int_equal(restype_attr(t, write_once[k])->u, AP_NP);
		/* a stored resource finds its specialization by mgd */
		json_t *a = json_pack("{s:i,s:i}", "ty", TY_MGMTOBJ, "mgd", specs[i].mgd);
		res *r = res_new(TY_MGMTOBJ, "x", "y", "x", "p/x", a);
		json_decref(a);
		assert_ptr_equal(restype_of(r), t);
		res_free(&r);
	}
}

/* ---- create rules ---- */

/* The minimal body of spec s without member `drop` (NULL: all), plus extra. */
static char *body(const struct spec *s, const char *rn, const char *drop, const char *extra)
{
	char tmp[512], *out = malloc(768);
	assert_non_null(out);
	snprintf(tmp, sizeof(tmp), "{%s}", s->min);
	json_t *o = json_loads(tmp, 0, NULL);
	assert_non_null(o);
	if (drop)
		json_object_del(o, drop);
	json_object_set_new(o, "rn", json_string(rn));
	json_object_set_new(o, "acpi", json_pack("[s]", "cse-in/dev/p"));
	if (extra) {
		json_t *e = json_loads(extra, 0, NULL);
		assert_non_null(e);
		json_object_update(o, e);
		json_decref(e);
	}
	json_t *w = json_pack("{s:o}", s->root, o);
	char *d = json_dumps(w, JSON_COMPACT);
	snprintf(out, 768, "%s", d);
	free(d);
	json_decref(w);
	return out;
}

static void test_create_each(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct spec *s = &specs[i];
		char rn[32], path[64];
		snprintf(rn, sizeof(rn), "c%zu", i);
		snprintf(path, sizeof(path), "cse-in/n1/%s", rn);
		for (size_t k = 0; k < 6 && s->mandatory[k]; k++) {
			char *b = body(s, rn, s->mandatory[k], NULL);
			int rsc = CREATE("cse-in/n1", "Cdev", 13, b);
			if (rsc != RSC_BAD_REQUEST)
				fail_msg("%s without mandatory %s: %d, want 4000", s->root, s->mandatory[k], rsc);
			free(b);
		}
		char *b = body(s, rn, NULL, "{\"mgd\":1}");
		assert_int_equal(CREATE("cse-in/n1", "Cdev", 13, b), RSC_BAD_REQUEST); /* mgd disagrees */
		free(b);
		b = body(s, rn, NULL, NULL);
		json_t *pc = NULL;
		int rsc = call(M2M_OP_CREATE, "cse-in/n1", "Cdev", 13, b, &pc);
		if (rsc != RSC_CREATED)
			fail_msg("%s %s: %d, want 2001", s->root, b, rsc);
		json_t *a = json_object_get(pc, s->root);
		assert_non_null(a);
		assert_int_equal(json_integer_value(json_object_get(a, "ty")), 13);
		assert_int_equal(json_integer_value(json_object_get(a, "mgd")), s->mgd);
		json_decref(pc);
		free(b);
		/* with the right mgd given, too */
		char extra[32];
		snprintf(extra, sizeof(extra), "{\"mgd\":%d}", s->mgd);
		b = body(s, "again", NULL, extra);
		assert_int_equal(CREATE("cse-in/n1", "Cdev", 13, b), RSC_CREATED);
		free(b);
		assert_int_equal(call(M2M_OP_DELETE, "cse-in/n1/again", "Cdev", -1, NULL, NULL), RSC_DELETED);
		/* retrieve: the specialization's root, ty 13, mgd */
		a = get(path, s->root);
		assert_int_equal(json_integer_value(json_object_get(a, "mgd")), s->mgd);
		json_decref(a);
	}
}

static void test_create_rules(void **state)
{
	(void)state;
	static const struct { const char *to; const char *fr; int ty; const char *pc; int rsc; } cases[] = {
		/* status attributes are NP at create */
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:fwr\":{\"vr\":\"1\",\"fwn\":\"f\",\"url\":\"u\",\"ud\":false,"
		  "\"uds\":{\"acn\":\"a\",\"sus\":0}}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:swr\":{\"vr\":\"1\",\"swn\":\"s\",\"url\":\"u\",\"ins\":{\"acn\":\"a\",\"sus\":0}}}",
		  RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:swr\":{\"vr\":\"1\",\"swn\":\"s\",\"url\":\"u\",\"in\":false}}", RSC_BAD_REQUEST },
		/* an operation starts by an Update only */
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:fwr\":{\"vr\":\"1\",\"fwn\":\"f\",\"url\":\"u\",\"ud\":true}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:rbo\":{\"rbo\":true,\"far\":true}}", RSC_BAD_REQUEST },
		/* triggers accept booleans only */
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:fwr\":{\"vr\":\"1\",\"fwn\":\"f\",\"url\":\"u\",\"ud\":\"false\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:rbo\":{\"rbo\":0}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:dvc\":{\"can\":\"c\",\"att\":true,\"cas\":{},\"cus\":true,\"ena\":1}}",
		  RSC_BAD_REQUEST },
		/* ranges and types from the tables */
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:bat\":{\"btl\":101,\"bts\":1}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:bat\":{\"btl\":50,\"bts\":8}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:mem\":{\"mma\":-1,\"mmt\":1}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:evl\":{\"lgt\":6,\"lgd\":\"x\",\"lgst\":1}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:ani\":{\"ant\":\"z\",\"ldv\":\"a\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:bat\":{\"btl\":50,\"bts\":1,\"mgd\":\"1006\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:bat\":{\"btl\":50,\"bts\":1,\"zzz\":1}}", RSC_BAD_REQUEST },
		/* the root decides; ty must be 13 for it */
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:cnt\":{}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:xyz\":{\"mgd\":1}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:bat\":{},\"m2m:mem\":{}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "[1]", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:bat\":[]}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 3, "{\"m2m:bat\":{\"btl\":50,\"bts\":1}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", 13, "{\"m2m:andi\":{\"dvd\":\"d\"}}", RSC_NOT_IMPLEMENTED },
		{ "cse-in/n1", "Cdev", 13, "{\"acme:thing\":{\"mgd\":0,\"mgs\":\"urn:x\"}}", RSC_NOT_IMPLEMENTED },
		/* parents: mgmtObj under node only, node under the CSEBase only */
		{ "cse-in/dev", "Cdev", 13, "{\"m2m:bat\":{\"btl\":50,\"bts\":1}}", RSC_INVALID_CHILD_RESOURCE_TYPE },
		{ "cse-in", "CAdmin", 13, "{\"m2m:bat\":{\"btl\":50,\"bts\":1}}", RSC_INVALID_CHILD_RESOURCE_TYPE },
		{ "cse-in/dev", "Cdev", 14, "{\"m2m:nod\":{\"ni\":\"x\"}}", RSC_INVALID_CHILD_RESOURCE_TYPE },
		/* node attributes */
		{ "cse-in", "Cdev", 14, "{\"m2m:nod\":{\"hael\":[\"Cdev\"]}}", RSC_BAD_REQUEST },
		{ "cse-in", "Cdev", 14, "{\"m2m:nod\":{\"ni\":\"\"}}", RSC_BAD_REQUEST },
		{ "cse-in", "Cdev", 14, "{\"m2m:nod\":{\"ni\":\"x\",\"hael\":[\"\"]}}", RSC_BAD_REQUEST },
		{ "cse-in", "Cdev", 14, "{\"m2m:nod\":{\"ni\":\"x\",\"rms\":true}}", RSC_BAD_REQUEST },
		{ "cse-in", "Cdev", 14, "{\"m2m:nod\":{\"ni\":\"x\",\"nid\":\"n\"}}", RSC_BAD_REQUEST },
		{ "cse-in", "Cdev", 14, "{\"m2m:nod\":{\"ni\":\"x\",\"hael\":\"Cdev\"}}", RSC_BAD_REQUEST },
		/* who may create a node on the CSEBase: registered AEs */
		{ "cse-in", "Cstranger", 14, "{\"m2m:nod\":{\"ni\":\"x\"}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ "cse-in", "Cmgr", 14, "{\"m2m:nod\":{\"rn\":\"n2\",\"ni\":\"x\",\"hael\":[\"Cmgr\"],\"mgca\":\"tr069://acs\"}}",
		  RSC_CREATED },
		/* but no other type */
		{ "cse-in", "Cmgr", 3, "{\"m2m:cnt\":{}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rsc = CREATE(cases[i].to, cases[i].fr, cases[i].ty, cases[i].pc);
		if (rsc != cases[i].rsc)
			fail_msg("case %zu %s: %d, want %d", i, cases[i].pc, rsc, cases[i].rsc);
	}
}

static void test_update_rules(void **state)
{
	(void)state;
	assert_int_equal(CREATE("cse-in/n1", "Cdev", 13,
	                        "{\"m2m:dvi\":{\"rn\":\"dvi\",\"dlb\":\"l\",\"man\":\"m\",\"mod\":\"o\",\"dty\":\"t\","
	                        "\"acpi\":[\"cse-in/dev/p\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(CREATE("cse-in/n1", "Cdev", 13,
	                        "{\"m2m:rbo\":{\"rn\":\"rb\",\"acpi\":[\"cse-in/dev/p\"]}}"), RSC_CREATED);
	static const struct { const char *to; const char *fr; const char *pc; int rsc; } cases[] = {
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"man\":\"other\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"mod\":\"other\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"smod\":\"other\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"mfd\":\"20200101T000000\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"hwv\":\"2\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"cnty\":\"FR\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"mgd\":1007}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"obis\":[\"urn:x\"]}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"dlb\":null}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:dvi\":{\"dlb\":\"kitchen\",\"fwv\":\"2\",\"dc\":\"d\"}}", RSC_UPDATED },
		{ "cse-in/n1/dvi", "Cmgr", "{\"m2m:fwr\":{\"vr\":\"2\"}}", RSC_BAD_REQUEST }, /* another root */
		{ "cse-in/n1/dvi", "Cstranger", "{\"m2m:dvi\":{\"dlb\":\"x\"}}", RSC_ORIGINATOR_HAS_NO_PRIVILEGE },
		{ "cse-in/n1/rb", "Cmgr", "{\"m2m:rbo\":{\"rbo\":true,\"far\":true}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/rb", "Cmgr", "{\"m2m:rbo\":{\"rbo\":\"yes\"}}", RSC_BAD_REQUEST },
		{ "cse-in/n1/rb", "Cmgr", "{\"m2m:rbo\":{\"far\":false}}", RSC_UPDATED },
		{ "cse-in/n1", "Cdev", "{\"m2m:nod\":{\"ni\":null}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", "{\"m2m:nod\":{\"rms\":false}}", RSC_BAD_REQUEST },
		{ "cse-in/n1", "Cdev", "{\"m2m:nod\":{\"nty\":2,\"mgca\":\"http://dev\"}}", RSC_UPDATED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rsc = UPDATE(cases[i].to, cases[i].fr, cases[i].pc);
		if (rsc != cases[i].rsc)
			fail_msg("case %zu %s %s: %d, want %d", i, cases[i].to, cases[i].pc, rsc, cases[i].rsc);
	}
	json_t *a = get("cse-in/n1/dvi", "m2m:dvi");
	assert_string_equal(sget(a, "man"), "m");
	assert_string_equal(sget(a, "dlb"), "kitchen");
	json_decref(a);
}

/* ---- the life cycle ---- */

static char *status_acn(const char *to, const char *root, const char *status, int want_sus)
{
	json_t *a = get(to, root);
	json_t *st = json_object_get(a, status);
	if (json_integer_value(json_object_get(st, "sus")) != want_sus)
		fail_msg("%s.%s.sus is %lld, want %d", to, status, (long long)json_integer_value(json_object_get(st, "sus")),
		         want_sus);
	char *acn = m2m_strdup(sget(st, "acn"));
	json_decref(a);
	assert_non_null(acn);
	return acn;
}

static void report(const char *to, const char *fr, const char *root, const char *status, const char *acn,
                   int sus, const char *more, int want)
{
	char pc[512];
	snprintf(pc, sizeof(pc), "{\"%s\":{\"%s\":{\"acn\":\"%s\",\"sus\":%d}%s%s}}", root, status, acn, sus,
	         more ? "," : "", more ? more : "");
	int rsc = UPDATE(to, fr, pc);
	if (rsc != want)
		fail_msg("report %s by %s: %d, want %d", pc, fr, rsc, want);
}

static void test_firmware_cycle(void **state)
{
	(void)state;
	const char *fw = "cse-in/n1/fw";
	assert_int_equal(CREATE("cse-in/n1", "Cdev", 13,
	                        "{\"m2m:fwr\":{\"rn\":\"fw\",\"vr\":\"1.0\",\"fwn\":\"main\",\"url\":\"http://gw/fw.bin\","
	                        "\"ud\":false,\"acpi\":[\"cse-in/dev/p\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"uds\":{\"acn\":\"x\",\"sus\":1}}}"), RSC_OPERATION_NOT_ALLOWED);
	/* start */
	json_t *pc = NULL;
	assert_int_equal(call(M2M_OP_UPDATE, fw, "Cmgr", -1, "{\"m2m:fwr\":{\"ud\":true}}", &pc), RSC_UPDATED);
	json_t *a = json_object_get(pc, "m2m:fwr");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "uds"), "sus")), 3);
	assert_null(json_object_get(a, "_op")); /* hidden */
	json_decref(pc);
	char *acn = status_acn(fw, "m2m:fwr", "uds", 3);
	assert_non_null(strstr(acn, "/ud/"));
	/* while in process */
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"ud\":true}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"ud\":false}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"dc\":\"x\"}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(fw, "CAdmin", "{\"m2m:fwr\":{\"dc\":\"x\"}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"lbl\":[\"wave1\"]}}"), RSC_UPDATED);
	report(fw, "Cmgr", "m2m:fwr", "uds", acn, 1, NULL, RSC_OPERATION_NOT_ALLOWED); /* not the device */
	report(fw, "CAdmin", "m2m:fwr", "uds", acn, 1, NULL, RSC_OPERATION_NOT_ALLOWED);
	report(fw, "Cdev", "m2m:fwr", "uds", "fwr0/ud/99", 1, NULL, RSC_BAD_REQUEST); /* another acn */
	report(fw, "Cdev", "m2m:fwr", "uds", acn, 3, NULL, RSC_BAD_REQUEST);
	report(fw, "Cdev", "m2m:fwr", "uds", acn, 0, NULL, RSC_BAD_REQUEST);
	report(fw, "Cdev", "m2m:fwr", "uds", acn, 1, "\"ud\":true", RSC_BAD_REQUEST);
	assert_int_equal(UPDATE(fw, "Cdev", "{\"m2m:fwr\":{\"uds\":\"done\"}}"), RSC_BAD_REQUEST);
	/* the device's report ends it, with its new version */
	report(fw, "Cdev", "m2m:fwr", "uds", acn, 1, "\"vr\":\"2.0\"", RSC_UPDATED);
	a = get(fw, "m2m:fwr");
	assert_true(json_is_false(json_object_get(a, "ud")));
	assert_string_equal(sget(a, "vr"), "2.0");
	assert_string_equal(sget(a, "dc"), "ok");
	assert_string_equal(sget(json_object_get(a, "uds"), "acn"), acn);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "uds"), "sus")), 1);
	json_decref(a);
	report(fw, "Cdev", "m2m:fwr", "uds", acn, 1, NULL, RSC_BAD_REQUEST); /* nothing in process */
	free(acn);

	/* a second operation, ended by an adapter through mgmt_report() */
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"ud\":true}}"), RSC_UPDATED);
	acn = status_acn(fw, "m2m:fwr", "uds", 3);
	assert_non_null(strstr(acn, "/ud/2"));
	assert_int_equal(mgmt_report(C, "nosuch/ud/1", true, NULL, NULL, NULL), RSC_NOT_FOUND);
	json_t *bad = json_pack("{s:s}", "man", "x");
	assert_int_equal(mgmt_report(C, acn, true, NULL, NULL, bad), RSC_BAD_REQUEST); /* not a fwr attribute */
	json_decref(bad);
	assert_int_equal(mgmt_report(C, acn, false, "digest-mismatch", "image SHA-256 differs", NULL), 0);
	a = get(fw, "m2m:fwr");
	assert_string_equal(sget(a, "dc"), "digest-mismatch: image SHA-256 differs");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "uds"), "sus")), 2);
	assert_true(json_is_false(json_object_get(a, "ud")));
	assert_string_equal(sget(a, "vr"), "2.0");
	json_decref(a);
	assert_int_equal(mgmt_report(C, acn, true, NULL, NULL, NULL), RSC_NOT_FOUND); /* already ended */
	free(acn);
}

static void test_software_and_reboot(void **state)
{
	(void)state;
	const char *sw = "cse-in/n1/sw", *rb = "cse-in/n1/rb2";
	assert_int_equal(CREATE("cse-in/n1", "Cdev", 13,
	                        "{\"m2m:swr\":{\"rn\":\"sw\",\"vr\":\"1\",\"swn\":\"app\",\"url\":\"http://gw/a\","
	                        "\"acpi\":[\"cse-in/dev/p\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(UPDATE(sw, "Cmgr", "{\"m2m:swr\":{\"in\":true,\"act\":true}}"), RSC_BAD_REQUEST);
	assert_int_equal(UPDATE(sw, "Cmgr", "{\"m2m:swr\":{\"in\":true}}"), RSC_UPDATED);
	char *acn = status_acn(sw, "m2m:swr", "ins", 3);
	assert_int_equal(UPDATE(sw, "Cmgr", "{\"m2m:swr\":{\"act\":true}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(sw, "Cmgr", "{\"m2m:swr\":{\"acts\":{\"acn\":\"a\",\"sus\":1}}}"), RSC_OPERATION_NOT_ALLOWED);
	report(sw, "Cdev", "m2m:swr", "acts", acn, 1, NULL, RSC_BAD_REQUEST); /* another status attribute */
	report(sw, "Cdev", "m2m:swr", "ins", acn, 2, NULL, RSC_UPDATED);     /* failure without a reason */
	json_t *a = get(sw, "m2m:swr");
	assert_true(strncmp(sget(a, "dc"), "unknown:", 8) == 0);
	assert_true(json_is_false(json_object_get(a, "in")));
	json_decref(a);
	free(acn);

	assert_int_equal(CREATE("cse-in/n1", "Cdev", 13, "{\"m2m:rbo\":{\"rn\":\"rb2\",\"acpi\":[\"cse-in/dev/p\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(UPDATE(rb, "Cdev", "{\"m2m:rbo\":{\"rbo\":false}}"), RSC_UPDATED); /* nothing in process */
	assert_int_equal(UPDATE(rb, "Cmgr", "{\"m2m:rbo\":{\"rbo\":true}}"), RSC_UPDATED);
	assert_int_equal(UPDATE(rb, "Cmgr", "{\"m2m:rbo\":{\"far\":true}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(rb, "Cmgr", "{\"m2m:rbo\":{\"rbo\":false}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(rb, "Cdev", "{\"m2m:rbo\":{\"far\":false}}"), RSC_OPERATION_NOT_ALLOWED);
	assert_int_equal(UPDATE(rb, "Cdev", "{\"m2m:rbo\":{\"rbo\":false,\"dc\":\"ok\"}}"), RSC_UPDATED);
	a = get(rb, "m2m:rbo");
	assert_string_equal(sget(a, "dc"), "ok");
	assert_true(json_is_false(json_object_get(a, "rbo")));
	json_decref(a);
	assert_int_equal(UPDATE(rb, "Cmgr", "{\"m2m:rbo\":{\"far\":true}}"), RSC_UPDATED);
	assert_int_equal(UPDATE(rb, "Cdev", "{\"m2m:rbo\":{\"far\":false,\"dc\":\"busy: try later\"}}"), RSC_UPDATED);
	a = get(rb, "m2m:rbo");
	assert_string_equal(sget(a, "dc"), "busy: try later");
	json_decref(a);
}

/* Poll until the status of `to` leaves sus 3; returns its attributes. */
static json_t *wait_ended_on(cse *c, const char *to, const char *root, const char *status, int max_ms)
{
	for (int waited = 0;; waited += 100) {
		json_t *a = get_on(c, to, root);
		if (json_integer_value(json_object_get(json_object_get(a, status), "sus")) != 3 || waited >= max_ms)
			return a;
		json_decref(a);
		usleep(100 * 1000);
	}
}

static void test_timeout(void **state)
{
	(void)state;
	const char *fw = "cse-in/n1/fwt";
	assert_int_equal(CREATE("cse-in/n1", "Cdev", 13,
	                        "{\"m2m:fwr\":{\"rn\":\"fwt\",\"vr\":\"1.0\",\"fwn\":\"main\",\"url\":\"http://gw/fw.bin\","
	                        "\"ud\":false,\"acpi\":[\"cse-in/dev/p\"]}}"),
	                 RSC_CREATED);
	assert_int_equal(UPDATE(fw, "Cmgr", "{\"m2m:fwr\":{\"ud\":true}}"), RSC_UPDATED);
	json_t *a = wait_ended_on(C, fw, "m2m:fwr", "uds", (TIMEOUT_S + 5) * 1000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "uds"), "sus")), 2);
	assert_true(strncmp(sget(a, "dc"), "timeout", 7) == 0);
	assert_true(json_is_false(json_object_get(a, "ud")));
	json_decref(a);

	/* an operation on a mgmtObj deleted with its node just goes away */
	{
		assert_int_equal(CREATE("cse-in", "Cdev", 14, "{\"m2m:nod\":{\"rn\":\"gone\",\"ni\":\"g\",\"hael\":[\"Cdev\"]}}"),
		                 RSC_CREATED);
		assert_int_equal(CREATE("cse-in/gone", "Cdev", 13, "{\"m2m:rbo\":{\"rn\":\"r\"}}"), RSC_CREATED);
		assert_int_equal(UPDATE("cse-in/gone/r", "Cdev", "{\"m2m:rbo\":{\"rbo\":true}}"), RSC_UPDATED);
		assert_int_equal(call(M2M_OP_DELETE, "cse-in/gone", "Cdev", -1, NULL, NULL), RSC_DELETED);
		assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in/gone/r", "CAdmin", -1, NULL, NULL), RSC_NOT_FOUND);
		usleep((TIMEOUT_S * 1000 + 600) * 1000);
		assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in/gone/r", "CAdmin", -1, NULL, NULL), RSC_NOT_FOUND);
	}
}

/* An operation in process when the CSE closes times out after it opens
   again (a database file: :memory: does not survive). */
static void test_in_process_at_start(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/hearth-mgmt-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	char db[320];
	snprintf(db, sizeof(db), "%s/h.db", dir);
	cse_config c2;
	config_init(&c2);
	free(c2.db_path);
	c2.db_path = m2m_strdup(db);
	c2.mgmt_timeout_s = 60; /* long: the operation stays in process until the restart */
	cse *k = NULL;
	assert_int_equal(cse_open(&k, &c2), 0);
	make_fixture(k, "nr");
	assert_int_equal(call_on(k, M2M_OP_CREATE, "cse-in/nr", "Cdev", 13,
	                         "{\"m2m:fwr\":{\"rn\":\"fw\",\"vr\":\"1\",\"fwn\":\"f\",\"url\":\"http://gw/f\",\"ud\":false}}",
	                         NULL),
	                 RSC_CREATED);
	assert_int_equal(call_on(k, M2M_OP_UPDATE, "cse-in/nr/fw", "Cdev", -1, "{\"m2m:fwr\":{\"ud\":true}}", NULL),
	                 RSC_UPDATED);
	cse_close(&k);
	c2.mgmt_timeout_s = 1;
	time_t t0 = time(NULL);
	assert_int_equal(cse_open(&k, &c2), 0);
	json_t *a = wait_ended_on(k, "cse-in/nr/fw", "m2m:fwr", "uds", 6000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "uds"), "sus")), 2);
	assert_string_equal(sget(a, "dc"), "timeout: no report within 1 s");
	assert_true(time(NULL) - t0 <= 5);
	json_decref(a);
	/* a new operation gets the next acn */
	assert_int_equal(call_on(k, M2M_OP_UPDATE, "cse-in/nr/fw", "Cdev", -1, "{\"m2m:fwr\":{\"ud\":true}}", NULL),
	                 RSC_UPDATED);
	a = get_on(k, "cse-in/nr/fw", "m2m:fwr");
	assert_non_null(strstr(sget(json_object_get(a, "uds"), "acn"), "/ud/2"));
	json_decref(a);
	cse_close(&k);
	config_clear(&c2);
	char path[352];
	static const char *const files[] = { "h.db", "h.db-wal", "h.db-shm" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_create_each),
		cmocka_unit_test(test_create_rules),
		cmocka_unit_test(test_update_rules),
		cmocka_unit_test(test_firmware_cycle),
		cmocka_unit_test(test_software_and_reboot),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_in_process_at_start),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
