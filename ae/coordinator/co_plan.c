/*
 * co_plan.c - what each manufacturer service says, and the plan row of
 * each device.
 *
 * Rules (README "Updates coordinator"):
 *   - the latest release of a model is the catalog's "latest"; its
 *     manifest is used only when it verifies with the vendor's pinned key
 *     for that vendor, and names that model and version;
 *   - a device is current when its deviceInfo fwv equals the latest
 *     manifest's version, else outdated;
 *   - criticality (outdated devices only) is the manifest's, raised to
 *     "critical" when an advisory for the model affecting the device's fwv
 *     is known-exploited (kev) or has cvss >= 9.0;
 *   - eligible only when outdated, trust is verified or gateway-asserted,
 *     and the device's hwv is in the manifest's hw list.
 */
#include "ae/coordinator/coord.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CO_BODY_MAX (1024u * 1024u) /* catalog, manifest or advisories answer */

static bool token_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CO_STR_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

int co_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		if (!*a)
			return -1;
		if (!*b)
			return 1;
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		bool na = la > 0 && la < 19 && strspn(a, "0123456789") >= la;
		bool nb = lb > 0 && lb < 19 && strspn(b, "0123456789") >= lb;
		int c;
		if (na && nb) {
			unsigned long long x = strtoull(a, NULL, 10), y = strtoull(b, NULL, 10);
			c = x < y ? -1 : x > y;
		} else {
			c = strncmp(a, b, la < lb ? la : lb);
			if (c == 0)
				c = la < lb ? -1 : la > lb;
		}
		if (c != 0)
			return c < 0 ? -1 : 1;
		a += la;
		b += lb;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

/* GET path from the vendor; the body (NUL-terminated) into *body. */
static int vendor_get(m2m_client *c, const char *path, char **body, char *err, size_t errlen)
{
	static const char *const hdr[] = { "Accept: application/json, application/jose", NULL };
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int rc = -1;
	*body = NULL;
	if (m2m_send_raw(c, "GET", path, hdr, NULL, 0, &r) != 0)
		snprintf(err, errlen, "GET %s: %s", path, r.error);
	else if (r.http_status != 200)
		snprintf(err, errlen, "GET %s: HTTP %d", path, r.http_status);
	else if (r.raw_len > CO_BODY_MAX)
		snprintf(err, errlen, "GET %s: answer above %u bytes", path, CO_BODY_MAX);
	else {
		*body = r.raw_body;
		r.raw_body = NULL;
		rc = 0;
	}
	m2m_result_clear(&r);
	return rc;
}

static json_t *vendor_get_json(m2m_client *c, const char *path, char *err, size_t errlen)
{
	char *body = NULL;
	if (vendor_get(c, path, &body, err, errlen) != 0)
		return NULL;
	json_error_t je;
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &je);
	free(body);
	if (!j)
		snprintf(err, errlen, "GET %s: not JSON: %.100s", path, je.text);
	return j;
}

/* Retrieve the image of a verified manifest and check it against it
 * (size, then SHA-256; the ciphertext description for an encrypted one):
 * the coordinator launches nothing whose image it has not seen intact.
 * A checked image is kept as <cache_dir>/<sha256>.bin (cache_dir "" :
 * a temporary file, removed). On failure the model loses its manifest. */
/* What the coordinator retrieves of a manifest's image: the image, or
   for an encrypted one its ciphertext (image.enc). */
static const json_t *image_desc(const json_t *manifest)
{
	const json_t *img = json_object_get(manifest, "image");
	const json_t *enc = json_object_get(img, "enc");
	return json_is_object(enc) ? enc : img;
}

static void check_image(m2m_client *c, const char *path, const char *cache_dir, struct co_model *m)
{
	static const char *const hdr[] = { "Accept: application/octet-stream, application/jose", NULL };
	const json_t *enc = json_object_get(json_object_get(m->manifest, "image"), "enc");
	const json_t *desc = image_desc(m->manifest);
	const char *sha = json_string_value(json_object_get(desc, "sha256"));
	json_int_t size = json_integer_value(json_object_get(desc, "size"));
	char why[CO_ERR_MAX] = "", tmp[PATH_MAX], final[PATH_MAX];
	const char *reason = NULL;
	m2m_result r;
	memset(&r, 0, sizeof(r));
	int fd = -1;
	tmp[0] = '\0';
	if (cache_dir[0]) {
		snprintf(final, sizeof(final), "%s/images/%s.bin", cache_dir, sha ? sha : "x");
		if (access(final, R_OK) == 0 && hs_image_check_path(final, m->manifest, json_is_object(enc) ? HS_IMAGE_CIPHER
		                                                                                              : HS_IMAGE_PLAIN,
		                                                     &reason) == 0)
			return; /* checked before */
		snprintf(tmp, sizeof(tmp), "%s/images", cache_dir);
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
			snprintf(why, sizeof(why), "%s: %s", tmp, strerror(errno));
			goto fail;
		}
		snprintf(tmp, sizeof(tmp), "%s/images/.part-XXXXXX", cache_dir);
	} else {
		const char *t = getenv("TMPDIR");
		snprintf(tmp, sizeof(tmp), "%s/hearth-coordinator-XXXXXX", t && t[0] ? t : "/tmp");
	}
	if (!sha || size <= 0) {
		snprintf(why, sizeof(why), "the manifest describes no image");
		goto fail;
	}
	if (m2m_send_raw(c, "GET", path, hdr, NULL, 0, &r) != 0 || r.http_status != 200) {
		if (r.http_status)
			snprintf(why, sizeof(why), "GET %.200s: HTTP %d", path, r.http_status);
		else
			snprintf(why, sizeof(why), "GET %.200s: %.200s", path, r.error);
		goto fail;
	}
	if ((json_int_t)r.raw_len != size) {
		snprintf(why, sizeof(why), "%s (%zu bytes, signed %lld)", HS_R_SIZE_MISMATCH, r.raw_len, (long long)size);
		goto fail;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || write(fd, r.raw_body, r.raw_len) != (ssize_t)r.raw_len || lseek(fd, 0, SEEK_SET) != 0) {
		snprintf(why, sizeof(why), "cannot keep the image: %s", strerror(errno));
		goto fail;
	}
	if (hs_image_check_fd(fd, (uint64_t)size, sha, &reason) != 0) {
		snprintf(why, sizeof(why), "%s", reason ? reason : HS_R_INTERNAL);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (cache_dir[0] && rename(tmp, final) == 0)
		tmp[0] = '\0';
	goto out;
fail:
	snprintf(m->refused, sizeof(m->refused), "image refused: %.400s", why);
	json_decref(m->manifest);
	m->manifest = NULL;
	free(m->jws);
	m->jws = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] && !strstr(tmp, "XXXXXX"))
		unlink(tmp);
	m2m_result_clear(&r);
}

static void fetch_model(m2m_client *c, const char *url, const json_t *catalog, const hs_keyset *ks,
                        const char *vendor, time_t now, const char *cache_dir, struct co_model *m)
{
	const json_t *entry = json_object_get(json_object_get(catalog, "models"), m->model);
	if (!json_is_object(entry))
		return;
	m->in_catalog = true;
	const char *latest = json_string_value(json_object_get(entry, "latest"));
	if (!latest || !token_ok(latest) || !token_ok(m->model)) {
		snprintf(m->refused, sizeof(m->refused), "catalog entry without a valid latest version");
		return;
	}
	snprintf(m->latest, sizeof(m->latest), "%s", latest);
	char path[3 * CO_STR_MAX], *jws = NULL;
	snprintf(path, sizeof(path), "/v1/releases/%s/%s/manifest", m->model, latest);
	if (vendor_get(c, path, &jws, m->refused, sizeof(m->refused)) != 0)
		return;
	size_t n = strlen(jws);
	while (n > 0 && (jws[n - 1] == '\n' || jws[n - 1] == '\r'))
		jws[--n] = '\0';
	const char *reason = NULL;
	json_t *p = NULL;
	if (n > HS_JWS_MAX)
		snprintf(m->refused, sizeof(m->refused), "manifest refused: %s", HS_R_MANIFEST_MALFORMED);
	else if (hs_manifest_verify(jws, ks, now, &p, &reason) != 0)
		snprintf(m->refused, sizeof(m->refused), "manifest refused: %s", reason ? reason : HS_R_INTERNAL);
	else if (strcmp(json_string_value(json_object_get(p, "vendor")), vendor) != 0 ||
	         strcmp(json_string_value(json_object_get(p, "model")), m->model) != 0 ||
	         strcmp(json_string_value(json_object_get(p, "version")), latest) != 0)
		snprintf(m->refused, sizeof(m->refused), "manifest refused: it does not name %s %s %s", vendor,
		         m->model, latest);
	else {
		m->manifest = p;
		p = NULL;
		m->jws = jws;
		jws = NULL;
		/* the image: the catalog's path on this same service */
		const char *img = json_string_value(json_object_get(entry, "image"));
		if (img && strncmp(img, "/v1/releases/", 13) == 0 && !strstr(img, "..") &&
		    strspn(img, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/") == strlen(img) &&
		    strlen(url) + strlen(img) < sizeof(m->image)) {
			snprintf(m->image, sizeof(m->image), "%s%s", url, img);
			check_image(c, img, cache_dir, m);
		}
	}
	json_decref(p);
	free(jws);
}

void co_vendor_fetch(const struct co_vendor_cfg *vc, const char *const *models, size_t nmodels, time_t now,
                     const char *cache_dir, struct co_vendor_data *vd)
{
	memset(vd, 0, sizeof(*vd));
	vd->cfg = vc;
	hs_keyset *ks = NULL;
	json_t *catalog = NULL;
	m2m_client *c = m2m_client_new(vc->url);
	const char *reason = NULL;
	if (nmodels > CO_MODELS_MAX)
		nmodels = CO_MODELS_MAX;
	vd->model = calloc(nmodels ? nmodels : 1, sizeof(*vd->model));
	ks = hs_keyset_new();
	if (!c || !vd->model || !ks || m2m_client_set_tls(c, vc->ca[0] ? vc->ca : NULL, NULL, NULL) != 0) {
		snprintf(vd->error, sizeof(vd->error), "out of memory");
		goto out;
	}
	if (hs_keyset_add_path(ks, vc->name, vc->key, &reason) != 0) {
		snprintf(vd->error, sizeof(vd->error), "pinned key %.200s: %s", vc->key, reason);
		goto out;
	}
	catalog = vendor_get_json(c, "/v1/catalog", vd->error, sizeof(vd->error));
	if (!catalog)
		goto out;
	const char *cv = json_string_value(json_object_get(catalog, "vendor"));
	if (!cv || strcmp(cv, vc->name) != 0) {
		snprintf(vd->error, sizeof(vd->error), "catalog of vendor '%.64s', expected %s", cv ? cv : "?", vc->name);
		goto out;
	}
	vd->advisories = vendor_get_json(c, "/v1/advisories", vd->error, sizeof(vd->error));
	if (!json_is_array(vd->advisories)) {
		if (vd->advisories)
			snprintf(vd->error, sizeof(vd->error), "/v1/advisories: not an array");
		goto out;
	}
	for (size_t i = 0; i < nmodels; i++) {
		snprintf(vd->model[i].model, sizeof(vd->model[i].model), "%s", models[i]);
		vd->nmodels++;
		fetch_model(c, vc->url, catalog, ks, vc->name, now, cache_dir, &vd->model[i]);
	}
	vd->ok = true;
out:
	json_decref(catalog);
	hs_keyset_free(&ks);
	m2m_client_free(&c);
}

static bool image_kept(const char *stem, const struct co_vendor_data *vd, size_t n)
{
	for (size_t v = 0; v < n; v++)
		for (size_t i = 0; i < vd[v].nmodels; i++) {
			const char *sha = json_string_value(json_object_get(image_desc(vd[v].model[i].manifest), "sha256"));
			if (sha && strcmp(sha, stem) == 0)
				return true;
		}
	return false;
}

size_t co_images_prune(const char *cache_dir, const struct co_vendor_data *vd, size_t n)
{
	for (size_t v = 0; v < n; v++)
		if (!vd[v].ok)
			return 0;
	char dir[PATH_MAX], path[PATH_MAX + 256];
	snprintf(dir, sizeof(dir), "%s/images", cache_dir);
	DIR *d = cache_dir[0] ? opendir(dir) : NULL;
	if (!d)
		return 0;
	size_t removed = 0;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		size_t len = strlen(name);
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		bool drop = false;
		if (len > 4 && strcmp(name + len - 4, ".bin") == 0 && name[0] != '.') {
			char stem[256];
			snprintf(stem, sizeof(stem), "%.*s", (int)(len - 4), name);
			drop = !image_kept(stem, vd, n);
		} else if (strncmp(name, ".part-", 6) == 0) {
			drop = lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < now - 3600;
		}
		if (drop && unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

void co_vendor_data_free(struct co_vendor_data *vd)
{
	for (size_t i = 0; i < vd->nmodels; i++) {
		json_decref(vd->model[i].manifest);
		free(vd->model[i].jws);
	}
	free(vd->model);
	json_decref(vd->advisories);
	memset(vd, 0, sizeof(*vd));
}

/* Does advisory a (for the model) affect version v? */
static bool advisory_affects(const json_t *a, const char *model, const char *v)
{
	const char *am = json_string_value(json_object_get(a, "model"));
	if (!am || strcmp(am, model) != 0 || !v[0])
		return false;
	const json_t *aff = json_object_get(a, "affected");
	size_t i;
	json_t *x;
	json_array_foreach(aff, i, x) {
		if (json_is_string(x) && strcmp(json_string_value(x), v) == 0)
			return true;
	}
	const char *below = json_string_value(json_object_get(a, "affected_below"));
	return below && co_version_cmp(v, below) < 0;
}

static bool hw_listed(const json_t *manifest, const char *hw)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(manifest, "hw"), i, x) {
		if (json_is_string(x) && strcmp(json_string_value(x), hw) == 0)
			return true;
	}
	return false;
}

json_t *co_plan_device(const struct co_device *d, const struct co_vendor_data *vd)
{
	json_t *row = co_device_json(d);
	json_t *advs = json_array();
	if (!row || !advs) {
		json_decref(row);
		json_decref(advs);
		return NULL;
	}
	char reason[CO_ERR_MAX + 64] = "";
	const char *latest = NULL, *crit = NULL, *action = "blocked";
	long long seq = 0;
	int current = -1; /* unknown */
	bool eligible = false;
	const struct co_model *m = NULL;
	for (size_t i = 0; vd && vd->ok && i < vd->nmodels; i++)
		if (strcmp(vd->model[i].model, d->mod) == 0)
			m = &vd->model[i];
	if (!d->man[0] || !d->mod[0] || !d->fwv[0])
		snprintf(reason, sizeof(reason), "incomplete inventory record (manufacturer, model or fwv missing)");
	else if (!vd)
		snprintf(reason, sizeof(reason), "no vendor service configured for %s", d->man);
	else if (!vd->ok)
		snprintf(reason, sizeof(reason), "vendor %s unavailable: %s", d->man, vd->error);
	else if (!m || !m->in_catalog)
		snprintf(reason, sizeof(reason), "model %s unknown to vendor %s", d->mod, d->man);
	else if (!m->manifest)
		snprintf(reason, sizeof(reason), "%s", m->refused);
	else {
		latest = json_string_value(json_object_get(m->manifest, "version"));
		seq = json_integer_value(json_object_get(m->manifest, "seq"));
		current = strcmp(d->fwv, latest) == 0;
		size_t i;
		json_t *a;
		bool raise = false;
		json_array_foreach(vd->advisories, i, a) {
			if (json_array_size(advs) < CO_ADVISORIES_MAX && advisory_affects(a, d->mod, d->fwv)) {
				json_array_append(advs, json_object_get(a, "id"));
				json_t *cvss = json_object_get(a, "cvss");
				if (json_is_true(json_object_get(a, "kev")) || (json_is_number(cvss) && json_number_value(cvss) >= 9.0))
					raise = true;
			}
		}
		if (current) {
			action = "none";
			snprintf(reason, sizeof(reason), "current");
		} else {
			crit = raise ? "critical" : json_string_value(json_object_get(m->manifest, "criticality"));
			if (strcmp(d->trust, "failed") == 0)
				snprintf(reason, sizeof(reason), "trust failed%s%s", d->trust_reason[0] ? ": " : "",
				         d->trust_reason);
			else if (strcmp(d->trust, "unknown") == 0)
				snprintf(reason, sizeof(reason), "trust unknown (%s)", d->trust_reason);
			else if (!hw_listed(m->manifest, d->hwv))
				snprintf(reason, sizeof(reason), "hardware %s not in the manifest's hw list",
				         d->hwv[0] ? d->hwv : "(none)");
			else {
				eligible = true;
				action = "update";
				snprintf(reason, sizeof(reason), "outdated: %s -> %s", d->fwv, latest);
			}
		}
	}
	json_object_set_new(row, "latest", latest ? json_string(latest) : json_null());
	json_object_set_new(row, "latest_seq", latest ? json_integer(seq) : json_null());
	json_object_set_new(row, "current", current < 0 ? json_null() : json_boolean(current));
	json_object_set_new(row, "criticality", crit ? json_string(crit) : json_null());
	json_object_set_new(row, "advisories", advs);
	json_object_set_new(row, "eligible", json_boolean(eligible));
	json_object_set_new(row, "action", json_string(action));
	json_object_set_new(row, "reason", json_string(reason));
	return row;
}
