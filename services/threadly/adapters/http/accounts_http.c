/* accounts_http.c - POST /api/v1/accounts (sign-up with an app token), GET
 * /api/v1/accounts/verify_credentials, /lookup and /:id (mastodon/documentation
 * methods/accounts.md, entities/Account.md). */
#include "lib/base/id.h"
#include "services/threadly/adapters/http/api.h"

#include <string.h>
#include <strings.h>

static void sign_up(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal app;
    struct validation v = {0};
    struct err err = {0};
    struct token_grant g;
    bool ok = true;
    if (!api_authenticate(api, req, res, NULL, false, &app) ||
        !api_rate_limit(api, api->signup_limit, req, res))
        return;
    struct signup_request r = {
        http_req_arg(req, "username"), http_req_arg(req, "email"), http_req_arg(req, "password"),
        http_req_arg_bool(req, "agreement", false, &ok), http_req_arg(req, "locale")};
    if (!ok)
        validation_add(&v, "agreement", "ERR_ACCEPTED", "must be accepted");
    int rc = auth_sign_up(api->core, &app, &r, &g, &v, &err);
    if (!validation_ok(&v))
        api_validation_error(res, &v);
    else if (rc)
        api_error(api, req, res, rc, &err);
    else
        api_send_token(res, &g);
}

static void verify_credentials(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct account *acct;
    struct err err = {0};
    if (!api_authenticate(api, req, res, "read:accounts", true, &who))
        return;
    int rc = account_store_get(&api->core->accounts, who.claims.account_id, http_req_arena(req),
                               &acct, &err);
    if (rc == ERR_NOT_FOUND) /* the account was deleted: its tokens die with it */
        http_res_error(res, 401, "The access token is invalid");
    else if (rc)
        api_error(api, req, res, rc, &err);
    else
        api_send_account(api, res, acct, true);
}

/* A boolean field of update_credentials: -1 when absent; false with *ok cleared when bad. */
static int flag(struct http_req *req, const char *name, bool *ok)
{
    if (!http_req_arg(req, name))
        return -1;
    return http_req_arg_bool(req, name, false, ok);
}

static void update_credentials(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct principal who;
    struct validation v = {0};
    struct err err = {0};
    struct account *acct;
    bool ok = true;
    if (!api_authenticate(api, req, res, "write:accounts", true, &who))
        return;
    const char *ct = http_req_header(req, "Content-Type");
    if (http_req_arg(req, "avatar") || http_req_arg(req, "header") ||
        (ct && strncmp(ct, "multipart/", 10) == 0)) {
        http_res_error(res, 422,
                       "Validation failed: avatar and header uploads are not "
                       "supported yet");
        return;
    }
    struct profile_update u = {http_req_arg(req, "display_name"), http_req_arg(req, "note"),
                               flag(req, "locked", &ok), flag(req, "bot", &ok),
                               flag(req, "discoverable", &ok)};
    if (!ok) {
        http_res_error(res, 422,
                       "Validation failed: locked, bot and discoverable must be "
                       "booleans");
        return;
    }
    int rc = auth_update_profile(api->core, who.claims.account_id, &u, http_req_arena(req), &acct,
                                 &v, &err);
    if (!validation_ok(&v))
        api_validation_error(res, &v);
    else if (rc)
        api_error(api, req, res, rc, &err);
    else
        api_send_account(api, res, acct, true);
}

static void get_account(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct account *acct;
    struct err err = {0};
    uint64_t id;
    if (!id_parse(http_req_path_param(req, "id"), &id)) {
        http_res_error(res, 404, "Record not found");
        return;
    }
    int rc = account_store_get(&api->core->accounts, id, http_req_arena(req), &acct, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        api_send_account(api, res, acct, false);
}

static void lookup(struct http_req *req, struct http_res *res, void *ctx)
{
    struct api *api = ctx;
    struct account *acct;
    struct err err = {0};
    const char *acct_param = http_req_arg(req, "acct");
    if (!acct_param || !*acct_param) {
        http_res_error(res, 422, "Validation failed: acct can't be blank");
        return;
    }
    /* "alice", "@alice" and "alice@our.domain" name the local account alice. */
    char *name =
        arena_strdup(http_req_arena(req), acct_param[0] == '@' ? acct_param + 1 : acct_param);
    char *at = strchr(name, '@');
    if (at) {
        if (strcasecmp(at + 1, api->settings->domain) != 0) {
            http_res_error(res, 404, "Record not found");
            return;
        }
        *at = '\0';
    }
    int rc =
        account_store_get_by_username(&api->core->accounts, name, http_req_arena(req), &acct, &err);
    if (rc)
        api_error(api, req, res, rc, &err);
    else
        api_send_account(api, res, acct, false);
}

void accounts_http_register(struct http_server *s, struct api *api)
{
    http_route_blocking(s, HTTP_POST, "/api/v1/accounts", sign_up, api);
    http_route(s, HTTP_GET, "/api/v1/accounts/verify_credentials", verify_credentials, api);
    http_route(s, HTTP_GET, "/api/v1/accounts/lookup", lookup, api);
    api_route_write(s, api, HTTP_PATCH, "/api/v1/accounts/update_credentials", update_credentials);
    http_route(s, HTTP_GET, "/api/v1/accounts/:id", get_account, api);
}
