/*
 * prim.h - the oneM2M request and response primitives (TS-0004 7.2.1).
 *
 * Bindings (HTTP, MQTT) build an m2m_request from the wire and turn an
 * m2m_response back into wire bytes; the core knows nothing else about them.
 * Every string member is a NUL-terminated heap copy owned by the primitive,
 * NULL when the parameter is absent; json_t members are owned references.
 * m2m_request_clear()/m2m_response_clear() release everything and accept a
 * half-built primitive.
 */
#ifndef HEARTH_PRIM_H
#define HEARTH_PRIM_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

typedef enum m2m_op {
	M2M_OP_NONE = 0,
	M2M_OP_CREATE = 1,
	M2M_OP_RETRIEVE = 2,
	M2M_OP_UPDATE = 3,
	M2M_OP_DELETE = 4,
	M2M_OP_NOTIFY = 5,
} m2m_op;

/* Serialization of a body: what a binding decoded, or must encode. */
typedef enum m2m_fmt {
	M2M_FMT_JSON = 0,
	M2M_FMT_XML = 1,
} m2m_fmt;

typedef struct m2m_request {
	int op;          /* m2m_op; M2M_OP_NONE when absent */
	char *to;        /* target address as given (no binding prefix such as "/~") */
	char *fr;        /* originator; NULL when absent, "" when sent empty */
	char *rqi;
	char *rvi;       /* NULL when absent (Release 1/2 client) */
	int ty;          /* -1 when absent */
	json_t *pc;      /* content, e.g. {"m2m:cnt":{...}}; NULL when absent */
	int rcn;         /* -1 when absent */
	int drt;         /* -1 when absent */
	int rtv;         /* rt.rtv; -1 when absent */
	json_t *rtu;     /* rt.nu: array of strings; NULL when absent */
	json_t *fc;      /* filter criteria object with short names, as in a
	                    JSON primitive: {"fu":1,"ty":[3],"lbl":["a"],
	                    "atr":[{"nm":"rn","val":"x"}],...}; NULL when absent */
	char *ot, *rqet, *rset, *oet, *gid, *vsi;
	int ec;          /* -1 when absent */
	json_t *rids;    /* role ids (array of strings) or NULL */
	/* Facts from the binding, not from the primitive. */
	char *peer_addr; /* originator's IP address, for acco/acip; may be NULL */
	m2m_fmt fmt;     /* serialization the response should use */
	bool fr_authenticated; /* fr was bound to a credential (TLS); default false */
	bool raw_ok;     /* the binding sends JSON and accepts m2m_response.raw_pc */
	/* Set only by the CSE's own modules on the requests they make (never
	   by a binding, never copied): which internal write this is, for their
	   hooks. A request may run on another thread than the one that made
	   it, so this cannot live in a thread-local. */
	const struct m2m_internal *internal;
} m2m_request;

typedef struct m2m_internal {
	int kind;        /* M2M_INTERNAL_* */
	const char *arg; /* the kind's argument */
} m2m_internal;

enum {
	M2M_INTERNAL_ATTEST = 1, /* attestation writes the node's trust labels */
	M2M_INTERNAL_MGMT_END,   /* the CSE ends operation arg on a mgmtObj */
};

typedef struct m2m_response {
	int rsc;         /* rsc_t; 0 until set */
	char *rqi;       /* copied from the request */
	char *rvi;       /* release of the response (the request's, when supported) */
	json_t *pc;      /* content or NULL; error responses carry {"m2m:dbg":msg} */
	char *fr;        /* responder's ID (SP-relative CSE-ID) */
	char *to;        /* the request's originator */
	char *location;  /* Content-Location for Create with rcn 2/3; NULL otherwise */
	char *ot;
	int cnst, cnot;  /* content status / offset, 0 when absent */
	char *raw_pc;    /* instead of pc, when the request had raw_ok: the
	                    content already serialised as JSON (owned) */
} m2m_response;

void m2m_request_init(m2m_request *req);
void m2m_request_clear(m2m_request *req);
void m2m_response_init(m2m_response *rsp);
void m2m_response_clear(m2m_response *rsp);

/*
 * Set rsc and replace pc with {"m2m:dbg":"<message>"}. The message is
 * printf-formatted and bounded (1 KiB). Returns rsc, so that a handler can
 * write `return m2m_error(rsp, RSC_BAD_REQUEST, "...")`.
 */
int m2m_error(m2m_response *rsp, int rsc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set rsc and take ownership of pc (may be NULL). Returns rsc. */
int m2m_ok(m2m_response *rsp, int rsc, json_t *pc);

/* Give an error answered before the core the request's rqi and rvi, when
   the binding could read them and the answer has none yet. */
void m2m_response_echo(m2m_response *rsp, const m2m_request *req);

/* Deep copy of a request (used by group fan-out and forwarding). */
int m2m_request_copy(m2m_request *dst, const m2m_request *src);

/* Duplicate a string or NULL; aborts on allocation failure (see util.h). */
char *m2m_strdup(const char *s);

#endif
