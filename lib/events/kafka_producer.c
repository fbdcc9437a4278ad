/* kafka_producer.c - the idempotent producer: publish a batch, wait for each delivery report.
 * Delivery reports are served on the publishing thread (rd_kafka_poll), never on librdkafka's
 * own threads, so the batch's records need no lock. */
#include "lib/base/clock.h"
#include "lib/base/xalloc.h"
#include "lib/events/kafka.h"
#include "lib/events/kafka_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct kafka_producer {
    struct kafka_base base; /* first: librdkafka's opaque */
    rd_kafka_t *rk;
    /* The batch being published; a delivery report for an older batch (one that timed out
     * on our side) finds another generation and only frees its tag. */
    uint64_t generation;
    struct kafka_record *recs;
    size_t nrecs;
    size_t pending;
    size_t first_failed; /* index of the first failed record, nrecs if none */
    rd_kafka_resp_err_t first_error;
    _Atomic uint64_t acked, failed, bytes;
};

/* Each message's opaque: which batch and record it belongs to. */
struct delivery_tag {
    uint64_t generation;
    size_t index;
};

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct kafka_producer *p = opaque;
    struct delivery_tag *tag = m->_private;
    if (tag && tag->generation == p->generation && tag->index < p->nrecs) {
        struct kafka_record *r = &p->recs[tag->index];
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            r->status = ERR_OK;
            r->partition = m->partition;
            r->offset = m->offset;
            atomic_fetch_add(&p->acked, 1);
            atomic_fetch_add(&p->bytes, m->len);
        } else {
            r->status = ERR_UNAVAILABLE;
            atomic_fetch_add(&p->failed, 1);
            if (tag->index < p->first_failed) {
                p->first_failed = tag->index;
                p->first_error = m->err;
            }
        }
        p->pending--;
    }
    free(tag);
}

int kafka_producer_open(const struct kafka_config *cfg, struct kafka_producer **out,
                        struct err *err)
{
    char reason[256], timeout[16];
    *out = NULL;
    struct kafka_producer *p = xcalloc(1, sizeof(*p));
    if (kafka_base_init(&p->base, cfg, err) != ERR_OK) {
        free(p);
        return err ? err->code : ERR_INVALID;
    }
    rd_kafka_conf_t *conf = kafka_conf_new(&p->base, cfg, err);
    if (!conf) {
        free(p);
        return ERR_INVALID;
    }
    snprintf(timeout, sizeof(timeout), "%d", p->base.timeout_ms);
    /* Idempotence: retries never duplicate or reorder a partition's messages; it implies
     * acks=all, which is set anyway so the intent is visible. */
    if (kafka_conf_set(conf, "enable.idempotence", "true", err) != ERR_OK ||
        kafka_conf_set(conf, "acks", "all", err) != ERR_OK ||
        kafka_conf_set(conf, "message.timeout.ms", timeout, err) != ERR_OK ||
        kafka_conf_set(conf, "linger.ms", "5", err) != ERR_OK) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return ERR_INVALID;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof(reason));
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return err_set(err, ERR_INVALID, "kafka producer: %s", reason);
    }
    *out = p;
    return ERR_OK;
}

/* Enqueues record i; false (with its status set) if it cannot be sent at all. */
static bool produce_one(struct kafka_producer *p, size_t i, int64_t deadline)
{
    struct kafka_record *r = &p->recs[i];
    char wire[KAFKA_TOPIC_MAX];
    const char *topic = r->topic ? r->topic : kafka_topic_for_type(r->type);
    r->status = ERR_INVALID;
    if (!topic || !r->key || !r->key[0] || !kafka_wire_topic(&p->base, topic, wire) ||
        (!r->value && r->value_len))
        return false;
    struct delivery_tag *tag = xmalloc(sizeof(*tag));
    tag->generation = p->generation;
    tag->index = i;
    rd_kafka_resp_err_t e;
    for (;;) {
        /* F_COPY: the value may be gone before a late delivery report comes. */
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(wire), RD_KAFKA_V_KEY(r->key, strlen(r->key)),
                              RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(tag),
                              RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || clock_monotonic_ms() >= deadline)
            break;
        rd_kafka_poll(p->rk, 10); /* the queue drains as reports come in */
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(tag);
        r->status = kafka_err_code(e);
        if (i < p->first_failed) {
            p->first_failed = i;
            p->first_error = e;
        }
        return false;
    }
    r->status = ERR_UNAVAILABLE; /* until its report says otherwise */
    p->pending++;
    return true;
}

int kafka_producer_publish(struct kafka_producer *p, struct kafka_record *recs, size_t n,
                           size_t *acked_prefix, struct err *err)
{
    char fatal[256];
    /* Every message gets a report within message.timeout.ms; the margin covers the rest. */
    int64_t deadline = clock_monotonic_ms() + p->base.timeout_ms + 5000;
    size_t sent = 0, invalid = 0;
    if (acked_prefix)
        *acked_prefix = 0;
    p->generation++;
    p->recs = recs;
    p->nrecs = n;
    p->pending = 0;
    p->first_failed = n;
    p->first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (size_t i = 0; i < n; i++) {
        recs[i].partition = -1;
        recs[i].offset = -1;
        if (produce_one(p, i, deadline)) {
            sent++;
        } else {
            invalid += recs[i].status == ERR_INVALID;
            atomic_fetch_add(&p->failed, 1);
        }
    }
    /* rd_kafka_flush serves the delivery reports like rd_kafka_poll, and also sends what is
     * queued at once instead of after linger.ms: the whole batch is queued already, so
     * lingering would only add latency to every publish. */
    for (int64_t left; p->pending > 0 && (left = deadline - clock_monotonic_ms()) > 0;)
        rd_kafka_flush(p->rk, left < 50 ? (int)left : 50);
    if (p->pending > 0) {
        atomic_fetch_add(&p->failed, p->pending);
        for (size_t i = 0; i < n && p->first_failed == n; i++) {
            if (recs[i].status == ERR_UNAVAILABLE)
                p->first_failed = i;
        }
        p->first_error = RD_KAFKA_RESP_ERR__TIMED_OUT;
    }
    /* Late reports of this batch must not touch recs, which the caller owns again. */
    p->generation++;
    p->recs = NULL;
    p->nrecs = 0;

    size_t prefix = 0;
    while (prefix < n && recs[prefix].status == ERR_OK)
        prefix++;
    if (acked_prefix)
        *acked_prefix = prefix;
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(p->rk, fatal, sizeof(fatal));
    if (fe != RD_KAFKA_RESP_ERR_NO_ERROR)
        return err_set(err, ERR_INTERNAL, "kafka producer: fatal: %s", fatal);
    if (prefix == n)
        return ERR_OK;
    if (sent == 0 && invalid == n)
        return err_set(err, ERR_INVALID, "kafka producer: no record was sendable (first: %s)",
                       recs[0].type ? recs[0].type : "(no type)");
    const struct kafka_record *r = &recs[p->first_failed < n ? p->first_failed : prefix];
    if (r->status == ERR_INVALID)
        return err_set(err, ERR_UNAVAILABLE,
                       "kafka producer: record %zu (type %s) has no topic, no key or is too large",
                       (size_t)(r - recs), r->type ? r->type : "(none)");
    return err_set(err, ERR_UNAVAILABLE, "kafka producer: record %zu not acknowledged: %s",
                   (size_t)(r - recs), rd_kafka_err2str(p->first_error));
}

void kafka_producer_close(struct kafka_producer *p)
{
    if (!p)
        return;
    /* Reports that come now belong to no batch (generation moved on): they free their tags.
     * What is still not reported after the wait is purged, which reports it too. */
    if (rd_kafka_flush(p->rk, p->base.timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(p->rk, 1000);
    }
    rd_kafka_destroy(p->rk);
    free(p);
}

void kafka_producer_stats(const struct kafka_producer *p, struct kafka_producer_stats *out)
{
    out->acked = atomic_load(&p->acked);
    out->failed = atomic_load(&p->failed);
    out->bytes = atomic_load(&p->bytes);
}

static double producer_acked(void *ctx)
{
    return (double)atomic_load(&((struct kafka_producer *)ctx)->acked);
}

static double producer_failed(void *ctx)
{
    return (double)atomic_load(&((struct kafka_producer *)ctx)->failed);
}

static double producer_bytes(void *ctx)
{
    return (double)atomic_load(&((struct kafka_producer *)ctx)->bytes);
}

void kafka_producer_add_metrics(struct kafka_producer *p, struct metrics *m)
{
    metrics_func(m, METRIC_COUNTER, "kafka_producer_acked_total",
                 "Event records acknowledged by Kafka (acks=all).", producer_acked, p);
    metrics_func(m, METRIC_COUNTER, "kafka_producer_failed_total",
                 "Event records not acknowledged (timed out, refused or unsendable).",
                 producer_failed, p);
    metrics_func(m, METRIC_COUNTER, "kafka_producer_bytes_total",
                 "Value bytes of acknowledged event records.", producer_bytes, p);
}
