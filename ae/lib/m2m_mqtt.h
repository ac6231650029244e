/*
 * m2m_mqtt.h - a small oneM2M MQTT client (TS-0010, JSON) for AEs and
 * tests, on paho.mqtt.c (MQTTAsync).
 *
 * Design note
 *   One m2m_mqtt is one broker connection (MQTT 3.1.1, clean session, so
 *   that a test never inherits another run's queued messages). Every
 *   message arriving on a subscribed topic is appended to an unbounded-by-
 *   time but size-capped (M2M_MQTT_MAX_QUEUED) inbox under a mutex and
 *   condvar; the caller's thread waits for the message it wants. Calls are
 *   synchronous with a timeout: connect, subscribe (waits for SUBACK),
 *   publish (QoS 1, waits for PUBACK), wait for a message.
 *
 *   m2m_mqtt_request() is the AE-side exchange: publish a request
 *   primitive to /oneM2M/req/<orig>/<cse>/json (or reg_req) and wait for
 *   the response with the same rqi on the matching resp topic (subscribe
 *   to it first with m2m_mqtt_subscribe()).
 *
 * Ownership
 *   m2m_mqtt_new() returns a client freed by m2m_mqtt_free(&m), which NULLs
 *   the pointer. Returned json_t values are new references. Request JSON
 *   passed in is borrowed.
 *
 * Thread safety: one thread at a time per client.
 */
#ifndef HEARTH_M2M_MQTT_H
#define HEARTH_M2M_MQTT_H

#include <stddef.h>
#include <jansson.h>

#define M2M_MQTT_MAX_QUEUED 1024u

typedef struct m2m_mqtt m2m_mqtt;

/* Connect to host:port with client id (NULL: a generated "A::..." id).
 * Returns NULL (reason on stderr) when the broker does not accept within
 * timeout_ms. */
m2m_mqtt *m2m_mqtt_new(const char *host, int port, const char *client_id, long timeout_ms);
void m2m_mqtt_free(m2m_mqtt **m);

/* Subscribe to a topic filter with QoS 1. 0, or -1. */
int m2m_mqtt_subscribe(m2m_mqtt *m, const char *filter);

/* Publish len bytes (QoS 1) and wait for the broker's PUBACK. 0, or -1. */
int m2m_mqtt_publish(m2m_mqtt *m, const char *topic, const void *payload, size_t len);

/* How payloads are read (matching by rqi, and what m2m_mqtt_wait returns):
 * decode(topic, payload, len) returns a new reference or NULL. NULL (the
 * default) parses JSON. The XML serialization, for instance, is decoded by
 * a function the caller supplies, so that this library needs no XML codec. */
typedef json_t *(*m2m_mqtt_decoder)(const char *topic, const char *payload, size_t len);
void m2m_mqtt_set_decoder(m2m_mqtt *m, m2m_mqtt_decoder decode);

/* Next inbox message whose topic equals `topic` (NULL: any) and, when rqi
 * is not NULL, whose decoded payload has that "rqi". Earlier non-matching
 * messages stay queued. Returns the decoded payload (NULL on timeout or
 * when the match does not decode); *topic_out (optional) gets a malloc'ed
 * copy of its topic. */
json_t *m2m_mqtt_wait(m2m_mqtt *m, const char *topic, const char *rqi, long timeout_ms,
                      char **topic_out);

/* Publish req (a JSON request primitive with "rqi") to req_topic and wait
 * for the response on resp_topic. Returns the response primitive or NULL. */
json_t *m2m_mqtt_request(m2m_mqtt *m, const char *req_topic, const char *resp_topic,
                         const json_t *req, long timeout_ms);

/* Drop every queued message. */
void m2m_mqtt_drain(m2m_mqtt *m);

#endif
