/* social_http.c - follows, follow requests, relationships, follower lists, favourites lists
 * and account search (mastodon/documentation methods/accounts.md, methods/follow_requests.md,
 * methods/favourites.md, methods/search.md). */
#include "lib/base/id.h"
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/app/statuses.h"

#include <string.h>
#include <strings.h>

/* The use cases of the follow and follow request endpoints: each changes the relationship of
 * the viewer with one account, on or off (follow/unfollow, accept/reject). */
typedef int (*relationship_change_fn)(struct core *c, uint64_t viewer, uint64_t id, bool on,
                                      struct relationship *out, struct err *err);

static void send_relationship(struct http_res *res, uint64_t id, const struct relationship *rel)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    api_relationship_json(&w, id, rel);
    api_send_json(res, &b);
}

/* POST .../:id/<verb>: runs change for the authenticated viewer and account :id and answers
 * with the Relationship. */
static void change_relationship(struct http_req *req, struct http_res *res, struct api *api,
                                relationship_change_fn change, bool on)
{
    struct principal who;
    struct relationship rel;
    struct err err = {0};
    uint64_t id;
    if (!api_authenticate(api, req, res, "write:follows", true, &who) ||
        !api_path_id(req, res, &id))
        return;
    int rc = change(api->core, who.claims.account_id, id, on, &rel, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_relationship(res, id, &rel);
}

static void do_follow(struct http_req *req, struct http_res *res, void *ctx)
{
    change_relationship(req, res, ctx, social_follow, true);
}

static void do_unfollow(struct http_req *req, struct http_res *res, void *ctx)
{
    change_relationship(req, res, ctx, social_follow, false);
}

static void relationships(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct err err = {0};
    const char **ids;
    if (!api_authenticate(api, req, res, "read:follows", true, &who))
        return;
    size_t n = http_req_args(req, "id", &ids);
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    for (size_t i = 0; i < n && i < 80; i++) {
        uint64_t id;
        struct relationship rel;
        if (!id_parse(ids[i], &id))
            continue;
        int rc =
            social_store_relationship(&api->core->social, who.claims.account_id, id, &rel, &err);
        if (rc) {
            buf_release(&b);
            api_error(api, req, res, rc, &err);
            return;
        }
        api_relationship_json(&w, id, &rel);
    }
    jsonw_array_end(&w);
    api_send_json(res, &b);
}

/* An account list page from edges, with a Link header by edge row id. */
static void send_edges(struct api *api, struct http_req *req, struct http_res *res,
                       enum edge_kind kind, uint64_t of)
{
    struct page page;
    struct edge_list l;
    struct err err = {0};
    if (!api_page(req, res, &page, 40, 80))
        return;
    int rc = social_store_edges(&api->core->social, kind, of, &page, http_req_arena(req), &l, &err);
    if (rc) {
        api_error(api, req, res, rc, &err);
        return;
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    for (size_t i = 0; i < l.n; i++) {
        struct account *a;
        if (account_store_get(&api->core->accounts, l.items[i].account_id, http_req_arena(req), &a,
                              &err) == 0)
            api_account_json(&w, api, a, false);
    }
    jsonw_array_end(&w);
    if (l.n)
        api_link_header(api, req, res, l.items[0].id, l.items[l.n - 1].id);
    api_send_json(res, &b);
}

static void followers(struct http_req *req, struct http_res *res, void *ctx)
{
    uint64_t id;
    if (api_path_id(req, res, &id))
        send_edges(ctx, req, res, EDGES_FOLLOWERS, id);
}

static void following(struct http_req *req, struct http_res *res, void *ctx)
{
    uint64_t id;
    if (api_path_id(req, res, &id))
        send_edges(ctx, req, res, EDGES_FOLLOWING, id);
}

static void favourited_by(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct status *s;
    struct err err = {0};
    uint64_t id, viewer;
    if (!api_optional_viewer(api, req, res, &viewer) || !api_path_id(req, res, &id))
        return;
    int rc = statuses_get(api->core, viewer, id, http_req_arena(req), &s, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        send_edges(api, req, res, EDGES_FAVOURITED_BY, id);
}

static void follow_requests(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    if (api_authenticate(api, req, res, "read:follows", true, &who))
        send_edges(api, req, res, EDGES_FOLLOW_REQUESTS, who.claims.account_id);
}

static void authorize(struct http_req *req, struct http_res *res, void *ctx)
{
    change_relationship(req, res, ctx, social_answer_request, true);
}

static void reject(struct http_req *req, struct http_res *res, void *ctx)
{
    change_relationship(req, res, ctx, social_answer_request, false);
}

static void favourites(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct page page;
    struct status_list l;
    struct status_renderer r;
    struct err err = {0};
    uint64_t *ids;
    int rc;
    if (!api_authenticate(api, req, res, "read:favourites", true, &who) ||
        !api_page(req, res, &page, 20, 40))
        return;
    rc = social_store_favourites(&api->core->social, who.claims.account_id, &page,
                                 http_req_arena(req), &l, &ids, &err);
    if (rc) {
        api_error(api, req, res, rc, &err);
        return;
    }
    api_status_renderer_init(&r, api, req, who.claims.account_id);
    rc = api_status_list_json(&r, &l, &err);
    if (rc) {
        api_error(api, req, res, rc, &err);
    } else {
        if (l.n)
            api_link_header(api, req, res, ids[0], ids[l.n - 1]);
        api_status_renderer_send(&r, res);
    }
    api_status_renderer_release(&r);
}

/* Account search by exact username ("name", "@name", "name@our.domain"): enough for toot's
 * follow, unfollow and followers commands. Statuses and hashtags are not searched yet. */
static void search(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    const char *q = http_req_arg(req, "q");
    const char *type = http_req_arg(req, "type");
    if (!q || !*q) {
        http_res_error(res, 422, "Validation failed: q can't be blank");
        return;
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key(&w, "accounts");
    jsonw_array_begin(&w);
    if (!type || strcmp(type, "accounts") == 0) {
        char *name = arena_strdup(http_req_arena(req), q[0] == '@' ? q + 1 : q);
        char *at = strchr(name, '@');
        if (at && strcasecmp(at + 1, api->settings->domain) == 0)
            *at = '\0';
        struct account *a;
        int rc = strchr(name, '@') ? ERR_NOT_FOUND
                                   : account_store_get_by_username(&api->core->accounts, name,
                                                                   http_req_arena(req), &a, &err);
        if (rc == 0) {
            api_account_json(&w, api, a, false);
        } else if (rc != ERR_NOT_FOUND) {
            buf_release(&b);
            api_error(api, req, res, rc, &err);
            return;
        }
    }
    jsonw_array_end(&w);
    jsonw_key(&w, "statuses");
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_key(&w, "hashtags");
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    api_send_json(res, &b);
}

void social_http_register(struct http_server *s, struct api *api)
{
    api_route_write(s, api, HTTP_POST, "/api/v1/accounts/:id/follow", do_follow);
    api_route_write(s, api, HTTP_POST, "/api/v1/accounts/:id/unfollow", do_unfollow);
    http_route(s, HTTP_GET, "/api/v1/accounts/relationships", relationships, api);
    http_route(s, HTTP_GET, "/api/v1/accounts/:id/followers", followers, api);
    http_route(s, HTTP_GET, "/api/v1/accounts/:id/following", following, api);
    http_route(s, HTTP_GET, "/api/v1/statuses/:id/favourited_by", favourited_by, api);
    http_route(s, HTTP_GET, "/api/v1/follow_requests", follow_requests, api);
    api_route_write(s, api, HTTP_POST, "/api/v1/follow_requests/:id/authorize", authorize);
    api_route_write(s, api, HTTP_POST, "/api/v1/follow_requests/:id/reject", reject);
    http_route(s, HTTP_GET, "/api/v1/favourites", favourites, api);
    http_route(s, HTTP_GET, "/api/v2/search", search, api);
}
