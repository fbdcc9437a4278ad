/* email_http.c - the HTML pages behind the links of the emails notification-service sends:
 * GET /auth/confirm (account confirmation), GET/POST /auth/password (ask for a reset link) and
 * GET/POST /auth/password/edit (set a new password with it). The token in the link is the only
 * credential; no cookie is read or set, so a cross-site form post gains nothing. Every value
 * shown is HTML-escaped. */
#include "lib/base/buf.h"
#include "services/threadly/adapters/http/api.h"

#include <string.h>

static void esc(struct buf *b, const char *s)
{
    buf_append_html(b, s, strlen(s));
}

static void message_page(struct http_res *res, int status, const char *title, const char *msg)
{
    struct buf b = BUF_INIT;
    api_html_start(&b, title);
    buf_append_str(&b, "<h1>");
    esc(&b, title);
    buf_appendf(&b, "</h1><p class=\"%s\" id=\"message\">", status >= 400 ? "error" : "ok");
    esc(&b, msg);
    buf_append_str(&b, "</p>");
    api_html_send(res, status, &b);
}

/* Answers a token that did not work: 404 unknown or used, 410 expired, 503 store down. */
static void token_error(struct api *api, struct http_req *req, struct http_res *res, int rc,
                        const struct err *err, const char *title)
{
    if (rc == ERR_NOT_FOUND) {
        message_page(res, 404, title,
                     "This link is invalid or has already been used. Ask for a new one.");
    } else if (rc == ERR_INVALID) {
        message_page(res, 410, title, "This link has expired. Ask for a new one.");
    } else {
        log_printf(api->log, LOG_WARN, http_req_id(req), "email token: %s", err->msg);
        http_res_header(res, "Retry-After", "1");
        message_page(res, 503, title,
                     "The server is temporarily unable to handle the request. Try again "
                     "shortly.");
    }
}

static void confirm(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    int rc = auth_confirm_email(api->core, http_req_arg(req, "token"), &err);
    if (rc)
        token_error(api, req, res, rc, &err, "Email confirmation failed");
    else
        message_page(res, 200, "Email confirmed",
                     "Your email address is confirmed. You can now log in.");
}

static void request_form(struct http_res *res, int status, const char *error)
{
    struct buf b = BUF_INIT;
    api_html_start(&b, "Reset your password");
    buf_append_str(&b, "<h1>Reset your password</h1>");
    if (error) {
        buf_append_str(&b, "<p class=\"error\" role=\"alert\">");
        esc(&b, error);
        buf_append_str(&b, "</p>");
    }
    buf_append_str(&b, "<form method=\"post\" action=\"/auth/password\">"
                       "<label for=\"email\">Email address</label>"
                       "<input type=\"text\" id=\"email\" name=\"email\" autocomplete=\"email\" "
                       "required><button type=\"submit\">Send me a reset link</button></form>");
    api_html_send(res, status, &b);
}

static void show_request(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    request_form(res, 200, NULL);
}

static void submit_request(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    if (!api_rate_limit(api, api->reset_limit, req, res)) {
        request_form(res, 429, "Too many requests. Try again later.");
        return;
    }
    int rc = auth_request_password_reset(api->core, http_req_arg(req, "email"), &err);
    if (rc) {
        token_error(api, req, res, ERR_UNAVAILABLE, &err, "Reset your password");
        return;
    }
    /* The same answer whether or not an account has this address. */
    message_page(res, 200, "Check your email",
                 "If an account uses this address, we have sent it a link to reset the "
                 "password. The link works once and expires.");
}

static void edit_form(struct http_res *res, int status, const char *token, const char *error)
{
    struct buf b = BUF_INIT;
    api_html_start(&b, "Set a new password");
    buf_append_str(&b, "<h1>Set a new password</h1>");
    if (error) {
        buf_append_str(&b, "<p class=\"error\" role=\"alert\">");
        esc(&b, error);
        buf_append_str(&b, "</p>");
    }
    buf_append_str(&b, "<form method=\"post\" action=\"/auth/password/edit\">"
                       "<input type=\"hidden\" name=\"token\" value=\"");
    esc(&b, token ? token : "");
    buf_append_str(&b, "\"><label for=\"password\">New password (at least 8 characters)</label>"
                       "<input type=\"password\" id=\"password\" name=\"password\" "
                       "autocomplete=\"new-password\" minlength=\"8\" required>"
                       "<label for=\"password_confirmation\">Repeat it</label>"
                       "<input type=\"password\" id=\"password_confirmation\" "
                       "name=\"password_confirmation\" autocomplete=\"new-password\" required>"
                       "<button type=\"submit\">Change password</button></form>");
    api_html_send(res, status, &b);
}

static void show_edit(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const char *token = http_req_arg(req, "token");
    if (!token || !*token) {
        message_page(res, 404, "Set a new password",
                     "This link is invalid or has already been used. Ask for a new one.");
        return;
    }
    edit_form(res, 200, token, NULL);
}

static void submit_edit(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    struct validation v = {0};
    const char *token = http_req_arg(req, "token");
    const char *pw = http_req_arg(req, "password");
    const char *again = http_req_arg(req, "password_confirmation");
    if (pw && again && strcmp(pw, again) != 0) {
        edit_form(res, 422, token, "The two passwords differ.");
        return;
    }
    int rc = auth_reset_password(api->core, token, pw, &v, &err);
    if (rc == ERR_INVALID && !validation_ok(&v)) {
        edit_form(res, 422, token, "The password must have 8 to 128 characters.");
        return;
    }
    if (rc) {
        token_error(api, req, res, rc, &err, "Password not changed");
        return;
    }
    message_page(res, 200, "Password changed",
                 "Your password has been changed. You can now log in with it.");
}

void email_http_register(struct http_server *s, struct api *api)
{
    http_route(s, HTTP_GET, "/auth/confirm", confirm, api);
    http_route(s, HTTP_GET, "/auth/password", show_request, api);
    http_route(s, HTTP_POST, "/auth/password", submit_request, api);
    http_route(s, HTTP_GET, "/auth/password/edit", show_edit, api);
    /* Hashing the new password takes Argon2id time: off the event threads. */
    http_route_blocking(s, HTTP_POST, "/auth/password/edit", submit_edit, api);
}
