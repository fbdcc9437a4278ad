/* kafka_runner.h - the consumer thread the Kafka adapters share (kafka_events.h, kafka_mail.h):
 * creates the topics and joins the group (retrying with a doubling delay while the broker is
 * away), then polls a batch, hands it to the adapter's apply and commits the offsets once it
 * says the batch is stored, or rewinds to retry it after a delay. While idle it asks the broker
 * now and then whether it is there. It keeps the up/down state /ready and the *_kafka_up gauge
 * show, logging one line per change. What a batch means is the adapter's. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_KAFKA_KAFKA_RUNNER_H
#define SERVICES_NOTIFICATION_ADAPTERS_KAFKA_KAFKA_RUNNER_H

#include "lib/base/arena.h"
#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/events/kafka.h"

#include <stdbool.h>
#include <stddef.h>

struct kafka_runner_config {
    struct kafka_config kafka; /* strings copied; group_id as given (the adapter's default) */
    const char *const *create; /* the topics made when missing before joining (static) */
    size_t ncreate;
    const char *const *topics; /* the topics consumed (static) */
    size_t ntopics;
    int batch;          /* messages per poll, 1..1000 */
    int backoff_min_ms; /* first retry delay */
    int backoff_max_ms; /* cap of the doubling delay */
    int partitions;     /* of each topic it creates */
    int replication;
    /* The words of its log lines and of /ready (static strings):
     *   "<name>: <why>" when it goes down, "<name> not started: <why>" when the configuration
     *   is refused, "<name> failed for good: <why>" when the consumer is lost;
     *   "kafka <bootstrap> reachable: consuming[ <what>] as group <group>" when it comes up;
     *   /ready "kafka <bootstrap> not reached yet[ (<what>)]" until it answers first;
     *   "cannot <verb> <n> <items>, will retry them: <why>" when apply fails. */
    const char *name;   /* "kafka consumer" */
    const char *what;   /* NULL or the topics in words ("mail-events") */
    const char *verb;   /* "apply" */
    const char *items;  /* "events" */
    bool log_consuming; /* also "consuming kafka <bootstrap> as group <group>" once joined */
    struct metric_series *up_gauge; /* set 1 while the broker answers, 0 when not */
    struct metric_series *errors;   /* NULL, or a counter: +1 each time it reports a failure */
    /* Called on the runner's thread with a polled batch (n >= 1; in arena a, reset after).
     * 0: stored, the runner commits the offsets. Else the reason in err: the runner rewinds
     * and retries the batch after the backoff delay. */
    int (*apply)(void *ctx, const struct kafka_message *msgs, size_t n, struct arena *a,
                 struct err *err);
    void *ctx;
};

struct kafka_runner;

/* Makes a runner (no thread yet, nothing asked of the broker). log must outlive it, and so
 * must cfg's metric series and static strings. */
struct kafka_runner *kafka_runner_new(const struct kafka_runner_config *cfg, struct logger *log);
/* Starts the thread. Once. */
void kafka_runner_start(struct kafka_runner *r);
/* Stops the thread (waking it from any delay) and leaves the group without committing
 * anything more. Again, or before start: a no-op for the thread. */
void kafka_runner_stop(struct kafka_runner *r);
/* Stops (if not yet) and frees. NULL is a no-op. */
void kafka_runner_free(struct kafka_runner *r);

/* The kafka configuration with the runner's copies of the strings and the logger: for a
 * producer of the adapter's own. Valid until kafka_runner_free. */
const struct kafka_config *kafka_runner_kafka(const struct kafka_runner *r);
/* Marks the broker down for why (the apply callback's own broker trouble): /ready says why,
 * the gauge goes 0, errors +1, and the line "<name>: <why>" is logged when that changes
 * something. Runner thread. */
void kafka_runner_down(struct kafka_runner *r, const char *why);
/* The /ready check: 0 while the broker answers, else ERR_UNAVAILABLE and why. Any thread. */
int kafka_runner_ready(struct kafka_runner *r, struct err *err);
/* The consumer's counters (kafka_consumer_stats); false (and *out untouched) until the group
 * is joined. Any thread (a scrape). */
bool kafka_runner_stats(struct kafka_runner *r, struct kafka_consumer_stats *out);

#endif
