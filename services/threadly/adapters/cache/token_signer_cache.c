/* token_signer_cache.c - see token_signer_cache.h. A direct-mapped table: the slot is chosen
 * by the digest, each slot holds one digest with its claims, and slots are guarded by striped
 * mutexes so that concurrent requests rarely wait for each other. */
#include "services/threadly/adapters/cache/token_signer_cache.h"

#include "lib/base/digest.h"
#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define STRIPES 64

struct slot {
    char digest[DIGEST_SHA256_B64_LEN]; /* "" when empty */
    struct token_claims claims;
};

struct cache {
    struct token_signer inner;
    pthread_mutex_t locks[STRIPES];
    struct slot slots[TOKEN_SIGNER_CACHE_SLOTS];
    atomic_ullong hits, misses;
};

static const struct token_signer_ops cache_ops;

static size_t slot_of(const char *digest)
{
    size_t h = 5381; /* the digest is uniform already: any mix of its characters will do */
    for (const char *p = digest; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % TOKEN_SIGNER_CACHE_SLOTS;
}

static int cache_sign(void *ctx, const struct token_claims *claims, char out[TOKEN_MAX],
                      struct err *err)
{
    struct cache *c = ctx;
    return token_signer_sign(&c->inner, claims, out, err);
}

static int cache_verify(void *ctx, const char *token, int64_t now_ms, struct token_claims *claims,
                        struct err *err)
{
    struct cache *c = ctx;
    char digest[DIGEST_SHA256_B64_LEN];
    digest_sha256_b64url(token, strlen(token), digest);
    size_t i = slot_of(digest);
    pthread_mutex_t *lock = &c->locks[i % STRIPES];
    struct token_claims found;
    bool hit = false;
    pthread_mutex_lock(lock);
    if (strcmp(c->slots[i].digest, digest) == 0) {
        found = c->slots[i].claims;
        hit = true;
    }
    pthread_mutex_unlock(lock);
    if (hit) {
        if (found.exp_ms && now_ms >= found.exp_ms) /* as the inner signer would say */
            return err_set(err, ERR_INVALID, "token expired");
        atomic_fetch_add(&c->hits, 1);
        *claims = found;
        return 0;
    }
    atomic_fetch_add(&c->misses, 1);
    int rc = token_signer_verify(&c->inner, token, now_ms, claims, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(lock);
    memcpy(c->slots[i].digest, digest, sizeof(digest));
    c->slots[i].claims = *claims;
    pthread_mutex_unlock(lock);
    return 0;
}

static const struct token_signer_ops cache_ops = {cache_sign, cache_verify};

void token_signer_cache_wrap(struct token_signer *signer)
{
    struct cache *c = xcalloc(1, sizeof(*c));
    c->inner = *signer;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    *signer = (struct token_signer){&cache_ops, c};
}

void token_signer_cache_unwrap(struct token_signer *signer)
{
    if (signer->ops != &cache_ops)
        return;
    struct cache *c = signer->ctx;
    *signer = c->inner;
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c);
}

void token_signer_cache_stats(const struct token_signer *signer, unsigned long long *hits,
                              unsigned long long *misses)
{
    *hits = *misses = 0;
    if (!signer || signer->ops != &cache_ops)
        return;
    struct cache *c = signer->ctx;
    *hits = atomic_load(&c->hits);
    *misses = atomic_load(&c->misses);
}
