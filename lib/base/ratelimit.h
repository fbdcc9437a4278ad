/* ratelimit.h - in-process rate limits: at most `limit` hits per key in a fixed window
 * (Mastodon's rack-attack throttles work the same way). Keys are short strings (an IP
 * address). Memory is bounded: about max_keys keys are tracked; when the table fills up,
 * keys whose window has ended are dropped first, then others, which start afresh. Thread-safe.
 * Redis-backed limits for several instances come with the production profile. */
#ifndef LIB_BASE_RATELIMIT_H
#define LIB_BASE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(int limit, int64_t window_ms, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);

struct ratelimit_state {
    int limit;
    int remaining;    /* after this hit */
    int64_t reset_ms; /* when the window ends (clock of the caller) */
};

/* Counts one hit for key at now_ms. Returns false when the key is over its limit (the hit
 * is not counted then). */
bool ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now_ms,
                   struct ratelimit_state *state);

#endif
