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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/floor.h"
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

static int run_floor(const char *path, double secs, int nb, char **bs)
{
	floor_db f;
	int rc = 1;
	if (floor_open(&f, path) != 0)
		goto out;
	for (int i = 0; i < nb; i++) {
		long b = strtol(bs[i], NULL, 10), creates = 0, syncs = 0;
		if (b < 1)
			b = 1;
		double t0 = now_s(), t;
		while ((t = now_s()) - t0 < secs) {
			if (floor_begin(&f) != 0)
				goto out;
			for (long k = 0; k < b; k++)
				if (floor_create(&f) != 0)
					goto out;
			if (floor_commit(&f) != 0 || floor_sync(&f) != 0)
				goto out;
			creates += b;
			syncs++;
		}
		report(b, creates, syncs, t - t0);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "storecap: the floor measurement failed\n");
	floor_close(&f);
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
