/*
 * mqtt_binding.c - the oneM2M MQTT binding (TS-0010) on paho.mqtt.c.
 *
 * Design note
 *   Client: MQTTAsync (libpaho-mqtt3a, or libpaho-mqtt3as for TLS, loaded
 *   with dlopen() at start; see paho_load()). Its callbacks run on paho's own
 *   receive thread, which must not block: cse_handle() may wait for a group
 *   commit (about 1 ms, longer on a slow disk) and must not stall keep-alive
 *   and PUBACK traffic. So the message callback only copies the message into
 *   one of `workers` bounded FIFOs (HL_MQTT_QUEUE each) and returns; worker
 *   threads decode, call cse_handle() and publish the response. The FIFO is
 *   chosen by the originator's topic level, so the requests of one
 *   originator are answered in the order they were published. A full FIFO
 *   is answered at once with 5000 (the request is refused, not dropped
 *   silently). MQTTClient with a thread of its own would need the same
 *   queue plus its own read loop; MQTTAsync already gives non-blocking
 *   publishes from any thread.
 *
 *   Connection: one supervisor thread owns (re)connecting. It connects with
 *   client id C::<cse-id>, clean session false, MQTT 3.1.1, and on success
 *   subscribes (QoS 1) to /oneM2M/req/+/<cse-id>/#,
 *   /oneM2M/reg_req/+/<cse-id>/# and /oneM2M/resp/<cse-id>/+/#. A failed
 *   connect or a lost connection schedules the next attempt after a delay
 *   that doubles from 0.5 s up to 30 s and goes back to 0.5 s once
 *   connected and subscribed; every (re)connect subscribes again, since a
 *   broker without persistence forgets the session. paho's own automatic
 *   reconnect is not used: it does not retry a first connect that failed.
 *
 *   Replies go to the topic built from the request topic's own levels
 *   (req -> resp, reg_req -> reg_resp), which is what an AE without an
 *   AE-ID yet (fr "C" or absent) has subscribed to. A reg_req topic only
 *   carries Create of AE or remoteCSE (4005 otherwise). rqet is checked by
 *   the core (4008), which covers messages the broker held too long.
 *   Responses are published with QoS 1 and not retained; a response whose
 *   connection is gone is lost (the originator retries).
 *
 *   Serializations: the last topic level says json or xml; a request is
 *   decoded into the same bare JSON primitive either way (XML through
 *   codec_xml_decode_prim(), so XML content's refusals apply) and answered
 *   in its own serialization on its own kind of topic. cbor is dropped.
 *
 *   TLS: an ssl:// connection whose broker certificate must chain to the
 *   configured CA and name the host; the reason of a failed attempt is
 *   logged (OpenSSL's error queue, paho's host check seen in its trace,
 *   or a hint when the broker closed a verified connection).
 *
 *   Outgoing requests (transport_mqtt_send) share this connection: waiting
 *   callers sit on a list matched by rqi when a message arrives on
 *   /oneM2M/resp/<cse-id>/...; each waits at most its timeout.
 *
 * Invariants: paho callbacks never block on the core; every message queued
 * is answered exactly once; mqtt_binding_stop() answers what is queued,
 * wakes every waiting sender, then disconnects and destroys the client.
 * Cost: one copy of each payload, one decode and one encode (JSON, or an
 * XML tree plus the JSON tree).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <dlfcn.h>
#include <MQTTAsync.h>

#include "mqtt_binding.h"
#include "codec_json.h"
#include "codec_xml.h"
#include "../cse/limits.h"
#include "../cse/log.h"
#include "../cse/rsc.h"
#include "../cse/util.h"

/*
 * paho is loaded with dlopen() when the binding starts, not linked: a
 * gateway without a broker maps neither paho nor, without TLS, OpenSSL
 * (libpaho-mqtt3as brings libssl and libcrypto, about 1.6 MiB of resident
 * memory). TLS loads the SSL variant (paho-mqtt3as), plain TCP the other
 * (paho-mqtt3a); their APIs are the same. The header gives the types; the
 * calls go through pq (the names are redirected below). Never unloaded:
 * paho's threads may outlive a stopped client by a moment.
 */
static struct {
	void *lib;
	bool tls;
	int (*createWithOptions)(MQTTAsync *, const char *, const char *, int, void *,
	                         MQTTAsync_createOptions *);
	int (*setCallbacks)(MQTTAsync, void *, MQTTAsync_connectionLost *, MQTTAsync_messageArrived *,
	                    MQTTAsync_deliveryComplete *);
	int (*connect)(MQTTAsync, const MQTTAsync_connectOptions *);
	int (*disconnect)(MQTTAsync, const MQTTAsync_disconnectOptions *);
	void (*destroy)(MQTTAsync *);
	int (*isConnected)(MQTTAsync);
	int (*send)(MQTTAsync, const char *, int, const void *, int, int, MQTTAsync_responseOptions *);
	int (*subscribeMany)(MQTTAsync, int, char *const *, int *, MQTTAsync_responseOptions *);
	const char *(*strerror)(int);
	void (*freeMessage)(MQTTAsync_message **);
	void (*free)(void *);
	void (*setTraceLevel)(enum MQTTASYNC_TRACE_LEVELS);
	void (*setTraceCallback)(MQTTAsync_traceCallback *);
} pq;
static pthread_mutex_t pq_mx = PTHREAD_MUTEX_INITIALIZER;

/* Load the paho variant for tls (once per process). 0, or -1 (logged). */
static int paho_load(bool tls)
{
	const char *name = tls ? "libpaho-mqtt3as.so.1" : "libpaho-mqtt3a.so.1";
	int rc = -1;

	pthread_mutex_lock(&pq_mx);
	if (pq.lib) {
		rc = pq.tls == tls ? 0 : -1;
		if (rc != 0)
			log_error("mqtt: paho is already loaded %s TLS", pq.tls ? "with" : "without");
		goto out;
	}
	pq.lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!pq.lib) {
		log_error("mqtt: cannot load %s: %s", name, dlerror());
		goto out;
	}
#define PQ_SYM(field, sym)                                              \
	do {                                                            \
		*(void **)(&pq.field) = dlsym(pq.lib, sym);             \
		if (!pq.field) {                                        \
			log_error("mqtt: %s lacks %s", name, sym);      \
			goto fail;                                      \
		}                                                       \
	} while (0)
	PQ_SYM(createWithOptions, "MQTTAsync_createWithOptions");
	PQ_SYM(setCallbacks, "MQTTAsync_setCallbacks");
	PQ_SYM(connect, "MQTTAsync_connect");
	PQ_SYM(disconnect, "MQTTAsync_disconnect");
	PQ_SYM(destroy, "MQTTAsync_destroy");
	PQ_SYM(isConnected, "MQTTAsync_isConnected");
	PQ_SYM(send, "MQTTAsync_send");
	PQ_SYM(subscribeMany, "MQTTAsync_subscribeMany");
	PQ_SYM(strerror, "MQTTAsync_strerror");
	PQ_SYM(freeMessage, "MQTTAsync_freeMessage");
	PQ_SYM(free, "MQTTAsync_free");
	PQ_SYM(setTraceLevel, "MQTTAsync_setTraceLevel");
	PQ_SYM(setTraceCallback, "MQTTAsync_setTraceCallback");
#undef PQ_SYM
	pq.tls = tls;
	rc = 0;
	goto out;
fail:
	dlclose(pq.lib);
	memset(&pq, 0, sizeof pq);
out:
	pthread_mutex_unlock(&pq_mx);
	return rc;
}

#define MQTTAsync_createWithOptions (pq.createWithOptions)
#define MQTTAsync_setCallbacks (pq.setCallbacks)
#define MQTTAsync_connect (pq.connect)
#define MQTTAsync_disconnect (pq.disconnect)
#define MQTTAsync_destroy (pq.destroy)
#define MQTTAsync_isConnected (pq.isConnected)
#define MQTTAsync_send (pq.send)
#define MQTTAsync_subscribeMany (pq.subscribeMany)
#define MQTTAsync_strerror (pq.strerror)
#define MQTTAsync_freeMessage (pq.freeMessage)
#define MQTTAsync_free (pq.free)
#define MQTTAsync_setTraceLevel (pq.setTraceLevel)
#define MQTTAsync_setTraceCallback (pq.setTraceCallback)


#define MQTT_BACKOFF_MIN_MS 500L
#define MQTT_BACKOFF_MAX_MS 30000L
#define MQTT_QOS 1

/* ------------------------------------------------------------------ */
/* Topics and IDs                                                       */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	mqtt_topic_kind kind;
} topic_kinds[] = {
	{ "req", MQTT_T_REQ },
	{ "resp", MQTT_T_RESP },
	{ "reg_req", MQTT_T_REG_REQ },
	{ "reg_resp", MQTT_T_REG_RESP },
};

static int level_copy(char *dst, size_t n, const char *s, size_t len)
{
	if (len == 0 || len >= n)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int mqtt_topic_parse(const char *topic, mqtt_topic *t)
{
	const char *lv[6];
	size_t ln[6];
	size_t n = 0;
	const char *p = topic;

	memset(t, 0, sizeof *t);
	if (!topic || topic[0] != '/')
		return -1;
	p++; /* the empty first level */
	while (n < 6) {
		size_t k = strcspn(p, "/");
		lv[n] = p;
		ln[n] = k;
		n++;
		if (p[k] == '\0')
			break;
		p += k + 1;
	}
	if (n != 5 || p[ln[4]] != '\0')
		return -1;
	if (ln[0] != 6 || strncmp(lv[0], "oneM2M", 6) != 0)
		return -1;
	for (size_t i = 0; i < sizeof topic_kinds / sizeof topic_kinds[0]; i++)
		if (strlen(topic_kinds[i].name) == ln[1] &&
		    strncmp(lv[1], topic_kinds[i].name, ln[1]) == 0)
			t->kind = topic_kinds[i].kind;
	if (t->kind == MQTT_T_NONE || level_copy(t->orig, sizeof t->orig, lv[2], ln[2]) != 0 ||
	    level_copy(t->recv, sizeof t->recv, lv[3], ln[3]) != 0 ||
	    level_copy(t->type, sizeof t->type, lv[4], ln[4]) != 0) {
		t->kind = MQTT_T_NONE;
		return -1;
	}
	return 0;
}

int mqtt_topic_reply(const mqtt_topic *req, char *out, size_t n)
{
	const char *k;
	switch (req->kind) {
	case MQTT_T_REQ: k = "resp"; break;
	case MQTT_T_REG_REQ: k = "reg_resp"; break;
	default: return -1;
	}
	int w = snprintf(out, n, "/oneM2M/%s/%s/%s/%s", k, req->orig, req->recv, req->type);
	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

int mqtt_id_to_level(const char *id, const char *own_csi, char *out, size_t n)
{
	size_t len, w = 0;
	const char *p;

	if (!id || !*id || n == 0)
		return -1;
	if (own_csi && *own_csi) {
		size_t cl = strlen(own_csi);
		if (strncmp(id, own_csi, cl) == 0 && id[cl] == '/' && id[cl + 1] &&
		    !strchr(id + cl + 1, '/'))
			id += cl + 1; /* AE-ID-Stem of an AE on this CSE */
	}
	p = id;
	if (p[0] == '/' && p[1] == '/') {
		out[w++] = ':'; /* absolute: "//" -> ":" */
		p += 2;
	} else if (p[0] == '/') {
		p++;
	}
	len = strlen(p);
	if (len == 0 || w + len >= n)
		return -1;
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f || ch == '+' || ch == '#')
			return -1;
		out[w++] = ch == '/' ? ':' : (char)ch;
	}
	out[w] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Primitive <-> JSON                                                    */
/* ------------------------------------------------------------------ */

/* Copy string member key into *dst. Absent or null: nothing. */
static int get_str(const json_t *o, const char *key, size_t max, char **dst, m2m_response *rsp)
{
	const json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		m2m_error(rsp, RSC_BAD_REQUEST, "primitive parameter '%s' must be a string", key);
		return -1;
	}
	if (max && json_string_length(v) > max) {
		m2m_error(rsp, RSC_BAD_REQUEST, "primitive parameter '%s' longer than %zu bytes", key, max);
		return -1;
	}
	if (memchr(json_string_value(v), '\0', json_string_length(v))) {
		m2m_error(rsp, RSC_BAD_REQUEST, "primitive parameter '%s' contains NUL", key);
		return -1;
	}
	free(*dst);
	*dst = m2m_strdup(json_string_value(v));
	return 0;
}

static int get_int(const json_t *o, const char *key, json_int_t min, json_int_t max, int *dst,
                   m2m_response *rsp)
{
	const json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		m2m_error(rsp, RSC_BAD_REQUEST, "primitive parameter '%s' must be an integer %lld..%lld",
		          key, (long long)min, (long long)max);
		return -1;
	}
	*dst = (int)json_integer_value(v);
	return 0;
}

/* rvi: a string; a number ("rvi":3) is tolerated and read as its digits. */
static int get_rvi(const json_t *o, char **dst, m2m_response *rsp)
{
	const json_t *v = json_object_get(o, "rvi");
	if (v && json_is_integer(v)) {
		char buf[32];
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		*dst = m2m_strdup(buf);
		return 0;
	}
	return get_str(o, "rvi", 16, dst, rsp);
}

static int get_str_array(const json_t *o, const char *key, json_t **dst, m2m_response *rsp)
{
	const json_t *v = json_object_get(o, key);
	size_t i;
	const json_t *e;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > HL_MAX_LIST) {
		m2m_error(rsp, RSC_BAD_REQUEST, "primitive parameter '%s' must be a list of at most %u strings",
		          key, HL_MAX_LIST);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			m2m_error(rsp, RSC_BAD_REQUEST, "primitive parameter '%s' must be a list of strings", key);
			return -1;
		}
	}
	json_decref(*dst);
	*dst = json_deep_copy(v);
	return 0;
}

int mqtt_fmt_parse(const char *type, m2m_fmt *fmt)
{
	if (type && strcmp(type, "json") == 0)
		*fmt = M2M_FMT_JSON;
	else if (type && strcmp(type, "xml") == 0)
		*fmt = M2M_FMT_XML;
	else
		return -1;
	return 0;
}

const char *mqtt_fmt_name(m2m_fmt fmt)
{
	return fmt == M2M_FMT_XML ? "xml" : "json";
}

/* The bare primitive object (JSON; XML under root "m2m:rqp"/"m2m:rsp") of
 * payload into *out. -1 with a reason in err. */
static int prim_decode(const char *payload, size_t len, m2m_fmt fmt, const char *root,
                       json_t **out, char *err, size_t errlen)
{
	json_t *j = NULL, *v;

	*out = NULL;
	if (fmt == M2M_FMT_XML)
		return codec_xml_decode_prim(payload, len, root, out, err, errlen);
	if (codec_json_decode(payload, len, &j, err, errlen) != 0)
		return -1;
	v = json_object_get(j, root);
	if (json_object_size(j) == 1 && json_is_object(v)) {
		/* a single wrapper, as older peers may send */
		*out = json_incref(v);
		json_decref(j);
	} else {
		*out = j;
	}
	return 0;
}

/* Serialise a bare primitive object; NULL on failure. */
static char *prim_encode(const json_t *o, m2m_fmt fmt, const char *root)
{
	if (fmt == M2M_FMT_XML)
		return codec_xml_encode_prim(o, root);
	return codec_json_encode(o);
}

int mqtt_to_request(const char *payload, size_t len, m2m_fmt fmt, m2m_request *req,
                    m2m_response *rsp)
{
	json_t *root = NULL;
	const json_t *o, *v;
	char err[256];
	int rc = -1;

	if (len > HL_MAX_BODY) {
		m2m_error(rsp, RSC_BAD_REQUEST, "request primitive larger than %u bytes", HL_MAX_BODY);
		goto out;
	}
	if (prim_decode(payload, len, fmt, "m2m:rqp", &root, err, sizeof err) != 0) {
		m2m_error(rsp, RSC_BAD_REQUEST, "invalid request primitive: %s", err);
		goto out;
	}
	if (!json_is_object(root)) {
		m2m_error(rsp, RSC_BAD_REQUEST, "invalid request primitive: not an object");
		goto out;
	}
	o = root;

	/* rqi and rvi first: every error answer below echoes them. */
	if (get_str(o, "rqi", HL_MAX_ID, &req->rqi, rsp) != 0 || get_rvi(o, &req->rvi, rsp) != 0)
		goto out;
	if (!req->rqi || !*req->rqi) {
		m2m_error(rsp, RSC_BAD_REQUEST, "missing request identifier (rqi)");
		goto out;
	}
	if (!json_object_get(o, "op")) {
		m2m_error(rsp, RSC_BAD_REQUEST, "missing operation (op)");
		goto out;
	}
	if (get_int(o, "op", 1, 5, &req->op, rsp) != 0)
		goto out;
	if (get_str(o, "to", HL_MAX_ID, &req->to, rsp) != 0 ||
	    get_str(o, "fr", HL_MAX_ID, &req->fr, rsp) != 0)
		goto out;
	if (!req->to || !*req->to) {
		m2m_error(rsp, RSC_BAD_REQUEST, "missing target (to)");
		goto out;
	}
	for (const char *p = req->to; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			m2m_error(rsp, RSC_BAD_REQUEST, "control character in target (to)");
			goto out;
		}
	if (get_int(o, "ty", 0, INT_MAX, &req->ty, rsp) != 0 ||
	    get_int(o, "rcn", 0, INT_MAX, &req->rcn, rsp) != 0 ||
	    get_int(o, "drt", 0, INT_MAX, &req->drt, rsp) != 0 ||
	    get_int(o, "ec", 0, INT_MAX, &req->ec, rsp) != 0)
		goto out;
	if (get_str(o, "ot", 64, &req->ot, rsp) != 0 || get_str(o, "rqet", 64, &req->rqet, rsp) != 0 ||
	    get_str(o, "rset", 64, &req->rset, rsp) != 0 || get_str(o, "oet", 64, &req->oet, rsp) != 0 ||
	    get_str(o, "gid", HL_MAX_ID, &req->gid, rsp) != 0 ||
	    get_str(o, "vsi", HL_MAX_HEADER, &req->vsi, rsp) != 0)
		goto out;
	if (get_str_array(o, "rids", &req->rids, rsp) != 0)
		goto out;
	v = json_object_get(o, "pc");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			m2m_error(rsp, RSC_BAD_REQUEST, "primitive content (pc) must be an object");
			goto out;
		}
		req->pc = json_deep_copy(v);
	}
	v = json_object_get(o, "fc");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			m2m_error(rsp, RSC_BAD_REQUEST, "filter criteria (fc) must be an object");
			goto out;
		}
		if (json_object_size(v) > 0)
			req->fc = json_deep_copy(v);
	}
	v = json_object_get(o, "rt");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v) || !json_object_get(v, "rtv")) {
			m2m_error(rsp, RSC_BAD_REQUEST, "response type (rt) must be an object with rtv");
			goto out;
		}
		if (get_int(v, "rtv", 0, INT_MAX, &req->rtv, rsp) != 0 ||
		    get_str_array(v, "nu", &req->rtu, rsp) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		m2m_response_echo(rsp, req);
	json_decref(root);
	return rc;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void set_int(json_t *o, const char *k, int v)
{
	if (v >= 0)
		json_object_set_new(o, k, json_integer(v));
}

char *mqtt_response_encode(const m2m_request *req, const m2m_response *rsp, m2m_fmt fmt)
{
	json_t *o = json_object();
	char *text;
	if (!o)
		return NULL;
	json_object_set_new(o, "rsc", json_integer(rsp->rsc));
	set_str(o, "rqi", rsp->rqi ? rsp->rqi : (req ? req->rqi : NULL));
	set_str(o, "rvi", rsp->rvi ? rsp->rvi : (req ? req->rvi : NULL));
	if (rsp->pc)
		json_object_set(o, "pc", rsp->pc);
	set_str(o, "fr", rsp->fr);
	set_str(o, "to", rsp->to ? rsp->to : (req ? req->fr : NULL));
	set_str(o, "ot", rsp->ot);
	if (rsp->cnst > 0)
		set_int(o, "cnst", rsp->cnst);
	if (rsp->cnot > 0)
		set_int(o, "cnot", rsp->cnot);
	text = prim_encode(o, fmt, "m2m:rsp");
	json_decref(o);
	return text;
}

char *mqtt_request_encode(const m2m_request *req, m2m_fmt fmt)
{
	json_t *o = json_object();
	char *text;
	if (!o)
		return NULL;
	json_object_set_new(o, "op", json_integer(req->op));
	set_str(o, "to", req->to);
	set_str(o, "fr", req->fr);
	set_str(o, "rqi", req->rqi);
	set_str(o, "rvi", req->rvi);
	if (req->op == M2M_OP_CREATE)
		set_int(o, "ty", req->ty);
	if (req->pc)
		json_object_set(o, "pc", req->pc);
	set_int(o, "rcn", req->rcn);
	set_int(o, "drt", req->drt);
	if (req->rtv >= 0) {
		json_t *rt = json_pack("{s:i}", "rtv", req->rtv);
		if (rt && req->rtu)
			json_object_set(rt, "nu", req->rtu);
		if (rt)
			json_object_set_new(o, "rt", rt);
	}
	if (req->fc)
		json_object_set(o, "fc", req->fc);
	set_str(o, "ot", req->ot);
	set_str(o, "rqet", req->rqet);
	set_str(o, "rset", req->rset);
	set_str(o, "oet", req->oet);
	set_int(o, "ec", req->ec);
	set_str(o, "gid", req->gid);
	set_str(o, "vsi", req->vsi);
	if (req->rids)
		json_object_set(o, "rids", req->rids);
	text = prim_encode(o, fmt, "m2m:rqp");
	json_decref(o);
	return text;
}

int mqtt_response_decode(const char *payload, size_t len, m2m_fmt fmt, m2m_response *rsp)
{
	json_t *root = NULL;
	const json_t *o, *v;
	m2m_response scratch;
	int rc = -1;

	if (len > HL_MAX_BODY || prim_decode(payload, len, fmt, "m2m:rsp", &root, NULL, 0) != 0)
		return -1;
	o = root;
	v = json_object_get(o, "rsc");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 9999)
		goto out;
	m2m_response_init(&scratch); /* error sink for get_str; never used */
	rsp->rsc = (int)json_integer_value(v);
	if (get_str(o, "rqi", HL_MAX_ID, &rsp->rqi, &scratch) != 0 ||
	    get_rvi(o, &rsp->rvi, &scratch) != 0 ||
	    get_str(o, "fr", HL_MAX_ID, &rsp->fr, &scratch) != 0 ||
	    get_str(o, "to", HL_MAX_ID, &rsp->to, &scratch) != 0 ||
	    get_str(o, "ot", 64, &rsp->ot, &scratch) != 0) {
		m2m_response_clear(&scratch);
		goto out;
	}
	m2m_response_clear(&scratch);
	v = json_object_get(o, "pc");
	if (v && !json_is_null(v)) {
		json_decref(rsp->pc);
		rsp->pc = json_deep_copy(v);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The client                                                           */
/* ------------------------------------------------------------------ */

typedef struct mqtt_job {
	mqtt_topic topic;
	m2m_fmt fmt;        /* the topic's serialization */
	char *payload;
	size_t len;
	struct mqtt_job *next;
} mqtt_job;

typedef struct mqtt_worker {
	struct mqtt_binding *b;
	pthread_t th;
	bool th_up;
	pthread_mutex_t mx;
	pthread_cond_t cv;
	mqtt_job *head, *tail;
	unsigned len;
	bool stop;
} mqtt_worker;

/* An outgoing request waiting for its response. */
typedef struct mqtt_wait {
	const char *rqi;
	m2m_fmt fmt;   /* serialization of the request; the response's topic */
	char *payload; /* the response, once it arrived */
	size_t len;
	struct mqtt_wait *next;
} mqtt_wait;

enum { ST_DOWN, ST_CONNECTING, ST_UP };

struct mqtt_binding {
	cse *c;
	MQTTAsync cl;
	char *host;
	int port;
	char *cse_id;       /* topic level of this CSE */
	char *csi;          /* "/<cse-id>" */
	char *username, *password;
	int keepalive;
	bool tls;
	char *tls_ca, *tls_cert, *tls_key; /* NULL: none */
	char sub_req[MQTT_LEVEL_MAX + 32], sub_reg[MQTT_LEVEL_MAX + 32], sub_resp[MQTT_LEVEL_MAX + 32];

	pthread_mutex_t mx; /* state, backoff, waits, stopping */
	pthread_cond_t cv;  /* state changes, arrived responses */
	int state;
	bool stopping;
	long backoff_ms;
	struct timespec next_try; /* CLOCK_MONOTONIC */
	mqtt_wait *waits;
	bool disconnected;  /* the final disconnect completed */
	pthread_t sup;
	bool sup_up;

	unsigned nworkers;
	mqtt_worker *w;
};

static void ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* Publish len bytes to topic, QoS 1, not retained. 0 when handed to paho. */
static int publish(mqtt_binding *b, const char *topic, const char *payload, size_t len)
{
	if (len > INT_MAX)
		return -1;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc = MQTTAsync_send(b->cl, topic, (int)len, payload, MQTT_QOS, 0, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		log_debug("mqtt: publish to %s failed: %s", topic, MQTTAsync_strerror(rc));
		return -1;
	}
	return 0;
}

/* Lost connection or failed connect: schedule the next attempt. Caller
 * holds b->mx. */
static void schedule_retry(mqtt_binding *b)
{
	b->state = ST_DOWN;
	clock_gettime(CLOCK_MONOTONIC, &b->next_try);
	ts_add_ms(&b->next_try, b->backoff_ms);
	log_info("mqtt: next connection attempt to %s:%d in %ld ms", b->host, b->port, b->backoff_ms);
	b->backoff_ms *= 2;
	if (b->backoff_ms > MQTT_BACKOFF_MAX_MS)
		b->backoff_ms = MQTT_BACKOFF_MAX_MS;
	pthread_cond_broadcast(&b->cv);
}

/*
 * Why a TLS connect failed. OpenSSL's errors (a chain that does not
 * verify) come through ssl_error_cb; paho's host name check leaves no
 * OpenSSL error, only a trace line ("rc from X509_check_ip_asc is 0" after
 * "X509_check_host ... failed"), so while a TLS connection is being set up
 * the trace is on at MINIMUM and read here (paho's trace is process-wide;
 * the daemon has one binding). tls_seen records, per attempt, what was
 * learnt: the broker's certificate passed both checks, or a reason was
 * already logged.
 */
enum { TLS_SEEN_PEER_OK = 1, TLS_SEEN_REASON = 2 };
static atomic_int tls_seen;
static char tls_host[256]; /* the broker's host, for the trace's messages */

static void on_trace(enum MQTTASYNC_TRACE_LEVELS level, char *msg)
{
	const char *p;
	(void)level;
	if (!msg)
		return;
	if (strstr(msg, "peername from X509_check_host")) {
		atomic_fetch_or(&tls_seen, TLS_SEEN_PEER_OK);
	} else if ((p = strstr(msg, "rc from X509_check_ip_asc is ")) != NULL) {
		if (strcmp(p + 29, "1") == 0) {
			atomic_fetch_or(&tls_seen, TLS_SEEN_PEER_OK);
		} else {
			atomic_fetch_or(&tls_seen, TLS_SEEN_REASON);
			log_warn("mqtt: TLS: the broker's certificate does not name %s (host name "
			         "verification)", tls_host);
		}
	}
}

/* OpenSSL's reasons for a failed handshake (paho's receive thread). */
static int on_tls_error(const char *str, size_t len, void *u)
{
	mqtt_binding *b = u;
	while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == '\r'))
		len--;
	atomic_fetch_or(&tls_seen, TLS_SEEN_REASON);
	log_warn("mqtt: TLS with %s:%d: %.*s", b->host, b->port, (int)(len > 300 ? 300 : len), str);
	return 0;
}

static void on_sub_ok(void *ctx, MQTTAsync_successData *r)
{
	mqtt_binding *b = ctx;
	(void)r;
	pthread_mutex_lock(&b->mx);
	if (b->state == ST_CONNECTING) {
		b->state = ST_UP;
		b->backoff_ms = MQTT_BACKOFF_MIN_MS;
		log_info("mqtt: connected to %s:%d, subscribed to %s, %s, %s", b->host, b->port,
		         b->sub_req, b->sub_reg, b->sub_resp);
	}
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mx);
}

static void on_sub_fail(void *ctx, MQTTAsync_failureData *r)
{
	mqtt_binding *b = ctx;
	log_warn("mqtt: subscribe failed (%s); reconnecting", r && r->message ? r->message : "-");
	pthread_mutex_lock(&b->mx);
	schedule_retry(b);
	pthread_mutex_unlock(&b->mx);
	/* The next connect attempt needs the old session closed. */
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
	dopt.timeout = 0;
	MQTTAsync_disconnect(b->cl, &dopt);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *r)
{
	mqtt_binding *b = ctx;
	if (b->tls)
		MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_FATAL);
	char *topics[3] = { b->sub_req, b->sub_reg, b->sub_resp };
	int qos[3] = { MQTT_QOS, MQTT_QOS, MQTT_QOS };
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	(void)r;
	ro.onSuccess = on_sub_ok;
	ro.onFailure = on_sub_fail;
	ro.context = b;
	int rc = MQTTAsync_subscribeMany(b->cl, 3, topics, qos, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		log_warn("mqtt: cannot subscribe: %s", MQTTAsync_strerror(rc));
		pthread_mutex_lock(&b->mx);
		schedule_retry(b);
		pthread_mutex_unlock(&b->mx);
	}
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
	mqtt_binding *b = ctx;
	const char *hint = "";
	if (b->tls) {
		int seen = atomic_load(&tls_seen);
		MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_FATAL);
		if (seen == TLS_SEEN_PEER_OK)
			hint = b->tls_cert ? " (the broker's certificate verified; the broker closed the "
			                     "connection: does it accept our client certificate?)"
			                   : " (the broker's certificate verified; the broker closed the "
			                     "connection: does it require a client certificate? none is "
			                     "configured)";
	}
	log_warn("mqtt: cannot connect to %s:%d: %s%s", b->host, b->port,
	         r && r->message ? r->message : (r ? MQTTAsync_strerror(r->code) : "-"), hint);
	pthread_mutex_lock(&b->mx);
	schedule_retry(b);
	pthread_mutex_unlock(&b->mx);
}

static void on_lost(void *ctx, char *cause)
{
	mqtt_binding *b = ctx;
	log_warn("mqtt: connection to %s:%d lost%s%s", b->host, b->port, cause ? ": " : "",
	         cause ? cause : "");
	pthread_mutex_lock(&b->mx);
	b->backoff_ms = MQTT_BACKOFF_MIN_MS;
	schedule_retry(b);
	pthread_mutex_unlock(&b->mx);
}

static void *supervisor_main(void *arg)
{
	mqtt_binding *b = arg;
	pthread_mutex_lock(&b->mx);
	while (!b->stopping) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (b->state != ST_DOWN || ts_before(&now, &b->next_try)) {
			struct timespec until = now;
			ts_add_ms(&until, 200); /* also re-checks a connect that hangs */
			if (b->state == ST_DOWN && ts_before(&b->next_try, &until))
				until = b->next_try;
			pthread_cond_timedwait(&b->cv, &b->mx, &until);
			continue;
		}
		b->state = ST_CONNECTING;
		pthread_mutex_unlock(&b->mx);

		MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
		co.keepAliveInterval = b->keepalive;
		co.cleansession = 0;
		co.MQTTVersion = MQTTVERSION_3_1_1;
		co.connectTimeout = 5;
		co.onSuccess = on_connect_ok;
		co.onFailure = on_connect_fail;
		co.context = b;
		if (b->username && *b->username)
			co.username = b->username;
		if (b->password && *b->password)
			co.password = b->password;
		MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
		if (b->tls) {
			so.trustStore = b->tls_ca;     /* NULL: the system's store */
			so.keyStore = b->tls_cert;
			so.privateKey = b->tls_key;
			so.enableServerCertAuth = 1;  /* the chain must verify */
			so.verify = 1;                /* and name the host */
			so.ssl_error_cb = on_tls_error;
			so.ssl_error_context = b;
			co.ssl = &so;
		}
		if (b->tls) {
			atomic_store(&tls_seen, 0);
			MQTTAsync_setTraceCallback(on_trace);
			MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_MINIMUM);
		}
		int rc = MQTTAsync_connect(b->cl, &co);

		pthread_mutex_lock(&b->mx);
		if (rc != MQTTASYNC_SUCCESS) {
			log_warn("mqtt: connect to %s:%d: %s", b->host, b->port, MQTTAsync_strerror(rc));
			schedule_retry(b);
		}
	}
	pthread_mutex_unlock(&b->mx);
	return NULL;
}

/* ---- requests ----------------------------------------------------- */

static void job_free(mqtt_job *j)
{
	if (!j)
		return;
	free(j->payload);
	free(j);
}

/* Answer one request message (worker thread, or the callback for "busy"). */
static void answer(mqtt_binding *b, const mqtt_job *j, bool busy)
{
	m2m_request req;
	m2m_response rsp;
	char topic[2 * MQTT_LEVEL_MAX + 64];
	char *text = NULL;

	m2m_request_init(&req);
	m2m_response_init(&rsp);
	if (mqtt_topic_reply(&j->topic, topic, sizeof topic) != 0)
		goto out;
	if (mqtt_to_request(j->payload, j->len, j->fmt, &req, &rsp) == 0) {
		if (busy) {
			m2m_error(&rsp, RSC_INTERNAL_SERVER_ERROR,
			          "server busy: more than %u queued MQTT requests; retry later", HL_MQTT_QUEUE);
		} else if (j->topic.kind == MQTT_T_REG_REQ &&
		           !(req.op == M2M_OP_CREATE && (req.ty == 2 || req.ty == 16))) {
			m2m_error(&rsp, RSC_OPERATION_NOT_ALLOWED,
			          "only the Create of an AE or remoteCSE is allowed on a reg_req topic");
		} else {
			req.fmt = j->fmt;
			req.raw_ok = false;
			cse_handle(b->c, &req, &rsp);
		}
	}
	if (rsp.rsc == 0)
		m2m_error(&rsp, RSC_INTERNAL_SERVER_ERROR, "no response status");
	if (!rsp.fr)
		rsp.fr = m2m_strdup(b->csi);
	text = mqtt_response_encode(&req, &rsp, j->fmt);
	if (!text) {
		log_error("mqtt: cannot encode the response to %s", req.rqi ? req.rqi : "-");
		goto out;
	}
	log_debug("mqtt: %s op=%d to=%s rqi=%s -> %d", topic, req.op, req.to ? req.to : "-",
	          req.rqi ? req.rqi : "-", rsp.rsc);
	publish(b, topic, text, strlen(text));
out:
	free(text);
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
}

static void *worker_main(void *arg)
{
	mqtt_worker *w = arg;
	pthread_mutex_lock(&w->mx);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mx);
		if (!w->head)
			break; /* stopping and drained */
		mqtt_job *j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		w->len--;
		pthread_mutex_unlock(&w->mx);
		answer(w->b, j, false);
		job_free(j);
		pthread_mutex_lock(&w->mx);
	}
	pthread_mutex_unlock(&w->mx);
	return NULL;
}

/* A response to one of our outgoing requests: hand it to its waiter (the
 * one with that rqi and the topic's serialization). */
static void response_arrived(mqtt_binding *b, m2m_fmt fmt, const char *payload, size_t len)
{
	json_t *root = NULL;
	const char *rqi;
	if (len > HL_MAX_BODY || prim_decode(payload, len, fmt, "m2m:rsp", &root, NULL, 0) != 0)
		return;
	rqi = json_string_value(json_object_get(root, "rqi"));
	pthread_mutex_lock(&b->mx);
	for (mqtt_wait *w = b->waits; rqi && w; w = w->next) {
		if (!w->payload && w->fmt == fmt && strcmp(w->rqi, rqi) == 0) {
			w->payload = malloc(len + 1);
			if (w->payload) {
				memcpy(w->payload, payload, len);
				w->payload[len] = '\0';
				w->len = len;
			}
			pthread_cond_broadcast(&b->cv);
			break;
		}
	}
	pthread_mutex_unlock(&b->mx);
	json_decref(root);
}

/* paho's receive thread: copy, queue, return. Returns 1 (message taken). */
static int on_message(void *ctx, char *topic_name, int topic_len, MQTTAsync_message *m)
{
	mqtt_binding *b = ctx;
	mqtt_job *j = NULL;
	char topic[2 * MQTT_LEVEL_MAX + 64];
	size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic_name);
	size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	mqtt_topic t;
	m2m_fmt fmt;

	if (tl >= sizeof topic || memchr(topic_name, '\0', tl)) {
		log_warn("mqtt: message on an over-long or malformed topic ignored");
		goto out;
	}
	memcpy(topic, topic_name, tl);
	topic[tl] = '\0';
	if (mqtt_topic_parse(topic, &t) != 0) {
		log_warn("mqtt: message on unexpected topic %.128s ignored", topic);
		goto out;
	}
	if (mqtt_fmt_parse(t.type, &fmt) != 0) {
		log_warn("mqtt: message in serialization '%s' on %.128s ignored (json and xml only)",
		         t.type, topic);
		goto out;
	}
	if (t.kind == MQTT_T_RESP) {
		response_arrived(b, fmt, m->payload, len);
		goto out;
	}
	if (t.kind != MQTT_T_REQ && t.kind != MQTT_T_REG_REQ)
		goto out;
	j = calloc(1, sizeof *j);
	if (!j)
		goto out;
	j->topic = t;
	j->fmt = fmt;
	j->len = len;
	j->payload = malloc(len + 1);
	if (!j->payload)
		goto out;
	if (len)
		memcpy(j->payload, m->payload, len);
	j->payload[len] = '\0';

	mqtt_worker *w = &b->w[util_hash(t.orig) % b->nworkers];
	pthread_mutex_lock(&w->mx);
	if (w->stop) {
		pthread_mutex_unlock(&w->mx);
		goto out; /* shutting down: the originator times out */
	}
	if (w->len >= HL_MQTT_QUEUE) {
		pthread_mutex_unlock(&w->mx);
		log_warn("mqtt: request queue full; answering 5000");
		answer(b, j, true);
		goto out;
	}
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->len++;
	j = NULL;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mx);
out:
	job_free(j);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic_name);
	return 1;
}

/* ---- lifecycle ------------------------------------------------------ */

/* The binding that transport_mqtt_send() uses; users counted so that stop
 * can wait for them. */
static pthread_mutex_t g_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static mqtt_binding *g_b;
static unsigned g_users;

static void binding_free(mqtt_binding *b)
{
	if (!b)
		return;
	if (b->cl)
		MQTTAsync_destroy(&b->cl);
	for (unsigned i = 0; b->w && i < b->nworkers; i++) {
		pthread_mutex_destroy(&b->w[i].mx);
		pthread_cond_destroy(&b->w[i].cv);
	}
	free(b->w);
	pthread_mutex_destroy(&b->mx);
	pthread_cond_destroy(&b->cv);
	free(b->host);
	free(b->cse_id);
	free(b->csi);
	free(b->username);
	free(b->tls_ca);
	free(b->tls_cert);
	free(b->tls_key);
	if (b->password)
		explicit_bzero(b->password, strlen(b->password));
	free(b->password);
	free(b);
}

static void on_disconnected(void *ctx, MQTTAsync_successData *r)
{
	mqtt_binding *b = ctx;
	(void)r;
	pthread_mutex_lock(&b->mx);
	b->disconnected = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mx);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	on_disconnected(ctx, NULL);
}

int mqtt_binding_start(mqtt_binding **out, cse *c, const mqtt_opts *o)
{
	mqtt_binding *b = NULL;
	char uri[300], cid[MQTT_LEVEL_MAX + 8];
	int rc;

	*out = NULL;
	if (!o || !o->host || !*o->host || o->port <= 0 || o->port > 65535 || !o->cse_id ||
	    !*o->cse_id) {
		log_error("mqtt: broker host, port and CSE-ID are required");
		return -1;
	}
	b = calloc(1, sizeof *b);
	if (!b)
		return -1;
	pthread_mutex_init(&b->mx, NULL);
	cond_init_mono(&b->cv);
	b->c = c;
	b->host = m2m_strdup(o->host);
	b->port = o->port;
	b->keepalive = o->keepalive > 0 ? o->keepalive : 60;
	b->username = m2m_strdup(o->username ? o->username : "");
	b->password = m2m_strdup(o->password ? o->password : "");
	b->tls = o->tls;
	if (b->tls) {
		snprintf(tls_host, sizeof tls_host, "%s", o->host);
		const char *const files[3] = { o->tls_ca, o->tls_cert, o->tls_key };
		char **const dst[3] = { &b->tls_ca, &b->tls_cert, &b->tls_key };
		for (int i = 0; i < 3; i++) {
			if (!files[i] || !*files[i])
				continue;
			FILE *f = fopen(files[i], "r");
			if (!f) {
				log_error("mqtt: TLS file '%s': %s", files[i], strerror(errno));
				goto fail;
			}
			fclose(f);
			*dst[i] = m2m_strdup(files[i]);
		}
		if (!b->tls_cert != !b->tls_key) {
			log_error("mqtt: a TLS client certificate needs its key, and the reverse");
			goto fail;
		}
	}
	b->csi = malloc(strlen(o->cse_id) + 2);
	if (!b->csi)
		goto fail;
	b->csi[0] = '/';
	memcpy(b->csi + 1, o->cse_id, strlen(o->cse_id) + 1);
	char level[MQTT_LEVEL_MAX];
	if (mqtt_id_to_level(o->cse_id, NULL, level, sizeof level) != 0) {
		log_error("mqtt: CSE-ID '%s' cannot be a topic level", o->cse_id);
		goto fail;
	}
	b->cse_id = m2m_strdup(level);
	snprintf(b->sub_req, sizeof b->sub_req, "/oneM2M/req/+/%s/#", level);
	snprintf(b->sub_reg, sizeof b->sub_reg, "/oneM2M/reg_req/+/%s/#", level);
	snprintf(b->sub_resp, sizeof b->sub_resp, "/oneM2M/resp/%s/+/#", level);
	if (o->client_id && *o->client_id)
		snprintf(cid, sizeof cid, "%s", o->client_id);
	else
		snprintf(cid, sizeof cid, "C::%s", o->cse_id);
	bool v6 = strchr(o->host, ':') != NULL;
	rc = snprintf(uri, sizeof uri, "%s://%s%s%s:%d", b->tls ? "ssl" : "tcp", v6 ? "[" : "",
	              o->host, v6 ? "]" : "", o->port);
	if (rc < 0 || (size_t)rc >= sizeof uri)
		goto fail;

	if (paho_load(b->tls) != 0)
		goto fail;
	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
	cro.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&b->cl, uri, cid, MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
	if (rc != MQTTASYNC_SUCCESS) {
		log_error("mqtt: cannot create a client for %s: %s", uri, MQTTAsync_strerror(rc));
		b->cl = NULL;
		goto fail;
	}
	rc = MQTTAsync_setCallbacks(b->cl, b, on_lost, on_message, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		log_error("mqtt: cannot set callbacks: %s", MQTTAsync_strerror(rc));
		goto fail;
	}

	b->nworkers = o->workers ? o->workers : 2;
	b->w = calloc(b->nworkers, sizeof *b->w);
	if (!b->w)
		goto fail;
	for (unsigned i = 0; i < b->nworkers; i++) {
		b->w[i].b = b;
		pthread_mutex_init(&b->w[i].mx, NULL);
		pthread_cond_init(&b->w[i].cv, NULL);
	}
	for (unsigned i = 0; i < b->nworkers; i++) {
		if (pthread_create(&b->w[i].th, NULL, worker_main, &b->w[i]) != 0)
			goto fail_threads;
		b->w[i].th_up = true;
	}
	b->state = ST_DOWN;
	b->backoff_ms = MQTT_BACKOFF_MIN_MS;
	clock_gettime(CLOCK_MONOTONIC, &b->next_try);
	if (pthread_create(&b->sup, NULL, supervisor_main, b) != 0)
		goto fail_threads;
	b->sup_up = true;

	pthread_mutex_lock(&g_mx);
	if (!g_b)
		g_b = b;
	pthread_mutex_unlock(&g_mx);
	log_info("mqtt: client %s for broker %s (CSE topic level %s, %u workers)", cid, uri, level,
	         b->nworkers);
	*out = b;
	return 0;

fail_threads:
	for (unsigned i = 0; i < b->nworkers; i++) {
		pthread_mutex_lock(&b->w[i].mx);
		b->w[i].stop = true;
		pthread_cond_signal(&b->w[i].cv);
		pthread_mutex_unlock(&b->w[i].mx);
		if (b->w[i].th_up)
			pthread_join(b->w[i].th, NULL);
	}
fail:
	binding_free(b);
	return -1;
}

void mqtt_binding_stop(mqtt_binding **bp)
{
	mqtt_binding *b;
	if (!bp || !*bp)
		return;
	b = *bp;
	*bp = NULL;

	/* No new outgoing senders; wake and wait out those in flight. */
	pthread_mutex_lock(&g_mx);
	if (g_b == b)
		g_b = NULL;
	pthread_mutex_unlock(&g_mx);
	pthread_mutex_lock(&b->mx);
	b->stopping = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mx);
	pthread_mutex_lock(&g_mx);
	while (g_users > 0)
		pthread_cond_wait(&g_cv, &g_mx);
	pthread_mutex_unlock(&g_mx);

	if (b->sup_up)
		pthread_join(b->sup, NULL);
	/* Answer what is queued; the callback refuses new messages. */
	for (unsigned i = 0; i < b->nworkers; i++) {
		pthread_mutex_lock(&b->w[i].mx);
		b->w[i].stop = true;
		pthread_cond_signal(&b->w[i].cv);
		pthread_mutex_unlock(&b->w[i].mx);
	}
	for (unsigned i = 0; i < b->nworkers; i++)
		if (b->w[i].th_up)
			pthread_join(b->w[i].th, NULL);

	if (MQTTAsync_isConnected(b->cl)) {
		MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
		dopt.timeout = 1000; /* lets the last responses leave */
		dopt.onSuccess = on_disconnected;
		dopt.onFailure = on_disconnect_fail;
		dopt.context = b;
		if (MQTTAsync_disconnect(b->cl, &dopt) == MQTTASYNC_SUCCESS) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			ts_add_ms(&until, 3000);
			pthread_mutex_lock(&b->mx);
			while (!b->disconnected &&
			       pthread_cond_timedwait(&b->cv, &b->mx, &until) != ETIMEDOUT)
				;
			pthread_mutex_unlock(&b->mx);
		}
	}
	log_info("mqtt: disconnected from %s:%d", b->host, b->port);
	binding_free(b);
}

bool mqtt_binding_connected(mqtt_binding *b)
{
	bool up;
	if (!b)
		return false;
	pthread_mutex_lock(&b->mx);
	up = b->state == ST_UP;
	pthread_mutex_unlock(&b->mx);
	return up;
}

/* ---- outgoing -------------------------------------------------------- */

/* What an mqtt:// URL says: mqtt://host[:port][/topic][?ct=json|xml]. */
typedef struct mqtt_url {
	char host[256];
	int port;                       /* 1883 when absent */
	char topic[2 * MQTT_LEVEL_MAX + 64]; /* the path without its '/', "" when none */
	bool ct_set;                    /* ct given */
	m2m_fmt fmt;                    /* ct, when given */
} mqtt_url;

/* Split url into u. -1 when malformed, the topic is too long or holds a
 * wildcard, or the query is anything but one ct=json / ct=xml. */
static int url_split(const char *url, mqtt_url *u)
{
	const char *p = url + 7, *hs, *he;
	size_t n;

	memset(u, 0, sizeof *u);
	if (strncasecmp(url, "mqtt://", 7) != 0)
		return -1;
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (!he)
			return -1;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof u->host)
		return -1;
	memcpy(u->host, hs, (size_t)(he - hs));
	u->host[he - hs] = '\0';
	u->port = 1883;
	if (*p == ':') {
		char *end = NULL;
		errno = 0;
		long v = strtol(p + 1, &end, 10);
		if (errno || end == p + 1 || v < 1 || v > 65535)
			return -1;
		u->port = (int)v;
		p = end;
	}
	if (*p && *p != '/' && *p != '?')
		return -1;
	if (*p == '/') {
		p++;
		n = strcspn(p, "?");
		if (n >= sizeof u->topic)
			return -1;
		memcpy(u->topic, p, n);
		u->topic[n] = '\0';
		if (strpbrk(u->topic, "+#"))
			return -1;
		p += n;
	}
	if (*p == '?') {
		if (strncmp(p + 1, "ct=", 3) != 0 || mqtt_fmt_parse(p + 4, &u->fmt) != 0)
			return -1;
		u->ct_set = true;
	}
	return 0;
}

/* receiver: the entity whose request topic is used (NULL: req->to);
 * cse_poa: url is a CSE's point of access, which names no topic. */
static int mqtt_send(const char *url, const char *receiver, bool cse_poa, const m2m_request *req,
                     m2m_response *rsp, long timeout_ms)
{
	char topic[2 * MQTT_LEVEL_MAX + 64], resp_topic[2 * MQTT_LEVEL_MAX + 64];
	char target[MQTT_LEVEL_MAX];
	char *text = NULL;
	mqtt_binding *b;
	mqtt_wait w = { 0 };
	mqtt_url u;
	m2m_fmt fmt;
	int rc = -1;

	if (!url || url_split(url, &u) != 0) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "malformed or unusable MQTT address '%.64s'",
		          url ? url : "(null)");
		return -1;
	}
	if (cse_poa && u.topic[0]) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE,
		          "a CSE's MQTT point of access has no topic: '%.64s'", url);
		return -1;
	}
	/* ct wins; else a topic ending in /xml gets XML; else JSON */
	fmt = M2M_FMT_JSON;
	if (u.ct_set) {
		fmt = u.fmt;
	} else {
		size_t tl = strlen(u.topic);
		if (tl >= 4 && strcmp(u.topic + tl - 4, "/xml") == 0)
			fmt = M2M_FMT_XML;
	}
	if (!req->rqi) {
		m2m_error(rsp, RSC_BAD_REQUEST, "request without rqi");
		return -1;
	}
	pthread_mutex_lock(&g_mx);
	b = g_b;
	if (b)
		g_users++;
	pthread_mutex_unlock(&g_mx);
	if (!b) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "no MQTT connection (no broker configured)");
		return -1;
	}
	if (strcasecmp(u.host, b->host) != 0 || u.port != b->port) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE,
		          "MQTT broker %.64s:%d is not the configured broker", u.host, u.port);
		goto out;
	}
	if (!mqtt_binding_connected(b)) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "not connected to the MQTT broker");
		goto out;
	}
	text = mqtt_request_encode(req, fmt);
	if (!text) {
		m2m_error(rsp, RSC_INTERNAL_SERVER_ERROR, "cannot encode the request primitive");
		goto out;
	}
	if (u.topic[0]) {
		/* The path is the complete topic (a notification URL). */
		if (publish(b, u.topic, text, strlen(text)) != 0) {
			m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "publish to %.64s failed", u.topic);
			goto out;
		}
		rsp->rsc = RSC_OK;
		free(rsp->rqi);
		rsp->rqi = m2m_strdup(req->rqi);
		rc = 0;
		goto out;
	}
	if (!receiver)
		receiver = req->to;
	if (!receiver || mqtt_id_to_level(receiver, b->csi, target, sizeof target) != 0) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "target '%.64s' has no MQTT topic level",
		          receiver ? receiver : "(null)");
		goto out;
	}
	snprintf(topic, sizeof topic, "/oneM2M/req/%s/%s/%s", b->cse_id, target, mqtt_fmt_name(fmt));
	snprintf(resp_topic, sizeof resp_topic, "/oneM2M/resp/%s/%s/%s", b->cse_id, target,
	         mqtt_fmt_name(fmt));
	if (timeout_ms <= 0)
		timeout_ms = HL_NOTIFY_TIMEOUT_MS;

	w.rqi = req->rqi;
	w.fmt = fmt;
	pthread_mutex_lock(&b->mx);
	w.next = b->waits;
	b->waits = &w;
	pthread_mutex_unlock(&b->mx);
	if (publish(b, topic, text, strlen(text)) != 0) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "publish to %s failed", topic);
	} else {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		ts_add_ms(&until, timeout_ms);
		pthread_mutex_lock(&b->mx);
		while (!w.payload && !b->stopping &&
		       pthread_cond_timedwait(&b->cv, &b->mx, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&b->mx);
	}
	pthread_mutex_lock(&b->mx);
	for (mqtt_wait **pp = &b->waits; *pp; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	pthread_mutex_unlock(&b->mx);
	if (rsp->rsc != 0)
		goto out; /* publish failed */
	if (!w.payload) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "no response on %s within %ld ms", resp_topic,
		          timeout_ms);
		goto out;
	}
	if (mqtt_response_decode(w.payload, w.len, fmt, rsp) != 0) {
		m2m_error(rsp, RSC_TARGET_NOT_REACHABLE, "malformed response primitive on %s", resp_topic);
		goto out;
	}
	rc = 0;
out:
	free(w.payload);
	free(text);
	pthread_mutex_lock(&g_mx);
	if (--g_users == 0)
		pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mx);
	return rc;
}

int transport_mqtt_send(const char *url, const m2m_request *req, m2m_response *rsp,
                        long timeout_ms)
{
	return mqtt_send(url, NULL, false, req, rsp, timeout_ms);
}

int transport_mqtt_forward(const char *url, const char *hop_csi, const m2m_request *req,
                           m2m_response *rsp, long timeout_ms)
{
	return mqtt_send(url, hop_csi, true, req, rsp, timeout_ms);
}
