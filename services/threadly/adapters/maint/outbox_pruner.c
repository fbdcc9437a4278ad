/* outbox_pruner.c - see outbox_pruner.h. */
#include "services/threadly/adapters/maint/outbox_pruner.h"

#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"

#include <pthread.h>

struct outbox_pruner {
    struct outbox_store *store;
    struct outbox_pruner_config cfg;
    const struct clock *clock;
    struct logger *log;
    struct metric_series *pruned, *errors;
    pthread_t thread;
    struct stopper stop;
};

/* One pass: batches until one comes back short, the store fails or the pruner is stopped. */
static void prune_pass(struct outbox_pruner *p)
{
    int64_t before = clock_now_ms(p->clock) - p->cfg.retention_ms, total = 0;
    for (;;) {
        int64_t deleted = 0;
        struct err err = {0};
        if (outbox_store_prune(p->store, before, p->cfg.only_sent, p->cfg.batch, &deleted, &err) !=
            0) {
            metrics_add(p->errors, 1);
            log_printf(p->log, LOG_WARN, NULL, "outbox pruner: %s (next try in %lld ms)", err.msg,
                       (long long)p->cfg.interval_ms);
            break;
        }
        total += deleted;
        metrics_add(p->pruned, (double)deleted);
        if (deleted < p->cfg.batch || stopper_stopped(&p->stop))
            break;
    }
    if (total > 0)
        log_printf(p->log, LOG_INFO, NULL, "outbox pruner: deleted %lld rows older than %lld ms",
                   (long long)total, (long long)p->cfg.retention_ms);
}

static void *pruner_main(void *arg)
{
    struct outbox_pruner *p = arg;
    do {
        prune_pass(p);
    } while (stopper_sleep(&p->stop, p->cfg.interval_ms));
    return NULL;
}

struct outbox_pruner *outbox_pruner_start(struct outbox_store *store,
                                          const struct outbox_pruner_config *cfg,
                                          const struct clock *clock, struct logger *log,
                                          struct metrics *m)
{
    ASSERT(cfg->retention_ms > 0 && cfg->interval_ms > 0 && cfg->batch >= 1 &&
           cfg->batch <= 100000);
    struct outbox_pruner *p = xcalloc(1, sizeof(*p));
    p->store = store;
    p->cfg = *cfg;
    p->clock = clock;
    p->log = log;
    p->pruned = metrics_series(
        metrics_counter(m, "threadly_outbox_pruned_total",
                        "Outbox rows deleted because they were older than the retention.", 0, NULL),
        NULL);
    p->errors = metrics_series(
        metrics_counter(m, "threadly_outbox_prune_errors_total",
                        "Outbox prune passes that failed on a database error.", 0, NULL),
        NULL);
    stopper_init(&p->stop);
    ASSERT(pthread_create(&p->thread, NULL, pruner_main, p) == 0);
    return p;
}

void outbox_pruner_stop(struct outbox_pruner *p)
{
    if (!p)
        return;
    stopper_stop(&p->stop);
    pthread_join(p->thread, NULL);
    stopper_release(&p->stop);
    free(p);
}
