/*
 * dev_config.c - hearth-device configuration; see dev_config.h.
 *
 * Every setting is one row of opt_tab. Values are checked when they are
 * applied (a bad one is an error naming where it came from: "--serial" or
 * "dev.ini:7: [device] serial"), so a loaded config only holds values that
 * passed. The INI reader is libinih; only the first error is reported.
 */
#include "ae/device/dev_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cse/log.h"
#include "cse/version.h"

#define CFG_MAX_TEXT 1024u
#define CFG_SHOW_MAX 64u

enum kind {
	K_URL,     /* http(s)://host[:port][/] */
	K_ID,      /* CSE-ID / resource name: letters, digits, '-', '.', '_' */
	K_ORIG,    /* "C", "S", or C.../S... followed by ID characters */
	K_APPID,   /* N... or R... followed by ID characters */
	K_TOKEN,   /* dev_is_token */
	K_VERSION, /* dev_is_version */
	K_TEXT,    /* printable, no control characters, 1..256 */
	K_ADDR,    /* IPv4/IPv6 literal */
	K_POA,     /* "" or http://... */
	K_PATH,    /* non-empty path */
	K_FILE,    /* "" or a path */
	K_SWLIST,  /* name=version,... */
	K_PORT,    /* 0..65535 */
	K_LONG,    /* long in [min, max] */
	K_INT,     /* int in [min, max] */
	K_LEVEL,   /* error|warn|info|debug */
	K_CRASH,   /* none|download|install|confirm */
};

enum {
	O_CSE_URL, O_CSE_ID, O_CSE_RN, O_ORIG, O_AE_NAME, O_APP_ID,
	O_LISTEN_ADDR, O_LISTEN_PORT, O_POA,
	O_MAN, O_MOD, O_SERIAL, O_HWV, O_DTY, O_DLB, O_FWV, O_FWN, O_SWV, O_SOFTWARE,
	O_NODE, O_STATE_DIR, O_MAX_IMAGE, O_DL_TIMEOUT, O_LOG_LEVEL, O_CRASH, O_ANNC,
	O_KEY, O_CERT, O_MANAGER, O_COUNT
};

typedef struct opt {
	const char *sect, *key, *flag;
	enum kind kind;
	size_t off;
	long min, max;
	const char *arg, *help, *def; /* def: shown when the default is derived */
} opt;

#define OFF(m) offsetof(dev_config, m)

static const opt opt_tab[O_COUNT] = {
	[O_CSE_URL] = { "cse", "url", "cse-url", K_URL, OFF(cse_url), 0, 0, "URL",
		"the gateway CSE's HTTP binding, scheme://host:port (no path)", NULL },
	[O_CSE_ID] = { "cse", "cse-id", "cse-id", K_ID, OFF(cse_id), 0, 0, "ID",
		"CSE-ID of the gateway, without or with a leading '/'", NULL },
	[O_CSE_RN] = { "cse", "cse-rn", "cse-rn", K_ID, OFF(cse_rn), 0, 0, "NAME",
		"resource name of the gateway's CSEBase", NULL },
	[O_ORIG] = { "cse", "originator", "originator", K_ORIG, OFF(originator), 0, 0, "ID",
		"originator for the first registration: C (the CSE assigns the AE-ID) or the AE-ID to request", NULL },
	[O_AE_NAME] = { "cse", "ae-name", "ae-name", K_ID, OFF(ae_name), 0, 0, "NAME",
		"resource name of the device's <AE>", "<model>-<serial>" },
	[O_APP_ID] = { "cse", "app-id", "app-id", K_APPID, OFF(app_id), 0, 0, "ID",
		"App-ID (api) of the device's <AE>, starting with N or R", NULL },
	[O_LISTEN_ADDR] = { "notify", "addr", "listen-addr", K_ADDR, OFF(listen_addr), 0, 0, "ADDR",
		"listen address of the notification server (IPv4 or IPv6 literal)", NULL },
	[O_LISTEN_PORT] = { "notify", "port", "listen-port", K_PORT, OFF(listen_port), 0, 65535, "PORT",
		"listen port of the notification server (0: any free port)", NULL },
	[O_POA] = { "notify", "poa", "poa", K_POA, OFF(poa), 0, 0, "URL",
		"point of access registered in the <AE>", "http://<listen-addr>:<bound port>" },
	[O_MAN] = { "device", "manufacturer", "manufacturer", K_TOKEN, OFF(manufacturer), 0, 0, "NAME",
		"manufacturer (deviceInfo man; part of the node ID)", NULL },
	[O_MOD] = { "device", "model", "model", K_TOKEN, OFF(model), 0, 0, "NAME",
		"model (deviceInfo mod; part of the node ID)", NULL },
	[O_SERIAL] = { "device", "serial", "serial", K_TOKEN, OFF(serial), 0, 0, "SERIAL",
		"serial number (part of the node ID)", NULL },
	[O_HWV] = { "device", "hw-version", "hw-version", K_VERSION, OFF(hw_version), 0, 0, "VERSION",
		"hardware version (deviceInfo hwv)", NULL },
	[O_DTY] = { "device", "device-type", "device-type", K_TOKEN, OFF(device_type), 0, 0, "TYPE",
		"device type (deviceInfo dty)", NULL },
	[O_DLB] = { "device", "label", "device-label", K_TEXT, OFF(device_label), 0, 0, "TEXT",
		"device label (deviceInfo dlb)", "<manufacturer> <model> <serial>" },
	[O_FWV] = { "device", "fw-version", "fw-version", K_VERSION, OFF(fw_version), 0, 0, "VERSION",
		"factory firmware version (slot A at the first start and after a factory reset)", NULL },
	[O_FWN] = { "device", "fw-name", "fw-name", K_TOKEN, OFF(fw_name), 0, 0, "NAME",
		"firmware name (firmware fwn)", "<model>-fw" },
	[O_SWV] = { "device", "sw-version", "sw-version", K_VERSION, OFF(sw_version), 0, 0, "VERSION",
		"software version of the device (deviceInfo swv)", NULL },
	[O_SOFTWARE] = { "device", "software", "software", K_SWLIST, OFF(software), 0, 0, "NAME=VER,...",
		"factory-installed software packages (one <software> each)", NULL },
	[O_NODE] = { "device", "node-name", "node-name", K_ID, OFF(node_name), 0, 0, "NAME",
		"resource name of the device's <node>", "<ae-name>-node" },
	[O_STATE_DIR] = { "device", "state-dir", "state-dir", K_PATH, OFF(state_dir), 0, 0, "DIR",
		"directory of the state file (state.json) and the firmware slots (created)", NULL },
	[O_MAX_IMAGE] = { "device", "max-image-size", "max-image-size", K_LONG, OFF(max_image), 64,
		1073741824L, "BYTES", "largest image accepted for download (64..1073741824)", NULL },
	[O_DL_TIMEOUT] = { "device", "download-timeout", "download-timeout", K_INT,
		OFF(download_timeout), 1, 3600, "SECONDS", "whole-download time limit (1..3600)", NULL },
	[O_LOG_LEVEL] = { "device", "log-level", "log-level", K_LEVEL, OFF(log_level), 0, 0,
		"error|warn|info|debug", "log verbosity (stderr)", NULL },
	[O_CRASH] = { "test", "crash-after", "test-crash-after", K_CRASH, OFF(crash_after), 0, 0,
		"none|download|install|confirm",
		"testing only: kill the agent with SIGKILL right after that firmware-update phase", NULL },
	[O_ANNC] = { "device", "announce-to", "announce-to", K_ID, OFF(announce_to), 0, 0, "CSE-ID",
		"announce the <node> and its mgmtObjs to this CSE (the operator's IN-CSE), with the "
		"versions and states as announced attributes; empty: no announcement", NULL },
	[O_KEY] = { "device", "key", "key", K_FILE, OFF(key_file), 0, 0, "PEM",
		"the device's P-256 private key: it signs its metadata when the gateway attests it "
		"(empty: a keyless device)", NULL },
	[O_CERT] = { "device", "cert", "cert", K_FILE, OFF(cert_file), 0, 0, "PEM",
		"the device's certificate from its manufacturer's CA (CN = serial, O = manufacturer), "
		"then any intermediate CAs; given with --key", NULL },
	[O_MANAGER] = { "device", "manager", "manager", K_TEXT, OFF(manager), 0, 0, "ORIGINATOR",
		"an originator (the manufacturer's update service, e.g. /id-in/CAcme-updates) allowed to "
		"retrieve and update this device's <node> and firmware (an <accessControlPolicy> of its own); "
		"empty: only the device and the gateway's administrators", NULL },
};

static const char *const ini_sections[] = { "cse", "notify", "device", "test" };
static const char *const crash_names[] = { "none", "download", "install", "confirm" };
static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void err_fmt(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_fmt(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
}

/* A value quoted in a message: control characters shown as '?', cut. */
static const char *show(char *buf, size_t n, const char *v)
{
	size_t i = 0;
	if (!v)
		v = "";
	for (; v[i] && i + 1 < n; i++)
		buf[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
	buf[i] = '\0';
	if (v[i] && n >= 4)
		memcpy(buf + n - 4, "...", 4);
	return buf;
}

static bool kind_is_str(enum kind k)
{
	return k <= K_SWLIST;
}

static char **fld_str(dev_config *c, const opt *o)
{
	return (char **)(void *)((char *)c + o->off);
}

static int *fld_int(dev_config *c, const opt *o)
{
	return (int *)(void *)((char *)c + o->off);
}

static long *fld_long(dev_config *c, const opt *o)
{
	return (long *)(void *)((char *)c + o->off);
}

int dev_is_token(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > DEV_MAX_TOKEN || s[0] == '.')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

int dev_is_version(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > DEV_MAX_VERSION)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+~-", *s))
			return 0;
	return 1;
}

static bool is_id(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

/* scheme://host[:port] with an optional single trailing '/'. */
static bool is_base_url(const char *v)
{
	const char *h;
	if (strncasecmp(v, "http://", 7) == 0)
		h = v + 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		h = v + 8;
	else
		return false;
	if (!*h || strlen(v) > 512)
		return false;
	const char *slash = strchr(h, '/');
	if (slash && slash[1] != '\0')
		return false; /* a path */
	for (const char *p = h; *p && p != slash; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) || strchr("?#@", *p))
			return false;
	return slash != h;
}

int dev_packages_parse(const char *s, dev_package *out, size_t max, char *err, size_t errlen)
{
	size_t n = 0;
	char sv[CFG_SHOW_MAX];
	const char *p = s ? s : "";
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[DEV_MAX_TOKEN + DEV_MAX_VERSION + 2];
		if (len == 0 || len >= sizeof item) {
			err_fmt(err, errlen, "bad package entry '%s' (expected name=version)",
			        show(sv, sizeof sv, p));
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		char *eq = strchr(item, '=');
		if (!eq) {
			err_fmt(err, errlen, "bad package entry '%s' (expected name=version)",
			        show(sv, sizeof sv, item));
			return -1;
		}
		*eq = '\0';
		if (!dev_is_token(item) || !dev_is_version(eq + 1)) {
			err_fmt(err, errlen, "bad package entry '%s=%s' (name: letters, digits, '.', '_', '-'; "
			        "version: letters, digits, '.', '_', '+', '~', '-')",
			        show(sv, sizeof sv, item), eq + 1);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(out[i].name, item) == 0) {
				err_fmt(err, errlen, "package '%s' given twice", item);
				return -1;
			}
		if (n == max) {
			err_fmt(err, errlen, "more than %zu packages", max);
			return -1;
		}
		snprintf(out[n].name, sizeof out[n].name, "%s", item);
		snprintf(out[n].version, sizeof out[n].version, "%s", eq + 1);
		n++;
		p = end ? end + 1 : p + len;
		if (end && !*p) {
			err_fmt(err, errlen, "package list ends with ','");
			return -1;
		}
	}
	return (int)n;
}

/* NULL when v is acceptable for kind k, else what was expected. */
static const char *check_str(enum kind k, const char *v)
{
	size_t len = strlen(v);
	switch (k) {
	case K_URL:
		return is_base_url(v) ? NULL : "http://host:port or https://host:port without a path";
	case K_ID:
		return is_id(v, 128) ? NULL : "letters, digits, '-', '.', '_', starting with a letter or digit";
	case K_ORIG:
		if ((v[0] == 'C' || v[0] == 'S') && (v[1] == '\0' || is_id(v + 1, 127)))
			return NULL;
		return "C, S, or an ID starting with C or S";
	case K_APPID:
		if ((v[0] == 'N' || v[0] == 'R') && v[1] && is_id(v + 1, 127))
			return NULL;
		return "an App-ID starting with N or R";
	case K_TOKEN:
		return dev_is_token(v) ? NULL : "1..64 letters, digits, '.', '_', '-' (not starting with '.')";
	case K_VERSION:
		return dev_is_version(v) ? NULL : "1..64 letters, digits, '.', '_', '+', '~', '-'";
	case K_TEXT:
		if (len == 0 || len > 256)
			return "1..256 characters";
		for (const char *p = v; *p; p++)
			if (iscntrl((unsigned char)*p))
				return "text without control characters";
		return NULL;
	case K_ADDR: {
		unsigned char sa[16];
		if (inet_pton(AF_INET, v, sa) == 1 || inet_pton(AF_INET6, v, sa) == 1)
			return NULL;
		return "an IPv4 or IPv6 address";
	}
	case K_POA:
		if (len == 0)
			return NULL;
		if (len > 512 || strncasecmp(v, "http://", 7) != 0)
			return "an http:// URL";
		for (const char *p = v; *p; p++)
			if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
				return "an http:// URL";
		return NULL;
	case K_FILE:
	case K_PATH:
		if (k == K_FILE && len == 0)
			return NULL;
		if (len == 0 || len > CFG_MAX_TEXT)
			return "a non-empty path";
		for (const char *p = v; *p; p++)
			if (iscntrl((unsigned char)*p))
				return "a path without control characters";
		return NULL;
	case K_SWLIST: {
		dev_package tmp[DEV_MAX_PACKAGES];
		static _Thread_local char why[256];
		if (dev_packages_parse(v, tmp, DEV_MAX_PACKAGES, why, sizeof why) < 0)
			return why;
		return NULL;
	}
	default:
		return "a valid value";
	}
}

static int parse_long(const char *s, long min, long max, long *out)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int name_index(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(v, names[i]) == 0)
			return i;
	return -1;
}

/* Check val for row idx and store it; name says where it came from. */
static int opt_apply(dev_config *c, int idx, const char *val, const char *name, char *err,
                     size_t errlen)
{
	const opt *o = &opt_tab[idx];
	char sv[CFG_SHOW_MAX];
	const char *why = NULL;
	if (!val)
		val = "";
	if (kind_is_str(o->kind)) {
		const char *p = (o->kind == K_ID && (idx == O_CSE_ID || idx == O_ANNC) && val[0] == '/') ? val + 1 : val;
		why = check_str(o->kind, p);
		if (why)
			goto bad;
		char *v = strdup(p);
		if (!v) {
			err_fmt(err, errlen, "%s: out of memory", name);
			return -1;
		}
		size_t l = strlen(v);
		if (o->kind == K_URL && l > 0 && v[l - 1] == '/')
			v[l - 1] = '\0';
		char **f = fld_str(c, o);
		free(*f);
		*f = v;
	} else if (o->kind == K_LEVEL) {
		int l = log_level_parse(val);
		if (l < 0) {
			why = "error, warn, info or debug";
			goto bad;
		}
		*fld_int(c, o) = l;
	} else if (o->kind == K_CRASH) {
		int k = name_index(val, crash_names, 4);
		if (k < 0) {
			why = "none, download, install or confirm";
			goto bad;
		}
		*fld_int(c, o) = k;
	} else {
		long v = 0;
		if (parse_long(val, o->min, o->max, &v) != 0) {
			err_fmt(err, errlen, "%s: invalid value '%s' (expected an integer %ld..%ld)", name,
			        show(sv, sizeof sv, val), o->min, o->max);
			return -1;
		}
		if (o->kind == K_LONG)
			*fld_long(c, o) = v;
		else
			*fld_int(c, o) = (int)v;
	}
	c->set_mask |= 1ul << idx;
	return 0;
bad:
	err_fmt(err, errlen, "%s: invalid value '%s' (expected %s)", name, show(sv, sizeof sv, val), why);
	return -1;
}

static int str_set(char **dst, const char *src)
{
	char *v = strdup(src);
	if (!v)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

/* Settings that follow others, unless given; and the package list. */
static int config_derive(dev_config *c, char *err, size_t errlen)
{
	char buf[512];
	if (!(c->set_mask & (1ul << O_AE_NAME))) {
		snprintf(buf, sizeof buf, "%s-%s", c->model, c->serial);
		if (str_set(&c->ae_name, buf) != 0)
			goto oom;
	}
	if (!(c->set_mask & (1ul << O_NODE))) {
		snprintf(buf, sizeof buf, "%s-node", c->ae_name);
		if (str_set(&c->node_name, buf) != 0)
			goto oom;
	}
	if (!(c->set_mask & (1ul << O_DLB))) {
		snprintf(buf, sizeof buf, "%s %s %s", c->manufacturer, c->model, c->serial);
		if (str_set(&c->device_label, buf) != 0)
			goto oom;
	}
	if (!(c->set_mask & (1ul << O_FWN))) {
		snprintf(buf, sizeof buf, "%s-fw", c->model);
		if (str_set(&c->fw_name, buf) != 0)
			goto oom;
	}
	if ((c->key_file[0] != '\0') != (c->cert_file[0] != '\0')) {
		err_fmt(err, errlen, "--key and --cert go together (a keyless device has neither)");
		return -1;
	}
	int n = dev_packages_parse(c->software, c->packages, DEV_MAX_PACKAGES, err, errlen);
	if (n < 0)
		return -1;
	c->npackages = (size_t)n;
	return 0;
oom:
	err_fmt(err, errlen, "out of memory");
	return -1;
}

void dev_config_init(dev_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->cse_url = strdup("http://127.0.0.1:8080");
	cfg->cse_id = strdup("id-mn");
	cfg->cse_rn = strdup("cse-mn");
	cfg->originator = strdup("C");
	cfg->app_id = strdup("Nhearth-device");
	cfg->listen_addr = strdup("127.0.0.1");
	cfg->listen_port = 8090;
	cfg->poa = strdup("");
	cfg->manufacturer = strdup("Hearth");
	cfg->model = strdup("SIM1");
	cfg->serial = strdup("0001");
	cfg->hw_version = strdup("1.0");
	cfg->device_type = strdup("simulated");
	cfg->fw_version = strdup("1.0.0");
	cfg->sw_version = strdup(HEARTH_VERSION);
	cfg->software = strdup("");
	cfg->announce_to = strdup("");
	cfg->key_file = strdup("");
	cfg->cert_file = strdup("");
	cfg->manager = strdup("");
	cfg->state_dir = strdup("var/device");
	cfg->max_image = 16L * 1024 * 1024;
	cfg->download_timeout = 60;
	cfg->log_level = LOG_INFO;
	cfg->crash_after = DEV_CRASH_NONE;
	char err[64];
	(void)config_derive(cfg, err, sizeof err);
}

void dev_config_clear(dev_config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < O_COUNT; i++)
		if (kind_is_str(opt_tab[i].kind)) {
			char **f = fld_str(cfg, &opt_tab[i]);
			free(*f);
			*f = NULL;
		}
	memset(cfg, 0, sizeof *cfg);
}

static int config_copy(dev_config *dst, const dev_config *src)
{
	*dst = *src;
	for (int i = 0; i < O_COUNT; i++)
		if (kind_is_str(opt_tab[i].kind))
			*fld_str(dst, &opt_tab[i]) = NULL;
	for (int i = 0; i < O_COUNT; i++) {
		if (!kind_is_str(opt_tab[i].kind))
			continue;
		const char *s = *fld_str((dev_config *)src, &opt_tab[i]);
		if (!s || str_set(fld_str(dst, &opt_tab[i]), s) != 0) {
			dev_config_clear(dst);
			return -1;
		}
	}
	return 0;
}

/* ---- INI file ------------------------------------------------------------ */

typedef struct ini_ctx {
	dev_config *cfg;
	const char *path;
	FILE *f;
	int cur;            /* lines handed to inih so far */
	int line;           /* line of the first error, 0 = none */
	bool stop;
	unsigned long seen; /* rows set by this file */
	char *err;
	size_t errlen;
} ini_ctx;

static bool section_known(const char *s)
{
	for (size_t i = 0; i < sizeof ini_sections / sizeof ini_sections[0]; i++)
		if (strcmp(s, ini_sections[i]) == 0)
			return true;
	return false;
}

/* Line reader for inih: counts lines (so errors name theirs) and refuses
 * a line longer than inih's buffer instead of letting it be split. */
static char *ini_read_line(char *str, int num, void *stream)
{
	ini_ctx *x = stream;
	if (x->stop || num < 3)
		return NULL;
	size_t cap = (size_t)num - 1, n = 0;
	int ch;
	while ((ch = getc(x->f)) != EOF) {
		if (ch != '\n' && n >= cap - 1) {
			x->cur++;
			if (!x->line) {
				x->line = x->cur;
				err_fmt(x->err, x->errlen, "%s:%d: line longer than %zu characters", x->path,
				        x->cur, cap - 1);
			}
			x->stop = true;
			return NULL;
		}
		str[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	if (n == 0)
		return NULL;
	str[n] = '\0';
	x->cur++;
	return str;
}

static int ini_on_kv(void *user, const char *section, const char *key, const char *val)
{
	ini_ctx *x = user;
	char ss[CFG_SHOW_MAX], sk[CFG_SHOW_MAX], msg[512], name[128];
	if (x->line)
		return 0;
	int idx = -1;
	if (!section || !section[0] || !section_known(section)) {
		err_fmt(msg, sizeof msg, "key '%s' in unknown section [%s]", show(sk, sizeof sk, key),
		        show(ss, sizeof ss, section));
		goto bad;
	}
	for (int i = 0; i < O_COUNT; i++)
		if (strcmp(section, opt_tab[i].sect) == 0 && strcmp(key, opt_tab[i].key) == 0)
			idx = i;
	if (idx < 0) {
		err_fmt(msg, sizeof msg, "[%s] unknown key '%s'", show(ss, sizeof ss, section),
		        show(sk, sizeof sk, key));
		goto bad;
	}
	if (x->seen & (1ul << idx)) {
		err_fmt(msg, sizeof msg, "[%s] %s given twice", section, key);
		goto bad;
	}
	x->seen |= 1ul << idx;
	snprintf(name, sizeof name, "[%s] %s", section, key);
	if (opt_apply(x->cfg, idx, val, name, msg, sizeof msg) != 0)
		goto bad;
	return 1;
bad:
	x->line = x->cur > 0 ? x->cur : 1;
	err_fmt(x->err, x->errlen, "%s:%d: %s", x->path, x->line, msg);
	return 0;
}

static int config_read_file(dev_config *cfg, const char *path, char *err, size_t errlen)
{
	char sp[256];
	ini_ctx x = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };
	x.f = fopen(path, "r");
	if (!x.f) {
		err_fmt(err, errlen, "cannot open config file '%s': %s", show(sp, sizeof sp, path),
		        strerror(errno));
		return -1;
	}
	int r = ini_parse_stream(ini_read_line, &x, ini_on_kv, &x);
	bool rerr = ferror(x.f) != 0;
	fclose(x.f);
	if (x.line)
		return -1;
	if (r > 0) {
		err_fmt(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		        show(sp, sizeof sp, path), r);
		return -1;
	}
	if (r < 0 || rerr) {
		err_fmt(err, errlen, "%s: cannot read", show(sp, sizeof sp, path));
		return -1;
	}
	return 0;
}

/* ---- command line -------------------------------------------------------- */

enum { OPT_VERSION = 0x100, OPT_ROW = 0x200 };
#define CLI_SHORT "+:c:h"

static void cli_longopts(struct option *lo)
{
	size_t n = 0;
	lo[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	for (int i = 0; i < O_COUNT; i++)
		lo[n++] = (struct option){ opt_tab[i].flag, required_argument, NULL, OPT_ROW + i };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
}

static void cli_error(int c, int argc, char **argv, char *err, size_t errlen)
{
	char sv[CFG_SHOW_MAX];
	const char *a = (optind > 0 && optind <= argc) ? argv[optind - 1] : "";
	if (c == ':')
		err_fmt(err, errlen, "option '%s' requires a value", show(sv, sizeof sv, a));
	else if (strncmp(a, "--", 2) == 0 && optopt != 0)
		err_fmt(err, errlen, "option '%s' takes no value", show(sv, sizeof sv, a));
	else if (strncmp(a, "--", 2) == 0)
		err_fmt(err, errlen, "unknown or ambiguous option '%s' (see --help)", show(sv, sizeof sv, a));
	else if (optopt > 0 && optopt < 0x80 && isprint(optopt))
		err_fmt(err, errlen, "unknown option '-%c' (see --help)", optopt);
	else
		err_fmt(err, errlen, "unknown option '%s' (see --help)", show(sv, sizeof sv, a));
}

int dev_config_load(dev_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct option lo[O_COUNT + 4];
	const char *file = NULL;
	dev_config tmp;
	int c, rc;

	if (err && errlen)
		err[0] = '\0';
	cli_longopts(lo);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CLI_SHORT, lo, NULL)) != -1) {
		if (c == 'c') {
			if (file) {
				err_fmt(err, errlen, "-c/--config given more than once");
				return -1;
			}
			file = optarg;
		} else if (c == 'h') {
			dev_config_usage(argc > 0 ? argv[0] : NULL);
			return 1;
		} else if (c == OPT_VERSION) {
			printf("hearth-device %s\n", HEARTH_VERSION);
			fflush(stdout);
			return 1;
		} else if (c == '?' || c == ':') {
			cli_error(c, argc, argv, err, errlen);
			return -1;
		}
	}
	if (optind < argc) {
		char sv[CFG_SHOW_MAX];
		err_fmt(err, errlen, "unexpected argument '%s' (see --help)", show(sv, sizeof sv, argv[optind]));
		return -1;
	}
	if (config_copy(&tmp, cfg) != 0) {
		err_fmt(err, errlen, "out of memory");
		return -1;
	}
	rc = -1;
	if (file && config_read_file(&tmp, file, err, errlen) != 0)
		goto out;
	optind = 0;
	while ((c = getopt_long(argc, argv, CLI_SHORT, lo, NULL)) != -1) {
		if (c < OPT_ROW || c >= OPT_ROW + O_COUNT)
			continue;
		char name[64];
		snprintf(name, sizeof name, "--%s", opt_tab[c - OPT_ROW].flag);
		if (opt_apply(&tmp, c - OPT_ROW, optarg, name, err, errlen) != 0)
			goto out;
	}
	if (config_derive(&tmp, err, errlen) != 0)
		goto out;
	dev_config_clear(cfg);
	*cfg = tmp;
	memset(&tmp, 0, sizeof tmp);
	rc = 0;
out:
	dev_config_clear(&tmp);
	optind = 0;
	return rc;
}

/* ---- --help -------------------------------------------------------------- */

static void opt_format(const dev_config *c, const opt *o, char *buf, size_t n)
{
	const void *f = (const char *)c + o->off;
	switch (o->kind) {
	case K_LEVEL: {
		int l = *(const int *)f;
		snprintf(buf, n, "%s", l >= 0 && l <= 3 ? level_names[l] : "?");
		break;
	}
	case K_CRASH: {
		int k = *(const int *)f;
		snprintf(buf, n, "%s", k >= 0 && k <= 3 ? crash_names[k] : "?");
		break;
	}
	case K_PORT:
	case K_INT: snprintf(buf, n, "%d", *(const int *)f); break;
	case K_LONG: snprintf(buf, n, "%ld", *(const long *)f); break;
	default: {
		const char *s = *(char *const *)f;
		snprintf(buf, n, "%s", s ? s : "");
		break;
	}
	}
}

void dev_config_usage(const char *prog)
{
	dev_config d;
	const char *base = prog ? strrchr(prog, '/') : NULL;
	base = base ? base + 1 : (prog ? prog : "hearth-device");
	dev_config_init(&d);
	printf("Usage: %s [OPTION]...\n"
	       "Run a simulated home device: an AE registered to a gateway CSE with its\n"
	       "<node> and management objects, executing the firmware, software and\n"
	       "reboot operations the gateway sends (mgmtobj/README.md).\n"
	       "\n"
	       "Settings come from built-in defaults, then the INI file given with -c,\n"
	       "then the other flags, later ones winning.\n"
	       "\n"
	       "  -c, --config FILE\n"
	       "        read settings from the INI file FILE\n",
	       base);
	for (int i = 0; i < O_COUNT; i++) {
		const opt *o = &opt_tab[i];
		char def[256];
		if (o->def)
			snprintf(def, sizeof def, "%s", o->def);
		else
			opt_format(&d, o, def, sizeof def);
		printf("      --%s %s\n"
		       "        %s\n"
		       "        INI: [%s] %s; default: %s\n",
		       o->flag, o->arg, o->help, o->sect, o->key, def[0] ? def : "(empty)");
	}
	printf("  -h, --help\n"
	       "        print this help and exit\n"
	       "      --version\n"
	       "        print the version (%s) and exit\n"
	       "\n"
	       "INI file: sections [cse], [notify], [device] and [test] holding\n"
	       "'key = value' lines; an unknown section or key, a key given twice or a\n"
	       "bad value is an error naming the file and line.\n"
	       "Example:\n"
	       "  [cse]\n"
	       "  url = http://127.0.0.1:8282\n"
	       "  cse-id = id-mn\n"
	       "  cse-rn = cse-mn\n"
	       "  [notify]\n"
	       "  port = 8090\n"
	       "  [device]\n"
	       "  manufacturer = Acme\n"
	       "  model = TH10\n"
	       "  serial = 42\n"
	       "  software = thermo-app=1.2.0,wifi-driver=3.1\n"
	       "  state-dir = /var/lib/hearth-device\n"
	       "\n"
	       "Exit status: 0 after a clean shutdown (SIGINT, SIGTERM) or --help;\n"
	       "1 when the agent cannot start; 2 for a configuration error.\n",
	       HEARTH_VERSION);
	fflush(stdout);
	dev_config_clear(&d);
}
