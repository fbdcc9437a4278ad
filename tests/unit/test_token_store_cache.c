/* test_token_store_cache.c - the revocation cache answers as the store it wraps: revocations
 * and password-reset cut-offs made through it are refused at once, revocations learnt from
 * other processes (the outbox tail) are refused once learnt and not before (it is a cache), an
 * answer the store gave while a revocation was learnt is not kept, and it stays right after
 * its table is forgotten. On the mem adapters (the decorator sees only the ports). */
#include "services/threadly/adapters/cache/token_store_cache.h"
#include "services/threadly/adapters/mem/stores_mem.h"

#include <criterion/criterion.h>
#include <stdio.h>

#define ALICE 1
#define BOB 2
#define T0 1795957323004LL

static struct mem_db *db;
static struct token_store tokens, inner; /* inner: the mem store, behind the cache's back */
static struct email_token_store email_tokens;
static struct account_store accounts;
static struct err err;

static void setup(void)
{
    db = mem_db_new();
    accounts = account_store_mem(db);
    inner = token_store_mem(db);
    tokens = inner;
    email_tokens = email_token_store_mem(db);
    token_store_cache_wrap(&tokens, &email_tokens);
}

static void teardown(void)
{
    token_store_close(&tokens);
    email_token_store_close(&email_tokens);
    account_store_close(&accounts);
    mem_db_free(db);
}

TestSuite(token_store_cache, .init = setup, .fini = teardown);

static bool revoked(struct token_store *s, uint64_t jti, uint64_t account_id)
{
    bool r = true;
    cr_assert_eq(token_store_is_revoked(s, jti, account_id, &r, &err), 0, "%s", err.msg);
    return r;
}

static void stats(unsigned long long *hits, unsigned long long *misses)
{
    token_store_cache_stats(&tokens, hits, misses);
}

Test(token_store_cache, answers_from_memory_after_the_first_lookup)
{
    unsigned long long hits, misses;
    cr_assert_not(revoked(&tokens, 100, ALICE));
    cr_assert_not(revoked(&tokens, 100, ALICE));
    stats(&hits, &misses);
    cr_assert_eq(misses, 1);
    cr_assert_eq(hits, 1);
    /* another account's claim on the same jti is not answered from that entry */
    cr_assert_not(revoked(&tokens, 100, BOB));
    stats(&hits, &misses);
    cr_assert_eq(misses, 2);
    token_store_cache_stats(&inner, &hits, &misses);
    cr_assert_eq(hits + misses, 0, "not a cache");
}

Test(token_store_cache, its_own_revocation_is_refused_at_once_and_stored)
{
    cr_assert_not(revoked(&tokens, 100, ALICE)); /* cached as valid */
    cr_assert_not(revoked(&tokens, 101, ALICE));
    cr_assert_eq(token_store_revoke(&tokens, 100, ALICE, T0, NULL, &err), 0, "%s", err.msg);
    cr_assert(revoked(&tokens, 100, ALICE));
    cr_assert_not(revoked(&tokens, 101, ALICE));
    cr_assert(revoked(&inner, 100, ALICE), "written through to the store");
    /* an app token (account 0) too */
    cr_assert_not(revoked(&tokens, 102, 0));
    cr_assert_eq(token_store_revoke(&tokens, 102, 0, T0, NULL, &err), 0, "%s", err.msg);
    cr_assert(revoked(&tokens, 102, 0));
}

Test(token_store_cache, another_process_revocation_counts_once_learnt)
{
    cr_assert_not(revoked(&tokens, 100, ALICE));
    /* another process revokes it: the cache does not know yet (the tail interval) */
    cr_assert_eq(token_store_revoke(&inner, 100, ALICE, T0, NULL, &err), 0, "%s", err.msg);
    cr_assert_not(revoked(&tokens, 100, ALICE), "a cache: the window until the tail reads it");
    token_store_cache_revoked(&tokens, 100, ALICE);
    cr_assert(revoked(&tokens, 100, ALICE));
    /* a jti never looked up and revoked elsewhere: the store answers */
    cr_assert_eq(token_store_revoke(&inner, 200, BOB, T0, NULL, &err), 0, "%s", err.msg);
    cr_assert(revoked(&tokens, 200, BOB));
}

static void add_account(uint64_t id, const char *name)
{
    char email[64];
    snprintf(email, sizeof(email), "%s@x.example", name);
    struct account acct = {
        .id = id, .username = name, .email = email, .password_hash = "old", .created_at_ms = 1};
    cr_assert_eq(account_store_insert(&accounts, &acct, NULL, &err), 0, "%s", err.msg);
}

Test(token_store_cache, a_password_reset_through_it_revokes_cached_tokens_below_the_cutoff)
{
    add_account(ALICE, "alice");
    add_account(BOB, "bob");
    cr_assert_not(revoked(&tokens, 100, ALICE));
    cr_assert_not(revoked(&tokens, 300, ALICE));
    cr_assert_not(revoked(&tokens, 101, BOB));
    struct email_token t = {"hash-r", EMAIL_TOKEN_RESET, ALICE, T0, T0 + 1000};
    cr_assert_eq(email_token_store_insert(&email_tokens, &t, NULL, &err), 0, "%s", err.msg);
    uint64_t who = 0;
    cr_assert_eq(email_token_store_use(&email_tokens, EMAIL_TOKEN_RESET, "hash-r", T0, "new", 200,
                                       NULL, &who, &err),
                 0, "%s", err.msg);
    cr_assert_eq(who, ALICE);
    cr_assert(revoked(&tokens, 100, ALICE));
    cr_assert_not(revoked(&tokens, 300, ALICE), "issued after the reset");
    cr_assert_not(revoked(&tokens, 101, BOB), "another account");
    bool confirmed = true;
    cr_assert_eq(email_token_store_is_confirmed(&email_tokens, ALICE, &confirmed, &err), 0);
    cr_assert_not(confirmed);
}

Test(token_store_cache, another_process_cutoff_counts_once_learnt)
{
    cr_assert_not(revoked(&tokens, 100, ALICE));
    cr_assert_not(revoked(&tokens, 300, ALICE));
    cr_assert_not(revoked(&tokens, 101, BOB));
    token_store_cache_cutoff(&tokens, ALICE, 200);
    cr_assert(revoked(&tokens, 100, ALICE));
    cr_assert_not(revoked(&tokens, 300, ALICE));
    cr_assert_not(revoked(&tokens, 101, BOB));
}

/* An inner store that answers "valid" while a cut-off covering that jti is learnt meanwhile:
 * the tail applying account.tokens_revoked between the store's read and the cache storing its
 * answer (a cut-off leaves no entry of its own, so only the generation check catches it). */
static struct token_store *outer_of_racing;
static int racing_revoke(void *ctx, uint64_t jti, uint64_t account_id, int64_t at_ms,
                         const struct outbox_emit *emit, struct err *e)
{
    (void)ctx, (void)jti, (void)account_id, (void)at_ms, (void)emit, (void)e;
    return 0;
}
static int racing_is_revoked(void *ctx, uint64_t jti, uint64_t account_id, bool *r, struct err *e)
{
    int *calls = ctx;
    (void)e;
    if ((*calls)++ == 0) {
        token_store_cache_cutoff(outer_of_racing, account_id, jti + 1);
        *r = false; /* the stale answer of a read made before the revocation committed */
    } else {
        *r = true;
    }
    return 0;
}
static void racing_close(void *ctx)
{
    (void)ctx;
}
static const struct token_store_ops racing_ops = {racing_revoke, racing_is_revoked, racing_close};

Test(token_store_cache, a_store_answer_given_while_a_revocation_is_learnt_is_not_kept)
{
    int calls = 0;
    struct token_store racing = {&racing_ops, &calls};
    struct email_token_store e = email_token_store_mem(db);
    token_store_cache_wrap(&racing, &e);
    outer_of_racing = &racing;
    bool r = true;
    /* the first answer is the store's (stale, as any read racing a commit); it is not kept */
    cr_assert_eq(token_store_is_revoked(&racing, 7, ALICE, &r, &err), 0);
    cr_assert_not(r);
    cr_assert_eq(token_store_is_revoked(&racing, 7, ALICE, &r, &err), 0);
    cr_assert(r, "asked the store again, not the stale answer");
    cr_assert_eq(calls, 2);
    token_store_close(&racing);
    email_token_store_close(&e);
}

/* Twice as many distinct jtis as slots, some revoked: the table is forgotten on the way. */
Test(token_store_cache, stays_right_after_its_table_is_forgotten)
{
    for (uint64_t j = 1; j <= 2 * TOKEN_STORE_CACHE_SLOTS; j += 2) {
        if (j % 1000 == 1)
            cr_assert_eq(token_store_revoke(&tokens, j, ALICE, T0, NULL, &err), 0);
    }
    for (int round = 0; round < 2; round++) {
        for (uint64_t j = 1; j <= 2 * TOKEN_STORE_CACHE_SLOTS; j += 2)
            cr_assert_eq(revoked(&tokens, j, ALICE), j % 1000 == 1, "jti %llu round %d",
                         (unsigned long long)j, round);
    }
    unsigned long long hits, misses;
    stats(&hits, &misses);
    cr_assert_gt(misses, TOKEN_STORE_CACHE_SLOTS, "the table was forgotten at least once");
}
