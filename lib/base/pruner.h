/* pruner.h - a background thread that keeps a table from growing for ever: at start and then
 * every interval_ms it calls prune(ctx, now - retention_ms, batch, &deleted, err) until a call
 * deletes fewer than batch rows (so no transaction is long), fails (counted, logged, tried again
 * at the next interval) or the pruner is stopped. Used for threadly-service's outbox and
 * notification-service's processed event ids. */
#ifndef LIB_BASE_PRUNER_H
#define LIB_BASE_PRUNER_H

#include "lib/base/clock.h"
#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"

#include <stdint.h>

typedef int (*pruner_fn)(void *ctx, int64_t before_ms, int limit, int64_t *deleted,
                         struct err *err);

struct pruner_config {
    const char *what;     /* in log lines: "outbox pruner" */
    const char *metric;   /* counters <metric>_pruned_total and <metric>_prune_errors_total */
    const char *rows;     /* in the metrics' help: "Outbox rows" */
    int64_t retention_ms; /* > 0 */
    int64_t interval_ms;  /* > 0 */
    int batch;            /* rows per call, 1..100000 */
};

struct pruner;

/* Starts the thread; ctx, clock, log and metrics must outlive the pruner. */
struct pruner *pruner_start(const struct pruner_config *cfg, pruner_fn prune, void *ctx,
                            const struct clock *clock, struct logger *log, struct metrics *m);
/* Stops the thread and frees. NULL is a no-op. */
void pruner_stop(struct pruner *p);

#endif
