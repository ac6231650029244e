/*
 * 13_mgmtobj_test.c - device management: <node> (ty 14) and the <mgmtObj>
 * (ty 13) specializations, and the life cycle of a management operation
 * with the native adapter (digest 4.2, 7.10, 7.11; mgmtobj/README.md).
 *
 * Design note
 *   The device is an AE whose poa is a harness notification receiver: it
 *   creates its <node> (hael = its AE-ID) and a firmware mgmtObj guarded by
 *   a policy that also lets a manager AE in; the receiver gets the Notify
 *   that starts the operation, and the test answers as the device would,
 *   with an Update of the mgmtObj. The manager subscribes to the firmware
 *   with its own receiver. The timeout case restarts the daemon with
 *   --mgmt-timeout 2 (local mode only) and runs last.
 */
#include "conformance/lib/harness.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()
#define WAIT_MS 5000
#define NSURI "http://www.onem2m.org/xml/protocols"

/* One device: its AE, its policy (letting `o1` and `o2` in too; either may
   be NULL) and its node (hael = the AE). Paths are CSE-relative structured. */
typedef struct device {
	const char *ae;
	char acp[256];
	char node[256];
	char node_ri[64];
} device;

static void device_make(device *d, notif_receiver *rx, const char *prefix, const char *o1, const char *o2)
{
	const char *orig = harness_name(hfmt("C%s", prefix));
	json_t *attrs = json_pack("{s:b}", "rr", 1);
	if (rx)
		json_object_set_new(attrs, "poa", json_pack("[s]", notif_receiver_url(rx)));
	d->ae = harness_create_ae(orig, orig, attrs);
	m2m_result r;
	json_t *acor = json_pack("[s]", d->ae);
	if (o1)
		json_array_append_new(acor, json_string(o1));
	if (o2)
		json_array_append_new(acor, json_string(o2));
	harness_req(&r, M2M_OP_CREATE, hfmt("%s/%s", CSE, d->ae), d->ae, 1,
	            json_pack("{s:{s:s,s:{s:[{s:o,s:i}]},s:{s:[{s:[s],s:i}]}}}", "m2m:acp", "rn", "mgmtacp", "pv",
	                      "acr", "acor", acor, "acop", 63, "pvs", "acr", "acor", d->ae, "acop", 63),
	            NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	snprintf(d->acp, sizeof(d->acp), "%s/%s/mgmtacp", CSE, d->ae);
	const char *rn = harness_name("node");
	harness_case("the device's AE creates its node on the CSEBase");
	harness_req(&r, M2M_OP_CREATE, CSE, d->ae, 14,
	            json_pack("{s:{s:s,s:s,s:[s],s:[s]}}", "m2m:nod", "rn", rn, "ni", hfmt("urn:dev:%s", rn), "hael",
	                      d->ae, "acpi", d->acp),
	            NULL);
	EXPECT_RSC(&r, 2001);
	json_t *n = harness_res(&r, "m2m:nod");
	EXPECT_INT(n, "ty", 14);
	EXPECT_TRUE(harness_list_has_str(json_object_get(n, "hael"), d->ae), n);
	snprintf(d->node_ri, sizeof(d->node_ri), "%s", harness_jstr(n, "ri") ? harness_jstr(n, "ri") : "");
	m2m_result_clear(&r);
	snprintf(d->node, sizeof(d->node), "%s/%s", CSE, rn);
}

/* Create a mgmtObj under the device's node; attrs are stolen and get rn and
   acpi. Returns the response (caller clears). */
static void mo_create(m2m_result *r, const device *d, const char *root, const char *rn, json_t *attrs)
{
	json_object_set_new(attrs, "rn", json_string(rn));
	json_object_set_new(attrs, "acpi", json_pack("[s]", d->acp));
	harness_req(r, M2M_OP_CREATE, d->node, d->ae, 13, json_pack("{s:o}", root, attrs), NULL);
}

static void expect_update(const char *to, const char *fr, json_t *content, int rsc)
{
	m2m_result r;
	harness_req(&r, M2M_OP_UPDATE, to, fr, -1, content, NULL);
	EXPECT_RSC(&r, rsc);
	m2m_result_clear(&r);
}

static const struct spec {
	const char *root;
	int mgd;
	const char *attrs;      /* the mandatory attributes (digest 7.11) */
	const char *mandatory;  /* one of them, left out once: 4000 */
} specs[] = {
	{ "m2m:fwr", 1001, "{\"vr\":\"1.0\",\"fwn\":\"main\",\"url\":\"http://gw/fw.bin\",\"ud\":false}", "url" },
	{ "m2m:swr", 1002, "{\"vr\":\"1.0\",\"swn\":\"app\",\"url\":\"http://gw/app.pkg\"}", "swn" },
	{ "m2m:mem", 1003, "{\"mma\":1024,\"mmt\":4096}", "mmt" },
	{ "m2m:ani", 1004, "{\"ant\":\"zigbee\"}", "ant" },
	{ "m2m:bat", 1006, "{\"btl\":80,\"bts\":1}", "btl" },
	{ "m2m:dvi", 1007, "{\"dlb\":\"lamp\",\"man\":\"ACME\",\"mod\":\"L1\",\"dty\":\"light\"}", "man" },
	{ "m2m:dvc", 1008, "{\"can\":\"dimming\",\"att\":true,\"cas\":{\"acn\":\"none\",\"sus\":0},\"cus\":false}", "cus" },
	{ "m2m:rbo", 1009, "{\"rbo\":false,\"far\":false}", NULL },
	{ "m2m:evl", 1010, "{\"lgt\":1,\"lgd\":\"boot\",\"lgst\":1}", "lgd" },
};

static void test_create_each_specialization(void **state)
{
	(void)state;
	device d;
	device_make(&d, NULL, "mgc", NULL, NULL);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct spec *s = &specs[i];
		m2m_result r;
		const char *rn = hfmt("mo%zu", i);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", d.node, rn);
		if (s->mandatory) {
			harness_case("%s without its mandatory %s: 4000", s->root, s->mandatory);
			json_t *a = json_loads(s->attrs, 0, NULL);
			json_object_del(a, s->mandatory);
			mo_create(&r, &d, s->root, rn, a);
			EXPECT_RSC(&r, 4000);
			m2m_result_clear(&r);
		}
		harness_case("%s with a disagreeing mgd: 4000", s->root);
		json_t *a = json_loads(s->attrs, 0, NULL);
		json_object_set_new(a, "mgd", json_integer(s->mgd == 1001 ? 1002 : 1001));
		mo_create(&r, &d, s->root, rn, a);
		EXPECT_RSC(&r, 4000);
		m2m_result_clear(&r);

		harness_case("create %s with its mandatory attributes: 2001, ty 13, mgd %d", s->root, s->mgd);
		mo_create(&r, &d, s->root, rn, json_loads(s->attrs, 0, NULL));
		EXPECT_RSC(&r, 2001);
		json_t *mo = harness_res(&r, s->root);
		EXPECT_TRUE(mo != NULL, r.body);
		EXPECT_INT(mo, "ty", 13);
		EXPECT_INT(mo, "mgd", s->mgd);
		EXPECT_STR(mo, "pi", d.node_ri);
		m2m_result_clear(&r);
		harness_case("retrieve %s: the specialization's root", s->root);
		json_t *g = harness_get(path, d.ae, s->root);
		EXPECT_INT(g, "ty", 13);
		EXPECT_INT(g, "mgd", s->mgd);
		json_decref(g);
	}
	m2m_result r;
	harness_case("a status attribute at create (uds is NP): 4000");
	mo_create(&r, &d, "m2m:fwr", "np",
	          json_pack("{s:s,s:s,s:s,s:b,s:{s:s,s:i}}", "vr", "1", "fwn", "f", "url", "http://gw/f", "ud", 0, "uds",
	                    "acn", "x", "sus", 0));
	EXPECT_RSC(&r, 4000);
	m2m_result_clear(&r);
	harness_case("a trigger that is not a boolean: 4000");
	mo_create(&r, &d, "m2m:fwr", "nb",
	          json_pack("{s:s,s:s,s:s,s:s}", "vr", "1", "fwn", "f", "url", "http://gw/f", "ud", "true"));
	EXPECT_RSC(&r, 4000);
	m2m_result_clear(&r);
	harness_case("ty 13 with a root that is no mgmtObj: 4000");
	harness_req(&r, M2M_OP_CREATE, d.node, d.ae, 13, json_pack("{s:{}}", "m2m:cnt"), NULL);
	EXPECT_RSC(&r, 4000);
	m2m_result_clear(&r);
	harness_case("a mgmtObj outside a node: 4108");
	harness_req(&r, M2M_OP_CREATE, hfmt("%s/%s", CSE, d.ae), d.ae, 13,
	            json_pack("{s:{s:i,s:i}}", "m2m:bat", "btl", 5, "bts", 1), NULL);
	EXPECT_RSC(&r, 4108);
	m2m_result_clear(&r);
	harness_case("the node's children, inline (rcn 4), grouped by specialization");
	harness_req(&r, M2M_OP_RETRIEVE, d.node, d.ae, -1, NULL, "rcn=4");
	EXPECT_RSC(&r, 2000);
	json_t *n = harness_res(&r, "m2m:nod");
	EXPECT_TRUE(json_array_size(json_object_get(n, "m2m:bat")) == 1, r.body);
	EXPECT_TRUE(json_array_size(json_object_get(n, "m2m:fwr")) == 1, r.body);
	m2m_result_clear(&r);
	harness_delete(d.node, d.ae);
}

static void test_update_rules(void **state)
{
	(void)state;
	device d;
	device_make(&d, NULL, "mgu", NULL, NULL);
	m2m_result r;
	mo_create(&r, &d, "m2m:dvi", "dvi", json_loads(specs[5].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	mo_create(&r, &d, "m2m:rbo", "rbo", json_loads(specs[7].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	const char *dvi = hfmt("%s/dvi", d.node);
	char dvip[512], rbop[512];
	snprintf(dvip, sizeof(dvip), "%s", dvi);
	snprintf(rbop, sizeof(rbop), "%s/rbo", d.node);
	static const char *const fixed[] = { "man", "mod", "smod", "hwv", "cnty" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		harness_case("deviceInfo %s is NP at update: 4000", fixed[i]);
		expect_update(dvip, d.ae, json_pack("{s:{s:s}}", "m2m:dvi", fixed[i], "other"), 4000);
	}
	harness_case("mgd is NP at update: 4000");
	expect_update(dvip, d.ae, json_pack("{s:{s:i}}", "m2m:dvi", "mgd", 1007), 4000);
	harness_case("an updatable deviceInfo attribute: 2004");
	expect_update(dvip, d.ae, json_pack("{s:{s:s,s:s}}", "m2m:dvi", "dlb", "kitchen", "fwv", "2"), 2004);
	json_t *g = harness_get(dvip, d.ae, "m2m:dvi");
	EXPECT_STR(g, "man", "ACME");
	EXPECT_STR(g, "dlb", "kitchen");
	json_decref(g);
	harness_case("reboot with rbo and far both true: 4000");
	expect_update(rbop, d.ae, json_pack("{s:{s:b,s:b}}", "m2m:rbo", "rbo", 1, "far", 1), 4000);
	harness_case("a trigger that is not a boolean: 4000");
	expect_update(rbop, d.ae, json_pack("{s:{s:i}}", "m2m:rbo", "rbo", 1), 4000);
	harness_case("the content of another specialization: 4000");
	expect_update(rbop, d.ae, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), 4000);
	harness_delete(d.node, d.ae);
}

static void test_node_cascade(void **state)
{
	(void)state;
	device d;
	device_make(&d, NULL, "mgn", NULL, NULL);
	m2m_result r;
	harness_case("retrieve the node");
	json_t *n = harness_get(d.node, d.ae, "m2m:nod");
	EXPECT_INT(n, "ty", 14);
	EXPECT_TRUE(harness_jstr(n, "ni") != NULL, n);
	json_decref(n);
	mo_create(&r, &d, "m2m:bat", "bat", json_loads(specs[4].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	mo_create(&r, &d, "m2m:mem", "mem", json_loads(specs[2].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	char bat[512];
	snprintf(bat, sizeof(bat), "%s/bat", d.node);
	harness_case("a subscription on a mgmtObj");
	harness_req(&r, M2M_OP_CREATE, bat, d.ae, 23,
	            json_pack("{s:{s:s,s:[s]}}", "m2m:sub", "rn", "s", "nu", d.ae), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	harness_case("discovery of the node's mgmtObjs by ty 13");
	harness_req(&r, M2M_OP_RETRIEVE, d.node, d.ae, -1, NULL, "fu=1&ty=13");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(r.body, "m2m:uril")) == 2, r.body);
	m2m_result_clear(&r);
	harness_case("delete the node: its mgmtObjs and their subscriptions go with it");
	harness_delete(d.node, d.ae);
	const char *gone[] = { d.node, bat, hfmt("%s/mem", d.node), hfmt("%s/s", bat) };
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		harness_req(&r, M2M_OP_RETRIEVE, gone[i], ADMIN, -1, NULL, NULL);
		EXPECT_RSC(&r, 4004);
		m2m_result_clear(&r);
	}
}

/* Element child `name` of n (unprefixed), or NULL. */
static const xmlNode *xml_child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

static bool xml_text_is(const xmlNode *n, const char *want)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	bool ok = t && strcmp((const char *)t, want) == 0;
	xmlFree(t);
	return ok;
}

static void test_json_create_xml_retrieve(void **state)
{
	(void)state;
	HARNESS_SKIP_IF(harness_is_mqtt(), "XML answers are an HTTP matter here (the CSE serves json topics)");
	device d;
	device_make(&d, NULL, "mgx", NULL, NULL);
	m2m_result r;
	harness_case("create a firmware in JSON (in XML in the http+xml pass)");
	harness_req(&r, M2M_OP_CREATE, d.node, d.ae, 13,
	            json_pack("{s:{s:s,s:s,s:s,s:s,s:b,s:[s]}}", "m2m:fwr", "rn", "fw", "vr", "1.0", "fwn", "main",
	                      "url", "http://gw/fw.bin", "ud", 0, "acpi", d.acp),
	            NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	harness_case("retrieve it in XML: <m2m:fwr> with ty 13, mgd 1001");
	const char *hdrs[] = { "Accept: application/xml", NULL };
	m2m_request q;
	m2m_request_init(&q, M2M_OP_RETRIEVE, hfmt("%s/fw", d.node));
	q.from = d.ae;
	q.headers = hdrs;
	m2m_send(harness_client(), &q, &r);
	EXPECT_RSC(&r, 2000);
	const char *ct = m2m_result_header(&r, "Content-Type");
	EXPECT_TRUE(ct && strstr(ct, "xml"), r.headers);
	xmlDocPtr doc = xmlReadMemory(r.raw_body, (int)r.raw_len, NULL, "UTF-8",
	                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	bool ok = root && strcmp((const char *)root->name, "fwr") == 0 && root->ns &&
	          strcmp((const char *)root->ns->href, NSURI) == 0;
	xmlChar *rn = root ? xmlGetNoNsProp(root, (const xmlChar *)"rn") : NULL;
	ok = ok && rn && strcmp((const char *)rn, "fw") == 0;
	ok = ok && xml_text_is(xml_child(root, "ty"), "13") && xml_text_is(xml_child(root, "mgd"), "1001") &&
	     xml_text_is(xml_child(root, "vr"), "1.0") && xml_text_is(xml_child(root, "ud"), "false") &&
	     xml_text_is(xml_child(root, "url"), "http://gw/fw.bin");
	xmlFree(rn);
	if (doc)
		xmlFreeDoc(doc);
	if (!ok) {
		harness_dump(&r);
		fail_msg("the XML retrieve is not <m2m:fwr rn=\"fw\"> with ty 13, mgd 1001, vr, ud, url");
	}
	m2m_result_clear(&r);
	harness_case("create a battery in XML, retrieve it in JSON");
	const char *hx[] = { "Content-Type: application/xml;ty=13", "Accept: application/xml", NULL };
	m2m_request_init(&q, M2M_OP_CREATE, d.node);
	q.from = d.ae;
	q.headers = hx;
	q.raw_content = hfmt("<m2m:bat xmlns:m2m=\"%s\" rn=\"bat\"><acpi>%s</acpi><btl>42</btl><bts>2</bts></m2m:bat>",
	                     NSURI, d.acp);
	m2m_send(harness_client(), &q, &r);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	json_t *b = harness_get(hfmt("%s/bat", d.node), d.ae, "m2m:bat");
	EXPECT_INT(b, "btl", 42);
	EXPECT_INT(b, "bts", 2);
	EXPECT_INT(b, "mgd", 1006);
	json_decref(b);
	harness_delete(d.node, d.ae);
}

/* The next Notify the device receives (its m2m:sgn, new reference). */
static json_t *device_notify(notif_receiver *rx)
{
	json_t *sgn = notif_wait_event(rx, WAIT_MS);
	if (!sgn) {
		print_error("the device got no Notify within %d ms\n", WAIT_MS);
		harness_log_tail(20);
		fail();
	}
	return sgn;
}

/* The next notification to a subscriber: the representation in it. */
static json_t *subscriber_sees(notif_receiver *rx, const char *root)
{
	json_t *sgn = notif_wait_event(rx, WAIT_MS);
	if (!sgn) {
		print_error("the subscriber got no notification within %d ms\n", WAIT_MS);
		harness_log_tail(20);
		fail();
	}
	json_t *nev = json_object_get(sgn, "nev");
	EXPECT_INT(nev, "net", 1);
	json_t *rep = json_incref(json_object_get(json_object_get(nev, "rep"), root));
	EXPECT_TRUE(rep != NULL, sgn);
	json_decref(sgn);
	return rep;
}

static json_t *report(const char *acn, int sus)
{
	return json_pack("{s:{s:{s:s,s:i}}}", "m2m:fwr", "uds", "acn", acn, "sus", sus);
}

static void test_operation_life_cycle(void **state)
{
	(void)state;
	notif_receiver *rxd = notif_receiver_start(), *rxm = notif_receiver_start();
	assert_non_null(rxd);
	assert_non_null(rxm);
	const char *morig = harness_name("Cmgr");
	const char *mgr = harness_create_ae(morig, morig,
	                                    json_pack("{s:b,s:[s]}", "rr", 1, "poa", notif_receiver_url(rxm)));
	const char *other = harness_register("mgo");
	device d;
	device_make(&d, rxd, "mgdev", mgr, other);
	m2m_result r;
	harness_case("the device creates its firmware");
	mo_create(&r, &d, "m2m:fwr", "fw", json_loads(specs[0].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	char fw_ri[64];
	snprintf(fw_ri, sizeof(fw_ri), "%s", harness_jstr(harness_res(&r, "m2m:fwr"), "ri"));
	m2m_result_clear(&r);
	char fw[512];
	snprintf(fw, sizeof(fw), "%s/fw", d.node);
	harness_case("the manager subscribes to the firmware");
	harness_req(&r, M2M_OP_CREATE, fw, mgr, 23,
	            json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "watch", "nu", mgr, "enc", "net", 1), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	notif_drain(rxm);
	notif_drain(rxd);

	harness_case("the manager sets ud = true: 2004 with uds {acn, sus 3}");
	harness_req(&r, M2M_OP_UPDATE, fw, mgr, -1, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), NULL);
	EXPECT_RSC(&r, 2004);
	json_t *uds = json_object_get(harness_res(&r, "m2m:fwr"), "uds");
	EXPECT_INT(uds, "sus", 3);
	EXPECT_TRUE(harness_jstr(uds, "acn") != NULL, r.body);
	char acn[256];
	snprintf(acn, sizeof(acn), "%s", harness_jstr(uds, "acn"));
	m2m_result_clear(&r);

	harness_case("the device receives the Notify with the mgmtObj and its acn");
	json_t *sgn = device_notify(rxd);
	json_t *rep = json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"), "m2m:fwr");
	EXPECT_TRUE(rep != NULL, sgn);
	EXPECT_STR(rep, "ri", fw_ri);
	EXPECT_STR(json_object_get(rep, "uds"), "acn", acn);
	EXPECT_INT(json_object_get(rep, "uds"), "sus", 3);
	EXPECT_TRUE(json_is_true(json_object_get(rep, "ud")), rep);
	EXPECT_STR(rep, "url", "http://gw/fw.bin");
	EXPECT_TRUE(harness_id_matches(harness_jstr(sgn, "sur"), fw_ri, fw), sgn);
	json_decref(sgn);

	harness_case("the subscriber sees the operation start");
	json_t *seen = subscriber_sees(rxm, "m2m:fwr");
	EXPECT_INT(json_object_get(seen, "uds"), "sus", 3);
	EXPECT_STR(json_object_get(seen, "uds"), "acn", acn);
	json_decref(seen);

	harness_case("a second ud = true while in process: 4005");
	expect_update(fw, mgr, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), 4005);
	harness_case("a report from the manager (not in hael): 4005");
	expect_update(fw, mgr, report(acn, 1), 4005);
	harness_case("a report from another AE with update rights, not in hael: 4005");
	expect_update(fw, other, report(acn, 1), 4005);
	harness_case("a report from the admin: 4005");
	expect_update(fw, ADMIN, report(acn, 1), 4005);
	harness_case("the device reports another acn: 4000");
	expect_update(fw, d.ae, report("fwr-other/ud/7", 1), 4000);
	harness_case("the device reports sus 3: 4000");
	expect_update(fw, d.ae, report(acn, 3), 4000);
	harness_case("nothing changed: still in process");
	json_t *g = harness_get(fw, mgr, "m2m:fwr");
	EXPECT_INT(json_object_get(g, "uds"), "sus", 3);
	EXPECT_STR(g, "vr", "1.0");
	json_decref(g);

	harness_case("the device reports success with its new version");
	json_t *rp = report(acn, 1);
	json_object_set_new(json_object_get(rp, "m2m:fwr"), "vr", json_string("2.1.0"));
	expect_update(fw, d.ae, rp, 2004);
	g = harness_get(fw, mgr, "m2m:fwr");
	EXPECT_INT(json_object_get(g, "uds"), "sus", 1);
	EXPECT_STR(json_object_get(g, "uds"), "acn", acn);
	EXPECT_TRUE(json_is_false(json_object_get(g, "ud")), g);
	EXPECT_STR(g, "vr", "2.1.0");
	EXPECT_STR(g, "dc", "ok");
	json_decref(g);

	harness_case("the subscriber sees the end");
	seen = subscriber_sees(rxm, "m2m:fwr");
	EXPECT_INT(json_object_get(seen, "uds"), "sus", 1);
	EXPECT_STR(seen, "vr", "2.1.0");
	EXPECT_TRUE(json_is_false(json_object_get(seen, "ud")), seen);
	EXPECT_STR(seen, "dc", "ok");
	json_decref(seen);

	harness_case("a report with nothing in process: 4000");
	expect_update(fw, d.ae, report(acn, 1), 4000);
	harness_case("the next operation has another acn");
	harness_req(&r, M2M_OP_UPDATE, fw, mgr, -1, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), NULL);
	EXPECT_RSC(&r, 2004);
	const char *acn2 = harness_jstr(json_object_get(harness_res(&r, "m2m:fwr"), "uds"), "acn");
	EXPECT_TRUE(acn2 && strcmp(acn2, acn) != 0, r.body);
	snprintf(acn, sizeof(acn), "%s", acn2 ? acn2 : "");
	m2m_result_clear(&r);
	json_decref(device_notify(rxd));
	harness_case("the device reports a failure with its reason");
	rp = report(acn, 2);
	json_object_set_new(json_object_get(rp, "m2m:fwr"), "dc", json_string("digest-mismatch: image SHA-256 differs"));
	expect_update(fw, d.ae, rp, 2004);
	g = harness_get(fw, mgr, "m2m:fwr");
	EXPECT_INT(json_object_get(g, "uds"), "sus", 2);
	EXPECT_STR(g, "dc", "digest-mismatch: image SHA-256 differs");
	EXPECT_STR(g, "vr", "2.1.0");
	json_decref(g);

	harness_case("reboot: rbo true, the device resets it with dc ok");
	mo_create(&r, &d, "m2m:rbo", "rb", json_loads(specs[7].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	const char *rb = hfmt("%s/rb", d.node);
	char rbp[512];
	snprintf(rbp, sizeof(rbp), "%s", rb);
	notif_drain(rxd);
	expect_update(rbp, mgr, json_pack("{s:{s:b}}", "m2m:rbo", "rbo", 1), 2004);
	sgn = device_notify(rxd);
	EXPECT_TRUE(json_is_true(json_object_get(json_object_get(json_object_get(json_object_get(sgn, "nev"), "rep"),
	                                                         "m2m:rbo"), "rbo")), sgn);
	json_decref(sgn);
	expect_update(rbp, mgr, json_pack("{s:{s:b}}", "m2m:rbo", "far", 1), 4005);
	expect_update(rbp, d.ae, json_pack("{s:{s:b,s:s}}", "m2m:rbo", "rbo", 0, "dc", "ok"), 2004);
	g = harness_get(rbp, mgr, "m2m:rbo");
	EXPECT_TRUE(json_is_false(json_object_get(g, "rbo")), g);
	EXPECT_STR(g, "dc", "ok");
	json_decref(g);

	harness_delete(d.node, d.ae);
	notif_receiver_stop(&rxd);
	notif_receiver_stop(&rxm);
}

/* Poll `to` until uds leaves sus 3 (at most max_ms); its attributes. */
static json_t *wait_ended(const char *to, const char *fr, int max_ms)
{
	int64_t end = harness_now_ms() + max_ms;
	for (;;) {
		json_t *g = harness_get(to, fr, "m2m:fwr");
		if (harness_jint(json_object_get(g, "uds"), "sus", -1) != 3 || harness_now_ms() >= end)
			return g;
		json_decref(g);
		harness_sleep_ms(200);
	}
}

static void test_timeout(void **state)
{
	(void)state;
	HARNESS_LOCAL_ONLY();
	harness_case("restart the CSE with --mgmt-timeout 2");
	const char *args[] = { "--mgmt-timeout", "2", NULL };
	assert_int_equal(harness_cse_set_args(args), 0);
	assert_int_equal(harness_cse_restart(), 0);
	notif_receiver *rxd = notif_receiver_start(), *rxm = notif_receiver_start();
	assert_non_null(rxd);
	assert_non_null(rxm);
	const char *morig = harness_name("Cmgt");
	const char *mgr = harness_create_ae(morig, morig,
	                                    json_pack("{s:b,s:[s]}", "rr", 1, "poa", notif_receiver_url(rxm)));
	device d;
	device_make(&d, rxd, "mgtdev", mgr, NULL);
	m2m_result r;
	mo_create(&r, &d, "m2m:fwr", "fw", json_loads(specs[0].attrs, 0, NULL));
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	char fw[512];
	snprintf(fw, sizeof(fw), "%s/fw", d.node);
	harness_req(&r, M2M_OP_CREATE, fw, mgr, 23, json_pack("{s:{s:[s]}}", "m2m:sub", "nu", mgr), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	notif_drain(rxm);

	harness_case("a device that never reports: the operation fails with reason timeout");
	int64_t t0 = harness_now_ms();
	expect_update(fw, mgr, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), 2004);
	json_decref(device_notify(rxd));
	json_t *g = wait_ended(fw, mgr, 10000);
	EXPECT_INT(json_object_get(g, "uds"), "sus", 2);
	EXPECT_TRUE(harness_jstr(g, "dc") && strncmp(harness_jstr(g, "dc"), "timeout", 7) == 0, g);
	EXPECT_TRUE(json_is_false(json_object_get(g, "ud")), g);
	EXPECT_TRUE(harness_now_ms() - t0 >= 1500, g);
	json_decref(g);
	harness_case("the subscriber sees start and timeout");
	json_t *seen = subscriber_sees(rxm, "m2m:fwr");
	EXPECT_INT(json_object_get(seen, "uds"), "sus", 3);
	json_decref(seen);
	seen = subscriber_sees(rxm, "m2m:fwr");
	EXPECT_INT(json_object_get(seen, "uds"), "sus", 2);
	json_decref(seen);

	harness_case("an operation in process at a restart gets a fresh timeout");
	expect_update(fw, mgr, json_pack("{s:{s:b}}", "m2m:fwr", "ud", 1), 2004);
	assert_int_equal(harness_cse_restart(), 0);
	g = harness_get(fw, mgr, "m2m:fwr");
	EXPECT_INT(json_object_get(g, "uds"), "sus", 3);
	json_decref(g);
	g = wait_ended(fw, mgr, 10000);
	EXPECT_INT(json_object_get(g, "uds"), "sus", 2);
	EXPECT_TRUE(harness_jstr(g, "dc") && strncmp(harness_jstr(g, "dc"), "timeout", 7) == 0, g);
	json_decref(g);

	harness_delete(d.node, d.ae);
	notif_receiver_stop(&rxd);
	notif_receiver_stop(&rxm);
	assert_int_equal(harness_cse_set_args(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_create_each_specialization),
		HTEST(test_update_rules),
		HTEST(test_node_cascade),
		HTEST(test_json_create_xml_retrieve),
		HTEST(test_operation_life_cycle),
		HTEST(test_timeout), /* last: restarts the daemon with a short timeout */
	};
	xmlInitParser();
	return cmocka_run_group_tests_name("13_mgmtobj", tests, harness_group_setup, harness_group_teardown);
}
