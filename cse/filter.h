/*
 * filter.h - filter criteria (TS-0004 7.3.3.17) parsed into a plain struct.
 *
 * filter_parse() validates the JSON object a binding put into
 * m2m_request.fc. Timestamps are normalised to the store's sortable form
 * (YYYYMMDDThhmmss,ffffff). The store turns the indexed conditions into one
 * SQL query; filter_match_atr() checks `atr` in memory on its candidates.
 */
#ifndef HEARTH_FILTER_H
#define HEARTH_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "limits.h"

typedef struct m2m_filter {
	int fu;                 /* 1 discovery, 2 conditional retrieval (default) */
	int fo;                 /* 1 AND (default), 2 OR */
	int ty[HL_MAX_FILTER_VALS];
	unsigned nty;
	char *lbl[HL_MAX_FILTER_VALS];
	unsigned nlbl;
	char *cty[HL_MAX_FILTER_VALS];
	unsigned ncty;
	char cra[24], crb[24], ms[24], us[24], exa[24], exb[24]; /* "" when absent */
	bool has_sts, has_stb, has_sza, has_szb;
	int64_t sts, stb, sza, szb;
	long lim;               /* -1 when absent */
	long ofst;              /* 0 when absent; 1-based when given */
	long lvl;               /* -1 when absent */
	json_t *atr;            /* array of {"nm":..,"val":..}; NULL when absent */
} m2m_filter;

/* True when any matching condition (not lim/ofst/lvl/fu/fo) is set. */
bool filter_has_conditions(const m2m_filter *f);

/*
 * Parse fc (may be NULL: defaults). On error returns -1 and writes a
 * human-readable reason into err (4000 in the caller).
 */
int filter_parse(const json_t *fc, m2m_filter *f, char *err, size_t errlen);
void filter_clear(m2m_filter *f);

/* In-memory evaluation of every condition on one resource attribute set,
 * combined with fo. Used where SQL is not (conditional retrieval, enc). */
bool filter_match(const m2m_filter *f, int ty, const json_t *a);

/* `atr` conditions only (the part SQL does not do). True when f->atr NULL. */
bool filter_match_atr(const m2m_filter *f, const json_t *a);

#endif
