/* token_signer_sodium.c - the token_signer port on lib/auth/jwt (Ed25519 JWTs, "alg":"EdDSA"):
 * only the translation between threadly's token_claims and the JWT claims lives here. */
#include "lib/auth/jwt.h"
#include "services/threadly/adapters/sodium/crypto_sodium.h"

#include <string.h>

_Static_assert(JWT_MAX == TOKEN_MAX, "a token must fit the port's buffer");
_Static_assert(JWT_SCOPE_MAX == OAUTH_SCOPES_MAX, "the scope claim must fit token_claims");

static int signer_sign(void *ctx, const struct token_claims *c, char out[TOKEN_MAX],
                       struct err *err)
{
    struct jwt_claims j = {.jti = c->jti,
                           .sub = c->account_id,
                           .app = c->app_id,
                           .iat_ms = c->iat_ms,
                           .exp_ms = c->exp_ms,
                           .unconfirmed = c->unconfirmed};
    memcpy(j.scope, c->scope, sizeof(j.scope));
    return jwt_sign(ctx, &j, out, err);
}

static int signer_verify(void *ctx, const char *token, int64_t now_ms, struct token_claims *c,
                         struct err *err)
{
    struct jwt_claims j;
    int rc = jwt_verify(ctx, token, now_ms, &j, err);
    memset(c, 0, sizeof(*c));
    if (rc)
        return rc;
    c->jti = j.jti;
    c->account_id = j.sub;
    c->app_id = j.app;
    memcpy(c->scope, j.scope, sizeof(c->scope));
    c->iat_ms = j.iat_ms;
    c->exp_ms = j.exp_ms;
    c->unconfirmed = j.unconfirmed;
    return 0;
}

static const struct token_signer_ops signer_ops = {signer_sign, signer_verify};

int token_signer_sodium_open(const char *key_path, struct token_signer *out, struct err *err)
{
    struct jwt_key *k;
    int rc = jwt_key_open(key_path, &k, err);
    if (rc == 0)
        *out = (struct token_signer){&signer_ops, k};
    return rc;
}

int token_signer_sodium_open_public(const char *pub_path, struct token_signer *out, struct err *err)
{
    struct jwt_key *k;
    int rc = jwt_key_open_public(pub_path, &k, err);
    if (rc == 0)
        *out = (struct token_signer){&signer_ops, k};
    return rc;
}

void token_signer_sodium_free(struct token_signer *s)
{
    jwt_key_free(s->ctx);
    s->ctx = NULL;
}
