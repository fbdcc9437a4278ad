/* test_buf.c - buffer growth, JSON string escaping and UTF-8 validation. */
#include "lib/base/buf.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(buf, append_and_printf_grow)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_appendf(&b, "%d,", i);
    cr_assert(strncmp(b.data, "0,1,2,", 6) == 0);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert(strstr(b.data, "999,") != NULL);
    size_t len;
    char *p = buf_detach(&b, &len);
    cr_assert_eq(strlen(p), len);
    cr_assert_null(b.data);
    free(p);
}

static char *json(const char *s, size_t n)
{
    struct buf b = BUF_INIT;
    buf_append_json_str(&b, s, n);
    return buf_detach(&b, NULL);
}

Test(buf, json_escaping)
{
    char *s = json("a\"b\\c\n\t\x01<", 9);
    cr_assert_str_eq(s, "\"a\\\"b\\\\c\\n\\t\\u0001<\"");
    free(s);
    s = json("caf\xc3\xa9", 5);
    cr_assert_str_eq(s, "\"caf\xc3\xa9\"");
    free(s);
    /* invalid UTF-8 is replaced, never passed through */
    s = json("a\xff"
             "b",
             3);
    cr_assert_str_eq(s, "\"a\xef\xbf\xbd"
                        "b\"");
    free(s);
}

Test(buf, utf8_validation)
{
    cr_assert(utf8_valid("plain", 5));
    cr_assert(utf8_valid("\xe2\x82\xac", 3));         /* euro sign */
    cr_assert(utf8_valid("\xf0\x9f\x98\x80", 4));     /* emoji */
    cr_assert_not(utf8_valid("\xc0\xaf", 2));         /* overlong slash */
    cr_assert_not(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    cr_assert_not(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    cr_assert_not(utf8_valid("\xe2\x82", 2));         /* truncated */
    cr_assert_eq(utf8_length("h\xc3\xa9llo", 6), 5);
}

Test(buf, html_escaping)
{
    struct buf b = BUF_INIT;
    const char *s = "<script>alert('x')</script> & \"y\"";
    buf_append_html(&b, s, strlen(s));
    cr_assert_str_eq(b.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;");
    buf_release(&b);
}
