/*
 * link.h - registration to the registrar CSE and liveliness of the peers
 * (link.c).
 */
#ifndef HEARTH_LINK_H
#define HEARTH_LINK_H

#include <stdbool.h>

typedef struct cse cse;
typedef struct cse_link cse_link;

/* Start the link thread (registration when cfg.registrar_url is set,
   liveliness checks always). Call once the transport is initialised. */
int cse_link_start(cse_link **out, cse *c);
/* Stop and free; accepts NULL / *l NULL. Bounded by one request timeout. */
void cse_link_stop(cse_link **l);
/* False when the last check found the peer CSE csi ("/id-mn") silent;
   true when it answered or is not known. */
bool cse_link_peer_up(cse_link *l, const char *csi);
/* What a forwarded request just learnt about the peer csi. */
void cse_link_peer_mark(cse_link *l, const char *csi, bool up);

#endif
