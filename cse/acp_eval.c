/*
 * acp_eval.c - access control decisions (TS-0003 7.1, TS-0004 7.3.3.15).
 *
 * Permit-overrides: a request is allowed when any rule of any policy that
 * governs the resource allows it. Which policies govern:
 *   - an <accessControlPolicy> itself: its own pvs;
 *   - a type without acpi (contentInstance, ...): the parent's, recursively;
 *   - acpi present: the pv of every referenced policy;
 *   - acpi absent or empty: the default policy, only the creator (R4: also
 *     the custodian cstn) may act.
 * The admin originator may do everything; the device-management operator
 * (--operator) has the fixed rights of operator_permitted(). A registered AE or CSE may
 * retrieve the CSEBase, and create a <node> under it, when the CSEBase
 * has no acpi of its own.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "util.h"

const char *acp_norm_id(cse *c, const char *id)
{
	if (!id)
		return "";
	/* //sp/csi/X -> /csi/X */
	if (id[0] == '/' && id[1] == '/') {
		size_t spl = strlen(c->cfg.sp_id);
		if (strncmp(id + 2, c->cfg.sp_id, spl) == 0 && id[2 + spl] == '/')
			id += 2 + spl;
		else
			return id;
	}
	/* /csi/X -> X */
	size_t cl = strlen(c->csi);
	if (strncmp(id, c->csi, cl) == 0 && id[cl] == '/')
		return id + cl + 1;
	return id;
}

static bool originator_in_group(cse *c, const char *gid, const char *fr)
{
	res *g = core_get_by_id(c, gid);
	bool in = false;
	if (g && g->ty == TY_GRP) {
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(g->a, "mid"), i, m) {
			const char *mid = json_string_value(m);
			if (mid && strcmp(acp_norm_id(c, mid), fr) == 0) {
				in = true;
				break;
			}
		}
	}
	res_free(&g);
	return in;
}

bool acp_match_originator(cse *c, const json_t *acor, const char *fr)
{
	const char *nfr = acp_norm_id(c, fr);
	size_t i;
	json_t *e;
	json_array_foreach(acor, i, e) {
		const char *s = json_string_value(e);
		if (!s)
			continue;
		if (strcmp(s, "all") == 0)
			return true;
		const char *ns = acp_norm_id(c, s);
		if (strcmp(ns, nfr) == 0 || strcmp(s, fr) == 0)
			return true;
		if (strchr(s, '*') && (util_glob(s, fr) || util_glob(ns, nfr)))
			return true;
	}
	/* group membership: only when nothing matched directly (costs lookups) */
	json_array_foreach(acor, i, e) {
		const char *s = json_string_value(e);
		if (s && !strchr(s, '*') && strcmp(s, "all") != 0 && originator_in_group(c, s, nfr))
			return true;
	}
	return false;
}

/* One field of a 7-field schedule "sec min hour day month dow year". */
static bool sched_field(const char *f, size_t len, int v)
{
	char buf[64];
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, f, len);
	buf[len] = '\0';
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long step = 1, lo, hi;
		char *slash = strchr(tok, '/');
		if (slash) {
			*slash = '\0';
			step = strtol(slash + 1, NULL, 10);
			if (step <= 0)
				return false;
		}
		if (strcmp(tok, "*") == 0) {
			lo = 0;
			hi = 1L << 30;
		} else {
			char *end;
			lo = strtol(tok, &end, 10);
			hi = *end == '-' ? strtol(end + 1, NULL, 10) : (slash ? 1L << 30 : lo);
		}
		if (v >= lo && v <= hi && (v - lo) % step == 0)
			return true;
	}
	return false;
}

static bool schedule_now(const char *sce)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	int vals[7] = { tm.tm_sec, tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon + 1, tm.tm_wday,
	                tm.tm_year + 1900 };
	const char *p = sce;
	for (int i = 0; i < 7; i++) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if (e == p)
			return i == 6; /* the year field may be omitted */
		if (!sched_field(p, (size_t)(e - p), vals[i]))
			return false;
		p = e;
	}
	return true;
}

static bool ip_in(const char *peer, const char *cidr)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", cidr);
	char *slash = strchr(buf, '/');
	long bits = 32;
	if (slash) {
		*slash = '\0';
		bits = strtol(slash + 1, NULL, 10);
		if (bits < 0 || bits > 32)
			return false;
	}
	struct in_addr a, b;
	if (inet_pton(AF_INET, buf, &a) != 1 || inet_pton(AF_INET, peer, &b) != 1)
		return strcmp(buf, peer) == 0;
	uint32_t mask = bits == 0 ? 0 : htonl(~0u << (32 - bits));
	return (a.s_addr & mask) == (b.s_addr & mask);
}

static bool context_ok(const m2m_request *req, const json_t *acco)
{
	if (!acco || !json_is_array(acco) || json_array_size(acco) == 0)
		return true;
	size_t i;
	json_t *ctx;
	json_array_foreach(acco, i, ctx) {
		bool ok = true;
		json_t *actw = json_object_get(ctx, "actw");
		if (actw && json_array_size(actw) > 0) {
			bool any = false;
			size_t j;
			json_t *w;
			json_array_foreach(actw, j, w)
				if (json_is_string(w) && schedule_now(json_string_value(w)))
					any = true;
			ok = ok && any;
		}
		json_t *acip = json_object_get(ctx, "acip");
		if (ok && acip) {
			json_t *v4 = json_object_get(acip, "ipv4");
			bool any = false;
			size_t j;
			json_t *w;
			json_array_foreach(v4, j, w)
				if (req->peer_addr && json_is_string(w) && ip_in(req->peer_addr, json_string_value(w)))
					any = true;
			json_array_foreach(json_object_get(acip, "ipv6"), j, w)
				if (req->peer_addr && json_is_string(w) && strcmp(req->peer_addr, json_string_value(w)) == 0)
					any = true;
			ok = ok && any;
		}
		if (ok)
			return true;
	}
	return false;
}

static bool rules_permit(cse *c, const m2m_request *req, const json_t *set, unsigned op, int cty)
{
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(set, "acr"), i, rule) {
		json_int_t acop = json_integer_value(json_object_get(rule, "acop"));
		if (!(acop & (json_int_t)op))
			continue;
		if (json_is_true(json_object_get(rule, "acaf")) && !req->fr_authenticated)
			continue;
		if (!acp_match_originator(c, json_object_get(rule, "acor"), req->fr ? req->fr : ""))
			continue;
		if (!context_ok(req, json_object_get(rule, "acco")))
			continue;
		json_t *acod = json_object_get(rule, "acod");
		if (op == ACOP_CREATE && acod && json_array_size(acod) > 0) {
			bool any = false;
			size_t j;
			json_t *d;
			json_array_foreach(acod, j, d) {
				json_t *chty = json_object_get(d, "chty");
				json_t *ty = json_object_get(d, "ty");
				if (ty && json_integer_value(ty) == cty)
					any = true;
				size_t k;
				json_t *t;
				json_array_foreach(chty, k, t)
					if (json_integer_value(t) == cty)
						any = true;
			}
			if (!any)
				continue;
		}
		return true;
	}
	return false;
}

static bool is_creator(cse *c, const m2m_request *req, const res *r)
{
	const char *orig = json_string_value(json_object_get(r->a, HA_ORIG));
	const char *fr = acp_norm_id(c, req->fr);
	if (orig && *orig && strcmp(acp_norm_id(c, orig), fr) == 0)
		return true;
	const char *cstn = json_string_value(json_object_get(r->a, "cstn"));
	if (cstn && strcmp(acp_norm_id(c, cstn), fr) == 0)
		return true;
	/* an AE owns itself */
	return r->ty == TY_AE && strcmp(r->ri, fr) == 0;
}

static bool policies_permit(cse *c, const m2m_request *req, const json_t *acpi, const char *member,
                            unsigned op, int cty)
{
	size_t i;
	json_t *id;
	json_array_foreach(acpi, i, id) {
		res *acp = core_get_by_id(c, json_string_value(id));
		bool ok = acp && acp->ty == TY_ACP &&
			rules_permit(c, req, json_object_get(acp->a, member), op, cty);
		res_free(&acp);
		if (ok)
			return true;
	}
	return false;
}

/* The device-management operator (--operator): reads the CSEBase, the
 * registered CSEs, the devices' <node>s and mgmtObjs and their announced
 * copies; updates mgmtObjs and subscribes to them (its update campaigns);
 * creates containers under the CSEBase (its update packages). Nothing else:
 * everything else it may do comes from policies like anyone's. */
static bool operator_permitted(cse *c, const m2m_request *req, const res *r, unsigned op, int cty)
{
	const char *opr = c->cfg.operator_id;
	if (!opr || !*opr || !req->fr || strcmp(acp_norm_id(c, req->fr), acp_norm_id(c, opr)) != 0)
		return false;
	bool read = op == ACOP_RETRIEVE || op == ACOP_DISCOVERY;
	switch (r->ty) {
	case TY_CB: return read || (op == ACOP_CREATE && cty == TY_CNT);
	case TY_CSR:
	case TY_NODE:
	case TY_NODE + 10000:
	case TY_MGMTOBJ + 10000: return read;
	case TY_MGMTOBJ: return read || op == ACOP_UPDATE || (op == ACOP_CREATE && cty == TY_SUB);
	default: return false;
	}
}

bool acp_permitted(cse *c, const m2m_request *req, const res *r, unsigned op, int cty)
{
	if (req->fr && strcmp(req->fr, c->cfg.admin) == 0)
		return true;
	if (operator_permitted(c, req, r, op, cty))
		return true;
	if (r->ty == TY_ACP)
		return rules_permit(c, req, json_object_get(r->a, "pvs"), op, cty) || is_creator(c, req, r);
	const res_type *t = restype_of(r);
	if (t && !(t->common & RA_ACPI)) {
		/* governed by the parent */
		res *p = NULL;
		if (core_st(c)->ops->get(core_st(c), r->pi, &p) != STORE_OK)
			return false;
		bool ok = acp_permitted(c, req, p, op, cty);
		res_free(&p);
		return ok;
	}
	json_t *acpi = json_object_get(r->a, "acpi");
	if (acpi && json_array_size(acpi) > 0)
		return policies_permit(c, req, acpi, "pv", op, cty);
	if (is_creator(c, req, r))
		return true;
	/* a registered AE or CSE may read the CSEBase and create the <node>
	   that describes its device there */
	if (r->ty == TY_CB && req->fr && (op == ACOP_RETRIEVE || (op == ACOP_CREATE && cty == TY_NODE))) {
		const char *fr = req->fr;
		res *reg = NULL;
		if (fr[0] == '/' && fr[1] && fr[1] != '/' && !strchr(fr + 1, '/')) {
			/* a CSE-ID: registered when its <remoteCSE> (ri = CSE-ID) is here */
			if (core_st(c)->ops->get(core_st(c), fr + 1, &reg) != STORE_OK)
				reg = NULL;
		} else {
			reg = core_get_by_id(c, acp_norm_id(c, fr));
		}
		bool ok = reg && (reg->ty == TY_AE || reg->ty == TY_CSR);
		res_free(&reg);
		return ok;
	}
	return false;
}

bool acp_self_permitted(cse *c, const m2m_request *req, const res *r, unsigned op)
{
	if (req->fr && strcmp(req->fr, c->cfg.admin) == 0)
		return true;
	json_t *acpi = json_object_get(r->a, "acpi");
	if (acpi && json_array_size(acpi) > 0)
		return policies_permit(c, req, acpi, "pvs", op, 0);
	return is_creator(c, req, r);
}
