/*
 * hearth_coordinator_main.c - hearth-coordinator: the operator's updates
 * coordinator. Commands: inventory (the devices of every home, from the
 * IN-CSE), plan (inventory + the manufacturers' catalogs, verified
 * manifests and advisories: which device is outdated, how urgent, and
 * whether it may be updated), launch (start the update of every eligible
 * device: co_campaign.c) and status (follow a campaign). Exit status: 0 done, 1 failed, 2 bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ae/coordinator/coord.h"

static const char *show(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "yes";
	if (json_is_false(v))
		return "no";
	return "-";
}

static void print_inventory(const json_t *rows)
{
	size_t i;
	json_t *r;
	printf("%-8s %-28s %-10s %-10s %-6s %-10s %-10s %s\n", "gateway", "ni", "man", "model", "hwv", "fwv", "vr",
	       "trust");
	json_array_foreach(rows, i, r) {
		printf("%-8s %-28s %-10s %-10s %-6s %-10s %-10s %s%s%s\n", show(r, "gateway"), show(r, "ni"),
		       show(r, "manufacturer"), show(r, "model"), show(r, "hwv"), show(r, "fwv"), show(r, "vr"),
		       show(r, "trust"), json_is_string(json_object_get(r, "trust_reason")) ? " " : "",
		       json_is_string(json_object_get(r, "trust_reason")) ? show(r, "trust_reason") : "");
	}
}

static void print_status(const json_t *rows)
{
	size_t i;
	json_t *r;
	printf("%-28s %-10s %-10s %-16s %-10s %-10s %-10s %s\n", "device", "man", "model", "trust", "before", "after",
	       "status", "reason");
	json_array_foreach(rows, i, r) {
		printf("%-28s %-10s %-10s %-16s %-10s %-10s %-10s %s\n", show(r, "device"), show(r, "manufacturer"),
		       show(r, "model"), show(r, "trust"), show(r, "before"), show(r, "after"), show(r, "status"),
		       show(r, "reason"));
	}
}

static void print_plan(const json_t *rows)
{
	size_t i;
	json_t *r;
	printf("%-28s %-10s %-10s %-16s %-7s %-10s %-11s %s\n", "device", "man", "model", "trust", "current", "latest",
	       "criticality", "action");
	json_array_foreach(rows, i, r) {
		printf("%-28s %-10s %-10s %-16s %-7s %-10s %-11s %s (%s)\n", show(r, "ni"), show(r, "manufacturer"),
		       show(r, "model"), show(r, "trust"), show(r, "current"), show(r, "latest"), show(r, "criticality"),
		       show(r, "action"), show(r, "reason"));
	}
}

/* The distinct models of one manufacturer in the inventory. */
static size_t models_of(const struct co_inventory *inv, const char *man, const char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < inv->n; i++) {
		if (strcmp(inv->dev[i].man, man) != 0 || !inv->dev[i].mod[0])
			continue;
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcmp(out[k], inv->dev[i].mod) == 0;
		if (!seen && n < max)
			out[n++] = inv->dev[i].mod;
	}
	return n;
}

static int run(const struct co_config *cfg)
{
	int rc = 1;
	char err[CO_ERR_MAX] = "";
	struct co_inventory inv = { 0 };
	struct co_vendor_data *vd = NULL;
	const char **models = NULL;
	const struct co_vendor_data **vdev = NULL;
	json_t *rows = json_array();
	m2m_client *in = m2m_client_new(cfg->in_url);
	if (!rows || !in || (cfg->in_ca[0] && m2m_client_set_tls(in, cfg->in_ca, NULL, NULL) != 0)) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	if (cfg->state_dir[0] && mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, sizeof(err), "state-dir %.200s: %s", cfg->state_dir, strerror(errno));
		goto out;
	}
	if (co_register(in, cfg, err, sizeof(err)) != 0)
		goto out;
	if (strcmp(cfg->command, "status") == 0) {
		if (co_status(in, cfg, rows, err, sizeof(err)) != 0)
			goto out;
		print_status(rows);
		goto write;
	}
	if (co_inventory_build(in, cfg, &inv, err, sizeof(err)) != 0)
		goto out;
	bool launch = strcmp(cfg->command, "launch") == 0;
	bool plan = launch || strcmp(cfg->command, "plan") == 0;
	if (plan) {
		vd = calloc(cfg->nvendors ? cfg->nvendors : 1, sizeof(*vd));
		models = calloc(CO_MODELS_MAX, sizeof(*models));
		if (!vd || !models) {
			snprintf(err, sizeof(err), "out of memory");
			goto out;
		}
		time_t now = time(NULL);
		for (size_t v = 0; v < cfg->nvendors; v++) {
			size_t nm = models_of(&inv, cfg->vendor[v].name, models, CO_MODELS_MAX);
			co_vendor_fetch(&cfg->vendor[v], models, nm, now, cfg->state_dir, &vd[v]);
			if (!vd[v].ok)
				fprintf(stderr, "hearth-coordinator: vendor %s: %s\n", cfg->vendor[v].name, vd[v].error);
			for (size_t m = 0; m < vd[v].nmodels; m++)
				if (vd[v].model[m].in_catalog && !vd[v].model[m].manifest)
					fprintf(stderr, "hearth-coordinator: vendor %s model %s: %s\n", cfg->vendor[v].name,
					        vd[v].model[m].model, vd[v].model[m].refused);
		}
		if (cfg->state_dir[0])
			co_images_prune(cfg->state_dir, vd, cfg->nvendors);
	}
	for (size_t i = 0; i < inv.n; i++) {
		json_t *row;
		if (plan) {
			const struct co_vendor_cfg *vc = co_config_vendor(cfg, inv.dev[i].man);
			row = co_plan_device(&inv.dev[i], vc ? &vd[vc - cfg->vendor] : NULL);
		} else
			row = co_device_json(&inv.dev[i]);
		if (!row || json_array_append_new(rows, row) != 0) {
			snprintf(err, sizeof(err), "out of memory");
			goto out;
		}
	}
	if (launch) {
		json_t *plan_rows = rows;
		rows = json_array();
		vdev = calloc(inv.n ? inv.n : 1, sizeof(*vdev));
		if (!rows || !vdev) {
			json_decref(plan_rows);
			snprintf(err, sizeof(err), "out of memory");
			goto out;
		}
		for (size_t i = 0; i < inv.n; i++) {
			const struct co_vendor_cfg *vc = co_config_vendor(cfg, inv.dev[i].man);
			vdev[i] = vc ? &vd[vc - cfg->vendor] : NULL;
		}
		int lrc = co_launch(in, cfg, &inv, vdev, plan_rows, rows, err, sizeof(err));
		json_decref(plan_rows);
		if (lrc != 0)
			goto out;
		print_status(rows);
	} else if (plan)
		print_plan(rows);
	else
		print_inventory(rows);
	printf("%zu device(s) behind %zu gateway(s)\n", inv.n, inv.gateways);
write:
	if (cfg->json_out[0] && json_dump_file(rows, cfg->json_out, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
		snprintf(err, sizeof(err), "cannot write %.200s", cfg->json_out);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "hearth-coordinator: %s\n", err);
	for (size_t v = 0; vd && v < cfg->nvendors; v++)
		co_vendor_data_free(&vd[v]);
	free(vd);
	free(models);
	free(vdev);
	co_inventory_free(&inv);
	json_decref(rows);
	m2m_client_free(&in);
	return rc;
}

int main(int argc, char **argv)
{
	static struct co_config cfg;
	char err[CO_ERR_MAX] = "";
	if (co_config_load(&cfg, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "hearth-coordinator: %s\n", err);
		return 2;
	}
	if (cfg.help) {
		co_config_usage(stdout);
		return 0;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = run(&cfg);
	curl_global_cleanup();
	return rc;
}
