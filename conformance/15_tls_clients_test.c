/*
 * 15_tls_clients_test.c - TLS where the CSE is the client, black box:
 * MQTT to a broker over TLS, and outgoing HTTPS (notifications).
 * Digest sections 12.1, 14.
 *
 * Design note: a throwaway PKI (conformance/lib/pki.c) holds a CA, another
 * CA, broker certificates for 127.0.0.1 from each, one from the right CA
 * that names another host, and client certificates for the CSE from each
 * CA. The harness' private mosquitto gets a TLS listener beside its plain
 * one; the daemon talks to the TLS listener only (--mqtt-tls-ca), the test
 * client to the plain one, so that every answer the test receives proves
 * that the CSE's TLS connection is up. Between cases the broker and the
 * daemon are restarted with other certificates and flags. The outgoing
 * HTTPS case uses the harness' HTTPS notification receiver with a
 * certificate from the configured CA (--transport-tls-ca) and one from
 * another CA. Local mode, http+json pass only; skipped (with a message)
 * without mosquitto or openssl.
 */
#include "conformance/lib/harness.h"
#include "conformance/lib/pki.h"
#include "ae/lib/m2m_mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CSE harness_cse_rn()
#define TMO 5000L

static struct {
	bool skip;
	const char *why;
	m2m_mqtt *cl;
	unsigned rq;
	char tls_port[16];
	long log_mark; /* daemon log size at the last restart */
} T;

#define TLS_ONLY()                                                         \
	do {                                                               \
		HARNESS_HTTP_JSON_ONLY();                                  \
		if (T.skip) {                                              \
			print_message("[  SKIP    ] %s\n", T.why);        \
			skip();                                            \
		}                                                          \
	} while (0)

static int make_pki(void)
{
	if (pki_write("ip.ext", "subjectAltName=IP:127.0.0.1\n") != 0 ||
	    pki_write("name.ext", "subjectAltName=DNS:broker.invalid\n") != 0 ||
	    pki_make_key("ca", "Hearth test CA", true) != 0 ||
	    pki_make_key("other-ca", "Another CA", true) != 0 ||
	    pki_make_key("srv", "127.0.0.1", false) != 0 || pki_sign("srv", "ca", "ip.ext") != 0 ||
	    pki_make_key("srv-other", "127.0.0.1", false) != 0 ||
	    pki_sign("srv-other", "other-ca", "ip.ext") != 0 ||
	    pki_make_key("srv-name", "broker.invalid", false) != 0 ||
	    pki_sign("srv-name", "ca", "name.ext") != 0 ||
	    pki_make_key("cse", "C::id-in", false) != 0 || pki_sign("cse", "ca", NULL) != 0 ||
	    pki_make_key("cse-other", "C::id-in", false) != 0 ||
	    pki_sign("cse-other", "other-ca", NULL) != 0)
		return -1;
	return 0;
}

static const char *next_rqi(void)
{
	return hfmt("tq-%ld-%u", (long)getpid(), ++T.rq);
}

/* A request primitive (stolen) from orig; its response, or NULL. */
static json_t *mq_send(const char *orig, json_t *req, long timeout_ms)
{
	char topic[512], resp[512];
	snprintf(topic, sizeof topic, "/oneM2M/req/%s/%s/json", orig, harness_cse_id());
	snprintf(resp, sizeof resp, "/oneM2M/resp/%s/%s/json", orig, harness_cse_id());
	json_t *r = m2m_mqtt_request(T.cl, topic, resp, req, timeout_ms);
	json_decref(req);
	return r;
}

static json_t *prim(int op, const char *to, const char *fr)
{
	return json_pack("{s:i,s:s,s:s,s:s,s:s}", "op", op, "to", to, "fr", fr, "rqi", next_rqi(),
	                 "rvi", "4");
}

/* Does the daemon answer a retrieve of the CSEBase over MQTT? */
static bool cse_answers_mqtt(long within_ms)
{
	int64_t end = harness_now_ms() + within_ms;
	do {
		json_t *r = mq_send(harness_admin(), prim(2, CSE, harness_admin()), 400);
		bool ok = r && harness_jint(r, "rsc", 0) == 2000;
		json_decref(r);
		if (ok)
			return true;
		harness_sleep_ms(100);
	} while (harness_now_ms() < end);
	return false;
}

/* Restart the broker with TLS certificate stem (from the PKI), client
 * certificates from ca required when require; then the daemon with the
 * common flags plus client certificate stem cli (NULL: none). */
static void restart(const char *srv, bool require, const char *cli)
{
	static char ca[600], cert[600], key[600];
	snprintf(ca, sizeof ca, "%s", pki_path("ca.pem"));
	if (harness_cse_running())
		assert_int_equal(harness_cse_stop(), 0);
	assert_int_equal(harness_broker_stop(), 0);
	assert_int_equal(harness_broker_set_tls(pki_path(hfmt("%s.pem", srv)),
	                                        pki_path(hfmt("%s.key", srv)),
	                                        require ? ca : NULL, require), 0);
	assert_int_equal(harness_broker_start(), 0);
	const char *args[16] = { "--mqtt-host", "127.0.0.1", "--mqtt-port", T.tls_port,
	                         "--mqtt-tls-ca", ca, "--transport-tls-ca", ca, NULL };
	if (cli) {
		snprintf(cert, sizeof cert, "%s", pki_path(hfmt("%s.pem", cli)));
		snprintf(key, sizeof key, "%s", pki_path(hfmt("%s.key", cli)));
		args[8] = "--mqtt-tls-cert";
		args[9] = cert;
		args[10] = "--mqtt-tls-key";
		args[11] = key;
		args[12] = NULL;
	}
	assert_int_equal(harness_cse_set_args(args), 0);
	T.log_mark = harness_log_size();
	assert_int_equal(harness_cse_start(), 0);
	/* the test client's connection went down with the broker */
	m2m_mqtt_free(&T.cl);
	T.cl = m2m_mqtt_new("127.0.0.1", harness_broker_port(), NULL, TMO);
	assert_non_null(T.cl);
	assert_int_equal(m2m_mqtt_subscribe(T.cl, "/oneM2M/resp/#"), 0);
}

/* The daemon must not be reachable over MQTT, and its log since the last
 * restart must say why. */
static void expect_refused(const char *what, const char *why)
{
	if (cse_answers_mqtt(3000)) {
		harness_log_tail(20);
		fail_msg("%s: the CSE answered over MQTT; want the TLS connection refused", what);
	}
	if (!harness_log_contains(T.log_mark, why)) {
		harness_log_tail(20);
		fail_msg("%s: no daemon log line says \"%s\"", what, why);
	}
	print_message("%s: refused; the daemon log says \"%s\"\n", what, why);
}

static int group_setup(void **state)
{
	memset(&T, 0, sizeof T);
	if (!harness_is_http_json()) {
		T.skip = true;
		T.why = "runs in the http+json pass";
		return 0;
	}
	if (getenv("HEARTH_URL") && getenv("HEARTH_URL")[0]) {
		T.skip = true;
		T.why = "TLS client tests need a local daemon (HEARTH_URL is set)";
		return 0;
	}
	if (!harness_mosquitto_path() || !pki_openssl_present()) {
		T.skip = true;
		T.why = "mosquitto or openssl is not installed; TLS client tests skipped";
		print_message("%s\n", T.why);
		return 0;
	}
	if (pki_init() != 0 || make_pki() != 0)
		return -1;
	if (harness_broker_set_tls(pki_path("srv.pem"), pki_path("srv.key"), NULL, false) != 0 ||
	    harness_broker_start() != 0)
		return -1;
	snprintf(T.tls_port, sizeof T.tls_port, "%d", harness_broker_tls_port());
	static char ca[600];
	snprintf(ca, sizeof ca, "%s", pki_path("ca.pem"));
	const char *args[] = { "--mqtt-host", "127.0.0.1", "--mqtt-port", T.tls_port,
	                       "--mqtt-tls-ca", ca, "--transport-tls-ca", ca, NULL };
	if (harness_cse_set_args(args) != 0 || harness_group_setup(state) != 0)
		return -1;
	T.cl = m2m_mqtt_new("127.0.0.1", harness_broker_port(), NULL, TMO);
	if (!T.cl || m2m_mqtt_subscribe(T.cl, "/oneM2M/resp/#") != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	int rc = 0;
	m2m_mqtt_free(&T.cl);
	if (!T.skip) {
		/* back to the first configuration, so that the teardown's
		 * deletions reach a daemon that runs */
		if (!harness_cse_running())
			harness_cse_start();
		rc = harness_group_teardown(state);
	}
	harness_broker_cleanup();
	pki_cleanup();
	return rc;
}

/* ---------------- MQTT over TLS ---------------- */

static void test_mqtt_over_tls(void **state)
{
	(void)state;
	TLS_ONLY();
	harness_case("the CSE connects to the broker's TLS listener (port %s) and answers", T.tls_port);
	if (!cse_answers_mqtt(10000)) {
		harness_log_tail(20);
		fail_msg("no answer over MQTT within 10 s");
	}
	harness_case("AE registration and a container over MQTT through TLS");
	const char *stem = harness_name("Ctls");
	json_t *req = prim(1, CSE, stem);
	json_object_set_new(req, "ty", json_integer(2));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", stem, "api",
	                                         "Ntls", "rr", 0, "srv", "4"));
	json_t *r = mq_send(stem, req, TMO);
	EXPECT_TRUE(r && harness_jint(r, "rsc", 0) == 2001, r);
	harness_track_ae(stem);
	json_decref(r);
	req = prim(1, hfmt("%s/%s", CSE, stem), stem);
	json_object_set_new(req, "ty", json_integer(3));
	json_object_set_new(req, "pc", json_pack("{s:{s:s}}", "m2m:cnt", "rn", "c"));
	r = mq_send(stem, req, TMO);
	EXPECT_TRUE(r && harness_jint(r, "rsc", 0) == 2001, r);
	json_decref(r);
	/* the same container over HTTP: one engine */
	json_t *cnt = harness_get(hfmt("%s/%s/c", CSE, stem), stem, "m2m:cnt");
	json_decref(cnt);
}

static void test_broker_from_other_ca(void **state)
{
	(void)state;
	TLS_ONLY();
	harness_case("broker certificate from a CA the CSE does not trust");
	restart("srv-other", false, NULL);
	expect_refused("broker certificate from another CA", "certificate verify failed");

	harness_case("broker certificate from the right CA for another host name");
	restart("srv-name", false, NULL);
	expect_refused("broker certificate naming broker.invalid", "does not name 127.0.0.1");

	harness_case("the right certificate again: served");
	restart("srv", false, NULL);
	assert_true(cse_answers_mqtt(10000));
}

static void test_mutual_tls(void **state)
{
	(void)state;
	TLS_ONLY();
	harness_case("broker requires client certificates; the CSE presents none");
	restart("srv", true, NULL);
	expect_refused("no client certificate", "does it require a client certificate");

	harness_case("client certificate from another CA");
	restart("srv", true, "cse-other");
	expect_refused("client certificate from another CA", "does it accept our client certificate");

	harness_case("client certificate from the broker's CA: accepted");
	restart("srv", true, "cse");
	if (!cse_answers_mqtt(10000)) {
		harness_log_tail(20);
		fail_msg("the CSE with a good client certificate does not answer over MQTT");
	}
	json_t *r = mq_send(harness_admin(), prim(2, CSE, harness_admin()), TMO);
	EXPECT_TRUE(r && harness_jint(r, "rsc", 0) == 2000, r);
	json_decref(r);
}

/* ---------------- outgoing HTTPS ---------------- */

static json_t *sub_body(const char *rn, const char *nu)
{
	return json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", rn, "nu", nu, "enc", "net", 3);
}

static void test_https_notifications(void **state)
{
	(void)state;
	TLS_ONLY();
	m2m_result r;
	notif_receiver *good = notif_receiver_start_tls(pki_path("srv.pem"), pki_path("srv.key"));
	notif_receiver *bad = notif_receiver_start_tls(pki_path("srv-other.pem"),
	                                               pki_path("srv-other.key"));
	assert_non_null(good);
	assert_non_null(bad);
	const char *ae = harness_register("https");
	const char *cnt = hfmt("%s/%s/box", CSE, ae);
	char cntp[512];
	snprintf(cntp, sizeof cntp, "%s", cnt);
	harness_create_cnt(hfmt("%s/%s", CSE, ae), ae, "box", NULL);

	harness_case("subscription to an https receiver whose certificate is from the configured CA");
	harness_req(&r, M2M_OP_CREATE, cntp, ae, 23, sub_body("good", notif_receiver_url(good)), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	json_t *vrq = notif_wait(good, TMO);
	EXPECT_TRUE(vrq && json_is_true(json_object_get(vrq, "vrq")), vrq);
	json_decref(vrq);

	harness_case("subscription to an https receiver whose certificate is from another CA");
	harness_req(&r, M2M_OP_CREATE, cntp, ae, 23, sub_body("bad", notif_receiver_url(bad)), NULL);
	EXPECT_RSC(&r, 5204); /* the verification request cannot be delivered */
	m2m_result_clear(&r);
	assert_int_equal(notif_total(bad), 0);

	harness_case("a new instance is notified to the trusted receiver only");
	const char *cin = harness_create_cin(cntp, ae, NULL, "over-https");
	(void)cin;
	json_t *sgn = notif_wait_event(good, TMO);
	EXPECT_TRUE(sgn != NULL, NULL);
	EXPECT_STR(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:cin"),
	           "con", "over-https");
	json_decref(sgn);
	harness_sleep_ms(300);
	assert_int_equal(notif_total(bad), 0);
	notif_receiver_stop(&good);
	notif_receiver_stop(&bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_mqtt_over_tls),
		HTEST(test_https_notifications),
		HTEST(test_broker_from_other_ca),
		HTEST(test_mutual_tls),
	};
	return cmocka_run_group_tests_name("15_tls_clients", tests, group_setup, group_teardown);
}
