/*
 * codec_xml.h - the XML serialization of primitive content (TS-0004 8.3)
 * on libxml2.
 *
 * Both directions translate to and from the one internal representation of
 * content, the JSON tree with short names that codec_json produces: an XML
 * body decodes into exactly the json_t the equivalent JSON body would give,
 * and any content root the CSE answers with (every resource type, m2m:uril,
 * m2m:rrl, m2m:agr, m2m:dbg, m2m:sgn, m2m:uri, m2m:rce) encodes to XML.
 *
 * XML rules applied (digest section 13): namespace
 * http://www.onem2m.org/xml/protocols with prefix m2m on global elements
 * only; unprefixed short-name members; rn as an XML attribute of a
 * resource root; xs:list types (lbl, acpi, poa, srv, nu, acor, srt, mid,
 * m2m:uril ...) as one element with space-separated values; maxOccurs>1
 * members (acr, acco, ch, rrf, net, inline child resources, m2m:rsp in
 * m2m:agr) as repeated elements; an empty element is NULL; universal and
 * common attributes first on encode, in XSD order.
 *
 * An empty list is written <lbl> </lbl> (an empty xs:list), so that it
 * stays apart from NULL (<lbl/>). Known asymmetries (inherent to XML):
 * numbers and booleans in members of unknown type come back as strings; a
 * con/conr that is a list or a number, and a value whose member names are
 * not XML names, are carried as their JSON text.
 */
#ifndef HEARTH_CODEC_XML_H
#define HEARTH_CODEC_XML_H

#include <stddef.h>
#include <jansson.h>

#define CODEC_XML_NS "http://www.onem2m.org/xml/protocols"

/*
 * Decode len bytes of buf (need not be NUL-terminated) into a new JSON
 * object {"m2m:<root>": value} stored in *out (the caller owns the
 * reference). Type knowledge (numbers, booleans, lists, nested types) comes
 * from the resource type tables (restype.h) and a table of complex types;
 * unknown elements become strings (or objects when they hold elements).
 *
 * Hostile input is refused: a DOCTYPE / internal subset (so no entity can
 * be declared, let alone expanded), any encoding but UTF-8, NUL bytes,
 * more than HL_MAX_BODY bytes, nesting deeper than HL_MAX_JSON_DEPTH,
 * attributes other than rn (resource roots) and nm/typ (child references),
 * text mixed with elements, a root outside the oneM2M namespace. No
 * network access and no entity substitution ever happen.
 *
 * On failure returns -1, leaves *out NULL and writes a one-line reason into
 * err (when errlen > 0). The caller maps a failure to 4000 BAD_REQUEST.
 * Thread-safe.
 */
int codec_xml_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/*
 * XML document (UTF-8, with declaration) for content pc, which must be an
 * object with exactly one member whose name is a prefixed global element
 * ("m2m:cnt", "m2m:dbg" ...). Returns a NUL-terminated string the caller
 * frees with free(), or NULL when pc is NULL, not of that shape, or on
 * allocation failure. Characters XML 1.0 cannot carry are replaced by
 * U+FFFD. Thread-safe.
 */
char *codec_xml_encode(const json_t *pc);

/*
 * Primitives as XML (TS-0004 8.3; the MQTT binding's xml payloads): root
 * is "m2m:rqp" (request) or "m2m:rsp" (response); the primitive is the
 * bare JSON object of short-name parameters a JSON payload carries
 * ({"op":1,"to":...,"pc":{"m2m:cnt":{...}},"fc":{"ty":[3],"atr":[...]}}).
 * Parameters are typed by the primitive tables (rt, fc and its members
 * included); pc goes through the content codec above.
 *
 * codec_xml_decode_prim(): the same refusals as codec_xml_decode(), and a
 * document whose root is not root or holds no elements; on success *out
 * is a new reference to the bare primitive object. -1 with a reason in err
 * otherwise (*out NULL).
 *
 * codec_xml_encode_prim(): the document for prim (an object), parameters in
 * the tables' order, unknown members after them; a member without an XML
 * form (e.g. content whose member names are not XML names) is carried as
 * its JSON text, and only that member. NULL when prim is not an object,
 * root is not one of the two, or on allocation failure. The caller frees.
 */
int codec_xml_decode_prim(const char *buf, size_t len, const char *root, json_t **out, char *err,
                          size_t errlen);
char *codec_xml_encode_prim(const json_t *prim, const char *root);

#endif
