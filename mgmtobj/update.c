/*
 * update.c - verified firmware updates at the gateway (update.h,
 * mgmtobj/README.md "Verified updates").
 *
 * Design note
 *   Keys are loaded once at start (upd_start) and read-only afterwards; the
 *   only mutable state is the list of pending updates (acn -> seq and
 *   manifest hash of the package handed to the device), guarded by u->mx.
 *   upd_run() runs on a management worker: it reads the package, the node
 *   and its deviceInfo through a read snapshot, verifies in the order of
 *   the README (the first failure names the reason), downloads the image
 *   into a temporary file of the cache (at most the signed size + 1 bytes
 *   are written), checks or decrypts it, renames the plaintext to
 *   <sha256>.bin and starts the adapter with the cache URL. The device's
 *   successful report then records the seq and hash as hidden attributes
 *   of the mgmtObj, in the report's own Update (upd_ended, under the CSE
 *   lock), so a restart keeps them.
 *
 *   Lock order: the CSE lock, then u->mx.
 *
 * Cost: one download and one SHA-256 pass (two when encrypted) per update,
 * holding one worker for the download; images stay in the cache.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "update.h"
#include "mgmtobj.h"
#include "../ae/lib/hsign.h"
#include "../bindings/transport.h"
#include "../cse/log.h"

#define UPD_MAX_VENDORS 64
#define UPD_CON_MAX (2 * HS_JWS_MAX + 4096)
#define UPD_URL_MAX 2048
#define UPD_DOWNLOAD_TIMEOUT_MS 120000L

typedef struct upd_vendor {
	char man[HS_STR_MAX + 1];
	hs_keyset *ks;
} upd_vendor;

typedef struct upd_pend {
	struct upd_pend *next;
	char acn[192];
	long long seq;
	char hash[HS_KID_LEN + 1];
} upd_pend;

struct upd {
	pthread_mutex_t mx;
	upd_vendor v[UPD_MAX_VENDORS];
	size_t nv;
	hs_keyset *op_keys;
	hs_key *gw_key;
	char cache[1024];
	upd_pend *pend;
	unsigned long seq;
};

/* A manufacturer name: letters, digits, '.', '_', '-'. */
static bool man_ok(const char *s, size_t n)
{
	if (n == 0 || n > HS_STR_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static upd_vendor *vendor_of(upd *u, const char *man, bool add)
{
	for (size_t i = 0; i < u->nv; i++)
		if (strcmp(u->v[i].man, man) == 0)
			return &u->v[i];
	if (!add || u->nv == UPD_MAX_VENDORS)
		return NULL;
	upd_vendor *v = &u->v[u->nv];
	v->ks = hs_keyset_new();
	if (!v->ks)
		return NULL;
	snprintf(v->man, sizeof(v->man), "%s", man);
	u->nv++;
	return v;
}

/* <man>.pem or <man>-<n>.pem: the manufacturer into man. */
static bool key_file_man(const char *name, char *man, size_t len)
{
	size_t n = strlen(name);
	if (n <= 4 || strcmp(name + n - 4, ".pem") != 0)
		return false;
	n -= 4;
	size_t d = n;
	while (d > 0 && isdigit((unsigned char)name[d - 1]))
		d--;
	if (d < n && d > 1 && name[d - 1] == '-')
		n = d - 1;
	if (!man_ok(name, n) || n >= len)
		return false;
	memcpy(man, name, n);
	man[n] = '\0';
	return true;
}

static int load_vendor_keys(upd *u, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;
	if (!d) {
		log_error("update: vendor key directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char man[HS_STR_MAX + 1], path[2048];
		const char *reason = NULL;
		if (e->d_name[0] == '.' || !key_file_man(e->d_name, man, sizeof(man)))
			continue;
		upd_vendor *v = vendor_of(u, man, true);
		int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!v || n < 0 || (size_t)n >= sizeof(path) || hs_keyset_add_path(v->ks, man, path, &reason) != 0) {
			log_error("update: vendor key %s/%s: %s", dir, e->d_name, reason ? reason : "cannot be added");
			rc = -1;
		}
	}
	closedir(d);
	if (rc == 0 && u->nv == 0)
		log_warn("update: no manufacturer key in %s: every update will fail with unknown-key", dir);
	return rc;
}

int upd_start(cse *c, upd **out)
{
	const cse_config *cfg = &c->cfg;
	const char *reason = NULL;
	*out = NULL;
	if (!cfg->update_vendor_keys || !cfg->update_vendor_keys[0])
		return 0;
	upd *u = calloc(1, sizeof(*u));
	if (!u)
		return -1;
	pthread_mutex_init(&u->mx, NULL);
	if (load_vendor_keys(u, cfg->update_vendor_keys) != 0)
		goto fail;
	u->op_keys = hs_keyset_new();
	if (!u->op_keys || hs_keyset_add_path(u->op_keys, NULL, cfg->update_operator_key, &reason) != 0) {
		log_error("update: operator key %s: %s", cfg->update_operator_key, reason ? reason : "internal-error");
		goto fail;
	}
	if (cfg->update_gateway_key && cfg->update_gateway_key[0] &&
	    (hs_key_load(cfg->update_gateway_key, &u->gw_key, &reason) != 0 || !hs_key_has_private(u->gw_key))) {
		log_error("update: gateway key %s: %s", cfg->update_gateway_key, reason ? reason : "no private key");
		goto fail;
	}
	if (config_update_cache(cfg, u->cache, sizeof(u->cache)) != 0 ||
	    (mkdir(u->cache, 0700) != 0 && errno != EEXIST)) {
		log_error("update: cache directory %s: %s", u->cache, strerror(errno));
		goto fail;
	}
	log_info("verified updates on: %zu manufacturer(s), cache %s%s", u->nv, u->cache,
	         u->gw_key ? ", gateway key loaded" : "");
	*out = u;
	return 0;
fail:
	upd_stop(&u);
	return -1;
}

void upd_stop(upd **up)
{
	upd *u = up ? *up : NULL;
	if (!u)
		return;
	for (size_t i = 0; i < u->nv; i++)
		hs_keyset_free(&u->v[i].ks);
	hs_keyset_free(&u->op_keys);
	hs_key_free(&u->gw_key);
	while (u->pend) {
		upd_pend *p = u->pend;
		u->pend = p->next;
		free(p);
	}
	pthread_mutex_destroy(&u->mx);
	free(u);
	*up = NULL;
}

bool upd_applies(const upd *u, const mgmt_op *op)
{
	return u && op->mgd == 1001 && strcmp(op->trigger, "ud") == 0;
}

static upd_pend *pend_take(upd *u, const char *acn)
{
	for (upd_pend **p = &u->pend; *p; p = &(*p)->next)
		if (strcmp((*p)->acn, acn) == 0) {
			upd_pend *r = *p;
			*p = r->next;
			return r;
		}
	return NULL;
}

void upd_ended(upd *u, const char *acn, bool ok, json_t *a)
{
	if (!u || !acn)
		return;
	pthread_mutex_lock(&u->mx);
	upd_pend *p = pend_take(u, acn);
	pthread_mutex_unlock(&u->mx);
	if (p && ok) {
		json_object_set_new(a, MGMT_HA_USEQ, json_integer(p->seq));
		json_object_set_new(a, MGMT_HA_UHASH, json_string(p->hash));
		log_info("update: %s installed manifest seq %lld", acn, p->seq);
	}
	free(p);
}

/* ---------- one verification (worker) ---------- */

/* What the snapshot gives: the package and the device's description. */
typedef struct upd_view {
	json_t *con;         /* the contentInstance's con (a copy) */
	char man[HS_STR_MAX + 1], mod[HS_STR_MAX + 1], hwv[HS_STR_MAX + 1];
	char ni[HS_STR_MAX + 1];
	res *dvi;
} upd_view;

static int find_dvi(void *ctx, const res *r)
{
	upd_view *v = ctx;
	if (!v->dvi && r->a && json_integer_value(json_object_get(r->a, "mgd")) == 1007)
		v->dvi = res_dup(r);
	return 0;
}

static void copy_str(char *dst, size_t len, const json_t *v)
{
	const char *s = json_string_value(v);
	if (s && strlen(s) < len)
		snprintf(dst, len, "%s", s);
	else
		dst[0] = '\0';
}

static void read_view(cse *c, const mgmt_op *op, const char *url, upd_view *v)
{
	store *rd = core_reader_begin(c);
	res *cin = core_get_by_id(c, url), *node = NULL;
	if (cin && cin->ty == TY_CIN && cin->a)
		v->con = json_deep_copy(json_object_get(cin->a, "con"));
	if (core_st(c)->ops->get(core_st(c), op->node_ri, &node) == STORE_OK) {
		copy_str(v->ni, sizeof(v->ni), json_object_get(node->a, "ni"));
		core_st(c)->ops->children(core_st(c), op->node_ri, TY_MGMTOBJ, false, -1, find_dvi, v);
	}
	core_reader_end(c, rd);
	if (v->dvi) {
		copy_str(v->man, sizeof(v->man), json_object_get(v->dvi->a, "man"));
		copy_str(v->mod, sizeof(v->mod), json_object_get(v->dvi->a, "mod"));
		copy_str(v->hwv, sizeof(v->hwv), json_object_get(v->dvi->a, "hwv"));
	}
	res_free(&cin);
	res_free(&node);
	res_free(&v->dvi);
}

/* {"manifest", "assignment", "image"} from con (an object or its JSON text). */
static json_t *package_of(const json_t *con)
{
	json_t *p = NULL;
	if (json_is_string(con) && json_string_length(con) <= UPD_CON_MAX)
		p = json_loadb(json_string_value(con), json_string_length(con), JSON_REJECT_DUPLICATES, NULL);
	else if (json_is_object(con))
		p = json_incref((json_t *)con);
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "manifest")) ||
	    !json_is_string(json_object_get(p, "assignment")) || !json_is_string(json_object_get(p, "image"))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

#define FAIL(code, ...)                                     \
	do {                                                    \
		reason = (code);                                    \
		snprintf(text, textlen, __VA_ARGS__);               \
		goto out;                                           \
	} while (0)

const char *upd_run(cse *c, upd *u, const mgmt_op *op, const mgmt_adapter *ad, char *text, size_t textlen)
{
	const char *reason = NULL, *why = NULL;
	upd_view v;
	json_t *pkg = NULL, *mp = NULL, *ap = NULL, *mo = NULL;
	char part[1200] = "", plain[1200] = "", final[1200] = "", mhash[HS_KID_LEN + 1], sha[65], err[256];
	char cache_url[UPD_URL_MAX];
	int fd = -1;
	memset(&v, 0, sizeof(v));
	const char *url = json_string_value(json_object_get(op->mo, "url"));
	if (!url || !*url || strlen(url) >= UPD_URL_MAX)
		FAIL(UPD_R_NO_PACKAGE, "url names no update package");
	read_view(c, op, url, &v);
	if (!v.con)
		FAIL(UPD_R_NO_PACKAGE, "url %.200s is not a contentInstance of this gateway", url);
	if (!(pkg = package_of(v.con)))
		FAIL(UPD_R_NO_PACKAGE, "the contentInstance is not {\"manifest\", \"assignment\", \"image\"}");
	const char *mjws = json_string_value(json_object_get(pkg, "manifest"));
	const char *ajws = json_string_value(json_object_get(pkg, "assignment"));
	const char *image = json_string_value(json_object_get(pkg, "image"));

	/* 1. the manufacturer's signature, keys pinned per manufacturer */
	upd_vendor *vk = v.man[0] ? vendor_of(u, v.man, false) : NULL;
	if (!vk)
		FAIL(HS_R_UNKNOWN_KEY, "no key pinned for manufacturer '%s'", v.man[0] ? v.man : "(no deviceInfo man)");
	time_t now = time(NULL);
	if (hs_manifest_verify(mjws, vk->ks, now, &mp, &why) != 0)
		FAIL(why, "the manifest does not verify for manufacturer %s", v.man);
	/* 2. already installed, model, hardware, sequence number */
	if (hs_manifest_hash(mjws, mhash) != 0)
		FAIL(HS_R_INTERNAL, "manifest hash");
	if (op->fw_mhash[0] && strcmp(op->fw_mhash, mhash) == 0)
		FAIL(UPD_R_ALREADY_INSTALLED, "this manifest (seq %lld) is the one installed",
		     (long long)json_integer_value(json_object_get(mp, "seq")));
	if (hs_manifest_check_target(mp, v.mod, v.hwv, op->fw_seq > 0 ? op->fw_seq : 0, &why) != 0)
		FAIL(why, "manifest for %s %s, seq %lld; device %s hw %s, installed seq %lld",
		     json_string_value(json_object_get(mp, "model")), json_string_value(json_object_get(mp, "version")),
		     (long long)json_integer_value(json_object_get(mp, "seq")), v.mod, v.hwv, op->fw_seq);
	/* 3. the coordinator's assignment: this manifest, this device, this gateway */
	if (hs_assignment_verify(ajws, u->op_keys, mjws, v.ni[0] ? v.ni : op->node_ri, NULL, now, &ap, &why) != 0)
		FAIL(why, "the assignment does not verify for device %s", v.ni[0] ? v.ni : op->node_ri);
	const char *agw = json_string_value(json_object_get(ap, "gateway"));
	if (!agw || strcmp(agw, c->csi) != 0)
		FAIL(HS_R_NOT_FOR_THIS_GATEWAY, "the assignment names gateway %s, this is %s", agw ? agw : "?", c->csi);
	/* 4. an image encrypted for another gateway is not downloaded */
	const json_t *im = json_object_get(mp, "image");
	const json_t *enc = json_object_get(im, "enc");
	bool encrypted = json_is_object(enc);
	if (encrypted) {
		const char *kfor = json_string_value(json_object_get(enc, "for"));
		if (!u->gw_key || !kfor || strcmp(kfor, hs_key_kid(u->gw_key)) != 0)
			FAIL(HS_R_NOT_FOR_THIS_GATEWAY, "the image is encrypted for key %s", kfor ? kfor : "?");
	}
	/* 5. download, at most the signed size + 1 bytes */
	json_int_t size = json_integer_value(json_object_get(encrypted ? enc : im, "size"));
	if (strncmp(image, "http://", 7) != 0 && strncmp(image, "https://", 8) != 0)
		FAIL(UPD_R_DOWNLOAD_FAILED, "image URL %.200s is not http(s)", image);
	pthread_mutex_lock(&u->mx);
	unsigned long n = ++u->seq;
	pthread_mutex_unlock(&u->mx);
	snprintf(part, sizeof(part), "%s/dl-%ld-%lu.part", u->cache, (long)getpid(), n);
	fd = open(part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		FAIL(HS_R_IO, "cannot create %s: %s", part, strerror(errno));
	int drc = transport_download(image, fd, (unsigned long long)size + 1, UPD_DOWNLOAD_TIMEOUT_MS, err, sizeof(err));
	close(fd);
	fd = -1;
	if (drc < 0)
		FAIL(UPD_R_DOWNLOAD_FAILED, "%.200s: %s", image, err);
	if (drc > 0)
		FAIL(HS_R_SIZE_MISMATCH, "the image is longer than the signed %lld bytes", (long long)size);
	/* 6. digest and exact size; decryption */
	if (hs_image_check_path(part, mp, encrypted ? HS_IMAGE_CIPHER : HS_IMAGE_PLAIN, &why) != 0)
		FAIL(why, "the downloaded %s does not match the manifest", encrypted ? "ciphertext" : "image");
	snprintf(sha, sizeof(sha), "%s", json_string_value(json_object_get(im, "sha256")));
	for (char *p = sha; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(final, sizeof(final), "%s/%s.bin", u->cache, sha);
	if (encrypted) {
		snprintf(plain, sizeof(plain), "%s/dl-%ld-%lu.plain", u->cache, (long)getpid(), n);
		if (hs_image_decrypt(part, plain, u->gw_key, mp, &why) != 0)
			FAIL(why, "the image could not be decrypted");
		if (rename(plain, final) != 0)
			FAIL(HS_R_IO, "cannot store %s: %s", final, strerror(errno));
	} else if (rename(part, final) != 0) {
		FAIL(HS_R_IO, "cannot store %s: %s", final, strerror(errno));
	}
	/* 7. hand over, with the gateway's cache URL */
	const char *poa = c->cfg.poa;
	if (poa && (strncmp(poa, "http://", 7) == 0 || strncmp(poa, "https://", 8) == 0))
		snprintf(cache_url, sizeof(cache_url), "%s/hearth-cache/%s.bin#sha256=%s", poa, sha, sha);
	else
		snprintf(cache_url, sizeof(cache_url), "%s://%s:%d/hearth-cache/%s.bin#sha256=%s",
		         c->cfg.http_tls_cert[0] ? "https" : "http", c->cfg.http_addr, c->cfg.http_port, sha, sha);
	upd_pend *pd = calloc(1, sizeof(*pd));
	if (!pd)
		FAIL(HS_R_INTERNAL, "out of memory");
	snprintf(pd->acn, sizeof(pd->acn), "%s", op->acn);
	pd->seq = (long long)json_integer_value(json_object_get(mp, "seq"));
	snprintf(pd->hash, sizeof(pd->hash), "%s", mhash);
	pthread_mutex_lock(&u->mx);
	pd->next = u->pend;
	u->pend = pd;
	pthread_mutex_unlock(&u->mx);
	mo = json_deep_copy(op->mo);
	json_object_set_new(mo, "url", json_string(cache_url));
	mgmt_op op2 = *op;
	op2.mo = mo;
	log_info("update: %s verified (%s %s seq %lld for %s); the device gets %s", op->acn, v.man,
	         json_string_value(json_object_get(mp, "version")), pd->seq, v.ni, cache_url);
	const char *code = ad ? ad->start(c, &op2) : "unsupported";
	if (code) {
		pthread_mutex_lock(&u->mx);
		free(pend_take(u, op->acn));
		pthread_mutex_unlock(&u->mx);
		reason = code;
		snprintf(text, textlen, "the %s adapter could not start the operation", ad ? ad->name : "(none)");
	}
out:
	if (part[0])
		unlink(part);
	if (plain[0])
		unlink(plain);
	if (reason)
		log_warn("update: %s refused: %s: %s", op->acn, reason, text);
	json_decref(v.con);
	json_decref(pkg);
	json_decref(mp);
	json_decref(ap);
	json_decref(mo);
	return reason;
}
