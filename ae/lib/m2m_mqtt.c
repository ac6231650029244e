/*
 * m2m_mqtt.c - a small oneM2M MQTT client on MQTTAsync; see m2m_mqtt.h.
 *
 * Design note
 *   paho calls back on its own thread; every callback only records a fact
 *   (an arrived message, the completion of the operation being waited for)
 *   under m->mx and signals m->cv. Each synchronous call starts one paho
 *   operation with a fresh sequence number as its callback context and
 *   waits for that sequence number to complete or for its timeout; a late
 *   callback of an operation that already timed out only bumps a counter
 *   nobody waits on (the context is a number, never a pointer to a stack
 *   frame that is gone).
 */
#include "m2m_mqtt.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

typedef struct mq_msg {
	char *topic;
	char *payload;
	size_t len;
	struct mq_msg *next;
} mq_msg;

typedef struct mq_op {
	struct m2m_mqtt *m;
	unsigned long seq;
} mq_op;

struct m2m_mqtt {
	MQTTAsync cl;
	pthread_mutex_t mx;
	pthread_cond_t cv;
	mq_msg *head, *tail;
	size_t n;
	unsigned long seq;      /* operations started */
	unsigned long done_seq; /* last operation completed */
	int done_ok;
	mq_op ops[64];          /* contexts, reused round-robin */
	m2m_mqtt_decoder decode; /* NULL: JSON */
};

static atomic_uint mq_ids;

static void deadline(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void op_done(void *ctx, int ok)
{
	mq_op *op = ctx;
	m2m_mqtt *m = op->m;
	pthread_mutex_lock(&m->mx);
	if (op->seq > m->done_seq || op->seq == m->seq) {
		m->done_seq = op->seq;
		m->done_ok = ok;
	}
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mx);
}

static void on_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	op_done(ctx, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	op_done(ctx, 0);
}

static mq_op *op_begin(m2m_mqtt *m)
{
	pthread_mutex_lock(&m->mx);
	unsigned long s = ++m->seq;
	mq_op *op = &m->ops[s % (sizeof m->ops / sizeof m->ops[0])];
	op->m = m;
	op->seq = s;
	pthread_mutex_unlock(&m->mx);
	return op;
}

/* Wait for operation seq; 0 when it succeeded. */
static int op_wait(m2m_mqtt *m, unsigned long seq, long timeout_ms)
{
	struct timespec until;
	int rc = -1;
	deadline(&until, timeout_ms);
	pthread_mutex_lock(&m->mx);
	while (m->done_seq != seq &&
	       pthread_cond_timedwait(&m->cv, &m->mx, &until) != ETIMEDOUT)
		;
	if (m->done_seq == seq && m->done_ok)
		rc = 0;
	pthread_mutex_unlock(&m->mx);
	return rc;
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *msg)
{
	m2m_mqtt *m = ctx;
	size_t tl = tlen > 0 ? (size_t)tlen : strlen(topic);
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	mq_msg *e = calloc(1, sizeof *e);
	if (e) {
		e->topic = malloc(tl + 1);
		e->payload = malloc(len + 1);
	}
	if (!e || !e->topic || !e->payload) {
		if (e) {
			free(e->topic);
			free(e->payload);
		}
		free(e);
		goto out;
	}
	memcpy(e->topic, topic, tl);
	e->topic[tl] = '\0';
	if (len)
		memcpy(e->payload, msg->payload, len);
	e->payload[len] = '\0';
	e->len = len;
	pthread_mutex_lock(&m->mx);
	if (m->n >= M2M_MQTT_MAX_QUEUED) {
		mq_msg *old = m->head; /* drop the oldest */
		m->head = old->next;
		if (!m->head)
			m->tail = NULL;
		m->n--;
		free(old->topic);
		free(old->payload);
		free(old);
	}
	if (m->tail)
		m->tail->next = e;
	else
		m->head = e;
	m->tail = e;
	m->n++;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mx);
out:
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

m2m_mqtt *m2m_mqtt_new(const char *host, int port, const char *client_id, long timeout_ms)
{
	char uri[300], cid[128];
	m2m_mqtt *m = calloc(1, sizeof *m);
	pthread_condattr_t ca;
	int rc;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->mx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(uri, sizeof uri, "tcp://%s:%d", host, port);
	if (client_id)
		snprintf(cid, sizeof cid, "%s", client_id);
	else
		snprintf(cid, sizeof cid, "A::m2m-%ld-%u", (long)getpid(), atomic_fetch_add(&mq_ids, 1));
	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
	cro.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&m->cl, uri, cid, MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "m2m_mqtt: create %s: %s\n", uri, MQTTAsync_strerror(rc));
		m->cl = NULL;
		goto fail;
	}
	MQTTAsync_setCallbacks(m->cl, m, NULL, on_message, NULL);
	mq_op *op = op_begin(m);
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	co.keepAliveInterval = 30;
	co.cleansession = 1;
	co.MQTTVersion = MQTTVERSION_3_1_1;
	co.connectTimeout = (int)(timeout_ms / 1000 > 0 ? timeout_ms / 1000 : 1);
	co.onSuccess = on_ok;
	co.onFailure = on_fail;
	co.context = op;
	rc = MQTTAsync_connect(m->cl, &co);
	if (rc != MQTTASYNC_SUCCESS || op_wait(m, op->seq, timeout_ms) != 0) {
		fprintf(stderr, "m2m_mqtt: cannot connect to %s\n", uri);
		goto fail;
	}
	return m;
fail:
	m2m_mqtt_free(&m);
	return NULL;
}

void m2m_mqtt_drain(m2m_mqtt *m)
{
	pthread_mutex_lock(&m->mx);
	while (m->head) {
		mq_msg *e = m->head;
		m->head = e->next;
		free(e->topic);
		free(e->payload);
		free(e);
	}
	m->tail = NULL;
	m->n = 0;
	pthread_mutex_unlock(&m->mx);
}

void m2m_mqtt_free(m2m_mqtt **mp)
{
	m2m_mqtt *m;
	if (!mp || !*mp)
		return;
	m = *mp;
	*mp = NULL;
	if (m->cl) {
		if (MQTTAsync_isConnected(m->cl)) {
			mq_op *op = op_begin(m);
			MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
			d.timeout = 500;
			d.onSuccess = on_ok;
			d.onFailure = on_fail;
			d.context = op;
			if (MQTTAsync_disconnect(m->cl, &d) == MQTTASYNC_SUCCESS)
				op_wait(m, op->seq, 2000);
		}
		MQTTAsync_destroy(&m->cl);
	}
	m2m_mqtt_drain(m);
	pthread_mutex_destroy(&m->mx);
	pthread_cond_destroy(&m->cv);
	free(m);
}

int m2m_mqtt_subscribe(m2m_mqtt *m, const char *filter)
{
	mq_op *op = op_begin(m);
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess = on_ok;
	ro.onFailure = on_fail;
	ro.context = op;
	if (MQTTAsync_subscribe(m->cl, filter, 1, &ro) != MQTTASYNC_SUCCESS)
		return -1;
	return op_wait(m, op->seq, 5000);
}

int m2m_mqtt_publish(m2m_mqtt *m, const char *topic, const void *payload, size_t len)
{
	if (len > INT_MAX)
		return -1;
	mq_op *op = op_begin(m);
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess = on_ok;
	ro.onFailure = on_fail;
	ro.context = op;
	if (MQTTAsync_send(m->cl, topic, (int)len, payload, 1, 0, &ro) != MQTTASYNC_SUCCESS)
		return -1;
	return op_wait(m, op->seq, 5000);
}

void m2m_mqtt_set_decoder(m2m_mqtt *m, m2m_mqtt_decoder decode)
{
	pthread_mutex_lock(&m->mx);
	m->decode = decode;
	pthread_mutex_unlock(&m->mx);
}

/* Caller holds m->mx. */
static bool msg_matches(const m2m_mqtt *m, const mq_msg *e, const char *topic, const char *rqi,
                        json_t **out)
{
	json_t *j;
	*out = NULL;
	if (topic && strcmp(e->topic, topic) != 0)
		return false;
	j = m->decode ? m->decode(e->topic, e->payload, e->len)
	              : json_loadb(e->payload, e->len, 0, NULL);
	if (rqi) {
		const char *r = json_string_value(json_object_get(j, "rqi"));
		if (!r || strcmp(r, rqi) != 0) {
			json_decref(j);
			return false;
		}
	}
	*out = j;
	return true;
}

json_t *m2m_mqtt_wait(m2m_mqtt *m, const char *topic, const char *rqi, long timeout_ms,
                      char **topic_out)
{
	struct timespec until;
	json_t *found = NULL;
	deadline(&until, timeout_ms);
	if (topic_out)
		*topic_out = NULL;
	pthread_mutex_lock(&m->mx);
	for (;;) {
		mq_msg **pp = &m->head, *prev = NULL;
		for (; *pp; prev = *pp, pp = &(*pp)->next) {
			mq_msg *e = *pp;
			if (!msg_matches(m, e, topic, rqi, &found))
				continue;
			*pp = e->next;
			if (m->tail == e)
				m->tail = prev;
			m->n--;
			if (topic_out)
				*topic_out = e->topic;
			else
				free(e->topic);
			free(e->payload);
			free(e);
			pthread_mutex_unlock(&m->mx);
			return found;
		}
		if (pthread_cond_timedwait(&m->cv, &m->mx, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&m->mx);
	return NULL;
}

json_t *m2m_mqtt_request(m2m_mqtt *m, const char *req_topic, const char *resp_topic,
                         const json_t *req, long timeout_ms)
{
	const char *rqi = json_string_value(json_object_get(req, "rqi"));
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *rsp = NULL;
	if (!text)
		return NULL;
	if (m2m_mqtt_publish(m, req_topic, text, strlen(text)) == 0)
		rsp = m2m_mqtt_wait(m, resp_topic, rqi, timeout_ms, NULL);
	free(text);
	return rsp;
}
