/* outbox_pruner.h - keeps the outbox from growing for ever: a thread that, at start and then
 * every interval_ms, deletes the rows that occurred more than retention_ms ago (with Kafka,
 * only those the relay has sent), in batches so no transaction is long. Like Kafka's own
 * retention (7 days by default), a consumer away for longer than the retention misses the
 * events that went meanwhile (docs/events.md, "Retention"). The newest row always stays, so
 * seqs go on after it. */
#ifndef SERVICES_THREADLY_ADAPTERS_MAINT_OUTBOX_PRUNER_H
#define SERVICES_THREADLY_ADAPTERS_MAINT_OUTBOX_PRUNER_H

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "services/threadly/ports/outbox_store.h"

#include <stdbool.h>

struct outbox_pruner_config {
    int64_t retention_ms; /* > 0 */
    int64_t interval_ms;  /* > 0 */
    bool only_sent;       /* Kafka: keep what the relay has not sent */
    int batch;            /* rows per delete, 1..100000 */
};

struct outbox_pruner;

/* Starts the thread; store, clock, log and metrics must outlive the pruner. Registers
 * threadly_outbox_pruned_total and threadly_outbox_prune_errors_total. */
struct outbox_pruner *outbox_pruner_start(struct outbox_store *store,
                                          const struct outbox_pruner_config *cfg,
                                          const struct clock *clock, struct logger *log,
                                          struct metrics *m);
/* Stops the thread and frees. NULL is a no-op. */
void outbox_pruner_stop(struct outbox_pruner *p);

#endif
