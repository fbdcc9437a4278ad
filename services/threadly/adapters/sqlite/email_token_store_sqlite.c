/* email_token_store_sqlite.c - email tokens and confirmations on SQLite (migration 004). A use
 * reads, checks and changes in one write transaction (BEGIN IMMEDIATE), so two clicks on the
 * same link cannot both succeed. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <sqlite3.h>

static const char SQL_INSERT[] =
    "INSERT INTO email_tokens (token_hash, kind, account_id, created_at_ms, expires_at_ms) "
    "VALUES (?, ?, ?, ?, ?)";
static const char SQL_GET[] = "SELECT kind, account_id, expires_at_ms, used_at_ms "
                              "FROM email_tokens WHERE token_hash = ?";
static const char SQL_MARK_USED[] = "UPDATE email_tokens SET used_at_ms = ? WHERE token_hash = ?";
static const char SQL_CONFIRM[] = "INSERT INTO email_confirmations (account_id, confirmed_at_ms) "
                                  "VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING";
static const char SQL_SET_PASSWORD[] = "UPDATE accounts SET password_hash = ? WHERE id = ?";
static const char SQL_USE_RESETS[] = "UPDATE email_tokens SET used_at_ms = ? "
                                     "WHERE account_id = ? AND kind = 2 AND used_at_ms = 0";
static const char SQL_CUTOFF[] =
    "INSERT INTO token_cutoffs (account_id, revoked_below_jti) VALUES (?, ?) "
    "ON CONFLICT (account_id) DO UPDATE SET revoked_below_jti = "
    "max(revoked_below_jti, excluded.revoked_below_jti)";
static const char SQL_IS_CONFIRMED[] = "SELECT 1 FROM email_confirmations WHERE account_id = ?";

static int email_token_store_sqlite_insert(void *ctx, const struct email_token *t,
                                           const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    sqlite3_stmt *st;
    int rc = sqlite_db_begin(ctx, "email token insert begin", err);
    if (rc != 0)
        return rc;
    rc = sqlite_db_stmt(ctx, SQL_INSERT, &st, err);
    if (rc == 0) {
        sqlite_db_bind_text(st, 1, t->hash);
        sqlite_db_bind_int64(st, 2, t->kind);
        sqlite_db_bind_int64(st, 3, (int64_t)t->account_id);
        sqlite_db_bind_int64(st, 4, t->created_at_ms);
        sqlite_db_bind_int64(st, 5, t->expires_at_ms);
        rc = sqlite_db_step_done(st, "email token insert", NULL, err);
    }
    if (rc == 0)
        rc = outbox_sqlite_write(ctx, emit, &ch, err);
    return sqlite_db_finish(ctx, rc, "email token insert commit", err);
}

/* Checks the token inside the transaction; *account_id is its account. */
static int email_token_sqlite_check(struct sqlite_db *db, enum email_token_kind kind,
                                    const char *hash, int64_t now_ms, uint64_t *account_id,
                                    struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_GET, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, hash);
    rc = sqlite_db_step_row(st, "email token", err);
    if (rc == 0) {
        *account_id = (uint64_t)sqlite3_column_int64(st, 1);
        if (sqlite3_column_int64(st, 0) != kind || sqlite3_column_int64(st, 3) != 0)
            rc = err_set(err, ERR_NOT_FOUND, "email token: not found");
        else if (sqlite3_column_int64(st, 2) <= now_ms)
            rc = err_set(err, ERR_INVALID, "email token expired");
    }
    sqlite_db_release(st);
    return rc;
}

static int email_token_sqlite_apply(struct sqlite_db *db, enum email_token_kind kind,
                                    const char *hash, int64_t now_ms, const char *new_hash,
                                    uint64_t below_jti, const struct outbox_emit *emit,
                                    uint64_t account_id, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_MARK_USED, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, now_ms);
    sqlite_db_bind_text(st, 2, hash);
    rc = sqlite_db_step_done(st, "email token mark used", NULL, err);
    if (rc != 0)
        return rc;
    if (kind == EMAIL_TOKEN_CONFIRM) {
        int64_t v[] = {(int64_t)account_id, now_ms};
        return sqlite_db_exec_ids(db, SQL_CONFIRM, v, 2, "email confirm", NULL, err);
    }
    int changed = 0;
    rc = sqlite_db_stmt(db, SQL_SET_PASSWORD, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, new_hash);
    sqlite_db_bind_int64(st, 2, (int64_t)account_id);
    rc = sqlite_db_step_done(st, "password reset", &changed, err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "password reset: account is gone");
    int64_t v[] = {now_ms, (int64_t)account_id};
    if (rc == 0)
        rc = sqlite_db_exec_ids(db, SQL_USE_RESETS, v, 2, "password reset tokens", NULL, err);
    int64_t cut[] = {(int64_t)account_id, (int64_t)below_jti};
    if (rc == 0)
        rc = sqlite_db_exec_ids(db, SQL_CUTOFF, cut, 2, "password reset cut-off", NULL, err);
    struct outbox_change ch = {.row_id = account_id};
    if (rc == 0)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    return rc;
}

static int email_token_store_sqlite_use(void *ctx, enum email_token_kind kind, const char *hash,
                                        int64_t now_ms, const char *new_hash, uint64_t below_jti,
                                        const struct outbox_emit *emit, uint64_t *account_id,
                                        struct err *err)
{
    uint64_t id = 0;
    int rc = sqlite_db_begin(ctx, "email token use begin", err);
    if (rc != 0)
        return rc;
    rc = email_token_sqlite_check(ctx, kind, hash, now_ms, &id, err);
    if (rc == 0)
        rc = email_token_sqlite_apply(ctx, kind, hash, now_ms, new_hash, below_jti, emit, id, err);
    rc = sqlite_db_finish(ctx, rc, "email token use commit", err);
    if (rc == 0)
        *account_id = id;
    return rc;
}

static int email_token_store_sqlite_is_confirmed(void *ctx, uint64_t account_id, bool *confirmed,
                                                 struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_IS_CONFIRMED, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)account_id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW || src == SQLITE_DONE)
        *confirmed = src == SQLITE_ROW;
    else
        rc = sqlite_db_error(st, src, "email is_confirmed", err);
    sqlite_db_release(st);
    return rc;
}

static void email_token_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct email_token_store_ops email_token_store_sqlite_ops = {
    .insert = email_token_store_sqlite_insert,
    .use = email_token_store_sqlite_use,
    .is_confirmed = email_token_store_sqlite_is_confirmed,
    .close = email_token_store_sqlite_close,
};

struct email_token_store email_token_store_sqlite(struct sqlite_db *db)
{
    return (struct email_token_store){&email_token_store_sqlite_ops, db};
}
