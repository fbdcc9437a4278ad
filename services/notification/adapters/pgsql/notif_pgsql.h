/* notif_pgsql.h - the PostgreSQL database behind notification-service's pgsql store (libpq):
 * opening and schema migrations, one connection per calling thread with its own prepared
 * statements, reconnection after a lost connection, and the translation of SQLSTATEs into err
 * codes. Not a port: only adapters and main.c include it, and no libpq type appears in the part
 * main.c uses. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_PGSQL_NOTIF_PGSQL_H
#define SERVICES_NOTIFICATION_ADAPTERS_PGSQL_NOTIF_PGSQL_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/notification/adapters/migrations.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct notif_pgsql;

/* Connects to conninfo (a postgres:// or postgresql:// URL, or "key=value" pairs) and applies
 * the pending notification_migrations. On failure returns NULL with err set: ERR_UNAVAILABLE if the
 * server cannot be reached, ERR_INTERNAL otherwise (a failing migration, a refused login);
 * err->msg has libpq's reason but never the password. */
struct notif_pgsql *notif_pgsql_open(const char *conninfo, struct err *err);
/* The same with an explicit list of migrations (strictly increasing versions), for tests.
 * Each pending one runs in its own transaction holding pg_advisory_xact_lock, so two processes
 * migrating at once apply each file once; it is recorded in schema_migrations(version,
 * applied_at) with applied_at in Unix milliseconds. A failing one is rolled back and fails the
 * open. Recorded versions not in the list are left alone (blue-green, as in sqlite). */
struct notif_pgsql *notif_pgsql_open_migrations(const char *conninfo,
                                                const struct notif_migration *m, size_t n,
                                                struct err *err);
/* Closes every connection, including those of threads that have exited, and frees db.
 * NULL is a no-op. No thread may be using db, or exit, while this runs. */
void notif_pgsql_close(struct notif_pgsql *db);
/* Runs "SELECT 1" on the calling thread's connection, reconnecting if it was lost (the /ready
 * check). ERR_UNAVAILABLE while the server is unreachable. */
int notif_pgsql_ping(struct notif_pgsql *db, struct err *err);
/* How many migrations the open applied (0 when the database was up to date). */
size_t notif_pgsql_migrations_applied(const struct notif_pgsql *db);

/* ---- For the pgsql store adapters only ----
 * Each thread that calls in gets its own connection, opened on first use; when the thread exits
 * its connection, with its prepared statements, is kept for the next new thread. A call that
 * finds the connection lost (connection refused or reset, SQLSTATE class 08, 57P01..57P03)
 * returns ERR_UNAVAILABLE and drops the connection, so the thread's next call reconnects. */
struct pg_result; /* libpq's PGresult */

#define NOTIF_PGSQL_MAX_PARAMS 16

/* Query parameters, all sent as text. Owned by the caller (usually on the stack); text values
 * are borrowed and must outlive the query. */
struct notif_pgsql_params {
    int n;
    const char *values[NOTIF_PGSQL_MAX_PARAMS];
    char buf[NOTIF_PGSQL_MAX_PARAMS][24];
};

void notif_pgsql_params_int64(struct notif_pgsql_params *p, int64_t v);
void notif_pgsql_params_bool(struct notif_pgsql_params *p, bool v);
/* NULL is sent as ''. */
void notif_pgsql_params_text(struct notif_pgsql_params *p, const char *s);

/* Room for the array literal of up to n ids that notif_pgsql_array_ids writes. */
#define NOTIF_PGSQL_ARRAY_IDS_LEN(n) (3 + (n)*21)
/* Writes ids[0..n) as a bigint[] literal ("{1,2}", "{}" for n 0) into buf, of at least
 * NOTIF_PGSQL_ARRAY_IDS_LEN(n) bytes, to be sent as one text parameter for `= ANY($1::bigint[])`.
 */
void notif_pgsql_array_ids(char *buf, const uint64_t *ids, size_t n);

/* Runs sql with params p (NULL: none) on the calling thread's connection, prepared once per
 * connection and cached by the address of sql (a `static const char SQL_X[]`). On success
 * *out (if not NULL) gets the result, which the caller must free with notif_pgsql_clear before
 * returning, and *changes (if not NULL) the number of rows a DML statement touched. Errors:
 * SQLSTATE 23xxx -> ERR_CONFLICT; a lost connection, serialization failure, deadlock or lock
 * timeout -> ERR_UNAVAILABLE; anything else -> ERR_INTERNAL; err->msg is "what: <reason>". */
int notif_pgsql_query(struct notif_pgsql *db, const char *sql, const struct notif_pgsql_params *p,
                      struct pg_result **out, int64_t *changes, const char *what, struct err *err);
void notif_pgsql_clear(struct pg_result *r);
/* notif_pgsql_query for a statement expected to return a row (r is then set): when it returns
 * none, r is cleared and the result is ERR_NOT_FOUND ("what: not found"). */
int notif_pgsql_query_row(struct notif_pgsql *db, const char *sql,
                          const struct notif_pgsql_params *p, struct pg_result **out,
                          const char *what, struct err *err);
/* notif_pgsql_query with the n values v (n <= NOTIF_PGSQL_MAX_PARAMS) as parameters $1... */
int notif_pgsql_query_ids(struct notif_pgsql *db, const char *sql, const int64_t *v, int n,
                          struct pg_result **out, int64_t *changes, const char *what,
                          struct err *err);
/* Starts a transaction on the calling thread's connection. */
int notif_pgsql_begin(struct notif_pgsql *db, struct err *err);
/* Commits if rc is 0, rolls back otherwise or if the commit fails; returns the outcome. */
int notif_pgsql_finish(struct notif_pgsql *db, int rc, struct err *err);

/* Values of result r, copied where they are strings (never NULL: SQL NULL is ""). */
int notif_pgsql_ntuples(const struct pg_result *r);
bool notif_pgsql_isnull(const struct pg_result *r, int row, int col);
int64_t notif_pgsql_int64(const struct pg_result *r, int row, int col);
bool notif_pgsql_bool(const struct pg_result *r, int row, int col);
const char *notif_pgsql_text(const struct pg_result *r, int row, int col, struct arena *a);
/* The raw value, valid until the result is cleared; NULL for SQL NULL. */
const char *notif_pgsql_value(const struct pg_result *r, int row, int col);

#endif
