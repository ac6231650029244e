/*
 * filter.c - filter criteria (m2m:filterCriteria, TS-0004 7.3.3.17):
 * parsing, timestamp normalisation and in-memory matching.
 *
 * filter_parse() turns the JSON object of a request into an m2m_filter,
 * checking every member against a table of the filterCriteria members; it
 * owns nothing it does not copy (lbl/cty strings, a deep copy of atr).
 * Timestamps are kept in the one sortable form "YYYYMMDDThhmmss,ffffff"
 * that the store also uses for its ct/lt/et columns, so plain byte
 * comparison is time comparison, both here and in SQL.
 *
 * filter_match() is the reference semantics of every condition; the SQL
 * store implements the same rules as one query. Cost: O(conditions x
 * values) per resource, with atr grouping O(n^2) in n <= HL_MAX_FILTER_VALS.
 */
#include "filter.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Timestamps                                                          */

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num_at(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

int m2m_time_normalize(const char *in, char out[M2M_TIME_LEN])
{
	size_t len, nfrac = 0;
	int y, mo, d, h, mi, se;

	out[0] = '\0';
	if (!in)
		return -1;
	len = strlen(in);
	if (len < 15 || !is_digits(in, 8) || in[8] != 'T' || !is_digits(in + 9, 6))
		return -1;
	if (len > 15) {
		if (in[15] != ',' && in[15] != '.')
			return -1;
		nfrac = len - 16;
		if (nfrac < 1 || nfrac > 6 || !is_digits(in + 16, nfrac))
			return -1;
	}
	y = num_at(in, 4);
	mo = num_at(in + 4, 2);
	d = num_at(in + 6, 2);
	h = num_at(in + 9, 2);
	mi = num_at(in + 11, 2);
	se = num_at(in + 13, 2);
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	memcpy(out, in, 15);
	out[15] = ',';
	memcpy(out + 16, nfrac ? in + 16 : "", nfrac);
	memset(out + 16 + nfrac, '0', 6 - nfrac);
	out[22] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

enum fc_member {
	FC_FU, FC_FO, FC_TY, FC_LBL, FC_CTY,
	FC_CRA, FC_CRB, FC_MS, FC_US, FC_EXA, FC_EXB,
	FC_STS, FC_STB, FC_SZA, FC_SZB,
	FC_LIM, FC_OFST, FC_LVL, FC_ATR,
	FC_UNSUPPORTED,
};

static const struct {
	const char *sn;
	enum fc_member m;
} fc_members[] = {
	{ "fu", FC_FU }, { "fo", FC_FO }, { "ty", FC_TY }, { "lbl", FC_LBL },
	{ "cty", FC_CTY }, { "cra", FC_CRA }, { "crb", FC_CRB }, { "ms", FC_MS },
	{ "us", FC_US }, { "exa", FC_EXA }, { "exb", FC_EXB }, { "sts", FC_STS },
	{ "stb", FC_STB }, { "sza", FC_SZA }, { "szb", FC_SZB }, { "lim", FC_LIM },
	{ "ofst", FC_OFST }, { "lvl", FC_LVL }, { "atr", FC_ATR },
	/* valid filterCriteria members Hearth does not implement (yet) */
	{ "lbq", FC_UNSUPPORTED }, { "clbl", FC_UNSUPPORTED },
	{ "palb", FC_UNSUPPORTED }, { "chty", FC_UNSUPPORTED },
	{ "pty", FC_UNSUPPORTED }, { "catr", FC_UNSUPPORTED },
	{ "patr", FC_UNSUPPORTED }, { "arp", FC_UNSUPPORTED },
	{ "smf", FC_UNSUPPORTED }, { "cfs", FC_UNSUPPORTED },
	{ "cfq", FC_UNSUPPORTED }, { "gmty", FC_UNSUPPORTED },
	{ "geom", FC_UNSUPPORTED }, { "gsf", FC_UNSUPPORTED },
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A non-negative integer: JSON integer, or a string of 1..18 decimal digits. */
static int get_nonneg(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return -1;
		*out = (int64_t)i;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		int64_t acc = 0;
		if (n == 0 || n > 18 || n != json_string_length(v) || !is_digits(s, n))
			return -1;
		for (size_t i = 0; i < n; i++)
			acc = acc * 10 + (s[i] - '0');
		*out = acc;
		return 0;
	}
	return -1;
}

/* Calls `one` for v itself when it is a scalar, or for each element of an
   array; at most HL_MAX_FILTER_VALS values. */
typedef int (*value_fn)(m2m_filter *f, const json_t *v);

static int each_value(m2m_filter *f, const json_t *v, value_fn one,
                      const char *sn, char *err, size_t errlen)
{
	size_t i;
	const json_t *e;

	if (!json_is_array(v)) {
		if (one(f, v) < 0)
			goto bad;
		return 0;
	}
	if (json_array_size(v) > HL_MAX_FILTER_VALS) {
		set_err(err, errlen, "filter criterion %s: more than %u values", sn,
		        HL_MAX_FILTER_VALS);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (one(f, e) < 0)
			goto bad;
	}
	return 0;
bad:
	set_err(err, errlen, "filter criterion %s: invalid value", sn);
	return -1;
}

static int add_ty(m2m_filter *f, const json_t *v)
{
	int64_t t;

	if (get_nonneg(v, &t) < 0 || t < 1 || t > INT_MAX || f->nty >= HL_MAX_FILTER_VALS)
		return -1;
	f->ty[f->nty++] = (int)t;
	return 0;
}

static int add_str(char **arr, unsigned *n, const json_t *v)
{
	char *s;

	if (!json_is_string(v) || *n >= HL_MAX_FILTER_VALS)
		return -1;
	/* an embedded NUL could never match a stored label or media type */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	s = strdup(json_string_value(v));
	if (!s)
		return -1;
	arr[(*n)++] = s;
	return 0;
}

static int add_lbl(m2m_filter *f, const json_t *v)
{
	return add_str(f->lbl, &f->nlbl, v);
}

static int add_cty(m2m_filter *f, const json_t *v)
{
	return add_str(f->cty, &f->ncty, v);
}

static int parse_atr(m2m_filter *f, const json_t *v, char *err, size_t errlen)
{
	json_t *arr;
	size_t i;
	const json_t *e;

	if (json_is_object(v))
		arr = json_pack("[O]", v);
	else if (json_is_array(v))
		arr = json_deep_copy(v);
	else
		goto bad;
	if (!arr) {
		set_err(err, errlen, "filter criterion atr: out of memory");
		return -1;
	}
	f->atr = arr;
	if (json_array_size(arr) > HL_MAX_FILTER_VALS) {
		set_err(err, errlen, "filter criterion atr: more than %u values",
		        HL_MAX_FILTER_VALS);
		return -1;
	}
	json_array_foreach(arr, i, e) {
		const json_t *nm = json_object_get(e, "nm");
		if (!json_is_object(e) || !json_is_string(nm) ||
		    json_string_length(nm) == 0 || !json_object_get(e, "val"))
			goto bad;
	}
	return 0;
bad:
	set_err(err, errlen, "filter criterion atr: expected [{\"nm\":name,\"val\":value}]");
	return -1;
}

void filter_init(m2m_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->fu = 2;
	f->fo = 1;
	f->lim = -1;
	f->ofst = 0;
	f->lvl = -1;
}

void filter_clear(m2m_filter *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->nlbl && i < HL_MAX_FILTER_VALS; i++)
		free(f->lbl[i]);
	for (unsigned i = 0; i < f->ncty && i < HL_MAX_FILTER_VALS; i++)
		free(f->cty[i]);
	json_decref(f->atr);
	filter_init(f);
}

bool filter_has_conditions(const m2m_filter *f)
{
	return f->nty || f->nlbl || f->ncty || f->cra[0] || f->crb[0] ||
	       f->ms[0] || f->us[0] || f->exa[0] || f->exb[0] || f->has_sts ||
	       f->has_stb || f->has_sza || f->has_szb ||
	       (f->atr && json_array_size(f->atr) > 0);
}

static char *time_field(m2m_filter *f, enum fc_member m)
{
	switch (m) {
	case FC_CRA: return f->cra;
	case FC_CRB: return f->crb;
	case FC_MS: return f->ms;
	case FC_US: return f->us;
	case FC_EXA: return f->exa;
	default: return f->exb;
	}
}

static int parse_member(m2m_filter *f, const char *sn, enum fc_member m,
                        const json_t *v, char *err, size_t errlen)
{
	int64_t n;

	switch (m) {
	case FC_FU:
		if (get_nonneg(v, &n) < 0 || n < 1 || n > 3)
			break;
		if (n == 3) {
			set_err(err, errlen, "filter usage 3 (IPE on-demand discovery) is not supported");
			return -2;
		}
		f->fu = (int)n;
		return 0;
	case FC_FO:
		if (get_nonneg(v, &n) < 0 || n < 1 || n > 2)
			break;
		f->fo = (int)n;
		return 0;
	case FC_TY:
		return each_value(f, v, add_ty, sn, err, errlen);
	case FC_LBL:
		return each_value(f, v, add_lbl, sn, err, errlen);
	case FC_CTY:
		return each_value(f, v, add_cty, sn, err, errlen);
	case FC_CRA: case FC_CRB: case FC_MS: case FC_US: case FC_EXA: case FC_EXB:
		if (!json_is_string(v) ||
		    m2m_time_normalize(json_string_value(v), time_field(f, m)) < 0) {
			set_err(err, errlen, "filter criterion %s: not a timestamp (YYYYMMDDThhmmss[,ffffff])", sn);
			return -1;
		}
		return 0;
	case FC_STS: case FC_STB: case FC_SZA: case FC_SZB:
		if (get_nonneg(v, &n) < 0)
			break;
		if (m == FC_STS) { f->sts = n; f->has_sts = true; }
		else if (m == FC_STB) { f->stb = n; f->has_stb = true; }
		else if (m == FC_SZA) { f->sza = n; f->has_sza = true; }
		else { f->szb = n; f->has_szb = true; }
		return 0;
	case FC_LIM: case FC_LVL:
		if (get_nonneg(v, &n) < 0 || n > LONG_MAX)
			break;
		if (m == FC_LIM)
			f->lim = (long)n;
		else
			f->lvl = (long)n;
		return 0;
	case FC_OFST:
		if (get_nonneg(v, &n) < 0 || n < 1 || n > LONG_MAX)
			break;
		f->ofst = (long)n;
		return 0;
	case FC_ATR:
		return parse_atr(f, v, err, errlen);
	case FC_UNSUPPORTED:
		set_err(err, errlen, "filter criterion %s is not supported", sn);
		return -2;
	}
	set_err(err, errlen, "filter criterion %s: invalid value", sn);
	return -1;
}

int filter_parse(const json_t *fc, m2m_filter *f, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	int rc = 0;

	filter_init(f);
	if (err && errlen)
		err[0] = '\0';
	if (!fc)
		return 0;
	if (!json_is_object(fc)) {
		set_err(err, errlen, "filter criteria must be an object");
		return -1;
	}
	json_object_foreach((json_t *)fc, key, v) {
		size_t i;

		if (json_is_null(v))
			continue;
		for (i = 0; i < sizeof(fc_members) / sizeof(fc_members[0]); i++)
			if (strcmp(key, fc_members[i].sn) == 0)
				break;
		if (i == sizeof(fc_members) / sizeof(fc_members[0])) {
			set_err(err, errlen, "unknown filter criterion %s", key);
			rc = -1;
			break;
		}
		rc = parse_member(f, key, fc_members[i].m, v, err, errlen);
		if (rc < 0)
			break;
	}
	if (rc < 0)
		filter_clear(f);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */

/* Text form of a number or boolean, for comparing with a string val. */
static bool scalar_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.15g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		return false;
	return true;
}

static bool numbers_equal(const json_t *x, const json_t *y)
{
	if (json_is_integer(x) && json_is_integer(y))
		return json_integer_value(x) == json_integer_value(y);
	return json_number_value(x) == json_number_value(y);
}

/* Is the string s the value of number/boolean attribute `at`? */
static bool string_equals_scalar(const char *s, const json_t *at)
{
	char buf[64];
	char *end;

	if (json_is_number(at) && !strchr(s, '*') && *s) {
		errno = 0;
		if (json_is_integer(at)) {
			long long ll = strtoll(s, &end, 10);
			if (!*end && errno == 0)
				return ll == json_integer_value(at);
		}
		errno = 0;
		double d = strtod(s, &end);
		if (!*end && errno == 0)
			return d == json_number_value(at);
		return false;
	}
	return scalar_text(at, buf, sizeof(buf)) && util_glob(s, buf);
}

static bool value_matches(const json_t *at, const json_t *val)
{
	if (json_is_array(at)) {
		size_t i;
		const json_t *e;
		json_array_foreach(at, i, e) {
			if (!json_is_array(e) && value_matches(e, val))
				return true;
		}
		/* an array val may also name the whole list */
		return json_is_array(val) && json_equal((json_t *)at, (json_t *)val);
	}
	if (json_is_string(val)) {
		if (json_is_string(at))
			return util_glob(json_string_value(val), json_string_value(at));
		return string_equals_scalar(json_string_value(val), at);
	}
	if (json_is_number(val)) {
		char buf[64];
		if (json_is_number(at))
			return numbers_equal(at, val);
		return json_is_string(at) && scalar_text(val, buf, sizeof(buf)) &&
		       strcmp(buf, json_string_value(at)) == 0;
	}
	if (json_is_boolean(val)) {
		if (json_is_boolean(at))
			return json_is_true(at) == json_is_true(val);
		return json_is_string(at) &&
		       strcmp(json_string_value(at), json_is_true(val) ? "true" : "false") == 0;
	}
	return json_equal((json_t *)at, (json_t *)val);
}

static bool atr_entry_matches(const json_t *e, const json_t *a)
{
	const char *nm = json_string_value(json_object_get(e, "nm"));
	/* hidden attributes ('_' first) are not part of any representation:
	   matching them would let a filter probe what only the CSE may see */
	if (!nm || nm[0] == '_')
		return false;
	const json_t *at = json_object_get(a, nm);

	return at && value_matches(at, json_object_get(e, "val"));
}

/* Tag tally: `n` tags seen, `all` met all of them, `any` met one. */
typedef struct tally {
	unsigned n;
	bool all, any;
} tally;

static void tally_add(tally *t, bool met)
{
	t->n++;
	if (met)
		t->any = true;
	else
		t->all = false;
}

static bool tally_result(const tally *t, int fo)
{
	if (t->n == 0)
		return true;
	return fo == 2 ? t->any : t->all;
}

static void tally_atr(const m2m_filter *f, const json_t *a, tally *t)
{
	size_t n = json_array_size(f->atr);

	for (size_t i = 0; i < n; i++) {
		const char *nm = json_string_value(json_object_get(json_array_get(f->atr, i), "nm"));
		bool seen = false, met = false;

		if (!nm)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(nm, json_string_value(json_object_get(
			               json_array_get(f->atr, j), "nm"))) == 0;
		if (seen)
			continue; /* this nm's group was evaluated at its first entry */
		for (size_t j = i; j < n && !met; j++) {
			const json_t *e = json_array_get(f->atr, j);
			if (strcmp(nm, json_string_value(json_object_get(e, "nm"))) == 0)
				met = atr_entry_matches(e, a);
		}
		tally_add(t, met);
	}
}

bool filter_match_atr(const m2m_filter *f, const json_t *a)
{
	tally t = { 0, true, false };

	if (!f->atr)
		return true;
	tally_atr(f, a, &t);
	return tally_result(&t, f->fo);
}

/* Normalised timestamp attribute; false when absent or malformed. */
static bool attr_time(const json_t *a, const char *sn, char out[M2M_TIME_LEN])
{
	return m2m_time_normalize(json_string_value(json_object_get(a, sn)), out) == 0;
}

static bool attr_int(const json_t *a, const char *sn, int64_t *out)
{
	const json_t *v = json_object_get(a, sn);

	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

enum cmp { LT, GE };

static void tally_time(tally *t, const json_t *a, const char *sn,
                       const char *bound, enum cmp c)
{
	char v[M2M_TIME_LEN];

	if (!bound[0])
		return;
	if (!attr_time(a, sn, v)) {
		tally_add(t, false);
		return;
	}
	int d = strcmp(v, bound);
	tally_add(t, c == LT ? d < 0 : d >= 0);
}

static void tally_int(tally *t, const json_t *a, const char *sn, bool has,
                      int64_t bound, enum cmp c)
{
	int64_t v;

	if (!has)
		return;
	if (!attr_int(a, sn, &v)) {
		tally_add(t, false);
		return;
	}
	tally_add(t, c == LT ? v < bound : v >= bound);
}

static bool any_string_in(const char *s, size_t slen, char *const *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strlen(list[i]) == slen && memcmp(list[i], s, slen) == 0)
			return true;
	return false;
}

bool filter_match(const m2m_filter *f, int ty, const json_t *a)
{
	tally t = { 0, true, false };

	if (f->nty) {
		bool met = false;
		for (unsigned i = 0; i < f->nty && !met; i++)
			met = f->ty[i] == ty;
		tally_add(&t, met);
	}
	if (f->nlbl) {
		const json_t *lbl = json_object_get(a, "lbl");
		bool met = false;
		size_t i;
		const json_t *e;
		json_array_foreach(lbl, i, e) {
			const char *s = json_string_value(e);
			if (s && any_string_in(s, strlen(s), f->lbl, f->nlbl)) {
				met = true;
				break;
			}
		}
		tally_add(&t, met);
	}
	if (f->ncty) {
		const char *cnf = json_string_value(json_object_get(a, "cnf"));
		bool met = false;
		if (cnf) {
			const char *colon = strchr(cnf, ':');
			size_t len = colon ? (size_t)(colon - cnf) : strlen(cnf);
			met = any_string_in(cnf, len, f->cty, f->ncty);
		}
		tally_add(&t, met);
	}
	tally_time(&t, a, "ct", f->crb, LT);
	tally_time(&t, a, "ct", f->cra, GE);
	tally_time(&t, a, "lt", f->ms, GE);
	tally_time(&t, a, "lt", f->us, LT);
	tally_time(&t, a, "et", f->exb, LT);
	tally_time(&t, a, "et", f->exa, GE);
	tally_int(&t, a, "st", f->has_sts, f->sts, LT);
	tally_int(&t, a, "st", f->has_stb, f->stb, GE);
	tally_int(&t, a, "cs", f->has_sza, f->sza, GE);
	tally_int(&t, a, "cs", f->has_szb, f->szb, LT);
	if (f->atr)
		tally_atr(f, a, &t);
	return tally_result(&t, f->fo);
}
