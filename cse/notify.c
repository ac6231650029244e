/*
 * notify.c - subscription event matching and notification delivery.
 *
 * Matching runs on the request path, under the core lock, inside the
 * request's store transaction: it reads the subscriptions that are children
 * of the affected resource, applies enc (net, atr, chty and the filter-like
 * conditions), builds one m2m:sgn per subscription and resolves each nu
 * entry to URLs (a direct URL, or the poa of a registered AE/CSE).
 * Notifications wait in a pending list until the batch they belong to
 * commits (then the delivery workers get them) or rolls back (dropped); a
 * request that fails inside a batch drops only its own (notify_truncate),
 * so nothing is announced that did not happen.
 *
 * Delivery: NOTIFY_WORKERS threads, each with a bounded FIFO. A job goes to
 * the worker chosen by a hash of its first URL, so notifications to one
 * target keep their order while a dead target only delays its own worker.
 * A full queue drops its oldest job (logged). The verification request of a
 * new subscription is the one synchronous send (bounded by
 * HL_VERIFY_TIMEOUT_MS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "limits.h"
#include "log.h"
#include "route.h"
#include "rsc.h"
#include "util.h"
#include "../bindings/transport.h"

#define NOTIFY_WORKERS 2

typedef struct njob {
	struct njob *next;
	json_t *urls;      /* array of URL strings, tried in order */
	m2m_request req;
	/* instead of a notification: work to start once the batch commits
	   (notify_after_commit); drop releases arg when it never runs */
	void (*run)(cse *, void *);
	void (*drop)(void *);
	void *arg;
} njob;

typedef struct nqueue {
	pthread_t th;
	pthread_mutex_t mx;
	pthread_cond_t cv;
	njob *head, *tail;
	size_t len;
	bool started;
	cse *c;
} nqueue;

struct notifier {
	cse *c;
	nqueue q[NOTIFY_WORKERS];
	bool stop;
	njob *pending, *pending_tail; /* guarded by the core lock */
	unsigned long seq;
};

static void job_free(njob *j)
{
	if (j->arg && j->drop)
		j->drop(j->arg);
	json_decref(j->urls);
	m2m_request_clear(&j->req);
	free(j);
}

/* Targets on other CSEs resolve to this pseudo-URL: the Notify is
   forwarded like any request for that CSE (route.c). */
#define ROUTE_URL "route:"

/* Send one notification to one resolved URL; 0 when the target answered. */
static int deliver(cse *c, const char *url, const m2m_request *req, m2m_response *rsp, long tmo)
{
	if (strncmp(url, ROUTE_URL, strlen(ROUTE_URL)) == 0) {
		char csi[HL_MAX_ID];
		if (route_target_cse(c, req->to, csi, sizeof(csi)) == ROUTE_LOCAL)
			return -1;
		route_forward(c, req, csi, rsp);
		return rsp->rsc == RSC_TARGET_NOT_REACHABLE ? -1 : 0;
	}
	return transport_send(url, req, rsp, tmo);
}

static void *worker_main(void *arg)
{
	nqueue *q = arg;
	pthread_mutex_lock(&q->mx);
	for (;;) {
		while (!q->head && q->started)
			pthread_cond_wait(&q->cv, &q->mx);
		if (!q->head)
			break; /* stopped */
		njob *j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		pthread_mutex_unlock(&q->mx);
		size_t i;
		json_t *u;
		json_array_foreach(j->urls, i, u) {
			m2m_response rsp;
			m2m_response_init(&rsp);
			int rc = deliver(q->c, json_string_value(u), &j->req, &rsp, HL_NOTIFY_TIMEOUT_MS);
			bool sent = rc == 0 && rsp.rsc == RSC_OK;
			if (!sent)
				log_warn("notification %s to %s failed: rsc %d", j->req.rqi, json_string_value(u), rsp.rsc);
			m2m_response_clear(&rsp);
			if (sent)
				break;
		}
		job_free(j);
		pthread_mutex_lock(&q->mx);
	}
	pthread_mutex_unlock(&q->mx);
	return NULL;
}

int notifier_start(notifier **out, cse *c, unsigned threads)
{
	(void)threads;
	notifier *n = calloc(1, sizeof(*n));
	if (!n)
		return -1;
	n->c = c;
	for (int i = 0; i < NOTIFY_WORKERS; i++) {
		nqueue *q = &n->q[i];
		pthread_mutex_init(&q->mx, NULL);
		pthread_cond_init(&q->cv, NULL);
		q->started = true;
		q->c = c;
		if (pthread_create(&q->th, NULL, worker_main, q) != 0) {
			q->started = false;
			notifier_stop(&n);
			return -1;
		}
	}
	*out = n;
	return 0;
}

void notifier_stop(notifier **np)
{
	if (!np || !*np)
		return;
	notifier *n = *np;
	for (int i = 0; i < NOTIFY_WORKERS; i++) {
		nqueue *q = &n->q[i];
		pthread_mutex_lock(&q->mx);
		bool was = q->started;
		q->started = false;
		/* undelivered jobs are dropped at shutdown */
		while (q->head) {
			njob *j = q->head;
			q->head = j->next;
			job_free(j);
		}
		q->tail = NULL;
		q->len = 0;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mx);
		if (was)
			pthread_join(q->th, NULL);
		pthread_mutex_destroy(&q->mx);
		pthread_cond_destroy(&q->cv);
	}
	while (n->pending) {
		njob *j = n->pending;
		n->pending = j->next;
		job_free(j);
	}
	free(n);
	*np = NULL;
}

static unsigned hash_str(const char *s)
{
	unsigned h = 5381;
	while (s && *s)
		h = h * 33u + (unsigned char)*s++;
	return h;
}

void notify_flush(cse *c)
{
	notifier *n = c->nt;
	while (n && n->pending) {
		njob *j = n->pending;
		n->pending = j->next;
		j->next = NULL;
		if (j->run) {
			j->run(c, j->arg);
			j->arg = NULL;
			job_free(j);
			continue;
		}
		nqueue *q = &n->q[hash_str(json_string_value(json_array_get(j->urls, 0))) % NOTIFY_WORKERS];
		pthread_mutex_lock(&q->mx);
		if (q->len >= HL_NOTIFY_QUEUE) {
			njob *old = q->head;
			q->head = old->next;
			if (!q->head)
				q->tail = NULL;
			q->len--;
			log_warn("notification queue full: dropped %s", old->req.rqi);
			job_free(old);
		}
		if (q->tail)
			q->tail->next = j;
		else
			q->head = j;
		q->tail = j;
		q->len++;
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mx);
	}
	if (n)
		n->pending_tail = NULL;
}

void notify_discard(cse *c)
{
	notifier *n = c->nt;
	while (n && n->pending) {
		njob *j = n->pending;
		n->pending = j->next;
		job_free(j);
	}
	if (n)
		n->pending_tail = NULL;
}

void *notify_mark(cse *c)
{
	return c->nt ? c->nt->pending_tail : NULL;
}

void notify_truncate(cse *c, void *mark)
{
	notifier *n = c->nt;
	if (!n)
		return;
	njob *keep = mark;
	njob *j = keep ? keep->next : n->pending;
	while (j) {
		njob *next = j->next;
		job_free(j);
		j = next;
	}
	if (keep)
		keep->next = NULL;
	else
		n->pending = NULL;
	n->pending_tail = keep;
}

json_t *notify_resolve_target(cse *c, const char *nu)
{
	json_t *urls = json_array();
	if (!nu)
		return urls;
	if (strncmp(nu, "http://", 7) == 0 || strncmp(nu, "https://", 8) == 0 || strncmp(nu, "mqtt://", 7) == 0 ||
	    strncmp(nu, "mqtts://", 8) == 0) {
		json_array_append_new(urls, json_string(nu));
		return urls;
	}
	char csi[HL_MAX_ID];
	if (route_target_cse(c, nu, csi, sizeof(csi)) != ROUTE_LOCAL) {
		/* an AE or CSE elsewhere ("/id-in/Ccoord"): its CSE delivers */
		json_array_append_new(urls, json_string(ROUTE_URL));
		return urls;
	}
	res *r = core_get_by_id(c, acp_norm_id(c, nu));
	if (r && (r->ty == TY_AE || r->ty == TY_CSR)) {
		/* the serialization the target lists first in csz (TS-0004 7.3.6) */
		const char *csz0 = json_string_value(json_array_get(json_object_get(r->a, "csz"), 0));
		bool xml = csz0 && strstr(csz0, "xml");
		size_t i;
		json_t *u;
		json_array_foreach(json_object_get(r->a, "poa"), i, u) {
			const char *p = json_string_value(u);
			if (!p)
				continue;
			if (xml && !strstr(p, "ct="))
				json_array_append_new(urls, json_sprintf("%s%cct=xml", p, strchr(p, '?') ? '&' : '?'));
			else
				json_array_append(urls, u);
		}
	}
	res_free(&r);
	return urls;
}

static void sgn_request(cse *c, m2m_request *req, const char *to, json_t *sgn)
{
	char rqi[48];
	m2m_request_init(req);
	req->op = M2M_OP_NOTIFY;
	req->to = m2m_strdup(to);
	req->fr = m2m_strdup(c->csi);
	snprintf(rqi, sizeof(rqi), "ntf-%lu", ++c->nt->seq);
	req->rqi = m2m_strdup(rqi);
	req->rvi = m2m_strdup("4");
	req->pc = json_pack("{s:o}", "m2m:sgn", sgn);
}

static void enqueue(cse *c, const char *target, json_t *sgn)
{
	json_t *urls = notify_resolve_target(c, target);
	if (json_array_size(urls) == 0) {
		log_warn("notification target %s has no reachable address", target);
		json_decref(urls);
		json_decref(sgn);
		return;
	}
	njob *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->urls = urls;
	sgn_request(c, &j->req, target, sgn);
	notifier *n = c->nt;
	if (n->pending_tail)
		n->pending_tail->next = j;
	else
		n->pending = j;
	n->pending_tail = j;
}

void notify_after_commit(cse *c, void (*run)(cse *, void *), void *arg, void (*drop)(void *))
{
	notifier *n = c->nt;
	if (!n) { /* stopping: nothing commits any more */
		if (drop)
			drop(arg);
		return;
	}
	njob *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	m2m_request_init(&j->req);
	j->run = run;
	j->drop = drop;
	j->arg = arg;
	if (n->pending_tail)
		n->pending_tail->next = j;
	else
		n->pending = j;
	n->pending_tail = j;
}

static void sur_of(cse *c, const res *sub, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", c->csi, sub->ri);
}

static int collect_subs(void *ctx, const res *r)
{
	json_array_append_new((json_t *)ctx, json_pack("{s:s}", "ri", r->ri));
	return 0;
}

static bool int_in(const json_t *arr, json_int_t v)
{
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
		if (json_integer_value(e) == v)
			return true;
	return false;
}

static bool enc_conditions_match(const json_t *enc, int ty, const json_t *a)
{
	json_t *fc = json_object();
	static const char *const keys[] = { "crb", "cra", "ms", "us", "sts", "stb", "exb", "exa", "sza", "szb", "fo" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(enc, keys[i]);
		if (v)
			json_object_set(fc, keys[i], v);
	}
	bool ok = true;
	if (json_object_size(fc) > 0) {
		m2m_filter f;
		char err[128];
		ok = filter_parse(fc, &f, err, sizeof(err)) == 0 && (!filter_has_conditions(&f) || filter_match(&f, ty, a));
		filter_clear(&f);
	}
	json_decref(fc);
	return ok;
}

void notify_event(cse *c, const res *subject, int net, const res *child, const json_t *changed)
{
	json_t *subs = json_array();
	if (core_st(c)->ops->children(core_st(c), subject->ri, TY_SUB, false, -1, collect_subs, subs) != STORE_OK ||
	    json_array_size(subs) == 0) {
		json_decref(subs);
		return;
	}
	const res *about = (net == 3 || net == 4) ? child : subject;
	size_t i;
	json_t *e;
	json_array_foreach(subs, i, e) {
		res *sub = NULL;
		const char *sri = json_string_value(json_object_get(e, "ri"));
		if (child && strcmp(sri, child->ri) == 0)
			continue; /* a subscription does not hear of its own creation or deletion */
		if (core_st(c)->ops->get(core_st(c), sri, &sub) != STORE_OK)
			continue;
		json_t *enc = json_object_get(sub->a, "enc");
		json_t *nets = json_object_get(enc, "net");
		bool want = nets && json_array_size(nets) ? int_in(nets, net) : net == 1;
		if (want && net == 1 && json_object_get(enc, "atr")) {
			bool any = false;
			size_t k;
			json_t *an;
			json_array_foreach(json_object_get(enc, "atr"), k, an)
				if (json_is_string(an) && json_object_get(changed, json_string_value(an)))
					any = true;
			want = any;
		}
		if (want && (net == 3 || net == 4) && json_object_get(enc, "chty"))
			want = int_in(json_object_get(enc, "chty"), about->ty);
		if (want)
			want = enc_conditions_match(enc, about->ty, about->a);
		if (!want) {
			res_free(&sub);
			continue;
		}
		json_int_t nct = json_integer_value(json_object_get(sub->a, "nct"));
		json_t *rep;
		if (nct == 3) {
			rep = json_pack("{s:s}", "m2m:uri", about->ri);
		} else if (nct == 2 && net == 1 && changed) {
			const res_type *t = restype_of(about);
			rep = json_pack("{s:O}", t ? t->root : "m2m:unknown", changed);
		} else {
			rep = core_repr(about);
		}
		char sur[256];
		sur_of(c, sub, sur, sizeof(sur));
		json_t *nev = json_pack("{s:o,s:i}", "rep", rep, "net", net);
		size_t k;
		json_t *t;
		json_array_foreach(json_object_get(sub->a, "nu"), k, t)
			enqueue(c, json_string_value(t), json_pack("{s:O,s:s}", "nev", nev, "sur", sur));
		json_decref(nev);
		json_t *exc = json_object_get(sub->a, "exc");
		if (exc && net != 2) {
			json_int_t left = json_integer_value(exc) - 1;
			if (left <= 0) {
				core_delete_tree(c, sub, NULL, false);
			} else {
				json_object_set_new(sub->a, "exc", json_integer(left));
				core_store_update(c, sub);
			}
		}
		res_free(&sub);
	}
	json_decref(subs);
}

void notify_sub_deleted(cse *c, const res *sub)
{
	const char *su = json_string_value(json_object_get(sub->a, "su"));
	if (!su)
		return;
	char sur[256];
	sur_of(c, sub, sur, sizeof(sur));
	enqueue(c, su, json_pack("{s:b,s:s}", "sud", 1, "sur", sur));
}

int notify_verify(cse *c, const res *sub, const char *target, const char *creator, m2m_response *rsp)
{
	json_t *urls = notify_resolve_target(c, target);
	if (json_array_size(urls) == 0) {
		json_decref(urls);
		return m2m_error(rsp, RSC_SUBSCRIPTION_VERIFICATION_INITIATION_FAILED,
		                 "notification target %s has no reachable address", target);
	}
	char sur[256];
	sur_of(c, sub, sur, sizeof(sur));
	m2m_request req;
	json_t *sgn = json_pack("{s:b,s:s}", "vrq", 1, "sur", sur);
	if (creator)
		json_object_set_new(sgn, "cr", json_string(creator));
	sgn_request(c, &req, target, sgn);
	int result = -1, last = 0;
	size_t i;
	json_t *u;
	json_array_foreach(urls, i, u) {
		m2m_response vr;
		m2m_response_init(&vr);
		int rc = deliver(c, json_string_value(u), &req, &vr, HL_VERIFY_TIMEOUT_MS);
		last = vr.rsc;
		m2m_response_clear(&vr);
		if (rc == 0 && last == RSC_OK) {
			result = 0;
			break;
		}
	}
	m2m_request_clear(&req);
	json_decref(urls);
	if (result == 0)
		return 0;
	return m2m_error(rsp, RSC_SUBSCRIPTION_VERIFICATION_INITIATION_FAILED,
	                 "verification request to %s failed (response %d)", target, last);
}
