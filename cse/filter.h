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

/* Sortable timestamp: "YYYYMMDDThhmmss,ffffff" plus NUL. */
#define M2M_TIME_LEN 24

typedef struct m2m_filter {
	int fu;                 /* 1 discovery, 2 conditional retrieval (default) */
	int fo;                 /* 1 AND (default), 2 OR */
	int ty[HL_MAX_FILTER_VALS];
	unsigned nty;
	char *lbl[HL_MAX_FILTER_VALS];
	unsigned nlbl;
	char *cty[HL_MAX_FILTER_VALS];
	unsigned ncty;
	/* normalised by m2m_time_normalize(); "" when absent */
	char cra[M2M_TIME_LEN], crb[M2M_TIME_LEN], ms[M2M_TIME_LEN],
	     us[M2M_TIME_LEN], exa[M2M_TIME_LEN], exb[M2M_TIME_LEN];
	bool has_sts, has_stb, has_sza, has_szb;
	int64_t sts, stb, sza, szb;
	long lim;               /* -1 when absent */
	long ofst;              /* 0 when absent; 1-based when given */
	long lvl;               /* -1 when absent */
	json_t *atr;            /* owned array of {"nm":..,"val":..}; NULL when absent */
} m2m_filter;

/*
 * Validate an m2m:timestamp ("YYYYMMDDThhmmss", optionally followed by ','
 * or '.' and 1..6 fraction digits; calendar-checked, seconds 0..59, no zone)
 * and write it as exactly "YYYYMMDDThhmmss,ffffff" (fraction right-padded
 * with zeros), so that byte order is time order. Returns 0, or -1 (out is
 * then "") when in is NULL or malformed.
 */
int m2m_time_normalize(const char *in, char out[M2M_TIME_LEN]);

/* Defaults: fu 2, fo 1, lim -1, ofst 0, lvl -1, no condition. */
void filter_init(m2m_filter *f);

/* True when any matching condition (not lim/ofst/lvl/fu/fo) is set. */
bool filter_has_conditions(const m2m_filter *f);

/*
 * Parse fc (may be NULL: defaults). f needs no prior initialisation; it is
 * always left in a state filter_clear() accepts (defaults on error).
 * Returns
 *    0  success;
 *   -1  invalid (wrong type or range, malformed timestamp, more than
 *       HL_MAX_FILTER_VALS values, a member that is no filterCriteria
 *       member): 4000 BAD_REQUEST in the caller;
 *   -2  a valid filterCriteria member Hearth does not implement (fu=3,
 *       lbq, clbl, palb, chty, pty, catr, patr, arp, smf, cfs, cfq, gmty,
 *       geom, gsf): 5001 NOT_IMPLEMENTED in the caller.
 * On error err receives a human-readable reason (when errlen > 0).
 * Integers may also be given as strings of decimal digits (query strings);
 * members whose value is JSON null count as absent.
 */
int filter_parse(const json_t *fc, m2m_filter *f, char *err, size_t errlen);
/* Frees what f owns and resets it to the defaults; safe to call twice. */
void filter_clear(m2m_filter *f);

/*
 * In-memory evaluation of every condition on one resource attribute set,
 * combined with fo. Used where SQL is not (conditional retrieval, enc).
 * Rules (TS-0001 / digest 8.6): ct < crb, ct >= cra, lt >= ms, lt < us,
 * st < sts, st >= stb, et < exb, et >= exa, cs >= sza, cs < szb, ty in
 * the list, any label in the list, media type of cnf (before the first
 * ':') in cty. A resource without the attribute does not meet a condition
 * on it. Values of one tag are ORed; different tags are combined by fo.
 * True when f has no condition.
 */
bool filter_match(const m2m_filter *f, int ty, const json_t *a);

/*
 * `atr` conditions only (the part SQL does not do). True when f->atr NULL.
 * Each distinct `nm` is one condition tag: entries with the same nm are
 * ORed, different nm are combined by fo. An entry matches when attribute
 * nm exists and equals val: strings exactly, except that '*' in a string
 * val matches any run of characters; numbers by value; booleans by value;
 * a string val is also compared with the text of a number or boolean
 * attribute; objects structurally. A list attribute matches when any
 * element matches.
 */
bool filter_match_atr(const m2m_filter *f, const json_t *a);

#endif
