/* outbox_pgsql.c - the outbox (migration 003) on PostgreSQL: writing the events of a change
 * inside its transaction, and the outbox_store port that reads them back in seq order. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

/* Every transaction that writes events takes this lock (a constant of its own, not the
 * migrations' one) before it computes max(seq) + 1, and holds it until it commits or rolls
 * back. Under READ COMMITTED the next writer's statement then sees the previous writer's
 * rows, so seqs are given in commit order: without the lock two transactions could take
 * seqs 5 and 6 and commit 6 first, and a reader that saw 6 would skip 5 for ever. Writers of
 * events queue on it only for the end of their transactions (the events are written last). */
#define OUTBOX_PGSQL_LOCK "7304198823455201187"

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(" OUTBOX_PGSQL_LOCK ")";
static const char SQL_APPEND[] =
    "INSERT INTO outbox (seq, id, type, key, version, occurred_at_ms, data) "
    "SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4, $5, $6 FROM outbox";
static const char SQL_LIST[] = "SELECT seq, id, type, key, version, occurred_at_ms, data, "
                               "sent_at_ms FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2";
static const char SQL_HEAD[] = "SELECT coalesce(max(seq), 0) FROM outbox";
static const char SQL_MARK_SENT[] =
    "UPDATE outbox SET sent_at_ms = $1 WHERE seq <= $2 AND sent_at_ms = 0";

int outbox_pgsql_write(struct pgsql_db *db, const struct outbox_emit *emit,
                       const struct outbox_change *ch, struct err *err)
{
    struct event ev[OUTBOX_EVENTS_MAX];
    size_t n = outbox_emit_build(emit, ch, ev);
    if (n == 0)
        return 0;
    int rc = pgsql_db_query(db, SQL_LOCK, NULL, NULL, NULL, "outbox lock", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ASSERT(ev[i].id >= 1 && ev[i].id <= INT64_MAX && ev[i].type && ev[i].key && ev[i].data);
        struct pgsql_params p = {0};
        pgsql_params_int64(&p, (int64_t)ev[i].id);
        pgsql_params_text(&p, ev[i].type);
        pgsql_params_text(&p, ev[i].key);
        pgsql_params_int64(&p, ev[i].version);
        pgsql_params_int64(&p, ev[i].occurred_at);
        pgsql_params_text(&p, ev[i].data);
        rc = pgsql_db_query(db, SQL_APPEND, &p, NULL, NULL, "outbox append", err);
    }
    return rc;
}

static int outbox_store_pgsql_list(void *ctx, uint64_t after, int limit, struct arena *a,
                                   struct outbox_row **rows, size_t *n, struct err *err)
{
    struct pg_result *r;
    int64_t v[] = {after > INT64_MAX ? INT64_MAX : (int64_t)after, limit};
    *n = 0;
    *rows = arena_alloc(a, (size_t)limit * sizeof(**rows));
    int rc = pgsql_db_query_ids(ctx, SQL_LIST, v, 2, &r, NULL, "outbox list", err);
    if (rc != 0)
        return rc;
    for (int i = 0; i < pgsql_ntuples(r); i++) {
        struct outbox_row *row = &(*rows)[(*n)++];
        row->seq = (uint64_t)pgsql_int64(r, i, 0);
        row->event = (struct event){
            .id = (uint64_t)pgsql_int64(r, i, 1),
            .type = pgsql_text(r, i, 2, a),
            .key = pgsql_text(r, i, 3, a),
            .version = (int)pgsql_int64(r, i, 4),
            .occurred_at = pgsql_int64(r, i, 5),
            .data = pgsql_text(r, i, 6, a),
        };
        row->sent_at_ms = pgsql_int64(r, i, 7);
    }
    pgsql_db_clear(r);
    return 0;
}

static int outbox_store_pgsql_head(void *ctx, uint64_t *seq, struct err *err)
{
    struct pg_result *r;
    *seq = 0;
    int rc = pgsql_db_query_row(ctx, SQL_HEAD, NULL, &r, "outbox head", err);
    if (rc != 0)
        return rc;
    *seq = (uint64_t)pgsql_int64(r, 0, 0);
    pgsql_db_clear(r);
    return 0;
}

static int outbox_store_pgsql_mark_sent(void *ctx, uint64_t upto, int64_t at_ms, struct err *err)
{
    int64_t v[] = {at_ms, upto > INT64_MAX ? INT64_MAX : (int64_t)upto};
    return pgsql_db_query_ids(ctx, SQL_MARK_SENT, v, 2, NULL, NULL, "outbox mark_sent", err);
}

static void outbox_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct outbox_store_ops outbox_store_pgsql_ops = {
    .list = outbox_store_pgsql_list,
    .head = outbox_store_pgsql_head,
    .mark_sent = outbox_store_pgsql_mark_sent,
    .close = outbox_store_pgsql_close,
};

struct outbox_store outbox_store_pgsql(struct pgsql_db *db)
{
    return (struct outbox_store){&outbox_store_pgsql_ops, db};
}
