/* test_json_span.c - the strict checker against jansson (the parser it stands in for: the same
 * texts accepted and refused, on hand-picked cases and on thousands of mutations of a real
 * event), and the scanner: member spans with nesting, strings with brackets, quotes and
 * backslashes, space and escaped names, arrays, decoded strings and integers, and text that is
 * not JSON (no read past the end: the sanitizer build checks that part). */
#include "lib/base/json_span.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
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
    cr_assert_str_eq(member(t, "ba"), "2", "names are compared decoded");
    cr_assert_str_eq(member(t, "k\""), "3");
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

/* What jansson makes of text: accepted (as json_span_valid must) or not. */
static bool jansson_accepts(const char *text, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    json_decref(j);
    return j != NULL;
}

/* Checks text both ways; where both accept an object, every member jansson sees is found with
 * the same string or integer value. */
static void same_as_jansson(const char *text, size_t len)
{
    const char *why = NULL;
    bool ours = json_span_valid(text, len, &why);
    bool theirs = jansson_accepts(text, len);
    cr_assert_eq(ours, theirs, "json_span %s, jansson %s: [%.*s] (%s)",
                 ours ? "accepts" : "refuses", theirs ? "accepts" : "refuses", (int)len, text,
                 why ? why : "");
    cr_assert(ours || (why && *why));
    if (!ours)
        return;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *k;
    json_t *v;
    struct arena a;
    arena_init(&a, 0);
    json_object_foreach(j, k, v)
    {
        struct json_span sp;
        cr_assert(json_span_member(text, len, k, &sp), "member %s not found in %.*s", k, (int)len,
                  text);
        if (json_is_string(v)) {
            const char *got = json_span_string(sp, &a);
            cr_assert(got && strcmp(got, json_string_value(v)) == 0, "string %s", k);
        }
        int64_t x;
        if (json_is_integer(v))
            cr_assert(json_span_int(sp, &x) && x == json_integer_value(v), "integer %s", k);
        else
            cr_assert_not(json_span_int(sp, &x));
    }
    arena_release(&a);
    json_decref(j);
}

static void same(const char *text)
{
    same_as_jansson(text, strlen(text));
}

Test(json_span, checks_like_jansson)
{
    const char *cases[] = {"{}",
                           "[]",
                           " {} ",
                           "{} x",
                           "{}{}",
                           "",
                           "   ",
                           "1",
                           "\"s\"",
                           "null",
                           "{\"a\":1,}",
                           "[1,]",
                           "[,1]",
                           "{\"a\" 1}",
                           "{\"a\":}",
                           "{a:1}",
                           "{\"a\":1 \"b\":2}",
                           "{\"a\":01}",
                           "{\"a\":-0}",
                           "{\"a\":-}",
                           "{\"a\":1.}",
                           "{\"a\":.5}",
                           "{\"a\":1e}",
                           "{\"a\":1e+}",
                           "{\"a\":1E-2}",
                           "{\"a\":+1}",
                           "{\"a\":9223372036854775807}",
                           "{\"a\":9223372036854775808}",
                           "{\"a\":-9223372036854775808}",
                           "{\"a\":-9223372036854775809}",
                           "{\"a\":1e308}",
                           "{\"a\":1e309}",
                           "{\"a\":-1e999}",
                           "{\"a\":1e-999}",
                           "{\"a\":true}",
                           "{\"a\":tru}",
                           "{\"a\":truex}",
                           "{\"a\":True}",
                           "{\"a\":nul}",
                           "{\"a\":\"\\u0000\"}",
                           "{\"a\":\"\\u0001\"}",
                           "{\"a\":\"\x01\"}",
                           "{\"a\":\"\t\"}",
                           "{\"a\":\"\x7f\"}",
                           "{\"a\":\"\\ud800\"}",
                           "{\"a\":\"\\udc00\"}",
                           "{\"a\":\"\\ud83d\\ude00\"}",
                           "{\"a\":\"\\ud83d\\u0041\"}",
                           "{\"a\":\"\\ud83dx\"}",
                           "{\"a\":\"\\uDBFF\\uDFFF\"}",
                           "{\"a\":\"\\u00E9\\/\\b\\f\\n\\r\\t\\\"\\\\\"}",
                           "{\"a\":\"\\x\"}",
                           "{\"a\":\"\\u12\"}",
                           "{\"a\":\"\\u12g4\"}",
                           "{\"a\":\"\\\"}",
                           "{\"a\":\"\xc3\xa9\"}",
                           "{\"a\":\"\xc3\"}",
                           "{\"a\":\"\xc0\x80\"}",
                           "{\"a\":\"\xe0\x80\x80\"}",
                           "{\"a\":\"\xed\xa0\x80\"}",
                           "{\"a\":\"\xef\xbf\xbf\"}",
                           "{\"a\":\"\xf0\x90\x80\x80\"}",
                           "{\"a\":\"\xf4\x8f\xbf\xbf\"}",
                           "{\"a\":\"\xf4\x90\x80\x80\"}",
                           "{\"a\":\"\xf5\x80\x80\x80\"}",
                           "{\"a\":\"\xff\"}",
                           "{\"\xc3\xa9\":1}",
                           "{\"a\":1}\xc3\xa9",
                           "{\"a\":1,\"a\":2}",
                           "{\"a\":1,\"\\u0061\":2}",
                           "{\"a\":{\"b\":1,\"b\":2}}",
                           "{\"a\":{\"b\":1},\"b\":{\"b\":2}}",
                           "{\"\":1,\"\":2}",
                           "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
                           "{\"a\":[1,{\"b\":[]},\"]\"]}",
                           "{\"a\":\"x\" , \"b\" : [ 1 , 2 ] }\n",
                           "\xef\xbb\xbf{}",
                           "{\"a\":1}\x00",
                           "{\"a\":\"unterminated}",
                           "{\"a\":[1,2}",
                           "{\"a\":{\"b\":1]}",
                           "{\"a\":\f1}"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        same(cases[i]);
    same_as_jansson("{\"a\":\"x\x00y\"}", 11);
}

/* Nesting around jansson's limit of 2048 levels, scalars counted. */
Test(json_span, depth_like_jansson)
{
    for (int depth = 2046; depth <= 2050; depth++) {
        for (int scalar = 0; scalar < 2; scalar++) {
            size_t n = 0;
            char *t = malloc(2 * (size_t)depth + 2);
            for (int k = 0; k < depth; k++)
                t[n++] = '[';
            if (scalar)
                t[n++] = '1';
            for (int k = 0; k < depth; k++)
                t[n++] = ']';
            same_as_jansson(t, n);
            free(t);
        }
    }
}

/* A real favourite.created envelope (as threadly-service renders it), mutated many ways. */
static const char fav[] =
    "{\"id\":\"3765734848719753217\",\"type\":\"favourite.created\",\"version\":1,\"occurred_at\":"
    "\"2026-11-25T21:31:43.810Z\",\"producer\":\"threadly-service\",\"key\":\"376573484871765\","
    "\"data\":{\"favourite_id\":\"3765734848719753216\",\"account\":{\"id\":\"376573484871555\","
    "\"username\":\"actor\",\"display_name\":\"A\\u00e9 \\ud83d\\ude00 \\\"q\\\" \xc3\xa9\","
    "\"locked\":false,\"bot\":false,\"created_at\":\"2026-11-25T21:31:43.808Z\",\"note\":\"\","
    "\"url\":\"http://127.0.0.1:22190/@actor\",\"followers_count\":0,\"emojis\":[],\"fields\":[],"
    "\"last_status_at\":null},\"status\":{\"id\":\"3765734848717656064\",\"account\":{\"id\":"
    "\"3765734848713461760\",\"username\":\"listener\",\"statuses_count\":1},\"content\":"
    "\"<p>favourite me</p>\",\"visibility\":\"public\",\"mentions\":[],\"reblogs_count\":0,"
    "\"score\":-1.5e3,\"in_reply_to_id\":null,\"favourited\":false}}}";

Test(json_span, mutations_like_jansson)
{
    static const char *const pieces[] = {"\"",
                                         "\\",
                                         "{",
                                         "}",
                                         "[",
                                         "]",
                                         ",",
                                         ":",
                                         "0",
                                         "-",
                                         ".",
                                         "e",
                                         "E",
                                         "+",
                                         " ",
                                         "\n",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\x80",
                                         "\xbf",
                                         "\xc0",
                                         "\xc3",
                                         "\xe0",
                                         "\xed",
                                         "\xf0",
                                         "\xf4",
                                         "\xf5",
                                         "\xff",
                                         "u",
                                         "a",
                                         "t",
                                         "n",
                                         "f",
                                         "/",
                                         "\\u0000",
                                         "\\ud800",
                                         "\\udc00",
                                         "\\ud83d\\ude00",
                                         "\\u0061",
                                         "\\u00",
                                         "1e999",
                                         "99999999999999999999",
                                         "-0",
                                         "01",
                                         "\"data\":{}",
                                         "\"id\":\"1\"",
                                         "null",
                                         "true",
                                         "\"\"",
                                         "[[",
                                         "]]",
                                         "\xc3\xa9"};
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    size_t flen = sizeof(fav) - 1;
    char *t = malloc(flen + 64);
    unsigned seed = 12345;
    same_as_jansson(fav, flen);
    cr_assert(jansson_accepts(fav, flen));
    for (int round = 0; round < 20000; round++) {
        memcpy(t, fav, flen);
        size_t n = flen;
        int edits = 1 + round % 3;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            const char *pc = pieces[(seed >> 8) % npieces];
            size_t pn = strlen(pc) ? strlen(pc) : 1;
            seed = seed * 1103515245u + 12345u;
            switch ((seed >> 8) % 3) {
            case 0: /* overwrite */
                if (at + pn <= n)
                    memcpy(t + at, pc, pn);
                break;
            case 1: /* insert */
                if (n + pn <= flen + 60) {
                    memmove(t + at + pn, t + at, n - at);
                    memcpy(t + at, pc, pn);
                    n += pn;
                }
                break;
            default: /* delete */
                memmove(t + at, t + at + 1, n - at - 1);
                n--;
                break;
            }
        }
        same_as_jansson(t, n);
    }
    free(t);
}

Test(json_span, arrays_strings_integers)
{
    const char *t = "{\"m\":[ \"1\" , {\"x\":[2]},3 ],\"e\":[],\"s\":\"a\\u00e9\\n\\ud83d\\ude00\","
                    "\"i\":-42,\"r\":4.0,\"big\":12345678901234567890123}";
    struct json_span all = {t, strlen(t)}, m = json_span_get(all, "m"), it = {0};
    struct arena a;
    arena_init(&a, 0);
    cr_assert_eq(json_span_type(m), JSON_SPAN_ARRAY);
    cr_assert(json_span_next(m, &it));
    cr_assert_str_eq(json_span_string(it, &a), "1");
    cr_assert(json_span_next(m, &it));
    cr_assert_eq(json_span_type(it), JSON_SPAN_OBJECT);
    cr_assert_eq(it.len, strlen("{\"x\":[2]}"));
    cr_assert(json_span_next(m, &it));
    int64_t x;
    cr_assert(json_span_int(it, &x) && x == 3);
    cr_assert_not(json_span_next(m, &it));
    struct json_span none = {0};
    cr_assert_not(json_span_next(json_span_get(all, "e"), &none));
    cr_assert_str_eq(json_span_string(json_span_get(all, "s"), &a), "a\xc3\xa9\n\xf0\x9f\x98\x80");
    cr_assert_null(json_span_string(json_span_get(all, "i"), &a));
    cr_assert(json_span_int(json_span_get(all, "i"), &x) && x == -42);
    cr_assert_not(json_span_int(json_span_get(all, "r"), &x), "a real is not an integer");
    cr_assert_not(json_span_int(json_span_get(all, "big"), &x));
    cr_assert_eq(json_span_type(json_span_get(all, "nope")), JSON_SPAN_NONE);
    cr_assert_eq(json_span_type(json_span_get(json_span_get(all, "i"), "x")), JSON_SPAN_NONE);
    arena_release(&a);
}

Test(json_span, several_members_in_one_pass)
{
    const char *t = "{\"a\":{\"x\":1},\"b\":\"s\",\"c\\u0064\":[1],\"e\":null}";
    static const char *const keys[] = {"e", "cd", "zz", "a"};
    struct json_span v = {t, strlen(t)}, m[4];
    cr_assert_eq(json_span_members(v, keys, 4, m), 3);
    cr_assert(m[0].len == 4 && memcmp(m[0].p, "null", 4) == 0);
    cr_assert(m[1].len == 3 && memcmp(m[1].p, "[1]", 3) == 0, "names compared decoded");
    cr_assert_null(m[2].p);
    cr_assert(m[3].len == 7 && memcmp(m[3].p, "{\"x\":1}", 7) == 0);
    cr_assert_eq(json_span_members(json_span_get(v, "b"), keys, 4, m), 0, "not an object");
    cr_assert_null(m[3].p);
}
