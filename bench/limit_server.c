/*
 * limit_server.c - the ceiling for any CSE on this stack: a bare
 * libmicrohttpd server in the same threading mode as hearth-cse
 * (internal polling thread, epoll, a thread pool of the same size) that
 * answers every request with a fixed, small oneM2M-shaped JSON body and the
 * X-M2M-RSC / X-M2M-RI headers a CSE sends. It drains request bodies and
 * does nothing else.
 *
 *   limit-server PORT [THREADS]
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body_get[] =
	"{\"m2m:cin\":{\"ty\":4,\"ri\":\"cin0000000001\",\"rn\":\"cin_0000000001\",\"pi\":\"cnt0000000001\","
	"\"ct\":\"20261126T120000,000000\",\"lt\":\"20261126T120000,000000\",\"et\":\"20311126T120000,000000\","
	"\"st\":1,\"cnf\":\"text/plain:0\",\"cs\":4,\"con\":\"21.5\"}}";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)cls;
	(void)url;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* drain */
		return MHD_YES;
	}
	int create = strcmp(method, "POST") == 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(body_get) - 1, (void *)body_get,
	                                                         MHD_RESPMEM_PERSISTENT);
	const char *ri = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-M2M-RI");
	MHD_add_response_header(r, "X-M2M-RSC", create ? "2001" : "2000");
	MHD_add_response_header(r, "X-M2M-RI", ri && *ri ? ri : " ");
	MHD_add_response_header(r, "X-M2M-RVI", "4");
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, create ? 201 : 200, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: limit-server PORT [THREADS]\n");
		return 2;
	}
	long port = strtol(argv[1], NULL, 10);
	long threads = argc > 2 ? strtol(argv[2], NULL, 10) : 4;
	if (port < 1 || port > 65535 || threads < 1 || threads > 64) {
		fprintf(stderr, "limit-server: bad port or thread count\n");
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)port, NULL,
	                                        NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	                                        MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	                                        MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "limit-server: cannot listen on port %ld\n", port);
		return 1;
	}
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
