/* event_encoder_http.c - the event_encoder port on the HTTP adapter's own renderer
 * (render.c): event snapshots are the Account and Status entities byte for byte as the API
 * sends them, because they are written by the same code. No store is called: the caller
 * hands over every account the entity shows. */
#include "lib/base/arena.h"
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/http/api.h"

static void event_encoder_http_account(void *ctx, const struct account *acct, struct buf *out)
{
    struct jsonw w;
    jsonw_init(&w, out);
    api_account_json(&w, ctx, acct, false);
}

static void event_encoder_http_status(void *ctx, const struct status *s,
                                      const struct account *author,
                                      const struct account *const *mentioned, struct buf *out)
{
    struct arena a;
    struct status_renderer r;
    struct err err = {0};
    arena_init(&a, 0);
    api_status_renderer_init_arena(&r, ctx, &a);
    api_status_renderer_know(&r, s->account_id, author);
    for (size_t i = 0; i < s->nmentions; i++)
        api_status_renderer_know(&r, s->mentions[i], mentioned[i]);
    /* Every account is known, so nothing is fetched and nothing can fail. */
    int rc = api_status_json(&r, s, false, &err);
    ASSERT(rc == 0);
    buf_append(out, r.out.data, r.out.len);
    api_status_renderer_release(&r);
    arena_release(&a);
}

static const struct event_encoder_ops event_encoder_http_ops = {
    .account = event_encoder_http_account,
    .status = event_encoder_http_status,
};

struct event_encoder event_encoder_http(struct api *api)
{
    return (struct event_encoder){&event_encoder_http_ops, api};
}
