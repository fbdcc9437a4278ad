/* test_mail_outbox.c - the mail use cases on the mem store and the mem mailer with a fake
 * clock: dedupe, preferences and unsubscribe, flood control and digests, retries with
 * exponential backoff, dead letters, metrics; and at-most-once across a restart on SQLite. */
#include "services/notification/adapters/mem/mail_store_mem.h"
#include "services/notification/adapters/mem/mailer_mem.h"
#include "services/notification/adapters/sqlite/mail_store_sqlite.h"
#include "services/notification/app/mail_outbox.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALICE 21
#define BOB 22
#define MIN (60 * 1000)

static int64_t now = 1795957323004LL;
static const struct clock fake_clock = {clock_fake_now_ms, &now};
static struct idgen ids;
static struct mailer_mem sink;
static struct mail_outbox o;

static void setup_with(struct mail_store store)
{
    memset(&sink, 0, sizeof(sink));
    memset(&o, 0, sizeof(o));
    idgen_init(&ids, 3, &fake_clock);
    o.store = store;
    o.mailer = mailer_mem(&sink);
    o.clock = &fake_clock;
    o.random = &random_system;
    o.ids = &ids;
    o.cfg = (struct mail_outbox_config){.from = "Threadly <noreply@t.example>",
                                        .public_url = "https://t.example",
                                        .instance = "Threadly",
                                        .flood_window_ms = 60 * MIN,
                                        .max_attempts = 4,
                                        .backoff_base_ms = 1000,
                                        .backoff_max_ms = 5000,
                                        .token_ttl_hours = 24};
    struct err err = {0};
    cr_assert_eq(mail_outbox_init(&o, &err), 0, "%s", err.msg);
}

static void setup(void)
{
    setup_with(mail_store_mem_new());
    struct err err = {0};
    struct mail_recipient a = {ALICE, "alice@example.org", "alice", "Alice", "en"};
    cr_assert_eq(mail_outbox_recipient(&o, &a, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    mailer_close(&o.mailer);
    mail_store_close(&o.store);
    mail_outbox_release(&o);
}

TestSuite(mail_outbox, .init = setup, .fini = teardown);

static uint64_t next_event = 1000;

static enum mail_outcome request(uint64_t recipient, enum mail_kind kind, const char *actor)
{
    struct mail_event e = {.event_id = next_event++,
                           .recipient_id = recipient,
                           .kind = kind,
                           .actor_name = actor,
                           .actor_acct = "someone",
                           .actor_url = "https://t.example/@someone",
                           .status_text = "hello <b>there</b>",
                           .status_url = "https://t.example/@someone/1"};
    enum mail_outcome out = 99;
    struct err err = {0};
    cr_assert_eq(mail_outbox_request(&o, &e, &out, &err), 0, "%s", err.msg);
    return out;
}

static int pass(void)
{
    int sent = -1;
    struct err err = {0};
    cr_assert_eq(mail_outbox_send_due(&o, 100, &sent, &err), 0, "%s", err.msg);
    return sent;
}

static struct mail_outbox_metrics metrics(void)
{
    struct mail_outbox_metrics m;
    struct err err = {0};
    cr_assert_eq(mail_outbox_metrics(&o, &m, &err), 0, "%s", err.msg);
    return m;
}

Test(mail_outbox, confirmation_is_queued_once_and_sent)
{
    struct mail_event e = {.event_id = 7,
                           .recipient_id = BOB,
                           .kind = MAIL_CONFIRMATION,
                           .email = "bob@example.org",
                           .username = "bob",
                           .token = "TOKEN_abc-123"};
    enum mail_outcome out;
    struct err err = {0};
    cr_assert_eq(mail_outbox_request(&o, &e, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out, MAIL_OUTCOME_QUEUED);
    cr_assert_eq(mail_outbox_request(&o, &e, &out, &err), 0);
    cr_assert_eq(out, MAIL_OUTCOME_DUPLICATE, "the same event again");
    cr_assert_eq(metrics().queue_depth, 1);
    cr_assert_eq(pass(), 1);
    cr_assert_eq(pass(), 0);
    cr_assert_eq(sink.nsent, 1);
    cr_assert_str_eq(sink.sent[0].to, "bob@example.org");
    cr_assert_str_eq(sink.sent[0].from, "noreply@t.example");
    cr_assert(
        strstr(sink.sent[0].data, "https://t.example/auth/confirm?token=3DTOKEN_abc-123" /* QP */));
    cr_assert_null(strstr(sink.sent[0].data, "List-Unsubscribe"), "transactional");
    struct mail_outbox_metrics m = metrics();
    cr_assert_eq(m.sent, 1);
    cr_assert_eq(m.queue_depth, 0);
    /* a bad address is recorded as skipped, once */
    e.event_id = 8;
    e.email = "not an address";
    cr_assert_eq(mail_outbox_request(&o, &e, &out, &err), ERR_INVALID);
    cr_assert_eq(mail_outbox_request(&o, &e, &out, &err), 0);
    cr_assert_eq(out, MAIL_OUTCOME_DUPLICATE);
}

Test(mail_outbox, preferences_and_unsubscribe)
{
    struct arena a;
    struct mail_prefs p;
    struct err err = {0};
    arena_init(&a, 1024);
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Zoë"), MAIL_OUTCOME_QUEUED);
    cr_assert_eq(request(ALICE, MAIL_FAVOURITE, "Zoë"), MAIL_OUTCOME_SKIPPED, "off by default");
    cr_assert_eq(request(BOB, MAIL_FOLLOW, "Zoë"), MAIL_OUTCOME_SKIPPED, "no address known");
    cr_assert_eq(pass(), 1);
    const char *data = sink.sent[0].data;
    cr_assert(strstr(data, "List-Unsubscribe: <https://t.example/mail/unsubscribe?token="));
    cr_assert(strstr(data, "List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    cr_assert_eq(mail_outbox_prefs_get(&o, ALICE, &a, &p, &err), 0);
    cr_assert(strstr(data, p.unsubscribe_token), "the link carries the account's token");
    cr_assert_eq(mail_outbox_unsubscribe(&o, "nope", "follow", &err), ERR_NOT_FOUND);
    cr_assert_eq(mail_outbox_unsubscribe(&o, p.unsubscribe_token, "reblog", &err), ERR_INVALID);
    cr_assert_eq(mail_outbox_unsubscribe(&o, p.unsubscribe_token, "confirmation", &err),
                 ERR_INVALID);
    cr_assert_eq(mail_outbox_unsubscribe(&o, p.unsubscribe_token, "follow", &err), 0);
    cr_assert_eq(mail_outbox_prefs_get(&o, ALICE, &a, &p, &err), 0);
    cr_assert(!p.follow && p.mention && !p.favourite);
    now += 2 * 60 * MIN;
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Zoë"), MAIL_OUTCOME_SKIPPED);
    cr_assert_eq(request(ALICE, MAIL_MENTION, "Zoë"), MAIL_OUTCOME_QUEUED);
    p.favourite = true;
    cr_assert_eq(mail_outbox_prefs_set(&o, ALICE, &p, &err), 0);
    cr_assert_eq(request(ALICE, MAIL_FAVOURITE, "Zoë"), MAIL_OUTCOME_QUEUED);
    cr_assert_eq(mail_outbox_unsubscribe(&o, p.unsubscribe_token, NULL, &err), 0);
    cr_assert_eq(mail_outbox_prefs_get(&o, ALICE, &a, &p, &err), 0);
    cr_assert(!p.follow && !p.mention && !p.favourite, "all off");
    arena_release(&a);
}

Test(mail_outbox, flood_control_holds_and_sums_up_in_a_digest)
{
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Zoë <script>"), MAIL_OUTCOME_QUEUED);
    now += 1000;
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Bob"), MAIL_OUTCOME_HELD);
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Carol"), MAIL_OUTCOME_HELD);
    cr_assert_eq(request(ALICE, MAIL_MENTION, "Dan"), MAIL_OUTCOME_QUEUED, "per kind");
    cr_assert_eq(pass(), 2);
    now += 30 * MIN;
    cr_assert_eq(pass(), 0, "the window is not over");
    int64_t wake = mail_outbox_next_wake_ms(&o, 24 * 60 * MIN);
    cr_assert_eq(wake, now - 30 * MIN - 1000 + 60 * MIN, "wakes when the window ends");
    now = wake;
    cr_assert_eq(pass(), 1, "the digest");
    const char *d = sink.sent[2].data;
    cr_assert_str_eq(sink.sent[2].to, "alice@example.org");
    cr_assert(strstr(d, "Subject: 2 more new followers on Threadly"), "%s", d);
    cr_assert(strstr(d, "Bob, Carol"));
    /* the digest started a new window */
    now += 1000;
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Erin"), MAIL_OUTCOME_HELD);
    /* after the window, the next event's mail is the summary, itself included */
    now += 61 * MIN;
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Frank"), MAIL_OUTCOME_QUEUED);
    cr_assert_eq(pass(), 1);
    cr_assert(strstr(sink.sent[3].data, "Subject: 2 more new followers on Threadly"));
    cr_assert(strstr(sink.sent[3].data, "Erin, Frank"));
    cr_assert_eq(pass(), 0, "nothing left to sum up");
    cr_assert_eq(sink.nsent, 4);
}

Test(mail_outbox, transient_failures_back_off_exponentially_then_succeed)
{
    sink.fail_next = 3;
    sink.fail_code = ERR_UNAVAILABLE;
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Zoë"), MAIL_OUTCOME_QUEUED);
    int64_t t0 = now;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(mail_outbox_next_wake_ms(&o, 60000), t0 + 1000, "1 s after the first failure");
    now = t0 + 999;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(sink.attempts, 1, "not due yet");
    now = t0 + 1000;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(mail_outbox_next_wake_ms(&o, 60000), now + 2000, "then 2 s");
    now += 2000;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(mail_outbox_next_wake_ms(&o, 60000), now + 4000, "then 4 s");
    struct mail_outbox_metrics m = metrics();
    cr_assert_eq(m.retried, 3);
    cr_assert_eq(m.queue_depth, 1);
    cr_assert_eq(m.oldest_age_ms, now - t0);
    now += 4000;
    cr_assert_eq(pass(), 1);
    cr_assert_eq(sink.nsent, 1);
    m = metrics();
    cr_assert_eq(m.sent, 1);
    cr_assert_eq(m.failed, 0);
    cr_assert_eq(m.queue_depth, 0);
    cr_assert_eq(m.oldest_age_ms, 0);
}

Test(mail_outbox, permanent_failures_and_too_many_attempts_are_dead_letters)
{
    struct arena a;
    struct mail_job *dead;
    size_t n = 0;
    struct err err = {0};
    arena_init(&a, 4096);
    sink.reject_prefix = "alice";
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Zoë"), MAIL_OUTCOME_QUEUED);
    cr_assert_eq(pass(), 0);
    cr_assert_eq(sink.attempts, 1, "a 5xx is not retried");
    cr_assert_eq(metrics().failed, 1);
    cr_assert_eq(mail_store_list(&o.store, MAIL_JOB_DEAD, 10, &a, &dead, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert(strstr(dead[0].last_error, "refused: 550"), "%s", dead[0].last_error);
    sink.reject_prefix = NULL;
    sink.fail_next = 100;
    sink.fail_code = ERR_UNAVAILABLE;
    cr_assert_eq(request(ALICE, MAIL_MENTION, "Zoë"), MAIL_OUTCOME_QUEUED);
    for (int i = 0; i < 10; i++) {
        pass();
        now += 10000;
    }
    cr_assert_eq(sink.attempts, 1 + 4, "max_attempts");
    cr_assert_eq(mail_store_list(&o.store, MAIL_JOB_DEAD, 10, &a, &dead, &n, &err), 0);
    cr_assert_eq(n, 2);
    cr_assert(strstr(dead[0].last_error, "gave up after 4 attempts: 451"), "%s",
              dead[0].last_error);
    struct mail_outbox_metrics m = metrics();
    cr_assert_eq(m.failed, 2);
    cr_assert_eq(m.retried, 3);
    cr_assert_eq(m.dead, 2);
    cr_assert_eq(m.queue_depth, 0);
    arena_release(&a);
}

Test(mail_outbox, a_pass_stops_after_three_transient_failures_in_a_row)
{
    struct err err = {0};
    struct mail_recipient b = {BOB, "bob@example.org", "bob", "", "en"};
    cr_assert_eq(mail_outbox_recipient(&o, &b, &err), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(request(ALICE + (uint64_t)(i % 2), MAIL_MENTION, "x"), i < 2 ? 0 : 1);
        request(ALICE + (uint64_t)(i % 2), MAIL_FOLLOW, "x");
    }
    sink.fail_next = 100;
    sink.fail_code = ERR_UNAVAILABLE;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(sink.attempts, 3, "the server looks down: the rest waits");
}

/* The dead_letter hook (Kafka: mail-events.dlq): a mail is marked dead only once the hook took
 * it; while it fails, the mail stays queued and is tried again after the backoff. */
struct dlq_hook {
    int fail; /* calls to fail before one succeeds */
    int calls;
    char why[256];
    uint64_t id;
    int attempts;
};

static int hook(void *ctx, const struct mail_job *job, const char *why, struct err *err)
{
    struct dlq_hook *h = ctx;
    h->calls++;
    cr_assert_eq(job->state, MAIL_JOB_DEAD);
    if (h->fail > 0) {
        h->fail--;
        return err_set(err, ERR_UNAVAILABLE, "broker away");
    }
    snprintf(h->why, sizeof(h->why), "%s", why);
    h->id = job->id;
    h->attempts = job->attempts;
    return 0;
}

Test(mail_outbox, a_dead_letter_is_marked_only_once_the_hook_took_it)
{
    struct dlq_hook h = {.fail = 2};
    struct arena a;
    struct mail_job *jobs;
    size_t n = 0;
    struct err err = {0};
    arena_init(&a, 4096);
    o.dead_letter = hook;
    o.dead_letter_ctx = &h;
    sink.reject_prefix = "alice";
    cr_assert_eq(request(ALICE, MAIL_FOLLOW, "Zoë"), MAIL_OUTCOME_QUEUED);
    cr_assert_eq(pass(), 0);
    cr_assert_eq(h.calls, 1);
    struct mail_outbox_metrics m = metrics();
    cr_assert_eq(m.dead, 0, "not marked: the hook failed");
    cr_assert_eq(m.failed, 0);
    cr_assert_eq(m.dlq_deferred, 1);
    cr_assert_eq(m.queue_depth, 1, "kept queued");
    cr_assert_eq(mail_store_due(&o.store, now + 60000, 10, &a, &jobs, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert(strstr(jobs[0].last_error, "refused: 550") &&
                  strstr(jobs[0].last_error, "broker away"),
              "%s", jobs[0].last_error);
    cr_assert_eq(jobs[0].next_attempt_at_ms, now + 1000, "after the backoff");
    cr_assert_eq(pass(), 0, "not due yet");
    cr_assert_eq(h.calls, 1);
    now += 1000;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(h.calls, 2);
    now += 2000;
    cr_assert_eq(pass(), 0);
    cr_assert_eq(h.calls, 3);
    m = metrics();
    cr_assert_eq(m.dead, 1);
    cr_assert_eq(m.failed, 1);
    cr_assert_eq(m.queue_depth, 0);
    cr_assert_eq(sink.nsent, 0, "refused every time: never delivered");
    cr_assert(strstr(h.why, "refused: 550"), "%s", h.why);
    cr_assert_eq(h.attempts, 3);
    cr_assert_eq(mail_store_list(&o.store, MAIL_JOB_DEAD, 10, &a, &jobs, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(jobs[0].id, h.id);
    cr_assert_str_eq(jobs[0].last_error, h.why, "marked with the reason the hook got");
    arena_release(&a);
}

/* A restart: the same events delivered again to a new process on the same database make no
 * second mail, and what was queued before is sent once. */
Test(mail_outbox_sqlite, at_most_once_across_a_restart)
{
    char dir[64], path[128];
    struct err err = {0};
    snprintf(dir, sizeof(dir), "%s/mail-outbox-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/n.db", dir);
    struct mail_event e = {.event_id = 4242,
                           .recipient_id = ALICE,
                           .kind = MAIL_FOLLOW,
                           .actor_name = "Zoë",
                           .actor_acct = "zoe",
                           .actor_url = "https://t.example/@zoe"};
    struct mail_event c = {.event_id = 4243,
                           .recipient_id = ALICE,
                           .kind = MAIL_CONFIRMATION,
                           .email = "alice@example.org",
                           .username = "alice",
                           .token = "tok"};
    enum mail_outcome out;
    for (int run = 0; run < 2; run++) {
        struct sqlite_db *db = notification_sqlite_open(path, &err);
        cr_assert_not_null(db, "%s", err.msg);
        setup_with(mail_store_sqlite(db));
        struct mail_recipient a = {ALICE, "alice@example.org", "alice", "Alice", "en"};
        cr_assert_eq(mail_outbox_recipient(&o, &a, &err), 0, "%s", err.msg);
        cr_assert_eq(mail_outbox_request(&o, &e, &out, &err), 0, "%s", err.msg);
        cr_assert_eq(out, run == 0 ? MAIL_OUTCOME_QUEUED : MAIL_OUTCOME_DUPLICATE);
        cr_assert_eq(mail_outbox_request(&o, &c, &out, &err), 0, "%s", err.msg);
        cr_assert_eq(out, run == 0 ? MAIL_OUTCOME_QUEUED : MAIL_OUTCOME_DUPLICATE);
        if (run == 1) {
            cr_assert_eq(pass(), 2, "queued before the restart, sent after it");
            cr_assert_eq(pass(), 0);
        }
        cr_assert_eq(sink.nsent, run == 1 ? 2 : 0);
        mailer_close(&o.mailer);
        mail_outbox_release(&o);
        sqlite_db_close(db);
    }
    char cmd[100];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
