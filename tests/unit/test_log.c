/* test_log.c - log lines are single JSON objects with the standard keys. */
#include "lib/base/log.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

Test(log, one_json_object_per_line_with_fields)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    int64_t now = 1795957323004LL;
    struct clock c = {clock_fake_now_ms, &now};
    struct logger lg;
    log_init(&lg, "test-service", LOG_INFO, fds[1], &c);
    struct log_line l;
    log_begin(&lg, &l, LOG_WARN, "req-1", "a \"quoted\"\nmessage");
    log_str(&l, "path", "/api/v1/instance");
    log_int(&l, "status", 200);
    log_end(&lg, &l);
    log_printf(&lg, LOG_DEBUG, NULL, "dropped %d", 1); /* below the level */
    log_printf(&lg, LOG_ERROR, NULL, "n=%d", 7);
    close(fds[1]);
    char text[2048] = {0};
    ssize_t n = read(fds[0], text, sizeof(text) - 1);
    cr_assert_gt(n, 0);
    char *nl = strchr(text, '\n');
    cr_assert_not_null(nl);
    *nl = '\0';
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert_not_null(j, "%s: %s", e.text, text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "ts")), "2026-11-29T13:02:03.004Z");
    cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    cr_assert_str_eq(json_string_value(json_object_get(j, "service")), "test-service");
    cr_assert_str_eq(json_string_value(json_object_get(j, "req_id")), "req-1");
    cr_assert_str_eq(json_string_value(json_object_get(j, "msg")), "a \"quoted\"\nmessage");
    cr_assert_eq(json_integer_value(json_object_get(j, "status")), 200);
    json_decref(j);
    j = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &e);
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "msg")), "n=7");
    cr_assert_null(strstr(nl + 1, "dropped"));
    json_decref(j);
}

Test(log, level_names)
{
    enum log_level l;
    cr_assert(log_level_parse("debug", &l) && l == LOG_DEBUG);
    cr_assert(log_level_parse("error", &l) && l == LOG_ERROR);
    cr_assert_not(log_level_parse("loud", &l));
}

static size_t read_all(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    return n;
}

Test(log, async_writer_delivers_every_line_in_order)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    struct logger lg;
    log_init(&lg, "svc", LOG_INFO, fds[1], &clock_system);
    log_start_async(&lg, 1 << 20);
    for (int i = 0; i < 500; i++)
        log_printf(&lg, LOG_INFO, NULL, "line %d", i);
    log_stop_async(&lg);
    close(fds[1]);
    static char text[1 << 20];
    read_all(fds[0], text, sizeof(text));
    close(fds[0]);
    const char *p = text;
    for (int i = 0; i < 500; i++) {
        char want[32];
        snprintf(want, sizeof(want), "\"msg\":\"line %d\"", i);
        const char *at = strstr(p, want);
        cr_assert_not_null(at, "line %d missing or out of order", i);
        p = at;
    }
    cr_assert_eq(log_dropped(&lg), 0);
}

Test(log, async_buffer_is_bounded)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    struct logger lg;
    log_init(&lg, "svc", LOG_INFO, fds[1], &clock_system);
    log_start_async(&lg, 300); /* room for about two lines */
    for (int i = 0; i < 50; i++)
        log_printf(&lg, LOG_INFO, NULL, "line %d", i);
    cr_assert_gt(log_dropped(&lg), 0);
    log_stop_async(&lg);
    close(fds[1]);
    close(fds[0]);
}
