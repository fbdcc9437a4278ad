/* outbox_relay.h - outbound adapter: the outbox relay to Apache Kafka (docs/events.md, "The
 * Kafka transport"). One thread reads unsent outbox rows in seq order, publishes each to the
 * topic of its type with the envelope's key as message key (lib/events/kafka.h: idempotent
 * producer, acks=all), and marks rows sent only once the broker acknowledged them (the acked
 * prefix of a batch). It wakes when a commit in this process wrote events
 * (outbox_relay_wake) and checks the outbox every recheck_ms for rows another process
 * committed; while the broker or the database fails it retries with capped exponential
 * backoff. The topics are created at start if missing. /ready reports the broker. */
#ifndef SERVICES_THREADLY_ADAPTERS_KAFKA_OUTBOX_RELAY_H
#define SERVICES_THREADLY_ADAPTERS_KAFKA_OUTBOX_RELAY_H

#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/events/kafka.h"
#include "services/threadly/ports/outbox_store.h"

struct outbox_relay_config {
    struct kafka_config kafka; /* bootstrap, topic_prefix, timeout_ms (acknowledgement wait) */
    int batch;                 /* rows per publish, 1..1000 */
    int recheck_ms;            /* periodic look at the outbox without a wake-up */
    int backoff_min_ms;        /* first retry delay after a failure */
    int backoff_max_ms;        /* cap of the doubling delay */
    int partitions;            /* of each topic it creates */
    int replication;           /* replicas of each topic it creates */
};

struct outbox_relay;

/* Starts the thread. store, log and m must outlive the relay; cfg's strings are copied.
 * Registers threadly_outbox_relay_* metrics on m. */
struct outbox_relay *outbox_relay_start(struct outbox_store *store,
                                        const struct outbox_relay_config *cfg, struct logger *log,
                                        struct metrics *m);
/* Tells the relay that a commit wrote events (struct core's events_committed). Quick. */
void outbox_relay_wake(void *relay);
/* The /ready check: ERR_UNAVAILABLE (naming the broker and why) until the broker answered,
 * and while it does not. */
int outbox_relay_ready(void *relay, struct err *err);
/* Stops the thread (a publish under way ends within the acknowledgement wait) and frees.
 * NULL is a no-op. */
void outbox_relay_stop(struct outbox_relay *r);

#endif
