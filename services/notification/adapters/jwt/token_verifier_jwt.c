/* token_verifier_jwt.c - verification with the public key, loaded on first need and loaded
 * again when the file changes (threadly-service made a new key pair). */
#include "services/notification/adapters/jwt/token_verifier_jwt.h"

#include "lib/auth/jwt.h"
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#define RELOAD_INTERVAL_MS 500   /* while the key is missing */
#define RECHECK_INTERVAL_MS 2000 /* while it is loaded: has the file changed? */

_Static_assert(JWT_SCOPE_MAX == ACCESS_TOKEN_SCOPE_MAX, "the scope claim must fit");

/* Keys replaced by a newer file stay allocated until the verifier is freed, since another
 * thread may still be verifying with one; a key pair is rarely replaced. */
struct retired {
    struct jwt_key *key;
    struct retired *next;
};

struct verifier {
    char *path;
    _Atomic(struct jwt_key *) key;
    _Atomic int64_t last_try_ms; /* written under mu */
    pthread_mutex_t mu;          /* guards the fields below */
    struct stat st;              /* of the file the key was read from */
    struct err last_err;
    struct retired *retired;
};

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Under v->mu: (re)reads the key if it is missing or its file changed. */
static void token_verifier_jwt_load(struct verifier *v)
{
    struct stat st;
    struct jwt_key *old = atomic_load(&v->key), *k = NULL;
    if (old && (stat(v->path, &st) != 0 || same_file(&st, &v->st)))
        return; /* unchanged, or gone: keep what we have */
    if (stat(v->path, &st) != 0 || jwt_key_open_public(v->path, &k, &v->last_err) != 0) {
        if (!old && v->last_err.code == ERR_OK)
            err_set(&v->last_err, ERR_NOT_FOUND, "cannot read %s", v->path);
        return;
    }
    v->st = st;
    atomic_store(&v->key, k);
    if (old) {
        struct retired *r = xmalloc(sizeof(*r));
        *r = (struct retired){old, v->retired};
        v->retired = r;
    }
}

/* The key, loading it when it is missing or may have changed, at most every so often. */
static int token_verifier_jwt_key(struct verifier *v, struct jwt_key **out, struct err *err)
{
    int64_t now = clock_monotonic_ms();
    *out = atomic_load(&v->key);
    /* The usual case takes no lock: a key, checked recently. */
    if (*out && now - atomic_load(&v->last_try_ms) < RECHECK_INTERVAL_MS)
        return 0;
    pthread_mutex_lock(&v->mu);
    int64_t every = atomic_load(&v->key) ? RECHECK_INTERVAL_MS : RELOAD_INTERVAL_MS;
    int64_t last = atomic_load(&v->last_try_ms);
    if (last == 0 || now - last >= every) {
        atomic_store(&v->last_try_ms, now);
        token_verifier_jwt_load(v);
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
    while (v->retired) {
        struct retired *next = v->retired->next;
        jwt_key_free(v->retired->key);
        free(v->retired);
        v->retired = next;
    }
    pthread_mutex_destroy(&v->mu);
    free(v->path);
    free(v);
    tv->ctx = NULL;
}
