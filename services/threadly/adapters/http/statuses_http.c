/* statuses_http.c - statuses, threads, favourites and timelines (mastodon/documentation
 * methods/statuses.md, methods/timelines.md, methods/favourites.md). */
#include "lib/base/id.h"
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/app/statuses.h"

#include <string.h>

static void send_status(struct api *api, struct http_req *req, struct http_res *res,
                        uint64_t viewer, const struct status *s, bool with_text)
{
    struct status_renderer r;
    struct err err = {0};
    api_status_renderer_init(&r, api, req, viewer);
    int rc = api_status_json(&r, s, with_text, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        api_status_renderer_send(&r, res);
    api_status_renderer_release(&r);
}

static void send_list(struct api *api, struct http_req *req, struct http_res *res, uint64_t viewer,
                      const struct status_list *l)
{
    struct status_renderer r;
    struct err err = {0};
    api_status_renderer_init(&r, api, req, viewer);
    int rc = api_status_list_json(&r, l, &err);
    if (rc) {
        api_error(api, req, res, rc, &err);
    } else {
        if (l->n)
            api_link_header(api, req, res, l->items[0].id, l->items[l->n - 1].id);
        api_status_renderer_send(&r, res);
    }
    api_status_renderer_release(&r);
}

static void post_status(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct validation v = {0};
    struct err err = {0};
    struct status *s;
    bool ok = true;
    uint64_t reply_to = 0;
    if (!api_authenticate(api, req, res, "write:statuses", true, &who))
        return;
    const char *reply = http_req_arg(req, "in_reply_to_id");
    if (reply && *reply && !id_parse(reply, &reply_to)) {
        http_res_error(res, 404, "Record not found");
        return;
    }
    const char **media;
    if (http_req_args(req, "media_ids", &media) > 0) {
        http_res_error(res, 422, "Validation failed: media attachments are not supported yet");
        return;
    }
    if (http_req_arg(req, "poll[options]") || http_req_arg(req, "scheduled_at")) {
        http_res_error(res, 422,
                       "Validation failed: polls and scheduled statuses are not "
                       "supported yet");
        return;
    }
    struct post_request r = {http_req_arg(req, "status"),
                             http_req_arg(req, "visibility"),
                             reply_to,
                             http_req_arg(req, "spoiler_text"),
                             http_req_arg_bool(req, "sensitive", false, &ok),
                             http_req_arg(req, "language"),
                             http_req_header(req, "Idempotency-Key")};
    if (!ok)
        validation_add(&v, "sensitive", "ERR_INVALID", "is not a boolean");
    int rc = validation_ok(&v) ? statuses_post(api->core, who.claims.account_id, &r,
                                               http_req_arena(req), &s, &v, &err)
                               : ERR_INVALID;
    if (!validation_ok(&v))
        api_validation_error(res, &v);
    else if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_status(api, req, res, who.claims.account_id, s, false);
}

static void get_status(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    struct status *s;
    uint64_t viewer, id;
    if (!api_optional_viewer(api, req, res, &viewer) || !api_path_id(req, res, &id))
        return;
    int rc = statuses_get(api->core, viewer, id, http_req_arena(req), &s, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_status(api, req, res, viewer, s, false);
}

static void delete_status(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct err err = {0};
    struct status *s;
    uint64_t id;
    if (!api_authenticate(api, req, res, "write:statuses", true, &who) ||
        !api_path_id(req, res, &id))
        return;
    int rc = statuses_delete(api->core, who.claims.account_id, id, http_req_arena(req), &s, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_status(api, req, res, who.claims.account_id, s, true);
}

static void context(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    struct status_list up, down;
    struct status_renderer r;
    uint64_t viewer, id;
    if (!api_optional_viewer(api, req, res, &viewer) || !api_path_id(req, res, &id))
        return;
    int rc = statuses_context(api->core, viewer, id, http_req_arena(req), &up, &down, &err);
    if (rc) {
        api_error(api, req, res, rc, &err);
        return;
    }
    api_status_renderer_init(&r, api, req, viewer);
    jsonw_object_begin(&r.w);
    jsonw_key(&r.w, "ancestors");
    rc = api_status_list_json(&r, &up, &err);
    if (rc == 0) {
        jsonw_key(&r.w, "descendants");
        rc = api_status_list_json(&r, &down, &err);
    }
    if (rc) {
        api_error(api, req, res, rc, &err);
    } else {
        jsonw_object_end(&r.w);
        api_status_renderer_send(&r, res);
    }
    api_status_renderer_release(&r);
}

static void favourite(struct http_req *req, struct http_res *res, struct api *api, bool on)
{
    struct principal who;
    struct err err = {0};
    struct status *s;
    uint64_t id;
    if (!api_authenticate(api, req, res, "write:favourites", true, &who) ||
        !api_path_id(req, res, &id))
        return;
    int rc =
        statuses_favourite(api->core, who.claims.account_id, id, on, http_req_arena(req), &s, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_status(api, req, res, who.claims.account_id, s, false);
}

static void do_favourite(struct http_req *req, struct http_res *res, void *ctx)
{
    favourite(req, res, ctx, true);
}

static void do_unfavourite(struct http_req *req, struct http_res *res, void *ctx)
{
    favourite(req, res, ctx, false);
}

static void timeline(struct http_req *req, struct http_res *res, struct api *api,
                     struct timeline_query *q, uint64_t viewer)
{
    struct status_list l;
    struct err err = {0};
    if (!api_page(req, res, &q->page, 20, 40))
        return;
    int rc = statuses_timeline(api->core, q, http_req_arena(req), &l, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_list(api, req, res, viewer, &l);
}

static void home(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    if (!api_authenticate(api, req, res, "read:statuses", true, &who))
        return;
    struct timeline_query q = {.kind = TIMELINE_HOME, .viewer_id = who.claims.account_id};
    timeline(req, res, api, &q, who.claims.account_id);
}

static void public_timeline(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    uint64_t viewer;
    bool ok = true;
    if (!api_optional_viewer(api, req, res, &viewer))
        return;
    /* Every account is local, so local=true and remote=false change nothing; remote=true
     * (only statuses from other servers) is empty. */
    bool remote = http_req_arg_bool(req, "remote", false, &ok);
    http_req_arg_bool(req, "local", false, &ok);
    if (!ok) {
        http_res_error(res, 422, "Validation failed: local and remote must be booleans");
        return;
    }
    if (remote) {
        http_res_json(res, 200, json_array());
        return;
    }
    struct timeline_query q = {.kind = TIMELINE_PUBLIC, .viewer_id = viewer};
    timeline(req, res, api, &q, viewer);
}

static void account_statuses(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    struct account *acct;
    uint64_t viewer, id;
    bool ok = true;
    if (!api_optional_viewer(api, req, res, &viewer) || !api_path_id(req, res, &id))
        return;
    int rc = account_store_get(&api->core->accounts, id, http_req_arena(req), &acct, &err);
    if (rc) {
        api_error(api, req, res, rc, &err);
        return;
    }
    bool exclude_replies = http_req_arg_bool(req, "exclude_replies", false, &ok);
    bool pinned = http_req_arg_bool(req, "pinned", false, &ok);
    bool only_media = http_req_arg_bool(req, "only_media", false, &ok);
    if (!ok) {
        http_res_error(res, 422, "Validation failed: flags must be booleans");
        return;
    }
    if (pinned || only_media || http_req_arg(req, "tagged")) {
        /* Nothing can be pinned or carry media yet. */
        http_res_json(res, 200, json_array());
        return;
    }
    struct timeline_query q = {.kind = TIMELINE_ACCOUNT,
                               .account_id = id,
                               .viewer_id = viewer,
                               .exclude_replies = exclude_replies};
    timeline(req, res, api, &q, viewer);
}

void statuses_http_register(struct http_server *s, struct api *api)
{
    api_route_write(s, api, HTTP_POST, "/api/v1/statuses", post_status);
    http_route(s, HTTP_GET, "/api/v1/statuses/:id", get_status, api);
    api_route_write(s, api, HTTP_DELETE, "/api/v1/statuses/:id", delete_status);
    http_route(s, HTTP_GET, "/api/v1/statuses/:id/context", context, api);
    api_route_write(s, api, HTTP_POST, "/api/v1/statuses/:id/favourite", do_favourite);
    api_route_write(s, api, HTTP_POST, "/api/v1/statuses/:id/unfavourite", do_unfavourite);
    http_route(s, HTTP_GET, "/api/v1/timelines/home", home, api);
    http_route(s, HTTP_GET, "/api/v1/timelines/public", public_timeline, api);
    http_route(s, HTTP_GET, "/api/v1/accounts/:id/statuses", account_statuses, api);
}
