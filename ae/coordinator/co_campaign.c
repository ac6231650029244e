/*
 * co_campaign.c - launch and status of an update campaign.
 *
 * launch: for each eligible device of the plan (action "update") the
 * coordinator signs an assignment with the operator key (this manifest,
 * the device's ni, its gateway's CSE-ID), stores the update package
 * {"manifest","assignment","image"} as a contentInstance in the container
 * hearth-updates under the gateway's CSEBase (through the IN, retargeted),
 * and Updates the device's firmware at the gateway with url = that
 * instance and ud = true (mgmtobj/README.md "Verified updates").
 *
 * The campaign state lives at the IN (coord.h): the state is written after
 * every device started, so a coordinator stopped half-way resumes without
 * starting a device twice: a device marked launched is skipped, and a
 * device whose firmware at the gateway already runs (or ran) this
 * campaign's package is recorded as launched without a new Update.
 *
 * status: the latest state, and for each launched device its firmware at
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
#define CO_PKG_CNT "hearth-updates"
/* a package address: <gateway CSEBase>/hearth-updates/<campaign>-<ni> */
#define CO_PKG_MAX (CO_ADDR_MAX + sizeof(CO_PKG_CNT) + CO_CAMPAIGN_MAX + CO_STR_MAX + 4)

static const char *const STATUSES[] = { "pending",  "in-process",       "successful", "failed",  "blocked",
	                                 "current", "awaiting-consent", "refused",    "informed" };

static int rfail(char *err, size_t errlen, const char *what, const m2m_result *r)
{
	if (r->http_status == 0)
		snprintf(err, errlen, "%s: %s", what, r->error);
	else
		snprintf(err, errlen, "%s: rsc %d", what, r->rsc);
	return -1;
}

static const char *jstr(const json_t *o, const char *k)
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
	const char *mode = jstr(p, "mode"), *np = jstr(p, "no_policy");
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
	const char *phase = jstr(state, "phase");
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
			known = known || (jstr(d, "status") && strcmp(jstr(d, "status"), STATUSES[k]) == 0);
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
		rfail(err, errlen, "campaign state", &r);
		goto out;
	}
	if (r.rsc == 4004) { /* no campaign (or no instance yet) */
		rc = 0;
		goto out;
	}
	if (r.rsc != 2000) {
		rfail(err, errlen, "campaign state", &r);
		goto out;
	}
	const char *con = jstr(json_object_get(r.body, "m2m:cin"), "con");
	json_error_t je;
	if (!con || strlen(con) > CO_STATE_MAX ||
	    !(*state = json_loads(con, JSON_REJECT_DUPLICATES, &je)) || co_campaign_check(*state, err, errlen) != 0) {
		if (!err[0])
			snprintf(err, errlen, "campaign state: not a JSON state document");
		json_decref(*state);
		*state = NULL;
		goto out;
	}
	if (strcmp(jstr(*state, "campaign"), cfg->campaign) != 0) {
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
static int ensure_cnt(m2m_client *in, const char *from, const char *parent, const char *rn, char *err, size_t errlen)
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
		rfail(err, errlen, what, &r);
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
	if (ensure_cnt(in, cfg->originator, ae, "campaigns", err, errlen) != 0 ||
	    ensure_cnt(in, cfg->originator, camps, cfg->campaign, err, errlen) != 0)
		goto out;
	b = json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", con);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (m2m_do(in, M2M_OP_CREATE, camp, cfg->originator, 4, b, NULL, &r) != 0 || r.rsc != 2001) {
		rfail(err, errlen, "storing the campaign state", &r);
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

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v ? json_string(v) : json_null());
}

bool co_status_from_fw(json_t *dev, const json_t *fwr, const char *why)
{
	char old_status[16], old_reason[CO_ERR_MAX + 64];
	snprintf(old_status, sizeof(old_status), "%s", jstr(dev, "status") ? jstr(dev, "status") : "");
	snprintf(old_reason, sizeof(old_reason), "%s", jstr(dev, "reason") ? jstr(dev, "reason") : "");
	const char *status = old_status, *reason = old_reason;
	char buf[CO_ERR_MAX + 64];
	const json_t *uds = json_object_get(fwr, "uds");
	json_int_t sus = json_integer_value(json_object_get(uds, "sus"));
	const char *vr = jstr(fwr, "vr"), *dc = jstr(fwr, "dc"), *url = jstr(fwr, "url");
	const char *pkg = jstr(dev, "package"), *target = jstr(dev, "target");
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
			set_str(dev, "after", vr);
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
	const char *st = jstr(d, "status");
	if (!after && st && strcmp(st, "current") == 0)
		after = json_object_get(d, "before");
	return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "device", json_object_get(d, "device"), "manufacturer",
	                 json_object_get(d, "manufacturer"), "model", json_object_get(d, "model"), "trust",
	                 json_object_get(d, "trust"), "before", json_object_get(d, "before"), "after",
	                 after ? after : json_null(), "status", json_object_get(d, "status"), "reason",
	                 json_object_get(d, "reason"));
}

/* Read the device's firmware at its gateway through the IN. */
static json_t *read_fw(m2m_client *in, const struct co_config *cfg, const char *fw, char *why, size_t whylen)
{
	m2m_result r;
	memset(&r, 0, sizeof(r));
	json_t *out = NULL;
	if (!fw || fw[0] != '/')
		snprintf(why, whylen, "no firmware address");
	else if (m2m_do(in, M2M_OP_RETRIEVE, fw, cfg->originator, -1, NULL, NULL, &r) != 0 || r.rsc != 2000)
		rfail(why, whylen, fw, &r);
	else if (!json_is_object(json_object_get(r.body, "m2m:fwr")))
		snprintf(why, whylen, "%.200s: not a firmware", fw);
	else
		out = json_incref(json_object_get(r.body, "m2m:fwr"));
	m2m_result_clear(&r);
	return out;
}

/* ---- launch ---------------------------------------------------------------------- */

static json_t *find_dev(const json_t *state, const char *ni)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(state, "devices"), i, d) {
		const char *s = jstr(d, "device");
		if (s && strcmp(s, ni) == 0)
			return d;
	}
	return NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* The package instance's name: <campaign>-<ni with other characters as '_'>. */
static void package_rn(const struct co_config *cfg, const char *ni, char *out, size_t n)
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
static int launch_one(m2m_client *in, const struct co_config *cfg, const hs_key *op, const struct co_device *d,
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
	if (ensure_cnt(in, cfg->originator, d->gw_cb, CO_PKG_CNT, err, errlen) != 0)
		goto out;
	/* 4105: the package of an earlier, interrupted launch is still there:
	   it names the same manifest, device and gateway, so it is used */
	if (m2m_do(in, M2M_OP_CREATE, cnt, cfg->originator, 4, cin, NULL, &r) != 0 || (r.rsc != 2001 && r.rsc != 4105)) {
		rfail(err, errlen, "storing the update package", &r);
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
		rfail(err, errlen, "firmware update", &r);
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


/* ---- waves and windows ------------------------------------------------------------- */

size_t co_wave_of(size_t j, size_t n, const unsigned *waves, size_t nw)
{
	for (size_t k = 0; k < nw; k++)
		if (j < ((size_t)waves[k] * n + 99) / 100)
			return k;
	return nw ? nw - 1 : 0;
}

bool co_window_open(int start, int end, int m)
{
	if (start < 0 || end < 0)
		return true;
	return start < end ? m >= start && m < end : m >= start || m < end;
}

static json_t *new_entry(const struct co_device *d, const json_t *row)
{
	const char *action = jstr(row, "action"), *latest = jstr(row, "latest"), *crit = jstr(row, "criticality");
	const char *status = strcmp(action ? action : "", "update") == 0 ? "pending"
	                     : strcmp(action ? action : "", "none") == 0 ? "current"
	                                                                   : "blocked";
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:n,s:n,s:b,s:s,s:s,s:o}", "device", d->ni, "gateway",
	                 d->gateway, "firmware", d->fw, "manufacturer", d->man, "model", d->mod, "trust", d->trust,
	                 "before", d->fwv, "target", latest ? json_string(latest) : json_null(), "manifest", "package",
	                 "launched", 0, "status", status, "reason", jstr(row, "reason") ? jstr(row, "reason") : "",
	                 "criticality", crit ? json_string(crit) : json_null());
}

/* ---- the campaign engine ----------------------------------------------------------------
 *
 * One launch run: merge the plan into the state, give every eligible device
 * a wave, then in rounds until nothing more can happen in this run:
 *   track   read the firmware of devices in process (those a notification
 *           names, all of them at the start and every CO_FULL_READ_MS);
 *   halt    when failed * 100 >= failure_threshold * started;
 *   consent for the devices of the current wave (co_consent_decide);
 *   advance to the next wave once no device of this one is in process or
 *           startable, if successful * 100 >= success_rate * finished,
 *           else halt;
 *   start   the startable devices of the current wave, inside the window,
 *           spaced by the rate limit, each after subscribing to its
 *           firmware;
 *   wait    for notifications.
 * The state is stored after every device started and at the end of every
 * round that changed it. */

#define CO_FULL_READ_MS 15000
#define CO_WAIT_SLICE_MS 5000
#define CO_NOTIFIED_MAX 64

typedef struct engine {
	m2m_client *in;
	const struct co_config *cfg;
	const struct co_inventory *inv;
	const struct co_vendor_data *const *vdev;
	hs_key *op;
	json_t *state, *devs, *policy;
	json_t **ent; /* inventory index -> its entry in state (borrowed) */
	struct co_home *homes; /* per gateway, reloaded every round */
	size_t nhomes;
	struct co_listener *lis;
	char nu[CO_STR_MAX + 2];
	int64_t last_start;
	size_t started, informed;
	bool dirty;
} engine;

static json_int_t pol_int(const engine *E, const char *k)
{
	return json_integer_value(json_object_get(E->policy, k));
}

static const char *pol_str(const engine *E, const char *k)
{
	return jstr(E->policy, k);
}

static json_t *policy_from_cfg(const struct co_config *cfg)
{
	json_t *w = json_array(), *p = NULL;
	for (size_t i = 0; w && i < cfg->nwaves; i++)
		json_array_append_new(w, json_integer(cfg->waves[i]));
	json_t *win = cfg->window_start >= 0 ? json_pack("[i,i]", cfg->window_start, cfg->window_end) : json_null();
	if (w && win)
		p = json_pack("{s:o,s:i,s:i,s:o,s:s,s:s}", "waves", w, "success_rate", (int)cfg->success_rate,
		              "failure_threshold", (int)cfg->failure_threshold, "window", win, "mode", cfg->mode,
		              "no_policy", cfg->no_policy);
	else {
		json_decref(w);
		json_decref(win);
	}
	return p;
}

static bool is_status(const json_t *e, const char *s)
{
	const char *v = jstr(e, "status");
	return v && strcmp(v, s) == 0;
}

static void set_status(engine *E, json_t *e, const char *status, const char *reason)
{
	if (!is_status(e, status) || !jstr(e, "reason") || strcmp(jstr(e, "reason"), reason) != 0) {
		set_str(e, "status", status);
		set_str(e, "reason", reason);
		E->dirty = true;
	}
}

static long entry_wave(const json_t *e)
{
	const json_t *w = json_object_get(e, "wave");
	return json_is_integer(w) ? (long)json_integer_value(w) : -1;
}

static const struct co_model *model_of(const engine *E, size_t i)
{
	const struct co_vendor_data *vd = E->vdev[i];
	for (size_t k = 0; vd && k < vd->nmodels; k++)
		if (strcmp(vd->model[k].model, E->inv->dev[i].mod) == 0 && vd->model[k].manifest)
			return &vd->model[k];
	return NULL;
}

/* The plan into the state: devices already started, refused or informed
   keep their entry; the others are refreshed from the plan. */
static int merge(engine *E, const json_t *plan, char *err, size_t errlen)
{
	for (size_t i = 0; i < E->inv->n; i++) {
		const struct co_device *d = &E->inv->dev[i];
		if (!d->ni[0])
			continue;
		json_t *e = find_dev(E->state, d->ni);
		if (e && (json_is_true(json_object_get(e, "launched")) || is_status(e, "refused") ||
		          is_status(e, "informed"))) {
			E->ent[i] = e;
			continue;
		}
		json_t *ne = new_entry(d, json_array_get(plan, i));
		if (!ne) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		const struct co_model *m = model_of(E, i);
		if (is_status(ne, "pending") && m && m->jws && d->gw_cb[0]) {
			char mh[HS_KID_LEN + 1] = "", rn[CO_CAMPAIGN_MAX + CO_STR_MAX + 2], pkg[CO_PKG_MAX + 1];
			hs_manifest_hash(m->jws, mh);
			package_rn(E->cfg, d->ni, rn, sizeof(rn));
			snprintf(pkg, sizeof(pkg), "%s/%s/%s", d->gw_cb, CO_PKG_CNT, rn);
			set_str(ne, "manifest", mh);
			set_str(ne, "package", pkg);
		}
		if (e) {
			/* another manifest than the user was asked about: ask again */
			const char *om = jstr(e, "manifest"), *nm = jstr(ne, "manifest");
			if (!om || !nm || strcmp(om, nm) != 0)
				json_object_del(e, "asked");
			json_object_update(e, ne);
			json_decref(ne);
		} else {
			if (json_array_size(E->devs) >= CO_DEVICES_MAX || json_array_append_new(E->devs, ne) != 0) {
				snprintf(err, errlen, "campaign state: too many devices");
				return -1;
			}
			e = ne;
		}
		E->ent[i] = e;
		E->dirty = true;
	}
	/* waves: the j-th of the n devices ever eligible, in inventory order */
	size_t n = 0, j = 0, idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e)
		n += entry_wave(e) >= 0 || is_status(e, "pending") || is_status(e, "awaiting-consent");
	unsigned waves[CO_WAVES_MAX];
	size_t nw = json_array_size(json_object_get(E->policy, "waves"));
	for (size_t k = 0; k < nw; k++)
		waves[k] = (unsigned)json_integer_value(json_array_get(json_object_get(E->policy, "waves"), k));
	json_array_foreach(E->devs, idx, e) {
		if (entry_wave(e) >= 0)
			j++;
		else if (is_status(e, "pending") || is_status(e, "awaiting-consent")) {
			json_object_set_new(e, "wave", json_integer((json_int_t)co_wave_of(j++, n, waves, nw)));
			E->dirty = true;
		}
	}
	return 0;
}

static void delete_sub(engine *E, json_t *e)
{
	const char *sub = jstr(e, "sub");
	if (!sub)
		return;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	m2m_do(E->in, M2M_OP_DELETE, sub, E->cfg->originator, -1, NULL, NULL, &r);
	m2m_result_clear(&r);
	json_object_set_new(e, "sub", json_null());
	E->dirty = true;
}

static bool is_final(const json_t *e)
{
	return is_status(e, "successful") || is_status(e, "failed");
}

/* Read the firmware of followed devices: all, or those notified. */
static void track(engine *E, bool all, char (*ris)[CO_STR_MAX + 1], size_t nri)
{
	size_t idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e) {
		/* started by this campaign, or staged for the manufacturer (who may
		   have started it: then in-process without launched) */
		bool followed = is_status(e, "in-process") || is_status(e, "informed");
		if (!followed)
			continue;
		const char *fw = jstr(e, "firmware");
		bool hit = all;
		for (size_t k = 0; !hit && fw && k < nri; k++) {
			size_t fl = strlen(fw), rl = strlen(ris[k]);
			hit = fl > rl && strcmp(fw + fl - rl, ris[k]) == 0 && fw[fl - rl - 1] == '/';
		}
		if (!hit)
			continue;
		char why[CO_ERR_MAX] = "";
		json_t *fwr = read_fw(E->in, E->cfg, fw, why, sizeof(why));
		if (co_status_from_fw(e, fwr, why))
			E->dirty = true;
		json_decref(fwr);
		if (is_final(e))
			delete_sub(E, e);
	}
}

typedef struct tally {
	size_t started, ok, failed, running, awaiting;
} tally;

static tally count(const engine *E)
{
	tally t = { 0 };
	size_t idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e) {
		bool launched = json_is_true(json_object_get(e, "launched"));
		if (launched || is_status(e, "failed"))
			t.started++;
		t.ok += launched && is_status(e, "successful");
		t.failed += is_status(e, "failed");
		t.running += launched && is_status(e, "in-process");
		t.awaiting += is_status(e, "awaiting-consent");
	}
	return t;
}

static void halt(engine *E, const char *why)
{
	set_str(E->state, "phase", "halted");
	set_str(E->state, "halt_reason", why);
	char r[CO_ERR_MAX + 32];
	snprintf(r, sizeof(r), "campaign halted: %.400s", why);
	size_t idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e)
		if (!json_is_true(json_object_get(e, "launched")) &&
		    (is_status(e, "pending") || is_status(e, "awaiting-consent")))
			set_status(E, e, "pending", r);
	E->dirty = true;
	fprintf(stderr, "hearth-coordinator: campaign %s halted: %s\n", E->cfg->campaign, why);
}

static struct co_home *home_of(engine *E, size_t i)
{
	const struct co_device *d = &E->inv->dev[i];
	for (size_t k = 0; k < E->nhomes; k++)
		if (strcmp(E->homes[k].gateway, d->gateway) == 0)
			return &E->homes[k];
	struct co_home *h = &E->homes[E->nhomes++]; /* at most one per device */
	if (co_home_load(E->in, E->cfg, d, h) != 0)
		fprintf(stderr, "hearth-coordinator: %s\n", h->error);
	return h;
}

static void iso(time_t t, char *buf, size_t n)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The consent for a pending or awaiting device of the current wave. */
static co_consent consent(engine *E, size_t i, json_t *e)
{
	const struct co_device *d = &E->inv->dev[i];
	struct co_home *h = home_of(E, i);
	char r[CO_ERR_MAX + 128];
	if (h->error[0]) {
		snprintf(r, sizeof(r), "consent unknown: %.400s", h->error);
		set_status(E, e, "awaiting-consent", r);
		return CO_CONSENT_WAIT;
	}
	time_t now = time(NULL), auto_at = 0;
	json_int_t asked = json_integer_value(json_object_get(e, "asked"));
	const char *why = "";
	co_consent c = co_consent_decide(h->has_policy ? &h->policy : NULL, pol_str(E, "no_policy"), jstr(e, "criticality"), jstr(e, "manifest"),
	                                 asked ? (time_t)asked : now, now, &auto_at, &why);
	if (c == CO_CONSENT_REFUSED) {
		set_status(E, e, "refused", why);
		return c;
	}
	if (c == CO_CONSENT_GO) {
		if (is_status(e, "awaiting-consent"))
			set_status(E, e, "pending", why);
		return c;
	}
	if (!asked && h->has_policy && h->requests_addr[0]) {
		char perr[CO_ERR_MAX] = "";
		json_t *req = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:I,s:o}", "v", 1, "kind", "consent",
		                        "campaign", E->cfg->campaign, "device", d->ni, "manufacturer", d->man, "model",
		                        d->mod, "from", d->fwv, "to", json_object_get(e, "target"), "manifest",
		                        json_object_get(e, "manifest"), "criticality", json_object_get(e, "criticality"),
		                        "asked", (json_int_t)now, "auto_at",
		                        auto_at ? json_integer((json_int_t)auto_at) : json_null());
		if (req && co_consent_post(E->in, E->cfg, h, req, perr, sizeof(perr)) == 0) {
			json_object_set_new(e, "asked", json_integer((json_int_t)now));
			E->dirty = true;
		} else
			fprintf(stderr, "hearth-coordinator: %s: %s\n", d->ni, perr[0] ? perr : "out of memory");
		json_decref(req);
	}
	if (auto_at) {
		char when[32];
		iso(auto_at, when, sizeof(when));
		snprintf(r, sizeof(r), "%s (at %s)", why, when);
	} else
		snprintf(r, sizeof(r), "%s", why);
	set_status(E, e, "awaiting-consent", r);
	return c;
}

/* Consent of the devices of waves up to w. */
static void consent_pass(engine *E, long w)
{
	for (size_t i = 0; i < E->inv->n; i++) {
		json_t *e = E->ent[i];
		if (e && !json_is_true(json_object_get(e, "launched")) && entry_wave(e) >= 0 && entry_wave(e) <= w &&
		    (is_status(e, "pending") || is_status(e, "awaiting-consent")))
			consent(E, i, e);
	}
}

/* No device of waves up to w in process or waiting to be started. */
static bool wave_done(const engine *E, long w)
{
	size_t idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e) {
		if (entry_wave(e) < 0 || entry_wave(e) > w)
			continue;
		if (is_status(e, "in-process") || (is_status(e, "pending") && !json_is_true(json_object_get(e, "launched"))))
			return false;
	}
	return true;
}

static int subscribe(engine *E, const struct co_device *d, json_t *e)
{
	char rn[CO_CAMPAIGN_MAX + 8];
	snprintf(rn, sizeof(rn), "hearth-%s", E->cfg->campaign);
	json_t *b = json_pack("{s:{s:s,s:[s],s:{s:[i]},s:i}}", "m2m:sub", "rn", rn, "nu", E->nu, "enc", "net", 1, "nct",
	                      1);
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (b && m2m_do(E->in, M2M_OP_CREATE, d->fw, E->cfg->originator, 23, b, NULL, &r) == 0 &&
	    (r.rsc == 2001 || r.rsc == 4105)) {
		const char *ri = jstr(json_object_get(r.body, "m2m:sub"), "ri");
		char addr[CO_ADDR_MAX];
		if (r.rsc == 2001 && ri && strlen(ri) < CO_STR_MAX) {
			if (ri[0] == '/')
				snprintf(addr, sizeof(addr), "%s", ri);
			else
				snprintf(addr, sizeof(addr), "/%s/%s", d->gateway, ri);
			set_str(e, "sub", addr);
		}
		rc = 0;
	} else
		fprintf(stderr, "hearth-coordinator: %s: subscription to the firmware failed (rsc %d); polling it\n", d->ni,
		        r.rsc);
	json_decref(b);
	m2m_result_clear(&r);
	return rc;
}

/* Inform mode: a notice for the manufacturer's update service, at the IN
 * in <cse-rn>/<originator>/notices/<vendor> (created when missing), a
 * container whose policy lets the coordinator do everything and the
 * vendor's originator retrieve and discover (acop 34), nothing else. */
static int vendor_notice(engine *E, const struct co_vendor_cfg *vc, const json_t *notice, char *err, size_t errlen)
{
	const struct co_config *cfg = E->cfg;
	char ae[CO_ADDR_MAX], notices[CO_ADDR_MAX + 16], cnt[CO_ADDR_MAX + CO_STR_MAX + 32], acp_rn[CO_STR_MAX + 16];
	snprintf(ae, sizeof(ae), "%s/%s", cfg->cse_rn, cfg->originator);
	snprintf(notices, sizeof(notices), "%s/notices", ae);
	snprintf(cnt, sizeof(cnt), "%s/%s", notices, vc->name);
	snprintf(acp_rn, sizeof(acp_rn), "notice-%s-acp", vc->name);
	if (ensure_cnt(E->in, cfg->originator, ae, "notices", err, errlen) != 0)
		return -1;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	char *con = json_dumps(notice, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *acp = json_pack("{s:{s:s,s:{s:[{s:[s],s:i},{s:[s],s:i}]},s:{s:[{s:[s],s:i}]}}}", "m2m:acp", "rn", acp_rn,
	                        "pv", "acr", "acor", cfg->originator, "acop", 63, "acor", vc->originator, "acop", 34,
	                        "pvs", "acr", "acor", cfg->originator, "acop", 63);
	json_t *c = NULL, *cin = NULL;
	if (!con || !acp) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (m2m_do(E->in, M2M_OP_CREATE, ae, cfg->originator, 1, acp, NULL, &r) != 0 || (r.rsc != 2001 && r.rsc != 4105)) {
		rfail(err, errlen, "notice policy", &r);
		goto out;
	}
	if (r.rsc == 4105) { /* from an earlier notice: its ri */
		char to[CO_ADDR_MAX + CO_STR_MAX + 16];
		snprintf(to, sizeof(to), "%s/%s", ae, acp_rn);
		m2m_result_clear(&r);
		m2m_do(E->in, M2M_OP_RETRIEVE, to, cfg->originator, -1, NULL, NULL, &r);
	}
	const char *ri = jstr(json_object_get(r.body, "m2m:acp"), "ri");
	if (ri) {
		c = json_pack("{s:{s:s,s:[s],s:i}}", "m2m:cnt", "rn", vc->name, "acpi", ri, "mni", 1000);
		m2m_result_clear(&r);
		if (!c || m2m_do(E->in, M2M_OP_CREATE, notices, cfg->originator, 3, c, NULL, &r) != 0 ||
		    (r.rsc != 2001 && r.rsc != 4105)) {
			rfail(err, errlen, "notice container", &r);
			goto out;
		}
	}
	m2m_result_clear(&r);
	cin = json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", con);
	if (!cin || m2m_do(E->in, M2M_OP_CREATE, cnt, cfg->originator, 4, cin, NULL, &r) != 0 || r.rsc != 2001) {
		rfail(err, errlen, "vendor notice", &r);
		goto out;
	}
	rc = 0;
out:
	free(con);
	json_decref(acp);
	json_decref(c);
	json_decref(cin);
	m2m_result_clear(&r);
	return rc;
}

/* Start (install) or stage and inform (inform) device i. */
static int start_one(engine *E, size_t i, json_t *e, char *err, size_t errlen)
{
	const struct co_device *d = &E->inv->dev[i];
	const struct co_model *m = model_of(E, i);
	bool inform = strcmp(pol_str(E, "mode"), "inform") == 0;
	const char *pkg = jstr(e, "package");
	char why[CO_ERR_MAX] = "";
	if (!m || !m->jws || !m->image[0] || !d->fw[0] || !pkg) {
		set_status(E, e, "blocked",
		           !m || !m->image[0] ? "no image URL in the vendor's catalog" : "no firmware or gateway CSEBase address");
		return 0;
	}
	/* the gateway's view first: this package already running or done (a
	   launch interrupted before its state was stored), or another
	   operation in process */
	json_t *fw = read_fw(E->in, E->cfg, d->fw, why, sizeof(why));
	const char *url = jstr(fw, "url");
	json_int_t sus = json_integer_value(json_object_get(json_object_get(fw, "uds"), "sus"));
	if (fw && url && strcmp(url, pkg) == 0 && (sus == 1 || sus == 3)) {
		json_object_set_new(e, "launched", json_true());
		set_str(e, "status", "in-process");
		co_status_from_fw(e, fw, NULL);
		json_decref(fw);
		E->dirty = true;
		return 0;
	}
	bool busy = fw && sus == 3;
	json_decref(fw);
	if (busy) {
		set_status(E, e, "pending", "another firmware operation is in process at the gateway");
		return 0;
	}
	int64_t interval = E->cfg->max_per_minute ? 60000 / E->cfg->max_per_minute : 0;
	if (!inform && interval && E->started > 0 && now_ms() - E->last_start < interval)
		sleep_ms(interval - (now_ms() - E->last_start));
	E->last_start = now_ms();
	if (!inform)
		subscribe(E, d, e);
	if (launch_one(E->in, E->cfg, E->op, d, m, pkg, !inform, why, sizeof(why)) != 0) {
		char r2[CO_ERR_MAX + 32];
		snprintf(r2, sizeof(r2), "launch failed: %.400s", why);
		set_status(E, e, "failed", r2);
		delete_sub(E, e);
		fprintf(stderr, "hearth-coordinator: %s: %s\n", d->ni, r2);
		return co_campaign_save(E->in, E->cfg, E->state, err, errlen);
	}
	if (inform) {
		E->informed++;
		struct co_home *h = home_of(E, i);
		json_t *req = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:s,s:I,s:n}", "v", 1, "kind", "inform",
		                        "campaign", E->cfg->campaign, "device", d->ni, "manufacturer", d->man, "model",
		                        d->mod, "from", d->fwv, "to", json_object_get(e, "target"), "manifest",
		                        json_object_get(e, "manifest"), "criticality", json_object_get(e, "criticality"),
		                        "package", pkg, "asked", (json_int_t)time(NULL), "auto_at");
		char perr[CO_ERR_MAX] = "";
		bool told = req && !h->error[0] && co_consent_post(E->in, E->cfg, h, req, perr, sizeof(perr)) == 0;
		json_decref(req);
		const struct co_vendor_cfg *vc = co_config_vendor(E->cfg, d->man);
		json_t *note = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:O,s:O}", "v", 1, "campaign", E->cfg->campaign,
		                         "device", d->ni, "model", d->mod, "firmware", d->fw, "package", pkg, "manifest",
		                         json_object_get(e, "manifest"), "from", d->fwv, "to", json_object_get(e, "target"),
		                         "criticality", json_object_get(e, "criticality"));
		bool noted = note && vc && vc->originator[0] && vendor_notice(E, vc, note, perr, sizeof(perr)) == 0;
		json_decref(note);
		if (vc && vc->originator[0] && !noted)
			fprintf(stderr, "hearth-coordinator: %s: notice for %s not stored: %s\n", d->ni, vc->name, perr);
		char r2[160];
		snprintf(r2, sizeof(r2), "staged at the gateway; %s; %s", told ? "the user informed" : "no consent-requests in this home",
		         noted ? "the manufacturer notified to launch it" : "no notice for the manufacturer (no originator)");
		set_status(E, e, "informed", r2);
	} else {
		E->started++;
		json_object_set_new(e, "launched", json_true());
		set_status(E, e, "in-process", "update started");
	}
	E->dirty = false;
	return co_campaign_save(E->in, E->cfg, E->state, err, errlen);
}

static int start_wave(engine *E, long w, char *err, size_t errlen)
{
	const json_t *win = json_object_get(E->policy, "window");
	bool inform = strcmp(pol_str(E, "mode"), "inform") == 0;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	bool open = !json_is_array(win) || co_window_open((int)json_integer_value(json_array_get(win, 0)),
	                                                  (int)json_integer_value(json_array_get(win, 1)),
	                                                  tm.tm_hour * 60 + tm.tm_min);
	for (size_t i = 0; i < E->inv->n; i++) {
		json_t *e = E->ent[i];
		if (!e || json_is_true(json_object_get(e, "launched")) || !is_status(e, "pending") || entry_wave(e) < 0 ||
		    (!inform && entry_wave(e) > w))
			continue;
		if (!inform && consent(E, i, e) != CO_CONSENT_GO)
			continue;
		if (!open) {
			char r[96];
			json_int_t a = json_integer_value(json_array_get(win, 0)), b = json_integer_value(json_array_get(win, 1));
			snprintf(r, sizeof(r), "waiting for the maintenance window %02d:%02d-%02d:%02d UTC", (int)(a / 60),
			         (int)(a % 60), (int)(b / 60), (int)(b % 60));
			set_status(E, e, "pending", r);
			continue;
		}
		if (start_one(E, i, e, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* Waves: halt on failures, consent, advance while a wave is done. */
static void steer(engine *E)
{
	long nw = (long)json_array_size(json_object_get(E->policy, "waves"));
	for (;;) {
		tally t = count(E);
		if (t.failed > 0 && t.failed * 100 >= (size_t)pol_int(E, "failure_threshold") * t.started) {
			char why[160];
			snprintf(why, sizeof(why), "failure threshold: %zu of %zu started failed (threshold %d%%)", t.failed,
			         t.started, (int)pol_int(E, "failure_threshold"));
			halt(E, why);
			return;
		}
		long w = (long)json_integer_value(json_object_get(E->state, "wave"));
		consent_pass(E, w);
		if (w + 1 >= nw || !wave_done(E, w))
			return;
		size_t finished = t.ok + t.failed;
		if (finished > 0 && t.ok * 100 < (size_t)pol_int(E, "success_rate") * finished) {
			char why[160];
			snprintf(why, sizeof(why), "success rate %zu%% after wave %ld below %d%%", t.ok * 100 / finished, w + 1,
			         (int)pol_int(E, "success_rate"));
			halt(E, why);
			return;
		}
		json_object_set_new(E->state, "wave", json_integer(w + 1));
		E->dirty = true;
		printf("campaign %s: wave %ld of %ld\n", E->cfg->campaign, w + 2, nw);
	}
}

int co_launch(m2m_client *in, const struct co_config *cfg, const struct co_inventory *inv,
              const struct co_vendor_data *const *vdev, const json_t *plan, json_t *out_rows, char *err,
              size_t errlen)
{
	int rc = -1;
	const char *reason = NULL;
	engine E = { .in = in, .cfg = cfg, .inv = inv, .vdev = vdev };
	char ris[CO_NOTIFIED_MAX][CO_STR_MAX + 1];
	if (hs_key_load(cfg->operator_key, &E.op, &reason) != 0 || !hs_key_has_private(E.op)) {
		snprintf(err, errlen, "operator key %.200s: %s", cfg->operator_key, reason ? reason : "no private key");
		goto out;
	}
	E.ent = calloc(inv->n ? inv->n : 1, sizeof(*E.ent));
	E.homes = calloc(inv->n ? inv->n : 1, sizeof(*E.homes));
	if (!E.ent || !E.homes) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (co_campaign_load(in, cfg, &E.state, err, errlen) != 0)
		goto out;
	E.dirty = !E.state;
	if (!E.state && !(E.state = json_pack("{s:s,s:[],s:s,s:i}", "campaign", cfg->campaign, "devices", "phase",
	                                      "running", "wave", 0))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!json_object_get(E.state, "policy")) { /* new, or from before policies */
		json_t *p = policy_from_cfg(cfg);
		if (!p || json_object_set_new(E.state, "policy", p) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		E.dirty = true;
	}
	if (!json_object_get(E.state, "phase"))
		set_str(E.state, "phase", "running");
	E.policy = json_object_get(E.state, "policy");
	E.devs = json_object_get(E.state, "devices");
	bool inform = strcmp(pol_str(&E, "mode"), "inform") == 0;
	if (strcmp(jstr(E.state, "phase"), "halted") == 0) {
		printf("campaign %s is halted (%s); nothing started; start a new campaign\n", cfg->campaign,
		       jstr(E.state, "halt_reason") ? jstr(E.state, "halt_reason") : "?");
	} else {
		if (merge(&E, plan, err, errlen) != 0)
			goto out;
		if (strcmp(jstr(E.state, "phase"), "done") == 0 && !wave_done(&E, CO_WAVES_MAX))
			set_str(E.state, "phase", "running"); /* devices that became eligible since */
		if (!inform) {
			char host[64], poa[CO_ADDR_MAX];
			snprintf(host, sizeof(host), "%s", cfg->listen);
			char *colon = strrchr(host, ':');
			*colon = '\0';
			if (co_listener_start(&E.lis, host, (unsigned)atoi(colon + 1), poa, sizeof(poa), err, errlen) != 0 ||
			    co_set_poa(in, cfg, poa, err, errlen) != 0)
				goto out;
			snprintf(E.nu, sizeof(E.nu), "/%s/%s", cfg->cse_id, cfg->originator);
		}
		int64_t deadline = now_ms() + (int64_t)cfg->wait_s * 1000, last_full = now_ms();
		bool all = true;
		size_t nri = 0;
		for (;;) {
			for (size_t k = 0; k < E.nhomes; k++)
				co_home_clear(&E.homes[k]);
			E.nhomes = 0;
			track(&E, all, ris, nri);
			bool running = strcmp(jstr(E.state, "phase"), "running") == 0;
			if (running && !inform)
				steer(&E);
			running = strcmp(jstr(E.state, "phase"), "running") == 0;
			if (running && start_wave(&E, (long)json_integer_value(json_object_get(E.state, "wave")), err,
			                          errlen) != 0)
				goto out;
			tally t = count(&E);
			long nw = (long)json_array_size(json_object_get(E.policy, "waves"));
			if (running && (inform || (json_integer_value(json_object_get(E.state, "wave")) + 1 >= nw &&
			                           wave_done(&E, CO_WAVES_MAX) && t.awaiting == 0))) {
				set_str(E.state, "phase", "done");
				E.dirty = true;
			}
			if (E.dirty) {
				if (co_campaign_save(in, cfg, E.state, err, errlen) != 0)
					goto out;
				E.dirty = false;
			}
			if (t.running == 0 || inform)
				break; /* nothing this run can wait for: consent, the window, or done */
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				printf("campaign %s: %zu device(s) still in process; run launch or status again\n", cfg->campaign,
				       t.running);
				break;
			}
			nri = co_listener_wait(E.lis, left < CO_WAIT_SLICE_MS ? left : CO_WAIT_SLICE_MS, ris, CO_NOTIFIED_MAX,
			                       &all);
			if (now_ms() - last_full >= CO_FULL_READ_MS) {
				all = true;
				last_full = now_ms();
			}
		}
	}
	size_t i;
	json_t *e;
	json_array_foreach(E.devs, i, e) {
		json_t *row = co_status_row(e);
		if (!row || json_array_append_new(out_rows, row) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	tally t = count(&E);
	printf("campaign %s: %s, wave %d of %zu; %zu started now%s%zu informed now; %zu successful, %zu failed, %zu in "
	       "process, %zu awaiting consent; %lu notification(s)\n",
	       cfg->campaign, jstr(E.state, "phase"), (int)json_integer_value(json_object_get(E.state, "wave")) + 1,
	       json_array_size(json_object_get(E.policy, "waves")), E.started, ", ", E.informed, t.ok, t.failed,
	       t.running, t.awaiting, co_listener_received(E.lis));
	rc = 0;
out:
	co_listener_stop(&E.lis);
	for (size_t k = 0; E.homes && k < E.nhomes; k++)
		co_home_clear(&E.homes[k]);
	free(E.homes);
	free(E.ent);
	hs_key_free(&E.op);
	json_decref(E.state);
	return rc;
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
		if (json_is_true(json_object_get(e, "launched")) || is_status(e, "informed") || is_status(e, "in-process")) {
			char why[CO_ERR_MAX] = "";
			json_t *fw = read_fw(in, cfg, jstr(e, "firmware"), why, sizeof(why));
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
	const char *phase = jstr(state, "phase");
	printf("campaign %s: %s%s%s\n", cfg->campaign, phase ? phase : "running",
	       jstr(state, "halt_reason") ? ": " : "", jstr(state, "halt_reason") ? jstr(state, "halt_reason") : "");
	rc = 0;
out:
	json_decref(state);
	return rc;
}
