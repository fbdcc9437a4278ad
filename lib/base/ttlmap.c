/* ttlmap.c - a ring of entries scanned linearly: capacities are small (a thousand). */
#include "lib/base/ttlmap.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <string.h>

struct entry {
    char key[TTLMAP_KEY_MAX];
    uint64_t value;
    char *str; /* owned; NULL for numeric entries */
    int64_t at_ms;
};

struct ttlmap {
    pthread_mutex_t lock;
    struct entry *items;
    size_t cap, next;
    int64_t ttl_ms;
};

struct ttlmap *ttlmap_new(size_t capacity, int64_t ttl_ms)
{
    struct ttlmap *m = xcalloc(1, sizeof(*m));
    ASSERT(capacity > 0);
    pthread_mutex_init(&m->lock, NULL);
    m->items = xcalloc(capacity, sizeof(*m->items));
    m->cap = capacity;
    m->ttl_ms = ttl_ms;
    return m;
}

void ttlmap_free(struct ttlmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->items[i].str);
    pthread_mutex_destroy(&m->lock);
    free(m->items);
    free(m);
}

static struct entry *find(struct ttlmap *m, const char *key)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->items[i].key[0] && strcmp(m->items[i].key, key) == 0)
            return &m->items[i];
    return NULL;
}

static void put(struct ttlmap *m, const char *key, uint64_t value, const char *str, int64_t now_ms)
{
    char k[TTLMAP_KEY_MAX];
    size_t n = strnlen(key, sizeof(k) - 1);
    memcpy(k, key, n);
    k[n] = '\0';
    char *copy = str ? xstrdup(str) : NULL;
    pthread_mutex_lock(&m->lock);
    struct entry *e = find(m, k);
    if (!e) {
        e = &m->items[m->next];
        m->next = (m->next + 1) % m->cap;
    }
    free(e->str);
    memcpy(e->key, k, n + 1);
    e->value = value;
    e->str = copy;
    e->at_ms = now_ms;
    pthread_mutex_unlock(&m->lock);
}

void ttlmap_put(struct ttlmap *m, const char *key, uint64_t value, int64_t now_ms)
{
    put(m, key, value, NULL, now_ms);
}

void ttlmap_put_str(struct ttlmap *m, const char *key, const char *value, int64_t now_ms)
{
    put(m, key, 0, value, now_ms);
}

char *ttlmap_take_str(struct ttlmap *m, const char *key, int64_t now_ms)
{
    char *out = NULL;
    pthread_mutex_lock(&m->lock);
    struct entry *e = strnlen(key, TTLMAP_KEY_MAX) < TTLMAP_KEY_MAX ? find(m, key) : NULL;
    if (e) {
        if (now_ms - e->at_ms < m->ttl_ms)
            out = e->str;
        else
            free(e->str);
        e->str = NULL;
        e->key[0] = '\0';
    }
    pthread_mutex_unlock(&m->lock);
    return out;
}

bool ttlmap_get(struct ttlmap *m, const char *key, int64_t now_ms, uint64_t *value)
{
    char k[TTLMAP_KEY_MAX];
    size_t n = strnlen(key, sizeof(k) - 1);
    memcpy(k, key, n);
    k[n] = '\0';
    pthread_mutex_lock(&m->lock);
    struct entry *e = find(m, k);
    bool ok = e && now_ms - e->at_ms < m->ttl_ms;
    if (ok)
        *value = e->value;
    pthread_mutex_unlock(&m->lock);
    return ok;
}
