/* app_store.h - port: OAuth applications registered with POST /api/v1/apps.
 * Adapters: mem (tests), sqlite, pgsql. Thread-safe; results in the caller's arena. */
#ifndef SERVICES_THREADLY_PORTS_APP_STORE_H
#define SERVICES_THREADLY_PORTS_APP_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/threadly/domain/oauth.h"

struct app_store_ops {
    /* Stores *app. ERR_CONFLICT if the id or client_id is taken. */
    int (*insert)(void *ctx, const struct oauth_app *app, struct err *err);
    /* Loads the app with this client_id. ERR_NOT_FOUND if absent. */
    int (*get_by_client_id)(void *ctx, const char *client_id, struct arena *a,
                            struct oauth_app **out, struct err *err);
    /* Loads app `id`. ERR_NOT_FOUND if absent. */
    int (*get)(void *ctx, uint64_t id, struct arena *a, struct oauth_app **out, struct err *err);
    void (*close)(void *ctx);
};

struct app_store {
    const struct app_store_ops *ops;
    void *ctx;
};

static inline int app_store_insert(struct app_store *s, const struct oauth_app *app,
                                   struct err *err)
{
    return s->ops->insert(s->ctx, app, err);
}

static inline int app_store_get_by_client_id(struct app_store *s, const char *client_id,
                                             struct arena *a, struct oauth_app **out,
                                             struct err *err)
{
    return s->ops->get_by_client_id(s->ctx, client_id, a, out, err);
}

static inline int app_store_get(struct app_store *s, uint64_t id, struct arena *a,
                                struct oauth_app **out, struct err *err)
{
    return s->ops->get(s->ctx, id, a, out, err);
}

static inline void app_store_close(struct app_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
