/*
 * res_grp.c - <group> (ty 9) and its fanOutPoint (TS-0004 7.4.13, 7.4.14).
 *
 * Member validation at create/update: duplicates removed, more members than
 * mnm -> 6010, members of the wrong type handled per csy (1 drop the member,
 * 2 refuse with 4110, 3 switch mt to mixed); local members that do not exist
 * are dropped. A request to <group>/fopt[/path] is checked against macp (or
 * the group's acpi), then re-issued to every member (+path) through the same
 * pipeline; the answers come back aggregated in m2m:agr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "limits.h"
#include "rsc.h"

static const attr_def grp_attrs[] = {
	{ "mt", VT_INT, AP_O, AP_NP, 0, 0 },
	{ "spty", VT_ANY, AP_O, AP_NP, 0, 0 },
	{ "cnm", VT_NNI, AP_NP, AP_NP, 0, 0 },
	{ "mnm", VT_POS, AP_M, AP_O, 0, 0 },
	{ "mid", VT_STRLIST, AP_M, AP_O, 0, 0 },
	{ "macp", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "mtv", VT_BOOL, AP_NP, AP_NP, 0, 0 },
	{ "csy", VT_INT, AP_O, AP_NP, 1, 3 },
	{ "gn", VT_STR, AP_O, AP_O, 0, 0 },
	{ "ssi", VT_BOOL, AP_NP, AP_NP, 0, 0 },
	{ "nar", VT_OBJ, AP_O, AP_O, 0, 0 },
};

static bool is_local(cse *c, const char *id)
{
	if (id[0] != '/')
		return true;
	const char *n = acp_norm_id(c, id);
	return n != id;
}

static int validate_members(op_ctx *x)
{
	cse *c = x->c;
	json_t *a = x->nr->a;
	json_int_t mt = json_integer_value(json_object_get(a, "mt"));
	json_int_t csy = json_object_get(a, "csy") ? json_integer_value(json_object_get(a, "csy")) : 1;
	json_int_t mnm = json_integer_value(json_object_get(a, "mnm"));
	if (mnm > (json_int_t)HL_MAX_GROUP_MEMBERS)
		return m2m_error(x->rsp, RSC_MAX_NUMBER_OF_MEMBER_EXCEEDED, "mnm exceeds this CSE's limit of %u",
		                 HL_MAX_GROUP_MEMBERS);
	json_t *in = json_object_get(a, "mid");
	json_t *out = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(in, i, m) {
		const char *id = json_string_value(m);
		bool dup = false;
		size_t j;
		json_t *o;
		json_array_foreach(out, j, o)
			if (strcmp(json_string_value(o), id) == 0)
				dup = true;
		if (dup)
			continue;
		if (is_local(c, id)) {
			char base[HL_MAX_ID];
			snprintf(base, sizeof(base), "%s", id);
			size_t bl = strlen(base);
			bool sub_fopt = bl > 5 && strcmp(base + bl - 5, "/fopt") == 0;
			if (sub_fopt)
				base[bl - 5] = '\0';
			res *r = core_get_by_id(c, base);
			if (!r)
				continue; /* a local member that does not exist is dropped */
			int ty = r->ty;
			res_free(&r);
			if (mt != 0 && !sub_fopt && ty != mt) {
				if (csy == 2) {
					json_decref(out);
					return m2m_error(x->rsp, RSC_GROUP_MEMBER_TYPE_INCONSISTENT,
					                 "member %s has type %d, the group requires %lld", id, ty, (long long)mt);
				}
				if (csy == 1)
					continue;
				mt = 0;
				json_object_set_new(a, "mt", json_integer(0));
			}
		}
		json_array_append(out, m);
	}
	if ((json_int_t)json_array_size(out) > mnm) {
		json_decref(out);
		return m2m_error(x->rsp, RSC_MAX_NUMBER_OF_MEMBER_EXCEEDED, "more members than mnm (%lld)", (long long)mnm);
	}
	json_object_set_new(a, "mid", out);
	json_object_set_new(a, "cnm", json_integer((json_int_t)json_array_size(out)));
	json_object_set_new(a, "mtv", json_true());
	return 0;
}

static int grp_create(op_ctx *x)
{
	if (!json_object_get(x->nr->a, "mt"))
		json_object_set_new(x->nr->a, "mt", json_integer(0));
	if (!json_object_get(x->nr->a, "csy"))
		json_object_set_new(x->nr->a, "csy", json_integer(1));
	return validate_members(x);
}

static int grp_update(op_ctx *x)
{
	int rc = validate_members(x);
	if (rc == 0) {
		json_object_set(x->changed, "mid", json_object_get(x->nr->a, "mid"));
		json_object_set(x->changed, "cnm", json_object_get(x->nr->a, "cnm"));
	}
	return rc;
}

static unsigned op_bit(int op)
{
	switch (op) {
	case M2M_OP_CREATE: return ACOP_CREATE;
	case M2M_OP_RETRIEVE: return ACOP_RETRIEVE;
	case M2M_OP_UPDATE: return ACOP_UPDATE;
	case M2M_OP_DELETE: return ACOP_DELETE;
	default: return ACOP_NOTIFY;
	}
}

int grp_fanout(op_ctx *x, const res *g, const char *rest)
{
	cse *c = x->c;
	const m2m_request *req = x->req;
	json_t *macp = json_object_get(g->a, "macp");
	bool ok;
	if (req->fr && strcmp(req->fr, c->cfg.admin) == 0) {
		ok = true;
	} else if (macp && json_array_size(macp) > 0) {
		/* check against a stand-in carrying the members' policies */
		res tmp = *g;
		tmp.a = json_pack("{s:O}", "acpi", macp);
		ok = acp_permitted(c, req, &tmp, op_bit(req->op), req->ty);
		json_decref(tmp.a);
	} else {
		ok = acp_permitted(c, req, g, op_bit(req->op), req->ty);
	}
	if (!ok)
		return m2m_error(x->rsp, RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "originator %s may not use %s/fopt",
		                 req->fr ? req->fr : "", g->path);
	json_t *mid = json_object_get(g->a, "mid");
	if (json_array_size(mid) == 0)
		return m2m_error(x->rsp, RSC_NO_MEMBERS, "group %s has no members", g->path);
	json_t *rsps = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(mid, i, m) {
		const char *id = json_string_value(m);
		char to[HL_MAX_ID + 64];
		snprintf(to, sizeof(to), "%s%s", id, rest ? rest : "");
		m2m_request sub;
		m2m_request_copy(&sub, req);
		free(sub.to);
		sub.to = m2m_strdup(to);
		m2m_response r;
		m2m_response_init(&r);
		core_internal_request(c, &sub, &r);
		json_t *item = json_pack("{s:i,s:s,s:s,s:s}", "rsc", r.rsc, "rqi", req->rqi, "fr", c->csi, "to", to);
		if (r.pc)
			json_object_set(item, "pc", r.pc);
		if (req->rvi)
			json_object_set_new(item, "rvi", json_string(req->rvi));
		json_array_append_new(rsps, item);
		m2m_response_clear(&r);
		m2m_request_clear(&sub);
	}
	return m2m_ok(x->rsp, RSC_OK, json_pack("{s:{s:o}}", "m2m:agr", "m2m:rsp", rsps));
}

static const int grp_parents[] = { TY_CB, TY_AE, TY_CSR, 0 };

const res_type rt_grp = {
	.ty = TY_GRP, .root = "m2m:grp", .prefix = "grp",
	.common = RA_ET | RA_LBL | RA_ACPI | RA_AT | RA_AA | RA_CR | RA_DACI | RA_CSTN,
	.attrs = grp_attrs, .nattrs = sizeof(grp_attrs) / sizeof(grp_attrs[0]),
	.parents = grp_parents, .subscribable = true,
	.on_create = grp_create, .on_update = grp_update,
};
