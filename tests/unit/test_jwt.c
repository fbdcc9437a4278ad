/* test_jwt.c - lib/auth: Ed25519 JWTs signed with the key pair and verified with the public key
 * alone, forgeries and expiry refused; the scope check. */
#include "lib/auth/jwt.h"
#include "lib/auth/scope.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], key[128], pub[140];

static void setup(void)
{
    struct err err = {0};
    cr_assert_eq(jwt_init(&err), 0);
    snprintf(dir, sizeof(dir), "/tmp/threadly-jwt-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(key, sizeof(key), "%s/jwt.key", dir);
    snprintf(pub, sizeof(pub), "%s/jwt.key.pub", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(jwt, .init = setup, .fini = teardown);

static struct jwt_claims claims(void)
{
    struct jwt_claims c = {.jti = 77, .sub = 12, .app = 3, .iat_ms = 1795957323000LL};
    snprintf(c.scope, sizeof(c.scope), "read write:notifications");
    return c;
}

Test(jwt, public_key_alone_verifies_what_the_pair_signed)
{
    struct err err = {0};
    struct jwt_key *pair, *pk;
    cr_assert_eq(jwt_key_open(key, &pair, &err), 0, "%s", err.msg);
    cr_assert_eq(access(pub, R_OK), 0, "the .pub file is written next to the key");
    cr_assert_eq(jwt_key_open_public(pub, &pk, &err), 0, "%s", err.msg);
    struct jwt_claims in = claims(), out;
    char tok[JWT_MAX];
    cr_assert_eq(jwt_sign(pair, &in, tok, &err), 0, "%s", err.msg);
    cr_assert_eq(jwt_verify(pk, tok, in.iat_ms, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.jti, 77);
    cr_assert_eq(out.sub, 12);
    cr_assert_eq(out.app, 3);
    cr_assert_eq(out.exp_ms, 0);
    cr_assert_str_eq(out.scope, "read write:notifications");
    cr_assert_not(out.unconfirmed);
    in.unconfirmed = true; /* a sign-up token before email confirmation */
    cr_assert_eq(jwt_sign(pair, &in, tok, &err), 0, "%s", err.msg);
    cr_assert_eq(jwt_verify(pk, tok, in.iat_ms, &out, &err), 0, "%s", err.msg);
    cr_assert(out.unconfirmed);
    in.unconfirmed = false;
    cr_assert_neq(jwt_sign(pk, &in, tok, &err), 0, "a public key cannot sign");
    cr_assert_eq(err.code, ERR_INTERNAL);

    /* A reopened pair is the same key. */
    struct jwt_key *again;
    cr_assert_eq(jwt_key_open(key, &again, &err), 0);
    cr_assert_eq(jwt_sign(again, &in, tok, &err), 0);
    cr_assert_eq(jwt_verify(pk, tok, in.iat_ms, &out, &err), 0);
    jwt_key_free(again);
    jwt_key_free(pair);
    jwt_key_free(pk);
}

Test(jwt, forged_malformed_and_expired_tokens_are_refused)
{
    struct err err = {0};
    struct jwt_key *pair, *other;
    char other_path[160];
    snprintf(other_path, sizeof(other_path), "%s/other.key", dir);
    cr_assert_eq(jwt_key_open(key, &pair, &err), 0);
    cr_assert_eq(jwt_key_open(other_path, &other, &err), 0);
    struct jwt_claims in = claims(), out;
    in.exp_ms = in.iat_ms + 60000;
    char tok[JWT_MAX], forged[JWT_MAX];
    cr_assert_eq(jwt_sign(other, &in, forged, &err), 0);
    cr_assert_eq(jwt_verify(pair, forged, in.iat_ms, &out, &err), ERR_INVALID);
    cr_assert_eq(out.jti, 0, "claims are not left set on failure");
    cr_assert_eq(jwt_sign(pair, &in, tok, &err), 0);
    cr_assert_eq(jwt_verify(pair, tok, in.iat_ms + 59999, &out, &err), 0);
    cr_assert_eq(jwt_verify(pair, tok, in.iat_ms + 60000, &out, &err), ERR_INVALID);
    cr_assert_str_eq(err.msg, "token expired");

    /* A changed payload breaks the signature; alg "none" is refused. */
    char *dot = strchr(tok, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    cr_assert_eq(jwt_verify(pair, tok, in.iat_ms, &out, &err), ERR_INVALID);
    cr_assert_eq(jwt_verify(pair, "eyJhbGciOiJub25lIn0.eyJqdGkiOiIxIn0.", in.iat_ms, &out, &err),
                 ERR_INVALID);
    cr_assert_eq(jwt_verify(pair, "garbage", in.iat_ms, &out, &err), ERR_INVALID);
    cr_assert_eq(jwt_verify(pair, "a.b.c.d", in.iat_ms, &out, &err), ERR_INVALID);
    jwt_key_free(pair);
    jwt_key_free(other);
}

Test(jwt, missing_and_bad_key_files)
{
    struct err err = {0};
    struct jwt_key *k;
    cr_assert_eq(jwt_key_open_public(pub, &k, &err), ERR_NOT_FOUND);
    FILE *f = fopen(pub, "w");
    cr_assert_not_null(f);
    fputs("not a key\n", f);
    fclose(f);
    cr_assert_eq(jwt_key_open_public(pub, &k, &err), ERR_INVALID);
}

Test(jwt, scope_check)
{
    cr_assert(auth_scope_allows("read write", "read:notifications"));
    cr_assert(auth_scope_allows("read:notifications", "read:notifications"));
    cr_assert(auth_scope_allows("profile+write:notifications", "write:notifications"));
    cr_assert_not(auth_scope_allows("read:statuses", "read:notifications"));
    cr_assert_not(auth_scope_allows("write", "read:notifications"));
    cr_assert_not(auth_scope_allows("read:notifications", "read"));
    cr_assert_not(auth_scope_allows("readx", "read:notifications"));
    cr_assert_not(auth_scope_allows("", "read"));
}
