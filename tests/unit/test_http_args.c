/* test_http_args.c - form decoding and JSON flattening, as Mastodon clients send bodies. */
#include "lib/http/http.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *find(struct http_kv *kv, size_t n, const char *key, int nth)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0 && nth-- == 0)
            return kv[i].value;
    return NULL;
}

Test(http_args, form_decoding)
{
    struct arena a;
    arena_init(&a, 0);
    struct http_kv *kv;
    size_t n;
    const char *body = "status=Hello+world%21&media_ids[]=1&media_ids%5B%5D=2&empty=&flag&"
                       "caf%C3%A9=%E2%82%AC";
    cr_assert_eq(http_parse_form(&a, body, strlen(body), &kv, &n, NULL), 0);
    cr_assert_eq(n, 6);
    cr_assert_str_eq(find(kv, n, "status", 0), "Hello world!");
    cr_assert_str_eq(find(kv, n, "media_ids[]", 0), "1");
    cr_assert_str_eq(find(kv, n, "media_ids[]", 1), "2");
    cr_assert_str_eq(find(kv, n, "empty", 0), "");
    cr_assert_str_eq(find(kv, n, "flag", 0), "");
    cr_assert_str_eq(find(kv, n, "caf\xc3\xa9", 0), "\xe2\x82\xac");
    arena_release(&a);
}

Test(http_args, form_rejects_malformed)
{
    struct arena a;
    arena_init(&a, 0);
    struct http_kv *kv;
    size_t n;
    struct err err = {0};
    const char *bad[] = {"a=%zz", "a=%4", "a=%", "a=%ff%fe", "a=%00b", "%c3=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(http_parse_form(&a, bad[i], strlen(bad[i]), &kv, &n, &err), ERR_INVALID,
                     "accepted %s", bad[i]);
    arena_release(&a);
}

Test(http_args, json_flattening)
{
    struct arena a;
    arena_init(&a, 0);
    json_t *j =
        json_loads("{\"status\":\"hi\",\"sensitive\":false,\"limit\":20,\"media_ids\":[\"1\",2],"
                   "\"poll\":{\"options\":[\"a\",\"b\"],\"expires_in\":300},\"gone\":null}",
                   0, NULL);
    cr_assert_not_null(j);
    struct http_kv *kv;
    size_t n;
    cr_assert_eq(http_flatten_json(&a, j, &kv, &n, NULL), 0);
    cr_assert_str_eq(find(kv, n, "status", 0), "hi");
    cr_assert_str_eq(find(kv, n, "sensitive", 0), "false");
    cr_assert_str_eq(find(kv, n, "limit", 0), "20");
    cr_assert_str_eq(find(kv, n, "media_ids[]", 0), "1");
    cr_assert_str_eq(find(kv, n, "media_ids[]", 1), "2");
    cr_assert_str_eq(find(kv, n, "poll[options][]", 1), "b");
    cr_assert_str_eq(find(kv, n, "poll[expires_in]", 0), "300");
    cr_assert_null(find(kv, n, "gone", 0));
    json_decref(j);

    j = json_loads("[1,2]", 0, NULL);
    cr_assert_eq(http_flatten_json(&a, j, &kv, &n, NULL), ERR_INVALID);
    json_decref(j);
    j = json_loads("{\"a\":\"x\\u0000y\"}", JSON_ALLOW_NUL, NULL);
    cr_assert_eq(http_flatten_json(&a, j, &kv, &n, NULL), ERR_INVALID);
    json_decref(j);
    arena_release(&a);
}
