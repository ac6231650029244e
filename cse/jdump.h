/*
 * jdump.h - compact JSON text of a jansson value.
 *
 * The bytes are exactly those of json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY): members in insertion order, no spaces, the same
 * escapes (\" \\ \b \f \n \r \t, \u00XX for other control characters),
 * non-ASCII UTF-8 copied as is, reals through jansson itself. (One
 * difference: a key that is not valid UTF-8 makes jdump() fail, where
 * json_dumps() writes broken text; parsed keys and Hearth's own are
 * valid.) Stored
 * bodies and the parse caches compare texts, so this is a contract, held
 * by a differential test and fuzz target against jansson.
 *
 * It is several times faster than json_dumps(), which allocates a
 * hashtable per call and formats every container's address into it
 * (its cycle check). jdump() instead bounds the depth, which a cycle
 * would exceed.
 */
#ifndef HEARTH_JDUMP_H
#define HEARTH_JDUMP_H

#include <stddef.h>

#include <jansson.h>

/* Deeper than any document Hearth builds or accepts (HL_MAX_JSON_DEPTH
   for input, plus the wrappers of a response). */
#define JDUMP_MAX_DEPTH 256

/* The text, NUL-terminated, malloc'd; its length in *len when len is not
   NULL. NULL when v is NULL, holds a string that is not valid UTF-8 (as
   json_dumps() refuses it), nests deeper than JDUMP_MAX_DEPTH, or memory
   runs out. */
char *jdump(const json_t *v, size_t *len);

#endif
