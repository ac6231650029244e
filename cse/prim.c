/*
 * prim.c - request/response primitive lifecycle and error recording.
 *
 * An error is recorded once, where it is found: m2m_error() sets the code and
 * the human-readable message that goes back to the originator as m2m:dbg.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prim.h"

char *m2m_strdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		abort(); /* out of memory: nothing sensible left to do */
	return d;
}

void m2m_request_init(m2m_request *req)
{
	memset(req, 0, sizeof(*req));
	req->ty = -1;
	req->rcn = -1;
	req->drt = -1;
	req->rtv = -1;
	req->ec = -1;
}

void m2m_request_clear(m2m_request *req)
{
	if (!req)
		return;
	free(req->to);
	free(req->fr);
	free(req->rqi);
	free(req->rvi);
	free(req->ot);
	free(req->rqet);
	free(req->rset);
	free(req->oet);
	free(req->gid);
	free(req->vsi);
	free(req->peer_addr);
	json_decref(req->pc);
	json_decref(req->fc);
	json_decref(req->rtu);
	json_decref(req->rids);
	m2m_request_init(req);
}

void m2m_response_init(m2m_response *rsp)
{
	memset(rsp, 0, sizeof(*rsp));
}

void m2m_response_clear(m2m_response *rsp)
{
	if (!rsp)
		return;
	free(rsp->rqi);
	free(rsp->rvi);
	free(rsp->fr);
	free(rsp->to);
	free(rsp->location);
	free(rsp->ot);
	free(rsp->raw_pc);
	json_decref(rsp->pc);
	m2m_response_init(rsp);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid
   or cut short (overlong forms, surrogates and values past U+10FFFF are
   invalid). */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

int m2m_error(m2m_response *rsp, int rsc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* messages quote request bytes, and the bound may cut a character:
	   keep the text valid UTF-8 so that it can travel as a JSON string */
	for (unsigned char *p = (unsigned char *)msg; *p;) {
		size_t n = utf8_seq(p);
		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
	rsp->rsc = rsc;
	json_decref(rsp->pc);
	free(rsp->raw_pc);
	rsp->raw_pc = NULL;
	rsp->pc = json_pack("{s:s}", "m2m:dbg", msg);
	return rsc;
}

int m2m_ok(m2m_response *rsp, int rsc, json_t *pc)
{
	rsp->rsc = rsc;
	free(rsp->raw_pc);
	rsp->raw_pc = NULL;
	json_decref(rsp->pc);
	rsp->pc = pc;
	return rsc;
}

void m2m_response_echo(m2m_response *rsp, const m2m_request *req)
{
	if (!rsp->rqi && req->rqi)
		rsp->rqi = m2m_strdup(req->rqi);
	if (!rsp->rvi && req->rvi)
		rsp->rvi = m2m_strdup(req->rvi);
}

int m2m_request_copy(m2m_request *dst, const m2m_request *src)
{
	m2m_request_init(dst);
	dst->op = src->op;
	dst->to = m2m_strdup(src->to);
	dst->fr = m2m_strdup(src->fr);
	dst->rqi = m2m_strdup(src->rqi);
	dst->rvi = m2m_strdup(src->rvi);
	dst->ty = src->ty;
	dst->pc = src->pc ? json_deep_copy(src->pc) : NULL;
	dst->rcn = src->rcn;
	dst->drt = src->drt;
	dst->rtv = src->rtv;
	dst->rtu = src->rtu ? json_deep_copy(src->rtu) : NULL;
	dst->fc = src->fc ? json_deep_copy(src->fc) : NULL;
	dst->ot = m2m_strdup(src->ot);
	dst->rqet = m2m_strdup(src->rqet);
	dst->rset = m2m_strdup(src->rset);
	dst->oet = m2m_strdup(src->oet);
	dst->gid = m2m_strdup(src->gid);
	dst->vsi = m2m_strdup(src->vsi);
	dst->ec = src->ec;
	dst->rids = src->rids ? json_deep_copy(src->rids) : NULL;
	dst->peer_addr = m2m_strdup(src->peer_addr);
	dst->fmt = src->fmt;
	dst->fr_authenticated = src->fr_authenticated;
	dst->raw_ok = false; /* copies feed aggregated answers, which need pc */
	return 0;
}
