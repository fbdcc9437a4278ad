/* test_metrics.c - counters, gauges, histograms and the text exposition format. */
#include "lib/base/metrics.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static double forty_two(void *ctx)
{
    (void)ctx;
    return 42;
}

Test(metrics, exposition_format)
{
    struct metrics *m = metrics_new();
    const char *labels[] = {"route", "code"};
    struct metric_family *c = metrics_counter(m, "req_total", "Requests.", 2, labels);
    const char *v1[] = {"/a", "200"}, *v2[] = {"/b\"x", "404"};
    metrics_add(metrics_series(c, v1), 1);
    metrics_add(metrics_series(c, v1), 2);
    metrics_add(metrics_series(c, v2), 1);
    cr_assert_eq(metrics_series(c, v1), metrics_series(c, v1));
    struct metric_family *g = metrics_gauge(m, "open", "Open things.", 0, NULL);
    metrics_set(metrics_series(g, NULL), 5);
    metrics_add(metrics_series(g, NULL), -2);
    const double bounds[] = {0.1, 1};
    struct metric_family *h = metrics_histogram(m, "lat_seconds", "Latency.", 0, NULL, 2, bounds);
    struct metric_series *hs = metrics_series(h, NULL);
    metrics_observe(hs, 0.05);
    metrics_observe(hs, 0.5);
    metrics_observe(hs, 5);
    metrics_func(m, METRIC_GAUGE, "answer", "Computed.", forty_two, NULL);

    struct buf b = BUF_INIT;
    metrics_format(m, &b);
    const char *want[] = {
        "# HELP req_total Requests.\n# TYPE req_total counter\n",
        "req_total{route=\"/a\",code=\"200\"} 3\n",
        "req_total{route=\"/b\\\"x\",code=\"404\"} 1\n",
        "# TYPE open gauge\nopen 3\n",
        "# TYPE lat_seconds histogram\n",
        "lat_seconds_bucket{le=\"0.1\"} 1\n",
        "lat_seconds_bucket{le=\"1\"} 2\n",
        "lat_seconds_bucket{le=\"+Inf\"} 3\n",
        "lat_seconds_sum 5.55\n",
        "lat_seconds_count 3\n",
        "answer 42\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(b.data, want[i]) != NULL, "missing %s in:\n%s", want[i], b.data);
    buf_release(&b);
    metrics_free(m);
}

static void *bump(void *arg)
{
    struct metric_family *f = arg;
    for (int i = 0; i < 10000; i++) {
        const char *v[] = {i % 2 ? "odd" : "even"};
        metrics_add(metrics_series(f, v), 1);
    }
    return NULL;
}

Test(metrics, concurrent_updates_are_not_lost)
{
    struct metrics *m = metrics_new();
    const char *labels[] = {"kind"};
    struct metric_family *f = metrics_counter(m, "ops_total", "Ops.", 1, labels);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, bump, f);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const char *odd[] = {"odd"}, *even[] = {"even"};
    cr_assert_eq(metrics_value(metrics_series(f, odd)), 20000);
    cr_assert_eq(metrics_value(metrics_series(f, even)), 20000);
    metrics_free(m);
}

Test(metrics, process_metrics)
{
    struct metrics *m = metrics_new();
    metrics_add_process(m);
    struct buf b = BUF_INIT;
    metrics_format(m, &b);
    cr_assert(strstr(b.data, "process_resident_memory_bytes ") != NULL);
    cr_assert(strstr(b.data, "process_start_time_seconds ") != NULL);
    cr_assert(strstr(b.data, "process_open_fds ") != NULL);
    const char *rss = strstr(b.data, "\nprocess_resident_memory_bytes ") + 31;
    cr_assert_gt(atof(rss), 100000.0);
    buf_release(&b);
    metrics_free(m);
}
