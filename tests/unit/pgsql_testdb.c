/* pgsql_testdb.c - per-test PostgreSQL schemas for the contract suites (see pgsql_testdb.h). */
#include "tests/unit/pgsql_testdb.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether the comma list TEST_REQUIRE names pgsql. */
static bool pgsql_testdb_required(void)
{
    const char *req = getenv("TEST_REQUIRE");
    if (!req)
        return false;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", req);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        if (strcmp(tok, "pgsql") == 0)
            return true;
    }
    return false;
}

/* Notices ("drop cascades to ...") would clutter the test output. */
static void pgsql_testdb_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void pgsql_testdb_exec(const char *url, const char *sql)
{
    PGconn *h = PQconnectdb(url);
    cr_assert_eq(PQstatus(h), CONNECTION_OK, "connect %s: %s", url, PQerrorMessage(h));
    PQsetNoticeProcessor(h, pgsql_testdb_quiet, NULL);
    PGresult *r = PQexec(h, sql);
    ExecStatusType st = PQresultStatus(r);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(h);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, msg);
}

int64_t pgsql_testdb_int(const char *url, const char *sql)
{
    PGconn *h = PQconnectdb(url);
    cr_assert_eq(PQstatus(h), CONNECTION_OK, "connect %s: %s", url, PQerrorMessage(h));
    PGresult *r = PQexec(h, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    int64_t v = ok ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(h);
    cr_assert(ok, "%s: %s", sql, msg);
    return v;
}

void pgsql_testdb_create(struct pgsql_testdb *t)
{
    static unsigned counter;
    memset(t, 0, sizeof(*t));
    const char *url = getenv("TEST_PG_URL");
    if (!url || !*url) {
        if (pgsql_testdb_required())
            cr_assert_fail("TEST_REQUIRE names pgsql but TEST_PG_URL is not set");
        /* Criterion lists skips only with --verbose; this line shows in every run. */
        fprintf(stderr, "SKIP pgsql test: TEST_PG_URL is not set (scripts/test starts a server)\n");
        cr_skip_test("SKIP pgsql: TEST_PG_URL is not set (scripts/test starts a server)");
    }
    snprintf(t->admin, sizeof(t->admin), "%s", url);
    snprintf(t->name, sizeof(t->name), "test_%ld_%u", (long)getpid(), counter++);
    snprintf(t->url, sizeof(t->url), "%s%coptions=-csearch_path%%3D%s&application_name=%s", url,
             strchr(url, '?') ? '&' : '?', t->name, t->name);
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", t->name,
             t->name);
    pgsql_testdb_exec(t->admin, sql);
}

void pgsql_testdb_drop(struct pgsql_testdb *t)
{
    if (!t->name[0])
        return;
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", t->name);
    pgsql_testdb_exec(t->admin, sql);
    t->name[0] = '\0';
}

int pgsql_testdb_terminate(const struct pgsql_testdb *t)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name = '%s' AND pid <> pg_backend_pid()",
             t->name);
    int n = (int)pgsql_testdb_int(t->admin, sql);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", t->name);
    for (int i = 0; i < 500 && pgsql_testdb_int(t->admin, sql) > 0; i++)
        usleep(10 * 1000);
    return n;
}
