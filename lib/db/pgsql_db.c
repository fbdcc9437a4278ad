/* db_pgsql.c - the PostgreSQL database: per-thread libpq connections with their prepared
 * statements, reconnection, the migration runner, and SQLSTATE translation. The stores' SQL
 * lives in the store files. */
#include "lib/db/pgsql_db.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Serialises migrations of every process sharing the database ("threadly" in ASCII). */
#define PGSQL_DB_MIGRATION_LOCK "8388065202447772793"

struct pgsql_stmt_slot {
    const char *sql; /* the key: a static string's address */
    char name[16];   /* the server-side name, "s<index>" */
};

struct pgsql_conn {
    struct pgsql_db *db;
    PGconn *h; /* NULL after a lost connection: the next call reconnects */
    struct pgsql_stmt_slot *stmts;
    size_t nstmts, cap;
    bool in_use;        /* owned by a live thread; guarded by db->mu */
    bool begin_pending; /* pgsql_db_begin was called: BEGIN goes with the next statement */
    struct pgsql_deferred *deferred; /* pgsql_db_defer's, sent with the next statement */
    size_t ndeferred;
    struct pgsql_conn *next;
};

/* A statement of the current transaction whose result is not read (pgsql_db_defer). */
struct pgsql_deferred {
    const char *sql;
    int n;
    char *values[PGSQL_MAX_PARAMS];
    const char *what;
};

#define PGSQL_DEFERRED_MAX 32

struct pgsql_db {
    char *conninfo;
    char *app_name;    /* libpq's application_name, as pg_stat_activity shows it */
    pthread_key_t key; /* the calling thread's struct pgsql_conn */
    bool key_created;
    pthread_mutex_t mu; /* guards conns and their in_use flags */
    struct pgsql_conn *conns;
    size_t migrations_applied;
};

static const char SQL_PING[] = "SELECT 1";

/* ---- parameters and values ---- */

void pgsql_params_int64(struct pgsql_params *p, int64_t v)
{
    ASSERT(p->n < PGSQL_MAX_PARAMS);
    snprintf(p->buf[p->n], sizeof(p->buf[p->n]), "%" PRId64, v);
    p->values[p->n] = p->buf[p->n];
    p->n++;
}

void pgsql_params_bool(struct pgsql_params *p, bool v)
{
    ASSERT(p->n < PGSQL_MAX_PARAMS);
    p->values[p->n++] = v ? "true" : "false";
}

void pgsql_db_array_ids(char *buf, const uint64_t *ids, size_t n)
{
    char *p = buf;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, i ? ",%" PRId64 : "%" PRId64, (int64_t)ids[i]);
    *p++ = '}';
    *p = '\0';
}

void pgsql_params_text(struct pgsql_params *p, const char *s)
{
    ASSERT(p->n < PGSQL_MAX_PARAMS);
    p->values[p->n++] = s ? s : "";
}

int pgsql_ntuples(const PGresult *r)
{
    return PQntuples(r);
}

bool pgsql_isnull(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

const char *pgsql_value(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t pgsql_int64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pgsql_bool(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

const char *pgsql_text(const PGresult *r, int row, int col, struct arena *a)
{
    return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

void pgsql_db_clear(PGresult *r)
{
    PQclear(r);
}

/* ---- connections ---- */

/* Server notices ("relation already exists, skipping") would go to stderr, which is the
 * service's JSON log; they carry nothing we act on. */
static void pgsql_db_ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* libpq's messages end with a newline, and may have several lines; keep the first. */
static const char *pgsql_db_first_line(const char *msg, char *buf, size_t size)
{
    snprintf(buf, size, "%s", msg && *msg ? msg : "unknown error");
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static int pgsql_db_connect(const char *conninfo, const char *app_name, PGconn **out,
                            struct err *err)
{
    /* Defaults first: with expand_dbname the URL's own settings override them. */
    static const char *const keys[] = {"connect_timeout", "application_name", "client_encoding",
                                       "dbname", NULL};
    const char *values[] = {"5", app_name, "UTF8", conninfo, NULL};
    PGconn *h = PQconnectdbParams(keys, values, 1);
    if (!h)
        return err_set(err, ERR_UNAVAILABLE, "pgsql connect: out of memory");
    if (PQstatus(h) != CONNECTION_OK) {
        char why[200];
        int rc = err_set(err, ERR_UNAVAILABLE, "pgsql connect: %s",
                         pgsql_db_first_line(PQerrorMessage(h), why, sizeof(why)));
        PQfinish(h);
        return rc;
    }
    PQsetNoticeProcessor(h, pgsql_db_ignore_notice, NULL);
    *out = h;
    return 0;
}

static void pgsql_deferred_clear(struct pgsql_conn *c)
{
    for (size_t i = 0; i < c->ndeferred; i++)
        for (int j = 0; j < c->deferred[i].n; j++)
            free(c->deferred[i].values[j]);
    c->ndeferred = 0;
}

/* Drops c's server connection; its prepared statements went with it. */
static void pgsql_conn_reset(struct pgsql_conn *c)
{
    PQfinish(c->h);
    c->h = NULL;
    c->nstmts = 0;
}

static void pgsql_conn_free(struct pgsql_conn *c)
{
    pgsql_deferred_clear(c);
    free(c->deferred);
    PQfinish(c->h);
    free(c->stmts);
    free(c);
}

/* Runs when a thread that used db exits: its connection goes back to the pool. */
static void pgsql_conn_thread_exit(void *p)
{
    struct pgsql_conn *c = p;
    pthread_mutex_lock(&c->db->mu);
    c->in_use = false;
    pthread_mutex_unlock(&c->db->mu);
}

/* Whether idle connection h was closed by the server (a restart or pg_terminate_backend sends
 * an error and closes the socket). Reading what is pending tells, without blocking: only when
 * poll says there is something. Finding out here, before a statement is sent, means the first
 * request after PostgreSQL comes back succeeds instead of failing on a stale connection. */
static bool pgsql_db_closed(PGconn *h)
{
    struct pollfd pfd = {.fd = PQsocket(h), .events = POLLIN};
    if (pfd.fd < 0)
        return true;
    if (poll(&pfd, 1, 0) <= 0)
        return false; /* nothing pending: alive as far as we can tell */
    return !PQconsumeInput(h) || PQstatus(h) != CONNECTION_OK;
}

/* The calling thread's connection slot: its own, an idle one left by an exited thread, or a
 * new one; then (re)connected if it has no server connection or the server closed it. */
static int pgsql_db_conn(struct pgsql_db *db, struct pgsql_conn **out, struct err *err)
{
    struct pgsql_conn *c = pthread_getspecific(db->key);
    if (!c) {
        pthread_mutex_lock(&db->mu);
        for (c = db->conns; c && c->in_use; c = c->next)
            ;
        if (!c) {
            c = xcalloc(1, sizeof(*c));
            c->db = db;
            c->next = db->conns;
            db->conns = c;
        }
        c->in_use = true;
        pthread_mutex_unlock(&db->mu);
        if (pthread_setspecific(db->key, c) != 0) {
            pgsql_conn_thread_exit(c);
            return err_set(err, ERR_INTERNAL, "pgsql: pthread_setspecific failed");
        }
    }
    if (c->h && PQtransactionStatus(c->h) == PQTRANS_IDLE && pgsql_db_closed(c->h))
        pgsql_conn_reset(c);
    if (!c->h) {
        int rc = pgsql_db_connect(db->conninfo, db->app_name, &c->h, err);
        if (rc != 0)
            return rc;
    }
    *out = c;
    return 0;
}

/* ---- errors ---- */

static bool pgsql_db_lost(const char *state)
{
    return state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                     strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0);
}

/* Translates a failure of r (may be NULL) on c into err; drops c's connection if it is lost. */
static int pgsql_db_fail(struct pgsql_conn *c, const PGresult *r, const char *what, struct err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(c->h);
    char why[200];
    pgsql_db_first_line(msg, why, sizeof(why));
    enum err_code code = ERR_INTERNAL;
    if (PQstatus(c->h) != CONNECTION_OK || pgsql_db_lost(state)) {
        code = ERR_UNAVAILABLE;
        pgsql_conn_reset(c);
    } else if (state && strncmp(state, "23", 2) == 0) {
        code = ERR_CONFLICT; /* 23505 unique, 23503 foreign key, 23514 check */
    } else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                         strcmp(state, "55P03") == 0 || strcmp(state, "53300") == 0 ||
                         strcmp(state, "57014") == 0)) {
        code = ERR_UNAVAILABLE; /* serialization, deadlock, lock or statement timeout */
    }
    return err_set(err, code, "%s: %s%s%s", what, why, state ? " SQLSTATE " : "",
                   state ? state : "");
}

/* Checks r's status; on failure translates it, clears r and returns the code. */
static int pgsql_db_check(struct pgsql_conn *c, PGresult *r, const char *what, struct err *err)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    int rc = pgsql_db_fail(c, r, what, err);
    PQclear(r);
    return rc;
}

/* The server-side name of sql on c, preparing it on first use. */
static int pgsql_db_prepare(struct pgsql_conn *c, const char *sql, int nparams, const char **name,
                            struct err *err)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        if (c->stmts[i].sql == sql) {
            *name = c->stmts[i].name;
            return 0;
        }
    }
    if (c->nstmts == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->stmts = xrealloc(c->stmts, c->cap * sizeof(*c->stmts));
    }
    struct pgsql_stmt_slot *slot = &c->stmts[c->nstmts];
    slot->sql = sql;
    snprintf(slot->name, sizeof(slot->name), "s%zu", c->nstmts);
    PGresult *r = PQprepare(c->h, slot->name, sql, nparams, NULL);
    int rc = pgsql_db_check(c, r, "pgsql prepare", err);
    if (rc != 0)
        return rc;
    PQclear(r);
    c->nstmts++;
    *name = slot->name;
    return 0;
}

/* True when a statement that failed on connection c should be sent again on a new connection:
 * c was outside a transaction before (so no transaction state is lost) and the failure was
 * the connection itself, which pgsql_db_fail has then dropped (c->h is NULL). A server that
 * restarted closed its old connections without running anything sent on them; the check in
 * pgsql_db_conn misses a close still in flight, and this retry covers that window. */
static bool pgsql_db_retry(const struct pgsql_conn *c, bool was_idle, int attempt, int rc)
{
    return attempt == 0 && was_idle && rc == ERR_UNAVAILABLE && !c->h;
}

/* One step of a pipeline: a simple query (BEGIN, COMMIT) or a prepared statement. */
struct pgsql_step {
    const char *text; /* BEGIN or COMMIT; NULL: the prepared statement name */
    char name[16];
    int n;
    const char *const *values;
    const char *what;
};

/* Sends, in one round trip (libpq's pipeline mode): the BEGIN that pgsql_db_begin left pending,
 * the deferred statements (pgsql_db_defer), the statement sql with params p (when sql is not
 * NULL) and COMMIT (when commit is set); then checks the results in that order. A write
 * transaction thus pays no round trip for its BEGIN, for the statements whose results it does
 * not read, nor for its COMMIT when it ends with pgsql_db_commit_with. *out gets the result of
 * sql. On a lost connection the BEGIN and the deferred statements stay pending, for the retry
 * on a new connection; otherwise they are done (run, or aborted with the transaction). */
static int pgsql_db_pipeline(struct pgsql_conn *c, const char *sql, const struct pgsql_params *p,
                             bool commit, PGresult **out, const char *what, struct err *err)
{
    struct pgsql_step steps[PGSQL_DEFERRED_MAX + 3];
    PGresult *res[PGSQL_DEFERRED_MAX + 3] = {NULL};
    size_t ns = 0, main_at = SIZE_MAX, k = 0;
    const char *name;
    int rc = 0, nulls = 0;
    *out = NULL;
    if (c->begin_pending)
        steps[ns++] = (struct pgsql_step){.text = "BEGIN", .what = "pgsql begin"};
    for (size_t i = 0; rc == 0 && i < c->ndeferred; i++) {
        struct pgsql_deferred *d = &c->deferred[i];
        rc = pgsql_db_prepare(c, d->sql, d->n, &name, err);
        steps[ns] = (struct pgsql_step){
            .n = d->n, .values = (const char *const *)d->values, .what = d->what};
        snprintf(steps[ns++].name, sizeof(steps[0].name), "%s", rc == 0 ? name : "");
    }
    if (rc == 0 && sql) {
        rc = pgsql_db_prepare(c, sql, p ? p->n : 0, &name, err);
        main_at = ns;
        steps[ns] =
            (struct pgsql_step){.n = p ? p->n : 0, .values = p ? p->values : NULL, .what = what};
        snprintf(steps[ns++].name, sizeof(steps[0].name), "%s", rc == 0 ? name : "");
    }
    if (commit)
        steps[ns++] = (struct pgsql_step){.text = "COMMIT", .what = "pgsql commit"};
    if (rc != 0)
        return rc; /* a prepare failed; on a lost connection everything stays pending */
    PGconn *h = c->h;
    bool sent = PQenterPipelineMode(h);
    for (size_t i = 0; sent && i < ns; i++)
        sent = steps[i].text ? PQsendQueryParams(h, steps[i].text, 0, NULL, NULL, NULL, NULL, 0)
                             : PQsendQueryPrepared(h, steps[i].name, steps[i].n, steps[i].values,
                                                   NULL, NULL, 0);
    sent = sent && PQpipelineSync(h);
    /* Each step's results end with a NULL; the sync's result ends the pipeline. A broken
     * connection gives an error result, then NULLs: three in a row end the wait. */
    while (sent) {
        PGresult *x = PQgetResult(h);
        if (!x) {
            if (++nulls > 2 || PQstatus(h) != CONNECTION_OK)
                break;
            continue;
        }
        nulls = 0;
        if (PQresultStatus(x) == PGRES_PIPELINE_SYNC) {
            PQclear(x);
            break;
        }
        if (k < ns)
            res[k++] = x;
        else
            PQclear(x);
    }
    if (!sent || !PQexitPipelineMode(h)) {
        rc = pgsql_db_fail(c, NULL, steps[0].what, err);
        if (c->h) /* left in a state we cannot use: start over on a new connection */
            pgsql_conn_reset(c);
    }
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        rc = pgsql_db_check(c, res[i], steps[i].what, err); /* clears res[i] on failure */
        if (rc != 0)
            res[i] = NULL;
        else if (i == 0 && c->begin_pending)
            c->begin_pending = false;
    }
    if (c->h) /* run, or aborted with the transaction */
        pgsql_deferred_clear(c);
    if (rc == 0 && main_at != SIZE_MAX) {
        *out = res[main_at];
        res[main_at] = NULL;
    }
    for (size_t i = 0; i < ns; i++)
        PQclear(res[i]);
    return rc;
}

int pgsql_db_query(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                   PGresult **out, int64_t *changes, const char *what, struct err *err)
{
    struct pgsql_conn *c;
    const char *name;
    int n = p ? p->n : 0, rc;
    PGresult *r = NULL;
    for (int attempt = 0;; attempt++) {
        rc = pgsql_db_conn(db, &c, err);
        if (rc != 0)
            return rc;
        bool was_idle = PQtransactionStatus(c->h) == PQTRANS_IDLE;
        if (c->begin_pending || c->ndeferred) {
            rc = pgsql_db_pipeline(c, sql, p, false, &r, what, err);
        } else {
            rc = pgsql_db_prepare(c, sql, n, &name, err);
            if (rc == 0) {
                r = PQexecPrepared(c->h, name, n, p ? p->values : NULL, NULL, NULL, 0);
                rc = pgsql_db_check(c, r, what, err);
            }
        }
        if (rc == 0)
            break;
        if (!pgsql_db_retry(c, was_idle, attempt, rc))
            return rc;
    }
    if (changes) {
        const char *t = PQcmdTuples(r);
        *changes = *t ? strtoll(t, NULL, 10) : 0;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

int pgsql_db_query_row(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                       PGresult **out, const char *what, struct err *err)
{
    PGresult *r;
    int rc = pgsql_db_query(db, sql, p, &r, NULL, what, err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return err_set(err, ERR_NOT_FOUND, "%s: not found", what);
    }
    *out = r;
    return 0;
}

int pgsql_db_query_ids(struct pgsql_db *db, const char *sql, const int64_t *v, int n,
                       PGresult **out, int64_t *changes, const char *what, struct err *err)
{
    struct pgsql_params p = {0};
    for (int i = 0; i < n; i++)
        pgsql_params_int64(&p, v[i]);
    return pgsql_db_query(db, sql, &p, out, changes, what, err);
}

/* Runs a statement without parameters or prepared plan (transaction control, migrations). */
static int pgsql_db_exec(struct pgsql_conn *c, const char *sql, const char *what, struct err *err)
{
    PGresult *r = PQexec(c->h, sql);
    int rc = pgsql_db_check(c, r, what, err);
    if (rc == 0)
        PQclear(r);
    return rc;
}

/* BEGIN is sent with the transaction's first statement (pgsql_db_pipeline): here the
 * connection is only made ready. */
int pgsql_db_begin(struct pgsql_db *db, struct err *err)
{
    struct pgsql_conn *c;
    int rc = pgsql_db_conn(db, &c, err);
    if (rc != 0)
        return rc;
    ASSERT(!c->begin_pending && PQtransactionStatus(c->h) == PQTRANS_IDLE);
    c->begin_pending = true;
    return 0;
}

int pgsql_db_finish(struct pgsql_db *db, int rc, struct err *err)
{
    struct pgsql_conn *c = pthread_getspecific(db->key);
    if (rc == 0 && c && c->ndeferred) /* the deferred statements, then COMMIT */
        return pgsql_db_commit_with(db, NULL, NULL, "pgsql commit", err);
    if (c)
        pgsql_deferred_clear(c);
    if (c && c->begin_pending) { /* no statement was sent: nothing was begun */
        c->begin_pending = false;
        return rc;
    }
    if (rc == 0) {
        ASSERT(c && c->h);
        rc = pgsql_db_exec(c, "COMMIT", "pgsql commit", err);
        if (rc == 0)
            return 0;
    }
    /* A lost connection took its transaction with it; there is nothing to roll back. */
    if (c && c->h && PQtransactionStatus(c->h) != PQTRANS_IDLE)
        pgsql_db_exec(c, "ROLLBACK", "pgsql rollback", NULL);
    return rc;
}

int pgsql_db_commit_with(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                         const char *what, struct err *err)
{
    struct pgsql_conn *c = pthread_getspecific(db->key);
    PGresult *r = NULL;
    ASSERT(c);
    int rc = c->h ? pgsql_db_pipeline(c, sql, p, true, &r, what, err)
                  : err_set(err, ERR_UNAVAILABLE, "%s: connection lost", what);
    PQclear(r);
    if (rc != 0) {
        pgsql_deferred_clear(c);
        c->begin_pending = false;
        /* A lost connection took its transaction with it; there is nothing to roll back. */
        if (c->h && PQtransactionStatus(c->h) != PQTRANS_IDLE)
            pgsql_db_exec(c, "ROLLBACK", "pgsql rollback", NULL);
    }
    return rc;
}

int pgsql_db_defer(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                   const char *what, struct err *err)
{
    struct pgsql_conn *c = pthread_getspecific(db->key);
    ASSERT(c && (c->begin_pending || (c->h && PQtransactionStatus(c->h) == PQTRANS_INTRANS)));
    if (c->ndeferred == PGSQL_DEFERRED_MAX) {
        PGresult *r;
        int rc = pgsql_db_pipeline(c, NULL, NULL, false, &r, what, err);
        if (rc != 0)
            return rc;
    }
    if (!c->deferred)
        c->deferred = xcalloc(PGSQL_DEFERRED_MAX, sizeof(*c->deferred));
    struct pgsql_deferred *d = &c->deferred[c->ndeferred++];
    d->sql = sql;
    d->n = p ? p->n : 0;
    d->what = what;
    for (int i = 0; i < d->n; i++)
        d->values[i] = xstrdup(p->values[i] ? p->values[i] : "");
    return 0;
}

/* ---- migrations ---- */

/* Applies migration m unless it is recorded, in one transaction under the migration lock. */
static int pgsql_db_migrate_one(struct pgsql_conn *c, const struct db_migration *m, bool *applied,
                                struct err *err)
{
    *applied = false;
    int rc = pgsql_db_exec(c, "BEGIN", "migration begin", err);
    if (rc != 0)
        return rc;
    rc = pgsql_db_exec(c, "SELECT pg_advisory_xact_lock(" PGSQL_DB_MIGRATION_LOCK ")",
                       "migration lock", err);
    if (rc == 0)
        rc = pgsql_db_exec(c,
                           "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                           "schema_migrations", err);
    char version[24], at[24];
    snprintf(version, sizeof(version), "%" PRId64, m->version);
    snprintf(at, sizeof(at), "%" PRId64, clock_now_ms(&clock_system));
    const char *params[] = {version, at};
    PGresult *r = NULL;
    if (rc == 0) {
        r = PQexecParams(c->h, "SELECT 1 FROM schema_migrations WHERE version = $1::bigint", 1,
                         NULL, params, NULL, NULL, 0);
        rc = pgsql_db_check(c, r, "schema_migrations", err);
    }
    bool done = rc == 0 && PQntuples(r) > 0;
    if (rc == 0)
        PQclear(r);
    if (rc == 0 && !done) {
        char what[160];
        snprintf(what, sizeof(what), "migration %s", m->name);
        rc = pgsql_db_exec(c, m->sql, what, err);
    }
    if (rc == 0 && !done) {
        r = PQexecParams(c->h,
                         "INSERT INTO schema_migrations (version, applied_at) "
                         "VALUES ($1::bigint, $2::bigint)",
                         2, NULL, params, NULL, NULL, 0);
        rc = pgsql_db_check(c, r, "schema_migrations", err);
        if (rc == 0)
            PQclear(r);
    }
    if (rc == 0)
        rc = pgsql_db_exec(c, "COMMIT", "migration commit", err);
    if (rc == 0)
        *applied = !done;
    else if (c->h)
        pgsql_db_exec(c, "ROLLBACK", "migration rollback", NULL);
    return rc;
}

static int pgsql_db_migrate(struct pgsql_db *db, const struct db_migration *m, size_t n,
                            struct err *err)
{
    struct pgsql_conn *c;
    int rc = pgsql_db_conn(db, &c, err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && m[i].version <= m[i - 1].version)
            return err_set(err, ERR_INVALID, "migration %s: versions must increase", m[i].name);
        bool applied;
        rc = pgsql_db_migrate_one(c, &m[i], &applied, err);
        db->migrations_applied += applied;
    }
    return rc;
}

struct pgsql_db *pgsql_db_open_migrations(const char *conninfo, const char *app_name,
                                          const struct db_migration *m, size_t n, struct err *err)
{
    if (!conninfo || !*conninfo) {
        err_set(err, ERR_INVALID, "pgsql: no connection URL");
        return NULL;
    }
    if (!PQisthreadsafe()) {
        err_set(err, ERR_INTERNAL, "pgsql: libpq built without thread support");
        return NULL;
    }
    struct pgsql_db *db = xcalloc(1, sizeof(*db));
    db->conninfo = xstrdup(conninfo);
    db->app_name = xstrdup(app_name && *app_name ? app_name : "threadly");
    pthread_mutex_init(&db->mu, NULL);
    struct err e = {0};
    int rc = 0;
    if (pthread_key_create(&db->key, pgsql_conn_thread_exit) != 0)
        rc = err_set(&e, ERR_INTERNAL, "pgsql: pthread_key_create failed");
    else
        db->key_created = true;
    if (rc == 0)
        rc = pgsql_db_migrate(db, m, n, &e);
    if (rc != 0) {
        if (err)
            *err = e;
        pgsql_db_close(db);
        return NULL;
    }
    return db;
}

void pgsql_db_close(struct pgsql_db *db)
{
    if (!db)
        return;
    /* Deleting the key first means no exit destructor can run on a connection freed here. */
    if (db->key_created)
        pthread_key_delete(db->key);
    struct pgsql_conn *c = db->conns;
    while (c) {
        struct pgsql_conn *next = c->next;
        pgsql_conn_free(c);
        c = next;
    }
    pthread_mutex_destroy(&db->mu);
    free(db->conninfo);
    free(db->app_name);
    free(db);
}

int pgsql_db_ping(struct pgsql_db *db, struct err *err)
{
    return pgsql_db_query(db, SQL_PING, NULL, NULL, NULL, "pgsql ping", err);
}

size_t pgsql_db_migrations_applied(const struct pgsql_db *db)
{
    return db->migrations_applied;
}
