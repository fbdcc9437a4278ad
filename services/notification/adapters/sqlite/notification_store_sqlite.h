/* notification_store_sqlite.h - the notification_store port on SQLite (notif_sqlite.h).
 * Thread-safe: each calling thread uses its own connection. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_SQLITE_NOTIFICATION_STORE_SQLITE_H
#define SERVICES_NOTIFICATION_ADAPTERS_SQLITE_NOTIFICATION_STORE_SQLITE_H

#include "services/notification/adapters/sqlite/notif_sqlite.h"
#include "services/notification/ports/notification_store.h"

/* db must outlive the store; its close() does nothing (sqlite_db_close frees). */
struct notification_store notification_store_sqlite(struct sqlite_db *db);

#endif
