/* outbox_sqlite.c - the outbox (migration 003) on SQLite: writing the events of a change inside
 * its transaction, and the outbox_store port that reads them back in seq order. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <sqlite3.h>

/* Writers run under BEGIN IMMEDIATE, one at a time, so max(seq) + 1 read inside the write
 * transaction is the next seq in commit order. */
static const char SQL_APPEND[] =
    "INSERT INTO outbox (seq, id, type, key, version, occurred_at_ms, data) "
    "SELECT coalesce(max(seq), 0) + 1, ?, ?, ?, ?, ?, ? FROM outbox";
static const char SQL_LIST[] = "SELECT seq, id, type, key, version, occurred_at_ms, data, "
                               "sent_at_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?";
static const char SQL_HEAD[] = "SELECT coalesce(max(seq), 0) FROM outbox";
static const char SQL_MARK_SENT[] =
    "UPDATE outbox SET sent_at_ms = ? WHERE seq <= ? AND sent_at_ms = 0";
/* ?1 before_ms, ?2 only_sent, ?3 limit. The oldest first, through the primary key. */
static const char SQL_PRUNE[] =
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE occurred_at_ms < ?1 "
    "AND (?2 = 0 OR sent_at_ms <> 0) AND seq < (SELECT max(seq) FROM outbox) "
    "ORDER BY seq LIMIT ?3)";

int outbox_sqlite_write(struct sqlite_db *db, const struct outbox_emit *emit,
                        const struct outbox_change *ch, struct err *err)
{
    struct event ev[OUTBOX_EVENTS_MAX];
    size_t n = outbox_emit_build(emit, ch, ev);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st;
        ASSERT(ev[i].id >= 1 && ev[i].id <= INT64_MAX && ev[i].type && ev[i].key && ev[i].data);
        int rc = sqlite_db_stmt(db, SQL_APPEND, &st, err);
        if (rc != 0)
            return rc;
        sqlite_db_bind_int64(st, 1, (int64_t)ev[i].id);
        sqlite_db_bind_text(st, 2, ev[i].type);
        sqlite_db_bind_text(st, 3, ev[i].key);
        sqlite_db_bind_int64(st, 4, ev[i].version);
        sqlite_db_bind_int64(st, 5, ev[i].occurred_at);
        sqlite_db_bind_text(st, 6, ev[i].data);
        rc = sqlite_db_step_done(st, "outbox append", NULL, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int outbox_store_sqlite_list(void *ctx, uint64_t after, int limit, struct arena *a,
                                    struct outbox_row **rows, size_t *n, struct err *err)
{
    sqlite3_stmt *st;
    *n = 0;
    *rows = arena_alloc(a, (size_t)limit * sizeof(**rows));
    int rc = sqlite_db_stmt(ctx, SQL_LIST, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, after > INT64_MAX ? INT64_MAX : (int64_t)after);
    sqlite_db_bind_int64(st, 2, limit);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct outbox_row *r = &(*rows)[(*n)++];
        r->seq = (uint64_t)sqlite3_column_int64(st, 0);
        r->event = (struct event){
            .id = (uint64_t)sqlite3_column_int64(st, 1),
            .type = sqlite_db_column_text(st, 2, a),
            .key = sqlite_db_column_text(st, 3, a),
            .version = sqlite3_column_int(st, 4),
            .occurred_at = sqlite3_column_int64(st, 5),
            .data = sqlite_db_column_text(st, 6, a),
        };
        r->sent_at_ms = sqlite3_column_int64(st, 7);
    }
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "outbox list", err);
    sqlite_db_release(st);
    return rc;
}

static int outbox_store_sqlite_head(void *ctx, uint64_t *seq, struct err *err)
{
    sqlite3_stmt *st;
    *seq = 0;
    int rc = sqlite_db_stmt(ctx, SQL_HEAD, &st, err);
    if (rc != 0)
        return rc;
    rc = sqlite_db_step_row(st, "outbox head", err);
    if (rc == 0)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite_db_release(st);
    return rc;
}

static int outbox_store_sqlite_mark_sent(void *ctx, uint64_t upto, int64_t at_ms, struct err *err)
{
    int64_t v[] = {at_ms, upto > INT64_MAX ? INT64_MAX : (int64_t)upto};
    return sqlite_db_exec_ids(ctx, SQL_MARK_SENT, v, 2, "outbox mark_sent", NULL, err);
}

static int outbox_store_sqlite_prune(void *ctx, int64_t before_ms, bool only_sent, int limit,
                                     int64_t *deleted, struct err *err)
{
    int64_t v[] = {before_ms, only_sent, limit};
    int changes = 0;
    int rc = sqlite_db_exec_ids(ctx, SQL_PRUNE, v, 3, "outbox prune", &changes, err);
    *deleted = changes;
    return rc;
}

static void outbox_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct outbox_store_ops outbox_store_sqlite_ops = {
    .list = outbox_store_sqlite_list,
    .head = outbox_store_sqlite_head,
    .mark_sent = outbox_store_sqlite_mark_sent,
    .prune = outbox_store_sqlite_prune,
    .close = outbox_store_sqlite_close,
};

struct outbox_store outbox_store_sqlite(struct sqlite_db *db)
{
    return (struct outbox_store){&outbox_store_sqlite_ops, db};
}
