/* kafka_events.c - the Kafka consumer loop: poll -> consume_batch -> commit, or rewind and
 * back off; the broker asked now and then while idle, for /ready. */
#include "services/notification/adapters/kafka/kafka_events.h"

#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "services/notification/adapters/kafka/mail_codec.h"
#include "services/notification/app/consume.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KE_POLL_MS 500
#define KE_PING_EVERY_MS 3000
#define KE_PING_TIMEOUT_MS 1500

/* The topics of the events notification-service reads. */
static const char *const ke_topics[] = {KAFKA_TOPIC_USER, KAFKA_TOPIC_POST,
                                        KAFKA_TOPIC_INTERACTION};

struct kafka_events {
    struct notif_core *core;
    struct kafka_events_config cfg;
    char *bootstrap, *prefix, *group;
    struct logger *log;
    pthread_t thread;
    pthread_mutex_t mu; /* guards stop, why and consumer (for scrapes) */
    pthread_cond_t cv;
    bool stop;
    char why[300];
    struct kafka_consumer *consumer;
    bool started; /* the thread runs (start and stop only) */
    atomic_bool up;
    struct metric_series *consumed, *dead, *created, *errors, *bus_up, *mail_published;
    /* Email on: the mail requests of the batch being applied (values in *pending_arena), and
     * the producer that publishes them (consumer thread only). */
    struct kafka_producer *producer;
    struct kafka_record *pending;
    size_t npending, cap;
    struct arena *pending_arena;
};

static bool ke_stopping(struct kafka_events *ke)
{
    pthread_mutex_lock(&ke->mu);
    bool stop = ke->stop;
    pthread_mutex_unlock(&ke->mu);
    return stop;
}

/* Sleeps up to ms, or less when stopping. False when stopping. */
static bool ke_sleep(struct kafka_events *ke, int ms)
{
    struct timespec ts = clock_deadline(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&ke->mu);
    while (!ke->stop && pthread_cond_timedwait(&ke->cv, &ke->mu, &ts) != ETIMEDOUT)
        ;
    bool go_on = !ke->stop;
    pthread_mutex_unlock(&ke->mu);
    return go_on;
}

static void ke_up(struct kafka_events *ke)
{
    if (!atomic_exchange(&ke->up, true))
        log_printf(ke->log, LOG_INFO, NULL, "kafka %s reachable: consuming as group %s",
                   ke->bootstrap, ke->group);
    metrics_set(ke->bus_up, 1);
}

static void ke_down(struct kafka_events *ke, const char *why)
{
    bool was_up = atomic_exchange(&ke->up, false);
    pthread_mutex_lock(&ke->mu);
    bool same = strcmp(ke->why, why) == 0;
    snprintf(ke->why, sizeof(ke->why), "%s", why);
    pthread_mutex_unlock(&ke->mu);
    metrics_set(ke->bus_up, 0);
    metrics_add(ke->errors, 1);
    if (was_up || !same)
        log_printf(ke->log, LOG_WARN, NULL, "kafka consumer: %s", why);
}

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
        struct kafka_config pc = ke->cfg.kafka;
        pc.timeout_ms = ke->cfg.timeout_ms;
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

/* Applies a polled batch: commit once stored, rewind when not. False when it must back off. */
static bool ke_apply(struct kafka_events *ke, const struct kafka_message *msgs, size_t n,
                     struct arena *a)
{
    struct inbound_message *in = arena_calloc(a, n, sizeof(*in));
    for (size_t i = 0; i < n; i++)
        in[i] = (struct inbound_message){msgs[i].offset, msgs[i].value ? msgs[i].value : "",
                                         msgs[i].value ? msgs[i].value_len : 0};
    struct consume_stats st = {0};
    struct err err = {0};
    ke->npending = 0;
    ke->pending_arena = a;
    /* No feed cursor: the position is the group's offsets, committed below. The mails go to
     * mail-events before that commit: a crash in between publishes them again, and the mail
     * outbox takes each (event, recipient, kind) once. */
    int rc = consume_batch(ke->core, NULL, in, n, msgs[n - 1].offset, &st, &err);
    if (rc == 0 && ke_publish_mail(ke, &err) != 0) {
        rc = ERR_UNAVAILABLE;
        ke_down(ke, err.msg);
    }
    if (rc != 0) {
        log_printf(ke->log, LOG_WARN, NULL, "cannot apply %zu events, will retry them: %s", n,
                   err.msg);
        struct err rerr = {0};
        if (kafka_consumer_rewind(ke->consumer, &rerr) != 0)
            log_printf(ke->log, LOG_WARN, NULL, "kafka rewind: %s", rerr.msg);
        return false;
    }
    metrics_add(ke->consumed, (double)st.events);
    metrics_add(ke->dead, (double)st.dead);
    metrics_add(ke->created, (double)st.created);
    /* A refused commit means these come again; consume_batch skips what it has seen. */
    if (kafka_consumer_commit(ke->consumer, &err) != 0)
        log_printf(ke->log, LOG_WARN, NULL, "kafka commit (the batch will come again): %s",
                   err.msg);
    return true;
}

/* Creates the topics and joins the group, retrying while the broker is away. False when
 * stopping or when the configuration is refused. */
static bool ke_open(struct kafka_events *ke)
{
    int delay = ke->cfg.backoff_min_ms;
    for (;;) {
        struct err err = {0};
        struct kafka_consumer *c = NULL;
        /* With email, mail-events and its .dlq too: this consumer publishes to the first. */
        int rc = ke->cfg.mail ? kafka_create_topics(&ke->cfg.kafka, kafka_topics, kafka_topics_len,
                                                    ke->cfg.partitions, ke->cfg.replication, &err)
                              : kafka_create_topics(&ke->cfg.kafka, ke_topics, 3,
                                                    ke->cfg.partitions, ke->cfg.replication, &err);
        if (rc == 0)
            rc = kafka_consumer_open(&ke->cfg.kafka, ke_topics, 3, &c, &err);
        if (rc == 0) {
            pthread_mutex_lock(&ke->mu);
            ke->consumer = c;
            pthread_mutex_unlock(&ke->mu);
            return true;
        }
        ke_down(ke, err.msg);
        if (rc == ERR_INVALID) {
            log_printf(ke->log, LOG_ERROR, NULL, "kafka consumer not started: %s", err.msg);
            return false;
        }
        if (!ke_sleep(ke, delay))
            return false;
        delay = delay * 2 > ke->cfg.backoff_max_ms ? ke->cfg.backoff_max_ms : delay * 2;
    }
}

static void *ke_main(void *arg)
{
    struct kafka_events *ke = arg;
    struct arena a;
    int delay = ke->cfg.backoff_min_ms;
    int64_t last_ok = 0;
    arena_init(&a, 65536);
    if (!ke_open(ke))
        goto out;
    log_printf(ke->log, LOG_INFO, NULL, "consuming kafka %s as group %s", ke->bootstrap, ke->group);
    while (!ke_stopping(ke)) {
        struct kafka_message *msgs = NULL;
        size_t n = 0;
        struct err err = {0};
        arena_reset(&a);
        int rc = kafka_consumer_poll(ke->consumer, (size_t)ke->cfg.batch, KE_POLL_MS, &a, &msgs, &n,
                                     &err);
        if (rc == ERR_INTERNAL) {
            ke_down(ke, err.msg);
            log_printf(ke->log, LOG_ERROR, NULL, "kafka consumer failed for good: %s", err.msg);
            break;
        }
        if (rc != 0) {
            ke_down(ke, err.msg);
            if (!ke_sleep(ke, delay))
                break;
            delay = delay * 2 > ke->cfg.backoff_max_ms ? ke->cfg.backoff_max_ms : delay * 2;
            continue;
        }
        int64_t now = clock_monotonic_ms();
        if (n == 0) {
            /* Quiet: a poll says nothing while the broker is away, so ask it now and then. */
            if (now - last_ok >= KE_PING_EVERY_MS) {
                if (kafka_ping(&ke->cfg.kafka, KE_PING_TIMEOUT_MS, &err) == 0) {
                    ke_up(ke);
                    last_ok = now;
                } else {
                    ke_down(ke, err.msg);
                }
            }
            continue;
        }
        ke_up(ke);
        last_ok = now;
        if (ke_apply(ke, msgs, n, &a)) {
            delay = ke->cfg.backoff_min_ms;
        } else {
            if (!ke_sleep(ke, delay))
                break;
            delay = delay * 2 > ke->cfg.backoff_max_ms ? ke->cfg.backoff_max_ms : delay * 2;
        }
    }
out:
    arena_release(&a);
    return NULL;
}

/* Scrape-time reads of the consumer's counters (none before it is open). */
static double ke_stat(struct kafka_events *ke, int which)
{
    struct kafka_consumer_stats st = {.lag = -1};
    pthread_mutex_lock(&ke->mu);
    bool open = ke->consumer != NULL;
    if (open)
        kafka_consumer_stats(ke->consumer, &st);
    pthread_mutex_unlock(&ke->mu);
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

static void ke_metrics(struct kafka_events *ke, struct metrics *m)
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
    pthread_condattr_t ca;
    ke->core = core;
    ke->cfg = *cfg;
    ke->bootstrap = xstrdup(cfg->kafka.bootstrap);
    ke->prefix = cfg->kafka.topic_prefix && *cfg->kafka.topic_prefix
                     ? xstrdup(cfg->kafka.topic_prefix)
                     : NULL;
    ke->group = xstrdup(cfg->kafka.group_id && *cfg->kafka.group_id ? cfg->kafka.group_id
                                                                    : KAFKA_DEFAULT_GROUP);
    ke->cfg.kafka.bootstrap = ke->bootstrap;
    ke->cfg.kafka.topic_prefix = ke->prefix;
    ke->cfg.kafka.group_id = ke->group;
    ke->cfg.kafka.log = log;
    ke->log = log;
    snprintf(ke->why, sizeof(ke->why), "kafka %s not reached yet", ke->bootstrap);
    pthread_mutex_init(&ke->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ke->cv, &ca);
    pthread_condattr_destroy(&ca);
    ke_metrics(ke, m);
    if (cfg->mail) {
        cfg->mail->forward = ke_forward;
        cfg->mail->forward_ctx = ke;
    }
    ASSERT(pthread_create(&ke->thread, NULL, ke_main, ke) == 0);
    ke->started = true;
    return ke;
}

void kafka_events_stop(struct kafka_events *ke)
{
    if (!ke)
        return;
    pthread_mutex_lock(&ke->mu);
    ke->stop = true;
    pthread_cond_broadcast(&ke->cv);
    pthread_mutex_unlock(&ke->mu);
    if (ke->started) {
        pthread_join(ke->thread, NULL);
        ke->started = false;
    }
    pthread_mutex_lock(&ke->mu);
    kafka_consumer_close(ke->consumer);
    ke->consumer = NULL;
    pthread_mutex_unlock(&ke->mu);
    kafka_producer_close(ke->producer);
    ke->producer = NULL;
}

void kafka_events_free(struct kafka_events *ke)
{
    if (!ke)
        return;
    kafka_events_stop(ke);
    if (ke->cfg.mail && ke->cfg.mail->forward_ctx == ke)
        ke->cfg.mail->forward = NULL;
    free(ke->pending);
    pthread_cond_destroy(&ke->cv);
    pthread_mutex_destroy(&ke->mu);
    free(ke->bootstrap);
    free(ke->prefix);
    free(ke->group);
    free(ke);
}

int kafka_events_ready(void *ctx, struct err *err)
{
    struct kafka_events *ke = ctx;
    if (atomic_load(&ke->up))
        return 0;
    pthread_mutex_lock(&ke->mu);
    int rc = err_set(err, ERR_UNAVAILABLE, "%s", ke->why);
    pthread_mutex_unlock(&ke->mu);
    return rc;
}
