/*
 * res.c - construction, copy and destruction of one resource record.
 *
 * A res owns private copies of its strings and one reference to its
 * attribute object. res_free() is the only destructor and copes with the
 * half-built records a failed res_new()/res_dup() leaves behind.
 */
#include "res.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* strdup() that keeps NULL as NULL; *ok goes false on allocation failure. */
static char *dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static res *res_build(int ty, const char *ri, const char *pi, const char *rn,
                      const char *path, json_t *a_owned, int64_t seq)
{
	bool ok = true;
	res *r = calloc(1, sizeof(*r));

	if (!r) {
		json_decref(a_owned);
		return NULL;
	}
	r->ty = ty;
	r->seq = seq;
	r->a = a_owned;
	r->ri = dup_or_null(ri, &ok);
	r->pi = dup_or_null(pi, &ok);
	r->rn = dup_or_null(rn, &ok);
	r->path = dup_or_null(path, &ok);
	if (!ok)
		res_free(&r);
	return r;
}

res *res_new(int ty, const char *ri, const char *pi, const char *rn, const char *path, json_t *a)
{
	return res_build(ty, ri, pi, rn, path, json_incref(a), 0);
}

void res_free(res **r)
{
	if (!r || !*r)
		return;
	free((*r)->ri);
	free((*r)->pi);
	free((*r)->rn);
	free((*r)->path);
	json_decref((*r)->a);
	free(*r);
	*r = NULL;
}

res *res_dup(const res *r)
{
	json_t *a = NULL;

	if (!r)
		return NULL;
	if (r->a) {
		a = json_deep_copy(r->a);
		if (!a)
			return NULL;
	}
	return res_build(r->ty, r->ri, r->pi, r->rn, r->path, a, r->seq);
}
