/* kafka_mail.c - the mail consumer loop (poll mail-events -> mail_outbox_request -> publish the
 * undecodable ones to mail-events.dlq -> commit, or rewind and back off) and the dead-letter
 * publisher the mail sender calls. */
#include "services/notification/adapters/kafka/kafka_mail.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "services/notification/adapters/kafka/mail_codec.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KM_POLL_MS 500
#define KM_PING_EVERY_MS 3000
#define KM_PING_TIMEOUT_MS 1500
/* After a dead-letter publish failed, the next ones fail at once for this long, so a broker
 * that is away costs the sender one timeout, not one per dead mail. */
#define KM_DLQ_QUIET_MS 2000

static const char *const km_topics[] = {KAFKA_TOPIC_MAIL, KAFKA_TOPIC_MAIL_DLQ};

struct kafka_mail {
    struct mail_outbox *o;
    struct kafka_mail_config cfg;
    char *bootstrap, *prefix, *group;
    struct idgen *ids;
    struct logger *log;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop, why and consumer (for scrapes) */
    pthread_cond_t cv;
    bool stop;
    char why[300];
    struct kafka_consumer *consumer;
    bool started;
    atomic_bool up;
    /* The dead-letter producer, shared by this thread and the sender's: */
    pthread_mutex_t dlq_mu;
    struct kafka_producer *dlq;
    int64_t dlq_failed_at; /* monotonic ms of the last failed publish, 0: none */
    struct metric_series *consumed, *dead, *dlq_published, *dlq_errors, *bus_up;
};

static bool km_stopping(struct kafka_mail *km)
{
    pthread_mutex_lock(&km->mu);
    bool stop = km->stop;
    pthread_mutex_unlock(&km->mu);
    return stop;
}

static bool km_sleep(struct kafka_mail *km, int ms)
{
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&km->mu);
    while (!km->stop && pthread_cond_timedwait(&km->cv, &km->mu, &ts) != ETIMEDOUT)
        ;
    bool go_on = !km->stop;
    pthread_mutex_unlock(&km->mu);
    return go_on;
}

static int km_backoff(const struct kafka_mail *km, int delay)
{
    return delay * 2 > km->cfg.backoff_max_ms ? km->cfg.backoff_max_ms : delay * 2;
}

static void km_up(struct kafka_mail *km)
{
    if (!atomic_exchange(&km->up, true))
        log_printf(km->log, LOG_INFO, NULL, "kafka %s reachable: consuming mail-events as group %s",
                   km->bootstrap, km->group);
    metrics_set(km->bus_up, 1);
}

static void km_down(struct kafka_mail *km, const char *why)
{
    bool was_up = atomic_exchange(&km->up, false);
    pthread_mutex_lock(&km->mu);
    bool same = strcmp(km->why, why) == 0;
    snprintf(km->why, sizeof(km->why), "%s", why);
    pthread_mutex_unlock(&km->mu);
    metrics_set(km->bus_up, 0);
    if (was_up || !same)
        log_printf(km->log, LOG_WARN, NULL, "kafka mail consumer: %s", why);
}

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
        struct kafka_config pc = km->cfg.kafka;
        pc.timeout_ms = km->cfg.timeout_ms;
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

/* Applies a polled batch: each valid request to the outbox, the rest to the dlq, then the
 * commit. False (after a rewind) when it must back off. */
static bool km_apply(struct kafka_mail *km, const struct kafka_message *msgs, size_t n,
                     struct arena *a)
{
    struct kafka_record *dlq = arena_calloc(a, n, sizeof(*dlq));
    size_t ndlq = 0, ok = 0;
    struct err err = {0};
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
            rc = mail_outbox_request(km->o, &e, &out, &err);
            if (rc == ERR_INVALID) {
                /* Recorded as skipped (a bad address): nothing to retry. */
                log_printf(km->log, LOG_WARN, NULL, "mail of event %llu skipped: %s",
                           (unsigned long long)e.event_id, err.msg);
                rc = 0;
            } else if (rc != 0 && rc != ERR_UNAVAILABLE) {
                /* Refused for good by the store: retrying would hold up the partition. */
                prc = err_set(&perr, rc, "store: %s", err.msg);
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
        rc = km_publish_dlq(km, dlq, ndlq, &err);
    if (rc != 0) {
        log_printf(km->log, LOG_WARN, NULL, "cannot take %zu mail requests, will retry them: %s", n,
                   err.msg);
        struct err rerr = {0};
        if (kafka_consumer_rewind(km->consumer, &rerr) != 0)
            log_printf(km->log, LOG_WARN, NULL, "kafka rewind: %s", rerr.msg);
        return false;
    }
    metrics_add(km->consumed, (double)ok);
    metrics_add(km->dead, (double)ndlq);
    if (kafka_consumer_commit(km->consumer, &err) != 0)
        log_printf(km->log, LOG_WARN, NULL, "kafka commit (the batch will come again): %s",
                   err.msg);
    return true;
}

static bool km_open(struct kafka_mail *km)
{
    int delay = km->cfg.backoff_min_ms;
    for (;;) {
        struct err err = {0};
        struct kafka_consumer *c = NULL;
        int rc = kafka_create_topics(&km->cfg.kafka, km_topics, 2, km->cfg.partitions,
                                     km->cfg.replication, &err);
        if (rc == 0)
            rc = kafka_consumer_open(&km->cfg.kafka, km_topics, 1, &c, &err);
        if (rc == 0) {
            pthread_mutex_lock(&km->mu);
            km->consumer = c;
            pthread_mutex_unlock(&km->mu);
            return true;
        }
        km_down(km, err.msg);
        if (rc == ERR_INVALID) {
            log_printf(km->log, LOG_ERROR, NULL, "kafka mail consumer not started: %s", err.msg);
            return false;
        }
        if (!km_sleep(km, delay))
            return false;
        delay = km_backoff(km, delay);
    }
}

static void *km_main(void *arg)
{
    struct kafka_mail *km = arg;
    struct arena a;
    int delay = km->cfg.backoff_min_ms;
    int64_t last_ok = 0;
    arena_init(&a, 65536);
    if (!km_open(km))
        goto out;
    while (!km_stopping(km)) {
        struct kafka_message *msgs = NULL;
        size_t n = 0;
        struct err err = {0};
        arena_reset(&a);
        int rc = kafka_consumer_poll(km->consumer, (size_t)km->cfg.batch, KM_POLL_MS, &a, &msgs, &n,
                                     &err);
        if (rc == ERR_INTERNAL) {
            km_down(km, err.msg);
            log_printf(km->log, LOG_ERROR, NULL, "kafka mail consumer failed for good: %s",
                       err.msg);
            break;
        }
        if (rc != 0) {
            km_down(km, err.msg);
            if (!km_sleep(km, delay))
                break;
            delay = km_backoff(km, delay);
            continue;
        }
        int64_t now = clock_monotonic_ms();
        if (n == 0) {
            if (now - last_ok >= KM_PING_EVERY_MS) {
                if (kafka_ping(&km->cfg.kafka, KM_PING_TIMEOUT_MS, &err) == 0) {
                    km_up(km);
                    last_ok = now;
                } else {
                    km_down(km, err.msg);
                }
            }
            continue;
        }
        km_up(km);
        last_ok = now;
        if (km_apply(km, msgs, n, &a)) {
            delay = km->cfg.backoff_min_ms;
        } else {
            if (!km_sleep(km, delay))
                break;
            delay = km_backoff(km, delay);
        }
    }
out:
    arena_release(&a);
    return NULL;
}

static double km_lag(void *ctx)
{
    struct kafka_mail *km = ctx;
    struct kafka_consumer_stats st = {.lag = -1};
    pthread_mutex_lock(&km->mu);
    bool open = km->consumer != NULL;
    if (open)
        kafka_consumer_stats(km->consumer, &st);
    pthread_mutex_unlock(&km->mu);
    return open ? (double)st.lag : -1;
}

static void km_metrics(struct kafka_mail *km, struct metrics *m)
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
    metrics_func(m, METRIC_GAUGE, "notification_mail_consumer_lag_messages",
                 "Messages of mail-events behind the end of the assigned partitions (-1: "
                 "unknown).",
                 km_lag, km);
}

struct kafka_mail *kafka_mail_start(struct mail_outbox *o, const struct kafka_mail_config *cfg,
                                    struct idgen *ids, struct logger *log, struct metrics *m)
{
    struct kafka_mail *km = xcalloc(1, sizeof(*km));
    pthread_condattr_t ca;
    km->o = o;
    km->cfg = *cfg;
    km->ids = ids;
    km->bootstrap = xstrdup(cfg->kafka.bootstrap);
    km->prefix = cfg->kafka.topic_prefix && *cfg->kafka.topic_prefix
                     ? xstrdup(cfg->kafka.topic_prefix)
                     : NULL;
    km->group = xstrdup(cfg->kafka.group_id && *cfg->kafka.group_id ? cfg->kafka.group_id
                                                                    : KAFKA_DEFAULT_GROUP "-mail");
    km->cfg.kafka.bootstrap = km->bootstrap;
    km->cfg.kafka.topic_prefix = km->prefix;
    km->cfg.kafka.group_id = km->group;
    km->cfg.kafka.log = log;
    km->log = log;
    snprintf(km->why, sizeof(km->why), "kafka %s not reached yet (mail-events)", km->bootstrap);
    pthread_mutex_init(&km->mu, NULL);
    pthread_mutex_init(&km->dlq_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&km->cv, &ca);
    pthread_condattr_destroy(&ca);
    km_metrics(km, m);
    o->dead_letter = km_dead_letter;
    o->dead_letter_ctx = km;
    ASSERT(pthread_create(&km->thread, NULL, km_main, km) == 0);
    km->started = true;
    return km;
}

void kafka_mail_stop(struct kafka_mail *km)
{
    if (!km)
        return;
    pthread_mutex_lock(&km->mu);
    km->stop = true;
    pthread_cond_broadcast(&km->cv);
    pthread_mutex_unlock(&km->mu);
    if (km->started) {
        pthread_join(km->thread, NULL);
        km->started = false;
    }
    pthread_mutex_lock(&km->mu);
    kafka_consumer_close(km->consumer);
    km->consumer = NULL;
    pthread_mutex_unlock(&km->mu);
}

void kafka_mail_free(struct kafka_mail *km)
{
    if (!km)
        return;
    kafka_mail_stop(km);
    if (km->o->dead_letter_ctx == km)
        km->o->dead_letter = NULL;
    kafka_producer_close(km->dlq);
    pthread_cond_destroy(&km->cv);
    pthread_mutex_destroy(&km->mu);
    pthread_mutex_destroy(&km->dlq_mu);
    free(km->bootstrap);
    free(km->prefix);
    free(km->group);
    free(km);
}

int kafka_mail_ready(void *ctx, struct err *err)
{
    struct kafka_mail *km = ctx;
    if (atomic_load(&km->up))
        return 0;
    pthread_mutex_lock(&km->mu);
    int rc = err_set(err, ERR_UNAVAILABLE, "%s", km->why);
    pthread_mutex_unlock(&km->mu);
    return rc;
}
