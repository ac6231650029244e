/* battery.c - <mgmtObj> battery (mgd 1006, m2m:bat, TS-0004 D.7): level
   0..100 %, status 1..7 (m2m:batteryStatus). */
#include "mgmtobj.h"

static const attr_def bat_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "btl", VT_INT, AP_M, AP_O, 0, 100 },
	{ "bts", VT_INT, AP_M, AP_O, 1, 7 },
};

const res_type rt_bat = {
	.ty = TY_MGMTOBJ, .mgd = 1006, .root = "m2m:bat", .prefix = "bat",
	.common = MGMTOBJ_COMMON,
	.attrs = bat_attrs, .nattrs = sizeof(bat_attrs) / sizeof(bat_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
