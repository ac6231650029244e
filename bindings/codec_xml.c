/*
 * codec_xml.c - XML content <-> the JSON tree with short names, on libxml2.
 *
 * Design note
 *   One internal representation serves both codecs: this module only maps
 *   XML onto the json_t codec_json would produce, and back. What an element
 *   holds (string, number, boolean, xs:list, repeated element, nested type)
 *   is looked up, by short name, in this order: the attribute table of the
 *   resource type being decoded (restype_attr()), the members of the
 *   enclosing complex type (tables below), a small table of members known
 *   everywhere (pv, enc, ch, rrf, actionStatus ...), else "generic": text
 *   becomes a string, elements an object, a repeated element an array.
 *   A value that does not parse as its declared type (a non-number in an
 *   integer element) stays a string, so that the engine reports it with its
 *   usual 4000 message rather than the codec with a vaguer one.
 *
 *   Safety of decoding: the raw bytes are pre-scanned before libxml2 sees
 *   them; any markup declaration ("<!" other than a comment or CDATA),
 *   hence any DOCTYPE, internal subset or entity declaration, is refused,
 *   and so are NUL bytes. libxml2 then parses with XML_PARSE_NONET (no
 *   network), without XML_PARSE_NOENT / DTDLOAD / DTDATTR (no entity
 *   substitution, no external subset) and with the encoding forced to
 *   UTF-8 (a UTF-16 document cannot hide a DOCTYPE from the pre-scan). The
 *   parsed tree is checked again for a DTD and for entity references, and
 *   walked with a depth bound (HL_MAX_JSON_DEPTH). Cost: one libxml2 tree
 *   plus the json_t, both O(input).
 *
 *   Encoding builds a libxml2 tree and serialises it; members are ordered
 *   universal/common attributes first (XSD order), then the type's own
 *   attributes in table order, unknown members, inline child resources and
 *   ch last. Encoding never fails on content the engine produces.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/*
 * libxml2 (and ICU and libstdc++ under it) is loaded with dlopen() on the
 * first XML document, not at start: a gateway that only ever speaks JSON
 * does not carry them in memory. The headers give types and constants; the
 * calls below go through xs (the names are redirected after this block).
 */
#include <dlfcn.h>

static struct {
	void *lib;
	xmlAttrPtr (*NewProp)(xmlNodePtr, const xmlChar *, const xmlChar *);
	xmlNodePtr (*NewNode)(xmlNsPtr, const xmlChar *);
	void (*FreeDoc)(xmlDocPtr);
	xmlNodePtr (*AddChild)(xmlNodePtr, xmlNodePtr);
	int (*ValidateNCName)(const xmlChar *, int);
	void (*UnlinkNode)(xmlNodePtr);
	xmlNodePtr (*NewTextChild)(xmlNodePtr, xmlNsPtr, const xmlChar *, const xmlChar *);
	xmlNodePtr (*NewText)(const xmlChar *);
	xmlParserCtxtPtr (*NewParserCtxt)(void);
	xmlNsPtr (*NewNs)(xmlNodePtr, const xmlChar *, const xmlChar *);
	xmlDocPtr (*NewDoc)(const xmlChar *);
	void (*InitParser)(void);
	xmlChar * (*GetNoNsProp)(const xmlNode *, const xmlChar *);
	void (*FreeParserCtxt)(xmlParserCtxtPtr);
	void (*FreeNode)(xmlNodePtr);
	xmlNodePtr (*DocSetRootElement)(xmlDocPtr, xmlNodePtr);
	xmlNodePtr (*DocGetRootElement)(const xmlDoc *);
	void (*DocDumpMemoryEnc)(xmlDocPtr, xmlChar **, int *, const char *);
	xmlDocPtr (*CtxtReadMemory)(xmlParserCtxtPtr, const char *, int, const char *, const char *, int);
	xmlErrorPtr (*CtxtGetLastError)(void *);
	xmlFreeFunc *FreeVar; /* the library's xmlFree variable */
} xs;

static bool xs_ok;

static void xs_load(void)
{
	static const char *const names[] = { "libxml2.so.2", "libxml2.so" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !xs.lib; i++)
		xs.lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!xs.lib)
		return;
#define XS_SYM(field, name)                                     \
	do {                                                    \
		*(void **)(&xs.field) = dlsym(xs.lib, name);    \
		if (!xs.field)                                  \
			goto fail;                              \
	} while (0)
	XS_SYM(NewProp, "xmlNewProp");
	XS_SYM(NewNode, "xmlNewNode");
	XS_SYM(FreeDoc, "xmlFreeDoc");
	XS_SYM(AddChild, "xmlAddChild");
	XS_SYM(ValidateNCName, "xmlValidateNCName");
	XS_SYM(UnlinkNode, "xmlUnlinkNode");
	XS_SYM(NewTextChild, "xmlNewTextChild");
	XS_SYM(NewText, "xmlNewText");
	XS_SYM(NewParserCtxt, "xmlNewParserCtxt");
	XS_SYM(NewNs, "xmlNewNs");
	XS_SYM(NewDoc, "xmlNewDoc");
	XS_SYM(InitParser, "xmlInitParser");
	XS_SYM(GetNoNsProp, "xmlGetNoNsProp");
	XS_SYM(FreeParserCtxt, "xmlFreeParserCtxt");
	XS_SYM(FreeNode, "xmlFreeNode");
	XS_SYM(DocSetRootElement, "xmlDocSetRootElement");
	XS_SYM(DocGetRootElement, "xmlDocGetRootElement");
	XS_SYM(DocDumpMemoryEnc, "xmlDocDumpMemoryEnc");
	XS_SYM(CtxtReadMemory, "xmlCtxtReadMemory");
	XS_SYM(CtxtGetLastError, "xmlCtxtGetLastError");
	XS_SYM(FreeVar, "xmlFree");
#undef XS_SYM
	xs.InitParser();
	xs_ok = true;
	return;
fail:
	dlclose(xs.lib);
	memset(&xs, 0, sizeof(xs));
}

#define xmlNewProp (xs.NewProp)
#define xmlNewNode (xs.NewNode)
#define xmlFreeDoc (xs.FreeDoc)
#define xmlAddChild (xs.AddChild)
#define xmlValidateNCName (xs.ValidateNCName)
#define xmlUnlinkNode (xs.UnlinkNode)
#define xmlNewTextChild (xs.NewTextChild)
#define xmlNewText (xs.NewText)
#define xmlNewParserCtxt (xs.NewParserCtxt)
#define xmlNewNs (xs.NewNs)
#define xmlNewDoc (xs.NewDoc)
#define xmlInitParser (xs.InitParser)
#define xmlGetNoNsProp (xs.GetNoNsProp)
#define xmlFreeParserCtxt (xs.FreeParserCtxt)
#define xmlFreeNode (xs.FreeNode)
#define xmlDocSetRootElement (xs.DocSetRootElement)
#define xmlDocGetRootElement (xs.DocGetRootElement)
#define xmlDocDumpMemoryEnc (xs.DocDumpMemoryEnc)
#define xmlCtxtReadMemory (xs.CtxtReadMemory)
#define xmlCtxtGetLastError (xs.CtxtGetLastError)
#undef xmlFree
#define xmlFree (*xs.FreeVar)

#include "codec_xml.h"
#include "codec_json.h"
#include "../cse/limits.h"
#include "../cse/restype.h"

/* ------------------------------------------------------------------ */
/* Type tables                                                          */
/* ------------------------------------------------------------------ */

typedef enum xk {
	XK_GEN,      /* unknown: text -> string, elements -> object */
	XK_STR,
	XK_TEXT,     /* string; any other JSON value is carried as its JSON text */
	XK_INT,
	XK_BOOL,
	XK_STRLIST,  /* xs:list of strings */
	XK_INTLIST,  /* xs:list of integers */
	XK_OBJ,      /* complex type (sub may be NULL: generic members) */
	XK_REF,      /* simple content with attributes nm, typ: {nm,typ,val} */
} xk;

typedef struct xtype xtype;
typedef struct xfield {
	const char *sn;
	uint8_t k;
	uint8_t rep;       /* maxOccurs > 1: repeated elements, a JSON array */
	const xtype *sub;  /* members of an XK_OBJ */
} xfield;
struct xtype {
	const xfield *f;
	size_t n;
};

#define NF(a) (sizeof(a) / sizeof((a)[0]))
#define XT(a) { a, NF(a) }

/* accessControlPolicy: setOfAcrs / accessControlRule and its parts */
static const xfield acip_f[] = { { "ipv4", XK_STRLIST, 0, NULL }, { "ipv6", XK_STRLIST, 0, NULL } };
static const xtype acip_t = XT(acip_f);
static const xfield aclr_f[] = { { "accc", XK_STR, 0, NULL }, { "accr", XK_GEN, 0, NULL } };
static const xtype aclr_t = XT(aclr_f);
static const xfield acco_f[] = {
	{ "actw", XK_STR, 1, NULL }, /* scheduleEntry holds spaces: repeated, not a list */
	{ "acip", XK_OBJ, 0, &acip_t },
	{ "aclr", XK_OBJ, 0, &aclr_t },
};
static const xtype acco_t = XT(acco_f);
static const xfield acod_f[] = {
	{ "ty", XK_INT, 0, NULL }, { "chty", XK_INTLIST, 0, NULL }, { "spty", XK_STRLIST, 0, NULL },
};
static const xtype acod_t = XT(acod_f);
static const xfield acr_f[] = {
	{ "acor", XK_STRLIST, 0, NULL }, { "acop", XK_INT, 0, NULL },
	{ "acco", XK_OBJ, 1, &acco_t }, { "acaf", XK_BOOL, 0, NULL },
	{ "acod", XK_OBJ, 1, &acod_t },
};
static const xtype acr_t = XT(acr_f);
static const xfield acrs_f[] = { { "acr", XK_OBJ, 1, &acr_t } };
static const xtype acrs_t = XT(acrs_f);

/* subscription: eventNotificationCriteria, batchNotify, rateLimit */
static const xfield enc_f[] = {
	{ "crb", XK_STR, 0, NULL }, { "cra", XK_STR, 0, NULL }, { "ms", XK_STR, 0, NULL },
	{ "us", XK_STR, 0, NULL }, { "sts", XK_INT, 0, NULL }, { "stb", XK_INT, 0, NULL },
	{ "exb", XK_STR, 0, NULL }, { "exa", XK_STR, 0, NULL }, { "sza", XK_INT, 0, NULL },
	{ "szb", XK_INT, 0, NULL }, { "net", XK_INTLIST, 1, NULL }, { "atr", XK_STRLIST, 0, NULL },
	{ "chty", XK_INTLIST, 0, NULL }, { "om", XK_OBJ, 1, NULL }, { "md", XK_OBJ, 0, NULL },
	{ "fo", XK_INT, 0, NULL },
};
static const xtype enc_t = XT(enc_f);
static const xfield bn_f[] = { { "num", XK_INT, 0, NULL }, { "dur", XK_STR, 0, NULL } };
static const xtype bn_t = XT(bn_f);
static const xfield rl_f[] = { { "mnn", XK_INT, 0, NULL }, { "tww", XK_STR, 0, NULL } };
static const xtype rl_t = XT(rl_f);

/* notification */
static const xfield nev_f[] = {
	{ "rep", XK_GEN, 0, NULL }, { "net", XK_INT, 0, NULL }, { "om", XK_GEN, 0, NULL },
};
static const xtype nev_t = XT(nev_f);
static const xfield sgn_f[] = {
	{ "nev", XK_OBJ, 0, &nev_t }, { "vrq", XK_BOOL, 0, NULL }, { "sud", XK_BOOL, 0, NULL },
	{ "sur", XK_STR, 0, NULL }, { "cr", XK_STR, 0, NULL }, { "nfu", XK_STR, 0, NULL },
};
static const xtype sgn_t = XT(sgn_f);
static const xfield agn_f[] = { { "m2m:sgn", XK_OBJ, 1, &sgn_t } };
static const xtype agn_t = XT(agn_f);

/* request and response primitives (TS-0004 Tables 6.4.1-1 / 6.4.2-1 order):
 * filterCriteria, responseTypeInfo and their parts */
static const xfield fcatr_f[] = { { "nm", XK_STR, 0, NULL }, { "val", XK_GEN, 0, NULL } };
static const xtype fcatr_t = XT(fcatr_f);
static const xfield fc_f[] = {
	{ "crb", XK_STR, 0, NULL }, { "cra", XK_STR, 0, NULL }, { "ms", XK_STR, 0, NULL },
	{ "us", XK_STR, 0, NULL }, { "sts", XK_INT, 0, NULL }, { "stb", XK_INT, 0, NULL },
	{ "exb", XK_STR, 0, NULL }, { "exa", XK_STR, 0, NULL }, { "lbl", XK_STRLIST, 0, NULL },
	{ "lbq", XK_STR, 0, NULL }, { "ty", XK_INTLIST, 0, NULL }, { "sza", XK_INT, 0, NULL },
	{ "szb", XK_INT, 0, NULL }, { "cty", XK_STRLIST, 0, NULL },
	{ "atr", XK_OBJ, 1, &fcatr_t }, { "fu", XK_INT, 0, NULL }, { "lim", XK_INT, 0, NULL },
	{ "smf", XK_STR, 0, NULL }, { "fo", XK_INT, 0, NULL }, { "cfs", XK_INT, 0, NULL },
	{ "cfq", XK_STR, 0, NULL }, { "lvl", XK_INT, 0, NULL }, { "ofst", XK_INT, 0, NULL },
	{ "clbl", XK_STRLIST, 0, NULL }, { "palb", XK_STRLIST, 0, NULL },
	{ "chty", XK_INTLIST, 0, NULL }, { "pty", XK_INTLIST, 0, NULL },
	{ "catr", XK_OBJ, 1, &fcatr_t }, { "patr", XK_OBJ, 1, &fcatr_t }, { "arp", XK_STR, 0, NULL },
};
static const xtype fc_t = XT(fc_f);
static const xfield rti_f[] = { { "rtv", XK_INT, 0, NULL }, { "nu", XK_STRLIST, 0, NULL } };
static const xtype rti_t = XT(rti_f);
static const xfield rsp_f[] = {
	{ "rsc", XK_INT, 0, NULL }, { "rqi", XK_STR, 0, NULL }, { "pc", XK_GEN, 0, NULL },
	{ "to", XK_STR, 0, NULL }, { "fr", XK_STR, 0, NULL }, { "ot", XK_STR, 0, NULL },
	{ "rset", XK_STR, 0, NULL }, { "ec", XK_INT, 0, NULL }, { "cnst", XK_INT, 0, NULL },
	{ "cnot", XK_INT, 0, NULL }, { "rvi", XK_STR, 0, NULL }, { "vsi", XK_STR, 0, NULL },
};
static const xtype rsp_t = XT(rsp_f);
static const xfield rqp_f[] = {
	{ "op", XK_INT, 0, NULL }, { "to", XK_STR, 0, NULL }, { "fr", XK_STR, 0, NULL },
	{ "rqi", XK_STR, 0, NULL }, { "ty", XK_INT, 0, NULL }, { "pc", XK_GEN, 0, NULL },
	{ "rol", XK_STR, 0, NULL }, { "ot", XK_STR, 0, NULL }, { "rqet", XK_STR, 0, NULL },
	{ "rset", XK_STR, 0, NULL }, { "oet", XK_STR, 0, NULL }, { "rt", XK_OBJ, 0, &rti_t },
	{ "rp", XK_STR, 0, NULL }, { "rcn", XK_INT, 0, NULL }, { "ec", XK_INT, 0, NULL },
	{ "da", XK_BOOL, 0, NULL }, { "gid", XK_STR, 0, NULL }, { "fc", XK_OBJ, 0, &fc_t },
	{ "drt", XK_INT, 0, NULL }, { "tids", XK_STRLIST, 0, NULL }, { "rids", XK_STRLIST, 0, NULL },
	{ "ltids", XK_STRLIST, 0, NULL }, { "tqi", XK_BOOL, 0, NULL }, { "rvi", XK_STR, 0, NULL },
	{ "vsi", XK_STR, 0, NULL },
};
static const xtype rqp_t = XT(rqp_f);
/* aggregated response, resource reference list */
static const xfield agr_f[] = { { "m2m:rsp", XK_OBJ, 1, &rsp_t } };
static const xtype agr_t = XT(agr_f);
static const xfield rrl_f[] = { { "rrf", XK_REF, 1, NULL } };
static const xtype rrl_t = XT(rrl_f);
static const xfield rce_f[] = { { "uri", XK_STR, 0, NULL } }; /* after the resource */
static const xtype rce_t = XT(rce_f);

/* mgmtObj actionStatus (uds, ins, acts, cas) */
static const xfield acts_f[] = { { "acn", XK_STR, 0, NULL }, { "sus", XK_INT, 0, NULL } };
static const xtype acts_t = XT(acts_f);

/* Members known wherever they appear (when the context has no entry). */
static const xfield global_f[] = {
	{ "pv", XK_OBJ, 0, &acrs_t }, { "pvs", XK_OBJ, 0, &acrs_t },
	{ "enc", XK_OBJ, 0, &enc_t }, { "bn", XK_OBJ, 0, &bn_t }, { "rl", XK_OBJ, 0, &rl_t },
	{ "ch", XK_REF, 1, NULL }, { "rrf", XK_REF, 1, NULL },
	{ "con", XK_TEXT, 0, NULL }, { "conr", XK_TEXT, 0, NULL },
	{ "uds", XK_OBJ, 0, &acts_t }, { "ins", XK_OBJ, 0, &acts_t }, { "acts", XK_OBJ, 0, &acts_t },
	{ "cas", XK_OBJ, 0, &acts_t },
	{ "nev", XK_OBJ, 0, &nev_t },
};
static const xtype global_t = XT(global_f);

/* Global elements other than resources. */
static const struct xroot {
	const char *name;
	uint8_t k;
	const xtype *sub;
} roots[] = {
	{ "m2m:uril", XK_STRLIST, NULL }, { "m2m:atrl", XK_STRLIST, NULL },
	{ "m2m:dbg", XK_STR, NULL }, { "m2m:uri", XK_STR, NULL },
	{ "m2m:rrl", XK_OBJ, &rrl_t }, { "m2m:agr", XK_OBJ, &agr_t },
	{ "m2m:sgn", XK_OBJ, &sgn_t }, { "m2m:agn", XK_OBJ, &agn_t },
	{ "m2m:rsp", XK_OBJ, &rsp_t }, { "m2m:rqp", XK_OBJ, &rqp_t }, { "m2m:rce", XK_OBJ, &rce_t },
};

/* Universal and common attributes, in XSD order (encode). */
static const char *const universal_order[] = {
	"ty", "ri", "pi", "ct", "lt", "lbl", "acpi", "et", "daci", "at", "aa", "st", "cr", "cstn",
};

typedef struct xdesc {
	uint8_t k, rep;
	const xtype *sub;
} xdesc;

static const xfield *xtype_find(const xtype *t, const char *sn)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->f[i].sn, sn) == 0)
			return &t->f[i];
	return NULL;
}

/* What member sn holds inside a resource of type rt, or inside complex
 * type xt (one of them NULL, or both for a generic object). */
static xdesc field_desc(const res_type *rt, const xtype *xt, const char *sn)
{
	xdesc d = { XK_GEN, 0, NULL };
	const xfield *f = NULL;

	if (rt) {
		const attr_def *a = restype_attr(rt, sn);
		if (a) {
			switch (a->vt) {
			case VT_STR: case VT_URI: case VT_TIME: case VT_ABSREL:
				d.k = XK_STR;
				return d;
			case VT_BOOL:
				d.k = XK_BOOL;
				return d;
			case VT_INT: case VT_NNI: case VT_POS:
				d.k = XK_INT;
				return d;
			case VT_STRLIST:
				d.k = XK_STRLIST;
				return d;
			case VT_INTLIST:
				d.k = XK_INTLIST;
				return d;
			case VT_OBJ:
				d.k = XK_OBJ;
				break;
			case VT_LIST:
				d.rep = 1;
				break;
			default:
				break;
			}
		}
	} else {
		f = xtype_find(xt, sn);
	}
	if (!f)
		f = xtype_find(&global_t, sn);
	if (f) {
		d.k = f->k;
		d.rep = f->rep;
		d.sub = f->sub;
	}
	return d;
}

static const struct xroot *root_find(const char *name)
{
	for (size_t i = 0; i < NF(roots); i++)
		if (strcmp(roots[i].name, name) == 0)
			return &roots[i];
	return NULL;
}

static bool is_prefixed(const char *name)
{
	return strncmp(name, "m2m:", 4) == 0;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                             */
/* ------------------------------------------------------------------ */

typedef struct dctx {
	char *err;
	size_t errlen;
	int failed;
} dctx;

__attribute__((format(printf, 2, 3)))
static void dfail(dctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	if (x->err && x->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
}

static bool is_xml_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static bool all_ws(const char *s)
{
	for (; *s; s++)
		if (!is_xml_ws(*s))
			return false;
	return true;
}

/* Element name as in JSON: "m2m:" + local name in the oneM2M namespace,
 * the bare local name without namespace; NULL (error) otherwise. */
static char *elem_name(dctx *x, const xmlNode *n)
{
	const char *local = (const char *)n->name;
	size_t ln = strlen(local);
	char *s;

	if (!n->ns) {
		if (strchr(local, ':')) {
			dfail(x, "element <%.64s> uses an undeclared namespace prefix", local);
			return NULL;
		}
		s = malloc(ln + 1);
		if (s)
			memcpy(s, local, ln + 1);
		return s;
	}
	if (!n->ns->href || strcmp((const char *)n->ns->href, CODEC_XML_NS) != 0) {
		dfail(x, "element <%.64s> is in a namespace other than %s", local, CODEC_XML_NS);
		return NULL;
	}
	s = malloc(ln + 5);
	if (s) {
		memcpy(s, "m2m:", 4);
		memcpy(s + 4, local, ln + 1);
	}
	return s;
}

/*
 * Text content of n (text and CDATA children concatenated) into *text
 * (malloc'd, "" when none) and the number of element children into
 * *nelem. Comments and processing instructions are skipped. Returns -1 on
 * an entity reference or allocation failure.
 */
static int elem_text(dctx *x, const xmlNode *n, char **text, size_t *nelem)
{
	size_t len = 0, at = 0;
	char *s;

	*text = NULL;
	*nelem = 0;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content)
				len += strlen((const char *)c->content);
		} else if (c->type == XML_ELEMENT_NODE) {
			(*nelem)++;
		} else if (c->type == XML_ENTITY_REF_NODE || c->type == XML_ENTITY_NODE) {
			dfail(x, "entity references are not allowed");
			return -1;
		}
	}
	s = malloc(len + 1);
	if (!s) {
		dfail(x, "out of memory");
		return -1;
	}
	for (const xmlNode *c = n->children; c; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
			size_t k = strlen((const char *)c->content);
			memcpy(s + at, c->content, k);
			at += k;
		}
	}
	s[at] = '\0';
	*text = s;
	return 0;
}

static json_t *jstr(dctx *x, const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (!j)
		dfail(x, "text is not valid UTF-8");
	return j;
}

/* Strict integer (surrounding XML whitespace allowed). */
static bool parse_int(const char *s, json_int_t *out)
{
	char buf[32];
	size_t a = 0, b = strlen(s), i;
	char *end;
	long long v;

	while (a < b && is_xml_ws(s[a]))
		a++;
	while (b > a && is_xml_ws(s[b - 1]))
		b--;
	if (b == a || b - a >= sizeof buf)
		return false;
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
	if (!buf[i])
		return false;
	for (size_t k = i; buf[k]; k++)
		if (buf[k] < '0' || buf[k] > '9')
			return false;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (json_int_t)v;
	return true;
}

static json_t *scalar(dctx *x, uint8_t k, const char *s)
{
	json_int_t v;

	if (k == XK_INT && parse_int(s, &v))
		return json_integer(v);
	if (k == XK_BOOL) {
		char buf[8];
		size_t a = 0, b = strlen(s);
		while (a < b && is_xml_ws(s[a]))
			a++;
		while (b > a && is_xml_ws(s[b - 1]))
			b--;
		if (b - a < sizeof buf) {
			memcpy(buf, s + a, b - a);
			buf[b - a] = '\0';
			if (strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0)
				return json_true();
			if (strcmp(buf, "false") == 0 || strcmp(buf, "0") == 0)
				return json_false();
		}
	}
	return jstr(x, s, strlen(s)); /* not of its type: the engine says why */
}

/* Append the whitespace-separated items of s to arr. */
static int split_list(dctx *x, const char *s, uint8_t k, json_t *arr)
{
	const char *p = s;

	while (*p) {
		const char *q;
		char *item;
		json_t *v;

		while (*p && is_xml_ws(*p))
			p++;
		if (!*p)
			break;
		q = p;
		while (*q && !is_xml_ws(*q))
			q++;
		item = malloc((size_t)(q - p) + 1);
		if (!item) {
			dfail(x, "out of memory");
			return -1;
		}
		memcpy(item, p, (size_t)(q - p));
		item[q - p] = '\0';
		v = scalar(x, k == XK_INTLIST ? XK_INT : XK_STR, item);
		free(item);
		if (!v || json_array_append_new(arr, v) != 0)
			return -1;
		p = q;
	}
	return 0;
}

/* Attributes: only the allowed unqualified names; namespaced ones (xsi:...)
 * are ignored. */
static int check_attrs(dctx *x, const xmlNode *n, const char *a1, const char *a2)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		const char *an = (const char *)a->name;
		if (a->ns)
			continue;
		if ((a1 && strcmp(an, a1) == 0) || (a2 && strcmp(an, a2) == 0))
			continue;
		dfail(x, "unexpected XML attribute '%.64s' on <%.64s>", an, (const char *)n->name);
		return -1;
	}
	return 0;
}

/* Unqualified attribute value as a json string, or NULL when absent. */
static json_t *attr_json(dctx *x, const xmlNode *n, const char *name, uint8_t k)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	json_t *j;

	if (!v)
		return NULL;
	j = scalar(x, k, (const char *)v);
	xmlFree(v);
	return j;
}

static json_t *dec_root(dctx *x, const xmlNode *n, const char *name, unsigned depth);
static json_t *dec_value(dctx *x, const xmlNode *n, xdesc d, unsigned depth);

/* Members of an object element: n's element children. */
static int dec_members(dctx *x, const xmlNode *n, const res_type *rt, const xtype *xt,
                       json_t *obj, unsigned depth)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		char *name;
		json_t *v, *old;
		xdesc d;
		int pref;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = elem_name(x, c);
		if (!name) {
			if (!x->failed)
				dfail(x, "out of memory");
			return -1;
		}
		pref = is_prefixed(name);
		if (pref) {
			const xfield *f = rt ? NULL : xtype_find(xt, name);
			d.k = XK_OBJ;
			d.rep = rt ? 1 : (f ? f->rep : 0); /* inline children: always a list */
			d.sub = NULL;
			v = dec_root(x, c, name, depth + 1);
		} else {
			d = field_desc(rt, xt, name);
			v = dec_value(x, c, d, depth + 1);
		}
		if (!v) {
			free(name);
			return -1;
		}
		old = json_object_get(obj, name);
		if ((d.k == XK_STRLIST || d.k == XK_INTLIST) && !pref) {
			/* a list given as repeated elements, space-separated or both */
			if (old && json_is_array(old) && json_is_array(v)) {
				json_array_extend(old, v);
				json_decref(v);
				v = NULL;
			} else if (old && !json_is_null(v) && !json_is_null(old)) {
				dfail(x, "element <%.64s> repeated", name);
				json_decref(v);
				free(name);
				return -1;
			} else if (old && json_is_null(v)) {
				json_decref(v);
				v = NULL;
			}
		} else if (d.rep) {
			if (!old) {
				old = json_array();
				json_object_set_new(obj, name, old);
			}
			json_array_append_new(old, v);
			v = NULL;
		} else if (old) {
			if (d.k != XK_GEN && !pref) {
				dfail(x, "element <%.64s> repeated", name);
				json_decref(v);
				free(name);
				return -1;
			}
			if (json_is_array(old)) {
				json_array_append_new(old, v);
			} else {
				json_t *arr = json_array();
				json_array_append(arr, old);
				json_array_append_new(arr, v);
				json_object_set_new(obj, name, arr);
			}
			v = NULL;
		}
		if (v && json_object_set_new(obj, name, v) != 0) {
			dfail(x, "invalid element name");
			free(name);
			return -1;
		}
		free(name);
	}
	return 0;
}

static json_t *dec_value(dctx *x, const xmlNode *n, xdesc d, unsigned depth)
{
	char *text = NULL;
	size_t nelem;
	json_t *v = NULL;

	if (depth > HL_MAX_JSON_DEPTH) {
		dfail(x, "XML content nested deeper than %u levels", HL_MAX_JSON_DEPTH);
		return NULL;
	}
	if (check_attrs(x, n, d.k == XK_REF ? "nm" : NULL, d.k == XK_REF ? "typ" : NULL) != 0)
		return NULL;
	if (elem_text(x, n, &text, &nelem) != 0)
		return NULL;
	if (nelem > 0) {
		if (!all_ws(text)) {
			dfail(x, "element <%.64s> mixes text and elements", (const char *)n->name);
			goto out;
		}
		v = json_object();
		if (dec_members(x, n, NULL, d.k == XK_OBJ ? d.sub : NULL, v, depth) != 0) {
			json_decref(v);
			v = NULL;
		}
		goto out;
	}
	if (d.k == XK_REF) {
		json_t *nm = attr_json(x, n, "nm", XK_STR), *typ = attr_json(x, n, "typ", XK_INT);
		v = json_object();
		if (nm)
			json_object_set_new(v, "nm", nm);
		if (typ)
			json_object_set_new(v, "typ", typ);
		json_t *val = jstr(x, text, strlen(text));
		if (!val || x->failed) {
			json_decref(val);
			json_decref(v);
			v = NULL;
			goto out;
		}
		json_object_set_new(v, "val", val);
		goto out;
	}
	if (!*text) {
		v = json_null(); /* empty element: NULL */
		goto out;
	}
	switch (d.k) {
	case XK_STRLIST:
	case XK_INTLIST:
		v = json_array();
		if (split_list(x, text, d.k, v) != 0) {
			json_decref(v);
			v = NULL;
		}
		break;
	case XK_INT:
	case XK_BOOL:
		v = scalar(x, d.k, text);
		break;
	default:
		v = jstr(x, text, strlen(text));
		break;
	}
out:
	free(text);
	return v;
}

/* A global element (resource root, m2m:uril, m2m:dbg, ...). */
static json_t *dec_root(dctx *x, const xmlNode *n, const char *name, unsigned depth)
{
	const res_type *rt = restype_by_root(name);
	const struct xroot *r;
	json_t *v;

	if (depth > HL_MAX_JSON_DEPTH) {
		dfail(x, "XML content nested deeper than %u levels", HL_MAX_JSON_DEPTH);
		return NULL;
	}
	if (rt) {
		char *text;
		size_t nelem;
		json_t *rn;

		if (check_attrs(x, n, "rn", NULL) != 0 || elem_text(x, n, &text, &nelem) != 0)
			return NULL;
		if (!all_ws(text)) {
			dfail(x, "resource element <%.64s> must hold elements, not text", name);
			free(text);
			return NULL;
		}
		free(text);
		v = json_object();
		rn = attr_json(x, n, "rn", XK_STR);
		if (rn)
			json_object_set_new(v, "rn", rn);
		if (x->failed || dec_members(x, n, rt, NULL, v, depth) != 0) {
			json_decref(v);
			return NULL;
		}
		return v;
	}
	r = root_find(name);
	if (r && (r->k == XK_STRLIST || r->k == XK_STR)) {
		char *text;
		size_t nelem;

		if (check_attrs(x, n, NULL, NULL) != 0 || elem_text(x, n, &text, &nelem) != 0)
			return NULL;
		if (nelem > 0) {
			dfail(x, "<%.64s> must hold text, not elements", name);
			free(text);
			return NULL;
		}
		if (r->k == XK_STR) {
			v = jstr(x, text, strlen(text));
		} else {
			v = json_array(); /* an empty URI list is [] */
			if (split_list(x, text, XK_STRLIST, v) != 0) {
				json_decref(v);
				v = NULL;
			}
		}
		free(text);
		return v;
	}
	xdesc d = { r ? r->k : XK_GEN, 0, r ? r->sub : NULL };
	return dec_value(x, n, d, depth);
}

/* Refuse markup declarations (DOCTYPE, ENTITY ...) and NUL bytes before the
 * parser sees the document. Comments and CDATA sections are skipped. */
static int prescan(dctx *x, const char *buf, size_t len)
{
	size_t i = 0;

	if (memchr(buf, '\0', len)) {
		dfail(x, "NUL byte in XML content");
		return -1;
	}
	while (i < len) {
		const char *p = memchr(buf + i, '<', len - i), *end;
		size_t at;

		if (!p)
			break;
		at = (size_t)(p - buf);
		if (at + 1 < len && buf[at + 1] == '!') {
			const char *close;
			if (len - at >= 4 && memcmp(p, "<!--", 4) == 0) {
				close = "-->";
			} else if (len - at >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
				close = "]]>";
			} else {
				dfail(x, "DOCTYPE and other markup declarations are not allowed in XML content");
				return -1;
			}
			end = memmem(buf + at + 4, len - at - 4, close, 3);
			if (!end)
				break; /* unterminated: the parser reports it */
			i = (size_t)(end - buf) + 3;
		} else {
			i = at + 1;
		}
	}
	return 0;
}

static void xml_init_once(void)
{
	xs_load();
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

int codec_xml_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	dctx x = { err, errlen, 0 };
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root;
	char *name = NULL;
	json_t *v = NULL;
	int rc = -1;

	*out = NULL;
	if (err && errlen > 0)
		err[0] = '\0';
	pthread_once(&xml_once, xml_init_once);
	if (!xs_ok) {
		dfail(&x, "XML is not available on this system (libxml2 could not be loaded)");
		goto out;
	}
	if (!buf || len == 0) {
		dfail(&x, "empty XML content");
		goto out;
	}
	if (len > HL_MAX_BODY || len > INT32_MAX) {
		dfail(&x, "XML content larger than %u bytes", HL_MAX_BODY);
		goto out;
	}
	if (prescan(&x, buf, len) != 0)
		goto out;
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		dfail(&x, "out of memory");
		goto out;
	}
	/* Never XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or HUGE. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, "UTF-8",
	                        XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	                        XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160];
		size_t n;

		snprintf(msg, sizeof msg, "%s", e && e->message ? e->message : "parse error");
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		dfail(&x, "malformed XML at line %d: %s", e ? e->line : 0, msg);
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		dfail(&x, "DOCTYPE and other markup declarations are not allowed in XML content");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root) {
		dfail(&x, "XML content has no root element");
		goto out;
	}
	if (!root->ns || !root->ns->href || strcmp((const char *)root->ns->href, CODEC_XML_NS) != 0) {
		dfail(&x, "content root <%.64s> must be a oneM2M global element (m2m:...) in namespace %s",
		      (const char *)root->name, CODEC_XML_NS);
		goto out;
	}
	name = elem_name(&x, root);
	if (!name) {
		dfail(&x, "out of memory");
		goto out;
	}
	v = dec_root(&x, root, name, 1);
	if (!v || x.failed)
		goto out;
	*out = json_object();
	if (!*out || json_object_set_new(*out, name, v) != 0) {
		v = NULL;
		json_decref(*out);
		*out = NULL;
		dfail(&x, "out of memory");
		goto out;
	}
	v = NULL;
	rc = 0;
out:
	json_decref(v);
	free(name);
	if (doc)
		xmlFreeDoc(doc);
	if (ctxt)
		xmlFreeParserCtxt(ctxt);
	if (rc != 0 && !x.failed)
		dfail(&x, "invalid XML content");
	return rc;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                             */
/* ------------------------------------------------------------------ */

typedef struct ectx {
	xmlNsPtr ns;
	int failed;   /* allocation failure */
} ectx;

static bool ncname_ok(const char *s)
{
	return s && *s && xmlValidateNCName((const xmlChar *)s, 0) == 0;
}

static bool name_ok(const char *s)
{
	return is_prefixed(s) ? ncname_ok(s + 4) : ncname_ok(s);
}

/* Can v be written as elements (names are XML names, no array directly in
 * an array, bounded depth)? Otherwise it is carried as JSON text. */
static bool representable(const json_t *v, unsigned depth, bool in_array)
{
	const char *k;
	json_t *m;
	size_t i;

	if (depth > 2 * HL_MAX_JSON_DEPTH)
		return false;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m) {
			if (!name_ok(k))
				return false;
			if (is_prefixed(k) && json_is_array(m)) {
				/* repeated global elements, each may be a list (m2m:uril) */
				json_t *item;
				json_array_foreach(m, i, item)
					if (!representable(item, depth + 2, false))
						return false;
			} else if (!representable(m, depth + 1, false)) {
				return false;
			}
		}
	} else if (json_is_array(v)) {
		if (in_array)
			return false;
		json_array_foreach(v, i, m)
			if (!representable(m, depth + 1, true))
				return false;
	}
	return true;
}

/* Copy of s with characters XML 1.0 cannot hold replaced by U+FFFD. */
static char *xml_clean(const char *s)
{
	size_t n = strlen(s), w = 0;
	char *o = malloc(3 * n + 1);

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ||
		    (ch == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
		     ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF))) {
			memcpy(o + w, "\xEF\xBF\xBD", 3);
			w += 3;
			if (ch == 0xEF)
				i += 2;
		} else {
			o[w++] = (char)ch;
		}
	}
	o[w] = '\0';
	return o;
}

/* Text form of a scalar (string, number, boolean) into a malloc'd string. */
static char *scalar_text(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return xml_clean(json_string_value(v));
	if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, sizeof buf, "true");
	else if (json_is_false(v))
		snprintf(buf, sizeof buf, "false");
	else
		buf[0] = '\0';
	return strdup(buf);
}

static bool is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

/* New child element of parent (prefixed names in the m2m namespace, the
 * others in no namespace: xmlNewTextChild() would inherit the parent's). */
static xmlNodePtr add_elem(ectx *e, xmlNodePtr parent, const char *name, const char *text)
{
	xmlNsPtr ns = NULL;
	xmlNodePtr n, t;

	if (is_prefixed(name)) {
		ns = e->ns;
		name += 4;
	}
	n = xmlNewNode(ns, (const xmlChar *)name);
	if (!n) {
		e->failed = 1;
		return NULL;
	}
	xmlAddChild(parent, n);
	if (text) {
		t = xmlNewText((const xmlChar *)text);
		if (!t) {
			e->failed = 1;
			return NULL;
		}
		xmlAddChild(n, t);
	}
	return n;
}

static void add_text_elem(ectx *e, xmlNodePtr parent, const char *name, const json_t *v)
{
	char *t = scalar_text(v);

	if (!t) {
		e->failed = 1;
		return;
	}
	add_elem(e, parent, name, *t ? t : NULL);
	free(t);
}

static void add_json_text_elem(ectx *e, xmlNodePtr parent, const char *name, const json_t *v)
{
	char *j = codec_json_encode(v), *t = j ? xml_clean(j) : NULL;

	if (!t)
		e->failed = 1;
	else
		add_elem(e, parent, name, t);
	free(t);
	free(j);
}

static void enc_root(ectx *e, xmlNodePtr parent, const char *name, const json_t *v, unsigned depth);
static void enc_value(ectx *e, xmlNodePtr parent, const char *name, const json_t *v, xdesc d,
                      unsigned depth);

/* Space-separated values of an array of scalars. */
static char *list_text(const json_t *arr)
{
	size_t i, len = 0, at = 0;
	json_t *m;
	char **parts = calloc(json_array_size(arr) + 1, sizeof *parts);
	char *s = NULL;

	if (!parts)
		return NULL;
	json_array_foreach(arr, i, m) {
		parts[i] = scalar_text(m);
		if (!parts[i])
			goto out;
		len += strlen(parts[i]) + 1;
	}
	s = malloc(len + 1);
	if (!s)
		goto out;
	for (i = 0; i < json_array_size(arr); i++) {
		size_t k = strlen(parts[i]);
		if (i > 0)
			s[at++] = ' ';
		memcpy(s + at, parts[i], k);
		at += k;
	}
	s[at] = '\0';
out:
	for (i = 0; i < json_array_size(arr); i++)
		free(parts[i]);
	free(parts);
	return s;
}

static bool all_scalars(const json_t *arr)
{
	size_t i;
	json_t *m;

	json_array_foreach(arr, i, m)
		if (!is_scalar(m))
			return false;
	return true;
}

/* Members of object o under element n: first those named in order (when
 * given), then the rest in object order (unprefixed, then prefixed, then
 * ch); rn of a resource is an attribute and skipped here. */
static void enc_members(ectx *e, xmlNodePtr n, const json_t *o, const res_type *rt,
                        const xtype *xt, unsigned depth)
{
	const char *k;
	json_t *m;

	if (rt) {
		for (size_t i = 0; i < NF(universal_order); i++)
			if ((m = json_object_get(o, universal_order[i])))
				enc_value(e, n, universal_order[i], m, field_desc(rt, NULL, universal_order[i]), depth);
		for (size_t i = 0; i < rt->nattrs; i++) {
			const char *sn = rt->attrs[i].sn;
			bool dup = false;
			for (size_t j = 0; j < NF(universal_order); j++)
				dup |= strcmp(sn, universal_order[j]) == 0;
			if (!dup && (m = json_object_get(o, sn)))
				enc_value(e, n, sn, m, field_desc(rt, NULL, sn), depth);
		}
	} else if (xt && xt != &rce_t) {
		for (size_t i = 0; i < xt->n; i++) {
			const char *sn = xt->f[i].sn;
			if ((m = json_object_get(o, sn))) {
				if (is_prefixed(sn))
					continue; /* global members come with the rest below */
				enc_value(e, n, sn, m, field_desc(NULL, xt, sn), depth);
			}
		}
	}
	for (int step = 0; step < 3; step++) {
		/* m2m:rce: the resource, then uri */
		int pass = xt == &rce_t ? (step == 0 ? 1 : step == 1 ? 0 : 2) : step;
		json_object_foreach((json_t *)o, k, m) {
			bool pref = is_prefixed(k), ch = strcmp(k, "ch") == 0;
			if ((pass == 0 && (pref || ch)) || (pass == 1 && !pref) || (pass == 2 && !ch))
				continue;
			if (pass == 0) {
				bool done = false;
				if (rt) {
					if (strcmp(k, "rn") == 0 && json_is_string(m))
						continue;
					for (size_t j = 0; j < NF(universal_order); j++)
						done |= strcmp(k, universal_order[j]) == 0;
					for (size_t j = 0; j < rt->nattrs; j++)
						done |= strcmp(k, rt->attrs[j].sn) == 0;
				} else if (xt && xt != &rce_t) {
					done = xtype_find(xt, k) != NULL;
				}
				if (done)
					continue;
			}
			if (pref) {
				size_t i;
				json_t *item;
				const struct xroot *r = root_find(k);
				/* an array is repeated elements, except the value of one
				 * list-typed global element (m2m:uril) */
				bool one = r && r->k == XK_STRLIST && json_is_array(m) && all_scalars(m);
				if (json_is_array(m) && !one)
					json_array_foreach(m, i, item)
						enc_root(e, n, k, item, depth + 1);
				else
					enc_root(e, n, k, m, depth + 1);
			} else {
				enc_value(e, n, k, m, field_desc(rt, rt ? NULL : xt, k), depth);
			}
		}
	}
}

static void enc_value(ectx *e, xmlNodePtr parent, const char *name, const json_t *v, xdesc d,
                      unsigned depth)
{
	xmlNodePtr n;

	if (e->failed)
		return;
	if (json_is_null(v)) {
		add_elem(e, parent, name, NULL);
		return;
	}
	if (d.k == XK_TEXT && !json_is_string(v) && !json_is_object(v)) {
		add_json_text_elem(e, parent, name, v); /* a list or number as content */
		return;
	}
	if (!representable(v, depth, false)) {
		add_json_text_elem(e, parent, name, v);
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *m;
		bool list = (d.k == XK_STRLIST || d.k == XK_INTLIST) && !d.rep;

		if ((d.k == XK_STRLIST || d.k == XK_INTLIST) && json_array_size(v) == 0) {
			add_elem(e, parent, name, " "); /* an empty xs:list, not NULL */
			return;
		}
		if (list && all_scalars(v)) {
			char *t = list_text(v);
			if (!t) {
				e->failed = 1;
				return;
			}
			add_elem(e, parent, name, *t ? t : NULL);
			free(t);
			return;
		}
		json_array_foreach(v, i, m) {
			xdesc item = d;
			item.rep = 0;
			if (item.k == XK_STRLIST || item.k == XK_INTLIST)
				item.k = XK_STR;
			enc_value(e, parent, name, m, item, depth + 1);
		}
		return;
	}
	if (json_is_object(v)) {
		json_t *val = json_object_get(v, "val");
		if (d.k == XK_REF && val && is_scalar(val)) {
			const json_t *nm = json_object_get(v, "nm"), *typ = json_object_get(v, "typ");
			bool simple = json_object_size(v) == (size_t)(1 + (nm != NULL) + (typ != NULL)) &&
			              json_is_string(val) && (!nm || json_is_string(nm)) &&
			              (!typ || json_is_integer(typ) || json_is_string(typ));
			if (simple) {
				char *t = scalar_text(val);
				if (!t) {
					e->failed = 1;
					return;
				}
				n = add_elem(e, parent, name, *t ? t : NULL);
				free(t);
				if (!n)
					return;
				for (int a = 0; a < 2; a++) {
					const json_t *av = a == 0 ? nm : typ;
					char *at;
					if (!av)
						continue;
					at = scalar_text(av);
					if (!at || !xmlNewProp(n, (const xmlChar *)(a == 0 ? "nm" : "typ"),
					                      (const xmlChar *)at))
						e->failed = 1;
					free(at);
				}
				return;
			}
		}
		n = add_elem(e, parent, name, NULL);
		if (n)
			enc_members(e, n, v, NULL, d.k == XK_OBJ ? d.sub : NULL, depth + 1);
		return;
	}
	add_text_elem(e, parent, name, v);
}

static void enc_root(ectx *e, xmlNodePtr parent, const char *name, const json_t *v, unsigned depth)
{
	const res_type *rt = restype_by_root(name);
	const struct xroot *r;
	xmlNodePtr n;

	if (e->failed)
		return;
	if (rt && json_is_object(v) && depth <= 2 * HL_MAX_JSON_DEPTH) {
		const json_t *rn = json_object_get(v, "rn");
		n = add_elem(e, parent, name, NULL);
		if (!n)
			return;
		if (json_is_string(rn)) {
			char *t = xml_clean(json_string_value(rn));
			if (!t || !xmlNewProp(n, (const xmlChar *)"rn", (const xmlChar *)t))
				e->failed = 1;
			free(t);
		}
		enc_members(e, n, v, rt, NULL, depth + 1);
		return;
	}
	r = root_find(name);
	xdesc d = { r ? r->k : XK_GEN, 0, r ? r->sub : NULL };
	if (r && r->k == XK_STRLIST && json_is_array(v) && json_array_size(v) == 0) {
		add_elem(e, parent, name, NULL); /* empty list, not NULL */
		return;
	}
	enc_value(e, parent, name, v, d, depth);
}

/* The document for global element name holding v. With members (a
 * primitive), v's members are written one by one under the root, so that
 * content without an XML form spoils only its own member. */
static char *encode_doc(const char *name, const json_t *v, const xtype *members)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr holder = NULL, root;
	xmlChar *mem = NULL;
	int size = 0;
	char *out = NULL;
	ectx e = { NULL, 0 };

	pthread_once(&xml_once, xml_init_once);
	if (!xs_ok)
		return NULL;
	if (!is_prefixed(name) || !name_ok(name))
		return NULL;
	doc = xmlNewDoc((const xmlChar *)"1.0");
	holder = xmlNewNode(NULL, (const xmlChar *)"holder");
	if (!doc || !holder)
		goto out;
	/* The namespace lives on a temporary holder until the root exists. */
	e.ns = xmlNewNs(holder, (const xmlChar *)CODEC_XML_NS, (const xmlChar *)"m2m");
	if (!e.ns)
		goto out;
	if (members) {
		root = add_elem(&e, holder, name, NULL);
		if (root)
			enc_members(&e, root, v, NULL, members, 2);
	} else {
		enc_root(&e, holder, name, v, 1);
	}
	root = holder->children;
	if (e.failed || !root)
		goto out;
	xmlUnlinkNode(root);
	xmlDocSetRootElement(doc, root);
	/* move the declaration onto the root, where it is serialised */
	root->nsDef = holder->nsDef;
	holder->nsDef = NULL;
	xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
	if (!mem || size <= 0)
		goto out;
	out = malloc((size_t)size + 1);
	if (out) {
		memcpy(out, mem, (size_t)size);
		out[size] = '\0';
	}
out:
	if (mem)
		xmlFree(mem);
	if (holder)
		xmlFreeNode(holder);
	if (doc)
		xmlFreeDoc(doc);
	return out;
}

char *codec_xml_encode(const json_t *pc)
{
	const char *name = NULL;
	json_t *v = NULL;

	if (!json_is_object(pc) || json_object_size(pc) != 1)
		return NULL;
	json_object_foreach((json_t *)pc, name, v)
		break;
	if (!name || !v)
		return NULL;
	return encode_doc(name, v, NULL);
}

/* ------------------------------------------------------------------ */
/* Primitives (m2m:rqp / m2m:rsp, the MQTT binding's payloads)          */
/* ------------------------------------------------------------------ */

static const xtype *prim_type(const char *root)
{
	if (root && strcmp(root, "m2m:rqp") == 0)
		return &rqp_t;
	if (root && strcmp(root, "m2m:rsp") == 0)
		return &rsp_t;
	return NULL;
}

int codec_xml_decode_prim(const char *buf, size_t len, const char *root, json_t **out, char *err,
                          size_t errlen)
{
	json_t *doc = NULL, *v;
	const char *name = NULL;

	*out = NULL;
	if (!prim_type(root)) {
		if (err && errlen > 0)
			snprintf(err, errlen, "no such primitive element <%.16s>", root ? root : "");
		return -1;
	}
	if (codec_xml_decode(buf, len, &doc, err, errlen) != 0)
		return -1;
	json_object_foreach(doc, name, v)
		break;
	if (!name || strcmp(name, root) != 0) {
		if (err && errlen > 0)
			snprintf(err, errlen, "root element <%.64s> is not <%s>", name ? name : "", root);
		json_decref(doc);
		return -1;
	}
	if (!json_is_object(v)) {
		if (err && errlen > 0)
			snprintf(err, errlen, "<%s> must hold primitive parameters as elements", root);
		json_decref(doc);
		return -1;
	}
	*out = json_incref(v);
	json_decref(doc);
	return 0;
}

char *codec_xml_encode_prim(const json_t *prim, const char *root)
{
	const xtype *t = prim_type(root);

	if (!t || !json_is_object(prim))
		return NULL;
	return encode_doc(root, prim, t);
}
