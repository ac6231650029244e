/*
 * fuzz_resource_json.c - resource representations: codec_json_decode() and
 * then Create or Update through cse_handle() on the fixture CSE; on the
 * way, jdump() is checked against json_dumps() on the decoded document.
 *
 * Input: one selector byte, then the JSON text.
 *   bits 0-2  resource type: 0 ACP, 1 AE, 2 container, 3 contentInstance,
 *             4 group, 5 remoteCSE, 6 subscription, 7 mgmtObj (firmware
 *             under the fixture node; the root decides the specialization)
 *   bit 3     0 Create under a fitting fixture parent, 1 Update of the
 *             fixture resource of that type
 *   bit 4     originator: 0 the fixture's owner, 1 the admin (AE/CSR
 *             creates: a fresh registrant / CSE-assigned AE-ID instead)
 *   bits 5-6  rcn: default, 0, 1, 9
 *   bit 7     1: the JSON is the resource's attributes and is wrapped in
 *             its root ({"m2m:cnt": <json>}); 0: sent as it is
 * Readable seeds start with a printable selector, e.g. '"' (0x22: container,
 * create, owner, rcn 1) followed by {"m2m:cnt":{...}}.
 *
 * A document with a string containing "http" or "mqtt" is dropped before
 * the CSE sees it: a URL in nu or poa would make the CSE send (subscription
 * verification waits up to 3 s); oneM2M IDs resolve without I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "bindings/codec_json.h"
#include "cse/jdump.h"
#include "cse/rsc.h"

typedef struct fz_type {
	int ty;
	const char *root;
	const char *parent; /* create target */
	const char *target; /* update target */
	const char *owner;  /* originator owning parent and target */
} fz_type;

static const fz_type types[8] = {
	{ 1, "m2m:acp", FZ_AE, FZ_ACP, FZ_AE_ORIG },
	{ 2, "m2m:ae", "cse-in", FZ_AE, FZ_AE_ORIG },
	{ 3, "m2m:cnt", FZ_AE, FZ_CNT, FZ_AE_ORIG },
	{ 4, "m2m:cin", FZ_CNT, FZ_CIN, FZ_AE_ORIG },
	{ 9, "m2m:grp", FZ_AE, FZ_GRP, FZ_AE_ORIG },
	{ 16, "m2m:csr", "cse-in", FZ_CSR, FZ_CSR_ORIG },
	{ 23, "m2m:sub", FZ_CNT, FZ_SUB, FZ_AE_ORIG },
	{ 13, "m2m:fwr", FZ_NOD, FZ_FWR, FZ_AE_ORIG },
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *pc = NULL;
	cse *c;

	if (size < 1)
		return 0;
	const uint8_t sel = data[0];
	const fz_type *t = &types[sel & 7];
	const int update = (sel >> 3) & 1, admin = (sel >> 4) & 1, rcn = rcns[(sel >> 5) & 3];

	if (codec_json_decode((const char *)data + 1, size - 1, &pc, err, sizeof err) != 0) {
		if (pc || !err[0])
			fz_fail("codec_json_decode() failed without NULL and a reason");
		return 0;
	}
	/* jdump() writes what json_dumps() writes, byte for byte */
	char *want = json_dumps(pc, JSON_COMPACT | JSON_ENCODE_ANY), *got = jdump(pc, NULL);
	if (!want != !got || (want && strcmp(want, got) != 0))
		fz_fail("jdump() differs from json_dumps(): %s vs %s", got ? got : "(null)", want ? want : "(null)");
	free(want);
	free(got);
	if (fz_json_names_network(pc)) {
		json_decref(pc);
		return 0;
	}
	if (sel & 0x80) {
		json_t *w = json_object();
		json_object_set_new(w, t->root, pc);
		pc = w;
	}
	c = fz_cse();
	if (update) {
		fz_call(c, M2M_OP_UPDATE, t->target, admin ? FZ_ADMIN : t->owner, -1, pc, rcn, "4");
	} else if (t->ty == 2) {
		/* A registrant that is not yet registered; an AE-ID it gets is
		 * released again so that the next input can register too. */
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
