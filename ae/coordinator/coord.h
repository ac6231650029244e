/*
 * coord.h - hearth-coordinator, the operator's updates coordinator: an AE
 * on the IN-CSE that reads the inventory of every home from the announced
 * resources and plans updates against the manufacturers' services
 * (README "Updates coordinator (hearth-coordinator)").
 *
 * Design note
 *   Three steps, each a pure function of what the previous one returned,
 *   so the decision rules can be tested without a network:
 *     co_inventory_build()  the IN-CSE: <remoteCSE>s, their nodeAnnc and
 *                           deviceInfo/firmware announced children;
 *     co_vendor_fetch()     one manufacturer service over HTTPS: catalog,
 *                           the latest manifest of each model present in
 *                           the inventory (verified with the pinned key;
 *                           one that does not verify is kept only as the
 *                           reason it was refused), advisories;
 *     co_plan_device()      one device against what its vendor gave.
 *   Everything read from the network is bounded: strings by CO_STR_MAX
 *   (a longer value counts as missing), counts by CO_*_MAX.
 *
 * Ownership
 *   co_config_free(), co_inventory_free() and co_vendor_data_free() free
 *   what the matching call filled and accept half-built objects. json_t *
 *   results are new references.
 *
 * Return values
 *   int functions give 0 on success and -1 with a one-line message in err.
 */
#ifndef HEARTH_COORD_H
#define HEARTH_COORD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "ae/lib/consent.h"
#include "ae/lib/hsign.h"
#include "ae/lib/m2m_client.h"

/* limits */
#define CO_STR_MAX 128u        /* one attribute value kept from the IN or a vendor */
#define CO_ADDR_MAX 256u       /* a resource address */
#define CO_VENDORS_MAX 16u
#define CO_GATEWAYS_MAX 1024u
#define CO_DEVICES_MAX 8192u
#define CO_MODELS_MAX 256u     /* models asked of one vendor */
#define CO_ADVISORIES_MAX 1024u
#define CO_ERR_MAX 512u
#define CO_CAMPAIGN_MAX 64u    /* campaign name */
#define CO_STATE_MAX (900u * 1024u) /* campaign state document (below the CSE's 1 MiB body limit) */
#define CO_WAVES_MAX 16u

/* ---- configuration -------------------------------------------------------- */

struct co_vendor_cfg {
	char name[CO_STR_MAX + 1]; /* the manufacturer (deviceInfo man, manifest vendor) */
	char url[CO_ADDR_MAX];     /* https://host:port of its hearth-vendor */
	char ca[PATH_MAX];         /* CA file verifying that service ("" = system store) */
	char key[PATH_MAX];        /* its pinned public key PEM */
	char originator[CO_STR_MAX + 1]; /* its update service's AE-ID at the IN ("" = none): in
	                                    inform mode it reads the notices of its devices */
};

struct co_config {
	char in_url[CO_ADDR_MAX];
	char cse_id[CO_STR_MAX + 1];
	char cse_rn[CO_STR_MAX + 1];
	char originator[CO_STR_MAX + 1];
	char in_ca[PATH_MAX];
	char operator_key[PATH_MAX];
	char state_dir[PATH_MAX];
	struct co_vendor_cfg vendor[CO_VENDORS_MAX];
	size_t nvendors;
	/* command line only */
	char command[16];          /* "inventory" | "plan" | "launch" | "status" */
	char campaign[CO_CAMPAIGN_MAX + 1]; /* launch/status: the campaign (default "default") */
	unsigned max_per_minute;   /* launch: at most this many devices started a minute (0: no limit) */
	/* launch: the campaign policy, stored with a new campaign (a resumed
	   campaign keeps the one it was started with) */
	unsigned waves[CO_WAVES_MAX]; /* cumulative percentages, increasing, the last 100 */
	size_t nwaves;
	unsigned success_rate;     /* % of finished devices successful before the next wave */
	unsigned failure_threshold; /* % of started devices failed that halts the campaign */
	int window_start, window_end; /* maintenance window, minutes of the UTC day; -1: none */
	char mode[8];              /* "install" | "inform" (the manufacturer launches) */
	char no_policy[8];         /* consent in a home without a policy: "ask" | "auto" */
	char listen[64];           /* notification receiver, IPv4 "host:port" (port 0: any) */
	unsigned wait_s;           /* launch: how long one run waits for the campaign to progress */
	char json_out[PATH_MAX];   /* "" = none */
	bool help;
};

/* Parse argv (and the INI file given with -c). Exit status semantics of the
 * caller: -1 here means bad usage (2). */
int co_config_load(struct co_config *cfg, int argc, char **argv, char *err, size_t errlen);
void co_config_usage(FILE *f);
/* Find a configured vendor by manufacturer name, or NULL. */
const struct co_vendor_cfg *co_config_vendor(const struct co_config *cfg, const char *name);

/* ---- inventory ------------------------------------------------------------ */

struct co_device {
	char gateway[CO_STR_MAX + 1];  /* CSE-ID of the gateway, "id-mn" */
	char node[CO_ADDR_MAX];        /* the node at the gateway (lnk), "/id-mn/nod..." */
	char fw[CO_ADDR_MAX];          /* its firmware at the gateway (fwrA lnk), "" without one */
	char gw_cb[CO_ADDR_MAX];       /* the gateway's CSEBase, "/id-mn/cse-mn" (csr cb) */
	char annc[CO_ADDR_MAX];        /* its announced copy at the IN */
	char ni[CO_STR_MAX + 1];
	char man[CO_STR_MAX + 1], mod[CO_STR_MAX + 1], hwv[CO_STR_MAX + 1], fwv[CO_STR_MAX + 1];
	char vr[CO_STR_MAX + 1];       /* firmware vr ("" without a firmware mgmtObj) */
	char trust[24];                /* verified | gateway-asserted | failed | unknown */
	char trust_reason[CO_STR_MAX + 1];
};

struct co_inventory {
	struct co_device *dev;
	size_t n;
	size_t gateways;
};

/* Register the coordinator's AE at the IN (or reuse the one registered
 * under its originator). */
int co_register(m2m_client *in, const struct co_config *cfg, char *err, size_t errlen);
/* Set the AE's point of access (where notifications reach it). */
int co_set_poa(m2m_client *in, const struct co_config *cfg, const char *poa, char *err, size_t errlen);
int co_inventory_build(m2m_client *in, const struct co_config *cfg, struct co_inventory *inv, char *err,
                       size_t errlen);
void co_inventory_free(struct co_inventory *inv);
/* Read the attestation verdict from a node's labels (array or NULL). */
void co_trust_from_labels(const json_t *lbl, struct co_device *d);
json_t *co_device_json(const struct co_device *d);

/* ---- plan ----------------------------------------------------------------- */

struct co_model {
	char model[CO_STR_MAX + 1];
	bool in_catalog;
	char latest[CO_STR_MAX + 1];   /* catalog's latest version */
	json_t *manifest;              /* verified payload, or NULL */
	char *jws;                     /* its compact serialization when verified, else NULL */
	char image[CO_ADDR_MAX];       /* URL of the latest image at the vendor ("" when unknown) */
	char refused[CO_ERR_MAX];      /* why there is no verified manifest */
};

struct co_vendor_data {
	const struct co_vendor_cfg *cfg;
	bool ok;                       /* catalog fetched */
	char error[CO_ERR_MAX];        /* when !ok */
	struct co_model *model;
	size_t nmodels;
	json_t *advisories;            /* array (possibly empty) */
};

/* Fetch catalog, manifests of the given models and advisories, and the
 * image of every verified manifest, checked against it (kept under
 * cache_dir/images when cache_dir is not ""). Failures are recorded in vd
 * (never fatal): returns nothing. */
void co_vendor_fetch(const struct co_vendor_cfg *vc, const char *const *models, size_t nmodels, time_t now,
                     const char *cache_dir, struct co_vendor_data *vd);
void co_vendor_data_free(struct co_vendor_data *vd);
/* Remove from cache_dir/images the images no verified manifest in vd[0..n)
 * describes any more (a superseded release's) and partial downloads older
 * than an hour; nothing when a vendor did not answer (its images may
 * still be current). Returns the number of files removed. */
size_t co_images_prune(const char *cache_dir, const struct co_vendor_data *vd, size_t n);

/* Compare two versions: dot-separated fields, numeric fields numerically,
 * others byte-wise; a missing field is below a present one. <0, 0, >0. */
int co_version_cmp(const char *a, const char *b);

/* One plan row for device d; vd is its vendor's data or NULL when no
 * vendor service is configured for its manufacturer. */
json_t *co_plan_device(const struct co_device *d, const struct co_vendor_data *vd);

/* ---- campaigns (co_campaign.c) -------------------------------------------- */

/* The campaign state at the IN: <cse-rn>/<originator>/campaigns/<name>,
 * one contentInstance per state change, con = the JSON state document:
 *   {"campaign":NAME,"updated":EPOCH,"devices":[{"device":ni,"gateway":"id-mn",
 *    "firmware":"/id-mn/fwr..","manufacturer","model","trust","before","target",
 *    "manifest":hash|null,"package":addr|null,"launched":bool,"status","reason"}]}
 * status: pending | in-process | successful | failed | blocked | current. */

/* Load the latest state of a campaign; *state = NULL when there is none.
 * A state document that does not parse or breaks the schema is an error. */
int co_campaign_load(m2m_client *in, const struct co_config *cfg, json_t **state, char *err, size_t errlen);
/* Store a new state (creating the containers when missing). */
int co_campaign_save(m2m_client *in, const struct co_config *cfg, json_t *state, char *err, size_t errlen);
/* Check a state document's schema (bounded strings and counts); 0 or -1. */
int co_campaign_check(const json_t *state, char *err, size_t errlen);
/* The status a launched device has from its firmware (m2m:fwr content, or
 * NULL when it could not be read, with why): sets "status", "reason" and
 * "after" in dev; returns true when the status changed. */
bool co_status_from_fw(json_t *dev, const json_t *fwr, const char *why);
/* A status row (device, manufacturer, model, trust, before, after, status,
 * reason) of a state entry; new reference. */
json_t *co_status_row(const json_t *dev);

/* launch: plan rows (co_plan_device, same order as inv) and the vendor data
 * of each device (NULL when none); rows get the launch outcome. */
int co_launch(m2m_client *in, const struct co_config *cfg, const struct co_inventory *inv,
              const struct co_vendor_data *const *vdev, const json_t *plan, json_t *out_rows, char *err,
              size_t errlen);
/* status: the rows of the campaign, reading each launched device's firmware. */
int co_status(m2m_client *in, const struct co_config *cfg, json_t *out_rows, char *err, size_t errlen);

/* ---- consent (co_consent.c) ------------------------------------------------ */

typedef enum co_consent { CO_CONSENT_GO, CO_CONSENT_WAIT, CO_CONSENT_REFUSED } co_consent;

/* A home's consent resources, found at its gateway through the IN. */
struct co_home {
	bool loaded;
	char gateway[CO_STR_MAX + 1];
	char policy_addr[CO_ADDR_MAX];   /* container labelled hearth:consent, "" = none */
	char requests_addr[CO_ADDR_MAX]; /* container labelled hearth:consent-requests, "" = none */
	bool has_policy;                 /* a policy is in force: */
	struct cs_policy policy;         /* ae/lib/consent.h */
	char error[CO_ERR_MAX];          /* why the home could not be read ("" = fine) */
};

/* The consent rule (co_consent.c); policy NULL: the home has none and
 * no_policy ("ask" | "auto") applies. asked: when the user was first asked;
 * *auto_at: when a critical update installs by itself (0: not applicable). */
co_consent co_consent_decide(const struct cs_policy *policy, const char *no_policy, const char *criticality,
                             const char *manifest, time_t asked, time_t now, time_t *auto_at, const char **why);
/* Find and read the consent resources of d's home; -1 with h->error. */
int co_home_load(m2m_client *in, const struct co_config *cfg, const struct co_device *d, struct co_home *h);
void co_home_clear(struct co_home *h);
/* Post a consent request or notice (a JSON object) to the home. */
int co_consent_post(m2m_client *in, const struct co_config *cfg, const struct co_home *h, const json_t *req,
                    char *err, size_t errlen);

/* ---- notification receiver (co_notify.c) ------------------------------------ */

struct co_listener;
/* Listen on host:port (IPv4; port 0: any free one); poa gets its URL. */
int co_listener_start(struct co_listener **l, const char *host, unsigned port, char *poa, size_t poalen, char *err,
                      size_t errlen);
/* Wait up to ms for notifications; the notified resource IDs go to out (at
 * most max); *all is set when some were lost (then read everything). */
size_t co_listener_wait(struct co_listener *l, int64_t ms, char (*out)[CO_STR_MAX + 1], size_t max, bool *all);
unsigned long co_listener_received(struct co_listener *l);
void co_listener_stop(struct co_listener **l);

/* ---- waves (co_campaign.c) ---------------------------------------------------- */

/* The wave (0-based) of the j-th of n eligible devices under cumulative
 * percentages waves[0..nw-1]. */
size_t co_wave_of(size_t j, size_t n, const unsigned *waves, size_t nw);
/* Is minute-of-day m inside the window [start, end) (wrapping midnight)? */
bool co_window_open(int start, int end, int m);

/* ---- shared by co_campaign.c and co_engine.c ---------------------------------- */

#define CO_PKG_CNT "hearth-updates"
/* a package address: <gateway CSEBase>/hearth-updates/<campaign>-<ni> */
#define CO_PKG_MAX (CO_ADDR_MAX + sizeof(CO_PKG_CNT) + CO_CAMPAIGN_MAX + CO_STR_MAX + 4)

const char *co_jstr(const json_t *o, const char *k);
bool co_is_status(const json_t *entry, const char *status);
void co_set_str(json_t *o, const char *k, const char *v); /* v NULL: null */
/* err = "what: <transport error>" or "what: rsc N"; returns -1 */
int co_rfail(char *err, size_t errlen, const char *what, const m2m_result *r);
/* Create container rn under parent (mni 1000); one that exists is fine. */
int co_ensure_cnt(m2m_client *in, const char *from, const char *parent, const char *rn, char *err, size_t errlen);
/* The m2m:fwr content of a firmware read through the IN, or NULL with why. */
json_t *co_read_fw(m2m_client *in, const struct co_config *cfg, const char *fw, char *why, size_t whylen);
json_t *co_find_dev(const json_t *state, const char *ni); /* the entry of device ni, borrowed */
int64_t co_now_ms(void);                                   /* monotonic */
void co_sleep_ms(int64_t ms);
/* The package instance's name: <campaign>-<ni, other characters as '_'>. */
void co_package_rn(const struct co_config *cfg, const char *ni, char *out, size_t n);
/* Sign and store device d's package at pkg; when start, also Update its
 * firmware with url = pkg and ud = true. */
int co_launch_one(m2m_client *in, const struct co_config *cfg, const hs_key *op, const struct co_device *d,
                  const struct co_model *m, const char *pkg, bool start, char *err, size_t errlen);

#endif
