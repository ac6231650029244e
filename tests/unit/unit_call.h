/*
 * unit_call.h - one request through the pipeline for unit tests: the
 * primitive from text, cse_handle(), the rsc back and optionally the
 * content. Include after <cmocka.h>.
 */
#ifndef HEARTH_UNIT_CALL_H
#define HEARTH_UNIT_CALL_H

#include <stdatomic.h>
#include <stdio.h>

#include "cse/cse.h"

/* Returns the rsc; *out (if given) receives pc (a new reference). rvi as
   given (NULL: none); the response must echo the rqi. */
static inline int unit_call_rvi(cse *c, int op, const char *to, const char *fr, int ty, const char *pc, const char *rvi,
                         json_t **out)
{
	static _Atomic unsigned n;
	m2m_request req;
	m2m_response rsp;
	char rqi[32];
	m2m_request_init(&req);
	m2m_response_init(&rsp);
	req.op = op;
	req.to = m2m_strdup(to);
	req.fr = m2m_strdup(fr);
	snprintf(rqi, sizeof(rqi), "u%u", ++n);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup(rvi);
	req.ty = ty;
	if (pc) {
		json_error_t e;
		req.pc = json_loads(pc, 0, &e);
		if (!req.pc)
			fail_msg("test JSON does not parse: %s (%s)", pc, e.text);
	}
	cse_handle(c, &req, &rsp);
	assert_non_null(rsp.rqi);
	assert_string_equal(rsp.rqi, rqi);
	int rsc = rsp.rsc;
	if (out) {
		*out = rsp.pc;
		rsp.pc = NULL;
	}
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	return rsc;
}

/* The same in release 4. */
static inline int unit_call(cse *c, int op, const char *to, const char *fr, int ty, const char *pc, json_t **out)
{
	return unit_call_rvi(c, op, to, fr, ty, pc, "4", out);
}

#endif
