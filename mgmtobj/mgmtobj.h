/*
 * mgmtobj.h - device management inside the core (not for bindings): the
 * <node> and <mgmtObj> types (one small file each, registered in
 * cse/restype.c), the life cycle of management operations (mgmt.c) and the
 * native oneM2M adapter (adapter_native.c). The contract is
 * mgmtobj/README.md; the adapter interface is adapter.h.
 */
#ifndef HEARTH_MGMTOBJ_H
#define HEARTH_MGMTOBJ_H

#include "../cse/core.h"
#include "adapter.h"

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

/* on_update of every specialization (mgmt.c): starts, refuses (4005 while
   one is in process) and ends operations. */
int mgmt_on_update(op_ctx *x);

/* mgmt.c: the operation table and its workers; started by cse_open()
   (operations found in process get a fresh timeout), stopped first by
   cse_close(). mgmt_stop() accepts a CSE without it. */
int mgmt_start(cse *c);
void mgmt_stop(cse *c);

/* ---- between mgmt.c and adapter_native.c ---- */

/* Hidden attribute of a mgmtObj with an operation in process:
   {"acn": <action id>, "tr": <trigger>}. */
#define MGMT_HA_OP "_op"

/* The trigger sn of type t, or NULL. */
const mgmt_trigger *mgmt_trigger_of(const res_type *t, const char *sn);

/* End the operation op (the _op object) in the Update x is making: status
   {acn, sus 1|2}, trigger false, dc, _op removed; the operation table
   drops it when the Update commits. */
void mgmt_end_in_update(op_ctx *x, const json_t *op, bool ok, const char *dc);

/* adapter_native.c: is this Update the device's report of the operation
   in process (from an AE of the node's hael, writing a status attribute, or
   resetting the trigger of an operation without one)? Then *handled is
   set, and the report is checked (4000: no operation in process, another
   acn, sus not 1/2, a trigger set true) and turned into the end of the
   operation. Returns 0 or an rsc. */
int mgmt_native_report(op_ctx *x, const json_t *op, bool *handled);

/* Is fr one of the AEs the node lists in hael? */
bool mgmt_hosted_ae(cse *c, const json_t *node, const char *fr);

/* The poa of AE (or CSE) id (a copy), read through the pipeline as the
   admin; NULL when it is not registered here. Not under the CSE lock. */
json_t *mgmt_poa_of(cse *c, const char *id);

extern const mgmt_adapter mgmt_native_adapter;

#endif
