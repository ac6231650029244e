/*
 * dev_image.c - image URL digests, image headers and the verified download;
 * see dev_image.h.
 *
 * The download streams: each block libcurl hands over is added to an
 * OpenSSL EVP SHA-256 context and written to the file, so memory use does
 * not depend on the image size. The size bound is enforced twice: libcurl
 * refuses a Content-Length above it, and the write callback stops a body
 * that grows past it.
 */
#include "ae/device/dev_image.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ae/device/dev_config.h"
#include "ae/device/dev_state.h"

static void why_set(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t n, const char *fmt, ...)
{
	if (!why || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(why, n, fmt, ap);
	va_end(ap);
	if (w < 0)
		why[0] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dev_url_digest(const char *url, char *base, size_t baselen, unsigned char digest[32])
{
	if (!url)
		return -1;
	const char *hash = strchr(url, '#');
	if (!hash)
		return -1;
	size_t bl = (size_t)(hash - url);
	if (bl == 0 || bl >= baselen)
		return -1;
	int found = 0;
	const char *p = hash + 1;
	while (*p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 7 && strncasecmp(p, "sha256=", 7) == 0) {
			if (found || len != 7 + 64)
				return -1;
			for (size_t i = 0; i < 32; i++) {
				int hi = hexval(p[7 + 2 * i]), lo = hexval(p[8 + 2 * i]);
				if (hi < 0 || lo < 0)
					return -1;
				digest[i] = (unsigned char)(hi << 4 | lo);
			}
			found = 1;
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (!found)
		return -1;
	memcpy(base, url, bl);
	base[bl] = '\0';
	return 0;
}

bool dev_url_fetchable(const char *url)
{
	const char *h;
	if (!url)
		return false;
	if (strncasecmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		h = url + 8;
	else
		return false;
	if (!*h || *h == '/')
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int dev_image_parse_header(const char *buf, size_t len, char *vr, size_t vrlen, char *why,
                           size_t whylen)
{
	static const char magic[] = "HEARTH-IMAGE v1 ";
	const size_t ml = sizeof magic - 1;
	size_t n = len < DEV_IMAGE_HEADER_MAX ? len : DEV_IMAGE_HEADER_MAX;
	const char *nl = buf ? memchr(buf, '\n', n) : NULL;
	char line[DEV_IMAGE_HEADER_MAX];
	bool have_version = false;

	if (!buf || len < ml || memcmp(buf, magic, ml) != 0) {
		if (buf && len >= 13 && memcmp(buf, "HEARTH-IMAGE ", 13) == 0)
			why_set(why, whylen, "unsupported image format version");
		else
			why_set(why, whylen, "not a Hearth image (no HEARTH-IMAGE header)");
		return -1;
	}
	if (!nl) {
		why_set(why, whylen, "image header line missing its end within %d bytes", DEV_IMAGE_HEADER_MAX);
		return -1;
	}
	size_t ll = (size_t)(nl - buf) - ml;
	memcpy(line, buf + ml, ll);
	line[ll] = '\0';
	char *p = line;
	while (*p) {
		char *sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		char *eq = strchr(p, '=');
		if (!eq || eq == p || !eq[1]) {
			why_set(why, whylen, "image header item is not key=value");
			return -1;
		}
		for (char *k = p; k < eq; k++)
			if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '-') {
				why_set(why, whylen, "image header key has bad characters");
				return -1;
			}
		for (char *v = eq + 1; *v; v++)
			if ((unsigned char)*v <= ' ' || (unsigned char)*v >= 0x7f) {
				why_set(why, whylen, "image header value has bad characters");
				return -1;
			}
		*eq = '\0';
		if (strcmp(p, "version") == 0) {
			if (have_version || !dev_is_version(eq + 1) || strlen(eq + 1) >= vrlen) {
				why_set(why, whylen, have_version ? "image header has two versions"
				                                  : "image header version is malformed");
				return -1;
			}
			snprintf(vr, vrlen, "%s", eq + 1);
			have_version = true;
		}
		if (!sp)
			break;
		p = sp + 1;
		if (!*p) {
			why_set(why, whylen, "image header ends with a blank");
			return -1;
		}
	}
	if (!have_version) {
		why_set(why, whylen, "image header has no version");
		return -1;
	}
	return 0;
}

int dev_image_check_file(const char *path, char *vr, size_t vrlen, char *why, size_t whylen)
{
	char buf[DEV_IMAGE_HEADER_MAX];
	FILE *f = fopen(path, "rb");
	if (!f) {
		why_set(why, whylen, "cannot open image: %s", strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	bool err = ferror(f) != 0;
	fclose(f);
	if (err) {
		why_set(why, whylen, "cannot read image");
		return -1;
	}
	return dev_image_parse_header(buf, n, vr, vrlen, why, whylen);
}

int dev_image_write_factory(const char *path, const char *name, const char *vr)
{
	char buf[DEV_IMAGE_HEADER_MAX + 64];
	int n = snprintf(buf, sizeof buf, "HEARTH-IMAGE v1 version=%s name=%s\nfactory image\n", vr, name);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = EINVAL;
		return -1;
	}
	return dev_write_atomic(path, buf, (size_t)n);
}

/* ---- download ------------------------------------------------------------ */

typedef struct fetch_ctx {
	const dev_fetch *f;
	EVP_MD_CTX *md;
	int fd;
	long long bytes;
	bool too_large, io_error;
	int io_errno;
} fetch_ctx;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	fetch_ctx *x = ud;
	size_t n = size * nmemb;
	if (x->bytes + (long long)n > x->f->max_bytes) {
		x->too_large = true;
		return 0; /* aborts the transfer */
	}
	if (EVP_DigestUpdate(x->md, p, n) != 1) {
		x->io_error = true;
		x->io_errno = 0;
		return 0;
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(x->fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			x->io_error = true;
			x->io_errno = errno;
			return 0;
		}
		off += (size_t)w;
	}
	x->bytes += (long long)n;
	return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	fetch_ctx *x = ud;
	return (x->f->stop && atomic_load(x->f->stop)) ? 1 : 0;
}

int dev_fetch_run(const dev_fetch *f, char *why, size_t whylen)
{
	int result = DEV_FETCH_FAILED;
	char errbuf[CURL_ERROR_SIZE] = "";
	fetch_ctx x = { .f = f, .fd = -1 };
	CURL *h = NULL;

	if (!dev_url_fetchable(f->url)) {
		why_set(why, whylen, "only http:// and https:// URLs are fetched");
		return DEV_FETCH_FAILED;
	}
	x.md = EVP_MD_CTX_new();
	if (!x.md || EVP_DigestInit_ex(x.md, EVP_sha256(), NULL) != 1) {
		why_set(why, whylen, "cannot initialise SHA-256");
		goto out;
	}
	x.fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (x.fd < 0) {
		why_set(why, whylen, "cannot create %s: %s", f->path, strerror(errno));
		goto out;
	}
	h = curl_easy_init();
	if (!h) {
		why_set(why, whylen, "cannot initialise libcurl");
		goto out;
	}
	long connect_s = f->timeout_s < 10 ? f->timeout_s : 10;
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, f->timeout_s);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_bytes);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);

	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (f->stop && atomic_load(f->stop)) {
		result = DEV_FETCH_STOPPED;
		why_set(why, whylen, "interrupted: the agent is stopping");
		goto out;
	}
	if (x.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		why_set(why, whylen, "image larger than %ld bytes", f->max_bytes);
		goto out;
	}
	if (x.io_error) {
		why_set(why, whylen, "cannot write the image: %s", x.io_errno ? strerror(x.io_errno) : "digest error");
		goto out;
	}
	if (cc != CURLE_OK) {
		why_set(why, whylen, "%s%s%s", curl_easy_strerror(cc), errbuf[0] ? ": " : "", errbuf);
		goto out;
	}
	if (status != 200) {
		why_set(why, whylen, "HTTP status %ld", status);
		goto out;
	}
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int gl = 0;
	if (EVP_DigestFinal_ex(x.md, got, &gl) != 1 || gl != 32) {
		why_set(why, whylen, "cannot compute SHA-256");
		goto out;
	}
	if (CRYPTO_memcmp(got, f->sha256, 32) != 0) {
		result = DEV_FETCH_MISMATCH;
		why_set(why, whylen, "image SHA-256 differs from the URL's digest (%lld bytes)", x.bytes);
		goto out;
	}
	if (fsync(x.fd) != 0) {
		why_set(why, whylen, "cannot sync the image: %s", strerror(errno));
		goto out;
	}
	result = DEV_FETCH_OK;
	why_set(why, whylen, "%lld bytes", x.bytes);
out:
	if (h)
		curl_easy_cleanup(h);
	EVP_MD_CTX_free(x.md);
	if (x.fd >= 0 && close(x.fd) != 0 && result == DEV_FETCH_OK) {
		why_set(why, whylen, "cannot close the image: %s", strerror(errno));
		result = DEV_FETCH_FAILED;
	}
	if (result != DEV_FETCH_OK && x.fd >= 0)
		unlink(f->path);
	return result;
}
