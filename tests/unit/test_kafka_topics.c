/* test_kafka_topics.c - the event type -> topic map of docs/events.md and the checks the
 * Kafka layer makes before anything reaches a broker (no broker needed). */
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/events/kafka.h"

#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

Test(kafka_topics, every_type_of_the_contract_has_its_topic)
{
    static const struct {
        const char *type, *topic;
    } cases[] = {
        {"account.created", "user-events"},
        {"account.updated", "user-events"},
        {"token.revoked", "user-events"},
        {"status.created", "post-events"},
        {"status.deleted", "post-events"},
        {"favourite.created", "interaction-events"},
        {"favourite.deleted", "interaction-events"},
        {"follow.created", "interaction-events"},
        {"follow.deleted", "interaction-events"},
        {"follow_request.created", "interaction-events"},
        {"follow_request.deleted", "interaction-events"},
        {"mail.requested", "mail-events"},
        /* A new type of a known aggregate goes with its siblings. */
        {"status.updated", "post-events"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = kafka_topic_for_type(cases[i].type);
        cr_assert_not_null(got, "%s", cases[i].type);
        cr_assert_str_eq(got, cases[i].topic, "%s", cases[i].type);
    }
}

Test(kafka_topics, unknown_or_malformed_types_have_none)
{
    const char *bad[] = {NULL,
                         "",
                         "status",
                         "statuses.created",
                         "Status.created",
                         "status..x",
                         ".created",
                         "status.",
                         "poll.created",
                         "accounts.x",
                         "follow_requests.created",
                         "favourite created",
                         "mail-events.x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_null(kafka_topic_for_type(bad[i]), "%s", bad[i] ? bad[i] : "NULL");
}

Test(kafka_topics, the_topic_list_is_the_contracts)
{
    const char *want[] = {"user-events", "post-events", "interaction-events", "mail-events",
                          "mail-events.dlq"};
    cr_assert_eq(kafka_topics_len, 5);
    for (size_t i = 0; i < kafka_topics_len; i++)
        cr_assert_str_eq(kafka_topics[i], want[i]);
    cr_assert_str_eq(KAFKA_DEFAULT_GROUP, "notification-service");
}

Test(kafka_config, bad_configurations_are_refused_before_connecting)
{
    struct err err = {0};
    struct kafka_producer *p = (struct kafka_producer *)1;
    struct kafka_consumer *c = (struct kafka_consumer *)1;
    struct kafka_config cfg = {0};
    cr_assert_eq(kafka_producer_open(&cfg, &p, &err), ERR_INVALID);
    cr_assert_null(p);
    cr_assert(strstr(err.msg, "bootstrap"), "%s", err.msg);

    cfg.bootstrap = "127.0.0.1:1";
    const char *topics[] = {"post-events"};
    cr_assert_eq(kafka_consumer_open(&cfg, topics, 0, &c, &err), ERR_INVALID);
    cr_assert_null(c);
    const char *empty[] = {""};
    cr_assert_eq(kafka_consumer_open(&cfg, empty, 1, &c, &err), ERR_INVALID);
    cr_assert_null(c);
    cfg.topic_prefix = "a-prefix-that-is-much-longer-than-the-sixty-four-bytes-it-may-have-";
    cr_assert_eq(kafka_consumer_open(&cfg, topics, 1, &c, &err), ERR_INVALID);
    cr_assert_null(c);
    cfg.topic_prefix = NULL;
    cfg.timeout_ms = -1;
    cr_assert_eq(kafka_producer_open(&cfg, &p, &err), ERR_INVALID);
    cr_assert_eq(kafka_create_topics(&cfg, topics, 1, 3, 1, &err), ERR_INVALID);
    cfg.timeout_ms = 1000;
    cr_assert_eq(kafka_create_topics(&cfg, topics, 1, 0, 1, &err), ERR_INVALID);
}

/* Records without a topic or a key are never sent, and say so one by one. */
Test(kafka_producer, unsendable_records_are_refused_one_by_one)
{
    struct err err = {0};
    struct kafka_config cfg = {.bootstrap = "127.0.0.1:1", .timeout_ms = 1000};
    struct kafka_producer *p;
    cr_assert_eq(kafka_producer_open(&cfg, &p, &err), ERR_OK, "%s", err.msg);
    struct kafka_record recs[] = {
        {.type = "poll.created", .key = "1", .value = "{}", .value_len = 2},
        {.type = "status.created", .key = "", .value = "{}", .value_len = 2},
        {.type = "status.created", .key = NULL, .value = "{}", .value_len = 2},
        {.type = NULL, .key = "1", .value = "{}", .value_len = 2},
    };
    size_t prefix = 99;
    cr_assert_eq(kafka_producer_publish(p, recs, 4, &prefix, &err), ERR_INVALID);
    cr_assert_eq(prefix, 0);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(recs[i].status, ERR_INVALID, "record %zu", i);
        cr_assert_eq(recs[i].offset, -1);
    }
    struct kafka_producer_stats st;
    kafka_producer_stats(p, &st);
    cr_assert_eq(st.acked, 0);
    cr_assert_eq(st.failed, 4);
    kafka_producer_close(p);
}

/* Nobody listens on the port: the records come back unacknowledged once their time is up,
 * and the call does not hang. */
Test(kafka_producer, an_unreachable_broker_acknowledges_nothing, .timeout = 30)
{
    struct err err = {0};
    struct kafka_config cfg = {.bootstrap = "127.0.0.1:1", .timeout_ms = 1000};
    struct kafka_producer *p;
    cr_assert_eq(kafka_producer_open(&cfg, &p, &err), ERR_OK, "%s", err.msg);
    struct kafka_record recs[] = {
        {.type = "status.created", .key = "7", .value = "{\"a\":1}", .value_len = 7},
        {.type = "favourite.created", .key = "7", .value = "{\"a\":2}", .value_len = 7},
    };
    size_t prefix = 99;
    cr_assert_eq(kafka_producer_publish(p, recs, 2, &prefix, &err), ERR_UNAVAILABLE);
    cr_assert_eq(prefix, 0);
    cr_assert_eq(recs[0].status, ERR_UNAVAILABLE);
    cr_assert_eq(recs[1].status, ERR_UNAVAILABLE);
    cr_assert(strstr(err.msg, "record 0"), "%s", err.msg);
    cr_assert_eq(kafka_ping(&cfg, 500, &err), ERR_UNAVAILABLE);
    kafka_producer_close(p);
}

/* With a logger, librdkafka's complaints become our JSON log lines, not raw stderr. */
Test(kafka_producer, librdkafka_messages_go_to_the_logger, .timeout = 30)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    struct logger lg;
    log_init(&lg, "test", LOG_DEBUG, fds[1], &clock_system);
    struct err err = {0};
    struct kafka_config cfg = {.bootstrap = "127.0.0.1:1", .timeout_ms = 1000, .log = &lg};
    struct kafka_producer *p;
    cr_assert_eq(kafka_producer_open(&cfg, &p, &err), ERR_OK, "%s", err.msg);
    struct kafka_record r = {.type = "status.created", .key = "1", .value = "{}", .value_len = 2};
    cr_assert_eq(kafka_producer_publish(p, &r, 1, NULL, &err), ERR_UNAVAILABLE);
    kafka_producer_close(p);
    close(fds[1]);
    char out[8192];
    ssize_t n = read(fds[0], out, sizeof(out) - 1);
    close(fds[0]);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert(strstr(out, "\"service\":\"test\""), "%s", out);
    cr_assert(strstr(out, "kafka "), "%s", out);
    cr_assert(strstr(out, "Connection refused"), "%s", out);
}
