/*
 * hearth-vendor - a manufacturer's update service over HTTPS (see
 * vendor.h and README "Manufacturer service (hearth-vendor)").
 *
 *   hearth-vendor serve --dir DIR [--port P] [--addr A]
 *   hearth-vendor publish --dir DIR --key VENDOR.pem --model M --version V
 *       --seq N --hw 1.0,1.1 --image FILE [--criticality C] [--advisory ID]...
 *       [--expires SECONDS|EPOCH|YYYY-MM-DDTHH:MM:SSZ] [--encrypt-for GW_PUB.pem]
 *
 * Exit status: 0 done (serve: after SIGINT/SIGTERM); 1 the directory or a
 * file in it was refused, or the port could not be opened (one line naming
 * the file); 2 bad usage (one line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "ae/vendor/vendor.h"

#define DEFAULT_TTL (365L * 24 * 3600)
#define LOG_PATH_MAX 160 /* bytes of a request path in the log */

static const char USAGE[] =
	"usage: hearth-vendor COMMAND [options]\n"
	"  serve   --dir DIR [--port P] [--addr A]     serve DIR over HTTPS (port/addr override vendor.ini)\n"
	"  publish --dir DIR --key VENDOR.pem --model M --version V --seq N --hw H[,H...]\n"
	"          --image FILE [--criticality critical|high|medium|low] [--advisory ID]...\n"
	"          [--expires SECONDS|EPOCH|YYYY-MM-DDTHH:MM:SSZ] [--encrypt-for GW_PUB.pem]\n"
	"          write DIR/releases/M/V/{manifest.jws, image.bin | image.jwe}\n"
	"  launch  --in-url URL --originator ID --notices ADDR [--cse-rn NAME] [--ca FILE] [--device NI]\n"
	"          [--json FILE]   start the updates the operator's coordinator staged for this\n"
	"          manufacturer (its inform mode): firmware url = the package, ud = true\n"
	"exit status: 0 ok, 1 refused (the file at fault is named), 2 bad usage\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hearth-vendor: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try hearth-vendor --help)\n", stderr);
	va_end(ap);
	return 2;
}

static bool parse_ll(const char *s, long long min, long long max, long long *out)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* SECONDS from now (below 10^9), an EPOCH, or YYYY-MM-DDTHH:MM:SSZ. */
static bool parse_expires(const char *s, time_t now, long long *out)
{
	long long v;
	if (parse_ll(s, 1, 253402300799ll, &v)) {
		*out = v < 1000000000ll ? (long long)now + v : v;
		return true;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return false;
	time_t t = timegm(&tm);
	if (t <= 0)
		return false;
	*out = (long long)t;
	return true;
}

/* ---- serve ---------------------------------------------------------------- */

static const vd_catalog *catalog;

/* The request path for the log: printable ASCII only, bounded. */
static void log_request(const char *method, const char *url, unsigned status, uint64_t bytes)
{
	char p[LOG_PATH_MAX + 4];
	size_t n = 0;
	for (const char *s = url; *s && n < LOG_PATH_MAX; s++)
		p[n++] = (*s >= 0x21 && *s <= 0x7e) ? *s : '?';
	if (url[n] && n == LOG_PATH_MAX)
		p[n++] = '.', p[n++] = '.', p[n++] = '.';
	p[n] = '\0';
	fprintf(stderr, "hearth-vendor: %.8s %s %u %llu\n", method, p, status, (unsigned long long)bytes);
}

static enum MHD_Result queue(struct MHD_Connection *con, struct MHD_Response *resp, unsigned status,
                             const char *type)
{
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(con, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	(void)cls, (void)version, (void)upload, (void)ctx;
	*upload_size = 0; /* a body is never read: the answer is queued on the first call */
	const char *model = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "model");
	struct vd_reply r;
	vd_route(catalog, method, url, model, &r);
	struct MHD_Response *resp = NULL;
	if (r.image_path) {
		int fd = open(r.image_path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size != r.image_size) {
			/* the file changed since it was checked: refuse rather than serve it */
			if (fd >= 0)
				close(fd);
			static const char msg[] = "{\"error\":\"image changed since the service started\"}";
			r.status = 500;
			r.type = "application/json";
			resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
			log_request(method, url, r.status, sizeof(msg) - 1);
		} else {
			resp = MHD_create_response_from_fd(r.image_size, fd); /* owns fd */
			if (!resp)
				close(fd);
			log_request(method, url, r.status, r.image_size);
		}
	} else {
		resp = MHD_create_response_from_buffer(r.len, (void *)r.body,
		                                       r.body_owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		if (!resp && r.body_owned)
			free((char *)r.body);
		log_request(method, url, r.status, r.len);
	}
	return queue(con, resp, r.status, r.type);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls, (void)fmt, (void)ap; /* TLS handshake failures and the like: not one line per request */
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option lo[] = {
		{"dir", required_argument, NULL, 'd'}, {"port", required_argument, NULL, 'p'},
		{"addr", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *addr = NULL;
	long long port = 0;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 'a': addr = optarg; break;
		case 'p':
			if (!parse_ll(optarg, 1, 65535, &port))
				return usage_error("--port: '%.40s' is not a port number", optarg);
			break;
		default: return usage_error("serve: unknown option or missing value: %.60s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("serve takes no arguments");
	if (!dir)
		return usage_error("serve: --dir is required");
	struct vd_config cfg;
	char err[VD_ERR_MAX];
	if (vd_config_load(dir, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hearth-vendor: %s\n", err);
		return 1;
	}
	if (addr && snprintf(cfg.addr, sizeof(cfg.addr), "%s", addr) >= (int)sizeof(cfg.addr))
		return usage_error("--addr: '%.40s' is not an IPv4 address", addr);
	if (port)
		cfg.port = (long)port;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)cfg.port);
	if (inet_pton(AF_INET, cfg.addr, &sa.sin_addr) != 1) {
		if (addr)
			return usage_error("--addr: '%.40s' is not an IPv4 address", addr);
		fprintf(stderr, "hearth-vendor: %s/vendor.ini: addr '%s' is not an IPv4 address\n", dir, cfg.addr);
		return 1;
	}
	if (!cfg.tls_cert[0] || !cfg.tls_key[0]) {
		fprintf(stderr, "hearth-vendor: %s/vendor.ini: [vendor] tls-cert and tls-key are required\n", dir);
		return 1;
	}
	int rc = 1;
	vd_catalog *c = NULL;
	char *cert = NULL, *key = NULL;
	struct MHD_Daemon *d = NULL;
	if (vd_catalog_load(dir, &cfg, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "hearth-vendor: %s\n", err);
		goto out;
	}
	cert = vd_read_file(cfg.tls_cert, VD_FILE_MAX, NULL);
	key = vd_read_file(cfg.tls_key, VD_FILE_MAX, NULL);
	if (!cert || !key) {
		fprintf(stderr, "hearth-vendor: %s: cannot read (%s)\n", !cert ? cfg.tls_cert : cfg.tls_key,
		        strerror(errno));
		goto out;
	}
	catalog = c;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TLS, (uint16_t)cfg.port, NULL,
	                     NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, 4u,
	                     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 256u,
	                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_HTTPS_MEM_CERT, cert,
	                     MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "hearth-vendor: cannot listen on https://%s:%ld (port in use, or %s / %s not a "
		                "certificate and its key)\n",
		        cfg.addr, cfg.port, cfg.tls_cert, cfg.tls_key);
		goto out;
	}
	fprintf(stderr, "hearth-vendor: %s: %zu releases, %zu advisories on https://%s:%ld\n", cfg.name,
	        vd_catalog_releases(c), vd_catalog_advisories(c), cfg.addr, cfg.port);
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "hearth-vendor: stopping (signal %d)\n", sig);
	MHD_stop_daemon(d);
	rc = 0;
out:
	catalog = NULL;
	vd_catalog_free(&c);
	free(cert);
	if (key) {
		memset(key, 0, strlen(key)); /* the TLS private key */
		free(key);
	}
	return rc;
}

/* ---- publish -------------------------------------------------------------- */

/* "1.0,1.1" appended to arr as strings. */
static int add_list(json_t *arr, const char *list)
{
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || json_array_append_new(arr, json_stringn(p, n)) != 0)
			return -1;
		p += n;
		if (*p == ',' && !*++p)
			return -1;
	}
	return 0;
}

static int cmd_publish(int argc, char **argv)
{
	static const struct option lo[] = {
		{"dir", required_argument, NULL, 'd'},         {"key", required_argument, NULL, 'k'},
		{"model", required_argument, NULL, 'm'},       {"version", required_argument, NULL, 'v'},
		{"seq", required_argument, NULL, 's'},         {"hw", required_argument, NULL, 'w'},
		{"image", required_argument, NULL, 'i'},       {"criticality", required_argument, NULL, 'c'},
		{"advisory", required_argument, NULL, 'A'},    {"expires", required_argument, NULL, 'e'},
		{"encrypt-for", required_argument, NULL, 'E'}, {NULL, 0, NULL, 0},
	};
	struct vd_publish p;
	memset(&p, 0, sizeof(p));
	p.hw = json_array();
	p.advisories = json_array();
	time_t now = time(NULL);
	p.exp = (long long)now + DEFAULT_TTL;
	int rc = 2, o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'd': p.dir = optarg; break;
		case 'k': p.key = optarg; break;
		case 'm': p.model = optarg; break;
		case 'v': p.version = optarg; break;
		case 'i': p.image = optarg; break;
		case 'c': p.criticality = optarg; break;
		case 'E': p.encrypt_for = optarg; break;
		case 's':
			if (!parse_ll(optarg, 1, HS_SEQ_MAX, &p.seq)) {
				usage_error("--seq must be an integer from 1 to 2^53-1");
				goto out;
			}
			break;
		case 'w':
			if (add_list(p.hw, optarg) != 0) {
				usage_error("--hw: a comma-separated list of hardware versions");
				goto out;
			}
			break;
		case 'A':
			if (json_array_append_new(p.advisories, json_string(optarg)) != 0) {
				usage_error("--advisory: a UTF-8 identifier");
				goto out;
			}
			break;
		case 'e':
			if (!parse_expires(optarg, now, &p.exp)) {
				usage_error("--expires: SECONDS, EPOCH or YYYY-MM-DDTHH:MM:SSZ");
				goto out;
			}
			break;
		default: usage_error("publish: unknown option or missing value: %.60s", argv[optind - 1]); goto out;
		}
	}
	if (optind < argc) {
		usage_error("publish takes no arguments");
		goto out;
	}
	const char *missing = !p.dir ? "dir" : !p.key ? "key" : !p.model ? "model" : !p.version ? "version"
	                      : !p.seq ? "seq" : !json_array_size(p.hw) ? "hw" : !p.image ? "image" : NULL;
	if (missing) {
		usage_error("publish: --%s is required", missing);
		goto out;
	}
	struct vd_config cfg;
	char err[VD_ERR_MAX];
	rc = 1;
	if (vd_config_load(p.dir, &cfg, err, sizeof(err)) != 0 || vd_publish_release(&p, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hearth-vendor: %s\n", err);
		goto out;
	}
	printf("%s/releases/%s/%s\n", p.dir, p.model, p.version);
	rc = 0;
out:
	json_decref(p.hw);
	json_decref(p.advisories);
	return rc;
}

/* ---- launch --------------------------------------------------------------- */

static int cmd_launch(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "in-url", required_argument, NULL, 'u' },  { "originator", required_argument, NULL, 'o' },
		{ "notices", required_argument, NULL, 'n' }, { "cse-rn", required_argument, NULL, 'r' },
		{ "ca", required_argument, NULL, 'c' },      { "device", required_argument, NULL, 'd' },
		{ "json", required_argument, NULL, 'j' },    { NULL, 0, NULL, 0 },
	};
	static struct vd_launch l;
	char json[4096] = "";
	memset(&l, 0, sizeof(l));
	snprintf(l.cse_rn, sizeof(l.cse_rn), "cse-in");
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *dst = c == 'u' ? l.in_url : c == 'o' ? l.originator : c == 'n' ? l.notices : c == 'r' ? l.cse_rn
		          : c == 'c' ? l.ca : c == 'd' ? l.device : c == 'j' ? json : NULL;
		size_t n = c == 'u' ? sizeof(l.in_url) : c == 'o' ? sizeof(l.originator) : c == 'n' ? sizeof(l.notices)
		         : c == 'r' ? sizeof(l.cse_rn) : c == 'c' ? sizeof(l.ca) : c == 'd' ? sizeof(l.device) : sizeof(json);
		if (!dst)
			return usage_error("launch: unknown option or missing value: %.60s", argv[optind - 1]);
		if (!optarg[0] || strlen(optarg) >= n)
			return usage_error("launch: %.60s: empty or too long", argv[optind - 1]);
		memcpy(dst, optarg, strlen(optarg) + 1);
	}
	if (optind != argc)
		return usage_error("launch takes no arguments");
	if (!l.in_url[0] || !l.originator[0] || !l.notices[0])
		return usage_error("launch: --in-url, --originator and --notices are required");
	if (strncmp(l.in_url, "http://", 7) != 0 && strncmp(l.in_url, "https://", 8) != 0)
		return usage_error("launch: --in-url must be http(s)://host:port");
	if ((l.originator[0] != 'C' && l.originator[0] != 'S') || strpbrk(l.originator, "/ \t"))
		return usage_error("launch: --originator must be an AE-ID (C... or S...)");
	if (l.notices[0] != '/' && !strchr(l.notices, '/'))
		return usage_error("launch: --notices must be the notices container's address");
	char err[600] = "";
	json_t *rows = json_array();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = rows ? vd_launch_run(&l, rows, err, sizeof(err)) : -1;
	curl_global_cleanup();
	if (rows && json[0] && json_dump_file(rows, json, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 && rc == 0) {
		snprintf(err, sizeof(err), "cannot write %.200s", json);
		rc = -1;
	}
	json_decref(rows);
	if (rc != 0) {
		fprintf(stderr, "hearth-vendor: launch: %s\n", err[0] ? err : "out of memory");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("a command is required (serve or publish)");
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 || (i == 1 && strcmp(argv[i], "help") == 0)) {
			fputs(USAGE, stdout);
			return 0;
		}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "publish") == 0)
		return cmd_publish(argc - 1, argv + 1);
	if (strcmp(argv[1], "launch") == 0)
		return cmd_launch(argc - 1, argv + 1);
	return usage_error("unknown command '%.40s'", argv[1]);
}
