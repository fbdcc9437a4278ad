/* test_health.c - lib/base/health: up/down as /ready and the gauge show it, the error counter,
 * and one warning per change of state or reason rather than one per failure. */
#include "lib/base/clock.h"
#include "lib/base/health.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    int fds[2];
    int64_t now;
    struct clock clock;
    struct logger log;
    struct metrics *m;
    struct metric_series *gauge, *errors;
};

static void fixture_init(struct fixture *f)
{
    cr_assert_eq(pipe(f->fds), 0);
    cr_assert_eq(fcntl(f->fds[0], F_SETFL, O_NONBLOCK), 0);
    f->now = 1795957323004LL;
    f->clock = (struct clock){clock_fake_now_ms, &f->now};
    log_init(&f->log, "test", LOG_INFO, f->fds[1], &f->clock);
    f->m = metrics_new();
    f->gauge = metrics_series(metrics_gauge(f->m, "t_up", "Up.", 0, NULL), NULL);
    f->errors = metrics_series(metrics_counter(f->m, "t_errors_total", "Errors.", 0, NULL), NULL);
}

static void fixture_release(struct fixture *f)
{
    metrics_free(f->m);
    close(f->fds[0]);
    close(f->fds[1]);
}

/* The messages logged since the last call, joined by '|' into out. */
static void logged(struct fixture *f, char *out, size_t len)
{
    char text[8192] = {0};
    ssize_t n = read(f->fds[0], text, sizeof(text) - 1);
    out[0] = '\0';
    for (char *line = text, *nl; n > 0 && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        json_t *j = json_loads(line, 0, NULL);
        cr_assert_not_null(j, "not JSON: %s", line);
        cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
        if (out[0])
            strncat(out, "|", len - strlen(out) - 1);
        strncat(out, json_string_value(json_object_get(j, "msg")), len - strlen(out) - 1);
        json_decref(j);
    }
}

Test(health, down_with_the_first_reason_until_up)
{
    struct fixture f;
    struct health h;
    struct err err = {0};
    char log[1024];
    fixture_init(&f);
    health_init(&h, "kafka consumer", &f.log, f.gauge, f.errors, "kafka b:1 not reached yet");
    cr_assert_eq(health_ready(&h, &err), ERR_UNAVAILABLE);
    cr_assert_eq(err.code, ERR_UNAVAILABLE);
    cr_assert_str_eq(err.msg, "kafka b:1 not reached yet");
    cr_assert(health_up(&h), "down -> up is a change");
    cr_assert_not(health_up(&h), "up -> up is none");
    cr_assert_eq(health_ready(&h, &err), 0);
    cr_assert_eq(metrics_value(f.gauge), 1);
    cr_assert_eq(metrics_value(f.errors), 0);
    logged(&f, log, sizeof(log));
    cr_assert_str_eq(log, "", "health_up logs nothing itself");
    health_release(&h);
    fixture_release(&f);
}

Test(health, one_warning_per_change_and_every_failure_counted)
{
    struct fixture f;
    struct health h;
    struct err err = {0};
    char log[1024];
    fixture_init(&f);
    health_init(&h, "outbox relay", &f.log, f.gauge, f.errors, "not yet");
    health_up(&h);
    health_down(&h, "broker gone");
    cr_assert_eq(metrics_value(f.gauge), 0);
    cr_assert_eq(health_ready(&h, &err), ERR_UNAVAILABLE);
    cr_assert_str_eq(err.msg, "broker gone");
    health_down(&h, "broker gone"); /* the same retry failing again: no line */
    health_down(&h, "broker gone");
    health_down(&h, "timed out"); /* a new reason: a line */
    cr_assert_eq(metrics_value(f.errors), 4);
    logged(&f, log, sizeof(log));
    cr_assert_str_eq(log, "outbox relay: broker gone|outbox relay: timed out");
    /* Up again, then down for the old reason: a line, since it was up. */
    cr_assert(health_up(&h));
    cr_assert_eq(metrics_value(f.gauge), 1);
    health_down(&h, "timed out");
    logged(&f, log, sizeof(log));
    cr_assert_str_eq(log, "outbox relay: timed out");
    cr_assert_eq(health_ready(&h, &err), ERR_UNAVAILABLE);
    cr_assert_str_eq(err.msg, "timed out");
    health_release(&h);
    fixture_release(&f);
}

Test(health, the_first_failure_logs_unless_it_repeats_the_initial_reason)
{
    struct fixture f;
    struct health h;
    char log[1024];
    fixture_init(&f);
    health_init(&h, "feed", &f.log, f.gauge, f.errors, "not polled yet");
    health_down(&h, "not polled yet");
    logged(&f, log, sizeof(log));
    cr_assert_str_eq(log, "");
    health_down(&h, "refused");
    logged(&f, log, sizeof(log));
    cr_assert_str_eq(log, "feed: refused");
    health_release(&h);
    fixture_release(&f);
}

Test(health, works_without_gauge_or_counter)
{
    struct fixture f;
    struct health h;
    struct err err = {0};
    char log[1024];
    fixture_init(&f);
    health_init(&h, "mail", &f.log, NULL, NULL, "not yet");
    health_down(&h, "gone");
    cr_assert_eq(health_ready(&h, &err), ERR_UNAVAILABLE);
    cr_assert(health_up(&h));
    cr_assert_eq(health_ready(&h, &err), 0);
    logged(&f, log, sizeof(log));
    cr_assert_str_eq(log, "mail: gone");
    health_release(&h);
    fixture_release(&f);
}

Test(health, a_long_reason_is_cut_not_overflowed)
{
    struct fixture f;
    struct health h;
    struct err err = {0};
    char why[1000];
    fixture_init(&f);
    memset(why, 'x', sizeof(why) - 1);
    why[sizeof(why) - 1] = '\0';
    health_init(&h, "k", &f.log, NULL, NULL, why);
    cr_assert_eq(health_ready(&h, &err), ERR_UNAVAILABLE);
    cr_assert_eq(strlen(err.msg), sizeof(err.msg) - 1);
    health_down(&h, why);
    cr_assert_eq(health_ready(&h, &err), ERR_UNAVAILABLE);
    cr_assert_eq(err.msg[0], 'x');
    health_release(&h);
    fixture_release(&f);
}
