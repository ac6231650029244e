/*
 * floor.c - SQLite's floor for a durable create (see floor.h).
 */
#include "floor.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char body[] =
	"{\"ty\":4,\"ri\":\"cin0000000000000001\",\"rn\":\"cin_0000000000000001\",\"pi\":\"cnt1\","
	"\"ct\":\"20261126T000000,000000\",\"lt\":\"20261126T000000,000000\","
	"\"et\":\"20311126T000000,000000\",\"st\":1,\"cnf\":\"text/plain:0\",\"cs\":2,\"con\":\"v1\"}";

static int fail(floor_db *f, const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, f->db ? sqlite3_errmsg(f->db) : "no database");
	return -1;
}

static int step(floor_db *f, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(f, sqlite3_sql(st));
}

int floor_open(floor_db *f, const char *path)
{
	static const char schema[] =
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
		"CREATE TABLE res (seq INTEGER PRIMARY KEY, ri TEXT NOT NULL UNIQUE,"
		" pi TEXT NOT NULL, path TEXT NOT NULL UNIQUE, body TEXT NOT NULL);"
		"CREATE INDEX res_pi_seq ON res (pi, seq);"
		"INSERT INTO res (ri, pi, path, body) VALUES ('cnt1', 'ae1', 'cse-in/ae/cnt', '{}');";
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
		{ offsetof(floor_db, ins), "INSERT INTO res (ri, pi, path, body) VALUES (?1, 'cnt1', ?2, ?3)" },
		{ offsetof(floor_db, upd), "UPDATE res SET body = ?1 WHERE seq = 1" },
		{ offsetof(floor_db, begin), "BEGIN IMMEDIATE" },
		{ offsetof(floor_db, commit), "COMMIT" },
		{ offsetof(floor_db, sp), "SAVEPOINT r" },
		{ offsetof(floor_db, rel), "RELEASE r" },
	};
	char wal[4096];

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->id = 1;
	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return fail(f, "path too long");
	unlink(path);
	unlink(wal);
	if (sqlite3_open(path, &f->db) != SQLITE_OK || sqlite3_exec(f->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return fail(f, "schema");
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		if (sqlite3_prepare_v3(f->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
		                       (sqlite3_stmt **)((char *)f + stmts[i].off), NULL) != SQLITE_OK)
			return fail(f, stmts[i].sql);
	if ((f->fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(f, "open the WAL file");
	return 0;
}

int floor_begin(floor_db *f)
{
	return step(f, f->begin);
}

int floor_create(floor_db *f)
{
	char ri[40], path[80], cnt[40];
	long id = ++f->id;

	snprintf(ri, sizeof(ri), "cin%016ld", id);
	snprintf(path, sizeof(path), "cse-in/ae/cnt/cin_%016ld", id);
	snprintf(cnt, sizeof(cnt), "{\"cni\":%ld}", id);
	if (step(f, f->sp) != 0)
		return -1;
	sqlite3_bind_text(f->ins, 1, ri, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(f->ins, 2, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(f->ins, 3, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(f->upd, 1, cnt, -1, SQLITE_TRANSIENT);
	if (step(f, f->ins) != 0 || step(f, f->upd) != 0)
		return -1;
	return step(f, f->rel);
}

int floor_commit(floor_db *f)
{
	return step(f, f->commit);
}

int floor_sync(floor_db *f)
{
	return fdatasync(f->fd) == 0 ? 0 : -1;
}

void floor_close(floor_db *f)
{
	sqlite3_stmt *all[] = { f->ins, f->upd, f->begin, f->commit, f->sp, f->rel };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	sqlite3_close(f->db);
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}
