/*
 * m2m_client.h - a small oneM2M HTTP/JSON client (TS-0009 binding) on
 * libcurl + jansson.
 *
 * Design note
 *   One m2m_client holds a base URL ("http://127.0.0.1:8080") and a counter
 *   for request identifiers. Every call builds one HTTP request from a
 *   m2m_request (the oneM2M request primitive, reduced to what an AE sends),
 *   performs it with a bounded timeout (10 s total, 5 s connect) and fills a
 *   m2m_result (the response primitive as seen on the wire). A client may be
 *   used from several threads at once: the only shared state is an atomic
 *   counter and a one-slot cache of a curl handle guarded by a mutex.
 *
 *   Addressing (TS-0009 6.2): the request `to` is mapped to the HTTP path:
 *     "cse-in/ae"            -> "/cse-in/ae"            (CSE-relative)
 *     "/id-in/cse-in/ae"     -> "/~/id-in/cse-in/ae"    (SP-relative)
 *     "//sp/id-in/cse-in/ae" -> "/_/sp/id-in/cse-in/ae" (absolute)
 *   A "#attr" suffix is never sent; it becomes the query "atrl=attr".
 *
 *   Headers sent by default: X-M2M-Origin (unless from == NULL),
 *   X-M2M-RI (generated unless rqi is given), X-M2M-RVI ("4" unless rvi is
 *   given), Accept: application/json, and Content-Type
 *   ("application/json;ty=N" for Create, "application/json" otherwise) when
 *   there is a body. An extra header with the same name replaces the default
 *   one; an extra header "Name:" (empty value, libcurl convention) removes
 *   it, "Name;" sends it empty.
 *
 * Ownership
 *   m2m_client_new() returns a client freed by m2m_client_free(&c), which
 *   NULLs the pointer. m2m_send()/m2m_send_raw() never take ownership of
 *   anything in the request; they fill *res, which the caller releases with
 *   m2m_result_clear() (also safe on a zeroed or half-filled result).
 *
 * Return values
 *   m2m_send()/m2m_send_raw() return 0 when an HTTP response was received
 *   (whatever its status) and -1 on a transport failure or bad argument;
 *   then res->http_status is 0 and res->error holds the reason.
 */
#ifndef HEARTH_M2M_CLIENT_H
#define HEARTH_M2M_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

typedef struct m2m_client m2m_client;

typedef enum m2m_op {
	M2M_OP_CREATE = 1,
	M2M_OP_RETRIEVE = 2,
	M2M_OP_UPDATE = 3,
	M2M_OP_DELETE = 4,
	M2M_OP_NOTIFY = 5
} m2m_op;

#define M2M_CLIENT_TIMEOUT_MS 10000L
#define M2M_CLIENT_MAX_BODY (64u * 1024u * 1024u) /* response bytes kept */

typedef struct m2m_request {
	m2m_op op;
	const char *to;           /* target address (see above); required */
	const char *from;         /* NULL: no X-M2M-Origin; "": empty header */
	int ty;                   /* resource type for Create, -1 for none */
	const json_t *content;    /* body, serialized compactly; or NULL */
	const char *raw_content;  /* body bytes when content == NULL (may be malformed) */
	size_t raw_len;           /* length of raw_content; 0 = strlen(raw_content) */
	const char *query;        /* without '?', e.g. "rcn=2&lim=3"; or NULL */
	const char *const *headers; /* NULL-terminated "Name: value" lines; or NULL */
	const char *rvi;          /* NULL: "4" */
	const char *rqi;          /* NULL: a unique generated value */
} m2m_request;

typedef struct m2m_result {
	int http_status;          /* 0 if no response */
	int rsc;                  /* X-M2M-RSC, 0 if missing or not a number */
	char *rqi;                /* X-M2M-RI of the response, or NULL */
	char *rvi;                /* X-M2M-RVI of the response, or NULL */
	char *origin;             /* X-M2M-Origin of the response, or NULL */
	char *content_location;   /* Content-Location, or NULL */
	char *content_type;       /* Content-Type, or NULL */
	json_t *headers;          /* object: lower-case header name -> value */
	json_t *body;             /* parsed body, NULL if empty or not JSON */
	char *raw_body;           /* body bytes, NUL-terminated ("" if none) */
	size_t raw_len;
	/* what was sent, for diagnostics */
	char *method;
	char *url;
	char *sent_rqi;           /* X-M2M-RI sent, NULL if none */
	char *sent_body;          /* NUL-terminated copy (truncated to 4 KiB) */
	char error[256];          /* transport error text, "" if none */
} m2m_result;

/* Returns NULL on allocation failure. base_url must not end with '/'
 * (a trailing '/' is dropped). */
m2m_client *m2m_client_new(const char *base_url);
void m2m_client_free(m2m_client **c);
const char *m2m_client_base_url(const m2m_client *c);

/* TLS for an https:// base URL: ca_file (PEM) verifies the server instead
 * of the system store, cert_file/key_file (PEM) are the client's
 * certificate and key. NULL leaves that one unset (libcurl's default).
 * The strings are copied; call before the client is shared between
 * threads. Returns 0, or -1 on allocation failure. */
int m2m_client_set_tls(m2m_client *c, const char *ca_file, const char *cert_file,
                       const char *key_file);

/* Zero the request and set op, to, ty = -1. */
void m2m_request_init(m2m_request *req, m2m_op op, const char *to);

int m2m_send(m2m_client *c, const m2m_request *req, m2m_result *res);

/* Convenience form of m2m_send() for the common case. */
int m2m_do(m2m_client *c, m2m_op op, const char *to, const char *from, int ty,
           const json_t *content, const char *query, m2m_result *res);

/* Raw mode: send exactly `method` to base_url + path_query (which should
 * start with '/'; it is not rewritten), the given header lines and body
 * bytes (body may be NULL). No default oneM2M headers are added. */
int m2m_send_raw(m2m_client *c, const char *method, const char *path_query,
                 const char *const *headers, const void *body, size_t len,
                 m2m_result *res);

/* Value of a response header (case-insensitive name), or NULL. */
const char *m2m_result_header(const m2m_result *res, const char *name);

void m2m_result_clear(m2m_result *res);

/* Map a `to` address to the HTTP path (without query) into buf.
 * Returns 0, or -1 if it does not fit. */
int m2m_to_path(const char *to, char *buf, size_t n);

/* A resource name, CSE-ID or AE-ID part: 1..max bytes of [A-Za-z0-9._-],
 * not starting with '.'. */
bool m2m_name_ok(const char *s, size_t max);

/* Register an AE under the CSEBase cse_rn with resource name and AE-ID
 * aei (api, rr false, srv ["3"]). An AE already registered under that
 * AE-ID (4105 or 4117) is reused after checking that a retrieve of aei
 * answers 2000. 0, or -1 with "what: <transport error>" / "what: rsc N"
 * in err. */
int m2m_register_ae(m2m_client *c, const char *cse_rn, const char *aei, const char *api, char *err,
                    size_t errlen);

#endif
