/* token_store_cache.h - a token_store that answers "is this access token revoked?" from memory.
 * Every authenticated request asks it (app/auth.c), which on PostgreSQL cost a round trip
 * each. The cache remembers the answers of the store it wraps, per jti (with its account), and
 * keeps them coherent:
 * - with this process's revocations synchronously: token_store_revoke through the cache, and a
 *   password reset's cut-off through the email_token_store it also wraps, mark the cached
 *   tokens revoked before they return, so a token revoked here is never accepted here again;
 * - with other processes' revocations through the outbox tail (home_feed_tail.h), which
 *   reports token.revoked and account.tokens_revoked events with token_store_cache_revoked and
 *   token_store_cache_cutoff: their window is the tail interval (docs/auth.md).
 * An answer the store gave while a revocation was being learnt is not remembered (a generation
 * counter), so a stale "not revoked" is never kept. Unknown tokens are asked of the store, so
 * the cache needs no loading at start, provided the tail starts before the first lookup (it
 * reads from the outbox head at its start; anything committed earlier the store answers).
 * Bounded: TOKEN_STORE_CACHE_SLOTS entries; when 3/4 full it forgets everything and asks the
 * store again. Thread-safe. */
#ifndef SERVICES_THREADLY_ADAPTERS_CACHE_TOKEN_STORE_CACHE_H
#define SERVICES_THREADLY_ADAPTERS_CACHE_TOKEN_STORE_CACHE_H

#include "services/threadly/ports/email_token_store.h"
#include "services/threadly/ports/token_store.h"

#define TOKEN_STORE_CACHE_SLOTS 16384

/* Replaces *tokens and *email_tokens by decorators of them that share one cache. Closing the
 * decorators closes the stores they wrap (either order). */
void token_store_cache_wrap(struct token_store *tokens, struct email_token_store *email_tokens);

/* What another process revoked (learnt from the outbox): jti of account_id, or every token
 * of account_id whose jti is below below_jti. No-ops when tokens is not a cache. */
void token_store_cache_revoked(struct token_store *tokens, uint64_t jti, uint64_t account_id);
void token_store_cache_cutoff(struct token_store *tokens, uint64_t account_id, uint64_t below_jti);

/* Counters for tests: lookups answered from memory, and by the store. Both 0 when tokens is not
 * a cache. */
void token_store_cache_stats(const struct token_store *tokens, unsigned long long *hits,
                             unsigned long long *misses);

#endif
