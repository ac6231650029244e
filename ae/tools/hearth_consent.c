/*
 * hearth_consent.c - hearth-consent, the home user's consent tool: an AE
 * on the home gateway (MN-CSE) that owns the user's consent policy
 * (README "Home consent (hearth-consent)").
 *
 * Layout under the user's AE (fixed; hearth-coordinator relies on it):
 *   consent-policy-acp    pv: user 63, coordinator 34 (R, discovery); pvs: user 63
 *   consent-requests-acp  pv: user 63, coordinator 35 (C, R, discovery); pvs: user 63
 *   consent               container, lbl hearth:consent, mni 100; la = the
 *                         policy in force (consent.h)
 *   consent-requests      container, lbl hearth:consent-requests, mni 1000;
 *                         the coordinator's requests
 * Commands: init, policy, requests, grant, refuse. A policy change is a
 * new contentInstance holding the whole document (read, change, write).
 * Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae/lib/m2m_client.h"
#include "ae/lib/consent.h"

#define ADDR_MAX 512u
#define ONE_DOC_ANSWER_MAX (2u * 1024u * 1024u)   /* a retrieve of one instance */
#define LIST_ANSWER_MAX (64u * 1024u * 1024u - 1u) /* the requests (1000 instances) */
#define POLICY_ACP "consent-policy-acp"
#define REQUESTS_ACP "consent-requests-acp"
#define POLICY_CNT "consent"
#define REQUESTS_CNT "consent-requests"
#define ACOP_ALL 63
#define ACOP_COORD_POLICY 34   /* retrieve + discovery */
#define ACOP_COORD_REQUESTS 35 /* create + retrieve + discovery */

struct cfg {
	char url[256];
	char cse_id[CS_STR_MAX + 1];
	char cse_rn[CS_STR_MAX + 1];
	char originator[CS_STR_MAX + 1];
	char rn[CS_STR_MAX + 1];
	char coordinator[256];
	char ca[PATH_MAX];
	char cmd[16];
	int critical, other;  /* -1: not given */
	long hours;           /* -1: not given */
	char manifest[CS_HASH_MAX + 1];
	char json_out[PATH_MAX];
	bool help;
};

/* ---- configuration ------------------------------------------------------------ */

static int usage_err(char *err, size_t errlen, const char *fmt, const char *a)
{
	snprintf(err, errlen, fmt, a);
	return -1;
}

/* An originator: a name, or /csi/name or //sp/csi/name of names. */
static bool id_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      strchr("._-/", ch)))
			return false;
	}
	return s[n - 1] != '/';
}

static int set_key(struct cfg *c, const char *key, const char *val, char *err, size_t errlen)
{
	if (strcmp(key, "url") == 0) {
		if ((strncmp(val, "http://", 7) != 0 && strncmp(val, "https://", 8) != 0) || strlen(val) >= sizeof(c->url))
			return usage_err(err, errlen, "cse url '%.64s' is not http(s)://host:port", val);
		snprintf(c->url, sizeof(c->url), "%s", val);
		return 0;
	}
	if (strcmp(key, "ca") == 0) {
		if (!val[0] || strlen(val) >= sizeof(c->ca))
			return usage_err(err, errlen, "ca '%.64s': empty or too long", val);
		snprintf(c->ca, sizeof(c->ca), "%s", val);
		return 0;
	}
	if (strcmp(key, "coordinator") == 0) {
		if (!id_ok(val, sizeof(c->coordinator) - 1))
			return usage_err(err, errlen, "coordinator '%.64s' is not an originator (e.g. /id-in/Ccoordinator)",
			                 val);
		snprintf(c->coordinator, sizeof(c->coordinator), "%s", val);
		return 0;
	}
	char *dst = strcmp(key, "cse-id") == 0       ? c->cse_id
	            : strcmp(key, "cse-rn") == 0     ? c->cse_rn
	            : strcmp(key, "originator") == 0 ? c->originator
	            : strcmp(key, "rn") == 0         ? c->rn
	                                             : NULL;
	if (!dst)
		return usage_err(err, errlen, "unknown setting '%.64s'", key);
	const char *v = strcmp(key, "cse-id") == 0 && val[0] == '/' ? val + 1 : val;
	if (!m2m_name_ok(v, CS_STR_MAX))
		return usage_err(err, errlen, "'%.64s' is not a name ([A-Za-z0-9._-], at most 128)", val);
	snprintf(dst, CS_STR_MAX + 1, "%s", v);
	return 0;
}

typedef struct ini_ctx {
	struct cfg *c;
	char msg[CS_ERR_MAX];
} ini_ctx;

static int on_ini(void *user, const char *section, const char *key, const char *val)
{
	ini_ctx *x = user;
	bool cse = strcmp(section, "cse") == 0;
	bool consent = strcmp(section, "consent") == 0;
	if ((cse && (strcmp(key, "rn") == 0 || strcmp(key, "coordinator") == 0)) ||
	    (consent && strcmp(key, "rn") != 0 && strcmp(key, "coordinator") != 0) || (!cse && !consent)) {
		snprintf(x->msg, sizeof(x->msg), "unknown key '%.64s' in section [%.64s]", key, section);
		return 0;
	}
	return set_key(x->c, key, val, x->msg, sizeof(x->msg)) == 0;
}

static void usage(FILE *f)
{
	fputs("usage: hearth-consent [options] COMMAND\n"
	      "commands:\n"
	      "  init [--critical auto|ask] [--auto-after-hours N] [--other auto|ask]\n"
	      "                        register, create the policies and containers, write the first policy\n"
	      "  policy [--critical auto|ask] [--auto-after-hours N] [--other auto|ask]\n"
	      "                        write a new policy, keeping the decisions\n"
	      "  requests [--json FILE]  the coordinator's requests with their decisions\n"
	      "  grant --manifest HASH | refuse --manifest HASH   decide (a refusal is final)\n"
	      "options (INI: -c FILE, sections [cse] url cse-id cse-rn originator ca, [consent] rn coordinator):\n"
	      "  --cse-url URL         the home gateway, http(s)://host:port (default http://127.0.0.1:8080)\n"
	      "  --cse-id ID           its CSE-ID (default id-mn)\n"
	      "  --cse-rn NAME         its CSEBase name (default cse-mn)\n"
	      "  --originator ID       the user's AE-ID (default Chome-user)\n"
	      "  --rn NAME             the user's AE resource name (default home-user)\n"
	      "  --coordinator ID      the coordinator's originator at the gateway (default /id-in/Ccoordinator)\n"
	      "  --ca FILE             CA file for an https gateway\n"
	      "exit status: 0 done, 1 failed, 2 bad usage\n",
	      f);
}

enum { F_URL = 0x100, F_CSE_ID, F_CSE_RN, F_ORIG, F_RN, F_COORD, F_CA, F_CRIT, F_HOURS, F_OTHER, F_MANIFEST,
       F_JSON };

static int cfg_load(struct cfg *c, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option lo[] = {
		{ "cse-url", required_argument, NULL, F_URL },     { "cse-id", required_argument, NULL, F_CSE_ID },
		{ "cse-rn", required_argument, NULL, F_CSE_RN },   { "originator", required_argument, NULL, F_ORIG },
		{ "rn", required_argument, NULL, F_RN },           { "coordinator", required_argument, NULL, F_COORD },
		{ "ca", required_argument, NULL, F_CA },           { "critical", required_argument, NULL, F_CRIT },
		{ "auto-after-hours", required_argument, NULL, F_HOURS },
		{ "other", required_argument, NULL, F_OTHER },     { "manifest", required_argument, NULL, F_MANIFEST },
		{ "json", required_argument, NULL, F_JSON },       { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(c, 0, sizeof(*c));
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:8080");
	snprintf(c->cse_id, sizeof(c->cse_id), "id-mn");
	snprintf(c->cse_rn, sizeof(c->cse_rn), "cse-mn");
	snprintf(c->originator, sizeof(c->originator), "Chome-user");
	snprintf(c->rn, sizeof(c->rn), "home-user");
	snprintf(c->coordinator, sizeof(c->coordinator), "/id-in/Ccoordinator");
	c->critical = c->other = -1;
	c->hours = -1;
	/* first pass: the INI file, so that flags override it */
	opterr = 0;
	optind = 0;
	int o;
	while ((o = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		if (o == 'h')
			c->help = true;
		else if (o == '?')
			return usage_err(err, errlen, "unknown option '%.64s'", argv[optind - 1]);
		else if (o == ':')
			return usage_err(err, errlen, "option '%.64s' needs a value", argv[optind - 1]);
		else if (o == 'c') {
			ini_ctx x = { .c = c };
			int r = ini_parse(optarg, on_ini, &x);
			if (r == -1)
				return usage_err(err, errlen, "cannot open config file '%.200s'", optarg);
			if (r != 0) {
				snprintf(err, errlen, "%.200s:%d: %s", optarg, r, x.msg[0] ? x.msg : "syntax error");
				return -1;
			}
		}
	}
	if (c->help)
		return 0;
	optind = 0;
	bool mode_flags = false;
	while ((o = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		int rc = 0;
		switch (o) {
		case F_URL: rc = set_key(c, "url", optarg, err, errlen); break;
		case F_CSE_ID: rc = set_key(c, "cse-id", optarg, err, errlen); break;
		case F_CSE_RN: rc = set_key(c, "cse-rn", optarg, err, errlen); break;
		case F_ORIG: rc = set_key(c, "originator", optarg, err, errlen); break;
		case F_RN: rc = set_key(c, "rn", optarg, err, errlen); break;
		case F_COORD: rc = set_key(c, "coordinator", optarg, err, errlen); break;
		case F_CA: rc = set_key(c, "ca", optarg, err, errlen); break;
		case F_CRIT:
		case F_OTHER: {
			int m = cs_mode_parse(optarg);
			if (m < 0)
				rc = usage_err(err, errlen, "--critical/--other '%.32s': want auto or ask", optarg);
			*(o == F_CRIT ? &c->critical : &c->other) = m;
			mode_flags = true;
			break;
		}
		case F_HOURS: {
			char *end = NULL;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] < '0' || optarg[0] > '9' || v > (long)CS_HOURS_MAX)
				rc = usage_err(err, errlen, "--auto-after-hours '%.32s' is not a number from 0 to 8760", optarg);
			c->hours = v;
			mode_flags = true;
			break;
		}
		case F_MANIFEST:
			if (!cs_hash_ok(optarg))
				rc = usage_err(err, errlen, "--manifest '%.64s' is not a manifest hash ([A-Za-z0-9._~+/=-], at most 128)",
				               optarg);
			else
				snprintf(c->manifest, sizeof(c->manifest), "%s", optarg);
			break;
		case F_JSON:
			if (!optarg[0] || strlen(optarg) >= sizeof(c->json_out))
				rc = usage_err(err, errlen, "--json '%.64s': empty or too long", optarg);
			else
				snprintf(c->json_out, sizeof(c->json_out), "%s", optarg);
			break;
		default: break;
		}
		if (rc != 0)
			return -1;
	}
	if (optind != argc - 1)
		return usage_err(err, errlen, "expected one command: init, policy, requests, grant or refuse%s", "");
	const char *cmd = argv[optind];
	bool setting = strcmp(cmd, "init") == 0 || strcmp(cmd, "policy") == 0;
	bool deciding = strcmp(cmd, "grant") == 0 || strcmp(cmd, "refuse") == 0;
	if (!setting && !deciding && strcmp(cmd, "requests") != 0)
		return usage_err(err, errlen, "unknown command '%.32s' (init, policy, requests, grant or refuse)", cmd);
	if (mode_flags && !setting)
		return usage_err(err, errlen, "--critical, --auto-after-hours and --other belong to init and policy, not %s",
		                 cmd);
	if (strcmp(cmd, "policy") == 0 && !mode_flags)
		return usage_err(err, errlen, "policy: nothing to change (give --critical, --auto-after-hours or --other)%s",
		                 "");
	if (deciding != (c->manifest[0] != '\0'))
		return usage_err(err, errlen, deciding ? "%s needs --manifest HASH" : "--manifest belongs to grant and refuse, not %s",
		                 cmd);
	if (c->json_out[0] && strcmp(cmd, "requests") != 0)
		return usage_err(err, errlen, "--json belongs to requests, not %s", cmd);
	if (strncmp(c->url, "https://", 8) == 0 && !c->ca[0])
		return usage_err(err, errlen, "an https gateway needs --ca FILE%s", "");
	snprintf(c->cmd, sizeof(c->cmd), "%s", cmd);
	return 0;
}

/* ---- requests to the gateway --------------------------------------------------- */

/* The reason of a failed request: transport error, or rsc and m2m:dbg. */
static int fail(char *err, size_t errlen, const char *what, const m2m_result *r)
{
	if (r->http_status == 0)
		snprintf(err, errlen, "%s: %s", what, r->error[0] ? r->error : "no answer");
	else {
		const char *dbg = json_string_value(json_object_get(r->body, "m2m:dbg"));
		snprintf(err, errlen, "%s: rsc %d%s%.200s%s", what, r->rsc, dbg ? " (" : "", dbg ? dbg : "", dbg ? ")" : "");
	}
	return -1;
}

/* Send and check the answer's size; 0, or -1 with the reason. */
static int call(m2m_client *cl, const struct cfg *c, m2m_op op, const char *to, int ty, const json_t *content,
                const char *query, size_t max, m2m_result *r, const char *what, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (m2m_do(cl, op, to, c->originator, ty, content, query, r) != 0)
		return fail(err, errlen, what, r);
	if (r->raw_len > max) {
		snprintf(err, errlen, "%s: the answer is larger than %zu bytes", what, max);
		return -1;
	}
	return 0;
}

static void ae_path(const struct cfg *c, const char *child, char *buf, size_t n)
{
	if (child)
		snprintf(buf, n, "%s/%s/%s", c->cse_rn, c->rn, child);
	else
		snprintf(buf, n, "%s/%s", c->cse_rn, c->rn);
}

static int ae_register(m2m_client *cl, const struct cfg *c, char *err, size_t errlen)
{
	int rc = -1;
	m2m_result r = { 0 };
	char path[ADDR_MAX];
	json_t *ae = json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", c->rn, "api", "Nhearth.consent", "rr", 0,
	                       "srv", "3");
	if (!ae) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (call(cl, c, M2M_OP_CREATE, c->cse_rn, 2, ae, NULL, ONE_DOC_ANSWER_MAX, &r, "registration at the gateway",
	         err, errlen) != 0)
		goto out;
	if (r.rsc == 2001) {
		printf("registered AE %s as %s\n", c->originator, c->rn);
		rc = 0;
		goto out;
	}
	if (r.rsc != 4105 && r.rsc != 4117) {
		fail(err, errlen, "registration at the gateway", &r);
		goto out;
	}
	/* already there (4117: the AE-ID, 4105: the name): reuse it when the AE
	   named rn is ours */
	m2m_result_clear(&r);
	ae_path(c, NULL, path, sizeof(path));
	if (call(cl, c, M2M_OP_RETRIEVE, path, -1, NULL, NULL, ONE_DOC_ANSWER_MAX, &r, "existing registration", err,
	         errlen) != 0)
		goto out;
	const char *aei = json_string_value(json_object_get(json_object_get(r.body, "m2m:ae"), "aei"));
	if (r.rsc == 4004) {
		snprintf(err, errlen, "AE-ID %s is registered under another resource name than %s (see --rn)",
		         c->originator, c->rn);
		goto out;
	}
	if (r.rsc != 2000 || !aei) {
		fail(err, errlen, r.rsc == 2000 ? "existing registration: no aei" : "reading the existing registration", &r);
		goto out;
	}
	if (strcmp(aei, c->originator) != 0) {
		snprintf(err, errlen, "the name %s is taken by another AE (%.128s)", c->rn, aei);
		goto out;
	}
	rc = 0;
out:
	json_decref(ae);
	m2m_result_clear(&r);
	return rc;
}

/* Create `body` (type ty) named `name` under this AE; when the name is
   taken (4105), Update the resource there with `upd` instead. 0 with *r
   the 2001 or 2004 answer. */
static int create_or_update(m2m_client *cl, const struct cfg *c, const char *name, int ty, const json_t *body,
                            const json_t *upd, m2m_result *r, char *err, size_t errlen)
{
	char parent[ADDR_MAX], path[ADDR_MAX], what[96];
	ae_path(c, NULL, parent, sizeof(parent));
	ae_path(c, name, path, sizeof(path));
	snprintf(what, sizeof(what), "creating %s", name);
	if (call(cl, c, M2M_OP_CREATE, parent, ty, body, NULL, ONE_DOC_ANSWER_MAX, r, what, err, errlen) != 0)
		return -1;
	if (r->rsc == 2001)
		return 0;
	if (r->rsc == 4105) {
		m2m_result_clear(r);
		snprintf(what, sizeof(what), "updating %s", name);
		if (call(cl, c, M2M_OP_UPDATE, path, -1, upd, NULL, ONE_DOC_ANSWER_MAX, r, what, err, errlen) != 0)
			return -1;
		if (r->rsc == 2004)
			return 0;
	}
	return fail(err, errlen, what, r);
}

/* Create (or bring back to the fixed layout) one ACP; its ri into ri. */
static int acp_ensure(m2m_client *cl, const struct cfg *c, const char *name, int coord_ops, char *ri, size_t rilen,
                      char *err, size_t errlen)
{
	int rc = -1;
	m2m_result r = { 0 };
	json_t *pv = json_pack("{s:[{s:[s],s:i},{s:[s],s:i}]}", "acr", "acor", c->originator, "acop", ACOP_ALL, "acor",
	                       c->coordinator, "acop", coord_ops);
	json_t *pvs = json_pack("{s:[{s:[s],s:i}]}", "acr", "acor", c->originator, "acop", ACOP_ALL);
	json_t *body = pv && pvs ? json_pack("{s:{s:s,s:O,s:O}}", "m2m:acp", "rn", name, "pv", pv, "pvs", pvs) : NULL;
	json_t *upd = pv && pvs ? json_pack("{s:{s:O,s:O}}", "m2m:acp", "pv", pv, "pvs", pvs) : NULL;
	if (!body || !upd) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* there already: make its rules the layout's (the coordinator may have changed) */
	if (create_or_update(cl, c, name, 1, body, upd, &r, err, errlen) != 0)
		goto out;
	const char *id = json_string_value(json_object_get(json_object_get(r.body, "m2m:acp"), "ri"));
	if (!id || strlen(id) >= rilen) {
		snprintf(err, errlen, "%s: no ri in the answer", name);
		goto out;
	}
	snprintf(ri, rilen, "%s", id);
	rc = 0;
out:
	json_decref(pv);
	json_decref(pvs);
	json_decref(body);
	json_decref(upd);
	m2m_result_clear(&r);
	return rc;
}

/* Create a container governed by the ACP acp_ri; 4105 (there) is fine. */
static int cnt_ensure(m2m_client *cl, const struct cfg *c, const char *name, const char *lbl, const char *acp_ri,
                      int mni, char *err, size_t errlen)
{
	m2m_result r = { 0 };
	json_t *body = json_pack("{s:{s:s,s:[s],s:[s],s:i}}", "m2m:cnt", "rn", name, "lbl", lbl, "acpi", acp_ri, "mni", mni);
	/* there already: keep it, governed by the policy of today */
	json_t *upd = json_pack("{s:{s:[s]}}", "m2m:cnt", "acpi", acp_ri);
	int rc = -1;
	if (!body || !upd)
		snprintf(err, errlen, "out of memory");
	else
		rc = create_or_update(cl, c, name, 3, body, upd, &r, err, errlen);
	json_decref(body);
	json_decref(upd);
	m2m_result_clear(&r);
	return rc;
}

/* The policy in force: 0 and *p filled; 1 when there is none yet, *p then
   the default policy; -1. */
static int policy_read(m2m_client *cl, const struct cfg *c, struct cs_policy *p, char *err, size_t errlen)
{
	int rc = -1;
	m2m_result r = { 0 };
	char path[ADDR_MAX];
	ae_path(c, POLICY_CNT "/la", path, sizeof(path));
	if (call(cl, c, M2M_OP_RETRIEVE, path, -1, NULL, NULL, ONE_DOC_ANSWER_MAX, &r, "reading the policy", err,
	         errlen) != 0)
		goto out;
	if (r.rsc == 4004) {
		if (cs_policy_default(p) == 0)
			rc = 1;
		else
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (r.rsc != 2000) {
		fail(err, errlen, "reading the policy", &r);
		goto out;
	}
	const json_t *con = json_object_get(json_object_get(r.body, "m2m:cin"), "con");
	if (!json_is_string(con)) {
		snprintf(err, errlen, "the policy in force (%s) has no content", path);
		goto out;
	}
	char inner[CS_ERR_MAX];
	if (cs_policy_parse(json_string_value(con), p, inner, sizeof(inner)) != 0) {
		snprintf(err, errlen, "the policy in force (%s) is unusable: %s", path, inner);
		goto out;
	}
	rc = 0;
out:
	m2m_result_clear(&r);
	return rc;
}

static int policy_write(m2m_client *cl, const struct cfg *c, const struct cs_policy *p, char *err, size_t errlen)
{
	int rc = -1;
	m2m_result r = { 0 };
	char path[ADDR_MAX];
	ae_path(c, POLICY_CNT, path, sizeof(path));
	char *doc = cs_policy_dump(p);
	json_t *body = doc ? json_pack("{s:{s:s,s:s}}", "m2m:cin", "cnf", "application/json:0", "con", doc) : NULL;
	if (!body) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (strlen(doc) > CS_DOC_MAX) {
		snprintf(err, errlen, "the policy document would be larger than 256 KiB");
		goto out;
	}
	if (call(cl, c, M2M_OP_CREATE, path, 4, body, NULL, ONE_DOC_ANSWER_MAX, &r, "writing the policy", err, errlen) != 0)
		goto out;
	if (r.rsc == 4004) {
		snprintf(err, errlen, "writing the policy: %s does not exist (run `hearth-consent init` first)", path);
		goto out;
	}
	if (r.rsc != 2001) {
		fail(err, errlen, "writing the policy", &r);
		goto out;
	}
	printf("policy: critical %s (after %u h), other %s, %zu decision(s)\n", cs_mode_name(p->critical),
	       p->auto_after_hours, cs_mode_name(p->other), json_object_size(p->decisions));
	rc = 0;
out:
	free(doc);
	json_decref(body);
	m2m_result_clear(&r);
	return rc;
}

static void apply_flags(const struct cfg *c, struct cs_policy *p)
{
	if (c->critical >= 0)
		p->critical = (enum cs_mode)c->critical;
	if (c->other >= 0)
		p->other = (enum cs_mode)c->other;
	if (c->hours >= 0)
		p->auto_after_hours = (unsigned)c->hours;
}

/* ---- commands ------------------------------------------------------------------ */

static int cmd_init(m2m_client *cl, const struct cfg *c, char *err, size_t errlen)
{
	char acp_policy[CS_STR_MAX * 2], acp_requests[CS_STR_MAX * 2];
	if (ae_register(cl, c, err, errlen) != 0 ||
	    acp_ensure(cl, c, POLICY_ACP, ACOP_COORD_POLICY, acp_policy, sizeof(acp_policy), err, errlen) != 0 ||
	    acp_ensure(cl, c, REQUESTS_ACP, ACOP_COORD_REQUESTS, acp_requests, sizeof(acp_requests), err, errlen) != 0 ||
	    cnt_ensure(cl, c, POLICY_CNT, "hearth:consent", acp_policy, 100, err, errlen) != 0 ||
	    cnt_ensure(cl, c, REQUESTS_CNT, "hearth:consent-requests", acp_requests, 1000, err, errlen) != 0)
		return -1;
	struct cs_policy p = { 0 };
	int got = policy_read(cl, c, &p, err, errlen);
	if (got < 0) {
		cs_policy_clear(&p);
		return -1;
	}
	bool flags = c->critical >= 0 || c->other >= 0 || c->hours >= 0;
	int rc = 0;
	if (got == 1 || flags) {
		apply_flags(c, &p);
		rc = policy_write(cl, c, &p, err, errlen);
	} else
		printf("policy kept: critical %s (after %u h), other %s, %zu decision(s)\n", cs_mode_name(p.critical),
		       p.auto_after_hours, cs_mode_name(p.other), json_object_size(p.decisions));
	cs_policy_clear(&p);
	return rc;
}

/* policy, grant, refuse: read, change, write. */
static int cmd_change(m2m_client *cl, const struct cfg *c, char *err, size_t errlen)
{
	struct cs_policy p = { 0 };
	int rc = -1;
	int got = policy_read(cl, c, &p, err, errlen);
	if (got < 0)
		goto out;
	if (strcmp(c->cmd, "policy") == 0)
		apply_flags(c, &p);
	else {
		int d = cs_decide(&p, c->manifest, strcmp(c->cmd, "grant") == 0, err, errlen);
		if (d < 0)
			goto out;
		if (d == 1) {
			printf("%s: already %s\n", c->manifest, cs_decision(&p, c->manifest));
			rc = 0;
			goto out;
		}
	}
	rc = policy_write(cl, c, &p, err, errlen);
out:
	cs_policy_clear(&p);
	return rc;
}

struct req_row {
	json_t *req;      /* checked request */
	const char *ct;   /* creation time of its instance */
	size_t idx;       /* order in the answer */
};

static int row_cmp(const void *a, const void *b)
{
	const struct req_row *x = a, *y = b;
	int d = strcmp(x->ct, y->ct);
	return d ? d : (x->idx > y->idx) - (x->idx < y->idx);
}

static const char *show(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static int cmd_requests(m2m_client *cl, const struct cfg *c, char *err, size_t errlen)
{
	int rc = -1;
	m2m_result r = { 0 };
	struct cs_policy p = { 0 };
	struct req_row *rows = NULL;
	size_t n = 0;
	json_t *out = json_array();
	char path[ADDR_MAX];
	ae_path(c, REQUESTS_CNT, path, sizeof(path));
	if (!out) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	int got = policy_read(cl, c, &p, err, errlen);
	if (got < 0)
		goto out;
	if (call(cl, c, M2M_OP_RETRIEVE, path, -1, NULL, "rcn=4&ty=4", LIST_ANSWER_MAX, &r, "reading the requests", err,
	         errlen) != 0)
		goto out;
	if (r.rsc != 2000) {
		fail(err, errlen, "reading the requests", &r);
		goto out;
	}
	const json_t *cins = json_object_get(json_object_get(r.body, "m2m:cnt"), "m2m:cin");
	size_t total = json_array_size(cins);
	if (total > CS_REQUESTS_MAX) {
		fprintf(stderr, "hearth-consent: %zu requests, only the first %u are read\n", total, CS_REQUESTS_MAX);
		total = CS_REQUESTS_MAX;
	}
	rows = calloc(total ? total : 1, sizeof(*rows));
	if (!rows) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < total; i++) {
		const json_t *cin = json_array_get(cins, i);
		const char *ct = json_string_value(json_object_get(cin, "ct"));
		char inner[CS_ERR_MAX];
		json_t *q = cs_request_parse(json_string_value(json_object_get(cin, "con")), inner, sizeof(inner));
		if (!q) {
			fprintf(stderr, "hearth-consent: request %.64s skipped: %s\n", show(cin, "rn"), inner);
			continue;
		}
		rows[n++] = (struct req_row){ .req = q, .ct = ct && strlen(ct) < 32 ? ct : "", .idx = i };
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	/* the latest per (device, manifest): a later row replaces an earlier one */
	for (size_t i = 0; i < n; i++) {
		bool later = false;
		for (size_t k = i + 1; k < n && !later; k++)
			later = strcmp(show(rows[i].req, "device"), show(rows[k].req, "device")) == 0 &&
			        strcmp(show(rows[i].req, "manifest"), show(rows[k].req, "manifest")) == 0;
		if (later)
			continue;
		json_t *q = rows[i].req;
		if (json_object_set_new(q, "decision", json_string(cs_decision(&p, show(q, "manifest")))) != 0 ||
		    json_array_append(out, q) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	printf("%-28s %-10s %-8s %-8s %-8s %-8s %-44s %s\n", "device", "model", "from", "to", "crit", "kind", "manifest",
	       "decision");
	size_t i;
	json_t *q;
	json_array_foreach(out, i, q)
		printf("%-28s %-10s %-8s %-8s %-8s %-8s %-44s %s\n", show(q, "device"), show(q, "model"), show(q, "from"),
		       show(q, "to"), show(q, "criticality"), show(q, "kind"), show(q, "manifest"), show(q, "decision"));
	printf("%zu request(s)\n", json_array_size(out));
	if (c->json_out[0] && json_dump_file(out, c->json_out, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
		snprintf(err, errlen, "cannot write %.200s", c->json_out);
		goto out;
	}
	rc = 0;
out:
	for (size_t k = 0; k < n; k++)
		json_decref(rows[k].req);
	free(rows);
	json_decref(out);
	cs_policy_clear(&p);
	m2m_result_clear(&r);
	return rc;
}

int main(int argc, char **argv)
{
	static struct cfg c;
	char err[CS_ERR_MAX] = "";
	if (cfg_load(&c, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "hearth-consent: %s\n", err);
		return 2;
	}
	if (c.help) {
		usage(stdout);
		return 0;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = -1;
	m2m_client *cl = m2m_client_new(c.url);
	if (!cl || (c.ca[0] && m2m_client_set_tls(cl, c.ca, NULL, NULL) != 0))
		snprintf(err, sizeof(err), "out of memory");
	else if (strcmp(c.cmd, "init") == 0)
		rc = cmd_init(cl, &c, err, sizeof(err));
	else if (strcmp(c.cmd, "requests") == 0)
		rc = cmd_requests(cl, &c, err, sizeof(err));
	else
		rc = cmd_change(cl, &c, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "hearth-consent: %s\n", err);
	m2m_client_free(&cl);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}
