/* notif_pgsql.c - see notif_pgsql.h. */
#include "services/notification/adapters/pgsql/notif_pgsql.h"

struct pgsql_db *notification_pgsql_open(const char *conninfo, struct err *err)
{
    return pgsql_db_open_migrations(conninfo, "notification-service", notification_migrations,
                                    notification_migrations_len, err);
}
