/* kafka_mail.c - the mail consumer (a kafka_runner whose batches of mail-events go to
 * mail_outbox_request, the undecodable ones to mail-events.dlq) and the dead-letter publisher
 * the mail sender calls. */
#include "services/notification/adapters/kafka/kafka_mail.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "services/notification/adapters/kafka/kafka_runner.h"
#include "services/notification/adapters/kafka/mail_codec.h"

#include <pthread.h>

/* After a dead-letter publish failed, the next ones fail at once for this long, so a broker
 * that is away costs the sender one timeout, not one per dead mail. */
#define KM_DLQ_QUIET_MS 2000

static const char *const km_topics[] = {KAFKA_TOPIC_MAIL, KAFKA_TOPIC_MAIL_DLQ};

struct kafka_mail {
    struct mail_outbox *o;
    int timeout_ms; /* of a dead-letter publish */
    struct idgen *ids;
    struct logger *log;
    struct kafka_runner *runner;
    /* The dead-letter producer, shared by this thread and the sender's: */
    pthread_mutex_t dlq_mu;
    struct kafka_producer *dlq;
    int64_t dlq_failed_at; /* monotonic ms of the last failed publish, 0: none */
    struct metric_series *consumed, *dead, *dlq_published, *dlq_errors, *bus_up;
};

/* Publishes recs to mail-events.dlq and waits for the acknowledgements. 0, or an error (also
 * at once while a failure is recent). Any thread. */
static int km_publish_dlq(struct kafka_mail *km, struct kafka_record *recs, size_t n,
                          struct err *err)
{
    int rc = 0;
    pthread_mutex_lock(&km->dlq_mu);
    int64_t now = clock_monotonic_ms();
    if (km->dlq_failed_at && now - km->dlq_failed_at < KM_DLQ_QUIET_MS) {
        rc = err_set(err, ERR_UNAVAILABLE, "mail-events.dlq: publishing failed %lld ms ago",
                     (long long)(now - km->dlq_failed_at));
        goto out;
    }
    if (!km->dlq) {
        struct kafka_config pc = *kafka_runner_kafka(km->runner);
        pc.timeout_ms = km->timeout_ms;
        pc.group_id = NULL;
        rc = kafka_producer_open(&pc, &km->dlq, err);
    }
    if (rc == 0)
        rc = kafka_producer_publish(km->dlq, recs, n, NULL, err);
    if (rc == ERR_INTERNAL) {
        kafka_producer_close(km->dlq);
        km->dlq = NULL;
    }
    km->dlq_failed_at = rc ? clock_monotonic_ms() : 0;
out:
    pthread_mutex_unlock(&km->dlq_mu);
    if (rc == 0)
        metrics_add(km->dlq_published, (double)n);
    else
        metrics_add(km->dlq_errors, 1);
    return rc;
}

/* mail_outbox's dead_letter hook (the sender's thread). */
static int km_dead_letter(void *ctx, const struct mail_job *job, const char *why, struct err *err)
{
    struct kafka_mail *km = ctx;
    struct buf b = BUF_INIT;
    char key[ID_STR_LEN];
    mail_codec_format_dead(job, why, idgen_next(km->ids), clock_now_ms(km->o->clock), &b, key);
    struct kafka_record r = {.type = MAIL_CODEC_FAILED,
                             .topic = KAFKA_TOPIC_MAIL_DLQ,
                             .key = key,
                             .value = b.data,
                             .value_len = b.len};
    int rc = km_publish_dlq(km, &r, 1, err);
    buf_release(&b);
    if (rc)
        log_printf(km->log, LOG_WARN, NULL,
                   "mail %llu stays queued: its dead letter is not on mail-events.dlq: %s",
                   (unsigned long long)job->id, err->msg);
    else
        log_printf(km->log, LOG_WARN, NULL, "mail %llu dead-lettered to mail-events.dlq: %s",
                   (unsigned long long)job->id, why);
    return rc;
}

/* The runner's apply: each valid request to the outbox, the rest to the dlq. 0 once all are
 * stored (the runner commits), else an error (it rewinds). */
static int km_apply(void *ctx, const struct kafka_message *msgs, size_t n, struct arena *a,
                    struct err *err)
{
    struct kafka_mail *km = ctx;
    struct kafka_record *dlq = arena_calloc(a, n, sizeof(*dlq));
    size_t ndlq = 0, ok = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct kafka_message *m = &msgs[i];
        struct mail_event e;
        struct err perr = {0};
        int prc = !m->value ? err_set(&perr, ERR_INVALID, "null message")
                            : mail_codec_parse_request(m->value, m->value_len, m->key ? m->key : "",
                                                       a, &e, &perr);
        if (prc == 0) {
            enum mail_outcome out;
            rc = mail_outbox_request(km->o, &e, &out, err);
            if (rc == ERR_INVALID) {
                /* Recorded as skipped (a bad address): nothing to retry. */
                log_printf(km->log, LOG_WARN, NULL, "mail of event %llu skipped: %s",
                           (unsigned long long)e.event_id, err->msg);
                rc = 0;
            } else if (rc != 0 && rc != ERR_UNAVAILABLE) {
                /* Refused for good by the store: retrying would hold up the partition. */
                prc = err_set(&perr, rc, "store: %s", err->msg);
                rc = 0;
            }
            if (rc == 0 && prc == 0)
                ok++;
        }
        if (prc != 0) {
            struct buf b = BUF_INIT;
            mail_codec_format_garbage(perr.msg, m->topic, m->partition, m->offset, m->key, m->value,
                                      m->value_len, idgen_next(km->ids), clock_now_ms(km->o->clock),
                                      &b);
            dlq[ndlq++] = (struct kafka_record){.type = MAIL_CODEC_FAILED,
                                                .topic = KAFKA_TOPIC_MAIL_DLQ,
                                                .key = m->key && *m->key ? m->key : "0",
                                                .value = arena_strndup(a, b.data, b.len),
                                                .value_len = b.len};
            buf_release(&b);
            log_printf(km->log, LOG_WARN, NULL, "mail-events %d/%lld to the dlq: %s",
                       (int)m->partition, (long long)m->offset, perr.msg);
        }
    }
    if (rc == 0 && ndlq > 0)
        rc = km_publish_dlq(km, dlq, ndlq, err);
    if (rc != 0)
        return rc;
    metrics_add(km->consumed, (double)ok);
    metrics_add(km->dead, (double)ndlq);
    return 0;
}

static double km_lag(void *ctx)
{
    struct kafka_mail *km = ctx;
    struct kafka_consumer_stats st = {.lag = -1};
    return kafka_runner_stats(km->runner, &st) ? (double)st.lag : -1;
}

/* The counters and gauges (before the runner, which sets the gauge). */
static void km_series(struct kafka_mail *km, struct metrics *m)
{
    km->consumed = metrics_series(
        metrics_counter(m, "notification_mail_requests_consumed_total",
                        "mail.requested messages from mail-events taken by the mail outbox "
                        "(duplicates included).",
                        0, NULL),
        NULL);
    km->dead = metrics_series(
        metrics_counter(m, "notification_mail_requests_dead_lettered_total",
                        "mail-events messages that were not valid mail.requested (to the dlq).", 0,
                        NULL),
        NULL);
    km->dlq_published = metrics_series(
        metrics_counter(m, "notification_mail_dlq_published_total",
                        "mail.failed messages acknowledged on mail-events.dlq.", 0, NULL),
        NULL);
    km->dlq_errors = metrics_series(
        metrics_counter(m, "notification_mail_dlq_errors_total",
                        "Publishes to mail-events.dlq that failed (retried later).", 0, NULL),
        NULL);
    km->bus_up =
        metrics_series(metrics_gauge(m, "notification_mail_kafka_up",
                                     "1 while the mail consumer's broker answers.", 0, NULL),
                       NULL);
}

/* The lag, read from the runner's consumer at scrape time (after the runner). */
static void km_funcs(struct kafka_mail *km, struct metrics *m)
{
    metrics_func(m, METRIC_GAUGE, "notification_mail_consumer_lag_messages",
                 "Messages of mail-events behind the end of the assigned partitions (-1: "
                 "unknown).",
                 km_lag, km);
}

struct kafka_mail *kafka_mail_start(struct mail_outbox *o, const struct kafka_mail_config *cfg,
                                    struct idgen *ids, struct logger *log, struct metrics *m)
{
    struct kafka_mail *km = xcalloc(1, sizeof(*km));
    km->o = o;
    km->timeout_ms = cfg->timeout_ms;
    km->ids = ids;
    km->log = log;
    pthread_mutex_init(&km->dlq_mu, NULL);
    km_series(km, m);
    struct kafka_runner_config rc = {
        .kafka = cfg->kafka,
        .create = km_topics,
        .ncreate = 2,
        .topics = km_topics,
        .ntopics = 1,
        .batch = cfg->batch,
        .backoff_min_ms = cfg->backoff_min_ms,
        .backoff_max_ms = cfg->backoff_max_ms,
        .partitions = cfg->partitions,
        .replication = cfg->replication,
        .name = "kafka mail consumer",
        .what = "mail-events",
        .verb = "take",
        .items = "mail requests",
        .up_gauge = km->bus_up,
        .apply = km_apply,
        .ctx = km,
    };
    if (!rc.kafka.group_id || !*rc.kafka.group_id)
        rc.kafka.group_id = KAFKA_DEFAULT_GROUP "-mail";
    km->runner = kafka_runner_new(&rc, log);
    km_funcs(km, m);
    o->dead_letter = km_dead_letter;
    o->dead_letter_ctx = km;
    kafka_runner_start(km->runner);
    return km;
}

void kafka_mail_stop(struct kafka_mail *km)
{
    if (!km)
        return;
    kafka_runner_stop(km->runner);
}

void kafka_mail_free(struct kafka_mail *km)
{
    if (!km)
        return;
    kafka_mail_stop(km);
    if (km->o->dead_letter_ctx == km)
        km->o->dead_letter = NULL;
    kafka_producer_close(km->dlq);
    kafka_runner_free(km->runner);
    pthread_mutex_destroy(&km->dlq_mu);
    free(km);
}

int kafka_mail_ready(void *ctx, struct err *err)
{
    struct kafka_mail *km = ctx;
    return kafka_runner_ready(km->runner, err);
}
