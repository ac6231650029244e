/*
 * store_test.c - the SQLite store (cse/store_sqlite.c) through store.h.
 *
 * Each test opens a fresh database file in its own temporary directory.
 * Discovery is checked as a table: filter criteria in (JSON, parsed by
 * filter_parse()), the resource ids visited in order out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cse/log.h"
#include "cse/store.h"

typedef struct fixture {
	char dir[64];
	char path[96];
	store *s;
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/hearth-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/t.db", fx->dir);
	assert_int_equal(store_sqlite_open(fx->path, &fx->s), STORE_OK);
	assert_non_null(fx->s);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	char p[128];
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };

	store_close(&fx->s);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", fx->path, sfx[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void reopen(fixture *fx)
{
	store_close(&fx->s);
	assert_null(fx->s);
	assert_int_equal(store_sqlite_open(fx->path, &fx->s), STORE_OK);
}

static res *mk(int ty, const char *ri, const char *pi, const char *path, const char *attrs)
{
	json_error_t e;
	json_t *a = json_loads(attrs, JSON_ALLOW_NUL, &e);
	const char *rn = strrchr(path, '/');
	res *r;

	assert_non_null(a);
	r = res_new(ty, ri, pi, rn ? rn + 1 : path, path, a);
	json_decref(a);
	assert_non_null(r);
	return r;
}

static int put(store *s, int ty, const char *ri, const char *pi, const char *path,
               const char *attrs)
{
	res *r = mk(ty, ri, pi, path, attrs);
	int rc = s->ops->insert(s, r);

	if (rc == STORE_OK)
		assert_true(r->seq > 0);
	res_free(&r);
	return rc;
}

/* Visitor that appends each ri, comma separated. */
typedef struct collect {
	char buf[1024];
	int stop_after;  /* > 0: return 1 after that many; < 0: return -1 at once */
	int n;
} collect;

static int collect_ri(void *ctx, const res *r)
{
	collect *c = ctx;
	size_t len = strlen(c->buf);

	snprintf(c->buf + len, sizeof(c->buf) - len, "%s%s", len ? "," : "", r->ri);
	c->n++;
	if (c->stop_after < 0)
		return -1;
	return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
}

/* ------------------------------------------------------------------ */

static void test_insert_get(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	res *r = mk(3, "cnt1", "ae1", "cse-in/ae1/cnt1",
	            "{\"ri\":\"cnt1\",\"pi\":\"ae1\",\"rn\":\"cnt1\",\"ty\":3,"
	            "\"ct\":\"20250101T000000\",\"lbl\":[\"x\"],\"mni\":10,\"f\":1.5,"
	            "\"u\":\"\\u00e9\",\"nul\":\"a\\u0000b\"}");
	res *got = NULL;

	assert_int_equal(s->ops->insert(s, r), STORE_OK);
	assert_true(r->seq > 0);

	assert_int_equal(s->ops->get(s, "cnt1", &got), STORE_OK);
	assert_non_null(got);
	assert_int_equal(got->ty, 3);
	assert_string_equal(got->ri, "cnt1");
	assert_string_equal(got->pi, "ae1");
	assert_string_equal(got->rn, "cnt1");
	assert_string_equal(got->path, "cse-in/ae1/cnt1");
	assert_true(got->seq == r->seq);
	assert_true(json_equal(got->a, r->a));
	res_free(&got);
	assert_null(got);

	assert_int_equal(s->ops->get_path(s, "cse-in/ae1/cnt1", &got), STORE_OK);
	assert_string_equal(got->ri, "cnt1");
	res_free(&got);

	assert_int_equal(s->ops->get(s, "nope", &got), STORE_NOTFOUND);
	assert_null(got);
	assert_int_equal(s->ops->get_path(s, "cse-in/nope", &got), STORE_NOTFOUND);
	assert_null(got);

	/* seq grows in creation order */
	res *r2 = mk(4, "cin1", "cnt1", "cse-in/ae1/cnt1/cin1", "{\"con\":\"x\"}");
	assert_int_equal(s->ops->insert(s, r2), STORE_OK);
	assert_true(r2->seq > r->seq);
	res_free(&r2);
	res_free(&r);
}

static void test_conflict(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	res *got = NULL;

	assert_int_equal(put(s, 2, "ae1", "cb", "cse-in/ae1", "{\"v\":1}"), STORE_OK);
	/* same path, other ri */
	assert_int_equal(put(s, 2, "ae2", "cb", "cse-in/ae1", "{\"v\":2}"), STORE_CONFLICT);
	/* same ri, other path */
	assert_int_equal(put(s, 2, "ae1", "cb", "cse-in/ae9", "{\"v\":3}"), STORE_CONFLICT);
	assert_int_equal(s->ops->get(s, "ae2", &got), STORE_NOTFOUND);
	assert_int_equal(s->ops->get_path(s, "cse-in/ae9", &got), STORE_NOTFOUND);
	assert_int_equal(s->ops->get(s, "ae1", &got), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(got->a, "v")), 1);
	res_free(&got);

	/* a conflict inside a transaction leaves the transaction usable */
	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(put(s, 2, "ae3", "cb", "cse-in/ae3", "{\"lbl\":[\"k\"]}"), STORE_OK);
	assert_int_equal(put(s, 2, "ae4", "cb", "cse-in/ae3", "{\"lbl\":[\"k\"]}"), STORE_CONFLICT);
	assert_int_equal(s->ops->commit(s), STORE_OK);
	assert_int_equal(s->ops->get(s, "ae3", &got), STORE_OK);
	res_free(&got);
	assert_int_equal(s->ops->get(s, "ae4", &got), STORE_NOTFOUND);

	/* incomplete resources are refused */
	res *bad = res_new(2, "x", NULL, "x", "cse-in/x", NULL);
	assert_int_equal(s->ops->insert(s, bad), STORE_ERROR);
	res_free(&bad);
}

static int discover_json(store *s, const char *root, const char *fc, collect *c)
{
	m2m_filter f;
	char err[128];
	json_error_t je;
	json_t *j = json_loads(fc, 0, &je);
	int rc;

	assert_non_null(j);
	assert_int_equal(filter_parse(j, &f, err, sizeof(err)), 0);
	json_decref(j);
	memset(c, 0, sizeof(*c));
	rc = s->ops->discover(s, root, &f, collect_ri, c);
	filter_clear(&f);
	return rc;
}

static void test_update(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;
	res *r = mk(3, "cnt1", "cb", "cse-in/cnt1",
	            "{\"lbl\":[\"old\"],\"et\":\"20300101T000000\",\"st\":0,\"cs\":1}");
	res *got = NULL;

	assert_int_equal(s->ops->insert(s, r), STORE_OK);
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"old\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1");

	json_decref(r->a);
	r->a = json_pack("{s:[s,s], s:s, s:i, s:i, s:s}", "lbl", "new", "new2",
	                 "et", "20200101T000000", "st", 5, "cs", 7, "cnf", "text/plain:0");
	assert_non_null(r->a);
	assert_int_equal(s->ops->update(s, r), STORE_OK);

	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"old\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "");
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"new2\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1");
	assert_int_equal(discover_json(s, "cse-in", "{\"stb\":5,\"sza\":7,\"cty\":\"text/plain\"}", &c),
	                 STORE_OK);
	assert_string_equal(c.buf, "cnt1");
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->expired(s, "20250101T000000", -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1");

	assert_int_equal(s->ops->get(s, "cnt1", &got), STORE_OK);
	assert_true(json_equal(got->a, r->a));
	assert_true(got->seq == r->seq);
	res_free(&got);

	res *ghost = mk(3, "ghost", "cb", "cse-in/ghost", "{}");
	assert_int_equal(s->ops->update(s, ghost), STORE_NOTFOUND);
	res_free(&ghost);
	res_free(&r);
}

/* update_body: the body and st change, the labels and et stay as stored. */
static void test_update_body(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;
	res *r = mk(3, "cnt1", "cb", "cse-in/cnt1", "{\"lbl\":[\"keep\"],\"et\":\"20300101T000000\",\"st\":0,\"cni\":0}");
	res *got = NULL;

	assert_int_equal(s->ops->insert(s, r), STORE_OK);
	json_object_set_new(r->a, "cni", json_integer(3));
	json_object_set_new(r->a, "st", json_integer(3));
	assert_int_equal(s->ops->update_body(s, r), STORE_OK);

	assert_int_equal(s->ops->get(s, "cnt1", &got), STORE_OK);
	assert_true(json_equal(got->a, r->a));
	res_free(&got);
	assert_int_equal(discover_json(s, "cse-in", "{\"stb\":3}", &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1");
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"keep\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1");
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->expired(s, "20310101T000000", -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1");

	res *ghost = mk(3, "ghost", "cb", "cse-in/ghost", "{}");
	assert_int_equal(s->ops->update_body(s, ghost), STORE_NOTFOUND);
	res_free(&ghost);
	res_free(&r);
}

static void test_remove(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;
	res *got = NULL;

	assert_int_equal(put(s, 2, "ae1", "cb", "cse-in/ae1", "{\"lbl\":[\"l\"]}"), STORE_OK);
	assert_int_equal(s->ops->remove(s, "ae1"), STORE_OK);
	assert_int_equal(s->ops->get(s, "ae1", &got), STORE_NOTFOUND);
	assert_int_equal(s->ops->remove(s, "ae1"), STORE_NOTFOUND);
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":\"l\"}", &c), STORE_OK);
	assert_string_equal(c.buf, "");
	/* the path and ri are free again, and the new row gets a new seq */
	assert_int_equal(put(s, 2, "ae1", "cb", "cse-in/ae1", "{\"lbl\":[\"m\"]}"), STORE_OK);
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"l\",\"m\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "ae1");
}

static void test_children(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;

	assert_int_equal(put(s, 3, "cnt", "ae", "cse-in/ae/cnt", "{}"), STORE_OK);
	assert_int_equal(put(s, 4, "i1", "cnt", "cse-in/ae/cnt/i1", "{}"), STORE_OK);
	assert_int_equal(put(s, 23, "sub", "cnt", "cse-in/ae/cnt/sub", "{}"), STORE_OK);
	assert_int_equal(put(s, 4, "i2", "cnt", "cse-in/ae/cnt/i2", "{}"), STORE_OK);
	assert_int_equal(put(s, 4, "i3", "cnt", "cse-in/ae/cnt/i3", "{}"), STORE_OK);
	assert_int_equal(put(s, 4, "x1", "other", "cse-in/ae/other/x1", "{}"), STORE_OK);

	static const struct {
		int ty;
		bool desc;
		long limit;
		const char *want;
	} cases[] = {
		{ 0, false, -1, "i1,sub,i2,i3" },
		{ 0, true, -1, "i3,i2,sub,i1" },
		{ 0, false, 2, "i1,sub" },
		{ 4, false, -1, "i1,i2,i3" },
		{ 4, true, 1, "i3" },
		{ 23, false, -1, "sub" },
		{ 2, false, -1, "" },
		{ 4, false, 0, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&c, 0, sizeof(c));
		assert_int_equal(s->ops->children(s, "cnt", cases[i].ty, cases[i].desc,
		                                  cases[i].limit, collect_ri, &c), STORE_OK);
		if (strcmp(c.buf, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, c.buf, cases[i].want);
	}

	/* visitor stop and abort */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(s->ops->children(s, "cnt", 0, false, -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "i1,sub");
	memset(&c, 0, sizeof(c));
	c.stop_after = -1;
	assert_int_equal(s->ops->children(s, "cnt", 0, false, -1, collect_ri, &c), STORE_ERROR);
	assert_string_equal(c.buf, "i1");
	/* and the statement is reusable afterwards */
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->children(s, "cnt", 0, false, -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "i1,sub,i2,i3");
}

static void test_subtree(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;

	assert_int_equal(put(s, 5, "cb", "", "cse-in", "{}"), STORE_OK);
	assert_int_equal(put(s, 2, "ae1", "cb", "cse-in/ae1", "{}"), STORE_OK);
	assert_int_equal(put(s, 2, "ae10", "cb", "cse-in/ae10", "{}"), STORE_OK);
	assert_int_equal(put(s, 2, "ae1x", "cb", "cse-in/ae1-x", "{}"), STORE_OK);
	assert_int_equal(put(s, 3, "c1", "ae1", "cse-in/ae1/c1", "{}"), STORE_OK);
	assert_int_equal(put(s, 3, "c2", "ae1", "cse-in/ae1/c2", "{}"), STORE_OK);
	assert_int_equal(put(s, 4, "i1", "c1", "cse-in/ae1/c1/i1", "{}"), STORE_OK);
	assert_int_equal(put(s, 4, "i2", "c2", "cse-in/ae1/c2/i2", "{}"), STORE_OK);
	assert_int_equal(put(s, 3, "c10", "ae10", "cse-in/ae10/c", "{}"), STORE_OK);

	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->subtree(s, "cse-in/ae1", collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "i2,i1,c2,c1");

	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->subtree(s, "cse-in", collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "i2,i1,c10,c2,c1,ae1x,ae10,ae1");

	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->subtree(s, "cse-in/ae1/c1/i1", collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "");

	/* deleting in visiting order empties the subtree */
	static const char *const order[] = { "i2", "i1", "c2", "c1" };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(s->ops->remove(s, order[i]), STORE_OK);
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->subtree(s, "cse-in", collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "c10,ae1x,ae10,ae1");
}

/* The discovery fixture: insertion order = seq order. */
static void discovery_tree(store *s)
{
	static const struct {
		int ty;
		const char *ri, *pi, *path, *a;
	} rows[] = {
		{ 5, "cb", "", "cse-in", "{\"ct\":\"20241231T000000\"}" },
		{ 2, "ae1", "cb", "cse-in/ae1",
		  "{\"ct\":\"20250101T000000\",\"lt\":\"20250105T000000\","
		  "\"et\":\"20260101T000000\",\"lbl\":[\"a\"]}" },
		{ 3, "cnt1", "ae1", "cse-in/ae1/cnt1",
		  "{\"ct\":\"20250102T000000\",\"lt\":\"20250102T000000\","
		  "\"et\":\"20250601T000000\",\"st\":3,\"lbl\":[\"b\",\"a\"]}" },
		{ 4, "cin1", "cnt1", "cse-in/ae1/cnt1/cin1",
		  "{\"ct\":\"20250103T000000\",\"lt\":\"20250103T000000\","
		  "\"et\":\"20250301T000000\",\"st\":0,\"cs\":10,\"cnf\":\"text/plain:0\","
		  "\"lbl\":[\"c\"]}" },
		{ 4, "cin2", "cnt1", "cse-in/ae1/cnt1/cin2",
		  "{\"ct\":\"20250104T000000,250\",\"lt\":\"20250104T000000.25\","
		  "\"et\":\"20250401T000000\",\"st\":0,\"cs\":100,"
		  "\"cnf\":\"application/json\"}" },
		{ 2, "ae10", "cb", "cse-in/ae10",
		  "{\"ct\":\"20250105T000000\",\"lt\":\"20250105T000000\",\"lbl\":[\"b\"]}" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(put(s, rows[i].ty, rows[i].ri, rows[i].pi, rows[i].path,
		                     rows[i].a), STORE_OK);
}

static void test_discover(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;
	static const struct {
		const char *root, *fc, *want;
	} cases[] = {
		{ "cse-in", "{}", "ae1,cnt1,cin1,cin2,ae10" },
		{ "cse-in", "{\"fu\":1}", "ae1,cnt1,cin1,cin2,ae10" },
		{ "cse-in/ae1", "{}", "cnt1,cin1,cin2" },
		{ "cse-in/ae1/cnt1/cin1", "{}", "" },
		{ "cse-in/nothing", "{}", "" },
		/* ty */
		{ "cse-in", "{\"ty\":[4]}", "cin1,cin2" },
		{ "cse-in", "{\"ty\":4}", "cin1,cin2" },
		{ "cse-in", "{\"ty\":[2,3]}", "ae1,cnt1,ae10" },
		{ "cse-in", "{\"ty\":[9]}", "" },
		{ "cse-in", "{\"ty\":[3,4]}", "cnt1,cin1,cin2" },
		{ "cse-in", "{\"ty\":[3],\"lvl\":2}", "cnt1" },
		/* lbl */
		{ "cse-in", "{\"lbl\":[\"a\"]}", "ae1,cnt1" },
		{ "cse-in", "{\"lbl\":[\"c\",\"b\"]}", "cnt1,cin1,ae10" },
		{ "cse-in", "{\"lbl\":\"zz\"}", "" },
		/* cra / crb: ct >= cra, ct < crb (stored ct normalised) */
		{ "cse-in", "{\"cra\":\"20250103T000000\"}", "cin1,cin2,ae10" },
		{ "cse-in", "{\"cra\":\"20250104T000000,3\"}", "ae10" },
		{ "cse-in", "{\"cra\":\"20250104T000000,25\"}", "cin2,ae10" },
		{ "cse-in", "{\"crb\":\"20250103T000000\"}", "ae1,cnt1" },
		{ "cse-in", "{\"cra\":\"20250102T000000\",\"crb\":\"20250104T000000\"}", "cnt1,cin1" },
		/* ms / us: lt >= ms, lt < us */
		{ "cse-in", "{\"ms\":\"20250105T000000\"}", "ae1,ae10" },
		{ "cse-in", "{\"us\":\"20250103T000000\"}", "cnt1" },
		{ "cse-in", "{\"us\":\"20250104T000000.250001\"}", "cnt1,cin1,cin2" },
		/* sts / stb: st < sts, st >= stb; no st, no match */
		{ "cse-in", "{\"sts\":1}", "cin1,cin2" },
		{ "cse-in", "{\"stb\":1}", "cnt1" },
		{ "cse-in", "{\"stb\":0}", "cnt1,cin1,cin2" },
		/* exa / exb: et >= exa, et < exb; no et, no match */
		{ "cse-in", "{\"exa\":\"20250501T000000\"}", "ae1,cnt1" },
		{ "cse-in", "{\"exb\":\"20250315T000000\"}", "cin1" },
		{ "cse-in", "{\"exa\":\"20250301T000000\"}", "ae1,cnt1,cin1,cin2" },
		/* sza / szb: cs >= sza, cs < szb */
		{ "cse-in", "{\"sza\":50}", "cin2" },
		{ "cse-in", "{\"sza\":10}", "cin1,cin2" },
		{ "cse-in", "{\"szb\":50}", "cin1" },
		/* cty: media type of cnf */
		{ "cse-in", "{\"cty\":[\"text/plain\"]}", "cin1" },
		{ "cse-in", "{\"cty\":[\"application/json\",\"text/plain\"]}", "cin1,cin2" },
		{ "cse-in", "{\"cty\":\"text/plain:0\"}", "" },
		/* lvl */
		{ "cse-in", "{\"lvl\":1}", "ae1,ae10" },
		{ "cse-in", "{\"lvl\":2}", "ae1,cnt1,ae10" },
		{ "cse-in", "{\"lvl\":0}", "" },
		{ "cse-in/ae1", "{\"lvl\":1}", "cnt1" },
		{ "cse-in/ae1", "{\"lvl\":1,\"ty\":4}", "" },
		/* AND (default) */
		{ "cse-in", "{\"ty\":[4],\"sza\":50}", "cin2" },
		{ "cse-in", "{\"lbl\":[\"a\"],\"ty\":[3]}", "cnt1" },
		{ "cse-in", "{\"fo\":1,\"ty\":[2],\"sza\":50}", "" },
		/* OR */
		{ "cse-in", "{\"fo\":2,\"ty\":[2],\"sza\":50}", "ae1,cin2,ae10" },
		{ "cse-in", "{\"fo\":2,\"lbl\":\"c\",\"exa\":\"20250501T000000\"}", "ae1,cnt1,cin1" },
		{ "cse-in", "{\"fo\":2,\"lvl\":1,\"ty\":[4],\"lbl\":\"b\"}", "ae10" },
		/* a type other than 4 under OR: instances still qualify by the rest */
		{ "cse-in", "{\"fo\":2,\"ty\":[3],\"lbl\":\"c\"}", "cnt1,cin1" },
		/* atr is the caller's: with AND the rest still applies, with OR
		   nothing does */
		{ "cse-in", "{\"ty\":[4],\"atr\":[{\"nm\":\"rn\",\"val\":\"x\"}]}", "cin1,cin2" },
		{ "cse-in", "{\"fo\":2,\"ty\":[4],\"atr\":[{\"nm\":\"rn\",\"val\":\"x\"}]}",
		  "ae1,cnt1,cin1,cin2,ae10" },
		{ "cse-in", "{\"fo\":2,\"lvl\":1,\"ty\":[4],\"atr\":{\"nm\":\"rn\",\"val\":\"x\"}}",
		  "ae1,ae10" },
	};

	discovery_tree(s);
	for (int pass = 0; pass < 2; pass++) { /* second pass: cached statements */
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			assert_int_equal(discover_json(s, cases[i].root, cases[i].fc, &c), STORE_OK);
			if (strcmp(c.buf, cases[i].want) != 0)
				fail_msg("case %zu (%s under %s): got '%s', want '%s'", i,
				         cases[i].fc, cases[i].root, c.buf, cases[i].want);
		}
	}
}

/* More query shapes than the statement cache holds, then the first again. */
static void test_discover_cache(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;
	char fc[1024];

	discovery_tree(s);
	for (int n = 1; n <= (int)HL_MAX_FILTER_VALS; n++) {
		for (int fo = 1; fo <= 2; fo++) {
			size_t len = (size_t)snprintf(fc, sizeof(fc), "{\"fo\":%d,\"lbl\":[", fo);
			for (int k = 0; k < n; k++)
				len += (size_t)snprintf(fc + len, sizeof(fc) - len, "%s\"%c\"",
				                        k ? "," : "", k == n - 1 ? 'a' : 'z');
			snprintf(fc + len, sizeof(fc) - len, "]}");
			assert_int_equal(discover_json(s, "cse-in", fc, &c), STORE_OK);
			if (strcmp(c.buf, "ae1,cnt1") != 0)
				fail_msg("%s: got '%s'", fc, c.buf);
		}
	}
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"a\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "ae1,cnt1");
}

static void test_expired(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;

	discovery_tree(s);
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->expired(s, "20250415T000000", -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "cin1,cin2");
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->expired(s, "20250415T000000,000000", 1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "cin1");
	memset(&c, 0, sizeof(c));
	/* et < now, strictly */
	assert_int_equal(s->ops->expired(s, "20250301T000000", -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "");
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->expired(s, "20991231T235959", -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "cin1,cin2,cnt1,ae1");
}

static void test_meta(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	char *v = (char *)"unchanged";

	assert_int_equal(s->ops->meta_get(s, "k", &v), STORE_NOTFOUND);
	assert_null(v);
	assert_int_equal(s->ops->meta_set(s, "k", "one"), STORE_OK);
	assert_int_equal(s->ops->meta_get(s, "k", &v), STORE_OK);
	assert_string_equal(v, "one");
	free(v);
	assert_int_equal(s->ops->meta_set(s, "k", "two"), STORE_OK);
	assert_int_equal(s->ops->meta_set(s, "empty", ""), STORE_OK);
	reopen(fx);
	s = fx->s;
	assert_int_equal(s->ops->meta_get(s, "k", &v), STORE_OK);
	assert_string_equal(v, "two");
	free(v);
	assert_int_equal(s->ops->meta_get(s, "empty", &v), STORE_OK);
	assert_string_equal(v, "");
	free(v);
}

static void test_transactions(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	res *got = NULL;

	assert_int_equal(s->ops->commit(s), STORE_ERROR);       /* no begin */
	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(s->ops->begin(s), STORE_ERROR);        /* nested */
	assert_int_equal(put(s, 2, "kept", "cb", "cse-in/kept", "{\"lbl\":[\"t\"]}"), STORE_OK);
	assert_int_equal(s->ops->commit(s), STORE_OK);

	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(put(s, 2, "gone", "cb", "cse-in/gone", "{\"lbl\":[\"t\"]}"), STORE_OK);
	assert_int_equal(s->ops->remove(s, "kept"), STORE_OK);
	assert_int_equal(s->ops->rollback(s), STORE_OK);
	assert_int_equal(s->ops->rollback(s), STORE_OK);        /* harmless */

	assert_int_equal(s->ops->get(s, "gone", &got), STORE_NOTFOUND);
	assert_int_equal(s->ops->get(s, "kept", &got), STORE_OK);
	res_free(&got);

	/* written outside begin/commit: its own durable transaction */
	assert_int_equal(put(s, 2, "auto", "cb", "cse-in/auto", "{\"lbl\":[\"t\"]}"), STORE_OK);
	reopen(fx);
	s = fx->s;
	assert_int_equal(s->ops->get(s, "auto", &got), STORE_OK);
	res_free(&got);
	assert_int_equal(s->ops->get_path(s, "cse-in/kept", &got), STORE_OK);
	res_free(&got);
	assert_int_equal(s->ops->get(s, "gone", &got), STORE_NOTFOUND);

	/* a transaction left open at close is rolled back */
	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(put(s, 2, "open", "cb", "cse-in/open", "{}"), STORE_OK);
	reopen(fx);
	s = fx->s;
	assert_int_equal(s->ops->get(s, "open", &got), STORE_NOTFOUND);
}

static bool exists(store *s, const char *ri)
{
	res *r = NULL;
	int rc = s->ops->get(s, ri, &r);
	res_free(&r);
	return rc == STORE_OK;
}

/* Units in every position of a transaction: the first one, before any
   change (the store keeps it bare, without a savepoint), one after a
   change, one nested in another, and a unit that changed nothing. Each
   rolled back unit loses exactly its own rows, the rest commit. */
static void test_units(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;

	assert_int_equal(s->ops->begin(s), STORE_OK);
	/* first unit, rolled back: the transaction goes on */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 2, "u1", "cb", "cse-in/u1", "{\"lbl\":[\"x\"]}"), STORE_OK);
	assert_int_equal(s->ops->rollback_to(s), STORE_OK);
	assert_false(exists(s, "u1"));
	/* first unit again (nothing written yet), kept */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 2, "u2", "cb", "cse-in/u2", "{}"), STORE_OK);
	/* nested in it, rolled back alone */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 2, "u3", "cb", "cse-in/u3", "{}"), STORE_OK);
	assert_int_equal(s->ops->rollback_to(s), STORE_OK);
	/* nested, kept */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 2, "u4", "cb", "cse-in/u4", "{}"), STORE_OK);
	assert_int_equal(s->ops->release(s), STORE_OK);
	assert_int_equal(s->ops->release(s), STORE_OK);
	/* after a change: a real savepoint, rolled back alone */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 2, "u5", "cb", "cse-in/u5", "{}"), STORE_OK);
	assert_int_equal(s->ops->remove(s, "u2"), STORE_OK);
	assert_int_equal(s->ops->rollback_to(s), STORE_OK);
	assert_true(exists(s, "u2"));
	/* one more, kept */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 2, "u6", "cb", "cse-in/u6", "{}"), STORE_OK);
	assert_int_equal(s->ops->release(s), STORE_OK);
	assert_int_equal(s->ops->commit(s), STORE_OK);
	/* more ends than units are refused, not passed on to SQLite */
	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(s->ops->release(s), STORE_ERROR);
	assert_int_equal(s->ops->rollback_to(s), STORE_ERROR);
	/* a unit that wrote nothing, rolled back, then a write that commits */
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(s->ops->rollback_to(s), STORE_OK);
	assert_int_equal(put(s, 2, "u7", "cb", "cse-in/u7", "{}"), STORE_OK);
	assert_int_equal(s->ops->commit(s), STORE_OK);

	reopen(fx);
	s = fx->s;
	static const char *const kept[] = { "u2", "u4", "u6", "u7" }, *const gone[] = { "u1", "u3", "u5" };
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!exists(s, kept[i]))
			fail_msg("%s was lost", kept[i]);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (exists(s, gone[i]))
			fail_msg("%s was rolled back but is there", gone[i]);
	collect c;
	assert_int_equal(discover_json(s, "cse-in", "{\"lbl\":[\"x\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "");
}

/* Reads back what the handle wrote: the object read is always what is
   stored, whatever the writer did with its own object after the write,
   and it is the reader's own to change. When nothing stands in the way,
   it is the very object written (no parse). */
static void test_read_back(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	res *w, *r = NULL;

	assert_int_equal(put(s, 3, "cnt", "cb", "cse-in/cnt", "{\"cni\":0,\"lbl\":[\"a\"]}"), STORE_OK);
	/* written, then let go: read back as that very object */
	w = mk(3, "cnt", "cb", "cse-in/cnt", "{\"cni\":1,\"lbl\":[\"a\"]}");
	assert_int_equal(s->ops->update_body(s, w), STORE_OK);
	json_t *written = w->a;
	res_free(&w);
	assert_int_equal(s->ops->get(s, "cnt", &r), STORE_OK);
	assert_ptr_equal(r->a, written);
	assert_int_equal(json_integer_value(json_object_get(r->a, "cni")), 1);

	/* changed after its write: the stored text wins */
	json_object_set_new(r->a, "cni", json_integer(2));
	assert_int_equal(s->ops->update_body(s, r), STORE_OK);
	json_object_set_new(r->a, "cni", json_integer(99));
	res_free(&r);
	assert_int_equal(s->ops->get(s, "cnt", &r), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(r->a, "cni")), 2);

	/* still held by the writer: the reader gets an object of its own */
	assert_int_equal(s->ops->update_body(s, r), STORE_OK);
	res *r2 = NULL;
	assert_int_equal(s->ops->get_path(s, "cse-in/cnt", &r2), STORE_OK);
	assert_true(r2->a != r->a);
	json_object_set_new(r2->a, "cni", json_integer(7));
	assert_int_equal(json_integer_value(json_object_get(r->a, "cni")), 2);
	res_free(&r2);

	/* a part of it still held: likewise */
	assert_int_equal(s->ops->update_body(s, r), STORE_OK);
	json_t *lbl = json_incref(json_object_get(r->a, "lbl"));
	res_free(&r);
	assert_int_equal(s->ops->get(s, "cnt", &r), STORE_OK);
	json_array_append_new(json_object_get(r->a, "lbl"), json_string("b"));
	assert_int_equal(json_array_size(lbl), 1);
	json_decref(lbl);

	/* written, then rolled back: the stored text wins */
	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	json_object_set_new(r->a, "cni", json_integer(3));
	assert_int_equal(s->ops->update_body(s, r), STORE_OK);
	res_free(&r);
	assert_int_equal(s->ops->rollback_to(s), STORE_OK);
	assert_int_equal(s->ops->get(s, "cnt", &r), STORE_OK);
	assert_int_equal(json_integer_value(json_object_get(r->a, "cni")), 2);
	assert_int_equal(s->ops->commit(s), STORE_OK);
	res_free(&r);

	/* an instance (which the store does not keep) reads back as stored */
	assert_int_equal(put(s, 4, "i1", "cnt", "cse-in/cnt/i1", "{\"con\":\"x\"}"), STORE_OK);
	assert_int_equal(s->ops->get(s, "i1", &r), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(r->a, "con")), "x");
	res_free(&r);
}

static int raw_sql(const char *path, const char *sql, const char *count_sql);

/* The store's VFS gathers a commit's WAL writes into one. Other handles
   see every commit as soon as it returns, across WAL restarts and a
   transaction larger than the gathering buffer (which also spills pages
   to the WAL before its commit); SQLite's own VFS reads the same file. */
static void test_wal_writes(void **state)
{
	fixture *fx = *state;
	store *s = fx->s, *rd = NULL;
	res *r = NULL;
	char ri[32], path[64];

	assert_int_equal(store_sqlite_open(fx->path, &rd), STORE_OK);
	for (int i = 0; i < 1500; i++) { /* about 6 frames each: WAL restarts */
		snprintf(ri, sizeof(ri), "a%d", i);
		snprintf(path, sizeof(path), "cse-in/a%d", i);
		assert_int_equal(put(s, 2, ri, "cb", path, "{\"lbl\":[\"w\"]}"), STORE_OK);
		if (rd->ops->get(rd, ri, &r) != STORE_OK)
			fail_msg("commit %d not visible to another handle", i);
		res_free(&r);
	}
	char *big = malloc(3001);
	assert_non_null(big);
	memset(big, 'x', 3000);
	big[3000] = 0;
	json_t *body = json_pack("{s:s}", "con", big);
	char *text = json_dumps(body, JSON_COMPACT);
	assert_int_equal(s->ops->begin(s), STORE_OK);
	for (int i = 0; i < 1500; i++) { /* 4.5 MB: spills, and over 1 MiB */
		snprintf(ri, sizeof(ri), "b%d", i);
		snprintf(path, sizeof(path), "cse-in/a0/b%d", i);
		assert_int_equal(put(s, 4, ri, "a0", path, text), STORE_OK);
	}
	assert_int_equal(s->ops->commit(s), STORE_OK);
	assert_int_equal(s->ops->sync(s), STORE_OK);
	assert_int_equal(rd->ops->get(rd, "b1499", &r), STORE_OK);
	assert_string_equal(json_string_value(json_object_get(r->a, "con")), big);
	res_free(&r);
	free(text);
	json_decref(body);
	free(big);

	assert_int_equal(raw_sql(fx->path, NULL, "SELECT count(*) FROM res"), 3000);
	assert_int_equal(raw_sql(fx->path, NULL, "SELECT count(*) FROM lbl WHERE lbl = 'w'"), 1500);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
	store_close(&rd);
}

static void test_persistence(void **state)
{
	fixture *fx = *state;
	collect c;
	int64_t seq_before;
	res *got = NULL;

	discovery_tree(fx->s);
	assert_int_equal(fx->s->ops->get(fx->s, "ae10", &got), STORE_OK);
	seq_before = got->seq;
	res_free(&got);
	reopen(fx);
	assert_int_equal(discover_json(fx->s, "cse-in", "{\"lbl\":[\"b\"]}", &c), STORE_OK);
	assert_string_equal(c.buf, "cnt1,ae10");
	/* after a reopen, and when the newest row is gone, a new row is still
	   the newest child (seq may be reused then: nothing refers to it) */
	assert_int_equal(fx->s->ops->remove(fx->s, "ae10"), STORE_OK);
	reopen(fx);
	res *r = mk(2, "ae11", "cb", "cse-in/ae11", "{}");
	assert_int_equal(fx->s->ops->insert(fx->s, r), STORE_OK);
	assert_true(r->seq >= seq_before);
	res_free(&r);
	memset(&c, 0, sizeof(c));
	assert_int_equal(fx->s->ops->children(fx->s, "cb", 0, true, 1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "ae11");
}

/* Runs sql on the closed store's file and counts the rows of an optional
   query afterwards (-1 when there is none). */
static int raw_sql(const char *path, const char *sql, const char *count_sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sql)
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	if (count_sql) {
		assert_int_equal(sqlite3_prepare_v2(db, count_sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/* A database of schema 2 (res(pi, seq) and res(ty, path) over every row,
   AUTOINCREMENT) is brought to the current schema when it is opened: both
   indexes leave out the instances, nothing stored is lost and children
   keep their order. */
static void test_migrate_v2(void **state)
{
	fixture *fx = *state;
	collect c;

	assert_int_equal(put(fx->s, 3, "cnt", "ae", "cse-in/ae/cnt", "{}"), STORE_OK);
	assert_int_equal(put(fx->s, 4, "i1", "cnt", "cse-in/ae/cnt/i1", "{}"), STORE_OK);
	assert_int_equal(put(fx->s, 23, "sub", "cnt", "cse-in/ae/cnt/sub", "{}"), STORE_OK);
	assert_int_equal(put(fx->s, 4, "i2", "cnt", "cse-in/ae/cnt/i2", "{}"), STORE_OK);
	store_close(&fx->s);
	raw_sql(fx->path,
	        "DROP INDEX res_pi_seq_ni; CREATE INDEX res_pi_seq ON res (pi, seq);"
	        "DROP INDEX res_ty_path_ni; CREATE INDEX res_ty_path ON res (ty, path); PRAGMA user_version=2;",
	        NULL);
	assert_int_equal(raw_sql(fx->path, NULL, "SELECT count(*) FROM sqlite_master WHERE name = 'res_pi_seq'"), 1);

	assert_int_equal(store_sqlite_open(fx->path, &fx->s), STORE_OK);
	store_close(&fx->s);
	assert_int_equal(raw_sql(fx->path, NULL, "PRAGMA user_version"), 4);
	assert_int_equal(raw_sql(fx->path, NULL,
	                         "SELECT count(*) FROM sqlite_master WHERE name IN ('res_pi_seq', 'res_ty_path')"),
	                 0);
	assert_int_equal(raw_sql(fx->path, NULL,
	                         "SELECT count(*) FROM sqlite_master WHERE name IN ('res_pi_seq_ni', 'res_ty_path_ni')"
	                         " AND sql LIKE '%WHERE ty <> 4'"),
	                 2);
	assert_int_equal(raw_sql(fx->path, NULL, "SELECT count(*) FROM res"), 4);

	reopen(fx);
	assert_int_equal(put(fx->s, 23, "sub2", "cnt", "cse-in/ae/cnt/sub2", "{}"), STORE_OK);
	assert_int_equal(put(fx->s, 4, "i3", "cnt", "cse-in/ae/cnt/i3", "{}"), STORE_OK);
	memset(&c, 0, sizeof(c));
	assert_int_equal(fx->s->ops->children(fx->s, "cnt", 0, false, -1, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "i1,sub,i2,sub2,i3");
	memset(&c, 0, sizeof(c));
	assert_int_equal(fx->s->ops->children(fx->s, "cnt", 0, true, 3, collect_ri, &c), STORE_OK);
	assert_string_equal(c.buf, "i3,sub2,i2");
}

/* A committed write survives kill -9 of the writing process. */
static void test_kill9(void **state)
{
	fixture *fx = *state;
	int fds[2];
	pid_t pid;
	char b;
	res *got = NULL;

	store_close(&fx->s);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store *s = NULL;
		close(fds[0]);
		if (store_sqlite_open(fx->path, &s) != STORE_OK ||
		    put(s, 2, "solo", "cb", "cse-in/solo", "{}") != STORE_OK ||
		    s->ops->begin(s) != STORE_OK ||
		    put(s, 2, "tx", "cb", "cse-in/tx", "{}") != STORE_OK ||
		    s->ops->commit(s) != STORE_OK ||
		    s->ops->begin(s) != STORE_OK ||
		    put(s, 2, "uncommitted", "cb", "cse-in/uncommitted", "{}") != STORE_OK)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &b, 1), 1);
	close(fds[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(store_sqlite_open(fx->path, &fx->s), STORE_OK);
	assert_int_equal(fx->s->ops->get(fx->s, "solo", &got), STORE_OK);
	res_free(&got);
	assert_int_equal(fx->s->ops->get(fx->s, "tx", &got), STORE_OK);
	res_free(&got);
	assert_int_equal(fx->s->ops->get(fx->s, "uncommitted", &got), STORE_NOTFOUND);
}

/* Visitor for the unparsed iterators: rows come with raw text, no attributes. */
static int collect_raw(void *ctx, const res *r)
{
	collect *c = ctx;
	size_t len = strlen(c->buf);

	assert_null(r->a);
	assert_non_null(r->raw);
	snprintf(c->buf + len, sizeof(c->buf) - len, "%s%s", len ? "|" : "", r->raw);
	c->n++;
	return 0;
}

/* The lookups the hot paths use: rows without parsing, request units
   inside a transaction, read snapshots and sync. */
static void test_raw_units_snapshots(void **state)
{
	fixture *fx = *state;
	store *s = fx->s;
	collect c;
	res *r = NULL;
	char *raw = NULL;

	assert_int_equal(put(s, 3, "cnt1", "ae1", "cse-in/ae1/cnt1", "{\"ty\":3,\"rn\":\"cnt1\"}"), STORE_OK);
	assert_int_equal(put(s, 4, "cin1", "cnt1", "cse-in/ae1/cnt1/i1", "{\"ty\":4,\"con\":\"a\"}"), STORE_OK);
	assert_int_equal(put(s, 4, "cin2", "cnt1", "cse-in/ae1/cnt1/i2", "{\"ty\":4,\"con\":\"b\"}"), STORE_OK);

	/* get_path_raw: identity and the stored text, nothing parsed */
	assert_int_equal(s->ops->get_path_raw(s, "cse-in/ae1/cnt1/i2", &r, &raw), STORE_OK);
	assert_null(r->a);
	assert_string_equal(r->ri, "cin2");
	assert_string_equal(r->pi, "cnt1");
	assert_int_equal(r->ty, 4);
	assert_string_equal(raw, "{\"ty\":4,\"con\":\"b\"}");
	res_free(&r);
	free(raw);
	assert_int_equal(s->ops->get_path_raw(s, "cse-in/ae1/nope", &r, &raw), STORE_NOTFOUND);
	assert_null(r);
	assert_null(raw);

	/* children_refs newest first, limit 1 */
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->children_refs(s, "cnt1", 4, true, 1, collect_raw, &c), STORE_OK);
	assert_string_equal(c.buf, "{\"ty\":4,\"con\":\"b\"}");

	/* discover_refs: the same rows as discover, without bodies */
	m2m_filter f;
	char err[128];
	json_t *fc = json_pack("{s:i,s:[i]}", "fu", 1, "ty", 4);
	assert_int_equal(filter_parse(fc, &f, err, sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(s->ops->discover_refs(s, "cse-in/ae1", &f, collect_raw, &c), STORE_OK);
	assert_int_equal(c.n, 2);
	filter_clear(&f);
	json_decref(fc);

	/* a unit rolled back alone inside a transaction that commits */
	assert_int_equal(s->ops->begin(s), STORE_OK);
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 4, "cin3", "cnt1", "cse-in/ae1/cnt1/i3", "{\"ty\":4}"), STORE_OK);
	assert_int_equal(s->ops->release(s), STORE_OK);
	assert_int_equal(s->ops->savepoint(s), STORE_OK);
	assert_int_equal(put(s, 4, "cin4", "cnt1", "cse-in/ae1/cnt1/i4", "{\"ty\":4}"), STORE_OK);
	assert_int_equal(s->ops->rollback_to(s), STORE_OK);
	assert_int_equal(s->ops->commit(s), STORE_OK);
	assert_int_equal(s->ops->sync(s), STORE_OK);
	reopen(fx);
	s = fx->s;
	assert_int_equal(s->ops->get(s, "cin3", &r), STORE_OK);
	res_free(&r);
	assert_int_equal(s->ops->get(s, "cin4", &r), STORE_NOTFOUND);

	/* a read snapshot does not see a commit made through another handle */
	store *w = NULL;
	assert_int_equal(store_sqlite_open(fx->path, &w), STORE_OK);
	assert_int_equal(s->ops->read_begin(s), STORE_OK);
	assert_int_equal(s->ops->get(s, "cin1", &r), STORE_OK);
	res_free(&r);
	assert_int_equal(put(w, 4, "cin5", "cnt1", "cse-in/ae1/cnt1/i5", "{\"ty\":4}"), STORE_OK);
	assert_int_equal(s->ops->get(s, "cin5", &r), STORE_NOTFOUND);
	assert_int_equal(s->ops->read_end(s), STORE_OK);
	assert_int_equal(s->ops->get(s, "cin5", &r), STORE_OK);
	res_free(&r);
	/* no writes inside a snapshot, and no savepoint outside a transaction */
	assert_int_equal(s->ops->savepoint(s), STORE_ERROR);
	store_close(&w);
}

static void test_open_errors(void **state)
{
	store *s = (store *)1;

	(void)state;
	assert_int_equal(store_sqlite_open("/nonexistent-dir/x/y.db", &s), STORE_ERROR);
	assert_null(s);
	assert_int_equal(store_sqlite_open(":memory:", &s), STORE_OK);
	assert_int_equal(put(s, 5, "cb", "", "cse-in", "{}"), STORE_OK);
	store_close(&s);
	store_close(&s); /* NULL is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discover_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_units_snapshots, setup, teardown),
		cmocka_unit_test(test_open_errors),
	};

	log_level = LOG_WARN;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
