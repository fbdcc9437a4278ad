/* auth.h - use cases of apps, tokens and accounts: register an app, obtain a token (password
 * and client_credentials grants), revoke it, sign up, and authenticate a bearer token.
 * Results are allocated in the caller's arena. */
#ifndef SERVICES_THREADLY_APP_AUTH_H
#define SERVICES_THREADLY_APP_AUTH_H

#include "lib/base/arena.h"
#include "services/threadly/app/core.h"
#include "services/threadly/domain/validation.h"

/* Outcomes the HTTP adapter maps to statuses: 0, ERR_INVALID with v filled (422),
 * ERR_FORBIDDEN, ERR_NOT_FOUND, or a store's ERR_UNAVAILABLE / ERR_INTERNAL. */

/* Prepares c for the use cases below (a decoy password hash of the configured cost). */
int auth_init(struct core *c, struct err *err);

struct app_request {
    const char *client_name;
    const char *redirect_uris; /* '\n'-separated */
    const char *scopes;        /* NULL: "read" */
    const char *website;       /* NULL: "" */
};

int auth_create_app(struct core *c, const struct app_request *r, struct arena *a,
                    struct oauth_app **out, struct validation *v, struct err *err);

/* A token for the app identified by client_id/client_secret. */
struct token_grant {
    char access_token[TOKEN_MAX];
    char scope[OAUTH_SCOPES_MAX];
    int64_t created_at_ms;
    uint64_t account_id; /* 0 for app tokens */
};

/* Why a grant was refused, in OAuth's words (RFC 6749 section 5.2). */
enum grant_error {
    GRANT_OK = 0,
    GRANT_INVALID_CLIENT,  /* 401 */
    GRANT_INVALID_GRANT,   /* 400: wrong username or password */
    GRANT_INVALID_SCOPE,   /* 400 */
    GRANT_INVALID_REQUEST, /* 400 */
    GRANT_UNAVAILABLE,     /* 503: a store is down */
    GRANT_UNCONFIRMED,     /* 403: right password, but the email is not confirmed yet */
};

enum grant_error auth_password_grant(struct core *c, const char *client_id,
                                     const char *client_secret, const char *username,
                                     const char *password, const char *scope,
                                     struct token_grant *out, struct err *err);
enum grant_error auth_client_credentials_grant(struct core *c, const char *client_id,
                                               const char *client_secret, const char *scope,
                                               struct token_grant *out, struct err *err);
/* Revokes token if it was issued to this client; an unknown or foreign token is not an error
 * (RFC 7009). */
enum grant_error auth_revoke(struct core *c, const char *client_id, const char *client_secret,
                             const char *token, struct err *err);

/* The authorization_code flow (RFC 6749 section 4.1, PKCE RFC 7636 with S256 only). */
#define AUTH_CODE_LEN 44

/* Checks what the authorize page is asked for before showing it: the client, that
 * redirect_uri is one of its registered URIs, the scope, and the PKCE method. *app is loaded
 * into a and granted receives the normalised scope. */
enum grant_error auth_authorize_check(struct core *c, const char *client_id,
                                      const char *redirect_uri, const char *scope,
                                      const char *challenge_method, struct arena *a,
                                      struct oauth_app **app, char granted[OAUTH_SCOPES_MAX]);

struct authorize_request {
    const char *client_id, *redirect_uri, *scope;
    const char *code_challenge, *code_challenge_method; /* NULL: no PKCE */
    const char *username, *password;
};

/* Checks the request as above and the person's credentials, then issues a single-use code
 * valid for 10 minutes. GRANT_INVALID_GRANT for wrong credentials (same answer whether or not
 * the account exists). */
enum grant_error auth_authorize(struct core *c, const struct authorize_request *r,
                                char code[AUTH_CODE_LEN], struct err *err);
/* Exchanges a code: the same client, the same redirect_uri, and the verifier that matches the
 * challenge (if one was given). A code works once. */
enum grant_error auth_code_grant(struct core *c, const char *client_id, const char *client_secret,
                                 const char *code, const char *redirect_uri,
                                 const char *code_verifier, struct token_grant *out,
                                 struct err *err);

/* Who is calling: the verified claims of a bearer token. */
struct principal {
    struct token_claims claims;
    /* A sign-up token of an account that has not confirmed its email while confirmation is
     * required: endpoints that need a user refuse it (403, docs/email.md). */
    bool email_unconfirmed;
};

/* 0, or ERR_FORBIDDEN for a missing, malformed, forged, expired or revoked token (401). */
int auth_authenticate(struct core *c, const char *bearer, struct principal *out, struct err *err);

struct signup_request {
    const char *username;
    const char *email;
    const char *password;
    bool agreement;
    const char *locale;
};

/* Creates an account for an app token (claims.account_id == 0) and issues a user token
 * for the same app. ERR_FORBIDDEN when registrations are closed. */
int auth_sign_up(struct core *c, const struct principal *app_token, const struct signup_request *r,
                 struct token_grant *out, struct validation *v, struct err *err);

/* Profile changes; a NULL field or a negative flag is left as it is. */
struct profile_update {
    const char *display_name;
    const char *note;
    int locked, bot, discoverable; /* -1: unchanged, 0 or 1 */
};

/* Validates and applies the changes, then loads the account into *out. ERR_INVALID with v. */
int auth_update_profile(struct core *c, uint64_t account_id, const struct profile_update *u,
                        struct arena *a, struct account **out, struct validation *v,
                        struct err *err);

/* ---- Email confirmation and password reset (docs/email.md) ----
 * Tokens are 32 random bytes as base64url (43 characters), stored hashed (SHA-256), single use,
 * valid for c->email_token_ttl_ms. The plain token travels in the event that asks for the mail
 * (account.created's confirmation_token, account.password_reset_requested's reset_token). */
#define AUTH_EMAIL_TOKEN_CHARS 43
#define AUTH_EMAIL_TOKEN_LEN 45 /* what random_token asks room for, 32 bytes */

/* Confirms the email of the token's account. 0; ERR_NOT_FOUND for a malformed, unknown or
 * already used token; ERR_INVALID for an expired one; or a store's error. */
int auth_confirm_email(struct core *c, const char *token, struct err *err);

/* Starts a password reset for the account with this email, if there is one: a reset token and
 * the account.password_reset_requested event, in one transaction. 0 whether or not the account
 * exists (the caller answers the same either way); a store's error otherwise. */
int auth_request_password_reset(struct core *c, const char *email, struct err *err);

/* Sets a new password with a reset token. ERR_INVALID with v filled for a bad password (the
 * token is then not used); ERR_NOT_FOUND for a malformed, unknown or used token; ERR_INVALID
 * with v empty for an expired one; or a store's error. */
int auth_reset_password(struct core *c, const char *token, const char *password,
                        struct validation *v, struct err *err);

#endif
