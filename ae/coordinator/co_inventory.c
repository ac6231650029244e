/*
 * co_inventory.c - the inventory of every home, read at the IN-CSE from
 * the announced resources: each <remoteCSE> (a registered gateway), the
 * nodeAnnc (ty 10014) found under it by discovery, and each node's
 * deviceInfo/firmware announced children (m2m:dviA/m2m:fwrA, one
 * retrieve with rcn=4 per node). The attestation verdict is read from the
 * node's labels hearth:trust=... and hearth:trust-reason=..., which only
 * the gateway writes.
 */
#include "ae/coordinator/coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy a string member when it is a string that fits; else "". */
static void take(char *dst, size_t n, const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	dst[0] = '\0';
	if (s && strlen(s) < n)
		memcpy(dst, s, strlen(s) + 1);
}

static int fail(char *err, size_t errlen, const char *what, const m2m_result *r)
{
	if (r->http_status == 0)
		snprintf(err, errlen, "%s: %s", what, r->error);
	else
		snprintf(err, errlen, "%s: HTTP %d, rsc %d %.200s", what, r->http_status, r->rsc, r->raw_body);
	return -1;
}

int co_register(m2m_client *in, const struct co_config *cfg, char *err, size_t errlen)
{
	return m2m_register_ae(in, cfg->cse_rn, cfg->originator, "Nhearth-coordinator", err, errlen);
}

int co_set_poa(m2m_client *in, const struct co_config *cfg, const char *poa, char *err, size_t errlen)
{
	m2m_result r;
	memset(&r, 0, sizeof(r));
	json_t *ae = json_pack("{s:{s:[s],s:b}}", "m2m:ae", "poa", poa, "rr", 1);
	int rc = -1;
	if (!ae)
		snprintf(err, errlen, "out of memory");
	else if (m2m_do(in, M2M_OP_UPDATE, cfg->originator, cfg->originator, -1, ae, NULL, &r) != 0 || r.rsc != 2004)
		fail(err, errlen, "setting the AE's point of access", &r);
	else
		rc = 0;
	json_decref(ae);
	m2m_result_clear(&r);
	return rc;
}

/* Discovery: the uril under `to` for one resource type. */
static json_t *discover(m2m_client *in, const struct co_config *cfg, const char *to, int ty, size_t max, char *err,
                        size_t errlen)
{
	m2m_result r;
	memset(&r, 0, sizeof(r));
	char q[64];
	snprintf(q, sizeof(q), "fu=1&ty=%d&lim=%zu", ty, max);
	json_t *out = NULL;
	if (m2m_do(in, M2M_OP_RETRIEVE, to, cfg->originator, -1, NULL, q, &r) != 0 || r.rsc != 2000) {
		char what[CO_ADDR_MAX + 32];
		snprintf(what, sizeof(what), "discovery ty=%d under %s", ty, to);
		fail(err, errlen, what, &r);
		goto out;
	}
	json_t *l = json_object_get(r.body, "m2m:uril");
	if (!json_is_array(l)) {
		snprintf(err, errlen, "discovery under %s: no m2m:uril in the answer", to);
		goto out;
	}
	out = json_incref(l);
out:
	m2m_result_clear(&r);
	return out;
}

void co_trust_from_labels(const json_t *lbl, struct co_device *d)
{
	static const char *const known[] = { "verified", "gateway-asserted", "failed" };
	size_t i;
	json_t *v;
	snprintf(d->trust, sizeof(d->trust), "unknown");
	snprintf(d->trust_reason, sizeof(d->trust_reason), "no attestation verdict");
	bool seen = false;
	json_array_foreach(lbl, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		if (strncmp(s, "hearth:trust=", 13) == 0 && !seen) {
			seen = true;
			for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				if (strcmp(s + 13, known[k]) == 0) {
					snprintf(d->trust, sizeof(d->trust), "%s", known[k]);
					d->trust_reason[0] = '\0';
				}
			if (strcmp(d->trust, "unknown") == 0)
				snprintf(d->trust_reason, sizeof(d->trust_reason), "unrecognized verdict");
		}
	}
	json_array_foreach(lbl, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, "hearth:trust-reason=", 20) == 0 && strlen(s + 20) < sizeof(d->trust_reason) &&
		    strcmp(d->trust, "unknown") != 0)
			snprintf(d->trust_reason, sizeof(d->trust_reason), "%s", s + 20);
	}
}

static const json_t *first_child(const json_t *node, const char *root)
{
	const json_t *a = json_object_get(node, root);
	return json_is_array(a) ? json_array_get(a, 0) : json_is_object(a) ? a : NULL;
}

static int read_node(m2m_client *in, const struct co_config *cfg, const char *gw, const char *gw_cb,
                     const char *addr, struct co_device *d, char *err, size_t errlen)
{
	m2m_result r;
	memset(&r, 0, sizeof(r));
	memset(d, 0, sizeof(*d));
	int rc = -1;
	if (m2m_do(in, M2M_OP_RETRIEVE, addr, cfg->originator, -1, NULL, "rcn=4", &r) != 0 || r.rsc != 2000) {
		fail(err, errlen, addr, &r);
		goto out;
	}
	const json_t *n = json_object_get(r.body, "m2m:nodA");
	if (!json_is_object(n)) {
		snprintf(err, errlen, "%s: not a nodeAnnc", addr);
		goto out;
	}
	snprintf(d->gateway, sizeof(d->gateway), "%s", gw);
	snprintf(d->annc, sizeof(d->annc), "%s", addr);
	snprintf(d->gw_cb, sizeof(d->gw_cb), "%s", gw_cb);
	take(d->node, sizeof(d->node), n, "lnk");
	take(d->ni, sizeof(d->ni), n, "ni");
	co_trust_from_labels(json_object_get(n, "lbl"), d);
	const json_t *dvi = first_child(n, "m2m:dviA");
	take(d->man, sizeof(d->man), dvi, "man");
	take(d->mod, sizeof(d->mod), dvi, "mod");
	take(d->hwv, sizeof(d->hwv), dvi, "hwv");
	take(d->fwv, sizeof(d->fwv), dvi, "fwv");
	take(d->vr, sizeof(d->vr), first_child(n, "m2m:fwrA"), "vr");
	take(d->fw, sizeof(d->fw), first_child(n, "m2m:fwrA"), "lnk");
	rc = 0;
out:
	m2m_result_clear(&r);
	return rc;
}

/* The gateway's CSE-ID (without the leading '/') and its CSEBase address
   ("/id-mn/cse-mn", from cb; "" when absent or not of that form). */
static int gateway_id(m2m_client *in, const struct co_config *cfg, const char *addr, char *out, size_t n, char *cb,
                      size_t cbn)
{
	cb[0] = '\0';
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (m2m_do(in, M2M_OP_RETRIEVE, addr, cfg->originator, -1, NULL, NULL, &r) == 0 && r.rsc == 2000) {
		const char *csi = json_string_value(json_object_get(json_object_get(r.body, "m2m:csr"), "csi"));
		if (csi && csi[0] == '/')
			csi++;
		const char *b = json_string_value(json_object_get(json_object_get(r.body, "m2m:csr"), "cb"));
		if (csi && csi[0] && strlen(csi) < n) {
			snprintf(out, n, "%s", csi);
			size_t cl = strlen(csi);
			if (b && b[0] == '/' && strncmp(b + 1, csi, cl) == 0 && b[cl + 1] == '/' && b[cl + 2] &&
			    !strchr(b + cl + 2, '/') && strlen(b) < cbn)
				snprintf(cb, cbn, "%s", b);
			rc = 0;
		}
	}
	m2m_result_clear(&r);
	return rc;
}

int co_inventory_build(m2m_client *in, const struct co_config *cfg, struct co_inventory *inv, char *err,
                       size_t errlen)
{
	memset(inv, 0, sizeof(*inv));
	int rc = -1;
	json_t *csrs = discover(in, cfg, cfg->cse_rn, 16, CO_GATEWAYS_MAX, err, errlen);
	json_t *nodes = NULL;
	if (!csrs)
		goto out;
	size_t i;
	json_t *v;
	json_array_foreach(csrs, i, v) {
		const char *csr = json_string_value(v);
		char gw[CO_STR_MAX + 1], gw_cb[CO_ADDR_MAX];
		if (!csr || strlen(csr) >= CO_ADDR_MAX)
			continue;
		if (gateway_id(in, cfg, csr, gw, sizeof(gw), gw_cb, sizeof(gw_cb)) != 0) {
			fprintf(stderr, "hearth-coordinator: %.200s: no CSE-ID, skipped\n", csr);
			continue;
		}
		inv->gateways++;
		json_decref(nodes);
		nodes = discover(in, cfg, csr, 10014, CO_DEVICES_MAX, err, errlen);
		if (!nodes)
			goto out;
		size_t j;
		json_t *nv;
		json_array_foreach(nodes, j, nv) {
			const char *addr = json_string_value(nv);
			if (!addr || strlen(addr) >= CO_ADDR_MAX)
				continue;
			if (inv->n >= CO_DEVICES_MAX) {
				snprintf(err, errlen, "more than %u devices", CO_DEVICES_MAX);
				goto out;
			}
			if (inv->n % 64 == 0) {
				struct co_device *nd = realloc(inv->dev, (inv->n + 64) * sizeof(*nd));
				if (!nd) {
					snprintf(err, errlen, "out of memory");
					goto out;
				}
				inv->dev = nd;
			}
			if (read_node(in, cfg, gw, gw_cb, addr, &inv->dev[inv->n], err, errlen) != 0) {
				/* a node deleted since the discovery is not an error */
				fprintf(stderr, "hearth-coordinator: %s, skipped\n", err);
				err[0] = '\0';
				continue;
			}
			inv->n++;
		}
	}
	rc = 0;
out:
	json_decref(csrs);
	json_decref(nodes);
	if (rc != 0)
		co_inventory_free(inv);
	return rc;
}

void co_inventory_free(struct co_inventory *inv)
{
	free(inv->dev);
	inv->dev = NULL;
	inv->n = 0;
}

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *co_device_json(const struct co_device *d)
{
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o}", "gateway", d->gateway, "node",
	                 str_or_null(d->node), "ni", str_or_null(d->ni), "manufacturer", str_or_null(d->man), "model",
	                 str_or_null(d->mod), "hwv", str_or_null(d->hwv), "fwv", str_or_null(d->fwv), "vr",
	                 str_or_null(d->vr), "trust", d->trust, "trust_reason", str_or_null(d->trust_reason));
}
