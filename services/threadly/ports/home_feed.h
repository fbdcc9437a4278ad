/* home_feed.h - port: each account's home timeline as its newest status ids, kept in a cache
 * (in-process now, Redis later, as Mastodon keeps home feeds in Redis) so that a home page is
 * a read of ids instead of the home query. A cache, not a store: an account's feed may be
 * absent (never read, evicted, invalidated) and is then built again from the status store by
 * the caller (app/home.c); docs/adr/005-home-feed.md says how it stays coherent.
 * Adapters: mem (in-process, bounded). Thread-safe. */
#ifndef SERVICES_THREADLY_PORTS_HOME_FEED_H
#define SERVICES_THREADLY_PORTS_HOME_FEED_H

#include "lib/base/err.h"
#include "lib/base/xalloc.h"
#include "services/threadly/domain/home_feed.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct home_feed_stats {
    size_t accounts; /* feeds held (built or being built) */
    size_t bytes;    /* memory they take, about */
    uint64_t hits, misses, builds, dropped_builds, evictions;
};

struct home_feed_ops {
    /* Cuts window w out of account's feed into out (room for w->limit ids), newest first, and
     * sets *answered. *answered is false when the feed is not held or the window reaches past
     * the ids it holds: the caller asks the store. ERR_UNAVAILABLE if the cache cannot be read
     * (the caller asks the store too). */
    int (*read)(void *ctx, uint64_t account, const struct home_window *w, uint64_t *out, size_t *n,
                bool *answered, struct err *err);
    /* Starts building account's feed and returns a ticket, or 0 when the feed is held or
     * already being built (the caller then just reads the store). Every write reported from
     * now on (created, deleted, invalidate) is kept for the build and applied by build_end. */
    uint64_t (*build_begin)(void *ctx, uint64_t account);
    /* Completes the build of ticket: followees (sorted ascending, accepted follows only) and
     * ids (ascending, oldest first) as the stores had them after build_begin; complete when
     * they are all of the account's home timeline, not only its newest. ids beyond capacity()
     * are dropped from the old end. A build whose account was invalidated meanwhile is
     * dropped. */
    void (*build_end)(void *ctx, uint64_t ticket, const uint64_t *followees, size_t nfollowees,
                      const uint64_t *ids, size_t n, bool complete);
    /* Gives up the build of ticket (the store failed). */
    void (*build_abort)(void *ctx, uint64_t ticket);
    /* The most ids one feed holds. */
    size_t (*capacity)(void *ctx);
    /* Reports a committed status: every held feed whose account sees it (home_feed_sees) gets
     * its id. Idempotent. */
    void (*created)(void *ctx, const struct home_post *p);
    /* Reports a deleted status: removed from every feed. Idempotent. */
    void (*deleted)(void *ctx, uint64_t status_id);
    /* Forgets account's feed (its follows changed): rebuilt at its next read. */
    void (*invalidate)(void *ctx, uint64_t account);
    void (*stats)(void *ctx, struct home_feed_stats *out);
    void (*close)(void *ctx);
};

struct home_feed {
    const struct home_feed_ops *ops;
    void *ctx;
};

static inline int home_feed_read(struct home_feed *f, uint64_t account, const struct home_window *w,
                                 uint64_t *out, size_t *n, bool *answered, struct err *err)
{
    *n = 0;
    *answered = false;
    return f->ops->read(f->ctx, account, w, out, n, answered, err);
}

static inline uint64_t home_feed_build_begin(struct home_feed *f, uint64_t account)
{
    return f->ops->build_begin(f->ctx, account);
}

static inline void home_feed_build_end(struct home_feed *f, uint64_t ticket,
                                       const uint64_t *followees, size_t nfollowees,
                                       const uint64_t *ids, size_t n, bool complete)
{
    ASSERT(ticket != 0);
    for (size_t i = 1; i < nfollowees; i++)
        ASSERT(followees[i - 1] < followees[i]);
    for (size_t i = 1; i < n; i++)
        ASSERT(ids[i - 1] < ids[i]);
    f->ops->build_end(f->ctx, ticket, followees, nfollowees, ids, n, complete);
}

static inline void home_feed_build_abort(struct home_feed *f, uint64_t ticket)
{
    ASSERT(ticket != 0);
    f->ops->build_abort(f->ctx, ticket);
}

static inline size_t home_feed_capacity(struct home_feed *f)
{
    return f->ops->capacity(f->ctx);
}

static inline void home_feed_created(struct home_feed *f, const struct home_post *p)
{
    f->ops->created(f->ctx, p);
}

static inline void home_feed_deleted(struct home_feed *f, uint64_t status_id)
{
    f->ops->deleted(f->ctx, status_id);
}

static inline void home_feed_invalidate(struct home_feed *f, uint64_t account)
{
    f->ops->invalidate(f->ctx, account);
}

static inline void home_feed_stats(struct home_feed *f, struct home_feed_stats *out)
{
    f->ops->stats(f->ctx, out);
}

static inline void home_feed_close(struct home_feed *f)
{
    if (f->ops)
        f->ops->close(f->ctx);
}

#endif
