/*
 * device_test.c - the pure parts of hearth-device (ae/device/): image URL
 * digests, image headers, the operation Notify, report contents, the state
 * document and the configuration. Tables of cases, hostile inputs
 * included; the agent's behaviour over HTTP is tested black-box by
 * conformance/13_device_agent_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ae/device/dev_config.h"
#include "ae/device/dev_image.h"
#include "ae/device/dev_ops.h"
#include "ae/device/dev_state.h"
#include "cse/log.h"

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"

/* ---- dev_url_digest ---- */

static void test_url_digest(void **state)
{
	(void)state;
	static const struct { const char *url; int rc; const char *base; } cases[] = {
		{ "http://gw/img/a.bin#sha256=" HEX64, 0, "http://gw/img/a.bin" },
		{ "https://gw:8443/a?x=1#sha256=" HEX64, 0, "https://gw:8443/a?x=1" },
		{ "http://gw/a#size=10&sha256=" HEX64 "&sig=x", 0, "http://gw/a" },
		{ "http://gw/a#SHA256=" HEX64, 0, "http://gw/a" },
		{ "http://gw/a", -1, NULL },
		{ "http://gw/a#", -1, NULL },
		{ "http://gw/a#sha256=", -1, NULL },
		{ "http://gw/a#sha256=0011", -1, NULL },
		{ "http://gw/a#sha256=" HEX64 "00", -1, NULL },
		{ "http://gw/a#sha256=zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", -1, NULL },
		{ "http://gw/a#sha256=" HEX64 "&sha256=" HEX64, -1, NULL },
		{ "#sha256=" HEX64, -1, NULL },
		{ "", -1, NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char base[256];
		unsigned char d[32];
		int rc = dev_url_digest(cases[i].url, base, sizeof base, d);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].url, rc, cases[i].rc);
		if (rc == 0) {
			assert_string_equal(base, cases[i].base);
			assert_int_equal(d[0], 0x00);
			assert_int_equal(d[1], 0x11);
			assert_int_equal(d[31], 0xff);
		}
	}
	char small[8];
	unsigned char d[32];
	assert_int_equal(dev_url_digest("http://gw/a#sha256=" HEX64, small, sizeof small, d), -1);
	assert_int_equal(dev_url_digest(NULL, small, sizeof small, d), -1);

	static const struct { const char *url; bool ok; } fetch[] = {
		{ "http://gw/a", true }, { "HTTPS://gw", true }, { "ftp://gw/a", false },
		{ "file:///etc/passwd", false }, { "http://", false }, { "http:///x", false },
		{ "http://gw/a b", false }, { "http://gw/\x01", false }, { "gw/a", false },
	};
	for (size_t i = 0; i < sizeof fetch / sizeof fetch[0]; i++)
		if (dev_url_fetchable(fetch[i].url) != fetch[i].ok)
			fail_msg("fetchable(%s) != %d", fetch[i].url, fetch[i].ok);
}

/* ---- dev_image_parse_header ---- */

static void test_image_header(void **state)
{
	(void)state;
	static char long_line[400];
	memset(long_line, 'a', sizeof long_line - 1);
	memcpy(long_line, "HEARTH-IMAGE v1 version=1 x=", 28);
	static const struct { const char *img; int rc; const char *vr; const char *why; } cases[] = {
		{ "HEARTH-IMAGE v1 version=2.1.0\npayload", 0, "2.1.0", NULL },
		{ "HEARTH-IMAGE v1 name=fw version=2.1.0-rc1+b7 build=42\n", 0, "2.1.0-rc1+b7", NULL },
		{ "HEARTH-IMAGE v1 version=1~beta\n\x00\xff", 0, "1~beta", NULL },
		{ "HEARTH-IMAGE v1 name=fw\n", -1, NULL, "no version" },
		{ "HEARTH-IMAGE v1 version=1 version=2\n", -1, NULL, "two versions" },
		{ "HEARTH-IMAGE v1 version=a/b\n", -1, NULL, "malformed" },
		{ "HEARTH-IMAGE v1 version=\n", -1, NULL, "key=value" },
		{ "HEARTH-IMAGE v1 version=1 \n", -1, NULL, "blank" },
		{ "HEARTH-IMAGE v1 version=1  x=2\n", -1, NULL, "key=value" },
		{ "HEARTH-IMAGE v1 Version=1\n", -1, NULL, "key" },
		{ "HEARTH-IMAGE v1 version=1 x=\x01\n", -1, NULL, "value" },
		{ "HEARTH-IMAGE v1 version=1", -1, NULL, "end" },
		{ "HEARTH-IMAGE v2 version=1\n", -1, NULL, "format version" },
		{ "MZ\x90", -1, NULL, "not a Hearth image" },
		{ "", -1, NULL, "not a Hearth image" },
		{ long_line, -1, NULL, "end" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char vr[DEV_MAX_VERSION + 1] = "", why[200] = "";
		size_t len = strlen(cases[i].img);
		if (i == 2)
			len += 3; /* binary payload after the line */
		int rc = dev_image_parse_header(cases[i].img, len, vr, sizeof vr, why, sizeof why);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s), want %d", i, rc, why, cases[i].rc);
		if (rc == 0)
			assert_string_equal(vr, cases[i].vr);
		else if (!strstr(why, cases[i].why))
			fail_msg("case %zu: reason '%s' lacks '%s'", i, why, cases[i].why);
	}
	char vr[8], why[64];
	assert_int_equal(dev_image_parse_header(NULL, 0, vr, sizeof vr, why, sizeof why), -1);
	/* a version longer than the caller's buffer is refused, not cut */
	assert_int_equal(dev_image_parse_header("HEARTH-IMAGE v1 version=123456789\n", 34, vr, sizeof vr,
	                                        why, sizeof why), -1);

	char dir[] = "/tmp/hearth-devtest.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f.img", dir);
	char v2[DEV_MAX_VERSION + 1];
	assert_int_equal(dev_image_write_factory(path, "TH10-fw", "1.2.3"), 0);
	assert_int_equal(dev_image_check_file(path, v2, sizeof v2, why, sizeof why), 0);
	assert_string_equal(v2, "1.2.3");
	unlink(path);
	assert_int_equal(dev_image_check_file(path, v2, sizeof v2, why, sizeof why), -1);
	rmdir(dir);
}

/* ---- dev_notify_parse ---- */

static void test_notify_parse(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		int kind;            /* enum dev_notify_kind */
		int op;              /* enum dev_op_kind when DEV_NOTIFY_OP */
		const char *trigger, *acn, *to, *url, *swn;
	} cases[] = {
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"fw1\",\"url\":\"http://x#sha256=1\",\"ud\":true,"
		  "\"uds\":{\"acn\":\"fw1/ud/1\",\"sus\":3}}},\"net\":1},\"sur\":\"/id-mn/cse-mn/n/fw\"}}",
		  DEV_NOTIFY_OP, DEV_OP_FIRMWARE, "ud", "fw1/ud/1", "/id-mn/fw1", "http://x#sha256=1", "" },
		/* no ri: the sur */
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ud\":true,\"uds\":{\"acn\":\"a\",\"sus\":3}}}},"
		  "\"sur\":\"cse-mn/n/fw\"}}", DEV_NOTIFY_OP, DEV_OP_FIRMWARE, "ud", "a", "cse-mn/n/fw", "", "" },
		/* an ri with a '/' is not used */
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"a/b\",\"ud\":true,\"uds\":{\"acn\":\"a\",\"sus\":3}}}},"
		  "\"sur\":\"/id-mn/x\"}}", DEV_NOTIFY_OP, DEV_OP_FIRMWARE, "ud", "a", "/id-mn/x", "", "" },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:swr\":{\"ri\":\"s1\",\"swn\":\"app\",\"in\":true,"
		  "\"ins\":{\"acn\":\"s1/in/1\",\"sus\":3}}}}}}", DEV_NOTIFY_OP, DEV_OP_SOFTWARE, "in", "s1/in/1", "/id-mn/s1", "", "app" },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:swr\":{\"ri\":\"s1\",\"swn\":\"app\",\"un\":true,"
		  "\"ins\":{\"acn\":\"u\",\"sus\":3}}}}}}", DEV_NOTIFY_OP, DEV_OP_SOFTWARE, "un", "u", "/id-mn/s1", "", "app" },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:swr\":{\"ri\":\"s1\",\"swn\":\"app\",\"act\":true,\"in\":false,"
		  "\"ins\":{\"acn\":\"old\",\"sus\":1},\"acts\":{\"acn\":\"x\",\"sus\":3}}}}}}",
		  DEV_NOTIFY_OP, DEV_OP_SOFTWARE, "act", "x", "/id-mn/s1", "", "app" },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:swr\":{\"ri\":\"s1\",\"swn\":\"../etc\",\"dea\":true,"
		  "\"acts\":{\"acn\":\"d\",\"sus\":3}}}}}}", DEV_NOTIFY_OP, DEV_OP_SOFTWARE, "dea", "d", "/id-mn/s1", "", "" },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:rbo\":{\"ri\":\"r1\",\"rbo\":true,\"far\":false}}}}}",
		  DEV_NOTIFY_OP, DEV_OP_REBOOT, "rbo", "", "/id-mn/r1", "", "" },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:rbo\":{\"ri\":\"r1\",\"rbo\":true,\"far\":true}}}}}",
		  DEV_NOTIFY_OP, DEV_OP_REBOOT, "far", "", "/id-mn/r1", "", "" },
		/* well-formed notifications that start nothing */
		{ "{\"m2m:sgn\":{\"vrq\":true,\"sur\":\"/id-mn/s\"}}", DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"sud\":true,\"sur\":\"/id-mn/s\"}}", DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:cin\":{\"con\":\"1\"}}}}}", DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{}}", DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"f\",\"ud\":false,\"uds\":{\"acn\":\"a\",\"sus\":1}}}}}}",
		  DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"f\",\"ud\":true}}}}}", DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"f\",\"ud\":true,\"uds\":{\"acn\":\"a\",\"sus\":\"3\"}}}}}}",
		  DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"f\",\"ud\":true,\"uds\":{\"acn\":\"a b\",\"sus\":3}}}}}}",
		  DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"f\",\"ud\":true,\"uds\":{\"acn\":42,\"sus\":3}}}}}}",
		  DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:swr\":{\"ri\":\"s\",\"in\":true,\"acts\":{\"acn\":\"a\",\"sus\":3}}}}}}",
		  DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:rbo\":{\"ri\":\"r\",\"rbo\":false}}}}}", DEV_NOTIFY_OTHER, 0, 0, 0, 0, 0, 0 },
		/* unusable */
		{ "{}", DEV_NOTIFY_BAD, 0, 0, 0, 0, 0, 0 },
		{ "[1]", DEV_NOTIFY_BAD, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":1}", DEV_NOTIFY_BAD, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":[]}}}}", DEV_NOTIFY_BAD, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:rbo\":{\"rbo\":true}}}}}", DEV_NOTIFY_BAD, 0, 0, 0, 0, 0, 0 },
		{ "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:rbo\":{\"rbo\":true}}},\"sur\":\"has blank\"}}", DEV_NOTIFY_BAD, 0, 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_error_t je;
		json_t *body = json_loads(cases[i].json, JSON_DECODE_ANY, &je);
		if (!body)
			fail_msg("case %zu: test JSON does not parse: %s", i, je.text);
		dev_op op;
		char why[200];
		int k = dev_notify_parse(body, "/id-mn", &op, why, sizeof why);
		json_decref(body);
		if (k != cases[i].kind)
			fail_msg("case %zu: kind %d (%s), want %d", i, k, why, cases[i].kind);
		if (k != DEV_NOTIFY_OP)
			continue;
		assert_int_equal(op.kind, cases[i].op);
		assert_string_equal(op.trigger, cases[i].trigger);
		assert_string_equal(op.acn, cases[i].acn);
		assert_string_equal(op.to, cases[i].to);
		assert_string_equal(op.url, cases[i].url);
		assert_string_equal(op.name, cases[i].swn);
		assert_int_equal(op.phase, DEV_PH_ACCEPTED);
	}
	/* NULL body, over-long acn and URL */
	dev_op op;
	char why[64];
	assert_int_equal(dev_notify_parse(NULL, "/id-mn", &op, why, sizeof why), DEV_NOTIFY_BAD);
	char *acn = malloc(400), *url = malloc(DEV_MAX_URL + 10);
	memset(acn, 'a', 399);
	acn[399] = '\0';
	memset(url, 'u', DEV_MAX_URL + 9);
	url[DEV_MAX_URL + 9] = '\0';
	json_t *b = json_pack("{s:{s:{s:{s:{s:s,s:b,s:{s:s,s:i}}}}}}", "m2m:sgn", "nev", "rep", "m2m:fwr", "ri", "f",
	                      "ud", 1, "uds", "acn", acn, "sus", 3);
	assert_int_equal(dev_notify_parse(b, "/id-mn", &op, why, sizeof why), DEV_NOTIFY_OTHER);
	json_decref(b);
	b = json_pack("{s:{s:{s:{s:{s:s,s:s,s:b,s:{s:s,s:i}}}}}}", "m2m:sgn", "nev", "rep", "m2m:fwr", "ri", "f",
	              "url", url, "ud", 1, "uds", "acn", "a", "sus", 3);
	assert_int_equal(dev_notify_parse(b, "/id-mn", &op, why, sizeof why), DEV_NOTIFY_OP);
	assert_string_equal(op.url, "-"); /* fails the fetch, never cut silently */
	json_decref(b);
	free(acn);
	free(url);
}

/* ---- dev_report_pc ---- */

static void test_report_pc(void **state)
{
	(void)state;
	static const struct {
		int kind;
		const char *trigger;
		bool ok;
		const char *code, *text, *vr, *want;
	} cases[] = {
		{ DEV_OP_FIRMWARE, "ud", true, NULL, NULL, "2.1.0",
		  "{\"m2m:fwr\":{\"dc\":\"ok\",\"uds\":{\"acn\":\"A\",\"sus\":1},\"vr\":\"2.1.0\"}}" },
		{ DEV_OP_FIRMWARE, "ud", false, "digest-mismatch", "image SHA-256 differs", NULL,
		  "{\"m2m:fwr\":{\"dc\":\"digest-mismatch: image SHA-256 differs\",\"uds\":{\"acn\":\"A\",\"sus\":2}}}" },
		{ DEV_OP_FIRMWARE, "ud", false, "no-digest", "", "9",
		  "{\"m2m:fwr\":{\"dc\":\"no-digest\",\"uds\":{\"acn\":\"A\",\"sus\":2}}}" },
		{ DEV_OP_SOFTWARE, "in", true, NULL, NULL, "4.2",
		  "{\"m2m:swr\":{\"dc\":\"ok\",\"ins\":{\"acn\":\"A\",\"sus\":1},\"vr\":\"4.2\"}}" },
		{ DEV_OP_SOFTWARE, "un", true, NULL, NULL, NULL,
		  "{\"m2m:swr\":{\"dc\":\"ok\",\"ins\":{\"acn\":\"A\",\"sus\":1}}}" },
		{ DEV_OP_SOFTWARE, "act", false, "busy", "x", NULL,
		  "{\"m2m:swr\":{\"acts\":{\"acn\":\"A\",\"sus\":2},\"dc\":\"busy: x\"}}" },
		{ DEV_OP_SOFTWARE, "dea", true, NULL, NULL, NULL,
		  "{\"m2m:swr\":{\"acts\":{\"acn\":\"A\",\"sus\":1},\"dc\":\"ok\"}}" },
		{ DEV_OP_REBOOT, "rbo", true, NULL, NULL, NULL, "{\"m2m:rbo\":{\"dc\":\"ok\",\"rbo\":false}}" },
		{ DEV_OP_REBOOT, "far", false, "busy", "y", NULL, "{\"m2m:rbo\":{\"dc\":\"busy: y\",\"far\":false}}" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		dev_op op;
		memset(&op, 0, sizeof op);
		op.kind = cases[i].kind;
		snprintf(op.trigger, sizeof op.trigger, "%s", cases[i].trigger);
		if (op.kind != DEV_OP_REBOOT)
			snprintf(op.acn, sizeof op.acn, "A");
		json_t *pc = dev_report_pc(&op, cases[i].ok, cases[i].code, cases[i].text, cases[i].vr);
		assert_non_null(pc);
		char *s = json_dumps(pc, JSON_COMPACT | JSON_SORT_KEYS);
		if (strcmp(s, cases[i].want) != 0)
			fail_msg("case %zu: %s, want %s", i, s, cases[i].want);
		free(s);
		json_decref(pc);
	}
	/* a long reason is cut, not overflowed */
	dev_op op = { .kind = DEV_OP_FIRMWARE, .trigger = "ud", .acn = "A" };
	char text[2000];
	memset(text, 't', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	json_t *pc = dev_report_pc(&op, false, "download-failed", text, NULL);
	const char *dc = json_string_value(json_object_get(json_object_get(pc, "m2m:fwr"), "dc"));
	assert_non_null(dc);
	assert_true(strlen(dc) < 512 && strncmp(dc, "download-failed: ttt", 20) == 0);
	json_decref(pc);
	op.kind = DEV_OP_NONE;
	assert_null(dev_report_pc(&op, true, NULL, NULL, NULL));
}

/* ---- state document ---- */

static void factory_cfg(dev_config *cfg)
{
	dev_config_init(cfg);
	char *argv[] = { (char *)"d", (char *)"--software", (char *)"app=1.0,drv=2", (char *)"--fw-version",
	                 (char *)"1.0.0", NULL };
	char err[200];
	assert_int_equal(dev_config_load(cfg, 5, argv, err, sizeof err), 0);
}

static void test_state_roundtrip(void **state)
{
	(void)state;
	dev_config cfg;
	factory_cfg(&cfg);
	dev_state st, back;
	memset(&st, 0, sizeof st);
	dev_state_factory(&st, &cfg, "Cdev1");
	assert_string_equal(st.aei, "Cdev1");
	assert_int_equal(st.running, 0);
	assert_int_equal(st.slot[0].state, DEV_SLOT_GOOD);
	assert_string_equal(st.slot[0].vr, "1.0.0");
	assert_int_equal(st.nsw, 2);
	st.has_pending = true;
	st.pending = (dev_op){ .kind = DEV_OP_FIRMWARE, .trigger = "ud", .acn = "f/ud/1", .to = "/id-mn/f",
	                       .url = "http://x#sha256=0", .phase = DEV_PH_INSTALLED, .slot = 1 };
	st.slot[1].state = DEV_SLOT_PENDING;
	dev_outbox_push(&st, "/id-mn/f", json_pack("{s:{s:s}}", "m2m:fwr", "dc", "ok"), true);
	dev_outbox_push(&st, "/id-mn/s", json_pack("{s:{s:s}}", "m2m:swr", "dc", "busy"), false);
	snprintf(st.sw[1].mo, sizeof st.sw[1].mo, "/id-mn/s9");

	json_t *doc = dev_state_to_json(&st);
	assert_non_null(doc);
	char err[200];
	assert_int_equal(dev_state_from_json(&back, doc, err, sizeof err), 0);
	json_decref(doc);
	assert_string_equal(back.aei, "Cdev1");
	assert_true(back.has_pending);
	assert_int_equal(back.pending.phase, DEV_PH_INSTALLED);
	assert_int_equal(back.pending.slot, 1);
	assert_string_equal(back.pending.acn, "f/ud/1");
	assert_int_equal(back.slot[1].state, DEV_SLOT_PENDING);
	assert_int_equal(back.nout, 1); /* the busy report is not persisted */
	assert_string_equal(back.outbox[0].to, "/id-mn/f");
	assert_string_equal(back.sw[1].mo, "/id-mn/s9");
	assert_true(back.sw[0].active);

	/* outbox bound: the oldest is dropped */
	for (int i = 0; i < DEV_MAX_OUTBOX + 3; i++)
		dev_outbox_push(&back, "/id-mn/x", json_object(), true);
	assert_int_equal(back.nout, DEV_MAX_OUTBOX);
	dev_state_clear(&back);
	dev_state_clear(&st);

	/* save + load through the file */
	char dir[] = "/tmp/hearth-devtest.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(dev_state_load(&st, dir, err, sizeof err), 0); /* none yet */
	dev_state_factory(&st, &cfg, "");
	st.boots = 7;
	assert_int_equal(dev_state_save(&st, dir, err, sizeof err), 0);
	dev_state_clear(&st);
	assert_int_equal(dev_state_load(&st, dir, err, sizeof err), 1);
	assert_int_equal(st.boots, 7);
	dev_state_clear(&st);
	char path[128];
	snprintf(path, sizeof path, "%s/state.json.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/state.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"format\":1", f);
	fclose(f);
	assert_int_equal(dev_state_load(&st, dir, err, sizeof err), -1);
	unlink(path);
	rmdir(dir);
	dev_config_clear(&cfg);
}

static void test_state_invalid(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"[]",
		"{\"format\":2,\"running\":\"A\"}",
		"{\"format\":1,\"running\":\"C\",\"slots\":{}}",
		"{\"format\":1,\"running\":\"B\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\",\"vr\":\"\"}}}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"fine\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}}}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1 2\"},\"B\":{\"state\":\"empty\"}}}",
		"{\"format\":1,\"running\":\"A\",\"boots\":-1,\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}}}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}},"
		"\"software\":[{\"swn\":\"a\",\"vr\":\"1\",\"active\":true},{\"swn\":\"a\",\"vr\":\"2\",\"active\":true}]}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}},"
		"\"software\":[{\"swn\":\"../x\",\"vr\":\"1\",\"active\":true}]}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}},"
		"\"pending\":{\"kind\":\"firmware\",\"trigger\":\"ud\",\"to\":\"x\",\"phase\":\"flashing\"}}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}},"
		"\"pending\":{\"kind\":\"firmware\",\"trigger\":\"zap\",\"to\":\"x\",\"phase\":\"accepted\"}}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}},"
		"\"pending\":{\"kind\":\"firmware\",\"trigger\":\"ud\",\"to\":\"\",\"phase\":\"accepted\"}}",
		"{\"format\":1,\"running\":\"A\",\"slots\":{\"A\":{\"state\":\"good\",\"vr\":\"1\"},\"B\":{\"state\":\"empty\"}},"
		"\"outbox\":[{\"to\":\"x\",\"pc\":3}]}",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		json_t *doc = json_loads(docs[i], JSON_DECODE_ANY, NULL);
		assert_non_null(doc);
		dev_state st;
		char err[200];
		if (dev_state_from_json(&st, doc, err, sizeof err) != -1)
			fail_msg("case %zu accepted: %s", i, docs[i]);
		assert_int_equal(st.nout, 0);
		json_decref(doc);
	}
	/* an aei longer than its buffer */
	char aei[300];
	memset(aei, 'C', sizeof aei - 1);
	aei[sizeof aei - 1] = '\0';
	json_t *doc = json_pack("{s:i,s:s,s:s,s:{s:{s:s,s:s},s:{s:s}}}", "format", 1, "aei", aei, "running", "A",
	                        "slots", "A", "state", "good", "vr", "1", "B", "state", "empty");
	dev_state st;
	char err[200];
	assert_int_equal(dev_state_from_json(&st, doc, err, sizeof err), -1);
	json_decref(doc);
}

/* ---- configuration ---- */

static void test_config(void **state)
{
	(void)state;
	dev_config cfg;
	char err[300];

	dev_config_init(&cfg);
	char *a1[] = { (char *)"d", (char *)"--model", (char *)"TH10", (char *)"--serial", (char *)"42",
	               (char *)"--cse-id", (char *)"/id-mn1", (char *)"--cse-url", (char *)"http://127.0.0.1:8282/",
	               NULL };
	assert_int_equal(dev_config_load(&cfg, 9, a1, err, sizeof err), 0);
	assert_string_equal(cfg.ae_name, "TH10-42");
	assert_string_equal(cfg.node_name, "TH10-42-node");
	assert_string_equal(cfg.fw_name, "TH10-fw");
	assert_string_equal(cfg.device_label, "Hearth TH10 42");
	assert_string_equal(cfg.cse_id, "id-mn1");
	assert_string_equal(cfg.cse_url, "http://127.0.0.1:8282");
	assert_int_equal(cfg.npackages, 0);
	dev_config_clear(&cfg);

	static const struct { const char *flag, *val, *msg; } bad[] = {
		{ "--cse-url", "http://h:1/~/id-mn/cse-mn", "--cse-url" },
		{ "--cse-url", "mqtt://h:1", "--cse-url" },
		{ "--originator", "Xabc", "--originator" },
		{ "--app-id", "hearth", "--app-id" },
		{ "--listen-addr", "localhost", "--listen-addr" },
		{ "--listen-port", "-1", "--listen-port" },
		{ "--poa", "mqtt://x", "--poa" },
		{ "--manufacturer", "Acme Corp", "--manufacturer" },
		{ "--serial", ".hidden", "--serial" },
		{ "--fw-version", "1/2", "--fw-version" },
		{ "--software", "a=1,", "ends with" },
		{ "--software", "a", "name=version" },
		{ "--max-image-size", "10", "--max-image-size" },
		{ "--download-timeout", "0", "--download-timeout" },
		{ "--log-level", "loud", "--log-level" },
		{ "--test-crash-after", "never", "--test-crash-after" },
		{ "--nope", "x", "unknown" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		dev_config_init(&cfg);
		char *av[] = { (char *)"d", (char *)bad[i].flag, (char *)bad[i].val, NULL };
		int rc = dev_config_load(&cfg, 3, av, err, sizeof err);
		if (rc != -1 || !strstr(err, bad[i].msg))
			fail_msg("%s %s: rc %d, '%s'", bad[i].flag, bad[i].val, rc, err);
		assert_string_equal(cfg.model, "SIM1"); /* unchanged */
		dev_config_clear(&cfg);
	}

	/* INI file, flags win */
	char dir[] = "/tmp/hearth-devtest.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/dev.ini", dir);
	FILE *f = fopen(path, "w");
	fputs("[cse]\nurl = http://127.0.0.1:9000\n[device]\nmodel = TH20\nserial = 7\n"
	      "software = a=1.0,b=2.0\ncrash-after = install\n", f);
	fclose(f);
	dev_config_init(&cfg);
	char *a2[] = { (char *)"d", (char *)"-c", path, (char *)"--serial", (char *)"8", NULL };
	int rc = dev_config_load(&cfg, 5, a2, err, sizeof err);
	/* crash-after lives in [test], so the file is refused naming its line */
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, ":7:"));
	dev_config_clear(&cfg);
	f = fopen(path, "w");
	fputs("[cse]\nurl = http://127.0.0.1:9000\n[device]\nmodel = TH20\nserial = 7\n"
	      "software = a=1.0,b=2.0\n[test]\ncrash-after = install\n", f);
	fclose(f);
	dev_config_init(&cfg);
	assert_int_equal(dev_config_load(&cfg, 5, a2, err, sizeof err), 0);
	assert_string_equal(cfg.cse_url, "http://127.0.0.1:9000");
	assert_string_equal(cfg.serial, "8");
	assert_string_equal(cfg.ae_name, "TH20-8");
	assert_int_equal(cfg.npackages, 2);
	assert_string_equal(cfg.packages[1].name, "b");
	assert_string_equal(cfg.packages[1].version, "2.0");
	assert_int_equal(cfg.crash_after, DEV_CRASH_INSTALL);
	dev_config_clear(&cfg);
	f = fopen(path, "w");
	fputs("[device]\nserial = 1\nserial = 2\n", f);
	fclose(f);
	dev_config_init(&cfg);
	assert_int_equal(dev_config_load(&cfg, 3, a2, err, sizeof err), -1);
	assert_non_null(strstr(err, "twice"));
	dev_config_clear(&cfg);
	unlink(path);
	rmdir(dir);

	dev_package p[DEV_MAX_PACKAGES];
	assert_int_equal(dev_packages_parse("", p, DEV_MAX_PACKAGES, err, sizeof err), 0);
	assert_int_equal(dev_packages_parse("x=1", p, 1, err, sizeof err), 1);
	assert_int_equal(dev_packages_parse("x=1,y=2", p, 1, err, sizeof err), -1);
	assert_int_equal(dev_packages_parse("=1", p, 4, err, sizeof err), -1);
	assert_int_equal(dev_packages_parse("x=", p, 4, err, sizeof err), -1);
}

int main(void)
{
	log_level = LOG_ERROR;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_digest),
		cmocka_unit_test(test_image_header),
		cmocka_unit_test(test_notify_parse),
		cmocka_unit_test(test_report_pc),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_invalid),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
