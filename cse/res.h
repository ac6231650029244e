/*
 * res.h - one stored resource.
 *
 * `a` is the resource's attribute object with short names, exactly what goes
 * inside {"m2m:<type>": ...} on the wire, including the universal attributes
 * ty, ri, rn, pi, ct, lt and, where the type has them, et, st, cni, ...
 * ri/pi/rn/path duplicate what is in `a` (or, for path, what is derived from
 * the tree) so that the core and the store need not look them up.
 * path is the structured CSE-relative address, e.g. "cse-in/ae1/cnt1".
 * A res owns all its members; res_free() accepts NULL and half-built ones.
 */
#ifndef HEARTH_RES_H
#define HEARTH_RES_H

#include <stdint.h>
#include <jansson.h>

typedef struct res {
	int ty;
	char *ri;
	char *pi;      /* "" for the CSEBase */
	char *rn;
	char *path;
	json_t *a;     /* owned reference; NULL in rows visited without bodies */
	const char *raw; /* rows visited without bodies: the stored attribute
	                    object as JSON text, borrowed for the visit only */
	int64_t seq;   /* creation order, assigned by the store at insert */
} res;

/* Copies the strings (NULL stays NULL) and takes a new reference to `a`
   (the caller keeps its own). seq starts at 0. NULL on allocation failure. */
res *res_new(int ty, const char *ri, const char *pi, const char *rn, const char *path, json_t *a);
/* Frees *r and sets *r to NULL; accepts r == NULL and *r == NULL. */
void res_free(res **r);
/* Deep copy, including a deep copy of `a` and seq. NULL when r is NULL or on
   allocation failure. */
res *res_dup(const res *r);

#endif
