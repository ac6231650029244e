/*
 * 20_coordinator_test.c - the updates coordinator hearth-coordinator,
 * black box, with the real programs only: the harness' IN-CSE, an MN-CSE
 * registered to it (with device attestation on, so keyless devices are
 * gateway-asserted), four hearth-device agents behind the MN announcing
 * to the IN, and three hearth-vendor services over HTTPS (a throwaway PKI,
 * pki.h; vendor keys made with the hsign library; releases written with
 * `hearth-vendor publish`):
 *   Acme lamp 2.0 (seq 2, hw 1.0, medium) with advisory HSA-1 (kev) for 1.0;
 *   Globex plug 3.0 (seq 3, hw 2, low);
 *   Initech oven 5.0, whose key the coordinator does not pin (it pins another).
 * Devices: lamp 2.0 hw 1.0 (current), lamp 1.0 hw 1.0 (outdated, critical
 * through the kev advisory, eligible), plug 1.0 hw 9 (outdated, hardware
 * not in the manifest), oven 4.0 (manifest refused: unknown-key).
 * `hearth-coordinator plan --json F` runs as a separate process; every
 * row of F is checked. Local mode only; skipped without `openssl`.
 */
#include "conformance/lib/harness.h"
#include "conformance/lib/pki.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ae/lib/hsign.h"


static harness_peer mn = { .name = "mn" };
/* the coordinator's AE-ID: not an admin; the IN and the gateway name it
   their device-management operator (--operator) */
static const char *const COORD = "Ccoordinator";
static char bindir[PATH_MAX];
static bool skip_all;
static const char *skip_why = "";

typedef struct vendor {
	const char *name, *model, *version, *seq, *hw, *crit;
	int port;
	int pid;
} vendor;

static vendor vend[3] = {
	{ "Acme", "lamp", "2.0", "2", "1.0", "medium", 0, 0 },
	{ "Globex", "plug", "3.0", "3", "2", "low", 0, 0 },
	{ "Initech", "oven", "5.0", "5", "X", "high", 0, 0 },
};

typedef struct agent {
	const char *man, *model, *serial, *fwv, *hwv;
	int port;
	int pid;
	const char *manager; /* --manager, or NULL */
} agent;

/* the first four start with the group; the others join for the campaign
   tests, one by one so that the inventory (and wave) order is theirs */
#define NDEV 10
static agent dev[NDEV] = {
	{ "Acme", "lamp", "1", "2.0", "1.0", 0, 0, NULL },
	{ "Acme", "lamp", "2", "1.0", "1.0", 0, 0, NULL },
	{ "Globex", "plug", "3", "1.0", "9", 0, 0, NULL },
	{ "Initech", "oven", "4", "4.0", "X", 0, 0, NULL },
	{ "Globex", "plug", "5", "1.0", "2", 0, 0, NULL },  /* waves: killed, fails */
	{ "Globex", "plug", "6", "1.0", "2", 0, 0, NULL },  /* waves: second wave, halted */
	{ "Acme", "lamp", "7", "1.0", "1.0", 0, 0, NULL },  /* consent: critical, granted */
	{ "Globex", "plug", "8", "1.0", "2", 0, 0, NULL },  /* consent: refused */
	{ "Acme", "lamp", "9", "1.0", "1.0", 0, 0, NULL },  /* automatic consent for critical updates */
	{ "Acme", "lamp", "10", "1.0", "1.0", 0, 0, "/id-in/CAcme-updates" }, /* inform: Acme launches */
};

#define SKIP_IF_NEEDED()                                                  \
	do {                                                              \
		HARNESS_LOCAL_ONLY();                                     \
		if (skip_all) {                                           \
			print_message("[  SKIP    ] %s\n", skip_why); \
			skip();                                           \
		}                                                         \
	} while (0)

/* Run bindir/prog args... with stdout/stderr appended to log; wait: its
   exit status (harness_run), else its pid (harness_spawn). */
static int run(const char *prog, const char *const *args, const char *log, bool wait)
{
	char bin[PATH_MAX + 32];
	snprintf(bin, sizeof(bin), "%s/%s", bindir, prog);
	char *argv[48];
	int n = 0;
	argv[n++] = bin;
	for (; args[n - 1] && n < 47; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	return wait ? harness_run(log, argv, true) : harness_spawn(log, argv, true);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int make_key(const char *stem)
{
	hs_key *k = NULL;
	const char *reason = NULL;
	char priv[PATH_MAX], pub[PATH_MAX];
	snprintf(priv, sizeof(priv), "%s", pki_path(hfmt("%s.pem", stem)));
	snprintf(pub, sizeof(pub), "%s", pki_path(hfmt("%s.pub", stem)));
	int rc = hs_key_generate(&k, &reason) == 0 && hs_key_save(k, priv, pub, &reason) == 0 ? 0 : -1;
	hs_key_free(&k);
	return rc;
}

static const char ADV[] = "{\"id\":\"HSA-1\",\"model\":\"lamp\",\"affected\":[\"1.0\"],\"fixed\":\"2.0\","
                          "\"cvss\":7.5,\"kev\":true,\"title\":\"Exploited lamp bug\",\"published\":\"2025-03-01\"}\n";

/* A vendor directory with one release, then serve it. */
static int vendor_start(vendor *v)
{
	char dir[PATH_MAX], key[PATH_MAX], img[PATH_MAX], log[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", pki_path(v->name));
	snprintf(key, sizeof(key), "%s", pki_path(hfmt("%s.pem", v->name)));
	snprintf(img, sizeof(img), "%s", pki_path(hfmt("%s.bin", v->model)));
	snprintf(log, sizeof(log), "%s", pki_path(hfmt("%s.log", v->name)));
	if (mkdir(dir, 0755) != 0 ||
	    write_text(hfmt("%s/vendor.ini", dir),
	               hfmt("[vendor]\nname = %s\ntls-cert = %s\ntls-key = %s\npub-key = %s\n", v->name,
	                    pki_path("srv.pem"), pki_path("srv.key"), pki_path(hfmt("%s.pub", v->name)))) != 0 ||
	    write_text(img, hfmt("HEARTH-IMAGE v1 version=%s model=%s\n", v->version, v->model)) != 0)
		return -1;
	const char *pub[] = { "publish", "--dir", dir, "--key", key, "--model", v->model, "--version", v->version,
	                      "--seq", v->seq, "--hw", v->hw, "--image", img, "--criticality", v->crit, NULL };
	if (run("hearth-vendor", pub, log, true) != 0)
		return -1;
	if (strcmp(v->model, "lamp") == 0 &&
	    (mkdir(hfmt("%s/advisories", dir), 0755) != 0 || write_text(hfmt("%s/advisories/HSA-1.json", dir), ADV) != 0))
		return -1;
	char port[16];
	v->port = harness_free_port();
	snprintf(port, sizeof(port), "%d", v->port);
	const char *serve[] = { "serve", "--dir", dir, "--port", port, NULL };
	v->pid = run("hearth-vendor", serve, log, false);
	return v->pid > 0 ? 0 : -1;
}

static int agent_start(agent *a)
{
	char port[16], state[PATH_MAX], log[PATH_MAX];
	a->port = harness_free_port();
	snprintf(port, sizeof(port), "%d", a->port);
	snprintf(state, sizeof(state), "%s", pki_path(hfmt("dev-%s", a->serial)));
	snprintf(log, sizeof(log), "%s", pki_path(hfmt("dev-%s.log", a->serial)));
	const char *args[] = { "--cse-url", mn.url, "--cse-id", "id-mn", "--cse-rn", "cse-mn", "--listen-port", port,
	                       "--state-dir", state, "--manufacturer", a->man, "--model", a->model, "--serial",
	                       a->serial, "--fw-version", a->fwv, "--hw-version", a->hwv, "--announce-to", "id-in",
	                       a->manager ? "--manager" : NULL, a->manager, NULL };
	a->pid = run("hearth-device", args, log, false);
	return a->pid > 0 ? 0 : -1;
}

/* Wait until the node of a is announced at the IN with its attestation
 * label, deviceInfo and firmware. */
static bool announced(const agent *a, long ms)
{
	char to[256];
	snprintf(to, sizeof(to), "%s/id-mn/%s-%s-node", harness_cse_rn(), a->model, a->serial);
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		m2m_result r;
		harness_req(&r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, "rcn=4");
		json_t *n = json_object_get(r.body, "m2m:nodA");
		bool ok = n && json_object_get(n, "m2m:fwrA") && json_object_get(n, "m2m:dviA") &&
		          harness_list_has_str(json_object_get(n, "lbl"), "hearth:trust=gateway-asserted");
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
	static const char *const in_args[] = { "--operator", "Ccoordinator", NULL };
	if (harness_cse_set_args(in_args) != 0)
		return -1;
	int rc = harness_group_setup(state);
	if (rc != 0 || !harness_is_local())
		return rc;
	if (!pki_openssl_present()) {
		skip_all = true;
		skip_why = "the openssl command is not installed";
		return 0;
	}
	snprintf(bindir, sizeof(bindir), "%s", harness_bin_dir());
	if (pki_init() != 0 || pki_write("srv.ext", "subjectAltName=IP:127.0.0.1\n") != 0 ||
	    pki_make_key("ca", "Hearth coordinator test CA", true) != 0 || pki_make_key("srv", "127.0.0.1", false) != 0 ||
	    pki_sign("srv", "ca", "srv.ext") != 0 || make_key("rogue") != 0 || make_key("operator") != 0 ||
	    mkdir(pki_path("trust"), 0755) != 0 || mkdir(pki_path("vkeys"), 0755) != 0) {
		print_error("20_coordinator: PKI setup failed (see %s)\n", pki_dir());
		return -1;
	}
	/* the vendors' keys, pinned at the gateway too (verified updates) */
	for (size_t i = 0; i < 3; i++) {
		char pub[PATH_MAX], pin[PATH_MAX];
		snprintf(pub, sizeof(pub), "%s", pki_path(hfmt("%s.pub", vend[i].name)));
		snprintf(pin, sizeof(pin), "%s", pki_path(hfmt("vkeys/%s.pem", vend[i].name)));
		if (make_key(vend[i].name) != 0 || link(pub, pin) != 0)
			return -1;
	}
	char in_admin[128], trust[PATH_MAX], vkeys[PATH_MAX], opub[PATH_MAX], ca[PATH_MAX];
	snprintf(in_admin, sizeof(in_admin), "%s/%s", harness_csi(), harness_admin());
	snprintf(trust, sizeof(trust), "%s", pki_path("trust"));
	snprintf(vkeys, sizeof(vkeys), "%s", pki_path("vkeys"));
	snprintf(opub, sizeof(opub), "%s", pki_path("operator.pub"));
	snprintf(ca, sizeof(ca), "%s", pki_path("ca.pem"));
	const char *args[] = { "--cse-type", "mn", "--registrar-url", harness_url(), "--registrar-id",
	                       harness_cse_id(), "--registrar-rn", harness_cse_rn(), "--registrar-check", "1",
	                       "--admin", in_admin, "--attest-trust-dir", trust, "--update-vendor-keys", vkeys,
	                       "--update-operator-key", opub, "--transport-tls-ca", ca, "--mgmt-timeout", "4",
	                       "--operator", hfmt("%s/%s", harness_csi(), COORD), NULL };
	if (harness_peer_start(&mn, args) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (vendor_start(&vend[i]) != 0) {
			print_error("20_coordinator: vendor %s did not start (see %s)\n", vend[i].name, pki_dir());
			return -1;
		}
	for (size_t i = 0; i < 4; i++)
		if (agent_start(&dev[i]) != 0)
			return -1;
	for (size_t i = 0; i < 4; i++)
		if (!announced(&dev[i], 15000)) {
			print_error("20_coordinator: device %s-%s not announced (see %s)\n", dev[i].model, dev[i].serial,
			            pki_dir());
			return -1;
		}
	/* the coordinator's configuration: Initech's key pinned wrong */
	char ini[8192];
	int n = snprintf(ini, sizeof(ini), "[in]\nurl = %s\noriginator = %s\n", harness_url(), COORD);
	for (size_t i = 0; i < 3; i++)
		n += snprintf(ini + n, sizeof(ini) - (size_t)n, "[vendor \"%s\"]\nurl = https://127.0.0.1:%d\nca = %s\nkey = %s\n%s",
		              vend[i].name, vend[i].port, pki_path("ca.pem"),
		              pki_path(hfmt("%s.pub", i == 2 ? "rogue" : vend[i].name)),
		              i == 0 ? "originator = CAcme-updates\n" : "");
	n += snprintf(ini + n, sizeof(ini) - (size_t)n, "[operator]\nkey = %s\n", pki_path("operator.pem"));
	n += snprintf(ini + n, sizeof(ini) - (size_t)n, "[coordinator]\nstate-dir = %s\n", pki_path("coord"));
	/* these homes have no consent policy: the campaigns install without one */
	n += snprintf(ini + n, sizeof(ini) - (size_t)n, "[campaign]\nno-policy = auto\nwait = 20\n");
	return write_text(pki_path("coord.ini"), ini);
}

static int group_teardown(void **state)
{
	int rc = 0;
	for (size_t i = 0; i < NDEV; i++)
		harness_reap(&dev[i].pid, SIGTERM);
	for (size_t i = 0; i < 3; i++)
		if (harness_reap(&vend[i].pid, SIGTERM) != 0)
			rc = -1;
	if (mn.pid > 0 && harness_peer_stop(&mn) != 0) {
		harness_peer_log_tail(&mn, 30);
		rc = -1;
	}
	if (rc == 0 && pki_dir()[0] && !getenv("HEARTH_KEEP"))
		pki_cleanup();
	return harness_group_teardown(state) || rc;
}

/* Run the coordinator: -c coord.ini cmd --json F [extra...]; its exit
 * status; the JSON output into *out. */
static int coordinator_x(const char *cmd, const char *extra1, const char *extra2, json_t **out)
{
	char ini[PATH_MAX], json[PATH_MAX], log[PATH_MAX];
	snprintf(ini, sizeof(ini), "%s", pki_path("coord.ini"));
	snprintf(json, sizeof(json), "%s", pki_path(hfmt("%s.json", cmd)));
	snprintf(log, sizeof(log), "%s", pki_path(hfmt("coord-%s.log", cmd)));
	unlink(json);
	const char *args[] = { "-c", ini, cmd, "--json", json, extra1, extra2, NULL };
	int st = run("hearth-coordinator", args, log, true);
	if (out) {
		json_error_t je;
		*out = json_load_file(json, 0, &je);
	}
	if (st != 0)
		print_error("hearth-coordinator %s: exit status %d (log %s)\n", cmd, st, log);
	return st;
}

static int coordinator(const char *cmd, json_t **out)
{
	return coordinator_x(cmd, NULL, NULL, out);
}

static const json_t *row_of(const json_t *rows, const char *ni)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *s = harness_jstr(r, json_object_get(r, "ni") ? "ni" : "device");
		if (s && strcmp(s, ni) == 0)
			return r;
	}
	return NULL;
}

static void check_null(const json_t *r, const char *k)
{
	EXPECT_TRUE(json_is_null(json_object_get(r, k)), r);
}

static void test_inventory(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	harness_case("inventory: one record per device, from the announced resources");
	json_t *rows = NULL;
	assert_int_equal(coordinator("inventory", &rows), 0);
	EXPECT_TRUE(json_array_size(rows) == 4, rows);
	for (size_t i = 0; i < 4; i++) {
		const json_t *r = row_of(rows, hfmt("urn:dev:%s:%s:%s", dev[i].man, dev[i].model, dev[i].serial));
		EXPECT_TRUE(r != NULL, rows);
		EXPECT_STR(r, "gateway", "id-mn");
		EXPECT_STR(r, "manufacturer", dev[i].man);
		EXPECT_STR(r, "model", dev[i].model);
		EXPECT_STR(r, "hwv", dev[i].hwv);
		EXPECT_STR(r, "fwv", dev[i].fwv);
		EXPECT_STR(r, "vr", dev[i].fwv);
		EXPECT_STR(r, "trust", "gateway-asserted");
		const char *node = harness_jstr(r, "node");
		EXPECT_TRUE(node && strncmp(node, "/id-mn/", 7) == 0, r);
	}
	json_decref(rows);
	harness_case("an originator that is not the operator discovers no gateway and no device");
	json_t *none = NULL;
	assert_int_equal(coordinator_x("inventory", "--originator=Cstranger", NULL, &none), 0);
	EXPECT_TRUE(json_is_array(none) && json_array_size(none) == 0, none);
	json_decref(none);

	harness_case("run again: the registered AE is reused");
	assert_int_equal(coordinator("inventory", NULL), 0);
}

static void test_plan(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	json_t *rows = NULL;
	assert_int_equal(coordinator("plan", &rows), 0);
	EXPECT_TRUE(json_array_size(rows) == 4, rows);

	harness_case("lamp 2.0: current");
	const json_t *r = row_of(rows, "urn:dev:Acme:lamp:1");
	EXPECT_TRUE(r != NULL, rows);
	EXPECT_STR(r, "latest", "2.0");
	EXPECT_INT(r, "latest_seq", 2);
	EXPECT_TRUE(json_is_true(json_object_get(r, "current")), r);
	check_null(r, "criticality");
	EXPECT_TRUE(json_is_false(json_object_get(r, "eligible")), r);
	EXPECT_STR(r, "action", "none");
	EXPECT_STR(r, "reason", "current");
	EXPECT_TRUE(json_array_size(json_object_get(r, "advisories")) == 0, r);

	harness_case("lamp 1.0: outdated, critical through a known-exploited advisory, eligible");
	r = row_of(rows, "urn:dev:Acme:lamp:2");
	EXPECT_TRUE(r != NULL, rows);
	EXPECT_STR(r, "latest", "2.0");
	EXPECT_TRUE(json_is_false(json_object_get(r, "current")), r);
	EXPECT_STR(r, "criticality", "critical");
	EXPECT_TRUE(json_is_true(json_object_get(r, "eligible")), r);
	EXPECT_STR(r, "action", "update");
	EXPECT_STR(r, "reason", "outdated: 1.0 -> 2.0");
	EXPECT_TRUE(harness_list_has_str(json_object_get(r, "advisories"), "HSA-1"), r);

	harness_case("plug 1.0 on hardware 9: outdated, not eligible (hardware)");
	r = row_of(rows, "urn:dev:Globex:plug:3");
	EXPECT_TRUE(r != NULL, rows);
	EXPECT_STR(r, "latest", "3.0");
	EXPECT_INT(r, "latest_seq", 3);
	EXPECT_TRUE(json_is_false(json_object_get(r, "current")), r);
	EXPECT_STR(r, "criticality", "low");
	EXPECT_TRUE(json_is_false(json_object_get(r, "eligible")), r);
	EXPECT_STR(r, "action", "blocked");
	EXPECT_STR(r, "reason", "hardware 9 not in the manifest's hw list");

	harness_case("oven: the manifest does not verify with the pinned key, never used");
	r = row_of(rows, "urn:dev:Initech:oven:4");
	EXPECT_TRUE(r != NULL, rows);
	check_null(r, "latest");
	check_null(r, "current");
	check_null(r, "criticality");
	EXPECT_TRUE(json_is_false(json_object_get(r, "eligible")), r);
	EXPECT_STR(r, "action", "blocked");
	EXPECT_STR(r, "reason", "manifest refused: unknown-key");
	json_decref(rows);
}

static const char *agent_log(const agent *a)
{
	return pki_path(hfmt("dev-%s.log", a->serial));
}

/* status --campaign spring until the row of ni has a final status. */
static json_t *status_until_final(const char *ni, long ms)
{
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		json_t *rows = NULL;
		int st = coordinator_x("status", "--campaign=spring", NULL, &rows);
		const char *s = st == 0 ? harness_jstr(row_of(rows, ni), "status") : NULL;
		if ((s && (strcmp(s, "successful") == 0 || strcmp(s, "failed") == 0)) || harness_now_ms() >= end)
			return rows;
		json_decref(rows);
		harness_sleep_ms(300);
	}
}

static void test_launch(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	int untouched[4];
	for (size_t i = 0; i < 4; i++)
		untouched[i] = harness_file_count(agent_log(&dev[i]), "notify: ");

	harness_case("launch: the eligible lamp is started, the others are recorded with their plan reason");
	json_t *rows = NULL;
	assert_int_equal(coordinator_x("launch", "--campaign=spring", "--max-per-minute=600", &rows), 0);
	EXPECT_TRUE(json_array_size(rows) == 4, rows);
	const json_t *r = row_of(rows, "urn:dev:Acme:lamp:2");
	EXPECT_TRUE(r != NULL, rows);
	const char *st = harness_jstr(r, "status");
	EXPECT_TRUE(st && (strcmp(st, "in-process") == 0 || strcmp(st, "successful") == 0), r);
	EXPECT_STR(r, "before", "1.0");
	EXPECT_STR(row_of(rows, "urn:dev:Acme:lamp:1"), "status", "current");
	EXPECT_STR(row_of(rows, "urn:dev:Globex:plug:3"), "status", "blocked");
	EXPECT_STR(row_of(rows, "urn:dev:Globex:plug:3"), "reason", "hardware 9 not in the manifest's hw list");
	EXPECT_STR(row_of(rows, "urn:dev:Initech:oven:4"), "status", "blocked");
	EXPECT_STR(row_of(rows, "urn:dev:Initech:oven:4"), "reason", "manifest refused: unknown-key");
	json_decref(rows);

	harness_case("status: the lamp ends successful with the new version (verified by the gateway)");
	rows = status_until_final("urn:dev:Acme:lamp:2", 20000);
	r = row_of(rows, "urn:dev:Acme:lamp:2");
	EXPECT_TRUE(r != NULL, rows);
	EXPECT_STR(r, "status", "successful");
	EXPECT_STR(r, "before", "1.0");
	EXPECT_STR(r, "after", "2.0");
	EXPECT_STR(r, "manufacturer", "Acme");
	EXPECT_STR(r, "model", "lamp");
	EXPECT_STR(r, "trust", "gateway-asserted");
	EXPECT_TRUE(harness_jstr(r, "reason") != NULL, r);
	json_decref(rows);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[1]), "/hearth-cache/") >= 1, NULL);

	harness_case("ineligible devices were not touched");
	for (size_t i = 0; i < 4; i++)
		if (i != 1)
			EXPECT_TRUE(harness_file_count(agent_log(&dev[i]), "notify: ") == untouched[i], NULL);

	harness_case("launch again: the lamp is not started a second time");
	int downloads = harness_file_count(agent_log(&dev[1]), "downloading");
	assert_int_equal(coordinator_x("launch", "--campaign=spring", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, "urn:dev:Acme:lamp:2"), "status", "successful");
	json_decref(rows);
	harness_sleep_ms(500);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[1]), "downloading") == downloads, NULL);

	harness_case("the state is at the IN: a new coordinator process reads the same state");
	m2m_result mr;
	harness_req(&mr, M2M_OP_RETRIEVE, hfmt("%s/%s/campaigns/spring/la", harness_cse_rn(), COORD),
	            harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&mr, 2000);
	json_error_t je;
	json_t *doc = json_loads(harness_jstr(harness_res(&mr, "m2m:cin"), "con") ? harness_jstr(harness_res(&mr, "m2m:cin"), "con") : "",
	                         0, &je);
	m2m_result_clear(&mr);
	EXPECT_TRUE(doc != NULL, NULL);
	EXPECT_STR(doc, "campaign", "spring");
	EXPECT_TRUE(json_array_size(json_object_get(doc, "devices")) == 4, doc);
	json_decref(doc);
	rows = NULL;
	assert_int_equal(coordinator_x("status", "--campaign=spring", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, "urn:dev:Acme:lamp:2"), "status", "successful");
	EXPECT_STR(row_of(rows, "urn:dev:Acme:lamp:1"), "status", "current");
	EXPECT_STR(row_of(rows, "urn:dev:Acme:lamp:1"), "after", "2.0");
	json_decref(rows);

	harness_case("status of an unknown campaign: exit status 1");
	assert_int_equal(coordinator_x("status", "--campaign=nosuch", NULL, NULL), 1);
	harness_case("a malformed campaign name or rate: exit status 2");
	assert_int_equal(coordinator_x("status", "--campaign=../x", NULL, NULL), 2);
	assert_int_equal(coordinator_x("launch", "--max-per-minute=-1", NULL, NULL), 2);
}

/* ---- campaigns: waves, restart, consent ------------------------------------ */

static const char *ni_of(const agent *a)
{
	return hfmt("urn:dev:%s:%s:%s", a->man, a->model, a->serial);
}

/* Start agent i and wait until the IN has its announced node. */
static void agent_join(size_t i)
{
	assert_int_equal(agent_start(&dev[i]), 0);
	assert_true(announced(&dev[i], 15000));
}

/* The latest stored state of a campaign at the IN (NULL when none). */
static json_t *campaign_state(const char *name)
{
	m2m_result mr;
	harness_req(&mr, M2M_OP_RETRIEVE, hfmt("%s/%s/campaigns/%s/la", harness_cse_rn(), COORD, name),
	            harness_admin(), -1, NULL, NULL);
	const char *con = mr.rsc == 2000 ? harness_jstr(harness_res(&mr, "m2m:cin"), "con") : NULL;
	json_error_t je;
	json_t *doc = con ? json_loads(con, 0, &je) : NULL;
	m2m_result_clear(&mr);
	return doc;
}

static const json_t *entry_of(const json_t *doc, const char *ni)
{
	return row_of(json_object_get(doc, "devices"), ni);
}

/* The device's firmware at the gateway, read through the IN. */
static json_t *firmware_of(const char *campaign, const char *ni)
{
	json_t *doc = campaign_state(campaign);
	const char *fw = harness_jstr(entry_of(doc, ni), "firmware");
	json_t *out = NULL;
	if (fw) {
		m2m_result mr;
		harness_req(&mr, M2M_OP_RETRIEVE, fw, harness_admin(), -1, NULL, NULL);
		out = json_incref(harness_res(&mr, "m2m:fwr"));
		m2m_result_clear(&mr);
	}
	json_decref(doc);
	return out;
}

static void test_waves_threshold(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	agent_join(4);
	agent_join(5);
	/* plug 5 goes away: its update fails at the gateway (no answer) */
	harness_reap(&dev[4].pid, SIGKILL);
	int notes6 = harness_file_count(agent_log(&dev[5]), "notify: ");

	harness_case("waves 50,100: plug 5 (first wave) fails, the failure threshold halts the campaign");
	json_t *rows = NULL;
	assert_int_equal(coordinator_x("launch", "--campaign=waves", "--waves=50,100", &rows), 0);
	const json_t *r5 = row_of(rows, ni_of(&dev[4])), *r6 = row_of(rows, ni_of(&dev[5]));
	EXPECT_STR(r5, "status", "failed");
	EXPECT_STR(r6, "status", "pending");
	const char *why = harness_jstr(r6, "reason");
	EXPECT_TRUE(why && strstr(why, "campaign halted: failure threshold: 1 of 1 started failed"), r6);
	json_decref(rows);
	json_t *doc = campaign_state("waves");
	EXPECT_STR(doc, "phase", "halted");
	EXPECT_INT(entry_of(doc, ni_of(&dev[4])), "wave", 0);
	EXPECT_INT(entry_of(doc, ni_of(&dev[5])), "wave", 1);
	json_decref(doc);

	harness_case("the second wave never started: plug 6 got no operation, its firmware never asked to update");
	EXPECT_TRUE(harness_file_count(agent_log(&dev[5]), "notify: ") == notes6, NULL);
	json_t *fw = firmware_of("waves", ni_of(&dev[5]));
	EXPECT_STR(fw, "vr", "1.0");
	EXPECT_TRUE(!harness_jstr(fw, "url") || !strstr(harness_jstr(fw, "url"), "waves-"), fw);
	json_decref(fw);

	harness_case("launch again: a halted campaign starts nothing");
	assert_int_equal(coordinator_x("launch", "--campaign=waves", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, ni_of(&dev[5])), "status", "pending");
	json_decref(rows);
	harness_sleep_ms(300);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[5]), "notify: ") == notes6, NULL);
}

static void test_restart_mid_campaign(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	/* plug 5 is back (its old slot, 1.0): two eligible plugs, two waves */
	assert_int_equal(agent_start(&dev[4]), 0);
	int dl5 = harness_file_count(agent_log(&dev[4]), "downloading"),
	    dl6 = harness_file_count(agent_log(&dev[5]), "downloading");

	harness_case("the coordinator is killed once the first wave started");
	char ini[PATH_MAX], log[PATH_MAX];
	snprintf(ini, sizeof(ini), "%s", pki_path("coord.ini"));
	snprintf(log, sizeof(log), "%s", pki_path("coord-resume.log"));
	const char *args[] = { "-c", ini, "launch", "--campaign=resume", "--waves=50,100", NULL };
	int pid = run("hearth-coordinator", args, log, false);
	assert_true(pid > 0);
	bool started = false;
	for (int64_t end = harness_now_ms() + 20000; !started && harness_now_ms() < end;) {
		json_t *doc = campaign_state("resume");
		started = json_is_true(json_object_get(entry_of(doc, ni_of(&dev[4])), "launched"));
		json_decref(doc);
		if (!started)
			harness_sleep_ms(20);
	}
	harness_reap(&pid, SIGKILL);
	EXPECT_TRUE(started, NULL);

	harness_case("a new coordinator resumes: both plugs successful, each updated exactly once");
	json_t *rows = NULL;
	assert_int_equal(coordinator_x("launch", "--campaign=resume", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, ni_of(&dev[4])), "status", "successful");
	EXPECT_STR(row_of(rows, ni_of(&dev[5])), "status", "successful");
	EXPECT_STR(row_of(rows, ni_of(&dev[5])), "after", "3.0");
	json_decref(rows);
	json_t *doc = campaign_state("resume");
	EXPECT_STR(doc, "phase", "done");
	json_decref(doc);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[4]), "downloading") == dl5 + 1, NULL);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[5]), "downloading") == dl6 + 1, NULL);
}

/* ---- the home user's consent resources, written here as the user would ---- */

static m2m_client *home;
static const char *const USER = "Chome-user";
static const char *policy_cnt; /* its address at the MN */
static const char *requests_cnt;

static void home_req(m2m_result *r, m2m_op op, const char *to, int ty, json_t *body)
{
	memset(r, 0, sizeof(*r));
	m2m_do(home, op, to, USER, ty, body, NULL, r);
	json_decref(body);
}

static void home_setup(void)
{
	home = m2m_client_new(mn.url);
	assert_non_null(home);
	m2m_result r;
	home_req(&r, M2M_OP_CREATE, "cse-mn", 2,
	         json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", "home-user", "api", "Nhome", "rr", 0, "srv", "3"));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	const char *coord = hfmt("%s/%s", harness_csi(), COORD);
	char acpi[2][128];
	for (int k = 0; k < 2; k++) {
		home_req(&r, M2M_OP_CREATE, "cse-mn/home-user", 1,
		         json_pack("{s:{s:s,s:{s:[{s:[s],s:i},{s:[s],s:i}]},s:{s:[{s:[s],s:i}]}}}", "m2m:acp", "rn",
		                   k ? "consent-requests-acp" : "consent-policy-acp", "pv", "acr", "acor", USER, "acop",
		                   63, "acor", coord, "acop", k ? 35 : 34, "pvs", "acr", "acor", USER, "acop", 63));
		EXPECT_RSC(&r, 2001);
		snprintf(acpi[k], sizeof(acpi[k]), "%s", harness_jstr(harness_res(&r, "m2m:acp"), "ri"));
		m2m_result_clear(&r);
	}
	for (int k = 0; k < 2; k++) {
		home_req(&r, M2M_OP_CREATE, "cse-mn/home-user", 3,
		         json_pack("{s:{s:s,s:[s],s:[s],s:i}}", "m2m:cnt", "rn", k ? "consent-requests" : "consent", "lbl",
		                   k ? "hearth:consent-requests" : "hearth:consent", "acpi", acpi[k], "mni", 100));
		EXPECT_RSC(&r, 2001);
		m2m_result_clear(&r);
	}
	policy_cnt = "cse-mn/home-user/consent";
	requests_cnt = "cse-mn/home-user/consent-requests";
}

/* The user writes a new policy document. */
static void put_policy(const char *critical, int hours, const char *other, json_t *decisions)
{
	json_t *p = json_pack("{s:i,s:s,s:i,s:s,s:o}", "v", 1, "critical", critical, "auto_after_hours", hours, "other",
	                      other, "decisions", decisions ? decisions : json_object());
	char *con = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	m2m_result r;
	home_req(&r, M2M_OP_CREATE, policy_cnt, 4, json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", con));
	free(con);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
}

static const char *manifest_of(const char *campaign, const char *ni)
{
	json_t *doc = campaign_state(campaign);
	const char *m = harness_jstr(entry_of(doc, ni), "manifest");
	const char *out = m ? hfmt("%s", m) : "";
	json_decref(doc);
	return out;
}

static void test_consent(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	agent_join(6);
	agent_join(7);
	home_setup();
	put_policy("ask", 0, "ask", NULL);
	int n7 = harness_file_count(agent_log(&dev[6]), "notify: "), n8 = harness_file_count(agent_log(&dev[7]), "notify: ");
	const char *l7 = ni_of(&dev[6]);
	char p8[64];
	snprintf(p8, sizeof(p8), "%s", ni_of(&dev[7]));

	harness_case("a policy that asks: both updates await consent, a request for each in the home");
	json_t *rows = NULL;
	assert_int_equal(coordinator_x("launch", "--campaign=consent", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, l7), "status", "awaiting-consent");
	EXPECT_STR(row_of(rows, p8), "status", "awaiting-consent");
	EXPECT_STR(row_of(rows, p8), "reason", "the policy asks the user");
	json_decref(rows);
	m2m_result r;
	home_req(&r, M2M_OP_RETRIEVE, requests_cnt, -1, NULL);
	EXPECT_INT(harness_res(&r, "m2m:cnt"), "cni", 2);
	m2m_result_clear(&r);
	home_req(&r, M2M_OP_RETRIEVE, hfmt("%s/la", requests_cnt), -1, NULL);
	json_error_t je;
	json_t *req = json_loads(harness_jstr(harness_res(&r, "m2m:cin"), "con") ? harness_jstr(harness_res(&r, "m2m:cin"), "con") : "", 0, &je);
	m2m_result_clear(&r);
	EXPECT_STR(req, "kind", "consent");
	EXPECT_STR(req, "campaign", "consent");
	EXPECT_TRUE(harness_jstr(req, "manifest") != NULL, req);
	json_decref(req);

	harness_case("the coordinator may read the policy but not write it, nor read the user's AE");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("/id-mn/%s/la", policy_cnt), COORD, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_CREATE, hfmt("/id-mn/%s", policy_cnt), COORD, 4,
	            json_pack("{s:{s:s}}", "m2m:cin", "con", "{\"v\":1,\"critical\":\"auto\",\"other\":\"auto\"}"), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, "/id-mn/cse-mn/home-user", COORD, -1, NULL, NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);

	harness_case("the user grants the lamp's manifest and refuses the plug's: the lamp installs, the plug is refused");
	char ml[64], mp[64];
	snprintf(ml, sizeof(ml), "%s", manifest_of("consent", l7));
	snprintf(mp, sizeof(mp), "%s", manifest_of("consent", p8));
	EXPECT_TRUE(ml[0] && mp[0] && strcmp(ml, mp) != 0, NULL);
	put_policy("ask", 0, "ask", json_pack("{s:s,s:s}", ml, "granted", mp, "refused"));
	assert_int_equal(coordinator_x("launch", "--campaign=consent", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, l7), "status", "successful");
	EXPECT_STR(row_of(rows, l7), "after", "2.0");
	EXPECT_STR(row_of(rows, p8), "status", "refused");
	EXPECT_STR(row_of(rows, p8), "reason", "refused by the user");
	json_decref(rows);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[6]), "notify: ") > n7, NULL);

	harness_case("a refusal is final: a later grant of that manifest does not start the plug");
	put_policy("ask", 0, "ask", json_pack("{s:s,s:s}", ml, "granted", mp, "granted"));
	assert_int_equal(coordinator_x("launch", "--campaign=consent", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, p8), "status", "refused");
	json_decref(rows);
	harness_sleep_ms(300);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[7]), "notify: ") == n8, NULL);
	json_t *fw = firmware_of("consent", p8);
	EXPECT_STR(fw, "vr", "1.0");
	json_decref(fw);
}

static void test_consent_auto_critical(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	agent_join(8);
	const char *l9 = hfmt("%s", ni_of(&dev[8]));
	char ni[64];
	snprintf(ni, sizeof(ni), "%s", l9);

	harness_case("critical updates automatic after 24 hours: the lamp waits, with the time it will install");
	put_policy("auto", 24, "ask", NULL);
	json_t *rows = NULL;
	assert_int_equal(coordinator_x("launch", "--campaign=auto", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, ni), "status", "awaiting-consent");
	const char *why = harness_jstr(row_of(rows, ni), "reason");
	EXPECT_TRUE(why && strstr(why, "critical update; automatic consent when the policy's delay has passed (at "),
	            row_of(rows, ni));
	json_decref(rows);

	harness_case("a campaign whose maintenance window is later today: the lamp stays pending, untouched");
	put_policy("auto", 0, "ask", NULL);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int from = (tm.tm_hour * 60 + tm.tm_min + 120) % 1440, to = (from + 60) % 1440;
	char win[32];
	snprintf(win, sizeof(win), "--window=%02d:%02d-%02d:%02d", from / 60, from % 60, to / 60, to % 60);
	int n9 = harness_file_count(agent_log(&dev[8]), "notify: ");
	assert_int_equal(coordinator_x("launch", "--campaign=window", win, &rows), 0);
	EXPECT_STR(row_of(rows, ni), "status", "pending");
	why = harness_jstr(row_of(rows, ni), "reason");
	EXPECT_TRUE(why && strstr(why, hfmt("waiting for the maintenance window %s UTC", win + 9)), row_of(rows, ni));
	json_decref(rows);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[8]), "notify: ") == n9, NULL);

	harness_case("critical updates automatic at once: the lamp installs without a grant");
	assert_int_equal(coordinator_x("launch", "--campaign=auto", NULL, &rows), 0);
	EXPECT_STR(row_of(rows, ni), "status", "successful");
	EXPECT_STR(row_of(rows, ni), "after", "2.0");
	json_decref(rows);
	m2m_client_free(&home);
}

static void test_inform_vendor_launches(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	agent_join(9);
	char l10[64], p8[64];
	snprintf(l10, sizeof(l10), "%s", ni_of(&dev[9]));
	snprintf(p8, sizeof(p8), "%s", ni_of(&dev[7]));
	int n10 = harness_file_count(agent_log(&dev[9]), "notify: ");

	harness_case("inform mode: the coordinator stages the packages and informs; nothing is started");
	json_t *rows = NULL;
	assert_int_equal(coordinator_x("launch", "--campaign=inform", "--mode=inform", &rows), 0);
	EXPECT_STR(row_of(rows, l10), "status", "informed");
	const char *why = harness_jstr(row_of(rows, l10), "reason");
	EXPECT_TRUE(why && strstr(why, "the manufacturer notified to launch it"), row_of(rows, l10));
	EXPECT_STR(row_of(rows, p8), "status", "informed");
	json_decref(rows);
	harness_sleep_ms(300);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[9]), "notify: ") == n10, NULL);
	const char *notices = hfmt("%s/%s/notices/Acme", harness_cse_rn(), COORD);
	char nt[256];
	snprintf(nt, sizeof(nt), "%s", notices);

	harness_case("only the manufacturer's originator may read its notices");
	m2m_result r;
	harness_req(&r, M2M_OP_RETRIEVE, nt, "CGlobex-updates", -1, NULL, NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);

	harness_case("the manufacturer's AE has no rights on devices that did not name it");
	json_t *doc = campaign_state("inform");
	const char *f8 = harness_jstr(entry_of(doc, p8), "firmware"), *f7 = NULL;
	json_t *doc7 = campaign_state("consent");
	f7 = harness_jstr(entry_of(doc7, ni_of(&dev[6])), "firmware");
	const char *pk8 = harness_jstr(entry_of(doc, p8), "package");
	EXPECT_TRUE(f8 && f7 && pk8, doc);
	if (f8 && f7 && pk8) {
		harness_req(&r, M2M_OP_UPDATE, f8, "CAcme-updates", -1,
		            json_pack("{s:{s:s,s:b}}", "m2m:fwr", "url", pk8, "ud", 1), NULL);
		EXPECT_RSC(&r, 4103);
		m2m_result_clear(&r);
		harness_req(&r, M2M_OP_UPDATE, f7, "CAcme-updates", -1, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), NULL);
		EXPECT_RSC(&r, 4103);
		m2m_result_clear(&r);
	}
	json_decref(doc);
	json_decref(doc7);
	json_t *fw = firmware_of("inform", p8);
	EXPECT_STR(fw, "vr", "1.0");
	json_decref(fw);

	harness_case("hearth-vendor launch: Acme starts its lamp, the gateway verifies and installs it");
	char log[PATH_MAX], out[PATH_MAX];
	snprintf(log, sizeof(log), "%s", pki_path("vendor-launch.log"));
	snprintf(out, sizeof(out), "%s", pki_path("vendor-launch.json"));
	const char *args[] = { "launch", "--in-url", harness_url(), "--originator", "CAcme-updates", "--notices", nt,
	                       "--json", out, NULL };
	assert_int_equal(run("hearth-vendor", args, log, true), 0);
	json_error_t je;
	json_t *vr = json_load_file(out, 0, &je);
	EXPECT_TRUE(json_array_size(vr) == 1, vr);
	EXPECT_STR(json_array_get(vr, 0), "device", l10);
	EXPECT_INT(json_array_get(vr, 0), "rsc", 2004);
	json_decref(vr);
	rows = NULL;
	for (int64_t end = harness_now_ms() + 15000; harness_now_ms() < end;) {
		json_decref(rows);
		rows = NULL;
		if (coordinator_x("status", "--campaign=inform", NULL, &rows) == 0 &&
		    harness_jstr(row_of(rows, l10), "status") && strcmp(harness_jstr(row_of(rows, l10), "status"), "successful") == 0)
			break;
		harness_sleep_ms(200);
	}
	EXPECT_STR(row_of(rows, l10), "status", "successful");
	EXPECT_STR(row_of(rows, l10), "after", "2.0");
	EXPECT_STR(row_of(rows, p8), "status", "informed");
	json_decref(rows);
}

static void test_image_checked(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	harness_case("the coordinator keeps the images it checked in its state directory");
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "ls %s/coord/images/*.bin >/dev/null 2>&1", pki_dir());
	EXPECT_TRUE(system(cmd) == 0, NULL);

	harness_case("a plan removes cached images no current manifest describes, and stale partial downloads");
	char stale[PATH_MAX], part[PATH_MAX], fresh[PATH_MAX];
	snprintf(stale, sizeof(stale), "%s/coord/images/%064d.bin", pki_dir(), 0);
	snprintf(part, sizeof(part), "%s/coord/images/.part-old123", pki_dir());
	snprintf(fresh, sizeof(fresh), "%s/coord/images/.part-new123", pki_dir());
	const char *made[] = { stale, part, fresh };
	for (size_t i = 0; i < 3; i++) {
		FILE *w = fopen(made[i], "w");
		assert_non_null(w);
		fputs("old", w);
		fclose(w);
	}
	struct timespec two_hours_ago[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, part, two_hours_ago, 0), 0);
	json_t *planned = NULL;
	assert_int_equal(coordinator("plan", &planned), 0);
	json_decref(planned);
	struct stat st;
	EXPECT_TRUE(stat(stale, &st) != 0, NULL);
	EXPECT_TRUE(stat(part, &st) != 0, NULL);
	EXPECT_TRUE(stat(fresh, &st) == 0, NULL);
	EXPECT_TRUE(system(cmd) == 0, NULL); /* the current images stay */
	unlink(fresh);

	harness_case("an image that no longer matches its manifest: the plan refuses it, nothing is launched");
	char img[PATH_MAX];
	snprintf(img, sizeof(img), "%s", pki_path("Globex/releases/plug/3.0/image.bin"));
	FILE *f = fopen(img, "r+");
	assert_non_null(f);
	fputc('X', f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "rm -f %s/coord/images/*.bin", pki_dir());
	assert_int_equal(system(cmd), 0);
	json_t *rows = NULL;
	assert_int_equal(coordinator("plan", &rows), 0);
	const json_t *r8 = row_of(rows, ni_of(&dev[7]));
	EXPECT_STR(r8, "action", "blocked");
	const char *why = harness_jstr(r8, "reason");
	EXPECT_TRUE(why && strncmp(why, "image refused: ", 15) == 0, r8);
	json_decref(rows);
	int n8 = harness_file_count(agent_log(&dev[7]), "notify: ");
	assert_int_equal(coordinator_x("launch", "--campaign=badimage", "--no-policy=auto", &rows), 0);
	EXPECT_STR(row_of(rows, ni_of(&dev[7])), "status", "blocked");
	json_decref(rows);
	EXPECT_TRUE(harness_file_count(agent_log(&dev[7]), "notify: ") == n8, NULL);
}

static void test_usage(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	harness_case("bad usage: exit status 2");
	const char *log = pki_path("usage.log");
	char l[PATH_MAX];
	snprintf(l, sizeof(l), "%s", log);
	assert_int_equal(run("hearth-coordinator", (const char *const[]){ "frobnicate", NULL }, l, true), 2);
	assert_int_equal(run("hearth-coordinator", (const char *const[]){ "--in-url", "ftp://x", "plan", NULL }, l, true), 2);
	assert_int_equal(run("hearth-coordinator", (const char *const[]){ "-c", "/nonexistent.ini", "plan", NULL }, l, true), 2);
	assert_int_equal(run("hearth-coordinator",
	                     (const char *const[]){ "--in-url", "http://127.0.0.1:1", "--vendor", "Acme", "plan", NULL }, l, true),
	                 2);
	harness_case("an unreachable IN-CSE: exit status 1");
	assert_int_equal(run("hearth-coordinator", (const char *const[]){ "--in-url", "http://127.0.0.1:1", "inventory", NULL },
	                     l, true),
	                 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_inventory),
		HTEST(test_plan),
		HTEST(test_launch),
		HTEST(test_waves_threshold),
		HTEST(test_restart_mid_campaign),
		HTEST(test_consent),
		HTEST(test_consent_auto_critical),
		HTEST(test_inform_vendor_launches),
		HTEST(test_image_checked),
		HTEST(test_usage),
	};
	return cmocka_run_group_tests_name("20_coordinator", tests, group_setup, group_teardown);
}
