/* api.c - authentication, error mapping and the Account entity for the Mastodon API. */
#include "services/threadly/adapters/http/api.h"

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/id.h"
#include "lib/base/jsonw.h"
#include "lib/base/ratelimit.h"

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
    if (user_required && out->email_unconfirmed) {
        /* Mastodon's require_user! for a user who has not confirmed the email. */
        http_res_error(res, 403, "Your login is missing a confirmed e-mail address");
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

void api_send_json(struct http_res *res, struct buf *b)
{
    size_t len;
    char *body = buf_detach(b, &len);
    http_res_take(res, 200, "application/json; charset=utf-8", body, len);
}

void api_url(struct jsonw *w, const char *base, const char *a, const char *b, const char *c)
{
    const char *parts[] = {base, a, b, c};
    jsonw_str_begin(w);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (parts[i])
            jsonw_str_part(w, parts[i], strlen(parts[i]));
    jsonw_str_end(w);
}

static void emit_part(void *ctx, const char *p, size_t len)
{
    jsonw_str_part(ctx, p, len);
}

/* s[0..n) HTML-escaped, as parts of the JSON string being written. */
static void html_part(struct jsonw *w, const char *s, size_t n)
{
    html_escape(s, n, emit_part, w);
}

/* Plain text as Mastodon's HTML, written as a JSON string: escaped, paragraphs on blank lines,
 * <br> on single ones. */
static void text_to_html(struct jsonw *w, const char *text)
{
    jsonw_str_begin(w);
    if (!*text) {
        jsonw_str_end(w);
        return;
    }
    jsonw_str_part(w, "<p>", 3);
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        html_part(w, p, n);
        if (!nl)
            break;
        if (nl[1] == '\n') {
            jsonw_str_part(w, "</p><p>", 7);
            while (nl[1] == '\n')
                nl++;
        } else {
            jsonw_str_part(w, "<br>", 4);
        }
        p = nl + 1;
    }
    jsonw_str_part(w, "</p>", 4);
    jsonw_str_end(w);
}

void api_account_json(struct jsonw *w, const struct api *api, const struct account *a,
                      bool with_source)
{
    static const char *const images[] = {"avatar", "avatar_static", "header", "header_static"};
    const char *base = api->settings->base_url;
    char created[CLOCK_ISO_LEN];
    clock_format_iso(a->created_at_ms, created);
    jsonw_object_begin(w);
    jsonw_field_id(w, "id", a->id);
    jsonw_field_str(w, "username", a->username);
    jsonw_field_str(w, "acct", a->username);
    jsonw_field_str(w, "display_name", a->display_name);
    jsonw_field_bool(w, "locked", a->locked);
    jsonw_field_bool(w, "bot", a->bot);
    jsonw_field_bool(w, "discoverable", a->discoverable);
    jsonw_field_bool(w, "group", false);
    jsonw_field_str(w, "created_at", created);
    jsonw_key(w, "note");
    text_to_html(w, a->note);
    jsonw_key(w, "url");
    api_url(w, base, "/@", a->username, NULL);
    jsonw_key(w, "uri");
    api_url(w, base, "/users/", a->username, NULL);
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
        jsonw_key(w, images[i]);
        api_url(w, base, "/images/default.png", NULL, NULL);
    }
    jsonw_field_int(w, "followers_count", a->followers_count);
    jsonw_field_int(w, "following_count", a->following_count);
    jsonw_field_int(w, "statuses_count", a->statuses_count);
    jsonw_key(w, "emojis");
    jsonw_array_begin(w);
    jsonw_array_end(w);
    jsonw_key(w, "fields");
    jsonw_array_begin(w);
    jsonw_array_end(w);
    if (a->last_status_at_ms) {
        char last[11];
        clock_format_date(a->last_status_at_ms, last);
        jsonw_field_str(w, "last_status_at", last);
    } else {
        jsonw_field_null(w, "last_status_at");
    }
    if (with_source) {
        jsonw_key(w, "source");
        jsonw_object_begin(w);
        jsonw_field_str(w, "privacy", "public");
        jsonw_field_bool(w, "sensitive", false);
        jsonw_field_str(w, "language", "");
        jsonw_field_str(w, "note", a->note);
        jsonw_key(w, "fields");
        jsonw_array_begin(w);
        jsonw_array_end(w);
        jsonw_field_int(w, "follow_requests_count", 0);
        jsonw_object_end(w);
    }
    jsonw_object_end(w);
}

void api_send_account(struct api *api, struct http_res *res, const struct account *a,
                      bool with_source)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    api_account_json(&w, api, a, with_source);
    api_send_json(res, &b);
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

void api_route_write(struct http_server *s, struct api *api, unsigned methods, const char *pattern,
                     http_handler_fn fn)
{
    if (api->writes_blocking)
        http_route_blocking(s, methods, pattern, fn, api);
    else
        http_route(s, methods, pattern, fn, api);
}
