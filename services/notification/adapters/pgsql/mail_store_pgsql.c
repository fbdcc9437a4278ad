/* mail_store_pgsql.c - the mail outbox on PostgreSQL (migration 002, the same tables as
 * SQLite). record() is one transaction, so the dedupe row and the flood state change together;
 * a taken (event, recipient, kind) is SQLSTATE 23505, ERR_CONFLICT. */
#include "services/notification/adapters/pgsql/mail_store_pgsql.h"

#include <string.h>

static const char SQL_RECIPIENT_PUT[] =
    "INSERT INTO mail_recipients (account_id, email, username, display_name, locale) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, "
    "username = excluded.username, display_name = excluded.display_name, "
    "locale = excluded.locale";
static const char SQL_PREFS_INIT[] =
    "INSERT INTO mail_prefs (account_id, follow, mention, favourite, unsubscribe_token) "
    "VALUES ($1, 1, 1, 0, $2) ON CONFLICT (account_id) DO NOTHING";
static const char SQL_RECIPIENT_GET[] = "SELECT email, username, display_name, locale "
                                        "FROM mail_recipients WHERE account_id = $1";
static const char SQL_PREFS_GET[] = "SELECT follow, mention, favourite, unsubscribe_token "
                                    "FROM mail_prefs WHERE account_id = $1";
static const char SQL_PREFS_SET[] =
    "UPDATE mail_prefs SET follow = $1, mention = $2, favourite = $3 WHERE account_id = $4";
static const char SQL_PREFS_BY_TOKEN[] =
    "SELECT account_id FROM mail_prefs WHERE unsubscribe_token = $1";
static const char SQL_FLOOD_GET[] = "SELECT last_sent_at_ms, held, held_names FROM mail_flood "
                                    "WHERE account_id = $1 AND kind = $2";
static const char SQL_JOB_INSERT[] =
    "INSERT INTO mail_jobs (id, event_id, recipient_id, kind, to_addr, data, state, attempts, "
    "next_attempt_at_ms, created_at_ms, sent_at_ms, last_error) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
static const char SQL_FLOOD_PUT[] =
    "INSERT INTO mail_flood (account_id, kind, last_sent_at_ms, held, held_names) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, kind) DO UPDATE SET "
    "last_sent_at_ms = excluded.last_sent_at_ms, held = excluded.held, "
    "held_names = excluded.held_names";
#define JOB_COLUMNS                                                                                \
    "id, event_id, recipient_id, kind, to_addr, data, state, attempts, next_attempt_at_ms, "       \
    "created_at_ms, sent_at_ms, last_error"
static const char SQL_DUE[] = "SELECT " JOB_COLUMNS " FROM mail_jobs WHERE state = 0 AND "
                              "next_attempt_at_ms <= $1 ORDER BY next_attempt_at_ms, id LIMIT $2";
static const char SQL_UPDATE[] = "UPDATE mail_jobs SET state = $1, attempts = $2, "
                                 "next_attempt_at_ms = $3, sent_at_ms = $4, last_error = $5 "
                                 "WHERE id = $6";
static const char SQL_DIGESTS_DUE[] =
    "SELECT account_id, kind, last_sent_at_ms, held, held_names FROM mail_flood "
    "WHERE held > 0 AND last_sent_at_ms <= $1 ORDER BY last_sent_at_ms LIMIT $2";
static const char SQL_LIST[] =
    "SELECT " JOB_COLUMNS " FROM mail_jobs WHERE state = $1 ORDER BY id DESC LIMIT $2";
static const char SQL_STATS[] =
    "SELECT count(*) FILTER (WHERE state = 0), coalesce(min(created_at_ms) FILTER (WHERE state "
    "= 0), 0), count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 2), "
    "count(*) FILTER (WHERE state = 3) FROM mail_jobs";

static int mail_store_pgsql_recipient_put(void *ctx, const struct mail_recipient *r,
                                          const char *token, struct err *err)
{
    struct pgsql_params p = {0}, q = {0};
    pgsql_params_int64(&p, (int64_t)r->account_id);
    pgsql_params_text(&p, r->email);
    pgsql_params_text(&p, r->username);
    pgsql_params_text(&p, r->display_name ? r->display_name : "");
    pgsql_params_text(&p, r->locale ? r->locale : "en");
    pgsql_params_int64(&q, (int64_t)r->account_id);
    pgsql_params_text(&q, token);
    int rc = pgsql_db_begin(ctx, err);
    if (rc)
        return rc;
    rc = pgsql_db_query(ctx, SQL_RECIPIENT_PUT, &p, NULL, NULL, "mail recipient put", err);
    if (rc == 0)
        rc = pgsql_db_query(ctx, SQL_PREFS_INIT, &q, NULL, NULL, "mail prefs init", err);
    return pgsql_db_finish(ctx, rc, err);
}

static int mail_store_pgsql_recipient_get(void *ctx, uint64_t id, struct arena *a,
                                          struct mail_recipient *out, struct err *err)
{
    struct pg_result *r;
    int64_t v[] = {(int64_t)id};
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, v[0]);
    int rc = pgsql_db_query_row(ctx, SQL_RECIPIENT_GET, &p, &r, "mail recipient", err);
    if (rc)
        return rc;
    *out = (struct mail_recipient){id, pgsql_text(r, 0, 0, a), pgsql_text(r, 0, 1, a),
                                   pgsql_text(r, 0, 2, a), pgsql_text(r, 0, 3, a)};
    pgsql_db_clear(r);
    return 0;
}

static int mail_store_pgsql_prefs_get(void *ctx, uint64_t id, struct arena *a,
                                      struct mail_prefs *out, struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    int rc = pgsql_db_query_row(ctx, SQL_PREFS_GET, &p, &r, "mail prefs", err);
    if (rc)
        return rc;
    *out = (struct mail_prefs){pgsql_int64(r, 0, 0) != 0, pgsql_int64(r, 0, 1) != 0,
                               pgsql_int64(r, 0, 2) != 0, pgsql_text(r, 0, 3, a)};
    pgsql_db_clear(r);
    return 0;
}

static int mail_store_pgsql_prefs_set(void *ctx, uint64_t id, const struct mail_prefs *p,
                                      struct err *err)
{
    int64_t v[] = {p->follow, p->mention, p->favourite, (int64_t)id};
    int64_t changed = 0;
    int rc = pgsql_db_query_ids(ctx, SQL_PREFS_SET, v, 4, NULL, &changed, "mail prefs set", err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "mail prefs: not found");
    return rc;
}

static int mail_store_pgsql_prefs_by_token(void *ctx, const char *token, uint64_t *id,
                                           struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    pgsql_params_text(&p, token);
    int rc = pgsql_db_query_row(ctx, SQL_PREFS_BY_TOKEN, &p, &r, "unsubscribe token", err);
    if (rc)
        return rc;
    *id = (uint64_t)pgsql_int64(r, 0, 0);
    pgsql_db_clear(r);
    return 0;
}

static int mail_store_pgsql_flood_get(void *ctx, uint64_t id, const char *kind, struct arena *a,
                                      struct mail_flood *out, struct err *err)
{
    struct pg_result *r;
    struct pgsql_params p = {0};
    pgsql_params_int64(&p, (int64_t)id);
    pgsql_params_text(&p, kind);
    *out = (struct mail_flood){id, arena_strdup(a, kind), 0, 0, ""};
    int rc = pgsql_db_query_row(ctx, SQL_FLOOD_GET, &p, &r, "mail flood", err);
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    out->last_sent_at_ms = pgsql_int64(r, 0, 0);
    out->held = (int)pgsql_int64(r, 0, 1);
    out->held_names = pgsql_text(r, 0, 2, a);
    pgsql_db_clear(r);
    return 0;
}

static int mail_store_pgsql_record(void *ctx, const struct mail_job *j, const struct mail_flood *f,
                                   struct err *err)
{
    struct pgsql_params p = {0}, q = {0};
    pgsql_params_int64(&p, (int64_t)j->id);
    pgsql_params_int64(&p, (int64_t)j->event_id);
    pgsql_params_int64(&p, (int64_t)j->recipient_id);
    pgsql_params_text(&p, j->kind);
    pgsql_params_text(&p, j->to);
    pgsql_params_text(&p, j->data);
    pgsql_params_int64(&p, j->state);
    pgsql_params_int64(&p, j->attempts);
    pgsql_params_int64(&p, j->next_attempt_at_ms);
    pgsql_params_int64(&p, j->created_at_ms);
    pgsql_params_int64(&p, j->sent_at_ms);
    pgsql_params_text(&p, j->last_error);
    int rc = pgsql_db_begin(ctx, err);
    if (rc)
        return rc;
    rc = pgsql_db_query(ctx, SQL_JOB_INSERT, &p, NULL, NULL, "mail job insert", err);
    if (rc == 0 && f) {
        pgsql_params_int64(&q, (int64_t)f->account_id);
        pgsql_params_text(&q, f->kind);
        pgsql_params_int64(&q, f->last_sent_at_ms);
        pgsql_params_int64(&q, f->held);
        pgsql_params_text(&q, f->held_names ? f->held_names : "");
        rc = pgsql_db_query(ctx, SQL_FLOOD_PUT, &q, NULL, NULL, "mail flood put", err);
    }
    return pgsql_db_finish(ctx, rc, err);
}

static int jobs_rows(struct pg_result *r, struct arena *a, struct mail_job **jobs, size_t *n)
{
    int rows = pgsql_ntuples(r);
    *jobs = arena_alloc(a, ((size_t)rows + 1) * sizeof(**jobs));
    *n = 0;
    for (int i = 0; i < rows; i++)
        (*jobs)[(*n)++] = (struct mail_job){
            .id = (uint64_t)pgsql_int64(r, i, 0),
            .event_id = (uint64_t)pgsql_int64(r, i, 1),
            .recipient_id = (uint64_t)pgsql_int64(r, i, 2),
            .kind = pgsql_text(r, i, 3, a),
            .to = pgsql_text(r, i, 4, a),
            .data = pgsql_text(r, i, 5, a),
            .state = (enum mail_job_state)pgsql_int64(r, i, 6),
            .attempts = (int)pgsql_int64(r, i, 7),
            .next_attempt_at_ms = pgsql_int64(r, i, 8),
            .created_at_ms = pgsql_int64(r, i, 9),
            .sent_at_ms = pgsql_int64(r, i, 10),
            .last_error = pgsql_text(r, i, 11, a),
        };
    pgsql_db_clear(r);
    return 0;
}

static int mail_store_pgsql_due(void *ctx, int64_t now, int limit, struct arena *a,
                                struct mail_job **jobs, size_t *n, struct err *err)
{
    struct pg_result *r;
    int64_t v[] = {now, limit};
    int rc = pgsql_db_query_ids(ctx, SQL_DUE, v, 2, &r, NULL, "mail due", err);
    return rc ? rc : jobs_rows(r, a, jobs, n);
}

static int mail_store_pgsql_update(void *ctx, uint64_t id, enum mail_job_state state, int attempts,
                                   int64_t next_at, int64_t sent_at, const char *last_error,
                                   struct err *err)
{
    struct pgsql_params p = {0};
    int64_t changed = 0;
    pgsql_params_int64(&p, state);
    pgsql_params_int64(&p, attempts);
    pgsql_params_int64(&p, next_at);
    pgsql_params_int64(&p, sent_at);
    pgsql_params_text(&p, last_error ? last_error : "");
    pgsql_params_int64(&p, (int64_t)id);
    int rc = pgsql_db_query(ctx, SQL_UPDATE, &p, NULL, &changed, "mail job update", err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "mail job: not found");
    return rc;
}

static int mail_store_pgsql_digests_due(void *ctx, int64_t before, int limit, struct arena *a,
                                        struct mail_flood **out, size_t *n, struct err *err)
{
    struct pg_result *r;
    int64_t v[] = {before, limit};
    int rc = pgsql_db_query_ids(ctx, SQL_DIGESTS_DUE, v, 2, &r, NULL, "mail digests due", err);
    if (rc)
        return rc;
    int rows = pgsql_ntuples(r);
    *out = arena_alloc(a, ((size_t)rows + 1) * sizeof(**out));
    *n = 0;
    for (int i = 0; i < rows; i++)
        (*out)[(*n)++] = (struct mail_flood){(uint64_t)pgsql_int64(r, i, 0), pgsql_text(r, i, 1, a),
                                             pgsql_int64(r, i, 2), (int)pgsql_int64(r, i, 3),
                                             pgsql_text(r, i, 4, a)};
    pgsql_db_clear(r);
    return 0;
}

static int mail_store_pgsql_list(void *ctx, enum mail_job_state state, int limit, struct arena *a,
                                 struct mail_job **jobs, size_t *n, struct err *err)
{
    struct pg_result *r;
    int64_t v[] = {state, limit};
    int rc = pgsql_db_query_ids(ctx, SQL_LIST, v, 2, &r, NULL, "mail list", err);
    return rc ? rc : jobs_rows(r, a, jobs, n);
}

static int mail_store_pgsql_stats(void *ctx, struct mail_store_stats *out, struct err *err)
{
    struct pg_result *r;
    int rc = pgsql_db_query_row(ctx, SQL_STATS, NULL, &r, "mail stats", err);
    if (rc)
        return rc;
    *out =
        (struct mail_store_stats){pgsql_int64(r, 0, 0), pgsql_int64(r, 0, 1), pgsql_int64(r, 0, 2),
                                  pgsql_int64(r, 0, 3), pgsql_int64(r, 0, 4)};
    pgsql_db_clear(r);
    return 0;
}

static void mail_store_pgsql_close(void *ctx)
{
    (void)ctx; /* the connections belong to the notif_pgsql */
}

static const struct mail_store_ops mail_store_pgsql_ops = {
    .recipient_put = mail_store_pgsql_recipient_put,
    .recipient_get = mail_store_pgsql_recipient_get,
    .prefs_get = mail_store_pgsql_prefs_get,
    .prefs_set = mail_store_pgsql_prefs_set,
    .prefs_by_token = mail_store_pgsql_prefs_by_token,
    .flood_get = mail_store_pgsql_flood_get,
    .record = mail_store_pgsql_record,
    .due = mail_store_pgsql_due,
    .update = mail_store_pgsql_update,
    .digests_due = mail_store_pgsql_digests_due,
    .list = mail_store_pgsql_list,
    .stats = mail_store_pgsql_stats,
    .close = mail_store_pgsql_close,
};

struct mail_store mail_store_pgsql(struct pgsql_db *db)
{
    return (struct mail_store){&mail_store_pgsql_ops, db};
}
