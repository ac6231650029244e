/*
 * http_server.c - the oneM2M HTTP binding (TS-0009) on libmicrohttpd.
 *
 * Two halves:
 *  - http_to_request()/http_parse_query(): a pure translation from HTTP
 *    pieces to an m2m_request. No I/O, no globals, so unit tests and fuzzers
 *    drive it directly. Every malformed input is answered here with the code
 *    and message recorded once in the response (m2m_error), never passed on.
 *  - the MHD glue: one http_ctx per HTTP request, created by the URI log
 *    callback (which is the only place MHD shows the raw query string with
 *    '+' intact) and freed by the completion callback. The body is
 *    accumulated up to HL_MAX_BODY; past that it is discarded (never
 *    buffered) and the request answered 4000. cse_handle() runs on the MHD
 *    worker thread that owns the connection.
 *
 * Invariants: every response carries X-M2M-RSC and X-M2M-RI (empty when the
 * request had none); an error response carries {"m2m:dbg":"..."}; nothing
 * here interprets resources - that is the core's job (fc is passed as a JSON
 * object for filter_parse()).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <stdatomic.h>

#include "http_server.h"
#include "codec_json.h"
#include "codec_xml.h"
#include "http_tls.h"
#include "../cse/config.h"
#include "../cse/limits.h"
#include "../cse/log.h"
#include "../cse/rsc.h"

/* Per-connection memory pool of MHD: must hold the request line and all
 * headers, so that our own limits (HL_MAX_URL, HL_MAX_HEADER) are the ones
 * that trigger, with a oneM2M answer, rather than MHD's bare 414/431. */
#define HTTP_CONN_MEMORY (64u * 1024u)

struct http_server {
	struct MHD_Daemon *d;
	cse *c;
	atomic_uint active;   /* open connections */
	unsigned soft_limit;  /* above it, new requests get 503 */
	/* TLS: PEM bytes handed to MHD (kept until the daemon stops) */
	char *tls_cert, *tls_key, *tls_ca;
	bool client_auth;
	char *originators;    /* rules for http_tls_origin_allowed(), or NULL */
};

/* Per-connection result of client authentication (socket context),
 * computed on the connection's first request. */
typedef struct http_conn_tls {
	bool checked, ok;
	char cn[HTTP_TLS_MAX_CN];
	char why[160];
} http_conn_tls;

/* ------------------------------------------------------------------ */
/* Small parsers                                                        */
/* ------------------------------------------------------------------ */

/* Strict decimal integer: optional '-', digits, nothing else. */
static int parse_i64(const char *s, int64_t *out)
{
	const char *p = s;
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return -1;
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int parse_int_range(const char *s, int64_t min, int64_t max, int *out)
{
	int64_t v;

	if (parse_i64(s, &v) != 0 || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Trim optional whitespace in place; returns the new start. */
static char *trim(char *s)
{
	size_t n;

	while (is_ows(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_ows(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* ------------------------------------------------------------------ */
/* Headers                                                              */
/* ------------------------------------------------------------------ */

/*
 * Look up a header and enforce HL_MAX_HEADER (and max, when non-zero).
 * Returns 0 with *out the value or NULL when absent; -1 with the error
 * recorded in rsp.
 */
static int hdr_get(http_header_fn hdr, void *hctx, const char *name, size_t max,
                   const char **out, m2m_response *rsp)
{
	const char *v = hdr ? hdr(hctx, name) : NULL;
	size_t n;

	*out = NULL;
	if (!v)
		return 0;
	n = strlen(v);
	if (n > HL_MAX_HEADER) {
		m2m_error(rsp, RSC_BAD_REQUEST, "header %s longer than %u bytes", name,
		          HL_MAX_HEADER);
		return -1;
	}
	if (max && n > max) {
		m2m_error(rsp, RSC_BAD_REQUEST, "header %s longer than %zu bytes", name, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* hdr_get() then a heap copy into *dst (left NULL when absent). */
static int hdr_copy(http_header_fn hdr, void *hctx, const char *name, size_t max,
                    char **dst, m2m_response *rsp)
{
	const char *v;

	if (hdr_get(hdr, hctx, name, max, &v, rsp) != 0)
		return -1;
	if (v)
		*dst = m2m_strdup(v);
	return 0;
}

static const char *const json_media[] = {
	"application/json",
	"application/vnd.onem2m-res+json",
	"application/vnd.onem2m-ntfy+json",
	"application/vnd.onem2m-preq+json",
};

static const char *const xml_media[] = {
	"application/xml",
	"application/vnd.onem2m-res+xml",
	"application/vnd.onem2m-ntfy+xml",
	"text/xml",
};

/* Media type of a body we can decode. */
enum { MT_OTHER = 0, MT_JSON = 1, MT_XML = 2 };

static int media_kind(const char *mt)
{
	for (size_t i = 0; i < sizeof json_media / sizeof json_media[0]; i++)
		if (strcasecmp(mt, json_media[i]) == 0)
			return MT_JSON;
	for (size_t i = 0; i < sizeof xml_media / sizeof xml_media[0]; i++)
		if (strcasecmp(mt, xml_media[i]) == 0)
			return MT_XML;
	return MT_OTHER;
}

/*
 * Content-Type: "<type>/<subtype> *( OWS ';' OWS name=value )". Sets
 * *kind (MT_*) and *ty (-1 when absent). Parameters other than ty
 * (charset...) are ignored. Returns 0 or -1 (4000 recorded).
 */
static int content_type_parse(const char *ct, int *kind, int *ty, m2m_response *rsp)
{
	char *buf = m2m_strdup(ct);
	char *p = buf, *semi;
	int rc = -1;

	*kind = MT_OTHER;
	*ty = -1;
	semi = strchr(p, ';');
	if (semi)
		*semi = '\0';
	*kind = media_kind(trim(p));
	while (semi) {
		char *param = semi + 1, *eq, *name, *val;
		size_t vn;

		semi = strchr(param, ';');
		if (semi)
			*semi = '\0';
		eq = strchr(param, '=');
		if (!eq)
			continue; /* a bare token is not a parameter we know */
		*eq = '\0';
		name = trim(param);
		val = trim(eq + 1);
		vn = strlen(val);
		if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') {
			val[vn - 1] = '\0';
			val++;
		}
		if (strcasecmp(name, "ty") != 0)
			continue;
		if (*ty != -1) {
			m2m_error(rsp, RSC_BAD_REQUEST, "ty given twice in Content-Type");
			goto out;
		}
		if (parse_int_range(val, 1, INT_MAX, ty) != 0) {
			*ty = -1;
			m2m_error(rsp, RSC_BAD_REQUEST,
			          "invalid ty in Content-Type: must be a positive integer");
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* What an Accept header asks for. */
enum { ACC_NONE = 0, ACC_JSON, ACC_XML, ACC_ANY };

/* q value of an Accept element's parameters (1000 = 1.0; default 1). */
static int accept_q(char *params)
{
	char *p = params;

	while (p) {
		char *next = strchr(p, ';'), *eq, *val;

		if (next)
			*next++ = '\0';
		eq = strchr(p, '=');
		if (eq) {
			*eq = '\0';
			if (strcasecmp(trim(p), "q") == 0) {
				val = trim(eq + 1);
				if (val[0] == '0' && strspn(val + 1, ".0") == strlen(val + 1))
					return 0;
				if (val[0] == '0' && val[1] == '.' && isdigit((unsigned char)val[2])) {
					int q = (val[2] - '0') * 100;
					if (isdigit((unsigned char)val[3]))
						q += (val[3] - '0') * 10;
					if (q == 0)
						q = 1; /* 0.00x: tiny but not zero */
					return q;
				}
				return 1000;
			}
		}
		p = next;
	}
	return 1000;
}

/*
 * The serialization an Accept header prefers: the acceptable element with
 * the highest q (the first one on a tie). JSON: application/json or any
 * application/...+json; XML: application/xml, text/xml or
 * application/vnd.onem2m-...+xml; ACC_ANY: a wildcard (*\/\* or
 * application/\*), and an absent or empty header. ACC_NONE when nothing we
 * produce is acceptable.
 */
static int accept_choose(const char *acc)
{
	char *buf, *p;
	int best = ACC_NONE, best_q = 0, any = 0;

	if (!acc)
		return ACC_ANY;
	buf = m2m_strdup(acc);
	p = buf;
	while (p) {
		char *next = strchr(p, ','), *semi, *mt;
		size_t n;
		int kind = ACC_NONE, q = 1000;

		if (next)
			*next++ = '\0';
		semi = strchr(p, ';');
		if (semi)
			*semi++ = '\0';
		mt = trim(p);
		p = next;
		if (!*mt)
			continue;
		any = 1;
		if (semi)
			q = accept_q(semi);
		if (q == 0)
			continue;
		n = strlen(mt);
		if (strcmp(mt, "*/*") == 0 || strcasecmp(mt, "application/*") == 0)
			kind = ACC_ANY;
		else if (strcasecmp(mt, "application/json") == 0 ||
		         (strncasecmp(mt, "application/", 12) == 0 && n > 5 &&
		          strcasecmp(mt + n - 5, "+json") == 0))
			kind = ACC_JSON;
		else if (strcasecmp(mt, "application/xml") == 0 || strcasecmp(mt, "text/xml") == 0 ||
		         (strncasecmp(mt, "application/vnd.onem2m-", 23) == 0 && n > 4 &&
		          strcasecmp(mt + n - 4, "+xml") == 0))
			kind = ACC_XML;
		if (kind != ACC_NONE && q > best_q) {
			best = kind;
			best_q = q;
		}
	}
	free(buf);
	return any ? best : ACC_ANY;
}

/* Media kind of the body a request carries (MT_OTHER when none or not
 * readable); never records an error. */
static int body_kind(http_header_fn hdr, void *hctx, const char *method, size_t body_len)
{
	const char *ct = hdr ? hdr(hctx, "Content-Type") : NULL;
	char mt[64];
	size_t n;

	if (!method || body_len == 0 || (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0))
		return MT_OTHER;
	if (!ct)
		return MT_JSON; /* read as JSON, see http_to_request() */
	n = strcspn(ct, ";");
	if (n >= sizeof mt)
		return MT_OTHER;
	memcpy(mt, ct, n);
	mt[n] = '\0';
	return media_kind(trim(mt));
}

/* The serialization of the answer: Accept first; a wildcard or nothing
 * acceptable follows the body; JSON otherwise. */
static m2m_fmt response_fmt(http_header_fn hdr, void *hctx, const char *method, size_t body_len)
{
	const char *acc = hdr ? hdr(hctx, "Accept") : NULL;
	int a = accept_choose(acc && strlen(acc) <= HL_MAX_HEADER ? acc : NULL);

	if (a == ACC_XML)
		return M2M_FMT_XML;
	if (a == ACC_JSON)
		return M2M_FMT_JSON;
	return body_kind(hdr, hctx, method, body_len) == MT_XML ? M2M_FMT_XML : M2M_FMT_JSON;
}

/* ------------------------------------------------------------------ */
/* Query                                                                */
/* ------------------------------------------------------------------ */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode %XX in place. Malformed escapes and %00 (which would cut the
 * string) are kept literally. '+' is kept: it is a oneM2M list separator. */
static void pct_decode(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		int hi, lo;

		if (*r == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 &&
		    (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int http_parse_query(char *raw, http_kv *out, size_t max)
{
	size_t n = 0;
	char *p = raw;

	if (!raw)
		return 0;
	while (*p) {
		char *amp = strchr(p, '&');
		char *end = amp ? amp : p + strlen(p);
		char *eq;

		if (amp)
			*amp = '\0';
		if (end != p) {
			if (n == max)
				return -1;
			eq = strchr(p, '=');
			if (eq) {
				*eq = '\0';
				out[n].v = eq + 1;
			} else {
				out[n].v = end; /* the NUL ending this segment: "" */
			}
			out[n].k = p;
			pct_decode(p);
			if (eq)
				pct_decode(eq + 1);
			n++;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	if (n > INT_MAX)
		return -1;
	return (int)n;
}

typedef enum qkind {
	Q_REQ_INT,     /* member of m2m_request, 0..INT_MAX */
	Q_FC_INT,      /* integer member of fc */
	Q_FC_STR,      /* string member of fc (timestamps) */
	Q_FC_INT_LIST, /* fc array of integers */
	Q_FC_STR_LIST, /* fc array of strings */
	Q_ATRL,        /* pc {"m2m:atrl":[...]} */
	Q_RIDS,        /* req->rids */
	Q_BOOL_IGNORED,/* validated boolean without a primitive member (da) */
	Q_UNSUPPORTED, /* a TS-0009 parameter Hearth does not implement: 5001 */
} qkind;

typedef struct qparam {
	const char *name;
	qkind kind;
	size_t off; /* offsetof(m2m_request, member) for Q_REQ_INT */
} qparam;

static const qparam qparams[] = {
	{ "rcn", Q_REQ_INT, offsetof(m2m_request, rcn) },
	{ "drt", Q_REQ_INT, offsetof(m2m_request, drt) },
	{ "rt", Q_REQ_INT, offsetof(m2m_request, rtv) },
	{ "da", Q_BOOL_IGNORED, 0 },
	{ "fu", Q_FC_INT, 0 },
	{ "fo", Q_FC_INT, 0 },
	{ "lim", Q_FC_INT, 0 },
	{ "ofst", Q_FC_INT, 0 },
	{ "lvl", Q_FC_INT, 0 },
	{ "sts", Q_FC_INT, 0 },
	{ "stb", Q_FC_INT, 0 },
	{ "sza", Q_FC_INT, 0 },
	{ "szb", Q_FC_INT, 0 },
	{ "cra", Q_FC_STR, 0 },
	{ "crb", Q_FC_STR, 0 },
	{ "ms", Q_FC_STR, 0 },
	{ "us", Q_FC_STR, 0 },
	{ "exa", Q_FC_STR, 0 },
	{ "exb", Q_FC_STR, 0 },
	{ "ty", Q_FC_INT_LIST, 0 },
	{ "lbl", Q_FC_STR_LIST, 0 },
	{ "cty", Q_FC_STR_LIST, 0 },
	{ "atrl", Q_ATRL, 0 },
	{ "rids", Q_RIDS, 0 },
	/* Known to TS-0009 / ACME but not implemented: refusing is honest,
	 * reading them as `atr` conditions would silently change results. */
	{ "rp", Q_UNSUPPORTED, 0 },
	{ "tids", Q_UNSUPPORTED, 0 },
	{ "ltids", Q_UNSUPPORTED, 0 },
	{ "tqi", Q_UNSUPPORTED, 0 },
	{ "asi", Q_UNSUPPORTED, 0 },
	{ "auri", Q_UNSUPPORTED, 0 },
	{ "sqi", Q_UNSUPPORTED, 0 },
	{ "smf", Q_UNSUPPORTED, 0 },
	{ "cfs", Q_UNSUPPORTED, 0 },
	{ "cfq", Q_UNSUPPORTED, 0 },
	{ "lbq", Q_UNSUPPORTED, 0 },
	{ "arp", Q_UNSUPPORTED, 0 },
	{ "chty", Q_UNSUPPORTED, 0 },
	{ "pty", Q_UNSUPPORTED, 0 },
	{ "clbl", Q_UNSUPPORTED, 0 },
	{ "palb", Q_UNSUPPORTED, 0 },
	{ "gmty", Q_UNSUPPORTED, 0 },
	{ "geom", Q_UNSUPPORTED, 0 },
	{ "gsf", Q_UNSUPPORTED, 0 },
};

#define QPARAM_COUNT (sizeof qparams / sizeof qparams[0])

static const qparam *qparam_find(const char *k)
{
	for (size_t i = 0; i < QPARAM_COUNT; i++)
		if (strcmp(qparams[i].name, k) == 0)
			return &qparams[i];
	return NULL;
}

/* An attribute short name used as an `atr` condition. */
static int valid_attr_name(const char *k)
{
	if (!*k)
		return 0;
	for (const char *p = k; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

/* The array `name` of obj, created on first use. */
static json_t *obj_array(json_t *obj, const char *name)
{
	json_t *a = json_object_get(obj, name);

	if (!a) {
		a = json_array();
		json_object_set_new(obj, name, a);
	}
	return a;
}

/* Append the '+'/' '-separated items of v to arr (integers when ints),
 * at most max entries in arr. Returns 0 or -1 with the error recorded. */
static int list_append(json_t *arr, const char *name, const char *v, int ints, size_t max,
                       m2m_response *rsp)
{
	char *buf = m2m_strdup(v);
	char *p = buf;
	int rc = -1, added = 0;

	while (*p) {
		size_t n = strcspn(p, "+ ");
		char *next = p + n;

		if (*next)
			*next++ = '\0';
		if (n > 0) {
			if (json_array_size(arr) >= max) {
				m2m_error(rsp, RSC_BAD_REQUEST,
				          "too many values for query parameter '%s' (max %zu)", name, max);
				goto out;
			}
			if (ints) {
				int64_t iv;
				if (parse_i64(p, &iv) != 0) {
					m2m_error(rsp, RSC_BAD_REQUEST,
					          "query parameter '%s' must be a list of integers", name);
					goto out;
				}
				json_array_append_new(arr, json_integer((json_int_t)iv));
			} else {
				json_array_append_new(arr, json_string(p));
			}
			added = 1;
		}
		p = next;
	}
	if (!added) {
		m2m_error(rsp, RSC_BAD_REQUEST, "empty value for query parameter '%s'", name);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Map the query arguments onto req (rcn, drt, rtv, fc, pc m2m:atrl, rids). */
static int query_apply(const http_kv *args, size_t nargs, int op, m2m_request *req,
                       m2m_response *rsp)
{
	unsigned char seen[QPARAM_COUNT] = { 0 };
	json_t *fc = json_object();
	json_t *atrl = NULL;
	int rc = -1;

	for (size_t i = 0; i < nargs; i++) {
		const char *k = args[i].k ? args[i].k : "";
		const char *v = args[i].v ? args[i].v : "";
		const qparam *q = qparam_find(k);
		int64_t iv;

		if (!q) {
			if ((k[0] == 'c' || k[0] == 'p') && k[1] == '.') {
				m2m_error(rsp, RSC_NOT_IMPLEMENTED,
				          "query parameter '%s' (child/parent attribute filter) is not supported",
				          k);
				goto out;
			}
			if (!valid_attr_name(k)) {
				m2m_error(rsp, RSC_BAD_REQUEST, "invalid query parameter name '%.64s'", k);
				goto out;
			}
			if (json_array_size(obj_array(fc, "atr")) >= HL_MAX_FILTER_VALS) {
				m2m_error(rsp, RSC_BAD_REQUEST, "too many attribute conditions (max %u)",
				          HL_MAX_FILTER_VALS);
				goto out;
			}
			json_array_append_new(obj_array(fc, "atr"),
			                      json_pack("{s:s,s:s}", "nm", k, "val", v));
			continue;
		}
		size_t qi = (size_t)(q - qparams);
		if (q->kind != Q_FC_INT_LIST && q->kind != Q_FC_STR_LIST && q->kind != Q_ATRL &&
		    q->kind != Q_RIDS) {
			if (seen[qi]) {
				m2m_error(rsp, RSC_BAD_REQUEST, "query parameter '%s' given twice", k);
				goto out;
			}
			seen[qi] = 1;
		}
		switch (q->kind) {
		case Q_REQ_INT:
			if (parse_int_range(v, 0, INT_MAX, (int *)((char *)req + q->off)) != 0) {
				m2m_error(rsp, RSC_BAD_REQUEST,
				          "query parameter '%s' must be a non-negative integer", k);
				goto out;
			}
			break;
		case Q_FC_INT:
			if (parse_i64(v, &iv) != 0) {
				m2m_error(rsp, RSC_BAD_REQUEST, "query parameter '%s' must be an integer",
				          k);
				goto out;
			}
			json_object_set_new(fc, k, json_integer((json_int_t)iv));
			break;
		case Q_FC_STR:
			if (!*v) {
				m2m_error(rsp, RSC_BAD_REQUEST, "empty value for query parameter '%s'", k);
				goto out;
			}
			json_object_set_new(fc, k, json_string(v));
			break;
		case Q_FC_INT_LIST:
			if (list_append(obj_array(fc, k), k, v, 1, HL_MAX_FILTER_VALS, rsp) != 0)
				goto out;
			break;
		case Q_FC_STR_LIST:
			if (list_append(obj_array(fc, k), k, v, 0, HL_MAX_FILTER_VALS, rsp) != 0)
				goto out;
			break;
		case Q_ATRL:
			if (op != M2M_OP_RETRIEVE) {
				m2m_error(rsp, RSC_BAD_REQUEST,
				          "query parameter 'atrl' is only allowed in a Retrieve");
				goto out;
			}
			if (!atrl)
				atrl = json_array();
			if (list_append(atrl, k, v, 0, HL_MAX_LIST, rsp) != 0)
				goto out;
			break;
		case Q_RIDS:
			if (!req->rids)
				req->rids = json_array();
			if (list_append(req->rids, k, v, 0, HL_MAX_LIST, rsp) != 0)
				goto out;
			break;
		case Q_BOOL_IGNORED:
			if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0 && strcmp(v, "1") != 0 &&
			    strcmp(v, "0") != 0) {
				m2m_error(rsp, RSC_BAD_REQUEST,
				          "query parameter '%s' must be true, false, 1 or 0", k);
				goto out;
			}
			break;
		case Q_UNSUPPORTED:
			m2m_error(rsp, RSC_NOT_IMPLEMENTED, "query parameter '%s' is not supported", k);
			goto out;
		}
	}
	if (json_object_size(fc) > 0) {
		req->fc = fc;
		fc = NULL;
	}
	if (atrl) {
		json_decref(req->pc);
		req->pc = json_pack("{s:o}", "m2m:atrl", atrl);
		atrl = NULL;
	}
	rc = 0;
out:
	json_decref(fc);
	json_decref(atrl);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Request translation                                                  */
/* ------------------------------------------------------------------ */

/* "/x" -> "x", "/~/x" -> "/x", "/_/x" -> "//x" (TS-0009 6.2.2). */
static int path_to_target(const char *path, char **to, m2m_response *rsp)
{
	const char *s;
	size_t n;
	int absolute = 0;

	if (!path || path[0] != '/') {
		m2m_error(rsp, RSC_BAD_REQUEST, "request path must start with '/'");
		return -1;
	}
	s = path + 1;
	if (s[0] == '~' && s[1] == '/')
		s++;                 /* keep the '/' after '~' */
	else if (s[0] == '_' && s[1] == '/') {
		s++;                 /* '/' + "/x" below */
		absolute = 1;
	}
	n = strlen(s);
	if (n == 0 || (s != path + 1 && n == 1)) {
		m2m_error(rsp, RSC_BAD_REQUEST, "request path names no target resource");
		return -1;
	}
	if (n + (size_t)absolute > HL_MAX_ID) {
		m2m_error(rsp, RSC_BAD_REQUEST, "target longer than %u bytes", HL_MAX_ID);
		return -1;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			m2m_error(rsp, RSC_BAD_REQUEST, "control character in request path");
			return -1;
		}
	}
	if (absolute) {
		*to = malloc(n + 2);
		if (!*to)
			abort(); /* as m2m_strdup: out of memory */
		(*to)[0] = '/';
		memcpy(*to + 1, s, n + 1);
	} else {
		*to = m2m_strdup(s);
	}
	return 0;
}

/* X-M2M-RTU: notification URIs joined with '&'. */
static int rtu_parse(const char *v, json_t **out, m2m_response *rsp)
{
	json_t *arr = json_array();
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, "&");
		if (n > 0) {
			if (json_array_size(arr) >= HL_MAX_LIST) {
				json_decref(arr);
				m2m_error(rsp, RSC_BAD_REQUEST, "X-M2M-RTU has more than %u entries",
				          HL_MAX_LIST);
				return -1;
			}
			json_array_append_new(arr, json_stringn(p, n));
		}
		p += n;
		if (*p)
			p++;
	}
	*out = arr;
	return 0;
}

int http_to_request(const char *method, const char *path,
                    const http_kv *args, size_t nargs,
                    http_header_fn hdr, void *hctx, const char *body, size_t body_len,
                    m2m_request *req, m2m_response *rsp)
{
	const char *v, *ctype = NULL;
	int rc = -1, is_post = 0, has_body_op = 0, kind = MT_JSON, ty = -1;
	size_t url_len;

	/* The answer's serialization first: errors below are answered in it. */
	req->fmt = response_fmt(hdr, hctx, method, body ? body_len : 0);
	req->raw_ok = req->fmt == M2M_FMT_JSON;

	/* RVI and RI first: every error answer below echoes them. */
	if (hdr_copy(hdr, hctx, "X-M2M-RVI", 0, &req->rvi, rsp) != 0)
		goto out;
	if (hdr_get(hdr, hctx, "X-M2M-RI", HL_MAX_ID, &v, rsp) != 0)
		goto out;
	if (!v || !*v) {
		m2m_error(rsp, RSC_BAD_REQUEST, "missing X-M2M-RI");
		goto out;
	}
	req->rqi = m2m_strdup(v);

	if (!method)
		method = "";
	if (strcmp(method, "POST") == 0) {
		is_post = has_body_op = 1;
	} else if (strcmp(method, "GET") == 0) {
		req->op = M2M_OP_RETRIEVE;
	} else if (strcmp(method, "PUT") == 0) {
		req->op = M2M_OP_UPDATE;
		has_body_op = 1;
	} else if (strcmp(method, "DELETE") == 0) {
		req->op = M2M_OP_DELETE;
	} else {
		m2m_error(rsp, RSC_BAD_REQUEST, "unsupported HTTP method '%.16s'", method);
		goto out;
	}

	url_len = path ? strlen(path) : 0;
	for (size_t i = 0; i < nargs; i++)
		url_len += (args[i].k ? strlen(args[i].k) : 0) +
		           (args[i].v ? strlen(args[i].v) : 0) + 2;
	if (url_len > HL_MAX_URL) {
		m2m_error(rsp, RSC_BAD_REQUEST, "request URL longer than %u bytes", HL_MAX_URL);
		goto out;
	}
	if (nargs > HL_MAX_QUERY_ARGS) {
		m2m_error(rsp, RSC_BAD_REQUEST, "more than %u query parameters",
		          HL_MAX_QUERY_ARGS);
		goto out;
	}
	if (path_to_target(path, &req->to, rsp) != 0)
		goto out;

	if (hdr_copy(hdr, hctx, "X-M2M-Origin", HL_MAX_ID, &req->fr, rsp) != 0 ||
	    hdr_copy(hdr, hctx, "X-M2M-OT", 0, &req->ot, rsp) != 0 ||
	    hdr_copy(hdr, hctx, "X-M2M-RET", 0, &req->rqet, rsp) != 0 ||
	    hdr_copy(hdr, hctx, "X-M2M-RST", 0, &req->rset, rsp) != 0 ||
	    hdr_copy(hdr, hctx, "X-M2M-OET", 0, &req->oet, rsp) != 0 ||
	    hdr_copy(hdr, hctx, "X-M2M-GID", 0, &req->gid, rsp) != 0 ||
	    hdr_copy(hdr, hctx, "X-M2M-VSI", 0, &req->vsi, rsp) != 0)
		goto out;
	if (hdr_get(hdr, hctx, "X-M2M-EC", 0, &v, rsp) != 0)
		goto out;
	if (v && parse_int_range(v, 0, INT_MAX, &req->ec) != 0) {
		req->ec = -1;
		m2m_error(rsp, RSC_BAD_REQUEST, "X-M2M-EC must be a non-negative integer");
		goto out;
	}
	if (hdr_get(hdr, hctx, "X-M2M-RTU", 0, &v, rsp) != 0)
		goto out;
	if (v && rtu_parse(v, &req->rtu, rsp) != 0)
		goto out;

	if (hdr_get(hdr, hctx, "Accept", 0, &v, rsp) != 0)
		goto out;
	if (v && accept_choose(v) == ACC_NONE) {
		m2m_error(rsp, RSC_NOT_ACCEPTABLE,
		          "cannot produce any type in Accept; supported: application/json, "
		          "application/xml");
		goto out;
	}

	/* Content-Type matters only where a body does (POST, PUT); a body on
	 * GET/DELETE is ignored, and so is its Content-Type. */
	if (has_body_op) {
		if (hdr_get(hdr, hctx, "Content-Type", 0, &ctype, rsp) != 0)
			goto out;
		if (ctype && content_type_parse(ctype, &kind, &ty, rsp) != 0)
			goto out;
		if (is_post)
			req->op = ty > 0 ? M2M_OP_CREATE : M2M_OP_NOTIFY;
		req->ty = ty;
		if (body && body_len > 0) {
			char err[256];

			if (body_len > HL_MAX_BODY) {
				m2m_error(rsp, RSC_BAD_REQUEST, "request body larger than %u bytes",
				          HL_MAX_BODY);
				goto out;
			}
			/* No Content-Type at all: read the body as JSON. */
			if (ctype && kind == MT_OTHER) {
				char mt[64];
				size_t n = strcspn(ctype, ";");
				if (n >= sizeof mt)
					n = sizeof mt - 1;
				memcpy(mt, ctype, n);
				mt[n] = '\0';
				m2m_error(rsp, RSC_UNSUPPORTED_MEDIA_TYPE,
				          "unsupported media type '%s'; use application/json or "
				          "application/xml", trim(mt));
				goto out;
			}
			if (ctype && kind == MT_XML) {
				if (codec_xml_decode(body, body_len, &req->pc, err, sizeof err) != 0) {
					m2m_error(rsp, RSC_BAD_REQUEST, "invalid XML content: %s", err);
					goto out;
				}
			} else if (codec_json_decode(body, body_len, &req->pc, err, sizeof err) != 0) {
				m2m_error(rsp, RSC_BAD_REQUEST, "invalid content: %s", err);
				goto out;
			}
		}
	}

	if (query_apply(args, nargs, req->op, req, rsp) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		m2m_response_echo(rsp, req);
	return rc;
}

/* ------------------------------------------------------------------ */
/* libmicrohttpd glue                                                   */
/* ------------------------------------------------------------------ */

typedef struct http_ctx {
	char *uri;        /* raw request target (path?query), NULL when too long */
	int uri_too_long;
	int started;      /* the access handler has seen the headers */
	int too_big;      /* body exceeded HL_MAX_BODY; the rest is discarded */
	char *body;
	size_t len, cap;
} http_ctx;

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_warn("http: %s", buf);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_ctx *x = calloc(1, sizeof *x);

	(void)cls;
	(void)conn;
	if (!x)
		return NULL;
	if (strlen(uri) > HL_MAX_URL)
		x->uri_too_long = 1;
	else
		x->uri = strdup(uri); /* NULL on OOM: answered 5000 later */
	return x;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	http_ctx *x = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (x) {
		free(x->uri);
		free(x->body);
		free(x);
		*req_cls = NULL;
	}
}

static const char *mhd_header(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static void add_hdr(struct MHD_Response *r, const char *name, const char *val)
{
	if (MHD_add_response_header(r, name, val) != MHD_YES)
		log_warn("http: cannot add response header %s", name);
}

/* Body text of rsp in fmt (NULL when there is none or it cannot be
 * encoded; then rsp becomes a 5000 whose message is encoded instead). */
static char *response_body(m2m_response *rsp, m2m_fmt fmt)
{
	char *body = NULL;

	if (rsp->raw_pc) {
		if (fmt == M2M_FMT_JSON) {
			body = rsp->raw_pc; /* already JSON: sent as it is */
			rsp->raw_pc = NULL;
			return body;
		}
		/* not expected (raw_ok is false for XML), but harmless */
		json_t *j = NULL;
		char err[64];
		if (codec_json_decode(rsp->raw_pc, strlen(rsp->raw_pc), &j, err, sizeof err) == 0) {
			json_decref(rsp->pc);
			rsp->pc = j;
		}
		free(rsp->raw_pc);
		rsp->raw_pc = NULL;
	}
	if (!rsp->pc)
		return NULL;
	body = fmt == M2M_FMT_XML ? codec_xml_encode(rsp->pc) : codec_json_encode(rsp->pc);
	if (!body) {
		log_error("http: cannot encode response content");
		m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "cannot encode the response content");
		body = fmt == M2M_FMT_XML ? codec_xml_encode(rsp->pc) : codec_json_encode(rsp->pc);
	}
	return body;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, const m2m_request *req,
                                     m2m_response *rsp, m2m_fmt fmt)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	char num[16];
	const char *rvi, *ri;

	if (rsp->rsc == 0)
		m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "no response status");
	body = response_body(rsp, fmt);
	if (body)
		r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	snprintf(num, sizeof num, "%d", rsp->rsc);
	add_hdr(r, "X-M2M-RSC", num);
	ri = rsp->rqi ? rsp->rqi : (req && req->rqi ? req->rqi : NULL);
	/* MHD 0.9.75 refuses an empty header value; a single space is what
	 * receivers read as empty (leading/trailing OWS is not part of a field
	 * value, RFC 9110 5.5), and X-M2M-RI is mandatory on every response. */
	add_hdr(r, "X-M2M-RI", ri && *ri ? ri : " ");
	rvi = rsp->rvi ? rsp->rvi : (req ? req->rvi : NULL);
	if (rvi)
		add_hdr(r, "X-M2M-RVI", rvi);
	if (rsp->fr)
		add_hdr(r, "X-M2M-Origin", rsp->fr);
	if (rsp->ot)
		add_hdr(r, "X-M2M-OT", rsp->ot);
	if (rsp->cnst > 0) {
		snprintf(num, sizeof num, "%d", rsp->cnst);
		add_hdr(r, "X-M2M-CTS", num);
	}
	if (rsp->cnot > 0) {
		snprintf(num, sizeof num, "%d", rsp->cnot);
		add_hdr(r, "X-M2M-CTO", num);
	}
	if (rsp->location)
		add_hdr(r, "Content-Location", rsp->location);
	if (body)
		add_hdr(r, "Content-Type", fmt == M2M_FMT_XML ? "application/xml" : "application/json");
	ret = MHD_queue_response(conn, rsc_http_status(rsp->rsc), r);
	MHD_destroy_response(r);
	return ret;
}

/* Answer an error found before http_to_request() could run, echoing the
 * request's X-M2M-RI / X-M2M-RVI when they are readable. */
static enum MHD_Result send_early_error(struct MHD_Connection *conn, int rsc, const char *msg)
{
	m2m_response rsp;
	const char *ri = mhd_header(conn, "X-M2M-RI");
	const char *rvi = mhd_header(conn, "X-M2M-RVI");
	enum MHD_Result ret;

	m2m_response_init(&rsp);
	if (ri && strlen(ri) <= HL_MAX_ID)
		rsp.rqi = m2m_strdup(ri);
	if (rvi && strlen(rvi) <= HL_MAX_HEADER)
		rsp.rvi = m2m_strdup(rvi);
	m2m_error(&rsp, rsc, "%s", msg);
	/* The body (if any) was not kept: its Content-Type still tells how
	 * the client speaks. */
	ret = send_response(conn, NULL, &rsp, response_fmt(mhd_header, conn, "POST", 1));
	m2m_response_clear(&rsp);
	return ret;
}

/* Overload: more connections than the configured limit are open. The
   client gets 503 with Retry-After and the connection is closed, so that
   the load sheds instead of queueing. */
static enum MHD_Result send_busy(struct MHD_Connection *conn, unsigned limit)
{
	char body[160], rsc[16];
	int n = snprintf(body, sizeof body,
	                 "{\"m2m:dbg\":\"server busy: more than %u connections are open; retry later\"}", limit);
	struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	const char *ri = mhd_header(conn, "X-M2M-RI");
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	snprintf(rsc, sizeof rsc, "%d", RSC_INTERNAL_SERVER_ERROR);
	MHD_add_response_header(r, "X-M2M-RSC", rsc);
	MHD_add_response_header(r, "X-M2M-RI", ri && *ri && strlen(ri) <= HL_MAX_ID ? ri : " ");
	MHD_add_response_header(r, "Retry-After", "1");
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
	http_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add(&s->active, 1);
		if (s->client_auth) {
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
			/* NULL on OOM: the request is then answered 4107 */
			*socket_ctx = calloc(1, sizeof(http_conn_tls));
			if (ci)
				http_tls_require_client_cert(ci->tls_session);
		}
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub(&s->active, 1);
		free(*socket_ctx);
		*socket_ctx = NULL;
	}
}

static char *peer_address(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char buf[INET6_ADDRSTRLEN];
	const struct sockaddr *sa;

	if (!ci || !ci->client_addr)
		return NULL;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf))
			return m2m_strdup(buf);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		/* Report an IPv4-mapped peer as plain IPv4, as acip lists it. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf))
				return m2m_strdup(buf);
		} else if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf)) {
			return m2m_strdup(buf);
		}
	}
	return NULL;
}

/* Client authentication of one request (tls_client_auth only): the
 * connection's certificate must have verified, and X-M2M-Origin must be
 * one it may use. Returns 0 (req->fr_authenticated set when fr was
 * checked), or -1 with 4107 / 4106 recorded in rsp. */
static int tls_bind(const http_server *s, struct MHD_Connection *conn, m2m_request *req,
                    m2m_response *rsp)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	http_conn_tls *t = ci ? ci->socket_context : NULL;
	const char *fr = req->fr;

	if (!t) {
		m2m_error(rsp, RSC_SECURITY_ASSOCIATION_REQUIRED,
		          "TLS client authentication state unavailable");
		goto refused;
	}
	if (!t->checked) {
		const union MHD_ConnectionInfo *si =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		t->ok = http_tls_peer_cn(si ? si->tls_session : NULL, t->cn, sizeof t->cn, t->why,
		                         sizeof t->why) == 0;
		t->checked = true;
	}
	if (!t->ok) {
		m2m_error(rsp, RSC_SECURITY_ASSOCIATION_REQUIRED,
		          "TLS client authentication failed: %s", t->why);
		goto refused;
	}
	if (!fr || !*fr)
		return 0; /* the core answers a missing originator */
	if (req->op == M2M_OP_CREATE && req->ty == 2 && (strcmp(fr, "C") == 0 || strcmp(fr, "S") == 0)) {
		/* AE registration with an AE-ID the CSE assigns: it assigns the
		   certificate's CN when that is an AE-ID of the asked kind the
		   certificate may use, so the new AE stays bound to it */
		if (t->cn[0] == fr[0] && t->cn[1] && http_tls_origin_allowed(s->originators, t->cn, t->cn)) {
			free(req->fr);
			req->fr = m2m_strdup(t->cn);
			req->fr_authenticated = true;
		}
		return 0;
	}
	if (!http_tls_origin_allowed(s->originators, t->cn, fr)) {
		m2m_error(rsp, RSC_ORIGINATOR_NOT_AUTHENTICATED,
		          "originator '%s' may not be used with the client certificate of CN '%s'",
		          fr, t->cn);
		goto refused;
	}
	req->fr_authenticated = true;
	return 0;
refused:
	m2m_response_echo(rsp, req);
	return -1;
}

/* GET /hearth-cache/<64 hex>.bin: a verified image from the update cache
   (mgmtobj/update.c), outside the oneM2M paths; only with verified
   updates on. Returns MHD_YES/MHD_NO, or -1 when url is not such a path. */
#define CACHE_PREFIX "/hearth-cache/"
static int serve_cache(http_server *s, struct MHD_Connection *conn, const char *url, const char *method)
{
	const cse_config *cfg = cse_cfg(s->c);
	char dir[1024], path[1200];
	const char *name;
	struct stat st;
	struct MHD_Response *r;
	int fd, ok;
	size_t i;

	if (strncmp(url, CACHE_PREFIX, sizeof(CACHE_PREFIX) - 1) != 0 || !cfg->update_vendor_keys ||
	    !cfg->update_vendor_keys[0])
		return -1;
	name = url + sizeof(CACHE_PREFIX) - 1;
	ok = strlen(name) == 68 && strcmp(name + 64, ".bin") == 0;
	for (i = 0; ok && i < 64; i++)
		ok = (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f');
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		ok = 0;
	fd = -1;
	if (ok && config_update_cache(cfg, dir, sizeof dir) == 0 &&
	    snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		ok = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
		MHD_destroy_response(r);
		log_debug("http: %s %s -> 404", method, url);
		return ok;
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	add_hdr(r, "Content-Type", "application/octet-stream");
	ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	log_info("http: served cached image %s", name);
	return ok;
}

static enum MHD_Result handle_complete(http_server *s, struct MHD_Connection *conn,
                                       const char *url, const char *method, http_ctx *x)
{
	http_kv args[HL_MAX_QUERY_ARGS + 1];
	m2m_request req;
	m2m_response rsp;
	char *query = NULL;
	const char *q;
	size_t nargs = 0;
	enum MHD_Result ret;

	if (x->uri_too_long) {
		char msg[80];
		snprintf(msg, sizeof msg, "request URL longer than %u bytes", HL_MAX_URL);
		return send_early_error(conn, RSC_BAD_REQUEST, msg);
	}
	if (x->too_big) {
		char msg[80];
		snprintf(msg, sizeof msg, "request body larger than %u bytes", HL_MAX_BODY);
		return send_early_error(conn, RSC_BAD_REQUEST, msg);
	}
	if (!x->uri)
		return send_early_error(conn, RSC_INTERNAL_SERVER_ERROR, "out of memory");
	{
		int sc = serve_cache(s, conn, url, method);
		if (sc >= 0)
			return (enum MHD_Result)sc;
	}

	q = strchr(x->uri, '?');
	if (q) {
		int n;
		query = m2m_strdup(q + 1);
		n = http_parse_query(query, args, HL_MAX_QUERY_ARGS + 1);
		/* One slot more than allowed: http_to_request() reports the excess. */
		nargs = n < 0 ? HL_MAX_QUERY_ARGS + 1 : (size_t)n;
	}

	m2m_request_init(&req);
	m2m_response_init(&rsp);
	if (http_to_request(method, url, args, nargs, mhd_header, conn, x->body, x->len, &req,
	                    &rsp) == 0) {
		req.peer_addr = peer_address(conn);
		if (!s->client_auth || tls_bind(s, conn, &req, &rsp) == 0)
			cse_handle(s->c, &req, &rsp);
	}
	log_debug("http: %s %s rqi=%s -> %d", method, url, req.rqi ? req.rqi : "-", rsp.rsc);
	ret = send_response(conn, &req, &rsp, req.fmt);
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	free(query);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
	http_server *s = cls;
	http_ctx *x = *req_cls;

	(void)version;
	if (!x)
		return send_early_error(conn, RSC_INTERNAL_SERVER_ERROR, "out of memory");

	if (!x->started) {
		/* Headers only. A declared oversize body is refused before it is
		 * read (MHD then closes the connection after the answer). */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t n;

		x->started = 1;
		if (atomic_load(&s->active) > s->soft_limit)
			return send_busy(conn, s->soft_limit);
		if (cl && parse_i64(cl, &n) == 0 && n > (int64_t)HL_MAX_BODY) {
			char msg[80];
			snprintf(msg, sizeof msg, "request body larger than %u bytes", HL_MAX_BODY);
			return send_early_error(conn, RSC_BAD_REQUEST, msg);
		}
		return MHD_YES;
	}

	if (*upload_data_size > 0) {
		size_t add = *upload_data_size;

		*upload_data_size = 0;
		if (x->too_big)
			return MHD_YES;
		if (add > HL_MAX_BODY - x->len) {
			x->too_big = 1;
			free(x->body);
			x->body = NULL;
			x->len = x->cap = 0;
			return MHD_YES;
		}
		if (x->len + add > x->cap) {
			/* sized by the first chunk (usually the whole body): a
			   fixed 4 KiB made glibc consolidate its fast bins on
			   every request */
			size_t cap = x->cap ? x->cap : add < 256 ? 256 : add;
			char *nb;
			while (cap < x->len + add)
				cap *= 2;
			if (cap > HL_MAX_BODY)
				cap = HL_MAX_BODY;
			nb = realloc(x->body, cap);
			if (!nb)
				return MHD_NO; /* out of memory: drop the connection */
			x->body = nb;
			x->cap = cap;
		}
		memcpy(x->body + x->len, upload_data, add);
		x->len += add;
		return MHD_YES;
	}

	return handle_complete(s, conn, url, method, x);
}

static void server_free(http_server *s)
{
	if (!s)
		return;
	free(s->tls_cert);
	http_tls_free_secret(s->tls_key);
	free(s->tls_ca);
	free(s->originators);
	free(s);
}

/* Read the PEM files of o into s. Returns 0, or -1 with a logged reason. */
static int server_load_tls(http_server *s, const http_opts *o)
{
	char err[256];

	if (!o->tls_key || !*o->tls_key) {
		log_error("http: tls-cert needs tls-key");
		return -1;
	}
	if (!(s->tls_cert = http_tls_read_file(o->tls_cert, err, sizeof err)) ||
	    !(s->tls_key = http_tls_read_file(o->tls_key, err, sizeof err))) {
		log_error("http: TLS: %s", err);
		return -1;
	}
	if (!o->tls_client_auth)
		return 0;
	if (!o->tls_ca || !*o->tls_ca) {
		log_error("http: tls-client-auth = required needs tls-ca");
		return -1;
	}
	if (!(s->tls_ca = http_tls_read_file(o->tls_ca, err, sizeof err))) {
		log_error("http: TLS: %s", err);
		return -1;
	}
	if (o->tls_originators && *o->tls_originators) {
		if (!http_tls_rules_valid(o->tls_originators)) {
			log_error("http: tls-originators: expected CNpattern=ORIGpattern,...");
			return -1;
		}
		s->originators = m2m_strdup(o->tls_originators);
	}
	s->client_auth = true;
	return 0;
}

int http_server_start(http_server **out, cse *c, const http_opts *o)
{
	struct MHD_OptionItem tls_ops[4];
	size_t ntls = 0;
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	http_server *s = NULL;
	/* poll(), not epoll: libmicrohttpd 0.9.75 in epoll mode can stop
	   serving for good once its connection limit was reached */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	const char *addr = o->addr;
	int port = o->port;
	unsigned threads = o->threads, conn_limit = o->conn_limit;
	unsigned timeout = o->conn_timeout ? o->conn_timeout : HL_HTTP_CONN_TIMEOUT_S;
	int gai;

	*out = NULL;
	if (port <= 0 || port > 65535) {
		log_error("http: invalid port %d", port);
		return -1;
	}
	if (threads < 1)
		threads = 1;
	if (conn_limit < 1)
		conn_limit = HL_HTTP_CONN_LIMIT;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	gai = getaddrinfo(addr, NULL, &hints, &ai);
	if (gai != 0 || !ai) {
		log_error("http: cannot resolve listen address '%s': %s", addr ? addr : "*",
		          gai_strerror(gai));
		if (ai)
			freeaddrinfo(ai);
		return -1;
	}
	memset(&ss, 0, sizeof ss);
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (ss.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)(void *)&ss)->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		((struct sockaddr_in *)(void *)&ss)->sin_port = htons((uint16_t)port);
	}

	s = calloc(1, sizeof *s);
	if (!s) {
		log_error("http: out of memory");
		return -1;
	}
	s->c = c;
	s->soft_limit = conn_limit;
	if (o->tls_cert && *o->tls_cert) {
		if (server_load_tls(s, o) != 0) {
			server_free(s);
			return -1;
		}
		flags |= MHD_USE_TLS;
		tls_ops[ntls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert };
		tls_ops[ntls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key };
		if (s->tls_ca)
			tls_ops[ntls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca };
	}
	tls_ops[ntls] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* room above the limit to answer 503 instead of leaving clients waiting
	   in the accept queue */
	unsigned hard = conn_limit + (conn_limit / 8 > 8 ? conn_limit / 8 : 8) * threads;
	s->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                        MHD_OPTION_THREAD_POOL_SIZE, threads,
	                        MHD_OPTION_CONNECTION_LIMIT, hard,
	                        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
	                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, (void *)s,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	                        MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)s,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)s,
	                        MHD_OPTION_ARRAY, tls_ops,
	                        MHD_OPTION_END);
	if (!s->d) {
		log_error("http: cannot listen on %s:%d%s", addr ? addr : "*", port,
		          s->tls_cert ? " (or the TLS certificate, key or CA was refused)" : "");
		server_free(s);
		return -1;
	}
	log_info("http: listening on %s:%d (%u threads, %u connections, %u s idle timeout%s)",
	         addr ? addr : "*", port, threads, conn_limit, timeout,
	         !s->tls_cert ? "" : s->client_auth ? ", HTTPS, client certificates required"
	                                           : ", HTTPS");
	*out = s;
	return 0;
}

void http_server_stop(http_server **s)
{
	if (!s || !*s)
		return;
	if ((*s)->d)
		MHD_stop_daemon((*s)->d);
	server_free(*s);
	*s = NULL;
}
