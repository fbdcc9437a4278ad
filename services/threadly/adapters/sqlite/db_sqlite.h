/* db_sqlite.h - threadly-service's SQLite database: lib/db/sqlite_db with threadly's
 * migrations. Not a port: only adapters and main.c include it. */
#ifndef SERVICES_THREADLY_ADAPTERS_SQLITE_DB_SQLITE_H
#define SERVICES_THREADLY_ADAPTERS_SQLITE_DB_SQLITE_H

#include "lib/db/sqlite_db.h"
#include "services/threadly/adapters/migrations.h"

/* sqlite_db_open_migrations of path with every threadly_migrations. */
struct sqlite_db *sqlite_db_open(const char *path, struct err *err);

#endif
