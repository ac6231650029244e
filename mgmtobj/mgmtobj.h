/*
 * mgmtobj.h - device management inside the core (not for bindings): the
 * <node> and <mgmtObj> types (one small file each, registered in
 * cse/restype.c), the life cycle of management operations (mgmt.c) and the
 * native oneM2M adapter (adapter_native.c). The contract is
 * mgmtobj/README.md.
 */
#ifndef HEARTH_MGMTOBJ_H
#define HEARTH_MGMTOBJ_H

#include "../cse/core.h"

/* Common attributes of every <mgmtObj> (digest 7.11), first in each
   specialization's table so that XML gets them in XSD order. A Create may
   leave mgd out: the specialization fills it in. */
#define MGMTOBJ_COMMON_ATTRS                                   \
	{ "mgd", VT_INT, AP_O, AP_NP, 0, 0 },                  \
	{ "obis", VT_STRLIST, AP_O, AP_NP, 0, 0 },             \
	{ "obps", VT_STRLIST, AP_O, AP_NP, 0, 0 },             \
	{ "mgs", VT_URI, AP_O, AP_NP, 0, 0 },                  \
	{ "dc", VT_STR, AP_O, AP_O, 0, 0 },                    \
	{ "cmlk", VT_LIST, AP_O, AP_O, 0, 0 }

#define MGMTOBJ_COMMON (RA_ET | RA_LBL | RA_ACPI | RA_AT | RA_AA | RA_DACI)

/* A <mgmtObj> lives under a <node> (mgmtobj.c). */
extern const int mgmtobj_parents[];

/* The specialization a Create of ty 13 means, by the root of its content
   pc ({"m2m:fwr": {...}}). Returns 0 with *t set, or an rsc: 4000 for a
   root that is no mgmtObj specialization, 5001 for a specialization Hearth
   does not implement (self-defined mgd 0, areaNwkDeviceInfo, cmdh*). */
int mgmtobj_pick(const json_t *pc, const res_type **t, m2m_response *rsp);

/* on_create of every specialization: mgd must agree with the type (4000)
   and is filled in; operation triggers must be false (an operation is
   started by an Update: 4000). */
int mgmtobj_on_create(op_ctx *x);

#endif
