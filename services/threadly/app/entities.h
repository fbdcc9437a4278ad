/* entities.h - statuses and accounts for rendering, through the entity cache
 * (ports/entity_cache.h) when the core has one, else straight from the stores; and the
 * invalidations that keep the cache coherent (docs/adr/006-entity-cache.md). */
#ifndef SERVICES_THREADLY_APP_ENTITIES_H
#define SERVICES_THREADLY_APP_ENTITIES_H

#include "lib/base/arena.h"
#include "services/threadly/app/core.h"

/* status_store_get through the cache: ERR_NOT_FOUND if absent. */
int entities_status(struct core *c, uint64_t id, struct arena *a, struct status **out,
                    struct err *err);
/* status_store_get_many through the cache: out[i] NULL where there is none. */
int entities_statuses(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                      struct status **out, struct err *err);
/* account_store_get_many through the cache, for rendering only (no email, no password hash
 * in cached copies): out[i] NULL where there is none. */
int entities_accounts(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                      struct account **out, struct err *err);

/* Sets out[i] to whether viewer favourited statuses[i], for i < n: false without asking when
 * its favourites_count is 0 (the count moves in the favourite's transaction); from the cached
 * list of its favouriters when it has at most ENTITIES_FAVOURITERS_MAX; the rest in one store
 * call. */
#define ENTITIES_FAVOURITERS_MAX 40
int entities_favourited(struct core *c, uint64_t viewer, const struct status *statuses, size_t n,
                        struct arena *a, bool *out, struct err *err);

/* Reports committed changes (by this process right after the commit, or by another one as
 * read from the outbox). Never fail. */
void entities_status_changed(struct core *c, uint64_t status_id);
void entities_account_changed(struct core *c, uint64_t account_id);

#endif
