/*
 * route.h - forwarding requests to other CSEs (route.c).
 */
#ifndef HEARTH_ROUTE_H
#define HEARTH_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "cse.h"
#include "prim.h"

enum { ROUTE_LOCAL = 0, ROUTE_OTHER_CSE = 1, ROUTE_OTHER_SP = 2 };

/* Which CSE hosts `to`: ROUTE_LOCAL (this one, or an address resolve()
   must judge), or another one whose SP-relative CSE-ID ("/id-mn") or SP
   ("//sp") is written into id. */
int route_target_cse(const cse *c, const char *to, char *id, size_t len);

/* Forward req to the CSE csi through the next hop and put its answer in
   rsp; refusals carry the spec's codes (4000 registration, 4004 no route
   or loop, 5103 next hop unreachable). Returns rsp->rsc. */
int route_forward(cse *c, const m2m_request *req, const char *csi, m2m_response *rsp);

#endif
