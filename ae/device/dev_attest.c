/*
 * dev_attest.c - signing the device's metadata statement; see
 * dev_attest.h. OpenSSL (libcrypto) does the ECDSA; the JWS is put
 * together here with base64url, which is all RFC 7515's compact
 * serialization needs.
 */
#include "ae/device/dev_attest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_CHAIN 4

struct dev_attest_key {
	EVP_PKEY *pkey;
	char *x5c[MAX_CHAIN]; /* base64 (standard alphabet) DER certificates */
	size_t nx5c;
};

static void b64(const unsigned char *in, size_t n, char *out, bool url)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *al = url ? u : std;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = al[(v >> 18) & 63];
		out[o++] = al[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = al[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = al[v & 63];
		else if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
}

static char *b64_new(const unsigned char *in, size_t n, bool url)
{
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (out)
		b64(in, n, out, url);
	return out;
}

void dev_attest_free(dev_attest_key **k)
{
	if (!k || !*k)
		return;
	EVP_PKEY_free((*k)->pkey);
	for (size_t i = 0; i < (*k)->nx5c; i++)
		free((*k)->x5c[i]);
	free(*k);
	*k = NULL;
}

static bool is_p256(EVP_PKEY *pk)
{
	char name[64] = "";
	size_t len = 0;
	return EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
	       EVP_PKEY_get_utf8_string_param(pk, "group", name, sizeof(name), &len) == 1 &&
	       strcmp(name, "prime256v1") == 0;
}

int dev_attest_load(dev_attest_key **out, const char *key_pem, const char *cert_pem, bool check_pair,
                    char *err, size_t errlen)
{
	dev_attest_key *k = calloc(1, sizeof(*k));
	X509 *leaf = NULL;
	FILE *f = NULL;
	int rc = -1;
	*out = NULL;
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!(f = fopen(key_pem, "r")) || !(k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
		snprintf(err, errlen, "--key %s: cannot read a PEM private key", key_pem);
		goto out;
	}
	fclose(f);
	f = NULL;
	if (!is_p256(k->pkey)) {
		snprintf(err, errlen, "--key %s: not a P-256 (prime256v1) EC key", key_pem);
		goto out;
	}
	if (!(f = fopen(cert_pem, "r"))) {
		snprintf(err, errlen, "--cert %s: cannot open", cert_pem);
		goto out;
	}
	for (X509 *x; k->nx5c < MAX_CHAIN && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL;) {
		unsigned char *der = NULL;
		int n = i2d_X509(x, &der);
		char *s = n > 0 ? b64_new(der, (size_t)n, false) : NULL;
		OPENSSL_free(der);
		if (!s) {
			X509_free(x);
			snprintf(err, errlen, "--cert %s: cannot encode a certificate", cert_pem);
			goto out;
		}
		k->x5c[k->nx5c++] = s;
		if (!leaf)
			leaf = x;
		else
			X509_free(x);
	}
	if (!leaf) {
		snprintf(err, errlen, "--cert %s: no PEM certificate", cert_pem);
		goto out;
	}
	if (check_pair && X509_check_private_key(leaf, k->pkey) != 1) {
		snprintf(err, errlen, "--key %s is not the key of the certificate in --cert %s", key_pem, cert_pem);
		goto out;
	}
	rc = 0;
	*out = k;
	k = NULL;
out:
	if (f)
		fclose(f);
	X509_free(leaf);
	dev_attest_free(&k);
	return rc;
}

/* ES256: ECDSA over SHA-256, the DER signature turned into r || s. */
static int sign_es256(EVP_PKEY *pk, const char *data, size_t len, unsigned char rs[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t dlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = -1;
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (const unsigned char *)data, len) != 1)
		goto out;
	const unsigned char *p = der;
	if (!(sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)))
		goto out;
	const BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, rs, 32) != 32 || BN_bn2binpad(s, rs + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

static char *json_b64url(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	char *out = s ? b64_new((const unsigned char *)s, strlen(s), true) : NULL;
	free(s);
	return out;
}

char *dev_attest_sign(const dev_attest_key *k, const char *nonce, const dev_attest_meta *m)
{
	if (!k || !nonce || !m || !m->man || !m->mod || !m->serial || !m->hwv || !m->fwv || !m->swv)
		return NULL;
	json_t *x5c = json_array();
	for (size_t i = 0; i < k->nx5c; i++)
		json_array_append_new(x5c, json_string(k->x5c[i]));
	json_t *hdr = json_pack("{s:s,s:o}", "alg", "ES256", "x5c", x5c);
	json_t *pl = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "nonce", nonce, "man", m->man, "mod", m->mod,
	                       "serial", m->serial, "hwv", m->hwv, "fwv", m->fwv, "swv", m->swv, "iat",
	                       (json_int_t)m->iat);
	char *h = hdr ? json_b64url(hdr) : NULL, *p = pl ? json_b64url(pl) : NULL, *out = NULL;
	json_decref(hdr);
	json_decref(pl);
	if (!h || !p)
		goto out;
	size_t hl = strlen(h), pln = strlen(p);
	char *input = malloc(hl + 1 + pln + 1 + 86 + 1);
	if (!input)
		goto out;
	memcpy(input, h, hl);
	input[hl] = '.';
	memcpy(input + hl + 1, p, pln + 1);
	unsigned char rs[64];
	if (sign_es256(k->pkey, input, hl + 1 + pln, rs) != 0) {
		free(input);
		goto out;
	}
	input[hl + 1 + pln] = '.';
	b64(rs, sizeof(rs), input + hl + 1 + pln + 1, true);
	out = input;
out:
	free(h);
	free(p);
	return out;
}

int dev_attest_challenge(const json_t *body, char *nonce, size_t n)
{
	json_t *atq = json_object_get(json_object_get(json_object_get(json_object_get(body, "m2m:sgn"), "nev"), "rep"),
	                              "hd:atq");
	if (!atq)
		return 0;
	const char *s = json_string_value(json_object_get(atq, "nonce"));
	size_t len = s ? strlen(s) : 0;
	if (len < DEV_ATTEST_NONCE_MIN || len > DEV_ATTEST_NONCE_MAX || len >= n)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return -1;
	}
	memcpy(nonce, s, len + 1);
	return 1;
}
