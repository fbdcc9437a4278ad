/* jwt.c - Ed25519 JWTs on libsodium rather than libjwt 1.10, which has no EdDSA and checks
 * neither alg nor exp; here the verifier accepts exactly one algorithm. */
#include "lib/auth/jwt.h"

#include "lib/base/buf.h"
#include "lib/base/id.h"
#include "lib/base/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64_KEY sodium_base64_VARIANT_ORIGINAL

struct jwt_key {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    bool has_secret;
};

static const char header_json[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";

int jwt_init(struct err *err)
{
    if (sodium_init() < 0)
        return err_set(err, ERR_INTERNAL, "sodium_init failed");
    return 0;
}

static void b64_append(struct buf *b, const void *data, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, B64);
    buf_grow(b, cap);
    sodium_bin2base64(b->data + b->len, cap, data, n, B64);
    b->len += strlen(b->data + b->len);
}

int jwt_sign(const struct jwt_key *k, const struct jwt_claims *c, char out[JWT_MAX],
             struct err *err)
{
    char jti[ID_STR_LEN], sub[ID_STR_LEN], app[ID_STR_LEN];
    if (!k->has_secret)
        return err_set(err, ERR_INTERNAL, "jwt: this key has only the public half");
    id_format(c->jti, jti);
    id_format(c->sub, sub);
    id_format(c->app, app);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I}", "iss", "threadly", "jti", jti, "app", app,
                          "scope", c->scope, "iat", (json_int_t)(c->iat_ms / 1000));
    if (c->sub)
        json_object_set_new(p, "sub", json_string(sub));
    if (c->unconfirmed)
        json_object_set_new(p, "unc", json_true());
    if (c->exp_ms)
        json_object_set_new(p, "exp", json_integer((json_int_t)(c->exp_ms / 1000)));
    char *payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);

    struct buf b = BUF_INIT;
    b64_append(&b, header_json, sizeof(header_json) - 1);
    buf_append_char(&b, '.');
    b64_append(&b, payload, strlen(payload));
    free(payload);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)b.data, b.len, k->sk);
    buf_append_char(&b, '.');
    b64_append(&b, sig, sizeof(sig));
    int rc = 0;
    if (b.len >= JWT_MAX)
        rc = err_set(err, ERR_INTERNAL, "jwt: token too long (%zu bytes)", b.len);
    else
        memcpy(out, b.data, b.len + 1);
    buf_release(&b);
    return rc;
}

/* Decodes base64url s[0..n) into out (at most cap bytes); returns the length or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    size_t len;
    if (sodium_base642bin(out, cap, s, n, NULL, &len, NULL, B64) != 0)
        return -1;
    return (long)len;
}

static json_t *decode_json(const char *s, size_t n)
{
    unsigned char raw[768];
    long len = b64_decode(s, n, raw, sizeof(raw));
    if (len < 0)
        return NULL;
    return json_loadb((const char *)raw, (size_t)len, 0, NULL);
}

static bool id_claim(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) && id_parse(json_string_value(v), out);
}

int jwt_verify(const struct jwt_key *k, const char *token, int64_t now_ms, struct jwt_claims *c,
               struct err *err)
{
    memset(c, 0, sizeof(*c));
    size_t n = strnlen(token, JWT_MAX);
    if (n == JWT_MAX)
        return err_set(err, ERR_INVALID, "token too long");
    const char *dot1 = memchr(token, '.', n);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - token)))
        return err_set(err, ERR_INVALID, "not a JWT");

    json_t *h = decode_json(token, (size_t)(dot1 - token));
    json_t *alg = h ? json_object_get(h, "alg") : NULL;
    bool alg_ok = json_is_string(alg) && strcmp(json_string_value(alg), "EdDSA") == 0;
    json_decref(h);
    if (!alg_ok)
        return err_set(err, ERR_INVALID, "token algorithm is not EdDSA");

    unsigned char sig[crypto_sign_BYTES + 1];
    long siglen = b64_decode(dot2 + 1, n - (size_t)(dot2 + 1 - token), sig, sizeof(sig));
    if (siglen != crypto_sign_BYTES ||
        crypto_sign_verify_detached(sig, (const unsigned char *)token, (size_t)(dot2 - token),
                                    k->pk) != 0)
        return err_set(err, ERR_INVALID, "bad token signature");

    json_t *p = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    json_t *scope = p ? json_object_get(p, "scope") : NULL;
    json_t *iat = p ? json_object_get(p, "iat") : NULL;
    json_t *exp = p ? json_object_get(p, "exp") : NULL;
    int rc = 0;
    if (!p || !id_claim(p, "jti", &c->jti) || !id_claim(p, "app", &c->app) ||
        !json_is_string(scope) || json_string_length(scope) >= JWT_SCOPE_MAX ||
        !json_is_integer(iat) || (exp && !json_is_integer(exp)) ||
        (json_object_get(p, "sub") && !id_claim(p, "sub", &c->sub))) {
        rc = err_set(err, ERR_INVALID, "malformed token claims");
    } else {
        memcpy(c->scope, json_string_value(scope), json_string_length(scope) + 1);
        c->iat_ms = (int64_t)json_integer_value(iat) * 1000;
        c->exp_ms = exp ? (int64_t)json_integer_value(exp) * 1000 : 0;
        c->unconfirmed = json_is_true(json_object_get(p, "unc"));
        if (c->exp_ms && now_ms >= c->exp_ms)
            rc = err_set(err, ERR_INVALID, "token expired");
    }
    json_decref(p);
    if (rc)
        memset(c, 0, sizeof(*c));
    return rc;
}

static int read_b64_file(const char *path, unsigned char *out, size_t want, struct err *err)
{
    char text[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, errno == ENOENT ? ERR_NOT_FOUND : ERR_UNAVAILABLE, "cannot read %s: %s",
                       path, strerror(errno));
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    size_t len;
    if (sodium_base642bin(out, want, text, n, NULL, &len, NULL, B64_KEY) != 0 || len != want)
        return err_set(err, ERR_INVALID, "%s does not hold a base64 key of %zu bytes", path, want);
    return 0;
}

/* Writes the file under a temporary name and renames it into place, so a reader (the other
 * service polling for the public key) never sees it half written. */
static int write_b64_file(const char *path, const unsigned char *data, size_t n, mode_t mode,
                          struct err *err)
{
    char text[256], tmp[4200];
    sodium_bin2base64(text, sizeof(text), data, n, B64_KEY);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return err_set(err, ERR_UNAVAILABLE, "cannot create %s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    text[len++] = '\n';
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || link(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return err_set(err, ERR_UNAVAILABLE, "cannot write %s: %s", path, strerror(e));
    }
    unlink(tmp);
    return 0;
}

int jwt_key_open(const char *key_path, struct jwt_key **out, struct err *err)
{
    struct jwt_key *k = sodium_malloc(sizeof(*k));
    ASSERT(k);
    memset(k, 0, sizeof(*k));
    char pub[4096];
    snprintf(pub, sizeof(pub), "%s.pub", key_path);
    int rc = read_b64_file(key_path, k->sk, sizeof(k->sk), err);
    if (rc == ERR_NOT_FOUND) {
        crypto_sign_keypair(k->pk, k->sk);
        /* The public half first: whoever finds the secret key may expect its .pub. */
        unlink(pub);
        rc = write_b64_file(pub, k->pk, sizeof(k->pk), 0644, err);
        if (rc == 0)
            rc = write_b64_file(key_path, k->sk, sizeof(k->sk), 0600, err);
    } else if (rc == 0) {
        crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
    }
    if (rc != 0) {
        sodium_free(k);
        return rc;
    }
    k->has_secret = true;
    *out = k;
    return 0;
}

int jwt_key_open_public(const char *pub_path, struct jwt_key **out, struct err *err)
{
    struct jwt_key *k = sodium_malloc(sizeof(*k));
    ASSERT(k);
    memset(k, 0, sizeof(*k));
    int rc = read_b64_file(pub_path, k->pk, sizeof(k->pk), err);
    if (rc != 0) {
        sodium_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void jwt_key_free(struct jwt_key *k)
{
    if (k)
        sodium_free(k);
}
