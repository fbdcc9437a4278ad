/* notif_sqlite.c - see notif_sqlite.h. */
#include "services/notification/adapters/sqlite/notif_sqlite.h"

struct sqlite_db *notification_sqlite_open(const char *path, struct err *err)
{
    return sqlite_db_open_migrations(path, notification_migrations, notification_migrations_len,
                                     err);
}
