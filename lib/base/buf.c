/* buf.c - growable buffer and wire string helpers. */
#include "lib/base/buf.h"

#include "lib/base/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_grow_slow(struct buf *b, size_t n)
{
    ASSERT(n < (size_t)-1 - b->len - 1);
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    ASSERT(n >= 0);
    if ((size_t)n < sizeof(small)) {
        buf_append(b, small, (size_t)n);
        return;
    }
    buf_grow(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vappendf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (c == 0xE0 && s[1] < 0xA0) /* overlong */
        return 0;
    if (c == 0xED && s[1] >= 0xA0) /* surrogates */
        return 0;
    if (c == 0xF0 && s[1] < 0x90) /* overlong */
        return 0;
    if (c == 0xF4 && s[1] >= 0x90) /* > U+10FFFF */
        return 0;
    return len;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_seq(p + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

size_t utf8_length(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

void buf_append_json_chars(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    buf_grow(b, n);
    size_t i = 0;
    while (i < n) {
        /* Plain printable ASCII is copied a run at a time. */
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            buf_append(b, p + i, run - i);
            i = run;
            if (i == n)
                break;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);
            if (len) {
                buf_append(b, p + i, len);
                i += len;
            } else {
                buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            }
            continue;
        }
        switch (c) {
        case '"':
            buf_append(b, "\\\"", 2);
            break;
        case '\\':
            buf_append(b, "\\\\", 2);
            break;
        case '\n':
            buf_append(b, "\\n", 2);
            break;
        case '\r':
            buf_append(b, "\\r", 2);
            break;
        case '\t':
            buf_append(b, "\\t", 2);
            break;
        default: {
            /* The other control characters and DEL. */
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, esc, sizeof(esc));
        }
        }
        i++;
    }
}

void buf_append_json_str(struct buf *b, const char *s, size_t n)
{
    buf_grow(b, n + 2);
    buf_append_char(b, '"');
    buf_append_json_chars(b, s, n);
    buf_append_char(b, '"');
}

char *buf_detach(struct buf *b, size_t *len)
{
    if (!b->data)
        buf_grow(b, 0), b->data[0] = '\0';
    char *p = b->data;
    if (len)
        *len = b->len;
    buf_init(b);
    return p;
}

void html_escape(const char *s, size_t n, void (*emit)(void *ctx, const char *p, size_t len),
                 void *ctx)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc;
        switch (s[i]) {
        case '&':
            esc = "&amp;";
            break;
        case '<':
            esc = "&lt;";
            break;
        case '>':
            esc = "&gt;";
            break;
        case '"':
            esc = "&quot;";
            break;
        case '\'':
            esc = "&#39;";
            break;
        default:
            continue;
        }
        if (i > start)
            emit(ctx, s + start, i - start);
        emit(ctx, esc, strlen(esc));
        start = i + 1;
    }
    if (n > start)
        emit(ctx, s + start, n - start);
}

static void emit_buf(void *ctx, const char *p, size_t len)
{
    buf_append(ctx, p, len);
}

void buf_append_html(struct buf *b, const char *s, size_t n)
{
    html_escape(s, n, emit_buf, b);
}
