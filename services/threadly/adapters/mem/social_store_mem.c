/* social_store_mem.c - social store port in memory: the follows and favourites of a mem_db,
 * whose mutex also covers the account and status counters each change adjusts. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/db_mem.h"

#include <inttypes.h>

/* The follow or request from follower to followee, or NULL. */
static struct mem_follow *social_store_mem_find_follow(struct mem_db *db, uint64_t follower,
                                                       uint64_t followee)
{
    for (size_t i = 0; i < db->nfollows; i++)
        if (db->follows[i].follower == follower && db->follows[i].followee == followee)
            return &db->follows[i];
    return NULL;
}

static struct mem_favourite *social_store_mem_find_favourite(struct mem_db *db, uint64_t account_id,
                                                             uint64_t status_id)
{
    for (size_t i = 0; i < db->nfavourites; i++)
        if (db->favourites[i].account_id == account_id && db->favourites[i].status_id == status_id)
            return &db->favourites[i];
    return NULL;
}

/* Adds delta to following_count of follower and followers_count of followee. Accounts that
 * are not stored are skipped, as the sqlite adapter's UPDATEs match no row. */
static void social_store_mem_count(struct mem_db *db, uint64_t follower, uint64_t followee,
                                   int delta)
{
    struct account *a = mem_db_account(db, follower);
    if (a)
        a->following_count += delta;
    struct account *b = mem_db_account(db, followee);
    if (b)
        b->followers_count += delta;
}

static int social_store_mem_follow(void *ctx, uint64_t id, uint64_t follower, uint64_t followee,
                                   bool requested, int64_t at_ms, bool *created,
                                   const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    ASSERT(id >= 1 && id <= INT64_MAX);
    int rc = 0;
    *created = false;
    pthread_mutex_lock(&db->mu);
    if (social_store_mem_find_follow(db, follower, followee))
        goto out;
    for (size_t i = 0; i < db->nfollows; i++) {
        if (db->follows[i].id == id) {
            rc = err_set(err, ERR_CONFLICT, "follow %" PRIu64 " exists", id);
            goto out;
        }
    }
    MEM_DB_RESERVE(db->follows, db->nfollows, db->follows_cap);
    db->follows[db->nfollows++] = (struct mem_follow){id, follower, followee, requested, at_ms};
    if (!requested)
        social_store_mem_count(db, follower, followee, 1);
    *created = true;
    struct outbox_change ch = {.row_id = id};
    mem_db_outbox_write(db, emit, &ch);
out:
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int social_store_mem_accept(void *ctx, uint64_t follower, uint64_t followee,
                                   const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    struct mem_follow *f = social_store_mem_find_follow(db, follower, followee);
    if (f && f->requested) {
        f->requested = false;
        social_store_mem_count(db, follower, followee, 1);
        struct outbox_change ch = {.row_id = f->id, .was_request = true};
        mem_db_outbox_write(db, emit, &ch);
    } else {
        rc = err_set(err, ERR_NOT_FOUND, "no follow request from %" PRIu64 " to %" PRIu64, follower,
                     followee);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int social_store_mem_unfollow(void *ctx, uint64_t follower, uint64_t followee, bool *removed,
                                     const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    struct mem_follow *f = social_store_mem_find_follow(db, follower, followee);
    *removed = f != NULL;
    if (f) {
        if (!f->requested)
            social_store_mem_count(db, follower, followee, -1);
        struct outbox_change ch = {.row_id = f->id, .was_request = f->requested};
        *f = db->follows[--db->nfollows];
        mem_db_outbox_write(db, emit, &ch);
    }
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int social_store_mem_relationship(void *ctx, uint64_t a, uint64_t b,
                                         struct relationship *out, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    const struct mem_follow *ab = social_store_mem_find_follow(db, a, b);
    const struct mem_follow *ba = social_store_mem_find_follow(db, b, a);
    *out = (struct relationship){
        .following = ab && !ab->requested,
        .followed_by = ba && !ba->requested,
        .requested = ab && ab->requested,
        .requested_by = ba && ba->requested,
    };
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int social_store_mem_favourite(void *ctx, uint64_t id, uint64_t account_id,
                                      uint64_t status_id, int64_t at_ms, bool *created,
                                      const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    ASSERT(id >= 1 && id <= INT64_MAX);
    int rc = 0;
    *created = false;
    pthread_mutex_lock(&db->mu);
    struct status *s = mem_db_status(db, status_id);
    if (!s) {
        rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", status_id);
        goto out;
    }
    if (social_store_mem_find_favourite(db, account_id, status_id))
        goto out;
    for (size_t i = 0; i < db->nfavourites; i++) {
        if (db->favourites[i].id == id) {
            rc = err_set(err, ERR_CONFLICT, "favourite %" PRIu64 " exists", id);
            goto out;
        }
    }
    MEM_DB_RESERVE(db->favourites, db->nfavourites, db->favourites_cap);
    db->favourites[db->nfavourites++] = (struct mem_favourite){id, account_id, status_id, at_ms};
    s->favourites_count++;
    *created = true;
    struct outbox_change ch = {.row_id = id};
    mem_db_outbox_write(db, emit, &ch);
out:
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int social_store_mem_unfavourite(void *ctx, uint64_t account_id, uint64_t status_id,
                                        bool *removed, const struct outbox_emit *emit,
                                        struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    struct mem_favourite *fav = social_store_mem_find_favourite(db, account_id, status_id);
    *removed = fav != NULL;
    if (fav) {
        struct outbox_change ch = {.row_id = fav->id};
        *fav = db->favourites[--db->nfavourites];
        mem_db_outbox_write(db, emit, &ch);
        struct status *s = mem_db_status(db, status_id);
        if (s)
            s->favourites_count--;
    }
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int social_store_mem_favourited(void *ctx, uint64_t account_id, uint64_t status_id,
                                       bool *out, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    *out = social_store_mem_find_favourite(db, account_id, status_id) != NULL;
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int social_store_mem_favourited_among(void *ctx, uint64_t account_id,
                                             const uint64_t *status_ids, size_t n, bool *out,
                                             struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    ASSERT(n <= SOCIAL_STORE_BATCH_MAX);
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < n; i++)
        out[i] = social_store_mem_find_favourite(db, account_id, status_ids[i]) != NULL;
    pthread_mutex_unlock(&db->mu);
    return 0;
}

/* Collects the edges of kind about `of` as rows (row id, index of the follow or favourite). */
static size_t social_store_mem_edge_rows(const struct mem_db *db, enum edge_kind kind, uint64_t of,
                                         struct mem_row *rows)
{
    size_t n = 0;
    if (kind == EDGES_FAVOURITED_BY) {
        for (size_t i = 0; i < db->nfavourites; i++)
            if (db->favourites[i].status_id == of)
                rows[n++] = (struct mem_row){db->favourites[i].id, i};
        return n;
    }
    for (size_t i = 0; i < db->nfollows; i++) {
        const struct mem_follow *f = &db->follows[i];
        bool match = kind == EDGES_FOLLOWERS         ? f->followee == of && !f->requested
                     : kind == EDGES_FOLLOWING       ? f->follower == of && !f->requested
                     : kind == EDGES_FOLLOW_REQUESTS ? f->followee == of && f->requested
                                                     : false;
        if (match)
            rows[n++] = (struct mem_row){f->id, i};
    }
    return n;
}

static int social_store_mem_edges(void *ctx, enum edge_kind kind, uint64_t of,
                                  const struct page *page, struct arena *a, struct edge_list *out,
                                  struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    ASSERT(kind >= EDGES_FOLLOWERS && kind <= EDGES_FAVOURITED_BY);
    pthread_mutex_lock(&db->mu);
    size_t cap = db->nfollows > db->nfavourites ? db->nfollows : db->nfavourites;
    struct mem_row *rows = xmalloc((cap + 1) * sizeof(*rows));
    size_t n = mem_db_page(rows, social_store_mem_edge_rows(db, kind, of, rows), page);
    out->n = n;
    out->items = n ? arena_alloc(a, n * sizeof(*out->items)) : NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t account_id;
        if (kind == EDGES_FAVOURITED_BY)
            account_id = db->favourites[rows[i].i].account_id;
        else if (kind == EDGES_FOLLOWING)
            account_id = db->follows[rows[i].i].followee;
        else
            account_id = db->follows[rows[i].i].follower;
        out->items[i] = (struct edge){rows[i].id, account_id};
    }
    free(rows);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int social_store_mem_favourites(void *ctx, uint64_t account_id, const struct page *page,
                                       struct arena *a, struct status_list *out, uint64_t **ids,
                                       struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    struct mem_row *rows = xmalloc((db->nfavourites + 1) * sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i < db->nfavourites; i++)
        if (db->favourites[i].account_id == account_id)
            rows[n++] = (struct mem_row){db->favourites[i].id, i};
    n = mem_db_page(rows, n, page);
    out->n = n;
    out->items = n ? arena_alloc(a, n * sizeof(*out->items)) : NULL;
    *ids = n ? arena_alloc(a, n * sizeof(**ids)) : NULL;
    for (size_t i = 0; i < n; i++) {
        /* Removing a status removes its favourites, so the status is there. */
        const struct status *s = mem_db_status(db, db->favourites[rows[i].i].status_id);
        ASSERT(s);
        mem_db_status_copy(s, a, &out->items[i]);
        (*ids)[i] = rows[i].id;
    }
    free(rows);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static void social_store_mem_close(void *ctx)
{
    (void)ctx; /* the follows and favourites belong to the mem_db */
}

static const struct social_store_ops social_store_mem_ops = {
    .follow = social_store_mem_follow,
    .accept = social_store_mem_accept,
    .unfollow = social_store_mem_unfollow,
    .relationship = social_store_mem_relationship,
    .favourite = social_store_mem_favourite,
    .unfavourite = social_store_mem_unfavourite,
    .favourited = social_store_mem_favourited,
    .favourited_among = social_store_mem_favourited_among,
    .edges = social_store_mem_edges,
    .favourites = social_store_mem_favourites,
    .close = social_store_mem_close,
};

struct social_store social_store_mem(struct mem_db *db)
{
    return (struct social_store){&social_store_mem_ops, db};
}
