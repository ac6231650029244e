/*
 * 08_crash_durability_test.c - kill -9 under concurrent write load.
 *
 * Design note
 *   Round after round, NWRITERS threads (each with its own m2m_client, so
 *   its own connection) create <contentInstance>s in one container as fast
 *   as the CSE answers; every create answered 2001 is recorded with its ri
 *   and con. After a random delay the daemon is killed with SIGKILL while
 *   requests are in flight (those fail and are not recorded). Then:
 *     - the database file passes SQLite's PRAGMA integrity_check, read by
 *       this process directly (read-only) before the daemon touches it;
 *     - the daemon restarts, and every acknowledged create of the round is
 *       retrievable by its ri with the same con;
 *     - the container's cni equals the number of its instances (discovery
 *       fu=1&ty=4) and cbs equals cni * CON_LEN (every con has that length);
 *     - the instances the round added number at least the acknowledged
 *       creates and at most NWRITERS more (one unanswered create in flight
 *       per writer may have committed).
 *   At the end, every create acknowledged in any round is still there.
 *
 *   The delays come from a seeded generator; the seed is printed and can be
 *   replayed with HEARTH_SEED=<n>. HEARTH_CRASH_ROUNDS overrides ROUNDS.
 *   Local mode only: with HEARTH_URL the test is skipped.
 */
#include "conformance/lib/harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define CSE harness_cse_rn()
#define NWRITERS 4
#define ROUNDS 20
#define DELAY_MIN_MS 50
#define DELAY_MAX_MS 400
#define CON_FMT "r%02d-w%d-%08d" /* round < 100, writer < 10, n < 1e8 */
#define CON_LEN 15
#define DISC_PAGE 2000

typedef struct ack {
	char *ri;
	char con[CON_LEN + 1];
	int round;
} ack;

typedef struct ack_list {
	ack *v;
	size_t n, cap;
} ack_list;

typedef struct writer {
	pthread_t th;
	int id, round;
	const char *to, *fr;
	atomic_bool *stop;
	ack_list acks;
	long sent, failed, unexpected;
	char first_unexpected[600];
} writer;

static void ack_push(ack_list *l, const char *ri, const char *con, int round)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		ack *v = realloc(l->v, cap * sizeof(*v));
		assert_non_null(v);
		l->v = v;
		l->cap = cap;
	}
	ack *a = &l->v[l->n++];
	a->ri = strdup(ri);
	assert_non_null(a->ri);
	snprintf(a->con, sizeof(a->con), "%s", con);
	a->round = round;
}

static void ack_list_free(ack_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].ri);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Writer thread: no cmocka calls here (they are not thread-safe). */
static void *writer_main(void *arg)
{
	writer *w = arg;
	m2m_client *c = m2m_client_new(harness_url());
	if (!c) {
		w->unexpected++;
		snprintf(w->first_unexpected, sizeof(w->first_unexpected), "m2m_client_new failed");
		return NULL;
	}
	for (int n = 0; !atomic_load(w->stop); n++) {
		char con[CON_LEN + 1];
		snprintf(con, sizeof(con), CON_FMT, w->round, w->id, n);
		json_t *pc = json_pack("{s:{s:s, s:s}}", "m2m:cin", "cnf", "text/plain:0", "con", con);
		m2m_result r;
		m2m_do(c, M2M_OP_CREATE, w->to, w->fr, 4, pc, NULL, &r);
		json_decref(pc);
		w->sent++;
		if (r.http_status == 0) {
			/* The kill: this create was in flight (not acknowledged, may
			 * or may not have committed). Stop here rather than spin on
			 * refused connections until the main thread says so. */
			w->failed++;
			m2m_result_clear(&r);
			break;
		} else {
			json_t *cin = json_is_object(r.body) ? json_object_get(r.body, "m2m:cin") : NULL;
			const char *ri = json_string_value(json_object_get(cin, "ri"));
			const char *rcon = json_string_value(json_object_get(cin, "con"));
			if (r.rsc == 2001 && ri && rcon && strcmp(rcon, con) == 0) {
				ack_push(&w->acks, ri, con, w->round);
			} else {
				if (w->unexpected++ == 0)
					snprintf(w->first_unexpected, sizeof(w->first_unexpected),
					         "create %s -> HTTP %d rsc %d body %.400s", con,
					         r.http_status, r.rsc, r.raw_body ? r.raw_body : "");
			}
		}
		m2m_result_clear(&r);
	}
	m2m_client_free(&c);
	return NULL;
}

/* PRAGMA integrity_check on the database file, opened read-only by this
 * process. Returns true when the single answer is "ok"; prints otherwise. */
static bool db_integrity_ok(const char *path, int round)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool ok = false;
	int rows = 0;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		print_error("round %d: cannot open %s read-only: %s\n", round, path,
		            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		print_error("round %d: integrity_check: %s\n", round, sqlite3_errmsg(db));
		goto out;
	}
	ok = true;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		rows++;
		if (!v || strcmp(v, "ok") != 0) {
			ok = false;
			print_error("round %d: integrity_check: %s\n", round, v ? v : "(null)");
		}
	}
	if (rc != SQLITE_DONE) {
		ok = false;
		print_error("round %d: integrity_check step: %s\n", round, sqlite3_errmsg(db));
	}
	if (rows == 0)
		ok = false;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ri part of an unstructured id ("ri", "/csi/ri", "//sp/csi/ri"). */
static const char *id_tail(const char *id)
{
	const char *s = strrchr(id, '/');
	return s ? s + 1 : id;
}

/* All instance ris under `cnt` (discovery fu=1&ty=4&drt=2, paged), sorted.
 * Fails the test on an unexpected answer. Caller frees *out and entries. */
static size_t discover_instances(const char *cnt, const char *fr, char ***out)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	/* ofst is 1-based (TS-0004: the first result returned) */
	for (size_t ofst = 1;; ofst += DISC_PAGE) {
		m2m_result r;
		harness_req(&r, M2M_OP_RETRIEVE, cnt, fr, -1, NULL,
		            hfmt("fu=1&ty=4&drt=2&lim=%d&ofst=%zu", DISC_PAGE, ofst));
		EXPECT_RSC(&r, 2000);
		json_t *uril = harness_res(&r, "m2m:uril");
		if (!uril && ofst > 1) { /* empty page: some CSEs omit the list */
			m2m_result_clear(&r);
			break;
		}
		EXPECT_TRUE(json_is_array(uril), r.body);
		size_t i, got = json_array_size(uril);
		json_t *e;
		json_array_foreach(uril, i, e) {
			EXPECT_TRUE(json_is_string(e), e);
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				char **nv = realloc(v, cap * sizeof(*nv));
				assert_non_null(nv);
				v = nv;
			}
			v[n] = strdup(id_tail(json_string_value(e)));
			assert_non_null(v[n]);
			n++;
		}
		m2m_result_clear(&r);
		if (got < DISC_PAGE)
			break;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end = NULL;
	if (!s || !*s)
		return dflt;
	long v = strtol(s, &end, 10);
	return (end && *end == '\0') ? v : dflt;
}

/* Check the container against its instances; returns the instance count. */
static size_t check_container(const char *cnt, const char *fr, int round, char ***ris)
{
	size_t n = discover_instances(cnt, fr, ris);
	json_t *c = harness_get(cnt, fr, "m2m:cnt");
	harness_case("round %d: cni == number of instances (%zu)", round, n);
	EXPECT_INT(c, "cni", (long long)n);
	harness_case("round %d: cbs == cni * %d", round, CON_LEN);
	EXPECT_INT(c, "cbs", (long long)n * CON_LEN);
	json_decref(c);
	if (n > 0) {
		harness_case("round %d: la exists", round);
		json_t *la = harness_get(hfmt("%s/la", cnt), fr, "m2m:cin");
		const char *lcon = harness_jstr(la, "con");
		EXPECT_TRUE(lcon && strlen(lcon) == CON_LEN, la);
		json_decref(la);
	}
	return n;
}

static void test_kill9_under_write_load(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	HARNESS_LOCAL_ONLY();
	const char *db = harness_db_path();
	assert_non_null(db);
	unsigned seed = (unsigned)env_long("HEARTH_SEED", (long)(harness_now_ms() ^ (int64_t)getpid()) & 0x7fffffff);
	int rounds = (int)env_long("HEARTH_CRASH_ROUNDS", ROUNDS);
	if (rounds < 1 || rounds > 99)
		rounds = ROUNDS;
	print_message("[ INFO     ] seed %u (replay with HEARTH_SEED=%u), %d rounds, %d writers\n",
	              seed, seed, rounds, NWRITERS);
	srand(seed);

	const char *ae = harness_register("crash");
	const char *cnt = hfmt("%s/%s/box", CSE, ae);
	char cntbuf[512];
	snprintf(cntbuf, sizeof(cntbuf), "%s", cnt);
	cnt = cntbuf;
	harness_create_cnt(hfmt("%s/%s", CSE, ae), ae, "box", json_pack("{s:i}", "mni", 1000000));

	ack_list all = {0};
	size_t before = 0, committed_unacked = 0;
	long sent = 0, failed = 0;
	for (int round = 0; round < rounds; round++) {
		atomic_bool stop = false;
		writer w[NWRITERS];
		memset(w, 0, sizeof(w));
		for (int i = 0; i < NWRITERS; i++) {
			w[i].id = i;
			w[i].round = round;
			w[i].to = cnt;
			w[i].fr = ae;
			w[i].stop = &stop;
			assert_int_equal(pthread_create(&w[i].th, NULL, writer_main, &w[i]), 0);
		}
		long delay = DELAY_MIN_MS + rand() % (DELAY_MAX_MS - DELAY_MIN_MS + 1);
		harness_sleep_ms(delay);
		harness_case("round %d: kill -9 after %ld ms of writes", round, delay);
		int killed = harness_cse_kill9();
		atomic_store(&stop, true);
		long unexpected = 0;
		const char *first = NULL;
		for (int i = 0; i < NWRITERS; i++) {
			pthread_join(w[i].th, NULL);
			sent += w[i].sent;
			failed += w[i].failed;
			unexpected += w[i].unexpected;
			if (w[i].unexpected && !first)
				first = w[i].first_unexpected;
		}
		ack_list round_acks = {0};
		for (int i = 0; i < NWRITERS; i++) {
			for (size_t k = 0; k < w[i].acks.n; k++) {
				ack_push(&round_acks, w[i].acks.v[k].ri, w[i].acks.v[k].con, round);
				ack_push(&all, w[i].acks.v[k].ri, w[i].acks.v[k].con, round);
			}
			ack_list_free(&w[i].acks);
		}
		assert_int_equal(killed, 0);
		if (unexpected) {
			print_error("round %d: %ld create(s) answered other than 2001 with the ri and con; first: %s\n",
			            round, unexpected, first);
			harness_log_tail(20);
		}
		assert_int_equal(unexpected, 0);

		harness_case("round %d: integrity_check after kill -9", round);
		bool intact = db_integrity_ok(db, round);
		if (!intact)
			print_error("round %d (seed %u): database %s damaged after kill -9\n", round, seed, db);
		assert_true(intact);

		harness_case("round %d: restart after kill -9", round);
		assert_int_equal(harness_cse_start(), 0);

		for (size_t k = 0; k < round_acks.n; k++) {
			harness_case("round %d (seed %u): acknowledged create %s (%s) survived kill -9",
			             round, seed, round_acks.v[k].ri, round_acks.v[k].con);
			json_t *ci = harness_get(round_acks.v[k].ri, ae, "m2m:cin");
			EXPECT_STR(ci, "con", round_acks.v[k].con);
			EXPECT_INT(ci, "cs", CON_LEN);
			json_decref(ci);
		}
		char **ris = NULL;
		size_t now = check_container(cnt, ae, round, &ris);
		free_strs(ris, now);
		harness_case("round %d: %zu instances before, %zu after, %zu acknowledged, at most %d in flight",
		             round, before, now, round_acks.n, NWRITERS);
		EXPECT_TRUE(now >= before + round_acks.n && now <= before + round_acks.n + NWRITERS, NULL);
		committed_unacked += now - before - round_acks.n;
		print_message("[ INFO     ] round %2d: killed after %3ld ms, %4zu acknowledged, %zu instances\n",
		              round, delay, round_acks.n, now);
		before = now;
		ack_list_free(&round_acks);
	}

	harness_case("all rounds: every acknowledged create is still an instance of the container");
	char **ris = NULL;
	size_t n = check_container(cnt, ae, rounds, &ris);
	size_t missing = 0;
	for (size_t k = 0; k < all.n; k++) {
		const char *key = all.v[k].ri;
		if (!bsearch(&key, ris, n, sizeof(*ris), cmp_str)) {
			if (missing++ < 10)
				print_error("acknowledged in round %d, now missing: %s (%s)\n", all.v[k].round,
				            all.v[k].ri, all.v[k].con);
		}
	}
	print_message("[ INFO     ] %d rounds, %ld creates sent, %zu acknowledged (2001), %zu found after "
	              "the last restart, %zu committed but unanswered, %ld in flight at a kill\n",
	              rounds, sent, all.n, all.n - missing, committed_unacked, failed);
	free_strs(ris, n);
	ack_list_free(&all);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_kill9_under_write_load),
	};
	return cmocka_run_group_tests_name("08_crash_durability", tests, harness_group_setup,
	                                   harness_group_teardown);
}
