/*
 * limit_server.c - the ceiling for any CSE on this stack: a bare
 * libmicrohttpd server in the same threading mode as hearth-cse
 * (internal polling thread, epoll, a thread pool of the same size) that
 * answers every request with a fixed, small oneM2M-shaped JSON body and the
 * X-M2M-RSC / X-M2M-RI headers a CSE sends. It drains request bodies and
 * does nothing else.
 *
 * With --durable DB every POST also makes one create durable before it is
 * answered: SQLite's floor for a create (bench/floor.h) in a new database
 * DB, with group commit (the writes queued meanwhile go in one transaction,
 * one fdatasync covers every transaction committed before it, and a batch
 * is written while the previous one syncs). That is the ceiling for a
 * durable create on this stack: HTTP, the least SQLite write and the sync,
 * and nothing of oneM2M.
 *
 *   limit-server PORT [THREADS] [--durable DB]
 */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/floor.h"

static const char body_get[] =
	"{\"m2m:cin\":{\"ty\":4,\"ri\":\"cin0000000001\",\"rn\":\"cin_0000000001\",\"pi\":\"cnt0000000001\","
	"\"ct\":\"20261126T120000,000000\",\"lt\":\"20261126T120000,000000\",\"et\":\"20311126T120000,000000\","
	"\"st\":1,\"cnf\":\"text/plain:0\",\"cs\":4,\"con\":\"21.5\"}}";

/* Group commit of the --durable mode. A request's thread queues a job and
   waits; whichever waiting thread finds no batch being written writes the
   whole queue as one transaction, and whichever finds no sync running
   syncs every batch committed so far. */
enum { J_QUEUED, J_COMMITTED, J_DONE };

typedef struct job {
	struct job *next;
	pthread_cond_t cv;
	int state;
	bool ok;
	uint64_t batch; /* J_COMMITTED: the batch that holds it */
} job;

static struct {
	pthread_mutex_t mx;
	job *q_head, *q_tail; /* queued */
	job *s_head, *s_tail; /* committed, waiting for a sync */
	bool writing, syncing, on;
	uint64_t commit_seq;
	floor_db f;
} gc = { .mx = PTHREAD_MUTEX_INITIALIZER };

static void job_done(job *j, bool ok)
{
	j->ok = ok;
	j->state = J_DONE;
	pthread_cond_signal(&j->cv);
}

/* Called and returns with gc.mx held. */
static void run_batch(void)
{
	job *list = gc.q_head;
	gc.q_head = gc.q_tail = NULL;
	gc.writing = true;
	pthread_mutex_unlock(&gc.mx);
	bool ok = floor_begin(&gc.f) == 0;
	for (job *j = list; ok && j; j = j->next)
		ok = floor_create(&gc.f) == 0;
	ok = ok && floor_commit(&gc.f) == 0;
	if (!ok)
		sqlite3_exec(gc.f.db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&gc.mx);
	gc.writing = false;
	uint64_t seq = ok ? ++gc.commit_seq : 0;
	for (job *j = list, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		if (!seq) {
			job_done(j, false);
			continue;
		}
		j->batch = seq;
		j->state = J_COMMITTED;
		if (gc.s_tail)
			gc.s_tail->next = j;
		else
			gc.s_head = j;
		gc.s_tail = j;
	}
	if (gc.q_head)
		pthread_cond_signal(&gc.q_head->cv);
}

/* Called and returns with gc.mx held. */
static void run_sync(void)
{
	uint64_t target = gc.commit_seq;
	gc.syncing = true;
	pthread_mutex_unlock(&gc.mx);
	bool ok = floor_sync(&gc.f) == 0;
	pthread_mutex_lock(&gc.mx);
	gc.syncing = false;
	while (gc.s_head && gc.s_head->batch <= target) {
		job *j = gc.s_head;
		gc.s_head = j->next;
		if (!gc.s_head)
			gc.s_tail = NULL;
		j->next = NULL;
		job_done(j, ok);
	}
	if (gc.s_head)
		pthread_cond_signal(&gc.s_head->cv);
}

static bool durable_create(void)
{
	job j = { .state = J_QUEUED };
	pthread_cond_init(&j.cv, NULL);
	pthread_mutex_lock(&gc.mx);
	if (gc.q_tail)
		gc.q_tail->next = &j;
	else
		gc.q_head = &j;
	gc.q_tail = &j;
	while (j.state != J_DONE) {
		if (j.state == J_QUEUED && !gc.writing)
			run_batch();
		else if (j.state == J_COMMITTED && !gc.syncing)
			run_sync();
		else
			pthread_cond_wait(&j.cv, &gc.mx);
	}
	pthread_mutex_unlock(&gc.mx);
	pthread_cond_destroy(&j.cv);
	return j.ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)cls;
	(void)url;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* drain */
		return MHD_YES;
	}
	int create = strcmp(method, "POST") == 0;
	if (create && gc.on && !durable_create()) {
		struct MHD_Response *e = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(e, "X-M2M-RSC", "5000");
		enum MHD_Result ret = MHD_queue_response(conn, 500, e);
		MHD_destroy_response(e);
		return ret;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(body_get) - 1, (void *)body_get,
	                                                         MHD_RESPMEM_PERSISTENT);
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	MHD_add_response_header(r, "X-M2M-RSC", create ? "2001" : "2000");
	MHD_add_response_header(r, "X-M2M-RI", ri && *ri ? ri : " ");
	MHD_add_response_header(r, "X-M2M-RVI", "4");
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, create ? 201 : 200, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	const char *durable = NULL;
	if (argc >= 3 && strcmp(argv[argc - 2], "--durable") == 0) {
		durable = argv[argc - 1];
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: limit-server PORT [THREADS] [--durable DB]\n");
		return 2;
	}
	long port = strtol(argv[1], NULL, 10);
	long threads = argc > 2 ? strtol(argv[2], NULL, 10) : 4;
	if (port < 1 || port > 65535 || threads < 1 || threads > 64) {
		fprintf(stderr, "limit-server: bad port or thread count\n");
		return 2;
	}
	if (durable) {
		if (floor_open(&gc.f, durable) != 0) {
			floor_close(&gc.f);
			return 1;
		}
		gc.on = true;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)port, NULL,
	                                        NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	                                        MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	                                        MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "limit-server: cannot listen on port %ld\n", port);
		if (gc.on)
			floor_close(&gc.f);
		return 1;
	}
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	if (gc.on)
		floor_close(&gc.f);
	return 0;
}
