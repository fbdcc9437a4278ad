/* auth.c - apps, grants, revocation, sign-up and bearer authentication. */
#include "services/threadly/app/auth.h"

#include "lib/base/buf.h"
#include "lib/base/digest.h"
#include "lib/base/id.h"
#include "lib/base/ttlmap.h"
#include "lib/base/xalloc.h"
#include "services/threadly/app/events.h"
#include "services/threadly/domain/account.h"

#include <string.h>

#define APP_NAME_MAX 255
#define URI_MAX 2000
#define CLIENT_TOKEN_BYTES 32

/* Compares secrets in time that does not depend on where they differ. */
static bool secret_eq(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* An absolute URI: scheme ":" rest, no spaces or control characters, no fragment. */
static bool uri_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || n > URI_MAX)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    while (i < n && s[i] != ':') {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return false;
        i++;
    }
    if (i == n || i + 1 == n)
        return false;
    for (size_t j = 0; j < n; j++)
        if ((unsigned char)s[j] <= 0x20 || s[j] == 0x7f || s[j] == '#')
            return false;
    return true;
}

static bool redirect_uris_ok(const char *uris)
{
    const char *p = uris;
    int count = 0;
    for (;;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!uri_ok(p, len))
            return false;
        count++;
        if (!end)
            break;
        p = end + 1;
    }
    return count > 0 && strlen(uris) <= URI_MAX * 4;
}

int auth_create_app(struct core *c, const struct app_request *r, struct arena *a,
                    struct oauth_app **out, struct validation *v, struct err *err)
{
    const char *scopes = r->scopes && *r->scopes ? r->scopes : "read";
    const char *website = r->website ? r->website : "";
    if (!r->client_name || !*r->client_name)
        validation_add(v, "name", "ERR_BLANK", "can't be blank");
    else if (strlen(r->client_name) > APP_NAME_MAX ||
             !utf8_valid(r->client_name, strlen(r->client_name)))
        validation_add(v, "name", "ERR_TOO_LONG", "is too long");
    if (!r->redirect_uris || !*r->redirect_uris)
        validation_add(v, "redirect_uri", "ERR_BLANK", "can't be blank");
    else if (!redirect_uris_ok(r->redirect_uris))
        validation_add(v, "redirect_uri", "ERR_INVALID", "must be an absolute URI");
    if (!oauth_scopes_valid(scopes))
        validation_add(v, "scopes", "ERR_INVALID", "must be valid");
    if (*website && !uri_ok(website, strlen(website)))
        validation_add(v, "website", "ERR_INVALID", "is invalid");
    if (!validation_ok(v))
        return ERR_INVALID;

    struct oauth_app *app = arena_calloc(a, 1, sizeof(*app));
    char *norm = arena_alloc(a, OAUTH_SCOPES_MAX);
    char *id = arena_alloc(a, 64), *secret = arena_alloc(a, 64);
    oauth_scopes_normalise(scopes, norm);
    random_token(c->random, CLIENT_TOKEN_BYTES, id);
    random_token(c->random, CLIENT_TOKEN_BYTES, secret);
    app->id = idgen_next(c->ids);
    app->name = r->client_name;
    app->website = website;
    app->redirect_uris = r->redirect_uris;
    app->scopes = norm;
    app->client_id = id;
    app->client_secret = secret;
    app->created_at_ms = clock_now_ms(c->clock);
    int rc = app_store_insert(&c->apps, app, err);
    if (rc)
        return rc;
    *out = app;
    return 0;
}

static enum grant_error store_error(int rc)
{
    return rc == ERR_NOT_FOUND ? GRANT_INVALID_CLIENT : GRANT_UNAVAILABLE;
}

/* Loads and authenticates the client. */
static enum grant_error client(struct core *c, const char *client_id, const char *secret,
                               struct arena *a, struct oauth_app **app, struct err *err)
{
    if (!client_id || !secret || !*client_id)
        return GRANT_INVALID_CLIENT;
    int rc = app_store_get_by_client_id(&c->apps, client_id, a, app, err);
    if (rc)
        return store_error(rc);
    return secret_eq((*app)->client_secret, secret) ? GRANT_OK : GRANT_INVALID_CLIENT;
}

static enum grant_error grant_scope(const struct oauth_app *app, const char *requested,
                                    char out[OAUTH_SCOPES_MAX])
{
    const char *want = requested && *requested ? requested : app->scopes;
    if (!oauth_scopes_valid(want) || !oauth_scopes_subset(want, app->scopes))
        return GRANT_INVALID_SCOPE;
    oauth_scopes_normalise(want, out);
    return GRANT_OK;
}

static enum grant_error issue_token(struct core *c, uint64_t app_id, uint64_t account_id,
                                    const char *scope, bool unconfirmed, struct token_grant *out,
                                    struct err *err)
{
    struct token_claims claims = {0};
    claims.unconfirmed = unconfirmed;
    claims.jti = idgen_next(c->ids);
    claims.account_id = account_id;
    claims.app_id = app_id;
    strcpy(claims.scope, scope);
    claims.iat_ms = clock_now_ms(c->clock);
    claims.exp_ms = c->token_ttl_ms ? claims.iat_ms + c->token_ttl_ms : 0;
    if (token_signer_sign(&c->signer, &claims, out->access_token, err))
        return GRANT_UNAVAILABLE;
    strcpy(out->scope, scope);
    out->created_at_ms = claims.iat_ms;
    out->account_id = account_id;
    return GRANT_OK;
}

static enum grant_error issue(struct core *c, uint64_t app_id, uint64_t account_id,
                              const char *scope, struct token_grant *out, struct err *err)
{
    return issue_token(c, app_id, account_id, scope, false, out, err);
}

/* Looks up the account a login names (toot and doorkeeper send the email as "username"; a
 * username works as well) and checks its password. Unknown accounts are checked against a
 * decoy hash of the same cost, so the answer takes as long and says as little either way. */
static enum grant_error check_password(struct core *c, const char *username, const char *password,
                                       struct arena *a, struct account **acct, struct err *err)
{
    int rc;
    *acct = NULL;
    if (!username || !*username || !password)
        return GRANT_INVALID_REQUEST;
    char *key = arena_strdup(a, username);
    if (strchr(key, '@')) {
        account_fold_case(key);
        rc = account_store_get_by_email(&c->accounts, key, a, acct, err);
    } else {
        rc = account_store_get_by_username(&c->accounts, key, a, acct, err);
    }
    if (rc && rc != ERR_NOT_FOUND)
        return GRANT_UNAVAILABLE;
    bool ok = password_hasher_verify(&c->passwords, *acct ? (*acct)->password_hash : c->dummy_hash,
                                     password);
    return *acct && ok ? GRANT_OK : GRANT_INVALID_GRANT;
}

/* With --require-email-confirmation, an account logs in only once its email is confirmed
 * (asked after the password check, so the answer tells nothing to who lacks the password). */
static enum grant_error check_confirmed(struct core *c, const struct account *acct, struct err *err)
{
    bool confirmed = false;
    if (!c->require_email_confirmation)
        return GRANT_OK;
    if (email_token_store_is_confirmed(&c->email_tokens, acct->id, &confirmed, err))
        return GRANT_UNAVAILABLE;
    return confirmed ? GRANT_OK : GRANT_UNCONFIRMED;
}

enum grant_error auth_password_grant(struct core *c, const char *client_id,
                                     const char *client_secret, const char *username,
                                     const char *password, const char *scope,
                                     struct token_grant *out, struct err *err)
{
    struct arena a;
    struct oauth_app *app;
    struct account *acct = NULL;
    char granted[OAUTH_SCOPES_MAX];
    arena_init(&a, 0);
    enum grant_error ge = client(c, client_id, client_secret, &a, &app, err);
    if (ge == GRANT_OK)
        ge = grant_scope(app, scope, granted);
    if (ge == GRANT_OK)
        ge = check_password(c, username, password, &a, &acct, err);
    if (ge == GRANT_OK)
        ge = check_confirmed(c, acct, err);
    if (ge == GRANT_OK)
        ge = issue(c, app->id, acct->id, granted, out, err);
    arena_release(&a);
    return ge;
}

static bool verifier_ok(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_' || ch == '~'))
            return false;
    }
    return true;
}

enum grant_error auth_authorize_check(struct core *c, const char *client_id,
                                      const char *redirect_uri, const char *scope,
                                      const char *challenge_method, struct arena *a,
                                      struct oauth_app **app, char granted[OAUTH_SCOPES_MAX])
{
    struct err err = {0};
    if (!client_id || !*client_id)
        return GRANT_INVALID_CLIENT;
    int rc = app_store_get_by_client_id(&c->apps, client_id, a, app, &err);
    if (rc)
        return store_error(rc);
    if (!redirect_uri || !oauth_redirect_uri_allowed(*app, redirect_uri))
        return GRANT_INVALID_REQUEST;
    if (challenge_method && *challenge_method && strcmp(challenge_method, "S256") != 0)
        return GRANT_INVALID_REQUEST;
    return grant_scope(*app, scope, granted);
}

enum grant_error auth_authorize(struct core *c, const struct authorize_request *r,
                                char code[AUTH_CODE_LEN], struct err *err)
{
    struct arena a;
    struct oauth_app *app;
    struct account *acct;
    char granted[OAUTH_SCOPES_MAX];
    arena_init(&a, 0);
    enum grant_error ge = auth_authorize_check(c, r->client_id, r->redirect_uri, r->scope,
                                               r->code_challenge_method, &a, &app, granted);
    const char *challenge = r->code_challenge && *r->code_challenge ? r->code_challenge : "-";
    if (ge == GRANT_OK && strlen(challenge) > 128)
        ge = GRANT_INVALID_REQUEST;
    if (ge == GRANT_OK)
        ge = check_password(c, r->username, r->password, &a, &acct, err);
    if (ge == GRANT_OK)
        ge = check_confirmed(c, acct, err);
    if (ge == GRANT_OK) {
        random_token(c->random, 32, code);
        char *payload =
            arena_sprintf(&a, "%llu\n%llu\n%s\n%s\n%s", (unsigned long long)app->id,
                          (unsigned long long)acct->id, granted, r->redirect_uri, challenge);
        ttlmap_put_str(c->auth_codes, code, payload, clock_now_ms(c->clock));
    }
    arena_release(&a);
    return ge;
}

enum grant_error auth_code_grant(struct core *c, const char *client_id, const char *client_secret,
                                 const char *code, const char *redirect_uri,
                                 const char *code_verifier, struct token_grant *out,
                                 struct err *err)
{
    struct arena a;
    struct oauth_app *app;
    arena_init(&a, 0);
    enum grant_error ge = client(c, client_id, client_secret, &a, &app, err);
    char *payload = NULL;
    if (ge == GRANT_OK && (!code || !*code || !redirect_uri))
        ge = GRANT_INVALID_REQUEST;
    if (ge == GRANT_OK) {
        /* Taken out even if the rest fails: a code is tried once. */
        payload = ttlmap_take_str(c->auth_codes, code, clock_now_ms(c->clock));
        if (!payload)
            ge = GRANT_INVALID_GRANT;
    }
    char *fields[5] = {0};
    if (ge == GRANT_OK) {
        char *p = payload;
        for (int i = 0; i < 5; i++) {
            fields[i] = p;
            p = i < 4 ? strchr(p, '\n') : NULL;
            if (i < 4) {
                ASSERT(p);
                *p++ = '\0';
            }
        }
        uint64_t app_id = 0, account_id = 0;
        ASSERT(id_parse(fields[0], &app_id) && id_parse(fields[1], &account_id));
        if (app_id != app->id || strcmp(fields[3], redirect_uri) != 0)
            ge = GRANT_INVALID_GRANT;
        else if (strcmp(fields[4], "-") != 0) {
            char digest[DIGEST_SHA256_B64_LEN];
            if (!verifier_ok(code_verifier))
                ge = GRANT_INVALID_GRANT;
            else {
                digest_sha256_b64url(code_verifier, strlen(code_verifier), digest);
                if (!secret_eq(digest, fields[4]))
                    ge = GRANT_INVALID_GRANT;
            }
        }
        if (ge == GRANT_OK)
            ge = issue(c, app->id, account_id, fields[2], out, err);
    }
    free(payload);
    arena_release(&a);
    return ge;
}

enum grant_error auth_client_credentials_grant(struct core *c, const char *client_id,
                                               const char *client_secret, const char *scope,
                                               struct token_grant *out, struct err *err)
{
    struct arena a;
    struct oauth_app *app;
    char granted[OAUTH_SCOPES_MAX];
    arena_init(&a, 0);
    enum grant_error ge = client(c, client_id, client_secret, &a, &app, err);
    if (ge == GRANT_OK)
        ge = grant_scope(app, scope, granted);
    if (ge == GRANT_OK)
        ge = issue(c, app->id, 0, granted, out, err);
    arena_release(&a);
    return ge;
}

enum grant_error auth_revoke(struct core *c, const char *client_id, const char *client_secret,
                             const char *token, struct err *err)
{
    struct arena a;
    struct oauth_app *app;
    struct token_claims claims;
    arena_init(&a, 0);
    enum grant_error ge = client(c, client_id, client_secret, &a, &app, err);
    if (ge == GRANT_OK && !token)
        ge = GRANT_INVALID_REQUEST;
    if (ge == GRANT_OK &&
        token_signer_verify(&c->signer, token, clock_now_ms(c->clock), &claims, NULL) == 0 &&
        claims.app_id == app->id) {
        struct events_draft d;
        events_draft_init(&d, c, &a, EVENTS_TOKEN_REVOKED, claims.account_id);
        d.jti = claims.jti;
        d.account_id = claims.account_id;
        int rc =
            token_store_revoke(&c->tokens, claims.jti, claims.account_id, d.at_ms, &d.emit, err);
        events_draft_done(&d, rc);
        if (rc)
            ge = GRANT_UNAVAILABLE;
    }
    arena_release(&a);
    return ge;
}

int auth_init(struct core *c, struct err *err)
{
    return password_hasher_hash(&c->passwords, "not a password of anyone", c->dummy_hash, err);
}

int auth_authenticate(struct core *c, const char *bearer, struct principal *out, struct err *err)
{
    bool revoked = false;
    if (!bearer || !*bearer)
        return err_set(err, ERR_FORBIDDEN, "no access token");
    if (token_signer_verify(&c->signer, bearer, clock_now_ms(c->clock), &out->claims, err))
        return ERR_FORBIDDEN;
    int rc =
        token_store_is_revoked(&c->tokens, out->claims.jti, out->claims.account_id, &revoked, err);
    if (rc)
        return rc;
    if (revoked)
        return err_set(err, ERR_FORBIDDEN, "token %llu was revoked",
                       (unsigned long long)out->claims.jti);
    out->email_unconfirmed = false;
    if (out->claims.unconfirmed && c->require_email_confirmation) {
        bool confirmed = false;
        rc = email_token_store_is_confirmed(&c->email_tokens, out->claims.account_id, &confirmed,
                                            err);
        if (rc)
            return rc;
        out->email_unconfirmed = !confirmed;
    }
    return 0;
}

/* A well-formed email token: exactly 43 base64url characters. */
static bool email_token_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n != AUTH_EMAIL_TOKEN_CHARS)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* Makes a token of kind for account_id, stores its hash (with emit's events), and writes the
 * token into out. */
static int email_token_new(struct core *c, enum email_token_kind kind, uint64_t account_id,
                           const struct outbox_emit *emit, char out[AUTH_EMAIL_TOKEN_LEN],
                           struct err *err)
{
    char hash[DIGEST_SHA256_B64_LEN];
    random_token(c->random, 32, out);
    digest_sha256_b64url(out, strlen(out), hash);
    int64_t now = clock_now_ms(c->clock);
    struct email_token t = {hash, kind, account_id, now, now + c->email_token_ttl_ms};
    return email_token_store_insert(&c->email_tokens, &t, emit, err);
}

int auth_sign_up(struct core *c, const struct principal *app_token, const struct signup_request *r,
                 struct token_grant *out, struct validation *v, struct err *err)
{
    struct arena a;
    struct account *existing;
    struct oauth_app *app;
    int rc;
    if (!c->registrations_open)
        return err_set(err, ERR_FORBIDDEN, "registrations are closed");
    if (!oauth_scope_allows(app_token->claims.scope, "write:accounts"))
        return err_set(err, ERR_FORBIDDEN, "token lacks write:accounts");
    account_check_username(r->username, v);
    account_check_email(r->email, v);
    account_check_password(r->password, v);
    if (!r->agreement)
        validation_add(v, "agreement", "ERR_ACCEPTED", "must be accepted");
    if (r->locale && strlen(r->locale) > 16)
        validation_add(v, "locale", "ERR_INCLUSION", "is not included in the list");
    arena_init(&a, 0);
    char *email = r->email ? arena_strdup(&a, r->email) : NULL;
    if (email)
        account_fold_case(email);
    if (validation_ok(v)) {
        rc = account_store_get_by_username(&c->accounts, r->username, &a, &existing, err);
        if (rc == 0)
            validation_add(v, "username", "ERR_TAKEN", "is already taken");
        else if (rc != ERR_NOT_FOUND)
            goto out;
        rc = account_store_get_by_email(&c->accounts, email, &a, &existing, err);
        if (rc == 0)
            validation_add(v, "email", "ERR_TAKEN", "is already taken");
        else if (rc != ERR_NOT_FOUND)
            goto out;
    }
    if (!validation_ok(v)) {
        rc = ERR_INVALID;
        goto out;
    }
    rc = app_store_get(&c->apps, app_token->claims.app_id, &a, &app, err);
    if (rc) {
        rc = rc == ERR_NOT_FOUND ? err_set(err, ERR_FORBIDDEN, "app is gone") : rc;
        goto out;
    }
    char hash[PASSWORD_HASH_MAX];
    rc = password_hasher_hash(&c->passwords, r->password, hash, err);
    if (rc)
        goto out;
    struct account acct = {0};
    acct.id = idgen_next(c->ids);
    acct.username = r->username;
    acct.email = email;
    acct.display_name = "";
    acct.note = "";
    acct.password_hash = hash;
    acct.discoverable = true;
    acct.created_at_ms = clock_now_ms(c->clock);
    /* The confirmation token is stored first (a sign-up that then fails leaves an orphan token
     * that expires), so the event never carries a token that does not exist. */
    char token[AUTH_EMAIL_TOKEN_LEN];
    rc = email_token_new(c, EMAIL_TOKEN_CONFIRM, acct.id, NULL, token, err);
    if (rc)
        goto out;
    struct events_draft d;
    events_draft_init(&d, c, &a, EVENTS_ACCOUNT_CREATED, acct.id);
    d.account = events_account_json(&d, &acct);
    d.email = email;
    d.locale = r->locale && *r->locale ? r->locale : "en";
    d.token = token;
    rc = account_store_insert(&c->accounts, &acct, &d.emit, err);
    events_draft_done(&d, rc);
    if (rc == ERR_CONFLICT) {
        /* Lost a race with another sign-up between the checks and the insert. */
        validation_add(v, "username", "ERR_TAKEN", "is already taken");
        rc = ERR_INVALID;
        goto out;
    }
    if (rc)
        goto out;
    /* With confirmation required, the sign-up's token is marked: it is refused on endpoints that
     * need a user until the email is confirmed (as Mastodon's require_user!). */
    rc = issue_token(c, app->id, acct.id, app->scopes, c->require_email_confirmation, out, err) ==
                 GRANT_OK
             ? 0
             : ERR_INTERNAL;
out:
    arena_release(&a);
    return rc;
}

int auth_update_profile(struct core *c, uint64_t account_id, const struct profile_update *u,
                        struct arena *a, struct account **out, struct validation *v,
                        struct err *err)
{
    struct account *acct;
    if (u->display_name)
        account_check_display_name(u->display_name, v);
    if (u->note)
        account_check_note(u->note, v);
    if (!validation_ok(v))
        return ERR_INVALID;
    int rc = account_store_get(&c->accounts, account_id, a, &acct, err);
    if (rc)
        return rc;
    struct account next = *acct;
    if (u->display_name)
        next.display_name = u->display_name;
    if (u->note)
        next.note = u->note;
    if (u->locked >= 0)
        next.locked = u->locked;
    if (u->bot >= 0)
        next.bot = u->bot;
    if (u->discoverable >= 0)
        next.discoverable = u->discoverable;
    struct events_draft d;
    events_draft_init(&d, c, a, EVENTS_ACCOUNT_UPDATED, account_id);
    d.account = events_account_json(&d, &next);
    rc = account_store_update_profile(&c->accounts, &next, &d.emit, err);
    events_draft_done(&d, rc);
    if (rc)
        return rc;
    return account_store_get(&c->accounts, account_id, a, out, err);
}

int auth_confirm_email(struct core *c, const char *token, struct err *err)
{
    char hash[DIGEST_SHA256_B64_LEN];
    uint64_t account_id;
    if (!email_token_ok(token))
        return err_set(err, ERR_NOT_FOUND, "malformed confirmation token");
    digest_sha256_b64url(token, strlen(token), hash);
    return email_token_store_use(&c->email_tokens, EMAIL_TOKEN_CONFIRM, hash,
                                 clock_now_ms(c->clock), NULL, 0, NULL, &account_id, err);
}

int auth_request_password_reset(struct core *c, const char *email, struct err *err)
{
    struct arena a;
    struct account *acct;
    struct validation v = {0};
    if (!email || !account_check_email(email, &v))
        return 0;
    arena_init(&a, 0);
    char *key = arena_strdup(&a, email);
    account_fold_case(key);
    int rc = account_store_get_by_email(&c->accounts, key, &a, &acct, err);
    if (rc == ERR_NOT_FOUND) {
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    char token[AUTH_EMAIL_TOKEN_LEN];
    struct events_draft d;
    events_draft_init(&d, c, &a, EVENTS_PASSWORD_RESET_REQUESTED, acct->id);
    d.account = events_account_json(&d, acct);
    d.email = acct->email;
    d.token = token; /* filled by email_token_new before the store builds the event */
    rc = email_token_new(c, EMAIL_TOKEN_RESET, acct->id, &d.emit, token, err);
    events_draft_done(&d, rc);
out:
    arena_release(&a);
    return rc;
}

int auth_reset_password(struct core *c, const char *token, const char *password,
                        struct validation *v, struct err *err)
{
    char hash[DIGEST_SHA256_B64_LEN], pw[PASSWORD_HASH_MAX];
    uint64_t account_id;
    if (!account_check_password(password, v))
        return ERR_INVALID;
    if (!email_token_ok(token))
        return err_set(err, ERR_NOT_FOUND, "malformed reset token");
    int rc = password_hasher_hash(&c->passwords, password, pw, err);
    if (rc)
        return rc;
    digest_sha256_b64url(token, strlen(token), hash);
    /* As Mastodon, a reset signs the account out everywhere: every access token issued before
     * it (jti below a fresh id) is revoked, and account.tokens_revoked says so. */
    struct arena a;
    arena_init(&a, 1024);
    struct events_draft d;
    events_draft_init(&d, c, &a, EVENTS_TOKENS_REVOKED, 0);
    d.jti = idgen_next(c->ids);
    rc = email_token_store_use(&c->email_tokens, EMAIL_TOKEN_RESET, hash, d.at_ms, pw, d.jti,
                               &d.emit, &account_id, err);
    events_draft_done(&d, rc);
    arena_release(&a);
    return rc;
}
