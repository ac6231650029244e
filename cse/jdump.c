/*
 * jdump.c - compact JSON text of a jansson value (see jdump.h).
 *
 * One growing buffer, one pass, no allocation besides the buffer's. Runs
 * of plain ASCII in strings are copied with memcpy; each non-ASCII
 * sequence is validated the way jansson's UTF-8 check does (no overlong
 * forms, no surrogates, nothing above U+10FFFF), since json_dumps()
 * refuses such a string and so must we.
 */
#include "jdump.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct jbuf {
	char *p;
	size_t n, cap;
	int err;
} jbuf;

static int grow(jbuf *b, size_t more)
{
	if (b->err)
		return -1;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->n < more + 1) {
		if (cap > SIZE_MAX / 2) {
			b->err = 1;
			return -1;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static inline void put(jbuf *b, const char *s, size_t len)
{
	if (b->cap - b->n < len + 1 && grow(b, len) < 0)
		return;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static inline void put1(jbuf *b, char c)
{
	if (b->cap - b->n < 2 && grow(b, 1) < 0)
		return;
	b->p[b->n++] = c;
}

/* Length of the valid UTF-8 sequence at s (first byte >= 0x80), 0 when it
   is not one. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	unsigned char u = s[0];
	size_t len;
	uint32_t v;

	if (u >= 0xC2 && u <= 0xDF) {
		len = 2;
		v = u & 0x1F;
	} else if (u >= 0xE0 && u <= 0xEF) {
		len = 3;
		v = u & 0x0F;
	} else if (u >= 0xF0 && u <= 0xF4) {
		len = 4;
		v = u & 0x07;
	} else {
		return 0; /* continuation byte, C0/C1 (overlong ASCII), F5.. */
	}
	if (len > left)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ||
	    (len == 3 && v < 0x800) || (len == 4 && v < 0x10000))
		return 0;
	return len;
}

static void put_string(jbuf *b, const char *str, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	put1(b, '"');
	while (s < end && !b->err) {
		const unsigned char *run = s;
		while (s < end && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
			s++;
		if (s > run)
			put(b, (const char *)run, (size_t)(s - run));
		if (s == end)
			break;
		unsigned char c = *s;
		if (c >= 0x80) {
			size_t n = utf8_len(s, (size_t)(end - s));
			if (!n) {
				b->err = 1;
				return;
			}
			put(b, (const char *)s, n);
			s += n;
			continue;
		}
		char esc[6] = { '\\', 0 };
		size_t elen = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		put(b, esc, elen);
		s++;
	}
	put1(b, '"');
}

static void put_integer(jbuf *b, json_int_t v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	/* through unsigned, so that the most negative value negates */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(b, p, (size_t)(e - p));
}

static void put_value(jbuf *b, const json_t *v, int depth)
{
	if (b->err)
		return;
	if (depth > JDUMP_MAX_DEPTH) {
		b->err = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		put1(b, '{');
		int first = 1;
		for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
			if (!first)
				put1(b, ',');
			first = 0;
			put_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
			put1(b, ':');
			put_value(b, json_object_iter_value(it), depth + 1);
		}
		put1(b, '}');
		break;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		put1(b, '[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				put1(b, ',');
			put_value(b, json_array_get(v, i), depth + 1);
		}
		put1(b, ']');
		break;
	}
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_integer(b, json_integer_value(v));
		break;
	case JSON_REAL: { /* rare: jansson's own formatting, byte for byte */
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!s) {
			b->err = 1;
			return;
		}
		put(b, s, strlen(s));
		free(s);
		break;
	}
	case JSON_TRUE:
		put(b, "true", 4);
		break;
	case JSON_FALSE:
		put(b, "false", 5);
		break;
	case JSON_NULL:
		put(b, "null", 4);
		break;
	default:
		b->err = 1;
	}
}

char *jdump(const json_t *v, size_t *len)
{
	jbuf b = { 0 };

	if (!v)
		return NULL;
	if (grow(&b, 0) < 0)
		return NULL;
	put_value(&b, v, 0);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	b.p[b.n] = '\0';
	if (len)
		*len = b.n;
	return b.p;
}
