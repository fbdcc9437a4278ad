/* arena.h - bump allocator for one unit of work (an HTTP request, an event). Everything
 * allocated from it is freed at once by arena_reset/arena_release. Not thread-safe. */
#ifndef LIB_BASE_ARENA_H
#define LIB_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* newest chunk first */
    size_t chunk_size;        /* default size of a new chunk */
};

/* chunk_size 0 picks 4 KiB. No memory is taken until the first allocation. */
void arena_init(struct arena *a, size_t chunk_size);
/* Frees every chunk. The arena can be used again afterwards. */
void arena_release(struct arena *a);
/* Frees everything but the first chunk, which is kept for reuse. */
void arena_reset(struct arena *a);

/* Returns n bytes aligned for any type; never NULL. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_sprintf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vsprintf(struct arena *a, const char *fmt, va_list ap);

#endif
