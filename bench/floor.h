/*
 * floor.h - SQLite's floor for a durable create: the least a hierarchical
 * resource store must write per create, through SQLite directly.
 *
 * A fresh database with one table res(seq, ri UNIQUE, pi, path UNIQUE,
 * body) and an index on (pi, seq), holding one parent row. One create is a
 * savepoint, a row of about 200 bytes (a contentInstance's attributes as
 * JSON text) and the parent's body rewritten with its new counter. WAL,
 * synchronous=NORMAL and an fdatasync of the WAL through a descriptor of
 * its own make it durable: the same rules as hearth's store.
 *
 * Used by bench/storecap.c (--floor: one thread, B creates per sync) and
 * bench/limit_server.c (--durable: the limit server with a durable write
 * per POST). A floor_db is used by one thread at a time.
 */
#ifndef HEARTH_BENCH_FLOOR_H
#define HEARTH_BENCH_FLOOR_H

#include <sqlite3.h>

typedef struct floor_db {
	sqlite3 *db;
	sqlite3_stmt *ins, *upd, *begin, *commit, *sp, *rel;
	int fd;   /* the WAL file, for floor_sync() */
	long id;  /* the last row created */
} floor_db;

/* Create a new database at path (an existing one is removed first).
   0 or -1 (the reason on stderr; floor_close() is still required). */
int floor_open(floor_db *f, const char *path);
int floor_begin(floor_db *f);
/* One create inside floor_begin()/floor_commit(). */
int floor_create(floor_db *f);
int floor_commit(floor_db *f);
/* fdatasync the WAL: every commit so far survives power loss. May run
   while another thread uses the handle (it touches only the descriptor). */
int floor_sync(floor_db *f);
void floor_close(floor_db *f);

#endif
