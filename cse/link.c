/*
 * link.c - the links between this CSE and its peers (TS-0001 10.2.2,
 * TS-0004 7.4.4): registration to the registrar and liveliness checks.
 *
 * One thread. On a CSE with a registrar it
 *   1. registers: Create <remoteCSE> (ty 16) at the registrar's CSEBase,
 *      rn and CSE-ID = ours. 4117 means a registration from an earlier run
 *      is still there: it is updated (poa, srv) instead, so restarts never
 *      make duplicates;
 *   2. retrieves the registrar's CSEBase and keeps a local <remoteCSE>
 *      (ri = the registrar's CSE-ID) that represents it, created once and
 *      updated afterwards; forwarding upward uses its poa;
 *   3. every check interval retrieves its own <remoteCSE> at the registrar:
 *      4004 (the registrar lost it) registers again at once, no answer
 *      marks the registrar unreachable and retries with backoff (1 s
 *      doubling up to the check interval, at most 60 s) until it answers. The CSE keeps serving its own
 *      resources all the while.
 * On every CSE it also retrieves, once per check interval, the CSEBase of
 * each registered CSE (its registrees) and logs when one vanishes or comes
 * back; cse_link_peer_up() tells the rest of the CSE.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "announce.h"
#include "core.h"
#include "limits.h"
#include "link.h"
#include "log.h"
#include "rsc.h"
#include "util.h"
#include "../bindings/transport.h"

#define LINK_TIMEOUT_MS 5000L
#define LINK_BACKOFF_MAX_S 60
#define LINK_MAX_PEERS 256

typedef struct peer {
	char csi[128];
	bool down;
	bool seen; /* still registered at the last scan */
} peer;

struct cse_link {
	cse *c;
	pthread_t th;
	pthread_mutex_t mx;
	pthread_cond_t cv;
	bool stopping;
	bool registered;
	bool registrar_down;
	unsigned long seq;
	peer peers[LINK_MAX_PEERS];
	size_t npeers;
};

/* Sleep up to s seconds; false when the link is stopping. */
static bool link_wait(cse_link *l, long s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&l->mx);
	while (!l->stopping && pthread_cond_timedwait(&l->cv, &l->mx, &until) == 0)
		;
	bool go = !l->stopping;
	pthread_mutex_unlock(&l->mx);
	return go;
}

static void set_down(cse_link *l, bool down)
{
	pthread_mutex_lock(&l->mx);
	l->registrar_down = down;
	pthread_mutex_unlock(&l->mx);
}

static void req_setup(cse_link *l, m2m_request *req, int op, const char *to)
{
	char rqi[64];
	m2m_request_init(req);
	req->op = op;
	req->to = m2m_strdup(to);
	req->fr = m2m_strdup(l->c->csi);
	snprintf(rqi, sizeof(rqi), "link-%s-%lu", l->c->cfg.cse_id, ++l->seq);
	req->rqi = m2m_strdup(rqi);
	req->rvi = m2m_strdup("3");
}

/* Send req to the registrar; 0 with its answer in rsp, -1 unreachable. */
static int to_registrar(cse_link *l, const m2m_request *req, m2m_response *rsp)
{
	char hop[160];
	snprintf(hop, sizeof(hop), "/%s", l->c->cfg.registrar_id);
	m2m_response_init(rsp);
	return transport_forward(l->c->cfg.registrar_url, hop, req, rsp, LINK_TIMEOUT_MS);
}

static json_t *own_csr(cse_link *l)
{
	const cse_config *cfg = &l->c->cfg;
	char cb[320];
	snprintf(cb, sizeof(cb), "/%s/%s", cfg->cse_id, cfg->cse_rn);
	return json_pack("{s:{s:s,s:s,s:s,s:i,s:b,s:[s],s:[sss],s:[ss]}}", "m2m:csr",
	                 "rn", cfg->cse_id, "cb", cb, "csi", l->c->csi, "cst", cfg->cse_type,
	                 "rr", 1, "poa", cfg->poa, "srv", "2a", "3", "4",
	                 "csz", "application/json", "application/xml");
}

/* The local <remoteCSE> that stands for the registrar: create, or update
   its poa/srv/cst when it is there already. */
static int local_registrar_csr(cse_link *l, const json_t *cb)
{
	cse *c = l->c;
	const cse_config *cfg = &c->cfg;
	char reg_csi[160], reg_cb[320];
	snprintf(reg_csi, sizeof(reg_csi), "/%s", cfg->registrar_id);
	snprintf(reg_cb, sizeof(reg_cb), "/%s/%s", cfg->registrar_id, cfg->registrar_rn);
	json_t *srv = json_object_get(cb, "srv");
	json_t *cst = json_object_get(cb, "cst");
	json_t *a = json_pack("{s:[s],s:b}", "poa", cfg->registrar_url, "rr", 1);
	if (!a)
		return -1;
	if (json_is_array(srv))
		json_object_set(a, "srv", srv);
	else
		json_object_set_new(a, "srv", json_pack("[s]", "3"));

	m2m_request req;
	m2m_response rsp;
	req_setup(l, &req, M2M_OP_CREATE, cfg->cse_rn);
	free(req.fr);
	req.fr = m2m_strdup(reg_csi);
	req.ty = TY_CSR;
	json_t *body = json_deep_copy(a);
	json_object_set_new(body, "rn", json_string(cfg->registrar_id));
	json_object_set_new(body, "cb", json_string(reg_cb));
	json_object_set_new(body, "csi", json_string(reg_csi));
	if (json_is_integer(cst) && json_integer_value(cst) >= 1 && json_integer_value(cst) <= 3)
		json_object_set(body, "cst", cst);
	req.pc = json_pack("{s:o}", "m2m:csr", body);
	m2m_response_init(&rsp);
	cse_handle(c, &req, &rsp);
	int rc = rsp.rsc;
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	if (rc == RSC_CREATED) {
		json_decref(a);
		return 0;
	}
	if (rc != RSC_ORIGINATOR_HAS_ALREADY_REGISTERED) {
		log_warn("link: cannot create the local remoteCSE of %s: rsc %d", reg_csi, rc);
		json_decref(a);
		return -1;
	}
	json_object_del(a, "rr");
	req_setup(l, &req, M2M_OP_UPDATE, cfg->registrar_id);
	free(req.fr);
	req.fr = m2m_strdup(cfg->admin);
	req.pc = json_pack("{s:o}", "m2m:csr", a);
	m2m_response_init(&rsp);
	cse_handle(c, &req, &rsp);
	rc = rsp.rsc;
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	if (rc != RSC_UPDATED) {
		log_warn("link: cannot update the local remoteCSE of %s: rsc %d", reg_csi, rc);
		return -1;
	}
	return 0;
}

/* Register (or refresh an old registration); 0 when registered. */
static int do_register(cse_link *l)
{
	const cse_config *cfg = &l->c->cfg;
	char to[320];
	m2m_request req;
	m2m_response rsp;

	snprintf(to, sizeof(to), "/%s/%s", cfg->registrar_id, cfg->registrar_rn);
	req_setup(l, &req, M2M_OP_CREATE, to);
	req.ty = TY_CSR;
	req.pc = own_csr(l);
	int rc = to_registrar(l, &req, &rsp);
	int rsc = rsp.rsc;
	m2m_request_clear(&req);
	if (rc != 0) {
		if (!l->registrar_down) /* only this thread writes it */
			log_warn("link: registrar /%s at %s is not reachable (%s); retrying",
			         cfg->registrar_id, cfg->registrar_url,
			         json_string_value(json_object_get(rsp.pc, "m2m:dbg")) ?
			         json_string_value(json_object_get(rsp.pc, "m2m:dbg")) : "no answer");
		set_down(l, true);
		m2m_response_clear(&rsp);
		return -1;
	}
	m2m_response_clear(&rsp);
	if (rsc == RSC_ORIGINATOR_HAS_ALREADY_REGISTERED) {
		/* our registration from an earlier run: bring poa/srv up to date */
		snprintf(to, sizeof(to), "/%s/%s/%s", cfg->registrar_id, cfg->registrar_rn, cfg->cse_id);
		req_setup(l, &req, M2M_OP_UPDATE, to);
		json_t *csr = own_csr(l);
		json_t *in = json_object_get(csr, "m2m:csr");
		req.pc = json_pack("{s:{s:O,s:O}}", "m2m:csr", "poa", json_object_get(in, "poa"),
		                   "srv", json_object_get(in, "srv"));
		json_decref(csr);
		rc = to_registrar(l, &req, &rsp);
		rsc = rsp.rsc;
		m2m_request_clear(&req);
		m2m_response_clear(&rsp);
		if (rc != 0 || rsc != RSC_UPDATED) {
			log_warn("link: registrar /%s refused to update our registration: rsc %d",
			         cfg->registrar_id, rsc);
			return -1;
		}
	} else if (rsc != RSC_CREATED) {
		log_warn("link: registrar /%s refused our registration: rsc %d", cfg->registrar_id, rsc);
		return -1;
	}
	bool fresh = rsc == RSC_CREATED;

	/* the registrar's CSEBase, for the local remoteCSE */
	snprintf(to, sizeof(to), "/%s/%s", cfg->registrar_id, cfg->registrar_rn);
	req_setup(l, &req, M2M_OP_RETRIEVE, to);
	rc = to_registrar(l, &req, &rsp);
	m2m_request_clear(&req);
	json_t *cb = rc == 0 && rsp.rsc == RSC_OK ? json_object_get(rsp.pc, "m2m:cb") : NULL;
	rc = local_registrar_csr(l, cb);
	m2m_response_clear(&rsp);
	if (rc != 0)
		return -1;
	log_info("link: registered to /%s at %s", cfg->registrar_id, cfg->registrar_url);
	set_down(l, false);
	/* a fresh registration has no announced copies under it (any earlier
	   ones went with the old registration); an old one may miss some */
	char reg_csi[160];
	snprintf(reg_csi, sizeof(reg_csi), "/%s", cfg->registrar_id);
	announce_resync(l->c, fresh ? reg_csi : NULL);
	return 0;
}

/* Is our registration still there? 1 yes, 0 gone, -1 registrar unreachable. */
static int check_registration(cse_link *l)
{
	const cse_config *cfg = &l->c->cfg;
	char to[320];
	m2m_request req;
	m2m_response rsp;
	snprintf(to, sizeof(to), "/%s/%s/%s", cfg->registrar_id, cfg->registrar_rn, cfg->cse_id);
	req_setup(l, &req, M2M_OP_RETRIEVE, to);
	int rc = to_registrar(l, &req, &rsp);
	int rsc = rsp.rsc;
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	if (rc != 0)
		return -1;
	return rsc == RSC_OK ? 1 : 0;
}

/* ---- registrees ---------------------------------------------------------- */

typedef struct scan {
	json_t *list; /* [[csi, [poa...]], ...] */
	const char *skip;
} scan;

static int scan_visit(void *ctx, const res *r)
{
	scan *s = ctx;
	const char *csi = json_string_value(json_object_get(r->a, "csi"));
	if (r->ty != TY_CSR || !csi || (s->skip && strcmp(csi, s->skip) == 0))
		return 0;
	json_array_append_new(s->list, json_pack("[sO]", csi, json_object_get(r->a, "poa")));
	return 0;
}

static peer *peer_get(cse_link *l, const char *csi)
{
	for (size_t i = 0; i < l->npeers; i++)
		if (strcmp(l->peers[i].csi, csi) == 0)
			return &l->peers[i];
	if (l->npeers == LINK_MAX_PEERS || strlen(csi) >= sizeof(l->peers[0].csi))
		return NULL;
	peer *p = &l->peers[l->npeers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->csi, sizeof(p->csi), "%s", csi);
	return p;
}

static void check_registrees(cse_link *l)
{
	cse *c = l->c;
	char reg[160];
	snprintf(reg, sizeof(reg), "/%s", c->cfg.registrar_id);
	scan s = { json_array(), *c->cfg.registrar_url ? reg : NULL };
	store *rd = core_reader_begin(c);
	core_st(c)->ops->children(core_st(c), c->cb_ri, TY_CSR, false, -1, scan_visit, &s);
	core_reader_end(c, rd);

	pthread_mutex_lock(&l->mx);
	for (size_t i = 0; i < l->npeers; i++)
		l->peers[i].seen = false;
	pthread_mutex_unlock(&l->mx);
	size_t i;
	json_t *e;
	json_array_foreach(s.list, i, e) {
		const char *csi = json_string_value(json_array_get(e, 0));
		json_t *poa = json_array_get(e, 1);
		m2m_request req;
		m2m_response rsp;
		req_setup(l, &req, M2M_OP_RETRIEVE, csi);
		int ok = 0;
		size_t j;
		json_t *u;
		json_array_foreach(poa, j, u) {
			m2m_response_init(&rsp);
			if (json_is_string(u) &&
			    transport_forward(json_string_value(u), csi, &req, &rsp, LINK_TIMEOUT_MS) == 0)
				ok = 1;
			m2m_response_clear(&rsp);
			if (ok)
				break;
		}
		m2m_request_clear(&req);
		pthread_mutex_lock(&l->mx);
		peer *p = peer_get(l, csi);
		if (p) {
			p->seen = true;
			if (ok && p->down)
				log_info("link: registered CSE %s answers again", csi);
			else if (!ok && !p->down)
				log_warn("link: registered CSE %s does not answer", csi);
			p->down = !ok;
		}
		pthread_mutex_unlock(&l->mx);
	}
	json_decref(s.list);
	/* forget peers that deregistered */
	pthread_mutex_lock(&l->mx);
	size_t w = 0;
	for (size_t k = 0; k < l->npeers; k++)
		if (l->peers[k].seen)
			l->peers[w++] = l->peers[k];
	l->npeers = w;
	pthread_mutex_unlock(&l->mx);
}

static void *link_main(void *arg)
{
	cse_link *l = arg;
	const cse_config *cfg = &l->c->cfg;
	bool upward = cfg->registrar_url && *cfg->registrar_url;
	long backoff = 1;
	time_t next_peer_check = 0;
	for (;;) {
		if (upward && !l->registered) {
			if (do_register(l) == 0) {
				l->registered = true;
				backoff = 1;
			} else {
				if (!link_wait(l, backoff))
					break;
				long cap = cfg->registrar_check_s < LINK_BACKOFF_MAX_S ? cfg->registrar_check_s
				                                                       : LINK_BACKOFF_MAX_S;
				backoff = backoff * 2 > cap ? cap : backoff * 2;
				continue;
			}
		}
		time_t now = time(NULL);
		if (now >= next_peer_check) {
			check_registrees(l);
			next_peer_check = now + cfg->registrar_check_s;
		}
		if (!link_wait(l, cfg->registrar_check_s))
			break;
		if (upward) {
			int st = check_registration(l);
			if (st == 0) {
				log_warn("link: registrar /%s lost our registration; registering again",
				         cfg->registrar_id);
				l->registered = false;
			} else if (st < 0) {
				log_warn("link: registrar /%s does not answer; retrying", cfg->registrar_id);
				set_down(l, true);
				l->registered = false;
			}
		}
	}
	return NULL;
}

int cse_link_start(cse_link **out, cse *c)
{
	cse_link *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->c = c;
	pthread_mutex_init(&l->mx, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->th, NULL, link_main, l) != 0) {
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mx);
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

void cse_link_stop(cse_link **lp)
{
	cse_link *l = lp ? *lp : NULL;
	if (!l)
		return;
	pthread_mutex_lock(&l->mx);
	l->stopping = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mx);
	pthread_join(l->th, NULL);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mx);
	free(l);
	*lp = NULL;
}

void cse_link_peer_mark(cse_link *l, const char *csi, bool up)
{
	if (!l || !csi)
		return;
	const cse_config *cfg = &l->c->cfg;
	pthread_mutex_lock(&l->mx);
	if (*cfg->registrar_url && csi[0] == '/' && strcmp(csi + 1, cfg->registrar_id) == 0)
		l->registrar_down = !up;
	for (size_t i = 0; i < l->npeers; i++)
		if (strcmp(l->peers[i].csi, csi) == 0)
			l->peers[i].down = !up;
	pthread_mutex_unlock(&l->mx);
}

bool cse_link_peer_up(cse_link *l, const char *csi)
{
	if (!l || !csi)
		return true;
	bool up = true;
	const cse_config *cfg = &l->c->cfg;
	pthread_mutex_lock(&l->mx);
	if (*cfg->registrar_url && csi[0] == '/' && strcmp(csi + 1, cfg->registrar_id) == 0)
		up = !l->registrar_down;
	for (size_t i = 0; i < l->npeers; i++)
		if (strcmp(l->peers[i].csi, csi) == 0)
			up = !l->peers[i].down;
	pthread_mutex_unlock(&l->mx);
	return up;
}
