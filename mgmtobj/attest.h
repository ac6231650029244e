/*
 * attest.h - device metadata attestation (mgmtobj/README.md, "Device
 * attestation").
 *
 * The gateway CSE challenges each device (the first AE of a <node>'s hael)
 * with a fresh nonce; the device answers with a JWS (RFC 7515, compact
 * serialization, ES256) over its metadata and that nonce, carrying its
 * certificate chain in the x5c header. attest_verify() checks such an
 * answer against the manufacturer's CA and the node's resources; the
 * worker (attest.c) sends the challenges and records the result as labels
 * of the <node>.
 *
 * The verifier uses GnuTLS (already linked into hearth-cse for HTTPS), the
 * device signs with OpenSSL: two independent implementations of one
 * standard format.
 */
#ifndef HEARTH_ATTEST_H
#define HEARTH_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "../cse/core.h"

#define ATTEST_NONCE_BYTES 32
#define ATTEST_NONCE_MAX 64      /* base64url of the nonce, with room */
#define ATTEST_MAX_JWS 16384     /* bytes of a statement */
#define ATTEST_MAX_X5C 4         /* certificates in x5c */
#define ATTEST_MAX_FIELD 256     /* bytes of one metadata value */

/* Labels on the <node>; only the CSE itself writes labels with this prefix. */
#define ATTEST_LABEL_PREFIX "hearth:trust"
#define ATTEST_LABEL_TRUST "hearth:trust="
#define ATTEST_LABEL_REASON "hearth:trust-reason="
#define ATTEST_LABEL_AT "hearth:trust-at="

typedef enum attest_trust {
	ATTEST_VERIFIED = 0,  /* "verified": a good statement over the fresh nonce */
	ATTEST_ASSERTED,      /* "gateway-asserted": a keyless device; the gateway vouches */
	ATTEST_FAILED,        /* "failed", with a reason code */
} attest_trust;

/* What the node's resources say about the device (expected values). */
typedef struct attest_meta {
	const char *man, *mod, *serial, *hwv, *fwv, *swv; /* NULL: absent */
} attest_meta;

/* "verified", "gateway-asserted", "failed". */
const char *attest_trust_name(attest_trust t);

/*
 * Check a device's answer to a challenge. answer is the response content
 * ({"hd:ats": "<JWS>"} or {"hd:ats": null} for a keyless device; NULL or
 * another shape is malformed), nonce the base64url nonce just sent, want
 * the node's values, trust_dir the directory of manufacturer CAs
 * (<manufacturer>.pem), now the time certificates must be valid at.
 * Returns the trust; for ATTEST_FAILED *reason is one of bad-signature,
 * unknown-manufacturer, bad-certificate, nonce-mismatch,
 * metadata-mismatch, malformed (a static string), and text says what (for
 * the log). Never crashes on any input; bounded by ATTEST_MAX_*.
 */
attest_trust attest_verify(const json_t *answer, const char *nonce, const attest_meta *want,
                           const char *trust_dir, time_t now, const char **reason, char *text, size_t textlen);

/* base64url without padding of n bytes into out (NUL-terminated); -1 when
   out is too small. */
int attest_b64url(const unsigned char *in, size_t n, char *out, size_t outlen);

/* ---- the worker (attest.c), started and stopped by mgmt.c ---- */

typedef struct attest attest;

/* Start the worker when [attest] trust-dir is set (else *out = NULL and
   0). Returns 0 or -1. */
int attest_start(cse *c, attest **out);
/* Stop and free it; accepts NULL. */
void attest_stop(attest *a);

/* Hooks of <node> and <mgmtObj> (under the CSE lock, on the request path):
   4005 for a Create/Update that carries a label starting with
   "hearth:trust" unless the CSE itself writes it; an Update of lbl by
   anyone else keeps the stored trust labels. Returns 0 or an rsc. */
int attest_guard_labels(op_ctx *x);

/* Ask for an attestation of node_ri soon (after its registration settles):
   called from the node's hooks; does nothing while the CSE writes the
   result itself or when attestation is off. Under the CSE lock. */
void attest_touch(op_ctx *x, const char *node_ri);

/* Is this node labelled hearth:trust=failed? */
bool attest_node_failed(const json_t *node_attrs);

/* mgmt.c: the attestation worker of c, or NULL (under the CSE lock). */
attest *mgmt_attest(cse *c);

#endif
