/*
 * co_config.c - hearth-coordinator configuration: an INI file (-c FILE,
 * libinih) and flags; a flag overrides the file. Vendor sections are
 * [vendor "<manufacturer>"] with url, ca and key; the flags --vendor
 * NAME=URL, --vendor-ca NAME=FILE and --vendor-key NAME=FILE add or
 * complete the same entries. Every value is checked for length and
 * character set when it is read; the first problem is the error.
 */
#include "ae/coordinator/coord.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int err_set(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a, b ? b : "");
	return -1;
}

/* Copy val into dst (n bytes) when it fits and is printable. */
static int put(char *dst, size_t n, const char *val, const char *what, char *err, size_t errlen)
{
	size_t len = strlen(val);
	if (len == 0 || len >= n)
		return err_set(err, errlen, "%s: empty or too long%s", what, NULL);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
			return err_set(err, errlen, "%s: control character%s", what, NULL);
	memcpy(dst, val, len + 1);
	return 0;
}

static bool name_ok(const char *s)
{
	return m2m_name_ok(s, CO_STR_MAX);
}

const struct co_vendor_cfg *co_config_vendor(const struct co_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nvendors; i++)
		if (strcmp(cfg->vendor[i].name, name) == 0)
			return &cfg->vendor[i];
	return NULL;
}

static struct co_vendor_cfg *vendor_get(struct co_config *cfg, const char *name, char *err, size_t errlen)
{
	if (!name_ok(name)) {
		err_set(err, errlen, "vendor name '%.64s' is not [A-Za-z0-9._-]{1,128}%s", name, NULL);
		return NULL;
	}
	struct co_vendor_cfg *v = (struct co_vendor_cfg *)co_config_vendor(cfg, name);
	if (v)
		return v;
	if (cfg->nvendors >= CO_VENDORS_MAX) {
		err_set(err, errlen, "more than %s vendors%s", "16", NULL);
		return NULL;
	}
	v = &cfg->vendor[cfg->nvendors++];
	memset(v, 0, sizeof(*v));
	memcpy(v->name, name, strlen(name) + 1);
	return v;
}

static int vendor_set(struct co_config *cfg, const char *name, const char *key, const char *val, char *err,
                      size_t errlen)
{
	struct co_vendor_cfg *v = vendor_get(cfg, name, err, errlen);
	if (!v)
		return -1;
	if (strcmp(key, "url") == 0) {
		if (strncmp(val, "https://", 8) != 0 && strncmp(val, "http://", 7) != 0)
			return err_set(err, errlen, "vendor %s: url must be https://host:port%s", name, NULL);
		return put(v->url, sizeof(v->url), val, "vendor url", err, errlen);
	}
	if (strcmp(key, "ca") == 0)
		return put(v->ca, sizeof(v->ca), val, "vendor ca", err, errlen);
	if (strcmp(key, "key") == 0)
		return put(v->key, sizeof(v->key), val, "vendor key", err, errlen);
	if (strcmp(key, "originator") == 0) {
		if (!name_ok(val) || (val[0] != 'C' && val[0] != 'S'))
			return err_set(err, errlen, "vendor %s: originator must be an AE-ID (C... or S...)%s", name, NULL);
		return put(v->originator, sizeof(v->originator), val, "vendor originator", err, errlen);
	}
	return err_set(err, errlen, "[vendor \"%s\"] unknown key '%.64s'", name, key);
}

static int set_in(struct co_config *cfg, const char *key, const char *val, char *err, size_t errlen)
{
	if (strcmp(key, "url") == 0) {
		if (strncmp(val, "https://", 8) != 0 && strncmp(val, "http://", 7) != 0)
			return err_set(err, errlen, "in url '%.64s' must be http(s)://host:port%s", val, NULL);
		return put(cfg->in_url, sizeof(cfg->in_url), val, "in url", err, errlen);
	}
	if (strcmp(key, "cse-id") == 0 || strcmp(key, "cse-rn") == 0 || strcmp(key, "originator") == 0) {
		const char *v = strcmp(key, "cse-id") == 0 && val[0] == '/' ? val + 1 : val;
		if (!name_ok(v))
			return err_set(err, errlen, "in %s '%.64s' is not a name", key, val);
		char *dst = strcmp(key, "cse-id") == 0 ? cfg->cse_id : strcmp(key, "cse-rn") == 0 ? cfg->cse_rn
		                                                                                 : cfg->originator;
		return put(dst, CO_STR_MAX + 1, v, key, err, errlen);
	}
	if (strcmp(key, "ca") == 0)
		return put(cfg->in_ca, sizeof(cfg->in_ca), val, "in ca", err, errlen);
	return err_set(err, errlen, "[in] unknown key '%.64s'%s", key, NULL);
}

static int num(const char *val, unsigned long max, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(val, &end, 10);
	if (errno || !end || *end || val[0] < '0' || val[0] > '9' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* "HH:MM" -> minutes of the day, or -1 */
static int hhmm(const char *s, size_t len)
{
	if (len != 5 || s[2] != ':')
		return -1;
	for (size_t i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	return h < 24 && m < 60 ? h * 60 + m : -1;
}

/* A campaign setting ([campaign] key or the flag --key). */
static int set_campaign(struct co_config *cfg, const char *key, const char *val, char *err, size_t errlen)
{
	unsigned v;
	if (strcmp(key, "waves") == 0) {
		size_t n = 0;
		const char *p = val;
		unsigned prev = 0;
		while (*p) {
			char part[8];
			size_t len = strcspn(p, ",");
			if (len == 0 || len >= sizeof(part) || n >= CO_WAVES_MAX)
				return err_set(err, errlen, "waves '%.64s': at most 16 comma-separated percentages%s", val, NULL);
			memcpy(part, p, len);
			part[len] = '\0';
			if (num(part, 100, &v) != 0 || v == 0 || v <= prev)
				return err_set(err, errlen, "waves '%.64s': percentages must increase from 1 to 100%s", val,
				               NULL);
			cfg->waves[n++] = prev = v;
			p += len + (p[len] == ',');
		}
		if (n == 0 || prev != 100)
			return err_set(err, errlen, "waves '%.64s': the last wave must be 100%s", val, NULL);
		cfg->nwaves = n;
		return 0;
	}
	if (strcmp(key, "success-rate") == 0 || strcmp(key, "failure-threshold") == 0) {
		if (num(val, 100, &v) != 0)
			return err_set(err, errlen, "%s '%.32s' is not a percentage (0-100)", key, val);
		*(key[0] == 's' ? &cfg->success_rate : &cfg->failure_threshold) = v;
		return 0;
	}
	if (strcmp(key, "max-per-minute") == 0) {
		if (num(val, 100000, &v) != 0)
			return err_set(err, errlen, "--max-per-minute '%.32s' is not a number from 0 to 100000%s", val, NULL);
		cfg->max_per_minute = v;
		return 0;
	}
	if (strcmp(key, "wait") == 0) {
		if (num(val, 7 * 24 * 3600, &v) != 0)
			return err_set(err, errlen, "wait '%.32s' is not a number of seconds (at most a week)%s", val, NULL);
		cfg->wait_s = v;
		return 0;
	}
	if (strcmp(key, "window") == 0) {
		const char *dash = strchr(val, '-');
		int a = dash ? hhmm(val, (size_t)(dash - val)) : -1, b = dash ? hhmm(dash + 1, strlen(dash + 1)) : -1;
		if (a < 0 || b < 0 || a == b)
			return err_set(err, errlen, "window '%.32s' is not HH:MM-HH:MM (UTC, start != end)%s", val, NULL);
		cfg->window_start = a;
		cfg->window_end = b;
		return 0;
	}
	if (strcmp(key, "mode") == 0 || strcmp(key, "no-policy") == 0) {
		bool mode = strcmp(key, "mode") == 0;
		const char *a = mode ? "install" : "ask", *b = mode ? "inform" : "auto";
		if (strcmp(val, a) != 0 && strcmp(val, b) != 0)
			return err_set(err, errlen, "%s must be %s", key, mode ? "install or inform" : "ask or auto");
		snprintf(mode ? cfg->mode : cfg->no_policy, sizeof(cfg->mode), "%s", val);
		return 0;
	}
	return err_set(err, errlen, "[campaign] unknown key '%.64s'%s", key, NULL);
}

static int set_listen(struct co_config *cfg, const char *val, char *err, size_t errlen)
{
	const char *colon = strrchr(val, ':');
	unsigned port;
	if (!colon || colon == val || (size_t)(colon - val) >= 40 || num(colon + 1, 65535, &port) != 0)
		return err_set(err, errlen, "listen '%.64s' is not IPv4-address:port%s", val, NULL);
	return put(cfg->listen, sizeof(cfg->listen), val, "listen", err, errlen);
}

typedef struct ini_ctx {
	struct co_config *cfg;
	char *err;
	size_t errlen;
	bool failed;
} ini_ctx;

static int on_kv(void *user, const char *section, const char *key, const char *val)
{
	ini_ctx *x = user;
	if (x->failed)
		return 0;
	int rc = -1;
	size_t sl = strlen(section);
	if (strcmp(section, "in") == 0)
		rc = set_in(x->cfg, key, val, x->err, x->errlen);
	else if (strcmp(section, "operator") == 0 && strcmp(key, "key") == 0)
		rc = put(x->cfg->operator_key, sizeof(x->cfg->operator_key), val, "operator key", x->err, x->errlen);
	else if (strcmp(section, "coordinator") == 0 && strcmp(key, "state-dir") == 0)
		rc = put(x->cfg->state_dir, sizeof(x->cfg->state_dir), val, "state-dir", x->err, x->errlen);
	else if (strcmp(section, "coordinator") == 0 && strcmp(key, "listen") == 0)
		rc = set_listen(x->cfg, val, x->err, x->errlen);
	else if (strcmp(section, "campaign") == 0)
		rc = set_campaign(x->cfg, key, val, x->err, x->errlen);
	else if (sl > 9 && sl < CO_STR_MAX + 10 && strncmp(section, "vendor \"", 8) == 0 && section[sl - 1] == '"') {
		char name[CO_STR_MAX + 2];
		memcpy(name, section + 8, sl - 9);
		name[sl - 9] = '\0';
		rc = vendor_set(x->cfg, name, key, val, x->err, x->errlen);
	} else
		err_set(x->err, x->errlen, "unknown key '%.64s' in section [%.64s]", key, section);
	if (rc != 0)
		x->failed = true;
	return rc == 0;
}

static int read_ini(struct co_config *cfg, const char *path, char *err, size_t errlen)
{
	char inner[CO_ERR_MAX] = "";
	ini_ctx x = { .cfg = cfg, .err = inner, .errlen = sizeof(inner) };
	int r = ini_parse(path, on_kv, &x);
	if (r == -1)
		return err_set(err, errlen, "cannot open config file '%.200s'%s", path, NULL);
	if (r == -2)
		return err_set(err, errlen, "%.200s: out of memory%s", path, NULL);
	if (r > 0) {
		if (x.failed)
			snprintf(err, errlen, "%.200s:%d: %s", path, r, inner);
		else
			snprintf(err, errlen, "%.200s:%d: syntax error", path, r);
		return -1;
	}
	return 0;
}

void co_config_usage(FILE *f)
{
	fputs("usage: hearth-coordinator [-c FILE] [options] inventory|plan|launch|status [--json FILE]\n"
	      "  -c FILE               INI file ([in], [vendor \"NAME\"], [operator], [coordinator])\n"
	      "  --in-url URL          the IN-CSE ([in] url)\n"
	      "  --cse-id ID           its CSE-ID ([in] cse-id, default id-in)\n"
	      "  --cse-rn NAME         its CSEBase name ([in] cse-rn, default cse-in)\n"
	      "  --originator ID       the coordinator's AE-ID ([in] originator, default Ccoordinator)\n"
	      "  --ca FILE             CA file for an https IN ([in] ca)\n"
	      "  --vendor NAME=URL     a manufacturer's hearth-vendor service ([vendor \"NAME\"] url)\n"
	      "  --vendor-ca NAME=FILE its CA file ([vendor \"NAME\"] ca)\n"
	      "  --vendor-key NAME=FILE  its pinned public key PEM ([vendor \"NAME\"] key)\n"
	      "  --vendor-originator NAME=ID  its update service's AE-ID, reader of its notices in inform mode\n"
	      "                        ([vendor \"NAME\"] originator)\n"
	      "  --operator-key FILE   the operator's private key PEM ([operator] key)\n"
	      "  --state-dir DIR       ([coordinator] state-dir)\n"
	      "  --json FILE           also write the result as a JSON array\n"
	      "  --campaign NAME       launch/status: the campaign ([A-Za-z0-9._-], default 'default')\n"
	      "  --max-per-minute N    launch: start at most N devices a minute (default 60, 0: no limit)\n"
	      "  --waves P1,P2,..,100  launch: cumulative wave sizes in %% of the eligible devices (default 100)\n"
	      "  --success-rate P      launch: %% of finished devices successful before the next wave (default 90)\n"
	      "  --failure-threshold P launch: %% of started devices failed that halts the campaign (default 20)\n"
	      "  --window HH:MM-HH:MM  launch: start updates only inside this UTC window\n"
	      "  --mode install|inform launch: start updates, or stage them and inform the user (the\n"
	      "                        manufacturer launches)\n"
	      "  --no-policy ask|auto  launch: consent in a home without a consent policy (default ask)\n"
	      "  --listen HOST:PORT    launch: notification receiver ([coordinator] listen, default 127.0.0.1:0)\n"
	      "  --wait S              launch: wait at most S seconds for the campaign to progress (default 600)\n"
	      "  ([campaign] in the INI file takes the launch settings under the same names)\n"
	      "exit status: 0 done, 1 failed, 2 bad usage\n",
	      f);
}

enum { F_IN_URL = 0x100, F_CSE_ID, F_CSE_RN, F_ORIG, F_CA, F_VENDOR, F_VENDOR_CA, F_VENDOR_KEY, F_OPKEY,
       F_STATE, F_JSON, F_CAMPAIGN, F_RATE, F_WAVES, F_SUCCESS, F_FAILURE, F_WINDOW, F_MODE, F_NOPOLICY, F_LISTEN,
       F_WAIT, F_VENDOR_ORIG };

static int vendor_flag(struct co_config *cfg, const char *arg, const char *key, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || (size_t)(eq - arg) > CO_STR_MAX)
		return err_set(err, errlen, "a vendor option expects NAME=VALUE, got '%.64s'%s", arg, NULL);
	char name[CO_STR_MAX + 1];
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	return vendor_set(cfg, name, key, eq + 1, err, errlen);
}

int co_config_load(struct co_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	static const struct option lo[] = {
		{ "in-url", required_argument, NULL, F_IN_URL }, { "cse-id", required_argument, NULL, F_CSE_ID },
		{ "cse-rn", required_argument, NULL, F_CSE_RN }, { "originator", required_argument, NULL, F_ORIG },
		{ "ca", required_argument, NULL, F_CA },         { "vendor", required_argument, NULL, F_VENDOR },
		{ "vendor-ca", required_argument, NULL, F_VENDOR_CA },
		{ "vendor-key", required_argument, NULL, F_VENDOR_KEY },
		{ "vendor-originator", required_argument, NULL, F_VENDOR_ORIG },
		{ "operator-key", required_argument, NULL, F_OPKEY },
		{ "state-dir", required_argument, NULL, F_STATE }, { "json", required_argument, NULL, F_JSON },
		{ "campaign", required_argument, NULL, F_CAMPAIGN },
		{ "max-per-minute", required_argument, NULL, F_RATE },
		{ "waves", required_argument, NULL, F_WAVES },   { "success-rate", required_argument, NULL, F_SUCCESS },
		{ "failure-threshold", required_argument, NULL, F_FAILURE },
		{ "window", required_argument, NULL, F_WINDOW }, { "mode", required_argument, NULL, F_MODE },
		{ "no-policy", required_argument, NULL, F_NOPOLICY },
		{ "listen", required_argument, NULL, F_LISTEN }, { "wait", required_argument, NULL, F_WAIT },
		{ "help", no_argument, NULL, 'h' },              { NULL, 0, NULL, 0 },
	};
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->cse_id, sizeof(cfg->cse_id), "id-in");
	snprintf(cfg->cse_rn, sizeof(cfg->cse_rn), "cse-in");
	snprintf(cfg->originator, sizeof(cfg->originator), "Ccoordinator");
	snprintf(cfg->campaign, sizeof(cfg->campaign), "default");
	cfg->max_per_minute = 60;
	cfg->waves[0] = 100;
	cfg->nwaves = 1;
	cfg->success_rate = 90;
	cfg->failure_threshold = 20;
	cfg->window_start = cfg->window_end = -1;
	snprintf(cfg->mode, sizeof(cfg->mode), "install");
	snprintf(cfg->no_policy, sizeof(cfg->no_policy), "ask");
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:0");
	cfg->wait_s = 600;
	/* first pass: the file, so that flags override it */
	opterr = 0;
	optind = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		if (c == 'c' && read_ini(cfg, optarg, err, errlen) != 0)
			return -1;
		if (c == 'h')
			cfg->help = true;
		if (c == '?')
			return err_set(err, errlen, "unknown option '%.64s'%s", argv[optind - 1], NULL);
		if (c == ':')
			return err_set(err, errlen, "option '%.64s' needs a value%s", argv[optind - 1], NULL);
	}
	if (cfg->help)
		return 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":c:h", lo, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case F_IN_URL: rc = set_in(cfg, "url", optarg, err, errlen); break;
		case F_CSE_ID: rc = set_in(cfg, "cse-id", optarg, err, errlen); break;
		case F_CSE_RN: rc = set_in(cfg, "cse-rn", optarg, err, errlen); break;
		case F_ORIG: rc = set_in(cfg, "originator", optarg, err, errlen); break;
		case F_CA: rc = set_in(cfg, "ca", optarg, err, errlen); break;
		case F_VENDOR: rc = vendor_flag(cfg, optarg, "url", err, errlen); break;
		case F_VENDOR_CA: rc = vendor_flag(cfg, optarg, "ca", err, errlen); break;
		case F_VENDOR_KEY: rc = vendor_flag(cfg, optarg, "key", err, errlen); break;
		case F_VENDOR_ORIG: rc = vendor_flag(cfg, optarg, "originator", err, errlen); break;
		case F_OPKEY: rc = put(cfg->operator_key, sizeof(cfg->operator_key), optarg, "--operator-key", err, errlen); break;
		case F_STATE: rc = put(cfg->state_dir, sizeof(cfg->state_dir), optarg, "--state-dir", err, errlen); break;
		case F_JSON: rc = put(cfg->json_out, sizeof(cfg->json_out), optarg, "--json", err, errlen); break;
		case F_CAMPAIGN:
			if (!name_ok(optarg) || strlen(optarg) > CO_CAMPAIGN_MAX)
				rc = err_set(err, errlen, "--campaign '%.64s' is not [A-Za-z0-9._-]{1,64}%s", optarg, NULL);
			else
				snprintf(cfg->campaign, sizeof(cfg->campaign), "%s", optarg);
			break;
		case F_RATE: rc = set_campaign(cfg, "max-per-minute", optarg, err, errlen); break;
		case F_WAVES: rc = set_campaign(cfg, "waves", optarg, err, errlen); break;
		case F_SUCCESS: rc = set_campaign(cfg, "success-rate", optarg, err, errlen); break;
		case F_FAILURE: rc = set_campaign(cfg, "failure-threshold", optarg, err, errlen); break;
		case F_WINDOW: rc = set_campaign(cfg, "window", optarg, err, errlen); break;
		case F_MODE: rc = set_campaign(cfg, "mode", optarg, err, errlen); break;
		case F_NOPOLICY: rc = set_campaign(cfg, "no-policy", optarg, err, errlen); break;
		case F_WAIT: rc = set_campaign(cfg, "wait", optarg, err, errlen); break;
		case F_LISTEN: rc = set_listen(cfg, optarg, err, errlen); break;
		default: break;
		}
		if (rc != 0)
			return -1;
	}
	if (optind != argc - 1)
		return err_set(err, errlen, "expected one command, inventory, plan, launch or status%s%s", "", NULL);
	const char *cmd = argv[optind];
	if (strcmp(cmd, "inventory") != 0 && strcmp(cmd, "plan") != 0 && strcmp(cmd, "launch") != 0 &&
	    strcmp(cmd, "status") != 0)
		return err_set(err, errlen, "unknown command '%.32s' (inventory, plan, launch or status)%s", cmd, NULL);
	if (strcmp(cmd, "launch") == 0 && !cfg->operator_key[0])
		return err_set(err, errlen, "launch needs the operator key: [operator] key or --operator-key%s%s", "",
		               NULL);
	snprintf(cfg->command, sizeof(cfg->command), "%s", cmd);
	if (!cfg->in_url[0])
		return err_set(err, errlen, "no IN-CSE: [in] url or --in-url%s%s", "", NULL);
	for (size_t i = 0; i < cfg->nvendors; i++)
		if (!cfg->vendor[i].url[0] || !cfg->vendor[i].key[0])
			return err_set(err, errlen, "vendor %s: url and key are required%s", cfg->vendor[i].name, NULL);
	return 0;
}
