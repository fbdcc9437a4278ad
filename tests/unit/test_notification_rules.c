/* test_notification_rules.c - notification-service's domain rules (docs/events.md table), the
 * JSON event decoder, and the consume use case on the mem store with a fake clock: dead
 * letters, replays, the cursor, and a store that refuses a batch. */
#include "lib/events/event.h"
#include "services/notification/adapters/json/event_decoder_json.h"
#include "services/notification/adapters/mem/notification_store_mem.h"
#include "services/notification/app/consume.h"
#include "services/notification/domain/rules.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const uint64_t mentions3[] = {11, 12, 10};

static struct domain_event status_created(enum visibility v, uint64_t reply_to)
{
    return (struct domain_event){.id = 1,
                                 .kind = DOMAIN_STATUS_CREATED,
                                 .actor_id = 10,
                                 .actor_json = "{\"id\":\"10\"}",
                                 .status_id = 500,
                                 .status_account_id = 10,
                                 .status_json = "{\"id\":\"500\"}",
                                 .visibility = v,
                                 .mentions = mentions3,
                                 .nmentions = 3,
                                 .in_reply_to_account_id = reply_to};
}

static bool notifies(const struct event_changes *c, uint64_t who, enum notification_type t)
{
    for (size_t i = 0; i < c->ncreates; i++)
        if (c->creates[i].recipient_id == who && c->creates[i].type == t)
            return true;
    return false;
}

Test(rules, mentions_follow_visibility_and_skip_the_author)
{
    struct arena a;
    arena_init(&a, 1024);
    struct event_changes c;
    struct domain_event e = status_created(VISIBILITY_PUBLIC, 13);
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 3, "11, 12 and the parent's author 13; never the author 10");
    cr_assert(notifies(&c, 11, NOTIFICATION_MENTION));
    cr_assert(notifies(&c, 13, NOTIFICATION_MENTION));
    cr_assert_not(notifies(&c, 10, NOTIFICATION_MENTION));
    cr_assert_str_eq(c.creates[0].cause, "mention:500");
    cr_assert_eq(c.creates[0].status_id, 500);
    cr_assert_str_eq(c.creates[0].account_json, "{\"id\":\"10\"}");

    e = status_created(VISIBILITY_UNLISTED, 13);
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 3);
    e = status_created(VISIBILITY_PRIVATE, 13);
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 2, "a private reply does not reach an unmentioned parent author");
    cr_assert_not(notifies(&c, 13, NOTIFICATION_MENTION));
    e = status_created(VISIBILITY_DIRECT, 13);
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 2);
    e = status_created(VISIBILITY_PUBLIC, 11);
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 2, "a mentioned parent author is notified once");
    e = status_created(VISIBILITY_PUBLIC, 10);
    e.nmentions = 0;
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 0, "replying to yourself notifies nobody");
    arena_release(&a);
}

Test(rules, favourites_follows_and_requests)
{
    struct arena a;
    arena_init(&a, 1024);
    struct event_changes c;
    struct domain_event e = {.kind = DOMAIN_FAVOURITE_CREATED,
                             .actor_id = 20,
                             .actor_json = "{}",
                             .status_id = 600,
                             .status_account_id = 21,
                             .status_json = "{}"};
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 1);
    cr_assert(notifies(&c, 21, NOTIFICATION_FAVOURITE));
    cr_assert_str_eq(c.creates[0].cause, "favourite:20:600");
    cr_assert_eq(c.creates[0].status_id, 600);
    e.status_account_id = 20;
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 0, "favouriting your own status notifies nobody");

    e = (struct domain_event){.kind = DOMAIN_FAVOURITE_DELETED, .actor_id = 20, .status_id = 600};
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.nremove_causes, 1);
    cr_assert_str_eq(c.remove_causes[0], "favourite:20:600");

    e = (struct domain_event){
        .kind = DOMAIN_FOLLOW_CREATED, .actor_id = 30, .actor_json = "{}", .target_id = 31};
    rules_apply(&e, &a, &c);
    cr_assert(notifies(&c, 31, NOTIFICATION_FOLLOW));
    cr_assert_null(c.creates[0].status_json, "a follow carries no status");
    cr_assert_str_eq(c.creates[0].cause, "follow:30:31");
    cr_assert(c.follow_add);
    cr_assert_eq(c.follower_id, 30);
    cr_assert_eq(c.followee_id, 31);
    e.kind = DOMAIN_FOLLOW_DELETED;
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.ncreates, 0);
    cr_assert_str_eq(c.remove_causes[0], "follow:30:31");
    cr_assert(c.follow_remove);
    e.kind = DOMAIN_FOLLOW_REQUEST_CREATED;
    rules_apply(&e, &a, &c);
    cr_assert(notifies(&c, 31, NOTIFICATION_FOLLOW_REQUEST));
    cr_assert_not(c.follow_add, "a request is not a follower yet");
    e.kind = DOMAIN_FOLLOW_REQUEST_DELETED;
    e.accepted = true;
    rules_apply(&e, &a, &c);
    cr_assert_str_eq(c.remove_causes[0], "follow_request:30:31");

    e = (struct domain_event){.kind = DOMAIN_STATUS_DELETED, .actor_id = 10, .status_id = 500};
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.remove_status_id, 500);
    cr_assert_eq(c.ncreates, 0);
    e = (struct domain_event){.kind = DOMAIN_ACCOUNT_UPDATED, .actor_id = 10, .actor_json = "{}"};
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.account_id, 10);
    e = (struct domain_event){.kind = DOMAIN_TOKEN_REVOKED, .jti = 99};
    rules_apply(&e, &a, &c);
    cr_assert_eq(c.revoked_jti, 99);
    arena_release(&a);
}

Test(rules, types_and_kinds)
{
    const char *in[] = {"favourite", "reblog", "mention"};
    const char *ex[] = {"mention", "nonsense"};
    cr_assert_eq(notification_types_mask(NULL, 0, NULL, 0), NOTIFICATION_TYPES_ALL);
    cr_assert_eq(notification_types_mask(in, 3, NULL, 0),
                 NOTIFICATION_FAVOURITE | NOTIFICATION_MENTION);
    cr_assert_eq(notification_types_mask(in, 3, ex, 2), NOTIFICATION_FAVOURITE);
    cr_assert_eq(notification_types_mask(in + 1, 1, NULL, 0), 0, "only types we never make");
    cr_assert_eq(notification_types_mask(NULL, 0, ex, 1),
                 NOTIFICATION_TYPES_ALL & ~(unsigned)NOTIFICATION_MENTION);
    enum domain_event_kind k;
    cr_assert(domain_event_kind_parse("follow_request.deleted", 1, &k));
    cr_assert_eq(k, DOMAIN_FOLLOW_REQUEST_DELETED);
    cr_assert_not(domain_event_kind_parse("follow.created", 2, &k), "unknown version");
    cr_assert_not(domain_event_kind_parse("mail.requested", 1, &k));
}

/* ---- decoder ---- */

static int decode(const char *type, int version, const char *data, struct arena *a,
                  struct domain_event *out, struct err *err)
{
    struct event e = {.id = 77,
                      .type = type,
                      .version = version,
                      .occurred_at = 1000,
                      .producer = "threadly-service",
                      .key = "1",
                      .data = data};
    struct event_decoder d = event_decoder_json();
    return event_decoder_decode(&d, &e, a, out, err);
}

Test(decoder, every_type_and_bad_data)
{
    struct arena a;
    arena_init(&a, 4096);
    struct err err = {0};
    struct domain_event e;
    const char *status = "{\"status\":{\"id\":\"500\",\"visibility\":\"private\",\"account\":"
                         "{\"id\":\"10\",\"username\":\"al\"}},\"mentioned_account_ids\":[\"11\","
                         "\"12\"],\"in_reply_to_account_id\":null}";
    cr_assert_eq(decode("status.created", 1, status, &a, &e, &err), 0, "%s", err.msg);
    cr_assert_eq(e.kind, DOMAIN_STATUS_CREATED);
    cr_assert_eq(e.id, 77);
    cr_assert_eq(e.actor_id, 10);
    cr_assert_str_eq(e.actor_json, "{\"id\":\"10\",\"username\":\"al\"}");
    cr_assert_eq(e.status_id, 500);
    cr_assert_eq(e.visibility, VISIBILITY_PRIVATE);
    cr_assert_eq(e.nmentions, 2);
    cr_assert_eq(e.mentions[1], 12);
    cr_assert_eq(e.in_reply_to_account_id, 0);

    cr_assert_eq(decode("favourite.created", 1,
                        "{\"favourite_id\":\"9\",\"account\":{\"id\":\"20\"},\"status\":{\"id\":"
                        "\"600\",\"visibility\":\"public\",\"account\":{\"id\":\"21\"}}}",
                        &a, &e, &err),
                 0, "%s", err.msg);
    cr_assert_eq(e.actor_id, 20);
    cr_assert_eq(e.status_account_id, 21);
    cr_assert_eq(decode("follow.deleted", 1,
                        "{\"follow_id\":\"1\",\"account_id\":\"30\",\"target_account_id\":\"31\"}",
                        &a, &e, &err),
                 0);
    cr_assert_eq(e.target_id, 31);
    cr_assert_eq(decode("follow_request.deleted", 1,
                        "{\"follow_id\":\"1\",\"account_id\":\"30\",\"target_account_id\":\"31\","
                        "\"accepted\":true}",
                        &a, &e, &err),
                 0);
    cr_assert(e.accepted);
    cr_assert_eq(decode("token.revoked", 1,
                        "{\"jti\":\"123\",\"account_id\":\"0\",\"revoked_at\":\"x\"}", &a, &e,
                        &err),
                 0, "%s", err.msg);
    cr_assert_eq(e.jti, 123);

    cr_assert_eq(decode("post.liked", 1, "{}", &a, &e, &err), ERR_NOT_FOUND);
    cr_assert_eq(decode("follow.created", 2, "{}", &a, &e, &err), ERR_NOT_FOUND);
    cr_assert_eq(decode("follow.created", 1, "{\"account\":{\"id\":\"30\"}}", &a, &e, &err),
                 ERR_INVALID);
    cr_assert_str_eq(err.msg, "data: \"target\" missing or not an object");
    cr_assert_eq(decode("status.created", 1,
                        "{\"status\":{\"id\":\"5\",\"visibility\":\"secret\",\"account\":{\"id\":"
                        "\"1\"}},\"mentioned_account_ids\":[]}",
                        &a, &e, &err),
                 ERR_INVALID);
    cr_assert_eq(
        decode("status.deleted", 1, "{\"status_id\":\"abc\",\"account_id\":\"1\"}", &a, &e, &err),
        ERR_INVALID);
    cr_assert_eq(decode("favourite.deleted", 1, "{\"account_id\":\"0\"}", &a, &e, &err),
                 ERR_INVALID, "0 is not an id");
    cr_assert_eq(decode("status.deleted", 1,
                        "{\"status_id\":\"5\",\"account_id\":\"1\",\"visibility\":\"direct\","
                        "\"mentioned_account_ids\":[\"7\",\"8\"]}",
                        &a, &e, &err),
                 0, "%s", err.msg);
    cr_assert(e.visibility == VISIBILITY_DIRECT && e.nmentions == 2 && e.mentions[1] == 8);
    cr_assert_eq(decode("status.deleted", 1,
                        "{\"status_id\":\"5\",\"account_id\":\"1\",\"visibility\":\"secret\"}", &a,
                        &e, &err),
                 ERR_INVALID);
    cr_assert_eq(decode("status.deleted", 1,
                        "{\"status_id\":\"5\",\"account_id\":\"1\",\"mentioned_account_ids\":"
                        "[\"x\"]}",
                        &a, &e, &err),
                 ERR_INVALID);
    arena_release(&a);
}

/* The envelope parse path (what the consumer calls): one parse, snapshots kept as the bytes
 * they arrived in, the same refusals as event_parse and decode. */
static int parse(const char *data, const char *type, struct arena *a, struct event *e,
                 struct domain_event *out, struct err *err)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"id\":\"77\",\"type\":\"%s\",\"version\":1,\"occurred_at\":"
             "\"2026-11-24T01:02:03.000Z\",\"producer\":\"threadly-service\",\"key\":\"1\","
             "\"data\":%s}",
             type, data);
    struct event_decoder d = event_decoder_json();
    return event_decoder_parse(&d, text, strlen(text), a, e, out, err);
}

Test(decoder, parse_reads_each_message_once_and_keeps_snapshot_bytes)
{
    struct arena a;
    arena_init(&a, 4096);
    struct err err = {0};
    struct event ev;
    struct domain_event e;
    cr_assert_eq(parse("{\"favourite_id\":\"9\", \"account\": {\"id\":\"20\", \"note\":"
                       "\"<p>}{\\\"</p>\"} ,\"status\":{\"id\":\"600\",\"visibility\":\"public\","
                       "\"account\":{ \"id\" : \"21\" },\"content\":\"\\u00e9\"}}",
                       "favourite.created", &a, &ev, &e, &err),
                 0, "%s", err.msg);
    cr_assert_eq(ev.id, 77);
    cr_assert_eq(e.id, 77);
    cr_assert_eq(e.actor_id, 20);
    cr_assert_eq(e.status_id, 600);
    cr_assert_eq(e.status_account_id, 21);
    cr_assert_str_eq(e.actor_json, "{\"id\":\"20\", \"note\":\"<p>}{\\\"</p>\"}");
    cr_assert_str_eq(e.status_json, "{\"id\":\"600\",\"visibility\":\"public\",\"account\":"
                                    "{ \"id\" : \"21\" },\"content\":\"\\u00e9\"}");
    cr_assert_str_eq(e.mail.status_text, "\xc3\xa9");

    /* status.created: the actor is the status' embedded account, its bytes too. */
    cr_assert_eq(parse("{\"status\":{\"id\":\"5\",\"visibility\":\"direct\",\"account\":"
                       "{\"id\":\"10\",\"username\":\"al\"} },\"mentioned_account_ids\":[\"11\"],"
                       "\"in_reply_to_account_id\":null}",
                       "status.created", &a, &ev, &e, &err),
                 0, "%s", err.msg);
    cr_assert_str_eq(e.actor_json, "{\"id\":\"10\",\"username\":\"al\"}");
    cr_assert_eq(e.nmentions, 1);

    /* A snapshot name written with escapes is found (names are compared decoded). */
    cr_assert_eq(parse("{\"follow_id\":\"1\",\"\\u0061ccount\":{ \"id\":\"30\"},"
                       "\"target\":{\"id\":\"31\"}}",
                       "follow.created", &a, &ev, &e, &err),
                 0, "%s", err.msg);
    cr_assert_str_eq(e.actor_json, "{ \"id\":\"30\"}");
    cr_assert_str_eq(e.target_json, "{\"id\":\"31\"}");
    /* ids and strings written with escapes are decoded. */
    cr_assert_eq(parse("{\"account_id\":\"\\u0033\\u0030\",\"status_id\":\"5\","
                       "\"status_account_id\":\"31\"}",
                       "favourite.deleted", &a, &ev, &e, &err),
                 0, "%s", err.msg);
    cr_assert_eq(e.actor_id, 30);

    /* Refusals: the envelope (id 0), the type (id kept), the data (id kept). */
    cr_assert_eq(parse("[]", "follow.created", &a, &ev, &e, &err), ERR_INVALID);
    cr_assert_eq(ev.id, 0);
    cr_assert_str_eq(err.msg, "event: data missing or not an object");
    cr_assert_eq(parse("{}", "post.liked", &a, &ev, &e, &err), ERR_NOT_FOUND);
    cr_assert_eq(ev.id, 77);
    cr_assert_eq(parse("{\"account\":{\"id\":\"30\"}}", "follow.created", &a, &ev, &e, &err),
                 ERR_INVALID);
    cr_assert_eq(ev.id, 77);
    cr_assert_str_eq(err.msg, "data: \"target\" missing or not an object");
    cr_assert_eq(parse("{\"account\":{\"id\":\"30\"},\"account\":{\"id\":\"31\"}}",
                       "follow.created", &a, &ev, &e, &err),
                 ERR_INVALID, "duplicate names are refused");
    cr_assert_eq(ev.id, 0);
    cr_assert_eq(parse("{\"account\":{\"id\":\"3\xff\"}}", "follow.created", &a, &ev, &e, &err),
                 ERR_INVALID, "not UTF-8");
    cr_assert_eq(ev.id, 0);
    arena_release(&a);
}

/* ---- the consume use case ---- */

static int64_t now = 1795957323000LL;
static const struct clock fake_clock = {clock_fake_now_ms, &now};

/* The mem store with apply_batch refusing a batch that holds event 666 with fault_code (for
 * good, or as transient); 0 lets everything through. The other methods are mem's own. */
static int fault_code;
static struct notification_store_ops faulty_ops;
static const struct notification_store_ops *mem_ops;

static int faulty_apply(void *ctx, const struct batch_item *items, size_t n,
                        const struct consumer_cursor *cursor, int64_t now_ms,
                        struct batch_result *res, struct err *err)
{
    for (size_t i = 0; fault_code && i < n; i++)
        if (items[i].changes && items[i].event_id == 666)
            return err_set(err, fault_code, "injected failure");
    return mem_ops->apply_batch(ctx, items, n, cursor, now_ms, res, err);
}

static void core_init(struct notif_core *c, struct idgen *ids, int fault)
{
    memset(c, 0, sizeof(*c));
    idgen_init(ids, 3, &fake_clock);
    c->store = notification_store_mem_new();
    fault_code = fault;
    mem_ops = c->store.ops;
    faulty_ops = *mem_ops;
    faulty_ops.apply_batch = faulty_apply;
    c->store.ops = &faulty_ops;
    c->decoder = event_decoder_json();
    c->clock = &fake_clock;
    c->ids = ids;
}

static char *follow(uint64_t id, uint64_t from, uint64_t to)
{
    static char buf[8][400];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 400,
             "{\"id\":\"%llu\",\"type\":\"follow.created\",\"version\":1,\"occurred_at\":"
             "\"2026-11-24T01:02:03.000Z\",\"producer\":\"threadly-service\",\"key\":\"%llu\","
             "\"data\":{\"follow_id\":\"%llu\",\"account\":{\"id\":\"%llu\"},\"target\":{\"id\":"
             "\"%llu\"}}}",
             (unsigned long long)id, (unsigned long long)to, (unsigned long long)id,
             (unsigned long long)from, (unsigned long long)to);
    return b;
}

static struct inbound_message msg(int64_t pos, const char *text)
{
    return (struct inbound_message){pos, text, strlen(text)};
}

static size_t count_for(struct notif_core *c, uint64_t who)
{
    struct arena a;
    arena_init(&a, 1024);
    struct notification_query q = {who, NOTIFICATION_TYPES_ALL, 0, {0, 0, 0, 80}};
    struct notification_list l;
    struct err err;
    cr_assert_eq(notification_store_list(&c->store, &q, &a, &l, &err), 0);
    arena_release(&a);
    return l.n;
}

Test(consume, garbage_is_dead_lettered_and_the_batch_goes_on)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, 0);
    struct err err = {0};
    struct consume_stats st = {0};
    char bad_utf8[] = {'{', (char)0xff, 0, 'x'};
    struct inbound_message m[5] = {
        msg(1, follow(101, 1, 2)),
        msg(2, "this is not json"),
        msg(3, "{\"id\":\"102\",\"type\":\"poll.ended\",\"version\":1,\"occurred_at\":"
               "\"2026-11-24T01:02:03Z\",\"producer\":\"p\",\"key\":\"k\",\"data\":{}}"),
        {4, bad_utf8, sizeof(bad_utf8)},
        msg(5, follow(103, 3, 2)),
    };
    cr_assert_eq(consume_batch(&c, "feed", m, 5, 5, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(st.events, 2);
    cr_assert_eq(st.created, 2);
    cr_assert_eq(st.dead, 3);
    cr_assert_eq(count_for(&c, 2), 2);
    int64_t pos;
    cr_assert_eq(consume_cursor(&c, "feed", &pos, &err), 0);
    cr_assert_eq(pos, 5);

    struct arena a;
    arena_init(&a, 1024);
    struct dead_letter *d;
    size_t n;
    cr_assert_eq(notification_store_dead_letters(&c.store, 10, &a, &d, &n, &err), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(d[0].text, "{\\xff\\x00x", "bytes a database would refuse are escaped");
    cr_assert_eq(d[1].event_id, 102);
    cr_assert_str_eq(d[1].reason, "unknown event type poll.ended version 1");
    cr_assert_str_eq(d[2].text, "this is not json");
    arena_release(&a);

    /* The same messages again: no duplicate notifications. */
    memset(&st, 0, sizeof(st));
    cr_assert_eq(consume_batch(&c, "feed", m, 5, 5, &st, &err), 0);
    cr_assert_eq(st.duplicates, 2);
    cr_assert_eq(st.created, 0);
    cr_assert_eq(count_for(&c, 2), 2);
    notification_store_close(&c.store);
}

Test(consume, a_batch_the_store_refuses_is_applied_one_by_one)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, ERR_INTERNAL);
    struct err err = {0};
    struct consume_stats st = {0};
    struct inbound_message m[3] = {msg(10, follow(201, 1, 2)), msg(11, follow(666, 3, 2)),
                                   msg(12, follow(202, 4, 2))};
    cr_assert_eq(consume_batch(&c, "feed", m, 3, 14, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(st.created, 2);
    cr_assert_eq(st.dead, 1, "the event the store keeps refusing is dead-lettered");
    cr_assert_eq(count_for(&c, 2), 2);
    int64_t pos;
    cr_assert_eq(consume_cursor(&c, "feed", &pos, &err), 0);
    cr_assert_eq(pos, 14, "the cursor ends at the batch's position");
    struct arena a;
    arena_init(&a, 1024);
    struct dead_letter *d;
    size_t n;
    cr_assert_eq(notification_store_dead_letters(&c.store, 10, &a, &d, &n, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(d[0].event_id, 666);
    cr_assert_str_eq(d[0].reason, "store: injected failure");
    arena_release(&a);
    notification_store_close(&c.store);
}

Test(consume, a_transient_failure_keeps_nothing_and_is_retried)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, ERR_UNAVAILABLE);
    struct err err = {0};
    struct inbound_message m[2] = {msg(1, follow(301, 1, 2)), msg(2, follow(666, 3, 2))};
    cr_assert_eq(consume_batch(&c, "feed", m, 2, 2, NULL, &err), ERR_UNAVAILABLE);
    cr_assert_eq(count_for(&c, 2), 0);
    int64_t pos;
    cr_assert_eq(consume_cursor(&c, "feed", &pos, &err), 0);
    cr_assert_eq(pos, 0);
    /* Once the store is back, the retry applies everything. */
    fault_code = 0;
    cr_assert_eq(consume_batch(&c, "feed", m, 2, 2, NULL, &err), 0);
    cr_assert_eq(count_for(&c, 2), 2);
    notification_store_close(&c.store);
}

/* ---- what the streaming clients are told (app/live.c), through a recording live port ---- */

struct recorded {
    char what[32];
    uint64_t id; /* notification id or status id */
    uint64_t to[8];
    size_t nto;
    bool pub;
};
static struct recorded rec[32];
static size_t nrec;

static int rec_notification(void *ctx, const struct notification *n, struct err *err)
{
    (void)ctx;
    (void)err;
    rec[nrec] = (struct recorded){"notification", n->id, {n->recipient_id}, 1, false};
    snprintf(rec[nrec].what, sizeof(rec[nrec].what), "notification:%s",
             notification_type_name(n->type));
    nrec++;
    return 0;
}

static void rec_status(const char *what, uint64_t id, const uint64_t *to, size_t n, bool pub)
{
    struct recorded *r = &rec[nrec++];
    *r = (struct recorded){"", id, {0}, n, pub};
    snprintf(r->what, sizeof(r->what), "%s", what);
    for (size_t i = 0; i < n && i < 8; i++)
        r->to[i] = to[i];
}

static int rec_update(void *ctx, const char *json, const uint64_t *to, size_t n, bool pub,
                      struct err *err)
{
    (void)ctx;
    (void)err;
    cr_assert_not_null(strstr(json, "\"visibility\""), "the status snapshot is the payload");
    rec_status("update", 0, to, n, pub);
    return 0;
}

static int rec_remove(void *ctx, uint64_t id, const uint64_t *to, size_t n, bool pub,
                      struct err *err)
{
    (void)ctx;
    (void)err;
    rec_status("delete", id, to, n, pub);
    return 0;
}

static const struct live_stream_ops rec_ops = {rec_notification, rec_update, rec_remove, NULL};

static char *status_event(uint64_t id, uint64_t author, const char *vis, uint64_t mention)
{
    static char buf[4][600];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 600,
             "{\"id\":\"%llu\",\"type\":\"status.created\",\"version\":1,\"occurred_at\":"
             "\"2026-11-24T01:02:03.000Z\",\"producer\":\"threadly-service\",\"key\":\"%llu\","
             "\"data\":{\"status\":{\"id\":\"%llu\",\"visibility\":\"%s\",\"account\":{\"id\":"
             "\"%llu\"}},\"mentioned_account_ids\":[\"%llu\"],\"in_reply_to_account_id\":null}}",
             (unsigned long long)id, (unsigned long long)id, (unsigned long long)id, vis,
             (unsigned long long)author, (unsigned long long)mention);
    return b;
}

static char *deleted_event(uint64_t id, uint64_t status, uint64_t author, const char *vis,
                           uint64_t mention)
{
    static char buf[4][400];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 400,
             "{\"id\":\"%llu\",\"type\":\"status.deleted\",\"version\":1,\"occurred_at\":"
             "\"2026-11-24T01:02:03.000Z\",\"producer\":\"threadly-service\",\"key\":\"%llu\","
             "\"data\":{\"status_id\":\"%llu\",\"account_id\":\"%llu\",\"visibility\":\"%s\","
             "\"mentioned_account_ids\":[\"%llu\"]}}",
             (unsigned long long)id, (unsigned long long)status, (unsigned long long)status,
             (unsigned long long)author, vis, (unsigned long long)mention);
    return b;
}

Test(live, published_after_commit_to_the_right_audience_and_never_twice)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, 0);
    c.live = (struct live_stream){&rec_ops, NULL};
    nrec = 0;
    struct err err = {0};
    /* 3 and 4 follow 1; 1 posts publicly mentioning 5, then a direct status to 6. */
    struct inbound_message m[4] = {msg(1, follow(401, 3, 1)), msg(2, follow(402, 4, 1)),
                                   msg(3, status_event(403, 1, "public", 5)),
                                   msg(4, status_event(404, 1, "direct", 6))};
    cr_assert_eq(consume_batch(&c, "feed", m, 4, 4, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(nrec, 6, "%zu", nrec);
    cr_assert_str_eq(rec[0].what, "notification:follow");
    cr_assert_eq(rec[0].to[0], 1);
    cr_assert_str_eq(rec[1].what, "notification:follow");
    cr_assert_str_eq(rec[2].what, "notification:mention");
    cr_assert_eq(rec[2].to[0], 5);
    cr_assert_str_eq(rec[3].what, "update");
    cr_assert(rec[3].pub, "a public status goes to the public streams");
    cr_assert_eq(rec[3].nto, 3);
    cr_assert(rec[3].to[0] == 1 && rec[3].to[1] == 3 && rec[3].to[2] == 4, "author + followers");
    cr_assert_str_eq(rec[4].what, "notification:mention");
    cr_assert_eq(rec[4].to[0], 6);
    cr_assert_str_eq(rec[5].what, "update");
    cr_assert(!rec[5].pub);
    cr_assert(rec[5].nto == 2 && rec[5].to[0] == 1 && rec[5].to[1] == 6,
              "a direct status reaches the author and the mentioned accounts only");

    /* A replay is stored as duplicates and told to nobody. */
    nrec = 0;
    cr_assert_eq(consume_batch(&c, "feed", m, 4, 4, NULL, &err), 0);
    cr_assert_eq(nrec, 0);

    /* Deleting the public status: delete to the same audience; private: no public streams. */
    struct inbound_message d[3] = {msg(5, deleted_event(405, 403, 1, "public", 5)),
                                   msg(6, deleted_event(406, 407, 1, "private", 5)),
                                   msg(7, deleted_event(410, 404, 1, "direct", 6))};
    cr_assert_eq(consume_batch(&c, "feed", d, 3, 7, NULL, &err), 0);
    cr_assert_eq(nrec, 3);
    cr_assert_str_eq(rec[0].what, "delete");
    cr_assert_eq(rec[0].id, 403);
    cr_assert(rec[0].pub && rec[0].nto == 3);
    cr_assert(!rec[1].pub && rec[1].nto == 3);
    cr_assert(!rec[2].pub && rec[2].nto == 2 && rec[2].to[0] == 1 && rec[2].to[1] == 6,
              "a direct status' delete reaches the author and the mentioned accounts");

    /* A notification made and removed in one batch is not sent. */
    nrec = 0;
    char unfollow[400];
    snprintf(unfollow, sizeof(unfollow),
             "{\"id\":\"409\",\"type\":\"follow.deleted\",\"version\":1,\"occurred_at\":"
             "\"2026-11-24T01:02:03.000Z\",\"producer\":\"threadly-service\",\"key\":\"2\","
             "\"data\":{\"follow_id\":\"408\",\"account_id\":\"7\",\"target_account_id\":\"2\"}}");
    struct inbound_message fu[2] = {msg(8, follow(408, 7, 2)), msg(9, unfollow)};
    cr_assert_eq(consume_batch(&c, "feed", fu, 2, 9, NULL, &err), 0);
    cr_assert_eq(nrec, 0);
    notification_store_close(&c.store);
}

static bool rec_listening(void *ctx, uint64_t account)
{
    (void)ctx;
    return account == 1; /* only account 1 has a stream open */
}

static const struct live_stream_ops rec_ops_listening = {rec_notification, rec_update, rec_remove,
                                                         rec_listening};

Test(live, notifications_go_only_to_accounts_with_a_stream_open)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, 0);
    c.live = (struct live_stream){&rec_ops_listening, NULL};
    nrec = 0;
    struct err err = {0};
    /* 3 follows 1 (listening) and 1 follows 3 (not listening): one frame, to 1. */
    struct inbound_message m[2] = {msg(1, follow(701, 3, 1)), msg(2, follow(702, 1, 3))};
    cr_assert_eq(consume_batch(&c, "feed", m, 2, 2, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(nrec, 1, "%zu frames", nrec);
    cr_assert_str_eq(rec[0].what, "notification:follow");
    cr_assert_eq(rec[0].to[0], 1);
    cr_assert_eq(count_for(&c, 3), 1, "stored for the account that was not listening");
    notification_store_close(&c.store);
}

Test(live, nothing_is_published_when_the_batch_is_not_stored)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, ERR_UNAVAILABLE);
    c.live = (struct live_stream){&rec_ops, NULL};
    nrec = 0;
    struct err err = {0};
    struct inbound_message m[2] = {msg(1, follow(501, 3, 1)), msg(2, follow(666, 4, 1))};
    cr_assert_eq(consume_batch(&c, "feed", m, 2, 2, NULL, &err), ERR_UNAVAILABLE);
    cr_assert_eq(nrec, 0, "nothing before the commit");
    fault_code = 0;
    cr_assert_eq(consume_batch(&c, "feed", m, 2, 2, NULL, &err), 0);
    cr_assert_eq(nrec, 2);
    notification_store_close(&c.store);
}

Test(consume, no_source_stores_no_cursor_and_is_still_idempotent)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, 0);
    struct err err = {0};
    struct consume_stats st = {0};
    struct inbound_message m[2] = {msg(40, follow(401, 1, 2)), msg(41, "garbage")};
    cr_assert_eq(consume_batch(&c, NULL, m, 2, 41, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(st.created, 1);
    cr_assert_eq(st.dead, 1);
    int64_t pos = -1;
    cr_assert_eq(consume_cursor(&c, "feed", &pos, &err), 0);
    cr_assert_eq(pos, 0, "a transport that keeps its own position leaves the feed cursor alone");
    memset(&st, 0, sizeof(st));
    cr_assert_eq(consume_batch(&c, NULL, m, 1, 40, &st, &err), 0);
    cr_assert_eq(st.duplicates, 1);
    cr_assert_eq(count_for(&c, 2), 1);
    notification_store_close(&c.store);
}

Test(consume, no_source_and_a_refused_batch_go_one_by_one)
{
    struct notif_core c;
    struct idgen ids;
    core_init(&c, &ids, ERR_INTERNAL);
    struct err err = {0};
    struct consume_stats st = {0};
    struct inbound_message m[2] = {msg(50, follow(501, 1, 2)), msg(51, follow(666, 3, 2))};
    cr_assert_eq(consume_batch(&c, NULL, m, 2, 51, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(st.created, 1);
    cr_assert_eq(st.dead, 1);
    notification_store_close(&c.store);
}
