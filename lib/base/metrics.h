/* metrics.h - a Prometheus metrics registry: counters, gauges and histograms with labels,
 * and the text exposition format (version 0.0.4). Updates are lock-free atomics; looking up
 * a labelled series takes the family's mutex, so hot paths keep the series pointer. */
#ifndef LIB_BASE_METRICS_H
#define LIB_BASE_METRICS_H

#include "lib/base/buf.h"

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 16

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric_family;
struct metric_series;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* Registers a family. labels is an array of nlabels names (nlabels <= METRICS_MAX_LABELS).
 * Names must be valid Prometheus names; registering a name twice is a bug. */
struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      size_t nlabels, const char *const *labels);
struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    size_t nlabels, const char *const *labels);
/* bounds: ascending upper bounds, at most METRICS_MAX_BUCKETS; +Inf is implicit. */
struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        size_t nlabels, const char *const *labels, size_t nbounds,
                                        const double *bounds);
/* A gauge or counter without labels whose value is computed at scrape time. */
void metrics_func(struct metrics *m, enum metric_type type, const char *name, const char *help,
                  double (*fn)(void *ctx), void *ctx);

/* The series for these label values (as many as the family has labels), created on first
 * use. The pointer stays valid until metrics_free. Thread-safe. */
struct metric_series *metrics_series(struct metric_family *f, const char *const *values);

void metrics_add(struct metric_series *s, double v);     /* counter or gauge */
void metrics_set(struct metric_series *s, double v);     /* gauge */
void metrics_observe(struct metric_series *s, double v); /* histogram */
double metrics_value(const struct metric_series *s); /* counter/gauge value, or histogram count */

/* Appends the whole registry in text exposition format. */
void metrics_format(struct metrics *m, struct buf *out);

/* Standard process metrics (process_resident_memory_bytes, process_cpu_seconds_total,
 * process_start_time_seconds, process_open_fds) read from /proc at scrape time. */
void metrics_add_process(struct metrics *m);

#endif
