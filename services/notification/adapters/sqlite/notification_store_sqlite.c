/* notification_store_sqlite.c - notification_store on SQLite: a batch is one BEGIN IMMEDIATE
 * transaction; every read is one statement. */
#include "services/notification/adapters/sqlite/notification_store_sqlite.h"

#include "lib/base/xalloc.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#define COLUMNS                                                                                    \
    "n.id, n.type, n.recipient_id, n.account_id, COALESCE(a.json, n.account_json), n.status_id, "  \
    "n.status_json, n.event_id, n.cause, n.created_at "                                            \
    "FROM notifications n LEFT JOIN accounts a ON a.id = n.account_id "
#define FILTER                                                                                     \
    "WHERE n.recipient_id = ?1 AND (n.type & ?2) <> 0 AND (?3 = 0 OR n.account_id = ?3) "          \
    "AND n.id < ?4 AND n.id > ?5 "

static const char SQL_PROCESSED[] =
    "INSERT INTO processed_events (event_id, processed_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
static const char SQL_DEAD[] = "INSERT INTO dead_letters (id, event_id, text, reason, created_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_REMOVE_CAUSE[] = "DELETE FROM notifications WHERE cause = ?1";
static const char SQL_REMOVE_STATUS[] = "DELETE FROM notifications WHERE status_id = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO notifications (id, type, recipient_id, account_id, account_json, status_id, "
    "status_json, event_id, cause, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT DO NOTHING";
static const char SQL_ACCOUNT[] =
    "INSERT INTO accounts (id, json, updated_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at";
static const char SQL_FOLLOW_ADD[] = "INSERT INTO follows (followee_id, follower_id) "
                                     "VALUES (?1, ?2) ON CONFLICT DO NOTHING";
static const char SQL_FOLLOW_REMOVE[] =
    "DELETE FROM follows WHERE followee_id = ?1 AND follower_id = ?2";
static const char SQL_REVOKE[] =
    "INSERT INTO revoked_tokens (jti, revoked_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
static const char SQL_CURSOR_SET[] =
    "INSERT INTO consumer_cursors (source, position, updated_at) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (source) DO UPDATE SET position = excluded.position, "
    "updated_at = excluded.updated_at";
static const char SQL_CURSOR_GET[] = "SELECT position FROM consumer_cursors WHERE source = ?1";
static const char SQL_LIST_NEWEST[] = "SELECT " COLUMNS FILTER "ORDER BY n.id DESC LIMIT ?6";
static const char SQL_LIST_OLDEST[] = "SELECT " COLUMNS FILTER "ORDER BY n.id ASC LIMIT ?6";
static const char SQL_COUNT[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM notifications n " FILTER "LIMIT ?6) AS c";
static const char SQL_GET[] = "SELECT " COLUMNS "WHERE n.recipient_id = ?1 AND n.id = ?2";
static const char SQL_DISMISS[] = "DELETE FROM notifications WHERE recipient_id = ?1 AND id = ?2";
static const char SQL_CLEAR[] = "DELETE FROM notifications WHERE recipient_id = ?1";
static const char SQL_MARKER_GET[] = "SELECT last_read_id, version, updated_at FROM markers "
                                     "WHERE account_id = ?1 AND timeline = ?2";
static const char SQL_MARKER_SET[] =
    "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) "
    "VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (account_id, timeline) DO UPDATE SET "
    "last_read_id = excluded.last_read_id, version = markers.version + 1, "
    "updated_at = excluded.updated_at RETURNING last_read_id, version, updated_at";
static const char SQL_ACCOUNT_GET[] = "SELECT json FROM accounts WHERE id = ?1";
static const char SQL_FOLLOWERS[] =
    "SELECT follower_id FROM follows WHERE followee_id = ?1 ORDER BY follower_id";
static const char SQL_REVOKED[] =
    "SELECT 1 FROM revoked_tokens WHERE jti = ?1 UNION ALL "
    "SELECT 1 FROM token_cutoffs WHERE account_id = ?2 AND revoked_below_jti > ?1 LIMIT 1";
static const char SQL_CUTOFF[] =
    "INSERT INTO token_cutoffs (account_id, revoked_below_jti) VALUES (?1, ?2) "
    "ON CONFLICT (account_id) DO UPDATE SET revoked_below_jti = "
    "max(revoked_below_jti, excluded.revoked_below_jti)";
static const char SQL_DEAD_LIST[] = "SELECT id, event_id, text, reason, created_at "
                                    "FROM dead_letters ORDER BY id DESC LIMIT ?1";

/* Runs sql with the int64 values v bound to ?1... and adds the rows it changed to *changes. */
static int exec(struct sqlite_db *db, const char *sql, const int64_t *v, int n, const char *what,
                size_t *changes, struct err *err)
{
    int ch = 0;
    int rc = sqlite_db_exec_ids(db, sql, v, n, what, &ch, err);
    if (rc == 0 && changes)
        *changes += (size_t)ch;
    return rc;
}

static int insert_dead(struct sqlite_db *db, const struct batch_item *it, int64_t now,
                       struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_DEAD, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)it->dead_id);
    sqlite_db_bind_int64(st, 2, (int64_t)it->event_id);
    ASSERT(sqlite3_bind_text(st, 3, it->dead_text, (int)it->dead_len, SQLITE_STATIC) == SQLITE_OK);
    sqlite_db_bind_text(st, 4, it->dead_reason);
    sqlite_db_bind_int64(st, 5, now);
    return sqlite_db_step_done(st, "insert dead letter", NULL, err);
}

static int insert_notification(struct sqlite_db *db, const struct batch_item *it, size_t k,
                               size_t *created, struct err *err)
{
    const struct notification_new *c = &it->changes->creates[k];
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_INSERT, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)it->notification_ids[k]);
    sqlite_db_bind_int64(st, 2, (int64_t)c->type);
    sqlite_db_bind_int64(st, 3, (int64_t)c->recipient_id);
    sqlite_db_bind_int64(st, 4, (int64_t)c->account_id);
    sqlite_db_bind_text(st, 5, c->account_json ? c->account_json : "{}");
    sqlite_db_bind_int64(st, 6, (int64_t)c->status_id);
    if (c->status_json)
        sqlite_db_bind_text(st, 7, c->status_json);
    sqlite_db_bind_int64(st, 8, (int64_t)it->event_id);
    sqlite_db_bind_text(st, 9, c->cause);
    sqlite_db_bind_int64(st, 10, it->occurred_at_ms);
    int ch = 0;
    rc = sqlite_db_step_done(st, "insert notification", &ch, err);
    *created += (size_t)ch;
    return rc;
}

static int apply_changes(struct sqlite_db *db, const struct batch_item *it, int64_t now,
                         struct batch_result *r, struct err *err)
{
    const struct event_changes *ch = it->changes;
    int rc = 0;
    for (size_t i = 0; i < ch->nremove_causes && rc == 0; i++) {
        sqlite3_stmt *st;
        rc = sqlite_db_stmt(db, SQL_REMOVE_CAUSE, &st, err);
        if (rc == 0) {
            int n = 0;
            sqlite_db_bind_text(st, 1, ch->remove_causes[i]);
            rc = sqlite_db_step_done(st, "remove notifications", &n, err);
            r->removed += (size_t)n;
        }
    }
    if (rc == 0 && ch->remove_status_id)
        rc = exec(db, SQL_REMOVE_STATUS, (int64_t[]){(int64_t)ch->remove_status_id}, 1,
                  "remove notifications", &r->removed, err);
    for (size_t k = 0; k < ch->ncreates && rc == 0; k++)
        rc = insert_notification(db, it, k, &r->created, err);
    if (rc == 0 && ch->account_id) {
        sqlite3_stmt *st;
        rc = sqlite_db_stmt(db, SQL_ACCOUNT, &st, err);
        if (rc == 0) {
            sqlite_db_bind_int64(st, 1, (int64_t)ch->account_id);
            sqlite_db_bind_text(st, 2, ch->account_json);
            sqlite_db_bind_int64(st, 3, now);
            rc = sqlite_db_step_done(st, "upsert account", NULL, err);
        }
    }
    int64_t pair[2] = {(int64_t)ch->followee_id, (int64_t)ch->follower_id};
    if (rc == 0 && ch->follow_add)
        rc = exec(db, SQL_FOLLOW_ADD, pair, 2, "add follower", NULL, err);
    if (rc == 0 && ch->follow_remove)
        rc = exec(db, SQL_FOLLOW_REMOVE, pair, 2, "remove follower", NULL, err);
    if (rc == 0 && ch->revoked_jti)
        rc = exec(db, SQL_REVOKE, (int64_t[]){(int64_t)ch->revoked_jti, now}, 2, "revoke token",
                  NULL, err);
    if (rc == 0 && ch->cutoff_account_id)
        rc = exec(db, SQL_CUTOFF,
                  (int64_t[]){(int64_t)ch->cutoff_account_id, (int64_t)ch->cutoff_below_jti}, 2,
                  "token cut-off", NULL, err);
    return rc;
}

static int apply_items(struct sqlite_db *db, const struct batch_item *items, size_t n,
                       const struct consumer_cursor *cursor, int64_t now, struct batch_result *r,
                       struct err *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct batch_item *it = &items[i];
        if (!it->changes) {
            rc = insert_dead(db, it, now, err);
            r->dead += rc == 0;
            continue;
        }
        size_t fresh = 0;
        rc = exec(db, SQL_PROCESSED, (int64_t[]){(int64_t)it->event_id, now}, 2,
                  "mark event processed", &fresh, err);
        if (rc == 0 && it->duplicate)
            *it->duplicate = !fresh;
        if (rc == 0 && !fresh)
            r->duplicates++;
        else if (rc == 0)
            rc = apply_changes(db, it, now, r, err);
    }
    if (rc == 0 && cursor) {
        sqlite3_stmt *st;
        rc = sqlite_db_stmt(db, SQL_CURSOR_SET, &st, err);
        if (rc == 0) {
            sqlite_db_bind_text(st, 1, cursor->source);
            sqlite_db_bind_int64(st, 2, cursor->position);
            sqlite_db_bind_int64(st, 3, now);
            rc = sqlite_db_step_done(st, "store cursor", NULL, err);
        }
    }
    return rc;
}

static int notification_store_sqlite_apply_batch(void *ctx, const struct batch_item *items,
                                                 size_t n, const struct consumer_cursor *cursor,
                                                 int64_t now_ms, struct batch_result *res,
                                                 struct err *err)
{
    struct batch_result r = {0};
    int rc = sqlite_db_begin(ctx, "apply batch", err);
    if (rc)
        return rc;
    rc = apply_items(ctx, items, n, cursor, now_ms, &r, err);
    rc = sqlite_db_finish(ctx, rc, "apply batch commit", err);
    if (rc == 0 && res)
        *res = r;
    return rc;
}

static int notification_store_sqlite_cursor_get(void *ctx, const char *source, int64_t *out,
                                                struct err *err)
{
    sqlite3_stmt *st;
    *out = 0;
    int rc = sqlite_db_stmt(ctx, SQL_CURSOR_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_text(st, 1, source);
    rc = sqlite_db_step_row(st, "cursor", err);
    if (rc == 0)
        *out = sqlite3_column_int64(st, 0);
    sqlite_db_release(st);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* Binds ?1..?6 of FILTER and the limit. */
static void bind_query(sqlite3_stmt *st, const struct notification_query *q)
{
    const struct notification_page *p = &q->page;
    sqlite_db_bind_int64(st, 1, (int64_t)q->recipient_id);
    sqlite_db_bind_int64(st, 2, (int64_t)q->types);
    sqlite_db_bind_int64(st, 3, (int64_t)q->account_id);
    sqlite_db_bind_int64(st, 4, p->max_id ? (int64_t)p->max_id : INT64_MAX);
    sqlite_db_bind_int64(st, 5, (int64_t)(p->since_id > p->min_id ? p->since_id : p->min_id));
    sqlite_db_bind_int64(st, 6, p->limit);
}

static void row(sqlite3_stmt *st, struct arena *a, struct notification *n)
{
    n->id = (uint64_t)sqlite3_column_int64(st, 0);
    n->type = (enum notification_type)sqlite3_column_int(st, 1);
    n->recipient_id = (uint64_t)sqlite3_column_int64(st, 2);
    n->account_id = (uint64_t)sqlite3_column_int64(st, 3);
    n->account_json = sqlite_db_column_text(st, 4, a);
    n->status_id = (uint64_t)sqlite3_column_int64(st, 5);
    n->status_json =
        sqlite3_column_type(st, 6) == SQLITE_NULL ? NULL : sqlite_db_column_text(st, 6, a);
    n->event_id = (uint64_t)sqlite3_column_int64(st, 7);
    n->cause = sqlite_db_column_text(st, 8, a);
    n->created_at_ms = sqlite3_column_int64(st, 9);
}

static int notification_store_sqlite_list(void *ctx, const struct notification_query *q,
                                          struct arena *a, struct notification_list *out,
                                          struct err *err)
{
    bool oldest = q->page.min_id != 0; /* the page right after min_id */
    sqlite3_stmt *st;
    out->n = 0;
    out->items = arena_calloc(a, (size_t)q->page.limit + 1, sizeof(*out->items));
    int rc = sqlite_db_stmt(ctx, oldest ? SQL_LIST_OLDEST : SQL_LIST_NEWEST, &st, err);
    if (rc)
        return rc;
    bind_query(st, q);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && out->n < (size_t)q->page.limit)
        row(st, a, &out->items[out->n++]);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "list notifications", err);
    sqlite_db_release(st);
    for (size_t i = 0; oldest && i < out->n / 2; i++) {
        struct notification t = out->items[i];
        out->items[i] = out->items[out->n - 1 - i];
        out->items[out->n - 1 - i] = t;
    }
    return rc;
}

static int notification_store_sqlite_count(void *ctx, const struct notification_query *q,
                                           int64_t *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_COUNT, &st, err);
    if (rc)
        return rc;
    bind_query(st, q);
    rc = sqlite_db_step_row(st, "count notifications", err);
    *out = rc == 0 ? sqlite3_column_int64(st, 0) : 0;
    sqlite_db_release(st);
    return rc;
}

static int notification_store_sqlite_get(void *ctx, uint64_t recipient_id, uint64_t id,
                                         struct arena *a, struct notification *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)recipient_id);
    sqlite_db_bind_int64(st, 2, (int64_t)id);
    rc = sqlite_db_step_row(st, "notification", err);
    if (rc == 0)
        row(st, a, out);
    sqlite_db_release(st);
    return rc;
}

static int notification_store_sqlite_dismiss(void *ctx, uint64_t recipient_id, uint64_t id,
                                             struct err *err)
{
    size_t n = 0;
    int rc = exec(ctx, SQL_DISMISS, (int64_t[]){(int64_t)recipient_id, (int64_t)id}, 2,
                  "dismiss notification", &n, err);
    if (rc == 0 && n == 0)
        return err_set(err, ERR_NOT_FOUND, "notification not found");
    return rc;
}

static int notification_store_sqlite_clear(void *ctx, uint64_t recipient_id, struct err *err)
{
    return exec(ctx, SQL_CLEAR, (int64_t[]){(int64_t)recipient_id}, 1, "clear notifications", NULL,
                err);
}

static int marker_row(sqlite3_stmt *st, enum marker_timeline t, struct marker *out)
{
    out->timeline = t;
    out->last_read_id = (uint64_t)sqlite3_column_int64(st, 0);
    out->version = sqlite3_column_int64(st, 1);
    out->updated_at_ms = sqlite3_column_int64(st, 2);
    return 0;
}

static int notification_store_sqlite_marker_get(void *ctx, uint64_t account_id,
                                                enum marker_timeline timeline, struct marker *out,
                                                struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_MARKER_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)account_id);
    sqlite_db_bind_int64(st, 2, timeline);
    rc = sqlite_db_step_row(st, "marker", err);
    if (rc == 0)
        marker_row(st, timeline, out);
    sqlite_db_release(st);
    return rc;
}

static int notification_store_sqlite_marker_set(void *ctx, uint64_t account_id,
                                                enum marker_timeline timeline,
                                                uint64_t last_read_id, int64_t now_ms,
                                                struct marker *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_MARKER_SET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)account_id);
    sqlite_db_bind_int64(st, 2, timeline);
    sqlite_db_bind_int64(st, 3, (int64_t)last_read_id);
    sqlite_db_bind_int64(st, 4, now_ms);
    rc = sqlite_db_step_row(st, "set marker", err);
    if (rc == 0) {
        marker_row(st, timeline, out);
        /* RETURNING hands the row before the statement ends: finish it. */
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = sqlite_db_error(st, src, "set marker", err);
    }
    sqlite_db_release(st);
    return rc;
}

static int notification_store_sqlite_account_get(void *ctx, uint64_t id, struct arena *a,
                                                 const char **json, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_ACCOUNT_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = sqlite_db_step_row(st, "account", err);
    *json = rc == 0 ? sqlite_db_column_text(st, 0, a) : NULL;
    sqlite_db_release(st);
    return rc;
}

static int notification_store_sqlite_followers(void *ctx, uint64_t account_id, struct arena *a,
                                               uint64_t **out, size_t *n, struct err *err)
{
    sqlite3_stmt *st;
    size_t cap = 16;
    *n = 0;
    *out = arena_alloc(a, cap * sizeof(**out));
    int rc = sqlite_db_stmt(ctx, SQL_FOLLOWERS, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)account_id);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            uint64_t *bigger = arena_alloc(a, cap * 2 * sizeof(*bigger));
            memcpy(bigger, *out, cap * sizeof(*bigger));
            *out = bigger;
            cap *= 2;
        }
        (*out)[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
    }
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "followers", err);
    sqlite_db_release(st);
    return rc;
}

static int notification_store_sqlite_token_revoked(void *ctx, uint64_t jti, uint64_t account_id,
                                                   bool *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_REVOKED, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)jti);
    sqlite_db_bind_int64(st, 2, (int64_t)account_id);
    rc = sqlite_db_step_row(st, "revoked token", err);
    *out = rc == 0;
    sqlite_db_release(st);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

static int notification_store_sqlite_dead_letters(void *ctx, int limit, struct arena *a,
                                                  struct dead_letter **out, size_t *n,
                                                  struct err *err)
{
    sqlite3_stmt *st;
    *n = 0;
    *out = arena_calloc(a, (size_t)limit + 1, sizeof(**out));
    int rc = sqlite_db_stmt(ctx, SQL_DEAD_LIST, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, limit);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)limit) {
        struct dead_letter *d = &(*out)[(*n)++];
        d->id = sqlite3_column_int64(st, 0);
        d->event_id = (uint64_t)sqlite3_column_int64(st, 1);
        d->text = sqlite_db_column_text(st, 2, a);
        d->reason = sqlite_db_column_text(st, 3, a);
        d->created_at_ms = sqlite3_column_int64(st, 4);
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "dead letters", err);
    sqlite_db_release(st);
    return rc;
}

static const char SQL_PRUNE_PROCESSED[] =
    "DELETE FROM processed_events WHERE event_id IN "
    "(SELECT event_id FROM processed_events WHERE processed_at < ?1 LIMIT ?2)";

static int notification_store_sqlite_prune_processed(void *ctx, int64_t before_ms, int limit,
                                                     int64_t *deleted, struct err *err)
{
    int64_t v[] = {before_ms, limit};
    int changes = 0;
    int rc =
        sqlite_db_exec_ids(ctx, SQL_PRUNE_PROCESSED, v, 2, "processed events prune", &changes, err);
    *deleted = changes;
    return rc;
}

static int notification_store_sqlite_ping(void *ctx, struct err *err)
{
    return sqlite_db_ping(ctx, err);
}

static void notification_store_sqlite_close(void *ctx)
{
    (void)ctx;
}

static const struct notification_store_ops ops = {
    notification_store_sqlite_apply_batch,  notification_store_sqlite_cursor_get,
    notification_store_sqlite_list,         notification_store_sqlite_count,
    notification_store_sqlite_get,          notification_store_sqlite_dismiss,
    notification_store_sqlite_clear,        notification_store_sqlite_marker_get,
    notification_store_sqlite_marker_set,   notification_store_sqlite_account_get,
    notification_store_sqlite_followers,    notification_store_sqlite_token_revoked,
    notification_store_sqlite_dead_letters, notification_store_sqlite_prune_processed,
    notification_store_sqlite_ping,         notification_store_sqlite_close};

struct notification_store notification_store_sqlite(struct sqlite_db *db)
{
    return (struct notification_store){&ops, db};
}
