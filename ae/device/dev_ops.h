/*
 * dev_ops.h - the native management protocol as the device sees it
 * (mgmtobj/README.md, "The native oneM2M adapter"): recognising the Notify
 * that starts an operation, and building the Update that ends it.
 *
 * Design note
 *   Pure functions over jansson trees, no I/O, so that every rule is unit
 *   tested (tests/unit/device_test.c). A Notify starts an operation when its
 *   m2m:sgn.nev.rep holds one of
 *     m2m:fwr with ud = true and uds = {acn, sus 3}        -> firmware "ud"
 *     m2m:swr with in|un = true and ins = {acn, sus 3}     -> software "in"/"un"
 *     m2m:swr with act|dea = true and acts = {acn, sus 3}  -> software "act"/"dea"
 *     m2m:rbo with rbo|far = true                          -> reboot "rbo"/"far"
 *   (both rbo and far: "far", a factory reset includes a reboot). Anything
 *   else that is a well-formed notification (verification request,
 *   deletion, another resource, a status update) is DEV_NOTIFY_OTHER.
 *
 *   The report goes to the mgmtObj: "<csi>/<ri>" (SP-relative, unstructured)
 *   when the representation has a usable ri, else the notification's sur.
 */
#ifndef HEARTH_DEV_OPS_H
#define HEARTH_DEV_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ae/device/dev_state.h"

enum dev_notify_kind {
	DEV_NOTIFY_OP = 0,   /* *op filled */
	DEV_NOTIFY_OTHER,    /* a notification, but no operation; why says what */
	DEV_NOTIFY_BAD,      /* not a notification (no m2m:sgn object) or unusable */
};

/* Classify the content of a Notify. csi is "/<cse-id>". op is filled
 * (zeroed first) only for DEV_NOTIFY_OP; why always gets a short text. */
int dev_notify_parse(const json_t *body, const char *csi, dev_op *op, char *why, size_t whylen);

/* The content of the Update that ends op: ok (sus 1, dc "ok", plus
 * "vr" when vr is non-empty) or failed (sus 2, dc "<code>: <text>"). For
 * reboot the trigger is reset instead (no status attribute). Returns a new
 * reference, or NULL on allocation failure. */
json_t *dev_report_pc(const dev_op *op, bool ok, const char *code, const char *text, const char *vr);

/* The mgmtObj root name of an operation kind: "m2m:fwr", "m2m:swr", "m2m:rbo". */
const char *dev_op_root(int kind);

#endif
