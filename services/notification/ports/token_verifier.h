/* token_verifier.h - port: checks an access token (a JWT signed by threadly-service) with the
 * public key alone and returns its claims. Adapters: jwt (lib/auth, Ed25519). Thread-safe. */
#ifndef SERVICES_NOTIFICATION_PORTS_TOKEN_VERIFIER_H
#define SERVICES_NOTIFICATION_PORTS_TOKEN_VERIFIER_H

#include "lib/base/err.h"

#include <stdint.h>

#define ACCESS_TOKEN_SCOPE_MAX 512

struct access_token {
    uint64_t jti;
    uint64_t account_id; /* 0: an app-only token */
    uint64_t app_id;
    char scope[ACCESS_TOKEN_SCOPE_MAX];
};

struct token_verifier_ops {
    /* ERR_INVALID for a malformed, forged or expired token; ERR_UNAVAILABLE while the public
     * key cannot be loaded. */
    int (*verify)(void *ctx, const char *token, int64_t now_ms, struct access_token *out,
                  struct err *err);
};

struct token_verifier {
    const struct token_verifier_ops *ops;
    void *ctx;
};

static inline int token_verifier_verify(struct token_verifier *v, const char *token, int64_t now_ms,
                                        struct access_token *out, struct err *err)
{
    return v->ops->verify(v->ctx, token, now_ms, out, err);
}

#endif
