/* json_span.c - a byte scanner over JSON that a parser has already accepted. Written by hand,
 * not with a JSON library, for speed: the event consumer keeps each snapshot (an account, a
 * status) as the bytes it arrived in, and finding them this way costs a pass over the text with
 * no allocation, where serialising the parsed value again cost as much as parsing it. Since the
 * text is valid JSON, a value ends at the first byte outside a string that closes its last open
 * bracket (containers) or at the first delimiter (scalars); only strings need care: a quote
 * preceded by an odd number of backslashes is part of the string. Every read is bounds-checked,
 * so text that is not JSON gives a wrong answer, never a read past the end. */
#include "lib/base/json_span.h"

#include <stdint.h>
#include <string.h>

#define RAN_OUT SIZE_MAX /* a string or container not closed before the end of the text */

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

bool json_span_member(const char *text, size_t len, const char *key, struct json_span *out)
{
    size_t klen = strlen(key);
    size_t i = skip_space(text, 0, len);
    if (i >= len || text[i] != '{')
        return false;
    i++;
    for (;;) {
        i = skip_space(text, i, len);
        if (i >= len || text[i] != '"')
            return false; /* '}' (the end) or not JSON */
        size_t name = i + 1, end = skip_string(text, i, len);
        if (end == RAN_OUT)
            return false;
        bool match = end - 1 - name == klen && memcmp(text + name, key, klen) == 0;
        i = skip_space(text, end, len);
        if (i >= len || text[i] != ':')
            return false;
        i = skip_space(text, i + 1, len);
        size_t vend = skip_value(text, i, len);
        if (vend == RAN_OUT || vend == i)
            return false;
        if (match) {
            out->p = text + i;
            out->len = vend - i;
            return true;
        }
        i = skip_space(text, vend, len);
        if (i >= len || text[i] != ',')
            return false;
        i++;
    }
}
