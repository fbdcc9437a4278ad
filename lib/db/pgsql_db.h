/* pgsql_db.h - a service's PostgreSQL database, for its pgsql store adapters (libpq): opening
 * and schema migrations, one connection per calling thread with its own prepared statements,
 * reconnection after a lost connection, and the translation of SQLSTATEs into err codes.
 * Shared by both services (each with its own database and migrations).
 * Not a port: only adapters and main.c include it, and no libpq type appears in the part
 * main.c uses. */
#ifndef LIB_DB_PGSQL_DB_H
#define LIB_DB_PGSQL_DB_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/db/migration.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pgsql_db;

/* Connects to conninfo (a postgres:// or postgresql:// URL, or "key=value" pairs) as
 * application_name app_name and applies the pending migrations m[0..n) (strictly increasing
 * versions). Each pending one runs in its own transaction holding pg_advisory_xact_lock, so two
 * processes migrating at once apply each file once; it is recorded in
 * schema_migrations(version, applied_at) with applied_at in Unix milliseconds. A failing one is
 * rolled back and fails the open. Recorded versions not in the list are left alone
 * (blue-green, as in sqlite). On failure returns NULL with err set: ERR_UNAVAILABLE if the
 * server cannot be reached, ERR_INTERNAL otherwise (a failing migration, a refused login);
 * err->msg has libpq's reason but never the password. */
struct pgsql_db *pgsql_db_open_migrations(const char *conninfo, const char *app_name,
                                          const struct db_migration *m, size_t n, struct err *err);
/* Closes every connection, including those of threads that have exited, and frees db.
 * NULL is a no-op. No thread may be using db, or exit, while this runs. */
void pgsql_db_close(struct pgsql_db *db);
/* Runs "SELECT 1" on the calling thread's connection, reconnecting if it was lost (the /ready
 * check). ERR_UNAVAILABLE while the server is unreachable. */
int pgsql_db_ping(struct pgsql_db *db, struct err *err);
/* How many migrations the open applied (0 when the database was up to date). */
size_t pgsql_db_migrations_applied(const struct pgsql_db *db);

/* ---- For the pgsql store adapters only ----
 * Each thread that calls in gets its own connection, opened on first use; when the thread exits
 * its connection, with its prepared statements, is kept for the next new thread. A call that
 * finds the connection lost (connection refused or reset, SQLSTATE class 08, 57P01..57P03)
 * returns ERR_UNAVAILABLE and drops the connection, so the thread's next call reconnects. */
struct pg_result; /* libpq's PGresult */

#define PGSQL_MAX_PARAMS 16

/* Query parameters, all sent as text. Owned by the caller (usually on the stack); text values
 * are borrowed and must outlive the query. */
struct pgsql_params {
    int n;
    const char *values[PGSQL_MAX_PARAMS];
    char buf[PGSQL_MAX_PARAMS][24];
};

void pgsql_params_int64(struct pgsql_params *p, int64_t v);
void pgsql_params_bool(struct pgsql_params *p, bool v);
/* NULL is sent as ''. */
void pgsql_params_text(struct pgsql_params *p, const char *s);

/* Room for the array literal of up to n ids that pgsql_db_array_ids writes. */
#define PGSQL_DB_ARRAY_IDS_LEN(n) (3 + (n)*21)
/* Writes ids[0..n) as a bigint[] literal ("{1,2}", "{}" for n 0) into buf, of at least
 * PGSQL_DB_ARRAY_IDS_LEN(n) bytes, to be sent as one text parameter for `= ANY($1::bigint[])`. */
void pgsql_db_array_ids(char *buf, const uint64_t *ids, size_t n);

/* Runs sql with params p (NULL: none) on the calling thread's connection, prepared once per
 * connection and cached by the address of sql (a `static const char SQL_X[]`). On success
 * *out (if not NULL) gets the result, which the caller must free with pgsql_db_clear before
 * returning, and *changes (if not NULL) the number of rows a DML statement touched. Errors:
 * SQLSTATE 23xxx -> ERR_CONFLICT; a lost connection, serialization failure, deadlock or lock
 * timeout -> ERR_UNAVAILABLE; anything else -> ERR_INTERNAL; err->msg is "what: <reason>". */
int pgsql_db_query(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                   struct pg_result **out, int64_t *changes, const char *what, struct err *err);
void pgsql_db_clear(struct pg_result *r);
/* pgsql_db_query for a statement expected to return a row (r is then set): when it returns
 * none, r is cleared and the result is ERR_NOT_FOUND ("what: not found"). */
int pgsql_db_query_row(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                       struct pg_result **out, const char *what, struct err *err);
/* pgsql_db_query with the n values v (n <= PGSQL_MAX_PARAMS) as parameters $1... */
int pgsql_db_query_ids(struct pgsql_db *db, const char *sql, const int64_t *v, int n,
                       struct pg_result **out, int64_t *changes, const char *what, struct err *err);
/* Queues sql with params p (copied) as a statement of the current transaction whose result is
 * not read: it is sent with the transaction's next statement, pgsql_db_commit_with or
 * pgsql_db_finish, in the same round trip, and if it fails that call fails with its error
 * ("what: <reason>"), the transaction then rolled back by pgsql_db_finish as usual. */
int pgsql_db_defer(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                   const char *what, struct err *err);
/* Starts a transaction on the calling thread's connection. */
int pgsql_db_begin(struct pgsql_db *db, struct err *err);
/* Commits if rc is 0, rolls back otherwise or if the commit fails; returns the outcome. */
int pgsql_db_finish(struct pgsql_db *db, int rc, struct err *err);
/* Runs sql (whose result is not needed; NULL: none) as the transaction's last statement and
 * commits, in one round trip with any deferred statements; rolls back if any fails. Instead of
 * pgsql_db_query + pgsql_db_finish(0). */
int pgsql_db_commit_with(struct pgsql_db *db, const char *sql, const struct pgsql_params *p,
                         const char *what, struct err *err);

/* Values of result r, copied where they are strings (never NULL: SQL NULL is ""). */
int pgsql_ntuples(const struct pg_result *r);
bool pgsql_isnull(const struct pg_result *r, int row, int col);
int64_t pgsql_int64(const struct pg_result *r, int row, int col);
bool pgsql_bool(const struct pg_result *r, int row, int col);
const char *pgsql_text(const struct pg_result *r, int row, int col, struct arena *a);
/* The raw value, valid until the result is cleared; NULL for SQL NULL. */
const char *pgsql_value(const struct pg_result *r, int row, int col);

#endif
