/* token_verifier_jwt.c - verification with the public key, loaded on first need. */
#include "services/notification/adapters/jwt/token_verifier_jwt.h"

#include "lib/auth/jwt.h"
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define RELOAD_INTERVAL_MS 500

_Static_assert(JWT_SCOPE_MAX == ACCESS_TOKEN_SCOPE_MAX, "the scope claim must fit");

struct verifier {
    char *path;
    _Atomic(struct jwt_key *) key; /* set once, then never changes */
    pthread_mutex_t mu;            /* serialises loading */
    int64_t last_try_ms;
    struct err last_err;
};

/* The key, loading it if it is missing and the last try is old enough. */
static int token_verifier_jwt_key(struct verifier *v, struct jwt_key **out, struct err *err)
{
    *out = atomic_load(&v->key);
    if (*out)
        return 0;
    pthread_mutex_lock(&v->mu);
    int64_t now = clock_monotonic_ms();
    if (!atomic_load(&v->key) &&
        (v->last_try_ms == 0 || now - v->last_try_ms >= RELOAD_INTERVAL_MS)) {
        struct jwt_key *k = NULL;
        v->last_try_ms = now;
        if (jwt_key_open_public(v->path, &k, &v->last_err) == 0)
            atomic_store(&v->key, k);
    }
    *out = atomic_load(&v->key);
    int rc = 0;
    if (!*out)
        rc = err_set(err, ERR_UNAVAILABLE, "jwt public key: %s", v->last_err.msg);
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static int token_verifier_jwt_verify(void *ctx, const char *token, int64_t now_ms,
                                     struct access_token *out, struct err *err)
{
    struct jwt_key *k;
    memset(out, 0, sizeof(*out));
    int rc = token_verifier_jwt_key(ctx, &k, err);
    if (rc)
        return rc;
    struct jwt_claims c;
    rc = jwt_verify(k, token, now_ms, &c, err);
    if (rc)
        return rc;
    out->jti = c.jti;
    out->account_id = c.sub;
    out->app_id = c.app;
    memcpy(out->scope, c.scope, sizeof(out->scope));
    return 0;
}

static const struct token_verifier_ops ops = {token_verifier_jwt_verify};

struct token_verifier token_verifier_jwt_new(const char *pub_path)
{
    struct verifier *v = xcalloc(1, sizeof(*v));
    v->path = xstrdup(pub_path);
    pthread_mutex_init(&v->mu, NULL);
    return (struct token_verifier){&ops, v};
}

int token_verifier_jwt_ready(void *ctx, struct err *err)
{
    struct jwt_key *k;
    return token_verifier_jwt_key(ctx, &k, err);
}

void token_verifier_jwt_free(struct token_verifier *tv)
{
    struct verifier *v = tv->ctx;
    if (!v)
        return;
    jwt_key_free(atomic_load(&v->key));
    pthread_mutex_destroy(&v->mu);
    free(v->path);
    free(v);
    tv->ctx = NULL;
}
