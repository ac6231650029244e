/*
 * dev_config.h - hearth-device configuration: defaults, INI file, flags.
 *
 * Design note
 *   One table (dev_config.c) lists every setting with its INI section/key,
 *   its long flag, how the value is checked and where it lives; the INI
 *   reader, the flag parser and --help all work from it. Later sources win:
 *   built-in defaults, then the INI file (-c FILE), then the other flags.
 *   Settings that follow others (ae-name, node-name, device-label, fw-name,
 *   poa) are derived at the end unless given.
 *
 * Ownership
 *   dev_config_init() fills a config whose strings are heap copies;
 *   dev_config_clear() frees them (also safe on a zeroed or half-filled
 *   config). dev_config_load() works on a private copy and swaps it in only
 *   when everything parsed, so a failed load changes nothing.
 *
 * Return values
 *   dev_config_load(): 0 loaded, 1 when --help/--version was printed (exit
 *   0), -1 with a one-line message in err (exit 2).
 */
#ifndef HEARTH_DEV_CONFIG_H
#define HEARTH_DEV_CONFIG_H

#include <stddef.h>

#define DEV_MAX_PACKAGES 16     /* software packages given at start */
#define DEV_MAX_TOKEN 64        /* manufacturer, model, serial, package names */
#define DEV_MAX_VERSION 64      /* version strings */

/* Test hook: the agent kills itself with SIGKILL right after this phase
 * of a firmware update (see README "Device agent"). */
enum dev_crash { DEV_CRASH_NONE = 0, DEV_CRASH_DOWNLOAD, DEV_CRASH_INSTALL, DEV_CRASH_CONFIRM };

typedef struct dev_package {
	char name[DEV_MAX_TOKEN + 1];
	char version[DEV_MAX_VERSION + 1];
} dev_package;

typedef struct dev_config {
	/* [cse] */
	char *cse_url;       /* scheme://host[:port], no path */
	char *cse_id;        /* without the leading '/' */
	char *cse_rn;
	char *originator;    /* "C" (the CSE assigns the AE-ID), "Cxyz", "S..." */
	char *ae_name;
	char *app_id;
	/* [notify] */
	char *listen_addr;
	int listen_port;     /* 0: any free port */
	char *poa;           /* "": http://listen-addr:port (the bound port) */
	/* [device] */
	char *manufacturer, *model, *serial;
	char *hw_version, *device_type, *device_label;
	char *fw_version, *fw_name, *sw_version;
	char *software;      /* "name=version,..." as given */
	char *node_name;
	char *state_dir;
	long max_image;      /* bytes */
	int download_timeout; /* seconds */
	int log_level;
	int crash_after;     /* enum dev_crash */
	char *announce_to;   /* CSE-ID without '/', "" = none */
	char *key_file;      /* PEM, device P-256 private key; "" = keyless (no attestation) */
	char *cert_file;     /* PEM, its certificate (chain); given with key_file */
	char *manager;       /* originator granted RETRIEVE+UPDATE on node and firmware, "" = none */
	/* derived */
	dev_package packages[DEV_MAX_PACKAGES];
	size_t npackages;
	unsigned long set_mask; /* bit per table row: given explicitly */
} dev_config;

void dev_config_init(dev_config *cfg);
void dev_config_clear(dev_config *cfg);
int dev_config_load(dev_config *cfg, int argc, char **argv, char *err, size_t errlen);
void dev_config_usage(const char *prog);

/* Parse "name=version,name=version" into out (at most max entries).
 * Names are tokens ([A-Za-z0-9._-], 1..64, not starting with '.'), versions
 * are version strings; a name given twice is an error. Returns the count,
 * or -1 with a message in err. */
int dev_packages_parse(const char *s, dev_package *out, size_t max, char *err, size_t errlen);

/* Character-class checks shared with the state file and the notify parser. */
int dev_is_token(const char *s);    /* [A-Za-z0-9._-]{1,64}, first not '.' */
int dev_is_version(const char *s);  /* [A-Za-z0-9._+~-]{1,64} */

#endif
