/*
 * res_ae.c - <AE> (ty 2): application registration (TS-0001 10.2.2.2,
 * TS-0004 7.4.5.2.1).
 *
 * The originator decides the AE-ID: empty, absent or "C" asks the CSE for a
 * C-type stem, "S" for an S-type stem (this CSE assigns it; an MN-CSE will
 * obtain it from its IN-CSE once registration upward exists), "C..."/"S..."
 * re-registers a known stem. The stem becomes aei and ri. Originators not
 * allowed by the configured patterns get 4126; an AE-ID already registered
 * gets 4117.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "limits.h"
#include "rsc.h"
#include "util.h"

static const attr_def ae_attrs[] = {
	{ "apn", VT_STR, AP_O, AP_O, 0, 0 },
	{ "api", VT_STR, AP_M, AP_NP, 0, 0 },
	{ "aei", VT_STR, AP_NP, AP_NP, 0, 0 },
	{ "poa", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "or", VT_STR, AP_O, AP_O, 0, 0 },
	{ "nl", VT_STR, AP_O, AP_O, 0, 0 },
	{ "rr", VT_BOOL, AP_M, AP_O, 0, 0 },
	{ "csz", VT_STRLIST, AP_O, AP_O, 0, 0 },
	{ "esi", VT_OBJ, AP_O, AP_O, 0, 0 },
	{ "mei", VT_STR, AP_O, AP_O, 0, 0 },
	{ "srv", VT_STRLIST, AP_O, AP_O, 0, 0 }, /* mandatory from R2 on: see ae_create */
	{ "regs", VT_INT, AP_O, AP_O, 1, 2 },
	{ "trps", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "scp", VT_LIST, AP_O, AP_O, 0, 0 },
	{ "tren", VT_BOOL, AP_O, AP_O, 0, 0 },
	{ "ape", VT_LIST, AP_O, AP_O, 0, 0 },
	{ "tri", VT_INT, AP_O, AP_O, 0, 0 },
	{ "trn", VT_INT, AP_O, AP_O, 0, 0 },
};

static bool valid_release(const char *s)
{
	static const char *const ok[] = { "1", "2", "2a", "3", "4", "5" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return true;
	return false;
}

/* srv, when present, must list known releases. */
static int check_srv(op_ctx *x)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(x->in, "srv"), i, v)
		if (!valid_release(json_string_value(v)))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "srv holds an unknown release '%s'",
			                 json_string_value(v));
	return 0;
}

static bool originator_allowed(cse *c, const char *stem)
{
	const char *pats = c->cfg.allowed_ae ? c->cfg.allowed_ae : "C*,S*";
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", pats);
	char *save = NULL;
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (util_glob(p, stem))
			return true;
	}
	return false;
}

static int ae_create(op_ctx *x)
{
	cse *c = x->c;
	const char *api = json_string_value(json_object_get(x->in, "api"));
	if (!api || !*api || !(api[0] == 'R' || api[0] == 'N' || (api[0] == 'r' && !core_is_rel4(x))))
		return m2m_error(x->rsp, RSC_BAD_REQUEST,
		                 "api must start with 'R' (registered) or 'N' (non-registered)%s",
		                 core_is_rel4(x) ? "; lower-case 'r' is not allowed from release 4" : "");
	if (!json_object_get(x->in, "srv") && x->req->rvi)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "mandatory attribute srv is missing");
	int rc = check_srv(x);
	if (rc)
		return rc;

	const char *fr = x->req->fr ? acp_norm_id(c, x->req->fr) : "";
	char stem[128];
	if (!*fr || strcmp(fr, "C") == 0) {
		util_random_id("C", 12, stem, sizeof(stem));
	} else if (strcmp(fr, "S") == 0) {
		util_random_id("S", 12, stem, sizeof(stem));
	} else {
		if (strchr(fr, '/') || !util_valid_name(fr, HL_MAX_RN))
			return m2m_error(x->rsp, RSC_BAD_REQUEST, "originator '%s' is not a valid AE-ID", fr);
		snprintf(stem, sizeof(stem), "%s", fr);
	}
	if (!originator_allowed(c, stem))
		return m2m_error(x->rsp, RSC_APP_RULE_VALIDATION_FAILED,
		                 "originator %s is not allowed to register", stem);
	res *old = NULL;
	if (core_st(c)->ops->get(core_st(c), stem, &old) == STORE_OK) {
		res_free(&old);
		return m2m_error(x->rsp, RSC_ORIGINATOR_HAS_ALREADY_REGISTERED, "AE-ID %s is already registered", stem);
	}
	free(x->nr->ri);
	x->nr->ri = m2m_strdup(stem);
	json_object_set_new(x->nr->a, "aei", json_string(stem));
	json_object_set_new(x->nr->a, HA_ORIG, json_string(stem));
	return 0;
}

static int ae_update(op_ctx *x)
{
	return check_srv(x);
}

static const int ae_parents[] = { TY_CB, 0 };

const res_type rt_ae = {
	.ty = TY_AE, .root = "m2m:ae", .prefix = "C",
	.common = RA_ET | RA_LBL | RA_ACPI | RA_AT | RA_AA | RA_DACI | RA_CSTN,
	.attrs = ae_attrs, .nattrs = sizeof(ae_attrs) / sizeof(ae_attrs[0]),
	.parents = ae_parents, .subscribable = true,
	.on_create = ae_create, .on_update = ae_update,
};
