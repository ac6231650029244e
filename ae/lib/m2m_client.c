/*
 * m2m_client.c - oneM2M HTTP client on libcurl; see m2m_client.h.
 *
 * Each request uses one curl easy handle: the client keeps one idle handle
 * (so sequential requests reuse the connection) and creates extra ones when
 * several threads send at the same time. Response headers are collected
 * into a jansson object; the header block of an interim "100 Continue"
 * response is discarded when the next status line arrives.
 */
#include "ae/lib/m2m_client.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct m2m_client {
	char *base;
	atomic_ulong counter;
	unsigned long tag;      /* distinguishes clients of one process in rqi */
	pthread_mutex_t lock;
	CURL *idle;             /* one cached handle, or NULL */
	/* TLS (m2m_client_set_tls): NULL = libcurl's defaults */
	char *tls_ca, *tls_cert, *tls_key;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct membuf {
	char *data;
	size_t len, cap, max;
	int overflow;
} membuf;

static int membuf_add(membuf *b, const char *p, size_t n)
{
	if (b->len + n > b->max) {
		b->overflow = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

m2m_client *m2m_client_new(const char *base_url)
{
	m2m_client *c = NULL;
	if (!base_url)
		return NULL;
	pthread_once(&curl_once, curl_init_once);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = strdup(base_url);
	if (!c->base) {
		free(c);
		return NULL;
	}
	size_t n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	atomic_init(&c->counter, 0);
	static atomic_ulong tags;
	c->tag = atomic_fetch_add(&tags, 1);
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

/* NULL stays NULL; otherwise a heap copy into *dst. */
static int opt_dup(char **dst, const char *src)
{
	char *v = NULL;
	if (src && !(v = strdup(src)))
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

int m2m_client_set_tls(m2m_client *c, const char *ca_file, const char *cert_file,
                       const char *key_file)
{
	if (!c)
		return -1;
	pthread_mutex_lock(&c->lock);
	int rc = opt_dup(&c->tls_ca, ca_file) | opt_dup(&c->tls_cert, cert_file) |
	         opt_dup(&c->tls_key, key_file);
	/* a cached handle may hold a connection made with the old identity */
	if (c->idle) {
		curl_easy_cleanup(c->idle);
		c->idle = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return rc ? -1 : 0;
}

void m2m_client_free(m2m_client **cp)
{
	if (!cp || !*cp)
		return;
	m2m_client *c = *cp;
	if (c->idle)
		curl_easy_cleanup(c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c->tls_ca);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->base);
	free(c);
	*cp = NULL;
}

const char *m2m_client_base_url(const m2m_client *c)
{
	return c ? c->base : NULL;
}

void m2m_request_init(m2m_request *req, m2m_op op, const char *to)
{
	memset(req, 0, sizeof(*req));
	req->op = op;
	req->to = to;
	req->ty = -1;
}

void m2m_result_clear(m2m_result *res)
{
	if (!res)
		return;
	free(res->rqi);
	free(res->rvi);
	free(res->origin);
	free(res->content_location);
	free(res->content_type);
	if (res->headers)
		json_decref(res->headers);
	if (res->body)
		json_decref(res->body);
	free(res->raw_body);
	free(res->method);
	free(res->url);
	free(res->sent_rqi);
	free(res->sent_body);
	memset(res, 0, sizeof(*res));
}

const char *m2m_result_header(const m2m_result *res, const char *name)
{
	char low[128];
	size_t i;
	if (!res || !res->headers || !name)
		return NULL;
	for (i = 0; name[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = '\0';
	return json_string_value(json_object_get(res->headers, low));
}

int m2m_to_path(const char *to, char *buf, size_t n)
{
	int w;
	if (!to || !buf)
		return -1;
	if (to[0] == '/' && to[1] == '/')
		w = snprintf(buf, n, "/_/%s", to + 2);
	else if (to[0] == '/')
		w = snprintf(buf, n, "/~%s", to);
	else
		w = snprintf(buf, n, "/%s", to);
	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	membuf *b = ud;
	size_t n = size * nmemb;
	if (membuf_add(b, p, n) != 0)
		return 0; /* aborts the transfer: over the limit */
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	json_t *h = ud;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		json_object_clear(h); /* new response (after 100 Continue) */
		return n;
	}
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return n;
	char name[128];
	size_t nl = (size_t)(colon - p);
	if (nl == 0 || nl >= sizeof(name))
		return n;
	for (size_t i = 0; i < nl; i++)
		name[i] = (char)tolower((unsigned char)p[i]);
	name[nl] = '\0';
	const char *v = colon + 1;
	const char *end = p + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	json_object_set_new(h, name, json_stringn(v, (size_t)(end - v)));
	return n;
}

static CURL *handle_take(m2m_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->lock);
	h = c->idle;
	c->idle = NULL;
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void handle_give(m2m_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (!c->idle) {
		c->idle = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

static char *dup_hdr(const json_t *h, const char *name)
{
	const char *v = json_string_value(json_object_get(h, name));
	return v ? strdup(v) : NULL;
}

/* Does the NULL-terminated list contain a header line named `name`? */
static int has_header(const char *const *headers, const char *name)
{
	size_t nl = strlen(name);
	if (!headers)
		return 0;
	for (size_t i = 0; headers[i]; i++) {
		if (strncasecmp(headers[i], name, nl) == 0 &&
		    (headers[i][nl] == ':' || headers[i][nl] == ';'))
			return 1;
	}
	return 0;
}

static int perform(m2m_client *c, const char *method, const char *url,
                   struct curl_slist *hl, const void *body, size_t len,
                   int has_body, m2m_result *res)
{
	int rc = -1;
	CURL *h = NULL;
	membuf b = {.max = M2M_CLIENT_MAX_BODY};
	json_t *hdrs = json_object();
	char errbuf[CURL_ERROR_SIZE] = "";

	res->method = strdup(method);
	res->url = strdup(url);
	if (has_body && body) {
		size_t keep = len < 4096 ? len : 4096;
		res->sent_body = malloc(keep + 1);
		if (res->sent_body) {
			memcpy(res->sent_body, body, keep);
			res->sent_body[keep] = '\0';
		}
	}
	h = handle_take(c);
	if (!h || !hdrs) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, M2M_CLIENT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, hdrs);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (c->tls_ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->tls_ca);
	if (c->tls_cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls_cert);
	if (c->tls_key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls_key);
	if (has_body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}

	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(res->error, sizeof(res->error), "%s: %s",
		         curl_easy_strerror(cc), errbuf[0] ? errbuf : (b.overflow ? "response too large" : ""));
		goto out;
	}
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = (int)status;
	const char *rsc = json_string_value(json_object_get(hdrs, "x-m2m-rsc"));
	if (rsc) {
		char *end = NULL;
		long v = strtol(rsc, &end, 10);
		res->rsc = (end != rsc && *end == '\0' && v > 0 && v < 100000) ? (int)v : 0;
	}
	res->rqi = dup_hdr(hdrs, "x-m2m-ri");
	res->rvi = dup_hdr(hdrs, "x-m2m-rvi");
	res->origin = dup_hdr(hdrs, "x-m2m-origin");
	res->content_location = dup_hdr(hdrs, "content-location");
	res->content_type = dup_hdr(hdrs, "content-type");
	res->raw_len = b.len;
	res->raw_body = b.data ? b.data : strdup("");
	b.data = NULL;
	if (res->raw_len > 0)
		res->body = json_loadb(res->raw_body, res->raw_len, JSON_DECODE_ANY, NULL);
	res->headers = hdrs;
	hdrs = NULL;
	rc = 0;
out:
	if (h) {
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
		handle_give(c, h);
	}
	if (hdrs)
		json_decref(hdrs);
	free(b.data);
	return rc;
}

static const char *op_method(m2m_op op)
{
	switch (op) {
	case M2M_OP_CREATE: return "POST";
	case M2M_OP_RETRIEVE: return "GET";
	case M2M_OP_UPDATE: return "PUT";
	case M2M_OP_DELETE: return "DELETE";
	case M2M_OP_NOTIFY: return "POST";
	}
	return NULL;
}

static struct curl_slist *hl_add(struct curl_slist *l, int *ok, const char *fmt, const char *v)
{
	char line[16384];
	int w = snprintf(line, sizeof(line), fmt, v);
	if (w < 0 || (size_t)w >= sizeof(line)) {
		*ok = 0;
		return l;
	}
	struct curl_slist *n = curl_slist_append(l, line);
	if (!n) {
		*ok = 0;
		return l;
	}
	return n;
}

static struct curl_slist *hl_raw(struct curl_slist *l, int *ok, const char *line)
{
	struct curl_slist *n = curl_slist_append(l, line);
	if (!n) {
		*ok = 0;
		return l;
	}
	return n;
}

int m2m_send(m2m_client *c, const m2m_request *req, m2m_result *res)
{
	int rc = -1, ok = 1;
	struct curl_slist *hl = NULL;
	char *body = NULL, *url = NULL, *path = NULL;
	size_t blen = 0;
	const char *method;

	if (!res)
		return -1;
	memset(res, 0, sizeof(*res));
	if (!c || !req || !req->to || !(method = op_method(req->op))) {
		snprintf(res->error, sizeof(res->error), "bad argument");
		return -1;
	}

	/* path and query; "#attr" becomes atrl=attr */
	size_t tl = strlen(req->to);
	size_t cap = tl + 16 + (req->query ? strlen(req->query) : 0) + 16;
	path = malloc(cap);
	char *to = strdup(req->to);
	if (!path || !to) {
		free(to);
		snprintf(res->error, sizeof(res->error), "out of memory");
		goto out;
	}
	char *frag = strchr(to, '#');
	if (frag)
		*frag++ = '\0';
	if (m2m_to_path(to, path, cap) != 0) {
		free(to);
		snprintf(res->error, sizeof(res->error), "target too long");
		goto out;
	}
	size_t ul = strlen(c->base) + strlen(path) + (req->query ? strlen(req->query) : 0) +
	            (frag ? strlen(frag) : 0) + 16;
	url = malloc(ul);
	if (!url) {
		free(to);
		goto out;
	}
	int w;
	if (req->query && req->query[0] && frag)
		w = snprintf(url, ul, "%s%s?%s&atrl=%s", c->base, path, req->query, frag);
	else if (req->query && req->query[0])
		w = snprintf(url, ul, "%s%s?%s", c->base, path, req->query);
	else if (frag)
		w = snprintf(url, ul, "%s%s?atrl=%s", c->base, path, frag);
	else
		w = snprintf(url, ul, "%s%s", c->base, path);
	free(to);
	if (w < 0 || (size_t)w >= ul)
		goto out;

	/* body */
	int has_body = 0;
	if (req->content) {
		body = json_dumps(req->content, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!body)
			goto out;
		blen = strlen(body);
		has_body = 1;
	} else if (req->raw_content) {
		blen = req->raw_len ? req->raw_len : strlen(req->raw_content);
		has_body = 1;
	} else if (req->op == M2M_OP_CREATE || req->op == M2M_OP_UPDATE || req->op == M2M_OP_NOTIFY) {
		has_body = 1; /* empty body, still a POST/PUT */
	}

	/* headers */
	const char *const *xh = req->headers;
	if (req->from && !has_header(xh, "X-M2M-Origin"))
		hl = req->from[0] ? hl_add(hl, &ok, "X-M2M-Origin: %s", req->from)
		                  : hl_add(hl, &ok, "X-M2M-Origin;%s", "");
	if (!has_header(xh, "X-M2M-RI")) {
		char gen[96];
		const char *rqi = req->rqi;
		if (!rqi) {
			unsigned long n = atomic_fetch_add(&c->counter, 1) + 1;
			snprintf(gen, sizeof(gen), "hc%ld-%lu-%lu", (long)getpid(), c->tag, n);
			rqi = gen;
		}
		res->sent_rqi = strdup(rqi);
		hl = rqi[0] ? hl_add(hl, &ok, "X-M2M-RI: %s", rqi) : hl_add(hl, &ok, "X-M2M-RI;%s", "");
	}
	if (!has_header(xh, "X-M2M-RVI")) {
		const char *rvi = req->rvi ? req->rvi : "4";
		hl = rvi[0] ? hl_add(hl, &ok, "X-M2M-RVI: %s", rvi) : hl_add(hl, &ok, "X-M2M-RVI;%s", "");
	}
	if (!has_header(xh, "Accept"))
		hl = hl_add(hl, &ok, "Accept: %s", "application/json");
	if (has_body && !has_header(xh, "Content-Type")) {
		if (req->op == M2M_OP_CREATE && req->ty >= 0) {
			char ct[64];
			snprintf(ct, sizeof(ct), "application/json;ty=%d", req->ty);
			hl = hl_add(hl, &ok, "Content-Type: %s", ct);
		} else {
			hl = hl_add(hl, &ok, "Content-Type: %s", "application/json");
		}
	}
	for (size_t i = 0; xh && xh[i]; i++)
		hl = hl_raw(hl, &ok, xh[i]);
	if (!ok) {
		snprintf(res->error, sizeof(res->error), "header too long or out of memory");
		goto out;
	}
	rc = perform(c, method, url, hl, body ? body : req->raw_content, blen, has_body, res);
out:
	curl_slist_free_all(hl);
	free(body);
	free(url);
	free(path);
	return rc;
}

int m2m_do(m2m_client *c, m2m_op op, const char *to, const char *from, int ty,
           const json_t *content, const char *query, m2m_result *res)
{
	m2m_request req;
	m2m_request_init(&req, op, to);
	req.from = from;
	req.ty = ty;
	req.content = content;
	req.query = query;
	return m2m_send(c, &req, res);
}

int m2m_send_raw(m2m_client *c, const char *method, const char *path_query,
                 const char *const *headers, const void *body, size_t len,
                 m2m_result *res)
{
	int rc = -1, ok = 1;
	struct curl_slist *hl = NULL;
	char *url = NULL;

	if (!res)
		return -1;
	memset(res, 0, sizeof(*res));
	if (!c || !method || !path_query) {
		snprintf(res->error, sizeof(res->error), "bad argument");
		return -1;
	}
	size_t ul = strlen(c->base) + strlen(path_query) + 1;
	url = malloc(ul);
	if (!url)
		goto out;
	snprintf(url, ul, "%s%s", c->base, path_query);
	for (size_t i = 0; headers && headers[i]; i++) {
		if (strncasecmp(headers[i], "X-M2M-RI:", 9) == 0) {
			const char *v = headers[i] + 9;
			while (*v == ' ')
				v++;
			free(res->sent_rqi);
			res->sent_rqi = strdup(v);
		}
		hl = hl_raw(hl, &ok, headers[i]);
	}
	if (!ok) {
		snprintf(res->error, sizeof(res->error), "header too long or out of memory");
		goto out;
	}
	rc = perform(c, method, url, hl, body, len, body != NULL, res);
out:
	curl_slist_free_all(hl);
	free(url);
	return rc;
}

bool m2m_name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

int m2m_register_ae(m2m_client *c, const char *cse_rn, const char *aei, const char *api, char *err,
                    size_t errlen)
{
	json_t *ae = json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", aei, "api", api, "rr", 0, "srv", "3");
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	const char *what = "registration at the CSE";
	if (!ae) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (m2m_do(c, M2M_OP_CREATE, cse_rn, aei, 2, ae, NULL, &r) == 0 && r.rsc == 2001) {
		rc = 0;
	} else if (r.http_status && (r.rsc == 4105 || r.rsc == 4117)) {
		/* registered before: the AE whose resource ID is the AE-ID must be ours */
		m2m_result_clear(&r);
		what = "registration exists but cannot be read";
		if (m2m_do(c, M2M_OP_RETRIEVE, aei, aei, -1, NULL, NULL, &r) == 0 && r.rsc == 2000)
			rc = 0;
	}
	if (rc != 0) {
		if (r.http_status == 0)
			snprintf(err, errlen, "%s: %s", what, r.error);
		else
			snprintf(err, errlen, "%s: rsc %d", what, r.rsc);
	}
	json_decref(ae);
	m2m_result_clear(&r);
	return rc;
}
