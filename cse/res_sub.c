/*
 * res_sub.c - <subscription> (ty 23): validation of the event criteria and
 * notification policy, creator recording and the verification request
 * (TS-0004 7.4.8.2.1). Event matching and delivery live in notify.c.
 */
#include <string.h>

#include "core.h"
#include "rsc.h"

static const attr_def sub_attrs[] = {
	{ "enc", VT_OBJ, AP_O, AP_O, 0, 0 },
	{ "exc", VT_POS, AP_O, AP_O, 0, 0 },
	{ "nu", VT_STRLIST, AP_M, AP_O, 0, 0 },
	{ "gpi", VT_STR, AP_O, AP_O, 0, 0 },
	{ "nfu", VT_STR, AP_O, AP_O, 0, 0 },
	{ "bn", VT_OBJ, AP_O, AP_O, 0, 0 },
	{ "rl", VT_OBJ, AP_O, AP_O, 0, 0 },
	{ "psn", VT_NNI, AP_O, AP_NP, 0, 0 },
	{ "pn", VT_INT, AP_O, AP_O, 1, 2 },
	{ "nsp", VT_INT, AP_O, AP_O, 0, 0 },
	{ "ln", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "nct", VT_INT, AP_O, AP_O, 1, 5 },
	{ "nec", VT_INT, AP_O, AP_O, 0, 0 },
	{ "su", VT_URI, AP_O, AP_NP, 0, 0 },
	{ "acrs", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "nse", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "nsi", VT_LIST, AP_NP, AP_NP, 0, 0 },
};

static const char *const enc_members[] = {
	"crb", "cra", "ms", "us", "sts", "stb", "exb", "exa", "sza", "szb", "net", "atr", "chty", "om", "md", "fo",
};

static int check_enc(op_ctx *x, const json_t *enc, int *first_net)
{
	*first_net = 1;
	if (!enc)
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)enc, k, v) {
		size_t i;
		for (i = 0; i < sizeof(enc_members) / sizeof(enc_members[0]); i++)
			if (strcmp(k, enc_members[i]) == 0)
				break;
		if (i == sizeof(enc_members) / sizeof(enc_members[0]))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc: unknown member %s", k);
	}
	json_t *net = json_object_get(enc, "net");
	if (net && json_object_get(enc, "om"))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc: net and om cannot be combined");
	if (json_object_get(enc, "om") || json_object_get(enc, "md"))
		return m2m_error(x->rsp, RSC_NOT_IMPLEMENTED, "enc: operation monitoring and missing data are not supported");
	if (net && !json_is_array(net))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc.net must be a list of event types");
	bool has34 = false, has1 = false;
	size_t i;
	json_t *e;
	json_array_foreach(net, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 10)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc.net holds an invalid event type");
		json_int_t n = json_integer_value(e);
		if (n > 4)
			return m2m_error(x->rsp, RSC_NOT_IMPLEMENTED, "notification event type %lld is not supported",
			                 (long long)n);
		if (i == 0)
			*first_net = (int)n;
		has34 |= n == 3 || n == 4;
		has1 |= n == 1;
	}
	json_t *chty = json_object_get(enc, "chty");
	if (chty && (!json_is_array(chty) || !has34))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc.chty needs net 3 or 4 and must be a list");
	json_t *atr = json_object_get(enc, "atr");
	if (atr && (!json_is_array(atr) || (net && !has1)))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc.atr needs net 1 and must be a list");
	json_t *fo = json_object_get(enc, "fo");
	if (fo && (!json_is_integer(fo) || json_integer_value(fo) < 1 || json_integer_value(fo) > 2))
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "enc.fo must be 1 or 2");
	return 0;
}

static int check_common(op_ctx *x)
{
	json_t *a = x->nr->a;
	int first_net;
	int rc = check_enc(x, json_object_get(a, "enc"), &first_net);
	if (rc)
		return rc;
	json_t *nu = json_object_get(a, "nu");
	if (json_array_size(nu) == 0)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "nu must hold at least one notification target");
	size_t i;
	json_t *e;
	json_array_foreach(nu, i, e)
		if (!json_is_string(e) || json_string_length(e) == 0)
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "nu holds an empty target");
	json_t *nct = json_object_get(a, "nct");
	if (nct) {
		json_int_t v = json_integer_value(nct);
		if (v == 4 || v == 5 || (v == 2 && first_net != 1))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "nct %lld does not fit the event types", (long long)v);
	} else {
		json_object_set_new(a, "nct", json_integer(1));
	}
	json_t *bn = json_object_get(a, "bn"), *rl = json_object_get(a, "rl");
	if (bn || rl || json_is_true(json_object_get(a, "ln")) || json_object_get(a, "pn"))
		return m2m_error(x->rsp, RSC_NOT_IMPLEMENTED,
		                 "batch notify, rate limit, latest notify and pending notification are not supported");
	return 0;
}

static bool is_originator(cse *c, const char *target, const char *fr)
{
	return fr && strcmp(acp_norm_id(c, target), acp_norm_id(c, fr)) == 0;
}

static int verify_new_targets(op_ctx *x, const json_t *old_nu)
{
	cse *c = x->c;
	const char *fr = x->req->fr;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(x->nr->a, "nu"), i, e) {
		const char *t = json_string_value(e);
		if (is_originator(c, t, fr))
			continue;
		bool known = false;
		size_t j;
		json_t *o;
		json_array_foreach(old_nu, j, o)
			if (json_equal(o, e))
				known = true;
		if (known)
			continue;
		int rc = notify_verify(c, x->nr, t, fr, x->rsp);
		if (rc)
			return rc;
	}
	return 0;
}

static int sub_create(op_ctx *x)
{
	int rc = check_common(x);
	if (rc)
		return rc;
	bool only_self = true;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(x->nr->a, "nu"), i, e)
		if (!is_originator(x->c, json_string_value(e), x->req->fr))
			only_self = false;
	if (!only_self)
		json_object_set_new(x->nr->a, "cr", json_string(x->req->fr));
	return verify_new_targets(x, NULL);
}

static int sub_update(op_ctx *x)
{
	int rc = check_common(x);
	if (rc)
		return rc;
	if (json_object_get(x->in, "nu"))
		return verify_new_targets(x, json_object_get(x->target->a, "nu"));
	return 0;
}

static const int sub_parents[] = { 0 }; /* decided by the parent's `subscribable` */

const res_type rt_sub = {
	.ty = TY_SUB, .root = "m2m:sub", .prefix = "sub",
	.common = RA_ET | RA_LBL | RA_ACPI | RA_CR | RA_DACI | RA_CSTN,
	.attrs = sub_attrs, .nattrs = sizeof(sub_attrs) / sizeof(sub_attrs[0]),
	.parents = sub_parents, .subscribable = false,
	.on_create = sub_create, .on_update = sub_update,
};
