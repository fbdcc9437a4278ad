/* test_token_signer_cache.c - the verified-token cache answers exactly as the Ed25519 signer it
 * wraps: same claims, forged tokens refused every time, expiry checked on hits, correct after
 * slots are replaced, and under concurrent use. */
#include "services/threadly/adapters/cache/token_signer_cache.h"
#include "services/threadly/adapters/sodium/crypto_sodium.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char keydir[64];
static struct token_signer signer;
static const int64_t now = 1795957323004LL;

static void setup(void)
{
    struct err err = {0};
    cr_assert_eq(crypto_sodium_init(&err), 0);
    snprintf(keydir, sizeof(keydir), "/tmp/threadly-tsc-XXXXXX");
    cr_assert_not_null(mkdtemp(keydir));
    char key[128];
    snprintf(key, sizeof(key), "%s/k", keydir);
    cr_assert_eq(token_signer_sodium_open(key, &signer, &err), 0, "%s", err.msg);
    token_signer_cache_wrap(&signer);
}

static void teardown(void)
{
    token_signer_cache_unwrap(&signer);
    token_signer_sodium_free(&signer);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", keydir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(token_signer_cache, .init = setup, .fini = teardown);

static void sign(uint64_t jti, int64_t exp_ms, char out[TOKEN_MAX])
{
    struct token_claims c = {
        .jti = jti, .account_id = jti + 1, .app_id = 7, .iat_ms = now, .exp_ms = exp_ms};
    snprintf(c.scope, sizeof(c.scope), "read write");
    struct err err = {0};
    cr_assert_eq(token_signer_sign(&signer, &c, out, &err), 0, "%s", err.msg);
}

static void stats(unsigned long long *hits, unsigned long long *misses)
{
    token_signer_cache_stats(&signer, hits, misses);
}

Test(token_signer_cache, second_verification_is_a_hit_with_the_same_claims)
{
    char tok[TOKEN_MAX];
    sign(41, 0, tok);
    struct token_claims a, b;
    struct err err = {0};
    cr_assert_eq(token_signer_verify(&signer, tok, now, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(token_signer_verify(&signer, tok, now, &b, &err), 0, "%s", err.msg);
    unsigned long long hits, misses;
    stats(&hits, &misses);
    cr_assert_eq(hits, 1);
    cr_assert_eq(misses, 1);
    cr_assert_eq(a.jti, 41);
    cr_assert_eq(b.jti, 41);
    cr_assert_eq(b.account_id, 42);
    cr_assert_eq(b.app_id, 7);
    cr_assert_str_eq(b.scope, "read write");
    cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
}

Test(token_signer_cache, forged_tokens_are_refused_every_time)
{
    char tok[TOKEN_MAX];
    sign(5, 0, tok);
    struct token_claims c;
    struct err err = {0};
    cr_assert_eq(token_signer_verify(&signer, tok, now, &c, &err), 0);
    size_t n = strlen(tok);
    tok[n - 3] = tok[n - 3] == 'A' ? 'B' : 'A'; /* the signature */
    for (int i = 0; i < 3; i++)
        cr_assert_neq(token_signer_verify(&signer, tok, now, &c, &err), 0, "forged token accepted");
    unsigned long long hits, misses;
    stats(&hits, &misses);
    cr_assert_eq(hits, 0, "a failure was cached or the forged token hit the good one's entry");
    cr_assert_eq(misses, 4);
}

Test(token_signer_cache, expiry_is_checked_on_hits)
{
    char tok[TOKEN_MAX];
    int64_t exp = now - now % 1000 + 5000; /* JWTs carry whole seconds */
    sign(9, exp, tok);
    struct token_claims c;
    struct err err = {0};
    cr_assert_eq(token_signer_verify(&signer, tok, now, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(token_signer_verify(&signer, tok, exp - 1, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(token_signer_verify(&signer, tok, exp, &c, &err), ERR_INVALID);
    cr_assert_str_eq(err.msg, "token expired");
    unsigned long long hits, misses;
    stats(&hits, &misses);
    cr_assert_eq(misses, 1, "the expiry was not answered from the cache");
}

#define MANY 3000 /* about three times the slots: most get replaced */

static char many[MANY][TOKEN_MAX];

Test(token_signer_cache, replaced_slots_still_answer_right)
{
    for (int i = 0; i < MANY; i++)
        sign(1000 + (uint64_t)i, 0, many[i]);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MANY; i++) {
            struct token_claims c;
            struct err err = {0};
            cr_assert_eq(token_signer_verify(&signer, many[i], now, &c, &err), 0, "%s", err.msg);
            cr_assert_eq(c.jti, 1000 + (uint64_t)i, "token %d gave the claims of another", i);
        }
    }
    unsigned long long hits, misses;
    stats(&hits, &misses);
    cr_assert_eq(hits + misses, 2 * MANY);
    cr_assert_geq(misses, MANY, "every token was new once");
}

static void *verifier(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int k = 0; k < 4000; k++) {
        int i = (k * 7 + id * 13) % 200;
        struct token_claims c;
        struct err err = {0};
        if (token_signer_verify(&signer, many[i], now, &c, &err) != 0 ||
            c.jti != 1000 + (uint64_t)i)
            return (void *)1;
    }
    return NULL;
}

Test(token_signer_cache, concurrent_verifications_agree)
{
    for (int i = 0; i < 200; i++)
        sign(1000 + (uint64_t)i, 0, many[i]);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, verifier, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        cr_assert_null(bad, "thread %d saw wrong claims or a failure", i);
    }
}
