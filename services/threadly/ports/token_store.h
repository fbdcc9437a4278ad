/* token_store.h - port: which access tokens (by their jti) have been revoked.
 * Tokens themselves are signed JWTs and are not stored. Adapters: mem, sqlite, pgsql.
 * Thread-safe. */
#ifndef SERVICES_THREADLY_PORTS_TOKEN_STORE_H
#define SERVICES_THREADLY_PORTS_TOKEN_STORE_H

#include "lib/base/err.h"
#include "services/threadly/ports/outbox_store.h"

#include <stdbool.h>
#include <stdint.h>

struct token_store_ops {
    /* Records jti as revoked at at_ms. Revoking twice is not an error. */
    int (*revoke)(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                  const struct outbox_emit *emit, struct err *err);
    /* Sets *revoked: jti was revoked, or it is below the cut-off a password reset of
     * account_id set (email_token_store.h, migration 004). */
    int (*is_revoked)(void *ctx, uint64_t jti, uint64_t account_id, bool *revoked, struct err *err);
    void (*close)(void *ctx);
};

struct token_store {
    const struct token_store_ops *ops;
    void *ctx;
};

static inline int token_store_revoke(struct token_store *s, uint64_t jti, uint64_t account_id,
                                     int64_t at_ms, const struct outbox_emit *emit, struct err *err)
{
    return s->ops->revoke(s->ctx, jti, account_id, at_ms, emit, err);
}

static inline int token_store_is_revoked(struct token_store *s, uint64_t jti, uint64_t account_id,
                                         bool *revoked, struct err *err)
{
    return s->ops->is_revoked(s->ctx, jti, account_id, revoked, err);
}

static inline void token_store_close(struct token_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
