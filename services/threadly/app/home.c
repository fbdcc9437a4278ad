/* home.c - see home.h. A feed is built on the first read that misses it: the followed
 * accounts and the newest capacity() ids of the home query, read after build_begin so that
 * the cache applies every write reported meanwhile on top (ports/home_feed.h). */
#include "services/threadly/app/home.h"

#include "services/threadly/app/entities.h"

#include <stdlib.h>
#include <string.h>

/* Followed accounts a feed can match new statuses against; an account following more is
 * served by the store's home query every time. */
#define HOME_FOLLOWEES_MAX 20000
#define HOME_BUILD_PAGE 80 /* ids per home query of a build */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* The accounts viewer follows (accepted), ascending, into the arena. */
static int home_followees(struct core *c, uint64_t viewer, struct arena *a, uint64_t **out,
                          size_t *n, struct err *err)
{
    size_t cap = 64;
    uint64_t *ids = arena_alloc(a, cap * sizeof(*ids));
    struct page page = {.limit = 80};
    *n = 0;
    for (;;) {
        struct edge_list l;
        int rc = social_store_edges(&c->social, EDGES_FOLLOWING, viewer, &page, a, &l, err);
        if (rc)
            return rc;
        if (*n + l.n > HOME_FOLLOWEES_MAX)
            return err_set(err, ERR_INVALID, "account %llu follows too many to cache",
                           (unsigned long long)viewer);
        if (*n + l.n > cap) {
            while (cap < *n + l.n)
                cap *= 2;
            uint64_t *more = arena_alloc(a, cap * sizeof(*more));
            memcpy(more, ids, *n * sizeof(*ids));
            ids = more;
        }
        for (size_t i = 0; i < l.n; i++)
            ids[(*n)++] = l.items[i].account_id;
        if (l.n < (size_t)page.limit)
            break;
        page.max_id = l.items[l.n - 1].id;
    }
    qsort(ids, *n, sizeof(*ids), cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (k == 0 || ids[k - 1] != ids[i])
            ids[k++] = ids[i];
    *n = k;
    *out = ids;
    return 0;
}

/* Builds viewer's feed unless it is held or being built. Failures leave it unbuilt. */
static void home_build(struct core *c, uint64_t viewer)
{
    uint64_t ticket = home_feed_build_begin(&c->home, viewer);
    if (!ticket)
        return;
    struct arena a;
    struct err err = {0};
    arena_init(&a, 0);
    size_t want = home_feed_capacity(&c->home), n = 0, nfollowees = 0;
    uint64_t *ids = arena_alloc(&a, want * sizeof(*ids)), *followees = NULL;
    bool complete = false;
    int rc = home_followees(c, viewer, &a, &followees, &nfollowees, &err);
    struct timeline_query q = {.kind = TIMELINE_HOME, .viewer_id = viewer};
    while (rc == 0 && n < want && !complete) {
        struct status_list l;
        q.page.limit = (int)(want - n < HOME_BUILD_PAGE ? want - n : HOME_BUILD_PAGE);
        rc = status_store_timeline(&c->statuses, &q, &a, &l, &err);
        for (size_t i = 0; rc == 0 && i < l.n; i++)
            ids[n++] = l.items[i].id;
        complete = rc == 0 && l.n < (size_t)q.page.limit;
        if (rc == 0 && l.n)
            q.page.max_id = l.items[l.n - 1].id;
    }
    if (rc == 0) {
        for (size_t i = 0; i < n / 2; i++) { /* newest first -> ascending */
            uint64_t t = ids[i];
            ids[i] = ids[n - 1 - i];
            ids[n - 1 - i] = t;
        }
        home_feed_build_end(&c->home, ticket, followees, nfollowees, ids, n, complete);
    } else {
        home_feed_build_abort(&c->home, ticket);
    }
    arena_release(&a);
}

/* Reads the statuses of ids (newest first) in one batch; those deleted since are left out. */
static int home_statuses(struct core *c, const uint64_t *ids, size_t n, struct arena *a,
                         struct status_list *out, struct err *err)
{
    struct status **got = arena_alloc(a, (n ? n : 1) * sizeof(*got));
    int rc = entities_statuses(c, ids, n, a, got, err);
    if (rc)
        return rc;
    out->items = arena_alloc(a, (n ? n : 1) * sizeof(*out->items));
    out->n = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i])
            out->items[out->n++] = *got[i];
    return 0;
}

int home_timeline(struct core *c, const struct timeline_query *q, struct arena *a,
                  struct status_list *out, struct err *err)
{
    ASSERT(q->kind == TIMELINE_HOME);
    ASSERT(q->page.limit >= 1 && q->page.limit <= STATUS_STORE_BATCH_MAX);
    if (!c->home.ops || !q->viewer_id)
        return status_store_timeline(&c->statuses, q, a, out, err);
    const struct page *p = &q->page;
    struct home_window w = {
        .hi = p->max_id ? p->max_id - 1 : (uint64_t)INT64_MAX,
        .lo = p->since_id > p->min_id ? p->since_id : p->min_id,
        .limit = (size_t)p->limit,
        .oldest = p->min_id != 0,
    };
    uint64_t *ids = arena_alloc(a, w.limit * sizeof(*ids));
    size_t n;
    bool answered;
    struct err ignored = {0};
    int rc = home_feed_read(&c->home, q->viewer_id, &w, ids, &n, &answered, &ignored);
    if (rc == 0 && !answered) {
        home_build(c, q->viewer_id);
        rc = home_feed_read(&c->home, q->viewer_id, &w, ids, &n, &answered, &ignored);
    }
    if (rc == 0 && answered)
        return home_statuses(c, ids, n, a, out, err);
    return status_store_timeline(&c->statuses, q, a, out, err);
}

void home_status_created(struct core *c, const struct home_post *p)
{
    if (c->home.ops)
        home_feed_created(&c->home, p);
}

void home_status_deleted(struct core *c, uint64_t status_id)
{
    if (c->home.ops)
        home_feed_deleted(&c->home, status_id);
}

void home_follows_changed(struct core *c, uint64_t follower)
{
    if (c->home.ops)
        home_feed_invalidate(&c->home, follower);
}
