/* notification_store_mem.c - notification_store in memory: plain arrays under one mutex.
 * Lists are scanned; it is for tests, not for load. */
#include "services/notification/adapters/mem/notification_store_mem.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mem_notification {
    struct notification n; /* strings owned */
    bool deleted;
};

struct mem_marker {
    uint64_t account_id;
    struct marker m;
};

struct mem_kv {
    uint64_t id;
    char *text;
};

struct mem_pair {
    uint64_t a, b;
};

struct mem_cursor {
    char *source;
    int64_t position;
};

struct mem_store {
    pthread_mutex_t mu;
    struct mem_notification *notes;
    size_t nnotes;
    uint64_t *processed;
    int64_t *processed_at; /* when each was recorded (own capacity: grown with processed) */
    size_t nprocessed, processed_at_cap;
    struct mem_kv *accounts;
    size_t naccounts;
    struct mem_pair *follows;
    size_t nfollows;
    uint64_t *revoked;
    size_t nrevoked;
    struct mem_pair *cutoffs; /* (account id, revoked below jti) */
    size_t ncutoffs;
    struct mem_marker *markers;
    size_t nmarkers;
    struct dead_letter *dead;
    size_t ndead;
    struct mem_cursor *cursors;
    size_t ncursors;
};

#define GROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), &(arr)[(n)++])

static bool has_id(const uint64_t *ids, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static size_t remove_where(struct mem_store *s, const char *cause, uint64_t status_id)
{
    size_t removed = 0;
    for (size_t i = 0; i < s->nnotes; i++) {
        struct mem_notification *m = &s->notes[i];
        if (m->deleted)
            continue;
        if ((cause && strcmp(m->n.cause, cause) == 0) ||
            (status_id && m->n.status_id == status_id)) {
            m->deleted = true;
            removed++;
        }
    }
    return removed;
}

static void insert(struct mem_store *s, const struct batch_item *it, size_t k,
                   struct batch_result *r)
{
    const struct notification_new *c = &it->changes->creates[k];
    for (size_t i = 0; i < s->nnotes; i++) {
        const struct notification *o = &s->notes[i].n;
        if (!s->notes[i].deleted && o->event_id == it->event_id &&
            o->recipient_id == c->recipient_id && o->type == c->type)
            return; /* UNIQUE (event_id, recipient_id, type), dismissed rows included */
    }
    struct mem_notification *m = GROW(s->notes, s->nnotes);
    memset(m, 0, sizeof(*m));
    m->n = (struct notification){.id = it->notification_ids[k],
                                 .type = c->type,
                                 .recipient_id = c->recipient_id,
                                 .account_id = c->account_id,
                                 .account_json = xstrdup(c->account_json ? c->account_json : "{}"),
                                 .status_id = c->status_id,
                                 .status_json = c->status_json ? xstrdup(c->status_json) : NULL,
                                 .event_id = it->event_id,
                                 .cause = xstrdup(c->cause),
                                 .created_at_ms = it->occurred_at_ms};
    r->created++;
}

static void apply_changes(struct mem_store *s, const struct batch_item *it, struct batch_result *r)
{
    const struct event_changes *ch = it->changes;
    for (size_t i = 0; i < ch->nremove_causes; i++)
        r->removed += remove_where(s, ch->remove_causes[i], 0);
    if (ch->remove_status_id)
        r->removed += remove_where(s, NULL, ch->remove_status_id);
    for (size_t k = 0; k < ch->ncreates; k++)
        insert(s, it, k, r);
    if (ch->account_id) {
        size_t i = 0;
        while (i < s->naccounts && s->accounts[i].id != ch->account_id)
            i++;
        if (i == s->naccounts)
            *GROW(s->accounts, s->naccounts) = (struct mem_kv){ch->account_id, NULL};
        free(s->accounts[i].text);
        s->accounts[i].text = xstrdup(ch->account_json);
    }
    if (ch->follow_add || ch->follow_remove) {
        size_t i = 0;
        while (i < s->nfollows &&
               !(s->follows[i].a == ch->follower_id && s->follows[i].b == ch->followee_id))
            i++;
        if (ch->follow_add && i == s->nfollows)
            *GROW(s->follows, s->nfollows) = (struct mem_pair){ch->follower_id, ch->followee_id};
        if (ch->follow_remove && i < s->nfollows)
            s->follows[i] = s->follows[--s->nfollows];
    }
    if (ch->revoked_jti && !has_id(s->revoked, s->nrevoked, ch->revoked_jti))
        *GROW(s->revoked, s->nrevoked) = ch->revoked_jti;
    if (ch->cutoff_account_id) {
        size_t i = 0;
        while (i < s->ncutoffs && s->cutoffs[i].a != ch->cutoff_account_id)
            i++;
        if (i == s->ncutoffs)
            *GROW(s->cutoffs, s->ncutoffs) = (struct mem_pair){ch->cutoff_account_id, 0};
        if (s->cutoffs[i].b < ch->cutoff_below_jti)
            s->cutoffs[i].b = ch->cutoff_below_jti;
    }
}

static int notification_store_mem_apply_batch(void *ctx, const struct batch_item *items, size_t n,
                                              const struct consumer_cursor *cursor, int64_t now_ms,
                                              struct batch_result *res, struct err *err)
{
    struct mem_store *s = ctx;
    struct batch_result r = {0};
    pthread_mutex_lock(&s->mu);
    /* All or nothing, as a transaction: the one thing that can fail, a dead letter id that is
     * taken (its primary key in SQL), is checked before anything changes. */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; !items[i].changes && j < s->ndead + i; j++) {
            uint64_t other = j < s->ndead                  ? (uint64_t)s->dead[j].id
                             : items[j - s->ndead].changes ? 0
                                                           : items[j - s->ndead].dead_id;
            if (other == items[i].dead_id) {
                pthread_mutex_unlock(&s->mu);
                return err_set(err, ERR_CONFLICT, "dead letter %llu exists",
                               (unsigned long long)other);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct batch_item *it = &items[i];
        if (!it->changes) {
            struct dead_letter *d = GROW(s->dead, s->ndead);
            *d = (struct dead_letter){.id = (int64_t)it->dead_id,
                                      .event_id = it->event_id,
                                      .text = xstrndup(it->dead_text, it->dead_len),
                                      .reason = xstrdup(it->dead_reason),
                                      .created_at_ms = now_ms};
            r.dead++;
            continue;
        }
        bool dup = has_id(s->processed, s->nprocessed, it->event_id);
        if (it->duplicate)
            *it->duplicate = dup;
        if (dup) {
            r.duplicates++;
            continue;
        }
        if (s->nprocessed == s->processed_at_cap) {
            s->processed_at_cap = s->processed_at_cap ? s->processed_at_cap * 2 : 64;
            s->processed_at =
                xrealloc(s->processed_at, s->processed_at_cap * sizeof(*s->processed_at));
        }
        s->processed_at[s->nprocessed] = now_ms;
        *GROW(s->processed, s->nprocessed) = it->event_id;
        apply_changes(s, it, &r);
    }
    if (cursor) {
        size_t i = 0;
        while (i < s->ncursors && strcmp(s->cursors[i].source, cursor->source) != 0)
            i++;
        if (i == s->ncursors)
            *GROW(s->cursors, s->ncursors) = (struct mem_cursor){xstrdup(cursor->source), 0};
        s->cursors[i].position = cursor->position;
    }
    pthread_mutex_unlock(&s->mu);
    if (res)
        *res = r;
    return 0;
}

static int notification_store_mem_cursor_get(void *ctx, const char *source, int64_t *out,
                                             struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    *out = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->ncursors; i++)
        if (strcmp(s->cursors[i].source, source) == 0)
            *out = s->cursors[i].position;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static bool matches(const struct notification *n, const struct notification_query *q)
{
    const struct notification_page *p = &q->page;
    return n->recipient_id == q->recipient_id && (q->types & (unsigned)n->type) &&
           (!q->account_id || n->account_id == q->account_id) &&
           (!p->max_id || n->id < p->max_id) && n->id > p->since_id && n->id > p->min_id;
}

static int by_id_desc(const void *x, const void *y)
{
    uint64_t a = ((const struct notification *)x)->id, b = ((const struct notification *)y)->id;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* Copies n into the arena, with the actor's newer profile when the read model has one. */
static void copy_out(struct mem_store *s, const struct notification *n, struct arena *a,
                     struct notification *out)
{
    *out = *n;
    const char *acct = n->account_json;
    for (size_t i = 0; i < s->naccounts; i++)
        if (s->accounts[i].id == n->account_id)
            acct = s->accounts[i].text;
    out->account_json = arena_strdup(a, acct);
    out->status_json = n->status_json ? arena_strdup(a, n->status_json) : NULL;
    out->cause = arena_strdup(a, n->cause);
}

static int notification_store_mem_list(void *ctx, const struct notification_query *q,
                                       struct arena *a, struct notification_list *out,
                                       struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    struct notification *all = xmalloc((s->nnotes + 1) * sizeof(*all));
    size_t n = 0;
    for (size_t i = 0; i < s->nnotes; i++)
        if (!s->notes[i].deleted && matches(&s->notes[i].n, q))
            all[n++] = s->notes[i].n;
    qsort(all, n, sizeof(*all), by_id_desc);
    size_t limit = (size_t)q->page.limit, start = 0;
    if (n > limit) {
        /* min_id wants the page right after it: the oldest `limit` rows. */
        if (q->page.min_id)
            start = n - limit;
        n = limit;
    }
    out->n = n;
    out->items = arena_calloc(a, n + 1, sizeof(*out->items));
    for (size_t i = 0; i < n; i++)
        copy_out(s, &all[start + i], a, &out->items[i]);
    pthread_mutex_unlock(&s->mu);
    free(all);
    return 0;
}

static int notification_store_mem_count(void *ctx, const struct notification_query *q, int64_t *out,
                                        struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    int64_t c = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nnotes && c < q->page.limit; i++)
        if (!s->notes[i].deleted && matches(&s->notes[i].n, q))
            c++;
    pthread_mutex_unlock(&s->mu);
    *out = c;
    return 0;
}

static struct mem_notification *find(struct mem_store *s, uint64_t recipient, uint64_t id)
{
    for (size_t i = 0; i < s->nnotes; i++)
        if (!s->notes[i].deleted && s->notes[i].n.id == id &&
            s->notes[i].n.recipient_id == recipient)
            return &s->notes[i];
    return NULL;
}

static int notification_store_mem_get(void *ctx, uint64_t recipient_id, uint64_t id,
                                      struct arena *a, struct notification *out, struct err *err)
{
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    struct mem_notification *m = find(s, recipient_id, id);
    if (m)
        copy_out(s, &m->n, a, out);
    pthread_mutex_unlock(&s->mu);
    return m ? 0 : err_set(err, ERR_NOT_FOUND, "notification not found");
}

static int notification_store_mem_dismiss(void *ctx, uint64_t recipient_id, uint64_t id,
                                          struct err *err)
{
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    struct mem_notification *m = find(s, recipient_id, id);
    if (m)
        m->deleted = true;
    pthread_mutex_unlock(&s->mu);
    return m ? 0 : err_set(err, ERR_NOT_FOUND, "notification not found");
}

static int notification_store_mem_clear(void *ctx, uint64_t recipient_id, struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nnotes; i++)
        if (s->notes[i].n.recipient_id == recipient_id)
            s->notes[i].deleted = true;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static struct mem_marker *marker_find(struct mem_store *s, uint64_t account_id,
                                      enum marker_timeline t)
{
    for (size_t i = 0; i < s->nmarkers; i++)
        if (s->markers[i].account_id == account_id && s->markers[i].m.timeline == t)
            return &s->markers[i];
    return NULL;
}

static int notification_store_mem_marker_get(void *ctx, uint64_t account_id,
                                             enum marker_timeline timeline, struct marker *out,
                                             struct err *err)
{
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    struct mem_marker *m = marker_find(s, account_id, timeline);
    if (m)
        *out = m->m;
    pthread_mutex_unlock(&s->mu);
    return m ? 0 : err_set(err, ERR_NOT_FOUND, "no marker");
}

static int notification_store_mem_marker_set(void *ctx, uint64_t account_id,
                                             enum marker_timeline timeline, uint64_t last_read_id,
                                             int64_t now_ms, struct marker *out, struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    struct mem_marker *m = marker_find(s, account_id, timeline);
    if (!m) {
        m = GROW(s->markers, s->nmarkers);
        *m = (struct mem_marker){account_id, {timeline, 0, 0, 0}};
    }
    m->m.last_read_id = last_read_id;
    m->m.version++;
    m->m.updated_at_ms = now_ms;
    *out = m->m;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int notification_store_mem_account_get(void *ctx, uint64_t id, struct arena *a,
                                              const char **json, struct err *err)
{
    struct mem_store *s = ctx;
    *json = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->naccounts; i++)
        if (s->accounts[i].id == id)
            *json = arena_strdup(a, s->accounts[i].text);
    pthread_mutex_unlock(&s->mu);
    return *json ? 0
                 : err_set(err, ERR_NOT_FOUND, "account %llu not known", (unsigned long long)id);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int notification_store_mem_followers(void *ctx, uint64_t account_id, struct arena *a,
                                            uint64_t **out, size_t *n, struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    *out = arena_calloc(a, s->nfollows + 1, sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < s->nfollows; i++)
        if (s->follows[i].b == account_id)
            (*out)[(*n)++] = s->follows[i].a;
    pthread_mutex_unlock(&s->mu);
    qsort(*out, *n, sizeof(**out), cmp_u64);
    return 0;
}

static int notification_store_mem_token_revoked(void *ctx, uint64_t jti, uint64_t account_id,
                                                bool *out, struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    *out = has_id(s->revoked, s->nrevoked, jti);
    for (size_t i = 0; i < s->ncutoffs; i++)
        if (s->cutoffs[i].a == account_id && s->cutoffs[i].b > jti)
            *out = true;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int notification_store_mem_dead_letters(void *ctx, int limit, struct arena *a,
                                               struct dead_letter **out, size_t *n, struct err *err)
{
    (void)err;
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    *out = arena_calloc(a, (size_t)limit + 1, sizeof(**out));
    *n = 0;
    for (size_t i = s->ndead; i > 0 && *n < (size_t)limit; i--) {
        struct dead_letter d = s->dead[i - 1];
        d.text = arena_strdup(a, d.text);
        d.reason = arena_strdup(a, d.reason);
        (*out)[(*n)++] = d;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int notification_store_mem_prune_processed(void *ctx, int64_t before_ms, int limit,
                                                  int64_t *deleted, struct err *err)
{
    struct mem_store *s = ctx;
    size_t k = 0;
    (void)err;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nprocessed; i++) {
        if (s->processed_at[i] < before_ms && *deleted < limit) {
            ++*deleted;
            continue;
        }
        s->processed[k] = s->processed[i];
        s->processed_at[k++] = s->processed_at[i];
    }
    s->nprocessed = k;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int notification_store_mem_ping(void *ctx, struct err *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

static void notification_store_mem_close(void *ctx)
{
    struct mem_store *s = ctx;
    for (size_t i = 0; i < s->nnotes; i++) {
        free((char *)s->notes[i].n.account_json);
        free((char *)s->notes[i].n.status_json);
        free((char *)s->notes[i].n.cause);
    }
    for (size_t i = 0; i < s->naccounts; i++)
        free(s->accounts[i].text);
    for (size_t i = 0; i < s->ndead; i++) {
        free((char *)s->dead[i].text);
        free((char *)s->dead[i].reason);
    }
    for (size_t i = 0; i < s->ncursors; i++)
        free(s->cursors[i].source);
    free(s->notes);
    free(s->processed);
    free(s->processed_at);
    free(s->accounts);
    free(s->follows);
    free(s->revoked);
    free(s->cutoffs);
    free(s->markers);
    free(s->dead);
    free(s->cursors);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct notification_store_ops ops = {
    notification_store_mem_apply_batch,  notification_store_mem_cursor_get,
    notification_store_mem_list,         notification_store_mem_count,
    notification_store_mem_get,          notification_store_mem_dismiss,
    notification_store_mem_clear,        notification_store_mem_marker_get,
    notification_store_mem_marker_set,   notification_store_mem_account_get,
    notification_store_mem_followers,    notification_store_mem_token_revoked,
    notification_store_mem_dead_letters, notification_store_mem_prune_processed,
    notification_store_mem_ping,         notification_store_mem_close};

struct notification_store notification_store_mem_new(void)
{
    struct mem_store *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    return (struct notification_store){&ops, s};
}
