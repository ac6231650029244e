/* areanwkinfo.c - <mgmtObj> areaNwkInfo (mgd 1004, m2m:ani, TS-0004 D.5):
   the type of a device's area network and the devices on it. */
#include "mgmtobj.h"

static const attr_def ani_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "ant", VT_STR, AP_M, AP_O, 0, 0 },
	{ "ldv", VT_STRLIST, AP_O, AP_O, 0, 0 },
};

const res_type rt_ani = {
	.ty = TY_MGMTOBJ, .mgd = 1004, .root = "m2m:ani", .prefix = "ani",
	.common = MGMTOBJ_COMMON,
	.attrs = ani_attrs, .nattrs = sizeof(ani_attrs) / sizeof(ani_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
