/* notification_store_pgsql.c - notification_store on PostgreSQL: a batch is one transaction;
 * every read is one statement. */
#include "services/notification/adapters/pgsql/notification_store_pgsql.h"

#include <stdint.h>
#include <string.h>

#define COLUMNS                                                                                    \
    "n.id, n.type, n.recipient_id, n.account_id, COALESCE(a.json, n.account_json), n.status_id, "  \
    "n.status_json, n.event_id, n.cause, n.created_at "                                            \
    "FROM notifications n LEFT JOIN accounts a ON a.id = n.account_id "
#define FILTER                                                                                     \
    "WHERE n.recipient_id = $1::bigint AND (n.type & $2::integer) <> 0 "                           \
    "AND ($3::bigint = 0 OR n.account_id = $3::bigint) AND n.id < $4::bigint "                     \
    "AND n.id > $5::bigint "

static const char SQL_PROCESSED[] = "INSERT INTO processed_events (event_id, processed_at) "
                                    "VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING";
static const char SQL_DEAD[] = "INSERT INTO dead_letters (id, event_id, text, reason, created_at) "
                               "VALUES ($1::bigint, $2::bigint, $3, $4, $5::bigint)";
static const char SQL_REMOVE_CAUSE[] = "DELETE FROM notifications WHERE cause = $1";
static const char SQL_REMOVE_STATUS[] = "DELETE FROM notifications WHERE status_id = $1::bigint";
static const char SQL_INSERT[] =
    "INSERT INTO notifications (id, type, recipient_id, account_id, account_json, status_id, "
    "status_json, event_id, cause, created_at) VALUES ($1::bigint, $2::integer, $3::bigint, "
    "$4::bigint, $5, $6::bigint, NULLIF($7, ''), $8::bigint, $9, $10::bigint) "
    "ON CONFLICT DO NOTHING";
static const char SQL_ACCOUNT[] =
    "INSERT INTO accounts (id, json, updated_at) VALUES ($1::bigint, $2, $3::bigint) "
    "ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at";
static const char SQL_FOLLOW_ADD[] = "INSERT INTO follows (followee_id, follower_id) "
                                     "VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING";
static const char SQL_FOLLOW_REMOVE[] =
    "DELETE FROM follows WHERE followee_id = $1::bigint AND follower_id = $2::bigint";
static const char SQL_REVOKE[] = "INSERT INTO revoked_tokens (jti, revoked_at) "
                                 "VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING";
static const char SQL_CURSOR_SET[] =
    "INSERT INTO consumer_cursors (source, position, updated_at) "
    "VALUES ($1, $2::bigint, $3::bigint) ON CONFLICT (source) DO UPDATE SET "
    "position = excluded.position, updated_at = excluded.updated_at";
static const char SQL_CURSOR_GET[] = "SELECT position FROM consumer_cursors WHERE source = $1";
static const char SQL_LIST_NEWEST[] =
    "SELECT " COLUMNS FILTER "ORDER BY n.id DESC LIMIT $6::integer";
static const char SQL_LIST_OLDEST[] =
    "SELECT " COLUMNS FILTER "ORDER BY n.id ASC LIMIT $6::integer";
static const char SQL_COUNT[] =
    "SELECT COUNT(*) FROM (SELECT 1 FROM notifications n " FILTER "LIMIT $6::integer) AS c";
static const char SQL_GET[] =
    "SELECT " COLUMNS "WHERE n.recipient_id = $1::bigint AND n.id = $2::bigint";
static const char SQL_DISMISS[] =
    "DELETE FROM notifications WHERE recipient_id = $1::bigint AND id = $2::bigint";
static const char SQL_CLEAR[] = "DELETE FROM notifications WHERE recipient_id = $1::bigint";
static const char SQL_MARKER_GET[] = "SELECT last_read_id, version, updated_at FROM markers "
                                     "WHERE account_id = $1::bigint AND timeline = $2::integer";
static const char SQL_MARKER_SET[] =
    "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) "
    "VALUES ($1::bigint, $2::integer, $3::bigint, 1, $4::bigint) "
    "ON CONFLICT (account_id, timeline) DO UPDATE SET "
    "last_read_id = excluded.last_read_id, version = markers.version + 1, "
    "updated_at = excluded.updated_at RETURNING last_read_id, version, updated_at";
static const char SQL_ACCOUNT_GET[] = "SELECT json FROM accounts WHERE id = $1::bigint";
static const char SQL_FOLLOWERS[] =
    "SELECT follower_id FROM follows WHERE followee_id = $1::bigint ORDER BY follower_id";
static const char SQL_REVOKED[] =
    "SELECT 1 FROM revoked_tokens WHERE jti = $1::bigint UNION ALL "
    "SELECT 1 FROM token_cutoffs WHERE account_id = $2::bigint AND revoked_below_jti > $1::bigint "
    "LIMIT 1";
static const char SQL_CUTOFF[] =
    "INSERT INTO token_cutoffs (account_id, revoked_below_jti) VALUES ($1, $2) "
    "ON CONFLICT (account_id) DO UPDATE SET revoked_below_jti = "
    "greatest(token_cutoffs.revoked_below_jti, excluded.revoked_below_jti)";
static const char SQL_DEAD_LIST[] = "SELECT id, event_id, text, reason, created_at "
                                    "FROM dead_letters ORDER BY id DESC LIMIT $1::integer";

static int exec(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                const char *what, size_t *changes, struct err *err)
{
    int64_t ch = 0;
    int rc = pgsql_db_query(db, sql, p, NULL, &ch, what, err);
    if (rc == 0 && changes)
        *changes += (size_t)ch;
    return rc;
}

static int exec_ids(struct pgsql_db *db, const char *sql, const int64_t *v, int n, const char *what,
                    size_t *changes, struct err *err)
{
    int64_t ch = 0;
    int rc = pgsql_db_query_ids(db, sql, v, n, NULL, &ch, what, err);
    if (rc == 0 && changes)
        *changes += (size_t)ch;
    return rc;
}

static int insert_notification(struct pgsql_db *db, const struct batch_item *it, size_t k,
                               size_t *created, struct err *err)
{
    const struct notification_new *c = &it->changes->creates[k];
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)it->notification_ids[k]);
    pgsql_params_int64(&p, (int64_t)c->type);
    pgsql_params_int64(&p, (int64_t)c->recipient_id);
    pgsql_params_int64(&p, (int64_t)c->account_id);
    pgsql_params_text(&p, c->account_json ? c->account_json : "{}");
    pgsql_params_int64(&p, (int64_t)c->status_id);
    pgsql_params_text(&p, c->status_json); /* NULL -> '' -> NULLIF -> NULL */
    pgsql_params_int64(&p, (int64_t)it->event_id);
    pgsql_params_text(&p, c->cause);
    pgsql_params_int64(&p, it->occurred_at_ms);
    return exec(db, SQL_INSERT, &p, "insert notification", created, err);
}

static int apply_changes(struct pgsql_db *db, const struct batch_item *it, int64_t now,
                         struct batch_result *r, struct err *err)
{
    const struct event_changes *ch = it->changes;
    int rc = 0;
    for (size_t i = 0; i < ch->nremove_causes && rc == 0; i++) {
        struct pgsql_params p = {0};
        pgsql_params_text(&p, ch->remove_causes[i]);
        rc = exec(db, SQL_REMOVE_CAUSE, &p, "remove notifications", &r->removed, err);
    }
    if (rc == 0 && ch->remove_status_id)
        rc = exec_ids(db, SQL_REMOVE_STATUS, (int64_t[]){(int64_t)ch->remove_status_id}, 1,
                      "remove notifications", &r->removed, err);
    for (size_t k = 0; k < ch->ncreates && rc == 0; k++)
        rc = insert_notification(db, it, k, &r->created, err);
    if (rc == 0 && ch->account_id) {
        struct pgsql_params p = {0};
        pgsql_params_int64(&p, (int64_t)ch->account_id);
        pgsql_params_text(&p, ch->account_json);
        pgsql_params_int64(&p, now);
        rc = exec(db, SQL_ACCOUNT, &p, "upsert account", NULL, err);
    }
    int64_t pair[2] = {(int64_t)ch->followee_id, (int64_t)ch->follower_id};
    if (rc == 0 && ch->follow_add)
        rc = exec_ids(db, SQL_FOLLOW_ADD, pair, 2, "add follower", NULL, err);
    if (rc == 0 && ch->follow_remove)
        rc = exec_ids(db, SQL_FOLLOW_REMOVE, pair, 2, "remove follower", NULL, err);
    if (rc == 0 && ch->revoked_jti)
        rc = exec_ids(db, SQL_REVOKE, (int64_t[]){(int64_t)ch->revoked_jti, now}, 2, "revoke token",
                      NULL, err);
    if (rc == 0 && ch->cutoff_account_id)
        rc = exec_ids(db, SQL_CUTOFF,
                      (int64_t[]){(int64_t)ch->cutoff_account_id, (int64_t)ch->cutoff_below_jti}, 2,
                      "token cut-off", NULL, err);
    return rc;
}

static int apply_items(struct pgsql_db *db, const struct batch_item *items, size_t n,
                       const struct consumer_cursor *cursor, int64_t now, struct batch_result *r,
                       struct err *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct batch_item *it = &items[i];
        if (!it->changes) {
            struct pgsql_params p = {0};
            pgsql_params_int64(&p, (int64_t)it->dead_id);
            pgsql_params_int64(&p, (int64_t)it->event_id);
            pgsql_params_text(&p, it->dead_text);
            pgsql_params_text(&p, it->dead_reason);
            pgsql_params_int64(&p, now);
            rc = exec(db, SQL_DEAD, &p, "insert dead letter", NULL, err);
            r->dead += rc == 0;
            continue;
        }
        size_t fresh = 0;
        rc = exec_ids(db, SQL_PROCESSED, (int64_t[]){(int64_t)it->event_id, now}, 2,
                      "mark event processed", &fresh, err);
        if (rc == 0 && it->duplicate)
            *it->duplicate = !fresh;
        if (rc == 0 && !fresh)
            r->duplicates++;
        else if (rc == 0)
            rc = apply_changes(db, it, now, r, err);
    }
    if (rc == 0 && cursor) {
        struct pgsql_params p = {0};
        pgsql_params_text(&p, cursor->source);
        pgsql_params_int64(&p, cursor->position);
        pgsql_params_int64(&p, now);
        rc = exec(db, SQL_CURSOR_SET, &p, "store cursor", NULL, err);
    }
    return rc;
}

static int notification_store_pgsql_apply_batch(void *ctx, const struct batch_item *items, size_t n,
                                                const struct consumer_cursor *cursor,
                                                int64_t now_ms, struct batch_result *res,
                                                struct err *err)
{
    struct batch_result r = {0};
    int rc = pgsql_db_begin(ctx, err);
    if (rc)
        return rc;
    rc = apply_items(ctx, items, n, cursor, now_ms, &r, err);
    rc = pgsql_db_finish(ctx, rc, err);
    if (rc == 0 && res)
        *res = r;
    return rc;
}

static int notification_store_pgsql_cursor_get(void *ctx, const char *source, int64_t *out,
                                               struct err *err)
{
    struct pgsql_params p = {0};
    struct pg_result *r;
    *out = 0;
    pgsql_params_text(&p, source);
    int rc = pgsql_db_query(ctx, SQL_CURSOR_GET, &p, &r, NULL, "cursor", err);
    if (rc)
        return rc;
    if (pgsql_ntuples(r) > 0)
        *out = pgsql_int64(r, 0, 0);
    pgsql_db_clear(r);
    return 0;
}

static void query_params(struct pgsql_params *p, const struct notification_query *q)
{
    const struct notification_page *pg = &q->page;
    pgsql_params_int64(p, (int64_t)q->recipient_id);
    pgsql_params_int64(p, (int64_t)q->types);
    pgsql_params_int64(p, (int64_t)q->account_id);
    pgsql_params_int64(p, pg->max_id ? (int64_t)pg->max_id : INT64_MAX);
    pgsql_params_int64(p, (int64_t)(pg->since_id > pg->min_id ? pg->since_id : pg->min_id));
    pgsql_params_int64(p, pg->limit);
}

static void row(struct pg_result *r, int i, struct arena *a, struct notification *n)
{
    n->id = (uint64_t)pgsql_int64(r, i, 0);
    n->type = (enum notification_type)pgsql_int64(r, i, 1);
    n->recipient_id = (uint64_t)pgsql_int64(r, i, 2);
    n->account_id = (uint64_t)pgsql_int64(r, i, 3);
    n->account_json = pgsql_text(r, i, 4, a);
    n->status_id = (uint64_t)pgsql_int64(r, i, 5);
    n->status_json = pgsql_isnull(r, i, 6) ? NULL : pgsql_text(r, i, 6, a);
    n->event_id = (uint64_t)pgsql_int64(r, i, 7);
    n->cause = pgsql_text(r, i, 8, a);
    n->created_at_ms = pgsql_int64(r, i, 9);
}

static int notification_store_pgsql_list(void *ctx, const struct notification_query *q,
                                         struct arena *a, struct notification_list *out,
                                         struct err *err)
{
    bool oldest = q->page.min_id != 0; /* the page right after min_id */
    struct pgsql_params p = {0};
    struct pg_result *r;
    out->n = 0;
    out->items = arena_calloc(a, (size_t)q->page.limit + 1, sizeof(*out->items));
    query_params(&p, q);
    int rc = pgsql_db_query(ctx, oldest ? SQL_LIST_OLDEST : SQL_LIST_NEWEST, &p, &r, NULL,
                            "list notifications", err);
    if (rc)
        return rc;
    int rows = pgsql_ntuples(r);
    for (int i = 0; i < rows && out->n < (size_t)q->page.limit; i++)
        row(r, oldest ? rows - 1 - i : i, a, &out->items[out->n++]);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_count(void *ctx, const struct notification_query *q,
                                          int64_t *out, struct err *err)
{
    struct pgsql_params p = {0};
    struct pg_result *r;
    query_params(&p, q);
    int rc = pgsql_db_query_row(ctx, SQL_COUNT, &p, &r, "count notifications", err);
    *out = 0;
    if (rc)
        return rc;
    *out = pgsql_int64(r, 0, 0);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_get(void *ctx, uint64_t recipient_id, uint64_t id,
                                        struct arena *a, struct notification *out, struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)recipient_id);
    pgsql_params_int64(&p, (int64_t)id);
    int rc = pgsql_db_query_row(ctx, SQL_GET, &p, &r, "notification", err);
    if (rc)
        return rc;
    row(r, 0, a, out);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_dismiss(void *ctx, uint64_t recipient_id, uint64_t id,
                                            struct err *err)
{
    size_t n = 0;
    int rc = exec_ids(ctx, SQL_DISMISS, (int64_t[]){(int64_t)recipient_id, (int64_t)id}, 2,
                      "dismiss notification", &n, err);
    if (rc == 0 && n == 0)
        return err_set(err, ERR_NOT_FOUND, "notification not found");
    return rc;
}

static int notification_store_pgsql_clear(void *ctx, uint64_t recipient_id, struct err *err)
{
    return exec_ids(ctx, SQL_CLEAR, (int64_t[]){(int64_t)recipient_id}, 1, "clear notifications",
                    NULL, err);
}

static void marker_row(struct pg_result *r, enum marker_timeline t, struct marker *out)
{
    out->timeline = t;
    out->last_read_id = (uint64_t)pgsql_int64(r, 0, 0);
    out->version = pgsql_int64(r, 0, 1);
    out->updated_at_ms = pgsql_int64(r, 0, 2);
}

static int notification_store_pgsql_marker_get(void *ctx, uint64_t account_id,
                                               enum marker_timeline timeline, struct marker *out,
                                               struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)account_id);
    pgsql_params_int64(&p, timeline);
    int rc = pgsql_db_query_row(ctx, SQL_MARKER_GET, &p, &r, "marker", err);
    if (rc)
        return rc;
    marker_row(r, timeline, out);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_marker_set(void *ctx, uint64_t account_id,
                                               enum marker_timeline timeline, uint64_t last_read_id,
                                               int64_t now_ms, struct marker *out, struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)account_id);
    pgsql_params_int64(&p, timeline);
    pgsql_params_int64(&p, (int64_t)last_read_id);
    pgsql_params_int64(&p, now_ms);
    int rc = pgsql_db_query_row(ctx, SQL_MARKER_SET, &p, &r, "set marker", err);
    if (rc)
        return rc;
    marker_row(r, timeline, out);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_account_get(void *ctx, uint64_t id, struct arena *a,
                                                const char **json, struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    *json = NULL;
    pgsql_params_int64(&p, (int64_t)id);
    int rc = pgsql_db_query_row(ctx, SQL_ACCOUNT_GET, &p, &r, "account", err);
    if (rc)
        return rc;
    *json = pgsql_text(r, 0, 0, a);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_followers(void *ctx, uint64_t account_id, struct arena *a,
                                              uint64_t **out, size_t *n, struct err *err)
{
    struct pg_result *r;
    *n = 0;
    int rc = pgsql_db_query_ids(ctx, SQL_FOLLOWERS, (int64_t[]){(int64_t)account_id}, 1, &r, NULL,
                                "followers", err);
    if (rc) {
        *out = arena_calloc(a, 1, sizeof(**out));
        return rc;
    }
    int rows = pgsql_ntuples(r);
    *out = arena_calloc(a, (size_t)rows + 1, sizeof(**out));
    for (int i = 0; i < rows; i++)
        (*out)[(*n)++] = (uint64_t)pgsql_int64(r, i, 0);
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_token_revoked(void *ctx, uint64_t jti, uint64_t account_id,
                                                  bool *out, struct err *err)
{
    struct pg_result *r;
    *out = false;
    int rc = pgsql_db_query_ids(ctx, SQL_REVOKED, (int64_t[]){(int64_t)jti, (int64_t)account_id}, 2,
                                &r, NULL, "revoked token", err);
    if (rc)
        return rc;
    *out = pgsql_ntuples(r) > 0;
    pgsql_db_clear(r);
    return 0;
}

static int notification_store_pgsql_dead_letters(void *ctx, int limit, struct arena *a,
                                                 struct dead_letter **out, size_t *n,
                                                 struct err *err)
{
    struct pg_result *r;
    *n = 0;
    *out = arena_calloc(a, (size_t)limit + 1, sizeof(**out));
    int rc = pgsql_db_query_ids(ctx, SQL_DEAD_LIST, (int64_t[]){limit}, 1, &r, NULL, "dead letters",
                                err);
    if (rc)
        return rc;
    for (int i = 0; i < pgsql_ntuples(r) && *n < (size_t)limit; i++) {
        struct dead_letter *d = &(*out)[(*n)++];
        d->id = pgsql_int64(r, i, 0);
        d->event_id = (uint64_t)pgsql_int64(r, i, 1);
        d->text = pgsql_text(r, i, 2, a);
        d->reason = pgsql_text(r, i, 3, a);
        d->created_at_ms = pgsql_int64(r, i, 4);
    }
    pgsql_db_clear(r);
    return 0;
}

static const char SQL_PRUNE_PROCESSED[] =
    "DELETE FROM processed_events WHERE event_id IN "
    "(SELECT event_id FROM processed_events WHERE processed_at < $1 LIMIT $2)";

static int notification_store_pgsql_prune_processed(void *ctx, int64_t before_ms, int limit,
                                                    int64_t *deleted, struct err *err)
{
    int64_t v[] = {before_ms, limit};
    return pgsql_db_query_ids(ctx, SQL_PRUNE_PROCESSED, v, 2, NULL, deleted,
                              "processed events prune", err);
}

static int notification_store_pgsql_ping(void *ctx, struct err *err)
{
    return pgsql_db_ping(ctx, err);
}

static void notification_store_pgsql_close(void *ctx)
{
    (void)ctx;
}

static const struct notification_store_ops ops = {
    notification_store_pgsql_apply_batch,  notification_store_pgsql_cursor_get,
    notification_store_pgsql_list,         notification_store_pgsql_count,
    notification_store_pgsql_get,          notification_store_pgsql_dismiss,
    notification_store_pgsql_clear,        notification_store_pgsql_marker_get,
    notification_store_pgsql_marker_set,   notification_store_pgsql_account_get,
    notification_store_pgsql_followers,    notification_store_pgsql_token_revoked,
    notification_store_pgsql_dead_letters, notification_store_pgsql_prune_processed,
    notification_store_pgsql_ping,         notification_store_pgsql_close};

struct notification_store notification_store_pgsql(struct pgsql_db *db)
{
    return (struct notification_store){&ops, db};
}
