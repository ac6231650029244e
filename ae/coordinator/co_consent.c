/*
 * co_consent.c - the home user's consent, as the coordinator sees it
 * (README "Home consent").
 *
 * Each home's user keeps, at the home gateway, a container labelled
 * hearth:consent whose latest contentInstance is the policy in force (the
 * document of ae/lib/consent.h, parsed by the same code as hearth-consent)
 * and a container labelled hearth:consent-requests where the coordinator
 * posts what it asks or tells. Access control at the gateway lets the
 * coordinator read (and discover) the first and create in the second,
 * nothing more; the coordinator finds both by discovery through the IN.
 *
 * co_consent_decide() is the whole rule, a pure function:
 *   - a manifest refused by the user: refused, for good;
 *   - granted: go;
 *   - otherwise by the update's class (critical or other): "auto" goes,
 *     for a critical update once auto_after_hours have passed since the
 *     user was asked (0: at once); "ask" waits for a decision;
 *   - a home without a policy follows the campaign's no-policy setting.
 */
#include "ae/coordinator/coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

co_consent co_consent_decide(const struct cs_policy *policy, const char *no_policy, const char *criticality,
                             const char *manifest, time_t asked, time_t now, time_t *auto_at, const char **why)
{
	*auto_at = 0;
	bool critical = criticality && strcmp(criticality, "critical") == 0;
	if (!policy) {
		if (no_policy && strcmp(no_policy, "auto") == 0) {
			*why = "no consent policy in this home; the campaign installs without one";
			return CO_CONSENT_GO;
		}
		*why = "no consent policy in this home";
		return CO_CONSENT_WAIT;
	}
	const char *d = manifest ? cs_decision(policy, manifest) : NULL;
	if (d && strcmp(d, "refused") == 0) {
		*why = "refused by the user";
		return CO_CONSENT_REFUSED;
	}
	if (d && strcmp(d, "granted") == 0) {
		*why = "granted by the user";
		return CO_CONSENT_GO;
	}
	if ((critical ? policy->critical : policy->other) != CS_AUTO) {
		*why = critical ? "critical update; the policy asks the user" : "the policy asks the user";
		return CO_CONSENT_WAIT;
	}
	if (!critical) {
		*why = "the policy installs such updates automatically";
		return CO_CONSENT_GO;
	}
	unsigned h = policy->auto_after_hours;
	*auto_at = asked + (time_t)h * 3600;
	if (h == 0 || now >= *auto_at) {
		*why = "critical update; automatic consent by the policy";
		return CO_CONSENT_GO;
	}
	*why = "critical update; automatic consent when the policy's delay has passed";
	return CO_CONSENT_WAIT;
}

/* A discovered address made SP-relative: "/id-mn/..." stays, a CSE-relative
   "cse-mn/..." becomes "/<gw>/cse-mn/...". */
static int sp_rel(const char *gw, const char *a, char *out, size_t n)
{
	int k = a[0] == '/' ? snprintf(out, n, "%s", a) : snprintf(out, n, "/%s/%s", gw, a);
	return k > 0 && (size_t)k < n && strncmp(a, "//", 2) != 0 ? 0 : -1;
}

/* The first resource under the gateway's CSEBase with label lbl, or "". */
static int find_labelled(m2m_client *in, const struct co_config *cfg, const struct co_device *d, const char *lbl,
                         char *out, size_t n, char *err, size_t errlen)
{
	out[0] = '\0';
	char q[96];
	snprintf(q, sizeof(q), "fu=1&ty=3&lbl=%s&lim=1", lbl);
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (m2m_do(in, M2M_OP_RETRIEVE, d->gw_cb, cfg->originator, -1, NULL, q, &r) != 0 || r.rsc != 2000) {
		if (r.http_status == 0)
			snprintf(err, errlen, "consent discovery at %.64s: %s", d->gateway, r.error);
		else
			snprintf(err, errlen, "consent discovery at %.64s: rsc %d", d->gateway, r.rsc);
		goto out;
	}
	const char *a = json_string_value(json_array_get(json_object_get(r.body, "m2m:uril"), 0));
	if (a && sp_rel(d->gateway, a, out, n) != 0)
		out[0] = '\0';
	rc = 0;
out:
	m2m_result_clear(&r);
	return rc;
}

void co_home_clear(struct co_home *h)
{
	cs_policy_clear(&h->policy);
	memset(h, 0, sizeof(*h));
}

int co_home_load(m2m_client *in, const struct co_config *cfg, const struct co_device *d, struct co_home *h)
{
	co_home_clear(h);
	snprintf(h->gateway, sizeof(h->gateway), "%s", d->gateway);
	h->loaded = true;
	if (!d->gw_cb[0]) {
		snprintf(h->error, sizeof(h->error), "no CSEBase address for gateway %.64s", d->gateway);
		return -1;
	}
	if (find_labelled(in, cfg, d, "hearth:consent", h->policy_addr, sizeof(h->policy_addr), h->error,
	                  sizeof(h->error)) != 0 ||
	    find_labelled(in, cfg, d, "hearth:consent-requests", h->requests_addr, sizeof(h->requests_addr), h->error,
	                  sizeof(h->error)) != 0)
		return -1;
	if (!h->policy_addr[0])
		return 0; /* no policy in this home */
	char to[CO_ADDR_MAX + 4];
	snprintf(to, sizeof(to), "%s/la", h->policy_addr);
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (m2m_do(in, M2M_OP_RETRIEVE, to, cfg->originator, -1, NULL, NULL, &r) != 0 ||
	    (r.rsc != 2000 && r.rsc != 4004)) {
		snprintf(h->error, sizeof(h->error), "consent policy %.200s: %s", to,
		         r.http_status ? "not readable" : r.error);
		if (r.http_status)
			snprintf(h->error + strlen(h->error), sizeof(h->error) - strlen(h->error), " (rsc %d)", r.rsc);
		goto out;
	}
	if (r.rsc == 4004) { /* a container without a policy yet: no policy */
		rc = 0;
		goto out;
	}
	const char *con = jstr(json_object_get(r.body, "m2m:cin"), "con");
	char why[CO_ERR_MAX] = "no content";
	if (!con || cs_policy_parse(con, &h->policy, why, sizeof(why)) != 0) {
		/* a broken policy is no consent: nothing installs until it is fixed */
		snprintf(h->error, sizeof(h->error), "consent policy at %.64s unusable: %.200s", d->gateway, why);
		cs_policy_clear(&h->policy);
		goto out;
	}
	h->has_policy = true;
	rc = 0;
out:
	m2m_result_clear(&r);
	return rc;
}

int co_consent_post(m2m_client *in, const struct co_config *cfg, const struct co_home *h, const json_t *req,
                    char *err, size_t errlen)
{
	if (!h->requests_addr[0]) {
		snprintf(err, errlen, "no consent-requests container at %.64s", h->gateway);
		return -1;
	}
	char *con = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *b = con ? json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", con) : NULL;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	if (!b)
		snprintf(err, errlen, "out of memory");
	else if (m2m_do(in, M2M_OP_CREATE, h->requests_addr, cfg->originator, 4, b, NULL, &r) != 0 || r.rsc != 2001) {
		if (r.http_status == 0)
			snprintf(err, errlen, "consent request: %s", r.error);
		else
			snprintf(err, errlen, "consent request: rsc %d", r.rsc);
	} else
		rc = 0;
	json_decref(b);
	free(con);
	m2m_result_clear(&r);
	return rc;
}
