/*
 * attest.c - the gateway's attestation of its devices (attest.h;
 * mgmtobj/README.md, "Device attestation").
 *
 * Design note
 *   One worker thread, started by mgmt_start() when [attest] trust-dir is
 *   set. It keeps a small table of nodes to attest, each with the time it
 *   is due: a node's Create or Update (its device registering) and the
 *   Create of its deviceInfo put it there ATTEST_SETTLE_MS later, so that
 *   the device has created its mgmtObjs by then; every [attest] interval
 *   seconds every node of the CSEBase is put there (0: registration only).
 *
 *   One attestation: read the node and its deviceInfo (a read snapshot),
 *   draw a 32-byte nonce, send the challenge as a Notify to the first AE of
 *   hael (at its poa, as the native adapter does), check the answer with
 *   attest_verify(), and write the result as labels through the pipeline
 *   as the admin originator, with a thread-local mark. The node's label
 *   guard (attest_guard_labels, under the CSE lock) lets only that marked
 *   Update write labels starting with "hearth:trust" and merges them with
 *   the node's other labels there, so a concurrent Update of lbl is not
 *   lost and nobody else can set or remove a trust label.
 *
 *   Lock order: the CSE lock, then a->mx (commit callbacks). The worker
 *   holds a->mx only to pick work, never while it calls out.
 *
 * Cost: one challenge (one HTTP exchange and one ECDSA verification) per
 * node and interval, one at a time.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "attest.h"
#include "mgmtobj.h"
#include "../bindings/transport.h"
#include "../cse/limits.h"
#include "../cse/log.h"
#include "../cse/rsc.h"
#include "../cse/util.h"

#define ATTEST_SETTLE_MS 1000     /* after a registration, before the challenge */
#define ATTEST_MAX_PENDING 4096   /* nodes waiting; beyond, the next scan catches them */
#define ATTEST_RI_MAX 64

typedef struct pend {
	char ri[ATTEST_RI_MAX];
	int64_t due;
} pend;

struct attest {
	cse *c;
	pthread_mutex_t mx;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	pthread_t th;
	bool started, stop;
	pend *q;
	size_t nq;
	int64_t interval_ms, next_scan;
	unsigned long seq;
};

/* The request that writes the result of an attestation carries this. */
static const m2m_internal attest_write = { M2M_INTERNAL_ATTEST, NULL };

static bool is_attest_write(const op_ctx *x)
{
	return x->req->internal == &attest_write;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_trust_label(const char *s)
{
	return s && strncmp(s, ATTEST_LABEL_PREFIX, strlen(ATTEST_LABEL_PREFIX)) == 0;
}

bool attest_node_failed(const json_t *node_attrs)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(node_attrs, "lbl"), i, v) {
		const char *s = json_string_value(v);
		if (s && strcmp(s, ATTEST_LABEL_TRUST "failed") == 0)
			return true;
	}
	return false;
}

/* The label after prefix in lbl, or NULL. */
static const char *label_value(const json_t *lbl, const char *prefix)
{
	size_t i, n = strlen(prefix);
	json_t *v;
	json_array_foreach(lbl, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, prefix, n) == 0)
			return s + n;
	}
	return NULL;
}

/* ---------- hooks (under the CSE lock) ---------- */

int attest_guard_labels(op_ctx *x)
{
	json_t *in = json_object_get(x->in, "lbl");
	size_t i;
	json_t *v;
	if (!in || (!json_is_array(in) && !(json_is_null(in) && x->changed)))
		return 0; /* no labels written (a bad type is refused by the engine) */
	bool ours = is_attest_write(x);
	if (!ours)
		json_array_foreach(in, i, v)
			if (is_trust_label(json_string_value(v)))
				return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED,
				                 "labels starting with %s are written by the CSE only (device attestation)",
				                 ATTEST_LABEL_PREFIX);
	if (!x->changed) /* a Create */
		return 0;
	/* An Update: trust labels from the CSE's write, the others from the
	   stored resource, or the reverse for anybody else. */
	json_t *stored = json_object_get(x->target->a, "lbl"), *out = json_array();
	json_array_foreach(ours ? stored : in, i, v)
		if (!is_trust_label(json_string_value(v)))
			json_array_append(out, v);
	json_array_foreach(ours ? in : stored, i, v)
		if (is_trust_label(json_string_value(v)))
			json_array_append(out, v);
	if (json_array_size(out) == 0) {
		json_decref(out);
		json_object_del(x->nr->a, "lbl");
		json_object_set_new(x->changed, "lbl", json_null());
		return 0;
	}
	json_object_set_new(x->nr->a, "lbl", out);
	json_object_set(x->changed, "lbl", out);
	return 0;
}

static void touch_run(cse *c, void *arg)
{
	char *ri = arg;
	attest *a = mgmt_attest(c);
	if (a) {
		pthread_mutex_lock(&a->mx);
		size_t i;
		for (i = 0; i < a->nq && strcmp(a->q[i].ri, ri) != 0; i++)
			;
		if (i < a->nq || a->nq < ATTEST_MAX_PENDING) {
			if (i == a->nq)
				snprintf(a->q[a->nq++].ri, ATTEST_RI_MAX, "%s", ri);
			a->q[i].due = mono_ms() + ATTEST_SETTLE_MS;
			pthread_cond_signal(&a->cv);
		}
		pthread_mutex_unlock(&a->mx);
	}
	free(ri);
}

static void str_drop(void *arg)
{
	free(arg);
}

void attest_touch(op_ctx *x, const char *node_ri)
{
	if (is_attest_write(x) || !node_ri || strlen(node_ri) >= ATTEST_RI_MAX || !mgmt_attest(x->c))
		return;
	notify_after_commit(x->c, touch_run, m2m_strdup(node_ri), str_drop);
}

/* ---------- one attestation (worker) ---------- */

typedef struct node_view {
	res *node, *dvi;
} node_view;

static int find_dvi(void *ctx, const res *r)
{
	node_view *v = ctx;
	if (!v->dvi && r->a && json_integer_value(json_object_get(r->a, "mgd")) == 1007)
		v->dvi = res_dup(r);
	return 0;
}

/* The serial of ni "urn:dev:<man>:<mod>:<serial>" into buf when man and
   mod are the deviceInfo's; false otherwise. */
static bool ni_serial(const char *ni, const char *man, const char *mod, char *buf, size_t len)
{
	char want[2 * ATTEST_MAX_FIELD + 16];
	if (!ni || !man || !mod)
		return false;
	int n = snprintf(want, sizeof(want), "urn:dev:%s:%s:", man, mod);
	if (n < 0 || (size_t)n >= sizeof(want) || strncmp(ni, want, (size_t)n) != 0)
		return false;
	const char *s = ni + n;
	if (!*s || strchr(s, ':') || strlen(s) >= len)
		return false;
	snprintf(buf, len, "%s", s);
	return true;
}

/* Send the challenge; the answer's content (a copy) or NULL with *why. */
static json_t *challenge(attest *a, const char *ae, const char *sur, const char *nonce, int *last)
{
	cse *c = a->c;
	json_t *poa = mgmt_poa_of(c, ae), *u, *answer = NULL;
	m2m_request req;
	char rqi[48];
	size_t i;
	*last = 0;
	if (json_array_size(poa) == 0) {
		json_decref(poa);
		return NULL;
	}
	m2m_request_init(&req);
	snprintf(rqi, sizeof(rqi), "attest-%lu", ++a->seq);
	req.op = M2M_OP_NOTIFY;
	req.to = m2m_strdup(ae);
	req.fr = m2m_strdup(c->csi);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup("4");
	req.pc = json_pack("{s:{s:{s:{s:{s:s}},s:i},s:s}}", "m2m:sgn", "nev", "rep", "hd:atq", "nonce", nonce, "net", 1,
	                   "sur", sur);
	json_array_foreach(poa, i, u) {
		m2m_response rsp;
		m2m_response_init(&rsp);
		int rc = json_is_string(u) ? transport_send(json_string_value(u), &req, &rsp, HL_NOTIFY_TIMEOUT_MS) : -1;
		*last = rsp.rsc;
		if (rc == 0 && rsc_is_success(rsp.rsc)) {
			answer = rsp.pc ? json_incref(rsp.pc) : json_object();
			m2m_response_clear(&rsp);
			break;
		}
		m2m_response_clear(&rsp);
	}
	m2m_request_clear(&req);
	json_decref(poa);
	return answer;
}

/* Write the result as the node's trust labels (through the pipeline). */
static void record(attest *a, const char *ri, attest_trust t, const char *reason)
{
	cse *c = a->c;
	char now[24], lt[64], lr[64], la[64], rqi[48];
	util_now(now);
	snprintf(lt, sizeof(lt), ATTEST_LABEL_TRUST "%s", attest_trust_name(t));
	snprintf(la, sizeof(la), ATTEST_LABEL_AT "%.15s", now);
	json_t *lbl = json_pack("[s,s]", lt, la);
	if (reason) {
		snprintf(lr, sizeof(lr), ATTEST_LABEL_REASON "%s", reason);
		json_array_append_new(lbl, json_string(lr));
	}
	m2m_request req;
	m2m_response rsp;
	m2m_request_init(&req);
	m2m_response_init(&rsp);
	snprintf(rqi, sizeof(rqi), "attest-record-%lu", ++a->seq);
	req.op = M2M_OP_UPDATE;
	req.to = m2m_strdup(ri);
	req.fr = m2m_strdup(c->cfg.admin);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup("4");
	req.pc = json_pack("{s:{s:o}}", "m2m:nod", "lbl", lbl);
	req.internal = &attest_write;
	cse_handle(c, &req, &rsp);
	if (rsp.rsc != RSC_UPDATED && rsp.rsc != RSC_NOT_FOUND) {
		const char *why = json_string_value(json_object_get(rsp.pc, "m2m:dbg"));
		log_warn("attestation of node %s: the result could not be written: %d %s", ri, rsp.rsc, why ? why : "");
	}
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
}

static void attest_node(attest *a, const char *ri)
{
	cse *c = a->c;
	node_view v = { NULL, NULL };
	store *rd = core_reader_begin(c);
	if (core_st(c)->ops->get(core_st(c), ri, &v.node) == STORE_OK && v.node->ty == TY_NODE)
		core_st(c)->ops->children(core_st(c), ri, TY_MGMTOBJ, false, -1, find_dvi, &v);
	core_reader_end(c, rd);
	if (!v.node || v.node->ty != TY_NODE) {
		res_free(&v.node);
		return;
	}
	const json_t *na = v.node->a, *da = v.dvi ? v.dvi->a : NULL;
	const char *ae = json_string_value(json_array_get(json_object_get(na, "hael"), 0));
	if (!ae) {
		res_free(&v.node);
		res_free(&v.dvi);
		return;
	}
	char sur[HL_MAX_ID], serial[ATTEST_MAX_FIELD + 1], nonce[ATTEST_NONCE_MAX], text[400];
	unsigned char raw[ATTEST_NONCE_BYTES];
	attest_meta want = {
		.man = json_string_value(json_object_get(da, "man")),
		.mod = json_string_value(json_object_get(da, "mod")),
		.hwv = json_string_value(json_object_get(da, "hwv")),
		.fwv = json_string_value(json_object_get(da, "fwv")),
		.swv = json_string_value(json_object_get(da, "swv")),
	};
	if (ni_serial(json_string_value(json_object_get(na, "ni")), want.man, want.mod, serial, sizeof(serial)))
		want.serial = serial;
	snprintf(sur, sizeof(sur), "%s/%s/%s", c->csi, c->cfg.cse_rn, v.node->rn[0] ? v.node->rn : v.node->ri);
	attest_trust t = ATTEST_FAILED;
	const char *reason = "no-answer";
	int last = 0;
	json_t *answer = NULL;
	if (gnutls_rnd(GNUTLS_RND_NONCE, raw, sizeof(raw)) != 0 ||
	    attest_b64url(raw, sizeof(raw), nonce, sizeof(nonce)) != 0) {
		log_error("attestation of node %s: no random nonce", v.node->path);
		goto out;
	}
	answer = challenge(a, ae, sur, nonce, &last);
	if (!answer) {
		snprintf(text, sizeof(text), "AE %s did not answer the challenge (response %d)", ae, last);
	} else {
		t = attest_verify(answer, nonce, &want, c->cfg.attest_trust_dir, time(NULL), &reason, text,
		                  sizeof(text));
		const char *prev = label_value(json_object_get(na, "lbl"), ATTEST_LABEL_TRUST);
		const char *prev_reason = label_value(json_object_get(na, "lbl"), ATTEST_LABEL_REASON);
		if (t == ATTEST_ASSERTED && ((prev && strcmp(prev, "verified") == 0) ||
		                             (prev_reason && strcmp(prev_reason, "downgrade") == 0))) {
			t = ATTEST_FAILED;
			reason = "downgrade";
			snprintf(text, sizeof(text), "a device that proved its key now answers without one");
		}
	}
	if (t == ATTEST_FAILED)
		log_warn("attestation of node %s (AE %s): failed, %s: %s", v.node->path, ae, reason, text);
	else
		log_info("attestation of node %s (AE %s): %s: %s", v.node->path, ae, attest_trust_name(t), text);
	record(a, v.node->ri, t, t == ATTEST_FAILED ? reason : NULL);
out:
	json_decref(answer);
	gnutls_memset(raw, 0, sizeof(raw));
	res_free(&v.node);
	res_free(&v.dvi);
}

/* ---------- the worker ---------- */

typedef struct scan_ctx {
	attest *a;
	int64_t due;
} scan_ctx;

static int scan_visit(void *ctx, const res *r)
{
	scan_ctx *s = ctx;
	attest *a = s->a;
	if (strlen(r->ri) >= ATTEST_RI_MAX)
		return 0;
	pthread_mutex_lock(&a->mx);
	size_t i;
	for (i = 0; i < a->nq && strcmp(a->q[i].ri, r->ri) != 0; i++)
		;
	if (i == a->nq && a->nq < ATTEST_MAX_PENDING) {
		snprintf(a->q[a->nq].ri, ATTEST_RI_MAX, "%s", r->ri);
		a->q[a->nq++].due = s->due;
	}
	pthread_mutex_unlock(&a->mx);
	return 0;
}

static void scan_all(attest *a)
{
	cse *c = a->c;
	scan_ctx s = { a, mono_ms() };
	store *rd = core_reader_begin(c);
	core_st(c)->ops->children(core_st(c), c->cb_ri, TY_NODE, false, -1, scan_visit, &s);
	core_reader_end(c, rd);
}

static void *worker_main(void *arg)
{
	attest *a = arg;
	pthread_mutex_lock(&a->mx);
	while (!a->stop) {
		int64_t now = mono_ms(), wake = a->interval_ms > 0 ? a->next_scan : INT64_MAX;
		if (a->interval_ms > 0 && now >= a->next_scan) {
			a->next_scan = now + a->interval_ms;
			pthread_mutex_unlock(&a->mx);
			scan_all(a);
			pthread_mutex_lock(&a->mx);
			continue;
		}
		size_t pick = a->nq;
		for (size_t i = 0; i < a->nq; i++) {
			if (a->q[i].due <= now) {
				pick = i;
				break;
			}
			if (a->q[i].due < wake)
				wake = a->q[i].due;
		}
		if (pick == a->nq) {
			if (wake == INT64_MAX) {
				pthread_cond_wait(&a->cv, &a->mx);
			} else {
				struct timespec ts = { (time_t)(wake / 1000), (long)(wake % 1000) * 1000000L };
				pthread_cond_timedwait(&a->cv, &a->mx, &ts);
			}
			continue;
		}
		char ri[ATTEST_RI_MAX];
		snprintf(ri, sizeof(ri), "%s", a->q[pick].ri);
		a->q[pick] = a->q[--a->nq];
		pthread_mutex_unlock(&a->mx);
		attest_node(a, ri);
		pthread_mutex_lock(&a->mx);
	}
	pthread_mutex_unlock(&a->mx);
	return NULL;
}

int attest_start(cse *c, attest **out)
{
	*out = NULL;
	if (!c->cfg.attest_trust_dir || !*c->cfg.attest_trust_dir)
		return 0;
	attest *a = calloc(1, sizeof(*a));
	if (!a || !(a->q = calloc(ATTEST_MAX_PENDING, sizeof(*a->q)))) {
		free(a);
		return -1;
	}
	a->c = c;
	a->interval_ms = (int64_t)c->cfg.attest_interval_s * 1000;
	a->next_scan = mono_ms() + a->interval_ms;
	pthread_mutex_init(&a->mx, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&a->th, NULL, worker_main, a) != 0) {
		attest_stop(a);
		return -1;
	}
	a->started = true;
	log_info("device attestation on: manufacturer CAs in %s, every %ld s%s", c->cfg.attest_trust_dir,
	         c->cfg.attest_interval_s, c->cfg.attest_interval_s ? "" : " (0: at registration only)");
	*out = a;
	return 0;
}

void attest_stop(attest *a)
{
	if (!a)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mx);
		a->stop = true;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mx);
		pthread_join(a->th, NULL);
	}
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mx);
	free(a->q);
	free(a);
}
