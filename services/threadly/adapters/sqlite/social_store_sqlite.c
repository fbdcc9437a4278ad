/* social_store_sqlite.c - social store port on SQLite (follows and favourites of migration
 * 002). Each change runs in one BEGIN IMMEDIATE transaction with the counters it adjusts; the
 * idempotent inserts use ON CONFLICT DO NOTHING, which PostgreSQL spells the same way. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <string.h>

static const char SQL_FOLLOW[] =
    "INSERT INTO follows (id, follower_id, followee_id, requested, created_at_ms) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (follower_id, followee_id) DO NOTHING";
static const char SQL_ACCEPT[] = "UPDATE follows SET requested = FALSE "
                                 "WHERE follower_id = ? AND followee_id = ? AND requested = TRUE";
static const char SQL_FOLLOW_STATE[] =
    "SELECT requested, id FROM follows WHERE follower_id = ? AND followee_id = ?";
static const char SQL_UNFOLLOW[] = "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?";
static const char SQL_FOLLOWING_ADD[] =
    "UPDATE accounts SET following_count = following_count + ? WHERE id = ?";
static const char SQL_FOLLOWERS_ADD[] =
    "UPDATE accounts SET followers_count = followers_count + ? WHERE id = ?";
static const char SQL_RELATIONSHIP[] =
    "SELECT (SELECT requested FROM follows WHERE follower_id = ?1 AND followee_id = ?2), "
    "(SELECT requested FROM follows WHERE follower_id = ?2 AND followee_id = ?1)";
static const char SQL_STATUS_EXISTS[] = "SELECT 1 FROM statuses WHERE id = ?";
static const char SQL_FAVOURITE[] =
    "INSERT INTO favourites (id, account_id, status_id, created_at_ms) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (account_id, status_id) DO NOTHING";
static const char SQL_UNFAVOURITE[] =
    "DELETE FROM favourites WHERE account_id = ? AND status_id = ?";
static const char SQL_FAVOURITES_ADD[] =
    "UPDATE statuses SET favourites_count = favourites_count + ? WHERE id = ?";
static const char SQL_FAVOURITED[] =
    "SELECT 1 FROM favourites WHERE account_id = ? AND status_id = ?";
static const char SQL_FAVOURITE_ID[] =
    "SELECT id FROM favourites WHERE account_id = ? AND status_id = ?";
static const char SQL_FAVOURITED_AMONG[] =
    "SELECT status_id FROM favourites "
    "WHERE account_id = ? AND status_id IN (SELECT value FROM json_each(?))";

/* Edge lists and favourites. ?1: the highest row id wanted, ?2: row ids above it only,
 * ?3: limit, ?4: the account or status the list is about. Newest first, or oldest first for
 * min_id (reversed after the query). */
#define PAGE_RANGE " id <= ?1 AND id > ?2 AND "
#define EDGES_FOLLOWERS_SQL                                                                        \
    "SELECT id, follower_id FROM follows WHERE" PAGE_RANGE "followee_id = ?4 AND requested = FALSE"
#define EDGES_FOLLOWING_SQL                                                                        \
    "SELECT id, followee_id FROM follows WHERE" PAGE_RANGE "follower_id = ?4 AND requested = FALSE"
#define EDGES_REQUESTS_SQL                                                                         \
    "SELECT id, follower_id FROM follows WHERE" PAGE_RANGE "followee_id = ?4 AND requested = TRUE"
#define EDGES_FAVOURITED_BY_SQL                                                                    \
    "SELECT id, account_id FROM favourites WHERE" PAGE_RANGE "status_id = ?4"
#define FAVOURITES_SQL                                                                             \
    "SELECT f.id, " STATUS_SQLITE_COLUMNS " FROM favourites f JOIN statuses s "                    \
    "ON s.id = f.status_id WHERE f.id <= ?1 AND f.id > ?2 AND f.account_id = ?4"
#define NEWEST " ORDER BY id DESC LIMIT ?3"
#define OLDEST " ORDER BY id ASC LIMIT ?3"
/* [kind][oldest], kind in enum edge_kind order. */
static const char SQL_EDGES_FOLLOWERS_NEWEST[] = EDGES_FOLLOWERS_SQL NEWEST;
static const char SQL_EDGES_FOLLOWERS_OLDEST[] = EDGES_FOLLOWERS_SQL OLDEST;
static const char SQL_EDGES_FOLLOWING_NEWEST[] = EDGES_FOLLOWING_SQL NEWEST;
static const char SQL_EDGES_FOLLOWING_OLDEST[] = EDGES_FOLLOWING_SQL OLDEST;
static const char SQL_EDGES_REQUESTS_NEWEST[] = EDGES_REQUESTS_SQL NEWEST;
static const char SQL_EDGES_REQUESTS_OLDEST[] = EDGES_REQUESTS_SQL OLDEST;
static const char SQL_EDGES_FAVOURITED_BY_NEWEST[] = EDGES_FAVOURITED_BY_SQL NEWEST;
static const char SQL_EDGES_FAVOURITED_BY_OLDEST[] = EDGES_FAVOURITED_BY_SQL OLDEST;
static const char SQL_FAVOURITES_NEWEST[] = FAVOURITES_SQL " ORDER BY f.id DESC LIMIT ?3";
static const char SQL_FAVOURITES_OLDEST[] = FAVOURITES_SQL " ORDER BY f.id ASC LIMIT ?3";

static const char *const edges_sql[][2] = {
    [EDGES_FOLLOWERS] = {SQL_EDGES_FOLLOWERS_NEWEST, SQL_EDGES_FOLLOWERS_OLDEST},
    [EDGES_FOLLOWING] = {SQL_EDGES_FOLLOWING_NEWEST, SQL_EDGES_FOLLOWING_OLDEST},
    [EDGES_FOLLOW_REQUESTS] = {SQL_EDGES_REQUESTS_NEWEST, SQL_EDGES_REQUESTS_OLDEST},
    [EDGES_FAVOURITED_BY] = {SQL_EDGES_FAVOURITED_BY_NEWEST, SQL_EDGES_FAVOURITED_BY_OLDEST},
};

/* Steps st (bound) for one row whose column 0 may be NULL: *found says whether there was a row,
 * *value its column 0 (-1 for NULL), and *second (if not NULL) its column 1. Releases st. */
static int query_two(sqlite3_stmt *st, const char *what, bool *found, int64_t *value,
                     int64_t *second, struct err *err)
{
    int rc = 0, src = sqlite3_step(st);
    *found = src == SQLITE_ROW;
    if (src == SQLITE_ROW) {
        *value = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
        if (second)
            *second = sqlite3_column_int64(st, 1);
    } else if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, what, err);
    sqlite_db_release(st);
    return rc;
}

static int query_one(sqlite3_stmt *st, const char *what, bool *found, int64_t *value,
                     struct err *err)
{
    return query_two(st, what, found, value, NULL, err);
}

/* The row id and state of the follow or request from follower to followee, in the current
 * transaction: *found false when there is none. */
static int social_store_sqlite_follow_state(struct sqlite_db *db, uint64_t follower,
                                            uint64_t followee, bool *found, int64_t *requested,
                                            int64_t *row_id, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_FOLLOW_STATE, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)follower);
    sqlite_db_bind_int64(st, 2, (int64_t)followee);
    return query_two(st, "follow state", found, requested, row_id, err);
}

/* Adds delta to following_count of follower and followers_count of followee. */
static int social_store_sqlite_count(struct sqlite_db *db, uint64_t follower, uint64_t followee,
                                     int64_t delta, struct err *err)
{
    int64_t v[2] = {delta, (int64_t)follower};
    int rc = sqlite_db_exec_ids(db, SQL_FOLLOWING_ADD, v, 2, "following_count", NULL, err);
    v[1] = (int64_t)followee;
    return rc != 0 ? rc
                   : sqlite_db_exec_ids(db, SQL_FOLLOWERS_ADD, v, 2, "followers_count", NULL, err);
}

static int social_store_sqlite_follow(void *ctx, uint64_t id, uint64_t follower, uint64_t followee,
                                      bool requested, int64_t at_ms, bool *created,
                                      const struct outbox_emit *emit, struct err *err)
{
    struct sqlite_db *db = ctx;
    ASSERT(id >= 1 && id <= INT64_MAX);
    *created = false;
    int rc = sqlite_db_begin(db, "social begin", err);
    if (rc != 0)
        return rc;
    int64_t v[] = {(int64_t)id, (int64_t)follower, (int64_t)followee, requested, at_ms};
    int changed = 0;
    rc = sqlite_db_exec_ids(db, SQL_FOLLOW, v, 5, "follow", &changed, err);
    if (rc == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "follow %" PRIu64 " exists", id);
    if (rc == 0 && changed && !requested)
        rc = social_store_sqlite_count(db, follower, followee, 1, err);
    struct outbox_change ch = {.row_id = id};
    if (rc == 0 && changed)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    rc = sqlite_db_finish(db, rc, "social commit", err);
    *created = rc == 0 && changed;
    return rc;
}

static int social_store_sqlite_accept(void *ctx, uint64_t follower, uint64_t followee,
                                      const struct outbox_emit *emit, struct err *err)
{
    struct sqlite_db *db = ctx;
    int rc = sqlite_db_begin(db, "social begin", err);
    if (rc != 0)
        return rc;
    int64_t v[] = {(int64_t)follower, (int64_t)followee};
    int changed = 0;
    bool found = false;
    int64_t requested = 0, row_id = 0;
    rc = social_store_sqlite_follow_state(db, follower, followee, &found, &requested, &row_id, err);
    if (rc == 0)
        rc = sqlite_db_exec_ids(db, SQL_ACCEPT, v, 2, "follow accept", &changed, err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "no follow request from %" PRIu64 " to %" PRIu64, follower,
                     followee);
    if (rc == 0)
        rc = social_store_sqlite_count(db, follower, followee, 1, err);
    struct outbox_change ch = {.row_id = (uint64_t)row_id, .was_request = true};
    if (rc == 0)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    return sqlite_db_finish(db, rc, "social commit", err);
}

static int social_store_sqlite_unfollow(void *ctx, uint64_t follower, uint64_t followee,
                                        bool *removed, const struct outbox_emit *emit,
                                        struct err *err)
{
    struct sqlite_db *db = ctx;
    *removed = false;
    int rc = sqlite_db_begin(db, "social begin", err);
    if (rc != 0)
        return rc;
    bool found = false;
    int64_t requested = 0, row_id = 0;
    rc = social_store_sqlite_follow_state(db, follower, followee, &found, &requested, &row_id, err);
    int64_t v[] = {(int64_t)follower, (int64_t)followee};
    if (rc == 0 && found)
        rc = sqlite_db_exec_ids(db, SQL_UNFOLLOW, v, 2, "unfollow", NULL, err);
    if (rc == 0 && found && !requested)
        rc = social_store_sqlite_count(db, follower, followee, -1, err);
    struct outbox_change ch = {.row_id = (uint64_t)row_id, .was_request = requested != 0};
    if (rc == 0 && found)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    rc = sqlite_db_finish(db, rc, "social commit", err);
    *removed = rc == 0 && found;
    return rc;
}

static int social_store_sqlite_relationship(void *ctx, uint64_t a, uint64_t b,
                                            struct relationship *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_RELATIONSHIP, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)a);
    sqlite_db_bind_int64(st, 2, (int64_t)b);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        /* Each column: NULL (no row), 0 (a follow) or 1 (a request). */
        bool ab = sqlite3_column_type(st, 0) != SQLITE_NULL;
        bool ba = sqlite3_column_type(st, 1) != SQLITE_NULL;
        bool ab_req = sqlite3_column_int64(st, 0) != 0;
        bool ba_req = sqlite3_column_int64(st, 1) != 0;
        *out = (struct relationship){
            .following = ab && !ab_req,
            .followed_by = ba && !ba_req,
            .requested = ab && ab_req,
            .requested_by = ba && ba_req,
        };
    } else {
        rc = sqlite_db_error(st, src, "relationship", err);
    }
    sqlite_db_release(st);
    return rc;
}

static int social_store_sqlite_favourite(void *ctx, uint64_t id, uint64_t account_id,
                                         uint64_t status_id, int64_t at_ms, bool *created,
                                         const struct outbox_emit *emit, struct err *err)
{
    struct sqlite_db *db = ctx;
    ASSERT(id >= 1 && id <= INT64_MAX);
    *created = false;
    int rc = sqlite_db_begin(db, "social begin", err);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st;
    bool found = false;
    int64_t one;
    rc = sqlite_db_stmt(db, SQL_STATUS_EXISTS, &st, err);
    if (rc == 0) {
        sqlite_db_bind_int64(st, 1, (int64_t)status_id);
        rc = query_one(st, "favourite", &found, &one, err);
    }
    if (rc == 0 && !found)
        rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", status_id);
    int changed = 0;
    int64_t v[] = {(int64_t)id, (int64_t)account_id, (int64_t)status_id, at_ms};
    if (rc == 0)
        rc = sqlite_db_exec_ids(db, SQL_FAVOURITE, v, 4, "favourite", &changed, err);
    if (rc == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "favourite %" PRIu64 " exists", id);
    int64_t inc[] = {1, (int64_t)status_id};
    if (rc == 0 && changed)
        rc = sqlite_db_exec_ids(db, SQL_FAVOURITES_ADD, inc, 2, "favourites_count", NULL, err);
    struct outbox_change ch = {.row_id = id};
    if (rc == 0 && changed)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    rc = sqlite_db_finish(db, rc, "social commit", err);
    *created = rc == 0 && changed;
    return rc;
}

static int social_store_sqlite_unfavourite(void *ctx, uint64_t account_id, uint64_t status_id,
                                           bool *removed, const struct outbox_emit *emit,
                                           struct err *err)
{
    struct sqlite_db *db = ctx;
    *removed = false;
    int rc = sqlite_db_begin(db, "social begin", err);
    if (rc != 0)
        return rc;
    int changed = 0;
    int64_t v[] = {(int64_t)account_id, (int64_t)status_id};
    sqlite3_stmt *st;
    bool found = false;
    int64_t row_id = 0;
    rc = sqlite_db_stmt(db, SQL_FAVOURITE_ID, &st, err);
    if (rc == 0) {
        sqlite_db_bind_int64(st, 1, v[0]);
        sqlite_db_bind_int64(st, 2, v[1]);
        rc = query_one(st, "unfavourite", &found, &row_id, err);
    }
    if (rc == 0 && found)
        rc = sqlite_db_exec_ids(db, SQL_UNFAVOURITE, v, 2, "unfavourite", &changed, err);
    int64_t dec[] = {-1, (int64_t)status_id};
    if (rc == 0 && changed)
        rc = sqlite_db_exec_ids(db, SQL_FAVOURITES_ADD, dec, 2, "favourites_count", NULL, err);
    struct outbox_change ch = {.row_id = (uint64_t)row_id};
    if (rc == 0 && changed)
        rc = outbox_sqlite_write(db, emit, &ch, err);
    rc = sqlite_db_finish(db, rc, "social commit", err);
    *removed = rc == 0 && changed;
    return rc;
}

static int social_store_sqlite_favourited(void *ctx, uint64_t account_id, uint64_t status_id,
                                          bool *out, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_FAVOURITED, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)account_id);
    sqlite_db_bind_int64(st, 2, (int64_t)status_id);
    int64_t one;
    return query_one(st, "favourited", out, &one, err);
}

static int social_store_sqlite_favourited_among(void *ctx, uint64_t account_id,
                                                const uint64_t *status_ids, size_t n, bool *out,
                                                struct err *err)
{
    ASSERT(n <= SOCIAL_STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = false;
    if (n == 0)
        return 0;
    if (n == 1) /* the point lookup: json_each would build a temporary table for one id */
        return social_store_sqlite_favourited(ctx, account_id, status_ids[0], &out[0], err);
    char json[SQLITE_DB_JSON_IDS_LEN(SOCIAL_STORE_BATCH_MAX)];
    sqlite_db_json_ids(json, status_ids, n);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_FAVOURITED_AMONG, &st, err);
    if (rc != 0)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)account_id);
    sqlite_db_bind_text(st, 2, json);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
        for (size_t i = 0; i < n; i++)
            if (status_ids[i] == id)
                out[i] = true;
    }
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "favourited_among", err);
    sqlite_db_release(st);
    return rc;
}

/* Binds the page's ?1..?3 and ?4 = of to st; says whether the query runs oldest first. */
static bool bind_page(sqlite3_stmt *st, const struct page *p, uint64_t of)
{
    ASSERT(p->limit >= 1 && p->limit <= 80);
    /* An inclusive upper bound, so that 0 ("not given") can become INT64_MAX. */
    sqlite_db_bind_int64(st, 1, p->max_id ? (int64_t)(p->max_id - 1) : INT64_MAX);
    sqlite_db_bind_int64(st, 2, (int64_t)(p->since_id > p->min_id ? p->since_id : p->min_id));
    sqlite_db_bind_int64(st, 3, p->limit);
    sqlite_db_bind_int64(st, 4, (int64_t)of);
    return p->min_id != 0;
}

static int social_store_sqlite_edges(void *ctx, enum edge_kind kind, uint64_t of,
                                     const struct page *page, struct arena *a,
                                     struct edge_list *out, struct err *err)
{
    ASSERT(kind >= EDGES_FOLLOWERS && kind <= EDGES_FAVOURITED_BY);
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, edges_sql[kind][page->min_id != 0], &st, err);
    if (rc != 0)
        return rc;
    bool oldest = bind_page(st, page, of);
    out->n = 0;
    out->items = arena_alloc(a, (size_t)page->limit * sizeof(*out->items));
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        out->items[out->n++] = (struct edge){(uint64_t)sqlite3_column_int64(st, 0),
                                             (uint64_t)sqlite3_column_int64(st, 1)};
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "edges", err);
    sqlite_db_release(st);
    for (size_t i = 0; oldest && i < out->n / 2; i++) {
        struct edge t = out->items[i];
        out->items[i] = out->items[out->n - 1 - i];
        out->items[out->n - 1 - i] = t;
    }
    return rc;
}

static int social_store_sqlite_favourites(void *ctx, uint64_t account_id, const struct page *page,
                                          struct arena *a, struct status_list *out, uint64_t **ids,
                                          struct err *err)
{
    sqlite3_stmt *st;
    int rc =
        sqlite_db_stmt(ctx, page->min_id ? SQL_FAVOURITES_OLDEST : SQL_FAVOURITES_NEWEST, &st, err);
    if (rc != 0)
        return rc;
    bool oldest = bind_page(st, page, account_id);
    size_t limit = (size_t)page->limit;
    out->n = 0;
    out->items = arena_alloc(a, limit * sizeof(*out->items));
    *ids = arena_alloc(a, limit * sizeof(**ids));
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        (*ids)[out->n] = (uint64_t)sqlite3_column_int64(st, 0);
        rc = status_store_sqlite_row(st, 1, a, &out->items[out->n], err);
        if (rc != 0)
            break;
        out->n++;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "favourites", err);
    sqlite_db_release(st);
    for (size_t i = 0; rc == 0 && oldest && i < out->n / 2; i++) {
        size_t j = out->n - 1 - i;
        struct status t = out->items[i];
        out->items[i] = out->items[j];
        out->items[j] = t;
        uint64_t id = (*ids)[i];
        (*ids)[i] = (*ids)[j];
        (*ids)[j] = id;
    }
    return rc;
}

static void social_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the sqlite_db */
}

static const struct social_store_ops social_store_sqlite_ops = {
    .follow = social_store_sqlite_follow,
    .accept = social_store_sqlite_accept,
    .unfollow = social_store_sqlite_unfollow,
    .relationship = social_store_sqlite_relationship,
    .favourite = social_store_sqlite_favourite,
    .unfavourite = social_store_sqlite_unfavourite,
    .favourited = social_store_sqlite_favourited,
    .favourited_among = social_store_sqlite_favourited_among,
    .edges = social_store_sqlite_edges,
    .favourites = social_store_sqlite_favourites,
    .close = social_store_sqlite_close,
};

struct social_store social_store_sqlite(struct sqlite_db *db)
{
    return (struct social_store){&social_store_sqlite_ops, db};
}
