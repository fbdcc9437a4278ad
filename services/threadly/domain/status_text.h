/* status_text.h - what people type into a status, read as Mastodon does: @mentions, #hashtags
 * and links are found, the length is counted (a link counts as a fixed number of characters),
 * and the text is rendered as safe HTML. Pure: the caller resolves mentions to accounts. */
#ifndef SERVICES_THREADLY_DOMAIN_STATUS_TEXT_H
#define SERVICES_THREADLY_DOMAIN_STATUS_TEXT_H

#include "lib/base/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum text_token_kind { TOKEN_MENTION, TOKEN_HASHTAG, TOKEN_URL };

struct text_token {
    enum text_token_kind kind;
    size_t start, len; /* bytes of the whole token in the text, '@'/'#' included */
    const char *value; /* mention: "user" or "user@domain"; hashtag: "Tag"; url: the URL */
};

struct text_tokens {
    size_t n;
    struct text_token *items; /* in order of appearance */
};

/* Finds the tokens of valid UTF-8 text (arena memory). */
void status_text_scan(const char *text, struct arena *a, struct text_tokens *out);

/* Length as Mastodon counts it: code points, each URL counting url_weight. */
size_t status_text_length(const char *text, const struct text_tokens *t, size_t url_weight);

/* How a mention renders: the profile URL of the account it names, or NULL when it names no
 * known account (the text then stays plain). */
typedef const char *(*mention_url_fn)(void *ctx, const char *mention);

/* Renders text as HTML: escaped, paragraphs on blank lines, <br /> on single line breaks,
 * links for URLs, hashtags (base_url/tags/<tag>) and resolved mentions. */
char *status_text_html(const char *text, const struct text_tokens *t, const char *base_url,
                       mention_url_fn mention_url, void *ctx, struct arena *a);

#endif
