/* oauth_http.c - POST /api/v1/apps, GET /api/v1/apps/verify_credentials, POST /oauth/token
 * (password and client_credentials grants), POST /oauth/revoke and the RFC 8414 metadata
 * (mastodon/documentation methods/apps.md, methods/oauth.md, entities/Token.md). */
#include "lib/base/buf.h"
#include "lib/base/id.h"
#include "services/threadly/adapters/http/api.h"

#include <string.h>

/* redirect_uris arrives as a string (possibly several URIs separated by whitespace) or, from
 * JSON clients, as an array. Joined with '\n' in the request's arena. */
static const char *redirect_uris(struct http_req *req)
{
    const char **vals;
    size_t n = http_req_args(req, "redirect_uris", &vals);
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *p = vals[i];
        while (*p) {
            while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
                p++;
            const char *start = p;
            while (*p && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
                p++;
            if (p > start) {
                if (b.len)
                    buf_append_char(&b, '\n');
                buf_append(&b, start, (size_t)(p - start));
            }
        }
    }
    const char *out = b.data ? arena_strdup(http_req_arena(req), b.data) : NULL;
    buf_release(&b);
    return out;
}

static json_t *app_json(const struct oauth_app *app, bool credentials)
{
    char id[ID_STR_LEN];
    id_format(app->id, id);
    json_t *uris = json_array();
    const char *p = app->redirect_uris;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_array_append_new(uris, json_stringn(p, n));
        if (!nl)
            break;
        p = nl + 1;
    }
    json_t *scopes = json_array();
    const char *s = app->scopes;
    while (*s) {
        const char *sp = strchr(s, ' ');
        size_t n = sp ? (size_t)(sp - s) : strlen(s);
        json_array_append_new(scopes, json_stringn(s, n));
        if (!sp)
            break;
        s = sp + 1;
    }
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", id, "name", app->name, "website",
                          *app->website ? json_string(app->website) : json_null(), "scopes", scopes,
                          "redirect_uris", uris);
    /* redirect_uri is deprecated but still read by clients: the URIs separated by newlines */
    json_object_set_new(j, "redirect_uri", json_string(app->redirect_uris));
    json_object_set_new(j, "vapid_key", json_string(""));
    if (credentials) {
        json_object_set_new(j, "client_id", json_string(app->client_id));
        json_object_set_new(j, "client_secret", json_string(app->client_secret));
        json_object_set_new(j, "client_secret_expires_at", json_integer(0));
    }
    return j;
}

static void create_app(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct validation v = {0};
    struct err err = {0};
    struct oauth_app *app;
    struct app_request r = {http_req_arg(req, "client_name"), redirect_uris(req),
                            http_req_arg(req, "scopes"), http_req_arg(req, "website")};
    int rc = auth_create_app(api->core, &r, http_req_arena(req), &app, &v, &err);
    if (rc == ERR_INVALID && !validation_ok(&v))
        api_validation_error(res, &v);
    else if (rc)
        api_error(api, req, res, rc, &err);
    else
        http_res_json(res, 200, app_json(app, true));
}

static void verify_app(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct oauth_app *app;
    struct err err = {0};
    if (!api_authenticate(api, req, res, NULL, false, &who))
        return;
    int rc = app_store_get(&api->core->apps, who.claims.app_id, http_req_arena(req), &app, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        http_res_json(res, 200, app_json(app, false));
}

static void oauth_error(struct http_res *res, enum grant_error ge)
{
    static const struct {
        int status;
        const char *error, *description;
    } table[] = {
        [GRANT_INVALID_CLIENT] = {401, "invalid_client",
                                  "Client authentication failed due to unknown client, no "
                                  "client authentication included, or unsupported "
                                  "authentication method."},
        [GRANT_INVALID_GRANT] = {400, "invalid_grant",
                                 "The provided authorization grant is invalid, expired, "
                                 "revoked, does not match the redirection URI used in the "
                                 "authorization request, or was issued to another client."},
        [GRANT_INVALID_SCOPE] = {400, "invalid_scope",
                                 "The requested scope is invalid, unknown, or malformed."},
        [GRANT_INVALID_REQUEST] = {400, "invalid_request",
                                   "The request is missing a required parameter, includes an "
                                   "unsupported parameter value, or is otherwise malformed."},
        [GRANT_UNAVAILABLE] = {503, "temporarily_unavailable",
                               "The server is temporarily unable to handle the request."},
    };
    if (ge == GRANT_UNCONFIRMED) {
        /* Mastodon's answer to a login whose email is not confirmed (Api::BaseController). */
        http_res_error(res, 403, "Your login is missing a confirmed e-mail address");
        return;
    }
    http_res_json(res, table[ge].status,
                  json_pack("{s:s, s:s}", "error", table[ge].error, "error_description",
                            table[ge].description));
}

void api_send_token(struct http_res *res, const struct token_grant *g)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_str(&w, "access_token", g->access_token);
    jsonw_field_str(&w, "token_type", "Bearer");
    jsonw_field_str(&w, "scope", g->scope);
    jsonw_field_int(&w, "created_at", g->created_at_ms / 1000);
    jsonw_object_end(&w);
    api_send_json(res, &b);
}

static void token(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct token_grant g;
    struct err err = {0};
    const char *grant = http_req_arg(req, "grant_type");
    const char *id = http_req_arg(req, "client_id"), *secret = http_req_arg(req, "client_secret");
    const char *scope = http_req_arg(req, "scope");
    enum grant_error ge;
    /* Token responses must not be cached (RFC 6749 section 5.1). */
    http_res_header(res, "Cache-Control", "no-store");
    if (grant && strcmp(grant, "password") == 0) {
        if (!api_rate_limit(api, api->login_limit, req, res))
            return;
        ge = auth_password_grant(api->core, id, secret, http_req_arg(req, "username"),
                                 http_req_arg(req, "password"), scope, &g, &err);
    } else if (grant && strcmp(grant, "authorization_code") == 0) {
        ge = auth_code_grant(api->core, id, secret, http_req_arg(req, "code"),
                             http_req_arg(req, "redirect_uri"), http_req_arg(req, "code_verifier"),
                             &g, &err);
    } else if (grant && strcmp(grant, "client_credentials") == 0) {
        ge = auth_client_credentials_grant(api->core, id, secret, scope, &g, &err);
    } else {
        http_res_json(res, 400,
                      json_pack("{s:s, s:s}", "error", "unsupported_grant_type",
                                "error_description",
                                "The authorization grant type is not supported by the "
                                "authorization server."));
        return;
    }
    if (ge == GRANT_UNAVAILABLE)
        log_printf(api->log, LOG_WARN, http_req_id(req), "token grant failed: %s", err.msg);
    if (ge != GRANT_OK)
        oauth_error(res, ge);
    else
        api_send_token(res, &g);
}

static void revoke(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct err err = {0};
    enum grant_error ge =
        auth_revoke(api->core, http_req_arg(req, "client_id"), http_req_arg(req, "client_secret"),
                    http_req_arg(req, "token"), &err);
    if (ge != GRANT_OK)
        oauth_error(res, ge);
    else
        http_res_json(res, 200, json_object());
}

static void metadata(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    const char *base = api->settings->base_url;
    struct arena *a = http_req_arena(req);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s,s,s,s], s:[s], s:[s], s:[s,s,s], s:[s], s:[s]}",
                  "issuer", arena_sprintf(a, "%s/", base), "authorization_endpoint",
                  arena_sprintf(a, "%s/oauth/authorize", base), "token_endpoint",
                  arena_sprintf(a, "%s/oauth/token", base), "revocation_endpoint",
                  arena_sprintf(a, "%s/oauth/revoke", base), "app_registration_endpoint",
                  arena_sprintf(a, "%s/api/v1/apps", base), "scopes_supported", "read", "write",
                  "follow", "push", "response_types_supported", "code", "response_modes_supported",
                  "query", "grant_types_supported", "authorization_code", "password",
                  "client_credentials", "token_endpoint_auth_methods_supported",
                  "client_secret_post", "code_challenge_methods_supported", "S256");
    http_res_json(res, 200, j);
}

void oauth_http_register(struct http_server *s, struct api *api)
{
    http_route(s, HTTP_POST, "/api/v1/apps", create_app, api);
    http_route(s, HTTP_GET, "/api/v1/apps/verify_credentials", verify_app, api);
    /* Password checks take Argon2id time: off the event threads. */
    http_route_blocking(s, HTTP_POST, "/oauth/token", token, api);
    http_route(s, HTTP_POST, "/oauth/revoke", revoke, api);
    http_route(s, HTTP_GET, "/.well-known/oauth-authorization-server", metadata, api);
}
