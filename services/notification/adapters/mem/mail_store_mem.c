/* mail_store_mem.c - the mail_store port in memory (tests): plain arrays scanned under one
 * mutex, owning copies of every string. */
#include "services/notification/adapters/mem/mail_store_mem.h"

#include "lib/base/xalloc.h"

#include <pthread.h>
#include <string.h>

struct mem_recipient {
    uint64_t account_id;
    char *email, *username, *display_name, *locale, *token;
    bool follow, mention, favourite;
};

struct mem_flood {
    uint64_t account_id;
    char *kind, *held_names;
    int64_t last_sent_at_ms;
    int held;
};

struct mail_store_mem {
    pthread_mutex_t mu;
    struct mem_recipient *recipients;
    size_t nrecipients, recipients_cap;
    struct mail_job *jobs; /* strings owned */
    size_t njobs, jobs_cap;
    struct mem_flood *floods;
    size_t nfloods, floods_cap;
};

#define RESERVE(arr, n, cap)                                                                       \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 16;                                                          \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                       \
        }                                                                                          \
    } while (0)

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = xstrdup(s ? s : "");
}

static struct mem_recipient *find_recipient(struct mail_store_mem *m, uint64_t id)
{
    for (size_t i = 0; i < m->nrecipients; i++)
        if (m->recipients[i].account_id == id)
            return &m->recipients[i];
    return NULL;
}

static struct mem_flood *find_flood(struct mail_store_mem *m, uint64_t id, const char *kind)
{
    for (size_t i = 0; i < m->nfloods; i++)
        if (m->floods[i].account_id == id && strcmp(m->floods[i].kind, kind) == 0)
            return &m->floods[i];
    return NULL;
}

static int mail_store_mem_recipient_put(void *ctx, const struct mail_recipient *r,
                                        const char *token, struct err *err)
{
    struct mail_store_mem *m = ctx;
    (void)err;
    pthread_mutex_lock(&m->mu);
    struct mem_recipient *x = find_recipient(m, r->account_id);
    if (!x) {
        RESERVE(m->recipients, m->nrecipients, m->recipients_cap);
        x = &m->recipients[m->nrecipients++];
        memset(x, 0, sizeof(*x));
        x->account_id = r->account_id;
        x->token = xstrdup(token);
        x->follow = x->mention = true;
    }
    set_str(&x->email, r->email);
    set_str(&x->username, r->username);
    set_str(&x->display_name, r->display_name);
    set_str(&x->locale, r->locale);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int mail_store_mem_recipient_get(void *ctx, uint64_t id, struct arena *a,
                                        struct mail_recipient *out, struct err *err)
{
    struct mail_store_mem *m = ctx;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    struct mem_recipient *x = find_recipient(m, id);
    if (!x)
        rc = err_set(err, ERR_NOT_FOUND, "mail recipient: not found");
    else
        *out =
            (struct mail_recipient){id, arena_strdup(a, x->email), arena_strdup(a, x->username),
                                    arena_strdup(a, x->display_name), arena_strdup(a, x->locale)};
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mail_store_mem_prefs_get(void *ctx, uint64_t id, struct arena *a, struct mail_prefs *out,
                                    struct err *err)
{
    struct mail_store_mem *m = ctx;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    struct mem_recipient *x = find_recipient(m, id);
    if (!x)
        rc = err_set(err, ERR_NOT_FOUND, "mail prefs: not found");
    else
        *out = (struct mail_prefs){x->follow, x->mention, x->favourite, arena_strdup(a, x->token)};
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mail_store_mem_prefs_set(void *ctx, uint64_t id, const struct mail_prefs *p,
                                    struct err *err)
{
    struct mail_store_mem *m = ctx;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    struct mem_recipient *x = find_recipient(m, id);
    if (!x) {
        rc = err_set(err, ERR_NOT_FOUND, "mail prefs: not found");
    } else {
        x->follow = p->follow;
        x->mention = p->mention;
        x->favourite = p->favourite;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mail_store_mem_prefs_by_token(void *ctx, const char *token, uint64_t *id,
                                         struct err *err)
{
    struct mail_store_mem *m = ctx;
    int rc = err_set(err, ERR_NOT_FOUND, "unsubscribe token: not found");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nrecipients; i++)
        if (strcmp(m->recipients[i].token, token) == 0) {
            *id = m->recipients[i].account_id;
            rc = 0;
        }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mail_store_mem_flood_get(void *ctx, uint64_t id, const char *kind, struct arena *a,
                                    struct mail_flood *out, struct err *err)
{
    struct mail_store_mem *m = ctx;
    (void)err;
    pthread_mutex_lock(&m->mu);
    struct mem_flood *f = find_flood(m, id, kind);
    *out = (struct mail_flood){id, arena_strdup(a, kind), f ? f->last_sent_at_ms : 0,
                               f ? f->held : 0, arena_strdup(a, f ? f->held_names : "")};
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static void job_copy(const struct mail_job *src, struct arena *a, struct mail_job *dst)
{
    *dst = *src;
    dst->kind = a ? arena_strdup(a, src->kind) : xstrdup(src->kind);
    dst->to = a ? arena_strdup(a, src->to) : xstrdup(src->to);
    dst->data = a ? arena_strdup(a, src->data) : xstrdup(src->data);
    dst->last_error = a ? arena_strdup(a, src->last_error) : xstrdup(src->last_error);
}

static void job_free(struct mail_job *j)
{
    free((char *)j->kind);
    free((char *)j->to);
    free((char *)j->data);
    free((char *)j->last_error);
}

static int mail_store_mem_record(void *ctx, const struct mail_job *job,
                                 const struct mail_flood *flood, struct err *err)
{
    struct mail_store_mem *m = ctx;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->njobs && rc == 0; i++) {
        const struct mail_job *o = &m->jobs[i];
        if (o->id == job->id ||
            (o->event_id == job->event_id && o->recipient_id == job->recipient_id &&
             strcmp(o->kind, job->kind) == 0))
            rc = err_set(err, ERR_CONFLICT, "mail job exists");
    }
    if (rc == 0) {
        RESERVE(m->jobs, m->njobs, m->jobs_cap);
        job_copy(job, NULL, &m->jobs[m->njobs++]);
        if (flood) {
            struct mem_flood *f = find_flood(m, flood->account_id, flood->kind);
            if (!f) {
                RESERVE(m->floods, m->nfloods, m->floods_cap);
                f = &m->floods[m->nfloods++];
                memset(f, 0, sizeof(*f));
                f->account_id = flood->account_id;
                f->kind = xstrdup(flood->kind);
            }
            f->last_sent_at_ms = flood->last_sent_at_ms;
            f->held = flood->held;
            set_str(&f->held_names, flood->held_names);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int job_due_order(const void *x, const void *y)
{
    const struct mail_job *a = x, *b = y;
    if (a->next_attempt_at_ms != b->next_attempt_at_ms)
        return a->next_attempt_at_ms < b->next_attempt_at_ms ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int mail_store_mem_due(void *ctx, int64_t now, int limit, struct arena *a,
                              struct mail_job **jobs, size_t *n, struct err *err)
{
    struct mail_store_mem *m = ctx;
    (void)err;
    pthread_mutex_lock(&m->mu);
    struct mail_job *all = arena_alloc(a, (m->njobs + 1) * sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < m->njobs; i++)
        if (m->jobs[i].state == MAIL_JOB_QUEUED && m->jobs[i].next_attempt_at_ms <= now)
            job_copy(&m->jobs[i], a, &all[k++]);
    pthread_mutex_unlock(&m->mu);
    qsort(all, k, sizeof(*all), job_due_order);
    *jobs = all;
    *n = k < (size_t)limit ? k : (size_t)limit;
    return 0;
}

static int mail_store_mem_update(void *ctx, uint64_t id, enum mail_job_state state, int attempts,
                                 int64_t next_at, int64_t sent_at, const char *last_error,
                                 struct err *err)
{
    struct mail_store_mem *m = ctx;
    int rc = err_set(err, ERR_NOT_FOUND, "mail job: not found");
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->njobs; i++) {
        struct mail_job *j = &m->jobs[i];
        if (j->id != id)
            continue;
        j->state = state;
        j->attempts = attempts;
        j->next_attempt_at_ms = next_at;
        j->sent_at_ms = sent_at;
        free((char *)j->last_error);
        j->last_error = xstrdup(last_error ? last_error : "");
        rc = 0;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mail_store_mem_digests_due(void *ctx, int64_t before, int limit, struct arena *a,
                                      struct mail_flood **out, size_t *n, struct err *err)
{
    struct mail_store_mem *m = ctx;
    (void)err;
    pthread_mutex_lock(&m->mu);
    *out = arena_alloc(a, ((size_t)limit) * sizeof(**out));
    *n = 0;
    for (size_t i = 0; i < m->nfloods && *n < (size_t)limit; i++) {
        struct mem_flood *f = &m->floods[i];
        if (f->held > 0 && f->last_sent_at_ms <= before)
            (*out)[(*n)++] =
                (struct mail_flood){f->account_id, arena_strdup(a, f->kind), f->last_sent_at_ms,
                                    f->held, arena_strdup(a, f->held_names)};
    }
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int mail_store_mem_list(void *ctx, enum mail_job_state state, int limit, struct arena *a,
                               struct mail_job **jobs, size_t *n, struct err *err)
{
    struct mail_store_mem *m = ctx;
    (void)err;
    pthread_mutex_lock(&m->mu);
    *jobs = arena_alloc(a, ((size_t)limit) * sizeof(**jobs));
    *n = 0;
    for (size_t i = m->njobs; i-- > 0 && *n < (size_t)limit;)
        if (m->jobs[i].state == state)
            job_copy(&m->jobs[i], a, &(*jobs)[(*n)++]);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int mail_store_mem_stats(void *ctx, struct mail_store_stats *out, struct err *err)
{
    struct mail_store_mem *m = ctx;
    (void)err;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->njobs; i++) {
        const struct mail_job *j = &m->jobs[i];
        if (j->state == MAIL_JOB_QUEUED) {
            out->queued++;
            if (!out->oldest_queued_ms || j->created_at_ms < out->oldest_queued_ms)
                out->oldest_queued_ms = j->created_at_ms;
        }
        out->sent += j->state == MAIL_JOB_SENT;
        out->dead += j->state == MAIL_JOB_DEAD;
        out->held += j->state == MAIL_JOB_HELD;
    }
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static void mail_store_mem_close(void *ctx)
{
    struct mail_store_mem *m = ctx;
    for (size_t i = 0; i < m->nrecipients; i++) {
        struct mem_recipient *x = &m->recipients[i];
        free(x->email);
        free(x->username);
        free(x->display_name);
        free(x->locale);
        free(x->token);
    }
    for (size_t i = 0; i < m->njobs; i++)
        job_free(&m->jobs[i]);
    for (size_t i = 0; i < m->nfloods; i++) {
        free(m->floods[i].kind);
        free(m->floods[i].held_names);
    }
    free(m->recipients);
    free(m->jobs);
    free(m->floods);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const struct mail_store_ops mail_store_mem_ops = {
    .recipient_put = mail_store_mem_recipient_put,
    .recipient_get = mail_store_mem_recipient_get,
    .prefs_get = mail_store_mem_prefs_get,
    .prefs_set = mail_store_mem_prefs_set,
    .prefs_by_token = mail_store_mem_prefs_by_token,
    .flood_get = mail_store_mem_flood_get,
    .record = mail_store_mem_record,
    .due = mail_store_mem_due,
    .update = mail_store_mem_update,
    .digests_due = mail_store_mem_digests_due,
    .list = mail_store_mem_list,
    .stats = mail_store_mem_stats,
    .close = mail_store_mem_close,
};

struct mail_store mail_store_mem_new(void)
{
    struct mail_store_mem *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return (struct mail_store){&mail_store_mem_ops, m};
}
