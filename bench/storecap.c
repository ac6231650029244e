/*
 * storecap.c - the store's own ceiling for durable creates: what the
 * SQLite store alone can do on this machine, with no HTTP, no request
 * parsing and no access control, for the work one create of a
 * contentInstance asks of it.
 *
 * One thread, the database of bench/mkstore.c. For each batch size B it
 * runs for S seconds: begin a transaction; B times: a request savepoint,
 * read the parent container by path, insert a new instance (the shape of
 * the stored "proto" instance, a time-ordered ri and name), write the
 * container back with cni/cbs/st/lt changed, release; commit; sync().
 * That is the store's share of hearth-cse's creates, and the durability
 * rule is the same (the answer would go out after sync()).
 *
 *   storecap DB SECONDS B...
 *
 * With --floor it measures SQLite's own floor instead, on a new database
 * DB: the least a hierarchical resource store must do per create (a row
 * of about 200 bytes in a table indexed by ri, path and (parent, seq),
 * and the parent's counter rewritten), through SQLite directly, with the
 * same WAL, savepoints and fdatasync:
 *
 *   storecap --floor DB SECONDS B...
 *
 * Prints one JSON line per batch size: {"batch":B,"creates_per_s":N,
 * "syncs_per_s":N,"us_per_create":N}.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cse/log.h"
#include "cse/store.h"
#include "cse/util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One create's store work; returns 0 or -1. */
static int one_create(store *s, const res *proto, const char *cnt_path)
{
	res *cnt = NULL;
	if (s->ops->savepoint(s) != STORE_OK || s->ops->get_path(s, cnt_path, &cnt) != STORE_OK)
		return -1;
	char ri[64], rn[64], path[512], now[24];
	util_ordered_id("cin", ri, sizeof(ri));
	snprintf(rn, sizeof(rn), "cin_%s", ri + 3);
	snprintf(path, sizeof(path), "%s/%s", cnt_path, rn);
	util_now(now);
	json_int_t st = json_integer_value(json_object_get(cnt->a, "st")) + 1;
	json_t *a = json_deep_copy(proto->a);
	json_object_set_new(a, "ri", json_string(ri));
	json_object_set_new(a, "rn", json_string(rn));
	json_object_set_new(a, "ct", json_string(now));
	json_object_set_new(a, "lt", json_string(now));
	json_object_set_new(a, "st", json_integer(st));
	res *r = res_new(4, ri, cnt->ri, rn, path, a);
	json_decref(a);
	int rc = r ? s->ops->insert(s, r) : STORE_ERROR;
	if (rc == STORE_OK) {
		json_int_t cs = json_integer_value(json_object_get(proto->a, "cs"));
		json_object_set_new(cnt->a, "cni", json_integer(json_integer_value(json_object_get(cnt->a, "cni")) + 1));
		json_object_set_new(cnt->a, "cbs", json_integer(json_integer_value(json_object_get(cnt->a, "cbs")) + cs));
		json_object_set_new(cnt->a, "st", json_integer(st));
		json_object_set_new(cnt->a, "lt", json_string(now));
		rc = s->ops->update_body(s, cnt);
	}
	res_free(&r);
	res_free(&cnt);
	if (rc != STORE_OK)
		return -1;
	return s->ops->release(s) == STORE_OK ? 0 : -1;
}

static void report(long b, long creates, long syncs, double el)
{
	printf("{\"batch\":%ld,\"creates_per_s\":%.0f,\"syncs_per_s\":%.0f,\"us_per_create\":%.1f}\n", b,
	       (double)creates / el, (double)syncs / el, el * 1e6 / (double)creates);
}

static int floor_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	fprintf(stderr, "storecap: %s: %s\n", sql, err ? err : "?");
	sqlite3_free(err);
	return -1;
}

/* One create at SQLite's floor; id numbers the new row. */
static int floor_create(sqlite3 *db, sqlite3_stmt *ins, sqlite3_stmt *upd, long id)
{
	static const char body[] =
		"{\"ty\":4,\"ri\":\"cin0000000000000001\",\"rn\":\"cin_0000000000000001\",\"pi\":\"cnt1\","
		"\"ct\":\"20261126T000000,000000\",\"lt\":\"20261126T000000,000000\","
		"\"et\":\"20311126T000000,000000\",\"st\":1,\"cnf\":\"text/plain:0\",\"cs\":2,\"con\":\"v1\"}";
	char ri[40], path[80], cnt[40];
	snprintf(ri, sizeof(ri), "cin%016ld", id);
	snprintf(path, sizeof(path), "cse-in/ae/cnt/cin_%016ld", id);
	snprintf(cnt, sizeof(cnt), "{\"cni\":%ld}", id);
	if (floor_exec(db, "SAVEPOINT r") != 0)
		return -1;
	sqlite3_bind_text(ins, 1, ri, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 2, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 3, body, -1, SQLITE_STATIC);
	int rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	sqlite3_bind_text(upd, 1, cnt, -1, SQLITE_TRANSIENT);
	int rc2 = sqlite3_step(upd);
	sqlite3_reset(upd);
	if (rc != SQLITE_DONE || rc2 != SQLITE_DONE)
		return -1;
	return floor_exec(db, "RELEASE r");
}

static int run_floor(const char *path, double secs, int nb, char **bs)
{
	char wal[4096];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(path);
	unlink(wal);
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL, *upd = NULL;
	int fd = -1, rc = 1;
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    floor_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
	                   "CREATE TABLE res (seq INTEGER PRIMARY KEY, ri TEXT NOT NULL UNIQUE,"
	                   " pi TEXT NOT NULL, path TEXT NOT NULL UNIQUE, body TEXT NOT NULL);"
	                   "CREATE INDEX res_pi_seq ON res (pi, seq);"
	                   "INSERT INTO res (ri, pi, path, body) VALUES ('cnt1', 'ae1', 'cse-in/ae/cnt', '{}');") != 0 ||
	    sqlite3_prepare_v2(db, "INSERT INTO res (ri, pi, path, body) VALUES (?1, 'cnt1', ?2, ?3)", -1, &ins, NULL) !=
	            SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE res SET body = ?1 WHERE seq = 1", -1, &upd, NULL) != SQLITE_OK ||
	    (fd = open(wal, O_RDONLY | O_CLOEXEC)) < 0)
		goto out;
	long id = 1;
	for (int i = 0; i < nb; i++) {
		long b = strtol(bs[i], NULL, 10), creates = 0, syncs = 0;
		if (b < 1)
			b = 1;
		double t0 = now_s(), t;
		while ((t = now_s()) - t0 < secs) {
			if (floor_exec(db, "BEGIN IMMEDIATE") != 0)
				goto out;
			for (long k = 0; k < b; k++)
				if (floor_create(db, ins, upd, ++id) != 0)
					goto out;
			if (floor_exec(db, "COMMIT") != 0 || fdatasync(fd) != 0)
				goto out;
			creates += b;
			syncs++;
		}
		report(b, creates, syncs, t - t0);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "storecap: the floor measurement failed: %s\n", db ? sqlite3_errmsg(db) : "no database");
	if (fd >= 0)
		close(fd);
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_close(db);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "--floor") == 0)
		return run_floor(argv[2], strtod(argv[3], NULL), argc - 4, argv + 4);
	if (argc < 4) {
		fprintf(stderr, "usage: storecap [--floor] DB SECONDS B...\n");
		return 2;
	}
	double secs = strtod(argv[2], NULL);
	log_level = LOG_WARN;
	store *s = NULL;
	res *proto = NULL;
	const char *cnt_path = "cse-in/bench/big";
	if (store_sqlite_open(argv[1], &s) != STORE_OK || s->ops->get_path(s, "cse-in/bench/big/proto", &proto) != STORE_OK) {
		fprintf(stderr, "storecap: %s is not a database of mkstore\n", argv[1]);
		store_close(&s);
		return 1;
	}
	int rc = 0;
	for (int i = 3; i < argc && rc == 0; i++) {
		long b = strtol(argv[i], NULL, 10);
		if (b < 1)
			b = 1;
		long creates = 0, syncs = 0;
		double t0 = now_s(), t;
		while ((t = now_s()) - t0 < secs) {
			if (s->ops->begin(s) != STORE_OK) {
				rc = 1;
				break;
			}
			for (long k = 0; k < b && rc == 0; k++)
				if (one_create(s, proto, cnt_path) != 0)
					rc = 1;
			if (rc != 0 || s->ops->commit(s) != STORE_OK || s->ops->sync(s) != STORE_OK) {
				rc = 1;
				break;
			}
			creates += b;
			syncs++;
		}
		if (rc == 0)
			report(b, creates, syncs, t - t0);
	}
	if (rc != 0)
		fprintf(stderr, "storecap: a store operation failed\n");
	res_free(&proto);
	store_close(&s);
	return rc;
}
