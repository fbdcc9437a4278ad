/* sqlite_db.c - a service's SQLite database: per-thread connections with cached statements, the
 * migration runner, and result code translation. The stores' SQL lives in the store files. */
#include "lib/db/sqlite_db.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SQLITE_DB_BUSY_TIMEOUT_MS 5000

struct sqlite_stmt_slot {
    const char *sql; /* the key: a static string's address */
    sqlite3_stmt *st;
};

struct sqlite_conn {
    struct sqlite_db *db;
    sqlite3 *h;
    struct sqlite_stmt_slot *stmts;
    size_t nstmts, cap;
    bool in_use; /* owned by a live thread; guarded by db->mu */
    struct sqlite_conn *next;
};

struct sqlite_db {
    char *path;
    pthread_key_t key; /* the calling thread's struct sqlite_conn */
    bool key_created;
    pthread_mutex_t mu; /* guards conns and their in_use flags */
    struct sqlite_conn *conns;
    size_t migrations_applied;
};

static const char SQL_PING[] = "SELECT 1";
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static enum err_code sqlite_db_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return ERR_CONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
        return ERR_UNAVAILABLE;
    default:
        return ERR_INTERNAL;
    }
}

/* Translates a failure on connection h (may be NULL) into err. */
static int sqlite_db_fail(sqlite3 *h, int rc, const char *what, struct err *err)
{
    return err_set(err, sqlite_db_code(rc), "%s: %s", what,
                   h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

int sqlite_db_error(sqlite3_stmt *st, int rc, const char *what, struct err *err)
{
    return sqlite_db_fail(sqlite3_db_handle(st), rc, what, err);
}

void sqlite_db_release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int sqlite_db_exec(sqlite3 *h, const char *sql, const char *what, struct err *err)
{
    int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sqlite_db_fail(h, rc, what, err);
    return 0;
}

/* Opens one connection with the per-connection settings. */
static int sqlite_db_connect(const char *path, sqlite3 **out, struct err *err)
{
    sqlite3 *h = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &h, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(h, 1);
        sqlite3_busy_timeout(h, SQLITE_DB_BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(h, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        int code = err_set(err, sqlite_db_code(rc), "sqlite open '%s': %s", path,
                           h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h); /* open_v2 returns a handle even when it fails */
        return code;
    }
    *out = h;
    return 0;
}

static void sqlite_conn_free(struct sqlite_conn *c)
{
    for (size_t i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].st);
    free(c->stmts);
    sqlite3_close(c->h);
    free(c);
}

/* Runs when a thread that used db exits: its connection goes back to the pool. */
static void sqlite_conn_thread_exit(void *p)
{
    struct sqlite_conn *c = p;
    pthread_mutex_lock(&c->db->mu);
    c->in_use = false;
    pthread_mutex_unlock(&c->db->mu);
}

/* The calling thread's connection: its own, an idle one left by an exited thread, or a new
 * one. Opening happens outside the mutex since it touches the file. */
static int sqlite_db_conn(struct sqlite_db *db, struct sqlite_conn **out, struct err *err)
{
    struct sqlite_conn *c = pthread_getspecific(db->key);
    if (c) {
        *out = c;
        return 0;
    }
    pthread_mutex_lock(&db->mu);
    for (c = db->conns; c && c->in_use; c = c->next)
        ;
    if (c)
        c->in_use = true;
    pthread_mutex_unlock(&db->mu);
    if (!c) {
        sqlite3 *h = NULL;
        int rc = sqlite_db_connect(db->path, &h, err);
        if (rc != 0)
            return rc;
        c = xcalloc(1, sizeof(*c));
        c->db = db;
        c->h = h;
        c->in_use = true;
        pthread_mutex_lock(&db->mu);
        c->next = db->conns;
        db->conns = c;
        pthread_mutex_unlock(&db->mu);
    }
    if (pthread_setspecific(db->key, c) != 0) {
        sqlite_conn_thread_exit(c);
        return err_set(err, ERR_INTERNAL, "sqlite: pthread_setspecific failed");
    }
    *out = c;
    return 0;
}

int sqlite_db_stmt(struct sqlite_db *db, const char *sql, sqlite3_stmt **out, struct err *err)
{
    struct sqlite_conn *c;
    int rc = sqlite_db_conn(db, &c, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < c->nstmts; i++) {
        if (c->stmts[i].sql == sql) {
            *out = c->stmts[i].st;
            return 0;
        }
    }
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_db_fail(c->h, rc, "sqlite prepare", err);
    if (c->nstmts == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->stmts = xrealloc(c->stmts, c->cap * sizeof(*c->stmts));
    }
    c->stmts[c->nstmts++] = (struct sqlite_stmt_slot){sql, st};
    *out = st;
    return 0;
}

/* Sets *done if migration `version` is recorded. */
static int sqlite_db_migration_done(sqlite3 *h, int64_t version, bool *done, struct err *err)
{
    sqlite3_stmt *st;
    int rc =
        sqlite3_prepare_v2(h, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_db_fail(h, rc, "schema_migrations", err);
    sqlite3_bind_int64(st, 1, version);
    rc = sqlite3_step(st);
    *done = rc == SQLITE_ROW;
    int ret =
        rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqlite_db_fail(h, rc, "schema_migrations", err);
    sqlite3_finalize(st);
    return ret;
}

static int sqlite_db_migration_record(sqlite3 *h, int64_t version, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        h, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_db_fail(h, rc, "schema_migrations", err);
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_int64(st, 2, clock_now_ms(&clock_system));
    rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : sqlite_db_fail(h, rc, "schema_migrations", err);
    sqlite3_finalize(st);
    return ret;
}

/* Applies migration m unless it is recorded, in one transaction. Another process may be
 * migrating the same file, so the check is repeated under the write lock. */
static int sqlite_db_migrate_one(sqlite3 *h, const struct db_migration *m, bool *applied,
                                 struct err *err)
{
    bool done;
    *applied = false;
    int rc = sqlite_db_migration_done(h, m->version, &done, err);
    if (rc != 0 || done)
        return rc;
    rc = sqlite_db_exec(h, "BEGIN IMMEDIATE", "migration begin", err);
    if (rc != 0)
        return rc;
    rc = sqlite_db_migration_done(h, m->version, &done, err);
    if (rc != 0)
        goto out;
    if (!done) {
        int src = sqlite3_exec(h, m->sql, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = err_set(err, sqlite_db_code(src), "migration %s: %s", m->name, sqlite3_errmsg(h));
            goto out;
        }
        rc = sqlite_db_migration_record(h, m->version, err);
        if (rc != 0)
            goto out;
    }
    rc = sqlite_db_exec(h, "COMMIT", "migration commit", err);
    if (rc == 0)
        *applied = !done;
out:
    if (rc != 0)
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sqlite_db_migrate(struct sqlite_db *db, sqlite3 *h, const struct db_migration *m,
                             size_t n, struct err *err)
{
    int rc = sqlite_db_exec(h,
                            "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            "version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                            "schema_migrations", err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && m[i].version <= m[i - 1].version)
            return err_set(err, ERR_INVALID, "migration %s: versions must increase", m[i].name);
        bool applied;
        rc = sqlite_db_migrate_one(h, &m[i], &applied, err);
        db->migrations_applied += applied;
    }
    return rc;
}

/* Switches the file to WAL (persistent in the file, so only the first connection does it). */
static int sqlite_db_set_wal(sqlite3 *h, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_ROW) {
        ret = sqlite_db_fail(h, rc, "journal_mode", err);
    } else {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0)
            ret = err_set(err, ERR_INTERNAL, "journal_mode is '%s', not wal", mode ? mode : "?");
    }
    sqlite3_finalize(st);
    return ret;
}

/* Opens db's first connection, makes it the calling thread's, switches to WAL and migrates.
 * e is local to sqlite_db_open_migrations, so it is never NULL here. */
static int sqlite_db_setup(struct sqlite_db *db, const struct db_migration *m, size_t n,
                           struct err *e)
{
    if (pthread_key_create(&db->key, sqlite_conn_thread_exit) != 0)
        return err_set(e, ERR_INTERNAL, "sqlite: pthread_key_create failed");
    db->key_created = true;
    struct sqlite_conn *c;
    int rc = sqlite_db_conn(db, &c, e);
    if (rc != 0)
        return rc; /* already names the path */
    rc = sqlite_db_set_wal(c->h, e);
    if (rc == 0)
        rc = sqlite_db_migrate(db, c->h, m, n, e);
    if (rc != 0) {
        char why[sizeof(e->msg)];
        memcpy(why, e->msg, sizeof(why));
        err_set(e, rc, "sqlite open '%s': %s", db->path, why);
    }
    return rc;
}

/* SQLite counts every allocation under one process-wide mutex unless told not to
 * (SQLITE_CONFIG_MEMSTATUS): with a connection per HTTP thread that mutex is shared by all of
 * them, and under load the threads queue on it (futex waits in a profile of GET
 * /api/v1/statuses/:id). Nothing here reads those statistics. It must run before SQLite is
 * initialised, hence once, before the first open; if something else initialised SQLite first
 * the call fails harmlessly and the counting stays on. */
static pthread_once_t sqlite_db_config_once = PTHREAD_ONCE_INIT;

static void sqlite_db_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct sqlite_db *sqlite_db_open_migrations(const char *path, const struct db_migration *m,
                                            size_t n, struct err *err)
{
    pthread_once(&sqlite_db_config_once, sqlite_db_config);
    if (!path || !*path || strcmp(path, ":memory:") == 0) {
        err_set(err, ERR_INVALID, "sqlite: the database must be a file, not '%s'",
                path ? path : "(null)");
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        err_set(err, ERR_INTERNAL, "sqlite: library built without thread support");
        return NULL;
    }
    struct sqlite_db *db = xcalloc(1, sizeof(*db));
    db->path = xstrdup(path);
    pthread_mutex_init(&db->mu, NULL);
    struct err e = {0};
    if (sqlite_db_setup(db, m, n, &e) != 0) {
        if (err)
            *err = e;
        sqlite_db_close(db);
        return NULL;
    }
    return db;
}

void sqlite_db_close(struct sqlite_db *db)
{
    if (!db)
        return;
    /* Deleting the key first means no exit destructor can run on a connection freed here. */
    if (db->key_created)
        pthread_key_delete(db->key);
    struct sqlite_conn *c = db->conns;
    while (c) {
        struct sqlite_conn *next = c->next;
        sqlite_conn_free(c);
        c = next;
    }
    pthread_mutex_destroy(&db->mu);
    free(db->path);
    free(db);
}

int sqlite_db_ping(struct sqlite_db *db, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, SQL_PING, &st, err);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(st);
    rc = src == SQLITE_ROW ? 0 : sqlite_db_error(st, src, "sqlite ping", err);
    sqlite_db_release(st);
    return rc;
}

size_t sqlite_db_migrations_applied(const struct sqlite_db *db)
{
    return db->migrations_applied;
}

/* ---- helpers of the store adapters ---- */

void sqlite_db_json_ids(char *buf, const uint64_t *ids, size_t n)
{
    char *p = buf;
    *p++ = '[';
    for (size_t i = 0; i < n; i++)
        /* Signed, as the ids are bound everywhere else (int64 columns). */
        p += sprintf(p, i ? ",%" PRId64 : "%" PRId64, (int64_t)ids[i]);
    *p++ = ']';
    *p = '\0';
}

const char *sqlite_db_or_empty(const char *s)
{
    return s ? s : "";
}

void sqlite_db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    ASSERT(sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK);
}

void sqlite_db_bind_int64(sqlite3_stmt *st, int i, int64_t v)
{
    ASSERT(sqlite3_bind_int64(st, i, v) == SQLITE_OK);
}

const char *sqlite_db_column_text(sqlite3_stmt *st, int i, struct arena *a)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? arena_strndup(a, (const char *)s, (size_t)sqlite3_column_bytes(st, i)) : "";
}

int sqlite_db_step_done(sqlite3_stmt *st, const char *what, int *changes, struct err *err)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? 0 : sqlite_db_error(st, src, what, err);
    if (rc == 0 && changes)
        *changes = sqlite3_changes(sqlite3_db_handle(st));
    sqlite_db_release(st);
    return rc;
}

int sqlite_db_step_row(sqlite3_stmt *st, const char *what, struct err *err)
{
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        return 0;
    if (src == SQLITE_DONE)
        return err_set(err, ERR_NOT_FOUND, "%s: not found", what);
    return sqlite_db_error(st, src, what, err);
}

int sqlite_db_exec_ids(struct sqlite_db *db, const char *sql, const int64_t *v, int n,
                       const char *what, int *changes, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite_db_stmt(db, sql, &st, err);
    if (rc != 0)
        return rc;
    for (int i = 0; i < n; i++)
        sqlite_db_bind_int64(st, i + 1, v[i]);
    return sqlite_db_step_done(st, what, changes, err);
}

int sqlite_db_begin(struct sqlite_db *db, const char *what, struct err *err)
{
    return sqlite_db_exec_ids(db, SQL_BEGIN, NULL, 0, what, NULL, err);
}

int sqlite_db_finish(struct sqlite_db *db, int rc, const char *what, struct err *err)
{
    if (rc == 0)
        rc = sqlite_db_exec_ids(db, SQL_COMMIT, NULL, 0, what, NULL, err);
    if (rc != 0) {
        sqlite3_stmt *st;
        if (sqlite_db_stmt(db, SQL_ROLLBACK, &st, NULL) == 0) {
            sqlite3_step(st); /* fails harmlessly if SQLite already rolled back */
            sqlite_db_release(st);
        }
    }
    return rc;
}
