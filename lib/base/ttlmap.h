/* ttlmap.h - a small bounded map from short string keys to 64-bit values that expire after a
 * fixed time (for Idempotency-Key), or to strings (authorization codes). When full, the oldest
 * entry is replaced. Thread-safe. In-process only: a restart forgets it. */
#ifndef LIB_BASE_TTLMAP_H
#define LIB_BASE_TTLMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTLMAP_KEY_MAX 128

struct ttlmap;

struct ttlmap *ttlmap_new(size_t capacity, int64_t ttl_ms);
void ttlmap_free(struct ttlmap *m);
/* Sets key (truncated to TTLMAP_KEY_MAX - 1 bytes) to value at now_ms. */
void ttlmap_put(struct ttlmap *m, const char *key, uint64_t value, int64_t now_ms);
/* True and *value if key is present and younger than the TTL. */
bool ttlmap_get(struct ttlmap *m, const char *key, int64_t now_ms, uint64_t *value);
/* Sets key to a copy of the string value. */
void ttlmap_put_str(struct ttlmap *m, const char *key, const char *value, int64_t now_ms);
/* Removes key and, if it was present and young enough, returns its string (free() it);
 * else NULL. For single-use values such as authorization codes. */
char *ttlmap_take_str(struct ttlmap *m, const char *key, int64_t now_ms);

#endif
