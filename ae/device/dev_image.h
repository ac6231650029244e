/*
 * dev_image.h - firmware/software images: the URL digest, the image header
 * and the verified download.
 *
 * Image format (version 1): the first line, at most DEV_IMAGE_HEADER_MAX
 * bytes including its '\n', is
 *     HEARTH-IMAGE v1 version=<version>[ <key>=<value>]...
 * with single spaces between items, keys of [a-z0-9-], values of printable
 * non-blank ASCII, exactly one `version` (a version string: letters,
 * digits, '.', '_', '+', '~', '-'; at most 64). Whatever follows the line
 * is the payload and is not interpreted. A device "boots" an image by
 * parsing this line: an image whose header does not parse fails the health
 * check.
 *
 * Image URLs carry the expected SHA-256 as a fragment,
 *     http://gw.example/images/fw-2.1.0.bin#sha256=<64 hex digits>
 * (other '&'-separated fragment items are ignored); the fragment is never
 * sent. Only http:// and https:// are fetched.
 *
 * Ownership: no function keeps a pointer to its arguments.
 */
#ifndef HEARTH_DEV_IMAGE_H
#define HEARTH_DEV_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define DEV_IMAGE_HEADER_MAX 256

/* Split url into base (fragment removed) and the expected digest.
 * Returns 0, or -1 when there is no well-formed sha256 item (no-digest) or
 * the URL does not fit / is not a URL. */
int dev_url_digest(const char *url, char *base, size_t baselen, unsigned char digest[32]);

/* Is url http:// or https:// with a host? */
bool dev_url_fetchable(const char *url);

/* Parse the header line at the start of buf[0..len). Returns 0 with the
 * version in vr, or -1 with the reason in why. */
int dev_image_parse_header(const char *buf, size_t len, char *vr, size_t vrlen, char *why,
                           size_t whylen);

/* Read the first line of the file at path and parse it. */
int dev_image_check_file(const char *path, char *vr, size_t vrlen, char *why, size_t whylen);

/* Write a factory image (header with version and name, short payload) to
 * path atomically. Returns 0 or -1 (errno). */
int dev_image_write_factory(const char *path, const char *name, const char *vr);

enum dev_fetch_result {
	DEV_FETCH_OK = 0,
	DEV_FETCH_FAILED,    /* download-failed: transport, HTTP status, size, file */
	DEV_FETCH_MISMATCH,  /* digest-mismatch */
	DEV_FETCH_STOPPED,   /* *stop became true */
};

typedef struct dev_fetch {
	const char *url;              /* http(s) URL without fragment */
	const unsigned char *sha256;  /* 32 bytes */
	const char *path;             /* created or truncated; removed on failure */
	long max_bytes;               /* larger images fail */
	long timeout_s;               /* whole transfer */
	const atomic_bool *stop;      /* may be NULL */
} dev_fetch;

/* Download f->url into f->path while computing its SHA-256; the file is
 * fsync'ed and kept only when the transfer succeeded with HTTP 200, stayed
 * within max_bytes and the digest matches. Returns enum dev_fetch_result
 * with a reason in why. Thread-safe (libcurl's global init must have run). */
int dev_fetch_run(const dev_fetch *f, char *why, size_t whylen);

#endif
