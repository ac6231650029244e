/*
 * mqtt_binding.h - the oneM2M MQTT binding (TS-0010, MQTT 3.1.1, JSON and
 * XML, over TCP or TLS).
 *
 * Two halves, as for HTTP:
 *  - pure translation, no I/O (unit tests and fuzzers drive it directly):
 *    topic parsing, ID -> topic level, JSON request primitive -> m2m_request,
 *    m2m_response -> JSON response primitive, and the reverse pair used by
 *    the outgoing transport;
 *  - the client: one connection to a configured broker (paho.mqtt.c,
 *    MQTTAsync), subscriptions to the CSE's request, registration and
 *    response topics, worker threads that call cse_handle(), reconnection
 *    with exponential backoff, and transport_mqtt_send() for outgoing
 *    requests on that connection.
 *
 * Ownership: every function that fills an m2m_request / m2m_response puts
 * heap copies into it (the caller clears it); strings returned as char *
 * are the caller's to free().
 */
#ifndef HEARTH_MQTT_BINDING_H
#define HEARTH_MQTT_BINDING_H

#include <stddef.h>
#include <stdbool.h>

#include "../cse/cse.h"
#include "../cse/prim.h"

/* ---- translation ---------------------------------------------------------- */

#define MQTT_LEVEL_MAX 256u /* bytes of one topic level we accept or build */

typedef enum mqtt_topic_kind {
	MQTT_T_NONE = 0,
	MQTT_T_REQ,      /* /oneM2M/req/<orig>/<recv>/<type> */
	MQTT_T_RESP,     /* /oneM2M/resp/<orig>/<recv>/<type> */
	MQTT_T_REG_REQ,  /* /oneM2M/reg_req/<orig>/<recv>/<type> */
	MQTT_T_REG_RESP, /* /oneM2M/reg_resp/<orig>/<recv>/<type> */
} mqtt_topic_kind;

typedef struct mqtt_topic {
	mqtt_topic_kind kind;
	char orig[MQTT_LEVEL_MAX], recv[MQTT_LEVEL_MAX], type[16];
} mqtt_topic;

/* Split a oneM2M topic. Returns 0, or -1 when topic is not one of the four
 * forms above (wrong level count, empty or over-long level). */
int mqtt_topic_parse(const char *topic, mqtt_topic *t);

/* The topic answering a request topic: req -> resp, reg_req -> reg_resp,
 * same originator, receiver and type. Returns 0, or -1 (too long). */
int mqtt_topic_reply(const mqtt_topic *req, char *out, size_t n);

/* An entity ID as a topic level (TS-0010 6.3): SP-relative "/id-in/CAE"
 * -> "id-in:CAE", absolute "//sp/id-in" -> ":sp:id-in", a bare ID
 * unchanged. When own_csi ("/id-in") is given, an SP-relative ID on that
 * CSE is reduced to its AE-ID-Stem ("/id-in/CAE" -> "CAE"). Returns 0, or
 * -1 when the ID is empty, too long or holds '+', '#' or control bytes. */
int mqtt_id_to_level(const char *id, const char *own_csi, char *out, size_t n);

/* The serialization a topic's last level names: "json" or "xml" (0), else
 * -1 (cbor is not supported). mqtt_fmt_name() is the reverse. */
int mqtt_fmt_parse(const char *type, m2m_fmt *fmt);
const char *mqtt_fmt_name(m2m_fmt fmt);

/*
 * Decode one request primitive into req (initialised by the caller): JSON,
 * a bare object (a single m2m:rqp wrapper is tolerated), or XML, an m2m:rqp
 * document (codec_xml_decode_prim(): the XML content decoder's refusals
 * apply). Returns 0, or -1 with the error (4000) recorded in rsp;
 * rsp->rqi/rvi then carry the request's rqi/rvi when they could be read.
 */
int mqtt_to_request(const char *payload, size_t len, m2m_fmt fmt, m2m_request *req,
                    m2m_response *rsp);

/* The response primitive for rsp answering req (req may be NULL) in fmt
 * (JSON: a bare object; XML: m2m:rsp): rsc, rqi, rvi, pc, fr, to, ot, cnst,
 * cnot. NULL on allocation failure. */
char *mqtt_response_encode(const m2m_request *req, const m2m_response *rsp, m2m_fmt fmt);

/* The request primitive of req in fmt (op, to, fr, rqi, rvi, ty, pc, rcn,
 * drt, rt, fc, ot, rqet, rset, oet, ec, gid, vsi, rids). NULL on failure. */
char *mqtt_request_encode(const m2m_request *req, m2m_fmt fmt);

/* Decode a response primitive in fmt into rsp. Returns 0, or -1 (not an
 * object with an integer rsc, or larger than HL_MAX_BODY). */
int mqtt_response_decode(const char *payload, size_t len, m2m_fmt fmt, m2m_response *rsp);

/* ---- the client ------------------------------------------------------------ */

typedef struct mqtt_binding mqtt_binding;

typedef struct mqtt_opts {
	const char *host;      /* broker; required */
	int port;              /* 1..65535 */
	const char *username;  /* NULL or "" = none */
	const char *password;  /* NULL or "" = none */
	int keepalive;         /* seconds */
	const char *client_id; /* NULL or "" = "C::<cse-id>" */
	const char *cse_id;    /* own CSE-ID without '/' (topic level); required */
	unsigned workers;      /* request threads; 0 = 2 */
	/* TLS (paho's OpenSSL client): the broker's certificate is verified
	 * against tls_ca (NULL or "": the system's CA store) and must name
	 * host (DNS name or IP address in its subjectAltName or CN); a
	 * failed check refuses the connection (and is retried with backoff
	 * like any failed connect). tls_cert/tls_key: a client certificate
	 * for brokers that require one. */
	bool tls;
	const char *tls_ca, *tls_cert, *tls_key;
} mqtt_opts;

/*
 * Start the binding: it connects in the background (a broker that is down
 * is retried with backoff from 0.5 s up to 30 s, as after a lost
 * connection) and registers itself as the transport for mqtt:// URLs.
 * Returns 0, or -1 when the client cannot be created (bad options, a TLS
 * file that cannot be read, TLS without SSL support in the library, out of
 * memory); an unreachable broker, or one that fails the TLS checks, is not
 * an error at start (it is logged at every attempt).
 */
int mqtt_binding_start(mqtt_binding **out, cse *c, const mqtt_opts *o);

/* Stop accepting messages, finish the requests already queued (their
 * responses are published), fail outgoing requests still waiting,
 * disconnect and free. Call before cse_close(). Accepts NULL / *b NULL. */
void mqtt_binding_stop(mqtt_binding **b);

/* True while connected and subscribed (for logs and tests). */
bool mqtt_binding_connected(mqtt_binding *b);

/*
 * Outgoing request over the running binding's connection (see transport.h
 * for the contract). url is mqtt://host:port[/topic]; host:port must name
 * the broker the binding is connected to (no other broker connection is
 * opened: 5103 otherwise).
 *  - with a topic path: the request primitive is published (QoS 1) to that
 *    exact topic (TS-0010: the path of an mqtt:// nu is the topic); no
 *    response is expected, so a publish the broker acknowledged is 2000;
 *  - without a path: published to /oneM2M/req/<cse-id>/<target>/<ser>, where
 *    target is req->to as a topic level, and the response awaited on
 *    /oneM2M/resp/<cse-id>/<target>/<ser> (matched by rqi) for timeout_ms.
 * Serialization: a "?ct=json" or "?ct=xml" query (the only query allowed)
 * chooses it; else a topic path ending in "/xml" means XML; else JSON.
 */
int transport_mqtt_send(const char *url, const m2m_request *req, m2m_response *rsp,
                        long timeout_ms);

/* A request for another CSE: published to /oneM2M/req/<own-id>/<hop>/json
   (hop_csi "/id-in" -> level "id-in"; .../xml with "?ct=xml") and the
   response awaited on the matching response topic; url is
   mqtt://host:port[?ct=...] without a topic. */
int transport_mqtt_forward(const char *url, const char *hop_csi, const m2m_request *req,
                           m2m_response *rsp, long timeout_ms);

#endif
