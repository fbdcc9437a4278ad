/* status_text.c - scanning and rendering of status text. Hand-written: the grammar is small
 * and a regex library would still need the UTF-8 and boundary rules written around it. */
#include "services/threadly/domain/status_text.h"

#include "lib/base/buf.h"
#include "lib/base/xalloc.h"

#include <string.h>

static bool word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
}

static bool username_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool domain_char(char c)
{
    return username_char(c) || c == '.' || c == '-' || c == ':';
}

static bool url_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '<' && c != '>' && c != '"';
}

/* Punctuation that ends a sentence rather than a URL. */
static bool url_trailing(char c)
{
    return c && strchr(".,;:!?)]}'\"", c) != NULL;
}

static void push(struct arena *a, struct text_tokens *out, size_t *cap, enum text_token_kind kind,
                 const char *text, size_t start, size_t len, size_t vstart, size_t vlen)
{
    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct text_token *items = arena_alloc(a, ncap * sizeof(*items));
        if (out->n)
            memcpy(items, out->items, out->n * sizeof(*items));
        out->items = items;
        *cap = ncap;
    }
    out->items[out->n++] =
        (struct text_token){kind, start, len, arena_strndup(a, text + vstart, vlen)};
}

void status_text_scan(const char *text, struct arena *a, struct text_tokens *out)
{
    size_t cap = 0, n = strlen(text), i = 0;
    out->n = 0;
    out->items = NULL;
    while (i < n) {
        bool boundary = i == 0 || !word_char((unsigned char)text[i - 1]);
        if (boundary &&
            (strncmp(text + i, "http://", 7) == 0 || strncmp(text + i, "https://", 8) == 0)) {
            size_t j = i;
            while (j < n && url_char((unsigned char)text[j]))
                j++;
            while (j > i && url_trailing(text[j - 1]))
                j--;
            size_t scheme = text[i + 4] == 's' ? 8 : 7;
            if (j > i + scheme) {
                push(a, out, &cap, TOKEN_URL, text, i, j - i, i, j - i);
                i = j;
                continue;
            }
        }
        if (boundary && text[i] == '@' && i + 1 < n && username_char(text[i + 1])) {
            size_t j = i + 1;
            while (j < n && username_char(text[j]))
                j++;
            if (j + 1 < n && text[j] == '@' && domain_char(text[j + 1])) {
                size_t k = j + 1;
                while (k < n && domain_char(text[k]))
                    k++;
                while (k > j + 1 && (text[k - 1] == '.' || text[k - 1] == ':'))
                    k--;
                j = k;
            }
            push(a, out, &cap, TOKEN_MENTION, text, i, j - i, i + 1, j - i - 1);
            i = j;
            continue;
        }
        if (boundary && text[i] == '#' && i + 1 < n && word_char((unsigned char)text[i + 1])) {
            size_t j = i + 1;
            bool letter = false;
            while (j < n && word_char((unsigned char)text[j])) {
                letter |= !(text[j] >= '0' && text[j] <= '9');
                j++;
            }
            if (letter) { /* "#1" is a number, not a tag */
                push(a, out, &cap, TOKEN_HASHTAG, text, i, j - i, i + 1, j - i - 1);
                i = j;
                continue;
            }
        }
        i++;
    }
}

size_t status_text_length(const char *text, const struct text_tokens *t, size_t url_weight)
{
    size_t len = utf8_length(text, strlen(text));
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i].kind != TOKEN_URL)
            continue;
        size_t chars = utf8_length(text + t->items[i].start, t->items[i].len);
        len = len - chars + url_weight;
    }
    return len;
}

/* Escaped text with paragraph and line breaks. */
static void plain(struct buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - s) : n;
        buf_append_html(b, s + i, end - i);
        if (!nl)
            break;
        i = end + 1;
        if (i < n && s[i] == '\n') {
            while (i < n && s[i] == '\n')
                i++;
            buf_append_str(b, "</p><p>");
        } else {
            buf_append_str(b, "<br />");
        }
    }
}

char *status_text_html(const char *text, const struct text_tokens *t, const char *base_url,
                       mention_url_fn mention_url, void *ctx, struct arena *a)
{
    struct buf b = BUF_INIT;
    size_t n = strlen(text), at = 0;
    /* Blank lines at either end make no empty paragraphs. */
    size_t lead = 0;
    while (lead < n && text[lead] == '\n')
        lead++;
    while (n > lead && text[n - 1] == '\n')
        n--;
    at = lead;
    buf_append_str(&b, "<p>");
    for (size_t i = 0; i < t->n; i++) {
        const struct text_token *tok = &t->items[i];
        if (tok->start < at || tok->start + tok->len > n)
            continue;
        plain(&b, text + at, tok->start - at);
        const char *raw = text + tok->start;
        if (tok->kind == TOKEN_URL) {
            buf_append_str(&b, "<a href=\"");
            buf_append_html(&b, tok->value, strlen(tok->value));
            buf_append_str(&b, "\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" "
                               "translate=\"no\">");
            buf_append_html(&b, raw, tok->len);
            buf_append_str(&b, "</a>");
        } else if (tok->kind == TOKEN_HASHTAG) {
            buf_append_str(&b, "<a href=\"");
            buf_append_html(&b, base_url, strlen(base_url));
            buf_append_str(&b, "/tags/");
            buf_append_html(&b, tok->value, strlen(tok->value));
            buf_append_str(&b, "\" class=\"mention hashtag\" rel=\"tag\">#<span>");
            buf_append_html(&b, tok->value, strlen(tok->value));
            buf_append_str(&b, "</span></a>");
        } else {
            const char *url = mention_url ? mention_url(ctx, tok->value) : NULL;
            if (url) {
                buf_append_str(&b, "<span class=\"h-card\" translate=\"no\"><a href=\"");
                buf_append_html(&b, url, strlen(url));
                buf_append_str(&b, "\" class=\"u-url mention\">@<span>");
                const char *name = tok->value, *dom = strchr(name, '@');
                buf_append_html(&b, name, dom ? (size_t)(dom - name) : strlen(name));
                buf_append_str(&b, "</span></a></span>");
            } else {
                buf_append_html(&b, raw, tok->len);
            }
        }
        at = tok->start + tok->len;
    }
    plain(&b, text + at, n - at);
    buf_append_str(&b, "</p>");
    char *out = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return out;
}
