/* pgsql_testdb.h - a fresh PostgreSQL schema per test, for the pgsql variants of the contract
 * suites. The server comes from TEST_PG_URL (scripts/test starts one with scripts/pg). Without
 * it the test is skipped visibly, or fails when TEST_REQUIRE names pgsql (STYLE.md "Tests"). */
#ifndef TESTS_UNIT_PGSQL_TESTDB_H
#define TESTS_UNIT_PGSQL_TESTDB_H

#include <stdint.h>

struct pgsql_testdb {
    char name[64];    /* schema and application_name: test_<pid>_<n> */
    char url[1200];   /* TEST_PG_URL with search_path set to the schema */
    char admin[1024]; /* TEST_PG_URL */
};

/* Creates the schema, or skips or fails the calling test when there is no server. */
void pgsql_testdb_create(struct pgsql_testdb *t);
/* Drops the schema with everything in it. */
void pgsql_testdb_drop(struct pgsql_testdb *t);
/* Runs sql (no result wanted) on a new connection to url; asserts it succeeds. */
void pgsql_testdb_exec(const char *url, const char *sql);
/* Runs sql on a new connection to url and returns the first column of its first row as an
 * integer; asserts there is one. */
int64_t pgsql_testdb_int(const char *url, const char *sql);
/* Terminates the server backends of connections whose application_name is t->name (the
 * adapter's connections to t->url) and waits until they are gone. Returns how many. */
int pgsql_testdb_terminate(const struct pgsql_testdb *t);

#endif
