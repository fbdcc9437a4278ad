/* kafka.c - the event-type -> topic map of docs/events.md, the librdkafka configuration the
 * producer and the consumer share, and two admin calls (create topics, ping). */
#include "lib/events/kafka.h"

#include "lib/base/xalloc.h"
#include "lib/events/event.h"
#include "lib/events/kafka_internal.h"

#include <stdio.h>
#include <string.h>

const char *const kafka_topics[] = {KAFKA_TOPIC_USER, KAFKA_TOPIC_POST, KAFKA_TOPIC_INTERACTION,
                                    KAFKA_TOPIC_MAIL, KAFKA_TOPIC_MAIL_DLQ};
const size_t kafka_topics_len = sizeof(kafka_topics) / sizeof(kafka_topics[0]);

/* By aggregate, the type's first word: a new type of a known aggregate (status.updated) lands
 * with its siblings, so one aggregate's events stay in one topic and in order. */
static const struct {
    const char *word;
    const char *topic;
} topic_map[] = {
    {"account", KAFKA_TOPIC_USER},       {"token", KAFKA_TOPIC_USER},
    {"status", KAFKA_TOPIC_POST},        {"favourite", KAFKA_TOPIC_INTERACTION},
    {"follow", KAFKA_TOPIC_INTERACTION}, {"follow_request", KAFKA_TOPIC_INTERACTION},
    {"mail", KAFKA_TOPIC_MAIL},
};

const char *kafka_topic_for_type(const char *type)
{
    if (!type || !event_type_valid(type))
        return NULL;
    size_t n = strcspn(type, ".");
    for (size_t i = 0; i < sizeof(topic_map) / sizeof(topic_map[0]); i++) {
        if (strlen(topic_map[i].word) == n && memcmp(topic_map[i].word, type, n) == 0)
            return topic_map[i].topic;
    }
    return NULL;
}

int kafka_base_init(struct kafka_base *b, const struct kafka_config *cfg, struct err *err)
{
    memset(b, 0, sizeof(*b));
    if (!cfg->bootstrap || !cfg->bootstrap[0])
        return err_set(err, ERR_INVALID, "kafka: no bootstrap servers");
    const char *prefix = cfg->topic_prefix ? cfg->topic_prefix : "";
    if (strlen(prefix) >= sizeof(b->prefix))
        return err_set(err, ERR_INVALID, "kafka: topic prefix longer than %zu bytes",
                       sizeof(b->prefix) - 1);
    if (cfg->timeout_ms < 0)
        return err_set(err, ERR_INVALID, "kafka: negative timeout");
    strcpy(b->prefix, prefix);
    b->log = cfg->log;
    b->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : KAFKA_DEFAULT_TIMEOUT_MS;
    return ERR_OK;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, struct err *err)
{
    char reason[256];
    if (rd_kafka_conf_set(conf, name, value, reason, sizeof(reason)) != RD_KAFKA_CONF_OK)
        return err_set(err, ERR_INVALID, "kafka: %s=%s: %s", name, value, reason);
    return ERR_OK;
}

/* librdkafka's messages into our log; levels are syslog's (0 emergency .. 7 debug). It may
 * call this from its own threads: log_printf writes each line with one write(2). */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *facility, const char *text)
{
    const struct kafka_base *b = rd_kafka_opaque(rk);
    enum log_level lv = level <= 3   ? LOG_ERROR
                        : level == 4 ? LOG_WARN
                        : level <= 6 ? LOG_INFO
                                     : LOG_DEBUG;
    if (b && b->log)
        log_printf(b->log, lv, NULL, "kafka %s: %s", facility, text);
}

rd_kafka_conf_t *kafka_conf_new(struct kafka_base *b, const struct kafka_config *cfg,
                                struct err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", b->timeout_ms);
    if (kafka_conf_set(conf, "bootstrap.servers", cfg->bootstrap, err) != ERR_OK ||
        kafka_conf_set(conf, "client.id", cfg->client_id ? cfg->client_id : "threadly", err) !=
            ERR_OK ||
        kafka_conf_set(conf, "socket.timeout.ms", timeout, err) != ERR_OK ||
        (cfg->debug && kafka_conf_set(conf, "debug", cfg->debug, err) != ERR_OK)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, b);
    if (b->log)
        rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    return conf;
}

bool kafka_wire_topic(const struct kafka_base *b, const char *topic, char *out)
{
    int n = snprintf(out, KAFKA_TOPIC_MAX, "%s%s", b->prefix, topic);
    return n > 0 && n < KAFKA_TOPIC_MAX;
}

const char *kafka_bare_topic(const struct kafka_base *b, const char *wire)
{
    size_t n = strlen(b->prefix);
    return strncmp(wire, b->prefix, n) == 0 ? wire + n : wire;
}

enum err_code kafka_err_code(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return ERR_OK;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        return ERR_INVALID;
    default:
        return ERR_UNAVAILABLE;
    }
}

/* A short-lived client for one admin call. */
static rd_kafka_t *admin_client(struct kafka_base *b, const struct kafka_config *cfg,
                                struct err *err)
{
    char reason[256];
    if (kafka_base_init(b, cfg, err) != ERR_OK)
        return NULL;
    rd_kafka_conf_t *conf = kafka_conf_new(b, cfg, err);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof(reason));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        err_set(err, ERR_INVALID, "kafka: %s", reason);
    }
    return rk;
}

int kafka_create_topics(const struct kafka_config *cfg, const char *const *topics, size_t n,
                        int partitions, int replication, struct err *err)
{
    struct kafka_base b;
    char reason[256], wire[KAFKA_TOPIC_MAX];
    if (n == 0)
        return ERR_OK;
    if (partitions < 1 || replication < 1)
        return err_set(err, ERR_INVALID, "kafka: partitions and replicas must be >= 1");
    rd_kafka_t *rk = admin_client(&b, cfg, err);
    if (!rk)
        return err ? err->code : ERR_INVALID;
    int rc = ERR_OK;
    rd_kafka_NewTopic_t **nt = xcalloc(n, sizeof(*nt));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, b.timeout_ms, NULL, 0);
    rd_kafka_AdminOptions_set_operation_timeout(opt, b.timeout_ms, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        if (!kafka_wire_topic(&b, topics[i], wire)) {
            rc = err_set(err, ERR_INVALID, "kafka: topic name too long");
            goto out;
        }
        nt[i] = rd_kafka_NewTopic_new(wire, partitions, replication, reason, sizeof(reason));
        if (!nt[i]) {
            rc = err_set(err, ERR_INVALID, "kafka: topic %s: %s", wire, reason);
            goto out;
        }
    }
    rd_kafka_CreateTopics(rk, nt, n, opt, q);
    /* The call answers within its own timeouts; the margin only guards against a hang. */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, b.timeout_ms + 5000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    if (!res) {
        rc = err_set(err, ERR_UNAVAILABLE, "kafka: no answer to CreateTopics");
    } else if (rd_kafka_event_error(ev)) {
        rc = err_set(err, kafka_err_code(rd_kafka_event_error(ev)), "kafka: CreateTopics: %s",
                     rd_kafka_event_error_string(ev));
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        for (size_t i = 0; i < cnt && rc == ERR_OK; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                rc = err_set(err, kafka_err_code(e), "kafka: topic %s: %s",
                             rd_kafka_topic_result_name(tr[i]),
                             rd_kafka_topic_result_error_string(tr[i]));
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
out:
    for (size_t i = 0; i < n; i++) {
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    }
    free(nt);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

int kafka_ping(const struct kafka_config *cfg, int timeout_ms, struct err *err)
{
    struct kafka_base b;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *rk = admin_client(&b, cfg, err);
    if (!rk)
        return err ? err->code : ERR_INVALID;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    int rc = ERR_OK;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = err_set(err, ERR_UNAVAILABLE, "kafka: no metadata from %s: %s", cfg->bootstrap,
                     rd_kafka_err2str(e));
    else if (md->broker_cnt == 0)
        rc = err_set(err, ERR_UNAVAILABLE, "kafka: %s lists no brokers", cfg->bootstrap);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}
