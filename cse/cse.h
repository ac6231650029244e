/*
 * cse.h - the CSE core: one request pipeline for every binding.
 *
 * cse_open() opens the store, creates the CSEBase on first start and starts
 * the notifier and the expiration reaper threads. cse_handle() processes one
 * request primitive end to end (TS-0004 receiver order) and fills the
 * response; it is safe to call from any number of binding threads at once.
 * cse_close() stops the background threads, waits for in-flight requests
 * and closes the store.
 */
#ifndef HEARTH_CSE_H
#define HEARTH_CSE_H

#include "config.h"
#include "prim.h"

typedef struct cse cse;

int cse_open(cse **out, const cse_config *cfg);
void cse_close(cse **c);

/* rsp must be initialised (m2m_response_init); the caller clears it. */
void cse_handle(cse *c, const m2m_request *req, m2m_response *rsp);

const cse_config *cse_cfg(const cse *c);

#endif
