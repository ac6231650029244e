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
#include <unistd.h>

#include "bindings/transport.h"
#include "cse/config.h"
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

static void test_concurrent_writes(void **state)
{
	(void)state;
	log_level = LOG_ERROR;
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

	cse_close(&C);
	transport_global_cleanup();
	config_clear(&cfg);
	char cmd[sizeof(dir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
