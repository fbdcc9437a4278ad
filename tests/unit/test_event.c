/* test_event.c - the event envelope: round trip and refusal of malformed input. */
#include "lib/events/event.h"

#include <criterion/criterion.h>
#include <string.h>

Test(event, round_trip)
{
    struct event e = {115428000000000001ULL,
                      "favourite.created",
                      1,
                      1795957323004LL,
                      "threadly-service",
                      "42",
                      "{\"status_id\":\"7\",\"x\":[1,2]}"};
    struct buf b = BUF_INIT;
    event_format(&e, &b);
    cr_assert_str_eq(b.data,
                     "{\"id\":\"115428000000000001\",\"type\":\"favourite.created\",\"version\":1,"
                     "\"occurred_at\":\"2026-11-29T13:02:03.004Z\",\"producer\":"
                     "\"threadly-service\",\"key\":\"42\",\"data\":{\"status_id\":\"7\","
                     "\"x\":[1,2]}}");
    struct arena a;
    struct event got;
    arena_init(&a, 0);
    cr_assert_eq(event_parse(b.data, b.len, &a, &got, NULL), 0);
    cr_assert_eq(got.id, e.id);
    cr_assert_str_eq(got.type, e.type);
    cr_assert_eq(got.version, 1);
    cr_assert_eq(got.occurred_at, e.occurred_at);
    cr_assert_str_eq(got.producer, e.producer);
    cr_assert_str_eq(got.key, e.key);
    cr_assert_str_eq(got.data, e.data);
    arena_release(&a);
    buf_release(&b);
}

Test(event, garbage_is_refused_with_a_reason)
{
    const char *bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"id\":1,\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"-5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"0\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"NoDots\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a..b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":0,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":\"1\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"yesterday\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\",\"data\":[]}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":\"2026-01-01T00:00:00Z\","
        "\"producer\":\"p\",\"key\":\"k\"}",
        "{\"id\":\"5\",\"id\":\"6\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
    };
    struct arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct event e;
        struct err err = {0};
        cr_assert_eq(event_parse(bad[i], strlen(bad[i]), &a, &e, &err), ERR_INVALID, "accepted %s",
                     bad[i]);
        cr_assert_neq(err.msg[0], '\0');
        cr_assert_null(e.type);
    }
    arena_release(&a);
}

Test(event, types)
{
    cr_assert(event_type_valid("status.created"));
    cr_assert(event_type_valid("mail_events.dlq"));
    cr_assert_not(event_type_valid("status"));
    cr_assert_not(event_type_valid("Status.Created"));
    cr_assert_not(event_type_valid(".a"));
    cr_assert_not(event_type_valid("a."));
}

Test(event, data_is_kept_as_it_arrived)
{
    const char *text = "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
                       "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\": "
                       "{ \"s\" : \"\\u00e9}\\\"\", \"n\":[1, 2] } }";
    struct arena a;
    struct event e;
    struct err err = {0};
    arena_init(&a, 0);
    cr_assert_eq(event_parse(text, strlen(text), &a, &e, &err), 0, "%s", err.msg);
    cr_assert_str_eq(e.data, "{ \"s\" : \"\\u00e9}\\\"\", \"n\":[1, 2] }", "not serialised again");

    /* Names and strings are compared and read decoded, as jansson did. */
    const char *esc =
        "{\"\\u0069d\":\"5\",\"type\":\"a\\u002eb\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\\n\",\"key\":\"k\",\"d\\u0061ta\": "
        "{ \"x\" : 1 }}";
    cr_assert_eq(event_parse(esc, strlen(esc), &a, &e, &err), 0, "%s", err.msg);
    cr_assert_eq(e.id, 5);
    cr_assert_str_eq(e.type, "a.b");
    cr_assert_str_eq(e.producer, "p\n");
    cr_assert_str_eq(e.data, "{ \"x\" : 1 }");

    /* Refused with jansson's strictness: a duplicate name once decoded, \\u0000, bad UTF-8,
     * a version written as a real, trailing bytes, an array. */
    const char *bad[] = {
        "{\"id\":\"5\",\"\\u0069d\":\"6\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\\u0000\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\xff\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1.0,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{}}",
        "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{}} x",
        "[{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{}}]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(event_parse(bad[i], strlen(bad[i]), &a, &e, &err), ERR_INVALID, "accepted %s",
                     bad[i]);
        cr_assert_eq(e.id, 0);
        cr_assert_null(e.data);
    }
    arena_release(&a);
}

Test(event, data_too_large_is_refused)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b,
                   "{\"id\":\"5\",\"type\":\"a.b\",\"version\":1,\"occurred_at\":"
                   "\"2026-01-01T00:00:00Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{\"s\":\"");
    for (size_t i = 0; i < EVENT_DATA_MAX; i++)
        buf_append_str(&b, "x");
    buf_append_str(&b, "\"}}");
    struct arena a;
    struct event e;
    struct err err = {0};
    arena_init(&a, 0);
    cr_assert_eq(event_parse(b.data, b.len, &a, &e, &err), ERR_INVALID);
    cr_assert(strstr(err.msg, "too large"), "%s", err.msg);
    arena_release(&a);
    buf_release(&b);
}
