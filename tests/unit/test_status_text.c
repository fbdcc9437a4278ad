/* test_status_text.c - mentions, hashtags, links, length and HTML of status text. */
#include "services/threadly/domain/status_text.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *known(void *ctx, const char *mention)
{
    (void)ctx;
    return strcmp(mention, "alice") == 0 ? "https://t.example/@alice" : NULL;
}

Test(status_text, scan)
{
    struct arena a;
    arena_init(&a, 0);
    struct text_tokens t;
    status_text_scan("hi @alice and @bob@t.example: see https://x.example/a?b=1. #Café #1 "
                     "mail@alice.example #tag_2",
                     &a, &t);
    cr_assert_eq(t.n, 5);
    cr_assert_eq(t.items[0].kind, TOKEN_MENTION);
    cr_assert_str_eq(t.items[0].value, "alice");
    cr_assert_str_eq(t.items[1].value, "bob@t.example");
    cr_assert_eq(t.items[2].kind, TOKEN_URL);
    cr_assert_str_eq(t.items[2].value, "https://x.example/a?b=1");
    cr_assert_eq(t.items[3].kind, TOKEN_HASHTAG);
    cr_assert_str_eq(t.items[3].value, "Café");
    cr_assert_str_eq(t.items[4].value, "tag_2");
    arena_release(&a);
}

Test(status_text, length_counts_urls_as_23)
{
    struct arena a;
    arena_init(&a, 0);
    struct text_tokens t;
    const char *s = "é https://example.org/a/very/long/path/that/goes/on/and/on";
    status_text_scan(s, &a, &t);
    cr_assert_eq(status_text_length(s, &t, 23), 2 + 23);
    arena_release(&a);
}

Test(status_text, html_is_escaped_and_linked)
{
    struct arena a;
    arena_init(&a, 0);
    struct text_tokens t;
    const char *s = "<b>hi</b> @alice & @nobody\nline two\n\npara #tag https://x.example/?a=1&b=2";
    status_text_scan(s, &a, &t);
    char *html = status_text_html(s, &t, "https://t.example", known, NULL, &a);
    cr_assert_str_eq(
        html,
        "<p>&lt;b&gt;hi&lt;/b&gt; <span class=\"h-card\" translate=\"no\"><a "
        "href=\"https://t.example/@alice\" class=\"u-url mention\">@<span>alice</span></a>"
        "</span> &amp; @nobody<br />line two</p><p>para <a href=\"https://t.example/tags/tag\" "
        "class=\"mention hashtag\" rel=\"tag\">#<span>tag</span></a> <a "
        "href=\"https://x.example/?a=1&amp;b=2\" target=\"_blank\" rel=\"nofollow noopener "
        "noreferrer\" translate=\"no\">https://x.example/?a=1&amp;b=2</a></p>");
    arena_release(&a);
}

Test(status_text, no_script_survives)
{
    struct arena a;
    arena_init(&a, 0);
    struct text_tokens t;
    const char *s = "https://x.example/\"><script>alert(1)</script> #a\"b";
    status_text_scan(s, &a, &t);
    char *html = status_text_html(s, &t, "https://t.example", known, NULL, &a);
    cr_assert_null(strstr(html, "<script"));
    cr_assert_null(strstr(html, "\"><"));
    arena_release(&a);
}
