/*
 * http_tls.c - TLS pieces of the HTTP binding (see http_tls.h).
 *
 * Design note: libmicrohttpd owns the TLS sessions and the credentials (it
 * is given the PEM bytes read here). This file only reads what a finished
 * handshake left behind: the peer's certificate chain, checked again
 * against the trust list (so that a session whose handshake did not
 * enforce client authentication is still refused), and its subject CN,
 * which names the client. Cost: one chain verification and one X.509 parse
 * per connection (the caller caches the result per connection).
 */
#include "http_tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "../cse/util.h"

char *http_tls_read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(HTTP_TLS_MAX_PEM + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory reading '%s'", path);
		goto fail;
	}
	n = fread(buf, 1, HTTP_TLS_MAX_PEM + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read '%s'", path);
		goto fail;
	}
	if (n == 0 || n > HTTP_TLS_MAX_PEM) {
		snprintf(err, errlen, "'%s' is empty or larger than %u bytes", path, HTTP_TLS_MAX_PEM);
		goto fail;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
fail:
	if (buf)
		explicit_bzero(buf, n);
	free(buf);
	fclose(f);
	return NULL;
}

void http_tls_free_secret(char *buf)
{
	if (buf)
		explicit_bzero(buf, strlen(buf));
	free(buf);
}

int http_tls_peer_cn(void *session, char *cn, size_t cnlen, char *why, size_t whylen)
{
	gnutls_session_t s = session;
	const gnutls_datum_t *chain;
	unsigned int count = 0, status = 0;
	gnutls_x509_crt_t crt = NULL;
	size_t sz = cnlen;
	int rc = -1, e;

	cn[0] = '\0';
	if (!s) {
		snprintf(why, whylen, "no TLS session");
		return -1;
	}
	chain = gnutls_certificate_get_peers(s, &count);
	if (!chain || count == 0) {
		snprintf(why, whylen, "no client certificate");
		return -1;
	}
	e = gnutls_certificate_verify_peers2(s, &status);
	if (e < 0 || status != 0) {
		snprintf(why, whylen, "client certificate not valid for the configured CA%s%s",
		         e < 0 ? ": " : "", e < 0 ? gnutls_strerror(e) : "");
		return -1;
	}
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		snprintf(why, whylen, "cannot parse the client certificate");
		goto out;
	}
	e = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz);
	if (e < 0 || sz == 0 || strlen(cn) != sz) {
		cn[0] = '\0';
		snprintf(why, whylen, "client certificate has no usable subject CN");
		goto out;
	}
	rc = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* Does item [p, p+n) "cnpat=origpat" allow (cn, fr)? */
static bool rule_allows(const char *p, size_t n, const char *cn, const char *fr)
{
	char buf[512];
	char *eq;

	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	eq = strchr(buf, '=');
	if (!eq)
		return false;
	*eq = '\0';
	return util_glob(buf, cn) && util_glob(eq + 1, fr);
}

bool http_tls_origin_allowed(const char *rules, const char *cn, const char *fr)
{
	if (!cn || !fr || !*cn)
		return false;
	if (!rules || !*rules)
		return strcmp(cn, fr) == 0;
	for (const char *p = rules; *p;) {
		size_t n = strcspn(p, ",");
		if (rule_allows(p, n, cn, fr))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

bool http_tls_rules_valid(const char *rules)
{
	if (!rules)
		return true;
	for (const char *p = rules; *p;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		/* "a=b": both sides non-empty, one '=' */
		if (n == 0 || n >= 512 || !eq || eq == p || eq == p + n - 1 ||
		    memchr(eq + 1, '=', (size_t)(p + n - eq - 1)))
			return false;
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

void http_tls_require_client_cert(void *session)
{
	gnutls_session_t s = session;

	if (!s)
		return;
	/* No certificate, or one the trust list does not verify: the
	 * handshake fails (GnuTLS verifies the chain itself once told to). */
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert(s, NULL, 0);
}
