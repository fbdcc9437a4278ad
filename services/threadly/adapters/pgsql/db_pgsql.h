/* db_pgsql.h - threadly-service's PostgreSQL database: lib/db/pgsql_db with threadly's
 * migrations. Not a port: only adapters and main.c include it. */
#ifndef SERVICES_THREADLY_ADAPTERS_PGSQL_DB_PGSQL_H
#define SERVICES_THREADLY_ADAPTERS_PGSQL_DB_PGSQL_H

#include "lib/db/pgsql_db.h"
#include "services/threadly/adapters/migrations.h"

/* pgsql_db_open_migrations of conninfo as "threadly-service" with every threadly_migrations. */
struct pgsql_db *pgsql_db_open(const char *conninfo, struct err *err);

#endif
