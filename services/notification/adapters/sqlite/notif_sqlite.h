/* notif_sqlite.h - notification-service's SQLite database: lib/db/sqlite_db with
 * notification-service's migrations. Not a port: only adapters and main.c include it. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_SQLITE_NOTIF_SQLITE_H
#define SERVICES_NOTIFICATION_ADAPTERS_SQLITE_NOTIF_SQLITE_H

#include "lib/db/sqlite_db.h"
#include "services/notification/adapters/migrations.h"

/* sqlite_db_open_migrations of path with every notification_migrations. */
struct sqlite_db *notification_sqlite_open(const char *path, struct err *err);

#endif
