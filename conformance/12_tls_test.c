/*
 * 12_tls_test.c - HTTPS and TLS client authentication of the HTTP binding,
 * black box. Digest section 14.
 *
 * Design note: a throwaway PKI is made at test time with the `openssl`
 * command in a mkdtemp() directory: a CA, a server certificate for
 * 127.0.0.1 (subjectAltName IP:127.0.0.1), a client certificate
 * CN=Cdevice1 from that CA, and a client certificate with the same CN from
 * another CA. The daemon first runs with HTTPS only (the harness client
 * verifies it with the CA), then is restarted with client certificates
 * required. Local mode only; skipped (with a message) when `openssl` is
 * missing or HEARTH_URL is set.
 */
#include "conformance/lib/harness.h"
#include "conformance/lib/pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSE harness_cse_rn()

static struct {
	bool skip;
	const char *why;
} T;

#define pki pki_path

#define TLS_ONLY()                                                         \
	do {                                                               \
		if (T.skip) {                                              \
			print_message("[  SKIP    ] %s\n", T.why);        \
			skip();                                            \
		}                                                          \
	} while (0)

static int make_pki(void)
{
	if (pki_write("srv.ext", "subjectAltName=IP:127.0.0.1\n") != 0 ||
	    pki_make_key("ca", "Hearth test CA", true) != 0 ||
	    pki_make_key("other-ca", "Another CA", true) != 0 ||
	    pki_make_key("srv", "127.0.0.1", false) != 0 || pki_sign("srv", "ca", "srv.ext") != 0 ||
	    pki_make_key("cli", "Cdevice1", false) != 0 || pki_sign("cli", "ca", NULL) != 0 ||
	    pki_make_key("cli2", "Cdevice2", false) != 0 || pki_sign("cli2", "ca", NULL) != 0 ||
	    pki_make_key("stranger", "Cdevice1", false) != 0 ||
	    pki_sign("stranger", "other-ca", NULL) != 0)
		return -1;
	return 0;
}

static int group_setup(void **state)
{
	memset(&T, 0, sizeof T);
	if (getenv("HEARTH_URL") && getenv("HEARTH_URL")[0]) {
		T.skip = true;
		T.why = "TLS tests need a local daemon (HEARTH_URL is set)";
		return 0;
	}
	if (!pki_openssl_present()) {
		T.skip = true;
		T.why = "openssl is not installed (apt-get install openssl); TLS tests skipped";
		print_message("%s\n", T.why);
		return 0;
	}
	if (pki_init() != 0 || make_pki() != 0)
		return -1;
	/* HTTPS only: the harness client verifies the server with the CA */
	const char *args[] = { "--http-tls-cert", pki("srv.pem"), "--http-tls-key", pki("srv.key"), NULL };
	if (harness_cse_set_args(args) != 0 || harness_set_tls(pki("ca.pem"), NULL, NULL) != 0)
		return -1;
	return harness_group_setup(state);
}

static int group_teardown(void **state)
{
	int rc = 0;
	if (!T.skip)
		rc = harness_group_teardown(state);
	pki_cleanup();
	return rc;
}

/* A client of its own for https:// (or http://) on the daemon's port. */
static m2m_client *client(const char *scheme, const char *ca, const char *cert, const char *key)
{
	m2m_client *c = m2m_client_new(hfmt("%s://127.0.0.1:%d", scheme, harness_port()));
	assert_non_null(c);
	if (ca)
		assert_int_equal(m2m_client_set_tls(c, pki(ca), cert ? pki(cert) : NULL,
		                                    key ? pki(key) : NULL), 0);
	return c;
}

/* No HTTP response at all: the connection or the handshake failed. */
static void expect_no_response(m2m_client *c, const char *what)
{
	m2m_result r;
	m2m_do(c, M2M_OP_RETRIEVE, CSE, harness_admin(), -1, NULL, NULL, &r);
	int status = r.http_status;
	if (status != 0) {
		harness_dump(&r);
		m2m_result_clear(&r);
		fail_msg("%s: got HTTP %d, want no response", what, status);
	}
	print_message("%s: refused (%s)\n", what, r.error);
	m2m_result_clear(&r);
}

static json_t *ae_body(const char *rn)
{
	return json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", rn, "api", "Ntls", "rr", 0,
	                 "srv", "4");
}

static void test_https_retrieve(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	TLS_ONLY();
	m2m_result r;
	harness_case("HTTPS retrieve of the CSEBase, server verified with the CA");
	assert_true(strncmp(harness_url(), "https://", 8) == 0);
	harness_req(&r, M2M_OP_RETRIEVE, CSE, harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	assert_non_null(harness_res(&r, "m2m:cb"));
	m2m_result_clear(&r);

	harness_case("a client trusting another CA does not accept the server");
	m2m_client *c = client("https", "other-ca.pem", NULL, NULL);
	expect_no_response(c, "server certificate checked against another CA");
	m2m_client_free(&c);
}

static void test_plain_http_refused(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	TLS_ONLY();
	harness_case("plain HTTP to the TLS port");
	m2m_client *c = client("http", NULL, NULL, NULL);
	expect_no_response(c, "plain HTTP on the HTTPS port");
	m2m_client_free(&c);
	assert_true(harness_cse_alive());
}

static void test_client_auth(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	TLS_ONLY();
	m2m_result r;
	const char *args[] = { "--http-tls-cert", pki("srv.pem"), "--http-tls-key", pki("srv.key"),
	                       "--http-tls-ca", pki("ca.pem"), "--http-client-auth", "required",
	                       NULL };
	harness_case("restart with client certificates required");
	assert_int_equal(harness_cse_stop(), 0);
	assert_int_equal(harness_cse_set_args(args), 0);
	assert_int_equal(harness_set_tls(pki("ca.pem"), pki("cli.pem"), pki("cli.key")), 0);
	assert_int_equal(harness_cse_start(), 0);

	harness_case("good certificate CN=Cdevice1 registers AE Cdevice1");
	const char *rn = harness_name("tlsae");
	harness_req(&r, M2M_OP_CREATE, CSE, "Cdevice1", 2, ae_body(rn), NULL);
	EXPECT_RSC(&r, 2001);
	harness_check_str(harness_res(&r, "m2m:ae"), "aei", "Cdevice1", __FILE__, __LINE__);
	m2m_result_clear(&r);
	harness_track_ae(rn);

	harness_case("the bound originator reads its AE");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", CSE, rn), "Cdevice1", -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);

	harness_case("spoofed originator with the Cdevice1 certificate -> 4106");
	harness_req(&r, M2M_OP_CREATE, CSE, "Cother", 2, ae_body(harness_name("tlsspoof")), NULL);
	EXPECT_RSC(&r, 4106);
	assert_non_null(strstr(harness_jstr(r.body, "m2m:dbg") ? harness_jstr(r.body, "m2m:dbg") : "",
	                       "Cdevice1"));
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, CSE, harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 4106);
	m2m_result_clear(&r);

	harness_case("AE registration with fr \"C\": the CSE assigns the certificate's CN as AE-ID");
	const char *rn2 = harness_name("tlsanon");
	assert_int_equal(harness_set_tls(pki("ca.pem"), pki("cli2.pem"), pki("cli2.key")), 0);
	harness_req(&r, M2M_OP_CREATE, CSE, "C", 2, ae_body(rn2), NULL);
	EXPECT_RSC(&r, 2001);
	harness_check_str(harness_res(&r, "m2m:ae"), "aei", "Cdevice2", __FILE__, __LINE__);
	m2m_result_clear(&r);
	harness_track_ae(rn2);
	harness_case("... and the AE uses it with that certificate");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", CSE, rn2), "Cdevice2", -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);
	assert_int_equal(harness_set_tls(pki("ca.pem"), pki("cli.pem"), pki("cli.key")), 0);

	harness_case("certificate from another CA");
	m2m_client *c = client("https", "ca.pem", "stranger.pem", "stranger.key");
	expect_no_response(c, "client certificate from another CA");
	m2m_client_free(&c);

	harness_case("no client certificate");
	c = client("https", "ca.pem", NULL, NULL);
	expect_no_response(c, "no client certificate");
	m2m_client_free(&c);

	harness_case("plain HTTP under client auth");
	c = client("http", NULL, NULL, NULL);
	expect_no_response(c, "plain HTTP");
	m2m_client_free(&c);

	harness_case("the daemon still serves the good client");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", CSE, rn), "Cdevice1", -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_https_retrieve),
		HTEST(test_plain_http_refused),
		HTEST(test_client_auth),
	};
	return cmocka_run_group_tests_name("12_tls", tests, group_setup, group_teardown);
}
