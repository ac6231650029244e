/*
 * config.h - hearth-cse configuration: defaults, INI file, command line.
 *
 * Precedence: built-in defaults < INI file (-c FILE) < command-line flags.
 * config_load() never exits; it returns -1 with a one-line message in err,
 * and the daemon exits with status 2.
 */
#ifndef HEARTH_CONFIG_H
#define HEARTH_CONFIG_H

#include <stddef.h>

enum { CSE_TYPE_IN = 1, CSE_TYPE_MN = 2, CSE_TYPE_ASN = 3 };

typedef struct cse_config {
	char *http_addr;     /* default "127.0.0.1" */
	int http_port;       /* default 8080 */
	char *db_path;       /* default "var/hearth.db" */
	char *cse_id;        /* without leading '/'; default "id-in" (IN), "id-mn" (MN), "id-asn" */
	char *cse_rn;        /* default "cse-in" / "cse-mn" / "cse-asn" */
	char *sp_id;         /* without leading "//"; default "hearth.example.com" */
	int cse_type;        /* CSE_TYPE_*; default IN */
	char *admin;         /* admin originator; default "CAdmin" */
	char *operator_id;   /* device-management operator's originator; "" = none */
	int log_level;       /* LOG_*; default info */
	char *poa;           /* advertised point of access; default http://<addr>:<port> */
	long default_et_s;   /* default expiration offset for new resources, seconds */
	long max_mni;        /* CSE-imposed cap on container mni (0 = none) */
	int http_threads;    /* HTTP worker threads */
	unsigned http_conn_limit;
	unsigned http_conn_timeout; /* idle seconds before a connection is closed */
	char *allowed_ae;    /* comma-separated originator patterns allowed to register ("C*,S*") */
	char *mqtt_host;     /* broker host name or address; "" = MQTT binding off (default) */
	int mqtt_port;       /* broker port; default 1883, 8883 with TLS */
	char *mqtt_username; /* "" = none */
	char *mqtt_password; /* "" = none; wiped before it is freed */
	int mqtt_keepalive;  /* seconds; default 60 */
	char *mqtt_client_id; /* "" = "C::<cse-id>" (TS-0010) */
	char *http_tls_cert; /* PEM file; "" = plain HTTP (default) */
	char *http_tls_key;  /* PEM file; given with http_tls_cert */
	char *http_tls_ca;   /* PEM file of the client-certificate CA(s); "" = none */
	int http_tls_client_auth; /* 0 none, 1 required (needs http_tls_ca) */
	char *http_tls_originators; /* "CNpat=ORIGpat,..."; "" = the CN itself */
	char *registrar_url; /* "" = no registrar (default) */
	char *registrar_id;  /* registrar's CSE-ID without '/'; default "id-in" */
	char *registrar_rn;  /* registrar's CSEBase name; default "cse-in" */
	int registrar_check_s; /* link check period, seconds; default 30 */
	long mgmt_timeout_s; /* management operation without report -> failure "timeout"; default 300 */
	int mqtt_tls;        /* 1: TLS to the broker; on by default when a tls-* file is given */
	char *mqtt_tls_ca;   /* PEM file of the CA(s) that verify the broker; "" = system store */
	char *mqtt_tls_cert; /* PEM client certificate for the broker (mutual TLS); "" = none */
	char *mqtt_tls_key;  /* its private key; given with mqtt_tls_cert */
	char *out_tls_ca;    /* PEM CA file verifying HTTPS peers of outgoing requests; "" = system store */
	char *attest_trust_dir; /* manufacturer CAs (<man>.pem); "" = no device attestation (default) */
	long attest_interval_s; /* devices attested again every N s; 0 = at registration only; default 3600 */
	char *update_vendor_keys;  /* manifest keys per manufacturer; "" = no verified updates (default) */
	char *update_operator_key; /* PEM public key of the coordinator (assignments) */
	char *update_gateway_key;  /* PEM private key of this gateway (encrypted images); "" = none */
	char *update_cache;        /* verified images; "" = "update-cache" next to the database */
	unsigned long long set_mask;   /* internal to config.c: which options were given explicitly */
} cse_config;

/* Fill cfg with the built-in defaults (every string member a heap copy).
 * On allocation failure some string members stay NULL; config_load() then
 * fails with "out of memory". */
void config_init(cse_config *cfg);
/* Free every string member and zero cfg. Accepts a zeroed, half-built or
 * already cleared config. */
void config_clear(cse_config *cfg);

/* Parse argv (argv[0] skipped). -c FILE is read first wherever it appears.
 * cfg must have been set up by config_init(); the file and the flags are
 * layered on its current contents. All or nothing: on error cfg is left
 * unchanged. Uses getopt_long()'s global state, so not thread-safe.
 * Returns 0 on success, 1 when --help/--version was printed (exit 0),
 * -1 on error (message in err, exit 2). */
int config_load(cse_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Apply one INI key of section [cse] or [http] etc.; used by tests and fuzzers.
 * Derived defaults (cse-id/cse-rn from cse-type, poa from addr:port) follow
 * unless they were set explicitly. Returns 0, or -1 with a message naming
 * the key and the value in err (cfg unchanged). */
/* The update cache directory into buf: [update] cache, or "update-cache"
 * next to the database. Returns 0, or -1 when it does not fit. */
int config_update_cache(const cse_config *cfg, char *buf, size_t len);

int config_set(cse_config *cfg, const char *section, const char *key, const char *val,
               char *err, size_t errlen);

/* Read one INI file into cfg (as -c does). Returns 0, or -1 with
 * "path:line: ..." in err; cfg may then be partly updated. */
int config_read_file(cse_config *cfg, const char *path, char *err, size_t errlen);

/* Write --help text to stdout. */
void config_usage(const char *prog);

#endif
