/* account_store_pgsql.c - account store port on PostgreSQL (table accounts, migration 001).
 * Usernames are matched through lower(username), the expression of the unique index. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

#include <inttypes.h>

/* The order of AUTHOR_PGSQL_COLUMNS (stores_pgsql.h) and of account_store_pgsql_copy. */
#define ACCOUNT_COLUMNS                                                                            \
    "id, username, email, display_name, note, password_hash, locked, bot, discoverable, "          \
    "created_at_ms, statuses_count, followers_count, following_count, last_status_at_ms"

static const char SQL_INSERT[] =
    "INSERT INTO accounts (" ACCOUNT_COLUMNS ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
static const char SQL_GET[] = "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = $1";
static const char SQL_GET_MANY[] =
    "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ANY($1::bigint[])";
static const char SQL_GET_BY_USERNAME[] =
    "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE lower(username) = lower($1)";
static const char SQL_GET_BY_EMAIL[] = "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE email = $1";
static const char SQL_COUNT[] = "SELECT count(*) FROM accounts";
static const char SQL_STATUSES_TOTAL[] =
    "SELECT coalesce(sum(statuses_count), 0)::bigint FROM accounts";
static const char SQL_UPDATE_PROFILE[] =
    "UPDATE accounts SET display_name = $1, note = $2, locked = $3, bot = $4, discoverable = $5 "
    "WHERE id = $6";

static int account_store_pgsql_insert(void *ctx, const struct account *acct,
                                      const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    ASSERT(acct->username && acct->email && acct->password_hash);
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)acct->id);
    pgsql_params_text(&p, acct->username);
    pgsql_params_text(&p, acct->email);
    pgsql_params_text(&p, acct->display_name);
    pgsql_params_text(&p, acct->note);
    pgsql_params_text(&p, acct->password_hash);
    pgsql_params_bool(&p, acct->locked);
    pgsql_params_bool(&p, acct->bot);
    pgsql_params_bool(&p, acct->discoverable);
    pgsql_params_int64(&p, acct->created_at_ms);
    pgsql_params_int64(&p, acct->statuses_count);
    pgsql_params_int64(&p, acct->followers_count);
    pgsql_params_int64(&p, acct->following_count);
    pgsql_params_int64(&p, acct->last_status_at_ms);
    int rc = pgsql_db_begin(ctx, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query(ctx, SQL_INSERT, &p, NULL, NULL, "account insert", err);
    return outbox_pgsql_commit(ctx, rc, emit, &ch, err);
}

struct account *account_store_pgsql_copy(const struct pg_result *r, int row, int col,
                                         struct arena *a)
{
    if (pgsql_isnull(r, row, col))
        return NULL;
    struct account *acct = arena_alloc(a, sizeof(*acct));
    acct->id = (uint64_t)pgsql_int64(r, row, col + 0);
    acct->username = pgsql_text(r, row, col + 1, a);
    acct->email = pgsql_text(r, row, col + 2, a);
    acct->display_name = pgsql_text(r, row, col + 3, a);
    acct->note = pgsql_text(r, row, col + 4, a);
    acct->password_hash = pgsql_text(r, row, col + 5, a);
    acct->locked = pgsql_bool(r, row, col + 6);
    acct->bot = pgsql_bool(r, row, col + 7);
    acct->discoverable = pgsql_bool(r, row, col + 8);
    acct->created_at_ms = pgsql_int64(r, row, col + 9);
    acct->statuses_count = pgsql_int64(r, row, col + 10);
    acct->followers_count = pgsql_int64(r, row, col + 11);
    acct->following_count = pgsql_int64(r, row, col + 12);
    acct->last_status_at_ms = pgsql_int64(r, row, col + 13);
    return acct;
}

/* Runs sql (selecting ACCOUNT_COLUMNS) and copies its row into the arena. */
static int account_store_pgsql_row(struct pgsql_db *db, const char *sql,
                                   const struct pgsql_params *p, struct arena *a,
                                   struct account **out, const char *what, struct err *err)
{
    struct pg_result *r;
    int rc = pgsql_db_query_row(db, sql, p, &r, what, err);
    if (rc != 0)
        return rc;
    *out = account_store_pgsql_copy(r, 0, 0, a);
    pgsql_db_clear(r);
    return 0;
}

static int account_store_pgsql_get(void *ctx, uint64_t id, struct arena *a, struct account **out,
                                   struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    int rc = account_store_pgsql_row(ctx, SQL_GET, &p, a, out, "account get", err);
    if (rc == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", id);
    return rc;
}

static int account_store_pgsql_get_many(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                                        struct account **out, struct err *err)
{
    ASSERT(n <= ACCOUNT_STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0)
        return 0;
    char array[PGSQL_DB_ARRAY_IDS_LEN(ACCOUNT_STORE_BATCH_MAX)];
    pgsql_db_array_ids(array, ids, n);
    struct pgsql_params p = {0};
    pgsql_params_text(&p, array);
    struct pg_result *r;
    int rc = pgsql_db_query(ctx, SQL_GET_MANY, &p, &r, NULL, "account get_many", err);
    if (rc != 0)
        return rc;
    for (int row = 0; row < pgsql_ntuples(r); row++) {
        struct account *acct = account_store_pgsql_copy(r, row, 0, a);
        /* Every position asking for this id gets it (ids may repeat). */
        for (size_t i = 0; i < n; i++)
            if (ids[i] == acct->id)
                out[i] = acct;
    }
    pgsql_db_clear(r);
    return 0;
}

static int account_store_pgsql_get_by_username(void *ctx, const char *username, struct arena *a,
                                               struct account **out, struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_text(&p, username);
    return account_store_pgsql_row(ctx, SQL_GET_BY_USERNAME, &p, a, out, "account get_by_username",
                                   err);
}

static int account_store_pgsql_get_by_email(void *ctx, const char *email, struct arena *a,
                                            struct account **out, struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_text(&p, email);
    return account_store_pgsql_row(ctx, SQL_GET_BY_EMAIL, &p, a, out, "account get_by_email", err);
}

static int account_store_pgsql_update_profile(void *ctx, const struct account *acct,
                                              const struct outbox_emit *emit, struct err *err)
{
    struct outbox_change ch = {0};
    struct pgsql_params p = {0};
    pgsql_params_text(&p, acct->display_name);
    pgsql_params_text(&p, acct->note);
    pgsql_params_bool(&p, acct->locked);
    pgsql_params_bool(&p, acct->bot);
    pgsql_params_bool(&p, acct->discoverable);
    pgsql_params_int64(&p, (int64_t)acct->id);
    int64_t changed = 0;
    int rc = pgsql_db_begin(ctx, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query(ctx, SQL_UPDATE_PROFILE, &p, NULL, &changed, "account update", err);
    if (rc == 0 && changed == 0)
        rc = err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", acct->id);
    return outbox_pgsql_commit(ctx, rc, emit, &ch, err);
}

/* Runs a one-number query. */
static int account_store_pgsql_scalar(void *ctx, const char *sql, const char *what, int64_t *out,
                                      struct err *err)
{
    struct pg_result *r;
    int rc = pgsql_db_query(ctx, sql, NULL, &r, NULL, what, err);
    if (rc != 0)
        return rc;
    *out = pgsql_int64(r, 0, 0);
    pgsql_db_clear(r);
    return 0;
}

static int account_store_pgsql_count(void *ctx, int64_t *out, struct err *err)
{
    return account_store_pgsql_scalar(ctx, SQL_COUNT, "account count", out, err);
}

static int account_store_pgsql_statuses_total(void *ctx, int64_t *out, struct err *err)
{
    return account_store_pgsql_scalar(ctx, SQL_STATUSES_TOTAL, "statuses total", out, err);
}

static void account_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct account_store_ops account_store_pgsql_ops = {
    .insert = account_store_pgsql_insert,
    .get = account_store_pgsql_get,
    .get_many = account_store_pgsql_get_many,
    .get_by_username = account_store_pgsql_get_by_username,
    .get_by_email = account_store_pgsql_get_by_email,
    .update_profile = account_store_pgsql_update_profile,
    .count = account_store_pgsql_count,
    .statuses_total = account_store_pgsql_statuses_total,
    .close = account_store_pgsql_close,
};

struct account_store account_store_pgsql(struct pgsql_db *db)
{
    return (struct account_store){&account_store_pgsql_ops, db};
}
