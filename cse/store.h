/*
 * store.h - the resource store interface.
 *
 * The core talks to storage only through these calls; SQLite (store_sqlite.c)
 * is the embedded default and PostgreSQL will implement the same table of
 * operations. A store is used by one thread at a time (the core serialises
 * access); implementations need no locking of their own.
 *
 * Durability contract: once commit() returns STORE_OK, the changes survive a
 * kill -9 of the process; once a later sync() returns STORE_OK, they also
 * survive a power loss. Outside begin()/commit() every write is its own
 * transaction. Committed changes are visible to other handles before
 * sync(): the core holds its answers until sync() (group commit).
 *
 * Return codes: STORE_OK (0), STORE_NOTFOUND, STORE_CONFLICT (unique path or
 * ri already present), STORE_ERROR (I/O or internal; logged by the store).
 *
 * Ownership: get*() hand a new res to the caller (free with res_free()).
 * A visitor gets a borrowed res, valid only during the call (res_dup() it to
 * keep it); it returns 0 to go on, 1 to stop early (the iterator then
 * returns STORE_OK), or <0 to abort (the iterator returns STORE_ERROR).
 * A visitor may call get() and get_path() (lookups), but no iterator and
 * no write: the iteration's statement stays active during the call.
 *
 * Concurrency: a store handle is used by one thread at a time. Several
 * handles may be open on one database file: the core reads through
 * per-thread handles while one writer handle holds the transaction; a
 * reader sees only committed data.
 */
#ifndef HEARTH_STORE_H
#define HEARTH_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "res.h"
#include "filter.h"

enum { STORE_OK = 0, STORE_NOTFOUND = 1, STORE_CONFLICT = 2, STORE_ERROR = -1 };

typedef int (*store_visit_fn)(void *ctx, const res *r);

typedef struct store store;

typedef struct store_ops {
	void (*close)(store *s);
	/* begin inside a transaction is STORE_ERROR (no nesting). After a
	   failed commit call rollback. rollback without an open transaction
	   is STORE_OK. close rolls back a transaction left open. */
	int (*begin)(store *s);
	int (*commit)(store *s);
	int (*rollback)(store *s);
	/* Make every commit so far survive power loss (see the durability
	   contract). May run on another thread while the handle is in use;
	   one sync() at a time. */
	int (*sync)(store *s);
	/* Inside begin()/commit(): a nested unit that rollback_to() undoes
	   alone (and ends) and release() keeps (and ends). Units nest. */
	int (*savepoint)(store *s);
	int (*release)(store *s);
	int (*rollback_to)(store *s);
	/* A read-only snapshot around several lookups (no writes inside). */
	int (*read_begin)(store *s);
	int (*read_end)(store *s);

	int (*get)(store *s, const char *ri, res **out);
	int (*get_path)(store *s, const char *path, res **out);
	/* Insert a new resource; assigns r->seq. STORE_CONFLICT when ri or path exists. */
	int (*insert)(store *s, res *r);
	/* Replace the stored attributes of r->ri (ri, pi, path, ty never change). */
	int (*update)(store *s, const res *r);
	/* The same when only lt, st and unindexed attributes changed (ct, et,
	   cs, cnf and lbl are as stored): a container's counters after a
	   create or delete of an instance. Cheaper: one statement, no index
	   or label rewritten. */
	int (*update_body)(store *s, const res *r);
	/* Delete one resource row (not its descendants). */
	int (*remove)(store *s, const char *ri);

	/* Direct children of pi, oldest first (or newest first when desc);
	   ty 0 = any type. limit < 0 = no limit. */
	int (*children)(store *s, const char *pi, int ty, bool desc, long limit,
	                store_visit_fn fn, void *ctx);
	/* Every descendant of path (not path itself), deepest first, so that a
	   caller may delete in visiting order. */
	int (*subtree)(store *s, const char *path, store_visit_fn fn, void *ctx);
	/* Discovery: descendants of root_path (not root itself), in tree
	   order (a parent before its children, siblings by name), matching the indexed conditions of f (ty, lbl, cra/crb, ms/us,
	   sts/stb, exa/exb, sza/szb, cty, combined by f->fo) and at most
	   f->lvl levels below root (lvl < 0: any). lim/ofst/atr are left to the
	   caller, which applies access control first. When f->fo is OR and
	   f->atr is set the store applies no condition (the caller then
	   evaluates filter_match() itself). */
	int (*discover)(store *s, const char *root_path, const m2m_filter *f,
	                store_visit_fn fn, void *ctx);
	/* get_path()/get() without parsing: *out carries ty, ri, pi, rn, path
	   and seq with a == NULL; *raw the stored attributes as JSON text
	   (malloc'd). */
	int (*get_path_raw)(store *s, const char *path, res **out, char **raw);
	int (*get_raw)(store *s, const char *ri, res **out, char **raw);
	/* children() without parsing: r->a is NULL and r->raw holds the
	   stored attributes as JSON text, borrowed for the visit. */
	int (*children_refs)(store *s, const char *pi, int ty, bool desc, long limit,
	                     store_visit_fn fn, void *ctx);
	/* discover() without the attributes: the visitor's r->a is NULL (it
	   may get() a row whose attributes it needs). For large result sets
	   where most rows are decided without their attributes. */
	int (*discover_refs)(store *s, const char *root_path, const m2m_filter *f,
	                     store_visit_fn fn, void *ctx);
	/* Resources whose et is set and < now (sortable timestamp), oldest et
	   first, at most limit (< 0: no limit). Timestamps (ct, lt, et of the
	   stored attributes, now, and the filter bounds) compare after
	   m2m_time_normalize(), so "20250101T000000" equals
	   "20250101T000000,000000". */
	int (*expired)(store *s, const char *now, long limit, store_visit_fn fn, void *ctx);

	/* Small key/value table for the core's own state. get: STORE_NOTFOUND
	   when absent; *out is a malloc'd string. */
	int (*meta_get)(store *s, const char *key, char **out);
	int (*meta_set)(store *s, const char *key, const char *val);
} store_ops;

struct store {
	const store_ops *ops;
};

/* Open (creating if needed) an SQLite store at path; ":memory:" allowed. */
int store_sqlite_open(const char *path, store **out);

static inline void store_close(store **s) { if (s && *s) { (*s)->ops->close(*s); *s = NULL; } }

#endif
