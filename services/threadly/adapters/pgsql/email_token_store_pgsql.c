/* email_token_store_pgsql.c - email tokens and confirmations on PostgreSQL (migration 004). A
 * use locks the token's row (SELECT ... FOR UPDATE) for its transaction, so two clicks on the
 * same link cannot both succeed. */
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

static const char SQL_INSERT[] =
    "INSERT INTO email_tokens (token_hash, kind, account_id, created_at_ms, expires_at_ms) "
    "VALUES ($1, $2, $3, $4, $5)";
static const char SQL_GET[] = "SELECT kind, account_id, expires_at_ms, used_at_ms "
                              "FROM email_tokens WHERE token_hash = $1 FOR UPDATE";
static const char SQL_MARK_USED[] = "UPDATE email_tokens SET used_at_ms = $1 WHERE token_hash = $2";
static const char SQL_CONFIRM[] = "INSERT INTO email_confirmations (account_id, confirmed_at_ms) "
                                  "VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING";
static const char SQL_SET_PASSWORD[] = "UPDATE accounts SET password_hash = $1 WHERE id = $2";
static const char SQL_USE_RESETS[] = "UPDATE email_tokens SET used_at_ms = $1 "
                                     "WHERE account_id = $2 AND kind = 2 AND used_at_ms = 0";
static const char SQL_CUTOFF[] =
    "INSERT INTO token_cutoffs (account_id, revoked_below_jti) VALUES ($1, $2) "
    "ON CONFLICT (account_id) DO UPDATE SET revoked_below_jti = "
    "greatest(token_cutoffs.revoked_below_jti, excluded.revoked_below_jti)";
static const char SQL_IS_CONFIRMED[] = "SELECT 1 FROM email_confirmations WHERE account_id = $1";

static int email_token_store_pgsql_insert(void *ctx, const struct email_token *t,
                                          const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    struct pgsql_params p = {0};
    pgsql_params_text(&p, t->hash);
    pgsql_params_int64(&p, t->kind);
    pgsql_params_int64(&p, (int64_t)t->account_id);
    pgsql_params_int64(&p, t->created_at_ms);
    pgsql_params_int64(&p, t->expires_at_ms);
    int rc = pgsql_db_begin(ctx, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query(ctx, SQL_INSERT, &p, NULL, NULL, "email token insert", err);
    return outbox_pgsql_commit(ctx, rc, emit, &ch, err);
}

/* Locks and checks the token inside the transaction; *account_id is its account. */
static int email_token_pgsql_check(struct pgsql_db *db, enum email_token_kind kind,
                                   const char *hash, int64_t now_ms, uint64_t *account_id,
                                   struct err *err)
{
    struct pgsql_params p = {0};
    struct pg_result *r;
    pgsql_params_text(&p, hash);
    int rc = pgsql_db_query_row(db, SQL_GET, &p, &r, "email token", err);
    if (rc != 0)
        return rc;
    *account_id = (uint64_t)pgsql_int64(r, 0, 1);
    if (pgsql_int64(r, 0, 0) != kind || pgsql_int64(r, 0, 3) != 0)
        rc = err_set(err, ERR_NOT_FOUND, "email token: not found");
    else if (pgsql_int64(r, 0, 2) <= now_ms)
        rc = err_set(err, ERR_INVALID, "email token expired");
    pgsql_db_clear(r);
    return rc;
}

static int email_token_pgsql_apply(struct pgsql_db *db, enum email_token_kind kind,
                                   const char *hash, int64_t now_ms, const char *new_hash,
                                   uint64_t below_jti, const struct outbox_emit *emit,
                                   uint64_t account_id, struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, now_ms);
    pgsql_params_text(&p, hash);
    int rc = pgsql_db_query(db, SQL_MARK_USED, &p, NULL, NULL, "email token mark used", err);
    if (rc != 0)
        return rc;
    int64_t v[] = {(int64_t)account_id, now_ms};
    if (kind == EMAIL_TOKEN_CONFIRM)
        return pgsql_db_query_ids(db, SQL_CONFIRM, v, 2, NULL, NULL, "email confirm", err);
    struct pgsql_params q = {0};
    int64_t changed = 0;
    pgsql_params_text(&q, new_hash);
    pgsql_params_int64(&q, (int64_t)account_id);
    rc = pgsql_db_query(db, SQL_SET_PASSWORD, &q, NULL, &changed, "password reset", err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "password reset: account is gone");
    int64_t w[] = {now_ms, (int64_t)account_id};
    if (rc == 0)
        rc = pgsql_db_query_ids(db, SQL_USE_RESETS, w, 2, NULL, NULL, "password reset tokens", err);
    int64_t cut[] = {(int64_t)account_id, (int64_t)below_jti};
    if (rc == 0)
        rc = pgsql_db_query_ids(db, SQL_CUTOFF, cut, 2, NULL, NULL, "password reset cut-off", err);
    struct outbox_change ch = {.row_id = account_id};
    if (rc == 0)
        rc = outbox_pgsql_write(db, emit, &ch, err);
    return rc;
}

static int email_token_store_pgsql_use(void *ctx, enum email_token_kind kind, const char *hash,
                                       int64_t now_ms, const char *new_hash, uint64_t below_jti,
                                       const struct outbox_emit *emit, uint64_t *account_id,
                                       struct err *err)
{
    uint64_t id = 0;
    int rc = pgsql_db_begin(ctx, err);
    if (rc != 0)
        return rc;
    rc = email_token_pgsql_check(ctx, kind, hash, now_ms, &id, err);
    if (rc == 0)
        rc = email_token_pgsql_apply(ctx, kind, hash, now_ms, new_hash, below_jti, emit, id, err);
    rc = pgsql_db_finish(ctx, rc, err);
    if (rc == 0)
        *account_id = id;
    return rc;
}

static int email_token_store_pgsql_is_confirmed(void *ctx, uint64_t account_id, bool *confirmed,
                                                struct err *err)
{
    int64_t v[] = {(int64_t)account_id};
    int64_t rows = 0;
    int rc =
        pgsql_db_query_ids(ctx, SQL_IS_CONFIRMED, v, 1, NULL, &rows, "email is_confirmed", err);
    if (rc == 0)
        *confirmed = rows > 0;
    return rc;
}

static void email_token_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct email_token_store_ops email_token_store_pgsql_ops = {
    .insert = email_token_store_pgsql_insert,
    .use = email_token_store_pgsql_use,
    .is_confirmed = email_token_store_pgsql_is_confirmed,
    .close = email_token_store_pgsql_close,
};

struct email_token_store email_token_store_pgsql(struct pgsql_db *db)
{
    return (struct email_token_store){&email_token_store_pgsql_ops, db};
}
