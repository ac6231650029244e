/*
 * harness.c - daemon lifecycle, request helpers, expectations and the
 * notification receiver of the conformance suite; see harness.h.
 *
 * State is process-global (one CSE per test binary) and is only touched
 * from the cmocka thread, except the receiver queue, which the
 * libmicrohttpd thread fills under its own mutex.
 */
#include "conformance/lib/harness.h"
#include "conformance/lib/pki.h"
#include "ae/lib/m2m_mqtt.h"
#include "bindings/codec_xml.h"
#include "cse/rsc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

static struct {
	char url[256];
	char cse_id[128];
	char csi[130];
	char cse_rn[128];
	char admin[128];
	char sp_id[256];
	char bin[1024];
	bool local;
	bool keep;      /* keep the temp dir (misbehaviour seen) */
	char dir[512];  /* temp dir (local) */
	char db[600];
	char log[600];
	int port;
	pid_t pid;
	m2m_client *client;
	char **strs;    /* owned strings */
	size_t nstrs, capstrs;
	char **aes;     /* registered AE-IDs to remove at teardown */
	size_t naes, capaes;
	char label[512];
	bool started;
} H;

/* Extra daemon flags: outside H, which the group setup clears, so that a
 * test binary may set them before its group setup starts the daemon. */
#define HARNESS_MAX_EXTRA_ARGS 32
static struct {
	char *v[HARNESS_MAX_EXTRA_ARGS];
	size_t n;
} X;

/* Private mosquitto (see harness.h). */
static struct {
	pid_t pid;
	int port;
	char dir[512];
	char conf[600];
	char log[600];
	bool atexit_set;
	/* TLS listener (harness_broker_set_tls): copies of the files in dir */
	bool tls;
	int tls_port;
	bool tls_require_cert;
	bool tls_has_ca;
} B;

/* Binding / serialization of this pass (see harness.h); outside H, which
 * the group setup clears. */
static struct {
	bool init, ok;
	bool mqtt, xml;
	bool https;      /* HEARTH_BINDING=https: the daemon serves HTTPS only */
	char tls_cert[600], tls_key[600], tls_ca[600];
	char mode[16];
	char mqtt_host[256];
	int mqtt_port;
	m2m_mqtt *cl;    /* the harness's MQTT client (mqtt binding) */
	unsigned rq;     /* request counter for generated rqi */
} M;

static void mode_init(void)
{
	if (M.init)
		return;
	M.init = true;
	M.ok = true;
	const char *b = getenv("HEARTH_BINDING"), *f = getenv("HEARTH_FORMAT");
	if (b && b[0] && strcmp(b, "http") != 0) {
		if (strcmp(b, "mqtt") == 0) {
			M.mqtt = true;
		} else if (strcmp(b, "https") == 0) {
			M.https = true;
		} else {
			print_error("harness: HEARTH_BINDING=%s: want http, https or mqtt\n", b);
			M.ok = false;
		}
	}
	if (f && f[0] && strcmp(f, "json") != 0) {
		if (strcmp(f, "xml") == 0) {
			M.xml = true;
		} else {
			print_error("harness: HEARTH_FORMAT=%s: want json or xml\n", f);
			M.ok = false;
		}
	}
	snprintf(M.mode, sizeof(M.mode), "%s+%s", M.mqtt ? "mqtt" : M.https ? "https" : "http",
	         M.xml ? "xml" : "json");
}

bool harness_is_mqtt(void) { mode_init(); return M.mqtt; }
bool harness_is_xml(void) { mode_init(); return M.xml; }
bool harness_is_http_json(void) { mode_init(); return !M.mqtt && !M.xml; }
const char *harness_mode(void) { mode_init(); return M.mode; }

static int mqtt_wait_ready(int64_t end_ms);
static int mqtt_connect(void);

/* ---------------- small utilities ---------------- */

const char *hfmt(const char *fmt, ...)
{
	static char bufs[32][2048];
	static unsigned next;
	char *b = bufs[next++ % 32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

static const char *keep_str(const char *s)
{
	if (!s)
		return NULL;
	if (H.nstrs == H.capstrs) {
		size_t cap = H.capstrs ? H.capstrs * 2 : 64;
		char **n = realloc(H.strs, cap * sizeof(*n));
		if (!n)
			return s;
		H.strs = n;
		H.capstrs = cap;
	}
	char *d = strdup(s);
	if (!d)
		return s;
	H.strs[H.nstrs++] = d;
	return d;
}

const char *harness_name(const char *prefix)
{
	static unsigned long counter;
	return keep_str(hfmt("%s%ldx%lu", prefix, (long)getpid(), ++counter));
}

const char *harness_ts(long offset_s)
{
	time_t t = time(NULL) + offset_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	char b[32];
	strftime(b, sizeof(b), "%Y%m%dT%H%M%S", &tm);
	return hfmt("%s", b);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

bool harness_ts_parse(const char *ts, double *epoch_s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, s;
	if (!ts || strlen(ts) < 15 || ts[8] != 'T')
		return false;
	if (digits(ts, 4, &y) || digits(ts + 4, 2, &mo) || digits(ts + 6, 2, &d) ||
	    digits(ts + 9, 2, &h) || digits(ts + 11, 2, &mi) || digits(ts + 13, 2, &s))
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	double frac = 0, scale = 0.1;
	const char *p = ts + 15;
	if (*p == ',' || *p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9') {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p != '\0')
		return false;
	*epoch_s = (double)timegm(&tm) + frac;
	return true;
}

void harness_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int64_t harness_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_case(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(H.label, sizeof(H.label), fmt, ap);
	va_end(ap);
}

long harness_log_size(void)
{
	struct stat st;
	if (!H.local || !H.log[0] || stat(H.log, &st) != 0)
		return 0;
	return (long)st.st_size;
}

bool harness_log_contains(long from, const char *needle)
{
	char line[1024];
	bool found = false;
	if (!H.local || !H.log[0] || !needle)
		return false;
	FILE *f = fopen(H.log, "r");
	if (f && from > 0 && fseek(f, from, SEEK_SET) != 0) {
		fclose(f);
		return false;
	}
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

void harness_log_tail(int lines)
{
	if (!H.local || !H.log[0])
		return;
	FILE *f = fopen(H.log, "r");
	if (!f)
		return;
	static char ring[64][512];
	int n = 0;
	if (lines > 64)
		lines = 64;
	while (fgets(ring[n % 64], sizeof(ring[0]), f))
		n++;
	fclose(f);
	int from = n > lines ? n - lines : 0;
	print_message("---- daemon log (last %d lines of %s) ----\n", n - from, H.log);
	for (int i = from; i < n; i++)
		print_message("    %s", ring[i % 64]);
	print_message("---- end of daemon log ----\n");
}

/* ---------------- environment and daemon ---------------- */

static void env_or(char *dst, size_t n, const char *name, const char *dflt)
{
	const char *v = getenv(name);
	snprintf(dst, n, "%s", (v && v[0]) ? v : dflt);
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	if (s < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(s);
	return port;
}

static bool reap(int *status, long timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;
	for (;;) {
		pid_t p = waitpid(H.pid, status, WNOHANG);
		if (p == H.pid)
			return true;
		if (p < 0)
			return false;
		if (harness_now_ms() >= end)
			return false;
		harness_sleep_ms(20);
	}
}

static bool cse_answers(void)
{
	m2m_result r;
	m2m_do(H.client, M2M_OP_RETRIEVE, H.cse_rn, H.admin, -1, NULL, NULL, &r);
	bool ok = r.http_status != 0;
	m2m_result_clear(&r);
	return ok;
}

int harness_cse_start(void)
{
	if (!H.local)
		return -1;
	char port[16], mport[16];
	snprintf(port, sizeof(port), "%d", H.port);
	snprintf(mport, sizeof(mport), "%d", M.mqtt_port);
	pid_t pid = fork();
	if (pid < 0) {
		print_error("harness: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(H.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		char *argv[22 + HARNESS_MAX_EXTRA_ARGS] = {H.bin, (char *)"--http-addr", (char *)"127.0.0.1",
		                (char *)"--http-port", port, (char *)"--db", H.db,
		                (char *)"--cse-id", H.cse_id, (char *)"--cse-rn", H.cse_rn,
		                (char *)"--sp-id", H.sp_id, (char *)"--admin", H.admin,
		                (char *)"--log-level", (char *)"warn", NULL};
		size_t ac = 17;
		if (M.https) {
			argv[ac++] = (char *)"--http-tls-cert";
			argv[ac++] = M.tls_cert;
			argv[ac++] = (char *)"--http-tls-key";
			argv[ac++] = M.tls_key;
		}
		if (M.mqtt) {
			argv[ac++] = (char *)"--mqtt-host";
			argv[ac++] = M.mqtt_host;
			argv[ac++] = (char *)"--mqtt-port";
			argv[ac++] = mport;
		}
		for (size_t i = 0; i < X.n; i++)
			argv[ac + i] = X.v[i];
		argv[ac + X.n] = NULL;
		execv(H.bin, argv);
		fprintf(stderr, "harness: exec %s: %s\n", H.bin, strerror(errno));
		_exit(127);
	}
	H.pid = pid;
	int64_t end = harness_now_ms() + 10000;
	while (harness_now_ms() < end) {
		int st;
		if (waitpid(H.pid, &st, WNOHANG) == H.pid) {
			print_error("harness: %s exited early (status %d) before answering\n", H.bin,
			            WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			H.pid = 0;
			H.keep = true;
			harness_log_tail(30);
			return -1;
		}
		if (cse_answers()) {
			if (M.mqtt && mqtt_wait_ready(end) != 0)
				break;
			return 0;
		}
		harness_sleep_ms(50);
	}
	print_error("harness: %s did not answer a CSEBase retrieve within 10 s on %s%s\n", H.bin, H.url,
	            M.mqtt ? " and over MQTT" : "");
	harness_log_tail(30);
	kill(H.pid, SIGKILL);
	reap(NULL, 2000);
	H.pid = 0;
	H.keep = true;
	return -1;
}

int harness_cse_stop(void)
{
	int st = 0;
	if (!H.local || H.pid <= 0)
		return -1;
	kill(H.pid, SIGTERM);
	if (!reap(&st, 10000)) {
		print_error("harness: daemon did not exit within 10 s of SIGTERM; killing it\n");
		kill(H.pid, SIGKILL);
		reap(NULL, 2000);
		H.pid = 0;
		H.keep = true;
		harness_log_tail(30);
		return -1;
	}
	H.pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (WIFEXITED(st))
			print_error("harness: daemon exit status %d after SIGTERM (want 0)\n", WEXITSTATUS(st));
		else
			print_error("harness: daemon killed by signal %d after SIGTERM (want exit 0)\n", WTERMSIG(st));
		H.keep = true;
		harness_log_tail(30);
		return -1;
	}
	return 0;
}

int harness_cse_restart(void)
{
	if (harness_cse_stop() != 0)
		return -1;
	return harness_cse_start();
}

int harness_cse_kill9(void)
{
	if (!H.local || H.pid <= 0)
		return -1;
	kill(H.pid, SIGKILL);
	bool ok = reap(NULL, 5000);
	H.pid = 0;
	return ok ? 0 : -1;
}

bool harness_cse_alive(void)
{
	if (H.local) {
		if (H.pid <= 0)
			return false;
		int st;
		if (waitpid(H.pid, &st, WNOHANG) == H.pid) {
			print_error("harness: daemon died (status %d)\n",
			            WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			H.pid = 0;
			H.keep = true;
			harness_log_tail(30);
			return false;
		}
	}
	return cse_answers();
}

/* The harness client's TLS identity (harness_set_tls); survives the
 * memset of H in the group setup. */
static struct {
	bool on;
	char *ca, *cert, *key;
} T;

static int str_set(char **dst, const char *src)
{
	char *v = NULL;
	if (src && !(v = strdup(src)))
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

/* Point H.url and H.client at http:// or https:// per T. */
static int tls_apply(void)
{
	if (!H.local || H.port <= 0)
		return 0;
	snprintf(H.url, sizeof(H.url), "%s://127.0.0.1:%d", T.on ? "https" : "http", H.port);
	m2m_client_free(&H.client);
	H.client = m2m_client_new(H.url);
	if (!H.client)
		return -1;
	if (T.on && m2m_client_set_tls(H.client, T.ca, T.cert, T.key) != 0)
		return -1;
	return 0;
}

/* The https pass: a CA and a server certificate for 127.0.0.1, made once
   per binary; the harness client trusts only that CA. */
static int https_pki(void)
{
	if (M.tls_ca[0])
		return harness_set_tls(M.tls_ca, NULL, NULL) == 0 ? 0 : -1;
	if (!pki_openssl_present()) {
		print_error("harness: the https pass needs the openssl command\n");
		return -1;
	}
	if (pki_init() != 0 || pki_write("srv.ext", "subjectAltName=IP:127.0.0.1\n") != 0 ||
	    pki_make_key("ca", "Hearth pass CA", true) != 0 || pki_make_key("srv", "127.0.0.1", false) != 0 ||
	    pki_sign("srv", "ca", "srv.ext") != 0) {
		print_error("harness: cannot make the https pass certificates\n");
		return -1;
	}
	snprintf(M.tls_ca, sizeof(M.tls_ca), "%s", pki_path("ca.pem"));
	snprintf(M.tls_cert, sizeof(M.tls_cert), "%s", pki_path("srv.pem"));
	snprintf(M.tls_key, sizeof(M.tls_key), "%s", pki_path("srv.key"));
	T.on = true;
	return str_set(&T.ca, M.tls_ca);
}

int harness_set_tls(const char *ca_file, const char *cert_file, const char *key_file)
{
	T.on = ca_file != NULL;
	if (str_set(&T.ca, ca_file) != 0 || str_set(&T.cert, cert_file) != 0 ||
	    str_set(&T.key, key_file) != 0)
		return -1;
	return tls_apply();
}

int harness_cse_set_args(const char *const *args)
{
	for (size_t i = 0; i < X.n; i++)
		free(X.v[i]);
	X.n = 0;
	for (size_t i = 0; args && args[i]; i++) {
		if (X.n == HARNESS_MAX_EXTRA_ARGS) {
			print_error("harness: more than %d extra daemon flags\n", HARNESS_MAX_EXTRA_ARGS);
			return -1;
		}
		X.v[X.n] = strdup(args[i]);
		if (!X.v[X.n])
			return -1;
		X.n++;
	}
	return 0;
}

bool harness_cse_has_flag(const char *flag)
{
	bool found = false;
	int fds[2];
	if (!H.bin[0] || !flag || pipe(fds) != 0)
		return false;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execl(H.bin, H.bin, "--help", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[1024];
	size_t fl = strlen(flag);
	while (f && fgets(line, sizeof(line), f)) {
		/* the flag as a whole word: followed by a space, '=', ',' or the end */
		for (const char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag)) {
			char after = p[fl];
			if (after == ' ' || after == '=' || after == ',' || after == '\n' ||
			    after == '\t' || after == '\0')
				found = true;
		}
	}
	if (f)
		fclose(f);
	else
		close(fds[0]);
	waitpid(pid, NULL, 0);
	return found;
}

const char *harness_db_path(void) { return H.local ? H.db : NULL; }
const char *harness_dir(void) { return H.local ? H.dir : NULL; }

const char *harness_bin_dir(void)
{
	static char dir[512];
	const char *cse = getenv("HEARTH_BIN");
	const char *slash = cse ? strrchr(cse, '/') : NULL;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cse), cse);
	else
		snprintf(dir, sizeof(dir), "build");
	return dir;
}
int harness_port(void) { return H.local ? H.port : 0; }
int harness_cse_pid(void) { return H.local && H.pid > 0 ? (int)H.pid : 0; }

int harness_cse_mem(long *rss_kib, long *hwm_kib)
{
	if (!H.local || H.pid <= 0)
		return -1;
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)H.pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long rss = -1, hwm = -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	if (rss < 0 || hwm < 0)
		return -1;
	if (rss_kib)
		*rss_kib = rss;
	if (hwm_kib)
		*hwm_kib = hwm;
	return 0;
}

/* Socket inodes of the daemon's open fds into inodes[] (at most max);
 * returns the count, or -1. Also the total number of fds into *nfds. */
static int daemon_fds(unsigned long *inodes, int max, int *nfds)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)H.pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0, total = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		total++;
		char lp[128], target[128];
		snprintf(lp, sizeof(lp), "%s/%s", path, e->d_name);
		ssize_t len = readlink(lp, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "socket:[", 8) == 0 && n < max)
			inodes[n++] = strtoul(target + 8, NULL, 10);
	}
	closedir(d);
	if (nfds)
		*nfds = total;
	return n;
}

int harness_cse_fd_count(void)
{
	int total = 0;
	unsigned long dummy[1];
	if (!H.local || H.pid <= 0 || daemon_fds(dummy, 0, &total) < 0)
		return -1;
	return total;
}

int harness_cse_conn_count(void)
{
	enum { MAXS = 4096 };
	static unsigned long inodes[MAXS];
	if (!H.local || H.pid <= 0)
		return -1;
	int ns = daemon_fds(inodes, MAXS, NULL);
	if (ns < 0)
		return -1;
	int count = 0;
	const char *tables[] = {"tcp", "tcp6"};
	for (size_t t = 0; t < 2; t++) {
		char path[64], line[512];
		snprintf(path, sizeof(path), "/proc/%ld/net/%s", (long)H.pid, tables[t]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f)) { /* header */
			fclose(f);
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			/* sl local rem st tx:rx tr:when retr uid timeout inode */
			char *fld[10];
			int nf = 0;
			for (char *p = line; *p && nf < 10;) {
				while (*p == ' ' || *p == '\t' || *p == '\n')
					*p++ = '\0';
				if (!*p)
					break;
				fld[nf++] = p;
				while (*p && *p != ' ' && *p != '\t' && *p != '\n')
					p++;
			}
			if (nf < 10)
				continue;
			char *colon = strrchr(fld[1], ':');
			if (!colon || strtol(colon + 1, NULL, 16) != H.port)
				continue;
			if (strcmp(fld[3], "0A") == 0) /* LISTEN */
				continue;
			unsigned long ino = strtoul(fld[9], NULL, 10);
			for (int i = 0; i < ns; i++)
				if (inodes[i] == ino) {
					count++;
					break;
				}
		}
		fclose(f);
	}
	return count;
}

bool harness_cse_sanitized(void)
{
	bool yes = false;
	char path[64], line[1024];
	if (!H.local)
		return false;
	if (H.pid > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/maps", (long)H.pid);
		FILE *f = fopen(path, "r");
		while (f && !yes && fgets(line, sizeof(line), f))
			yes = strstr(line, "libasan") != NULL;
		if (f)
			fclose(f);
	}
	if (!yes) { /* statically linked runtime (clang): look into the binary */
		FILE *f = fopen(H.bin, "rb");
		static const char needle[] = "AddressSanitizer";
		char buf[65536 + sizeof(needle)];
		size_t keep = 0, n;
		while (f && !yes && (n = fread(buf + keep, 1, sizeof(buf) - keep, f)) > 0) {
			n += keep;
			yes = memmem(buf, n, needle, sizeof(needle) - 1) != NULL;
			keep = n < sizeof(needle) ? n : sizeof(needle) - 1;
			memmove(buf, buf + n - keep, keep);
		}
		if (f)
			fclose(f);
	}
	return yes;
}

bool harness_cse_running(void)
{
	int st;
	if (!H.local || H.pid <= 0)
		return false;
	if (waitpid(H.pid, &st, WNOHANG) == H.pid) {
		print_error("harness: daemon died (%s %d)\n", WIFEXITED(st) ? "exit status" : "signal",
		            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		H.pid = 0;
		H.keep = true;
		harness_log_tail(30);
		return false;
	}
	return true;
}

static void atexit_kill(void)
{
	if (H.local && H.pid > 0) {
		kill(H.pid, SIGKILL);
		waitpid(H.pid, NULL, 0);
		H.pid = 0;
	}
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

int harness_group_setup(void **state)
{
	(void)state;
	memset(&H, 0, sizeof(H));
	signal(SIGPIPE, SIG_IGN);
	env_or(H.cse_id, sizeof(H.cse_id), "HEARTH_CSE_ID", "id-in");
	if (H.cse_id[0] == '/')
		memmove(H.cse_id, H.cse_id + 1, strlen(H.cse_id));
	snprintf(H.csi, sizeof(H.csi), "/%s", H.cse_id);
	env_or(H.cse_rn, sizeof(H.cse_rn), "HEARTH_CSE_RN", "cse-in");
	env_or(H.admin, sizeof(H.admin), "HEARTH_ADMIN", "CAdmin");
	env_or(H.sp_id, sizeof(H.sp_id), "HEARTH_SP_ID", "hearth.example.com");
	env_or(H.bin, sizeof(H.bin), "HEARTH_BIN", "build/hearth-cse");
	const char *url = getenv("HEARTH_URL");
	H.local = !(url && url[0]);
	mode_init();
	if (!M.ok)
		return -1;
	if (M.mqtt) {
		if (H.local) {
			if (harness_broker_start() != 0)
				return -1;
			snprintf(M.mqtt_host, sizeof(M.mqtt_host), "127.0.0.1");
			M.mqtt_port = harness_broker_port();
		} else {
			const char *mp = getenv("HEARTH_MQTT_PORT");
			env_or(M.mqtt_host, sizeof(M.mqtt_host), "HEARTH_MQTT_HOST", "127.0.0.1");
			M.mqtt_port = mp ? atoi(mp) : 1883;
		}
		if (mqtt_connect() != 0)
			return -1;
	}
	if (!H.local) {
		snprintf(H.url, sizeof(H.url), "%s", url);
		H.client = m2m_client_new(H.url);
		if (!H.client || !cse_answers() ||
		    (M.mqtt && mqtt_wait_ready(harness_now_ms() + 10000) != 0)) {
			print_error("harness: the CSE at HEARTH_URL=%s does not answer\n", H.url);
			return -1;
		}
		H.started = true;
		return 0;
	}
	char tmpl[] = "/tmp/hearth-conf-XXXXXX";
	if (!mkdtemp(tmpl)) {
		print_error("harness: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(H.dir, sizeof(H.dir), "%s", tmpl);
	snprintf(H.db, sizeof(H.db), "%s/hearth.db", H.dir);
	snprintf(H.log, sizeof(H.log), "%s/cse.log", H.dir);
	H.keep = getenv("HEARTH_KEEP") != NULL;
	H.port = free_port();
	if (H.port <= 0) {
		print_error("harness: no free port\n");
		return -1;
	}
	if (M.https && https_pki() != 0)
		return -1;
	if (tls_apply() != 0)
		return -1;
	if (access(H.bin, X_OK) != 0) {
		print_error("harness: daemon binary %s not executable (set HEARTH_BIN or HEARTH_URL)\n", H.bin);
		return -1;
	}
	atexit(atexit_kill);
	if (harness_cse_start() != 0)
		return -1;
	H.started = true;
	return 0;
}

int harness_group_teardown(void **state)
{
	(void)state;
	int rc = 0;
	if (H.client && H.started) {
		if (H.local && H.pid <= 0 && harness_cse_start() != 0)
			rc = -1; /* a test left it stopped */
		for (size_t i = 0; i < H.naes; i++) {
			m2m_result r;
			m2m_do(H.client, M2M_OP_DELETE, hfmt("%s/%s", H.cse_rn, H.aes[i]), H.admin, -1,
			       NULL, NULL, &r);
			m2m_result_clear(&r);
		}
	}
	if (H.local) {
		if (H.pid > 0 && harness_cse_stop() != 0)
			rc = -1;
		if (H.dir[0]) {
			if (H.keep)
				print_message("harness: kept %s (daemon log cse.log, database hearth.db)\n", H.dir);
			else
				nftw(H.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		}
	}
	m2m_client_free(&H.client);
	if (M.mqtt) {
		m2m_mqtt_free(&M.cl);
		if (H.local)
			harness_broker_cleanup();
	}
	for (size_t i = 0; i < H.nstrs; i++)
		free(H.strs[i]);
	free(H.strs);
	for (size_t i = 0; i < H.naes; i++)
		free(H.aes[i]);
	free(H.aes);
	H.strs = NULL;
	H.aes = NULL;
	H.nstrs = H.naes = 0;
	if (M.https && M.tls_ca[0]) {
		if (!H.keep)
			pki_cleanup();
		M.tls_ca[0] = '\0';
	}
	return rc;
}

int harness_test_setup(void **state)
{
	(void)state;
	H.label[0] = '\0';
	return 0;
}

m2m_client *harness_client(void) { return H.client; }
const char *harness_url(void) { return H.url; }
const char *harness_cse_id(void) { return H.cse_id; }
const char *harness_csi(void) { return H.csi; }
const char *harness_cse_rn(void) { return H.cse_rn; }
const char *harness_admin(void) { return H.admin; }
const char *harness_sp_id(void) { return H.sp_id; }
bool harness_is_local(void) { return H.local; }

/* ---------------- requests and expectations ---------------- */

/* Skip the current test: the request cannot be carried in this pass. */
static void skip_request(const char *why)
{
	if (H.label[0])
		print_message("[  SKIP    ] %s: %s (case: %s)\n", M.mode, why, H.label);
	else
		print_message("[  SKIP    ] %s: %s\n", M.mode, why);
	skip();
}

/* Does header line h ("Name: v", "Name:", "Name;") name header `name`? */
static bool header_is(const char *h, const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(h, name, n) == 0 && (h[n] == ':' || h[n] == ';');
}

/* ---- http+xml ---- */

static void xml_send(m2m_result *r, const m2m_request *req)
{
	m2m_request q = *req;
	const char *hl[64];
	size_t n = 0;
	bool ct_given = false, accept_given = false;
	char ct[64];
	char *xml = NULL;

	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (n >= sizeof(hl) / sizeof(hl[0]) - 3) {
			skip_request("too many extra headers");
		}
		if (header_is(req->headers[i], "Content-Type"))
			ct_given = true;
		if (header_is(req->headers[i], "Accept"))
			accept_given = true;
		hl[n++] = req->headers[i];
	}
	if (req->content && !req->raw_content) {
		/* Content without a faithful XML form goes out as JSON (the case
		 * then still checks the CSE's answer, in XML): no single prefixed
		 * root, or JSON types XML cannot carry, e.g. a string where a list
		 * belongs ("srv":"4" and ["4"] are both <srv>4</srv>) or a number in
		 * an unknown member. Decoding the encoded XML must give the content
		 * back. */
		xml = codec_xml_encode(req->content);
		json_t *back = NULL;
		char err[256];
		if (xml && (codec_xml_decode(xml, strlen(xml), &back, err, sizeof(err)) != 0 ||
		            !json_equal(back, req->content))) {
			char *js = json_dumps(req->content, JSON_COMPACT);
			print_message("[  NOTE    ] http+xml: content has no faithful XML form, sent as JSON: %.300s\n",
			              js ? js : "?");
			free(js);
			free(xml);
			xml = NULL;
		}
		json_decref(back);
		if (xml) {
			q.content = NULL;
			q.raw_content = xml;
			q.raw_len = 0;
			if (!ct_given) {
				if (req->op == M2M_OP_CREATE && req->ty >= 0)
					snprintf(ct, sizeof(ct), "Content-Type: application/xml;ty=%d", req->ty);
				else
					snprintf(ct, sizeof(ct), "Content-Type: application/xml");
				hl[n++] = ct;
			}
		}
	}
	if (!accept_given)
		hl[n++] = "Accept: application/xml";
	hl[n] = NULL;
	q.headers = hl;
	m2m_send(H.client, &q, r);
	free(xml);
	if (r->http_status && r->raw_body && r->raw_len && r->content_type &&
	    strstr(r->content_type, "xml")) {
		char err[256];
		json_t *j = NULL;
		if (codec_xml_decode(r->raw_body, r->raw_len, &j, err, sizeof(err)) == 0) {
			json_decref(r->body);
			r->body = j;
		} else {
			print_message("harness: the XML response does not decode: %s\n", err);
		}
	}
}

/* ---- mqtt+json, mqtt+xml ---- */

/* Payloads on .../xml topics are m2m:rsp (or m2m:rqp) documents, decoded
 * into the bare JSON primitive; others are JSON. */
static json_t *mqtt_decode(const char *topic, const char *payload, size_t len)
{
	size_t tl = strlen(topic);
	json_t *j = NULL;
	if (tl >= 4 && strcmp(topic + tl - 4, "/xml") == 0) {
		if (codec_xml_decode_prim(payload, len, "m2m:rsp", &j, NULL, 0) != 0)
			codec_xml_decode_prim(payload, len, "m2m:rqp", &j, NULL, 0);
		return j;
	}
	return json_loadb(payload, len, 0, NULL);
}

static int mqtt_connect(void)
{
	m2m_mqtt_free(&M.cl);
	M.cl = m2m_mqtt_new(M.mqtt_host, M.mqtt_port, NULL, 5000);
	if (M.cl)
		m2m_mqtt_set_decoder(M.cl, mqtt_decode);
	if (!M.cl || m2m_mqtt_subscribe(M.cl, "/oneM2M/resp/#") != 0) {
		print_error("harness: cannot connect/subscribe to the broker %s:%d\n", M.mqtt_host,
		            M.mqtt_port);
		m2m_mqtt_free(&M.cl);
		return -1;
	}
	return 0;
}

/* An identifier as one topic level (TS-0010: '/' -> ':'); "C" when it
 * cannot be one. */
static void topic_level(const char *id, char *out, size_t n)
{
	size_t w = 0;
	const char *p = id ? id : "";
	if (p[0] == '/' && p[1] == '/') {
		out[w++] = ':';
		p += 2;
	} else if (p[0] == '/') {
		p++;
	}
	for (; *p && w + 1 < n; p++) {
		if (*p == '+' || *p == '#' || (unsigned char)*p < 0x20) {
			w = 0;
			break;
		}
		out[w++] = *p == '/' ? ':' : *p;
	}
	if (w == 0 || w + 1 >= n)
		snprintf(out, n, "C");
	else
		out[w] = '\0';
}

/* %XX decoding into a malloc'ed string. */
static char *pct_decode(const char *s, size_t len)
{
	char *o = malloc(len + 1);
	size_t w = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hx[3] = {s[i + 1], s[i + 2], 0};
			o[w++] = (char)strtol(hx, NULL, 16);
			i += 2;
		} else {
			o[w++] = s[i];
		}
	}
	o[w] = '\0';
	return o;
}

static bool parse_ll(const char *v, long long *out)
{
	char *end;
	if (!*v)
		return false;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Append the '+'/' ' separated items of v to arr. false when one is not
 * an integer (ints) or there is none. */
static bool list_add(json_t *arr, const char *v, bool ints)
{
	bool any = false;
	char *buf = strdup(v), *save = NULL;
	if (!buf)
		return false;
	for (char *t = strtok_r(buf, "+ ", &save); t; t = strtok_r(NULL, "+ ", &save)) {
		long long iv;
		if (ints) {
			if (!parse_ll(t, &iv)) {
				free(buf);
				return false;
			}
			json_array_append_new(arr, json_integer(iv));
		} else {
			json_array_append_new(arr, json_string(t));
		}
		any = true;
	}
	free(buf);
	return any;
}

static json_t *obj_arr(json_t *o, const char *k)
{
	json_t *a = json_object_get(o, k);
	if (!a) {
		a = json_array();
		json_object_set_new(o, k, a);
	}
	return a;
}

/* The query string onto primitive members, the way the TS-0009 binding of
 * the CSE maps it. NULL on success, else why it cannot be (the case is
 * skipped: malformed or unmapped query parameters are HTTP-specific). */
static const char *query_to_primitive(json_t *p, const char *query, json_t *atrl)
{
	static const char *const fc_int[] = {"fu", "fo", "lim", "ofst", "lvl", "sts", "stb", "sza", "szb"};
	static const char *const fc_str[] = {"cra", "crb", "ms", "us", "exa", "exb"};
	json_t *fc = json_object();
	const char *why = NULL;
	const char *q = query;
	while (q && *q && !why) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		char *k = pct_decode(q, eq ? (size_t)(eq - q) : len);
		char *v = eq ? pct_decode(eq + 1, len - (size_t)(eq + 1 - q)) : strdup("");
		long long iv;
		bool known = false;
		if (!k || !v) {
			why = "out of memory";
		} else if (strcmp(k, "rcn") == 0 || strcmp(k, "drt") == 0 || strcmp(k, "rt") == 0) {
			known = true;
			if (!parse_ll(v, &iv)) /* out-of-range integers go as they are */
				why = "non-integer value of an integer query parameter (an HTTP parsing case)";
			else if (json_object_get(p, k))
				why = "query parameter given twice (an HTTP parsing case)";
			else if (strcmp(k, "rt") == 0)
				json_object_set_new(p, "rt", json_pack("{s:I}", "rtv", (json_int_t)iv));
			else
				json_object_set_new(p, k, json_integer(iv));
		} else if (strcmp(k, "da") == 0) {
			known = true; /* validated by the HTTP binding only */
		} else if (strcmp(k, "ty") == 0 || strcmp(k, "lbl") == 0 || strcmp(k, "cty") == 0) {
			known = true;
			if (!list_add(obj_arr(fc, k), v, strcmp(k, "ty") == 0))
				why = "malformed list query parameter (an HTTP parsing case)";
		} else if (strcmp(k, "atrl") == 0) {
			known = true;
			if (!list_add(atrl, v, false))
				why = "malformed atrl (an HTTP parsing case)";
		} else if (strcmp(k, "rids") == 0) {
			known = true;
			if (!list_add(obj_arr(p, "rids"), v, false))
				why = "malformed rids (an HTTP parsing case)";
		}
		for (size_t i = 0; !known && !why && i < sizeof(fc_int) / sizeof(fc_int[0]); i++)
			if (strcmp(k, fc_int[i]) == 0) {
				known = true;
				if (!parse_ll(v, &iv) || json_object_get(fc, k))
					why = "malformed filter query parameter (an HTTP parsing case)";
				else
					json_object_set_new(fc, k, json_integer(iv));
			}
		for (size_t i = 0; !known && !why && i < sizeof(fc_str) / sizeof(fc_str[0]); i++)
			if (strcmp(k, fc_str[i]) == 0) {
				known = true;
				if (!*v || json_object_get(fc, k))
					why = "malformed filter query parameter (an HTTP parsing case)";
				else
					json_object_set_new(fc, k, json_string(v));
			}
		if (!known && !why) {
			bool name_ok = *k != '\0';
			for (const char *c = k; *c; c++)
				if (!isalnum((unsigned char)*c) && *c != '_')
					name_ok = false;
			if (!name_ok)
				why = "query parameter without a primitive member (an HTTP parsing case)";
			else if (strlen(k) <= 5 && (strcmp(k, "rp") == 0 || strcmp(k, "tids") == 0 ||
			                            strcmp(k, "ltids") == 0 || strcmp(k, "tqi") == 0 ||
			                            strcmp(k, "asi") == 0 || strcmp(k, "auri") == 0 ||
			                            strcmp(k, "sqi") == 0 || strcmp(k, "smf") == 0 ||
			                            strcmp(k, "cfs") == 0 || strcmp(k, "cfq") == 0 ||
			                            strcmp(k, "lbq") == 0 || strcmp(k, "arp") == 0 ||
			                            strcmp(k, "chty") == 0 || strcmp(k, "pty") == 0 ||
			                            strcmp(k, "clbl") == 0 || strcmp(k, "palb") == 0 ||
			                            strcmp(k, "gmty") == 0 || strcmp(k, "geom") == 0 ||
			                            strcmp(k, "gsf") == 0))
				why = "query parameter the HTTP binding refuses as unsupported (5001)";
			else
				json_array_append_new(obj_arr(fc, "atr"),
				                      json_pack("{s:s,s:s}", "nm", k, "val", v));
		}
		free(k);
		free(v);
		q += len;
		if (*q == '&')
			q++;
	}
	if (!why && json_object_size(fc) > 0)
		json_object_set(p, "fc", fc);
	json_decref(fc);
	return why;
}

bool harness_query_carried(const char *query, const char **why)
{
	const char *w = NULL;
	mode_init();
	if (M.mqtt && query) {
		json_t *p = json_object(), *atrl = json_array();
		w = query_to_primitive(p, query, atrl);
		json_decref(p);
		json_decref(atrl);
	}
	if (why)
		*why = w;
	return w == NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* The XML form of request primitive p (mqtt+xml), or NULL when XML cannot
 * carry it faithfully (decoding the document must give p back): e.g. a
 * string where a list belongs, "" (an empty element is NULL), a number in
 * a member of unknown type. Such a request goes as JSON with a NOTE line,
 * as http+xml does with content. */
static char *mqtt_xml_prim(const json_t *p)
{
	char *xml = codec_xml_encode_prim(p, "m2m:rqp");
	json_t *back = NULL;
	if (xml && codec_xml_decode_prim(xml, strlen(xml), "m2m:rqp", &back, NULL, 0) == 0 &&
	    json_equal(back, p)) {
		json_decref(back);
		return xml;
	}
	json_decref(back);
	free(xml);
	char *js = json_dumps(p, JSON_COMPACT);
	print_message("[  NOTE    ] mqtt+xml: primitive has no faithful XML form, sent as JSON: %.300s\n",
	              js ? js : "?");
	free(js);
	return NULL;
}

/* Send primitive p (borrowed) on the req topic of `fr`; fill r. */
static void mqtt_exchange(m2m_result *r, const json_t *p, const char *fr, long timeout_ms)
{
	char level[256], topic[512], resp[512];
	char *text = M.xml ? mqtt_xml_prim(p) : NULL;
	const char *ser = text ? "xml" : "json";
	topic_level(fr, level, sizeof(level));
	snprintf(topic, sizeof(topic), "/oneM2M/req/%s/%s/%s", level, H.cse_id, ser);
	snprintf(resp, sizeof(resp), "/oneM2M/resp/%s/%s/%s", level, H.cse_id, ser);
	if (!text)
		text = json_dumps(p, JSON_COMPACT);
	const char *rqi = json_string_value(json_object_get(p, "rqi"));
	/* no hfmt() here: its rotating buffers may hold the caller's strings */
	char desc[1024];
	snprintf(desc, sizeof(desc), "MQTT op %lld",
	         (long long)json_integer_value(json_object_get(p, "op")));
	r->method = strdup(desc);
	snprintf(desc, sizeof(desc), "%s to %s", topic, json_string_value(json_object_get(p, "to")));
	r->url = strdup(desc);
	r->sent_rqi = dup_or_null(rqi);
	r->sent_body = text ? strndup(text, 4096) : NULL;
	if (!M.cl || !text || m2m_mqtt_publish(M.cl, topic, text, strlen(text)) != 0) {
		snprintf(r->error, sizeof(r->error), "cannot publish on %s", topic);
		free(text);
		return;
	}
	free(text);
	json_t *rsp = m2m_mqtt_wait(M.cl, resp, rqi, timeout_ms, NULL);
	if (!json_is_object(rsp)) {
		snprintf(r->error, sizeof(r->error), "no response primitive on %s within %ld ms", resp,
		         timeout_ms);
		json_decref(rsp);
		return;
	}
	json_t *rsc = json_object_get(rsp, "rsc");
	r->rsc = json_is_integer(rsc) ? (int)json_integer_value(rsc) : 0;
	unsigned st = rsc_http_status(r->rsc);
	r->http_status = st ? (int)st : 500; /* a response arrived */
	r->rqi = dup_or_null(json_string_value(json_object_get(rsp, "rqi")));
	r->rvi = dup_or_null(json_string_value(json_object_get(rsp, "rvi")));
	r->origin = dup_or_null(json_string_value(json_object_get(rsp, "fr")));
	r->content_type = strdup(strcmp(ser, "xml") == 0 ? "application/xml" : "application/json");
	r->headers = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(rsp, k, v) {
		if (strcmp(k, "pc") == 0)
			continue;
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		json_object_set_new(r->headers, k,
		                    json_string(json_is_string(v) ? json_string_value(v) : (s ? s : "")));
		free(s);
	}
	json_t *pc = json_object_get(rsp, "pc");
	if (pc && !json_is_null(pc)) {
		r->body = json_incref(pc);
		if (strcmp(ser, "xml") == 0)
			r->raw_body = codec_xml_encode(pc); /* for dumps: pc as it came */
		if (!r->raw_body)
			r->raw_body = json_dumps(pc, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	if (!r->raw_body)
		r->raw_body = strdup("");
	r->raw_len = r->raw_body ? strlen(r->raw_body) : 0;
	json_decref(rsp);
}

static void mqtt_send(m2m_result *r, const m2m_request *req)
{
	bool no_rvi = false, no_rqi = false;
	memset(r, 0, sizeof(*r));
	if (req->raw_content)
		skip_request("raw body bytes have no MQTT form (an HTTP body parsing case)");
	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		if (strcasecmp(req->headers[i], "X-M2M-RVI:") == 0)
			no_rvi = true;
		else if (strcasecmp(req->headers[i], "X-M2M-RI:") == 0)
			no_rqi = true;
		else
			skip_request(hfmt("HTTP header \"%s\" has no MQTT form", req->headers[i]));
	}
	json_t *p = json_object(), *atrl = json_array();
	char to[2048];
	snprintf(to, sizeof(to), "%s", req->to ? req->to : "");
	char *hash = strchr(to, '#');
	if (hash) { /* "#attr": as the HTTP client, an atrl of one */
		*hash = '\0';
		if (hash[1])
			json_array_append_new(atrl, json_string(hash + 1));
	}
	json_object_set_new(p, "op", json_integer(req->op));
	json_object_set_new(p, "to", json_string(to));
	if (req->from)
		json_object_set_new(p, "fr", json_string(req->from));
	if (!no_rqi) {
		char gen[64];
		snprintf(gen, sizeof(gen), "hq-%ld-%u", (long)getpid(), ++M.rq);
		json_object_set_new(p, "rqi", json_string(req->rqi ? req->rqi : gen));
	}
	if (!no_rvi) {
		const char *rvi = req->rvi ? req->rvi : "4";
		if (rvi[0])
			json_object_set_new(p, "rvi", json_string(rvi));
	}
	if (req->op == M2M_OP_CREATE && req->ty >= 0)
		json_object_set_new(p, "ty", json_integer(req->ty));
	const char *why = query_to_primitive(p, req->query, atrl);
	if (!why && json_array_size(atrl) > 0) {
		if (req->content)
			why = "atrl together with content";
		else
			json_object_set_new(p, "pc", json_pack("{s:O}", "m2m:atrl", atrl));
	}
	if (!why && req->content)
		json_object_set_new(p, "pc", json_deep_copy(req->content));
	json_decref(atrl);
	if (why) {
		json_decref(p);
		skip_request(why);
		return;
	}
	mqtt_exchange(r, p, req->from, M2M_CLIENT_TIMEOUT_MS);
	json_decref(p);
}

static int mqtt_wait_ready(int64_t end_ms)
{
	while (harness_now_ms() < end_ms) {
		m2m_result r;
		memset(&r, 0, sizeof(r));
		char rqi[64];
		snprintf(rqi, sizeof(rqi), "hq-ready-%ld-%u", (long)getpid(), ++M.rq);
		json_t *p = json_pack("{s:i,s:s,s:s,s:s,s:s}", "op", 2, "to", H.cse_rn, "fr", H.admin,
		                      "rqi", rqi, "rvi", "4");
		mqtt_exchange(&r, p, H.admin, 500);
		json_decref(p);
		bool ok = r.rsc != 0;
		m2m_result_clear(&r);
		if (ok)
			return 0;
		harness_sleep_ms(50);
	}
	print_error("harness: the CSE does not answer over MQTT (broker %s:%d)\n", M.mqtt_host,
	            M.mqtt_port);
	return -1;
}

void harness_send(m2m_result *r, const m2m_request *req)
{
	if (M.mqtt)
		mqtt_send(r, req);
	else if (M.xml)
		xml_send(r, req);
	else
		m2m_send(H.client, req, r);
}

void harness_req(m2m_result *r, m2m_op op, const char *to, const char *fr, int ty,
                 json_t *content, const char *query)
{
	m2m_request q;
	m2m_request_init(&q, op, to);
	q.from = fr;
	q.ty = ty;
	q.content = content;
	q.query = query;
	if (M.mqtt || M.xml)
		harness_send(r, &q);
	else
		m2m_do(H.client, op, to, fr, ty, content, query, r);
	if (content)
		json_decref(content);
}

json_t *harness_res(const m2m_result *r, const char *root)
{
	if (!r || !json_is_object(r->body))
		return NULL;
	return json_object_get(r->body, root);
}

void harness_dump(const m2m_result *r)
{
	print_message("  case:     %s\n", H.label[0] ? H.label : "-");
	print_message("  request:  %s %s  (X-M2M-RI %s)\n", r->method ? r->method : "?",
	              r->url ? r->url : "?", r->sent_rqi ? r->sent_rqi : "(none)");
	if (r->sent_body)
		print_message("  req body: %.1500s%s\n", r->sent_body,
		              strlen(r->sent_body) > 1500 ? "..." : "");
	if (r->http_status == 0) {
		print_message("  response: NONE (%s)\n", r->error);
		return;
	}
	print_message("  response: HTTP %d, X-M2M-RSC %d\n", r->http_status, r->rsc);
	if (r->headers) {
		const char *k;
		json_t *v;
		json_object_foreach(r->headers, k, v)
			print_message("    %s: %s\n", k, json_string_value(v));
	}
	if (r->raw_body && r->raw_len)
		print_message("  body:     %.3000s%s\n", r->raw_body, r->raw_len > 3000 ? "..." : "");
}

/* TS-0009 Table 6.3.2-1 as restated in the digest (section 5). */
static int http_for_rsc(int rsc)
{
	static const struct { int rsc, http; } map[] = {
		{1000, 202}, {1001, 202}, {1002, 202},
		{2000, 200}, {2001, 201}, {2002, 200}, {2004, 200},
		{4000, 400}, {4001, 501}, {4004, 404}, {4005, 405}, {4008, 504},
		{4015, 415}, {4101, 403}, {4102, 400}, {4103, 403}, {4104, 409},
		{4105, 409}, {4106, 403}, {4107, 403}, {4108, 403}, {4109, 403},
		{4110, 400}, {4117, 403}, {4126, 403},
		{5000, 500}, {5001, 501}, {5103, 404}, {5105, 403}, {5106, 409},
		{5107, 404}, {5203, 403}, {5204, 500}, {5205, 403}, {5206, 501},
		{5207, 406}, {5209, 500}, {6010, 400},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].rsc == rsc)
			return map[i].http;
	return 0;
}

bool harness_rsc_is(const m2m_result *r, int code)
{
	return r && r->http_status != 0 && r->rsc == code;
}

bool harness_check_rsc(const m2m_result *r, const int *codes, size_t n,
                       const char *expr, const char *file, int line)
{
	const char *why = NULL;
	bool match = false;
	for (size_t i = 0; i < n; i++)
		if (r->rsc == codes[i])
			match = true;
	if (r->http_status == 0)
		why = M.mqtt ? "no MQTT response primitive" : "no HTTP response";
	else if (!M.mqtt && !m2m_result_header(r, "X-M2M-RSC"))
		why = "response has no X-M2M-RSC header";
	else if (M.mqtt && r->rsc == 0)
		why = "response primitive has no rsc";
	else if (!match)
		why = "unexpected response status code";
	else if (!M.mqtt && http_for_rsc(r->rsc) && http_for_rsc(r->rsc) != r->http_status)
		why = "HTTP status does not match the TS-0009 mapping of the rsc";
	else if (M.xml && !M.mqtt && r->raw_len && !(r->content_type && strstr(r->content_type, "xml")))
		why = "body is not XML although the request said Accept: application/xml";
	else if (r->sent_rqi && (!r->rqi || strcmp(r->rqi, r->sent_rqi) != 0))
		why = "X-M2M-RI not echoed";
	if (!why)
		return true;
	char want[96] = "";
	size_t wl = 0;
	for (size_t i = 0; i < n && wl < sizeof(want) - 12; i++)
		wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s%d", i ? " or " : "", codes[i]);
	(void)expr;
	print_error("%s:%d: %s: want rsc %s, got %d (HTTP %d; HTTP for %d is %d)\n", file, line, why,
	            want, r->rsc, r->http_status, r->rsc, http_for_rsc(r->rsc));
	harness_dump(r);
	if (r->http_status == 0 || r->rsc >= 5000)
		harness_log_tail(20);
	return false;
}

static void print_json(const char *tag, const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	print_message("  %s: %.3000s\n", tag, s ? s : "(null)");
	free(s);
}

bool harness_check_int(const json_t *obj, const char *key, long long want,
                       const char *file, int line)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v) && json_integer_value(v) == want)
		return true;
	print_error("%s:%d: attribute \"%s\": want number %lld, got %s\n", file, line, key, want,
	            v ? (json_is_integer(v) ? "another number" : "a non-integer value") : "nothing");
	print_message("  case: %s\n", H.label[0] ? H.label : "-");
	print_json("in", obj);
	return false;
}

bool harness_check_str(const json_t *obj, const char *key, const char *want,
                       const char *file, int line)
{
	const char *v = json_string_value(json_object_get(obj, key));
	if (v && want && strcmp(v, want) == 0)
		return true;
	print_error("%s:%d: attribute \"%s\": want \"%s\", got %s%s%s\n", file, line, key,
	            want ? want : "(null)", v ? "\"" : "", v ? v : "no string", v ? "\"" : "");
	print_message("  case: %s\n", H.label[0] ? H.label : "-");
	print_json("in", obj);
	return false;
}

bool harness_check_true(bool cond, const json_t *ctx, const char *what,
                        const char *file, int line)
{
	if (cond)
		return true;
	print_error("%s:%d: expectation failed: %s\n", file, line, what);
	print_message("  case: %s\n", H.label[0] ? H.label : "-");
	if (ctx)
		print_json("context", ctx);
	return false;
}

const char *harness_jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

long long harness_jint(const json_t *obj, const char *key, long long dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool harness_list_has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *x = json_string_value(v);
		if (x && s && strcmp(x, s) == 0)
			return true;
	}
	return false;
}

bool harness_id_matches(const char *id, const char *ri, const char *sid)
{
	if (!id)
		return false;
	const char *rest = id;
	/* strip //sp and /csi prefixes */
	if (rest[0] == '/' && rest[1] == '/') {
		rest = strchr(rest + 2, '/');
		if (!rest)
			return false;
	}
	if (rest[0] == '/') {
		size_t cl = strlen(H.cse_id);
		if (strncmp(rest + 1, H.cse_id, cl) != 0 || rest[1 + cl] != '/')
			return false;
		rest = rest + 1 + cl + 1;
	}
	if (ri && strcmp(rest, ri) == 0)
		return true;
	if (sid && strcmp(rest, sid) == 0)
		return true;
	if (sid && rest[0] == '-' && rest[1] == '/') { /* "-/..." == "<cse-rn>/..." */
		const char *s2 = strchr(sid, '/');
		if (s2 && strcmp(rest + 1, s2) == 0)
			return true;
	}
	return false;
}

/* EXPECT_RSC at the helper's caller. */
static void expect_one(const m2m_result *r, int code, const char *file, int line)
{
	if (!harness_check_rsc(r, &code, 1, "", file, line))
		_fail(file, line);
}

void harness_track_ae(const char *aei)
{
	if (!aei)
		return;
	if (H.naes == H.capaes) {
		size_t cap = H.capaes ? H.capaes * 2 : 32;
		char **n = realloc(H.aes, cap * sizeof(*n));
		if (!n)
			return;
		H.aes = n;
		H.capaes = cap;
	}
	char *d = strdup(aei);
	if (d)
		H.aes[H.naes++] = d;
}

const char *harness_create_ae_at(const char *file, int line, const char *orig, const char *rn, json_t *attrs)
{
	json_t *ae = json_pack("{s:s, s:b, s:[s,s]}", "api", "Nhearthconf", "rr", 0, "srv", "3", "4");
	if (rn)
		json_object_set_new(ae, "rn", json_string(rn));
	if (attrs) {
		json_object_update(ae, attrs);
		json_decref(attrs);
	}
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, H.cse_rn, orig, 2, json_pack("{s:o}", "m2m:ae", ae), NULL);
	expect_one(&r, 2001, file, line);
	const char *aei = harness_jstr(harness_res(&r, "m2m:ae"), "aei");
	if (!aei) {
		print_error("AE create answered 2001 without m2m:ae.aei\n");
		harness_dump(&r);
		_fail(file, line);
	}
	const char *kept = keep_str(aei);
	harness_track_ae(kept);
	m2m_result_clear(&r);
	return kept;
}

const char *harness_register_at(const char *file, int line, const char *prefix)
{
	const char *orig = harness_name(hfmt("C%s", prefix));
	return harness_create_ae_at(file, line, orig, orig, NULL);
}

const char *harness_create_cnt_at(const char *file, int line, const char *parent, const char *fr,
                                  const char *rn, json_t *attrs)
{
	json_t *cnt = attrs ? attrs : json_object();
	if (rn)
		json_object_set_new(cnt, "rn", json_string(rn));
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, parent, fr, 3, json_pack("{s:o}", "m2m:cnt", cnt), NULL);
	expect_one(&r, 2001, file, line);
	const char *ri = harness_jstr(harness_res(&r, "m2m:cnt"), "ri");
	if (!ri) {
		print_error("container create answered 2001 without m2m:cnt.ri\n");
		harness_dump(&r);
		_fail(file, line);
	}
	ri = keep_str(ri);
	m2m_result_clear(&r);
	return ri;
}

const char *harness_create_cin_at(const char *file, int line, const char *parent, const char *fr,
                                  const char *rn, const char *con)
{
	json_t *cin = json_pack("{s:s, s:s}", "cnf", "text/plain:0", "con", con);
	if (rn)
		json_object_set_new(cin, "rn", json_string(rn));
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, parent, fr, 4, json_pack("{s:o}", "m2m:cin", cin), NULL);
	expect_one(&r, 2001, file, line);
	const char *ri = harness_jstr(harness_res(&r, "m2m:cin"), "ri");
	if (!ri) {
		print_error("contentInstance create answered 2001 without m2m:cin.ri\n");
		harness_dump(&r);
		_fail(file, line);
	}
	ri = keep_str(ri);
	m2m_result_clear(&r);
	return ri;
}

json_t *harness_get_at(const char *file, int line, const char *to, const char *fr, const char *root)
{
	m2m_result r;
	harness_req(&r, M2M_OP_RETRIEVE, to, fr, -1, NULL, NULL);
	expect_one(&r, 2000, file, line);
	json_t *res = harness_res(&r, root);
	if (!json_is_object(res)) {
		print_error("retrieve of %s: body has no object \"%s\"\n", to, root);
		harness_dump(&r);
		_fail(file, line);
	}
	json_incref(res);
	m2m_result_clear(&r);
	return res;
}

void harness_delete_at(const char *file, int line, const char *to, const char *fr)
{
	m2m_result r;
	harness_req(&r, M2M_OP_DELETE, to, fr, -1, NULL, NULL);
	expect_one(&r, 2002, file, line);
	m2m_result_clear(&r);
}

/* ---------------- notification receiver ---------------- */

#define NOTIF_MAX_BODY (1024u * 1024u)

struct notif_receiver {
	struct MHD_Daemon *d;
	char url[128];
	char *tls_cert, *tls_key; /* PEM in memory, for MHD (https receiver) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	notif_msg *head, *tail;
	size_t total;
	unsigned http, vhttp;
	int rsc, vrsc;
};

typedef struct conn_state {
	char *buf;
	size_t len, cap;
	bool overflow;
} conn_state;

static enum MHD_Result hdr_it(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	(void)kind;
	char low[128];
	size_t i;
	for (i = 0; k[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
	low[i] = '\0';
	json_object_set_new(cls, low, json_string(v ? v : ""));
	return MHD_YES;
}

static bool sgn_is_vrq(const json_t *body)
{
	json_t *sgn = json_object_get(body, "m2m:sgn");
	return json_is_true(json_object_get(sgn, "vrq"));
}

static enum MHD_Result notif_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	notif_receiver *r = cls;
	conn_state *cs = *con_cls;
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return MHD_NO;
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		if (cs->len + n > NOTIF_MAX_BODY) {
			cs->overflow = true;
		} else {
			if (cs->len + n + 1 > cs->cap) {
				size_t cap = cs->cap ? cs->cap : 4096;
				while (cap < cs->len + n + 1)
					cap *= 2;
				char *b = realloc(cs->buf, cap);
				if (!b)
					return MHD_NO;
				cs->buf = b;
				cs->cap = cap;
			}
			memcpy(cs->buf + cs->len, upload, n);
			cs->len += n;
			cs->buf[cs->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	notif_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return MHD_NO;
	m->method = strdup(method);
	m->url = strdup(url);
	m->headers = json_object();
	MHD_get_connection_values(conn, MHD_HEADER_KIND, hdr_it, m->headers);
	m->raw = cs->buf ? strndup(cs->buf, cs->len) : strdup("");
	if (cs->len)
		m->body = json_loadb(cs->buf, cs->len, 0, NULL);
	bool vrq = sgn_is_vrq(m->body);
	const char *ri = json_string_value(json_object_get(m->headers, "x-m2m-ri"));
	char ribuf[256];
	snprintf(ribuf, sizeof(ribuf), "%s", ri ? ri : "");

	pthread_mutex_lock(&r->mu);
	unsigned http = vrq ? r->vhttp : r->http;
	int rsc = vrq ? r->vrsc : r->rsc;
	r->total++;
	if (r->tail)
		r->tail->next = m;
	else
		r->head = m;
	r->tail = m;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);

	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	char rscs[16];
	snprintf(rscs, sizeof(rscs), "%d", rsc);
	MHD_add_response_header(resp, "X-M2M-RSC", rscs);
	if (ribuf[0])
		MHD_add_response_header(resp, "X-M2M-RI", ribuf);
	MHD_add_response_header(resp, "X-M2M-RVI", "4");
	enum MHD_Result ret = MHD_queue_response(conn, http, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void notif_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	conn_state *cs = *con_cls;
	if (cs) {
		free(cs->buf);
		free(cs);
		*con_cls = NULL;
	}
}

/* A whole small file (PEM) into a NUL-terminated buffer; NULL on failure. */
static char *slurp(const char *path)
{
	enum { MAXF = 1 << 20 };
	FILE *f = fopen(path, "rb");
	char *b = f ? malloc(MAXF + 1) : NULL;
	size_t n = b ? fread(b, 1, MAXF, f) : 0;
	if (f)
		fclose(f);
	if (!b || n == 0 || n == MAXF) {
		print_error("harness: cannot read %s\n", path);
		free(b);
		return NULL;
	}
	b[n] = '\0';
	return b;
}

notif_receiver *notif_receiver_start(void)
{
	return notif_receiver_start_tls(NULL, NULL);
}

notif_receiver *notif_receiver_start_tls(const char *cert_file, const char *key_file)
{
	notif_receiver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (cert_file) {
		r->tls_cert = slurp(cert_file);
		r->tls_key = slurp(key_file);
		if (!r->tls_cert || !r->tls_key) {
			free(r->tls_cert);
			free(r->tls_key);
			free(r);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->http = 200;
	r->rsc = 2000;
	r->vhttp = 200;
	r->vrsc = 2000;
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (cert_file)
		r->d = MHD_start_daemon(flags, 0, NULL, NULL, notif_handler, r, MHD_OPTION_SOCK_ADDR,
		                        (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
		                        notif_completed, r, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
		                        MHD_OPTION_HTTPS_MEM_CERT, r->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
		                        r->tls_key, MHD_OPTION_END);
	else
		r->d = MHD_start_daemon(flags, 0, NULL, NULL, notif_handler, r, MHD_OPTION_SOCK_ADDR,
		                        (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
		                        notif_completed, r, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
		                        MHD_OPTION_END);
	if (!r->d) {
		print_error("harness: cannot start the notification receiver\n");
		notif_receiver_stop(&r);
		return NULL;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	if (!di || di->port == 0) {
		print_error("harness: notification receiver has no port\n");
		notif_receiver_stop(&r);
		return NULL;
	}
	snprintf(r->url, sizeof(r->url), "%s://127.0.0.1:%u/notify", cert_file ? "https" : "http",
	         (unsigned)di->port);
	return r;
}

void notif_msg_free(notif_msg **mp)
{
	if (!mp || !*mp)
		return;
	notif_msg *m = *mp;
	free(m->method);
	free(m->url);
	json_decref(m->headers);
	json_decref(m->body);
	free(m->raw);
	free(m);
	*mp = NULL;
}

void notif_receiver_stop(notif_receiver **rp)
{
	if (!rp || !*rp)
		return;
	notif_receiver *r = *rp;
	if (r->d)
		MHD_stop_daemon(r->d);
	notif_msg *m = r->head;
	while (m) {
		notif_msg *n = m->next;
		notif_msg_free(&m);
		m = n;
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->tls_cert);
	free(r->tls_key);
	free(r);
	*rp = NULL;
}

const char *notif_receiver_url(const notif_receiver *r)
{
	return r ? r->url : NULL;
}

void notif_receiver_set_reply(notif_receiver *r, unsigned http, int rsc)
{
	pthread_mutex_lock(&r->mu);
	r->http = http;
	r->rsc = rsc;
	pthread_mutex_unlock(&r->mu);
}

void notif_receiver_set_verify_reply(notif_receiver *r, unsigned http, int rsc)
{
	pthread_mutex_lock(&r->mu);
	r->vhttp = http;
	r->vrsc = rsc;
	pthread_mutex_unlock(&r->mu);
}

notif_msg *notif_wait_msg(notif_receiver *r, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (!r->head) {
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
			break;
	}
	notif_msg *m = r->head;
	if (m) {
		r->head = m->next;
		if (!r->head)
			r->tail = NULL;
		m->next = NULL;
	}
	pthread_mutex_unlock(&r->mu);
	return m;
}

static json_t *wait_sgn(notif_receiver *r, int timeout_ms, bool skip_vrq)
{
	int64_t end = harness_now_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - harness_now_ms();
		if (left <= 0)
			return NULL;
		notif_msg *m = notif_wait_msg(r, (int)left);
		if (!m)
			return NULL;
		json_t *sgn = json_object_get(m->body, "m2m:sgn");
		if (!json_is_object(sgn)) {
			print_message("receiver: ignoring a %s %s without m2m:sgn: %.500s\n", m->method,
			              m->url, m->raw);
			notif_msg_free(&m);
			continue;
		}
		if (skip_vrq && json_is_true(json_object_get(sgn, "vrq"))) {
			notif_msg_free(&m);
			continue;
		}
		json_incref(sgn);
		notif_msg_free(&m);
		return sgn;
	}
}

json_t *notif_wait(notif_receiver *r, int timeout_ms)
{
	return wait_sgn(r, timeout_ms, false);
}

json_t *notif_wait_event(notif_receiver *r, int timeout_ms)
{
	return wait_sgn(r, timeout_ms, true);
}

size_t notif_total(notif_receiver *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->total;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void notif_drain(notif_receiver *r)
{
	notif_msg *m;
	while ((m = notif_wait_msg(r, 0)) != NULL)
		notif_msg_free(&m);
}

/* ---------------- private MQTT broker ---------------- */

const char *harness_mosquitto_path(void)
{
	static const char *const cands[] = { "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto",
	                                     "/usr/bin/mosquitto", "/usr/local/bin/mosquitto" };
	const char *env = getenv("HEARTH_MOSQUITTO");
	if (env && env[0])
		return access(env, X_OK) == 0 ? env : NULL;
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

static void broker_atexit(void)
{
	if (B.pid > 0) {
		kill(B.pid, SIGKILL);
		waitpid(B.pid, NULL, 0);
		B.pid = 0;
	}
}

static bool broker_accepts(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {0};
	bool ok;
	if (s < 0)
		return false;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

/* The broker's directory and plain port, made on first use. */
static int broker_dir(void)
{
	if (B.dir[0])
		return 0;
	char tmpl[] = "/tmp/hearth-mqtt-XXXXXX";
	if (!mkdtemp(tmpl)) {
		print_error("harness: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	/* mosquitto started as root drops to its own user after reading the
	 * config; the directory stays readable for the log path and the TLS
	 * files (copied in, 0644) */
	chmod(tmpl, 0755);
	snprintf(B.dir, sizeof(B.dir), "%s", tmpl);
	snprintf(B.conf, sizeof(B.conf), "%s/mosquitto.conf", B.dir);
	snprintf(B.log, sizeof(B.log), "%s/broker.log", B.dir);
	B.port = free_port();
	if (B.port <= 0) {
		print_error("harness: no free port for the broker\n");
		return -1;
	}
	return 0;
}

static int broker_copy(const char *src, const char *name);

int harness_broker_start(void)
{
	const char *bin = harness_mosquitto_path();
	if (!bin) {
		print_error("harness: mosquitto is not installed\n");
		return -1;
	}
	if (B.pid > 0)
		return 0;
	if (broker_dir() != 0)
		return -1;
	if (B.tls && B.tls_port <= 0) {
		B.tls_port = free_port();
		if (B.tls_port <= 0) {
			print_error("harness: no free port for the broker's TLS listener\n");
			return -1;
		}
	}
	/* written at every start: a restart may change the TLS listener */
	FILE *f = fopen(B.conf, "w");
	if (!f) {
		print_error("harness: %s: %s\n", B.conf, strerror(errno));
		return -1;
	}
	fprintf(f, "# private broker of a Hearth test; not the system service\n"
	           "allow_anonymous true\n"
	           "persistence false\n"
	           "log_dest stderr\n"
	           "log_type error\nlog_type warning\nlog_type notice\n"
	           "listener %d 127.0.0.1\n",
	        B.port);
	if (B.tls) {
		fprintf(f, "listener %d 127.0.0.1\n"
		           "certfile %s/tls-cert.pem\n"
		           "keyfile %s/tls-key.pem\n",
		        B.tls_port, B.dir, B.dir);
		if (B.tls_has_ca)
			fprintf(f, "cafile %s/tls-ca.pem\n", B.dir);
		fprintf(f, "require_certificate %s\n", B.tls_require_cert ? "true" : "false");
	}
	fclose(f);
	if (!B.atexit_set) {
		atexit(broker_atexit);
		B.atexit_set = true;
	}
	if (broker_accepts(B.port) || (B.tls && broker_accepts(B.tls_port))) {
		print_error("harness: something else already listens on the broker port %d\n", B.port);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		print_error("harness: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(B.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "-c", B.conf, (char *)NULL);
		fprintf(stderr, "harness: exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	B.pid = pid;
	int64_t end = harness_now_ms() + 5000;
	while (harness_now_ms() < end) {
		int st;
		if (waitpid(B.pid, &st, WNOHANG) == B.pid) {
			print_error("harness: mosquitto exited at start (see %s)\n", B.log);
			B.pid = 0;
			return -1;
		}
		if (broker_accepts(B.port) && (!B.tls || broker_accepts(B.tls_port))) {
			/* the one answering must be ours: a broker of another test
			   run that took the port first would make ours exit */
			harness_sleep_ms(150);
			if (waitpid(B.pid, &st, WNOHANG) == B.pid) {
				print_error("harness: mosquitto exited at start, port %d taken? (see %s)\n", B.port,
				            B.log);
				B.pid = 0;
				return -1;
			}
			return 0;
		}
		harness_sleep_ms(20);
	}
	print_error("harness: mosquitto does not accept connections on port %d (see %s)\n", B.port,
	            B.log);
	broker_atexit();
	return -1;
}

int harness_broker_stop(void)
{
	int st;
	if (B.pid <= 0)
		return -1;
	kill(B.pid, SIGTERM);
	int64_t end = harness_now_ms() + 5000;
	while (waitpid(B.pid, &st, WNOHANG) != B.pid) {
		if (harness_now_ms() >= end) {
			print_error("harness: mosquitto ignored SIGTERM; killing it\n");
			broker_atexit();
			return -1;
		}
		harness_sleep_ms(20);
	}
	B.pid = 0;
	return 0;
}

int harness_broker_port(void) { return B.port; }
int harness_broker_tls_port(void) { return B.tls ? B.tls_port : 0; }

/* Copy file src to B.dir/name, readable by the broker's own user. */
static int broker_copy(const char *src, const char *name)
{
	char dst[700], buf[8192];
	size_t n;
	int rc = 0;
	snprintf(dst, sizeof(dst), "%s/%s", B.dir, name);
	FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
	if (!in || !out) {
		print_error("harness: cannot copy %s to %s: %s\n", src, dst, strerror(errno));
		rc = -1;
	}
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	if (rc == 0)
		chmod(dst, 0644);
	return rc;
}

int harness_broker_set_tls(const char *cert, const char *key, const char *ca, bool require_cert)
{
	if (B.pid > 0) {
		print_error("harness: harness_broker_set_tls while the broker runs\n");
		return -1;
	}
	B.tls = cert != NULL;
	if (!B.tls)
		return 0;
	if (broker_dir() != 0)
		return -1;
	B.tls_has_ca = ca != NULL;
	B.tls_require_cert = require_cert && ca;
	if (broker_copy(cert, "tls-cert.pem") != 0 || broker_copy(key, "tls-key.pem") != 0 ||
	    (ca && broker_copy(ca, "tls-ca.pem") != 0))
		return -1;
	return 0;
}

void harness_broker_cleanup(void)
{
	if (B.pid > 0)
		harness_broker_stop();
	if (B.dir[0]) {
		if (getenv("HEARTH_KEEP"))
			print_message("harness: kept %s (broker.log, mosquitto.conf)\n", B.dir);
		else
			nftw(B.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		B.dir[0] = '\0';
	}
	B.tls = false;
	B.tls_port = 0;
}

/* ---- peer daemons (two-tier tests) ---------------------------------------- */

static bool peer_reap(harness_peer *p, int *status, long timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(p->pid, status, WNOHANG);
		if (r == p->pid || r < 0)
			return r == p->pid;
		if (harness_now_ms() >= end)
			return false;
		harness_sleep_ms(20);
	}
}

int harness_peer_start(harness_peer *p, const char *const *args)
{
	if (!H.local)
		return -1;
	if (!p->port) {
		p->port = free_port();
		snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
		snprintf(p->db, sizeof(p->db), "%s/%s.db", H.dir, p->name);
		snprintf(p->log, sizeof(p->log), "%s/%s.log", H.dir, p->name);
	}
	char port[16];
	snprintf(port, sizeof(port), "%d", p->port);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		char *argv[48] = { H.bin, (char *)"--http-addr", (char *)"127.0.0.1", (char *)"--http-port", port,
		                   (char *)"--db", p->db, (char *)"--sp-id", H.sp_id, NULL };
		size_t ac = 9;
		for (size_t i = 0; args && args[i] && ac < 47; i++)
			argv[ac++] = (char *)args[i];
		argv[ac] = NULL;
		execv(H.bin, argv);
		_exit(127);
	}
	p->pid = pid;
	m2m_client *cl = m2m_client_new(p->url);
	int64_t end = harness_now_ms() + 10000;
	int rc = -1;
	while (cl && harness_now_ms() < end) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			print_error("harness: peer %s exited at start (status %d)\n", p->name,
			            WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			p->pid = 0;
			break;
		}
		m2m_result r;
		m2m_do(cl, M2M_OP_RETRIEVE, "-", "CAdmin", -1, NULL, NULL, &r);
		bool up = r.http_status != 0;
		m2m_result_clear(&r);
		if (up) {
			rc = 0;
			break;
		}
		harness_sleep_ms(50);
	}
	m2m_client_free(&cl);
	if (rc != 0 && p->pid > 0) {
		kill(p->pid, SIGKILL);
		peer_reap(p, NULL, 2000);
		p->pid = 0;
	}
	if (rc != 0)
		H.keep = true;
	return rc;
}

int harness_peer_stop(harness_peer *p)
{
	int st = 0;
	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	if (!peer_reap(p, &st, 10000)) {
		kill(p->pid, SIGKILL);
		peer_reap(p, NULL, 2000);
		p->pid = 0;
		H.keep = true;
		return -1;
	}
	p->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		H.keep = true;
		return -1;
	}
	return 0;
}

int harness_peer_kill9(harness_peer *p)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGKILL);
	bool ok = peer_reap(p, NULL, 5000);
	p->pid = 0;
	return ok ? 0 : -1;
}

void harness_peer_log_tail(const harness_peer *p, int lines)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, p->log);
	if (system(cmd) != 0)
		print_error("harness: no log for %s\n", p->name);
}

int harness_free_port(void)
{
	return free_port();
}

int harness_spawn(const char *log, char *const argv[], bool append)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int harness_run(const char *log, char *const argv[], bool append)
{
	int pid = harness_spawn(log, argv, append), st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int harness_reap(int *pid, int sig)
{
	if (*pid <= 0)
		return 0;
	kill(*pid, sig);
	int st = 0;
	bool gone = false;
	for (int i = 0; i < 500 && !gone; i++) {
		gone = waitpid(*pid, &st, WNOHANG) == *pid;
		if (!gone)
			harness_sleep_ms(20);
	}
	if (!gone) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &st, 0);
	}
	*pid = 0;
	return gone && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int harness_file_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}
