/*
 * codec_json.c - bounded JSON decode / compact encode on jansson.
 *
 * The depth limit is checked by a linear pre-scan of the raw bytes before
 * jansson sees them: it counts '{' and '[' outside string literals, so a
 * hostile body such as 100000 '[' is refused in O(n) without recursing in
 * the parser. The pre-scan only refuses; syntax is left to jansson, which
 * also rejects invalid UTF-8 and (without JSON_ALLOW_NUL) "\u0000".
 * Invariant: on success *out is an object; on failure *out is NULL.
 */
#include <stdio.h>

#include "codec_json.h"
#include "../cse/jdump.h"
#include "../cse/limits.h"

/* 0 when buf nests at most HL_MAX_JSON_DEPTH levels, else -1. */
static int json_depth_ok(const char *buf, size_t len)
{
	unsigned depth = 0;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = 1;
			break;
		case '{':
		case '[':
			if (++depth > HL_MAX_JSON_DEPTH)
				return -1;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return 0;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

int codec_json_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (!buf || len == 0) {
		set_err(err, errlen, "empty JSON content");
		return -1;
	}
	if (json_depth_ok(buf, len) != 0) {
		if (err && errlen > 0)
			snprintf(err, errlen, "JSON content nested deeper than %u levels",
			         HL_MAX_JSON_DEPTH);
		return -1;
	}
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		if (err && errlen > 0)
			snprintf(err, errlen, "invalid JSON at line %d, column %d: %s",
			         jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		set_err(err, errlen, "JSON content must be an object");
		return -1;
	}
	*out = j;
	return 0;
}

char *codec_json_encode(const json_t *j)
{
	if (!j)
		return NULL;
	return jdump(j, NULL);
}
