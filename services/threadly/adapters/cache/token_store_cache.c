/* token_store_cache.c - see token_store_cache.h. An open-addressing table keyed by jti under
 * one mutex (a lookup is a few loads; revocations are rare). gen counts what was learnt: a
 * store answer is kept only if gen did not move while the store was asked, so an answer that
 * may predate a revocation learnt meanwhile is asked again next time. */
#include "services/threadly/adapters/cache/token_store_cache.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { EMPTY = 0, VALID = 1, REVOKED = 2 };

struct entry {
    uint64_t jti; /* 0: empty (ids are never 0) */
    uint64_t account_id;
    int state;
};

struct cache {
    struct token_store inner;
    struct email_token_store inner_email;
    pthread_mutex_t mu;
    uint64_t gen;
    size_t used;
    unsigned long long hits, misses;
    int refs; /* the two decorators */
    struct entry slots[TOKEN_STORE_CACHE_SLOTS];
};

static const struct token_store_ops cache_ops;
static const struct email_token_store_ops email_ops;

static size_t home_slot(uint64_t jti)
{
    return (size_t)((jti * 0x9E3779B97F4A7C15ULL) >> 50) % TOKEN_STORE_CACHE_SLOTS;
}

/* The slot of jti, or the empty slot where it would go. Under mu; the table is never full. */
static struct entry *find(struct cache *c, uint64_t jti)
{
    size_t i = home_slot(jti);
    while (c->slots[i].jti != 0 && c->slots[i].jti != jti)
        i = (i + 1) % TOKEN_STORE_CACHE_SLOTS;
    return &c->slots[i];
}

/* Sets the state of jti (inserting it). Under mu. */
static void put(struct cache *c, uint64_t jti, uint64_t account_id, int state)
{
    if (jti == 0)
        return;
    if (c->used >= TOKEN_STORE_CACHE_SLOTS / 4 * 3) {
        memset(c->slots, 0, sizeof(c->slots)); /* the store answers again */
        c->used = 0;
    }
    struct entry *e = find(c, jti);
    if (e->jti == 0) {
        e->jti = jti;
        c->used++;
    }
    e->account_id = account_id;
    e->state = state;
}

/* Marks jti revoked and makes in-flight store answers be dropped. */
static void learn_revoked(struct cache *c, uint64_t jti, uint64_t account_id)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    put(c, jti, account_id, REVOKED);
    pthread_mutex_unlock(&c->mu);
}

static void learn_cutoff(struct cache *c, uint64_t account_id, uint64_t below_jti)
{
    pthread_mutex_lock(&c->mu);
    c->gen++;
    for (size_t i = 0; i < TOKEN_STORE_CACHE_SLOTS; i++) {
        struct entry *e = &c->slots[i];
        if (e->jti != 0 && e->account_id == account_id && e->jti < below_jti)
            e->state = REVOKED;
    }
    pthread_mutex_unlock(&c->mu);
}

static int cache_revoke(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                        const struct outbox_emit *emit, struct err *err)
{
    struct cache *c = ctx;
    /* Before: no request after this call began is answered "valid" from memory. After: an
     * answer the store gave before the commit and stored meanwhile is overwritten. A failed
     * revocation stays revoked here (the commit may have happened). */
    learn_revoked(c, jti, account_id);
    int rc = token_store_revoke(&c->inner, jti, account_id, at_ms, emit, err);
    learn_revoked(c, jti, account_id);
    return rc;
}

static int cache_is_revoked(void *ctx, uint64_t jti, uint64_t account_id, bool *revoked,
                            struct err *err)
{
    struct cache *c = ctx;
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, jti);
    if (e->jti == jti && e->account_id == account_id) {
        *revoked = e->state == REVOKED;
        c->hits++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    uint64_t gen = c->gen;
    c->misses++;
    pthread_mutex_unlock(&c->mu);
    int rc = token_store_is_revoked(&c->inner, jti, account_id, revoked, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->mu);
    if (c->gen == gen) {
        e = find(c, jti);
        if (e->jti != jti) /* a concurrent answer or revocation may be there already */
            put(c, jti, account_id, *revoked ? REVOKED : VALID);
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void release(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void cache_close(void *ctx)
{
    struct cache *c = ctx;
    token_store_close(&c->inner);
    release(c);
}

static const struct token_store_ops cache_ops = {
    .revoke = cache_revoke, .is_revoked = cache_is_revoked, .close = cache_close};

static int email_insert(void *ctx, const struct email_token *t, const struct outbox_emit *emit,
                        struct err *err)
{
    struct cache *c = ctx;
    return email_token_store_insert(&c->inner_email, t, emit, err);
}

static int email_use(void *ctx, enum email_token_kind kind, const char *hash, int64_t now_ms,
                     const char *new_hash, uint64_t revoke_below_jti,
                     const struct outbox_emit *emit, uint64_t *account_id, struct err *err)
{
    struct cache *c = ctx;
    int rc = email_token_store_use(&c->inner_email, kind, hash, now_ms, new_hash, revoke_below_jti,
                                   emit, account_id, err);
    /* The account is known only now; an answer the store gave before the commit and stored
     * meanwhile is among the entries marked here. */
    if (rc == 0 && kind == EMAIL_TOKEN_RESET)
        learn_cutoff(c, *account_id, revoke_below_jti);
    return rc;
}

static int email_is_confirmed(void *ctx, uint64_t account_id, bool *confirmed, struct err *err)
{
    struct cache *c = ctx;
    return email_token_store_is_confirmed(&c->inner_email, account_id, confirmed, err);
}

static void email_close(void *ctx)
{
    struct cache *c = ctx;
    email_token_store_close(&c->inner_email);
    release(c);
}

static const struct email_token_store_ops email_ops = {.insert = email_insert,
                                                       .use = email_use,
                                                       .is_confirmed = email_is_confirmed,
                                                       .close = email_close};

void token_store_cache_wrap(struct token_store *tokens, struct email_token_store *email_tokens)
{
    struct cache *c = xcalloc(1, sizeof(*c));
    c->inner = *tokens;
    c->inner_email = *email_tokens;
    c->refs = 2;
    pthread_mutex_init(&c->mu, NULL);
    *tokens = (struct token_store){&cache_ops, c};
    *email_tokens = (struct email_token_store){&email_ops, c};
}

void token_store_cache_revoked(struct token_store *tokens, uint64_t jti, uint64_t account_id)
{
    if (tokens->ops == &cache_ops)
        learn_revoked(tokens->ctx, jti, account_id);
}

void token_store_cache_cutoff(struct token_store *tokens, uint64_t account_id, uint64_t below_jti)
{
    if (tokens->ops == &cache_ops)
        learn_cutoff(tokens->ctx, account_id, below_jti);
}

void token_store_cache_stats(const struct token_store *tokens, unsigned long long *hits,
                             unsigned long long *misses)
{
    *hits = *misses = 0;
    if (tokens->ops != &cache_ops)
        return;
    struct cache *c = tokens->ctx;
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
