/* outbox_pgsql.c - the outbox (migration 003) on PostgreSQL: writing the events of a change
 * inside its transaction, and the outbox_store port that reads them back in seq order. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

/* Seqs on PostgreSQL (migration 010, docs/storage.md "Outbox"). A writer appends its events
 * with a provisional seq, minus the event id, and staged_us, the server clock at the insert;
 * it takes no lock, so transactions that write events commit side by side and share fsyncs.
 * Before reading, a reader runs the sequencer: under an advisory lock (a constant of its own,
 * not the migrations' one), in a transaction of its own, it gives every committed provisional
 * row the next seqs after max(seq), in (staged_us, id) order. Sequencers run one at a time and
 * see each other's commits (READ COMMITTED takes a snapshot per statement), so seqs are dense
 * and a reader that has seen seq n never later finds a smaller one: rows still uncommitted are
 * invisible to the sequencer and get later seqs when they commit.
 * Order: seqs follow the order in which rows became visible to a sequencer, and within one
 * sequencer run the insert time. Two changes of one row (a follow and its undo) are serialised
 * by that row's lock, so the second inserts its event after the first committed and sorts
 * after it. The server's clock stepping back while both are provisional could swap them; the
 * old design (one lock held by every writer to commit) could not, but capped writes at one
 * fsync each (about 1,200 posts/s on the bench machine). */
#define OUTBOX_PGSQL_LOCK "7304198823455201187"

static const char SQL_LOCK[] = "SELECT pg_advisory_xact_lock(" OUTBOX_PGSQL_LOCK ")";
static const char SQL_APPEND[] =
    "INSERT INTO outbox (seq, id, type, key, version, occurred_at_ms, data, staged_us) "
    "VALUES (-$1::bigint, $1, $2, $3, $4, $5, $6, "
    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint)";
static const char SQL_STAGED[] = "SELECT 1 FROM outbox WHERE seq < 0 LIMIT 1";
static const char SQL_SEQUENCE[] =
    "UPDATE outbox o SET seq = h.top + p.rn "
    "FROM (SELECT seq AS old, row_number() OVER (ORDER BY staged_us, id) AS rn "
    "FROM outbox WHERE seq < 0) p, (SELECT coalesce(max(seq), 0) AS top FROM outbox WHERE seq > 0) h "
    "WHERE o.seq = p.old";
static const char SQL_LIST[] = "SELECT seq, id, type, key, version, occurred_at_ms, data, "
                               "sent_at_ms FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2";
static const char SQL_HEAD[] = "SELECT coalesce(max(seq), 0) FROM outbox WHERE seq > 0";
/* $1 before_ms, $2 only_sent (0/1), $3 limit. Provisional rows (seq < 0) are not touched. */
static const char SQL_PRUNE[] =
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq > 0 "
    "AND occurred_at_ms < $1 AND ($2 = 0 OR sent_at_ms <> 0) "
    "AND seq < (SELECT max(seq) FROM outbox) ORDER BY seq LIMIT $3)";
static const char SQL_MARK_SENT[] =
    "UPDATE outbox SET sent_at_ms = $1 WHERE seq > 0 AND seq <= $2 AND sent_at_ms = 0";

static void append_params(const struct event *e, struct pgsql_params *p)
{
    ASSERT(e->id >= 1 && e->id <= INT64_MAX && e->type && e->key && e->data);
    memset(p, 0, sizeof(*p));
    pgsql_params_int64(p, (int64_t)e->id);
    pgsql_params_text(p, e->type);
    pgsql_params_text(p, e->key);
    pgsql_params_int64(p, e->version);
    pgsql_params_int64(p, e->occurred_at);
    pgsql_params_text(p, e->data);
}

/* Appends ev[0..n) with pgsql_db_query, the last one with COMMIT when commit is set. */
static int append(struct pgsql_db *db, const struct event *ev, size_t n, bool commit,
                  struct err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct pgsql_params p;
        append_params(&ev[i], &p);
        rc = commit && i == n - 1
                 ? pgsql_db_commit_with(db, SQL_APPEND, &p, "outbox append", err)
                 : pgsql_db_query(db, SQL_APPEND, &p, NULL, NULL, "outbox append", err);
    }
    return rc;
}

int outbox_pgsql_write(struct pgsql_db *db, const struct outbox_emit *emit,
                       const struct outbox_change *ch, struct err *err)
{
    struct event ev[OUTBOX_EVENTS_MAX];
    size_t n = outbox_emit_build(emit, ch, ev);
    return append(db, ev, n, false, err);
}

int outbox_pgsql_commit(struct pgsql_db *db, int rc, const struct outbox_emit *emit,
                        const struct outbox_change *ch, struct err *err)
{
    struct event ev[OUTBOX_EVENTS_MAX];
    size_t n = rc == 0 ? outbox_emit_build(emit, ch, ev) : 0;
    if (n == 0)
        return pgsql_db_finish(db, rc, err);
    /* On failure the transaction is over (rolled back) either way; finish only tidies. */
    rc = append(db, ev, n, true, err);
    return rc == 0 ? 0 : pgsql_db_finish(db, rc, err);
}

/* The sequencer (see the top of the file): gives the committed provisional rows their seqs. A
 * look without a transaction first, so an idle outbox costs one index probe. */
static int outbox_pgsql_sequence(struct pgsql_db *db, struct err *err)
{
    struct pg_result *r;
    int rc = pgsql_db_query(db, SQL_STAGED, NULL, &r, NULL, "outbox staged", err);
    if (rc != 0)
        return rc;
    bool staged = pgsql_ntuples(r) > 0;
    pgsql_db_clear(r);
    if (!staged)
        return 0;
    rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query(db, SQL_LOCK, NULL, NULL, NULL, "outbox lock", err);
    if (rc == 0)
        rc = pgsql_db_query(db, SQL_SEQUENCE, NULL, NULL, NULL, "outbox sequence", err);
    return pgsql_db_finish(db, rc, err);
}

static int outbox_store_pgsql_list(void *ctx, uint64_t after, int limit, struct arena *a,
                                   struct outbox_row **rows, size_t *n, struct err *err)
{
    struct pg_result *r;
    int64_t v[] = {after > INT64_MAX ? INT64_MAX : (int64_t)after, limit};
    *n = 0;
    *rows = arena_alloc(a, (size_t)limit * sizeof(**rows));
    int rc = outbox_pgsql_sequence(ctx, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query_ids(ctx, SQL_LIST, v, 2, &r, NULL, "outbox list", err);
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
    int rc = outbox_pgsql_sequence(ctx, err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_query_row(ctx, SQL_HEAD, NULL, &r, "outbox head", err);
    if (rc != 0)
        return rc;
    *seq = (uint64_t)pgsql_int64(r, 0, 0);
    pgsql_db_clear(r);
    return 0;
}

static int outbox_store_pgsql_mark_sent(void *ctx, uint64_t upto, int64_t at_ms, struct err *err)
{
    int64_t v[] = {at_ms, upto > INT64_MAX ? INT64_MAX : (int64_t)upto};
    /* Rows committed before the call have their seqs first, as for list and head. */
    int rc = outbox_pgsql_sequence(ctx, err);
    if (rc != 0)
        return rc;
    return pgsql_db_query_ids(ctx, SQL_MARK_SENT, v, 2, NULL, NULL, "outbox mark_sent", err);
}

static int outbox_store_pgsql_prune(void *ctx, int64_t before_ms, bool only_sent, int limit,
                                    int64_t *deleted, struct err *err)
{
    int64_t v[] = {before_ms, only_sent, limit};
    /* Committed rows have their seqs first, as for the other reads. */
    int rc = outbox_pgsql_sequence(ctx, err);
    if (rc != 0)
        return rc;
    return pgsql_db_query_ids(ctx, SQL_PRUNE, v, 3, NULL, deleted, "outbox prune", err);
}

static void outbox_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct outbox_store_ops outbox_store_pgsql_ops = {
    .list = outbox_store_pgsql_list,
    .head = outbox_store_pgsql_head,
    .mark_sent = outbox_store_pgsql_mark_sent,
    .prune = outbox_store_pgsql_prune,
    .close = outbox_store_pgsql_close,
};

struct outbox_store outbox_store_pgsql(struct pgsql_db *db)
{
    return (struct outbox_store){&outbox_store_pgsql_ops, db};
}
