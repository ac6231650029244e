/*
 * hsign.h - signed image manifests, signed device assignments and image
 * encryption for Hearth updates, on libcjose (JOSE) and OpenSSL.
 *
 * Design note
 *   The security model follows Uptane/TUF/SUIT, fitted to oneM2M: the
 *   manufacturer signs what an image is (the manifest), the operator's
 *   coordinator signs which device gets it (the assignment), and the gateway
 *   installs only what both signed. Both documents are JWS compact
 *   serializations (RFC 7515), alg ES256 (ECDSA P-256 + SHA-256, RFC 7518
 *   3.4), with the protected header {"alg","kid","typ"} and nothing else.
 *   "kid" is the RFC 7638 JWK thumbprint of the signer's public key
 *   (base64url SHA-256, 43 characters). "typ" tells the two documents apart
 *   ("hearth-manifest+jws", "hearth-assignment+jws") so that one can never
 *   be replayed as the other.
 *
 *   Manifest payload (every member required, no other member allowed):
 *     {"v":1, "vendor":S, "model":S, "hw":[S,...], "version":TOKEN,
 *      "seq":N>=1, "image":{"name":NAME, "size":N>=1, "sha256":HEX64,
 *      "enc":null | {"alg":"ECDH-ES", "enc":"A256GCM", "for":KID,
 *                    "sha256":HEX64, "size":N>=1}},
 *      "criticality":"critical"|"high"|"medium"|"low",
 *      "advisories":[S,...], "iat":N, "exp":N}
 *   image.size/sha256 describe the plaintext image; enc.size/sha256 the
 *   encrypted file a gateway downloads, so it can be checked before it is
 *   decrypted.
 *   Assignment payload:
 *     {"v":1, "manifest":B64URL-SHA256-OF-MANIFEST-JWS, "device":NI,
 *      "gateway":CSE-ID, "campaign":S, "iat":N, "exp":N}
 *
 *   Image encryption is a JWE compact serialization (RFC 7516) for the
 *   gateway's P-256 public key: alg "ECDH-ES" (direct key agreement with an
 *   ephemeral key and the Concat KDF, RFC 7518 4.6), enc "A256GCM",
 *   protected header {"alg","enc","kid","typ":"hearth-image+jwe","epk"}.
 *   Encryption holds the image in memory (at most HS_CRYPT_MAX bytes).
 *
 *   Verification stops at the first failed check and names it with one of
 *   the HS_R_* reason codes below (stable strings, meant for logs and for
 *   the status a gateway reports). Everything read is bounded: documents by
 *   HS_JWS_MAX, strings by HS_STR_MAX, lists by HS_LIST_MAX, image sizes by
 *   HS_IMAGE_MAX; hs_image_check_fd() reads at most size+1 bytes.
 *
 * Ownership
 *   hs_key and hs_keyset objects are freed with hs_key_free(&k) /
 *   hs_keyset_free(&ks), which NULL the pointer and accept NULL. Private key
 *   material is wiped by OpenSSL and libcjose when freed. Strings returned
 *   as char * are malloc'd and freed by the caller with free(); json_t *
 *   results are new references released with json_decref(). Every const
 *   char **reason output points to a static string (an HS_R_* code).
 *
 * Return values
 *   Functions returning int give 0 on success and -1 on failure with
 *   *reason set (reason may be NULL when the caller does not care).
 *
 * Threads
 *   There is no global state: calls may run in several threads at once as
 *   long as they do not share an hs_keyset being modified.
 */
#ifndef HEARTH_HSIGN_H
#define HEARTH_HSIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* limits */
#define HS_JWS_MAX (16u * 1024u)                /* manifest/assignment text */
#define HS_STR_MAX 128u                         /* vendor, model, hw, ids... */
#define HS_LIST_MAX 32u                         /* hw[] and advisories[] */
#define HS_IMAGE_MAX (16ull * 1024 * 1024 * 1024) /* largest signed image */
#define HS_CRYPT_MAX (64u * 1024u * 1024u)      /* largest image encrypted in memory */
#define HS_SEQ_MAX 9007199254740991ll           /* 2^53 - 1 */
#define HS_KID_LEN 43u                          /* base64url SHA-256 */

/* reason codes */
#define HS_R_MANIFEST_MALFORMED "manifest-malformed"
#define HS_R_UNKNOWN_KEY "unknown-key"
#define HS_R_MANIFEST_SIGNATURE "manifest-signature"
#define HS_R_EXPIRED "expired"
#define HS_R_MODEL_MISMATCH "model-mismatch"
#define HS_R_HARDWARE_MISMATCH "hardware-mismatch"
#define HS_R_DOWNGRADE "downgrade"
#define HS_R_ASSIGNMENT_MALFORMED "assignment-malformed"
#define HS_R_ASSIGNMENT_SIGNATURE "assignment-signature"
#define HS_R_ASSIGNMENT_MISMATCH "assignment-mismatch"
#define HS_R_DIGEST_MISMATCH "digest-mismatch"
#define HS_R_SIZE_MISMATCH "size-mismatch"
#define HS_R_DECRYPT_FAILED "decrypt-failed"
#define HS_R_NOT_FOR_THIS_GATEWAY "not-for-this-gateway"
#define HS_R_NOT_ENCRYPTED "not-encrypted"   /* decrypt asked, manifest says plain */
#define HS_R_BAD_KEY "bad-key"               /* unreadable, not P-256, or no private part */
#define HS_R_IO "io-error"                   /* a file could not be read or written */
#define HS_R_INTERNAL "internal-error"       /* allocation or library failure */

typedef struct hs_key hs_key;
typedef struct hs_keyset hs_keyset;

/* Which file of a manifest's image hs_image_check_path() checks. */
typedef enum hs_image_form {
	HS_IMAGE_PLAIN = 0,  /* image.size / image.sha256 */
	HS_IMAGE_CIPHER = 1  /* image.enc.size / image.enc.sha256 */
} hs_image_form;

/* ---- keys ---------------------------------------------------------------- */

/* A fresh P-256 key pair. Reasons: HS_R_INTERNAL. */
int hs_key_generate(hs_key **out, const char **reason);

/* Load a PEM file: a private key (PKCS#8 or SEC1) or a public key
 * (SubjectPublicKeyInfo). Only P-256 keys are accepted; files above 64 KiB
 * and passphrase-protected keys are refused (bad-key). Reasons: HS_R_IO, HS_R_BAD_KEY, HS_R_INTERNAL. */
int hs_key_load(const char *path, hs_key **out, const char **reason);

/* Write the private key (PKCS#8 PEM, mode 0600, refusing to replace an
 * existing file) to priv_path and/or the public key to pub_path; either may
 * be NULL. Reasons: HS_R_BAD_KEY (no private part), HS_R_IO. */
int hs_key_save(const hs_key *k, const char *priv_path, const char *pub_path, const char **reason);

/* RFC 7638 thumbprint of the public key, 43 characters; owned by k. */
const char *hs_key_kid(const hs_key *k);
bool hs_key_has_private(const hs_key *k);
void hs_key_free(hs_key **k);

/* A set of pinned public keys, each optionally bound to one vendor. */
hs_keyset *hs_keyset_new(void);
/* Adds *k (ownership moves to the set; *k becomes NULL). A non-NULL vendor
 * makes the key valid only for manifests whose "vendor" equals it; NULL
 * accepts it for any vendor (assignments ignore the vendor). Reasons:
 * HS_R_INTERNAL, HS_R_BAD_KEY (NULL key or set full: 64 keys). */
int hs_keyset_add(hs_keyset *ks, const char *vendor, hs_key **k, const char **reason);
/* hs_key_load() + hs_keyset_add(). */
int hs_keyset_add_path(hs_keyset *ks, const char *vendor, const char *path, const char **reason);
size_t hs_keyset_count(const hs_keyset *ks);
void hs_keyset_free(hs_keyset **ks);

/* ---- manifests ----------------------------------------------------------- */

/* Check a manifest payload against the schema above (used by both the
 * signer and the verifier). Reasons: HS_R_MANIFEST_MALFORMED. */
int hs_manifest_check_schema(const json_t *payload, const char **reason);

/* Sign a payload (checked with hs_manifest_check_schema first) with a
 * private key. Returns the compact JWS, or NULL. Reasons:
 * HS_R_MANIFEST_MALFORMED, HS_R_BAD_KEY, HS_R_INTERNAL. */
char *hs_manifest_sign(const hs_key *k, const json_t *payload, const char **reason);

/* Verify a manifest: structure, header (exactly alg ES256, kid, typ), a
 * pinned key for its kid and for its vendor, the signature, the payload
 * schema, and exp > now. On success *payload (if non-NULL) receives the
 * payload. Reasons: HS_R_MANIFEST_MALFORMED, HS_R_UNKNOWN_KEY,
 * HS_R_MANIFEST_SIGNATURE (also: alg other than ES256, e.g. "none", or no
 * signature), HS_R_EXPIRED, HS_R_INTERNAL. */
int hs_manifest_verify(const char *jws, const hs_keyset *vendor_keys, time_t now, json_t **payload,
                       const char **reason);

/* Does a verified manifest fit this device? model and hw are skipped when
 * NULL, the sequence check when installed_seq < 0; the manifest's seq must
 * be strictly above installed_seq. Reasons: HS_R_MODEL_MISMATCH,
 * HS_R_HARDWARE_MISMATCH, HS_R_DOWNGRADE, HS_R_MANIFEST_MALFORMED. */
int hs_manifest_check_target(const json_t *payload, const char *model, const char *hw, long long installed_seq,
                             const char **reason);

/* base64url SHA-256 of a manifest's compact serialization (the bytes given,
 * which must not carry a trailing newline); out gets 44 bytes with NUL. */
int hs_manifest_hash(const char *manifest_jws, char out[HS_KID_LEN + 1]);

/* ---- assignments --------------------------------------------------------- */

int hs_assignment_check_schema(const json_t *payload, const char **reason);

/* Reasons: HS_R_ASSIGNMENT_MALFORMED, HS_R_BAD_KEY, HS_R_INTERNAL. */
char *hs_assignment_sign(const hs_key *k, const json_t *payload, const char **reason);

/* Verify an assignment against the operator keys, then that it names this
 * manifest (by hash), this device and this gateway (each skipped when NULL),
 * and exp > now. Reasons: HS_R_ASSIGNMENT_MALFORMED, HS_R_ASSIGNMENT_SIGNATURE
 * (also an unknown kid), HS_R_ASSIGNMENT_MISMATCH, HS_R_EXPIRED,
 * HS_R_INTERNAL. */
int hs_assignment_verify(const char *jws, const hs_keyset *operator_keys, const char *manifest_jws,
                         const char *device, const char *gateway, time_t now, json_t **payload,
                         const char **reason);

/* ---- images -------------------------------------------------------------- */

/* SHA-256 (lowercase hex) and size of a whole file, streamed; files above
 * HS_IMAGE_MAX are refused. Reasons: HS_R_IO, HS_R_SIZE_MISMATCH. */
int hs_file_digest(const char *path, char hex[65], uint64_t *size, const char **reason);

/* Stream fd from its current offset: at most size+1 bytes are read; exactly
 * size bytes with this SHA-256 (hex, either case) must be there. Reasons:
 * HS_R_SIZE_MISMATCH (shorter or longer), HS_R_DIGEST_MISMATCH, HS_R_IO. */
int hs_image_check_fd(int fd, uint64_t size, const char *sha256_hex, const char **reason);

/* hs_image_check_fd() on a file against a verified manifest's plaintext or
 * ciphertext description. Reasons: those of hs_image_check_fd(),
 * HS_R_NOT_ENCRYPTED (HS_IMAGE_CIPHER for a plain image), HS_R_IO. */
int hs_image_check_path(const char *path, const json_t *manifest, hs_image_form form, const char **reason);

/* Encrypt the file in (at most HS_CRYPT_MAX bytes) for a recipient public
 * key into out (replaced atomically). hex/size (each may be NULL) receive
 * the ciphertext file's SHA-256 and size, for the manifest's "enc".
 * Reasons: HS_R_IO, HS_R_SIZE_MISMATCH (input too large), HS_R_INTERNAL. */
int hs_image_encrypt(const char *in, const char *out, const hs_key *recipient, char hex[65], uint64_t *size,
                     const char **reason);

/* Decrypt in with the gateway's private key into out (replaced atomically,
 * mode 0600). With a verified manifest (may be NULL) the order is: enc.for
 * must be this key's kid, the encrypted file must match enc.size/sha256
 * (read stops at size+1), it is decrypted, and the plaintext must match
 * image.size/sha256 before out is written. Reasons:
 * HS_R_NOT_FOR_THIS_GATEWAY, HS_R_NOT_ENCRYPTED, HS_R_SIZE_MISMATCH,
 * HS_R_DIGEST_MISMATCH, HS_R_DECRYPT_FAILED, HS_R_BAD_KEY, HS_R_IO,
 * HS_R_INTERNAL. */
int hs_image_decrypt(const char *in, const char *out, const hs_key *own, const json_t *manifest,
                     const char **reason);

#endif
