/* kafka.h - domain events over Apache Kafka (librdkafka): which topic an event type goes to
 * (docs/events.md), an idempotent producer that publishes a batch and waits for every delivery
 * report (for an outbox relay that marks rows sent only once acknowledged), and a group
 * consumer that commits offsets only when its caller says the batch is stored. Values are
 * opaque bytes here: what an event means, and what to do with garbage, is the caller's. */
#ifndef LIB_EVENTS_KAFKA_H
#define LIB_EVENTS_KAFKA_H

/* How the services use it (each on its own thread, one producer or consumer per thread):
 *
 *   outbox relay, per round:
 *     rows = the oldest unsent outbox rows, in seq order (up to a few hundred)
 *     recs[i] = (struct kafka_record){.type = row.type, .key = row.key,
 *                                     .value = row.envelope, .value_len = row.len};
 *     rc = kafka_producer_publish(p, recs, n, &acked, &err);
 *     mark rows[0 .. acked) sent; retry from rows[acked] next round;
 *     recs[acked].status == ERR_INVALID: that row can never go (unknown type): report it;
 *     rc == ERR_INTERNAL: kafka_producer_close(p) and open a new one.
 *
 *   event consumer, per round:
 *     kafka_consumer_poll(c, 500, 1000, &arena, &msgs, &n, &err);
 *     in one transaction: for each msgs[i], event_parse(value) (garbage: log or dead-letter),
 *       skip ids already applied, apply;
 *     stored: kafka_consumer_commit(c, &err); failed: kafka_consumer_rewind(c, &err). */

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KAFKA_TOPIC_USER "user-events"
#define KAFKA_TOPIC_POST "post-events"
#define KAFKA_TOPIC_INTERACTION "interaction-events"
#define KAFKA_TOPIC_MAIL "mail-events"
#define KAFKA_TOPIC_MAIL_DLQ "mail-events.dlq"
#define KAFKA_DEFAULT_GROUP "notification-service"
#define KAFKA_TOPIC_MAX 200 /* with the prefix */

/* The topics of docs/events.md, in that order (for creating them). */
extern const char *const kafka_topics[];
extern const size_t kafka_topics_len;

/* The topic of an event type, by its first word: account.* and token.* -> user-events,
 * status.* -> post-events, favourite.*, follow.* and follow_request.* -> interaction-events,
 * mail.* -> mail-events. NULL for a type that is not valid (event_type_valid) or whose first
 * word is none of these. */
const char *kafka_topic_for_type(const char *type);

struct kafka_config {
    const char *bootstrap;    /* "host:port[,host:port...]"; required */
    const char *client_id;    /* NULL: "threadly" */
    const char *topic_prefix; /* NULL or "": none. Put before every topic name on the wire
                               * (tests and shared clusters); callers always see bare names. */
    const char *group_id;     /* consumer group; NULL: KAFKA_DEFAULT_GROUP */
    int timeout_ms;           /* producer: how long a message may wait for its acknowledgement
                               * (message.timeout.ms); admin and close calls: their limit.
                               * 0: 30000 */
    const struct logger *log; /* NULL: librdkafka's own messages go to stderr */
    int session_timeout_ms;   /* consumer: how soon a silent member loses its partitions
                               * (session.timeout.ms); 0: librdkafka's 45000 */
    const char *debug;        /* NULL, or librdkafka debug contexts ("cgrp,fetch") */
};

/* ---- producer ---- */

struct kafka_producer;

/* One message to publish, e.g. an outbox row: (type, key, envelope text). */
struct kafka_record {
    const char *type;  /* event type: picks the topic (kafka_topic_for_type) */
    const char *topic; /* NULL: by type; else this topic (e.g. KAFKA_TOPIC_MAIL_DLQ) */
    const char *key;   /* message key: the envelope's key (aggregate id); required */
    const char *value; /* the envelope text, not copied past kafka_producer_publish */
    size_t value_len;
    /* Set by kafka_producer_publish: */
    enum err_code status; /* ERR_OK: acknowledged by all in-sync replicas (acks=all);
                           * ERR_INVALID: not sent (no topic for the type, no key, too large);
                           * ERR_UNAVAILABLE: not acknowledged in time or refused by the
                           * broker: publish it again (the idempotent producer keeps order
                           * and drops duplicates within one producer session) */
    int32_t partition;    /* where it went, when ERR_OK */
    int64_t offset;       /* its offset there, when ERR_OK */
};

/* Opens an idempotent producer (enable.idempotence=true, acks=all). Connecting is lazy: a
 * broker that is down shows as ERR_UNAVAILABLE records later, not here. ERR_INVALID for a bad
 * configuration. */
int kafka_producer_open(const struct kafka_config *cfg, struct kafka_producer **out,
                        struct err *err);

/* Publishes recs[0..n) in order and returns once every one of them has its delivery report
 * (at most about cfg->timeout_ms), setting each status. *acked_prefix (if not NULL) gets the
 * number of leading records that are ERR_OK: a relay that reads outbox rows in seq order marks
 * exactly those sent and retries from the next one, so the order per key is kept.
 * Returns ERR_OK when all n were acknowledged, ERR_UNAVAILABLE when some were not (reason of
 * the first in err), ERR_INVALID when none was sendable, ERR_INTERNAL after a fatal producer
 * error (close this producer and open a new one). Not thread-safe: one thread per producer. */
int kafka_producer_publish(struct kafka_producer *p, struct kafka_record *recs, size_t n,
                           size_t *acked_prefix, struct err *err);

/* Waits (up to cfg->timeout_ms) for messages still in flight from a publish that timed out,
 * then frees. NULL is a no-op. */
void kafka_producer_close(struct kafka_producer *p);

struct kafka_producer_stats {
    uint64_t acked;  /* records acknowledged */
    uint64_t failed; /* records that ended ERR_UNAVAILABLE or ERR_INVALID */
    uint64_t bytes;  /* value bytes acknowledged */
};

/* Counters since open; callable from any thread (e.g. a /metrics scrape). */
void kafka_producer_stats(const struct kafka_producer *p, struct kafka_producer_stats *out);

/* Registers kafka_producer_acked_total, kafka_producer_failed_total and
 * kafka_producer_bytes_total in m, read at scrape time. Once per registry. p must outlive m's
 * last scrape. */
void kafka_producer_add_metrics(struct kafka_producer *p, struct metrics *m);

/* ---- consumer ---- */

struct kafka_consumer;

/* A consumed message, copied into the caller's arena. */
struct kafka_message {
    const char *topic; /* bare name, without cfg->topic_prefix */
    int32_t partition;
    int64_t offset;
    const char *key; /* NUL-terminated copy; NULL if the message has no key */
    size_t key_len;
    const char *value; /* the raw bytes, NUL-terminated copy; NULL for a null value */
    size_t value_len;
    int64_t timestamp_ms; /* the message's timestamp, -1 if none */
};

/* Joins group cfg->group_id (roundrobin assignment) subscribed to topics (bare names),
 * reading from the earliest offset when the group has none committed. Offsets are committed
 * only by kafka_consumer_commit (enable.auto.commit=false). ERR_INVALID for a bad
 * configuration or topic name. */
int kafka_consumer_open(const struct kafka_config *cfg, const char *const *topics, size_t ntopics,
                        struct kafka_consumer **out, struct err *err);

/* Waits up to timeout_ms for a message, then takes whatever else is already fetched, up to
 * max messages, into *out (allocated in arena a; *n may be 0 on a quiet timeout). Messages of
 * one partition come in offset order. Rebalances are handled inside: partitions taken away
 * forget their uncommitted messages, which their next owner gets again.
 * ERR_UNAVAILABLE (nothing returned): the cluster reported a problem (broker down, topic
 * missing), reason in err; poll again later. ERR_INTERNAL: fatal consumer error, close it.
 * Not thread-safe: one thread per consumer. */
int kafka_consumer_poll(struct kafka_consumer *c, size_t max, int timeout_ms, struct arena *a,
                        struct kafka_message **out, size_t *n, struct err *err);

/* Commits, synchronously, the offsets after every message the polls so far returned (of the
 * partitions still assigned): call it once the batch is stored. Nothing to commit is ERR_OK.
 * ERR_UNAVAILABLE if the group coordinator refused or did not answer (e.g. a rebalance is
 * under way): those messages will be delivered again, which an idempotent consumer absorbs. */
int kafka_consumer_commit(struct kafka_consumer *c, struct err *err);

/* Goes back to the first uncommitted message returned on each partition, so the next poll
 * returns them again: call it when storing a batch failed and it should be retried. */
int kafka_consumer_rewind(struct kafka_consumer *c, struct err *err);

/* Leaves the group (so its partitions move to the other members at once, without
 * committing anything) and frees. NULL is a no-op. */
void kafka_consumer_close(struct kafka_consumer *c);

struct kafka_consumer_stats {
    uint64_t messages; /* messages returned by polls */
    uint64_t bytes;    /* their value bytes */
    uint64_t commits;  /* successful kafka_consumer_commit calls that committed something */
    uint64_t commit_failures;
    uint64_t rebalances; /* assignments and revocations */
    int64_t assigned;    /* partitions owned now */
    int64_t lag;         /* messages behind the partitions' ends over the assignment, from the
                          * broker's last fetch answers (no extra request); a partition that
                          * returned nothing since its assignment counts 0; -1 unknown */
};

/* Counters since open; callable from any thread. */
void kafka_consumer_stats(const struct kafka_consumer *c, struct kafka_consumer_stats *out);

/* Registers kafka_consumer_messages_total, kafka_consumer_commits_total,
 * kafka_consumer_commit_failures_total, kafka_consumer_rebalances_total,
 * kafka_consumer_assigned_partitions and kafka_consumer_lag_messages (gauges; lag -1:
 * unknown) in m. Once per registry. */
void kafka_consumer_add_metrics(struct kafka_consumer *c, struct metrics *m);

/* ---- admin ---- */

/* Creates topics (bare names; the prefix is added) with `partitions` partitions and
 * `replication` replicas each; one that exists already is fine. ERR_UNAVAILABLE if the cluster
 * does not answer within cfg->timeout_ms, ERR_INVALID for a refused name or count. */
int kafka_create_topics(const struct kafka_config *cfg, const char *const *topics, size_t n,
                        int partitions, int replication, struct err *err);

/* Asks the cluster for its metadata: ERR_OK if a broker answered within timeout_ms, else
 * ERR_UNAVAILABLE (for /ready and for tests deciding which broker they have). */
int kafka_ping(const struct kafka_config *cfg, int timeout_ms, struct err *err);

#endif
