/*
 * vd_catalog.c - load and check a hearth-vendor directory (see vendor.h).
 *
 *   DIR/vendor.ini
 *   DIR/releases/<model>/<version>/manifest.jws + image.bin | image.jwe
 *   DIR/advisories/<id>.json
 *
 * Releases are kept sorted by model, then seq; the last of a model is its
 * latest. The catalog and advisory documents are rendered once here.
 */
#include "ae/vendor/vendor.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ini.h>

/* cvss has one decimal: 9.8, not 9.8000000000000007 */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6))

struct vd_release {
	char *model, *version, *crit, *manifest, *image_path;
	long long seq;
	uint64_t image_size; /* the file served: plain or encrypted */
	bool encrypted;
};

struct vd_catalog {
	char *vendor;
	char *pub_pem;
	size_t pub_len;
	struct vd_release *rel; /* sorted by model, seq */
	size_t nrel;
	json_t *advisories;     /* array, sorted by id */
	char *catalog_json;
	size_t catalog_len;
	char *advisories_json;
	size_t advisories_len;
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

bool vd_token_ok(const char *s)
{
	if (!s || !*s || *s == '.')
		return false;
	size_t n = 0;
	for (const char *p = s; *p; p++, n++) {
		if (n >= HS_STR_MAX)
			return false;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			return false;
	}
	return true;
}

char *vd_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 2);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > max;
	int e = !buf ? ENOMEM : n > max ? EFBIG : EIO;
	fclose(f);
	if (bad) {
		free(buf);
		errno = e;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int join(char *out, size_t n, const char *a, const char *b)
{
	return snprintf(out, n, "%s/%s", a, b) >= (int)n ? -1 : 0;
}

/* ---- vendor.ini ---------------------------------------------------------- */

struct ini_ctx {
	const char *dir;
	struct vd_config *c;
	char msg[160];
};

static int set_path(char *dst, size_t n, const char *dir, const char *v)
{
	if (!*v)
		return -1;
	if (v[0] == '/')
		return snprintf(dst, n, "%s", v) >= (int)n ? -1 : 0;
	return join(dst, n, dir, v);
}

static int ini_on_kv(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	struct vd_config *c = x->c;
	if (strcmp(section, "vendor") != 0) {
		snprintf(x->msg, sizeof(x->msg), "unknown section [%.40s]", section);
		return 0;
	}
	if (strcmp(name, "name") == 0) {
		size_t n = strlen(value);
		json_t *probe = json_string(value); /* UTF-8 check */
		json_decref(probe);
		if (n == 0 || n > HS_STR_MAX || !probe) {
			snprintf(x->msg, sizeof(x->msg), "name: 1 to %u bytes of UTF-8", HS_STR_MAX);
			return 0;
		}
		memcpy(c->name, value, n + 1);
	} else if (strcmp(name, "addr") == 0) {
		if (snprintf(c->addr, sizeof(c->addr), "%s", value) >= (int)sizeof(c->addr) || !*value) {
			snprintf(x->msg, sizeof(x->msg), "addr: an IPv4 address");
			return 0;
		}
	} else if (strcmp(name, "port") == 0) {
		char *end = NULL;
		errno = 0;
		long p = strtol(value, &end, 10);
		if (errno || end == value || *end || p < 1 || p > 65535) {
			snprintf(x->msg, sizeof(x->msg), "port: a number from 1 to 65535");
			return 0;
		}
		c->port = p;
	} else if (strcmp(name, "tls-cert") == 0 || strcmp(name, "tls-key") == 0 || strcmp(name, "pub-key") == 0) {
		char *dst = strcmp(name, "tls-cert") == 0 ? c->tls_cert : strcmp(name, "tls-key") == 0 ? c->tls_key : c->pub_key;
		if (set_path(dst, PATH_MAX, x->dir, value) != 0) {
			snprintf(x->msg, sizeof(x->msg), "%s: a file path", name);
			return 0;
		}
	} else {
		snprintf(x->msg, sizeof(x->msg), "unknown key '%.40s'", name);
		return 0;
	}
	return 1;
}

int vd_config_load(const char *dir, struct vd_config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->addr, sizeof(c->addr), "%s", VD_DEFAULT_ADDR);
	c->port = VD_DEFAULT_PORT;
	char path[PATH_MAX];
	if (join(path, sizeof(path), dir, "vendor.ini") != 0)
		return fail(err, errlen, "%s: path too long", dir);
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return fail(err, errlen, "%s: cannot read (%s)", path, strerror(errno ? errno : EINVAL));
	if (st.st_size > (off_t)VD_FILE_MAX)
		return fail(err, errlen, "%s: larger than %u bytes", path, VD_FILE_MAX);
	FILE *f = fopen(path, "r");
	if (!f)
		return fail(err, errlen, "%s: cannot read (%s)", path, strerror(errno));
	struct ini_ctx x = {.dir = dir, .c = c};
	int r = ini_parse_file(f, ini_on_kv, &x);
	fclose(f);
	if (r != 0) {
		if (x.msg[0])
			return fail(err, errlen, "%s: line %d: %s", path, r, x.msg);
		return fail(err, errlen, "%s: line %d: not INI syntax", path, r);
	}
	if (!c->name[0])
		return fail(err, errlen, "%s: [vendor] name is required", path);
	return 0;
}

/* ---- releases ------------------------------------------------------------ */

static void release_clear(struct vd_release *r)
{
	free(r->model);
	free(r->version);
	free(r->crit);
	free(r->manifest);
	free(r->image_path);
	memset(r, 0, sizeof(*r));
}

/* One release directory. */
static int load_release(vd_catalog *c, const hs_keyset *ks, const char *vdir, const char *model, const char *version,
                        char *err, size_t errlen)
{
	char mpath[PATH_MAX], ipath[PATH_MAX];
	const char *reason = NULL;
	json_t *p = NULL;
	int rc = -1;
	struct vd_release r;
	memset(&r, 0, sizeof(r));
	if (join(mpath, sizeof(mpath), vdir, "manifest.jws") != 0)
		return fail(err, errlen, "%s: path too long", vdir);
	size_t n = 0;
	r.manifest = vd_read_file(mpath, HS_JWS_MAX + 2, &n);
	if (!r.manifest) {
		fail(err, errlen, "%s: cannot read (%s)", mpath, strerror(errno));
		goto out;
	}
	while (n > 0 && (r.manifest[n - 1] == '\n' || r.manifest[n - 1] == '\r'))
		r.manifest[--n] = '\0';
	if (hs_manifest_verify(r.manifest, ks, time(NULL), &p, &reason) != 0) {
		fail(err, errlen, "%s: manifest refused: %s (not signed by pub-key for vendor \"%s\", or expired)", mpath,
		     reason, c->vendor);
		goto out;
	}
	const char *pm = json_string_value(json_object_get(p, "model"));
	const char *pv = json_string_value(json_object_get(p, "version"));
	if (!pm || strcmp(pm, model) != 0 || !pv || strcmp(pv, version) != 0) {
		fail(err, errlen, "%s: the manifest is for %s %s, the directory says %s %s", mpath, pm ? pm : "?",
		     pv ? pv : "?", model, version);
		goto out;
	}
	json_t *enc = json_object_get(json_object_get(p, "image"), "enc");
	r.encrypted = json_is_object(enc);
	if (join(ipath, sizeof(ipath), vdir, r.encrypted ? "image.jwe" : "image.bin") != 0) {
		fail(err, errlen, "%s: path too long", vdir);
		goto out;
	}
	if (hs_image_check_path(ipath, p, r.encrypted ? HS_IMAGE_CIPHER : HS_IMAGE_PLAIN, &reason) != 0) {
		fail(err, errlen, "%s: does not match its manifest: %s", ipath, reason);
		goto out;
	}
	json_t *sz = r.encrypted ? json_object_get(enc, "size") : json_object_get(json_object_get(p, "image"), "size");
	r.image_size = (uint64_t)json_integer_value(sz);
	r.seq = (long long)json_integer_value(json_object_get(p, "seq"));
	r.model = strdup(model);
	r.version = strdup(version);
	r.crit = strdup(json_string_value(json_object_get(p, "criticality")));
	r.image_path = strdup(ipath);
	if (!r.model || !r.version || !r.crit || !r.image_path) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	if (c->nrel >= VD_RELEASES_MAX) {
		fail(err, errlen, "%s: more than %u releases", vdir, VD_RELEASES_MAX);
		goto out;
	}
	c->rel[c->nrel++] = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
out:
	release_clear(&r);
	json_decref(p);
	return rc;
}

/* Names in a directory, sorted; d_type-independent. *names freed by caller. */
static int list_dir(const char *path, char ***names, size_t *count, size_t max, char *err, size_t errlen)
{
	*names = NULL;
	*count = 0;
	DIR *d = opendir(path);
	if (!d)
		return fail(err, errlen, "%s: cannot open (%s)", path, strerror(errno));
	char **v = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n >= max) {
			rc = fail(err, errlen, "%s: more than %zu entries", path, max);
			break;
		}
		char **nv = realloc(v, (n + 1) * sizeof(*v));
		char *s = strdup(e->d_name);
		if (!nv || !s) {
			free(s);
			if (nv)
				v = nv;
			rc = fail(err, errlen, "out of memory");
			break;
		}
		v = nv;
		v[n++] = s;
	}
	closedir(d);
	if (rc == 0 && n > 1) {
		/* insertion sort: directories are small */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
				char *t = v[j];
				v[j] = v[j - 1];
				v[j - 1] = t;
			}
	}
	*names = v;
	*count = n;
	return rc;
}

static void list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int load_releases(vd_catalog *c, const char *dir, const hs_keyset *ks, char *err, size_t errlen)
{
	char root[PATH_MAX], mdir[PATH_MAX], vdir[PATH_MAX];
	if (join(root, sizeof(root), dir, "releases") != 0)
		return fail(err, errlen, "%s: path too long", dir);
	if (!is_dir(root))
		return 0; /* no releases yet */
	char **models = NULL;
	size_t nm = 0;
	int rc = list_dir(root, &models, &nm, VD_RELEASES_MAX, err, errlen);
	for (size_t i = 0; rc == 0 && i < nm; i++) {
		if (join(mdir, sizeof(mdir), root, models[i]) != 0 || !vd_token_ok(models[i]) || !is_dir(mdir)) {
			rc = fail(err, errlen, "%s/%s: not a model directory (names: [A-Za-z0-9._-], no leading '.')", root,
			          models[i]);
			break;
		}
		char **vers = NULL;
		size_t nv = 0;
		rc = list_dir(mdir, &vers, &nv, VD_RELEASES_MAX, err, errlen);
		for (size_t j = 0; rc == 0 && j < nv; j++) {
			if (join(vdir, sizeof(vdir), mdir, vers[j]) != 0 || !vd_token_ok(vers[j]) || !is_dir(vdir))
				rc = fail(err, errlen, "%s/%s: not a version directory (names: [A-Za-z0-9._-], no leading '.')",
				          mdir, vers[j]);
			else
				rc = load_release(c, ks, vdir, models[i], vers[j], err, errlen);
		}
		list_free(vers, nv);
	}
	list_free(models, nm);
	return rc;
}

static int rel_cmp(const void *a, const void *b)
{
	const struct vd_release *x = a, *y = b;
	int m = strcmp(x->model, y->model);
	if (m)
		return m;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- advisories ---------------------------------------------------------- */

static bool token_array_ok(const json_t *a)
{
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > HS_LIST_MAX)
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!vd_token_ok(json_string_value(v)))
			return false;
	}
	return true;
}

/* NULL when the advisory fits the schema, else what is wrong. */
static const char *advisory_problem(const json_t *a, const char *stem)
{
	static const char *const known[] = {"id",    "model", "affected", "affected_below", "fixed",
	                                    "cvss",  "kev",   "title",    "published",      NULL};
	if (!json_is_object(a))
		return "not a JSON object";
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v) {
		bool ok = false;
		for (const char *const *p = known; *p; p++)
			if (strcmp(k, *p) == 0)
				ok = true;
		if (!ok)
			return "unknown member (allowed: id, model, affected | affected_below, fixed, cvss, kev, title, "
			       "published)";
	}
	const char *id = json_string_value(json_object_get(a, "id"));
	if (!vd_token_ok(id))
		return "\"id\" must be a name of [A-Za-z0-9._-]";
	if (strcmp(id, stem) != 0)
		return "\"id\" must equal the file name without .json";
	if (!vd_token_ok(json_string_value(json_object_get(a, "model"))))
		return "\"model\" must be a model name of [A-Za-z0-9._-]";
	json_t *aff = json_object_get(a, "affected"), *below = json_object_get(a, "affected_below");
	if (!aff == !below)
		return "exactly one of \"affected\" (list of versions) and \"affected_below\" (a version) is required";
	if (aff && !token_array_ok(aff))
		return "\"affected\" must be a list of 1 to 32 versions";
	if (below && !vd_token_ok(json_string_value(below)))
		return "\"affected_below\" must be a version";
	if (!vd_token_ok(json_string_value(json_object_get(a, "fixed"))))
		return "\"fixed\" must be a version";
	json_t *cvss = json_object_get(a, "cvss");
	double s = json_number_value(cvss);
	if (!json_is_number(cvss) || !isfinite(s) || s < 0.0 || s > 10.0)
		return "\"cvss\" must be a number from 0 to 10";
	if (!json_is_boolean(json_object_get(a, "kev")))
		return "\"kev\" must be true or false";
	json_t *title = json_object_get(a, "title");
	if (!json_is_string(title) || json_string_length(title) == 0 || json_string_length(title) > VD_TITLE_MAX)
		return "\"title\" must be a non-empty string of at most 512 bytes";
	const char *pub = json_string_value(json_object_get(a, "published"));
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = pub ? strptime(pub, "%Y-%m-%d", &tm) : NULL;
	if (end && *end)
		end = strptime(pub, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return "\"published\" must be a date YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ";
	return NULL;
}

static int adv_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	return strcmp(json_string_value(json_object_get(x, "id")), json_string_value(json_object_get(y, "id")));
}

static int load_advisories(vd_catalog *c, const char *dir, char *err, size_t errlen)
{
	char root[PATH_MAX], path[PATH_MAX];
	if (join(root, sizeof(root), dir, "advisories") != 0)
		return fail(err, errlen, "%s: path too long", dir);
	if (!is_dir(root))
		return 0;
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(root, &names, &n, VD_ADVISORIES_MAX, err, errlen);
	json_t **tmp = rc == 0 && n ? calloc(n, sizeof(*tmp)) : NULL;
	size_t nt = 0;
	if (rc == 0 && n && !tmp)
		rc = fail(err, errlen, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t l = strlen(names[i]);
		if (join(path, sizeof(path), root, names[i]) != 0 || l < 6 || strcmp(names[i] + l - 5, ".json") != 0) {
			rc = fail(err, errlen, "%s/%s: not an advisory file (<id>.json)", root, names[i]);
			break;
		}
		names[i][l - 5] = '\0'; /* the stem */
		size_t len = 0;
		char *text = vd_read_file(path, VD_FILE_MAX, &len);
		if (!text) {
			rc = fail(err, errlen, "%s: cannot read (%s)", path, errno == EFBIG ? "too large" : strerror(errno));
			break;
		}
		json_error_t je;
		json_t *a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (!a) {
			rc = fail(err, errlen, "%s: line %d: %s", path, je.line, je.text);
			break;
		}
		const char *why = advisory_problem(a, names[i]);
		if (why) {
			json_decref(a);
			rc = fail(err, errlen, "%s: %s", path, why);
			break;
		}
		tmp[nt++] = a;
	}
	if (rc == 0 && nt > 1)
		qsort(tmp, nt, sizeof(*tmp), adv_cmp);
	for (size_t i = 0; i < nt; i++)
		if (rc != 0 || json_array_append_new(c->advisories, tmp[i]) != 0) {
			if (rc == 0)
				rc = fail(err, errlen, "out of memory");
			json_decref(tmp[i]);
		}
	free(tmp);
	list_free(names, n);
	return rc;
}

/* ---- the catalog --------------------------------------------------------- */

static json_t *release_links(const struct vd_release *r)
{
	char m[2 * HS_STR_MAX + 40], i[2 * HS_STR_MAX + 40];
	snprintf(m, sizeof(m), "/v1/releases/%s/%s/manifest", r->model, r->version);
	snprintf(i, sizeof(i), "/v1/releases/%s/%s/image", r->model, r->version);
	return json_pack("{s:s, s:I, s:s, s:b, s:s, s:s, s:I}", "version", r->version, "seq", (json_int_t)r->seq,
	                 "criticality", r->crit, "encrypted", r->encrypted, "manifest", m, "image", i, "size",
	                 (json_int_t)r->image_size);
}

static int render(vd_catalog *c, char *err, size_t errlen)
{
	json_t *models = json_object();
	json_t *doc = json_pack("{s:s, s:o}", "vendor", c->vendor, "models", models);
	int rc = doc ? 0 : fail(err, errlen, "out of memory");
	for (size_t i = 0; rc == 0 && i < c->nrel; i++) {
		const struct vd_release *r = &c->rel[i];
		if (i + 1 < c->nrel && strcmp(c->rel[i + 1].model, r->model) == 0) {
			if (c->rel[i + 1].seq == r->seq)
				rc = fail(err, errlen, "releases/%s: versions %s and %s have the same seq %lld", r->model,
				          r->version, c->rel[i + 1].version, r->seq);
			continue; /* not the latest */
		}
		json_t *e = json_pack("{s:s}", "latest", r->version), *links = release_links(r);
		if (!e || !links || json_object_update(e, links) != 0 || json_object_del(e, "version") != 0 ||
		    json_object_set_new(models, r->model, json_incref(e)) != 0)
			rc = fail(err, errlen, "out of memory");
		json_decref(e);
		json_decref(links);
	}
	if (rc == 0) {
		c->catalog_json = json_dumps(doc, DUMP_FLAGS);
		c->advisories_json = json_dumps(c->advisories, DUMP_FLAGS);
		if (!c->catalog_json || !c->advisories_json)
			rc = fail(err, errlen, "out of memory");
		else {
			c->catalog_len = strlen(c->catalog_json);
			c->advisories_len = strlen(c->advisories_json);
		}
	}
	json_decref(doc);
	return rc;
}

int vd_catalog_load(const char *dir, const struct vd_config *cfg, vd_catalog **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *reason = NULL;
	hs_keyset *ks = hs_keyset_new();
	vd_catalog *c = calloc(1, sizeof(*c));
	int rc = -1;
	if (!ks || !c || !(c->rel = calloc(VD_RELEASES_MAX, sizeof(*c->rel))) || !(c->advisories = json_array()) ||
	    !(c->vendor = strdup(cfg->name))) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	if (!cfg->pub_key[0]) {
		fail(err, errlen, "%s/vendor.ini: [vendor] pub-key is required", dir);
		goto out;
	}
	if (hs_keyset_add_path(ks, cfg->name, cfg->pub_key, &reason) != 0) {
		fail(err, errlen, "%s: %s (a P-256 public key PEM)", cfg->pub_key, reason);
		goto out;
	}
	c->pub_pem = vd_read_file(cfg->pub_key, VD_FILE_MAX, &c->pub_len);
	if (!c->pub_pem) {
		fail(err, errlen, "%s: cannot read (%s)", cfg->pub_key, strerror(errno));
		goto out;
	}
	if (load_releases(c, dir, ks, err, errlen) != 0 || load_advisories(c, dir, err, errlen) != 0)
		goto out;
	if (c->nrel > 1)
		qsort(c->rel, c->nrel, sizeof(*c->rel), rel_cmp);
	if (render(c, err, errlen) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	vd_catalog_free(&c);
	hs_keyset_free(&ks);
	return rc;
}

void vd_catalog_free(vd_catalog **cp)
{
	if (!cp || !*cp)
		return;
	vd_catalog *c = *cp;
	for (size_t i = 0; c->rel && i < c->nrel; i++)
		release_clear(&c->rel[i]);
	free(c->rel);
	free(c->vendor);
	free(c->pub_pem);
	json_decref(c->advisories);
	free(c->catalog_json);
	free(c->advisories_json);
	free(c);
	*cp = NULL;
}

size_t vd_catalog_releases(const vd_catalog *c)
{
	return c->nrel;
}

size_t vd_catalog_advisories(const vd_catalog *c)
{
	return json_array_size(c->advisories);
}

/* ---- requests ------------------------------------------------------------ */

static void reply(struct vd_reply *r, unsigned status, const char *type, const char *body, size_t len)
{
	r->status = status;
	r->type = type;
	r->body = body;
	r->len = len;
}

#define ERR_JSON(r, status, text) reply(r, status, "application/json", text, sizeof(text) - 1)

static const struct vd_release *find(const vd_catalog *c, const char *model, const char *version)
{
	for (size_t i = 0; i < c->nrel; i++)
		if (strcmp(c->rel[i].model, model) == 0 && (!version || strcmp(c->rel[i].version, version) == 0))
			return &c->rel[i];
	return NULL;
}

static void owned_json(struct vd_reply *r, json_t *doc)
{
	char *s = doc ? json_dumps(doc, DUMP_FLAGS) : NULL;
	json_decref(doc);
	if (!s) {
		ERR_JSON(r, 500, "{\"error\":\"internal error\"}");
		return;
	}
	reply(r, 200, "application/json", s, strlen(s));
	r->body_owned = true;
}

static void route_releases(const vd_catalog *c, const char *model, struct vd_reply *r)
{
	const struct vd_release *first = find(c, model, NULL);
	if (!first) {
		ERR_JSON(r, 404, "{\"error\":\"no such model\"}");
		return;
	}
	json_t *list = json_array();
	const struct vd_release *last = first;
	for (const struct vd_release *p = first; p < c->rel + c->nrel && strcmp(p->model, model) == 0; p++) {
		json_array_append_new(list, release_links(p));
		last = p;
	}
	owned_json(r, json_pack("{s:s, s:s, s:o}", "model", model, "latest", last->version, "releases", list));
}

void vd_route(const vd_catalog *c, const char *method, const char *path, const char *model_q, struct vd_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		ERR_JSON(r, 405, "{\"error\":\"method not allowed (GET and HEAD only)\"}");
		return;
	}
	/* split /v1/a/b/c/d into at most 5 components, each a token */
	char buf[5 * (HS_STR_MAX + 1) + 8];
	const char *seg[5];
	size_t n = 0;
	if (path[0] != '/' || strlen(path) >= sizeof(buf)) {
		ERR_JSON(r, 404, "{\"error\":\"not found\"}");
		return;
	}
	memcpy(buf, path + 1, strlen(path));
	for (char *p = buf;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (n == 5 || !vd_token_ok(p)) {
			ERR_JSON(r, 404, "{\"error\":\"not found\"}");
			return;
		}
		seg[n++] = p;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (n < 2 || strcmp(seg[0], "v1") != 0) {
		ERR_JSON(r, 404, "{\"error\":\"not found\"}");
		return;
	}
	if (n == 2 && strcmp(seg[1], "catalog") == 0) {
		reply(r, 200, "application/json", c->catalog_json, c->catalog_len);
	} else if (n == 2 && strcmp(seg[1], "keys") == 0) {
		reply(r, 200, "application/x-pem-file", c->pub_pem, c->pub_len);
	} else if (n == 2 && strcmp(seg[1], "advisories") == 0) {
		if (!model_q) {
			reply(r, 200, "application/json", c->advisories_json, c->advisories_len);
			return;
		}
		if (!vd_token_ok(model_q)) {
			ERR_JSON(r, 400, "{\"error\":\"model: a model name of [A-Za-z0-9._-]\"}");
			return;
		}
		json_t *list = json_array();
		size_t i;
		json_t *a;
		json_array_foreach(c->advisories, i, a) {
			if (strcmp(json_string_value(json_object_get(a, "model")), model_q) == 0)
				json_array_append(list, a);
		}
		owned_json(r, list);
	} else if (n == 3 && strcmp(seg[1], "releases") == 0) {
		route_releases(c, seg[2], r);
	} else if (n == 5 && strcmp(seg[1], "releases") == 0) {
		const struct vd_release *rel = find(c, seg[2], seg[3]);
		if (!rel) {
			ERR_JSON(r, 404, "{\"error\":\"no such release\"}");
		} else if (strcmp(seg[4], "manifest") == 0) {
			reply(r, 200, "application/jose", rel->manifest, strlen(rel->manifest));
		} else if (strcmp(seg[4], "image") == 0) {
			r->status = 200;
			r->type = rel->encrypted ? "application/jose" : "application/octet-stream";
			r->image_path = rel->image_path;
			r->image_size = rel->image_size;
		} else {
			ERR_JSON(r, 404, "{\"error\":\"not found\"}");
		}
	} else {
		ERR_JSON(r, 404, "{\"error\":\"not found\"}");
	}
}
