/* account_store_sqlite.c - account store port on SQLite (table accounts, migration 001).
 * Usernames are matched through lower(username), the expression of the unique index. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <inttypes.h>
#include <sqlite3.h>

#define ACCOUNT_COLUMNS                                                                            \
    "id, username, email, display_name, note, password_hash, locked, bot, discoverable, "          \
    "created_at_ms, statuses_count, followers_count, following_count, last_status_at_ms"

static const char SQL_INSERT[] =
    "INSERT INTO accounts (" ACCOUNT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_GET[] = "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?";
static const char SQL_GET_MANY[] =
    "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id IN (SELECT value FROM json_each(?))";
static const char SQL_GET_BY_USERNAME[] =
    "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE lower(username) = lower(?)";
static const char SQL_GET_BY_EMAIL[] = "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email = ?";
static const char SQL_COUNT[] = "SELECT count(*) FROM accounts";
static const char SQL_STATUSES_TOTAL[] = "SELECT coalesce(sum(statuses_count), 0) FROM accounts";
static const char SQL_UPDATE_PROFILE[] =
    "UPDATE accounts SET display_name = ?, note = ?, locked = ?, bot = ?, discoverable = ? "
    "WHERE id = ?";

static int account_store_sqlite_insert_row(struct sqlite_db *db, const struct account *acct,
                                           struct err *err)
{
    ASSERT(acct->username && acct->email && acct->password_hash);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_INSERT, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)acct->id);
    sqlite_db_bind_text(st, 2, acct->username);
    sqlite_db_bind_text(st, 3, acct->email);
    sqlite_db_bind_text(st, 4, sqlite_db_or_empty(acct->display_name));
    sqlite_db_bind_text(st, 5, sqlite_db_or_empty(acct->note));
    sqlite_db_bind_text(st, 6, acct->password_hash);
    sqlite_db_bind_int64(st, 7, acct->locked);
    sqlite_db_bind_int64(st, 8, acct->bot);
    sqlite_db_bind_int64(st, 9, acct->discoverable);
    sqlite_db_bind_int64(st, 10, acct->created_at_ms);
    sqlite_db_bind_int64(st, 11, acct->statuses_count);
    sqlite_db_bind_int64(st, 12, acct->followers_count);
    sqlite_db_bind_int64(st, 13, acct->following_count);
    sqlite_db_bind_int64(st, 14, acct->last_status_at_ms);
    return sqlite_db_step_done(st, "account insert", NULL, err);
}

static int account_store_sqlite_insert(void *ctx, const struct account *acct,
                                       const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    int rc = sqlite_db_begin(ctx, "account insert begin", err);
    if (rc != 0)
        return rc;
    rc = account_store_sqlite_insert_row(ctx, acct, err);
    if (rc == 0)
        rc = outbox_sqlite_write(ctx, emit, &ch, err);
    return sqlite_db_finish(ctx, rc, "account insert commit", err);
}

/* Copies the current row of st (selecting ACCOUNT_COLUMNS) into the arena. */
static struct account *account_store_sqlite_copy(sqlite3_stmt *st, struct arena *a)
{
    struct account *acct = arena_alloc(a, sizeof(*acct));
    acct->id = (uint64_t)sqlite3_column_int64(st, 0);
    acct->username = sqlite_db_column_text(st, 1, a);
    acct->email = sqlite_db_column_text(st, 2, a);
    acct->display_name = sqlite_db_column_text(st, 3, a);
    acct->note = sqlite_db_column_text(st, 4, a);
    acct->password_hash = sqlite_db_column_text(st, 5, a);
    acct->locked = sqlite3_column_int64(st, 6) != 0;
    acct->bot = sqlite3_column_int64(st, 7) != 0;
    acct->discoverable = sqlite3_column_int64(st, 8) != 0;
    acct->created_at_ms = sqlite3_column_int64(st, 9);
    acct->statuses_count = sqlite3_column_int64(st, 10);
    acct->followers_count = sqlite3_column_int64(st, 11);
    acct->following_count = sqlite3_column_int64(st, 12);
    acct->last_status_at_ms = sqlite3_column_int64(st, 13);
    return acct;
}

/* Steps st (bound, selecting ACCOUNT_COLUMNS) and copies the row into the arena. */
static int account_store_sqlite_row(sqlite3_stmt *st, struct arena *a, struct account **out,
                                    const char *what, struct err *err)
{
    int rc = sqlite_db_step_row(st, what, err);
    if (rc == 0)
        *out = account_store_sqlite_copy(st, a);
    sqlite_db_release(st);
    return rc;
}

static int account_store_sqlite_get(void *ctx, uint64_t id, struct arena *a, struct account **out,
                                    struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = account_store_sqlite_row(st, a, out, "account get", err);
    if (rc == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", id);
    return rc;
}

static int account_store_sqlite_get_many(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                                         struct account **out, struct err *err)
{
    ASSERT(n <= ACCOUNT_STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0)
        return 0;
    if (n == 1) {
        /* The point lookup: json_each would build a temporary table for one id. */
        int rc = account_store_sqlite_get(ctx, ids[0], a, &out[0], err);
        if (rc == ERR_NOT_FOUND)
            out[0] = NULL;
        return rc == ERR_NOT_FOUND ? 0 : rc;
    }
    char json[SQLITE_DB_JSON_IDS_LEN(ACCOUNT_STORE_BATCH_MAX)];
    sqlite_db_json_ids(json, ids, n);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET_MANY, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, json);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct account *acct = account_store_sqlite_copy(st, a);
        /* Every position asking for this id gets it (ids may repeat). */
        for (size_t i = 0; i < n; i++)
            if (ids[i] == acct->id)
                out[i] = acct;
    }
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "account get_many", err);
    sqlite_db_release(st);
    return rc;
}

static int account_store_sqlite_get_by_username(void *ctx, const char *username, struct arena *a,
                                                struct account **out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET_BY_USERNAME, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, username);
    return account_store_sqlite_row(st, a, out, "account get_by_username", err);
}

static int account_store_sqlite_get_by_email(void *ctx, const char *email, struct arena *a,
                                             struct account **out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET_BY_EMAIL, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, email);
    return account_store_sqlite_row(st, a, out, "account get_by_email", err);
}

static int account_store_sqlite_update_profile(void *ctx, const struct account *acct,
                                               const struct outbox_emit *emit, struct err *err)
{
    sqlite3_stmt *st;
    struct outbox_change ch = {0};
    int rc = sqlite_db_begin(ctx, "account update begin", err);
    if (rc != 0)
        return rc;
    rc = sqlite_db_stmt(ctx, SQL_UPDATE_PROFILE, &st, err);
    if (rc != 0)
        return sqlite_db_finish(ctx, rc, "account update commit", err);
    sqlite_db_bind_text(st, 1, sqlite_db_or_empty(acct->display_name));
    sqlite_db_bind_text(st, 2, sqlite_db_or_empty(acct->note));
    sqlite_db_bind_int64(st, 3, acct->locked);
    sqlite_db_bind_int64(st, 4, acct->bot);
    sqlite_db_bind_int64(st, 5, acct->discoverable);
    sqlite_db_bind_int64(st, 6, (int64_t)acct->id);
    int changed = 0;
    rc = sqlite_db_step_done(st, "account update", &changed, err);
    if (rc == 0 && changed == 0)
        rc = err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", acct->id);
    if (rc == 0)
        rc = outbox_sqlite_write(ctx, emit, &ch, err);
    return sqlite_db_finish(ctx, rc, "account update commit", err);
}

/* Runs a one-number query. */
static int account_store_sqlite_scalar(void *ctx, const char *sql, const char *what, int64_t *out,
                                       struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, sql, &st, err);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = sqlite_db_error(st, src, what, err);
    sqlite_db_release(st);
    return rc;
}

static int account_store_sqlite_count(void *ctx, int64_t *out, struct err *err)
{
    return account_store_sqlite_scalar(ctx, SQL_COUNT, "account count", out, err);
}

static int account_store_sqlite_statuses_total(void *ctx, int64_t *out, struct err *err)
{
    return account_store_sqlite_scalar(ctx, SQL_STATUSES_TOTAL, "statuses total", out, err);
}

static void account_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct account_store_ops account_store_sqlite_ops = {
    .insert = account_store_sqlite_insert,
    .get = account_store_sqlite_get,
    .get_many = account_store_sqlite_get_many,
    .get_by_username = account_store_sqlite_get_by_username,
    .get_by_email = account_store_sqlite_get_by_email,
    .update_profile = account_store_sqlite_update_profile,
    .count = account_store_sqlite_count,
    .statuses_total = account_store_sqlite_statuses_total,
    .close = account_store_sqlite_close,
};

struct account_store account_store_sqlite(struct sqlite_db *db)
{
    return (struct account_store){&account_store_sqlite_ops, db};
}
