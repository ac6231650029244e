/*
 * codec_json.h - the JSON serialization of primitive content (TS-0004 8.4).
 *
 * A thin, bounded layer over jansson: decoding enforces the limits of
 * cse/limits.h (nesting depth) and the rules every JSON body of a binding
 * must satisfy (one object at top level, unique member names, valid UTF-8,
 * no NUL characters); encoding is compact.
 */
#ifndef HEARTH_CODEC_JSON_H
#define HEARTH_CODEC_JSON_H

#include <stddef.h>
#include <jansson.h>

/*
 * Decode len bytes of buf (need not be NUL-terminated) into a new JSON object
 * stored in *out (the caller owns the reference). On failure returns -1,
 * leaves *out NULL and writes a one-line reason into err (when errlen > 0):
 * empty input, nesting deeper than HL_MAX_JSON_DEPTH, a top level that is
 * not an object, a duplicate member name, invalid UTF-8 or syntax errors.
 * The caller maps a failure to 4000 BAD_REQUEST.
 */
int codec_json_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Compact text of j (NUL-terminated; the caller frees it with free()), or
 * NULL when j is NULL or on allocation failure. */
char *codec_json_encode(const json_t *j);

#endif
