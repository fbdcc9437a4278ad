/* token_store_sqlite.c - revoked token ids on SQLite (table revoked_tokens, migration 001).
 * A second revocation keeps the first row (ON CONFLICT DO NOTHING, also valid PostgreSQL). */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <sqlite3.h>

static const char SQL_REVOKE[] = "INSERT INTO revoked_tokens (jti, account_id, revoked_at_ms) "
                                 "VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING";
static const char SQL_IS_REVOKED[] =
    "SELECT 1 FROM revoked_tokens WHERE jti = ?1 UNION ALL "
    "SELECT 1 FROM token_cutoffs WHERE account_id = ?2 AND revoked_below_jti > ?1 LIMIT 1";

static int token_store_sqlite_revoke(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                                     const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    int64_t v[] = {(int64_t)jti, (int64_t)account_id, at_ms};
    int changed = 0;
    int rc = sqlite_db_begin(ctx, "token revoke begin", err);
    if (rc != 0)
        return rc;
    rc = sqlite_db_exec_ids(ctx, SQL_REVOKE, v, 3, "token revoke", &changed, err);
    if (rc == 0 && changed) /* a repeat changes nothing and emits nothing */
        rc = outbox_sqlite_write(ctx, emit, &ch, err);
    return sqlite_db_finish(ctx, rc, "token revoke commit", err);
}

static int token_store_sqlite_is_revoked(void *ctx, uint64_t jti, uint64_t account_id,
                                         bool *revoked, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_IS_REVOKED, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)jti);
    sqlite_db_bind_int64(st, 2, (int64_t)account_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW || src == SQLITE_DONE)
        *revoked = src == SQLITE_ROW;
    else
        rc = sqlite_db_error(st, src, "token is_revoked", err);
    sqlite_db_release(st);
    return rc;
}

static void token_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct token_store_ops token_store_sqlite_ops = {
    .revoke = token_store_sqlite_revoke,
    .is_revoked = token_store_sqlite_is_revoked,
    .close = token_store_sqlite_close,
};

struct token_store token_store_sqlite(struct sqlite_db *db)
{
    return (struct token_store){&token_store_sqlite_ops, db};
}
