/* password_sodium.c - Argon2id via crypto_pwhash_str. The cost is configurable so tests stay
 * fast; the default (2 iterations, 19 MiB) follows OWASP's minimum for Argon2id and keeps the
 * memory of concurrent logins within the service's budget. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sodium/crypto_sodium.h"

#include <sodium.h>
#include <string.h>

struct pw_sodium {
    unsigned long long ops;
    size_t mem;
};

static int pw_sodium_hash(void *ctx, const char *password, char out[PASSWORD_HASH_MAX],
                          struct err *err)
{
    struct pw_sodium *p = ctx;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), p->ops, p->mem) != 0)
        return err_set(err, ERR_INTERNAL, "crypto_pwhash_str failed (out of memory?)");
    ASSERT(strlen(hash) < PASSWORD_HASH_MAX);
    memcpy(out, hash, strlen(hash) + 1);
    return 0;
}

static bool pw_sodium_verify(void *ctx, const char *hash, const char *password)
{
    (void)ctx;
    if (!hash || strlen(hash) >= crypto_pwhash_STRBYTES)
        return false;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static const struct password_hasher_ops pw_sodium_ops = {pw_sodium_hash, pw_sodium_verify};

struct password_hasher password_hasher_sodium_new(unsigned long long ops,
                                                  unsigned long long mem_kib)
{
    struct pw_sodium *p = xmalloc(sizeof(*p));
    p->ops = ops < crypto_pwhash_OPSLIMIT_MIN ? crypto_pwhash_OPSLIMIT_MIN : ops;
    p->mem = (size_t)mem_kib * 1024 < crypto_pwhash_MEMLIMIT_MIN ? crypto_pwhash_MEMLIMIT_MIN
                                                                 : (size_t)mem_kib * 1024;
    return (struct password_hasher){&pw_sodium_ops, p};
}

void password_hasher_sodium_free(struct password_hasher *h)
{
    free(h->ctx);
    h->ctx = NULL;
}

int crypto_sodium_init(struct err *err)
{
    if (sodium_init() < 0)
        return err_set(err, ERR_INTERNAL, "sodium_init failed");
    return 0;
}
