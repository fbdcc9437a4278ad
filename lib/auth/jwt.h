/* jwt.h - access tokens as JWTs signed with Ed25519 ("alg":"EdDSA", RFC 8037), shared by the
 * service that signs them (threadly-service) and those that only verify them with the public
 * key (notification-service). Knows claims, not accounts or notifications. */
#ifndef LIB_AUTH_JWT_H
#define LIB_AUTH_JWT_H

#include "lib/base/err.h"

#include <stdbool.h>
#include <stdint.h>

#define JWT_MAX 1024
#define JWT_SCOPE_MAX 512

/* The claims we sign: iss "threadly", sub (absent when 0: an app-only token), app, scope, jti,
 * iat, and exp only when exp_ms is not 0. Ids are decimal strings on the wire. */
struct jwt_claims {
    uint64_t jti;
    uint64_t sub;
    uint64_t app;
    char scope[JWT_SCOPE_MAX];
    int64_t iat_ms;
    int64_t exp_ms;   /* 0: does not expire */
    bool unconfirmed; /* "unc": issued at sign-up before the email was confirmed */
};

/* A key pair, or a public key alone. Immutable once opened, so thread-safe. */
struct jwt_key;

/* Loads the Ed25519 signing key from key_path (base64 of the 64-byte secret key), creating it
 * (mode 0600) and key_path + ".pub" (base64 of the public key, 0644) when absent.
 * ERR_INVALID for a file that is not such a key, ERR_UNAVAILABLE when it cannot be read or
 * written. Call sodium_init() (jwt_init) first. */
int jwt_key_open(const char *key_path, struct jwt_key **out, struct err *err);
/* A verifier that holds only the public key at pub_path; jwt_sign fails with it.
 * ERR_NOT_FOUND when the file does not exist (yet), ERR_INVALID when it holds no key. */
int jwt_key_open_public(const char *pub_path, struct jwt_key **out, struct err *err);
/* NULL is a no-op. */
void jwt_key_free(struct jwt_key *k);

/* Initialises libsodium (idempotent). */
int jwt_init(struct err *err);

/* Encodes and signs c into out (NUL-terminated). ERR_INTERNAL without a secret key. */
int jwt_sign(const struct jwt_key *k, const struct jwt_claims *c, char out[JWT_MAX],
             struct err *err);
/* Checks the algorithm (EdDSA only) and signature, decodes the claims and checks exp against
 * now_ms. ERR_INVALID for anything malformed, forged or expired; c is zeroed then. */
int jwt_verify(const struct jwt_key *k, const char *token, int64_t now_ms, struct jwt_claims *c,
               struct err *err);

#endif
