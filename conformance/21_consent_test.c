/*
 * 21_consent_test.c - the home user's consent tool hearth-consent, black
 * box, with the real CSEs: the harness' IN-CSE and an MN-CSE (the home
 * gateway) registered to it. `hearth-consent init` runs against the MN;
 * then every access the layout promises is checked over HTTP:
 *   the user reads the policy; the coordinator (an AE at the IN, its
 *   requests retargeted to the MN, arriving as /id-in/Ccoordinator) reads
 *   it and discovers the container by label, may not write it, and may
 *   create consent requests; a third AE may not read the policy;
 *   grant / refuse / the final refusal; `requests --json` lists the
 *   coordinator's requests with their decisions; bad usage is exit 2.
 * Local mode only (the test starts the MN); HTTP+JSON pass only.
 */
#include "conformance/lib/harness.h"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MN_ID "id-mn"
#define MN_RN "cse-mn"
#define USER "Chome-user"
#define COORD "Ccoordinator"
#define OTHER "Cneighbour"
#define M1 "m1-Qx3bX0aTSuC8qgfo1pN3nB3yVg3GQq6xV3K6pUqg"
#define M2 "m2-Y0sE2gY3aTSuC8qgfo1pN3nB3yVg3GQq6xV3K6pU"

static harness_peer mn = { .name = "mn" };
static m2m_client *mnc;
static char bindir[PATH_MAX];
static char logpath[PATH_MAX];
static char in_admin[128];

#define POLICY_LA MN_RN "/home-user/consent/la"

static void mn_req(m2m_result *r, m2m_op op, const char *to, const char *fr, int ty, json_t *content,
                   const char *query)
{
	m2m_do(mnc, op, to, fr, ty, content, query, r);
	json_decref(content);
}

/* hearth-consent --cse-url <mn> args...: its exit status (-1: not run). */
static int consent(const char *const *args)
{
	char bin[PATH_MAX + 32], url[80];
	snprintf(bin, sizeof(bin), "%s/hearth-consent", bindir);
	snprintf(url, sizeof(url), "%s", mn.url);
	const char *argv[24];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--cse-url";
	argv[n++] = url;
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	int st = 0;
	if (rc != 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#define CONSENT(...) consent((const char *const[]){ __VA_ARGS__, NULL })

/* The policy in force as the user reads it at the MN: its document (new
 * reference), and the instance's ri into ri. */
static json_t *policy_now(char *ri, size_t rilen)
{
	m2m_result r;
	mn_req(&r, M2M_OP_RETRIEVE, POLICY_LA, USER, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	const json_t *cin = harness_res(&r, "m2m:cin");
	EXPECT_STR(cin, "cnf", "application/json:0");
	if (ri)
		snprintf(ri, rilen, "%s", harness_jstr(cin, "ri") ? harness_jstr(cin, "ri") : "");
	json_error_t je;
	const char *con = harness_jstr(cin, "con");
	json_t *doc = con ? json_loads(con, 0, &je) : NULL;
	EXPECT_TRUE(doc != NULL, cin);
	m2m_result_clear(&r);
	return doc;
}

/* A consent request as the coordinator writes it. */
static json_t *request_doc(const char *device, const char *manifest, long asked)
{
	json_t *q = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:I,s:n}", "v", 1, "kind", "consent",
	                      "campaign", "spring", "device", device, "manufacturer", "Acme", "model", "lamp", "from",
	                      "1.0", "to", "2.0", "manifest", manifest, "criticality", "medium", "advisories", "HSA-1",
	                      "asked", (json_int_t)asked, "auto_at");
	char *s = json_dumps(q, JSON_COMPACT);
	json_decref(q);
	json_t *cin = json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", s);
	free(s);
	return cin;
}

/* The coordinator, at the IN, addressing the MN (retargeted). */
static void coord_req(m2m_result *r, m2m_op op, const char *path, int ty, json_t *content, const char *query)
{
	harness_req(r, op, hfmt("/" MN_ID "/%s", path), COORD, ty, content, query);
}

static int group_setup(void **state)
{
	int rc = harness_group_setup(state);
	if (rc != 0 || !harness_is_local())
		return rc;
	snprintf(bindir, sizeof(bindir), "%s", harness_bin_dir());
	snprintf(logpath, sizeof(logpath), "%s/consent.log", harness_dir());
	snprintf(in_admin, sizeof(in_admin), "%s/%s", harness_csi(), harness_admin());
	const char *args[] = { "--cse-type", "mn", "--cse-id", MN_ID, "--cse-rn", MN_RN, "--registrar-url",
	                       harness_url(), "--registrar-id", harness_cse_id(), "--registrar-rn", harness_cse_rn(),
	                       "--admin", in_admin, NULL };
	if (harness_peer_start(&mn, args) != 0)
		return -1;
	mnc = m2m_client_new(mn.url);
	if (!mnc)
		return -1;
	/* the MN is registered when the IN holds its <remoteCSE> */
	int64_t end = harness_now_ms() + 10000;
	for (;;) {
		m2m_result r;
		harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", harness_cse_rn(), MN_ID), harness_admin(), -1, NULL, NULL);
		bool ok = harness_rsc_is(&r, 2000);
		m2m_result_clear(&r);
		if (ok)
			break;
		if (harness_now_ms() >= end) {
			print_error("21_consent: the MN did not register to the IN\n");
			return -1;
		}
		harness_sleep_ms(100);
	}
	return 0;
}

static int group_teardown(void **state)
{
	int rc = 0;
	if (mn.pid > 0 && harness_peer_stop(&mn) != 0) {
		harness_peer_log_tail(&mn, 30);
		rc = -1;
	}
	m2m_client_free(&mnc);
	return harness_group_teardown(state) || rc;
}

#define SKIP_IF_NEEDED()         \
	do {                     \
		HARNESS_LOCAL_ONLY(); \
		HARNESS_HTTP_JSON_ONLY(); \
	} while (0)

static void test_init(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	harness_case("init: AE, both policies, both containers, the default policy");
	assert_int_equal(CONSENT("init"), 0);
	json_t *doc = policy_now(NULL, 0);
	EXPECT_INT(doc, "v", 1);
	EXPECT_STR(doc, "critical", "auto");
	EXPECT_INT(doc, "auto_after_hours", 24);
	EXPECT_STR(doc, "other", "ask");
	EXPECT_TRUE(json_is_object(json_object_get(doc, "decisions")) &&
	            json_object_size(json_object_get(doc, "decisions")) == 0, doc);
	json_decref(doc);

	harness_case("the containers carry their labels and policies; the ACP rules are the layout's");
	m2m_result r;
	mn_req(&r, M2M_OP_RETRIEVE, MN_RN "/home-user/consent-policy-acp", USER, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	const json_t *acp = harness_res(&r, "m2m:acp");
	char acp_ri[128];
	snprintf(acp_ri, sizeof(acp_ri), "%s", harness_jstr(acp, "ri") ? harness_jstr(acp, "ri") : "");
	json_t *acr = json_object_get(json_object_get(acp, "pv"), "acr");
	EXPECT_TRUE(json_array_size(acr) == 2, acp);
	EXPECT_TRUE(harness_list_has_str(json_object_get(json_array_get(acr, 1), "acor"), "/id-in/" COORD), acp);
	EXPECT_INT(json_array_get(acr, 1), "acop", 34);
	EXPECT_INT(json_array_get(json_object_get(json_object_get(acp, "pvs"), "acr"), 0), "acop", 63);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_RETRIEVE, MN_RN "/home-user/consent", USER, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	const json_t *cnt = harness_res(&r, "m2m:cnt");
	EXPECT_TRUE(harness_list_has_str(json_object_get(cnt, "lbl"), "hearth:consent"), cnt);
	EXPECT_TRUE(harness_list_has_str(json_object_get(cnt, "acpi"), acp_ri), cnt);
	EXPECT_INT(cnt, "mni", 100);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_RETRIEVE, MN_RN "/home-user/consent-requests", USER, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(harness_list_has_str(json_object_get(harness_res(&r, "m2m:cnt"), "lbl"), "hearth:consent-requests"),
	            r.body);
	EXPECT_INT(harness_res(&r, "m2m:cnt"), "mni", 1000);
	m2m_result_clear(&r);

	harness_case("init again: idempotent, the policy is kept");
	char ri1[128], ri2[128];
	json_decref(policy_now(ri1, sizeof(ri1)));
	assert_int_equal(CONSENT("init"), 0);
	json_decref(policy_now(ri2, sizeof(ri2)));
	EXPECT_TRUE(strcmp(ri1, ri2) == 0, NULL);

	harness_case("the same AE-ID under another resource name: exit 1, nothing created");
	assert_int_equal(CONSENT("--rn", "elsewhere", "init"), 1);
	mn_req(&r, M2M_OP_RETRIEVE, MN_RN "/elsewhere", USER, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);

	harness_case("init with flags on an existing policy: a new document with them");
	assert_int_equal(CONSENT("init", "--critical", "ask", "--auto-after-hours", "0"), 0);
	doc = policy_now(NULL, 0);
	EXPECT_STR(doc, "critical", "ask");
	EXPECT_INT(doc, "auto_after_hours", 0);
	EXPECT_STR(doc, "other", "ask");
	json_decref(doc);
	assert_int_equal(CONSENT("policy", "--critical", "auto", "--auto-after-hours", "12", "--other", "auto"), 0);
	doc = policy_now(NULL, 0);
	EXPECT_STR(doc, "critical", "auto");
	EXPECT_INT(doc, "auto_after_hours", 12);
	EXPECT_STR(doc, "other", "auto");
	json_decref(doc);
}

static void test_coordinator(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	m2m_result r;
	harness_case("the coordinator registers at the IN");
	harness_create_ae(COORD, COORD, NULL);

	harness_case("the coordinator reads the policy through the IN (retargeted to the MN)");
	coord_req(&r, M2M_OP_RETRIEVE, POLICY_LA, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(harness_jstr(harness_res(&r, "m2m:cin"), "con") != NULL, r.body);
	m2m_result_clear(&r);

	harness_case("the coordinator discovers the container by its label at the MN's CSEBase");
	coord_req(&r, M2M_OP_RETRIEVE, MN_RN, -1, NULL, "fu=1&lbl=hearth:consent");
	EXPECT_RSC(&r, 2000);
	const json_t *uril = json_object_get(r.body, "m2m:uril");
	bool found = false;
	size_t i;
	json_t *u;
	json_array_foreach(uril, i, u) {
		const char *s = json_string_value(u);
		size_t n = s ? strlen(s) : 0;
		if (n >= 18 && strcmp(s + n - 18, "/home-user/consent") == 0)
			found = true;
	}
	EXPECT_TRUE(found, r.body);
	EXPECT_TRUE(json_array_size(uril) == 1, r.body);
	m2m_result_clear(&r);

	harness_case("the coordinator may not write the policy");
	coord_req(&r, M2M_OP_CREATE, MN_RN "/home-user/consent", 4,
	          json_pack("{s:{s:s}}", "m2m:cin", "con", "{\"v\":1,\"critical\":\"auto\"}"), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	coord_req(&r, M2M_OP_UPDATE, MN_RN "/home-user/consent", -1, json_pack("{s:{s:i}}", "m2m:cnt", "mni", 1), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	coord_req(&r, M2M_OP_UPDATE, MN_RN "/home-user/consent-policy-acp", -1,
	          json_pack("{s:{s:{s:[{s:[s],s:i}]}}}", "m2m:acp", "pv", "acr", "acor", "all", "acop", 63), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);

	harness_case("the coordinator creates consent requests");
	coord_req(&r, M2M_OP_CREATE, MN_RN "/home-user/consent-requests", 4, request_doc("urn:dev:Acme:lamp:2", M1, 100),
	          NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
}

static void test_third_party(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	m2m_result r;
	harness_case("another AE at the gateway may not read the policy or the requests");
	mn_req(&r, M2M_OP_CREATE, MN_RN, OTHER, 2,
	       json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", "neighbour", "api", "Nneighbour", "rr", 0, "srv", "3"),
	       NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_RETRIEVE, POLICY_LA, OTHER, -1, NULL, NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_RETRIEVE, MN_RN "/home-user/consent-requests", OTHER, -1, NULL, "rcn=4");
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_CREATE, MN_RN "/home-user/consent-requests", OTHER, 4,
	       request_doc("urn:dev:Acme:lamp:9", M2, 100), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	harness_case("its discovery does not find the consent container");
	mn_req(&r, M2M_OP_RETRIEVE, MN_RN, OTHER, -1, NULL, "fu=1&lbl=hearth:consent");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(r.body, "m2m:uril")) == 0, r.body);
	m2m_result_clear(&r);
}

static const json_t *row_for(const json_t *rows, const char *device, const char *manifest)
{
	size_t i;
	json_t *q;
	json_array_foreach(rows, i, q) {
		const char *d = harness_jstr(q, "device"), *m = harness_jstr(q, "manifest");
		if (d && m && strcmp(d, device) == 0 && strcmp(m, manifest) == 0)
			return q;
	}
	return NULL;
}

static void test_decisions(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	harness_case("grant, then refuse");
	assert_int_equal(CONSENT("grant", "--manifest", M1), 0);
	json_t *doc = policy_now(NULL, 0);
	EXPECT_STR(json_object_get(doc, "decisions"), M1, "granted");
	EXPECT_STR(doc, "other", "auto"); /* the settings are kept */
	EXPECT_INT(doc, "auto_after_hours", 12);
	json_decref(doc);
	assert_int_equal(CONSENT("refuse", "--manifest", M1), 0);
	doc = policy_now(NULL, 0);
	EXPECT_STR(json_object_get(doc, "decisions"), M1, "refused");
	json_decref(doc);

	harness_case("grant after refuse: exit 1, the policy document unchanged");
	char ri1[128], ri2[128];
	json_t *before = policy_now(ri1, sizeof(ri1));
	long logpos = 0;
	FILE *f = fopen(logpath, "r");
	if (f) {
		fseek(f, 0, SEEK_END);
		logpos = ftell(f);
		fclose(f);
	}
	assert_int_equal(CONSENT("grant", "--manifest", M1), 1);
	json_t *after = policy_now(ri2, sizeof(ri2));
	EXPECT_TRUE(strcmp(ri1, ri2) == 0, NULL);
	EXPECT_TRUE(json_equal(before, after), after);
	json_decref(before);
	json_decref(after);
	f = fopen(logpath, "r");
	char line[512];
	bool said = false;
	if (f) {
		fseek(f, logpos, SEEK_SET);
		while (fgets(line, sizeof(line), f))
			said = said || strstr(line, "refusal is final for that manifest") != NULL;
		fclose(f);
	}
	EXPECT_TRUE(said, NULL);
	harness_case("refusing twice is fine");
	assert_int_equal(CONSENT("refuse", "--manifest", M1), 0);

	harness_case("requests --json: the latest request per (device, manifest), with its decision");
	m2m_result r;
	coord_req(&r, M2M_OP_CREATE, MN_RN "/home-user/consent-requests", 4, request_doc("urn:dev:Acme:lamp:2", M1, 200),
	          NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	coord_req(&r, M2M_OP_CREATE, MN_RN "/home-user/consent-requests", 4, request_doc("urn:dev:Acme:lamp:3", M2, 300),
	          NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	/* a malformed one is skipped, not fatal */
	coord_req(&r, M2M_OP_CREATE, MN_RN "/home-user/consent-requests", 4,
	          json_pack("{s:{s:s}}", "m2m:cin", "con", "{\"v\":1,\"kind\":\"bogus\"}"), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/requests.json", harness_dir());
	assert_int_equal(CONSENT("requests", "--json", out), 0);
	json_error_t je;
	json_t *rows = json_load_file(out, 0, &je);
	EXPECT_TRUE(json_is_array(rows) && json_array_size(rows) == 2, rows);
	const json_t *q = row_for(rows, "urn:dev:Acme:lamp:2", M1);
	EXPECT_TRUE(q != NULL, rows);
	EXPECT_STR(q, "decision", "refused");
	EXPECT_INT(q, "asked", 200);
	EXPECT_STR(q, "kind", "consent");
	EXPECT_STR(q, "from", "1.0");
	EXPECT_STR(q, "to", "2.0");
	EXPECT_STR(q, "criticality", "medium");
	EXPECT_TRUE(harness_list_has_str(json_object_get(q, "advisories"), "HSA-1"), q);
	EXPECT_TRUE(json_is_null(json_object_get(q, "auto_at")), q);
	q = row_for(rows, "urn:dev:Acme:lamp:3", M2);
	EXPECT_TRUE(q != NULL, rows);
	EXPECT_STR(q, "decision", "none");
	json_decref(rows);

	harness_case("a granted manifest shows as granted");
	assert_int_equal(CONSENT("grant", "--manifest", M2), 0);
	assert_int_equal(CONSENT("requests", "--json", out), 0);
	rows = json_load_file(out, 0, &je);
	EXPECT_STR(row_for(rows, "urn:dev:Acme:lamp:3", M2), "decision", "granted");
	json_decref(rows);
}

static void test_usage(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	harness_case("bad usage: exit status 2");
	assert_int_equal(consent((const char *const[]){ NULL }), 2);
	assert_int_equal(CONSENT("frobnicate"), 2);
	assert_int_equal(CONSENT("grant"), 2);
	assert_int_equal(CONSENT("refuse", "--manifest", "bad hash!"), 2);
	assert_int_equal(CONSENT("policy"), 2);
	assert_int_equal(CONSENT("policy", "--critical", "sometimes"), 2);
	assert_int_equal(CONSENT("init", "--auto-after-hours", "-1"), 2);
	assert_int_equal(CONSENT("init", "--auto-after-hours", "9999"), 2);
	assert_int_equal(CONSENT("requests", "--critical", "ask"), 2);
	assert_int_equal(CONSENT("grant", "--manifest", M1, "--json", "x.json"), 2);
	assert_int_equal(CONSENT("--bogus", "init"), 2);
	assert_int_equal(CONSENT("-c", "/nonexistent.ini", "init"), 2);
	harness_case("an unreachable gateway: exit status 1");
	assert_int_equal(CONSENT("--cse-url", "http://127.0.0.1:1", "requests"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_init),
		HTEST(test_coordinator),
		HTEST(test_third_party),
		HTEST(test_decisions),
		HTEST(test_usage),
	};
	return cmocka_run_group_tests_name("21_consent", tests, group_setup, group_teardown);
}
