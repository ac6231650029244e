/*
 * log.c - levelled logging to stderr.
 *
 * Each call formats one complete line into a stack buffer
 *   2026-11-26T15:04:05.123Z LEVEL message\n
 * and hands it to write(2) under a mutex, so lines from different threads
 * never interleave. The message part is bounded (LOG_MSG_MAX bytes; longer
 * ones end in "..."), and CR/LF inside it become spaces so that one call is
 * always exactly one line. Cost: one clock_gettime, one format, one write.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_MSG_MAX 2048u /* message bytes, excluding timestamp and level */
#define LOG_HEAD_MAX 64u  /* timestamp + level + separators */

int log_level = LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_names[] = {
	[LOG_ERROR] = "ERROR",
	[LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO",
	[LOG_DEBUG] = "DEBUG",
};

int log_level_parse(const char *s)
{
	static const struct { const char *name; int level; } tab[] = {
		{ "error", LOG_ERROR },
		{ "warn", LOG_WARN },
		{ "warning", LOG_WARN },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcasecmp(s, tab[i].name) == 0)
			return tab[i].level;
	return -1;
}

/* Format "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL " into buf; returns its length. */
static size_t log_head(char *buf, size_t len, int level)
{
	struct timespec ts;
	struct tm tm;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
	}
	if (!gmtime_r(&ts.tv_sec, &tm))
		memset(&tm, 0, sizeof tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(buf + n, len - n, ".%03dZ %s ", (int)(ts.tv_nsec / 1000000L),
	                 log_names[level]);
	if (m < 0)
		return n;
	n += (size_t)m;
	return n < len ? n : len - 1;
}

static void log_write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(int level, const char *fmt, ...)
{
	if (level < LOG_ERROR)
		level = LOG_ERROR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (level > log_level)
		return;

	int saved_errno = errno; /* callers may log then inspect errno */
	char line[LOG_HEAD_MAX + LOG_MSG_MAX + 2];
	size_t n = log_head(line, LOG_HEAD_MAX, level);

	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, LOG_MSG_MAX + 1, fmt, ap);
	va_end(ap);
	size_t mlen = 0;
	if (m < 0) {
		static const char bad[] = "(log format error)";
		memcpy(line + n, bad, sizeof bad - 1);
		mlen = sizeof bad - 1;
	} else if ((size_t)m > LOG_MSG_MAX) {
		mlen = LOG_MSG_MAX;
		memcpy(line + n + mlen - 3, "...", 3);
	} else {
		mlen = (size_t)m;
	}
	for (size_t i = n; i < n + mlen; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	n += mlen;
	line[n++] = '\n';

	pthread_mutex_lock(&log_lock);
	log_write_all(line, n);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}
