/*
 * harness.h - black-box conformance harness for Hearth (cmocka).
 *
 * Design note
 *   Each conformance binary is independent. Its cmocka group setup
 *   (harness_group_setup) either connects to a CSE named by HEARTH_URL
 *   ("foreign" mode) or, when HEARTH_URL is unset, starts the real daemon
 *   ("local" mode): HEARTH_BIN (default build/hearth-cse) on a free loopback
 *   port with a fresh database in a mkdtemp() directory, waits until a
 *   Retrieve of the <CSEBase> is answered (10 s at most) and, in the group
 *   teardown, stops it with SIGTERM, expects exit status 0 and removes the
 *   directory (kept, and its path printed, when the daemon misbehaved or
 *   HEARTH_KEEP is set). Restart / kill -9 tests only run in local mode.
 *
 *   Environment: HEARTH_URL, HEARTH_CSE_ID (default "id-in", no slash),
 *   HEARTH_CSE_RN ("cse-in"), HEARTH_ADMIN ("CAdmin"), HEARTH_SP_ID
 *   ("hearth.example.com"), HEARTH_BIN, HEARTH_KEEP.
 *
 *   The notification receiver is a libmicrohttpd server on a free loopback
 *   port; it records every request into a mutex/condvar queue and answers
 *   200 + X-M2M-RSC 2000 unless configured otherwise.
 *
 * Ownership
 *   Strings returned by harness_name(), harness_create_*() and
 *   harness_register() are owned by the harness and live until the group
 *   teardown. hfmt()/harness_ts() return one of 32 rotating static buffers:
 *   copy the value if it must survive 31 further calls. harness_req() takes
 *   ownership of `content`. json_t values returned by harness_get(),
 *   notif_wait*() are new references (json_decref them).
 *
 * Failure reports
 *   EXPECT_RSC() checks, for every response: an HTTP response arrived, it
 *   carries X-M2M-RSC with one of the expected codes, the HTTP status
 *   matches the TS-0009 mapping of that code, and X-M2M-RI echoes the
 *   request identifier. On failure it prints the current case label, the
 *   request (method, URL, body) and the whole response, plus the tail of the
 *   daemon log in local mode.
 */
#ifndef HEARTH_CONF_HARNESS_H
#define HEARTH_CONF_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include "ae/lib/m2m_client.h"

/* ---- lifecycle (cmocka group setup / teardown) ---- */
int harness_group_setup(void **state);
int harness_group_teardown(void **state);
/* Per-test setup: clears the case label. Use HTEST(fn) in the test table. */
int harness_test_setup(void **state);
#define HTEST(fn) cmocka_unit_test_setup(fn, harness_test_setup)

m2m_client *harness_client(void);
const char *harness_url(void);
const char *harness_cse_id(void);  /* "id-in" */
const char *harness_csi(void);     /* "/id-in" */
const char *harness_cse_rn(void);  /* "cse-in" */
const char *harness_admin(void);   /* "CAdmin" */
const char *harness_sp_id(void);   /* "hearth.example.com" */
bool harness_is_local(void);

/* Local mode only. Each returns 0 on success, -1 with a printed reason. */
int harness_cse_start(void);      /* start (again) on the same port and database */
int harness_cse_stop(void);       /* SIGTERM, wait; -1 unless exit status 0 */
int harness_cse_restart(void);    /* stop (expect 0) + start */
int harness_cse_kill9(void);      /* SIGKILL, reap */
bool harness_cse_alive(void);     /* local: process running; foreign: answers */
bool harness_cse_running(void);   /* local: process running (no request sent); else false */

/* Local mode only: extra command-line flags appended to the harness's own
 * on every following harness_cse_start() (restarts included), e.g.
 * {"--conn-limit", "8", "--http-threads", "2", NULL}. The strings are
 * copied; NULL (or an empty list) clears them. May be called before the
 * group setup, which then starts the daemon with them. Returns 0, or -1
 * (more than 32 flags, or out of memory). */
int harness_cse_set_args(const char *const *args);
/* Local mode only: talk https:// to the daemon, verifying it with ca_file
 * and presenting cert_file/key_file (either may be NULL); ca_file NULL goes
 * back to http://. The daemon must be started with matching --http-tls-*
 * flags (harness_cse_set_args). Replaces harness_client() (pointers to the
 * old one become invalid). May be called before the group setup. Returns 0
 * or -1 (out of memory). */
int harness_set_tls(const char *ca_file, const char *cert_file, const char *key_file);
bool harness_cse_has_flag(const char *flag);  /* does `HEARTH_BIN --help` list it? */
const char *harness_db_path(void);  /* local: the daemon's database file; else NULL */
const char *harness_dir(void);      /* local: the temporary directory it lives in; else NULL */
const char *harness_bin_dir(void);  /* where the programs are: HEARTH_BIN's directory, else "build" */
int harness_port(void);             /* local: the daemon's HTTP port; else 0 */
int harness_cse_pid(void);          /* local: the running daemon's pid; else 0 */
/* Local: VmRSS / VmHWM of the daemon in KiB (/proc/<pid>/status); either
 * pointer may be NULL. Returns 0, or -1 when no daemon or unreadable. */
int harness_cse_mem(long *rss_kib, long *hwm_kib);
/* Local: accepted TCP connections the daemon holds on its HTTP port (its
 * socket fds matched against /proc/<pid>/net/tcp{,6}, listener excluded),
 * or -1. */
int harness_cse_conn_count(void);
/* Local: open file descriptors of the daemon, or -1. */
int harness_cse_fd_count(void);
/* Local: is the daemon built with AddressSanitizer (libasan mapped into
 * it, or "AddressSanitizer" inside its binary)? Used to widen memory
 * bounds: ASan's quarantine keeps freed memory resident. */
bool harness_cse_sanitized(void);

/* ---- peer daemons: more CSEs beside the harness' own (local mode) ----
 * A peer is one more hearth-cse on a free loopback port with its database
 * and log in the harness directory (name: file names). The first start
 * picks the port; restarts keep port and database. args: extra flags
 * (NULL-terminated); the peer gets --http-addr/--http-port/--db/--sp-id.
 * Teardown does not stop peers: the test must. */
typedef struct harness_peer {
	const char *name;
	int pid, port;
	char url[64], db[600], log[600];
} harness_peer;
int harness_peer_start(harness_peer *p, const char *const *args);
int harness_peer_stop(harness_peer *p);   /* SIGTERM; -1 unless exit status 0 */
int harness_peer_kill9(harness_peer *p);
void harness_peer_log_tail(const harness_peer *p, int lines);
/* A loopback TCP port free at the time of the call. */
int harness_free_port(void);
/* Other programs (agents, servers) of a test: fork + execv(argv[0]) with
 * stdout/stderr into log (appended or truncated), killed with the harness;
 * harness_run() spawns and waits: the exit status, or -1 when it did not
 * exit normally; harness_reap() sends sig and waits (10 s at most, then
 * SIGKILL), zeroes *pid and returns 0 when the program exited with status
 * 0, else -1; harness_file_count() counts the lines of path holding needle. */
int harness_spawn(const char *log, char *const argv[], bool append);
int harness_run(const char *log, char *const argv[], bool append);
int harness_reap(int *pid, int sig);
int harness_file_count(const char *path, const char *needle);

#define HARNESS_LOCAL_ONLY()                                                  \
	do {                                                                  \
		if (!harness_is_local()) {                                    \
			print_message("[  SKIP    ] needs a local daemon (HEARTH_URL is set)\n"); \
			skip();                                               \
		}                                                             \
	} while (0)

/* ---- binding / serialization of a pass ----
 * HEARTH_BINDING=http|mqtt (default http) and HEARTH_FORMAT=json|xml
 * (default json) choose how harness_req()/harness_send() carry requests:
 *   http+json  m2m_client as it is (the default pass);
 *   http+xml   the content is encoded with codec_xml and sent as
 *              application/xml[;ty=N] with Accept: application/xml; an XML
 *              answer is decoded back into the JSON tree (r->body), so the
 *              assertions stay the same. Content that has no XML form (not
 *              exactly one prefixed root) goes out as JSON;
 *   mqtt+json  the harness starts its private mosquitto, the daemon with
 *              --mqtt-host/--mqtt-port, and sends each request primitive on
 *              /oneM2M/req/<fr>/<cse-id>/json (the query string mapped onto
 *              primitive members as TS-0009 does); the response primitive
 *              fills rsc, rqi, rvi, body (pc) and http_status (derived with
 *              rsc_http_status); r->headers holds its other members.
 *   mqtt+xml   as mqtt+json, with every request primitive an m2m:rqp
 *              document on /oneM2M/req/<fr>/<cse-id>/xml and the m2m:rsp
 *              answer decoded back into the JSON tree (body = pc). A
 *              primitive XML cannot carry faithfully (decoding its XML
 *              does not give it back: "" where NULL is meant, a string
 *              where a list belongs) goes as JSON on the json topic with
 *              a NOTE line.
 * A request that cannot be expressed in the pass's binding (raw body bytes
 * or HTTP headers over MQTT, a query parameter without primitive member)
 * skips the current test with a message. Foreign mode with mqtt needs
 * HEARTH_MQTT_HOST / HEARTH_MQTT_PORT (the CSE's broker). */
bool harness_is_mqtt(void);
bool harness_is_xml(void);
bool harness_is_http_json(void);
const char *harness_mode(void);  /* "http+json", "http+xml", "mqtt+json", "mqtt+xml" */

#define HARNESS_HTTP_JSON_ONLY()                                              \
	do {                                                                  \
		if (!harness_is_http_json()) {                                \
			print_message("[  SKIP    ] HTTP+JSON only (this pass: %s)\n", harness_mode()); \
			skip();                                               \
		}                                                             \
	} while (0)
/* Can this pass carry the query string (mqtt: every parameter maps onto a
 * primitive member; malformed values such as lim=abc are HTTP parsing
 * cases)? Always true over HTTP. With false, *why (optional) says why. */
bool harness_query_carried(const char *query, const char **why);
/* Skip the current test in this pass when cond holds, naming the reason. */
#define HARNESS_SKIP_IF(cond, why)                                            \
	do {                                                                  \
		if (cond) {                                                   \
			print_message("[  SKIP    ] %s: %s\n", harness_mode(), (why)); \
			skip();                                               \
		}                                                             \
	} while (0)

/* ---- small utilities ---- */
const char *hfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *harness_name(const char *prefix);  /* prefix + pid + counter, unique */
const char *harness_ts(long offset_s);         /* UTC now+offset "YYYYMMDDThhmmss" */
bool harness_ts_parse(const char *ts, double *epoch_s);
void harness_sleep_ms(long ms);
int64_t harness_now_ms(void);                  /* monotonic */
void harness_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void harness_log_tail(int lines);              /* print the daemon log tail (local) */
/* Local: the daemon log's size in bytes (a mark), and whether a line
 * written after byte `from` holds needle. */
long harness_log_size(void);
bool harness_log_contains(long from, const char *needle);

/* ---- requests ---- */
/* Send a request; `content` is stolen (may be NULL). Never fails the test by
 * itself: check the result with EXPECT_RSC. */
void harness_req(m2m_result *r, m2m_op op, const char *to, const char *fr, int ty,
                 json_t *content, const char *query);
void harness_send(m2m_result *r, const m2m_request *req);
/* The resource root `root` (e.g. "m2m:cnt") of the body, borrowed; or NULL. */
json_t *harness_res(const m2m_result *r, const char *root);
void harness_dump(const m2m_result *r);

bool harness_check_rsc(const m2m_result *r, const int *codes, size_t n,
                       const char *expr, const char *file, int line);
#define EXPECT_RSC(r, ...)                                                     \
	do {                                                                   \
		const int codes_[] = {__VA_ARGS__};                            \
		if (!harness_check_rsc((r), codes_, sizeof(codes_) / sizeof(codes_[0]), \
		                       #__VA_ARGS__, __FILE__, __LINE__))      \
			fail();                                                \
	} while (0)

/* Check without failing (for cleanup or polling). */
bool harness_rsc_is(const m2m_result *r, int code);

/* ---- JSON expectations: print the object on failure ---- */
bool harness_check_int(const json_t *obj, const char *key, long long want,
                       const char *file, int line);
bool harness_check_str(const json_t *obj, const char *key, const char *want,
                       const char *file, int line);
bool harness_check_true(bool cond, const json_t *ctx, const char *what,
                        const char *file, int line);
#define EXPECT_INT(obj, key, want)                                             \
	do { if (!harness_check_int((obj), (key), (want), __FILE__, __LINE__)) fail(); } while (0)
#define EXPECT_STR(obj, key, want)                                             \
	do { if (!harness_check_str((obj), (key), (want), __FILE__, __LINE__)) fail(); } while (0)
#define EXPECT_TRUE(cond, ctx)                                                 \
	do { if (!harness_check_true((cond), (ctx), #cond, __FILE__, __LINE__)) fail(); } while (0)

const char *harness_jstr(const json_t *obj, const char *key); /* or NULL */
long long harness_jint(const json_t *obj, const char *key, long long dflt);
bool harness_list_has_str(const json_t *arr, const char *s);
/* Does `id` (as returned by a CSE: ri, /csi/ri, //sp/csi/ri, or a
 * structured address in any scope) designate the resource with ri `ri`
 * and CSE-relative structured address `sid`? Either may be NULL. */
bool harness_id_matches(const char *id, const char *ri, const char *sid);

/* ---- resource helpers: fail the test unless the expected code comes ---- */
/* Register an AE (originator `orig`, may be NULL for none) with resource
 * name rn (NULL: none); `attrs` (stolen, may be NULL) are merged into the
 * default {"api":"Nhearthconf","rr":false,"srv":["3","4"]}. Returns aei. */
const char *harness_create_ae_at(const char *file, int line, const char *orig, const char *rn, json_t *attrs);
/* Register an AE with originator and rn "C<unique prefix>"; returns aei. */
const char *harness_register_at(const char *file, int line, const char *prefix);
const char *harness_create_cnt_at(const char *file, int line, const char *parent, const char *fr,
                                  const char *rn, json_t *attrs);
const char *harness_create_cin_at(const char *file, int line, const char *parent, const char *fr,
                                  const char *rn, const char *con);
json_t *harness_get_at(const char *file, int line, const char *to, const char *fr, const char *root);
void harness_delete_at(const char *file, int line, const char *to, const char *fr);
/* The helpers report failures at the caller's line. */
#define harness_create_ae(...) harness_create_ae_at(__FILE__, __LINE__, __VA_ARGS__)
#define harness_register(...) harness_register_at(__FILE__, __LINE__, __VA_ARGS__)
#define harness_create_cnt(...) harness_create_cnt_at(__FILE__, __LINE__, __VA_ARGS__)
#define harness_create_cin(...) harness_create_cin_at(__FILE__, __LINE__, __VA_ARGS__)
#define harness_get(...) harness_get_at(__FILE__, __LINE__, __VA_ARGS__)
#define harness_delete(...) harness_delete_at(__FILE__, __LINE__, __VA_ARGS__)
/* AE-IDs registered through the helpers are deleted (as admin) at teardown. */
void harness_track_ae(const char *aei);

/* ---- private MQTT broker (mosquitto) ----
 * A mosquitto of our own on a free loopback port, never the system
 * service: its config (listener PORT 127.0.0.1, allow_anonymous true,
 * persistence false, log to stderr) and log (broker.log) live in a
 * mkdtemp() directory. The first start picks the port; later starts reuse
 * it (a broker restart). harness_broker_cleanup() stops it and removes the
 * directory (kept with HEARTH_KEEP); an atexit handler kills a broker left
 * running. Each returns 0, or -1 with a printed reason. */
const char *harness_mosquitto_path(void); /* the binary, or NULL when not installed */
int harness_broker_start(void);  /* start and wait until it accepts connections */
int harness_broker_stop(void);   /* SIGTERM, wait (SIGKILL after 5 s) */
int harness_broker_port(void);   /* 0 before the first start */
/* A second, TLS listener (mosquitto's certfile/keyfile/cafile/
 * require_certificate) on its own free loopback port, beside the plain
 * one: server certificate cert with key; ca (may be NULL) the CA file, and
 * with require_cert a client certificate from ca is required. The files
 * are copied into the broker's directory (readable by mosquitto's own
 * user). Takes effect at the next harness_broker_start() (the broker must
 * be stopped); cert NULL removes the listener. The TLS port is kept across
 * restarts. 0, or -1 with a printed reason. */
int harness_broker_set_tls(const char *cert, const char *key, const char *ca, bool require_cert);
int harness_broker_tls_port(void); /* 0 without a TLS listener */
void harness_broker_cleanup(void);

/* ---- notification receiver ---- */
typedef struct notif_receiver notif_receiver;
typedef struct notif_msg {
	char *method;
	char *url;       /* path + query as received */
	json_t *headers; /* lower-case name -> value */
	json_t *body;    /* parsed JSON or NULL */
	char *raw;       /* body bytes */
	struct notif_msg *next;
} notif_msg;

notif_receiver *notif_receiver_start(void);   /* NULL on failure (printed) */
/* The same over HTTPS with the server certificate and key (PEM files); its
 * URL is "https://127.0.0.1:PORT/notify". */
notif_receiver *notif_receiver_start_tls(const char *cert_file, const char *key_file);
void notif_receiver_stop(notif_receiver **r);
const char *notif_receiver_url(const notif_receiver *r); /* "http://127.0.0.1:PORT/notify" */
/* Answer for ordinary notifications / for verification requests (vrq). */
void notif_receiver_set_reply(notif_receiver *r, unsigned http, int rsc);
void notif_receiver_set_verify_reply(notif_receiver *r, unsigned http, int rsc);
notif_msg *notif_wait_msg(notif_receiver *r, int timeout_ms);
void notif_msg_free(notif_msg **m);
/* Next request's "m2m:sgn" object (new reference), or NULL on timeout. */
json_t *notif_wait(notif_receiver *r, int timeout_ms);
/* Same, skipping verification requests (vrq = true). */
json_t *notif_wait_event(notif_receiver *r, int timeout_ms);
size_t notif_total(notif_receiver *r);   /* requests received so far */
void notif_drain(notif_receiver *r);

#endif
