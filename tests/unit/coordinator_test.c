/*
 * coordinator_test.c - the decision rules of hearth-coordinator, without a
 * network: version comparison, the attestation verdict read from labels,
 * one plan row per case (a table), and the configuration's checks.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ae/coordinator/coord.h"

static void test_version_cmp(void **state)
{
	(void)state;
	static const struct { const char *a, *b; int want; } t[] = {
		{ "1.0", "1.0", 0 },      { "1.0", "2.0", -1 },  { "10.0", "9.0", 1 }, { "1.0", "1.0.1", -1 },
		{ "1.10", "1.9", 1 },     { "1.0a", "1.0b", -1 }, { "", "1", -1 },     { "2", "", 1 },
		{ "1.0.0", "1.0.0", 0 },  { "1.x", "1.10", 1 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = co_version_cmp(t[i].a, t[i].b);
		if (got != t[i].want)
			fail_msg("cmp(%s, %s) = %d, want %d", t[i].a, t[i].b, got, t[i].want);
	}
}

static void test_trust_labels(void **state)
{
	(void)state;
	static const struct { const char *lbl, *trust, *reason; } t[] = {
		{ "[]", "unknown", "no attestation verdict" },
		{ "[\"hearth:trust=verified\",\"hearth:trust-at=20250101T000000\"]", "verified", "" },
		{ "[\"hearth:trust=gateway-asserted\"]", "gateway-asserted", "" },
		{ "[\"hearth:trust=failed\",\"hearth:trust-reason=bad-signature\"]", "failed", "bad-signature" },
		{ "[\"hearth:trust=excellent\"]", "unknown", "unrecognized verdict" },
		{ "[\"hearth:trust-reason=x\",\"other\",7]", "unknown", "no attestation verdict" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct co_device d;
		memset(&d, 0, sizeof(d));
		json_t *l = json_loads(t[i].lbl, 0, NULL);
		assert_non_null(l);
		co_trust_from_labels(l, &d);
		json_decref(l);
		assert_string_equal(d.trust, t[i].trust);
		assert_string_equal(d.trust_reason, t[i].reason);
	}
	struct co_device d;
	co_trust_from_labels(NULL, &d);
	assert_string_equal(d.trust, "unknown");
}

static const char MANIFEST[] = "{\"v\":1,\"vendor\":\"Acme\",\"model\":\"lamp\",\"hw\":[\"1.0\",\"1.1\"],\"version\":\"2.0\","
                               "\"seq\":4,\"criticality\":\"medium\",\"advisories\":[],\"iat\":1,\"exp\":2}";
static const char ADVISORIES[] =
	"[{\"id\":\"A-kev\",\"model\":\"lamp\",\"affected\":[\"1.0\"],\"cvss\":5.0,\"kev\":true},"
	"{\"id\":\"A-cvss\",\"model\":\"lamp\",\"affected_below\":\"1.5\",\"cvss\":9.1,\"kev\":false},"
	"{\"id\":\"A-low\",\"model\":\"lamp\",\"affected\":[\"1.7\"],\"cvss\":4.0,\"kev\":false},"
	"{\"id\":\"A-other\",\"model\":\"oven\",\"affected\":[\"1.7\"],\"cvss\":10,\"kev\":true}]";

static void test_plan_rows(void **state)
{
	(void)state;
	struct co_vendor_cfg vc = { .name = "Acme" };
	struct co_model models[2] = { { .model = "lamp", .in_catalog = true, .latest = "2.0" },
	                              { .model = "kettle", .in_catalog = true, .latest = "1.0",
	                                .refused = "manifest refused: manifest-signature" } };
	models[0].manifest = json_loads(MANIFEST, 0, NULL);
	struct co_vendor_data vd = { .cfg = &vc, .ok = true, .model = models, .nmodels = 2,
	                             .advisories = json_loads(ADVISORIES, 0, NULL) };
	struct co_vendor_data down = { .cfg = &vc, .ok = false, .error = "GET /v1/catalog: HTTP 500" };
	assert_non_null(models[0].manifest);
	assert_non_null(vd.advisories);
	static const struct {
		const char *mod, *hwv, *fwv, *trust, *trust_reason;
		int vendor; /* 0 none, 1 up, 2 down */
		const char *current, *crit, *action, *reason;
	} t[] = {
		{ "lamp", "1.0", "2.0", "verified", "", 1, "true", NULL, "none", "current" },
		{ "lamp", "1.0", "1.0", "verified", "", 1, "false", "critical", "update", "outdated: 1.0 -> 2.0" },
		{ "lamp", "1.1", "1.2", "gateway-asserted", "", 1, "false", "critical", "update", "outdated: 1.2 -> 2.0" },
		{ "lamp", "1.1", "1.7", "verified", "", 1, "false", "medium", "update", "outdated: 1.7 -> 2.0" },
		{ "lamp", "3.0", "1.7", "verified", "", 1, "false", "medium", "blocked",
		  "hardware 3.0 not in the manifest's hw list" },
		{ "lamp", "1.0", "1.7", "failed", "bad-signature", 1, "false", "medium", "blocked",
		  "trust failed: bad-signature" },
		{ "lamp", "1.0", "1.7", "unknown", "no attestation verdict", 1, "false", "medium", "blocked",
		  "trust unknown (no attestation verdict)" },
		{ "kettle", "1.0", "0.9", "verified", "", 1, NULL, NULL, "blocked", "manifest refused: manifest-signature" },
		{ "toaster", "1.0", "0.9", "verified", "", 1, NULL, NULL, "blocked", "model toaster unknown to vendor Acme" },
		{ "lamp", "1.0", "1.0", "verified", "", 0, NULL, NULL, "blocked", "no vendor service configured for Acme" },
		{ "lamp", "1.0", "1.0", "verified", "", 2, NULL, NULL, "blocked",
		  "vendor Acme unavailable: GET /v1/catalog: HTTP 500" },
		{ "lamp", "1.0", "", "verified", "", 1, NULL, NULL, "blocked",
		  "incomplete inventory record (manufacturer, model or fwv missing)" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct co_device d;
		memset(&d, 0, sizeof(d));
		snprintf(d.man, sizeof(d.man), "Acme");
		snprintf(d.mod, sizeof(d.mod), "%s", t[i].mod);
		snprintf(d.hwv, sizeof(d.hwv), "%s", t[i].hwv);
		snprintf(d.fwv, sizeof(d.fwv), "%s", t[i].fwv);
		snprintf(d.trust, sizeof(d.trust), "%s", t[i].trust);
		snprintf(d.trust_reason, sizeof(d.trust_reason), "%s", t[i].trust_reason);
		json_t *row = co_plan_device(&d, t[i].vendor == 0 ? NULL : t[i].vendor == 1 ? &vd : &down);
		assert_non_null(row);
		if (strcmp(json_string_value(json_object_get(row, "reason")), t[i].reason) != 0)
			print_message("case %zu: reason %s\n", i, json_string_value(json_object_get(row, "reason")));
		assert_string_equal(json_string_value(json_object_get(row, "action")), t[i].action);
		assert_string_equal(json_string_value(json_object_get(row, "reason")), t[i].reason);
		const json_t *cur = json_object_get(row, "current");
		if (!t[i].current)
			assert_true(json_is_null(cur));
		else
			assert_true(json_is_true(cur) == (strcmp(t[i].current, "true") == 0) && json_is_boolean(cur));
		const json_t *crit = json_object_get(row, "criticality");
		if (!t[i].crit)
			assert_true(json_is_null(crit));
		else
			assert_string_equal(json_string_value(crit), t[i].crit);
		assert_true(json_is_true(json_object_get(row, "eligible")) == (strcmp(t[i].action, "update") == 0));
		json_decref(row);
	}
	json_decref(models[0].manifest);
	json_decref(vd.advisories);
}

static int load(const char *const *args, struct co_config *cfg, char *err, size_t errlen)
{
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)"hearth-coordinator";
	while (args[n - 1] && n < 31) {
		argv[n] = (char *)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	return co_config_load(cfg, n, argv, err, errlen);
}

static void test_config(void **state)
{
	(void)state;
	static struct co_config cfg;
	char err[CO_ERR_MAX], ini[] = "/tmp/coordinator-test-XXXXXX";
	int fd = mkstemp(ini);
	assert_true(fd >= 0);
	static const char text[] = "[in]\nurl = http://127.0.0.1:8080\noriginator = CAdmin\n"
	                           "[vendor \"Acme\"]\nurl = https://127.0.0.1:8443\nca = ca.pem\nkey = acme.pub\n"
	                           "[operator]\nkey = op.pem\n[coordinator]\nstate-dir = st\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(load((const char *const[]){ "-c", ini, "plan", "--json", "out.json", "--vendor",
	                                             "Globex=https://h:1", "--vendor-key", "Globex=g.pub",
	                                             "--originator", "Cop", NULL },
	                      &cfg, err, sizeof(err)),
	                 0);
	assert_string_equal(cfg.command, "plan");
	assert_string_equal(cfg.originator, "Cop"); /* the flag wins */
	assert_string_equal(cfg.cse_id, "id-in");
	assert_string_equal(cfg.json_out, "out.json");
	assert_int_equal(cfg.nvendors, 2);
	assert_string_equal(co_config_vendor(&cfg, "Acme")->key, "acme.pub");
	assert_string_equal(co_config_vendor(&cfg, "Globex")->url, "https://h:1");
	assert_string_equal(cfg.operator_key, "op.pem");
	assert_string_equal(cfg.state_dir, "st");
	assert_string_equal(cfg.campaign, "default");
	assert_int_equal(cfg.max_per_minute, 60);
	assert_int_equal(load((const char *const[]){ "--in-url", "http://x", "--operator-key", "k.pem", "--campaign",
	                                             "spring-1", "--max-per-minute", "0", "launch", NULL },
	                      &cfg, err, sizeof(err)),
	                 0);
	assert_string_equal(cfg.command, "launch");
	assert_string_equal(cfg.campaign, "spring-1");
	assert_int_equal(cfg.max_per_minute, 0);
	assert_int_equal(cfg.nwaves, 1); /* defaults: one wave, 90 %, 20 %, no window, install, ask */
	assert_int_equal(cfg.success_rate, 90);
	assert_int_equal(cfg.failure_threshold, 20);
	assert_int_equal(cfg.window_start, -1);
	assert_string_equal(cfg.mode, "install");
	assert_string_equal(cfg.no_policy, "ask");
	assert_int_equal(load((const char *const[]){ "--in-url", "http://x", "--operator-key", "k.pem", "--waves",
	                                             "1,10,100", "--success-rate", "95", "--failure-threshold", "5",
	                                             "--window", "22:30-04:15", "--mode", "inform", "--no-policy", "auto",
	                                             "--listen", "127.0.0.1:9000", "--wait", "30", "launch", NULL },
	                      &cfg, err, sizeof(err)),
	                 0);
	assert_int_equal(cfg.nwaves, 3);
	assert_int_equal(cfg.waves[0], 1);
	assert_int_equal(cfg.waves[2], 100);
	assert_int_equal(cfg.success_rate, 95);
	assert_int_equal(cfg.failure_threshold, 5);
	assert_int_equal(cfg.window_start, 22 * 60 + 30);
	assert_int_equal(cfg.window_end, 4 * 60 + 15);
	assert_string_equal(cfg.mode, "inform");
	assert_string_equal(cfg.no_policy, "auto");
	assert_string_equal(cfg.listen, "127.0.0.1:9000");
	assert_int_equal(cfg.wait_s, 30);
	static const char *const bad[][8] = {
		{ "plan", NULL },                                         /* no IN */
		{ "--in-url", "http://x", NULL },                         /* no command */
		{ "--in-url", "http://x", "frobnicate", NULL },           /* unknown command */
		{ "--in-url", "http://x", "launch", NULL },               /* no operator key */
		{ "--in-url", "http://x", "--campaign", "a/b", "status", NULL },
		{ "--in-url", "http://x", "--campaign", "", "status", NULL },
		{ "--in-url", "http://x", "--max-per-minute", "-1", "status", NULL },
		{ "--in-url", "http://x", "--max-per-minute", "1x", "status", NULL },
		{ "--in-url", "http://x", "--max-per-minute", "100001", "status", NULL },
		{ "--in-url", "ftp://x", "plan", NULL },
		{ "--in-url", "http://x", "--vendor", "Acme", "plan", NULL },
		{ "--in-url", "http://x", "--vendor", "../x=https://h", "plan", NULL },
		{ "--in-url", "http://x", "--vendor", "A=https://h", "plan", NULL }, /* no key */
		{ "--in-url", "http://x", "--bogus", "plan", NULL },
		{ "--in-url", "http://x", "--waves", "50,40,100", "status", NULL }, /* not increasing */
		{ "--in-url", "http://x", "--waves", "10,50", "status", NULL },     /* not ending at 100 */
		{ "--in-url", "http://x", "--waves", "0,100", "status", NULL },
		{ "--in-url", "http://x", "--waves", "10,,100", "status", NULL },
		{ "--in-url", "http://x", "--success-rate", "101", "status", NULL },
		{ "--in-url", "http://x", "--failure-threshold", "x", "status", NULL },
		{ "--in-url", "http://x", "--window", "25:00-03:00", "status", NULL },
		{ "--in-url", "http://x", "--window", "02:00-02:00", "status", NULL },
		{ "--in-url", "http://x", "--window", "0200-0300", "status", NULL },
		{ "--in-url", "http://x", "--mode", "force", "status", NULL },
		{ "--in-url", "http://x", "--no-policy", "yes", "status", NULL },
		{ "--in-url", "http://x", "--listen", "127.0.0.1", "status", NULL },
		{ "--in-url", "http://x", "--listen", "127.0.0.1:70000", "status", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (load(bad[i], &cfg, err, sizeof(err)) != -1)
			fail_msg("bad case %zu accepted", i);
		assert_true(err[0] != '\0');
	}
	fd = open(ini, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	static const char badini[] = "[in]\nurl = http://x\n[vendor \"Acme\"]\nport = 1\n";
	assert_int_equal(write(fd, badini, sizeof(badini) - 1), (ssize_t)(sizeof(badini) - 1));
	close(fd);
	assert_int_equal(load((const char *const[]){ "-c", ini, "plan", NULL }, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":4: "));
	unlink(ini);
}

static void test_waves_windows(void **state)
{
	(void)state;
	const unsigned w[] = { 1, 10, 100 };
	/* 6 devices: 1 % -> the first one, 10 % -> still one, then the rest */
	assert_int_equal(co_wave_of(0, 6, w, 3), 0);
	assert_int_equal(co_wave_of(1, 6, w, 3), 2);
	assert_int_equal(co_wave_of(5, 6, w, 3), 2);
	/* 200 devices: 2, 20, 200 */
	assert_int_equal(co_wave_of(1, 200, w, 3), 0);
	assert_int_equal(co_wave_of(2, 200, w, 3), 1);
	assert_int_equal(co_wave_of(19, 200, w, 3), 1);
	assert_int_equal(co_wave_of(20, 200, w, 3), 2);
	const unsigned half[] = { 50, 100 };
	assert_int_equal(co_wave_of(0, 2, half, 2), 0);
	assert_int_equal(co_wave_of(1, 2, half, 2), 1);
	assert_true(co_window_open(-1, -1, 700));
	assert_true(co_window_open(120, 300, 120));
	assert_false(co_window_open(120, 300, 300));
	assert_false(co_window_open(120, 300, 60));
	assert_true(co_window_open(1350, 255, 1400)); /* 22:30-04:15 wraps midnight */
	assert_true(co_window_open(1350, 255, 10));
	assert_false(co_window_open(1350, 255, 600));
}

static void test_consent_rule(void **state)
{
	(void)state;
	time_t at = 0;
	const char *why = NULL;
	struct cs_policy p = { 0 };
	char err[CO_ERR_MAX];
	assert_int_equal(cs_policy_parse("{\"v\":1,\"critical\":\"auto\",\"auto_after_hours\":24,\"other\":\"ask\","
	                                 "\"decisions\":{\"M1\":\"refused\",\"M2\":\"granted\"}}",
	                                 &p, err, sizeof(err)),
	                 0);
	/* decisions first, whatever the class */
	assert_int_equal(co_consent_decide(&p, "ask", "critical", "M1", 1000, 1000, &at, &why), CO_CONSENT_REFUSED);
	assert_int_equal(co_consent_decide(&p, "ask", "low", "M2", 1000, 1000, &at, &why), CO_CONSENT_GO);
	/* other: ask */
	assert_int_equal(co_consent_decide(&p, "ask", "high", "M3", 1000, 1000, &at, &why), CO_CONSENT_WAIT);
	/* critical: automatic 24 h after asking */
	assert_int_equal(co_consent_decide(&p, "ask", "critical", "M3", 1000, 1000 + 3600, &at, &why), CO_CONSENT_WAIT);
	assert_int_equal(at, 1000 + 24 * 3600);
	assert_int_equal(co_consent_decide(&p, "ask", "critical", "M3", 1000, 1000 + 24 * 3600, &at, &why), CO_CONSENT_GO);
	p.auto_after_hours = 0;
	assert_int_equal(co_consent_decide(&p, "ask", "critical", "M3", 1000, 1000, &at, &why), CO_CONSENT_GO);
	p.other = CS_AUTO;
	assert_int_equal(co_consent_decide(&p, "ask", "low", "M3", 1000, 1000, &at, &why), CO_CONSENT_GO);
	p.critical = CS_ASK;
	assert_int_equal(co_consent_decide(&p, "ask", "critical", "M3", 1000, 99999999, &at, &why), CO_CONSENT_WAIT);
	/* no policy in the home */
	assert_int_equal(co_consent_decide(NULL, "ask", "critical", "M3", 1000, 1000, &at, &why), CO_CONSENT_WAIT);
	assert_int_equal(co_consent_decide(NULL, "auto", "low", "M3", 1000, 1000, &at, &why), CO_CONSENT_GO);
	cs_policy_clear(&p);
}

static json_t *entry(const char *status, bool launched)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "device", "urn:dev:A:l:1", "gateway",
	                 "id-mn", "firmware", "/id-mn/fwr1", "manufacturer", "A", "model", "l", "trust", "verified",
	                 "before", "1.0", "target", "2.0", "manifest", "h", "package", "/id-mn/cse-mn/hearth-updates/c-1",
	                 "launched", launched, "status", status, "reason", "update started");
}

static void test_status_rules(void **state)
{
	(void)state;
	json_t *e = entry("in-process", true);
	/* still running */
	json_t *fw = json_pack("{s:s,s:s,s:{s:s,s:i}}", "vr", "1.0", "url", "/id-mn/cse-mn/hearth-updates/c-1", "uds",
	                       "acn", "a", "sus", 3);
	assert_false(co_status_from_fw(e, fw, NULL));
	assert_string_equal(json_string_value(json_object_get(e, "status")), "in-process");
	json_decref(fw);
	/* successful */
	fw = json_pack("{s:s,s:s,s:s,s:{s:s,s:i}}", "vr", "2.0", "dc", "ok", "url", "/id-mn/cse-mn/hearth-updates/c-1",
	               "uds", "acn", "a", "sus", 1);
	assert_true(co_status_from_fw(e, fw, NULL));
	assert_string_equal(json_string_value(json_object_get(e, "status")), "successful");
	assert_string_equal(json_string_value(json_object_get(e, "after")), "2.0");
	json_decref(fw);
	/* a final status survives an unreadable firmware */
	assert_false(co_status_from_fw(e, NULL, "rsc 5103"));
	assert_string_equal(json_string_value(json_object_get(e, "status")), "successful");
	json_t *row = co_status_row(e);
	assert_string_equal(json_string_value(json_object_get(row, "before")), "1.0");
	assert_string_equal(json_string_value(json_object_get(row, "after")), "2.0");
	assert_non_null(json_object_get(row, "reason"));
	json_decref(row);
	json_decref(e);
	/* failed, with dc as the reason */
	e = entry("in-process", true);
	fw = json_pack("{s:s,s:s,s:s,s:{s:s,s:i}}", "vr", "1.0", "dc", "digest-mismatch: x", "url",
	               "/id-mn/cse-mn/hearth-updates/c-1", "uds", "acn", "a", "sus", 2);
	assert_true(co_status_from_fw(e, fw, NULL));
	assert_string_equal(json_string_value(json_object_get(e, "status")), "failed");
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "digest-mismatch: x");
	json_decref(fw);
	/* another package took over: the status stays, the reason says so */
	fw = json_pack("{s:s,s:s,s:{s:s,s:i}}", "vr", "1.0", "url", "/id-mn/other", "uds", "acn", "b", "sus", 3);
	json_object_set_new(e, "status", json_string("in-process"));
	assert_true(co_status_from_fw(e, fw, NULL));
	assert_string_equal(json_string_value(json_object_get(e, "status")), "in-process");
	json_decref(fw);
	json_decref(e);
	/* a current device: after = before */
	e = entry("current", false);
	row = co_status_row(e);
	assert_string_equal(json_string_value(json_object_get(row, "after")), "1.0");
	json_decref(row);
	json_decref(e);
}

static void test_state_check(void **state)
{
	(void)state;
	char err[CO_ERR_MAX];
	json_t *st = json_pack("{s:s,s:[o]}", "campaign", "c", "devices", entry("pending", false));
	assert_int_equal(co_campaign_check(st, err, sizeof(err)), 0);
	json_t *d = json_array_get(json_object_get(st, "devices"), 0);
	json_object_set_new(d, "status", json_string("exploded"));
	assert_int_equal(co_campaign_check(st, err, sizeof(err)), -1);
	json_object_set_new(d, "status", json_string("pending"));
	json_object_set_new(d, "launched", json_string("yes"));
	assert_int_equal(co_campaign_check(st, err, sizeof(err)), -1);
	json_object_set_new(d, "launched", json_false());
	json_object_set_new(d, "device", json_integer(3));
	assert_int_equal(co_campaign_check(st, err, sizeof(err)), -1);
	json_decref(st);
	st = json_pack("{s:s,s:{}}", "campaign", "c", "devices");
	assert_int_equal(co_campaign_check(st, err, sizeof(err)), -1);
	json_decref(st);
	st = json_pack("[]");
	assert_int_equal(co_campaign_check(st, err, sizeof(err)), -1);
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_trust_labels),
		cmocka_unit_test(test_plan_rows),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_status_rules),
		cmocka_unit_test(test_state_check),
		cmocka_unit_test(test_waves_windows),
		cmocka_unit_test(test_consent_rule),
	};
	return cmocka_run_group_tests_name("coordinator", tests, NULL, NULL);
}
