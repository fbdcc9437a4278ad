/* status_store.h - port: durable storage of statuses and the timelines read from them.
 * Adapters: mem (tests), sqlite, pgsql. Thread-safe; results in the caller's arena.
 * Counters are kept exact by the adapter in the same transaction as the change:
 * accounts.statuses_count and last_status_at_ms of the author, replies_count of the parent.
 * The statuses that get, get_many, replies and timeline return may carry their author
 * (struct status.author, the account row read in the same query), so that rendering them
 * needs no account_store read for the authors; an adapter may leave it NULL (mem, sqlite). */
#ifndef SERVICES_THREADLY_PORTS_STATUS_STORE_H
#define SERVICES_THREADLY_PORTS_STATUS_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/threadly/domain/status.h"
#include "services/threadly/ports/outbox_store.h"

/* Mastodon's pagination: results are newest first, at most limit of them.
 * max_id: only ids < max_id. since_id: only ids > since_id, newest page.
 * min_id: only ids > min_id, the page right after min_id (oldest first window), still
 * returned newest first. 0 means "not given". */
struct page {
    uint64_t max_id, since_id, min_id;
    int limit;
};

enum timeline_kind {
    TIMELINE_ACCOUNT, /* statuses of account_id visible to viewer_id */
    TIMELINE_PUBLIC,  /* public statuses of everyone */
    TIMELINE_HOME,    /* viewer's own statuses, and those of accounts viewer follows that are
                         public, unlisted or private; direct statuses mentioning viewer */
};

struct timeline_query {
    enum timeline_kind kind;
    uint64_t account_id;  /* TIMELINE_ACCOUNT */
    uint64_t viewer_id;   /* 0: anonymous */
    bool exclude_replies; /* TIMELINE_ACCOUNT */
    struct page page;
};

struct status_list {
    size_t n;
    struct status *items; /* newest first */
};

/* The most ids one get_many call of an adapter takes. */
#define STATUS_STORE_BATCH_MAX 80

struct status_store_ops {
    /* Stores *s with its mentions and tags, increments the author's statuses_count, sets
     * last_status_at_ms to created_at_ms, and increments the parent's replies_count.
     * ERR_CONFLICT if the id is taken; ERR_NOT_FOUND if in_reply_to_id is set but absent. */
    int (*insert)(void *ctx, const struct status *s, const struct outbox_emit *emit,
                  struct err *err);
    /* Loads status `id`. ERR_NOT_FOUND if absent. */
    int (*get)(void *ctx, uint64_t id, struct arena *a, struct status **out, struct err *err);
    /* Sets out[i] to status ids[i], or NULL if there is none, for i < n, in one round trip.
     * n may be 0; ids may repeat (the positions share one copy). n <= STATUS_STORE_BATCH_MAX:
     * callers go through status_store_get_many, which splits larger batches. */
    int (*get_many)(void *ctx, const uint64_t *ids, size_t n, struct arena *a, struct status **out,
                    struct err *err);
    /* Deletes status `id` (and its mentions, tags and favourites), decrementing the counters
     * insert incremented. Replies to it stay, as in Mastodon. ERR_NOT_FOUND if absent. */
    int (*remove)(void *ctx, uint64_t id, const struct outbox_emit *emit, struct err *err);
    /* Direct replies to `id`, oldest first (for the context of a thread). */
    int (*replies)(void *ctx, uint64_t id, struct arena *a, struct status_list *out,
                   struct err *err);
    /* A timeline page, per struct timeline_query. */
    int (*timeline)(void *ctx, const struct timeline_query *q, struct arena *a,
                    struct status_list *out, struct err *err);
    void (*close)(void *ctx);
};

struct status_store {
    const struct status_store_ops *ops;
    void *ctx;
};

static inline int status_store_insert(struct status_store *s, const struct status *st,
                                      const struct outbox_emit *emit, struct err *err)
{
    return s->ops->insert(s->ctx, st, emit, err);
}

static inline int status_store_get(struct status_store *s, uint64_t id, struct arena *a,
                                   struct status **out, struct err *err)
{
    return s->ops->get(s->ctx, id, a, out, err);
}

/* Any n: batches above STATUS_STORE_BATCH_MAX become several calls. */
static inline int status_store_get_many(struct status_store *s, const uint64_t *ids, size_t n,
                                        struct arena *a, struct status **out, struct err *err)
{
    for (size_t i = 0; i < n; i += STATUS_STORE_BATCH_MAX) {
        size_t k = n - i < STATUS_STORE_BATCH_MAX ? n - i : STATUS_STORE_BATCH_MAX;
        int rc = s->ops->get_many(s->ctx, ids + i, k, a, out + i, err);
        if (rc)
            return rc;
    }
    return 0;
}

static inline int status_store_remove(struct status_store *s, uint64_t id,
                                      const struct outbox_emit *emit, struct err *err)
{
    return s->ops->remove(s->ctx, id, emit, err);
}

static inline int status_store_replies(struct status_store *s, uint64_t id, struct arena *a,
                                       struct status_list *out, struct err *err)
{
    return s->ops->replies(s->ctx, id, a, out, err);
}

static inline int status_store_timeline(struct status_store *s, const struct timeline_query *q,
                                        struct arena *a, struct status_list *out, struct err *err)
{
    return s->ops->timeline(s->ctx, q, a, out, err);
}

static inline void status_store_close(struct status_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
