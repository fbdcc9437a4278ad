/* digest.c - SHA-256 on libsodium (sodium_init is not needed for these functions). */
#include "lib/base/digest.h"

#include <sodium.h>

void digest_sha256_b64url(const void *data, size_t n, char out[DIGEST_SHA256_B64_LEN])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, data, n);
    sodium_bin2base64(out, DIGEST_SHA256_B64_LEN, hash, sizeof(hash),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
