/* db_sqlite.c - see db_sqlite.h. */
#include "services/threadly/adapters/sqlite/db_sqlite.h"

struct sqlite_db *sqlite_db_open(const char *path, struct err *err)
{
    return sqlite_db_open_migrations(path, threadly_migrations, threadly_migrations_len, err);
}
