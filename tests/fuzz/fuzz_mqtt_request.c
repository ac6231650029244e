/*
 * fuzz_mqtt_request.c - an MQTT message as the binding sees it: the topic
 * (mqtt_topic_parse, mqtt_topic_reply, mqtt_id_to_level) and the payload
 * (mqtt_to_request, then the whole pipeline, then mqtt_response_encode and
 * mqtt_response_decode of that answer, as a peer would read it).
 *
 * Input: the topic on the first line, the payload after it, e.g.
 *   /oneM2M/req/Cfzae/id-in/json
 *   {"op":2,"to":"cse-in/fzae","fr":"Cfzae","rqi":"1","rvi":"4"}
 * A topic whose last level is "xml" makes the payload an XML m2m:rqp
 * document (codec_xml_decode_prim()), answered as an m2m:rsp document; any
 * other topic, or none, means JSON.
 * Inputs that may name a URL (fz_json_names_network) are translated but
 * not executed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#include "bindings/mqtt_binding.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	(void)fz_cse();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fz_memdup0(data, size);
	char *nl = memchr(buf, '\n', size);
	size_t tlen = nl ? (size_t)(nl - buf) : size;
	const char *payload = nl ? nl + 1 : "";
	size_t plen = nl ? size - tlen - 1 : 0;
	m2m_request req;
	m2m_response rsp;
	mqtt_topic t;
	char out[2 * MQTT_LEVEL_MAX + 64];

	m2m_fmt fmt = M2M_FMT_JSON;

	buf[tlen] = '\0';
	if (mqtt_topic_parse(buf, &t) == 0) {
		if (mqtt_fmt_parse(t.type, &fmt) != 0)
			fmt = M2M_FMT_JSON;
		(void)mqtt_topic_reply(&t, out, sizeof out);
		if (strlen(t.orig) + strlen(t.recv) + 24 > sizeof out)
			fz_fail("topic levels longer than MQTT_LEVEL_MAX");
	}
	(void)mqtt_id_to_level(buf, "/id-in", out, sizeof out);

	m2m_request_init(&req);
	m2m_response_init(&rsp);
	bool accepted = mqtt_to_request(payload, plen, fmt, &req, &rsp) == 0;
	if (accepted) {
		if (!fz_json_names_network(req.pc) && !fz_json_names_network(req.rtu)) {
			req.fmt = fmt;
			cse_handle(fz_cse(), &req, &rsp);
		} else {
			m2m_ok(&rsp, 2000, NULL);
		}
	} else if (rsp.rsc != 4000 || !json_is_string(json_object_get(rsp.pc, "m2m:dbg"))) {
		fz_fail("mqtt_to_request() refused the payload with rsc %d but no m2m:dbg", rsp.rsc);
	}
	char *text = mqtt_response_encode(&req, &rsp, fmt);
	if (!text)
		fz_fail("mqtt_response_encode() failed");
	m2m_response back;
	m2m_response_init(&back);
	if (mqtt_response_decode(text, strlen(text), fmt, &back) != 0 || back.rsc != rsp.rsc)
		fz_fail("the encoded response does not decode to rsc %d: %.2000s", rsp.rsc, text);
	m2m_response_clear(&back);
	free(text);
	if (accepted) {
		/* an accepted request re-encodes, and decodes to the same target */
		text = mqtt_request_encode(&req, fmt);
		if (!text)
			fz_fail("mqtt_request_encode() failed");
		m2m_request again;
		m2m_response scratch;
		m2m_request_init(&again);
		m2m_response_init(&scratch);
		if (mqtt_to_request(text, strlen(text), fmt, &again, &scratch) != 0 ||
		    strcmp(again.to, req.to) != 0 || again.op != req.op)
			fz_fail("the re-encoded request does not decode: %.2000s", text);
		m2m_request_clear(&again);
		m2m_response_clear(&scratch);
		free(text);
	}
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	free(buf);
	return 0;
}
