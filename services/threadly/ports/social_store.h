/* social_store.h - port: who follows whom and who favourited what.
 * Adapters: mem (tests), sqlite, pgsql. Thread-safe; results in the caller's arena.
 * Counters are kept exact in the same transaction as the change: followers_count and
 * following_count of both accounts, favourites_count of the status. */
#ifndef SERVICES_THREADLY_PORTS_SOCIAL_STORE_H
#define SERVICES_THREADLY_PORTS_SOCIAL_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/threadly/ports/outbox_store.h"
#include "services/threadly/ports/status_store.h"

#include <stdbool.h>

struct relationship {
    bool following;    /* a follows b */
    bool followed_by;  /* b follows a */
    bool requested;    /* a asked to follow b (b is locked), not yet accepted */
    bool requested_by; /* b asked to follow a */
};

/* One row of a follower/following/favourited-by list; `id` is the row's own id (the cursor
 * Mastodon pages these lists by), `account_id` the account listed. */
struct edge {
    uint64_t id;
    uint64_t account_id;
};

struct edge_list {
    size_t n;
    struct edge *items; /* newest first */
};

enum edge_kind {
    EDGES_FOLLOWERS,       /* accounts following `of` */
    EDGES_FOLLOWING,       /* accounts `of` follows */
    EDGES_FOLLOW_REQUESTS, /* accounts asking to follow `of` */
    EDGES_FAVOURITED_BY,   /* accounts that favourited status `of` */
};

/* The most ids one favourited_among call of an adapter takes. */
#define SOCIAL_STORE_BATCH_MAX 200

struct social_store_ops {
    /* Makes follower follow followee (requested: a pending request instead). Row id `id`.
     * Idempotent: an existing follow or request is left as it is and *created is false. */
    int (*follow)(void *ctx, uint64_t id, uint64_t follower, uint64_t followee, bool requested,
                  int64_t at_ms, bool *created, const struct outbox_emit *emit, struct err *err);
    /* Turns a pending request into a follow. ERR_NOT_FOUND if there is no request. */
    int (*accept)(void *ctx, uint64_t follower, uint64_t followee, const struct outbox_emit *emit,
                  struct err *err);
    /* Removes a follow or a request. Idempotent; *removed says whether there was one. */
    int (*unfollow)(void *ctx, uint64_t follower, uint64_t followee, bool *removed,
                    const struct outbox_emit *emit, struct err *err);
    int (*relationship)(void *ctx, uint64_t a, uint64_t b, struct relationship *out,
                        struct err *err);
    /* Favourites status_id for account_id. Idempotent (*created false if it existed).
     * ERR_NOT_FOUND if the status is absent. */
    int (*favourite)(void *ctx, uint64_t id, uint64_t account_id, uint64_t status_id, int64_t at_ms,
                     bool *created, const struct outbox_emit *emit, struct err *err);
    int (*unfavourite)(void *ctx, uint64_t account_id, uint64_t status_id, bool *removed,
                       const struct outbox_emit *emit, struct err *err);
    int (*favourited)(void *ctx, uint64_t account_id, uint64_t status_id, bool *out,
                      struct err *err);
    /* Sets out[i] to whether account_id favourited status_ids[i], for i < n, in one round trip.
     * n may be 0 (nothing is asked); ids may repeat and need not exist (false).
     * n <= SOCIAL_STORE_BATCH_MAX: callers go through social_store_favourited_among, which
     * splits larger batches. */
    int (*favourited_among)(void *ctx, uint64_t account_id, const uint64_t *status_ids, size_t n,
                            bool *out, struct err *err);
    /* A page of edges of kind about `of`, paged by the edge row id. */
    int (*edges)(void *ctx, enum edge_kind kind, uint64_t of, const struct page *page,
                 struct arena *a, struct edge_list *out, struct err *err);
    /* The statuses account_id favourited, newest favourite first, paged by the favourite row
     * id; *ids gets the favourite row ids (for the Link header). */
    int (*favourites)(void *ctx, uint64_t account_id, const struct page *page, struct arena *a,
                      struct status_list *out, uint64_t **ids, struct err *err);
    void (*close)(void *ctx);
};

struct social_store {
    const struct social_store_ops *ops;
    void *ctx;
};

static inline int social_store_follow(struct social_store *s, uint64_t id, uint64_t follower,
                                      uint64_t followee, bool requested, int64_t at_ms,
                                      bool *created, const struct outbox_emit *emit,
                                      struct err *err)
{
    return s->ops->follow(s->ctx, id, follower, followee, requested, at_ms, created, emit, err);
}

static inline int social_store_accept(struct social_store *s, uint64_t follower, uint64_t followee,
                                      const struct outbox_emit *emit, struct err *err)
{
    return s->ops->accept(s->ctx, follower, followee, emit, err);
}

static inline int social_store_unfollow(struct social_store *s, uint64_t follower,
                                        uint64_t followee, bool *removed,
                                        const struct outbox_emit *emit, struct err *err)
{
    return s->ops->unfollow(s->ctx, follower, followee, removed, emit, err);
}

static inline int social_store_relationship(struct social_store *s, uint64_t a, uint64_t b,
                                            struct relationship *out, struct err *err)
{
    return s->ops->relationship(s->ctx, a, b, out, err);
}

static inline int social_store_favourite(struct social_store *s, uint64_t id, uint64_t account_id,
                                         uint64_t status_id, int64_t at_ms, bool *created,
                                         const struct outbox_emit *emit, struct err *err)
{
    return s->ops->favourite(s->ctx, id, account_id, status_id, at_ms, created, emit, err);
}

static inline int social_store_unfavourite(struct social_store *s, uint64_t account_id,
                                           uint64_t status_id, bool *removed,
                                           const struct outbox_emit *emit, struct err *err)
{
    return s->ops->unfavourite(s->ctx, account_id, status_id, removed, emit, err);
}

static inline int social_store_favourited(struct social_store *s, uint64_t account_id,
                                          uint64_t status_id, bool *out, struct err *err)
{
    return s->ops->favourited(s->ctx, account_id, status_id, out, err);
}

/* Any n: batches above SOCIAL_STORE_BATCH_MAX become several calls. */
static inline int social_store_favourited_among(struct social_store *s, uint64_t account_id,
                                                const uint64_t *status_ids, size_t n, bool *out,
                                                struct err *err)
{
    for (size_t i = 0; i < n; i += SOCIAL_STORE_BATCH_MAX) {
        size_t k = n - i < SOCIAL_STORE_BATCH_MAX ? n - i : SOCIAL_STORE_BATCH_MAX;
        int rc = s->ops->favourited_among(s->ctx, account_id, status_ids + i, k, out + i, err);
        if (rc)
            return rc;
    }
    return 0;
}

static inline int social_store_edges(struct social_store *s, enum edge_kind kind, uint64_t of,
                                     const struct page *page, struct arena *a,
                                     struct edge_list *out, struct err *err)
{
    return s->ops->edges(s->ctx, kind, of, page, a, out, err);
}

static inline int social_store_favourites(struct social_store *s, uint64_t account_id,
                                          const struct page *page, struct arena *a,
                                          struct status_list *out, uint64_t **ids, struct err *err)
{
    return s->ops->favourites(s->ctx, account_id, page, a, out, ids, err);
}

static inline void social_store_close(struct social_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
