/*
 * mkstore.c - build a benchmark database once: a CSEBase, an AE "bench"
 * (originator Cbench) with a container "big" holding N contentInstances,
 * and, for the discovery workload, a container "disc" with D instances.
 * The first instance of each goes through the real pipeline (cse_handle)
 * so that the bulk ones copy its exact shape; the bulk is inserted through
 * the store interface in large transactions, and the containers' cni/cbs/st
 * are set to match.
 *
 *   mkstore DB N [D]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/transport.h"
#include "cse/config.h"
#include "cse/cse.h"
#include "cse/log.h"
#include "cse/store.h"

static int call(cse *c, int op, const char *to, int ty, const char *pc, json_t **out)
{
	m2m_request req;
	m2m_response rsp;
	m2m_request_init(&req);
	m2m_response_init(&rsp);
	req.op = op;
	req.to = m2m_strdup(to);
	req.fr = m2m_strdup("Cbench");
	req.rqi = m2m_strdup("mk");
	req.rvi = m2m_strdup("4");
	req.ty = ty;
	json_error_t e;
	req.pc = pc ? json_loads(pc, 0, &e) : NULL;
	cse_handle(c, &req, &rsp);
	int rsc = rsp.rsc;
	if (out) {
		*out = rsp.pc;
		rsp.pc = NULL;
	}
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	return rsc;
}

static int fill(store *s, const char *cnt_path, long n)
{
	res *cnt = NULL, *proto = NULL;
	if (s->ops->get_path(s, cnt_path, &cnt) != STORE_OK)
		return -1;
	char path[512];
	snprintf(path, sizeof(path), "%s/proto", cnt_path);
	if (s->ops->get_path(s, path, &proto) != STORE_OK)
		return -1;
	json_int_t cs = json_integer_value(json_object_get(proto->a, "cs"));
	long st = 1;
	for (long i = 1; i < n; i++) {
		if ((i - 1) % 20000 == 0 && s->ops->begin(s) != STORE_OK)
			return -1;
		char ri[32], rn[32];
		snprintf(ri, sizeof(ri), "cinb%s%09ld", cnt->ri + 3, i);
		snprintf(rn, sizeof(rn), "b%09ld", i);
		snprintf(path, sizeof(path), "%s/%s", cnt_path, rn);
		json_t *a = json_deep_copy(proto->a);
		json_object_set_new(a, "ri", json_string(ri));
		json_object_set_new(a, "rn", json_string(rn));
		json_object_set_new(a, "st", json_integer(++st));
		json_object_set_new(a, "lbl", json_pack("[s]", i % 100 == 0 ? "hundred" : "other"));
		res *r = res_new(4, ri, cnt->ri, rn, path, a);
		json_decref(a);
		int rc = s->ops->insert(s, r);
		res_free(&r);
		if (rc != STORE_OK)
			return -1;
		if (i % 20000 == 0 || i == n - 1) {
			if (s->ops->commit(s) != STORE_OK)
				return -1;
			fprintf(stderr, "\rmkstore: %s %ld/%ld", cnt_path, i + 1, n);
		}
	}
	fprintf(stderr, "\n");
	json_object_set_new(cnt->a, "cni", json_integer(n));
	json_object_set_new(cnt->a, "cbs", json_integer(cs * n));
	json_object_set_new(cnt->a, "st", json_integer(st));
	int rc = s->ops->update(s, cnt);
	res_free(&cnt);
	res_free(&proto);
	return rc == STORE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mkstore DB N [D]\n");
		return 2;
	}
	long n = strtol(argv[2], NULL, 10), d = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
	if (n < 1 || d < 0) {
		fprintf(stderr, "mkstore: N >= 1\n");
		return 2;
	}
	cse_config cfg;
	config_init(&cfg);
	free(cfg.db_path);
	cfg.db_path = m2m_strdup(argv[1]);
	log_level = LOG_WARN;
	transport_global_init();
	cse *c = NULL;
	if (cse_open(&c, &cfg) != 0)
		return 1;
	int ok = call(c, 1, "cse-in", 2, "{\"m2m:ae\":{\"rn\":\"bench\",\"api\":\"Nbench\",\"rr\":false,\"srv\":[\"4\"]}}", NULL) == 2001 &&
	         call(c, 1, "cse-in/bench", 3, "{\"m2m:cnt\":{\"rn\":\"big\"}}", NULL) == 2001 &&
	         call(c, 1, "cse-in/bench/big", 4, "{\"m2m:cin\":{\"rn\":\"proto\",\"cnf\":\"text/plain:0\",\"con\":\"21.5\"}}", NULL) == 2001;
	if (ok && d > 0)
		ok = call(c, 1, "cse-in/bench", 3, "{\"m2m:cnt\":{\"rn\":\"disc\"}}", NULL) == 2001 &&
		     call(c, 1, "cse-in/bench/disc", 4, "{\"m2m:cin\":{\"rn\":\"proto\",\"cnf\":\"text/plain:0\",\"con\":\"21.5\"}}", NULL) == 2001;
	cse_close(&c);
	if (!ok) {
		fprintf(stderr, "mkstore: could not create the fixture (database not empty?)\n");
		return 1;
	}
	store *s = NULL;
	if (store_sqlite_open(argv[1], &s) != STORE_OK)
		return 1;
	int rc = fill(s, "cse-in/bench/big", n);
	if (rc == 0 && d > 0)
		rc = fill(s, "cse-in/bench/disc", d);
	store_close(&s);
	transport_global_cleanup();
	config_clear(&cfg);
	return rc == 0 ? 0 : 1;
}
