/*
 * res_csr.c - <remoteCSE> (ty 16): the registration of another CSE
 * (TS-0004 7.4.4). Only CSEs may create one (an AE originator gets 4005);
 * its ri and default name are the registree's CSE-ID, csi is set from the
 * originator, and a second registration of the same CSE-ID gets 4117.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "rsc.h"

static const attr_def csr_attrs[] = {
	{ "cst", VT_INT, AP_O, AP_NP, 1, 3 },
	{ "poa", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "cb", VT_URI, AP_M, AP_NP, 0, 0 },
	{ "csi", VT_STR, AP_O, AP_NP, 0, 0 },
	{ "mei", VT_STR, AP_O, AP_O, 0, 0 },
	{ "tri", VT_INT, AP_O, AP_O, 0, 0 },
	{ "rr", VT_BOOL, AP_M, AP_O, 0, 0 },
	{ "nl", VT_STR, AP_O, AP_O, 0, 0 },
	{ "trn", VT_INT, AP_O, AP_O, 0, 0 },
	{ "csz", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "esi", VT_OBJ, AP_O, AP_O, 0, 0 },
	{ "dcse", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "srv", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "mtcc", VT_INT, AP_O, AP_O, 0, 0 },
	{ "egid", VT_STR, AP_O, AP_O, 0, 0 },
	{ "tren", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "ape", VT_LIST, AP_O, AP_O, 0, 0 },
};

static int csr_create(op_ctx *x)
{
	const char *fr = x->req->fr;
	if (!fr || fr[0] != '/' || fr[1] == '/' || !fr[1] || strchr(fr + 1, '/'))
		return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED,
		                 "only a CSE (originator /<CSE-ID>) may register as remoteCSE");
	if (x->c->cfg.cse_type == CSE_TYPE_ASN)
		return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED, "an ASN-CSE accepts no CSE registration");
	if (strcmp(fr, x->c->csi) == 0)
		return m2m_error(x->rsp, RSC_OPERATION_NOT_ALLOWED, "a CSE cannot register to itself");
	res *old = NULL;
	if (core_st(x->c)->ops->get(core_st(x->c), fr + 1, &old) == STORE_OK) {
		res_free(&old);
		return m2m_error(x->rsp, RSC_ORIGINATOR_HAS_ALREADY_REGISTERED, "CSE %s is already registered", fr);
	}
	free(x->nr->ri);
	x->nr->ri = m2m_strdup(fr + 1);
	json_object_set_new(x->nr->a, "csi", json_string(fr));
	json_object_set_new(x->nr->a, HA_ORIG, json_string(fr));
	return 0;
}

static const int csr_parents[] = { TY_CB, 0 };

const res_type rt_csr = {
	.ty = TY_CSR, .root = "m2m:csr", .prefix = "csr",
	.common = RA_ET | RA_LBL | RA_ACPI | RA_AT | RA_AA | RA_DACI | RA_CSTN,
	.attrs = csr_attrs, .nattrs = sizeof(csr_attrs) / sizeof(csr_attrs[0]),
	.parents = csr_parents, .subscribable = true,
	.on_create = csr_create,
};
