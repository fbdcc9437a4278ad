/* test_mail_events.c - from event envelopes to mails: the JSON decoder's mail fields (names,
 * URLs, the status HTML as text, email and tokens) and mail_events_apply on the mem outbox and
 * mem mailer: confirmation, reset, follow/mention/favourite per preferences, redelivery. */
#include "services/notification/adapters/json/event_decoder_json.h"
#include "services/notification/adapters/mem/mail_store_mem.h"
#include "services/notification/adapters/mem/mailer_mem.h"
#include "services/notification/app/mail_events.h"

#include <criterion/criterion.h>
#include <string.h>

static int64_t now = 1795957323004LL;
static const struct clock fake_clock = {clock_fake_now_ms, &now};
static struct idgen ids;
static struct mailer_mem sink;
static struct mail_outbox o;
static struct event_decoder dec;

static void setup(void)
{
    memset(&sink, 0, sizeof(sink));
    memset(&o, 0, sizeof(o));
    idgen_init(&ids, 3, &fake_clock);
    o.store = mail_store_mem_new();
    o.mailer = mailer_mem(&sink);
    o.clock = &fake_clock;
    o.random = &random_system;
    o.ids = &ids;
    o.cfg = (struct mail_outbox_config){.from = "Threadly <noreply@t.example>",
                                        .public_url = "https://t.example",
                                        .instance = "Threadly",
                                        .flood_window_ms = 0,
                                        .max_attempts = 3,
                                        .backoff_base_ms = 1000,
                                        .backoff_max_ms = 1000,
                                        .token_ttl_hours = 24};
    struct err err = {0};
    cr_assert_eq(mail_outbox_init(&o, &err), 0);
    dec = event_decoder_json();
}

static void teardown(void)
{
    mailer_close(&o.mailer);
    mail_store_close(&o.store);
    mail_outbox_release(&o);
}

TestSuite(mail_events, .init = setup, .fini = teardown);

#define ACCT(id, user, name)                                                                       \
    "{\"id\":\"" id "\",\"username\":\"" user "\",\"acct\":\"" user "\",\"display_name\":\"" name  \
    "\",\"url\":\"https://t.example/@" user "\"}"

/* Decodes (type, data), applies the rules and the mails; returns the decoded event. */
static struct domain_event apply(struct arena *a, uint64_t id, const char *type, const char *data)
{
    struct event e = {
        .id = id, .type = type, .version = 1, .occurred_at = now, .key = "1", .data = data};
    struct domain_event de;
    struct event_changes ch;
    struct err err = {0};
    cr_assert_eq(event_decoder_decode(&dec, &e, a, &de, &err), 0, "%s: %s", type, err.msg);
    rules_apply(&de, a, &ch);
    int skipped = 0;
    cr_assert_eq(mail_events_apply(&o, &de, &ch, &skipped, &err), 0, "%s", err.msg);
    cr_assert_eq(skipped, 0);
    return de;
}

static int sent(void)
{
    int n = 0;
    struct err err = {0};
    cr_assert_eq(mail_outbox_send_due(&o, 100, &n, &err), 0, "%s", err.msg);
    return n;
}

Test(mail_events, account_created_confirms_and_reset_mails)
{
    struct arena a;
    arena_init(&a, 4096);
    struct domain_event de = apply(
        &a, 10, "account.created",
        "{\"account\":" ACCT("7", "alice",
                             "Alice \\u00c9") ",\"email\":\"alice@example.org\","
                                              "\"locale\":\"fr\",\"confirmation_token\":\"tokA\"}");
    cr_assert_str_eq(de.mail.email, "alice@example.org");
    cr_assert_str_eq(de.mail.token, "tokA");
    cr_assert_str_eq(de.mail.locale, "fr");
    cr_assert_str_eq(de.mail.actor_username, "alice");
    cr_assert_str_eq(de.mail.actor_display_name, "Alice É");
    apply(&a, 10, "account.created", /* redelivered */
          "{\"account\":" ACCT("7", "alice",
                               "Alice") ",\"email\":\"alice@example.org\","
                                        "\"locale\":\"fr\",\"confirmation_token\":\"tokA\"}");
    /* an account.created of before the token field: recipient only, no mail */
    apply(&a, 11, "account.created",
          "{\"account\":" ACCT("8", "old", "") ",\"email\":\"old@example.org\",\"locale\":\"en\"}");
    apply(&a, 12, "account.password_reset_requested",
          "{\"account\":" ACCT("7", "alice", "Alice") ",\"email\":\"alice@example.org\","
                                                      "\"reset_token\":\"tokR\"}");
    cr_assert_eq(sent(), 2);
    cr_assert(strstr(sink.sent[0].data, "confirm?token=3DtokA"));
    cr_assert(strstr(sink.sent[1].data, "password/edit?token=3DtokR"));
    struct event bad = {.id = 13,
                        .type = "account.password_reset_requested",
                        .version = 1,
                        .key = "7",
                        .data = "{\"account\":" ACCT("7", "alice", "A") "}"};
    struct domain_event out;
    struct err err = {0};
    cr_assert_eq(event_decoder_decode(&dec, &bad, &a, &out, &err), ERR_INVALID, "no token");
    arena_release(&a);
}

Test(mail_events, notifications_become_mails_per_preferences)
{
    struct arena a;
    arena_init(&a, 4096);
    apply(&a, 20, "account.created",
          "{\"account\":" ACCT("7", "alice", "Alice") ",\"email\":\"alice@example.org\","
                                                      "\"locale\":\"en\"}");
    struct domain_event de =
        apply(&a, 21, "follow.created",
              "{\"follow_id\":\"1\",\"account\":" ACCT("9", "bob", "Bob <b>") ",\"target\":" ACCT(
                  "7", "alice", "Alice") "}");
    cr_assert_str_eq(de.mail.actor_url, "https://t.example/@bob");
    de = apply(&a, 22, "status.created",
               "{\"status\":{\"id\":\"50\",\"visibility\":\"public\",\"url\":\"https://t.example/"
               "@bob/50\",\"content\":\"<p>Hi <span class=\\\"h-card\\\"><a href=\\\"x\\\">@"
               "alice</a></span> &amp; &lt;all&gt;</p><p>line2<br>line3</p>\",\"account\":" ACCT(
                   "9", "bob", "Bob") "},\"mentioned_account_ids\":[\"7\"],"
                                      "\"in_reply_to_account_id\":null}");
    cr_assert_str_eq(de.mail.status_text, "Hi @alice & <all>\n\nline2\nline3");
    cr_assert_str_eq(de.mail.status_url, "https://t.example/@bob/50");
    /* favourite: off by default, so no mail */
    apply(&a, 23, "favourite.created",
          "{\"favourite_id\":\"3\",\"account\":" ACCT(
              "9", "bob",
              "Bob") ",\"status\":{\"id\":"
                     "\"51\",\"visibility\":\"public\",\"content\":\"<p>x</p>\",\"account\":" ACCT(
                         "7", "alice", "Alice") "}}");
    /* a follow of someone with no known address: no mail either */
    apply(&a, 24, "follow.created",
          "{\"follow_id\":\"2\",\"account\":" ACCT("7", "alice", "Alice") ",\"target\":" ACCT(
              "9", "bob", "Bob") "}");
    cr_assert_eq(sent(), 2);
    cr_assert(strstr(sink.sent[0].data, "Subject: Bob <b> (@bob) followed you"), "%s",
              sink.sent[0].data);
    cr_assert(strstr(sink.sent[0].data, "Bob &lt;b&gt;"));
    cr_assert(strstr(sink.sent[1].data, "Subject: Bob (@bob) mentioned you"));
    cr_assert(strstr(sink.sent[1].data, "Hi @alice &amp; &lt;all&gt;"));
    arena_release(&a);
}
