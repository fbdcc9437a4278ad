/* home_feed.c - see home_feed.h. */
#include "services/threadly/domain/home_feed.h"

bool home_feed_follows(const uint64_t *followees, size_t nfollowees, uint64_t id)
{
    size_t lo = 0, hi = nfollowees;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (followees[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nfollowees && followees[lo] == id;
}

bool home_feed_sees(uint64_t viewer, const uint64_t *followees, size_t nfollowees,
                    const struct home_post *p)
{
    if (viewer == 0)
        return false;
    if (p->account_id == viewer)
        return true;
    if (p->visibility != VISIBILITY_DIRECT &&
        home_feed_follows(followees, nfollowees, p->account_id))
        return true;
    if (p->visibility == VISIBILITY_PRIVATE || p->visibility == VISIBILITY_DIRECT)
        for (size_t i = 0; i < p->nmentions; i++)
            if (p->mentions[i] == viewer)
                return true;
    return false;
}

/* The number of ids <= x in ids[0..n) ascending. */
static size_t count_upto(const uint64_t *ids, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool home_feed_window(const uint64_t *ids, size_t n, bool complete, const struct home_window *w,
                      uint64_t *out, size_t *nout)
{
    *nout = 0;
    if (w->hi <= w->lo || w->limit == 0)
        return true; /* an empty range: the store finds nothing either */
    /* ids[first..end) are the ids of the feed in (lo, hi]. */
    size_t end = count_upto(ids, n, w->hi), first = count_upto(ids, n, w->lo);
    /* The range reaches below what the feed holds if lo is under its oldest id. */
    bool below = !complete && (n == 0 || w->lo + 1 < ids[0]);
    size_t take = end - first < w->limit ? end - first : w->limit;
    if (below && (w->oldest || take < w->limit))
        return false;
    size_t from = w->oldest ? first + take : end;
    for (size_t i = 0; i < take; i++)
        out[i] = ids[from - 1 - i];
    *nout = take;
    return true;
}
