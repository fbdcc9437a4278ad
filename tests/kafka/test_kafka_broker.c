/* test_kafka_broker.c - lib/events/kafka against a broker: the real Apache Kafka at
 * TEST_KAFKA_BOOTSTRAP (tests/kafka/run.sh or scripts/test start it with scripts/kafka), else
 * librdkafka's mock cluster, and which one ran is printed. Each test uses its own topic
 * prefix and group, so runs against a long-lived broker do not see each other. */
#include "lib/base/arena.h"
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/metrics.h"
#include "lib/events/event.h"
#include "lib/events/kafka.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARTITIONS 3

struct broker {
    rd_kafka_t *mock_owner; /* the mock cluster lives as long as this handle */
    rd_kafka_mock_cluster_t *mock;
    char bootstrap[256];
    char prefix[64];
    char group[64];
    struct kafka_config cfg;
};

static bool forced_mock(void)
{
    const char *v = getenv("THREADLY_TEST_KAFKA");
    return v && strcmp(v, "mock") == 0;
}

/* TEST_REQUIRE naming kafka: a run without a real broker fails (the forced-mock run aside). */
static bool required(void)
{
    const char *r = getenv("TEST_REQUIRE");
    return r && strstr(r, "kafka") && !forced_mock();
}

/* Picks the broker, says which, and makes this test's topics. */
static void broker_open(struct broker *b, const char *name)
{
    struct err err = {0};
    const char *real = getenv("TEST_KAFKA_BOOTSTRAP");
    memset(b, 0, sizeof(*b));
    if (real && real[0] && !forced_mock()) {
        const char *v = getenv("TEST_KAFKA_VERSION");
        snprintf(b->bootstrap, sizeof(b->bootstrap), "%s", real);
        fprintf(stderr, "broker: real Apache Kafka %s at %s\n", v ? v : "(version not given)",
                real);
    } else {
        if (required())
            cr_assert_fail(
                "TEST_REQUIRE has kafka but TEST_KAFKA_BOOTSTRAP is not set: no real broker");
        char reason[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        b->mock_owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof(reason));
        cr_assert_not_null(b->mock_owner, "%s", reason);
        b->mock = rd_kafka_mock_cluster_new(b->mock_owner, 1);
        cr_assert_not_null(b->mock);
        snprintf(b->bootstrap, sizeof(b->bootstrap), "%s",
                 rd_kafka_mock_cluster_bootstraps(b->mock));
        fprintf(stderr, "broker: librdkafka mock cluster (librdkafka %s) at %s\n",
                rd_kafka_version_str(), b->bootstrap);
        if (getenv("CI") && !forced_mock())
            fprintf(stderr, "WARNING (CI): no real Kafka broker; this run only proved the "
                            "mock cluster\n");
    }
    snprintf(b->prefix, sizeof(b->prefix), "t%d-%" PRId64 "-", (int)getpid(),
             clock_monotonic_ms() % 1000000);
    snprintf(b->group, sizeof(b->group), "%s%s", b->prefix, name);
    b->cfg = (struct kafka_config){.bootstrap = b->bootstrap,
                                   .topic_prefix = b->prefix,
                                   .group_id = b->group,
                                   .timeout_ms = 20000,
                                   .debug = getenv("THREADLY_TEST_KAFKA_DEBUG")};
    if (b->mock) {
        /* The mock cluster of librdkafka 2.0 keeps a member that left until its session
         * times out, and a restarted consumer waits for that: keep the session short. */
        b->cfg.session_timeout_ms = 6000;
        char wire[KAFKA_TOPIC_MAX];
        for (size_t i = 0; i < kafka_topics_len; i++) {
            snprintf(wire, sizeof(wire), "%s%s", b->prefix, kafka_topics[i]);
            cr_assert_eq(rd_kafka_mock_topic_create(b->mock, wire, PARTITIONS, 1), 0);
        }
    } else {
        cr_assert_eq(kafka_ping(&b->cfg, 10000, &err), ERR_OK, "%s", err.msg);
        cr_assert_eq(
            kafka_create_topics(&b->cfg, kafka_topics, kafka_topics_len, PARTITIONS, 1, &err),
            ERR_OK, "%s", err.msg);
        /* Creating them again is fine. */
        cr_assert_eq(kafka_create_topics(&b->cfg, kafka_topics, 2, PARTITIONS, 1, &err), ERR_OK,
                     "%s", err.msg);
    }
}

static void broker_close(struct broker *b)
{
    if (b->mock)
        rd_kafka_mock_cluster_destroy(b->mock);
    if (b->mock_owner)
        rd_kafka_destroy(b->mock_owner);
}

/* Envelope n: a real event_format()ted envelope with id 1000+n. */
static const char *types[] = {"status.created", "favourite.created", "follow.created",
                              "account.created"};

struct sent {
    struct kafka_record recs[64];
    struct buf text[64];
    char keys[64][16];
    size_t n;
};

static void make_events(struct sent *s, size_t first, size_t n)
{
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        size_t k = first + i;
        snprintf(s->keys[i], sizeof(s->keys[i]), "%zu", k % 5 + 1);
        struct event e = {1000 + k,   types[k % 4], 1, 1795957323004LL, "threadly-service",
                          s->keys[i], "{\"seq\":1}"};
        s->text[i] = (struct buf)BUF_INIT;
        event_format(&e, &s->text[i]);
        s->recs[i] = (struct kafka_record){.type = e.type,
                                           .key = s->keys[i],
                                           .value = s->text[i].data,
                                           .value_len = s->text[i].len};
    }
}

static void release_events(struct sent *s)
{
    for (size_t i = 0; i < s->n; i++)
        buf_release(&s->text[i]);
}

static void publish_all(struct kafka_producer *p, struct sent *s)
{
    struct err err = {0};
    size_t prefix = 0;
    cr_assert_eq(kafka_producer_publish(p, s->recs, s->n, &prefix, &err), ERR_OK, "%s", err.msg);
    cr_assert_eq(prefix, s->n);
    for (size_t i = 0; i < s->n; i++) {
        cr_assert_eq(s->recs[i].status, ERR_OK);
        cr_assert(s->recs[i].partition >= 0 && s->recs[i].partition < PARTITIONS);
        cr_assert_geq(s->recs[i].offset, 0);
    }
}

/* Polls until `want` messages came (or the time is up), then `quiet_ms` more to catch extra
 * ones; returns how many came. Messages land in out[] (up to cap) in arena a. */
static size_t consume(struct kafka_consumer *c, size_t want, int quiet_ms, struct arena *a,
                      struct kafka_message *out, size_t cap)
{
    struct err err = {0};
    size_t got = 0;
    int64_t deadline = clock_monotonic_ms() + 30000;
    int64_t quiet_until = -1;
    for (;;) {
        int64_t now = clock_monotonic_ms();
        if (got >= want && quiet_until < 0)
            quiet_until = now + quiet_ms;
        if ((quiet_until >= 0 && now >= quiet_until) || now >= deadline)
            break;
        struct kafka_message *m;
        size_t n;
        int rc = kafka_consumer_poll(c, 16, 200, a, &m, &n, &err);
        if (rc == ERR_UNAVAILABLE) {
            fprintf(stderr, "poll: %s (retrying)\n", err.msg);
            continue;
        }
        cr_assert_eq(rc, ERR_OK, "%s", err.msg);
        for (size_t i = 0; i < n; i++) {
            if (got < cap)
                out[got] = m[i];
            got++;
        }
    }
    return got;
}

/* The envelope index in s of message m (by its exact bytes); -1 if none. */
static int find_sent(const struct sent *s, const struct kafka_message *m)
{
    for (size_t i = 0; i < s->n; i++) {
        if (m->value_len == s->text[i].len && memcmp(m->value, s->text[i].data, m->value_len) == 0)
            return (int)i;
    }
    return -1;
}

static void check_batch(const struct sent *s, const struct kafka_message *m, size_t n)
{
    int seen[64] = {0};
    for (size_t i = 0; i < n; i++) {
        int k = find_sent(s, &m[i]);
        cr_assert_geq(k, 0, "message %s/%d@%" PRId64 " was not sent in this batch", m[i].topic,
                      m[i].partition, m[i].offset);
        cr_assert_eq(seen[k]++, 0, "message %d delivered twice", k);
        cr_assert_str_eq(m[i].topic, kafka_topic_for_type(s->recs[k].type));
        cr_assert_str_eq(m[i].key, s->recs[k].key);
        cr_assert_eq(m[i].partition, s->recs[k].partition);
        cr_assert_eq(m[i].offset, s->recs[k].offset);
        /* One key's events come in the order they were published. */
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m[j].topic, m[i].topic) == 0 && strcmp(m[j].key, m[i].key) == 0)
                cr_assert_lt(find_sent(s, &m[j]), k, "key %s out of order", m[i].key);
        }
    }
}

/* The scenario of issue #4: a batch consumed and committed is not delivered again after a
 * restart of the consumer; a batch consumed but not committed is. */
Test(kafka_broker, commit_survives_a_restart_and_uncommitted_is_redelivered, .timeout = 150)
{
    struct broker b;
    struct err err = {0};
    struct arena a;
    struct kafka_message got[64];
    struct sent first, second;
    struct kafka_producer *p;
    struct kafka_consumer *c;
    broker_open(&b, "restart");
    arena_init(&a, 0);
    const char *topics[] = {KAFKA_TOPIC_USER, KAFKA_TOPIC_POST, KAFKA_TOPIC_INTERACTION};

    cr_assert_eq(kafka_producer_open(&b.cfg, &p, &err), ERR_OK, "%s", err.msg);
    make_events(&first, 0, 30);
    publish_all(p, &first);

    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 3, &c, &err), ERR_OK, "%s", err.msg);
    size_t n = consume(c, 30, 500, &a, got, 64);
    cr_assert_eq(n, 30, "consumed %zu of 30", n);
    check_batch(&first, got, n);
    cr_assert_eq(kafka_consumer_commit(c, &err), ERR_OK, "%s", err.msg);
    /* Nothing new: committing again is a no-op. */
    cr_assert_eq(kafka_consumer_commit(c, &err), ERR_OK, "%s", err.msg);

    make_events(&second, 30, 10);
    publish_all(p, &second);
    n = consume(c, 10, 300, &a, got, 64);
    cr_assert_eq(n, 10, "consumed %zu of 10", n);
    check_batch(&second, got, n);
    struct kafka_consumer_stats st;
    kafka_consumer_stats(c, &st);
    cr_assert_eq(st.messages, 40);
    cr_assert_eq(st.commits, 1);
    cr_assert_geq(st.rebalances, 1);
    /* Not committed: the consumer "crashed" before storing the batch. */
    kafka_consumer_close(c);

    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 3, &c, &err), ERR_OK, "%s", err.msg);
    n = consume(c, 10, 1500, &a, got, 64);
    cr_assert_eq(n, 10, "after the restart %zu messages came, want the 10 uncommitted", n);
    check_batch(&second, got, n);
    cr_assert_eq(kafka_consumer_commit(c, &err), ERR_OK, "%s", err.msg);
    kafka_consumer_stats(c, &st);
    cr_assert_eq(st.lag, 0, "lag %" PRId64 " after everything was consumed", st.lag);
    kafka_consumer_close(c);

    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 3, &c, &err), ERR_OK, "%s", err.msg);
    /* Silence means something only once the consumer owns the partitions. */
    n = 0;
    for (int64_t end = clock_monotonic_ms() + 30000; clock_monotonic_ms() < end;) {
        struct kafka_message *m;
        size_t k;
        cr_assert_eq(kafka_consumer_poll(c, 16, 100, &a, &m, &k, &err), ERR_OK, "%s", err.msg);
        n += k;
        kafka_consumer_stats(c, &st);
        if (st.assigned == 3 * PARTITIONS)
            break;
    }
    cr_assert_eq(st.assigned, 3 * PARTITIONS);
    n += consume(c, 0, 3000, &a, got, 64);
    cr_assert_eq(n, 0, "%zu committed messages came again", n);
    kafka_consumer_close(c);

    struct kafka_producer_stats ps;
    kafka_producer_stats(p, &ps);
    cr_assert_eq(ps.acked, 40);
    cr_assert_eq(ps.failed, 0);
    kafka_producer_close(p);
    release_events(&first);
    release_events(&second);
    arena_release(&a);
    broker_close(&b);
}

/* The consumer hands over bytes as they are: what is garbage is the caller's decision. */
Test(kafka_broker, garbage_is_delivered_as_raw_bytes, .timeout = 120)
{
    struct broker b;
    struct err err = {0};
    struct arena a;
    struct kafka_message got[8];
    struct kafka_producer *p;
    struct kafka_consumer *c;
    broker_open(&b, "garbage");
    arena_init(&a, 0);
    static const char bin[] = "\x00\xff{not json\x01\xc3";
    struct kafka_record recs[] = {
        {.topic = KAFKA_TOPIC_MAIL_DLQ,
         .type = "mail.requested",
         .key = "9",
         .value = bin,
         .value_len = sizeof(bin) - 1},
        {.type = "mail.requested", .key = "9", .value = "not an envelope", .value_len = 15},
        {.type = "mail.requested", .key = "9", .value = NULL, .value_len = 0},
    };
    cr_assert_eq(kafka_producer_open(&b.cfg, &p, &err), ERR_OK, "%s", err.msg);
    size_t prefix;
    cr_assert_eq(kafka_producer_publish(p, recs, 3, &prefix, &err), ERR_OK, "%s", err.msg);
    cr_assert_eq(prefix, 3);
    const char *topics[] = {KAFKA_TOPIC_MAIL, KAFKA_TOPIC_MAIL_DLQ};
    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 2, &c, &err), ERR_OK, "%s", err.msg);
    size_t n = consume(c, 3, 300, &a, got, 8);
    cr_assert_eq(n, 3);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(got[i].topic, KAFKA_TOPIC_MAIL_DLQ) == 0) {
            cr_assert_eq(got[i].value_len, sizeof(bin) - 1);
            cr_assert_eq(memcmp(got[i].value, bin, sizeof(bin) - 1), 0);
            found |= 1;
        } else if (got[i].value) {
            cr_assert_str_eq(got[i].topic, KAFKA_TOPIC_MAIL);
            cr_assert_eq(got[i].value_len, 15);
            cr_assert_str_eq(got[i].value, "not an envelope");
            struct event e;
            cr_assert_eq(event_parse(got[i].value, got[i].value_len, &a, &e, &err), ERR_INVALID);
            found |= 2;
        } else {
            cr_assert_eq(got[i].value_len, 0);
            found |= 4;
        }
        cr_assert_str_eq(got[i].key, "9");
        cr_assert_eq(got[i].key_len, 1);
    }
    cr_assert_eq(found, 7);
    cr_assert_eq(kafka_consumer_commit(c, &err), ERR_OK, "%s", err.msg);
    kafka_consumer_close(c);
    kafka_producer_close(p);
    arena_release(&a);
    broker_close(&b);
}

/* A batch that could not be stored is rewound and comes again from the same consumer; the
 * lag shows what is left while the consumer is behind. */
Test(kafka_broker, rewind_redelivers_and_lag_counts_what_is_left, .timeout = 120)
{
    struct broker b;
    struct err err = {0};
    struct arena a;
    struct kafka_message *m, first[32];
    size_t n = 0;
    struct sent s;
    struct kafka_producer *p;
    struct kafka_consumer *c;
    broker_open(&b, "rewind");
    arena_init(&a, 0);
    cr_assert_eq(kafka_producer_open(&b.cfg, &p, &err), ERR_OK, "%s", err.msg);
    make_events(&s, 0, 20);
    for (size_t i = 0; i < s.n; i++) { /* one key, one partition */
        s.recs[i].key = "42";
        s.recs[i].type = "status.created";
    }
    publish_all(p, &s);
    const char *topics[] = {KAFKA_TOPIC_POST};
    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 1, &c, &err), ERR_OK, "%s", err.msg);
    int64_t deadline = clock_monotonic_ms() + 30000;
    while (n == 0 && clock_monotonic_ms() < deadline)
        cr_assert_eq(kafka_consumer_poll(c, 5, 200, &a, &m, &n, &err), ERR_OK, "%s", err.msg);
    cr_assert_eq(n, 5);
    memcpy(first, m, n * sizeof(*m));
    struct kafka_consumer_stats st;
    kafka_consumer_stats(c, &st);
    cr_assert_eq(st.lag, 15, "lag %" PRId64 " with 15 of 20 left", st.lag);

    struct metrics *reg = metrics_new();
    kafka_consumer_add_metrics(c, reg);
    kafka_producer_add_metrics(p, reg);
    struct buf text = BUF_INIT;
    metrics_format(reg, &text);
    cr_assert(strstr(text.data, "kafka_consumer_lag_messages 15"), "%s", text.data);
    cr_assert(strstr(text.data, "kafka_producer_acked_total 20"), "%s", text.data);
    buf_release(&text);
    metrics_free(reg);

    cr_assert_eq(kafka_consumer_rewind(c, &err), ERR_OK, "%s", err.msg);
    size_t again = 0;
    deadline = clock_monotonic_ms() + 30000;
    while (again == 0 && clock_monotonic_ms() < deadline)
        cr_assert_eq(kafka_consumer_poll(c, 5, 200, &a, &m, &again, &err), ERR_OK, "%s", err.msg);
    cr_assert_eq(again, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(m[i].offset, first[i].offset);
        cr_assert_eq(m[i].value_len, first[i].value_len);
        cr_assert_eq(memcmp(m[i].value, first[i].value, m[i].value_len), 0);
    }
    cr_assert_eq(kafka_consumer_commit(c, &err), ERR_OK, "%s", err.msg);
    kafka_consumer_close(c);
    kafka_producer_close(p);
    release_events(&s);
    arena_release(&a);
    broker_close(&b);
}

/* Polls both members until the group has settled with every partition owned and both holding
 * some; returns false if that did not happen in time. */
static bool settle(struct kafka_consumer *c1, struct kafka_consumer *c2, struct arena *a)
{
    struct err err = {0};
    int64_t deadline = clock_monotonic_ms() + 40000;
    while (clock_monotonic_ms() < deadline) {
        struct kafka_message *m;
        size_t n;
        kafka_consumer_poll(c1, 16, 100, a, &m, &n, &err);
        cr_assert_eq(n, 0);
        kafka_consumer_poll(c2, 16, 100, a, &m, &n, &err);
        cr_assert_eq(n, 0);
        struct kafka_consumer_stats s1, s2;
        kafka_consumer_stats(c1, &s1);
        kafka_consumer_stats(c2, &s2);
        if (s1.assigned + s2.assigned == PARTITIONS && s1.assigned > 0 && s2.assigned > 0)
            return true;
    }
    return false;
}

/* Two members share the partitions; when one leaves with a batch it never committed, the
 * other takes its partitions over and gets exactly that batch again. */
Test(kafka_broker, a_member_that_leaves_hands_its_uncommitted_batch_over, .timeout = 200)
{
    struct broker b;
    struct err err = {0};
    struct arena a;
    struct kafka_message got1[64], got2[64], again[64];
    struct sent s;
    struct kafka_producer *p;
    struct kafka_consumer *c1, *c2;
    broker_open(&b, "handover");
    arena_init(&a, 0);
    const char *topics[] = {KAFKA_TOPIC_INTERACTION};
    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 1, &c1, &err), ERR_OK, "%s", err.msg);
    cr_assert_eq(kafka_consumer_open(&b.cfg, topics, 1, &c2, &err), ERR_OK, "%s", err.msg);
    cr_assert(settle(c1, c2, &a), "the group of two did not settle");

    cr_assert_eq(kafka_producer_open(&b.cfg, &p, &err), ERR_OK, "%s", err.msg);
    make_events(&s, 0, 30);
    for (size_t i = 0; i < s.n; i++) { /* one topic, 30 keys: every partition gets some */
        s.recs[i].type = i % 2 ? "favourite.created" : "follow.created";
        snprintf(s.keys[i], sizeof(s.keys[i]), "%zu", 100 + i);
    }
    publish_all(p, &s);

    size_t n1 = 0, n2 = 0;
    int64_t deadline = clock_monotonic_ms() + 30000;
    while (n1 + n2 < 30 && clock_monotonic_ms() < deadline) {
        struct kafka_message *m;
        size_t n;
        cr_assert_eq(kafka_consumer_poll(c1, 64, 100, &a, &m, &n, &err), ERR_OK, "%s", err.msg);
        for (size_t i = 0; i < n && n1 < 64; i++)
            got1[n1++] = m[i];
        cr_assert_eq(kafka_consumer_poll(c2, 64, 100, &a, &m, &n, &err), ERR_OK, "%s", err.msg);
        for (size_t i = 0; i < n && n2 < 64; i++)
            got2[n2++] = m[i];
    }
    cr_assert_eq(n1 + n2, 30, "the two members got %zu + %zu of 30", n1, n2);
    cr_assert(n1 > 0 && n2 > 0, "one member got everything (%zu, %zu)", n1, n2);
    for (size_t i = 0; i < n1; i++) /* no partition is read by both */
        for (size_t j = 0; j < n2; j++)
            cr_assert_neq(got1[i].partition, got2[j].partition);
    cr_assert_eq(kafka_consumer_commit(c1, &err), ERR_OK, "%s", err.msg);
    kafka_consumer_close(c2); /* leaves with its batch uncommitted */

    size_t n = consume(c1, n2, 1000, &a, again, 64);
    cr_assert_eq(n, n2, "the remaining member got %zu, want c2's %zu uncommitted", n, n2);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n2 && !found; j++)
            found = again[i].partition == got2[j].partition && again[i].offset == got2[j].offset;
        cr_assert(found, "%d@%" PRId64 " was not c2's", again[i].partition, again[i].offset);
    }
    struct kafka_consumer_stats st;
    kafka_consumer_stats(c1, &st);
    cr_assert_eq(st.assigned, PARTITIONS);
    cr_assert_eq(kafka_consumer_commit(c1, &err), ERR_OK, "%s", err.msg);
    kafka_consumer_close(c1);
    kafka_producer_close(p);
    release_events(&s);
    arena_release(&a);
    broker_close(&b);
}
