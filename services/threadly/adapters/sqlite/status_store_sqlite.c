/* status_store_sqlite.c - status store port on SQLite (statuses, status_mentions, status_tags
 * of migration 002). Writes run in one BEGIN IMMEDIATE transaction with the counters they
 * change; every read, a timeline page included, is a single query. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The SQL below spells visibilities as numbers. */
_Static_assert(VISIBILITY_PUBLIC == 0 && VISIBILITY_UNLISTED == 1 && VISIBILITY_PRIVATE == 2 &&
                   VISIBILITY_DIRECT == 3,
               "visibility numbers in SQL");

#define TAG_SEPARATOR '\x1f' /* char(31) of STATUS_SQLITE_COLUMNS */

static const char SQL_INSERT[] =
    "INSERT INTO statuses (id, account_id, text, content, spoiler_text, visibility, sensitive, "
    "language, in_reply_to_id, in_reply_to_account_id, application_id, created_at_ms, "
    "replies_count, favourites_count, reblogs_count) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_INSERT_MENTION[] =
    "INSERT INTO status_mentions (status_id, account_id, position) VALUES (?, ?, ?)";
static const char SQL_INSERT_TAG[] =
    "INSERT INTO status_tags (status_id, tag, position) VALUES (?, ?, ?)";
static const char SQL_AUTHOR_POSTED[] = "UPDATE accounts SET statuses_count = statuses_count + 1, "
                                        "last_status_at_ms = ? WHERE id = ?";
static const char SQL_AUTHOR_UNPOSTED[] =
    "UPDATE accounts SET statuses_count = statuses_count - 1 WHERE id = ?";
static const char SQL_REPLIES_ADD[] =
    "UPDATE statuses SET replies_count = replies_count + ? WHERE id = ?";
static const char SQL_GET_KEYS[] = "SELECT account_id, in_reply_to_id FROM statuses WHERE id = ?";
static const char SQL_DELETE_MENTIONS[] = "DELETE FROM status_mentions WHERE status_id = ?";
static const char SQL_DELETE_TAGS[] = "DELETE FROM status_tags WHERE status_id = ?";
static const char SQL_DELETE_FAVOURITES[] = "DELETE FROM favourites WHERE status_id = ?";
static const char SQL_DELETE[] = "DELETE FROM statuses WHERE id = ?";
static const char SQL_GET[] = "SELECT " STATUS_SQLITE_COLUMNS " FROM statuses s WHERE s.id = ?";
/* The ids arrive as a JSON array. A join driven by json_each probes the primary key once per
 * id; `IN (SELECT value FROM json_each(?))` first builds a temporary index of the list, which
 * made the 20-status batch of a home page about a quarter slower. A repeated id gives its row
 * twice (get_many hands every position the same status anyway). CROSS JOIN keeps the id list
 * the outer loop whatever the statistics say. */
static const char SQL_GET_MANY[] =
    "SELECT " STATUS_SQLITE_COLUMNS " FROM json_each(?) j CROSS JOIN statuses s ON s.id = j.value";
static const char SQL_REPLIES[] =
    "SELECT " STATUS_SQLITE_COLUMNS " FROM statuses s WHERE s.in_reply_to_id = ? ORDER BY s.id";

/* Timelines. ?1: the highest id wanted, ?2: ids above it only, ?3: limit, ?4: the account
 * (TIMELINE_ACCOUNT) or the viewer (TIMELINE_HOME), ?5: the viewer, ?6: exclude_replies.
 * Each comes newest first, and oldest first for min_id (reversed after the query). */
#define TL_SELECT "SELECT " STATUS_SQLITE_COLUMNS " FROM statuses s WHERE s.id <= ?1 AND s.id > ?2 "
#define TL_SELECT_WALK                                                                             \
    "SELECT " STATUS_SQLITE_COLUMNS " FROM statuses s "                                            \
    "INDEXED BY statuses_id_account_id_visibility WHERE s.id <= ?1 AND s.id > ?2 "
#define TL_PUBLIC TL_SELECT "AND s.visibility = 0"
/* The unary '+' keeps SQLite from answering the OR through the account and visibility indexes
 * (a MULTI-INDEX OR over every followed status, then a sort: 140 ms a page on the benchmark
 * seed); INDEXED BY makes it walk statuses newest first through the index of migration 005,
 * which holds account_id and visibility, stopping at the limit. A viewer whose followees post
 * rarely makes that walk long. Tried and measured (bench/RESULTS.md): a k-way merge of one
 * cursor per followed account (slower: 52 statement setups a page) and a home_feed table
 * filled on write (posting 20x slower: 51 random B-tree pages written per post). */
#define TL_HOME                                                                                    \
    TL_SELECT_WALK "AND (+s.account_id = ?4 "                                                      \
                   "OR (+s.visibility IN (0, 1, 2) AND +s.account_id IN (SELECT f.followee_id "    \
                   "FROM follows f WHERE f.follower_id = ?4 AND f.requested = FALSE)) "            \
                   "OR (+s.visibility IN (2, 3) AND EXISTS (SELECT 1 FROM status_mentions m "      \
                   "WHERE m.status_id = s.id AND m.account_id = ?4)))"
/* Mastodon's exclude_replies keeps replies to oneself (threads). Anonymous viewers are 0,
 * which is no account, follower or mention. */
#define TL_ACCOUNT                                                                                 \
    TL_SELECT "AND s.account_id = ?4 "                                                             \
              "AND (?6 = 0 OR s.in_reply_to_id = 0 OR s.in_reply_to_account_id = s.account_id) "   \
              "AND (s.visibility IN (0, 1) OR s.account_id = ?5 "                                  \
              "OR (s.visibility = 2 AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ?5 " \
              "AND f.followee_id = s.account_id AND f.requested = FALSE)) "                        \
              "OR EXISTS (SELECT 1 FROM status_mentions m WHERE m.status_id = s.id "               \
              "AND m.account_id = ?5))"
#define TL_NEWEST " ORDER BY s.id DESC LIMIT ?3"
#define TL_OLDEST " ORDER BY s.id ASC LIMIT ?3"
static const char SQL_TL_PUBLIC_NEWEST[] = TL_PUBLIC TL_NEWEST;
static const char SQL_TL_PUBLIC_OLDEST[] = TL_PUBLIC TL_OLDEST;
static const char SQL_TL_HOME_NEWEST[] = TL_HOME TL_NEWEST;
static const char SQL_TL_HOME_OLDEST[] = TL_HOME TL_OLDEST;
static const char SQL_TL_ACCOUNT_NEWEST[] = TL_ACCOUNT TL_NEWEST;
static const char SQL_TL_ACCOUNT_OLDEST[] = TL_ACCOUNT TL_OLDEST;

/* Splits "pos:value" items joined by TAG_SEPARATOR into values[pos] (n of them). */
static int split_positions(const char *s, struct arena *a, const char ***values, size_t *n,
                           struct err *err)
{
    *values = NULL;
    *n = 0;
    if (!s || !*s)
        return 0;
    size_t count = 1;
    for (const char *p = s; *p; p++)
        count += *p == TAG_SEPARATOR;
    const char **v = arena_calloc(a, count, sizeof(*v));
    char *item = arena_strdup(a, s);
    for (size_t k = 0; k < count; k++) {
        char *end = strchr(item, TAG_SEPARATOR);
        if (end)
            *end = '\0';
        char *colon = strchr(item, ':');
        char *after;
        unsigned long pos = colon ? strtoul(item, &after, 10) : count;
        if (!colon || after != colon || pos >= count || v[pos])
            return err_set(err, ERR_INTERNAL, "status row: bad list item '%s'", item);
        v[pos] = colon + 1;
        item = end ? end + 1 : item;
    }
    *values = v;
    *n = count;
    return 0;
}

int status_store_sqlite_row(sqlite3_stmt *st, int col, struct arena *a, struct status *out,
                            struct err *err)
{
    memset(out, 0, sizeof(*out));
    out->id = (uint64_t)sqlite3_column_int64(st, col + 0);
    out->account_id = (uint64_t)sqlite3_column_int64(st, col + 1);
    out->text = sqlite_db_column_text(st, col + 2, a);
    out->content = sqlite_db_column_text(st, col + 3, a);
    out->spoiler_text = sqlite_db_column_text(st, col + 4, a);
    out->visibility = (enum visibility)sqlite3_column_int(st, col + 5);
    out->sensitive = sqlite3_column_int64(st, col + 6) != 0;
    out->language = sqlite_db_column_text(st, col + 7, a);
    out->in_reply_to_id = (uint64_t)sqlite3_column_int64(st, col + 8);
    out->in_reply_to_account_id = (uint64_t)sqlite3_column_int64(st, col + 9);
    out->application_id = (uint64_t)sqlite3_column_int64(st, col + 10);
    out->created_at_ms = sqlite3_column_int64(st, col + 11);
    out->replies_count = sqlite3_column_int64(st, col + 12);
    out->favourites_count = sqlite3_column_int64(st, col + 13);
    out->reblogs_count = sqlite3_column_int64(st, col + 14);
    const char **mentions, **tags;
    size_t nmentions, ntags;
    int rc = split_positions((const char *)sqlite3_column_text(st, col + 15), a, &mentions,
                             &nmentions, err);
    if (rc == 0)
        rc =
            split_positions((const char *)sqlite3_column_text(st, col + 16), a, &tags, &ntags, err);
    if (rc != 0)
        return rc;
    uint64_t *ids = nmentions ? arena_alloc(a, nmentions * sizeof(*ids)) : NULL;
    for (size_t i = 0; i < nmentions; i++)
        ids[i] = strtoull(mentions[i], NULL, 10);
    out->nmentions = nmentions;
    out->mentions = ids;
    out->ntags = ntags;
    out->tags = tags;
    return 0;
}

/* Steps st to the end, collects its rows (STATUS_SQLITE_COLUMNS from column 0), reversed if
 * `reverse` (a query oldest first), and releases st. */
static int status_store_sqlite_list(sqlite3_stmt *st, bool reverse, struct arena *a,
                                    struct status_list *out, const char *what, struct err *err)
{
    size_t cap = 0;
    int rc = 0, src;
    out->n = 0;
    out->items = NULL;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct status *items = arena_alloc(a, cap * sizeof(*items));
            if (out->n)
                memcpy(items, out->items, out->n * sizeof(*items));
            out->items = items;
        }
        rc = status_store_sqlite_row(st, 0, a, &out->items[out->n], err);
        if (rc != 0)
            break;
        out->n++;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, what, err);
    sqlite_db_release(st);
    for (size_t i = 0; rc == 0 && reverse && i < out->n / 2; i++) {
        struct status t = out->items[i];
        out->items[i] = out->items[out->n - 1 - i];
        out->items[out->n - 1 - i] = t;
    }
    return rc;
}

static int status_store_sqlite_insert_row(struct sqlite_db *db, const struct status *s,
                                          struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_INSERT, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)s->id);
    sqlite_db_bind_int64(st, 2, (int64_t)s->account_id);
    sqlite_db_bind_text(st, 3, s->text);
    sqlite_db_bind_text(st, 4, s->content);
    sqlite_db_bind_text(st, 5, sqlite_db_or_empty(s->spoiler_text));
    sqlite_db_bind_int64(st, 6, s->visibility);
    sqlite_db_bind_int64(st, 7, s->sensitive);
    sqlite_db_bind_text(st, 8, sqlite_db_or_empty(s->language));
    sqlite_db_bind_int64(st, 9, (int64_t)s->in_reply_to_id);
    sqlite_db_bind_int64(st, 10, (int64_t)s->in_reply_to_account_id);
    sqlite_db_bind_int64(st, 11, (int64_t)s->application_id);
    sqlite_db_bind_int64(st, 12, s->created_at_ms);
    sqlite_db_bind_int64(st, 13, s->replies_count);
    sqlite_db_bind_int64(st, 14, s->favourites_count);
    sqlite_db_bind_int64(st, 15, s->reblogs_count);
    rc = sqlite_db_step_done(st, "status insert", NULL, err);
    if (rc == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "status %" PRIu64 " exists", s->id);
    return rc;
}

static int status_store_sqlite_insert_lists(struct sqlite_db *db, const struct status *s,
                                            struct err *err)
{
    sqlite3_stmt *st;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nmentions; i++) {
        rc = sqlite_db_stmt(db, SQL_INSERT_MENTION, &st, err);
        if (rc != 0)
            break;
        sqlite_db_bind_int64(st, 1, (int64_t)s->id);
        sqlite_db_bind_int64(st, 2, (int64_t)s->mentions[i]);
        sqlite_db_bind_int64(st, 3, (int64_t)i);
        rc = sqlite_db_step_done(st, "status mention insert", NULL, err);
    }
    for (size_t i = 0; rc == 0 && i < s->ntags; i++) {
        rc = sqlite_db_stmt(db, SQL_INSERT_TAG, &st, err);
        if (rc != 0)
            break;
        sqlite_db_bind_int64(st, 1, (int64_t)s->id);
        sqlite_db_bind_text(st, 2, s->tags[i]);
        sqlite_db_bind_int64(st, 3, (int64_t)i);
        rc = sqlite_db_step_done(st, "status tag insert", NULL, err);
    }
    return rc;
}

static int status_store_sqlite_insert(void *ctx, const struct status *s,
                                      const struct outbox_emit *emit, struct err *err)
{
    struct sqlite_db *db = ctx;
    ASSERT(s->id >= 1 && s->id <= INT64_MAX && s->text && s->content);
    ASSERT(s->in_reply_to_id != s->id);
    ASSERT(!s->nmentions || s->mentions);
    ASSERT(!s->ntags || s->tags);
    for (size_t i = 0; i < s->ntags; i++) /* hashtags are word characters */
        ASSERT(s->tags[i] && !strchr(s->tags[i], TAG_SEPARATOR));
    int rc = sqlite_db_begin(db, "status insert begin", err);
    if (rc != 0)
        return rc;
    int changed = 0;
    rc = status_store_sqlite_insert_row(db, s, err);
    if (rc == 0) {
        int64_t v[] = {s->created_at_ms, (int64_t)s->account_id};
        rc = sqlite_db_exec_ids(db, SQL_AUTHOR_POSTED, v, 2, "status author", &changed, err);
        if (rc == 0 && changed == 0)
            rc = err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", s->account_id);
    }
    if (rc == 0 && s->in_reply_to_id) {
        int64_t v[] = {1, (int64_t)s->in_reply_to_id};
        rc = sqlite_db_exec_ids(db, SQL_REPLIES_ADD, v, 2, "status parent", &changed, err);
        if (rc == 0 && changed == 0)
            rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", s->in_reply_to_id);
    }
    if (rc == 0)
        rc = status_store_sqlite_insert_lists(db, s, err);
    struct outbox_change ch = {0};
    if (rc == 0)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    return sqlite_db_finish(db, rc, "status insert commit", err);
}

static int status_store_sqlite_get(void *ctx, uint64_t id, struct arena *a, struct status **out,
                                   struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = sqlite_db_step_row(st, "status get", err);
    if (rc == 0) {
        *out = arena_alloc(a, sizeof(**out));
        rc = status_store_sqlite_row(st, 0, a, *out, err);
    } else if (rc == ERR_NOT_FOUND) {
        err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", id);
    }
    sqlite_db_release(st);
    return rc;
}

static int status_store_sqlite_get_many(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                                        struct status **out, struct err *err)
{
    ASSERT(n <= STATUS_STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0)
        return 0;
    char json[SQLITE_DB_JSON_IDS_LEN(STATUS_STORE_BATCH_MAX)];
    sqlite_db_json_ids(json, ids, n);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_GET_MANY, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_text(st, 1, json);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct status *s = arena_alloc(a, sizeof(*s));
        rc = status_store_sqlite_row(st, 0, a, s, err);
        if (rc != 0)
            break;
        /* Every position asking for this id gets it (ids may repeat). */
        for (size_t i = 0; i < n; i++)
            if (ids[i] == s->id)
                out[i] = s;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "status get_many", err);
    sqlite_db_release(st);
    return rc;
}

/* Loads the author and parent of status id; ERR_NOT_FOUND if it is absent. */
static int status_store_sqlite_keys(struct sqlite_db *db, uint64_t id, int64_t *author,
                                    int64_t *parent, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_GET_KEYS, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = sqlite_db_step_row(st, "status remove", err);
    if (rc == 0) {
        *author = sqlite3_column_int64(st, 0);
        *parent = sqlite3_column_int64(st, 1);
    } else if (rc == ERR_NOT_FOUND) {
        err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", id);
    }
    sqlite_db_release(st);
    return rc;
}

static int status_store_sqlite_remove(void *ctx, uint64_t id, const struct outbox_emit *emit,
                                      struct err *err)
{
    struct sqlite_db *db = ctx;
    int rc = sqlite_db_begin(db, "status remove begin", err);
    if (rc != 0)
        return rc;
    int64_t author = 0, parent = 0, sid = (int64_t)id;
    rc = status_store_sqlite_keys(db, id, &author, &parent, err);
    /* The foreign keys cascade too; deleting explicitly keeps the intent visible and does not
     * depend on PRAGMA foreign_keys. */
    static const char *const deletes[] = {SQL_DELETE_MENTIONS, SQL_DELETE_TAGS,
                                          SQL_DELETE_FAVOURITES, SQL_DELETE};
    for (size_t i = 0; rc == 0 && i < sizeof(deletes) / sizeof(deletes[0]); i++)
        rc = sqlite_db_exec_ids(db, deletes[i], &sid, 1, "status remove", NULL, err);
    if (rc == 0)
        rc = sqlite_db_exec_ids(db, SQL_AUTHOR_UNPOSTED, &author, 1, "status remove author", NULL,
                                err);
    if (rc == 0 && parent) {
        int64_t v[] = {-1, parent};
        rc = sqlite_db_exec_ids(db, SQL_REPLIES_ADD, v, 2, "status remove parent", NULL, err);
    }
    struct outbox_change ch = {0};
    if (rc == 0)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    return sqlite_db_finish(db, rc, "status remove commit", err);
}

static int status_store_sqlite_replies(void *ctx, uint64_t id, struct arena *a,
                                       struct status_list *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_REPLIES, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    return status_store_sqlite_list(st, false, a, out, "status replies", err);
}

static int status_store_sqlite_timeline(void *ctx, const struct timeline_query *q, struct arena *a,
                                        struct status_list *out, struct err *err)
{
    const struct page *p = &q->page;
    ASSERT(p->limit >= 1 && p->limit <= 80);
    bool oldest = p->min_id != 0; /* the page right after min_id */
    const char *sql;
    switch (q->kind) {
    case TIMELINE_PUBLIC:
        sql = oldest ? SQL_TL_PUBLIC_OLDEST : SQL_TL_PUBLIC_NEWEST;
        break;
    case TIMELINE_HOME:
        sql = oldest ? SQL_TL_HOME_OLDEST : SQL_TL_HOME_NEWEST;
        break;
    case TIMELINE_ACCOUNT:
        sql = oldest ? SQL_TL_ACCOUNT_OLDEST : SQL_TL_ACCOUNT_NEWEST;
        break;
    default:
        ASSERT(!"unknown timeline kind");
        return ERR_INTERNAL;
    }
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, sql, &st, err);
    if (rc != 0)
        return rc;
    /* An inclusive upper bound, so that 0 ("not given") can become INT64_MAX. */
    sqlite_db_bind_int64(st, 1, p->max_id ? (int64_t)(p->max_id - 1) : INT64_MAX);
    sqlite_db_bind_int64(st, 2, (int64_t)(p->since_id > p->min_id ? p->since_id : p->min_id));
    sqlite_db_bind_int64(st, 3, p->limit);
    int nparams = sqlite3_bind_parameter_count(st);
    if (nparams >= 4)
        sqlite_db_bind_int64(st, 4,
                             (int64_t)(q->kind == TIMELINE_HOME ? q->viewer_id : q->account_id));
    if (nparams >= 6) {
        sqlite_db_bind_int64(st, 5, (int64_t)q->viewer_id);
        sqlite_db_bind_int64(st, 6, q->exclude_replies);
    }
    return status_store_sqlite_list(st, oldest, a, out, "status timeline", err);
}

static void status_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct status_store_ops status_store_sqlite_ops = {
    .insert = status_store_sqlite_insert,
    .get = status_store_sqlite_get,
    .get_many = status_store_sqlite_get_many,
    .remove = status_store_sqlite_remove,
    .replies = status_store_sqlite_replies,
    .timeline = status_store_sqlite_timeline,
    .close = status_store_sqlite_close,
};

struct status_store status_store_sqlite(struct sqlite_db *db)
{
    return (struct status_store){&status_store_sqlite_ops, db};
}
