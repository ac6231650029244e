/*
 * 14_two_tier_test.c - an IN-CSE (the harness' daemon) and an MN-CSE (a
 * peer daemon registered to it): registration (TS-0004 7.4.4), link
 * restoration after restarts of either side, the MN serving while the IN is
 * down, re-registration when the IN lost the registration, and retargeting
 * in both directions with the originator travelling unchanged, access
 * control where the target lives, 4004 for no route and for loops, 5103 for
 * an unreachable CSE and 4000 for forwarded registrations.
 * Digest sections 7.2, 8.4, 8.10. Local mode only (it restarts daemons).
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>

static harness_peer mn = { .name = "mn" };
static m2m_client *mnc;
static char in_admin[128]; /* the IN's admin as the MN sees it: "/id-in/CAdmin" */

#define IN_CSI harness_csi()
#define MN_ID "id-mn"
#define MN_RN "cse-mn"

static int mn_start(void)
{
	char check[] = "1";
	const char *args[] = { "--cse-type", "mn", "--cse-id", MN_ID, "--cse-rn", MN_RN,
	                       "--registrar-url", harness_url(), "--registrar-id", harness_cse_id(),
	                       "--registrar-rn", harness_cse_rn(), "--registrar-check", check,
	                       "--admin", in_admin, "--log-level", "info", NULL };
	return harness_peer_start(&mn, args);
}

/* Send to the MN directly. */
static void mn_req(m2m_result *r, m2m_op op, const char *to, const char *fr, int ty, json_t *content,
                   const char *query)
{
	m2m_do(mnc, op, to, fr, ty, content, query, r);
	json_decref(content);
}

/* Poll the IN until its <remoteCSE> of the MN is there (or ms passed). */
static json_t *wait_in_csr(long ms)
{
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		m2m_result r;
		harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", harness_cse_rn(), MN_ID), harness_admin(), -1, NULL,
		            NULL);
		if (harness_rsc_is(&r, 2000)) {
			json_t *csr = json_incref(harness_res(&r, "m2m:csr"));
			m2m_result_clear(&r);
			return csr;
		}
		m2m_result_clear(&r);
		if (harness_now_ms() >= end)
			return NULL;
		harness_sleep_ms(100);
	}
}

/* Number of <remoteCSE> children of the IN's CSEBase. */
static size_t in_csr_count(void)
{
	m2m_result r;
	harness_req(&r, M2M_OP_RETRIEVE, harness_cse_rn(), harness_admin(), -1, NULL, "fu=1&ty=16");
	EXPECT_RSC(&r, 2000);
	size_t n = json_array_size(json_object_get(r.body, "m2m:uril"));
	m2m_result_clear(&r);
	return n;
}

/* The IN checks the CSEs registered to it every second. */
static const char *const in_check[] = { "--registrar-check", "1", NULL };

static int group_setup(void **state)
{
	if (harness_cse_set_args(in_check) != 0)
		return -1;
	int rc = harness_group_setup(state);
	if (rc != 0 || !harness_is_local())
		return rc;
	snprintf(in_admin, sizeof(in_admin), "%s/%s", harness_csi(), harness_admin());
	if (mn_start() != 0)
		return -1;
	mnc = m2m_client_new(mn.url);
	return mnc ? 0 : -1;
}

static int group_teardown(void **state)
{
	m2m_client_free(&mnc);
	if (mn.pid > 0 && harness_peer_stop(&mn) != 0) {
		harness_peer_log_tail(&mn, 30);
		harness_group_teardown(state);
		return -1;
	}
	return harness_group_teardown(state);
}

static void test_registration(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	harness_case("the IN holds a remoteCSE for the MN with its attributes");
	json_t *csr = wait_in_csr(5000);
	EXPECT_TRUE(csr != NULL, NULL);
	EXPECT_INT(csr, "ty", 16);
	EXPECT_STR(csr, "csi", "/" MN_ID);
	EXPECT_STR(csr, "cb", "/" MN_ID "/" MN_RN);
	EXPECT_INT(csr, "cst", 2);
	EXPECT_TRUE(json_is_true(json_object_get(csr, "rr")), csr);
	EXPECT_TRUE(harness_list_has_str(json_object_get(csr, "poa"), mn.url), csr);
	EXPECT_TRUE(harness_list_has_str(json_object_get(csr, "srv"), "3"), csr);
	json_decref(csr);

	harness_case("the MN holds a remoteCSE for the IN, filled from its CSEBase");
	/* The MN creates it after the IN answered the registration and gave
	   its CSEBase, so it may come a little after the IN's (at most 5 s). */
	m2m_result r;
	int64_t end = harness_now_ms() + 5000;
	for (;;) {
		mn_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", MN_RN, harness_cse_id()), in_admin, -1, NULL, NULL);
		if (!harness_rsc_is(&r, 4004) || harness_now_ms() >= end)
			break;
		m2m_result_clear(&r);
		harness_sleep_ms(50);
	}
	EXPECT_RSC(&r, 2000);
	json_t *m = harness_res(&r, "m2m:csr");
	EXPECT_STR(m, "csi", IN_CSI);
	EXPECT_STR(m, "cb", hfmt("%s/%s", IN_CSI, harness_cse_rn()));
	EXPECT_INT(m, "cst", 1);
	EXPECT_TRUE(harness_list_has_str(json_object_get(m, "poa"), harness_url()), m);
	EXPECT_TRUE(harness_list_has_str(json_object_get(m, "srv"), "4"), m);
	m2m_result_clear(&r);
	EXPECT_TRUE(in_csr_count() == 1, NULL);

	harness_case("a second registration of the same CSE-ID gets 4117");
	harness_req(&r, M2M_OP_CREATE, harness_cse_rn(), "/" MN_ID, 16,
	            json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:csr", "rn", "dup", "cb", "/" MN_ID "/" MN_RN,
	                      "rr", 1, "srv", "3"),
	            NULL);
	EXPECT_RSC(&r, 4117);
	m2m_result_clear(&r);
}

/* An AE on the MN with a container, reached from the IN. */
static void test_retarget_in_to_mn(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	const char *aei = harness_name("Cmnapp");
	m2m_result r;
	mn_req(&r, M2M_OP_CREATE, MN_RN, aei, 2,
	       json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", aei, "api", "Nmnapp", "rr", 0, "srv", "3"), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	const char *mnae = hfmt("/%s/%s/%s", MN_ID, MN_RN, aei);
	char ae_path[256];
	snprintf(ae_path, sizeof(ae_path), "%s", mnae);

	harness_case("create through the IN (SP-relative), by the MN's admin (the IN's admin)");
	harness_req(&r, M2M_OP_CREATE, ae_path, harness_admin(), 3, json_pack("{s:{s:s}}", "m2m:cnt", "rn", "k"), NULL);
	EXPECT_RSC(&r, 2001);
	const char *ri = harness_jstr(harness_res(&r, "m2m:cnt"), "ri");
	char cri[128];
	snprintf(cri, sizeof(cri), "%s", ri ? ri : "");
	m2m_result_clear(&r);

	harness_case("the container is stored on the MN");
	mn_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s/k", MN_RN, aei), in_admin, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	EXPECT_STR(harness_res(&r, "m2m:cnt"), "ri", cri);
	m2m_result_clear(&r);

	harness_case("retrieve through the IN, structured and unstructured, absolute form too");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/k", ae_path), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	EXPECT_STR(harness_res(&r, "m2m:cnt"), "ri", cri);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("/%s/%s", MN_ID, cri), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("//%s/%s/%s", harness_sp_id(), MN_ID, cri), harness_admin(), -1, NULL,
	            NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);

	harness_case("query parameters travel: discovery and rcn through the IN");
	harness_req(&r, M2M_OP_RETRIEVE, ae_path, harness_admin(), -1, NULL, "fu=1&ty=3&lbl=nope");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(r.body, "m2m:uril")) == 0, r.body);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_RETRIEVE, ae_path, harness_admin(), -1, NULL, "fu=1&ty=3");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(r.body, "m2m:uril")) == 1, r.body);
	m2m_result_clear(&r);

	harness_case("update and delete through the IN");
	harness_req(&r, M2M_OP_UPDATE, hfmt("%s/k", ae_path), harness_admin(), -1,
	            json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", "x:1"), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);

	harness_case("access control applies on the MN: another originator is refused");
	const char *stranger = harness_name("Cstranger");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/k", ae_path), stranger, -1, NULL, NULL);
	EXPECT_RSC(&r, 4103);
	const char *dbg = harness_jstr(r.body, "m2m:dbg");
	EXPECT_TRUE(dbg && strstr(dbg, hfmt("%s/%s", IN_CSI, stranger)), r.body);
	m2m_result_clear(&r);

	harness_req(&r, M2M_OP_DELETE, hfmt("%s/k", ae_path), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2002);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s/k", MN_RN, aei), in_admin, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);

	harness_case("registration requests are not forwarded");
	harness_req(&r, M2M_OP_CREATE, hfmt("/%s/%s", MN_ID, MN_RN), harness_name("Cfw"), 2,
	            json_pack("{s:{s:s,s:b,s:[s]}}", "m2m:ae", "api", "Nx", "rr", 0, "srv", "3"), NULL);
	EXPECT_RSC(&r, 4000);
	m2m_result_clear(&r);
}

/* An AE on the MN reads a container on the IN that only it may read. */
static void test_retarget_mn_to_in(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	const char *owner = harness_register("Cinown");
	const char *mnae = harness_name("Cmnreader");
	char mnae_sp[160];
	snprintf(mnae_sp, sizeof(mnae_sp), "/%s/%s", MN_ID, mnae);
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, hfmt("%s/%s", harness_cse_rn(), owner), owner, 1,
	            json_pack("{s:{s:s,s:{s:[{s:[s],s:i},{s:[s],s:i}]},s:{s:[{s:[s],s:i}]}}}", "m2m:acp", "rn", "p",
	                      "pv", "acr", "acor", owner, "acop", 63, "acor", mnae_sp, "acop", 2, "pvs", "acr", "acor",
	                      owner, "acop", 63),
	            NULL);
	EXPECT_RSC(&r, 2001);
	char acp_ri[128];
	snprintf(acp_ri, sizeof(acp_ri), "%s", harness_jstr(harness_res(&r, "m2m:acp"), "ri"));
	m2m_result_clear(&r);
	harness_create_cnt(hfmt("%s/%s", harness_cse_rn(), owner), owner, "shared",
	                   json_pack("{s:[s]}", "acpi", acp_ri));

	mn_req(&r, M2M_OP_CREATE, MN_RN, mnae, 2,
	       json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", mnae, "api", "Nreader", "rr", 0, "srv", "3"), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);

	const char *target = hfmt("%s/%s/%s/shared", IN_CSI, harness_cse_rn(), owner);
	char tgt[256];
	snprintf(tgt, sizeof(tgt), "%s", target);
	harness_case("the MN's AE (CSE-relative originator) retrieves through its MN");
	mn_req(&r, M2M_OP_RETRIEVE, tgt, mnae, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	EXPECT_STR(harness_res(&r, "m2m:cnt"), "rn", "shared");
	m2m_result_clear(&r);
	harness_case("... but may not update it");
	mn_req(&r, M2M_OP_UPDATE, tgt, mnae, -1, json_pack("{s:{s:[s]}}", "m2m:cnt", "lbl", "a"), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	harness_case("another AE of the MN may not retrieve it");
	const char *other = harness_name("Cmnother");
	mn_req(&r, M2M_OP_RETRIEVE, tgt, other, -1, NULL, NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_DELETE, hfmt("%s/%s", MN_RN, mnae), in_admin, -1, NULL, NULL);
	EXPECT_RSC(&r, 2002);
	m2m_result_clear(&r);
}

/* A subscription on the MN whose target is an AE registered at the IN:
   verification and notifications travel through the IN. */
static void test_notify_across(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	notif_receiver *rx = notif_receiver_start();
	EXPECT_TRUE(rx != NULL, NULL);
	const char *inae = harness_create_ae(NULL, NULL,
	                                     json_pack("{s:b,s:[s]}", "rr", 1, "poa", notif_receiver_url(rx)));
	char nu[160];
	snprintf(nu, sizeof(nu), "%s/%s", IN_CSI, inae);
	const char *mnae = harness_name("Cpub");
	m2m_result r;
	mn_req(&r, M2M_OP_CREATE, MN_RN, mnae, 2,
	       json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", mnae, "api", "Npub", "rr", 0, "srv", "3"), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_CREATE, hfmt("%s/%s", MN_RN, mnae), mnae, 3, json_pack("{s:{s:s}}", "m2m:cnt", "rn", "t"),
	       NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);

	harness_case("subscription on the MN with nu = an AE-ID at the IN: verified through the IN");
	mn_req(&r, M2M_OP_CREATE, hfmt("%s/%s/t", MN_RN, mnae), mnae, 23,
	       json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "s", "nu", nu, "enc", "net", 3), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	json_t *v = notif_wait(rx, 5000);
	EXPECT_TRUE(v && json_is_true(json_object_get(v, "vrq")), v);
	json_decref(v);

	harness_case("a new instance on the MN is notified to the AE at the IN");
	mn_req(&r, M2M_OP_CREATE, hfmt("%s/%s/t", MN_RN, mnae), mnae, 4, json_pack("{s:{s:s}}", "m2m:cin", "con", "21.5"),
	       NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	json_t *ev = notif_wait_event(rx, 5000);
	EXPECT_TRUE(ev != NULL, NULL);
	json_t *cin = json_object_get(json_object_get(json_object_get(ev, "nev"), "rep"), "m2m:cin");
	EXPECT_STR(cin, "con", "21.5");
	json_decref(ev);
	notif_receiver_stop(&rx);
	mn_req(&r, M2M_OP_DELETE, hfmt("%s/%s", MN_RN, mnae), in_admin, -1, NULL, NULL);
	m2m_result_clear(&r);
}

static void test_no_route_and_loops(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	m2m_result r;
	harness_case("an unknown CSE at the IN: 4004");
	harness_req(&r, M2M_OP_RETRIEVE, "/id-nowhere/cse-x", harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	harness_case("another service provider at the IN: 4004");
	harness_req(&r, M2M_OP_RETRIEVE, "//other.example.net/id-x/cse-x", harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);
	harness_case("an unknown CSE at the MN goes up to the IN, which has no route: 4004");
	mn_req(&r, M2M_OP_RETRIEVE, "/id-nowhere/cse-x", in_admin, -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	m2m_result_clear(&r);

	harness_case("a remoteCSE whose poa leads back to the IN itself: the loop ends with 4004");
	harness_req(&r, M2M_OP_CREATE, harness_cse_rn(), "/id-loop", 16,
	            json_pack("{s:{s:s,s:b,s:[s],s:[s]}}", "m2m:csr", "cb", "/id-loop/cse-loop", "rr", 1, "poa",
	                      harness_url(), "srv", "3"),
	            NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	int64_t t0 = harness_now_ms();
	harness_req(&r, M2M_OP_RETRIEVE, "/id-loop/cse-loop", harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 4004);
	const char *dbg = harness_jstr(r.body, "m2m:dbg");
	EXPECT_TRUE(dbg && strstr(dbg, "loop"), r.body);
	EXPECT_TRUE(harness_now_ms() - t0 < 5000, r.body);
	m2m_result_clear(&r);
	harness_delete(hfmt("%s/id-loop", harness_cse_rn()), harness_admin());
}

/* Poll the IN until `to` answers rsc `want` (or ms passed); body kept in r. */
static bool in_wait(m2m_result *r, const char *to, const char *query, int want, long ms)
{
	int64_t end = harness_now_ms() + ms;
	for (;;) {
		harness_req(r, M2M_OP_RETRIEVE, to, harness_admin(), -1, NULL, query);
		if (harness_rsc_is(r, want))
			return true;
		if (harness_now_ms() >= end)
			return false;
		m2m_result_clear(r);
		harness_sleep_ms(100);
	}
}

static void test_announcement(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	const char *aei = harness_name("Cann");
	char ae[128];
	snprintf(ae, sizeof(ae), "%s", aei);
	m2m_result r;
	char at[64];
	snprintf(at, sizeof(at), "%s", IN_CSI);
	mn_req(&r, M2M_OP_CREATE, MN_RN, ae, 2,
	       json_pack("{s:{s:s,s:s,s:b,s:[s],s:[s],s:[s]}}", "m2m:ae", "rn", ae, "api", "Nann", "rr", 0, "srv", "3",
	                 "at", at, "lbl", "home:1"),
	       NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_CREATE, hfmt("%s/%s", MN_RN, ae), ae, 3,
	       json_pack("{s:{s:s,s:[s],s:[s],s:i,s:i}}", "m2m:cnt", "rn", "meter", "at", at, "aa", "mni", "mni", 5,
	                 "mbs", 1000),
	       NULL);
	EXPECT_RSC(&r, 2001);
	char cnt_ri[128];
	snprintf(cnt_ri, sizeof(cnt_ri), "%s", harness_jstr(harness_res(&r, "m2m:cnt"), "ri"));
	m2m_result_clear(&r);

	harness_case("the AE and its container are announced under the MN's remoteCSE at the IN");
	const char *aeA = hfmt("%s/%s/%s", harness_cse_rn(), MN_ID, ae);
	char aeA_path[256];
	snprintf(aeA_path, sizeof(aeA_path), "%s", aeA);
	EXPECT_TRUE(in_wait(&r, aeA_path, NULL, 2000, 5000), r.body);
	json_t *a = harness_res(&r, "m2m:aeA");
	EXPECT_INT(a, "ty", 10002);
	EXPECT_STR(a, "lnk", hfmt("/%s/%s", MN_ID, ae));
	EXPECT_STR(a, "api", "Nann");
	EXPECT_TRUE(harness_list_has_str(json_object_get(a, "lbl"), "home:1"), a);
	m2m_result_clear(&r);
	char cntA[300];
	snprintf(cntA, sizeof(cntA), "%s/meter", aeA_path);
	EXPECT_TRUE(in_wait(&r, cntA, NULL, 2000, 5000), r.body);
	json_t *ca = harness_res(&r, "m2m:cntA");
	EXPECT_INT(ca, "ty", 10003);
	EXPECT_STR(ca, "lnk", hfmt("/%s/%s", MN_ID, cnt_ri));
	EXPECT_INT(ca, "mni", 5);
	EXPECT_TRUE(json_object_get(ca, "mbs") == NULL, ca); /* not in aa */
	m2m_result_clear(&r);

	harness_case("discovery at the IN finds the announced container");
	harness_req(&r, M2M_OP_RETRIEVE, harness_cse_rn(), harness_admin(), -1, NULL, "fu=1&ty=10003");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(harness_list_has_str(json_object_get(r.body, "m2m:uril"), cntA), r.body);
	m2m_result_clear(&r);

	harness_case("an update of an announced attribute reaches the copy");
	mn_req(&r, M2M_OP_UPDATE, hfmt("%s/%s/meter", MN_RN, ae), ae, -1,
	       json_pack("{s:{s:i,s:[s]}}", "m2m:cnt", "mni", 9, "lbl", "room:kitchen"), NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	bool ok = false;
	for (int i = 0; i < 50 && !ok; i++) {
		harness_req(&r, M2M_OP_RETRIEVE, cntA, harness_admin(), -1, NULL, NULL);
		ca = harness_res(&r, "m2m:cntA");
		ok = harness_jint(ca, "mni", 0) == 9 && harness_list_has_str(json_object_get(ca, "lbl"), "room:kitchen");
		if (!ok)
			harness_sleep_ms(100);
		m2m_result_clear(&r);
	}
	EXPECT_TRUE(ok, NULL);

	harness_case("only this MN may change the copies");
	harness_req(&r, M2M_OP_UPDATE, cntA, harness_name("Cintruder"), -1,
	            json_pack("{s:{s:i}}", "m2m:cntA", "mni", 1), NULL);
	EXPECT_RSC(&r, 4103);
	m2m_result_clear(&r);

	harness_case("taking the IN out of at removes the copy");
	mn_req(&r, M2M_OP_UPDATE, hfmt("%s/%s/meter", MN_RN, ae), ae, -1, json_pack("{s:{s:n}}", "m2m:cnt", "at"),
	       NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	EXPECT_TRUE(in_wait(&r, cntA, NULL, 4004, 5000), r.body);
	m2m_result_clear(&r);

	harness_case("the IN loses the MN's registration: the MN registers again and announces again");
	harness_delete(hfmt("%s/%s", harness_cse_rn(), MN_ID), harness_admin());
	EXPECT_TRUE(in_wait(&r, aeA_path, NULL, 2000, 8000), r.body);
	m2m_result_clear(&r);

	harness_case("MN restart: still one copy");
	EXPECT_TRUE(harness_peer_stop(&mn) == 0, NULL);
	EXPECT_TRUE(mn_start() == 0, NULL);
	harness_sleep_ms(1500);
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", harness_cse_rn(), MN_ID), harness_admin(), -1, NULL,
	            "fu=1&ty=10002");
	EXPECT_RSC(&r, 2000);
	size_t n = 0, i;
	json_t *u;
	json_array_foreach(json_object_get(r.body, "m2m:uril"), i, u)
		n += strstr(json_string_value(u), ae) != NULL;
	EXPECT_TRUE(n == 1, r.body);
	m2m_result_clear(&r);

	harness_case("deleting the original deletes its copy");
	mn_req(&r, M2M_OP_DELETE, hfmt("%s/%s", MN_RN, ae), in_admin, -1, NULL, NULL);
	EXPECT_RSC(&r, 2002);
	m2m_result_clear(&r);
	EXPECT_TRUE(in_wait(&r, aeA_path, NULL, 4004, 5000), r.body);
	m2m_result_clear(&r);
}

static void test_restarts(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	m2m_result r;
	json_t *csr = wait_in_csr(5000);
	EXPECT_TRUE(csr != NULL, NULL);
	json_decref(csr);

	harness_case("MN restart: the link comes back without a duplicate");
	EXPECT_TRUE(harness_peer_stop(&mn) == 0, NULL);
	EXPECT_TRUE(mn_start() == 0, NULL);
	harness_sleep_ms(500);
	EXPECT_TRUE(in_csr_count() == 1, NULL);
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("/%s/%s", MN_ID, MN_RN), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);

	harness_case("IN down: the MN keeps serving its home, requests for the IN get 5103");
	EXPECT_TRUE(harness_cse_stop() == 0, NULL);
	const char *home = harness_name("Chome");
	mn_req(&r, M2M_OP_CREATE, MN_RN, home, 2,
	       json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", home, "api", "Nhome", "rr", 0, "srv", "3"), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	mn_req(&r, M2M_OP_CREATE, hfmt("%s/%s", MN_RN, home), home, 3, json_pack("{s:{s:s}}", "m2m:cnt", "rn", "t"),
	       NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	int64_t t0 = harness_now_ms();
	mn_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", IN_CSI, harness_cse_rn()), in_admin, -1, NULL, NULL);
	EXPECT_RSC(&r, 5103);
	EXPECT_TRUE(harness_now_ms() - t0 < 11000, r.body);
	m2m_result_clear(&r);

	harness_case("IN back: retargeting works again, still one registration");
	EXPECT_TRUE(harness_cse_start() == 0, NULL);
	int64_t end = harness_now_ms() + 8000;
	bool ok = false;
	while (!ok && harness_now_ms() < end) {
		mn_req(&r, M2M_OP_RETRIEVE, hfmt("%s/%s", IN_CSI, harness_cse_rn()), in_admin, -1, NULL, NULL);
		ok = harness_rsc_is(&r, 2000);
		m2m_result_clear(&r);
		if (!ok)
			harness_sleep_ms(200);
	}
	EXPECT_TRUE(ok, NULL);
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("/%s/%s/%s/t", MN_ID, MN_RN, home), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);
	EXPECT_TRUE(in_csr_count() == 1, NULL);

	harness_case("the IN loses the registration: the MN registers again");
	harness_delete(hfmt("%s/%s", harness_cse_rn(), MN_ID), harness_admin());
	csr = wait_in_csr(8000);
	EXPECT_TRUE(csr != NULL, NULL);
	EXPECT_STR(csr, "csi", "/" MN_ID);
	json_decref(csr);

	harness_case("a killed MN: the IN's liveliness check notices it, and the IN answers 5103 for it");
	long logpos = harness_log_size();
	EXPECT_TRUE(harness_peer_kill9(&mn) == 0, NULL);
	bool noticed = false;
	for (int i = 0; i < 50 && !noticed; i++) {
		noticed = harness_log_contains(logpos, "registered CSE /" MN_ID " does not answer");
		if (!noticed)
			harness_sleep_ms(100);
	}
	EXPECT_TRUE(noticed, NULL);
	t0 = harness_now_ms();
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("/%s/%s", MN_ID, MN_RN), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 5103);
	EXPECT_TRUE(harness_now_ms() - t0 < 11000, r.body);
	m2m_result_clear(&r);
	EXPECT_TRUE(mn_start() == 0, NULL);
	harness_sleep_ms(300);
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("/%s/%s", MN_ID, MN_RN), harness_admin(), -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);
}

/* The same over MQTT: a second MN that reaches its registrar, and is
   reached, through the broker only. */
static void test_retarget_over_mqtt(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	if (!harness_mosquitto_path()) {
		print_message("[  SKIP    ] mosquitto is not installed\n");
		skip();
	}
	EXPECT_TRUE(harness_broker_start() == 0, NULL);
	char port[16], broker[64];
	snprintf(port, sizeof(port), "%d", harness_broker_port());
	snprintf(broker, sizeof(broker), "mqtt://127.0.0.1:%s", port);
	const char *in_args[] = { "--mqtt-host", "127.0.0.1", "--mqtt-port", port, "--registrar-check", "1", NULL };
	EXPECT_TRUE(harness_cse_set_args(in_args) == 0, NULL);
	EXPECT_TRUE(harness_cse_restart() == 0, NULL);

	static harness_peer mn2 = { .name = "mn2" };
	const char *args[] = { "--cse-type", "mn", "--cse-id", "id-mn2", "--cse-rn", "cse-mn2",
	                       "--mqtt-host", "127.0.0.1", "--mqtt-port", port, "--poa", broker,
	                       "--registrar-url", broker, "--registrar-id", harness_cse_id(),
	                       "--registrar-rn", harness_cse_rn(), "--registrar-check", "1",
	                       "--admin", in_admin, NULL };
	EXPECT_TRUE(harness_peer_start(&mn2, args) == 0, NULL);
	m2m_client *c2 = m2m_client_new(mn2.url);
	m2m_result r;

	harness_case("the MN registers over MQTT; its remoteCSE at the IN has the mqtt poa");
	int64_t end = harness_now_ms() + 8000;
	bool ok = false;
	while (!ok && harness_now_ms() < end) {
		harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/id-mn2", harness_cse_rn()), harness_admin(), -1, NULL, NULL);
		ok = harness_rsc_is(&r, 2000) &&
		     harness_list_has_str(json_object_get(harness_res(&r, "m2m:csr"), "poa"), broker);
		m2m_result_clear(&r);
		if (!ok)
			harness_sleep_ms(100);
	}
	if (!ok)
		harness_peer_log_tail(&mn2, 20);
	EXPECT_TRUE(ok, NULL);

	harness_case("IN -> MN over MQTT");
	const char *aei = harness_name("Cmq");
	json_t *body = json_pack("{s:{s:s,s:s,s:b,s:[s]}}", "m2m:ae", "rn", aei, "api", "Nmq", "rr", 0, "srv", "3");
	m2m_do(c2, M2M_OP_CREATE, "cse-mn2", aei, 2, body, NULL, &r);
	json_decref(body);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	harness_req(&r, M2M_OP_CREATE, hfmt("/id-mn2/cse-mn2/%s", aei), harness_admin(), 3,
	            json_pack("{s:{s:s}}", "m2m:cnt", "rn", "viamqtt"), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	m2m_do(c2, M2M_OP_RETRIEVE, hfmt("cse-mn2/%s/viamqtt", aei), in_admin, -1, NULL, NULL, &r);
	EXPECT_RSC(&r, 2000);
	m2m_result_clear(&r);

	harness_case("MN -> IN over MQTT");
	m2m_do(c2, M2M_OP_RETRIEVE, hfmt("%s/%s", IN_CSI, harness_cse_rn()), in_admin, -1, NULL, NULL, &r);
	EXPECT_RSC(&r, 2000);
	EXPECT_STR(harness_res(&r, "m2m:cb"), "csi", IN_CSI);
	m2m_result_clear(&r);

	m2m_client_free(&c2);
	EXPECT_TRUE(harness_peer_stop(&mn2) == 0, NULL);
	harness_delete(hfmt("%s/id-mn2", harness_cse_rn()), harness_admin());
	harness_cse_set_args(in_check);
	EXPECT_TRUE(harness_cse_restart() == 0, NULL);
	harness_broker_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_registration),
		HTEST(test_retarget_in_to_mn),
		HTEST(test_retarget_mn_to_in),
		HTEST(test_notify_across),
		HTEST(test_no_route_and_loops),
		HTEST(test_announcement),
		HTEST(test_restarts),
		HTEST(test_retarget_over_mqtt),
	};
	return cmocka_run_group_tests_name("14_two_tier", tests, group_setup, group_teardown);
}
