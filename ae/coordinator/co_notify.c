/*
 * co_notify.c - the coordinator's notification receiver (HTTP binding,
 * libmicrohttpd): the point of access of its AE, where the gateways'
 * notifications about the firmware of launched devices arrive (through
 * the IN-CSE, which delivers to the AE's poa).
 *
 * A notification is only a hint: the handler keeps the resource ID of the
 * notified firmware (nev.rep.<any>.ri) and the engine then reads that
 * firmware through the IN, so a forged notification can cause a read and
 * nothing else. Verification requests (vrq) and deletion notices (sud) are
 * answered 2000. The queue is bounded; when it overflows the engine is
 * told to read every launched device instead.
 */
#include "ae/coordinator/coord.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CO_NOTIFY_BODY_MAX (64u * 1024u)
#define CO_NOTIFY_QUEUE 256u
#define CO_NOTIFY_CONNS 32u

struct co_listener {
	struct MHD_Daemon *mhd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char q[CO_NOTIFY_QUEUE][CO_STR_MAX + 1];
	size_t n;
	bool overflow;
	unsigned long received;
};

typedef struct conn_body {
	char *buf;
	size_t len;
	bool too_big;
} conn_body;

static enum MHD_Result answer(struct MHD_Connection *conn, int rsc, unsigned http)
{
	char rscs[16];
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	snprintf(rscs, sizeof(rscs), "%d", rsc);
	MHD_add_response_header(resp, "X-M2M-RSC", rscs);
	if (ri && strlen(ri) <= 256)
		MHD_add_response_header(resp, "X-M2M-RI", ri);
	MHD_add_response_header(resp, "X-M2M-RVI", "4");
	enum MHD_Result r = MHD_queue_response(conn, http, resp);
	MHD_destroy_response(resp);
	return r;
}

/* Keep the notified resource's ri; 0 handled, -1 not a notification. */
static int take(struct co_listener *l, const char *body, size_t len)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	const json_t *sgn = json_object_get(doc, "m2m:sgn");
	int rc = -1;
	if (!json_is_object(sgn))
		goto out;
	rc = 0;
	if (json_is_true(json_object_get(sgn, "vrq")) || json_object_get(sgn, "sud"))
		goto out;
	const json_t *rep = json_object_get(json_object_get(sgn, "nev"), "rep");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)rep, k, v) {
		const char *ri = json_string_value(json_object_get(v, "ri"));
		if (!ri || !ri[0] || strlen(ri) > CO_STR_MAX)
			continue;
		pthread_mutex_lock(&l->mu);
		l->received++;
		if (l->n < CO_NOTIFY_QUEUE)
			snprintf(l->q[l->n++], CO_STR_MAX + 1, "%s", ri);
		else
			l->overflow = true;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		break;
	}
out:
	json_decref(doc);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **ctx)
{
	(void)url;
	(void)version;
	struct co_listener *l = cls;
	conn_body *b = *ctx;
	if (!b) {
		if (strcmp(method, "POST") != 0)
			return answer(conn, 4000, 405);
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*ctx = b;
		return MHD_YES;
	}
	if (*size) {
		if (b->len + *size > CO_NOTIFY_BODY_MAX)
			b->too_big = true;
		else {
			char *nb = realloc(b->buf, b->len + *size + 1);
			if (!nb)
				b->too_big = true;
			else {
				memcpy(nb + b->len, data, *size);
				b->buf = nb;
				b->len += *size;
			}
		}
		*size = 0;
		return MHD_YES;
	}
	if (b->too_big)
		return answer(conn, 5207, 413); /* NOT_ACCEPTABLE: too large */
	if (!b->buf || take(l, b->buf, b->len) != 0)
		return answer(conn, 4000, 400);
	return answer(conn, 2000, 200);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx, enum MHD_RequestTerminationCode tc)
{
	(void)cls;
	(void)conn;
	(void)tc;
	conn_body *b = *ctx;
	if (b) {
		free(b->buf);
		free(b);
		*ctx = NULL;
	}
}

int co_listener_start(struct co_listener **out, const char *host, unsigned port, char *poa, size_t poalen,
                      char *err, size_t errlen)
{
	*out = NULL;
	struct co_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "notification listener: '%.64s' is not an IPv4 address", host);
		goto fail;
	}
	l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, l,
	                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
	                          on_completed, l, MHD_OPTION_CONNECTION_LIMIT, CO_NOTIFY_CONNS,
	                          MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!l->mhd) {
		snprintf(err, errlen, "notification listener: cannot listen on %.64s:%u", host, port);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(poa, poalen, "http://%s:%u", host, di ? di->port : port);
	*out = l;
	return 0;
fail:
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
	return -1;
}

size_t co_listener_wait(struct co_listener *l, int64_t ms, char (*out)[CO_STR_MAX + 1], size_t max, bool *all)
{
	*all = false;
	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	if (l->n == 0 && !l->overflow && ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (l->n == 0 && !l->overflow)
			if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) != 0)
				break;
	}
	size_t k = 0;
	for (; k < l->n && k < max; k++)
		memcpy(out[k], l->q[k], CO_STR_MAX + 1);
	if (k < l->n) {
		*all = true; /* more than the caller takes: read everything */
	}
	l->n = 0;
	*all = *all || l->overflow;
	l->overflow = false;
	pthread_mutex_unlock(&l->mu);
	return k;
}

unsigned long co_listener_received(struct co_listener *l)
{
	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	unsigned long n = l->received;
	pthread_mutex_unlock(&l->mu);
	return n;
}

void co_listener_stop(struct co_listener **lp)
{
	struct co_listener *l = *lp;
	if (!l)
		return;
	MHD_stop_daemon(l->mhd);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
	*lp = NULL;
}
