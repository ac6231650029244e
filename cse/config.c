/*
 * config.c - hearth-cse configuration: defaults, INI file, command line.
 *
 * Every setting is one row of opt_tab: its INI section and key, its long
 * flag, how its value is checked and where it lives in cse_config. The INI
 * reader, the flag parser, config_set() and --help all work from that one
 * table, so a new setting is one row (plus its field and default).
 *
 * Invariants: every string member of a loaded config is a heap copy that
 * passed its check; cse_id, cse_rn and poa follow cse_type, http_addr and
 * http_port unless they were given explicitly (cfg->set_mask). config_load()
 * works on a private copy and swaps it in only when everything parsed, so a
 * failed load changes nothing.
 */
#include "config.h"

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

#include "limits.h"
#include "log.h"
#include "version.h"

#define CFG_DEFAULT_ET_S 157680000L /* 5 years of 365 days */
#define CFG_MAX_ET_S 3153600000L    /* 100 years */
#define CFG_MAX_MNI 1000000000L
#define CFG_MAX_THREADS 64L
#define CFG_MAX_CONN 100000L
#define CFG_MGMT_TIMEOUT_S 300L     /* a management operation without report fails */
#define CFG_MAX_MGMT_TIMEOUT_S 604800L /* one week */
#define CFG_ATTEST_INTERVAL_S 3600L /* device attestation scan */
#define CFG_MAX_SPID 253u           /* DNS name */
#define CFG_MAX_TEXT 4096u          /* paths, URLs, pattern lists */
#define CFG_SHOW_MAX 64u            /* value bytes quoted in an error */

/* How a value is checked and stored. */
enum opt_kind {
	K_ADDR,  /* char *: IPv4 or IPv6 address literal */
	K_PATH,  /* char *: non-empty, no control characters */
	K_FILE,  /* char *: like K_PATH, or empty (= unset) */
	K_CSEID, /* char *: like K_RN, one leading '/' dropped */
	K_RN,    /* char *: letters, digits, '-', '.', '_'; first a letter or digit */
	K_SPID,  /* char *: FQDN, leading "//" dropped, lower-cased */
	K_ORIG,  /* char *: originator, non-empty, no blanks */
	K_URL,   /* char *: scheme://..., no blanks */
	K_OURL,  /* char *: like K_URL, or empty (= unset) */
	K_HOST,  /* char *: host name or address, may be empty, no blanks */
	K_TEXT,  /* char *: any text without control characters, may be empty */
	K_LIST,  /* char *: comma-separated patterns, may be empty, no blanks */
	K_TYPE,  /* int: in | mn | asn */
	K_CAUTH, /* int: none | required */
	K_ONOFF, /* int: off | on (also 0/1, no/yes, false/true) */
	K_LEVEL, /* int: error | warn | info | debug */
	K_INT,   /* int in [min, max] */
	K_UINT,  /* unsigned in [min, max] */
	K_LONG,  /* long in [min, max] */
};

/* Row indexes; bit OPT_BIT(O_x) of set_mask records an explicit value. */
enum {
	O_CSE_ID, O_CSE_RN, O_SP_ID, O_CSE_TYPE, O_ADMIN, O_LOG_LEVEL, O_DEFAULT_ET,
	O_MAX_MNI, O_ALLOWED_AE, O_POA, O_HTTP_ADDR, O_HTTP_PORT, O_HTTP_THREADS,
	O_CONN_LIMIT, O_CONN_TIMEOUT, O_DB, O_MQTT_HOST, O_MQTT_PORT, O_MQTT_USER, O_MQTT_PASS,
	O_MQTT_KEEPALIVE, O_MQTT_CLIENT_ID, O_TLS_CERT, O_TLS_KEY, O_TLS_CA, O_TLS_CLIENT_AUTH,
	O_TLS_ORIGINATORS, O_REG_URL, O_REG_ID, O_REG_RN, O_REG_CHECK, O_MGMT_TIMEOUT,
	O_MQTT_TLS, O_MQTT_TLS_CA, O_MQTT_TLS_CERT, O_MQTT_TLS_KEY, O_OUT_TLS_CA,
	O_ATTEST_DIR, O_ATTEST_INTERVAL, O_UPD_VENDOR_KEYS, O_UPD_OPERATOR_KEY, O_UPD_GATEWAY_KEY,
	O_UPD_CACHE, O_OPERATOR, O_COUNT
};
#define OPT_BIT(i) (1ull << (i))
_Static_assert(O_COUNT <= 64, "set_mask has one bit per option");

typedef struct opt {
	const char *sect, *key; /* INI section and key */
	const char *flag;       /* long command-line flag */
	enum opt_kind kind;
	size_t off;             /* member of cse_config */
	long min, max;          /* K_INT, K_UINT, K_LONG */
	const char *arg;        /* placeholder in --help */
	const char *help;
	const char *def;        /* default shown in --help when not a plain value */
} opt;

#define OFF(m) offsetof(cse_config, m)

static const opt opt_tab[O_COUNT] = {
	[O_CSE_ID] = { "cse", "cse-id", "cse-id", K_CSEID, OFF(cse_id), 0, 0, "ID",
		"CSE-ID, without or with a leading '/'", "id-in, id-mn or id-asn by cse-type" },
	[O_CSE_RN] = { "cse", "cse-rn", "cse-rn", K_RN, OFF(cse_rn), 0, 0, "NAME",
		"resource name of the CSEBase", "cse-in, cse-mn or cse-asn by cse-type" },
	[O_SP_ID] = { "cse", "sp-id", "sp-id", K_SPID, OFF(sp_id), 0, 0, "FQDN",
		"M2M service provider ID (a leading \"//\" is dropped)", NULL },
	[O_CSE_TYPE] = { "cse", "cse-type", "cse-type", K_TYPE, OFF(cse_type), 0, 0, "in|mn|asn",
		"CSE type", NULL },
	[O_ADMIN] = { "cse", "admin", "admin", K_ORIG, OFF(admin), 0, 0, "ORIGINATOR",
		"originator with full access to every resource", NULL },
	[O_OPERATOR] = { "cse", "operator", "operator", K_ORIG, OFF(operator_id), 0, 0, "ORIGINATOR",
		"the device-management operator (its updates coordinator): may retrieve and discover the "
		"CSEBase, <remoteCSE>s, <node>s and mgmtObjs (and their announced copies), update "
		"mgmtObjs, subscribe to them and create containers under the CSEBase; nothing else "
		"(README \"Access control\"); empty: none", NULL },
	[O_LOG_LEVEL] = { "cse", "log-level", "log-level", K_LEVEL, OFF(log_level), 0, 0,
		"error|warn|info|debug", "log verbosity (stderr)", NULL },
	[O_DEFAULT_ET] = { "cse", "default-et", "default-et", K_LONG, OFF(default_et_s), 1,
		CFG_MAX_ET_S, "SECONDS", "expiration offset given to new resources without et (1..3153600000)", NULL },
	[O_MAX_MNI] = { "cse", "max-mni", "max-mni", K_LONG, OFF(max_mni), 0, CFG_MAX_MNI, "N",
		"cap on a container's maxNrOfInstances (0 = no cap; 0..1000000000)", NULL },
	[O_ALLOWED_AE] = { "cse", "allowed-ae", "allowed-ae", K_LIST, OFF(allowed_ae), 0, 0,
		"PATTERNS", "comma-separated originators allowed to register AEs ('*' wildcard)", NULL },
	[O_POA] = { "cse", "poa", "poa", K_URL, OFF(poa), 0, 0, "URL",
		"point of access advertised in the CSEBase", "http://ADDR:PORT" },
	[O_HTTP_ADDR] = { "http", "addr", "http-addr", K_ADDR, OFF(http_addr), 0, 0, "ADDR",
		"HTTP listen address (IPv4 or IPv6 literal)", NULL },
	[O_HTTP_PORT] = { "http", "port", "http-port", K_INT, OFF(http_port), 1, 65535, "PORT",
		"HTTP listen port (1..65535)", NULL },
	[O_HTTP_THREADS] = { "http", "threads", "http-threads", K_INT, OFF(http_threads), 1,
		CFG_MAX_THREADS, "N", "HTTP worker threads (1..64)", NULL },
	[O_CONN_LIMIT] = { "http", "conn-limit", "conn-limit", K_UINT, OFF(http_conn_limit), 1,
		CFG_MAX_CONN, "N", "open HTTP connections; above it requests get HTTP 503 (1..100000)", NULL },
	[O_CONN_TIMEOUT] = { "http", "conn-timeout", "conn-timeout", K_UINT, OFF(http_conn_timeout), 1,
		3600, "SECONDS", "idle seconds before an HTTP connection is closed (1..3600)", NULL },
	[O_DB] = { "store", "db", "db", K_PATH, OFF(db_path), 0, 0, "PATH",
		"SQLite database file (its directory is created)", NULL },
	[O_MQTT_HOST] = { "mqtt", "host", "mqtt-host", K_HOST, OFF(mqtt_host), 0, 0, "HOST",
		"MQTT broker to connect to (TS-0010); empty = no MQTT binding", NULL },
	[O_MQTT_PORT] = { "mqtt", "port", "mqtt-port", K_INT, OFF(mqtt_port), 1, 65535, "PORT",
		"MQTT broker port (1..65535)", "1883; 8883 with TLS" },
	[O_MQTT_USER] = { "mqtt", "username", "mqtt-username", K_TEXT, OFF(mqtt_username), 0, 0,
		"NAME", "MQTT user name (empty = none)", NULL },
	[O_MQTT_PASS] = { "mqtt", "password", "mqtt-password", K_TEXT, OFF(mqtt_password), 0, 0,
		"SECRET", "MQTT password (empty = none; prefer the INI file to the command line)", NULL },
	[O_MQTT_KEEPALIVE] = { "mqtt", "keepalive", "mqtt-keepalive", K_INT, OFF(mqtt_keepalive), 5,
		3600, "SECONDS", "MQTT keep-alive interval (5..3600)", NULL },
	[O_MQTT_CLIENT_ID] = { "mqtt", "client-id", "mqtt-client-id", K_TEXT, OFF(mqtt_client_id), 0,
		0, "ID", "MQTT client identifier", "C::<cse-id>" },
	[O_TLS_CERT] = { "http", "tls-cert", "http-tls-cert", K_FILE, OFF(http_tls_cert), 0, 0,
		"PEM", "server certificate (chain) file; set with tls-key, it turns on HTTPS", NULL },
	[O_TLS_KEY] = { "http", "tls-key", "http-tls-key", K_FILE, OFF(http_tls_key), 0, 0,
		"PEM", "private key file of the server certificate", NULL },
	[O_TLS_CA] = { "http", "tls-ca", "http-tls-ca", K_FILE, OFF(http_tls_ca), 0, 0,
		"PEM", "CA certificate(s) that issue client certificates (tls-client-auth)", NULL },
	[O_TLS_CLIENT_AUTH] = { "http", "tls-client-auth", "http-client-auth", K_CAUTH,
		OFF(http_tls_client_auth), 0, 0, "none|required",
		"required: only clients with a certificate from tls-ca; originator bound to it", NULL },
	[O_TLS_ORIGINATORS] = { "http", "tls-originators", "http-tls-originators", K_LIST,
		OFF(http_tls_originators), 0, 0, "CN=ORIG,...",
		"originators a client certificate may use: subject-CN pattern = originator "
		"pattern ('*' wildcard); empty = the CN itself", NULL },
	[O_REG_URL] = { "registrar", "url", "registrar-url", K_OURL, OFF(registrar_url), 0, 0, "URL",
		"point of access of the registrar CSE (http://host:port or mqtt://broker:port); "
		"empty = no registrar (an IN-CSE)", NULL },
	[O_REG_ID] = { "registrar", "cse-id", "registrar-id", K_CSEID, OFF(registrar_id), 0, 0, "ID",
		"CSE-ID of the registrar", NULL },
	[O_REG_RN] = { "registrar", "rn", "registrar-rn", K_RN, OFF(registrar_rn), 0, 0, "NAME",
		"resource name of the registrar's CSEBase", NULL },
	[O_REG_CHECK] = { "registrar", "check-interval", "registrar-check", K_INT, OFF(registrar_check_s),
		1, 86400, "SECONDS", "how often the link to the registrar and to registered CSEs is checked",
		NULL },
	[O_MGMT_TIMEOUT] = { "mgmt", "timeout", "mgmt-timeout", K_LONG, OFF(mgmt_timeout_s), 1,
		CFG_MAX_MGMT_TIMEOUT_S, "SECONDS",
		"a device-management operation without a report by then fails with reason timeout (1..604800)",
		NULL },
	[O_MQTT_TLS] = { "mqtt", "tls", "mqtt-tls", K_ONOFF, OFF(mqtt_tls), 0, 0, "on|off",
		"TLS to the broker, its certificate and host name verified (default port 8883)",
		"off; on when tls-ca or tls-cert is given" },
	[O_MQTT_TLS_CA] = { "mqtt", "tls-ca", "mqtt-tls-ca", K_FILE, OFF(mqtt_tls_ca), 0, 0, "PEM",
		"CA certificate(s) that verify the broker; empty = the system's CA store", NULL },
	[O_MQTT_TLS_CERT] = { "mqtt", "tls-cert", "mqtt-tls-cert", K_FILE, OFF(mqtt_tls_cert), 0, 0,
		"PEM", "client certificate (chain) presented to the broker; set with tls-key", NULL },
	[O_MQTT_TLS_KEY] = { "mqtt", "tls-key", "mqtt-tls-key", K_FILE, OFF(mqtt_tls_key), 0, 0,
		"PEM", "private key file of the MQTT client certificate", NULL },
	[O_OUT_TLS_CA] = { "transport", "tls-ca", "transport-tls-ca", K_FILE, OFF(out_tls_ca), 0, 0,
		"PEM", "CA certificate(s) that verify HTTPS peers of outgoing requests (notifications, "
		"forwarding, registration); empty = the system's CA store", NULL },
	[O_ATTEST_DIR] = { "attest", "trust-dir", "attest-trust-dir", K_FILE, OFF(attest_trust_dir), 0, 0, "DIR",
		"directory of manufacturer CA certificates (<manufacturer>.pem); set, it turns on device "
		"attestation (empty = off)", NULL },
	[O_ATTEST_INTERVAL] = { "attest", "interval", "attest-interval", K_LONG, OFF(attest_interval_s), 0,
		CFG_MAX_MGMT_TIMEOUT_S, "SECONDS",
		"how often every device is attested again (0 = at registration only; 0..604800)", NULL },
	[O_UPD_VENDOR_KEYS] = { "update", "vendor-keys", "update-vendor-keys", K_FILE, OFF(update_vendor_keys), 0,
		0, "DIR", "directory of manufacturers' manifest public keys (<manufacturer>.pem, "
		"<manufacturer>-<n>.pem); set, it turns on verified firmware updates (empty = off)", NULL },
	[O_UPD_OPERATOR_KEY] = { "update", "operator-key", "update-operator-key", K_FILE, OFF(update_operator_key),
		0, 0, "PEM", "the coordinator's public key, which signs device assignments", NULL },
	[O_UPD_GATEWAY_KEY] = { "update", "gateway-key", "update-gateway-key", K_FILE, OFF(update_gateway_key), 0,
		0, "PEM", "this gateway's private P-256 key, to decrypt images encrypted for it (empty = none)",
		NULL },
	[O_UPD_CACHE] = { "update", "cache", "update-cache", K_FILE, OFF(update_cache), 0, 0, "DIR",
		"directory of verified images served to devices at /hearth-cache/", "update-cache next to the database" },
};

static const char *const cauth_names[] = { [0] = "none", [1] = "required" };
static const char *const onoff_names[] = { [0] = "off", [1] = "on" };

static const char *const type_names[] = {
	[CSE_TYPE_IN] = "in", [CSE_TYPE_MN] = "mn", [CSE_TYPE_ASN] = "asn",
};
static const char *const level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static const char *const type_ids[] = {
	[CSE_TYPE_IN] = "id-in", [CSE_TYPE_MN] = "id-mn", [CSE_TYPE_ASN] = "id-asn",
};
static const char *const type_rns[] = {
	[CSE_TYPE_IN] = "cse-in", [CSE_TYPE_MN] = "cse-mn", [CSE_TYPE_ASN] = "cse-asn",
};

static const char *const ini_sections[] = { "cse", "http", "store", "mqtt", "registrar",
                                            "mgmt", "transport", "attest" };

/* ---- small helpers ------------------------------------------------------ */

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

/* Copy v for quoting in a one-line message: control characters become '?',
 * long values are cut and end in "...". */
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

/* Free a string setting; its bytes are overwritten first, since one of
 * them is a password. */
static void str_free_wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

static bool kind_is_str(enum opt_kind k)
{
	return k <= K_LIST;
}

static char **fld_str(cse_config *c, const opt *o)
{
	return (char **)(void *)((char *)c + o->off);
}

static const void *fld_ro(const cse_config *c, const opt *o)
{
	return (const char *)c + o->off;
}

static int *fld_int(cse_config *c, const opt *o)
{
	return (int *)(void *)((char *)c + o->off);
}

static unsigned *fld_uint(cse_config *c, const opt *o)
{
	return (unsigned *)(void *)((char *)c + o->off);
}

static long *fld_long(cse_config *c, const opt *o)
{
	return (long *)(void *)((char *)c + o->off);
}

/* Strict base-10 integer: optional '-', digits only, nothing after. */
static int parse_long(const char *s, long min, long max, long *out)
{
	const char *d = (s[0] == '-') ? s + 1 : s;
	if (!isdigit((unsigned char)d[0]))
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static bool has_blank_or_cntrl(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

/* NULL when v is acceptable for kind k, else what was expected. */
static const char *check_str(enum opt_kind k, const char *v)
{
	size_t len = strlen(v);
	switch (k) {
	case K_ADDR: {
		unsigned char sa[16];
		if (inet_pton(AF_INET, v, sa) == 1 || inet_pton(AF_INET6, v, sa) == 1)
			return NULL;
		return "an IPv4 or IPv6 address";
	}
	case K_FILE:
		if (len == 0)
			return NULL;
		/* fall through */
	case K_PATH:
		if (len == 0 || len > CFG_MAX_TEXT)
			return "a non-empty path";
		for (const char *p = v; *p; p++)
			if (iscntrl((unsigned char)*p))
				return "a path without control characters";
		return NULL;
	case K_CSEID:
	case K_RN:
		if (len == 0 || len > HL_MAX_RN || !isalnum((unsigned char)v[0]))
			goto bad_id;
		for (const char *p = v; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
				goto bad_id;
		return NULL;
	bad_id:
		return "letters, digits, '-', '.', '_', starting with a letter or digit";
	case K_SPID:
		if (len == 0 || len > CFG_MAX_SPID || v[0] == '.' || v[0] == '-')
			goto bad_fqdn;
		for (const char *p = v; *p; p++)
			if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
			    *p != '-' && *p != '.')
				goto bad_fqdn;
		return NULL;
	bad_fqdn:
		return "a domain name: letters, digits, '-', '.'";
	case K_ORIG:
		if (len == 0 || len > HL_MAX_ID || has_blank_or_cntrl(v))
			return "a non-empty originator without blanks";
		return NULL;
	case K_OURL:
		if (len == 0)
			return NULL;
		/* fall through */
	case K_URL:
		if (len == 0 || len > CFG_MAX_TEXT || has_blank_or_cntrl(v) ||
		    !strstr(v, "://") || !isalpha((unsigned char)v[0]))
			return "a URL such as http://host:port";
		return NULL;
	case K_HOST:
		if (len > CFG_MAX_SPID || has_blank_or_cntrl(v) || strpbrk(v, "/?#@"))
			return "a host name or address without blanks";
		return NULL;
	case K_TEXT:
		if (len > HL_MAX_ID)
			return "at most 1024 bytes";
		for (const char *p = v; *p; p++)
			if (iscntrl((unsigned char)*p))
				return "text without control characters";
		return NULL;
	case K_LIST:
		if (len > CFG_MAX_TEXT || has_blank_or_cntrl(v))
			return "comma-separated patterns without blanks";
		return NULL;
	default:
		return "a valid value";
	}
}

/* Text of one setting, for --help defaults. */
static void opt_format(const cse_config *c, const opt *o, char *buf, size_t n)
{
	const void *f = fld_ro(c, o);
	switch (o->kind) {
	case K_TYPE: {
		int t = *(const int *)f;
		snprintf(buf, n, "%s", t >= CSE_TYPE_IN && t <= CSE_TYPE_ASN ? type_names[t] : "?");
		break;
	}
	case K_CAUTH:
		snprintf(buf, n, "%s", cauth_names[*(const int *)f ? 1 : 0]);
		break;
	case K_ONOFF:
		snprintf(buf, n, "%s", onoff_names[*(const int *)f ? 1 : 0]);
		break;
	case K_LEVEL: {
		int l = *(const int *)f;
		snprintf(buf, n, "%s", l >= LOG_ERROR && l <= LOG_DEBUG ? level_names[l] : "?");
		break;
	}
	case K_INT: snprintf(buf, n, "%d", *(const int *)f); break;
	case K_UINT: snprintf(buf, n, "%u", *(const unsigned *)f); break;
	case K_LONG: snprintf(buf, n, "%ld", *(const long *)f); break;
	default: {
		const char *s = *(char *const *)f;
		snprintf(buf, n, "%s", s ? s : "");
		break;
	}
	}
}

/* ---- applying one value ------------------------------------------------- */

/* Check val for row idx and store it in c. name says where the value came
 * from ("--http-port", "[http] port"). On error c is unchanged. */
static int opt_apply(cse_config *c, int idx, const char *val, const char *name,
                     char *err, size_t errlen)
{
	const opt *o = &opt_tab[idx];
	char sv[CFG_SHOW_MAX];
	const char *why = NULL;

	if (!val)
		val = "";
	if (kind_is_str(o->kind)) {
		const char *p = val;
		if (o->kind == K_CSEID && p[0] == '/')
			p++;
		if (o->kind == K_SPID && strncmp(p, "//", 2) == 0)
			p += 2;
		char *v = strdup(p);
		if (!v) {
			err_fmt(err, errlen, "%s: out of memory", name);
			return -1;
		}
		if (o->kind == K_SPID)
			for (char *q = v; *q; q++)
				*q = (char)tolower((unsigned char)*q);
		why = check_str(o->kind, v);
		if (why) {
			free(v);
			goto bad;
		}
		char **f = fld_str(c, o);
		str_free_wipe(*f);
		*f = v;
	} else if (o->kind == K_TYPE) {
		int t = 0;
		for (int i = CSE_TYPE_IN; i <= CSE_TYPE_ASN; i++)
			if (strcasecmp(val, type_names[i]) == 0)
				t = i;
		if (!t) {
			why = "in, mn or asn";
			goto bad;
		}
		*fld_int(c, o) = t;
	} else if (o->kind == K_CAUTH) {
		int a = -1;
		for (int i = 0; i < 2; i++)
			if (strcasecmp(val, cauth_names[i]) == 0)
				a = i;
		if (a < 0) {
			why = "none or required";
			goto bad;
		}
		*fld_int(c, o) = a;
	} else if (o->kind == K_ONOFF) {
		static const char *const yes[] = { "on", "1", "yes", "true" };
		static const char *const no[] = { "off", "0", "no", "false" };
		int a = -1;
		for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
			if (strcasecmp(val, yes[i]) == 0)
				a = 1;
			if (strcasecmp(val, no[i]) == 0)
				a = 0;
		}
		if (a < 0) {
			why = "on or off";
			goto bad;
		}
		*fld_int(c, o) = a;
	} else if (o->kind == K_LEVEL) {
		int l = log_level_parse(val);
		if (l < 0) {
			why = "error, warn, info or debug";
			goto bad;
		}
		*fld_int(c, o) = l;
	} else {
		long v = 0;
		if (parse_long(val, o->min, o->max, &v) != 0) {
			why = "an integer in range";
			goto bad;
		}
		if (o->kind == K_INT)
			*fld_int(c, o) = (int)v;
		else if (o->kind == K_UINT)
			*fld_uint(c, o) = (unsigned)v;
		else
			*fld_long(c, o) = v;
	}
	c->set_mask |= OPT_BIT(idx);
	return 0;

bad:
	if (o->kind == K_INT || o->kind == K_UINT || o->kind == K_LONG)
		err_fmt(err, errlen, "%s: invalid value '%s' (expected an integer %ld..%ld)", name,
		        show(sv, sizeof sv, val), o->min, o->max);
	else
		err_fmt(err, errlen, "%s: invalid value '%s' (expected %s)", name,
		        show(sv, sizeof sv, val), why);
	return -1;
}

static int str_replace(char **dst, const char *src)
{
	char *v = strdup(src);
	if (!v)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

/* Recompute the settings that follow others unless given explicitly. */
static int config_derive(cse_config *c)
{
	int t = (c->cse_type >= CSE_TYPE_IN && c->cse_type <= CSE_TYPE_ASN) ? c->cse_type
	                                                                    : CSE_TYPE_IN;
	if (!(c->set_mask & OPT_BIT(O_CSE_ID)) && str_replace(&c->cse_id, type_ids[t]) != 0)
		return -1;
	if (!(c->set_mask & OPT_BIT(O_CSE_RN)) && str_replace(&c->cse_rn, type_rns[t]) != 0)
		return -1;
	/* MQTT: a CA or client certificate implies TLS, and TLS port 8883 */
	if (!(c->set_mask & OPT_BIT(O_MQTT_TLS)))
		c->mqtt_tls = (c->mqtt_tls_ca && c->mqtt_tls_ca[0]) ||
		              (c->mqtt_tls_cert && c->mqtt_tls_cert[0]);
	if (!(c->set_mask & OPT_BIT(O_MQTT_PORT)))
		c->mqtt_port = c->mqtt_tls ? 8883 : 1883;
	if (!(c->set_mask & OPT_BIT(O_POA)) && c->http_addr) {
		bool v6 = strchr(c->http_addr, ':') != NULL;
		char buf[128];
		int n = snprintf(buf, sizeof buf, "http://%s%s%s:%d", v6 ? "[" : "", c->http_addr,
		                 v6 ? "]" : "", c->http_port);
		if (n < 0 || (size_t)n >= sizeof buf || str_replace(&c->poa, buf) != 0)
			return -1;
	}
	return 0;
}

/* ---- init, clear, copy -------------------------------------------------- */

void config_init(cse_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->http_addr = strdup("127.0.0.1");
	cfg->http_port = 8080;
	cfg->db_path = strdup("var/hearth.db");
	cfg->sp_id = strdup("hearth.example.com");
	cfg->cse_type = CSE_TYPE_IN;
	cfg->admin = strdup("CAdmin");
	cfg->operator_id = strdup("");
	cfg->log_level = LOG_INFO;
	cfg->default_et_s = CFG_DEFAULT_ET_S;
	cfg->max_mni = 0;
	cfg->http_threads = 16; /* writers wait for the group sync: more threads, bigger batches */
	cfg->http_conn_limit = HL_HTTP_CONN_LIMIT;
	cfg->http_conn_timeout = HL_HTTP_CONN_TIMEOUT_S;
	cfg->allowed_ae = strdup("C*,S*");
	cfg->mqtt_host = strdup("");
	cfg->mqtt_port = 1883;
	cfg->mqtt_username = strdup("");
	cfg->mqtt_password = strdup("");
	cfg->mqtt_keepalive = 60;
	cfg->mqtt_client_id = strdup("");
	cfg->http_tls_cert = strdup("");
	cfg->http_tls_key = strdup("");
	cfg->http_tls_ca = strdup("");
	cfg->http_tls_client_auth = 0;
	cfg->http_tls_originators = strdup("");
	cfg->registrar_url = strdup("");
	cfg->registrar_id = strdup("id-in");
	cfg->registrar_rn = strdup("cse-in");
	cfg->registrar_check_s = 30;
	cfg->mgmt_timeout_s = CFG_MGMT_TIMEOUT_S;
	cfg->mqtt_tls = 0;
	cfg->mqtt_tls_ca = strdup("");
	cfg->mqtt_tls_cert = strdup("");
	cfg->mqtt_tls_key = strdup("");
	cfg->out_tls_ca = strdup("");
	cfg->attest_trust_dir = strdup("");
	cfg->update_vendor_keys = strdup("");
	cfg->update_operator_key = strdup("");
	cfg->update_gateway_key = strdup("");
	cfg->update_cache = strdup("");
	cfg->attest_interval_s = CFG_ATTEST_INTERVAL_S;
	(void)config_derive(cfg); /* cse_id, cse_rn, poa; NULL on failure */
}

void config_clear(cse_config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < O_COUNT; i++)
		if (kind_is_str(opt_tab[i].kind)) {
			char **f = fld_str(cfg, &opt_tab[i]);
			str_free_wipe(*f);
			*f = NULL;
		}
	memset(cfg, 0, sizeof *cfg);
}

static int config_copy(cse_config *dst, const cse_config *src)
{
	*dst = *src;
	for (int i = 0; i < O_COUNT; i++)
		if (kind_is_str(opt_tab[i].kind))
			*fld_str(dst, &opt_tab[i]) = NULL;
	for (int i = 0; i < O_COUNT; i++) {
		if (!kind_is_str(opt_tab[i].kind))
			continue;
		const char *s = *(char *const *)fld_ro(src, &opt_tab[i]);
		if (s && str_replace(fld_str(dst, &opt_tab[i]), s) != 0) {
			config_clear(dst);
			return -1;
		}
	}
	return 0;
}

static int config_complete(const cse_config *c)
{
	for (int i = 0; i < O_COUNT; i++)
		if (kind_is_str(opt_tab[i].kind) &&
		    !*(char *const *)fld_ro(c, &opt_tab[i]))
			return -1;
	return 0;
}

/* ---- config_set ---------------------------------------------------------- */

static bool section_known(const char *s)
{
	for (size_t i = 0; i < sizeof ini_sections / sizeof ini_sections[0]; i++)
		if (strcmp(s, ini_sections[i]) == 0)
			return true;
	return false;
}

/* Row for section/key; -1 with a message when there is none. */
static int opt_find(const char *section, const char *key, const char *val, char *err,
                    size_t errlen)
{
	char sk[CFG_SHOW_MAX], ss[CFG_SHOW_MAX], sv[CFG_SHOW_MAX];
	if (!section || !section[0]) {
		err_fmt(err, errlen, "key '%s' (value '%s') outside any section",
		        show(sk, sizeof sk, key), show(sv, sizeof sv, val));
		return -1;
	}
	if (!section_known(section)) {
		err_fmt(err, errlen, "unknown section [%s] (key '%s', value '%s')",
		        show(ss, sizeof ss, section), show(sk, sizeof sk, key),
		        show(sv, sizeof sv, val));
		return -1;
	}
	for (int i = 0; i < O_COUNT; i++)
		if (key && strcmp(section, opt_tab[i].sect) == 0 && strcmp(key, opt_tab[i].key) == 0)
			return i;
	err_fmt(err, errlen, "[%s] unknown key '%s' (value '%s')", show(ss, sizeof ss, section),
	        show(sk, sizeof sk, key), show(sv, sizeof sv, val));
	return -1;
}

int config_set(cse_config *cfg, const char *section, const char *key, const char *val,
               char *err, size_t errlen)
{
	int i = opt_find(section, key, val, err, errlen);
	if (i < 0)
		return -1;
	char name[96];
	snprintf(name, sizeof name, "[%s] %s", opt_tab[i].sect, opt_tab[i].key);
	if (opt_apply(cfg, i, val, name, err, errlen) != 0)
		return -1;
	if (config_derive(cfg) != 0) {
		err_fmt(err, errlen, "%s: out of memory", name);
		return -1;
	}
	return 0;
}

/* ---- INI file ------------------------------------------------------------ */

/* inih reports only the line of the first error; the line reader below counts
 * lines itself so that the handler can name the line of a bad key, and it
 * rejects lines longer than inih's buffer instead of letting inih split
 * them into two lines. */
typedef struct ini_ctx {
	cse_config *cfg;
	const char *path;
	FILE *f;
	int line;      /* lines handed to inih so far */
	int err_line;  /* line of the first error recorded here, 0 = none */
	bool stop;     /* reader refuses further lines */
	unsigned long long seen; /* rows set by this file (OPT_BIT), to catch duplicates */
	char *err;
	size_t errlen;
} ini_ctx;

static void ini_error(ini_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ini_error(ini_ctx *x, const char *fmt, ...)
{
	if (x->err_line)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	x->err_line = x->line;
	err_fmt(x->err, x->errlen, "%s:%d: %s", x->path, x->line, msg);
}

/* "[name]" lines naming an unknown section are errors even when empty. */
static void ini_check_section(ini_ctx *x, const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '[')
		return;
	const char *end = strchr(++s, ']');
	if (!end)
		return; /* inih reports the syntax error */
	char name[CFG_SHOW_MAX];
	size_t n = (size_t)(end - s);
	if (n >= sizeof name)
		n = sizeof name - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	char sn[CFG_SHOW_MAX];
	if (!section_known(name))
		ini_error(x, "unknown section [%s]", show(sn, sizeof sn, name));
}

static char *ini_read_line(char *str, int num, void *stream)
{
	ini_ctx *x = stream;
	if (x->stop || num < 3)
		return NULL;
	size_t cap = (size_t)num - 1; /* bytes, newline included */
	size_t n = 0;
	int ch;
	while ((ch = getc(x->f)) != EOF) {
		if (ch != '\n' && n >= cap - 1) {
			x->line++;
			ini_error(x, "line longer than %zu characters", cap - 1);
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
	x->line++;
	ini_check_section(x, str);
	return str;
}

static int ini_on_kv(void *user, const char *section, const char *key, const char *val)
{
	ini_ctx *x = user;
	char msg[512], name[96], sk[CFG_SHOW_MAX], ss[CFG_SHOW_MAX];
	if (x->err_line)
		return 0; /* only the first error is reported */
	int i = opt_find(section, key, val, msg, sizeof msg);
	if (i < 0) {
		ini_error(x, "%s", msg);
		return 0;
	}
	if (x->seen & OPT_BIT(i)) {
		ini_error(x, "[%s] %s given twice", show(ss, sizeof ss, section),
		          show(sk, sizeof sk, key));
		return 0;
	}
	x->seen |= OPT_BIT(i);
	snprintf(name, sizeof name, "[%s] %s", opt_tab[i].sect, opt_tab[i].key);
	if (opt_apply(x->cfg, i, val, name, msg, sizeof msg) != 0) {
		ini_error(x, "%s", msg);
		return 0;
	}
	return 1;
}

int config_read_file(cse_config *cfg, const char *path, char *err, size_t errlen)
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
	if (x.err_line && (r == 0 || r >= x.err_line))
		return -1; /* message already in err */
	if (r > 0) {
		err_fmt(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
		        show(sp, sizeof sp, path), r);
		return -1;
	}
	if (r < 0) {
		err_fmt(err, errlen, "%s: out of memory", show(sp, sizeof sp, path));
		return -1;
	}
	if (rerr) {
		err_fmt(err, errlen, "%s: read error", show(sp, sizeof sp, path));
		return -1;
	}
	if (config_derive(cfg) != 0) {
		err_fmt(err, errlen, "%s: out of memory", show(sp, sizeof sp, path));
		return -1;
	}
	return 0;
}

/* ---- command line -------------------------------------------------------- */

enum { OPT_VERSION = 0x100, OPT_ROW = 0x200 };

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

/* Message for a '?' or ':' from getopt_long. */
static void cli_error(int c, int argc, char **argv, char *err, size_t errlen)
{
	char sv[CFG_SHOW_MAX];
	const char *a = (optind > 0 && optind <= argc) ? argv[optind - 1] : "";
	bool is_long = strncmp(a, "--", 2) == 0;
	if (c == ':')
		err_fmt(err, errlen, "option '%s' requires a value", show(sv, sizeof sv, a));
	else if (is_long && optopt != 0)
		err_fmt(err, errlen, "option '%s' takes no value", show(sv, sizeof sv, a));
	else if (is_long)
		err_fmt(err, errlen, "unknown or ambiguous option '%s' (see --help)",
		        show(sv, sizeof sv, a));
	else if (optopt > 0 && optopt < 0x80 && isprint(optopt))
		err_fmt(err, errlen, "unknown option '-%c' (see --help)", optopt);
	else
		err_fmt(err, errlen, "unknown option '%s' (see --help)", show(sv, sizeof sv, a));
}

#define CLI_SHORT "+:c:h"

/* First pass: find -c, handle --help/--version, reject unknown flags. */
static int cli_scan(int argc, char **argv, const struct option *lo, const char **file,
                    char *err, size_t errlen)
{
	int c;
	optind = 0; /* glibc: full reset, so config_load can be called again */
	opterr = 0;
	while ((c = getopt_long(argc, argv, CLI_SHORT, lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (*file) {
				err_fmt(err, errlen, "-c/--config given more than once");
				return -1;
			}
			*file = optarg;
			break;
		case 'h':
			config_usage(argc > 0 && argv[0] ? argv[0] : "hearth-cse");
			return 1;
		case OPT_VERSION:
			printf("hearth-cse %s\n", HEARTH_VERSION);
			fflush(stdout);
			return 1;
		case '?':
		case ':':
			cli_error(c, argc, argv, err, errlen);
			return -1;
		default:
			break;
		}
	}
	if (optind < argc) {
		char sv[CFG_SHOW_MAX];
		err_fmt(err, errlen, "unexpected argument '%s' (see --help)",
		        show(sv, sizeof sv, argv[optind]));
		return -1;
	}
	return 0;
}

/* Second pass: apply every flag to cfg, in order. */
static int cli_apply(cse_config *cfg, int argc, char **argv, const struct option *lo,
                     char *err, size_t errlen)
{
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CLI_SHORT, lo, NULL)) != -1) {
		if (c < OPT_ROW || c >= OPT_ROW + O_COUNT)
			continue; /* -c, and errors already handled by cli_scan */
		char name[64];
		snprintf(name, sizeof name, "--%s", opt_tab[c - OPT_ROW].flag);
		if (opt_apply(cfg, c - OPT_ROW, optarg, name, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* The TLS settings only make sense together. */
static int config_check_tls(const cse_config *c, char *err, size_t errlen)
{
	bool cert = c->http_tls_cert[0], key = c->http_tls_key[0];
	if (cert != key) {
		err_fmt(err, errlen, "[http] tls-cert and tls-key must be given together");
		return -1;
	}
	if (c->http_tls_client_auth && !cert) {
		err_fmt(err, errlen, "[http] tls-client-auth = required needs tls-cert and tls-key");
		return -1;
	}
	if (c->http_tls_client_auth && !c->http_tls_ca[0]) {
		err_fmt(err, errlen, "[http] tls-client-auth = required needs tls-ca");
		return -1;
	}
	if (!c->mqtt_tls_cert[0] != !c->mqtt_tls_key[0]) {
		err_fmt(err, errlen, "[mqtt] tls-cert and tls-key must be given together");
		return -1;
	}
	if (!c->mqtt_tls && (c->mqtt_tls_ca[0] || c->mqtt_tls_cert[0])) {
		err_fmt(err, errlen, "[mqtt] tls = off contradicts tls-ca / tls-cert");
		return -1;
	}
	if (c->update_vendor_keys[0] && !c->update_operator_key[0]) {
		err_fmt(err, errlen, "[update] vendor-keys needs operator-key (the coordinator's public key)");
		return -1;
	}
	return 0;
}

int config_load(cse_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	struct option lo[O_COUNT + 4];
	const char *file = NULL;
	cse_config tmp;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	cli_longopts(lo);
	rc = cli_scan(argc, argv, lo, &file, err, errlen);
	if (rc != 0)
		return rc;
	if (config_copy(&tmp, cfg) != 0) {
		err_fmt(err, errlen, "out of memory");
		return -1;
	}
	rc = -1;
	if (file && config_read_file(&tmp, file, err, errlen) != 0)
		goto out;
	if (cli_apply(&tmp, argc, argv, lo, err, errlen) != 0)
		goto out;
	if (config_derive(&tmp) != 0 || config_complete(&tmp) != 0) {
		err_fmt(err, errlen, "out of memory");
		goto out;
	}
	if (config_check_tls(&tmp, err, errlen) != 0)
		goto out;
	config_clear(cfg);
	*cfg = tmp;
	memset(&tmp, 0, sizeof tmp);
	rc = 0;
out:
	config_clear(&tmp);
	optind = 0;
	return rc;
}

/* ---- --help -------------------------------------------------------------- */

void config_usage(const char *prog)
{
	cse_config d;
	const char *base = prog ? strrchr(prog, '/') : NULL;
	base = base ? base + 1 : (prog ? prog : "hearth-cse");

	config_init(&d);
	printf("Usage: %s [OPTION]...\n"
	       "Run Hearth, a oneM2M CSE, with its HTTP binding and, when a broker is\n"
	       "configured, its MQTT binding.\n"
	       "\n"
	       "Settings come from built-in defaults, then the INI file given with -c\n"
	       "(wherever -c appears), then the other flags, later ones winning.\n"
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
	       "INI file: sections [cse], [http], [store], [mqtt], [registrar], [mgmt],\n"
	       "[transport] and [attest] holding 'key = value' lines; lines starting with\n"
	       "';' or '#' are comments, as is ';' after a blank. An unknown section or\n"
	       "key, a key given twice or a bad value is an error naming the file and line.\n"
	       "Example:\n"
	       "  [cse]\n"
	       "  cse-type = mn\n"
	       "  cse-id = id-mn1\n"
	       "  log-level = debug\n"
	       "  [http]\n"
	       "  addr = 0.0.0.0\n"
	       "  port = 8282\n"
	       "  [store]\n"
	       "  db = /var/lib/hearth/hearth.db\n"
	       "  [mqtt]\n"
	       "  host = 127.0.0.1\n"
	       "  port = 1883\n"
	       "  [mgmt]\n"
	       "  timeout = 600\n"
	       "\n"
	       "Exit status: 0 after a clean shutdown (SIGINT, SIGTERM) or --help;\n"
	       "1 when the CSE cannot start; 2 for a configuration error.\n",
	       HEARTH_VERSION);
	fflush(stdout);
	config_clear(&d);
}

int config_update_cache(const cse_config *cfg, char *buf, size_t len)
{
	int n;
	if (cfg->update_cache && cfg->update_cache[0]) {
		n = snprintf(buf, len, "%s", cfg->update_cache);
	} else {
		const char *db = cfg->db_path ? cfg->db_path : "";
		const char *slash = strrchr(db, '/');
		if (slash)
			n = snprintf(buf, len, "%.*s/update-cache", (int)(slash - db), db);
		else
			n = snprintf(buf, len, "update-cache");
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
