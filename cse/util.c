/*
 * util.c - time stamps and identifiers.
 *
 * Time stamps are kept in one sortable form, "YYYYMMDDThhmmss,ffffff" (UTC),
 * so that the store can compare them as text. Generated resource
 * identifiers and names are time-ordered for the same reason: a new
 * resource's keys then go to the end of the store's indexes (one page
 * written for a whole batch of creates) instead of to random pages.
 */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#include "filter.h"
#include "util.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned util_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYYMMDDTHHMMSS,ffffff" (the basic format with microseconds), written
   digit by digit: two snprintf() calls were a tenth of the work of
   stamping a new resource. Years outside 0..9999 take the slow path. */
static void fmt_stamp(const struct tm *tm, long micros, char out[24])
{
	int year = tm->tm_year + 1900;
	if (year < 0 || year > 9999 || micros < 0 || micros > 999999) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02d,%06ld", year, tm->tm_mon + 1, tm->tm_mday,
		         tm->tm_hour, tm->tm_min, tm->tm_sec, micros);
		snprintf(out, 24, "%.23s", buf);
		return;
	}
	put_digits(out, (unsigned)year, 4);
	put_digits(out + 4, (unsigned)tm->tm_mon + 1, 2);
	put_digits(out + 6, (unsigned)tm->tm_mday, 2);
	out[8] = 'T';
	put_digits(out + 9, (unsigned)tm->tm_hour, 2);
	put_digits(out + 11, (unsigned)tm->tm_min, 2);
	put_digits(out + 13, (unsigned)tm->tm_sec, 2);
	out[15] = ',';
	put_digits(out + 16, (unsigned)micros, 6);
	out[22] = '\0';
}

void util_time_fmt(int64_t epoch_ms, char out[24])
{
	time_t secs = (time_t)(epoch_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	fmt_stamp(&tm, (long)(epoch_ms % 1000) * 1000, out);
}

void util_now(char out[24])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fmt_stamp(&tm, ts.tv_nsec / 1000, out);
}

void util_time_from_now(int64_t offset_ms, char out[24])
{
	util_time_fmt(now_ms() + offset_ms, out);
}

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t util_time_epoch_ms(const char *ts)
{
	char norm[24];
	if (!ts || m2m_time_normalize(ts, norm) != 0)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(norm, 4) - 1900;
	tm.tm_mon = digits(norm + 4, 2) - 1;
	tm.tm_mday = digits(norm + 6, 2);
	tm.tm_hour = digits(norm + 9, 2);
	tm.tm_min = digits(norm + 11, 2);
	tm.tm_sec = digits(norm + 13, 2);
	int us = digits(norm + 16, 6);
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + us / 1000;
}

/* ISO 8601 duration PnYnMnDTnHnMnS (years = 365 days, months = 30 days). */
static int iso_duration_ms(const char *s, int64_t *out)
{
	if (*s != 'P')
		return -1;
	s++;
	bool in_time = false, any = false;
	double total = 0;
	while (*s) {
		if (*s == 'T') {
			if (in_time)
				return -1;
			in_time = true;
			s++;
			continue;
		}
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		if (end == s || errno || v < 0)
			return -1;
		double unit;
		switch (*end) {
		case 'Y': unit = in_time ? -1 : 365.0 * 86400; break;
		case 'M': unit = in_time ? 60 : 30.0 * 86400; break;
		case 'W': unit = in_time ? -1 : 7.0 * 86400; break;
		case 'D': unit = in_time ? -1 : 86400; break;
		case 'H': unit = in_time ? 3600 : -1; break;
		case 'S': unit = in_time ? 1 : -1; break;
		default: return -1;
		}
		if (unit < 0)
			return -1;
		total += v * unit;
		any = true;
		s = end + 1;
	}
	if (!any || total > 1e13)
		return -1;
	*out = (int64_t)(total * 1000);
	return 0;
}

int util_absrel(const char *in, char out[24])
{
	if (!in || !*in)
		return -1;
	if (m2m_time_normalize(in, out) == 0)
		return 0;
	int64_t ms;
	if (in[0] == 'P') {
		if (iso_duration_ms(in, &ms) != 0)
			return -1;
		util_time_from_now(ms, out);
		return 0;
	}
	char *end;
	errno = 0;
	long long v = strtoll(in, &end, 10);
	if (errno || *end || end == in || v < -1000000000000LL || v > 1000000000000LL)
		return -1;
	util_time_from_now(v, out);
	return 0;
}

void util_random_id(const char *prefix, unsigned ndigits, char *out, size_t outlen)
{
	unsigned char rnd[32];
	if (ndigits > sizeof(rnd))
		ndigits = sizeof(rnd);
	if (getrandom(rnd, ndigits, 0) != (ssize_t)ndigits) {
		/* getrandom on Linux does not fail for small sizes once seeded;
		   fall back to the clock rather than abort */
		int64_t t = now_ms();
		for (unsigned i = 0; i < ndigits; i++)
			rnd[i] = (unsigned char)((t >> (i % 8)) ^ (i * 131u));
	}
	size_t plen = strlen(prefix);
	if (plen + ndigits + 1 > outlen) {
		out[0] = '\0';
		return;
	}
	memcpy(out, prefix, plen);
	for (unsigned i = 0; i < ndigits; i++)
		out[plen + i] = (char)('0' + rnd[i] % 10);
	out[plen + ndigits] = '\0';
}

void util_ordered_id(const char *prefix, char *out, size_t outlen)
{
	static _Atomic uint64_t last;
	int64_t ms = now_ms() - INT64_C(1577836800000); /* 2020-01-01T00:00:00Z */
	uint64_t now = ms > 0 ? (uint64_t)ms * 1000u : 0, prev = atomic_load(&last), next;
	do
		next = now > prev ? now : prev + 1;
	while (!atomic_compare_exchange_weak(&last, &prev, next));
	int n = snprintf(out, outlen, "%s%0*llu", prefix, UTIL_ORDERED_DIGITS, (unsigned long long)next);
	if (n < 0 || (size_t)n >= outlen)
		out[0] = '\0';
}

bool util_valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '_' && ch != '~')
			return false;
	}
	return true;
}

bool util_glob(const char *p, const char *s)
{
	const char *star = NULL, *ss = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
