/* mail_store.h - port: notification-service's mail outbox (migration 002): recipients and their
 * preferences, one row per mail decision deduplicated by (event, recipient, kind), the queue of
 * messages to send with their attempts, and flood-control state. Adapters: mem (tests), sqlite
 * and pgsql (the notification database). Thread-safe; results are copied into the caller's
 * arena. */
#ifndef SERVICES_NOTIFICATION_PORTS_MAIL_STORE_H
#define SERVICES_NOTIFICATION_PORTS_MAIL_STORE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/base/xalloc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_recipient {
    uint64_t account_id;
    const char *email;
    const char *username;
    const char *display_name; /* may be "" */
    const char *locale;
};

struct mail_prefs {
    bool follow, mention, favourite;
    const char *unsubscribe_token; /* read only: set once by recipient_put */
};

enum mail_job_state {
    MAIL_JOB_QUEUED = 0,
    MAIL_JOB_SENT = 1,
    MAIL_JOB_DEAD = 2,    /* given up: last_error says why */
    MAIL_JOB_HELD = 3,    /* flood control: counted in the next digest, never sent itself */
    MAIL_JOB_SKIPPED = 4, /* preferences off, or no address known */
};

struct mail_job {
    uint64_t id;
    uint64_t event_id, recipient_id; /* with kind: the dedupe key */
    const char *kind;                /* "follow", ..., "digest:follow" */
    const char *to;                  /* "" unless queued */
    const char *data;                /* the RFC 5322 message; "" unless queued */
    enum mail_job_state state;
    int attempts;
    int64_t next_attempt_at_ms, created_at_ms, sent_at_ms;
    const char *last_error; /* "" when none */
};

struct mail_flood {
    uint64_t account_id;
    const char *kind;
    int64_t last_sent_at_ms; /* 0: never */
    int held;                /* held back since */
    const char *held_names;  /* ", "-joined, the first few */
};

struct mail_store_stats {
    int64_t queued;           /* jobs waiting to be sent */
    int64_t oldest_queued_ms; /* created_at of the oldest of them, 0 when none */
    int64_t sent, dead, held; /* totals in the table */
};

struct mail_store_ops {
    /* Inserts or updates the recipient; the first time, also makes its preferences with the
     * defaults (follow and mention on, favourite off) and token as unsubscribe token. */
    int (*recipient_put)(void *ctx, const struct mail_recipient *r, const char *token,
                         struct err *err);
    /* ERR_NOT_FOUND when unknown. */
    int (*recipient_get)(void *ctx, uint64_t account_id, struct arena *a,
                         struct mail_recipient *out, struct err *err);
    int (*prefs_get)(void *ctx, uint64_t account_id, struct arena *a, struct mail_prefs *out,
                     struct err *err);
    /* Sets the three switches (not the token). ERR_NOT_FOUND when the account is unknown. */
    int (*prefs_set)(void *ctx, uint64_t account_id, const struct mail_prefs *p, struct err *err);
    /* The account whose unsubscribe token this is; ERR_NOT_FOUND. */
    int (*prefs_by_token)(void *ctx, const char *token, uint64_t *account_id, struct err *err);
    /* The flood state of (account, kind); a zero one (last_sent_at_ms 0, held 0) when none. */
    int (*flood_get)(void *ctx, uint64_t account_id, const char *kind, struct arena *a,
                     struct mail_flood *out, struct err *err);
    /* In one transaction: inserts *job (any state; id, key and times set by the caller) and, if
     * flood is not NULL, stores it as the state of (flood->account_id, flood->kind).
     * ERR_CONFLICT when (event_id, recipient_id, kind) is taken: then nothing changes. */
    int (*record)(void *ctx, const struct mail_job *job, const struct mail_flood *flood,
                  struct err *err);
    /* Up to limit queued jobs with next_attempt_at_ms <= now, soonest first (then by id). */
    int (*due)(void *ctx, int64_t now_ms, int limit, struct arena *a, struct mail_job **jobs,
               size_t *n, struct err *err);
    /* Sets the outcome of an attempt of job id: state, attempts, next_attempt_at_ms,
     * sent_at_ms, last_error (NULL: ""). ERR_NOT_FOUND. */
    int (*update)(void *ctx, uint64_t id, enum mail_job_state state, int attempts,
                  int64_t next_attempt_at_ms, int64_t sent_at_ms, const char *last_error,
                  struct err *err);
    /* Up to limit flood states with held > 0 and last_sent_at_ms <= before_ms. */
    int (*digests_due)(void *ctx, int64_t before_ms, int limit, struct arena *a,
                       struct mail_flood **out, size_t *n, struct err *err);
    /* Up to limit jobs in state, newest first. */
    int (*list)(void *ctx, enum mail_job_state state, int limit, struct arena *a,
                struct mail_job **jobs, size_t *n, struct err *err);
    int (*stats)(void *ctx, struct mail_store_stats *out, struct err *err);
    void (*close)(void *ctx);
};

struct mail_store {
    const struct mail_store_ops *ops;
    void *ctx;
};

static inline int mail_store_recipient_put(struct mail_store *s, const struct mail_recipient *r,
                                           const char *token, struct err *err)
{
    ASSERT(r->email && r->username && token && *token);
    return s->ops->recipient_put(s->ctx, r, token, err);
}

static inline int mail_store_recipient_get(struct mail_store *s, uint64_t account_id,
                                           struct arena *a, struct mail_recipient *out,
                                           struct err *err)
{
    return s->ops->recipient_get(s->ctx, account_id, a, out, err);
}

static inline int mail_store_prefs_get(struct mail_store *s, uint64_t account_id, struct arena *a,
                                       struct mail_prefs *out, struct err *err)
{
    return s->ops->prefs_get(s->ctx, account_id, a, out, err);
}

static inline int mail_store_prefs_set(struct mail_store *s, uint64_t account_id,
                                       const struct mail_prefs *p, struct err *err)
{
    return s->ops->prefs_set(s->ctx, account_id, p, err);
}

static inline int mail_store_prefs_by_token(struct mail_store *s, const char *token,
                                            uint64_t *account_id, struct err *err)
{
    return s->ops->prefs_by_token(s->ctx, token, account_id, err);
}

static inline int mail_store_flood_get(struct mail_store *s, uint64_t account_id, const char *kind,
                                       struct arena *a, struct mail_flood *out, struct err *err)
{
    return s->ops->flood_get(s->ctx, account_id, kind, a, out, err);
}

static inline int mail_store_record(struct mail_store *s, const struct mail_job *job,
                                    const struct mail_flood *flood, struct err *err)
{
    ASSERT(job->kind && job->to && job->data && job->last_error);
    return s->ops->record(s->ctx, job, flood, err);
}

static inline int mail_store_due(struct mail_store *s, int64_t now_ms, int limit, struct arena *a,
                                 struct mail_job **jobs, size_t *n, struct err *err)
{
    ASSERT(limit >= 1 && limit <= 1000);
    return s->ops->due(s->ctx, now_ms, limit, a, jobs, n, err);
}

static inline int mail_store_update(struct mail_store *s, uint64_t id, enum mail_job_state state,
                                    int attempts, int64_t next_attempt_at_ms, int64_t sent_at_ms,
                                    const char *last_error, struct err *err)
{
    return s->ops->update(s->ctx, id, state, attempts, next_attempt_at_ms, sent_at_ms, last_error,
                          err);
}

static inline int mail_store_digests_due(struct mail_store *s, int64_t before_ms, int limit,
                                         struct arena *a, struct mail_flood **out, size_t *n,
                                         struct err *err)
{
    ASSERT(limit >= 1 && limit <= 1000);
    return s->ops->digests_due(s->ctx, before_ms, limit, a, out, n, err);
}

static inline int mail_store_list(struct mail_store *s, enum mail_job_state state, int limit,
                                  struct arena *a, struct mail_job **jobs, size_t *n,
                                  struct err *err)
{
    ASSERT(limit >= 1 && limit <= 1000);
    return s->ops->list(s->ctx, state, limit, a, jobs, n, err);
}

static inline int mail_store_stats(struct mail_store *s, struct mail_store_stats *out,
                                   struct err *err)
{
    return s->ops->stats(s->ctx, out, err);
}

static inline void mail_store_close(struct mail_store *s)
{
    if (s->ops)
        s->ops->close(s->ctx);
}

#endif
