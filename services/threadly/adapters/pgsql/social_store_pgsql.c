/* social_store_pgsql.c - social store port on PostgreSQL (follows and favourites of migration
 * 002). Each change runs in one transaction with the counters it adjusts. Check and change are
 * one statement (ON CONFLICT DO NOTHING, DELETE ... RETURNING, UPDATE ... WHERE), so concurrent
 * callers count each follow or favourite once. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

#include <inttypes.h>
#include <string.h>

static const char SQL_FOLLOW[] =
    "INSERT INTO follows (id, follower_id, followee_id, requested, created_at_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (follower_id, followee_id) DO NOTHING";
static const char SQL_ACCEPT[] = "UPDATE follows SET requested = FALSE "
                                 "WHERE follower_id = $1 AND followee_id = $2 AND requested = TRUE "
                                 "RETURNING id";
static const char SQL_UNFOLLOW[] =
    "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING requested, id";
/* Both accounts in one statement, which locks them in index order: two opposite follows at
 * once cannot deadlock. $1: delta, $2: follower, $3: followee. */
static const char SQL_FOLLOW_COUNTS[] =
    "UPDATE accounts SET "
    "following_count = following_count + CASE WHEN id = $2 THEN $1::bigint ELSE 0 END, "
    "followers_count = followers_count + CASE WHEN id = $3 THEN $1::bigint ELSE 0 END "
    "WHERE id IN ($2, $3)";
static const char SQL_RELATIONSHIP[] =
    "SELECT (SELECT requested FROM follows WHERE follower_id = $1 AND followee_id = $2), "
    "(SELECT requested FROM follows WHERE follower_id = $2 AND followee_id = $1)";
/* FOR KEY SHARE keeps the status from being deleted until the favourite commits. */
static const char SQL_STATUS_EXISTS[] = "SELECT 1 FROM statuses WHERE id = $1 FOR KEY SHARE";
static const char SQL_FAVOURITE[] =
    "INSERT INTO favourites (id, account_id, status_id, created_at_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (account_id, status_id) DO NOTHING";
static const char SQL_UNFAVOURITE[] =
    "DELETE FROM favourites WHERE account_id = $1 AND status_id = $2 RETURNING id";
static const char SQL_FAVOURITES_ADD[] =
    "UPDATE statuses SET favourites_count = favourites_count + $1 WHERE id = $2";
static const char SQL_FAVOURITED[] =
    "SELECT 1 FROM favourites WHERE account_id = $1 AND status_id = $2";
static const char SQL_FAVOURITED_AMONG[] =
    "SELECT status_id FROM favourites WHERE account_id = $1 AND status_id = ANY($2::bigint[])";

/* Edge lists and favourites. $1: the highest row id wanted, $2: row ids above it only,
 * $3: limit, $4: the account or status the list is about. Newest first, or oldest first for
 * min_id (reversed after the query). */
#define PAGE_RANGE " id <= $1 AND id > $2 AND "
#define EDGES_FOLLOWERS_SQL                                                                        \
    "SELECT id, follower_id FROM follows WHERE" PAGE_RANGE "followee_id = $4 AND requested = FALSE"
#define EDGES_FOLLOWING_SQL                                                                        \
    "SELECT id, followee_id FROM follows WHERE" PAGE_RANGE "follower_id = $4 AND requested = FALSE"
#define EDGES_REQUESTS_SQL                                                                         \
    "SELECT id, follower_id FROM follows WHERE" PAGE_RANGE "followee_id = $4 AND requested = TRUE"
#define EDGES_FAVOURITED_BY_SQL                                                                    \
    "SELECT id, account_id FROM favourites WHERE" PAGE_RANGE "status_id = $4"
#define FAVOURITES_SQL                                                                             \
    "SELECT f.id, " STATUS_PGSQL_COLUMNS " FROM favourites f JOIN statuses s "                     \
    "ON s.id = f.status_id WHERE f.id <= $1 AND f.id > $2 AND f.account_id = $4"
#define NEWEST " ORDER BY id DESC LIMIT $3"
#define OLDEST " ORDER BY id ASC LIMIT $3"
static const char SQL_EDGES_FOLLOWERS_NEWEST[] = EDGES_FOLLOWERS_SQL NEWEST;
static const char SQL_EDGES_FOLLOWERS_OLDEST[] = EDGES_FOLLOWERS_SQL OLDEST;
static const char SQL_EDGES_FOLLOWING_NEWEST[] = EDGES_FOLLOWING_SQL NEWEST;
static const char SQL_EDGES_FOLLOWING_OLDEST[] = EDGES_FOLLOWING_SQL OLDEST;
static const char SQL_EDGES_REQUESTS_NEWEST[] = EDGES_REQUESTS_SQL NEWEST;
static const char SQL_EDGES_REQUESTS_OLDEST[] = EDGES_REQUESTS_SQL OLDEST;
static const char SQL_EDGES_FAVOURITED_BY_NEWEST[] = EDGES_FAVOURITED_BY_SQL NEWEST;
static const char SQL_EDGES_FAVOURITED_BY_OLDEST[] = EDGES_FAVOURITED_BY_SQL OLDEST;
static const char SQL_FAVOURITES_NEWEST[] = FAVOURITES_SQL " ORDER BY f.id DESC LIMIT $3";
static const char SQL_FAVOURITES_OLDEST[] = FAVOURITES_SQL " ORDER BY f.id ASC LIMIT $3";

/* [kind][oldest], kind in enum edge_kind order. */
static const char *const edges_sql[][2] = {
    [EDGES_FOLLOWERS] = {SQL_EDGES_FOLLOWERS_NEWEST, SQL_EDGES_FOLLOWERS_OLDEST},
    [EDGES_FOLLOWING] = {SQL_EDGES_FOLLOWING_NEWEST, SQL_EDGES_FOLLOWING_OLDEST},
    [EDGES_FOLLOW_REQUESTS] = {SQL_EDGES_REQUESTS_NEWEST, SQL_EDGES_REQUESTS_OLDEST},
    [EDGES_FAVOURITED_BY] = {SQL_EDGES_FAVOURITED_BY_NEWEST, SQL_EDGES_FAVOURITED_BY_OLDEST},
};

/* Adds delta to following_count of follower and followers_count of followee. */
static int social_store_pgsql_count(struct pgsql_db *db, uint64_t follower, uint64_t followee,
                                    int64_t delta, struct err *err)
{
    int64_t v[] = {delta, (int64_t)follower, (int64_t)followee};
    return pgsql_db_query_ids(db, SQL_FOLLOW_COUNTS, v, 3, NULL, NULL, "follow counts", err);
}

static int social_store_pgsql_follow(void *ctx, uint64_t id, uint64_t follower, uint64_t followee,
                                     bool requested, int64_t at_ms, bool *created,
                                     const struct outbox_emit *emit, struct err *err)
{
    struct pgsql_db *db = ctx;
    ASSERT(id >= 1 && id <= INT64_MAX);
    *created = false;
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    pgsql_params_int64(&p, (int64_t)follower);
    pgsql_params_int64(&p, (int64_t)followee);
    pgsql_params_bool(&p, requested);
    pgsql_params_int64(&p, at_ms);
    int64_t changed = 0;
    rc = pgsql_db_query(db, SQL_FOLLOW, &p, NULL, &changed, "follow", err);
    if (rc == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "follow %" PRIu64 " exists", id);
    if (rc == 0 && changed && !requested)
        rc = social_store_pgsql_count(db, follower, followee, 1, err);
    struct outbox_change ch = {.row_id = id};
    rc = rc == 0 && changed ? outbox_pgsql_commit(db, rc, emit, &ch, err)
                            : pgsql_db_finish(db, rc, err);
    *created = rc == 0 && changed;
    return rc;
}

static int social_store_pgsql_accept(void *ctx, uint64_t follower, uint64_t followee,
                                     const struct outbox_emit *emit, struct err *err)
{
    struct pgsql_db *db = ctx;
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    int64_t v[] = {(int64_t)follower, (int64_t)followee};
    struct pg_result *r = NULL;
    struct outbox_change ch = {.was_request = true};
    bool changed = false;
    rc = pgsql_db_query_ids(db, SQL_ACCEPT, v, 2, &r, NULL, "follow accept", err);
    if (rc == 0) {
        changed = pgsql_ntuples(r) > 0;
        ch.row_id = changed ? (uint64_t)pgsql_int64(r, 0, 0) : 0;
        pgsql_db_clear(r);
    }
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "no follow request from %" PRIu64 " to %" PRIu64, follower,
                     followee);
    if (rc == 0)
        rc = social_store_pgsql_count(db, follower, followee, 1, err);
    return outbox_pgsql_commit(db, rc, emit, &ch, err);
}

static int social_store_pgsql_unfollow(void *ctx, uint64_t follower, uint64_t followee,
                                       bool *removed, const struct outbox_emit *emit,
                                       struct err *err)
{
    struct pgsql_db *db = ctx;
    *removed = false;
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    int64_t v[] = {(int64_t)follower, (int64_t)followee};
    struct pg_result *r = NULL;
    bool found = false, requested = false;
    struct outbox_change ch = {0};
    rc = pgsql_db_query_ids(db, SQL_UNFOLLOW, v, 2, &r, NULL, "unfollow", err);
    if (rc == 0) {
        found = pgsql_ntuples(r) > 0;
        requested = found && pgsql_bool(r, 0, 0);
        ch.row_id = found ? (uint64_t)pgsql_int64(r, 0, 1) : 0;
        ch.was_request = requested;
        pgsql_db_clear(r);
    }
    if (rc == 0 && found && !requested)
        rc = social_store_pgsql_count(db, follower, followee, -1, err);
    rc = rc == 0 && found ? outbox_pgsql_commit(db, rc, emit, &ch, err)
                          : pgsql_db_finish(db, rc, err);
    *removed = rc == 0 && found;
    return rc;
}

static int social_store_pgsql_relationship(void *ctx, uint64_t a, uint64_t b,
                                           struct relationship *out, struct err *err)
{
    int64_t v[] = {(int64_t)a, (int64_t)b};
    struct pg_result *r;
    int rc = pgsql_db_query_ids(ctx, SQL_RELATIONSHIP, v, 2, &r, NULL, "relationship", err);
    if (rc != 0)
        return rc;
    /* Each column: NULL (no row), false (a follow) or true (a request). */
    bool ab = !pgsql_isnull(r, 0, 0), ba = !pgsql_isnull(r, 0, 1);
    bool ab_req = ab && pgsql_bool(r, 0, 0), ba_req = ba && pgsql_bool(r, 0, 1);
    pgsql_db_clear(r);
    *out = (struct relationship){
        .following = ab && !ab_req,
        .followed_by = ba && !ba_req,
        .requested = ab && ab_req,
        .requested_by = ba && ba_req,
    };
    return 0;
}

static int social_store_pgsql_favourite(void *ctx, uint64_t id, uint64_t account_id,
                                        uint64_t status_id, int64_t at_ms, bool *created,
                                        const struct outbox_emit *emit, struct err *err)
{
    struct pgsql_db *db = ctx;
    ASSERT(id >= 1 && id <= INT64_MAX);
    *created = false;
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    int64_t found = 0, changed = 0;
    int64_t sid = (int64_t)status_id;
    rc = pgsql_db_query_ids(db, SQL_STATUS_EXISTS, &sid, 1, NULL, &found, "favourite", err);
    if (rc == 0 && !found)
        rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", status_id);
    int64_t v[] = {(int64_t)id, (int64_t)account_id, sid, at_ms};
    if (rc == 0)
        rc = pgsql_db_query_ids(db, SQL_FAVOURITE, v, 4, NULL, &changed, "favourite", err);
    if (rc == ERR_CONFLICT)
        err_set(err, ERR_CONFLICT, "favourite %" PRIu64 " exists", id);
    int64_t inc[] = {1, sid};
    if (rc == 0 && changed)
        rc =
            pgsql_db_query_ids(db, SQL_FAVOURITES_ADD, inc, 2, NULL, NULL, "favourites_count", err);
    struct outbox_change ch = {.row_id = id};
    rc = rc == 0 && changed ? outbox_pgsql_commit(db, rc, emit, &ch, err)
                            : pgsql_db_finish(db, rc, err);
    *created = rc == 0 && changed;
    return rc;
}

static int social_store_pgsql_unfavourite(void *ctx, uint64_t account_id, uint64_t status_id,
                                          bool *removed, const struct outbox_emit *emit,
                                          struct err *err)
{
    struct pgsql_db *db = ctx;
    *removed = false;
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    bool changed = false;
    struct pg_result *r = NULL;
    struct outbox_change ch = {0};
    int64_t v[] = {(int64_t)account_id, (int64_t)status_id};
    rc = pgsql_db_query_ids(db, SQL_UNFAVOURITE, v, 2, &r, NULL, "unfavourite", err);
    if (rc == 0) {
        changed = pgsql_ntuples(r) > 0;
        ch.row_id = changed ? (uint64_t)pgsql_int64(r, 0, 0) : 0;
        pgsql_db_clear(r);
    }
    int64_t dec[] = {-1, (int64_t)status_id};
    if (rc == 0 && changed)
        rc =
            pgsql_db_query_ids(db, SQL_FAVOURITES_ADD, dec, 2, NULL, NULL, "favourites_count", err);
    rc = rc == 0 && changed ? outbox_pgsql_commit(db, rc, emit, &ch, err)
                            : pgsql_db_finish(db, rc, err);
    *removed = rc == 0 && changed;
    return rc;
}

static int social_store_pgsql_favourited(void *ctx, uint64_t account_id, uint64_t status_id,
                                         bool *out, struct err *err)
{
    int64_t v[] = {(int64_t)account_id, (int64_t)status_id};
    int64_t rows = 0;
    int rc = pgsql_db_query_ids(ctx, SQL_FAVOURITED, v, 2, NULL, &rows, "favourited", err);
    if (rc == 0)
        *out = rows > 0;
    return rc;
}

static int social_store_pgsql_favourited_among(void *ctx, uint64_t account_id,
                                               const uint64_t *status_ids, size_t n, bool *out,
                                               struct err *err)
{
    ASSERT(n <= SOCIAL_STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = false;
    if (n == 0)
        return 0;
    char array[PGSQL_DB_ARRAY_IDS_LEN(SOCIAL_STORE_BATCH_MAX)];
    pgsql_db_array_ids(array, status_ids, n);
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)account_id);
    pgsql_params_text(&p, array);
    struct pg_result *r;
    int rc = pgsql_db_query(ctx, SQL_FAVOURITED_AMONG, &p, &r, NULL, "favourited_among", err);
    if (rc != 0)
        return rc;
    for (int row = 0; row < pgsql_ntuples(r); row++) {
        uint64_t id = (uint64_t)pgsql_int64(r, row, 0);
        for (size_t i = 0; i < n; i++)
            if (status_ids[i] == id)
                out[i] = true;
    }
    pgsql_db_clear(r);
    return 0;
}

/* Runs sql, a page query: $1..$3 from pg, $4 = of. */
static int query_page(struct pgsql_db *db, const char *sql, const struct page *pg, uint64_t of,
                      struct pg_result **out, const char *what, struct err *err)
{
    ASSERT(pg->limit >= 1 && pg->limit <= 80);
    /* An inclusive upper bound, so that 0 ("not given") can become INT64_MAX. */
    int64_t v[] = {pg->max_id ? (int64_t)(pg->max_id - 1) : INT64_MAX,
                   (int64_t)(pg->since_id > pg->min_id ? pg->since_id : pg->min_id), pg->limit,
                   (int64_t)of};
    return pgsql_db_query_ids(db, sql, v, 4, out, NULL, what, err);
}

static int social_store_pgsql_edges(void *ctx, enum edge_kind kind, uint64_t of,
                                    const struct page *page, struct arena *a, struct edge_list *out,
                                    struct err *err)
{
    ASSERT(kind >= EDGES_FOLLOWERS && kind <= EDGES_FAVOURITED_BY);
    bool oldest = page->min_id != 0;
    struct pg_result *r;
    int rc = query_page(ctx, edges_sql[kind][oldest], page, of, &r, "edges", err);
    if (rc != 0)
        return rc;
    int n = pgsql_ntuples(r);
    out->n = (size_t)n;
    out->items = arena_alloc(a, (size_t)page->limit * sizeof(*out->items));
    for (int i = 0; i < n; i++)
        out->items[oldest ? n - 1 - i : i] =
            (struct edge){(uint64_t)pgsql_int64(r, i, 0), (uint64_t)pgsql_int64(r, i, 1)};
    pgsql_db_clear(r);
    return 0;
}

static int social_store_pgsql_favourites(void *ctx, uint64_t account_id, const struct page *page,
                                         struct arena *a, struct status_list *out, uint64_t **ids,
                                         struct err *err)
{
    bool oldest = page->min_id != 0;
    struct pg_result *r;
    int rc = query_page(ctx, oldest ? SQL_FAVOURITES_OLDEST : SQL_FAVOURITES_NEWEST, page,
                        account_id, &r, "favourites", err);
    if (rc != 0)
        return rc;
    size_t limit = (size_t)page->limit;
    int n = pgsql_ntuples(r);
    out->n = (size_t)n;
    out->items = arena_alloc(a, limit * sizeof(*out->items));
    *ids = arena_alloc(a, limit * sizeof(**ids));
    for (int i = 0; i < n; i++) {
        int j = oldest ? n - 1 - i : i;
        (*ids)[j] = (uint64_t)pgsql_int64(r, i, 0);
        status_store_pgsql_row(r, i, 1, a, &out->items[j]);
    }
    pgsql_db_clear(r);
    return 0;
}

static void social_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct social_store_ops social_store_pgsql_ops = {
    .follow = social_store_pgsql_follow,
    .accept = social_store_pgsql_accept,
    .unfollow = social_store_pgsql_unfollow,
    .relationship = social_store_pgsql_relationship,
    .favourite = social_store_pgsql_favourite,
    .unfavourite = social_store_pgsql_unfavourite,
    .favourited = social_store_pgsql_favourited,
    .favourited_among = social_store_pgsql_favourited_among,
    .edges = social_store_pgsql_edges,
    .favourites = social_store_pgsql_favourites,
    .close = social_store_pgsql_close,
};

struct social_store social_store_pgsql(struct pgsql_db *db)
{
    return (struct social_store){&social_store_pgsql_ops, db};
}
