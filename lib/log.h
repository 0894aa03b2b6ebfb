/* Logging with levels, to standard error.
 *
 * One line per event: "2026-11-23T07:00:00.123Z warn  nsp: message".
 * The level is set once at start (from --log-level); messages below it cost
 * one comparison. Not thread-safe beyond what stdio guarantees, which is
 * enough: every strait daemon runs one loop per thread and logs whole lines.
 */
#ifndef STRAIT_LOG_H
#define STRAIT_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the component name printed on every line ("nsp") and the level. */
void log_init(const char *component, enum log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *level);

enum log_level log_level_get(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_level_get() >= LOG_DEBUG)                              \
			log_msg(LOG_DEBUG, __VA_ARGS__);                       \
	} while (0)

#endif
