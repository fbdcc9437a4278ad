/* migration.h - one schema migration, as the database helpers of lib/db apply them: a numbered
 * SQL file (NNN_words.sql) of a service's migrations/ folder, embedded at build time. The SQL
 * must not contain transaction statements: each runs in its own transaction. */
#ifndef LIB_DB_MIGRATION_H
#define LIB_DB_MIGRATION_H

#include <stdint.h>

struct db_migration {
    int64_t version;  /* NNN */
    const char *name; /* file name without ".sql" */
    const char *sql;
};

#endif
