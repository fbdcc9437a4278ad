/* token_store_pgsql.c - revoked token ids on PostgreSQL (table revoked_tokens, migration 001).
 * A second revocation keeps the first row (ON CONFLICT DO NOTHING, as in sqlite). */
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

static const char SQL_REVOKE[] = "INSERT INTO revoked_tokens (jti, account_id, revoked_at_ms) "
                                 "VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING";
static const char SQL_IS_REVOKED[] =
    "SELECT 1 FROM revoked_tokens WHERE jti = $1 UNION ALL "
    "SELECT 1 FROM token_cutoffs WHERE account_id = $2 AND revoked_below_jti > $1 LIMIT 1";

static int token_store_pgsql_revoke(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                                    const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)jti);
    pgsql_params_int64(&p, (int64_t)account_id);
    pgsql_params_int64(&p, at_ms);
    int64_t changed = 0;
    int rc = pgsql_db_begin(ctx, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query(ctx, SQL_REVOKE, &p, NULL, &changed, "token revoke", err);
    /* A repeat changes nothing and emits nothing. */
    return rc == 0 && changed ? outbox_pgsql_commit(ctx, rc, emit, &ch, err)
                              : pgsql_db_finish(ctx, rc, err);
}

static int token_store_pgsql_is_revoked(void *ctx, uint64_t jti, uint64_t account_id, bool *revoked,
                                        struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)jti);
    pgsql_params_int64(&p, (int64_t)account_id);
    int64_t rows = 0;
    int rc = pgsql_db_query(ctx, SQL_IS_REVOKED, &p, NULL, &rows, "token is_revoked", err);
    if (rc == 0)
        *revoked = rows > 0;
    return rc;
}

static void token_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct token_store_ops token_store_pgsql_ops = {
    .revoke = token_store_pgsql_revoke,
    .is_revoked = token_store_pgsql_is_revoked,
    .close = token_store_pgsql_close,
};

struct token_store token_store_pgsql(struct pgsql_db *db)
{
    return (struct token_store){&token_store_pgsql_ops, db};
}
