/* reboot.c - <mgmtObj> reboot (mgd 1009, m2m:rbo, TS-0004 D.10): rbo true
   reboots the device, far true resets it to factory settings; not both in
   one Update (4000). There is no status attribute: the device ends the
   operation by writing the trigger back to false (adapter_native.c). */
#include "mgmtobj.h"

static const attr_def rbo_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "rbo", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "far", VT_BOOL, AP_O, AP_O, 0, 0 },
};

static const mgmt_trigger rbo_triggers[] = { { "rbo", NULL }, { "far", NULL }, { NULL, NULL } };

const res_type rt_rbo = {
	.ty = TY_MGMTOBJ, .mgd = 1009, .root = "m2m:rbo", .prefix = "rbo",
	.common = MGMTOBJ_COMMON,
	.attrs = rbo_attrs, .nattrs = sizeof(rbo_attrs) / sizeof(rbo_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true, .triggers = rbo_triggers,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
