/* memory.c - <mgmtObj> memory (mgd 1003, m2m:mem, TS-0004 D.4), in bytes. */
#include "mgmtobj.h"

static const attr_def mem_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "mma", VT_NNI, AP_M, AP_O, 0, 0 },
	{ "mmt", VT_NNI, AP_M, AP_O, 0, 0 },
};

const res_type rt_mem = {
	.ty = TY_MGMTOBJ, .mgd = 1003, .root = "m2m:mem", .prefix = "mem",
	.common = MGMTOBJ_COMMON,
	.attrs = mem_attrs, .nattrs = sizeof(mem_attrs) / sizeof(mem_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
