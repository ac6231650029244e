/*
 * announce.c - resource announcement (TS-0001 10.2.18, TS-0004 7.3.x):
 * a resource whose at names other CSEs gets an announced copy on each of
 * them, kept in sync on update and removed on delete or when the CSE is
 * taken out of at.
 *
 * Reconciliation, not replay: the engine only says "resource ri changed"
 * (announce_touch, inside a write batch); the events are handed to the
 * worker when the batch commits, and the worker compares what the
 * resource is now with the copies it knows (hidden attribute _an: target
 * CSE-ID -> SP-relative address of the copy) and sends what is missing:
 * Create of the announced type (under the announced parent when the
 * parent is announced there too, else under this CSE's <remoteCSE> on the
 * target), Update of the announced attributes, Delete of copies no longer
 * wanted. So a rolled-back request, a repeated event or a restart cannot
 * make copies diverge. A target that does not answer is retried with
 * backoff; after the registrar lost our registration (and with it every
 * copy) the link asks for a full resync.
 *
 * Announced attributes: lbl, et, the type's mandatory-announced ones and
 * those listed in aa. Copies are created with this CSE as originator, so
 * the target's default policy (creator) lets only this CSE change them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "announce.h"
#include "core.h"
#include "limits.h"
#include "log.h"
#include "rsc.h"
#include "util.h"

#define HA_ANNC "_an"
#define ANNC_RETRY_S 5
#define ANNC_QUEUE_MAX 65536

struct announcer {
	cse *c;
	pthread_t th;
	pthread_mutex_t mx;
	pthread_cond_t cv;
	json_t *pending;  /* under c->lock: events of the open batch */
	json_t *queue;    /* under mx: committed events */
	json_t *retry;    /* under mx: [{ri, due}] */
	bool stopping;
	unsigned long seq;
};

/* Mandatory-announced attributes per original type (TS-0001 9.6). */
static const char *const *ma_of(int ty)
{
	static const char *const ae[] = { "api", "aei", NULL };
	static const char *const node[] = { "ni", NULL };
	static const char *const mo[] = { "mgd", NULL };
	static const char *const none[] = { NULL };
	switch (ty) {
	case TY_AE: return ae;
	case TY_NODE: return node;
	case TY_MGMTOBJ: return mo;
	default: return none;
	}
}

static bool list_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

void announce_touch(cse *c, const res *r, bool deleted)
{
	announcer *a = c->ann;
	if (!a || !r || !r->a)
		return;
	json_t *at = json_object_get(r->a, "at");
	json_t *an = json_object_get(r->a, HA_ANNC);
	if (json_array_size(at) == 0 && json_object_size(an) == 0)
		return;
	json_t *ev = json_pack("{s:s}", "ri", r->ri);
	if (deleted && an)
		json_object_set_new(ev, "an", json_deep_copy(an));
	json_array_append_new(a->pending, ev);
}

void announce_flush(cse *c)
{
	announcer *a = c->ann;
	if (!a || json_array_size(a->pending) == 0)
		return;
	pthread_mutex_lock(&a->mx);
	if (json_array_size(a->queue) + json_array_size(a->pending) > ANNC_QUEUE_MAX)
		log_warn("announce: queue full, %zu events dropped (a resync repairs them)",
		         json_array_size(a->pending));
	else
		json_array_extend(a->queue, a->pending);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mx);
	json_array_clear(a->pending);
}

/* ---- requests to the targets ---------------------------------------------- */

static int send_req(announcer *a, int op, const char *to, int ty, json_t *pc, m2m_response *rsp)
{
	m2m_request req;
	char rqi[64];
	m2m_request_init(&req);
	req.op = op;
	req.to = m2m_strdup(to);
	req.fr = m2m_strdup(a->c->csi);
	snprintf(rqi, sizeof(rqi), "annc-%s-%lu", a->c->cfg.cse_id, ++a->seq);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup("3");
	req.ty = ty;
	req.pc = pc;
	m2m_response_init(rsp);
	cse_handle(a->c, &req, rsp); /* routed to the target CSE */
	m2m_request_clear(&req);
	return rsp->rsc;
}

static bool unreachable(int rsc)
{
	return rsc == RSC_TARGET_NOT_REACHABLE || rsc == RSC_INTERNAL_SERVER_ERROR ||
	       rsc == RSC_REQUEST_TIMEOUT || rsc == 0;
}

/* The CSE-ID a value of at names ("/id-in", "id-in", "/id-in/..."), or "". */
static void target_csi(const char *v, char *out, size_t n)
{
	out[0] = '\0';
	if (!v || !*v || (v[0] == '/' && v[1] == '/'))
		return;
	const char *p = v[0] == '/' ? v + 1 : v;
	size_t l = strcspn(p, "/");
	if (l == 0 || l + 2 > n)
		return;
	out[0] = '/';
	memcpy(out + 1, p, l);
	out[l + 1] = '\0';
}

/* The announced attributes of r. */
static json_t *annc_attrs(cse *c, const res *r, const res_type *t)
{
	char lnk[HL_MAX_ID];
	snprintf(lnk, sizeof(lnk), "%s/%s", c->csi, r->ri);
	json_t *o = json_pack("{s:s}", "lnk", lnk);
	const char *k;
	json_t *v;
	json_t *aa = json_object_get(r->a, "aa");
	int base = t->annc_of ? t->annc_of->ty : r->ty;
	const char *const *ma = ma_of(base);
	json_object_foreach(r->a, k, v) {
		if (k[0] == '_')
			continue;
		bool want = strcmp(k, "lbl") == 0 || strcmp(k, "et") == 0;
		for (size_t i = 0; !want && ma[i]; i++)
			want = strcmp(ma[i], k) == 0;
		if (!want && list_has(aa, k) && restype_attr(t, k))
			want = true;
		if (want)
			json_object_set(o, k, v);
	}
	/* optional-announced attributes removed from the original */
	size_t i;
	json_array_foreach(aa, i, v)
		if (json_is_string(v) && !json_object_get(r->a, json_string_value(v)) &&
		    restype_attr(t, json_string_value(v)))
			json_object_set_new(o, json_string_value(v), json_null());
	return o;
}

/* Where the copy of r on target goes: the parent's copy, or our
   <remoteCSE> there when the parent is not announced to target. 1 with
   the address in out; 0 when we know no way (not registered there); -1
   when the parent is announced to target but its copy is not made yet
   (the child must wait for it, not land under the <remoteCSE>). */
static int copy_parent(cse *c, const res *r, const char *target, char *out, size_t n)
{
	out[0] = '\0';
	res *p = NULL;
	if (core_st(c)->ops->get(core_st(c), r->pi, &p) == STORE_OK) {
		const char *pa = json_string_value(json_object_get(json_object_get(p->a, HA_ANNC), target));
		bool announced_there = false;
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(p->a, "at"), i, e) {
			char csi[160];
			target_csi(json_string_value(e), csi, sizeof(csi));
			announced_there = announced_there || strcmp(csi, target) == 0;
		}
		if (pa)
			snprintf(out, n, "%s", pa);
		res_free(&p);
		if (out[0])
			return 1;
		if (announced_there)
			return -1;
	}
	res *csr = NULL;
	if (core_st(c)->ops->get(core_st(c), target + 1, &csr) == STORE_OK && csr->ty == TY_CSR) {
		const char *cb = json_string_value(json_object_get(csr->a, "cb"));
		if (cb)
			snprintf(out, n, "%s/%s", cb, c->cfg.cse_id);
	}
	res_free(&csr);
	return out[0] ? 1 : 0;
}

typedef struct map_write {
	const char *ri;
	json_t *an;
} map_write;

static void save_map_run(cse *c, void *arg)
{
	map_write *m = arg;
	void *mark = NULL;
	res *r = NULL;
	if (core_begin(c, &mark) == STORE_OK) {
		if (core_st(c)->ops->get(core_st(c), m->ri, &r) == STORE_OK) {
			if (json_object_size(m->an))
				json_object_set(r->a, HA_ANNC, m->an);
			else
				json_object_del(r->a, HA_ANNC);
			if (core_store_update(c, r) == 0 && core_commit(c, mark) == STORE_OK)
				mark = NULL;
		}
		if (mark)
			core_rollback(c, mark);
	}
	res_free(&r);
}

/* Store the new copy map of ri (as a write of its own). */
static void save_map(cse *c, const char *ri, json_t *an)
{
	map_write m = { ri, an };
	core_write(c, save_map_run, &m);
}

static void delete_copies(announcer *a, const json_t *an)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)an, k, v) {
		m2m_response rsp;
		int rsc = send_req(a, M2M_OP_DELETE, json_string_value(v), -1, NULL, &rsp);
		m2m_response_clear(&rsp);
		if (rsc != RSC_DELETED && rsc != RSC_NOT_FOUND)
			log_warn("announce: cannot delete copy %s on %s: rsc %d", json_string_value(v), k, rsc);
	}
}

/* Bring the copies of ri in line; true when something must be retried. */
static bool reconcile(announcer *a, const char *ri, const json_t *gone_map)
{
	cse *c = a->c;
	store *rd = core_reader_begin(c);
	res *r = NULL;
	bool exists = core_st(c)->ops->get(core_st(c), ri, &r) == STORE_OK;
	core_reader_end(c, rd);
	if (!exists) {
		if (gone_map)
			delete_copies(a, gone_map);
		return false;
	}
	const res_type *t = restype_of(r);
	const res_type *at_t = t ? restype_annc_of(t) : NULL;
	json_t *at = json_object_get(r->a, "at");
	json_t *old = json_object_get(r->a, HA_ANNC);
	json_t *an = old ? json_deep_copy(old) : json_object();
	bool retry = false;

	/* copies no longer wanted */
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(an, tmp, k, v) {
		bool keep = false;
		size_t i;
		json_t *e;
		json_array_foreach(at, i, e) {
			char csi[160];
			target_csi(json_string_value(e), csi, sizeof(csi));
			keep = keep || strcmp(csi, k) == 0;
		}
		if (!keep) {
			json_t *one = json_pack("{s:O}", k, v);
			delete_copies(a, one);
			json_decref(one);
			json_object_del(an, k);
		}
	}
	if (!at_t && json_array_size(at) > 0) {
		log_warn("announce: %s (type %d) cannot be announced", ri, r->ty);
		goto done;
	}
	size_t i;
	json_t *e;
	json_array_foreach(at, i, e) {
		char csi[160];
		target_csi(json_string_value(e), csi, sizeof(csi));
		if (!csi[0] || strcmp(csi, c->csi) == 0)
			continue;
		json_t *attrs = annc_attrs(c, r, at_t);
		const char *copy = json_string_value(json_object_get(an, csi));
		m2m_response rsp;
		if (copy) {
			json_t *upd = json_deep_copy(attrs);
			json_object_del(upd, "lnk");
			int rsc = send_req(a, M2M_OP_UPDATE, copy, -1, json_pack("{s:o}", at_t->root, upd), &rsp);
			m2m_response_clear(&rsp);
			if (rsc == RSC_UPDATED) {
				json_decref(attrs);
				continue;
			}
			if (rsc != RSC_NOT_FOUND) {
				retry = retry || unreachable(rsc);
				if (!unreachable(rsc))
					log_warn("announce: update of copy %s refused: rsc %d", copy, rsc);
				json_decref(attrs);
				continue;
			}
			json_object_del(an, csi); /* the copy is gone: make a new one */
		}
		char parent[HL_MAX_ID];
		rd = core_reader_begin(c);
		int where = copy_parent(c, r, csi, parent, sizeof(parent));
		core_reader_end(c, rd);
		if (where <= 0) {
			/* retried: the parent's copy comes first, and a registration
			   in progress completes (then everything is announced again) */
			if (where == 0)
				log_warn("announce: %s: this CSE is not registered at %s (yet)", ri, csi);
			retry = true;
			json_decref(attrs);
			continue;
		}
		/* null values mean "remove" in an update only */
		json_object_foreach_safe(attrs, tmp, k, v)
			if (json_is_null(v))
				json_object_del(attrs, k);
		json_object_set_new(attrs, "rn", json_string(r->rn));
		int rsc = send_req(a, M2M_OP_CREATE, parent, at_t->ty, json_pack("{s:o}", at_t->root, attrs), &rsp);
		const char *nri = json_string_value(json_object_get(json_object_get(rsp.pc, at_t->root), "ri"));
		if (rsc == RSC_CREATED && nri) {
			char addr[HL_MAX_ID];
			snprintf(addr, sizeof(addr), "%s/%s", csi, nri);
			json_object_set_new(an, csi, json_string(addr));
		} else if (rsc == RSC_CONFLICT) {
			/* a copy from before we lost the map: adopt it */
			char addr[HL_MAX_ID];
			snprintf(addr, sizeof(addr), "%s/%s", parent, r->rn);
			m2m_response g;
			send_req(a, M2M_OP_RETRIEVE, addr, -1, NULL, &g);
			json_t *got = json_object_get(g.pc, at_t->root);
			const char *lnk = json_string_value(json_object_get(got, "lnk"));
			const char *gri = json_string_value(json_object_get(got, "ri"));
			char want[HL_MAX_ID];
			snprintf(want, sizeof(want), "%s/%s", c->csi, r->ri);
			if (g.rsc == RSC_OK && lnk && gri && strcmp(lnk, want) == 0) {
				char caddr[HL_MAX_ID];
				snprintf(caddr, sizeof(caddr), "%s/%s", csi, gri);
				json_object_set_new(an, csi, json_string(caddr));
				retry = true; /* next round updates it */
			} else {
				log_warn("announce: %s exists on %s and is not a copy of %s", addr, csi, ri);
			}
			m2m_response_clear(&g);
		} else if (unreachable(rsc)) {
			retry = true;
		} else {
			log_warn("announce: %s refused the copy of %s: rsc %d %s", csi, ri, rsc,
			         json_string_value(json_object_get(rsp.pc, "m2m:dbg")) ?
			         json_string_value(json_object_get(rsp.pc, "m2m:dbg")) : "");
		}
		m2m_response_clear(&rsp);
	}
done:
	if (old ? !json_equal(an, old) : json_object_size(an) > 0)
		save_map(c, ri, an);
	json_decref(an);
	res_free(&r);
	return retry;
}

static void *announce_main(void *arg)
{
	announcer *a = arg;
	pthread_mutex_lock(&a->mx);
	while (!a->stopping) {
		/* due retries go back on the queue */
		time_t now = time(NULL);
		time_t next_due = 0;
		size_t i;
		json_t *e;
		for (i = 0; i < json_array_size(a->retry);) {
			e = json_array_get(a->retry, i);
			time_t due = (time_t)json_integer_value(json_object_get(e, "due"));
			if (due <= now) {
				json_array_append_new(a->queue, json_pack("{s:O}", "ri", json_object_get(e, "ri")));
				json_array_remove(a->retry, i);
			} else {
				if (!next_due || due < next_due)
					next_due = due;
				i++;
			}
		}
		if (json_array_size(a->queue) == 0) {
			if (next_due) {
				struct timespec ts = { .tv_sec = next_due, .tv_nsec = 0 };
				pthread_cond_timedwait(&a->cv, &a->mx, &ts);
			} else {
				pthread_cond_wait(&a->cv, &a->mx);
			}
			continue;
		}
		json_t *ev = json_incref(json_array_get(a->queue, 0));
		json_array_remove(a->queue, 0);
		pthread_mutex_unlock(&a->mx);
		const char *ri = json_string_value(json_object_get(ev, "ri"));
		bool again = ri && reconcile(a, ri, json_object_get(ev, "an"));
		pthread_mutex_lock(&a->mx);
		if (again) {
			bool dup = false;
			json_array_foreach(a->retry, i, e)
				dup = dup || strcmp(json_string_value(json_object_get(e, "ri")), ri) == 0;
			if (!dup)
				json_array_append_new(a->retry, json_pack("{s:s,s:I}", "ri", ri,
				                                          "due", (json_int_t)(time(NULL) + ANNC_RETRY_S)));
		}
		json_decref(ev);
	}
	pthread_mutex_unlock(&a->mx);
	return NULL;
}

/* ---- resync ---------------------------------------------------------------- */

typedef struct scan {
	json_t *ris;
} scan;

static int scan_visit(void *ctx, const res *r)
{
	scan *s = ctx;
	if (r->raw && strstr(r->raw, "\"at\""))
		json_array_append_new(s->ris, json_string(r->ri));
	return 0;
}

void announce_resync(cse *c, const char *lost_csi)
{
	announcer *a = c->ann;
	if (!a)
		return;
	m2m_filter f;
	char err[128];
	filter_parse(NULL, &f, err, sizeof(err));
	const int tys[] = { TY_AE, TY_CNT, TY_GRP, TY_NODE, TY_MGMTOBJ };
	for (size_t i = 0; i < sizeof(tys) / sizeof(tys[0]); i++)
		f.ty[f.nty++] = tys[i];
	f.fo = 2;
	scan s = { json_array() };
	store *rd = core_reader_begin(c);
	core_st(c)->ops->discover_refs(core_st(c), c->cfg.cse_rn, &f, scan_visit, &s);
	core_reader_end(c, rd);
	filter_clear(&f);
	size_t i;
	json_t *ri;
	json_array_foreach(s.ris, i, ri) {
		if (lost_csi) {
			/* the copies on lost_csi are gone with our registration */
			rd = core_reader_begin(c);
			res *r = NULL;
			json_t *an = NULL;
			if (core_st(c)->ops->get(core_st(c), json_string_value(ri), &r) == STORE_OK &&
			    json_object_get(json_object_get(r->a, HA_ANNC), lost_csi)) {
				an = json_deep_copy(json_object_get(r->a, HA_ANNC));
				json_object_del(an, lost_csi);
			}
			res_free(&r);
			core_reader_end(c, rd);
			if (an)
				save_map(c, json_string_value(ri), an);
			json_decref(an);
		}
		pthread_mutex_lock(&a->mx);
		json_array_append_new(a->queue, json_pack("{s:O}", "ri", ri));
		pthread_mutex_unlock(&a->mx);
	}
	pthread_mutex_lock(&a->mx);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mx);
	if (json_array_size(s.ris))
		log_info("announce: resync of %zu announced resources%s%s", json_array_size(s.ris),
		         lost_csi ? " after " : "", lost_csi ? lost_csi : "");
	json_decref(s.ris);
}

static void announcer_free(announcer *a)
{
	json_decref(a->pending);
	json_decref(a->queue);
	json_decref(a->retry);
	pthread_mutex_destroy(&a->mx);
	pthread_cond_destroy(&a->cv);
	free(a);
}

int announce_start(cse *c)
{
	announcer *a = calloc(1, sizeof(*a));
	if (!a)
		return -1;
	a->c = c;
	a->pending = json_array();
	a->queue = json_array();
	a->retry = json_array();
	pthread_mutex_init(&a->mx, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (pthread_create(&a->th, NULL, announce_main, a) != 0) {
		announcer_free(a);
		return -1;
	}
	c->ann = a;
	return 0;
}

void announce_stop(cse *c)
{
	announcer *a = c->ann;
	if (!a)
		return;
	pthread_mutex_lock(&a->mx);
	a->stopping = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mx);
	pthread_join(a->th, NULL);
	c->ann = NULL;
	announcer_free(a);
}
