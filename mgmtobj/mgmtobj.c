/*
 * mgmtobj.c - what every <mgmtObj> specialization shares (digest 7.11,
 * TS-0004 Annex D): its parent, the choice of the specialization at Create
 * (by the content's root; later by the stored mgd, see restype_of()) and
 * the checks of its Create hook.
 *
 * Self-defined mgmtObjs (mgd 0, schema in mgs) are not supported: their
 * root is vendor-defined and their attributes are unknown to the tables,
 * so a Create with mgd 0 is answered 5001.
 */
#include <string.h>

#include "attest.h"
#include "mgmtobj.h"
#include "../cse/rsc.h"

const int mgmtobj_parents[] = { TY_NODE, 0 };

/* Specializations of TS-0004 Annex D that have no table here. */
static const char *const unsupported_roots[] = {
	"m2m:andi", "m2m:cmp", "m2m:acmp", "m2m:cmdf", "m2m:cmdv", "m2m:cmpv", "m2m:cml",
	"m2m:cmnr", "m2m:cmwr", "m2m:cmbf",
};

int mgmtobj_pick(const json_t *pc, const res_type **t, m2m_response *rsp)
{
	*t = NULL;
	if (!json_is_object(pc) || json_object_size(pc) != 1)
		return m2m_error(rsp, RSC_BAD_REQUEST,
		                 "content must hold exactly one mgmtObj specialization (m2m:fwr, m2m:bat ...)");
	void *it = json_object_iter((json_t *)pc);
	const char *root = json_object_iter_key(it);
	const res_type *rt = restype_by_root(root);
	if (rt && rt->ty == TY_MGMTOBJ) {
		*t = rt;
		return 0;
	}
	json_t *mgd = json_object_get(json_object_iter_value(it), "mgd");
	if (json_is_integer(mgd) && json_integer_value(mgd) == 0)
		return m2m_error(rsp, RSC_NOT_IMPLEMENTED,
		                 "self-defined mgmtObjs (mgd 0, schema in mgs) are not supported");
	for (size_t i = 0; i < sizeof(unsupported_roots) / sizeof(unsupported_roots[0]); i++)
		if (strcmp(root, unsupported_roots[i]) == 0)
			return m2m_error(rsp, RSC_NOT_IMPLEMENTED, "mgmtObj specialization %s is not supported", root);
	return m2m_error(rsp, RSC_BAD_REQUEST, "content root %s is not a mgmtObj specialization", root);
}

int mgmtobj_on_create(op_ctx *x)
{
	json_t *mgd = json_object_get(x->in, "mgd");
	if (mgd && json_integer_value(mgd) != x->t->mgd)
		return m2m_error(x->rsp, RSC_BAD_REQUEST, "mgd %lld does not match %s (mgd %d)",
		                 (long long)json_integer_value(mgd), x->t->root, x->t->mgd);
	json_object_set_new(x->nr->a, "mgd", json_integer(x->t->mgd));
	for (const mgmt_trigger *tr = x->t->triggers; tr && tr->sn; tr++)
		if (json_is_true(json_object_get(x->in, tr->sn)))
			return m2m_error(x->rsp, RSC_BAD_REQUEST,
			                 "%s must be false at create: an operation is started by an Update", tr->sn);
	int rc = attest_guard_labels(x);
	if (rc)
		return rc;
	if (x->t->mgd == 1007) /* the metadata to attest is there now */
		attest_touch(x, x->target->ri);
	return 0;
}
