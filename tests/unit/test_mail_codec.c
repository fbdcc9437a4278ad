/* test_mail_codec.c - the wire form of mail-events and mail-events.dlq (adapters/kafka/
 * mail_codec): mail.requested formatted and parsed back, every malformed request refused with a
 * reason, mail.failed of a dead mail (without the message) and of garbage (valid JSON whatever
 * the bytes); and the outbox's forward hook: mail_events_apply hands the requests over instead
 * of queueing them, and the requests, through the codec, queue the same mails. */
#include "services/notification/adapters/json/event_decoder_json.h"
#include "services/notification/adapters/kafka/mail_codec.h"
#include "services/notification/adapters/mem/mail_store_mem.h"
#include "services/notification/adapters/mem/mailer_mem.h"
#include "services/notification/app/mail_events.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int64_t now = 1795957323004LL;
static const struct clock fake_clock = {clock_fake_now_ms, &now};

static const struct mail_event confirmation = {.event_id = 10,
                                               .recipient_id = 7,
                                               .kind = MAIL_CONFIRMATION,
                                               .email = "alice@example.org",
                                               .username = "alice",
                                               .token = "tokA"};

/* An envelope around data (a JSON object text). */
static char *envelope(const char *type, int version, const char *key, const char *data)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"id\":\"99\",\"type\":\"%s\",\"version\":%d,\"occurred_at\":"
             "\"2026-11-24T01:02:03.000Z\",\"producer\":\"x\",\"key\":\"%s\",\"data\":%s}",
             type, version, key, data);
    return buf;
}

static int parse(const char *text, const char *key, struct mail_event *out, struct err *err)
{
    static struct arena a;
    arena_init(&a, 4096);
    int rc = mail_codec_parse_request(text, strlen(text), key, &a, out, err);
    /* The strings live in a, which is released here: callers only look at codes and ids. */
    arena_release(&a);
    return rc;
}

Test(mail_codec, a_request_round_trips)
{
    struct buf b = BUF_INIT;
    char key[ID_STR_LEN];
    struct arena a;
    struct mail_event out;
    struct err err = {0};
    arena_init(&a, 4096);
    mail_codec_format_request(&confirmation, 555, now, &b, key);
    cr_assert_str_eq(key, "7");
    cr_assert(strstr(b.data, "\"type\":\"mail.requested\""), "%s", b.data);
    cr_assert(strstr(b.data, "\"producer\":\"notification-service\""), "%s", b.data);
    cr_assert_eq(mail_codec_parse_request(b.data, b.len, key, &a, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.event_id, 10);
    cr_assert_eq(out.recipient_id, 7);
    cr_assert_eq(out.kind, MAIL_CONFIRMATION);
    cr_assert_str_eq(out.email, "alice@example.org");
    cr_assert_str_eq(out.username, "alice");
    cr_assert_str_eq(out.token, "tokA");
    cr_assert_null(out.actor_acct);
    buf_reset(&b);
    struct mail_event follow = {.event_id = 11,
                                .recipient_id = 8,
                                .kind = MAIL_FAVOURITE,
                                .actor_name = "Zoë \"z\"",
                                .actor_acct = "zoe",
                                .actor_url = "https://t.example/@zoe",
                                .status_text = "line 1\nline <2>",
                                .status_url = "https://t.example/@bob/1"};
    mail_codec_format_request(&follow, 556, now, &b, key);
    cr_assert_eq(mail_codec_parse_request(b.data, b.len, NULL, &a, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.kind, MAIL_FAVOURITE);
    cr_assert_str_eq(out.actor_name, "Zoë \"z\"");
    cr_assert_str_eq(out.actor_acct, "zoe");
    cr_assert_str_eq(out.status_text, "line 1\nline <2>");
    cr_assert_str_eq(out.status_url, "https://t.example/@bob/1");
    cr_assert_null(out.email);
    buf_release(&b);
    arena_release(&a);
}

Test(mail_codec, malformed_requests_are_refused_with_a_reason)
{
    static const struct {
        const char *type;
        int version;
        const char *key, *data, *msg_key, *reason;
    } bad[] = {
        {"mail.requested", 2, "7", "{}", "7", "version 2"},
        {"mail.sent", 1, "7", "{}", "7", "not mail.requested"},
        {"mail.requested", 1, "7", "{\"recipient_id\":\"7\",\"kind\":\"follow\"}", "7", "event_id"},
        {"mail.requested", 1, "7", "{\"event_id\":\"1\",\"recipient_id\":7,\"kind\":\"follow\"}",
         "7", "recipient_id"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"0\",\"kind\":\"follow\"}", "7", "recipient_id"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"digest\",\"actor_acct\":\"x\"}",
         "7", "kind"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"spam\",\"actor_acct\":\"x\"}", "7",
         "kind"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"follow\"}", "7", "actor_acct"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"follow\",\"actor_acct\":3}", "7",
         "actor_acct"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"confirmation\","
         "\"email\":\"a@b.c\",\"username\":\"a\"}",
         "7", "token"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"confirmation\","
         "\"email\":\"\",\"username\":\"a\",\"token\":\"t\"}",
         "7", "email"},
        {"mail.requested", 1, "7",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"follow\",\"actor_acct\":\"x\"}",
         "8", "message key"},
        {"mail.requested", 1, "8",
         "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"follow\",\"actor_acct\":\"x\"}",
         "7", "envelope key"},
    };
    struct mail_event out;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err err = {0};
        const char *text = envelope(bad[i].type, bad[i].version, bad[i].key, bad[i].data);
        cr_assert_eq(parse(text, bad[i].msg_key, &out, &err), ERR_INVALID, "%zu: %s", i, text);
        cr_assert(strstr(err.msg, bad[i].reason), "%zu: %s", i, err.msg);
    }
    struct err err = {0};
    cr_assert_eq(parse("this is not json", "7", &out, &err), ERR_INVALID);
    cr_assert_neq(err.msg[0], '\0');
    /* Too long a field. */
    char big[20000], data[21000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(data, sizeof(data),
             "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"follow\",\"actor_acct\":\"x\","
             "\"status_text\":\"%s\"}",
             big);
    struct buf b = BUF_INIT;
    buf_appendf(&b,
                "{\"id\":\"99\",\"type\":\"mail.requested\",\"version\":1,\"occurred_at\":"
                "\"2026-11-24T01:02:03.000Z\",\"producer\":\"x\",\"key\":\"7\",\"data\":%s}",
                data);
    cr_assert_eq(parse(b.data, "7", &out, &err), ERR_INVALID);
    cr_assert(strstr(err.msg, "status_text"), "%s", err.msg);
    buf_release(&b);
    /* The same without the long field is fine, and nulls count as absent. */
    cr_assert_eq(parse(envelope("mail.requested", 1, "7",
                                "{\"event_id\":\"1\",\"recipient_id\":\"7\",\"kind\":\"follow\","
                                "\"actor_acct\":\"x\",\"status_text\":null,\"extra\":1}"),
                       "7", &out, &err),
                 0, "%s", err.msg);
}

static json_t *data_of(const struct buf *b)
{
    json_error_t je;
    json_t *j = json_loads(b->data, 0, &je);
    cr_assert_not_null(j, "%s: %s", je.text, b->data);
    json_t *d = json_incref(json_object_get(j, "data"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "mail.failed");
    json_decref(j);
    return d;
}

Test(mail_codec, dead_letters_and_garbage)
{
    struct buf b = BUF_INIT;
    char key[ID_STR_LEN];
    struct mail_job job = {.id = 31,
                           .event_id = 10,
                           .recipient_id = 7,
                           .kind = "confirmation",
                           .to = "alice@example.org",
                           .data = "Subject: x\r\n\r\nhttps://t.example/auth/confirm?token=SECRET",
                           .attempts = 3,
                           .last_error = "refused: smtp 550 no"};
    mail_codec_format_dead(&job, job.last_error, 777, now, &b, key);
    cr_assert_str_eq(key, "7");
    cr_assert_null(strstr(b.data, "SECRET"), "the message is not copied: %s", b.data);
    json_t *d = data_of(&b);
    cr_assert_str_eq(json_string_value(json_object_get(d, "mail_id")), "31");
    cr_assert_str_eq(json_string_value(json_object_get(d, "event_id")), "10");
    cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), "confirmation");
    cr_assert_str_eq(json_string_value(json_object_get(d, "reason")), "refused: smtp 550 no");
    cr_assert_eq(json_integer_value(json_object_get(d, "attempts")), 3);
    json_decref(d);
    buf_reset(&b);
    static const char junk[] = "bad\0bytes\xff\xfe here";
    mail_codec_format_garbage("not JSON", "mail-events", 2, 41, "k\x01y", junk, sizeof(junk) - 1,
                              778, now, &b);
    d = data_of(&b);
    cr_assert_str_eq(json_string_value(json_object_get(d, "reason")), "not JSON");
    json_t *src = json_object_get(d, "source");
    cr_assert_str_eq(json_string_value(json_object_get(src, "topic")), "mail-events");
    cr_assert_eq(json_integer_value(json_object_get(src, "partition")), 2);
    cr_assert_eq(json_integer_value(json_object_get(src, "offset")), 41);
    cr_assert_str_eq(json_string_value(json_object_get(d, "value")),
                     "bad?bytes\xef\xbf\xbd\xef\xbf\xbd here");
    json_decref(d);
    cr_assert(strstr(b.data, "\"key\":\"0\""), "an odd message key is not the envelope's: %s",
              b.data);
    struct arena a;
    struct event e;
    struct err err = {0};
    arena_init(&a, 4096);
    cr_assert_eq(event_parse(b.data, b.len, &a, &e, &err), 0, "%s", err.msg);
    arena_release(&a);
    buf_release(&b);
}

/* ---- the forward hook ---- */

struct forwarded {
    struct buf wire[8];
    char keys[8][ID_STR_LEN];
    size_t n;
};

static int forward(void *ctx, const struct mail_event *m, struct err *err)
{
    struct forwarded *f = ctx;
    (void)err;
    cr_assert_lt(f->n, 8);
    f->wire[f->n] = (struct buf)BUF_INIT;
    mail_codec_format_request(m, 900 + f->n, now, &f->wire[f->n], f->keys[f->n]);
    f->n++;
    return 0;
}

Test(mail_codec, forwarded_requests_queue_the_same_mails)
{
    struct idgen ids;
    struct mailer_mem sink = {0};
    struct mail_outbox o = {0};
    struct forwarded f = {0};
    struct err err = {0};
    struct arena a;
    idgen_init(&ids, 3, &fake_clock);
    o.store = mail_store_mem_new();
    o.mailer = mailer_mem(&sink);
    o.clock = &fake_clock;
    o.random = &random_system;
    o.ids = &ids;
    o.cfg = (struct mail_outbox_config){.from = "Threadly <noreply@t.example>",
                                        .public_url = "https://t.example",
                                        .instance = "Threadly",
                                        .max_attempts = 3,
                                        .backoff_base_ms = 1000,
                                        .backoff_max_ms = 1000,
                                        .token_ttl_hours = 24};
    cr_assert_eq(mail_outbox_init(&o, &err), 0);
    o.forward = forward;
    o.forward_ctx = &f;
    arena_init(&a, 8192);
    struct event_decoder dec = event_decoder_json();
    struct event e = {.id = 10,
                      .type = "account.created",
                      .version = 1,
                      .occurred_at = now,
                      .key = "7",
                      .data = "{\"account\":{\"id\":\"7\",\"username\":\"alice\",\"acct\":"
                              "\"alice\",\"display_name\":\"\",\"url\":\"https://t.example/"
                              "@alice\"},\"email\":\"alice@example.org\",\"locale\":\"en\","
                              "\"confirmation_token\":\"tokA\"}"};
    struct domain_event de;
    struct event_changes ch;
    cr_assert_eq(event_decoder_decode(&dec, &e, &a, &de, &err), 0, "%s", err.msg);
    rules_apply(&de, &a, &ch);
    cr_assert_eq(mail_events_apply(&o, &de, &ch, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(f.n, 1, "handed over");
    struct mail_recipient r;
    cr_assert_eq(mail_store_recipient_get(&o.store, 7, &a, &r, &err), 0,
                 "the recipient is recorded at once");
    int sent = -1;
    cr_assert_eq(mail_outbox_send_due(&o, 10, &sent, &err), 0);
    cr_assert_eq(sent, 0, "nothing queued by the event itself");
    /* The mail consumer's side: twice, as a redelivery would. */
    for (int i = 0; i < 2; i++) {
        struct mail_event m;
        enum mail_outcome out;
        cr_assert_eq(
            mail_codec_parse_request(f.wire[0].data, f.wire[0].len, f.keys[0], &a, &m, &err), 0,
            "%s", err.msg);
        cr_assert_eq(mail_outbox_request(&o, &m, &out, &err), 0, "%s", err.msg);
        cr_assert_eq(out, i == 0 ? MAIL_OUTCOME_QUEUED : MAIL_OUTCOME_DUPLICATE);
    }
    cr_assert_eq(mail_outbox_send_due(&o, 10, &sent, &err), 0);
    cr_assert_eq(sent, 1);
    cr_assert(strstr(sink.sent[0].data, "confirm?token=3DtokA"));
    buf_release(&f.wire[0]);
    arena_release(&a);
    mailer_close(&o.mailer);
    mail_store_close(&o.store);
    mail_outbox_release(&o);
}
