/*
 * filter_test.c - filter criteria parsing, timestamp normalisation and
 * in-memory matching (cse/filter.c), as tables of cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cse/filter.h"
#include "cse/util.h"

#include <time.h>

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return j;
}

static int parse(const char *text, m2m_filter *f, char *err, size_t errlen)
{
	json_t *j = js(text);
	int rc = filter_parse(j, f, err, errlen);

	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------------ */

/* Stamps of new resources: the digits of the UTC time, against
   strftime()'s own, and back to the same milliseconds. */
static void test_time_stamps(void **state)
{
	(void)state;
	static const int64_t ms[] = { 0, 999, 1000, 86399999, 951782400000LL /* 2000-02-29 */,
	                              1767225599999LL, 4102444800123LL, 253402300799999LL /* 9999 */ };
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		char got[24], want[40], sec[32];
		time_t t = (time_t)(ms[i] / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(sec, sizeof(sec), "%Y%m%dT%H%M%S", &tm);
		snprintf(want, sizeof(want), "%s,%06d", sec, (int)(ms[i] % 1000) * 1000);
		util_time_fmt(ms[i], got);
		assert_string_equal(got, want);
		assert_int_equal(util_time_epoch_ms(got), ms[i]);
	}
	char now[24];
	util_now(now);
	assert_int_equal(strlen(now), 22);
	assert_int_equal(now[8], 'T');
	assert_int_equal(now[15], ',');
	assert_true(util_time_epoch_ms(now) > 1767225600000LL); /* after 2026 began */
}

static void test_time_normalize(void **state)
{
	static const struct {
		const char *in, *out;   /* out NULL: rejected */
	} cases[] = {
		{ "20250131T235959", "20250131T235959,000000" },
		{ "20250131T235959,123456", "20250131T235959,123456" },
		{ "20250131T235959.5", "20250131T235959,500000" },
		{ "20250131T235959,12", "20250131T235959,120000" },
		{ "20240229T000000", "20240229T000000,000000" },  /* leap year */
		{ "20000229T120000", "20000229T120000,000000" },  /* 400-year rule */
		{ "19700101T000000", "19700101T000000,000000" },
		{ "20251231T235959,999999", "20251231T235959,999999" },
		{ "20250229T000000", NULL },  /* not a leap year */
		{ "21000229T000000", NULL },  /* 100-year rule */
		{ "20250431T000000", NULL },
		{ "20251301T000000", NULL },
		{ "20250001T000000", NULL },
		{ "20250100T000000", NULL },
		{ "20250132T000000", NULL },
		{ "20250101T240000", NULL },
		{ "20250101T236000", NULL },
		{ "20250101T235960", NULL },
		{ "20250101T000000,", NULL },
		{ "20250101T000000,1234567", NULL },
		{ "20250101T000000,12a", NULL },
		{ "20250101T000000Z", NULL },
		{ "20250101T000000 ", NULL },
		{ "20250101 000000", NULL },
		{ "2025-01-01T00:00:00", NULL },
		{ "20250101T00000", NULL },
		{ "2025010T000000", NULL },
		{ "", NULL },
		{ "3600000", NULL },
		{ "PT10S", NULL },
		{ "+0250101T000000", NULL },
	};
	char out[M2M_TIME_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = m2m_time_normalize(cases[i].in, out);
		if (cases[i].out) {
			if (rc != 0 || strcmp(out, cases[i].out) != 0)
				fail_msg("'%s': rc %d out '%s', want '%s'", cases[i].in, rc, out,
				         cases[i].out);
		} else if (rc != -1 || out[0] != '\0') {
			fail_msg("'%s': accepted as '%s'", cases[i].in, out);
		}
	}
	assert_int_equal(m2m_time_normalize(NULL, out), -1);
	assert_string_equal(out, "");
}

static void test_parse_defaults(void **state)
{
	m2m_filter f;
	char err[128] = "x";

	(void)state;
	assert_int_equal(filter_parse(NULL, &f, err, sizeof(err)), 0);
	assert_int_equal(f.fu, 2);
	assert_int_equal(f.fo, 1);
	assert_int_equal(f.lim, -1);
	assert_int_equal(f.ofst, 0);
	assert_int_equal(f.lvl, -1);
	assert_null(f.atr);
	assert_false(filter_has_conditions(&f));
	filter_clear(&f);

	assert_int_equal(parse("{}", &f, err, sizeof(err)), 0);
	assert_false(filter_has_conditions(&f));
	filter_clear(&f);
	filter_clear(&f); /* twice is fine */
}

static void test_parse_valid(void **state)
{
	m2m_filter f;
	char err[128];

	(void)state;
	assert_int_equal(parse("{\"fu\":1,\"fo\":2,\"ty\":[2,3,4],\"lbl\":[\"a\",\"b:c\"],"
	                       "\"cty\":\"text/plain\",\"cra\":\"20250101T000000\","
	                       "\"crb\":\"20250101T000000.5\",\"ms\":\"20250102T000000,1\","
	                       "\"us\":\"20250103T000000\",\"exa\":\"20250104T000000\","
	                       "\"exb\":\"20250105T000000\",\"sts\":1,\"stb\":2,\"sza\":3,"
	                       "\"szb\":4,\"lim\":5,\"ofst\":6,\"lvl\":7,"
	                       "\"atr\":[{\"nm\":\"rn\",\"val\":\"x*\"}]}",
	                       &f, err, sizeof(err)), 0);
	assert_int_equal(f.fu, 1);
	assert_int_equal(f.fo, 2);
	assert_int_equal(f.nty, 3);
	assert_int_equal(f.ty[2], 4);
	assert_int_equal(f.nlbl, 2);
	assert_string_equal(f.lbl[1], "b:c");
	assert_int_equal(f.ncty, 1);
	assert_string_equal(f.cty[0], "text/plain");
	assert_string_equal(f.cra, "20250101T000000,000000");
	assert_string_equal(f.crb, "20250101T000000,500000");
	assert_string_equal(f.ms, "20250102T000000,100000");
	assert_string_equal(f.us, "20250103T000000,000000");
	assert_string_equal(f.exa, "20250104T000000,000000");
	assert_string_equal(f.exb, "20250105T000000,000000");
	assert_true(f.has_sts && f.sts == 1);
	assert_true(f.has_stb && f.stb == 2);
	assert_true(f.has_sza && f.sza == 3);
	assert_true(f.has_szb && f.szb == 4);
	assert_int_equal(f.lim, 5);
	assert_int_equal(f.ofst, 6);
	assert_int_equal(f.lvl, 7);
	assert_int_equal(json_array_size(f.atr), 1);
	assert_true(filter_has_conditions(&f));
	filter_clear(&f);
	assert_int_equal(f.nlbl, 0);
	assert_null(f.atr);

	/* single values, numeric strings, nulls as absent, zero limits */
	assert_int_equal(parse("{\"ty\":4,\"lbl\":\"x\",\"lim\":\"0\",\"lvl\":0,"
	                       "\"sza\":\"12\",\"cra\":null,\"lbq\":null}",
	                       &f, err, sizeof(err)), 0);
	assert_int_equal(f.nty, 1);
	assert_int_equal(f.ty[0], 4);
	assert_int_equal(f.nlbl, 1);
	assert_int_equal(f.lim, 0);
	assert_int_equal(f.lvl, 0);
	assert_true(f.has_sza && f.sza == 12);
	assert_string_equal(f.cra, "");
	filter_clear(&f);

	/* a single atr object is taken as a one-element list */
	assert_int_equal(parse("{\"atr\":{\"nm\":\"rn\",\"val\":1}}", &f, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(f.atr), 1);
	filter_clear(&f);

	/* exactly HL_MAX_FILTER_VALS values */
	char buf[512];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "{\"ty\":[");
	for (unsigned i = 0; i < HL_MAX_FILTER_VALS; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "", i + 1);
	snprintf(buf + len, sizeof(buf) - len, "]}");
	assert_int_equal(parse(buf, &f, err, sizeof(err)), 0);
	assert_int_equal(f.nty, HL_MAX_FILTER_VALS);
	filter_clear(&f);
}

static void test_parse_invalid(void **state)
{
	static const struct {
		const char *fc;
		int rc;
	} cases[] = {
		{ "[]", -1 },
		{ "1", -1 },
		{ "{\"fu\":0}", -1 },
		{ "{\"fu\":4}", -1 },
		{ "{\"fu\":\"x\"}", -1 },
		{ "{\"fu\":1.0}", -1 },
		{ "{\"fo\":0}", -1 },
		{ "{\"fo\":3}", -1 },
		{ "{\"ty\":-1}", -1 },
		{ "{\"ty\":0}", -1 },
		{ "{\"ty\":[\"x\"]}", -1 },
		{ "{\"ty\":[2,\"-3\"]}", -1 },
		{ "{\"ty\":{}}", -1 },
		{ "{\"lbl\":1}", -1 },
		{ "{\"lbl\":[\"a\",2]}", -1 },
		{ "{\"cty\":[true]}", -1 },
		{ "{\"cra\":\"2025\"}", -1 },
		{ "{\"crb\":\"20251301T000000\"}", -1 },
		{ "{\"ms\":\"20250101T250000\"}", -1 },
		{ "{\"us\":\"20250101T000000,1234567\"}", -1 },
		{ "{\"exa\":20250101}", -1 },
		{ "{\"exb\":\"PT10S\"}", -1 },
		{ "{\"sts\":-1}", -1 },
		{ "{\"stb\":\"1a\"}", -1 },
		{ "{\"sza\":1.5}", -1 },
		{ "{\"szb\":\"\"}", -1 },
		{ "{\"lim\":-1}", -1 },
		{ "{\"lim\":\"-1\"}", -1 },
		{ "{\"lvl\":-2}", -1 },
		{ "{\"ofst\":0}", -1 },
		{ "{\"ofst\":-1}", -1 },
		{ "{\"atr\":\"rn\"}", -1 },
		{ "{\"atr\":[{\"nm\":\"rn\"}]}", -1 },
		{ "{\"atr\":[{\"val\":1}]}", -1 },
		{ "{\"atr\":[{\"nm\":\"\",\"val\":1}]}", -1 },
		{ "{\"atr\":[1]}", -1 },
		{ "{\"bogus\":1}", -1 },
		{ "{\"rcn\":1}", -1 },
		/* valid criteria that Hearth does not implement */
		{ "{\"fu\":3}", -2 },
		{ "{\"lbq\":\"a EQ b\"}", -2 },
		{ "{\"clbl\":[\"a\"]}", -2 },
		{ "{\"palb\":[\"a\"]}", -2 },
		{ "{\"chty\":[4]}", -2 },
		{ "{\"pty\":[2]}", -2 },
		{ "{\"catr\":[]}", -2 },
		{ "{\"patr\":[]}", -2 },
		{ "{\"arp\":\"la\"}", -2 },
		{ "{\"smf\":\"SELECT\"}", -2 },
		{ "{\"cfs\":1}", -2 },
		{ "{\"cfq\":\"$.x\"}", -2 },
		{ "{\"gmty\":1}", -2 },
		{ "{\"geom\":\"[1,2]\"}", -2 },
		{ "{\"gsf\":1}", -2 },
		{ "{\"ty\":[4],\"lbl\":[\"a\"],\"gsf\":1}", -2 },
	};
	m2m_filter f;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		int rc = parse(cases[i].fc, &f, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", cases[i].fc, rc, cases[i].rc, err);
		if (err[0] == '\0')
			fail_msg("%s: no error message", cases[i].fc);
		/* on error f holds the defaults and nothing to free */
		assert_false(filter_has_conditions(&f));
		assert_int_equal(f.nlbl, 0);
		filter_clear(&f);
	}

	/* the message names the criterion */
	assert_int_equal(parse("{\"smf\":\"x\"}", &f, err, sizeof(err)), -2);
	assert_string_equal(err, "filter criterion smf is not supported");
	/* a failure after owned values were copied frees them (ASan checks) */
	assert_int_equal(parse("{\"lbl\":[\"a\",\"b\"],\"atr\":[{\"nm\":\"x\",\"val\":1}],"
	                       "\"lim\":-5}", &f, NULL, 0), -1);
	filter_clear(&f);
	/* a tiny error buffer is respected */
	char tiny[4];
	assert_int_equal(parse("{\"lim\":-5}", &f, tiny, sizeof(tiny)), -1);
	assert_int_equal(strlen(tiny), 3);
}

static void test_parse_too_many(void **state)
{
	static const char *const keys[] = { "ty", "lbl", "cty", "atr" };
	char buf[2048];
	m2m_filter f;
	char err[128];

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t len = (size_t)snprintf(buf, sizeof(buf), "{\"%s\":[", keys[k]);
		for (unsigned i = 0; i <= HL_MAX_FILTER_VALS; i++) {
			const char *sep = i ? "," : "";
			if (k == 0)
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", sep, i + 1);
			else if (k == 3)
				len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				                        "%s{\"nm\":\"a\",\"val\":%u}", sep, i);
			else
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"v%u\"", sep, i);
		}
		snprintf(buf + len, sizeof(buf) - len, "]}");
		if (parse(buf, &f, err, sizeof(err)) != -1)
			fail_msg("%s: %u values accepted", keys[k], HL_MAX_FILTER_VALS + 1);
		filter_clear(&f);
	}
}

/* ------------------------------------------------------------------ */

/* The resource every match case below runs against (ty 4). */
static const char cin_attrs[] =
	"{\"rn\":\"cin_17\",\"ty\":4,\"ct\":\"20250103T000000\",\"lt\":\"20250103T120000,5\","
	"\"et\":\"20250301T000000\",\"st\":3,\"cs\":10,\"cnf\":\"text/plain:0\","
	"\"lbl\":[\"key:v\",\"room1\"],\"con\":\"hello world\",\"mni\":42,\"ratio\":0.5,"
	"\"rr\":true,\"poa\":[\"http://a:1/x\",\"mqtt://b\"],\"nums\":[1,2,3],"
	"\"obj\":{\"k\":1},\"_o\":\"Csecret\"}";

static void test_match(void **state)
{
	static const struct {
		const char *fc;
		bool want;
	} cases[] = {
		{ "{}", true },
		{ "{\"lim\":1,\"lvl\":1,\"ofst\":2}", true },
		/* ty */
		{ "{\"ty\":4}", true },
		{ "{\"ty\":[2,4]}", true },
		{ "{\"ty\":[2,3]}", false },
		/* lbl */
		{ "{\"lbl\":\"room1\"}", true },
		{ "{\"lbl\":[\"x\",\"key:v\"]}", true },
		{ "{\"lbl\":[\"room\",\"key\"]}", false },
		/* cty */
		{ "{\"cty\":\"text/plain\"}", true },
		{ "{\"cty\":[\"application/json\"]}", false },
		{ "{\"cty\":\"text/plain:0\"}", false },
		/* crb / cra: ct < crb, cra <= ct */
		{ "{\"crb\":\"20250103T000000\"}", false },
		{ "{\"crb\":\"20250103T000000,000001\"}", true },
		{ "{\"cra\":\"20250103T000000\"}", true },
		{ "{\"cra\":\"20250103T000000.1\"}", false },
		/* ms / us: ms <= lt, lt < us */
		{ "{\"ms\":\"20250103T120000,5\"}", true },
		{ "{\"ms\":\"20250103T120000,500001\"}", false },
		{ "{\"us\":\"20250103T120000,5\"}", false },
		{ "{\"us\":\"20250103T120001\"}", true },
		/* sts / stb: st < sts, stb <= st */
		{ "{\"sts\":3}", false },
		{ "{\"sts\":4}", true },
		{ "{\"stb\":3}", true },
		{ "{\"stb\":4}", false },
		/* exb / exa: et < exb, exa <= et */
		{ "{\"exb\":\"20250301T000000\"}", false },
		{ "{\"exb\":\"20250301T000001\"}", true },
		{ "{\"exa\":\"20250301T000000\"}", true },
		{ "{\"exa\":\"20250301T000000,000001\"}", false },
		/* sza / szb: sza <= cs, cs < szb */
		{ "{\"sza\":10}", true },
		{ "{\"sza\":11}", false },
		{ "{\"szb\":10}", false },
		{ "{\"szb\":11}", true },
		/* fo: AND by default, OR on request */
		{ "{\"ty\":4,\"sza\":11}", false },
		{ "{\"fo\":1,\"ty\":4,\"sza\":10}", true },
		{ "{\"fo\":2,\"ty\":4,\"sza\":11}", true },
		{ "{\"fo\":2,\"ty\":2,\"sza\":11}", false },
		{ "{\"fo\":2,\"ty\":2,\"lbl\":\"room1\"}", true },
		/* atr: strings exactly, '*' wildcard */
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"cin_17\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"cin_1\"}]}", false },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"cin*\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"*17\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"c*_*7\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"*\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"*x*\"}]}", false },
		{ "{\"atr\":[{\"nm\":\"con\",\"val\":\"hello*world\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"con\",\"val\":\"hello\"}]}", false },
		{ "{\"atr\":[{\"nm\":\"missing\",\"val\":\"*\"}]}", false },
		/* atr: hidden attributes are never matched */
		{ "{\"atr\":[{\"nm\":\"_o\",\"val\":\"Csecret\"}]}", false },
		{ "{\"atr\":[{\"nm\":\"_o\",\"val\":\"*\"}]}", false },
		{ "{\"fo\":2,\"ty\":2,\"atr\":[{\"nm\":\"_o\",\"val\":\"*\"}]}", false },
		/* atr: numbers and booleans by value, also from strings */
		{ "{\"atr\":[{\"nm\":\"mni\",\"val\":42}]}", true },
		{ "{\"atr\":[{\"nm\":\"mni\",\"val\":42.0}]}", true },
		{ "{\"atr\":[{\"nm\":\"mni\",\"val\":43}]}", false },
		{ "{\"atr\":[{\"nm\":\"mni\",\"val\":\"42\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"mni\",\"val\":\"4*\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"mni\",\"val\":\"x\"}]}", false },
		{ "{\"atr\":[{\"nm\":\"ratio\",\"val\":0.5}]}", true },
		{ "{\"atr\":[{\"nm\":\"ratio\",\"val\":\"0.50\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rr\",\"val\":true}]}", true },
		{ "{\"atr\":[{\"nm\":\"rr\",\"val\":false}]}", false },
		{ "{\"atr\":[{\"nm\":\"rr\",\"val\":\"true\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":17}]}", false },
		{ "{\"atr\":[{\"nm\":\"obj\",\"val\":{\"k\":1}}]}", true },
		{ "{\"atr\":[{\"nm\":\"obj\",\"val\":{\"k\":2}}]}", false },
		/* atr on list attributes: any element */
		{ "{\"atr\":[{\"nm\":\"poa\",\"val\":\"mqtt://b\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"poa\",\"val\":\"http://*\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"poa\",\"val\":\"coap*\"}]}", false },
		{ "{\"atr\":[{\"nm\":\"nums\",\"val\":2}]}", true },
		{ "{\"atr\":[{\"nm\":\"nums\",\"val\":\"3\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"nums\",\"val\":4}]}", false },
		{ "{\"atr\":[{\"nm\":\"nums\",\"val\":[1,2,3]}]}", true },
		/* atr: same nm ORed, different nm combined by fo */
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"a\"},{\"nm\":\"rn\",\"val\":\"cin*\"}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"cin*\"},{\"nm\":\"mni\",\"val\":1}]}", false },
		{ "{\"fo\":2,\"atr\":[{\"nm\":\"rn\",\"val\":\"cin*\"},{\"nm\":\"mni\",\"val\":1}]}", true },
		{ "{\"atr\":[{\"nm\":\"rn\",\"val\":\"cin*\"},{\"nm\":\"mni\",\"val\":42}]}", true },
		/* atr with other tags */
		{ "{\"ty\":4,\"atr\":[{\"nm\":\"rn\",\"val\":\"x\"}]}", false },
		{ "{\"fo\":2,\"ty\":3,\"atr\":[{\"nm\":\"rn\",\"val\":\"cin*\"}]}", true },
		{ "{\"fo\":2,\"ty\":3,\"atr\":[{\"nm\":\"rn\",\"val\":\"x\"}]}", false },
		{ "{\"ty\":4,\"lbl\":\"room1\",\"cty\":\"text/plain\",\"cra\":\"20250101T000000\","
		  "\"crb\":\"20250104T000000\",\"ms\":\"20250103T000000\",\"us\":\"20250104T000000\","
		  "\"sts\":4,\"stb\":3,\"exa\":\"20250201T000000\",\"exb\":\"20250401T000000\","
		  "\"sza\":10,\"szb\":11,\"atr\":[{\"nm\":\"mni\",\"val\":42}]}", true },
	};
	json_t *a = js(cin_attrs);
	m2m_filter f;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].fc, &f, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].fc, err);
		bool got = filter_match(&f, 4, a);
		filter_clear(&f);
		if (got != cases[i].want)
			fail_msg("case %zu %s: got %d, want %d", i, cases[i].fc, got, cases[i].want);
	}
	json_decref(a);
}

/* A resource without st/cs/et/cnf/lbl/ct/lt meets no condition on them. */
static void test_match_missing(void **state)
{
	static const char *const fcs[] = {
		"{\"sts\":100}", "{\"stb\":0}", "{\"sza\":0}", "{\"szb\":100}",
		"{\"exa\":\"19700101T000000\"}", "{\"exb\":\"29991231T000000\"}",
		"{\"cra\":\"19700101T000000\"}", "{\"crb\":\"29991231T000000\"}",
		"{\"ms\":\"19700101T000000\"}", "{\"us\":\"29991231T000000\"}",
		"{\"cty\":\"text/plain\"}", "{\"lbl\":\"a\"}",
	};
	json_t *bare = js("{\"rn\":\"x\",\"st\":\"3\",\"cs\":1.5,\"et\":\"garbage\"}");
	m2m_filter f;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(fcs) / sizeof(fcs[0]); i++) {
		assert_int_equal(parse(fcs[i], &f, err, sizeof(err)), 0);
		if (filter_match(&f, 2, bare))
			fail_msg("%s matched a resource without the attribute", fcs[i]);
		filter_clear(&f);
	}
	/* but under OR another tag can still carry it */
	assert_int_equal(parse("{\"fo\":2,\"sts\":100,\"ty\":2}", &f, err, sizeof(err)), 0);
	assert_true(filter_match(&f, 2, bare));
	filter_clear(&f);
	json_decref(bare);
}

static void test_match_atr_only(void **state)
{
	json_t *a = js(cin_attrs);
	m2m_filter f;
	char err[128];

	(void)state;
	/* no atr: true whatever else is set */
	assert_int_equal(parse("{\"ty\":2,\"sza\":1000}", &f, err, sizeof(err)), 0);
	assert_true(filter_match_atr(&f, a));
	assert_false(filter_match(&f, 4, a));
	filter_clear(&f);
	/* only atr is checked */
	assert_int_equal(parse("{\"ty\":2,\"atr\":[{\"nm\":\"rn\",\"val\":\"cin*\"}]}",
	                       &f, err, sizeof(err)), 0);
	assert_true(filter_match_atr(&f, a));
	filter_clear(&f);
	assert_int_equal(parse("{\"atr\":[{\"nm\":\"rn\",\"val\":\"nope\"}]}", &f, err, sizeof(err)), 0);
	assert_false(filter_match_atr(&f, a));
	filter_clear(&f);
	json_decref(a);
}

static void test_init(void **state)
{
	m2m_filter f;

	(void)state;
	memset(&f, 0x5a, sizeof(f));
	filter_init(&f);
	assert_int_equal(f.fu, 2);
	assert_int_equal(f.fo, 1);
	assert_int_equal(f.lim, -1);
	assert_int_equal(f.lvl, -1);
	assert_false(filter_has_conditions(&f));
	filter_clear(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_normalize),
		cmocka_unit_test(test_time_stamps),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_missing),
		cmocka_unit_test(test_match_atr_only),
		cmocka_unit_test(test_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
