/* contract_fixture.c - temporary databases and the per-case fixture of the contract suites
 * (see contract_fixture.h). */
#include "tests/unit/contract_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tmpdb_init(struct tmpdb *t)
{
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof(t->dir), "%s/%s-XXXXXX", base && *base ? base : "/tmp",
             contract_suite.tmpdb_prefix);
    cr_assert_not_null(mkdtemp(t->dir), "mkdtemp %s", t->dir);
    snprintf(t->path, sizeof(t->path), "%s/threadly.db", t->dir);
}

void tmpdb_remove(struct tmpdb *t)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char p[400];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
    cr_assert_eq(rmdir(t->dir), 0, "leftover files in %s", t->dir);
}

struct sqlite_db *open_db(const char *path)
{
    struct err err = {0};
    struct sqlite_db *db = sqlite_db_open(path, &err);
    cr_assert_not_null(db, "sqlite_db_open: %s", err.msg);
    return db;
}

struct pgsql_db *open_pg(struct pgsql_testdb *t)
{
    pgsql_testdb_create(t); /* or skips the test */
    struct err err = {0};
    struct pgsql_db *db = pgsql_db_open(t->url, &err);
    cr_assert_not_null(db, "pgsql_db_open: %s", err.msg);
    return db;
}

void fixture_open(struct fixture *f, enum adapter kind)
{
    memset(f, 0, sizeof(*f));
    arena_init(&f->a, 0);
    if (kind == ADAPTER_PGSQL) {
        f->pg = open_pg(&f->pgt);
    } else if (kind == ADAPTER_SQLITE) {
        tmpdb_init(&f->tmp);
        f->db = open_db(f->tmp.path);
    }
    contract_suite.open_stores(f, kind);
}

void fixture_close(struct fixture *f)
{
    contract_suite.close_stores(f);
    arena_release(&f->a);
    if (f->db) {
        sqlite_db_close(f->db);
        tmpdb_remove(&f->tmp);
    }
    if (f->pg) {
        pgsql_db_close(f->pg);
        pgsql_testdb_drop(&f->pgt);
    }
}

void run_contract(enum adapter kind, void (*body)(struct fixture *))
{
    struct fixture f;
    fixture_open(&f, kind);
    body(&f);
    fixture_close(&f);
}
