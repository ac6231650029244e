/*
 * fuzz_http_request.c - HTTP pieces -> http_parse_query() + http_to_request()
 * -> cse_handle() on the fixture CSE of fuzz_common.c.
 *
 * Input framing (line-based, so that seeds are readable; "\r\n" is accepted
 * wherever "\n" is):
 *
 *     METHOD\n
 *     /decoded/path\n
 *     raw query string (as after '?', possibly empty)\n
 *     Header-Name: value\n      zero or more, as libmicrohttpd hands them
 *     \n                        end of headers
 *     body bytes (to the end of the input, NULs allowed)
 *
 * A missing part is absent (NULL method, no path, no query, no headers, no
 * body). Requests whose decoded content names a URL (see
 * fz_json_names_network) are translated but not executed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

#include "bindings/http_server.h"
#include "cse/limits.h"

#define FZ_MAX_HEADERS 64

typedef struct fz_headers {
	const char *name[FZ_MAX_HEADERS];
	const char *value[FZ_MAX_HEADERS];
	size_t n;
} fz_headers;

/* First header of that name, case-insensitive, like MHD_lookup_connection_value. */
static const char *fz_header(void *ctx, const char *name)
{
	const fz_headers *h = ctx;
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

/* Cut the next line out of buf[*pos..len): NUL-terminate it in place (buf
 * has one spare byte) and strip a trailing '\r'. NULL at the end of input. */
static char *next_line(char *buf, size_t len, size_t *pos)
{
	size_t start = *pos, i = *pos;
	if (start >= len)
		return NULL;
	while (i < len && buf[i] != '\n')
		i++;
	buf[i] = '\0';
	*pos = i < len ? i + 1 : len;
	if (i > start && buf[i - 1] == '\r')
		buf[i - 1] = '\0';
	return buf + start;
}

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
	http_kv args[HL_MAX_QUERY_ARGS + 1];
	fz_headers h = { .n = 0 };
	m2m_request req;
	m2m_response rsp;
	char *buf = fz_memdup0(data, size);
	char *method, *path, *query, *line;
	const char *body = NULL;
	size_t pos = 0, nargs = 0, body_len = 0;
	cse *c = fz_cse();

	method = next_line(buf, size, &pos);
	path = next_line(buf, size, &pos);
	query = next_line(buf, size, &pos);
	while ((line = next_line(buf, size, &pos)) != NULL && *line) {
		char *colon = strchr(line, ':');
		if (!colon || h.n == FZ_MAX_HEADERS)
			continue; /* MHD would refuse the request; keep fuzzing the rest */
		*colon = '\0';
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		h.name[h.n] = line;
		h.value[h.n] = colon;
		h.n++;
	}
	if (pos < size) {
		body = buf + pos;
		body_len = size - pos;
	}
	if (query && *query) {
		/* As the server does: one slot more, the excess is reported by
		 * http_to_request(). */
		int n = http_parse_query(query, args, HL_MAX_QUERY_ARGS + 1);
		nargs = n < 0 ? HL_MAX_QUERY_ARGS + 1 : (size_t)n;
	}

	m2m_request_init(&req);
	m2m_response_init(&rsp);
	if (http_to_request(method, path, args, nargs, fz_header, &h, body, body_len, &req,
	                    &rsp) == 0) {
		if (!fz_json_names_network(req.pc) && !fz_json_names_network(req.rtu)) {
			req.peer_addr = m2m_strdup("127.0.0.1");
			cse_handle(c, &req, &rsp); /* req.fmt / raw_ok as the binding set them */
		} else {
			m2m_ok(&rsp, 2000, NULL);
		}
	} else if (rsp.rsc == 0 || !json_is_string(json_object_get(rsp.pc, "m2m:dbg"))) {
		fz_fail("http_to_request() refused the request with rsc %d but no m2m:dbg "
		        "message (http_server.h)", rsp.rsc);
	}
	fz_encode_response(&rsp);
	m2m_request_clear(&req);
	m2m_response_clear(&rsp);
	free(buf);
	return 0;
}
