/* token_signer.h - port: access tokens as signed JWTs. Adapters: sodium (EdDSA / Ed25519).
 * notification-service verifies with the public key alone. Thread-safe. */
#ifndef SERVICES_THREADLY_PORTS_TOKEN_SIGNER_H
#define SERVICES_THREADLY_PORTS_TOKEN_SIGNER_H

#include "lib/base/err.h"
#include "services/threadly/domain/oauth.h"

#include <stddef.h>

#define TOKEN_MAX 1024

struct token_signer_ops {
    /* Encodes and signs claims into out (NUL-terminated). */
    int (*sign)(void *ctx, const struct token_claims *claims, char out[TOKEN_MAX], struct err *err);
    /* Checks the signature and algorithm and decodes the claims. ERR_INVALID for anything
     * malformed, forged or expired (now_ms past exp). */
    int (*verify)(void *ctx, const char *token, int64_t now_ms, struct token_claims *claims,
                  struct err *err);
};

struct token_signer {
    const struct token_signer_ops *ops;
    void *ctx;
};

static inline int token_signer_sign(struct token_signer *s, const struct token_claims *claims,
                                    char out[TOKEN_MAX], struct err *err)
{
    return s->ops->sign(s->ctx, claims, out, err);
}

static inline int token_signer_verify(struct token_signer *s, const char *token, int64_t now_ms,
                                      struct token_claims *claims, struct err *err)
{
    return s->ops->verify(s->ctx, token, now_ms, claims, err);
}

#endif
