/* kafka_mail.h - the Kafka mail adapter (docs/email.md, "mail-events"): a thread in consumer
 * group `<kafka-group>-mail` reads mail.requested from mail-events, hands each to the mail
 * outbox (mail_outbox_request: dedupe, preferences, flood control) and commits the offsets only
 * once the outbox stored them; a message that is not a valid mail.requested goes to
 * mail-events.dlq with the reason and the consumer moves on. It is also the outbox's
 * dead_letter hook: a mail the sender gives up on is published to mail-events.dlq as
 * mail.failed before the outbox marks it dead. Only with --events-transport kafka. */
#ifndef SERVICES_NOTIFICATION_ADAPTERS_KAFKA_KAFKA_MAIL_H
#define SERVICES_NOTIFICATION_ADAPTERS_KAFKA_KAFKA_MAIL_H

#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/events/kafka.h"
#include "services/notification/app/mail_outbox.h"

struct kafka_mail_config {
    struct kafka_config kafka; /* bootstrap, topic_prefix, group_id (the mail group),
                                * session_timeout_ms */
    int batch;                 /* messages per poll, 1..1000 */
    int backoff_min_ms;        /* first retry delay */
    int backoff_max_ms;        /* cap of the doubling delay */
    int partitions;            /* of mail-events and mail-events.dlq when it creates them */
    int replication;
    int timeout_ms; /* how long a dead-letter publish waits for its acknowledgement */
};

struct kafka_mail;

/* Starts the thread on o (which must outlive kafka_mail_free) and sets o->dead_letter; call it
 * before the mail sender starts. Registers its metrics on m: notification_mail_consumer_lag_
 * messages, notification_mail_kafka_up, notification_mail_requests_consumed_total,
 * notification_mail_requests_dead_lettered_total, notification_mail_dlq_published_total. */
struct kafka_mail *kafka_mail_start(struct mail_outbox *o, const struct kafka_mail_config *cfg,
                                    struct idgen *ids, struct logger *log, struct metrics *m);
/* Stops the consumer thread and leaves the group; the dead_letter hook keeps working until
 * kafka_mail_free (stop the sender before that). NULL is a no-op. */
void kafka_mail_stop(struct kafka_mail *km);
/* Stops (if not yet), unsets o->dead_letter and frees. NULL is a no-op. */
void kafka_mail_free(struct kafka_mail *km);
/* The /ready check: ERR_UNAVAILABLE (with the reason) until the mail consumer joined its group
 * and while the broker does not answer it. */
int kafka_mail_ready(void *ctx, struct err *err);

#endif
