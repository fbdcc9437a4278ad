/* test_email_token_contract.c - contract tests of the email_token_store port (migration 004):
 * single use, expiry, kinds, confirmations, a reset changing the password and writing its
 * events in the same transaction. Every CONTRACT case runs on mem, sqlite and pgsql. */
#include "lib/base/arena.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "tests/unit/contract_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void open_stores(struct fixture *f, enum adapter kind)
{
    if (kind == ADAPTER_MEM) {
        f->mem = mem_db_new();
        f->accounts = account_store_mem(f->mem);
        f->outbox = outbox_store_mem(f->mem);
        f->email_tokens = email_token_store_mem(f->mem);
        f->tokens = token_store_mem(f->mem);
    } else if (kind == ADAPTER_PGSQL) {
        f->tokens = token_store_pgsql(f->pg);
        f->accounts = account_store_pgsql(f->pg);
        f->outbox = outbox_store_pgsql(f->pg);
        f->email_tokens = email_token_store_pgsql(f->pg);
    } else {
        f->accounts = account_store_sqlite(f->db);
        f->outbox = outbox_store_sqlite(f->db);
        f->email_tokens = email_token_store_sqlite(f->db);
        f->tokens = token_store_sqlite(f->db);
    }
}

static void close_stores(struct fixture *f)
{
    account_store_close(&f->accounts);
    outbox_store_close(&f->outbox);
    email_token_store_close(&f->email_tokens);
    token_store_close(&f->tokens);
    mem_db_free(f->mem);
}

const struct contract_suite contract_suite = {"threadly-email-token", open_stores, close_stores};

#define ALICE 1
#define BOB 2
#define T0 1795957323004LL
#define TTL 1000

static uint64_t build_seen_row_id;

static size_t build_one(void *arg, const struct outbox_change *ch, struct event *out)
{
    build_seen_row_id = ch->row_id;
    out[0] = (struct event){.id = (uint64_t)(uintptr_t)arg,
                            .type = "account.password_reset_requested",
                            .version = 1,
                            .occurred_at = T0,
                            .key = "1",
                            .data = "{\"reset_token\":\"x\"}"};
    return 1;
}

static void add_account(struct fixture *f, uint64_t id, const char *name)
{
    char email[64];
    snprintf(email, sizeof(email), "%s@x.example", name);
    struct account acct = {
        .id = id, .username = name, .email = email, .password_hash = "old", .created_at_ms = 1};
    cr_assert_eq(account_store_insert(&f->accounts, &acct, NULL, &f->err), 0, "%s", f->err.msg);
}

static void insert(struct fixture *f, const char *hash, enum email_token_kind kind, uint64_t acct,
                   const struct outbox_emit *emit)
{
    struct email_token t = {hash, kind, acct, T0, T0 + TTL};
    cr_assert_eq(email_token_store_insert(&f->email_tokens, &t, emit, &f->err), 0, "%s",
                 f->err.msg);
}

static int use(struct fixture *f, enum email_token_kind kind, const char *hash, int64_t at,
               uint64_t *who)
{
    return email_token_store_use(&f->email_tokens, kind, hash, at,
                                 kind == EMAIL_TOKEN_RESET ? "new hash" : NULL, 1, NULL, who,
                                 &f->err);
}

static bool confirmed(struct fixture *f, uint64_t id)
{
    bool yes = true;
    cr_assert_eq(email_token_store_is_confirmed(&f->email_tokens, id, &yes, &f->err), 0, "%s",
                 f->err.msg);
    return yes;
}

static uint64_t outbox_head(struct fixture *f)
{
    uint64_t h = 99;
    cr_assert_eq(outbox_store_head(&f->outbox, &h, &f->err), 0, "%s", f->err.msg);
    return h;
}

CONTRACT(email_token, confirm_is_single_use_and_records_the_confirmation)
{
    uint64_t who = 0;
    add_account(f, ALICE, "alice");
    cr_assert_not(confirmed(f, ALICE));
    insert(f, "hash-a", EMAIL_TOKEN_CONFIRM, ALICE, NULL);
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "unknown", T0, &who), ERR_NOT_FOUND);
    cr_assert_eq(use(f, EMAIL_TOKEN_RESET, "hash-a", T0, &who), ERR_NOT_FOUND, "other kind");
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "hash-a", T0 + 1, &who), 0, "%s", f->err.msg);
    cr_assert_eq(who, ALICE);
    cr_assert(confirmed(f, ALICE));
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "hash-a", T0 + 2, &who), ERR_NOT_FOUND, "used");
    /* a second token confirms again without error, and the account stays confirmed */
    insert(f, "hash-a2", EMAIL_TOKEN_CONFIRM, ALICE, NULL);
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "hash-a2", T0 + 3, &who), 0, "%s", f->err.msg);
    cr_assert(confirmed(f, ALICE));
    cr_assert_not(confirmed(f, BOB));
}

CONTRACT(email_token, expired_tokens_are_refused_and_left_unused)
{
    uint64_t who = 0;
    add_account(f, ALICE, "alice");
    insert(f, "hash-e", EMAIL_TOKEN_CONFIRM, ALICE, NULL);
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "hash-e", T0 + TTL, &who), ERR_INVALID);
    cr_assert_not(confirmed(f, ALICE));
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "hash-e", T0 + TTL - 1, &who), 0, "%s", f->err.msg);
}

CONTRACT(email_token, duplicate_hash_is_a_conflict_and_writes_no_event)
{
    add_account(f, ALICE, "alice");
    struct outbox_emit e = {build_one, (void *)(uintptr_t)500};
    insert(f, "hash-d", EMAIL_TOKEN_RESET, ALICE, &e);
    cr_assert_eq(outbox_head(f), 1);
    struct email_token t = {"hash-d", EMAIL_TOKEN_CONFIRM, ALICE, T0, T0 + TTL};
    struct outbox_emit e2 = {build_one, (void *)(uintptr_t)501};
    cr_assert_eq(email_token_store_insert(&f->email_tokens, &t, &e2, &f->err), ERR_CONFLICT);
    cr_assert_eq(outbox_head(f), 1);
}

CONTRACT(email_token, reset_sets_the_password_and_ends_every_reset_token)
{
    uint64_t who = 0;
    struct account *acct;
    add_account(f, ALICE, "alice");
    add_account(f, BOB, "bob");
    insert(f, "r1", EMAIL_TOKEN_RESET, ALICE, NULL);
    insert(f, "r2", EMAIL_TOKEN_RESET, ALICE, NULL);
    insert(f, "rb", EMAIL_TOKEN_RESET, BOB, NULL);
    insert(f, "c1", EMAIL_TOKEN_CONFIRM, ALICE, NULL);
    struct outbox_emit e = {build_one, (void *)(uintptr_t)600};
    cr_assert_eq(email_token_store_use(&f->email_tokens, EMAIL_TOKEN_RESET, "r2", T0 + 5,
                                       "fresh hash", 500, &e, &who, &f->err),
                 0, "%s", f->err.msg);
    cr_assert_eq(who, ALICE);
    cr_assert_eq(outbox_head(f), 1, "the reset wrote its event");
    struct outbox_row *rows;
    size_t nrows = 0;
    cr_assert_eq(outbox_store_list(&f->outbox, 0, 10, &f->a, &rows, &nrows, &f->err), 0);
    cr_assert_eq(nrows, 1);
    cr_assert_eq(build_seen_row_id, ALICE, "the builder got the account as row_id");
    cr_assert_eq(account_store_get(&f->accounts, ALICE, &f->a, &acct, &f->err), 0);
    cr_assert_str_eq(acct->password_hash, "fresh hash");
    cr_assert_eq(account_store_get(&f->accounts, BOB, &f->a, &acct, &f->err), 0);
    cr_assert_str_eq(acct->password_hash, "old");
    /* the account's tokens below the cut-off are revoked, later ones and bob's are not */
    bool revoked = false;
    cr_assert_eq(token_store_is_revoked(&f->tokens, 499, ALICE, &revoked, &f->err), 0);
    cr_assert(revoked);
    cr_assert_eq(token_store_is_revoked(&f->tokens, 500, ALICE, &revoked, &f->err), 0);
    cr_assert_not(revoked);
    cr_assert_eq(token_store_is_revoked(&f->tokens, 499, BOB, &revoked, &f->err), 0);
    cr_assert_not(revoked);
    cr_assert_eq(use(f, EMAIL_TOKEN_RESET, "r1", T0 + 6, &who), ERR_NOT_FOUND, "ended too");
    cr_assert_eq(use(f, EMAIL_TOKEN_RESET, "r2", T0 + 6, &who), ERR_NOT_FOUND, "used");
    cr_assert_eq(use(f, EMAIL_TOKEN_RESET, "rb", T0 + 6, &who), 0, "bob's is his own");
    cr_assert_eq(token_store_is_revoked(&f->tokens, 0, BOB, &revoked, &f->err), 0);
    cr_assert(revoked, "cut-off 1 revokes jti 0");
    /* a lower cut-off later does not lower it */
    insert(f, "r3", EMAIL_TOKEN_RESET, ALICE, NULL);
    cr_assert_eq(email_token_store_use(&f->email_tokens, EMAIL_TOKEN_RESET, "r3", T0 + 7, "h", 100,
                                       NULL, &who, &f->err),
                 0, "%s", f->err.msg);
    cr_assert_eq(token_store_is_revoked(&f->tokens, 499, ALICE, &revoked, &f->err), 0);
    cr_assert(revoked);
    cr_assert_eq(use(f, EMAIL_TOKEN_CONFIRM, "c1", T0 + 6, &who), 0, "confirmation untouched");
}

CONTRACT(email_token, failed_use_writes_no_event)
{
    uint64_t who = 0;
    add_account(f, ALICE, "alice");
    insert(f, "gone", EMAIL_TOKEN_RESET, 77 /* no such account */, NULL);
    insert(f, "old", EMAIL_TOKEN_RESET, ALICE, NULL);
    struct outbox_emit e = {build_one, (void *)(uintptr_t)700};
    cr_assert_eq(email_token_store_use(&f->email_tokens, EMAIL_TOKEN_RESET, "gone", T0, "h", 9, &e,
                                       &who, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(email_token_store_use(&f->email_tokens, EMAIL_TOKEN_RESET, "old", T0 + TTL, "h", 9,
                                       &e, &who, &f->err),
                 ERR_INVALID);
    cr_assert_eq(outbox_head(f), 0);
    /* the account's token survived the failed expired attempt only as unusable */
    cr_assert_eq(use(f, EMAIL_TOKEN_RESET, "old", T0 + TTL + 1, &who), ERR_INVALID);
}
