/* kafka_internal.h - what kafka.c, kafka_producer.c and kafka_consumer.c share: the common
 * librdkafka configuration, topic-name prefixing and error translation. Not for callers. */
#ifndef LIB_EVENTS_KAFKA_INTERNAL_H
#define LIB_EVENTS_KAFKA_INTERNAL_H

#include "lib/events/kafka.h"

#include <librdkafka/rdkafka.h>

#define KAFKA_DEFAULT_TIMEOUT_MS 30000

/* The first member of the producer and the consumer: librdkafka's opaque points at it. */
struct kafka_base {
    const struct logger *log;
    char prefix[64];
    int timeout_ms;
};

/* Fills b from cfg. ERR_INVALID for a missing bootstrap or a too long prefix. */
int kafka_base_init(struct kafka_base *b, const struct kafka_config *cfg, struct err *err);

/* A librdkafka configuration with bootstrap.servers, client.id and the log callback set;
 * b becomes its opaque. NULL with err set on a refused value. */
rd_kafka_conf_t *kafka_conf_new(struct kafka_base *b, const struct kafka_config *cfg,
                                struct err *err);

/* Sets one property; ERR_INVALID with librdkafka's reason if it refuses. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, struct err *err);

/* Writes prefix + topic into out[KAFKA_TOPIC_MAX]; false if it does not fit. */
bool kafka_wire_topic(const struct kafka_base *b, const char *topic, char *out);

/* The bare name of a wire topic (the prefix stripped when present). */
const char *kafka_bare_topic(const struct kafka_base *b, const char *wire);

/* ERR_UNAVAILABLE for transient and broker-side errors, ERR_INVALID for the client's own. */
enum err_code kafka_err_code(rd_kafka_resp_err_t e);

#endif
