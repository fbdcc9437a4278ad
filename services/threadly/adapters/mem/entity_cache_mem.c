/* entity_cache_mem.c - see entity_cache_mem.h. Three maps (statuses, accounts, favouriters), each
 * cut into STRIPES stripes by a hash of the id, each stripe with its own mutex, hash chains,
 * recency list and share of the memory budget, so that the HTTP workers rarely wait for each other.
 * An entry is one malloc'd block: the struct followed by everything it points to, so a get
 * is one memcpy into the request's arena plus moving the pointers by the distance travelled.
 *
 * Tickets: one counter for the whole cache, bumped by every invalidation; each stripe keeps
 * the counter value of its last invalidation, and refuses a put whose ticket is older (the
 * value may have been read before the change committed). Refusing per stripe instead of per
 * id refuses a little more than needed, never less. */
#include "services/threadly/adapters/mem/entity_cache_mem.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64
#define ENTRY_OVERHEAD 64 /* the entry header and malloc's own, about */

struct entry {
    uint64_t id;
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* recency list, most recently read first */
    size_t size;               /* of the block after this header */
    max_align_t block[];       /* struct status or struct account, then what it points to */
};

struct stripe {
    pthread_mutex_t mu;
    struct entry **buckets;
    size_t nbuckets, count, bytes;
    struct entry *head, *tail;
    uint64_t invalidated; /* the ticket counter at this stripe's last invalidation */
};

struct map {
    struct stripe stripes[STRIPES];
    size_t budget; /* bytes per stripe */
};

struct cache {
    struct map statuses, accounts, favouriters;
    _Atomic uint64_t counter;
    _Atomic uint64_t hits, misses, invalidations, evictions, stale_puts;
};

static const struct entity_cache_ops entity_cache_mem_ops;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static struct stripe *stripe_of(struct map *m, uint64_t id, size_t *bucket)
{
    uint64_t h = mix(id);
    struct stripe *s = &m->stripes[h % STRIPES];
    *bucket = (size_t)(h >> 32) & (s->nbuckets - 1);
    return s;
}

static void map_init(struct map *m, size_t bytes)
{
    m->budget = bytes / STRIPES;
    size_t nbuckets = 16;
    while (nbuckets * 512 < m->budget)
        nbuckets *= 2;
    for (size_t i = 0; i < STRIPES; i++) {
        struct stripe *s = &m->stripes[i];
        pthread_mutex_init(&s->mu, NULL);
        s->nbuckets = nbuckets;
        s->buckets = xcalloc(nbuckets, sizeof(*s->buckets));
    }
}

static void unlink_lru(struct stripe *s, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(struct stripe *s, struct entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (!s->tail)
        s->tail = e;
}

static struct entry *lookup(struct stripe *s, size_t bucket, uint64_t id)
{
    for (struct entry *e = s->buckets[bucket]; e; e = e->hnext)
        if (e->id == id)
            return e;
    return NULL;
}

/* Unlinks and frees the entry of id in its bucket, if held. */
static bool drop(struct stripe *s, size_t bucket, uint64_t id)
{
    for (struct entry **p = &s->buckets[bucket]; *p; p = &(*p)->hnext) {
        struct entry *e = *p;
        if (e->id != id)
            continue;
        *p = e->hnext;
        unlink_lru(s, e);
        s->count--;
        s->bytes -= e->size + ENTRY_OVERHEAD;
        free(e);
        return true;
    }
    return false;
}

static void map_free(struct map *m)
{
    for (size_t i = 0; i < STRIPES; i++) {
        struct stripe *s = &m->stripes[i];
        for (struct entry *e = s->head, *next; e; e = next) {
            next = e->next;
            free(e);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
}

/* ---- packing: a struct and what it points to in one block ---- */

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 1;
}

/* Copies s (NULL: "") to *cursor and advances it. */
static char *put_str(char **cursor, const char *s)
{
    size_t n = str_size(s);
    char *out = *cursor;
    if (s)
        memcpy(out, s, n);
    else
        *out = '\0';
    *cursor += n;
    return out;
}

static size_t status_block_size(const struct status *s)
{
    size_t n = ALIGN8(sizeof(*s)) + s->nmentions * sizeof(uint64_t) + s->ntags * sizeof(char *);
    n += str_size(s->text) + str_size(s->content) + str_size(s->spoiler_text) +
         str_size(s->language);
    for (size_t i = 0; i < s->ntags; i++)
        n += str_size(s->tags[i]);
    return n;
}

static void status_pack(const struct status *s, void *block)
{
    struct status *d = block;
    *d = *s;
    d->author = NULL;
    char *p = (char *)block + ALIGN8(sizeof(*s));
    uint64_t *mentions = (uint64_t *)p;
    if (s->nmentions)
        memcpy(mentions, s->mentions, s->nmentions * sizeof(uint64_t));
    d->mentions = s->nmentions ? mentions : NULL;
    p += s->nmentions * sizeof(uint64_t);
    const char **tags = (const char **)p;
    p += s->ntags * sizeof(char *);
    d->text = put_str(&p, s->text);
    d->content = put_str(&p, s->content);
    d->spoiler_text = put_str(&p, s->spoiler_text);
    d->language = put_str(&p, s->language);
    for (size_t i = 0; i < s->ntags; i++)
        tags[i] = put_str(&p, s->tags[i]);
    d->tags = s->ntags ? tags : NULL;
}

static const char *moved(const void *p, ptrdiff_t by)
{
    return p ? (const char *)p + by : NULL;
}

static void relocate_status(void *block, ptrdiff_t by)
{
    struct status *d = block;
    d->text = moved(d->text, by);
    d->content = moved(d->content, by);
    d->spoiler_text = moved(d->spoiler_text, by);
    d->language = moved(d->language, by);
    d->mentions = (const uint64_t *)moved(d->mentions, by);
    d->tags = (const char *const *)moved(d->tags, by);
    for (size_t i = 0; i < d->ntags; i++)
        ((const char **)d->tags)[i] = moved(d->tags[i], by);
}

static size_t account_block_size(const struct account *a)
{
    return ALIGN8(sizeof(*a)) + str_size(a->username) + str_size(a->display_name) +
           str_size(a->note) + 1;
}

static void account_pack(const struct account *a, void *block)
{
    struct account *d = block;
    *d = *a;
    char *p = (char *)block + ALIGN8(sizeof(*a));
    d->username = put_str(&p, a->username);
    d->display_name = put_str(&p, a->display_name);
    d->note = put_str(&p, a->note);
    /* Kept for rendering only: no email, and a hash that verifies no password. */
    d->email = put_str(&p, NULL);
    d->password_hash = d->email;
}

static void relocate_account(void *block, ptrdiff_t by)
{
    struct account *d = block;
    d->username = moved(d->username, by);
    d->display_name = moved(d->display_name, by);
    d->note = moved(d->note, by);
    d->email = moved(d->email, by);
    d->password_hash = moved(d->password_hash, by);
}

/* The favouriters of a status: their number, then their ids. */
struct favouriters {
    size_t n;
    uint64_t ids[];
};

/* ---- the maps ---- */

/* Moves the pointers of a block copied by `by` bytes to point into the copy. */
typedef void (*relocate_fn)(void *block, ptrdiff_t by);

static void relocate_nothing(void *block, ptrdiff_t by)
{
    (void)block;
    (void)by;
}

static size_t map_get(struct cache *c, struct map *m, const uint64_t *ids, size_t n,
                      struct arena *a, void **out, relocate_fn relocate)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bucket;
        struct stripe *s = stripe_of(m, ids[i], &bucket);
        out[i] = NULL;
        pthread_mutex_lock(&s->mu);
        struct entry *e = lookup(s, bucket, ids[i]);
        if (e) {
            void *copy = arena_alloc(a, e->size);
            memcpy(copy, e->block, e->size);
            relocate(copy, (char *)copy - (char *)e->block);
            out[i] = copy;
            if (s->head != e) {
                unlink_lru(s, e);
                push_front(s, e);
            }
            found++;
        }
        pthread_mutex_unlock(&s->mu);
    }
    atomic_fetch_add_explicit(&c->hits, found, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->misses, n - found, memory_order_relaxed);
    return found;
}

/* Inserts the packed e (already filled) unless its stripe was invalidated after ticket. */
static void map_put(struct cache *c, struct map *m, uint64_t ticket, struct entry *e)
{
    size_t bucket;
    struct stripe *s = stripe_of(m, e->id, &bucket);
    size_t bytes = e->size + ENTRY_OVERHEAD;
    pthread_mutex_lock(&s->mu);
    if (s->invalidated > ticket || bytes > m->budget) {
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add_explicit(&c->stale_puts, s->invalidated > ticket, memory_order_relaxed);
        free(e);
        return;
    }
    drop(s, bucket, e->id);
    size_t evicted = 0;
    while (s->bytes + bytes > m->budget && s->tail) {
        size_t b;
        struct entry *old = s->tail;
        stripe_of(m, old->id, &b);
        drop(s, b, old->id);
        evicted++;
    }
    e->hnext = s->buckets[bucket];
    s->buckets[bucket] = e;
    push_front(s, e);
    s->count++;
    s->bytes += bytes;
    pthread_mutex_unlock(&s->mu);
    if (evicted)
        atomic_fetch_add_explicit(&c->evictions, evicted, memory_order_relaxed);
}

static void map_invalidate(struct cache *c, struct map *m, uint64_t id)
{
    size_t bucket;
    struct stripe *s = stripe_of(m, id, &bucket);
    pthread_mutex_lock(&s->mu);
    drop(s, bucket, id);
    s->invalidated = atomic_fetch_add(&c->counter, 1) + 1;
    pthread_mutex_unlock(&s->mu);
}

static struct entry *entry_new(uint64_t id, size_t size)
{
    struct entry *e = xmalloc(sizeof(*e) + size);
    memset(e, 0, sizeof(*e));
    e->id = id;
    e->size = size;
    return e;
}

/* ---- the port ---- */

static uint64_t mem_ticket(void *ctx)
{
    struct cache *c = ctx;
    return atomic_load(&c->counter);
}

static size_t mem_get_statuses(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                               struct status **out)
{
    struct cache *c = ctx;
    return map_get(c, &c->statuses, ids, n, a, (void **)out, relocate_status);
}

static void mem_put_statuses(void *ctx, uint64_t ticket, struct status *const *s, size_t n)
{
    struct cache *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (!s[i])
            continue;
        struct entry *e = entry_new(s[i]->id, status_block_size(s[i]));
        status_pack(s[i], e->block);
        map_put(c, &c->statuses, ticket, e);
    }
}

static size_t mem_get_accounts(void *ctx, const uint64_t *ids, size_t n, struct arena *a,
                               struct account **out)
{
    struct cache *c = ctx;
    return map_get(c, &c->accounts, ids, n, a, (void **)out, relocate_account);
}

static void mem_put_accounts(void *ctx, uint64_t ticket, struct account *const *accts, size_t n)
{
    struct cache *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (!accts[i])
            continue;
        struct entry *e = entry_new(accts[i]->id, account_block_size(accts[i]));
        account_pack(accts[i], e->block);
        map_put(c, &c->accounts, ticket, e);
    }
}

static bool mem_get_favouriters(void *ctx, uint64_t status_id, struct arena *a, uint64_t **ids,
                                size_t *n)
{
    struct cache *c = ctx;
    struct favouriters *f;
    if (!map_get(c, &c->favouriters, &status_id, 1, a, (void **)&f, relocate_nothing))
        return false;
    *ids = f->ids;
    *n = f->n;
    return true;
}

static void mem_put_favouriters(void *ctx, uint64_t ticket, uint64_t status_id, const uint64_t *ids,
                                size_t n)
{
    struct cache *c = ctx;
    struct entry *e = entry_new(status_id, sizeof(struct favouriters) + n * sizeof(uint64_t));
    struct favouriters *f = (struct favouriters *)e->block;
    f->n = n;
    if (n)
        memcpy(f->ids, ids, n * sizeof(uint64_t));
    map_put(c, &c->favouriters, ticket, e);
}

static void mem_invalidate_status(void *ctx, uint64_t id)
{
    struct cache *c = ctx;
    map_invalidate(c, &c->statuses, id);
    map_invalidate(c, &c->favouriters, id);
    atomic_fetch_add_explicit(&c->invalidations, 1, memory_order_relaxed);
}

static void mem_invalidate_account(void *ctx, uint64_t id)
{
    struct cache *c = ctx;
    map_invalidate(c, &c->accounts, id);
    atomic_fetch_add_explicit(&c->invalidations, 1, memory_order_relaxed);
}

static void map_stats(struct map *m, size_t *count, size_t *bytes)
{
    for (size_t i = 0; i < STRIPES; i++) {
        struct stripe *s = &m->stripes[i];
        pthread_mutex_lock(&s->mu);
        *count += s->count;
        *bytes += s->bytes + s->nbuckets * sizeof(*s->buckets);
        pthread_mutex_unlock(&s->mu);
    }
}

static void mem_stats(void *ctx, struct entity_cache_stats *out)
{
    struct cache *c = ctx;
    memset(out, 0, sizeof(*out));
    map_stats(&c->statuses, &out->statuses, &out->bytes);
    map_stats(&c->accounts, &out->accounts, &out->bytes);
    map_stats(&c->favouriters, &out->favouriters, &out->bytes);
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->invalidations = atomic_load(&c->invalidations);
    out->evictions = atomic_load(&c->evictions);
    out->stale_puts = atomic_load(&c->stale_puts);
}

static void mem_close(void *ctx)
{
    struct cache *c = ctx;
    map_free(&c->statuses);
    map_free(&c->accounts);
    map_free(&c->favouriters);
    free(c);
}

static const struct entity_cache_ops entity_cache_mem_ops = {
    .ticket = mem_ticket,
    .get_statuses = mem_get_statuses,
    .put_statuses = mem_put_statuses,
    .get_accounts = mem_get_accounts,
    .put_accounts = mem_put_accounts,
    .get_favouriters = mem_get_favouriters,
    .put_favouriters = mem_put_favouriters,
    .invalidate_status = mem_invalidate_status,
    .invalidate_account = mem_invalidate_account,
    .stats = mem_stats,
    .close = mem_close,
};

struct entity_cache entity_cache_mem_new(size_t max_bytes)
{
    ASSERT(max_bytes >= 64 * 1024);
    struct cache *c = xcalloc(1, sizeof(*c));
    /* Statuses are most of what is read; accounts are few and small, favouriter lists
     * smaller still. */
    map_init(&c->statuses, max_bytes / 8 * 5);
    map_init(&c->accounts, max_bytes / 4);
    map_init(&c->favouriters, max_bytes / 8);
    return (struct entity_cache){&entity_cache_mem_ops, c};
}
