/*
 * adapter.h - the management adapter interface (mgmtobj/README.md).
 *
 * The CSE core runs the life cycle of a management operation (mgmt.c): it
 * notices the trigger, writes the status, keeps the timeout and writes the
 * outcome. An adapter translates one operation into a device-management
 * protocol (the native oneM2M one in adapter_native.c; LwM2M or TR-069
 * would be others) and reports the end with mgmt_report(). The adapter of
 * an operation is chosen by the scheme of the node's mgca.
 *
 * Threads: start(), cancel() and the functions given to mgmt_defer() run on
 * the management workers, never under the CSE lock, so they may send
 * requests and call mgmt_report(), cse_handle() and transport_send(). They
 * should not block for long: a worker serves every operation (use
 * mgmt_defer() to try again later instead of sleeping).
 */
#ifndef HEARTH_MGMT_ADAPTER_H
#define HEARTH_MGMT_ADAPTER_H

#include <stdbool.h>
#include <jansson.h>

#include "../cse/cse.h"

typedef struct mgmt_op {
	char acn[192];      /* action id: "<mgmtObj ri>/<trigger>/<n>" */
	char node_ri[64];   /* the <node> */
	char mo_ri[64];     /* the <mgmtObj> */
	int mgd;            /* 1001 firmware, 1002 software, 1009 reboot ... */
	char trigger[8];    /* "ud", "in", "un", "act", "dea", "rbo", "far" */
	json_t *mo;         /* the mgmtObj's public attributes at the start */
	json_t *node;       /* the node's public attributes */
	long long fw_seq;   /* firmware: seq of the installed verified update, 0 none */
	char fw_mhash[48];  /* firmware: its manifest hash, "" none */
} mgmt_op;

typedef struct mgmt_adapter {
	const char *name;   /* "native", "lwm2m", "tr069" */
	/* Start the operation; return NULL when it is under way (the result
	   comes later through mgmt_report), or a reason code string ("busy",
	   "unreachable", "unsupported" ...) for an immediate failure. op and
	   what it points to are valid only during the call. */
	const char *(*start)(cse *c, const mgmt_op *op);
	/* Called for an operation that ended by timeout; may be NULL. */
	void (*cancel)(cse *c, const mgmt_op *op);
} mgmt_adapter;

/*
 * End an operation: ok, or failed with reason code and text. The CSE
 * writes the status (sus 1 or 2, same acn), resets the trigger to false,
 * writes dc ("ok", or "<code>: <text>") and merges attrs (updatable
 * attributes of the mgmtObj, e.g. a new vr; may be NULL) in the same
 * Update, so subscribers see one change. Returns 0, RSC_NOT_FOUND when no
 * operation acn is in process, or the rsc of the refused Update (a bad
 * attribute in attrs: 4000). Not from inside a request (a hook).
 */
int mgmt_report(cse *c, const char *acn, bool ok, const char *code, const char *text, const json_t *attrs);

/*
 * Call fn(c, op) on a worker after delay_ms, unless the operation has ended
 * by then (report or timeout); one deferred call per operation at a time (a
 * later mgmt_defer() replaces it). For an adapter that must try again, e.g.
 * an unreachable device. Returns 0, or -1 when acn is not in process.
 */
int mgmt_defer(cse *c, const mgmt_op *op, long delay_ms, void (*fn)(cse *c, const mgmt_op *op));

#endif
