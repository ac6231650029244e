/*
 * transport.h - sending a request primitive to a URL and waiting for its
 * response: used by the notifier (Notify to nu/poa targets), subscription
 * verification and, later, forwarding to other CSEs.
 *
 * transport_send() picks the binding from the URL scheme: http:// and
 * https:// here, mqtt:// through the running MQTT binding's connection
 * (see transport_mqtt_send() in mqtt_binding.h for its topic rules). A "ct=json" query parameter in the URL
 * selects the serialization and is removed before sending; the URL is
 * otherwise the exact target (req->to is not put on the wire). On a
 * delivery failure (unsupported scheme or ct, connect error, timeout,
 * response body over HL_MAX_BODY) it returns -1 and sets rsp->rsc to
 * RSC_TARGET_NOT_REACHABLE with a message; a request that cannot be put on
 * the wire (Create without ty, CR/LF in a header parameter) gives -1 with
 * RSC_BAD_REQUEST. Otherwise 0 with the peer's response in rsp: rsc from
 * X-M2M-RSC (else from the HTTP status: 201 -> 2001, other 2xx -> 2000,
 * 4xx -> 4000, 5xx -> 5000), pc decoded when the body is a JSON object,
 * rqi/rvi/fr/location from the headers. rsp must be initialised; the
 * caller clears it in every case. timeout_ms <= 0 means
 * HL_NOTIFY_TIMEOUT_MS. Thread-safe once transport_global_init() has run
 * (call it while the process is single-threaded); every call is bounded by
 * timeout_ms.
 */
#ifndef HEARTH_TRANSPORT_H
#define HEARTH_TRANSPORT_H

#include "../cse/prim.h"

int transport_global_init(void);
void transport_global_cleanup(void);

/* The CA certificate(s) (PEM file) that verify HTTPS peers: the chain must
 * lead to one of them (and only them) and the certificate must name the
 * URL's host. NULL or "": libcurl's default store (the system's). Call
 * after transport_global_init(), before the first send. Returns 0, or -1
 * (logged) when the file cannot be read. */
int transport_set_tls_ca(const char *pem);

int transport_send(const char *url, const m2m_request *req, m2m_response *rsp, long timeout_ms);

/*
 * Download an http(s) URL (a plain GET, no redirects, HTTPS verified as
 * for transport_send) into the file fd, writing at most max bytes: a body
 * of more than max bytes stops the transfer. Returns 0 when the whole
 * body (status 200) was written, 1 when it was longer than max (the first
 * max bytes are in fd), -1 otherwise (unreachable, status other than 200,
 * a write failure) with a one-line reason in err.
 */
int transport_download(const char *url, int fd, unsigned long long max, long timeout_ms, char *err,
                       size_t errlen);

/*
 * Forward req to another CSE whose point of access is poa (hop_csi: that
 * CSE's SP-relative CSE-ID). Over HTTP the target and the request
 * parameters (rcn, drt, rt, filter criteria, atrl, rids) go into the URL as
 * TS-0009 puts them; over MQTT the primitive goes to that CSE's request
 * topic. Same contract as transport_send().
 */
int transport_forward(const char *poa, const char *hop_csi, const m2m_request *req,
                      m2m_response *rsp, long timeout_ms);

#endif
