/*
 * 13_device_agent_test.c - black-box tests of the device agent
 * (build/hearth-device, README "Device agent"), playing its gateway.
 *
 * The agent is started as a separate process (HEARTH_DEVICE_BIN, default
 * hearth-device next to HEARTH_BIN, else build/hearth-device) on a free
 * loopback port with a fresh state directory. Most cases point it at a
 * fake gateway in this process: a libmicrohttpd server that records every
 * request and answers like a CSE that supports <node> and mgmtObjs (AE
 * registration 2001 with an assigned AE-ID, 4117/4105 on repeats, Retrieve
 * of a registered AE, Update 2004), and also serves the firmware images
 * under /img/ (optionally slowly). The test sends the operation Notify of
 * mgmtobj/README.md to the agent itself and checks what the agent does:
 * its requests (the report Update, follow-ups, registration) and its state
 * file. One case runs against the real hearth-cse of the harness (AE
 * registration and resumption; the CSE does not serve <node> yet, which
 * the agent must tolerate).
 *
 * Every process started here is stopped by pid (SIGTERM, expecting exit
 * status 0, or SIGKILL in the crash cases); the group teardown kills a
 * leftover one.
 */
#include "conformance/lib/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#define GW_CSE_ID "id-gw"
#define GW_CSI "/id-gw"
#define GW_CSE_RN "cse-gw"
#define GW_MAX_REQ 1024
#define GW_MAX_IMG 16
#define GW_MAX_BODY (256u * 1024u)
#define WAIT_MS 8000

/* ---------------- fake gateway + image server ---------------- */

typedef struct gw_req {
	char method[8];
	char url[512];
	char origin[256];
	char ctype[128];
	json_t *body;
} gw_req;

typedef struct gw_img {
	char path[128];
	char *data;
	size_t len;
	long delay_ms;
} gw_img;

static struct {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	gw_req req[GW_MAX_REQ];
	size_t nreq;
	json_t *aes;      /* aei -> {"poa":[...]} */
	json_t *created;  /* "<parent>|<rn>" -> true */
	unsigned next_ae;
	int fail_puts;    /* answer the next N Updates 5000 */
	gw_img img[GW_MAX_IMG];
	size_t nimg;
	volatile int stopping;
} G;

typedef struct gw_conn {
	char *buf;
	size_t len;
} gw_conn;

static enum MHD_Result gw_reply(struct MHD_Connection *conn, unsigned http, int rsc, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct MHD_Response *resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (void *)"",
	                                                            MHD_RESPMEM_MUST_COPY);
	free(text);
	if (!resp)
		return MHD_NO;
	char rscs[16];
	snprintf(rscs, sizeof rscs, "%d", rsc);
	MHD_add_response_header(resp, "X-M2M-RSC", rscs);
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	if (ri)
		MHD_add_response_header(resp, "X-M2M-RI", ri);
	MHD_add_response_header(resp, "X-M2M-RVI", "4");
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result r = MHD_queue_response(conn, http, resp);
	MHD_destroy_response(resp);
	return r;
}

static json_t *dbg(const char *msg)
{
	return json_pack("{s:s}", "m2m:dbg", msg);
}

/* The first (only) member of a resource body: its root and value. */
static json_t *body_root(json_t *body, const char **root)
{
	void *it = json_object_iter(body);
	if (!it)
		return NULL;
	if (root)
		*root = json_object_iter_key(it);
	return json_object_iter_value(it);
}

static int ty_of(const char *ctype)
{
	const char *t = ctype ? strstr(ctype, "ty=") : NULL;
	return t ? (int)strtol(t + 3, NULL, 10) : -1;
}

/* Answer a oneM2M request as the gateway would; called with G.mu held. */
static enum MHD_Result gw_cse(struct MHD_Connection *conn, const gw_req *q)
{
	const char *root = NULL;
	json_t *res = body_root(q->body, &root);
	if (strcmp(q->method, "POST") == 0) {
		int ty = ty_of(q->ctype);
		if (!res)
			return gw_reply(conn, 400, 4000, dbg("no content"));
		if (ty == 2) {
			char aei[128];
			if (!q->origin[0] || strcmp(q->origin, "C") == 0)
				snprintf(aei, sizeof aei, "Cgw%u", ++G.next_ae);
			else
				snprintf(aei, sizeof aei, "%s", q->origin);
			if (json_object_get(G.aes, aei))
				return gw_reply(conn, 403, 4117, dbg("AE-ID already registered"));
			json_t *ae = json_deep_copy(res);
			json_object_set_new(ae, "ri", json_string(aei));
			json_object_set_new(ae, "aei", json_string(aei));
			json_object_set(G.aes, aei, ae);
			return gw_reply(conn, 201, 2001, json_pack("{s:o}", "m2m:ae", ae));
		}
		const char *rn = json_string_value(json_object_get(res, "rn"));
		char key[700];
		snprintf(key, sizeof key, "%s|%s", q->url, rn ? rn : "");
		if (json_object_get(G.created, key))
			return gw_reply(conn, 409, 4105, dbg("name already present"));
		json_object_set_new(G.created, key, json_true());
		json_t *out = json_deep_copy(res);
		json_object_set_new(out, "ri", json_sprintf("r%zu", G.nreq));
		return gw_reply(conn, 201, 2001, json_pack("{s:o}", root, out));
	}
	if (strcmp(q->method, "GET") == 0) {
		const char *id = strrchr(q->url, '/');
		json_t *ae = id ? json_object_get(G.aes, id + 1) : NULL;
		if (!ae)
			return gw_reply(conn, 404, 4004, dbg("no such resource"));
		return gw_reply(conn, 200, 2000, json_pack("{s:O}", "m2m:ae", ae));
	}
	if (strcmp(q->method, "PUT") == 0) {
		if (G.fail_puts > 0) {
			G.fail_puts--;
			return gw_reply(conn, 500, 5000, dbg("internal error (test)"));
		}
		return gw_reply(conn, 200, 2004, json_incref(q->body));
	}
	return gw_reply(conn, 405, 4005, dbg("operation not allowed"));
}

static enum MHD_Result gw_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	gw_conn *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return MHD_NO;
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (c->len + n > GW_MAX_BODY)
			return MHD_NO;
		char *b = realloc(c->buf, c->len + n + 1);
		if (!b)
			return MHD_NO;
		memcpy(b + c->len, upload, n);
		c->buf = b;
		c->len += n;
		b[c->len] = '\0';
		return MHD_YES;
	}
	gw_req q;
	memset(&q, 0, sizeof q);
	snprintf(q.method, sizeof q.method, "%s", method);
	snprintf(q.url, sizeof q.url, "%s", url);
	const char *o = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-Origin");
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	snprintf(q.origin, sizeof q.origin, "%s", o ? o : "");
	snprintf(q.ctype, sizeof q.ctype, "%s", ct ? ct : "");
	q.body = c->len ? json_loadb(c->buf, c->len, 0, NULL) : NULL;

	pthread_mutex_lock(&G.mu);
	if (G.nreq < GW_MAX_REQ)
		G.req[G.nreq++] = q;
	else
		json_decref(q.body);
	pthread_cond_broadcast(&G.cv);
	if (strncmp(url, "/img/", 5) == 0) {
		gw_img *img = NULL;
		for (size_t i = 0; i < G.nimg; i++)
			if (strcmp(G.img[i].path, url) == 0)
				img = &G.img[i];
		if (!img) {
			pthread_mutex_unlock(&G.mu);
			return gw_reply(conn, 404, 4004, NULL);
		}
		long delay = img->delay_ms;
		struct MHD_Response *resp = MHD_create_response_from_buffer(img->len, img->data,
		                                                            MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&G.mu);
		for (long t = 0; t < delay && !G.stopping; t += 20)
			harness_sleep_ms(20);
		if (!resp)
			return MHD_NO;
		enum MHD_Result r = MHD_queue_response(conn, 200, resp);
		MHD_destroy_response(resp);
		return r;
	}
	enum MHD_Result r = gw_cse(conn, &q);
	pthread_mutex_unlock(&G.mu);
	return r;
}

static void gw_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	gw_conn *c = *con_cls;
	if (c) {
		free(c->buf);
		free(c);
		*con_cls = NULL;
	}
}

static void gw_reset(void)
{
	pthread_mutex_lock(&G.mu);
	for (size_t i = 0; i < G.nreq; i++)
		json_decref(G.req[i].body);
	G.nreq = 0;
	json_object_clear(G.aes);
	json_object_clear(G.created);
	G.fail_puts = 0;
	for (size_t i = 0; i < G.nimg; i++)
		free(G.img[i].data);
	G.nimg = 0;
	pthread_mutex_unlock(&G.mu);
}

static int gw_start(void)
{
	pthread_mutex_init(&G.mu, NULL);
	pthread_cond_init(&G.cv, NULL);
	G.aes = json_object();
	G.created = json_object();
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	G.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	                       0, NULL, NULL, gw_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                       MHD_OPTION_NOTIFY_COMPLETED, gw_completed, NULL,
	                       MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!G.d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(G.d, MHD_DAEMON_INFO_BIND_PORT);
	G.port = di ? di->port : 0;
	return G.port ? 0 : -1;
}

static void gw_stop(void)
{
	G.stopping = 1;
	if (G.d)
		MHD_stop_daemon(G.d);
	G.d = NULL;
	gw_reset();
	json_decref(G.aes);
	json_decref(G.created);
}

static const char *gw_url(void)
{
	return hfmt("http://127.0.0.1:%d", G.port);
}

/* Serve data at /img/<name>; returns the image URL with its digest
 * fragment ("" digest: none; digest_of: hash these bytes instead). */
static const char *gw_image(const char *name, const char *data, size_t len, long delay_ms,
                            const char *digest_of, bool with_digest)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	const char *h = digest_of ? digest_of : data;
	size_t hl = digest_of ? strlen(digest_of) : len;
	EVP_Digest(h, hl, md, &ml, EVP_sha256(), NULL);
	char hex[65];
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	pthread_mutex_lock(&G.mu);
	gw_img *img = &G.img[G.nimg++];
	snprintf(img->path, sizeof img->path, "/img/%s", name);
	img->data = malloc(len);
	memcpy(img->data, data, len);
	img->len = len;
	img->delay_ms = delay_ms;
	pthread_mutex_unlock(&G.mu);
	if (!with_digest)
		return hfmt("%s/img/%s", gw_url(), name);
	return hfmt("%s/img/%s#sha256=%s", gw_url(), name, hex);
}

static size_t gw_count(void)
{
	pthread_mutex_lock(&G.mu);
	size_t n = G.nreq;
	pthread_mutex_unlock(&G.mu);
	return n;
}

/* The first request at index >= from whose method and URL match (url
 * exactly, or as a prefix when it ends with '*'), waiting up to timeout_ms.
 * Returns a copy of its body (new reference, may be a JSON null when the
 * request had none) and *idx, or NULL on timeout. */
static json_t *gw_wait(size_t from, const char *method, const char *url, int timeout_ms, size_t *idx,
                       char *origin, size_t olen)
{
	int64_t end = harness_now_ms() + timeout_ms;
	size_t ul = strlen(url);
	bool prefix = ul > 0 && url[ul - 1] == '*';
	pthread_mutex_lock(&G.mu);
	for (;;) {
		for (size_t i = from; i < G.nreq; i++) {
			const gw_req *q = &G.req[i];
			bool um = prefix ? strncmp(q->url, url, ul - 1) == 0 : strcmp(q->url, url) == 0;
			if (strcmp(q->method, method) == 0 && um) {
				json_t *b = q->body ? json_incref(q->body) : json_null();
				if (idx)
					*idx = i;
				if (origin)
					snprintf(origin, olen, "%s", q->origin);
				pthread_mutex_unlock(&G.mu);
				return b;
			}
		}
		if (harness_now_ms() >= end)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&G.cv, &G.mu, &ts);
	}
	pthread_mutex_unlock(&G.mu);
	return NULL;
}

static void gw_dump(size_t from)
{
	pthread_mutex_lock(&G.mu);
	print_message("---- requests seen by the fake gateway ----\n");
	for (size_t i = from; i < G.nreq; i++) {
		char *b = G.req[i].body ? json_dumps(G.req[i].body, JSON_COMPACT) : NULL;
		print_message("  [%zu] %s %s fr=%s ct=%s %s\n", i, G.req[i].method, G.req[i].url,
		              G.req[i].origin, G.req[i].ctype, b ? b : "");
		free(b);
	}
	pthread_mutex_unlock(&G.mu);
}

/* Count requests from index `from` matching method and URL prefix. */
static size_t gw_matches(size_t from, const char *method, const char *url_prefix, int ty)
{
	size_t n = 0;
	pthread_mutex_lock(&G.mu);
	for (size_t i = from; i < G.nreq; i++)
		if (strcmp(G.req[i].method, method) == 0 &&
		    strncmp(G.req[i].url, url_prefix, strlen(url_prefix)) == 0 &&
		    (ty < 0 || ty_of(G.req[i].ctype) == ty))
			n++;
	pthread_mutex_unlock(&G.mu);
	return n;
}

/* ---------------- the agent process ---------------- */

static struct {
	char bin[1024];
	char dir[512];      /* the test's temporary directory */
	char state[600];    /* the agent's state directory */
	char log[700];
	int port;
	pid_t pid;
	int starts;
	m2m_client *cl;     /* to the agent's notification server */
	bool keep;
} A;

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	if (s < 0)
		return -1;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(s);
	return port;
}

static void agent_log_tail(void)
{
	FILE *f = fopen(A.log, "r");
	if (!f)
		return;
	char line[1024];
	print_message("---- agent log %s ----\n", A.log);
	while (fgets(line, sizeof line, f))
		print_message("    %s", line);
	print_message("---- end of agent log ----\n");
	fclose(f);
}

static bool log_has(const char *needle)
{
	FILE *f = fopen(A.log, "r");
	if (!f)
		return false;
	char line[2048];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Start the agent. cse_url NULL: the fake gateway (cse-id id-gw, cse-rn
 * cse-gw); otherwise the harness's CSE. extra: more flags or NULL. The
 * state directory is kept between starts of one test. */
static int agent_start_at(const char *cse_url, const char *cse_id, const char *cse_rn,
                          const char *const *extra)
{
	char port[16];
	A.starts++;
	snprintf(A.log, sizeof A.log, "%s/agent-%d.log", A.dir, A.starts);
	snprintf(port, sizeof port, "%d", A.port);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(A.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		const char *argv[48] = { A.bin, "--cse-url", cse_url, "--cse-id", cse_id, "--cse-rn", cse_rn,
		                         "--listen-port", port, "--state-dir", A.state, "--manufacturer", "Acme",
		                         "--model", "TH10", "--serial", "42", "--fw-version", "1.0.0",
		                         "--software", "app=1.0", "--log-level", "debug", NULL };
		size_t n = 23;
		for (size_t i = 0; extra && extra[i] && n < 46; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		execv(A.bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", A.bin, strerror(errno));
		_exit(127);
	}
	A.pid = pid;
	int64_t end = harness_now_ms() + 10000;
	while (harness_now_ms() < end) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			A.pid = 0;
			print_error("agent exited early (status %d)\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			agent_log_tail();
			A.keep = true;
			return -1;
		}
		if (log_has(" INFO ready"))
			return 0;
		harness_sleep_ms(20);
	}
	print_error("agent not ready within 10 s\n");
	agent_log_tail();
	A.keep = true;
	return -1;
}

static int agent_start(const char *const *extra)
{
	return agent_start_at(gw_url(), GW_CSE_ID, GW_CSE_RN, extra);
}

/* Wait for the agent to exit; returns its wait status or -1 on timeout. */
static int agent_wait(long timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;
	int st;
	while (A.pid > 0) {
		pid_t p = waitpid(A.pid, &st, WNOHANG);
		if (p == A.pid) {
			A.pid = 0;
			return st;
		}
		if (p < 0 || harness_now_ms() >= end)
			return -1;
		harness_sleep_ms(20);
	}
	return -1;
}

static int agent_stop(void)
{
	if (A.pid <= 0)
		return -1;
	kill(A.pid, SIGTERM);
	int st = agent_wait(15000);
	if (st == -1) {
		print_error("agent did not stop within 15 s of SIGTERM\n");
		kill(A.pid, SIGKILL);
		agent_wait(5000);
		A.keep = true;
		agent_log_tail();
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_error("agent exit status %d after SIGTERM (want 0)\n",
		            WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		A.keep = true;
		agent_log_tail();
		return -1;
	}
	return 0;
}

static void agent_kill9(void)
{
	if (A.pid > 0) {
		kill(A.pid, SIGKILL);
		agent_wait(5000);
	}
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A fresh state directory, a fresh port and a reset gateway. */
static void fresh(void)
{
	agent_kill9();
	nftw(A.state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	A.port = free_port();
	m2m_client_free(&A.cl);
	A.cl = m2m_client_new(hfmt("http://127.0.0.1:%d", A.port));
	gw_reset();
}

static json_t *state_read(void)
{
	json_t *s = json_load_file(hfmt("%s/state.json", A.state), 0, NULL);
	if (!s)
		print_error("cannot read %s/state.json\n", A.state);
	return s;
}

static const char *state_aei(void)
{
	json_t *s = state_read();
	const char *v = hfmt("%s", s ? harness_jstr(s, "aei") ? harness_jstr(s, "aei") : "" : "");
	json_decref(s);
	return v;
}

/* ---------------- notifications to the agent ---------------- */

#define FW_RI "fwr1"
#define SW_RI "swr1"
#define RBO_RI "rbo1"

static int notify_from(json_t *sgn, const char *origin)
{
	m2m_result r;
	int64_t t0 = harness_now_ms();
	int rc = m2m_do(A.cl, M2M_OP_NOTIFY, "notify", origin, -1, sgn, NULL, &r);
	json_decref(sgn);
	int rsc = rc == 0 ? r.rsc : 0;
	if (rc != 0)
		print_error("notify: %s\n", r.error);
	if (harness_now_ms() - t0 > 2000)
		print_error("notify answered after %lld ms\n", (long long)(harness_now_ms() - t0));
	m2m_result_clear(&r);
	return rsc;
}

static int notify(json_t *sgn)
{
	return notify_from(sgn, GW_CSI);
}

static json_t *fw_sgn(const char *acn, const char *url)
{
	return json_pack("{s:{s:{s:{s:{s:s,s:s,s:i,s:s,s:s,s:s,s:b,s:{s:s,s:i}}},s:i},s:s}}", "m2m:sgn", "nev",
	                 "rep", "m2m:fwr", "ri", FW_RI, "rn", "firmware", "mgd", 1001, "vr", "1.0.0", "fwn",
	                 "TH10-fw", "url", url, "ud", 1, "uds", "acn", acn, "sus", 3, "net", 1, "sur",
	                 GW_CSI "/" GW_CSE_RN "/TH10-42-node/firmware");
}

static json_t *sw_sgn(const char *ri, const char *swn, const char *trigger, const char *acn, const char *url)
{
	const char *status = (strcmp(trigger, "in") == 0 || strcmp(trigger, "un") == 0) ? "ins" : "acts";
	json_t *mo = json_pack("{s:s,s:i,s:s,s:s,s:s,s:b,s:{s:s,s:i}}", "ri", ri, "mgd", 1002, "swn", swn, "vr",
	                       "0", "url", url ? url : "urn:x", trigger, 1, status, "acn", acn, "sus", 3);
	return json_pack("{s:{s:{s:{s:o},s:i},s:s}}", "m2m:sgn", "nev", "rep", "m2m:swr", mo, "net", 1, "sur",
	                 hfmt("%s/%s/TH10-42-node/%s", GW_CSI, GW_CSE_RN, ri));
}

static json_t *rbo_sgn(const char *trigger)
{
	return json_pack("{s:{s:{s:{s:{s:s,s:i,s:b,s:b}},s:i},s:s}}", "m2m:sgn", "nev", "rep", "m2m:rbo", "ri",
	                 RBO_RI, "mgd", 1009, "rbo", strcmp(trigger, "rbo") == 0, "far",
	                 strcmp(trigger, "far") == 0, "net", 1, "sur", GW_CSI "/" GW_CSE_RN "/TH10-42-node/reboot");
}

/* The report Update to mgmtObj ri from index `from`: its mgmtObj (new
 * reference) or NULL (failure printed). Checks the originator. */
static json_t *wait_report(size_t from, const char *ri, const char *root, const char *aei)
{
	char origin[256];
	json_t *b = gw_wait(from, "PUT", hfmt("/~" GW_CSI "/%s", ri), WAIT_MS, NULL, origin, sizeof origin);
	if (!b) {
		print_error("no report Update of %s within %d ms\n", ri, WAIT_MS);
		gw_dump(from);
		agent_log_tail();
		return NULL;
	}
	json_t *mo = json_incref(json_object_get(b, root));
	json_decref(b);
	if (!mo) {
		print_error("report of %s has no %s\n", ri, root);
		gw_dump(from);
		return NULL;
	}
	if (aei && strcmp(origin, aei) != 0) {
		print_error("report of %s sent by %s (want the AE-ID %s)\n", ri, origin, aei);
		json_decref(mo);
		return NULL;
	}
	return mo;
}

static void expect_status(json_t *mo, const char *attr, const char *acn, int sus)
{
	json_t *s = json_object_get(mo, attr);
	EXPECT_TRUE(json_is_object(s), mo);
	EXPECT_STR(s, "acn", acn);
	EXPECT_INT(s, "sus", sus);
}

static void expect_dc_prefix(json_t *mo, const char *prefix)
{
	const char *dc = harness_jstr(mo, "dc");
	EXPECT_TRUE(dc && strncmp(dc, prefix, strlen(prefix)) == 0, mo);
}

/* state.json: running slot, its version and state of the other slot */
static void expect_running(const char *slot, const char *vr)
{
	json_t *s = state_read();
	EXPECT_TRUE(s != NULL, NULL);
	EXPECT_STR(s, "running", slot);
	json_t *sl = json_object_get(json_object_get(s, "slots"), slot);
	EXPECT_STR(sl, "state", "good");
	EXPECT_STR(sl, "vr", vr);
	EXPECT_TRUE(!json_object_get(s, "pending"), s);
	json_decref(s);
}

static const char good_image[] = "HEARTH-IMAGE v1 version=2.0.0 name=TH10-fw\nfirmware payload\n";

/* ---------------- tests ---------------- */

static void test_bad_flags_and_help(void **state)
{
	(void)state;
	int fds[2];
	static const char *const cases[][3] = {
		{ "--bogus", NULL, "unknown" },
		{ "--listen-port", "70000", "--listen-port" },
		{ "--cse-url", "http://h:1/~/id/cse", "--cse-url" },
		{ "--software", "a=1,a=2", "twice" },
		{ "--serial", "has space", "--serial" },
		{ "--test-crash-after", "later", "--test-crash-after" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		harness_case("bad flag %s", cases[i][0]);
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(fds[1], 2);
			close(fds[0]);
			close(fds[1]);
			execl(A.bin, A.bin, cases[i][0], cases[i][1], (char *)NULL);
			_exit(127);
		}
		close(fds[1]);
		char out[1024] = "";
		size_t n = 0;
		ssize_t r;
		while (n + 1 < sizeof out && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
			n += (size_t)r;
		out[n] = '\0';
		close(fds[0]);
		int st;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 2 || !strstr(out, cases[i][2]) ||
		    strchr(out, '\n') != out + n - 1) {
			print_error("%s %s: status %d, stderr: %s\n", cases[i][0], cases[i][1] ? cases[i][1] : "",
			            WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
			fail();
		}
	}
	harness_case("--help");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 1);
		execl(A.bin, A.bin, "--help", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_registration_and_resources(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	EXPECT_TRUE(strncmp(aei, "Cgw", 3) == 0, NULL);

	harness_case("AE registration: rr, poa, api, originator C");
	char origin[256];
	json_t *b = gw_wait(0, "POST", "/~" GW_CSI "/" GW_CSE_RN, 100, NULL, origin, sizeof origin);
	EXPECT_TRUE(b != NULL, NULL);
	json_t *ae = json_object_get(b, "m2m:ae");
	EXPECT_TRUE(ae != NULL, b);
	EXPECT_TRUE(strcmp(origin, "C") == 0, ae);
	EXPECT_TRUE(json_is_true(json_object_get(ae, "rr")), ae);
	EXPECT_STR(ae, "api", "Nhearth-device");
	EXPECT_STR(ae, "rn", "TH10-42");
	EXPECT_TRUE(harness_list_has_str(json_object_get(ae, "poa"), hfmt("http://127.0.0.1:%d", A.port)), ae);
	json_decref(b);

	harness_case("<node> with ni and hael, then deviceInfo, firmware, software, reboot");
	size_t i;
	b = gw_wait(0, "POST", "/~" GW_CSI "/" GW_CSE_RN, 100, &i, NULL, 0);
	json_decref(b);
	b = gw_wait(i + 1, "POST", "/~" GW_CSI "/" GW_CSE_RN, 100, &i, origin, sizeof origin);
	json_t *nod = json_object_get(b, "m2m:nod");
	EXPECT_TRUE(nod != NULL, b);
	EXPECT_STR(nod, "rn", "TH10-42-node");
	EXPECT_STR(nod, "ni", "urn:dev:Acme:TH10:42");
	EXPECT_TRUE(json_array_size(json_object_get(nod, "hael")) == 1 &&
	            harness_list_has_str(json_object_get(nod, "hael"), aei), nod);
	EXPECT_TRUE(strcmp(origin, aei) == 0, nod);
	json_decref(b);
	const char *node = "/~" GW_CSI "/" GW_CSE_RN "/TH10-42-node";
	static const struct { const char *root, *rn; int mgd; } mos[] = {
		{ "m2m:dvi", "deviceInfo", 1007 }, { "m2m:fwr", "firmware", 1001 },
		{ "m2m:swr", "sw-app", 1002 }, { "m2m:rbo", "reboot", 1009 },
	};
	size_t at = 0;
	for (size_t k = 0; k < 4; k++) {
		b = gw_wait(at, "POST", node, 2000, &at, origin, sizeof origin);
		at++;
		json_t *mo = json_object_get(b, mos[k].root);
		EXPECT_TRUE(mo != NULL, b);
		EXPECT_STR(mo, "rn", mos[k].rn);
		EXPECT_INT(mo, "mgd", mos[k].mgd);
		EXPECT_TRUE(strcmp(origin, aei) == 0, mo);
		if (k == 0) {
			EXPECT_STR(mo, "man", "Acme");
			EXPECT_STR(mo, "mod", "TH10");
			EXPECT_STR(mo, "fwv", "1.0.0");
			EXPECT_STR(mo, "dty", "simulated");
			EXPECT_TRUE(harness_jstr(mo, "dlb") && harness_jstr(mo, "hwv"), mo);
		} else if (k == 1) {
			EXPECT_STR(mo, "vr", "1.0.0");
			EXPECT_STR(mo, "fwn", "TH10-fw");
			EXPECT_TRUE(json_is_false(json_object_get(mo, "ud")) && harness_jstr(mo, "url"), mo);
		} else if (k == 2) {
			EXPECT_STR(mo, "swn", "app");
			EXPECT_STR(mo, "vr", "1.0");
		}
		json_decref(b);
	}
	expect_running("A", "1.0.0");

	harness_case("restart: the AE-ID resumed (no new registration), resources updated, not duplicated");
	assert_int_equal(agent_stop(), 0);
	size_t mark = gw_count();
	assert_int_equal(agent_start(NULL), 0);
	EXPECT_TRUE(strcmp(state_aei(), aei) == 0, NULL);
	EXPECT_TRUE(gw_matches(mark, "POST", "/~" GW_CSI "/" GW_CSE_RN, 2) == 0, NULL);
	b = gw_wait(mark, "GET", hfmt("/~" GW_CSI "/%s", aei), 100, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	json_decref(b);
	/* node exists (4105) -> updated */
	b = gw_wait(mark, "PUT", "/~" GW_CSI "/" GW_CSE_RN "/TH10-42-node", 2000, NULL, NULL, 0);
	EXPECT_TRUE(b && harness_list_has_str(json_object_get(json_object_get(b, "m2m:nod"), "hael"), aei), b);
	json_decref(b);
	b = gw_wait(mark, "PUT", "/~" GW_CSI "/" GW_CSE_RN "/TH10-42-node/firmware", 2000, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	json_decref(b);
	assert_int_equal(agent_stop(), 0);

	harness_case("restart after the AE vanished: registered again with the same AE-ID");
	pthread_mutex_lock(&G.mu);
	json_object_del(G.aes, aei);
	pthread_mutex_unlock(&G.mu);
	mark = gw_count();
	assert_int_equal(agent_start(NULL), 0);
	b = gw_wait(mark, "POST", "/~" GW_CSI "/" GW_CSE_RN, 100, NULL, origin, sizeof origin);
	EXPECT_TRUE(b && json_object_get(b, "m2m:ae") && strcmp(origin, aei) == 0, b);
	json_decref(b);
	EXPECT_TRUE(strcmp(state_aei(), aei) == 0, NULL);
	assert_int_equal(agent_stop(), 0);
}

static void test_firmware_good(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	size_t mark = gw_count();
	harness_case("good image: Notify answered 2000, success report with the new version");
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 1);
	EXPECT_STR(mo, "vr", "2.0.0");
	EXPECT_STR(mo, "dc", "ok");
	json_decref(mo);
	harness_case("deviceInfo fwv follows");
	json_t *b = gw_wait(mark, "PUT", "/~" GW_CSI "/" GW_CSE_RN "/TH10-42-node/deviceInfo", WAIT_MS, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	EXPECT_STR(json_object_get(b, "m2m:dvi"), "fwv", "2.0.0");
	json_decref(b);
	harness_case("running slot switched to B; A kept");
	expect_running("B", "2.0.0");
	json_t *s = state_read();
	EXPECT_STR(json_object_get(json_object_get(s, "slots"), "A"), "vr", "1.0.0");
	EXPECT_STR(s, "last_acn", "fwr1/ud/1");
	json_decref(s);

	harness_case("a repeated Notify of the finished acn starts nothing");
	mark = gw_count();
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	harness_sleep_ms(300);
	EXPECT_TRUE(gw_matches(mark, "GET", "/img/", -1) == 0, NULL);

	harness_case("second update from B writes slot A");
	static const char img3[] = "HEARTH-IMAGE v1 version=3.0.0\nthird\n";
	url = gw_image("v3.bin", img3, strlen(img3), 0, NULL, true);
	mark = gw_count();
	assert_int_equal(notify(fw_sgn("fwr1/ud/2", url)), 2000);
	mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/2", 1);
	EXPECT_STR(mo, "vr", "3.0.0");
	json_decref(mo);
	expect_running("A", "3.0.0");
	assert_int_equal(agent_stop(), 0);
	harness_case("the new version survives a restart");
	assert_int_equal(agent_start(NULL), 0);
	expect_running("A", "3.0.0");
	assert_int_equal(agent_stop(), 0);
}

/* One failing firmware update: reason prefix, A still running. */
static void fw_fail_case(const char *acn, const char *url, const char *reason)
{
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	size_t mark = gw_count();
	assert_int_equal(notify(fw_sgn(acn, url)), 2000);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", acn, 2);
	expect_dc_prefix(mo, reason);
	EXPECT_TRUE(!json_object_get(mo, "vr"), mo);
	json_decref(mo);
	expect_running("A", "1.0.0");
}

static void test_firmware_failures(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);

	harness_case("corrupted image: digest-mismatch, old slot running");
	static const char evil[] = "HEARTH-IMAGE v1 version=6.6.6\nevil\n";
	const char *url = gw_image("bad.bin", evil, strlen(evil), 0, good_image, true);
	fw_fail_case("fwr1/ud/1", url, "digest-mismatch: ");

	harness_case("no digest fragment: no-digest, nothing fetched");
	size_t mark = gw_count();
	url = gw_image("nodigest.bin", good_image, strlen(good_image), 0, NULL, false);
	fw_fail_case("fwr1/ud/2", url, "no-digest");
	EXPECT_TRUE(gw_matches(mark, "GET", "/img/", -1) == 0, NULL);

	harness_case("malformed digest fragment: no-digest");
	fw_fail_case("fwr1/ud/3", hfmt("%s/img/good.bin#sha256=1234", gw_url()), "no-digest");

	harness_case("image that fails the health check (bad header, right digest)");
	static const char junk[] = "MZ\x90\x00 not a hearth image\n";
	url = gw_image("junk.bin", junk, sizeof junk - 1, 0, NULL, true);
	fw_fail_case("fwr1/ud/4", url, "health-check-failed: ");
	json_t *s = state_read();
	EXPECT_STR(json_object_get(json_object_get(s, "slots"), "B"), "state", "bad");
	json_decref(s);

	harness_case("404: download-failed");
	fw_fail_case("fwr1/ud/5", hfmt("%s/img/missing.bin#sha256=%064d", gw_url(), 0), "download-failed: ");

	harness_case("unsupported scheme: download-failed");
	fw_fail_case("fwr1/ud/6", hfmt("ftp://127.0.0.1/x#sha256=%064d", 0), "download-failed: ");

	harness_case("image over --max-image-size");
	assert_int_equal(agent_stop(), 0);
	const char *const small[] = { "--max-image-size", "64", NULL };
	assert_int_equal(agent_start(small), 0);
	static char big[4096];
	memset(big, 'x', sizeof big);
	memcpy(big, good_image, strlen(good_image));
	url = gw_image("big.bin", big, sizeof big, 0, NULL, true);
	fw_fail_case("fwr1/ud/7", url, "download-failed: image larger");

	harness_case("the good image still works afterwards");
	url = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	assert_int_equal(agent_stop(), 0);
	assert_int_equal(agent_start(NULL), 0);
	size_t m2 = gw_count();
	assert_int_equal(notify(fw_sgn("fwr1/ud/8", url)), 2000);
	json_t *mo = wait_report(m2, FW_RI, "m2m:fwr", state_aei());
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/8", 1);
	json_decref(mo);
	expect_running("B", "2.0.0");
	assert_int_equal(agent_stop(), 0);
}

static void test_busy(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("slow.bin", good_image, strlen(good_image), 1500, NULL, true);
	size_t mark = gw_count();
	harness_case("a second operation while one runs: busy, at once");
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	json_t *b = gw_wait(mark, "GET", "/img/slow.bin", WAIT_MS, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	json_decref(b);
	int64_t t0 = harness_now_ms();
	assert_int_equal(notify(sw_sgn(SW_RI, "extra", "in", "swr1/in/1", url)), 2000);
	json_t *mo = wait_report(mark, SW_RI, "m2m:swr", aei);
	assert_non_null(mo);
	EXPECT_TRUE(harness_now_ms() - t0 < 1200, mo);
	expect_status(mo, "ins", "swr1/in/1", 2);
	expect_dc_prefix(mo, "busy: ");
	json_decref(mo);
	harness_case("a repeated Notify of the running operation is not busy");
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	harness_case("the first one completes");
	mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 1);
	json_decref(mo);
	EXPECT_TRUE(gw_matches(mark, "PUT", "/~" GW_CSI "/" FW_RI, -1) == 1, NULL);
	assert_int_equal(agent_stop(), 0);
}

static void expect_pending(const char *acn, const char *phase)
{
	json_t *s = state_read();
	json_t *p = json_object_get(s, "pending");
	EXPECT_TRUE(p != NULL, s);
	EXPECT_STR(p, "acn", acn);
	EXPECT_STR(p, "phase", phase);
	EXPECT_STR(s, "running", "A");
	json_decref(s);
}

static void test_crash_mid_install(void **state)
{
	(void)state;
	fresh();
	const char *const crash[] = { "--test-crash-after", "install", NULL };
	assert_int_equal(agent_start(crash), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	harness_case("killed (SIGKILL) right after installing into slot B");
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	int st = agent_wait(WAIT_MS);
	assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	expect_pending("fwr1/ud/1", "installed");
	harness_case("restart: old slot running, failure reported, AE-ID resumed");
	size_t mark = gw_count();
	assert_int_equal(agent_start(NULL), 0);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 2);
	EXPECT_STR(mo, "dc", "install-failed: interrupted");
	json_decref(mo);
	expect_running("A", "1.0.0");
	EXPECT_TRUE(gw_matches(mark, "POST", "/~" GW_CSI "/" GW_CSE_RN, 2) == 0, NULL);
	EXPECT_TRUE(strcmp(state_aei(), aei) == 0, NULL);
	harness_case("the next update works");
	mark = gw_count();
	assert_int_equal(notify(fw_sgn("fwr1/ud/2", url)), 2000);
	mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/2", 1);
	json_decref(mo);
	expect_running("B", "2.0.0");
	assert_int_equal(agent_stop(), 0);
}

static void test_kill9_mid_download(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("slow.bin", good_image, strlen(good_image), 3000, NULL, true);
	size_t mark = gw_count();
	harness_case("kill -9 while the image downloads");
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	json_t *b = gw_wait(mark, "GET", "/img/slow.bin", WAIT_MS, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	json_decref(b);
	agent_kill9();
	expect_pending("fwr1/ud/1", "accepted");
	harness_case("restart: failure reported for that acn, old slot running");
	mark = gw_count();
	assert_int_equal(agent_start(NULL), 0);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 2);
	EXPECT_STR(mo, "dc", "install-failed: interrupted");
	json_decref(mo);
	expect_running("A", "1.0.0");
	EXPECT_TRUE(access(hfmt("%s/slot-b.img.part", A.state), F_OK) != 0, NULL);
	assert_int_equal(agent_stop(), 0);
}

static void test_sigterm_mid_download(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("slow.bin", good_image, strlen(good_image), 4000, NULL, true);
	size_t mark = gw_count();
	harness_case("SIGTERM while the image downloads: prompt exit 0, operation kept");
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	json_t *b = gw_wait(mark, "GET", "/img/slow.bin", WAIT_MS, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	json_decref(b);
	int64_t t0 = harness_now_ms();
	assert_int_equal(agent_stop(), 0);
	EXPECT_TRUE(harness_now_ms() - t0 < 3000, NULL);
	expect_pending("fwr1/ud/1", "accepted");
	EXPECT_TRUE(gw_matches(mark, "PUT", "/~" GW_CSI "/" FW_RI, -1) == 0, NULL);
	harness_case("next start: reported interrupted");
	mark = gw_count();
	assert_int_equal(agent_start(NULL), 0);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 2);
	EXPECT_STR(mo, "dc", "install-failed: interrupted");
	json_decref(mo);
	expect_running("A", "1.0.0");
	assert_int_equal(agent_stop(), 0);
}

static void test_crash_after_confirm(void **state)
{
	(void)state;
	fresh();
	const char *const crash[] = { "--test-crash-after", "confirm", NULL };
	assert_int_equal(agent_start(crash), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	harness_case("killed after confirming slot B, before reporting");
	size_t mark = gw_count();
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	int st = agent_wait(WAIT_MS);
	assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT_TRUE(gw_matches(mark, "PUT", "/~" GW_CSI "/" FW_RI, -1) == 0, NULL);
	harness_case("restart: success reported with the new version");
	mark = gw_count();
	assert_int_equal(agent_start(NULL), 0);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 1);
	EXPECT_STR(mo, "vr", "2.0.0");
	json_decref(mo);
	expect_running("B", "2.0.0");
	assert_int_equal(agent_stop(), 0);
}

static void test_report_retry(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	const char *url = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	harness_case("the gateway answers 5000 twice: the report is sent again");
	pthread_mutex_lock(&G.mu);
	G.fail_puts = 2;
	pthread_mutex_unlock(&G.mu);
	size_t mark = gw_count(), i;
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", url)), 2000);
	json_t *b = gw_wait(mark, "PUT", "/~" GW_CSI "/" FW_RI, WAIT_MS, &i, NULL, 0);
	json_decref(b);
	json_t *b2 = gw_wait(i + 1, "PUT", "/~" GW_CSI "/" FW_RI, WAIT_MS, &i, NULL, 0);
	json_decref(b2);
	json_t *mo = wait_report(i + 1, FW_RI, "m2m:fwr", aei);
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/1", 1);
	json_decref(mo);
	harness_case("the delivered report leaves the outbox");
	size_t left = 1;
	for (int t = 0; t < 100 && left; t++) {
		json_t *s = state_read();
		left = json_array_size(json_object_get(s, "outbox"));
		json_decref(s);
		if (left)
			harness_sleep_ms(20);
	}
	EXPECT_TRUE(left == 0, NULL);
	assert_int_equal(agent_stop(), 0);
}

static void test_software_and_reboot(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	static const char pkg[] = "HEARTH-IMAGE v1 version=4.2\npackage\n";
	const char *url = gw_image("extra.pkg", pkg, strlen(pkg), 0, NULL, true);
	static const struct { const char *trigger, *status; int sus; const char *dc; } steps[] = {
		{ "act", "acts", 2, "install-failed: " }, /* not installed yet */
		{ "in", "ins", 1, "ok" },
		{ "act", "acts", 1, "ok" },
		{ "dea", "acts", 1, "ok" },
		{ "un", "ins", 1, "ok" },
		{ "un", "ins", 1, "ok" },                  /* again: nothing to do */
	};
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		harness_case("software %s (step %zu)", steps[k].trigger, k);
		const char *acn = hfmt("swr1/%s/%zu", steps[k].trigger, k);
		size_t mark = gw_count();
		assert_int_equal(notify(sw_sgn(SW_RI, "extra", steps[k].trigger, acn, url)), 2000);
		json_t *mo = wait_report(mark, SW_RI, "m2m:swr", aei);
		assert_non_null(mo);
		expect_status(mo, steps[k].status, acn, steps[k].sus);
		expect_dc_prefix(mo, steps[k].dc);
		if (k == 1)
			EXPECT_STR(mo, "vr", "4.2");
		json_decref(mo);
		json_t *s = state_read();
		json_t *sw = json_object_get(s, "software");
		bool present = false, active = false;
		for (size_t j = 0; j < json_array_size(sw); j++)
			if (strcmp(harness_jstr(json_array_get(sw, j), "swn"), "extra") == 0) {
				present = true;
				active = json_is_true(json_object_get(json_array_get(sw, j), "active"));
			}
		EXPECT_TRUE(present == (k >= 1 && k <= 3) && active == (k == 2), s);
		json_decref(s);
	}
	harness_case("software install without digest: no-digest");
	size_t mark = gw_count();
	assert_int_equal(notify(sw_sgn(SW_RI, "extra", "in", "swr1/in/x", hfmt("%s/img/extra.pkg", gw_url()))), 2000);
	json_t *mo = wait_report(mark, SW_RI, "m2m:swr", aei);
	assert_non_null(mo);
	expect_status(mo, "ins", "swr1/in/x", 2);
	expect_dc_prefix(mo, "no-digest");
	json_decref(mo);

	harness_case("reboot: rbo reset, dc ok, boot counted");
	json_t *s = state_read();
	json_int_t boots = json_integer_value(json_object_get(s, "boots"));
	json_decref(s);
	mark = gw_count();
	assert_int_equal(notify(rbo_sgn("rbo")), 2000);
	mo = wait_report(mark, RBO_RI, "m2m:rbo", aei);
	assert_non_null(mo);
	EXPECT_TRUE(json_is_false(json_object_get(mo, "rbo")) && !json_object_get(mo, "far"), mo);
	EXPECT_STR(mo, "dc", "ok");
	json_decref(mo);
	s = state_read();
	EXPECT_INT(s, "boots", boots + 1);
	json_decref(s);

	harness_case("factory reset after a firmware update: slot A with the factory version");
	const char *fw = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	mark = gw_count();
	assert_int_equal(notify(fw_sgn("fwr1/ud/1", fw)), 2000);
	mo = wait_report(mark, FW_RI, "m2m:fwr", aei);
	json_decref(mo);
	expect_running("B", "2.0.0");
	mark = gw_count();
	assert_int_equal(notify(rbo_sgn("far")), 2000);
	mo = wait_report(mark, RBO_RI, "m2m:rbo", aei);
	assert_non_null(mo);
	EXPECT_TRUE(json_is_false(json_object_get(mo, "far")) && !json_object_get(mo, "rbo"), mo);
	EXPECT_STR(mo, "dc", "ok");
	json_decref(mo);
	expect_running("A", "1.0.0");
	s = state_read();
	EXPECT_STR(s, "aei", aei);
	EXPECT_TRUE(json_array_size(json_object_get(s, "software")) == 1, s);
	json_decref(s);
	json_t *b = gw_wait(mark, "PUT", "/~" GW_CSI "/" GW_CSE_RN "/TH10-42-node/firmware", WAIT_MS, NULL, NULL, 0);
	EXPECT_TRUE(b != NULL, NULL);
	EXPECT_STR(json_object_get(b, "m2m:fwr"), "vr", "1.0.0");
	json_decref(b);
	assert_int_equal(agent_stop(), 0);
}

static void test_notify_robustness(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	m2m_result r;
	static const struct { const char *label, *method, *ctype, *body; int rsc; } cases[] = {
		{ "GET", "GET", NULL, NULL, 4005 },
		{ "not JSON", "POST", "application/json", "{\"m2m:sgn\":", 4000 },
		{ "no m2m:sgn", "POST", "application/json", "{\"x\":1}", 4000 },
		{ "JSON array", "POST", "application/json", "[1,2]", 4000 },
		{ "duplicate keys", "POST", "application/json", "{\"m2m:sgn\":{},\"m2m:sgn\":{}}", 4000 },
		{ "XML", "POST", "application/xml", "<m2m:sgn/>", 4015 },
		{ "verification request", "POST", "application/json", "{\"m2m:sgn\":{\"vrq\":true,\"sur\":\"/id-gw/s\"}}", 2000 },
		{ "deletion", "POST", "application/json", "{\"m2m:sgn\":{\"sud\":true,\"sur\":\"/id-gw/s\"}}", 2000 },
		{ "other resource", "POST", "application/json", "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:cin\":{\"con\":1}},\"net\":3},\"sur\":\"/id-gw/s\"}}", 2000 },
		{ "fwr without trigger", "POST", "application/json", "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"x\",\"ud\":false}},\"net\":1},\"sur\":\"/id-gw/s\"}}", 2000 },
		{ "fwr trigger without status", "POST", "application/json", "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ri\":\"x\",\"ud\":true}},\"net\":1}}}", 2000 },
		{ "fwr as a string", "POST", "application/json", "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":\"x\"}}}}", 4000 },
		{ "no address to report to", "POST", "application/json", "{\"m2m:sgn\":{\"nev\":{\"rep\":{\"m2m:fwr\":{\"ud\":true,\"uds\":{\"acn\":\"a\",\"sus\":3}}}}}}", 4000 },
		{ "empty body", "POST", "application/json", "", 4000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		harness_case("notify: %s", cases[i].label);
		char ct[160];
		snprintf(ct, sizeof ct, "Content-Type: %s", cases[i].ctype ? cases[i].ctype : "application/json");
		const char *h[] = { "X-M2M-Origin: " GW_CSI, "X-M2M-RI: rb1", "X-M2M-RVI: 4", ct, NULL };
		m2m_send_raw(A.cl, cases[i].method, "/notify", h, cases[i].body,
		             cases[i].body ? strlen(cases[i].body) : 0, &r);
		EXPECT_RSC(&r, cases[i].rsc);
		m2m_result_clear(&r);
	}
	harness_case("notify larger than 64 KiB");
	size_t big = 70 * 1024;
	char *body = malloc(big + 1);
	assert_non_null(body);
	memset(body, ' ', big);
	body[big] = '\0';
	const char *h[] = { "X-M2M-Origin: " GW_CSI, "X-M2M-RI: rb2", "X-M2M-RVI: 4", "Content-Type: application/json", NULL };
	m2m_send_raw(A.cl, "POST", "/notify", h, body, big, &r);
	free(body);
	EXPECT_RSC(&r, 4000);
	m2m_result_clear(&r);

	harness_case("an operation from another originator is refused (4103) and not run");
	const char *url = gw_image("good.bin", good_image, strlen(good_image), 0, NULL, true);
	size_t mark = gw_count();
	assert_int_equal(notify_from(fw_sgn("fwr1/ud/9", url), "Cmallory"), 4103);
	harness_sleep_ms(300);
	EXPECT_TRUE(gw_matches(mark, "GET", "/img/", -1) == 0, NULL);
	EXPECT_TRUE(gw_matches(mark, "PUT", "/", -1) == 0, NULL);
	harness_case("the absolute form of the gateway CSE-ID is accepted");
	assert_int_equal(notify_from(fw_sgn("fwr1/ud/10", url), "//hearth.example.com" GW_CSI), 2000);
	json_t *mo = wait_report(mark, FW_RI, "m2m:fwr", state_aei());
	assert_non_null(mo);
	expect_status(mo, "uds", "fwr1/ud/10", 1);
	json_decref(mo);
	assert_true(A.pid > 0 && kill(A.pid, 0) == 0);
	assert_int_equal(agent_stop(), 0);
}

static void test_corrupt_state_file(void **state)
{
	(void)state;
	fresh();
	assert_int_equal(agent_start(NULL), 0);
	assert_int_equal(agent_stop(), 0);
	harness_case("an unparsable state file is set aside; the agent starts from the factory state");
	FILE *f = fopen(hfmt("%s/state.json", A.state), "w");
	assert_non_null(f);
	fputs("{\"format\":1,\"aei\":", f);
	fclose(f);
	assert_int_equal(agent_start(NULL), 0);
	EXPECT_TRUE(access(hfmt("%s/state.json.bad", A.state), F_OK) == 0, NULL);
	expect_running("A", "1.0.0");
	assert_int_equal(agent_stop(), 0);
}

/* Against the real hearth-cse of the harness: registration, resumption. */
static void test_real_cse(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	fresh();
	harness_case("registration at the real CSE; <node> not served yet: the agent runs on");
	assert_int_equal(agent_start_at(harness_url(), harness_cse_id(), harness_cse_rn(), NULL), 0);
	char aei[128];
	snprintf(aei, sizeof aei, "%s", state_aei());
	EXPECT_TRUE(aei[0] == 'C', NULL);
	json_t *ae = harness_get(hfmt("%s/%s", harness_csi(), aei), harness_admin(), "m2m:ae");
	assert_non_null(ae);
	EXPECT_TRUE(json_is_true(json_object_get(ae, "rr")), ae);
	EXPECT_TRUE(harness_list_has_str(json_object_get(ae, "poa"), hfmt("http://127.0.0.1:%d", A.port)), ae);
	char ct[64];
	snprintf(ct, sizeof ct, "%s", harness_jstr(ae, "ct") ? harness_jstr(ae, "ct") : "");
	json_decref(ae);
	EXPECT_TRUE(log_has("<node>"), NULL);
	assert_true(kill(A.pid, 0) == 0);
	assert_int_equal(agent_stop(), 0);

	harness_case("restart: the same AE resumed, not registered again");
	int old_port = A.port;
	A.port = free_port(); /* the poa must follow */
	m2m_client_free(&A.cl);
	A.cl = m2m_client_new(hfmt("http://127.0.0.1:%d", A.port));
	assert_int_equal(agent_start_at(harness_url(), harness_cse_id(), harness_cse_rn(), NULL), 0);
	EXPECT_TRUE(strcmp(state_aei(), aei) == 0, NULL);
	EXPECT_TRUE(log_has("resumed AE-ID"), NULL);
	ae = harness_get(hfmt("%s/%s", harness_csi(), aei), harness_admin(), "m2m:ae");
	assert_non_null(ae);
	EXPECT_STR(ae, "ct", ct);
	EXPECT_TRUE(harness_list_has_str(json_object_get(ae, "poa"), hfmt("http://127.0.0.1:%d", A.port)) &&
	            !harness_list_has_str(json_object_get(ae, "poa"), hfmt("http://127.0.0.1:%d", old_port)), ae);
	json_decref(ae);
	assert_int_equal(agent_stop(), 0);

	harness_case("AE deleted at the CSE: registered again with the same AE-ID");
	harness_delete(hfmt("%s/%s", harness_csi(), aei), harness_admin());
	assert_int_equal(agent_start_at(harness_url(), harness_cse_id(), harness_cse_rn(), NULL), 0);
	EXPECT_TRUE(strcmp(state_aei(), aei) == 0, NULL);
	ae = harness_get(hfmt("%s/%s", harness_csi(), aei), harness_admin(), "m2m:ae");
	assert_non_null(ae);
	json_decref(ae);
	assert_int_equal(agent_stop(), 0);
	harness_delete(hfmt("%s/%s", harness_csi(), aei), harness_admin());
}

/* ---------------- setup ---------------- */

static int group_setup(void **state)
{
	const char *bin = getenv("HEARTH_DEVICE_BIN");
	const char *cse = getenv("HEARTH_BIN");
	if (bin && bin[0])
		snprintf(A.bin, sizeof A.bin, "%s", bin);
	else if (cse && strrchr(cse, '/'))
		snprintf(A.bin, sizeof A.bin, "%.*s/hearth-device", (int)(strrchr(cse, '/') - cse), cse);
	else
		snprintf(A.bin, sizeof A.bin, "build/hearth-device");
	if (access(A.bin, X_OK) != 0) {
		print_error("device agent %s not found (set HEARTH_DEVICE_BIN)\n", A.bin);
		return -1;
	}
	snprintf(A.dir, sizeof A.dir, "/tmp/hearth-device-test.XXXXXX");
	if (!mkdtemp(A.dir))
		return -1;
	snprintf(A.state, sizeof A.state, "%s/state", A.dir);
	if (gw_start() != 0) {
		print_error("cannot start the fake gateway\n");
		return -1;
	}
	return harness_group_setup(state);
}

static int group_teardown(void **state)
{
	agent_kill9();
	gw_stop();
	m2m_client_free(&A.cl);
	if (A.keep || getenv("HEARTH_KEEP"))
		print_message("agent files kept in %s\n", A.dir);
	else
		nftw(A.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return harness_group_teardown(state);
}

int main(void)
{
	if (!harness_is_http_json()) {
		print_message("13_device_agent: skipped in the %s pass (the agent speaks HTTP+JSON)\n", harness_mode());
		return 0;
	}
	const struct CMUnitTest tests[] = {
		HTEST(test_bad_flags_and_help),
		HTEST(test_registration_and_resources),
		HTEST(test_firmware_good),
		HTEST(test_firmware_failures),
		HTEST(test_busy),
		HTEST(test_crash_mid_install),
		HTEST(test_kill9_mid_download),
		HTEST(test_sigterm_mid_download),
		HTEST(test_crash_after_confirm),
		HTEST(test_report_retry),
		HTEST(test_software_and_reboot),
		HTEST(test_notify_robustness),
		HTEST(test_corrupt_state_file),
		HTEST(test_real_cse),
	};
	return cmocka_run_group_tests_name("13_device_agent", tests, group_setup, group_teardown);
}
