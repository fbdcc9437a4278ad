/* outbox_store.h - port: the transactional outbox of domain events (docs/events.md).
 * Writing: the mutating ops of the other store ports take a `const struct outbox_emit *` and
 * write the events it builds in the same transaction as their change, only when the change
 * happened. Reading: outbox_store below, for the internal feed and the Kafka relay.
 * Adapters: mem (tests), sqlite, pgsql. Thread-safe; results in the caller's arena. */
#ifndef SERVICES_THREADLY_PORTS_OUTBOX_STORE_H
#define SERVICES_THREADLY_PORTS_OUTBOX_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/base/xalloc.h"
#include "lib/events/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most events one change writes (accepting a follow request writes two). */
#define OUTBOX_EVENTS_MAX 2

/* What a store found while making its change, for payloads the caller cannot know before:
 * the id of the follow or favourite row that was accepted or removed, and whether a removed
 * follow row was a pending request. Zero for the other ops. */
struct outbox_change {
    uint64_t row_id;
    bool was_request;
};

/* The events of one change. The store calls build once, inside the change's transaction and
 * only when the change happened (nothing for an idempotent repeat or a failure), with what it
 * found; build fills out[0..n) (producer is not stored) and returns n <= OUTBOX_EVENTS_MAX.
 * build must only compute: no store call (the store's lock or transaction is held) and no
 * failure. The event strings must live until the store op returns. */
struct outbox_emit {
    size_t (*build)(void *arg, const struct outbox_change *ch, struct event *out);
    void *arg;
};

/* For adapters: runs emit's builder (NULL emit: no events) and returns how many it made. */
static inline size_t outbox_emit_build(const struct outbox_emit *emit,
                                       const struct outbox_change *ch, struct event *out)
{
    if (!emit)
        return 0;
    size_t n = emit->build(emit->arg, ch, out);
    ASSERT(n <= OUTBOX_EVENTS_MAX);
    return n;
}

/* One committed row. */
struct outbox_row {
    uint64_t seq;
    struct event event; /* producer NULL: the reader knows who produced it */
    int64_t sent_at_ms; /* 0: not yet relayed */
};

struct outbox_store_ops {
    /* Up to limit (1..1000) rows with seq > after, in seq order, into *rows (arena a). */
    int (*list)(void *ctx, uint64_t after, int limit, struct arena *a, struct outbox_row **rows,
                size_t *n, struct err *err);
    /* The newest committed seq, 0 when there is none. */
    int (*head)(void *ctx, uint64_t *seq, struct err *err);
    /* Sets sent_at_ms of the unsent rows with seq <= upto. */
    int (*mark_sent)(void *ctx, uint64_t upto, int64_t at_ms, struct err *err);
    /* Deletes up to limit (1..100000) of the oldest rows that occurred before before_ms and,
     * if only_sent, were relayed; never the newest row, which the next seq follows (seqs are
     * never reused). *deleted gets how many went. */
    int (*prune)(void *ctx, int64_t before_ms, bool only_sent, int limit, int64_t *deleted,
                 struct err *err);
    void (*close)(void *ctx);
};

struct outbox_store {
    const struct outbox_store_ops *ops;
    void *ctx;
};

static inline int outbox_store_list(struct outbox_store *s, uint64_t after, int limit,
                                    struct arena *a, struct outbox_row **rows, size_t *n,
                                    struct err *err)
{
    ASSERT(limit >= 1 && limit <= 1000);
    return s->ops->list(s->ctx, after, limit, a, rows, n, err);
}

static inline int outbox_store_head(struct outbox_store *s, uint64_t *seq, struct err *err)
{
    return s->ops->head(s->ctx, seq, err);
}

static inline int outbox_store_mark_sent(struct outbox_store *s, uint64_t upto, int64_t at_ms,
                                         struct err *err)
{
    return s->ops->mark_sent(s->ctx, upto, at_ms, err);
}

static inline void outbox_store_close(struct outbox_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

static inline int outbox_store_prune(struct outbox_store *s, int64_t before_ms, bool only_sent,
                                     int limit, int64_t *deleted, struct err *err)
{
    ASSERT(limit >= 1 && limit <= 100000);
    *deleted = 0;
    return s->ops->prune(s->ctx, before_ms, only_sent, limit, deleted, err);
}

#endif
