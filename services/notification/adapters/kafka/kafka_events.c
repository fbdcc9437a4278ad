/* kafka_events.c - the Kafka event consumer: a kafka_runner whose batches go to consume_batch,
 * and the mail requests of a batch to mail-events before its commit. */
#include "services/notification/adapters/kafka/kafka_events.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "services/notification/adapters/kafka/kafka_runner.h"
#include "services/notification/adapters/kafka/mail_codec.h"
#include "services/notification/app/consume.h"

/* The topics of the events notification-service reads. */
static const char *const ke_topics[] = {KAFKA_TOPIC_USER, KAFKA_TOPIC_POST,
                                        KAFKA_TOPIC_INTERACTION};

struct kafka_events {
    struct notif_core *core;
    struct mail_outbox *mail; /* NULL: no email */
    int timeout_ms;           /* of a mail-events publish */
    struct kafka_runner *runner;
    struct metric_series *consumed, *dead, *created, *errors, *bus_up, *mail_published;
    /* Email on: the mail requests of the batch being applied (values in *pending_arena), and
     * the producer that publishes them (consumer thread only). */
    struct kafka_producer *producer;
    struct kafka_record *pending;
    size_t npending, cap;
    struct arena *pending_arena;
};

/* mail_outbox's forward hook (consume_batch, this thread): keeps the request's envelope for
 * ke_publish_mail. */
static int ke_forward(void *ctx, const struct mail_event *m, struct err *err)
{
    struct kafka_events *ke = ctx;
    struct buf b = BUF_INIT;
    char key[ID_STR_LEN];
    (void)err;
    mail_codec_format_request(m, idgen_next(ke->core->ids), clock_now_ms(ke->core->clock), &b, key);
    if (ke->npending == ke->cap) {
        ke->cap = ke->cap ? ke->cap * 2 : 16;
        ke->pending = xrealloc(ke->pending, ke->cap * sizeof(*ke->pending));
    }
    ke->pending[ke->npending++] = (struct kafka_record){
        .type = MAIL_CODEC_REQUESTED,
        .topic = KAFKA_TOPIC_MAIL,
        .key = arena_strdup(ke->pending_arena, key),
        .value = arena_strndup(ke->pending_arena, b.data, b.len),
        .value_len = b.len,
    };
    buf_release(&b);
    return 0;
}

/* Publishes the batch's mail requests, waiting for every acknowledgement. 0, or an error. */
static int ke_publish_mail(struct kafka_events *ke, struct err *err)
{
    if (ke->npending == 0)
        return 0;
    if (!ke->producer) {
        struct kafka_config pc = *kafka_runner_kafka(ke->runner);
        pc.timeout_ms = ke->timeout_ms;
        pc.group_id = NULL;
        int rc = kafka_producer_open(&pc, &ke->producer, err);
        if (rc)
            return rc;
    }
    int rc = kafka_producer_publish(ke->producer, ke->pending, ke->npending, NULL, err);
    if (rc == ERR_INTERNAL) {
        kafka_producer_close(ke->producer);
        ke->producer = NULL;
    }
    if (rc == 0)
        metrics_add(ke->mail_published, (double)ke->npending);
    return rc;
}

/* The runner's apply: the batch to consume_batch, then its mails to mail-events. 0 once both
 * are done (the runner commits), else an error (it rewinds). */
static int ke_apply(void *ctx, const struct kafka_message *msgs, size_t n, struct arena *a,
                    struct err *err)
{
    struct kafka_events *ke = ctx;
    struct inbound_message *in = arena_calloc(a, n, sizeof(*in));
    for (size_t i = 0; i < n; i++)
        in[i] = (struct inbound_message){msgs[i].offset, msgs[i].value ? msgs[i].value : "",
                                         msgs[i].value ? msgs[i].value_len : 0};
    struct consume_stats st = {0};
    ke->npending = 0;
    ke->pending_arena = a;
    /* No feed cursor: the position is the group's offsets, which the runner commits once this
     * returns 0. The mails go to mail-events before that commit: a crash in between publishes them
     * again, and the mail outbox takes each (event, recipient, kind) once. */
    int rc = consume_batch(ke->core, NULL, in, n, msgs[n - 1].offset, &st, err);
    if (rc == 0 && ke_publish_mail(ke, err) != 0) {
        rc = ERR_UNAVAILABLE;
        kafka_runner_down(ke->runner, err->msg);
    }
    if (rc != 0)
        return rc;
    metrics_add(ke->consumed, (double)st.events);
    metrics_add(ke->dead, (double)st.dead);
    metrics_add(ke->created, (double)st.created);
    return 0;
}

/* Scrape-time reads of the consumer's counters (none before it is open). */
static double ke_stat(struct kafka_events *ke, int which)
{
    struct kafka_consumer_stats st = {.lag = -1};
    bool open = kafka_runner_stats(ke->runner, &st);
    switch (which) {
    case 0:
        return open ? (double)st.lag : -1;
    case 1:
        return (double)st.commits;
    case 2:
        return (double)st.commit_failures;
    case 3:
        return (double)st.rebalances;
    default:
        return (double)st.assigned;
    }
}

static double ke_lag(void *ctx)
{
    return ke_stat(ctx, 0);
}

static double ke_commits(void *ctx)
{
    return ke_stat(ctx, 1);
}

static double ke_commit_failures(void *ctx)
{
    return ke_stat(ctx, 2);
}

static double ke_rebalances(void *ctx)
{
    return ke_stat(ctx, 3);
}

static double ke_assigned(void *ctx)
{
    return ke_stat(ctx, 4);
}

/* The counters and gauges (before the runner, which sets two of them). */
static void ke_series(struct kafka_events *ke, struct metrics *m)
{
    ke->consumed = metrics_series(
        metrics_counter(m, "notification_events_consumed_total",
                        "Events applied from the event transport (duplicates included).", 0, NULL),
        NULL);
    ke->dead = metrics_series(
        metrics_counter(m, "notification_events_dead_lettered_total",
                        "Messages from the event transport that were dead-lettered.", 0, NULL),
        NULL);
    ke->created = metrics_series(metrics_counter(m, "notification_notifications_created_total",
                                                 "Notifications made from events.", 0, NULL),
                                 NULL);
    ke->bus_up = metrics_series(
        metrics_gauge(m, "notification_kafka_up", "1 while the Kafka broker answers.", 0, NULL),
        NULL);
    ke->mail_published = metrics_series(
        metrics_counter(m, "notification_mail_requests_published_total",
                        "mail.requested messages published to mail-events (acknowledged).", 0,
                        NULL),
        NULL);
    ke->errors =
        metrics_series(metrics_counter(m, "notification_kafka_errors_total",
                                       "Failures reported by or about the broker.", 0, NULL),
                       NULL);
}

/* The series read from the runner's consumer at scrape time (after the runner). */
static void ke_funcs(struct kafka_events *ke, struct metrics *m)
{
    metrics_func(m, METRIC_GAUGE, "notification_consumer_lag_events",
                 "Messages behind the end of the assigned partitions (-1: unknown).", ke_lag, ke);
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_commits_total",
                 "Offset commits after a stored batch.", ke_commits, ke);
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_commit_failures_total",
                 "Offset commits the group coordinator refused or did not answer.",
                 ke_commit_failures, ke);
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_rebalances_total",
                 "Partition assignments and revocations.", ke_rebalances, ke);
    metrics_func(m, METRIC_GAUGE, "kafka_consumer_assigned_partitions",
                 "Partitions this consumer owns in its group.", ke_assigned, ke);
}

struct kafka_events *kafka_events_start(struct notif_core *core,
                                        const struct kafka_events_config *cfg, struct logger *log,
                                        struct metrics *m)
{
    struct kafka_events *ke = xcalloc(1, sizeof(*ke));
    ke->core = core;
    ke->mail = cfg->mail;
    ke->timeout_ms = cfg->timeout_ms;
    ke_series(ke, m);
    struct kafka_runner_config rc = {
        .kafka = cfg->kafka,
        /* With email, mail-events and its .dlq too: this consumer publishes to the first. */
        .create = cfg->mail ? kafka_topics : ke_topics,
        .ncreate = cfg->mail ? kafka_topics_len : 3,
        .topics = ke_topics,
        .ntopics = 3,
        .batch = cfg->batch,
        .backoff_min_ms = cfg->backoff_min_ms,
        .backoff_max_ms = cfg->backoff_max_ms,
        .partitions = cfg->partitions,
        .replication = cfg->replication,
        .name = "kafka consumer",
        .verb = "apply",
        .items = "events",
        .log_consuming = true,
        .up_gauge = ke->bus_up,
        .errors = ke->errors,
        .apply = ke_apply,
        .ctx = ke,
    };
    if (!rc.kafka.group_id || !*rc.kafka.group_id)
        rc.kafka.group_id = KAFKA_DEFAULT_GROUP;
    ke->runner = kafka_runner_new(&rc, log);
    ke_funcs(ke, m);
    if (cfg->mail) {
        cfg->mail->forward = ke_forward;
        cfg->mail->forward_ctx = ke;
    }
    kafka_runner_start(ke->runner);
    return ke;
}

void kafka_events_stop(struct kafka_events *ke)
{
    if (!ke)
        return;
    kafka_runner_stop(ke->runner);
    kafka_producer_close(ke->producer);
    ke->producer = NULL;
}

void kafka_events_free(struct kafka_events *ke)
{
    if (!ke)
        return;
    kafka_events_stop(ke);
    if (ke->mail && ke->mail->forward_ctx == ke)
        ke->mail->forward = NULL;
    free(ke->pending);
    kafka_runner_free(ke->runner);
    free(ke);
}

int kafka_events_ready(void *ctx, struct err *err)
{
    struct kafka_events *ke = ctx;
    return kafka_runner_ready(ke->runner, err);
}
