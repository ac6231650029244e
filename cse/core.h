/*
 * core.h - internals shared by the engine's files (not for bindings).
 *
 * Locking: writes (create, update, delete, the reaper's) are queued and run
 * in batches, one batch at a time, by whichever waiting thread takes the
 * turn; each waits for the group sync of its batch. Readers use a store
 * handle of their own thread and take no lock (engine.c).
 */
#ifndef HEARTH_CORE_H
#define HEARTH_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cse.h"
#include "filter.h"
#include "restype.h"
#include "store.h"

typedef struct notifier notifier;
typedef struct mgmt mgmt;

typedef struct wjob wjob; /* a write waiting for its turn (engine.c) */

struct cse {
	cse_config cfg;
	store *st;             /* the writer's handle */
	pthread_mutex_t lock;  /* held by the thread running a batch (see engine.c) */
	bool batch_open;       /* a batch transaction is open (under lock) */
	unsigned n_units;      /* units of change begun so far (under lock) */
	pthread_mutex_t q_mx;  /* group commit: the queues and flags below */
	wjob *q_head, *q_tail; /* writes waiting to run */
	wjob *s_head, *s_tail; /* writes committed, waiting for their sync */
	bool writing, syncing; /* a thread runs a batch / syncs the store */
	uint64_t commit_seq, synced_seq; /* batches committed / made durable */
	bool readers_ok;       /* per-thread read handles (not for :memory:) */
	pthread_key_t rkey;    /* this thread's read handle */
	pthread_key_t ckey;    /* this thread's parsed-resource cache (engine.c) */
	pthread_mutex_t readers_mx;
	store *readers[256];
	size_t nreaders;
	char csi[160];        /* "/id-in" */
	char cb_ri[128];      /* CSEBase ri (= CSE-ID without '/') */
	notifier *nt;
	struct cse_link *link; /* registrar and peers (link.c) */
	struct announcer *ann; /* announced copies (announce.c) */
	mgmt *mg;              /* management operations (mgmtobj/mgmt.c) */
	pthread_t reaper;
	pthread_mutex_t reaper_mx;
	pthread_cond_t reaper_cv;
	bool reaper_started;
	bool stopping;
};

/* Virtual resource addressed by a request. */
enum { VR_NONE = 0, VR_LA, VR_OL, VR_FOPT };

/* One operation in progress. */
struct op_ctx {
	cse *c;
	const m2m_request *req;
	m2m_response *rsp;
	const res_type *t;  /* type of the resource being created/updated */
	res *target;        /* addressed resource (Create: the parent) */
	res *nr;            /* Create: the new resource; Update: merged copy */
	json_t *in;         /* request attribute object (inner of pc) */
	char rel[16];       /* release the request is served by: "2a","3","4" */
	bool parent_changed;/* on_created changed counters of x->target (st and
	                       unindexed attributes only): store its body */
	json_t *changed;    /* Update: attributes that changed (for nct=2) */
};

/* Hidden attributes (never serialised) start with '_'. */
#define HA_ORIG "_o"   /* originator that created the resource */

/* engine.c: a request's unit of change inside the open batch; rollback
   undoes it and drops the notifications it raised; the batch commit hands
   the rest to the notifier. */
int core_begin(cse *c, void **mark);
int core_commit(cse *c, void *mark);
void core_rollback(cse *c, void *mark);
/* A read snapshot on this thread's own handle for work outside a request
   (routing, the registrar link); core_st() returns it until the end. Not
   from inside a request. */
store *core_reader_begin(cse *c);
void core_reader_end(cse *c, store *rd);
/* A write outside a request (see engine.c): run fn(c, arg) in a batch,
   under c->lock (it uses core_begin() and core_commit() for its changes),
   and return once the batch is durable; false when the batch could not be
   committed or made durable. Not from inside a write. */
bool core_write(cse *c, void (*fn)(cse *c, void *arg), void *arg);
/* Jobs waiting for the next batch (for tests and diagnostics). */
unsigned core_write_queued(cse *c);
/* The store handle of the calling thread's current request. */
store *core_st(cse *c);
int core_delete_tree(cse *c, res *r, const char *fr, bool notify_parent);
int core_store_update(cse *c, res *r);
json_t *core_repr(const res *r);                 /* {"m2m:xxx": {...}} without hidden attrs */
json_t *core_attrs_public(const res *r);          /* copy of a without hidden attrs */
res *core_get_by_id(cse *c, const char *id);      /* any ID form of a local resource */
int core_internal_request(cse *c, const m2m_request *req, m2m_response *rsp);
bool core_is_rel4(const op_ctx *x);
const char *core_to_sp_relative(cse *c, const char *ri, char *buf, size_t len);

/* acp_eval.c: may fr perform op (ACOP_* bit) on r? */
enum { ACOP_CREATE = 1, ACOP_RETRIEVE = 2, ACOP_UPDATE = 4, ACOP_DELETE = 8,
       ACOP_NOTIFY = 16, ACOP_DISCOVERY = 32 };
bool acp_permitted(cse *c, const m2m_request *req, const res *r, unsigned op, int cty);
bool acp_self_permitted(cse *c, const m2m_request *req, const res *acp, unsigned op);
/* Normalise an originator/ID to its CSE-relative short form when local. */
const char *acp_norm_id(cse *c, const char *id);
bool acp_match_originator(cse *c, const json_t *acor, const char *fr);

/* notify.c */
int notifier_start(notifier **out, cse *c, unsigned threads);
void notifier_stop(notifier **n);
/* Raise an event on subject (net 1 update, 2 delete) or on its parent
   (net 3/4, child = the created/deleted child). Called under the lock. */
void notify_event(cse *c, const res *subject, int net, const res *child, const json_t *changed);
/* Hand the notifications raised in the committed transaction to the
   workers, or drop them after a rollback. */
void notify_flush(cse *c);
void notify_discard(cse *c);
/* Position in the pending list, and dropping what came after it. */
void *notify_mark(cse *c);
void notify_truncate(cse *c, void *mark);
/* Run run(c, arg) when the batch holding the current request commits, or
   drop(arg) when the request or its batch rolls back (drop may be NULL).
   Called under the lock, on the request path; run is called from the
   commit, still under the lock, so it must only hand work over. */
void notify_after_commit(cse *c, void (*run)(cse *, void *), void *arg, void (*drop)(void *));
/* Send the deletion notification of a subscription being deleted. */
void notify_sub_deleted(cse *c, const res *sub);
/* Verification request for a new subscription; returns 0 or an rsc. */
int notify_verify(cse *c, const res *sub, const char *target, const char *creator, m2m_response *rsp);
/* Resolve one nu entry to a list of URLs (AE poa or direct URL). */
json_t *notify_resolve_target(cse *c, const char *nu);

/* res_grp.c */
int grp_fanout(op_ctx *x, const res *g, const char *rest);

#endif
