/* stores_sqlite.h - SQLite adapters of the account, app and token store ports, on a
 * struct sqlite_db (db_sqlite.h). Thread-safe: each calling thread uses its own connection.
 * All SQL is parameterised; results are copied into the caller's arena. */
#ifndef SERVICES_THREADLY_ADAPTERS_SQLITE_STORES_SQLITE_H
#define SERVICES_THREADLY_ADAPTERS_SQLITE_STORES_SQLITE_H

#include "services/threadly/adapters/sqlite/db_sqlite.h"
#include "services/threadly/ports/account_store.h"
#include "services/threadly/ports/app_store.h"
#include "services/threadly/ports/token_store.h"

/* db must outlive the stores. Their close() does nothing: sqlite_db_close frees the
 * connections. */
struct account_store account_store_sqlite(struct sqlite_db *db);
struct app_store app_store_sqlite(struct sqlite_db *db);
struct token_store token_store_sqlite(struct sqlite_db *db);

#endif
