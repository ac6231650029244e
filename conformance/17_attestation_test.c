/*
 * 17_attestation_test.c - device metadata attestation, black-box: the
 * harness' hearth-cse with --attest-trust-dir (a throwaway PKI made with
 * tests/attest-pki.sh, i.e. the `openssl` command) and a 2 s
 * --attest-interval, and real hearth-device agents:
 *   - a device with a certificate from its manufacturer's CA: verified;
 *   - a device whose certificate comes from another CA: failed, bad-certificate;
 *   - a keyless device: gateway-asserted;
 *   - a verified device whose deviceInfo fwv an admin edits: failed,
 *     metadata-mismatch at the next scan;
 *   - a device AE writing hearth:trust labels itself: 4005; the admin's
 *     other labels keep the trust labels;
 *   - ud true on a failed device: 4005 for the device's own AE, 2004 for
 *     the admin;
 *   - a replayed answer: a statement the verified device signed over an
 *     earlier nonce, given back by another AE (a small responder here)
 *     for a node with the same metadata: failed, nonce-mismatch.
 * Local mode only; skipped when openssl is missing.
 */
#include "conformance/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>

static char pki[64], bindir[512];
static bool skip_all;
static const char *skip_why = "";

typedef struct agent {
	const char *serial, *key; /* key: PKI base name ("good" -> good.key, good.pem), NULL keyless */
	int pid, port;
	char state[128], log[128];
} agent;

enum { GOOD, EVIL, KEYLESS, EDITED, NAGENTS };
static agent dev[NAGENTS] = {
	[GOOD] = { .serial = "42", .key = "good" },
	[EVIL] = { .serial = "43", .key = "evil" },
	[KEYLESS] = { .serial = "45", .key = NULL },
	[EDITED] = { .serial = "44", .key = "good2" },
};

#define NEED()                                                           \
	do {                                                             \
		HARNESS_LOCAL_ONLY();                                    \
		if (skip_all) {                                          \
			print_message("[  SKIP    ] %s\n", skip_why);   \
			skip();                                          \
		}                                                        \
	} while (0)




static int agent_start(agent *a)
{
	char bin[600], port[16], key[128], cert[128];
	snprintf(bin, sizeof bin, "%s/hearth-device", bindir);
	a->port = harness_free_port();
	snprintf(a->state, sizeof a->state, "%s/dev-%s", pki, a->serial);
	snprintf(a->log, sizeof a->log, "%s/dev-%s.log", pki, a->serial);
	snprintf(port, sizeof port, "%d", a->port);
	char *argv[40] = { bin, (char *)"--cse-url", (char *)harness_url(), (char *)"--cse-id",
	                   (char *)harness_cse_id(), (char *)"--cse-rn", (char *)harness_cse_rn(),
	                   (char *)"--listen-port", port, (char *)"--state-dir", a->state,
	                   (char *)"--manufacturer", (char *)"Acme", (char *)"--model", (char *)"TH10",
	                   (char *)"--serial", (char *)a->serial, (char *)"--fw-version", (char *)"1.0.0", NULL };
	size_t n = 19;
	if (a->key) {
		snprintf(key, sizeof key, "%s/%s.key", pki, a->key);
		snprintf(cert, sizeof cert, "%s/%s.pem", pki, a->key);
		argv[n++] = (char *)"--key";
		argv[n++] = key;
		argv[n++] = (char *)"--cert";
		argv[n++] = cert;
	}
	argv[n] = NULL;
	a->pid = harness_spawn(a->log, argv, false);
	int64_t end = harness_now_ms() + 10000;
	while (a->pid > 0 && harness_now_ms() < end) {
		if (harness_file_count(a->log, " INFO ready") > 0)
			return 0;
		harness_sleep_ms(50);
	}
	print_error("agent %s not ready; log %s\n", a->serial, a->log);
	return -1;
}

static const char *node_of(const agent *a)
{
	return hfmt("%s/TH10-%s-node", harness_cse_rn(), a->serial);
}

/* The node's labels (a copy) as the admin sees them. */
static json_t *labels(const agent *a)
{
	m2m_result r;
	char to[256];
	snprintf(to, sizeof to, "%s", node_of(a));
	harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, NULL);
	json_t *lbl = json_deep_copy(json_object_get(harness_res(&r, "m2m:nod"), "lbl"));
	m2m_result_clear(&r);
	return lbl ? lbl : json_array();
}

/* Wait until the node says hearth:trust=<trust> (and the reason, if any). */
static bool wait_trust(const agent *a, const char *trust, const char *reason, long ms)
{
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		json_t *lbl = labels(a);
		bool ok = harness_list_has_str(lbl, hfmt("hearth:trust=%s", trust)) &&
		          (!reason || harness_list_has_str(lbl, hfmt("hearth:trust-reason=%s", reason)));
		if (ok || harness_now_ms() >= end) {
			if (!ok) {
				char *s = json_dumps(lbl, JSON_COMPACT);
				print_error("node of %s: labels %s, wanted %s %s\n", a->serial, s ? s : "?", trust,
				            reason ? reason : "");
				free(s);
			}
			json_decref(lbl);
			return ok;
		}
		json_decref(lbl);
		harness_sleep_ms(100);
	}
}

/* The device's AE-ID (first of the node's hael). */
static const char *aei_of(const agent *a)
{
	m2m_result r;
	char to[256];
	snprintf(to, sizeof to, "%s", node_of(a));
	harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, NULL);
	const char *id = json_string_value(json_array_get(json_object_get(harness_res(&r, "m2m:nod"), "hael"), 0));
	const char *out = hfmt("%s", id ? id : "");
	m2m_result_clear(&r);
	return out;
}

static int group_setup(void **state)
{
	snprintf(pki, sizeof pki, "/tmp/hearth-c17-XXXXXX");
	if (!mkdtemp(pki))
		return -1;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "sh tests/attest-pki.sh %s >/dev/null 2>&1", pki);
	if (access("tests/attest-pki.sh", R_OK) != 0 || system(cmd) != 0) {
		skip_all = true;
		skip_why = "no test PKI (openssl missing, or not run from the source tree); attestation tests skipped";
		print_message("%s\n", skip_why);
	}
	const char *trust = hfmt("%s/trust", pki);
	char tdir[128];
	snprintf(tdir, sizeof tdir, "%s", trust);
	const char *args[] = { "--attest-trust-dir", tdir, "--attest-interval", "2", NULL };
	if (harness_cse_set_args(args) != 0 || harness_group_setup(state) != 0)
		return -1;
	if (skip_all || !harness_is_local())
		return 0;
	snprintf(bindir, sizeof bindir, "%s", harness_bin_dir());
	for (size_t i = 0; i < NAGENTS; i++)
		if (agent_start(&dev[i]) != 0)
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	for (size_t i = 0; i < NAGENTS; i++)
		harness_reap(&dev[i].pid, SIGTERM);
	int rc = harness_group_teardown(state);
	harness_cse_set_args(NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", pki);
	if (system(cmd) != 0)
		rc = -1;
	return rc;
}

static void test_good_device_verified(void **state)
{
	(void)state;
	NEED();
	harness_case("a device with a certificate from its manufacturer's CA: verified");
	EXPECT_TRUE(wait_trust(&dev[GOOD], "verified", NULL, 10000), NULL);
	json_t *lbl = labels(&dev[GOOD]);
	bool at = false, reason = false;
	size_t i;
	json_t *v;
	json_array_foreach(lbl, i, v) {
		at |= strncmp(json_string_value(v), "hearth:trust-at=", 16) == 0;
		reason |= strncmp(json_string_value(v), "hearth:trust-reason=", 20) == 0;
	}
	EXPECT_TRUE(at && !reason, lbl);
	json_decref(lbl);
	EXPECT_TRUE(harness_file_count(dev[GOOD].log, "signed statement") > 0, NULL);
}

static void test_other_ca_failed(void **state)
{
	(void)state;
	NEED();
	harness_case("a certificate from another CA that calls itself Acme: failed, bad-certificate");
	EXPECT_TRUE(wait_trust(&dev[EVIL], "failed", "bad-certificate", 10000), NULL);
}

static void test_keyless_asserted(void **state)
{
	(void)state;
	NEED();
	harness_case("a keyless device: gateway-asserted");
	EXPECT_TRUE(wait_trust(&dev[KEYLESS], "gateway-asserted", NULL, 10000), NULL);
}

static void test_edited_version_failed(void **state)
{
	(void)state;
	NEED();
	harness_case("an admin edits deviceInfo fwv of a verified device: failed, metadata-mismatch at the next scan");
	EXPECT_TRUE(wait_trust(&dev[EDITED], "verified", NULL, 10000), NULL);
	m2m_result r;
	char to[256];
	snprintf(to, sizeof to, "%s/deviceInfo", node_of(&dev[EDITED]));
	harness_req(&r, M2M_OP_UPDATE, to, harness_admin(), -1, json_pack("{s:{s:s}}", "m2m:dvi", "fwv", "9.9.9"), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	EXPECT_TRUE(wait_trust(&dev[EDITED], "failed", "metadata-mismatch", 8000), NULL);
}

/* ---- a replayed answer ---------------------------------------------------- */

static char replay_body[8192];

static enum MHD_Result replay_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                     const char *version, const char *data, size_t *size, void **ctx)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (!*ctx) { /* first call: headers only */
		*ctx = conn;
		return MHD_YES;
	}
	if (*size) { /* the challenge: whatever it says, the old answer goes back */
		*size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(replay_body), replay_body,
	                                                         MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "X-M2M-RSC", "2000");
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return rc;
}

static void test_replayed_answer(void **state)
{
	(void)state;
	NEED();
	EXPECT_TRUE(wait_trust(&dev[GOOD], "verified", NULL, 10000), NULL);
	harness_case("a statement of the verified device, signed over an earlier nonce, is captured");
	m2m_client *cl = m2m_client_new(hfmt("http://127.0.0.1:%d", dev[GOOD].port));
	assert_non_null(cl);
	char origin[96];
	snprintf(origin, sizeof origin, "X-M2M-Origin: %s", harness_csi());
	const char *hdr[] = { origin, "X-M2M-RI: replay-1", "X-M2M-RVI: 4", "Content-Type: application/json", NULL };
	const char *challenge = "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"hd:atq\":{\"nonce\":"
	                        "\"q3x9B7hJk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2Gh4\"}},\"net\":1},\"sur\":\"x\"}}";
	m2m_result r;
	memset(&r, 0, sizeof r);
	assert_int_equal(m2m_send_raw(cl, "POST", "/", hdr, challenge, strlen(challenge), &r), 0);
	EXPECT_TRUE(r.http_status == 200 && r.raw_body && strstr(r.raw_body, "\"hd:ats\":\"ey"), NULL);
	snprintf(replay_body, sizeof replay_body, "%s", r.raw_body ? r.raw_body : "");
	m2m_result_clear(&r);
	m2m_client_free(&cl);

	harness_case("another AE answers every challenge with it, for a node with the same metadata: failed, "
	             "nonce-mismatch");
	int port = harness_free_port();
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
	                                        replay_answer, NULL, MHD_OPTION_END);
	assert_non_null(d);
	const char *aei = harness_create_ae("Creplay", "replay",
	                                      json_pack("{s:[s],s:b}", "poa", hfmt("http://127.0.0.1:%d", port), "rr", 1));
	char ae[128];
	snprintf(ae, sizeof ae, "%s", aei ? aei : "Creplay");
	/* the genuine device's deviceInfo, copied */
	char to[256];
	snprintf(to, sizeof to, "%s/deviceInfo", node_of(&dev[GOOD]));
	harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, NULL);
	json_t *dvi = json_deep_copy(harness_res(&r, "m2m:dvi"));
	m2m_result_clear(&r);
	assert_non_null(dvi);
	json_t *dc = json_pack("{s:i,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s}", "mgd", 1007, "dlb", json_object_get(dvi, "dlb"),
	                       "man", json_object_get(dvi, "man"), "mod", json_object_get(dvi, "mod"), "dty",
	                       json_object_get(dvi, "dty"), "hwv", json_object_get(dvi, "hwv"), "fwv",
	                       json_object_get(dvi, "fwv"), "swv", json_object_get(dvi, "swv"), "rn", "deviceInfo");
	json_decref(dvi);
	harness_req(&r, M2M_OP_CREATE, harness_cse_rn(), ae, 14,
	            json_pack("{s:{s:s,s:s,s:[s]}}", "m2m:nod", "rn", "TH10-replay-node", "ni", "urn:dev:Acme:TH10:42",
	                      "hael", ae),
	            NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_CREATE, hfmt("%s/TH10-replay-node", harness_cse_rn()), ae, 13,
	            json_pack("{s:o}", "m2m:dvi", dc), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	agent fake = { .serial = "replay" };
	EXPECT_TRUE(wait_trust(&fake, "failed", "nonce-mismatch", 10000), NULL);
	MHD_stop_daemon(d);
}

static void test_labels_written_by_cse_only(void **state)
{
	(void)state;
	NEED();
	EXPECT_TRUE(wait_trust(&dev[EVIL], "failed", NULL, 10000), NULL);
	char to[256];
	snprintf(to, sizeof to, "%s", node_of(&dev[EVIL]));
	const char *aei = aei_of(&dev[EVIL]);
	char ae[128];
	snprintf(ae, sizeof ae, "%s", aei);
	EXPECT_TRUE(ae[0] != '\0', NULL);

	harness_case("the device's AE labels its own node hearth:trust=verified: 4005");
	m2m_result r;
	harness_req(&r, M2M_OP_UPDATE, to, ae, -1,
	            json_pack("{s:{s:[s]}}", "m2m:nod", "lbl", "hearth:trust=verified"), NULL);
	EXPECT_RSC(&r, 4005);
	m2m_result_clear(&r);
	EXPECT_TRUE(wait_trust(&dev[EVIL], "failed", "bad-certificate", 100), NULL);

	harness_case("nor may the admin write them; a node created with one: 4005");
	harness_req(&r, M2M_OP_UPDATE, to, harness_admin(), -1,
	            json_pack("{s:{s:[s]}}", "m2m:nod", "lbl", "hearth:trust-reason=none"), NULL);
	EXPECT_RSC(&r, 4005);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_CREATE, harness_cse_rn(), ae, 14,
	            json_pack("{s:{s:s,s:s,s:[s]}}", "m2m:nod", "rn", harness_name("fake"), "ni", "urn:dev:x",
	                      "lbl", "hearth:trust=verified"),
	            NULL);
	EXPECT_RSC(&r, 4005);
	m2m_result_clear(&r);

	harness_case("other labels written by the admin (or lbl removed) keep the trust labels");
	harness_req(&r, M2M_OP_UPDATE, to, harness_admin(), -1,
	            json_pack("{s:{s:[s]}}", "m2m:nod", "lbl", "room:kitchen"), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	json_t *lbl = labels(&dev[EVIL]);
	EXPECT_TRUE(harness_list_has_str(lbl, "room:kitchen") && harness_list_has_str(lbl, "hearth:trust=failed"), lbl);
	json_decref(lbl);
	harness_req(&r, M2M_OP_UPDATE, to, ae, -1, json_pack("{s:{s:n}}", "m2m:nod", "lbl"), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	lbl = labels(&dev[EVIL]);
	EXPECT_TRUE(!harness_list_has_str(lbl, "room:kitchen") && harness_list_has_str(lbl, "hearth:trust=failed"), lbl);
	json_decref(lbl);
}

static void test_failed_device_not_updated(void **state)
{
	(void)state;
	NEED();
	EXPECT_TRUE(wait_trust(&dev[EVIL], "failed", NULL, 10000), NULL);
	char to[256], ae[128];
	snprintf(to, sizeof to, "%s/firmware", node_of(&dev[EVIL]));
	snprintf(ae, sizeof ae, "%s", aei_of(&dev[EVIL]));
	harness_case("ud true on a failed device by its own AE (which may update the firmware): 4005");
	m2m_result r;
	harness_req(&r, M2M_OP_UPDATE, to, ae, -1,
	            json_pack("{s:{s:s,s:b}}", "m2m:fwr", "url", "http://127.0.0.1:9/x.bin", "ud", 1), NULL);
	EXPECT_RSC(&r, 4005);
	const char *dbg = harness_jstr(r.body, "m2m:dbg");
	EXPECT_TRUE(dbg && strstr(dbg, "device failed attestation"), r.body);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, NULL);
	EXPECT_TRUE(json_is_false(json_object_get(harness_res(&r, "m2m:fwr"), "ud")), r.body);
	m2m_result_clear(&r);

	harness_case("a harmless update of the same mgmtObj by that AE still works");
	harness_req(&r, M2M_OP_UPDATE, to, ae, -1, json_pack("{s:{s:s}}", "m2m:fwr", "url", "http://127.0.0.1:9/y.bin"),
	            NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);

	harness_case("the CSE admin may still start it");
	harness_req(&r, M2M_OP_UPDATE, to, harness_admin(), -1, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_good_device_verified),
		HTEST(test_other_ca_failed),
		HTEST(test_keyless_asserted),
		HTEST(test_edited_version_failed),
		HTEST(test_replayed_answer),
		HTEST(test_labels_written_by_cse_only),
		HTEST(test_failed_device_not_updated),
	};
	return cmocka_run_group_tests_name("17_attestation", tests, group_setup, group_teardown);
}
