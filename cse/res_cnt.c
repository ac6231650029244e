/*
 * res_cnt.c - <container> (ty 3) and its instance management
 * (TS-0004 7.4.7.2.1): cni/cbs are kept equal to the count and byte sum of
 * the contentInstance children; mni/mbs are enforced by removing the oldest
 * instances (no net=4 notification for those); disr true -> false removes
 * every instance.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "rsc.h"

static const attr_def cnt_attrs[] = {
	{ "mni", VT_NNI, AP_O, AP_O, 0, 0 },
	{ "mbs", VT_NNI, AP_O, AP_O, 0, 0 },
	{ "mia", VT_NNI, AP_O, AP_O, 0, 0 },
	{ "cni", VT_NNI, AP_NP, AP_NP, 0, 0 },
	{ "cbs", VT_NNI, AP_NP, AP_NP, 0, 0 },
	{ "li", VT_STR, AP_NP, AP_NP, 0, 0 },
	{ "or", VT_STR, AP_O, AP_O, 0, 0 },
	{ "disr", VT_BOOL, AP_O, AP_O, 0, 0 },
};

static int oldest_visit(void *ctx, const res *r)
{
	res **out = ctx;
	*out = res_dup(r);
	return 1;
}

/*
 * Remove oldest instances of container `cnt` (attributes in cnt->a, updated
 * in place) until cni <= mni and cbs <= mbs. all: remove every instance.
 */
int cnt_prune(cse *c, res *cnt, bool all)
{
	json_t *a = cnt->a;
	json_t *jmni = json_object_get(a, "mni"), *jmbs = json_object_get(a, "mbs");
	for (;;) {
		json_int_t cni = json_integer_value(json_object_get(a, "cni"));
		json_int_t cbs = json_integer_value(json_object_get(a, "cbs"));
		bool over = all ? cni > 0
			: (jmni && cni > json_integer_value(jmni)) || (jmbs && cbs > json_integer_value(jmbs));
		if (!over)
			return 0;
		res *old = NULL;
		if (core_st(c)->ops->children(core_st(c), cnt->ri, TY_CIN, false, 1, oldest_visit, &old) != STORE_OK)
			return -1;
		if (!old) { /* counters drifted: resynchronise */
			json_object_set_new(a, "cni", json_integer(0));
			json_object_set_new(a, "cbs", json_integer(0));
			return 0;
		}
		json_int_t cs = json_integer_value(json_object_get(old->a, "cs"));
		int rc = core_st(c)->ops->remove(core_st(c), old->ri);
		res_free(&old);
		if (rc != STORE_OK)
			return -1;
		json_object_set_new(a, "cni", json_integer(cni - 1));
		json_object_set_new(a, "cbs", json_integer(cbs - cs > 0 ? cbs - cs : 0));
	}
}

static int cnt_create(op_ctx *x)
{
	json_object_set_new(x->nr->a, "cni", json_integer(0));
	json_object_set_new(x->nr->a, "cbs", json_integer(0));
	long cap = x->c->cfg.max_mni;
	json_t *mni = json_object_get(x->nr->a, "mni");
	if (cap > 0 && (!mni || json_integer_value(mni) > cap))
		json_object_set_new(x->nr->a, "mni", json_integer(cap));
	return 0;
}

static int cnt_update(op_ctx *x)
{
	long cap = x->c->cfg.max_mni;
	json_t *mni = json_object_get(x->nr->a, "mni");
	if (cap > 0 && (!mni || json_integer_value(mni) > cap))
		json_object_set_new(x->nr->a, "mni", json_integer(cap));
	bool was = json_is_true(json_object_get(x->target->a, "disr"));
	bool now = json_is_true(json_object_get(x->nr->a, "disr"));
	json_int_t cni0 = json_integer_value(json_object_get(x->nr->a, "cni"));
	if (cnt_prune(x->c, x->nr, was && !now) != 0)
		return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "store failure while removing instances");
	if (json_integer_value(json_object_get(x->nr->a, "cni")) != cni0) {
		json_object_set(x->changed, "cni", json_object_get(x->nr->a, "cni"));
		json_object_set(x->changed, "cbs", json_object_get(x->nr->a, "cbs"));
	}
	return 0;
}

static const int cnt_parents[] = { TY_CB, TY_AE, TY_CNT, TY_CSR, 0 };

const res_type rt_cnt = {
	.ty = TY_CNT, .root = "m2m:cnt", .prefix = "cnt",
	.common = RA_ET | RA_LBL | RA_ACPI | RA_AT | RA_AA | RA_CR | RA_ST | RA_DACI | RA_CSTN,
	.attrs = cnt_attrs, .nattrs = sizeof(cnt_attrs) / sizeof(cnt_attrs[0]),
	.parents = cnt_parents, .subscribable = true,
	.on_create = cnt_create, .on_update = cnt_update,
};
