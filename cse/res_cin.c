/*
 * res_cin.c - <contentInstance> (ty 4): immutable; cs computed from con;
 * creating one updates the parent container's cni, cbs and st and may
 * remove the oldest instances; deleting one updates cni and cbs.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "jdump.h"
#include "rsc.h"
#include "util.h"

int cnt_prune(cse *c, res *cnt, bool all);

static const attr_def cin_attrs[] = {
	{ "cnf", VT_STR, AP_O, AP_NP, 0, 0 },
	{ "cs", VT_NNI, AP_NP, AP_NP, 0, 0 },
	{ "conr", VT_ANY, AP_O, AP_NP, 0, 0 },
	{ "or", VT_STR, AP_O, AP_NP, 0, 0 },
	{ "con", VT_ANY, AP_M, AP_NP, 0, 0 },
	{ "dcnt", VT_NNI, AP_O, AP_NP, 0, 0 },
	{ "dgt", VT_ABSREL, AP_O, AP_NP, 0, 0 },
};

static json_int_t content_size(const json_t *con)
{
	if (json_is_string(con))
		return (json_int_t)json_string_length(con);
	size_t len = 0;
	char *s = jdump(con, &len);
	json_int_t n = s ? (json_int_t)len : 0;
	free(s);
	return n;
}

static int cin_create(op_ctx *x)
{
	json_t *a = x->nr->a;
	const json_t *pa = x->target->a;
	json_int_t cs = content_size(json_object_get(a, "con"));
	json_object_set_new(a, "cs", json_integer(cs));
	json_t *mbs = json_object_get(pa, "mbs");
	if (mbs && cs > json_integer_value(mbs))
		return m2m_error(x->rsp, RSC_NOT_ACCEPTABLE, "content size %lld exceeds the container's mbs %lld",
		                 (long long)cs, (long long)json_integer_value(mbs));
	const char *cnf = json_string_value(json_object_get(a, "cnf"));
	if (cnf && (!*cnf || !strchr(cnf, '/')))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "cnf must be <media-type>[:<encoding>[:<security>]]");
	json_t *mia = json_object_get(pa, "mia");
	if (mia) {
		char lim[24];
		int64_t ct = util_time_epoch_ms(json_string_value(json_object_get(a, "ct")));
		util_time_fmt(ct + (int64_t)json_integer_value(mia) * 1000, lim);
		const char *et = json_string_value(json_object_get(a, "et"));
		if (!et || strcmp(lim, et) < 0)
			json_object_set_new(a, "et", json_string(lim));
	}
	json_int_t st = json_integer_value(json_object_get(pa, "st")) + 1;
	json_object_set_new(a, "st", json_integer(st));
	return 0;
}

static int cin_created(op_ctx *x)
{
	json_t *pa = x->target->a;
	json_int_t cs = json_integer_value(json_object_get(x->nr->a, "cs"));
	json_object_set_new(pa, "cni", json_integer(json_integer_value(json_object_get(pa, "cni")) + 1));
	json_object_set_new(pa, "cbs", json_integer(json_integer_value(json_object_get(pa, "cbs")) + cs));
	json_object_set(pa, "st", json_object_get(x->nr->a, "st"));
	x->parent_changed = true;
	if (cnt_prune(x->c, x->target, false) != 0)
		return m2m_error(x->rsp, RSC_INTERNAL_SERVER_ERROR, "store failure while removing instances");
	return 0;
}

static int cin_delete(cse *c, const res *r, const char *fr)
{
	(void)fr;
	res *p = NULL;
	if (core_st(c)->ops->get(core_st(c), r->pi, &p) != STORE_OK)
		return 0; /* parent already gone (subtree delete) */
	json_int_t cni = json_integer_value(json_object_get(p->a, "cni"));
	json_int_t cbs = json_integer_value(json_object_get(p->a, "cbs"));
	json_int_t cs = json_integer_value(json_object_get(r->a, "cs"));
	json_object_set_new(p->a, "cni", json_integer(cni > 0 ? cni - 1 : 0));
	json_object_set_new(p->a, "cbs", json_integer(cbs - cs > 0 ? cbs - cs : 0));
	int rc = core_st(c)->ops->update_body(core_st(c), p) == STORE_OK ? 0 : -1;
	res_free(&p);
	return rc;
}

static const int cin_parents[] = { TY_CNT, 0 };

const res_type rt_cin = {
	.ty = TY_CIN, .root = "m2m:cin", .prefix = "cin",
	.common = RA_ET | RA_LBL | RA_AT | RA_AA | RA_CR | RA_ST | RA_CSTN,
	.attrs = cin_attrs, .nattrs = sizeof(cin_attrs) / sizeof(cin_attrs[0]),
	.parents = cin_parents, .subscribable = false, .no_update = true,
	.on_create = cin_create, .on_created = cin_created, .on_delete = cin_delete,
};
