/* password_hasher.h - port: one-way password hashing (Argon2id in production).
 * Adapters: sodium (libsodium crypto_pwhash_str). Thread-safe. CPU-heavy by design. */
#ifndef SERVICES_THREADLY_PORTS_PASSWORD_HASHER_H
#define SERVICES_THREADLY_PORTS_PASSWORD_HASHER_H

#include "lib/base/err.h"

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX 128

struct password_hasher_ops {
    /* Writes a self-describing hash string (salt and cost included) into out. */
    int (*hash)(void *ctx, const char *password, char out[PASSWORD_HASH_MAX], struct err *err);
    /* True if password matches hash. A malformed hash is a mismatch. */
    bool (*verify)(void *ctx, const char *hash, const char *password);
};

struct password_hasher {
    const struct password_hasher_ops *ops;
    void *ctx;
};

static inline int password_hasher_hash(struct password_hasher *h, const char *password,
                                       char out[PASSWORD_HASH_MAX], struct err *err)
{
    return h->ops->hash(h->ctx, password, out, err);
}

static inline bool password_hasher_verify(struct password_hasher *h, const char *hash,
                                          const char *password)
{
    return h->ops->verify(h->ctx, hash, password);
}

#endif
