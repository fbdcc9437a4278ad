/* account_store.h - port: durable storage of accounts.
 * Adapters: mem (tests), sqlite (single node), pgsql (production).
 * Thread-safety: every adapter may be called from many threads at once.
 * Results are allocated in the caller's arena; nothing returned needs freeing. */
#ifndef SERVICES_THREADLY_PORTS_ACCOUNT_STORE_H
#define SERVICES_THREADLY_PORTS_ACCOUNT_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/threadly/domain/account.h"
#include "services/threadly/ports/outbox_store.h"

#include <stddef.h>

/* The most ids one get_many call of an adapter takes. */
#define ACCOUNT_STORE_BATCH_MAX 200

struct account_store_ops {
    /* Stores *acct (id, username, email, password_hash and profile set by the caller).
     * ERR_CONFLICT if the id, the username (case-insensitively) or the email is taken. */
    int (*insert)(void *ctx, const struct account *acct, const struct outbox_emit *emit,
                  struct err *err);
    /* Loads account `id`. ERR_NOT_FOUND if absent. */
    int (*get)(void *ctx, uint64_t id, struct arena *a, struct account **out, struct err *err);
    /* Loads accounts ids[0..n) in one round trip: out[i] is account ids[i], or NULL when there
     * is none (not an error). n may be 0; ids may repeat (each out[i] is then set, possibly to
     * the same copy). n <= ACCOUNT_STORE_BATCH_MAX: callers go through account_store_get_many,
     * which splits larger batches. */
    int (*get_many)(void *ctx, const uint64_t *ids, size_t n, struct arena *a, struct account **out,
                    struct err *err);
    /* Loads the account with this username, compared case-insensitively. ERR_NOT_FOUND. */
    int (*get_by_username)(void *ctx, const char *username, struct arena *a, struct account **out,
                           struct err *err);
    /* Loads the account with this email (already lower-cased by the caller). ERR_NOT_FOUND. */
    int (*get_by_email)(void *ctx, const char *email, struct arena *a, struct account **out,
                        struct err *err);
    /* Replaces the profile of account acct->id: display_name, note, locked, bot and
     * discoverable (nothing else). ERR_NOT_FOUND if absent. */
    int (*update_profile)(void *ctx, const struct account *acct, const struct outbox_emit *emit,
                          struct err *err);
    /* Number of accounts. */
    int (*count)(void *ctx, int64_t *out, struct err *err);
    /* Number of statuses: the sum of every account's statuses_count, which the status store
     * keeps exact (cheaper than counting the statuses). */
    int (*statuses_total)(void *ctx, int64_t *out, struct err *err);
    void (*close)(void *ctx);
};

struct account_store {
    const struct account_store_ops *ops;
    void *ctx;
};

static inline int account_store_insert(struct account_store *s, const struct account *acct,
                                       const struct outbox_emit *emit, struct err *err)
{
    return s->ops->insert(s->ctx, acct, emit, err);
}

static inline int account_store_get(struct account_store *s, uint64_t id, struct arena *a,
                                    struct account **out, struct err *err)
{
    return s->ops->get(s->ctx, id, a, out, err);
}

/* Any n: batches above ACCOUNT_STORE_BATCH_MAX become several calls. */
static inline int account_store_get_many(struct account_store *s, const uint64_t *ids, size_t n,
                                         struct arena *a, struct account **out, struct err *err)
{
    for (size_t i = 0; i < n; i += ACCOUNT_STORE_BATCH_MAX) {
        size_t k = n - i < ACCOUNT_STORE_BATCH_MAX ? n - i : ACCOUNT_STORE_BATCH_MAX;
        int rc = s->ops->get_many(s->ctx, ids + i, k, a, out + i, err);
        if (rc)
            return rc;
    }
    return 0;
}

static inline int account_store_get_by_username(struct account_store *s, const char *username,
                                                struct arena *a, struct account **out,
                                                struct err *err)
{
    return s->ops->get_by_username(s->ctx, username, a, out, err);
}

static inline int account_store_get_by_email(struct account_store *s, const char *email,
                                             struct arena *a, struct account **out, struct err *err)
{
    return s->ops->get_by_email(s->ctx, email, a, out, err);
}

static inline int account_store_update_profile(struct account_store *s, const struct account *acct,
                                               const struct outbox_emit *emit, struct err *err)
{
    return s->ops->update_profile(s->ctx, acct, emit, err);
}

static inline int account_store_count(struct account_store *s, int64_t *out, struct err *err)
{
    return s->ops->count(s->ctx, out, err);
}

static inline int account_store_statuses_total(struct account_store *s, int64_t *out,
                                               struct err *err)
{
    return s->ops->statuses_total(s->ctx, out, err);
}

static inline void account_store_close(struct account_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
