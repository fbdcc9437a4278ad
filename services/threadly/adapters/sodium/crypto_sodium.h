/* crypto_sodium.h - libsodium adapters: Argon2id password hashing and EdDSA (Ed25519) JWT
 * access tokens. Call sodium_init() (via crypto_sodium_init) once before using them. */
#ifndef SERVICES_THREADLY_ADAPTERS_SODIUM_CRYPTO_SODIUM_H
#define SERVICES_THREADLY_ADAPTERS_SODIUM_CRYPTO_SODIUM_H

#include "services/threadly/ports/password_hasher.h"
#include "services/threadly/ports/token_signer.h"

#include <stdbool.h>

int crypto_sodium_init(struct err *err);

/* Argon2id with the given cost: ops (iterations, >= 1) and memory in KiB (>= 8). */
struct password_hasher password_hasher_sodium_new(unsigned long long ops,
                                                  unsigned long long mem_kib);
void password_hasher_sodium_free(struct password_hasher *h);

/* Loads the Ed25519 signing key from key_path (base64 of the 64-byte secret key), creating
 * it (mode 0600) and key_path + ".pub" (base64 of the public key) when absent. */
int token_signer_sodium_open(const char *key_path, struct token_signer *out, struct err *err);
/* A verifier that holds only the public key (what notification-service uses); sign fails. */
int token_signer_sodium_open_public(const char *pub_path, struct token_signer *out,
                                    struct err *err);
void token_signer_sodium_free(struct token_signer *s);

#endif
