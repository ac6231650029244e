/*
 * hsign_test.c - manifests, assignments, image checks and encryption
 * (ae/lib/hsign.c): every reason code, round trips, one-byte tampering,
 * unsigned and foreign-signed documents, hostile strings.
 *
 * Keys are generated at start-up in a temporary directory. Documents the
 * library refuses to sign (bad schema, alg "none", wrong typ) are forged
 * here with OpenSSL directly: ES256 over "header.payload" with the raw
 * r||s signature of RFC 7518 3.4, so the verifier is also checked against a
 * signer that is not libcjose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ae/lib/hsign.h"

#define IMG_SIZE 100003 /* more than one read buffer */
#define NOW ((time_t)1800000000)

static char dir[64];
static hs_key *vendor, *vendor2, *oper, *gw, *gw2;
static hs_keyset *vendor_ks, *oper_ks;
static EVP_PKEY *vendor_pk, *vendor2_pk, *oper_pk;
static char img_hex[65];

static void path_in(char *out, size_t n, const char *name)
{
	int w = snprintf(out, n, "%s/%s", dir, name);
	assert_true(w > 0 && (size_t)w < n);
}

static void write_file(const char *name, const void *data, size_t n)
{
	char p[128];
	path_in(p, sizeof(p), name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static unsigned char *read_file(const char *name, size_t *n)
{
	char p[128];
	path_in(p, sizeof(p), name);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	unsigned char *buf = malloc(4u << 20);
	assert_non_null(buf);
	*n = fread(buf, 1, 4u << 20, f);
	fclose(f);
	return buf;
}

static void copy_flip(const char *from, const char *to, long at)
{
	size_t n = 0;
	unsigned char *b = read_file(from, &n);
	size_t i = at < 0 ? n - (size_t)(-at) : (size_t)at;
	b[i] ^= 0x01;
	write_file(to, b, n);
	free(b);
}

static EVP_PKEY *pkey_of(const char *name)
{
	char p[128];
	path_in(p, sizeof(p), name);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pk);
	return pk;
}

static hs_key *new_key(const char *priv, const char *pub)
{
	hs_key *k = NULL;
	const char *why = NULL;
	assert_int_equal(hs_key_generate(&k, &why), 0);
	char pp[128], pb[128];
	path_in(pp, sizeof(pp), priv);
	path_in(pb, sizeof(pb), pub);
	assert_int_equal(hs_key_save(k, pp, pb, &why), 0);
	return k;
}

static hs_key *load(const char *name)
{
	char p[128];
	hs_key *k = NULL;
	path_in(p, sizeof(p), name);
	assert_int_equal(hs_key_load(p, &k, NULL), 0);
	return k;
}

/* ---- forging ------------------------------------------------------------- */

static char *b64u(const unsigned char *in, size_t n)
{
	char *out = malloc(n / 3 * 4 + 8);
	assert_non_null(out);
	int w = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	assert_true(w >= 0);
	size_t o = 0;
	for (int i = 0; i < w; i++) {
		char c = out[i];
		if (c == '=')
			break;
		out[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	out[o] = '\0';
	return out;
}

/* "b64(header).b64(payload).b64(sig)"; sig empty when pk is NULL. */
static char *forge(const char *header, const char *payload, EVP_PKEY *pk)
{
	char *h = b64u((const unsigned char *)header, strlen(header));
	char *p = b64u((const unsigned char *)payload, strlen(payload));
	size_t in_len = strlen(h) + 1 + strlen(p);
	char *out = malloc(in_len + 100);
	assert_non_null(out);
	snprintf(out, in_len + 100, "%s.%s.", h, p);
	if (pk) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned char der[80], raw[64];
		size_t dl = sizeof(der);
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(md, der, &dl, (const unsigned char *)out, in_len), 1);
		EVP_MD_CTX_free(md);
		const unsigned char *q = der;
		ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)dl);
		assert_non_null(sig);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32), 32);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32), 32);
		ECDSA_SIG_free(sig);
		char *s = b64u(raw, 64);
		memcpy(out + in_len + 1, s, strlen(s) + 1); /* 86 bytes: sized above */
		free(s);
	}
	free(h);
	free(p);
	return out;
}

static char *hdr(const char *alg, const hs_key *k, const char *typ)
{
	char *s = malloc(256);
	assert_non_null(s);
	snprintf(s, 256, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}", alg, hs_key_kid(k), typ);
	return s;
}

/* ---- payloads ------------------------------------------------------------ */

static json_t *manifest_payload(void)
{
	json_t *p = json_pack("{s:i, s:s, s:s, s:[s,s], s:s, s:i, s:{s:s, s:i, s:s, s:n}, s:s, s:[s], s:I, s:I}", "v",
	                      1, "vendor", "Acme", "model", "lamp", "hw", "1.0", "1.1", "version", "2.1.0", "seq", 7,
	                      "image", "name", "lamp-2.1.0.bin", "size", IMG_SIZE, "sha256", img_hex, "enc",
	                      "criticality", "high", "advisories", "CVE-2024-0001", "iat", (json_int_t)NOW - 100, "exp",
	                      (json_int_t)NOW + 3600);
	assert_non_null(p);
	return p;
}

static char *sign_manifest(const hs_key *k, const json_t *p)
{
	const char *why = NULL;
	char *s = hs_manifest_sign(k, p, &why);
	assert_non_null(s);
	return s;
}

static json_t *assignment_payload(const char *manifest_jws)
{
	char mh[HS_KID_LEN + 1];
	assert_int_equal(hs_manifest_hash(manifest_jws, mh), 0);
	json_t *p = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:I}", "v", 1, "manifest", mh, "device", "dev-lamp-1",
	                      "gateway", "/id-mn", "campaign", "spring", "iat", (json_int_t)NOW - 10, "exp",
	                      (json_int_t)NOW + 600);
	assert_non_null(p);
	return p;
}

static void expect_manifest(const char *jws, const char *want)
{
	const char *why = NULL;
	json_t *p = NULL;
	int rc = hs_manifest_verify(jws, vendor_ks, NOW, &p, &why);
	if (!want) {
		assert_int_equal(rc, 0);
		assert_non_null(p);
		json_decref(p);
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(p);
	assert_non_null(why);
	if (strcmp(why, want) != 0)
		fail_msg("want %s, got %s", want, why);
}

static void expect_assignment(const char *jws, const char *manifest, const char *device, const char *want)
{
	const char *why = NULL;
	json_t *p = NULL;
	int rc = hs_assignment_verify(jws, oper_ks, manifest, device, "/id-mn", NOW, &p, &why);
	if (!want) {
		assert_int_equal(rc, 0);
		json_decref(p);
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(p);
	if (!why || strcmp(why, want) != 0)
		fail_msg("want %s, got %s", want, why ? why : "(null)");
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/hsign-XXXXXX", t && strlen(t) < 40 ? t : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	vendor = new_key("vendor.pem", "vendor.pub");
	vendor2 = new_key("vendor2.pem", "vendor2.pub");
	oper = new_key("oper.pem", "oper.pub");
	gw = new_key("gw.pem", "gw.pub");
	gw2 = new_key("gw2.pem", "gw2.pub");
	vendor_pk = pkey_of("vendor.pem");
	vendor2_pk = pkey_of("vendor2.pem");
	oper_pk = pkey_of("oper.pem");
	vendor_ks = hs_keyset_new();
	oper_ks = hs_keyset_new();
	hs_key *vp = load("vendor.pub"), *op = load("oper.pub");
	if (hs_keyset_add(vendor_ks, "Acme", &vp, NULL) != 0 || hs_keyset_add(oper_ks, NULL, &op, NULL) != 0)
		return -1;
	unsigned char *img = malloc(IMG_SIZE);
	if (!img)
		return -1;
	for (size_t i = 0; i < IMG_SIZE; i++)
		img[i] = (unsigned char)(i * 7 + (i >> 8));
	write_file("image.bin", img, IMG_SIZE);
	char p[128];
	path_in(p, sizeof(p), "image.bin");
	uint64_t sz = 0;
	int rc = hs_file_digest(p, img_hex, &sz, NULL);
	free(img);
	return rc == 0 && sz == IMG_SIZE ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	hs_key_free(&vendor);
	hs_key_free(&vendor2);
	hs_key_free(&oper);
	hs_key_free(&gw);
	hs_key_free(&gw2);
	hs_keyset_free(&vendor_ks);
	hs_keyset_free(&oper_ks);
	EVP_PKEY_free(vendor_pk);
	EVP_PKEY_free(vendor2_pk);
	EVP_PKEY_free(oper_pk);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- keys ---------------------------------------------------------------- */

static void test_keys(void **state)
{
	(void)state;
	const char *why = NULL;
	hs_key *priv = load("vendor.pem"), *pub = load("vendor.pub"), *k = NULL;
	assert_true(hs_key_has_private(priv));
	assert_false(hs_key_has_private(pub));
	assert_string_equal(hs_key_kid(priv), hs_key_kid(vendor));
	assert_string_equal(hs_key_kid(pub), hs_key_kid(vendor));
	assert_int_equal(strlen(hs_key_kid(pub)), HS_KID_LEN);
	assert_string_not_equal(hs_key_kid(vendor), hs_key_kid(vendor2));

	/* a private key file is never replaced; a public key has no private part */
	char p[128];
	path_in(p, sizeof(p), "vendor.pem");
	assert_int_equal(hs_key_save(vendor2, p, NULL, &why), -1);
	assert_string_equal(why, HS_R_IO);
	path_in(p, sizeof(p), "x.pem");
	assert_int_equal(hs_key_save(pub, p, NULL, &why), -1);
	assert_string_equal(why, HS_R_BAD_KEY);

	/* signing needs the private part */
	json_t *m = manifest_payload();
	assert_null(hs_manifest_sign(pub, m, &why));
	assert_string_equal(why, HS_R_BAD_KEY);
	json_decref(m);

	path_in(p, sizeof(p), "missing.pem");
	assert_int_equal(hs_key_load(p, &k, &why), -1);
	assert_string_equal(why, HS_R_IO);
	write_file("junk.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 57);
	path_in(p, sizeof(p), "junk.pem");
	assert_int_equal(hs_key_load(p, &k, &why), -1);
	assert_string_equal(why, HS_R_BAD_KEY);

	/* other curves are refused */
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(p384);
	path_in(p, sizeof(p), "p384.pub");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, p384), 1);
	fclose(f);
	EVP_PKEY_free(p384);
	assert_int_equal(hs_key_load(p, &k, &why), -1);
	assert_string_equal(why, HS_R_BAD_KEY);
	assert_null(k);

	/* a passphrase-protected key is refused, not prompted for */
	path_in(p, sizeof(p), "locked.pem");
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, vendor_pk, EVP_aes_256_cbc(), (const unsigned char *)"pw", 2, NULL, NULL),
	                 1);
	fclose(f);
	assert_int_equal(hs_key_load(p, &k, &why), -1);
	assert_string_equal(why, HS_R_BAD_KEY);

	hs_key_free(&priv);
	hs_key_free(&pub);
	hs_key_free(&k); /* NULL is fine */
}

/* kid is the RFC 7638 thumbprint: SHA-256 over the JWK's required members,
 * sorted, without white space; the JWK here comes from libcjose. */
static void test_kid_thumbprint(void **state)
{
	(void)state;
	hs_key *pub = load("gw.pub");
	char p[128];
	path_in(p, sizeof(p), "gw.pem");
	/* take x and y from the PEM through libcjose's JWK export */
	EVP_PKEY *pk = pkey_of("gw.pem");
	BIGNUM *x = NULL, *y = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pk, "qx", &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, "qy", &y), 1);
	unsigned char xb[32], yb[32];
	BN_bn2binpad(x, xb, 32);
	BN_bn2binpad(y, yb, 32);
	cjose_jwk_ec_keyspec spec = {.crv = CJOSE_JWK_EC_P_256, .x = xb, .xlen = 32, .y = yb, .ylen = 32};
	cjose_jwk_t *jwk = cjose_jwk_create_EC_spec(&spec, NULL);
	assert_non_null(jwk);
	char *js = cjose_jwk_to_json(jwk, false, NULL);
	json_t *j = json_loads(js, 0, NULL);
	json_t *req = json_pack("{s:O, s:O, s:O, s:O}", "crv", json_object_get(j, "crv"), "kty", json_object_get(j, "kty"),
	                        "x", json_object_get(j, "x"), "y", json_object_get(j, "y"));
	char *canon = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char h[32];
	unsigned int hl = 0;
	EVP_Digest(canon, strlen(canon), h, &hl, EVP_sha256(), NULL);
	char *want = b64u(h, 32);
	assert_string_equal(hs_key_kid(pub), want);
	free(want);
	free(canon);
	json_decref(req);
	json_decref(j);
	free(js);
	cjose_jwk_release(jwk);
	BN_free(x);
	BN_free(y);
	EVP_PKEY_free(pk);
	hs_key_free(&pub);
}

/* ---- round trips --------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	(void)state;
	const char *why = NULL;
	json_t *m = manifest_payload(), *got = NULL;
	char *jws = sign_manifest(vendor, m);
	assert_int_equal(hs_manifest_verify(jws, vendor_ks, NOW, &got, &why), 0);
	assert_true(json_equal(m, got));
	assert_int_equal(hs_manifest_check_target(got, "lamp", "1.1", 6, &why), 0);
	assert_int_equal(hs_manifest_check_target(got, NULL, NULL, -1, &why), 0);

	char p[128];
	path_in(p, sizeof(p), "image.bin");
	assert_int_equal(hs_image_check_path(p, got, HS_IMAGE_PLAIN, &why), 0);
	assert_int_equal(hs_image_check_path(p, got, HS_IMAGE_CIPHER, &why), -1);
	assert_string_equal(why, HS_R_NOT_ENCRYPTED);

	json_t *a = assignment_payload(jws), *agot = NULL;
	char *ajws = hs_assignment_sign(oper, a, &why);
	assert_non_null(ajws);
	assert_int_equal(hs_assignment_verify(ajws, oper_ks, jws, "dev-lamp-1", "/id-mn", NOW, &agot, &why), 0);
	assert_true(json_equal(a, agot));
	/* NULL skips a binding check */
	assert_int_equal(hs_assignment_verify(ajws, oper_ks, NULL, NULL, NULL, NOW, NULL, &why), 0);

	/* a vendor key pinned for any vendor also verifies */
	hs_keyset *any = hs_keyset_new();
	hs_key *vp = load("vendor.pub");
	assert_int_equal(hs_keyset_add(any, NULL, &vp, &why), 0);
	assert_null(vp);
	assert_int_equal(hs_keyset_count(any), 1);
	assert_int_equal(hs_manifest_verify(jws, any, NOW, NULL, &why), 0);
	hs_keyset_free(&any);
	assert_null(any);

	free(ajws);
	json_decref(a);
	json_decref(agot);
	free(jws);
	json_decref(m);
	json_decref(got);
}

/* ECDSA signatures are random: many of them, so that an r or s with
 * leading zero bytes turns up and is still 64 bytes long. */
static void test_many_signatures(void **state)
{
	(void)state;
	json_t *m = manifest_payload();
	for (int i = 0; i < 300; i++) {
		json_object_set_new(m, "seq", json_integer(i + 1));
		char *jws = sign_manifest(vendor, m);
		expect_manifest(jws, NULL);
		free(jws);
	}
	json_decref(m);
}

static void test_encrypt_roundtrip(void **state)
{
	(void)state;
	const char *why = NULL;
	char in[128], enc[128], out[128], out2[128];
	path_in(in, sizeof(in), "image.bin");
	path_in(enc, sizeof(enc), "image.jwe");
	path_in(out, sizeof(out), "image.out");
	path_in(out2, sizeof(out2), "image.out2");
	char ehex[65];
	uint64_t esize = 0;
	assert_int_equal(hs_image_encrypt(in, enc, gw, ehex, &esize, &why), 0);
	assert_true(esize > IMG_SIZE);

	json_t *m = manifest_payload();
	json_object_set_new(json_object_get(m, "image"), "enc",
	                    json_pack("{s:s, s:s, s:s, s:s, s:I}", "alg", "ECDH-ES", "enc", "A256GCM", "for", hs_key_kid(gw),
	                              "sha256", ehex, "size", (json_int_t)esize));
	char *jws = sign_manifest(vendor, m);
	json_t *v = NULL;
	assert_int_equal(hs_manifest_verify(jws, vendor_ks, NOW, &v, &why), 0);
	assert_int_equal(hs_image_check_path(enc, v, HS_IMAGE_CIPHER, &why), 0);

	hs_key *gwpriv = load("gw.pem");
	assert_int_equal(hs_image_decrypt(enc, out, gwpriv, v, &why), 0);
	assert_int_equal(hs_image_check_path(out, v, HS_IMAGE_PLAIN, &why), 0);
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* without a manifest */
	assert_int_equal(hs_image_decrypt(enc, out2, gwpriv, NULL, &why), 0);
	assert_int_equal(hs_image_check_path(out2, v, HS_IMAGE_PLAIN, &why), 0);

	/* another gateway: refused by the manifest's "for" and by the JWE kid */
	hs_key *other = load("gw2.pem");
	assert_int_equal(hs_image_decrypt(enc, out2, other, v, &why), -1);
	assert_string_equal(why, HS_R_NOT_FOR_THIS_GATEWAY);
	assert_int_equal(hs_image_decrypt(enc, out2, other, NULL, &why), -1);
	assert_string_equal(why, HS_R_NOT_FOR_THIS_GATEWAY);
	/* a public key cannot decrypt */
	hs_key *gwpub = load("gw.pub");
	assert_int_equal(hs_image_decrypt(enc, out2, gwpub, NULL, &why), -1);
	assert_string_equal(why, HS_R_BAD_KEY);
	hs_key_free(&gwpub);

	/* one byte of ciphertext changed: the signed enc digest catches it
	 * before decryption; without a manifest the GCM tag does */
	copy_flip("image.jwe", "bad.jwe", -40);
	path_in(in, sizeof(in), "bad.jwe");
	assert_int_equal(hs_image_decrypt(in, out2, gwpriv, v, &why), -1);
	assert_string_equal(why, HS_R_DIGEST_MISMATCH);
	assert_int_equal(hs_image_decrypt(in, out2, gwpriv, NULL, &why), -1);
	assert_string_equal(why, HS_R_DECRYPT_FAILED);

	/* a truncated tag (4 bytes instead of 16) and a garbage file */
	size_t n = 0;
	unsigned char *b = read_file("image.jwe", &n);
	write_file("short.jwe", b, n - 16);
	free(b);
	path_in(in, sizeof(in), "short.jwe");
	assert_int_equal(hs_image_decrypt(in, out2, gwpriv, NULL, &why), -1);
	assert_string_equal(why, HS_R_DECRYPT_FAILED);
	write_file("junk.jwe", "a.b.c.d.e", 9);
	path_in(in, sizeof(in), "junk.jwe");
	assert_int_equal(hs_image_decrypt(in, out2, gwpriv, NULL, &why), -1);
	assert_string_equal(why, HS_R_DECRYPT_FAILED);

	/* a ciphertext of another image under a manifest whose enc matches it:
	 * the plaintext digest check after decryption refuses it */
	unsigned char other_img[64];
	memset(other_img, 'x', sizeof(other_img));
	write_file("other.bin", other_img, sizeof(other_img));
	char oin[128], oenc[128];
	path_in(oin, sizeof(oin), "other.bin");
	path_in(oenc, sizeof(oenc), "other.jwe");
	assert_int_equal(hs_image_encrypt(oin, oenc, gw, ehex, &esize, &why), 0);
	json_t *e = json_object_get(json_object_get(m, "image"), "enc");
	json_object_set_new(e, "sha256", json_string(ehex));
	json_object_set_new(e, "size", json_integer((json_int_t)esize));
	json_object_set_new(json_object_get(m, "image"), "size", json_integer(sizeof(other_img)));
	assert_int_equal(hs_image_decrypt(oenc, out2, gwpriv, m, &why), -1);
	assert_string_equal(why, HS_R_DIGEST_MISMATCH);
	json_object_set_new(json_object_get(m, "image"), "size", json_integer(IMG_SIZE));
	assert_int_equal(hs_image_decrypt(oenc, out2, gwpriv, m, &why), -1);
	assert_string_equal(why, HS_R_SIZE_MISMATCH);

	/* a plain manifest has nothing to decrypt */
	json_object_set_new(json_object_get(m, "image"), "enc", json_null());
	assert_int_equal(hs_image_decrypt(enc, out2, gwpriv, m, &why), -1);
	assert_string_equal(why, HS_R_NOT_ENCRYPTED);

	hs_key_free(&gwpriv);
	hs_key_free(&other);
	free(jws);
	json_decref(m);
	json_decref(v);
}

/* A JWE whose protected header was edited: refused before or by
 * decryption (the header is the AAD, so even a re-serialization fails). */
static void test_jwe_hostile_headers(void **state)
{
	(void)state;
	const char *why = NULL;
	char in[128], enc[128], out[128];
	path_in(in, sizeof(in), "image.bin");
	path_in(enc, sizeof(enc), "h.jwe");
	path_in(out, sizeof(out), "h.out");
	assert_int_equal(hs_image_encrypt(in, enc, gw, NULL, NULL, &why), 0);
	size_t n = 0;
	unsigned char *b = read_file("h.jwe", &n);
	char *dot = memchr(b, '.', n);
	assert_non_null(dot);
	size_t hl = (size_t)(dot - (char *)b);
	/* decode the header with the library's own peer: jansson + OpenSSL */
	char *hb = malloc(hl + 4);
	memcpy(hb, b, hl);
	size_t pad = (4 - hl % 4) % 4;
	for (size_t i = 0; i < hl; i++)
		hb[i] = hb[i] == '-' ? '+' : hb[i] == '_' ? '/' : hb[i];
	memset(hb + hl, '=', pad);
	unsigned char raw[1024];
	int rl = EVP_DecodeBlock(raw, (unsigned char *)hb, (int)(hl + pad));
	assert_true(rl > 0);
	free(hb);
	json_t *orig = json_loadb((const char *)raw, (size_t)rl - pad, 0, NULL);
	assert_non_null(orig);

	hs_key *gwpriv = load("gw.pem"), *other = load("gw2.pub");
	struct {
		const char *member; /* "epk.x" edits inside epk */
		json_t *val;        /* NULL: delete */
		const char *want;
	} edits[] = {
		{"alg", json_string("dir"), HS_R_DECRYPT_FAILED},
		{"alg", json_string("ECDH-ES+A256KW"), HS_R_DECRYPT_FAILED},
		{"enc", json_string("A128GCM"), HS_R_DECRYPT_FAILED},
		{"typ", NULL, HS_R_DECRYPT_FAILED},
		{"apu", json_string("QQ"), HS_R_DECRYPT_FAILED},
		{"epk.d", json_string("AAAA"), HS_R_DECRYPT_FAILED},
		{"epk.crv", json_string("P-384"), HS_R_DECRYPT_FAILED},
		{"epk.x", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), HS_R_DECRYPT_FAILED}, /* off curve */
		{"epk", json_string("x"), HS_R_DECRYPT_FAILED},
		{"kid", json_string(hs_key_kid(other)), HS_R_NOT_FOR_THIS_GATEWAY},
		{"zip", json_string("DEF"), HS_R_DECRYPT_FAILED},
		{"alg", json_string("ECDH-ES"), HS_R_DECRYPT_FAILED}, /* same values, new serialization */
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		json_t *h = json_deep_copy(orig);
		json_t *obj = h;
		const char *key = edits[i].member;
		if (strncmp(key, "epk.", 4) == 0) {
			obj = json_object_get(h, "epk");
			key += 4;
		}
		if (edits[i].val)
			json_object_set_new(obj, key, edits[i].val);
		else
			json_object_del(obj, key);
		char *hs = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
		char *h64 = b64u((const unsigned char *)hs, strlen(hs));
		size_t total = strlen(h64) + (n - hl);
		char *jwe = malloc(total + 1);
		memcpy(jwe, h64, strlen(h64));
		memcpy(jwe + strlen(h64), dot, n - hl);
		write_file("h2.jwe", jwe, total);
		char p[128];
		path_in(p, sizeof(p), "h2.jwe");
		assert_int_equal(hs_image_decrypt(p, out, gwpriv, NULL, &why), -1);
		if (strcmp(why, edits[i].want) != 0)
			fail_msg("edit %zu: want %s, got %s", i, edits[i].want, why);
		free(jwe);
		free(h64);
		free(hs);
		json_decref(h);
	}
	/* the untouched file still decrypts */
	assert_int_equal(hs_image_decrypt(enc, out, gwpriv, NULL, &why), 0);
	hs_key_free(&gwpriv);
	hs_key_free(&other);
	json_decref(orig);
	free(b);
}

/* ---- manifest refusals --------------------------------------------------- */

typedef struct hostile {
	const char *jws;
	const char *want;
} hostile;

static void test_manifest_hostile_strings(void **state)
{
	(void)state;
	static const hostile cases[] = {
		{"", HS_R_MANIFEST_MALFORMED},
		{".", HS_R_MANIFEST_MALFORMED},
		{"..", HS_R_MANIFEST_MALFORMED},
		{"a.b", HS_R_MANIFEST_MALFORMED},
		{"a.b.c.d", HS_R_MANIFEST_MALFORMED},
		{"a..c", HS_R_MANIFEST_MALFORMED},
		{".b.c", HS_R_MANIFEST_MALFORMED},
		{"e30.e30.", HS_R_MANIFEST_MALFORMED},              /* {} header */
		{"W10.e30.AAAA", HS_R_MANIFEST_MALFORMED},          /* [] header */
		{"eyJ.e30.AAAA", HS_R_MANIFEST_MALFORMED},          /* truncated JSON */
		{"e=30.e30.AAAA", HS_R_MANIFEST_MALFORMED},         /* padding */
		{"e30 .e30.AAAA", HS_R_MANIFEST_MALFORMED},
		{"e30.e30.AAAA\n", HS_R_MANIFEST_MALFORMED},
		{"\xff\xfe.e30.AAAA", HS_R_MANIFEST_MALFORMED},
		{"A", HS_R_MANIFEST_MALFORMED},
		{"AAAAA.AAAAA.AAAAA", HS_R_MANIFEST_MALFORMED},     /* length % 4 == 1 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_manifest(cases[i].jws, cases[i].want);
	expect_manifest(NULL, HS_R_MANIFEST_MALFORMED);

	/* longer than HS_JWS_MAX */
	char *big = malloc(HS_JWS_MAX + 10);
	assert_non_null(big);
	memset(big, 'A', HS_JWS_MAX + 9);
	big[10] = '.';
	big[20] = '.';
	big[HS_JWS_MAX + 9] = '\0';
	expect_manifest(big, HS_R_MANIFEST_MALFORMED);
	free(big);

	/* random strings over the base64url alphabet plus '.' never crash */
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_...";
	uint32_t x = 2463534242u;
	char s[300];
	for (int i = 0; i < 3000; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		size_t n = x % (sizeof(s) - 1);
		for (size_t j = 0; j < n; j++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			s[j] = alpha[x % (sizeof(alpha) - 1)];
		}
		s[n] = '\0';
		const char *why = NULL;
		json_t *p = NULL;
		assert_int_equal(hs_manifest_verify(s, vendor_ks, NOW, &p, &why), -1);
		assert_null(p);
		assert_true(strcmp(why, HS_R_MANIFEST_MALFORMED) == 0 || strcmp(why, HS_R_MANIFEST_SIGNATURE) == 0 ||
		            strcmp(why, HS_R_UNKNOWN_KEY) == 0);
		assert_int_equal(hs_assignment_verify(s, oper_ks, NULL, NULL, NULL, NOW, &p, &why), -1);
		assert_null(p);
	}
}

static void test_manifest_unsigned_and_foreign(void **state)
{
	(void)state;
	json_t *m = manifest_payload();
	char *body = json_dumps(m, JSON_COMPACT);
	char *h;

	/* the forger itself is right: a correctly forged manifest passes */
	h = hdr("ES256", vendor, "hearth-manifest+jws");
	char *good = forge(h, body, vendor_pk);
	expect_manifest(good, NULL);
	free(h);

	/* alg none, with and without a signature */
	h = hdr("none", vendor, "hearth-manifest+jws");
	char *none = forge(h, body, NULL);
	expect_manifest(none, HS_R_MANIFEST_SIGNATURE);
	free(none);
	none = forge(h, body, vendor_pk);
	expect_manifest(none, HS_R_MANIFEST_SIGNATURE);
	free(none);
	free(h);
	h = strdup("{\"alg\":\"none\",\"typ\":\"hearth-manifest+jws\"}");
	none = forge(h, body, NULL);
	expect_manifest(none, HS_R_MANIFEST_SIGNATURE);
	free(none);
	free(h);

	/* ES256 without the signature, and with a short one */
	char *nosig = strdup(good);
	*(strrchr(nosig, '.') + 1) = '\0';
	expect_manifest(nosig, HS_R_MANIFEST_SIGNATURE);
	free(nosig);
	char *shortsig = strdup(good);
	shortsig[strlen(shortsig) - 4] = '\0';
	expect_manifest(shortsig, HS_R_MANIFEST_SIGNATURE);
	free(shortsig);

	/* other algorithms */
	h = hdr("HS256", vendor, "hearth-manifest+jws");
	char *hs = forge(h, body, vendor_pk);
	expect_manifest(hs, HS_R_MANIFEST_SIGNATURE);
	free(hs);
	free(h);

	/* signed by a key nobody pinned */
	char *foreign = sign_manifest(vendor2, m);
	expect_manifest(foreign, HS_R_UNKNOWN_KEY);
	free(foreign);

	/* signed by another key under the pinned key's kid */
	h = hdr("ES256", vendor, "hearth-manifest+jws");
	char *imp = forge(h, body, vendor2_pk);
	expect_manifest(imp, HS_R_MANIFEST_SIGNATURE);
	free(imp);
	free(h);

	/* a key pinned for another vendor */
	hs_keyset *ks = hs_keyset_new();
	hs_key *k2 = load("vendor2.pub");
	assert_int_equal(hs_keyset_add(ks, "Other", &k2, NULL), 0);
	char *other = sign_manifest(vendor2, m);
	const char *why = NULL;
	assert_int_equal(hs_manifest_verify(other, ks, NOW, NULL, &why), -1);
	assert_string_equal(why, HS_R_UNKNOWN_KEY);
	free(other);
	hs_keyset_free(&ks);

	/* header: wrong typ (an assignment), an extra member, duplicates */
	h = hdr("ES256", vendor, "hearth-assignment+jws");
	char *x = forge(h, body, vendor_pk);
	expect_manifest(x, HS_R_MANIFEST_MALFORMED);
	free(x);
	free(h);
	char hb[300];
	snprintf(hb, sizeof(hb), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"hearth-manifest+jws\",\"crit\":[\"x\"]}",
	         hs_key_kid(vendor));
	x = forge(hb, body, vendor_pk);
	expect_manifest(x, HS_R_MANIFEST_MALFORMED);
	free(x);
	snprintf(hb, sizeof(hb), "{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"hearth-manifest+jws\"}",
	         hs_key_kid(vendor));
	x = forge(hb, body, vendor_pk);
	expect_manifest(x, HS_R_MANIFEST_MALFORMED);
	free(x);
	snprintf(hb, sizeof(hb), "{\"alg\":\"ES256\",\"typ\":\"hearth-manifest+jws\"}");
	x = forge(hb, body, vendor_pk);
	expect_manifest(x, HS_R_MANIFEST_MALFORMED);
	free(x);

	free(good);
	free(body);
	json_decref(m);
}

static void test_manifest_tampering(void **state)
{
	(void)state;
	json_t *m = manifest_payload();
	char *jws = sign_manifest(vendor, m);
	size_t n = strlen(jws);
	const char *d1 = strchr(jws, '.'), *d2 = strrchr(jws, '.');
	size_t ppos = (size_t)(d1 - jws) + 5, spos = (size_t)(d2 - jws) + 10;
	static const char *const swaps = "AB";

	char *t = strdup(jws);
	t[ppos] = t[ppos] == swaps[0] ? swaps[1] : swaps[0]; /* one payload character */
	expect_manifest(t, HS_R_MANIFEST_SIGNATURE);
	memcpy(t, jws, n + 1);
	t[spos] = t[spos] == swaps[0] ? swaps[1] : swaps[0]; /* one signature character */
	expect_manifest(t, HS_R_MANIFEST_SIGNATURE);
	memcpy(t, jws, n + 1);
	t[2] = t[2] == 'a' ? 'b' : 'a'; /* one header character */
	const char *why = NULL;
	assert_int_equal(hs_manifest_verify(t, vendor_ks, NOW, NULL, &why), -1);
	free(t);

	/* a payload byte changed by re-encoding (seq 7 -> 9), old signature */
	char *body = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	char *seq = strstr(body, "\"seq\":7");
	assert_non_null(seq);
	seq[6] = '9';
	char *h = hdr("ES256", vendor, "hearth-manifest+jws");
	char *unsigned_part = forge(h, body, NULL);
	size_t fl = strlen(unsigned_part) + strlen(d2 + 1) + 1;
	char *forged = malloc(fl);
	assert_non_null(forged);
	snprintf(forged, fl, "%s%s", unsigned_part, d2 + 1);
	expect_manifest(forged, HS_R_MANIFEST_SIGNATURE);
	free(forged);
	free(unsigned_part);
	free(h);
	free(body);
	free(jws);
	json_decref(m);
}

/* Payloads that are signed correctly but break the schema. */
static void test_manifest_schema(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"v\":2}", "[]", "1", "{\"v\":1,\"vendor\":\"Acme\"}",
	};
	char *h = hdr("ES256", vendor, "hearth-manifest+jws");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *x = forge(h, bad[i], vendor_pk);
		expect_manifest(x, HS_R_MANIFEST_MALFORMED);
		free(x);
	}
	/* one change each to a good payload */
	struct {
		const char *path; /* "image.x" for the image object */
		json_t *val;      /* NULL: delete */
	} edits[] = {
		{"v", json_integer(2)},
		{"seq", json_integer(0)},
		{"seq", json_string("7")},
		{"seq", NULL},
		{"hw", json_array()},
		{"hw", json_pack("[i]", 1)},
		{"version", json_string("2.1 beta")},
		{"version", json_string("")},
		{"criticality", json_string("urgent")},
		{"advisories", json_string("CVE")},
		{"exp", json_integer(NOW - 200)}, /* before iat */
		{"extra", json_true()},
		{"vendor", json_string("Ac\nme")},
		{"image.size", json_integer(0)},
		{"image.size", json_integer(-5)},
		{"image.sha256", json_string("ABCDEF")},
		{"image.name", json_string("../etc/passwd")},
		{"image.name", json_string(".hidden")},
		{"image.enc", json_pack("{s:s}", "alg", "dir")},
		{"image.enc", json_pack("{s:s, s:s, s:s, s:s, s:i}", "alg", "ECDH-ES", "enc", "A128CBC-HS256", "for",
		                        hs_key_kid(gw), "sha256", img_hex, "size", 5)},
		{"image.extra", json_integer(1)},
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		json_t *m = manifest_payload();
		json_t *obj = m;
		const char *key = edits[i].path;
		if (strncmp(key, "image.", 6) == 0) {
			obj = json_object_get(m, "image");
			key += 6;
		}
		if (edits[i].val)
			json_object_set_new(obj, key, edits[i].val);
		else
			json_object_del(obj, key);
		const char *why = NULL;
		assert_null(hs_manifest_sign(vendor, m, &why)); /* the signer refuses it too */
		assert_string_equal(why, HS_R_MANIFEST_MALFORMED);
		char *body = json_dumps(m, JSON_COMPACT);
		char *x = forge(h, body, vendor_pk);
		expect_manifest(x, HS_R_MANIFEST_MALFORMED);
		free(x);
		free(body);
		json_decref(m);
	}
	/* duplicate members in the payload */
	char *x = forge(h, "{\"v\":1,\"v\":1}", vendor_pk);
	expect_manifest(x, HS_R_MANIFEST_MALFORMED);
	free(x);
	free(h);
}

static void test_manifest_expired_and_target(void **state)
{
	(void)state;
	const char *why = NULL;
	json_t *m = manifest_payload(), *p = NULL;
	char *jws = sign_manifest(vendor, m);
	assert_int_equal(hs_manifest_verify(jws, vendor_ks, NOW + 3600, &p, &why), -1);
	assert_string_equal(why, HS_R_EXPIRED);
	assert_int_equal(hs_manifest_verify(jws, vendor_ks, NOW + 3599, &p, &why), 0);

	assert_int_equal(hs_manifest_check_target(p, "kettle", "1.0", 1, &why), -1);
	assert_string_equal(why, HS_R_MODEL_MISMATCH);
	assert_int_equal(hs_manifest_check_target(p, "lamp", "2.0", 1, &why), -1);
	assert_string_equal(why, HS_R_HARDWARE_MISMATCH);
	assert_int_equal(hs_manifest_check_target(p, "lamp", "1.0", 7, &why), -1);
	assert_string_equal(why, HS_R_DOWNGRADE);
	assert_int_equal(hs_manifest_check_target(p, "lamp", "1.0", 100, &why), -1);
	assert_string_equal(why, HS_R_DOWNGRADE);
	assert_int_equal(hs_manifest_check_target(p, "lamp", "1.0", 6, &why), 0);
	assert_int_equal(hs_manifest_check_target(p, "lamp", "1.0", 0, &why), 0);
	free(jws);
	json_decref(m);
	json_decref(p);
}

/* ---- assignments --------------------------------------------------------- */

static void test_assignment(void **state)
{
	(void)state;
	const char *why = NULL;
	json_t *m = manifest_payload();
	char *man = sign_manifest(vendor, m);
	json_object_set_new(m, "seq", json_integer(8));
	char *man2 = sign_manifest(vendor, m);
	json_t *a = assignment_payload(man);
	char *asg = hs_assignment_sign(oper, a, &why);
	assert_non_null(asg);
	expect_assignment(asg, man, "dev-lamp-1", NULL);

	/* bound to the manifest, the device and the gateway */
	expect_assignment(asg, man2, "dev-lamp-1", HS_R_ASSIGNMENT_MISMATCH);
	expect_assignment(asg, man, "dev-lamp-2", HS_R_ASSIGNMENT_MISMATCH);
	assert_int_equal(hs_assignment_verify(asg, oper_ks, man, "dev-lamp-1", "/id-other", NOW, NULL, &why), -1);
	assert_string_equal(why, HS_R_ASSIGNMENT_MISMATCH);

	/* expiry */
	assert_int_equal(hs_assignment_verify(asg, oper_ks, man, "dev-lamp-1", "/id-mn", NOW + 600, NULL, &why), -1);
	assert_string_equal(why, HS_R_EXPIRED);

	/* signed by the vendor, not the operator; forged kid; tampered */
	char *byvendor = hs_assignment_sign(vendor, a, &why);
	expect_assignment(byvendor, man, "dev-lamp-1", HS_R_ASSIGNMENT_SIGNATURE);
	free(byvendor);
	char *body = json_dumps(a, JSON_COMPACT);
	char *h = hdr("ES256", oper, "hearth-assignment+jws");
	char *x = forge(h, body, vendor_pk);
	expect_assignment(x, man, "dev-lamp-1", HS_R_ASSIGNMENT_SIGNATURE);
	free(x);
	x = forge(h, body, oper_pk); /* control: the right key passes */
	expect_assignment(x, man, "dev-lamp-1", NULL);
	free(x);
	free(h);
	h = hdr("none", oper, "hearth-assignment+jws");
	x = forge(h, body, NULL);
	expect_assignment(x, man, "dev-lamp-1", HS_R_ASSIGNMENT_SIGNATURE);
	free(x);
	free(h);
	char *t = strdup(asg);
	char *d1 = strchr(t, '.');
	d1[3] = d1[3] == 'A' ? 'B' : 'A';
	expect_assignment(t, man, "dev-lamp-1", HS_R_ASSIGNMENT_SIGNATURE);
	free(t);

	/* malformed: garbage, a manifest, schema errors */
	expect_assignment("not a jws", man, "dev-lamp-1", HS_R_ASSIGNMENT_MALFORMED);
	expect_assignment(man, man, "dev-lamp-1", HS_R_ASSIGNMENT_MALFORMED);
	h = hdr("ES256", oper, "hearth-assignment+jws");
	static const char *const bad[] = {
		"{}",
		"{\"v\":1,\"manifest\":\"x\",\"device\":\"d\",\"gateway\":\"/g\",\"campaign\":\"\",\"iat\":1,\"exp\":2}",
		"{\"v\":1,\"manifest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"device\":\"d\",\"gateway\":\"g\","
		"\"campaign\":\"\",\"iat\":1,\"exp\":2}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = forge(h, bad[i], oper_pk);
		expect_assignment(x, man, "dev-lamp-1", HS_R_ASSIGNMENT_MALFORMED);
		free(x);
	}
	json_object_set_new(a, "gateway", json_string("id-mn"));
	assert_null(hs_assignment_sign(oper, a, &why));
	assert_string_equal(why, HS_R_ASSIGNMENT_MALFORMED);
	free(h);
	free(body);
	free(asg);
	free(man);
	free(man2);
	json_decref(a);
	json_decref(m);
}

/* ---- image checks -------------------------------------------------------- */

static void test_image_checks(void **state)
{
	(void)state;
	const char *why = NULL;
	json_t *m = manifest_payload();
	char p[128];

	copy_flip("image.bin", "flip.bin", 5000);
	path_in(p, sizeof(p), "flip.bin");
	assert_int_equal(hs_image_check_path(p, m, HS_IMAGE_PLAIN, &why), -1);
	assert_string_equal(why, HS_R_DIGEST_MISMATCH);

	size_t n = 0;
	unsigned char *b = read_file("image.bin", &n);
	assert_int_equal(n, IMG_SIZE);
	write_file("short.bin", b, n - 1);
	path_in(p, sizeof(p), "short.bin");
	assert_int_equal(hs_image_check_path(p, m, HS_IMAGE_PLAIN, &why), -1);
	assert_string_equal(why, HS_R_SIZE_MISMATCH);

	/* one byte longer than signed; reading stops right after that byte */
	unsigned char *longer = malloc(n + 4096);
	memcpy(longer, b, n);
	memset(longer + n, 0, 4096);
	write_file("long.bin", longer, n + 4096);
	path_in(p, sizeof(p), "long.bin");
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(hs_image_check_fd(fd, IMG_SIZE, img_hex, &why), -1);
	assert_string_equal(why, HS_R_SIZE_MISMATCH);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), IMG_SIZE + 1);
	/* the signed prefix itself is fine */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	write_file("exact1.bin", longer, n + 1);
	close(fd);
	path_in(p, sizeof(p), "exact1.bin");
	assert_int_equal(hs_image_check_path(p, m, HS_IMAGE_PLAIN, &why), -1);
	assert_string_equal(why, HS_R_SIZE_MISMATCH);

	/* upper-case hex in a caller's digest is accepted; garbage is not */
	char up[65];
	for (size_t i = 0; i < 65; i++)
		up[i] = (char)(img_hex[i] >= 'a' && img_hex[i] <= 'f' ? img_hex[i] - 32 : img_hex[i]);
	path_in(p, sizeof(p), "image.bin");
	fd = open(p, O_RDONLY);
	assert_int_equal(hs_image_check_fd(fd, IMG_SIZE, up, &why), 0);
	close(fd);
	fd = open(p, O_RDONLY);
	assert_int_equal(hs_image_check_fd(fd, IMG_SIZE, "zz", &why), -1);
	assert_string_equal(why, HS_R_MANIFEST_MALFORMED);
	close(fd);

	path_in(p, sizeof(p), "nonexistent.bin");
	assert_int_equal(hs_image_check_path(p, m, HS_IMAGE_PLAIN, &why), -1);
	assert_string_equal(why, HS_R_IO);

	free(longer);
	free(b);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_kid_thumbprint),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_many_signatures),
		cmocka_unit_test(test_encrypt_roundtrip),
		cmocka_unit_test(test_jwe_hostile_headers),
		cmocka_unit_test(test_manifest_hostile_strings),
		cmocka_unit_test(test_manifest_unsigned_and_foreign),
		cmocka_unit_test(test_manifest_tampering),
		cmocka_unit_test(test_manifest_schema),
		cmocka_unit_test(test_manifest_expired_and_target),
		cmocka_unit_test(test_assignment),
		cmocka_unit_test(test_image_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
