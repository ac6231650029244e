/* deviceinfo.c - <mgmtObj> deviceInfo (mgd 1007, m2m:dvi, TS-0004 D.8):
   what the device is. Manufacturer, model, sub-model, manufacturing date,
   hardware version and country are fixed at create (NP at update). */
#include "mgmtobj.h"

static const attr_def dvi_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "dlb", VT_STR, AP_M, AP_O, 0, 0 },
	{ "man", VT_STR, AP_M, AP_NP, 0, 0 },
	{ "mfdl", VT_STR, AP_O, AP_O, 0, 0 },
	{ "mfd", VT_TIME, AP_O, AP_NP, 0, 0 },
	{ "mod", VT_STR, AP_M, AP_NP, 0, 0 },
	{ "smod", VT_STR, AP_O, AP_NP, 0, 0 },
	{ "dty", VT_STR, AP_M, AP_O, 0, 0 },
	{ "dvnm", VT_STR, AP_O, AP_O, 0, 0 },
	{ "fwv", VT_STR, AP_O, AP_O, 0, 0 },
	{ "swv", VT_STR, AP_O, AP_O, 0, 0 },
	{ "hwv", VT_STR, AP_O, AP_NP, 0, 0 },
	{ "osv", VT_STR, AP_O, AP_O, 0, 0 },
	{ "cnty", VT_STR, AP_O, AP_NP, 0, 0 },
	{ "loc", VT_STR, AP_O, AP_O, 0, 0 },
	{ "syst", VT_TIME, AP_O, AP_O, 0, 0 },
	{ "spur", VT_URI, AP_O, AP_O, 0, 0 },
	{ "purl", VT_URI, AP_O, AP_O, 0, 0 },
	{ "ptl", VT_STRLIST, AP_O, AP_O, 0, 0 },
};

const res_type rt_dvi = {
	.ty = TY_MGMTOBJ, .mgd = 1007, .root = "m2m:dvi", .prefix = "dvi",
	.common = MGMTOBJ_COMMON,
	.attrs = dvi_attrs, .nattrs = sizeof(dvi_attrs) / sizeof(dvi_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
