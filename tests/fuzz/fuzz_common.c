/*
 * fuzz_common.c - the CSE and fixture shared by the pipeline fuzz targets
 * (contract in fuzz_common.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "bindings/codec_json.h"
#include "bindings/codec_xml.h"

#include "bindings/transport.h"
#include "cse/config.h"
#include "cse/log.h"
#include "cse/prim.h"
#include "cse/rsc.h"

static cse_config fz_cfg;
static cse *fz_c;
static unsigned fz_runs;
static unsigned fz_rqn;

static void fz_die(const char *what, const char *to, int rsc)
{
	fprintf(stderr, "fuzz: fixture: %s %s failed with %d\n", what, to, rsc);
	abort();
}

void fz_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz: contract broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fz_encode_response(const m2m_response *rsp)
{
	char *body = codec_json_encode(rsp->pc);
	if (rsp->pc && !body)
		fz_fail("response content of rsc %d cannot be serialised", rsp->rsc);
	free(body);
	/* and in XML, for a client that asked for it */
	body = codec_xml_encode(rsp->pc);
	if (rsp->pc && !body)
		fz_fail("response content of rsc %d cannot be serialised as XML", rsp->rsc);
	free(body);
	if (rsp->rsc == 0 || rsc_http_status(rsp->rsc) < 100)
		fz_fail("response status %d has no HTTP mapping", rsp->rsc);
}

int fz_call(cse *c, int op, const char *to, const char *fr, int ty, json_t *pc, int rcn,
            const char *rvi)
{
	m2m_request req;
	m2m_response rsp;
	char rqi[32];
	int rsc;

	m2m_request_init(&req);
	m2m_response_init(&rsp);
	snprintf(rqi, sizeof rqi, "fz%u", ++fz_rqn);
	req.op = op;
	req.to = m2m_strdup(to);
	req.fr = m2m_strdup(fr);
	req.rqi = m2m_strdup(rqi);
	req.rvi = m2m_strdup(rvi);
	req.ty = ty;
	req.rcn = rcn;
	if (pc)
		req.pc = json_incref(pc);
	cse_handle(c, &req, &rsp);
	fz_encode_response(&rsp);
	if (log_level >= LOG_DEBUG) {
		char *s = codec_json_encode(rsp.pc);
		fprintf(stderr, "fuzz: %s -> %d %.300s\n", rqi, rsp.rsc, s ? s : "");
		free(s);
	}
	rsc = rsp.rsc;
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	return rsc;
}

/* Fixture step; must succeed unless optional. */
static void fz_make_opt(const char *to, const char *fr, int ty, const char *pc_text, bool optional)
{
	json_error_t e;
	json_t *pc = json_loads(pc_text, 0, &e);
	int rsc;

	if (!pc)
		fz_die("parse of", pc_text, 0);
	rsc = fz_call(fz_c, M2M_OP_CREATE, to, fr, ty, pc, -1, "4");
	json_decref(pc);
	if (rsc != RSC_CREATED && !optional)
		fz_die("create under", to, rsc);
}

static void fz_make(const char *to, const char *fr, int ty, const char *pc_text)
{
	fz_make_opt(to, fr, ty, pc_text, false);
}

static void fz_fixture(void)
{
	fz_make("cse-in", FZ_AE_ORIG, 2,
	        "{\"m2m:ae\":{\"rn\":\"fzae\",\"api\":\"Nfuzz\",\"rr\":false,\"srv\":[\"3\",\"4\"],"
	        "\"lbl\":[\"fuzz\",\"room/1\"]}}");
	fz_make("cse-in", FZ_OTHER_ORIG, 2,
	        "{\"m2m:ae\":{\"rn\":\"fzother\",\"api\":\"Nother\",\"rr\":true,\"srv\":[\"4\"]}}");
	fz_make(FZ_AE, FZ_AE_ORIG, 1,
	        "{\"m2m:acp\":{\"rn\":\"fzacp\",\"pv\":{\"acr\":["
	        "{\"acor\":[\"" FZ_AE_ORIG "\"],\"acop\":63},"
	        "{\"acor\":[\"" FZ_OTHER_ORIG "\"],\"acop\":35,"
	        "\"acco\":[{\"acip\":{\"ipv4\":[\"127.0.0.0/8\"]}}]},"
	        "{\"acor\":[\"Cw*\",\"all\"],\"acop\":2}]},"
	        "\"pvs\":{\"acr\":[{\"acor\":[\"" FZ_AE_ORIG "\"],\"acop\":63}]}}}");
	fz_make(FZ_AE, FZ_AE_ORIG, 3,
	        "{\"m2m:cnt\":{\"rn\":\"fzcnt\",\"mni\":5,\"mbs\":10000,\"lbl\":[\"fuzz\"],"
	        "\"acpi\":[\"" FZ_ACP "\"]}}");
	fz_make(FZ_CNT, FZ_AE_ORIG, 4, "{\"m2m:cin\":{\"rn\":\"fzcin1\",\"cnf\":\"text/plain:0\",\"con\":\"21.5\"}}");
	fz_make(FZ_CNT, FZ_AE_ORIG, 4, "{\"m2m:cin\":{\"rn\":\"fzcin2\",\"con\":\"22\",\"lbl\":[\"t\"]}}");
	fz_make(FZ_CNT, FZ_AE_ORIG, 4, "{\"m2m:cin\":{\"rn\":\"fzcin3\",\"con\":\"{\\\"v\\\":1}\"}}");
	fz_make(FZ_AE, FZ_AE_ORIG, 3, "{\"m2m:cnt\":{\"rn\":\"fzcnt2\",\"mia\":3600}}");
	fz_make(FZ_CNT2, FZ_AE_ORIG, 3, "{\"m2m:cnt\":{\"rn\":\"inner\"}}");
	fz_make(FZ_AE, FZ_AE_ORIG, 9,
	        "{\"m2m:grp\":{\"rn\":\"fzgrp\",\"mt\":3,\"mnm\":10,\"csy\":1,"
	        "\"mid\":[\"" FZ_CNT "\",\"" FZ_CNT2 "\"]}}");
	fz_make(FZ_CNT, FZ_AE_ORIG, 23,
	        "{\"m2m:sub\":{\"rn\":\"fzsub\",\"nu\":[\"" FZ_AE_ORIG "\"],\"nct\":1,"
	        "\"enc\":{\"net\":[1,2,3,4]}}}");
	fz_make("cse-in", FZ_AE_ORIG, 14,
	        "{\"m2m:nod\":{\"rn\":\"fznod\",\"ni\":\"urn:fz:1\",\"hael\":[\"" FZ_AE_ORIG "\"],"
	        "\"acpi\":[\"" FZ_ACP "\"]}}");
	fz_make(FZ_NOD, FZ_AE_ORIG, 13,
	        "{\"m2m:fwr\":{\"rn\":\"fzfwr\",\"vr\":\"1.0\",\"fwn\":\"fw\",\"url\":\"fz:image\","
	        "\"ud\":false,\"acpi\":[\"" FZ_ACP "\"]}}");
	/* Optional: with the default CSEBase policy only the admin may create
	 * under the CSEBase, and a remoteCSE's originator must be a CSE-ID, so
	 * the registration is refused (4103) until the core lets a CSE register. */
	fz_make_opt("cse-in", FZ_CSR_ORIG, 16,
	            "{\"m2m:csr\":{\"cb\":\"/id-fzmn/cse-fzmn\",\"rr\":false,\"srv\":[\"4\"],\"cst\":2}}",
	            true);
}

static void fz_open(void)
{
	if (cse_open(&fz_c, &fz_cfg) != 0) {
		fprintf(stderr, "fuzz: cannot open the CSE on an in-memory store\n");
		abort();
	}
	fz_fixture();
}

static void fz_first_init(void)
{
	/* HEARTH_FUZZ_LOG=debug shows what the core does with an input. */
	const char *lv = getenv("HEARTH_FUZZ_LOG");
	log_level = lv ? log_level_parse(lv) : -1;
	if (transport_global_init() != 0) {
		fprintf(stderr, "fuzz: transport_global_init failed\n");
		abort();
	}
	config_init(&fz_cfg);
	free(fz_cfg.db_path);
	fz_cfg.db_path = m2m_strdup(":memory:");
	/* A scheme transport_send() refuses without any I/O: a subscription
	 * naming the CSE itself must not reach a server on 8080. */
	free(fz_cfg.poa);
	fz_cfg.poa = m2m_strdup("fuzz://no-network");
	fz_open();
}

cse *fz_cse(void)
{
	if (!fz_c) {
		fz_first_init();
	} else if (++fz_runs >= FZ_RESET_RUNS) {
		fz_runs = 0;
		cse_close(&fz_c);
		fz_open();
	}
	return fz_c;
}

static bool has_word(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	for (size_t i = 0; i + wl <= n; i++) {
		size_t k = 0;
		while (k < wl && tolower((unsigned char)s[i + k]) == w[k])
			k++;
		if (k == wl)
			return true;
	}
	return false;
}

bool fz_json_names_network(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t n = json_string_length(j);
		return has_word(s, n, "http") || has_word(s, n, "mqtt");
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (fz_json_names_network(v))
				return true;
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (fz_json_names_network(v))
				return true;
	}
	return false;
}

char *fz_memdup0(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, d, n);
	s[n] = '\0';
	return s;
}
