/* mail_http.c - email preferences (JSON, bearer token) and the unsubscribe page (HTML, the
 * link's token is the only credential; no cookie is read or set). */
#include "services/notification/adapters/http/mail_http.h"

#include "lib/auth/scope.h"
#include "lib/base/buf.h"
#include "lib/base/jsonw.h"
#include "services/notification/app/notifications.h"

#include <string.h>
#include <strings.h>

static void unavailable(struct mail_http *api, struct http_req *req, struct http_res *res,
                        const struct err *err)
{
    log_printf(api->log, LOG_WARN, http_req_id(req), "mail: %s", err->msg);
    http_res_header(res, "Retry-After", "1");
    http_res_error(res, 503, "Service temporarily unavailable");
}

/* The caller's account id (as notifications_http.c does), 0 with the response set. */
static uint64_t authenticate(struct mail_http *api, struct http_req *req, struct http_res *res,
                             const char *scope)
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
        unavailable(api, req, res, &err);
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

static void prefs_json(struct http_res *res, const struct mail_prefs *p)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_bool(&w, "follow", p->follow);
    jsonw_field_bool(&w, "mention", p->mention);
    jsonw_field_bool(&w, "favourite", p->favourite);
    jsonw_object_end(&w);
    size_t len;
    char *body = buf_detach(&b, &len);
    http_res_take(res, 200, "application/json; charset=utf-8", body, len);
}

static int load(struct mail_http *api, struct http_req *req, struct http_res *res, uint64_t who,
                struct mail_prefs *p)
{
    struct err err = {0};
    int rc = mail_outbox_prefs_get(api->core->mail, who, http_req_arena(req), p, &err);
    if (rc == ERR_NOT_FOUND)
        http_res_error(res, 404, "Record not found"); /* no address known yet */
    else if (rc)
        unavailable(api, req, res, &err);
    return rc;
}

static void prefs_get(struct http_req *req, struct http_res *res, void *ctx)
{
    struct mail_http *api = ctx;
    struct mail_prefs p;
    uint64_t who = authenticate(api, req, res, "read:accounts");
    if (who && load(api, req, res, who, &p) == 0)
        prefs_json(res, &p);
}

/* A boolean parameter as Mastodon takes them; -1 when absent, -2 when not a boolean. */
static int flag(struct http_req *req, const char *name)
{
    const char *v = http_req_arg(req, name);
    if (!v)
        return -1;
    static const char *const yes[] = {"true", "1", "on", "yes"}, *const no[] = {"false", "0", "off",
                                                                                "no"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -2;
}

static void prefs_patch(struct http_req *req, struct http_res *res, void *ctx)
{
    struct mail_http *api = ctx;
    struct mail_prefs p;
    struct err err = {0};
    uint64_t who = authenticate(api, req, res, "write:accounts");
    if (!who)
        return;
    int f = flag(req, "follow"), m = flag(req, "mention"), v = flag(req, "favourite");
    if (f == -2 || m == -2 || v == -2) {
        http_res_error(res, 422, "Validation failed: follow, mention and favourite are booleans");
        return;
    }
    if (load(api, req, res, who, &p))
        return;
    if (f >= 0)
        p.follow = f;
    if (m >= 0)
        p.mention = m;
    if (v >= 0)
        p.favourite = v;
    int rc = mail_outbox_prefs_set(api->core->mail, who, &p, &err);
    if (rc)
        unavailable(api, req, res, &err);
    else
        prefs_json(res, &p);
}

/* ---- the unsubscribe page ---- */

static void esc(struct buf *b, const char *s)
{
    buf_append_html(b, s, strlen(s));
}

static void page(struct http_res *res, int status, const char *title, struct buf *body)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                       "<title>");
    esc(&b, title);
    buf_append_str(&b, "</title><style>body{font-family:system-ui,sans-serif;max-width:26rem;"
                       "margin:3rem auto;padding:0 1rem;color:#222}.error{color:#b00020}"
                       "button{padding:.6rem 1.2rem}</style></head><body><h1>");
    esc(&b, title);
    buf_append_str(&b, "</h1>");
    buf_append(&b, body->data, body->len);
    buf_append_str(&b, "</body></html>");
    buf_release(body);
    http_res_header(res, "X-Frame-Options", "DENY");
    http_res_header(res, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    http_res_header(res, "Cache-Control", "no-store");
    http_res_header(res, "Referrer-Policy", "no-referrer");
    size_t len;
    char *text = buf_detach(&b, &len);
    http_res_take(res, status, "text/html; charset=utf-8", text, len);
}

static const char *what(const char *kind)
{
    if (!kind || !*kind || strcmp(kind, "all") == 0)
        return "notification";
    return strcmp(kind, "favourite") == 0 ? "like" : kind;
}

static bool kind_ok(const char *kind)
{
    return !kind || !*kind || strcmp(kind, "all") == 0 || strcmp(kind, "follow") == 0 ||
           strcmp(kind, "mention") == 0 || strcmp(kind, "favourite") == 0;
}

static void unsubscribe_show(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const char *token = http_req_arg(req, "token"), *kind = http_req_arg(req, "kind");
    struct buf b = BUF_INIT;
    if (!token || !*token || !kind_ok(kind)) {
        buf_append_str(&b, "<p class=\"error\">This unsubscribe link is incomplete.</p>");
        page(res, 400, "Unsubscribe", &b);
        return;
    }
    /* No change on GET: mail scanners follow links. The button posts the same URL. */
    buf_append_str(&b, "<p>Stop receiving ");
    esc(&b, what(kind));
    buf_append_str(&b, " emails?</p><form method=\"post\" action=\"/mail/unsubscribe?token=");
    esc(&b, token);
    if (kind && *kind) {
        buf_append_str(&b, "&amp;kind=");
        esc(&b, kind);
    }
    buf_append_str(&b, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                       "<button type=\"submit\" id=\"unsubscribe\">Unsubscribe</button></form>");
    page(res, 200, "Unsubscribe", &b);
}

static void unsubscribe_post(struct http_req *req, struct http_res *res, void *ctx)
{
    struct mail_http *api = ctx;
    struct err err = {0};
    const char *token = http_req_arg(req, "token"), *kind = http_req_arg(req, "kind");
    struct buf b = BUF_INIT;
    int rc =
        kind_ok(kind) ? mail_outbox_unsubscribe(api->core->mail, token, kind, &err) : ERR_INVALID;
    if (rc == ERR_NOT_FOUND) {
        buf_append_str(&b, "<p class=\"error\">This unsubscribe link is not valid.</p>");
        page(res, 404, "Unsubscribe", &b);
    } else if (rc == ERR_INVALID) {
        buf_append_str(&b, "<p class=\"error\">This unsubscribe link is incomplete.</p>");
        page(res, 400, "Unsubscribe", &b);
    } else if (rc) {
        buf_release(&b);
        unavailable(api, req, res, &err);
    } else {
        buf_append_str(&b, "<p id=\"message\">You will no longer receive ");
        esc(&b, what(kind));
        buf_append_str(&b, " emails. You can turn them on again in your settings.</p>");
        page(res, 200, "Unsubscribed", &b);
    }
}

void mail_http_register(struct http_server *s, struct mail_http *api)
{
    http_route(s, HTTP_GET, "/api/v1/threadly/email_preferences", prefs_get, api);
    http_route(s, HTTP_PATCH, "/api/v1/threadly/email_preferences", prefs_patch, api);
    http_route(s, HTTP_GET, "/mail/unsubscribe", unsubscribe_show, api);
    http_route(s, HTTP_POST, "/mail/unsubscribe", unsubscribe_post, api);
}
