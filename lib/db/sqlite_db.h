/* sqlite_db.h - a service's SQLite database, for its sqlite store adapters: opening (WAL,
 * pragmas, the service's schema migrations), one connection per calling thread, cached prepared
 * statements and the translation of SQLite result codes into err codes. Shared by both
 * services (each with its own database and migrations); knows nothing of their tables. Not a
 * port: only adapters and main.c include it, and no sqlite3 type appears in the part main.c
 * uses. */
#ifndef LIB_DB_SQLITE_DB_H
#define LIB_DB_SQLITE_DB_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/db/migration.h"

#include <stddef.h>
#include <stdint.h>

struct sqlite_db;

/* Opens or creates the database file at path (":memory:" and "" are refused: every thread
 * gets its own connection, so the file must be shared), switches it to WAL, and applies the
 * pending migrations m[0..n) (strictly increasing versions). On failure returns NULL with err
 * set: ERR_INVALID for a bad path, ERR_UNAVAILABLE if the file cannot be opened or written,
 * ERR_INTERNAL otherwise (for instance a file that is not a database); err->msg names the path
 * and SQLite's reason.
 * Each pending one runs in its own BEGIN IMMEDIATE transaction and is recorded in
 * schema_migrations(version, applied_at) with applied_at in Unix milliseconds; a failing one
 * is rolled back and fails the open. Recorded versions not in the list are left alone, so an
 * older binary can run against a database a newer one migrated (blue-green). */
struct sqlite_db *sqlite_db_open_migrations(const char *path, const struct db_migration *m,
                                            size_t n, struct err *err);
/* Closes every connection, including those of threads that have exited, and frees db.
 * NULL is a no-op. No thread may be using db, or exit, while this runs (call it after the
 * HTTP server and other users have been stopped and joined). */
void sqlite_db_close(struct sqlite_db *db);
/* Runs "SELECT 1" on the calling thread's connection (the /ready check). */
int sqlite_db_ping(struct sqlite_db *db, struct err *err);
/* How many migrations the open applied (0 when the database was up to date). */
size_t sqlite_db_migrations_applied(const struct sqlite_db *db);

/* ---- For the sqlite store adapters only ----
 * Each thread that calls in gets its own connection, opened on first use (SQLITE_OPEN_NOMUTEX
 * with busy_timeout 5000 ms, synchronous=NORMAL, foreign_keys=ON). When the thread exits its
 * connection, with its prepared statements, is kept for the next new thread. */
struct sqlite3_stmt;

/* The calling thread's prepared statement for sql, prepared once per connection and cached.
 * The cache is keyed by the address of sql, so sql must be a string with static storage
 * (a `static const char SQL_X[]`). Bind, step, then hand it back with sqlite_db_release;
 * a statement must not be used twice at once (no nested use of the same SQL). */
int sqlite_db_stmt(struct sqlite_db *db, const char *sql, struct sqlite3_stmt **out,
                   struct err *err);
/* Resets st and clears its bindings so it is ready for the next use. */
void sqlite_db_release(struct sqlite3_stmt *st);
/* Translates rc, a failure of st, into err and returns the code: SQLITE_CONSTRAINT* ->
 * ERR_CONFLICT; SQLITE_BUSY, LOCKED, IOERR, CANTOPEN, FULL -> ERR_UNAVAILABLE; anything else
 * -> ERR_INTERNAL. err->msg is "what: <sqlite3_errmsg>". Call it before sqlite_db_release. */
int sqlite_db_error(struct sqlite3_stmt *st, int rc, const char *what, struct err *err);

/* Room for the JSON array of up to n ids that sqlite_db_json_ids writes. */
#define SQLITE_DB_JSON_IDS_LEN(n) (3 + (n)*21)
/* Writes ids[0..n) as a JSON array of signed integers ("[1,2]", "[]" for n 0) into buf, of
 * at least SQLITE_DB_JSON_IDS_LEN(n) bytes, for `IN (SELECT value FROM json_each(?))`: one
 * statement, prepared once, for any number of ids. */
void sqlite_db_json_ids(char *buf, const uint64_t *ids, size_t n);
/* s, or "" for NULL. */
const char *sqlite_db_or_empty(const char *s);
/* Bind to parameter i of st (1-based). Text is bound SQLITE_STATIC: s must outlive the step.
 * Binding to a valid statement fails only for a wrong index or type, a bug, so these assert. */
void sqlite_db_bind_text(struct sqlite3_stmt *st, int i, const char *s);
void sqlite_db_bind_int64(struct sqlite3_stmt *st, int i, int64_t v);
/* Column i of st's current row, copied into the arena; "" for SQL NULL. */
const char *sqlite_db_column_text(struct sqlite3_stmt *st, int i, struct arena *a);
/* Steps st, a statement that returns no row, and releases it; *changes (if not NULL) gets the
 * number of rows it changed. */
int sqlite_db_step_done(struct sqlite3_stmt *st, const char *what, int *changes, struct err *err);
/* Steps st for one row. 0: the row is current, read its columns; ERR_NOT_FOUND ("what: not
 * found") if there is none; else the translated error. Does not release st: the caller does,
 * in every case. */
int sqlite_db_step_row(struct sqlite3_stmt *st, const char *what, struct err *err);
/* Runs sql, which returns no row, with the n values v bound to ?1.. (v may be NULL when n is
 * 0); *changes (if not NULL) gets the rows changed. */
int sqlite_db_exec_ids(struct sqlite_db *db, const char *sql, const int64_t *v, int n,
                       const char *what, int *changes, struct err *err);
/* Starts a write transaction (BEGIN IMMEDIATE) on the calling thread's connection; `what`
 * names it in err->msg. */
int sqlite_db_begin(struct sqlite_db *db, const char *what, struct err *err);
/* Commits if rc is 0, and rolls back otherwise or if the commit fails (`what` names the
 * commit); returns the outcome, as pgsql_db_finish. */
int sqlite_db_finish(struct sqlite_db *db, int rc, const char *what, struct err *err);

#endif
