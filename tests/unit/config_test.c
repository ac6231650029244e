/*
 * config_test.c - configuration (defaults, flags, INI file, errors) and the
 * logger's level names and line format.
 *
 * Cases are tables: arguments (and optionally an INI file, written to a
 * temporary file whose path replaces "@CFG" in the arguments) in, expected
 * settings or expected fragments of the error message out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "cse/config.h"
#include "cse/limits.h"
#include "cse/log.h"

#define MAX_ARGS 16
#define MAX_CHECKS 16

typedef struct check {
	const char *field; /* INI key name of the setting */
	const char *want;  /* its expected value, as text */
} check;

typedef struct ok_case {
	const char *name;
	const char *ini; /* NULL: no file */
	const char *args[MAX_ARGS];
	check want[MAX_CHECKS];
} ok_case;

typedef struct bad_case {
	const char *name;
	const char *ini;
	const char *args[MAX_ARGS];
	const char *err_has[3]; /* fragments the message must contain */
} bad_case;

/* ---- helpers ------------------------------------------------------------ */

/* The setting named field as text. */
static const char *field_text(const cse_config *c, const char *field, char *buf, size_t n)
{
	static const char *const types[] = { "?", "in", "mn", "asn" };
	if (strcmp(field, "addr") == 0) return c->http_addr;
	if (strcmp(field, "db") == 0) return c->db_path;
	if (strcmp(field, "cse-id") == 0) return c->cse_id;
	if (strcmp(field, "cse-rn") == 0) return c->cse_rn;
	if (strcmp(field, "sp-id") == 0) return c->sp_id;
	if (strcmp(field, "admin") == 0) return c->admin;
	if (strcmp(field, "poa") == 0) return c->poa;
	if (strcmp(field, "allowed-ae") == 0) return c->allowed_ae;
	if (strcmp(field, "tls-cert") == 0) return c->http_tls_cert;
	if (strcmp(field, "tls-key") == 0) return c->http_tls_key;
	if (strcmp(field, "tls-ca") == 0) return c->http_tls_ca;
	if (strcmp(field, "tls-originators") == 0) return c->http_tls_originators;
	if (strcmp(field, "tls-client-auth") == 0) return c->http_tls_client_auth ? "required" : "none";
	if (strcmp(field, "mqtt-tls-ca") == 0) return c->mqtt_tls_ca;
	if (strcmp(field, "mqtt-tls-cert") == 0) return c->mqtt_tls_cert;
	if (strcmp(field, "mqtt-tls-key") == 0) return c->mqtt_tls_key;
	if (strcmp(field, "mqtt-tls") == 0) return c->mqtt_tls ? "on" : "off";
	if (strcmp(field, "transport-tls-ca") == 0) return c->out_tls_ca;
	if (strcmp(field, "cse-type") == 0)
		return c->cse_type >= 1 && c->cse_type <= 3 ? types[c->cse_type] : "?";
	if (strcmp(field, "port") == 0) snprintf(buf, n, "%d", c->http_port);
	else if (strcmp(field, "threads") == 0) snprintf(buf, n, "%d", c->http_threads);
	else if (strcmp(field, "mqtt-port") == 0) snprintf(buf, n, "%d", c->mqtt_port);
	else if (strcmp(field, "conn-limit") == 0) snprintf(buf, n, "%u", c->http_conn_limit);
	else if (strcmp(field, "log-level") == 0) snprintf(buf, n, "%d", c->log_level);
	else if (strcmp(field, "default-et") == 0) snprintf(buf, n, "%ld", c->default_et_s);
	else if (strcmp(field, "max-mni") == 0) snprintf(buf, n, "%ld", c->max_mni);
	else if (strcmp(field, "timeout") == 0) snprintf(buf, n, "%ld", c->mgmt_timeout_s);
	else fail_msg("test table names unknown field '%s'", field);
	return buf;
}

/* Write text to a new temporary file; returns its malloc'd path. */
static char *temp_file(const char *text)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/hearth-config-XXXXXX", dir && dir[0] ? dir : "/tmp");
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	char *p = strdup(tmpl);
	assert_non_null(p);
	return p;
}

/* Copy of arg with "@CFG" replaced by path. */
static char *subst(const char *arg, const char *path)
{
	const char *at = path ? strstr(arg, "@CFG") : NULL;
	if (!at)
		return strdup(arg);
	size_t len = strlen(arg) - 4 + strlen(path) + 1;
	char *s = malloc(len);
	assert_non_null(s);
	snprintf(s, len, "%.*s%s%s", (int)(at - arg), arg, path, at + 4);
	return s;
}

/* argv = "hearth-cse" + args, "@CFG" replaced by path; every string writable. */
static int make_argv(char **argv, const char *const *args, const char *path)
{
	int n = 0;
	argv[n++] = strdup("hearth-cse");
	for (size_t i = 0; i < MAX_ARGS && args[i]; i++)
		argv[n++] = subst(args[i], path);
	argv[n] = NULL;
	for (int i = 0; i < n; i++)
		assert_non_null(argv[i]);
	return n;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
}

/* Run config_load on a fresh default config; returns its result. */
static int run_load(cse_config *cfg, const char *ini, const char *const *args, char *err,
                    size_t errlen)
{
	char *argv[MAX_ARGS + 2];
	char *path = ini ? temp_file(ini) : NULL;
	int argc = make_argv(argv, args, path);
	config_init(cfg);
	int rc = config_load(cfg, argc, argv, err, errlen);
	free_argv(argv);
	if (path) {
		unlink(path);
		free(path);
	}
	return rc;
}

/* Run fn with stdout sent to /dev/null (for --help and --version). */
static int quiet_load(cse_config *cfg, const char *const *args, char *err, size_t errlen)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int null = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && null >= 0);
	dup2(null, STDOUT_FILENO);
	close(null);
	int rc = run_load(cfg, NULL, args, err, errlen);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return rc;
}

/* ---- successful loads ---------------------------------------------------- */

static const char ini_full[] =
	"; Hearth test configuration\n"
	"# both comment styles\n"
	"[cse]\n"
	"cse-id = /id-file\n"
	"cse-rn = cse-file\n"
	"sp-id = //File.Example.ORG\n"
	"admin = Cfileadmin\n"
	"log-level = warn\n"
	"default-et = 3600\n"
	"max-mni = 50\n"
	"allowed-ae = C*\n"
	"\n"
	"[http]\n"
	"addr = 0.0.0.0\n"
	"port = 7000  ; inline comment\n"
	"threads = 2\n"
	"conn-limit = 20\n"
	"[store]\n"
	"db = /tmp/file.db\n";

static const ok_case ok_cases[] = {
	{ "defaults", NULL, { NULL }, {
		{ "addr", "127.0.0.1" }, { "port", "8080" }, { "db", "var/hearth.db" },
		{ "cse-id", "id-in" }, { "cse-rn", "cse-in" }, { "sp-id", "hearth.example.com" },
		{ "cse-type", "in" }, { "admin", "CAdmin" }, { "log-level", "2" },
		{ "poa", "http://127.0.0.1:8080" }, { "default-et", "157680000" },
		{ "max-mni", "0" }, { "threads", "16" }, { "conn-limit", "1000" },
		{ "allowed-ae", "C*,S*" }, { "timeout", "300" } } },
	{ "TLS off by default", NULL, { NULL }, {
		{ "tls-cert", "" }, { "tls-key", "" }, { "tls-ca", "" }, { "tls-client-auth", "none" },
		{ "tls-originators", "" } } },
	{ "TLS flags", NULL, { "--http-tls-cert", "/p/s.pem", "--http-tls-key", "/p/s.key",
		"--http-tls-ca", "/p/ca.pem", "--http-client-auth", "required",
		"--http-tls-originators", "device-*=Cdev*" }, {
		{ "tls-cert", "/p/s.pem" }, { "tls-key", "/p/s.key" }, { "tls-ca", "/p/ca.pem" },
		{ "tls-client-auth", "required" }, { "tls-originators", "device-*=Cdev*" } } },
	{ "MQTT TLS off by default", NULL, { NULL }, {
		{ "mqtt-tls", "off" }, { "mqtt-port", "1883" }, { "mqtt-tls-ca", "" },
		{ "mqtt-tls-cert", "" }, { "mqtt-tls-key", "" }, { "transport-tls-ca", "" } } },
	{ "MQTT TLS flags", NULL, { "--mqtt-tls-ca", "/p/ca.pem", "--mqtt-tls-cert", "/p/c.pem",
		"--mqtt-tls-key", "/p/c.key" }, {
		{ "mqtt-tls", "on" }, { "mqtt-port", "8883" }, { "mqtt-tls-ca", "/p/ca.pem" },
		{ "mqtt-tls-cert", "/p/c.pem" }, { "mqtt-tls-key", "/p/c.key" } } },
	{ "MQTT TLS on, system CAs", NULL, { "--mqtt-tls", "on" },
		{ { "mqtt-tls", "on" }, { "mqtt-port", "8883" }, { "mqtt-tls-ca", "" } } },
	{ "MQTT TLS, explicit port", NULL, { "--mqtt-port", "18883", "--mqtt-tls", "yes" },
		{ { "mqtt-tls", "on" }, { "mqtt-port", "18883" } } },
	{ "MQTT TLS off again", NULL, { "--mqtt-tls", "on", "--mqtt-tls", "off" },
		{ { "mqtt-tls", "off" }, { "mqtt-port", "1883" } } },
	{ "MQTT TLS ini", "[mqtt]\nhost = b.example\ntls-ca = /etc/ca.pem\n[transport]\ntls-ca = /etc/out.pem\n",
		{ "-c", "@CFG" }, { { "mqtt-tls", "on" }, { "mqtt-port", "8883" },
		{ "mqtt-tls-ca", "/etc/ca.pem" }, { "transport-tls-ca", "/etc/out.pem" } } },
	{ "--transport-tls-ca", NULL, { "--transport-tls-ca", "/p/out.pem" },
		{ { "transport-tls-ca", "/p/out.pem" }, { "mqtt-tls", "off" } } },
	{ "--http-addr", NULL, { "--http-addr", "0.0.0.0" },
		{ { "addr", "0.0.0.0" }, { "poa", "http://0.0.0.0:8080" } } },
	{ "--http-addr v6", NULL, { "--http-addr", "::1" },
		{ { "addr", "::1" }, { "poa", "http://[::1]:8080" } } },
	{ "--http-port", NULL, { "--http-port", "9000" },
		{ { "port", "9000" }, { "poa", "http://127.0.0.1:9000" } } },
	{ "--http-port=", NULL, { "--http-port=65535" }, { { "port", "65535" } } },
	{ "--http-port 1", NULL, { "--http-port", "1" }, { { "port", "1" } } },
	{ "--db", NULL, { "--db", "/srv/h.db" }, { { "db", "/srv/h.db" } } },
	{ "--cse-id", NULL, { "--cse-id", "id-x1" }, { { "cse-id", "id-x1" } } },
	{ "--cse-id slash", NULL, { "--cse-id", "/id-x_2.a" }, { { "cse-id", "id-x_2.a" } } },
	{ "--cse-rn", NULL, { "--cse-rn", "myCSE" }, { { "cse-rn", "myCSE" } } },
	{ "--sp-id", NULL, { "--sp-id", "//Example.COM" }, { { "sp-id", "example.com" } } },
	{ "--cse-type in", NULL, { "--cse-type", "in" },
		{ { "cse-type", "in" }, { "cse-id", "id-in" } } },
	{ "--cse-type mn", NULL, { "--cse-type", "mn" },
		{ { "cse-type", "mn" }, { "cse-id", "id-mn" }, { "cse-rn", "cse-mn" } } },
	{ "--cse-type asn", NULL, { "--cse-type", "asn" },
		{ { "cse-type", "asn" }, { "cse-id", "id-asn" }, { "cse-rn", "cse-asn" } } },
	{ "mn explicit id", NULL, { "--cse-id", "mine", "--cse-type", "mn" },
		{ { "cse-id", "mine" }, { "cse-rn", "cse-mn" } } },
	{ "mn explicit rn", NULL, { "--cse-type", "mn", "--cse-rn", "base" },
		{ { "cse-id", "id-mn" }, { "cse-rn", "base" } } },
	{ "--admin", NULL, { "--admin", "Csuper" }, { { "admin", "Csuper" } } },
	{ "--log-level", NULL, { "--log-level", "debug" }, { { "log-level", "3" } } },
	{ "--log-level error", NULL, { "--log-level", "error" }, { { "log-level", "0" } } },
	{ "--poa", NULL, { "--poa", "http://cse.example:80", "--http-port", "81" },
		{ { "poa", "http://cse.example:80" }, { "port", "81" } } },
	{ "--http-threads", NULL, { "--http-threads", "64" }, { { "threads", "64" } } },
	{ "--conn-limit", NULL, { "--conn-limit", "100000" }, { { "conn-limit", "100000" } } },
	{ "--default-et", NULL, { "--default-et", "60" }, { { "default-et", "60" } } },
	{ "--max-mni", NULL, { "--max-mni", "10" }, { { "max-mni", "10" } } },
	{ "--allowed-ae", NULL, { "--allowed-ae", "Cabc*" }, { { "allowed-ae", "Cabc*" } } },
	{ "--mgmt-timeout", NULL, { "--mgmt-timeout", "2" }, { { "timeout", "2" } } },
	{ "--mgmt-timeout max", NULL, { "--mgmt-timeout", "604800" }, { { "timeout", "604800" } } },
	{ "ini mgmt", "[mgmt]\ntimeout = 45\n", { "-c", "@CFG" }, { { "timeout", "45" } } },
	{ "ini mgmt, flag wins", "[mgmt]\ntimeout = 45\n", { "-c", "@CFG", "--mgmt-timeout", "9" },
		{ { "timeout", "9" } } },
	{ "last flag wins", NULL, { "--http-port", "1000", "--http-port", "2000" },
		{ { "port", "2000" } } },
	{ "ini", ini_full, { "-c", "@CFG" }, {
		{ "cse-id", "id-file" }, { "cse-rn", "cse-file" }, { "sp-id", "file.example.org" },
		{ "admin", "Cfileadmin" }, { "log-level", "1" }, { "default-et", "3600" },
		{ "max-mni", "50" }, { "allowed-ae", "C*" }, { "addr", "0.0.0.0" },
		{ "port", "7000" }, { "threads", "2" }, { "conn-limit", "20" },
		{ "db", "/tmp/file.db" }, { "poa", "http://0.0.0.0:7000" }, { "cse-type", "in" } } },
	/* -c is read first wherever it appears, so these flags win over the file. */
	{ "ini then flags", ini_full,
		{ "--http-port", "9999", "--cse-id", "id-flag", "--config", "@CFG", "--db", "f.db" }, {
		{ "port", "9999" }, { "cse-id", "id-flag" }, { "db", "f.db" },
		{ "cse-rn", "cse-file" }, { "addr", "0.0.0.0" }, { "poa", "http://0.0.0.0:9999" } } },
	{ "ini --config=", "[http]\nport=1234\n", { "--config=@CFG" }, { { "port", "1234" } } },
	{ "ini mn", "[cse]\ncse-type = mn\n", { "-c", "@CFG" },
		{ { "cse-type", "mn" }, { "cse-id", "id-mn" }, { "cse-rn", "cse-mn" } } },
	{ "ini mn, flag id", "[cse]\ncse-type = mn\n", { "-c", "@CFG", "--cse-id", "x" },
		{ { "cse-id", "x" }, { "cse-rn", "cse-mn" } } },
	{ "ini poa", "[cse]\npoa = mqtt://broker:1883\n[http]\nport = 81\n", { "-c", "@CFG" },
		{ { "poa", "mqtt://broker:1883" }, { "port", "81" } } },
	{ "ini empty", "", { "-c", "@CFG" }, { { "port", "8080" }, { "cse-id", "id-in" } } },
	{ "ini repeated section", "[cse]\nadmin = Ca\n[http]\nport = 82\n[cse]\nsp-id = a.b\n",
		{ "-c", "@CFG" }, { { "admin", "Ca" }, { "port", "82" }, { "sp-id", "a.b" } } },
};

static void test_ok_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
		const ok_case *t = &ok_cases[i];
		cse_config cfg;
		char err[512] = "";
		char buf[64];
		int rc = run_load(&cfg, t->ini, t->args, err, sizeof err);
		if (rc != 0)
			fail_msg("case '%s': config_load returned %d: %s", t->name, rc, err);
		for (size_t j = 0; j < MAX_CHECKS && t->want[j].field; j++) {
			const char *got = field_text(&cfg, t->want[j].field, buf, sizeof buf);
			if (!got || strcmp(got, t->want[j].want) != 0)
				fail_msg("case '%s': %s is '%s', want '%s'", t->name, t->want[j].field,
				         got ? got : "(null)", t->want[j].want);
		}
		config_clear(&cfg);
	}
}

/* ---- failed loads --------------------------------------------------------- */

static char long_line[400];

static const bad_case bad_cases[] = {
	{ "port 0", NULL, { "--http-port", "0" }, { "--http-port", "'0'" } },
	{ "tls cert without key", NULL, { "--http-tls-cert", "/s.pem" }, { "tls-key" } },
	{ "tls key without cert", NULL, { "--http-tls-key", "/s.key" }, { "tls-cert" } },
	{ "client auth without ca", NULL, { "--http-tls-cert", "/s.pem", "--http-tls-key", "/s.key",
		"--http-client-auth", "required" }, { "tls-ca" } },
	{ "client auth without cert", NULL, { "--http-tls-ca", "/ca.pem", "--http-client-auth",
		"required" }, { "tls-cert" } },
	{ "mqtt tls cert without key", NULL, { "--mqtt-tls-cert", "/c.pem" }, { "[mqtt]", "tls-key" } },
	{ "mqtt tls key without cert", NULL, { "--mqtt-tls-key", "/c.key", "--mqtt-tls", "on" },
		{ "[mqtt]", "tls-cert" } },
	{ "mqtt tls off with a ca", NULL, { "--mqtt-tls-ca", "/ca.pem", "--mqtt-tls", "off" },
		{ "tls = off", "tls-ca" } },
	{ "mqtt tls value", NULL, { "--mqtt-tls", "maybe" }, { "--mqtt-tls", "'maybe'", "on or off" } },
	{ "mqtt tls ini value", "[mqtt]\ntls = 2\n", { "-c", "@CFG" }, { ":2:", "[mqtt] tls", "'2'" } },
	{ "transport unknown key", "[transport]\nca = /x.pem\n", { "-c", "@CFG" },
		{ ":2:", "[transport] unknown key 'ca'" } },
	{ "client auth value", NULL, { "--http-client-auth", "maybe" },
		{ "--http-client-auth", "'maybe'" } },
	{ "port 70000", NULL, { "--http-port", "70000" }, { "--http-port", "'70000'" } },
	{ "port 80x", NULL, { "--http-port", "80x" }, { "--http-port", "'80x'" } },
	{ "port empty", NULL, { "--http-port", "" }, { "--http-port", "''" } },
	{ "port -1", NULL, { "--http-port=-1" }, { "--http-port", "'-1'" } },
	{ "port blank", NULL, { "--http-port", " 80" }, { "--http-port", "' 80'" } },
	{ "port plus", NULL, { "--http-port", "+80" }, { "--http-port", "'+80'" } },
	{ "port huge", NULL, { "--http-port", "99999999999999999999" }, { "--http-port" } },
	{ "port missing", NULL, { "--http-port" }, { "--http-port", "requires a value" } },
	{ "cse-type", NULL, { "--cse-type", "xx" }, { "--cse-type", "'xx'" } },
	{ "cse-id chars", NULL, { "--cse-id", "id/x" }, { "--cse-id", "'id/x'" } },
	{ "cse-id first", NULL, { "--cse-id", "_x" }, { "--cse-id", "'_x'" } },
	{ "cse-id space", NULL, { "--cse-id", "a b" }, { "--cse-id", "'a b'" } },
	{ "cse-id empty", NULL, { "--cse-id", "" }, { "--cse-id", "''" } },
	{ "cse-id slash only", NULL, { "--cse-id", "/" }, { "--cse-id", "'/'" } },
	{ "cse-rn chars", NULL, { "--cse-rn", "r*n" }, { "--cse-rn", "'r*n'" } },
	{ "cse-rn slash", NULL, { "--cse-rn", "/rn" }, { "--cse-rn", "'/rn'" } },
	{ "sp-id chars", NULL, { "--sp-id", "bad_sp" }, { "--sp-id", "'bad_sp'" } },
	{ "sp-id empty", NULL, { "--sp-id", "//" }, { "--sp-id", "'//'" } },
	{ "admin empty", NULL, { "--admin", "" }, { "--admin", "''" } },
	{ "admin blank", NULL, { "--admin", "C a" }, { "--admin", "'C a'" } },
	{ "addr name", NULL, { "--http-addr", "localhost" }, { "--http-addr", "'localhost'" } },
	{ "db empty", NULL, { "--db", "" }, { "--db", "''" } },
	{ "poa", NULL, { "--poa", "nourl" }, { "--poa", "'nourl'" } },
	{ "log-level", NULL, { "--log-level", "loud" }, { "--log-level", "'loud'" } },
	{ "threads 0", NULL, { "--http-threads", "0" }, { "--http-threads", "'0'" } },
	{ "threads 65", NULL, { "--http-threads", "65" }, { "--http-threads", "'65'" } },
	{ "conn-limit 0", NULL, { "--conn-limit", "0" }, { "--conn-limit", "'0'" } },
	{ "conn-limit big", NULL, { "--conn-limit", "100001" }, { "--conn-limit", "'100001'" } },
	{ "default-et 0", NULL, { "--default-et", "0" }, { "--default-et", "'0'" } },
	{ "max-mni -1", NULL, { "--max-mni", "-1" }, { "--max-mni", "'-1'" } },
	{ "mgmt-timeout 0", NULL, { "--mgmt-timeout", "0" }, { "--mgmt-timeout", "'0'" } },
	{ "mgmt-timeout big", NULL, { "--mgmt-timeout", "604801" }, { "--mgmt-timeout", "'604801'" } },
	{ "mgmt-timeout text", NULL, { "--mgmt-timeout", "5m" }, { "--mgmt-timeout", "'5m'" } },
	{ "ini bad mgmt timeout", "[mgmt]\ntimeout = -3\n", { "-c", "@CFG" }, { ":2:", "[mgmt] timeout", "'-3'" } },
	{ "ini unknown mgmt key", "[mgmt]\nretries = 3\n", { "-c", "@CFG" }, { ":2:", "'retries'" } },
	{ "unknown long", NULL, { "--bogus", "1" }, { "--bogus" } },
	{ "unknown short", NULL, { "-x" }, { "-x" } },
	{ "unknown after good", NULL, { "--http-port", "81", "--nope" }, { "--nope" } },
	{ "flag with value", NULL, { "--help=yes" }, { "--help=yes", "no value" } },
	{ "extra argument", NULL, { "--http-port", "81", "extra" }, { "extra" } },
	{ "config twice", "", { "-c", "@CFG", "-c", "@CFG" }, { "more than once" } },
	{ "missing file", NULL, { "-c", "/nonexistent/hearth.ini" },
		{ "/nonexistent/hearth.ini", "cannot open" } },
	{ "ini unknown key", "[cse]\nfoo = bar\n", { "-c", "@CFG" }, { ":2:", "'foo'", "'bar'" } },
	{ "ini unknown section", "[web]\nport = 1\n", { "-c", "@CFG" }, { ":1:", "[web]" } },
	{ "ini empty unknown section", "[cse]\n[nope]\n", { "-c", "@CFG" }, { ":2:", "[nope]" } },
	{ "ini key in wrong section", "[http]\ncse-id = x\n", { "-c", "@CFG" },
		{ ":2:", "'cse-id'", "'x'" } },
	{ "ini key outside section", "port = 1\n", { "-c", "@CFG" }, { ":1:", "'port'", "'1'" } },
	{ "ini syntax", "[cse]\n\nthis is not ini\n", { "-c", "@CFG" }, { ":3:", "syntax" } },
	{ "ini syntax section", "[cse\n", { "-c", "@CFG" }, { ":1:", "syntax" } },
	{ "ini syntax before bad key", "[cse]\nbroken\nfoo = 1\n", { "-c", "@CFG" },
		{ ":2:", "syntax" } },
	{ "ini bad key before syntax", "[cse]\nfoo = 1\nbroken\n", { "-c", "@CFG" },
		{ ":2:", "'foo'" } },
	{ "ini bad port", "[http]\naddr = ::\nport = 80x\n", { "-c", "@CFG" },
		{ ":3:", "port", "'80x'" } },
	{ "ini bad type", "[cse]\ncse-type = xl\n", { "-c", "@CFG" }, { ":2:", "cse-type", "'xl'" } },
	{ "ini duplicate", "[http]\nport = 1\nport = 2\n", { "-c", "@CFG" },
		{ ":3:", "port", "twice" } },
	{ "ini long line", long_line, { "-c", "@CFG" }, { ":2:", "longer" } },
	{ "ini ok, flag bad", "[http]\nport = 81\n", { "-c", "@CFG", "--http-threads", "x" },
		{ "--http-threads", "'x'" } },
	{ "vendor keys without operator key", NULL, { "--update-vendor-keys", "/tmp" },
		{ "[update]", "operator-key" } },
};

/* the update cache: the option, else next to the database */
static void test_update_cache(void **state)
{
	(void)state;
	static const struct {
		const char *db, *cache, *want;
	} cases[] = {
		{ "var/hearth.db", "", "var/update-cache" },
		{ "hearth.db", "", "update-cache" },
		{ "/a/b/c.db", "/srv/cache", "/srv/cache" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cse_config cfg = { 0 };
		char buf[64];
		cfg.db_path = (char *)cases[i].db;
		cfg.update_cache = (char *)cases[i].cache;
		assert_int_equal(config_update_cache(&cfg, buf, sizeof buf), 0);
		assert_string_equal(buf, cases[i].want);
		assert_int_equal(config_update_cache(&cfg, buf, 4), -1);
	}
}

static void test_bad_cases(void **state)
{
	(void)state;
	/* line 1 a section, line 2 a key whose value overflows inih's line buffer */
	memset(long_line, 'a', sizeof long_line - 2);
	memcpy(long_line, "[cse]\npoa = http://", 19);
	long_line[sizeof long_line - 2] = '\n';
	long_line[sizeof long_line - 1] = '\0';

	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const bad_case *t = &bad_cases[i];
		cse_config cfg;
		char err[512] = "";
		int rc = run_load(&cfg, t->ini, t->args, err, sizeof err);
		if (rc != -1)
			fail_msg("case '%s': config_load returned %d, want -1", t->name, rc);
		if (!err[0] || strchr(err, '\n'))
			fail_msg("case '%s': message '%s' is not one line", t->name, err);
		for (size_t j = 0; j < 3 && t->err_has[j]; j++)
			if (!strstr(err, t->err_has[j]))
				fail_msg("case '%s': message '%s' lacks '%s'", t->name, err,
				         t->err_has[j]);
		/* all or nothing: a failed load leaves the defaults */
		assert_int_equal(cfg.http_port, 8080);
		assert_string_equal(cfg.cse_id, "id-in");
		assert_int_equal(cfg.http_threads, 16);
		config_clear(&cfg);
	}
}

/* ---- --help, --version, config_set, clear, repeated loads ---------------- */

static void test_help_version(void **state)
{
	(void)state;
	static const char *const cases[][3] = {
		{ "--help", NULL, NULL },
		{ "-h", NULL, NULL },
		{ "--version", NULL, NULL },
		{ "--http-port", "81", "--help" },
		{ "--help", "--http-port", "0" }, /* help wins when it comes first */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cse_config cfg;
		char err[256] = "";
		const char *args[MAX_ARGS] = { cases[i][0], cases[i][1], cases[i][2], NULL };
		assert_int_equal(quiet_load(&cfg, args, err, sizeof err), 1);
		config_clear(&cfg);
	}
}

static void test_config_set(void **state)
{
	(void)state;
	cse_config cfg;
	char err[256] = "";
	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "http", "port", "81", err, sizeof err), 0);
	assert_string_equal(cfg.poa, "http://127.0.0.1:81");
	assert_int_equal(config_set(&cfg, "cse", "cse-type", "MN", err, sizeof err), 0);
	assert_string_equal(cfg.cse_id, "id-mn");
	assert_string_equal(cfg.cse_rn, "cse-mn");
	assert_int_equal(config_set(&cfg, "http", "port", "x", err, sizeof err), -1);
	assert_non_null(strstr(err, "[http] port"));
	assert_non_null(strstr(err, "'x'"));
	assert_int_equal(cfg.http_port, 81); /* unchanged */
	assert_int_equal(config_set(&cfg, "web", "port", "1", err, sizeof err), -1);
	assert_non_null(strstr(err, "[web]"));
	assert_int_equal(config_set(&cfg, "cse", "colour", "red", err, sizeof err), -1);
	assert_non_null(strstr(err, "'colour'"));
	assert_non_null(strstr(err, "'red'"));
	/* values with control characters are quoted safely */
	assert_int_equal(config_set(&cfg, "cse", "admin", "a\nb", err, sizeof err), -1);
	assert_null(strchr(err, '\n'));
	config_clear(&cfg);
	config_clear(&cfg); /* twice is fine */

	cse_config zero;
	memset(&zero, 0, sizeof zero);
	config_clear(&zero); /* half-built is fine */
}

static void test_repeated_load(void **state)
{
	(void)state;
	/* getopt state is reset between calls, and loads layer on cfg */
	cse_config cfg;
	char err[256] = "";
	char *a1[] = { strdup("hearth-cse"), strdup("--http-port"), strdup("81"), NULL };
	char *a2[] = { strdup("hearth-cse"), strdup("--cse-type"), strdup("mn"), NULL };
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, 3, a1, err, sizeof err), 0);
	assert_int_equal(config_load(&cfg, 3, a2, err, sizeof err), 0);
	assert_int_equal(cfg.http_port, 81);
	assert_string_equal(cfg.cse_id, "id-mn");
	assert_int_equal(config_load(&cfg, 3, a1, err, sizeof err), 0);
	assert_int_equal(config_load(&cfg, 1, a1, err, sizeof err), 0);
	assert_int_equal(cfg.http_port, 81);
	config_clear(&cfg);
	for (int i = 0; i < 3; i++) {
		free(a1[i]);
		free(a2[i]);
	}
}

/* ---- logging --------------------------------------------------------------- */

static void test_log_level_parse(void **state)
{
	(void)state;
	static const struct { const char *in; int want; } cases[] = {
		{ "error", LOG_ERROR }, { "warn", LOG_WARN }, { "warning", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { "DEBUG", LOG_DEBUG },
		{ "Info", LOG_INFO }, { "", -1 }, { "verbose", -1 }, { "info ", -1 },
		{ "3", -1 }, { NULL, -1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (log_level_parse(cases[i].in) != cases[i].want)
			fail_msg("log_level_parse(\"%s\") = %d, want %d",
			         cases[i].in ? cases[i].in : "(null)", log_level_parse(cases[i].in),
			         cases[i].want);
}

/* Run the log calls of one case with stderr captured; returns the bytes. */
static size_t capture_log(char *buf, size_t n, int level, const char *msg)
{
	char *path = temp_file("");
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_msg(level, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t r = pread(fd, buf, n - 1, 0);
	close(fd);
	unlink(path);
	free(path);
	assert_true(r >= 0);
	buf[r] = '\0';
	return (size_t)r;
}

static void test_log_format(void **state)
{
	(void)state;
	static char big[5000];
	static char line[8192];
	int saved_level = log_level;

	log_level = LOG_INFO;
	size_t n = capture_log(line, sizeof line, LOG_WARN, "hello world");
	/* 2026-11-26T15:04:05.123Z WARN hello world\n */
	assert_int_equal(n, 24 + 1 + 4 + 1 + 11 + 1);
	assert_true(line[4] == '-' && line[10] == 'T' && line[19] == '.' && line[23] == 'Z');
	assert_string_equal(line + 24, " WARN hello world\n");

	n = capture_log(line, sizeof line, LOG_DEBUG, "hidden");
	assert_int_equal(n, 0);

	n = capture_log(line, sizeof line, LOG_ERROR, "two\nlines\r");
	assert_string_equal(line + 24, " ERROR two lines \n");

	memset(big, 'x', sizeof big - 1);
	n = capture_log(line, sizeof line, LOG_INFO, big);
	assert_int_equal(n, 24 + 6 + 2048 + 1);
	assert_memory_equal(line + n - 4, "...\n", 4);
	log_level = saved_level;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_cases),
		cmocka_unit_test(test_bad_cases),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_repeated_load),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_log_format),
		cmocka_unit_test(test_update_cache),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
