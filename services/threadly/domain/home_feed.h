/* home_feed.h - the rules of a home feed kept in memory: who sees a new status on their home
 * timeline (the home query of the status stores, written as a predicate), and how a page is
 * cut out of a feed of the newest ids. Pure: no I/O, no allocation. */
#ifndef SERVICES_THREADLY_DOMAIN_HOME_FEED_H
#define SERVICES_THREADLY_DOMAIN_HOME_FEED_H

#include "services/threadly/domain/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a feed needs to know of a new status. */
struct home_post {
    uint64_t id;
    uint64_t account_id;
    enum visibility visibility;
    size_t nmentions;
    const uint64_t *mentions;
};

/* True if viewer's home timeline shows p: viewer's own statuses; public, unlisted and
 * private statuses of the accounts viewer follows (accepted follows only: followees, sorted
 * ascending); private and direct statuses that mention viewer. Exactly the home query of the
 * sqlite and pgsql status stores. */
bool home_feed_sees(uint64_t viewer, const uint64_t *followees, size_t nfollowees,
                    const struct home_post *p);

/* True if followees (sorted ascending) holds id. */
bool home_feed_follows(const uint64_t *followees, size_t nfollowees, uint64_t id);

/* A page as the status stores read it: ids in (lo, hi], newest first, at most limit; with
 * oldest (Mastodon's min_id) the limit ids right above lo, still returned newest first. */
struct home_window {
    uint64_t hi; /* inclusive */
    uint64_t lo; /* exclusive */
    size_t limit;
    bool oldest;
};

/* Cuts window w out of a feed: ids[0..n) ascending (oldest first), holding every id of the
 * timeline from ids[0] up, and every id at all if complete. Writes at most w->limit ids to
 * out, newest first, and returns true; returns false (out unspecified) when the answer may
 * need ids older than the feed holds. */
bool home_feed_window(const uint64_t *ids, size_t n, bool complete, const struct home_window *w,
                      uint64_t *out, size_t *nout);

#endif
