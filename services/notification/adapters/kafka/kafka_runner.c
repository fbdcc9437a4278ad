/* kafka_runner.c - the consumer loop: poll -> apply -> commit, or rewind and back off; the
 * broker asked now and then while idle, for /ready. */
#include "services/notification/adapters/kafka/kafka_runner.h"

#include "lib/base/clock.h"
#include "lib/base/health.h"
#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"

#include <pthread.h>
#include <stdio.h>

#define KR_POLL_MS 500
#define KR_PING_EVERY_MS 3000
#define KR_PING_TIMEOUT_MS 1500

struct kafka_runner {
    struct kafka_runner_config cfg;
    char *bootstrap, *prefix, *group;
    struct logger *log;
    pthread_t thread;
    bool started; /* the thread runs (start and stop only) */
    struct stopper stop;
    struct health health;
    pthread_mutex_t mu; /* guards consumer (for scrapes) */
    struct kafka_consumer *consumer;
};

static int kr_backoff(const struct kafka_runner *r, int delay)
{
    return delay * 2 > r->cfg.backoff_max_ms ? r->cfg.backoff_max_ms : delay * 2;
}

static void kr_up(struct kafka_runner *r)
{
    if (health_up(&r->health))
        log_printf(r->log, LOG_INFO, NULL, "kafka %s reachable: consuming%s%s as group %s",
                   r->bootstrap, r->cfg.what ? " " : "", r->cfg.what ? r->cfg.what : "", r->group);
}

void kafka_runner_down(struct kafka_runner *r, const char *why)
{
    health_down(&r->health, why);
}

/* Hands a polled batch to apply: commit once stored, rewind when not. False when it must back
 * off. */
static bool kr_apply(struct kafka_runner *r, const struct kafka_message *msgs, size_t n,
                     struct arena *a)
{
    struct err err = {0};
    if (r->cfg.apply(r->cfg.ctx, msgs, n, a, &err) != 0) {
        log_printf(r->log, LOG_WARN, NULL, "cannot %s %zu %s, will retry them: %s", r->cfg.verb, n,
                   r->cfg.items, err.msg);
        struct err rerr = {0};
        if (kafka_consumer_rewind(r->consumer, &rerr) != 0)
            log_printf(r->log, LOG_WARN, NULL, "kafka rewind: %s", rerr.msg);
        return false;
    }
    /* A refused commit means these come again; the adapters skip what they have seen. */
    if (kafka_consumer_commit(r->consumer, &err) != 0)
        log_printf(r->log, LOG_WARN, NULL, "kafka commit (the batch will come again): %s", err.msg);
    return true;
}

/* Creates the topics and joins the group, retrying while the broker is away. False when
 * stopping or when the configuration is refused. */
static bool kr_open(struct kafka_runner *r)
{
    int delay = r->cfg.backoff_min_ms;
    for (;;) {
        struct err err = {0};
        struct kafka_consumer *c = NULL;
        int rc = kafka_create_topics(&r->cfg.kafka, r->cfg.create, r->cfg.ncreate,
                                     r->cfg.partitions, r->cfg.replication, &err);
        if (rc == 0)
            rc = kafka_consumer_open(&r->cfg.kafka, r->cfg.topics, r->cfg.ntopics, &c, &err);
        if (rc == 0) {
            pthread_mutex_lock(&r->mu);
            r->consumer = c;
            pthread_mutex_unlock(&r->mu);
            return true;
        }
        kafka_runner_down(r, err.msg);
        if (rc == ERR_INVALID) {
            log_printf(r->log, LOG_ERROR, NULL, "%s not started: %s", r->cfg.name, err.msg);
            return false;
        }
        if (!stopper_sleep(&r->stop, delay))
            return false;
        delay = kr_backoff(r, delay);
    }
}

static void *kr_main(void *arg)
{
    struct kafka_runner *r = arg;
    struct arena a;
    int delay = r->cfg.backoff_min_ms;
    int64_t last_ok = 0;
    arena_init(&a, 65536);
    if (!kr_open(r))
        goto out;
    if (r->cfg.log_consuming)
        log_printf(r->log, LOG_INFO, NULL, "consuming kafka %s as group %s", r->bootstrap,
                   r->group);
    while (!stopper_stopped(&r->stop)) {
        struct kafka_message *msgs = NULL;
        size_t n = 0;
        struct err err = {0};
        arena_reset(&a);
        int rc =
            kafka_consumer_poll(r->consumer, (size_t)r->cfg.batch, KR_POLL_MS, &a, &msgs, &n, &err);
        if (rc == ERR_INTERNAL) {
            kafka_runner_down(r, err.msg);
            log_printf(r->log, LOG_ERROR, NULL, "%s failed for good: %s", r->cfg.name, err.msg);
            break;
        }
        if (rc != 0) {
            kafka_runner_down(r, err.msg);
            if (!stopper_sleep(&r->stop, delay))
                break;
            delay = kr_backoff(r, delay);
            continue;
        }
        int64_t now = clock_monotonic_ms();
        if (n == 0) {
            /* Quiet: a poll says nothing while the broker is away, so ask it now and then. */
            if (now - last_ok >= KR_PING_EVERY_MS) {
                if (kafka_ping(&r->cfg.kafka, KR_PING_TIMEOUT_MS, &err) == 0) {
                    kr_up(r);
                    last_ok = now;
                } else {
                    kafka_runner_down(r, err.msg);
                }
            }
            continue;
        }
        kr_up(r);
        last_ok = now;
        if (kr_apply(r, msgs, n, &a)) {
            delay = r->cfg.backoff_min_ms;
        } else {
            if (!stopper_sleep(&r->stop, delay))
                break;
            delay = kr_backoff(r, delay);
        }
    }
out:
    arena_release(&a);
    return NULL;
}

struct kafka_runner *kafka_runner_new(const struct kafka_runner_config *cfg, struct logger *log)
{
    ASSERT(cfg->apply && cfg->name && cfg->verb && cfg->items && cfg->up_gauge);
    struct kafka_runner *r = xcalloc(1, sizeof(*r));
    r->cfg = *cfg;
    r->bootstrap = xstrdup(cfg->kafka.bootstrap);
    r->prefix = cfg->kafka.topic_prefix && *cfg->kafka.topic_prefix
                    ? xstrdup(cfg->kafka.topic_prefix)
                    : NULL;
    r->group = xstrdup(cfg->kafka.group_id);
    r->cfg.kafka.bootstrap = r->bootstrap;
    r->cfg.kafka.topic_prefix = r->prefix;
    r->cfg.kafka.group_id = r->group;
    r->cfg.kafka.log = log;
    r->log = log;
    char why0[300];
    snprintf(why0, sizeof(why0), "kafka %s not reached yet%s%s%s", r->bootstrap,
             cfg->what ? " (" : "", cfg->what ? cfg->what : "", cfg->what ? ")" : "");
    health_init(&r->health, cfg->name, log, cfg->up_gauge, cfg->errors, why0);
    stopper_init(&r->stop);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void kafka_runner_start(struct kafka_runner *r)
{
    ASSERT(!r->started);
    ASSERT(pthread_create(&r->thread, NULL, kr_main, r) == 0);
    r->started = true;
}

void kafka_runner_stop(struct kafka_runner *r)
{
    stopper_stop(&r->stop);
    if (r->started) {
        pthread_join(r->thread, NULL);
        r->started = false;
    }
    pthread_mutex_lock(&r->mu);
    kafka_consumer_close(r->consumer);
    r->consumer = NULL;
    pthread_mutex_unlock(&r->mu);
}

void kafka_runner_free(struct kafka_runner *r)
{
    if (!r)
        return;
    kafka_runner_stop(r);
    stopper_release(&r->stop);
    health_release(&r->health);
    pthread_mutex_destroy(&r->mu);
    free(r->bootstrap);
    free(r->prefix);
    free(r->group);
    free(r);
}

const struct kafka_config *kafka_runner_kafka(const struct kafka_runner *r)
{
    return &r->cfg.kafka;
}

int kafka_runner_ready(struct kafka_runner *r, struct err *err)
{
    return health_ready(&r->health, err);
}

bool kafka_runner_stats(struct kafka_runner *r, struct kafka_consumer_stats *out)
{
    pthread_mutex_lock(&r->mu);
    bool open = r->consumer != NULL;
    if (open)
        kafka_consumer_stats(r->consumer, out);
    pthread_mutex_unlock(&r->mu);
    return open;
}
