/* db_pgsql.c - see db_pgsql.h. */
#include "services/threadly/adapters/pgsql/db_pgsql.h"

struct pgsql_db *pgsql_db_open(const char *conninfo, struct err *err)
{
    return pgsql_db_open_migrations(conninfo, "threadly-service", threadly_migrations,
                                    threadly_migrations_len, err);
}
