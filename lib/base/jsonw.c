/* jsonw.c - the streaming JSON writer. One flag replaces a stack of container states: after a
 * value or a closing bracket the next item needs a comma; after an opening bracket or a key it
 * does not. */
#include "lib/base/jsonw.h"

#include "lib/base/xalloc.h"

#include <stdint.h>
#include <string.h>

void jsonw_init(struct jsonw *w, struct buf *b)
{
    w->b = b;
    w->comma = false;
    w->depth = 0;
}

/* Before a key or a value. */
static void sep(struct jsonw *w)
{
    if (w->comma)
        buf_append_char(w->b, ',');
}

static void begin(struct jsonw *w, char c)
{
    sep(w);
    buf_append_char(w->b, c);
    w->comma = false;
    w->depth++;
}

static void end(struct jsonw *w, char c)
{
    ASSERT(w->depth > 0);
    w->depth--;
    buf_append_char(w->b, c);
    w->comma = true;
}

void jsonw_object_begin(struct jsonw *w)
{
    begin(w, '{');
}

void jsonw_object_end(struct jsonw *w)
{
    end(w, '}');
}

void jsonw_array_begin(struct jsonw *w)
{
    begin(w, '[');
}

void jsonw_array_end(struct jsonw *w)
{
    end(w, ']');
}

void jsonw_key(struct jsonw *w, const char *key)
{
    ASSERT(w->depth > 0);
    sep(w);
    buf_append_json_str(w->b, key, strlen(key));
    buf_append_char(w->b, ':');
    w->comma = false;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    sep(w);
    buf_append_json_str(w->b, s, n);
    w->comma = true;
}

void jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, strlen(s));
}

void jsonw_str_begin(struct jsonw *w)
{
    sep(w);
    buf_append_char(w->b, '"');
    w->comma = false;
}

void jsonw_str_part(struct jsonw *w, const char *s, size_t n)
{
    buf_append_json_chars(w->b, s, n);
}

void jsonw_str_end(struct jsonw *w)
{
    buf_append_char(w->b, '"');
    w->comma = true;
}

/* Appends the decimal digits of v. */
static void append_u64(struct buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_append(b, tmp + i, sizeof(tmp) - i);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    sep(w);
    if (v < 0) {
        buf_append_char(w->b, '-');
        append_u64(w->b, (uint64_t)0 - (uint64_t)v); /* also right for INT64_MIN */
    } else {
        append_u64(w->b, (uint64_t)v);
    }
    w->comma = true;
}

void jsonw_bool(struct jsonw *w, bool v)
{
    sep(w);
    if (v)
        buf_append(w->b, "true", 4);
    else
        buf_append(w->b, "false", 5);
    w->comma = true;
}

void jsonw_null(struct jsonw *w)
{
    sep(w);
    buf_append(w->b, "null", 4);
    w->comma = true;
}

void jsonw_id(struct jsonw *w, uint64_t id)
{
    sep(w);
    buf_append_char(w->b, '"');
    append_u64(w->b, id);
    buf_append_char(w->b, '"');
    w->comma = true;
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
    struct buf *b = w->b;
    /* A fragment from b itself (a cached rendering) would move when b grows: make room for the
     * comma and the copy first, while s is still valid. */
    uintptr_t p = (uintptr_t)s, d = (uintptr_t)b->data;
    if (b->data && p >= d && p < d + b->len) {
        size_t off = (size_t)(p - d);
        buf_grow(b, n + 1);
        s = b->data + off;
    }
    sep(w);
    buf_append(b, s, n);
    w->comma = true;
}

void jsonw_field_str(struct jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_str(w, s);
}

void jsonw_field_int(struct jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_field_bool(struct jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

void jsonw_field_null(struct jsonw *w, const char *key)
{
    jsonw_key(w, key);
    jsonw_null(w);
}

void jsonw_field_id(struct jsonw *w, const char *key, uint64_t id)
{
    jsonw_key(w, key);
    jsonw_id(w, id);
}

void jsonw_field_id_or_null(struct jsonw *w, const char *key, uint64_t id)
{
    jsonw_key(w, key);
    if (id)
        jsonw_id(w, id);
    else
        jsonw_null(w);
}
