/* api.h - what the Mastodon API handlers of threadly-service share: the use-case core, the
 * instance settings (for URLs), the logger; and helpers for authentication and for mapping
 * use-case outcomes to Mastodon's error responses. */
#ifndef SERVICES_THREADLY_ADAPTERS_HTTP_API_H
#define SERVICES_THREADLY_ADAPTERS_HTTP_API_H

#include "lib/base/buf.h"
#include "lib/base/jsonw.h"
#include "lib/http/http.h"
#include "services/threadly/app/auth.h"
#include "services/threadly/domain/account.h"
#include "services/threadly/domain/instance.h"
#include "services/threadly/ports/event_encoder.h"

struct ratelimit;

struct api {
    struct core *core;
    const struct instance_settings *settings;
    struct logger *log;
    struct ratelimit *login_limit;  /* POST /oauth/token per client IP */
    struct ratelimit *signup_limit; /* POST /api/v1/accounts per client IP */
    struct ratelimit *reset_limit;  /* POST /auth/password per client IP */
    /* Writes wait on database round trips and durable commits (PostgreSQL): their routes run
     * on the server's blocking pool, so the event threads keep serving reads meanwhile. */
    bool writes_blocking;
};

/* Registers a handler that writes to the database: on the blocking pool when
 * api->writes_blocking, else like any route. */
void api_route_write(struct http_server *s, struct api *api, unsigned methods, const char *pattern,
                     http_handler_fn fn);

/* Counts a hit against rl for the client's IP. On refusal the response is set (429 with
 * X-RateLimit-* headers) and false is returned. */
bool api_rate_limit(struct api *api, struct ratelimit *rl, struct http_req *req,
                    struct http_res *res);

/* Authenticates the request's bearer token (Authorization header, or the access_token
 * parameter) and checks it allows `scope`; with user_required, app-only tokens are refused.
 * On failure the response is already set (401 or 403) and false is returned. */
bool api_authenticate(struct api *api, struct http_req *req, struct http_res *res,
                      const char *scope, bool user_required, struct principal *out);
/* The viewer of a read that allows anonymous access: 0 without a token (no Authorization
 * header and no access_token parameter). A token that is present but invalid is refused (401),
 * as Mastodon does, and so is one without read:statuses (403); then the response is set and
 * false is returned. */
bool api_optional_viewer(struct api *api, struct http_req *req, struct http_res *res,
                         uint64_t *viewer);
/* The :id path parameter as an id. When it is not one, the response is set (404, "Record not
 * found", which is what an unknown id gets too) and false is returned. */
bool api_path_id(struct http_req *req, struct http_res *res, uint64_t *id);
/* 422 {"error": "Validation failed: ...", "details": {...}} */
void api_validation_error(struct http_res *res, const struct validation *v);
/* Maps a store or use-case error code to a response (and logs err). */
void api_error(struct api *api, struct http_req *req, struct http_res *res, int code,
               const struct err *err);
/* Answers 200 with the JSON document in b, taking its memory (b is left empty). */
void api_send_json(struct http_res *res, struct buf *b);
/* Writes a URL as a JSON string: base followed by a, b and c (NULL ones skipped), no copies. */
void api_url(struct jsonw *w, const char *base, const char *a, const char *b, const char *c);
/* Writes the Account entity to w; with_source adds `source` (for verify_credentials and
 * update_credentials). */
void api_account_json(struct jsonw *w, const struct api *api, const struct account *acct,
                      bool with_source);
/* Answers 200 with one Account entity. */
void api_send_account(struct api *api, struct http_res *res, const struct account *acct,
                      bool with_source);

/* Renders statuses for one viewer (0: anonymous) during one request straight into a JSON body
 * (out, through w: callers may add their own containers around the statuses with w). The
 * authors and mentioned accounts of a list are fetched with one account_store_get_many and the
 * viewer's favourites with one social_store_favourited_among before the list is written; each
 * author's Account entity is rendered once and then copied from where it first appeared in out.
 * Not to be copied after init. */
struct status_renderer {
    struct api *api;
    struct http_req *req; /* NULL when rendering outside a request (event snapshots) */
    struct arena *a;      /* the request's, or the one given to init_arena */
    uint64_t viewer;
    struct buf out;
    struct jsonw w; /* writes into out */
    size_t naccounts, accounts_cap;
    struct rendered_account {
        uint64_t id;
        const struct account *acct; /* NULL: there is no such account */
        size_t off, len;            /* its Account JSON at out.data + off; len 0 until rendered */
    } * accounts;                   /* fetched so far, in the request's arena */
    size_t nfavourites, favourites_cap;
    struct rendered_favourite {
        uint64_t status_id;
        bool favourited; /* by the viewer */
    } * favourites;      /* fetched so far, in the request's arena */
};

void api_status_renderer_init(struct status_renderer *r, struct api *api, struct http_req *req,
                              uint64_t viewer);
/* The same outside of a request, for an anonymous viewer, with memory from a. */
void api_status_renderer_init_arena(struct status_renderer *r, struct api *api, struct arena *a);
/* Makes account id known to r (acct NULL: there is no such account), so statuses by or
 * mentioning it are rendered without fetching it from the store. */
void api_status_renderer_know(struct status_renderer *r, uint64_t id, const struct account *acct);
/* Frees what is left of the body (nothing after api_status_renderer_send). */
void api_status_renderer_release(struct status_renderer *r);
/* Answers 200 with the body rendered so far, taking its memory. */
void api_status_renderer_send(struct status_renderer *r, struct http_res *res);
/* Writes the Status entity; with_text adds `text` (delete). Returns 0, or a store's error code
 * (err set) and then the body is incomplete: answer with api_error instead. */
int api_status_json(struct status_renderer *r, const struct status *s, bool with_text,
                    struct err *err);
/* Writes a JSON array of statuses; errors as api_status_json. */
int api_status_list_json(struct status_renderer *r, const struct status_list *l, struct err *err);
/* Reads max_id, since_id, min_id and limit. False (and a 422 set) when one is malformed. */
bool api_page(struct http_req *req, struct http_res *res, struct page *page, int def_limit,
              int max_limit);
/* Adds Mastodon's Link header for a page whose newest and oldest ids are given (nothing for an
 * empty page): next (older, max_id) first, then prev (newer, min_id). Other query parameters
 * are kept. */
void api_link_header(struct api *api, struct http_req *req, struct http_res *res, uint64_t newest,
                     uint64_t oldest);
/* Writes the Relationship entity of the viewer with account id. */
void api_relationship_json(struct jsonw *w, uint64_t id, const struct relationship *rel);

/* Answers 200 with the Token entity: access_token, token_type, scope, created_at (unix
 * seconds). */
void api_send_token(struct http_res *res, const struct token_grant *g);

/* The small HTML pages (authorize, email confirmation, password reset): the document head with
 * title (escaped) and the shared style; then api_html_send closes it and answers with status
 * and headers that forbid framing, caching and referrers (the URLs carry tokens). */
void api_html_start(struct buf *b, const char *title);
void api_html_send(struct http_res *res, int status, struct buf *b);

void email_http_register(struct http_server *s, struct api *api);
void oauth_http_register(struct http_server *s, struct api *api);
void accounts_http_register(struct http_server *s, struct api *api);
void statuses_http_register(struct http_server *s, struct api *api);
void authorize_http_register(struct http_server *s, struct api *api);
void social_http_register(struct http_server *s, struct api *api);

/* The event_encoder port on this adapter's renderer (event_encoder_http.c); api must outlive
 * it. */
struct event_encoder event_encoder_http(struct api *api);

#endif
