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
    c.accounts = account_store_mem_new();
    c.apps = app_store_mem_new();
    c.tokens = token_store_mem_new();
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
