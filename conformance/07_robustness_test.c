/*
 * 07_robustness_test.c - malformed and hostile input: every request gets a
 * proper oneM2M error (X-M2M-RSC present, X-M2M-RI echoed, HTTP status per
 * TS-0009, m2m:dbg text in the body) and nothing already stored changes;
 * the daemon stays alive. Digest sections 2.1, 2.3, 5, 8.1, 11.
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()

static struct {
	const char *ae;
	json_t *snap_ae, *snap_cnt, *snap_cin;
} S;

static const char *at(const char *rest)
{
	return rest ? hfmt("%s/%s/%s", CSE, S.ae, rest) : hfmt("%s/%s", CSE, S.ae);
}

static void snapshot(void)
{
	if (S.ae)
		return;
	S.ae = harness_register("rob");
	harness_create_cnt(at(NULL), S.ae, "box", json_pack("{s:i,s:[s]}", "mni", 10, "lbl", "keep"));
	harness_create_cin(at("box"), S.ae, "ci", "original");
	S.snap_ae = harness_get(at(NULL), S.ae, "m2m:ae");
	S.snap_cnt = harness_get(at("box"), S.ae, "m2m:cnt");
	S.snap_cin = harness_get(at("box/ci"), S.ae, "m2m:cin");
}

typedef struct raw_case {
	const char *name;
	const char *method;
	const char *path;      /* full request path + query */
	const char *ctype;     /* NULL: none */
	const char *body;      /* NULL: none */
	size_t len;            /* 0: strlen(body) */
	bool no_origin, no_ri;
	const char *extra;     /* one more header line, or NULL */
	int codes[3];
	size_t ncodes;
} raw_case;

static void run_raw(const raw_case *c)
{
	char origin[256], ri[128], ct[256];
	const char *hdrs[8];
	size_t n = 0;
	snprintf(origin, sizeof(origin), "X-M2M-Origin: %s", S.ae);
	snprintf(ri, sizeof(ri), "X-M2M-RI: %s", harness_name("rob-rq"));
	if (!c->no_origin)
		hdrs[n++] = origin;
	if (!c->no_ri)
		hdrs[n++] = ri;
	if (!c->extra || strncasecmp(c->extra, "X-M2M-RVI:", 10) != 0)
		hdrs[n++] = "X-M2M-RVI: 4";
	hdrs[n++] = "Accept: application/json";
	if (c->ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", c->ctype);
		hdrs[n++] = ct;
	}
	if (c->extra)
		hdrs[n++] = c->extra;
	hdrs[n] = NULL;
	m2m_result r;
	harness_case("%s", c->name);
	m2m_send_raw(harness_client(), c->method, c->path, hdrs, c->body,
	             c->body ? (c->len ? c->len : strlen(c->body)) : 0, &r);
	if (!harness_check_rsc(&r, c->codes, c->ncodes, "(table)", __FILE__, __LINE__))
		fail_msg("case \"%s\" failed", c->name);
	if (r.rsc >= 4000) {
		json_t *dbg = harness_res(&r, "m2m:dbg");
		if (!json_is_string(dbg)) {
			print_error("error response without a m2m:dbg string\n");
			harness_dump(&r);
			fail_msg("case \"%s\": no m2m:dbg", c->name);
		}
	}
	m2m_result_clear(&r);
}

static char *nested(int depth)
{
	size_t cap = (size_t)depth * 2 + 64;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	size_t n = (size_t)snprintf(s, cap, "{\"m2m:cnt\":{\"lbl\":");
	for (int i = 0; i < depth; i++)
		s[n++] = '[';
	for (int i = 0; i < depth; i++)
		s[n++] = ']';
	memcpy(s + n, "}}", 3);
	return s;
}

#define CASE(...) {__VA_ARGS__}
#define CODES1(a) .codes = {a}, .ncodes = 1
#define CODES2(a, b) .codes = {a, b}, .ncodes = 2
#define CODES3(a, b, c) .codes = {a, b, c}, .ncodes = 3

static void test_malformed_bodies(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	snapshot();
	char path[512];
	snprintf(path, sizeof(path), "/%s", at(NULL));
	char cpath[512];
	snprintf(cpath, sizeof(cpath), "/%s", at("box"));
	char *deep = nested(100);
	assert_non_null(deep);
	static const char nul_body[] = "{\"m2m:cnt\":{\"rn\":\"a\0b\"}}";
	const raw_case cases[] = {
		CASE(.name = "broken JSON", .method = "POST", .path = path, .ctype = "application/json;ty=3",
		     .body = "{\"m2m:cnt\":{\"rn\":", CODES1(4000)),
		CASE(.name = "top-level array", .method = "POST", .path = path, .ctype = "application/json;ty=3",
		     .body = "[{\"m2m:cnt\":{}}]", CODES1(4000)),
		CASE(.name = "top-level string", .method = "POST", .path = path, .ctype = "application/json;ty=3",
		     .body = "\"m2m:cnt\"", CODES1(4000)),
		CASE(.name = "nesting depth 100", .method = "POST", .path = path, .ctype = "application/json;ty=3",
		     .body = deep, CODES1(4000)),
		CASE(.name = "resource root is a string", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = "{\"m2m:cnt\":\"x\"}", CODES1(4000)),
		CASE(.name = "resource root is null", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = "{\"m2m:cnt\":null}", CODES1(4000)),
		CASE(.name = "mni of the wrong type", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = "{\"m2m:cnt\":{\"mni\":\"ten\"}}", CODES1(4000)),
		CASE(.name = "lbl of the wrong type", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = "{\"m2m:cnt\":{\"lbl\":{\"a\":1}}}", CODES1(4000)),
		CASE(.name = "unknown attribute", .method = "POST", .path = path, .ctype = "application/json;ty=3",
		     .body = "{\"m2m:cnt\":{\"qqq\":1}}", CODES1(4000)),
		CASE(.name = "duplicate member names", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = "{\"m2m:cnt\":{\"rn\":\"d1\",\"rn\":\"d2\"}}", CODES1(4000)),
		CASE(.name = "NUL byte inside a string", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = nul_body, .len = sizeof(nul_body) - 1, CODES1(4000)),
		CASE(.name = "invalid UTF-8", .method = "POST", .path = path, .ctype = "application/json;ty=3",
		     .body = "{\"m2m:cnt\":{\"rn\":\"\xff\xfe\"}}", CODES1(4000)),
		CASE(.name = "empty body on create", .method = "POST", .path = path,
		     .ctype = "application/json;ty=3", .body = "", CODES1(4000)),
		CASE(.name = "ty not a number", .method = "POST", .path = path, .ctype = "application/json;ty=abc",
		     .body = "{\"m2m:cnt\":{}}", CODES1(4000)),
		CASE(.name = "ty empty", .method = "POST", .path = path, .ctype = "application/json;ty=",
		     .body = "{\"m2m:cnt\":{}}", CODES1(4000)),
		CASE(.name = "ty negative", .method = "POST", .path = path, .ctype = "application/json;ty=-3",
		     .body = "{\"m2m:cnt\":{}}", CODES1(4000)),
		CASE(.name = "ty does not match the root", .method = "POST", .path = path,
		     .ctype = "application/json;ty=2", .body = "{\"m2m:cnt\":{}}", CODES1(4000)),
		CASE(.name = "unsupported media type", .method = "POST", .path = path, .ctype = "text/plain;ty=3",
		     .body = "rn=x", CODES2(4015, 4000)),
		CASE(.name = "update with an array body", .method = "PUT", .path = cpath,
		     .ctype = "application/json", .body = "[]", CODES1(4000)),
		CASE(.name = "update with broken JSON", .method = "PUT", .path = cpath,
		     .ctype = "application/json", .body = "{\"m2m:cnt\":", CODES1(4000)),
		CASE(.name = "update with an empty body", .method = "PUT", .path = cpath,
		     .ctype = "application/json", .body = "", CODES1(4000)),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_raw(&cases[i]);
	free(deep);
}

static void test_oversize_body(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	snapshot();
	size_t big = 2u * 1024u * 1024u;
	char *body = malloc(big + 64);
	assert_non_null(body);
	size_t n = (size_t)snprintf(body, 64, "{\"m2m:cin\":{\"con\":\"");
	memset(body + n, 'z', big);
	n += big;
	memcpy(body + n, "\"}}", 4);
	n += 3;
	char cpath[512];
	snprintf(cpath, sizeof(cpath), "/%s", at("box"));
	raw_case c = {.name = "2 MiB body", .method = "POST", .path = cpath, .ctype = "application/json;ty=4",
	              .body = body, .len = n, CODES1(4000)};
	run_raw(&c);
	free(body);
}

static void test_malformed_requests(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	snapshot();
	char cpath[512], longpath[6000], longhdr[9100];
	snprintf(cpath, sizeof(cpath), "/%s", at("box"));
	int w = snprintf(longpath, sizeof(longpath), "/%s/", CSE);
	memset(longpath + w, 'a', 5000);
	longpath[w + 5000] = '\0';
	memcpy(longhdr, "X-M2M-Vendor-Junk: ", 19);
	memset(longhdr + 19, 'h', 9000);
	longhdr[9019] = '\0';
	char longorig[9100];
	memcpy(longorig, "X-M2M-Origin: C", 15);
	memset(longorig + 15, 'o', 9000);
	longorig[9015] = '\0';
	const raw_case cases[] = {
		CASE(.name = "retrieve without X-M2M-Origin", .method = "GET", .path = cpath, .no_origin = true,
		     CODES1(4000)),
		CASE(.name = "retrieve without X-M2M-RI", .method = "GET", .path = cpath, .no_ri = true, CODES1(4000)),
		CASE(.name = "unsupported release version", .method = "GET", .path = cpath,
		     .extra = "X-M2M-RVI: 99", CODES1(4001)),
		CASE(.name = "URL path of 5000 bytes", .method = "GET", .path = longpath, CODES2(4000, 4004)),
		CASE(.name = "9000-byte unknown header (ignored or refused)", .method = "GET", .path = cpath,
		     .extra = longhdr, CODES2(2000, 4000)),
		CASE(.name = "9000-byte X-M2M-Origin", .method = "GET", .path = cpath, .no_origin = true,
		     .extra = longorig, CODES3(4000, 4103, 4106)),
		CASE(.name = "unknown HTTP method", .method = "BREW", .path = cpath, CODES1(4000)),
		CASE(.name = "path / alone", .method = "GET", .path = "/", CODES1(4000)),
		CASE(.name = "to with three leading slashes", .method = "GET", .path = "/_//x", CODES1(4000)),
		CASE(.name = "rcn not a number", .method = "GET", .path = hfmt("%s?rcn=abc", cpath), CODES1(4000)),
		CASE(.name = "rcn empty", .method = "GET", .path = hfmt("%s?rcn=", cpath), CODES1(4000)),
		CASE(.name = "huge lim", .method = "GET", .path = hfmt("%s?fu=1&lim=99999999999999999999999", cpath),
		     CODES2(2000, 4000)),
		CASE(.name = "large lim", .method = "GET", .path = hfmt("%s?fu=1&lim=2147483647", cpath), CODES1(2000)),
		CASE(.name = "unknown query parameter value for fu", .method = "GET", .path = hfmt("%s?fu=x", cpath),
		     CODES1(4000)),
		CASE(.name = "malformed percent-encoding", .method = "GET", .path = hfmt("%s?lbl=%%zz", cpath),
		     CODES2(2000, 4000)),
		CASE(.name = "delete with an invalid rcn", .method = "DELETE",
		     .path = hfmt("%s?rcn=77", cpath), CODES1(4000)),
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_raw(&cases[i]);
}

static void test_everything_intact(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	snapshot();
	harness_case("daemon still alive");
	EXPECT_TRUE(harness_cse_alive(), NULL);
	harness_case("AE unchanged");
	json_t *ae = harness_get(at(NULL), S.ae, "m2m:ae");
	EXPECT_TRUE(json_equal(ae, S.snap_ae), ae);
	harness_case("container unchanged");
	json_t *cnt = harness_get(at("box"), S.ae, "m2m:cnt");
	EXPECT_TRUE(json_equal(cnt, S.snap_cnt), cnt);
	harness_case("contentInstance unchanged");
	json_t *cin = harness_get(at("box/ci"), S.ae, "m2m:cin");
	EXPECT_TRUE(json_equal(cin, S.snap_cin), cin);
	harness_case("no stray children were created");
	m2m_result r;
	harness_req(&r, M2M_OP_RETRIEVE, at(NULL), S.ae, -1, NULL, "rcn=6");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(harness_res(&r, "m2m:rrl"), "rrf")) == 1, r.body);
	m2m_result_clear(&r);
	json_decref(ae);
	json_decref(cnt);
	json_decref(cin);
	json_decref(S.snap_ae);
	json_decref(S.snap_cnt);
	json_decref(S.snap_cin);
	S.snap_ae = S.snap_cnt = S.snap_cin = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_malformed_bodies),
		HTEST(test_oversize_body),
		HTEST(test_malformed_requests),
		HTEST(test_everything_intact),
	};
	return cmocka_run_group_tests_name("07_robustness", tests, harness_group_setup,
	                                   harness_group_teardown);
}
