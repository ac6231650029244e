/*
 * mgmt.c - the life cycle of a management operation (mgmtobj/README.md).
 *
 * Design note
 *   The stored mgmtObj is the truth. An operation is in process while the
 *   hidden attribute _op ({"acn", "tr"}) is set on it; its status attribute
 *   (uds, ins, acts) then says sus 3. Both are written by the Update that
 *   starts the operation (mgmt_on_update, under the CSE lock, in that
 *   request's transaction) and taken away by the Update that ends it:
 *   either the CSE's own (mgmt_report(), sent through the pipeline as the
 *   admin originator and recognised by a thread-local mark, the only way
 *   the status can be written besides the device's report) or the device's
 *   report (adapter_native.c). Subscribers therefore see start and end like
 *   any update, and a request that rolls back starts or ends nothing.
 *
 *   What happens off the request path lives in a table of records, one per
 *   operation in process: its deadline (monotonic clock) and a pending
 *   action (start it with its adapter, or an adapter's deferred call). A
 *   record enters the table when the starting Update commits and is marked
 *   ended when the ending Update commits (notify_after_commit()); at
 *   start-up every mgmtObj found with _op gets one with a fresh deadline
 *   (the adapter is not asked again). MGMT_WORKERS threads run due actions
 *   and timeouts, never under the CSE lock; a record a worker holds (busy)
 *   is freed by that worker.
 *
 *   Lock order: the CSE lock, then mgmt.mx (commit callbacks). Workers hold
 *   mgmt.mx only to pick work, never while they call out.
 *
 * Cost: one record per operation in process; a worker scans the table
 * (operations in process, not mgmtObjs) when it wakes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest.h"
#include "update.h"
#include "mgmtobj.h"
#include "../cse/log.h"
#include "../cse/rsc.h"

#define MGMT_WORKERS 2
#define MGMT_REPORT_RETRY_MS 5000 /* a timeout that could not be written (store failure) */

typedef struct mrec {
	struct mrec *next;
	mgmt_op op;
	const mgmt_adapter *ad;  /* NULL: no adapter for the node's mgca */
	int64_t deadline;        /* monotonic ms */
	int64_t due;             /* when the pending action runs */
	bool start;              /* pending action: start with ad */
	void (*deferred)(cse *, const mgmt_op *); /* pending action: mgmt_defer() */
	bool busy;               /* a worker works on it (and frees it if ended) */
	bool ended;              /* its ending Update committed */
} mrec;

struct mgmt {
	cse *c;
	pthread_mutex_t mx;
	pthread_cond_t cv;       /* on CLOCK_MONOTONIC */
	mrec *recs;
	pthread_t th[MGMT_WORKERS];
	int nth;
	bool stop;
	int64_t timeout_ms;
	attest *at;              /* device attestation (attest.c), or NULL */
	upd *up;                 /* verified updates (update.c), or NULL */
};

/* The acn a request of mgmt_report() ends (its Update may write the
   status); NULL for any other request. */
static const char *ending(const op_ctx *x)
{
	const m2m_internal *in = x->req->internal;
	return in && in->kind == M2M_INTERNAL_MGMT_END ? in->arg : NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rec_free(mrec *r)
{
	if (!r)
		return;
	json_decref(r->op.mo);
	json_decref(r->op.node);
	free(r);
}

static void rec_drop(void *arg)
{
	rec_free(arg);
}

/* The live record of acn (under mx). */
static mrec *rec_find(mgmt *m, const char *acn)
{
	for (mrec *r = m->recs; r; r = r->next)
		if (!r->ended && strcmp(r->op.acn, acn) == 0)
			return r;
	return NULL;
}

static void rec_unlink(mgmt *m, mrec *r)
{
	for (mrec **p = &m->recs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			return;
		}
}

const mgmt_trigger *mgmt_trigger_of(const res_type *t, const char *sn)
{
	for (const mgmt_trigger *tr = t ? t->triggers : NULL; tr && tr->sn && sn; tr++)
		if (strcmp(tr->sn, sn) == 0)
			return tr;
	return NULL;
}

/* ---------- adapters ---------- */

static const mgmt_adapter *const adapters[] = { &mgmt_native_adapter };

/* The adapter named by the scheme of the node's mgca; the native one when
   there is no mgca or it is an address the native adapter reaches (a
   oneM2M binding's scheme); NULL for any other scheme. */
static const mgmt_adapter *adapter_for(const json_t *node)
{
	static const char *const native_schemes[] = { "http", "https", "mqtt", "mqtts", "coap", "coaps" };
	const char *mgca = json_string_value(json_object_get(node, "mgca"));
	const char *colon = mgca ? strchr(mgca, ':') : NULL;
	if (!colon)
		return &mgmt_native_adapter;
	size_t n = (size_t)(colon - mgca);
	for (size_t i = 0; i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (strlen(adapters[i]->name) == n && strncmp(adapters[i]->name, mgca, n) == 0)
			return adapters[i];
	for (size_t i = 0; i < sizeof(native_schemes) / sizeof(native_schemes[0]); i++)
		if (strlen(native_schemes[i]) == n && strncmp(native_schemes[i], mgca, n) == 0)
			return &mgmt_native_adapter;
	return NULL;
}

/* ---------- commit callbacks (under the CSE lock) ---------- */

static void started_run(cse *c, void *arg)
{
	mrec *r = arg;
	mgmt *m = c->mg;
	if (!m) {
		rec_free(r);
		return;
	}
	pthread_mutex_lock(&m->mx);
	int64_t now = mono_ms();
	r->deadline = now + m->timeout_ms;
	r->due = now;
	r->start = true;
	r->next = m->recs;
	m->recs = r;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mx);
}

static void ended_run(cse *c, void *arg)
{
	char *acn = arg;
	mgmt *m = c->mg;
	if (m) {
		pthread_mutex_lock(&m->mx);
		mrec *r = rec_find(m, acn);
		if (r) {
			r->ended = true;
			if (!r->busy) {
				rec_unlink(m, r);
				rec_free(r);
			}
		}
		pthread_mutex_unlock(&m->mx);
	}
	free(acn);
}

static void str_drop(void *arg)
{
	free(arg);
}

/* ---------- the Update hook ---------- */

void mgmt_end_in_update(op_ctx *x, const json_t *op, bool ok, const char *dc)
{
	const char *acn = json_string_value(json_object_get(op, "acn"));
	const mgmt_trigger *tr = mgmt_trigger_of(x->t, json_string_value(json_object_get(op, "tr")));
	json_t *a = x->nr->a;
	if (tr && tr->status) {
		json_object_set_new(a, tr->status, json_pack("{s:s,s:i}", "acn", acn ? acn : "", "sus", ok ? 1 : 2));
		json_object_set(x->changed, tr->status, json_object_get(a, tr->status));
	}
	if (tr) {
		json_object_set_new(a, tr->sn, json_false());
		json_object_set(x->changed, tr->sn, json_false());
	}
	json_object_set_new(a, "dc", json_string(dc));
	json_object_set(x->changed, "dc", json_object_get(a, "dc"));
	if (x->c->mg && tr && strcmp(tr->sn, "ud") == 0)
		upd_ended(x->c->mg->up, acn, ok, a);
	notify_after_commit(x->c, ended_run, m2m_strdup(acn ? acn : ""), str_drop);
	json_object_del(a, MGMT_HA_OP); /* op may point into a: last */
}

/* The installed verified update of a firmware mgmtObj (update.h). */
static void op_fw_state(mgmt_op *op, const json_t *a)
{
	const char *h = json_string_value(json_object_get(a, MGMT_HA_UHASH));
	op->fw_seq = (long long)json_integer_value(json_object_get(a, MGMT_HA_USEQ));
	snprintf(op->fw_mhash, sizeof(op->fw_mhash), "%s", h && strlen(h) < sizeof(op->fw_mhash) ? h : "");
}

/* The Update x starts the operation of trigger tr: status sus 3, _op, and
   a record for the table once it commits. */
static int op_begin(op_ctx *x, const mgmt_trigger *tr)
{
	cse *c = x->c;
	json_t *a = x->nr->a;
	res *node = NULL;
	if (core_st(c)->ops->get(core_st(c), x->target->pi, &node) != STORE_OK)
		return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "the node of %s is missing", x->target->path);
	mrec *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	json_int_t n = json_integer_value(json_object_get(a, "_opn")) + 1;
	int len = snprintf(r->op.acn, sizeof(r->op.acn), "%s/%s/%lld", x->target->ri, tr->sn, (long long)n);
	if (len < 0 || (size_t)len >= sizeof(r->op.acn) || strlen(x->target->ri) >= sizeof(r->op.mo_ri) ||
	    strlen(node->ri) >= sizeof(r->op.node_ri) || strlen(tr->sn) >= sizeof(r->op.trigger)) {
		free(r);
		res_free(&node);
		return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "identifier of %s too long for an operation",
		                 x->target->ri);
	}
	snprintf(r->op.mo_ri, sizeof(r->op.mo_ri), "%s", x->target->ri);
	snprintf(r->op.node_ri, sizeof(r->op.node_ri), "%s", node->ri);
	snprintf(r->op.trigger, sizeof(r->op.trigger), "%s", tr->sn);
	r->op.mgd = x->t->mgd;
	op_fw_state(&r->op, a);
	json_object_set_new(a, "_opn", json_integer(n));
	json_object_set_new(a, MGMT_HA_OP, json_pack("{s:s,s:s}", "acn", r->op.acn, "tr", tr->sn));
	if (tr->status) {
		json_object_set_new(a, tr->status, json_pack("{s:s,s:i}", "acn", r->op.acn, "sus", 3));
		json_object_set(x->changed, tr->status, json_object_get(a, tr->status));
	}
	r->op.mo = core_attrs_public(x->nr);
	r->op.node = core_attrs_public(node);
	r->ad = adapter_for(r->op.node);
	res_free(&node);
	log_info("management operation %s started on %s", r->op.acn, x->target->path);
	notify_after_commit(c, started_run, r, rec_drop);
	return 0;
}

/* The CSE's own end of an operation (mgmt_report): its content is already
   the end; the operation must still be the one in process. */
static int end_by_cse(op_ctx *x, const json_t *op)
{
	const char *acn = json_string_value(json_object_get(op, "acn"));
	if (!acn || strcmp(acn, ending(x)) != 0)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "operation %s is not in process on %s", ending(x),
		                 x->target->path);
	notify_after_commit(x->c, ended_run, m2m_strdup(acn), str_drop);
	json_object_del(x->nr->a, MGMT_HA_OP);
	return 0;
}

attest *mgmt_attest(cse *c)
{
	return c->mg ? c->mg->at : NULL;
}

/* "Never updated automatically": a firmware or software install on a node
   labelled hearth:trust=failed is started by the admin only. */
static int refuse_failed(op_ctx *x, const mgmt_trigger *tr)
{
	if (strcmp(tr->sn, "ud") != 0 && strcmp(tr->sn, "in") != 0)
		return 0;
	if (x->req->fr && strcmp(x->req->fr, x->c->cfg.admin) == 0)
		return 0;
	res *node = NULL;
	int rc = 0;
	if (core_st(x->c)->ops->get(core_st(x->c), x->target->pi, &node) == STORE_OK && attest_node_failed(node->a))
		rc = m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED,
		               "device failed attestation: %s on %s is started by the CSE admin only", tr->sn,
		               x->target->path);
	res_free(&node);
	return rc;
}

int mgmt_on_update(op_ctx *x)
{
	const json_t *op = json_object_get(x->target->a, MGMT_HA_OP);
	const char *acn = json_string_value(json_object_get(op, "acn"));
	int grc = attest_guard_labels(x);
	if (grc)
		return grc;
	const char *end = ending(x);
	if (end && strncmp(end, x->target->ri, strlen(x->target->ri)) == 0 && end[strlen(x->target->ri)] == '/')
		return end_by_cse(x, op);
	if (!x->t->triggers)
		return 0; /* no operations on this specialization */
	const mgmt_trigger *start = NULL;
	for (const mgmt_trigger *tr = x->t->triggers; tr->sn; tr++) {
		if (!json_is_true(json_object_get(x->in, tr->sn)))
			continue;
		if (start)
			return m2m_error(x->rsp, RSC_BAD_REQUEST,
			                 "%s and %s cannot both be true: one operation at a time", start->sn, tr->sn);
		start = tr;
	}
	bool handled = false;
	int rc = mgmt_native_report(x, op, &handled);
	if (rc || handled)
		return rc;
	for (const mgmt_trigger *tr = x->t->triggers; tr->sn; tr++)
		if (tr->status && json_object_get(x->in, tr->status))
			return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED,
			                 "%s is written by the CSE and the device that runs the operation", tr->status);
	if (op) {
		if (json_object_get(x->in, "dc"))
			return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED,
			                 "operation %s is in process: dc is written when it ends", acn ? acn : "?");
		for (const mgmt_trigger *tr = x->t->triggers; tr->sn; tr++)
			if (json_object_get(x->in, tr->sn))
				return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED, "operation %s is already in process on %s",
				                 acn ? acn : "?", x->target->path);
	}
	if (start && (rc = refuse_failed(x, start)) != 0)
		return rc;
	return start ? op_begin(x, start) : 0;
}

/* ---------- mgmt_report ---------- */

static unsigned long report_seq;

int mgmt_report(cse *c, const char *acn, bool ok, const char *code, const char *text, const json_t *attrs)
{
	mgmt *m = c->mg;
	char mo_ri[64], trig[8];
	int mgd;
	if (!m || !acn)
		return RSC_NOT_FOUND;
	pthread_mutex_lock(&m->mx);
	mrec *r = rec_find(m, acn);
	if (r) {
		snprintf(mo_ri, sizeof(mo_ri), "%s", r->op.mo_ri);
		snprintf(trig, sizeof(trig), "%s", r->op.trigger);
		mgd = r->op.mgd;
	}
	unsigned long seq = ++report_seq;
	pthread_mutex_unlock(&m->mx);
	if (!r)
		return RSC_NOT_FOUND;
	const res_type *t = restype_mgd(mgd);
	const mgmt_trigger *tr = mgmt_trigger_of(t, trig);
	if (!tr)
		return RSC_INTERNAL_SERVER_ERROR;
	json_t *in = json_is_object(attrs) ? json_deep_copy(attrs) : json_object();
	if (tr->status)
		json_object_set_new(in, tr->status, json_pack("{s:s,s:i}", "acn", acn, "sus", ok ? 1 : 2));
	json_object_set_new(in, tr->sn, json_false());
	char dc[512];
	if (ok)
		snprintf(dc, sizeof(dc), "ok");
	else if (text && *text)
		snprintf(dc, sizeof(dc), "%s: %s", code && *code ? code : "unknown", text);
	else
		snprintf(dc, sizeof(dc), "%s", code && *code ? code : "unknown");
	json_object_set_new(in, "dc", json_string(dc));

	m2m_request req;
	m2m_response rsp;
	char rqi[48];
	m2m_request_init(&req);
	m2m_response_init(&rsp);
	snprintf(rqi, sizeof(rqi), "mgmt-report-%lu", seq);
	req.op = M2M_OP_UPDATE;
	req.to = m2m_strdup(mo_ri);
	req.fr = m2m_strdup(c->cfg.admin);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup("4");
	req.pc = json_pack("{s:o}", t->root, in);
	m2m_internal end = { M2M_INTERNAL_MGMT_END, acn };
	req.internal = &end;
	cse_handle(c, &req, &rsp);
	int rc = rsp.rsc == RSC_UPDATED ? 0 : rsp.rsc;
	const char *why = json_string_value(json_object_get(rsp.pc, "m2m:dbg"));
	if (rc == RSC_NOT_FOUND) /* deleted meanwhile, with its node perhaps */
		log_info("management operation %s ended with its mgmtObj %s", acn, mo_ri);
	else if (rc)
		log_warn("management operation %s: its end (%s) could not be written: %d %s", acn, dc, rc, why ? why : "");
	else
		log_info("management operation %s ended: %s", acn, dc);
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	return rc;
}

int mgmt_defer(cse *c, const mgmt_op *op, long delay_ms, void (*fn)(cse *c, const mgmt_op *op))
{
	mgmt *m = c->mg;
	if (!m || !op || !fn)
		return -1;
	pthread_mutex_lock(&m->mx);
	mrec *r = rec_find(m, op->acn);
	if (r) {
		r->deferred = fn;
		r->due = mono_ms() + (delay_ms > 0 ? delay_ms : 0);
		pthread_cond_signal(&m->cv);
	}
	pthread_mutex_unlock(&m->mx);
	return r ? 0 : -1;
}

/* ---------- workers ---------- */

static void run_start(mgmt *m, mrec *r)
{
	if (upd_applies(m->up, &r->op)) {
		char vtext[384];
		const char *vcode = upd_run(m->c, m->up, &r->op, r->ad, vtext, sizeof(vtext));
		if (vcode)
			mgmt_report(m->c, r->op.acn, false, vcode, vtext, NULL);
		return;
	}
	const char *code = r->ad ? r->ad->start(m->c, &r->op) : "unsupported";
	if (!code)
		return;
	char text[256];
	if (r->ad)
		snprintf(text, sizeof(text), "the %s adapter could not start the operation", r->ad->name);
	else
		snprintf(text, sizeof(text), "no management adapter for mgca %.128s",
		         json_string_value(json_object_get(r->op.node, "mgca")));
	mgmt_report(m->c, r->op.acn, false, code, text, NULL);
}

/* Timeout: cancel with the adapter, write the failure. Returns the rsc of
   the write (0 ok). */
static int run_timeout(mgmt *m, mrec *r)
{
	char text[128];
	if (r->ad && r->ad->cancel)
		r->ad->cancel(m->c, &r->op);
	snprintf(text, sizeof(text), "no report within %lld s", (long long)(m->timeout_ms / 1000));
	return mgmt_report(m->c, r->op.acn, false, "timeout", text, NULL);
}

static void wait_until(mgmt *m, int64_t wake)
{
	if (wake == INT64_MAX) {
		pthread_cond_wait(&m->cv, &m->mx);
		return;
	}
	struct timespec ts;
	ts.tv_sec = (time_t)(wake / 1000);
	ts.tv_nsec = (long)(wake % 1000) * 1000000L;
	pthread_cond_timedwait(&m->cv, &m->mx, &ts);
}

static void *worker_main(void *arg)
{
	mgmt *m = arg;
	pthread_mutex_lock(&m->mx);
	while (!m->stop) {
		int64_t now = mono_ms(), wake = INT64_MAX;
		mrec *pick = NULL;
		bool timeout = false;
		for (mrec *r = m->recs; r; r = r->next) {
			if (r->busy || r->ended)
				continue;
			if (r->deadline <= now) {
				pick = r;
				timeout = true;
				break;
			}
			if ((r->start || r->deferred) && r->due <= now) {
				pick = r;
				break;
			}
			if (r->deadline < wake)
				wake = r->deadline;
			if ((r->start || r->deferred) && r->due < wake)
				wake = r->due;
		}
		if (!pick) {
			wait_until(m, wake);
			continue;
		}
		pick->busy = true;
		bool start = !timeout && pick->start;
		void (*deferred)(cse *, const mgmt_op *) = timeout || start ? NULL : pick->deferred;
		if (start)
			pick->start = false;
		else if (deferred)
			pick->deferred = NULL;
		pthread_mutex_unlock(&m->mx);
		int rc = 0;
		if (timeout)
			rc = run_timeout(m, pick);
		else if (start)
			run_start(m, pick);
		else
			deferred(m->c, &pick->op);
		pthread_mutex_lock(&m->mx);
		pick->busy = false;
		if (timeout && !pick->ended) {
			if (rc / 1000 == 5) /* the store failed: try again */
				pick->deadline = mono_ms() + MGMT_REPORT_RETRY_MS;
			else /* deleted meanwhile, or no longer in process */
				pick->ended = true;
		}
		if (pick->ended) {
			rec_unlink(m, pick);
			rec_free(pick);
		}
	}
	pthread_mutex_unlock(&m->mx);
	return NULL;
}

/* ---------- start and stop ---------- */

typedef struct scan_ctx {
	res **v;
	size_t n, cap;
} scan_ctx;

static int scan_visit(void *ctx, const res *r)
{
	scan_ctx *s = ctx;
	if (!r->a || !json_object_get(r->a, MGMT_HA_OP))
		return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		res **nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n] = res_dup(r);
	return s->v[s->n++] ? 0 : -1;
}

/* A record, with a fresh deadline, for each mgmtObj found in process. */
static int scan_in_process(mgmt *m)
{
	cse *c = m->c;
	store *st = c->st;
	m2m_filter f;
	char err[128];
	json_t *fc = json_pack("{s:[i]}", "ty", TY_MGMTOBJ);
	int rc = filter_parse(fc, &f, err, sizeof(err));
	json_decref(fc);
	scan_ctx s = { 0 };
	if (rc == 0)
		rc = st->ops->discover(st, c->cfg.cse_rn, &f, scan_visit, &s) == STORE_OK ? 0 : -1;
	filter_clear(&f);
	int64_t deadline = mono_ms() + m->timeout_ms;
	for (size_t i = 0; i < s.n; i++) {
		res *mo = s.v[i], *node = NULL;
		json_t *op = json_object_get(mo->a, MGMT_HA_OP);
		const char *acn = json_string_value(json_object_get(op, "acn"));
		const char *tr = json_string_value(json_object_get(op, "tr"));
		json_t *mgd = json_object_get(mo->a, "mgd");
		mrec *r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		if (rc != 0 || !acn || !tr || strlen(acn) >= sizeof(r->op.acn) || strlen(tr) >= sizeof(r->op.trigger) ||
		    strlen(mo->ri) >= sizeof(r->op.mo_ri) || strlen(mo->pi) >= sizeof(r->op.node_ri)) {
			if (rc == 0)
				log_warn("mgmtObj %s holds a malformed operation record; it is left alone", mo->path);
			free(r);
			res_free(&s.v[i]);
			continue;
		}
		snprintf(r->op.acn, sizeof(r->op.acn), "%s", acn);
		snprintf(r->op.trigger, sizeof(r->op.trigger), "%s", tr);
		snprintf(r->op.mo_ri, sizeof(r->op.mo_ri), "%s", mo->ri);
		snprintf(r->op.node_ri, sizeof(r->op.node_ri), "%s", mo->pi);
		r->op.mgd = (int)json_integer_value(mgd);
		op_fw_state(&r->op, mo->a);
		r->op.mo = core_attrs_public(mo);
		if (st->ops->get(st, mo->pi, &node) == STORE_OK)
			r->op.node = core_attrs_public(node);
		res_free(&node);
		r->ad = adapter_for(r->op.node);
		r->deadline = deadline;
		r->next = m->recs;
		m->recs = r;
		log_info("management operation %s was in process at start; it times out in %lld s", acn,
		         (long long)(m->timeout_ms / 1000));
		res_free(&s.v[i]);
	}
	free(s.v);
	return rc;
}

int mgmt_start(cse *c)
{
	mgmt *m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	m->c = c;
	m->timeout_ms = (int64_t)c->cfg.mgmt_timeout_s * 1000;
	pthread_mutex_init(&m->mx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->mg = m;
	if (scan_in_process(m) != 0) {
		log_error("cannot read the management operations in process from the store");
		return -1;
	}
	if (upd_start(c, &m->up) != 0) {
		log_error("cannot start verified updates");
		return -1;
	}
	if (attest_start(c, &m->at) != 0) {
		log_error("cannot start device attestation");
		return -1;
	}
	for (int i = 0; i < MGMT_WORKERS; i++) {
		if (pthread_create(&m->th[i], NULL, worker_main, m) != 0) {
			log_error("cannot start the management workers");
			return -1;
		}
		m->nth++;
	}
	return 0;
}

void mgmt_stop(cse *c)
{
	mgmt *m = c ? c->mg : NULL;
	if (!m)
		return;
	pthread_mutex_lock(&c->lock); /* commit callbacks reach the attestation worker under it */
	attest *at = m->at;
	m->at = NULL;
	pthread_mutex_unlock(&c->lock);
	attest_stop(at);
	pthread_mutex_lock(&m->mx);
	m->stop = true;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mx);
	for (int i = 0; i < m->nth; i++)
		pthread_join(m->th[i], NULL);
	pthread_mutex_lock(&c->lock); /* commit callbacks read c->mg under it */
	c->mg = NULL;
	pthread_mutex_unlock(&c->lock);
	while (m->recs) {
		mrec *r = m->recs;
		m->recs = r->next;
		rec_free(r);
	}
	upd_stop(&m->up);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mx);
	free(m);
}
