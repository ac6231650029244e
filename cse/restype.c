/*
 * restype.c - the registry of resource types and the generic value checks.
 */
#include <string.h>

#include "restype.h"

static const res_type *const restype_all[] = {
	&rt_acp, &rt_ae, &rt_cnt, &rt_cin, &rt_cb, &rt_grp, &rt_sub, &rt_csr,
	&rt_nod, &rt_fwr, &rt_swr, &rt_mem, &rt_ani, &rt_bat, &rt_dvi, &rt_dvc, &rt_rbo, &rt_evl,
};

/* Universal and common attributes (TS-0001 9.6.1.3). */
static const struct common_def {
	unsigned flag; /* 0 = universal (every type) */
	attr_def d;
} common_defs[] = {
	{ 0, { "ty", VT_INT, AP_NP, AP_NP, 0, 0 } },
	{ 0, { "ri", VT_STR, AP_NP, AP_NP, 0, 0 } },
	{ 0, { "rn", VT_STR, AP_O, AP_NP, 0, 0 } },
	{ 0, { "pi", VT_STR, AP_NP, AP_NP, 0, 0 } },
	{ 0, { "ct", VT_TIME, AP_NP, AP_NP, 0, 0 } },
	{ 0, { "lt", VT_TIME, AP_NP, AP_NP, 0, 0 } },
	{ RA_ET, { "et", VT_ABSREL, AP_O, AP_O, 0, 0 } },
	{ RA_LBL, { "lbl", VT_STRLIST, AP_O, AP_O, 0, 0 } },
	{ RA_ACPI, { "acpi", VT_STRLIST, AP_O, AP_O, 0, 0 } },
	{ RA_AT, { "at", VT_STRLIST, AP_O, AP_O, 0, 0 } },
	{ RA_AA, { "aa", VT_STRLIST, AP_O, AP_O, 0, 0 } },
	{ RA_CR, { "cr", VT_ANY, AP_O, AP_NP, 0, 0 } },
	{ RA_ST, { "st", VT_NNI, AP_NP, AP_NP, 0, 0 } },
	{ RA_DACI, { "daci", VT_STRLIST, AP_O, AP_O, 0, 0 } },
	{ RA_CSTN, { "cstn", VT_STR, AP_O, AP_O, 0, 0 } },
};

const res_type *restype_get_original(int ty)
{
	for (size_t i = 0; i < sizeof(restype_all) / sizeof(restype_all[0]); i++)
		if (restype_all[i]->ty == ty && restype_all[i]->mgd == 0)
			return restype_all[i];
	return NULL;
}

const res_type *restype_get(int ty)
{
	return ty > TY_ANNC_OFFSET ? restype_annc_get(ty) : restype_get_original(ty);
}

const res_type *restype_mgmtobj_nth(size_t n)
{
	for (size_t i = 0; i < sizeof(restype_all) / sizeof(restype_all[0]); i++)
		if (restype_all[i]->ty == TY_MGMTOBJ && restype_all[i]->mgd != 0 && n-- == 0)
			return restype_all[i];
	return NULL;
}

const res_type *restype_mgd(int mgd)
{
	for (size_t i = 0; mgd != 0 && i < sizeof(restype_all) / sizeof(restype_all[0]); i++)
		if (restype_all[i]->ty == TY_MGMTOBJ && restype_all[i]->mgd == mgd)
			return restype_all[i];
	return NULL;
}

const res_type *restype_of(const res *r)
{
	if (r->ty != TY_MGMTOBJ && r->ty != TY_MGMTOBJ + TY_ANNC_OFFSET)
		return restype_get(r->ty);
	json_t *mgd = r->a ? json_object_get(r->a, "mgd") : NULL;
	const res_type *t = json_is_integer(mgd) && json_integer_value(mgd) > 0 && json_integer_value(mgd) < 100000
		? restype_mgd((int)json_integer_value(mgd)) : NULL;
	return t && r->ty != TY_MGMTOBJ ? restype_annc_of(t) : t;
}

const res_type *restype_by_root(const char *root)
{
	for (size_t i = 0; i < sizeof(restype_all) / sizeof(restype_all[0]); i++)
		if (strcmp(restype_all[i]->root, root) == 0)
			return restype_all[i];
	size_t n = strlen(root);
	return n > 1 && root[n - 1] == 'A' ? restype_annc_by_root(root) : NULL;
}

const attr_def *restype_attr(const res_type *t, const char *sn)
{
	for (size_t i = 0; i < sizeof(common_defs) / sizeof(common_defs[0]); i++) {
		const struct common_def *cd = &common_defs[i];
		if ((cd->flag == 0 || (t->common & cd->flag)) && strcmp(cd->d.sn, sn) == 0)
			return &cd->d;
	}
	for (size_t i = 0; i < t->nattrs; i++)
		if (strcmp(t->attrs[i].sn, sn) == 0)
			return &t->attrs[i];
	return NULL;
}

bool restype_parent_ok(const res_type *t, int pty)
{
	for (const int *p = t->parents; p && *p; p++)
		if (*p == pty)
			return true;
	return false;
}

static bool all_items(const json_t *v, int (*pred)(const json_t *))
{
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e)
		if (!pred(e))
			return false;
	return true;
}

static int is_str(const json_t *e) { return json_is_string(e); }
static int is_int(const json_t *e) { return json_is_integer(e); }

const char *restype_check_value(const attr_def *d, const json_t *v)
{
	switch (d->vt) {
	case VT_STR:
		return json_is_string(v) ? NULL : "must be a string";
	case VT_URI:
		return json_is_string(v) && json_string_length(v) > 0 ? NULL : "must be a non-empty string";
	case VT_TIME:
	case VT_ABSREL:
		return json_is_string(v) || (d->vt == VT_ABSREL && json_is_integer(v))
			? NULL : "must be a timestamp";
	case VT_BOOL:
		return json_is_boolean(v) ? NULL : "must be a boolean";
	case VT_INT:
		if (!json_is_integer(v))
			return "must be an integer";
		if (d->hi > d->lo && (json_integer_value(v) < d->lo || json_integer_value(v) > d->hi))
			return "is out of range";
		return NULL;
	case VT_NNI:
		return json_is_integer(v) && json_integer_value(v) >= 0 ? NULL : "must be a non-negative integer";
	case VT_POS:
		return json_is_integer(v) && json_integer_value(v) >= 1 ? NULL : "must be a positive integer";
	case VT_STRLIST:
		return json_is_array(v) && all_items(v, is_str) ? NULL : "must be a list of strings";
	case VT_INTLIST:
		return json_is_array(v) && all_items(v, is_int) ? NULL : "must be a list of integers";
	case VT_LIST:
		return json_is_array(v) ? NULL : "must be a list";
	case VT_OBJ:
		return json_is_object(v) ? NULL : "must be an object";
	case VT_ANY:
	default:
		return NULL;
	}
}
