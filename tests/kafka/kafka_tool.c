/* kafka_tool.c - what the Kafka transport tests need from the bus itself, on lib/events/kafka:
 *   kafka_tool send BOOTSTRAP PREFIX TOPIC KEY VALUE
 *       publishes one message (acks=all) to TOPIC (bare name; PREFIX "" for none)
 *   kafka_tool dump BOOTSTRAP PREFIX GROUP COUNT SECONDS TOPIC...
 *       reads the TOPICs from the beginning as GROUP (commits nothing) until COUNT messages or
 *       SECONDS passed; prints one line per message: topic TAB partition TAB offset TAB key TAB
 *       value (values are expected on one line). Exit 0, or 1 with the reason on stderr.
 *   kafka_tool until BOOTSTRAP PREFIX GROUP SECONDS NEEDLE TOPIC...
 *       like dump, but stops as soon as a message whose value contains NEEDLE was printed
 *       (exit 0), or after SECONDS (exit 3). */
#include "lib/base/clock.h"
#include "lib/events/kafka.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int send_one(const struct kafka_config *cfg, const char *topic, const char *key,
                    const char *value)
{
    struct kafka_producer *p = NULL;
    struct err err = {0};
    if (kafka_producer_open(cfg, &p, &err) != 0) {
        fprintf(stderr, "kafka_tool: %s\n", err.msg);
        return 1;
    }
    struct kafka_record r = {
        .type = "test.raw", .topic = topic, .key = key, .value = value, .value_len = strlen(value)};
    int rc = kafka_producer_publish(p, &r, 1, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "kafka_tool: %s\n", err.msg);
    kafka_producer_close(p);
    return rc != 0;
}

static int dump(const struct kafka_config *cfg, long count, long seconds, const char *needle,
                char **topics, size_t ntopics)
{
    bool found = false;
    struct kafka_consumer *c = NULL;
    struct err err = {0};
    if (kafka_consumer_open(cfg, (const char *const *)topics, ntopics, &c, &err) != 0) {
        fprintf(stderr, "kafka_tool: %s\n", err.msg);
        return 1;
    }
    int64_t deadline = clock_monotonic_ms() + seconds * 1000;
    long seen = 0;
    struct arena a;
    arena_init(&a, 65536);
    while (seen < count && !found && clock_monotonic_ms() < deadline) {
        struct kafka_message *m = NULL;
        size_t n = 0;
        arena_reset(&a);
        if (kafka_consumer_poll(c, 500, 200, &a, &m, &n, &err) != 0)
            continue; /* e.g. a rebalance or a topic not yet known: poll again */
        for (size_t i = 0; i < n; i++, seen++) {
            printf("%s\t%" PRId32 "\t%" PRId64 "\t%s\t%s\n", m[i].topic, m[i].partition,
                   m[i].offset, m[i].key ? m[i].key : "", m[i].value ? m[i].value : "");
            if (needle && m[i].value && strstr(m[i].value, needle))
                found = true;
        }
    }
    arena_release(&a);
    kafka_consumer_close(c);
    fflush(stdout);
    return needle && !found ? 3 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "send") == 0) {
        struct kafka_config cfg = {.bootstrap = argv[2],
                                   .topic_prefix = argv[3],
                                   .client_id = "kafka_tool",
                                   .timeout_ms = 10000};
        return send_one(&cfg, argv[4], argv[5], argv[6]);
    }
    if (argc >= 8 && strcmp(argv[1], "dump") == 0) {
        struct kafka_config cfg = {.bootstrap = argv[2],
                                   .topic_prefix = argv[3],
                                   .group_id = argv[4],
                                   .client_id = "kafka_tool",
                                   .timeout_ms = 10000,
                                   .session_timeout_ms = 6000};
        return dump(&cfg, strtol(argv[5], NULL, 10), strtol(argv[6], NULL, 10), NULL, argv + 7,
                    (size_t)(argc - 7));
    }
    if (argc >= 8 && strcmp(argv[1], "until") == 0) {
        struct kafka_config cfg = {.bootstrap = argv[2],
                                   .topic_prefix = argv[3],
                                   .group_id = argv[4],
                                   .client_id = "kafka_tool",
                                   .timeout_ms = 10000,
                                   .session_timeout_ms = 6000};
        return dump(&cfg, 1L << 30, strtol(argv[5], NULL, 10), argv[6], argv + 7,
                    (size_t)(argc - 7));
    }
    fprintf(stderr, "usage: kafka_tool send BOOTSTRAP PREFIX TOPIC KEY VALUE\n"
                    "       kafka_tool dump BOOTSTRAP PREFIX GROUP COUNT SECONDS TOPIC...\n"
                    "       kafka_tool until BOOTSTRAP PREFIX GROUP SECONDS NEEDLE TOPIC...\n");
    return 2;
}
