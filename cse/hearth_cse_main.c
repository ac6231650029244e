/*
 * hearth_cse_main.c - the hearth-cse daemon.
 *
 * Start-up order: configuration (exit 2 on error), signal mask (before any
 * thread exists, so that every thread inherits SIGINT/SIGTERM blocked and
 * only sigwait() in main sees them), database directory, transport, core,
 * HTTP binding, MQTT binding when a broker is configured (exit 1 when any of
 * these fails; a broker that is down is not a failure: the binding keeps
 * retrying). Shutdown runs the same steps backwards: stop accepting and
 * finish in-flight requests (MQTT, then HTTP), close the core (which
 * flushes the store), release the transport.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bindings/http_server.h"
#include "../bindings/mqtt_binding.h"
#include "../bindings/transport.h"
#include "config.h"
#include "cse.h"
#include "log.h"
#include "version.h"

static const char *const cse_type_names[] = {
	[CSE_TYPE_IN] = "IN-CSE", [CSE_TYPE_MN] = "MN-CSE", [CSE_TYPE_ASN] = "ASN-CSE",
};

/* mkdir -p for the directory part of path; nothing when it has none. */
static int db_dir_create(const char *path)
{
	int rc = -1;
	char *dir = strdup(path);
	if (!dir) {
		log_error("out of memory");
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir) {
		rc = 0; /* current directory or "/" */
		goto out;
	}
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			log_error("cannot create database directory '%s': %s", dir, strerror(errno));
			goto out;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("database directory '%s' is not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	free(dir);
	return rc;
}

int main(int argc, char **argv)
{
	cse_config cfg;
	char err[512];
	cse *c = NULL;
	http_server *srv = NULL;
	mqtt_binding *mq = NULL;
	bool transport_up = false;
	sigset_t stop_set;
	int status = 1;

	config_init(&cfg);
	int rc = config_load(&cfg, argc, argv, err, sizeof err);
	if (rc != 0) {
		config_clear(&cfg);
		if (rc > 0)
			return 0;
		fprintf(stderr, "hearth-cse: %s\n", err);
		return 2;
	}
	log_level = cfg.log_level;

	/* Before any thread starts: every thread inherits this mask. */
	struct sigaction ign;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	int e = pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	if (e != 0) {
		log_error("cannot block signals: %s", strerror(e));
		goto out;
	}

	if (db_dir_create(cfg.db_path) != 0)
		goto out;
	if (transport_global_init() != 0) {
		log_error("cannot initialise the outgoing transport");
		goto out;
	}
	transport_up = true;
	if (transport_set_tls_ca(cfg.out_tls_ca) != 0)
		goto out;
	if (cse_open(&c, &cfg) != 0) {
		log_error("cannot open the CSE (database %s)", cfg.db_path);
		goto out;
	}
	http_opts ho = { .addr = cfg.http_addr, .port = cfg.http_port, .threads = (unsigned)cfg.http_threads,
	                 .conn_limit = cfg.http_conn_limit, .conn_timeout = cfg.http_conn_timeout,
	                 .tls_cert = cfg.http_tls_cert, .tls_key = cfg.http_tls_key,
	                 .tls_ca = cfg.http_tls_ca, .tls_client_auth = cfg.http_tls_client_auth != 0,
	                 .tls_originators = cfg.http_tls_originators };
	if (http_server_start(&srv, c, &ho) != 0) {
		log_error("cannot listen on %s://%s:%d (address in use or not available?)",
		          cfg.http_tls_cert[0] ? "https" : "http", cfg.http_addr, cfg.http_port);
		goto out;
	}
	if (cfg.mqtt_host[0]) {
		mqtt_opts mo = { .host = cfg.mqtt_host, .port = cfg.mqtt_port,
		                 .username = cfg.mqtt_username, .password = cfg.mqtt_password,
		                 .keepalive = cfg.mqtt_keepalive, .client_id = cfg.mqtt_client_id,
		                 .cse_id = cfg.cse_id, .workers = 2,
		                 .tls = cfg.mqtt_tls != 0, .tls_ca = cfg.mqtt_tls_ca,
		                 .tls_cert = cfg.mqtt_tls_cert, .tls_key = cfg.mqtt_tls_key };
		if (mqtt_binding_start(&mq, c, &mo) != 0) {
			log_error("cannot start the MQTT binding for %s:%d", cfg.mqtt_host, cfg.mqtt_port);
			goto out;
		}
	}
	log_info("hearth-cse %s %s /%s (%s) listening on %s://%s%s%s:%d", HEARTH_VERSION,
	         cse_type_names[cfg.cse_type], cfg.cse_id, cfg.cse_rn,
	         cfg.http_tls_cert[0] ? "https" : "http",
	         strchr(cfg.http_addr, ':') ? "[" : "", cfg.http_addr,
	         strchr(cfg.http_addr, ':') ? "]" : "", cfg.http_port);

	for (;;) {
		int sig = 0;
		e = sigwait(&stop_set, &sig);
		if (e == 0 && (sig == SIGINT || sig == SIGTERM)) {
			log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
			break;
		}
		if (e != 0 && e != EINTR) {
			log_error("sigwait: %s; shutting down", strerror(e));
			break;
		}
	}
	status = 0;

out:
	mqtt_binding_stop(&mq);
	http_server_stop(&srv);
	if (c)
		cse_close(&c);
	if (transport_up)
		transport_global_cleanup();
	if (status == 0)
		log_info("stopped");
	config_clear(&cfg);
	return status;
}
