/* devicecapability.c - <mgmtObj> deviceCapability (mgd 1008, m2m:dvc,
   TS-0004 D.9): one capability of the device. ena / dis are stored as
   given (booleans); they start no operation here. */
#include "mgmtobj.h"

static const attr_def dvc_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "can", VT_STR, AP_M, AP_O, 0, 0 },
	{ "att", VT_BOOL, AP_M, AP_O, 0, 0 },
	{ "cas", VT_OBJ, AP_M, AP_O, 0, 0 },
	{ "cus", VT_BOOL, AP_M, AP_O, 0, 0 },
	{ "ena", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "dis", VT_BOOL, AP_O, AP_O, 0, 0 },
};

const res_type rt_dvc = {
	.ty = TY_MGMTOBJ, .mgd = 1008, .root = "m2m:dvc", .prefix = "dvc",
	.common = MGMTOBJ_COMMON,
	.attrs = dvc_attrs, .nattrs = sizeof(dvc_attrs) / sizeof(dvc_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
