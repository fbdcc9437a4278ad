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

/* Binding to a valid statement fails only for a wrong index or type: a bug. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    ASSERT(sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK);
}

static void bind_int64(sqlite3_stmt *st, int i, int64_t v)
{
    ASSERT(sqlite3_bind_int64(st, i, v) == SQLITE_OK);
}

static const char *column_text(sqlite3_stmt *st, int i, struct arena *a)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? arena_strndup(a, (const char *)s, (size_t)sqlite3_column_bytes(st, i)) : "";
}

static int app_store_sqlite_insert(void *ctx, const struct oauth_app *app, struct err *err)
{
    ASSERT(app->name && app->redirect_uris && app->scopes && app->client_id && app->client_secret);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_INSERT, &st, err);
    if (rc != 0)
        return rc;
    bind_int64(st, 1, (int64_t)app->id);
    bind_text(st, 2, app->name);
    bind_text(st, 3, app->website ? app->website : "");
    bind_text(st, 4, app->redirect_uris);
    bind_text(st, 5, app->scopes);
    bind_text(st, 6, app->client_id);
    bind_text(st, 7, app->client_secret);
    bind_int64(st, 8, app->created_at_ms);
    int src = sqlite3_step(st);
    rc = src == SQLITE_DONE ? 0 : sqlite_db_error(st, src, "app insert", err);
    sqlite_db_release(st);
    return rc;
}

/* Steps st (bound, selecting APP_COLUMNS) and copies the row into the arena. */
static int app_store_sqlite_row(sqlite3_stmt *st, struct arena *a, struct oauth_app **out,
                                const char *what, struct err *err)
{
    int rc = 0;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        struct oauth_app *app = arena_alloc(a, sizeof(*app));
        app->id = (uint64_t)sqlite3_column_int64(st, 0);
        app->name = column_text(st, 1, a);
        app->website = column_text(st, 2, a);
        app->redirect_uris = column_text(st, 3, a);
        app->scopes = column_text(st, 4, a);
        app->client_id = column_text(st, 5, a);
        app->client_secret = column_text(st, 6, a);
        app->created_at_ms = sqlite3_column_int64(st, 7);
        *out = app;
    } else if (src == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, "%s: not found", what);
    } else {
        rc = sqlite_db_error(st, src, what, err);
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
    bind_text(st, 1, client_id);
    return app_store_sqlite_row(st, a, out, "app get_by_client_id", err);
}

static int app_store_sqlite_get(void *ctx, uint64_t id, struct arena *a, struct oauth_app **out,
                                struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET, &st, err);
    if (rc != 0)
        return rc;
    bind_int64(st, 1, (int64_t)id);
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
