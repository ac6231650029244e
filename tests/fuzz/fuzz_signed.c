/*
 * fuzz_signed.c - the parsers of signed documents: update manifests and
 * assignments (ae/lib/hsign.c: JWS compact, header, payload schema) and
 * device attestation statements (mgmtobj/attest_verify.c: JWS with an x5c
 * certificate chain, checked against a manufacturer CA directory).
 *
 * Input: one selector byte, then the text. 0: a manifest JWS verified with
 * a pinned key made at start; 1: an assignment JWS; 2: an attestation
 * answer {"hd:ats": <text as string>}; 3: the text as a JSON payload
 * checked against the manifest and assignment schemas. No file is read but
 * a CA directory that does not exist, and nothing touches the network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ae/lib/hsign.h"
#include "mgmtobj/attest.h"

#define FZ_MAX_TEXT (64u * 1024u)

static hs_keyset *keys;
/* no manufacturer CA anywhere: every chain check fails after parsing */
static const char ca_dir[] = "/nonexistent/hearth-fuzz-ca";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *reason = NULL;
	hs_key *k = NULL;
	keys = hs_keyset_new();
	if (!keys || hs_key_generate(&k, &reason) != 0 || hs_keyset_add(keys, NULL, &k, &reason) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FZ_MAX_TEXT)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	const char *reason = NULL;
	json_t *payload = NULL;
	time_t now = 1767225600; /* fixed, so runs repeat */
	switch (data[0] % 4) {
	case 0:
		hs_manifest_verify(text, keys, now, &payload, &reason);
		break;
	case 1:
		hs_assignment_verify(text, keys, "x.y.z", "urn:dev:a:b:1", "/id-mn", now, &payload, &reason);
		break;
	case 2: {
		json_t *answer = json_pack("{s:s}", "hd:ats", text);
		attest_meta want = { "Acme", "TH10", "1", "1.0", "1.0.0", "0.1" };
		char why[256];
		if (answer)
			attest_verify(answer, "bm9uY2U", &want, ca_dir, now, &reason, why, sizeof(why));
		json_decref(answer);
		break;
	}
	default: {
		json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		if (j) {
			hs_manifest_check_schema(j, &reason);
			hs_assignment_check_schema(j, &reason);
		}
		json_decref(j);
		break;
	}
	}
	json_decref(payload);
	free(text);
	return 0;
}
