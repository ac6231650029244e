/* res_cb.c - <CSEBase> (ty 5): created by the CSE itself, read-only via the API. */
#include "restype.h"

static const attr_def cb_attrs[] = {
	{ "csi", VT_STR, AP_NP, AP_NP, 0, 0 },
	{ "cst", VT_INT, AP_NP, AP_NP, 0, 0 },
	{ "srt", VT_INTLIST, AP_NP, AP_NP, 0, 0 },
	{ "poa", VT_STRLIST, AP_NP, AP_NP, 0, 0 },
	{ "nl", VT_STR, AP_NP, AP_NP, 0, 0 },
	{ "csz", VT_STRLIST, AP_NP, AP_NP, 0, 0 },
	{ "srv", VT_STRLIST, AP_NP, AP_NP, 0, 0 },
	{ "ctm", VT_TIME, AP_NP, AP_NP, 0, 0 },
	{ "esi", VT_OBJ, AP_NP, AP_NP, 0, 0 },
};

const res_type rt_cb = {
	.ty = TY_CB, .root = "m2m:cb", .prefix = "cb",
	.common = RA_LBL | RA_ACPI | RA_DACI,
	.attrs = cb_attrs, .nattrs = sizeof(cb_attrs) / sizeof(cb_attrs[0]),
	.parents = NULL, .subscribable = true,
	.no_create = true, .no_update = true, .no_delete = true,
};
