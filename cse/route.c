/*
 * route.c - requests for resources on other CSEs (TS-0004 7.3.2.6).
 *
 * A target whose SP-relative or absolute address names another CSE is not
 * resolved here: the request goes to the next hop, a <remoteCSE> whose
 * csi or dcse names that CSE, else (on a CSE with a registrar) up to the
 * registrar. The originator travels unchanged except that a CSE-relative
 * AE-ID becomes SP-relative ("Cabc" -> "/id-mn/Cabc"), so that the target
 * CSE applies access control to the real originator. The response comes
 * back as the peer gave it.
 *
 * Loops: while a request is being forwarded, its (originator, rqi) pair is
 * held in an in-flight set; a request that comes back with the same pair
 * before the answer did is a loop and gets 4004 at once. In a tree of CSEs
 * a loop needs a wrong poa or dcse somewhere (a request the registrar
 * sent down that the registree cannot place goes back up), and it ends at
 * the first CSE that sees the request twice.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "limits.h"
#include "link.h"
#include "log.h"
#include "route.h"
#include "rsc.h"
#include "../bindings/transport.h"

typedef struct flight {
	struct flight *next;
	char key[];
} flight;

static pthread_mutex_t fl_mx = PTHREAD_MUTEX_INITIALIZER;
static flight *fl_head;

static flight *flight_enter(const char *fr, const char *rqi)
{
	size_t a = strlen(fr), b = strlen(rqi);
	pthread_mutex_lock(&fl_mx);
	for (flight *f = fl_head; f; f = f->next)
		if (strncmp(f->key, fr, a) == 0 && f->key[a] == '\n' && strcmp(f->key + a + 1, rqi) == 0) {
			pthread_mutex_unlock(&fl_mx);
			return NULL;
		}
	flight *f = malloc(sizeof(*f) + a + b + 2);
	if (f) {
		memcpy(f->key, fr, a);
		f->key[a] = '\n';
		memcpy(f->key + a + 1, rqi, b + 1);
		f->next = fl_head;
		fl_head = f;
	}
	pthread_mutex_unlock(&fl_mx);
	return f;
}

static void flight_leave(flight *f)
{
	pthread_mutex_lock(&fl_mx);
	for (flight **pp = &fl_head; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&fl_mx);
	free(f);
}

int route_target_cse(const cse *c, const char *to, char *id, size_t len)
{
	const cse_config *cfg = &c->cfg;
	if (!to || to[0] != '/')
		return ROUTE_LOCAL;
	const char *p = to + 1;
	if (*p == '/') { /* //sp-id/cse-id/... */
		p++;
		const char *e = strchr(p, '/');
		size_t sl = e ? (size_t)(e - p) : strlen(p);
		if (sl == 0 || p[0] == '/')
			return ROUTE_LOCAL; /* malformed; resolve() explains */
		if (sl != strlen(cfg->sp_id) || strncmp(p, cfg->sp_id, sl) != 0) {
			snprintf(id, len, "//%.*s", (int)(sl < 200 ? sl : 200), p);
			return ROUTE_OTHER_SP;
		}
		if (!e)
			return ROUTE_LOCAL; /* malformed; resolve() explains */
		p = e + 1;
	}
	const char *e = strchr(p, '/');
	size_t il = e ? (size_t)(e - p) : strlen(p);
	if (il == 0 || (il == strlen(cfg->cse_id) && strncmp(p, cfg->cse_id, il) == 0))
		return ROUTE_LOCAL;
	if (il + 2 > len)
		return ROUTE_LOCAL; /* too long to be a CSE-ID: resolve() answers 4004 */
	id[0] = '/';
	memcpy(id + 1, p, il);
	id[il + 1] = '\0';
	return ROUTE_OTHER_CSE;
}

/* dcse of a <remoteCSE> names csi? */
static bool dcse_has(const res *r, const char *csi)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(r->a, "dcse"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), csi) == 0)
			return true;
	return false;
}

typedef struct hop_scan {
	const char *csi;
	res *found;
} hop_scan;

static int hop_visit(void *ctx, const res *r)
{
	hop_scan *h = ctx;
	if (r->ty == TY_CSR && !h->found && dcse_has(r, h->csi))
		h->found = res_dup(r);
	return 0;
}

/* The <remoteCSE> to send a request for csi to, or NULL. */
static res *next_hop(cse *c, const char *csi)
{
	store *st = core_st(c);
	res *r = NULL;
	if (csi[0] == '/' && csi[1] != '/' && st->ops->get(st, csi + 1, &r) == STORE_OK) {
		if (r->ty == TY_CSR)
			return r;
		res_free(&r);
	}
	hop_scan h = { csi, NULL };
	st->ops->children(st, c->cb_ri, TY_CSR, false, -1, hop_visit, &h);
	if (h.found)
		return h.found;
	if (!*c->cfg.registrar_url)
		return NULL;
	if (st->ops->get(st, c->cfg.registrar_id, &r) == STORE_OK && r->ty == TY_CSR)
		return r;
	res_free(&r);
	return NULL;
}

int route_forward(cse *c, const m2m_request *req, const char *csi, m2m_response *rsp)
{
	if (req->op == M2M_OP_CREATE && (req->ty == TY_AE || req->ty == TY_CSR))
		return m2m_error(rsp, RSC_BAD_REQUEST, "registration requests are not forwarded (target %s)", csi);
	if (!req->fr || !*req->fr)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing originator (X-M2M-Origin / fr)");
	if (!req->rqi || !*req->rqi)
		return m2m_error(rsp, RSC_BAD_REQUEST, "missing request identifier (rqi)");
	if (csi[1] == '/' && !*c->cfg.registrar_url)
		return m2m_error(rsp, RSC_NOT_FOUND, "no route to service provider %s", csi);

	/* the next hop, read in a snapshot of its own; nothing is held while
	   the request travels */
	json_t *poa = NULL;
	char hop[HL_MAX_ID];
	hop[0] = '\0';
	store *rd = core_reader_begin(c);
	res *h = next_hop(c, csi);
	if (h) {
		poa = json_incref(json_object_get(h->a, "poa"));
		snprintf(hop, sizeof(hop), "%s", json_string_value(json_object_get(h->a, "csi")) ?
		         json_string_value(json_object_get(h->a, "csi")) : "");
		res_free(&h);
	}
	core_reader_end(c, rd);
	if (!hop[0] && *c->cfg.registrar_url) {
		/* not registered yet (or its remoteCSE is gone): the configured
		   registrar is still the way up */
		json_decref(poa);
		poa = json_pack("[s]", c->cfg.registrar_url);
		snprintf(hop, sizeof(hop), "/%s", c->cfg.registrar_id);
	}
	if (!hop[0])
		return m2m_error(rsp, RSC_NOT_FOUND, "no route to CSE %s", csi);
	/* a peer the last check found silent gets a short try: it may be
	   back, but a dead one must not hold the request for long */
	long tmo = cse_link_peer_up(c->link, hop) ? HL_FORWARD_TIMEOUT_MS : HL_FORWARD_DOWN_TIMEOUT_MS;
	if (json_array_size(poa) == 0) {
		json_decref(poa);
		return m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "CSE %s has no point of access", hop);
	}

	flight *f = flight_enter(req->fr, req->rqi);
	if (!f) {
		json_decref(poa);
		return m2m_error(rsp, RSC_NOT_FOUND, "forwarding loop: request %s of %s came back to %s",
		                 req->rqi, req->fr, c->csi);
	}
	m2m_request fw;
	m2m_request_init(&fw);
	if (m2m_request_copy(&fw, req) != 0) {
		flight_leave(f);
		json_decref(poa);
		return m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "out of memory");
	}
	if (fw.fr[0] != '/') { /* CSE-relative AE-ID: make it SP-relative */
		char *sp = malloc(strlen(c->csi) + strlen(fw.fr) + 2);
		if (sp) {
			sprintf(sp, "%s/%s", c->csi, fw.fr);
			free(fw.fr);
			fw.fr = sp;
		}
	}
	size_t i;
	json_t *u;
	int rc = -1;
	m2m_response got;
	m2m_response_init(&got);
	json_array_foreach(poa, i, u) {
		if (!json_is_string(u))
			continue;
		m2m_response_clear(&got);
		m2m_response_init(&got);
		rc = transport_forward(json_string_value(u), hop, &fw, &got, tmo);
		if (rc == 0)
			break;
		log_debug("forward %s to %s via %s failed: %d", fw.rqi, csi, json_string_value(u), got.rsc);
	}
	flight_leave(f);
	json_decref(poa);
	m2m_request_clear(&fw);
	cse_link_peer_mark(c->link, hop, rc == 0);
	if (rc != 0) {
		m2m_response_clear(&got);
		return m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "CSE %s (next hop %s) is not reachable", csi, hop);
	}
	rsp->rsc = got.rsc;
	json_decref(rsp->pc);
	rsp->pc = got.pc;
	got.pc = NULL;
	if (got.fr) {
		free(rsp->fr);
		rsp->fr = got.fr;
		got.fr = NULL;
	}
	free(rsp->location);
	rsp->location = got.location;
	got.location = NULL;
	rsp->cnst = got.cnst;
	rsp->cnot = got.cnot;
	m2m_response_clear(&got);
	return rsp->rsc;
}
