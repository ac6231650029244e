/*
 * fuzz_xml.c - codec_xml_decode(), codec_xml_encode() of the result, and
 * the decoded content as a Create or Update through cse_handle() on the
 * fixture CSE (as fuzz_resource_json does for JSON).
 *
 * Input: one selector byte, then the XML document.
 *   bits 0-2  resource type: 0 ACP, 1 AE, 2 container, 3 contentInstance,
 *             4 group, 5 remoteCSE, 6 subscription, 7 mgmtObj (firmware
 *             under the fixture node; the root decides the specialization)
 *   bit 3     0 Create under a fitting fixture parent, 1 Update of the
 *             fixture resource of that type
 *   bit 4     originator: 0 the fixture's owner, 1 the admin
 *   bits 5-6  rcn: default, 0, 1, 9
 * Readable seeds start with a printable selector, e.g. '"' (0x22:
 * container, create, owner, rcn 1).
 *
 * Contracts checked (fz_fail aborts so that libFuzzer keeps the input):
 *   - a refused document leaves *out NULL and gives a reason;
 *   - decoded content always encodes, and decoding that XML again gives
 *     the same JSON (decode . encode . decode == decode);
 *   - every response content (engine output) encodes to XML (in
 *     fz_encode_response).
 * Content with a string naming "http"/"mqtt" is not executed (see
 * fuzz_common.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "bindings/codec_json.h"
#include "bindings/codec_xml.h"
#include "cse/rsc.h"

typedef struct fz_type {
	int ty;
	const char *parent; /* create target */
	const char *target; /* update target */
	const char *owner;  /* originator owning parent and target */
} fz_type;

static const fz_type types[8] = {
	{ 1, FZ_AE, FZ_ACP, FZ_AE_ORIG },
	{ 2, "cse-in", FZ_AE, FZ_AE_ORIG },
	{ 3, FZ_AE, FZ_CNT, FZ_AE_ORIG },
	{ 4, FZ_CNT, FZ_CIN, FZ_AE_ORIG },
	{ 9, FZ_AE, FZ_GRP, FZ_AE_ORIG },
	{ 16, "cse-in", FZ_CSR, FZ_CSR_ORIG },
	{ 23, FZ_CNT, FZ_SUB, FZ_AE_ORIG },
	{ 13, FZ_NOD, FZ_FWR, FZ_AE_ORIG },
};

static const int rcns[4] = { -1, 0, 1, 9 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	(void)fz_cse();
	return 0;
}

static void check_stable(const json_t *pc)
{
	char *x = codec_xml_encode(pc), err[256];
	json_t *again = NULL;

	if (!x)
		fz_fail("decoded content does not encode");
	if (codec_xml_decode(x, strlen(x), &again, err, sizeof err) != 0)
		fz_fail("own encoding does not decode (%s): %.2000s", err, x);
	if (!json_equal(pc, again)) {
		char *a = codec_json_encode(pc), *b = codec_json_encode(again);
		fz_fail("decode(encode(c)) != c:\n  c:     %.1000s\n  again: %.1000s\n  xml:   %.1000s",
		        a ? a : "?", b ? b : "?", x);
	}
	json_decref(again);
	free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *pc = (json_t *)data; /* must become NULL on failure */
	cse *c;

	if (size < 1)
		return 0;
	const uint8_t sel = data[0];
	const fz_type *t = &types[sel & 7];
	const int update = (sel >> 3) & 1, admin = (sel >> 4) & 1, rcn = rcns[(sel >> 5) & 3];

	err[0] = '\0';
	if (codec_xml_decode((const char *)data + 1, size - 1, &pc, err, sizeof err) != 0) {
		if (pc || !err[0])
			fz_fail("codec_xml_decode() failed without NULL and a reason");
		return 0;
	}
	check_stable(pc);
	if (fz_json_names_network(pc)) {
		json_decref(pc);
		return 0;
	}
	c = fz_cse();
	if (update) {
		fz_call(c, M2M_OP_UPDATE, t->target, admin ? FZ_ADMIN : t->owner, -1, pc, rcn, "4");
	} else if (t->ty == 2) {
		const char *fr = admin ? "" : "Cfznew";
		if (fz_call(c, M2M_OP_CREATE, t->parent, fr, 2, pc, rcn, "4") == RSC_CREATED && !admin)
			fz_call(c, M2M_OP_DELETE, "Cfznew", FZ_ADMIN, -1, NULL, -1, "4");
	} else if (t->ty == 16) {
		const char *fr = admin ? "/id-fznew" : "/id-fznew2";
		if (fz_call(c, M2M_OP_CREATE, t->parent, fr, 16, pc, rcn, "4") == RSC_CREATED)
			fz_call(c, M2M_OP_DELETE, fr + 1, FZ_ADMIN, -1, NULL, -1, "4");
	} else {
		fz_call(c, M2M_OP_CREATE, t->parent, admin ? FZ_ADMIN : t->owner, t->ty, pc, rcn, "4");
	}
	json_decref(pc);
	return 0;
}
