/* buf.h - growable byte buffer, always NUL-terminated after the data, and string helpers
 * (JSON string escaping, UTF-8 validation) used at the wire. */
#ifndef LIB_BASE_BUF_H
#define LIB_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct buf {
    char *data; /* NULL until the first append; then NUL-terminated */
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/* The slow path of buf_grow: reallocates. */
void buf_grow_slow(struct buf *b, size_t n);

/* Makes room for n more bytes (and the NUL after them). Inline, like the appends below: a
 * rendered page makes thousands of small appends (bench/RESULTS.md, home feed profile). */
static inline void buf_grow(struct buf *b, size_t n)
{
    /* cap is 0 (nothing allocated) or > len: no overflow, and len + n + 1 > cap exactly when
     * n >= cap - len. */
    if (b->cap == 0 || n >= b->cap - b->len)
        buf_grow_slow(b, n);
}

static inline void buf_append(struct buf *b, const void *data, size_t n)
{
    buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void buf_append_char(struct buf *b, char c)
{
    buf_grow(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_append_str(struct buf *b, const char *s);
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vappendf(struct buf *b, const char *fmt, va_list ap);
/* Appends s (n bytes) as a JSON string literal with its quotes. Invalid UTF-8 bytes become
 * U+FFFD so the output is always valid JSON. */
void buf_append_json_str(struct buf *b, const char *s, size_t n);
/* The same without the quotes: s escaped for the inside of a JSON string literal. A code point
 * split across two calls is replaced, so split only between whole characters. */
void buf_append_json_chars(struct buf *b, const char *s, size_t n);
/* Appends s with the five HTML special characters escaped (&amp; &lt; &gt; &quot; &#39;). */
void buf_append_html(struct buf *b, const char *s, size_t n);
/* The same escaping for any sink: emit is called with runs of s and with the entities, in
 * order. Runs are cut at ASCII characters only, so no UTF-8 sequence is split. */
void html_escape(const char *s, size_t n, void (*emit)(void *ctx, const char *p, size_t len),
                 void *ctx);
/* Hands the data to the caller (free() it) and leaves b empty. Never NULL. */
char *buf_detach(struct buf *b, size_t *len);

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *s, size_t n);
/* Number of code points in valid UTF-8 s[0..n). */
size_t utf8_length(const char *s, size_t n);

#endif
