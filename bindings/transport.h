/*
 * transport.h - sending a request primitive to a URL and waiting for its
 * response: used by the notifier (Notify to nu/poa targets), subscription
 * verification and, later, forwarding to other CSEs.
 *
 * transport_send() picks the binding from the URL scheme (http:// now;
 * mqtt:// later). A "?ct=json" suffix in the URL selects the serialization
 * and is removed before sending. On a delivery failure (connect error,
 * timeout, unparseable response) it returns -1 and sets rsp->rsc to
 * RSC_TARGET_NOT_REACHABLE with a message; otherwise 0 with the peer's
 * response in rsp (rsc from X-M2M-RSC, pc decoded if present).
 * Thread-safe; every call is bounded by timeout_ms.
 */
#ifndef HEARTH_TRANSPORT_H
#define HEARTH_TRANSPORT_H

#include "../cse/prim.h"

int transport_global_init(void);
void transport_global_cleanup(void);

int transport_send(const char *url, const m2m_request *req, m2m_response *rsp, long timeout_ms);

#endif
