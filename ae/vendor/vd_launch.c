/*
 * vd_launch.c - `hearth-vendor launch`: the alternative flow, where the
 * operator's coordinator only stages updates and informs (its inform
 * mode) and the manufacturer starts them.
 *
 * The manufacturer's update service is an AE at the IN-CSE. It reads the
 * notices the coordinator left for it (a container at the IN that only
 * the coordinator and this originator may read), and for each device
 * Updates the firmware at the device's gateway (through the IN) with the
 * staged package as url and ud true. Its rights there come from the
 * device itself (hearth-device --manager: RETRIEVE and UPDATE on its own
 * node and firmware, nothing on other devices), and the gateway installs
 * only what the manufacturer and the coordinator both signed, as always.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ae/lib/m2m_client.h"
#include "ae/vendor/vendor.h"

#define VL_ADDR_MAX 512u
#define VL_NOTICES_MAX 4096u

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool addr_ok(const char *s)
{
	return s && s[0] == '/' && strlen(s) < VL_ADDR_MAX && !strpbrk(s, " ?#\r\n");
}

int vd_launch_run(const struct vd_launch *l, json_t *rows, char *err, size_t errlen)
{
	m2m_client *in = m2m_client_new(l->in_url);
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (!in || (l->ca[0] && m2m_client_set_tls(in, l->ca, NULL, NULL) != 0)) {
		snprintf(err, errlen, "cannot set up the client for %.200s", l->in_url);
		goto out;
	}
	if (m2m_register_ae(in, l->cse_rn, l->originator, "Nhearth-vendor", err, errlen) != 0)
		goto out;
	/* the notices: every contentInstance of the container, newest last */
	char q[64];
	snprintf(q, sizeof(q), "fu=1&ty=4&lim=%u", VL_NOTICES_MAX);
	if (m2m_do(in, M2M_OP_RETRIEVE, l->notices, l->originator, -1, NULL, q, &r) != 0 || r.rsc != 2000) {
		if (r.http_status == 0)
			snprintf(err, errlen, "notices %.200s: %s", l->notices, r.error);
		else
			snprintf(err, errlen, "notices %.200s: rsc %d", l->notices, r.rsc);
		goto out;
	}
	json_t *uril = json_incref(json_object_get(r.body, "m2m:uril"));
	m2m_result_clear(&r);
	size_t i;
	json_t *u;
	size_t failed = 0;
	json_array_foreach(uril, i, u) {
		const char *addr = json_string_value(u);
		if (!addr || strlen(addr) >= VL_ADDR_MAX)
			continue;
		char to[VL_ADDR_MAX + 2];
		snprintf(to, sizeof(to), "%s", addr);
		if (m2m_do(in, M2M_OP_RETRIEVE, to, l->originator, -1, NULL, NULL, &r) != 0 || r.rsc != 2000) {
			m2m_result_clear(&r);
			continue;
		}
		json_error_t je;
		const char *con = jstr(json_object_get(r.body, "m2m:cin"), "con");
		json_t *n = con && strlen(con) < 64 * 1024 ? json_loads(con, JSON_REJECT_DUPLICATES, &je) : NULL;
		m2m_result_clear(&r);
		const char *dev = jstr(n, "device"), *fw = jstr(n, "firmware"), *pkg = jstr(n, "package");
		if (!dev || strlen(dev) > 256 || !addr_ok(fw) || !addr_ok(pkg) ||
		    (l->device[0] && strcmp(dev, l->device) != 0)) {
			json_decref(n);
			continue;
		}
		json_t *upd = json_pack("{s:{s:s,s:b}}", "m2m:fwr", "url", pkg, "ud", 1);
		int rsc = 0;
		if (upd && m2m_do(in, M2M_OP_UPDATE, fw, l->originator, -1, upd, NULL, &r) == 0)
			rsc = r.rsc;
		m2m_result_clear(&r);
		json_decref(upd);
		failed += rsc != 2004;
		json_t *row = json_pack("{s:s,s:s,s:s,s:i,s:s}", "device", dev, "firmware", fw, "package", pkg, "rsc", rsc,
		                        "result", rsc == 2004 ? "started" : rsc == 4103 ? "no rights on this device" : "refused");
		if (row)
			json_array_append_new(rows, row);
		printf("%-32s %-6d %s\n", dev, rsc, rsc == 2004 ? "started" : rsc == 4103 ? "no rights on this device" : "refused");
		json_decref(n);
	}
	json_decref(uril);
	if (failed) {
		snprintf(err, errlen, "%zu update(s) not started", failed);
		goto out;
	}
	rc = 0;
out:
	m2m_result_clear(&r);
	m2m_client_free(&in);
	return rc;
}
