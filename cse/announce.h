/*
 * announce.h - announced copies of resources on other CSEs (announce.c).
 */
#ifndef HEARTH_ANNOUNCE_H
#define HEARTH_ANNOUNCE_H

#include <stdbool.h>

#include "res.h"

typedef struct cse cse;
typedef struct announcer announcer;

int announce_start(cse *c);
void announce_stop(cse *c);
/* r was created/updated (deleted: it is being deleted); under the writers'
   lock. Nothing happens for a resource that is not announced. */
void announce_touch(cse *c, const res *r, bool deleted);
/* The open batch committed: hand its events to the worker. */
void announce_flush(cse *c);
/* Reconcile every announced resource; lost_csi (or NULL): the copies on
   that CSE are known to be gone (our registration there was lost). */
void announce_resync(cse *c, const char *lost_csi);

#endif
