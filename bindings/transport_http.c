/*
 * transport_http.c - send one request primitive over HTTP (TS-0009) with
 * libcurl and collect the peer's response primitive.
 *
 * One easy handle per call: simple, thread-safe, no state to poison. What is
 * worth keeping between calls (DNS answers, TLS sessions) lives in one share
 * handle guarded by one mutex per curl_lock_data kind. The connection cache
 * is NOT shared: libcurl does not support that across concurrent threads.
 *
 * Invariants: every call is bounded by timeout_ms (connect and total) and
 * reads at most HL_MAX_BODY bytes of response body; header values we send
 * never contain CR/LF (no header injection from primitive strings);
 * transport_global_init() must run before the first transport_send(); the
 * first send initialises libcurl (thread-safe, once).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <dlfcn.h>
#include <unistd.h>

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "transport.h"
#include "codec_json.h"
#include "codec_xml.h"
#include "mqtt_binding.h"
#include "../cse/limits.h"
#include "../cse/log.h"
#include "../cse/rsc.h"

#define TP_HDR_MAX (HL_MAX_ID + 1u) /* bytes kept of one response header value */

/*
 * libcurl is loaded with dlopen() on the first send: a CSE that never sends
 * a notification does not map libcurl and its dependency chain (TLS,
 * Kerberos, LDAP, SSH...), which is most of an idle gateway's memory.
 * The header is used for types and constants only; calls go through tpc.
 */
static struct {
	void *lib;
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLSH *(*share_init)(void);
	CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
	CURLSHcode (*share_cleanup)(CURLSH *);
} tpc;

static int tp_load(void)
{
	static const char *const names[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !tpc.lib; i++)
		tpc.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!tpc.lib) {
		log_error("transport: cannot load libcurl: %s", dlerror());
		return -1;
	}
#define TP_SYM(field, name)                                          \
	do {                                                         \
		*(void **)(&tpc.field) = dlsym(tpc.lib, name);       \
		if (!tpc.field) {                                    \
			log_error("transport: libcurl lacks %s", name); \
			goto fail;                                   \
		}                                                    \
	} while (0)
	TP_SYM(global_init, "curl_global_init");
	TP_SYM(global_cleanup, "curl_global_cleanup");
	TP_SYM(easy_init, "curl_easy_init");
	TP_SYM(easy_setopt, "curl_easy_setopt");
	TP_SYM(easy_perform, "curl_easy_perform");
	TP_SYM(easy_getinfo, "curl_easy_getinfo");
	TP_SYM(easy_cleanup, "curl_easy_cleanup");
	TP_SYM(easy_strerror, "curl_easy_strerror");
	TP_SYM(slist_append, "curl_slist_append");
	TP_SYM(slist_free_all, "curl_slist_free_all");
	TP_SYM(share_init, "curl_share_init");
	TP_SYM(share_setopt, "curl_share_setopt");
	TP_SYM(share_cleanup, "curl_share_cleanup");
#undef TP_SYM
	return 0;
fail:
	dlclose(tpc.lib);
	memset(&tpc, 0, sizeof(tpc));
	return -1;
}

static CURLSH *tp_share;
static pthread_mutex_t tp_locks[CURL_LOCK_DATA_LAST];
static pthread_mutex_t tp_init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned tp_users;

static void tp_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
	(void)h;
	(void)access;
	(void)u;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&tp_locks[data]);
}

static void tp_unlock(CURL *h, curl_lock_data data, void *u)
{
	(void)h;
	(void)u;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&tp_locks[data]);
}

/* libcurl (and the TLS library under it) is initialised on the first
   send, not here: an idle CSE that never notifies does not map the crypto
   library's pages. */
static bool tp_started;
/* CA file verifying HTTPS peers (transport_set_tls_ca); NULL: libcurl's
   default store. Written before the first send, read-only afterwards. */
static char *tp_ca;

int transport_set_tls_ca(const char *pem)
{
	char *v = NULL;

	if (pem && *pem) {
		FILE *f = fopen(pem, "r");
		if (!f) {
			log_error("transport: CA file '%s': %s", pem, strerror(errno));
			return -1;
		}
		fclose(f);
		v = m2m_strdup(pem);
	}
	pthread_mutex_lock(&tp_init_lock);
	free(tp_ca);
	tp_ca = v;
	pthread_mutex_unlock(&tp_init_lock);
	return 0;
}

int transport_global_init(void)
{
	pthread_mutex_lock(&tp_init_lock);
	tp_users++;
	pthread_mutex_unlock(&tp_init_lock);
	return 0;
}

static int tp_start(void)
{
	int rc = 0;
	pthread_mutex_lock(&tp_init_lock);
	if (tp_started)
		goto out;
	if (!tpc.lib && tp_load() != 0) {
		rc = -1;
		goto out;
	}
	if (tpc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("transport: curl_global_init failed");
		rc = -1;
		goto out;
	}
	for (unsigned i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&tp_locks[i], NULL);
	tp_share = tpc.share_init();
	if (tp_share) {
		tpc.share_setopt(tp_share, CURLSHOPT_LOCKFUNC, tp_lock);
		tpc.share_setopt(tp_share, CURLSHOPT_UNLOCKFUNC, tp_unlock);
		tpc.share_setopt(tp_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		tpc.share_setopt(tp_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	} else {
		log_warn("transport: no curl share handle; DNS cache per request");
	}
	tp_started = true;
out:
	pthread_mutex_unlock(&tp_init_lock);
	return rc;
}

void transport_global_cleanup(void)
{
	pthread_mutex_lock(&tp_init_lock);
	if (tp_users > 0 && --tp_users == 0) {
		free(tp_ca);
		tp_ca = NULL;
		if (tp_started) {
			if (tp_share)
				tpc.share_cleanup(tp_share);
			tp_share = NULL;
			for (unsigned i = 0; i < CURL_LOCK_DATA_LAST; i++)
				pthread_mutex_destroy(&tp_locks[i]);
			tpc.global_cleanup();
			tp_started = false;
		}
	}
	pthread_mutex_unlock(&tp_init_lock);
}

/* ------------------------------------------------------------------ */

typedef struct tp_io {
	char *body;
	size_t len, cap;
	int overflow;
	int has_rsc;
	int rsc;
	char ri[TP_HDR_MAX], rvi[TP_HDR_MAX], origin[TP_HDR_MAX], loc[TP_HDR_MAX];
} tp_io;

static size_t tp_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	tp_io *io = ud;
	size_t n = size * nmemb;

	if (n > HL_MAX_BODY - io->len) {
		io->overflow = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (io->len + n + 1 > io->cap) {
		size_t cap = io->cap ? io->cap : 1024;
		char *nb;
		while (cap < io->len + n + 1)
			cap *= 2;
		nb = realloc(io->body, cap);
		if (!nb)
			return 0;
		io->body = nb;
		io->cap = cap;
	}
	memcpy(io->body + io->len, ptr, n);
	io->len += n;
	io->body[io->len] = '\0';
	return n;
}

/* Copy a header value (trimmed) into dst when the line is "name: value". */
static int hdr_match(const char *line, size_t n, const char *name, char *dst, size_t dstlen)
{
	size_t nl = strlen(name);
	const char *v, *e;
	size_t vn;

	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	v = line + nl + 1;
	e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	vn = (size_t)(e - v);
	if (vn >= dstlen)
		vn = dstlen - 1;
	memcpy(dst, v, vn);
	dst[vn] = '\0';
	return 1;
}

static int parse_int_strict(const char *s, int *out)
{
	char *end = NULL;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static size_t tp_header(char *line, size_t size, size_t nitems, void *ud)
{
	tp_io *io = ud;
	size_t n = size * nitems;
	char val[TP_HDR_MAX];

	/* A new status line (after 100 Continue) starts a new header set. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		io->has_rsc = 0;
		io->ri[0] = io->rvi[0] = io->origin[0] = io->loc[0] = '\0';
		return n;
	}
	if (hdr_match(line, n, "X-M2M-RSC", val, sizeof val)) {
		io->has_rsc = parse_int_strict(val, &io->rsc) == 0;
	} else if (!hdr_match(line, n, "X-M2M-RI", io->ri, sizeof io->ri) &&
	           !hdr_match(line, n, "X-M2M-RVI", io->rvi, sizeof io->rvi) &&
	           !hdr_match(line, n, "X-M2M-Origin", io->origin, sizeof io->origin)) {
		hdr_match(line, n, "Content-Location", io->loc, sizeof io->loc);
	}
	return n;
}

static int rsc_from_http(long status)
{
	if (status == 201)
		return RSC_CREATED;
	if (status >= 200 && status < 300)
		return RSC_OK;
	if (status >= 400 && status < 500)
		return RSC_BAD_REQUEST;
	if (status >= 500 && status < 600)
		return RSC_INTERNAL_SERVER_ERROR;
	return RSC_TARGET_NOT_REACHABLE; /* 1xx/3xx final: we follow no redirect */
}

/* Append a complete header line; the list is kept on allocation failure. */
static int add_line(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = tpc.slist_append(*list, line);

	if (!n)
		return -1;
	*list = n;
	return 0;
}

/* Append "name: value" to the list; -1 when the value could inject a header. */
static int add_header(struct curl_slist **list, const char *name, const char *val)
{
	char line[HL_MAX_HEADER + 64];
	int len;

	if (strpbrk(val, "\r\n"))
		return -1;
	len = snprintf(line, sizeof line, "%s: %s", name, val);
	if (len < 0 || (size_t)len >= sizeof line)
		return -1;
	return add_line(list, line);
}

/*
 * Copy url without its "ct=json" / "ct=xml" query parameter (*xml set for
 * the latter). Returns NULL and records 5103 in rsp when ct names another
 * serialization.
 */
static char *url_strip_ct(const char *url, m2m_response *rsp, bool *xml)
{
	size_t n = strlen(url);
	char *out = malloc(n + 1);
	const char *q = strchr(url, '?');
	char *w;

	if (!out)
		abort(); /* as m2m_strdup */
	if (!q) {
		memcpy(out, url, n + 1);
		return out;
	}
	memcpy(out, url, (size_t)(q - url));
	w = out + (q - url);
	/* Re-emit every query parameter except ct. */
	int first = 1;
	for (const char *p = q + 1; *p;) {
		size_t seg = strcspn(p, "&#");
		if (seg >= 3 && strncmp(p, "ct=", 3) == 0) {
			if (seg == 6 && strncmp(p + 3, "xml", 3) == 0) {
				*xml = true;
			} else if (seg != 7 || strncmp(p + 3, "json", 4) != 0) {
				m2m_error(rsp, RSC_TARGET_NOT_REACHABLE,
				          "unsupported serialization '%.*s' in notification URI",
				          (int)(seg > 32 ? 32 : seg), p);
				free(out);
				return NULL;
			}
		} else if (seg > 0) {
			*w++ = first ? '?' : '&';
			first = 0;
			memcpy(w, p, seg);
			w += seg;
		}
		p += seg;
		if (*p == '#') {
			size_t rest = strlen(p);
			memcpy(w, p, rest);
			w += rest;
			break;
		}
		if (*p == '&')
			p++;
	}
	*w = '\0';
	return out;
}

int transport_send(const char *url, const m2m_request *req, m2m_response *rsp, long timeout_ms)
{
	CURL *h = NULL;
	struct curl_slist *hdrs = NULL;
	char *target = NULL, *body = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char line[64];
	tp_io io;
	CURLcode cc;
	long status = 0;
	int rc = -1;

	memset(&io, 0, sizeof io);
	if (url && strncasecmp(url, "mqtt://", 7) == 0)
		return transport_mqtt_send(url, req, rsp, timeout_ms);
	if (tp_start() != 0) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "transport: libcurl could not be initialised");
		return -1;
	}
	errbuf[0] = '\0';
	if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "unsupported scheme in '%.64s'",
		          url ? url : "(null)");
		goto out;
	}
	bool xml = false;
	target = url_strip_ct(url, rsp, &xml);
	if (!target)
		goto out;
	const char *ctype = xml ? "application/xml" : "application/json";
	if (timeout_ms <= 0)
		timeout_ms = HL_NOTIFY_TIMEOUT_MS;

	h = tpc.easy_init();
	if (!h) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "cannot create HTTP client handle");
		goto out;
	}

	switch (req->op) {
	case M2M_OP_CREATE:
		if (req->ty <= 0) {
			m2m_error(rsp, RSC_BAD_REQUEST, "Create without a resource type");
			goto out;
		}
		snprintf(line, sizeof line, "Content-Type: %s;ty=%d", ctype, req->ty);
		add_line(&hdrs, line);
		tpc.easy_setopt(h, CURLOPT_POST, 1L);
		break;
	case M2M_OP_NOTIFY:
		snprintf(line, sizeof line, "Content-Type: %s", ctype);
		add_line(&hdrs, line);
		tpc.easy_setopt(h, CURLOPT_POST, 1L);
		break;
	case M2M_OP_UPDATE:
		snprintf(line, sizeof line, "Content-Type: %s", ctype);
		add_line(&hdrs, line);
		tpc.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		break;
	case M2M_OP_RETRIEVE:
		tpc.easy_setopt(h, CURLOPT_HTTPGET, 1L);
		break;
	case M2M_OP_DELETE:
		tpc.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
		break;
	default:
		m2m_error(rsp, RSC_BAD_REQUEST, "cannot send operation %d", req->op);
		goto out;
	}
	if (req->op == M2M_OP_CREATE || req->op == M2M_OP_NOTIFY || req->op == M2M_OP_UPDATE) {
		if (req->pc) {
			body = xml ? codec_xml_encode(req->pc) : codec_json_encode(req->pc);
			if (!body) {
				m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "cannot encode content");
				goto out;
			}
		}
		tpc.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(body ? strlen(body) : 0));
		tpc.easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	}

	if ((req->fr && add_header(&hdrs, "X-M2M-Origin", req->fr) != 0) ||
	    (req->rqi && add_header(&hdrs, "X-M2M-RI", req->rqi) != 0) ||
	    (req->rvi && add_header(&hdrs, "X-M2M-RVI", req->rvi) != 0) ||
	    (req->ot && add_header(&hdrs, "X-M2M-OT", req->ot) != 0) ||
	    (req->rqet && add_header(&hdrs, "X-M2M-RET", req->rqet) != 0) ||
	    (req->rset && add_header(&hdrs, "X-M2M-RST", req->rset) != 0) ||
	    (req->oet && add_header(&hdrs, "X-M2M-OET", req->oet) != 0) ||
	    (req->gid && add_header(&hdrs, "X-M2M-GID", req->gid) != 0) ||
	    (req->vsi && add_header(&hdrs, "X-M2M-VSI", req->vsi) != 0)) {
		m2m_error(rsp, RSC_BAD_REQUEST, "request parameter unusable as an HTTP header");
		goto out;
	}
	if (req->ec >= 0) {
		snprintf(line, sizeof line, "%d", req->ec);
		add_header(&hdrs, "X-M2M-EC", line);
	}
	add_line(&hdrs, xml ? "Accept: application/xml" : "Accept: application/json");
	add_line(&hdrs, "Expect:"); /* no 100-continue round trip */

	tpc.easy_setopt(h, CURLOPT_URL, target);
#if LIBCURL_VERSION_NUM >= 0x075500
	tpc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	tpc.easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	tpc.easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	tpc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	tpc.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	tpc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	tpc.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	tpc.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HL_MAX_BODY);
	tpc.easy_setopt(h, CURLOPT_WRITEFUNCTION, tp_write);
	tpc.easy_setopt(h, CURLOPT_WRITEDATA, &io);
	tpc.easy_setopt(h, CURLOPT_HEADERFUNCTION, tp_header);
	tpc.easy_setopt(h, CURLOPT_HEADERDATA, &io);
	tpc.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	/* HTTPS peers are always verified: chain and host name */
	tpc.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	tpc.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (tp_ca) {
		/* only the configured CA(s), not the system's directory too */
		tpc.easy_setopt(h, CURLOPT_CAINFO, tp_ca);
		tpc.easy_setopt(h, CURLOPT_CAPATH, (char *)NULL);
	}
	if (tp_share)
		tpc.easy_setopt(h, CURLOPT_SHARE, tp_share);

	cc = tpc.easy_perform(h);
	if (cc != CURLE_OK) {
		if (io.overflow || cc == CURLE_FILESIZE_EXCEEDED)
			m2m_error(rsp, RSC_TARGET_NOT_REACHABLE,
			          "response body from target larger than %u bytes", HL_MAX_BODY);
		else
			m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "target not reachable: %s",
			          errbuf[0] ? errbuf : tpc.easy_strerror(cc));
		goto out;
	}
	tpc.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);

	rsp->rsc = io.has_rsc ? io.rsc : rsc_from_http(status);
	json_decref(rsp->pc);
	rsp->pc = NULL;
	if (io.len > 0) {
		json_t *pc = NULL;
		char err[128];
		int drc = io.body[0] == '<' ? codec_xml_decode(io.body, io.len, &pc, err, sizeof err)
		                            : codec_json_decode(io.body, io.len, &pc, err, sizeof err);
		if (drc == 0)
			rsp->pc = pc;
		else
			log_debug("transport: response body ignored: %s", err);
	}
	free(rsp->rqi);
	rsp->rqi = m2m_strdup(io.ri[0] ? io.ri : req->rqi);
	if (io.rvi[0]) {
		free(rsp->rvi);
		rsp->rvi = m2m_strdup(io.rvi);
	}
	if (io.origin[0]) {
		free(rsp->fr);
		rsp->fr = m2m_strdup(io.origin);
	}
	if (io.loc[0]) {
		free(rsp->location);
		rsp->location = m2m_strdup(io.loc);
	}
	rc = 0;
out:
	if (h)
		tpc.easy_cleanup(h);
	tpc.slist_free_all(hdrs);
	free(body);
	free(target);
	free(io.body);
	return rc;
}

/* ---- forwarding to another CSE ------------------------------------------ */

/* s percent-encoded; '/' kept when path is set. */
static void put_enc(FILE *f, const char *s, bool path)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (path && *p == '/'))
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

static void put_param(FILE *f, bool *first, const char *k, const json_t *v)
{
	char num[32];
	const char *s = NULL;
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), s = num;
	else if (json_is_boolean(v))
		s = json_is_true(v) ? "true" : "false";
	if (!s)
		return;
	fputc(*first ? '?' : '&', f);
	*first = false;
	put_enc(f, k, false);
	fputc('=', f);
	put_enc(f, s, false);
}

/* The TS-0009 URL of req at a CSE whose point of access is poa: the target
   as path ("/~" + SP-relative, "/_" + absolute) and the request parameters
   the HTTP binding carries in the query. */
static char *forward_url(const char *poa, const m2m_request *req)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f)
		return NULL;
	size_t pl = strlen(poa);
	while (pl > 0 && poa[pl - 1] == '/')
		pl--;
	fwrite(poa, 1, pl, f);
	const char *to = req->to;
	if (to[0] == '/' && to[1] == '/') {
		fputs("/_", f);
		put_enc(f, to + 1, true);
	} else if (to[0] == '/') {
		fputs("/~", f);
		put_enc(f, to, true);
	} else {
		fputc('/', f);
		put_enc(f, to, true);
	}
	bool first = true;
	json_t *v;
	if (req->rcn >= 0)
		put_param(f, &first, "rcn", v = json_integer(req->rcn)), json_decref(v);
	if (req->drt >= 0)
		put_param(f, &first, "drt", v = json_integer(req->drt)), json_decref(v);
	if (req->rtv >= 0)
		put_param(f, &first, "rt", v = json_integer(req->rtv)), json_decref(v);
	const char *k;
	json_object_foreach(req->fc, k, v) {
		size_t i;
		json_t *e;
		if (strcmp(k, "atr") == 0) {
			json_array_foreach(v, i, e) {
				const char *nm = json_string_value(json_object_get(e, "nm"));
				if (nm)
					put_param(f, &first, nm, json_object_get(e, "val"));
			}
		} else if (json_is_array(v)) {
			json_array_foreach(v, i, e)
				put_param(f, &first, k, e);
		} else {
			put_param(f, &first, k, v);
		}
	}
	if (req->op == M2M_OP_RETRIEVE) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(req->pc, "m2m:atrl"), i, e)
			put_param(f, &first, "atrl", e);
	}
	size_t i;
	json_t *e;
	json_array_foreach(req->rids, i, e)
		put_param(f, &first, "rids", e);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int transport_forward(const char *poa, const char *hop_csi, const m2m_request *req,
                      m2m_response *rsp, long timeout_ms)
{
	if (!poa || !req->to || !*req->to) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "nothing to forward to");
		return -1;
	}
	if (strncasecmp(poa, "mqtt://", 7) == 0)
		return transport_mqtt_forward(poa, hop_csi, req, rsp, timeout_ms);
	if (strchr(poa, '?')) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "point of access '%.64s' has a query", poa);
		return -1;
	}
	char *url = forward_url(poa, req);
	if (!url) {
		m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "out of memory");
		return -1;
	}
	int rc = transport_send(url, req, rsp, timeout_ms);
	free(url);
	return rc;
}

/* ---------- file downloads (verified updates, mgmtobj/update.c) ---------- */

typedef struct tp_dl {
	int fd;
	unsigned long long max, got;
	bool overflow, werr;
} tp_dl;

static size_t tp_dl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	tp_dl *d = ud;
	size_t n = size * nmemb, take = n;
	if (d->got + n > d->max) {
		take = (size_t)(d->max - d->got);
		d->overflow = true;
	}
	for (size_t off = 0; off < take;) {
		ssize_t w = write(d->fd, ptr + off, take - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			d->werr = true;
			return 0;
		}
		off += (size_t)w;
	}
	d->got += take;
	return d->overflow ? 0 : n; /* 0 stops the transfer */
}

int transport_download(const char *url, int fd, unsigned long long max, long timeout_ms, char *err,
                       size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE];
	tp_dl d = { .fd = fd, .max = max };
	long status = 0;
	int rc = -1;
	CURL *h;

	if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)) {
		snprintf(err, errlen, "not an http(s) URL");
		return -1;
	}
	if (tp_start() != 0 || !(h = tpc.easy_init())) {
		snprintf(err, errlen, "libcurl could not be initialised");
		return -1;
	}
	errbuf[0] = '\0';
	tpc.easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	tpc.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	tpc.easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	tpc.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	tpc.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	tpc.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
	tpc.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	tpc.easy_setopt(h, CURLOPT_WRITEFUNCTION, tp_dl_write);
	tpc.easy_setopt(h, CURLOPT_WRITEDATA, &d);
	tpc.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	tpc.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	tpc.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (tp_ca) {
		tpc.easy_setopt(h, CURLOPT_CAINFO, tp_ca);
		tpc.easy_setopt(h, CURLOPT_CAPATH, (char *)NULL);
	}
	if (tp_share)
		tpc.easy_setopt(h, CURLOPT_SHARE, tp_share);
	CURLcode cc = tpc.easy_perform(h);
	tpc.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (d.overflow && status == 200)
		rc = 1;
	else if (d.werr)
		snprintf(err, errlen, "cannot write the download: %s", strerror(errno));
	else if (cc != CURLE_OK)
		snprintf(err, errlen, "%s", errbuf[0] ? errbuf : tpc.easy_strerror(cc));
	else if (status != 200)
		snprintf(err, errlen, "HTTP status %ld", status);
	else
		rc = 0;
	tpc.easy_cleanup(h);
	return rc;
}
