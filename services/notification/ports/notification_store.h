/* notification_store.h - port: notification-service's database. Notifications, read markers,
 * the read models kept from events (accounts, follower sets, revoked token ids), processed
 * event ids, dead letters and the consumer's cursors. Adapters: mem (tests), sqlite (single
 * node), pgsql (production); one contract suite (tests/unit/test_notification_contract.c).
 * Thread-safe: each calling thread may use its own connection. */
#ifndef SERVICES_NOTIFICATION_PORTS_NOTIFICATION_STORE_H
#define SERVICES_NOTIFICATION_PORTS_NOTIFICATION_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/notification/domain/notification.h"
#include "services/notification/domain/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One consumed message of a batch: an event and what it changes, or a dead letter. */
struct batch_item {
    uint64_t event_id;                   /* 0 for a dead letter without a usable id */
    const struct event_changes *changes; /* NULL for a dead letter */
    const uint64_t *notification_ids;    /* changes->ncreates fresh ids, one per create */
    int64_t occurred_at_ms;              /* created_at of its notifications */
    /* Dead letter: its id, the message as received (valid UTF-8 without NUL) and why it was
     * refused. */
    uint64_t dead_id;
    const char *dead_text;
    size_t dead_len;
    const char *dead_reason;
    /* Optional out: set by apply_batch to whether the event was skipped as processed before
     * (meaningful only once the batch committed). */
    bool *duplicate;
};

/* The position of a transport after a batch: source names the feed ("feed" for the outbox
 * long-poll; a Kafka consumer would use one per topic partition). */
struct consumer_cursor {
    const char *source;
    int64_t position;
};

struct batch_result {
    size_t created;    /* notifications inserted */
    size_t removed;    /* notifications deleted */
    size_t duplicates; /* events skipped because their id was processed before */
    size_t dead;       /* dead letters stored */
};

struct dead_letter {
    int64_t id;
    uint64_t event_id;
    const char *text;
    const char *reason;
    int64_t created_at_ms;
};

struct notification_store_ops {
    /* Applies items in order and stores cursor (if not NULL), all in ONE transaction: either
     * everything is stored or nothing is. An event whose id was processed before is skipped;
     * a notification is made at most once per (event id, recipient, type). now_ms stamps the
     * dead letters and the processed ids. res may be NULL. */
    int (*apply_batch)(void *ctx, const struct batch_item *items, size_t n,
                       const struct consumer_cursor *cursor, int64_t now_ms,
                       struct batch_result *res, struct err *err);
    /* The stored position of source; 0 when there is none. */
    int (*cursor_get)(void *ctx, const char *source, int64_t *out, struct err *err);

    /* A page of q->recipient_id's notifications matching q, newest first. account_json is
     * the actor's profile from the account read model when it has one, else the snapshot. */
    int (*list)(void *ctx, const struct notification_query *q, struct arena *a,
                struct notification_list *out, struct err *err);
    /* How many of q's notifications have ids > q->page.since_id, counting at most
     * q->page.limit. */
    int (*count)(void *ctx, const struct notification_query *q, int64_t *out, struct err *err);
    /* Notification id of recipient. ERR_NOT_FOUND if absent or someone else's. */
    int (*get)(void *ctx, uint64_t recipient_id, uint64_t id, struct arena *a,
               struct notification *out, struct err *err);
    /* Deletes notification id of recipient. ERR_NOT_FOUND if absent or someone else's. */
    int (*dismiss)(void *ctx, uint64_t recipient_id, uint64_t id, struct err *err);
    /* Deletes every notification of recipient. */
    int (*clear)(void *ctx, uint64_t recipient_id, struct err *err);

    /* The marker of account on timeline. ERR_NOT_FOUND when never set. */
    int (*marker_get)(void *ctx, uint64_t account_id, enum marker_timeline timeline,
                      struct marker *out, struct err *err);
    /* Sets last_read_id, bumping the version (1 when new) and updated_at to now_ms; *out gets
     * the stored marker. */
    int (*marker_set)(void *ctx, uint64_t account_id, enum marker_timeline timeline,
                      uint64_t last_read_id, int64_t now_ms, struct marker *out, struct err *err);

    /* Read models. The Account JSON of id: ERR_NOT_FOUND when no account event named it. */
    int (*account_get)(void *ctx, uint64_t id, struct arena *a, const char **json, struct err *err);
    /* The followers of account_id, in id order, into *out (arena memory). */
    int (*followers)(void *ctx, uint64_t account_id, struct arena *a, uint64_t **out, size_t *n,
                     struct err *err);
    /* Whether a token.revoked event named jti, or an account.tokens_revoked of account_id set
     * a cut-off above jti. */
    int (*token_revoked)(void *ctx, uint64_t jti, uint64_t account_id, bool *out, struct err *err);
    /* The newest dead letters first, at most limit. */
    int (*dead_letters)(void *ctx, int limit, struct arena *a, struct dead_letter **out, size_t *n,
                        struct err *err);
    /* Forgets up to limit processed event ids recorded before before_ms (*deleted: how many),
     * so the table does not grow for ever; an event delivered again after that is applied
     * again (notifications stay unique per event, recipient and type). */
    int (*prune_processed)(void *ctx, int64_t before_ms, int limit, int64_t *deleted,
                           struct err *err);
    /* Whether the database answers (the /ready check). */
    int (*ping)(void *ctx, struct err *err);
    void (*close)(void *ctx);
};

struct notification_store {
    const struct notification_store_ops *ops;
    void *ctx;
};

static inline int notification_store_apply_batch(struct notification_store *s,
                                                 const struct batch_item *items, size_t n,
                                                 const struct consumer_cursor *cursor,
                                                 int64_t now_ms, struct batch_result *res,
                                                 struct err *err)
{
    return s->ops->apply_batch(s->ctx, items, n, cursor, now_ms, res, err);
}

static inline int notification_store_cursor_get(struct notification_store *s, const char *source,
                                                int64_t *out, struct err *err)
{
    return s->ops->cursor_get(s->ctx, source, out, err);
}

static inline int notification_store_list(struct notification_store *s,
                                          const struct notification_query *q, struct arena *a,
                                          struct notification_list *out, struct err *err)
{
    return s->ops->list(s->ctx, q, a, out, err);
}

static inline int notification_store_count(struct notification_store *s,
                                           const struct notification_query *q, int64_t *out,
                                           struct err *err)
{
    return s->ops->count(s->ctx, q, out, err);
}

static inline int notification_store_get(struct notification_store *s, uint64_t recipient_id,
                                         uint64_t id, struct arena *a, struct notification *out,
                                         struct err *err)
{
    return s->ops->get(s->ctx, recipient_id, id, a, out, err);
}

static inline int notification_store_dismiss(struct notification_store *s, uint64_t recipient_id,
                                             uint64_t id, struct err *err)
{
    return s->ops->dismiss(s->ctx, recipient_id, id, err);
}

static inline int notification_store_clear(struct notification_store *s, uint64_t recipient_id,
                                           struct err *err)
{
    return s->ops->clear(s->ctx, recipient_id, err);
}

static inline int notification_store_marker_get(struct notification_store *s, uint64_t account_id,
                                                enum marker_timeline timeline, struct marker *out,
                                                struct err *err)
{
    return s->ops->marker_get(s->ctx, account_id, timeline, out, err);
}

static inline int notification_store_marker_set(struct notification_store *s, uint64_t account_id,
                                                enum marker_timeline timeline,
                                                uint64_t last_read_id, int64_t now_ms,
                                                struct marker *out, struct err *err)
{
    return s->ops->marker_set(s->ctx, account_id, timeline, last_read_id, now_ms, out, err);
}

static inline int notification_store_account_get(struct notification_store *s, uint64_t id,
                                                 struct arena *a, const char **json,
                                                 struct err *err)
{
    return s->ops->account_get(s->ctx, id, a, json, err);
}

static inline int notification_store_followers(struct notification_store *s, uint64_t account_id,
                                               struct arena *a, uint64_t **out, size_t *n,
                                               struct err *err)
{
    return s->ops->followers(s->ctx, account_id, a, out, n, err);
}

static inline int notification_store_token_revoked(struct notification_store *s, uint64_t jti,
                                                   uint64_t account_id, bool *out, struct err *err)
{
    return s->ops->token_revoked(s->ctx, jti, account_id, out, err);
}

static inline int notification_store_dead_letters(struct notification_store *s, int limit,
                                                  struct arena *a, struct dead_letter **out,
                                                  size_t *n, struct err *err)
{
    return s->ops->dead_letters(s->ctx, limit, a, out, n, err);
}

static inline int notification_store_prune_processed(struct notification_store *s,
                                                     int64_t before_ms, int limit, int64_t *deleted,
                                                     struct err *err)
{
    *deleted = 0;
    return s->ops->prune_processed(s->ctx, before_ms, limit, deleted, err);
}

static inline int notification_store_ping(struct notification_store *s, struct err *err)
{
    return s->ops->ping(s->ctx, err);
}

static inline void notification_store_close(struct notification_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
    s->ops = NULL;
    s->ctx = NULL;
}

#endif
