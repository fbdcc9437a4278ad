/* status_store_pgsql.c - status store port on PostgreSQL (statuses, status_mentions,
 * status_tags of migration 002). Writes run in one transaction with the counters they change
 * (row locks of the UPDATEs keep them exact under concurrent writers); every read, a timeline
 * page included, is a single query. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The SQL below spells visibilities as numbers. */
_Static_assert(VISIBILITY_PUBLIC == 0 && VISIBILITY_UNLISTED == 1 && VISIBILITY_PRIVATE == 2 &&
                   VISIBILITY_DIRECT == 3,
               "visibility numbers in SQL");

#define TAG_SEPARATOR '\x1f' /* chr(31) of STATUS_PGSQL_COLUMNS */

static const char SQL_INSERT[] =
    "INSERT INTO statuses (id, account_id, text, content, spoiler_text, visibility, sensitive, "
    "language, in_reply_to_id, in_reply_to_account_id, application_id, created_at_ms, "
    "replies_count, favourites_count, reblogs_count) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
static const char SQL_INSERT_MENTION[] =
    "INSERT INTO status_mentions (status_id, account_id, position) VALUES ($1, $2, $3)";
static const char SQL_INSERT_TAG[] =
    "INSERT INTO status_tags (status_id, tag, position) VALUES ($1, $2, $3)";
static const char SQL_AUTHOR_POSTED[] = "UPDATE accounts SET statuses_count = statuses_count + 1, "
                                        "last_status_at_ms = $1 WHERE id = $2";
static const char SQL_AUTHOR_UNPOSTED[] =
    "UPDATE accounts SET statuses_count = statuses_count - 1 WHERE id = $1";
static const char SQL_REPLIES_ADD[] =
    "UPDATE statuses SET replies_count = replies_count + $1 WHERE id = $2";
/* Mentions, tags and favourites go with it: their foreign keys cascade (always enforced in
 * PostgreSQL). RETURNING makes the check and the delete one step, so two concurrent removals
 * decrement the counters once. */
static const char SQL_DELETE[] =
    "DELETE FROM statuses WHERE id = $1 RETURNING account_id, in_reply_to_id";
/* Reads return each status with its author (AUTHOR_PGSQL_COLUMNS after the status'). */
#define READ_SELECT                                                                                \
    "SELECT " STATUS_PGSQL_COLUMNS ", " AUTHOR_PGSQL_COLUMNS " FROM statuses s" AUTHOR_PGSQL_JOIN
static const char SQL_GET[] = READ_SELECT " WHERE s.id = $1";
static const char SQL_GET_MANY[] = READ_SELECT " WHERE s.id = ANY($1::bigint[])";
static const char SQL_REPLIES[] = READ_SELECT " WHERE s.in_reply_to_id = $1 ORDER BY s.id";

/* Timelines. $1: the highest id wanted, $2: ids above it only, $3: limit, $4: the account
 * (TIMELINE_ACCOUNT) or the viewer (TIMELINE_HOME), $5: the viewer, $6: exclude_replies.
 * Each comes newest first, and oldest first for min_id (reversed after the query). */
#define TL_SELECT READ_SELECT " WHERE s.id <= $1 AND s.id > $2 "
#define TL_PUBLIC TL_SELECT "AND s.visibility = 0"
#define TL_HOME                                                                                    \
    TL_SELECT "AND (s.account_id = $4 "                                                            \
              "OR (s.visibility IN (0, 1, 2) AND s.account_id IN (SELECT f.followee_id "           \
              "FROM follows f WHERE f.follower_id = $4 AND f.requested = FALSE)) "                 \
              "OR (s.visibility IN (2, 3) AND s.id IN (SELECT m.status_id "                        \
              "FROM status_mentions m WHERE m.account_id = $4)))"
/* Mastodon's exclude_replies keeps replies to oneself (threads). Anonymous viewers are 0,
 * which is no account, follower or mention. */
#define TL_ACCOUNT                                                                                 \
    TL_SELECT "AND s.account_id = $4 "                                                             \
              "AND (NOT $6::boolean OR s.in_reply_to_id = 0 "                                      \
              "OR s.in_reply_to_account_id = s.account_id) "                                       \
              "AND (s.visibility IN (0, 1) OR s.account_id = $5 "                                  \
              "OR (s.visibility = 2 AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $5 " \
              "AND f.followee_id = s.account_id AND f.requested = FALSE)) "                        \
              "OR EXISTS (SELECT 1 FROM status_mentions m WHERE m.status_id = s.id "               \
              "AND m.account_id = $5))"
#define TL_NEWEST " ORDER BY s.id DESC LIMIT $3"
#define TL_OLDEST " ORDER BY s.id ASC LIMIT $3"
static const char SQL_TL_PUBLIC_NEWEST[] = TL_PUBLIC TL_NEWEST;
static const char SQL_TL_PUBLIC_OLDEST[] = TL_PUBLIC TL_OLDEST;
static const char SQL_TL_HOME_NEWEST[] = TL_HOME TL_NEWEST;
static const char SQL_TL_HOME_OLDEST[] = TL_HOME TL_OLDEST;
static const char SQL_TL_ACCOUNT_NEWEST[] = TL_ACCOUNT TL_NEWEST;
static const char SQL_TL_ACCOUNT_OLDEST[] = TL_ACCOUNT TL_OLDEST;

/* Splits s at sep into a NUL-terminated copy in the arena; NULL s is an empty list. */
static size_t split_list(const char *s, char sep, struct arena *a, const char ***out)
{
    *out = NULL;
    if (!s)
        return 0;
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == sep;
    const char **v = arena_alloc(a, n * sizeof(*v));
    char *item = arena_strdup(a, s);
    for (size_t i = 0; i < n; i++) {
        v[i] = item;
        char *end = strchr(item, sep);
        if (end) {
            *end = '\0';
            item = end + 1;
        }
    }
    *out = v;
    return n;
}

void status_store_pgsql_row(const struct pg_result *r, int row, int col, struct arena *a,
                            struct status *out)
{
    memset(out, 0, sizeof(*out));
    out->id = (uint64_t)pgsql_int64(r, row, col + 0);
    out->account_id = (uint64_t)pgsql_int64(r, row, col + 1);
    out->text = pgsql_text(r, row, col + 2, a);
    out->content = pgsql_text(r, row, col + 3, a);
    out->spoiler_text = pgsql_text(r, row, col + 4, a);
    out->visibility = (enum visibility)pgsql_int64(r, row, col + 5);
    out->sensitive = pgsql_bool(r, row, col + 6);
    out->language = pgsql_text(r, row, col + 7, a);
    out->in_reply_to_id = (uint64_t)pgsql_int64(r, row, col + 8);
    out->in_reply_to_account_id = (uint64_t)pgsql_int64(r, row, col + 9);
    out->application_id = (uint64_t)pgsql_int64(r, row, col + 10);
    out->created_at_ms = pgsql_int64(r, row, col + 11);
    out->replies_count = pgsql_int64(r, row, col + 12);
    out->favourites_count = pgsql_int64(r, row, col + 13);
    out->reblogs_count = pgsql_int64(r, row, col + 14);
    const char **mentions;
    size_t nmentions = split_list(pgsql_value(r, row, col + 15), ',', a, &mentions);
    uint64_t *ids = nmentions ? arena_alloc(a, nmentions * sizeof(*ids)) : NULL;
    for (size_t i = 0; i < nmentions; i++)
        ids[i] = strtoull(mentions[i], NULL, 10);
    out->nmentions = nmentions;
    out->mentions = ids;
    const char **tags;
    out->ntags = split_list(pgsql_value(r, row, col + 16), TAG_SEPARATOR, a, &tags);
    out->tags = tags;
}

/* Copies row `row` of a READ_SELECT result: the status and its author. */
static void status_store_pgsql_read_row(const struct pg_result *r, int row, struct arena *a,
                                        struct status *out)
{
    status_store_pgsql_row(r, row, 0, a, out);
    out->author = account_store_pgsql_copy(r, row, STATUS_PGSQL_NCOLUMNS, a);
}

/* Copies the rows of r (READ_SELECT), reversed if `reverse` (a query oldest first), and clears
 * r. */
static void status_store_pgsql_list(struct pg_result *r, bool reverse, struct arena *a,
                                    struct status_list *out)
{
    int n = pgsql_ntuples(r);
    out->n = (size_t)n;
    out->items = n ? arena_alloc(a, (size_t)n * sizeof(*out->items)) : NULL;
    for (int i = 0; i < n; i++)
        status_store_pgsql_read_row(r, i, a, &out->items[reverse ? n - 1 - i : i]);
    pgsql_db_clear(r);
}

static int status_store_pgsql_insert_row(struct pgsql_db *db, const struct status *s,
                                         struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)s->id);
    pgsql_params_int64(&p, (int64_t)s->account_id);
    pgsql_params_text(&p, s->text);
    pgsql_params_text(&p, s->content);
    pgsql_params_text(&p, s->spoiler_text);
    pgsql_params_int64(&p, s->visibility);
    pgsql_params_bool(&p, s->sensitive);
    pgsql_params_text(&p, s->language);
    pgsql_params_int64(&p, (int64_t)s->in_reply_to_id);
    pgsql_params_int64(&p, (int64_t)s->in_reply_to_account_id);
    pgsql_params_int64(&p, (int64_t)s->application_id);
    pgsql_params_int64(&p, s->created_at_ms);
    pgsql_params_int64(&p, s->replies_count);
    pgsql_params_int64(&p, s->favourites_count);
    pgsql_params_int64(&p, s->reblogs_count);
    /* Its result is not read: sent with the author's update (the caller maps a conflict). */
    return pgsql_db_defer(db, SQL_INSERT, &p, "status insert", err);
}

static int status_store_pgsql_insert_lists(struct pgsql_db *db, const struct status *s,
                                           struct err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nmentions; i++) {
        struct pgsql_params p = {0};
        pgsql_params_int64(&p, (int64_t)s->id);
        pgsql_params_int64(&p, (int64_t)s->mentions[i]);
        pgsql_params_int64(&p, (int64_t)i);
        rc = pgsql_db_defer(db, SQL_INSERT_MENTION, &p, "status mention insert", err);
    }
    for (size_t i = 0; rc == 0 && i < s->ntags; i++) {
        struct pgsql_params p = {0};
        pgsql_params_int64(&p, (int64_t)s->id);
        pgsql_params_text(&p, s->tags[i]);
        pgsql_params_int64(&p, (int64_t)i);
        rc = pgsql_db_defer(db, SQL_INSERT_TAG, &p, "status tag insert", err);
    }
    return rc;
}

static int status_store_pgsql_insert(void *ctx, const struct status *s,
                                     const struct outbox_emit *emit, struct err *err)
{
    struct pgsql_db *db = ctx;
    ASSERT(s->id >= 1 && s->id <= INT64_MAX && s->text && s->content);
    ASSERT(s->in_reply_to_id != s->id);
    ASSERT(!s->nmentions || s->mentions);
    ASSERT(!s->ntags || s->tags);
    for (size_t i = 0; i < s->ntags; i++) /* hashtags are word characters */
        ASSERT(s->tags[i] && !strchr(s->tags[i], TAG_SEPARATOR));
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    int64_t changed = 0;
    rc = status_store_pgsql_insert_row(db, s, err);
    if (rc == 0) {
        int64_t v[] = {s->created_at_ms, (int64_t)s->account_id};
        /* One round trip: BEGIN, the status row (deferred) and this. */
        rc = pgsql_db_query_ids(db, SQL_AUTHOR_POSTED, v, 2, NULL, &changed, "status author", err);
        if (rc == ERR_CONFLICT) /* only the status row can conflict here */
            err_set(err, ERR_CONFLICT, "status %" PRIu64 " exists", s->id);
        if (rc == 0 && changed == 0)
            rc = err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", s->account_id);
    }
    if (rc == 0 && s->in_reply_to_id) {
        int64_t v[] = {1, (int64_t)s->in_reply_to_id};
        rc = pgsql_db_query_ids(db, SQL_REPLIES_ADD, v, 2, NULL, &changed, "status parent", err);
        if (rc == 0 && changed == 0)
            rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", s->in_reply_to_id);
    }
    if (rc == 0)
        rc = status_store_pgsql_insert_lists(db, s, err);
    struct outbox_change ch = {0};
    return outbox_pgsql_commit(db, rc, emit, &ch, err);
}

static int status_store_pgsql_get(void *ctx, uint64_t id, struct arena *a, struct status **out,
                                  struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    struct pg_result *r;
    int rc = pgsql_db_query_row(ctx, SQL_GET, &p, &r, "status get", err);
    if (rc == ERR_NOT_FOUND)
        err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", id);
    if (rc != 0)
        return rc;
    *out = arena_alloc(a, sizeof(**out));
    status_store_pgsql_read_row(r, 0, a, *out);
    pgsql_db_clear(r);
    return 0;
}

static int status_store_pgsql_get_many(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                                       struct status **out, struct err *err)
{
    ASSERT(n <= STATUS_STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (n == 0)
        return 0;
    char array[PGSQL_DB_ARRAY_IDS_LEN(STATUS_STORE_BATCH_MAX)];
    pgsql_db_array_ids(array, ids, n);
    struct pgsql_params p = {0};
    pgsql_params_text(&p, array);
    struct pg_result *r;
    int rc = pgsql_db_query(ctx, SQL_GET_MANY, &p, &r, NULL, "status get_many", err);
    if (rc != 0)
        return rc;
    for (int row = 0; row < pgsql_ntuples(r); row++) {
        struct status *s = arena_alloc(a, sizeof(*s));
        status_store_pgsql_read_row(r, row, a, s);
        /* Every position asking for this id gets it (ids may repeat). */
        for (size_t i = 0; i < n; i++)
            if (ids[i] == s->id)
                out[i] = s;
    }
    pgsql_db_clear(r);
    return 0;
}

static int status_store_pgsql_remove(void *ctx, uint64_t id, const struct outbox_emit *emit,
                                     struct err *err)
{
    struct pgsql_db *db = ctx;
    int rc = pgsql_db_begin(db, err);
    if (rc != 0)
        return rc;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    struct pg_result *r = NULL;
    int64_t author = 0, parent = 0;
    rc = pgsql_db_query_row(db, SQL_DELETE, &p, &r, "status remove", err);
    if (rc == 0) {
        author = pgsql_int64(r, 0, 0);
        parent = pgsql_int64(r, 0, 1);
        pgsql_db_clear(r);
    } else if (rc == ERR_NOT_FOUND) {
        err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", id);
    }
    if (rc == 0)
        rc = pgsql_db_query_ids(db, SQL_AUTHOR_UNPOSTED, &author, 1, NULL, NULL,
                                "status remove author", err);
    if (rc == 0 && parent) {
        int64_t v[] = {-1, parent};
        rc = pgsql_db_query_ids(db, SQL_REPLIES_ADD, v, 2, NULL, NULL, "status remove parent", err);
    }
    struct outbox_change ch = {0};
    return outbox_pgsql_commit(db, rc, emit, &ch, err);
}

static int status_store_pgsql_replies(void *ctx, uint64_t id, struct arena *a,
                                      struct status_list *out, struct err *err)
{
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    struct pg_result *r;
    int rc = pgsql_db_query(ctx, SQL_REPLIES, &p, &r, NULL, "status replies", err);
    if (rc == 0)
        status_store_pgsql_list(r, false, a, out);
    return rc;
}

static int status_store_pgsql_timeline(void *ctx, const struct timeline_query *q, struct arena *a,
                                       struct status_list *out, struct err *err)
{
    const struct page *pg = &q->page;
    ASSERT(pg->limit >= 1 && pg->limit <= 80);
    bool oldest = pg->min_id != 0; /* the page right after min_id */
    struct pgsql_params p = {0};
    /* An inclusive upper bound, so that 0 ("not given") can become INT64_MAX. */
    pgsql_params_int64(&p, pg->max_id ? (int64_t)(pg->max_id - 1) : INT64_MAX);
    pgsql_params_int64(&p, (int64_t)(pg->since_id > pg->min_id ? pg->since_id : pg->min_id));
    pgsql_params_int64(&p, pg->limit);
    const char *sql;
    switch (q->kind) {
    case TIMELINE_PUBLIC:
        sql = oldest ? SQL_TL_PUBLIC_OLDEST : SQL_TL_PUBLIC_NEWEST;
        break;
    case TIMELINE_HOME:
        sql = oldest ? SQL_TL_HOME_OLDEST : SQL_TL_HOME_NEWEST;
        pgsql_params_int64(&p, (int64_t)q->viewer_id);
        break;
    case TIMELINE_ACCOUNT:
        sql = oldest ? SQL_TL_ACCOUNT_OLDEST : SQL_TL_ACCOUNT_NEWEST;
        pgsql_params_int64(&p, (int64_t)q->account_id);
        pgsql_params_int64(&p, (int64_t)q->viewer_id);
        pgsql_params_bool(&p, q->exclude_replies);
        break;
    default:
        ASSERT(!"unknown timeline kind");
        return ERR_INTERNAL;
    }
    struct pg_result *r;
    int rc = pgsql_db_query(ctx, sql, &p, &r, NULL, "status timeline", err);
    if (rc == 0)
        status_store_pgsql_list(r, oldest, a, out);
    return rc;
}

static void status_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the pgsql_db */
}

static const struct status_store_ops status_store_pgsql_ops = {
    .insert = status_store_pgsql_insert,
    .get = status_store_pgsql_get,
    .get_many = status_store_pgsql_get_many,
    .remove = status_store_pgsql_remove,
    .replies = status_store_pgsql_replies,
    .timeline = status_store_pgsql_timeline,
    .close = status_store_pgsql_close,
};

struct status_store status_store_pgsql(struct pgsql_db *db)
{
    return (struct status_store){&status_store_pgsql_ops, db};
}
