/* mail_store_sqlite.h - the mail_store port on notification-service's SQLite database
 * (notif_sqlite.h, migration 002). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_SQLITE_MAIL_STORE_SQLITE_H
#define SERVICES_NOTIFICATION_ADAPTERS_SQLITE_MAIL_STORE_SQLITE_H

#include "services/notification/adapters/sqlite/notif_sqlite.h"
#include "services/notification/ports/mail_store.h"

/* db must outlive the store; its close() does nothing. */
struct mail_store mail_store_sqlite(struct sqlite_db *db);

#endif
