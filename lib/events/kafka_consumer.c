/* kafka_consumer.c - the group consumer: poll a batch, commit it explicitly once stored.
 * It remembers, per assigned partition, the first returned-but-uncommitted offset and the
 * offset after the last returned message; commit and rewind work from that table, which the
 * rebalance callback trims. Everything runs on the caller's thread (the rebalance callback is
 * served inside rd_kafka_consumer_poll). */
#include "lib/base/xalloc.h"
#include "lib/events/kafka.h"
#include "lib/events/kafka_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct partition_state {
    char *topic; /* wire name */
    int32_t partition;
    int64_t first_uncommitted; /* -1: nothing returned since the last commit */
    int64_t next;              /* offset after the last message returned */
};

struct kafka_consumer {
    struct kafka_base base; /* first: librdkafka's opaque */
    rd_kafka_t *rk;
    struct partition_state *parts;
    size_t nparts, cap;
    _Atomic uint64_t messages, bytes, commits, commit_failures, rebalances;
    _Atomic int64_t lag;
    _Atomic int64_t assigned;
};

static struct partition_state *part_find(struct kafka_consumer *c, const char *topic,
                                         int32_t partition, bool create)
{
    for (size_t i = 0; i < c->nparts; i++) {
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    }
    if (!create)
        return NULL;
    if (c->nparts == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->parts = xrealloc(c->parts, c->cap * sizeof(*c->parts));
    }
    struct partition_state *s = &c->parts[c->nparts++];
    s->topic = xstrdup(topic);
    s->partition = partition;
    s->first_uncommitted = -1;
    s->next = -1;
    return s;
}

static void part_forget(struct kafka_consumer *c, const char *topic, int32_t partition)
{
    struct partition_state *s = part_find(c, topic, partition, false);
    if (!s)
        return;
    free(s->topic);
    *s = c->parts[--c->nparts];
}

static void part_forget_all(struct kafka_consumer *c)
{
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].topic);
    c->nparts = 0;
}

/* The group runs the eager protocol (roundrobin: a few members, short full rebalances, the
 * simplest path in librdkafka 2.0 of Debian 12); the cooperative calls are here so another
 * assignor can be configured without surprises. A revoked partition's uncommitted messages
 * are forgotten: they were not stored, and its next owner reads them from the committed
 * offset. */
static void consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_consumer *c = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    atomic_fetch_add(&c->rebalances, 1);
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_error_t *ie = NULL;
        if (cooperative) {
            ie = rd_kafka_incremental_assign(rk, parts);
            atomic_fetch_add(&c->assigned, ie ? 0 : parts->cnt);
        } else {
            rd_kafka_assign(rk, parts);
            atomic_store(&c->assigned, parts->cnt);
        }
        if (ie) {
            if (c->base.log)
                log_printf(c->base.log, LOG_ERROR, NULL, "kafka consumer: assign: %s",
                           rd_kafka_error_string(ie));
            rd_kafka_error_destroy(ie);
        }
        return;
    }
    if (e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            part_forget(c, parts->elems[i].topic, parts->elems[i].partition);
        if (cooperative) {
            rd_kafka_error_t *ie = rd_kafka_incremental_unassign(rk, parts);
            if (ie)
                rd_kafka_error_destroy(ie);
            atomic_fetch_sub(&c->assigned, parts->cnt);
        } else {
            rd_kafka_assign(rk, NULL);
            atomic_store(&c->assigned, 0);
        }
        return;
    }
    /* Any other error: start over with nothing assigned. */
    if (c->base.log)
        log_printf(c->base.log, LOG_WARN, NULL, "kafka consumer: rebalance error: %s",
                   rd_kafka_err2str(e));
    part_forget_all(c);
    rd_kafka_assign(rk, NULL);
    atomic_store(&c->assigned, 0);
}

int kafka_consumer_open(const struct kafka_config *cfg, const char *const *topics, size_t ntopics,
                        struct kafka_consumer **out, struct err *err)
{
    char reason[256], wire[KAFKA_TOPIC_MAX];
    *out = NULL;
    if (ntopics == 0)
        return err_set(err, ERR_INVALID, "kafka consumer: no topics");
    struct kafka_consumer *c = xcalloc(1, sizeof(*c));
    atomic_store(&c->lag, -1);
    if (kafka_base_init(&c->base, cfg, err) != ERR_OK) {
        free(c);
        return ERR_INVALID;
    }
    rd_kafka_conf_t *conf = kafka_conf_new(&c->base, cfg, err);
    if (!conf) {
        free(c);
        return ERR_INVALID;
    }
    const char *group = cfg->group_id && cfg->group_id[0] ? cfg->group_id : KAFKA_DEFAULT_GROUP;
    /* Offsets move only through kafka_consumer_commit; a new group starts at the beginning, so
     * events published before the consumer's first start are not skipped. */
    if (kafka_conf_set(conf, "group.id", group, err) != ERR_OK ||
        kafka_conf_set(conf, "enable.auto.commit", "false", err) != ERR_OK ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err) != ERR_OK ||
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err) != ERR_OK ||
        kafka_conf_set(conf, "partition.assignment.strategy", "roundrobin", err) != ERR_OK ||
        /* librdkafka prefetches up to 64 MB per partition by default: notification-service
         * starting on a backlog held 153 MB (bench/notify_consume.sh). 16 MB a partition: 43 MB
         * and 4,309 events/s in the same bench; 4 MB: 19.5 MB but 2,487 events/s. */
        kafka_conf_set(conf, "queued.max.messages.kbytes", "16384", err) != ERR_OK ||
        kafka_conf_set(conf, "queued.min.messages", "10000", err) != ERR_OK) {
        rd_kafka_conf_destroy(conf);
        free(c);
        return ERR_INVALID;
    }
    if (cfg->session_timeout_ms > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", cfg->session_timeout_ms);
        if (kafka_conf_set(conf, "session.timeout.ms", v, err) != ERR_OK) {
            rd_kafka_conf_destroy(conf);
            free(c);
            return ERR_INVALID;
        }
    }
    rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof(reason));
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        free(c);
        return err_set(err, ERR_INVALID, "kafka consumer: %s", reason);
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new((int)ntopics);
    int rc = ERR_OK;
    for (size_t i = 0; i < ntopics && rc == ERR_OK; i++) {
        if (!topics[i] || !topics[i][0] || !kafka_wire_topic(&c->base, topics[i], wire))
            rc = err_set(err, ERR_INVALID, "kafka consumer: bad topic name");
        else
            rd_kafka_topic_partition_list_add(sub, wire, RD_KAFKA_PARTITION_UA);
    }
    if (rc == ERR_OK) {
        rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = err_set(err, ERR_INVALID, "kafka consumer: subscribe: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(sub);
    if (rc != ERR_OK) {
        rd_kafka_destroy(c->rk);
        free(c);
        return rc;
    }
    *out = c;
    return ERR_OK;
}

/* The lag over the assignment from cached high watermarks (the fetch answers carry them) and
 * the positions after the messages returned: no request to the broker. -1 while nothing is
 * assigned or no watermark is known yet. */
static void update_lag(struct kafka_consumer *c)
{
    rd_kafka_topic_partition_list_t *asg = NULL;
    if (rd_kafka_assignment(c->rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR || !asg)
        return;
    int64_t lag = 0;
    bool known = false;
    rd_kafka_position(c->rk, asg);
    for (int i = 0; i < asg->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &asg->elems[i];
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(c->rk, tp->topic, tp->partition, &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        known = true;
        /* No position: nothing returned from it since it was assigned. Its committed offset
         * would take a request to learn; count it as caught up until it returns something. */
        if (tp->offset >= 0 && hi > tp->offset)
            lag += hi - tp->offset;
    }
    atomic_store(&c->lag, known ? lag : -1);
    rd_kafka_topic_partition_list_destroy(asg);
}

/* A NUL-terminated copy of n bytes that may hold NULs themselves (arena_strndup stops at one). */
static const char *copy_bytes(struct arena *a, const void *p, size_t n)
{
    char *s = arena_alloc(a, n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void copy_message(struct kafka_consumer *c, const rd_kafka_message_t *m, struct arena *a,
                         struct kafka_message *out)
{
    out->topic = arena_strdup(a, kafka_bare_topic(&c->base, rd_kafka_topic_name(m->rkt)));
    out->partition = m->partition;
    out->offset = m->offset;
    out->key = m->key ? copy_bytes(a, m->key, m->key_len) : NULL;
    out->key_len = m->key ? m->key_len : 0;
    out->value = m->payload ? copy_bytes(a, m->payload, m->len) : NULL;
    out->value_len = m->payload ? m->len : 0;
    rd_kafka_timestamp_type_t tt;
    out->timestamp_ms = rd_kafka_message_timestamp(m, &tt);
}

int kafka_consumer_poll(struct kafka_consumer *c, size_t max, int timeout_ms, struct arena *a,
                        struct kafka_message **out, size_t *n, struct err *err)
{
    char fatal[256];
    *out = NULL;
    *n = 0;
    if (max == 0)
        return ERR_OK;
    struct kafka_message *msgs = NULL;
    size_t got = 0, cap = 0;
    int rc = ERR_OK;
    while (got < max) {
        /* Wait only for the first message; then take what has already been fetched. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, got == 0 ? timeout_ms : 0);
        if (!m)
            break;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (rd_kafka_fatal_error(c->rk, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR)
                rc = err_set(err, ERR_INTERNAL, "kafka consumer: fatal: %s", fatal);
            else if (got == 0)
                rc =
                    err_set(err, ERR_UNAVAILABLE, "kafka consumer: %s", rd_kafka_message_errstr(m));
            else if (c->base.log)
                log_printf(c->base.log, LOG_WARN, NULL, "kafka consumer: %s",
                           rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            break;
        }
        if (got == cap) {
            size_t ncap = cap ? cap * 2 : (max < 64 ? max : 64);
            struct kafka_message *nm = arena_alloc(a, ncap * sizeof(*nm));
            if (got)
                memcpy(nm, msgs, got * sizeof(*nm));
            msgs = nm;
            cap = ncap;
        }
        copy_message(c, m, a, &msgs[got++]);
        struct partition_state *s = part_find(c, rd_kafka_topic_name(m->rkt), m->partition, true);
        if (s->first_uncommitted < 0)
            s->first_uncommitted = m->offset;
        s->next = m->offset + 1;
        atomic_fetch_add(&c->messages, 1);
        atomic_fetch_add(&c->bytes, m->len);
        rd_kafka_message_destroy(m);
    }
    update_lag(c);
    if (rc == ERR_INTERNAL || (rc != ERR_OK && got == 0))
        return rc;
    *out = msgs;
    *n = got;
    return ERR_OK;
}

/* The partitions with returned-but-uncommitted messages, at `next` or at
 * `first_uncommitted`; NULL if there are none. */
static rd_kafka_topic_partition_list_t *uncommitted(struct kafka_consumer *c, bool first)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (size_t i = 0; i < c->nparts; i++) {
        struct partition_state *s = &c->parts[i];
        if (s->first_uncommitted < 0)
            continue;
        if (!l)
            l = rd_kafka_topic_partition_list_new((int)c->nparts);
        rd_kafka_topic_partition_list_add(l, s->topic, s->partition)->offset =
            first ? s->first_uncommitted : s->next;
    }
    return l;
}

int kafka_consumer_commit(struct kafka_consumer *c, struct err *err)
{
    rd_kafka_topic_partition_list_t *l = uncommitted(c, false);
    if (!l)
        return ERR_OK;
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 0 /* synchronous */);
    for (int i = 0; i < l->cnt && e == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
        e = l->elems[i].err;
    int rc = ERR_OK;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        atomic_fetch_add(&c->commit_failures, 1);
        rc = err_set(err, ERR_UNAVAILABLE, "kafka consumer: commit: %s", rd_kafka_err2str(e));
    } else {
        atomic_fetch_add(&c->commits, 1);
        for (int i = 0; i < l->cnt; i++) {
            struct partition_state *s =
                part_find(c, l->elems[i].topic, l->elems[i].partition, false);
            if (s && s->next == l->elems[i].offset)
                s->first_uncommitted = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int kafka_consumer_rewind(struct kafka_consumer *c, struct err *err)
{
    rd_kafka_topic_partition_list_t *l = uncommitted(c, true);
    if (!l)
        return ERR_OK;
    int rc = ERR_OK;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, c->base.timeout_ms);
    if (e) {
        rc = err_set(err, ERR_UNAVAILABLE, "kafka consumer: seek: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    for (int i = 0; i < l->cnt && rc == ERR_OK; i++) {
        if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = err_set(err, ERR_UNAVAILABLE, "kafka consumer: seek %s/%d: %s", l->elems[i].topic,
                         (int)l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
    }
    if (rc == ERR_OK) {
        for (int i = 0; i < l->cnt; i++) {
            struct partition_state *s =
                part_find(c, l->elems[i].topic, l->elems[i].partition, false);
            if (s) {
                s->next = s->first_uncommitted;
                s->first_uncommitted = -1;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

void kafka_consumer_close(struct kafka_consumer *c)
{
    if (!c)
        return;
    /* Leaves the group; the rebalance callback revokes everything, committing nothing. */
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    part_forget_all(c);
    free(c->parts);
    free(c);
}

void kafka_consumer_stats(const struct kafka_consumer *c, struct kafka_consumer_stats *out)
{
    out->messages = atomic_load(&c->messages);
    out->bytes = atomic_load(&c->bytes);
    out->commits = atomic_load(&c->commits);
    out->commit_failures = atomic_load(&c->commit_failures);
    out->rebalances = atomic_load(&c->rebalances);
    out->lag = atomic_load(&c->lag);
    out->assigned = atomic_load(&c->assigned);
}

static double consumer_messages(void *ctx)
{
    return (double)atomic_load(&((struct kafka_consumer *)ctx)->messages);
}

static double consumer_commits(void *ctx)
{
    return (double)atomic_load(&((struct kafka_consumer *)ctx)->commits);
}

static double consumer_commit_failures(void *ctx)
{
    return (double)atomic_load(&((struct kafka_consumer *)ctx)->commit_failures);
}

static double consumer_rebalances(void *ctx)
{
    return (double)atomic_load(&((struct kafka_consumer *)ctx)->rebalances);
}

static double consumer_assigned(void *ctx)
{
    return (double)atomic_load(&((struct kafka_consumer *)ctx)->assigned);
}

static double consumer_lag(void *ctx)
{
    return (double)atomic_load(&((struct kafka_consumer *)ctx)->lag);
}

void kafka_consumer_add_metrics(struct kafka_consumer *c, struct metrics *m)
{
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_messages_total",
                 "Messages returned to the event consumer.", consumer_messages, c);
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_commits_total",
                 "Offset commits after a stored batch.", consumer_commits, c);
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_commit_failures_total",
                 "Offset commits the group coordinator refused or did not answer.",
                 consumer_commit_failures, c);
    metrics_func(m, METRIC_COUNTER, "kafka_consumer_rebalances_total",
                 "Partition assignments and revocations.", consumer_rebalances, c);
    metrics_func(m, METRIC_GAUGE, "kafka_consumer_assigned_partitions",
                 "Partitions this consumer owns in its group.", consumer_assigned, c);
    metrics_func(m, METRIC_GAUGE, "kafka_consumer_lag_messages",
                 "Messages behind the end of the assigned partitions (-1: unknown).", consumer_lag,
                 c);
}
