/*
 * hsign.c - manifests, assignments and image encryption; see hsign.h.
 *
 * Every document is checked here before libcjose sees it: the compact form
 * (length, alphabet, segment count and sizes), the protected header (a JSON
 * object without duplicate members holding exactly alg/kid/typ, alg
 * "ES256") and, for JWE, the fixed sizes of iv and tag. libcjose then does
 * the signatures (ES256) and the image encryption (ECDH-ES + A256GCM),
 * OpenSSL the keys (PEM), digests and randomness.
 *
 * Decryption is done here with OpenSSL (ECDH, the Concat KDF of RFC 7518
 * 4.6, AES-256-GCM) rather than with cjose_jwe_decrypt(): libcjose 0.6.2
 * loses the buffer of the empty encrypted-key segment on every ECDH-ES
 * decryption, and doing it here keeps the checks on the header, the epk
 * and the tag length under our control. The unit tests decrypt what
 * libcjose encrypted, so the two sides are checked against each other.
 *
 * Payloads are parsed by jansson with
 * duplicate members refused and checked against a strict schema: a member
 * the schema does not know is an error, not something to ignore.
 */
#include "ae/lib/hsign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#define TYP_MANIFEST "hearth-manifest+jws"
#define TYP_ASSIGNMENT "hearth-assignment+jws"
#define TYP_IMAGE "hearth-image+jwe"
#define PEM_MAX (64u * 1024u)
#define KEYSET_MAX 64u
#define SIG_B64_LEN 86u /* 64 bytes r||s */
#define JWE_MAX ((size_t)HS_CRYPT_MAX / 3u * 4u + 8192u)

struct hs_key {
	EVP_PKEY *pkey;
	cjose_jwk_t *jwk;
	bool priv;
	char kid[HS_KID_LEN + 1];
};

struct ks_entry {
	hs_key *key;
	char *vendor; /* NULL: any vendor */
};

struct hs_keyset {
	struct ks_entry e[KEYSET_MAX];
	size_t n;
};

static int fail(const char **reason, const char *code)
{
	if (reason)
		*reason = code;
	return -1;
}

/* ---- base64url and hex --------------------------------------------------- */

static const char B64U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* out must hold 4*ceil(n/3)+1 bytes; no padding, NUL-terminated. */
static size_t b64u_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = B64U[(v >> 18) & 63];
		out[o++] = B64U[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = B64U[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = B64U[v & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64u_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Strict decoder (no padding, no stray bits); returns a malloc'd buffer
 * with a NUL after the *outlen bytes, or NULL. */
static unsigned char *b64u_decode(const char *in, size_t n, size_t *outlen)
{
	if (n % 4 == 1)
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 3);
	if (!out)
		return NULL;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64u_val(in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1u;
		}
	}
	if (acc != 0) { /* non-canonical trailing bits */
		free(out);
		return NULL;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char H[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = H[in[i] >> 4];
		out[2 * i + 1] = H[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex_decode32(const char *hex, unsigned char out[32])
{
	if (!hex || strlen(hex) != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int a = hex_nibble(hex[2 * i]), b = hex_nibble(hex[2 * i + 1]);
		if (a < 0 || b < 0)
			return false;
		out[i] = (unsigned char)(a << 4 | b);
	}
	return true;
}

static bool sha256(const void *data, size_t n, unsigned char out[32])
{
	unsigned int len = 0;
	return EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

/* ---- files --------------------------------------------------------------- */

/* Read a whole regular file of at most max bytes; NUL-terminated. */
static unsigned char *file_read(const char *path, size_t max, size_t *len, const char **reason)
{
	unsigned char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fail(reason, HS_R_IO);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		fail(reason, HS_R_SIZE_MISMATCH);
		goto out;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	buf = malloc(cap + 1);
	if (!buf) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			buf = NULL;
			fail(reason, HS_R_IO);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) { /* the file grew while being read */
			free(buf);
			buf = NULL;
			fail(reason, HS_R_SIZE_MISMATCH);
			goto out;
		}
	}
	buf[n] = '\0';
	*len = n;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Write data to path through a temporary file in the same directory and
 * rename(2), so that path is either the old file or the complete new one. */
static int file_write_atomic(const char *path, const void *data, size_t n, mode_t mode, const char **reason)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return fail(reason, HS_R_IO);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return fail(reason, HS_R_IO);
	const unsigned char *p = data;
	size_t done = 0;
	int rc = fchmod(fd, mode) == 0 ? 0 : -1;
	while (rc == 0 && done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = -1;
		else
			done += (size_t)w;
	}
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0) {
		unlink(tmp);
		return fail(reason, HS_R_IO);
	}
	return 0;
}

/* ---- keys ---------------------------------------------------------------- */

static bool bn_param(EVP_PKEY *pk, const char *name, unsigned char out[32])
{
	BIGNUM *bn = NULL;
	bool ok = EVP_PKEY_get_bn_param(pk, name, &bn) == 1 && BN_bn2binpad(bn, out, 32) == 32;
	BN_clear_free(bn);
	return ok;
}

/* Takes ownership of pk (freed on failure). */
static int key_from_pkey(EVP_PKEY *pk, bool priv, hs_key **out, const char **reason)
{
	int rc = -1;
	hs_key *k = NULL;
	unsigned char d[32], x[32], y[32];
	char group[32];
	size_t glen = 0;
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1 ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0 && strcmp(group, "secp256r1") != 0) ||
	    !bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, x) || !bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, y) ||
	    (priv && !bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, d))) {
		fail(reason, HS_R_BAD_KEY);
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	cjose_jwk_ec_keyspec spec = {
		.crv = CJOSE_JWK_EC_P_256,
		.d = priv ? d : NULL,
		.dlen = priv ? sizeof(d) : 0,
		.x = x,
		.xlen = sizeof(x),
		.y = y,
		.ylen = sizeof(y),
	};
	cjose_err err;
	k->jwk = cjose_jwk_create_EC_spec(&spec, &err);
	if (!k->jwk) {
		fail(reason, HS_R_BAD_KEY);
		goto out;
	}
	/* RFC 7638: the required members in lexicographic order, no spaces */
	char xb[45], yb[45], tp[160];
	b64u_encode(x, sizeof(x), xb);
	b64u_encode(y, sizeof(y), yb);
	int tl = snprintf(tp, sizeof(tp), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xb, yb);
	unsigned char h[32];
	if (tl <= 0 || (size_t)tl >= sizeof(tp) || !sha256(tp, (size_t)tl, h)) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	b64u_encode(h, sizeof(h), k->kid);
	k->pkey = pk;
	k->priv = priv;
	pk = NULL;
	*out = k;
	k = NULL;
	rc = 0;
out:
	OPENSSL_cleanse(d, sizeof(d));
	EVP_PKEY_free(pk);
	hs_key_free(&k);
	return rc;
}

int hs_key_generate(hs_key **out, const char **reason)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!pk)
		return fail(reason, HS_R_INTERNAL);
	return key_from_pkey(pk, true, out, reason);
}

/* Passphrase-protected PEM files are refused instead of prompting on a
 * terminal (OpenSSL's default without a callback). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

int hs_key_load(const char *path, hs_key **out, const char **reason)
{
	size_t n = 0;
	const char *why = NULL;
	unsigned char *pem = file_read(path, PEM_MAX, &n, &why);
	if (!pem) /* too large for a key file: not a key */
		return fail(reason, strcmp(why, HS_R_SIZE_MISMATCH) == 0 ? HS_R_BAD_KEY : why);
	int rc = -1;
	bool priv = true;
	BIO *bio = BIO_new_mem_buf(pem, (int)n);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	if (bio && !pk) {
		priv = false;
		BIO_free(bio);
		bio = BIO_new_mem_buf(pem, (int)n);
		pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
	}
	ERR_clear_error();
	if (!pk)
		fail(reason, bio ? HS_R_BAD_KEY : HS_R_INTERNAL);
	else
		rc = key_from_pkey(pk, priv, out, reason);
	BIO_free(bio);
	OPENSSL_cleanse(pem, n);
	free(pem);
	return rc;
}

static int pem_write(const hs_key *k, const char *path, bool priv, const char **reason)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (priv ? O_EXCL : O_TRUNC);
	int fd = open(path, flags, priv ? 0600 : 0644);
	if (fd < 0)
		return fail(reason, HS_R_IO);
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return fail(reason, HS_R_IO);
	}
	int ok = priv ? PEM_write_PrivateKey(f, k->pkey, NULL, NULL, 0, NULL, NULL) : PEM_write_PUBKEY(f, k->pkey);
	if (fclose(f) != 0)
		ok = 0;
	ERR_clear_error();
	return ok == 1 ? 0 : fail(reason, HS_R_IO);
}

int hs_key_save(const hs_key *k, const char *priv_path, const char *pub_path, const char **reason)
{
	if (!k || (priv_path && !k->priv))
		return fail(reason, HS_R_BAD_KEY);
	if (priv_path && pem_write(k, priv_path, true, reason) != 0)
		return -1;
	if (pub_path && pem_write(k, pub_path, false, reason) != 0)
		return -1;
	return 0;
}

const char *hs_key_kid(const hs_key *k)
{
	return k ? k->kid : NULL;
}

bool hs_key_has_private(const hs_key *k)
{
	return k && k->priv;
}

void hs_key_free(hs_key **k)
{
	if (!k || !*k)
		return;
	cjose_jwk_release((*k)->jwk);
	EVP_PKEY_free((*k)->pkey);
	OPENSSL_cleanse(*k, sizeof(**k));
	free(*k);
	*k = NULL;
}

hs_keyset *hs_keyset_new(void)
{
	return calloc(1, sizeof(hs_keyset));
}

int hs_keyset_add(hs_keyset *ks, const char *vendor, hs_key **k, const char **reason)
{
	if (!ks || !k || !*k || ks->n >= KEYSET_MAX)
		return fail(reason, HS_R_BAD_KEY);
	char *v = NULL;
	if (vendor && !(v = strdup(vendor)))
		return fail(reason, HS_R_INTERNAL);
	ks->e[ks->n].key = *k;
	ks->e[ks->n].vendor = v;
	ks->n++;
	*k = NULL;
	return 0;
}

int hs_keyset_add_path(hs_keyset *ks, const char *vendor, const char *path, const char **reason)
{
	hs_key *k = NULL;
	if (hs_key_load(path, &k, reason) != 0)
		return -1;
	int rc = hs_keyset_add(ks, vendor, &k, reason);
	hs_key_free(&k);
	return rc;
}

size_t hs_keyset_count(const hs_keyset *ks)
{
	return ks ? ks->n : 0;
}

void hs_keyset_free(hs_keyset **ks)
{
	if (!ks || !*ks)
		return;
	for (size_t i = 0; i < (*ks)->n; i++) {
		hs_key_free(&(*ks)->e[i].key);
		free((*ks)->e[i].vendor);
	}
	free(*ks);
	*ks = NULL;
}

/* ---- schema -------------------------------------------------------------- */

enum str_class {
	SC_PRINT,  /* printable ASCII */
	SC_TOKEN,  /* [A-Za-z0-9._+~-] */
	SC_NAME,   /* [A-Za-z0-9._-], no leading '.' (a file name) */
	SC_B64U,   /* base64url alphabet */
	SC_HEX     /* lowercase hex */
};

static bool char_ok(char c, enum str_class cls)
{
	bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
	switch (cls) {
	case SC_PRINT:
		return c >= 0x20 && c <= 0x7e;
	case SC_TOKEN:
		return alnum || c == '.' || c == '_' || c == '+' || c == '~' || c == '-';
	case SC_NAME:
		return alnum || c == '.' || c == '_' || c == '-';
	case SC_B64U:
		return b64u_val(c) >= 0;
	case SC_HEX:
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
	}
	return false;
}

static bool str_ok(const json_t *v, size_t min, size_t max, enum str_class cls)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n < min || n > max || strlen(s) != n)
		return false;
	if (cls == SC_NAME && s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!char_ok(s[i], cls))
			return false;
	return true;
}

static bool int_ok(const json_t *v, long long min, long long max)
{
	if (!json_is_integer(v))
		return false;
	long long i = (long long)json_integer_value(v);
	return i >= min && i <= max;
}

/* Only the listed members (NULL-terminated), each of them present. */
static bool members_exact(const json_t *o, const char *const *names)
{
	if (!json_is_object(o))
		return false;
	size_t want = 0;
	for (; names[want]; want++)
		if (!json_object_get(o, names[want]))
			return false;
	return json_object_size(o) == want;
}

static bool list_ok(const json_t *a, size_t min)
{
	if (!json_is_array(a) || json_array_size(a) < min || json_array_size(a) > HS_LIST_MAX)
		return false;
	size_t i;
	const json_t *v;
	json_array_foreach(a, i, v) {
		if (!str_ok(v, 1, HS_STR_MAX, SC_PRINT))
			return false;
	}
	return true;
}

#define TIME_MAX 253402300799ll /* 9999-12-31T23:59:59Z */

int hs_manifest_check_schema(const json_t *p, const char **reason)
{
	static const char *const top[] = {"v",   "vendor",      "model",      "hw",  "version", "seq",
	                                  "image", "criticality", "advisories", "iat", "exp",     NULL};
	static const char *const img[] = {"name", "size", "sha256", "enc", NULL};
	static const char *const enc[] = {"alg", "enc", "for", "sha256", "size", NULL};
	if (!members_exact(p, top) || !int_ok(json_object_get(p, "v"), 1, 1) ||
	    !str_ok(json_object_get(p, "vendor"), 1, HS_STR_MAX, SC_PRINT) ||
	    !str_ok(json_object_get(p, "model"), 1, HS_STR_MAX, SC_PRINT) || !list_ok(json_object_get(p, "hw"), 1) ||
	    !str_ok(json_object_get(p, "version"), 1, 64, SC_TOKEN) ||
	    !int_ok(json_object_get(p, "seq"), 1, HS_SEQ_MAX) || !list_ok(json_object_get(p, "advisories"), 0) ||
	    !int_ok(json_object_get(p, "iat"), 0, TIME_MAX) || !int_ok(json_object_get(p, "exp"), 1, TIME_MAX) ||
	    json_integer_value(json_object_get(p, "exp")) <= json_integer_value(json_object_get(p, "iat")))
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	const char *crit = json_string_value(json_object_get(p, "criticality"));
	if (!crit || (strcmp(crit, "critical") != 0 && strcmp(crit, "high") != 0 && strcmp(crit, "medium") != 0 &&
	              strcmp(crit, "low") != 0))
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	const json_t *im = json_object_get(p, "image");
	if (!members_exact(im, img) || !str_ok(json_object_get(im, "name"), 1, HS_STR_MAX, SC_NAME) ||
	    !int_ok(json_object_get(im, "size"), 1, (long long)HS_IMAGE_MAX) ||
	    !str_ok(json_object_get(im, "sha256"), 64, 64, SC_HEX))
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	const json_t *e = json_object_get(im, "enc");
	if (json_is_null(e))
		return 0;
	if (!members_exact(e, enc) || !str_ok(json_object_get(e, "for"), HS_KID_LEN, HS_KID_LEN, SC_B64U) ||
	    !str_ok(json_object_get(e, "sha256"), 64, 64, SC_HEX) ||
	    !int_ok(json_object_get(e, "size"), 1, (long long)HS_IMAGE_MAX))
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	const char *ea = json_string_value(json_object_get(e, "alg"));
	const char *ee = json_string_value(json_object_get(e, "enc"));
	if (!ea || strcmp(ea, "ECDH-ES") != 0 || !ee || strcmp(ee, "A256GCM") != 0)
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	return 0;
}

int hs_assignment_check_schema(const json_t *p, const char **reason)
{
	static const char *const top[] = {"v", "manifest", "device", "gateway", "campaign", "iat", "exp", NULL};
	if (!members_exact(p, top) || !int_ok(json_object_get(p, "v"), 1, 1) ||
	    !str_ok(json_object_get(p, "manifest"), HS_KID_LEN, HS_KID_LEN, SC_B64U) ||
	    !str_ok(json_object_get(p, "device"), 1, HS_STR_MAX, SC_PRINT) ||
	    !str_ok(json_object_get(p, "gateway"), 2, HS_STR_MAX, SC_PRINT) ||
	    json_string_value(json_object_get(p, "gateway"))[0] != '/' ||
	    !str_ok(json_object_get(p, "campaign"), 0, HS_STR_MAX, SC_PRINT) ||
	    !int_ok(json_object_get(p, "iat"), 0, TIME_MAX) || !int_ok(json_object_get(p, "exp"), 1, TIME_MAX) ||
	    json_integer_value(json_object_get(p, "exp")) <= json_integer_value(json_object_get(p, "iat")))
		return fail(reason, HS_R_ASSIGNMENT_MALFORMED);
	return 0;
}

/* ---- JWS ----------------------------------------------------------------- */

static char *jws_sign(const hs_key *k, const char *typ, const json_t *payload, const char **reason)
{
	char *out = NULL, *body = NULL;
	cjose_header_t *h = NULL;
	cjose_jws_t *jws = NULL;
	cjose_err err;
	if (!k || !k->priv) {
		fail(reason, HS_R_BAD_KEY);
		goto out;
	}
	body = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	h = cjose_header_new(&err);
	if (!body || !h || !cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) ||
	    !cjose_header_set(h, CJOSE_HDR_KID, k->kid, &err) || !cjose_header_set(h, "typ", typ, &err)) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	jws = cjose_jws_sign(k->jwk, h, (const uint8_t *)body, strlen(body), &err);
	const char *ser = NULL;
	if (!jws || !cjose_jws_export(jws, &ser, &err) || !ser || strlen(ser) > HS_JWS_MAX) {
		fail(reason, jws ? HS_R_MANIFEST_MALFORMED : HS_R_INTERNAL);
		goto out;
	}
	out = strdup(ser);
	if (!out)
		fail(reason, HS_R_INTERNAL);
out:
	cjose_jws_release(jws);
	cjose_header_release(h);
	free(body);
	return out;
}

char *hs_manifest_sign(const hs_key *k, const json_t *payload, const char **reason)
{
	if (hs_manifest_check_schema(payload, reason) != 0)
		return NULL;
	return jws_sign(k, TYP_MANIFEST, payload, reason);
}

char *hs_assignment_sign(const hs_key *k, const json_t *payload, const char **reason)
{
	if (hs_assignment_check_schema(payload, reason) != 0)
		return NULL;
	return jws_sign(k, TYP_ASSIGNMENT, payload, reason);
}

struct jws_reasons {
	const char *typ, *malformed, *signature, *unknown_key;
};

/* Check form, header and signature of a compact JWS; on success *payload
 * holds the parsed payload object and *signer the key that verified it. */
static int jws_open(const char *jws, const struct jws_reasons *r, const hs_keyset *ks, json_t **payload,
                    const struct ks_entry **signer, const char **reason)
{
	int rc = -1;
	unsigned char *hdr_raw = NULL;
	json_t *hdr = NULL;
	cjose_jws_t *cj = NULL;
	cjose_err err;
	size_t n = jws ? strnlen(jws, HS_JWS_MAX + 1) : 0;
	const char *dot1 = NULL, *dot2 = NULL;
	if (n == 0 || n > HS_JWS_MAX) {
		fail(reason, r->malformed);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (jws[i] == '.') {
			if (!dot1)
				dot1 = jws + i;
			else if (!dot2)
				dot2 = jws + i;
			else
				break; /* a third dot: caught below */
		} else if (b64u_val(jws[i]) < 0) {
			dot1 = NULL;
			break;
		}
	}
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.') || dot1 == jws || dot2 == dot1 + 1) {
		fail(reason, r->malformed);
		goto out;
	}
	size_t hlen = 0;
	hdr_raw = b64u_decode(jws, (size_t)(dot1 - jws), &hlen);
	hdr = hdr_raw ? json_loadb((const char *)hdr_raw, hlen, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *typ = json_string_value(json_object_get(hdr, "typ"));
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *kid = json_string_value(json_object_get(hdr, "kid"));
	if (!json_is_object(hdr) || !typ || strcmp(typ, r->typ) != 0 || !alg) {
		fail(reason, r->malformed);
		goto out;
	}
	/* alg "none", any other algorithm, or a missing signature */
	if (strcmp(alg, "ES256") != 0 || strlen(dot2 + 1) != SIG_B64_LEN) {
		fail(reason, r->signature);
		goto out;
	}
	if (!kid || json_object_size(hdr) != 3) { /* exactly alg, kid, typ */
		fail(reason, r->malformed);
		goto out;
	}
	const struct ks_entry *e = NULL;
	for (size_t i = 0; ks && i < ks->n && !e; i++)
		if (strcmp(ks->e[i].key->kid, kid) == 0)
			e = &ks->e[i];
	if (!e) {
		fail(reason, r->unknown_key);
		goto out;
	}
	cj = cjose_jws_import(jws, n, &err);
	if (!cj || !cjose_jws_verify(cj, e->key->jwk, &err)) {
		fail(reason, r->signature);
		goto out;
	}
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	if (!cjose_jws_get_plaintext(cj, &pt, &ptlen, &err) || !pt) {
		fail(reason, r->malformed);
		goto out;
	}
	json_t *p = json_loadb((const char *)pt, ptlen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(p)) {
		json_decref(p);
		fail(reason, r->malformed);
		goto out;
	}
	*payload = p;
	*signer = e;
	rc = 0;
out:
	cjose_jws_release(cj);
	json_decref(hdr);
	free(hdr_raw);
	return rc;
}

int hs_manifest_verify(const char *jws, const hs_keyset *vendor_keys, time_t now, json_t **payload,
                       const char **reason)
{
	static const struct jws_reasons r = {TYP_MANIFEST, HS_R_MANIFEST_MALFORMED, HS_R_MANIFEST_SIGNATURE,
	                                     HS_R_UNKNOWN_KEY};
	json_t *p = NULL;
	const struct ks_entry *signer = NULL;
	if (jws_open(jws, &r, vendor_keys, &p, &signer, reason) != 0)
		return -1;
	int rc = -1;
	if (hs_manifest_check_schema(p, reason) != 0)
		goto out;
	/* a key pinned for another vendor does not vouch for this one */
	if (signer->vendor && strcmp(signer->vendor, json_string_value(json_object_get(p, "vendor"))) != 0) {
		fail(reason, HS_R_UNKNOWN_KEY);
		goto out;
	}
	if ((long long)now >= (long long)json_integer_value(json_object_get(p, "exp"))) {
		fail(reason, HS_R_EXPIRED);
		goto out;
	}
	if (payload) {
		*payload = p;
		p = NULL;
	}
	rc = 0;
out:
	json_decref(p);
	return rc;
}

int hs_manifest_check_target(const json_t *p, const char *model, const char *hw, long long installed_seq,
                             const char **reason)
{
	const char *m = json_string_value(json_object_get(p, "model"));
	const json_t *hws = json_object_get(p, "hw");
	const json_t *seq = json_object_get(p, "seq");
	if (!m || !json_is_array(hws) || !json_is_integer(seq))
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	if (model && strcmp(model, m) != 0)
		return fail(reason, HS_R_MODEL_MISMATCH);
	if (hw) {
		bool found = false;
		size_t i;
		const json_t *v;
		json_array_foreach(hws, i, v) {
			const char *s = json_string_value(v);
			if (s && strcmp(s, hw) == 0)
				found = true;
		}
		if (!found)
			return fail(reason, HS_R_HARDWARE_MISMATCH);
	}
	if (installed_seq >= 0 && (long long)json_integer_value(seq) <= installed_seq)
		return fail(reason, HS_R_DOWNGRADE);
	return 0;
}

int hs_manifest_hash(const char *manifest_jws, char out[HS_KID_LEN + 1])
{
	unsigned char h[32];
	if (!manifest_jws || strnlen(manifest_jws, HS_JWS_MAX + 1) > HS_JWS_MAX ||
	    !sha256(manifest_jws, strlen(manifest_jws), h))
		return -1;
	b64u_encode(h, sizeof(h), out);
	return 0;
}

int hs_assignment_verify(const char *jws, const hs_keyset *operator_keys, const char *manifest_jws,
                         const char *device, const char *gateway, time_t now, json_t **payload,
                         const char **reason)
{
	static const struct jws_reasons r = {TYP_ASSIGNMENT, HS_R_ASSIGNMENT_MALFORMED, HS_R_ASSIGNMENT_SIGNATURE,
	                                     HS_R_ASSIGNMENT_SIGNATURE};
	json_t *p = NULL;
	const struct ks_entry *signer = NULL;
	if (jws_open(jws, &r, operator_keys, &p, &signer, reason) != 0)
		return -1;
	int rc = -1;
	char mh[HS_KID_LEN + 1];
	if (hs_assignment_check_schema(p, reason) != 0)
		goto out;
	if (manifest_jws) {
		if (hs_manifest_hash(manifest_jws, mh) != 0 ||
		    strcmp(mh, json_string_value(json_object_get(p, "manifest"))) != 0) {
			fail(reason, HS_R_ASSIGNMENT_MISMATCH);
			goto out;
		}
	}
	if ((device && strcmp(device, json_string_value(json_object_get(p, "device"))) != 0) ||
	    (gateway && strcmp(gateway, json_string_value(json_object_get(p, "gateway"))) != 0)) {
		fail(reason, HS_R_ASSIGNMENT_MISMATCH);
		goto out;
	}
	if ((long long)now >= (long long)json_integer_value(json_object_get(p, "exp"))) {
		fail(reason, HS_R_EXPIRED);
		goto out;
	}
	if (payload) {
		*payload = p;
		p = NULL;
	}
	rc = 0;
out:
	json_decref(p);
	return rc;
}

/* ---- images -------------------------------------------------------------- */

int hs_file_digest(const char *path, char hex[65], uint64_t *size, const char **reason)
{
	int rc = -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[64 * 1024], h[32];
	uint64_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		fail(reason, fd < 0 ? HS_R_IO : HS_R_INTERNAL);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(reason, HS_R_IO);
			goto out;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > HS_IMAGE_MAX) {
			fail(reason, HS_R_SIZE_MISMATCH);
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1) {
			fail(reason, HS_R_INTERNAL);
			goto out;
		}
	}
	unsigned int hl = 0;
	if (EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	hex_encode(h, 32, hex);
	if (size)
		*size = total;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return rc;
}

int hs_image_check_fd(int fd, uint64_t size, const char *sha256_hex, const char **reason)
{
	unsigned char want[32], got[32], buf[64 * 1024];
	if (!hex_decode32(sha256_hex, want) || size > HS_IMAGE_MAX)
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	int rc = -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	uint64_t total = 0;
	/* read at most size+1 bytes: one byte past the signed size is enough to
	 * refuse, and a hostile server cannot make us read more */
	while (total <= size) {
		uint64_t left = size + 1 - total;
		size_t want_n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t r = read(fd, buf, want_n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(reason, HS_R_IO);
			goto out;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > size) {
			fail(reason, HS_R_SIZE_MISMATCH);
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1) {
			fail(reason, HS_R_INTERNAL);
			goto out;
		}
	}
	if (total != size) {
		fail(reason, HS_R_SIZE_MISMATCH);
		goto out;
	}
	unsigned int hl = 0;
	if (EVP_DigestFinal_ex(md, got, &hl) != 1 || hl != 32) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	if (CRYPTO_memcmp(got, want, 32) != 0) {
		fail(reason, HS_R_DIGEST_MISMATCH);
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* The plaintext or ciphertext {size, sha256} object of a manifest. */
static const json_t *image_desc(const json_t *manifest, hs_image_form form, const char **reason)
{
	const json_t *im = json_object_get(manifest, "image");
	if (!json_is_object(im)) {
		fail(reason, HS_R_MANIFEST_MALFORMED);
		return NULL;
	}
	if (form == HS_IMAGE_PLAIN)
		return im;
	const json_t *e = json_object_get(im, "enc");
	if (!json_is_object(e)) {
		fail(reason, HS_R_NOT_ENCRYPTED);
		return NULL;
	}
	return e;
}

int hs_image_check_path(const char *path, const json_t *manifest, hs_image_form form, const char **reason)
{
	const json_t *d = image_desc(manifest, form, reason);
	if (!d)
		return -1;
	const json_t *sz = json_object_get(d, "size");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return fail(reason, HS_R_MANIFEST_MALFORMED);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(reason, HS_R_IO);
	int rc = hs_image_check_fd(fd, (uint64_t)json_integer_value(sz), json_string_value(json_object_get(d, "sha256")),
	                           reason);
	close(fd);
	return rc;
}

int hs_image_encrypt(const char *in, const char *out, const hs_key *recipient, char hex[65], uint64_t *size,
                     const char **reason)
{
	int rc = -1;
	size_t n = 0;
	unsigned char *pt = NULL;
	char *ser = NULL;
	cjose_header_t *h = NULL;
	cjose_jwe_t *jwe = NULL;
	cjose_err err;
	if (!recipient) {
		fail(reason, HS_R_BAD_KEY);
		goto out;
	}
	pt = file_read(in, HS_CRYPT_MAX, &n, reason);
	if (!pt)
		goto out;
	h = cjose_header_new(&err);
	if (!h || !cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ECDH_ES, &err) ||
	    !cjose_header_set(h, CJOSE_HDR_ENC, CJOSE_HDR_ENC_A256GCM, &err) ||
	    !cjose_header_set(h, CJOSE_HDR_KID, recipient->kid, &err) || !cjose_header_set(h, "typ", TYP_IMAGE, &err)) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	jwe = cjose_jwe_encrypt(recipient->jwk, h, pt, n, &err);
	ser = jwe ? cjose_jwe_export(jwe, &err) : NULL;
	if (!ser) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	size_t sl = strlen(ser);
	unsigned char d[32];
	if (!sha256(ser, sl, d)) {
		fail(reason, HS_R_INTERNAL);
		goto out;
	}
	if (file_write_atomic(out, ser, sl, 0644, reason) != 0)
		goto out;
	if (hex)
		hex_encode(d, 32, hex);
	if (size)
		*size = sl;
	rc = 0;
out:
	if (ser)
		cjose_get_dealloc()(ser);
	cjose_jwe_release(jwe);
	cjose_header_release(h);
	free(pt);
	return rc;
}

/* A parsed compact JWE as hs_image_encrypt() writes it. */
struct jwe_parts {
	const char *hdr_b64; /* the AAD: the protected header as sent */
	size_t hdr_b64_len;
	unsigned char x[32], y[32]; /* epk */
	unsigned char iv[12], tag[16];
	const char *ct_b64;
	size_t ct_b64_len;
};

static bool b64u_fixed(const char *s, size_t n, unsigned char *out, size_t want)
{
	size_t got = 0;
	unsigned char *d = b64u_decode(s, n, &got);
	bool ok = d && got == want;
	if (ok)
		memcpy(out, d, want);
	free(d);
	return ok;
}

/* Five segments, an empty encrypted key (direct key agreement), a 96-bit
 * iv and a 128-bit tag (a shorter tag is refused); the header exactly
 * {alg "ECDH-ES", enc "A256GCM", kid, typ, epk} with epk a P-256 public
 * key (no "d", no apu/apv). The kid must be the caller's. */
static int jwe_parse(const char *s, size_t n, const hs_key *own, struct jwe_parts *j, const char **reason)
{
	const char *dots[4];
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (nd == 4)
				return fail(reason, HS_R_DECRYPT_FAILED);
			dots[nd++] = s + i;
		} else if (b64u_val(s[i]) < 0) {
			return fail(reason, HS_R_DECRYPT_FAILED);
		}
	}
	if (nd != 4 || dots[0] == s || dots[1] != dots[0] + 1 ||
	    !b64u_fixed(dots[1] + 1, (size_t)(dots[2] - dots[1] - 1), j->iv, sizeof(j->iv)) ||
	    !b64u_fixed(dots[3] + 1, (size_t)(s + n - dots[3] - 1), j->tag, sizeof(j->tag)))
		return fail(reason, HS_R_DECRYPT_FAILED);
	j->hdr_b64 = s;
	j->hdr_b64_len = (size_t)(dots[0] - s);
	j->ct_b64 = dots[2] + 1;
	j->ct_b64_len = (size_t)(dots[3] - dots[2] - 1);
	size_t hl = 0;
	unsigned char *raw = j->hdr_b64_len <= 4096 ? b64u_decode(s, j->hdr_b64_len, &hl) : NULL;
	json_t *h = raw ? json_loadb((const char *)raw, hl, JSON_REJECT_DUPLICATES, NULL) : NULL;
	free(raw);
	static const char *const hdr_members[] = {"alg", "enc", "kid", "typ", "epk", NULL};
	static const char *const epk_members[] = {"kty", "crv", "x", "y", NULL};
	const json_t *epk = json_object_get(h, "epk");
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *enc = json_string_value(json_object_get(h, "enc"));
	const char *kid = json_string_value(json_object_get(h, "kid"));
	const char *typ = json_string_value(json_object_get(h, "typ"));
	const char *kty = json_string_value(json_object_get(epk, "kty"));
	const char *crv = json_string_value(json_object_get(epk, "crv"));
	const char *x = json_string_value(json_object_get(epk, "x"));
	const char *y = json_string_value(json_object_get(epk, "y"));
	int rc = 0;
	if (!members_exact(h, hdr_members) || !members_exact(epk, epk_members) || !alg || strcmp(alg, "ECDH-ES") != 0 ||
	    !enc || strcmp(enc, "A256GCM") != 0 || !typ || strcmp(typ, TYP_IMAGE) != 0 || !kid || !kty ||
	    strcmp(kty, "EC") != 0 || !crv || strcmp(crv, "P-256") != 0 || !x || !y ||
	    !b64u_fixed(x, strlen(x), j->x, sizeof(j->x)) || !b64u_fixed(y, strlen(y), j->y, sizeof(j->y)))
		rc = fail(reason, HS_R_DECRYPT_FAILED);
	else if (strcmp(kid, own->kid) != 0)
		rc = fail(reason, HS_R_NOT_FOR_THIS_GATEWAY);
	json_decref(h);
	return rc;
}

/* RFC 7518 4.6: Z = ECDH(own, epk); the content key is the Concat KDF
 * (NIST SP 800-56A) with SHA-256 over Z and OtherInfo = AlgorithmID "A256GCM",
 * empty PartyUInfo and PartyVInfo, SuppPubInfo 256; one round suffices for
 * 256 bits. */
static bool jwe_derive_key(const hs_key *own, const struct jwe_parts *j, unsigned char key[32])
{
	bool ok = false;
	unsigned char pub[65], z[32];
	size_t zlen = sizeof(z);
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *fc = NULL, *dc = NULL;
	EVP_MD_CTX *md = NULL;
	pub[0] = 0x04;
	memcpy(pub + 1, j->x, 32);
	memcpy(pub + 33, j->y, 32);
	char group[] = "P-256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
		OSSL_PARAM_construct_end(),
	};
	fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!fc || EVP_PKEY_fromdata_init(fc) != 1 || EVP_PKEY_fromdata(fc, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* the peer key is checked to be on the curve before use */
	dc = EVP_PKEY_CTX_new(own->pkey, NULL);
	if (!dc || EVP_PKEY_derive_init(dc) != 1 || EVP_PKEY_derive_set_peer_ex(dc, peer, 1) != 1 ||
	    EVP_PKEY_derive(dc, z, &zlen) != 1 || zlen != sizeof(z))
		goto out;
	static const unsigned char other[] = {
		0, 0, 0, 1,                          /* round 1 */
	};
	static const unsigned char info[] = {
		0, 0, 0, 7, 'A', '2', '5', '6', 'G', 'C', 'M', /* AlgorithmID */
		0, 0, 0, 0,                                    /* PartyUInfo */
		0, 0, 0, 0,                                    /* PartyVInfo */
		0, 0, 1, 0,                                    /* SuppPubInfo: 256 */
	};
	unsigned int kl = 0;
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, other, sizeof(other)) == 1 &&
	     EVP_DigestUpdate(md, z, sizeof(z)) == 1 && EVP_DigestUpdate(md, info, sizeof(info)) == 1 &&
	     EVP_DigestFinal_ex(md, key, &kl) == 1 && kl == 32;
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_CTX_free(fc);
	EVP_PKEY_free(peer);
	ERR_clear_error();
	return ok;
}

/* AES-256-GCM with the header segment as AAD; *pt is malloc'd. */
static bool jwe_open(const unsigned char key[32], const struct jwe_parts *j, unsigned char **pt, size_t *ptlen)
{
	bool ok = false;
	size_t ctlen = 0;
	unsigned char *ct = b64u_decode(j->ct_b64, j->ct_b64_len, &ctlen);
	unsigned char *out = ct ? malloc(ctlen + 16) : NULL;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	if (!out || !c || ctlen > INT_MAX || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)sizeof(j->iv), NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, j->iv) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &l1, (const unsigned char *)j->hdr_b64, (int)j->hdr_b64_len) != 1 ||
	    EVP_DecryptUpdate(c, out, &l1, ct, (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, (int)sizeof(j->tag), (void *)j->tag) != 1 ||
	    EVP_DecryptFinal_ex(c, out + l1, &l2) != 1)
		goto out;
	*pt = out;
	*ptlen = (size_t)l1 + (size_t)l2;
	out = NULL;
	ok = true;
out:
	if (out) {
		OPENSSL_cleanse(out, ctlen);
		free(out);
	}
	free(ct);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return ok;
}

int hs_image_decrypt(const char *in, const char *out, const hs_key *own, const json_t *manifest,
                     const char **reason)
{
	int rc = -1;
	char *ct = NULL;
	size_t ctlen = 0, ptlen = 0;
	unsigned char *pt = NULL, key[32];
	struct jwe_parts j;
	if (!own || !own->priv) {
		fail(reason, HS_R_BAD_KEY);
		goto out;
	}
	if (manifest) {
		const json_t *e = image_desc(manifest, HS_IMAGE_CIPHER, reason);
		if (!e)
			goto out;
		const char *for_kid = json_string_value(json_object_get(e, "for"));
		if (!for_kid || strcmp(for_kid, own->kid) != 0) {
			fail(reason, HS_R_NOT_FOR_THIS_GATEWAY);
			goto out;
		}
		if (hs_image_check_path(in, manifest, HS_IMAGE_CIPHER, reason) != 0)
			goto out;
	}
	ct = (char *)file_read(in, JWE_MAX, &ctlen, reason);
	if (!ct)
		goto out;
	if (jwe_parse(ct, ctlen, own, &j, reason) != 0)
		goto out;
	if (!jwe_derive_key(own, &j, key) || !jwe_open(key, &j, &pt, &ptlen)) {
		fail(reason, HS_R_DECRYPT_FAILED);
		goto out;
	}
	if (manifest) {
		const json_t *im = json_object_get(manifest, "image");
		unsigned char want[32], got[32];
		if (!hex_decode32(json_string_value(json_object_get(im, "sha256")), want)) {
			fail(reason, HS_R_MANIFEST_MALFORMED);
			goto out;
		}
		if ((json_int_t)ptlen != json_integer_value(json_object_get(im, "size"))) {
			fail(reason, HS_R_SIZE_MISMATCH);
			goto out;
		}
		if (!sha256(pt, ptlen, got) || CRYPTO_memcmp(got, want, 32) != 0) {
			fail(reason, HS_R_DIGEST_MISMATCH);
			goto out;
		}
	}
	if (file_write_atomic(out, pt, ptlen, 0600, reason) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (pt) {
		OPENSSL_cleanse(pt, ptlen);
		free(pt);
	}
	free(ct);
	return rc;
}
