/*
 * util.h - small helpers shared by the core: time stamps, identifiers.
 */
#ifndef HEARTH_UTIL_H
#define HEARTH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Current UTC time as "YYYYMMDDThhmmss,ffffff" (23 chars + NUL). */
void util_now(char out[24]);
/* Time `offset_ms` from now in the same format. */
void util_time_from_now(int64_t offset_ms, char out[24]);
/* Seconds since the epoch of a normalised timestamp; -1 if malformed. */
int64_t util_time_epoch_ms(const char *ts);
/* Format epoch milliseconds as a normalised timestamp. */
void util_time_fmt(int64_t epoch_ms, char out[24]);

/*
 * Parse an m2m:absRelTimestamp (absolute timestamp, relative milliseconds,
 * or an ISO 8601 duration such as PT10S) into a normalised absolute
 * timestamp. Returns 0 or -1 when malformed.
 */
int util_absrel(const char *in, char out[24]);

/* Random identifier: prefix followed by `digits` decimal digits. */
void util_random_id(const char *prefix, unsigned digits, char *out, size_t outlen);

/* Time-ordered identifier: prefix followed by UTIL_ORDERED_DIGITS decimal
   digits, the milliseconds since 2020 times 1000 plus a counter, strictly
   increasing within the process (also across threads). */
#define UTIL_ORDERED_DIGITS 16
void util_ordered_id(const char *prefix, char *out, size_t outlen);

/* FNV-1a hash of a NUL-terminated string (for small hash tables). */
unsigned util_hash(const char *s);

/* True if s is a valid resource name / id token: unreserved chars only,
 * first char alphanumeric, length 1..max. */
bool util_valid_name(const char *s, size_t max);

/* Glob with '*' only. */
bool util_glob(const char *pat, const char *s);

#endif
