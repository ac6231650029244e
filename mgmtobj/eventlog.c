/* eventlog.c - <mgmtObj> eventLog (mgd 1010, m2m:evl, TS-0004 D.11): log
   type 1..5, data and status 1..5; lga / lgo (start, stop) are stored as
   given (booleans). */
#include "mgmtobj.h"

static const attr_def evl_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "lgt", VT_INT, AP_M, AP_O, 1, 5 },
	{ "lgd", VT_STR, AP_M, AP_O, 0, 0 },
	{ "lgst", VT_INT, AP_M, AP_O, 1, 5 },
	{ "lga", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "lgo", VT_BOOL, AP_O, AP_O, 0, 0 },
};

const res_type rt_evl = {
	.ty = TY_MGMTOBJ, .mgd = 1010, .root = "m2m:evl", .prefix = "evl",
	.common = MGMTOBJ_COMMON,
	.attrs = evl_attrs, .nattrs = sizeof(evl_attrs) / sizeof(evl_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
