/* entities.c - see entities.h. The ticket is taken before the store is read, so a value read
 * before a concurrent change committed is refused by the cache once that change has been
 * reported (ports/entity_cache.h). */
#include "services/threadly/app/entities.h"

/* One kind of entity: read from the cache, from the store, offered to the cache. */
struct kind {
    size_t (*cached)(struct core *c, const uint64_t *ids, size_t n, struct arena *a, void **out);
    int (*stored)(struct core *c, const uint64_t *ids, size_t n, struct arena *a, void **out,
                  struct err *err);
    void (*put)(struct core *c, uint64_t ticket, void *const *items, size_t n);
};

/* out[i] for each ids[i] from the cache, the rest from the store in one batch (then offered
 * with the ticket taken before the store read). *ticket is that ticket. */
static int through(struct core *c, const struct kind *k, const uint64_t *ids, size_t n,
                   struct arena *a, void **out, uint64_t *ticket, struct err *err)
{
    *ticket = entity_cache_ticket(&c->entities);
    size_t found = k->cached(c, ids, n, a, out);
    if (found == n)
        return 0;
    uint64_t *missing = arena_alloc(a, (n - found) * sizeof(*missing));
    size_t *where = arena_alloc(a, (n - found) * sizeof(*where)), m = 0;
    for (size_t i = 0; i < n; i++)
        if (!out[i]) {
            where[m] = i;
            missing[m++] = ids[i];
        }
    void **got = arena_alloc(a, m * sizeof(*got));
    int rc = k->stored(c, missing, m, a, got, err);
    if (rc)
        return rc;
    k->put(c, *ticket, got, m);
    for (size_t i = 0; i < m; i++)
        out[where[i]] = got[i];
    return 0;
}

static size_t statuses_cached(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                              void **out)
{
    return entity_cache_get_statuses(&c->entities, ids, n, a, (struct status **)out);
}

static int statuses_stored(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                           void **out, struct err *err)
{
    return status_store_get_many(&c->statuses, ids, n, a, (struct status **)out, err);
}

static void statuses_put(struct core *c, uint64_t ticket, void *const *items, size_t n)
{
    entity_cache_put_statuses(&c->entities, ticket, (struct status *const *)items, n);
}

static size_t accounts_cached(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                              void **out)
{
    return entity_cache_get_accounts(&c->entities, ids, n, a, (struct account **)out);
}

static int accounts_stored(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                           void **out, struct err *err)
{
    return account_store_get_many(&c->accounts, ids, n, a, (struct account **)out, err);
}

static void accounts_put(struct core *c, uint64_t ticket, void *const *items, size_t n)
{
    entity_cache_put_accounts(&c->entities, ticket, (struct account *const *)items, n);
}

static const struct kind statuses_kind = {statuses_cached, statuses_stored, statuses_put};
static const struct kind accounts_kind = {accounts_cached, accounts_stored, accounts_put};

int entities_statuses(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                      struct status **out, struct err *err)
{
    if (!c->entities.ops)
        return status_store_get_many(&c->statuses, ids, n, a, out, err);
    uint64_t ticket;
    int rc = through(c, &statuses_kind, ids, n, a, (void **)out, &ticket, err);
    /* Authors the store read with the statuses (status.author; cached copies have none) are
     * as fresh as they are. */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (out[i] && out[i]->author && out[i]->author->id == out[i]->account_id)
            entity_cache_put_accounts(&c->entities, ticket, (struct account **)&out[i]->author, 1);
    return rc;
}

int entities_status(struct core *c, uint64_t id, struct arena *a, struct status **out,
                    struct err *err)
{
    if (!c->entities.ops)
        return status_store_get(&c->statuses, id, a, out, err);
    int rc = entities_statuses(c, &id, 1, a, out, err);
    if (rc == 0 && !*out)
        rc = err_set(err, ERR_NOT_FOUND, "status %llu not found", (unsigned long long)id);
    return rc;
}

int entities_accounts(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                      struct account **out, struct err *err)
{
    if (!c->entities.ops)
        return account_store_get_many(&c->accounts, ids, n, a, out, err);
    uint64_t ticket;
    return through(c, &accounts_kind, ids, n, a, (void **)out, &ticket, err);
}

/* Whether viewer is among the favouriters of status s, from the cache (filled from the store
 * on a miss). False in *known when the cache cannot tell (too many favouriters). */
static int favourited_cached(struct core *c, uint64_t viewer, const struct status *s,
                             struct arena *a, bool *known, bool *out, struct err *err)
{
    uint64_t *ids;
    size_t n;
    *known = *out = false;
    if (!entity_cache_get_favouriters(&c->entities, s->id, a, &ids, &n)) {
        uint64_t ticket = entity_cache_ticket(&c->entities);
        struct page page = {.limit = ENTITIES_FAVOURITERS_MAX + 1};
        struct edge_list l;
        int rc = social_store_edges(&c->social, EDGES_FAVOURITED_BY, s->id, &page, a, &l, err);
        if (rc)
            return rc;
        if (l.n > ENTITIES_FAVOURITERS_MAX)
            return 0;
        ids = arena_alloc(a, (l.n ? l.n : 1) * sizeof(*ids));
        for (size_t i = 0; i < l.n; i++)
            ids[i] = l.items[i].account_id;
        n = l.n;
        entity_cache_put_favouriters(&c->entities, ticket, s->id, ids, n);
    }
    *known = true;
    for (size_t i = 0; i < n && !*out; i++)
        *out = ids[i] == viewer;
    return 0;
}

int entities_favourited(struct core *c, uint64_t viewer, const struct status *statuses, size_t n,
                        struct arena *a, bool *out, struct err *err)
{
    uint64_t *ask = arena_alloc(a, (n ? n : 1) * sizeof(*ask));
    size_t *where = arena_alloc(a, (n ? n : 1) * sizeof(*where)), k = 0;
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        out[i] = false;
        if (statuses[i].favourites_count == 0)
            continue;
        if (c->entities.ops && statuses[i].favourites_count <= ENTITIES_FAVOURITERS_MAX) {
            int rc = favourited_cached(c, viewer, &statuses[i], a, &known, &out[i], err);
            if (rc)
                return rc;
        }
        if (!known) {
            where[k] = i;
            ask[k++] = statuses[i].id;
        }
    }
    if (k == 0)
        return 0;
    bool *got = arena_alloc(a, k * sizeof(*got));
    int rc = social_store_favourited_among(&c->social, viewer, ask, k, got, err);
    for (size_t i = 0; rc == 0 && i < k; i++)
        out[where[i]] = got[i];
    return rc;
}

void entities_status_changed(struct core *c, uint64_t status_id)
{
    if (c->entities.ops && status_id)
        entity_cache_invalidate_status(&c->entities, status_id);
}

void entities_account_changed(struct core *c, uint64_t account_id)
{
    if (c->entities.ops && account_id)
        entity_cache_invalidate_account(&c->entities, account_id);
}
