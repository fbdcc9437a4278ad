/* app_store_mem.c - OAuth app store port in memory: an array of owned copies under a mutex. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/stores_mem.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

struct app_store_mem {
    pthread_mutex_t mu;
    struct oauth_app *items; /* strings owned (xstrdup) */
    size_t n, cap;
};

static void app_copy_to_arena(const struct oauth_app *src, struct arena *a, struct oauth_app **out)
{
    struct oauth_app *dst = arena_alloc(a, sizeof(*dst));
    *dst = *src;
    dst->name = arena_strdup(a, src->name);
    dst->website = arena_strdup(a, src->website);
    dst->redirect_uris = arena_strdup(a, src->redirect_uris);
    dst->scopes = arena_strdup(a, src->scopes);
    dst->client_id = arena_strdup(a, src->client_id);
    dst->client_secret = arena_strdup(a, src->client_secret);
    *out = dst;
}

static int app_store_mem_insert(void *ctx, const struct oauth_app *app, struct err *err)
{
    struct app_store_mem *s = ctx;
    ASSERT(app->name && app->redirect_uris && app->scopes && app->client_id && app->client_secret);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i].id == app->id) {
            rc = err_set(err, ERR_CONFLICT, "app %" PRIu64 " exists", app->id);
            goto out;
        }
        if (strcmp(s->items[i].client_id, app->client_id) == 0) {
            rc = err_set(err, ERR_CONFLICT, "client_id is taken");
            goto out;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
    }
    struct oauth_app *dst = &s->items[s->n++];
    *dst = *app;
    dst->name = xstrdup(app->name);
    dst->website = xstrdup(app->website ? app->website : "");
    dst->redirect_uris = xstrdup(app->redirect_uris);
    dst->scopes = xstrdup(app->scopes);
    dst->client_id = xstrdup(app->client_id);
    dst->client_secret = xstrdup(app->client_secret);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int app_store_mem_get_by_client_id(void *ctx, const char *client_id, struct arena *a,
                                          struct oauth_app **out, struct err *err)
{
    struct app_store_mem *s = ctx;
    int rc = ERR_NOT_FOUND;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->items[i].client_id, client_id) == 0) {
            app_copy_to_arena(&s->items[i], a, out);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (rc)
        return err_set(err, ERR_NOT_FOUND, "no app with this client_id");
    return 0;
}

static int app_store_mem_get(void *ctx, uint64_t id, struct arena *a, struct oauth_app **out,
                             struct err *err)
{
    struct app_store_mem *s = ctx;
    int rc = ERR_NOT_FOUND;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i].id == id) {
            app_copy_to_arena(&s->items[i], a, out);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (rc)
        return err_set(err, ERR_NOT_FOUND, "app %" PRIu64 " not found", id);
    return 0;
}

static void app_store_mem_close(void *ctx)
{
    struct app_store_mem *s = ctx;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct oauth_app *o = &s->items[i];
        free((char *)o->name);
        free((char *)o->website);
        free((char *)o->redirect_uris);
        free((char *)o->scopes);
        free((char *)o->client_id);
        free((char *)o->client_secret);
    }
    free(s->items);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct app_store_ops app_store_mem_ops = {
    .insert = app_store_mem_insert,
    .get_by_client_id = app_store_mem_get_by_client_id,
    .get = app_store_mem_get,
    .close = app_store_mem_close,
};

struct app_store app_store_mem_new(void)
{
    struct app_store_mem *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    return (struct app_store){&app_store_mem_ops, s};
}
