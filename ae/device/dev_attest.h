/*
 * dev_attest.h - the device's side of metadata attestation
 * (mgmtobj/README.md, "Device attestation").
 *
 * The gateway sends a challenge in a Notify,
 *   {"m2m:sgn": {"nev": {"rep": {"hd:atq": {"nonce": "<base64url>"}}, "net": 1}, "sur": ...}}
 * and the device answers 2000 with {"hd:ats": "<JWS>"}: a JWS compact
 * serialization (RFC 7515) signed ES256 (ECDSA P-256, SHA-256, signature
 * r || s) with header {"alg": "ES256", "x5c": [<base64 DER>, ...]} and
 * payload {"nonce", "man", "mod", "serial", "hwv", "fwv", "swv", "iat"}.
 * A keyless device answers {"hd:ats": null}.
 *
 * Ownership: dev_attest_load() gives a key object freed with
 * dev_attest_free() (which accepts NULL and NULLs the pointer; the private
 * key is freed by OpenSSL, which clears it). dev_attest_sign() returns a
 * malloc'd string the caller frees.
 */
#ifndef HEARTH_DEV_ATTEST_H
#define HEARTH_DEV_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define DEV_ATTEST_NONCE_MIN 16   /* base64url characters */
#define DEV_ATTEST_NONCE_MAX 128

typedef struct dev_attest_key dev_attest_key;

/* Load the P-256 private key and the certificate chain (PEM, leaf first).
   With check_pair the key must be the certificate's (a test may sign with
   another key on purpose). Returns 0, or -1 with a one-line message. */
int dev_attest_load(dev_attest_key **out, const char *key_pem, const char *cert_pem, bool check_pair,
                    char *err, size_t errlen);
void dev_attest_free(dev_attest_key **k);

/* The metadata a statement carries. */
typedef struct dev_attest_meta {
	const char *man, *mod, *serial, *hwv, *fwv, *swv;
	long long iat; /* seconds since the epoch */
} dev_attest_meta;

/* The JWS over nonce and m; NULL on failure. */
char *dev_attest_sign(const dev_attest_key *k, const char *nonce, const dev_attest_meta *m);

/* Is body a challenge? 1 with the nonce copied into nonce (n bytes), 0 for
   another notification, -1 for a challenge whose nonce is not base64url of
   DEV_ATTEST_NONCE_MIN..MAX characters. */
int dev_attest_challenge(const json_t *body, char *nonce, size_t n);

#endif
