/*
 * hearth_device_main.c - the hearth-device agent (see README "Device agent").
 *
 * Start-up order: configuration (exit 2 on error), signal mask (before any
 * thread exists, so that only sigwait() in main sees SIGINT/SIGTERM),
 * libcurl, the agent (state, notification server, threads; exit 1 when it
 * cannot start), registration and resources (retried while the CSE cannot
 * be reached; exit 1 when the CSE refuses for good), then wait for a
 * signal. Shutdown stops the threads (a download in progress is aborted)
 * and exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "ae/device/dev_agent.h"
#include "ae/device/dev_config.h"
#include "cse/log.h"
#include "cse/version.h"

int main(int argc, char **argv)
{
	dev_config cfg;
	char err[512];
	dev_agent *a = NULL;
	sigset_t stop_set;
	int status = 1, sig = 0;

	dev_config_init(&cfg);
	int rc = dev_config_load(&cfg, argc, argv, err, sizeof err);
	if (rc != 0) {
		dev_config_clear(&cfg);
		if (rc > 0)
			return 0;
		fprintf(stderr, "hearth-device: %s\n", err);
		return 2;
	}
	log_level = cfg.log_level;

	struct sigaction ign;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0) {
		log_error("cannot block signals");
		goto out_cfg;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialise libcurl");
		goto out_cfg;
	}
	log_info("hearth-device %s: %s %s serial %s, gateway %s /%s/%s, state %s", HEARTH_VERSION,
	         cfg.manufacturer, cfg.model, cfg.serial, cfg.cse_url, cfg.cse_id, cfg.cse_rn, cfg.state_dir);
	if (dev_agent_open(&a, &cfg) != 0)
		goto out;
	rc = dev_agent_connect(a, &stop_set, &sig);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		log_info("ready");
		while (sigwait(&stop_set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
			;
	}
	log_info("%s received; stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	status = 0;
out:
	dev_agent_close(&a);
	curl_global_cleanup();
out_cfg:
	if (status == 0)
		log_info("stopped");
	dev_config_clear(&cfg);
	return status;
}
