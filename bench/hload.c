/*
 * hload.c - a small closed-loop HTTP/1.1 load driver for oneM2M servers.
 *
 * One thread, epoll, C keep-alive connections; each connection sends a
 * request, waits for the whole response, records its latency and the
 * X-M2M-RSC it carried, and sends the next one. Paths rotate over every -p
 * given; "%u" in a path, body or originator becomes a per-run counter
 * (1, 2, 3, ... in request order), so that a later run can address what an
 * earlier one created. Reports one JSON
 * line: requests, rps, p50/p99/max latency, errors (transport failures and
 * any response whose X-M2M-RSC is not 2xxx).
 *
 *   hload -u http://127.0.0.1:8080 -c 16 -d 10 -m GET -p /cse-in/ae/cnt/la \
 *         [-p ...] [-o ORIGINATOR] [-t TY] [-b BODY] [-n MAXREQ] [-w WARMUP_S]
 *         [-r RATE]   (paced: RATE requests/s in total instead of closed loop)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS 4096
#define RBUF 65536

typedef struct conn {
	int fd;
	char *out;
	size_t out_len, out_off;
	char in[RBUF];
	size_t in_len;
	uint64_t t0;
	int busy;
	uint64_t due;   /* paced runs: when this connection may send next */
	int parked;     /* paced runs: waiting for its due time */
} conn;

static struct sockaddr_in addr;
static const char *paths[MAX_PATHS];
static unsigned npaths, next_path;
static const char *method = "GET", *origin = "CAdmin", *body_tpl;
static int ty = -1;
static unsigned long counter;
static uint32_t *lat;
static size_t nlat, caplat;
static unsigned long errors, requests, conn_errors;
static int measuring, shown_error;
static double rate;          /* -r: total requests per second, 0 = as fast as possible */
static uint64_t interval_us; /* per connection, when paced */

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Replace each "%u" in tpl with n. */
static size_t expand(const char *tpl, unsigned long n, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = tpl; *p && o + 24 < cap; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			o += (size_t)snprintf(out + o, cap - o, "%lu", n);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return o;
}

static void build_request(conn *c)
{
	char path[2048], body[8192], hdr[4096], orig[256];
	unsigned long n = ++counter;
	expand(paths[next_path++ % npaths], n, path, sizeof(path));
	expand(origin, n, orig, sizeof(orig));
	size_t blen = body_tpl ? expand(body_tpl, n, body, sizeof(body)) : 0;
	char ct[64] = "";
	if (body_tpl)
		snprintf(ct, sizeof(ct), "Content-Type: application/json%s%d\r\n", ty >= 0 ? ";ty=" : "", ty >= 0 ? ty : 0);
	if (body_tpl && ty < 0)
		snprintf(ct, sizeof(ct), "Content-Type: application/json\r\n");
	int hl = snprintf(hdr, sizeof(hdr),
	                  "%s %s HTTP/1.1\r\nHost: %s:%u\r\nX-M2M-Origin: %s\r\nX-M2M-RI: h%lu\r\nX-M2M-RVI: 4\r\n"
	                  "Accept: application/json\r\n%sContent-Length: %zu\r\n\r\n",
	                  method, path, inet_ntoa(addr.sin_addr), ntohs(addr.sin_port), orig, n, ct, blen);
	free(c->out);
	c->out = malloc((size_t)hl + blen);
	if (!c->out)
		abort();
	memcpy(c->out, hdr, (size_t)hl);
	memcpy(c->out + hl, body, blen);
	c->out_len = (size_t)hl + blen;
	c->out_off = 0;
	c->in_len = 0;
	c->t0 = now_us();
	c->busy = 1;
}

static int conn_open(int ep, conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	build_request(c);
	return 0;
}

static void conn_reset(int ep, conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conn_errors++;
	if (measuring)
		errors++;
	if (conn_open(ep, c) != 0) {
		fprintf(stderr, "hload: cannot reconnect\n");
		exit(1);
	}
}

static void record(uint64_t us, int ok)
{
	if (!measuring)
		return;
	requests++;
	if (!ok)
		errors++;
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat = realloc(lat, caplat * sizeof(*lat));
		if (!lat)
			abort();
	}
	lat[nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* A complete response in c->in? Returns its length, 0 if incomplete. */
static size_t response_complete(conn *c, int *rsc)
{
	c->in[c->in_len < RBUF ? c->in_len : RBUF - 1] = '\0';
	char *end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return 0;
	size_t hlen = (size_t)(end - c->in) + 4;
	long clen = 0;
	*rsc = 0;
	for (char *l = strstr(c->in, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
			clen = strtol(l + 17, NULL, 10);
		else if (strncasecmp(l + 2, "X-M2M-RSC:", 10) == 0)
			*rsc = (int)strtol(l + 12, NULL, 10);
	}
	if (c->in_len < hlen + (size_t)clen)
		return 0;
	return hlen + (size_t)clen;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *url = "http://127.0.0.1:8080";
	int nconn = 1;
	double dur = 5, warm = 0;
	unsigned long maxreq = 0;
	int opt;
	while ((opt = getopt(argc, argv, "u:c:d:m:p:o:t:b:n:w:r:")) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'c': nconn = (int)strtol(optarg, NULL, 10); break;
		case 'd': dur = strtod(optarg, NULL); break;
		case 'm': method = optarg; break;
		case 'p':
			if (npaths < MAX_PATHS)
				paths[npaths++] = optarg;
			break;
		case 'o': origin = optarg; break;
		case 't': ty = (int)strtol(optarg, NULL, 10); break;
		case 'b': body_tpl = optarg; break;
		case 'n': maxreq = strtoul(optarg, NULL, 10); break;
		case 'w': warm = strtod(optarg, NULL); break;
		case 'r': rate = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: hload -u URL -c CONNS -d SECS -m METHOD -p PATH [-p ...] [-o ORIG] "
			                "[-t TY] [-b BODY] [-n MAXREQ] [-w WARMUP] [-r RATE]\n");
			return 2;
		}
	}
	if (!npaths)
		paths[npaths++] = "/";
	const char *hp = strstr(url, "://");
	hp = hp ? hp + 3 : url;
	char host[64];
	const char *colon = strchr(hp, ':');
	size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
	if (hl >= sizeof(host) || nconn < 1 || nconn > 4096) {
		fprintf(stderr, "hload: bad URL or connection count\n");
		return 2;
	}
	memcpy(host, hp, hl);
	host[hl] = '\0';
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)(colon ? strtol(colon + 1, NULL, 10) : 80));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "hload: host must be an IPv4 address\n");
		return 2;
	}
	if (rate > 0)
		interval_us = (uint64_t)(1e6 * nconn / rate);
	int ep = epoll_create1(0);
	conn *cs = calloc((size_t)nconn, sizeof(*cs));
	if (!cs)
		return 1;
	measuring = warm <= 0;
	for (int i = 0; i < nconn; i++)
		if (conn_open(ep, &cs[i]) != 0) {
			fprintf(stderr, "hload: connect failed\n");
			return 1;
		}
	uint64_t start = now_us(), mstart = start + (uint64_t)(warm * 1e6);
	uint64_t stop = mstart + (uint64_t)(dur * 1e6);
	struct epoll_event evs[256];
	int done = 0;
	while (!done) {
		int wait_ms = 100;
		if (interval_us) {
			uint64_t t = now_us();
			for (int i = 0; i < nconn; i++) {
				if (cs[i].parked && cs[i].due <= t) {
					cs[i].parked = 0;
					build_request(&cs[i]);
					struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = &cs[i] };
					epoll_ctl(ep, EPOLL_CTL_MOD, cs[i].fd, &ev);
				} else if (cs[i].parked) {
					int ms = (int)((cs[i].due - t) / 1000);
					if (ms < wait_ms)
						wait_ms = ms;
				}
			}
		}
		int n = epoll_wait(ep, evs, 256, wait_ms);
		uint64_t t = now_us();
		if (!measuring && t >= mstart) {
			measuring = 1;
			mstart = t;
		}
		if (t >= stop || (maxreq && requests >= maxreq))
			break;
		for (int i = 0; i < n; i++) {
			conn *c = evs[i].data.ptr;
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				conn_reset(ep, c);
				continue;
			}
			if ((evs[i].events & EPOLLOUT) && c->out_off < c->out_len) {
				ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
				if (w < 0 && errno != EAGAIN) {
					conn_reset(ep, c);
					continue;
				}
				if (w > 0)
					c->out_off += (size_t)w;
				if (c->out_off == c->out_len) {
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			if (evs[i].events & EPOLLIN) {
				ssize_t r = read(c->fd, c->in + c->in_len, RBUF - 1 - c->in_len);
				if (r <= 0) {
					if (r < 0 && errno == EAGAIN)
						continue;
					conn_reset(ep, c);
					continue;
				}
				c->in_len += (size_t)r;
				int rsc;
				size_t full = response_complete(c, &rsc);
				if (!full) {
					if (c->in_len >= RBUF - 1) {
						fprintf(stderr, "hload: response larger than %d bytes\n", RBUF);
						return 1;
					}
					continue;
				}
				if ((rsc < 2000 || rsc >= 3000) && measuring && !shown_error) {
					shown_error = 1;
					fprintf(stderr, "hload: first error response:\n%.*s\n", (int)full, c->in);
				}
				record(now_us() - c->t0, rsc >= 2000 && rsc < 3000);
				if (maxreq && requests >= maxreq) {
					done = 1;
					break;
				}
				if (interval_us) {
					uint64_t tn = now_us();
					c->due = (c->due > tn ? c->due : tn) + interval_us;
					if (c->due > tn) {
						c->parked = 1;
						continue;
					}
				}
				build_request(c);
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
		}
	}
	double secs = (double)(now_us() - mstart) / 1e6;
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	double p50 = nlat ? lat[nlat / 2] / 1000.0 : 0, p99 = nlat ? lat[(size_t)((double)nlat * 0.99)] / 1000.0 : 0;
	double mx = nlat ? lat[nlat - 1] / 1000.0 : 0;
	printf("{\"requests\":%lu,\"seconds\":%.2f,\"rps\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"errors\":%lu,\"conn_errors\":%lu}\n",
	       requests, secs, secs > 0 ? (double)requests / secs : 0, p50, p99, mx, errors, conn_errors);
	for (int i = 0; i < nconn; i++) {
		close(cs[i].fd);
		free(cs[i].out);
	}
	free(cs);
	free(lat);
	close(ep);
	return 0;
}
