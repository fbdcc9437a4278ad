/* db_mem.c - the mem_db shared by the mem account, status and social stores: lifecycle,
 * lookups and pagination. The stores' logic is in their own files. */
#include "services/threadly/adapters/mem/db_mem.h"

#include "lib/base/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct mem_db *mem_db_new(void)
{
    struct mem_db *db = xcalloc(1, sizeof(*db));
    pthread_mutex_init(&db->mu, NULL);
    return db;
}

void mem_db_status_free(struct status *s)
{
    free((char *)s->text);
    free((char *)s->content);
    free((char *)s->spoiler_text);
    free((char *)s->language);
    free((uint64_t *)s->mentions);
    for (size_t i = 0; i < s->ntags; i++)
        free((char *)s->tags[i]);
    free((char **)s->tags);
}

void mem_db_free(struct mem_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->naccounts; i++) {
        struct account *o = &db->accounts[i];
        free((char *)o->username);
        free((char *)o->email);
        free((char *)o->display_name);
        free((char *)o->note);
        free((char *)o->password_hash);
    }
    for (size_t i = 0; i < db->nstatuses; i++)
        mem_db_status_free(&db->statuses[i]);
    free(db->accounts);
    free(db->statuses);
    free(db->follows);
    free(db->favourites);
    free(db->revoked);
    for (size_t i = 0; i < db->noutbox; i++) {
        free((char *)db->outbox[i].event.type);
        free((char *)db->outbox[i].event.key);
        free((char *)db->outbox[i].event.data);
    }
    free(db->outbox);
    for (size_t i = 0; i < db->nemail_tokens; i++)
        free(db->email_tokens[i].hash);
    free(db->email_tokens);
    free(db->confirmations);
    free(db->cutoffs);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

struct account *mem_db_account(struct mem_db *db, uint64_t id)
{
    for (size_t i = 0; i < db->naccounts; i++)
        if (db->accounts[i].id == id)
            return &db->accounts[i];
    return NULL;
}

struct status *mem_db_status(struct mem_db *db, uint64_t id)
{
    for (size_t i = 0; i < db->nstatuses; i++)
        if (db->statuses[i].id == id)
            return &db->statuses[i];
    return NULL;
}

void mem_db_status_copy(const struct status *src, struct arena *a, struct status *dst)
{
    *dst = *src;
    dst->text = arena_strdup(a, src->text);
    dst->content = arena_strdup(a, src->content);
    dst->spoiler_text = arena_strdup(a, src->spoiler_text);
    dst->language = arena_strdup(a, src->language);
    uint64_t *mentions = NULL;
    if (src->nmentions) {
        mentions = arena_alloc(a, src->nmentions * sizeof(*mentions));
        memcpy(mentions, src->mentions, src->nmentions * sizeof(*mentions));
    }
    dst->mentions = mentions;
    const char **tags = NULL;
    if (src->ntags) {
        tags = arena_alloc(a, src->ntags * sizeof(*tags));
        for (size_t i = 0; i < src->ntags; i++)
            tags[i] = arena_strdup(a, src->tags[i]);
    }
    dst->tags = tags;
}

static int mem_row_newest_first(const void *x, const void *y)
{
    uint64_t a = ((const struct mem_row *)x)->id, b = ((const struct mem_row *)y)->id;
    return a < b ? 1 : a > b ? -1 : 0;
}

size_t mem_db_page(struct mem_row *rows, size_t n, const struct page *page)
{
    ASSERT(page->limit >= 1 && page->limit <= 80);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = rows[i].id;
        if ((page->max_id && id >= page->max_id) || id <= page->since_id || id <= page->min_id)
            continue;
        rows[k++] = rows[i];
    }
    if (k)
        qsort(rows, k, sizeof(*rows), mem_row_newest_first);
    size_t limit = (size_t)page->limit;
    if (k <= limit)
        return k;
    /* min_id wants the page right after it: the oldest `limit` rows, still newest first. */
    if (page->min_id)
        memmove(rows, rows + (k - limit), limit * sizeof(*rows));
    return limit;
}

void mem_db_outbox_write(struct mem_db *db, const struct outbox_emit *emit,
                         const struct outbox_change *ch)
{
    struct event ev[OUTBOX_EVENTS_MAX];
    size_t n = outbox_emit_build(emit, ch, ev);
    for (size_t i = 0; i < n; i++) {
        MEM_DB_RESERVE(db->outbox, db->noutbox, db->outbox_cap);
        struct outbox_row *r = &db->outbox[db->noutbox];
        r->seq = db->outbox_pruned + ++db->noutbox;
        r->event = ev[i];
        r->event.producer = NULL;
        r->event.type = xstrdup(ev[i].type);
        r->event.key = xstrdup(ev[i].key);
        r->event.data = xstrdup(ev[i].data);
        r->sent_at_ms = 0;
    }
}
