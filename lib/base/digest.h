/* digest.h - SHA-256 (libsodium) and the base64url text of a digest, as PKCE (RFC 7636)
 * compares them. */
#ifndef LIB_BASE_DIGEST_H
#define LIB_BASE_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_B64_LEN 44 /* 43 characters + NUL */

/* out = BASE64URL-NOPAD(SHA256(data[0..n))). */
void digest_sha256_b64url(const void *data, size_t n, char out[DIGEST_SHA256_B64_LEN]);

#endif
