/*
 * co_campaign.c - the campaign state and what one device needs; the
 * engine that runs a campaign is co_engine.c.
 *
 * The state lives at the IN (coord.h), one contentInstance per change, so
 * a coordinator stopped half-way resumes without starting a device twice:
 * a device marked launched is skipped, and a device whose firmware at the
 * gateway already runs (or ran) this campaign's package is recorded as
 * launched without a new Update.
 *
 * Starting one device (co_launch_one): the coordinator signs an assignment
 * with the operator key (this manifest, the device's ni, its gateway's
 * CSE-ID), stores the update package {"manifest","assignment","image"} as
 * a contentInstance in the container hearth-updates under the gateway's
 * CSEBase (through the IN, retargeted), and Updates the device's firmware
 * at the gateway with url = that instance and ud = true
 * (mgmtobj/README.md "Verified updates").
 *
 * status: the latest state, and for each followed device its firmware at
 * the gateway (uds, dc, vr, read through the IN); a changed status is
 * stored as a new state.
 */
#include "ae/coordinator/coord.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CO_ASSIGN_TTL (30 * 24 * 3600) /* assignment lifetime */

static const char *const STATUSES[] = { "pending",  "in-process",       "successful", "failed",  "blocked",
	                                 "current", "awaiting-consent", "refused",    "informed" };

int co_rfail(char *err, size_t errlen, const char *what, const m2m_result *r)
{
	if (r->http_status == 0)
		snprintf(err, errlen, "%s: %s", what, r->error);
	else
		snprintf(err, errlen, "%s: rsc %d", what, r->rsc);
	return -1;
}

const char *co_jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- the state document ----------------------------------------------------- */

/* a string of at most max bytes, or null when nullable */
static bool field_ok(const json_t *o, const char *k, size_t max, bool nullable)
{
	const json_t *v = json_object_get(o, k);
	if (nullable && json_is_null(v))
		return true;
	return json_is_string(v) && strlen(json_string_value(v)) <= max;
}

/* The campaign policy kept in the state: {"waves":[..],"success_rate",
   "failure_threshold","window":[start,end]|null,"mode","no_policy"}. */
static int policy_check(const json_t *p, char *err, size_t errlen)
{
	if (!p)
		return 0; /* a campaign from before policies: the defaults */
	const json_t *w = json_object_get(p, "waves"), *win = json_object_get(p, "window");
	const char *mode = co_jstr(p, "mode"), *np = co_jstr(p, "no_policy");
	bool ok = json_is_object(p) && json_is_array(w) && json_array_size(w) >= 1 &&
	          json_array_size(w) <= CO_WAVES_MAX && mode && np &&
	          (strcmp(mode, "install") == 0 || strcmp(mode, "inform") == 0) &&
	          (strcmp(np, "ask") == 0 || strcmp(np, "auto") == 0);
	json_int_t prev = 0;
	for (size_t i = 0; ok && i < json_array_size(w); i++) {
		json_int_t v = json_integer_value(json_array_get(w, i));
		ok = json_is_integer(json_array_get(w, i)) && v > prev && v <= 100;
		prev = v;
	}
	ok = ok && prev == 100;
	static const char *const pct[] = { "success_rate", "failure_threshold" };
	for (size_t k = 0; ok && k < 2; k++) {
		const json_t *v = json_object_get(p, pct[k]);
		ok = json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 100;
	}
	if (ok && win && !json_is_null(win)) {
		json_int_t a = json_integer_value(json_array_get(win, 0)), b = json_integer_value(json_array_get(win, 1));
		ok = json_is_array(win) && json_array_size(win) == 2 && a >= 0 && a < 1440 && b >= 0 && b < 1440 && a != b;
	}
	if (!ok) {
		snprintf(err, errlen, "campaign state: policy malformed");
		return -1;
	}
	return 0;
}

int co_campaign_check(const json_t *state, char *err, size_t errlen)
{
	static const char *const strs[] = { "device", "gateway", "firmware", "manufacturer", "model", "trust", "before" };
	static const char *const opt[] = { "target", "manifest", "package", "after" };
	const json_t *devs = json_object_get(state, "devices");
	if (!json_is_object(state) || !field_ok(state, "campaign", CO_CAMPAIGN_MAX, false) || !json_is_array(devs) ||
	    json_array_size(devs) > CO_DEVICES_MAX) {
		snprintf(err, errlen, "campaign state: not an object with campaign and devices");
		return -1;
	}
	if (policy_check(json_object_get(state, "policy"), err, errlen) != 0)
		return -1;
	const json_t *wv = json_object_get(state, "wave");
	if ((wv && (!json_is_integer(wv) || json_integer_value(wv) < 0 ||
	            json_integer_value(wv) >= (json_int_t)CO_WAVES_MAX)) ||
	    (json_object_get(state, "halt_reason") && !field_ok(state, "halt_reason", CO_ERR_MAX, true))) {
		snprintf(err, errlen, "campaign state: wave or halt_reason malformed");
		return -1;
	}
	const char *phase = co_jstr(state, "phase");
	if (json_object_get(state, "phase") &&
	    (!phase || (strcmp(phase, "running") != 0 && strcmp(phase, "halted") != 0 && strcmp(phase, "done") != 0))) {
		snprintf(err, errlen, "campaign state: phase must be running, halted or done");
		return -1;
	}
	size_t i;
	json_t *d;
	json_array_foreach(devs, i, d) {
		const json_t *w = json_object_get(d, "wave"), *asked = json_object_get(d, "asked");
		bool ok = json_is_object(d) && json_is_boolean(json_object_get(d, "launched")) &&
		          field_ok(d, "reason", CO_ERR_MAX + 64, false) &&
		          (!w || json_is_null(w) || (json_is_integer(w) && json_integer_value(w) >= 0 &&
		                                     json_integer_value(w) < (json_int_t)CO_WAVES_MAX)) &&
		          (!asked || json_is_null(asked) || json_is_integer(asked)) &&
		          (!json_object_get(d, "criticality") || field_ok(d, "criticality", 16, true)) &&
		          (!json_object_get(d, "sub") || field_ok(d, "sub", CO_ADDR_MAX, true));
		for (size_t k = 0; ok && k < sizeof(strs) / sizeof(strs[0]); k++)
			ok = field_ok(d, strs[k], CO_ADDR_MAX, false);
		for (size_t k = 0; ok && k < sizeof(opt) / sizeof(opt[0]); k++)
			ok = !json_object_get(d, opt[k]) || field_ok(d, opt[k], CO_PKG_MAX, true);
		bool known = false;
		for (size_t k = 0; ok && k < sizeof(STATUSES) / sizeof(STATUSES[0]); k++)
			known = known || (co_jstr(d, "status") && strcmp(co_jstr(d, "status"), STATUSES[k]) == 0);
		if (!ok || !known) {
			snprintf(err, errlen, "campaign state: device entry %zu malformed", i);
			return -1;
		}
	}
	return 0;
}

static void campaign_addr(const struct co_config *cfg, char *buf, size_t n, bool with_name)
{
	snprintf(buf, n, "%s/%s/campaigns%s%s", cfg->cse_rn, cfg->originator, with_name ? "/" : "",
	         with_name ? cfg->campaign : "");
}

int co_campaign_load(m2m_client *in, const struct co_config *cfg, json_t **state, char *err, size_t errlen)
{
	char camp[CO_ADDR_MAX], to[CO_ADDR_MAX + 4];
	campaign_addr(cfg, camp, sizeof(camp), true);
	snprintf(to, sizeof(to), "%s/la", camp);
	*state = NULL;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (m2m_do(in, M2M_OP_RETRIEVE, to, cfg->originator, -1, NULL, NULL, &r) != 0) {
		co_rfail(err, errlen, "campaign state", &r);
		goto out;
	}
	if (r.rsc == 4004) { /* no campaign (or no instance yet) */
		rc = 0;
		goto out;
	}
	if (r.rsc != 2000) {
		co_rfail(err, errlen, "campaign state", &r);
		goto out;
	}
	const char *con = co_jstr(json_object_get(r.body, "m2m:cin"), "con");
	json_error_t je;
	if (!con || strlen(con) > CO_STATE_MAX ||
	    !(*state = json_loads(con, JSON_REJECT_DUPLICATES, &je)) || co_campaign_check(*state, err, errlen) != 0) {
		if (!err[0])
			snprintf(err, errlen, "campaign state: not a JSON state document");
		json_decref(*state);
		*state = NULL;
		goto out;
	}
	if (strcmp(co_jstr(*state, "campaign"), cfg->campaign) != 0) {
		snprintf(err, errlen, "campaign state names another campaign");
		json_decref(*state);
		*state = NULL;
		goto out;
	}
	rc = 0;
out:
	m2m_result_clear(&r);
	return rc;
}

/* Create a container rn under parent; one that exists is fine. */
int co_ensure_cnt(m2m_client *in, const char *from, const char *parent, const char *rn, char *err, size_t errlen)
{
	m2m_result r;
	memset(&r, 0, sizeof(r));
	json_t *b = json_pack("{s:{s:s,s:i}}", "m2m:cnt", "rn", rn, "mni", 1000);
	int rc = -1;
	if (!b)
		snprintf(err, errlen, "out of memory");
	else if (m2m_do(in, M2M_OP_CREATE, parent, from, 3, b, NULL, &r) != 0 || (r.rsc != 2001 && r.rsc != 4105)) {
		char what[CO_ADDR_MAX + 64];
		snprintf(what, sizeof(what), "container %.200s/%.32s", parent, rn);
		co_rfail(err, errlen, what, &r);
	} else
		rc = 0;
	json_decref(b);
	m2m_result_clear(&r);
	return rc;
}

int co_campaign_save(m2m_client *in, const struct co_config *cfg, json_t *state, char *err, size_t errlen)
{
	char ae[CO_ADDR_MAX], camps[CO_ADDR_MAX], camp[CO_ADDR_MAX];
	snprintf(ae, sizeof(ae), "%s/%s", cfg->cse_rn, cfg->originator);
	campaign_addr(cfg, camps, sizeof(camps), false);
	campaign_addr(cfg, camp, sizeof(camp), true);
	json_object_set_new(state, "updated", json_integer((json_int_t)time(NULL)));
	char *con = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	if (!con) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = -1;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	json_t *b = NULL;
	if (strlen(con) > CO_STATE_MAX) {
		snprintf(err, errlen, "campaign state above %u bytes", CO_STATE_MAX);
		goto out;
	}
	if (co_ensure_cnt(in, cfg->originator, ae, "campaigns", err, errlen) != 0 ||
	    co_ensure_cnt(in, cfg->originator, camps, cfg->campaign, err, errlen) != 0)
		goto out;
	b = json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", con);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (m2m_do(in, M2M_OP_CREATE, camp, cfg->originator, 4, b, NULL, &r) != 0 || r.rsc != 2001) {
		co_rfail(err, errlen, "storing the campaign state", &r);
		goto out;
	}
	rc = 0;
out:
	json_decref(b);
	free(con);
	m2m_result_clear(&r);
	return rc;
}

/* ---- status of one device ---------------------------------------------------- */

void co_set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v ? json_string(v) : json_null());
}

bool co_status_from_fw(json_t *dev, const json_t *fwr, const char *why)
{
	char old_status[16], old_reason[CO_ERR_MAX + 64];
	snprintf(old_status, sizeof(old_status), "%s", co_jstr(dev, "status") ? co_jstr(dev, "status") : "");
	snprintf(old_reason, sizeof(old_reason), "%s", co_jstr(dev, "reason") ? co_jstr(dev, "reason") : "");
	const char *status = old_status, *reason = old_reason;
	char buf[CO_ERR_MAX + 64];
	const json_t *uds = json_object_get(fwr, "uds");
	json_int_t sus = json_integer_value(json_object_get(uds, "sus"));
	const char *vr = co_jstr(fwr, "vr"), *dc = co_jstr(fwr, "dc"), *url = co_jstr(fwr, "url");
	const char *pkg = co_jstr(dev, "package"), *target = co_jstr(dev, "target");
	if (!fwr && (strcmp(old_status, "successful") == 0 || strcmp(old_status, "failed") == 0))
		return false; /* a final status stays; the gateway may be offline now */
	if (strcmp(old_status, "informed") == 0 &&
	    (!fwr || !url || !pkg || strcmp(url, pkg) != 0 || (sus != 1 && sus != 2 && sus != 3)))
		return false; /* staged; the manufacturer has not launched it (yet) */
	if (!fwr) {
		snprintf(buf, sizeof(buf), "firmware not readable: %.200s", why ? why : "?");
		reason = buf;
	} else {
		if (vr && strlen(vr) <= CO_STR_MAX)
			co_set_str(dev, "after", vr);
		bool ours = url && pkg && strcmp(url, pkg) == 0;
		if (!ours && !(target && vr && strcmp(vr, target) == 0)) {
			/* another operation took over the firmware; keep what we knew */
			snprintf(buf, sizeof(buf), "firmware now holds another package");
			reason = buf;
		} else if (sus == 1 || (!ours && vr && target && strcmp(vr, target) == 0)) {
			status = "successful";
			snprintf(buf, sizeof(buf), "%.200s", dc && strlen(dc) <= CO_ERR_MAX ? dc : "ok");
			reason = buf;
		} else if (sus == 2) {
			status = "failed";
			snprintf(buf, sizeof(buf), "%.400s", dc && strlen(dc) <= CO_ERR_MAX ? dc : "failed (no dc)");
			reason = buf;
		} else if (sus == 3 && strcmp(old_status, "in-process") != 0) {
			status = "in-process";
			snprintf(buf, sizeof(buf), "update in process");
			reason = buf;
		}
	}
	bool changed = strcmp(status, old_status) != 0 || strcmp(reason, old_reason) != 0;
	if (changed) {
		json_object_set_new(dev, "status", json_string(status));
		json_object_set_new(dev, "reason", json_string(reason));
	}
	return changed;
}

json_t *co_status_row(const json_t *d)
{
	json_t *after = json_object_get(d, "after");
	const char *st = co_jstr(d, "status");
	if (!after && st && strcmp(st, "current") == 0)
		after = json_object_get(d, "before");
	return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "device", json_object_get(d, "device"), "manufacturer",
	                 json_object_get(d, "manufacturer"), "model", json_object_get(d, "model"), "trust",
	                 json_object_get(d, "trust"), "before", json_object_get(d, "before"), "after",
	                 after ? after : json_null(), "status", json_object_get(d, "status"), "reason",
	                 json_object_get(d, "reason"));
}

/* Read the device's firmware at its gateway through the IN. */
json_t *co_read_fw(m2m_client *in, const struct co_config *cfg, const char *fw, char *why, size_t whylen)
{
	m2m_result r;
	memset(&r, 0, sizeof(r));
	json_t *out = NULL;
	if (!fw || fw[0] != '/')
		snprintf(why, whylen, "no firmware address");
	else if (m2m_do(in, M2M_OP_RETRIEVE, fw, cfg->originator, -1, NULL, NULL, &r) != 0 || r.rsc != 2000)
		co_rfail(why, whylen, fw, &r);
	else if (!json_is_object(json_object_get(r.body, "m2m:fwr")))
		snprintf(why, whylen, "%.200s: not a firmware", fw);
	else
		out = json_incref(json_object_get(r.body, "m2m:fwr"));
	m2m_result_clear(&r);
	return out;
}

/* ---- launch ---------------------------------------------------------------------- */

json_t *co_find_dev(const json_t *state, const char *ni)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(state, "devices"), i, d) {
		const char *s = co_jstr(d, "device");
		if (s && strcmp(s, ni) == 0)
			return d;
	}
	return NULL;
}

int64_t co_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void co_sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* The package instance's name: <campaign>-<ni with other characters as '_'>. */
void co_package_rn(const struct co_config *cfg, const char *ni, char *out, size_t n)
{
	int k = snprintf(out, n, "%s-", cfg->campaign);
	for (size_t i = 0; ni[i] && k > 0 && (size_t)k + 1 < n; i++) {
		char ch = ni[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		          ch == '_' || ch == '-';
		out[k++] = ok ? ch : '_';
	}
	if (k > 0 && (size_t)k < n)
		out[k] = '\0';
}

/* Sign and store the package of one device at its gateway (pkg: its
 * address); then, when start, Update the device's firmware with it. */
int co_launch_one(m2m_client *in, const struct co_config *cfg, const hs_key *op, const struct co_device *d,
                  const struct co_model *m, const char *pkg, bool start, char *err, size_t errlen)
{
	int rc = -1;
	const char *reason = NULL;
	char mh[HS_KID_LEN + 1], gwid[CO_STR_MAX + 2], cnt[CO_ADDR_MAX + 32];
	char *asg = NULL, *con = NULL;
	json_t *ap = NULL, *pc = NULL, *cin = NULL, *upd = NULL;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	snprintf(gwid, sizeof(gwid), "/%s", d->gateway);
	snprintf(cnt, sizeof(cnt), "%s/%s", d->gw_cb, CO_PKG_CNT);
	time_t now = time(NULL);
	if (hs_manifest_hash(m->jws, mh) != 0) {
		snprintf(err, errlen, "manifest hash failed");
		goto out;
	}
	ap = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:I}", "v", 1, "manifest", mh, "device", d->ni, "gateway", gwid,
	               "campaign", cfg->campaign, "iat", (json_int_t)now - 60, "exp", (json_int_t)now + CO_ASSIGN_TTL);
	if (!ap || !(asg = hs_assignment_sign(op, ap, &reason))) {
		snprintf(err, errlen, "assignment: %s", reason ? reason : "out of memory");
		goto out;
	}
	pc = json_pack("{s:s,s:s,s:s}", "manifest", m->jws, "assignment", asg, "image", m->image);
	con = pc ? json_dumps(pc, JSON_COMPACT) : NULL;
	const char *rn = strrchr(pkg, '/') + 1;
	cin = con ? json_pack("{s:{s:s,s:s,s:s}}", "m2m:cin", "rn", rn, "cnf", "application/json:0", "con", con) : NULL;
	if (!cin) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (co_ensure_cnt(in, cfg->originator, d->gw_cb, CO_PKG_CNT, err, errlen) != 0)
		goto out;
	/* 4105: the package of an earlier, interrupted launch is still there:
	   it names the same manifest, device and gateway, so it is used */
	if (m2m_do(in, M2M_OP_CREATE, cnt, cfg->originator, 4, cin, NULL, &r) != 0 || (r.rsc != 2001 && r.rsc != 4105)) {
		co_rfail(err, errlen, "storing the update package", &r);
		goto out;
	}
	m2m_result_clear(&r);
	if (!start) {
		rc = 0;
		goto out;
	}
	upd = json_pack("{s:{s:s,s:b}}", "m2m:fwr", "url", pkg, "ud", 1);
	if (!upd) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (m2m_do(in, M2M_OP_UPDATE, d->fw, cfg->originator, -1, upd, NULL, &r) != 0 || r.rsc != 2004) {
		co_rfail(err, errlen, "firmware update", &r);
		goto out;
	}
	rc = 0;
out:
	free(asg);
	free(con);
	json_decref(ap);
	json_decref(pc);
	json_decref(cin);
	json_decref(upd);
	m2m_result_clear(&r);
	return rc;
}


bool co_is_status(const json_t *e, const char *s)
{
	const char *v = co_jstr(e, "status");
	return v && strcmp(v, s) == 0;
}

/* ---- status ---------------------------------------------------------------------- */

int co_status(m2m_client *in, const struct co_config *cfg, json_t *out_rows, char *err, size_t errlen)
{
	json_t *state = NULL;
	if (co_campaign_load(in, cfg, &state, err, errlen) != 0)
		return -1;
	if (!state) {
		snprintf(err, errlen, "no campaign '%s' at the IN-CSE", cfg->campaign);
		return -1;
	}
	int rc = -1;
	bool changed = false;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(state, "devices"), i, e) {
		if (json_is_true(json_object_get(e, "launched")) || co_is_status(e, "informed") || co_is_status(e, "in-process")) {
			char why[CO_ERR_MAX] = "";
			json_t *fw = co_read_fw(in, cfg, co_jstr(e, "firmware"), why, sizeof(why));
			changed = co_status_from_fw(e, fw, why) || changed;
			json_decref(fw);
		}
		json_t *row = co_status_row(e);
		if (!row || json_array_append_new(out_rows, row) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (changed && co_campaign_save(in, cfg, state, err, errlen) != 0)
		goto out;
	const char *phase = co_jstr(state, "phase");
	printf("campaign %s: %s%s%s\n", cfg->campaign, phase ? phase : "running",
	       co_jstr(state, "halt_reason") ? ": " : "", co_jstr(state, "halt_reason") ? co_jstr(state, "halt_reason") : "");
	rc = 0;
out:
	json_decref(state);
	return rc;
}
