/* outbox_pruner.c - see outbox_pruner.h: lib/base/pruner on the outbox store. */
#include "services/threadly/adapters/maint/outbox_pruner.h"

#include "lib/base/pruner.h"
#include "lib/base/xalloc.h"

struct outbox_pruner {
    struct outbox_store *store;
    bool only_sent;
    struct pruner *pruner;
};

static int prune(void *ctx, int64_t before_ms, int limit, int64_t *deleted, struct err *err)
{
    struct outbox_pruner *p = ctx;
    return outbox_store_prune(p->store, before_ms, p->only_sent, limit, deleted, err);
}

struct outbox_pruner *outbox_pruner_start(struct outbox_store *store,
                                          const struct outbox_pruner_config *cfg,
                                          const struct clock *clock, struct logger *log,
                                          struct metrics *m)
{
    struct outbox_pruner *p = xcalloc(1, sizeof(*p));
    p->store = store;
    p->only_sent = cfg->only_sent;
    struct pruner_config pc = {.what = "outbox pruner",
                               .metric = "threadly_outbox",
                               .rows = "Outbox rows",
                               .retention_ms = cfg->retention_ms,
                               .interval_ms = cfg->interval_ms,
                               .batch = cfg->batch};
    p->pruner = pruner_start(&pc, prune, p, clock, log, m);
    return p;
}

void outbox_pruner_stop(struct outbox_pruner *p)
{
    if (!p)
        return;
    pruner_stop(p->pruner);
    free(p);
}
