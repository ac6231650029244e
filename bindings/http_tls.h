/*
 * http_tls.h - TLS pieces of the HTTP binding: PEM files, the client
 * certificate of a GnuTLS session, and the rule that binds a certificate
 * to the originators it may use (TS-0003 / digest section 14: inside a
 * security association, fr must match the AE-ID bound to the credential,
 * else 4106).
 *
 * Ownership: http_tls_read_file() returns a heap buffer the caller frees
 * (http_tls_free_secret() for keys: it wipes first). Nothing else here
 * allocates for the caller.
 */
#ifndef HEARTH_HTTP_TLS_H
#define HEARTH_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_TLS_MAX_PEM (1024u * 1024u) /* bytes of one PEM file */
#define HTTP_TLS_MAX_CN 256u             /* bytes of a subject CN, NUL included */

/* Read a whole PEM file, NUL-terminated. Returns NULL with a reason in err
 * (missing, unreadable, empty, larger than HTTP_TLS_MAX_PEM). */
char *http_tls_read_file(const char *path, char *err, size_t errlen);
/* Wipe and free a buffer from http_tls_read_file(). Accepts NULL. */
void http_tls_free_secret(char *buf);

/* Verify the peer certificate of session (a gnutls_session_t) against the
 * credentials' trust list and copy its subject CN into cn. Returns 0, or -1
 * with a one-line reason in why (no certificate, not issued by a trusted
 * CA, expired, no CN...). */
int http_tls_peer_cn(void *session, char *cn, size_t cnlen, char *why, size_t whylen);

/* Make session (a gnutls_session_t whose handshake has not run yet)
 * require a client certificate that verifies against the trust list, so
 * that any other client fails the handshake. NULL: nothing. */
void http_tls_require_client_cert(void *session);

/* May a client whose certificate has subject CN cn use originator fr?
 * rules: "CNpat=ORIGpat,..." ('*' wildcard in both); fr is allowed when
 * some rule's CN pattern matches cn and its originator pattern matches fr.
 * Empty or NULL rules: fr must equal cn exactly. Pure; for unit tests. */
bool http_tls_origin_allowed(const char *rules, const char *cn, const char *fr);

/* Check a rule list's syntax ("a=b" items). For the start-up check. */
bool http_tls_rules_valid(const char *rules);

#endif
