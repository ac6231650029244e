/*
 * 16_devices_e2e_test.c - device management through two tiers, with the
 * real programs only: the harness' IN-CSE, an MN-CSE registered to it,
 * hearth-device agents behind the MN announcing to the IN, and an image
 * server (hearth-files). Every operation is started at the IN with a
 * retargeted Update and observed at the IN:
 *   - a good image: uds successful, vr and fwv new in the announced copies;
 *   - a corrupted image: failure digest-mismatch, the old version running;
 *   - an unreachable device: failure timeout;
 *   - an agent killed mid-install: failure install-failed once it is back,
 *     the old version running.
 * Local mode only.
 */
#include "conformance/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>

static harness_peer mn = { .name = "mn" };
static char in_admin[128];
static char bindir[512], imgdir[700];
static int files_pid, files_port;

typedef struct agent {
	const char *model, *serial;
	int pid, port;
	char state[700], log[700];
} agent;

static agent dev[2] = { { .model = "TH10", .serial = "1" }, { .model = "PL2", .serial = "2" } };




static int agent_start(agent *a, const char *crash_after)
{
	char bin[600], port[16], cse[64];
	snprintf(bin, sizeof bin, "%s/hearth-device", bindir);
	if (!a->port) {
		a->port = harness_free_port();
		snprintf(a->state, sizeof a->state, "%s/dev-%s", imgdir, a->model);
		snprintf(a->log, sizeof a->log, "%s/dev-%s.log", imgdir, a->model);
	}
	snprintf(port, sizeof port, "%d", a->port);
	snprintf(cse, sizeof cse, "%s", mn.url);
	char *argv[40] = { bin, (char *)"--cse-url", cse, (char *)"--cse-id", (char *)"id-mn",
	                   (char *)"--cse-rn", (char *)"cse-mn", (char *)"--listen-port", port,
	                   (char *)"--state-dir", a->state, (char *)"--manufacturer", (char *)"Acme",
	                   (char *)"--model", (char *)a->model, (char *)"--serial", (char *)a->serial,
	                   (char *)"--fw-version", (char *)"1.0.0", (char *)"--announce-to",
	                   (char *)"id-in", NULL };
	size_t n = 21;
	if (crash_after) {
		argv[n++] = (char *)"--test-crash-after";
		argv[n++] = (char *)crash_after;
	}
	argv[n] = NULL;
	if (truncate(a->log, 0) != 0 && errno != ENOENT)
		return -1;
	a->pid = harness_spawn(a->log, argv, true);
	int64_t end = harness_now_ms() + 10000;
	while (a->pid > 0 && harness_now_ms() < end) {
		if (harness_file_count(a->log, " INFO ready") > 0)
			return 0;
		harness_sleep_ms(50);
	}
	print_error("agent %s not ready; log %s\n", a->model, a->log);
	return -1;
}

/* Write an image with a version header; digest into sha (65 bytes). */
static void make_image(const char *name, const char *version, char sha[65])
{
	char path[800], body[256];
	snprintf(path, sizeof path, "%s/%s", imgdir, name);
	int n = snprintf(body, sizeof body, "HEARTH-IMAGE v1 version=%s\nbytes of %s\n", version, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite(body, 1, (size_t)n, f);
	fclose(f);
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)body, (size_t)n, d);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(sha + 2 * i, 3, "%02x", d[i]);
}

static const char *fw_at_mn(const agent *a)
{
	return hfmt("/id-mn/cse-mn/%s-%s-node/firmware", a->model, a->serial);
}

static const char *annc_at_in(const agent *a, const char *mo)
{
	return hfmt("%s/id-mn/%s-%s-node/%s", harness_cse_rn(), a->model, a->serial, mo);
}

/* Start an update at the IN; 2004 expected. */
static void start_update(const agent *a, const char *url)
{
	m2m_result r;
	char to[256];
	snprintf(to, sizeof to, "%s", fw_at_mn(a));
	harness_req(&r, M2M_OP_UPDATE, to, harness_admin(), -1,
	            json_pack("{s:{s:s,s:b}}", "m2m:fwr", "url", url, "ud", 1), NULL);
	EXPECT_RSC(&r, 2004);
	EXPECT_INT(json_object_get(harness_res(&r, "m2m:fwr"), "uds"), "sus", 3);
	m2m_result_clear(&r);
}

/* Wait (through the IN) until the operation ended; returns the firmware. */
static json_t *wait_end(const agent *a, long ms)
{
	char to[256];
	snprintf(to, sizeof to, "%s", fw_at_mn(a));
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		m2m_result r;
		harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, NULL);
		json_t *fw = harness_res(&r, "m2m:fwr");
		long long sus = harness_jint(json_object_get(fw, "uds"), "sus", 0);
		if (sus == 1 || sus == 2) {
			json_incref(fw);
			m2m_result_clear(&r);
			return fw;
		}
		m2m_result_clear(&r);
		if (harness_now_ms() >= end)
			return NULL;
		harness_sleep_ms(100);
	}
}

/* Wait until the announced copy `mo` of a at the IN has attribute k = v. */
static bool annc_has(const agent *a, const char *mo, const char *k, const char *v, long ms)
{
	char to[256];
	snprintf(to, sizeof to, "%s", annc_at_in(a, mo));
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		m2m_result r;
		harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, NULL);
		json_t *o = r.body ? json_object_iter_value(json_object_iter(r.body)) : NULL;
		const char *got = harness_jstr(o, k);
		bool ok = got && strcmp(got, v) == 0;
		m2m_result_clear(&r);
		if (ok)
			return true;
		if (harness_now_ms() >= end)
			return false;
		harness_sleep_ms(100);
	}
}

static int group_setup(void **state)
{
	int rc = harness_group_setup(state);
	if (rc != 0 || !harness_is_local())
		return rc;
	snprintf(bindir, sizeof bindir, "%s", harness_bin_dir());
	snprintf(imgdir, sizeof imgdir, "%s", harness_dir());
	snprintf(in_admin, sizeof in_admin, "%s/%s", harness_csi(), harness_admin());
	const char *args[] = { "--cse-type", "mn", "--registrar-url", harness_url(), "--registrar-id",
	                       harness_cse_id(), "--registrar-rn", harness_cse_rn(), "--registrar-check", "1",
	                       "--admin", in_admin, "--mgmt-timeout", "4", "--log-level", "info", NULL };
	if (harness_peer_start(&mn, args) != 0)
		return -1;
	char fbin[600], port[16], log[800];
	snprintf(fbin, sizeof fbin, "%s/hearth-files", bindir);
	files_port = harness_free_port();
	snprintf(port, sizeof port, "%d", files_port);
	snprintf(log, sizeof log, "%s/files.log", imgdir);
	char *fargv[] = { fbin, (char *)"--dir", imgdir, (char *)"--port", port, NULL };
	files_pid = harness_spawn(log, fargv, true);
	for (int i = 0; i < 100 && !harness_file_count(log, "serving"); i++)
		harness_sleep_ms(20);
	for (size_t i = 0; i < 2; i++)
		if (agent_start(&dev[i], NULL) != 0)
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	for (size_t i = 0; i < 2; i++)
		harness_reap(&dev[i].pid, SIGTERM);
	harness_reap(&files_pid, SIGTERM);
	int rc = 0;
	if (mn.pid > 0 && harness_peer_stop(&mn) != 0) {
		harness_peer_log_tail(&mn, 30);
		rc = -1;
	}
	return harness_group_teardown(state) || rc;
}

static void test_inventory_announced(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	harness_case("each device's node, deviceInfo and firmware are announced to the IN");
	for (size_t i = 0; i < 2; i++) {
		EXPECT_TRUE(annc_has(&dev[i], "firmware", "vr", "1.0.0", 10000), NULL);
		EXPECT_TRUE(annc_has(&dev[i], "deviceInfo", "mod", dev[i].model, 5000), NULL);
	}
	m2m_result r;
	harness_req(&r, M2M_OP_RETRIEVE, harness_cse_rn(), harness_admin(), -1, NULL, "fu=1&ty=10014");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(r.body, "m2m:uril")) >= 2, r.body);
	m2m_result_clear(&r);
}

static void test_good_update(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	char sha[65];
	make_image("good.bin", "2.0.0", sha);
	harness_case("a good image: successful, the new version at the IN");
	start_update(&dev[0], hfmt("http://127.0.0.1:%d/good.bin#sha256=%s", files_port, sha));
	json_t *fw = wait_end(&dev[0], 15000);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 1);
	EXPECT_STR(fw, "vr", "2.0.0");
	EXPECT_TRUE(json_is_false(json_object_get(fw, "ud")), fw);
	json_decref(fw);
	EXPECT_TRUE(annc_has(&dev[0], "firmware", "vr", "2.0.0", 5000), NULL);
	EXPECT_TRUE(annc_has(&dev[0], "deviceInfo", "fwv", "2.0.0", 5000), NULL);

	harness_case("an originator without rights may not set ud");
	m2m_result r;
	char to[256];
	snprintf(to, sizeof to, "%s", fw_at_mn(&dev[0]));
	harness_req(&r, M2M_OP_UPDATE, to, harness_name("Cnobody"), -1, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1),
	            NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
}

static void test_corrupted_image(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	char sha[65];
	make_image("bad.bin", "9.9.9", sha);
	sha[0] = sha[0] == '0' ? '1' : '0'; /* the digest no longer matches */
	harness_case("a corrupted image: failure digest-mismatch, the old version still running");
	start_update(&dev[1], hfmt("http://127.0.0.1:%d/bad.bin#sha256=%s", files_port, sha));
	json_t *fw = wait_end(&dev[1], 15000);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 2);
	const char *dc = harness_jstr(fw, "dc");
	EXPECT_TRUE(dc && strncmp(dc, "digest-mismatch", 15) == 0, fw);
	EXPECT_STR(fw, "vr", "1.0.0");
	json_decref(fw);
	EXPECT_TRUE(annc_has(&dev[1], "deviceInfo", "fwv", "1.0.0", 3000), NULL);
}

static void test_unreachable_device(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	char sha[65];
	make_image("later.bin", "3.0.0", sha);
	harness_case("an unreachable device: failure after the timeout (4 s)");
	harness_reap(&dev[1].pid, SIGKILL);
	int64_t t0 = harness_now_ms();
	start_update(&dev[1], hfmt("http://127.0.0.1:%d/later.bin#sha256=%s", files_port, sha));
	json_t *fw = wait_end(&dev[1], 15000);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 2);
	const char *dc = harness_jstr(fw, "dc");
	EXPECT_TRUE(dc && strncmp(dc, "timeout", 7) == 0, fw);
	EXPECT_TRUE(harness_now_ms() - t0 >= 3500, fw);
	EXPECT_STR(fw, "vr", "1.0.0");
	json_decref(fw);
	EXPECT_TRUE(agent_start(&dev[1], NULL) == 0, NULL);
}

static void test_killed_mid_install(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	char sha[65];
	make_image("crash.bin", "4.0.0", sha);
	harness_case("the agent dies right after installing: once back it reports failure, old version running");
	harness_reap(&dev[1].pid, SIGTERM);
	EXPECT_TRUE(agent_start(&dev[1], "install") == 0, NULL);
	start_update(&dev[1], hfmt("http://127.0.0.1:%d/crash.bin#sha256=%s", files_port, sha));
	for (int i = 0; i < 200; i++) { /* the agent kills itself */
		if (waitpid(dev[1].pid, NULL, WNOHANG) == dev[1].pid) {
			dev[1].pid = 0;
			break;
		}
		harness_sleep_ms(20);
	}
	EXPECT_TRUE(dev[1].pid == 0, NULL);
	EXPECT_TRUE(agent_start(&dev[1], NULL) == 0, NULL);
	json_t *fw = wait_end(&dev[1], 15000);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 2);
	const char *dc = harness_jstr(fw, "dc");
	EXPECT_TRUE(dc && strncmp(dc, "install-failed", 14) == 0, fw);
	EXPECT_STR(fw, "vr", "1.0.0");
	json_decref(fw);
	EXPECT_TRUE(annc_has(&dev[1], "deviceInfo", "fwv", "1.0.0", 3000), NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_inventory_announced),
		HTEST(test_good_update),
		HTEST(test_corrupted_image),
		HTEST(test_unreachable_device),
		HTEST(test_killed_mid_install),
	};
	return cmocka_run_group_tests_name("16_devices_e2e", tests, group_setup, group_teardown);
}
