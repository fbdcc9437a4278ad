/* outbox_store_mem.c - outbox_store port in memory: the outbox rows of a mem_db, which the mem
 * stores append to in the critical section of each change (mem_db_outbox_write). */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/db_mem.h"

#include <string.h>

static int outbox_store_mem_list(void *ctx, uint64_t after, int limit, struct arena *a,
                                 struct outbox_row **rows, size_t *n, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    *n = 0;
    *rows = arena_alloc(a, (size_t)limit * sizeof(**rows));
    pthread_mutex_lock(&db->mu);
    uint64_t from = after > db->outbox_pruned ? after - db->outbox_pruned : 0;
    for (size_t i = from < db->noutbox ? (size_t)from : db->noutbox;
         i < db->noutbox && *n < (size_t)limit; i++) {
        struct outbox_row *r = &(*rows)[(*n)++];
        *r = db->outbox[i];
        r->event.type = arena_strdup(a, db->outbox[i].event.type);
        r->event.key = arena_strdup(a, db->outbox[i].event.key);
        r->event.data = arena_strdup(a, db->outbox[i].event.data);
    }
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int outbox_store_mem_head(void *ctx, uint64_t *seq, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    *seq = db->outbox_pruned + db->noutbox;
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int outbox_store_mem_mark_sent(void *ctx, uint64_t upto, int64_t at_ms, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < db->noutbox && db->outbox[i].seq <= upto; i++)
        if (db->outbox[i].sent_at_ms == 0)
            db->outbox[i].sent_at_ms = at_ms;
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int outbox_store_mem_prune(void *ctx, int64_t before_ms, bool only_sent, int limit,
                                  int64_t *deleted, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    /* The oldest rows in seq order, stopping at the first that must stay (the newest always). */
    size_t k = 0;
    while (k + 1 < db->noutbox && k < (size_t)limit) {
        struct outbox_row *r = &db->outbox[k];
        if (r->event.occurred_at >= before_ms || (only_sent && r->sent_at_ms == 0))
            break;
        free((char *)r->event.type);
        free((char *)r->event.key);
        free((char *)r->event.data);
        k++;
    }
    memmove(db->outbox, db->outbox + k, (db->noutbox - k) * sizeof(*db->outbox));
    db->noutbox -= k;
    db->outbox_pruned += k;
    pthread_mutex_unlock(&db->mu);
    *deleted = (int64_t)k;
    return 0;
}

static void outbox_store_mem_close(void *ctx)
{
    (void)ctx; /* the rows belong to the mem_db */
}

static const struct outbox_store_ops outbox_store_mem_ops = {
    .list = outbox_store_mem_list,
    .head = outbox_store_mem_head,
    .mark_sent = outbox_store_mem_mark_sent,
    .prune = outbox_store_mem_prune,
    .close = outbox_store_mem_close,
};

struct outbox_store outbox_store_mem(struct mem_db *db)
{
    return (struct outbox_store){&outbox_store_mem_ops, db};
}
