/*
 * attest_verify.c - checking a device's signed metadata statement
 * (attest.h; mgmtobj/README.md, "Device attestation").
 *
 * Design note
 *   The statement is a JWS compact serialization (RFC 7515):
 *   base64url(header) "." base64url(payload) "." base64url(signature), with
 *   header {"alg": "ES256", "x5c": [<base64 DER>, ...]} and payload
 *   {"nonce", "man", "mod", "serial", "hwv", "fwv", "swv", "iat"}. ES256 is
 *   ECDSA over P-256 with SHA-256, the signature the 64 bytes r || s (RFC
 *   7518 3.4); GnuTLS wants DER, so r and s are re-encoded.
 *
 *   Order of the checks, each failure with its reason code: the shape
 *   (malformed), the leaf certificate parses (bad-certificate), the
 *   signature with its key (bad-signature), the manufacturer's CA file
 *   <O of the leaf>.pem in the trust directory (unknown-manufacturer), the
 *   chain up to that CA, validity at `now`, CN = serial and O = man of the
 *   payload (bad-certificate), the nonce (nonce-mismatch), the payload's
 *   metadata against the node's (metadata-mismatch).
 *
 *   Everything is bounded: the statement (ATTEST_MAX_JWS), x5c entries
 *   (ATTEST_MAX_X5C), metadata values (ATTEST_MAX_FIELD). A manufacturer
 *   name is used as a file name only when it is a token ([A-Za-z0-9._-],
 *   not starting with '.'), so it cannot leave the trust directory.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "attest.h"

#define CA_FILE_MAX (256 * 1024) /* bytes of one manufacturer's PEM file */
#define CA_MAX 16                /* certificates in it */

const char *attest_trust_name(attest_trust t)
{
	switch (t) {
	case ATTEST_VERIFIED: return "verified";
	case ATTEST_ASSERTED: return "gateway-asserted";
	default: return "failed";
	}
}

/* ---------- base64 / base64url ---------- */

static int b64_val(char ch, bool url)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == (url ? '-' : '+'))
		return 62;
	if (ch == (url ? '_' : '/'))
		return 63;
	return -1;
}

/* Decode n characters of base64 (url: base64url without padding; else the
   standard alphabet with optional '=' padding) into a new buffer. Returns
   NULL for a bad character or length. */
static unsigned char *b64_decode(const char *s, size_t n, bool url, size_t *outlen)
{
	if (!url)
		while (n > 0 && s[n - 1] == '=')
			n--;
	if (n % 4 == 1)
		return NULL;
	unsigned char *out = malloc(n / 4 * 3 + 3);
	if (!out)
		return NULL;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i], url);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*outlen = o;
	return out;
}

int attest_b64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t need = (n * 4 + 2) / 3 + 1, o = 0;
	if (outlen < need)
		return -1;
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
		if (i + 2 < n)
			out[o++] = al[v & 63];
	}
	out[o] = '\0';
	return 0;
}

/* ---------- helpers ---------- */

static void say(char *text, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *text, size_t len, const char *fmt, ...)
{
	if (!text || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, len, fmt, ap);
	va_end(ap);
}

static bool is_token(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* A JSON object from a base64url segment, or NULL. */
static json_t *segment_json(const char *s, size_t n)
{
	size_t len = 0;
	unsigned char *raw = b64_decode(s, n, true, &len);
	if (!raw)
		return NULL;
	json_t *j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* One subject DN attribute (CN, O) of crt into buf; false when absent. */
static bool dn_get(gnutls_x509_crt_t crt, const char *oid, char *buf, size_t len)
{
	size_t n = len;
	if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, buf, &n) < 0)
		return false;
	buf[len - 1] = '\0';
	return true;
}

static bool time_ok(gnutls_x509_crt_t crt, time_t now)
{
	time_t nb = gnutls_x509_crt_get_activation_time(crt), na = gnutls_x509_crt_get_expiration_time(crt);
	return nb != (time_t)-1 && na != (time_t)-1 && nb <= now && now <= na;
}

/* Read the manufacturer's CA file. Returns 0, 1 when there is none
   (unknown manufacturer), -1 when it does not parse. */
static int ca_load(const char *dir, const char *man, gnutls_x509_crt_t **cas, unsigned *ncas)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s.pem", dir, man);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 1;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 1;
	char *buf = malloc(CA_FILE_MAX);
	size_t len = buf ? fread(buf, 1, CA_FILE_MAX, f) : 0;
	fclose(f);
	if (!buf || len == 0 || len == CA_FILE_MAX) {
		free(buf);
		return -1;
	}
	gnutls_datum_t d = { (unsigned char *)buf, (unsigned)len };
	int rc = gnutls_x509_crt_list_import2(cas, ncas, &d, GNUTLS_X509_FMT_PEM, 0);
	free(buf);
	if (rc < 0)
		return -1;
	if (*ncas > CA_MAX) {
		for (unsigned i = 0; i < *ncas; i++)
			gnutls_x509_crt_deinit((*cas)[i]);
		gnutls_free(*cas);
		*cas = NULL;
		*ncas = 0;
		return -1;
	}
	return 0;
}

/* ES256 signature (r || s, 64 bytes) of data with the key of crt: 0 good. */
static int sig_check(gnutls_x509_crt_t crt, const unsigned char *sig, size_t siglen, const char *data, size_t len)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t der = { NULL, 0 };
	int rc = -1;
	if (siglen != 64 || gnutls_pubkey_init(&pub) < 0)
		goto out;
	if (gnutls_pubkey_import_x509(pub, crt, 0) < 0)
		goto out;
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	if (gnutls_pubkey_get_pk_algorithm(pub, NULL) != GNUTLS_PK_ECDSA ||
	    gnutls_pubkey_export_ecc_raw(pub, &curve, NULL, NULL) < 0 || curve != GNUTLS_ECC_CURVE_SECP256R1)
		goto out;
	gnutls_datum_t r = { (unsigned char *)sig, 32 }, s = { (unsigned char *)sig + 32, 32 };
	if (gnutls_encode_rs_value(&der, &r, &s) < 0)
		goto out;
	gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
	rc = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &d, &der) >= 0 ? 0 : -1;
out:
	gnutls_free(der.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* A payload member: a string of at most ATTEST_MAX_FIELD bytes, or NULL. */
static const char *pl_str(const json_t *pl, const char *k)
{
	const char *v = json_string_value(json_object_get(pl, k));
	return v && strlen(v) <= ATTEST_MAX_FIELD ? v : NULL;
}

/* ---------- the verifier ---------- */

attest_trust attest_verify(const json_t *answer, const char *nonce, const attest_meta *want,
                           const char *trust_dir, time_t now, const char **reason, char *text, size_t textlen)
{
	attest_trust out_t = ATTEST_FAILED;
	json_t *hdr = NULL, *pl = NULL;
	unsigned char *sig = NULL;
	gnutls_x509_crt_t chain[ATTEST_MAX_X5C] = { NULL };
	unsigned nchain = 0;
	gnutls_x509_crt_t *cas = NULL;
	unsigned ncas = 0;
	*reason = "malformed";
	say(text, textlen, "no statement");

	json_t *ats = json_object_get(answer, "hd:ats");
	if (!json_is_object(answer) || !ats) {
		say(text, textlen, "the answer holds no hd:ats");
		goto out;
	}
	if (json_is_null(ats)) {
		*reason = NULL;
		say(text, textlen, "the device has no key: the gateway asserts its metadata");
		out_t = ATTEST_ASSERTED;
		goto out;
	}
	const char *jws = json_string_value(ats);
	size_t jlen = jws ? strlen(jws) : 0;
	if (!jws || jlen > ATTEST_MAX_JWS) {
		say(text, textlen, "hd:ats is not a string of at most %d bytes", ATTEST_MAX_JWS);
		goto out;
	}
	const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1 || !d2 || strchr(d2 + 1, '.')) {
		say(text, textlen, "not a JWS compact serialization (three parts)");
		goto out;
	}
	hdr = segment_json(jws, (size_t)(d1 - jws));
	pl = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
	size_t siglen = 0;
	sig = b64_decode(d2 + 1, strlen(d2 + 1), true, &siglen);
	if (!hdr || !pl || !sig) {
		say(text, textlen, "a JWS part is not base64url %s", !sig ? "" : "JSON");
		goto out;
	}
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	json_t *x5c = json_object_get(hdr, "x5c");
	if (!alg || strcmp(alg, "ES256") != 0 || json_object_get(hdr, "crit")) {
		say(text, textlen, "alg must be ES256 (no crit)");
		goto out;
	}
	if (!json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > ATTEST_MAX_X5C) {
		say(text, textlen, "x5c must hold 1 to %d certificates", ATTEST_MAX_X5C);
		goto out;
	}
	const char *p_nonce = pl_str(pl, "nonce"), *p_man = pl_str(pl, "man"), *p_mod = pl_str(pl, "mod"),
	           *p_serial = pl_str(pl, "serial"), *p_hwv = pl_str(pl, "hwv"), *p_fwv = pl_str(pl, "fwv"),
	           *p_swv = pl_str(pl, "swv");
	if (!p_nonce || !p_man || !p_mod || !p_serial || !p_hwv || !p_fwv || !p_swv ||
	    !json_is_integer(json_object_get(pl, "iat"))) {
		say(text, textlen, "the payload lacks nonce, man, mod, serial, hwv, fwv, swv or iat");
		goto out;
	}

	/* certificates */
	*reason = "bad-certificate";
	for (size_t i = 0; i < json_array_size(x5c); i++) {
		const char *b = json_string_value(json_array_get(x5c, i));
		size_t dl = 0;
		unsigned char *der = b && strlen(b) <= ATTEST_MAX_JWS ? b64_decode(b, strlen(b), false, &dl) : NULL;
		gnutls_datum_t d = { der, (unsigned)dl };
		int ok = der && gnutls_x509_crt_init(&chain[nchain]) >= 0;
		if (ok) {
			nchain++;
			ok = gnutls_x509_crt_import(chain[nchain - 1], &d, GNUTLS_X509_FMT_DER) >= 0;
		}
		free(der);
		if (!ok) {
			say(text, textlen, "x5c[%zu] is not a base64 DER certificate", i);
			goto out;
		}
	}

	*reason = "bad-signature";
	if (sig_check(chain[0], sig, siglen, jws, (size_t)(d2 - jws)) != 0) {
		say(text, textlen, "the signature does not verify with the key of the x5c certificate (ES256, P-256)");
		goto out;
	}

	char cn[ATTEST_MAX_FIELD + 1] = "", org[ATTEST_MAX_FIELD + 1] = "";
	*reason = "unknown-manufacturer";
	if (!dn_get(chain[0], GNUTLS_OID_X520_ORGANIZATION_NAME, org, sizeof(org)) || !is_token(org)) {
		say(text, textlen, "the certificate names no manufacturer (O) usable as a CA file name");
		goto out;
	}
	int cr = trust_dir && *trust_dir ? ca_load(trust_dir, org, &cas, &ncas) : 1;
	if (cr != 0) {
		say(text, textlen, cr > 0 ? "no CA for manufacturer %s in the trust directory"
		                          : "the CA file of manufacturer %s does not parse", org);
		goto out;
	}

	*reason = "bad-certificate";
	unsigned status = 0;
	if (gnutls_x509_crt_list_verify(chain, nchain, cas, ncas, NULL, 0, GNUTLS_VERIFY_DISABLE_TIME_CHECKS,
	                                &status) < 0 || status != 0) {
		say(text, textlen, "the certificate chain does not lead to the CA of %s (status 0x%x)", org, status);
		goto out;
	}
	for (unsigned i = 0; i < nchain; i++)
		if (!time_ok(chain[i], now)) {
			say(text, textlen, "x5c[%u] is not valid now (expired or not yet valid)", i);
			goto out;
		}
	if (!dn_get(chain[0], GNUTLS_OID_X520_COMMON_NAME, cn, sizeof(cn)) || strcmp(cn, p_serial) != 0 ||
	    strcmp(org, p_man) != 0) {
		say(text, textlen, "the certificate (CN %s, O %s) is not the one of %s serial %s", cn, org, p_man,
		    p_serial);
		goto out;
	}

	*reason = "nonce-mismatch";
	if (!nonce || strcmp(p_nonce, nonce) != 0) {
		say(text, textlen, "the statement is not over the nonce just sent (a replayed answer?)");
		goto out;
	}

	*reason = "metadata-mismatch";
	static const char *const names[] = { "man", "mod", "serial", "hwv", "fwv", "swv" };
	const char *got[] = { p_man, p_mod, p_serial, p_hwv, p_fwv, p_swv };
	const char *exp[] = { want ? want->man : NULL, want ? want->mod : NULL, want ? want->serial : NULL,
	                      want ? want->hwv : NULL, want ? want->fwv : NULL, want ? want->swv : NULL };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!exp[i] || strcmp(exp[i], got[i]) != 0) {
			say(text, textlen, "%s: the device signed \"%.64s\", the node says \"%.64s\"", names[i], got[i],
			    exp[i] ? exp[i] : "(absent)");
			goto out;
		}
	*reason = NULL;
	say(text, textlen, "statement of %s %s serial %s verified", p_man, p_mod, p_serial);
	out_t = ATTEST_VERIFIED;
out:
	for (unsigned i = 0; i < nchain; i++)
		gnutls_x509_crt_deinit(chain[i]);
	for (unsigned i = 0; i < ncas; i++)
		gnutls_x509_crt_deinit(cas[i]);
	gnutls_free(cas);
	free(sig);
	json_decref(hdr);
	json_decref(pl);
	return out_t;
}
