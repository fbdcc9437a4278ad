/* mail_store_pgsql.h - the mail_store port on notification-service's PostgreSQL database
 * (notif_pgsql.h, migration 002). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_PGSQL_MAIL_STORE_PGSQL_H
#define SERVICES_NOTIFICATION_ADAPTERS_PGSQL_MAIL_STORE_PGSQL_H

#include "services/notification/adapters/pgsql/notif_pgsql.h"
#include "services/notification/ports/mail_store.h"

/* db must outlive the store; its close() does nothing. */
struct mail_store mail_store_pgsql(struct pgsql_db *db);

#endif
