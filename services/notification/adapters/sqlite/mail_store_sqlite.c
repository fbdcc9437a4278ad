/* mail_store_sqlite.c - the mail outbox on SQLite (migration 002). All SQL is parameterised;
 * record() is one BEGIN IMMEDIATE transaction, so the dedupe row and the flood state change
 * together. */
#include "services/notification/adapters/sqlite/mail_store_sqlite.h"

#include "lib/base/xalloc.h"

#include <sqlite3.h>
#include <string.h>

static const char SQL_RECIPIENT_PUT[] =
    "INSERT INTO mail_recipients (account_id, email, username, display_name, locale) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, "
    "username = excluded.username, display_name = excluded.display_name, "
    "locale = excluded.locale";
static const char SQL_PREFS_INIT[] =
    "INSERT INTO mail_prefs (account_id, follow, mention, favourite, unsubscribe_token) "
    "VALUES (?, 1, 1, 0, ?) ON CONFLICT (account_id) DO NOTHING";
static const char SQL_RECIPIENT_GET[] = "SELECT email, username, display_name, locale "
                                        "FROM mail_recipients WHERE account_id = ?";
static const char SQL_PREFS_GET[] = "SELECT follow, mention, favourite, unsubscribe_token "
                                    "FROM mail_prefs WHERE account_id = ?";
static const char SQL_PREFS_SET[] =
    "UPDATE mail_prefs SET follow = ?, mention = ?, favourite = ? WHERE account_id = ?";
static const char SQL_PREFS_BY_TOKEN[] =
    "SELECT account_id FROM mail_prefs WHERE unsubscribe_token = ?";
static const char SQL_FLOOD_GET[] = "SELECT last_sent_at_ms, held, held_names FROM mail_flood "
                                    "WHERE account_id = ? AND kind = ?";
static const char SQL_JOB_INSERT[] =
    "INSERT INTO mail_jobs (id, event_id, recipient_id, kind, to_addr, data, state, attempts, "
    "next_attempt_at_ms, created_at_ms, sent_at_ms, last_error) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_FLOOD_PUT[] =
    "INSERT INTO mail_flood (account_id, kind, last_sent_at_ms, held, held_names) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, kind) DO UPDATE SET "
    "last_sent_at_ms = excluded.last_sent_at_ms, held = excluded.held, "
    "held_names = excluded.held_names";
#define JOB_COLUMNS                                                                                \
    "id, event_id, recipient_id, kind, to_addr, data, state, attempts, next_attempt_at_ms, "       \
    "created_at_ms, sent_at_ms, last_error"
static const char SQL_DUE[] = "SELECT " JOB_COLUMNS " FROM mail_jobs WHERE state = 0 AND "
                              "next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms, id LIMIT ?";
static const char SQL_UPDATE[] = "UPDATE mail_jobs SET state = ?, attempts = ?, "
                                 "next_attempt_at_ms = ?, sent_at_ms = ?, last_error = ? "
                                 "WHERE id = ?";
static const char SQL_DIGESTS_DUE[] =
    "SELECT account_id, kind, last_sent_at_ms, held, held_names FROM mail_flood "
    "WHERE held > 0 AND last_sent_at_ms <= ? ORDER BY last_sent_at_ms LIMIT ?";
static const char SQL_LIST[] =
    "SELECT " JOB_COLUMNS " FROM mail_jobs WHERE state = ? ORDER BY id DESC LIMIT ?";
static const char SQL_STATS[] =
    "SELECT coalesce(sum(state = 0), 0), coalesce(min(CASE WHEN state = 0 THEN created_at_ms "
    "END), 0), coalesce(sum(state = 1), 0), coalesce(sum(state = 2), 0), "
    "coalesce(sum(state = 3), 0) FROM mail_jobs";

static int mail_store_sqlite_recipient_put(void *ctx, const struct mail_recipient *r,
                                           const char *token, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_begin(ctx, "mail recipient begin", err);
    if (rc)
        return rc;
    rc = sqlite_db_stmt(ctx, SQL_RECIPIENT_PUT, &st, err);
    if (rc == 0) {
        sqlite_db_bind_int64(st, 1, (int64_t)r->account_id);
        sqlite_db_bind_text(st, 2, r->email);
        sqlite_db_bind_text(st, 3, r->username);
        sqlite_db_bind_text(st, 4, sqlite_db_or_empty(r->display_name));
        sqlite_db_bind_text(st, 5, r->locale ? r->locale : "en");
        rc = sqlite_db_step_done(st, "mail recipient put", NULL, err);
    }
    if (rc == 0)
        rc = sqlite_db_stmt(ctx, SQL_PREFS_INIT, &st, err);
    if (rc == 0) {
        sqlite_db_bind_int64(st, 1, (int64_t)r->account_id);
        sqlite_db_bind_text(st, 2, token);
        rc = sqlite_db_step_done(st, "mail prefs init", NULL, err);
    }
    return sqlite_db_finish(ctx, rc, "mail recipient commit", err);
}

static int mail_store_sqlite_recipient_get(void *ctx, uint64_t id, struct arena *a,
                                           struct mail_recipient *out, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_RECIPIENT_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = sqlite_db_step_row(st, "mail recipient", err);
    if (rc == 0)
        *out = (struct mail_recipient){
            id, sqlite_db_column_text(st, 0, a), sqlite_db_column_text(st, 1, a),
            sqlite_db_column_text(st, 2, a), sqlite_db_column_text(st, 3, a)};
    sqlite_db_release(st);
    return rc;
}

static int mail_store_sqlite_prefs_get(void *ctx, uint64_t id, struct arena *a,
                                       struct mail_prefs *out, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_PREFS_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    rc = sqlite_db_step_row(st, "mail prefs", err);
    if (rc == 0)
        *out = (struct mail_prefs){sqlite3_column_int(st, 0) != 0, sqlite3_column_int(st, 1) != 0,
                                   sqlite3_column_int(st, 2) != 0, sqlite_db_column_text(st, 3, a)};
    sqlite_db_release(st);
    return rc;
}

static int mail_store_sqlite_prefs_set(void *ctx, uint64_t id, const struct mail_prefs *p,
                                       struct err *err)
{
    int64_t v[] = {p->follow, p->mention, p->favourite, (int64_t)id};
    int changed = 0;
    int rc = sqlite_db_exec_ids(ctx, SQL_PREFS_SET, v, 4, "mail prefs set", &changed, err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "mail prefs: not found");
    return rc;
}

static int mail_store_sqlite_prefs_by_token(void *ctx, const char *token, uint64_t *id,
                                            struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_PREFS_BY_TOKEN, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_text(st, 1, token);
    rc = sqlite_db_step_row(st, "unsubscribe token", err);
    if (rc == 0)
        *id = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite_db_release(st);
    return rc;
}

static int mail_store_sqlite_flood_get(void *ctx, uint64_t id, const char *kind, struct arena *a,
                                       struct mail_flood *out, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_FLOOD_GET, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, (int64_t)id);
    sqlite_db_bind_text(st, 2, kind);
    *out = (struct mail_flood){id, arena_strdup(a, kind), 0, 0, ""};
    rc = sqlite_db_step_row(st, "mail flood", err);
    if (rc == 0) {
        out->last_sent_at_ms = sqlite3_column_int64(st, 0);
        out->held = sqlite3_column_int(st, 1);
        out->held_names = sqlite_db_column_text(st, 2, a);
    } else if (rc == ERR_NOT_FOUND) {
        rc = 0;
    }
    sqlite_db_release(st);
    return rc;
}

static int mail_store_sqlite_record(void *ctx, const struct mail_job *j, const struct mail_flood *f,
                                    struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_begin(ctx, "mail record begin", err);
    if (rc)
        return rc;
    rc = sqlite_db_stmt(ctx, SQL_JOB_INSERT, &st, err);
    if (rc == 0) {
        sqlite_db_bind_int64(st, 1, (int64_t)j->id);
        sqlite_db_bind_int64(st, 2, (int64_t)j->event_id);
        sqlite_db_bind_int64(st, 3, (int64_t)j->recipient_id);
        sqlite_db_bind_text(st, 4, j->kind);
        sqlite_db_bind_text(st, 5, j->to);
        sqlite_db_bind_text(st, 6, j->data);
        sqlite_db_bind_int64(st, 7, j->state);
        sqlite_db_bind_int64(st, 8, j->attempts);
        sqlite_db_bind_int64(st, 9, j->next_attempt_at_ms);
        sqlite_db_bind_int64(st, 10, j->created_at_ms);
        sqlite_db_bind_int64(st, 11, j->sent_at_ms);
        sqlite_db_bind_text(st, 12, j->last_error);
        rc = sqlite_db_step_done(st, "mail job insert", NULL, err);
    }
    if (rc == 0 && f)
        rc = sqlite_db_stmt(ctx, SQL_FLOOD_PUT, &st, err);
    if (rc == 0 && f) {
        sqlite_db_bind_int64(st, 1, (int64_t)f->account_id);
        sqlite_db_bind_text(st, 2, f->kind);
        sqlite_db_bind_int64(st, 3, f->last_sent_at_ms);
        sqlite_db_bind_int64(st, 4, f->held);
        sqlite_db_bind_text(st, 5, sqlite_db_or_empty(f->held_names));
        rc = sqlite_db_step_done(st, "mail flood put", NULL, err);
    }
    return sqlite_db_finish(ctx, rc, "mail record commit", err);
}

static void job_row(struct sqlite3_stmt *st, struct arena *a, struct mail_job *j)
{
    *j = (struct mail_job){
        .id = (uint64_t)sqlite3_column_int64(st, 0),
        .event_id = (uint64_t)sqlite3_column_int64(st, 1),
        .recipient_id = (uint64_t)sqlite3_column_int64(st, 2),
        .kind = sqlite_db_column_text(st, 3, a),
        .to = sqlite_db_column_text(st, 4, a),
        .data = sqlite_db_column_text(st, 5, a),
        .state = (enum mail_job_state)sqlite3_column_int(st, 6),
        .attempts = sqlite3_column_int(st, 7),
        .next_attempt_at_ms = sqlite3_column_int64(st, 8),
        .created_at_ms = sqlite3_column_int64(st, 9),
        .sent_at_ms = sqlite3_column_int64(st, 10),
        .last_error = sqlite_db_column_text(st, 11, a),
    };
}

/* Runs st (bound but for its last parameter, the limit) and reads up to limit jobs. */
static int jobs_query(struct sqlite3_stmt *st, int limit, struct arena *a, struct mail_job **jobs,
                      size_t *n, const char *what, struct err *err)
{
    int rc = 0, src;
    *jobs = arena_alloc(a, (size_t)limit * sizeof(**jobs));
    *n = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        job_row(st, a, &(*jobs)[(*n)++]);
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, what, err);
    sqlite_db_release(st);
    return rc;
}

static int mail_store_sqlite_due(void *ctx, int64_t now, int limit, struct arena *a,
                                 struct mail_job **jobs, size_t *n, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_DUE, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, now);
    sqlite_db_bind_int64(st, 2, limit);
    return jobs_query(st, limit, a, jobs, n, "mail due", err);
}

static int mail_store_sqlite_update(void *ctx, uint64_t id, enum mail_job_state state, int attempts,
                                    int64_t next_at, int64_t sent_at, const char *last_error,
                                    struct err *err)
{
    struct sqlite3_stmt *st;
    int changed = 0;
    int rc = sqlite_db_stmt(ctx, SQL_UPDATE, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, state);
    sqlite_db_bind_int64(st, 2, attempts);
    sqlite_db_bind_int64(st, 3, next_at);
    sqlite_db_bind_int64(st, 4, sent_at);
    sqlite_db_bind_text(st, 5, sqlite_db_or_empty(last_error));
    sqlite_db_bind_int64(st, 6, (int64_t)id);
    rc = sqlite_db_step_done(st, "mail job update", &changed, err);
    if (rc == 0 && !changed)
        rc = err_set(err, ERR_NOT_FOUND, "mail job: not found");
    return rc;
}

static int mail_store_sqlite_digests_due(void *ctx, int64_t before, int limit, struct arena *a,
                                         struct mail_flood **out, size_t *n, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_DIGESTS_DUE, &st, err), src;
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, before);
    sqlite_db_bind_int64(st, 2, limit);
    *out = arena_alloc(a, (size_t)limit * sizeof(**out));
    *n = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        (*out)[(*n)++] =
            (struct mail_flood){(uint64_t)sqlite3_column_int64(st, 0),
                                sqlite_db_column_text(st, 1, a), sqlite3_column_int64(st, 2),
                                sqlite3_column_int(st, 3), sqlite_db_column_text(st, 4, a)};
    if (src != SQLITE_DONE)
        rc = sqlite_db_error(st, src, "mail digests due", err);
    sqlite_db_release(st);
    return rc;
}

static int mail_store_sqlite_list(void *ctx, enum mail_job_state state, int limit, struct arena *a,
                                  struct mail_job **jobs, size_t *n, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_LIST, &st, err);
    if (rc)
        return rc;
    sqlite_db_bind_int64(st, 1, state);
    sqlite_db_bind_int64(st, 2, limit);
    return jobs_query(st, limit, a, jobs, n, "mail list", err);
}

static int mail_store_sqlite_stats(void *ctx, struct mail_store_stats *out, struct err *err)
{
    struct sqlite3_stmt *st;
    int rc = sqlite_db_stmt(ctx, SQL_STATS, &st, err);
    if (rc)
        return rc;
    rc = sqlite_db_step_row(st, "mail stats", err);
    if (rc == 0)
        *out = (struct mail_store_stats){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                         sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                                         sqlite3_column_int64(st, 4)};
    sqlite_db_release(st);
    return rc;
}

static void mail_store_sqlite_close(void *ctx)
{
    (void)ctx; /* the connections belong to the notif_sqlite */
}

static const struct mail_store_ops mail_store_sqlite_ops = {
    .recipient_put = mail_store_sqlite_recipient_put,
    .recipient_get = mail_store_sqlite_recipient_get,
    .prefs_get = mail_store_sqlite_prefs_get,
    .prefs_set = mail_store_sqlite_prefs_set,
    .prefs_by_token = mail_store_sqlite_prefs_by_token,
    .flood_get = mail_store_sqlite_flood_get,
    .record = mail_store_sqlite_record,
    .due = mail_store_sqlite_due,
    .update = mail_store_sqlite_update,
    .digests_due = mail_store_sqlite_digests_due,
    .list = mail_store_sqlite_list,
    .stats = mail_store_sqlite_stats,
    .close = mail_store_sqlite_close,
};

struct mail_store mail_store_sqlite(struct sqlite_db *db)
{
    return (struct mail_store){&mail_store_sqlite_ops, db};
}
