/* event_encoder.h - port: the entity snapshots that event payloads carry (docs/events.md,
 * "Snapshots"): the Mastodon Account and Status JSON exactly as the HTTP API renders them.
 * The use cases build events but must not include the HTTP adapter, which owns the one
 * renderer; this port lets them borrow it (adapters/http/event_encoder_http.c), so a snapshot
 * can never drift from what GET /api/v1/accounts/:id and GET /api/v1/statuses/:id send.
 * Thread-safe; pure computation (no store call), so it may run inside a store transaction. */
#ifndef SERVICES_THREADLY_PORTS_EVENT_ENCODER_H
#define SERVICES_THREADLY_PORTS_EVENT_ENCODER_H

#include "lib/base/buf.h"
#include "services/threadly/domain/account.h"
#include "services/threadly/domain/status.h"

struct event_encoder_ops {
    /* Appends acct's Account entity (without `source`) to out. */
    void (*account)(void *ctx, const struct account *acct, struct buf *out);
    /* Appends s's Status entity as an anonymous viewer gets it (favourited false) to out.
     * author is the account of s->account_id; mentioned[i] that of s->mentions[i], or NULL
     * for an account that is gone (left out of `mentions`, as the API does). */
    void (*status)(void *ctx, const struct status *s, const struct account *author,
                   const struct account *const *mentioned, struct buf *out);
};

struct event_encoder {
    const struct event_encoder_ops *ops;
    void *ctx;
};

static inline void event_encoder_account(const struct event_encoder *e, const struct account *acct,
                                         struct buf *out)
{
    e->ops->account(e->ctx, acct, out);
}

static inline void event_encoder_status(const struct event_encoder *e, const struct status *s,
                                        const struct account *author,
                                        const struct account *const *mentioned, struct buf *out)
{
    e->ops->status(e->ctx, s, author, mentioned, out);
}

#endif
