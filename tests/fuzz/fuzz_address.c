/*
 * fuzz_address.c - the target address (`to`) of a request: every
 * addressing form (CSE-relative, SP-relative, absolute; structured,
 * unstructured; la/ol, #attr) through cse_handle() on the fixture CSE.
 *
 * Input: the address text (up to the first NUL, as a binding would pass
 * it). It is used as the `to` of a Retrieve by the admin, a Retrieve by an
 * originator the fixture ACP grants only some rights, and an Update by the
 * admin with a fixed harmless body. No Delete: it would remove the fixture.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"

static json_t *upd_body;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_error_t e;
	(void)argc;
	(void)argv;
	(void)fz_cse();
	upd_body = json_loads("{\"m2m:cnt\":{\"lbl\":[\"fz\"]}}", 0, &e);
	if (!upd_body)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *to = fz_memdup0(data, size);
	cse *c = fz_cse();

	fz_call(c, M2M_OP_RETRIEVE, to, FZ_ADMIN, -1, NULL, -1, "4");
	fz_call(c, M2M_OP_RETRIEVE, to, FZ_OTHER_ORIG, -1, NULL, 4, "3");
	fz_call(c, M2M_OP_UPDATE, to, FZ_ADMIN, -1, upd_body, -1, "4");
	free(to);
	return 0;
}
