/*
 * res_annc.c - announced resource types (TS-0001 9.6.26 ff.): <AEAnnc>,
 * <containerAnnc>, <nodeAnnc>, <mgmtObjAnnc> ... derived from the
 * originals' tables when first asked for.
 *
 * An announced type has ty = original + 10000, root = original root + "A"
 * ("m2m:cntA"), the link to the original (lnk, mandatory at create, fixed
 * afterwards), the common attributes et, lbl, acpi, and every attribute of
 * the original as optional: which of them an announcing CSE copies is its
 * business (mandatory-announced ones plus those in aa). It lives under the
 * <remoteCSE> of the announcing CSE, or under the announced variant of the
 * original's parent.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "restype.h"

/* Originals that may be announced. */
static const int annc_src[] = { TY_AE, TY_CNT, TY_GRP, TY_NODE, TY_MGMTOBJ };

#define ANNC_MAX 64

static res_type annc[ANNC_MAX];
static size_t nannc;
static pthread_once_t annc_once = PTHREAD_ONCE_INIT;

static void annc_add(const res_type *o)
{
	if (!o || nannc == ANNC_MAX)
		return;
	attr_def *a = calloc(o->nattrs + 1, sizeof(*a));
	char *root = malloc(strlen(o->root) + 2);
	char *prefix = malloc(strlen(o->prefix) + 2);
	int *parents = calloc(8, sizeof(int));
	if (!a || !root || !prefix || !parents) {
		free(a), free(root), free(prefix), free(parents);
		return;
	}
	a[0] = (attr_def){ "lnk", VT_URI, AP_M, AP_NP, 0, 0 };
	for (size_t i = 0; i < o->nattrs; i++) {
		a[i + 1] = o->attrs[i];
		a[i + 1].c = AP_O;
		a[i + 1].u = AP_O;
	}
	strcpy(root, o->root);
	strcat(root, "A");
	strcpy(prefix, o->prefix);
	strcat(prefix, "A");
	size_t np = 0;
	parents[np++] = TY_CSR;
	for (const int *p = o->parents; p && *p && np < 7; p++)
		if (*p != TY_CB && *p != TY_CSR)
			parents[np++] = *p + TY_ANNC_OFFSET;
	res_type *t = &annc[nannc++];
	memset(t, 0, sizeof(*t));
	t->ty = o->ty + TY_ANNC_OFFSET;
	t->root = root;
	t->prefix = prefix;
	t->common = RA_ET | RA_LBL | RA_ACPI | RA_DACI;
	t->attrs = a;
	t->nattrs = o->nattrs + 1;
	t->parents = parents;
	t->subscribable = true;
	t->annc_of = o;
	t->mgd = o->mgd;
}

static void annc_build(void)
{
	for (size_t i = 0; i < sizeof(annc_src) / sizeof(annc_src[0]); i++) {
		if (annc_src[i] == TY_MGMTOBJ) {
			/* one announced type per specialization, all ty 10013 */
			for (size_t k = 0;; k++) {
				const res_type *s = restype_mgmtobj_nth(k);
				if (!s)
					break;
				annc_add(s);
			}
			continue;
		}
		annc_add(restype_get_original(annc_src[i]));
	}
}

const res_type *restype_annc_get(int ty)
{
	pthread_once(&annc_once, annc_build);
	for (size_t i = 0; i < nannc; i++)
		if (annc[i].ty == ty)
			return &annc[i];
	return NULL;
}

const res_type *restype_annc_by_root(const char *root)
{
	pthread_once(&annc_once, annc_build);
	for (size_t i = 0; i < nannc; i++)
		if (strcmp(annc[i].root, root) == 0)
			return &annc[i];
	return NULL;
}

const res_type *restype_annc_of(const res_type *o)
{
	pthread_once(&annc_once, annc_build);
	for (size_t i = 0; i < nannc; i++)
		if (annc[i].annc_of == o)
			return &annc[i];
	return NULL;
}
