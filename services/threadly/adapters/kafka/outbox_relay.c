/* outbox_relay.c - the relay loop: page of outbox rows after the cursor -> the unsent ones to
 * Kafka -> mark the acknowledged prefix sent; a wake-up or the periodic check starts the next
 * round, a failure backs off. */
#include "services/threadly/adapters/kafka/outbox_relay.h"

#include "lib/base/buf.h"
#include "lib/base/clock.h"
#include "lib/base/health.h"
#include "lib/base/stopper.h"
#include "lib/base/xalloc.h"
#include "services/threadly/app/events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

/* While idle, how often the broker is asked whether it is there (for /ready). */
#define RELAY_PING_EVERY_MS 3000
#define RELAY_PING_TIMEOUT_MS 1500

struct outbox_relay {
    struct outbox_store *store;
    struct outbox_relay_config cfg;
    char *bootstrap, *prefix;
    struct logger *log;
    pthread_t thread;
    struct stopper stop;     /* kicked by outbox_relay_wake */
    struct health health;    /* the broker answered last time we asked or published */
    _Atomic uint64_t cursor; /* rows up to here are sent or skipped; only the thread writes */
    struct metric_series *published, *errors, *broker_up;
};

/* Sleeps ms whatever wake-ups come (a backoff), taking them: the round after it reads the
 * outbox anyway. False when stopping. */
static bool relay_sleep(struct outbox_relay *r, int ms)
{
    int64_t until = clock_monotonic_ms() + ms;
    for (int64_t left = ms; left > 0; left = until - clock_monotonic_ms())
        if (!stopper_wait(&r->stop, left))
            return false;
    return !stopper_stopped(&r->stop);
}

static void relay_up(struct outbox_relay *r)
{
    if (health_up(&r->health))
        log_printf(r->log, LOG_INFO, NULL, "kafka %s reachable: relaying the outbox", r->bootstrap);
}

/* The lag gauge, read at scrape time: committed rows after the cursor (seqs are dense, so
 * this counts the unsent ones; rows another instance sent meanwhile count until this relay
 * passes them). -1 while the database does not answer. */
static double relay_lag(void *ctx)
{
    struct outbox_relay *r = ctx;
    uint64_t head = 0, cursor = atomic_load(&r->cursor);
    struct err err = {0};
    if (outbox_store_head(r->store, &head, &err) != 0)
        return -1;
    return head > cursor ? (double)(head - cursor) : 0;
}

/* What a round did. */
struct relay_round {
    bool full;         /* the page was full: look again at once */
    bool published;    /* the broker acknowledged something */
    bool broker_fault; /* the error (if any) is the broker's, not the database's */
};

/* One round: the page of rows after the cursor, its unsent rows published in order, the
 * acknowledged prefix marked sent. */
static int relay_round(struct outbox_relay *r, struct kafka_producer **pp, struct relay_round *rr,
                       struct err *err)
{
    struct arena a;
    struct outbox_row *rows = NULL;
    size_t n = 0, m = 0, acked = 0;
    arena_init(&a, 65536);
    rr->broker_fault = false;
    int rc = outbox_store_list(r->store, r->cursor, r->cfg.batch, &a, &rows, &n, err);
    rr->full = rc == 0 && n == (size_t)r->cfg.batch;
    if (rc != 0 || n == 0)
        goto out;
    struct kafka_record *recs = arena_calloc(&a, n, sizeof(*recs));
    uint64_t *seqs = arena_calloc(&a, n, sizeof(*seqs));
    for (size_t i = 0; i < n; i++) {
        if (rows[i].sent_at_ms != 0) /* sent by an earlier run or another instance */
            continue;
        struct buf b = BUF_INIT;
        rows[i].event.producer = EVENTS_PRODUCER;
        event_format(&rows[i].event, &b);
        recs[m] = (struct kafka_record){.type = rows[i].event.type,
                                        .key = rows[i].event.key,
                                        .value = arena_strndup(&a, b.data ? b.data : "", b.len),
                                        .value_len = b.len};
        seqs[m++] = rows[i].seq;
        buf_release(&b);
    }
    if (m == 0) {
        r->cursor = rows[n - 1].seq;
        goto out;
    }
    int prc = kafka_producer_publish(*pp, recs, m, &acked, err);
    rr->published = acked > 0;
    if (acked > 0) {
        rc = outbox_store_mark_sent(r->store, seqs[acked - 1], clock_now_ms(&clock_system), err);
        if (rc != 0) /* published but not marked: published again later (consumers dedupe) */
            goto out;
        metrics_add(r->published, (double)acked);
        r->cursor = acked == m ? rows[n - 1].seq : seqs[acked - 1];
    }
    if (acked < m && recs[acked].status == ERR_INVALID) {
        /* It can never go (a type without a topic, no key, too large): say so, count it,
         * and pass it so the rows after it are not held up forever. */
        log_printf(r->log, LOG_ERROR, NULL,
                   "outbox row seq %" PRIu64 " (%s, key %s) cannot be published, skipped: %s",
                   seqs[acked], recs[acked].type, recs[acked].key, err->msg);
        metrics_add(r->errors, 1);
        rc = outbox_store_mark_sent(r->store, seqs[acked], clock_now_ms(&clock_system), err);
        if (rc == 0)
            r->cursor = seqs[acked];
        rr->full = true;
        goto out;
    }
    if (prc == ERR_INTERNAL) { /* fatal for this producer: a new one next round */
        kafka_producer_close(*pp);
        *pp = NULL;
    }
    rc = acked == m ? 0 : prc;
    if (rc == 0 && acked < m) /* cannot happen: publish reports a failure for a short prefix */
        rc = ERR_UNAVAILABLE;
    rr->broker_fault = rc != 0;
out:
    arena_release(&a);
    return rc;
}

/* Where a starting relay resumes: the seq of the last sent row. The sent rows are always a
 * prefix of the outbox (mark_sent marks every unsent row up to a seq, and seqs are given in
 * commit order), so a binary search with one-row pages finds it in about log2(head) reads
 * instead of a walk of every row. On a database error it stops with what it knows (every row
 * up to the answer is sent; the round's skip of sent rows does the rest). */
static uint64_t relay_resume_cursor(struct outbox_relay *r)
{
    uint64_t lo = 0, hi = 0; /* the answer is in [lo, hi] */
    struct err err = {0};
    if (outbox_store_head(r->store, &hi, &err) != 0)
        return 0;
    struct arena a;
    arena_init(&a, 4096);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        struct outbox_row *row = NULL;
        size_t n = 0;
        arena_reset(&a);
        if (outbox_store_list(r->store, mid - 1, 1, &a, &row, &n, &err) != 0)
            break;
        if (n == 1 && row->sent_at_ms != 0)
            lo = row->seq < hi ? row->seq : hi; /* sent up to there at least */
        else
            hi = mid - 1; /* the first row at or after mid is unsent, or there is none */
    }
    arena_release(&a);
    return lo;
}

static void *relay_main(void *arg)
{
    struct outbox_relay *r = arg;
    struct kafka_producer *p = NULL;
    bool topics = false;
    int delay = r->cfg.backoff_min_ms;
    int64_t last_ok = 0;
    log_printf(r->log, LOG_INFO, NULL, "outbox relay to kafka %s%s%s", r->bootstrap,
               r->prefix ? ", topic prefix " : "", r->prefix ? r->prefix : "");
    atomic_store(&r->cursor, relay_resume_cursor(r));
    log_printf(r->log, LOG_INFO, NULL, "outbox relay resumes after seq %" PRIu64,
               (uint64_t)atomic_load(&r->cursor));
    while (!stopper_stopped(&r->stop)) {
        struct err err = {0};
        struct relay_round rr = {.broker_fault = true};
        int rc = 0;
        if (!topics) {
            rc = kafka_create_topics(&r->cfg.kafka, kafka_topics, kafka_topics_len,
                                     r->cfg.partitions, r->cfg.replication, &err);
            topics = rc == 0;
        }
        if (rc == 0 && !p)
            rc = kafka_producer_open(&r->cfg.kafka, &p, &err);
        if (rc == 0)
            rc = relay_round(r, &p, &rr, &err);
        if (rr.published) {
            relay_up(r);
            last_ok = clock_monotonic_ms();
        }
        if (rc != 0) {
            if (rr.broker_fault) {
                health_down(&r->health, err.msg[0] ? err.msg : "kafka: failed");
            } else {
                metrics_add(r->errors, 1);
                log_printf(r->log, LOG_WARN, NULL, "outbox relay (retry in %d ms): %s", delay,
                           err.msg);
            }
            if (!relay_sleep(r, delay))
                break;
            delay = delay * 2 > r->cfg.backoff_max_ms ? r->cfg.backoff_max_ms : delay * 2;
            continue;
        }
        delay = r->cfg.backoff_min_ms;
        if (rr.full)
            continue;
        /* Idle. The broker answered the last publish, or is asked now and then (/ready). */
        int64_t now = clock_monotonic_ms();
        if (now - last_ok >= RELAY_PING_EVERY_MS) {
            if (kafka_ping(&r->cfg.kafka, RELAY_PING_TIMEOUT_MS, &err) == 0) {
                relay_up(r);
                last_ok = now;
            } else {
                health_down(&r->health, err.msg);
            }
        }
        if (!stopper_wait(&r->stop, r->cfg.recheck_ms))
            break;
    }
    kafka_producer_close(p);
    return NULL;
}

struct outbox_relay *outbox_relay_start(struct outbox_store *store,
                                        const struct outbox_relay_config *cfg, struct logger *log,
                                        struct metrics *m)
{
    struct outbox_relay *r = xcalloc(1, sizeof(*r));
    r->store = store;
    r->cfg = *cfg;
    r->bootstrap = xstrdup(cfg->kafka.bootstrap);
    r->prefix = cfg->kafka.topic_prefix && *cfg->kafka.topic_prefix
                    ? xstrdup(cfg->kafka.topic_prefix)
                    : NULL;
    r->cfg.kafka.bootstrap = r->bootstrap;
    r->cfg.kafka.topic_prefix = r->prefix;
    r->cfg.kafka.log = log;
    r->log = log;
    stopper_init(&r->stop);
    r->published = metrics_series(
        metrics_counter(m, "threadly_outbox_relay_published_total",
                        "Outbox events published to Kafka and acknowledged.", 0, NULL),
        NULL);
    r->errors = metrics_series(
        metrics_counter(m, "threadly_outbox_relay_errors_total",
                        "Failed relay rounds (broker or database) and rows that cannot be sent.", 0,
                        NULL),
        NULL);
    metrics_func(m, METRIC_GAUGE, "threadly_outbox_relay_lag_events",
                 "Committed outbox rows not yet relayed to Kafka (-1: database unavailable).",
                 relay_lag, r);
    r->broker_up = metrics_series(metrics_gauge(m, "threadly_outbox_relay_broker_up",
                                                "1 while the Kafka broker answers.", 0, NULL),
                                  NULL);
    char why0[300];
    snprintf(why0, sizeof(why0), "kafka %s not reached yet", r->bootstrap);
    health_init(&r->health, "outbox relay", log, r->broker_up, r->errors, why0);
    ASSERT(pthread_create(&r->thread, NULL, relay_main, r) == 0);
    return r;
}

void outbox_relay_wake(void *relay)
{
    struct outbox_relay *r = relay;
    stopper_kick(&r->stop);
}

int outbox_relay_ready(void *relay, struct err *err)
{
    struct outbox_relay *r = relay;
    return health_ready(&r->health, err);
}

void outbox_relay_stop(struct outbox_relay *r)
{
    if (!r)
        return;
    stopper_stop(&r->stop);
    pthread_join(r->thread, NULL);
    stopper_release(&r->stop);
    health_release(&r->health);
    free(r->bootstrap);
    free(r->prefix);
    free(r);
}
