/*
 * batch_test.c - the write batches of cse/engine.c under contention, on a
 * database file: threads create instances into one container at once
 * (their writes share batches), every fifth request is refused half-way
 * (a name that exists: its unit of change is rolled back inside a batch
 * that commits), and some threads also delete. Afterwards the database
 * is reopened and must hold exactly what was answered 2001 and not
 * deleted, with the container's counters to match; generated names carry
 * the digits of their time-ordered ri.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bindings/transport.h"
#include "cse/config.h"
#include "cse/core.h"
#include "cse/cse.h"
#include "cse/log.h"
#include "cse/rsc.h"
#include "tests/unit/unit_call.h"

#define NTHREADS 8
#define PER_THREAD 60

static cse_config cfg;
static cse *C;
static char dir[] = "/tmp/hearth-batch-XXXXXX";

static int call(int op, const char *to, int ty, const char *pc, json_t **out)
{
	return unit_call(C, op, to, "Cbatch", ty, pc, out);
}

typedef struct worker {
	int id;
	int created, refused, deleted, other;
	char kept[PER_THREAD][64]; /* ri of each instance still there, "" if none */
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char pc[128];
		/* every fifth: the name of the thread's first instance, which exists */
		if (i % 5 == 4)
			snprintf(pc, sizeof(pc), "{\"m2m:cin\":{\"rn\":\"t%d-0\",\"con\":\"dup\"}}", w->id);
		else if (i == 0)
			snprintf(pc, sizeof(pc), "{\"m2m:cin\":{\"rn\":\"t%d-0\",\"con\":\"v0\"}}", w->id);
		else
			snprintf(pc, sizeof(pc), "{\"m2m:cin\":{\"con\":\"t%d v%d\"}}", w->id, i);
		json_t *out = NULL;
		int rsc = call(M2M_OP_CREATE, "cse-in/batch/c", 4, pc, &out);
		if (rsc == RSC_CREATED) {
			w->created++;
			const char *ri = json_string_value(json_object_get(json_object_get(out, "m2m:cin"), "ri"));
			snprintf(w->kept[i], sizeof(w->kept[i]), "%s", ri ? ri : "");
		} else if (rsc == RSC_CONFLICT) {
			w->refused++;
		} else {
			w->other++;
		}
		json_decref(out);
		/* odd threads delete every third instance they made */
		if (w->id % 2 == 1 && i % 3 == 1 && w->kept[i][0]) {
			char to[128];
			snprintf(to, sizeof(to), "%s", w->kept[i]);
			if (call(M2M_OP_DELETE, to, -1, NULL, NULL) == RSC_DELETED) {
				w->deleted++;
				w->kept[i][0] = '\0';
			} else {
				w->other++;
			}
		}
	}
	return NULL;
}

static void open_cse(void)
{
	assert_int_equal(cse_open(&C, &cfg), 0);
}

/* A CSE on a new database file, with the AE "batch" and its container "c". */
static void start_cse(void)
{
	log_level = LOG_ERROR;
	snprintf(dir, sizeof(dir), "/tmp/hearth-batch-XXXXXX");
	assert_non_null(mkdtemp(dir));
	config_init(&cfg);
	free(cfg.db_path);
	char db[sizeof(dir) + 16];
	snprintf(db, sizeof(db), "%s/h.db", dir);
	cfg.db_path = m2m_strdup(db);
	assert_int_equal(transport_global_init(), 0);
	open_cse();
	assert_int_equal(call(M2M_OP_CREATE, "cse-in", 2,
	                      "{\"m2m:ae\":{\"rn\":\"batch\",\"api\":\"Nb\",\"rr\":false,\"srv\":[\"4\"]}}", NULL),
	                 RSC_CREATED);
	assert_int_equal(call(M2M_OP_CREATE, "cse-in/batch", 3, "{\"m2m:cnt\":{\"rn\":\"c\"}}", NULL), RSC_CREATED);
}

static void stop_cse(void)
{
	cse_close(&C);
	transport_global_cleanup();
	config_clear(&cfg);
	char cmd[sizeof(dir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_concurrent_writes(void **state)
{
	(void)state;
	start_cse();

	static worker w[NTHREADS];
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	int created = 0, refused = 0, deleted = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].other, 0);
		created += w[i].created;
		refused += w[i].refused;
		deleted += w[i].deleted;
	}
	assert_int_equal(refused, NTHREADS * (PER_THREAD / 5));
	assert_int_equal(created + refused, NTHREADS * PER_THREAD);
	assert_true(deleted > 0);

	/* what is on disk after a restart */
	cse_close(&C);
	open_cse();
	json_t *cnt = NULL;
	assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in/batch/c", -1, NULL, &cnt), RSC_OK);
	json_t *a = json_object_get(cnt, "m2m:cnt");
	assert_int_equal(json_integer_value(json_object_get(a, "cni")), created - deleted);
	json_decref(cnt);
	for (int t = 0; t < NTHREADS; t++)
		for (int i = 0; i < PER_THREAD; i++) {
			if (!w[t].kept[i][0])
				continue;
			char to[128];
			snprintf(to, sizeof(to), "%s", w[t].kept[i]);
			json_t *cin = NULL;
			assert_int_equal(call(M2M_OP_RETRIEVE, to, -1, NULL, &cin), RSC_OK);
			const char *rn = json_string_value(json_object_get(json_object_get(cin, "m2m:cin"), "rn"));
			assert_non_null(rn);
			if (i != 0) /* a generated name: "cin_" and the digits of the ri */
				assert_string_equal(rn + 4, w[t].kept[i] + 3);
			json_decref(cin);
		}
	json_t *dup = NULL;
	assert_int_equal(call(M2M_OP_RETRIEVE, "cse-in/batch/c/t3-0", -1, NULL, &dup), RSC_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(dup, "m2m:cin"), "con")), "v0");
	json_decref(dup);

	stop_cse();
}

/*
 * A batch led by a job that writes nothing (a request refused before any
 * change, or a periodic task with nothing to do) and holding another
 * thread's create: the leader's job is done when the batch ends and its
 * thread returns, so the create's thread, asleep since it queued, must be
 * woken to sync its batch. It used to sleep until some later write synced,
 * which on a quiet CSE could be never.
 *
 * The order is forced: a first batch holds the turn until a no-op job and
 * then a create have queued behind it; the no-op's thread gets the turn
 * and leads the batch of both.
 */
static pthread_mutex_t t_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cv = PTHREAD_COND_INITIALIZER;
static int holder_running, writer_done, writer_rsc;
static unsigned seen_queued;

static void hold_batch(cse *c, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&t_mx);
	holder_running = 1;
	pthread_cond_broadcast(&t_cv);
	pthread_mutex_unlock(&t_mx);
	/* hold the turn until the no-op and the create have queued (at most 5 s) */
	for (int i = 0; i < 500 && (seen_queued = core_write_queued(c)) < 2; i++)
		usleep(10000);
}

static void no_write(cse *c, void *arg)
{
	(void)c;
	(void)arg;
}

static void *holder(void *arg)
{
	(void)arg;
	core_write(C, hold_batch, NULL);
	return NULL;
}

static void *leader(void *arg)
{
	(void)arg;
	core_write(C, no_write, NULL);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	int rsc = call(M2M_OP_CREATE, "cse-in/batch/c", 4, "{\"m2m:cin\":{\"con\":\"queued\"}}", NULL);
	pthread_mutex_lock(&t_mx);
	writer_rsc = rsc;
	writer_done = 1;
	pthread_cond_broadcast(&t_cv);
	pthread_mutex_unlock(&t_mx);
	return NULL;
}

static void test_leader_without_write(void **state)
{
	(void)state;
	start_cse();
	pthread_t th, tl, tw;
	assert_int_equal(pthread_create(&th, NULL, holder, NULL), 0);
	pthread_mutex_lock(&t_mx);
	while (!holder_running)
		pthread_cond_wait(&t_cv, &t_mx);
	pthread_mutex_unlock(&t_mx);
	assert_int_equal(pthread_create(&tl, NULL, leader, NULL), 0);
	for (int i = 0; i < 500 && core_write_queued(C) < 1; i++)
		usleep(10000);
	assert_int_equal(pthread_create(&tw, NULL, writer, NULL), 0);
	pthread_join(th, NULL);
	pthread_join(tl, NULL);

	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&t_mx);
	while (!writer_done && pthread_cond_timedwait(&t_cv, &t_mx, &until) == 0)
		;
	int finished = writer_done;
	pthread_mutex_unlock(&t_mx);
	if (!finished) /* release the stuck thread with a write of our own, then fail */
		call(M2M_OP_CREATE, "cse-in/batch/c", 4, "{\"m2m:cin\":{\"con\":\"release\"}}", NULL);
	pthread_join(tw, NULL);
	assert_int_equal(seen_queued, 2); /* the no-op and the create shared a batch */
	assert_true(finished);
	assert_int_equal(writer_rsc, RSC_CREATED);
	stop_cse();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_writes),
		cmocka_unit_test(test_leader_without_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
