/* random.h - cryptographically secure random bytes as an injectable port (tests may pass a
 * deterministic one), plus helpers for tokens and secrets. */
#ifndef LIB_BASE_RANDOM_H
#define LIB_BASE_RANDOM_H

#include <stddef.h>

struct random {
    /* Fills buf with n random bytes. Must be thread-safe. */
    void (*fill)(void *ctx, void *buf, size_t n);
    void *ctx;
};

/* getrandom(2); aborts if the kernel cannot supply randomness. */
extern const struct random random_system;

static inline void random_fill(const struct random *r, void *buf, size_t n)
{
    r->fill(r->ctx, buf, n);
}

/* Writes nbytes random bytes as URL-safe base64 without padding into out, which must hold
 * 4 * ceil(nbytes / 3) + 1 characters. */
void random_token(const struct random *r, size_t nbytes, char *out);

#endif
