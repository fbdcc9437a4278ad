/* kafka_bench.c - event envelopes through a Kafka broker with lib/events/kafka, the way the
 * services will use it: a relay-like producer publishes batches and waits for every ack, while
 * a consumer in a group polls batches, parses each envelope (event_parse) and commits after
 * each batch. Then a second group reads everything again from the start (catch-up rate).
 * The envelopes are formatted before the clock starts (a relay reads them as text). Prints
 * one result line per phase and a final "result:" line for bench/kafka_throughput.sh.
 * Usage: kafka_bench BOOTSTRAP EVENTS BATCH DATA_BYTES */
#include "lib/base/arena.h"
#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/events/event.h"
#include "lib/events/kafka.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct bench {
    struct kafka_config cfg;
    size_t events, batch, data_bytes;
    _Atomic bool produce_failed;
    double produce_s;
    double p50_ms, p99_ms;
    struct buf *text; /* the envelopes, formatted up front */
    char (*keys)[24];
};

static const char *types[] = {"status.created", "favourite.created", "follow.created",
                              "status.deleted"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Every envelope, formatted before the clock starts: a relay reads them as text from its
 * outbox, so formatting is not part of what it does per event. */
static void format_all(struct bench *b)
{
    char *data = malloc(b->data_bytes + 32);
    int n = snprintf(data, b->data_bytes + 32, "{\"text\":\"");
    for (; (size_t)n < b->data_bytes; n++)
        data[n] = (char)('a' + n % 26);
    strcpy(data + n, "\"}");
    b->text = calloc(b->events, sizeof(*b->text));
    b->keys = calloc(b->events, sizeof(*b->keys));
    for (size_t i = 0; i < b->events; i++) {
        uint64_t seq = i + 1;
        snprintf(b->keys[i], sizeof(b->keys[i]), "%" PRIu64, seq % 1000 + 1);
        struct event e = {seq, types[seq % 4], 1, 1795957323004LL, "threadly-service", b->keys[i],
                          data};
        b->text[i] = (struct buf)BUF_INIT;
        event_format(&e, &b->text[i]);
    }
    free(data);
}

static void *produce(void *arg)
{
    struct bench *b = arg;
    struct err err = {0};
    struct kafka_producer *p;
    if (kafka_producer_open(&b->cfg, &p, &err) != ERR_OK) {
        fprintf(stderr, "producer: %s\n", err.msg);
        b->produce_failed = true;
        return NULL;
    }
    struct kafka_record *recs = calloc(b->batch, sizeof(*recs));
    size_t nbatches = (b->events + b->batch - 1) / b->batch;
    double *lat = calloc(nbatches, sizeof(*lat));
    int64_t t0 = clock_monotonic_ns();
    size_t done = 0, k = 0;
    while (done < b->events) {
        size_t m = b->events - done < b->batch ? b->events - done : b->batch;
        for (size_t i = 0; i < m; i++) {
            size_t j = done + i;
            recs[i] = (struct kafka_record){.type = types[(j + 1) % 4],
                                            .key = b->keys[j],
                                            .value = b->text[j].data,
                                            .value_len = b->text[j].len};
        }
        int64_t s = clock_monotonic_ns();
        size_t prefix;
        if (kafka_producer_publish(p, recs, m, &prefix, &err) != ERR_OK) {
            fprintf(stderr, "producer: %s (%zu of %zu acknowledged)\n", err.msg, prefix, m);
            b->produce_failed = true;
            break;
        }
        lat[k++] = (double)(clock_monotonic_ns() - s) / 1e6;
        done += m;
    }
    b->produce_s = (double)(clock_monotonic_ns() - t0) / 1e9;
    qsort(lat, k, sizeof(*lat), cmp_double);
    b->p50_ms = k ? lat[k / 2] : 0;
    b->p99_ms = k ? lat[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1] : 0;
    kafka_producer_close(p);
    free(lat);
    free(recs);
    return NULL;
}

/* Consumes `want` events in group `group`: poll, parse, commit per batch. Returns seconds from
 * the first message to the last, or -1 on failure; *bad counts envelopes that did not parse. */
static double consume(struct bench *b, const char *group, size_t want, size_t *bad, size_t *commits)
{
    struct err err = {0};
    struct kafka_config cfg = b->cfg;
    cfg.group_id = group;
    const char *topics[] = {KAFKA_TOPIC_POST, KAFKA_TOPIC_INTERACTION};
    struct kafka_consumer *c;
    if (kafka_consumer_open(&cfg, topics, 2, &c, &err) != ERR_OK) {
        fprintf(stderr, "consumer: %s\n", err.msg);
        return -1;
    }
    struct arena a;
    arena_init(&a, 0);
    size_t got = 0;
    int64_t first = 0, last = 0, deadline = clock_monotonic_ms() + 600000;
    *bad = 0;
    *commits = 0;
    while (got < want && clock_monotonic_ms() < deadline) {
        struct kafka_message *m;
        size_t n;
        arena_reset(&a);
        int rc = kafka_consumer_poll(c, 1000, 500, &a, &m, &n, &err);
        if (rc == ERR_UNAVAILABLE)
            continue;
        if (rc != ERR_OK) {
            fprintf(stderr, "consumer: %s\n", err.msg);
            break;
        }
        if (b->produce_failed && n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            struct event e;
            if (event_parse(m[i].value, m[i].value_len, &a, &e, NULL) != ERR_OK)
                (*bad)++;
        }
        if (n && !first)
            first = clock_monotonic_ns();
        got += n;
        if (n) {
            last = clock_monotonic_ns();
            if (kafka_consumer_commit(c, &err) != ERR_OK)
                fprintf(stderr, "consumer: %s\n", err.msg);
            else
                (*commits)++;
        }
    }
    arena_release(&a);
    kafka_consumer_close(c);
    if (got < want) {
        fprintf(stderr, "consumer: %zu of %zu events\n", got, want);
        return -1;
    }
    return (double)(last - first) / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: kafka_bench BOOTSTRAP EVENTS BATCH DATA_BYTES\n");
        return 2;
    }
    struct bench b = {0};
    char prefix[64], group_live[96], group_replay[96];
    b.events = strtoul(argv[2], NULL, 10);
    b.batch = strtoul(argv[3], NULL, 10);
    b.data_bytes = strtoul(argv[4], NULL, 10);
    if (b.events == 0 || b.batch == 0 || b.batch > 100000 || b.data_bytes > EVENT_DATA_MAX / 2) {
        fprintf(stderr, "kafka_bench: EVENTS and BATCH must be positive, DATA_BYTES sane\n");
        return 2;
    }
    snprintf(prefix, sizeof(prefix), "bench%d-", (int)getpid());
    snprintf(group_live, sizeof(group_live), "%slive", prefix);
    snprintf(group_replay, sizeof(group_replay), "%sreplay", prefix);
    b.cfg = (struct kafka_config){.bootstrap = argv[1], .topic_prefix = prefix};
    struct err err = {0};
    if (kafka_create_topics(&b.cfg, kafka_topics, kafka_topics_len, 3, 1, &err) != ERR_OK) {
        fprintf(stderr, "kafka_bench: %s\n", err.msg);
        return 1;
    }
    format_all(&b);
    pthread_t t;
    pthread_create(&t, NULL, produce, &b);
    size_t bad, commits, bad2, commits2;
    double live_s = consume(&b, group_live, b.events, &bad, &commits);
    pthread_join(t, NULL);
    if (b.produce_failed || live_s < 0)
        return 1;
    double replay_s = consume(&b, group_replay, b.events, &bad2, &commits2);
    for (size_t i = 0; i < b.events; i++)
        buf_release(&b.text[i]);
    free(b.text);
    free(b.keys);
    if (replay_s < 0)
        return 1;
    double produced = b.events / b.produce_s, live = b.events / live_s,
           replay = b.events / replay_s;
    printf("produce: %zu events in %.2f s = %.0f events/s (batches of %zu, publish p50 %.1f ms "
           "p99 %.1f ms)\n",
           b.events, b.produce_s, produced, b.batch, b.p50_ms, b.p99_ms);
    printf("consume while producing: %.0f events/s (%zu commits, %zu unparsable)\n", live, commits,
           bad);
    printf("consume a backlog: %.0f events/s (%zu commits, %zu unparsable)\n", replay, commits2,
           bad2);
    printf("result: %.0f %.0f %.0f %.1f %.1f\n", produced, live, replay, b.p50_ms, b.p99_ms);
    return bad || bad2 ? 1 : 0;
}
