/* app_store_pgsql.c - OAuth app store port on PostgreSQL (table oauth_apps, migration 001). */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

#include <inttypes.h>

#define APP_COLUMNS                                                                                \
    "id, name, website, redirect_uris, scopes, client_id, client_secret, created_at_ms"

static const char SQL_INSERT[] =
    "INSERT INTO oauth_apps (" APP_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char SQL_GET[] = "SELECT " APP_COLUMNS " FROM oauth_apps WHERE id = $1";
static const char SQL_GET_BY_CLIENT_ID[] =
    "SELECT " APP_COLUMNS " FROM oauth_apps WHERE client_id = $1";

static int app_store_pgsql_insert(void *ctx, const struct oauth_app *app, struct err *err)
{
    ASSERT(app->name && app->redirect_uris && app->scopes && app->client_id && app->client_secret);
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)app->id);
    pgsql_params_text(&p, app->name);
    pgsql_params_text(&p, app->website);
    pgsql_params_text(&p, app->redirect_uris);
    pgsql_params_text(&p, app->scopes);
    pgsql_params_text(&p, app->client_id);
    pgsql_params_text(&p, app->client_secret);
    pgsql_params_int64(&p, app->created_at_ms);
    return pgsql_db_query(ctx, SQL_INSERT, &p, NULL, NULL, "app insert", err);
}

/* Runs sql (selecting APP_COLUMNS) and copies its row into the arena. */
static int app_store_pgsql_row(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                               struct arena *a, struct oauth_app **out, const char *what,
                               struct err *err)
{
    struct pg_result *r;
    int rc = pgsql_db_query_row(db, sql, p, &r, what, err);
    if (rc != 0)
        return rc;
    struct oauth_app *app = arena_alloc(a, sizeof(*app));
    app->id = (uint64_t)pgsql_int64(r, 0, 0);
    app->name = pgsql_text(r, 0, 1, a);
    app->website = pgsql_text(r, 0, 2, a);
    app->redirect_uris = pgsql_text(r, 0, 3, a);
    app->scopes = pgsql_text(r, 0, 4, a);
    app->client_id = pgsql_text(r, 0, 5, a);
    app->client_secret = pgsql_text(r, 0, 6, a);
    app->created_at_ms = pgsql_int64(r, 0, 7);
    pgsql_db_clear(r);
    *out = app;
    return 0;
}

static int app_store_pgsql_get_by_client_id(void *ctx, const char *client_id, struct arena *a,
                                            struct oauth_app **out, struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_text(&p, client_id);
    return app_store_pgsql_row(ctx, SQL_GET_BY_CLIENT_ID, &p, a, out, "app get_by_client_id", err);
}

static int app_store_pgsql_get(void *ctx, uint64_t id, struct arena *a, struct oauth_app **out,
                               struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    int rc = app_store_pgsql_row(ctx, SQL_GET, &p, a, out, "app get", err);
    if (rc == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "app %" PRIu64 " not found", id);
    return rc;
}

static void app_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct app_store_ops app_store_pgsql_ops = {
    .insert = app_store_pgsql_insert,
    .get_by_client_id = app_store_pgsql_get_by_client_id,
    .get = app_store_pgsql_get,
    .close = app_store_pgsql_close,
};

struct app_store app_store_pgsql(struct pgsql_db *db)
{
    return (struct app_store){&app_store_pgsql_ops, db};
}
