/*
 * http_binding_test.c - the HTTP binding's pure translation (TS-0009 ->
 * request primitive), the rsc -> HTTP status table and the JSON codec.
 *
 * Most cases are rows of tables: HTTP pieces in, expected primitive (or
 * error code) out. Cases follow the digest, sections 2, 5 and 11.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "bindings/codec_json.h"
#include "bindings/http_server.h"
#include "cse/limits.h"
#include "cse/rsc.h"

/* ------------------------------------------------------------------ */
/* Harness                                                              */
/* ------------------------------------------------------------------ */

#define MAX_HDRS 12

typedef struct hdrset {
	const char *k[MAX_HDRS];
	const char *v[MAX_HDRS];
	size_t n;
} hdrset;

static const char *hdr_lookup(void *ctx, const char *name)
{
	const hdrset *h = ctx;

	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->k[i], name) == 0)
			return h->v[i];
	return NULL;
}

static void hdr_add(hdrset *h, const char *k, const char *v)
{
	assert_true(h->n < MAX_HDRS);
	h->k[h->n] = k;
	h->v[h->n] = v;
	h->n++;
}

typedef struct run {
	m2m_request req;
	m2m_response rsp;
	int rc;
	char *qbuf;
	http_kv args[HL_MAX_QUERY_ARGS + 1];
} run;

/* Translate one request; query is the raw query string (may be NULL). */
static void run_req(run *r, const char *method, const char *path, const char *query,
                    hdrset *h, const char *body)
{
	int n = 0;

	memset(r, 0, sizeof *r);
	if (query) {
		r->qbuf = strdup(query);
		assert_non_null(r->qbuf);
		n = http_parse_query(r->qbuf, r->args, HL_MAX_QUERY_ARGS + 1);
		if (n < 0)
			n = (int)HL_MAX_QUERY_ARGS + 1;
	}
	m2m_request_init(&r->req);
	m2m_response_init(&r->rsp);
	r->rc = http_to_request(method, path, r->args, (size_t)n, hdr_lookup, h, body,
	                        body ? strlen(body) : 0, &r->req, &r->rsp);
	if (r->rc != 0) {
		/* Every error carries a code and a m2m:dbg message. */
		assert_true(r->rsp.rsc >= 4000);
		assert_non_null(json_object_get(r->rsp.pc, "m2m:dbg"));
	}
}

static void run_free(run *r)
{
	m2m_request_clear(&r->req);
	m2m_response_clear(&r->rsp);
	free(r->qbuf);
}

/* The standard headers plus optional Content-Type. */
static void std_hdrs(hdrset *h, const char *ct)
{
	memset(h, 0, sizeof *h);
	hdr_add(h, "X-M2M-RI", "r1");
	hdr_add(h, "X-M2M-Origin", "CAdmin");
	hdr_add(h, "X-M2M-RVI", "4");
	if (ct)
		hdr_add(h, "Content-Type", ct);
}

static void assert_json_eq(const json_t *got, const char *want)
{
	json_error_t e;
	json_t *w = json_loads(want, 0, &e);

	assert_non_null(w);
	if (!got || !json_equal(got, w)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		print_error("JSON mismatch: got %s, want %s\n", g ? g : "NULL", want);
		free(g);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

/* ------------------------------------------------------------------ */
/* Method, Content-Type, path                                           */
/* ------------------------------------------------------------------ */

typedef struct req_case {
	const char *method, *path, *ct, *body;
	int rc;          /* 0 or -1 */
	int rsc;         /* expected error code when rc == -1 */
	int op;
	const char *to;
	int ty;
} req_case;

static const char CNT[] = "{\"m2m:cnt\":{\"rn\":\"c\"}}";
static const char SGN[] = "{\"m2m:sgn\":{\"vrq\":true}}";
#define M2M_XMLNS "xmlns:m2m=\"http://www.onem2m.org/xml/protocols\""
static const char CNT_XML[] = "<m2m:cnt " M2M_XMLNS " rn=\"c\"/>";
static const char SGN_XML[] = "<m2m:sgn " M2M_XMLNS "><vrq>true</vrq></m2m:sgn>";

static const req_case req_cases[] = {
	/* method -> op */
	{ "GET", "/cse-in", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "cse-in", -1 },
	{ "PUT", "/cse-in/ae", "application/json", CNT, 0, 0, M2M_OP_UPDATE, "cse-in/ae", -1 },
	{ "DELETE", "/cse-in/ae", NULL, NULL, 0, 0, M2M_OP_DELETE, "cse-in/ae", -1 },
	{ "POST", "/cse-in", "application/json;ty=3", CNT, 0, 0, M2M_OP_CREATE, "cse-in", 3 },
	{ "POST", "/cse-in", "application/json", SGN, 0, 0, M2M_OP_NOTIFY, "cse-in", -1 },
	{ "POST", "/cse-in", NULL, SGN, 0, 0, M2M_OP_NOTIFY, "cse-in", -1 },
	{ "PATCH", "/cse-in", "application/json", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "HEAD", "/cse-in", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "get", "/cse-in", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	/* Content-Type variants */
	{ "POST", "/cse-in", "application/vnd.onem2m-res+json; ty=3", CNT, 0, 0, M2M_OP_CREATE, "cse-in", 3 },
	{ "POST", "/cse-in", "application/vnd.onem2m-res+json ; charset=utf-8 ;ty = 2", CNT, 0, 0, M2M_OP_CREATE, "cse-in", 2 },
	{ "POST", "/cse-in", "application/json;charset=utf-8;ty=23", CNT, 0, 0, M2M_OP_CREATE, "cse-in", 23 },
	{ "POST", "/cse-in", "ty=4;application/json", CNT, -1, RSC_UNSUPPORTED_MEDIA_TYPE, 0, NULL, -1 },
	{ "POST", "/cse-in", "APPLICATION/JSON;TY=4", CNT, 0, 0, M2M_OP_CREATE, "cse-in", 4 },
	{ "POST", "/cse-in", "application/json; ty=\"28\"", CNT, 0, 0, M2M_OP_CREATE, "cse-in", 28 },
	{ "POST", "/cse-in", "application/vnd.onem2m-ntfy+json", SGN, 0, 0, M2M_OP_NOTIFY, "cse-in", -1 },
	{ "POST", "/cse-in", "application/vnd.onem2m-preq+json", SGN, 0, 0, M2M_OP_NOTIFY, "cse-in", -1 },
	/* bad ty */
	{ "POST", "/cse-in", "application/json;ty=abc", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=0", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=-3", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=3x", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty= +3", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=99999999999", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=3;ty=4", CNT, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	/* XML bodies (codec_xml): a root outside the oneM2M namespace is 4000 */
	{ "POST", "/cse-in", "application/xml;ty=3", "<m2m:cnt/>", -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/vnd.onem2m-res+xml; ty=3", CNT_XML, 0, 0, M2M_OP_CREATE, "cse-in", 3 },
	{ "POST", "/cse-in", "application/vnd.onem2m-ntfy+xml", SGN_XML, 0, 0, M2M_OP_NOTIFY, "cse-in", -1 },
	{ "PUT", "/cse-in/c", "application/xml", CNT_XML, 0, 0, M2M_OP_UPDATE, "cse-in/c", -1 },
	{ "POST", "/cse-in", "application/xml;ty=3", "<!DOCTYPE a><a/>", -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	/* media types we do not decode */
	{ "PUT", "/cse-in/c", "application/cbor", "xx", -1, RSC_UNSUPPORTED_MEDIA_TYPE, 0, NULL, -1 },
	{ "POST", "/cse-in", "text/plain", "hello", -1, RSC_UNSUPPORTED_MEDIA_TYPE, 0, NULL, -1 },
	/* no body: the media type does not matter */
	{ "POST", "/cse-in", "application/xml;ty=3", NULL, 0, 0, M2M_OP_CREATE, "cse-in", 3 },
	/* a body on GET / DELETE is ignored, whatever it is */
	{ "GET", "/cse-in", "application/xml", "<x/>", 0, 0, M2M_OP_RETRIEVE, "cse-in", -1 },
	{ "DELETE", "/cse-in/x", "application/json;ty=zz", "{", 0, 0, M2M_OP_DELETE, "cse-in/x", -1 },
	/* bad JSON bodies */
	{ "POST", "/cse-in", "application/json;ty=3", "{\"m2m:cnt\":", -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=3", "[1,2]", -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "POST", "/cse-in", "application/json;ty=3", "{\"a\":1,\"a\":2}", -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "PUT", "/cse-in/c", "application/json", "{} x", -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	/* path -> to */
	{ "GET", "/~/id-in/cse-in/ae", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "/id-in/cse-in/ae", -1 },
	{ "GET", "/_/sp.example.com/id-in/cse-in", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "//sp.example.com/id-in/cse-in", -1 },
	{ "GET", "/-/ae", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "-/ae", -1 },
	{ "GET", "/cnt7781", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "cnt7781", -1 },
	{ "GET", "/~x", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "~x", -1 },
	{ "GET", "/_x", NULL, NULL, 0, 0, M2M_OP_RETRIEVE, "_x", -1 },
	{ "GET", "/", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "GET", "/~/", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "GET", "/_/", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "GET", "", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "GET", "cse-in", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
	{ "GET", "/cse\x01in", NULL, NULL, -1, RSC_BAD_REQUEST, 0, NULL, -1 },
};

static void test_request_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof req_cases / sizeof req_cases[0]; i++) {
		const req_case *c = &req_cases[i];
		hdrset h;
		run r;

		std_hdrs(&h, c->ct);
		run_req(&r, c->method, c->path, NULL, &h, c->body);
		if (r.rc != c->rc || (c->rc != 0 && r.rsp.rsc != c->rsc)) {
			print_error("case %zu (%s %s ct=%s): rc %d rsc %d, want rc %d rsc %d\n", i,
			            c->method, c->path, c->ct ? c->ct : "-", r.rc, r.rsp.rsc, c->rc,
			            c->rsc);
			fail();
		}
		if (c->rc == 0) {
			if (r.req.op != c->op || strcmp(r.req.to, c->to) != 0 || r.req.ty != c->ty) {
				print_error("case %zu: op %d to %s ty %d\n", i, r.req.op, r.req.to,
				            r.req.ty);
				fail();
			}
			assert_string_equal(r.req.rqi, "r1");
			assert_string_equal(r.req.fr, "CAdmin");
			assert_string_equal(r.req.rvi, "4");
			/* pc only when a body is decoded (POST/PUT) */
			if (c->body && (c->op == M2M_OP_UPDATE || c->op == M2M_OP_CREATE ||
			                c->op == M2M_OP_NOTIFY))
				assert_non_null(r.req.pc);
			else
				assert_null(r.req.pc);
			assert_null(r.req.fc);
		} else {
			/* error answers echo RI and RVI */
			assert_string_equal(r.rsp.rqi, "r1");
			assert_string_equal(r.rsp.rvi, "4");
		}
		run_free(&r);
	}
}

static void test_create_content(void **state)
{
	hdrset h;
	run r;

	(void)state;
	std_hdrs(&h, "application/json;ty=3");
	run_req(&r, "POST", "/cse-in/ae", NULL, &h, CNT);
	assert_int_equal(r.rc, 0);
	assert_json_eq(r.req.pc, CNT);
	run_free(&r);
}

/* ------------------------------------------------------------------ */
/* Headers                                                              */
/* ------------------------------------------------------------------ */

static void test_missing_ri(void **state)
{
	hdrset h;
	run r;

	(void)state;
	memset(&h, 0, sizeof h);
	hdr_add(&h, "X-M2M-Origin", "CAdmin");
	hdr_add(&h, "X-M2M-RVI", "3");
	run_req(&r, "GET", "/cse-in", NULL, &h, NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.rsp.rsc, RSC_BAD_REQUEST);
	assert_null(r.rsp.rqi);
	assert_string_equal(r.rsp.rvi, "3");
	assert_json_eq(r.rsp.pc, "{\"m2m:dbg\":\"missing X-M2M-RI\"}");
	run_free(&r);

	hdr_add(&h, "X-M2M-RI", "");
	run_req(&r, "GET", "/cse-in", NULL, &h, NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.rsp.rsc, RSC_BAD_REQUEST);
	run_free(&r);
}

static void test_origin_absent_empty(void **state)
{
	hdrset h;
	run r;

	(void)state;
	memset(&h, 0, sizeof h);
	hdr_add(&h, "x-m2m-ri", "r2"); /* header names are case-insensitive */
	run_req(&r, "POST", "/cse-in", NULL, &h, NULL);
	assert_int_equal(r.rc, 0);
	assert_null(r.req.fr);
	assert_null(r.req.rvi);
	assert_string_equal(r.req.rqi, "r2");
	run_free(&r);

	hdr_add(&h, "X-M2M-Origin", "");
	run_req(&r, "POST", "/cse-in", NULL, &h, NULL);
	assert_int_equal(r.rc, 0);
	assert_non_null(r.req.fr);
	assert_string_equal(r.req.fr, "");
	run_free(&r);
}

static void test_other_headers(void **state)
{
	hdrset h;
	run r;

	(void)state;
	std_hdrs(&h, NULL);
	hdr_add(&h, "X-M2M-OT", "20250101T000000");
	hdr_add(&h, "X-M2M-RET", "3000");
	hdr_add(&h, "X-M2M-RST", "20300101T000000");
	hdr_add(&h, "X-M2M-OET", "PT2S");
	hdr_add(&h, "X-M2M-EC", "2");
	hdr_add(&h, "X-M2M-GID", "g1");
	hdr_add(&h, "X-M2M-VSI", "vendor");
	hdr_add(&h, "X-M2M-RTU", "http://a:1/n&&mqtt://b/x");
	run_req(&r, "GET", "/cse-in", "rt=2", &h, NULL);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.req.ot, "20250101T000000");
	assert_string_equal(r.req.rqet, "3000");
	assert_string_equal(r.req.rset, "20300101T000000");
	assert_string_equal(r.req.oet, "PT2S");
	assert_int_equal(r.req.ec, 2);
	assert_string_equal(r.req.gid, "g1");
	assert_string_equal(r.req.vsi, "vendor");
	assert_int_equal(r.req.rtv, 2);
	assert_json_eq(r.req.rtu, "[\"http://a:1/n\",\"mqtt://b/x\"]");
	run_free(&r);

	/* empty RTU: "send no notification" is an empty list */
	std_hdrs(&h, NULL);
	hdr_add(&h, "X-M2M-RTU", "");
	run_req(&r, "GET", "/cse-in", NULL, &h, NULL);
	assert_int_equal(r.rc, 0);
	assert_json_eq(r.req.rtu, "[]");
	run_free(&r);

	static const char *const bad_ec[] = { "x", "", "-1", "2 ", "1e3", "99999999999" };
	for (size_t i = 0; i < sizeof bad_ec / sizeof bad_ec[0]; i++) {
		std_hdrs(&h, NULL);
		hdr_add(&h, "X-M2M-EC", bad_ec[i]);
		run_req(&r, "GET", "/cse-in", NULL, &h, NULL);
		assert_int_equal(r.rc, -1);
		assert_int_equal(r.rsp.rsc, RSC_BAD_REQUEST);
		run_free(&r);
	}
}

typedef struct accept_case {
	const char *accept;
	int ok;
	int fmt;    /* response serialization when ok (GET, no body) */
} accept_case;

static void test_accept(void **state)
{
	static const accept_case cases[] = {
		{ "application/json", 1, M2M_FMT_JSON },
		{ "*/*", 1, M2M_FMT_JSON },
		{ "application/*", 1, M2M_FMT_JSON },
		{ "", 1, M2M_FMT_JSON },
		{ "application/vnd.onem2m-res+json", 1, M2M_FMT_JSON },
		{ "application/xml, application/json;q=0.5", 1, M2M_FMT_XML },
		{ "application/xml;q=0.4, application/json;q=0.5", 1, M2M_FMT_JSON },
		{ "application/json, application/xml", 1, M2M_FMT_JSON },
		{ "text/html,application/xhtml+xml,*/*;q=0.8", 1, M2M_FMT_JSON },
		{ "application/xml", 1, M2M_FMT_XML },
		{ "application/vnd.onem2m-res+xml", 1, M2M_FMT_XML },
		{ "application/json;q=0, application/xml", 1, M2M_FMT_XML },
		{ "application/json; q=0.000", 0, 0 },
		{ "application/xml;q=0", 0, 0 },
		{ "text/html", 0, 0 },
		{ "application/cbor", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hdrset h;
		run r;

		std_hdrs(&h, NULL);
		hdr_add(&h, "Accept", cases[i].accept);
		run_req(&r, "GET", "/cse-in", NULL, &h, NULL);
		if ((r.rc == 0) != cases[i].ok || (r.rc == 0 && (int)r.req.fmt != cases[i].fmt)) {
			print_error("Accept '%s': rc %d fmt %d\n", cases[i].accept, r.rc, (int)r.req.fmt);
			fail();
		}
		if (!cases[i].ok)
			assert_int_equal(r.rsp.rsc, RSC_NOT_ACCEPTABLE);
		else
			assert_true(r.req.raw_ok == (cases[i].fmt == M2M_FMT_JSON));
		run_free(&r);
	}
}

/* The answer follows the body's format unless Accept names one. */
static void test_response_format(void **state)
{
	static const struct {
		const char *ct, *accept, *body;
		int fmt;
	} cases[] = {
		{ "application/xml;ty=3", NULL, CNT_XML, M2M_FMT_XML },
		{ "application/xml;ty=3", "*/*", CNT_XML, M2M_FMT_XML },
		{ "application/xml;ty=3", "application/json", CNT_XML, M2M_FMT_JSON },
		{ "application/json;ty=3", "application/xml", CNT, M2M_FMT_XML },
		{ "application/json;ty=3", NULL, CNT, M2M_FMT_JSON },
		{ "application/xml;ty=3", "text/html", CNT_XML, M2M_FMT_XML }, /* 5207 in XML */
		{ "application/xml;ty=3", NULL, "<m2m:cnt", M2M_FMT_XML },      /* 4000 in XML */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hdrset h;
		run r;

		std_hdrs(&h, cases[i].ct);
		if (cases[i].accept)
			hdr_add(&h, "Accept", cases[i].accept);
		run_req(&r, "POST", "/cse-in", NULL, &h, cases[i].body);
		if ((int)r.req.fmt != cases[i].fmt) {
			print_error("case %zu: fmt %d, want %d\n", i, (int)r.req.fmt, cases[i].fmt);
			fail();
		}
		run_free(&r);
	}
}

/* ------------------------------------------------------------------ */
/* Query                                                                */
/* ------------------------------------------------------------------ */

typedef struct query_case {
	const char *method;
	const char *query;
	int rsc;         /* 0: success */
	const char *fc;  /* expected fc JSON (NULL: none) */
} query_case;

static const query_case query_cases[] = {
	{ "GET", "", 0, NULL },
	{ "GET", "rcn=1", 0, NULL },
	{ "GET", "ty=2+3", 0, "{\"ty\":[2,3]}" },
	{ "GET", "ty=2&ty=3", 0, "{\"ty\":[2,3]}" },
	{ "GET", "ty=2%203", 0, "{\"ty\":[2,3]}" },
	{ "GET", "ty=2++3+", 0, "{\"ty\":[2,3]}" },
	{ "GET", "fu=1&ty=3&lbl=room1&lim=20&drt=2", 0,
	  "{\"fu\":1,\"ty\":[3],\"lbl\":[\"room1\"],\"lim\":20}" },
	{ "GET", "lbl=a+b&lbl=c&cty=text/plain", 0,
	  "{\"lbl\":[\"a\",\"b\",\"c\"],\"cty\":[\"text/plain\"]}" },
	{ "GET", "fo=2&ofst=3&lvl=1", 0, "{\"fo\":2,\"ofst\":3,\"lvl\":1}" },
	{ "GET", "cra=20250101T000000&crb=20260101T000000&ms=20250101T000000&us=20250101T000000"
	         "&exa=20250101T000000&exb=20990101T000000", 0,
	  "{\"cra\":\"20250101T000000\",\"crb\":\"20260101T000000\",\"ms\":\"20250101T000000\","
	  "\"us\":\"20250101T000000\",\"exa\":\"20250101T000000\",\"exb\":\"20990101T000000\"}" },
	{ "GET", "sts=5&stb=10&sza=1&szb=4096", 0,
	  "{\"sts\":5,\"stb\":10,\"sza\":1,\"szb\":4096}" },
	{ "GET", "fu=1&rn=x&cr=CmyAE", 0,
	  "{\"fu\":1,\"atr\":[{\"nm\":\"rn\",\"val\":\"x\"},{\"nm\":\"cr\",\"val\":\"CmyAE\"}]}" },
	{ "GET", "lbl=%2Fsensor&rn=a%20b", 0,
	  "{\"lbl\":[\"/sensor\"],\"atr\":[{\"nm\":\"rn\",\"val\":\"a b\"}]}" },
	{ "GET", "da=true&da_x=1", 0, "{\"atr\":[{\"nm\":\"da_x\",\"val\":\"1\"}]}" },
	{ "GET", "da=0", 0, NULL },
	/* bad integers name the parameter */
	{ "GET", "lim=10x", RSC_BAD_REQUEST, NULL },
	{ "GET", "lim=", RSC_BAD_REQUEST, NULL },
	{ "GET", "lim= 10", RSC_BAD_REQUEST, NULL },
	{ "GET", "fu=one", RSC_BAD_REQUEST, NULL },
	{ "GET", "sts=1.5", RSC_BAD_REQUEST, NULL },
	{ "GET", "ty=3+x", RSC_BAD_REQUEST, NULL },
	{ "GET", "ty=", RSC_BAD_REQUEST, NULL },
	{ "GET", "ty=++", RSC_BAD_REQUEST, NULL },
	{ "GET", "rcn=abc", RSC_BAD_REQUEST, NULL },
	{ "GET", "rcn=-1", RSC_BAD_REQUEST, NULL },
	{ "GET", "rcn=99999999999", RSC_BAD_REQUEST, NULL },
	{ "GET", "drt=2x", RSC_BAD_REQUEST, NULL },
	{ "GET", "rt=", RSC_BAD_REQUEST, NULL },
	{ "GET", "rcn=1&rcn=2", RSC_BAD_REQUEST, NULL },
	{ "GET", "lim=1&lim=2", RSC_BAD_REQUEST, NULL },
	{ "GET", "da=maybe", RSC_BAD_REQUEST, NULL },
	{ "GET", "cra=", RSC_BAD_REQUEST, NULL },
	{ "GET", "=x", RSC_BAD_REQUEST, NULL },
	{ "GET", "a-b=x", RSC_BAD_REQUEST, NULL },
	/* TS-0009 parameters Hearth does not implement */
	{ "GET", "c.rn=x", RSC_NOT_IMPLEMENTED, NULL },
	{ "GET", "p.lbl=x", RSC_NOT_IMPLEMENTED, NULL },
	{ "GET", "smf=temp", RSC_NOT_IMPLEMENTED, NULL },
	{ "GET", "tids=t1", RSC_NOT_IMPLEMENTED, NULL },
	/* atrl only on Retrieve */
	{ "PUT", "atrl=rn", RSC_BAD_REQUEST, NULL },
	{ "DELETE", "atrl=rn", RSC_BAD_REQUEST, NULL },
	{ "GET", "atrl=", RSC_BAD_REQUEST, NULL },
};

static void test_query_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof query_cases / sizeof query_cases[0]; i++) {
		const query_case *c = &query_cases[i];
		hdrset h;
		run r;

		std_hdrs(&h, strcmp(c->method, "PUT") == 0 ? "application/json" : NULL);
		run_req(&r, c->method, "/cse-in", c->query, &h,
		        strcmp(c->method, "PUT") == 0 ? CNT : NULL);
		if ((c->rsc == 0 && r.rc != 0) || (c->rsc != 0 && r.rsp.rsc != c->rsc)) {
			print_error("query case %zu '%s': rc %d rsc %d, want rsc %d\n", i, c->query,
			            r.rc, r.rsp.rsc, c->rsc);
			fail();
		}
		if (c->rsc == 0) {
			if (c->fc)
				assert_json_eq(r.req.fc, c->fc);
			else
				assert_null(r.req.fc);
		}
		run_free(&r);
	}
}

static void test_query_message_names_param(void **state)
{
	hdrset h;
	run r;
	const char *dbg;

	(void)state;
	std_hdrs(&h, NULL);
	run_req(&r, "GET", "/cse-in", "fu=1&lim=10x", &h, NULL);
	assert_int_equal(r.rc, -1);
	dbg = json_string_value(json_object_get(r.rsp.pc, "m2m:dbg"));
	assert_non_null(dbg);
	assert_non_null(strstr(dbg, "'lim'"));
	run_free(&r);
}

static void test_query_primitive_params(void **state)
{
	hdrset h;
	run r;

	(void)state;
	std_hdrs(&h, NULL);
	run_req(&r, "GET", "/cse-in/ae", "rcn=4&drt=2&rt=3&atrl=rn+lbl&atrl=ty&rids=r1+r2", &h,
	        NULL);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.req.rcn, 4);
	assert_int_equal(r.req.drt, 2);
	assert_int_equal(r.req.rtv, 3);
	assert_json_eq(r.req.pc, "{\"m2m:atrl\":[\"rn\",\"lbl\",\"ty\"]}");
	assert_json_eq(r.req.rids, "[\"r1\",\"r2\"]");
	assert_null(r.req.fc);
	run_free(&r);
}

/* ------------------------------------------------------------------ */
/* Limits                                                               */
/* ------------------------------------------------------------------ */

static char *repeat(char ch, size_t n, const char *prefix)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	char *s = malloc(pl + n + 1);

	assert_non_null(s);
	if (pl)
		memcpy(s, prefix, pl);
	memset(s + pl, ch, n);
	s[pl + n] = '\0';
	return s;
}

/* {"a":[[[...]]]} with `depth` levels in total. */
static char *nested(unsigned depth)
{
	size_t n = 0;
	char *s = malloc(2 * depth + 8);

	assert_non_null(s);
	s[n++] = '{';
	memcpy(s + n, "\"a\":", 4);
	n += 4;
	for (unsigned i = 1; i < depth; i++)
		s[n++] = '[';
	for (unsigned i = 1; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void expect_4000(const char *method, const char *path, const char *query, hdrset *h,
                        const char *body)
{
	run r;

	run_req(&r, method, path, query, h, body);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.rsp.rsc, RSC_BAD_REQUEST);
	run_free(&r);
}

static void test_limits(void **state)
{
	hdrset h;
	run r;
	char *s;

	(void)state;
	/* to: exactly HL_MAX_ID is fine, one more is not */
	std_hdrs(&h, NULL);
	s = repeat('a', HL_MAX_ID, "/");
	run_req(&r, "GET", s, NULL, &h, NULL);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	free(s);
	s = repeat('a', HL_MAX_ID + 1, "/");
	expect_4000("GET", s, NULL, &h, NULL);
	free(s);

	/* fr */
	s = repeat('C', HL_MAX_ID + 1, NULL);
	memset(&h, 0, sizeof h);
	hdr_add(&h, "X-M2M-RI", "r1");
	hdr_add(&h, "X-M2M-Origin", s);
	expect_4000("GET", "/cse-in", NULL, &h, NULL);
	free(s);

	/* rqi: too long is not echoed */
	s = repeat('r', HL_MAX_ID + 1, NULL);
	memset(&h, 0, sizeof h);
	hdr_add(&h, "X-M2M-RI", s);
	run_req(&r, "GET", "/cse-in", NULL, &h, NULL);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.rsp.rsc, RSC_BAD_REQUEST);
	assert_null(r.rsp.rqi);
	run_free(&r);
	free(s);

	/* any header beyond HL_MAX_HEADER */
	s = repeat('v', HL_MAX_HEADER + 1, NULL);
	std_hdrs(&h, NULL);
	hdr_add(&h, "X-M2M-VSI", s);
	expect_4000("GET", "/cse-in", NULL, &h, NULL);
	free(s);

	/* URL length (path + query) */
	std_hdrs(&h, NULL);
	s = repeat('x', HL_MAX_URL, "rn=");
	expect_4000("GET", "/cse-in", s, &h, NULL);
	free(s);

	/* query argument count */
	{
		char q[HL_MAX_QUERY_ARGS * 8 + 16];
		size_t n = 0;
		for (unsigned i = 0; i <= HL_MAX_QUERY_ARGS; i++)
			n += (size_t)snprintf(q + n, sizeof q - n, "%sa%u=1", i ? "&" : "", i);
		expect_4000("GET", "/cse-in", q, &h, NULL);
	}

	/* values per filter list */
	{
		char q[HL_MAX_FILTER_VALS * 4 + 16] = "ty=";
		size_t n = 3;
		for (unsigned i = 0; i <= HL_MAX_FILTER_VALS; i++)
			n += (size_t)snprintf(q + n, sizeof q - n, "%s%u", i ? "+" : "", i % 9 + 1);
		expect_4000("GET", "/cse-in", q, &h, NULL);
	}

	/* body beyond HL_MAX_BODY */
	s = repeat(' ', HL_MAX_BODY + 1, "{}");
	std_hdrs(&h, "application/json;ty=3");
	expect_4000("POST", "/cse-in", NULL, &h, s);
	free(s);

	/* JSON nesting beyond HL_MAX_JSON_DEPTH; the limit itself is fine */
	s = nested(HL_MAX_JSON_DEPTH + 1);
	std_hdrs(&h, "application/json;ty=3");
	expect_4000("POST", "/cse-in", NULL, &h, s);
	free(s);
	s = nested(HL_MAX_JSON_DEPTH);
	run_req(&r, "POST", "/cse-in", NULL, &h, s);
	assert_int_equal(r.rc, 0);
	run_free(&r);
	free(s);
}

/* ------------------------------------------------------------------ */
/* http_parse_query                                                     */
/* ------------------------------------------------------------------ */

static void test_parse_query(void **state)
{
	http_kv kv[8];
	char raw[] = "a=1&b=%41+c&&d&e=&%zz=%2&f=%00x&g=%2b";
	int n;

	(void)state;
	n = http_parse_query(raw, kv, 8);
	assert_int_equal(n, 7);
	assert_string_equal(kv[0].k, "a");
	assert_string_equal(kv[0].v, "1");
	assert_string_equal(kv[1].k, "b");
	assert_string_equal(kv[1].v, "A+c"); /* '+' kept */
	assert_string_equal(kv[2].k, "d");
	assert_string_equal(kv[2].v, "");
	assert_string_equal(kv[3].k, "e");
	assert_string_equal(kv[3].v, "");
	assert_string_equal(kv[4].k, "%zz"); /* malformed escapes kept */
	assert_string_equal(kv[4].v, "%2");
	assert_string_equal(kv[5].v, "%00x"); /* %00 never cuts a string */
	assert_string_equal(kv[6].v, "+");

	char raw2[] = "a=1&b=2&c=3";
	assert_int_equal(http_parse_query(raw2, kv, 2), -1);
	char raw3[] = "a=1&b=2";
	assert_int_equal(http_parse_query(raw3, kv, 2), 2);
	char raw4[] = "";
	assert_int_equal(http_parse_query(raw4, kv, 2), 0);
	assert_int_equal(http_parse_query(NULL, kv, 2), 0);
}

/* ------------------------------------------------------------------ */
/* rsc                                                                  */
/* ------------------------------------------------------------------ */

static void test_rsc_http_status(void **state)
{
	static const struct { int rsc; unsigned http; } tab[] = {
		{ 1000, 202 }, { 1001, 202 }, { 1002, 202 },
		{ 2000, 200 }, { 2001, 201 }, { 2002, 200 }, { 2004, 200 },
		{ 4000, 400 }, { 4001, 501 }, { 4004, 404 }, { 4005, 405 }, { 4008, 504 },
		{ 4015, 415 }, { 4101, 403 }, { 4102, 400 }, { 4103, 403 }, { 4104, 409 },
		{ 4105, 409 }, { 4106, 403 }, { 4107, 403 }, { 4108, 403 }, { 4109, 403 },
		{ 4110, 400 }, { 4117, 403 }, { 4126, 403 },
		{ 5000, 500 }, { 5001, 501 }, { 5103, 404 }, { 5105, 403 }, { 5106, 409 },
		{ 5203, 403 }, { 5204, 500 }, { 5205, 403 }, { 5206, 501 }, { 5207, 406 },
		{ 5209, 500 }, { 6010, 400 },
		/* unknown codes */
		{ 0, 501 }, { -1, 501 }, { 2003, 501 }, { 4999, 501 }, { 9999, 501 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		if (rsc_http_status(tab[i].rsc) != tab[i].http) {
			print_error("rsc %d -> %u, want %u\n", tab[i].rsc,
			            rsc_http_status(tab[i].rsc), tab[i].http);
			fail();
		}
	}
	assert_string_equal(rsc_name(RSC_NOT_FOUND), "NOT_FOUND");
	assert_string_equal(rsc_name(RSC_CREATED), "CREATED");
	assert_string_equal(rsc_name(RSC_CONFLICT), "CONFLICT");
	assert_string_equal(rsc_name(12345), "UNKNOWN");
}

/* ------------------------------------------------------------------ */
/* codec_json                                                           */
/* ------------------------------------------------------------------ */

static int decode(const char *s, size_t len)
{
	json_t *j = (json_t *)1;
	char err[128];
	int rc = codec_json_decode(s, len, &j, err, sizeof err);

	if (rc == 0) {
		assert_true(json_is_object(j));
		json_decref(j);
	} else {
		assert_null(j);
		assert_true(err[0] != '\0');
	}
	return rc;
}

static int decode_str(const char *s)
{
	return decode(s, strlen(s));
}

static void test_codec_json(void **state)
{
	char *s;
	json_t *j;

	(void)state;
	assert_int_equal(decode_str("{\"m2m:cnt\":{\"rn\":\"x\",\"lbl\":[\"a\"]}}"), 0);
	assert_int_equal(decode_str("  {} "), 0);
	/* depth: exactly the limit passes, one more fails */
	s = nested(HL_MAX_JSON_DEPTH);
	assert_int_equal(decode_str(s), 0);
	free(s);
	s = nested(HL_MAX_JSON_DEPTH + 1);
	assert_int_equal(decode_str(s), -1);
	free(s);
	s = nested(100000);
	assert_int_equal(decode_str(s), -1);
	free(s);
	/* brackets inside strings (and escaped quotes) do not count */
	s = repeat('[', 100, "{\"a\":\"\\\"");
	{
		size_t n = strlen(s);
		char *t = realloc(s, n + 3);
		assert_non_null(t);
		s = t;
		memcpy(s + n, "\"}", 3);
	}
	assert_int_equal(decode_str(s), 0);
	free(s);
	/* duplicates, non-objects, bad text */
	assert_int_equal(decode_str("{\"a\":1,\"a\":2}"), -1);
	assert_int_equal(decode_str("{\"o\":{\"a\":1,\"a\":2}}"), -1);
	assert_int_equal(decode_str("[1]"), -1);
	assert_int_equal(decode_str("\"s\""), -1);
	assert_int_equal(decode_str("1"), -1);
	assert_int_equal(decode_str("null"), -1);
	assert_int_equal(decode_str(""), -1);
	assert_int_equal(decode_str("{"), -1);
	assert_int_equal(decode_str("{} {}"), -1);
	assert_int_equal(decode_str("{\"a\":\"\xff\xfe\"}"), -1);   /* invalid UTF-8 */
	assert_int_equal(decode_str("{\"a\":\"\xc3\x28\"}"), -1);   /* bad continuation */
	assert_int_equal(decode_str("{\"a\":\"\xc3\xa9\"}"), 0);    /* valid UTF-8 */
	assert_int_equal(decode_str("{\"a\":\"\\u0000\"}"), -1);    /* NUL */
	assert_int_equal(decode("{}\0", 3), -1);                    /* NUL after */
	assert_int_equal(decode("{\"a\":1}xyz", 7), 0);             /* len bounds input */
	j = (json_t *)1;
	assert_int_equal(codec_json_decode(NULL, 0, &j, NULL, 0), -1);
	assert_null(j);

	/* encode is compact */
	j = json_pack("{s:{s:s,s:i}}", "m2m:cnt", "rn", "x", "mni", 5);
	s = codec_json_encode(j);
	assert_non_null(s);
	assert_null(strchr(s, ' '));
	assert_null(strchr(s, '\n'));
	free(s);
	json_decref(j);
	assert_null(codec_json_encode(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_table),
		cmocka_unit_test(test_create_content),
		cmocka_unit_test(test_missing_ri),
		cmocka_unit_test(test_origin_absent_empty),
		cmocka_unit_test(test_other_headers),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_response_format),
		cmocka_unit_test(test_query_table),
		cmocka_unit_test(test_query_message_names_param),
		cmocka_unit_test(test_query_primitive_params),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_parse_query),
		cmocka_unit_test(test_rsc_http_status),
		cmocka_unit_test(test_codec_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
