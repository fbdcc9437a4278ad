/* stores_sqlite.h - SQLite adapters of the account, app, token, status, social and outbox store
 * ports, on a struct sqlite_db (db_sqlite.h). Thread-safe: each calling thread uses its own
 * connection. All SQL is parameterised; results are copied into the caller's arena. */
#ifndef SERVICES_THREADLY_ADAPTERS_SQLITE_STORES_SQLITE_H
#define SERVICES_THREADLY_ADAPTERS_SQLITE_STORES_SQLITE_H

#include "services/threadly/adapters/sqlite/db_sqlite.h"
#include "services/threadly/ports/account_store.h"
#include "services/threadly/ports/app_store.h"
#include "services/threadly/ports/email_token_store.h"
#include "services/threadly/ports/outbox_store.h"
#include "services/threadly/ports/social_store.h"
#include "services/threadly/ports/status_store.h"
#include "services/threadly/ports/token_store.h"

/* db must outlive the stores. Their close() does nothing: sqlite_db_close frees the
 * connections. */
struct account_store account_store_sqlite(struct sqlite_db *db);
struct app_store app_store_sqlite(struct sqlite_db *db);
struct token_store token_store_sqlite(struct sqlite_db *db);
struct status_store status_store_sqlite(struct sqlite_db *db);
struct social_store social_store_sqlite(struct sqlite_db *db);
struct outbox_store outbox_store_sqlite(struct sqlite_db *db);
struct email_token_store email_token_store_sqlite(struct sqlite_db *db);

/* ---- For the sqlite store adapters only ----
 * Builds emit's events for change ch (nothing for a NULL emit) and appends them to the outbox
 * on the calling thread's connection, which must be inside the change's write transaction. */
int outbox_sqlite_write(struct sqlite_db *db, const struct outbox_emit *emit,
                        const struct outbox_change *ch, struct err *err);

/* ---- Shared by status_store_sqlite.c and social_store_sqlite.c only ----
 * The columns of a status row of `statuses s` (migration 002), mentions and tags included as
 * "position:value" items joined by char(31), so that a page is one query. */
#define STATUS_SQLITE_COLUMNS                                                                      \
    "s.id, s.account_id, s.text, s.content, s.spoiler_text, s.visibility, s.sensitive, "           \
    "s.language, s.in_reply_to_id, s.in_reply_to_account_id, s.application_id, "                   \
    "s.created_at_ms, s.replies_count, s.favourites_count, s.reblogs_count, "                      \
    "(SELECT group_concat(m.position || ':' || m.account_id, char(31)) "                           \
    "FROM status_mentions m WHERE m.status_id = s.id), "                                           \
    "(SELECT group_concat(t.position || ':' || t.tag, char(31)) "                                  \
    "FROM status_tags t WHERE t.status_id = s.id)"

/* Copies the STATUS_SQLITE_COLUMNS of st's current row, starting at column col, into *out
 * and the arena. ERR_INTERNAL if the mention or tag lists are malformed. */
int status_store_sqlite_row(struct sqlite3_stmt *st, int col, struct arena *a, struct status *out,
                            struct err *err);

#endif
