/* status_store_mem.c - status store port in memory: the statuses of a mem_db, whose mutex also
 * covers the account counters and favourites a change touches. Timelines filter every status
 * with the same rules as the sqlite adapter's SQL, then sort: fine for tests only. */
#include "lib/base/xalloc.h"
#include "services/threadly/adapters/mem/db_mem.h"

#include <inttypes.h>
#include <string.h>

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Copies *src into *dst with strings and arrays owned by the store. */
static void status_store_mem_own(const struct status *src, struct status *dst)
{
    *dst = *src;
    dst->author = NULL; /* read only (status_store.h) */
    dst->text = xstrdup(src->text);
    dst->content = xstrdup(src->content);
    dst->spoiler_text = xstrdup(or_empty(src->spoiler_text));
    dst->language = xstrdup(or_empty(src->language));
    uint64_t *mentions = NULL;
    if (src->nmentions) {
        mentions = xmalloc(src->nmentions * sizeof(*mentions));
        memcpy(mentions, src->mentions, src->nmentions * sizeof(*mentions));
    }
    dst->mentions = mentions;
    char **tags = NULL;
    if (src->ntags) {
        tags = xmalloc(src->ntags * sizeof(*tags));
        for (size_t i = 0; i < src->ntags; i++)
            tags[i] = xstrdup(src->tags[i]);
    }
    dst->tags = (const char *const *)tags;
}

static int status_store_mem_insert(void *ctx, const struct status *st,
                                   const struct outbox_emit *emit, struct err *err)
{
    struct mem_db *db = ctx;
    ASSERT(st->id >= 1 && st->id <= INT64_MAX && st->text && st->content);
    ASSERT(!st->nmentions || st->mentions);
    ASSERT(!st->ntags || st->tags);
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    struct account *author = mem_db_account(db, st->account_id);
    struct status *parent = st->in_reply_to_id ? mem_db_status(db, st->in_reply_to_id) : NULL;
    if (mem_db_status(db, st->id)) {
        rc = err_set(err, ERR_CONFLICT, "status %" PRIu64 " exists", st->id);
    } else if (!author) {
        rc = err_set(err, ERR_NOT_FOUND, "account %" PRIu64 " not found", st->account_id);
    } else if (st->in_reply_to_id && !parent) {
        rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", st->in_reply_to_id);
    } else {
        author->statuses_count++;
        author->last_status_at_ms = st->created_at_ms;
        if (parent)
            parent->replies_count++;
        /* The reserve may move the array: parent is not used past this point. */
        MEM_DB_RESERVE(db->statuses, db->nstatuses, db->statuses_cap);
        status_store_mem_own(st, &db->statuses[db->nstatuses++]);
        struct outbox_change ch = {0};
        mem_db_outbox_write(db, emit, &ch);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int status_store_mem_get(void *ctx, uint64_t id, struct arena *a, struct status **out,
                                struct err *err)
{
    struct mem_db *db = ctx;
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    const struct status *s = mem_db_status(db, id);
    if (s) {
        *out = arena_alloc(a, sizeof(**out));
        mem_db_status_copy(s, a, *out);
    } else {
        rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", id);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static int status_store_mem_get_many(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                                     struct status **out, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    ASSERT(n <= STATUS_STORE_BATCH_MAX);
    pthread_mutex_lock(&db->mu);
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        for (size_t j = 0; j < i && !out[i]; j++)
            if (ids[j] == ids[i])
                out[i] = out[j];
        const struct status *s = out[i] ? NULL : mem_db_status(db, ids[i]);
        if (s) {
            out[i] = arena_alloc(a, sizeof(*out[i]));
            mem_db_status_copy(s, a, out[i]);
        }
    }
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static int status_store_mem_remove(void *ctx, uint64_t id, const struct outbox_emit *emit,
                                   struct err *err)
{
    struct mem_db *db = ctx;
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    struct status *s = mem_db_status(db, id);
    if (!s) {
        rc = err_set(err, ERR_NOT_FOUND, "status %" PRIu64 " not found", id);
        goto out;
    }
    struct account *author = mem_db_account(db, s->account_id);
    if (author)
        author->statuses_count--;
    struct status *parent = s->in_reply_to_id ? mem_db_status(db, s->in_reply_to_id) : NULL;
    if (parent)
        parent->replies_count--;
    size_t k = 0;
    for (size_t i = 0; i < db->nfavourites; i++)
        if (db->favourites[i].status_id != id)
            db->favourites[k++] = db->favourites[i];
    db->nfavourites = k;
    mem_db_status_free(s);
    *s = db->statuses[--db->nstatuses]; /* order does not matter: lists sort */
    struct outbox_change ch = {0};
    mem_db_outbox_write(db, emit, &ch);
out:
    pthread_mutex_unlock(&db->mu);
    return rc;
}

/* Fills out with the statuses rows[0..n) point at, in that order. */
static void status_store_mem_list(struct mem_db *db, const struct mem_row *rows, size_t n,
                                  struct arena *a, struct status_list *out)
{
    out->n = n;
    out->items = n ? arena_alloc(a, n * sizeof(*out->items)) : NULL;
    for (size_t i = 0; i < n; i++)
        mem_db_status_copy(&db->statuses[rows[i].i], a, &out->items[i]);
}

static int status_store_mem_replies(void *ctx, uint64_t id, struct arena *a,
                                    struct status_list *out, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    pthread_mutex_lock(&db->mu);
    struct mem_row *rows = xmalloc((db->nstatuses + 1) * sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i < db->nstatuses; i++)
        if (db->statuses[i].in_reply_to_id == id)
            rows[n++] = (struct mem_row){db->statuses[i].id, i};
    /* Oldest first, and unpaged: an insertion sort (few rows in tests). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && rows[j - 1].id > rows[j].id; j--) {
            struct mem_row t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    status_store_mem_list(db, rows, n, a, out);
    free(rows);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static bool status_store_mem_follows(const struct mem_db *db, uint64_t follower, uint64_t followee)
{
    for (size_t i = 0; i < db->nfollows; i++) {
        const struct mem_follow *f = &db->follows[i];
        if (f->follower == follower && f->followee == followee)
            return !f->requested;
    }
    return false;
}

static bool status_mentions(const struct status *s, uint64_t account_id)
{
    for (size_t i = 0; i < s->nmentions; i++)
        if (s->mentions[i] == account_id)
            return true;
    return false;
}

/* The rules of status_store.h, as the sqlite adapter's SQL_TIMELINE_* write them. */
static bool status_store_mem_in_timeline(const struct mem_db *db, const struct status *s,
                                         const struct timeline_query *q)
{
    switch (q->kind) {
    case TIMELINE_PUBLIC:
        return s->visibility == VISIBILITY_PUBLIC;
    case TIMELINE_HOME:
        if (s->account_id == q->viewer_id)
            return true;
        if (s->visibility != VISIBILITY_DIRECT &&
            status_store_mem_follows(db, q->viewer_id, s->account_id))
            return true;
        return (s->visibility == VISIBILITY_PRIVATE || s->visibility == VISIBILITY_DIRECT) &&
               status_mentions(s, q->viewer_id);
    case TIMELINE_ACCOUNT:
        if (s->account_id != q->account_id)
            return false;
        /* Mastodon's exclude_replies keeps replies to oneself (threads). */
        if (q->exclude_replies && s->in_reply_to_id && s->in_reply_to_account_id != s->account_id)
            return false;
        if (s->visibility == VISIBILITY_PUBLIC || s->visibility == VISIBILITY_UNLISTED)
            return true;
        if (q->viewer_id == 0)
            return false;
        if (s->account_id == q->viewer_id || status_mentions(s, q->viewer_id))
            return true;
        return s->visibility == VISIBILITY_PRIVATE &&
               status_store_mem_follows(db, q->viewer_id, s->account_id);
    }
    ASSERT(!"unknown timeline kind");
    return false;
}

static int status_store_mem_timeline(void *ctx, const struct timeline_query *q, struct arena *a,
                                     struct status_list *out, struct err *err)
{
    struct mem_db *db = ctx;
    (void)err;
    ASSERT(q->page.limit >= 1 && q->page.limit <= 80);
    pthread_mutex_lock(&db->mu);
    struct mem_row *rows = xmalloc((db->nstatuses + 1) * sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i < db->nstatuses; i++)
        if (status_store_mem_in_timeline(db, &db->statuses[i], q))
            rows[n++] = (struct mem_row){db->statuses[i].id, i};
    n = mem_db_page(rows, n, &q->page);
    status_store_mem_list(db, rows, n, a, out);
    free(rows);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

static void status_store_mem_close(void *ctx)
{
    (void)ctx; /* the statuses belong to the mem_db */
}

static const struct status_store_ops status_store_mem_ops = {
    .insert = status_store_mem_insert,
    .get = status_store_mem_get,
    .get_many = status_store_mem_get_many,
    .remove = status_store_mem_remove,
    .replies = status_store_mem_replies,
    .timeline = status_store_mem_timeline,
    .close = status_store_mem_close,
};

struct status_store status_store_mem(struct mem_db *db)
{
    return (struct status_store){&status_store_mem_ops, db};
}
