/* log.h - structured logging: one JSON object per line on a file descriptor (stderr), with
 * time, level, service, request id and message, plus typed fields. Each line is written with
 * one write(2), so lines from different threads never interleave. */
#ifndef LIB_BASE_LOG_H
#define LIB_BASE_LOG_H

#include "lib/base/buf.h"
#include "lib/base/clock.h"

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct log_async;

struct logger {
    const char *service; /* borrowed; outlives the logger */
    enum log_level level;
    int fd;
    const struct clock *clock;
    struct log_async *async; /* NULL: each line is written at once */
};

void log_init(struct logger *lg, const char *service, enum log_level level, int fd,
              const struct clock *clock);
/* Moves writing to a background thread that flushes every 50 ms or every 16 KiB, so request
 * threads never block on the log (nginx's `access_log buffer= flush=`). Up to max_pending
 * bytes wait; lines beyond that are dropped and counted. A kill -9 loses at most the last
 * 50 ms of lines. log_stop_async flushes everything and joins the thread. */
void log_start_async(struct logger *lg, size_t max_pending);
void log_stop_async(struct logger *lg);
/* Lines dropped because the async buffer was full. */
uint64_t log_dropped(const struct logger *lg);

/* "debug", "info", "warn" or "error" -> level; false for anything else. */
bool log_level_parse(const char *s, enum log_level *out);

static inline bool log_enabled(const struct logger *lg, enum log_level level)
{
    return level >= lg->level;
}

/* A line under construction: begin, add fields, end (which writes and frees it). */
struct log_line {
    struct buf b;
};

void log_begin(const struct logger *lg, struct log_line *l, enum log_level level,
               const char *req_id, const char *msg);
void log_str(struct log_line *l, const char *key, const char *value);
void log_int(struct log_line *l, const char *key, int64_t value);
void log_double(struct log_line *l, const char *key, double value);
void log_end(const struct logger *lg, struct log_line *l);

/* One-shot message with printf formatting and no extra fields. */
void log_printf(const struct logger *lg, enum log_level level, const char *req_id, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

#endif
