/* test_mail_store_contract.c - the mail_store contract, run on mem, sqlite (a temporary
 * notification database, migration 002) and pgsql (a fresh schema of TEST_PG_URL, else a
 * visible SKIP). */
#include "services/notification/adapters/mem/mail_store_mem.h"
#include "services/notification/adapters/pgsql/mail_store_pgsql.h"
#include "services/notification/adapters/sqlite/mail_store_sqlite.h"
#include "tests/unit/pgsql_testdb.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum adapter { ADAPTER_MEM, ADAPTER_SQLITE, ADAPTER_PGSQL };

struct fixture {
    char dir[64], path[128];
    struct sqlite_db *db;
    struct pgsql_testdb pgt;
    struct pgsql_db *pg;
    struct mail_store s;
    struct arena a;
    struct err err;
};

static void run(enum adapter kind, void (*body)(struct fixture *))
{
    struct fixture f;
    memset(&f, 0, sizeof(f));
    arena_init(&f.a, 4096);
    if (kind == ADAPTER_MEM) {
        f.s = mail_store_mem_new();
    } else if (kind == ADAPTER_PGSQL) {
        pgsql_testdb_create(&f.pgt);
        f.pg = notification_pgsql_open(f.pgt.url, &f.err);
        cr_assert_not_null(f.pg, "%s", f.err.msg);
        f.s = mail_store_pgsql(f.pg);
    } else {
        snprintf(f.dir, sizeof(f.dir), "%s/mail-contract-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        cr_assert_not_null(mkdtemp(f.dir));
        snprintf(f.path, sizeof(f.path), "%s/n.db", f.dir);
        f.db = notification_sqlite_open(f.path, &f.err);
        cr_assert_not_null(f.db, "%s", f.err.msg);
        f.s = mail_store_sqlite(f.db);
    }
    body(&f);
    mail_store_close(&f.s);
    if (f.pg) {
        pgsql_db_close(f.pg);
        pgsql_testdb_drop(&f.pgt);
    }
    if (f.db) {
        sqlite_db_close(f.db);
        char cmd[200];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f.dir);
        cr_assert_eq(system(cmd), 0);
    }
    arena_release(&f.a);
}

#define CONTRACT(name)                                                                             \
    static void contract_##name(struct fixture *f);                                                \
    Test(mail_store, name##_mem)                                                                   \
    {                                                                                              \
        run(ADAPTER_MEM, contract_##name);                                                         \
    }                                                                                              \
    Test(mail_store, name##_sqlite)                                                                \
    {                                                                                              \
        run(ADAPTER_SQLITE, contract_##name);                                                      \
    }                                                                                              \
    Test(mail_store, name##_pgsql)                                                                 \
    {                                                                                              \
        run(ADAPTER_PGSQL, contract_##name);                                                       \
    }                                                                                              \
    static void contract_##name(struct fixture *f)

#define ALICE 11
#define BOB 12

static struct mail_job job(uint64_t id, uint64_t event, uint64_t recipient, const char *kind,
                           enum mail_job_state state, int64_t at)
{
    return (struct mail_job){.id = id,
                             .event_id = event,
                             .recipient_id = recipient,
                             .kind = kind,
                             .to = state == MAIL_JOB_QUEUED ? "a@example.org" : "",
                             .data =
                                 state == MAIL_JOB_QUEUED ? "Subject: x\r\n\r\nZoë 🧵\r\n" : "",
                             .state = state,
                             .next_attempt_at_ms = at,
                             .created_at_ms = at,
                             .last_error = ""};
}

static void put(struct fixture *f, uint64_t id, const char *email, const char *token)
{
    struct mail_recipient r = {id, email, "user", "Ü Name", "en"};
    cr_assert_eq(mail_store_recipient_put(&f->s, &r, token, &f->err), 0, "%s", f->err.msg);
}

CONTRACT(recipients_and_default_prefs)
{
    struct mail_recipient r;
    struct mail_prefs p;
    uint64_t who = 0;
    cr_assert_eq(mail_store_recipient_get(&f->s, ALICE, &f->a, &r, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(mail_store_prefs_get(&f->s, ALICE, &f->a, &p, &f->err), ERR_NOT_FOUND);
    put(f, ALICE, "alice@example.org", "tok-a");
    cr_assert_eq(mail_store_recipient_get(&f->s, ALICE, &f->a, &r, &f->err), 0);
    cr_assert_str_eq(r.email, "alice@example.org");
    cr_assert_str_eq(r.display_name, "Ü Name");
    cr_assert_eq(mail_store_prefs_get(&f->s, ALICE, &f->a, &p, &f->err), 0);
    cr_assert(p.follow && p.mention && !p.favourite, "defaults");
    cr_assert_str_eq(p.unsubscribe_token, "tok-a");
    /* a second put updates the address, keeps the token and the switches */
    p.follow = false;
    p.favourite = true;
    cr_assert_eq(mail_store_prefs_set(&f->s, ALICE, &p, &f->err), 0);
    put(f, ALICE, "new@example.org", "tok-other");
    cr_assert_eq(mail_store_recipient_get(&f->s, ALICE, &f->a, &r, &f->err), 0);
    cr_assert_str_eq(r.email, "new@example.org");
    cr_assert_eq(mail_store_prefs_get(&f->s, ALICE, &f->a, &p, &f->err), 0);
    cr_assert(!p.follow && p.mention && p.favourite);
    cr_assert_str_eq(p.unsubscribe_token, "tok-a");
    cr_assert_eq(mail_store_prefs_by_token(&f->s, "tok-a", &who, &f->err), 0);
    cr_assert_eq(who, ALICE);
    cr_assert_eq(mail_store_prefs_by_token(&f->s, "tok-other", &who, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(mail_store_prefs_by_token(&f->s, "' OR 1=1 --", &who, &f->err), ERR_NOT_FOUND);
    cr_assert_eq(mail_store_prefs_set(&f->s, BOB, &p, &f->err), ERR_NOT_FOUND);
}

CONTRACT(record_dedupes_by_event_recipient_and_kind)
{
    struct mail_job j = job(1, 100, ALICE, "follow", MAIL_JOB_QUEUED, 1000);
    struct mail_flood fl = {ALICE, "follow", 1000, 0, ""};
    cr_assert_eq(mail_store_record(&f->s, &j, &fl, &f->err), 0, "%s", f->err.msg);
    /* the same key with another id: a conflict, and the flood state is left alone */
    struct mail_job again = job(2, 100, ALICE, "follow", MAIL_JOB_HELD, 2000);
    struct mail_flood fl2 = {ALICE, "follow", 2000, 7, "x"};
    cr_assert_eq(mail_store_record(&f->s, &again, &fl2, &f->err), ERR_CONFLICT);
    struct mail_flood got;
    cr_assert_eq(mail_store_flood_get(&f->s, ALICE, "follow", &f->a, &got, &f->err), 0);
    cr_assert_eq(got.last_sent_at_ms, 1000);
    cr_assert_eq(got.held, 0);
    /* another kind, recipient or event is another key */
    struct mail_job k1 = job(3, 100, ALICE, "mention", MAIL_JOB_SKIPPED, 1000);
    struct mail_job k2 = job(4, 100, BOB, "follow", MAIL_JOB_HELD, 1000);
    struct mail_job k3 = job(5, 101, ALICE, "follow", MAIL_JOB_QUEUED, 1000);
    cr_assert_eq(mail_store_record(&f->s, &k1, NULL, &f->err), 0);
    cr_assert_eq(mail_store_record(&f->s, &k2, NULL, &f->err), 0);
    cr_assert_eq(mail_store_record(&f->s, &k3, NULL, &f->err), 0);
    struct mail_store_stats st;
    cr_assert_eq(mail_store_stats(&f->s, &st, &f->err), 0);
    cr_assert_eq(st.queued, 2);
    cr_assert_eq(st.oldest_queued_ms, 1000);
    cr_assert_eq(st.held, 1);
    cr_assert_eq(st.sent + st.dead, 0);
}

CONTRACT(flood_state)
{
    struct mail_flood got, *due;
    size_t n = 9;
    cr_assert_eq(mail_store_flood_get(&f->s, ALICE, "follow", &f->a, &got, &f->err), 0);
    cr_assert_eq(got.last_sent_at_ms, 0);
    cr_assert_eq(got.held, 0);
    cr_assert_str_eq(got.held_names, "");
    struct mail_job j1 = job(1, 100, ALICE, "follow", MAIL_JOB_HELD, 1000);
    struct mail_flood held = {ALICE, "follow", 500, 2, "Zoë, bob"};
    cr_assert_eq(mail_store_record(&f->s, &j1, &held, &f->err), 0);
    struct mail_job j2 = job(2, 101, BOB, "mention", MAIL_JOB_QUEUED, 900);
    struct mail_flood none = {BOB, "mention", 900, 0, ""};
    cr_assert_eq(mail_store_record(&f->s, &j2, &none, &f->err), 0);
    cr_assert_eq(mail_store_flood_get(&f->s, ALICE, "follow", &f->a, &got, &f->err), 0);
    cr_assert_eq(got.held, 2);
    cr_assert_str_eq(got.held_names, "Zoë, bob");
    cr_assert_eq(mail_store_digests_due(&f->s, 499, 10, &f->a, &due, &n, &f->err), 0);
    cr_assert_eq(n, 0, "the window has not ended");
    cr_assert_eq(mail_store_digests_due(&f->s, 5000, 10, &f->a, &due, &n, &f->err), 0);
    cr_assert_eq(n, 1, "only held states");
    cr_assert_eq(due[0].account_id, ALICE);
    cr_assert_str_eq(due[0].kind, "follow");
    cr_assert_eq(due[0].held, 2);
}

CONTRACT(due_update_and_list)
{
    struct mail_job *jobs;
    size_t n = 0;
    struct mail_job a = job(1, 100, ALICE, "follow", MAIL_JOB_QUEUED, 3000);
    struct mail_job b = job(2, 101, ALICE, "mention", MAIL_JOB_QUEUED, 1000);
    struct mail_job c = job(3, 102, BOB, "follow", MAIL_JOB_QUEUED, 2000);
    struct mail_job h = job(4, 103, BOB, "mention", MAIL_JOB_HELD, 0);
    cr_assert_eq(mail_store_record(&f->s, &a, NULL, &f->err), 0);
    cr_assert_eq(mail_store_record(&f->s, &b, NULL, &f->err), 0);
    cr_assert_eq(mail_store_record(&f->s, &c, NULL, &f->err), 0);
    cr_assert_eq(mail_store_record(&f->s, &h, NULL, &f->err), 0);
    cr_assert_eq(mail_store_due(&f->s, 2500, 10, &f->a, &jobs, &n, &f->err), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(jobs[0].id, 2, "soonest first");
    cr_assert_eq(jobs[1].id, 3);
    cr_assert_str_eq(jobs[0].data, "Subject: x\r\n\r\nZoë 🧵\r\n");
    cr_assert_str_eq(jobs[0].to, "a@example.org");
    cr_assert_eq(mail_store_due(&f->s, 9000, 1, &f->a, &jobs, &n, &f->err), 0);
    cr_assert_eq(n, 1, "limit");
    /* a retry moves it later, a send and a dead letter take it out */
    cr_assert_eq(mail_store_update(&f->s, 2, MAIL_JOB_QUEUED, 1, 8000, 0, "451 later", &f->err), 0);
    cr_assert_eq(mail_store_update(&f->s, 3, MAIL_JOB_SENT, 1, 2000, 2600, NULL, &f->err), 0);
    cr_assert_eq(mail_store_update(&f->s, 1, MAIL_JOB_DEAD, 1, 3000, 0, "refused: 550", &f->err),
                 0);
    cr_assert_eq(mail_store_update(&f->s, 99, MAIL_JOB_SENT, 1, 0, 1, NULL, &f->err),
                 ERR_NOT_FOUND);
    cr_assert_eq(mail_store_due(&f->s, 7999, 10, &f->a, &jobs, &n, &f->err), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(mail_store_due(&f->s, 8000, 10, &f->a, &jobs, &n, &f->err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(jobs[0].attempts, 1);
    cr_assert_str_eq(jobs[0].last_error, "451 later");
    cr_assert_eq(mail_store_list(&f->s, MAIL_JOB_DEAD, 10, &f->a, &jobs, &n, &f->err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(jobs[0].id, 1);
    cr_assert_str_eq(jobs[0].last_error, "refused: 550");
    cr_assert_eq(mail_store_list(&f->s, MAIL_JOB_SENT, 10, &f->a, &jobs, &n, &f->err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(jobs[0].sent_at_ms, 2600);
    struct mail_store_stats st;
    cr_assert_eq(mail_store_stats(&f->s, &st, &f->err), 0);
    cr_assert_eq(st.queued, 1);
    cr_assert_eq(st.oldest_queued_ms, 1000);
    cr_assert_eq(st.sent, 1);
    cr_assert_eq(st.dead, 1);
}
