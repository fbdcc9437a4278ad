/* authorize_http.c - GET/POST /oauth/authorize: the small HTML login and consent page of the
 * authorization_code flow that browser and mobile clients use (mastodon/documentation
 * methods/oauth.md#authorize). Every value shown or echoed is HTML-escaped. */
#include "lib/base/buf.h"
#include "services/threadly/adapters/http/api.h"

#include <string.h>

static const char *const echoed[] = {"client_id",    "redirect_uri",   "scope",
                                     "state",        "code_challenge", "code_challenge_method",
                                     "response_type"};

static void esc(struct buf *b, const char *s)
{
    buf_append_html(b, s, strlen(s));
}

void api_html_start(struct buf *b, const char *title)
{
    buf_append_str(b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>");
    esc(b, title);
    buf_append_str(b, "</title><style>body{font-family:system-ui,sans-serif;max-width:26rem;"
                      "margin:3rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}"
                      "label{display:block;margin:.8rem 0 .2rem}input[type=text],"
                      "input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}"
                      "button{margin-top:1rem;padding:.6rem 1.2rem}.error{color:#b00020}"
                      "code{font-size:1.2rem;word-break:break-all;background:#eee;padding:.3rem}"
                      "</style></head><body>");
}

void api_html_send(struct http_res *res, int status, struct buf *b)
{
    buf_append_str(b, "</body></html>");
    http_res_header(res, "X-Frame-Options", "DENY");
    http_res_header(res, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    http_res_header(res, "Cache-Control", "no-store");
    http_res_header(res, "Referrer-Policy", "no-referrer");
    size_t len;
    char *body = buf_detach(b, &len);
    http_res_take(res, status, "text/html; charset=utf-8", body, len);
}

static void error_page(struct http_res *res, int status, const char *message)
{
    struct buf b = BUF_INIT;
    api_html_start(&b, "Authorization failed");
    buf_append_str(&b, "<h1>Authorization failed</h1><p class=\"error\">");
    esc(&b, message);
    buf_append_str(&b, "</p>");
    api_html_send(res, status, &b);
}

static const char *grant_message(enum grant_error ge)
{
    switch (ge) {
    case GRANT_INVALID_CLIENT:
        return "This application is not registered here.";
    case GRANT_INVALID_SCOPE:
        return "The application asked for permissions that are unknown or that it was not "
               "registered for.";
    case GRANT_UNAVAILABLE:
        return "The server is temporarily unable to handle the request. Try again shortly.";
    case GRANT_UNCONFIRMED:
        return "Your login is missing a confirmed e-mail address. Follow the link in the email "
               "we sent you, then try again.";
    default:
        return "The request is missing a parameter or its redirect URI is not registered for "
               "this application.";
    }
}

static void form_page(struct http_req *req, struct http_res *res, const struct oauth_app *app,
                      const char *granted, const char *error)
{
    struct buf b = BUF_INIT;
    api_html_start(&b, "Authorize application");
    buf_append_str(&b, "<h1>Sign in to authorize <strong>");
    esc(&b, app->name);
    buf_append_str(&b, "</strong></h1><p>It will be able to: <strong>");
    esc(&b, granted);
    buf_append_str(&b, "</strong></p>");
    if (error) {
        buf_append_str(&b, "<p class=\"error\" role=\"alert\">");
        esc(&b, error);
        buf_append_str(&b, "</p>");
    }
    buf_append_str(&b, "<form method=\"post\" action=\"/oauth/authorize\">");
    for (size_t i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++) {
        const char *v = http_req_arg(req, echoed[i]);
        if (!v)
            continue;
        buf_appendf(&b, "<input type=\"hidden\" name=\"%s\" value=\"", echoed[i]);
        esc(&b, v);
        buf_append_str(&b, "\">");
    }
    const char *user = http_req_arg(req, "username");
    buf_append_str(&b, "<label for=\"username\">Email or username</label>"
                       "<input type=\"text\" id=\"username\" name=\"username\" "
                       "autocomplete=\"username\" required value=\"");
    esc(&b, user ? user : "");
    buf_append_str(&b, "\"><label for=\"password\">Password</label>"
                       "<input type=\"password\" id=\"password\" name=\"password\" "
                       "autocomplete=\"current-password\" required>"
                       "<button type=\"submit\" id=\"authorize\">Authorize</button></form>");
    api_html_send(res, error ? 401 : 200, &b);
}

static bool checked(struct api *api, struct http_req *req, struct http_res *res,
                    struct oauth_app **app, char granted[OAUTH_SCOPES_MAX])
{
    const char *type = http_req_arg(req, "response_type");
    if (!type || strcmp(type, "code") != 0) {
        error_page(res, 400, "Only response_type=code is supported.");
        return false;
    }
    enum grant_error ge = auth_authorize_check(
        api->core, http_req_arg(req, "client_id"), http_req_arg(req, "redirect_uri"),
        http_req_arg(req, "scope"), http_req_arg(req, "code_challenge_method"), http_req_arena(req),
        app, granted);
    if (ge != GRANT_OK) {
        error_page(res, ge == GRANT_UNAVAILABLE ? 503 : 400, grant_message(ge));
        return false;
    }
    return true;
}

static void show(struct http_req *req, struct http_res *res, void *ctx)
{
    struct oauth_app *app;
    char granted[OAUTH_SCOPES_MAX];
    if (checked(ctx, req, res, &app, granted))
        form_page(req, res, app, granted, NULL);
}

/* Appends key=value to a URL, percent-encoding the value. */
static void url_param(struct buf *b, const char *key, const char *value)
{
    buf_appendf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', key);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            buf_append_char(b, (char)*p);
        else
            buf_appendf(b, "%%%02X", *p);
    }
}

static void submit(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct oauth_app *app;
    char granted[OAUTH_SCOPES_MAX], code[AUTH_CODE_LEN];
    struct err err = {0};
    if (!checked(api, req, res, &app, granted) || !api_rate_limit(api, api->login_limit, req, res))
        return;
    const char *redirect = http_req_arg(req, "redirect_uri");
    struct authorize_request r = {http_req_arg(req, "client_id"),
                                  redirect,
                                  http_req_arg(req, "scope"),
                                  http_req_arg(req, "code_challenge"),
                                  http_req_arg(req, "code_challenge_method"),
                                  http_req_arg(req, "username"),
                                  http_req_arg(req, "password")};
    enum grant_error ge = auth_authorize(api->core, &r, code, &err);
    if (ge == GRANT_INVALID_GRANT || ge == GRANT_INVALID_REQUEST) {
        form_page(req, res, app, granted, "Wrong email, username or password.");
        return;
    }
    if (ge != GRANT_OK) {
        log_printf(api->log, LOG_WARN, http_req_id(req), "authorize failed: %s", err.msg);
        error_page(res,
                   ge == GRANT_UNAVAILABLE   ? 503
                   : ge == GRANT_UNCONFIRMED ? 403
                                             : 400,
                   grant_message(ge));
        return;
    }
    if (strcmp(redirect, OAUTH_OOB_URI) == 0) {
        struct buf b = BUF_INIT;
        api_html_start(&b, "Authorization code");
        buf_append_str(&b, "<h1>Authorization code</h1><p>Copy this code and paste it into "
                           "the application:</p><p><code id=\"code\">");
        esc(&b, code);
        buf_append_str(&b, "</code></p>");
        api_html_send(res, 200, &b);
        return;
    }
    struct buf url = BUF_INIT;
    buf_append_str(&url, redirect);
    url_param(&url, "code", code);
    const char *state = http_req_arg(req, "state");
    if (state)
        url_param(&url, "state", state);
    http_res_header(res, "Location", arena_strdup(http_req_arena(req), url.data));
    http_res_header(res, "Cache-Control", "no-store");
    buf_release(&url);
    http_res_bytes(res, 302, "text/plain; charset=utf-8", "", 0);
}

void authorize_http_register(struct http_server *s, struct api *api)
{
    http_route(s, HTTP_GET, "/oauth/authorize", show, api);
    /* The password check takes Argon2id time: off the event threads. */
    http_route_blocking(s, HTTP_POST, "/oauth/authorize", submit, api);
}
