/* email_token_store.h - port: the single-use, expiring tokens sent by email (account
 * confirmation, password reset; migration 004) and which accounts have confirmed their email.
 * Tokens are stored by their hash only (the caller hashes). Adapters: mem (tests), sqlite,
 * pgsql. Thread-safe. */
#ifndef SERVICES_THREADLY_PORTS_EMAIL_TOKEN_STORE_H
#define SERVICES_THREADLY_PORTS_EMAIL_TOKEN_STORE_H

#include "lib/base/err.h"
#include "services/threadly/ports/outbox_store.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum email_token_kind {
    EMAIL_TOKEN_CONFIRM = 1, /* confirms the account's email */
    EMAIL_TOKEN_RESET = 2,   /* sets a new password */
};

/* The longest hash text the adapters take (a base64url SHA-256 is 43 characters). */
#define EMAIL_TOKEN_HASH_MAX 64

struct email_token {
    const char *hash; /* 1..EMAIL_TOKEN_HASH_MAX characters */
    enum email_token_kind kind;
    uint64_t account_id;
    int64_t created_at_ms;
    int64_t expires_at_ms;
};

struct email_token_store_ops {
    /* Stores *t, and writes emit's events (NULL: none) in the same transaction.
     * ERR_CONFLICT if the hash is taken. */
    int (*insert)(void *ctx, const struct email_token *t, const struct outbox_emit *emit,
                  struct err *err);
    /* Uses the token of this kind and hash at now_ms, in one transaction:
     * - ERR_NOT_FOUND when there is none, it is of another kind, or it was used;
     * - ERR_INVALID when it expired (expires_at_ms <= now_ms); it is left as it is;
     * - else it is marked used, *account_id is set and its effect is applied:
     *   EMAIL_TOKEN_CONFIRM records the account confirmed at now_ms (an earlier confirmation
     *   is kept); EMAIL_TOKEN_RESET sets the account's password_hash to new_hash, marks every
     *   other unused reset token of the account used, revokes the account's access tokens
     *   whose jti is below revoke_below_jti (a cut-off token_store.h's is_revoked reads; a
     *   higher earlier cut-off is kept), and writes emit's events (built with the account id
     *   as outbox_change.row_id).
     *   ERR_NOT_FOUND for a reset token whose account is gone.
     * new_hash, revoke_below_jti and emit are ignored for EMAIL_TOKEN_CONFIRM. */
    int (*use)(void *ctx, enum email_token_kind kind, const char *hash, int64_t now_ms,
               const char *new_hash, uint64_t revoke_below_jti, const struct outbox_emit *emit,
               uint64_t *account_id, struct err *err);
    /* Sets *confirmed: whether the account has confirmed its email. */
    int (*is_confirmed)(void *ctx, uint64_t account_id, bool *confirmed, struct err *err);
    void (*close)(void *ctx);
};

struct email_token_store {
    const struct email_token_store_ops *ops;
    void *ctx;
};

static inline int email_token_store_insert(struct email_token_store *s, const struct email_token *t,
                                           const struct outbox_emit *emit, struct err *err)
{
    ASSERT(t->hash && *t->hash && strlen(t->hash) <= EMAIL_TOKEN_HASH_MAX);
    ASSERT(t->kind == EMAIL_TOKEN_CONFIRM || t->kind == EMAIL_TOKEN_RESET);
    return s->ops->insert(s->ctx, t, emit, err);
}

static inline int email_token_store_use(struct email_token_store *s, enum email_token_kind kind,
                                        const char *hash, int64_t now_ms, const char *new_hash,
                                        uint64_t revoke_below_jti, const struct outbox_emit *emit,
                                        uint64_t *account_id, struct err *err)
{
    ASSERT(kind != EMAIL_TOKEN_RESET || (new_hash && *new_hash && revoke_below_jti <= INT64_MAX));
    return s->ops->use(s->ctx, kind, hash, now_ms, new_hash, revoke_below_jti, emit, account_id,
                       err);
}

static inline int email_token_store_is_confirmed(struct email_token_store *s, uint64_t account_id,
                                                 bool *confirmed, struct err *err)
{
    return s->ops->is_confirmed(s->ctx, account_id, confirmed, err);
}

static inline void email_token_store_close(struct email_token_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
