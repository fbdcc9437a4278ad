/* app_store_sqlite.c - OAuth app store port on SQLite (table oauth_apps, migration 001). */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <inttypes.h>
#include <sqlite3.h>

#define APP_COLUMNS                                                                                \
    "id, name, website, redirect_uris, scopes, client_id, client_secret, created_at_ms"

static const char SQL_INSERT[] =
    "INSERT INTO oauth_apps (" APP_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_GET[] = "SELECT " APP_COLUMNS " FROM oauth_apps WHERE id = ?";
static const char SQL_GET_BY_CLIENT_ID[] =
    "SELECT " APP_COLUMNS " FROM oauth_apps WHERE client_id = ?";

static int app_store_sqlite_insert(void *ctx, const struct oauth_app *app, struct err *err)
{
    ASSERT(app->name && app->redirect_uris && app->scopes && app->client_id && app->client_secret);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_INSERT, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)app->id);
    sqlite_db_bind_text(st, 2, app->name);
    sqlite_db_bind_text(st, 3, sqlite_db_or_empty(app->website));
    sqlite_db_bind_text(st, 4, app->redirect_uris);
    sqlite_db_bind_text(st, 5, app->scopes);
    sqlite_db_bind_text(st, 6, app->client_id);
    sqlite_db_bind_text(st, 7, app->client_secret);
    sqlite_db_bind_int64(st, 8, app->created_at_ms);
    return sqlite_db_step_done(st, "app insert", NULL, err);
}

/* Steps st (bound, selecting APP_COLUMNS) and copies the row into the arena. */
static int app_store_sqlite_row(sqlite3_stmt *st, struct arena *a, struct oauth_app **out,
                                const char *what, struct err *err)
{
    int rc = sqlite_db_step_row(st, what, err);
    if (rc == 0) {
        struct oauth_app *app = arena_alloc(a, sizeof(*app));
        app->id = (uint64_t)sqlite3_column_int64(st, 0);
        app->name = sqlite_db_column_text(st, 1, a);
        app->website = sqlite_db_column_text(st, 2, a);
        app->redirect_uris = sqlite_db_column_text(st, 3, a);
        app->scopes = sqlite_db_column_text(st, 4, a);
        app->client_id = sqlite_db_column_text(st, 5, a);
        app->client_secret = sqlite_db_column_text(st, 6, a);
        app->created_at_ms = sqlite3_column_int64(st, 7);
        *out = app;
    }
    sqlite_db_release(st);
    return rc;
}

static int app_store_sqlite_get_by_client_id(void *ctx, const char *client_id, struct arena *a,
                                             struct oauth_app **out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET_BY_CLIENT_ID, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, client_id);
    return app_store_sqlite_row(st, a, out, "app get_by_client_id", err);
}

static int app_store_sqlite_get(void *ctx, uint64_t id, struct arena *a, struct oauth_app **out,
                                struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = app_store_sqlite_row(st, a, out, "app get", err);
    if (rc == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "app %" PRIu64 " not found", id);
    return rc;
}

static void app_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct app_store_ops app_store_sqlite_ops = {
    .insert = app_store_sqlite_insert,
    .get_by_client_id = app_store_sqlite_get_by_client_id,
    .get = app_store_sqlite_get,
    .close = app_store_sqlite_close,
};

struct app_store app_store_sqlite(struct sqlite_db *db)
{
    return (struct app_store){&app_store_sqlite_ops, db};
}
