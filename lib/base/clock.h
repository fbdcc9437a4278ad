/* clock.h - wall clock as an injectable port (tests use a fake), and the RFC 3339 UTC
 * format with milliseconds that Mastodon clients require ("2026-11-24T01:02:03.000Z"). */
#ifndef LIB_BASE_CLOCK_H
#define LIB_BASE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct clock {
    /* Milliseconds since the Unix epoch. Must be thread-safe. */
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};

static inline int64_t clock_now_ms(const struct clock *c)
{
    return c->now_ms(c->ctx);
}

/* The system's real-time clock. */
extern const struct clock clock_system;

/* Monotonic milliseconds, for durations only. */
int64_t clock_monotonic_ms(void);
/* Monotonic nanoseconds, for latency measurement. */
int64_t clock_monotonic_ns(void);
/* The time ms (>= 0) from now on clock id (CLOCK_MONOTONIC or CLOCK_REALTIME), as the absolute
 * deadline pthread_cond_timedwait takes on a condition variable using that clock. */
struct timespec clock_deadline(clockid_t id, int64_t ms);

/* A fake clock for tests: returns *ctx (an int64_t the test moves). */
int64_t clock_fake_now_ms(void *ctx);

#define CLOCK_ISO_LEN 25 /* "2026-11-24T01:02:03.000Z" plus NUL */

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds into out. */
void clock_format_iso(int64_t ms, char out[CLOCK_ISO_LEN]);
/* Formats the UTC date "YYYY-MM-DD" into out (11 bytes). */
void clock_format_date(int64_t ms, char out[11]);
/* Parses RFC 3339 ("2026-11-24T01:02:03Z", fraction and numeric offset optional) into ms.
 * Returns false on malformed input. */
bool clock_parse_iso(const char *s, int64_t *ms);

#endif
