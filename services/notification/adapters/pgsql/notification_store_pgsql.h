/* notification_store_pgsql.h - the notification_store port on PostgreSQL (notif_pgsql.h).
 * Thread-safe: each calling thread uses its own connection. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_PGSQL_NOTIFICATION_STORE_PGSQL_H
#define SERVICES_NOTIFICATION_ADAPTERS_PGSQL_NOTIFICATION_STORE_PGSQL_H

#include "services/notification/adapters/pgsql/notif_pgsql.h"
#include "services/notification/ports/notification_store.h"

/* db must outlive the store; its close() does nothing (pgsql_db_close frees). */
struct notification_store notification_store_pgsql(struct pgsql_db *db);

#endif
