/* contract_fixture.h - what the contract suites (test_store_contract.c, test_status_contract.c)
 * share: temporary sqlite files, fresh pgsql schemas, the fixture of one case and the CONTRACT
 * macro that runs one body on every adapter. Not a test itself; each suite supplies its stores
 * through `contract_suite`. The names have no module prefix so the suites read as before. */
#ifndef TESTS_UNIT_CONTRACT_FIXTURE_H
#define TESTS_UNIT_CONTRACT_FIXTURE_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "services/threadly/adapters/mem/stores_mem.h"
#include "services/threadly/adapters/pgsql/stores_pgsql.h"
#include "services/threadly/adapters/sqlite/stores_sqlite.h"
#include "tests/unit/pgsql_testdb.h"

#include <criterion/criterion.h>

/* ---- temporary database files ---- */

struct tmpdb {
    char dir[256];
    char path[320];
};

/* Makes a new directory $TMPDIR/<contract_suite.tmpdb_prefix>-XXXXXX (TMPDIR defaults to
 * /tmp); t->path is the database file in it (not created yet). Asserts it succeeds. */
void tmpdb_init(struct tmpdb *t);
/* Removes the database file, its -wal, -shm and -journal companions and the directory, and
 * asserts nothing else was left in it. */
void tmpdb_remove(struct tmpdb *t);
/* sqlite_db_open of path, asserted to succeed. */
struct sqlite_db *open_db(const char *path);
/* A fresh schema (or a skip without TEST_PG_URL) and the database on it, migrated. */
struct pgsql_db *open_pg(struct pgsql_testdb *t);

/* ---- fixture: the stores of one adapter ---- */

enum adapter { ADAPTER_MEM, ADAPTER_SQLITE, ADAPTER_PGSQL };

/* One case's databases and stores. fixture_open opens db (sqlite, on tmp) or pg (pgsql, on pgt)
 * and the suite's open_stores fills in the stores it tests; the others stay zero. */
struct fixture {
    struct tmpdb tmp;
    struct sqlite_db *db;
    struct pgsql_testdb pgt;
    struct pgsql_db *pg;
    struct mem_db *mem; /* the mem adapter of test_status_contract.c, test_outbox_contract.c */
    struct account_store accounts;
    struct app_store apps;                 /* test_store_contract.c */
    struct token_store tokens;             /* test_store_contract.c */
    struct status_store statuses;          /* test_status_contract.c */
    struct social_store social;            /* test_status_contract.c */
    struct outbox_store outbox;            /* test_outbox_contract.c */
    struct email_token_store email_tokens; /* test_email_token_contract.c */
    struct arena a;
    struct err err;
};

/* What each suite defines once, as `const struct contract_suite contract_suite = {...};`. */
struct contract_suite {
    const char *tmpdb_prefix; /* names its temporary directories */
    /* Opens the suite's stores for kind: on f->db (sqlite), f->pg (pgsql), or in memory. */
    void (*open_stores)(struct fixture *f, enum adapter kind);
    /* Closes them, and frees whatever open_stores made for the mem adapter. */
    void (*close_stores)(struct fixture *f);
};
extern const struct contract_suite contract_suite;

void fixture_open(struct fixture *f, enum adapter kind);
void fixture_close(struct fixture *f);
/* fixture_open, body, fixture_close. */
void run_contract(enum adapter kind, void (*body)(struct fixture *));

/* CONTRACT(suite, name) { body using f } defines the tests suite::name_mem, suite::name_sqlite
 * and suite::name_pgsql, which run the same body on each adapter. */
#define CONTRACT(suite, name)                                                                      \
    static void contract_##suite##_##name(struct fixture *f);                                      \
    Test(suite, name##_mem)                                                                        \
    {                                                                                              \
        run_contract(ADAPTER_MEM, contract_##suite##_##name);                                      \
    }                                                                                              \
    Test(suite, name##_sqlite)                                                                     \
    {                                                                                              \
        run_contract(ADAPTER_SQLITE, contract_##suite##_##name);                                   \
    }                                                                                              \
    Test(suite, name##_pgsql)                                                                      \
    {                                                                                              \
        run_contract(ADAPTER_PGSQL, contract_##suite##_##name);                                    \
    }                                                                                              \
    static void contract_##suite##_##name(struct fixture *f)

#endif
