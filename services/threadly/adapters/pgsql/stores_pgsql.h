/* stores_pgsql.h - PostgreSQL adapters of the account, app, token, status, social and outbox
 * store ports, on a struct pgsql_db (db_pgsql.h). Thread-safe: each calling thread uses its own
 * connection. All SQL is parameterised; results are copied into the caller's arena and no
 * PGresult outlives a call. */
#ifndef SERVICES_THREADLY_ADAPTERS_PGSQL_STORES_PGSQL_H
#define SERVICES_THREADLY_ADAPTERS_PGSQL_STORES_PGSQL_H

#include "services/threadly/adapters/pgsql/db_pgsql.h"
#include "services/threadly/ports/account_store.h"
#include "services/threadly/ports/app_store.h"
#include "services/threadly/ports/email_token_store.h"
#include "services/threadly/ports/outbox_store.h"
#include "services/threadly/ports/social_store.h"
#include "services/threadly/ports/status_store.h"
#include "services/threadly/ports/token_store.h"

/* db must outlive the stores. Their close() does nothing: pgsql_db_close frees the
 * connections. */
struct account_store account_store_pgsql(struct pgsql_db *db);
struct app_store app_store_pgsql(struct pgsql_db *db);
struct token_store token_store_pgsql(struct pgsql_db *db);
struct status_store status_store_pgsql(struct pgsql_db *db);
struct social_store social_store_pgsql(struct pgsql_db *db);
struct outbox_store outbox_store_pgsql(struct pgsql_db *db);
struct email_token_store email_token_store_pgsql(struct pgsql_db *db);

/* ---- For the pgsql store adapters only ----
 * Builds emit's events for change ch (nothing for a NULL emit) and appends them to the outbox
 * on the calling thread's connection, which must be inside the change's transaction. */
int outbox_pgsql_write(struct pgsql_db *db, const struct outbox_emit *emit,
                       const struct outbox_change *ch, struct err *err);
/* Ends the change's transaction: when rc is 0, appends emit's events (as outbox_pgsql_write)
 * and commits, the last append and the COMMIT in one round trip; otherwise rolls back.
 * Returns the outcome, as pgsql_db_finish. */
int outbox_pgsql_commit(struct pgsql_db *db, int rc, const struct outbox_emit *emit,
                        const struct outbox_change *ch, struct err *err);

/* ---- Shared by status_store_pgsql.c and social_store_pgsql.c only ----
 * The columns of a status row of `statuses s` (migration 002): mentions as account ids joined
 * by ',' and tags joined by chr(31), both in position order (NULL when there are none), so
 * that a page is one query. */
#define STATUS_PGSQL_COLUMNS                                                                       \
    "s.id, s.account_id, s.text, s.content, s.spoiler_text, s.visibility, s.sensitive, "           \
    "s.language, s.in_reply_to_id, s.in_reply_to_account_id, s.application_id, "                   \
    "s.created_at_ms, s.replies_count, s.favourites_count, s.reblogs_count, "                      \
    "(SELECT string_agg(m.account_id::text, ',' ORDER BY m.position) "                             \
    "FROM status_mentions m WHERE m.status_id = s.id), "                                           \
    "(SELECT string_agg(t.tag, chr(31) ORDER BY t.position) "                                      \
    "FROM status_tags t WHERE t.status_id = s.id)"
#define STATUS_PGSQL_NCOLUMNS 17

/* Copies the STATUS_PGSQL_COLUMNS of row `row` of r, starting at column col, into *out and the
 * arena (author NULL). */
void status_store_pgsql_row(const struct pg_result *r, int row, int col, struct arena *a,
                            struct status *out);

/* ---- Shared by account_store_pgsql.c and status_store_pgsql.c only ----
 * The account columns, in account_store_pgsql.c's order, of `accounts a`, and the join that
 * gives a status s its author: a status read with its author is one round trip. */
#define ACCOUNT_PGSQL_NCOLUMNS 14
#define AUTHOR_PGSQL_COLUMNS                                                                       \
    "a.id, a.username, a.email, a.display_name, a.note, a.password_hash, a.locked, a.bot, "        \
    "a.discoverable, a.created_at_ms, a.statuses_count, a.followers_count, a.following_count, "    \
    "a.last_status_at_ms"
#define AUTHOR_PGSQL_JOIN " LEFT JOIN accounts a ON a.id = s.account_id"
/* Copies the account columns of row `row` of r, starting at column col, into the arena; NULL
 * when they are NULL (no such account). */
struct account *account_store_pgsql_copy(const struct pg_result *r, int row, int col,
                                         struct arena *a);

#endif
