/*
 * http_server.h - the oneM2M HTTP binding (TS-0009) on libmicrohttpd.
 *
 * Maps each HTTP request to an m2m_request (method -> op, path -> to with
 * "/~" and "/_" prefixes, X-M2M-* headers, Content-Type ty=, query ->
 * rcn/drt/rt/fc/atrl), calls cse_handle() and writes the response with the
 * TS-0009 status mapping, X-M2M-RSC, X-M2M-RI and X-M2M-RVI on every
 * response. Limits come from cse/limits.h.
 *
 * TLS (http_opts.tls_*): HTTPS through libmicrohttpd + GnuTLS. With
 * tls_client_auth, a client must present a certificate issued by tls_ca or
 * its handshake fails; each request's X-M2M-Origin must then be one the
 * certificate may use (http_tls_origin_allowed(): 4106 otherwise) and the
 * request is marked fr_authenticated. An empty X-M2M-Origin, or "C"/"S" on
 * an AE Create (the CSE assigns the AE-ID), passes unauthenticated.
 */
#ifndef HEARTH_HTTP_SERVER_H
#define HEARTH_HTTP_SERVER_H

#include <stdbool.h>

#include "../cse/cse.h"

typedef struct http_server http_server;

typedef struct http_opts {
	const char *addr;      /* listen address (IPv4 or IPv6 literal) */
	int port;              /* 1..65535 */
	unsigned threads;      /* worker threads (>= 1) */
	unsigned conn_limit;   /* open connections; above it requests get HTTP 503 */
	unsigned conn_timeout; /* idle seconds before a connection is closed (0: default) */
	/* HTTPS (NULL or "" cert: plain HTTP). Paths of PEM files. */
	const char *tls_cert, *tls_key;
	const char *tls_ca;      /* trusted issuers of client certificates */
	bool tls_client_auth;    /* require a client certificate from tls_ca */
	const char *tls_originators; /* "CNpat=ORIGpat,..."; NULL/"": CN itself */
} http_opts;

/* Start listening. Returns 0, or -1 with a logged reason (address in use...). */
int http_server_start(http_server **out, cse *c, const http_opts *o);
/* Stop accepting, finish in-flight requests, free. Accepts NULL. */
void http_server_stop(http_server **s);

/* Pure translation, exposed for unit tests and fuzzers: build a request
 * primitive from HTTP pieces. path is the URL-decoded path, args the
 * URL-decoded query arguments in order (a key may repeat), hdr a lookup
 * callback returning a header value (case-insensitive name) or NULL.
 * req and rsp must be initialised (m2m_request_init / m2m_response_init);
 * the caller clears both whatever the result. Returns 0 with req filled and
 * rsp untouched, or, on a malformed request, -1 with rsp holding the error
 * (rsc 4000, 4015 media type, 5207 Accept, 5001 unsupported query
 * parameter; pc {"m2m:dbg":msg}); rsp->rqi / rsp->rvi are filled whenever
 * X-M2M-RI / X-M2M-RVI were readable. Query mapping: rcn, drt, rt -> req;
 * filter criteria -> req->fc (short names, integers as JSON integers,
 * timestamps as strings, unknown <sn>=<val> -> fc.atr); atrl (Retrieve only)
 * -> pc {"m2m:atrl":[...]}; rids -> req->rids; list values split on '+'
 * and ' '. Limits: HL_MAX_URL, HL_MAX_QUERY_ARGS, HL_MAX_HEADER, HL_MAX_ID
 * (to, fr, rqi), HL_MAX_BODY, HL_MAX_JSON_DEPTH, HL_MAX_FILTER_VALS. */
typedef struct http_kv { const char *k, *v; } http_kv;
typedef const char *(*http_header_fn)(void *ctx, const char *name);
int http_to_request(const char *method, const char *path,
                    const http_kv *args, size_t nargs,
                    http_header_fn hdr, void *hctx, const char *body, size_t body_len,
                    m2m_request *req, m2m_response *rsp);

/* Split a raw query string in place ('&' and '=' become NUL, %XX is
 * decoded except %00 and malformed escapes, which stay literal; '+' is
 * kept, since oneM2M uses it as a list separator; empty segments are
 * skipped; a key without '=' gets the value "") into at most max pairs
 * pointing into raw. Returns the count, or -1 when there are more than max
 * (out then holds the first max). For tests and fuzzers. */
int http_parse_query(char *raw, http_kv *out, size_t max);

#endif
