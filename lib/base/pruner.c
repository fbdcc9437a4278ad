/* pruner.c - see pruner.h. */
#include "lib/base/pruner.h"

#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdio.h>

struct pruner {
    struct pruner_config cfg;
    pruner_fn prune;
    void *ctx;
    const struct clock *clock;
    struct logger *log;
    struct metric_series *pruned, *errors;
    pthread_t thread;
    struct stopper stop;
};

/* One pass: batches until one comes back short, the store fails or the pruner is stopped. */
static void prune_pass(struct pruner *p)
{
    int64_t before = clock_now_ms(p->clock) - p->cfg.retention_ms, total = 0;
    for (;;) {
        int64_t deleted = 0;
        struct err err = {0};
        if (p->prune(p->ctx, before, p->cfg.batch, &deleted, &err) != 0) {
            metrics_add(p->errors, 1);
            log_printf(p->log, LOG_WARN, NULL, "%s: %s (next try in %lld ms)", p->cfg.what, err.msg,
                       (long long)p->cfg.interval_ms);
            break;
        }
        total += deleted;
        metrics_add(p->pruned, (double)deleted);
        if (deleted < p->cfg.batch || stopper_stopped(&p->stop))
            break;
    }
    if (total > 0)
        log_printf(p->log, LOG_INFO, NULL, "%s: deleted %lld rows older than %lld ms", p->cfg.what,
                   (long long)total, (long long)p->cfg.retention_ms);
}

static void *pruner_main(void *arg)
{
    struct pruner *p = arg;
    do {
        prune_pass(p);
    } while (stopper_sleep(&p->stop, p->cfg.interval_ms));
    return NULL;
}

struct pruner *pruner_start(const struct pruner_config *cfg, pruner_fn prune, void *ctx,
                            const struct clock *clock, struct logger *log, struct metrics *m)
{
    ASSERT(cfg->retention_ms > 0 && cfg->interval_ms > 0 && cfg->batch >= 1 &&
           cfg->batch <= 100000);
    struct pruner *p = xcalloc(1, sizeof(*p));
    char name[128], help[160];
    p->cfg = *cfg;
    p->prune = prune;
    p->ctx = ctx;
    p->clock = clock;
    p->log = log;
    snprintf(name, sizeof(name), "%s_pruned_total", cfg->metric);
    snprintf(help, sizeof(help), "%s deleted because they were older than the retention.",
             cfg->rows);
    p->pruned = metrics_series(metrics_counter(m, name, help, 0, NULL), NULL);
    snprintf(name, sizeof(name), "%s_prune_errors_total", cfg->metric);
    snprintf(help, sizeof(help), "Passes of the %s that failed on a database error.", cfg->what);
    p->errors = metrics_series(metrics_counter(m, name, help, 0, NULL), NULL);
    stopper_init(&p->stop);
    ASSERT(pthread_create(&p->thread, NULL, pruner_main, p) == 0);
    return p;
}

void pruner_stop(struct pruner *p)
{
    if (!p)
        return;
    stopper_stop(&p->stop);
    pthread_join(p->thread, NULL);
    stopper_release(&p->stop);
    free(p);
}
