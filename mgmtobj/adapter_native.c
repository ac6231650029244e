/*
 * adapter_native.c - the native oneM2M management adapter
 * (mgmtobj/README.md, "The native oneM2M adapter").
 *
 * Start: a Notify to the first AE of the node's hael, delivered to that
 * AE's poa (read through the pipeline as the admin, since a worker holds
 * no store handle of its own), content
 *   {"m2m:sgn": {"nev": {"rep": {"m2m:fwr": {...}}, "net": 1}, "sur": <mgmtObj>}}
 * A Notify not answered 2xxx (device unreachable, no poa) is tried again
 * every NATIVE_RETRY_MS through mgmt_defer() until the operation ends.
 *
 * End: the device's own Update of the mgmtObj (its AE in hael) writing the
 * status attribute {acn, sus 1|2} of the operation in process, or, for an
 * operation without status attribute (reboot), the trigger back to false.
 * mgmt_native_report() checks it under the CSE lock and turns that Update
 * into the end of the operation (what mgmt_report() would write, in the
 * device's Update itself, so subscribers see one change).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmtobj.h"
#include "../bindings/transport.h"
#include "../cse/limits.h"
#include "../cse/log.h"
#include "../cse/rsc.h"

#define NATIVE_RETRY_MS 2000L

static atomic_ulong native_seq;

bool mgmt_hosted_ae(cse *c, const json_t *node, const char *fr)
{
	size_t i;
	json_t *v;
	if (!fr || !*fr)
		return false;
	const char *nfr = acp_norm_id(c, fr);
	json_array_foreach(json_object_get(node, "hael"), i, v) {
		const char *id = json_string_value(v);
		if (id && strcmp(acp_norm_id(c, id), nfr) == 0)
			return true;
	}
	return false;
}

/* ---------- the device's report (under the CSE lock) ---------- */

static bool from_hosted_ae(op_ctx *x)
{
	res *node = NULL;
	if (core_st(x->c)->ops->get(core_st(x->c), x->target->pi, &node) != STORE_OK)
		return false;
	bool in = mgmt_hosted_ae(x->c, node->a, x->req->fr);
	res_free(&node);
	return in;
}

int mgmt_native_report(op_ctx *x, const json_t *op, bool *handled)
{
	const mgmt_trigger *cur = mgmt_trigger_of(x->t, json_string_value(json_object_get(op, "tr")));
	const char *acn = json_string_value(json_object_get(op, "acn"));
	const char *status = NULL;
	*handled = false;
	for (const mgmt_trigger *tr = x->t->triggers; tr && tr->sn; tr++)
		if (tr->status && json_object_get(x->in, tr->status))
			status = tr->status;
	bool resets = cur && !cur->status && json_is_false(json_object_get(x->in, cur->sn));
	if ((!status && !resets) || !from_hosted_ae(x))
		return 0;
	*handled = true;
	if (!op || !cur || !acn)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "no operation is in process on %s", x->target->path);
	if (cur->status && (!status || strcmp(status, cur->status) != 0))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "the operation in process (%s) reports in %s, not %s", acn,
		                 cur->status, status ? status : cur->sn);
	for (const mgmt_trigger *tr = x->t->triggers; tr->sn; tr++) {
		if (tr->status && (!cur->status || strcmp(tr->status, cur->status) != 0) &&
		    json_object_get(x->in, tr->status))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s is not the status of the operation in process (%s)",
			                 tr->status, acn);
		if (json_is_true(json_object_get(x->in, tr->sn)))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "a report cannot start an operation (%s true)", tr->sn);
	}
	const char *dc = json_string_value(json_object_get(x->in, "dc"));
	bool ok;
	if (cur->status) {
		json_t *st = json_object_get(x->in, cur->status);
		const char *racn = json_string_value(json_object_get(st, "acn"));
		json_t *sus = json_object_get(st, "sus");
		if (!json_is_object(st))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s must be an actionStatus {acn, sus}", cur->status);
		if (!racn || strcmp(racn, acn) != 0)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "acn %s is not the operation in process on %s (%s)",
			                 racn ? racn : "(none)", x->target->path, acn);
		if (!json_is_integer(sus) || (json_integer_value(sus) != 1 && json_integer_value(sus) != 2))
			return m2m_error(x->rsp, RSC_BAD_REQUEST,
			                 "a report has sus 1 (successful) or 2 (failure) in %s", cur->status);
		ok = json_integer_value(sus) == 1;
	} else {
		ok = !dc || strcmp(dc, "ok") == 0;
	}
	if (!dc)
		dc = ok ? "ok" : "unknown: the device reported a failure without a reason";
	log_info("management operation %s reported by %s: %s", acn, x->req->fr, dc);
	mgmt_end_in_update(x, op, ok, dc);
	return 0;
}

/* ---------- sending the operation to the device (worker thread) ---------- */

json_t *mgmt_poa_of(cse *c, const char *id)
{
	m2m_request req;
	m2m_response rsp;
	char rqi[48];
	json_t *poa = NULL;
	m2m_request_init(&req);
	m2m_response_init(&rsp);
	snprintf(rqi, sizeof(rqi), "mgmt-poa-%lu", atomic_fetch_add(&native_seq, 1) + 1);
	req.op = M2M_OP_RETRIEVE;
	req.to = m2m_strdup(id);
	req.fr = m2m_strdup(c->cfg.admin);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup("4");
	cse_handle(c, &req, &rsp);
	json_t *r = json_object_get(rsp.pc, "m2m:ae");
	if (!r)
		r = json_object_get(rsp.pc, "m2m:csr");
	if (rsp.rsc == RSC_OK && json_is_array(json_object_get(r, "poa")))
		poa = json_deep_copy(json_object_get(r, "poa"));
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	return poa;
}

/* One attempt to deliver the operation; 0 when the device answered 2xxx. */
static int native_notify(cse *c, const mgmt_op *op, const char *ae)
{
	const res_type *t = restype_mgd(op->mgd);
	json_t *poa = mgmt_poa_of(c, ae);
	m2m_request req;
	char rqi[48], sur[HL_MAX_ID];
	int delivered = -1, last = 0;
	size_t i;
	json_t *u;
	if (json_array_size(poa) == 0 || !t) {
		json_decref(poa);
		log_warn("management operation %s: AE %s has no point of access", op->acn, ae);
		return -1;
	}
	/* a mgmtObj is a child of a node, which is a child of the CSEBase */
	snprintf(sur, sizeof(sur), "%s/%s/%s/%s", c->csi, c->cfg.cse_rn,
	         json_string_value(json_object_get(op->node, "rn")) ? json_string_value(json_object_get(op->node, "rn")) : op->node_ri,
	         json_string_value(json_object_get(op->mo, "rn")) ? json_string_value(json_object_get(op->mo, "rn")) : op->mo_ri);
	m2m_request_init(&req);
	snprintf(rqi, sizeof(rqi), "mgmt-%lu", atomic_fetch_add(&native_seq, 1) + 1);
	req.op = M2M_OP_NOTIFY;
	req.to = m2m_strdup(ae);
	req.fr = m2m_strdup(c->csi);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup("4");
	req.pc = json_pack("{s:{s:{s:{s:O},s:i},s:s}}", "m2m:sgn", "nev", "rep", t->root, op->mo, "net", 1, "sur", sur);
	json_array_foreach(poa, i, u) {
		m2m_response rsp;
		m2m_response_init(&rsp);
		int rc = json_is_string(u) ? transport_send(json_string_value(u), &req, &rsp, HL_NOTIFY_TIMEOUT_MS) : -1;
		last = rsp.rsc;
		m2m_response_clear(&rsp);
		if (rc == 0 && rsc_is_success(last)) {
			delivered = 0;
			break;
		}
	}
	if (delivered == 0)
		log_info("management operation %s sent to %s", op->acn, ae);
	else
		log_warn("management operation %s could not be sent to %s (response %d); trying again in %ld s",
		         op->acn, ae, last, NATIVE_RETRY_MS / 1000);
	m2m_request_clear(&req);
	json_decref(poa);
	return delivered;
}

static void native_send(cse *c, const mgmt_op *op)
{
	const char *ae = json_string_value(json_array_get(json_object_get(op->node, "hael"), 0));
	if (!ae || native_notify(c, op, ae) != 0)
		mgmt_defer(c, op, NATIVE_RETRY_MS, native_send);
}

static const char *native_start(cse *c, const mgmt_op *op)
{
	if (!json_string_value(json_array_get(json_object_get(op->node, "hael"), 0))) {
		log_warn("management operation %s: node %s lists no hosted AE (hael)", op->acn, op->node_ri);
		return "unreachable";
	}
	native_send(c, op);
	return NULL;
}

const mgmt_adapter mgmt_native_adapter = {
	.name = "native",
	.start = native_start,
	.cancel = NULL,
};
