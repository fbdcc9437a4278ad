/* entity_cache.h - port: statuses and accounts as the stores return them, kept in a cache so
 * that rendering a status (GET /api/v1/statuses/:id, the statuses of a home page, the author
 * of any status) reads memory instead of the database. A cache, not a store: anything may be
 * absent, and the caller (app/entities.c) then reads the store and offers what it read back.
 *
 * Coherence (docs/adr/006-entity-cache.md): every committed change that alters a status or an
 * account as rendered invalidates it (this process's writes right after their commit, other
 * processes' through the outbox tail). A reader takes a ticket *before* reading the store; put
 * keeps what it read only if nothing it covers was invalidated since that ticket, so a value
 * read before a commit can never be put back after that commit's invalidation.
 *
 * Accounts are kept for rendering only: the copy handed out has no email and an empty
 * password hash. Adapters: mem (in-process, bounded). Thread-safe. */
#ifndef SERVICES_THREADLY_PORTS_ENTITY_CACHE_H
#define SERVICES_THREADLY_PORTS_ENTITY_CACHE_H

#include "lib/base/arena.h"
#include "services/threadly/domain/account.h"
#include "services/threadly/domain/status.h"

#include <stddef.h>
#include <stdint.h>

struct entity_cache_stats {
    size_t statuses, accounts, favouriters; /* entries held */
    size_t bytes;                           /* memory they take, about */
    uint64_t hits, misses, invalidations, evictions, stale_puts;
};

struct entity_cache_ops {
    /* The current ticket, to take before reading the store. */
    uint64_t (*ticket)(void *ctx);
    /* For each ids[i], a copy in arena a of the held status into out[i], or NULL. Returns how
     * many were found. The copies have no author (status.author NULL). */
    size_t (*get_statuses)(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                           struct status **out);
    /* Offers statuses read from the store after ticket was taken (NULL items skipped). */
    void (*put_statuses)(void *ctx, uint64_t ticket, struct status *const *s, size_t n);
    size_t (*get_accounts)(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                           struct account **out);
    void (*put_accounts)(void *ctx, uint64_t ticket, struct account *const *accts, size_t n);
    /* The accounts that favourited status_id, when held: true, a copy in arena a into *ids
     * and their number into *n. */
    bool (*get_favouriters)(void *ctx, uint64_t status_id, struct arena *a, uint64_t **ids,
                            size_t *n);
    /* Offers all the accounts that favourited status_id, read after ticket was taken. */
    void (*put_favouriters)(void *ctx, uint64_t ticket, uint64_t status_id, const uint64_t *ids,
                            size_t n);
    /* Forget one status (with its favouriters) or account; every put with an older ticket that
     * covers it is refused. */
    void (*invalidate_status)(void *ctx, uint64_t id);
    void (*invalidate_account)(void *ctx, uint64_t id);
    void (*stats)(void *ctx, struct entity_cache_stats *out);
    void (*close)(void *ctx);
};

struct entity_cache {
    const struct entity_cache_ops *ops;
    void *ctx;
};

static inline uint64_t entity_cache_ticket(struct entity_cache *c)
{
    return c->ops->ticket(c->ctx);
}

static inline size_t entity_cache_get_statuses(struct entity_cache *c, const uint64_t *ids,
                                               size_t n, struct arena *a, struct status **out)
{
    return c->ops->get_statuses(c->ctx, ids, n, a, out);
}

static inline void entity_cache_put_statuses(struct entity_cache *c, uint64_t ticket,
                                             struct status *const *s, size_t n)
{
    c->ops->put_statuses(c->ctx, ticket, s, n);
}

static inline size_t entity_cache_get_accounts(struct entity_cache *c, const uint64_t *ids,
                                               size_t n, struct arena *a, struct account **out)
{
    return c->ops->get_accounts(c->ctx, ids, n, a, out);
}

static inline void entity_cache_put_accounts(struct entity_cache *c, uint64_t ticket,
                                             struct account *const *accts, size_t n)
{
    c->ops->put_accounts(c->ctx, ticket, accts, n);
}

static inline bool entity_cache_get_favouriters(struct entity_cache *c, uint64_t status_id,
                                                struct arena *a, uint64_t **ids, size_t *n)
{
    return c->ops->get_favouriters(c->ctx, status_id, a, ids, n);
}

static inline void entity_cache_put_favouriters(struct entity_cache *c, uint64_t ticket,
                                                uint64_t status_id, const uint64_t *ids, size_t n)
{
    c->ops->put_favouriters(c->ctx, ticket, status_id, ids, n);
}

static inline void entity_cache_invalidate_status(struct entity_cache *c, uint64_t id)
{
    c->ops->invalidate_status(c->ctx, id);
}

static inline void entity_cache_invalidate_account(struct entity_cache *c, uint64_t id)
{
    c->ops->invalidate_account(c->ctx, id);
}

static inline void entity_cache_stats(struct entity_cache *c, struct entity_cache_stats *out)
{
    c->ops->stats(c->ctx, out);
}

static inline void entity_cache_close(struct entity_cache *c)
{
    if (c->ops)
        c->ops->close(c->ctx);
}

#endif
