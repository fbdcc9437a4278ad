/* home_feed_mem.c - see home_feed_mem.h. One mutex guards everything: a read holds it for a
 * hash lookup and a copy of at most 40 ids, a new status for one pass over the held feeds
 * (a binary search of each one's followees), so contention stays low at a few thousand
 * requests a second. A feed's ids sit ascending in a buffer with slack at its end: a new
 * status appends and the oldest is dropped by moving `start`, so neither moves the others
 * until the slack runs out. */
#include "services/threadly/adapters/mem/home_feed_mem.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A write seen while a feed was being built, applied by build_end. */
struct pending {
    uint64_t id;
    uint64_t author;
    enum visibility visibility;
    bool deleted;   /* else created */
    bool mentioned; /* the feed's account is mentioned in it */
};

#define PENDING_MAX 4096 /* more writes during one build: the build is dropped */

struct entry {
    uint64_t account;
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* recency list, most recently read first */
    bool building, dirty, complete;
    uint64_t ticket;
    uint64_t *buf; /* ids ascending at buf[start..start+n) */
    size_t start, n, cap;
    uint64_t *followees; /* ascending */
    size_t nfollowees;
    struct pending *pending;
    size_t npending, pending_cap;
};

struct feed {
    pthread_mutex_t mu;
    size_t capacity, max_accounts, naccounts, nbuckets;
    struct entry **buckets;
    struct entry *head, *tail; /* recency list */
    uint64_t next_ticket;
    size_t bytes;
    struct home_feed_stats stats;
};

static const struct home_feed_ops home_feed_mem_ops;

static size_t bucket_of(const struct feed *f, uint64_t account)
{
    return (size_t)((account * 0x9E3779B97F4A7C15ULL) >> 32) & (f->nbuckets - 1);
}

static struct entry *lookup(struct feed *f, uint64_t account)
{
    for (struct entry *e = f->buckets[bucket_of(f, account)]; e; e = e->hnext)
        if (e->account == account)
            return e;
    return NULL;
}

static void list_unlink(struct feed *f, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        f->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        f->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(struct feed *f, struct entry *e)
{
    e->prev = NULL;
    e->next = f->head;
    if (f->head)
        f->head->prev = e;
    f->head = e;
    if (!f->tail)
        f->tail = e;
}

static size_t entry_bytes(const struct entry *e)
{
    return sizeof(*e) + (e->cap + e->nfollowees) * sizeof(uint64_t) +
           e->pending_cap * sizeof(struct pending);
}

/* Unlinks e from the hash and the list and frees it. */
static void entry_drop(struct feed *f, struct entry *e)
{
    struct entry **p = &f->buckets[bucket_of(f, e->account)];
    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    list_unlink(f, e);
    f->bytes -= entry_bytes(e);
    f->naccounts--;
    free(e->buf);
    free(e->followees);
    free(e->pending);
    free(e);
}

/* Evicts the least recently read feeds that are not being built until there is room. */
static void make_room(struct feed *f)
{
    struct entry *e = f->tail;
    while (f->naccounts >= f->max_accounts && e) {
        struct entry *prev = e->prev;
        if (!e->building) {
            entry_drop(f, e);
            f->stats.evictions++;
        }
        e = prev;
    }
}

/* Ensures room for one more id at the end of e's buffer. */
static void entry_reserve_one(struct feed *f, struct entry *e)
{
    if (e->start + e->n < e->cap)
        return;
    if (e->start > 0) {
        memmove(e->buf, e->buf + e->start, e->n * sizeof(*e->buf));
        e->start = 0;
        return;
    }
    size_t cap = e->cap ? e->cap * 2 : 16, most = f->capacity + f->capacity / 4 + 1;
    if (cap > most)
        cap = most > e->n + 1 ? most : e->n + 1;
    f->bytes -= entry_bytes(e);
    e->buf = xrealloc(e->buf, cap * sizeof(*e->buf));
    e->cap = cap;
    f->bytes += entry_bytes(e);
}

/* Adds id to e's feed at its place (ids ascending), unless held, dropping the oldest past
 * capacity. An id older than everything a full feed holds is not its business. */
static void entry_insert(struct feed *f, struct entry *e, uint64_t id)
{
    uint64_t *ids = e->buf + e->start;
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < e->n && ids[lo] == id)
        return;
    if (lo == 0 && !e->complete && e->n > 0)
        return; /* below the feed's window: the store answers for it */
    entry_reserve_one(f, e);
    ids = e->buf + e->start;
    memmove(ids + lo + 1, ids + lo, (e->n - lo) * sizeof(*ids));
    ids[lo] = id;
    e->n++;
    if (e->n > f->capacity) {
        e->start++;
        e->n--;
        e->complete = false;
    }
}

static void entry_remove(struct entry *e, uint64_t id)
{
    uint64_t *ids = e->buf + e->start;
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < e->n && ids[lo] == id) {
        memmove(ids + lo, ids + lo + 1, (e->n - lo - 1) * sizeof(*ids));
        e->n--;
    }
}

static void entry_add_pending(struct feed *f, struct entry *e, const struct pending *p)
{
    if (e->dirty)
        return;
    if (e->npending == PENDING_MAX) {
        e->dirty = true;
        return;
    }
    if (e->npending == e->pending_cap) {
        f->bytes -= entry_bytes(e);
        e->pending_cap = e->pending_cap ? e->pending_cap * 2 : 8;
        e->pending = xrealloc(e->pending, e->pending_cap * sizeof(*e->pending));
        f->bytes += entry_bytes(e);
    }
    e->pending[e->npending++] = *p;
}

static int home_feed_mem_read(void *ctx, uint64_t account, const struct home_window *w,
                              uint64_t *out, size_t *n, bool *answered, struct err *err)
{
    struct feed *f = ctx;
    (void)err;
    pthread_mutex_lock(&f->mu);
    struct entry *e = lookup(f, account);
    if (e && !e->building) {
        *answered = home_feed_window(e->buf + e->start, e->n, e->complete, w, out, n);
        if (f->head != e) {
            list_unlink(f, e);
            list_push_front(f, e);
        }
    }
    if (*answered)
        f->stats.hits++;
    else
        f->stats.misses++;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static uint64_t home_feed_mem_build_begin(void *ctx, uint64_t account)
{
    struct feed *f = ctx;
    uint64_t ticket = 0;
    pthread_mutex_lock(&f->mu);
    if (!lookup(f, account)) {
        make_room(f);
        struct entry *e = xcalloc(1, sizeof(*e));
        e->account = account;
        e->building = true;
        e->ticket = ticket = ++f->next_ticket;
        size_t b = bucket_of(f, account);
        e->hnext = f->buckets[b];
        f->buckets[b] = e;
        list_push_front(f, e);
        f->naccounts++;
        f->bytes += entry_bytes(e);
    }
    pthread_mutex_unlock(&f->mu);
    return ticket;
}

/* The entry being built under ticket, or NULL. */
static struct entry *find_ticket(struct feed *f, uint64_t ticket)
{
    for (struct entry *e = f->head; e; e = e->next)
        if (e->building && e->ticket == ticket)
            return e;
    return NULL;
}

static void home_feed_mem_build_end(void *ctx, uint64_t ticket, const uint64_t *followees,
                                    size_t nfollowees, const uint64_t *ids, size_t n, bool complete)
{
    struct feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    struct entry *e = find_ticket(f, ticket);
    if (e && e->dirty) {
        entry_drop(f, e);
        f->stats.dropped_builds++;
    } else if (e) {
        if (n > f->capacity) {
            ids += n - f->capacity;
            n = f->capacity;
            complete = false;
        }
        f->bytes -= entry_bytes(e);
        e->cap = n + n / 4 + 8;
        e->buf = xmalloc(e->cap * sizeof(*e->buf));
        if (n)
            memcpy(e->buf, ids, n * sizeof(*ids));
        e->start = 0;
        e->n = n;
        e->complete = complete;
        e->nfollowees = nfollowees;
        e->followees = nfollowees ? xmalloc(nfollowees * sizeof(*followees)) : NULL;
        if (nfollowees)
            memcpy(e->followees, followees, nfollowees * sizeof(*followees));
        f->bytes += entry_bytes(e);
        /* Writes reported during the build, in order; the ones the stores had already are
         * idempotent. */
        for (size_t i = 0; i < e->npending; i++) {
            const struct pending *p = &e->pending[i];
            struct home_post post = {p->id, p->author, p->visibility, p->mentioned ? 1 : 0,
                                     &e->account};
            if (p->deleted)
                entry_remove(e, p->id);
            else if (home_feed_sees(e->account, e->followees, e->nfollowees, &post))
                entry_insert(f, e, p->id);
        }
        f->bytes -= entry_bytes(e);
        free(e->pending);
        e->pending = NULL;
        e->npending = e->pending_cap = 0;
        e->building = false;
        f->bytes += entry_bytes(e);
        f->stats.builds++;
    }
    pthread_mutex_unlock(&f->mu);
}

static void home_feed_mem_build_abort(void *ctx, uint64_t ticket)
{
    struct feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    struct entry *e = find_ticket(f, ticket);
    if (e)
        entry_drop(f, e);
    pthread_mutex_unlock(&f->mu);
}

static size_t home_feed_mem_capacity(void *ctx)
{
    struct feed *f = ctx;
    return f->capacity;
}

static void home_feed_mem_created(void *ctx, const struct home_post *p)
{
    struct feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    for (struct entry *e = f->head; e; e = e->next) {
        if (e->building) {
            struct pending pd = {p->id, p->account_id, p->visibility, false, false};
            for (size_t i = 0; i < p->nmentions; i++)
                pd.mentioned |= p->mentions[i] == e->account;
            entry_add_pending(f, e, &pd);
        } else if (home_feed_sees(e->account, e->followees, e->nfollowees, p)) {
            entry_insert(f, e, p->id);
        }
    }
    pthread_mutex_unlock(&f->mu);
}

static void home_feed_mem_deleted(void *ctx, uint64_t status_id)
{
    struct feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    for (struct entry *e = f->head; e; e = e->next) {
        if (e->building) {
            struct pending pd = {status_id, 0, VISIBILITY_PUBLIC, true, false};
            entry_add_pending(f, e, &pd);
        } else {
            entry_remove(e, status_id);
        }
    }
    pthread_mutex_unlock(&f->mu);
}

static void home_feed_mem_invalidate(void *ctx, uint64_t account)
{
    struct feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    struct entry *e = lookup(f, account);
    if (e && e->building)
        e->dirty = true; /* its build read follows that may be gone */
    else if (e)
        entry_drop(f, e);
    pthread_mutex_unlock(&f->mu);
}

static void home_feed_mem_stats(void *ctx, struct home_feed_stats *out)
{
    struct feed *f = ctx;
    pthread_mutex_lock(&f->mu);
    *out = f->stats;
    out->accounts = f->naccounts;
    out->bytes = f->bytes + f->nbuckets * sizeof(*f->buckets) + sizeof(*f);
    pthread_mutex_unlock(&f->mu);
}

static void home_feed_mem_close(void *ctx)
{
    struct feed *f = ctx;
    while (f->head)
        entry_drop(f, f->head);
    free(f->buckets);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const struct home_feed_ops home_feed_mem_ops = {
    .read = home_feed_mem_read,
    .build_begin = home_feed_mem_build_begin,
    .build_end = home_feed_mem_build_end,
    .build_abort = home_feed_mem_build_abort,
    .capacity = home_feed_mem_capacity,
    .created = home_feed_mem_created,
    .deleted = home_feed_mem_deleted,
    .invalidate = home_feed_mem_invalidate,
    .stats = home_feed_mem_stats,
    .close = home_feed_mem_close,
};

struct home_feed home_feed_mem_new(size_t capacity, size_t max_accounts)
{
    ASSERT(capacity >= 1 && max_accounts >= 1);
    struct feed *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->capacity = capacity;
    f->max_accounts = max_accounts;
    f->nbuckets = 16;
    while (f->nbuckets < max_accounts * 2)
        f->nbuckets *= 2;
    f->buckets = xcalloc(f->nbuckets, sizeof(*f->buckets));
    return (struct home_feed){&home_feed_mem_ops, f};
}
