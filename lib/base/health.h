/* health.h - whether the dependency a background thread talks to (a Kafka broker, the event
 * feed) answers, as /ready and an *_up gauge show it: up, or down with the latest reason; one
 * log line per change, not one per retry. The thread reports, any thread reads. */
#ifndef LIB_BASE_HEALTH_H
#define LIB_BASE_HEALTH_H

#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Storage the caller owns; the fields are private to health.c. */
struct health {
    const char *name; /* the down line: "<name>: <why>" */
    const struct logger *log;
    struct metric_series *gauge, *errors;
    pthread_mutex_t mu; /* guards why */
    char why[300];
    atomic_bool up;
};

/* Down, with the reason why0 (e.g. "kafka 127.0.0.1:9092 not reached yet"), until health_up.
 * name, log and the series must outlive h. gauge: NULL, or a gauge set 1 when up and 0 when
 * down; errors: NULL, or a counter, +1 per health_down. */
void health_init(struct health *h, const char *name, const struct logger *log,
                 struct metric_series *gauge, struct metric_series *errors, const char *why0);
void health_release(struct health *h);

/* It answered: up, the gauge 1. True when that is a change (the caller logs its own line,
 * which says what it now does). */
bool health_up(struct health *h);
/* It failed for why: down with that reason, the gauge 0, errors +1; logs the warning
 * "<name>: <why>" when it was up or the reason is new. */
void health_down(struct health *h, const char *why);
/* The /ready check: 0 when up, else ERR_UNAVAILABLE with the reason. Any thread. */
int health_ready(struct health *h, struct err *err);

#endif
