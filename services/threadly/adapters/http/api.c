/* api.c - authentication, error mapping and the Account entity for the Mastodon API. */
#include "services/threadly/adapters/http/api.h"

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/ratelimit.h"
#include "lib/base/xalloc.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool api_authenticate(struct api *api, struct http_req *req, struct http_res *res,
                      const char *scope, bool user_required, struct principal *out)
{
    const char *h = http_req_header(req, "Authorization");
    const char *token = NULL;
    struct err err = {0};
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        token = h + 7;
    else if (!h)
        token = http_req_arg(req, "access_token");
    while (token && *token == ' ')
        token++;
    int rc = auth_authenticate(api->core, token, out, &err);
    if (rc == ERR_FORBIDDEN) {
        http_res_header(res, "WWW-Authenticate",
                        "Bearer realm=\"Threadly\", error=\"invalid_token\"");
        http_res_error(res, 401, "The access token is invalid");
        return false;
    }
    if (rc) {
        api_error(api, req, res, rc, &err);
        return false;
    }
    if (user_required && out->claims.account_id == 0) {
        http_res_error(res, 422, "This method requires an authenticated user");
        return false;
    }
    if (scope && !oauth_scope_allows(out->claims.scope, scope)) {
        http_res_error(res, 403, "This action is outside the authorized scopes");
        return false;
    }
    return true;
}

bool api_optional_viewer(struct api *api, struct http_req *req, struct http_res *res,
                         uint64_t *viewer)
{
    struct principal who;
    *viewer = 0;
    if (!http_req_header(req, "Authorization") && !http_req_arg(req, "access_token"))
        return true;
    if (!api_authenticate(api, req, res, "read:statuses", false, &who))
        return false;
    *viewer = who.claims.account_id;
    return true;
}

bool api_path_id(struct http_req *req, struct http_res *res, uint64_t *id)
{
    if (id_parse(http_req_path_param(req, "id"), id))
        return true;
    http_res_error(res, 404, "Record not found");
    return false;
}

void api_validation_error(struct http_res *res, const struct validation *v)
{
    struct buf msg = BUF_INIT;
    json_t *details = json_object();
    buf_append_str(&msg, "Validation failed: ");
    for (size_t i = 0; i < v->n; i++) {
        const struct validation_item *it = &v->items[i];
        json_t *list = json_object_get(details, it->field);
        if (!list) {
            list = json_array();
            json_object_set_new(details, it->field, list);
        }
        json_array_append_new(
            list, json_pack("{s:s, s:s}", "error", it->code, "description", it->description));
        /* "Username is already taken" */
        buf_appendf(&msg, "%s%c%s %s", i ? ", " : "", it->field[0] - 32, it->field + 1,
                    it->description);
    }
    for (char *p = msg.data; *p; p++)
        if (*p == '_')
            *p = ' ';
    json_t *body = json_pack("{s:s, s:o}", "error", msg.data, "details", details);
    buf_release(&msg);
    http_res_json(res, 422, body);
}

void api_error(struct api *api, struct http_req *req, struct http_res *res, int code,
               const struct err *err)
{
    switch (code) {
    case ERR_NOT_FOUND:
        http_res_error(res, 404, "Record not found");
        return;
    case ERR_FORBIDDEN:
        http_res_error(res, 403, "This action is not allowed");
        return;
    case ERR_CONFLICT:
        http_res_error(res, 409, "Conflict");
        return;
    case ERR_INVALID:
        http_res_error(res, 422, "Validation failed");
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

/* Plain text as Mastodon's HTML: escaped, paragraphs on blank lines, <br> on single ones. */
static char *text_to_html(const char *text)
{
    struct buf b = BUF_INIT;
    if (!*text)
        return buf_detach(&b, NULL);
    buf_append_str(&b, "<p>");
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        buf_append_html(&b, p, n);
        if (!nl)
            break;
        if (nl[1] == '\n') {
            buf_append_str(&b, "</p><p>");
            while (nl[1] == '\n')
                nl++;
        } else {
            buf_append_str(&b, "<br>");
        }
        p = nl + 1;
    }
    buf_append_str(&b, "</p>");
    return buf_detach(&b, NULL);
}

json_t *api_account_json(const struct api *api, const struct account *a, bool with_source)
{
    char id[ID_STR_LEN], created[CLOCK_ISO_LEN], last[11];
    const char *base = api->settings->base_url;
    id_format(a->id, id);
    clock_format_iso(a->created_at_ms, created);
    char *note = text_to_html(a->note);
    char *url = NULL, *uri = NULL, *img = NULL;
    size_t n = strlen(base) + strlen(a->username) + 32;
    url = xmalloc(n), uri = xmalloc(n), img = xmalloc(n);
    snprintf(url, n, "%s/@%s", base, a->username);
    snprintf(uri, n, "%s/users/%s", base, a->username);
    snprintf(img, n, "%s/images/default.png", base);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
        " s:I, s:I, s:I, s:[], s:[]}",
        "id", id, "username", a->username, "acct", a->username, "display_name", a->display_name,
        "locked", a->locked, "bot", a->bot, "discoverable", a->discoverable, "group", 0,
        "created_at", created, "note", note, "url", url, "uri", uri, "avatar", img, "avatar_static",
        img, "header", img, "header_static", img, "followers_count", (json_int_t)a->followers_count,
        "following_count", (json_int_t)a->following_count, "statuses_count",
        (json_int_t)a->statuses_count, "emojis", "fields");
    if (a->last_status_at_ms) {
        clock_format_date(a->last_status_at_ms, last);
        json_object_set_new(j, "last_status_at", json_string(last));
    } else {
        json_object_set_new(j, "last_status_at", json_null());
    }
    if (with_source)
        json_object_set_new(j, "source",
                            json_pack("{s:s, s:b, s:s, s:s, s:[], s:i}", "privacy", "public",
                                      "sensitive", 0, "language", "", "note", a->note, "fields",
                                      "follow_requests_count", 0));
    free(note);
    free(url);
    free(uri);
    free(img);
    return j;
}

bool api_rate_limit(struct api *api, struct ratelimit *rl, struct http_req *req,
                    struct http_res *res)
{
    struct ratelimit_state st;
    if (!rl)
        return true;
    bool ok = ratelimit_hit(rl, http_req_client_ip(req), clock_now_ms(api->core->clock), &st);
    struct arena *a = http_req_arena(req);
    char *reset = arena_alloc(a, CLOCK_ISO_LEN);
    clock_format_iso(st.reset_ms, reset);
    http_res_header(res, "X-RateLimit-Limit", arena_sprintf(a, "%d", st.limit));
    http_res_header(res, "X-RateLimit-Remaining", arena_sprintf(a, "%d", st.remaining));
    http_res_header(res, "X-RateLimit-Reset", reset);
    if (!ok)
        http_res_error(res, 429, "Too many requests");
    return ok;
}
