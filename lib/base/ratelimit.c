/* ratelimit.c - fixed-window counters in an open-addressing table. */
#include "lib/base/ratelimit.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <string.h>

#define KEY_MAX 64

struct slot {
    char key[KEY_MAX]; /* "" = empty */
    int64_t window_start;
    int count;
};

struct ratelimit {
    pthread_mutex_t lock;
    int limit;
    int64_t window_ms;
    size_t cap; /* power of two, twice max_keys */
    size_t used;
    struct slot *slots;
};

struct ratelimit *ratelimit_new(int limit, int64_t window_ms, size_t max_keys)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));
    ASSERT(limit > 0 && window_ms > 0 && max_keys > 0);
    pthread_mutex_init(&rl->lock, NULL);
    rl->limit = limit;
    rl->window_ms = window_ms;
    rl->cap = 16;
    while (rl->cap < max_keys * 2)
        rl->cap *= 2;
    rl->slots = xcalloc(rl->cap, sizeof(*rl->slots));
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->slots);
    free(rl);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int newer_first(const void *a, const void *b)
{
    int64_t x = ((const struct slot *)a)->window_start, y = ((const struct slot *)b)->window_start;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Drops every window that has ended and, if more than a quarter of the table is still live,
 * the oldest windows beyond that (those keys start afresh). Rebuilds the probe chains.
 * Runs once per cap/4 new keys, so its sort costs O(log n) per key on average. */
static void sweep(struct ratelimit *rl, int64_t now_ms)
{
    struct slot *old = rl->slots;
    size_t live = 0;
    for (size_t i = 0; i < rl->cap; i++)
        if (old[i].key[0] && now_ms - old[i].window_start < rl->window_ms)
            old[live++] = old[i];
    qsort(old, live, sizeof(*old), newer_first);
    if (live > rl->cap / 4)
        live = rl->cap / 4;
    rl->slots = xcalloc(rl->cap, sizeof(*rl->slots));
    for (size_t i = 0; i < live; i++) {
        size_t j = hash(old[i].key) & (rl->cap - 1);
        while (rl->slots[j].key[0])
            j = (j + 1) & (rl->cap - 1);
        rl->slots[j] = old[i];
    }
    free(old);
    rl->used = live;
}

bool ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now_ms,
                   struct ratelimit_state *state)
{
    char k[KEY_MAX];
    size_t n = strnlen(key, KEY_MAX - 1);
    memcpy(k, key, n);
    k[n] = '\0';
    pthread_mutex_lock(&rl->lock);
    if (rl->used >= rl->cap / 2)
        sweep(rl, now_ms);
    size_t i = hash(k) & (rl->cap - 1);
    while (rl->slots[i].key[0] && strcmp(rl->slots[i].key, k) != 0)
        i = (i + 1) & (rl->cap - 1);
    struct slot *s = &rl->slots[i];
    if (!s->key[0]) {
        memcpy(s->key, k, n + 1);
        s->window_start = now_ms;
        s->count = 0;
        rl->used++;
    } else if (now_ms - s->window_start >= rl->window_ms) {
        s->window_start = now_ms;
        s->count = 0;
    }
    bool ok = s->count < rl->limit;
    if (ok)
        s->count++;
    state->limit = rl->limit;
    state->remaining = rl->limit - s->count;
    state->reset_ms = s->window_start + rl->window_ms;
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
