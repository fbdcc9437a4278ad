/* token_verifier_jwt.h - the token_verifier port on lib/auth/jwt: Ed25519 JWTs checked with
 * threadly-service's public key alone. The key file is read lazily, read again (at most twice a
 * second) while it is missing, so notification-service may start before threadly-service has
 * created it, and read again when it changes (checked every 2 s), so a new key pair is picked
 * up without a restart. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_JWT_TOKEN_VERIFIER_JWT_H
#define SERVICES_NOTIFICATION_ADAPTERS_JWT_TOKEN_VERIFIER_JWT_H

#include "services/notification/ports/token_verifier.h"

/* A verifier for the public key at pub_path (base64 of 32 bytes). Never fails: a missing or
 * bad key shows as ERR_UNAVAILABLE from verify and from token_verifier_jwt_ready. */
struct token_verifier token_verifier_jwt_new(const char *pub_path);
/* The /ready check: 0 once the key is loaded. ctx is the verifier's ctx. */
int token_verifier_jwt_ready(void *ctx, struct err *err);
void token_verifier_jwt_free(struct token_verifier *v);

#endif
