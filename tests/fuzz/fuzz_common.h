/*
 * fuzz_common.h - shared set-up of the libFuzzer targets that drive the
 * whole pipeline (fuzz_http_request, fuzz_resource_json, fuzz_xml,
 * fuzz_address).
 *
 * One CSE on an in-memory SQLite store, opened at the first call of
 * fz_cse() with a fixed fixture tree (names below). Resources created by
 * fuzz inputs accumulate in the store, so fz_cse() closes and reopens the
 * CSE every FZ_RESET_RUNS calls: memory stays bounded and a fixture the
 * fuzzer deleted or altered comes back. Nothing here touches the network:
 * the CSE's own poa uses a scheme the transport refuses at once, the
 * fixture AEs have no poa, and fz_json_names_network() lets a target drop
 * inputs that would make the CSE send to a URL (subscription verification
 * waits up to HL_VERIFY_TIMEOUT_MS).
 *
 * Failure to build the fixture aborts: the fuzzer must not silently run
 * against an empty CSE after a change in the core.
 */
#ifndef HEARTH_FUZZ_COMMON_H
#define HEARTH_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "cse/cse.h"

#define FZ_RESET_RUNS 5000u

/* The fixture (all structured paths; CSE-ID "id-in", CSEBase "cse-in"). */
#define FZ_ADMIN   "CAdmin"
#define FZ_AE_ORIG "Cfzae"             /* originator and AE-ID of the main AE */
#define FZ_AE      "cse-in/fzae"
#define FZ_OTHER_ORIG "Cfzother"       /* a second AE, granted by FZ_ACP */
#define FZ_OTHER   "cse-in/fzother"
#define FZ_ACP     "cse-in/fzae/fzacp"
#define FZ_CNT     "cse-in/fzae/fzcnt" /* acpi FZ_ACP, mni 5, instances fzcin1..3 */
#define FZ_CIN     "cse-in/fzae/fzcnt/fzcin1"
#define FZ_CNT2    "cse-in/fzae/fzcnt2"/* default policy, one nested container */
#define FZ_GRP     "cse-in/fzae/fzgrp" /* members FZ_CNT, FZ_CNT2 */
#define FZ_SUB     "cse-in/fzae/fzcnt/fzsub" /* nu [FZ_AE_ORIG] */
#define FZ_CSR_ORIG "/id-fzmn"
#define FZ_CSR     "cse-in/id-fzmn"    /* remoteCSE, rn = its CSE-ID */
#define FZ_NOD     "cse-in/fznod"      /* node of FZ_AE_ORIG (hael), acpi FZ_ACP */
#define FZ_FWR     "cse-in/fznod/fzfwr"/* firmware mgmtObj, acpi FZ_ACP */

/* The CSE for this run (see above). Never NULL: aborts when it cannot open. */
cse *fz_cse(void);

/*
 * One request through cse_handle(). pc is borrowed (may be NULL); rcn -1
 * for the default; rvi NULL for a Release 1/2 request. Returns the response
 * status; the response content is encoded (as the binding would) and freed.
 */
int fz_call(cse *c, int op, const char *to, const char *fr, int ty, json_t *pc, int rcn,
            const char *rvi);

/* What the HTTP binding does with a response: encode pc (in JSON and in
 * XML), map the status. */
void fz_encode_response(const m2m_response *rsp);

/* True when any string value (not member name) anywhere in j contains
 * "http" or "mqtt" in any letter case: such an input may name a URL. */
bool fz_json_names_network(const json_t *j);

/* A broken contract (not a sanitizer report): print why and abort, so that
 * libFuzzer keeps the input. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* NUL-terminated heap copy of n bytes (embedded NULs kept); aborts on OOM. */
char *fz_memdup0(const uint8_t *d, size_t n);

#endif
