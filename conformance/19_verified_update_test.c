/*
 * 19_verified_update_test.c - verified firmware updates at the gateway
 * (mgmtobj/README.md "Verified updates"), black box: the harness' IN-CSE,
 * an MN-CSE registered to it with --update-* flags, a real hearth-device
 * behind the MN, and hearth-files serving images as the manufacturer's
 * service. Keys, manifests and assignments are made here with the hsign
 * library. Every package is a contentInstance on the MN; the update is
 * started at the IN with a retargeted Update of the firmware. Checked:
 *   - a good package: successful, vr new, the device downloaded the image
 *     from the gateway's cache (/hearth-cache/), not from hearth-files;
 *   - each failed check ends in failure with its reason code in dc, the
 *     device's version unchanged and no operation sent to the agent.
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
#include <time.h>
#include <unistd.h>

#include "ae/lib/hsign.h"

static harness_peer mn = { .name = "mn" };
static char in_admin[128];
static char bindir[512], dir[700], agent_log[800], agent_state[800];
static int files_pid, files_port, agent_pid, agent_port;
static hs_key *vendor_key, *rogue_key, *operator_key, *gateway_key, *other_gw_key;
static int pkg_n;

static const char *const FW = "/id-mn/cse-mn/TH10-1-node/firmware";
static const char *const NI = "urn:dev:Acme:TH10:1";




/* An image with a version header (plus extra bytes appended when the
   served file must differ from the signed one). */
static void write_file(const char *name, const char *body, size_t n)
{
	FILE *f = fopen(hfmt("%s/%s", dir, name), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(body, 1, n, f), n);
	fclose(f);
}

typedef struct pkg_opts {
	const char *version;
	long long seq;
	const char *model, *hw;
	const hs_key *signer;        /* manifest signer */
	const hs_key *assigner;      /* assignment signer */
	const char *device;          /* assignment device */
	long long exp_offset;        /* manifest exp - now */
	const char *serve_suffix;    /* bytes appended to the served file */
	bool flip;                   /* one byte of the served file altered */
	const hs_key *encrypt_for;   /* encrypt the image for this key */
	bool unsigned_manifest;      /* a JWS with alg "none" and no signature */
} pkg_opts;

/* base64url without padding (an unsigned JWS is built here: the signing
   library refuses to make one) */
static char *b64url(const char *in)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(in), k = 0;
	char *out = malloc(n * 4 / 3 + 4);
	assert_non_null(out);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16 | (i + 1 < n ? (unsigned char)in[i + 1] << 8 : 0) |
		             (i + 2 < n ? (unsigned char)in[i + 2] : 0);
		out[k++] = tab[v >> 18 & 63];
		out[k++] = tab[v >> 12 & 63];
		if (i + 1 < n)
			out[k++] = tab[v >> 6 & 63];
		if (i + 2 < n)
			out[k++] = tab[v & 63];
	}
	out[k] = '\0';
	return out;
}

/* Sign a package, store its contentInstance on the MN; returns its address. */
static const char *make_package(const pkg_opts *o)
{
	const char *reason = NULL;
	char body[256], sha[65], name[64], served[64], url[256];
	uint64_t size;
	int n = snprintf(body, sizeof body, "HEARTH-IMAGE v1 version=%s\nimage %d\n", o->version, ++pkg_n);
	snprintf(name, sizeof name, "img-%d.bin", pkg_n);
	write_file(name, body, (size_t)n);
	assert_int_equal(hs_file_digest(hfmt("%s/%s", dir, name), sha, &size, &reason), 0);
	json_t *enc = json_null();
	snprintf(served, sizeof served, "%s", name);
	if (o->encrypt_for) {
		char ehex[65];
		uint64_t esize;
		snprintf(served, sizeof served, "img-%d.jwe", pkg_n);
		assert_int_equal(hs_image_encrypt(hfmt("%s/%s", dir, name), hfmt("%s/%s", dir, served), o->encrypt_for,
		                                  ehex, &esize, &reason), 0);
		enc = json_pack("{s:s,s:s,s:s,s:s,s:I}", "alg", "ECDH-ES", "enc", "A256GCM", "for",
		                hs_key_kid(o->encrypt_for), "sha256", ehex, "size", (json_int_t)esize);
	} else if (o->serve_suffix || o->flip) {
		if (o->flip)
			body[0] = 'X';
		char big[512];
		int m = snprintf(big, sizeof big, "%s%s", body, o->serve_suffix ? o->serve_suffix : "");
		snprintf(served, sizeof served, "served-%d.bin", pkg_n);
		write_file(served, big, (size_t)m);
	}
	long long now = (long long)time(NULL);
	json_t *mp = json_pack("{s:i,s:s,s:s,s:[s],s:s,s:I,s:{s:s,s:I,s:s,s:o},s:s,s:[],s:I,s:I}", "v", 1, "vendor",
	                       "Acme", "model", o->model ? o->model : "TH10", "hw", o->hw ? o->hw : "1.0", "version",
	                       o->version, "seq", (json_int_t)o->seq, "image", "name", name, "size",
	                       (json_int_t)size, "sha256", sha, "enc", enc, "criticality", "medium", "advisories",
	                       "iat", (json_int_t)(now - 10),
	                       "exp", (json_int_t)(now + (o->exp_offset ? o->exp_offset : 3600)));
	assert_non_null(mp);
	char *m = hs_manifest_sign(o->signer ? o->signer : vendor_key, mp, &reason);
	assert_non_null(m);
	if (o->unsigned_manifest) {
		char *payload = json_dumps(mp, JSON_COMPACT), *h = b64url("{\"alg\":\"none\"}"), *b = b64url(payload);
		free(m);
		m = malloc(strlen(h) + strlen(b) + 3);
		assert_non_null(m);
		sprintf(m, "%s.%s.", h, b);
		free(payload);
		free(h);
		free(b);
	}
	char mh[HS_KID_LEN + 1];
	assert_int_equal(hs_manifest_hash(m, mh), 0);
	json_t *ap = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:I}", "v", 1, "manifest", mh, "device",
	                       o->device ? o->device : NI, "gateway", "/id-mn", "campaign", "c19", "iat",
	                       (json_int_t)(now - 10), "exp", (json_int_t)(now + 3600));
	char *a = hs_assignment_sign(o->assigner ? o->assigner : operator_key, ap, &reason);
	assert_non_null(a);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", files_port, served);
	json_t *con = json_pack("{s:s,s:s,s:s}", "manifest", m, "assignment", a, "image", url);
	char *cons = json_dumps(con, JSON_COMPACT);
	m2m_result r;
	const char *rn = hfmt("p%d", pkg_n);
	harness_req(&r, M2M_OP_CREATE, "/id-mn/cse-mn/pkgs", harness_admin(), 4,
	            json_pack("{s:{s:s,s:s}}", "m2m:cin", "rn", rn, "con", cons), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	free(cons);
	json_decref(con);
	json_decref(mp);
	json_decref(ap);
	free(m);
	free(a);
	return hfmt("/id-mn/cse-mn/pkgs/%s", rn);
}

static json_t *run_update(const char *pkg)
{
	m2m_result r;
	harness_req(&r, M2M_OP_UPDATE, FW, harness_admin(), -1, json_pack("{s:{s:s,s:b}}", "m2m:fwr", "url", pkg, "ud", 1),
	            NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	int64_t end = harness_now_ms() + 15000;
	for (;;) {
		harness_req(&r, M2M_OP_RETRIEVE, FW, harness_admin(), -1, NULL, NULL);
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

/* The update fails with reason, the version stays, the agent got nothing. */
static void expect_refused(const pkg_opts *o, const char *reason, const char *vr)
{
	int before = harness_file_count(agent_log, "downloading"), notes = harness_file_count(agent_log, "notify:");
	const char *pkg = make_package(o);
	json_t *fw = run_update(pkg);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 2);
	const char *dc = harness_jstr(fw, "dc");
	EXPECT_TRUE(dc && strncmp(dc, reason, strlen(reason)) == 0 && dc[strlen(reason)] == ':', fw);
	EXPECT_STR(fw, "vr", vr);
	json_decref(fw);
	EXPECT_TRUE(harness_file_count(agent_log, "downloading") == before, NULL);
	EXPECT_TRUE(harness_file_count(agent_log, "notify:") == notes, NULL);
}

static int save_pub(const hs_key *k, const char *path)
{
	const char *reason = NULL;
	unlink(path);
	return hs_key_save(k, NULL, path, &reason);
}

static int group_setup(void **state)
{
	int rc = harness_group_setup(state);
	if (rc != 0 || !harness_is_local())
		return rc;
	snprintf(bindir, sizeof bindir, "%s", harness_bin_dir());
	snprintf(dir, sizeof dir, "%s", harness_dir());
	const char *reason = NULL;
	if (hs_key_generate(&vendor_key, &reason) || hs_key_generate(&rogue_key, &reason) ||
	    hs_key_generate(&operator_key, &reason) || hs_key_generate(&gateway_key, &reason) ||
	    hs_key_generate(&other_gw_key, &reason))
		return -1;
	char vdir[800], gw[800];
	snprintf(vdir, sizeof vdir, "%s/vendor-keys", dir);
	mkdir(vdir, 0700);
	snprintf(gw, sizeof gw, "%s/gateway.pem", dir);
	unlink(gw);
	if (save_pub(vendor_key, hfmt("%s/Acme.pem", vdir)) || save_pub(operator_key, hfmt("%s/operator.pem", dir)) ||
	    hs_key_save(gateway_key, gw, NULL, &reason))
		return -1;
	snprintf(in_admin, sizeof in_admin, "%s/%s", harness_csi(), harness_admin());
	char opk[800], cache[800];
	snprintf(opk, sizeof opk, "%s/operator.pem", dir);
	snprintf(cache, sizeof cache, "%s/gw-cache", dir);
	const char *args[] = { "--cse-type", "mn", "--registrar-url", harness_url(), "--registrar-id",
	                       harness_cse_id(), "--registrar-rn", harness_cse_rn(), "--registrar-check", "1",
	                       "--admin", in_admin, "--mgmt-timeout", "8", "--log-level", "info",
	                       "--update-vendor-keys", vdir, "--update-operator-key", opk,
	                       "--update-gateway-key", gw, "--update-cache", cache, NULL };
	if (harness_peer_start(&mn, args) != 0)
		return -1;
	char fbin[600], port[16], log[800];
	snprintf(fbin, sizeof fbin, "%s/hearth-files", bindir);
	files_port = harness_free_port();
	snprintf(port, sizeof port, "%d", files_port);
	snprintf(log, sizeof log, "%s/files.log", dir);
	char *fargv[] = { fbin, (char *)"--dir", dir, (char *)"--port", port, NULL };
	files_pid = harness_spawn(log, fargv, true);
	for (int i = 0; i < 100 && !harness_file_count(log, "serving"); i++)
		harness_sleep_ms(20);
	char bin[600], aport[16], csurl[64];
	snprintf(bin, sizeof bin, "%s/hearth-device", bindir);
	agent_port = harness_free_port();
	snprintf(aport, sizeof aport, "%d", agent_port);
	snprintf(agent_state, sizeof agent_state, "%s/dev-TH10", dir);
	snprintf(agent_log, sizeof agent_log, "%s/dev-TH10.log", dir);
	snprintf(csurl, sizeof csurl, "%s", mn.url);
	char *argv[] = { bin, (char *)"--cse-url", csurl, (char *)"--cse-id", (char *)"id-mn", (char *)"--cse-rn",
	                 (char *)"cse-mn", (char *)"--listen-port", aport, (char *)"--state-dir", agent_state,
	                 (char *)"--manufacturer", (char *)"Acme", (char *)"--model", (char *)"TH10",
	                 (char *)"--serial", (char *)"1", (char *)"--fw-version", (char *)"1.0.0", NULL };
	if (truncate(agent_log, 0) != 0 && errno != ENOENT)
		return -1;
	agent_pid = harness_spawn(agent_log, argv, true);
	int64_t end = harness_now_ms() + 10000;
	while (!harness_file_count(agent_log, " INFO ready") && harness_now_ms() < end)
		harness_sleep_ms(50);
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, "/id-mn/cse-mn", harness_admin(), 3,
	            json_pack("{s:{s:s}}", "m2m:cnt", "rn", "pkgs"), NULL);
	rc = r.rsc == 2001 ? 0 : -1;
	m2m_result_clear(&r);
	return rc;
}

static int group_teardown(void **state)
{
	harness_reap(&agent_pid, SIGTERM);
	harness_reap(&files_pid, SIGTERM);
	int rc = 0;
	if (mn.pid > 0 && harness_peer_stop(&mn) != 0) {
		harness_peer_log_tail(&mn, 30);
		rc = -1;
	}
	hs_key_free(&vendor_key);
	hs_key_free(&rogue_key);
	hs_key_free(&operator_key);
	hs_key_free(&gateway_key);
	hs_key_free(&other_gw_key);
	return harness_group_teardown(state) || rc;
}

static void test_verified_updates(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	harness_case("a good package: successful, vr new, the image served from the gateway's cache");
	pkg_opts good = { .version = "2.0.0", .seq = 5 };
	const char *good_pkg = make_package(&good);
	json_t *fw = run_update(good_pkg);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 1);
	EXPECT_STR(fw, "vr", "2.0.0");
	json_decref(fw);
	EXPECT_TRUE(harness_file_count(agent_log, "/hearth-cache/") >= 1, NULL);
	EXPECT_TRUE(harness_file_count(agent_log, hfmt("127.0.0.1:%d", files_port)) == 0, NULL);

	harness_case("re-applying the installed manifest: already-installed");
	int before = harness_file_count(agent_log, "downloading");
	fw = run_update(good_pkg);
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 2);
	EXPECT_TRUE(strncmp(harness_jstr(fw, "dc") ? harness_jstr(fw, "dc") : "", "already-installed:", 18) == 0, fw);
	json_decref(fw);
	EXPECT_TRUE(harness_file_count(agent_log, "downloading") == before, NULL);

	harness_case("manifest signed by an unpinned key: unknown-key");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .signer = rogue_key }, "unknown-key", "2.0.0");
	harness_case("a manifest the manufacturer never published (the coordinator signed it itself): unknown-key");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .signer = operator_key }, "unknown-key", "2.0.0");
	harness_case("an unsigned manifest (alg none), served over valid TLS or not: manifest-malformed");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .unsigned_manifest = true }, "manifest-malformed",
	               "2.0.0");
	harness_case("one byte of the image altered: digest-mismatch");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .flip = true }, "digest-mismatch", "2.0.0");
	harness_case("image longer than the signed size: size-mismatch");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .serve_suffix = "trailing bytes" }, "size-mismatch",
	               "2.0.0");
	harness_case("lower seq than the installed one: downgrade");
	expect_refused(&(pkg_opts){ .version = "1.5.0", .seq = 4 }, "downgrade", "2.0.0");
	harness_case("expired manifest: expired");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .exp_offset = -5 }, "expired", "2.0.0");
	harness_case("another model: model-mismatch");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .model = "PL2" }, "model-mismatch", "2.0.0");
	harness_case("other hardware: hardware-mismatch");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .hw = "9.9" }, "hardware-mismatch", "2.0.0");
	harness_case("assignment not signed by the operator: assignment-signature");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .assigner = rogue_key }, "assignment-signature",
	               "2.0.0");
	harness_case("assignment for another device: assignment-mismatch");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .device = "urn:dev:Acme:TH10:2" },
	               "assignment-mismatch", "2.0.0");
	harness_case("image encrypted for another gateway: not-for-this-gateway");
	expect_refused(&(pkg_opts){ .version = "3.0.0", .seq = 6, .encrypt_for = other_gw_key }, "not-for-this-gateway",
	               "2.0.0");
	harness_case("a plain URL is no update package: no-package");
	before = harness_file_count(agent_log, "downloading");
	fw = run_update(hfmt("http://127.0.0.1:%d/img-1.bin", files_port));
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_TRUE(strncmp(harness_jstr(fw, "dc") ? harness_jstr(fw, "dc") : "", "no-package:", 11) == 0, fw);
	json_decref(fw);
	EXPECT_TRUE(harness_file_count(agent_log, "downloading") == before, NULL);

	harness_case("an image encrypted for this gateway: decrypted, successful");
	fw = run_update(make_package(&(pkg_opts){ .version = "3.1.0", .seq = 7, .encrypt_for = gateway_key }));
	EXPECT_TRUE(fw != NULL, NULL);
	EXPECT_INT(json_object_get(fw, "uds"), "sus", 1);
	EXPECT_STR(fw, "vr", "3.1.0");
	json_decref(fw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_verified_updates),
	};
	return cmocka_run_group_tests_name("19_verified_update", tests, group_setup, group_teardown);
}
