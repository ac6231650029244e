/*
 * 11_xml_test.c - XML serialization over HTTP (TS-0004 8.3, TS-0009;
 * digest sections 11 and 13), black box.
 *
 * Design note
 *   The oracle is independent of the CSE's codec: XML answers are parsed
 *   here with libxml2 and compared member by member with the JSON
 *   representation of the same resource (xml_matches_json): the root is
 *   m2m:<type> in the oneM2M namespace, rn is an attribute, every JSON
 *   member is an unprefixed element (numbers and booleans as text, a list
 *   of scalars as one space-separated element, a list of objects and the
 *   child references as repeated elements, null as an empty element) and
 *   there is no element the JSON lacks. "A resource created in JSON and
 *   retrieved in XML (and the reverse) carries the same attributes and
 *   values" is checked for every resource type the CSE supports.
 */
#include "conformance/lib/harness.h"
#include "bindings/codec_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define CSE harness_cse_rn()
#define ADMIN harness_admin()
#define NSURI "http://www.onem2m.org/xml/protocols"
#define NS "xmlns:m2m=\"" NSURI "\""

static const char *const XML_HDRS_ACCEPT[] = { "Accept: application/xml", NULL };

/* ---- XML over the client ---------------------------------------------- */

/* Send an XML body (ct is the full Content-Type) and ask for accept. */
static void xml_send(m2m_result *r, m2m_op op, const char *to, const char *fr, const char *ct,
                     const char *accept, const char *body, const char *query)
{
	m2m_request q;
	const char *hdrs[3];
	char cth[128], acc[128];
	int n = 0;

	m2m_request_init(&q, op, to);
	q.from = fr;
	if (ct) {
		snprintf(cth, sizeof cth, "Content-Type: %s", ct);
		hdrs[n++] = cth;
	}
	snprintf(acc, sizeof acc, "Accept: %s", accept);
	hdrs[n++] = acc;
	hdrs[n] = NULL;
	q.headers = hdrs;
	q.raw_content = body;
	q.query = query;
	harness_send(r, &q);
}

static xmlDocPtr xml_parse(const m2m_result *r)
{
	if (!r->raw_body || r->raw_len == 0)
		return NULL;
	return xmlReadMemory(r->raw_body, (int)r->raw_len, NULL, "UTF-8",
	                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static bool is_xml_answer(const m2m_result *r)
{
	const char *ct = m2m_result_header(r, "Content-Type");
	return ct && strncmp(ct, "application/xml", 15) == 0;
}

/* ---- the oracle ------------------------------------------------------- */

static char why[512];

static bool fail_why(const char *fmt, const char *a, const char *b)
{
	snprintf(why, sizeof why, fmt, a ? a : "", b ? b : "");
	return false;
}

static char *text_of(const xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	char *s = strdup(c ? (const char *)c : "");
	xmlFree(c);
	return s;
}

/* Text form of a JSON scalar, as XML carries it. */
static const char *scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return hfmt("%s", json_string_value(v));
	if (json_is_integer(v))
		return hfmt("%lld", (long long)json_integer_value(v));
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_null(v))
		return "";
	return NULL;
}

static bool all_scalars(const json_t *a)
{
	size_t i;
	json_t *m;
	json_array_foreach(a, i, m)
		if (json_is_object(m) || json_is_array(m))
			return false;
	return true;
}

static bool elem_matches(const xmlNode *e, const char *name, const json_t *v, int depth);

/* Element children of n named `name` (unqualified, or m2m: when prefixed). */
static size_t children_named(const xmlNode *n, const char *name, const xmlNode **out, size_t max)
{
	size_t k = 0;
	bool pref = strncmp(name, "m2m:", 4) == 0;
	const char *local = pref ? name + 4 : name;

	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, local) != 0)
			continue;
		if (pref != (c->ns && c->ns->href && strcmp((const char *)c->ns->href, NSURI) == 0))
			continue;
		if (k < max)
			out[k] = c;
		k++;
	}
	return k;
}

static bool members_match(const xmlNode *n, const json_t *o, bool resource, int depth)
{
	const char *k;
	json_t *v;
	size_t want = 0, got = 0;

	json_object_foreach((json_t *)o, k, v) {
		const xmlNode *found[64];
		size_t cnt;

		if (resource && strcmp(k, "rn") == 0) {
			xmlChar *rn = xmlGetNoNsProp(n, (const xmlChar *)"rn");
			bool ok = rn && strcmp((const char *)rn, json_string_value(v)) == 0;
			xmlFree(rn);
			if (!ok)
				return fail_why("rn attribute differs from '%s'%s", json_string_value(v), NULL);
			continue;
		}
		cnt = children_named(n, k, found, 64);
		if (json_is_array(v) && (!all_scalars(v) || strcmp(k, "actw") == 0 || strncmp(k, "m2m:", 4) == 0 ||
		                         strcmp(k, "net") == 0)) {
			/* repeated elements */
			if (cnt != json_array_size(v) || cnt > 64)
				return fail_why("<%s>: element count differs from the JSON list%s", k, NULL);
			for (size_t i = 0; i < cnt; i++)
				if (!elem_matches(found[i], k, json_array_get(v, i), depth + 1))
					return false;
			want += cnt;
		} else {
			if (cnt != 1)
				return fail_why("<%s> %s", k, cnt ? "repeated" : "missing");
			if (!elem_matches(found[0], k, v, depth + 1))
				return false;
			want++;
		}
	}
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			got++;
	if (got != want)
		return fail_why("element <%s> has elements the JSON lacks%s", (const char *)n->name, NULL);
	return true;
}

static bool elem_matches(const xmlNode *e, const char *name, const json_t *v, int depth)
{
	if (depth > 32)
		return fail_why("too deep at <%s>%s", name, NULL);
	if (json_is_object(v)) {
		json_t *val = json_object_get(v, "val");
		if (val && json_is_string(val) && (strcmp(name, "ch") == 0 || strcmp(name, "rrf") == 0)) {
			/* <ch nm=".." typ="..">val</ch> */
			xmlChar *nm = xmlGetNoNsProp(e, (const xmlChar *)"nm");
			xmlChar *typ = xmlGetNoNsProp(e, (const xmlChar *)"typ");
			char *t = text_of(e);
			bool ok = nm && typ && strcmp(t, json_string_value(val)) == 0 &&
			          strcmp((const char *)nm, json_string_value(json_object_get(v, "nm"))) == 0 &&
			          strcmp((const char *)typ, scalar_text(json_object_get(v, "typ"))) == 0;
			xmlFree(nm);
			xmlFree(typ);
			free(t);
			return ok ? true : fail_why("child reference <%s> differs%s", name, NULL);
		}
		return members_match(e, v, strncmp(name, "m2m:", 4) == 0, depth);
	}
	if (json_is_array(v)) {
		/* xs:list: one element, values separated by spaces */
		char *t = text_of(e), buf[4096] = "";
		size_t i, at = 0;
		json_t *m;
		bool ok;
		json_array_foreach(v, i, m) {
			int n = snprintf(buf + at, sizeof buf - at, "%s%s", i ? " " : "", scalar_text(m));
			if (n < 0 || (size_t)n >= sizeof buf - at)
				break;
			at += (size_t)n;
		}
		ok = strcmp(t, buf) == 0;
		if (!ok)
			snprintf(why, sizeof why, "list <%s>: XML '%.200s', JSON '%.200s'", name, t, buf);
		free(t);
		return ok;
	}
	if (strcmp(name, "ctm") == 0 || strcmp(name, "rqi") == 0)
		return true; /* current time, request id: differ between two requests */
	{
		char *t = text_of(e);
		const char *w = scalar_text(v);
		bool ok = w && strcmp(t, w) == 0 && (!json_is_null(v) || !e->children);
		if (!ok)
			snprintf(why, sizeof why, "<%s>: XML '%.200s', JSON '%.200s'", name, t, w ? w : "?");
		free(t);
		return ok;
	}
}

/* Does the XML answer r carry exactly the JSON content pc ({"m2m:x":...})? */
static bool xml_matches_json(const m2m_result *r, const json_t *pc)
{
	xmlDocPtr doc = xml_parse(r);
	const xmlNode *root;
	const char *name = NULL;
	json_t *v = NULL;
	bool ok = false;

	why[0] = '\0';
	if (!json_is_object(pc) || json_object_size(pc) != 1) {
		if (doc)
			xmlFreeDoc(doc);
		return fail_why("JSON content is not one root%s%s", NULL, NULL);
	}
	if (!doc)
		return fail_why("answer is not well-formed XML%s%s", NULL, NULL);
	root = xmlDocGetRootElement(doc);
	json_object_foreach((json_t *)pc, name, v)
		break;
	if (!root || !name || !v || !root->ns || strcmp((const char *)root->ns->href, NSURI) != 0 ||
	    !root->ns->prefix || strcmp((const char *)root->ns->prefix, "m2m") != 0 ||
	    strcmp((const char *)root->name, name + 4) != 0)
		fail_why("root is not <%s> in the oneM2M namespace with prefix m2m%s", name, NULL);
	else
		ok = elem_matches(root, name, v, 0);
	xmlFreeDoc(doc);
	return ok;
}

#define EXPECT_XML_MATCHES(r, pc)                                                        \
	do {                                                                             \
		if (!xml_matches_json((r), (pc))) {                                      \
			char *j_ = json_dumps((pc), JSON_COMPACT);                       \
			print_message("XML/JSON mismatch: %s\n  XML:  %.3000s\n  JSON: %.3000s\n", \
			              why, (r)->raw_body, j_);                           \
			free(j_);                                                        \
			fail();                                                          \
		}                                                                        \
	} while (0)

/* Retrieve `to` in JSON: the resource's content object {"m2m:x":{...}}. */
static json_t *get_json(const char *to, const char *fr)
{
	m2m_result r;
	json_t *b;

	harness_req(&r, M2M_OP_RETRIEVE, to, fr, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	b = json_incref(r.body);
	m2m_result_clear(&r);
	return b;
}

/* ---- the resources, in XML ------------------------------------------- */

typedef struct xml_res {
	int ty;
	const char *root;   /* "m2m:cnt" */
	const char *parent; /* relative to the AE; NULL: the CSEBase */
	const char *body;   /* members after the root's start tag, %s = rn ... */
} xml_res;

static const char *ae_xml(const char *rn, const char *poa)
{
	return hfmt("<m2m:ae " NS " rn=\"%s\"><lbl>xml test</lbl><api>Nxmltest</api><rr>true</rr>"
	            "<poa>%s</poa><srv>3 4</srv></m2m:ae>", rn, poa);
}

/* Register an AE in XML; returns its AE-ID (tracked for teardown). */
static const char *register_xml(const char *poa)
{
	const char *orig = harness_name("Cxml");
	m2m_result r;
	json_t *ae;

	xml_send(&r, M2M_OP_CREATE, CSE, orig, "application/vnd.onem2m-res+xml; ty=2", "application/json",
	         ae_xml(orig, poa), NULL);
	EXPECT_RSC(&r, 2001);
	ae = harness_res(&r, "m2m:ae");
	EXPECT_TRUE(ae != NULL, r.body);
	EXPECT_STR(ae, "aei", orig); /* a C... originator keeps its AE-ID */
	m2m_result_clear(&r);
	return orig;
}

/*
 * Create the resource in XML (Accept: application/xml), then check that
 * the XML answer equals the JSON retrieve of the same resource, and that
 * the JSON retrieve carries what was sent. The resource is parent/rn.
 */
static void create_xml_check(const char *parent, const char *fr, int ty, const char *root,
                             const char *rn, const char *members, json_t *expect)
{
	m2m_result r;
	json_t *j, *res;
	char path[512];
	const char *xml = hfmt("<%s " NS " rn=\"%s\">%s</%s>", root, rn, members, root);
	const char *k;
	json_t *v;

	snprintf(path, sizeof path, "%s/%s", parent, rn);
	harness_case("create %s in XML, retrieve in JSON", root);
	xml_send(&r, M2M_OP_CREATE, parent, fr, hfmt("application/xml;ty=%d", ty), "application/xml", xml,
	         NULL);
	EXPECT_RSC(&r, 2001);
	EXPECT_TRUE(is_xml_answer(&r), NULL);
	j = get_json(path, fr);
	res = json_object_get(j, root);
	EXPECT_TRUE(res != NULL, j);
	EXPECT_XML_MATCHES(&r, j);
	/* what was sent is there, with its JSON types */
	json_object_foreach(expect, k, v)
		if (!json_equal(json_object_get(res, k), v)) {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			print_message("member %s: want %s\n", k, s);
			free(s);
			EXPECT_TRUE(false, res);
		}
	json_decref(j);
	json_decref(expect);
	m2m_result_clear(&r);
}

/* Retrieve in XML and compare with the JSON retrieve. */
static void retrieve_xml_check(const char *to, const char *fr, const char *query)
{
	m2m_result r;
	json_t *j;

	xml_send(&r, M2M_OP_RETRIEVE, to, fr, NULL, "application/vnd.onem2m-res+xml", NULL, query);
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(is_xml_answer(&r), NULL);
	if (query) {
		m2m_result rj;
		harness_req(&rj, M2M_OP_RETRIEVE, to, fr, -1, NULL, query);
		EXPECT_RSC(&rj, 2000);
		j = json_incref(rj.body);
		m2m_result_clear(&rj);
	} else {
		j = get_json(to, fr);
	}
	EXPECT_XML_MATCHES(&r, j);
	json_decref(j);
	m2m_result_clear(&r);
}

static void test_xml_create_json_retrieve(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	notif_receiver *rx = notif_receiver_start();
	const char *ae;
	char cntri[256], aepath[256], cntpath[256], acp[256];
	m2m_result r;

	(void)state;
	assert_non_null(rx);
	harness_case("register an AE in XML");
	ae = register_xml(notif_receiver_url(rx));
	harness_track_ae(ae);
	snprintf(aepath, sizeof aepath, "%s/%s", CSE, ae);
	snprintf(acp, sizeof acp, "%s/xacp", aepath);
	snprintf(cntpath, sizeof cntpath, "%s/xcnt", aepath);
	{
		json_t *j = get_json(aepath, ae), *a = json_object_get(j, "m2m:ae");
		EXPECT_STR(a, "api", "Nxmltest");
		EXPECT_TRUE(json_is_true(json_object_get(a, "rr")), a);
		EXPECT_TRUE(json_array_size(json_object_get(a, "srv")) == 2, a);
		EXPECT_TRUE(harness_list_has_str(json_object_get(a, "lbl"), "xml"), a);
		json_decref(j);
	}
	retrieve_xml_check(aepath, ae, NULL);

	create_xml_check(aepath, ae, 1, "m2m:acp", "xacp",
	                       hfmt("<lbl>p q</lbl><pv><acr><acor>%s all</acor><acop>63</acop>"
	                            "<acco><actw>* * * * * *</actw><acip><ipv4>127.0.0.1 10.0.0.0/8</ipv4></acip></acco>"
	                            "<acaf>true</acaf></acr><acr><acor>Cnobody</acor><acop>2</acop></acr></pv>"
	                            "<pvs><acr><acor>%s</acor><acop>63</acop></acr></pvs>", ae, ae),
	                       json_pack("{s:[s,s]}", "lbl", "p", "q"));
	{
		json_t *j = get_json(acp, ae), *pv = json_object_get(json_object_get(j, "m2m:acp"), "pv");
		json_t *acr = json_object_get(pv, "acr");
		EXPECT_TRUE(json_array_size(acr) == 2, pv);
		EXPECT_INT(json_array_get(acr, 0), "acop", 63);
		EXPECT_TRUE(json_is_true(json_object_get(json_array_get(acr, 0), "acaf")), pv);
		EXPECT_TRUE(json_array_size(json_object_get(json_array_get(acr, 0), "acor")) == 2, pv);
		json_decref(j);
	}

	create_xml_check(aepath, ae, 3, "m2m:cnt", "xcnt",
	                       "<lbl>room1 floor2</lbl><mni>10</mni><mbs>10000</mbs><disr>false</disr>",
	                       json_pack("{s:[s,s],s:i,s:i,s:b}", "lbl", "room1", "floor2", "mni", 10, "mbs",
	                                 10000, "disr", 0));
	{
		json_t *j = get_json(cntpath, ae);
		snprintf(cntri, sizeof cntri, "%s", harness_jstr(json_object_get(j, "m2m:cnt"), "ri"));
		json_decref(j);
	}
	create_xml_check(cntpath, ae, 4, "m2m:cin", "xcin",
	                 "<lbl>v</lbl><cnf>text/plain:0</cnf><con>21.5 &lt;C&gt;</con>",
	                 json_pack("{s:s,s:s,s:i}", "con", "21.5 <C>", "cnf", "text/plain:0", "cs", 8));
	create_xml_check(cntpath, ae, 23, "m2m:sub", "xsub",
	                 hfmt("<enc><net>1</net><net>3</net></enc><nu>%s</nu><nct>1</nct>",
	                      notif_receiver_url(rx)),
	                 json_pack("{s:{s:[i,i]},s:i}", "enc", "net", 1, 3, "nct", 1));
	create_xml_check(aepath, ae, 9, "m2m:grp", "xgrp",
	                 hfmt("<mt>3</mt><mnm>5</mnm><mid>%s</mid><csy>1</csy>", cntri),
	                 json_pack("{s:i,s:i,s:[s]}", "mt", 3, "mnm", 5, "mid", cntri));

	/* child references, inline children, the CSEBase */
	harness_case("retrieve in XML with rcn 5 (ch) and rcn 4 (inline children)");
	retrieve_xml_check(cntpath, ae, "rcn=5");
	retrieve_xml_check(cntpath, ae, "rcn=4");
	retrieve_xml_check(cntpath, ae, "rcn=6");
	harness_case("CSEBase in XML");
	retrieve_xml_check(CSE, ADMIN, NULL);

	/* remoteCSE: registration of another CSE in XML */
	{
		const char *csi = harness_name("id-xmn");
		const char *orig = hfmt("/%s", csi);
		char o[128];
		snprintf(o, sizeof o, "%s", orig);
		harness_case("create remoteCSE in XML");
		xml_send(&r, M2M_OP_CREATE, CSE, o, "application/xml;ty=16", "application/xml",
		         hfmt("<m2m:csr " NS " rn=\"%s\"><cst>2</cst><cb>%s/cse-xmn</cb><rr>false</rr>"
		              "<srv>3 4</srv></m2m:csr>", csi, o), NULL);
		EXPECT_RSC(&r, 2001);
		json_t *j = get_json(hfmt("%s/%s", CSE, csi), ADMIN);
		EXPECT_XML_MATCHES(&r, j);
		EXPECT_INT(json_object_get(j, "m2m:csr"), "cst", 2);
		json_decref(j);
		m2m_result_clear(&r);
		harness_delete(hfmt("%s/%s", CSE, csi), ADMIN);
	}

	/* update in XML; an empty element deletes */
	harness_case("update in XML: a list, then NULL as an empty element");
	xml_send(&r, M2M_OP_UPDATE, cntpath, ae, "application/xml", "application/xml",
	         "<m2m:cnt " NS "><lbl>a b c</lbl><mni>3</mni></m2m:cnt>", NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	{
		json_t *j = get_json(cntpath, ae), *c = json_object_get(j, "m2m:cnt");
		EXPECT_INT(c, "mni", 3);
		EXPECT_TRUE(json_array_size(json_object_get(c, "lbl")) == 3, c);
		json_decref(j);
	}
	xml_send(&r, M2M_OP_UPDATE, cntpath, ae, "application/xml", "application/json",
	         "<m2m:cnt " NS "><lbl/></m2m:cnt>", NULL);
	EXPECT_RSC(&r, 2004);
	m2m_result_clear(&r);
	{
		json_t *j = get_json(cntpath, ae), *c = json_object_get(j, "m2m:cnt");
		EXPECT_TRUE(json_object_get(c, "lbl") == NULL, c);
		json_decref(j);
	}
	notif_receiver_stop(&rx);
}

/* The reverse: created in JSON, retrieved in XML. */
static void test_json_create_xml_retrieve(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	notif_receiver *rx = notif_receiver_start();
	const char *orig = harness_name("Cjx");
	const char *ae = harness_create_ae(orig, orig,
	                                   json_pack("{s:[s,s],s:[s]}", "lbl", "k1", "k2", "poa",
	                                             notif_receiver_url(rx)));
	char aep[256], cnt[256];
	const char *cri;
	m2m_result r;

	(void)state;
	snprintf(aep, sizeof aep, "%s/%s", CSE, ae);
	harness_case("AE created in JSON, retrieved in XML");
	retrieve_xml_check(aep, ae, NULL);
	cri = harness_create_cnt(aep, ae, "jc", json_pack("{s:i,s:[s]}", "mni", 4, "lbl", "x"));
	snprintf(cnt, sizeof cnt, "%s/jc", aep);
	harness_create_cin(cnt, ae, "ji", "hello <world> & all");
	harness_case("container and instance created in JSON, retrieved in XML");
	retrieve_xml_check(cnt, ae, NULL);
	retrieve_xml_check(hfmt("%s/ji", cnt), ae, NULL);
	retrieve_xml_check(hfmt("%s/la", cnt), ae, NULL);

	harness_case("acp, sub, grp created in JSON, retrieved in XML");
	harness_req(&r, M2M_OP_CREATE, aep, ae, 1,
	            json_pack("{s:{s:s,s:{s:[{s:[s,s],s:i,s:[{s:[s]}]}]},s:{s:[{s:[s],s:i}]}}}", "m2m:acp",
	                      "rn", "ja", "pv", "acr", "acor", ae, "all", "acop", 35, "acco", "actw",
	                      "* * * * * *", "pvs", "acr", "acor", ae, "acop", 63),
	            NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	retrieve_xml_check(hfmt("%s/ja", aep), ae, NULL);
	harness_req(&r, M2M_OP_CREATE, cnt, ae, 23,
	            json_pack("{s:{s:s,s:[s],s:{s:[i],s:[i]}}}", "m2m:sub", "rn", "js", "nu",
	                      notif_receiver_url(rx), "enc", "net", 3, "chty", 4),
	            NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	retrieve_xml_check(hfmt("%s/js", cnt), ae, NULL);
	harness_req(&r, M2M_OP_CREATE, aep, ae, 9,
	            json_pack("{s:{s:s,s:i,s:[s]}}", "m2m:grp", "rn", "jg", "mnm", 3, "mid", cri), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	retrieve_xml_check(hfmt("%s/jg", aep), ae, NULL);

	harness_case("group fan-out answered as m2m:agr in XML");
	retrieve_xml_check(hfmt("%s/jg/fopt", aep), ae, NULL);
	notif_receiver_stop(&rx);
}

static void test_accept_xml_on_json_create(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	const char *ae = harness_register("jxa");
	char aep[256];
	m2m_request q;
	json_t *c = json_pack("{s:{s:s,s:[s]}}", "m2m:cnt", "rn", "ac", "lbl", "z");
	m2m_result r;

	(void)state;
	snprintf(aep, sizeof aep, "%s/%s", CSE, ae);
	harness_case("JSON create with Accept: application/xml answers XML");
	m2m_request_init(&q, M2M_OP_CREATE, aep);
	q.from = ae;
	q.ty = 3;
	q.content = c;
	q.headers = XML_HDRS_ACCEPT;
	harness_send(&r, &q);
	json_decref(c);
	EXPECT_RSC(&r, 2001);
	EXPECT_TRUE(is_xml_answer(&r), NULL);
	json_t *j = get_json(hfmt("%s/ac", aep), ae);
	EXPECT_XML_MATCHES(&r, j);
	json_decref(j);
	m2m_result_clear(&r);

	harness_case("JSON body, no Accept: JSON answer");
	harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/ac", aep), ae, -1, NULL, NULL);
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(!is_xml_answer(&r), r.body);
	m2m_result_clear(&r);
}

/* One notification request received as XML: Content-Type and an m2m:sgn
   document whose decoded form has the expected members. */
static json_t *wait_xml_sgn(notif_receiver *rx)
{
	notif_msg *m = notif_wait_msg(rx, 5000);
	EXPECT_TRUE(m != NULL, NULL);
	const char *ct = harness_jstr(m->headers, "content-type");
	EXPECT_TRUE(ct && strstr(ct, "xml"), m->headers);
	json_t *doc = NULL;
	char err[128];
	EXPECT_TRUE(codec_xml_decode(m->raw, strlen(m->raw), &doc, err, sizeof err) == 0, m->headers);
	json_t *sgn = json_incref(json_object_get(doc, "m2m:sgn"));
	json_decref(doc);
	notif_msg_free(&m);
	EXPECT_TRUE(sgn != NULL, NULL);
	return sgn;
}

static void test_xml_notifications(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	(void)state;
	notif_receiver *rx = notif_receiver_start();
	EXPECT_TRUE(rx != NULL, NULL);
	harness_case("an AE whose csz lists XML first gets its notifications in XML");
	const char *ae = harness_create_ae(NULL, NULL,
	                                   json_pack("{s:b,s:[s],s:[ss]}", "rr", 1, "poa", notif_receiver_url(rx),
	                                             "csz", "application/xml", "application/json"));
	char aep[256];
	snprintf(aep, sizeof aep, "%s/%s", CSE, ae);
	harness_create_cnt(aep, ae, "nx", NULL);
	m2m_result r;
	harness_req(&r, M2M_OP_CREATE, hfmt("%s/nx", aep), ae, 23,
	            json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "s", "nu", ae, "enc", "net", 3), NULL);
	EXPECT_RSC(&r, 2001); /* nu is the originator itself: no verification request */
	m2m_result_clear(&r);
	harness_create_cin(hfmt("%s/nx", aep), ae, NULL, "in xml");
	json_t *e = wait_xml_sgn(rx);
	json_t *cin = json_object_get(json_object_get(json_object_get(e, "nev"), "rep"), "m2m:cin");
	EXPECT_STR(cin, "con", "in xml");
	json_decref(e);

	harness_case("a notification URL with ?ct=xml gets XML");
	char nu[300];
	snprintf(nu, sizeof nu, "%s?ct=xml", notif_receiver_url(rx));
	harness_req(&r, M2M_OP_CREATE, hfmt("%s/nx", aep), ae, 23,
	            json_pack("{s:{s:s,s:[s],s:{s:[i]}}}", "m2m:sub", "rn", "s2", "nu", nu, "enc", "net", 1), NULL);
	EXPECT_RSC(&r, 2001);
	m2m_result_clear(&r);
	json_t *v = wait_xml_sgn(rx);
	EXPECT_TRUE(json_is_true(json_object_get(v, "vrq")), v);
	json_decref(v);
	notif_receiver_stop(&rx);
}

static void test_discovery_xml(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	const char *ae = harness_register("jxd");
	char aep[256];
	m2m_result r, rj;
	xmlDocPtr doc;

	(void)state;
	snprintf(aep, sizeof aep, "%s/%s", CSE, ae);
	harness_create_cnt(aep, ae, "d1", json_pack("{s:[s]}", "lbl", "xmldisc"));
	harness_create_cnt(aep, ae, "d2", json_pack("{s:[s]}", "lbl", "xmldisc"));
	harness_case("discovery answered as m2m:uril in XML");
	xml_send(&r, M2M_OP_RETRIEVE, aep, ae, NULL, "application/xml", NULL, "fu=1&lbl=xmldisc");
	EXPECT_RSC(&r, 2000);
	harness_req(&rj, M2M_OP_RETRIEVE, aep, ae, -1, NULL, "fu=1&lbl=xmldisc");
	EXPECT_RSC(&rj, 2000);
	EXPECT_TRUE(json_array_size(json_object_get(rj.body, "m2m:uril")) == 2, rj.body);
	EXPECT_XML_MATCHES(&r, rj.body);
	doc = xml_parse(&r);
	assert_non_null(doc);
	assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "uril");
	xmlFreeDoc(doc);
	m2m_result_clear(&r);
	m2m_result_clear(&rj);

	harness_case("empty discovery result in XML");
	xml_send(&r, M2M_OP_RETRIEVE, aep, ae, NULL, "application/xml", NULL, "fu=1&lbl=nothing-has-this");
	EXPECT_RSC(&r, 2000);
	EXPECT_TRUE(strstr(r.raw_body, "uril") != NULL, NULL);
	m2m_result_clear(&r);
}

/* An error answer in XML carries m2m:dbg. */
static void expect_xml_dbg(const m2m_result *r)
{
	xmlDocPtr doc = xml_parse(r);
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char *t = root ? text_of(root) : NULL;

	if (!is_xml_answer(r) || !root || strcmp((const char *)root->name, "dbg") != 0 || !root->ns ||
	    strcmp((const char *)root->ns->href, NSURI) != 0 || !t || !*t) {
		harness_dump(r);
		free(t);
		if (doc)
			xmlFreeDoc(doc);
		fail_msg("error answer is not an XML m2m:dbg");
	}
	free(t);
	xmlFreeDoc(doc);
}

static void test_errors_in_xml(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	const char *ae = harness_register("jxe");
	char aep[256];
	m2m_result r;

	(void)state;
	snprintf(aep, sizeof aep, "%s/%s", CSE, ae);
	harness_case("4004 in XML");
	xml_send(&r, M2M_OP_RETRIEVE, hfmt("%s/nope", aep), ae, NULL, "application/xml", NULL, NULL);
	EXPECT_RSC(&r, 4004);
	expect_xml_dbg(&r);
	m2m_result_clear(&r);
	harness_case("unknown attribute in an XML create: 4000 in XML");
	xml_send(&r, M2M_OP_CREATE, aep, ae, "application/xml;ty=3", "*/*",
	         "<m2m:cnt " NS " rn=\"bad\"><zzz>1</zzz></m2m:cnt>", NULL);
	EXPECT_RSC(&r, 4000);
	expect_xml_dbg(&r);
	m2m_result_clear(&r);
	harness_case("wrong type in an XML create: 4000 in XML");
	xml_send(&r, M2M_OP_CREATE, aep, ae, "application/xml;ty=3", "application/xml",
	         "<m2m:cnt " NS " rn=\"bad\"><mni>lots</mni></m2m:cnt>", NULL);
	EXPECT_RSC(&r, 4000);
	expect_xml_dbg(&r);
	m2m_result_clear(&r);
	harness_case("missing X-M2M-RI, XML client: 4000 in XML");
	{
		const char *hdrs[] = { "X-M2M-Origin: CAdmin", "Accept: application/xml", NULL };
		m2m_send_raw(harness_client(), "GET", hfmt("/%s", CSE), hdrs, NULL, 0, &r);
		assert_int_equal(r.rsc, 4000);
		expect_xml_dbg(&r);
		m2m_result_clear(&r);
	}
	harness_case("Accept nothing we produce: 5207, in the body's format");
	xml_send(&r, M2M_OP_CREATE, aep, ae, "application/xml;ty=3", "text/html",
	         "<m2m:cnt " NS " rn=\"x\"/>", NULL);
	EXPECT_RSC(&r, 5207);
	expect_xml_dbg(&r);
	m2m_result_clear(&r);
}

static void test_hostile_xml(void **state)
{
	HARNESS_HTTP_JSON_ONLY();
	const char *ae = harness_register("jxh");
	char aep[256];
	m2m_result r;
	char *deep;
	size_t cap = 200000, at = 0;
	const char *bodies[] = {
		"<?xml version=\"1.0\"?><!DOCTYPE m2m:cnt [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
		"\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
		"<m2m:cnt " NS " rn=\"h0\"><lbl>&c;</lbl></m2m:cnt>",
		"<!DOCTYPE m2m:cnt [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
		"<m2m:cnt " NS " rn=\"h1\"><lbl>&xxe;</lbl></m2m:cnt>",
		"<!DOCTYPE m2m:cnt SYSTEM \"http://127.0.0.1:9/x.dtd\"><m2m:cnt " NS " rn=\"h2\"/>",
		"<m2m:cnt " NS " rn=\"h3\"><lbl>x</lbl>",
		"<m2m:cnt rn=\"h4\"><lbl>x</lbl></m2m:cnt>",
		"<m2m:cnt " NS " rn=\"h5\"><lbl>&xxe;</lbl></m2m:cnt>",
		NULL, /* deep nesting, below */
	};

	(void)state;
	snprintf(aep, sizeof aep, "%s/%s", CSE, ae);
	deep = malloc(cap);
	assert_non_null(deep);
	at += (size_t)snprintf(deep, cap, "<m2m:cnt %s rn=\"h6\"><lbl>", NS);
	for (int i = 0; i < 5000; i++)
		at += (size_t)snprintf(deep + at, cap - at, "<a>");
	snprintf(deep + at, cap - at, "x");
	bodies[6] = deep;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		harness_case("hostile XML body %zu: 4000, nothing stored", i);
		xml_send(&r, M2M_OP_CREATE, aep, ae, "application/xml;ty=3", "application/xml", bodies[i], NULL);
		EXPECT_RSC(&r, 4000);
		expect_xml_dbg(&r);
		m2m_result_clear(&r);
		harness_req(&r, M2M_OP_RETRIEVE, hfmt("%s/h%zu", aep, i), ae, -1, NULL, NULL);
		EXPECT_RSC(&r, 4004);
		m2m_result_clear(&r);
	}
	free(deep);
	harness_case("the CSE still answers");
	EXPECT_TRUE(harness_cse_alive(), NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		HTEST(test_xml_create_json_retrieve),
		HTEST(test_json_create_xml_retrieve),
		HTEST(test_accept_xml_on_json_create),
		HTEST(test_xml_notifications),
		HTEST(test_discovery_xml),
		HTEST(test_errors_in_xml),
		HTEST(test_hostile_xml),
	};
	xmlInitParser();
	return cmocka_run_group_tests_name("11_xml", tests, harness_group_setup, harness_group_teardown);
}
