/* test_jsonw.c - the streaming JSON writer: nesting and commas, escaping, empty containers,
 * raw fragments (also from the writer's own buf), ids and integers. */
#include "lib/base/jsonw.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

Test(jsonw, nesting_and_commas)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_str(&w, "a", "x");
    jsonw_key(&w, "list");
    jsonw_array_begin(&w);
    jsonw_int(&w, 1);
    jsonw_object_begin(&w);
    jsonw_field_bool(&w, "t", true);
    jsonw_field_bool(&w, "f", false);
    jsonw_object_end(&w);
    jsonw_array_begin(&w);
    jsonw_null(&w);
    jsonw_array_end(&w);
    jsonw_int(&w, -2);
    jsonw_array_end(&w);
    jsonw_field_null(&w, "n");
    jsonw_field_int(&w, "i", 42);
    jsonw_object_end(&w);
    cr_assert_str_eq(
        b.data,
        "{\"a\":\"x\",\"list\":[1,{\"t\":true,\"f\":false},[null],-2],\"n\":null,\"i\":42}");
    cr_assert_eq(strlen(b.data), b.len);
    cr_assert_eq(w.depth, 0);
    buf_release(&b);
}

Test(jsonw, empty_containers)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_object_begin(&w);
    jsonw_object_end(&w);
    jsonw_object_begin(&w);
    jsonw_key(&w, "e");
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_key(&w, "o");
    jsonw_object_begin(&w);
    jsonw_object_end(&w);
    jsonw_object_end(&w);
    jsonw_array_end(&w);
    cr_assert_str_eq(b.data, "[[],{},{\"e\":[],\"o\":{}}]");
    buf_release(&b);
}

Test(jsonw, escaping)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_str(&w, "say \"hi\" \\ bye");
    jsonw_str(&w, "a\nb\tc\rd\x01\x1f\x7f");
    jsonw_strn(&w, "nul\0in", 6);
    jsonw_str(&w, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    jsonw_str(&w, "bad\xff\xc3"); /* a stray byte and a truncated sequence */
    jsonw_str(&w, "");
    jsonw_array_end(&w);
    cr_assert_str_eq(b.data, "[\"say \\\"hi\\\" \\\\ bye\","
                             "\"a\\nb\\tc\\rd\\u0001\\u001f\\u007f\","
                             "\"nul\\u0000in\","
                             "\"caf\xc3\xa9 \xf0\x9f\x98\x80\","
                             "\"bad\xef\xbf\xbd\xef\xbf\xbd\","
                             "\"\"]");
    buf_release(&b);
}

Test(jsonw, keys_are_escaped)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_int(&w, "q\"k", 1);
    jsonw_object_end(&w);
    cr_assert_str_eq(b.data, "{\"q\\\"k\":1}");
    buf_release(&b);
}

Test(jsonw, string_in_pieces)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_int(&w, "before", 0);
    jsonw_key(&w, "url");
    jsonw_str_begin(&w);
    jsonw_str_part(&w, "https://x.example", 17);
    jsonw_str_part(&w, "/@", 2);
    jsonw_str_part(&w, "a\"b", 3);
    jsonw_str_end(&w);
    jsonw_field_int(&w, "after", 1);
    jsonw_object_end(&w);
    cr_assert_str_eq(b.data, "{\"before\":0,\"url\":\"https://x.example/@a\\\"b\",\"after\":1}");
    buf_release(&b);
}

Test(jsonw, ints_and_ids)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_int(&w, 0);
    jsonw_int(&w, INT64_MAX);
    jsonw_int(&w, INT64_MIN);
    jsonw_id(&w, 0);
    jsonw_id(&w, UINT64_MAX);
    jsonw_id(&w, 109876543210);
    jsonw_array_end(&w);
    cr_assert_str_eq(b.data, "[0,9223372036854775807,-9223372036854775808,\"0\","
                             "\"18446744073709551615\",\"109876543210\"]");
    buf_reset(&b);
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_field_id(&w, "id", 7);
    jsonw_field_id_or_null(&w, "none", 0);
    jsonw_field_id_or_null(&w, "some", 8);
    jsonw_object_end(&w);
    cr_assert_str_eq(b.data, "{\"id\":\"7\",\"none\":null,\"some\":\"8\"}");
    buf_release(&b);
}

Test(jsonw, raw_fragments)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_raw(&w, "{\"a\":1}", 7);
    jsonw_int(&w, 2);
    jsonw_raw(&w, "[]", 2);
    jsonw_array_end(&w);
    cr_assert_str_eq(b.data, "[{\"a\":1},2,[]]");
    buf_release(&b);
}

Test(jsonw, raw_fragment_from_own_buf)
{
    /* As a renderer's cache does: copy a value written earlier into the same buf, many times
     * over so that the buf has to move. */
    struct buf b = BUF_INIT;
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    size_t off = b.len;
    jsonw_object_begin(&w);
    jsonw_field_str(&w, "name", "a fairly long value so the buffer grows now and then");
    jsonw_object_end(&w);
    size_t len = b.len - off;
    for (int i = 0; i < 200; i++)
        jsonw_raw(&w, b.data + off, len);
    jsonw_array_end(&w);
    const char *one = "{\"name\":\"a fairly long value so the buffer grows now and then\"}";
    cr_assert_eq(b.len, 2 + 201 * strlen(one) + 200);
    const char *p = b.data + 1;
    for (int i = 0; i < 201; i++) {
        cr_assert(strncmp(p, one, strlen(one)) == 0, "copy %d differs", i);
        p += strlen(one);
        cr_assert_eq(*p, i < 200 ? ',' : ']');
        p++;
    }
    buf_release(&b);
}

Test(jsonw, appends_after_existing_content)
{
    struct buf b = BUF_INIT;
    struct jsonw w;
    buf_append_str(&b, "data: ");
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_object_end(&w);
    cr_assert_str_eq(b.data, "data: {}");
    buf_release(&b);
}
