/*
 * 03_subscription_test.c - <subscription>: verification, event types
 * (net 1..4), notification content types, expiration counter, deletion
 * notifications, error cases. Uses the harness notification receiver.
 * Digest sections 7.7, 9, 10 (subscription create needs RETRIEVE).
 *
 * Subscribers register with poa = their receiver and rr = true; unless a
 * test is about verification, nu names the subscriber itself (a oneM2M ID
 * equal to the originator, which needs no verification) and the CSE
 * delivers to the AE's poa. notif_wait_event() skips verification requests
 * so that a CSE verifying more targets than the spec requires still passes.
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()
#define WAIT_MS 5000
#define QUIET_MS 1000

static const char *at(const char *ae, const char *rest)
{
	return rest ? hfmt("%s/%s/%s", CSE, ae, rest) : hfmt("%s/%s", CSE, ae);
}

static const char *reachable_ae(notif_receiver *rx, const char *prefix)
{
	const char *orig = harness_name(hfmt("C%s", prefix));
	return harness_create_ae(orig, orig, json_pack("{s:b,s:[s]}", "rr", 1, "poa", notif_receiver_url(rx)));
}

static int closed_port(void)
{
	/* a receiver that is started and stopped leaves a port nobody listens on */
	notif_receiver *t = notif_receiver_start();
	if (!t)
		return 9;
	const char *u = notif_receiver_url(t);
	const char *colon = strrchr(u, ':');
	int port = colon ? (int)strtol(colon + 1, NULL, 10) : 9;
	notif_receiver_stop(&t);
	return port;
}

/* Create a subscription; attrs is stolen and gets rn. Returns the response
 * (caller clears). */
static void sub_create(m2m_result *r, const char *parent, const char *fr, const char *rn, json_t *attrs)
{
	json_object_set_new(attrs, "rn", json_string(rn));
	harness_req(r, M2M_OP_CREATE, parent, fr, 23, json_pack("{s:o}", "m2m:sub", attrs), NULL);
}

static char *sub_create_ok(const char *parent, const char *fr, const char *rn, json_t *attrs)
{
	m2m_result r;
	sub_create(&r, parent, fr, rn, attrs);
	EXPECT_RSC(&r, 2001);
	json_t *s = harness_res(&r, "m2m:sub");
	EXPECT_INT(s, "ty", 23);
	const char *ri = harness_jstr(s, "ri");
	EXPECT_TRUE(ri != NULL, s);
	char *out = strdup(ri);
	m2m_result_clear(&r);
	return out;
}

static json_t *expect_event(notif_receiver *rx, int net)
{
	json_t *sgn = notif_wait_event(rx, WAIT_MS);
	if (!sgn) {
		print_error("no notification with net=%d within %d ms\n", net, WAIT_MS);
		harness_log_tail(20);
		fail();
	}
	json_t *nev = json_object_get(sgn, "nev");
	EXPECT_TRUE(json_is_object(nev), sgn);
	EXPECT_INT(nev, "net", net);
	return sgn;
}

static void expect_quiet(notif_receiver *rx)
{
	json_t *sgn = notif_wait_event(rx, QUIET_MS);
	EXPECT_TRUE(sgn == NULL, sgn);
}

static void test_verification(void **state)
{
	(void)state;
	notif_receiver *rxa = notif_receiver_start(), *rxb = notif_receiver_start();
	assert_non_null(rxa);
	assert_non_null(rxb);
	const char *a = reachable_ae(rxa, "subA");
	const char *b = reachable_ae(rxb, "subB");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	harness_case("A subscribes with nu = another AE: verification request to B");
	const char *sid = at(a, "box/s1");
	char sidb[512];
	snprintf(sidb, sizeof(sidb), "%s", sid);
	char *sri = sub_create_ok(at(a, "box"), a, "s1", json_pack("{s:[s],s:{s:[i]}}", "nu", b, "enc", "net", 3));
	json_t *v = notif_wait(rxb, WAIT_MS);
	EXPECT_TRUE(v != NULL, NULL);
	EXPECT_TRUE(json_is_true(json_object_get(v, "vrq")), v);
	EXPECT_TRUE(harness_id_matches(harness_jstr(v, "sur"), sri, sidb), v);
	EXPECT_STR(v, "cr", a);
	json_decref(v);
	harness_case("the subscription has cr = the originator, since nu is not the originator");
	json_t *s = harness_get(sidb, a, "m2m:sub");
	EXPECT_STR(s, "cr", a);
	EXPECT_TRUE(harness_list_has_str(json_object_get(s, "nu"), b), s);
	json_decref(s);
	harness_case("events go to B");
	harness_create_cin(at(a, "box"), a, NULL, "x");
	json_t *e = expect_event(rxb, 3);
	json_decref(e);
	free(sri);
	notif_receiver_stop(&rxa);
	notif_receiver_stop(&rxb);
}

static void test_verification_refused(void **state)
{
	(void)state;
	notif_receiver *rxa = notif_receiver_start(), *rxb = notif_receiver_start();
	assert_non_null(rxa);
	assert_non_null(rxb);
	const char *a = reachable_ae(rxa, "vrA");
	const char *b = reachable_ae(rxb, "vrB");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	notif_receiver_set_verify_reply(rxb, 403, 4101);
	m2m_result r;
	harness_case("verification answered 4101 by the target");
	sub_create(&r, at(a, "box"), a, "s1", json_pack("{s:[s]}", "nu", b));
	EXPECT_RSC(&r, 5204);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, at(a, "box/s1"), a, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);

	harness_case("verification target not reachable");
	const char *c = harness_create_ae(harness_name("Cvrdead"), NULL,
	                                  json_pack("{s:b,s:[s]}", "rr", 1, "poa", hfmt("http://127.0.0.1:%d/none", closed_port())));
	sub_create(&r, at(a, "box"), a, "s2", json_pack("{s:[s]}", "nu", c));
	EXPECT_RSC(&r, 5204);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, at(a, "box/s2"), a, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	notif_receiver_stop(&rxa);
	notif_receiver_stop(&rxb);
}

static void test_net3_create_child(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "n3");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s", json_pack("{s:[s],s:{s:[i]}}", "nu", a, "enc", "net", 3));
	char sid[512];
	snprintf(sid, sizeof(sid), "%s", at(a, "box/s"));
	harness_case("the subscription's own creation is not reported to it as net=3");
	expect_quiet(rx);
	harness_case("create a cin under the subscribed container");
	const char *cri = harness_create_cin(at(a, "box"), a, "c1", "21.5");
	/* look at the raw Notify request once */
	notif_msg *m = NULL;
	int64_t end = harness_now_ms() + WAIT_MS;
	while (harness_now_ms() < end) {
		m = notif_wait_msg(rx, WAIT_MS);
		if (!m || !json_is_true(json_object_get(json_object_get(m->body, "m2m:sgn"), "vrq")))
			break;
		notif_msg_free(&m);
	}
	EXPECT_TRUE(m != NULL, NULL);
	EXPECT_TRUE(strcmp(m->method, "POST") == 0, m->headers);
	const char *ct = harness_jstr(m->headers, "content-type");
	EXPECT_TRUE(ct && strstr(ct, "json") && !strstr(ct, "ty="), m->headers);
	const char *fr = harness_jstr(m->headers, "x-m2m-origin");
	EXPECT_TRUE(fr && (strcmp(fr, harness_csi()) == 0 ||
	                   strcmp(fr, hfmt("//%s%s", harness_sp_id(), harness_csi())) == 0), m->headers);
	EXPECT_TRUE(harness_jstr(m->headers, "x-m2m-ri") != NULL, m->headers);
	json_t *sgn = json_object_get(m->body, "m2m:sgn");
	json_t *nev = json_object_get(sgn, "nev");
	EXPECT_INT(nev, "net", 3);
	json_t *cin = json_object_get(json_object_get(nev, "rep"), "m2m:cin");
	EXPECT_TRUE(json_is_object(cin), m->body);
	EXPECT_STR(cin, "con", "21.5");
	EXPECT_STR(cin, "ri", cri);
	EXPECT_TRUE(harness_id_matches(harness_jstr(sgn, "sur"), sri, sid), sgn);
	notif_msg_free(&m);
	harness_case("update of the container itself is not a net=3 event");
	m2m_result r;
	harness_req(&r, M2M_OP_UPDATE, at(a, "box"), a, -1, json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", "q"), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	expect_quiet(rx);
	free(sri);
	notif_receiver_stop(&rx);
}

static void test_net1_update(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "n1");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	static const char *const variants[] = {"{\"nu\":[\"%s\"]}", "{\"nu\":[\"%s\"],\"enc\":{\"net\":[1]}}"};
	for (size_t i = 0; i < 2; i++) {
		const char *rn = harness_name("s");
		harness_case("net=1 subscription %s", i ? "explicit" : "by default (no enc)");
		char *sri = sub_create_ok(at(a, "box"), a, rn, json_loads(hfmt(variants[i], a), 0, NULL));
		notif_drain(rx);
		const char *label = harness_name("v");
		m2m_result r;
		harness_req(&r, M2M_OP_UPDATE, at(a, "box"), a, -1, json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", label), NULL);
		EXPECT_RSC(&r, 2004);
		m2m_result_clear(&r);
		json_t *sgn = expect_event(rx, 1);
		json_t *cnt = json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:cnt");
		EXPECT_TRUE(harness_list_has_str(json_object_get(cnt, "lbl"), label), sgn);
		json_decref(sgn);
		harness_case("a child create is not an update event");
		harness_create_cin(at(a, "box"), a, NULL, "x");
		expect_quiet(rx);
		harness_delete(at(a, hfmt("box/%s", rn)), a);
		free(sri);
	}
	notif_receiver_stop(&rx);
}

static void test_net2_delete_and_sud(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "n2");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s",
	                          json_pack("{s:[s],s:{s:[i]},s:s}", "nu", a, "enc", "net", 2, "su", a));
	notif_drain(rx);
	harness_case("delete the subscribed container");
	harness_delete(at(a, "box"), a);
	bool got_net2 = false, got_sud = false;
	int64_t end = harness_now_ms() + WAIT_MS;
	while ((!got_net2 || !got_sud) && harness_now_ms() < end) {
		json_t *sgn = notif_wait_event(rx, (int)(end - harness_now_ms()));
		if (!sgn)
			break;
		json_t *nev = json_object_get(sgn, "nev");
		if (nev) {
			EXPECT_INT(nev, "net", 2);
			EXPECT_STR(json_object_get(json_object_get(nev, "rep"), "m2m:cnt"), "rn", "box");
			got_net2 = true;
		} else if (json_is_true(json_object_get(sgn, "sud"))) {
			EXPECT_TRUE(harness_id_matches(harness_jstr(sgn, "sur"), sri, at(a, "box/s")), sgn);
			got_sud = true;
		}
		json_decref(sgn);
	}
	harness_case("net=2 notification received");
	EXPECT_TRUE(got_net2, NULL);
	harness_case("deletion notification (sud) to su for the subscription deleted with its parent");
	EXPECT_TRUE(got_sud, NULL);
	free(sri);
	notif_receiver_stop(&rx);
}

static void test_net4_delete_child(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "n4");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s", json_pack("{s:[s],s:{s:[i]}}", "nu", a, "enc", "net", 4));
	harness_create_cin(at(a, "box"), a, "c1", "x");
	harness_case("child create is not a net=4 event");
	expect_quiet(rx);
	harness_case("delete the child");
	harness_delete(at(a, "box/c1"), a);
	json_t *sgn = expect_event(rx, 4);
	EXPECT_STR(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:cin"), "rn", "c1");
	json_decref(sgn);
	free(sri);
	notif_receiver_stop(&rx);
}

/* Expiration is handled like a delete: the parent's net=4 subscribers and
   the expired resource's net=2 subscribers hear of it. */
static void test_expiry_notifies(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start(), *rx2 = notif_receiver_start();
	assert_non_null(rx);
	assert_non_null(rx2);
	const char *a = reachable_ae(rx, "exp");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s", json_pack("{s:[s],s:{s:[i]}}", "nu", a, "enc", "net", 4));
	harness_case("child container expiring in 2 s");
	harness_create_cnt(at(a, "box"), a, "short", json_pack("{s:s}", "et", harness_ts(2)));
	char *sri2 = sub_create_ok(at(a, "box/short"), a, "s2",
	                           json_pack("{s:[s],s:{s:[i]}}", "nu", notif_receiver_url(rx2), "enc", "net", 2));
	json_t *sgn = expect_event(rx, 4);
	EXPECT_STR(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:cnt"), "rn", "short");
	json_decref(sgn);
	sgn = expect_event(rx2, 2);
	json_decref(sgn);
	m2m_result r;
	harness_req(&r, M2M_OP_RETRIEVE, at(a, "box/short"), a, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	free(sri);
	free(sri2);
	notif_receiver_stop(&rx);
	notif_receiver_stop(&rx2);
}

static void test_nct3_to_url(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start(), *rxa = notif_receiver_start();
	assert_non_null(rx);
	assert_non_null(rxa);
	const char *a = reachable_ae(rxa, "nct");
	const char *cntri = harness_create_cnt(at(a, NULL), a, "box", NULL);
	harness_case("nu is a URL, nct=3");
	char *sri = sub_create_ok(at(a, "box"), a, "s",
	                          json_pack("{s:[s],s:{s:[i]},s:i}", "nu", notif_receiver_url(rx), "enc", "net", 3, "nct", 3));
	const char *cri = harness_create_cin(at(a, "box"), a, "c1", "x");
	json_t *sgn = expect_event(rx, 3);
	const char *uri = json_string_value(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:uri"));
	/* nct=3 "resource ID": the created child (ACME) or, on another
	 * reading, the subscribed-to resource; never anything else. */
	EXPECT_TRUE(harness_id_matches(uri, cri, at(a, "box/c1")) || harness_id_matches(uri, cntri, at(a, "box")), sgn);
	json_decref(sgn);
	free(sri);
	notif_receiver_stop(&rx);
	notif_receiver_stop(&rxa);
}

static void test_exc(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "exc");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s",
	                          json_pack("{s:[s],s:{s:[i]},s:i,s:s}", "nu", a, "enc", "net", 3, "exc", 2, "su", a));
	for (int i = 0; i < 2; i++)
		harness_create_cin(at(a, "box"), a, NULL, "x");
	int events = 0;
	bool sud = false;
	int64_t end = harness_now_ms() + WAIT_MS;
	while ((events < 2 || !sud) && harness_now_ms() < end) {
		json_t *sgn = notif_wait_event(rx, (int)(end - harness_now_ms()));
		if (!sgn)
			break;
		if (json_object_get(sgn, "nev"))
			events++;
		else if (json_is_true(json_object_get(sgn, "sud")))
			sud = true;
		json_decref(sgn);
	}
	harness_case("exc=2: two notifications");
	EXPECT_TRUE(events == 2, NULL);
	harness_case("exc=2: deletion notification to su");
	EXPECT_TRUE(sud, NULL);
	harness_case("exc=2: subscription removed");
	m2m_result r;
	int64_t end2 = harness_now_ms() + 3000;
	do {
		harness_req(&r, M2M_OP_RETRIEVE, at(a, "box/s"), a, -1, NULL, NULL);
		if (harness_rsc_is(&r, 4004) || harness_now_ms() > end2)
			break;
		m2m_result_clear(&r);
		harness_sleep_ms(100);
	} while (1);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	harness_case("no further notifications");
	harness_create_cin(at(a, "box"), a, NULL, "x");
	expect_quiet(rx);
	free(sri);
	notif_receiver_stop(&rx);
}

static void test_delete_sub_sud(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "sud");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s", json_pack("{s:[s],s:s}", "nu", a, "su", a));
	notif_drain(rx);
	harness_case("delete a subscription that has su");
	harness_delete(at(a, "box/s"), a);
	json_t *sgn = notif_wait_event(rx, WAIT_MS);
	EXPECT_TRUE(sgn != NULL, NULL);
	EXPECT_TRUE(json_is_true(json_object_get(sgn, "sud")), sgn);
	EXPECT_TRUE(harness_id_matches(harness_jstr(sgn, "sur"), sri, at(a, "box/s")), sgn);
	json_decref(sgn);
	free(sri);
	notif_receiver_stop(&rx);
}

static void test_notification_failure_does_not_fail_request(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "nf");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	char *sri = sub_create_ok(at(a, "box"), a, "s", json_pack("{s:[s],s:{s:[i]}}", "nu", a, "enc", "net", 3));
	notif_receiver_set_reply(rx, 500, 5000);
	harness_case("cin create while the notification target answers 5000");
	harness_create_cin(at(a, "box"), a, NULL, "x");
	json_t *sgn = expect_event(rx, 3);
	json_decref(sgn);
	free(sri);
	notif_receiver_stop(&rx);
}

static void test_sub_errors(void **state)
{
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	assert_non_null(rx);
	const char *a = reachable_ae(rx, "err");
	const char *b = reachable_ae(rx, "errB");
	harness_create_cnt(at(a, NULL), a, "box", NULL);
	harness_create_cin(at(a, "box"), a, "c1", "x");
	static const struct { const char *name, *where, *attrs; int rsc; } cases[] = {
		{"subscription under a contentInstance", "box/c1", "{\"nu\":[\"%s\"]}", 5203},
		{"missing nu", "box", "{\"enc\":{\"net\":[3]}}", 4000},
		{"empty nu", "box", "{\"nu\":[]}", 4000},
		{"nct=2 with net=3", "box", "{\"nu\":[\"%s\"],\"enc\":{\"net\":[3]},\"nct\":2}", 4000},
		{"net 99", "box", "{\"nu\":[\"%s\"],\"enc\":{\"net\":[99]}}", 4000},
		{"exc 0", "box", "{\"nu\":[\"%s\"],\"exc\":0}", 4000},
		{"unknown attribute", "box", "{\"nu\":[\"%s\"],\"zzq\":1}", 4000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m2m_result r;
		const char *rn = harness_name("bad");
		harness_case("%s", cases[i].name);
		json_t *attrs = json_loads(hfmt(cases[i].attrs, a), 0, NULL);
		assert_non_null(attrs);
		sub_create(&r, at(a, cases[i].where), a, rn, attrs);
		EXPECT_RSC(&r, cases[i].rsc);
		m2m_result_clear(&r);
	}
	harness_case("subscriber without RETRIEVE privilege on the target");
	m2m_result r;
	sub_create(&r, at(a, "box"), b, "sB", json_pack("{s:[s]}", "nu", b));
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, at(a, "box/sB"), ADMIN, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	notif_receiver_stop(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_verification),
		HTEST(test_verification_refused),
		HTEST(test_net3_create_child),
		HTEST(test_net1_update),
		HTEST(test_net2_delete_and_sud),
		HTEST(test_net4_delete_child),
		HTEST(test_nct3_to_url),
		HTEST(test_expiry_notifies),
		HTEST(test_exc),
		HTEST(test_delete_sub_sud),
		HTEST(test_notification_failure_does_not_fail_request),
		HTEST(test_sub_errors),
	};
	return cmocka_run_group_tests_name("03_subscription", tests, harness_group_setup,
	                                   harness_group_teardown);
}
