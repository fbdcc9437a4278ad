/* oauth.h - OAuth applications, scopes and the claims carried by an access token. */
#ifndef SERVICES_THREADLY_DOMAIN_OAUTH_H
#define SERVICES_THREADLY_DOMAIN_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OAUTH_SCOPES_MAX 512
#define OAUTH_OOB_URI "urn:ietf:wg:oauth:2.0:oob"

struct oauth_app {
    uint64_t id;
    const char *name;
    const char *website;       /* may be "" */
    const char *redirect_uris; /* one or more, separated by '\n' */
    const char *scopes;        /* space-separated, normalised */
    const char *client_id;
    const char *client_secret;
    int64_t created_at_ms;
};

/* Claims of an access token. account_id 0 means an app-only token (client_credentials). */
struct token_claims {
    uint64_t jti;
    uint64_t account_id;
    uint64_t app_id;
    char scope[OAUTH_SCOPES_MAX];
    int64_t iat_ms;
    int64_t exp_ms;   /* 0: does not expire */
    bool unconfirmed; /* issued at sign-up, before the email was confirmed (docs/email.md) */
};

/* True if every scope in the space- or '+'-separated list is known (read, write, follow,
 * push, and the granular ones such as read:statuses or write:accounts). */
bool oauth_scopes_valid(const char *scopes);
/* Normalises a list (separators to single spaces, duplicates removed) into out. */
void oauth_scopes_normalise(const char *scopes, char out[OAUTH_SCOPES_MAX]);
/* True if every scope of `requested` is granted by `allowed` ("read" grants "read:x"). */
bool oauth_scopes_subset(const char *requested, const char *allowed);
/* True if `granted` allows `needed` (one scope, e.g. "read:accounts"): "read" covers
 * "read:*" and a granular scope covers itself. */
bool oauth_scope_allows(const char *granted, const char *needed);
/* True if uri is one of the app's registered redirect URIs. */
bool oauth_redirect_uri_allowed(const struct oauth_app *app, const char *uri);

#endif
