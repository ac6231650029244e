/*
 * res_acp.c - <accessControlPolicy> (ty 1): pv and pvs are lists of rules;
 * pvs must keep at least one rule (TS-0004 7.4.2).
 */
#include <string.h>

#include "core.h"
#include "rsc.h"

static const attr_def acp_attrs[] = {
	{ "pv", VT_OBJ, AP_M, AP_O, 0, 0 },
	{ "pvs", VT_OBJ, AP_M, AP_O, 0, 0 },
	{ "adri", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "apri", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "airi", VT_STRLIST, AP_O, AP_O, 0, 0 },
};

static int check_rules(op_ctx *x, const char *name, const json_t *set, bool need_one)
{
	if (!set)
		return 0;
	json_t *acr = json_object_get(set, "acr");
	if (json_object_size(set) > 1 || (json_object_size(set) == 1 && !acr))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s may only hold acr", name);
	if (acr && !json_is_array(acr))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr must be a list of rules", name);
	if (need_one && json_array_size(acr) == 0)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s must hold at least one rule", name);
	size_t i;
	json_t *r;
	json_array_foreach(acr, i, r) {
		if (!json_is_object(r))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu] must be an object", name, i);
		const char *k;
		json_t *v;
		json_object_foreach(r, k, v) {
			if (strcmp(k, "acor") && strcmp(k, "acop") && strcmp(k, "acco") && strcmp(k, "acaf") &&
			    strcmp(k, "acod"))
				return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu]: unknown member %s", name, i, k);
		}
		json_t *acor = json_object_get(r, "acor"), *acop = json_object_get(r, "acop");
		if (!json_is_array(acor))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu].acor must be a list of originators", name, i);
		size_t j;
		json_t *o;
		json_array_foreach(acor, j, o)
			if (!json_is_string(o))
				return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu].acor must hold strings", name, i);
		if (!json_is_integer(acop) || json_integer_value(acop) < 0 || json_integer_value(acop) > 63)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu].acop must be an integer 0..63", name, i);
		json_t *acco = json_object_get(r, "acco");
		if (acco && !json_is_array(acco))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu].acco must be a list", name, i);
		json_t *acaf = json_object_get(r, "acaf");
		if (acaf && !json_is_boolean(acaf))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu].acaf must be a boolean", name, i);
		json_t *acod = json_object_get(r, "acod");
		if (acod && !json_is_array(acod))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s.acr[%zu].acod must be a list", name, i);
	}
	return 0;
}

static int acp_create(op_ctx *x)
{
	int rc = check_rules(x, "pv", json_object_get(x->in, "pv"), false);
	return rc ? rc : check_rules(x, "pvs", json_object_get(x->in, "pvs"), true);
}

static int acp_update(op_ctx *x)
{
	int rc = check_rules(x, "pv", json_object_get(x->in, "pv"), false);
	return rc ? rc : check_rules(x, "pvs", json_object_get(x->in, "pvs"), true);
}

static const int acp_parents[] = { TY_CB, TY_AE, TY_CSR, 0 };

const res_type rt_acp = {
	.ty = TY_ACP, .root = "m2m:acp", .prefix = "acp",
	.common = RA_ET | RA_LBL | RA_AT | RA_AA | RA_CSTN,
	.attrs = acp_attrs, .nattrs = sizeof(acp_attrs) / sizeof(acp_attrs[0]),
	.parents = acp_parents, .subscribable = true,
	.on_create = acp_create, .on_update = acp_update,
};
