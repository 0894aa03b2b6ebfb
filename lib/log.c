#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *names[] = { "error", "warn", "info", "debug" };
static enum log_level current = LOG_INFO;
static const char *component = "strait";

void log_init(const char *name, enum log_level level)
{
	component = name;
	current = level;
}

int log_level_parse(const char *name, enum log_level *level)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum log_level log_level_get(void)
{
	return current;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current)
		return;

	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	/* One buffer and one write, so lines of two processes sharing a
	 * terminal or a file do not interleave mid-line. */
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s %s: ", stamp,
			 ts.tv_nsec / 1000000, names[level], component);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}
