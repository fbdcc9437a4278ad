/* live_stream.h - port: pushes what the consumer just stored to connected streaming clients
 * (Mastodon's streaming API). Adapters: stream (lib/http's hub); tests may record calls. It
 * is called only after the batch that made the change is committed. Thread-safe. */
#ifndef SERVICES_NOTIFICATION_PORTS_LIVE_STREAM_H
#define SERVICES_NOTIFICATION_PORTS_LIVE_STREAM_H

#include "lib/base/err.h"
#include "services/notification/domain/notification.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct live_stream_ops {
    /* n (as GET /api/v1/notifications/:id renders it) to n->recipient_id's user stream. */
    int (*notification)(void *ctx, const struct notification *n, struct err *err);
    /* A new status: `update` with status_json (a Status entity) to the user streams of
     * accounts[0..n), and to the public and public:local streams when public_streams. */
    int (*update)(void *ctx, const char *status_json, const uint64_t *accounts, size_t n,
                  bool public_streams, struct err *err);
    /* A deleted status: `delete` with its id to the same kinds of audience. */
    int (*remove)(void *ctx, uint64_t status_id, const uint64_t *accounts, size_t n,
                  bool public_streams, struct err *err);
    /* Whether account has a user stream open now (NULL: assume it has). Lets the publisher
     * skip rendering a notification nobody would receive. */
    bool (*listening)(void *ctx, uint64_t account);
};

struct live_stream {
    const struct live_stream_ops *ops; /* NULL: nobody streams (tests, tools) */
    void *ctx;
};

static inline bool live_stream_listening(struct live_stream *s, uint64_t account)
{
    return s->ops && (!s->ops->listening || s->ops->listening(s->ctx, account));
}

static inline int live_stream_notification(struct live_stream *s, const struct notification *n,
                                           struct err *err)
{
    return s->ops ? s->ops->notification(s->ctx, n, err) : 0;
}

static inline int live_stream_update(struct live_stream *s, const char *status_json,
                                     const uint64_t *accounts, size_t n, bool public_streams,
                                     struct err *err)
{
    return s->ops ? s->ops->update(s->ctx, status_json, accounts, n, public_streams, err) : 0;
}

static inline int live_stream_remove(struct live_stream *s, uint64_t status_id,
                                     const uint64_t *accounts, size_t n, bool public_streams,
                                     struct err *err)
{
    return s->ops ? s->ops->remove(s->ctx, status_id, accounts, n, public_streams, err) : 0;
}

#endif
