/*
 * 18_vendor_test.c - the manufacturer's update service hearth-vendor,
 * black box over HTTPS.
 *
 * Design note: a throwaway PKI (pki.h) gives a CA, a server certificate
 * for 127.0.0.1 and a second, untrusted CA; vendor keys are made with the
 * hsign library. Releases are written with `hearth-vendor publish` into
 * two vendor directories (Acme: lamp 9.0 seq 6 and 10.0 seq 7, so that the
 * latest by seq is not the latest by name, plus kettle 1.0 encrypted for a
 * gateway key, and two advisories; Globex: plug 3.0). Both services run at
 * once on their own free loopback ports, and every answer is fetched with
 * libcurl verifying the certificate against the CA. Manifests are checked
 * with hs_manifest_verify and images against the manifest's SHA-256.
 * Then directories with a bad advisory and with a manifest signed by
 * another key must make `serve` exit with a status other than 0 and name
 * the file. Skipped (with a message) when `openssl` is missing.
 */
#include "conformance/lib/harness.h"
#include "conformance/lib/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ae/lib/hsign.h"

extern char **environ;

static char vendor_bin[PATH_MAX]; /* <B>/hearth-vendor */

#define BODY_MAX (1024u * 1024u)

static struct {
	bool skip;
	const char *why;
	char acme[PATH_MAX], globex[PATH_MAX];
	int port_a, port_b;
	pid_t pid_a, pid_b;
} T;

struct resp {
	long status;
	char type[128];
	curl_off_t length; /* Content-Length, -1 when absent */
	unsigned char *body;
	size_t len;
	CURLcode cc;
};

#define SKIP_IF_NEEDED()                                           \
	do {                                                       \
		if (T.skip) {                                      \
			print_message("[  SKIP    ] %s\n", T.why); \
			skip();                                    \
		}                                                  \
	} while (0)

/* ---- helpers -------------------------------------------------------------- */

/* Run hearth-vendor args (NULL-terminated) with stdout/stderr into files;
 * wait: the exit status, else the pid. */
static pid_t spawn_vendor(const char *const *args, const char *log, bool wait)
{
	const char *argv[40];
	int n = 0;
	argv[n++] = vendor_bin;
	for (; args[n - 1] && n < 39; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int rc = posix_spawn(&pid, vendor_bin, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	if (!wait)
		return pid;
	int st = 0;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

#define PUBLISH(...) spawn_vendor((const char *const[]){"publish", __VA_ARGS__, NULL}, pki_path("publish.log"), true)

static size_t on_body(char *p, size_t size, size_t nmemb, void *user)
{
	struct resp *r = user;
	size_t n = size * nmemb;
	if (r->len + n > BODY_MAX)
		return 0;
	memcpy(r->body + r->len, p, n);
	r->len += n;
	return n;
}

/* One request; ca NULL: the system's trust store (which does not know our
 * CA). */
static void request(int port, const char *method, const char *path, const char *ca, struct resp *r)
{
	memset(r, 0, sizeof(*r));
	r->body = calloc(1, BODY_MAX + 1);
	assert_non_null(r->body);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, hfmt("https://127.0.0.1:%d%s", port, path));
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	r->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	char *ct = NULL;
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r->type, sizeof(r->type), "%s", ct ? ct : "");
	r->length = -1;
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->length);
	curl_easy_cleanup(c);
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* GET path (CA-verified); status must be want; JSON body decoded when
 * want_json. */
static json_t *get_json(int port, const char *path, long want)
{
	struct resp r;
	request(port, "GET", path, pki_path("ca.pem"), &r);
	if (r.cc != CURLE_OK || r.status != want) {
		int cc = (int)r.cc;
		long st = r.status;
		resp_free(&r);
		fail_msg("GET %s: curl %d, status %ld (want %ld)", path, cc, st, want);
	}
	assert_non_null(strstr(r.type, "application/json"));
	json_t *j = json_loadb((const char *)r.body, r.len, 0, NULL);
	resp_free(&r);
	assert_non_null(j);
	return j;
}

static bool wait_up(int port)
{
	for (int i = 0; i < 100; i++) {
		struct resp r;
		request(port, "GET", "/v1/keys", pki_path("ca.pem"), &r);
		resp_free(&r);
		if (r.cc == CURLE_OK && r.status == 200)
			return true;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int copy(const char *from, const char *to)
{
	size_t n = 0;
	FILE *f = fopen(from, "rb");
	if (!f)
		return -1;
	static char buf[64 * 1024];
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	f = fopen(to, "wb");
	if (!f)
		return -1;
	fwrite(buf, 1, n, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* A vendor directory: vendor.ini (certificate by absolute path, public key
 * copied in and named relative to the directory). */
static int make_vendor_dir(const char *name, const char *vendor, const char *pub)
{
	const char *d = pki_path(name);
	if (mkdir(d, 0755) != 0 || copy(pki_path(pub), hfmt("%s/vendor.pub", d)) != 0)
		return -1;
	return write_text(hfmt("%s/vendor.ini", d),
	                  hfmt("; test vendor\n[vendor]\nname = %s\naddr = 127.0.0.1\nport = 1\n"
	                       "tls-cert = %s\ntls-key = %s\npub-key = vendor.pub\n",
	                       vendor, pki_path("srv.pem"), pki_path("srv.key")));
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

static int make_image(const char *name, size_t n, unsigned seed)
{
	FILE *f = fopen(pki_path(name), "wb");
	if (!f)
		return -1;
	fprintf(f, "HEARTH-IMAGE v1 %s\n", name);
	for (size_t i = 0; i < n; i++)
		fputc((int)((i * seed + (i >> 7)) & 0xff), f);
	return fclose(f) == 0 ? 0 : -1;
}

static const char ADV_LAMP[] = "{\"id\":\"HSA-2025-01\",\"model\":\"lamp\",\"affected\":[\"9.0\"],\"fixed\":\"10.0\","
                               "\"cvss\":9.8,\"kev\":true,\"title\":\"Remote code execution in the lamp web UI\","
                               "\"published\":\"2025-03-01\"}\n";
static const char ADV_KETTLE[] = "{\"id\":\"HSA-2025-02\",\"model\":\"kettle\",\"affected_below\":\"1.0\","
                                 "\"fixed\":\"1.0\",\"cvss\":5.3,\"kev\":false,\"title\":\"Weak default "
                                 "password\",\"published\":\"2025-04-01T12:00:00Z\"}\n";

static int populate(void)
{
	char a[PATH_MAX], g[PATH_MAX];
	snprintf(a, sizeof(a), "%s", pki_path("acme"));
	snprintf(g, sizeof(g), "%s", pki_path("globex"));
	if (make_vendor_dir("acme", "Acme", "vendor.pub") != 0 || make_vendor_dir("globex", "Globex", "globex.pub") != 0)
		return -1;
	const char *vk = pki_path("vendor.pem");
	char vkey[PATH_MAX], gkey[PATH_MAX], gw[PATH_MAX];
	snprintf(vkey, sizeof(vkey), "%s", vk);
	snprintf(gkey, sizeof(gkey), "%s", pki_path("globex.pem"));
	snprintf(gw, sizeof(gw), "%s", pki_path("gw.pub"));
	char lamp9[PATH_MAX], lamp10[PATH_MAX], kettle[PATH_MAX], plug[PATH_MAX];
	snprintf(lamp9, sizeof(lamp9), "%s", pki_path("lamp-9.0.bin"));
	snprintf(lamp10, sizeof(lamp10), "%s", pki_path("lamp-10.0.bin"));
	snprintf(kettle, sizeof(kettle), "%s", pki_path("kettle-1.0.bin"));
	snprintf(plug, sizeof(plug), "%s", pki_path("plug-3.0.bin"));
	if (PUBLISH("--dir", a, "--key", vkey, "--model", "lamp", "--version", "10.0", "--seq", "7", "--hw", "1.0,1.1",
	            "--image", lamp10, "--criticality", "critical", "--advisory", "HSA-2025-01") != 0 ||
	    PUBLISH("--dir", a, "--key", vkey, "--model", "lamp", "--version", "9.0", "--seq", "6", "--hw", "1.0",
	            "--image", lamp9, "--expires", "86400") != 0 ||
	    PUBLISH("--dir", a, "--key", vkey, "--model", "kettle", "--version", "1.0", "--seq", "1", "--hw", "A",
	            "--image", kettle, "--criticality", "high", "--encrypt-for", gw) != 0 ||
	    PUBLISH("--dir", g, "--key", gkey, "--model", "plug", "--version", "3.0", "--seq", "3", "--hw", "2",
	            "--image", plug) != 0)
		return -1;
	if (mkdir(hfmt("%s/advisories", a), 0755) != 0 ||
	    write_text(hfmt("%s/advisories/HSA-2025-01.json", a), ADV_LAMP) != 0 ||
	    write_text(hfmt("%s/advisories/HSA-2025-02.json", a), ADV_KETTLE) != 0)
		return -1;
	return 0;
}

static pid_t start(const char *dir, int port, const char *log)
{
	char p[16];
	snprintf(p, sizeof(p), "%d", port);
	return spawn_vendor((const char *const[]){"serve", "--dir", dir, "--port", p, NULL}, log, false);
}

/* SIGTERM; 0 when it exits with status 0 (under the sanitizers a leak
 * would change the status). */
static int stop(pid_t *pid)
{
	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	int st = 0;
	waitpid(*pid, &st, 0);
	int rc = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_error("hearth-vendor %d: exit status %d\n", (int)*pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		rc = -1;
	}
	*pid = 0;
	return rc;
}

static int group_setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	if (!pki_openssl_present()) {
		T.skip = true;
		T.why = "the openssl command is not installed";
		return 0;
	}
	if (access(vendor_bin, X_OK) != 0)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pki_init() != 0 || pki_write("srv.ext", "subjectAltName=IP:127.0.0.1\n") != 0 ||
	    pki_make_key("ca", "Hearth vendor test CA", true) != 0 || pki_make_key("other-ca", "Another CA", true) != 0 ||
	    pki_make_key("srv", "127.0.0.1", false) != 0 || pki_sign("srv", "ca", "srv.ext") != 0 ||
	    make_key("vendor") != 0 || make_key("globex") != 0 || make_key("rogue") != 0 || make_key("gw") != 0 ||
	    make_image("lamp-9.0.bin", 70000, 7) != 0 || make_image("lamp-10.0.bin", 90000, 13) != 0 ||
	    make_image("kettle-1.0.bin", 30000, 17) != 0 || make_image("plug-3.0.bin", 1000, 19) != 0 ||
	    populate() != 0) {
		print_error("18_vendor: setup failed (see %s)\n", pki_dir());
		return -1;
	}
	snprintf(T.acme, sizeof(T.acme), "%s", pki_path("acme"));
	snprintf(T.globex, sizeof(T.globex), "%s", pki_path("globex"));
	T.port_a = harness_free_port();
	T.pid_a = start(T.acme, T.port_a, pki_path("acme.log"));
	T.port_b = harness_free_port();
	while (T.port_b == T.port_a)
		T.port_b = harness_free_port();
	T.pid_b = start(T.globex, T.port_b, pki_path("globex.log"));
	if (T.pid_a <= 0 || T.pid_b <= 0 || !wait_up(T.port_a) || !wait_up(T.port_b)) {
		print_error("18_vendor: hearth-vendor did not come up (logs in %s)\n", pki_dir());
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	int rc = 0;
	if (!T.skip) {
		rc |= stop(&T.pid_a);
		rc |= stop(&T.pid_b);
		pki_cleanup();
		curl_global_cleanup();
	}
	return rc;
}

/* ---- cases ---------------------------------------------------------------- */

static hs_keyset *acme_keys(void)
{
	hs_keyset *ks = hs_keyset_new();
	assert_non_null(ks);
	assert_int_equal(hs_keyset_add_path(ks, "Acme", pki_path("vendor.pub"), NULL), 0);
	return ks;
}

static void test_catalog(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	json_t *c = get_json(T.port_a, "/v1/catalog", 200);
	assert_string_equal(json_string_value(json_object_get(c, "vendor")), "Acme");
	json_t *models = json_object_get(c, "models");
	assert_int_equal(json_object_size(models), 2);
	json_t *lamp = json_object_get(models, "lamp");
	/* 10.0 (seq 7) sorts before 9.0 (seq 6) by name: latest goes by seq */
	assert_string_equal(json_string_value(json_object_get(lamp, "latest")), "10.0");
	assert_int_equal(json_integer_value(json_object_get(lamp, "seq")), 7);
	assert_string_equal(json_string_value(json_object_get(lamp, "criticality")), "critical");
	assert_string_equal(json_string_value(json_object_get(lamp, "manifest")), "/v1/releases/lamp/10.0/manifest");
	assert_string_equal(json_string_value(json_object_get(lamp, "image")), "/v1/releases/lamp/10.0/image");
	assert_int_equal(json_integer_value(json_object_get(lamp, "size")), 90000 + strlen("HEARTH-IMAGE v1 lamp-10.0.bin\n"));
	json_t *kettle = json_object_get(models, "kettle");
	assert_string_equal(json_string_value(json_object_get(kettle, "latest")), "1.0");
	assert_true(json_is_true(json_object_get(kettle, "encrypted")));
	json_decref(c);

	json_t *l = get_json(T.port_a, "/v1/releases/lamp", 200);
	json_t *rels = json_object_get(l, "releases");
	assert_int_equal(json_array_size(rels), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rels, 0), "version")), "9.0");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rels, 0), "seq")), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rels, 1), "version")), "10.0");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rels, 1), "seq")), 7);
	json_decref(l);

	/* the second instance serves its own vendor at the same time */
	json_t *g = get_json(T.port_b, "/v1/catalog", 200);
	assert_string_equal(json_string_value(json_object_get(g, "vendor")), "Globex");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(g, "models"), "plug"),
	                                                      "latest")),
	                    "3.0");
	assert_null(json_object_get(json_object_get(g, "models"), "lamp"));
	json_decref(g);
}

/* manifest of model/version: verified with the vendor key; the image's
 * bytes and length against it. */
static void check_release(const char *model, const char *version, long long seq, bool encrypted)
{
	struct resp m, i;
	request(T.port_a, "GET", hfmt("/v1/releases/%s/%s/manifest", model, version), pki_path("ca.pem"), &m);
	assert_int_equal(m.cc, CURLE_OK);
	assert_int_equal(m.status, 200);
	assert_string_equal(m.type, "application/jose");
	while (m.len && (m.body[m.len - 1] == '\n'))
		m.body[--m.len] = '\0';
	hs_keyset *ks = acme_keys();
	json_t *p = NULL;
	const char *reason = NULL;
	if (hs_manifest_verify((const char *)m.body, ks, time(NULL), &p, &reason) != 0)
		fail_msg("%s %s: manifest does not verify: %s", model, version, reason);
	assert_string_equal(json_string_value(json_object_get(p, "version")), version);
	assert_string_equal(json_string_value(json_object_get(p, "vendor")), "Acme");
	assert_int_equal(json_integer_value(json_object_get(p, "seq")), seq);

	request(T.port_a, "GET", hfmt("/v1/releases/%s/%s/image", model, version), pki_path("ca.pem"), &i);
	assert_int_equal(i.cc, CURLE_OK);
	assert_int_equal(i.status, 200);
	assert_string_equal(i.type, encrypted ? "application/jose" : "application/octet-stream");
	const char *path = pki_path("download.bin");
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(i.body, 1, i.len, f), i.len);
	assert_int_equal(fclose(f), 0);
	json_t *img = json_object_get(p, "image");
	json_t *desc = encrypted ? json_object_get(img, "enc") : img;
	assert_int_equal(i.length, json_integer_value(json_object_get(desc, "size")));
	char hex[65];
	uint64_t size = 0;
	assert_int_equal(hs_file_digest(path, hex, &size, NULL), 0);
	assert_int_equal(size, (uint64_t)json_integer_value(json_object_get(desc, "size")));
	assert_string_equal(hex, json_string_value(json_object_get(desc, "sha256")));
	if (encrypted) {
		/* and the gateway it is meant for can open it */
		hs_key *gw = NULL;
		assert_int_equal(hs_key_load(pki_path("gw.pem"), &gw, NULL), 0);
		if (hs_image_decrypt(path, pki_path("download.dec"), gw, p, &reason) != 0)
			fail_msg("decrypt: %s", reason);
		hs_key_free(&gw);
	}
	/* HEAD: the same length, no body */
	struct resp h;
	request(T.port_a, "HEAD", hfmt("/v1/releases/%s/%s/image", model, version), pki_path("ca.pem"), &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.length, json_integer_value(json_object_get(desc, "size")));
	assert_int_equal(h.len, 0);
	resp_free(&h);
	json_decref(p);
	hs_keyset_free(&ks);
	resp_free(&m);
	resp_free(&i);
}

static void test_releases(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	check_release("lamp", "10.0", 7, false);
	check_release("lamp", "9.0", 6, false);
	check_release("kettle", "1.0", 1, true);
	/* the key the service publishes is the vendor key */
	struct resp k;
	request(T.port_a, "GET", "/v1/keys", pki_path("ca.pem"), &k);
	assert_int_equal(k.status, 200);
	assert_non_null(strstr((const char *)k.body, "-----BEGIN PUBLIC KEY-----"));
	resp_free(&k);
}

static void test_advisories(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	json_t *all = get_json(T.port_a, "/v1/advisories", 200);
	assert_int_equal(json_array_size(all), 2);
	json_t *a0 = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(a0, "id")), "HSA-2025-01");
	assert_true(json_is_true(json_object_get(a0, "kev")));
	assert_true(json_real_value(json_object_get(a0, "cvss")) > 9.7);
	json_decref(all);
	json_t *l = get_json(T.port_a, "/v1/advisories?model=lamp", 200);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "model")), "lamp");
	json_decref(l);
	json_t *k = get_json(T.port_a, "/v1/advisories?model=kettle", 200);
	assert_int_equal(json_array_size(k), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(k, 0), "affected_below")), "1.0");
	json_decref(k);
	json_t *none = get_json(T.port_a, "/v1/advisories?model=toaster", 200);
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
	json_t *g = get_json(T.port_b, "/v1/advisories", 200);
	assert_int_equal(json_array_size(g), 0);
	json_decref(g);
}

static void test_not_found(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	static const char *const paths[] = {
		"/v1/releases/../vendor.ini", "/v1/releases/%2e%2e/vendor.ini", "/v1/releases/lamp/../../vendor.ini",
		"/v1/releases/lamp/%2e%2e/%2e%2e/vendor.ini", "/vendor.ini", "/v1/../vendor.ini", "/v1/keys/../../vendor.pub",
		"/releases/lamp/10.0/manifest.jws", "/v1/releases/lamp/10.0/manifest.jws", "/v1/releases/lamp/10.0/",
		"/v1/releases/toaster", "/v1/releases/lamp/11.0/manifest", "/v1/releases/lamp/10.0/image/x",
		"/v1/catalog/", "/v1/", "/", "/v2/catalog",
		"/v1/releases/.hidden", "/v1/releases/lamp/10.0/%00manifest",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		json_t *e = get_json(T.port_a, paths[i], 404);
		assert_non_null(json_string_value(json_object_get(e, "error")));
		json_decref(e);
	}
	/* a long path is refused, not a crash */
	static char longp[6000];
	memcpy(longp, "/v1/releases/", 13);
	memset(longp + 13, 'a', sizeof(longp) - 14);
	struct resp r;
	request(T.port_a, "GET", longp, pki_path("ca.pem"), &r);
	assert_true(r.status == 404 || r.status == 414 || r.status == 431);
	resp_free(&r);
	json_t *bad = get_json(T.port_a, "/v1/advisories?model=../x", 400);
	json_decref(bad);
}

static void test_methods(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct resp r;
		request(T.port_a, methods[i], "/v1/catalog", pki_path("ca.pem"), &r);
		if (r.status != 405)
			fail_msg("%s: status %ld", methods[i], r.status);
		resp_free(&r);
	}
	/* still serving after all that */
	json_t *c = get_json(T.port_a, "/v1/catalog", 200);
	json_decref(c);
}

static void test_untrusted_client(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	struct resp r;
	request(T.port_a, "GET", "/v1/catalog", pki_path("other-ca.pem"), &r);
	assert_true(r.cc == CURLE_PEER_FAILED_VERIFICATION || r.cc == CURLE_SSL_CACERT_BADFILE ||
	            r.cc == CURLE_SSL_CONNECT_ERROR);
	assert_int_equal(r.status, 0);
	resp_free(&r);
	request(T.port_b, "GET", "/v1/catalog", pki_path("other-ca.pem"), &r);
	assert_int_not_equal(r.cc, CURLE_OK);
	resp_free(&r);
}

/* serve DIR must fail at once, with a message naming file. */
static void expect_refused(const char *dir, const char *file)
{
	const char *log = pki_path("refused.log");
	char p[16];
	snprintf(p, sizeof(p), "%d", harness_free_port());
	pid_t pid = spawn_vendor((const char *const[]){"serve", "--dir", dir, "--port", p, NULL}, log, false);
	assert_true(pid > 0);
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 200 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++) {
		struct timespec ts = {0, 25 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("serve %s kept running", dir);
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1); /* refused; not a crash, not a leak report */
	static char msg[2048];
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	size_t n = fread(msg, 1, sizeof(msg) - 1, f);
	fclose(f);
	msg[n] = '\0';
	if (!strstr(msg, file))
		fail_msg("the message does not name %s: %s", file, msg);
	print_message("  refused: %s", msg);
}

static void test_bad_directories(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	/* a bad advisory (cvss out of range), then one that is not JSON */
	char d[PATH_MAX];
	snprintf(d, sizeof(d), "%s", pki_path("bad-adv"));
	assert_int_equal(make_vendor_dir("bad-adv", "Acme", "vendor.pub"), 0);
	assert_int_equal(mkdir(hfmt("%s/advisories", d), 0755), 0);
	assert_int_equal(write_text(hfmt("%s/advisories/HSA-9.json", d),
	                            "{\"id\":\"HSA-9\",\"model\":\"lamp\",\"affected\":[\"1.0\"],\"fixed\":\"2.0\","
	                            "\"cvss\":12.5,\"kev\":false,\"title\":\"t\",\"published\":\"2025-01-01\"}"),
	                 0);
	expect_refused(d, "HSA-9.json");
	assert_int_equal(write_text(hfmt("%s/advisories/HSA-9.json", d), "{\"id\": \"HSA-9\","), 0);
	expect_refused(d, "HSA-9.json");
	assert_int_equal(write_text(hfmt("%s/advisories/HSA-9.json", d),
	                            "{\"id\":\"HSA-9\",\"model\":\"lamp\",\"affected\":[\"1.0\"],\"affected_below\":\"2.0\","
	                            "\"fixed\":\"2.0\",\"cvss\":1,\"kev\":false,\"title\":\"t\",\"published\":\"2025-01-01\"}"),
	                 0);
	expect_refused(d, "HSA-9.json");

	/* a manifest signed by another key: published while the directory
	   named the rogue key, then the real vendor key put back */
	snprintf(d, sizeof(d), "%s", pki_path("bad-sig"));
	assert_int_equal(make_vendor_dir("bad-sig", "Acme", "rogue.pub"), 0);
	char key[PATH_MAX], img[PATH_MAX];
	snprintf(key, sizeof(key), "%s", pki_path("rogue.pem"));
	snprintf(img, sizeof(img), "%s", pki_path("plug-3.0.bin"));
	assert_int_equal(PUBLISH("--dir", d, "--key", key, "--model", "lamp", "--version", "11.0", "--seq", "8", "--hw",
	                         "1.0", "--image", img),
	                 0);
	assert_int_equal(copy(pki_path("vendor.pub"), hfmt("%s/vendor.pub", d)), 0);
	expect_refused(d, "releases/lamp/11.0/manifest.jws");

	/* an image that no longer matches its manifest */
	snprintf(d, sizeof(d), "%s", pki_path("bad-img"));
	assert_int_equal(make_vendor_dir("bad-img", "Acme", "vendor.pub"), 0);
	snprintf(key, sizeof(key), "%s", pki_path("vendor.pem"));
	assert_int_equal(PUBLISH("--dir", d, "--key", key, "--model", "lamp", "--version", "11.0", "--seq", "8", "--hw",
	                         "1.0", "--image", img),
	                 0);
	FILE *f = fopen(hfmt("%s/releases/lamp/11.0/image.bin", d), "ab");
	assert_non_null(f);
	fputc('!', f);
	fclose(f);
	expect_refused(d, "releases/lamp/11.0/image.bin");

	/* publish refuses to replace a release and a key that is not pub-key */
	assert_int_equal(PUBLISH("--dir", d, "--key", key, "--model", "lamp", "--version", "11.0", "--seq", "9", "--hw",
	                         "1.0", "--image", img),
	                 1);
	snprintf(key, sizeof(key), "%s", pki_path("rogue.pem"));
	assert_int_equal(PUBLISH("--dir", d, "--key", key, "--model", "lamp", "--version", "12.0", "--seq", "9", "--hw",
	                         "1.0", "--image", img),
	                 1);
	assert_int_not_equal(access(hfmt("%s/releases/lamp/12.0", d), F_OK), 0);
}

static void test_usage(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	const char *log = pki_path("usage.log");
	assert_int_equal(spawn_vendor((const char *const[]){"--help", NULL}, log, true), 0);
	static const char *const bad[][6] = {
		{"serve", NULL},
		{"serve", "--dir", "x", "--port", "99999", NULL},
		{"serve", "--dir", "x", "--bogus", NULL},
		{"frobnicate", NULL},
		{"publish", "--dir", "x", NULL},
		{"publish", "--dir", "x", "--seq", "0", NULL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = spawn_vendor(bad[i], log, true);
		if (rc != 2)
			fail_msg("usage case %zu: exit %d", i, rc);
		static char msg[1024];
		FILE *f = fopen(log, "r");
		assert_non_null(f);
		size_t n = fread(msg, 1, sizeof(msg) - 1, f);
		fclose(f);
		msg[n] = '\0';
		char *nl = strchr(msg, '\n');
		assert_non_null(nl);
		assert_int_equal(nl[1], '\0');
	}
	assert_int_equal(spawn_vendor((const char *const[]){NULL}, log, true), 2);
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 1;
	char *slash = strrchr(self, '/');
	*slash = '\0';
	slash = strrchr(self, '/'); /* <B>/conformance -> <B> */
	if (!slash)
		return 1;
	*slash = '\0';
	if (snprintf(vendor_bin, sizeof(vendor_bin), "%s/hearth-vendor", self) >= (int)sizeof(vendor_bin))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog),        cmocka_unit_test(test_releases),
		cmocka_unit_test(test_advisories),     cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_methods),        cmocka_unit_test(test_untrusted_client),
		cmocka_unit_test(test_bad_directories), cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests_name("18_vendor", tests, group_setup, group_teardown);
}
