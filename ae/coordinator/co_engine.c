/*
 * co_engine.c - one `launch` run of a campaign: waves, thresholds, the
 * maintenance window, consent, notifications (README "Campaigns").
 *
 * A run merges the plan into the campaign state, gives every newly
 * eligible device a wave, then works in rounds until nothing more can
 * happen in this run:
 *   track   read the firmware of devices in process (those a notification
 *           names, all of them at the start and every CO_FULL_READ_MS);
 *   halt    when failed * 100 >= failure_threshold * started;
 *   consent for the devices of the current wave (co_consent_decide);
 *   advance to the next wave once no device of this one is in process or
 *           startable, if successful * 100 >= success_rate * finished,
 *           else halt;
 *   start   the startable devices of the current wave, inside the window,
 *           spaced by the rate limit, each after subscribing to its
 *           firmware (install mode), or staged and announced (inform);
 *   wait    for notifications (co_notify.c).
 * The state is stored after every device started and at the end of every
 * round that changed it, so a run killed at any point resumes without
 * starting a device twice (co_campaign.c).
 */
#include "ae/coordinator/coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	const char *action = co_jstr(row, "action"), *latest = co_jstr(row, "latest"), *crit = co_jstr(row, "criticality");
	const char *status = strcmp(action ? action : "", "update") == 0 ? "pending"
	                     : strcmp(action ? action : "", "none") == 0 ? "current"
	                                                                   : "blocked";
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:n,s:n,s:b,s:s,s:s,s:o}", "device", d->ni, "gateway",
	                 d->gateway, "firmware", d->fw, "manufacturer", d->man, "model", d->mod, "trust", d->trust,
	                 "before", d->fwv, "target", latest ? json_string(latest) : json_null(), "manifest", "package",
	                 "launched", 0, "status", status, "reason", co_jstr(row, "reason") ? co_jstr(row, "reason") : "",
	                 "criticality", crit ? json_string(crit) : json_null());
}

/* ---- the engine ---------------------------------------------------------------------- */

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
	return co_jstr(E->policy, k);
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

static void set_status(engine *E, json_t *e, const char *status, const char *reason)
{
	if (!co_is_status(e, status) || !co_jstr(e, "reason") || strcmp(co_jstr(e, "reason"), reason) != 0) {
		co_set_str(e, "status", status);
		co_set_str(e, "reason", reason);
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
		json_t *e = co_find_dev(E->state, d->ni);
		if (e && (json_is_true(json_object_get(e, "launched")) || co_is_status(e, "refused") ||
		          co_is_status(e, "informed"))) {
			E->ent[i] = e;
			continue;
		}
		json_t *ne = new_entry(d, json_array_get(plan, i));
		if (!ne) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		const struct co_model *m = model_of(E, i);
		if (co_is_status(ne, "pending") && m && m->jws && d->gw_cb[0]) {
			char mh[HS_KID_LEN + 1] = "", rn[CO_CAMPAIGN_MAX + CO_STR_MAX + 2], pkg[CO_PKG_MAX + 1];
			hs_manifest_hash(m->jws, mh);
			co_package_rn(E->cfg, d->ni, rn, sizeof(rn));
			snprintf(pkg, sizeof(pkg), "%s/%s/%s", d->gw_cb, CO_PKG_CNT, rn);
			co_set_str(ne, "manifest", mh);
			co_set_str(ne, "package", pkg);
		}
		if (e) {
			/* another manifest than the user was asked about: ask again */
			const char *om = co_jstr(e, "manifest"), *nm = co_jstr(ne, "manifest");
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
		n += entry_wave(e) >= 0 || co_is_status(e, "pending") || co_is_status(e, "awaiting-consent");
	unsigned waves[CO_WAVES_MAX];
	size_t nw = json_array_size(json_object_get(E->policy, "waves"));
	for (size_t k = 0; k < nw; k++)
		waves[k] = (unsigned)json_integer_value(json_array_get(json_object_get(E->policy, "waves"), k));
	json_array_foreach(E->devs, idx, e) {
		if (entry_wave(e) >= 0)
			j++;
		else if (co_is_status(e, "pending") || co_is_status(e, "awaiting-consent")) {
			json_object_set_new(e, "wave", json_integer((json_int_t)co_wave_of(j++, n, waves, nw)));
			E->dirty = true;
		}
	}
	return 0;
}

static void delete_sub(engine *E, json_t *e)
{
	const char *sub = co_jstr(e, "sub");
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
	return co_is_status(e, "successful") || co_is_status(e, "failed");
}

/* Read the firmware of followed devices: all, or those notified. */
static void track(engine *E, bool all, char (*ris)[CO_STR_MAX + 1], size_t nri)
{
	size_t idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e) {
		/* started by this campaign, or staged for the manufacturer (who may
		   have started it: then in-process without launched) */
		bool followed = co_is_status(e, "in-process") || co_is_status(e, "informed");
		if (!followed)
			continue;
		const char *fw = co_jstr(e, "firmware");
		bool hit = all;
		for (size_t k = 0; !hit && fw && k < nri; k++) {
			size_t fl = strlen(fw), rl = strlen(ris[k]);
			hit = fl > rl && strcmp(fw + fl - rl, ris[k]) == 0 && fw[fl - rl - 1] == '/';
		}
		if (!hit)
			continue;
		char why[CO_ERR_MAX] = "";
		json_t *fwr = co_read_fw(E->in, E->cfg, fw, why, sizeof(why));
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
		if (launched || co_is_status(e, "failed"))
			t.started++;
		t.ok += launched && co_is_status(e, "successful");
		t.failed += co_is_status(e, "failed");
		t.running += launched && co_is_status(e, "in-process");
		t.awaiting += co_is_status(e, "awaiting-consent");
	}
	return t;
}

static void halt(engine *E, const char *why)
{
	co_set_str(E->state, "phase", "halted");
	co_set_str(E->state, "halt_reason", why);
	char r[CO_ERR_MAX + 32];
	snprintf(r, sizeof(r), "campaign halted: %.400s", why);
	size_t idx;
	json_t *e;
	json_array_foreach(E->devs, idx, e)
		if (!json_is_true(json_object_get(e, "launched")) &&
		    (co_is_status(e, "pending") || co_is_status(e, "awaiting-consent")))
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
	co_consent c = co_consent_decide(h->has_policy ? &h->policy : NULL, pol_str(E, "no_policy"), co_jstr(e, "criticality"), co_jstr(e, "manifest"),
	                                 asked ? (time_t)asked : now, now, &auto_at, &why);
	if (c == CO_CONSENT_REFUSED) {
		set_status(E, e, "refused", why);
		return c;
	}
	if (c == CO_CONSENT_GO) {
		if (co_is_status(e, "awaiting-consent"))
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
		    (co_is_status(e, "pending") || co_is_status(e, "awaiting-consent")))
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
		if (co_is_status(e, "in-process") || (co_is_status(e, "pending") && !json_is_true(json_object_get(e, "launched"))))
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
		const char *ri = co_jstr(json_object_get(r.body, "m2m:sub"), "ri");
		char addr[CO_ADDR_MAX];
		if (r.rsc == 2001 && ri && strlen(ri) < CO_STR_MAX) {
			if (ri[0] == '/')
				snprintf(addr, sizeof(addr), "%s", ri);
			else
				snprintf(addr, sizeof(addr), "/%s/%s", d->gateway, ri);
			co_set_str(e, "sub", addr);
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
	if (co_ensure_cnt(E->in, cfg->originator, ae, "notices", err, errlen) != 0)
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
		co_rfail(err, errlen, "notice policy", &r);
		goto out;
	}
	if (r.rsc == 4105) { /* from an earlier notice: its ri */
		char to[CO_ADDR_MAX + CO_STR_MAX + 16];
		snprintf(to, sizeof(to), "%s/%s", ae, acp_rn);
		m2m_result_clear(&r);
		m2m_do(E->in, M2M_OP_RETRIEVE, to, cfg->originator, -1, NULL, NULL, &r);
	}
	const char *ri = co_jstr(json_object_get(r.body, "m2m:acp"), "ri");
	if (ri) {
		c = json_pack("{s:{s:s,s:[s],s:i}}", "m2m:cnt", "rn", vc->name, "acpi", ri, "mni", 1000);
		m2m_result_clear(&r);
		if (!c || m2m_do(E->in, M2M_OP_CREATE, notices, cfg->originator, 3, c, NULL, &r) != 0 ||
		    (r.rsc != 2001 && r.rsc != 4105)) {
			co_rfail(err, errlen, "notice container", &r);
			goto out;
		}
	}
	m2m_result_clear(&r);
	cin = json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", con);
	if (!cin || m2m_do(E->in, M2M_OP_CREATE, cnt, cfg->originator, 4, cin, NULL, &r) != 0 || r.rsc != 2001) {
		co_rfail(err, errlen, "vendor notice", &r);
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
	const char *pkg = co_jstr(e, "package");
	char why[CO_ERR_MAX] = "";
	if (!m || !m->jws || !m->image[0] || !d->fw[0] || !pkg) {
		set_status(E, e, "blocked",
		           !m || !m->image[0] ? "no image URL in the vendor's catalog" : "no firmware or gateway CSEBase address");
		return 0;
	}
	/* the gateway's view first: this package already running or done (a
	   launch interrupted before its state was stored), or another
	   operation in process */
	json_t *fw = co_read_fw(E->in, E->cfg, d->fw, why, sizeof(why));
	const char *url = co_jstr(fw, "url");
	json_int_t sus = json_integer_value(json_object_get(json_object_get(fw, "uds"), "sus"));
	if (fw && url && strcmp(url, pkg) == 0 && (sus == 1 || sus == 3)) {
		json_object_set_new(e, "launched", json_true());
		co_set_str(e, "status", "in-process");
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
	if (!inform && interval && E->started > 0 && co_now_ms() - E->last_start < interval)
		co_sleep_ms(interval - (co_now_ms() - E->last_start));
	E->last_start = co_now_ms();
	if (!inform)
		subscribe(E, d, e);
	if (co_launch_one(E->in, E->cfg, E->op, d, m, pkg, !inform, why, sizeof(why)) != 0) {
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
		if (!e || json_is_true(json_object_get(e, "launched")) || !co_is_status(e, "pending") || entry_wave(e) < 0 ||
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
		co_set_str(E.state, "phase", "running");
	E.policy = json_object_get(E.state, "policy");
	E.devs = json_object_get(E.state, "devices");
	bool inform = strcmp(pol_str(&E, "mode"), "inform") == 0;
	if (strcmp(co_jstr(E.state, "phase"), "halted") == 0) {
		printf("campaign %s is halted (%s); nothing started; start a new campaign\n", cfg->campaign,
		       co_jstr(E.state, "halt_reason") ? co_jstr(E.state, "halt_reason") : "?");
	} else {
		if (merge(&E, plan, err, errlen) != 0)
			goto out;
		if (strcmp(co_jstr(E.state, "phase"), "done") == 0 && !wave_done(&E, CO_WAVES_MAX))
			co_set_str(E.state, "phase", "running"); /* devices that became eligible since */
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
		int64_t deadline = co_now_ms() + (int64_t)cfg->wait_s * 1000, last_full = co_now_ms();
		bool all = true;
		size_t nri = 0;
		for (;;) {
			for (size_t k = 0; k < E.nhomes; k++)
				co_home_clear(&E.homes[k]);
			E.nhomes = 0;
			track(&E, all, ris, nri);
			bool running = strcmp(co_jstr(E.state, "phase"), "running") == 0;
			if (running && !inform)
				steer(&E);
			running = strcmp(co_jstr(E.state, "phase"), "running") == 0;
			if (running && start_wave(&E, (long)json_integer_value(json_object_get(E.state, "wave")), err,
			                          errlen) != 0)
				goto out;
			tally t = count(&E);
			long nw = (long)json_array_size(json_object_get(E.policy, "waves"));
			if (running && (inform || (json_integer_value(json_object_get(E.state, "wave")) + 1 >= nw &&
			                           wave_done(&E, CO_WAVES_MAX) && t.awaiting == 0))) {
				co_set_str(E.state, "phase", "done");
				E.dirty = true;
			}
			if (E.dirty) {
				if (co_campaign_save(in, cfg, E.state, err, errlen) != 0)
					goto out;
				E.dirty = false;
			}
			if (t.running == 0 || inform)
				break; /* nothing this run can wait for: consent, the window, or done */
			int64_t left = deadline - co_now_ms();
			if (left <= 0) {
				printf("campaign %s: %zu device(s) still in process; run launch or status again\n", cfg->campaign,
				       t.running);
				break;
			}
			nri = co_listener_wait(E.lis, left < CO_WAIT_SLICE_MS ? left : CO_WAIT_SLICE_MS, ris, CO_NOTIFIED_MAX,
			                       &all);
			if (co_now_ms() - last_full >= CO_FULL_READ_MS) {
				all = true;
				last_full = co_now_ms();
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
	       cfg->campaign, co_jstr(E.state, "phase"), (int)json_integer_value(json_object_get(E.state, "wave")) + 1,
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

