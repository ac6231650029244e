/*
 * firmware.c - <mgmtObj> firmware (mgd 1001, m2m:fwr, TS-0004 D.2): the
 * device's firmware image. Writing ud true starts an update from url;
 * uds follows it (mgmt.c).
 */
#include "mgmtobj.h"

static const attr_def fwr_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "vr", VT_STR, AP_M, AP_O, 0, 0 },
	{ "fwn", VT_STR, AP_M, AP_O, 0, 0 },
	{ "url", VT_URI, AP_M, AP_O, 0, 0 },
	{ "ud", VT_BOOL, AP_M, AP_O, 0, 0 },
	{ "uds", VT_OBJ, AP_NP, AP_O, 0, 0 },
};

static const mgmt_trigger fwr_triggers[] = { { "ud", "uds" }, { NULL, NULL } };

const res_type rt_fwr = {
	.ty = TY_MGMTOBJ, .mgd = 1001, .root = "m2m:fwr", .prefix = "fwr",
	.common = MGMTOBJ_COMMON,
	.attrs = fwr_attrs, .nattrs = sizeof(fwr_attrs) / sizeof(fwr_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true, .triggers = fwr_triggers,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
