/* test_store_contract.c - contract tests of the account, app and token store ports: every
 * CONTRACT case runs against each adapter (mem, sqlite on a fresh temporary file, and pgsql on
 * a fresh schema of TEST_PG_URL). The sqlite_db and pgsql_db suites cover what only the
 * database does: persistence, migrations, threads, reconnection. */
#include "lib/base/arena.h"
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"
#include "tests/unit/contract_fixture.h"
#include "tests/unit/pgsql_testdb.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* ---- the stores under test (fixture and CONTRACT: contract_fixture.h) ---- */

static void open_stores(struct fixture *f, enum adapter kind)
{
    if (kind == ADAPTER_MEM) {
        f->accounts = account_store_mem_new();
        f->apps = app_store_mem_new();
        f->tokens = token_store_mem_new();
    } else if (kind == ADAPTER_PGSQL) {
        f->accounts = account_store_pgsql(f->pg);
        f->apps = app_store_pgsql(f->pg);
        f->tokens = token_store_pgsql(f->pg);
    } else {
        f->accounts = account_store_sqlite(f->db);
        f->apps = app_store_sqlite(f->db);
        f->tokens = token_store_sqlite(f->db);
    }
}

static void close_stores(struct fixture *f)
{
    account_store_close(&f->accounts);
    app_store_close(&f->apps);
    token_store_close(&f->tokens);
}

const struct contract_suite contract_suite = {"threadly-store", open_stores, close_stores};

/* ---- sample data: quotes, UTF-8 and SQL that must come back unchanged ---- */

#define TRICKY_NAME "Zoë \"Z\" O'Brien 🧵"
#define TRICKY_NOTE "'; DROP TABLE accounts; --\nline two\t\\ %s %n ?1 :x"

static struct account sample_account(uint64_t id, const char *username, const char *email)
{
    return (struct account){
        .id = id,
        .username = username,
        .email = email,
        .display_name = TRICKY_NAME,
        .note = TRICKY_NOTE,
        .password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
        .locked = true,
        .bot = false,
        .discoverable = true,
        .created_at_ms = 1795957323004,
        .statuses_count = 3,
        .followers_count = INT64_C(1) << 40,
        .following_count = 7,
        .last_status_at_ms = 1795957399999,
    };
}

static void assert_account_eq(const struct account *got, const struct account *want)
{
    cr_assert_eq(got->id, want->id);
    cr_assert_str_eq(got->username, want->username);
    cr_assert_str_eq(got->email, want->email);
    cr_assert_str_eq(got->display_name, want->display_name);
    cr_assert_str_eq(got->note, want->note);
    cr_assert_str_eq(got->password_hash, want->password_hash);
    cr_assert_eq(got->locked, want->locked);
    cr_assert_eq(got->bot, want->bot);
    cr_assert_eq(got->discoverable, want->discoverable);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
    cr_assert_eq(got->statuses_count, want->statuses_count);
    cr_assert_eq(got->followers_count, want->followers_count);
    cr_assert_eq(got->following_count, want->following_count);
    cr_assert_eq(got->last_status_at_ms, want->last_status_at_ms);
}

static struct oauth_app sample_app(uint64_t id, const char *client_id)
{
    return (struct oauth_app){
        .id = id,
        .name = "toot 'cli' \"β\"",
        .website = "https://toot.example/?a=1&b='2'",
        .redirect_uris = "urn:ietf:wg:oauth:2.0:oob\nhttps://app.example/cb",
        .scopes = "read write follow push",
        .client_id = client_id,
        .client_secret = "s3cr3t'; DROP TABLE oauth_apps; --",
        .created_at_ms = 1795957323004,
    };
}

static void assert_app_eq(const struct oauth_app *got, const struct oauth_app *want)
{
    cr_assert_eq(got->id, want->id);
    cr_assert_str_eq(got->name, want->name);
    cr_assert_str_eq(got->website, want->website);
    cr_assert_str_eq(got->redirect_uris, want->redirect_uris);
    cr_assert_str_eq(got->scopes, want->scopes);
    cr_assert_str_eq(got->client_id, want->client_id);
    cr_assert_str_eq(got->client_secret, want->client_secret);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
}

static int64_t account_count(struct fixture *f)
{
    int64_t n = -1;
    cr_assert_eq(account_store_count(&f->accounts, &n, &f->err), 0, "%s", f->err.msg);
    return n;
}

static void insert_ok(struct fixture *f, const struct account *acct)
{
    cr_assert_eq(account_store_insert(&f->accounts, acct, NULL, &f->err), 0, "%s", f->err.msg);
}

/* ---- account_store ---- */

CONTRACT(account_store, insert_get_round_trips_every_field)
{
    struct account want = sample_account(UINT64_C(9223372036854775807), "Zoe_1", "zoe@x.example");
    insert_ok(f, &want);
    struct account *got = NULL;
    cr_assert_eq(account_store_get(&f->accounts, want.id, &f->a, &got, &f->err), 0, "%s",
                 f->err.msg);
    assert_account_eq(got, &want);

    /* The other value of every flag, zero counters. */
    struct account other = sample_account(2, "bob", "o'brien@x.example");
    other.locked = false;
    other.bot = true;
    other.discoverable = false;
    other.statuses_count = other.followers_count = other.following_count = 0;
    other.last_status_at_ms = 0;
    other.display_name = "";
    other.note = "";
    insert_ok(f, &other);
    cr_assert_eq(account_store_get(&f->accounts, 2, &f->a, &got, &f->err), 0);
    assert_account_eq(got, &other);
}

CONTRACT(account_store, strings_are_copied_both_ways)
{
    /* The store keeps its own copy of what it was given ... */
    char username[] = "carol", email[] = "carol@x.example", note[] = "original";
    struct account acct = sample_account(3, username, email);
    acct.note = note;
    insert_ok(f, &acct);
    username[0] = email[0] = note[0] = 'X';
    struct account *got = NULL;
    cr_assert_eq(account_store_get(&f->accounts, 3, &f->a, &got, &f->err), 0);
    cr_assert_str_eq(got->username, "carol");
    cr_assert_str_eq(got->note, "original");
    /* ... and hands out copies, never its own strings. */
    ((char *)got->username)[0] = 'Y';
    ((char *)got->note)[0] = 'Y';
    struct account *again = NULL;
    cr_assert_eq(
        account_store_get_by_email(&f->accounts, "carol@x.example", &f->a, &again, &f->err), 0,
        "%s", f->err.msg);
    cr_assert_neq(again, got);
    cr_assert_str_eq(again->username, "carol");
    cr_assert_str_eq(again->note, "original");
}

CONTRACT(account_store, get_many_in_order_with_gaps_and_repeats)
{
    struct account big = sample_account(UINT64_C(9223372036854775807), "Zoe_1", "zoe@x.example");
    struct account bob = sample_account(2, "bob", "bob@x.example");
    insert_ok(f, &big);
    insert_ok(f, &bob);
    /* Empty input: nothing asked, nothing written. */
    struct account *none[1] = {(struct account *)&big};
    cr_assert_eq(account_store_get_many(&f->accounts, NULL, 0, &f->a, none, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_eq(none[0], &big);

    const uint64_t ids[] = {2, 42, UINT64_C(9223372036854775807), 2, 7, 2};
    struct account *got[6];
    cr_assert_eq(account_store_get_many(&f->accounts, ids, 6, &f->a, got, &f->err), 0, "%s",
                 f->err.msg);
    assert_account_eq(got[0], &bob);
    cr_assert_null(got[1]);
    assert_account_eq(got[2], &big);
    assert_account_eq(got[3], &bob);
    cr_assert_null(got[4]);
    assert_account_eq(got[5], &bob);

    /* One id, present and absent. */
    cr_assert_eq(account_store_get_many(&f->accounts, ids, 1, &f->a, got, &f->err), 0);
    assert_account_eq(got[0], &bob);
    cr_assert_eq(account_store_get_many(&f->accounts, ids + 1, 1, &f->a, got, &f->err), 0);
    cr_assert_null(got[0]);

    /* Only missing ids. */
    const uint64_t missing[] = {41, 42};
    cr_assert_eq(account_store_get_many(&f->accounts, missing, 2, &f->a, got, &f->err), 0);
    cr_assert_null(got[0]);
    cr_assert_null(got[1]);
}

CONTRACT(account_store, get_many_splits_large_batches)
{
    struct account bob = sample_account(2, "bob", "bob@x.example");
    insert_ok(f, &bob);
    enum { N = 2 * ACCOUNT_STORE_BATCH_MAX + 3 };
    uint64_t ids[N];
    struct account *got[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = i % 2 ? 2 : 1000 + i;
    cr_assert_eq(account_store_get_many(&f->accounts, ids, N, &f->a, got, &f->err), 0, "%s",
                 f->err.msg);
    for (size_t i = 0; i < N; i++) {
        if (i % 2)
            cr_assert(got[i] && got[i]->id == 2 && !strcmp(got[i]->username, "bob"), "%zu", i);
        else
            cr_assert_null(got[i], "%zu", i);
    }
}

CONTRACT(account_store, missing_is_not_found)
{
    struct account *got = NULL;
    cr_assert_eq(account_store_get(&f->accounts, 42, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(f->err.code, ERR_NOT_FOUND);
    insert_ok(f,
              &(struct account){
                  .id = 1, .username = "alice", .email = "alice@x.example", .password_hash = "h"});
    cr_assert_eq(account_store_get(&f->accounts, 42, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(account_store_get_by_username(&f->accounts, "alicia", &f->a, &got, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(account_store_get_by_username(&f->accounts, "' OR 1=1 --", &f->a, &got, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(account_store_get_by_email(&f->accounts, "bob@x.example", &f->a, &got, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(account_store_get_by_email(&f->accounts, "' OR ''='", &f->a, &got, &f->err),
                 ERR_NOT_FOUND);
}

CONTRACT(account_store, null_profile_strings_are_stored_empty)
{
    insert_ok(f,
              &(struct account){
                  .id = 1, .username = "alice", .email = "alice@x.example", .password_hash = "h"});
    struct account *got = NULL;
    cr_assert_eq(account_store_get(&f->accounts, 1, &f->a, &got, &f->err), 0);
    cr_assert_str_eq(got->display_name, "");
    cr_assert_str_eq(got->note, "");
}

CONTRACT(account_store, conflicts_change_nothing)
{
    struct account alice = sample_account(1, "Alice", "alice@x.example");
    insert_ok(f, &alice);
    cr_assert_eq(account_count(f), 1);

    struct account dup_id = sample_account(1, "other", "other@x.example");
    struct account dup_name = sample_account(2, "alice", "alice2@x.example");
    struct account dup_name_upper = sample_account(3, "ALICE", "alice3@x.example");
    struct account dup_email = sample_account(4, "alice4", "alice@x.example");
    const struct account *dups[] = {&dup_id, &dup_name, &dup_name_upper, &dup_email};
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        f->err.code = ERR_OK;
        cr_assert_eq(account_store_insert(&f->accounts, dups[i], NULL, &f->err), ERR_CONFLICT,
                     "duplicate %zu accepted", i);
        cr_assert_eq(f->err.code, ERR_CONFLICT);
        cr_assert_eq(account_count(f), 1, "duplicate %zu changed the count", i);
    }
    struct account *got = NULL;
    cr_assert_eq(account_store_get(&f->accounts, 1, &f->a, &got, &f->err), 0);
    assert_account_eq(got, &alice);
    for (uint64_t id = 2; id <= 4; id++)
        cr_assert_eq(account_store_get(&f->accounts, id, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(account_store_get_by_email(&f->accounts, "other@x.example", &f->a, &got, &f->err),
                 ERR_NOT_FOUND);

    /* The store still accepts what does not collide. */
    insert_ok(
        f, &(struct account){
               .id = 5, .username = "alice5", .email = "alice5@x.example", .password_hash = "h"});
    cr_assert_eq(account_count(f), 2);
}

CONTRACT(account_store, get_by_username_ignores_case)
{
    struct account alice = sample_account(1, "Alice", "alice@x.example");
    insert_ok(f, &alice);
    const char *spellings[] = {"Alice", "alice", "ALICE", "aLiCe"};
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        struct account *got = NULL;
        cr_assert_eq(
            account_store_get_by_username(&f->accounts, spellings[i], &f->a, &got, &f->err), 0,
            "%s: %s", spellings[i], f->err.msg);
        assert_account_eq(got, &alice); /* username comes back as typed: "Alice" */
    }
}

CONTRACT(account_store, get_by_email)
{
    struct account a1 = sample_account(1, "alice", "alice@x.example");
    struct account a2 = sample_account(2, "bob", "o'brien+\"tag\"@x.example");
    insert_ok(f, &a1);
    insert_ok(f, &a2);
    struct account *got = NULL;
    cr_assert_eq(
        account_store_get_by_email(&f->accounts, "o'brien+\"tag\"@x.example", &f->a, &got, &f->err),
        0, "%s", f->err.msg);
    assert_account_eq(got, &a2);
    cr_assert_eq(account_store_get_by_email(&f->accounts, "alice@x.example", &f->a, &got, &f->err),
                 0);
    assert_account_eq(got, &a1);
}

CONTRACT(account_store, count)
{
    cr_assert_eq(account_count(f), 0);
    char name[32], email[64];
    for (uint64_t i = 1; i <= 25; i++) {
        snprintf(name, sizeof(name), "user%" PRIu64, i);
        snprintf(email, sizeof(email), "user%" PRIu64 "@x.example", i);
        struct account acct = sample_account(i, name, email);
        insert_ok(f, &acct);
    }
    cr_assert_eq(account_count(f), 25);
}

/* ---- app_store ---- */

CONTRACT(app_store, insert_get_round_trips_every_field)
{
    struct oauth_app want = sample_app(77, "client-'id'-ü");
    cr_assert_eq(app_store_insert(&f->apps, &want, &f->err), 0, "%s", f->err.msg);
    struct oauth_app *got = NULL;
    cr_assert_eq(app_store_get_by_client_id(&f->apps, "client-'id'-ü", &f->a, &got, &f->err), 0,
                 "%s", f->err.msg);
    assert_app_eq(got, &want);
    cr_assert_eq(app_store_get(&f->apps, 77, &f->a, &got, &f->err), 0, "%s", f->err.msg);
    assert_app_eq(got, &want);

    struct oauth_app bare = sample_app(78, "c2");
    bare.website = NULL; /* stored as "" */
    cr_assert_eq(app_store_insert(&f->apps, &bare, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(app_store_get(&f->apps, 78, &f->a, &got, &f->err), 0);
    cr_assert_str_eq(got->website, "");
}

CONTRACT(app_store, missing_is_not_found)
{
    struct oauth_app *got = NULL;
    cr_assert_eq(app_store_get(&f->apps, 1, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(app_store_get_by_client_id(&f->apps, "nope", &f->a, &got, &f->err), ERR_NOT_FOUND);
    struct oauth_app app = sample_app(1, "abc");
    cr_assert_eq(app_store_insert(&f->apps, &app, &f->err), 0);
    cr_assert_eq(app_store_get_by_client_id(&f->apps, "ABC", &f->a, &got, &f->err), ERR_NOT_FOUND,
                 "client ids are compared exactly");
    cr_assert_eq(app_store_get(&f->apps, 2, &f->a, &got, &f->err), ERR_NOT_FOUND);
}

CONTRACT(app_store, conflicts_change_nothing)
{
    struct oauth_app app = sample_app(1, "abc");
    cr_assert_eq(app_store_insert(&f->apps, &app, &f->err), 0);
    struct oauth_app dup_client = sample_app(2, "abc");
    dup_client.name = "impostor";
    struct oauth_app dup_id = sample_app(1, "def");
    cr_assert_eq(app_store_insert(&f->apps, &dup_client, &f->err), ERR_CONFLICT);
    cr_assert_eq(f->err.code, ERR_CONFLICT);
    cr_assert_eq(app_store_insert(&f->apps, &dup_id, &f->err), ERR_CONFLICT);
    struct oauth_app *got = NULL;
    cr_assert_eq(app_store_get_by_client_id(&f->apps, "abc", &f->a, &got, &f->err), 0);
    assert_app_eq(got, &app);
    cr_assert_eq(app_store_get(&f->apps, 2, &f->a, &got, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(app_store_get_by_client_id(&f->apps, "def", &f->a, &got, &f->err), ERR_NOT_FOUND);
}

/* ---- token_store ---- */

CONTRACT(token_store, revoke_and_check)
{
    const uint64_t big = UINT64_C(9223372036854775807);
    bool revoked = true;
    cr_assert_eq(token_store_is_revoked(&f->tokens, 10, &revoked, &f->err), 0, "%s", f->err.msg);
    cr_assert_not(revoked);
    cr_assert_eq(token_store_revoke(&f->tokens, 10, 5, 1795957323004, NULL, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_eq(token_store_revoke(&f->tokens, big, 0, 1795957323005, NULL, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_eq(token_store_is_revoked(&f->tokens, 10, &revoked, &f->err), 0);
    cr_assert(revoked);
    cr_assert_eq(token_store_is_revoked(&f->tokens, big, &revoked, &f->err), 0);
    cr_assert(revoked);
    cr_assert_eq(token_store_is_revoked(&f->tokens, 11, &revoked, &f->err), 0);
    cr_assert_not(revoked);
}

CONTRACT(token_store, revoking_twice_is_fine)
{
    cr_assert_eq(token_store_revoke(&f->tokens, 10, 5, 1000, NULL, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(token_store_revoke(&f->tokens, 10, 5, 2000, NULL, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(token_store_revoke(&f->tokens, 10, 6, 3000, NULL, &f->err), 0, "%s", f->err.msg);
    bool revoked = false;
    cr_assert_eq(token_store_is_revoked(&f->tokens, 10, &revoked, &f->err), 0);
    cr_assert(revoked);
}

/* ---- sqlite_db: only the database ---- */

/* Runs a query returning one integer on a separate raw connection. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sqlite3_errmsg(h));
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

Test(sqlite_db, data_survives_reopen_and_migrations_run_once)
{
    struct tmpdb t;
    tmpdb_init(&t);
    struct err err = {0};
    struct arena a;
    arena_init(&a, 0);

    struct sqlite_db *db = open_db(t.path);
    cr_assert_eq(sqlite_db_migrations_applied(db), threadly_migrations_len);
    struct account_store accounts = account_store_sqlite(db);
    struct app_store apps = app_store_sqlite(db);
    struct token_store tokens = token_store_sqlite(db);
    struct account acct = sample_account(1, "Alice", "alice@x.example");
    struct oauth_app app = sample_app(2, "cid");
    cr_assert_eq(account_store_insert(&accounts, &acct, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(app_store_insert(&apps, &app, &err), 0, "%s", err.msg);
    cr_assert_eq(token_store_revoke(&tokens, 3, 1, 1000, NULL, &err), 0, "%s", err.msg);
    int64_t applied_at = raw_int(t.path, "SELECT max(applied_at) FROM schema_migrations");
    sqlite_db_close(db);

    for (int round = 0; round < 2; round++) {
        db = open_db(t.path);
        cr_assert_eq(sqlite_db_migrations_applied(db), 0, "reopen applied a migration again");
        accounts = account_store_sqlite(db);
        apps = app_store_sqlite(db);
        tokens = token_store_sqlite(db);
        struct account *got_acct = NULL;
        cr_assert_eq(account_store_get_by_username(&accounts, "alice", &a, &got_acct, &err), 0,
                     "%s", err.msg);
        assert_account_eq(got_acct, &acct);
        struct oauth_app *got_app = NULL;
        cr_assert_eq(app_store_get(&apps, 2, &a, &got_app, &err), 0, "%s", err.msg);
        assert_app_eq(got_app, &app);
        bool revoked = false;
        cr_assert_eq(token_store_is_revoked(&tokens, 3, &revoked, &err), 0);
        cr_assert(revoked);
        sqlite_db_close(db);
    }

    /* One row per migration file, untouched by the reopens; the file is in WAL mode. */
    cr_assert_eq(raw_int(t.path, "SELECT count(*) FROM schema_migrations"),
                 (int64_t)threadly_migrations_len);
    cr_assert_eq(raw_int(t.path, "SELECT max(version) FROM schema_migrations"),
                 threadly_migrations[threadly_migrations_len - 1].version);
    cr_assert_eq(raw_int(t.path, "SELECT max(applied_at) FROM schema_migrations"), applied_at);
    cr_assert_eq(raw_int(t.path, "SELECT count(*) FROM pragma_journal_mode WHERE "
                                 "journal_mode = 'wal'"),
                 1);
    arena_release(&a);
    tmpdb_remove(&t);
}

Test(sqlite_db, migrations_are_embedded_in_order)
{
    cr_assert_geq(threadly_migrations_len, 1);
    cr_assert_eq(threadly_migrations[0].version, 1);
    cr_assert_str_eq(threadly_migrations[0].name, "001_accounts_apps_tokens");
    cr_assert_not_null(strstr(threadly_migrations[0].sql, "CREATE TABLE accounts"));
    for (size_t i = 1; i < threadly_migrations_len; i++)
        cr_assert_gt(threadly_migrations[i].version, threadly_migrations[i - 1].version);
}

Test(sqlite_db, failed_migration_rolls_back_and_fails_open)
{
    struct tmpdb t;
    tmpdb_init(&t);
    const struct db_migration good = {1, "001_good", "CREATE TABLE good (a BIGINT);"};
    const struct db_migration bad[] = {
        good, {2, "002_bad", "CREATE TABLE half (a BIGINT); CREATE TABLE oops (;"}};
    struct err err = {0};
    cr_assert_null(sqlite_db_open_migrations(t.path, bad, 2, &err));
    cr_assert_eq(err.code, ERR_INTERNAL);
    cr_assert_not_null(strstr(err.msg, "002_bad"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, t.path), "%s", err.msg);
    cr_assert_eq(raw_int(t.path, "SELECT count(*) FROM schema_migrations"), 1);
    cr_assert_eq(raw_int(t.path, "SELECT count(*) FROM sqlite_master WHERE name = 'half'"), 0);

    /* Fixed, the second one applies alone; decreasing versions are refused. */
    const struct db_migration fixed[] = {good, {2, "002_fixed", "CREATE TABLE half (a BIGINT);"}};
    struct sqlite_db *db = sqlite_db_open_migrations(t.path, fixed, 2, &err);
    cr_assert_not_null(db, "%s", err.msg);
    cr_assert_eq(sqlite_db_migrations_applied(db), 1);
    sqlite_db_close(db);
    const struct db_migration unordered[] = {fixed[1], good};
    cr_assert_null(sqlite_db_open_migrations(t.path, unordered, 2, &err));
    cr_assert_eq(err.code, ERR_INVALID);
    tmpdb_remove(&t);
}

Test(sqlite_db, bad_paths_fail_with_a_clear_error)
{
    struct err err = {0};
    cr_assert_null(sqlite_db_open("/nonexistent-threadly-dir/sub/threadly.db", &err));
    cr_assert_eq(err.code, ERR_UNAVAILABLE);
    cr_assert_not_null(strstr(err.msg, "/nonexistent-threadly-dir/sub/threadly.db"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "unable to open"), "%s", err.msg);

    cr_assert_null(sqlite_db_open(":memory:", &err));
    cr_assert_eq(err.code, ERR_INVALID);
    cr_assert_null(sqlite_db_open("", &err));
    cr_assert_eq(err.code, ERR_INVALID);
    cr_assert_null(sqlite_db_open(NULL, NULL)); /* err may be NULL */

    struct tmpdb t;
    tmpdb_init(&t);
    cr_assert_null(sqlite_db_open(t.dir, &err), "a directory opened as a database");
    cr_assert_neq(err.code, ERR_OK);
    cr_assert_not_null(strstr(err.msg, t.dir), "%s", err.msg);

    FILE *fp = fopen(t.path, "w");
    cr_assert_not_null(fp);
    for (int i = 0; i < 256; i++)
        fputs("this is not an SQLite database, just garbage text\n", fp);
    fclose(fp);
    cr_assert_null(sqlite_db_open(t.path, &err));
    cr_assert_eq(err.code, ERR_INTERNAL);
    cr_assert_not_null(strstr(err.msg, "not a database"), "%s", err.msg);
    tmpdb_remove(&t);
}

Test(sqlite_db, ping)
{
    struct tmpdb t;
    tmpdb_init(&t);
    struct sqlite_db *db = open_db(t.path);
    struct err err = {0};
    cr_assert_eq(sqlite_db_ping(db, &err), 0, "%s", err.msg);
    cr_assert_eq(sqlite_db_ping(db, &err), 0, "%s", err.msg);
    sqlite_db_close(db);
    tmpdb_remove(&t);
}

#define WRITERS 4
#define PER_WRITER 200

struct writer {
    struct account_store accounts;
    struct token_store tokens;
    int (*ping)(void *db, struct err *err);
    void *db;
    int n;
    int failures;
    struct err err; /* the first failure */
};

static void *writer_main(void *p)
{
    struct writer *w = p;
    struct account_store *accounts = &w->accounts;
    struct token_store *tokens = &w->tokens;
    struct arena a;
    arena_init(&a, 0);
    for (int i = 0; i < PER_WRITER; i++) {
        char name[32], email[64];
        uint64_t id = (uint64_t)w->n * 1000 + (uint64_t)i + 1;
        snprintf(name, sizeof(name), "w%d_user%d", w->n, i);
        snprintf(email, sizeof(email), "w%d_user%d@x.example", w->n, i);
        struct account acct = sample_account(id, name, email);
        struct account *got = NULL;
        bool revoked = false;
        struct err err = {0};
        if (account_store_insert(accounts, &acct, NULL, &err) != 0 ||
            account_store_get(accounts, id, &a, &got, &err) != 0 ||
            token_store_revoke(tokens, id, id, 1, NULL, &err) != 0 ||
            token_store_is_revoked(tokens, id, &revoked, &err) != 0 || !revoked ||
            w->ping(w->db, &err) != 0) {
            if (w->failures++ == 0)
                w->err = err;
        }
        arena_reset(&a);
    }
    arena_release(&a);
    return NULL;
}

static int ping_sqlite(void *db, struct err *err)
{
    return sqlite_db_ping(db, err);
}

static int ping_pgsql(void *db, struct err *err)
{
    return pgsql_db_ping(db, err);
}

/* Two rounds of WRITERS threads on f's stores (the second reuses the exited threads'
 * connections); then every row is there and every username found case-insensitively. */
static void concurrent_writers(struct fixture *f, int (*ping)(void *, struct err *), void *db)
{
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    /* Twice, so the second round's threads reuse the connections of exited ones. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < WRITERS; i++) {
            w[i] = (struct writer){.accounts = f->accounts,
                                   .tokens = f->tokens,
                                   .ping = ping,
                                   .db = db,
                                   .n = round * WRITERS + i};
            cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
        }
        for (int i = 0; i < WRITERS; i++) {
            pthread_join(th[i], NULL);
            cr_assert_eq(w[i].failures, 0, "writer %d: %d failures, first: %s (%s)", i,
                         w[i].failures, w[i].err.msg, err_code_name(w[i].err.code));
        }
    }

    struct account_store *accounts = &f->accounts;
    struct err err = {0};
    int64_t n = 0;
    cr_assert_eq(account_store_count(accounts, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 2 * WRITERS * PER_WRITER);
    struct arena a;
    arena_init(&a, 0);
    for (int k = 0; k < 2 * WRITERS; k++) {
        for (int i = 0; i < PER_WRITER; i++) {
            char name[32];
            snprintf(name, sizeof(name), "W%d_USER%d", k, i);
            struct account *got = NULL;
            cr_assert_eq(account_store_get_by_username(accounts, name, &a, &got, &err), 0, "%s: %s",
                         name, err.msg);
            cr_assert_eq(got->id, (uint64_t)k * 1000 + (uint64_t)i + 1);
        }
        arena_reset(&a);
    }
    arena_release(&a);
}

Test(sqlite_db, concurrent_writers)
{
    struct fixture f;
    fixture_open(&f, ADAPTER_SQLITE);
    concurrent_writers(&f, ping_sqlite, f.db);
    fixture_close(&f);
}

Test(sqlite_db, two_databases_in_one_process)
{
    struct tmpdb t1, t2;
    tmpdb_init(&t1);
    tmpdb_init(&t2);
    struct sqlite_db *db1 = open_db(t1.path), *db2 = open_db(t2.path);
    struct account_store s1 = account_store_sqlite(db1), s2 = account_store_sqlite(db2);
    struct err err = {0};
    struct account acct = sample_account(1, "alice", "alice@x.example");
    cr_assert_eq(account_store_insert(&s1, &acct, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(account_store_insert(&s2, &acct, NULL, &err), 0, "%s", err.msg);
    int64_t n1 = 0, n2 = 0;
    cr_assert_eq(account_store_count(&s1, &n1, &err), 0);
    cr_assert_eq(account_store_count(&s2, &n2, &err), 0);
    cr_assert_eq(n1 + n2, 2);
    sqlite_db_close(db1);
    cr_assert_eq(account_store_count(&s2, &n2, &err), 0);
    sqlite_db_close(db2);
    tmpdb_remove(&t1);
    tmpdb_remove(&t2);
}

CONTRACT(accounts, update_profile_changes_only_the_profile)
{
    struct account acct = sample_account(11, "upd", "upd@example.org");
    struct account *got;
    cr_assert_eq(account_store_insert(&f->accounts, &acct, NULL, &f->err), 0, "%s", f->err.msg);
    struct account change = acct;
    change.display_name = "New \"name\" 🧵";
    change.note = "new note\n'; DROP TABLE accounts; --";
    change.locked = false;
    change.bot = true;
    change.discoverable = false;
    change.username = "ignored";
    change.statuses_count = 999;
    cr_assert_eq(account_store_update_profile(&f->accounts, &change, NULL, &f->err), 0, "%s",
                 f->err.msg);
    cr_assert_eq(account_store_get(&f->accounts, 11, &f->a, &got, &f->err), 0);
    cr_assert_str_eq(got->display_name, change.display_name);
    cr_assert_str_eq(got->note, change.note);
    cr_assert_not(got->locked);
    cr_assert(got->bot);
    cr_assert_not(got->discoverable);
    cr_assert_str_eq(got->username, "upd");
    cr_assert_eq(got->statuses_count, acct.statuses_count);
    change.id = 12345;
    cr_assert_eq(account_store_update_profile(&f->accounts, &change, NULL, &f->err), ERR_NOT_FOUND);
}

/* ---- pgsql_db: only the database ---- */

Test(pgsql_db, data_survives_reopen_and_migrations_run_once)
{
    struct pgsql_testdb t;
    struct pgsql_db *db = open_pg(&t);
    cr_assert_eq(pgsql_db_migrations_applied(db), threadly_migrations_len);
    struct account_store accounts = account_store_pgsql(db);
    struct account acct = sample_account(1, "Alice", "alice@x.example");
    struct err err = {0};
    cr_assert_eq(account_store_insert(&accounts, &acct, NULL, &err), 0, "%s", err.msg);
    pgsql_db_close(db);

    struct arena a;
    arena_init(&a, 0);
    db = pgsql_db_open(t.url, &err);
    cr_assert_not_null(db, "%s", err.msg);
    cr_assert_eq(pgsql_db_migrations_applied(db), 0, "reopen applied a migration again");
    accounts = account_store_pgsql(db);
    struct account *got = NULL;
    cr_assert_eq(account_store_get_by_username(&accounts, "ALICE", &a, &got, &err), 0, "%s",
                 err.msg);
    assert_account_eq(got, &acct);
    pgsql_db_close(db);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_migrations", t.name);
    cr_assert_eq(pgsql_testdb_int(t.admin, sql), (int64_t)threadly_migrations_len);
    arena_release(&a);
    pgsql_testdb_drop(&t);
}

Test(pgsql_db, failed_migration_rolls_back_and_fails_open)
{
    struct pgsql_testdb t;
    pgsql_testdb_create(&t);
    struct err err = {0};
    const struct db_migration bad[] = {
        {1, "001_ok", "CREATE TABLE one (id BIGINT PRIMARY KEY)"},
        {2, "002_bad", "CREATE TABLE half (id BIGINT); SELECT no_such_function()"},
    };
    cr_assert_null(pgsql_db_open_migrations(t.url, "threadly-test", bad, 2, &err));
    cr_assert_eq(err.code, ERR_INTERNAL, "%s", err.msg);
    cr_assert(strstr(err.msg, "002_bad"), "%s", err.msg);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables WHERE schemaname = '%s'", t.name);
    /* one and schema_migrations; half was rolled back. */
    cr_assert_eq(pgsql_testdb_int(t.admin, sql), 2);
    const struct db_migration fixed[] = {bad[0], {2, "002_fixed", "CREATE TABLE half (id BIGINT)"}};
    struct pgsql_db *db = pgsql_db_open_migrations(t.url, "threadly-test", fixed, 2, &err);
    cr_assert_not_null(db, "%s", err.msg);
    cr_assert_eq(pgsql_db_migrations_applied(db), 1);
    pgsql_db_close(db);
    const struct db_migration unordered[] = {fixed[1], fixed[0]};
    cr_assert_null(pgsql_db_open_migrations(t.url, "threadly-test", unordered, 2, &err));
    cr_assert_eq(err.code, ERR_INVALID);
    pgsql_testdb_drop(&t);
}

struct opener {
    const char *url;
    size_t applied;
    struct err err;
};

static void *opener_main(void *p)
{
    struct opener *o = p;
    struct pgsql_db *db = pgsql_db_open(o->url, &o->err);
    if (db)
        o->applied = pgsql_db_migrations_applied(db);
    else
        o->applied = 1000;
    pgsql_db_close(db);
    return NULL;
}

Test(pgsql_db, concurrent_opens_apply_each_migration_once)
{
    struct pgsql_testdb t;
    pgsql_testdb_create(&t);
    struct opener o[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        o[i] = (struct opener){.url = t.url};
        cr_assert_eq(pthread_create(&th[i], NULL, opener_main, &o[i]), 0);
    }
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_lt(o[i].applied, 1000, "open %d: %s", i, o[i].err.msg);
        total += o[i].applied;
    }
    cr_assert_eq(total, threadly_migrations_len);
    pgsql_testdb_drop(&t);
}

Test(pgsql_db, concurrent_writers)
{
    struct fixture f;
    fixture_open(&f, ADAPTER_PGSQL);
    concurrent_writers(&f, ping_pgsql, f.pg);
    fixture_close(&f);
}

Test(pgsql_db, reconnects_after_the_backend_is_terminated)
{
    struct fixture f;
    fixture_open(&f, ADAPTER_PGSQL);
    struct account acct = sample_account(1, "alice", "alice@x.example");
    insert_ok(&f, &acct);
    for (int round = 0; round < 3; round++) {
        cr_assert_geq(pgsql_testdb_terminate(&f.pgt), 1, "no backend to terminate");
        /* The first call may notice the loss (ERR_UNAVAILABLE) or, if libpq had not read it
         * yet, reconnect; either way the one after works. */
        int64_t n = -1;
        int rc = account_store_count(&f.accounts, &n, &f.err);
        cr_assert(rc == 0 || rc == ERR_UNAVAILABLE, "%s (%s)", f.err.msg, err_code_name(rc));
        cr_assert_eq(account_count(&f), 1 + round);
        struct account next = sample_account(2 + (uint64_t)round, "", "");
        char name[32], email[32];
        snprintf(name, sizeof(name), "bob%d", round);
        snprintf(email, sizeof(email), "bob%d@x.example", round);
        next.username = name;
        next.email = email;
        insert_ok(&f, &next);
        cr_assert_eq(pgsql_db_ping(f.pg, &f.err), 0, "%s", f.err.msg);
    }
    cr_assert_eq(account_count(&f), 4);
    fixture_close(&f);
}

Test(pgsql_db, unreachable_server_is_unavailable)
{
    struct err err = {0};
    cr_assert_null(pgsql_db_open("postgres://postgres@127.0.0.1:1/threadly", &err));
    cr_assert_eq(err.code, ERR_UNAVAILABLE, "%s", err.msg);
    cr_assert_null(pgsql_db_open("", &err));
    cr_assert_eq(err.code, ERR_INVALID);
    cr_assert_null(pgsql_db_open(NULL, NULL)); /* err may be NULL */
}
