/* test_json_span.c - finding a member's value bytes in JSON text: nesting, strings with
 * brackets, quotes and backslashes, space, escaped names, and text that is not JSON (no read
 * past the end: the sanitizer build checks that part). */
#include "lib/base/json_span.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* The value of key in text as a string, or NULL when not found. */
static char *member(const char *text, const char *key)
{
    static char out[512];
    struct json_span sp;
    if (!json_span_member(text, strlen(text), key, &sp))
        return NULL;
    cr_assert(sp.p >= text && sp.p + sp.len <= text + strlen(text));
    cr_assert_lt(sp.len, sizeof(out));
    memcpy(out, sp.p, sp.len);
    out[sp.len] = '\0';
    return out;
}

Test(json_span, values_of_every_kind)
{
    const char *t = "{\"a\":1,\"b\":\"x}\\\"]\\\\\",\"c\":{\"d\":[1,{\"e\":\"}\"}],\"f\":null},"
                    "\"g\":[],\"h\":-1.5e3,\"i\":true,\"j\":\"\\\\\"}";
    cr_assert_str_eq(member(t, "a"), "1");
    cr_assert_str_eq(member(t, "b"), "\"x}\\\"]\\\\\"");
    cr_assert_str_eq(member(t, "c"), "{\"d\":[1,{\"e\":\"}\"}],\"f\":null}");
    cr_assert_str_eq(member(t, "g"), "[]");
    cr_assert_str_eq(member(t, "h"), "-1.5e3");
    cr_assert_str_eq(member(t, "i"), "true");
    cr_assert_str_eq(member(t, "j"), "\"\\\\\"");
    cr_assert_null(member(t, "d"), "only members of the outer object");
    cr_assert_null(member(t, "e"));
    cr_assert_null(member(t, "zz"));
    cr_assert_null(member("{}", "a"));
}

Test(json_span, space_and_names_with_escapes)
{
    const char *t = " \n{ \"a\" : { \"x\" : 1 } ,\t\"b\\u0061\":2, \"k\\\"\":3 ,\"c\":\"v\" }\r\n";
    cr_assert_str_eq(member(t, "a"), "{ \"x\" : 1 }");
    cr_assert_str_eq(member(t, "c"), "\"v\"");
    cr_assert_null(member(t, "ba"), "a name written with escapes is not matched");
    cr_assert_null(member(t, "k\""));
    cr_assert_str_eq(member("{\"ab\":1,\"a\":2}", "a"), "2", "no prefix match");
}

Test(json_span, not_json_is_not_found_and_never_overread)
{
    const char *bad[] = {"",
                         "[1]",
                         "{",
                         "{\"a\"",
                         "{\"a\":",
                         "{\"a\":\"unterminated",
                         "{\"a\":{\"b\":1",
                         "{\"x\":1 \"a\":2}",
                         "{\"a\\",
                         "{\"x\":[1,2,\"a\":1",
                         "nul",
                         "{a:1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* An exact-size copy, so a read past the end trips AddressSanitizer. */
        size_t n = strlen(bad[i]);
        char *p = malloc(n ? n : 1);
        memcpy(p, bad[i], n);
        struct json_span sp;
        cr_assert_not(json_span_member(p, n, "a", &sp), "found a in %s", bad[i]);
        free(p);
    }
}
