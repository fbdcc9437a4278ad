/* json_span.c - a strict JSON checker and a byte scanner over checked text. Written by hand,
 * not with jansson, for speed: the event consumer reads a handful of fields from each message
 * of about 2 KB, and jansson spent about 55 us building the whole document (a hash table per
 * object, a malloc per value) where checking the text and scanning it for those fields costs a
 * few. The checker refuses what jansson refuses (tests/unit/test_json_span.c compares the two
 * on mutated messages), so a message is dead-lettered exactly when it was before. Once text is
 * checked, a value ends at the first byte outside a string that closes its last open bracket
 * (containers) or at the first delimiter (scalars); inside a string, a quote preceded by an odd
 * number of backslashes is part of it. Every read is bounds-checked. */
#include "lib/base/json_span.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RAN_OUT SIZE_MAX /* a string or container not closed before the end of the text */
#define MAX_DEPTH 2048   /* jansson's JSON_PARSER_MAX_DEPTH */
#define KEYS_INLINE 32   /* names of one object kept on the stack for the duplicate check */

/* ---- checking ---- */

struct check {
    const unsigned char *s;
    size_t n, i;
    int depth;
    const char *why;
};

static bool fail(struct check *c, const char *why)
{
    if (!c->why)
        c->why = why;
    return false;
}

static void check_space(struct check *c)
{
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static bool hex4(const unsigned char *s, size_t avail, unsigned *out)
{
    unsigned v = 0;
    if (avail < 4)
        return false;
    for (int k = 0; k < 4; k++) {
        unsigned char h = s[k];
        unsigned d = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
                     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                            : 16;
        if (d == 16)
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* The length of the UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char b = s[0];
    size_t k;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        k = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        k = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
    else if (b >= 0xF0 && b <= 0xF4)
        k = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (avail < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++)
        if (s[j] < 0x80 || s[j] > 0xBF)
            return 0;
    return k;
}

/* s[i] is '"': checks the string; *escaped tells whether it holds a backslash. */
static bool check_string(struct check *c, bool *escaped)
{
    const unsigned char *s = c->s;
    size_t i = c->i + 1, n = c->n;
    *escaped = false;
    while (i < n) {
        unsigned char ch = s[i];
        if (ch == '"') {
            c->i = i + 1;
            return true;
        }
        if (ch < 0x20)
            return fail(c, "control character in a string");
        if (ch < 0x80 && ch != '\\') {
            i++;
            continue;
        }
        if (ch >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (!k)
                return fail(c, "invalid UTF-8");
            i += k;
            continue;
        }
        *escaped = true;
        if (i + 1 >= n)
            break;
        ch = s[i + 1];
        if (ch != 'u') {
            if (ch != '"' && ch != '\\' && ch != '/' && ch != 'b' && ch != 'f' && ch != 'n' &&
                ch != 'r' && ch != 't')
                return fail(c, "invalid escape");
            i += 2;
            continue;
        }
        unsigned v, w;
        if (!hex4(s + i + 2, n - i - 2, &v))
            return fail(c, "invalid \\u escape");
        i += 6;
        if (v == 0)
            return fail(c, "\\u0000 is not allowed");
        if (v >= 0xDC00 && v <= 0xDFFF)
            return fail(c, "invalid Unicode: unpaired low surrogate");
        if (v >= 0xD800 && v <= 0xDBFF) {
            if (i + 1 >= n || s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, n - i - 2, &w) ||
                w < 0xDC00 || w > 0xDFFF)
                return fail(c, "invalid Unicode: unpaired high surrogate");
            i += 6;
        }
    }
    return fail(c, "unterminated string");
}

static bool is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A number as RFC 8259 writes it, whose value jansson can hold: an integer within 64 bits, a
 * real that does not overflow. */
static bool check_number(struct check *c)
{
    const unsigned char *s = c->s;
    size_t i = c->i, n = c->n;
    bool real = false;
    if (s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return fail(c, "invalid number");
    if (i < n && s[i] == '.') {
        real = true;
        if (++i >= n || !is_digit(s[i]))
            return fail(c, "invalid number");
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        real = true;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return fail(c, "invalid number");
        while (i < n && is_digit(s[i]))
            i++;
    }
    size_t len = i - c->i;
    char small[64], *t = len < sizeof(small) ? small : malloc(len + 1);
    if (!t)
        abort();
    memcpy(t, s + c->i, len);
    t[len] = '\0';
    errno = 0;
    bool ok;
    if (real) {
        double d = strtod(t, NULL);
        ok = !(errno == ERANGE && isinf(d));
    } else {
        (void)strtoll(t, NULL, 10);
        ok = errno != ERANGE;
    }
    if (t != small)
        free(t);
    c->i = i;
    return ok || fail(c, real ? "real number overflow" : "too big integer");
}

static bool check_literal(struct check *c, const char *word)
{
    size_t k = strlen(word);
    if (c->n - c->i < k || memcmp(c->s + c->i, word, k) != 0)
        return fail(c, "invalid token");
    c->i += k;
    return true;
}

static bool check_value(struct check *c);

/* A name of an object: where it is written and whether it holds escapes. */
struct name {
    size_t off, len;
    bool escaped;
};

static size_t unescape(const char *p, size_t n, char *out);

/* True if names a and b of text s are equal once decoded. */
static bool same_name(const unsigned char *s, const struct name *a, const struct name *b)
{
    if (!a->escaped && !b->escaped)
        return a->len == b->len && memcmp(s + a->off, s + b->off, a->len) == 0;
    char *x = malloc(a->len + 1), *y = malloc(b->len + 1);
    if (!x || !y)
        abort();
    size_t nx = unescape((const char *)s + a->off, a->len, x);
    size_t ny = unescape((const char *)s + b->off, b->len, y);
    bool same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

static bool check_object(struct check *c)
{
    struct name inline_names[KEYS_INLINE], *names = inline_names;
    size_t nnames = 0, cap = KEYS_INLINE;
    bool ok = false;
    c->i++;
    check_space(c);
    if (c->i < c->n && c->s[c->i] == '}') {
        c->i++;
        return true;
    }
    for (;;) {
        check_space(c);
        if (c->i >= c->n || c->s[c->i] != '"') {
            fail(c, "string or '}' expected");
            break;
        }
        struct name nm = {c->i + 1, 0, false};
        if (!check_string(c, &nm.escaped))
            break;
        nm.len = c->i - 1 - nm.off;
        size_t k = 0;
        while (k < nnames && !same_name(c->s, &names[k], &nm))
            k++;
        if (k < nnames) {
            fail(c, "duplicate object key");
            break;
        }
        if (nnames == cap) {
            cap *= 2;
            struct name *grown = malloc(cap * sizeof(*grown));
            if (!grown)
                abort();
            memcpy(grown, names, nnames * sizeof(*names));
            if (names != inline_names)
                free(names);
            names = grown;
        }
        names[nnames++] = nm;
        check_space(c);
        if (c->i >= c->n || c->s[c->i] != ':') {
            fail(c, "':' expected");
            break;
        }
        c->i++;
        if (!check_value(c))
            break;
        check_space(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->n && c->s[c->i] == '}') {
            c->i++;
            ok = true;
        } else {
            fail(c, "',' or '}' expected");
        }
        break;
    }
    if (names != inline_names)
        free(names);
    return ok;
}

static bool check_array(struct check *c)
{
    c->i++;
    check_space(c);
    if (c->i < c->n && c->s[c->i] == ']') {
        c->i++;
        return true;
    }
    for (;;) {
        if (!check_value(c))
            return false;
        check_space(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->n && c->s[c->i] == ']') {
            c->i++;
            return true;
        }
        return fail(c, "',' or ']' expected");
    }
}

static bool check_value(struct check *c)
{
    check_space(c);
    if (c->i >= c->n)
        return fail(c, "unexpected end of input");
    unsigned char ch = c->s[c->i];
    /* jansson counts every value, scalars too, against its limit. */
    if (c->depth >= MAX_DEPTH)
        return fail(c, "maximum parsing depth reached");
    if (ch == '{' || ch == '[') {
        c->depth++;
        bool ok = ch == '{' ? check_object(c) : check_array(c);
        c->depth--;
        return ok;
    }
    if (ch == '"') {
        bool escaped;
        return check_string(c, &escaped);
    }
    if (ch == 't')
        return check_literal(c, "true");
    if (ch == 'f')
        return check_literal(c, "false");
    if (ch == 'n')
        return check_literal(c, "null");
    if (ch == '-' || is_digit(ch))
        return check_number(c);
    return fail(c, "invalid token");
}

bool json_span_valid(const char *text, size_t len, const char **why)
{
    struct check c = {(const unsigned char *)text, len, 0, 0, NULL};
    check_space(&c);
    bool ok = c.i < c.n && (c.s[c.i] == '{' || c.s[c.i] == '[') ? check_value(&c)
                                                                : fail(&c, "'[' or '{' expected");
    if (ok) {
        check_space(&c);
        if (c.i != c.n)
            ok = fail(&c, "end of input expected");
    }
    if (why)
        *why = ok ? NULL : c.why;
    return ok;
}

/* ---- scanning checked text ---- */

static size_t skip_space(const char *s, size_t i, size_t n)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[i] is the opening quote of a string: the index just past its closing quote, or RAN_OUT. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    size_t from = i + 1;
    for (;;) {
        const char *q = from < n ? memchr(s + from, '"', n - from) : NULL;
        if (!q)
            return RAN_OUT;
        size_t k = (size_t)(q - s), back = 0;
        while (k - back > i + 1 && s[k - back - 1] == '\\')
            back++;
        if (back % 2 == 0)
            return k + 1;
        from = k + 1;
    }
}

/* s[i] starts a value: the index just past it, or RAN_OUT. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
    if (i >= n)
        return RAN_OUT;
    if (s[i] == '"')
        return skip_string(s, i, n);
    if (s[i] != '{' && s[i] != '[') {
        while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
               s[i] != '\n' && s[i] != '\r')
            i++;
        return i;
    }
    size_t depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, i, n);
            if (i == RAN_OUT)
                return RAN_OUT;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
        }
        i++;
    }
    return RAN_OUT;
}

/* Decodes the body of a checked string (between its quotes) into out, which has room for n
 * bytes (decoding never lengthens); returns the length written. */
static size_t unescape(const char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const char *bs = memchr(p + i, '\\', n - i);
        size_t plain = bs ? (size_t)(bs - (p + i)) : n - i;
        memcpy(out + o, p + i, plain);
        o += plain;
        i += plain;
        if (i + 1 >= n)
            break;
        char e = p[i + 1];
        i += 2;
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = memchr(from, e, sizeof(from) - 1);
            out[o++] = k ? to[k - from] : e;
            continue;
        }
        unsigned v = 0, w = 0;
        if (!hex4((const unsigned char *)p + i, n - i, &v))
            break;
        i += 4;
        if (v >= 0xD800 && v <= 0xDBFF && i + 6 <= n &&
            hex4((const unsigned char *)p + i + 2, n - i - 2, &w)) {
            v = 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00);
            i += 6;
        }
        if (v < 0x80) {
            out[o++] = (char)v;
        } else if (v < 0x800) {
            out[o++] = (char)(0xC0 | v >> 6);
            out[o++] = (char)(0x80 | (v & 0x3F));
        } else if (v < 0x10000) {
            out[o++] = (char)(0xE0 | v >> 12);
            out[o++] = (char)(0x80 | (v >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (v & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | v >> 18);
            out[o++] = (char)(0x80 | (v >> 12 & 0x3F));
            out[o++] = (char)(0x80 | (v >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (v & 0x3F));
        }
    }
    return o;
}

/* True if the name text[off..off+len) equals key once decoded. */
static bool name_is(const char *text, size_t off, size_t len, const char *key, size_t klen)
{
    if (!memchr(text + off, '\\', len))
        return len == klen && memcmp(text + off, key, klen) == 0;
    if (len < klen)
        return false;
    char small[128], *d = len < sizeof(small) ? small : malloc(len);
    if (!d)
        abort();
    size_t dn = unescape(text + off, len, d);
    bool same = dn == klen && memcmp(d, key, klen) == 0;
    if (d != small)
        free(d);
    return same;
}

/* Fills out[k] with the value of member keys[k] of the object in text[0..len) (empty when
 * absent) in one pass that stops once every key is found; returns how many were found. */
static size_t scan_members(const char *text, size_t len, const char *const *keys, size_t nkeys,
                           struct json_span *out)
{
    size_t found = 0;
    for (size_t k = 0; k < nkeys; k++)
        out[k] = (struct json_span){NULL, 0};
    size_t i = skip_space(text, 0, len);
    if (i >= len || text[i] != '{')
        return 0;
    i++;
    while (found < nkeys) {
        i = skip_space(text, i, len);
        if (i >= len || text[i] != '"')
            break; /* '}' (the end) or not JSON */
        size_t name = i + 1, end = skip_string(text, i, len);
        if (end == RAN_OUT)
            break;
        size_t nlen = end - 1 - name, k = 0;
        if (!memchr(text + name, '\\', nlen)) {
            while (k < nkeys &&
                   (out[k].p || strlen(keys[k]) != nlen || memcmp(text + name, keys[k], nlen) != 0))
                k++;
        } else {
            while (k < nkeys && (out[k].p || !name_is(text, name, nlen, keys[k], strlen(keys[k]))))
                k++;
        }
        i = skip_space(text, end, len);
        if (i >= len || text[i] != ':')
            break;
        i = skip_space(text, i + 1, len);
        size_t vend = skip_value(text, i, len);
        if (vend == RAN_OUT || vend == i)
            break;
        if (k < nkeys) {
            out[k] = (struct json_span){text + i, vend - i};
            found++;
        }
        i = skip_space(text, vend, len);
        if (i >= len || text[i] != ',')
            break;
        i++;
    }
    return found;
}

bool json_span_member(const char *text, size_t len, const char *key, struct json_span *out)
{
    return scan_members(text, len, &key, 1, out) == 1;
}

size_t json_span_members(struct json_span v, const char *const *keys, size_t n,
                         struct json_span *out)
{
    if (!v.p) {
        for (size_t k = 0; k < n; k++)
            out[k] = (struct json_span){NULL, 0};
        return 0;
    }
    return scan_members(v.p, v.len, keys, n, out);
}

struct json_span json_span_get(struct json_span v, const char *key)
{
    struct json_span out = {NULL, 0};
    if (v.p)
        json_span_member(v.p, v.len, key, &out);
    return out;
}

enum json_span_type json_span_type(struct json_span v)
{
    if (!v.p || v.len == 0)
        return JSON_SPAN_NONE;
    switch (v.p[0]) {
    case '{':
        return JSON_SPAN_OBJECT;
    case '[':
        return JSON_SPAN_ARRAY;
    case '"':
        return JSON_SPAN_STRING;
    case 't':
        return JSON_SPAN_TRUE;
    case 'f':
        return JSON_SPAN_FALSE;
    case 'n':
        return JSON_SPAN_NULL;
    default:
        return JSON_SPAN_NUMBER;
    }
}

bool json_span_next(struct json_span v, struct json_span *item)
{
    if (json_span_type(v) != JSON_SPAN_ARRAY)
        return false;
    size_t n = v.len, i;
    if (!item->p) {
        i = skip_space(v.p, 1, n);
    } else {
        i = skip_space(v.p, (size_t)(item->p - v.p) + item->len, n);
        if (i >= n || v.p[i] != ',')
            return false;
        i = skip_space(v.p, i + 1, n);
    }
    if (i >= n || v.p[i] == ']')
        return false;
    size_t end = skip_value(v.p, i, n);
    if (end == RAN_OUT || end == i)
        return false;
    *item = (struct json_span){v.p + i, end - i};
    return true;
}

char *json_span_string(struct json_span v, struct arena *a)
{
    if (json_span_type(v) != JSON_SPAN_STRING || v.len < 2)
        return NULL;
    char *out = arena_alloc(a, v.len - 1);
    out[unescape(v.p + 1, v.len - 2, out)] = '\0';
    return out;
}

bool json_span_int(struct json_span v, int64_t *out)
{
    if (json_span_type(v) != JSON_SPAN_NUMBER || v.len >= 24)
        return false;
    char t[24];
    memcpy(t, v.p, v.len);
    t[v.len] = '\0';
    if (strpbrk(t, ".eE"))
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(t, &end, 10);
    if (errno == ERANGE || *end != '\0' || end == t)
        return false;
    *out = (int64_t)x;
    return true;
}
