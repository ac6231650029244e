/*
 * node.c - <node> (ty 14, m2m:nod, digest 7.10): the device a set of
 * <mgmtObj> children describes. It lives under the CSEBase; hael lists the
 * AEs the device hosts, and the first of them receives the management
 * operations of the native adapter (adapter_native.c). mgca names the
 * management client; its scheme picks the adapter (mgmt.c).
 */
#include "attest.h"
#include "mgmtobj.h"
#include "../cse/rsc.h"

static const attr_def nod_attrs[] = {
	{ "ni", VT_URI, AP_M, AP_O, 0, 0 },
	{ "hcl", VT_URI, AP_O, AP_O, 0, 0 },
	{ "hael", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "hsl", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "mgca", VT_STR, AP_O, AP_O, 0, 0 },
	{ "rms", VT_BOOL, AP_NP, AP_NP, 0, 0 },
	{ "nid", VT_STR, AP_NP, AP_NP, 0, 0 },
	{ "nty", VT_INT, AP_O, AP_O, 0, 0 },
};

/* IDs in hael/hsl must not be empty. */
static int nod_check(op_ctx *x)
{
	static const char *const lists[] = { "hael", "hsl" };
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(x->in, lists[i]), k, v)
			if (json_string_length(v) == 0)
				return m2m_error(x->rsp, RSC_BAD_REQUEST, "%s holds an empty ID", lists[i]);
	}
	int rc = attest_guard_labels(x);
	if (rc)
		return rc;
	/* a device (re)registering its node: attest it once it has settled */
	attest_touch(x, x->nr->ri);
	return 0;
}

static const int nod_parents[] = { TY_CB, 0 };

const res_type rt_nod = {
	.ty = TY_NODE, .root = "m2m:nod", .prefix = "nod",
	.common = RA_ET | RA_LBL | RA_ACPI | RA_AT | RA_AA | RA_DACI,
	.attrs = nod_attrs, .nattrs = sizeof(nod_attrs) / sizeof(nod_attrs[0]),
	.parents = nod_parents, .subscribable = true,
	.on_create = nod_check, .on_update = nod_check,
};
