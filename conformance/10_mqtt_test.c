/*
 * 10_mqtt_test.c - the MQTT binding (TS-0010, JSON and XML), black box.
 * Digest sections 2.1-2.3, 12, 13, 16.
 *
 * A private mosquitto (harness) and the daemon started with --mqtt-host /
 * --mqtt-port; the test is an AE speaking MQTT through ae/lib/m2m_mqtt. It
 * subscribes to every response topic once and matches responses by topic
 * and rqi; payloads on .../xml topics are decoded as m2m:rsp / m2m:rqp
 * documents. Skipped (with a message) when mosquitto is not installed or
 * the CSE is foreign (HEARTH_URL).
 */
#include "conformance/lib/harness.h"
#include "ae/lib/m2m_mqtt.h"
#include "bindings/codec_xml.h"

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
	char port[16];
	/* shared by the tests, in order */
	char aei[256], cnt[512], cin[512], con[64];
} T;

#define MQTT_ONLY()                                                                 \
	do {                                                                        \
		if (T.skip) {                                                       \
			print_message("[  SKIP    ] %s\n", T.why);                 \
			skip();                                                     \
		}                                                                   \
	} while (0)

static const char *next_rqi(void)
{
	return hfmt("mq-%ld-%u", (long)getpid(), ++T.rq);
}

static bool is_xml_topic(const char *topic)
{
	size_t tl = strlen(topic);
	return tl >= 4 && strcmp(topic + tl - 4, "/xml") == 0;
}

/* XML on .../xml topics (a response, else a request), JSON elsewhere. */
static json_t *decode(const char *topic, const char *payload, size_t len)
{
	json_t *j = NULL;
	if (!is_xml_topic(topic))
		return json_loadb(payload, len, 0, NULL);
	if (codec_xml_decode_prim(payload, len, "m2m:rsp", &j, NULL, 0) != 0)
		codec_xml_decode_prim(payload, len, "m2m:rqp", &j, NULL, 0);
	return j;
}

static int client_connect(void)
{
	m2m_mqtt_free(&T.cl);
	T.cl = m2m_mqtt_new("127.0.0.1", harness_broker_port(), NULL, TMO);
	if (T.cl)
		m2m_mqtt_set_decoder(T.cl, decode);
	if (!T.cl || m2m_mqtt_subscribe(T.cl, "/oneM2M/resp/#") != 0 ||
	    m2m_mqtt_subscribe(T.cl, "/oneM2M/reg_resp/#") != 0) {
		print_error("mqtt test: test client cannot connect/subscribe\n");
		return -1;
	}
	return 0;
}

/* Publish a request primitive (stolen) on /oneM2M/<kind>/<orig>/<cse>/json and
 * wait for the response on the matching topic. */
static json_t *mq_send_q(const char *kind, const char *orig, json_t *req, long timeout_ms,
                         bool quiet)
{
	const char *rk = strcmp(kind, "reg_req") == 0 ? "reg_resp" : "resp";
	char topic[512], resp[512];
	snprintf(topic, sizeof topic, "/oneM2M/%s/%s/%s/json", kind, orig, harness_cse_id());
	snprintf(resp, sizeof resp, "/oneM2M/%s/%s/%s/json", rk, orig, harness_cse_id());
	json_t *r = m2m_mqtt_request(T.cl, topic, resp, req, timeout_ms);
	if (!r && !quiet)
		print_error("mqtt test: no response on %s (rqi %s)\n", resp,
		            json_string_value(json_object_get(req, "rqi")));
	json_decref(req);
	return r;
}

static json_t *mq_send(const char *kind, const char *orig, json_t *req, long timeout_ms)
{
	return mq_send_q(kind, orig, req, timeout_ms, false);
}

static json_t *prim(int op, const char *to, const char *fr, const char *rqi)
{
	json_t *p = json_pack("{s:i,s:s,s:s,s:s}", "op", op, "to", to, "rqi", rqi, "rvi", "4");
	if (fr)
		json_object_set_new(p, "fr", json_string(fr));
	return p;
}

/* rsc as expected and rqi echoed; prints the response otherwise. */
static void expect(json_t *rsp, int rsc, const char *rqi)
{
	if (!rsp)
		fail_msg("no MQTT response (rqi %s)", rqi ? rqi : "-");
	EXPECT_INT(rsp, "rsc", rsc);
	if (rqi)
		EXPECT_STR(rsp, "rqi", rqi);
	EXPECT_STR(rsp, "rvi", "4");
}

static json_t *pc_res(json_t *rsp, const char *root)
{
	return json_object_get(json_object_get(rsp, "pc"), root);
}

/* The daemon answers over MQTT (after start or a broker restart). */
static bool cse_answers_mqtt(long within_ms)
{
	int64_t end = harness_now_ms() + within_ms;
	while (harness_now_ms() < end) {
		const char *rqi = next_rqi();
		json_t *r = mq_send_q("req", harness_admin(), prim(2, CSE, harness_admin(), rqi), 500, true);
		bool ok = r && harness_jint(r, "rsc", 0) == 2000;
		json_decref(r);
		if (ok)
			return true;
		harness_sleep_ms(200);
	}
	return false;
}

static int group_setup(void **state)
{
	memset(&T, 0, sizeof T);
	if (getenv("HEARTH_URL") && getenv("HEARTH_URL")[0]) {
		T.skip = true;
		T.why = "MQTT tests need a local daemon (HEARTH_URL is set)";
		return 0;
	}
	if (!harness_mosquitto_path()) {
		T.skip = true;
		T.why = "mosquitto is not installed (apt-get install mosquitto); MQTT tests skipped";
		print_message("%s\n", T.why);
		return 0;
	}
	if (harness_broker_start() != 0)
		return -1;
	snprintf(T.port, sizeof T.port, "%d", harness_broker_port());
	const char *args[] = { "--mqtt-host", "127.0.0.1", "--mqtt-port", T.port, NULL };
	if (harness_cse_set_args(args) != 0 || harness_group_setup(state) != 0)
		return -1;
	if (client_connect() != 0)
		return -1;
	if (!cse_answers_mqtt(10000)) {
		print_error("mqtt test: the daemon does not answer over MQTT within 10 s\n");
		harness_log_tail(30);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	int rc = 0;
	m2m_mqtt_free(&T.cl);
	if (!T.skip)
		rc = harness_group_teardown(state);
	harness_broker_cleanup();
	return rc;
}

/* ---------------- registration ---------------- */

static json_t *ae_create(const char *fr, const char *rn, const char *poa)
{
	json_t *ae = json_pack("{s:s,s:s,s:b,s:[s]}", "rn", rn, "api", "Nmqtt", "rr", 0, "srv", "4");
	if (poa)
		json_object_set_new(ae, "poa", json_pack("[s]", poa));
	json_t *p = prim(1, CSE, fr, next_rqi());
	json_object_set_new(p, "ty", json_integer(2));
	json_object_set_new(p, "pc", json_pack("{s:o}", "m2m:ae", ae));
	return p;
}

static void test_register_without_id(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	MQTT_ONLY();
	/* fr "C": the CSE assigns the AE-ID; the answer comes on the topic
	 * built from the request topic's levels */
	const char *tmp = harness_name("Ctmp");
	harness_case("AE registration with fr \"C\" on /oneM2M/req/%s/...", tmp);
	json_t *req = ae_create("C", harness_name("mqae"), NULL);
	const char *rqi = hfmt("%s", json_string_value(json_object_get(req, "rqi")));
	json_t *r = mq_send("req", tmp, req, TMO);
	expect(r, 2001, rqi);
	const char *aei = harness_jstr(pc_res(r, "m2m:ae"), "aei");
	EXPECT_TRUE(aei && aei[0] == 'C' && strcmp(aei, "C") != 0, r);
	harness_track_ae(aei);
	json_decref(r);

	/* no fr at all, on the registration topic */
	tmp = harness_name("Ctmp");
	harness_case("AE registration without fr on /oneM2M/reg_req/%s/...", tmp);
	req = ae_create(NULL, harness_name("mqae"), NULL);
	rqi = hfmt("%s", json_string_value(json_object_get(req, "rqi")));
	r = mq_send("reg_req", tmp, req, TMO);
	expect(r, 2001, rqi);
	aei = harness_jstr(pc_res(r, "m2m:ae"), "aei");
	EXPECT_TRUE(aei && aei[0] == 'C', r);
	harness_track_ae(aei);
	json_decref(r);

	/* reg_req carries registrations only */
	harness_case("Retrieve on a reg_req topic -> 4005");
	rqi = next_rqi();
	r = mq_send("reg_req", tmp, prim(2, CSE, "Cx", rqi), TMO);
	expect(r, 4005, rqi);
	json_decref(r);
}

static void test_register_and_data(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	MQTT_ONLY();
	const char *stem = harness_name("Cmq");
	harness_case("AE registration with C-stem %s", stem);
	json_t *req = ae_create(stem, stem, NULL);
	const char *rqi = hfmt("%s", json_string_value(json_object_get(req, "rqi")));
	json_t *r = mq_send("req", stem, req, TMO);
	expect(r, 2001, rqi);
	EXPECT_STR(pc_res(r, "m2m:ae"), "aei", stem);
	EXPECT_STR(r, "to", stem);
	harness_track_ae(stem);
	snprintf(T.aei, sizeof T.aei, "%s", stem);
	json_decref(r);

	harness_case("create container");
	rqi = next_rqi();
	req = prim(1, hfmt("%s/%s", CSE, stem), stem, rqi);
	json_object_set_new(req, "ty", json_integer(3));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:i}}", "m2m:cnt", "rn", "data", "mni", 10));
	r = mq_send("req", stem, req, TMO);
	expect(r, 2001, rqi);
	snprintf(T.cnt, sizeof T.cnt, "%s/%s/data", CSE, stem);
	json_decref(r);

	harness_case("create contentInstance");
	rqi = next_rqi();
	snprintf(T.con, sizeof T.con, "v-%ld", (long)getpid());
	req = prim(1, T.cnt, stem, rqi);
	json_object_set_new(req, "ty", json_integer(4));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:s}}", "m2m:cin", "rn", "i1", "con", T.con));
	r = mq_send("req", stem, req, TMO);
	expect(r, 2001, rqi);
	snprintf(T.cin, sizeof T.cin, "%s/i1", T.cnt);
	json_decref(r);

	harness_case("retrieve latest");
	rqi = next_rqi();
	r = mq_send("req", stem, prim(2, hfmt("%s/la", T.cnt), stem, rqi), TMO);
	expect(r, 2000, rqi);
	EXPECT_STR(pc_res(r, "m2m:cin"), "con", T.con);
	json_decref(r);

	harness_case("discovery of contentInstances (fc fu=1 ty=4)");
	rqi = next_rqi();
	req = prim(2, hfmt("%s/%s", CSE, stem), stem, rqi);
	json_object_set_new(req, "fc", json_pack("{s:i,s:[i]}", "fu", 1, "ty", 4));
	json_object_set_new(req, "drt", json_integer(1));
	r = mq_send("req", stem, req, TMO);
	expect(r, 2000, rqi);
	json_t *uril = json_object_get(json_object_get(r, "pc"), "m2m:uril");
	EXPECT_TRUE(json_array_size(uril) == 1 && harness_list_has_str(uril, T.cin), r);
	json_decref(r);

	harness_case("update container labels");
	rqi = next_rqi();
	req = prim(3, T.cnt, stem, rqi);
	json_object_set_new(req, "pc", json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", "via/mqtt"));
	r = mq_send("req", stem, req, TMO);
	expect(r, 2004, rqi);
	json_decref(r);

	harness_case("the same resources over HTTP (one engine)");
	json_t *cnt = harness_get(T.cnt, stem, "m2m:cnt");
	EXPECT_TRUE(harness_list_has_str(json_object_get(cnt, "lbl"), "via/mqtt"), cnt);
	EXPECT_INT(cnt, "cni", 1);
	json_decref(cnt);
	json_t *cin = harness_get(T.cin, stem, "m2m:cin");
	EXPECT_STR(cin, "con", T.con);
	json_decref(cin);

	harness_case("create and delete a second instance");
	rqi = next_rqi();
	req = prim(1, T.cnt, stem, rqi);
	json_object_set_new(req, "ty", json_integer(4));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:s}}", "m2m:cin", "rn", "gone", "con", "x"));
	r = mq_send("req", stem, req, TMO);
	expect(r, 2001, rqi);
	json_decref(r);
	rqi = next_rqi();
	r = mq_send("req", stem, prim(4, hfmt("%s/gone", T.cnt), stem, rqi), TMO);
	expect(r, 2002, rqi);
	json_decref(r);
	m2m_result hr;
	harness_req(&hr, M2M_OP_RETRIEVE, hfmt("%s/gone", T.cnt), stem, -1, NULL, NULL);
	EXPECT_RSC(&hr, 4004);
	m2m_result_clear(&hr);
}

/* ---------------- errors ---------------- */

static void test_errors(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	MQTT_ONLY();
	const char *orig = T.aei[0] ? T.aei : harness_admin();

	harness_case("unknown resource type -> 4000, rqi echoed");
	const char *rqi = next_rqi();
	json_t *req = prim(1, CSE, orig, rqi);
	json_object_set_new(req, "ty", json_integer(9999));
	json_object_set_new(req, "pc", json_pack("{s:{}}", "m2m:xyz"));
	json_t *r = mq_send("req", orig, req, TMO);
	expect(r, 4000, rqi);
	EXPECT_TRUE(json_is_string(json_object_get(json_object_get(r, "pc"), "m2m:dbg")), r);
	json_decref(r);

	harness_case("missing target -> 4004");
	rqi = next_rqi();
	r = mq_send("req", orig, prim(2, hfmt("%s/no-such-%ld", CSE, (long)getpid()), orig, rqi), TMO);
	expect(r, 4004, rqi);
	json_decref(r);

	harness_case("malformed JSON payload -> 4000");
	char topic[512], resp[512];
	snprintf(topic, sizeof topic, "/oneM2M/req/%s/%s/json", orig, harness_cse_id());
	snprintf(resp, sizeof resp, "/oneM2M/resp/%s/%s/json", orig, harness_cse_id());
	m2m_mqtt_drain(T.cl);
	const char *bad = "{\"op\":2,\"to\":";
	assert_int_equal(m2m_mqtt_publish(T.cl, topic, bad, strlen(bad)), 0);
	r = m2m_mqtt_wait(T.cl, resp, NULL, TMO, NULL);
	if (!r)
		fail_msg("no response to a malformed payload on %s", resp);
	EXPECT_INT(r, "rsc", 4000);
	EXPECT_TRUE(!json_object_get(r, "rqi") || json_is_string(json_object_get(r, "rqi")), r);
	json_decref(r);

	harness_case("wrongly typed op with a readable rqi -> 4000 with that rqi");
	rqi = next_rqi();
	req = json_pack("{s:s,s:s,s:s,s:s}", "op", "retrieve", "to", CSE, "rqi", rqi, "rvi", "4");
	r = mq_send("req", orig, req, TMO);
	expect(r, 4000, rqi);
	json_decref(r);

	harness_case("a single m2m:rqp wrapper is tolerated");
	rqi = next_rqi();
	req = json_pack("{s:o}", "m2m:rqp", prim(2, CSE, orig, rqi));
	r = mq_send("req", orig, req, TMO);
	expect(r, 2000, rqi);
	json_decref(r);

	harness_case("rqet in the past -> 4008");
	rqi = next_rqi();
	req = prim(2, CSE, orig, rqi);
	json_object_set_new(req, "rqet", json_string(harness_ts(-60)));
	r = mq_send("req", orig, req, TMO);
	expect(r, 4008, rqi);
	json_decref(r);
}

/* ---------------- outgoing over MQTT ---------------- */

static void test_notify_over_mqtt(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	MQTT_ONLY();
	if (!T.cnt[0])
		skip();
	const char *stem = T.aei;

	/* 1. nu = mqtt://host:port/<topic>: the path is the whole topic */
	const char *ntopic = hfmt("hearth/test/%ld/notify", (long)getpid());
	char ntopic_c[128];
	snprintf(ntopic_c, sizeof ntopic_c, "%s", ntopic);
	assert_int_equal(m2m_mqtt_subscribe(T.cl, ntopic_c), 0);
	harness_case("subscription with an mqtt:// URL notification target");
	const char *rqi = next_rqi();
	json_t *req = prim(1, T.cnt, stem, rqi);
	json_object_set_new(req, "ty", json_integer(23));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "mqsub",
	                                         "nu", hfmt("mqtt://127.0.0.1:%s/%s", T.port, ntopic_c),
	                                         "enc", "net", 3));
	json_t *r = mq_send("req", stem, req, TMO);
	expect(r, 2001, rqi);
	json_decref(r);
	json_t *vrq = m2m_mqtt_wait(T.cl, ntopic_c, NULL, TMO, NULL);
	EXPECT_TRUE(vrq && harness_jint(vrq, "op", 0) == 5, vrq);
	json_decref(vrq);

	rqi = next_rqi();
	req = prim(1, T.cnt, stem, rqi);
	json_object_set_new(req, "ty", json_integer(4));
	json_object_set_new(req, "pc", json_pack("{s:{s:s}}", "m2m:cin", "con", "notify-me"));
	r = mq_send("req", stem, req, TMO);
	expect(r, 2001, rqi);
	json_decref(r);
	json_t *n = m2m_mqtt_wait(T.cl, ntopic_c, NULL, TMO, NULL);
	json_t *sgn = json_object_get(json_object_get(n, "pc"), "m2m:sgn");
	EXPECT_TRUE(n && harness_jint(n, "op", 0) == 5 && json_is_object(sgn), n);
	EXPECT_STR(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:cin"),
	           "con", "notify-me");
	json_decref(n);

	/* 2. nu = an AE-ID whose poa is mqtt://host:port: request/response
	 * topics /oneM2M/req|resp/<cse-id>/<AE>/json, answered by this test */
	const char *ae2 = harness_name("Cmqpoa");
	harness_case("AE %s with poa mqtt://127.0.0.1:%s as a notification target", ae2, T.port);
	req = ae_create(ae2, ae2, hfmt("mqtt://127.0.0.1:%s", T.port));
	rqi = hfmt("%s", json_string_value(json_object_get(req, "rqi")));
	r = mq_send("req", ae2, req, TMO);
	expect(r, 2001, rqi);
	harness_track_ae(ae2);
	json_decref(r);
	char rq_t[256], rs_t[256];
	snprintf(rq_t, sizeof rq_t, "/oneM2M/req/%s/%s/json", harness_cse_id(), ae2);
	snprintf(rs_t, sizeof rs_t, "/oneM2M/resp/%s/%s/json", harness_cse_id(), ae2);
	assert_int_equal(m2m_mqtt_subscribe(T.cl, rq_t), 0);

	/* the create waits for the verification, which this thread answers:
	 * publish it without waiting for its response */
	rqi = next_rqi();
	req = prim(1, T.cnt, stem, rqi);
	json_object_set_new(req, "ty", json_integer(23));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "aesub",
	                                         "nu", ae2, "enc", "net", 3));
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char topic[512], resp[512];
	snprintf(topic, sizeof topic, "/oneM2M/req/%s/%s/json", stem, harness_cse_id());
	snprintf(resp, sizeof resp, "/oneM2M/resp/%s/%s/json", stem, harness_cse_id());
	assert_int_equal(m2m_mqtt_publish(T.cl, topic, text, strlen(text)), 0);
	free(text);
	vrq = m2m_mqtt_wait(T.cl, rq_t, NULL, TMO, NULL);
	EXPECT_TRUE(vrq && harness_jint(vrq, "op", 0) == 5, vrq);
	EXPECT_STR(vrq, "to", ae2);
	json_t *ack = json_pack("{s:i,s:s,s:s}", "rsc", 2000, "rqi", harness_jstr(vrq, "rqi"), "rvi", "4");
	text = json_dumps(ack, JSON_COMPACT);
	assert_int_equal(m2m_mqtt_publish(T.cl, rs_t, text, strlen(text)), 0);
	free(text);
	json_decref(ack);
	json_decref(vrq);
	r = m2m_mqtt_wait(T.cl, resp, rqi, TMO, NULL);
	expect(r, 2001, rqi);
	json_decref(r);
}

/* ---------------- XML topics ---------------- */

/* Publish text on /oneM2M/<kind>/<orig>/<cse>/xml and wait for the
 * response with rqi (NULL: any) on the matching xml topic. */
static json_t *mqx_raw(const char *kind, const char *orig, const char *text, const char *rqi,
                       long timeout_ms)
{
	const char *rk = strcmp(kind, "reg_req") == 0 ? "reg_resp" : "resp";
	char topic[512], resp[512];
	snprintf(topic, sizeof topic, "/oneM2M/%s/%s/%s/xml", kind, orig, harness_cse_id());
	snprintf(resp, sizeof resp, "/oneM2M/%s/%s/%s/xml", rk, orig, harness_cse_id());
	if (m2m_mqtt_publish(T.cl, topic, text, strlen(text)) != 0)
		return NULL;
	return m2m_mqtt_wait(T.cl, resp, rqi, timeout_ms, NULL);
}

/* The primitive req (stolen) as an m2m:rqp document; its response. */
static json_t *mqx_send(const char *orig, json_t *req)
{
	char *x = codec_xml_encode_prim(req, "m2m:rqp");
	assert_non_null(x);
	json_t *r = mqx_raw("req", orig, x, harness_jstr(req, "rqi"), TMO);
	if (!r)
		print_error("mqtt test: no XML response (rqi %s) to %s\n", harness_jstr(req, "rqi"), x);
	free(x);
	json_decref(req);
	return r;
}

#define XNS "xmlns:m2m=\"http://www.onem2m.org/xml/protocols\""

static void test_xml_topics(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	MQTT_ONLY();
	const char *stem = harness_name("Cmqx");

	harness_case("AE registration as an m2m:rqp document on an xml topic");
	const char *rqi = next_rqi();
	char *doc = strdup(hfmt("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	                        "<m2m:rqp " XNS "><op>1</op><to>%s</to><fr>%s</fr><rqi>%s</rqi>"
	                        "<ty>2</ty><pc><m2m:ae rn=\"%s\"><api>Nmqx</api><rr>false</rr>"
	                        "<srv>3 4</srv></m2m:ae></pc><rvi>4</rvi></m2m:rqp>",
	                        CSE, stem, rqi, stem));
	json_t *r = mqx_raw("req", stem, doc, rqi, TMO);
	free(doc);
	expect(r, 2001, rqi);
	EXPECT_STR(pc_res(r, "m2m:ae"), "aei", stem);
	EXPECT_STR(r, "to", stem);
	EXPECT_TRUE(json_is_array(json_object_get(pc_res(r, "m2m:ae"), "srv")), r);
	harness_track_ae(stem);
	json_decref(r);

	harness_case("container, instance and discovery over XML");
	const char *cnt = hfmt("%s/%s/x", CSE, stem);
	char cntp[512];
	snprintf(cntp, sizeof cntp, "%s", cnt);
	rqi = next_rqi();
	json_t *req = prim(1, hfmt("%s/%s", CSE, stem), stem, rqi);
	json_object_set_new(req, "ty", json_integer(3));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:[s,s],s:i}}", "m2m:cnt", "rn", "x", "lbl",
	                                         "a", "b", "mni", 5));
	r = mqx_send(stem, req);
	expect(r, 2001, rqi);
	EXPECT_INT(pc_res(r, "m2m:cnt"), "mni", 5);
	json_decref(r);
	rqi = next_rqi();
	req = prim(1, cntp, stem, rqi);
	json_object_set_new(req, "ty", json_integer(4));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:s}}", "m2m:cin", "rn", "i", "con", "21.5"));
	r = mqx_send(stem, req);
	expect(r, 2001, rqi);
	json_decref(r);
	rqi = next_rqi();
	req = prim(2, hfmt("%s/%s", CSE, stem), stem, rqi);
	json_object_set_new(req, "fc", json_pack("{s:i,s:[i],s:[s],s:[{s:s,s:s}]}", "fu", 1, "ty", 3,
	                                         "lbl", "b", "atr", "nm", "rn", "val", "x"));
	json_object_set_new(req, "drt", json_integer(1));
	r = mqx_send(stem, req);
	expect(r, 2000, rqi);
	json_t *uril = json_object_get(json_object_get(r, "pc"), "m2m:uril");
	EXPECT_TRUE(json_array_size(uril) == 1 && harness_list_has_str(uril, cntp), r);
	json_decref(r);
	rqi = next_rqi();
	r = mqx_send(stem, prim(2, hfmt("%s/la", cntp), stem, rqi));
	expect(r, 2000, rqi);
	EXPECT_STR(pc_res(r, "m2m:cin"), "con", "21.5");
	json_decref(r);
	/* the same resources in JSON over HTTP */
	json_t *c = harness_get(cntp, stem, "m2m:cnt");
	EXPECT_INT(c, "cni", 1);
	EXPECT_TRUE(harness_list_has_str(json_object_get(c, "lbl"), "a"), c);
	json_decref(c);

	harness_case("errors answered as m2m:rsp on the xml topic");
	rqi = next_rqi();
	r = mqx_send(stem, prim(2, hfmt("%s/nothing", CSE), stem, rqi));
	expect(r, 4004, rqi);
	EXPECT_TRUE(json_is_string(json_object_get(json_object_get(r, "pc"), "m2m:dbg")), r);
	json_decref(r);
	static const struct {
		const char *doc, *why;
	} bad[] = {
		{ "<m2m:rqp " XNS "><op>2</op><to>", "malformed" },
		{ "<!DOCTYPE m2m:rqp [<!ENTITY x \"y\">]><m2m:rqp " XNS "><op>2</op><to>&x;</to></m2m:rqp>",
		  "DOCTYPE" },
		{ "{\"op\":2,\"to\":\"cse-in\",\"rqi\":\"j\"}", "malformed" },
		{ "<m2m:cnt " XNS "><mni>1</mni></m2m:cnt>", "m2m:rqp" },
		{ "<m2m:rqp xmlns:m2m=\"urn:other\"><op>2</op></m2m:rqp>", "namespace" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		harness_case("hostile or broken XML request %zu", i);
		m2m_mqtt_drain(T.cl);
		r = mqx_raw("req", stem, bad[i].doc, NULL, TMO);
		if (!r)
			fail_msg("no XML response to %s", bad[i].doc);
		EXPECT_INT(r, "rsc", 4000);
		const char *dbg = harness_jstr(json_object_get(r, "pc"), "m2m:dbg");
		EXPECT_TRUE(dbg && strstr(dbg, bad[i].why), r);
		json_decref(r);
	}
	harness_case("a readable rqi is echoed in an XML error");
	rqi = next_rqi();
	doc = strdup(hfmt("<m2m:rqp " XNS "><op>get</op><to>%s</to><rqi>%s</rqi><rvi>4</rvi></m2m:rqp>",
	                  CSE, rqi));
	r = mqx_raw("req", stem, doc, rqi, TMO);
	free(doc);
	expect(r, 4000, rqi);
	json_decref(r);

	harness_case("cbor topics are not served (no answer)");
	char topic[512];
	snprintf(topic, sizeof topic, "/oneM2M/req/%s/%s/cbor", stem, harness_cse_id());
	assert_int_equal(m2m_mqtt_subscribe(T.cl, "/oneM2M/resp/+/+/cbor"), 0);
	assert_int_equal(m2m_mqtt_publish(T.cl, topic, "\xa1", 1), 0);
	r = m2m_mqtt_wait(T.cl, hfmt("/oneM2M/resp/%s/%s/cbor", stem, harness_cse_id()), NULL, 1000, NULL);
	EXPECT_TRUE(r == NULL, r);
	json_decref(r);

	/* notifications: a topic ending in /xml gets XML */
	const char *ntopic = hfmt("hearth/test/%ld/xnotify/xml", (long)getpid());
	char nt[128];
	snprintf(nt, sizeof nt, "%s", ntopic);
	assert_int_equal(m2m_mqtt_subscribe(T.cl, nt), 0);
	harness_case("subscription whose mqtt:// target topic ends in /xml");
	rqi = next_rqi();
	req = prim(1, cntp, stem, rqi);
	json_object_set_new(req, "ty", json_integer(23));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "xs",
	                                         "nu", hfmt("mqtt://127.0.0.1:%s/%s", T.port, nt),
	                                         "enc", "net", 3));
	r = mqx_send(stem, req);
	expect(r, 2001, rqi);
	json_decref(r);
	json_t *vrq = m2m_mqtt_wait(T.cl, nt, NULL, TMO, NULL); /* decodes only as XML */
	EXPECT_TRUE(vrq && harness_jint(vrq, "op", 0) == 5, vrq);
	EXPECT_TRUE(json_is_true(json_object_get(json_object_get(json_object_get(vrq, "pc"), "m2m:sgn"),
	                                         "vrq")), vrq);
	json_decref(vrq);
	rqi = next_rqi();
	req = prim(1, cntp, stem, rqi);
	json_object_set_new(req, "ty", json_integer(4));
	json_object_set_new(req, "pc", json_pack("{s:{s:s}}", "m2m:cin", "con", "xml-note"));
	r = mqx_send(stem, req);
	expect(r, 2001, rqi);
	json_decref(r);
	json_t *n = m2m_mqtt_wait(T.cl, nt, NULL, TMO, NULL);
	json_t *sgn = json_object_get(json_object_get(n, "pc"), "m2m:sgn");
	EXPECT_TRUE(n && harness_jint(n, "op", 0) == 5 && json_is_object(sgn), n);
	EXPECT_STR(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:cin"),
	           "con", "xml-note");
	EXPECT_INT(json_object_get(sgn, "nev"), "net", 3);
	json_decref(n);

	/* an AE whose poa asks for XML: request/response on .../xml topics */
	const char *ae2 = harness_name("Cmqxpoa");
	harness_case("AE %s with poa mqtt://127.0.0.1:%s?ct=xml as a notification target", ae2, T.port);
	req = ae_create(ae2, ae2, hfmt("mqtt://127.0.0.1:%s?ct=xml", T.port));
	rqi = hfmt("%s", json_string_value(json_object_get(req, "rqi")));
	r = mqx_send(ae2, req);
	expect(r, 2001, rqi);
	harness_track_ae(ae2);
	json_decref(r);
	char rq_t[256], rs_t[256];
	snprintf(rq_t, sizeof rq_t, "/oneM2M/req/%s/%s/xml", harness_cse_id(), ae2);
	snprintf(rs_t, sizeof rs_t, "/oneM2M/resp/%s/%s/xml", harness_cse_id(), ae2);
	assert_int_equal(m2m_mqtt_subscribe(T.cl, rq_t), 0);
	rqi = next_rqi();
	req = prim(1, cntp, stem, rqi);
	json_object_set_new(req, "ty", json_integer(23));
	json_object_set_new(req, "pc", json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "xas",
	                                         "nu", ae2, "enc", "net", 3));
	char *x = codec_xml_encode_prim(req, "m2m:rqp");
	json_decref(req);
	assert_non_null(x);
	snprintf(topic, sizeof topic, "/oneM2M/req/%s/%s/xml", stem, harness_cse_id());
	assert_int_equal(m2m_mqtt_publish(T.cl, topic, x, strlen(x)), 0);
	free(x);
	vrq = m2m_mqtt_wait(T.cl, rq_t, NULL, TMO, NULL);
	EXPECT_TRUE(vrq && harness_jint(vrq, "op", 0) == 5, vrq);
	EXPECT_STR(vrq, "to", ae2);
	json_t *ack = json_pack("{s:i,s:s,s:s}", "rsc", 2000, "rqi", harness_jstr(vrq, "rqi"), "rvi", "4");
	x = codec_xml_encode_prim(ack, "m2m:rsp");
	assert_non_null(x);
	assert_int_equal(m2m_mqtt_publish(T.cl, rs_t, x, strlen(x)), 0);
	free(x);
	json_decref(ack);
	json_decref(vrq);
	r = m2m_mqtt_wait(T.cl, hfmt("/oneM2M/resp/%s/%s/xml", stem, harness_cse_id()), rqi, TMO, NULL);
	expect(r, 2001, rqi);
	json_decref(r);
}

/* ---------------- broker loss ---------------- */

static void test_broker_restart(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	MQTT_ONLY();
	if (!T.cin[0])
		skip();
	harness_case("broker stopped and started again on port %d", harness_broker_port());
	m2m_mqtt_free(&T.cl);
	assert_int_equal(harness_broker_stop(), 0);
	harness_sleep_ms(1000);
	/* HTTP keeps working while the broker is away */
	json_t *cin = harness_get(T.cin, T.aei, "m2m:cin");
	json_decref(cin);
	assert_int_equal(harness_broker_start(), 0);
	assert_int_equal(client_connect(), 0);
	int64_t t0 = harness_now_ms();
	if (!cse_answers_mqtt(20000)) {
		harness_log_tail(30);
		fail_msg("the daemon did not answer over MQTT within 20 s of the broker restart");
	}
	print_message("daemon answered again %lld ms after the broker restart\n",
	              (long long)(harness_now_ms() - t0));

	harness_case("what was acknowledged before is still there");
	const char *rqi = next_rqi();
	json_t *r = mq_send("req", T.aei, prim(2, T.cin, T.aei, rqi), TMO);
	expect(r, 2000, rqi);
	EXPECT_STR(pc_res(r, "m2m:cin"), "con", T.con);
	json_decref(r);
	assert_true(harness_cse_running());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_register_without_id),
		HTEST(test_register_and_data),
		HTEST(test_errors),
		HTEST(test_notify_over_mqtt),
		HTEST(test_xml_topics),
		HTEST(test_broker_restart),
	};
	return cmocka_run_group_tests_name("10_mqtt", tests, group_setup, group_teardown);
}
