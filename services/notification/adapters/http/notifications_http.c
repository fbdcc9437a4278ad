/* notifications_http.c - GET/POST /api/v1/notifications* and /api/v1/markers, with Mastodon's
 * entities, parameters, errors and Link headers (mastodon/documentation methods/notifications.md
 * and methods/markers.md). */
#include "services/notification/adapters/http/notifications_http.h"

#include "lib/auth/scope.h"
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/jsonw.h"
#include "lib/base/parse.h"
#include "services/notification/adapters/json/notification_json.h"
#include "services/notification/app/notifications.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- authentication and errors ---- */

static void error(struct notifications_http *api, struct http_req *req, struct http_res *res,
                  int code, const struct err *err)
{
    switch (code) {
    case ERR_NOT_FOUND:
        http_res_error(res, 404, "Record not found");
        return;
    case ERR_UNAVAILABLE:
        log_printf(api->log, LOG_WARN, http_req_id(req), "unavailable: %s", err ? err->msg : "");
        http_res_header(res, "Retry-After", "1");
        http_res_error(res, 503, "Service temporarily unavailable");
        return;
    default:
        log_printf(api->log, LOG_ERROR, http_req_id(req), "internal error: %s",
                   err ? err->msg : "");
        http_res_error(res, 500, "Internal server error");
    }
}

/* The caller's account id, from the bearer token (Authorization header, or the access_token
 * parameter), which must allow scope (or its parent: "read" covers "read:notifications").
 * On failure the response is set (401, 403, 422 for app-only tokens, 503) and 0 returned. */
static uint64_t authenticate(struct notifications_http *api, struct http_req *req,
                             struct http_res *res, const char *scope)
{
    const char *h = http_req_header(req, "Authorization");
    const char *token = NULL;
    struct err err = {0};
    struct access_token t;
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        token = h + 7;
    else if (!h)
        token = http_req_arg(req, "access_token");
    while (token && *token == ' ')
        token++;
    int rc = notif_authenticate(api->core, token, &t, &err);
    if (rc == ERR_FORBIDDEN) {
        http_res_header(res, "WWW-Authenticate",
                        "Bearer realm=\"Threadly\", error=\"invalid_token\"");
        http_res_error(res, 401, "The access token is invalid");
        return 0;
    }
    if (rc) {
        error(api, req, res, rc, &err);
        return 0;
    }
    if (!t.account_id) {
        http_res_error(res, 422, "This method requires an authenticated user");
        return 0;
    }
    if (!auth_scope_allows(t.scope, scope)) {
        http_res_error(res, 403, "This action is outside the authorized scopes");
        return 0;
    }
    return t.account_id;
}

static void send_json(struct http_res *res, struct buf *b)
{
    size_t len;
    char *body = buf_detach(b, &len);
    http_res_take(res, 200, "application/json; charset=utf-8", body, len);
}

static void send_empty(struct http_res *res)
{
    http_res_bytes(res, 200, "application/json; charset=utf-8", "{}", 2);
}

/* ---- entities ---- */

static void marker_json(struct jsonw *w, const struct marker *m)
{
    char iso[CLOCK_ISO_LEN];
    clock_format_iso(m->updated_at_ms, iso);
    jsonw_key(w, marker_timeline_name(m->timeline));
    jsonw_object_begin(w);
    jsonw_field_id(w, "last_read_id", m->last_read_id);
    jsonw_field_int(w, "version", m->version);
    jsonw_field_str(w, "updated_at", iso);
    jsonw_object_end(w);
}

/* ---- parameters ---- */

static bool id_arg(struct http_req *req, const char *name, uint64_t *out)
{
    const char *v = http_req_arg(req, name);
    *out = 0;
    return !v || !*v || id_parse(v, out);
}

/* Reads types[], exclude_types[], account_id and limit (clamped to 1..max_limit, def when
 * absent) into q; with paging, max_id, since_id and min_id too. False (422 set) when one is
 * malformed. */
static bool query(struct http_req *req, struct http_res *res, uint64_t who, bool paging,
                  int def_limit, int max_limit, struct notification_query *q)
{
    const char **types, **exclude;
    size_t nt = http_req_args(req, "types", &types);
    size_t ne = http_req_args(req, "exclude_types", &exclude);
    int64_t limit = def_limit;
    const char *l = http_req_arg(req, "limit");
    memset(q, 0, sizeof(*q));
    q->recipient_id = who;
    q->types = notification_types_mask(types, nt, exclude, ne);
    if (!id_arg(req, "account_id", &q->account_id) ||
        (paging &&
         (!id_arg(req, "max_id", &q->page.max_id) || !id_arg(req, "since_id", &q->page.since_id) ||
          !id_arg(req, "min_id", &q->page.min_id))) ||
        (l && *l && !parse_int64(l, INT64_MIN, INT64_MAX, &limit))) {
        http_res_error(res, 422,
                       "Validation failed: account_id, max_id, since_id, min_id and limit must "
                       "be numbers");
        return false;
    }
    /* Mastodon clamps rather than refuses. */
    q->page.limit = limit < 1 ? 1 : limit > max_limit ? max_limit : (int)limit;
    return true;
}

/* Percent-encodes what would break a Link URL (the idea of threadly's Link header). */
static void link_escape(struct buf *b, const char *s)
{
    for (const char *p = s; *p; p++)
        buf_appendf(b,
                    strchr("&=#+% \"<>", *p) || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e
                        ? "%%%02X"
                        : "%c",
                    (unsigned char)*p);
}

/* Mastodon's Link header for a non-empty page: next (older, max_id) first, then prev (newer,
 * min_id); the other query parameters are kept. */
static void link_header(struct notifications_http *api, struct http_req *req, struct http_res *res,
                        uint64_t newest, uint64_t oldest)
{
    struct buf keep = BUF_INIT, link = BUF_INIT;
    const struct http_kv *q;
    size_t n = http_req_query(req, &q);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(q[i].key, "max_id") || !strcmp(q[i].key, "min_id") ||
            !strcmp(q[i].key, "since_id") || !strcmp(q[i].key, "access_token"))
            continue;
        link_escape(&keep, q[i].key);
        buf_append_char(&keep, '=');
        link_escape(&keep, q[i].value ? q[i].value : "");
        buf_append_char(&keep, '&');
    }
    const char *path = http_req_path(req), *k = keep.data ? keep.data : "";
    buf_appendf(&link, "<%s%s?%smax_id=%llu>; rel=\"next\", <%s%s?%smin_id=%llu>; rel=\"prev\"",
                api->base_url, path, k, (unsigned long long)oldest, api->base_url, path, k,
                (unsigned long long)newest);
    http_res_header(res, "Link", arena_strdup(http_req_arena(req), link.data));
    buf_release(&keep);
    buf_release(&link);
}

/* ---- handlers ---- */

static void list_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "read:notifications");
    struct notification_query q;
    if (!who || !query(req, res, who, true, NOTIFICATION_LIMIT_DEFAULT, NOTIFICATION_LIMIT_MAX, &q))
        return;
    struct notification_list l;
    struct err err = {0};
    int rc = notif_list(api->core, &q, http_req_arena(req), &l, &err);
    if (rc) {
        error(api, req, res, rc, &err);
        return;
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    for (size_t i = 0; i < l.n; i++)
        notification_json_write(&w, &l.items[i]);
    jsonw_array_end(&w);
    if (l.n)
        link_header(api, req, res, l.items[0].id, l.items[l.n - 1].id);
    send_json(res, &b);
}

static bool path_id(struct http_req *req, struct http_res *res, uint64_t *id)
{
    if (id_parse(http_req_path_param(req, "id"), id))
        return true;
    http_res_error(res, 404, "Record not found");
    return false;
}

static void get_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "read:notifications"), id;
    if (!who || !path_id(req, res, &id))
        return;
    struct notification n;
    struct err err = {0};
    int rc = notif_get(api->core, who, id, http_req_arena(req), &n, &err);
    if (rc) {
        error(api, req, res, rc, &err);
        return;
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    notification_json_write(&w, &n);
    send_json(res, &b);
}

/* POST /api/v1/notifications/:id/dismiss, and the form the Mastodon documentation lists as
 * removed in 3.0, POST /api/v1/notifications/dismiss with `id`, which Mastodon.py 1.8 still
 * sends when it has not checked the server's version. */
static void dismiss_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "write:notifications"), id;
    if (!who)
        return;
    if (!http_req_path_param(req, "id")) {
        const char *v = http_req_arg(req, "id");
        if (!v || !id_parse(v, &id)) {
            http_res_error(res, 404, "Record not found");
            return;
        }
    } else if (!path_id(req, res, &id)) {
        return;
    }
    struct err err = {0};
    int rc = notif_dismiss(api->core, who, id, &err);
    if (rc)
        error(api, req, res, rc, &err);
    else
        send_empty(res);
}

static void clear_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "write:notifications");
    if (!who)
        return;
    struct err err = {0};
    int rc = notif_clear(api->core, who, &err);
    if (rc)
        error(api, req, res, rc, &err);
    else
        send_empty(res);
}

static void unread_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "read:notifications");
    struct notification_query q;
    if (!who || !query(req, res, who, false, NOTIFICATION_UNREAD_LIMIT_DEFAULT,
                       NOTIFICATION_UNREAD_LIMIT_MAX, &q))
        return;
    int64_t count;
    struct err err = {0};
    int rc = notif_unread_count(api->core, &q, &count, &err);
    if (rc) {
        error(api, req, res, rc, &err);
        return;
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_int(&w, "count", count);
    jsonw_object_end(&w);
    send_json(res, &b);
}

static const enum marker_timeline timelines[] = {MARKER_HOME, MARKER_NOTIFICATIONS};

static void markers_get_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "read:statuses");
    if (!who)
        return;
    const char **names;
    size_t n = http_req_args(req, "timeline", &names);
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    for (size_t k = 0; k < sizeof(timelines) / sizeof(timelines[0]); k++) {
        bool wanted = false;
        enum marker_timeline t;
        for (size_t i = 0; i < n; i++)
            wanted |= marker_timeline_parse(names[i], &t) && t == timelines[k];
        struct marker m;
        struct err err = {0};
        int rc = wanted ? notif_marker_get(api->core, who, timelines[k], &m, &err) : ERR_NOT_FOUND;
        if (rc == 0) {
            marker_json(&w, &m);
        } else if (rc != ERR_NOT_FOUND) {
            buf_release(&b);
            error(api, req, res, rc, &err);
            return;
        }
    }
    jsonw_object_end(&w);
    send_json(res, &b);
}

static void markers_post_handler(struct http_req *req, struct http_res *res, void *ctx)
{
    struct notifications_http *api = ctx;
    uint64_t who = authenticate(api, req, res, "write:statuses");
    if (!who)
        return;
    uint64_t ids[2];
    bool given[2];
    for (size_t k = 0; k < 2; k++) {
        char key[40];
        snprintf(key, sizeof(key), "%s[last_read_id]", marker_timeline_name(timelines[k]));
        const char *v = http_req_arg(req, key);
        given[k] = v != NULL;
        if (v && !id_parse(v, &ids[k])) {
            http_res_error(res, 422, "Validation failed: Last read id is not a number");
            return;
        }
    }
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    for (size_t k = 0; k < 2; k++) {
        if (!given[k])
            continue;
        struct marker m;
        struct err err = {0};
        int rc = notif_marker_set(api->core, who, timelines[k], ids[k], &m, &err);
        if (rc) {
            buf_release(&b);
            error(api, req, res, rc, &err);
            return;
        }
        marker_json(&w, &m);
    }
    jsonw_object_end(&w);
    send_json(res, &b);
}

void notifications_http_register(struct http_server *s, struct notifications_http *api)
{
    http_route(s, HTTP_GET, "/api/v1/notifications", list_handler, api);
    http_route(s, HTTP_GET, "/api/v1/notifications/unread_count", unread_handler, api);
    http_route(s, HTTP_GET, "/api/v1/notifications/:id", get_handler, api);
    http_route(s, HTTP_POST, "/api/v1/notifications/clear", clear_handler, api);
    http_route(s, HTTP_POST, "/api/v1/notifications/:id/dismiss", dismiss_handler, api);
    http_route(s, HTTP_POST, "/api/v1/notifications/dismiss", dismiss_handler, api);
    http_route(s, HTTP_GET, "/api/v1/markers", markers_get_handler, api);
    http_route(s, HTTP_POST, "/api/v1/markers", markers_post_handler, api);
}
