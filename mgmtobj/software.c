/*
 * software.c - <mgmtObj> software (mgd 1002, m2m:swr, TS-0004 D.3): one
 * software package. in / un install and uninstall it (status ins), act /
 * dea activate and deactivate it (status acts); one operation at a time.
 */
#include "mgmtobj.h"

static const attr_def swr_attrs[] = {
	MGMTOBJ_COMMON_ATTRS,
	{ "vr", VT_STR, AP_M, AP_O, 0, 0 },
	{ "swn", VT_STR, AP_M, AP_O, 0, 0 },
	{ "url", VT_URI, AP_M, AP_O, 0, 0 },
	{ "in", VT_BOOL, AP_NP, AP_O, 0, 0 },
	{ "un", VT_BOOL, AP_NP, AP_O, 0, 0 },
	{ "ins", VT_OBJ, AP_NP, AP_O, 0, 0 },
	{ "act", VT_BOOL, AP_NP, AP_O, 0, 0 },
	{ "dea", VT_BOOL, AP_NP, AP_O, 0, 0 },
	{ "acts", VT_OBJ, AP_NP, AP_O, 0, 0 },
};

static const mgmt_trigger swr_triggers[] = {
	{ "in", "ins" }, { "un", "ins" }, { "act", "acts" }, { "dea", "acts" }, { NULL, NULL },
};

const res_type rt_swr = {
	.ty = TY_MGMTOBJ, .mgd = 1002, .root = "m2m:swr", .prefix = "swr",
	.common = MGMTOBJ_COMMON,
	.attrs = swr_attrs, .nattrs = sizeof(swr_attrs) / sizeof(swr_attrs[0]),
	.parents = mgmtobj_parents, .subscribable = true, .triggers = swr_triggers,
	.on_create = mgmtobj_on_create, .on_update = mgmt_on_update,
};
