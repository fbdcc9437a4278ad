/* notif_pgsql.h - notification-service's PostgreSQL database: lib/db/pgsql_db with
 * notification-service's migrations. Not a port: only adapters and main.c include it. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_PGSQL_NOTIF_PGSQL_H
#define SERVICES_NOTIFICATION_ADAPTERS_PGSQL_NOTIF_PGSQL_H

#include "lib/db/pgsql_db.h"
#include "services/notification/adapters/migrations.h"

/* pgsql_db_open_migrations of conninfo as "notification-service" with every
 * notification_migrations. */
struct pgsql_db *notification_pgsql_open(const char *conninfo, struct err *err);

#endif
