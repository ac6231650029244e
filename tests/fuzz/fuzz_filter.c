/*
 * fuzz_filter.c - filter criteria: JSON -> filter_parse() and, when it
 * parses, filter_match() / filter_match_atr() against fixed attribute sets
 * of a few resource types. Short inputs are also fed to
 * m2m_time_normalize(), the timestamp parser behind cra/crb/ms/us/exa/exb.
 *
 * Input: the fc object as JSON, e.g. {"ty":[3,4],"lbl":["room/1"],"fo":2}.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "bindings/codec_json.h"
#include "cse/filter.h"

typedef struct fz_res {
	int ty;
	const char *attrs;
	json_t *a;
} fz_res;

static fz_res res_set[] = {
	{ 3, "{\"rn\":\"cnt1\",\"ri\":\"cnt123\",\"pi\":\"Cfzae\",\"ty\":3,\"ct\":\"20240101T120000,000000\","
	     "\"lt\":\"20240102T000000,500000\",\"et\":\"20290101T000000,000000\",\"st\":4,"
	     "\"lbl\":[\"room/1\",\"fuzz\",\"*\"],\"cr\":\"Cfzae\",\"mni\":5,\"cni\":2,\"cbs\":7,"
	     "\"disr\":false,\"acpi\":[\"cse-in/fzae/fzacp\"]}", NULL },
	{ 4, "{\"rn\":\"cin_1\",\"ri\":\"cin9\",\"ty\":4,\"ct\":\"20240101T120000,000001\","
	     "\"lt\":\"20240101T120000,000001\",\"et\":\"20250101T000000,000000\",\"st\":0,\"cs\":4,"
	     "\"cnf\":\"text/plain:0\",\"con\":\"21.5\",\"lbl\":[\"t\"]}", NULL },
	{ 2, "{\"rn\":\"fzae\",\"ty\":2,\"api\":\"Nfuzz\",\"aei\":\"Cfzae\",\"rr\":true,"
	     "\"srv\":[\"3\",\"4\"],\"poa\":[],\"ct\":\"19991231T235959,999999\","
	     "\"esi\":{\"a\":{\"b\":[1,2.5,null,true]}},\"n\":-3,\"f\":1.0e300}", NULL },
	{ 23, "{\"ty\":23,\"nu\":[\"Cfzae\"],\"enc\":{\"net\":[1,3]},\"nct\":1,\"exc\":10}", NULL },
	{ 9, "{}", NULL },
};

#define NRES (sizeof res_set / sizeof res_set[0])

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < NRES; i++) {
		json_error_t e;
		res_set[i].a = json_loads(res_set[i].attrs, 0, &e);
		if (!res_set[i].a)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *fc = NULL;
	m2m_filter f;

	if (size < 64) {
		char out[M2M_TIME_LEN];
		char *s = fz_memdup0(data, size);
		if (m2m_time_normalize(s, out) == 0 &&
		    strlen(out) != sizeof "YYYYMMDDThhmmss,ffffff" - 1)
			fz_fail("m2m_time_normalize(\"%s\") gave \"%s\"", s, out);
		free(s);
	}
	if (codec_json_decode((const char *)data, size, &fc, err, sizeof err) != 0)
		return 0;
	err[0] = '\0';
	int rc = filter_parse(fc, &f, err, sizeof err);
	if (rc == 0) {
		(void)filter_has_conditions(&f);
		for (size_t i = 0; i < NRES; i++) {
			(void)filter_match(&f, res_set[i].ty, res_set[i].a);
			(void)filter_match_atr(&f, res_set[i].a);
		}
	} else if (rc != -1 && rc != -2) {
		fz_fail("filter_parse() returned %d", rc);
	} else if (!err[0]) {
		fz_fail("filter_parse() returned %d without a reason", rc);
	}
	filter_clear(&f);
	filter_clear(&f); /* documented as safe twice */
	json_decref(fc);
	return 0;
}
