/* notif_sqlite.c - notification-service's SQLite database (a copy of threadly-service's pattern:
 * the services share no code): per-thread connections with cached statements, the migration runner,
 * and result code translation. The stores' SQL lives in the store files. */
#include "services/notification/adapters/sqlite/notif_sqlite.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"

#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NOTIF_SQLITE_BUSY_TIMEOUT_MS 5000

struct notif_sqlite_stmt_slot {
    const char *sql; /* the key: a static string's address */
    sqlite3_stmt *st;
};

struct notif_sqlite_conn {
    struct notif_sqlite *db;
    sqlite3 *h;
    struct notif_sqlite_stmt_slot *stmts;
    size_t nstmts, cap;
    bool in_use; /* owned by a live thread; guarded by db->mu */
    struct notif_sqlite_conn *next;
};

struct notif_sqlite {
    char *path;
    pthread_key_t key; /* the calling thread's struct notif_sqlite_conn */
    bool key_created;
    pthread_mutex_t mu; /* guards conns and their in_use flags */
    struct notif_sqlite_conn *conns;
    size_t migrations_applied;
};

static const char SQL_PING[] = "SELECT 1";
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static enum err_code notif_sqlite_code(int rc)
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
static int notif_sqlite_fail(sqlite3 *h, int rc, const char *what, struct err *err)
{
    return err_set(err, notif_sqlite_code(rc), "%s: %s", what,
                   h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

int notif_sqlite_error(sqlite3_stmt *st, int rc, const char *what, struct err *err)
{
    return notif_sqlite_fail(sqlite3_db_handle(st), rc, what, err);
}

void notif_sqlite_release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int notif_sqlite_exec(sqlite3 *h, const char *sql, const char *what, struct err *err)
{
    int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return notif_sqlite_fail(h, rc, what, err);
    return 0;
}

/* Opens one connection with the per-connection settings. */
static int notif_notif_sqlite_connect(const char *path, sqlite3 **out, struct err *err)
{
    sqlite3 *h = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &h, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(h, 1);
        sqlite3_busy_timeout(h, NOTIF_SQLITE_BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(h, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        int code = err_set(err, notif_sqlite_code(rc), "sqlite open '%s': %s", path,
                           h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h); /* open_v2 returns a handle even when it fails */
        return code;
    }
    *out = h;
    return 0;
}

static void notif_sqlite_conn_free(struct notif_sqlite_conn *c)
{
    for (size_t i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].st);
    free(c->stmts);
    sqlite3_close(c->h);
    free(c);
}

/* Runs when a thread that used db exits: its connection goes back to the pool. */
static void notif_sqlite_conn_thread_exit(void *p)
{
    struct notif_sqlite_conn *c = p;
    pthread_mutex_lock(&c->db->mu);
    c->in_use = false;
    pthread_mutex_unlock(&c->db->mu);
}

/* The calling thread's connection: its own, an idle one left by an exited thread, or a new
 * one. Opening happens outside the mutex since it touches the file. */
static int notif_notif_sqlite_conn(struct notif_sqlite *db, struct notif_sqlite_conn **out,
                                   struct err *err)
{
    struct notif_sqlite_conn *c = pthread_getspecific(db->key);
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
        int rc = notif_notif_sqlite_connect(db->path, &h, err);
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
        notif_sqlite_conn_thread_exit(c);
        return err_set(err, ERR_INTERNAL, "sqlite: pthread_setspecific failed");
    }
    *out = c;
    return 0;
}

int notif_sqlite_stmt(struct notif_sqlite *db, const char *sql, sqlite3_stmt **out, struct err *err)
{
    struct notif_sqlite_conn *c;
    int rc = notif_notif_sqlite_conn(db, &c, err);
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
        return notif_sqlite_fail(c->h, rc, "sqlite prepare", err);
    if (c->nstmts == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->stmts = xrealloc(c->stmts, c->cap * sizeof(*c->stmts));
    }
    c->stmts[c->nstmts++] = (struct notif_sqlite_stmt_slot){sql, st};
    *out = st;
    return 0;
}

/* Sets *done if migration `version` is recorded. */
static int notif_sqlite_migration_done(sqlite3 *h, int64_t version, bool *done, struct err *err)
{
    sqlite3_stmt *st;
    int rc =
        sqlite3_prepare_v2(h, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return notif_sqlite_fail(h, rc, "schema_migrations", err);
    sqlite3_bind_int64(st, 1, version);
    rc = sqlite3_step(st);
    *done = rc == SQLITE_ROW;
    int ret = rc == SQLITE_ROW || rc == SQLITE_DONE
                  ? 0
                  : notif_sqlite_fail(h, rc, "schema_migrations", err);
    sqlite3_finalize(st);
    return ret;
}

static int notif_sqlite_migration_record(sqlite3 *h, int64_t version, struct err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        h, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return notif_sqlite_fail(h, rc, "schema_migrations", err);
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_int64(st, 2, clock_now_ms(&clock_system));
    rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : notif_sqlite_fail(h, rc, "schema_migrations", err);
    sqlite3_finalize(st);
    return ret;
}

/* Applies migration m unless it is recorded, in one transaction. Another process may be
 * migrating the same file, so the check is repeated under the write lock. */
static int notif_sqlite_migrate_one(sqlite3 *h, const struct notif_migration *m, bool *applied,
                                    struct err *err)
{
    bool done;
    *applied = false;
    int rc = notif_sqlite_migration_done(h, m->version, &done, err);
    if (rc != 0 || done)
        return rc;
    rc = notif_sqlite_exec(h, "BEGIN IMMEDIATE", "migration begin", err);
    if (rc != 0)
        return rc;
    rc = notif_sqlite_migration_done(h, m->version, &done, err);
    if (rc != 0)
        goto out;
    if (!done) {
        int src = sqlite3_exec(h, m->sql, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = err_set(err, notif_sqlite_code(src), "migration %s: %s", m->name,
                         sqlite3_errmsg(h));
            goto out;
        }
        rc = notif_sqlite_migration_record(h, m->version, err);
        if (rc != 0)
            goto out;
    }
    rc = notif_sqlite_exec(h, "COMMIT", "migration commit", err);
    if (rc == 0)
        *applied = !done;
out:
    if (rc != 0)
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int notif_sqlite_migrate(struct notif_sqlite *db, sqlite3 *h,
                                const struct notif_migration *m, size_t n, struct err *err)
{
    int rc = notif_sqlite_exec(h,
                               "CREATE TABLE IF NOT EXISTS schema_migrations ("
                               "version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                               "schema_migrations", err);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && m[i].version <= m[i - 1].version)
            return err_set(err, ERR_INVALID, "migration %s: versions must increase", m[i].name);
        bool applied;
        rc = notif_sqlite_migrate_one(h, &m[i], &applied, err);
        db->migrations_applied += applied;
    }
    return rc;
}

/* Switches the file to WAL (persistent in the file, so only the first connection does it). */
static int notif_sqlite_set_wal(sqlite3 *h, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_ROW) {
        ret = notif_sqlite_fail(h, rc, "journal_mode", err);
    } else {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0)
            ret = err_set(err, ERR_INTERNAL, "journal_mode is '%s', not wal", mode ? mode : "?");
    }
    sqlite3_finalize(st);
    return ret;
}

/* Opens db's first connection, makes it the calling thread's, switches to WAL and migrates.
 * e is local to notif_sqlite_open_migrations, so it is never NULL here. */
static int notif_sqlite_setup(struct notif_sqlite *db, const struct notif_migration *m, size_t n,
                              struct err *e)
{
    if (pthread_key_create(&db->key, notif_sqlite_conn_thread_exit) != 0)
        return err_set(e, ERR_INTERNAL, "sqlite: pthread_key_create failed");
    db->key_created = true;
    struct notif_sqlite_conn *c;
    int rc = notif_notif_sqlite_conn(db, &c, e);
    if (rc != 0)
        return rc; /* already names the path */
    rc = notif_sqlite_set_wal(c->h, e);
    if (rc == 0)
        rc = notif_sqlite_migrate(db, c->h, m, n, e);
    if (rc != 0) {
        char why[sizeof(e->msg)];
        memcpy(why, e->msg, sizeof(why));
        err_set(e, rc, "sqlite open '%s': %s", db->path, why);
    }
    return rc;
}

struct notif_sqlite *notif_sqlite_open_migrations(const char *path, const struct notif_migration *m,
                                                  size_t n, struct err *err)
{
    if (!path || !*path || strcmp(path, ":memory:") == 0) {
        err_set(err, ERR_INVALID, "sqlite: the database must be a file, not '%s'",
                path ? path : "(null)");
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        err_set(err, ERR_INTERNAL, "sqlite: library built without thread support");
        return NULL;
    }
    struct notif_sqlite *db = xcalloc(1, sizeof(*db));
    db->path = xstrdup(path);
    pthread_mutex_init(&db->mu, NULL);
    struct err e = {0};
    if (notif_sqlite_setup(db, m, n, &e) != 0) {
        if (err)
            *err = e;
        notif_sqlite_close(db);
        return NULL;
    }
    return db;
}

struct notif_sqlite *notif_sqlite_open(const char *path, struct err *err)
{
    return notif_sqlite_open_migrations(path, notification_migrations, notification_migrations_len,
                                        err);
}

void notif_sqlite_close(struct notif_sqlite *db)
{
    if (!db)
        return;
    /* Deleting the key first means no exit destructor can run on a connection freed here. */
    if (db->key_created)
        pthread_key_delete(db->key);
    struct notif_sqlite_conn *c = db->conns;
    while (c) {
        struct notif_sqlite_conn *next = c->next;
        notif_sqlite_conn_free(c);
        c = next;
    }
    pthread_mutex_destroy(&db->mu);
    free(db->path);
    free(db);
}

int notif_sqlite_ping(struct notif_sqlite *db, struct err *err)
{
    sqlite3_stmt *st;
    int rc = notif_sqlite_stmt(db, SQL_PING, &st, err);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(st);
    rc = src == SQLITE_ROW ? 0 : notif_sqlite_error(st, src, "sqlite ping", err);
    notif_sqlite_release(st);
    return rc;
}

size_t notif_sqlite_migrations_applied(const struct notif_sqlite *db)
{
    return db->migrations_applied;
}

/* ---- helpers of the store adapters ---- */

void notif_sqlite_json_ids(char *buf, const uint64_t *ids, size_t n)
{
    char *p = buf;
    *p++ = '[';
    for (size_t i = 0; i < n; i++)
        /* Signed, as the ids are bound everywhere else (int64 columns). */
        p += sprintf(p, i ? ",%" PRId64 : "%" PRId64, (int64_t)ids[i]);
    *p++ = ']';
    *p = '\0';
}

const char *notif_sqlite_or_empty(const char *s)
{
    return s ? s : "";
}

void notif_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    ASSERT(sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK);
}

void notif_sqlite_bind_int64(sqlite3_stmt *st, int i, int64_t v)
{
    ASSERT(sqlite3_bind_int64(st, i, v) == SQLITE_OK);
}

const char *notif_sqlite_column_text(sqlite3_stmt *st, int i, struct arena *a)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? arena_strndup(a, (const char *)s, (size_t)sqlite3_column_bytes(st, i)) : "";
}

int notif_sqlite_step_done(sqlite3_stmt *st, const char *what, int *changes, struct err *err)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? 0 : notif_sqlite_error(st, src, what, err);
    if (rc == 0 && changes)
        *changes = sqlite3_changes(sqlite3_db_handle(st));
    notif_sqlite_release(st);
    return rc;
}

int notif_sqlite_step_row(sqlite3_stmt *st, const char *what, struct err *err)
{
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        return 0;
    if (src == SQLITE_DONE)
        return err_set(err, ERR_NOT_FOUND, "%s: not found", what);
    return notif_sqlite_error(st, src, what, err);
}

int notif_sqlite_exec_ids(struct notif_sqlite *db, const char *sql, const int64_t *v, int n,
                          const char *what, int *changes, struct err *err)
{
    sqlite3_stmt *st;
    int rc = notif_sqlite_stmt(db, sql, &st, err);
    if (rc != 0)
        return rc;
    for (int i = 0; i < n; i++)
        notif_sqlite_bind_int64(st, i + 1, v[i]);
    return notif_sqlite_step_done(st, what, changes, err);
}

int notif_sqlite_begin(struct notif_sqlite *db, const char *what, struct err *err)
{
    return notif_sqlite_exec_ids(db, SQL_BEGIN, NULL, 0, what, NULL, err);
}

int notif_sqlite_finish(struct notif_sqlite *db, int rc, const char *what, struct err *err)
{
    if (rc == 0)
        rc = notif_sqlite_exec_ids(db, SQL_COMMIT, NULL, 0, what, NULL, err);
    if (rc != 0) {
        sqlite3_stmt *st;
        if (notif_sqlite_stmt(db, SQL_ROLLBACK, &st, NULL) == 0) {
            sqlite3_step(st); /* fails harmlessly if SQLite already rolled back */
            notif_sqlite_release(st);
        }
    }
    return rc;
}
