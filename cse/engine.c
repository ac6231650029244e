/*
 * engine.c - the request pipeline (TS-0004 7.2.2.2 receiver order):
 * validate the primitive -> resolve the address -> access control ->
 * operation driven by the target's res_type -> store -> notifications ->
 * response content per rcn.
 *
 * Reads (retrieve, discovery, notify) run in parallel, each on its thread's
 * own store handle inside one read snapshot. Writes run one at a time under
 * cse.lock, each as a savepoint inside a shared batch transaction that is
 * group-committed (see "Transactions and group commit" below);
 * notifications raised by a write are queued for delivery only when its
 * batch committed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "announce.h"
#include "link.h"
#include "route.h"
#include "limits.h"
#include "log.h"
#include "rsc.h"
#include "util.h"
#include "../bindings/transport.h"
#include "../mgmtobj/mgmtobj.h"

/* ---------- helpers ---------- */

json_t *core_attrs_public(const res *r)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(r->a, k, v)
		if (k[0] != '_')
			json_object_set(o, k, v);
	return o;
}

/* {"m2m:xxx": a} sharing r's attribute object, hidden attributes removed
   from it in place: for a resource the caller owns and will not store. */
static json_t *repr_take(res *r)
{
	const res_type *t = restype_of(r);
	for (;;) {
		const char *hidden = NULL, *k;
		json_t *v;
		json_object_foreach(r->a, k, v)
			if (k[0] == '_') {
				hidden = k;
				break;
			}
		if (!hidden)
			break;
		json_object_del(r->a, hidden);
	}
	return json_pack("{s:O}", t ? t->root : "m2m:unknown", r->a);
}

json_t *core_repr(const res *r)
{
	const res_type *t = restype_of(r);
	json_t *o = json_object();
	json_object_set_new(o, t ? t->root : "m2m:unknown", core_attrs_public(r));
	return o;
}

bool core_is_rel4(const op_ctx *x)
{
	return strcmp(x->rel, "4") == 0;
}

const char *core_to_sp_relative(cse *c, const char *ri, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->csi, ri);
	return buf;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

/*
 * Transactions and group commit.
 *
 * A write (create, update, delete, the reaper's expiries) is a job in a
 * queue. Whichever waiting thread finds no batch running takes the whole
 * queue and runs it as one batch: one store transaction, each job's units
 * of change in savepoints of it (core_begin/core_commit/core_rollback), so
 * a failed request undoes only itself and drops only its own
 * notifications. The batch then commits: the WAL is written once for all
 * of them (hot pages such as the parent container and index tails once,
 * not once per request), and from then on it survives kill -9. The thread
 * gives the turn to the next queued job's thread, which fills the next
 * batch meanwhile, and makes its batch survive power loss with one store
 * sync() (unless a sync is running: a committed job's thread starts the
 * next one when it ends; and when the thread's own job changed nothing it
 * returns at once, after waking the first committed job's thread to sync
 * instead). Every job is answered once the sync covering its batch has
 * ended; a job that changed nothing does not wait for one. The batch's
 * transaction opens before its first job, so that the lookups a job makes
 * before its first change share it.
 *
 * So an uncontended write runs on its own thread with no hand-over at all,
 * and under load each waiting thread is woken once, when its answer is
 * ready, instead of queueing on a lock (a convoy: on this design's first
 * version, with a writers' lock and a flusher thread, 32 % of the time of
 * concurrent creates went to the scheduler).
 *
 * Readers take no lock: each thread reads through its own store handle,
 * which sees committed data.
 */
static __thread store *tls_st;

store *core_st(cse *c)
{
	return tls_st ? tls_st : c->st;
}

int core_begin(cse *c, void **mark)
{
	if (!c->batch_open) {
		if (c->st->ops->begin(c->st) != STORE_OK)
			return STORE_ERROR;
		c->batch_open = true;
	}
	c->n_units++;
	*mark = notify_mark(c);
	return c->st->ops->savepoint(c->st);
}

int core_commit(cse *c, void *mark)
{
	(void)mark;
	return c->st->ops->release(c->st);
}

void core_rollback(cse *c, void *mark)
{
	if (c->st->ops->rollback_to(c->st) != STORE_OK)
		log_error("request rollback failed");
	notify_truncate(c, mark);
}

enum { J_QUEUED, J_COMMITTED, J_DONE };

struct wjob {
	void (*fn)(cse *c, void *arg);
	void *arg;
	wjob *next;
	int state;      /* J_*, under q_mx */
	bool ok;        /* its batch committed and was made durable */
	bool wrote;     /* it began a unit of change */
	uint64_t batch; /* J_COMMITTED: its batch's sequence number */
	pthread_cond_t cv;
};

/* Commit the open batch (under c->lock). */
static bool batch_commit(cse *c)
{
	if (!c->batch_open)
		return true;
	c->batch_open = false;
	bool ok = c->st->ops->commit(c->st) == STORE_OK;
	announce_flush(c); /* events only say "look again": harmless after a failure */
	if (ok) {
		notify_flush(c);
	} else {
		c->st->ops->rollback(c->st);
		notify_discard(c);
		log_error("commit of batch %llu failed", (unsigned long long)c->commit_seq + 1);
	}
	return ok;
}

static void job_done(wjob *j, bool ok)
{
	j->ok = ok;
	j->state = J_DONE;
	pthread_cond_signal(&j->cv);
}

/* Run every queued job as one batch; self is the caller's own job. Called
   and returns with q_mx held. */
static void run_batch(cse *c, wjob *self)
{
	wjob *list = c->q_head;
	c->q_head = c->q_tail = NULL;
	c->writing = true;
	pthread_mutex_unlock(&c->q_mx);

	pthread_mutex_lock(&c->lock);
	tls_st = c->st;
	/* One transaction from the first job's first lookup on: the reads a
	   job makes before its first change (resolving the target, access
	   control) would otherwise each open and close a read transaction of
	   their own. A batch that changes nothing commits an empty
	   transaction, which writes nothing. If begin fails, core_begin()
	   tries again at the first change. */
	if (!c->batch_open && c->st->ops->begin(c->st) == STORE_OK)
		c->batch_open = true;
	for (wjob *j = list; j; j = j->next) {
		unsigned before = c->n_units;
		j->fn(c, j->arg);
		j->wrote = c->n_units != before;
	}
	tls_st = NULL;
	bool committed = c->batch_open, ok = batch_commit(c);
	pthread_mutex_unlock(&c->lock);

	pthread_mutex_lock(&c->q_mx);
	c->writing = false;
	uint64_t seq = committed && ok ? ++c->commit_seq : 0;
	for (wjob *j = list, *next; j; j = next) {
		next = j->next;
		j->next = NULL;
		if (!j->wrote) {
			job_done(j, true);
		} else if (!seq) {
			job_done(j, false);
		} else {
			j->batch = seq;
			j->state = J_COMMITTED;
			if (c->s_tail)
				c->s_tail->next = j;
			else
				c->s_head = j;
			c->s_tail = j;
		}
	}
	if (c->q_head) /* the turn goes to the next queued job's thread */
		pthread_cond_signal(&c->q_head->cv);
	/* The caller syncs its own batch unless its job wrote nothing (it is
	   done already and returns): then the first committed job's thread,
	   asleep since it queued, must be woken to start the sync. */
	if (self->state == J_DONE && c->s_head && !c->syncing)
		pthread_cond_signal(&c->s_head->cv);
}

/* Make every committed batch durable. Called and returns with q_mx held. */
static void run_sync(cse *c)
{
	uint64_t target = c->commit_seq;
	c->syncing = true;
	pthread_mutex_unlock(&c->q_mx);
	bool ok = c->st->ops->sync(c->st) == STORE_OK;
	pthread_mutex_lock(&c->q_mx);
	c->syncing = false;
	if (!ok)
		log_error("the store could not make batches up to %llu durable", (unsigned long long)target);
	c->synced_seq = target;
	while (c->s_head && c->s_head->batch <= target) {
		wjob *j = c->s_head;
		c->s_head = j->next;
		if (!c->s_head)
			c->s_tail = NULL;
		j->next = NULL;
		job_done(j, ok);
	}
	if (c->s_head) /* committed meanwhile: its thread starts the next sync */
		pthread_cond_signal(&c->s_head->cv);
}

unsigned core_write_queued(cse *c)
{
	unsigned n = 0;
	pthread_mutex_lock(&c->q_mx);
	for (const wjob *j = c->q_head; j; j = j->next)
		n++;
	pthread_mutex_unlock(&c->q_mx);
	return n;
}

bool core_write(cse *c, void (*fn)(cse *c, void *arg), void *arg)
{
	wjob j = { .fn = fn, .arg = arg, .state = J_QUEUED };
	pthread_cond_init(&j.cv, NULL);
	pthread_mutex_lock(&c->q_mx);
	if (c->q_tail)
		c->q_tail->next = &j;
	else
		c->q_head = &j;
	c->q_tail = &j;
	while (j.state != J_DONE) {
		if (j.state == J_QUEUED && !c->writing)
			run_batch(c, &j);
		else if (j.state == J_COMMITTED && !c->syncing)
			run_sync(c);
		else
			pthread_cond_wait(&j.cv, &c->q_mx);
	}
	pthread_mutex_unlock(&c->q_mx);
	pthread_cond_destroy(&j.cv);
	return j.ok;
}

/*
 * Parsed-resource cache of a reader thread. The read path looks the same
 * few resources up again and again (the container of the instances being
 * read, for its policy and disr); their stored text is parsed once. An
 * entry serves only when the stored text is byte for byte the text it was
 * parsed from, so it is never stale; the lookup itself still goes to the
 * store. The attribute object handed out is shared with the cache: callers
 * (the read paths below) only read it.
 */
#define PCACHE_N 16

typedef struct pcache {
	char *raw[PCACHE_N];
	json_t *a[PCACHE_N];
} pcache;

static void pcache_free(void *p)
{
	pcache *pc = p;
	for (int i = 0; pc && i < PCACHE_N; i++) {
		free(pc->raw[i]);
		json_decref(pc->a[i]);
	}
	free(pc);
}

/* Look a resource up by ri, or by structured path, for reading only. */
static int lookup_shared(cse *c, const char *key, bool by_path, res **out)
{
	store *st = core_st(c);
	pcache *pc = NULL;
	if (c->readers_ok && tls_st && tls_st != c->st) {
		pc = pthread_getspecific(c->ckey);
		if (!pc && (pc = calloc(1, sizeof(*pc))) != NULL && pthread_setspecific(c->ckey, pc) != 0) {
			free(pc);
			pc = NULL;
		}
	}
	if (!pc)
		return by_path ? st->ops->get_path(st, key, out) : st->ops->get(st, key, out);
	char *raw = NULL;
	int rc = by_path ? st->ops->get_path_raw(st, key, out, &raw) : st->ops->get_raw(st, key, out, &raw);
	if (rc != STORE_OK)
		return rc;
	unsigned slot = util_hash(raw) % PCACHE_N;
	if (pc->raw[slot] && strcmp(pc->raw[slot], raw) == 0) {
		(*out)->a = json_incref(pc->a[slot]);
		free(raw);
		return STORE_OK;
	}
	json_error_t e;
	json_t *a = json_loads(raw, JSON_ALLOW_NUL, &e);
	if (!a) {
		log_error("corrupt stored resource %s: %s", key, e.text);
		free(raw);
		res_free(out);
		return STORE_ERROR;
	}
	free(pc->raw[slot]);
	json_decref(pc->a[slot]);
	pc->raw[slot] = raw;
	pc->a[slot] = json_incref(a);
	(*out)->a = a;
	return STORE_OK;
}

/* This thread's read-only handle, opened on first use. */
static store *reader(cse *c)
{
	if (!c->readers_ok)
		return NULL;
	store *r = pthread_getspecific(c->rkey);
	if (r)
		return r;
	if (store_sqlite_open(c->cfg.db_path, &r) != STORE_OK)
		return NULL;
	pthread_mutex_lock(&c->readers_mx);
	if (c->nreaders == sizeof(c->readers) / sizeof(c->readers[0])) {
		pthread_mutex_unlock(&c->readers_mx);
		store_close(&r);
		return NULL;
	}
	c->readers[c->nreaders++] = r;
	pthread_mutex_unlock(&c->readers_mx);
	pthread_setspecific(c->rkey, r);
	return r;
}

static __thread bool tls_reader_locked;

store *core_reader_begin(cse *c)
{
	if (tls_st)
		return NULL; /* already inside a request: its handle serves */
	store *rd = reader(c);
	if (rd && rd->ops->read_begin(rd) == STORE_OK) {
		tls_st = rd;
		return rd;
	}
	/* no handle of its own (an in-memory store): the writer's, under its lock */
	pthread_mutex_lock(&c->lock);
	tls_st = c->st;
	tls_reader_locked = true;
	return NULL;
}

void core_reader_end(cse *c, store *rd)
{
	if (rd) {
		rd->ops->read_end(rd);
		tls_st = NULL;
	} else if (tls_reader_locked) {
		tls_reader_locked = false;
		tls_st = NULL;
		pthread_mutex_unlock(&c->lock);
	}
}

int core_store_update(cse *c, res *r)
{
	return core_st(c)->ops->update(core_st(c), r) == STORE_OK ? 0 : -1;
}

/* ---------- address resolution ---------- */

typedef struct target {
	res *r;          /* resolved resource (for la/ol/fopt: the parent) */
	bool want_raw;   /* a plain retrieve: an instance may stay unparsed */
	char *raw;       /* then: r->a is NULL and this is its stored JSON text */
	int vr;          /* VR_* */
	char *rest;      /* fopt: relative path after "fopt" ("" when none) */
	char attr[64];   /* "#attr" partial retrieve, "" when none */
} target;

static void target_clear(target *t)
{
	res_free(&t->r);
	free(t->rest);
	free(t->raw);
	memset(t, 0, sizeof(*t));
}

/* Look a path up; for a plain retrieve an instance whose stored text is
   its representation stays unparsed (tg->raw), anything else is parsed
   from the same row. */
static int lookup_path(cse *c, const char *path, target *tg)
{
	store *st = core_st(c);
	if (!tg->want_raw)
		return st->ops->get_path(st, path, &tg->r);
	int rc = st->ops->get_path_raw(st, path, &tg->r, &tg->raw);
	if (rc != STORE_OK)
		return rc;
	if (tg->r->ty == TY_CIN && !strstr(tg->raw, "\"_"))
		return STORE_OK;
	json_error_t e;
	tg->r->a = json_loads(tg->raw, JSON_ALLOW_NUL, &e);
	free(tg->raw);
	tg->raw = NULL;
	if (!tg->r->a) {
		res_free(&tg->r);
		log_error("corrupt stored resource at %s: %s", path, e.text);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* Structured path lookup with virtual resources la/ol/fopt. */
static int resolve_structured(cse *c, char *path, target *tg, m2m_response *rsp)
{
	store *st = core_st(c);
	int rc;
	/* <container>/la|ol first: it is the hot path, and no child of a
	   container can carry those names */
	char *slash = strrchr(path, '/');
	if (slash && (strcmp(slash + 1, "la") == 0 || strcmp(slash + 1, "ol") == 0)) {
		int vr = slash[1] == 'l' ? VR_LA : VR_OL;
		*slash = '\0';
		res *p = NULL;
		rc = lookup_shared(c, path, true, &p);
		*slash = '/';
		if (rc == STORE_OK && p->ty == TY_CNT) {
			tg->r = p;
			tg->vr = vr;
			return 0;
		}
		res_free(&p);
	}
	rc = lookup_path(c, path, tg);
	if (rc == STORE_OK)
		return 0;
	if (rc != STORE_NOTFOUND)
		return m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
	/* fopt anywhere: <group>/fopt[/rest] */
	for (char *p = strstr(path, "/fopt"); p; p = strstr(p + 1, "/fopt")) {
		if (p[5] != '\0' && p[5] != '/')
			continue;
		*p = '\0';
		res *g = NULL;
		rc = st->ops->get_path(st, path, &g);
		*p = '/';
		if (rc == STORE_OK && g->ty == TY_GRP) {
			tg->r = g;
			tg->vr = VR_FOPT;
			tg->rest = m2m_strdup(p[5] ? p + 5 : "");
			return 0;
		}
		res_free(&g);
	}
	return m2m_error(rsp, RSC_NOT_FOUND, "resource %s does not exist", path);
}

/*
 * Resolve `to` (CSE-relative, SP-relative or absolute; structured or
 * unstructured; optional #attr) to a local resource.
 */
static int resolve(cse *c, const char *to, target *tg, m2m_response *rsp)
{
	char buf[HL_MAX_ID + 64];
	size_t n = strlen(to);
	if (n == 0 || n >= HL_MAX_ID)
		return m2m_error(rsp, RSC_BAD_REQUEST, "invalid target address");
	memcpy(buf, to, n + 1);
	char *hash = strchr(buf, '#');
	if (hash) {
		*hash = '\0';
		if (strlen(hash + 1) >= sizeof(tg->attr) || !hash[1])
			return m2m_error(rsp, RSC_BAD_REQUEST, "invalid attribute in target address");
		snprintf(tg->attr, sizeof(tg->attr), "%s", hash + 1);
	}
	char *p = buf;
	int slashes = 0;
	while (p[slashes] == '/')
		slashes++;
	if (slashes > 2)
		return m2m_error(rsp, RSC_BAD_REQUEST, "invalid target address %s", to);
	if (slashes == 2) { /* //sp-id/cse-id/... */
		char *sp = p + 2, *e = strchr(sp, '/');
		if (!e)
			return m2m_error(rsp, RSC_BAD_REQUEST, "absolute address %s has no CSE-ID", to);
		*e = '\0';
		if (strcmp(sp, c->cfg.sp_id) != 0)
			return m2m_error(rsp, RSC_NOT_FOUND, "no route to service provider //%s", sp);
		*e = '/';
		p = e; /* now SP-relative */
		slashes = 1;
	}
	if (slashes == 1) { /* /cse-id/... */
		char *id = p + 1, *e = strchr(id, '/');
		size_t idl = e ? (size_t)(e - id) : strlen(id);
		if (idl != strlen(c->cfg.cse_id) || strncmp(id, c->cfg.cse_id, idl) != 0)
			return m2m_error(rsp, RSC_NOT_FOUND, "no route to CSE /%.*s", (int)idl, id);
		if (!e) { /* the CSE-ID alone addresses the CSEBase */
			p = c->cb_ri;
			return core_st(c)->ops->get(core_st(c), p, &tg->r) == STORE_OK ? 0
				: m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "CSEBase missing");
		}
		p = e + 1;
	}
	if (!*p)
		return m2m_error(rsp, RSC_BAD_REQUEST, "empty target address");
	/* p: CSE-relative; "-" stands for the CSEBase name */
	char path[HL_MAX_ID + 64];
	size_t rnl = strlen(c->cfg.cse_rn);
	if (p[0] == '-' && (p[1] == '/' || p[1] == '\0')) {
		snprintf(path, sizeof(path), "%s%s", c->cfg.cse_rn, p + 1);
		return resolve_structured(c, path, tg, rsp);
	}
	if (strncmp(p, c->cfg.cse_rn, rnl) == 0 && (p[rnl] == '/' || p[rnl] == '\0')) {
		snprintf(path, sizeof(path), "%s", p);
		size_t pl = strlen(path);
		while (pl > 0 && path[pl - 1] == '/')
			path[--pl] = '\0';
		return resolve_structured(c, path, tg, rsp);
	}
	/* unstructured: <ri>[/virtual or relative path] */
	char *s = strchr(p, '/');
	if (s)
		*s = '\0';
	res *r = NULL;
	int rc = core_st(c)->ops->get(core_st(c), p, &r);
	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? m2m_error(rsp, RSC_NOT_FOUND, "resource %s does not exist", p)
			: m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
	if (!s) {
		tg->r = r;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", r->path, s + 1);
	res_free(&r);
	return resolve_structured(c, path, tg, rsp);
}

res *core_get_by_id(cse *c, const char *id)
{
	target tg;
	m2m_response tmp;
	memset(&tg, 0, sizeof(tg));
	m2m_response_init(&tmp);
	res *r = NULL;
	if (id && *id && resolve(c, id, &tg, &tmp) == 0 && tg.vr == VR_NONE) {
		r = tg.r;
		tg.r = NULL;
	}
	target_clear(&tg);
	m2m_response_clear(&tmp);
	return r;
}

/* ---------- content per rcn ---------- */

typedef struct collect {
	res **v;
	size_t n, cap, max;
} collect;

static int collect_visit(void *ctx, const res *r)
{
	collect *cl = ctx;
	if (cl->n >= cl->max)
		return 1;
	if (cl->n == cl->cap) {
		size_t nc = cl->cap ? cl->cap * 2 : 16;
		res **nv = realloc(cl->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		cl->v = nv;
		cl->cap = nc;
	}
	cl->v[cl->n++] = res_dup(r);
	return 0;
}

static void collect_free(collect *cl)
{
	for (size_t i = 0; i < cl->n; i++)
		res_free(&cl->v[i]);
	free(cl->v);
	memset(cl, 0, sizeof(*cl));
}

static json_t *child_ref(const res *r)
{
	return json_pack("{s:s,s:i,s:s}", "nm", r->rn, "typ", r->ty, "val", r->path);
}

/* Children of r visible to the originator and matching f (fu=2). */
static int visible_children(cse *c, const m2m_request *req, const res *r, const m2m_filter *f,
                            collect *out)
{
	collect all = { .max = HL_MAX_RESULTS };
	if (core_st(c)->ops->children(core_st(c), r->ri, 0, false, -1, collect_visit, &all) != STORE_OK) {
		collect_free(&all);
		return -1;
	}
	out->max = HL_MAX_RESULTS;
	long skip = f->ofst > 1 ? f->ofst - 1 : 0;
	for (size_t i = 0; i < all.n; i++) {
		res *ch = all.v[i];
		if (filter_has_conditions(f) && !filter_match(f, ch->ty, ch->a))
			continue;
		if (!acp_permitted(c, req, ch, ACOP_RETRIEVE, 0))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if (f->lim >= 0 && (long)out->n >= f->lim)
			break;
		collect_visit(out, ch);
	}
	collect_free(&all);
	return 0;
}

/* Inline children grouped by type root, recursively up to lvl. */
static void add_children_inline(cse *c, const m2m_request *req, const res *r, json_t *into,
                                const m2m_filter *f, long depth)
{
	if (f->lvl >= 0 && depth > f->lvl)
		return;
	if (depth > (long)HL_MAX_TREE_DEPTH)
		return;
	collect ch = { 0 };
	if (visible_children(c, req, r, f, &ch) != 0)
		return;
	for (size_t i = 0; i < ch.n; i++) {
		const res_type *t = restype_of(ch.v[i]);
		if (!t)
			continue;
		json_t *arr = json_object_get(into, t->root);
		if (!arr) {
			arr = json_array();
			json_object_set_new(into, t->root, arr);
		}
		json_t *a = core_attrs_public(ch.v[i]);
		add_children_inline(c, req, ch.v[i], a, f, depth + 1);
		json_array_append_new(arr, a);
	}
	collect_free(&ch);
}

static json_t *content_for_rcn(cse *c, const m2m_request *req, const res *r, int rcn,
                               const m2m_filter *f)
{
	const res_type *t = restype_of(r);
	json_t *a, *o;
	switch (rcn) {
	case 1:
		return core_repr(r);
	case 4:
	case 8:
		a = rcn == 4 ? core_attrs_public(r) : json_object();
		add_children_inline(c, req, r, a, f, 1);
		o = json_object();
		json_object_set_new(o, t->root, a);
		return o;
	case 5:
	case 6: {
		collect ch = { 0 };
		json_t *refs = json_array();
		if (visible_children(c, req, r, f, &ch) == 0)
			for (size_t i = 0; i < ch.n; i++)
				json_array_append_new(refs, child_ref(ch.v[i]));
		collect_free(&ch);
		if (rcn == 6)
			return json_pack("{s:{s:o}}", "m2m:rrl", "rrf", refs);
		a = core_attrs_public(r);
		json_object_set_new(a, "ch", refs);
		o = json_object();
		json_object_set_new(o, t->root, a);
		return o;
	}
	default:
		return NULL;
	}
}

/* ---------- primitive validation ---------- */

static const char *const releases[] = { "2a", "3", "4" };

static int validate_primitive(cse *c, const m2m_request *req, op_ctx *x, m2m_response *rsp)
{
	(void)c;
	if (req->op < M2M_OP_CREATE || req->op > M2M_OP_NOTIFY)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing or invalid operation");
	if (!req->rqi || !*req->rqi)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing request identifier (rqi)");
	if (!req->to || !*req->to)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing target (to)");
	if (req->rvi) {
		size_t i;
		for (i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
			if (strcmp(req->rvi, releases[i]) == 0)
				break;
		if (i == sizeof(releases) / sizeof(releases[0]))
			return m2m_error(rsp, RSC_RELEASE_VERSION_NOT_SUPPORTED,
			                 "release version %s is not supported (2a, 3, 4 are)", req->rvi);
		snprintf(x->rel, sizeof(x->rel), "%s", req->rvi);
	} else {
		snprintf(x->rel, sizeof(x->rel), "2a"); /* older client: oldest supported rules */
	}
	bool ae_create = req->op == M2M_OP_CREATE && req->ty == TY_AE;
	if (!req->fr && !ae_create)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing originator (X-M2M-Origin / fr)");
	if (req->fr && !*req->fr && !ae_create)
		return m2m_error(rsp, RSC_BAD_REQUEST, "empty originator");
	if (req->op == M2M_OP_CREATE && req->ty < 0)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing resource type (ty) in create");
	if (req->op != M2M_OP_CREATE && req->ty >= 0)
		return m2m_error(rsp, RSC_BAD_REQUEST, "resource type (ty) is only allowed in create");
	if (req->op == M2M_OP_CREATE && req->fc)
		return m2m_error(rsp, RSC_BAD_REQUEST, "filter criteria are not allowed in create");
	if (req->rtv >= 0) {
		if (req->rtv == 1 || req->rtv == 2)
			return m2m_error(rsp, RSC_NON_BLOCKING_SYNCH_REQUEST_NOT_SUPPORTED,
			                 "non-blocking requests are not supported");
		if (req->rtv != 3 && req->rtv != 4)
			return m2m_error(rsp, RSC_BAD_REQUEST, "invalid response type %d", req->rtv);
	}
	if (req->drt >= 0 && req->drt != 1 && req->drt != 2)
		return m2m_error(rsp, RSC_BAD_REQUEST, "invalid desired identifier result type %d", req->drt);
	char ts[24];
	if (req->rqet) {
		if (util_absrel(req->rqet, ts) != 0)
			return m2m_error(rsp, RSC_BAD_REQUEST, "invalid request expiration timestamp");
		char now[24];
		util_now(now);
		if (strcmp(ts, now) < 0)
			return m2m_error(rsp, RSC_REQUEST_TIMEOUT, "request expiration time has passed");
	}
	if (req->rset && util_absrel(req->rset, ts) != 0)
		return m2m_error(rsp, RSC_BAD_REQUEST, "invalid result expiration timestamp");
	if (req->oet && util_absrel(req->oet, ts) != 0)
		return m2m_error(rsp, RSC_BAD_REQUEST, "invalid operation execution time");
	return 0;
}

/* ---------- attribute validation ---------- */

static int check_attrs(op_ctx *x, bool create)
{
	const char *k;
	json_t *v;
	json_object_foreach(x->in, k, v) {
		const attr_def *d = k[0] == '_' ? NULL : restype_attr(x->t, k);
		if (!d)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute %s is not defined for %s", k, x->t->root);
		int rule = create ? d->c : d->u;
		if (rule == AP_NP)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute %s is not permitted in %s", k,
			                 create ? "create" : "update");
		if (json_is_null(v)) {
			if (create && strcmp(k, "cr") != 0)
				return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute %s: null is not allowed in create", k);
			if (!create && d->c == AP_M)
				return m2m_error(x->rsp, RSC_BAD_REQUEST, "mandatory attribute %s cannot be deleted", k);
			continue;
		}
		if (create && strcmp(k, "cr") == 0)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute cr must be null in create");
		const char *why = restype_check_value(d, v);
		if (why)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute %s %s", k, why);
		if (json_is_array(v) && json_array_size(v) > HL_MAX_LIST)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute %s has more than %u entries", k, HL_MAX_LIST);
	}
	if (create)
		for (size_t i = 0; i < x->t->nattrs; i++)
			if (x->t->attrs[i].c == AP_M && !json_object_get(x->in, x->t->attrs[i].sn))
				return m2m_error(x->rsp, RSC_BAD_REQUEST, "mandatory attribute %s is missing",
				                 x->t->attrs[i].sn);
	return 0;
}

/* et handling: returns 0 and the normalised value, or an rsc. */
static int check_et(op_ctx *x, const json_t *v, char out[24])
{
	char tmp[24];
	if (json_is_integer(v)) {
		snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
		if (util_absrel(tmp, out) != 0)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "invalid expiration time");
	} else if (util_absrel(json_string_value(v), out) != 0) {
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "invalid expiration time %s", json_string_value(v));
	}
	char now[24];
	util_now(now);
	if (strcmp(out, now) <= 0)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "expiration time is in the past");
	return 0;
}

/* Unwrap pc {"<root>": {...}} for type t. */
static int unwrap_pc(op_ctx *x, const char *root)
{
	const m2m_request *req = x->req;
	if (!req->pc || !json_is_object(req->pc) || json_object_size(req->pc) != 1)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "content must hold exactly one resource (%s)", root);
	json_t *in = json_object_get(req->pc, root);
	if (!in) {
		const char *k = json_object_iter_key(json_object_iter(req->pc));
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "content root %s does not match the resource type (%s)",
		                 k ? k : "?", root);
	}
	if (!json_is_object(in))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "content of %s must be an object", root);
	x->in = in;
	return 0;
}

/* ---------- create ---------- */

/* Universal attributes first, as in the XSD order, then the rest. */
static void order_attrs(res *r)
{
	static const char *const first[] = { "ty", "ri", "rn", "pi", "ct", "lt", "et", "st", "lbl", "acpi", "at", "aa", "cr" };
	json_t *o = json_object();
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		json_t *v = json_object_get(r->a, first[i]);
		if (v)
			json_object_set(o, first[i], v);
	}
	const char *k;
	json_t *v;
	json_object_foreach(r->a, k, v)
		if (!json_object_get(o, k))
			json_object_set(o, k, v);
	json_decref(r->a);
	r->a = o;
}

static bool known_spec_type(int ty)
{
	return (ty >= 1 && ty <= 66) || (ty >= 10001 && ty <= 10066);
}

static const char *const reserved_rn[] = { "la", "ol", "fopt", "sfop", "pcu", "ntsr", "smv", "msp" };

static void diff_added(json_t *out, const json_t *before, const json_t *after)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)after, k, v) {
		if (k[0] == '_')
			continue;
		json_t *b = json_object_get(before, k);
		if (!b || !json_equal(b, v))
			json_object_set(out, k, v);
	}
}

static int op_create(op_ctx *x, target *tg)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	m2m_response *rsp = x->rsp;
	res *parent = tg->r;

	if (tg->vr == VR_FOPT)
		return grp_fanout(x, tg->r, tg->rest);
	if (tg->vr == VR_LA || tg->vr == VR_OL)
		return m2m_error(rsp, RSC_OPERATION_NOT_ALLOWED, "create is not allowed on latest/oldest");
	x->t = restype_get(req->ty);
	if (req->ty == TY_MGMTOBJ) { /* the specialization, by the content's root */
		int prc = mgmtobj_pick(req->pc, &x->t, rsp);
		if (prc)
			return prc;
	} else if (req->ty == TY_MGMTOBJ + TY_ANNC_OFFSET && json_object_size(req->pc) == 1) {
		/* announced specialization: by its root too ("m2m:fwrA") */
		const res_type *at = restype_annc_by_root(json_object_iter_key(json_object_iter(req->pc)));
		x->t = at && at->ty == req->ty ? at : NULL;
		if (!x->t)
			return m2m_error(rsp, RSC_BAD_REQUEST, "content is not an announced mgmtObj specialization");
	}
	if (!x->t)
		return known_spec_type(req->ty)
			? m2m_error(rsp, RSC_NOT_IMPLEMENTED, "resource type %d is not supported", req->ty)
			: m2m_error(rsp, RSC_BAD_REQUEST, "unknown resource type %d", req->ty);
	if (x->t->no_create)
		return m2m_error(rsp, RSC_OPERATION_NOT_ALLOWED, "%s cannot be created", x->t->root);
	int rc = unwrap_pc(x, x->t->root);
	if (rc)
		return rc;
	if (req->ty == TY_SUB) {
		const res_type *pt = restype_of(parent);
		if (!pt || !pt->subscribable)
			return m2m_error(rsp, RSC_TARGET_NOT_SUBSCRIBABLE, "resources of type %d cannot be subscribed to",
			                 parent->ty);
	} else if (!restype_parent_ok(x->t, parent->ty)) {
		return m2m_error(rsp, RSC_INVALID_CHILD_RESOURCE_TYPE, "%s cannot be created under a resource of type %d",
		                 x->t->root, parent->ty);
	}
	if (req->ty == TY_SUB) {
		if (!acp_permitted(c, req, parent, ACOP_RETRIEVE, 0))
			return m2m_error(rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE,
			                 "originator %s may not retrieve the subscribed-to resource", req->fr);
	} else if (req->ty != TY_AE && !(req->ty == TY_CSR && parent->ty == TY_CB) &&
	           !acp_permitted(c, req, parent, ACOP_CREATE, req->ty)) {
		/* (registrations, AE and remoteCSE at the CSEBase, follow their
		   own rules in the type's hook instead of access control) */
		return m2m_error(rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not create %s here",
		                 req->fr ? req->fr : "", x->t->root);
	}
	if (req->rcn >= 0 && req->rcn != 0 && req->rcn != 1 && req->rcn != 2 && req->rcn != 3 && req->rcn != 9)
		return m2m_error(rsp, RSC_BAD_REQUEST, "result content %d is not valid for create", req->rcn);
	rc = check_attrs(x, true);
	if (rc)
		return rc;

	/* Build the new resource. */
	char now[24], ri[64], et[24];
	util_now(now);
	util_ordered_id(x->t->prefix, ri, sizeof(ri));
	json_t *a = json_deep_copy(x->in);
	json_object_set_new(a, "ty", json_integer(req->ty));
	json_object_set_new(a, "pi", json_string(parent->ri));
	set_str(a, "ct", now);
	set_str(a, "lt", now);
	if (x->t->common & RA_ET) {
		json_t *etv = json_object_get(x->in, "et");
		if (etv) {
			rc = check_et(x, etv, et);
			if (rc) {
				json_decref(a);
				return rc;
			}
		} else {
			util_time_from_now(c->cfg.default_et_s * 1000, et);
		}
		const char *pet = json_string_value(json_object_get(parent->a, "et"));
		if (pet && strcmp(pet, et) < 0)
			snprintf(et, sizeof(et), "%s", pet);
		set_str(a, "et", et);
	}
	if (x->t->common & RA_ST)
		json_object_set_new(a, "st", json_integer(0));
	if (json_object_get(x->in, "cr"))
		set_str(a, "cr", req->fr ? req->fr : "");
	/* the creator decides the default policy of types with acpi and of
	   policies themselves; instances answer to their parent's */
	if ((x->t->common & RA_ACPI) || req->ty == TY_ACP)
		set_str(a, HA_ORIG, req->fr ? req->fr : "");
	const char *rn = json_string_value(json_object_get(x->in, "rn"));
	if (rn && !*rn) {
		json_decref(a);
		return m2m_error(rsp, RSC_BAD_REQUEST, "resource name must not be empty");
	}
	x->nr = res_new(req->ty, ri, parent->ri, rn ? rn : "", "", a);
	json_decref(a);
	x->target = parent;

	void *mark = NULL;
	rc = core_begin(c, &mark) == STORE_OK ? 0 : m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
	if (rc)
		return rc;
	if (x->t->on_create && (rc = x->t->on_create(x)) != 0)
		goto fail;
	/* Name: given (validated) or generated; the hook may have chosen one. */
	bool gen_rn = !x->nr->rn[0];
	bool gen_ri = req->ty != TY_AE && req->ty != TY_CSR;
	if (gen_rn && !gen_ri) {
		free(x->nr->rn);
		x->nr->rn = m2m_strdup(x->nr->ri);
		gen_rn = false;
	} else if (!gen_rn) {
		if (!util_valid_name(x->nr->rn, HL_MAX_RN)) {
			rc = m2m_error(rsp, RSC_BAD_REQUEST, "invalid resource name '%s'", x->nr->rn);
			goto fail;
		}
		for (size_t i = 0; i < sizeof(reserved_rn) / sizeof(reserved_rn[0]); i++)
			if (strcmp(x->nr->rn, reserved_rn[i]) == 0) {
				rc = m2m_error(rsp, RSC_BAD_REQUEST, "resource name '%s' is reserved", x->nr->rn);
				goto fail;
			}
	}
	int depth = 0;
	for (const char *s = parent->path; *s; s++)
		depth += *s == '/';
	if (depth + 1 >= (int)HL_MAX_TREE_DEPTH) {
		rc = m2m_error(rsp, RSC_BAD_REQUEST, "resource tree deeper than %u levels", HL_MAX_TREE_DEPTH);
		goto fail;
	}
	/* Generated identifiers are time-ordered, and a generated name has the
	   digits of the ri; a clash (a clock set back since an earlier run)
	   draws random ones. */
	for (int attempt = 0;; attempt++) {
		if (gen_rn) {
			char gen[64], pre[16];
			snprintf(pre, sizeof(pre), "%s_", x->t->prefix);
			size_t pl = strlen(x->t->prefix);
			if (attempt == 0 && strncmp(x->nr->ri, x->t->prefix, pl) == 0)
				snprintf(gen, sizeof(gen), "%s%s", pre, x->nr->ri + pl);
			else
				util_random_id(pre, UTIL_ORDERED_DIGITS, gen, sizeof(gen));
			free(x->nr->rn);
			x->nr->rn = m2m_strdup(gen);
		}
		size_t plen = strlen(parent->path) + 1 + strlen(x->nr->rn) + 1;
		free(x->nr->path);
		x->nr->path = malloc(plen);
		if (!x->nr->path)
			abort();
		snprintf(x->nr->path, plen, "%s/%s", parent->path, x->nr->rn);
		set_str(x->nr->a, "rn", x->nr->rn);
		set_str(x->nr->a, "ri", x->nr->ri);
		order_attrs(x->nr);
		int src = core_st(c)->ops->insert(core_st(c), x->nr);
		if (src == STORE_OK)
			break;
		/* a conflict is on the path (the name) or on the ri: tell which */
		res *clash = NULL;
		if (src == STORE_CONFLICT && core_st(c)->ops->get_path(core_st(c), x->nr->path, &clash) == STORE_OK) {
			res_free(&clash);
			if (gen_rn && attempt < 8)
				continue;
			rc = m2m_error(rsp, RSC_CONFLICT, "a resource named %s already exists under %s", x->nr->rn,
			               parent->path);
			goto fail;
		}
		if (src == STORE_CONFLICT && gen_ri && attempt < 8) {
			char ri2[64];
			util_random_id(x->t->prefix, UTIL_ORDERED_DIGITS, ri2, sizeof(ri2));
			free(x->nr->ri);
			x->nr->ri = m2m_strdup(ri2);
			continue;
		}
		rc = src == STORE_CONFLICT
			? m2m_error(rsp, RSC_CONFLICT, "resource %s already exists", x->nr->ri)
			: m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
		goto fail;
	}
	if (x->t->on_created && (rc = x->t->on_created(x)) != 0)
		goto fail;
	if (x->parent_changed && core_st(c)->ops->update_body(core_st(c), parent) != STORE_OK) {
		rc = m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
		goto fail;
	}
	notify_event(c, parent, 3, x->nr, NULL);
	announce_touch(c, x->nr, false);
	if (core_commit(c, mark) != STORE_OK) {
		rc = m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store commit failed");
		goto fail;
	}

	rsp->location = m2m_strdup(x->nr->path);
	int rcn = req->rcn >= 0 ? req->rcn : 1;
	json_t *pc = NULL;
	if (rcn == 1) {
		pc = core_repr(x->nr);
	} else if (rcn == 2) {
		pc = json_pack("{s:s}", "m2m:uri", x->nr->path);
	} else if (rcn == 3) {
		pc = json_pack("{s:{s:o,s:s}}", "m2m:rce", x->t->root, core_attrs_public(x->nr), "uri", x->nr->path);
	} else if (rcn == 9) {
		json_t *mod = json_object();
		diff_added(mod, x->in, x->nr->a);
		pc = json_pack("{s:o}", x->t->root, mod);
	}
	return m2m_ok(rsp, RSC_CREATED, pc);
fail:
	core_rollback(c, mark);
	return rc;
}

/* ---------- retrieve / discovery ---------- */

static int partial(op_ctx *x, const res *r, json_t *names)
{
	const res_type *t = restype_of(r);
	json_t *o = json_object();
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		const char *sn = json_string_value(n);
		if (!sn || !restype_attr(t, sn)) {
			json_decref(o);
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute %s is not defined for %s",
			                 sn ? sn : "?", t->root);
		}
		json_t *v = json_object_get(r->a, sn);
		if (v)
			json_object_set(o, sn, v);
	}
	return m2m_ok(x->rsp, RSC_OK, json_pack("{s:o}", t->root, o));
}

/* Discovery streams candidates from the store and stops at lim. */
typedef struct disc {
	op_ctx *x;
	const m2m_filter *f;
	bool admin, full_match;
	long skip, want, got;
	int rcn;
	json_t *list;
	char memo_pi[HL_MAX_ID]; /* last parent whose policy decided a type without acpi */
	bool memo_ok;
	int err;
} disc;

/* Rows come without attributes; fetch them only when a decision needs them. */
static res *disc_full(disc *d, const res *r, res **owned)
{
	if (r->a)
		return (res *)r;
	if (!*owned && core_st(d->x->c)->ops->get(core_st(d->x->c), r->ri, owned) != STORE_OK)
		return NULL;
	return *owned;
}

static bool disc_permitted(disc *d, const res *r, res **owned)
{
	if (d->admin)
		return true;
	const res_type *t = restype_get(r->ty);
	if (t && !(t->common & RA_ACPI)) {
		/* decided by the parent: instances of one container come in a row */
		if (strcmp(d->memo_pi, r->pi) != 0) {
			res *p = NULL;
			d->memo_ok = lookup_shared(d->x->c, r->pi, false, &p) == STORE_OK &&
			             acp_permitted(d->x->c, d->x->req, p, ACOP_DISCOVERY, 0);
			res_free(&p);
			snprintf(d->memo_pi, sizeof(d->memo_pi), "%s", r->pi);
		}
		return d->memo_ok;
	}
	const res *full = disc_full(d, r, owned);
	return full && acp_permitted(d->x->c, d->x->req, full, ACOP_DISCOVERY, 0);
}

static int disc_visit(void *ctx, const res *r)
{
	disc *d = ctx;
	const m2m_filter *f = d->f;
	res *owned = NULL;
	int ret = 0;
	if (d->full_match || f->atr) {
		const res *full = disc_full(d, r, &owned);
		if (!full || (d->full_match ? !filter_match(f, r->ty, full->a) : !filter_match_atr(f, full->a)))
			goto out;
	}
	if (!disc_permitted(d, r, &owned))
		goto out;
	if (d->skip > 0) {
		d->skip--;
		goto out;
	}
	char buf[HL_MAX_ID];
	const char *id = d->x->req->drt == 2 ? r->ri : r->path;
	if (d->x->req->drt == 2 && core_is_rel4(d->x))
		id = core_to_sp_relative(d->x->c, r->ri, buf, sizeof(buf));
	if (d->rcn == 6)
		json_array_append_new(d->list, json_pack("{s:s,s:i,s:s}", "nm", r->rn, "typ", r->ty, "val", id));
	else
		json_array_append_new(d->list, json_string(id));
	ret = ++d->got >= d->want ? 1 : 0;
out:
	res_free(&owned);
	return ret;
}

static int op_discover(op_ctx *x, target *tg, m2m_filter *f)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	int rcn = req->rcn >= 0 ? req->rcn : 11;
	if (rcn != 11 && rcn != 6)
		return m2m_error(x->rsp, RSC_BAD_REQUEST,
		                 "result content %d is not valid for discovery (11 or 6)", rcn);
	disc d = {
		.x = x, .f = f, .rcn = rcn, .list = json_array(),
		.admin = req->fr && strcmp(req->fr, c->cfg.admin) == 0,
		.full_match = f->fo == 2 && f->atr,
		.want = f->lim >= 0 ? f->lim : (long)HL_MAX_RESULTS,
		.skip = f->ofst > 1 ? f->ofst - 1 : 0,
	};
	if (d.want > 0 && core_st(c)->ops->discover_refs(core_st(c), tg->r->path, f, disc_visit, &d) != STORE_OK) {
		json_decref(d.list);
		return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "discovery failed");
	}
	if (rcn == 6)
		return m2m_ok(x->rsp, RSC_OK, json_pack("{s:{s:o}}", "m2m:rrl", "rrf", d.list));
	return m2m_ok(x->rsp, RSC_OK, json_pack("{s:o}", "m2m:uril", d.list));
}

static int newest_or_oldest(cse *c, const res *cnt, bool newest, res **out)
{
	collect cl = { .max = 1 };
	int rc = core_st(c)->ops->children(core_st(c), cnt->ri, TY_CIN, newest, 1, collect_visit, &cl);
	if (rc != STORE_OK || cl.n == 0) {
		collect_free(&cl);
		return -1;
	}
	*out = cl.v[0];
	cl.v[0] = NULL;
	cl.n = 0;
	collect_free(&cl);
	return 0;
}

/* {"m2m:cin": <stored text>} as a new string, or NULL. */
static char *wrap_cin(const char *raw)
{
	size_t n = strlen(raw);
	char *json = malloc(n + 13);
	if (json) {
		memcpy(json, "{\"m2m:cin\":", 11);
		memcpy(json + 11, raw, n);
		memcpy(json + 11 + n, "}", 2);
	}
	return json;
}

/* The newest/oldest instance as ready JSON, when its stored text is
   exactly its representation (no hidden attributes). found: a row came. */
typedef struct raw_child {
	bool found;
	char *json;
} raw_child;

static int raw_visit(void *ctx, const res *r)
{
	raw_child *rc = ctx;
	rc->found = true;
	if (r->raw && !strstr(r->raw, "\"_"))
		rc->json = wrap_cin(r->raw);
	return 1;
}

static int op_retrieve(op_ctx *x, target *tg)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	m2m_filter f;
	char err[256];
	int prc = filter_parse(req->fc, &f, err, sizeof(err));
	if (prc != 0) {
		filter_clear(&f);
		return m2m_error(x->rsp, prc == -2 ? RSC_NOT_IMPLEMENTED : RSC_BAD_REQUEST, "%s", err);
	}
	int rc;
	if (tg->vr == VR_FOPT) {
		filter_clear(&f);
		return grp_fanout(x, tg->r, tg->rest);
	}
	if (f.fu == 1) {
		rc = op_discover(x, tg, &f);
		filter_clear(&f);
		return rc;
	}
	if (tg->raw) { /* a plain retrieve of an instance, served as stored */
		filter_clear(&f);
		res *p = NULL;
		if (lookup_shared(c, tg->r->pi, false, &p) != STORE_OK)
			return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "the container of %s is missing", tg->r->path);
		bool ok = acp_permitted(c, req, p, ACOP_RETRIEVE, 0);
		bool disr = json_is_true(json_object_get(p->a, "disr"));
		res_free(&p);
		if (!ok)
			return m2m_error(x->rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not retrieve %s",
			                 req->fr, tg->r->path);
		if (disr)
			return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED, "retrieval is disabled on the container");
		char *json = wrap_cin(tg->raw);
		if (!json)
			return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "out of memory");
		m2m_ok(x->rsp, RSC_OK, NULL);
		x->rsp->raw_pc = json;
		return RSC_OK;
	}
	/* An instance answers to its container's policy and disr, whether it
	   is addressed directly or as la/ol. */
	res *parent = NULL;
	res *guard = tg->r;
	if (tg->vr == VR_NONE && tg->r->ty == TY_CIN) {
		if (core_st(c)->ops->get(core_st(c), tg->r->pi, &parent) != STORE_OK) {
			filter_clear(&f);
			return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "the container of %s is missing", tg->r->path);
		}
		guard = parent;
	}
	if (!acp_permitted(c, req, guard, ACOP_RETRIEVE, 0)) {
		res_free(&parent);
		filter_clear(&f);
		return m2m_error(x->rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not retrieve %s",
		                 req->fr, tg->r->path);
	}
	bool disr = json_is_true(json_object_get(guard->a, "disr")) && (parent || tg->vr != VR_NONE);
	res_free(&parent);
	if (disr) {
		filter_clear(&f);
		return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED, "retrieval is disabled on the container");
	}
	if ((tg->vr == VR_LA || tg->vr == VR_OL) && req->raw_ok && req->rcn <= 1 && !tg->attr[0] && !req->pc) {
		/* hot path: the stored instance is its own representation */
		raw_child rc1 = { 0 };
		core_st(c)->ops->children_refs(core_st(c), tg->r->ri, TY_CIN, tg->vr == VR_LA, 1, raw_visit, &rc1);
		if (!rc1.found) {
			filter_clear(&f);
			return m2m_error(x->rsp, RSC_NOT_FOUND, "container %s has no content instance", tg->r->path);
		}
		if (rc1.json) {
			filter_clear(&f);
			m2m_ok(x->rsp, RSC_OK, NULL);
			x->rsp->raw_pc = rc1.json;
			return RSC_OK;
		}
		/* not servable raw (hidden attributes stored): the general path */
	}
	if (tg->vr == VR_LA || tg->vr == VR_OL) {
		res *ci = NULL;
		if (newest_or_oldest(c, tg->r, tg->vr == VR_LA, &ci) != 0) {
			filter_clear(&f);
			return m2m_error(x->rsp, RSC_NOT_FOUND, "container %s has no content instance", tg->r->path);
		}
		res_free(&tg->r);
		tg->r = ci;
		tg->vr = VR_NONE;
	}
	res *r = tg->r;
	int rcn = req->rcn >= 0 ? req->rcn : 1;
	if (rcn == 7) {
		filter_clear(&f);
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "result content 7 applies to announced resources only");
	}
	if (rcn != 1 && rcn != 4 && rcn != 5 && rcn != 6 && rcn != 8) {
		filter_clear(&f);
		return m2m_error(x->rsp, rcn == 10 || rcn == 12 ? RSC_NOT_IMPLEMENTED : RSC_BAD_REQUEST,
		                 "result content %d is not valid for retrieve", rcn);
	}
	json_t *atrl = req->pc ? json_object_get(req->pc, "m2m:atrl") : NULL;
	if (!atrl && req->pc)
		atrl = json_object_get(req->pc, "atrl");
	if (tg->attr[0] || atrl) {
		json_t *names = atrl ? json_incref(atrl) : json_pack("[s]", tg->attr);
		rc = json_is_array(names) ? partial(x, r, names)
			: m2m_error(x->rsp, RSC_BAD_REQUEST, "attribute list must be a list");
		json_decref(names);
		filter_clear(&f);
		return rc;
	}
	if (r->ty == TY_CB) {
		char now[24];
		util_now(now);
		json_object_set_new(r->a, "ctm", json_string(now));
	}
	rc = m2m_ok(x->rsp, RSC_OK, rcn == 1 ? repr_take(r) : content_for_rcn(c, req, r, rcn, &f));
	filter_clear(&f);
	return rc;
}

/* ---------- update ---------- */

static int op_update(op_ctx *x, target *tg)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	m2m_response *rsp = x->rsp;
	if (tg->vr == VR_FOPT)
		return grp_fanout(x, tg->r, tg->rest);
	if (tg->vr != VR_NONE)
		return m2m_error(rsp, RSC_OPERATION_NOT_ALLOWED, "update is not allowed on latest/oldest");
	res *r = tg->r;
	x->t = restype_of(r);
	if (!x->t)
		return m2m_error(rsp, RSC_NOT_IMPLEMENTED, "resource type %d is not supported", r->ty);
	if (x->t->no_update)
		return m2m_error(rsp, RSC_OPERATION_NOT_ALLOWED, "%s cannot be updated", x->t->root);
	int rc = unwrap_pc(x, x->t->root);
	if (rc)
		return rc;
	if (req->rcn >= 0 && req->rcn != 0 && req->rcn != 1 && req->rcn != 9)
		return m2m_error(rsp, RSC_BAD_REQUEST, "result content %d is not valid for update", req->rcn);
	json_t *acpi = json_object_get(x->in, "acpi");
	if (acpi && json_object_size(x->in) != 1)
		return m2m_error(rsp, RSC_BAD_REQUEST, "acpi must be the only attribute in its update");
	bool ok = acpi ? acp_self_permitted(c, req, r, ACOP_UPDATE)
		: acp_permitted(c, req, r, ACOP_UPDATE, 0);
	if (!ok)
		return m2m_error(rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not update %s", req->fr, r->path);
	rc = check_attrs(x, false);
	if (rc)
		return rc;
	json_t *etv = json_object_get(x->in, "et");
	char et[24] = "";
	if (etv && !json_is_null(etv) && (rc = check_et(x, etv, et)) != 0)
		return rc;

	x->nr = res_dup(r);
	x->target = r;
	x->changed = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(x->in, k, v) {
		if (json_is_null(v)) {
			if (strcmp(k, "et") == 0) {
				char def[24];
				util_time_from_now(c->cfg.default_et_s * 1000, def);
				json_object_set_new(x->nr->a, "et", json_string(def));
			} else {
				json_object_del(x->nr->a, k);
			}
		} else if (strcmp(k, "et") == 0) {
			json_object_set_new(x->nr->a, "et", json_string(et));
		} else {
			json_object_set(x->nr->a, k, v);
		}
		json_object_set(x->changed, k, json_object_get(x->nr->a, k) ? json_object_get(x->nr->a, k)
		                                                             : json_null());
	}
	char now[24];
	util_now(now);
	set_str(x->nr->a, "lt", now);
	json_object_set(x->changed, "lt", json_object_get(x->nr->a, "lt"));
	if (x->t->common & RA_ST) {
		json_int_t st = json_integer_value(json_object_get(x->nr->a, "st"));
		json_object_set_new(x->nr->a, "st", json_integer(st + 1));
		json_object_set(x->changed, "st", json_object_get(x->nr->a, "st"));
	}
	void *mark = NULL;
	if (core_begin(c, &mark) != STORE_OK)
		return m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
	if (x->t->on_update && (rc = x->t->on_update(x)) != 0)
		goto fail;
	if (core_store_update(c, x->nr) != 0) {
		rc = m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
		goto fail;
	}
	notify_event(c, x->nr, 1, NULL, x->changed);
	announce_touch(c, x->nr, false);
	if (core_commit(c, mark) != STORE_OK) {
		rc = m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store commit failed");
		goto fail;
	}
	int rcn = req->rcn >= 0 ? req->rcn : 1;
	json_t *pc = NULL;
	if (rcn == 1) {
		pc = core_repr(x->nr);
	} else if (rcn == 9) {
		json_t *mod = json_object();
		json_object_foreach(x->changed, k, v)
			if (!json_object_get(x->in, k))
				json_object_set(mod, k, v);
		pc = json_pack("{s:o}", x->t->root, mod);
	}
	return m2m_ok(rsp, RSC_UPDATED, pc);
fail:
	core_rollback(c, mark);
	return rc;
}

/* ---------- delete ---------- */

int core_delete_tree(cse *c, res *r, const char *fr, bool notify_parent)
{
	collect sub = { .max = (size_t)-1 };
	/* subscriptions on r hear about its deletion before they go */
	notify_event(c, r, 2, NULL, NULL);
	if (core_st(c)->ops->subtree(core_st(c), r->path, collect_visit, &sub) != STORE_OK) {
		collect_free(&sub);
		return -1;
	}
	for (size_t i = 0; i < sub.n; i++) {
		if (sub.v[i]->ty == TY_SUB)
			notify_sub_deleted(c, sub.v[i]);
		announce_touch(c, sub.v[i], true);
		if (core_st(c)->ops->remove(core_st(c), sub.v[i]->ri) != STORE_OK) {
			collect_free(&sub);
			return -1;
		}
	}
	collect_free(&sub);
	const res_type *t = restype_of(r);
	if (r->ty == TY_SUB)
		notify_sub_deleted(c, r);
	announce_touch(c, r, true);
	if (t && t->on_delete && t->on_delete(c, r, fr) != 0)
		return -1;
	if (core_st(c)->ops->remove(core_st(c), r->ri) != STORE_OK)
		return -1;
	if (notify_parent) {
		res *p = NULL;
		if (core_st(c)->ops->get(core_st(c), r->pi, &p) == STORE_OK)
			notify_event(c, p, 4, r, NULL);
		res_free(&p);
	}
	return 0;
}

static int op_delete(op_ctx *x, target *tg)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	m2m_response *rsp = x->rsp;
	if (tg->vr == VR_FOPT)
		return grp_fanout(x, tg->r, tg->rest);
	res *r = tg->r;
	if (!acp_permitted(c, req, r, ACOP_DELETE, 0))
		return m2m_error(rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not delete %s", req->fr, r->path);
	if (tg->vr == VR_LA || tg->vr == VR_OL) {
		if (json_is_true(json_object_get(r->a, "disr")))
			return m2m_error(rsp, RSC_OPERATION_NOT_ALLOWED, "retrieval is disabled on %s", r->path);
		res *ci = NULL;
		if (newest_or_oldest(c, r, tg->vr == VR_LA, &ci) != 0)
			return m2m_error(rsp, RSC_NOT_FOUND, "container %s has no content instance", r->path);
		res_free(&tg->r);
		tg->r = r = ci;
		tg->vr = VR_NONE;
	}
	const res_type *t = restype_of(r);
	if (!t || t->no_delete)
		return m2m_error(rsp, RSC_OPERATION_NOT_ALLOWED, "resource %s cannot be deleted", r->path);
	int rcn = req->rcn >= 0 ? req->rcn : 0;
	if (rcn != 0 && rcn != 1 && rcn != 4 && rcn != 5 && rcn != 6 && rcn != 8)
		return m2m_error(rsp, RSC_BAD_REQUEST, "result content %d is not valid for delete", rcn);
	m2m_filter f;
	char err[256];
	if (filter_parse(NULL, &f, err, sizeof(err)) != 0)
		return m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "%s", err);
	json_t *pc = rcn ? content_for_rcn(c, req, r, rcn, &f) : NULL;
	filter_clear(&f);
	void *mark = NULL;
	if (core_begin(c, &mark) != STORE_OK) {
		json_decref(pc);
		return m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "store failure");
	}
	if (core_delete_tree(c, r, req->fr, true) != 0 || core_commit(c, mark) != STORE_OK) {
		core_rollback(c, mark);
		json_decref(pc);
		return m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "delete failed");
	}
	return m2m_ok(rsp, RSC_DELETED, pc);
}

/* ---------- notify ---------- */

/* A CSE registered here (or this CSE) relays notifications of the
   subscriptions it hosts to AEs registered here. */
static bool notify_from_cse(cse *c, const char *fr)
{
	if (!fr || fr[0] != '/' || fr[1] == '/' || !fr[1] || strchr(fr + 1, '/'))
		return false;
	if (strcmp(fr, c->csi) == 0)
		return true;
	res *r = NULL;
	bool ok = core_st(c)->ops->get(core_st(c), fr + 1, &r) == STORE_OK && r->ty == TY_CSR;
	res_free(&r);
	return ok;
}

static int op_notify(op_ctx *x, target *tg)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	res *r = tg->r;
	if (!req->pc)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "notify without content");
	if (r->ty == TY_CB)
		return m2m_ok(x->rsp, RSC_OK, NULL);
	if (r->ty != TY_AE)
		return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED, "notify is only allowed to a CSEBase or an AE");
	if (!notify_from_cse(c, req->fr) && !acp_permitted(c, req, r, ACOP_NOTIFY, 0))
		return m2m_error(x->rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not notify %s", req->fr, r->path);
	json_t *poa = json_object_get(r->a, "poa");
	size_t i;
	json_t *u;
	json_array_foreach(poa, i, u) {
		m2m_response fw;
		m2m_response_init(&fw);
		if (transport_send(json_string_value(u), req, &fw, HL_NOTIFY_TIMEOUT_MS) == 0) {
			m2m_ok(x->rsp, fw.rsc, fw.pc);
			fw.pc = NULL;
			m2m_response_clear(&fw);
			return x->rsp->rsc;
		}
		m2m_response_clear(&fw);
	}
	return m2m_error(x->rsp, RSC_TARGET_NOT_REACHABLE, "AE %s cannot be reached", r->ri);
}

/* ---------- dispatch ---------- */

int core_internal_request(cse *c, const m2m_request *req, m2m_response *rsp)
{
	op_ctx x;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.req = req;
	x.rsp = rsp;
	if (validate_primitive(c, req, &x, rsp) != 0)
		return rsp->rsc;
	target tg;
	memset(&tg, 0, sizeof(tg));
	tg.want_raw = req->op == M2M_OP_RETRIEVE && req->raw_ok && !req->fc && !req->pc && req->rcn <= 1 &&
	              !strchr(req->to, '#');
	if (resolve(c, req->to, &tg, rsp) != 0)
		return rsp->rsc;
	switch (req->op) {
	case M2M_OP_CREATE: op_create(&x, &tg); break;
	case M2M_OP_RETRIEVE: op_retrieve(&x, &tg); break;
	case M2M_OP_UPDATE: op_update(&x, &tg); break;
	case M2M_OP_DELETE: op_delete(&x, &tg); break;
	case M2M_OP_NOTIFY: op_notify(&x, &tg); break;
	default: m2m_error(rsp, RSC_BAD_REQUEST, "invalid operation"); break;
	}
	if (x.target != tg.r)
		res_free(&x.target);
	res_free(&x.nr);
	json_decref(x.changed);
	target_clear(&tg);
	return rsp->rsc;
}

/* Requests that may change the store run in a write batch. */
static bool is_write(const m2m_request *req)
{
	return req->op != M2M_OP_RETRIEVE && req->op != M2M_OP_NOTIFY;
}

typedef struct write_req {
	const m2m_request *req;
	m2m_response *rsp;
} write_req;

static void run_write(cse *c, void *arg)
{
	write_req *w = arg;
	core_internal_request(c, w->req, w->rsp);
}

void cse_handle(cse *c, const m2m_request *req, m2m_response *rsp)
{
	free(rsp->rqi);
	rsp->rqi = m2m_strdup(req->rqi ? req->rqi : "");
	free(rsp->rvi);
	rsp->rvi = m2m_strdup(req->rvi);
	free(rsp->fr);
	rsp->fr = m2m_strdup(c->csi);
	free(rsp->to);
	rsp->to = m2m_strdup(req->fr);
	char csi[HL_MAX_ID];
	if (route_target_cse(c, req->to, csi, sizeof(csi)) != ROUTE_LOCAL) {
		route_forward(c, req, csi, rsp);
		goto done;
	}
	store *rd = is_write(req) ? NULL : reader(c);
	if (rd) {
		tls_st = rd;
		bool snap = rd->ops->read_begin(rd) == STORE_OK;
		core_internal_request(c, req, rsp);
		if (snap)
			rd->ops->read_end(rd);
		tls_st = NULL;
	} else {
		write_req w = { req, rsp };
		if (!core_write(c, run_write, &w))
			m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "the store could not commit this request");
	}
done:
	if (rsp->rsc == 0)
		m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "request was not answered");
	log_debug("%d %s %s from %s -> %d", req->op, req->to ? req->to : "", req->rqi ? req->rqi : "",
	          req->fr ? req->fr : "-", rsp->rsc);
}

const cse_config *cse_cfg(const cse *c)
{
	return &c->cfg;
}

/* ---------- lifecycle ---------- */

static const int srt_list[] = { TY_ACP, TY_AE, TY_CNT, TY_CIN, TY_CB, TY_GRP, TY_MGMTOBJ, TY_NODE, TY_CSR, TY_SUB };

static int ensure_cse_base(cse *c)
{
	store *st = c->st;
	char *v = NULL;
	if (st->ops->meta_get(st, "cse_id", &v) == STORE_OK) {
		int same = strcmp(v, c->cfg.cse_id) == 0;
		free(v);
		v = NULL;
		if (!same) {
			log_error("database belongs to another CSE-ID; refusing to start as /%s", c->cfg.cse_id);
			return -1;
		}
		if (st->ops->meta_get(st, "cse_rn", &v) == STORE_OK) {
			same = strcmp(v, c->cfg.cse_rn) == 0;
			free(v);
			if (!same) {
				log_error("database holds a CSEBase with another name; refusing to start as %s",
				          c->cfg.cse_rn);
				return -1;
			}
		}
	}
	res *cb = NULL;
	int rc = st->ops->get(st, c->cb_ri, &cb);
	json_t *srt = json_array();
	for (size_t i = 0; i < sizeof(srt_list) / sizeof(srt_list[0]); i++)
		json_array_append_new(srt, json_integer(srt_list[i]));
	json_t *dyn = json_pack("{s:s,s:i,s:o,s:[s],s:[s,s,s],s:[s,s,s,s]}", "csi", c->csi, "cst", c->cfg.cse_type,
	                        "srt", srt, "poa", c->cfg.poa, "srv", "2a", "3", "4", "csz",
	                        "application/json", "application/vnd.onem2m-res+json",
	                        "application/xml", "application/vnd.onem2m-res+xml");
	if (rc == STORE_OK) {
		json_object_update(cb->a, dyn); /* configuration may have changed poa etc. */
		json_decref(dyn);
		rc = st->ops->update(st, cb);
		res_free(&cb);
		return rc == STORE_OK ? 0 : -1;
	}
	if (rc != STORE_NOTFOUND) {
		json_decref(dyn);
		return -1;
	}
	char now[24];
	util_now(now);
	json_t *a = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "ty", TY_CB, "ri", c->cb_ri, "rn", c->cfg.cse_rn,
	                      "pi", "", "ct", now, "lt", now);
	json_object_update(a, dyn);
	json_decref(dyn);
	json_object_set_new(a, HA_ORIG, json_string(c->cfg.admin));
	cb = res_new(TY_CB, c->cb_ri, "", c->cfg.cse_rn, c->cfg.cse_rn, a);
	json_decref(a);
	rc = st->ops->begin(st);
	if (rc == STORE_OK)
		rc = st->ops->insert(st, cb);
	if (rc == STORE_OK)
		rc = st->ops->meta_set(st, "cse_id", c->cfg.cse_id);
	if (rc == STORE_OK)
		rc = st->ops->meta_set(st, "cse_rn", c->cfg.cse_rn);
	if (rc == STORE_OK)
		rc = st->ops->commit(st);
	else
		st->ops->rollback(st);
	res_free(&cb);
	if (rc == STORE_OK)
		log_info("created CSEBase %s (%s)", c->cfg.cse_rn, c->csi);
	return rc == STORE_OK ? 0 : -1;
}

static void reap_batch(cse *c, void *arg)
{
	collect *cl = arg;
	char now[24];
	util_now(now);
	if (core_st(c)->ops->expired(core_st(c), now, 256, collect_visit, cl) != STORE_OK)
		return;
	for (size_t i = 0; i < cl->n; i++) {
		res *r = NULL;
		/* an earlier deletion in this batch may have removed it */
		if (core_st(c)->ops->get(core_st(c), cl->v[i]->ri, &r) != STORE_OK)
			continue;
		void *mark = NULL;
		if (core_begin(c, &mark) == STORE_OK) {
			if (core_delete_tree(c, r, NULL, true) == 0 && core_commit(c, mark) == STORE_OK)
				log_debug("expired %s", r->path);
			else
				core_rollback(c, mark);
		}
		res_free(&r);
	}
}

static void reap_once(cse *c)
{
	collect cl = { .max = 256 };
	core_write(c, reap_batch, &cl);
	collect_free(&cl);
}

static void *reaper_main(void *arg)
{
	cse *c = arg;
	pthread_mutex_lock(&c->reaper_mx);
	while (!c->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->reaper_cv, &c->reaper_mx, &ts);
		if (c->stopping)
			break;
		pthread_mutex_unlock(&c->reaper_mx);
		reap_once(c);
		pthread_mutex_lock(&c->reaper_mx);
	}
	pthread_mutex_unlock(&c->reaper_mx);
	return NULL;
}

int cse_open(cse **out, const cse_config *cfg)
{
	cse *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->cfg = *cfg; /* strings stay owned by the caller until cse_close() */
	snprintf(c->csi, sizeof(c->csi), "/%s", cfg->cse_id);
	snprintf(c->cb_ri, sizeof(c->cb_ri), "%s", cfg->cse_id);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->q_mx, NULL);
	pthread_mutex_init(&c->reaper_mx, NULL);
	pthread_cond_init(&c->reaper_cv, NULL);
	pthread_mutex_init(&c->readers_mx, NULL);
	/* an in-memory database cannot be shared: reads then take the writers' path */
	c->readers_ok = strcmp(cfg->db_path, ":memory:") != 0 && strncmp(cfg->db_path, "file::memory:", 13) != 0 &&
	                pthread_key_create(&c->rkey, NULL) == 0;
	if (c->readers_ok && pthread_key_create(&c->ckey, pcache_free) != 0) {
		pthread_key_delete(c->rkey);
		c->readers_ok = false;
	}
	if (store_sqlite_open(cfg->db_path, &c->st) != STORE_OK) {
		log_error("cannot open the store at %s", cfg->db_path);
		goto fail;
	}
	if (ensure_cse_base(c) != 0)
		goto fail;
	if (notifier_start(&c->nt, c, 4) != 0)
		goto fail;
	if (mgmt_start(c) != 0)
		goto fail;
	if (pthread_create(&c->reaper, NULL, reaper_main, c) != 0)
		goto fail;
	c->reaper_started = true;
	if (announce_start(c) != 0)
		goto fail;
	if (cse_link_start(&c->link, c) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	cse_close(&c);
	return -1;
}

void cse_close(cse **cp)
{
	if (!cp || !*cp)
		return;
	cse *c = *cp;
	mgmt_stop(c); /* its workers write through the pipeline */
	cse_link_stop(&c->link);
	announce_stop(c);
	pthread_mutex_lock(&c->reaper_mx);
	c->stopping = true;
	pthread_cond_broadcast(&c->reaper_cv);
	pthread_mutex_unlock(&c->reaper_mx);
	if (c->reaper_started)
		pthread_join(c->reaper, NULL);
	notifier_stop(&c->nt);
	pthread_mutex_lock(&c->lock);
	batch_commit(c); /* nothing should be open by now; never lose a batch */
	if (c->st)
		c->st->ops->sync(c->st);
	store_close(&c->st);
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < c->nreaders; i++)
		store_close(&c->readers[i]);
	if (c->readers_ok) {
		pcache_free(pthread_getspecific(c->ckey));
		pthread_setspecific(c->ckey, NULL);
		pthread_key_delete(c->ckey);
		pthread_key_delete(c->rkey);
	}
	pthread_mutex_destroy(&c->readers_mx);
	pthread_mutex_destroy(&c->q_mx);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->reaper_mx);
	pthread_cond_destroy(&c->reaper_cv);
	free(c);
	*cp = NULL;
}
