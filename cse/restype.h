/*
 * restype.h - resource types as data.
 *
 * A resource type is one res_type: its code, JSON root name, the common
 * attributes it carries (RA_* flags), a table of its own attributes with
 * their value type and create/update rules, the parent types it may live
 * under, and optional hooks for what is truly special about it. The generic
 * engine validates, stores and serialises from the table; a hook only adds
 * type-specific rules and computed attributes.
 *
 * Adding a type: one small file with its table and hooks, one line in
 * restype_all[] (restype.c).
 */
#ifndef HEARTH_RESTYPE_H
#define HEARTH_RESTYPE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "prim.h"
#include "res.h"

enum {
	TY_ACP = 1, TY_AE = 2, TY_CNT = 3, TY_CIN = 4, TY_CB = 5, TY_GRP = 9,
	TY_MGMTOBJ = 13, TY_NODE = 14, TY_CSR = 16, TY_SUB = 23,
	TY_ANNC_OFFSET = 10000, /* announced variant: original ty + 10000 */
};

/* Value types checked by the generic validator. */
typedef enum vt {
	VT_STR,      /* string */
	VT_BOOL,
	VT_INT,      /* any integer within [lo, hi] when hi > lo */
	VT_NNI,      /* integer >= 0 */
	VT_POS,      /* integer >= 1 */
	VT_STRLIST,  /* array of strings */
	VT_INTLIST,  /* array of integers */
	VT_LIST,     /* array of anything */
	VT_OBJ,      /* object */
	VT_ANY,      /* any JSON value */
	VT_TIME,     /* absolute timestamp */
	VT_ABSREL,   /* absRelTimestamp: absolute, relative ms or ISO duration */
	VT_URI,      /* non-empty string */
} vt;

/* Create/update rules: not permitted, optional, mandatory. */
enum { AP_NP = 0, AP_O = 1, AP_M = 2 };

typedef struct attr_def {
	const char *sn;
	uint8_t vt;
	uint8_t c;   /* rule at create */
	uint8_t u;   /* rule at update */
	int64_t lo, hi; /* inclusive range for VT_INT (ignored when hi <= lo) */
} attr_def;

/* Common attributes carried by a type. */
#define RA_ET   0x001u
#define RA_LBL  0x002u
#define RA_ACPI 0x004u
#define RA_AT   0x008u
#define RA_AA   0x010u
#define RA_CR   0x020u
#define RA_ST   0x040u
#define RA_DACI 0x080u
#define RA_CSTN 0x100u

typedef struct cse cse;
typedef struct op_ctx op_ctx;

/* A trigger attribute of a mgmtObj specialization: an Update writing it
   true starts a management operation whose progress the CSE writes into
   the status attribute (NULL: the type has none, e.g. reboot). See
   mgmtobj/README.md. */
typedef struct mgmt_trigger {
	const char *sn;     /* "ud" */
	const char *status; /* "uds", or NULL */
} mgmt_trigger;

typedef struct res_type {
	int ty;
	int mgd;                 /* <mgmtObj> (ty 13): the specialization's
	                            mgmtDefinition (1001 firmware ...); else 0 */
	const char *root;        /* "m2m:cnt"; a specialization's own ("m2m:fwr") */
	const char *prefix;      /* ri / rn prefix, "cnt" */
	unsigned common;         /* RA_* */
	const attr_def *attrs;
	size_t nattrs;
	const int *parents;      /* allowed parent types, 0-terminated */
	bool subscribable;       /* may host <subscription> children */
	bool no_update;          /* Update -> 4005 */
	bool no_delete;          /* Delete -> 4005 */
	bool no_create;          /* Create via API -> 4005 (CSEBase) */
	const mgmt_trigger *triggers; /* mgmtObj operations, ended by {NULL}; or NULL */
	/* Before insert: validate cross-attribute rules on x->nr->a and set
	   computed attributes. Return an rsc (set with m2m_error) or 0. */
	int (*on_create)(op_ctx *x);
	/* After insert, in the same transaction (parent counters...). */
	int (*on_created)(op_ctx *x);
	/* Before update is stored: x->nr->a holds the merged attributes,
	   x->in the request's. Return an rsc or 0. */
	int (*on_update)(op_ctx *x);
	/* Before the row of r is removed (r is being deleted, in a transaction). */
	int (*on_delete)(cse *c, const res *r, const char *fr);
	const struct res_type *annc_of; /* announced types: the original type */
} res_type;

/* Type of code ty, or NULL. A <mgmtObj> (13) has no type of its own, only
   specializations: restype_get(13) is NULL; use restype_of()/restype_mgd(). */
const res_type *restype_get(int ty);
/* Original (non-announced) types only. */
const res_type *restype_get_original(int ty);
/* The n-th <mgmtObj> specialization, or NULL past the last. */
const res_type *restype_mgmtobj_nth(size_t n);
/* res_annc.c: announced variants, built from the originals on first use. */
const res_type *restype_annc_get(int ty);
const res_type *restype_annc_by_root(const char *root);
const res_type *restype_annc_of(const res_type *original);
/* Type of a stored resource: for a <mgmtObj> (and its announced variant)
   its specialization, chosen by the mgd attribute (NULL when r->a is absent
   or holds no known mgd). */
const res_type *restype_of(const res *r);
/* The <mgmtObj> specialization with mgmtDefinition mgd, or NULL. */
const res_type *restype_mgd(int mgd);
/* Type whose JSON root is `root` ("m2m:cnt", "m2m:fwr", "m2m:cntA"), or NULL. */
const res_type *restype_by_root(const char *root);
/* Definition of attribute sn for type t (common ones included), or NULL.
   *common is set when it is a universal/common attribute. */
const attr_def *restype_attr(const res_type *t, const char *sn);
/* True if parent type pty may hold a child of type t. */
bool restype_parent_ok(const res_type *t, int pty);

/* Validate one value against its definition. Returns NULL when fine, or a
   static message ("must be a non-negative integer"). */
const char *restype_check_value(const attr_def *d, const json_t *v);

/* Types registered in restype.c. */
extern const res_type rt_acp, rt_ae, rt_cnt, rt_cin, rt_cb, rt_grp, rt_sub, rt_csr;
/* Device management (mgmtobj/): <node> and the <mgmtObj> specializations. */
extern const res_type rt_nod, rt_fwr, rt_swr, rt_mem, rt_ani, rt_bat, rt_dvi, rt_dvc, rt_rbo, rt_evl;

#endif
