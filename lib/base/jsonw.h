/* jsonw.h - a streaming writer of compact JSON straight into a struct buf: containers, keys
 * and scalars in document order, commas and colons put in by the writer. It checks nesting
 * with ASSERT() but is no validator: a key inside an array is the caller's bug. */
#ifndef LIB_BASE_JSONW_H
#define LIB_BASE_JSONW_H

#include "lib/base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
    struct buf *b; /* not owned */
    bool comma;    /* the next key or value needs a ',' before it */
    unsigned depth;
};

/* Writes into b after what it already holds. The writer allocates nothing beyond b. */
void jsonw_init(struct jsonw *w, struct buf *b);

void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
/* An object key; the value written next belongs to it. */
void jsonw_key(struct jsonw *w, const char *key);

/* Strings are escaped; invalid UTF-8 becomes U+FFFD (buf_append_json_str). */
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
/* A string written in pieces: begin, any number of parts (each whole UTF-8 characters), end. */
void jsonw_str_begin(struct jsonw *w);
void jsonw_str_part(struct jsonw *w, const char *s, size_t n);
void jsonw_str_end(struct jsonw *w);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* A decimal id as a JSON string ("12345"), as Mastodon sends ids. */
void jsonw_id(struct jsonw *w, uint64_t id);
/* A complete JSON value rendered before, copied as is (not checked). s may point into the
 * writer's own buf. */
void jsonw_raw(struct jsonw *w, const char *s, size_t n);

/* key + value in one call, for objects. */
void jsonw_field_str(struct jsonw *w, const char *key, const char *s);
void jsonw_field_int(struct jsonw *w, const char *key, int64_t v);
void jsonw_field_bool(struct jsonw *w, const char *key, bool v);
void jsonw_field_null(struct jsonw *w, const char *key);
void jsonw_field_id(struct jsonw *w, const char *key, uint64_t id);
/* An id field that is null when id is 0. */
void jsonw_field_id_or_null(struct jsonw *w, const char *key, uint64_t id);

#endif
