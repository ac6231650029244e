/*
 * fanout.c - notification fan-out: 100 subscribers listening on loopback,
 * one create, time until all of them received their notification.
 *
 *   fanout CSE_URL [SUBSCRIBERS] [ROUNDS]
 *
 * Registers an AE, a container and SUBSCRIBERS subscriptions whose nu are
 * distinct URLs of one local libmicrohttpd receiver (answering 2000,
 * including the verification requests), then ROUNDS times creates one
 * contentInstance and measures until every subscriber got its net=3
 * notification. Prints one JSON line with the median and worst round.
 */
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SUBS 1000

static pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int received[MAX_SUBS];
static long total_events;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct body {
	char buf[65536];
	size_t len;
} body;

static enum MHD_Result on_req(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state)
{
	(void)cls;
	(void)method;
	(void)version;
	body *b = *state;
	if (!b) {
		b = calloc(1, sizeof(*b));
		*state = b;
		return b ? MHD_YES : MHD_NO;
	}
	if (*size) {
		size_t n = *size < sizeof(b->buf) - 1 - b->len ? *size : sizeof(b->buf) - 1 - b->len;
		memcpy(b->buf + b->len, data, n);
		b->len += n;
		*size = 0;
		return MHD_YES;
	}
	b->buf[b->len] = '\0';
	/* url: /n<i>; a verification request carries "vrq" */
	if (!strstr(b->buf, "\"vrq\"") && url[0] == '/' && url[1] == 'n') {
		long i = strtol(url + 2, NULL, 10);
		pthread_mutex_lock(&mx);
		if (i >= 0 && i < MAX_SUBS)
			received[i]++;
		total_events++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mx);
	}
	free(b);
	*state = NULL;
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "X-M2M-RSC", "2000");
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	MHD_add_response_header(r, "X-M2M-RI", ri && *ri ? ri : " ");
	enum MHD_Result ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static size_t sink(void *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static long post(CURL *h, const char *url, const char *orig, int ty, const char *json)
{
	char ct[64], og[128], ri[64];
	static unsigned long rqn;
	snprintf(ct, sizeof(ct), "Content-Type: application/json;ty=%d", ty);
	snprintf(og, sizeof(og), "X-M2M-Origin: %s", orig);
	snprintf(ri, sizeof(ri), "X-M2M-RI: f%lu", ++rqn);
	struct curl_slist *hd = NULL;
	hd = curl_slist_append(hd, ct);
	hd = curl_slist_append(hd, og);
	hd = curl_slist_append(hd, ri);
	hd = curl_slist_append(hd, "X-M2M-RVI: 4");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	long code = 0;
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hd);
	return code;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fanout CSE_URL [SUBSCRIBERS] [ROUNDS]\n");
		return 2;
	}
	const char *cse = argv[1];
	int nsub = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 100;
	int rounds = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 10;
	if (nsub < 1 || nsub > MAX_SUBS || rounds < 1 || rounds > 1000)
		return 2;
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, on_req,
	                                        NULL, MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_END);
	if (!d)
		return 1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = info ? info->port : 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *h = curl_easy_init();
	char url[512], json[512], orig[64];
	snprintf(orig, sizeof(orig), "Cfan%d", (int)getpid());
	snprintf(url, sizeof(url), "%s/cse-in", cse);
	snprintf(json, sizeof(json), "{\"m2m:ae\":{\"rn\":\"%s\",\"api\":\"Nfan\",\"rr\":false,\"srv\":[\"4\"]}}", orig);
	if (post(h, url, orig, 2, json) != 201)
		return fprintf(stderr, "fanout: AE registration failed\n"), 1;
	snprintf(url, sizeof(url), "%s/cse-in/%s", cse, orig);
	if (post(h, url, orig, 3, "{\"m2m:cnt\":{\"rn\":\"box\",\"mni\":10}}") != 201)
		return fprintf(stderr, "fanout: container failed\n"), 1;
	snprintf(url, sizeof(url), "%s/cse-in/%s/box", cse, orig);
	for (int i = 0; i < nsub; i++) {
		snprintf(json, sizeof(json),
		         "{\"m2m:sub\":{\"rn\":\"s%d\",\"nu\":[\"http://127.0.0.1:%u/n%d\"],\"enc\":{\"net\":[3],\"chty\":[4]}}}", i,
		         port, i);
		if (post(h, url, orig, 23, json) != 201)
			return fprintf(stderr, "fanout: subscription %d failed\n", i), 1;
	}
	uint64_t *t = calloc((size_t)rounds, sizeof(*t));
	for (int r = 0; r < rounds; r++) {
		pthread_mutex_lock(&mx);
		memset(received, 0, sizeof(received));
		long before = total_events;
		pthread_mutex_unlock(&mx);
		uint64_t t0 = now_us();
		if (post(h, url, orig, 4, "{\"m2m:cin\":{\"con\":\"x\"}}") != 201)
			return fprintf(stderr, "fanout: create failed\n"), 1;
		pthread_mutex_lock(&mx);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 30;
		while (total_events - before < nsub)
			if (pthread_cond_timedwait(&cv, &mx, &dl) != 0)
				break;
		long got = total_events - before;
		pthread_mutex_unlock(&mx);
		if (got < nsub)
			return fprintf(stderr, "fanout: only %ld of %d notifications arrived\n", got, nsub), 1;
		t[r] = now_us() - t0;
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_u64);
	printf("{\"subscribers\":%d,\"rounds\":%d,\"median_ms\":%.2f,\"max_ms\":%.2f}\n", nsub, rounds,
	       (double)t[rounds / 2] / 1000.0, (double)t[rounds - 1] / 1000.0);
	snprintf(url, sizeof(url), "%s/cse-in/%s", cse, orig);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	post(h, url, orig, 2, "");
	curl_easy_cleanup(h);
	curl_global_cleanup();
	MHD_stop_daemon(d);
	free(t);
	return 0;
}
