/*
 * consent.h - hearth-consent, the home user's consent tool: the documents
 * it reads and writes (README "Home consent (hearth-consent)").
 *
 * Design note
 *   consent_doc.c holds the pure part: the policy document (the content of
 *   each contentInstance of the container `consent`) and the consent
 *   requests the coordinator writes into `consent-requests`. Both are
 *   parsed from untrusted text with every string and count bounded; a
 *   document breaking the schema is an error naming the first problem,
 *   never a partial result. hearth_consent.c does the network side.
 *
 *   Policy: {"v":1,"critical":"auto"|"ask","auto_after_hours":N,
 *            "other":"auto"|"ask","decisions":{"<manifest hash>":
 *            "granted"|"refused"}}
 *   Request: {"v":1,"kind":"consent"|"inform","campaign","device",
 *            "manufacturer","model","from","to","manifest","criticality":
 *            "low"|"medium"|"high"|"critical","advisories":[ids],
 *            "asked":epoch,"auto_at":epoch|null}
 *
 * Ownership
 *   cs_policy holds one reference to its decisions object; cs_policy_clear()
 *   drops it (safe on a zeroed or half-filled policy). json_t * results are
 *   new references.
 *
 * Return values
 *   int functions give 0 on success and -1 with a one-line message in err
 *   unless stated otherwise.
 */
#ifndef HEARTH_CONSENT_H
#define HEARTH_CONSENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CS_STR_MAX 128u              /* one string of a request (device, model, ...) */
#define CS_HASH_MAX 128u             /* a manifest hash */
#define CS_DOC_MAX (256u * 1024u)    /* a policy document or a request, as text */
#define CS_DECISIONS_MAX 4096u       /* decisions kept in one policy */
#define CS_ADVISORIES_MAX 64u        /* advisory ids of one request */
#define CS_HOURS_MAX 8760u           /* auto_after_hours: at most a year */
#define CS_REQUESTS_MAX 1000u        /* the container's mni */
#define CS_ERR_MAX 512u

enum cs_mode { CS_AUTO = 0, CS_ASK = 1 };

struct cs_policy {
	enum cs_mode critical;
	unsigned auto_after_hours;
	enum cs_mode other;
	json_t *decisions;           /* object: hash -> "granted" | "refused" */
};

/* The defaults: critical auto after 24 hours, other ask, no decisions. */
int cs_policy_default(struct cs_policy *p);
/* Parse and check a policy document (text of at most CS_DOC_MAX bytes). */
int cs_policy_parse(const char *text, struct cs_policy *p, char *err, size_t errlen);
/* The document of p, compact with sorted keys; malloc'ed, or NULL. */
char *cs_policy_dump(const struct cs_policy *p);
void cs_policy_clear(struct cs_policy *p);

/* "auto" / "ask" -> mode; -1 for anything else. */
int cs_mode_parse(const char *s);
const char *cs_mode_name(enum cs_mode m);

/* A manifest hash: 1..CS_HASH_MAX bytes of [A-Za-z0-9._~+/=-]. */
bool cs_hash_ok(const char *s);

/* "granted", "refused" or "none". */
const char *cs_decision(const struct cs_policy *p, const char *hash);

/* Record a decision. Returns 0 when the policy changed, 1 when it already
 * held that decision, -1 (err: "refusal is final for that manifest") when
 * grant follows a refusal, or on a full policy / out of memory. */
int cs_decide(struct cs_policy *p, const char *hash, bool grant, char *err, size_t errlen);

/* Parse and check a consent request (text); a new object holding the
 * checked members only, or NULL with the reason in err. */
json_t *cs_request_parse(const char *text, char *err, size_t errlen);

#endif
