/*
 * store_sqlite.c - the resource store on SQLite (the embedded default).
 *
 * Schema (PRAGMA user_version = 4)
 *   res(seq INTEGER PRIMARY KEY,                -- creation order
 *       ri UNIQUE, pi, rn, path UNIQUE, ty, depth,  -- depth = '/' count in path
 *       ct, lt, et, st, cs, cty,                -- copies of attributes, indexed
 *       body)                                   -- the attribute object, compact JSON
 *   lbl(seq -> res.seq ON DELETE CASCADE, lbl, PRIMARY KEY (seq, lbl))
 *   meta(k PRIMARY KEY, v)
 * Indexes: res(pi, ty, seq) for children of one type, and res(pi, seq)
 * WHERE ty <> 4 for the rest: children of any type are the merge, in seq
 * order, of the non-instances (that index) and the instances (pi, 4, seq),
 * so that contentInstances, the rows written most, stay out of one index;
 * res(ty, path) WHERE ty <> 4 for discovery by type: a query for other
 * types says so in its SQL (that is what lets SQLite use a partial index),
 * one that asks for instances scans the path range, where instances are
 * most rows anyway;
 * res(et) WHERE et IS NOT NULL for the reaper; lbl(lbl, seq); the UNIQUE
 * index on path serves structured lookups and subtree range scans:
 * descendants of P are exactly path > P||'/' AND path < P||'0' ('0' is the
 * byte after '/'), which keeps "P0..." and "P-..." siblings out.
 * ct/lt/et hold timestamps normalised by m2m_time_normalize(), so text
 * order is time order and filter bounds compare directly; cty is the media
 * type part of cnf; st/cs are NULL when the resource has none, and NULL
 * never satisfies a comparison, as the filter rules require.
 *
 * Durability: WAL with synchronous=NORMAL. A COMMIT (explicit, or the
 * implicit one of a write outside begin()/commit()) has written its frames
 * to the WAL file when it returns, so it survives kill -9 of the process;
 * sync() then fdatasyncs the WAL through a descriptor of its own, which
 * makes every commit so far survive power loss too. One sync() serves any
 * number of commits (group commit), and it runs on another thread while
 * the handle goes on committing. SQLite syncs the WAL itself before a
 * checkpoint copies frames into the database file.
 *
 * Statements: every fixed statement is prepared once at open with
 * SQLITE_PREPARE_PERSISTENT. Discovery builds SQL text that holds only
 * placeholders (its shape depends on which conditions are present) and
 * keeps up to DISC_CACHE prepared shapes, least recently used evicted.
 * No value is ever written into SQL text.
 *
 * Cost (n rows in res, k results):
 *   get/get_path  one unique-index lookup + JSON parse of the body
 *   insert        one row + its labels + 5..6 index updates (one fewer for an
 *                 instance), in a savepoint
 *   update        lookup by ri, rewrite row, delete+insert labels
 *   remove        one row; labels go by cascade through lbl's primary key
 *   children      index range on (pi[,ty]) in seq order; O(log n + k)
 *   subtree       path range scan, then a sort by depth; O(log n + k log k)
 *   discover      path range, or (ty, path) with one ty other than 4, in path
 *                 (tree) order;
 *                 conditions evaluated in SQL, visitor sees only matches
 *   expired       partial et index range; O(log n + k)
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jdump.h"
#include "log.h"
#include "store_vfs.h"
#include "util.h"

/* 2: discovery index (ty, path); 3: (pi, seq) without instances;
   4: (ty, path) without instances */
#define SCHEMA_VERSION 4
#define STR_(x) #x
#define STR(x) STR_(x)
#define BUSY_TIMEOUT_MS 5000
#define DISC_CACHE 32
#define DISC_MAX_SQL 8192
/* path range (2) + depth (1) + ty/lbl/cty lists + 10 single bounds */
#define DISC_MAX_BINDS (3 + 3 * (int)HL_MAX_FILTER_VALS + 10)

#define RES_COLS "seq, ty, ri, pi, rn, path, body"
/* contentInstance (TY_CIN). The partial index's WHERE and the queries'
   must read alike for SQLite to use the index, hence one spelling. */
#define TY_INSTANCE_N 4
#define TY_INSTANCE STR(TY_INSTANCE_N)
#define NOT_INSTANCE "ty <> " TY_INSTANCE
/* Children of any type: non-instances and instances merged in seq order. */
#define CHILDREN_ANY(dir)                                                                  \
	"SELECT " RES_COLS " FROM res WHERE pi = ?1 AND " NOT_INSTANCE                     \
	" UNION ALL SELECT " RES_COLS " FROM res WHERE pi = ?1 AND ty = " TY_INSTANCE      \
	" ORDER BY seq " dir " LIMIT ?2"

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_BEGIN_READ,
	S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_REQ_SAVEPOINT, S_REQ_RELEASE, S_REQ_ROLLBACK_TO,
	S_GET, S_GET_PATH, S_SEQ_OF,
	S_INSERT, S_UPDATE, S_UPDATE_BODY, S_DELETE,
	S_LBL_INSERT, S_LBL_DELETE,
	S_CHILDREN_ASC, S_CHILDREN_DESC, S_CHILDREN_TY_ASC, S_CHILDREN_TY_DESC,
	S_SUBTREE, S_EXPIRED,
	S_META_GET, S_META_SET,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN DEFERRED",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT hearth_write",
	[S_RELEASE] = "RELEASE hearth_write",
	[S_ROLLBACK_TO] = "ROLLBACK TO hearth_write",
	[S_REQ_SAVEPOINT] = "SAVEPOINT hearth_req",
	[S_REQ_RELEASE] = "RELEASE hearth_req",
	[S_REQ_ROLLBACK_TO] = "ROLLBACK TO hearth_req",
	[S_GET] = "SELECT " RES_COLS " FROM res WHERE ri = ?1",
	[S_GET_PATH] = "SELECT " RES_COLS " FROM res WHERE path = ?1",
	[S_SEQ_OF] = "SELECT seq FROM res WHERE ri = ?1",
	[S_INSERT] = "INSERT INTO res (ri, pi, rn, path, ty, depth, ct, lt, et, st, cs, cty, body)"
	             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_UPDATE] = "UPDATE res SET ct = ?2, lt = ?3, et = ?4, st = ?5, cs = ?6, cty = ?7,"
	             " body = ?8 WHERE seq = ?1",
	[S_UPDATE_BODY] = "UPDATE res SET lt = ?2, st = ?3, body = ?4 WHERE ri = ?1",
	[S_DELETE] = "DELETE FROM res WHERE ri = ?1",
	[S_LBL_INSERT] = "INSERT OR IGNORE INTO lbl (seq, lbl) VALUES (?1, ?2)",
	[S_LBL_DELETE] = "DELETE FROM lbl WHERE seq = ?1",
	[S_CHILDREN_ASC] = CHILDREN_ANY("ASC"),
	[S_CHILDREN_DESC] = CHILDREN_ANY("DESC"),
	[S_CHILDREN_TY_ASC] = "SELECT " RES_COLS " FROM res WHERE pi = ?1 AND ty = ?3"
	                      " ORDER BY seq ASC LIMIT ?2",
	[S_CHILDREN_TY_DESC] = "SELECT " RES_COLS " FROM res WHERE pi = ?1 AND ty = ?3"
	                       " ORDER BY seq DESC LIMIT ?2",
	[S_SUBTREE] = "SELECT " RES_COLS " FROM res WHERE path > ?1 AND path < ?2"
	              " ORDER BY depth DESC, seq DESC",
	[S_EXPIRED] = "SELECT " RES_COLS " FROM res WHERE et IS NOT NULL AND et < ?1"
	              " ORDER BY et LIMIT ?2",
	[S_META_GET] = "SELECT v FROM meta WHERE k = ?1",
	[S_META_SET] = "INSERT INTO meta (k, v) VALUES (?1, ?2)"
	               " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS res ("
	" seq INTEGER PRIMARY KEY,"
	" ri TEXT NOT NULL UNIQUE,"
	" pi TEXT NOT NULL,"
	" rn TEXT NOT NULL,"
	" path TEXT NOT NULL UNIQUE,"
	" ty INTEGER NOT NULL,"
	" depth INTEGER NOT NULL,"
	" ct TEXT, lt TEXT, et TEXT, st INTEGER, cs INTEGER, cty TEXT,"
	" body TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS res_pi_ty_seq ON res (pi, ty, seq);"
	"DROP INDEX IF EXISTS res_pi_seq;"
	"CREATE INDEX IF NOT EXISTS res_pi_seq_ni ON res (pi, seq) WHERE " NOT_INSTANCE ";"
	"DROP INDEX IF EXISTS res_ty_seq;"
	"DROP INDEX IF EXISTS res_ty_path;"
	"CREATE INDEX IF NOT EXISTS res_ty_path_ni ON res (ty, path) WHERE " NOT_INSTANCE ";"
	"CREATE INDEX IF NOT EXISTS res_et ON res (et) WHERE et IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS lbl ("
	" seq INTEGER NOT NULL REFERENCES res (seq) ON DELETE CASCADE,"
	" lbl TEXT NOT NULL,"
	" PRIMARY KEY (seq, lbl)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS lbl_lbl_seq ON lbl (lbl, seq);"
	"CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);";

typedef struct disc_entry {
	char *sql;
	sqlite3_stmt *stmt;
	uint64_t used;   /* LRU clock; 0 = free slot */
} disc_entry;

/* A body this handle wrote: its text and the object it was made from. */
#define WC_SLOTS 8
#define WC_MAX_TEXT 4096
typedef struct wc_entry {
	char *ri;
	char *text;
	size_t len;
	json_t *a;
} wc_entry;

typedef struct sq_store {
	store base;      /* first: a store * is an sq_store * */
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	bool in_tx;
	/* Units (savepoint()) of the open transaction: how many are open, and
	   whether the outermost is bare, i.e. began before anything was
	   written, so that the transaction's own rollback undoes it. */
	int units;
	bool bare;
	sqlite3_int64 changes0; /* sqlite3_total_changes64() at begin */
	wc_entry wc[WC_SLOTS];  /* bodies this handle wrote, parsed */
	int wal_fd;      /* our own descriptor of the WAL file, for sync() */
	char *wal_path;  /* NULL for an in-memory database */
	disc_entry disc[DISC_CACHE];
	uint64_t clock;
} sq_store;

static sq_store *sq(store *s)
{
	return (sq_store *)s;
}

static void log_db(sq_store *q, const char *what, int rc)
{
	log_error("store: %s: %s (%d)", what, q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc), rc);
}

/* Resets a statement after use and drops its bindings, so that no statement
   keeps a read snapshot open and no bound buffer outlives its owner. */
static void done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Runs a statement that returns no rows. */
static int exec_stmt(sq_store *q, enum stmt_id id)
{
	int rc = sqlite3_step(q->st[id]);

	done(q->st[id]);
	if (rc != SQLITE_DONE) {
		log_db(q, stmt_sql[id], rc);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Index columns derived from the attribute object                     */

typedef struct cols {
	char ct[M2M_TIME_LEN], lt[M2M_TIME_LEN], et[M2M_TIME_LEN];
	const char *ctp, *ltp, *etp;   /* NULL when absent */
	bool has_st, has_cs;
	sqlite3_int64 st, cs;
	const char *cty;
	int cty_len;
	char *body;                    /* malloc'd compact JSON */
	size_t body_len;
} cols;

/* A timestamp column: normalised when it parses, else the raw string (the
   core validates timestamps; this only keeps odd data searchable). */
static const char *time_col(const json_t *a, const char *sn, char buf[M2M_TIME_LEN])
{
	const char *v = json_string_value(json_object_get(a, sn));

	if (!v)
		return NULL;
	return m2m_time_normalize(v, buf) == 0 ? buf : v;
}

static int cols_from(const json_t *a, cols *c)
{
	const json_t *v;
	const char *cnf;

	memset(c, 0, sizeof(*c));
	c->ctp = time_col(a, "ct", c->ct);
	c->ltp = time_col(a, "lt", c->lt);
	c->etp = time_col(a, "et", c->et);
	v = json_object_get(a, "st");
	if ((c->has_st = json_is_integer(v)))
		c->st = (sqlite3_int64)json_integer_value(v);
	v = json_object_get(a, "cs");
	if ((c->has_cs = json_is_integer(v)))
		c->cs = (sqlite3_int64)json_integer_value(v);
	cnf = json_string_value(json_object_get(a, "cnf"));
	if (cnf) {
		const char *colon = strchr(cnf, ':');
		size_t len = colon ? (size_t)(colon - cnf) : strlen(cnf);
		if (len > INT_MAX)
			return -1;
		c->cty = cnf;
		c->cty_len = (int)len;
	}
	c->body = jdump(a, &c->body_len);
	return c->body ? 0 : -1;
}

/* Binds ct, lt, et, st, cs, cty, body at consecutive parameters from `first`. */
static int bind_cols(sqlite3_stmt *stmt, int first, const cols *c)
{
	int rc = 0;

	rc |= sqlite3_bind_text(stmt, first, c->ctp, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(stmt, first + 1, c->ltp, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(stmt, first + 2, c->etp, -1, SQLITE_STATIC);
	rc |= c->has_st ? sqlite3_bind_int64(stmt, first + 3, c->st)
	                : sqlite3_bind_null(stmt, first + 3);
	rc |= c->has_cs ? sqlite3_bind_int64(stmt, first + 4, c->cs)
	                : sqlite3_bind_null(stmt, first + 4);
	rc |= sqlite3_bind_text(stmt, first + 5, c->cty, c->cty ? c->cty_len : -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(stmt, first + 6, c->body, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : -1;
}

static int write_labels(sq_store *q, sqlite3_int64 seq, const json_t *a)
{
	const json_t *lbl = json_object_get(a, "lbl");
	sqlite3_stmt *ins = q->st[S_LBL_INSERT];
	size_t i;
	const json_t *e;

	json_array_foreach(lbl, i, e) {
		int rc;
		if (!json_is_string(e))
			continue;
		sqlite3_bind_int64(ins, 1, seq);
		sqlite3_bind_text(ins, 2, json_string_value(e),
		                  (int)json_string_length(e), SQLITE_STATIC);
		rc = sqlite3_step(ins);
		done(ins);
		if (rc != SQLITE_DONE) {
			log_db(q, "insert label", rc);
			return STORE_ERROR;
		}
	}
	return STORE_OK;
}

/* A write of several statements is atomic. Outside a transaction a
   savepoint makes it one; inside the caller's transaction nothing is
   needed: a failed statement undoes itself, and a failure after a partial
   write fails the caller's request, which rolls the whole transaction back. */
static int write_begin(sq_store *q)
{
	return q->in_tx ? STORE_OK : exec_stmt(q, S_SAVEPOINT);
}

static int write_end(sq_store *q, int result)
{
	if (q->in_tx)
		return result;
	if (result == STORE_OK && exec_stmt(q, S_RELEASE) == STORE_OK)
		return STORE_OK;
	/* ROLLBACK TO keeps the savepoint open; RELEASE then ends it. If SQLite
	   already rolled back the transaction both fail; nothing is left open. */
	if (sqlite3_get_autocommit(q->db) == 0) {
		exec_stmt(q, S_ROLLBACK_TO);
		exec_stmt(q, S_RELEASE);
	}
	return result == STORE_OK ? STORE_ERROR : result;
}

/* ------------------------------------------------------------------ */
/* Written bodies                                                      */

/*
 * The writer reads back what it has just written: every create of an
 * instance reads its container, changes cni/cbs/st and writes it again.
 * Parsing that body was a tenth of a create's instructions. So a handle
 * keeps, per written resource (direct-mapped by ri, small bodies only),
 * the text it wrote and a reference to the object it wrote it from. The
 * next read of that resource takes the object instead of parsing, but
 * only if the stored text is still that text (not rolled back), nothing
 * else holds a reference anywhere in the object (so the reader may
 * change it freely), and the object still writes as that text (nobody
 * changed it after the write). Any other case parses, as before.
 */
static unsigned wc_slot(const char *ri)
{
	return util_hash(ri) % WC_SLOTS;
}

static void wc_drop(wc_entry *e)
{
	free(e->ri);
	free(e->text);
	json_decref(e->a);
	memset(e, 0, sizeof(*e));
}

/* Keeps text (taken over) as what r's body was written as. */
static void wc_put(sq_store *q, const res *r, char *text, size_t len)
{
	wc_entry *e = &q->wc[wc_slot(r->ri)];

	wc_drop(e);
	if (len > WC_MAX_TEXT || !(e->ri = strdup(r->ri))) {
		free(text);
		return;
	}
	e->text = text;
	e->len = len;
	e->a = json_incref(r->a);
}

/* No reference to v or to anything in it but one (true, false and null
   are shared constants that cannot change). */
static bool exclusive(const json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_true(v) || json_is_false(v) || json_is_null(v))
		return true;
	if (v->refcount != 1)
		return false;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m)
			if (!exclusive(m))
				return false;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (!exclusive(m))
				return false;
	}
	return true;
}

/* The object ri's stored body (text) was written from, if it may be
   handed out (see above); NULL otherwise. The entry is gone either way. */
static json_t *wc_take(sq_store *q, const char *ri, const char *text, size_t len)
{
	wc_entry *e = &q->wc[wc_slot(ri)];
	json_t *a = NULL;

	if (!e->ri || strcmp(e->ri, ri) != 0)
		return NULL;
	if (e->len == len && memcmp(e->text, text, len) == 0 && exclusive(e->a)) {
		size_t n = 0;
		char *now = jdump(e->a, &n);
		if (now && n == len && memcmp(now, text, len) == 0) {
			a = e->a;
			e->a = NULL;
		}
		free(now);
	}
	wc_drop(e);
	return a;
}

/* Ends a write of r's body c.body (see write_end()); the text is kept as
   r's read-back entry when the write stood and keep is set. */
static int write_done(sq_store *q, const res *r, cols *c, int result, bool keep)
{
	result = write_end(q, result);
	if (result == STORE_OK && keep)
		wc_put(q, r, c->body, c->body_len);
	else
		free(c->body);
	c->body = NULL;
	return result;
}

/* ------------------------------------------------------------------ */
/* Rows to resources                                                   */

static int row_to_res(sq_store *q, sqlite3_stmt *stmt, res **out)
{
	json_error_t jerr;
	const char *body = (const char *)sqlite3_column_text(stmt, 6);
	const char *ri = (const char *)sqlite3_column_text(stmt, 2);
	size_t len = (size_t)sqlite3_column_bytes(stmt, 6);
	json_t *a = NULL;
	res *r;

	*out = NULL;
	if (!body || !ri) {
		log_error("store: row without body");
		return STORE_ERROR;
	}
	a = wc_take(q, ri, body, len);
	/* JSON_ALLOW_NUL: jdump() wrote any NUL inside a string as \u0000 */
	if (!a)
		a = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
	if (!a) {
		log_error("store: corrupt body of %s: %s", ri, jerr.text);
		return STORE_ERROR;
	}
	r = res_new(sqlite3_column_int(stmt, 1),
	            (const char *)sqlite3_column_text(stmt, 2),
	            (const char *)sqlite3_column_text(stmt, 3),
	            (const char *)sqlite3_column_text(stmt, 4),
	            (const char *)sqlite3_column_text(stmt, 5), a);
	json_decref(a);
	if (!r || !r->ri || !r->pi || !r->rn || !r->path) {
		res_free(&r);
		log_error("store: out of memory");
		return STORE_ERROR;
	}
	r->seq = sqlite3_column_int64(stmt, 0);
	*out = r;
	return STORE_OK;
}

/* Steps a bound statement to the end, handing each row to fn; resets it. */
static int visit_rows(sq_store *q, sqlite3_stmt *stmt, store_visit_fn fn, void *ctx)
{
	int result = STORE_OK;

	for (;;) {
		res *r = NULL;
		int rc = sqlite3_step(stmt), v;

		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			log_db(q, sqlite3_sql(stmt), rc);
			result = STORE_ERROR;
			break;
		}
		if (row_to_res(q, stmt, &r) != STORE_OK) {
			result = STORE_ERROR;
			break;
		}
		v = fn(ctx, r);
		res_free(&r);
		if (v != 0) {
			result = v > 0 ? STORE_OK : STORE_ERROR;
			break;
		}
	}
	done(stmt);
	return result;
}

/* As visit_rows, without parsing bodies: the visitor gets ty, ri, pi, rn,
   path, seq and the body text (r->raw), and r->a == NULL. */
static int visit_refs(sq_store *q, sqlite3_stmt *stmt, store_visit_fn fn, void *ctx)
{
	int result = STORE_OK;
	res r;

	memset(&r, 0, sizeof r);
	for (;;) {
		int rc = sqlite3_step(stmt), v;

		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			log_db(q, sqlite3_sql(stmt), rc);
			result = STORE_ERROR;
			break;
		}
		r.seq = sqlite3_column_int64(stmt, 0);
		r.ty = sqlite3_column_int(stmt, 1);
		r.ri = (char *)sqlite3_column_text(stmt, 2);
		r.pi = (char *)sqlite3_column_text(stmt, 3);
		r.rn = (char *)sqlite3_column_text(stmt, 4);
		r.path = (char *)sqlite3_column_text(stmt, 5);
		r.raw = (const char *)sqlite3_column_text(stmt, 6);
		if (!r.ri || !r.pi || !r.rn || !r.path || !r.raw) {
			result = STORE_ERROR;
			break;
		}
		v = fn(ctx, &r);
		if (v != 0) {
			result = v > 0 ? STORE_OK : STORE_ERROR;
			break;
		}
	}
	done(stmt);
	return result;
}

/* Runs a single-row lookup bound on parameter 1. */
static int get_one(sq_store *q, enum stmt_id id, const char *key, res **out)
{
	sqlite3_stmt *stmt = q->st[id];
	int rc, result;

	*out = NULL;
	if (!key)
		return STORE_NOTFOUND;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		result = row_to_res(q, stmt, out);
	} else if (rc == SQLITE_DONE) {
		result = STORE_NOTFOUND;
	} else {
		log_db(q, stmt_sql[id], rc);
		result = STORE_ERROR;
	}
	done(stmt);
	return result;
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */

static int op_get(store *s, const char *ri, res **out)
{
	return get_one(sq(s), S_GET, ri, out);
}

static int op_get_path(store *s, const char *path, res **out)
{
	return get_one(sq(s), S_GET_PATH, path, out);
}

/* get()/get_path() without parsing: the row's identity in *out (a == NULL)
   and its stored attributes as JSON text in *raw (malloc'd). */
static int get_one_raw(sq_store *q, enum stmt_id id, const char *key, res **out, char **raw)
{
	sqlite3_stmt *stmt = q->st[id];
	int rc, result = STORE_OK;

	*out = NULL;
	*raw = NULL;
	if (!key)
		return STORE_NOTFOUND;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(stmt, 6);
		*out = res_new(sqlite3_column_int(stmt, 1), (const char *)sqlite3_column_text(stmt, 2),
		               (const char *)sqlite3_column_text(stmt, 3),
		               (const char *)sqlite3_column_text(stmt, 4),
		               (const char *)sqlite3_column_text(stmt, 5), NULL);
		*raw = body ? strdup(body) : NULL;
		if (!*out || !*raw) {
			res_free(out);
			free(*raw);
			*raw = NULL;
			result = STORE_ERROR;
		} else {
			(*out)->seq = sqlite3_column_int64(stmt, 0);
		}
	} else if (rc == SQLITE_DONE) {
		result = STORE_NOTFOUND;
	} else {
		log_db(q, stmt_sql[id], rc);
		result = STORE_ERROR;
	}
	done(stmt);
	return result;
}

static int op_get_path_raw(store *s, const char *path, res **out, char **raw)
{
	return get_one_raw(sq(s), S_GET_PATH, path, out, raw);
}

static int op_get_raw(store *s, const char *ri, res **out, char **raw)
{
	return get_one_raw(sq(s), S_GET, ri, out, raw);
}

static int path_depth(const char *path)
{
	int d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int op_insert(store *s, res *r)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_INSERT];
	cols c;
	int rc, result;
	sqlite3_int64 seq = 0;

	if (!r || !r->ri || !r->pi || !r->rn || !r->path || !json_is_object(r->a)) {
		log_error("store: insert of an incomplete resource");
		return STORE_ERROR;
	}
	if (cols_from(r->a, &c) < 0) {
		log_error("store: cannot serialise %s", r->ri);
		free(c.body);
		return STORE_ERROR;
	}
	if (write_begin(q) != STORE_OK) {
		free(c.body);
		return STORE_ERROR;
	}
	sqlite3_bind_text(stmt, 1, r->ri, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, r->pi, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, r->rn, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, r->path, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 5, r->ty);
	sqlite3_bind_int(stmt, 6, path_depth(r->path));
	if (bind_cols(stmt, 7, &c) < 0) {
		log_db(q, "bind insert", SQLITE_ERROR);
		rc = SQLITE_ERROR;
	} else {
		rc = sqlite3_step(stmt);
	}
	if (rc == SQLITE_DONE) {
		seq = sqlite3_last_insert_rowid(q->db);
		result = STORE_OK;
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		result = STORE_CONFLICT;
	} else {
		log_db(q, "insert", rc);
		result = STORE_ERROR;
	}
	done(stmt);
	if (result == STORE_OK)
		result = write_labels(q, seq, r->a);
	/* instances are seldom read back by the writer: no entry */
	result = write_done(q, r, &c, result, r->ty != TY_INSTANCE_N);
	if (result == STORE_OK)
		r->seq = (int64_t)seq;
	return result;
}

static int seq_of(sq_store *q, const char *ri, sqlite3_int64 *seq)
{
	sqlite3_stmt *stmt = q->st[S_SEQ_OF];
	int rc, result;

	sqlite3_bind_text(stmt, 1, ri, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(stmt, 0);
		result = STORE_OK;
	} else if (rc == SQLITE_DONE) {
		result = STORE_NOTFOUND;
	} else {
		log_db(q, "look up seq", rc);
		result = STORE_ERROR;
	}
	done(stmt);
	return result;
}

/* Common start of an update: r complete, its columns and body made, the
   unit of change begun. On failure nothing is left to free. */
static int update_begin(sq_store *q, const res *r, cols *c)
{
	if (!r || !r->ri || !json_is_object(r->a)) {
		log_error("store: update of an incomplete resource");
		return STORE_ERROR;
	}
	if (cols_from(r->a, c) < 0) {
		log_error("store: cannot serialise %s", r->ri);
		free(c->body);
		return STORE_ERROR;
	}
	if (write_begin(q) != STORE_OK) {
		free(c->body);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int op_update(store *s, const res *r)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_UPDATE];
	sqlite3_stmt *del = q->st[S_LBL_DELETE];
	sqlite3_int64 seq;
	cols c;
	int rc, result;

	if (update_begin(q, r, &c) != STORE_OK)
		return STORE_ERROR;
	result = seq_of(q, r->ri, &seq);
	if (result == STORE_OK) {
		sqlite3_bind_int64(stmt, 1, seq);
		rc = bind_cols(stmt, 2, &c) < 0 ? SQLITE_ERROR : sqlite3_step(stmt);
		done(stmt);
		if (rc != SQLITE_DONE) {
			log_db(q, "update", rc);
			result = STORE_ERROR;
		}
	}
	if (result == STORE_OK) {
		sqlite3_bind_int64(del, 1, seq);
		rc = sqlite3_step(del);
		done(del);
		if (rc != SQLITE_DONE) {
			log_db(q, "delete labels", rc);
			result = STORE_ERROR;
		}
	}
	if (result == STORE_OK)
		result = write_labels(q, seq, r->a);
	return write_done(q, r, &c, result, true);
}

static int op_update_body(store *s, const res *r)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_UPDATE_BODY];
	cols c;
	int rc, result = STORE_OK;

	if (update_begin(q, r, &c) != STORE_OK)
		return STORE_ERROR;
	int brc = sqlite3_bind_text(stmt, 1, r->ri, -1, SQLITE_STATIC);
	brc |= sqlite3_bind_text(stmt, 2, c.ltp, -1, SQLITE_STATIC);
	brc |= c.has_st ? sqlite3_bind_int64(stmt, 3, c.st) : sqlite3_bind_null(stmt, 3);
	brc |= sqlite3_bind_text(stmt, 4, c.body, -1, SQLITE_STATIC);
	rc = brc != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		log_db(q, "update", rc);
		result = STORE_ERROR;
	} else if (sqlite3_changes(q->db) != 1) {
		result = STORE_NOTFOUND;
	}
	done(stmt);
	return write_done(q, r, &c, result, true);
}

static int op_remove(store *s, const char *ri)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_DELETE];
	int rc;

	if (!ri)
		return STORE_NOTFOUND;
	sqlite3_bind_text(stmt, 1, ri, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	done(stmt);
	if (rc != SQLITE_DONE) {
		log_db(q, "delete", rc);
		return STORE_ERROR;
	}
	return sqlite3_changes(q->db) > 0 ? STORE_OK : STORE_NOTFOUND;
}

static int children_impl(store *s, const char *pi, int ty, bool desc, long limit,
                         store_visit_fn fn, void *ctx, bool bodies)
{
	sq_store *q = sq(s);
	enum stmt_id id;
	sqlite3_stmt *stmt;

	if (!pi || !fn)
		return STORE_ERROR;
	if (ty)
		id = desc ? S_CHILDREN_TY_DESC : S_CHILDREN_TY_ASC;
	else
		id = desc ? S_CHILDREN_DESC : S_CHILDREN_ASC;
	stmt = q->st[id];
	sqlite3_bind_text(stmt, 1, pi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, limit < 0 ? -1 : (sqlite3_int64)limit);
	if (ty)
		sqlite3_bind_int(stmt, 3, ty);
	return bodies ? visit_rows(q, stmt, fn, ctx) : visit_refs(q, stmt, fn, ctx);
}

static int op_children(store *s, const char *pi, int ty, bool desc, long limit,
                       store_visit_fn fn, void *ctx)
{
	return children_impl(s, pi, ty, desc, limit, fn, ctx, true);
}

static int op_children_refs(store *s, const char *pi, int ty, bool desc, long limit,
                            store_visit_fn fn, void *ctx)
{
	return children_impl(s, pi, ty, desc, limit, fn, ctx, false);
}

/* Bounds of the subtree range: lo = path "/", hi = path "0". */
static int subtree_bounds(const char *path, char **lo, char **hi)
{
	size_t n = strlen(path);

	*lo = malloc(n + 2);
	*hi = malloc(n + 2);
	if (!*lo || !*hi) {
		free(*lo);
		free(*hi);
		*lo = *hi = NULL;
		return -1;
	}
	memcpy(*lo, path, n);
	memcpy(*hi, path, n);
	(*lo)[n] = '/';
	(*hi)[n] = '/' + 1;
	(*lo)[n + 1] = (*hi)[n + 1] = '\0';
	return 0;
}

static int op_subtree(store *s, const char *path, store_visit_fn fn, void *ctx)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_SUBTREE];
	char *lo, *hi;
	int result;

	if (!path || !fn)
		return STORE_ERROR;
	if (subtree_bounds(path, &lo, &hi) < 0) {
		log_error("store: out of memory");
		return STORE_ERROR;
	}
	sqlite3_bind_text(stmt, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hi, -1, SQLITE_STATIC);
	result = visit_rows(q, stmt, fn, ctx);
	free(lo);
	free(hi);
	return result;
}

static int op_expired(store *s, const char *now, long limit, store_visit_fn fn, void *ctx)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_EXPIRED];
	char norm[M2M_TIME_LEN];

	if (!now || !fn)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, m2m_time_normalize(now, norm) == 0 ? norm : now,
	                  -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, limit < 0 ? -1 : (sqlite3_int64)limit);
	return visit_rows(q, stmt, fn, ctx);
}

static int op_meta_get(store *s, const char *key, char **out)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_META_GET];
	int rc, result;

	*out = NULL;
	if (!key)
		return STORE_NOTFOUND;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(stmt, 0);
		*out = strdup(v ? v : "");
		result = *out ? STORE_OK : STORE_ERROR;
		if (!*out)
			log_error("store: out of memory");
	} else if (rc == SQLITE_DONE) {
		result = STORE_NOTFOUND;
	} else {
		log_db(q, "meta get", rc);
		result = STORE_ERROR;
	}
	done(stmt);
	return result;
}

static int op_meta_set(store *s, const char *key, const char *val)
{
	sq_store *q = sq(s);
	sqlite3_stmt *stmt = q->st[S_META_SET];
	int rc;

	if (!key || !val)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, val, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	done(stmt);
	if (rc != SQLITE_DONE) {
		log_db(q, "meta set", rc);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Transactions                                                        */

/* Open a transaction with statement id (BEGIN IMMEDIATE or DEFERRED). */
static int tx_open(sq_store *q, enum stmt_id id, const char *what)
{
	if (q->in_tx) {
		log_error("store: %s inside a transaction", what);
		return STORE_ERROR;
	}
	if (exec_stmt(q, id) != STORE_OK)
		return STORE_ERROR;
	q->in_tx = true;
	q->units = 0;
	q->bare = false;
	q->changes0 = sqlite3_total_changes64(q->db);
	return STORE_OK;
}

/* End whatever transaction is open with statement id; none open (e.g.
   SQLite already rolled it back after an I/O error) is not an error. */
static int tx_close(sq_store *q, enum stmt_id id)
{
	int result = STORE_OK;

	if (q->in_tx && !sqlite3_get_autocommit(q->db))
		result = exec_stmt(q, id);
	q->in_tx = false;
	return result;
}

static int op_begin(store *s)
{
	return tx_open(sq(s), S_BEGIN, "begin");
}

static int op_commit(store *s)
{
	sq_store *q = sq(s);
	int result;

	if (!q->in_tx) {
		log_error("store: commit without begin");
		return STORE_ERROR;
	}
	result = exec_stmt(q, S_COMMIT);
	/* A failed COMMIT may leave the transaction open (the caller then
	   calls rollback) or SQLite may have rolled it back already. */
	if (result == STORE_OK || sqlite3_get_autocommit(q->db))
		q->in_tx = false;
	return result;
}

static int op_rollback(store *s)
{
	return tx_close(sq(s), S_ROLLBACK);
}

/* One read snapshot for several lookups: the WAL read lock is taken once,
   and every lookup of the request sees the same committed state. */
static int op_read_begin(store *s)
{
	return tx_open(sq(s), S_BEGIN_READ, "read_begin");
}

static int op_read_end(store *s)
{
	return tx_close(sq(s), S_COMMIT);
}

/*
 * Units: nested inside the open transaction, so that one request's
 * changes can be undone alone while the transaction it joined goes on.
 * A SAVEPOINT makes SQLite copy every page the unit changes into a
 * statement journal before changing it (8 pages, 32 KiB, for a create),
 * so that ROLLBACK TO can restore it. The first unit of a transaction
 * that has written nothing yet needs none of that: undoing it is undoing
 * the transaction, which WAL does by dropping the changed pages. Such a
 * unit stays bare; its rollback_to() rolls the transaction back and
 * begins it again. Units that nest in it, or come after a change, are
 * real savepoints. With one request per batch (one connection), no
 * savepoint is taken at all.
 */
static int op_savepoint(store *s)
{
	sq_store *q = sq(s);

	if (!q->in_tx) {
		log_error("store: savepoint outside a transaction");
		return STORE_ERROR;
	}
	if (q->units == 0 && sqlite3_total_changes64(q->db) == q->changes0) {
		q->units = 1;
		q->bare = true;
		return STORE_OK;
	}
	if (exec_stmt(q, S_REQ_SAVEPOINT) != STORE_OK)
		return STORE_ERROR;
	q->units++;
	return STORE_OK;
}

static bool bare_unit(const sq_store *q)
{
	return q->bare && q->units == 1;
}

static int op_release(store *s)
{
	sq_store *q = sq(s);

	if (q->units <= 0) {
		log_error("store: release without a savepoint");
		return STORE_ERROR;
	}
	if (bare_unit(q)) {
		q->units = 0;
		q->bare = false;
		return STORE_OK;
	}
	q->units--;
	return exec_stmt(q, S_REQ_RELEASE);
}

static int op_rollback_to(store *s)
{
	sq_store *q = sq(s);

	if (q->units <= 0) {
		log_error("store: rollback_to without a savepoint");
		return STORE_ERROR;
	}
	if (sqlite3_get_autocommit(q->db)) {
		q->in_tx = false;
		return STORE_ERROR; /* the whole transaction is gone */
	}
	if (bare_unit(q)) {
		/* nothing but this unit was written: the transaction goes, and
		   a new one takes its place for the rest of the batch */
		tx_close(q, S_ROLLBACK);
		return tx_open(q, S_BEGIN, "begin");
	}
	q->units--;
	if (exec_stmt(q, S_REQ_ROLLBACK_TO) != STORE_OK)
		return STORE_ERROR;
	return exec_stmt(q, S_REQ_RELEASE);
}

/* Make every committed transaction durable: fdatasync the WAL file.
   Thread-safe against the handle's own use; only one sync() at a time. */
static int op_sync(store *s)
{
	sq_store *q = sq(s);

	if (q->wal_fd < 0) {
		if (!q->wal_path)
			return STORE_OK; /* in-memory database: nothing to sync */
		q->wal_fd = open(q->wal_path, O_RDONLY | O_CLOEXEC);
		if (q->wal_fd < 0) {
			log_error("store: open %s: %s", q->wal_path, strerror(errno));
			return STORE_ERROR;
		}
	}
	if (fdatasync(q->wal_fd) != 0) {
		log_error("store: fdatasync %s: %s", q->wal_path, strerror(errno));
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Discovery                                                           */

typedef struct bindv {
	const char *text;    /* NULL: an integer */
	sqlite3_int64 i;
} bindv;

typedef struct qbuf {
	char sql[DISC_MAX_SQL];
	size_t len;
	bool overflow;
	bindv b[DISC_MAX_BINDS];
	int nb;
	unsigned nconds;
	const char *join;    /* " AND " or " OR " */
} qbuf;

static void q_add(qbuf *qb, const char *text)
{
	size_t n = strlen(text);

	if (qb->overflow || qb->len + n >= sizeof(qb->sql)) {
		qb->overflow = true;
		return;
	}
	memcpy(qb->sql + qb->len, text, n + 1);
	qb->len += n;
}

static void q_bind_text(qbuf *qb, const char *v)
{
	if (qb->nb >= DISC_MAX_BINDS) {
		qb->overflow = true;
		return;
	}
	qb->b[qb->nb].text = v;
	qb->b[qb->nb].i = 0;
	qb->nb++;
	q_add(qb, "?");
}

static void q_bind_int(qbuf *qb, sqlite3_int64 v)
{
	if (qb->nb >= DISC_MAX_BINDS) {
		qb->overflow = true;
		return;
	}
	qb->b[qb->nb].text = NULL;
	qb->b[qb->nb].i = v;
	qb->nb++;
	q_add(qb, "?");
}

/* Starts one condition tag inside the combined parenthesis. */
static void q_cond(qbuf *qb)
{
	q_add(qb, qb->nconds++ ? qb->join : " AND (");
}

static void q_time(qbuf *qb, const char *col, const char *op, const char *bound)
{
	if (!bound[0])
		return;
	q_cond(qb);
	q_add(qb, col);
	q_add(qb, op);
	q_bind_text(qb, bound);
}

static void q_int(qbuf *qb, const char *col, const char *op, bool has, int64_t bound)
{
	if (!has)
		return;
	q_cond(qb);
	q_add(qb, col);
	q_add(qb, op);
	q_bind_int(qb, (sqlite3_int64)bound);
}

static void q_text_list(qbuf *qb, char *const *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			q_add(qb, ", ");
		q_bind_text(qb, v[i]);
	}
}

static void build_discovery(qbuf *qb, const m2m_filter *f, const char *lo,
                            const char *hi, long maxdepth)
{
	q_add(qb, "SELECT " RES_COLS " FROM res WHERE path > ");
	q_bind_text(qb, lo);
	q_add(qb, " AND path < ");
	q_bind_text(qb, hi);
	if (maxdepth >= 0) {
		q_add(qb, " AND depth <= ");
		q_bind_int(qb, maxdepth);
	}
	qb->join = f->fo == 2 ? " OR " : " AND ";
	/* Types that are all other than instances: said as a constant, so that
	   the partial (ty, path) index qualifies. Under fo=AND the ty condition
	   already implies it, so the result is the same. */
	if (f->nty && f->fo != 2) {
		unsigned i = 0;
		while (i < f->nty && f->ty[i] != TY_INSTANCE_N)
			i++;
		if (i == f->nty)
			q_add(qb, " AND " NOT_INSTANCE);
	}
	/* fo=OR with atr: a resource may qualify by atr alone, which SQL does
	   not evaluate, so every candidate goes to the caller's filter_match(). */
	if (!(f->fo == 2 && json_array_size(f->atr) > 0)) {
		if (f->nty) {
			q_cond(qb);
			q_add(qb, "ty IN (");
			for (unsigned i = 0; i < f->nty; i++) {
				if (i)
					q_add(qb, ", ");
				q_bind_int(qb, f->ty[i]);
			}
			q_add(qb, ")");
		}
		if (f->nlbl) {
			q_cond(qb);
			q_add(qb, "EXISTS (SELECT 1 FROM lbl WHERE lbl.seq = res.seq AND lbl.lbl IN (");
			q_text_list(qb, f->lbl, f->nlbl);
			q_add(qb, "))");
		}
		if (f->ncty) {
			q_cond(qb);
			q_add(qb, "cty IN (");
			q_text_list(qb, f->cty, f->ncty);
			q_add(qb, ")");
		}
		q_time(qb, "ct", " < ", f->crb);
		q_time(qb, "ct", " >= ", f->cra);
		q_time(qb, "lt", " >= ", f->ms);
		q_time(qb, "lt", " < ", f->us);
		q_time(qb, "et", " < ", f->exb);
		q_time(qb, "et", " >= ", f->exa);
		q_int(qb, "st", " < ", f->has_sts, f->sts);
		q_int(qb, "st", " >= ", f->has_stb, f->stb);
		q_int(qb, "cs", " >= ", f->has_sza, f->sza);
		q_int(qb, "cs", " < ", f->has_szb, f->szb);
		if (qb->nconds)
			q_add(qb, ")");
	}
	/* tree order: a subtree is a path range, so with one ty the (ty, path)
	   index streams matches in order and the caller's lim stops the scan */
	q_add(qb, " ORDER BY path ASC");
}

/* The prepared statement for this SQL shape, from the cache or new. */
static sqlite3_stmt *disc_stmt(sq_store *q, const char *sql)
{
	disc_entry *victim = &q->disc[0];
	sqlite3_stmt *stmt = NULL;
	char *copy;
	int rc;

	for (int i = 0; i < DISC_CACHE; i++) {
		disc_entry *e = &q->disc[i];
		if (e->used && strcmp(e->sql, sql) == 0) {
			e->used = ++q->clock;
			return e->stmt;
		}
		if (e->used < victim->used)
			victim = e;
	}
	rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
	if (rc != SQLITE_OK) {
		log_db(q, "prepare discovery", rc);
		return NULL;
	}
	copy = strdup(sql);
	if (!copy) {
		log_error("store: out of memory");
		sqlite3_finalize(stmt);
		return NULL;
	}
	if (victim->used) {
		sqlite3_finalize(victim->stmt);
		free(victim->sql);
	}
	victim->sql = copy;
	victim->stmt = stmt;
	victim->used = ++q->clock;
	return stmt;
}

static int discover_impl(store *s, const char *root_path, const m2m_filter *f,
                         store_visit_fn fn, void *ctx, bool bodies)
{
	sq_store *q = sq(s);
	qbuf *qb = NULL;
	char *lo = NULL, *hi = NULL;
	sqlite3_stmt *stmt;
	int result = STORE_ERROR;
	long maxdepth = -1;

	if (!root_path || !f || !fn)
		return STORE_ERROR;
	if (f->lvl >= 0)
		maxdepth = f->lvl > LONG_MAX - path_depth(root_path)
		           ? -1 : path_depth(root_path) + f->lvl;
	qb = calloc(1, sizeof(*qb));
	if (!qb || subtree_bounds(root_path, &lo, &hi) < 0) {
		log_error("store: out of memory");
		goto out;
	}
	build_discovery(qb, f, lo, hi, maxdepth);
	if (qb->overflow) {
		log_error("store: discovery query too large");
		goto out;
	}
	stmt = disc_stmt(q, qb->sql);
	if (!stmt)
		goto out;
	for (int i = 0; i < qb->nb; i++) {
		int rc = qb->b[i].text
		         ? sqlite3_bind_text(stmt, i + 1, qb->b[i].text, -1, SQLITE_STATIC)
		         : sqlite3_bind_int64(stmt, i + 1, qb->b[i].i);
		if (rc != SQLITE_OK) {
			log_db(q, "bind discovery", rc);
			done(stmt);
			goto out;
		}
	}
	result = bodies ? visit_rows(q, stmt, fn, ctx) : visit_refs(q, stmt, fn, ctx);
out:
	free(lo);
	free(hi);
	free(qb);
	return result;
}

static int op_discover(store *s, const char *root_path, const m2m_filter *f,
                       store_visit_fn fn, void *ctx)
{
	return discover_impl(s, root_path, f, fn, ctx, true);
}

static int op_discover_refs(store *s, const char *root_path, const m2m_filter *f,
                            store_visit_fn fn, void *ctx)
{
	return discover_impl(s, root_path, f, fn, ctx, false);
}

/* ------------------------------------------------------------------ */
/* Open / close                                                        */

static void op_close(store *s)
{
	sq_store *q = sq(s);
	int rc;

	if (!q)
		return;
	for (int i = 0; i < DISC_CACHE; i++) {
		if (q->disc[i].used) {
			sqlite3_finalize(q->disc[i].stmt);
			free(q->disc[i].sql);
		}
	}
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	for (int i = 0; i < WC_SLOTS; i++)
		wc_drop(&q->wc[i]);
	/* An open transaction is rolled back by the close. */
	rc = sqlite3_close(q->db);
	if (rc != SQLITE_OK)
		log_error("store: close: %s (%d)", sqlite3_errstr(rc), rc);
	if (q->wal_fd >= 0)
		close(q->wal_fd);
	free(q->wal_path);
	free(q);
}

static const store_ops sqlite_ops = {
	.close = op_close,
	.begin = op_begin,
	.commit = op_commit,
	.rollback = op_rollback,
	.sync = op_sync,
	.read_begin = op_read_begin,
	.savepoint = op_savepoint,
	.release = op_release,
	.rollback_to = op_rollback_to,
	.read_end = op_read_end,
	.get = op_get,
	.get_path = op_get_path,
	.insert = op_insert,
	.update = op_update,
	.update_body = op_update_body,
	.remove = op_remove,
	.children = op_children,
	.subtree = op_subtree,
	.discover = op_discover,
	.discover_refs = op_discover_refs,
	.get_path_raw = op_get_path_raw,
	.get_raw = op_get_raw,
	.children_refs = op_children_refs,
	.expired = op_expired,
	.meta_get = op_meta_get,
	.meta_set = op_meta_set,
};

/* Reads PRAGMA user_version. */
static int user_version(sq_store *q, int *v)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &stmt, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		log_db(q, "PRAGMA user_version", rc);
		return -1;
	}
	return 0;
}

static int exec_sql(sq_store *q, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("store: %s: %s (%d)", sql, msg ? msg : sqlite3_errstr(rc), rc);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int journal_wal(sq_store *q, const char *path)
{
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	int ok = -1;

	if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);
		ok = 0;
		if (!mode || strcmp(mode, "wal") != 0) {
			/* an in-memory database has no journal file to speak of */
			if (strcmp(path, ":memory:") != 0 && path[0] != '\0')
				log_warn("store: %s: journal mode is %s, not WAL", path,
				         mode ? mode : "?");
		}
	} else {
		log_db(q, "PRAGMA journal_mode", rc);
	}
	sqlite3_finalize(stmt);
	return ok;
}

static int setup(sq_store *q, const char *path)
{
	int v = 0;

	sqlite3_extended_result_codes(q->db, 1);
	if (sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    journal_wal(q, path) < 0 ||
	    exec_sql(q, "PRAGMA synchronous=NORMAL") < 0 ||
	    exec_sql(q, "PRAGMA foreign_keys=ON") < 0 ||
	    exec_sql(q, "PRAGMA temp_store=MEMORY") < 0 ||
	    user_version(q, &v) < 0)
		return -1;
	if (v > SCHEMA_VERSION) {
		log_error("store: %s: schema version %d is newer than this program's %d",
		          path, v, SCHEMA_VERSION);
		return -1;
	}
	if (v < SCHEMA_VERSION) {
		if (exec_sql(q, "BEGIN IMMEDIATE") < 0)
			return -1;
		if (exec_sql(q, schema_sql) < 0 ||
		    exec_sql(q, "PRAGMA user_version=" STR(SCHEMA_VERSION)) < 0 ||
		    exec_sql(q, "COMMIT") < 0) {
			exec_sql(q, "ROLLBACK");
			return -1;
		}
	}
	for (int i = 0; i < S_COUNT; i++) {
		int rc = sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &q->st[i], NULL);
		if (rc != SQLITE_OK) {
			log_db(q, stmt_sql[i], rc);
			return -1;
		}
	}
	return 0;
}

/* Process-wide settings, before SQLite initialises itself. Memory
   statistics off: with them every allocation of every connection takes one
   global mutex, and nothing here reads the statistics. (When the process
   already initialised SQLite elsewhere, sqlite3_config() refuses and the
   defaults stay: still correct.) */
static const char *store_vfs; /* NULL: SQLite's default */

static void sqlite_once(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	int rc = store_vfs_register();
	if (rc == SQLITE_OK)
		store_vfs = STORE_VFS_NAME;
	else
		log_warn("store: the WAL-gathering VFS is not available (%d); SQLite's default serves", rc);
}

int store_sqlite_open(const char *path, store **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sq_store *q;
	int rc;

	pthread_once(&once, sqlite_once);
	if (!out)
		return STORE_ERROR;
	*out = NULL;
	if (!path)
		return STORE_ERROR;
	q = calloc(1, sizeof(*q));
	if (!q) {
		log_error("store: out of memory");
		return STORE_ERROR;
	}
	q->base.ops = &sqlite_ops;
	q->wal_fd = -1;
	if (strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
		size_t n = strlen(path) + 5;
		q->wal_path = malloc(n);
		if (!q->wal_path) {
			free(q);
			return STORE_ERROR;
		}
		snprintf(q->wal_path, n, "%s-wal", path);
	}
	rc = sqlite3_open_v2(path, &q->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                     store_vfs);
	if (rc != SQLITE_OK) {
		log_error("store: open %s: %s (%d)", path,
		          q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc), rc);
		op_close(&q->base);
		return STORE_ERROR;
	}
	if (setup(q, path) < 0) {
		op_close(&q->base);
		return STORE_ERROR;
	}
	*out = &q->base;
	return STORE_OK;
}
