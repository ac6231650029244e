/*
 * xml_codec_test.c - codec_xml (TS-0004 8.3, digest section 13).
 *
 * Tables of cases: JSON -> XML -> JSON round trips for a representative
 * instance of every resource type and every non-resource content root; the
 * spec examples decoded to the JSON the JSON codec would give; element
 * order, rn as an attribute, NULL as an empty element; hostile documents
 * (DTDs, entities, external entities, deep nesting, huge text, malformed,
 * foreign namespaces) refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bindings/codec_json.h"
#include "bindings/codec_xml.h"
#include "cse/limits.h"

#define NS "xmlns:m2m=\"http://www.onem2m.org/xml/protocols\""

static json_t *jparse(const char *s)
{
	json_t *j = NULL;
	char err[256];

	if (codec_json_decode(s, strlen(s), &j, err, sizeof err) != 0) {
		print_error("bad JSON in test: %s: %s\n", err, s);
		fail();
	}
	return j;
}

static void assert_json(const json_t *got, const char *want, const char *ctx)
{
	json_t *w = jparse(want);

	if (!got || !json_equal(got, w)) {
		char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
		print_error("%s\n  got  %s\n  want %s\n", ctx, g ? g : "NULL", want);
		free(g);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

/* ---- round trips ---------------------------------------------------- */

static const char *const round_trips[] = {
	/* CSEBase */
	"{\"m2m:cb\":{\"rn\":\"cse-in\",\"ty\":5,\"ri\":\"id-in\",\"ct\":\"20250101T000000,000000\","
	"\"lt\":\"20250101T000000,000000\",\"lbl\":[\"home\"],\"acpi\":[\"acp1\",\"acp2\"],\"cst\":1,"
	"\"csi\":\"/id-in\",\"srt\":[1,2,3,4,5,9,16,23],\"poa\":[\"http://127.0.0.1:8080\"],"
	"\"srv\":[\"2a\",\"3\",\"4\"],\"csz\":[\"application/json\",\"application/xml\"]}}",
	/* AE */
	"{\"m2m:ae\":{\"rn\":\"myapp\",\"ty\":2,\"ri\":\"Cmyapp\",\"pi\":\"id-in\",\"et\":\"20300101T000000\","
	"\"lbl\":[\"a\",\"b\"],\"acpi\":[\"cse-in/acp\"],\"api\":\"Nmyapp\",\"aei\":\"Cmyapp\","
	"\"rr\":true,\"poa\":[\"http://10.0.0.1:9000\",\"mqtt://broker\"],\"srv\":[\"3\",\"4\"],\"regs\":1}}",
	/* container with child references (rcn 5) */
	"{\"m2m:cnt\":{\"rn\":\"temp\",\"ty\":3,\"ri\":\"cnt1\",\"pi\":\"Cmyapp\",\"st\":2,\"cr\":\"Cmyapp\","
	"\"mni\":100,\"mbs\":10000,\"mia\":3600,\"cni\":2,\"cbs\":4,\"disr\":false,"
	"\"ch\":[{\"nm\":\"c1\",\"typ\":4,\"val\":\"cse-in/myapp/temp/c1\"},"
	"{\"nm\":\"s1\",\"typ\":23,\"val\":\"cse-in/myapp/temp/s1\"}]}}",
	/* container with inline children (rcn 4) */
	"{\"m2m:cnt\":{\"rn\":\"box\",\"ty\":3,\"m2m:cin\":[{\"rn\":\"a\",\"ty\":4,\"con\":\"1\"},"
	"{\"rn\":\"b\",\"ty\":4,\"con\":\"2\"}],\"m2m:cnt\":[{\"rn\":\"inner\",\"ty\":3,\"mni\":1}]}}",
	/* contentInstance */
	"{\"m2m:cin\":{\"rn\":\"x\",\"ty\":4,\"ri\":\"cin9\",\"pi\":\"cnt1\",\"st\":7,\"cnf\":\"text/plain:0\","
	"\"cs\":4,\"con\":\"21.5\",\"lbl\":[\"a\",\"b\"],\"cr\":null}}",
	/* subscription */
	"{\"m2m:sub\":{\"rn\":\"s\",\"ty\":23,\"enc\":{\"net\":[1,3,4],\"atr\":[\"lbl\",\"con\"],"
	"\"chty\":[4,3],\"crb\":\"20300101T000000\",\"sza\":10},\"nu\":[\"Cmyapp\",\"http://127.0.0.1:9/n\"],"
	"\"nct\":1,\"exc\":5,\"su\":\"http://127.0.0.1:9/su\",\"bn\":{\"num\":2,\"dur\":\"PT1S\"},"
	"\"rl\":{\"mnn\":3,\"tww\":\"PT10S\"},\"ln\":true,\"cr\":\"Cmyapp\"}}",
	/* accessControlPolicy with nested acr, acco, acod */
	"{\"m2m:acp\":{\"rn\":\"p9\",\"ty\":1,\"pv\":{\"acr\":[{\"acor\":[\"Cfzae\",\"all\",\"Cw*\"],\"acop\":63,"
	"\"acco\":[{\"actw\":[\"0-59 * * * * *\",\"* * 8-17 * * 1-5\"],\"acip\":{\"ipv4\":[\"127.0.0.1\","
	"\"192.168.0.0/16\"],\"ipv6\":[\"::1\"]}}],\"acaf\":true,\"acod\":[{\"chty\":[3,4]}]},"
	"{\"acor\":[\"Cother\"],\"acop\":2}]},\"pvs\":{\"acr\":[{\"acor\":[\"Cfzae\"],\"acop\":63}]},"
	"\"lbl\":[\"p\"]}}",
	/* group */
	"{\"m2m:grp\":{\"rn\":\"g\",\"ty\":9,\"mt\":3,\"cnm\":2,\"mnm\":10,\"mid\":[\"cnt1\",\"cnt2\"],"
	"\"macp\":[\"acp1\"],\"mtv\":true,\"csy\":1,\"gn\":\"my group\",\"ssi\":false}}",
	/* remoteCSE */
	"{\"m2m:csr\":{\"rn\":\"id-mn\",\"ty\":16,\"cst\":2,\"poa\":[\"http://10.0.0.2:8080\"],"
	"\"cb\":\"/id-mn/cse-mn\",\"csi\":\"/id-mn\",\"rr\":true,\"srv\":[\"3\",\"4\"],\"dcse\":[\"/id-asn\"]}}",
	/* non-resource roots */
	"{\"m2m:uril\":[\"cse-in/a\",\"cse-in/b/c\"]}",
	"{\"m2m:uril\":[]}",
	/* empty lists stay lists, NULL stays NULL */
	"{\"m2m:cnt\":{\"lbl\":[],\"acpi\":null,\"rn\":\"e\"}}",
	"{\"m2m:sub\":{\"enc\":{\"net\":[],\"atr\":[]},\"nu\":[\"Ca\"]}}",
	/* m2m:uril inside other content */
	"{\"m2m:rsp\":{\"rsc\":2000,\"pc\":{\"m2m:uril\":[\"a\",\"b\"]}}}",
	"{\"m2m:rrl\":{\"rrf\":[{\"nm\":\"c1\",\"typ\":4,\"val\":\"cse-in/x/c1\"},"
	"{\"nm\":\"c2\",\"typ\":3,\"val\":\"cse-in/x/c2\"}]}}",
	"{\"m2m:agr\":{\"m2m:rsp\":[{\"rsc\":2000,\"rqi\":\"r1\",\"pc\":{\"m2m:cnt\":{\"rn\":\"c\",\"ty\":3,"
	"\"lbl\":[\"x\"]}},\"fr\":\"/id-in\",\"to\":\"cnt1\",\"rvi\":\"4\"},{\"rsc\":4004,\"rqi\":\"r1\","
	"\"pc\":{\"m2m:dbg\":\"not found\"},\"fr\":\"/id-in\",\"to\":\"cnt2\"}]}}",
	"{\"m2m:dbg\":\"resource <x> & \\\"y\\\" not found\"}",
	"{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:cin\":{\"rn\":\"c\",\"ty\":4,\"con\":\"5\",\"lbl\":[\"a\"]}},"
	"\"net\":3},\"sur\":\"/id-in/sub1\",\"cr\":\"Cx\"}}",
	"{\"m2m:sgn\":{\"vrq\":true,\"sur\":\"/id-in/sub1\",\"cr\":\"Cx\"}}",
	"{\"m2m:sgn\":{\"sud\":true,\"sur\":\"/id-in/sub1\"}}",
	"{\"m2m:uri\":\"cse-in/myapp/temp\"}",
	"{\"m2m:rce\":{\"m2m:cnt\":{\"rn\":\"temp\",\"ty\":3,\"ri\":\"cnt1\"},\"uri\":\"cse-in/myapp/temp\"}}",
};

static void test_round_trips(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
		json_t *j = jparse(round_trips[i]), *back = NULL;
		char *x = codec_xml_encode(j), err[256];
		char ctx[64];

		if (!x) {
			print_error("case %zu: cannot encode %s\n", i, round_trips[i]);
			fail();
		}
		if (codec_xml_decode(x, strlen(x), &back, err, sizeof err) != 0) {
			print_error("case %zu: cannot decode %s: %s\n", i, x, err);
			fail();
		}
		snprintf(ctx, sizeof ctx, "round trip %zu", i);
		if (!json_equal(j, back))
			print_error("XML was %s\n", x);
		assert_json(back, round_trips[i], ctx);
		json_decref(back);
		json_decref(j);
		free(x);
	}
}

/* ---- decoding ------------------------------------------------------- */

typedef struct dec_case {
	const char *xml, *json;
} dec_case;

static const dec_case dec_cases[] = {
	/* digest 13: the notification example */
	{ "<m2m:sgn " NS ">\n  <nev><rep><m2m:cin rn=\"cin_1\"><ty>4</ty><ri>cin9</ri><pi>cnt7781</pi>\n"
	  "  <ct>20250101T120500</ct><lt>20250101T120500</lt><et>20300101T120000</et>\n"
	  "  <st>7</st><cnf>text/plain:0</cnf><cs>4</cs><con>21.5</con></m2m:cin></rep>\n"
	  "  <net>3</net></nev><sur>/id-in/sub123</sur>\n</m2m:sgn>",
	  "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:cin\":{\"rn\":\"cin_1\",\"ty\":4,\"ri\":\"cin9\","
	  "\"pi\":\"cnt7781\",\"ct\":\"20250101T120500\",\"lt\":\"20250101T120500\","
	  "\"et\":\"20300101T120000\",\"st\":7,\"cnf\":\"text/plain:0\",\"cs\":4,\"con\":\"21.5\"}},"
	  "\"net\":3},\"sur\":\"/id-in/sub123\"}}" },
	/* digest 13: the request primitive example */
	{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<m2m:rqp " NS ">\n"
	  "  <op>1</op><to>cse-in/myAE</to><fr>CmyAE</fr><rqi>x-1</rqi><ty>3</ty>\n"
	  "  <pc><m2m:cnt rn=\"temp\"><lbl>room1 floor2</lbl><mni>100</mni></m2m:cnt></pc>\n"
	  "  <rvi>3</rvi>\n</m2m:rqp>",
	  "{\"m2m:rqp\":{\"op\":1,\"to\":\"cse-in/myAE\",\"fr\":\"CmyAE\",\"rqi\":\"x-1\",\"ty\":3,"
	  "\"pc\":{\"m2m:cnt\":{\"rn\":\"temp\",\"lbl\":[\"room1\",\"floor2\"],\"mni\":100}},\"rvi\":\"3\"}}" },
	/* digest 13: pc content and child reference */
	{ "<m2m:cin " NS "><cnf>text/plain:0</cnf><con>21</con></m2m:cin>",
	  "{\"m2m:cin\":{\"cnf\":\"text/plain:0\",\"con\":\"21\"}}" },
	{ "<m2m:cnt " NS " rn=\"temp\"><ch nm=\"cin1\" typ=\"4\">cse-in/myAE/temp/cin1</ch></m2m:cnt>",
	  "{\"m2m:cnt\":{\"rn\":\"temp\",\"ch\":[{\"nm\":\"cin1\",\"typ\":4,\"val\":\"cse-in/myAE/temp/cin1\"}]}}" },
	{ "<m2m:uril " NS ">cse-in/a cse-in/b</m2m:uril>", "{\"m2m:uril\":[\"cse-in/a\",\"cse-in/b\"]}" },
	/* NULL = empty element, either form */
	{ "<m2m:grp " NS "><mnm></mnm><lbl/></m2m:grp>", "{\"m2m:grp\":{\"mnm\":null,\"lbl\":null}}" },
	/* booleans, numbers with whitespace, any prefix bound to the namespace */
	{ "<x:ae xmlns:x=\"http://www.onem2m.org/xml/protocols\" rn=\"a\"><rr> true </rr><regs>1</regs>"
	  "<api>Nx</api></x:ae>",
	  "{\"m2m:ae\":{\"rn\":\"a\",\"rr\":true,\"regs\":1,\"api\":\"Nx\"}}" },
	/* a list given as repeated elements, and net as a list */
	{ "<m2m:sub " NS "><nu>Ca</nu><nu>Cb Cc</nu><enc><net>1 3</net></enc></m2m:sub>",
	  "{\"m2m:sub\":{\"nu\":[\"Ca\",\"Cb\",\"Cc\"],\"enc\":{\"net\":[1,3]}}}" },
	/* a value not of its type stays a string (the engine refuses it) */
	{ "<m2m:cnt " NS "><mni>many</mni><disr>maybe</disr></m2m:cnt>",
	  "{\"m2m:cnt\":{\"mni\":\"many\",\"disr\":\"maybe\"}}" },
	/* unknown elements: strings, or objects when they hold elements */
	{ "<m2m:cnt " NS "><zzz>1</zzz><yyy><a>b</a></yyy></m2m:cnt>",
	  "{\"m2m:cnt\":{\"zzz\":\"1\",\"yyy\":{\"a\":\"b\"}}}" },
	/* predefined entities, character references, CDATA and comments */
	{ "<m2m:cin " NS "><!-- c --><con>&lt;a&gt;&amp;&#65;<![CDATA[<b>]]></con></m2m:cin>",
	  "{\"m2m:cin\":{\"con\":\"<a>&A<b>\"}}" },
	/* an mgmtObj action status (for later) */
	{ "<m2m:zzz " NS "><uds><acn>install</acn><sus>1</sus></uds></m2m:zzz>",
	  "{\"m2m:zzz\":{\"uds\":{\"acn\":\"install\",\"sus\":1}}}" },
	{ "<m2m:dbg " NS "/>", "{\"m2m:dbg\":\"\"}" },
};

static void test_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
		json_t *j = NULL;
		char err[256], ctx[64];

		if (codec_xml_decode(dec_cases[i].xml, strlen(dec_cases[i].xml), &j, err, sizeof err) != 0) {
			print_error("case %zu: %s\n", i, err);
			fail();
		}
		snprintf(ctx, sizeof ctx, "decode case %zu", i);
		assert_json(j, dec_cases[i].json, ctx);
		json_decref(j);
	}
}

/* ---- encoding ------------------------------------------------------- */

static void test_encode_order_and_form(void **state)
{
	/* members in a scrambled JSON order */
	json_t *j = jparse("{\"m2m:cnt\":{\"mni\":5,\"ch\":[{\"nm\":\"a\",\"typ\":4,\"val\":\"p/a\"}],"
	                   "\"cr\":\"Cx\",\"st\":1,\"lbl\":[\"l1\",\"l2\"],\"rn\":\"temp\",\"et\":\"20300101T000000\","
	                   "\"m2m:cin\":[{\"con\":\"v\",\"rn\":\"i\"}],\"ri\":\"cnt1\",\"ty\":3,\"acpi\":[\"p1\"],"
	                   "\"pi\":\"ae1\",\"ct\":\"20250101T000000\",\"lt\":\"20250101T000000\",\"mbs\":null}}");
	char *x = codec_xml_encode(j);
	static const char *const order[] = {
		"<ty>", "<ri>", "<pi>", "<ct>", "<lt>", "<lbl>", "<acpi>", "<et>", "<st>", "<cr>",
		"<mni>", "<mbs/>", "<m2m:cin rn=\"i\">", "<ch ",
	};
	const char *at;

	(void)state;
	assert_non_null(x);
	assert_non_null(strstr(x, "<m2m:cnt xmlns:m2m=\"http://www.onem2m.org/xml/protocols\" rn=\"temp\">"));
	assert_null(strstr(x, "<rn>"));
	assert_non_null(strstr(x, "<lbl>l1 l2</lbl>"));
	assert_non_null(strstr(x, "<ch nm=\"a\" typ=\"4\">p/a</ch>"));
	at = x;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		const char *p = strstr(at, order[i]);
		if (!p) {
			print_error("%s missing or out of order in %s\n", order[i], x);
			fail();
		}
		at = p;
	}
	free(x);
	json_decref(j);

	/* xs:list vs repeated elements; booleans; escaping; invalid chars */
	j = jparse("{\"m2m:acp\":{\"pv\":{\"acr\":[{\"acor\":[\"a\",\"b\"],\"acop\":3},{\"acor\":[\"c\"],"
	           "\"acop\":1,\"acaf\":false}]},\"lbl\":[\"<&>\\u0001\"]}}");
	x = codec_xml_encode(j);
	assert_non_null(x);
	assert_non_null(strstr(x, "<pv><acr><acor>a b</acor><acop>3</acop></acr><acr><acor>c</acor>"
	                          "<acop>1</acop><acaf>false</acaf></acr></pv>"));
	assert_non_null(strstr(x, "<lbl>&lt;&amp;&gt;\xEF\xBF\xBD</lbl>"));
	free(x);
	json_decref(j);

	/* m2m:agr: repeated m2m:rsp, each with its pc root */
	j = jparse("{\"m2m:agr\":{\"m2m:rsp\":[{\"rsc\":2000,\"pc\":{\"m2m:uri\":\"a\"}},{\"rsc\":4004}]}}");
	x = codec_xml_encode(j);
	assert_non_null(x);
	assert_non_null(strstr(x, "<m2m:rsp><rsc>2000</rsc><pc><m2m:uri>a</m2m:uri></pc></m2m:rsp>"
	                          "<m2m:rsp><rsc>4004</rsc></m2m:rsp>"));
	free(x);
	json_decref(j);

	/* structured con as elements, a list con as its JSON text; names that are not XML
	 * names make their member JSON text */
	j = jparse("{\"m2m:cin\":{\"con\":{\"t\":21},\"zz\":{\"a b\":1},\"conr\":[1,2]}}");
	x = codec_xml_encode(j);
	assert_non_null(x);
	assert_non_null(strstr(x, "<con><t>21</t></con>"));
	assert_non_null(strstr(x, "<zz>{\"a b\":1}</zz>"));
	assert_non_null(strstr(x, "<conr>[1,2]</conr>"));
	free(x);
	json_decref(j);

	/* not a content root */
	j = jparse("{\"a\":1,\"b\":2}");
	assert_null(codec_xml_encode(j));
	json_decref(j);
	j = jparse("{\"cnt\":{}}");
	assert_null(codec_xml_encode(j));
	json_decref(j);
	assert_null(codec_xml_encode(NULL));
}

/* ---- hostile and malformed input ------------------------------------ */

static char *nested(unsigned depth)
{
	size_t cap = strlen(NS) + 32 + (size_t)depth * 8;
	char *s = malloc(cap), *p = s;

	assert_non_null(s);
	p += snprintf(p, cap, "<m2m:cnt %s>", NS);
	for (unsigned i = 0; i < depth; i++)
		p += snprintf(p, cap - (size_t)(p - s), "<a>");
	for (unsigned i = 0; i < depth; i++)
		p += snprintf(p, cap - (size_t)(p - s), "</a>");
	snprintf(p, cap - (size_t)(p - s), "</m2m:cnt>");
	return s;
}

static void expect_refused(const char *xml, size_t len, const char *why, const char *ctx)
{
	json_t *j = (json_t *)1;
	char err[256];

	if (codec_xml_decode(xml, len, &j, err, sizeof err) == 0) {
		print_error("%s: accepted\n", ctx);
		fail();
	}
	assert_null(j);
	if (why && !strstr(err, why)) {
		print_error("%s: reason '%s' does not mention '%s'\n", ctx, err, why);
		fail();
	}
}

static void test_hostile(void **state)
{
	static const struct {
		const char *xml, *why;
	} cases[] = {
		{ "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
		  "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><m2m:cin " NS "><con>&lol2;</con></m2m:cin>",
		  "DOCTYPE" },
		{ "<!DOCTYPE m2m:cin [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><m2m:cin " NS
		  "><con>&xxe;</con></m2m:cin>", "DOCTYPE" },
		{ "<!DOCTYPE m2m:cin SYSTEM \"http://127.0.0.1:1/evil.dtd\"><m2m:cin " NS "/>", "DOCTYPE" },
		{ "<!-- x --><!DOCTYPE a><m2m:cin " NS "/>", "DOCTYPE" },
		{ "<m2m:cin " NS "><con>&xxe;</con></m2m:cin>", "xxe" },
		{ "<m2m:cin " NS "><con>1</con>", "malformed" },
		{ "<m2m:cin " NS "><con>1</cnf></m2m:cin>", "malformed" },
		{ "not xml at all", "malformed" },
		{ "<m2m:cin><con>1</con></m2m:cin>", "namespace" },
		{ "<cin><con>1</con></cin>", "namespace" },
		{ "<m2m:cin xmlns:m2m=\"urn:other\"/>", "namespace" },
		{ "<m2m:cin " NS " xmlns:o=\"urn:o\"><o:con>1</o:con></m2m:cin>", "namespace" },
		{ "<m2m:cin " NS " ty=\"4\"/>", "attribute" },
		{ "<m2m:cin " NS "><con a=\"1\">x</con></m2m:cin>", "attribute" },
		{ "<m2m:cin " NS "><con>x<b>y</b></con></m2m:cin>", "mixes" },
		{ "<m2m:cin " NS ">text</m2m:cin>", "text" },
		{ "<m2m:cin " NS "><con>1</con><con>2</con></m2m:cin>", "repeated" },
		{ "<m2m:uril " NS "><a/></m2m:uril>", "text" },
		{ "\xff\xfe<\x01m\x01", "malformed" }, /* UTF-16 (without NULs): read as UTF-8 */
		{ "<m2m:cin " NS "><con>\xff\xfe</con></m2m:cin>", "malformed" },
		{ "", "empty" },
	};
	char *s;
	size_t big = HL_MAX_BODY + 16;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char ctx[32];
		snprintf(ctx, sizeof ctx, "hostile case %zu", i);
		expect_refused(cases[i].xml, strlen(cases[i].xml), cases[i].why, ctx);
	}
	/* NUL byte inside */
	expect_refused("<m2m:cin " NS "><con>a\0b</con></m2m:cin>", sizeof("<m2m:cin " NS "><con>a") + 8,
	               "NUL", "NUL byte");
	/* deep nesting: just within the bound is fine, past it refused */
	s = nested(HL_MAX_JSON_DEPTH - 2);
	{
		json_t *j = NULL;
		char err[256];
		assert_int_equal(codec_xml_decode(s, strlen(s), &j, err, sizeof err), 0);
		json_decref(j);
	}
	free(s);
	s = nested(HL_MAX_JSON_DEPTH + 1);
	expect_refused(s, strlen(s), "deeper", "deep");
	free(s);
	s = nested(100000);
	expect_refused(s, strlen(s), NULL, "very deep");
	free(s);
	/* huge text: over HL_MAX_BODY */
	s = malloc(big + 128);
	assert_non_null(s);
	{
		size_t n = (size_t)snprintf(s, 64, "<m2m:cin %s><con>", NS);
		memset(s + n, 'a', big);
		n += big;
		memcpy(s + n, "</con></m2m:cin>", 17);
		expect_refused(s, strlen(s), "larger", "huge");
	}
	free(s);
}

/* Every engine-like output re-encodes: decode(encode(decode(x))) == decode(x). */
static void test_stable(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof dec_cases / sizeof dec_cases[0]; i++) {
		json_t *a = NULL, *b = NULL;
		char err[256], *x;

		assert_int_equal(codec_xml_decode(dec_cases[i].xml, strlen(dec_cases[i].xml), &a, err, sizeof err), 0);
		x = codec_xml_encode(a);
		assert_non_null(x);
		assert_int_equal(codec_xml_decode(x, strlen(x), &b, err, sizeof err), 0);
		if (!json_equal(a, b)) {
			print_error("case %zu not stable: %s\n", i, x);
			fail();
		}
		free(x);
		json_decref(a);
		json_decref(b);
	}
}

/* ---- primitives (m2m:rqp / m2m:rsp) ---------------------------------- */

static void test_primitives(void **state)
{
	/* bare JSON primitives that must survive encode -> decode unchanged */
	static const struct {
		const char *root, *json;
	} trips[] = {
		{ "m2m:rqp", "{\"op\":1,\"to\":\"cse-in/myAE\",\"fr\":\"CmyAE\",\"rqi\":\"x-1\",\"ty\":3,"
		             "\"pc\":{\"m2m:cnt\":{\"rn\":\"temp\",\"lbl\":[\"room1\",\"floor2\"],\"mni\":100}},"
		             "\"rvi\":\"3\"}" },
		{ "m2m:rqp", "{\"op\":2,\"to\":\"cse-in\",\"fr\":\"CAdmin\",\"rqi\":\"d\",\"rvi\":\"4\","
		             "\"rcn\":8,\"drt\":2,\"rt\":{\"rtv\":3},\"rids\":[\"r1\",\"r2\"],"
		             "\"fc\":{\"fu\":1,\"ty\":[3,4],\"lbl\":[\"a\",\"b\"],\"cty\":[\"text/plain\"],"
		             "\"cra\":\"20250101T000000\",\"lim\":5,\"ofst\":1,\"lvl\":2,\"fo\":2,"
		             "\"atr\":[{\"nm\":\"rn\",\"val\":\"x\"}]},"
		             "\"ot\":\"20250101T000000\",\"rqet\":\"20990101T000000\",\"ec\":2,\"gid\":\"g\"}" },
		{ "m2m:rqp", "{\"op\":5,\"to\":\"/id-in/CAE\",\"fr\":\"/id-in\",\"rqi\":\"n\",\"rvi\":\"4\","
		             "\"pc\":{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:cin\":{\"rn\":\"c\",\"ty\":4,"
		             "\"con\":\"21\",\"cs\":2}},\"net\":3},\"sur\":\"/id-in/sub1\"}}}" },
		{ "m2m:rsp", "{\"rsc\":2000,\"rqi\":\"m-7\",\"pc\":{\"m2m:uril\":[\"cse-in/a\",\"cse-in/b\"]},"
		             "\"to\":\"CmyAE\",\"fr\":\"/id-in\",\"cnst\":2,\"cnot\":1,\"rvi\":\"4\"}" },
		{ "m2m:rsp", "{\"rsc\":4004,\"rqi\":\"e\",\"pc\":{\"m2m:dbg\":\"resource not found\"},\"rvi\":\"3\"}" },
		{ "m2m:rsp", "{\"rsc\":2000,\"rqi\":\"u\",\"pc\":{\"m2m:uril\":[]}}" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof trips / sizeof trips[0]; i++) {
		json_t *p = jparse(trips[i].json), *back = NULL;
		char err[256], ctx[64];
		char *x = codec_xml_encode_prim(p, trips[i].root);

		snprintf(ctx, sizeof ctx, "primitive round trip %zu", i);
		assert_non_null(x);
		assert_non_null(strstr(x, trips[i].root));
		if (codec_xml_decode_prim(x, strlen(x), trips[i].root, &back, err, sizeof err) != 0) {
			print_error("%s: %s\n%s\n", ctx, err, x);
			fail();
		}
		assert_json(back, trips[i].json, ctx);
		free(x);
		json_decref(back);
		json_decref(p);
	}

	/* the digest's example, parameter order per the tables */
	{
		const char *ex = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><m2m:rqp " NS ">"
		                 "<op>1</op><to>cse-in/myAE</to><fr>CmyAE</fr><rqi>x-1</rqi><ty>3</ty>"
		                 "<pc><m2m:cnt rn=\"temp\"><lbl>room1 floor2</lbl><mni>100</mni></m2m:cnt></pc>"
		                 "<rvi>3</rvi></m2m:rqp>";
		json_t *j = NULL, *p;
		char err[256], *x;
		assert_int_equal(codec_xml_decode_prim(ex, strlen(ex), "m2m:rqp", &j, err, sizeof err), 0);
		assert_json(j, trips[0].json, "digest example");
		p = jparse("{\"rvi\":\"3\",\"pc\":{\"m2m:cin\":{\"con\":\"1\"}},\"rqi\":\"a\",\"op\":1,\"to\":\"t\",\"ty\":4}");
		x = codec_xml_encode_prim(p, "m2m:rqp");
		assert_non_null(x);
		assert_non_null(strstr(x, "<op>1</op><to>t</to><rqi>a</rqi><ty>4</ty><pc><m2m:cin><con>1</con></m2m:cin></pc><rvi>3</rvi>"));
		free(x);
		json_decref(p);
		json_decref(j);
	}

	/* content without an XML form spoils only pc */
	{
		json_t *p = jparse("{\"rsc\":2000,\"rqi\":\"q\",\"pc\":{\"m2m:cnt\":{\"a b\":1}}}"), *j = NULL;
		char err[256], *x = codec_xml_encode_prim(p, "m2m:rsp");
		assert_non_null(x);
		assert_int_equal(codec_xml_decode_prim(x, strlen(x), "m2m:rsp", &j, err, sizeof err), 0);
		assert_int_equal(json_integer_value(json_object_get(j, "rsc")), 2000);
		assert_true(json_is_string(json_object_get(j, "pc")));
		free(x);
		json_decref(j);
		json_decref(p);
	}

	/* refusals: wrong root, text root, the content decoder's refusals */
	{
		static const struct {
			const char *xml, *root, *why;
		} bad[] = {
			{ "<m2m:cnt " NS "><mni>1</mni></m2m:cnt>", "m2m:rqp", "not <m2m:rqp>" },
			{ "<m2m:rsp " NS "><rsc>2000</rsc></m2m:rsp>", "m2m:rqp", "not <m2m:rqp>" },
			{ "<m2m:rqp " NS ">text</m2m:rqp>", "m2m:rqp", "elements" },
			{ "<m2m:rqp " NS "/>", "m2m:rqp", "elements" },
			{ "<!DOCTYPE m2m:rqp [<!ENTITY x \"y\">]><m2m:rqp " NS "><to>&x;</to></m2m:rqp>", "m2m:rqp", "DOCTYPE" },
			{ "<m2m:rqp " NS "><op>1</op><op>2</op></m2m:rqp>", "m2m:rqp", "repeated" },
			{ "<m2m:rqp><op>1</op></m2m:rqp>", "m2m:rqp", "namespace" },
			{ "<m2m:rqp " NS "><op>1</op>", "m2m:rqp", "malformed" },
			{ "<m2m:rqp " NS "><op>1</op></m2m:rqp>", "m2m:xyz", "no such primitive" },
		};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			json_t *j = (json_t *)1;
			char err[256] = "";
			if (codec_xml_decode_prim(bad[i].xml, strlen(bad[i].xml), bad[i].root, &j, err, sizeof err) == 0) {
				print_error("bad primitive %zu accepted\n", i);
				fail();
			}
			assert_null(j);
			if (!strstr(err, bad[i].why)) {
				print_error("bad primitive %zu: reason '%s' does not mention '%s'\n", i, err, bad[i].why);
				fail();
			}
		}
		assert_null(codec_xml_encode_prim(NULL, "m2m:rqp"));
		json_t *arr = json_array();
		assert_null(codec_xml_encode_prim(arr, "m2m:rqp"));
		json_decref(arr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_encode_order_and_form),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_stable),
		cmocka_unit_test(test_primitives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
