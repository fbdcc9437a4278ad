/* token_store_mem.c - revoked token ids in memory: an array under a mutex. The first
 * revocation of a jti is kept, as the sqlite adapter's ON CONFLICT DO NOTHING does. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/stores_mem.h"

#include <pthread.h>

struct revoked_token {
    uint64_t jti;
    uint64_t account_id;
    int64_t at_ms;
};

struct token_store_mem {
    pthread_mutex_t mu;
    struct revoked_token *items;
    size_t n, cap;
};

/* Caller holds s->mu. */
static bool token_store_mem_has(const struct token_store_mem *s, uint64_t jti)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].jti == jti)
            return true;
    return false;
}

static int token_store_mem_revoke(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                                  struct err *err)
{
    struct token_store_mem *s = ctx;
    (void)err;
    pthread_mutex_lock(&s->mu);
    if (!token_store_mem_has(s, jti)) {
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
        }
        s->items[s->n++] = (struct revoked_token){jti, account_id, at_ms};
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int token_store_mem_is_revoked(void *ctx, uint64_t jti, bool *revoked, struct err *err)
{
    struct token_store_mem *s = ctx;
    (void)err;
    pthread_mutex_lock(&s->mu);
    *revoked = token_store_mem_has(s, jti);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void token_store_mem_close(void *ctx)
{
    struct token_store_mem *s = ctx;
    if (!s)
        return;
    free(s->items);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct token_store_ops token_store_mem_ops = {
    .revoke = token_store_mem_revoke,
    .is_revoked = token_store_mem_is_revoked,
    .close = token_store_mem_close,
};

struct token_store token_store_mem_new(void)
{
    struct token_store_mem *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    return (struct token_store){&token_store_mem_ops, s};
}
