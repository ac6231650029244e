/*
 * http_server.h - the oneM2M HTTP binding (TS-0009) on libmicrohttpd.
 *
 * Maps each HTTP request to an m2m_request (method -> op, path -> to with
 * "/~" and "/_" prefixes, X-M2M-* headers, Content-Type ty=, query ->
 * rcn/drt/rt/fc/atrl), calls cse_handle() and writes the response with the
 * TS-0009 status mapping, X-M2M-RSC, X-M2M-RI and X-M2M-RVI on every
 * response. Limits come from cse/limits.h.
 */
#ifndef HEARTH_HTTP_SERVER_H
#define HEARTH_HTTP_SERVER_H

#include "../cse/cse.h"

typedef struct http_server http_server;

/* Start listening on addr:port (port 0 is not allowed). Returns 0 or -1
 * with a logged reason. threads: worker thread count (>= 1). */
int http_server_start(http_server **out, cse *c, const char *addr, int port,
                      unsigned threads, unsigned conn_limit);
/* Stop accepting, finish in-flight requests, free. Accepts NULL. */
void http_server_stop(http_server **s);

/* Pure translation, exposed for unit tests and fuzzers: build a request
 * primitive from HTTP pieces. path is the URL-decoded path, args the
 * URL-decoded query arguments in order (a key may repeat), hdr a lookup
 * callback returning a header value (case-insensitive name) or NULL.
 * On a malformed request returns -1 and fills rsp with the error (4000,
 * 4015, ...); rsp->rqi is filled whenever X-M2M-RI was readable. */
typedef struct http_kv { const char *k, *v; } http_kv;
typedef const char *(*http_header_fn)(void *ctx, const char *name);
int http_to_request(const char *method, const char *path,
                    const http_kv *args, size_t nargs,
                    http_header_fn hdr, void *hctx, const char *body, size_t body_len,
                    m2m_request *req, m2m_response *rsp);

/* Split a raw query string in place ('&' and '=' become NUL, %XX is
 * decoded; '+' is kept, since oneM2M uses it as a list separator) into at
 * most max pairs. Returns the count, or -1 when
 * there are more than max. For tests and fuzzers. */
int http_parse_query(char *raw, http_kv *out, size_t max);

#endif
