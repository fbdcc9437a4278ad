/* metrics.c - Prometheus registry. Families live in a list in registration order; series in a
 * per-family list (label cardinality here is small: routes x methods x status codes). */
#include "lib/base/metrics.h"

#include "lib/base/xalloc.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct metric_series {
    struct metric_series *next;
    char *values[METRICS_MAX_LABELS];
    _Atomic uint64_t value; /* double bits: counter/gauge value, histogram sum */
    _Atomic uint64_t count; /* histogram observations */
    _Atomic uint64_t buckets[METRICS_MAX_BUCKETS + 1];
    const struct metric_family *family;
};

struct metric_family {
    struct metric_family *next;
    enum metric_type type;
    char *name, *help;
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    size_t nbounds;
    double bounds[METRICS_MAX_BUCKETS];
    double (*fn)(void *ctx);
    void *fn_ctx;
    pthread_mutex_t lock;
    struct metric_series *_Atomic series;
};

struct metrics {
    pthread_mutex_t lock;
    struct metric_family *head, **tail;
};

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    m->tail = &m->head;
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    struct metric_family *f = m->head;
    while (f) {
        struct metric_family *fnext = f->next;
        struct metric_series *s = atomic_load(&f->series);
        while (s) {
            struct metric_series *snext = s->next;
            for (size_t i = 0; i < f->nlabels; i++)
                free(s->values[i]);
            free(s);
            s = snext;
        }
        for (size_t i = 0; i < f->nlabels; i++)
            free(f->labels[i]);
        pthread_mutex_destroy(&f->lock);
        free(f->name);
        free(f->help);
        free(f);
        f = fnext;
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct metric_family *add_family(struct metrics *m, enum metric_type type, const char *name,
                                        const char *help, size_t nlabels, const char *const *labels)
{
    ASSERT(nlabels <= METRICS_MAX_LABELS);
    struct metric_family *f = xcalloc(1, sizeof(*f));
    f->type = type;
    f->name = xstrdup(name);
    f->help = xstrdup(help);
    f->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        f->labels[i] = xstrdup(labels[i]);
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_lock(&m->lock);
    for (struct metric_family *g = m->head; g; g = g->next)
        ASSERT(strcmp(g->name, name) != 0);
    *m->tail = f;
    m->tail = &f->next;
    pthread_mutex_unlock(&m->lock);
    return f;
}

struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      size_t nlabels, const char *const *labels)
{
    return add_family(m, METRIC_COUNTER, name, help, nlabels, labels);
}

struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    size_t nlabels, const char *const *labels)
{
    return add_family(m, METRIC_GAUGE, name, help, nlabels, labels);
}

struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        size_t nlabels, const char *const *labels, size_t nbounds,
                                        const double *bounds)
{
    ASSERT(nbounds <= METRICS_MAX_BUCKETS);
    struct metric_family *f = add_family(m, METRIC_HISTOGRAM, name, help, nlabels, labels);
    f->nbounds = nbounds;
    for (size_t i = 0; i < nbounds; i++) {
        ASSERT(i == 0 || bounds[i] > bounds[i - 1]);
        f->bounds[i] = bounds[i];
    }
    return f;
}

void metrics_func(struct metrics *m, enum metric_type type, const char *name, const char *help,
                  double (*fn)(void *ctx), void *ctx)
{
    ASSERT(type != METRIC_HISTOGRAM);
    struct metric_family *f = add_family(m, type, name, help, 0, NULL);
    f->fn = fn;
    f->fn_ctx = ctx;
}

static bool same_values(const struct metric_series *s, size_t n, const char *const *values)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

struct metric_series *metrics_series(struct metric_family *f, const char *const *values)
{
    ASSERT(!f->fn);
    /* Series are only ever prepended, so a lock-free read of the list is safe. */
    for (struct metric_series *s = atomic_load(&f->series); s; s = s->next)
        if (same_values(s, f->nlabels, values))
            return s;
    pthread_mutex_lock(&f->lock);
    struct metric_series *s;
    for (s = atomic_load(&f->series); s; s = s->next)
        if (same_values(s, f->nlabels, values))
            break;
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->family = f;
        for (size_t i = 0; i < f->nlabels; i++)
            s->values[i] = xstrdup(values[i]);
        atomic_store(&s->value, dbits(0));
        s->next = atomic_load(&f->series);
        atomic_store(&f->series, s);
    }
    pthread_mutex_unlock(&f->lock);
    return s;
}

static void add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void metrics_add(struct metric_series *s, double v)
{
    ASSERT(s->family->type != METRIC_HISTOGRAM);
    ASSERT(s->family->type != METRIC_COUNTER || v >= 0);
    add_double(&s->value, v);
}

void metrics_set(struct metric_series *s, double v)
{
    ASSERT(s->family->type == METRIC_GAUGE);
    atomic_store_explicit(&s->value, dbits(v), memory_order_relaxed);
}

void metrics_observe(struct metric_series *s, double v)
{
    const struct metric_family *f = s->family;
    ASSERT(f->type == METRIC_HISTOGRAM);
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    add_double(&s->value, v);
}

double metrics_value(const struct metric_series *s)
{
    if (s->family->type == METRIC_HISTOGRAM)
        return (double)atomic_load(&s->count);
    return bitsd(atomic_load(&s->value));
}

static void append_escaped(struct buf *out, const char *s, bool quote_escape)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_append_str(out, "\\\\");
        else if (*s == '\n')
            buf_append_str(out, "\\n");
        else if (*s == '"' && quote_escape)
            buf_append_str(out, "\\\"");
        else
            buf_append_char(out, *s);
    }
}

static void append_number(struct buf *out, double v)
{
    if (isinf(v))
        buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        buf_append_str(out, "NaN");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        buf_appendf(out, "%lld", (long long)v);
    else
        buf_appendf(out, "%.15g", v);
}

/* name{labels[,le="x"]} */
static void append_series_name(struct buf *out, const struct metric_family *f,
                               const struct metric_series *s, const char *suffix, const char *le)
{
    buf_append_str(out, f->name);
    buf_append_str(out, suffix);
    if (f->nlabels == 0 && !le)
        return;
    buf_append_char(out, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        buf_appendf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        append_escaped(out, s->values[i], true);
        buf_append_char(out, '"');
    }
    if (le)
        buf_appendf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    buf_append_char(out, '}');
}

static void format_histogram(struct buf *out, const struct metric_family *f,
                             const struct metric_series *s)
{
    uint64_t cumulative = 0;
    char le[32];
    for (size_t i = 0; i <= f->nbounds; i++) {
        cumulative += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            snprintf(le, sizeof(le), "%g", f->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        append_series_name(out, f, s, "_bucket", le);
        buf_appendf(out, " %llu\n", (unsigned long long)cumulative);
    }
    append_series_name(out, f, s, "_sum", NULL);
    buf_append_char(out, ' ');
    append_number(out, bitsd(atomic_load(&s->value)));
    buf_append_char(out, '\n');
    append_series_name(out, f, s, "_count", NULL);
    /* The count is the sum of buckets read above, so _count equals the +Inf bucket. */
    buf_appendf(out, " %llu\n", (unsigned long long)cumulative);
}

void metrics_format(struct metrics *m, struct buf *out)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&m->lock);
    for (struct metric_family *f = m->head; f; f = f->next) {
        buf_appendf(out, "# HELP %s ", f->name);
        append_escaped(out, f->help, false);
        buf_appendf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
        if (f->fn) {
            buf_append_str(out, f->name);
            buf_append_char(out, ' ');
            append_number(out, f->fn(f->fn_ctx));
            buf_append_char(out, '\n');
            continue;
        }
        for (struct metric_series *s = atomic_load(&f->series); s; s = s->next) {
            if (f->type == METRIC_HISTOGRAM) {
                format_histogram(out, f, s);
                continue;
            }
            append_series_name(out, f, s, "", NULL);
            buf_append_char(out, ' ');
            append_number(out, bitsd(atomic_load(&s->value)));
            buf_append_char(out, '\n');
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/* Process metrics from /proc/self. */

static double process_rss(void *ctx)
{
    (void)ctx;
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return (double)rss * (double)sysconf(_SC_PAGESIZE);
}

static double process_cpu(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_start(void *ctx)
{
    return *(const double *)ctx;
}

static double process_fds(void *ctx)
{
    (void)ctx;
    DIR *d = opendir("/proc/self/fd");
    double n = 0;
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 3 ? n - 3 : 0; /* ".", ".." and the DIR's own fd */
}

void metrics_add_process(struct metrics *m)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* The start time is kept in a family of its own so that no global is needed. */
    struct metric_family *start =
        add_family(m, METRIC_GAUGE, "process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.", 0, NULL);
    start->bounds[0] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    start->fn = process_start;
    start->fn_ctx = &start->bounds[0];
    metrics_func(m, METRIC_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.",
                 process_rss, NULL);
    metrics_func(m, METRIC_COUNTER, "process_cpu_seconds_total",
                 "Total user and system CPU time spent in seconds.", process_cpu, NULL);
    metrics_func(m, METRIC_GAUGE, "process_open_fds", "Number of open file descriptors.",
                 process_fds, NULL);
}
