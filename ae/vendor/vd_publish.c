/*
 * vd_publish.c - hearth-vendor publish: one release into a vendor
 * directory, with the hsign library (see vendor.h).
 *
 * The release directory DIR/releases/<model>/<version> must not exist yet
 * (a published release is never replaced). The image is copied (or
 * encrypted) into it first, the manifest is signed over the stored bytes
 * and written last, each through a temporary file renamed into place; on
 * any failure the new directory is removed again.
 */
#include "ae/vendor/vendor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int mkdir_ok(const char *p)
{
	return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	static char buf[64 * 1024];
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = -1;
				break;
			}
			off += w;
		}
		if (rc)
			break;
	}
	close(in);
	if (fsync(out) != 0)
		rc = -1;
	if (close(out) != 0)
		rc = -1;
	return rc;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fprintf(f, "%s\n", text) < 0 ? -1 : 0;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int vd_publish_release(const struct vd_publish *p, const struct vd_config *c, char *err, size_t errlen)
{
	char rdir[PATH_MAX], mdir[PATH_MAX], vdir[PATH_MAX], img[PATH_MAX], tmp[PATH_MAX], man[PATH_MAX];
	char hex[65], ehex[65];
	uint64_t size = 0, esize = 0;
	const char *reason = NULL;
	hs_key *k = NULL, *pub = NULL, *gw = NULL;
	json_t *enc = NULL, *m = NULL;
	char *jws = NULL;
	bool made = false;
	int rc = -1;
	tmp[0] = img[0] = man[0] = '\0';

	if (!vd_token_ok(p->model) || !vd_token_ok(p->version))
		return fail(err, errlen, "--model and --version: names of [A-Za-z0-9._-], no leading '.'");
	if (snprintf(rdir, sizeof(rdir), "%s/releases", p->dir) >= (int)sizeof(rdir) ||
	    snprintf(mdir, sizeof(mdir), "%s/%s", rdir, p->model) >= (int)sizeof(mdir) ||
	    snprintf(vdir, sizeof(vdir), "%s/%s", mdir, p->version) >= (int)sizeof(vdir) ||
	    snprintf(man, sizeof(man), "%s/manifest.jws", vdir) >= (int)sizeof(man))
		return fail(err, errlen, "%s: path too long", p->dir);
	if (hs_key_load(p->key, &k, &reason) != 0 || !hs_key_has_private(k)) {
		fail(err, errlen, "%s: %s (the vendor's private key)", p->key, reason ? reason : HS_R_BAD_KEY);
		goto out;
	}
	if (c->pub_key[0]) {
		if (hs_key_load(c->pub_key, &pub, &reason) != 0) {
			fail(err, errlen, "%s: %s", c->pub_key, reason);
			goto out;
		}
		if (strcmp(hs_key_kid(pub), hs_key_kid(k)) != 0) {
			fail(err, errlen, "%s: not the private key of pub-key %s", p->key, c->pub_key);
			goto out;
		}
	}
	if (p->encrypt_for && hs_key_load(p->encrypt_for, &gw, &reason) != 0) {
		fail(err, errlen, "%s: %s (a gateway's P-256 public key)", p->encrypt_for, reason);
		goto out;
	}
	if (mkdir_ok(rdir) != 0 || mkdir_ok(mdir) != 0) {
		fail(err, errlen, "%s: cannot create (%s)", mdir, strerror(errno));
		goto out;
	}
	if (mkdir(vdir, 0755) != 0) {
		fail(err, errlen, "%s: %s", vdir,
		     errno == EEXIST ? "already published (a release is never replaced)" : strerror(errno));
		goto out;
	}
	made = true;
	snprintf(img, sizeof(img), "%s/%s", vdir, gw ? "image.jwe" : "image.bin");
	snprintf(tmp, sizeof(tmp), "%s/.image.tmp", vdir);
	if (hs_file_digest(p->image, hex, &size, &reason) != 0) {
		fail(err, errlen, "%s: %s", p->image, reason);
		goto out;
	}
	if (gw) {
		if (hs_image_encrypt(p->image, img, gw, ehex, &esize, &reason) != 0) {
			fail(err, errlen, "%s: encryption failed: %s", p->image, reason);
			goto out;
		}
		enc = json_pack("{s:s, s:s, s:s, s:s, s:I}", "alg", "ECDH-ES", "enc", "A256GCM", "for", hs_key_kid(gw),
		                "sha256", ehex, "size", (json_int_t)esize);
	} else {
		char chex[65];
		uint64_t csize = 0;
		if (copy_file(p->image, tmp) != 0 || hs_file_digest(tmp, chex, &csize, &reason) != 0) {
			fail(err, errlen, "%s: cannot copy into %s (%s)", p->image, vdir, strerror(errno));
			goto out;
		}
		if (csize != size || strcmp(chex, hex) != 0) {
			fail(err, errlen, "%s: changed while it was copied", p->image);
			goto out;
		}
		if (rename(tmp, img) != 0) {
			fail(err, errlen, "%s: %s", img, strerror(errno));
			goto out;
		}
		enc = json_null();
	}
	time_t now = time(NULL);
	m = json_pack("{s:i, s:s, s:s, s:O, s:s, s:I, s:{s:s, s:I, s:s, s:O}, s:s, s:O, s:I, s:I}", "v", 1, "vendor",
	              c->name, "model", p->model, "hw", p->hw, "version", p->version, "seq", (json_int_t)p->seq, "image",
	              "name", base_name(p->image), "size", (json_int_t)size, "sha256", hex, "enc", enc, "criticality",
	              p->criticality ? p->criticality : "medium", "advisories", p->advisories, "iat", (json_int_t)now,
	              "exp", (json_int_t)p->exp);
	if (!m) {
		fail(err, errlen, "manifest: %s", HS_R_INTERNAL);
		goto out;
	}
	jws = hs_manifest_sign(k, m, &reason);
	if (!jws) {
		fail(err, errlen, "manifest: %s (check --hw, --criticality, --advisory, --expires and the image name)",
		     reason);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.manifest.tmp", vdir);
	if (write_text(tmp, jws) != 0 || rename(tmp, man) != 0) {
		fail(err, errlen, "%s: cannot write (%s)", man, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && made) {
		unlink(tmp);
		snprintf(tmp, sizeof(tmp), "%s/.image.tmp", vdir);
		unlink(tmp);
		if (img[0])
			unlink(img);
		unlink(man);
		rmdir(vdir);
	}
	free(jws);
	json_decref(m);
	json_decref(enc);
	hs_key_free(&k);
	hs_key_free(&pub);
	hs_key_free(&gw);
	return rc;
}
