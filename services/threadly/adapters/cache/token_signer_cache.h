/* token_signer_cache.h - a token_signer that remembers the tokens another one verified.
 * Verifying an Ed25519 JWT costs about 13% of the CPU of a home-timeline request (perf, under
 * bench/timelines.sh); its outcome depends only on the token's text and the key, so a cache of
 * successes keyed by SHA-256 of the text answers the same as the signer it wraps. Expiry is
 * checked again on every hit; failures are not cached; revocation stays the caller's check on
 * every request (auth_authenticate asks the token store each time). Bounded: a fixed table of
 * TOKEN_SIGNER_CACHE_SLOTS entries, a newer token replacing an older one in its slot.
 * Thread-safe. */
#ifndef SERVICES_THREADLY_ADAPTERS_CACHE_TOKEN_SIGNER_CACHE_H
#define SERVICES_THREADLY_ADAPTERS_CACHE_TOKEN_SIGNER_CACHE_H

#include "services/threadly/ports/token_signer.h"

#define TOKEN_SIGNER_CACHE_SLOTS 1024

/* Replaces *signer by a caching signer that delegates to the old *signer, which must outlive
 * it. token_signer_cache_unwrap restores the inner signer and frees the cache. */
void token_signer_cache_wrap(struct token_signer *signer);
void token_signer_cache_unwrap(struct token_signer *signer);

/* Counters for tests and metrics: verifications answered from the cache, and by the inner
 * signer. NULL-safe on a signer that is not a cache (both 0). */
void token_signer_cache_stats(const struct token_signer *signer, unsigned long long *hits,
                              unsigned long long *misses);

#endif
