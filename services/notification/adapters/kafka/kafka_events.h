/* kafka_events.h - inbound adapter: the Kafka event consumer (docs/events.md, "The Kafka
 * transport"). A thread in consumer group `notification-service` (lib/events/kafka.h) polls a
 * batch from user-events, post-events and interaction-events, hands it to consume_batch
 * (app/consume.h; no feed cursor: the position is the group's committed offsets), commits the
 * offsets only once the batch is stored, and rewinds to retry it when storing failed. Garbage
 * and unknown versions are dead-lettered by consume_batch. /ready reports the broker. With email
 * on, the batch's mail requests go to mail-events before the commit (kafka_mail.h reads them). */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_KAFKA_KAFKA_EVENTS_H
#define SERVICES_NOTIFICATION_ADAPTERS_KAFKA_KAFKA_EVENTS_H

#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/events/kafka.h"
#include "services/notification/app/core.h"

struct kafka_events_config {
    struct kafka_config kafka; /* bootstrap, topic_prefix, group_id, session_timeout_ms */
    int batch;                 /* messages per poll, 1..1000 */
    int backoff_min_ms;        /* first retry delay */
    int backoff_max_ms;        /* cap of the doubling delay */
    int partitions;            /* of each topic it creates when missing */
    int replication;
    /* Email on (docs/email.md, "mail-events"): the mails an event asks for are published as
     * mail.requested to mail-events (idempotent producer, acks=all, waiting timeout_ms for the
     * acknowledgements) after the batch is stored and before its offsets are committed; a
     * failed publish rewinds the batch. Sets mail->forward. NULL: no email. */
    struct mail_outbox *mail;
    int timeout_ms;
};

struct kafka_events;

/* Starts the thread, which creates the topics if missing (retrying until the broker answers)
 * and then joins the group. core, log and m must outlive it; cfg's strings are copied.
 * Registers its metrics on m: the notification_* ones the feed consumer has (lag from the
 * broker's fetch answers) and kafka_consumer_*. A configuration librdkafka refuses is logged
 * and shows in /ready. */
struct kafka_events *kafka_events_start(struct notif_core *core,
                                        const struct kafka_events_config *cfg, struct logger *log,
                                        struct metrics *m);
/* Stops the thread and leaves the group (committing nothing more); call it before the
 * metrics registry and the core go away. NULL is a no-op. */
void kafka_events_stop(struct kafka_events *ke);
/* Stops (if not yet) and frees; call it once nothing scrapes the metrics any more (after the
 * HTTP server stopped). NULL is a no-op. */
void kafka_events_free(struct kafka_events *ke);
/* The /ready check: ERR_UNAVAILABLE (naming the broker and why) until the broker answered,
 * and while it does not. */
int kafka_events_ready(void *ctx, struct err *err);

#endif
