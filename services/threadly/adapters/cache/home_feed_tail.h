/* home_feed_tail.h - inbound adapter: keeps this process's home feeds coherent with the writes
 * of the other threadly-service processes on the same database (blue-green). One thread reads
 * the outbox after the seq it started at, every interval_ms, and reports status.created,
 * status.deleted, follow.created and follow.deleted made by another node to app/home.c; those
 * and favourite.* and account.updated to app/entities.c (the entity cache); and token.revoked
 * and account.tokens_revoked to core->tokens when it is a token_store_cache
 * (token_store_cache.h: revocations are then refused here within interval_ms). This
 * process's own writes are reported synchronously after their commit (app/statuses.c), so
 * their events are skipped here (the node number of the event id is this process's). */
#ifndef SERVICES_THREADLY_ADAPTERS_CACHE_HOME_FEED_TAIL_H
#define SERVICES_THREADLY_ADAPTERS_CACHE_HOME_FEED_TAIL_H

#include "lib/base/log.h"
#include "services/threadly/app/core.h"
#include "services/threadly/ports/outbox_store.h"

struct home_feed_tail;

/* Starts the thread at the outbox's current head. core (with its home feed or entity cache,
 * and id generator), store and log must outlive the tail. NULL (err set) if the head cannot be
 * read. */
struct home_feed_tail *home_feed_tail_start(struct core *core, struct outbox_store *store,
                                            int interval_ms, struct logger *log, struct err *err);
/* Stops the thread and frees. NULL is a no-op. */
void home_feed_tail_stop(struct home_feed_tail *t);

#endif
