/*
 * hearth-files - serve the files of one directory over HTTP (GET and
 * HEAD), for firmware and software images in demos and tests.
 *
 *   hearth-files --dir DIR [--addr 127.0.0.1] [--port 8090]
 *
 * Only regular files directly in DIR are served; names with '/', a leading
 * '.', or anything outside [A-Za-z0-9._-] get 404. Each answer is the
 * file's bytes with Content-Type application/octet-stream. SIGINT/SIGTERM
 * stop it (exit 0); a bad flag is a one-line error and exit 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

static const char *dir;

static bool name_ok(const char *n)
{
	if (!*n || n[0] == '.' || strlen(n) > 200)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static enum MHD_Result reply_text(struct MHD_Connection *con, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	                                                         MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result rc = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	(void)cls, (void)version, (void)upload, (void)ctx;
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(con, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
	const char *name = url[0] == '/' ? url + 1 : url;
	if (!name_ok(name))
		return reply_text(con, MHD_HTTP_NOT_FOUND, "no such file\n");
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return reply_text(con, MHD_HTTP_NOT_FOUND, "no such file\n");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_text(con, MHD_HTTP_NOT_FOUND, "no such file\n");
	}
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* owns fd */
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	enum MHD_Result rc = MHD_queue_response(con, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	fprintf(stderr, "hearth-files: %s /%s %lld bytes\n", method, name, (long long)st.st_size);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth-files --dir DIR [--addr ADDR] [--port PORT]\n"
	           "Serve the regular files of DIR over HTTP (GET, HEAD).\n"
	           "  --dir DIR     directory to serve (required)\n"
	           "  --addr ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
	           "  --port PORT   TCP port (default 8090)\n");
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	long port = 8090;
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' }, { "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end;
		switch (o) {
		case 'd': dir = optarg; break;
		case 'a': addr = optarg; break;
		case 'p':
			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno || *end || port < 1 || port > 65535) {
				fprintf(stderr, "hearth-files: --port: '%s' is not a port number\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	struct stat st;
	if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "hearth-files: --dir: '%s' is not a directory\n", dir ? dir : "(missing)");
		return 2;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "hearth-files: --addr: '%s' is not an IPv4 address\n", addr);
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, (uint16_t)port, NULL,
	                                        NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	                                        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 64u,
	                                        MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "hearth-files: cannot listen on %s:%ld\n", addr, port);
		return 1;
	}
	fprintf(stderr, "hearth-files: serving %s on http://%s:%ld\n", dir, addr, port);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
