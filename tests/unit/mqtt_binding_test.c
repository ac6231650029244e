/*
 * mqtt_binding_test.c - the pure half of the MQTT binding: topics, IDs as
 * topic levels (digest 12.2), JSON and XML request primitives ->
 * m2m_request and response encoding (digest 2.1-2.3, 12.3, 13). Tables of
 * cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bindings/mqtt_binding.h"
#include "bindings/codec_xml.h"

#define NS "xmlns:m2m=\"http://www.onem2m.org/xml/protocols\""

static void test_topic_parse(void **state)
{
	static const struct {
		const char *topic;
		int ok;
		mqtt_topic_kind kind;
		const char *orig, *recv, *type;
	} cases[] = {
		{ "/oneM2M/req/CmyAE/id-in/json", 1, MQTT_T_REQ, "CmyAE", "id-in", "json" },
		{ "/oneM2M/resp/id-in/CmyAE/json", 1, MQTT_T_RESP, "id-in", "CmyAE", "json" },
		{ "/oneM2M/reg_req/C/id-in/json", 1, MQTT_T_REG_REQ, "C", "id-in", "json" },
		{ "/oneM2M/reg_resp/C/id-in/xml", 1, MQTT_T_REG_RESP, "C", "id-in", "xml" },
		{ "oneM2M/req/C/id-in/json", 0, 0, NULL, NULL, NULL },     /* no leading '/' */
		{ "/oneM2M/req/C/id-in", 0, 0, NULL, NULL, NULL },         /* too few levels */
		{ "/oneM2M/req/C/id-in/json/x", 0, 0, NULL, NULL, NULL },  /* too many */
		{ "/oneM2M/req//id-in/json", 0, 0, NULL, NULL, NULL },     /* empty level */
		{ "/oneM2M/foo/C/id-in/json", 0, 0, NULL, NULL, NULL },
		{ "/onem2m/req/C/id-in/json", 0, 0, NULL, NULL, NULL },
		{ "", 0, 0, NULL, NULL, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mqtt_topic t;
		int rc = mqtt_topic_parse(cases[i].topic, &t);
		assert_int_equal(rc == 0, cases[i].ok);
		if (!cases[i].ok)
			continue;
		assert_int_equal(t.kind, cases[i].kind);
		assert_string_equal(t.orig, cases[i].orig);
		assert_string_equal(t.recv, cases[i].recv);
		assert_string_equal(t.type, cases[i].type);
	}
	mqtt_topic t;
	char out[128];
	assert_int_equal(mqtt_topic_parse("/oneM2M/reg_req/Cx/id-in/json", &t), 0);
	assert_int_equal(mqtt_topic_reply(&t, out, sizeof out), 0);
	assert_string_equal(out, "/oneM2M/reg_resp/Cx/id-in/json");
	assert_int_equal(mqtt_topic_parse("/oneM2M/resp/Cx/id-in/json", &t), 0);
	assert_int_equal(mqtt_topic_reply(&t, out, sizeof out), -1);
}

static void test_id_to_level(void **state)
{
	static const struct {
		const char *id, *own, *want; /* want NULL: refused */
	} cases[] = {
		{ "/id-in", NULL, "id-in" },
		{ "/id-in/CmyAE", NULL, "id-in:CmyAE" },
		{ "/id-in/CmyAE", "/id-in", "CmyAE" },
		{ "/id-mn/CmyAE", "/id-in", "id-mn:CmyAE" },
		{ "//sp.example/id-in", NULL, ":sp.example:id-in" },
		{ "CmyAE", "/id-in", "CmyAE" },
		{ "", NULL, NULL },
		{ "/", NULL, NULL },
		{ "a+b", NULL, NULL },
		{ "a#", NULL, NULL },
		{ "a\nb", NULL, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[MQTT_LEVEL_MAX];
		int rc = mqtt_id_to_level(cases[i].id, cases[i].own, out, sizeof out);
		if (!cases[i].want) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_to_request(void **state)
{
	static const struct {
		const char *payload;
		int rsc;         /* 0: accepted */
		const char *rqi; /* expected rqi (request or error response) */
	} cases[] = {
		{ "{\"op\":2,\"to\":\"cse-in\",\"fr\":\"CAdmin\",\"rqi\":\"a\",\"rvi\":\"4\"}", 0, "a" },
		{ "{\"m2m:rqp\":{\"op\":2,\"to\":\"cse-in\",\"rqi\":\"w\",\"rvi\":\"3\"}}", 0, "w" },
		{ "{\"op\":1,\"to\":\"cse-in\",\"rqi\":\"r\",\"rvi\":4,\"ty\":2,\"pc\":{\"m2m:ae\":{}}}", 0, "r" },
		{ "{\"op\":2,\"to\":\"x\",\"rqi\":\"f\",\"fc\":{\"fu\":1,\"ty\":[3]},\"rcn\":11,\"drt\":2}", 0, "f" },
		{ "{\"op\":2,\"to\":", 4000, NULL },
		{ "[1,2]", 4000, NULL },
		{ "", 4000, NULL },
		{ "{\"op\":2,\"to\":\"x\"}", 4000, NULL },                   /* no rqi */
		{ "{\"op\":\"get\",\"to\":\"x\",\"rqi\":\"b\"}", 4000, "b" },
		{ "{\"op\":9,\"to\":\"x\",\"rqi\":\"c\"}", 4000, "c" },
		{ "{\"to\":\"x\",\"rqi\":\"d\"}", 4000, "d" },                /* no op */
		{ "{\"op\":2,\"rqi\":\"e\"}", 4000, "e" },                    /* no to */
		{ "{\"op\":1,\"to\":\"x\",\"rqi\":\"g\",\"pc\":[1]}", 4000, "g" },
		{ "{\"op\":2,\"to\":\"x\",\"rqi\":\"h\",\"fc\":3}", 4000, "h" },
		{ "{\"op\":2,\"to\":\"x\",\"rqi\":\"i\",\"rt\":{\"nu\":[]}}", 4000, "i" },
		{ "{\"op\":2,\"to\":\"x\",\"rqi\":\"j\",\"rids\":[1]}", 4000, "j" },
		{ "{\"op\":2,\"to\":\"x\",\"rqi\":\"k\",\"k\":1,\"k\":2}", 4000, NULL }, /* duplicate */
	};
	/* the same rules for m2m:rqp documents on xml topics */
	static const struct {
		const char *payload;
		int rsc;
		const char *rqi;
	} xcases[] = {
		{ "<m2m:rqp " NS "><op>2</op><to>cse-in</to><fr>CAdmin</fr><rqi>a</rqi><rvi>4</rvi></m2m:rqp>", 0, "a" },
		{ "<m2m:rqp " NS "><op>1</op><to>cse-in</to><rqi>r</rqi><ty>2</ty>"
		  "<pc><m2m:ae rn=\"x\"><api>Nx</api><rr>false</rr><srv>4</srv></m2m:ae></pc><rvi>4</rvi></m2m:rqp>", 0, "r" },
		{ "<m2m:rqp " NS "><op>2</op><to>x</to><rqi>f</rqi><rcn>11</rcn>"
		  "<fc><fu>1</fu><ty>3</ty><atr><nm>rn</nm><val>v</val></atr></fc><drt>2</drt></m2m:rqp>", 0, "f" },
		{ "<m2m:rqp " NS "><op>2</op><to>", 4000, NULL },
		{ "<m2m:rsp " NS "><rsc>2000</rsc><rqi>z</rqi></m2m:rsp>", 4000, NULL },
		{ "<!DOCTYPE x [<!ENTITY e \"y\">]><m2m:rqp " NS "><rqi>&e;</rqi></m2m:rqp>", 4000, NULL },
		{ "{\"op\":2,\"to\":\"x\",\"rqi\":\"a\"}", 4000, NULL }, /* JSON on an xml topic */
		{ "", 4000, NULL },
		{ "<m2m:rqp " NS "><op>get</op><to>x</to><rqi>b</rqi></m2m:rqp>", 4000, "b" },
		{ "<m2m:rqp " NS "><to>x</to><rqi>d</rqi></m2m:rqp>", 4000, "d" },
		{ "<m2m:rqp " NS "><op>1</op><to>x</to><rqi>g</rqi><pc>text</pc></m2m:rqp>", 4000, "g" },
		{ "<m2m:rqp " NS "><op>2</op><to><a/></to><rqi>t</rqi></m2m:rqp>", 4000, "t" },
		{ "<m2m:rqp " NS "><op>2</op><to>x</to><rqi>i</rqi><rt><nu>a</nu></rt></m2m:rqp>", 4000, "i" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		m2m_request req;
		m2m_response rsp;
		m2m_request_init(&req);
		m2m_response_init(&rsp);
		int rc = mqtt_to_request(cases[i].payload, strlen(cases[i].payload), M2M_FMT_JSON, &req,
		                         &rsp);
		if (cases[i].rsc == 0) {
			assert_int_equal(rc, 0);
			assert_string_equal(req.rqi, cases[i].rqi);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(rsp.rsc, cases[i].rsc);
			if (cases[i].rqi)
				assert_string_equal(rsp.rqi, cases[i].rqi);
			else
				assert_null(rsp.rqi);
			assert_non_null(json_object_get(rsp.pc, "m2m:dbg"));
		}
		m2m_request_clear(&req);
		m2m_response_clear(&rsp);
	}
	for (size_t i = 0; i < sizeof xcases / sizeof xcases[0]; i++) {
		m2m_request req;
		m2m_response rsp;
		m2m_request_init(&req);
		m2m_response_init(&rsp);
		int rc = mqtt_to_request(xcases[i].payload, strlen(xcases[i].payload), M2M_FMT_XML, &req,
		                         &rsp);
		if (xcases[i].rsc == 0) {
			if (rc != 0)
				print_error("xml case %zu: %s\n", i, json_string_value(json_object_get(rsp.pc, "m2m:dbg")));
			assert_int_equal(rc, 0);
			assert_string_equal(req.rqi, xcases[i].rqi);
		} else {
			if (rc == 0)
				print_error("xml case %zu accepted\n", i);
			assert_int_equal(rc, -1);
			assert_int_equal(rsp.rsc, xcases[i].rsc);
			if (xcases[i].rqi)
				assert_string_equal(rsp.rqi, xcases[i].rqi);
			else
				assert_null(rsp.rqi);
			assert_non_null(json_object_get(rsp.pc, "m2m:dbg"));
		}
		if (i == 2) { /* typed filter criteria */
			json_t *want = json_loads("{\"fu\":1,\"ty\":[3],\"atr\":[{\"nm\":\"rn\",\"val\":\"v\"}]}", 0, NULL);
			assert_true(json_equal(req.fc, want));
			assert_int_equal(req.rcn, 11);
			assert_int_equal(req.drt, 2);
			json_decref(want);
		}
		m2m_request_clear(&req);
		m2m_response_clear(&rsp);
	}
}

static void test_fields_and_encode(void **state)
{
	const char *p = "{\"op\":1,\"to\":\"cse-in/ae\",\"fr\":\"Cae\",\"rqi\":\"q1\",\"rvi\":\"4\","
	                "\"ty\":3,\"pc\":{\"m2m:cnt\":{\"rn\":\"c\"}},\"rcn\":0,\"rqet\":\"20300101T000000\","
	                "\"rt\":{\"rtv\":3},\"ec\":2,\"gid\":\"g\",\"vsi\":\"v\",\"ot\":\"20250101T000000\"}";
	m2m_request req;
	m2m_response rsp;
	(void)state;
	for (int f = 0; f < 2; f++) {
		m2m_fmt fmt = f ? M2M_FMT_XML : M2M_FMT_JSON;
		m2m_request_init(&req);
		m2m_response_init(&rsp);
		assert_int_equal(mqtt_to_request(p, strlen(p), M2M_FMT_JSON, &req, &rsp), 0);
		assert_int_equal(req.op, 1);
		assert_string_equal(req.to, "cse-in/ae");
		assert_string_equal(req.fr, "Cae");
		assert_int_equal(req.ty, 3);
		assert_int_equal(req.rcn, 0);
		assert_int_equal(req.rtv, 3);
		assert_int_equal(req.ec, 2);
		assert_string_equal(req.rqet, "20300101T000000");
		assert_string_equal(req.gid, "g");
		assert_string_equal(req.vsi, "v");
		assert_non_null(json_object_get(req.pc, "m2m:cnt"));

		/* request -> JSON/XML -> request keeps the parameters */
		char *text = mqtt_request_encode(&req, fmt);
		assert_non_null(text);
		assert_true((text[0] == '<') == (fmt == M2M_FMT_XML));
		m2m_request back;
		m2m_request_init(&back);
		assert_int_equal(mqtt_to_request(text, strlen(text), fmt, &back, &rsp), 0);
		assert_int_equal(back.ty, 3);
		assert_int_equal(back.rtv, 3);
		assert_int_equal(back.ec, 2);
		assert_string_equal(back.vsi, "v");
		assert_string_equal(back.rqet, req.rqet);
		assert_true(json_equal(back.pc, req.pc));
		free(text);
		m2m_request_clear(&back);

		m2m_ok(&rsp, 2001, json_pack("{s:{s:s}}", "m2m:cnt", "rn", "c"));
		rsp.fr = m2m_strdup("/id-in");
		text = mqtt_response_encode(&req, &rsp, fmt);
		json_t *j = NULL;
		if (fmt == M2M_FMT_XML) {
			char err[256];
			assert_int_equal(codec_xml_decode_prim(text, strlen(text), "m2m:rsp", &j, err, sizeof err), 0);
		} else {
			j = json_loads(text, 0, NULL);
	}
	assert_int_equal(json_integer_value(json_object_get(j, "rsc")), 2001);
	assert_string_equal(json_string_value(json_object_get(j, "rqi")), "q1");
	assert_string_equal(json_string_value(json_object_get(j, "rvi")), "4");
	assert_string_equal(json_string_value(json_object_get(j, "to")), "Cae");
	assert_string_equal(json_string_value(json_object_get(j, "fr")), "/id-in");
	m2m_response back_rsp;
	m2m_response_init(&back_rsp);
	assert_int_equal(mqtt_response_decode(text, strlen(text), fmt, &back_rsp), 0);
	assert_int_equal(back_rsp.rsc, 2001);
	assert_string_equal(back_rsp.rqi, "q1");
	assert_non_null(json_object_get(back_rsp.pc, "m2m:cnt"));
	m2m_response_clear(&back_rsp);
	assert_int_equal(mqtt_response_decode("{\"rqi\":\"x\"}", 11, M2M_FMT_JSON, &back_rsp), -1);
	m2m_response_clear(&back_rsp);
	assert_int_equal(mqtt_response_decode(text, strlen(text), f ? M2M_FMT_JSON : M2M_FMT_XML,
	                                      &back_rsp), -1); /* the other serialization */
	m2m_response_clear(&back_rsp);
	json_decref(j);
	free(text);
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	}
	m2m_fmt fmt;
	assert_int_equal(mqtt_fmt_parse("xml", &fmt), 0);
	assert_int_equal(fmt, M2M_FMT_XML);
	assert_int_equal(mqtt_fmt_parse("json", &fmt), 0);
	assert_int_equal(fmt, M2M_FMT_JSON);
	assert_int_equal(mqtt_fmt_parse("cbor", &fmt), -1);
	assert_string_equal(mqtt_fmt_name(M2M_FMT_XML), "xml");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_parse),
		cmocka_unit_test(test_id_to_level),
		cmocka_unit_test(test_to_request),
		cmocka_unit_test(test_fields_and_encode),
	};
	return cmocka_run_group_tests_name("mqtt_binding", tests, NULL, NULL);
}
