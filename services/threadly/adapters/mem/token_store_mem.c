/* token_store_mem.c - revoked token ids in memory: an array of a mem_db, under its mutex, so a
 * revocation and its event are one critical section. The first revocation of a jti is kept, as
 * the sqlite adapter's ON CONFLICT DO NOTHING does. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/db_mem.h"

/* Caller holds db->mu. */
static bool token_store_mem_has(const struct mem_db *db, uint64_t jti)
{
    for (size_t i = 0; i < db->nrevoked; i++)
        if (db->revoked[i].jti == jti)
            return true;
    return false;
}

static int token_store_mem_revoke(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                                  const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    if (!token_store_mem_has(db, jti)) {
        MEM_DB_RESERVE(db->revoked, db->nrevoked, db->revoked_cap);
        db->revoked[db->nrevoked++] = (struct mem_revoked_token){jti, account_id, at_ms};
        struct outbox_change ch = {0};
        mem_db_outbox_write(db, emit, &ch);
    }
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int token_store_mem_is_revoked(void *ctx, uint64_t jti, uint64_t account_id, bool *revoked,
                                      struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    *revoked = token_store_mem_has(db, jti);
    for (size_t i = 0; i < db->ncutoffs; i++)
        if (db->cutoffs[i].account_id == account_id && db->cutoffs[i].below_jti > jti)
            *revoked = true;
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static void token_store_mem_close(void *ctx)
{
    (void)ctx; /* the tokens belong to the mem_db */
}

/* token_store_mem_new's store owns its private mem_db. */
static void token_store_mem_close_owned(void *ctx)
{
    mem_db_free(ctx);
}

static const struct token_store_ops token_store_mem_ops = {
    .revoke = token_store_mem_revoke,
    .is_revoked = token_store_mem_is_revoked,
    .close = token_store_mem_close,
};

static const struct token_store_ops token_store_mem_owned_ops = {
    .revoke = token_store_mem_revoke,
    .is_revoked = token_store_mem_is_revoked,
    .close = token_store_mem_close_owned,
};

struct token_store token_store_mem(struct mem_db *db)
{
    return (struct token_store){&token_store_mem_ops, db};
}

struct token_store token_store_mem_new(void)
{
    return (struct token_store){&token_store_mem_owned_ops, mem_db_new()};
}
