/* test_auth.c - use cases of apps, grants, sign-up and authentication against the mem
 * stores, a fake clock and real Ed25519/Argon2id at minimum cost. */
#include "services/threadly/adapters/http/api.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/adapters/sodium/crypto_sodium.h"
#include "services/threadly/app/auth.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t now = 1795957323004LL;
static const struct clock fake_clock = {clock_fake_now_ms, &now};
static struct idgen ids;
static struct core c;
static struct mem_db *db;
static struct instance_settings settings = {.base_url = "https://t.example", .domain = "t.example"};
static struct api api = {.core = &c, .settings = &settings};
static char keydir[64];

static void setup(void)
{
    struct err err = {0};
    cr_assert_eq(crypto_sodium_init(&err), 0);
    snprintf(keydir, sizeof(keydir), "/tmp/threadly-auth-XXXXXX");
    cr_assert_not_null(mkdtemp(keydir));
    char key[128];
    snprintf(key, sizeof(key), "%s/k", keydir);
    memset(&c, 0, sizeof(c));
    idgen_init(&ids, 1, &fake_clock);
    db = mem_db_new();
    c.accounts = account_store_mem(db);
    c.apps = app_store_mem_new();
    c.tokens = token_store_mem(db);
    c.email_tokens = email_token_store_mem(db);
    c.email_token_ttl_ms = 60 * 1000;
    c.passwords = password_hasher_sodium_new(1, 8);
    cr_assert_eq(token_signer_sodium_open(key, &c.signer, &err), 0, "%s", err.msg);
    c.clock = &fake_clock;
    c.random = &random_system;
    c.ids = &ids;
    c.registrations_open = true;
    c.encoder = event_encoder_http(&api);
    cr_assert_eq(auth_init(&c, &err), 0);
}

static void teardown(void)
{
    account_store_close(&c.accounts);
    app_store_close(&c.apps);
    token_store_close(&c.tokens);
    email_token_store_close(&c.email_tokens);
    mem_db_free(db);
    password_hasher_sodium_free(&c.passwords);
    token_signer_sodium_free(&c.signer);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", keydir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(auth, .init = setup, .fini = teardown);

static struct oauth_app *make_app(struct arena *a, const char *scopes)
{
    struct validation v = {0};
    struct oauth_app *app;
    struct app_request r = {"toot", "urn:ietf:wg:oauth:2.0:oob", scopes, NULL};
    cr_assert_eq(auth_create_app(&c, &r, a, &app, &v, NULL), 0);
    return app;
}

static char signup_token[TOKEN_MAX]; /* the token of the last sign_up */

static uint64_t sign_up(struct oauth_app *app, const char *user, const char *email)
{
    struct token_grant g;
    struct principal p;
    struct validation v = {0};
    struct err err = {0};
    cr_assert_eq(
        auth_client_credentials_grant(&c, app->client_id, app->client_secret, NULL, &g, &err),
        GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, &err), 0, "%s", err.msg);
    struct signup_request r = {user, email, "correct horse", true, "en"};
    cr_assert_eq(auth_sign_up(&c, &p, &r, &g, &v, &err), 0, "%s", err.msg);
    memcpy(signup_token, g.access_token, sizeof(signup_token));
    return g.account_id;
}

Test(auth, app_validation)
{
    struct arena a;
    arena_init(&a, 0);
    struct oauth_app *app;
    struct validation v = {0};
    struct app_request bad = {"", "not a uri", "read bogus", "javascript alert"};
    cr_assert_eq(auth_create_app(&c, &bad, &a, &app, &v, NULL), ERR_INVALID);
    cr_assert_eq(v.n, 4);
    app = make_app(&a, "read write follow push");
    cr_assert_str_eq(app->scopes, "read write follow push");
    cr_assert_eq(strlen(app->client_id), 43);
    cr_assert_str_neq(app->client_id, app->client_secret);
    struct oauth_app *defaulted = make_app(&a, NULL);
    cr_assert_str_eq(defaulted->scopes, "read");
    arena_release(&a);
}

Test(auth, password_grant_by_email_or_username)
{
    struct arena a;
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write follow push");
    uint64_t alice = sign_up(app, "Alice", "Alice@Example.org");
    struct token_grant g;
    struct principal p;
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "alice@example.ORG",
                                     "correct horse", "read write follow", &g, NULL),
                 GRANT_OK);
    cr_assert_str_eq(g.scope, "read write follow");
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), 0);
    cr_assert_eq(p.claims.account_id, alice);
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "ALICE",
                                     "correct horse", NULL, &g, NULL),
                 GRANT_OK);
    cr_assert_str_eq(g.scope, "read write follow push");
    arena_release(&a);
}

Test(auth, refusals_say_nothing_about_who_exists)
{
    struct arena a;
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write");
    sign_up(app, "bob", "bob@example.org");
    struct token_grant g;
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "bob",
                                     "wrong password", NULL, &g, NULL),
                 GRANT_INVALID_GRANT);
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "nobody",
                                     "wrong password", NULL, &g, NULL),
                 GRANT_INVALID_GRANT);
    cr_assert_eq(auth_password_grant(&c, app->client_id, "bad secret", "bob", "correct horse", NULL,
                                     &g, NULL),
                 GRANT_INVALID_CLIENT);
    cr_assert_eq(
        auth_password_grant(&c, "no such client", "x", "bob", "correct horse", NULL, &g, NULL),
        GRANT_INVALID_CLIENT);
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "bob", "correct horse",
                                     "read write push", &g, NULL),
                 GRANT_INVALID_SCOPE);
    arena_release(&a);
}

Test(auth, sign_up_validation_and_uniqueness)
{
    struct arena a;
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write");
    sign_up(app, "carol", "carol@example.org");
    struct token_grant g;
    struct principal p;
    cr_assert_eq(
        auth_client_credentials_grant(&c, app->client_id, app->client_secret, NULL, &g, NULL),
        GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), 0);
    struct validation v = {0};
    struct signup_request taken = {"CAROL", "Carol@example.org", "correct horse", true, "en"};
    cr_assert_eq(auth_sign_up(&c, &p, &taken, &g, &v, NULL), ERR_INVALID);
    cr_assert_eq(v.n, 2);
    cr_assert_str_eq(v.items[0].code, "ERR_TAKEN");
    cr_assert_str_eq(v.items[1].field, "email");
    memset(&v, 0, sizeof(v));
    struct signup_request bad = {"bad name!", "no-at-sign", "short", false, "en"};
    cr_assert_eq(auth_sign_up(&c, &p, &bad, &g, &v, NULL), ERR_INVALID);
    cr_assert_eq(v.n, 4);
    memset(&v, 0, sizeof(v));
    struct signup_request reserved = {"admin", "a@example.org", "correct horse", true, "en"};
    cr_assert_eq(auth_sign_up(&c, &p, &reserved, &g, &v, NULL), ERR_INVALID);
    cr_assert_str_eq(v.items[0].code, "ERR_RESERVED");
    c.registrations_open = false;
    memset(&v, 0, sizeof(v));
    struct signup_request ok = {"dave", "dave@example.org", "correct horse", true, "en"};
    cr_assert_eq(auth_sign_up(&c, &p, &ok, &g, &v, NULL), ERR_FORBIDDEN);
    int64_t n;
    cr_assert_eq(account_store_count(&c.accounts, &n, NULL), 0);
    cr_assert_eq(n, 1);
    arena_release(&a);
}

Test(auth, revoked_forged_and_expired_tokens_are_refused)
{
    struct arena a;
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write");
    sign_up(app, "erin", "erin@example.org");
    struct token_grant g;
    struct principal p;
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "erin",
                                     "correct horse", NULL, &g, NULL),
                 GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), 0);
    /* a flipped character in the payload breaks the signature */
    char forged[TOKEN_MAX];
    strcpy(forged, g.access_token);
    char *dot = strchr(forged, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    cr_assert_eq(auth_authenticate(&c, forged, &p, NULL), ERR_FORBIDDEN);
    cr_assert_eq(auth_authenticate(&c, "", &p, NULL), ERR_FORBIDDEN);
    cr_assert_eq(auth_authenticate(&c, "a.b.c", &p, NULL), ERR_FORBIDDEN);
    cr_assert_eq(auth_authenticate(&c, NULL, &p, NULL), ERR_FORBIDDEN);
    /* "alg":"none" with the same payload */
    char none[TOKEN_MAX];
    snprintf(none, sizeof(none), "eyJhbGciOiJub25lIn0%s", strchr(g.access_token, '.'));
    cr_assert_eq(auth_authenticate(&c, none, &p, NULL), ERR_FORBIDDEN);
    /* revocation by another app is ignored; by the issuing app it sticks */
    struct oauth_app *other = make_app(&a, "read");
    cr_assert_eq(auth_revoke(&c, other->client_id, other->client_secret, g.access_token, NULL),
                 GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), 0);
    cr_assert_eq(auth_revoke(&c, app->client_id, app->client_secret, g.access_token, NULL),
                 GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), ERR_FORBIDDEN);
    /* expiry */
    c.token_ttl_ms = 1000;
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "erin",
                                     "correct horse", NULL, &g, NULL),
                 GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), 0);
    now += 2000;
    cr_assert_eq(auth_authenticate(&c, g.access_token, &p, NULL), ERR_FORBIDDEN);
    arena_release(&a);
}

Test(auth, scopes)
{
    cr_assert(oauth_scope_allows("read write follow", "read:accounts"));
    cr_assert(oauth_scope_allows("write", "write:accounts"));
    cr_assert(oauth_scope_allows("follow", "write:follows"));
    cr_assert_not(oauth_scope_allows("read", "write:statuses"));
    cr_assert_not(oauth_scope_allows("read:statuses", "read:accounts"));
    cr_assert(oauth_scopes_subset("read:accounts write", "read write"));
    cr_assert_not(oauth_scopes_subset("push", "read write follow"));
    cr_assert(oauth_scopes_valid("read+write+follow"));
    cr_assert_not(oauth_scopes_valid(""));
    cr_assert_not(oauth_scopes_valid("read superuser"));
    char out[OAUTH_SCOPES_MAX];
    oauth_scopes_normalise(" read+write  read ", out);
    cr_assert_str_eq(out, "read write");
}

/* ---- email confirmation and password reset ---- */

/* The string value of "field" in the data of the newest outbox event of type, copied into buf. */
static void last_event_field(const char *type, const char *field, char *buf, size_t size)
{
    struct outbox_store o = outbox_store_mem(db);
    struct arena a;
    struct outbox_row *rows;
    size_t n = 0;
    arena_init(&a, 0);
    cr_assert_eq(outbox_store_list(&o, 0, 1000, &a, &rows, &n, NULL), 0);
    buf[0] = '\0';
    for (size_t i = n; i-- > 0;) {
        if (strcmp(rows[i].event.type, type) != 0)
            continue;
        char key[64];
        snprintf(key, sizeof(key), "\"%s\":\"", field);
        const char *p = strstr(rows[i].event.data, key);
        cr_assert_not_null(p, "%s has no %s: %s", type, field, rows[i].event.data);
        p += strlen(key);
        size_t len = strcspn(p, "\"");
        cr_assert_lt(len, size);
        memcpy(buf, p, len);
        buf[len] = '\0';
        break;
    }
    cr_assert_neq(buf[0], '\0', "no %s event", type);
    arena_release(&a);
}

static enum grant_error login(struct oauth_app *app, const char *user, const char *pw)
{
    struct token_grant g;
    struct err err = {0};
    return auth_password_grant(&c, app->client_id, app->client_secret, user, pw, NULL, &g, &err);
}

Test(auth, confirmation_token_is_single_use_and_gates_login_when_required)
{
    struct arena a;
    struct err err = {0};
    char token[AUTH_EMAIL_TOKEN_LEN];
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write");
    c.require_email_confirmation = true;
    sign_up(app, "conf", "conf@example.org");
    last_event_field("account.created", "confirmation_token", token, sizeof(token));
    cr_assert_eq(strlen(token), AUTH_EMAIL_TOKEN_CHARS);
    cr_assert_eq(login(app, "conf", "correct horse"), GRANT_UNCONFIRMED);
    /* the wrong password says nothing about confirmation */
    cr_assert_eq(login(app, "conf", "wrong horse!"), GRANT_INVALID_GRANT);
    cr_assert_eq(auth_confirm_email(&c, "short", &err), ERR_NOT_FOUND);
    char other[AUTH_EMAIL_TOKEN_LEN];
    strcpy(other, token);
    other[0] = other[0] == 'A' ? 'B' : 'A';
    cr_assert_eq(auth_confirm_email(&c, other, &err), ERR_NOT_FOUND);
    struct principal who;
    cr_assert_eq(auth_authenticate(&c, signup_token, &who, &err), 0, "%s", err.msg);
    cr_assert(who.claims.unconfirmed && who.email_unconfirmed, "the sign-up token is marked");
    cr_assert_eq(auth_confirm_email(&c, token, &err), 0, "%s", err.msg);
    cr_assert_eq(auth_confirm_email(&c, token, &err), ERR_NOT_FOUND, "single use");
    cr_assert_eq(login(app, "conf", "correct horse"), GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, signup_token, &who, &err), 0, "%s", err.msg);
    cr_assert_not(who.email_unconfirmed, "and works once confirmed");
    c.require_email_confirmation = false;
    arena_release(&a);
}

Test(auth, confirmation_token_expires)
{
    struct arena a;
    struct err err = {0};
    char token[AUTH_EMAIL_TOKEN_LEN];
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write");
    c.require_email_confirmation = true;
    sign_up(app, "late", "late@example.org");
    last_event_field("account.created", "confirmation_token", token, sizeof(token));
    now += c.email_token_ttl_ms;
    cr_assert_eq(auth_confirm_email(&c, token, &err), ERR_INVALID, "expired");
    now -= 1;
    cr_assert_eq(auth_confirm_email(&c, token, &err), 0, "%s", err.msg);
    cr_assert_eq(login(app, "late", "correct horse"), GRANT_OK);
    c.require_email_confirmation = false;
    arena_release(&a);
}

Test(auth, password_reset)
{
    struct arena a;
    struct err err = {0};
    struct validation v = {0};
    char token[AUTH_EMAIL_TOKEN_LEN], first[AUTH_EMAIL_TOKEN_LEN], email[64];
    arena_init(&a, 0);
    struct oauth_app *app = make_app(&a, "read write");
    sign_up(app, "forgetful", "Forgetful@example.org");
    /* unknown and malformed addresses: no error, no event */
    cr_assert_eq(auth_request_password_reset(&c, "nobody@example.org", &err), 0);
    cr_assert_eq(auth_request_password_reset(&c, "not an email", &err), 0);
    cr_assert_eq(auth_request_password_reset(&c, "FORGETFUL@example.org", &err), 0, "%s", err.msg);
    last_event_field("account.password_reset_requested", "reset_token", first, sizeof(first));
    last_event_field("account.password_reset_requested", "email", email, sizeof(email));
    cr_assert_str_eq(email, "forgetful@example.org");
    cr_assert_eq(auth_request_password_reset(&c, "forgetful@example.org", &err), 0);
    last_event_field("account.password_reset_requested", "reset_token", token, sizeof(token));
    cr_assert_str_neq(token, first);
    /* a short password uses nothing */
    cr_assert_eq(auth_reset_password(&c, token, "short", &v, &err), ERR_INVALID);
    cr_assert_gt(v.n, 0);
    memset(&v, 0, sizeof(v));
    struct token_grant before;
    struct principal who;
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "forgetful",
                                     "correct horse", NULL, &before, &err),
                 GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, before.access_token, &who, &err), 0);
    cr_assert_eq(auth_reset_password(&c, token, "brand new pass", &v, &err), 0, "%s", err.msg);
    cr_assert_eq(auth_authenticate(&c, before.access_token, &who, &err), ERR_FORBIDDEN,
                 "a reset signs the account out everywhere");
    char below[32];
    last_event_field("account.tokens_revoked", "revoked_below_jti", below, sizeof(below));
    cr_assert_eq(login(app, "forgetful", "correct horse"), GRANT_INVALID_GRANT);
    cr_assert_eq(login(app, "forgetful", "brand new pass"), GRANT_OK);
    struct token_grant after;
    cr_assert_eq(auth_password_grant(&c, app->client_id, app->client_secret, "forgetful",
                                     "brand new pass", NULL, &after, &err),
                 GRANT_OK);
    cr_assert_eq(auth_authenticate(&c, after.access_token, &who, &err), 0, "%s", err.msg);
    cr_assert_eq(auth_reset_password(&c, token, "another pass!", &v, &err), ERR_NOT_FOUND);
    /* the earlier link died with the reset */
    cr_assert_eq(auth_reset_password(&c, first, "another pass!", &v, &err), ERR_NOT_FOUND);
    cr_assert_eq(auth_confirm_email(&c, token, &err), ERR_NOT_FOUND);
    arena_release(&a);
}
