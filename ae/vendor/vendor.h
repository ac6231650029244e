/*
 * vendor.h - hearth-vendor, a manufacturer's update service: the catalog
 * of current versions per model, signed manifests, images (plain or
 * encrypted for one gateway) and security advisories, read from one
 * directory and served read-only over HTTPS (README "Manufacturer service
 * (hearth-vendor)").
 *
 * Design note
 *   Everything is loaded and checked once at start (vd_catalog_load):
 *   vendor.ini, the vendor's public key, every release (its manifest must
 *   verify with that key for that vendor, name the model and version of
 *   its directory, and describe the image file beside it, size and
 *   SHA-256) and every advisory (a strict schema). The first problem stops
 *   the load with a message naming the file. The catalog is immutable
 *   afterwards, so request threads share it without locks. Requests are
 *   answered by vd_route(), a pure function of the catalog and the request
 *   line: only the loaded model and version names can select a file, so a
 *   request path never reaches the file system.
 *
 * Ownership
 *   vd_catalog_free(&c) frees a catalog and NULLs the pointer (NULL is
 *   fine). A vd_reply's body is owned by the catalog unless body_owned is
 *   set, in which case the caller frees it with free().
 *
 * Return values
 *   Functions returning int give 0 on success, -1 on failure with a
 *   one-line message (naming the file at fault) in err.
 */
#ifndef HEARTH_VENDOR_H
#define HEARTH_VENDOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ae/lib/hsign.h"

/* limits */
#define VD_RELEASES_MAX 4096u          /* releases over all models */
#define VD_ADVISORIES_MAX 1024u
#define VD_FILE_MAX (64u * 1024u)      /* vendor.ini, PEM files, one advisory */
#define VD_TITLE_MAX 512u              /* advisory title (bytes) */
#define VD_ERR_MAX 512u                /* error message buffer */
#define VD_DEFAULT_PORT 8443
#define VD_DEFAULT_ADDR "127.0.0.1"

/* [vendor] section of DIR/vendor.ini; paths already joined with DIR when
 * relative. */
struct vd_config {
	char name[HS_STR_MAX + 1];
	char addr[64];
	long port;
	char tls_cert[PATH_MAX];
	char tls_key[PATH_MAX];
	char pub_key[PATH_MAX];
};

typedef struct vd_catalog vd_catalog;

/* What vd_route() answers. Either body/len (content) or image_path/size
 * (a file, opened by the caller, whose size must still be image_size). */
struct vd_reply {
	unsigned status;
	const char *type;          /* Content-Type, static */
	const char *body;
	size_t len;
	bool body_owned;           /* free((char *)body) after use */
	const char *image_path;    /* owned by the catalog */
	uint64_t image_size;
};

/* [A-Za-z0-9._-]{1,HS_STR_MAX}, not starting with '.': the names of
 * models, versions and advisories, safe as path components. */
bool vd_token_ok(const char *s);

/* Read DIR/vendor.ini. Required: name; tls-cert, tls-key and pub-key are
 * required to serve (checked by the caller). Unknown keys or sections are
 * errors. */
int vd_config_load(const char *dir, struct vd_config *c, char *err, size_t errlen);

/* Load and check everything under dir (see the design note). */
int vd_catalog_load(const char *dir, const struct vd_config *c, vd_catalog **out, char *err, size_t errlen);
void vd_catalog_free(vd_catalog **c);
size_t vd_catalog_releases(const vd_catalog *c);
size_t vd_catalog_advisories(const vd_catalog *c);

/* Answer one request. method and path as received (path percent-decoded,
 * without the query); model_q: the "model" query parameter or NULL. */
void vd_route(const vd_catalog *c, const char *method, const char *path, const char *model_q, struct vd_reply *r);

/* Read a whole file of at most max bytes, NUL-terminated; NULL when it is
 * missing, unreadable or longer (errno says which: EFBIG for too long). */
char *vd_read_file(const char *path, size_t max, size_t *len);

/* hearth-vendor publish: write DIR/releases/<model>/<version>/
 * {manifest.jws, image.bin | image.jwe}. */
struct vd_publish {
	const char *dir, *key, *model, *version, *image, *criticality, *encrypt_for;
	long long seq, exp;
	json_t *hw;          /* array of strings */
	json_t *advisories;  /* array of strings */
};
int vd_publish_release(const struct vd_publish *p, const struct vd_config *c, char *err, size_t errlen);

/* `hearth-vendor launch` (vd_launch.c): start the updates the operator's
 * coordinator staged and left as notices for this manufacturer. */
struct vd_launch {
	char in_url[256];
	char ca[4096];        /* CA of an https IN ("" = none) */
	char cse_rn[128];     /* the IN's CSEBase name */
	char originator[128]; /* this service's AE-ID at the IN */
	char notices[512];    /* the notices container, e.g. /id-in/cse-in/Ccoordinator/notices/Acme */
	char device[257];     /* only this device (ni), "" = all */
};
/* One row per notice acted on ({device, firmware, package, rsc, result});
 * -1 when a notice could not be read or an update was not accepted. */
int vd_launch_run(const struct vd_launch *l, json_t *rows, char *err, size_t errlen);

#endif
