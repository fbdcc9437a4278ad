/* token_signer_sodium.c - access tokens as JWTs signed with Ed25519 ("alg":"EdDSA",
 * RFC 8037). Written on libsodium rather than libjwt 1.10, which has no EdDSA and checks
 * neither alg nor exp; here the verifier accepts exactly one algorithm. */
#include "lib/base/buf.h"
#include "lib/base/id.h"
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sodium/crypto_sodium.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64_KEY sodium_base64_VARIANT_ORIGINAL

struct signer {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    bool has_secret;
};

static const char header_json[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";

static void b64_append(struct buf *b, const void *data, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, B64);
    buf_grow(b, cap);
    sodium_bin2base64(b->data + b->len, cap, data, n, B64);
    b->len += strlen(b->data + b->len);
}

static int signer_sign(void *ctx, const struct token_claims *c, char out[TOKEN_MAX],
                       struct err *err)
{
    struct signer *s = ctx;
    char jti[ID_STR_LEN], sub[ID_STR_LEN], app[ID_STR_LEN];
    if (!s->has_secret)
        return err_set(err, ERR_INTERNAL, "token signer has only the public key");
    id_format(c->jti, jti);
    id_format(c->account_id, sub);
    id_format(c->app_id, app);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I}", "iss", "threadly", "jti", jti, "app", app,
                          "scope", c->scope, "iat", (json_int_t)(c->iat_ms / 1000));
    if (c->account_id)
        json_object_set_new(p, "sub", json_string(sub));
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
    crypto_sign_detached(sig, NULL, (const unsigned char *)b.data, b.len, s->sk);
    buf_append_char(&b, '.');
    b64_append(&b, sig, sizeof(sig));
    int rc = 0;
    if (b.len >= TOKEN_MAX)
        rc = err_set(err, ERR_INTERNAL, "token too long (%zu bytes)", b.len);
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

static int signer_verify(void *ctx, const char *token, int64_t now_ms, struct token_claims *c,
                         struct err *err)
{
    struct signer *s = ctx;
    size_t n = strnlen(token, TOKEN_MAX);
    if (n == TOKEN_MAX)
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
                                    s->pk) != 0)
        return err_set(err, ERR_INVALID, "bad token signature");

    json_t *p = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    memset(c, 0, sizeof(*c));
    json_t *scope = p ? json_object_get(p, "scope") : NULL;
    json_t *iat = p ? json_object_get(p, "iat") : NULL;
    json_t *exp = p ? json_object_get(p, "exp") : NULL;
    int rc = 0;
    if (!p || !id_claim(p, "jti", &c->jti) || !id_claim(p, "app", &c->app_id) ||
        !json_is_string(scope) || json_string_length(scope) >= OAUTH_SCOPES_MAX ||
        !json_is_integer(iat) || (exp && !json_is_integer(exp)) ||
        (json_object_get(p, "sub") && !id_claim(p, "sub", &c->account_id))) {
        rc = err_set(err, ERR_INVALID, "malformed token claims");
    } else {
        memcpy(c->scope, json_string_value(scope), json_string_length(scope) + 1);
        c->iat_ms = (int64_t)json_integer_value(iat) * 1000;
        c->exp_ms = exp ? (int64_t)json_integer_value(exp) * 1000 : 0;
        if (c->exp_ms && now_ms >= c->exp_ms)
            rc = err_set(err, ERR_INVALID, "token expired");
    }
    json_decref(p);
    return rc;
}

static const struct token_signer_ops signer_ops = {signer_sign, signer_verify};

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

static int write_b64_file(const char *path, const unsigned char *data, size_t n, mode_t mode,
                          struct err *err)
{
    char text[256];
    sodium_bin2base64(text, sizeof(text), data, n, B64_KEY);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return err_set(err, ERR_UNAVAILABLE, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    text[len++] = '\n';
    bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok)
        return err_set(err, ERR_UNAVAILABLE, "cannot write %s", path);
    return 0;
}

int token_signer_sodium_open(const char *key_path, struct token_signer *out, struct err *err)
{
    struct signer *s = sodium_malloc(sizeof(*s));
    ASSERT(s);
    char pub[4096];
    snprintf(pub, sizeof(pub), "%s.pub", key_path);
    int rc = read_b64_file(key_path, s->sk, sizeof(s->sk), err);
    if (rc == ERR_NOT_FOUND) {
        crypto_sign_keypair(s->pk, s->sk);
        rc = write_b64_file(key_path, s->sk, sizeof(s->sk), 0600, err);
        if (rc == 0) {
            unlink(pub);
            rc = write_b64_file(pub, s->pk, sizeof(s->pk), 0644, err);
        }
    } else if (rc == 0) {
        crypto_sign_ed25519_sk_to_pk(s->pk, s->sk);
    }
    if (rc != 0) {
        sodium_free(s);
        return rc;
    }
    s->has_secret = true;
    *out = (struct token_signer){&signer_ops, s};
    return 0;
}

int token_signer_sodium_open_public(const char *pub_path, struct token_signer *out, struct err *err)
{
    struct signer *s = sodium_malloc(sizeof(*s));
    ASSERT(s);
    memset(s, 0, sizeof(*s));
    int rc = read_b64_file(pub_path, s->pk, sizeof(s->pk), err);
    if (rc != 0) {
        sodium_free(s);
        return rc;
    }
    *out = (struct token_signer){&signer_ops, s};
    return 0;
}

void token_signer_sodium_free(struct token_signer *s)
{
    if (s->ctx)
        sodium_free(s->ctx);
    s->ctx = NULL;
}
